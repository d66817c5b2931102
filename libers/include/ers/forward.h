/* Forwards (manual 002 "Forwards", "Catch-All Address"; manual 003 "Send a
 * copy to", "Do not save incoming emails"; manual 004 "Addresses"):
 *
 * - a user's own address: a copy of its mail goes on to the destinations,
 *   and the mailbox keeps the mail too only with keep_copy;
 * - an address of its own in one of the tenant's domains, which it claims
 *   as a user or an alias would;
 * - "*@domain", the domain's catch-all: mail for the addresses of the domain
 *   that no user, alias or forward has goes to its destinations, which must
 *   be users of the same tenant.
 *
 * Destinations may be outside ERS.  Aliases and forwards never form a loop:
 * a change that would close one is refused with the loop named. */
#ifndef ERS_FORWARD_H
#define ERS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#define ERS_FORWARD_MAX_DESTINATIONS 50

enum ers_forward_kind {
	ERS_FORWARD_MAILBOX,  /* a user's own address ("send a copy to") */
	ERS_FORWARD_ADDRESS,  /* an address of its own */
	ERS_FORWARD_CATCHALL, /* "*@domain" */
};

struct ers_forward {
	long long id;
	char *source;             /* the address, or "*@domain" for a catch-all */
	char *domain;
	char *tenant;
	long long tenant_id;
	enum ers_forward_kind kind;
	size_t destination_count;
	char **destinations;
	bool keep_copy;           /* ERS_FORWARD_MAILBOX: the mailbox keeps the mail too */
	char created_at[40];
};

struct ers_forward_list {
	size_t count;
	struct ers_forward *items;
};

struct ers_forward_spec {
	const char *source;       /* an address, or "*@domain" */
	const char *const *destinations;
	size_t destination_count; /* 1..ERS_FORWARD_MAX_DESTINATIONS */
	bool keep_copy;           /* only for a user's own address */
};

struct ers_forward_filter {
	const char *tenant;       /* name or domain; NULL: all the actor may see */
};

/* "mailbox", "address" or "catchall". */
const char *ers_forward_kind_name(enum ers_forward_kind kind);

/* A destination address as RFC 5321 allows it: a dot-atom of at most 64
 * characters before the @ (kept as given), and a domain (IDN converted to
 * punycode, lower-cased).  Addresses in domains hosted here are checked
 * further, against manual 003's rules, when a forward is added. */
int ers_forward_destination_normalize(const char *input, struct ers_buf *out, struct ers_error *err);

int ers_forward_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_forward_spec *spec,
		    struct ers_forward **forward_r, struct ers_error *err);
/* Super admins and operators see every forward; tenant admins those of
 * their tenant except admins' own; users their own. */
int ers_forward_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_forward_filter *f,
		     struct ers_forward_list **list_r, struct ers_error *err);
/* `source` as for add; a forwarding address is refused while another
 * forward of the same tenant sends mail to it. */
int ers_forward_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *source,
		       struct ers_error *err);

void ers_forward_free(struct ers_forward *f);
void ers_forward_list_free(struct ers_forward_list *list);

#endif
