/* Actors: who is calling the library. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ers/actor.h"

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
