/* ersctl smime ...: users' S/MIME identities (certificate and sealed key),
 * the recipient certificates they encrypt to, and the server's readiness.
 * libers checks and stores; here only files, options and printing.  No
 * output ever holds key material. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define PEM_FILE_MAX (2 * 1024 * 1024) /* beyond it, libers's "too long" needs no more bytes */

/* The file of option `opt` ("-": standard input); with `secret` the
 * buffers are wiped and one trailing line end dropped (a passphrase). */
static int read_opt_file(struct cli *c, const char *opt, bool secret, struct ers_buf *out)
{
	const char *path = cli_opt(c, opt);
	if (!path)
		return 0;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: cannot read %s: %s", opt, path, strerror(errno));
		return -1;
	}
	char chunk[4096];
	size_t n;
	while (out->len <= PEM_FILE_MAX && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ers_buf_add(out, chunk, n);
	ers_wipe(chunk, sizeof chunk);
	int read_errno = ferror(f) ? errno : 0;
	if (f != stdin)
		fclose(f);
	if (read_errno) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: cannot read %s: %s", opt, path, strerror(read_errno));
		return -1;
	}
	if (secret) {
		if (out->len && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		if (out->len && out->data[out->len - 1] == '\r')
			out->data[--out->len] = '\0';
	}
	return 0;
}

static json_t *cert_json(const struct ers_smime_cert_info *ci)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "subject", ci->subject, "issuer", ci->issuer,
			 "serial", ci->serial, "not_before", ci->not_before, "not_after", ci->not_after,
			 "fingerprint_sha256", ci->fingerprint, "key_type", ci->key_type, "emails", ci->emails,
			 "can_sign", ci->can_sign, "can_encrypt", ci->can_encrypt);
}

static json_t *identity_json(const struct ers_smime_identity *id)
{
	json_t *o = json_pack("{s:s,s:b}", "address", id->address, "configured", id->configured);
	if (!id->configured) {
		json_object_set_new(o, "status", json_string(ERS_SMIME_MSG_NOT_CONFIGURED));
		return o;
	}
	json_object_set_new(o, "certificate", cert_json(&id->cert));
	json_object_set_new(o, "key_has_passphrase", json_boolean(id->has_passphrase));
	json_object_set_new(o, "expired", json_boolean(id->expired));
	json_object_set_new(o, "not_yet_valid", json_boolean(id->not_yet_valid));
	json_object_set_new(o, "expires_soon", json_boolean(id->expires_soon));
	json_object_set_new(o, "updated_at", json_str_or_null(id->updated_at[0] ? id->updated_at : NULL));
	json_object_set_new(o, "updated_by", json_str_or_null(id->updated_by[0] ? id->updated_by : NULL));
	return o;
}

static void print_cert(const struct ers_smime_cert_info *ci)
{
	printf("subject:        %s\n", ci->subject);
	printf("issuer:         %s\n", ci->issuer);
	printf("email:          %s\n", ci->emails);
	printf("valid:          %s until %s\n", ci->not_before, ci->not_after);
	printf("fingerprint:    SHA-256 %s\n", ci->fingerprint);
	printf("key:            %s (%s%s%s)\n", ci->key_type, ci->can_sign ? "signs" : "cannot sign",
	       ci->can_encrypt ? ", encrypts" : ", cannot encrypt", "");
}

static void print_identity(const struct ers_smime_identity *id)
{
	printf("address:        %s\n", id->address);
	if (!id->configured) {
		printf("status:         %s\n", ERS_SMIME_MSG_NOT_CONFIGURED);
		return;
	}
	printf("status:         %s\n", id->expired || id->not_yet_valid ? ERS_SMIME_MSG_VALIDITY
				    : id->expires_soon ? ERS_SMIME_MSG_EXPIRES_SOON : "configured");
	print_cert(&id->cert);
	printf("passphrase:     %s\n", id->has_passphrase ? "yes (stored sealed)" : "no");
	if (id->updated_at[0])
		printf("updated:        %s by %s\n", id->updated_at, id->updated_by);
}

