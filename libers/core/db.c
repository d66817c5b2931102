/* The database layer on libpq: one connection per context, parameterised
 * queries only, and every result status checked here and nowhere else. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* the library never prints; NOTICEs carry nothing we need */
}

static void first_line(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
	dst[strcspn(dst, "\r\n")] = '\0';
}

static int schema_current(struct ers_ctx *ctx, int *current_r, struct ers_error *err);

int ers_ctx_open(const struct ers_config *cfg, unsigned flags, struct ers_ctx **ctx_r,
		 struct ers_error *err)
{
	char port[16], timeout[16];
	snprintf(port, sizeof port, "%d", cfg->database.port);
	snprintf(timeout, sizeof timeout, "%d", cfg->database.connect_timeout);
	const char *keys[] = { "host", "port", "dbname", "user", "password", "connect_timeout",
			       "sslmode", "application_name", NULL };
	const char *vals[] = { cfg->database.host, port, cfg->database.name, cfg->database.user,
			       cfg->secrets.database_password, timeout, cfg->database.sslmode,
			       "ers", NULL };
	if (!cfg->secrets.database_password) { /* libpq stops at the first NULL key */
		keys[4] = "connect_timeout"; vals[4] = timeout;
		keys[5] = "sslmode"; vals[5] = cfg->database.sslmode;
		keys[6] = "application_name"; vals[6] = "ers";
		keys[7] = NULL;
	}
	PGconn *conn = PQconnectdbParams(keys, vals, 0);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char why[512];
		first_line(why, sizeof why, conn ? PQerrorMessage(conn) : "out of memory");
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "cannot connect to PostgreSQL (host %s, port %d, database %s, user %s): %s",
			      cfg->database.host, cfg->database.port, cfg->database.name,
			      cfg->database.user, why);
		PQfinish(conn);
		return -1;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	struct ers_ctx *ctx = ers_xcalloc(1, sizeof *ctx);
	ctx->cfg = cfg;
	ctx->conn = conn;
	if (!(flags & ERS_CTX_NO_SCHEMA_CHECK)) {
		int current = 0, latest = ers_schema_latest();
		int rc = schema_current(ctx, &current, err);
		if (rc == 0 && current == 0) {
			ers_error_set(err, ERS_E_UNAVAILABLE,
				      "database %s has no ERS schema yet: run 'ersctl db migrate'", cfg->database.name);
			rc = -1;
		} else if (rc == 0 && current < latest) {
			ers_error_set(err, ERS_E_UNAVAILABLE,
				      "database schema is at version %d and this ersctl needs %d: run 'ersctl db migrate'",
				      current, latest);
			rc = -1;
		} else if (rc == 0 && current > latest) {
			ers_error_set(err, ERS_E_UNAVAILABLE,
				      "database schema version %d is newer than this ersctl knows (%d): upgrade ersctl",
				      current, latest);
			rc = -1;
		}
		if (rc < 0) {
			ers_ctx_free(ctx);
			return -1;
		}
	}
	*ctx_r = ctx;
	return 0;
}

void ers_ctx_free(struct ers_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->in_tx)
		ers_db_rollback(ctx);
	PQfinish(ctx->conn);
	free(ctx);
}

bool ers_ctx_settle(struct ers_ctx *ctx)
{
	if (ctx->in_tx)
		ers_db_rollback(ctx);
	if (PQtransactionStatus(ctx->conn) == PQTRANS_INTRANS || PQtransactionStatus(ctx->conn) == PQTRANS_INERROR)
		PQclear(PQexec(ctx->conn, "ROLLBACK"));
	ctx->warning[0] = '\0';
	return PQstatus(ctx->conn) == CONNECTION_OK && PQtransactionStatus(ctx->conn) == PQTRANS_IDLE;
}

const struct ers_config *ers_ctx_config(const struct ers_ctx *ctx)
{
	return ctx->cfg;
}

const char *ers_ctx_warning(const struct ers_ctx *ctx)
{
	return ctx->warning[0] ? ctx->warning : NULL;
}

