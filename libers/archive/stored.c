/* What is done with a stored archive: verified (read back for its
 * SHA-256), downloaded (decrypted for who may), deleted. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

int ers_archive_verify(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		       struct ers_error *err)
{
	if (ers_archive_load_for(ctx, actor, ERS_ACT_ARCHIVE_VIEW, id, a_r, NULL, err) < 0)
		return -1;
	struct ers_archive *a = *a_r;
	if (!a->path || !a->sha256) {
		ers_error_set(err, ERS_E_INVALID, "archive %lld is %s: nothing stored to verify", id, a->state);
		return -1;
	}
	char back[65];
	long long size;
	if (ers_archive_file_sha256(a->path, back, &size, err) < 0)
		return -1;
	if (strcmp(back, a->sha256) || size != a->bytes) {
		ers_error_set(err, ERS_E_IO, "archive %lld is damaged: %s has SHA-256 %s (%lld bytes), recorded %s (%lld bytes)",
			      id, a->path, back, size, a->sha256, a->bytes);
		return -1;
	}
	if (!a->remote_url)
		return 0;
	/* Uploaded: the destination's copy is read back too. */
	struct ers_archive_dest d = { 0 };
	int f = ers_archive_dest_find(ctx, a->tenant_id, a->destination, &d, err);
	if (f == 0)
		ers_error_set(err, ERS_E_NOTFOUND, "archive %lld was uploaded to destination %s, which the tenant no longer has",
			      id, a->destination);
	int rc = f == 1 ? ers_archive_remote_sha256(ctx, &d, a->remote_url, back, &size, err) : -1;
	ers_archive_dest_clear(&d);
	if (rc == 0 && (strcmp(back, a->sha256) || size != a->bytes)) {
		ers_error_set(err, ERS_E_IO, "archive %lld is damaged at its destination: %s has SHA-256 %s (%lld bytes), "
			      "recorded %s (%lld bytes)", id, a->remote_url, back, size, a->sha256, a->bytes);
		rc = -1;
	}
	return rc;
}

int ers_archive_download(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, const char *out_path,
			 struct ers_error *err)
{
	struct ers_archive *a;
	if (ers_archive_load_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, id, &a, NULL, err) < 0)
		return -1;
	int rc = -1, in = -1;
	struct ers_archive_key k = { 0 };
	struct ers_gpg *g = NULL;
	struct ers_buf secret = ERS_BUF_INIT, tmp = ERS_BUF_INIT;
	struct ers_archive_out o = { .fd = -1 };
	long long mailbox_id;
	if (!a->path) {
		ers_error_set(err, ERS_E_INVALID, "archive %lld is %s: nothing stored to download", id, a->state);
		goto out;
	}
	if (ers_archive_key_of(ctx, a, &mailbox_id, &k, err) < 0)
		goto out;
	in = open(a->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read archive %lld at %s: %s", id, a->path, strerror(errno));
		goto out;
	}
	ers_buf_addf(&tmp, "%s.tmp.XXXXXX", out_path);
	o.fd = mkostemp(tmp.data, O_CLOEXEC);
	if (o.fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", out_path, strerror(errno));
		ers_buf_reset(&tmp);
		goto out;
	}
	fchmod(o.fd, 0600);
	if (ers_archive_key_open_secret(ctx, a->tenant_id, mailbox_id, &k, &g, &secret, err) < 0)
		goto out;
	if (ers_gpg_decrypt(g, ers_archive_fd_read, &in, ers_archive_out_write, &o, err) < 0) {
		if (o.error)
			ers_error_set(err, ERS_E_IO, "writing %s: %s", out_path, strerror(o.error));
		goto out;
	}
	if (ers_archive_out_finish(&o, &tmp, out_path, "the download", err) < 0)
		goto out;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	char detail[200];
	snprintf(detail, sizeof detail, "archive %lld decrypted (%lld bytes, %s)", id, o.bytes, a->format);
	if (ers_db_commit_audited(ctx, actor, "archive.download", a->address, a->tenant_id, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (o.fd >= 0)
		close(o.fd);
	if (tmp.len)
		unlink(tmp.data);
	ers_gpg_close(g);
	ers_buf_free_secret(&secret);
	ers_buf_free(&tmp);
	ers_archive_key_clear(&k);
	ers_archive_free(a);
	return rc;
}

int ers_archive_delete(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_archive *a;
	if (ers_archive_load_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, id, &a, NULL, err) < 0)
		return -1;
	int rc = -1;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	char detail[200];
	snprintf(detail, sizeof detail, "archive %lld (%s, %lld messages) deleted", id, a->state, a->messages);
	if (a->path && unlink(a->path) < 0 && errno != ENOENT) {
		ers_error_set(err, ERS_E_IO, "cannot remove archive %lld at %s: %s", id, a->path, strerror(errno));
		goto out;
	}
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_db_run(ctx, "DELETE FROM ers.archive WHERE id = $1::bigint", 1, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, actor, "archive.delete", a->address, a->tenant_id, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	ers_archive_free(a);
	return rc;
}
