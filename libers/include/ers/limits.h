/* Send limits: emails per clock hour per mailbox, per domain and per tenant
 * (manual 002 "Email Rate Limiting"; manual 003 "Number of mails sent per
 * hour"), set at server, tenant, domain or mailbox level.  An unset value
 * inherits: per mailbox from mailbox -> domain -> tenant -> server, per
 * domain from domain -> tenant -> server, the total from tenant -> server;
 * unlimited when no level sets it.  ersctl policyd enforces them. */
#ifndef ERS_LIMITS_H
#define ERS_LIMITS_H

#include <stdbool.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

#define ERS_SEND_LIMIT_MAX 10000000LL

enum ers_limit_level {
	ERS_LEVEL_SERVER,
	ERS_LEVEL_TENANT,
	ERS_LEVEL_DOMAIN,
	ERS_LEVEL_MAILBOX,
	ERS_LEVEL_NONE, /* "from": no level sets it, unlimited */
};

enum ers_limit_key {
	ERS_LIMIT_PER_MAILBOX, /* each mailbox's own sends */
	ERS_LIMIT_PER_DOMAIN,  /* all mailboxes of one domain together */
	ERS_LIMIT_TOTAL,       /* all mailboxes of the tenant together */
};
#define ERS_LIMIT_KEYS 3

struct ers_limit_value {
	bool settable;               /* the level can hold this key */
	long long here;              /* set at this level; -1: inherit (or not settable) */
	long long effective;         /* -1: unlimited */
	enum ers_limit_level from;   /* the level `effective` comes from */
};

struct ers_limits {
	enum ers_limit_level level;
	char *target;                /* "server", the tenant's name, the domain, the address */
	char *tenant;                /* the tenant's name; "" at server level */
	struct ers_limit_value v[ERS_LIMIT_KEYS];
	/* Emails counted in the current clock hour by the mailbox, its domain
	 * and its tenant (indexed like ers_limit_key); -1 where the level has
	 * no such scope. */
	long long sent[ERS_LIMIT_KEYS];
	bool sending_disabled;       /* mailbox level: per-mailbox limit 0 or 1 */
};

/* What `ers_limits_set` changes: for each key with set[k], the new value,
 * 0..ERS_SEND_LIMIT_MAX, or -1 to inherit. */
struct ers_limit_change {
	bool set[ERS_LIMIT_KEYS];
	long long value[ERS_LIMIT_KEYS];
};

const char *ers_limit_level_name(enum ers_limit_level level); /* "server", ... "none" */
const char *ers_limit_key_name(enum ers_limit_key key);       /* "per-mailbox", ... */
/* Whether `key` can be set at `level`: all three at server and tenant
 * level, per-mailbox and per-domain at domain level, per-mailbox at
 * mailbox level. */
bool ers_limit_settable(enum ers_limit_level level, enum ers_limit_key key);

/* `key` names the target: NULL at server level, a tenant's name or one of
 * its domains, a domain, a mailbox's address. */
int ers_limits_show(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_limit_level level,
		    const char *key, struct ers_limits **limits_r, struct ers_error *err);
/* Changes the limits at one level in one transaction with one audit row
 * (limits.set); on success, what `ers_limits_show` says afterwards. */
int ers_limits_set(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_limit_level level,
		   const char *key, const struct ers_limit_change *change, struct ers_limits **limits_r,
		   struct ers_error *err);
void ers_limits_free(struct ers_limits *limits);

#endif
