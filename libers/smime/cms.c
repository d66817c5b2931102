/* Signed and encrypted mail with OpenSSL's CMS, in-process: signing as
 * multipart/signed (detached, SHA-256), encryption as enveloped data
 * (AES-256-CBC) to every recipient and to the sender's own certificate so
 * that the Sent copy can be read, and the reverse for reading.
 *
 * The message is split into its header fields and body at the byte level
 * rather than re-written by GMime: what is signed must be exactly the bytes
 * that leave, so the entity (the Content-* fields and the body) is taken as
 * it is, with line ends made CRLF, and the other fields are kept as they are
 * above the new Content-Type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <gmime/gmime.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "smime/internal.h"

/* `in` with every line end CRLF (a bare LF or CR becomes CRLF). */
static void to_crlf(const char *in, size_t n, struct ers_buf *out)
{
	ers_buf_grow(out, n + n / 16 + 16);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r') {
			ers_buf_add(out, "\r\n", 2);
			if (i + 1 < n && in[i + 1] == '\n')
				i++;
		} else if (in[i] == '\n') {
			ers_buf_add(out, "\r\n", 2);
		} else {
			ers_buf_addch(out, in[i]);
		}
	}
}

static bool is_content_field(const char *line, size_t n)
{
	return (n >= 8 && !strncasecmp(line, "Content-", 8)) || (n >= 13 && !strncasecmp(line, "MIME-Version:", 13)) ||
	       (n >= 13 && !strncasecmp(line, "MIME-Version ", 13));
}

/* Splits a CRLF message into its other header fields (`outer`) and the
 * entity of its body (`entity`: the Content-* fields, a blank line, the
 * body).  A field's folded lines go with it. */
static void split_message(const struct ers_buf *msg, struct ers_buf *outer, struct ers_buf *entity)
{
	const char *p = msg->data, *end = msg->data + msg->len;
	bool content = false, has_type = false;
	struct ers_buf fields = ERS_BUF_INIT;
	while (p < end) {
		const char *eol = strstr(p, "\r\n");
		size_t n = eol ? (size_t)(eol - p) + 2 : (size_t)(end - p);
		if (n == 2 && eol == p) { /* the blank line */
			p += 2;
			break;
		}
		if (*p != ' ' && *p != '\t') {
			content = is_content_field(p, n);
			if (content && n >= 13 && !strncasecmp(p, "Content-Type:", 13))
				has_type = true;
			if (content && !strncasecmp(p, "MIME-Version", 12)) { /* the outer message gets its own */
				p += n;
				content = false;
				while (p < end && (*p == ' ' || *p == '\t')) { /* its folded lines too */
					const char *e2 = strstr(p, "\r\n");
					p = e2 ? e2 + 2 : end;
				}
				continue;
			}
		}
		ers_buf_add(content ? &fields : outer, p, n);
		p += n;
	}
	ers_buf_reset(entity);
	if (!has_type)
		ers_buf_adds(entity, "Content-Type: text/plain; charset=us-ascii\r\n");
	ers_buf_add(entity, fields.data, fields.len);
	ers_buf_adds(entity, "\r\n");
	ers_buf_add(entity, p, (size_t)(end - p));
	ers_buf_free(&fields);
}

static void bio_take(BIO *b, struct ers_buf *out)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	ers_buf_reset(out);
	to_crlf(p, (size_t)n, out);
}

static void ssl_error(struct ers_error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	ers_error_set(err, ERS_E_INTERNAL, "%s failed%s%s", what, buf[0] ? ": " : "", buf);
}