int cmd_smime_identity_set(struct cli *c)
{
	struct ers_buf cert = ERS_BUF_INIT, key = ERS_BUF_INIT, pass = ERS_BUF_INIT;
	struct ers_smime_identity id;
	int rc = -1;
	if (read_opt_file(c, "cert", false, &cert) < 0 || read_opt_file(c, "key", true, &key) < 0 ||
	    read_opt_file(c, "passphrase-file", true, &pass) < 0)
		goto out;
	if (ers_smime_identity_set(c->ctx, &c->actor, c->args[0], cert.data, key.data, pass.len ? pass.data : NULL, &id,
				   &c->err) < 0)
		goto out;
	if (c->json) {
		out_json(c, identity_json(&id));
	} else {
		out_note(c, "saved the S/MIME identity of %s (its private key%s sealed under the master key)", id.address,
			 id.has_passphrase ? " and passphrase" : "");
		if (!c->quiet)
			print_identity(&id);
	}
	rc = 0;
out:
	ers_buf_free(&cert);
	ers_buf_free_secret(&key);
	ers_buf_free_secret(&pass);
	return rc;
}

int cmd_smime_identity_show(struct cli *c)
{
	struct ers_smime_identity id;
	if (ers_smime_identity_show(c->ctx, &c->actor, c->args[0], &id, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, identity_json(&id));
	else
		print_identity(&id);
	return 0;
}

int cmd_smime_identity_remove(struct cli *c)
{
	bool removed;
	if (ers_smime_identity_remove(c->ctx, &c->actor, c->args[0], &removed, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "address", c->args[0], "removed", removed));
	else if (removed)
		out_note(c, "removed the S/MIME identity of %s; its sealed private key is deleted", c->args[0]);
	else
		out_note(c, "%s had no S/MIME identity; nothing changed", c->args[0]);
	return 0;
}

int cmd_smime_status(struct cli *c)
{
	struct ers_smime_server_status st;
	if (ers_smime_server_status(c->ctx, &c->actor, &st, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:b,s:o,s:o,s:b,s:s,s:I,s:I,s:I}", "master_key", st.master_key,
				      "master_key_id", json_str_or_null(st.master_key ? st.master_key_id : NULL),
				      "master_key_source", json_str_or_null(st.master_key ? st.master_key_source : NULL),
				      "runtime", st.runtime, "runtime_version", st.runtime_version,
				      "identities", (json_int_t)st.identities, "expiring_30d", (json_int_t)st.expiring,
				      "recipient_certs", (json_int_t)st.recipient_certs));
		return 0;
	}
	if (st.master_key)
		printf("master key:     SMIME_MASTER_KEY is set (key id %s, from %s)\n", st.master_key_id, st.master_key_source);
	else
		printf("master key:     %s (set SMIME_MASTER_KEY in the secrets file; make one with: openssl rand -hex 32)\n",
		       ERS_SMIME_MSG_NO_MASTER_KEY);
	printf("runtime:        %s%s\n", st.runtime ? "available: " : "unavailable: ", st.runtime_version);
	printf("identities:     %lld (%lld expired or expiring within %d days)\n", st.identities, st.expiring,
	       ERS_SMIME_EXPIRES_SOON_DAYS);
	printf("recipient certs: %lld\n", st.recipient_certs);
	return 0;
}

static json_t *recipient_json(const struct ers_smime_recipient *r)
{
	json_t *o = json_pack("{s:s,s:o,s:b}", "address", r->address, "certificate", cert_json(&r->cert), "expired", r->expired);
	json_object_set_new(o, "created_at", json_str_or_null(r->created_at[0] ? r->created_at : NULL));
	return o;
}

int cmd_smime_cert_add(struct cli *c)
{
	struct ers_buf cert = ERS_BUF_INIT;
	struct ers_smime_recipient r;
	int rc = -1;
	if (read_opt_file(c, "cert", false, &cert) < 0 ||
	    ers_smime_recipient_add(c->ctx, &c->actor, c->args[0], c->args[1], cert.data, &r, &c->err) < 0)
		goto out;
	if (c->json)
		out_json(c, recipient_json(&r));
	else
		out_note(c, "saved the certificate of %s for %s (valid until %s, SHA-256 %s)", r.address, c->args[0],
			 r.cert.not_after, r.cert.fingerprint);
	rc = 0;
out:
	ers_buf_free(&cert);
	return rc;
}

