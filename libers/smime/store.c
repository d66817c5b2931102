/* S/MIME identities and recipient certificates in the database: saved
 * after every check of cert.c, the key and its passphrase sealed under the
 * master key, one audit row per change, under the policy's ERS_ACT_SMIME_*
 * actions.  Nothing read back here leaves the library but certificate
 * metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "smime/internal.h"

static void seal_context(char *dst, size_t cap, const char *what, const char *address)
{
	snprintf(dst, cap, "smime-%s:%s", what, address);
}

static int no_master_key(struct ers_ctx *ctx, struct ers_error *err)
{
	if (ctx->cfg->secrets.master_key)
		return 0;
	ers_error_set(err, ERS_E_CONFIG, ERS_SMIME_MSG_NO_MASTER_KEY
		      ": the administrator must set SMIME_MASTER_KEY in the root-owned secrets file (%s; make one with: openssl rand -hex 32); until then S/MIME identities cannot be saved or used",
		      ctx->cfg->secrets_file ? ctx->cfg->secrets_file : ERS_SECRETS_DEFAULT_PATH);
	return -1;
}

/* ---- identities ------------------------------------------------------------ */

#define IDENTITY_COLUMNS "cert_pem, passphrase_sealed IS NOT NULL, " ERS_SQL_TIME("updated_at") ", updated_by"

static void identity_fill(struct ers_smime_identity *id, const struct ers_mailbox_ref *u, const PGresult *res)
{
	memset(id, 0, sizeof *id);
	snprintf(id->address, sizeof id->address, "%s", u->address);
	if (!res || PQntuples(res) == 0)
		return;
	BIO *b = BIO_new_mem_buf(ers_db_str(res, 0, 0), -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!x)
		return;
	id->configured = true;
	ers_smime_cert_info_fill(x, &id->cert);
	X509_free(x);
	id->has_passphrase = ers_db_str(res, 0, 1)[0] == 't';
	ers_db_time(id->updated_at, res, 0, 2);
	snprintf(id->updated_by, sizeof id->updated_by, "%s", ers_db_str(res, 0, 3));
	time_t now = time(NULL);
	id->expired = now > id->cert.not_after_t;
	id->not_yet_valid = now < id->cert.not_before_t;
	id->expires_soon = !id->expired && id->cert.not_after_t - now < ERS_SMIME_EXPIRES_SOON_DAYS * 86400;
}

int ers_smime_identity_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			   const char *cert_pem, const char *key_pem, const char *passphrase,
			   struct ers_smime_identity *identity_r, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	struct ers_smime_cert_info info;
	struct ers_buf pem = ERS_BUF_INIT, key_sealed = ERS_BUF_INIT, pass_sealed = ERS_BUF_INIT;
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_MANAGE, true, NULL, &u, NULL, err) < 0)
		return -1; /* rolled back */
	if (no_master_key(ctx, err) < 0 ||
	    ers_smime_check_identity(cert_pem, key_pem, passphrase, u.address, time(NULL), &info, err) < 0)
		goto rollback;
	X509 *x = ers_smime_parse_cert(cert_pem, "Certificate PEM", err);
	if (!x || ers_smime_cert_pem(x, &pem) < 0) {
		X509_free(x);
		if (x)
			ers_error_set(err, ERS_E_INTERNAL, "the certificate could not be written as PEM");
		goto rollback;
	}
	X509_free(x);
	char context[400];
	seal_context(context, sizeof context, "key", u.address);
	if (ers_seal(&ctx->cfg->secrets, context, key_pem, strlen(key_pem), &key_sealed, err) < 0)
		goto rollback;
	bool has_pass = passphrase && *passphrase;
	if (has_pass) {
		seal_context(context, sizeof context, "passphrase", u.address);
		if (ers_seal(&ctx->cfg->secrets, context, passphrase, strlen(passphrase), &pass_sealed, err) < 0)
			goto rollback;
	}
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s, pem.data, key_sealed.data, has_pass ? pass_sealed.data : NULL, info.subject,
				 info.issuer, info.serial, info.not_before, info.not_after, info.fingerprint,
				 actor->name };
	if (ers_db_run(ctx,
		       "INSERT INTO ers.smime_identity (mailbox_id, cert_pem, key_sealed, passphrase_sealed, subject, issuer,"
		       " serial, not_before, not_after, fingerprint, updated_by)"
		       " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10, $11)"
		       " ON CONFLICT (mailbox_id) DO UPDATE SET cert_pem = $2, key_sealed = $3, passphrase_sealed = $4,"
		       " subject = $5, issuer = $6, serial = $7, not_before = $8::timestamptz, not_after = $9::timestamptz,"
		       " fingerprint = $10, updated_by = $11, updated_at = now()",
		       11, params, err) < 0)
		goto rollback;
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_addf(&detail, "S/MIME identity saved: %s, issued by %s, valid until %s, SHA-256 %s%s",
		     info.subject, info.issuer, info.not_after, info.fingerprint, has_pass ? ", key with a passphrase" : "");
	int crc = ers_db_commit_audited(ctx, actor, "smime.identity_set", u.address, u.tenant_id, u.tenant, detail.data, err);
	ers_buf_free(&detail);
	if (crc < 0)
		goto out;
	if (identity_r) {
		memset(identity_r, 0, sizeof *identity_r);
		snprintf(identity_r->address, sizeof identity_r->address, "%s", u.address);
		identity_r->configured = true;
		identity_r->cert = info;
		identity_r->has_passphrase = has_pass;
		time_t now = time(NULL);
		identity_r->expires_soon = info.not_after_t - now < ERS_SMIME_EXPIRES_SOON_DAYS * 86400;
		snprintf(identity_r->updated_by, sizeof identity_r->updated_by, "%s", actor->name);
	}
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free(&pem);
	ers_buf_free(&key_sealed);
	ers_buf_free(&pass_sealed);
	return rc;
}