void ers_ctx_clear_warning(struct ers_ctx *ctx)
{
	ctx->warning[0] = '\0';
}

void ers_ctx_warn(struct ers_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->warning, sizeof ctx->warning, fmt, ap);
	va_end(ap);
}

static enum ers_error_code code_for_sqlstate(const char *state)
{
	if (!state)
		return ERS_E_UNAVAILABLE; /* no SQLSTATE: the connection itself failed */
	if (!strcmp(state, "23505") || !strcmp(state, "23503") || !strcmp(state, "23P01"))
		return ERS_E_CONFLICT;
	if (!strcmp(state, "23514") || !strcmp(state, "23502") || !strncmp(state, "22", 2))
		return ERS_E_INVALID;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57", 2) || !strcmp(state, "40001") ||
	    !strcmp(state, "40P01") || !strcmp(state, "42P01") || !strcmp(state, "3F000"))
		return ERS_E_UNAVAILABLE;
	if (!strcmp(state, "42501"))
		return ERS_E_PERMISSION;
	return ERS_E_INTERNAL;
}

static PGresult *check_result(struct ers_ctx *ctx, PGresult *res, struct ers_error *err)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	char why[600];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	first_line(why, sizeof why, primary ? primary : PQerrorMessage(ctx->conn));
	enum ers_error_code code = code_for_sqlstate(state);
	if (state && !strcmp(state, "42P01"))
		ers_error_set(err, code, "database: %s (is the schema migrated? run 'ersctl db migrate')", why);
	else
		ers_error_set(err, code, "database: %s", why);
	PQclear(res);
	return NULL;
}

/* The schema's version (0: none) in one round trip -- every ersctl run and
 * every webmail request checks it, so not ers_schema_status()'s two
 * queries.  A missing table (42P01) is "no schema yet"; other errors are
 * reported as any query's. */
