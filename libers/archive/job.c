/* One archive job (ers/archive.h): one mailbox's messages older than the
 * cutoff, read over IMAP as the mailbox (Dovecot's master user), streamed
 * through the format and gpg into a temporary file of the archive
 * directory, fsync'd and renamed into place (0600), read back and its
 * SHA-256 compared; then, when asked, exactly the archived UIDs under the
 * same UIDVALIDITY expunged.  Every job is a row of ers.archive from the
 * start, so a failure -- or a kill -- leaves a record and every message. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

void ers_archive_job_free_folders(struct ers_archive_job *j)
{
	for (size_t i = 0; i < j->nfl; i++) {
		free(j->fl[i].name);
		free(j->fl[i].zip_dir);
		free(j->fl[i].uids);
	}
	free(j->fl);
	j->fl = NULL;
	j->nfl = 0;
}

/* Plain IMAP to a loopback Dovecot: no TLS record per read. */
static int imap_open_as(const struct ers_config *cfg, const char *address, struct ers_imap **im_r, struct ers_error *err)
{
	return ers_imap_open_owner(cfg, address, 120, im_r, err);
}

/* The folders to archive with the UIDs of their messages older than the
 * cutoff (not flagged \Deleted). */
static int collect(struct ers_archive_job *j, struct ers_error *err)
{
	struct ers_imap_result lr;
	if (ers_imap_folders(j->im, &lr, err) < 0) {
		ers_imap_result_free(&lr);
		return -1;
	}
	int rc = 0;
	size_t want = j->nfolders ? j->nfolders : lr.nfolders;
	j->fl = ers_xcalloc(want ? want : 1, sizeof *j->fl);
	for (size_t i = 0; i < want && rc == 0; i++) {
		const struct ers_imap_folder *f = NULL;
		if (j->nfolders) {
			for (size_t k = 0; k < lr.nfolders && !f; k++)
				if (!strcmp(lr.folders[k].name, j->folders[i]) || !strcmp(lr.folders[k].display, j->folders[i]))
					f = &lr.folders[k];
			if (!f || f->noselect) {
				ers_error_set(err, ERS_E_NOTFOUND, "mailbox %s has no folder \"%s\" (folders are named as the "
					      "mailbox lists them: INBOX, Sent, ...)", j->mb->address, j->folders[i]);
				rc = -1;
				break;
			}
		} else {
			f = &lr.folders[i];
			if (f->noselect)
				continue;
		}
		struct ers_archive_folder *af = &j->fl[j->nfl++];
		af->name = ers_xstrdup(f->name);
		struct ers_buf dir = ERS_BUF_INIT;
		const char *d = f->display;
		for (;;) {
			const char *sep = f->delimiter ? strchr(d, f->delimiter) : NULL;
			size_t len = sep ? (size_t)(sep - d) : strlen(d);
			if (dir.len)
				ers_buf_addch(&dir, '/');
			ers_archive_safe_part(d, len, &dir);
			if (!sep)
				break;
			d = sep + 1;
		}
		af->zip_dir = ers_buf_detach(&dir);
		struct ers_buf cmd = ERS_BUF_INIT;
		ers_buf_adds(&cmd, "SELECT ");
		ers_imap_quote(&cmd, f->name);
		struct ers_imap_result r;
		rc = ers_imap_command(j->im, cmd.data, &r, err);
		af->uidvalidity = r.uidvalidity;
		ers_imap_result_free(&r);
		ers_buf_reset(&cmd);
		if (rc == 0) {
			if (j->days > 0)
				ers_buf_addf(&cmd, "UID SEARCH UNDELETED OLDER %lld", (long long)j->days * 86400);
			else
				ers_buf_adds(&cmd, "UID SEARCH UNDELETED");
			rc = ers_imap_command(j->im, cmd.data, &r, err);
			if (rc == 0 && r.nids) {
				af->uids = ers_xmalloc(r.nids * sizeof *af->uids);
				memcpy(af->uids, r.ids, r.nids * sizeof *af->uids);
				af->nuids = r.nids;
			}
			ers_imap_result_free(&r);
		}
		ers_buf_free(&cmd);
	}
	ers_imap_result_free(&lr);
	return rc;
}