int ers_smime_identity_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			    struct ers_smime_identity *identity_r, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_VIEW, false, NULL, &u, NULL, err) < 0)
		return -1;
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " IDENTITY_COLUMNS " FROM ers.smime_identity WHERE mailbox_id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	identity_fill(identity_r, &u, res);
	PQclear(res);
	return 0;
}

int ers_smime_identity_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			      bool *removed_r, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	if (removed_r)
		*removed_r = false;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_MANAGE, true, NULL, &u, NULL, err) < 0)
		return -1;
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "DELETE FROM ers.smime_identity WHERE mailbox_id = $1::bigint RETURNING fingerprint",
				    1, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	if (PQntuples(res) == 0) { /* nothing to remove: no change, no audit row */
		PQclear(res);
		ers_db_rollback(ctx);
		return 0;
	}
	char detail[300];
	snprintf(detail, sizeof detail, "S/MIME identity removed (certificate SHA-256 %s); its sealed key is deleted",
		 ers_db_str(res, 0, 0));
	PQclear(res);
	if (ers_db_commit_audited(ctx, actor, "smime.identity_remove", u.address, u.tenant_id, u.tenant, detail, err) < 0)
		return -1;
	if (removed_r)
		*removed_r = true;
	return 0;
}

int ers_smime_load_identity(struct ers_ctx *ctx, const struct ers_mailbox_ref *u, X509 **cert_r,
			    EVP_PKEY **key_r, struct ers_error *err)
{
	*cert_r = NULL;
	*key_r = NULL;
	struct ers_num id = ers_num(u->id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT cert_pem, key_sealed, passphrase_sealed FROM ers.smime_identity"
				    " WHERE mailbox_id = $1::bigint", 1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_CONFLICT, ERS_SMIME_MSG_NOT_CONFIGURED
			      " for %s: save a certificate and its private key in S/MIME Settings first", u->address);
		return -1;
	}
	if (no_master_key(ctx, err) < 0) {
		PQclear(res);
		return -1;
	}
	struct ers_buf key = ERS_BUF_INIT, pass = ERS_BUF_INIT;
	char context[400];
	int rc = -1;
	seal_context(context, sizeof context, "key", u->address);
	if (ers_unseal(&ctx->cfg->secrets, context, ers_db_str(res, 0, 1), &key, err) < 0)
		goto out;
	if (!ers_db_isnull(res, 0, 2)) {
		seal_context(context, sizeof context, "passphrase", u->address);
		if (ers_unseal(&ctx->cfg->secrets, context, ers_db_str(res, 0, 2), &pass, err) < 0)
			goto out;
	}
	BIO *b = BIO_new_mem_buf(ers_db_str(res, 0, 0), -1);
	*cert_r = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	*key_r = ers_smime_parse_key(key.data, pass.len ? pass.data : NULL, err);
	if (!*cert_r || !*key_r) {
		if (*key_r)
			ers_error_set(err, ERS_E_INTERNAL, "the stored S/MIME certificate of %s cannot be read", u->address);
		else
			ers_error_prefix(err, "the stored S/MIME key of %s", u->address);
		X509_free(*cert_r);
		EVP_PKEY_free(*key_r);
		*cert_r = NULL;
		*key_r = NULL;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	PQclear(res);
	ers_buf_free_secret(&key);
	ers_buf_free_secret(&pass);
	return rc;
}