static int schema_current(struct ers_ctx *ctx, int *current_r, struct ers_error *err)
{
	PGresult *res = PQexec(ctx->conn, "SELECT coalesce(max(version), 0) FROM ers.schema_migration");
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	*current_r = 0;
	if (state && !strcmp(state, "42P01")) {
		PQclear(res);
		return 0;
	}
	if (!(res = check_result(ctx, res, err)))
		return -1;
	*current_r = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

PGresult *ers_db_exec(struct ers_ctx *ctx, const char *sql, int nparams,
		      const char *const *params, struct ers_error *err)
{
	PGresult *res = PQexecParams(ctx->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	return check_result(ctx, res, err);
}

PGresult *ers_db_exec_prepared(struct ers_ctx *ctx, const char *name, const char *sql, int nparams,
			       const char *const *params, struct ers_error *err)
{
	size_t max = sizeof ctx->prepared / sizeof ctx->prepared[0], i = 0;
	if (ctx->prepared_pid != PQbackendPID(ctx->conn)) { /* a new backend has none */
		memset(ctx->prepared, 0, sizeof ctx->prepared);
		ctx->prepared_pid = PQbackendPID(ctx->conn);
	}
	while (i < max && ctx->prepared[i] && strcmp(ctx->prepared[i], name))
		i++;
	if (i == max)
		ERS_BUG("more prepared statements than struct ers_ctx holds");
	if (!ctx->prepared[i]) {
		PGresult *res = check_result(ctx, PQprepare(ctx->conn, name, sql, nparams, NULL), err);
		if (!res)
			return NULL;
		PQclear(res);
		ctx->prepared[i] = name;
	}
	return check_result(ctx, PQexecPrepared(ctx->conn, name, nparams, params, NULL, NULL, 0), err);
}

bool ers_db_reconnect(struct ers_ctx *ctx)
{
	if (PQstatus(ctx->conn) == CONNECTION_OK)
		return false;
	ctx->in_tx = false;
	ctx->prepared_pid = 0; /* even a new backend with the old pid has none */
	memset(ctx->prepared, 0, sizeof ctx->prepared);
	PQreset(ctx->conn);
	return PQstatus(ctx->conn) == CONNECTION_OK;
}

int ers_db_run(struct ers_ctx *ctx, const char *sql, int nparams, const char *const *params,
	       struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx, sql, nparams, params, err);
	PQclear(res);
	return res ? 0 : -1;
}

int ers_db_run_script(struct ers_ctx *ctx, const char *sql, struct ers_error *err)
{
	PGresult *res = check_result(ctx, PQexec(ctx->conn, sql), err);
	PQclear(res);
	return res ? 0 : -1;
}

int ers_db_copy_in(struct ers_ctx *ctx, const char *sql, const char *what, const struct ers_buf *data,
		   struct ers_error *err)
{
	PGresult *res = PQexec(ctx->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		check_result(ctx, res, err);
		ers_error_prefix(err, "COPY %s", what);
		return -1;
	}
	PQclear(res);
	enum { CHUNK = 1 << 18 };
	int ok = 1;
	for (size_t off = 0; ok == 1 && off < data->len; off += CHUNK) {
		size_t n = data->len - off < CHUNK ? data->len - off : CHUNK;
		ok = PQputCopyData(ctx->conn, data->data + off, (int)n);
	}
	if (ok == 1)
		ok = PQputCopyEnd(ctx->conn, NULL);
	int rc = 0;
	if (ok != 1) {
		check_result(ctx, NULL, err);
		rc = -1;
	}
	/* Drain every result; the first failure is the one reported. */
	while ((res = PQgetResult(ctx->conn))) {
		if (rc < 0)
			PQclear(res);
		else if (!(res = check_result(ctx, res, err))) /* it cleared the failure */
			rc = -1;
		else
			PQclear(res);
	}
	if (rc < 0)
		ers_error_prefix(err, "COPY %s", what);
	return rc;
}

int ers_db_begin(struct ers_ctx *ctx, struct ers_error *err)
{
	if (ctx->in_tx)
		ERS_BUG("nested transaction");
	if (ers_db_run(ctx, "BEGIN", 0, NULL, err) < 0)
		return -1;
	ctx->in_tx = true;
	return 0;
}

void ers_db_rollback(struct ers_ctx *ctx)
{
	if (!ctx->in_tx)
		return;
	PQclear(PQexec(ctx->conn, "ROLLBACK"));
	ctx->in_tx = false;
}

int ers_db_commit_audited(struct ers_ctx *ctx, const struct ers_actor *actor,
			  const char *action, const char *target, long long tenant_id,
			  const char *tenant_name, const char *detail, struct ers_error *err)
{
	if (!ctx->in_tx)
		ERS_BUG("commit outside a transaction");
	struct ers_num tid = ers_num(tenant_id);
	const char *params[] = { actor->name, actor->via[0] ? actor->via : NULL,
				 action, target, tenant_id > 0 ? tid.s : NULL, tenant_name, detail };
	if (ers_db_run(ctx,
		       "INSERT INTO ers.audit_log (actor, via, action, target, tenant_id, tenant_name, outcome, detail)"
		       " VALUES ($1, $2, $3, $4, $5::bigint, coalesce($6, (SELECT name FROM ers.tenant WHERE id = $5::bigint)), 'ok', $7)",
		       7, params, err) < 0 ||
	    ers_db_run(ctx, "COMMIT", 0, NULL, err) < 0) {
		ers_db_rollback(ctx);
		return -1;
	}
	ctx->in_tx = false;
	return 0;
}

const char *ers_db_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

bool ers_db_isnull(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col);
}

long long ers_db_ll(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void ers_db_time(char dst[40], const PGresult *res, int row, int col)
{
	snprintf(dst, 40, "%s", ers_db_str(res, row, col));
}

struct ers_num ers_num(long long v)
{
	struct ers_num n;
	snprintf(n.s, sizeof n.s, "%lld", v);
	return n;
}
