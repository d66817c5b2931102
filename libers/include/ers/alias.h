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
	char *next_after;         /* paged (limit > 0): keyset cursor for the next page, NULL at the end */
};

struct ers_alias_spec {
	const char *address;      /* the alias, in one of the user's tenant's domains */
	const char *user;         /* the user's address */
	bool internal_only;
};

struct ers_alias_filter {
	const char *tenant;       /* name or domain; NULL: all the actor may see */
	const char *search;       /* NULL or "": all; else a case-insensitive part of the
	                           * alias's or its user's address */
	const char *after;        /* keyset cursor (with limit): aliases after this address */
	int limit;                /* 0: every alias, ordered by domain then address; else
	                           * at most this many (1..10000), ordered by address */
};

/* The alias claims its address, so that no user, alias or forward can
 * have it too; its user must be a user of the tenant that owns its domain. */
int ers_alias_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_spec *spec,
		  struct ers_alias **alias_r, struct ers_error *err);
/* Super admins and operators see every alias, tenant admins those of the
 * regular users of their tenant, users those that deliver to them. */
int ers_alias_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_filter *f,
		   struct ers_alias_list **list_r, struct ers_error *err);
/* One alias the actor may see (as ers_alias_list would show it); one it
 * may not, or none, is refused alike to whoever may not see every one. */
int ers_alias_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		  struct ers_alias **alias_r, struct ers_error *err);
/* Refused while a forward of the same tenant sends mail to the alias. */
int ers_alias_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_error *err);

void ers_alias_free(struct ers_alias *a);
void ers_alias_list_free(struct ers_alias_list *list);

#endif
