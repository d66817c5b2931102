/* accounts' interfaces inside libers -- the routing graph, the address
 * claim, sessions' ends, sign-in failures, the MFA code check and the send
 * limits' rule -- for accounts and the areas above it. */
#ifndef ERS_ACCOUNTS_INTERNAL_H
#define ERS_ACCOUNTS_INTERNAL_H

#include "mail/internal.h"
#include "ers/host.h"
#include "ers/tenant.h"
#include "ers/audit.h"
#include "ers/password.h"
#include "ers/user.h"
#include "ers/alias.h"
#include "ers/forward.h"
#include "ers/import.h"
#include "ers/limits.h"
#include "ers/qr.h"
#include "ers/session.h"
#include "ers/mfa.h"
#include "ers/welcome.h"
#include "ers/shared.h"

/* tenant.c: a tenant's limits and what it uses of them -- every user,
 * disabled ones too, and the sum of the quotas given (a user without a
 * quota counts 0).  A limit may be lower than the use (a plan downgraded
 * without deleting mailboxes): the tenant is then over it. */
struct ers_tenant_use {
	const char *name;                    /* borrowed */
	long long max_users, max_storage_mb; /* -1: no limit */
	long long users, quota_mb;
};
/* The use as columns of a query on ers.tenant t, in the order above. */
#define ERS_SQL_TENANT_USERS "(SELECT count(*) FROM ers.mailbox mu WHERE mu.tenant_id = t.id)"
#define ERS_SQL_TENANT_QUOTA_MB "(SELECT coalesce(sum(mq.quota_mb), 0) FROM ers.mailbox mq WHERE mq.tenant_id = t.id)"
#define ERS_SQL_TENANT_USE \
	"t.name, t.max_users, t.max_storage_mb, " ERS_SQL_TENANT_USERS ", " ERS_SQL_TENANT_QUOTA_MB
/* Fills `u` from those columns starting at `col` (`u->name` borrows `res`). */
void ers_tenant_use_fill(struct ers_tenant_use *u, const PGresult *res, int row, int col);
bool ers_tenant_over_max_users(const struct ers_tenant_use *u);
bool ers_tenant_over_max_storage(const struct ers_tenant_use *u);
/* What an operation would add to a tenant's use. */
struct ers_tenant_growth {
	long long users;      /* users added: 1 (user add), a file's rows (import), 0 (user edit) */
	long long quota_was;  /* the quotas, in MB, that the users in question have now: 0 for new ones */
	long long quota_mb;   /* ... and would have: a new user's, the sum of a file's, a user's new quota */
	bool from_file;       /* words the refusals for an import */
};
/* Which limits the growth would break, each with its message (ERS_E_CONFLICT). */
struct ers_tenant_refusal {
	bool users, storage;
	struct ers_error why_users, why_storage;
};
/* The one rule for growing within a tenant's limits: a user may be added
 * while the users stay within max users; a quota may be given (to a new
 * user) or raised while the quotas given stay within max storage.  Over a
 * limit, nothing grows until the use is under it again, but what does not
 * grow (lowering a quota, deleting, renaming, enabling) is always allowed.
 * True when it may grow; otherwise `r` says what it would break. */
bool ers_tenant_may_grow(const struct ers_tenant_use *u, const struct ers_tenant_growth *g,
			 struct ers_tenant_refusal *r);

/* user.c: in the transaction that grows a tenant (a user or a shared
 * mailbox added, a quota raised), with the tenant's row locked: refuses,
 * saying why, what ers_tenant_may_grow refuses, and a mailbox without a
 * quota in a tenant with a storage limit. */
int ers_tenant_limits_check(struct ers_ctx *ctx, long long tenant_id, const struct ers_tenant_growth *g,
			    struct ers_error *err);

/* route.c: claims `address` for a mailbox, alias or forward (`kind`); a
 * conflict names what holds it already. */
int ers_address_claim(struct ers_ctx *ctx, const char *address, long long tenant_id,
		      long long domain_id, const char *kind, struct ers_error *err);

/* user.c: ends every webmail session of a user (password change, disable). */
int ers_user_end_sessions(struct ers_ctx *ctx, long long user_id, struct ers_error *err);

/* route.c: how people write a stored forward source ("@domain" is the
 * catch-all "*@domain"). */
void ers_source_display(char *dst, size_t cap, const char *source);

/* route.c: the routing graph of aliases and forwards. */
/* Serialises changes to aliases and forwards until the transaction ends, so
 * that two of them cannot each close half of a loop. */
int ers_route_lock(struct ers_ctx *ctx, struct ers_error *err);
/* In the transaction that changes the routes: refuses (ERS_E_CONFLICT,
 * naming the loop) when mail for `address` would come back to it.  Its
 * first hops are `first` (n > 0: what is about to be written) or, with
 * n == 0, what the database says now. */
int ers_route_check_loop(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			 const char *const *first, size_t n, struct ers_error *err);
struct ers_route_dest {
	long long tenant_id;      /* the tenant whose domain it is in; 0: not hosted here */
	char kind[8];             /* what has the address: "mailbox", "alias", "forward" or "" */
	long long user_id;        /* the user it delivers to (a mailbox, an alias's), or 0 */
	enum ers_role user_role;
	bool unclaimed;           /* refused: in that tenant's domains, and nothing has it */
};
/* A destination of mail of tenant `tenant_id` (a forward's, a hidden
 * copy's), normalised into `out`; one in a domain of that same tenant must
 * be a user, an alias or a forward. */
int ers_route_destination(struct ers_ctx *ctx, const char *input, long long tenant_id,
			  struct ers_buf *out, struct ers_route_dest *dest_r, struct ers_error *err);

/* limits.c: the send limits at every level, as a row of these columns from
 * m = ers.mailbox, d = ers.domain, t = ers.tenant, s = ers.send_limit_default
 * (NULL where the level is not in the query), resolved for `lowest` and the
 * levels above it.  One rule for `limits show` and the policy service. */
#define ERS_LIMIT_RAW_COLUMNS \
	"m.send_per_hour, d.send_per_mailbox, d.send_per_domain, t.send_per_mailbox, t.send_per_domain," \
	" t.send_total, s.per_mailbox, s.per_domain, s.total"
void ers_limits_resolve(const PGresult *res, int row, int first_col, enum ers_limit_level lowest,
			struct ers_limit_value v_r[ERS_LIMIT_KEYS]);
/* The current clock hour (UTC) that send counters are kept for. */
#define ERS_SQL_SEND_HOUR "date_trunc('hour', now(), 'UTC')"

/* login_failure.c: records a failed sign-in attempt -- kind "password" or "code"
 * -- of `address` (normalised, or "") from `client_ip`, sweeping rows older
 * than a day; the number of failures of that kind and address in the last
 * 15 minutes, this one included, goes to count_r (may be NULL). */
int ers_login_failure_record(struct ers_ctx *ctx, const char *kind, const char *address,
			     const char *client_ip, long long *count_r, struct ers_error *err);

/* mfa.c: checks a 6-digit code against the mailbox's seed -- the enabled
 * one, or with `pending` the one being enrolled -- under the lock-out and
 * the once-only rule; a refusal counts as a failure and writes a 'denied'
 * audit row for `who` doing `action`. */
struct ers_mfa_target {
	long long mailbox_id;
	long long tenant_id;
	const char *address;
	bool pending;
};
int ers_mfa_check_code(struct ers_ctx *ctx, const struct ers_actor *who, const char *action,
		       const struct ers_mfa_target *target, const char *code, const char *client_ip,
		       struct ers_error *err);

#endif