/* Writes the encrypted archive to a temporary file in the directory (the
 * sink: written, read back from the disk and compared, hashed, fsync'd),
 * then renames it into place (0600) and fsyncs the directory. */
static int write_archive(struct ers_archive_job *j, const struct ers_archive_key *k, struct ers_error *err)
{
	const char *dir = j->ctx->cfg->archive.directory;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ers_error_set(err, ERS_E_IO, "cannot make the archive directory %s: %s", dir, strerror(errno));
		return -1;
	}
	struct ers_buf tmp = ERS_BUF_INIT, final = ERS_BUF_INIT;
	ers_buf_addf(&tmp, "%s/.%lld.tmp.XXXXXX", dir, j->id);
	ers_buf_addf(&final, "%s/%lld.%s.gpg", dir, j->id, j->format);
	int rc = -1;
	struct ers_archive_stream *s = NULL;
	struct ers_archive_sink *sink = NULL;
	struct ers_imap *ims[2] = { j->im, NULL };
	if (ers_archive_sink_open(&tmp, &sink, err) < 0) {
		ers_error_prefix(err, "in %s", dir);
		goto out;
	}
	/* A second connection where there is more than one batch to fetch:
	 * Dovecot then makes two batches at once, in two imap processes
	 * (without it, one imap process was often what gpg waited for). */
	size_t total = 0;
	for (size_t i = 0; i < j->nfl; i++)
		total += j->fl[i].nuids;
	struct ers_error ignored;
	if (total > 200 && imap_open_as(j->ctx->cfg, j->mb->address, &ims[1], &ignored) < 0)
		ims[1] = NULL;
	s = ers_archive_stream_new(ims, ims[1] ? 2 : 1, j->fl, j->nfl, j->format, j->progress, j->progress_arg);
	int grc = ers_gpg_encrypt_to(k->public_key, ers_archive_stream_read, s, ers_archive_sink_write, sink, err);
	ers_archive_stream_counts(s, &j->messages, &j->plain_bytes);
	if (ers_archive_stream_error(s)) {
		*err = *ers_archive_stream_error(s);
		goto out;
	}
	/* finish says why a write failed (a full disk, say) before gpg's exit does */
	if (ers_archive_sink_finish(sink, final.data, j->sha, &j->bytes, err) < 0 || grc < 0)
		goto out;
	ers_archive_sink_free(sink);
	sink = NULL;
	if (rename(tmp.data, final.data) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot move the archive into place as %s: %s", final.data, strerror(errno));
		goto out;
	}
	ers_buf_reset(&tmp);
	ers_archive_sync_dir(dir);
	j->path = ers_buf_detach(&final);
	rc = 0;
out:
	ers_archive_sink_free(sink);
	if (rc < 0 && tmp.len)
		unlink(tmp.data);
	ers_archive_stream_free(s);
	ers_imap_close(ims[1]);
	ers_buf_free(&tmp);
	ers_buf_free(&final);
	return rc;
}

static void uid_set(struct ers_buf *b, const uint32_t *uids, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (!uids[i])
			continue;
		if (b->len)
			ers_buf_addch(b, ',');
		ers_buf_addf(b, "%u", uids[i]);
	}
}

/* Expunges exactly the archived UIDs, folder by folder, after checking
 * that the folder's UIDVALIDITY is the one they were read under. */
