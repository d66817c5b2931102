/* Aliases: more addresses that deliver to one user's mailbox (manual 000
 * "Managing Email Aliases"; manual 003 "Aliases"; manual 004 "Internal"). */
#ifndef ERS_ALIAS_H
#define ERS_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

struct ers_alias {
	long long id;
	char *address;
	char *domain;
	char *tenant;
	long long tenant_id;
	char *user;               /* the address of the user it delivers to */
	bool internal_only;       /* refuses mail from outside the tenant (the mail stack enforces it) */
	char created_at[40];
};

struct ers_alias_list {
	size_t count;
	struct ers_alias *items;
};

struct ers_alias_spec {
	const char *address;      /* the alias, in one of the user's tenant's domains */
	const char *user;         /* the user's address */
	bool internal_only;
};

struct ers_alias_filter {
	const char *tenant;       /* name or domain; NULL: all the actor may see */
};

/* The alias claims its address, so that no user, alias or forward can
 * have it too; its user must be a user of the tenant that owns its domain. */
int ers_alias_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_spec *spec,
		  struct ers_alias **alias_r, struct ers_error *err);
/* Super admins and operators see every alias, tenant admins those of the
 * regular users of their tenant, users those that deliver to them. */
int ers_alias_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_filter *f,
		   struct ers_alias_list **list_r, struct ers_error *err);
/* Refused while a forward of the same tenant sends mail to the alias. */
int ers_alias_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_error *err);

void ers_alias_free(struct ers_alias *a);
void ers_alias_list_free(struct ers_alias_list *list);

#endif