int cmd_smime_cert_list(struct cli *c)
{
	struct ers_smime_recipient_list *l;
	if (ers_smime_recipient_list(c->ctx, &c->actor, c->args[0], &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++)
			json_array_append_new(arr, recipient_json(&l->items[i]));
		out_json(c, json_pack("{s:s,s:o}", "user", c->args[0], "certificates", arr));
	} else {
		static const char *const head[] = { "ADDRESS", "SUBJECT", "VALID UNTIL", "SHA-256", "STATE" };
		struct table tab;
		table_init(&tab, 5, head);
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_smime_recipient *r = &l->items[i];
			table_row(&tab, r->address, r->cert.subject, r->cert.not_after, r->cert.fingerprint,
				  r->expired ? "expired" : "ok");
		}
		table_print(&tab);
	}
	ers_smime_recipient_list_free(l);
	return 0;
}

int cmd_smime_cert_remove(struct cli *c)
{
	if (ers_smime_recipient_remove(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:s,s:b}", "user", c->args[0], "address", c->args[1], "removed", 1));
	else
		out_note(c, "removed the certificate of %s from %s's recipient certificates", c->args[1], c->args[0]);
	return 0;
}

/* Writes `b` to --output FILE, or to standard output. */
static int write_output(struct cli *c, const struct ers_buf *b)
{
	const char *path = cli_opt(c, "output");
	FILE *f = path ? fopen(path, "wb") : stdout;
	if (!f) {
		ers_error_set(&c->err, ERS_E_IO, "--output: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = fwrite(b->data, 1, b->len, f) == b->len;
	if (path)
		ok = fclose(f) == 0 && ok;
	else
		ok = fflush(f) == 0 && ok;
	if (!ok) {
		ers_error_set(&c->err, ERS_E_IO, "cannot write %s: %s", path ? path : "standard output", strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_smime_protect(struct cli *c)
{
	struct ers_buf in = ERS_BUF_INIT, out = ERS_BUF_INIT;
	const char *to[ERS_COMPOSE_MAX_RCPT];
	size_t nto = cli_opt_all(c, "to", to, ERS_COMPOSE_MAX_RCPT);
	struct ers_smime_send how = { .sign = cli_flag(c, "sign"), .encrypt = cli_flag(c, "encrypt"), .rcpt = to,
				      .nrcpt = nto };
	int rc = -1;
	if (!how.sign && !how.encrypt) {
		ers_error_set(&c->err, ERS_E_USAGE, "say what to do: --sign, --encrypt or both");
		return -1;
	}
	if (how.encrypt && !nto) {
		ers_error_set(&c->err, ERS_E_USAGE, "--encrypt needs the recipients: --to ADDRESS (repeat)");
		return -1;
	}
	if (read_opt_file(c, "in", false, &in) < 0 ||
	    ers_smime_protect(c->ctx, &c->actor, c->args[0], &how, in.data, in.len, &out, &c->err) < 0 ||
	    write_output(c, &out) < 0)
		goto done;
	rc = 0;
done:
	ers_buf_free(&in);
	ers_buf_free(&out);
	return rc;
}

int cmd_smime_open(struct cli *c)
{
	struct ers_buf in = ERS_BUF_INIT, out = ERS_BUF_INIT;
	struct ers_smime_read st;
	int rc = -1;
	if (read_opt_file(c, "in", false, &in) < 0 ||
	    ers_smime_open(c->ctx, &c->actor, c->args[0], in.data, in.len, cli_opt(c, "ca-file"), &out, &st, &c->err) < 0)
		goto done;
	if (c->json) {
		if (cli_opt(c, "output") && write_output(c, &out) < 0)
			goto done;
		out_json(c, json_pack("{s:b,s:b,s:b,s:b,s:o,s:o,s:o}", "signed", st.was_signed, "encrypted", st.was_encrypted,
				      "decrypted", st.decrypted, "verified", st.verified,
				      "signer", json_str_or_null(st.signer[0] ? st.signer : NULL),
				      "signer_subject", json_str_or_null(st.signer_subject[0] ? st.signer_subject : NULL),
				      "problem", json_str_or_null(st.why[0] ? st.why : NULL)));
	} else {
		if (write_output(c, &out) < 0)
			goto done;
		if (!c->quiet) {
			if (st.was_encrypted)
				fprintf(stderr, "ersctl: encrypted; %s\n", st.decrypted ? "decrypted" : "not decrypted");
			if (st.was_signed)
				fprintf(stderr, "ersctl: signed by %s (%s): %s\n", st.signer, st.signer_subject,
					st.verified ? "signature verified" : "NOT verified");
			if (st.why[0])
				fprintf(stderr, "ersctl: %s\n", st.why);
		}
	}
	rc = 0;
done:
	ers_buf_free(&in);
	ers_buf_free(&out);
	return rc;
}