static int cms_sign(const struct ers_buf *entity, X509 *cert, EVP_PKEY *key, struct ers_buf *out, struct ers_error *err)
{
	unsigned flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	BIO *in = BIO_new_mem_buf(entity->data, (int)entity->len);
	BIO *again = BIO_new_mem_buf(entity->data, (int)entity->len);
	BIO *o = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	int rc = -1;
	if (!in || !again || !o || !cms || !CMS_add1_signer(cms, cert, key, EVP_sha256(), flags) ||
	    CMS_final(cms, in, NULL, flags) != 1 ||
	    SMIME_write_CMS(o, cms, again, (int)(CMS_DETACHED | CMS_BINARY | CMS_CRLFEOL | CMS_REUSE_DIGEST)) != 1) {
		ssl_error(err, "S/MIME signing");
	} else {
		bio_take(o, out);
		rc = 0;
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(again);
	BIO_free(o);
	return rc;
}

static int cms_encrypt(const struct ers_buf *entity, STACK_OF(X509) *to, struct ers_buf *out, struct ers_error *err)
{
	BIO *in = BIO_new_mem_buf(entity->data, (int)entity->len);
	BIO *o = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = in ? CMS_encrypt(to, in, EVP_aes_256_cbc(), CMS_BINARY) : NULL;
	int rc = -1;
	if (!o || !cms || SMIME_write_CMS(o, cms, NULL, CMS_CRLFEOL) != 1) {
		ssl_error(err, "S/MIME encryption");
	} else {
		bio_take(o, out);
		rc = 0;
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(o);
	return rc;
}

/* Loads the certificates of `rcpt` the user saved (the sender's own
 * address: its identity's certificate); the missing ones are listed. */
static int recipient_certs(struct ers_ctx *ctx, const struct ers_mailbox_ref *u, X509 *own,
			   const char *const *rcpt, size_t nrcpt, STACK_OF(X509) *to, struct ers_buf *missing,
			   struct ers_error *err)
{
	for (size_t i = 0; i < nrcpt; i++) {
		struct ers_buf a = ERS_BUF_INIT;
		if (!ers_smime_address_normalize(rcpt[i], strlen(rcpt[i]), &a)) {
			ers_buf_addf(missing, "%s%s", missing->len ? ", " : "", rcpt[i]);
			ers_buf_free(&a);
			continue;
		}
		X509 *x = NULL;
		if (own && !strcmp(a.data, u->address)) {
			ers_buf_free(&a);
			continue; /* the sender's own certificate is added below */
		}
		if (ers_smime_load_recipient(ctx, u->id, a.data, &x, err) < 0) {
			ers_buf_free(&a);
			return -1;
		}
		if (x) {
			struct ers_smime_cert_info ci;
			ers_smime_cert_info_fill(x, &ci);
			time_t now = time(NULL);
			if (now < ci.not_before_t || now > ci.not_after_t) {
				X509_free(x);
				x = NULL;
			}
		}
		if (x)
			sk_X509_push(to, x);
		else
			ers_buf_addf(missing, "%s%s", missing->len ? ", " : "", a.data);
		ers_buf_free(&a);
	}
	if (own) {
		X509_up_ref(own);
		sk_X509_push(to, own);
	}
	return 0;
}

int ers_smime_protect(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      const struct ers_smime_send *how, const char *mime, size_t len,
		      struct ers_buf *out, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	if (!how->sign && !how->encrypt) {
		ers_buf_reset(out);
		ers_buf_add(out, mime, len);
		return 0;
	}
	char why[200];
	if (!ers_smime_runtime_ok(why, sizeof why)) {
		ers_error_set(err, ERS_E_UNAVAILABLE, ERS_SMIME_MSG_NO_RUNTIME ": %s", why);
		return -1;
	}
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_USE, false, NULL, &u, NULL, err) < 0)
		return -1;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	STACK_OF(X509) *to = NULL;
	struct ers_buf msg = ERS_BUF_INIT, outer = ERS_BUF_INIT, entity = ERS_BUF_INIT, layer = ERS_BUF_INIT,
		       missing = ERS_BUF_INIT;
	int rc = -1;
	if (how->sign) {
		if (ers_smime_load_identity(ctx, &u, &cert, &key, err) < 0)
			goto out;
	} else {
		/* Encryption alone: the sender's certificate, when there is one, so
		 * that the Sent copy can be read. */
		EVP_PKEY *unused = NULL;
		struct ers_error ignored;
		if (ctx->cfg->secrets.master_key && ers_smime_load_identity(ctx, &u, &cert, &unused, &ignored) == 0)
			EVP_PKEY_free(unused);
	}
	if (cert) {
		struct ers_smime_cert_info ci;
		ers_smime_cert_info_fill(cert, &ci);
		time_t now = time(NULL);
		if (now < ci.not_before_t || now > ci.not_after_t) {
			ers_error_set(err, ERS_E_CONFLICT, ERS_SMIME_MSG_VALIDITY
				      ": the S/MIME certificate of %s is valid from %s until %s; replace it in S/MIME Settings",
				      u.address, ci.not_before, ci.not_after);
			goto out;
		}
		/* Encrypted mail goes to the sender too (the Sent copy): a
		 * certificate only for signing cannot take it. */
		if (how->encrypt && !ci.can_encrypt) {
			ers_error_set(err, ERS_E_CONFLICT,
				      "the S/MIME certificate of %s does not allow encryption (its key usage needs "
				      "keyEncipherment for RSA or keyAgreement for EC), so the Sent copy could not be read: "
				      "send without \"Encrypt with recipient certificate\", or save an identity whose "
				      "certificate allows encryption in S/MIME Settings", u.address);
			goto out;
		}
	}
	if (how->encrypt) {
		to = sk_X509_new_null();
		if (recipient_certs(ctx, &u, cert, how->rcpt, how->nrcpt, to, &missing, err) < 0)
			goto out;
		if (missing.len) {
			ers_error_set(err, ERS_E_CONFLICT, ERS_SMIME_MSG_ADD_RECIPIENT " (no valid certificate saved for %s)",
				      missing.data);
			goto out;
		}
		if (sk_X509_num(to) == 0) {
			ers_error_set(err, ERS_E_INVALID, "an encrypted message needs at least one recipient");
			goto out;
		}
	}
	to_crlf(mime, len, &msg);
	split_message(&msg, &outer, &entity);
	if (how->sign) {
		if (cms_sign(&entity, cert, key, &layer, err) < 0)
			goto out;
		ers_buf_reset(&entity);
		ers_buf_add(&entity, layer.data, layer.len);
	}
	if (how->encrypt) {
		if (cms_encrypt(&entity, to, &layer, err) < 0)
			goto out;
		ers_buf_reset(&entity);
		ers_buf_add(&entity, layer.data, layer.len);
	}
	ers_buf_reset(out);
	ers_buf_add(out, outer.data, outer.len);
	ers_buf_add(out, entity.data, entity.len);
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(to, X509_free);
	ers_buf_free(&msg);
	ers_buf_free(&outer);
	ers_buf_free(&entity);
	ers_buf_free(&layer);
	ers_buf_free(&missing);
	ERR_clear_error();
	return rc;
}

