/* Library-internal interfaces: the database layer, secrets, audit writes.
 * Nothing here is installed; the fronts use only include/ers/. */
#ifndef ERS_INTERNAL_H
#define ERS_INTERNAL_H

#include <stdbool.h>
#include <libpq-fe.h>
#include "ers/ers.h"

struct ers_ctx {
	const struct ers_config *cfg;
	PGconn *conn;
	bool in_tx;
	const char *prepared[8]; /* db.c: ers_db_exec_prepared's statements on this connection ... */
	int prepared_pid;        /* ... to the backend of this pid (a reconnect forgets them) */
	char warning[600]; /* what went wrong after a change committed */
};

/* Records that something after a commit failed: the change stands, and
 * ers_ctx_warning() tells the caller what is still to do. */
void ers_ctx_warn(struct ers_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* secrets.c */
int ers_secrets_load(const char *path, bool must_exist, struct ers_secrets *s,
		     struct ers_error *err);
void ers_secrets_clear(struct ers_secrets *s);

/* db.c: every query goes through here, parameterised, with its result
 * status checked in one place.  SQLSTATEs map to error codes. */
PGresult *ers_db_exec(struct ers_ctx *ctx, const char *sql, int nparams,
		      const char *const *params, struct ers_error *err);
int ers_db_run(struct ers_ctx *ctx, const char *sql, int nparams, const char *const *params,
	       struct ers_error *err);
/* Like ers_db_exec, for the hot path of a long-lived connection (the policy
 * service), where planning costs more than running: `sql` is prepared once
 * per connection under `name`, a string constant naming that one `sql`. */
PGresult *ers_db_exec_prepared(struct ers_ctx *ctx, const char *name, const char *sql, int nparams,
			       const char *const *params, struct ers_error *err);
/* For a long-lived connection that the server ended (a restart, a
 * failover): connects again; true when it was lost and now works. */
bool ers_db_reconnect(struct ers_ctx *ctx);
/* Runs a script of several statements -- only the simple protocol can, so
 * only constant SQL compiled into the library (migrations) may come here. */
int ers_db_run_script(struct ers_ctx *ctx, const char *sql, struct ers_error *err);
/* Runs `sql`, a COPY ... FROM STDIN, sending `data` in COPY text format;
 * errors start with "COPY `what`". */
int ers_db_copy_in(struct ers_ctx *ctx, const char *sql, const char *what, const struct ers_buf *data,
		   struct ers_error *err);
int ers_db_begin(struct ers_ctx *ctx, struct ers_error *err);
void ers_db_rollback(struct ers_ctx *ctx);
/* Writes the operation's one audit row and commits; rolls back on failure. */
int ers_db_commit_audited(struct ers_ctx *ctx, const struct ers_actor *actor,
			  const char *action, const char *target, long long tenant_id,
			  const char *tenant_name, const char *detail, struct ers_error *err);
const char *ers_db_str(const PGresult *res, int row, int col); /* "" for NULL */
bool ers_db_isnull(const PGresult *res, int row, int col);
long long ers_db_ll(const PGresult *res, int row, int col);     /* -1 for NULL */
void ers_db_time(char dst[40], const PGresult *res, int row, int col);

/* mailstack_render.c: the lookups Postfix makes, one pgsql map file each;
 * `mailstack check` runs the very same queries. */
struct ers_postfix_map {
	const char *file;    /* pgsql-aliases.cf */
	const char *setting; /* the main.cf setting that uses it */
	const char *purpose;
	const char *query;   /* Postfix's form: the key is '%s' */
};
extern const struct ers_postfix_map ers_postfix_maps[];
extern const size_t ers_postfix_map_count;

/* mailstack.c: after a change to logins commits, flushes Dovecot's auth
 * cache for `address` (NULL: everyone) and, with `purge`, removes the mail
 * deleted mailboxes left; failures become a warning on ctx.
 * After a delete commits, removes the mail it left when
 * MAIL_ROOT is here and writable; otherwise it waits, listed in
 * ers.mail_purge, for `ersctl mailstack purge` on a mail node. */
void ers_mailstack_after_change(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
				bool purge);
int ers_mailstack_purge_pending(struct ers_ctx *ctx, const struct ers_actor *actor, long *removed_r,
				struct ers_error *err);

/* authz.c: the check plus an audit row recording a refusal. */
int ers_authz_require(struct ers_ctx *ctx, const struct ers_actor *actor,
		      enum ers_action action, const struct ers_authz_target *target,
		      const char *target_desc, struct ers_error *err);

/* authz.c: names that name nothing.  Outside what an actor may see, a
 * missing object must look like an existing one it may not touch: the
 * same refusal in the same words, the same audit row, after the same
 * lookups.  `where` says where the object would be: the tenant whose
 * domain its name is in (0: no tenant's, or no domain), and is_user when
 * it would be a user or belong to one (of any role, so an admin too).
 * ers_authz_sees_missing() is true when the actor may `action` on anything
 * that could be there -- operators, super admins, a tenant admin for a
 * tenant-wide thing of its own tenant -- and so may be told it is not.
 * ers_authz_missing() is for the caller that has set its "no such ..."
 * error in `err` (and rolled back): that error stays for such an actor;
 * anyone else gets ERS_E_PERMISSION and a 'denied' audit row naming
 * `target_desc` in that tenant.  It returns -1 either way. */
bool ers_authz_sees_missing(const struct ers_actor *actor, enum ers_action action,
			    const struct ers_authz_target *where);
int ers_authz_missing(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
		      const struct ers_authz_target *where, const char *target_desc, struct ers_error *err);

/* tenant.c: the tenant and id of a domain hosted here; ERS_E_INVALID when
 * no tenant has it. */
int ers_domain_owner(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		     long long *domain_id_r, struct ers_error *err);
/* tenant.c: ers_domain_owner, then the policy on `action` over the
 * domain's tenant (`target`, NULL for a tenant-wide one, with the tenant
 * filled in); a domain no tenant has is refused like another tenant's
 * (ers_authz_missing) to an actor that may not see every tenant.
 * `domain` is normalised; a refusal's audit row names `target_desc` (NULL:
 * the domain). */
int ers_domain_owner_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			 const struct ers_authz_target *target, const char *domain, const char *target_desc,
			 long long *tenant_id_r, long long *domain_id_r, struct ers_error *err);
