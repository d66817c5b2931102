/* The one authorisation policy: does this actor may do this action on this
 * target?  Fronts never decide this themselves. */
#ifndef ERS_AUTHZ_H
#define ERS_AUTHZ_H

#include "actor.h"
#include "error.h"

enum ers_action {
	ERS_ACT_TENANT_VIEW,
	ERS_ACT_TENANT_CREATE,
	ERS_ACT_TENANT_EDIT,
	ERS_ACT_TENANT_DELETE,
	ERS_ACT_HOST_VIEW,
	ERS_ACT_HOST_MANAGE,
	ERS_ACT_AUDIT_VIEW,
	ERS_ACT_SCHEMA_MIGRATE,
};

struct ers_authz_target {
	long long tenant_id; /* 0: not tenant-scoped */
};

/* 0 when allowed; -1 with ERS_E_PERMISSION and a message naming the action. */
int ers_authz_check(const struct ers_actor *actor, enum ers_action action,
		    const struct ers_authz_target *target, struct ers_error *err);
const char *ers_action_name(enum ers_action action);

#endif
