/* Who is acting.  Every operation takes an actor and asks the one policy,
 * ers_authz_check(), before it touches data. */
#ifndef ERS_ACTOR_H
#define ERS_ACTOR_H

#include <stdbool.h>
#include "error.h"

enum ers_role {
	ERS_ROLE_OPERATOR,     /* ersctl run by root or the `ers` group */
	ERS_ROLE_SUPER_ADMIN,
	ERS_ROLE_TENANT_ADMIN,
	ERS_ROLE_USER,
};

struct ers_actor {
	enum ers_role role;
	char name[320];          /* "operator:root" or a mailbox address */
	long long tenant_id;     /* 0 for operators and super admins */
	long long user_id;       /* 0 for operators */
	char via[320];           /* the operator behind --as, or the admin who logged in as the owner; else "" */
	bool impersonated;       /* a "Log in as mailbox owner" session: `via` is the admin */
};

/* Fills `a` as the operator running this process (login name from the uid). */
void ers_actor_operator(struct ers_actor *a);
const char *ers_role_name(enum ers_role role);
/* "user", "tenant_admin" or "super_admin"; ERS_E_INVALID otherwise. */
int ers_role_parse(const char *s, enum ers_role *role_r, struct ers_error *err);

#endif
