/* core's interfaces inside libers -- the context, the database layer,
 * secrets, audit writes, the policy's check and the tenant lookups -- for
 * core and every area above it.  Nothing here is installed; the fronts use
 * only include/ers/. */
#ifndef ERS_CORE_INTERNAL_H
#define ERS_CORE_INTERNAL_H

#include <stdbool.h>
#include <libpq-fe.h>
#include "ers/error.h"
#include "ers/mem.h"
#include "ers/buf.h"
#include "ers/config.h"
#include "ers/actor.h"
#include "ers/authz.h"
#include "ers/ctx.h"
#include "ers/schema.h"
#include "ers/names.h"
#include "ers/seal.h"

struct ers_ctx {
	const struct ers_config *cfg;
	PGconn *conn;
	bool in_tx;
	const char *prepared[8]; /* db.c: ers_db_exec_prepared's statements on this connection ... */
	int prepared_pid;        /* ... to the backend of this pid (a reconnect forgets them) */
	char warning[1024]; /* what went wrong after a change committed, or what it left over */
};

/* Records that something after a commit failed: the change stands, and
 * ers_ctx_warning() tells the caller what is still to do. */
/* A role column as the database holds it (the schema allows only the
 * three names); anything else reads as a regular user, the least right. */
enum ers_role ers_role_from_db(const char *s);
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

/* A timestamptz column as ISO 8601 UTC text. */
#define ERS_SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Formats a long long for a query parameter. */
struct ers_num { char s[24]; };
struct ers_num ers_num(long long v);

/* audit_write.c: a refusal, recorded outside the refused transaction. */
void ers_audit_denied(struct ers_ctx *ctx, const struct ers_actor *actor, const char *action,
		      const char *target, long long tenant_id, const char *why);

/* authz.c: the check plus an audit row recording a refusal. */
int ers_authz_require(struct ers_ctx *ctx, const struct ers_actor *actor,
		      enum ers_action action, const struct ers_authz_target *target,
		      const char *target_desc, struct ers_error *err);

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

/* lookup.c: the tenant and id of a domain hosted here; ERS_E_INVALID when
 * no tenant has it. */
int ers_domain_owner(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		     long long *domain_id_r, struct ers_error *err);
/* lookup_policy.c: ers_domain_owner, then the policy on `action` over the
 * domain's tenant (`target`, NULL for a tenant-wide one, with the tenant
 * filled in); a domain no tenant has is refused like another tenant's
 * (ers_authz_missing) to an actor that may not see every tenant.
 * `domain` is normalised; a refusal's audit row names `target_desc` (NULL:
 * the domain). */
int ers_domain_owner_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			 const struct ers_authz_target *target, const char *domain, const char *target_desc,
			 long long *tenant_id_r, long long *domain_id_r, struct ers_error *err);
/* lookup.c: like ers_domain_owner, but a domain no tenant has is no
 * error: 0 for both ids. */
int ers_domain_lookup(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		      long long *domain_id_r, struct ers_error *err);
/* lookup.c: the tenant named by `key` (its name in any case, or a domain). */
int ers_tenant_resolve(struct ers_ctx *ctx, const char *key, long long *id_r, char **name_r,
		       struct ers_error *err);
/* lookup_policy.c: ers_tenant_resolve, then the policy on `action` over that
 * tenant (`target`, NULL for a tenant-wide one, with the tenant filled in);
 * a key that names no tenant, or two, is refused like another tenant
 * (ers_authz_missing) to an actor that may not see every tenant.  `name_r`
 * may be NULL. */
int ers_tenant_resolve_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			   const struct ers_authz_target *target, const char *key, long long *id_r,
			   char **name_r, struct ers_error *err);

/* A mailbox as the policy sees it: what ers_mailbox_for found. */
struct ers_mailbox_ref {
	long long id, tenant_id;
	enum ers_role role;
	char address[320];
	char tenant[200];
};
/* lookup_policy.c: normalises the address `input`, loads its mailbox and
 * asks the policy on `action` over that user.  With `in_tx` the row is
 * locked in the caller's transaction, which a refusal rolls back before
 * its audit row.  A missing user is refused like one out of reach to an
 * actor that may not see whoever could have the address; only one who may
 * is told "no user".  `extra_columns` (constant SQL over m, the mailbox,
 * and t, its tenant; NULL for none) follow the five columns of the ref;
 * with `row_r` the one row is handed back (PQclear it) to read them from
 * column 5. */
int ers_mailbox_for(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		    enum ers_action action, bool in_tx, const char *extra_columns, struct ers_mailbox_ref *ref,
		    PGresult **row_r, struct ers_error *err);


/* gpg_program.c: gpg's program file, as gpgme found it (gpgme is set up by
 * the caller: gpgme_check_version). */
const char *ers_gpg_program(void);

#endif