int ers_smime_server_status(struct ers_ctx *ctx, const struct ers_actor *actor,
			    struct ers_smime_server_status *st, struct ers_error *err)
{
	memset(st, 0, sizeof *st);
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_SMIME_VIEW, NULL, "S/MIME identities", &sc, err) < 0)
		return -1;
	st->master_key = ctx->cfg->secrets.master_key != NULL;
	if (st->master_key) {
		if (ers_seal_key_id(&ctx->cfg->secrets, st->master_key_id, err) < 0)
			return -1;
		snprintf(st->master_key_source, sizeof st->master_key_source, "%s", ctx->cfg->secrets.master_key_source);
	}
	char why[200] = "";
	st->runtime = ers_smime_runtime_ok(why, sizeof why);
	snprintf(st->runtime_version, sizeof st->runtime_version, "%s", st->runtime ? OpenSSL_version(OPENSSL_VERSION) : why);
	struct ers_num tenant = ers_num(sc.tenant_id), self = ers_num(sc.self_only ? actor->user_id : 0),
		       days = ers_num(ERS_SMIME_EXPIRES_SOON_DAYS);
	const char *params[] = { tenant.s, self.s, sc.regular_only ? "t" : "f", days.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT (SELECT count(*) FROM ers.smime_identity i JOIN ers.mailbox m ON m.id = i.mailbox_id WHERE " 
		"  ($1::bigint = 0 OR m.tenant_id = $1::bigint) AND ($2::bigint = 0 OR m.id = $2::bigint) AND (NOT $3::bool OR m.role = 'user')),"
		" (SELECT count(*) FROM ers.smime_identity i JOIN ers.mailbox m ON m.id = i.mailbox_id WHERE"
		"  ($1::bigint = 0 OR m.tenant_id = $1::bigint) AND ($2::bigint = 0 OR m.id = $2::bigint) AND (NOT $3::bool OR m.role = 'user')"
		"  AND i.not_after < now() + make_interval(days => $4::int)),"
		" (SELECT count(*) FROM ers.smime_recipient_cert r JOIN ers.mailbox m ON m.id = r.mailbox_id WHERE"
		"  ($1::bigint = 0 OR m.tenant_id = $1::bigint) AND ($2::bigint = 0 OR m.id = $2::bigint) AND (NOT $3::bool OR m.role = 'user'))",
		4, params, err);
	if (!res)
		return -1;
	st->identities = ers_db_ll(res, 0, 0);
	st->expiring = ers_db_ll(res, 0, 1);
	st->recipient_certs = ers_db_ll(res, 0, 2);
	PQclear(res);
	return 0;
}

/* ---- recipient certificates ------------------------------------------------ */

static int recipient_address(const char *input, struct ers_buf *out, struct ers_error *err)
{
	const char *s = input ? input : "";
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!ers_smime_address_normalize(s, n, out)) {
		ers_error_set(err, ERS_E_INVALID, "the recipient address must be an email address (local@domain, at most 64 characters before the @), got \"%.*s\"",
			      (int)(n > 100 ? 100 : n), s);
		return -1;
	}
	return 0;
}

int ers_smime_recipient_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			    const char *address, const char *cert_pem, struct ers_smime_recipient *rec_r,
			    struct ers_error *err)
{
	struct ers_mailbox_ref u;
	struct ers_smime_cert_info info;
	struct ers_buf addr = ERS_BUF_INIT, pem = ERS_BUF_INIT;
	int rc = -1;
	if (recipient_address(address, &addr, err) < 0)
		return -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_mailbox_for(ctx, actor, owner, ERS_ACT_SMIME_MANAGE, true, NULL, &u, NULL, err) < 0)
		goto out;
	if (ers_smime_check_recipient(cert_pem, addr.data, time(NULL), &info, err) < 0)
		goto rollback;
	X509 *x = ers_smime_parse_cert(cert_pem, "the recipient certificate", err);
	int w = x ? ers_smime_cert_pem(x, &pem) : -1;
	X509_free(x);
	if (w < 0) {
		if (x)
			ers_error_set(err, ERS_E_INTERNAL, "the certificate could not be written as PEM");
		goto rollback;
	}
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s, addr.data, pem.data, info.fingerprint, info.not_after };
	if (ers_db_run(ctx,
		       "INSERT INTO ers.smime_recipient_cert (mailbox_id, address, cert_pem, fingerprint, not_after)"
		       " VALUES ($1::bigint, $2, $3, $4, $5::timestamptz) ON CONFLICT (mailbox_id, address) DO UPDATE"
		       " SET cert_pem = $3, fingerprint = $4, not_after = $5::timestamptz, created_at = now()",
		       5, params, err) < 0)
		goto rollback;
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_addf(&detail, "recipient certificate for %s saved: %s, valid until %s, SHA-256 %s", addr.data,
		     info.subject, info.not_after, info.fingerprint);
	int crc = ers_db_commit_audited(ctx, actor, "smime.cert_add", u.address, u.tenant_id, u.tenant, detail.data, err);
	ers_buf_free(&detail);
	if (crc < 0)
		goto out;
	if (rec_r) {
		memset(rec_r, 0, sizeof *rec_r);
		snprintf(rec_r->address, sizeof rec_r->address, "%s", addr.data);
		rec_r->cert = info;
	}
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free(&addr);
	ers_buf_free(&pem);
	return rc;
}

