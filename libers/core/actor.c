/* Actors: who is calling the library. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ers/actor.h"
#include "core/internal.h"

void ers_actor_operator(struct ers_actor *a)
{
	memset(a, 0, sizeof *a);
	a->role = ERS_ROLE_OPERATOR;
	struct passwd *pw = getpwuid(getuid());
	if (pw)
		snprintf(a->name, sizeof a->name, "operator:%s", pw->pw_name);
	else
		snprintf(a->name, sizeof a->name, "operator:uid%u", (unsigned)getuid());
}

const char *ers_role_name(enum ers_role role)
{
	switch (role) {
	case ERS_ROLE_OPERATOR: return "operator";
	case ERS_ROLE_SUPER_ADMIN: return "super_admin";
	case ERS_ROLE_TENANT_ADMIN: return "tenant_admin";
	case ERS_ROLE_USER: return "user";
	}
	return "user";
}

const char *ers_version(void)
{
	return ERS_VERSION;
}

int ers_role_parse(const char *s, enum ers_role *role_r, struct ers_error *err)
{
	static const enum ers_role roles[] = { ERS_ROLE_USER, ERS_ROLE_TENANT_ADMIN, ERS_ROLE_SUPER_ADMIN };
	for (size_t i = 0; i < 3; i++) {
		if (s && !strcmp(s, ers_role_name(roles[i]))) {
			*role_r = roles[i];
			return 0;
		}
	}
	ers_error_set(err, ERS_E_INVALID, "role must be user, tenant_admin or super_admin, got \"%.40s\"",
		      s ? s : "");
	return -1;
}

enum ers_role ers_role_from_db(const char *s)
{
	enum ers_role role = ERS_ROLE_USER;
	struct ers_error ignored;
	ers_role_parse(s, &role, &ignored);
	return role;
}
