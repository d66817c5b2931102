/* `archive create` and the jobs of `archive run`: the mailboxes chosen,
 * each one's job under the options or its tenant's policy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

static void ers_archive_mailbox_clear(struct ers_archive_mailbox *m)
{
	free(m->address);
	free(m->tenant);
	free(m->role);
}

static void list_add(struct ers_archive_list *l, struct ers_archive *a)
{
	if (!a)
		return;
	l->items = ers_xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = *a;
	free(a);
}

int ers_archive_load_mailboxes(struct ers_ctx *ctx, const char *where, int n, const char *const *params,
			  struct ers_archive_mailbox **mbs_r, size_t *n_r, struct ers_error *err)
{
	struct ers_buf q = ERS_BUF_INIT;
	ers_buf_addf(&q, "SELECT m.id, m.tenant_id, m.address, t.name, m.role, m.imap_username IS NOT NULL,"
			 " m.status = 'disabled', EXISTS (SELECT 1 FROM ers.archive_preference pr JOIN ers.archive_policy p"
			 " ON p.tenant_id = m.tenant_id WHERE pr.mailbox_id = m.id AND pr.auto_archive AND p.personal_auto_archive"
			 " AND NOT p.auto_archive) FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id WHERE %s"
			 " ORDER BY m.address", where);
	PGresult *res = ers_db_exec(ctx, q.data, n, params, err);
	ers_buf_free(&q);
	if (!res)
		return -1;
	size_t rows = (size_t)PQntuples(res);
	struct ers_archive_mailbox *mbs = ers_xcalloc(rows ? rows : 1, sizeof *mbs);
	for (size_t i = 0; i < rows; i++) {
		mbs[i].id = ers_db_ll(res, (int)i, 0);
		mbs[i].tenant_id = ers_db_ll(res, (int)i, 1);
		mbs[i].address = ers_xstrdup(ers_db_str(res, (int)i, 2));
		mbs[i].tenant = ers_xstrdup(ers_db_str(res, (int)i, 3));
		mbs[i].role = ers_xstrdup(ers_db_str(res, (int)i, 4));
		mbs[i].remote = ers_db_str(res, (int)i, 5)[0] == 't';
		mbs[i].disabled = ers_db_str(res, (int)i, 6)[0] == 't';
		mbs[i].personal_auto = ers_db_str(res, (int)i, 7)[0] == 't';
	}
	PQclear(res);
	*mbs_r = mbs;
	*n_r = rows;
	return 0;
}

void ers_archive_mailboxes_free(struct ers_archive_mailbox *mbs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ers_archive_mailbox_clear(&mbs[i]);
	free(mbs);
}

/* Shared by create and run: the jobs for `mbs`, under options; the first
 * failure is returned (the others go on). */
int ers_archive_run_jobs(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_mailbox *mbs, size_t n,
		    const struct ers_archive_spec *spec, const struct ers_archive_dest *dest, const char *run_id,
		    struct ers_archive_list *out,
		    long long *failed_r, struct ers_error *err)
{
	int rc = 0;
	*failed_r = 0;
	for (size_t i = 0; i < n; i++) {
		struct ers_archive_policy pol = { 0 };
		if (ers_archive_policy_load(ctx, mbs[i].tenant_id, &pol, err) < 0)
			return -1;
		/* A personal archive -- the user's own, or its personal
		 * auto-archive in a run -- follows the user's preferences (the
		 * tenant's policy where it chose none); a tenant one the policy. */
		bool personal = actor->user_id == mbs[i].id || (run_id && mbs[i].personal_auto);
		struct ers_archive_preference pref = { 0 };
		struct ers_archive_dest pref_dest = { 0 };
		struct ers_error jerr;
		ers_error_clear(&jerr);
		int jrc = 0;
		if (personal && ers_archive_preference_load(ctx, mbs[i].id, mbs[i].tenant_id, &pref, &jerr) < 0)
			jrc = -1;
		const struct ers_archive_dest *d = dest;
		if (jrc == 0 && personal && !dest && !spec->destination && strcmp(pref.destination, "local")) {
			int f = ers_archive_dest_find(ctx, mbs[i].tenant_id, pref.destination, &pref_dest, &jerr);
			if (f == 0)
				ers_error_set(&jerr, ERS_E_INVALID, "the archive destination %s of %s's preferences is no more: "
					      "choose another", pref.destination, mbs[i].address);
			jrc = f == 1 ? 0 : -1;
			d = &pref_dest;
		}
		struct ers_archive_job j = {
			.ctx = ctx, .actor = actor, .mb = &mbs[i],
			.kind = personal ? "personal" : "tenant",
			.format = spec->format ? spec->format : personal ? pref.format : pol.format,
			.days = spec->older_than_days >= 0 ? spec->older_than_days : personal ? pref.older_than_days
											  : pol.older_than_days,
			.delete_after = spec->delete_after >= 0 ? spec->delete_after : pol.delete_after,
			.folders = spec->folders, .nfolders = spec->nfolders,
			.progress = spec->progress, .progress_arg = spec->progress_arg, .run_id = run_id,
			.dest = d,
		};
		struct ers_archive *a = NULL;
		if (jrc < 0) {
			/* refused before it began: nothing recorded */
		} else if (mbs[i].remote) {
			ers_error_set(&jerr, ERS_E_INVALID, "%s is a mailbox on a remote IMAP host: archives read local "
				      "mailboxes only", mbs[i].address);
			jrc = -1;
		} else {
			jrc = ers_archive_run_job(&j, &a, &jerr);
		}
		free(pol.tenant);
		free(pref.address);
		free(pref.destination);
		ers_archive_dest_clear(&pref_dest);
		list_add(out, a);
		if (jrc < 0) {
			(*failed_r)++;
			if (rc == 0)
				*err = jerr;
			rc = -1;
		}
	}
	return rc;
}