/* tenant.c: like ers_domain_owner, but a domain no tenant has is no
 * error: 0 for both ids. */
int ers_domain_lookup(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		      long long *domain_id_r, struct ers_error *err);
/* tenant.c: the tenant named by `key` (its name in any case, or a domain). */
int ers_tenant_resolve(struct ers_ctx *ctx, const char *key, long long *id_r, char **name_r,
		       struct ers_error *err);
/* tenant.c: ers_tenant_resolve, then the policy on `action` over that
 * tenant (`target`, NULL for a tenant-wide one, with the tenant filled in);
 * a key that names no tenant, or two, is refused like another tenant
 * (ers_authz_missing) to an actor that may not see every tenant.  `name_r`
 * may be NULL. */
int ers_tenant_resolve_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			   const struct ers_authz_target *target, const char *key, long long *id_r,
			   char **name_r, struct ers_error *err);

/* user.c: claims `address` for a mailbox, alias or forward (`kind`); a
 * conflict names what holds it already. */
int ers_address_claim(struct ers_ctx *ctx, const char *address, long long tenant_id,
		      long long domain_id, const char *kind, struct ers_error *err);
/* user.c: ends every webmail session of a user (password change, disable). */
int ers_user_end_sessions(struct ers_ctx *ctx, long long user_id, struct ers_error *err);

/* forward.c: the routing graph of aliases and forwards. */
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

/* authz.c: what a list may show the actor -- users only themselves,
 * tenant admins the regular users of their tenant (and what belongs to
 * them), super admins and operators everything, or the tenant named by
 * `tenant_key` -- after the policy allowed `action` on that scope. */
struct ers_list_scope {
	long long tenant_id; /* 0: all tenants */
	bool self_only;      /* only the actor's own */
	bool regular_only;   /* only regular users' */
};
int ers_authz_list_scope(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			 const char *tenant_key, const char *what, struct ers_list_scope *scope_r,
			 struct ers_error *err);

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

/* audit.c */
void ers_audit_denied(struct ers_ctx *ctx, const struct ers_actor *actor, const char *action,
		      const char *target, long long tenant_id, const char *why);

/* A timestamptz column as ISO 8601 UTC text. */
#define ERS_SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Formats a long long for a query parameter. */
struct ers_num { char s[24]; };
struct ers_num ers_num(long long v);

/* check_report.c: one answer in a check report (`mailstack check`, the
 * go-live check); control characters in the detail become spaces. */
struct ers_check_report;
void ers_check_add(struct ers_check_report *r, const char *component, const char *what, bool ok,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* mailstack_check.c: a connection as the mail role, the way Postfix and
 * Dovecot connect (check PQstatus; PQfinish it either way). */
PGconn *ers_mail_role_connect(const struct ers_config *cfg, const char *application_name);

/* probe.c: a client connection for health probes, TLS verified.  `host`
 * starting with '/' is a unix socket path (port ignored). */
struct ers_probe;
int ers_probe_open(const char *host, int port, struct ers_probe **p_r, char *why, size_t whylen);
/* The certificate must be valid for `name` (default: the host connected
 * to); with partial_chain the CA file may be the server's own certificate. */
void ers_probe_verify_as(struct ers_probe *p, const char *name, bool partial_chain);
/* Starts TLS now (implicit TLS, or after the server agreed to STARTTLS);
 * `ca_file` NULL: the system's CAs. */
int ers_probe_start_tls(struct ers_probe *p, const char *ca_file, char *why, size_t whylen);
bool ers_probe_say(struct ers_probe *p, const char *s);
bool ers_probe_write(struct ers_probe *p, const void *data, size_t n);
/* Reads what arrives next, appending at buf + *n (keeps one byte spare). */
bool ers_probe_read(struct ers_probe *p, void *buf, size_t cap, size_t *n);
/* Reads until `done` appears in the text (5 s at most per read). */
bool ers_probe_read_until(struct ers_probe *p, char *buf, size_t cap, const char *done);
/* Reads one complete answer into buf: up to the line starting with `tag`
 * (IMAP), or with tag NULL up to the last line of an SMTP reply. */
bool ers_probe_reply(struct ers_probe *p, const char *tag, char *buf, size_t cap);
void ers_probe_close(struct ers_probe *p);

/* session.c: records a failed sign-in attempt -- kind "password" or "code"
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

/* message.c: g_mime_init() once per process, before any GMime call. */
void ers_gmime_init(void);

#endif