static int expunge(struct ers_archive_job *j, long long *expunged_r, struct ers_error *err)
{
	*expunged_r = 0;
	for (size_t i = 0; i < j->nfl; i++) {
		struct ers_archive_folder *f = &j->fl[i];
		size_t have = 0;
		for (size_t k = 0; k < f->nuids; k++)
			have += f->uids[k] != 0;
		if (!have)
			continue;
		struct ers_buf cmd = ERS_BUF_INIT;
		ers_buf_adds(&cmd, "SELECT ");
		ers_imap_quote(&cmd, f->name);
		struct ers_imap_result r;
		int rc = ers_imap_command(j->im, cmd.data, &r, err);
		uint32_t v = r.uidvalidity;
		ers_imap_result_free(&r);
		ers_buf_free(&cmd);
		if (rc < 0)
			return -1;
		if (v != f->uidvalidity) {
			ers_error_set(err, ERS_E_CONFLICT, "folder %s has UIDVALIDITY %u, not the %u its messages were archived "
				      "under: nothing deleted from it", f->name, v, f->uidvalidity);
			return -1;
		}
		for (size_t from = 0; from < f->nuids; from += 500) {
			size_t to = from + 500 < f->nuids ? from + 500 : f->nuids;
			struct ers_buf set = ERS_BUF_INIT;
			uid_set(&set, f->uids, from, to);
			if (!set.len) {
				ers_buf_free(&set);
				continue;
			}
			struct ers_buf c1 = ERS_BUF_INIT, c2 = ERS_BUF_INIT;
			ers_buf_addf(&c1, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set.data);
			ers_buf_addf(&c2, "UID EXPUNGE %s", set.data);
			rc = ers_imap_command(j->im, c1.data, &r, err);
			ers_imap_result_free(&r);
			if (rc == 0) {
				rc = ers_imap_command(j->im, c2.data, &r, err);
				ers_imap_result_free(&r);
			}
			ers_buf_free(&c1);
			ers_buf_free(&c2);
			ers_buf_free(&set);
			if (rc < 0)
				return -1;
		}
		*expunged_r += (long long)have;
	}
	return 0;
}

/* The UIDs archived, in COPY text format. */
static void uid_rows(const struct ers_archive_job *j, struct ers_buf *b)
{
	for (size_t i = 0; i < j->nfl; i++) {
		struct ers_buf name = ERS_BUF_INIT;
		for (const char *p = j->fl[i].name; *p; p++) {
			if (*p == '\\' || *p == '\t' || *p == '\n' || *p == '\r')
				ers_buf_addch(&name, '\\');
			ers_buf_addch(&name, *p);
		}
		for (size_t k = 0; k < j->fl[i].nuids; k++)
			if (j->fl[i].uids[k])
				ers_buf_addf(b, "%lld\t%s\t%u\t%u\n", j->id, name.data, j->fl[i].uidvalidity, j->fl[i].uids[k]);
		ers_buf_free(&name);
	}
}

/* A job holds a session lock on its id while it runs, so that `archive
 * run` tells a job still running from one a kill left behind (its
 * connection, and so its lock, gone). */
