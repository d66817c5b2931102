/* The authorisation policy, in one place (manual 000 "User Roles", manual 001
 * "Who Does What").  Operators may do everything.  Super admins manage
 * tenants and may view -- not approve -- mail hosts.  Tenant admins see their
 * own tenant.  Users see nothing of the server. */
#include <stdio.h>
#include "internal.h"

const char *ers_action_name(enum ers_action action)
{
	switch (action) {
	case ERS_ACT_TENANT_VIEW: return "tenant.view";
	case ERS_ACT_TENANT_CREATE: return "tenant.create";
	case ERS_ACT_TENANT_EDIT: return "tenant.edit";
	case ERS_ACT_TENANT_DELETE: return "tenant.delete";
	case ERS_ACT_HOST_VIEW: return "host.view";
	case ERS_ACT_HOST_MANAGE: return "host.manage";
	case ERS_ACT_AUDIT_VIEW: return "audit.view";
	case ERS_ACT_SCHEMA_MIGRATE: return "db.migrate";
	}
	return "unknown";
}

static bool same_tenant(const struct ers_actor *a, const struct ers_authz_target *t)
{
	return t && t->tenant_id > 0 && a->tenant_id == t->tenant_id;
}

static bool allowed(const struct ers_actor *a, enum ers_action action,
		    const struct ers_authz_target *t)
{
	if (a->role == ERS_ROLE_OPERATOR)
		return true;
	switch (action) {
	case ERS_ACT_TENANT_CREATE:
	case ERS_ACT_TENANT_EDIT:
	case ERS_ACT_TENANT_DELETE:
	case ERS_ACT_HOST_VIEW:
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_TENANT_VIEW:
	case ERS_ACT_AUDIT_VIEW:
		return a->role == ERS_ROLE_SUPER_ADMIN ||
		       (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_HOST_MANAGE:
	case ERS_ACT_SCHEMA_MIGRATE:
		return false; /* server operators only (manual 001) */
	}
	return false;
}

int ers_authz_check(const struct ers_actor *actor, enum ers_action action,
		    const struct ers_authz_target *target, struct ers_error *err)
{
	if (allowed(actor, action, target))
		return 0;
	ers_error_set(err, ERS_E_PERMISSION, "%s (%s) may not %s", actor->name,
		      ers_role_name(actor->role), ers_action_name(action));
	return -1;
}

int ers_authz_require(struct ers_ctx *ctx, const struct ers_actor *actor,
		      enum ers_action action, const struct ers_authz_target *target,
		      const char *target_desc, struct ers_error *err)
{
	if (ers_authz_check(actor, action, target, err) == 0)
		return 0;
	ers_audit_denied(ctx, actor, ers_action_name(action), target_desc,
			 target ? target->tenant_id : 0, err->message);
	return -1;
}
