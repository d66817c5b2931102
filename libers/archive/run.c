/* `archive run`, for cron: one run at a time, what a kill left recovered
 * first, then every mailbox due under its tenant's policy. */
#define _GNU_SOURCE
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

static void remove_temporaries(const char *dir, long long id)
{
	char pat[64];
	snprintf(pat, sizeof pat, ".%lld.tmp.", id);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, pat, strlen(pat))) {
			struct ers_buf p = ERS_BUF_INIT;
			ers_buf_addf(&p, "%s/%s", dir, de->d_name);
			unlink(p.data);
			ers_buf_free(&p);
		}
	}
	if (d)
		closedir(d);
	/* renamed into place, but killed before it was recorded */
	static const char *const formats[] = { "mbox", "mbox-folders", "zip" };
	for (size_t i = 0; i < 3; i++) {
		struct ers_buf p = ERS_BUF_INIT;
		ers_buf_addf(&p, "%s/%lld.%s.gpg", dir, id, formats[i]);
		unlink(p.data);
		ers_buf_free(&p);
	}
}

/* Finishes the delete-after of stored archive `id` from its recorded UIDs. */
static int resume_delete(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_archive *a;
	if (ers_archive_load_plain(ctx, id, &a, err) < 0)
		return -1;
	struct ers_archive_mailbox mb = { .tenant_id = a->tenant_id, .address = a->address };
	struct ers_archive_job j = { .ctx = ctx, .actor = actor, .mb = &mb, .id = id, .delete_after = true };
	snprintf(j.sha, sizeof j.sha, "%s", a->sha256 ? a->sha256 : "");
	j.path = a->path ? ers_xstrdup(a->path) : NULL;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT folder, uidvalidity, uid FROM ers.archive_message WHERE archive_id = $1::bigint"
				    " ORDER BY folder, uid", 1, params, err);
	int rc = -1;
	if (res && j.path) {
		int rows = PQntuples(res);
		j.fl = ers_xcalloc((size_t)rows + 1, sizeof *j.fl);
		for (int i = 0; i < rows; i++) {
			const char *f = ers_db_str(res, i, 0);
			if (!j.nfl || strcmp(j.fl[j.nfl - 1].name, f)) {
				struct ers_archive_folder *af = &j.fl[j.nfl++];
				af->name = ers_xstrdup(f);
				af->uidvalidity = (uint32_t)ers_db_ll(res, i, 1);
				af->uids = ers_xcalloc((size_t)rows, sizeof *af->uids);
			}
			struct ers_archive_folder *af = &j.fl[j.nfl - 1];
			af->uids[af->nuids++] = (uint32_t)ers_db_ll(res, i, 2);
		}
		rc = ers_archive_finish_delete(&j, err);
	} else if (res) {
		ers_error_set(err, ERS_E_INTERNAL, "archive %lld has no stored file", id);
	}
	PQclear(res);
	ers_imap_close(j.im);
	ers_archive_job_free_folders(&j);
	free(j.path);
	ers_archive_free(a);
	return rc;
}

static int recover(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_run_result *r,
		   struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx, "SELECT id, state FROM ers.archive WHERE state = 'running' OR"
				    " (state = 'stored' AND delete_after AND error IS NULL) ORDER BY id", 0, NULL, err);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		long long id = ers_db_ll(res, i, 0);
		if (!ers_archive_job_lock(ctx, id, true))
			continue; /* still running */
		if (!strcmp(ers_db_str(res, i, 1), "running")) {
			struct ers_num n = ers_num(id);
			const char *params[] = { n.s };
			struct ers_error e2;
			if (ers_db_begin(ctx, &e2) == 0) {
				if (ers_db_run(ctx, "UPDATE ers.archive SET state = 'failed', finished_at = now(), error ="
						    " 'interrupted (the job was killed) before it was stored; nothing was deleted'"
						    " WHERE id = $1::bigint AND state = 'running'", 1, params, &e2) < 0)
					ers_db_rollback(ctx);
				else
					ers_db_commit_audited(ctx, actor, "archive.recover", "archive", 0, NULL,
							      "an interrupted archive job marked failed; nothing was deleted", &e2);
			}
			remove_temporaries(ctx->cfg->archive.directory, id);
			r->recovered++;
		} else {
			struct ers_error e2;
			if (resume_delete(ctx, actor, id, &e2) == 0)
				r->recovered++;
			else
				r->failed++;
		}
		ers_archive_job_lock(ctx, id, false);
	}
	PQclear(res);
	return 0;
}

int ers_archive_run(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_run_result *r,
		    struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	struct ers_authz_target none = { 0 };
	if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_RUN, &none, "archive run", err) < 0)
		return -1;
	/* One run at a time: a session lock, gone with a killed run's connection. */
	PGresult *res = ers_db_exec(ctx, "SELECT pg_try_advisory_lock(7302651)", 0, NULL, err);
	if (!res)
		return -1;
	bool got = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!got) {
		ers_error_set(err, ERS_E_CONFLICT, "another `archive run` is running: one at a time");
		return -1;
	}
	/* What a kill left behind: a job "running" whose lock is free never
	 * finished writing -- nothing of it was deleted (expunging starts
	 * after 'stored') -- so it is failed, its temporary file removed, and
	 * its mailbox due again; a job stored with delete-after whose lock is
	 * free was killed before or while expunging: that is finished now. */
	if (recover(ctx, actor, r, err) < 0) {
		struct ers_error ignored;
		PQclear(ers_db_exec(ctx, "SELECT pg_advisory_unlock(7302651)", 0, NULL, &ignored));
		return -1;
	}
	char run_id[40];
	snprintf(run_id, sizeof run_id, "run-%lld-%d", (long long)time(NULL), (int)getpid());
	/* Due: an active local mailbox of a tenant with auto-archive on and
	 * no archive stored by a run in the last day. */
	struct ers_archive_mailbox *mbs = NULL;
	size_t n = 0;
	int rc = ers_archive_load_mailboxes(ctx, "m.status = 'active' AND m.imap_username IS NULL AND (EXISTS (SELECT 1 FROM"
				     " ers.archive_policy p WHERE p.tenant_id = m.tenant_id AND p.auto_archive) OR EXISTS"
				     " (SELECT 1 FROM ers.archive_preference pr JOIN ers.archive_policy p ON p.tenant_id = m.tenant_id"
				     " WHERE pr.mailbox_id = m.id AND pr.auto_archive AND p.personal_auto_archive)) AND NOT EXISTS"
				     " (SELECT 1 FROM ers.archive a WHERE a.mailbox_id = m.id AND a.run_id IS NOT NULL AND"
				     " a.state IN ('stored', 'expunged') AND a.created_at > now() - interval '23 hours')",
				0, NULL, &mbs, &n, err);
	if (rc == 0) {
		r->due = (long long)n;
		struct ers_archive_spec spec = { .older_than_days = -1, .delete_after = -1 };
		struct ers_archive_list *list = ers_xcalloc(1, sizeof *list);
		rc = ers_archive_run_jobs(ctx, actor, mbs, n, &spec, NULL, run_id, list, &r->failed, err);
		r->done = r->due - r->failed;
		ers_archive_list_free(list);
		ers_archive_mailboxes_free(mbs, n);
	}
	struct ers_error ignored;
	res = ers_db_exec(ctx, "SELECT pg_advisory_unlock(7302651)", 0, NULL, &ignored);
	PQclear(res);
	return rc;
}