int ers_smime_recipient_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			     struct ers_smime_recipient_list **list_r, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	if (ers_mailbox_for(ctx, actor, owner, ERS_ACT_SMIME_VIEW, false, NULL, &u, NULL, err) < 0)
		return -1;
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT address, cert_pem, " ERS_SQL_TIME("created_at")
				    " FROM ers.smime_recipient_cert WHERE mailbox_id = $1::bigint ORDER BY address",
				    1, params, err);
	if (!res)
		return -1;
	struct ers_smime_recipient_list *l = ers_xcalloc(1, sizeof *l);
	int n = PQntuples(res);
	l->items = ers_xcalloc((size_t)n + 1, sizeof *l->items);
	time_t now = time(NULL);
	for (int i = 0; i < n; i++) {
		struct ers_smime_recipient *r = &l->items[l->count];
		BIO *b = BIO_new_mem_buf(ers_db_str(res, i, 1), -1);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!x)
			continue;
		ers_smime_cert_info_fill(x, &r->cert);
		X509_free(x);
		snprintf(r->address, sizeof r->address, "%s", ers_db_str(res, i, 0));
		ers_db_time(r->created_at, res, i, 2);
		r->expired = now > r->cert.not_after_t || now < r->cert.not_before_t;
		l->count++;
	}
	ERR_clear_error();
	PQclear(res);
	*list_r = l;
	return 0;
}

void ers_smime_recipient_list_free(struct ers_smime_recipient_list *l)
{
	if (!l)
		return;
	free(l->items);
	free(l);
}

int ers_smime_recipient_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			       const char *address, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	struct ers_buf addr = ERS_BUF_INIT;
	int rc = -1;
	if (recipient_address(address, &addr, err) < 0)
		return -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_mailbox_for(ctx, actor, owner, ERS_ACT_SMIME_MANAGE, true, NULL, &u, NULL, err) < 0)
		goto out;
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s, addr.data };
	PGresult *res = ers_db_exec(ctx, "DELETE FROM ers.smime_recipient_cert WHERE mailbox_id = $1::bigint AND address = $2"
				    " RETURNING fingerprint", 2, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_db_rollback(ctx);
		ers_error_set(err, ERS_E_NOTFOUND, "%s has no recipient certificate for %s (see: ersctl smime cert list %s)",
			      u.address, addr.data, u.address);
		goto out;
	}
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_addf(&detail, "recipient certificate for %s removed (SHA-256 %s)", addr.data, ers_db_str(res, 0, 0));
	PQclear(res);
	rc = ers_db_commit_audited(ctx, actor, "smime.cert_remove", u.address, u.tenant_id, u.tenant, detail.data, err);
	ers_buf_free(&detail);
out:
	ers_buf_free(&addr);
	return rc;
}

int ers_smime_load_recipient(struct ers_ctx *ctx, long long owner_id, const char *address, X509 **cert_r,
			     struct ers_error *err)
{
	*cert_r = NULL;
	struct ers_num id = ers_num(owner_id);
	const char *params[] = { id.s, address };
	PGresult *res = ers_db_exec(ctx, "SELECT cert_pem FROM ers.smime_recipient_cert WHERE mailbox_id = $1::bigint AND address = $2",
				    2, params, err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		BIO *b = BIO_new_mem_buf(ers_db_str(res, 0, 0), -1);
		*cert_r = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		ERR_clear_error();
	}
	PQclear(res);
	return 0;
}