int ers_smime_send_hook(void *arg, struct ers_built_mail *m, struct ers_error *err)
{
	const struct ers_smime_hook *h = arg;
	if (!h || (!h->sign && !h->encrypt))
		return 0;
	struct ers_smime_send how = { .sign = h->sign, .encrypt = h->encrypt, .rcpt = (const char *const *)m->rcpt,
				      .nrcpt = m->nrcpt };
	struct ers_buf out = ERS_BUF_INIT;
	if (ers_smime_protect(h->ctx, h->actor, h->address, &how, m->data, m->len, &out, err) < 0) {
		ers_buf_free(&out);
		return -1;
	}
	free(m->data);
	m->len = out.len;
	m->data = ers_buf_detach(&out);
	return 0;
}

/* ---- the compose page's status lines ---------------------------------------- */

int ers_smime_compose_status(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			     const char *rcpt, struct ers_smime_compose_status *st, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	memset(st, 0, sizeof *st);
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_USE, false, NULL, &u, NULL, err) < 0)
		return -1;
	char why[200];
	bool runtime = ers_smime_runtime_ok(why, sizeof why);
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT cert_pem FROM ers.smime_identity WHERE mailbox_id = $1::bigint", 1, params, err);
	if (!res)
		return -1;
	bool have = PQntuples(res) > 0;
	struct ers_smime_cert_info ci = { 0 };
	if (have) {
		BIO *b = BIO_new_mem_buf(ers_db_str(res, 0, 0), -1);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (x)
			ers_smime_cert_info_fill(x, &ci);
		have = x != NULL;
		X509_free(x);
	}
	PQclear(res);
	time_t now = time(NULL);
	if (!ctx->cfg->secrets.master_key)
		snprintf(st->sign_line, sizeof st->sign_line, "%s", ERS_SMIME_MSG_NO_MASTER_KEY);
	else if (!have)
		snprintf(st->sign_line, sizeof st->sign_line, "%s", ERS_SMIME_MSG_NOT_CONFIGURED);
	else if (!runtime)
		snprintf(st->sign_line, sizeof st->sign_line, "%s", ERS_SMIME_MSG_NO_RUNTIME);
	else if (now < ci.not_before_t || now > ci.not_after_t)
		snprintf(st->sign_line, sizeof st->sign_line, "%s (valid from %s until %s)", ERS_SMIME_MSG_VALIDITY,
			 ci.not_before, ci.not_after);
	else if (!ci.can_sign)
		snprintf(st->sign_line, sizeof st->sign_line, "S/MIME certificate does not allow signing");
	else {
		st->can_sign = true;
		if (ci.not_after_t - now < ERS_SMIME_EXPIRES_SOON_DAYS * 86400L)
			snprintf(st->sign_line, sizeof st->sign_line, "S/MIME signing is available for %s. %s (on %s).",
				 u.address, ERS_SMIME_MSG_EXPIRES_SOON, ci.not_after);
		else
			snprintf(st->sign_line, sizeof st->sign_line, "S/MIME signing is available for %s.", u.address);
	}
	/* Encryption: a saved, valid certificate for every address typed. */
	if (!runtime) {
		snprintf(st->encrypt_line, sizeof st->encrypt_line, "S/MIME runtime is unavailable: %s", why);
		return 0;
	}
	ers_gmime_init();
	InternetAddressList *list = rcpt && *rcpt ? internet_address_list_parse(NULL, rcpt) : NULL;
	struct ers_buf ready = ERS_BUF_INIT, missing = ERS_BUF_INIT;
	int n = 0, rc = 0;
	for (int i = 0; list && i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		struct ers_buf a = ERS_BUF_INIT;
		n++;
		X509 *x = NULL;
		if (!addr || !ers_smime_address_normalize(addr, strlen(addr), &a)) {
			ers_buf_addf(&missing, "%s%s", missing.len ? ", " : "", addr ? addr : "?");
		} else if (!strcmp(a.data, u.address) && have) {
			ers_buf_addf(&ready, "%s%s", ready.len ? ", " : "", a.data);
		} else if ((rc = ers_smime_load_recipient(ctx, u.id, a.data, &x, err)) < 0) {
			ers_buf_free(&a);
			break;
		} else {
			struct ers_smime_cert_info rci;
			bool ok = false;
			if (x) {
				ers_smime_cert_info_fill(x, &rci);
				ok = now >= rci.not_before_t && now <= rci.not_after_t;
			}
			ers_buf_addf(ok ? &ready : &missing, "%s%s", (ok ? ready.len : missing.len) ? ", " : "", a.data);
			X509_free(x);
		}
		ers_buf_free(&a);
	}
	if (list)
		g_object_unref(list);
	if (rc == 0) {
		if (n == 0)
			snprintf(st->encrypt_line, sizeof st->encrypt_line,
				 "Enter the destination address in the To field to see whether it can be encrypted");
		else if (missing.len)
			snprintf(st->encrypt_line, sizeof st->encrypt_line, "%s (no certificate for %s)",
				 ERS_SMIME_MSG_ADD_RECIPIENT, missing.data);
		else {
			st->can_encrypt = true;
			snprintf(st->encrypt_line, sizeof st->encrypt_line, "%s %s", ERS_SMIME_MSG_ENCRYPTION_READY, ready.data);
		}
	}
	ers_buf_free(&ready);
	ers_buf_free(&missing);
	return rc;
}

