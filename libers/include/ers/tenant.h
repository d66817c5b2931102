/* Tenants: the organisations a reseller hosts, each with its domains, its
 * approved IMAP/SMTP endpoints and its limits (manual 000 "Managing Tenants"). */
#ifndef ERS_TENANT_H
#define ERS_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

#define ERS_TENANT_MAX_USERS_LIMIT 1000000LL
#define ERS_TENANT_MAX_STORAGE_MB_LIMIT 104857600LL /* 100 TiB */
#define ERS_TENANT_NAME_MAX 200
#define ERS_TENANT_JUNK_DAYS_MAX 3650
/* What a front shows whenever a domain's hidden copy is turned on (manual 004). */
#define ERS_DOMAIN_COPY_WARNING \
	"In some countries, enabling the Copy inbound messages switch can be against privacy laws."

struct ers_tenant_domain {
	char *name;
	bool primary;
	char *copy_inbound_to;    /* hidden copy of all inbound mail to this address; NULL: none */
	char created_at[40];
};

struct ers_tenant {
	long long id;
	char *name;
	char *primary_domain;
	char *imap_host;
	int imap_port;
	char *smtp_host;
	int smtp_port;
	long long max_users;      /* -1: no limit */
	long long max_storage_mb; /* -1: no limit */
	char created_at[40];
	size_t domain_count;
	struct ers_tenant_domain *domains;
	long long user_count;     /* every user, disabled ones too: what max_users counts */
	long long alias_count;
	long long forward_count;  /* catch-alls included */
	long long quota_mb_total; /* the sum of the users' quotas (none counts 0): what max_storage_mb counts */
	long long mail_bytes;     /* the mail stored in its mailboxes, as Dovecot last reported it */
	long long mail_messages;
	/* A limit lowered below the use is accepted; until the use is under it
	 * again, no user can be added (users) and no quota given or raised
	 * (storage). */
	bool over_max_users;
	bool over_max_storage;
	char time_zone[64];       /* the autoresponder's dates are days there */
	int junk_retention_days;  /* Junk older than this is expunged by mailstack purge; 0: kept */
	bool pop3;                /* its users may log in over POP3 */
};

struct ers_tenant_list {
	size_t count;
	struct ers_tenant *items;
};

/* What `tenant add` and `tenant edit` take.  For edit, NULL / 0 / unset
 * fields stay as they are. */
struct ers_tenant_spec {
	const char *name;
	const char *domain;        /* add: the primary domain */
	const char *imap_host;
	int imap_port;             /* 0: default 993 (add) or unchanged (edit) */
	const char *smtp_host;
	int smtp_port;             /* 0: default 587 (add) or unchanged (edit) */
	bool set_max_users;
	long long max_users;       /* -1 clears the limit */
	bool set_max_storage_mb;
	long long max_storage_mb;  /* -1 clears the limit */
	const char *time_zone;     /* edit: a zone name PostgreSQL knows (e.g. Europe/Berlin) */
	bool set_junk_retention_days;
	int junk_retention_days;   /* edit: 0..ERS_TENANT_JUNK_DAYS_MAX, 0 keeps Junk */
	bool set_pop3;
	bool pop3;                 /* edit: POP3 logins on or off */
};

int ers_tenant_add(struct ers_ctx *ctx, const struct ers_actor *actor,
		   const struct ers_tenant_spec *spec, struct ers_tenant **tenant_r,
		   struct ers_error *err);
/* `key` is the tenant's name (any case) or one of its domains. */
int ers_tenant_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		   struct ers_tenant **tenant_r, struct ers_error *err);
int ers_tenant_list(struct ers_ctx *ctx, const struct ers_actor *actor,
		    struct ers_tenant_list **list_r, struct ers_error *err);
/* A limit below what the tenant uses already is accepted (a plan
 * downgraded without deleting mailboxes): the audit row records the use
 * over it, and ers_ctx_warning() says what is over and that nothing grows
 * until it is under the limit again. */
int ers_tenant_edit(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		    const struct ers_tenant_spec *changes, struct ers_tenant **tenant_r,
		    struct ers_error *err);
/* Deletes the tenant and everything it owns (domains, users, aliases,
 * forwards, and later mail).  `expect_id` guards against deleting a tenant other than the
 * one the caller showed the person (0: no guard). */
int ers_tenant_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		      long long expect_id, struct ers_error *err);

int ers_tenant_domain_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			  const char *domain, bool make_primary, struct ers_error *err);
/* Refused while users, aliases, forwards or a catch-all use the domain. */
int ers_tenant_domain_remove(struct ers_ctx *ctx, const struct ers_actor *actor,
			     const char *key, const char *domain, struct ers_error *err);
int ers_tenant_domain_set_primary(struct ers_ctx *ctx, const struct ers_actor *actor,
				  const char *key, const char *domain, struct ers_error *err);
/* Sends a hidden copy of every inbound message of `domain` to `to` besides
 * its recipients (manual 004 "Copy inbound messages"); `to` NULL turns it
 * off.  Super admins and operators only.  Fronts show
 * ERS_DOMAIN_COPY_WARNING when they turn it on. */
int ers_tenant_domain_copy(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			   const char *domain, const char *to, struct ers_error *err);

/* The domain names (punycode, lower case) of the actor's own tenant, for
 * the webmail's external-sender warning: every user may know them, so no
 * policy check; an actor without a tenant gets none.  Free with
 * ers_tenant_domain_names_free(). */
int ers_tenant_domain_names(struct ers_ctx *ctx, const struct ers_actor *actor, char ***names_r,
			    size_t *n_r, struct ers_error *err);
void ers_tenant_domain_names_free(char **names, size_t n);

void ers_tenant_free(struct ers_tenant *t);
void ers_tenant_list_free(struct ers_tenant_list *list);

#endif