#define JOB_LOCK_CLASS "7302652"
bool ers_archive_job_lock(struct ers_ctx *ctx, long long id, bool take)
{
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	struct ers_error ignored;
	PGresult *res = ers_db_exec(ctx, take ? "SELECT pg_try_advisory_lock(" JOB_LOCK_CLASS ", $1::int)"
					      : "SELECT pg_advisory_unlock(" JOB_LOCK_CLASS ", $1::int)", 1, params, &ignored);
	bool got = res && ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

static void record_failure(struct ers_archive_job *j, const struct ers_error *why)
{
	struct ers_num id = ers_num(j->id);
	const char *params[] = { id.s, why->message };
	struct ers_error e2;
	if (ers_db_begin(j->ctx, &e2) < 0)
		return;
	if (ers_db_run(j->ctx, "UPDATE ers.archive SET state = 'failed', error = $2, finished_at = now() WHERE id = $1::bigint",
		       2, params, &e2) < 0) {
		ers_db_rollback(j->ctx);
		return;
	}
	char detail[1200];
	snprintf(detail, sizeof detail, "archive %lld failed, nothing deleted: %s", j->id, why->message);
	ers_db_commit_audited(j->ctx, j->actor, "archive.create", j->mb->address, j->mb->tenant_id, NULL, detail, &e2);
}

/* Delete-after, once the archive is stored and recorded: the file read
 * back once more, then exactly its UIDs expunged; the outcome recorded
 * and audited.  A failure leaves the archive stored and says so. */
int ers_archive_finish_delete(struct ers_archive_job *j, struct ers_error *err)
{
	char back[65];
	long long expunged = 0;
	struct ers_error xerr;
	int xrc = ers_archive_file_sha256(j->path, back, NULL, &xerr);
	if (xrc == 0 && strcmp(back, j->sha)) {
		ers_error_set(&xerr, ERS_E_IO, "the stored archive %s no longer has SHA-256 %s", j->path, j->sha);
		xrc = -1;
	}
	if (xrc == 0 && !j->im)
		xrc = imap_open_as(j->ctx->cfg, j->mb->address, &j->im, &xerr);
	if (xrc == 0)
		xrc = expunge(j, &expunged, &xerr);
	struct ers_num id = ers_num(j->id), ex = ers_num(expunged);
	const char *ep[] = { id.s, ex.s, xrc == 0 ? NULL : xerr.message };
	struct ers_error e2;
	if (ers_db_begin(j->ctx, &e2) == 0) {
		if (ers_db_run(j->ctx, "UPDATE ers.archive SET expunged = expunged + $2::bigint, error = $3::text,"
				       " state = CASE WHEN $3::text IS NULL THEN 'expunged' ELSE 'failed' END WHERE id = $1::bigint",
			       3, ep, &e2) < 0) {
			ers_db_rollback(j->ctx);
		} else {
			char d2[1200];
			if (xrc == 0)
				snprintf(d2, sizeof d2, "archive %lld: expunged %lld messages", j->id, expunged);
			else
				snprintf(d2, sizeof d2, "archive %lld: delete-after failed after %lld expunged: %s", j->id, expunged,
					 xerr.message);
			ers_db_commit_audited(j->ctx, j->actor, "archive.expunge", j->mb->address, j->mb->tenant_id, NULL, d2,
					      &e2);
		}
	}
	if (xrc < 0) {
		*err = xerr;
		ers_error_prefix(err, "archive %lld is stored, but its messages were not deleted", j->id);
		return -1;
	}
	return 0;
}

/* One mailbox's job, from its row to its end. */
int ers_archive_run_job(struct ers_archive_job *j, struct ers_archive **a_r, struct ers_error *err)
{
	*a_r = NULL;
	struct ers_archive_key k = { 0 };
	long long key_mailbox = !strcmp(j->kind, "personal") ? j->mb->id : 0;
	if (ers_archive_key_get(j->ctx, j->mb->tenant_id, key_mailbox, key_mailbox ? j->mb->address : j->mb->tenant, &k, err) < 0)
		return -1;
	/* The row first: whatever happens next leaves a record. */
	struct ers_buf arr = ERS_BUF_INIT;
	ers_buf_addch(&arr, '{');
	for (size_t i = 0; i < j->nfolders; i++) {
		if (i)
			ers_buf_addch(&arr, ',');
		ers_buf_addch(&arr, '"');
		for (const char *p = j->folders[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				ers_buf_addch(&arr, '\\');
			ers_buf_addch(&arr, *p);
		}
		ers_buf_addch(&arr, '"');
	}
	ers_buf_addch(&arr, '}');
	struct ers_num tid = ers_num(j->mb->tenant_id), mid = ers_num(j->mb->id), days = ers_num(j->days),
		       kid = ers_num(k.id);
	const char *params[] = { tid.s, mid.s, j->mb->address, j->mb->role, j->kind, kid.s, j->actor->name, arr.data,
				 days.s, j->format, j->delete_after ? "t" : "f", j->run_id, j->dest ? j->dest->name : "local" };
	PGresult *res = ers_db_exec(j->ctx, "INSERT INTO ers.archive (tenant_id, mailbox_id, address, owner_role, kind, key_id,"
				    " created_by, folders, older_than_days, cutoff, format, delete_after, state, run_id, destination)"
				    " VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6::bigint, $7, $8::text[], $9::int,"
				    " now() - make_interval(days => $9::int), $10, $11::bool, 'running', $12, $13) RETURNING id",
				    13, params, err);
	ers_buf_free(&arr);
	if (!res) {
		ers_archive_key_clear(&k);
		return -1;
	}
	j->id = ers_db_ll(res, 0, 0);
	PQclear(res);
	ers_archive_job_lock(j->ctx, j->id, true);

	int rc = -1;
	if (imap_open_as(j->ctx->cfg, j->mb->address, &j->im, err) < 0 || collect(j, err) < 0 ||
	    write_archive(j, &k, err) < 0) {
		record_failure(j, err);
		goto out;
	}
	/* A remote destination: uploaded and read back before it counts as
	 * stored (a failure fails the job: nothing is deleted). */
	char *remote_url = NULL;
	if (j->dest) {
		const char *slash = strrchr(j->path, '/');
		if (ers_archive_remote_put(j->ctx, j->dest, j->path, slash ? slash + 1 : j->path, j->sha, j->bytes, &remote_url,
					   err) < 0) {
			unlink(j->path);
			record_failure(j, err);
			goto out;
		}
	}
	/* Stored and verified: recorded with its UIDs, in one transaction. */
	struct ers_num id = ers_num(j->id), msgs = ers_num(j->messages), pb = ers_num(j->plain_bytes), by = ers_num(j->bytes);
	const char *up[] = { id.s, msgs.s, pb.s, by.s, j->sha, j->path, remote_url };
	struct ers_buf rows = ERS_BUF_INIT;
	uid_rows(j, &rows);
	char detail[900];
	snprintf(detail, sizeof detail, "archive %lld: %lld messages, %lld bytes, %s, %s key, SHA-256 %s%s%s", j->id,
		 j->messages, j->bytes, j->format, j->kind, j->sha, remote_url ? ", uploaded to " : "",
		 remote_url ? remote_url : "");
	bool unrecorded = ers_db_begin(j->ctx, err) < 0 ||
	    ers_db_run(j->ctx, "UPDATE ers.archive SET state = 'stored', messages = $2::bigint, plain_bytes = $3::bigint,"
				" bytes = $4::bigint, sha256 = $5, path = $6, remote_url = $7, finished_at = now() WHERE id = $1::bigint",
		       7, up, err) < 0 ||
	    (rows.len && ers_db_copy_in(j->ctx, "COPY ers.archive_message (archive_id, folder, uidvalidity, uid) FROM STDIN",
					"archive_message", &rows, err) < 0);
	free(remote_url);
	if (unrecorded) {
		ers_db_rollback(j->ctx);
		ers_buf_free(&rows);
		unlink(j->path);
		record_failure(j, err);
		goto out;
	}
	ers_buf_free(&rows);
	if (ers_db_commit_audited(j->ctx, j->actor, "archive.create", j->mb->address, j->mb->tenant_id, NULL, detail, err) < 0) {
		unlink(j->path);
		record_failure(j, err);
		goto out;
	}
	if (j->delete_after && ers_archive_finish_delete(j, err) < 0)
		goto out;
	rc = 0;
out:
	{
		struct ers_error lerr;
		if (ers_archive_load_plain(j->ctx, j->id, a_r, &lerr) < 0)
			*a_r = NULL;
	}
	ers_imap_close(j->im);
	j->im = NULL;
	ers_archive_job_free_folders(j);
	free(j->path);
	j->path = NULL;
	ers_archive_key_clear(&k);
	ers_archive_job_lock(j->ctx, j->id, false);
	return rc;
}
