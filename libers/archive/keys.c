/* The archive keys: one OpenPGP key per user and one per tenant, made on
 * first use, the secret half sealed under the master key; exported only
 * to its owner, encrypted with a passphrase the owner gives. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

void ers_archive_key_clear(struct ers_archive_key *k)
{
	free(k->fpr);
	free(k->public_key);
	free(k->secret_sealed);
	memset(k, 0, sizeof *k);
}

static void key_context(struct ers_buf *b, long long tenant_id, long long mailbox_id)
{
	ers_buf_reset(b);
	ers_buf_addf(b, "archive-key:%lld:%lld", tenant_id, mailbox_id);
}

int ers_archive_key_find(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, struct ers_archive_key *k, struct ers_error *err)
{
	struct ers_num t = ers_num(tenant_id), m = ers_num(mailbox_id);
	const char *params[] = { t.s, mailbox_id ? m.s : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT id, fingerprint, public_key, secret_sealed FROM ers.archive_key"
				    " WHERE tenant_id = $1::bigint AND mailbox_id IS NOT DISTINCT FROM $2::bigint", 2, params,
				    err);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0;
	if (found) {
		k->id = ers_db_ll(res, 0, 0);
		k->fpr = ers_xstrdup(ers_db_str(res, 0, 1));
		k->public_key = ers_xstrdup(ers_db_str(res, 0, 2));
		k->secret_sealed = ers_xstrdup(ers_db_str(res, 0, 3));
	}
	PQclear(res);
	return found;
}

/* The archive key of a mailbox (mailbox_id > 0) or of a tenant, made on
 * first use: generated in a throwaway home, the secret half sealed. */
int ers_archive_key_get(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, const char *label, struct ers_archive_key *k,
		   struct ers_error *err)
{
	int f = ers_archive_key_find(ctx, tenant_id, mailbox_id, k, err);
	if (f != 0)
		return f < 0 ? -1 : 0;
	struct ers_gpg *g;
	if (ers_gpg_open(&g, err) < 0)
		return -1;
	struct ers_buf fpr = ERS_BUF_INIT, pub = ERS_BUF_INIT, sec = ERS_BUF_INIT, sealed = ERS_BUF_INIT,
		       uid = ERS_BUF_INIT, context = ERS_BUF_INIT;
	ers_buf_grow(&sec, 16384);
	ers_buf_addf(&uid, "ERS archive key (%s) <archive@ers.invalid>", label);
	key_context(&context, tenant_id, mailbox_id);
	int rc = ers_gpg_generate(g, uid.data, &fpr, &pub, &sec, err);
	ers_gpg_close(g);
	if (rc == 0)
		rc = ers_seal(&ctx->cfg->secrets, context.data, sec.data, sec.len, &sealed, err);
	if (rc == 0) {
		struct ers_num t = ers_num(tenant_id), m = ers_num(mailbox_id);
		const char *params[] = { t.s, mailbox_id ? m.s : NULL, fpr.data, pub.data, sealed.data };
		/* Two jobs at once: the first key stays, the other is dropped. */
		rc = ers_db_run(ctx, "INSERT INTO ers.archive_key (tenant_id, mailbox_id, fingerprint, public_key, secret_sealed)"
				     " VALUES ($1::bigint, $2::bigint, $3, $4, $5) ON CONFLICT DO NOTHING", 5, params, err);
	}
	ers_buf_free(&fpr);
	ers_buf_free(&pub);
	ers_buf_free_secret(&sec);
	ers_buf_free(&sealed);
	ers_buf_free(&uid);
	ers_buf_free(&context);
	if (rc < 0)
		return -1;
	f = ers_archive_key_find(ctx, tenant_id, mailbox_id, k, err);
	if (f == 0)
		ers_error_set(err, ERS_E_INTERNAL, "the archive key just stored is not there");
	return f == 1 ? 0 : -1;
}

/* A home holding the secret half of key `k` (tenant/mailbox as stored). */
int ers_archive_key_open_secret(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, const struct ers_archive_key *k,
			   struct ers_gpg **g_r, struct ers_buf *secret, struct ers_error *err)
{
	struct ers_buf context = ERS_BUF_INIT;
	key_context(&context, tenant_id, mailbox_id);
	int rc = ers_unseal(&ctx->cfg->secrets, context.data, k->secret_sealed, secret, err);
	ers_buf_free(&context);
	if (rc < 0)
		return -1;
	if (ers_gpg_open(g_r, err) < 0)
		return -1;
	if (ers_gpg_import(*g_r, secret->data, err) < 0) {
		ers_gpg_close(*g_r);
		*g_r = NULL;
		return -1;
	}
	return 0;
}

