/* Users' own archive preferences: format, destination type, cutoff and
 * personal auto-archive, over the tenant's policy and within it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

void ers_archive_preference_free(struct ers_archive_preference *p)
{
	if (!p)
		return;
	free(p->address);
	free(p->destination);
	free(p);
}

int ers_archive_preference_load(struct ers_ctx *ctx, long long mailbox_id, long long tenant_id,
				struct ers_archive_preference *p, struct ers_error *err)
{
	struct ers_archive_policy pol = { 0 };
	if (ers_archive_policy_load(ctx, tenant_id, &pol, err) < 0)
		return -1;
	free(pol.tenant);
	struct ers_num m = ers_num(mailbox_id);
	const char *params[] = { m.s };
	PGresult *res = ers_db_exec(ctx, "SELECT m.address, pr.format, coalesce(pr.destination, 'local'), pr.older_than_days,"
				    " coalesce(pr.auto_archive, false), pr.mailbox_id IS NOT NULL FROM ers.mailbox m"
				    " LEFT JOIN ers.archive_preference pr ON pr.mailbox_id = m.id WHERE m.id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no mailbox %lld", mailbox_id);
		return -1;
	}
	p->address = ers_xstrdup(ers_db_str(res, 0, 0));
	snprintf(p->format, sizeof p->format, "%s", ers_db_isnull(res, 0, 1) ? pol.format : ers_db_str(res, 0, 1));
	p->destination = ers_xstrdup(ers_db_str(res, 0, 2));
	p->older_than_days = ers_db_isnull(res, 0, 3) ? pol.older_than_days : (int)ers_db_ll(res, 0, 3);
	p->auto_allowed = pol.personal_auto_archive;
	/* A tenant that stops allowing it stops it: the choice stays, unused. */
	p->auto_archive = ers_db_str(res, 0, 4)[0] == 't' && p->auto_allowed;
	p->chosen = ers_db_str(res, 0, 5)[0] == 't';
	PQclear(res);
	return 0;
}

int ers_archive_preference_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
				struct ers_archive_preference **p_r, struct ers_error *err)
{
	*p_r = NULL;
	struct ers_mailbox_ref u;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_ARCHIVE_CREATE, false, NULL, &u, NULL, err) < 0)
		return -1;
	struct ers_archive_preference *p = ers_xcalloc(1, sizeof *p);
	if (ers_archive_preference_load(ctx, u.id, u.tenant_id, p, err) < 0) {
		ers_archive_preference_free(p);
		return -1;
	}
	*p_r = p;
	return 0;
}

int ers_archive_preference_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			       const struct ers_archive_preference_change *ch, struct ers_archive_preference **p_r,
			       struct ers_error *err)
{
	*p_r = NULL;
	if (!ch->format && !ch->destination && ch->older_than_days == -1 && ch->auto_archive == -1) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give --format, --to, --older-than or --auto-archive");
		return -1;
	}
	if ((ch->format && ers_archive_check_format(ch->format, err) < 0) ||
	    (ch->older_than_days != -1 && ers_archive_check_days(ch->older_than_days, err) < 0) ||
	    (ch->destination && strcmp(ch->destination, "local") && ers_archive_check_dest_name(ch->destination, err) < 0)) {
		if (ch->destination && err->code == ERS_E_INVALID && strstr(err->message, "destination name"))
			ers_error_set(err, ERS_E_INVALID, "unknown archive destination \"%.60s\": destinations are local (the "
				      "server's archive directory) and the tenant's own", ch->destination);
		return -1;
	}
	struct ers_mailbox_ref u;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_ARCHIVE_CREATE, false, NULL, &u, NULL, err) < 0)
		return -1;
	if (ch->destination && strcmp(ch->destination, "local")) {
		struct ers_archive_dest d = { 0 };
		int f = ers_archive_dest_find(ctx, u.tenant_id, ch->destination, &d, err);
		ers_archive_dest_clear(&d);
		if (f == 0)
			ers_error_set(err, ERS_E_INVALID, "unknown archive destination \"%s\": destinations are local (the "
				      "server's archive directory) and the tenant's own", ch->destination);
		if (f <= 0)
			return -1;
	}
	if (ch->auto_archive == 1) {
		struct ers_archive_policy pol = { 0 };
		if (ers_archive_policy_load(ctx, u.tenant_id, &pol, err) < 0)
			return -1;
		free(pol.tenant);
		if (!pol.personal_auto_archive) {
			ers_error_set(err, ERS_E_INVALID, "tenant %s does not allow personal auto-archive (its admins choose: "
				      "archive policy set --personal-auto-archive yes)", u.tenant);
			return -1;
		}
	}
	struct ers_num m = ers_num(u.id), d = ers_num(ch->older_than_days);
	const char *params[] = { m.s, ch->format, ch->destination, ch->older_than_days == -1 ? NULL : d.s,
				 ch->auto_archive == -1 ? NULL : ch->auto_archive ? "t" : "f" };
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_adds(&detail, "archive preferences:");
	if (ch->format)
		ers_buf_addf(&detail, " format %s;", ch->format);
	if (ch->destination)
		ers_buf_addf(&detail, " destination %s;", ch->destination);
	if (ch->older_than_days != -1)
		ers_buf_addf(&detail, " older than %d days;", ch->older_than_days);
	if (ch->auto_archive != -1)
		ers_buf_addf(&detail, " personal auto-archive %s;", ch->auto_archive ? "on" : "off");
	detail.data[--detail.len] = '\0';
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_db_run(ctx, "INSERT INTO ers.archive_preference AS pr (mailbox_id, format, destination, older_than_days,"
			    " auto_archive) VALUES ($1::bigint, $2, coalesce($3, 'local'), $4::int, coalesce($5::bool, false))"
			    " ON CONFLICT (mailbox_id) DO UPDATE SET format = coalesce($2, pr.format),"
			    " destination = coalesce($3, pr.destination), older_than_days = coalesce($4::int, pr.older_than_days),"
			    " auto_archive = coalesce($5::bool, pr.auto_archive), updated_at = now()", 5, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, actor, "archive.preference_set", u.address, u.tenant_id, NULL, detail.data, err) < 0)
		goto out;
	struct ers_archive_preference *p = ers_xcalloc(1, sizeof *p);
	if (ers_archive_preference_load(ctx, u.id, u.tenant_id, p, err) < 0) {
		ers_archive_preference_free(p);
		goto out;
	}
	*p_r = p;
	rc = 0;
out:
	ers_buf_free(&detail);
	return rc;
}