int ers_archive_create(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_spec *spec,
		       struct ers_archive_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	if ((!spec->address) == (!spec->tenant)) {
		ers_error_set(err, ERS_E_USAGE, "name one mailbox (EMAIL) or one tenant (--tenant), not %s",
			      spec->address ? "both" : "neither");
		return -1;
	}
	if (spec->format && ers_archive_check_format(spec->format, err) < 0)
		return -1;
	bool remote = spec->destination && strcmp(spec->destination, "local");
	if (remote && ers_archive_check_dest_name(spec->destination, err) < 0) {
		ers_error_set(err, ERS_E_INVALID, "unknown archive destination \"%.60s\": destinations are local (the server's "
			      "archive directory) and the tenant's own, named with a-z, 0-9, '-', '_' (see: ersctl archive "
			      "destination list)", spec->destination);
		return -1;
	}
	if (spec->older_than_days != -1 && ers_archive_check_days(spec->older_than_days, err) < 0)
		return -1;
	if (spec->nfolders > ERS_ARCHIVE_MAX_FOLDERS) {
		ers_error_set(err, ERS_E_INVALID, "at most %d folders, got %zu", ERS_ARCHIVE_MAX_FOLDERS, spec->nfolders);
		return -1;
	}
	for (size_t i = 0; i < spec->nfolders; i++)
		if (ers_archive_check_folder(spec->folders[i], err) < 0)
			return -1;
	struct ers_archive_mailbox *mbs = NULL;
	size_t n = 0;
	long long tid;
	if (spec->address) {
		struct ers_mailbox_ref u;
		if (ers_mailbox_for(ctx, actor, spec->address, ERS_ACT_ARCHIVE_CREATE, false, NULL, &u, NULL, err) < 0)
			return -1;
		struct ers_num id = ers_num(u.id);
		const char *params[] = { id.s };
		if (ers_archive_load_mailboxes(ctx, "m.id = $1::bigint", 1, params, &mbs, &n, err) < 0)
			return -1;
		tid = u.tenant_id;
	} else {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_CREATE, NULL, spec->tenant, &tid, NULL, err) < 0)
			return -1;
		struct ers_num t = ers_num(tid);
		const char *params[] = { t.s, actor->role == ERS_ROLE_TENANT_ADMIN ? "user" : NULL };
		if (ers_archive_load_mailboxes(ctx, "m.tenant_id = $1::bigint AND m.status = 'active' AND m.imap_username IS NULL"
					" AND ($2::text IS NULL OR m.role = $2)", 2, params, &mbs, &n, err) < 0)
			return -1;
	}
	struct ers_archive_dest dest = { 0 };
	if (remote) {
		int f = ers_archive_dest_find(ctx, tid, spec->destination, &dest, err);
		if (f == 0)
			ers_error_set(err, ERS_E_INVALID, "unknown archive destination \"%s\": destinations are local (the "
				      "server's archive directory) and the tenant's own (see: ersctl archive destination list)",
				      spec->destination);
		if (f <= 0) {
			ers_archive_mailboxes_free(mbs, n);
			return -1;
		}
	}
	struct ers_archive_list *list = ers_xcalloc(1, sizeof *list);
	long long failed;
	int rc = ers_archive_run_jobs(ctx, actor, mbs, n, spec, remote ? &dest : NULL, NULL, list, &failed, err);
	ers_archive_mailboxes_free(mbs, n);
	ers_archive_dest_clear(&dest);
	*list_r = list;
	return rc;
}