/* ---- reading ------------------------------------------------------------------ */

/* The user's saved recipient certificates, for a signature whose signer
 * chains to no CA here. */
static STACK_OF(X509) *saved_certs(struct ers_ctx *ctx, long long owner_id)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	struct ers_num id = ers_num(owner_id);
	const char *params[] = { id.s };
	struct ers_error ignored;
	PGresult *res = ers_db_exec(ctx, "SELECT cert_pem FROM ers.smime_recipient_cert WHERE mailbox_id = $1::bigint",
				    1, params, &ignored);
	for (int i = 0; res && i < PQntuples(res); i++) {
		BIO *b = BIO_new_mem_buf(ers_db_str(res, i, 0), -1);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (x)
			sk_X509_push(s, x);
	}
	PQclear(res);
	ERR_clear_error();
	return s;
}

static void signer_info(CMS_ContentInfo *cms, struct ers_smime_read *st, X509 **signer_r)
{
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	if (signers && sk_X509_num(signers) > 0) {
		if (signer_r) {
			X509_free(*signer_r);
			*signer_r = sk_X509_value(signers, 0);
			X509_up_ref(*signer_r);
		}
		struct ers_smime_cert_info ci;
		ers_smime_cert_info_fill(sk_X509_value(signers, 0), &ci);
		snprintf(st->signer, sizeof st->signer, "%s", ci.emails[0] ? ci.emails : "(no address)");
		snprintf(st->signer_subject, sizeof st->signer_subject, "%s", ci.subject);
	}
	sk_X509_free(signers);
}

