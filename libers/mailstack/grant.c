/* `mailstack grant`: the mail role's SELECT on the views Postfix and
 * Dovecot read, and nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailstack/internal.h"

static char *quote_ident(struct ers_ctx *ctx, const char *name)
{
	char *q = PQescapeIdentifier(ctx->conn, name, strlen(name));
	if (!q)
		ERS_BUG("PQescapeIdentifier failed");
	char *copy = ers_xstrdup(q);
	PQfreemem(q);
	return copy;
}

static int role_exists(struct ers_ctx *ctx, const char *role, struct ers_error *err)
{
	const char *params[] = { role };
	PGresult *res = ers_db_exec(ctx, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, params, err);
	if (!res)
		return -1;
	int n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ers_error_set(err, ERS_E_NOTFOUND,
			      "database role \"%s\" does not exist: a PostgreSQL superuser creates it (CREATE ROLE \"%s\" LOGIN), then run this again",
			      role, role);
		return -1;
	}
	return 0;
}

int ers_mailstack_grant(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_error *err)
{
	const char *mail = ctx->cfg->mailstack.db_user, *quota = ctx->cfg->mailstack.quota_db_user;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_authz_require(ctx, actor, ERS_ACT_SCHEMA_MIGRATE, NULL, "mail stack grants", err) < 0 ||
	    role_exists(ctx, mail, err) < 0 || role_exists(ctx, quota, err) < 0)
		goto rollback;
	char *m = quote_ident(ctx, mail), *q = quote_ident(ctx, quota);
	struct ers_buf sql = ERS_BUF_INIT;
	/* Views run with their owner's rights: SELECT on them is all the mail
	 * role needs, and all it gets.  Default privileges cover views that
	 * later migrations add. */
	ers_buf_addf(&sql,
		     "GRANT USAGE ON SCHEMA ers_mail TO %s;"
		     "GRANT SELECT ON ALL TABLES IN SCHEMA ers_mail TO %s;"
		     "ALTER DEFAULT PRIVILEGES IN SCHEMA ers_mail GRANT SELECT ON TABLES TO %s;"
		     "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ers_mail TO %s;"
		     "ALTER DEFAULT PRIVILEGES IN SCHEMA ers_mail GRANT EXECUTE ON FUNCTIONS TO %s;"
		     "GRANT USAGE ON SCHEMA ers_quota TO %s;"
		     "GRANT SELECT, INSERT, UPDATE ON ers_quota.usage TO %s;",
		     m, m, m, m, m, q, q);
	free(m);
	free(q);
	int rc = ers_db_run_script(ctx, sql.data, err);
	ers_buf_free(&sql);
	if (rc < 0)
		goto rollback;
	char detail[300];
	snprintf(detail, sizeof detail, "SELECT on ers_mail to %s; usage table to %s", mail, quota);
	return ers_db_commit_audited(ctx, actor, "mailstack.grant", "ers_mail", 0, NULL, detail, err);
rollback:
	ers_db_rollback(ctx);
	return -1;
}
