/* The server's approved mail hosts: the IMAP and SMTP endpoints tenants may
 * use (manual 001 "Server Setup Wizard"). */
#ifndef ERS_HOST_H
#define ERS_HOST_H

#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

enum ers_host_kind { ERS_HOST_IMAP, ERS_HOST_SMTP };
enum ers_tls_mode { ERS_TLS_IMPLICIT, ERS_TLS_STARTTLS };

struct ers_host {
	char *hostname;
	enum ers_host_kind kind;
	int port;
	enum ers_tls_mode tls;
	char created_at[40];
	size_t tenants_using;
};

struct ers_host_list {
	size_t count;
	struct ers_host *items;
};

const char *ers_host_kind_name(enum ers_host_kind kind);
int ers_host_kind_parse(const char *s, enum ers_host_kind *kind_r, struct ers_error *err);
const char *ers_tls_mode_name(enum ers_tls_mode tls);
int ers_tls_mode_parse(const char *s, enum ers_tls_mode *tls_r, struct ers_error *err);
/* The usual TLS mode of a well-known port; -1 when the port has none. */
int ers_tls_mode_for_port(enum ers_host_kind kind, int port);

/* Approves `hostname` for `kind` on each of `ports` (none: 993 for IMAP,
 * 587 for SMTP).  `tls` < 0 means "the usual mode of each port". */
int ers_host_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *hostname,
		 enum ers_host_kind kind, const int *ports, size_t nports, int tls,
		 struct ers_host_list **added_r, struct ers_error *err);
/* kind < 0 or port 0: any. */
int ers_host_list(struct ers_ctx *ctx, const struct ers_actor *actor, int kind,
		  struct ers_host_list **list_r, struct ers_error *err);
/* Removes the matching approvals; refuses while a tenant uses one. */
int ers_host_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *hostname,
		    int kind, int port, struct ers_host_list **removed_r, struct ers_error *err);
void ers_host_list_free(struct ers_host_list *list);

#endif