/* The key that encrypted archive `a` (found by its owner). */
int ers_archive_key_of(struct ers_ctx *ctx, const struct ers_archive *a, long long *mailbox_r, struct ers_archive_key *k,
		       struct ers_error *err)
{
	struct ers_num id = ers_num(a->id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT k.id, k.fingerprint, k.public_key, k.secret_sealed, coalesce(k.mailbox_id, 0)"
				    " FROM ers.archive a JOIN ers.archive_key k ON k.id = a.key_id WHERE a.id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "the key of archive %lld is gone (its user was deleted?)", a->id);
		return -1;
	}
	k->id = ers_db_ll(res, 0, 0);
	k->fpr = ers_xstrdup(ers_db_str(res, 0, 1));
	k->public_key = ers_xstrdup(ers_db_str(res, 0, 2));
	k->secret_sealed = ers_xstrdup(ers_db_str(res, 0, 3));
	*mailbox_r = ers_db_ll(res, 0, 4);
	PQclear(res);
	return 0;
}

int ers_archive_key_export(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *tenant,
			   const char *passphrase, const char *out_path, struct ers_error *err)
{
	if ((!address) == (!tenant)) {
		ers_error_set(err, ERS_E_USAGE, "name the key: a user's (EMAIL) or a tenant's (--tenant), not %s",
			      address ? "both" : "neither");
		return -1;
	}
	size_t plen = passphrase ? strlen(passphrase) : 0;
	if (plen < 12 || plen > 1024) {
		ers_error_set(err, ERS_E_INVALID, "the export passphrase must be 12..1024 bytes, got %zu", plen);
		return -1;
	}
	long long tid, mid = 0;
	const char *target = address;
	char *tname = NULL;
	if (address) {
		struct ers_mailbox_ref u;
		if (ers_mailbox_for(ctx, actor, address, ERS_ACT_ARCHIVE_DECRYPT, false, NULL, &u, NULL, err) < 0)
			return -1;
		tid = u.tenant_id;
		mid = u.id;
	} else {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, NULL, tenant, &tid, &tname, err) < 0)
			return -1;
		target = tname;
	}
	int rc = -1;
	struct ers_archive_key k = { 0 };
	struct ers_buf context = ERS_BUF_INIT, secret = ERS_BUF_INIT, tmp = ERS_BUF_INIT;
	struct ers_gpg *g = NULL;
	struct ers_archive_out o = { .fd = -1 };
	int f = ers_archive_key_find(ctx, tid, mid, &k, err);
	if (f <= 0) {
		if (f == 0)
			ers_error_set(err, ERS_E_NOTFOUND, "%s has no archive key yet: it is made with the first archive",
				      target);
		goto out;
	}
	key_context(&context, tid, mid);
	if (ers_unseal(&ctx->cfg->secrets, context.data, k.secret_sealed, &secret, err) < 0 || ers_gpg_open(&g, err) < 0)
		goto out;
	ers_buf_addf(&tmp, "%s.tmp.XXXXXX", out_path);
	o.fd = mkostemp(tmp.data, O_CLOEXEC);
	if (o.fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", out_path, strerror(errno));
		ers_buf_reset(&tmp);
		goto out;
	}
	fchmod(o.fd, 0600);
	if (ers_gpg_encrypt_symmetric(g, passphrase, secret.data, secret.len, ers_archive_out_write, &o, err) < 0)
		goto out;
	if (ers_archive_out_finish(&o, &tmp, out_path, "the key", err) < 0)
		goto out;
	char detail[200];
	snprintf(detail, sizeof detail, "archive key %s exported, passphrase-encrypted", k.fpr);
	if (ers_db_begin(ctx, err) < 0 ||
	    ers_db_commit_audited(ctx, actor, "archive.key_export", target, tid, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	if (o.fd >= 0)
		close(o.fd);
	if (tmp.len)
		unlink(tmp.data);
	ers_gpg_close(g);
	ers_buf_free_secret(&secret);
	ers_buf_free(&context);
	ers_buf_free(&tmp);
	ers_archive_key_clear(&k);
	free(tname);
	return rc;
}
