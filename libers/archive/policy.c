/* Tenant archive policies: the defaults of every archive job of a tenant
 * (format, cutoff, delete-after, auto-archive). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

int ers_archive_policy_load(struct ers_ctx *ctx, long long tenant_id, struct ers_archive_policy *p, struct ers_error *err)
{
	struct ers_num t = ers_num(tenant_id);
	const char *params[] = { t.s };
	PGresult *res = ers_db_exec(ctx, "SELECT tn.name, coalesce(p.format, 'mbox'), coalesce(p.older_than_days, 30),"
				    " coalesce(p.delete_after, false), coalesce(p.auto_archive, false), "
				    "CASE WHEN p.tenant_id IS NULL THEN '' ELSE " ERS_SQL_TIME("p.updated_at") " END,"
				    " coalesce(p.personal_auto_archive, true)"
				    " FROM ers.tenant tn LEFT JOIN ers.archive_policy p ON p.tenant_id = tn.id"
				    " WHERE tn.id = $1::bigint", 1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no tenant %lld", tenant_id);
		return -1;
	}
	p->tenant = ers_xstrdup(ers_db_str(res, 0, 0));
	p->tenant_id = tenant_id;
	snprintf(p->format, sizeof p->format, "%s", ers_db_str(res, 0, 1));
	p->older_than_days = (int)ers_db_ll(res, 0, 2);
	p->delete_after = ers_db_str(res, 0, 3)[0] == 't';
	p->auto_archive = ers_db_str(res, 0, 4)[0] == 't';
	snprintf(p->updated_at, sizeof p->updated_at, "%s", ers_db_str(res, 0, 5));
	p->personal_auto_archive = ers_db_str(res, 0, 6)[0] == 't';
	PQclear(res);
	return 0;
}

void ers_archive_policy_free(struct ers_archive_policy *p)
{
	if (!p)
		return;
	free(p->tenant);
	free(p);
}

int ers_archive_policy_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			    struct ers_archive_policy **p_r, struct ers_error *err)
{
	*p_r = NULL;
	long long tid = actor->tenant_id;
	if (tenant) {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_VIEW, NULL, tenant, &tid, NULL, err) < 0)
			return -1;
	} else {
		if (!tid) {
			ers_error_set(err, ERS_E_USAGE, "name the tenant (--tenant NAME)");
			return -1;
		}
		struct ers_authz_target t = { .tenant_id = tid };
		if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_POLICY_VIEW, &t, "archive policy", err) < 0)
			return -1;
	}
	struct ers_archive_policy *p = ers_xcalloc(1, sizeof *p);
	if (ers_archive_policy_load(ctx, tid, p, err) < 0) {
		ers_archive_policy_free(p);
		return -1;
	}
	*p_r = p;
	return 0;
}

int ers_archive_policy_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			   const struct ers_archive_policy_change *ch, struct ers_archive_policy **p_r,
			   struct ers_error *err)
{
	*p_r = NULL;
	if (ch->format && ers_archive_check_format(ch->format, err) < 0)
		return -1;
	if (ch->older_than_days != -1 && ers_archive_check_days(ch->older_than_days, err) < 0)
		return -1;
	if (!ch->format && ch->older_than_days == -1 && ch->delete_after == -1 && ch->auto_archive == -1 &&
	    ch->personal_auto_archive == -1) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give --format, --older-than, --delete-after, "
			      "--auto-archive or --personal-auto-archive");
		return -1;
	}
	long long tid = actor->tenant_id;
	char *name = NULL;
	if (tenant) {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, NULL, tenant, &tid, &name, err) < 0)
			return -1;
	} else {
		struct ers_authz_target t = { .tenant_id = tid };
		if (!tid) {
			ers_error_set(err, ERS_E_USAGE, "name the tenant (--tenant NAME)");
			return -1;
		}
		if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, &t, "archive policy", err) < 0)
			return -1;
	}
	struct ers_num t = ers_num(tid), d = ers_num(ch->older_than_days);
	const char *params[] = { t.s, ch->format, ch->older_than_days == -1 ? NULL : d.s,
				 ch->delete_after == -1 ? NULL : ch->delete_after ? "t" : "f",
				 ch->auto_archive == -1 ? NULL : ch->auto_archive ? "t" : "f",
				 ch->personal_auto_archive == -1 ? NULL : ch->personal_auto_archive ? "t" : "f" };
	struct ers_buf detail = ERS_BUF_INIT;
	if (ch->format)
		ers_buf_addf(&detail, "format %s; ", ch->format);
	if (ch->older_than_days != -1)
		ers_buf_addf(&detail, "older than %d days; ", ch->older_than_days);
	if (ch->delete_after != -1)
		ers_buf_addf(&detail, "delete after %s; ", ch->delete_after ? "yes" : "no");
	if (ch->auto_archive != -1)
		ers_buf_addf(&detail, "auto-archive %s; ", ch->auto_archive ? "yes" : "no");
	if (ch->personal_auto_archive != -1)
		ers_buf_addf(&detail, "personal auto-archive %s; ", ch->personal_auto_archive ? "allowed" : "not allowed");
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_db_run(ctx, "INSERT INTO ers.archive_policy AS p (tenant_id, format, older_than_days, delete_after, auto_archive,"
			    " personal_auto_archive)"
			    " VALUES ($1::bigint, coalesce($2, 'mbox'), coalesce($3::int, 30), coalesce($4::bool, false),"
			    " coalesce($5::bool, false), coalesce($6::bool, true))"
			    " ON CONFLICT (tenant_id) DO UPDATE SET format = coalesce($2, p.format),"
			    " older_than_days = coalesce($3::int, p.older_than_days), delete_after = coalesce($4::bool, p.delete_after),"
			    " auto_archive = coalesce($5::bool, p.auto_archive),"
			    " personal_auto_archive = coalesce($6::bool, p.personal_auto_archive), updated_at = now()",
		       6, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	detail.len -= detail.len >= 2 ? 2 : 0;
	detail.data[detail.len] = '\0';
	if (ers_db_commit_audited(ctx, actor, "archive.policy_set", "archive policy", tid, NULL, detail.data, err) < 0)
		goto out;
	struct ers_archive_policy *p = ers_xcalloc(1, sizeof *p);
	if (ers_archive_policy_load(ctx, tid, p, err) < 0) {
		ers_archive_policy_free(p);
		goto out;
	}
	*p_r = p;
	rc = 0;
out:
	free(name);
	ers_buf_free(&detail);
	return rc;
}