/* ers_smime_open, and the certificate of an intact signature's signer to
 * `signer_r` (may be NULL). */
static int open_message(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			const char *mime, size_t len, const char *ca_file, struct ers_buf *content_r,
			struct ers_smime_read *st, X509 **signer_r, struct ers_error *err)
{
	struct ers_mailbox_ref u;
	memset(st, 0, sizeof *st);
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_SMIME_USE, false, NULL, &u, NULL, err) < 0)
		return -1;
	struct ers_buf cur = ERS_BUF_INIT, outer = ERS_BUF_INIT, entity = ERS_BUF_INIT;
	to_crlf(mime, len, &cur);
	split_message(&cur, &outer, &entity);
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc = 0;
	/* An enveloped layer, a signed one, or both: at most three layers. */
	for (int depth = 0; depth < 3; depth++) {
		BIO *in = BIO_new_mem_buf(entity.data, (int)entity.len), *indata = NULL;
		CMS_ContentInfo *cms = in ? SMIME_read_CMS(in, &indata) : NULL;
		ERR_clear_error();
		if (!cms) {
			BIO_free(in);
			break;
		}
		int type = OBJ_obj2nid(CMS_get0_type(cms));
		BIO *o = BIO_new(BIO_s_mem());
		bool next = false;
		if (type == NID_pkcs7_enveloped || type == NID_id_smime_ct_authEnvelopedData) {
			st->was_encrypted = true;
			struct ers_error why;
			if (!key && ers_smime_load_identity(ctx, &u, &cert, &key, &why) < 0) {
				snprintf(st->why, sizeof st->why, "The message is encrypted, but it cannot be decrypted: %s", why.message);
			} else if (CMS_decrypt(cms, key, cert, NULL, o, 0) != 1) {
				snprintf(st->why, sizeof st->why,
					 "The message is encrypted, but not to your S/MIME certificate (%s): it cannot be decrypted",
					 u.address);
			} else {
				st->decrypted = true;
				next = true;
			}
		} else if (type == NID_pkcs7_signed) {
			st->was_signed = true;
			X509_STORE *store = X509_STORE_new();
			X509_STORE_set_default_paths(store);
			if (ca_file && *ca_file)
				X509_STORE_load_file(store, ca_file);
			STACK_OF(X509) *saved = saved_certs(ctx, u.id);
			for (int i = 0; i < sk_X509_num(saved); i++)
				X509_STORE_add_cert(store, sk_X509_value(saved, i));
			X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
			ERR_clear_error();
			/* The detached content, kept: a verification reads it up. */
			struct ers_buf content = ERS_BUF_INIT;
			if (indata) {
				char chunk[4096];
				int got;
				while ((got = BIO_read(indata, chunk, sizeof chunk)) > 0)
					ers_buf_add(&content, chunk, (size_t)got);
			}
			BIO *data = indata ? BIO_new_mem_buf(content.data, (int)content.len) : NULL;
			bool intact = false;
			if (CMS_verify(cms, saved, store, data, o, 0) == 1) {
				st->verified = true;
				next = true;
				intact = true;
			} else {
				unsigned long e = ERR_peek_last_error();
				char reason[200] = "";
				if (e)
					ERR_error_string_n(e, reason, sizeof reason);
				ERR_clear_error();
				BIO_reset(o);
				BIO_free(data);
				data = indata ? BIO_new_mem_buf(content.data, (int)content.len) : NULL;
				if (CMS_verify(cms, saved, store, data, o, CMS_NO_SIGNER_CERT_VERIFY) == 1) {
					snprintf(st->why, sizeof st->why,
						 "The signature is intact, but the signer's certificate is not trusted here (%s)", reason);
					next = true;
					intact = true;
				} else {
					snprintf(st->why, sizeof st->why, "The signature does not verify: the message was changed after it was signed, or the signature is damaged");
				}
			}
			signer_info(cms, st, intact ? signer_r : NULL);
			BIO_free(data);
			ers_buf_free(&content);
			sk_X509_pop_free(saved, X509_free);
			X509_STORE_free(store);
		} else {
			snprintf(st->why, sizeof st->why, "An S/MIME part of a kind this webmail does not open (%s)", OBJ_nid2sn(type));
		}
		if (next) {
			ers_buf_reset(&cur);
			char *p;
			long n = BIO_get_mem_data(o, &p);
			to_crlf(p, (size_t)n, &cur);
			ers_buf_reset(&entity);
			ers_buf_add(&entity, cur.data, cur.len);
		}
		BIO_free(o);
		BIO_free(indata);
		BIO_free(in);
		CMS_ContentInfo_free(cms);
		ERR_clear_error();
		if (!next)
			break;
	}
	ers_buf_reset(content_r);
	ers_buf_add(content_r, outer.data, outer.len);
	ers_buf_add(content_r, entity.data, entity.len);
	X509_free(cert);
	EVP_PKEY_free(key);
	ers_buf_free(&cur);
	ers_buf_free(&outer);
	ers_buf_free(&entity);
	return rc;
}

int ers_smime_open(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		   const char *mime, size_t len, const char *ca_file, struct ers_buf *content_r,
		   struct ers_smime_read *st, struct ers_error *err)
{
	return open_message(ctx, actor, address, mime, len, ca_file, content_r, st, NULL, err);
}

int ers_smime_save_signer(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			  const char *mime, size_t len, struct ers_smime_recipient *rec_r, struct ers_error *err)
{
	struct ers_buf content = ERS_BUF_INIT, pem = ERS_BUF_INIT;
	struct ers_smime_read st;
	X509 *signer = NULL;
	int rc = open_message(ctx, actor, address, mime, len, NULL, &content, &st, &signer, err);
	ers_buf_free(&content);
	if (rc < 0)
		return -1;
	if (!signer) {
		ers_error_set(err, ERS_E_INVALID, "%s", !st.was_signed ? "This message is not signed with S/MIME: there is no certificate to save"
			      : "The signature of this message does not verify: its certificate is not saved");
		return -1;
	}
	struct ers_smime_cert_info ci;
	ers_smime_cert_info_fill(signer, &ci);
	char first[320];
	snprintf(first, sizeof first, "%.*s", (int)strcspn(ci.emails, ","), ci.emails);
	rc = -1;
	if (!first[0])
		ers_error_set(err, ERS_E_INVALID, "The signer's certificate names no email address: it cannot be saved for one");
	else if (ers_smime_cert_pem(signer, &pem) < 0)
		ers_error_set(err, ERS_E_INTERNAL, "the certificate could not be written as PEM");
	else
		rc = ers_smime_recipient_add(ctx, actor, address, first, pem.data, rec_r, err);
	X509_free(signer);
	ers_buf_free(&pem);
	return rc;
}
