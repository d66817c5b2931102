/* Manual 000 "S/MIME Setup" and "Managing User S/MIME Identities": the
 * S/MIME Settings page -- the status lines (Status, Signing runtime,
 * Identity details), "Save S/MIME Identity" (Certificate PEM, Private Key
 * PEM, the passphrase only if the key needs one), "Remove", and the
 * recipient certificates -- for the user's own account, or with ?user=
 * for an admin managing a user ("Save User S/MIME Identity", "Remove User
 * Identity"); libers checks, seals and decides who may. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "html.h"
#include "web.h"

/* The user the page is about: ?user= (or the form's "user"), else oneself. */
static bool is_self(const struct web_req *r, const char *user)
{
	return !strcmp(user, r->session.actor.name);
}

static void hidden_user(const struct web_req *r, const char *user, struct ers_buf *c)
{
	if (!is_self(r, user))
		html(c, "<input type=\"hidden\" name=\"user\" value=\"%s\">", user);
}

/* The page, with `notice` (done) or `error` (refused) on top. */
static void smime_page(struct web_req *r, struct web_resp *w, const char *notice, const char *error)
{
	const char *user = web_page_user(r);
	bool self = is_self(r, user);
	struct ers_smime_identity id;
	struct ers_smime_recipient_list *certs = NULL;
	struct ers_error err;
	if (ers_smime_identity_show(r->ctx, &r->session.actor, user, &id, &err) < 0 ||
	    ers_smime_recipient_list(r->ctx, &r->session.actor, user, &certs, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	bool master_key = r->cfg->secrets.master_key != NULL;
	char why[200] = "";
	bool runtime = ers_smime_runtime_ok(why, sizeof why);
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card smime\"><h1>S/MIME Settings</h1>");
	if (!self)
		html(&c, "<p class=\"hint\">S/MIME identity of <strong>%s</strong>.</p>", id.address);
	if (notice)
		html(&c, "<p class=\"ok\" role=\"status\">%s</p>", notice);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	/* The status lines of the manual. */
	html(&c, "<dl class=\"status\"><dt>Status</dt><dd id=\"smime-status\">");
	if (!master_key)
		html(&c, "%s", ERS_SMIME_MSG_NO_MASTER_KEY);
	else if (!id.configured)
		html(&c, "%s", ERS_SMIME_MSG_NOT_CONFIGURED);
	else if (id.expired || id.not_yet_valid)
		html(&c, "%s", ERS_SMIME_MSG_VALIDITY);
	else if (id.expires_soon)
		html(&c, "Configured. %s (on %s).", ERS_SMIME_MSG_EXPIRES_SOON, id.cert.not_after);
	else
		html(&c, "Configured");
	html(&c, "</dd><dt>Signing runtime</dt><dd id=\"smime-runtime\">");
	if (runtime && master_key)
		html(&c, "Signing is available on this server (OpenSSL, in-process)");
	else if (id.configured)
		html(&c, "%s%r%s", ERS_SMIME_MSG_NO_RUNTIME, runtime ? "" : ": ", runtime ? "" : why);
	else
		html(&c, "%s", runtime ? "Unavailable until the server encryption key is configured" : why);
	html(&c, "</dd><dt>Identity details</dt><dd id=\"smime-details\">");
	if (id.configured)
		html(&c, "Subject: %s<br>Issuer: %s<br>Valid from %s until %s<br>SHA-256 fingerprint: <code>%s</code><br>Key: %s%r",
		     id.cert.subject, id.cert.issuer, id.cert.not_before, id.cert.not_after, id.cert.fingerprint,
		     id.cert.key_type, id.has_passphrase ? ", protected with a passphrase" : "");
	else
		html(&c, "None");
	html(&c, "</dd></dl>");

	/* Save S/MIME Identity */
	html(&c, "<h2>%r</h2><form method=\"post\" action=\"/smime/identity\">", self ? "Your identity" : "User identity");
	web_csrf_field(r, &c);
	hidden_user(r, user, &c);
	html(&c, "<label>Certificate PEM<textarea name=\"cert\" rows=\"8\" spellcheck=\"false\" "
		 "placeholder=\"-----BEGIN CERTIFICATE-----\"%r></textarea></label>"
		 "<label>Private Key PEM<textarea name=\"key\" rows=\"8\" spellcheck=\"false\" autocomplete=\"off\" "
		 "placeholder=\"-----BEGIN PRIVATE KEY-----\"%r></textarea></label>"
		 "<label>Private key passphrase (only if the key requires one)<input type=\"password\" name=\"passphrase\" "
		 "autocomplete=\"off\"%r></label>",
	     master_key ? " required" : " disabled", master_key ? " required" : " disabled", master_key ? "" : " disabled");
	html(&c, "<button type=\"submit\"%r>%r</button></form>", master_key ? "" : " disabled",
	     self ? "Save S/MIME Identity" : "Save User S/MIME Identity");
	if (!master_key)
		html(&c, "<p class=\"hint\">The administrator still needs to configure the server-side SMIME_MASTER_KEY setting.</p>");
	html(&c, "<p class=\"hint\">The private key and its passphrase are encrypted before they are stored; this page never "
		 "shows them again.</p>");
	if (id.configured) {
		html(&c, "<form method=\"post\" action=\"/smime/identity/remove\">");
		web_csrf_field(r, &c);
		hidden_user(r, user, &c);
		html(&c, "<button type=\"submit\" class=\"danger\">%r</button></form>", self ? "Remove" : "Remove User Identity");
	}

	/* Recipient certificates */
	html(&c, "<h2>Recipient certificates</h2>");
	if (!certs->count)
		html(&c, "<p class=\"empty\">No recipient certificates yet: save one for each address you want to send "
			 "encrypted mail to.</p>");
	else {
		html(&c, "<table class=\"certs\"><thead><tr><th>Address</th><th>Subject</th><th>Valid until</th>"
			 "<th>SHA-256</th><th></th></tr></thead><tbody>");
		for (size_t i = 0; i < certs->count; i++) {
			const struct ers_smime_recipient *rc = &certs->items[i];
			html(&c, "<tr><td>%s</td><td>%s</td><td>%s%r</td><td><code>%s</code></td><td>"
				 "<form method=\"post\" action=\"/smime/cert/remove\">",
			     rc->address, rc->cert.subject, rc->cert.not_after, rc->expired ? " (expired)" : "",
			     rc->cert.fingerprint);
			web_csrf_field(r, &c);
			hidden_user(r, user, &c);
			html(&c, "<input type=\"hidden\" name=\"address\" value=\"%s\"><button type=\"submit\" "
				 "class=\"secondary\">Remove</button></form></td></tr>", rc->address);
		}
		html(&c, "</tbody></table>");
	}
	html(&c, "<form method=\"post\" action=\"/smime/cert\">");
	web_csrf_field(r, &c);
	hidden_user(r, user, &c);
	html(&c, "<label>Recipient address<input name=\"address\" type=\"email\" required></label>"
		 "<label>Recipient certificate PEM<textarea name=\"cert\" rows=\"6\" spellcheck=\"false\" required "
		 "placeholder=\"-----BEGIN CERTIFICATE-----\"></textarea></label>"
		 "<button type=\"submit\">Save Recipient Certificate</button></form></section>");
	ers_smime_recipient_list_free(certs);
	web_page(r, w, "S/MIME Settings", c.data);
	ers_buf_free(&c);
}

void page_smime(struct web_req *r, struct web_resp *w)
{
	smime_page(r, w, NULL, NULL);
}

/* Runs after a POST: the page again with what happened. */
static void after(struct web_req *r, struct web_resp *w, int rc, const struct ers_error *err, const char *done)
{
	if (rc < 0) {
		if (err->code == ERS_E_PERMISSION || err->code == ERS_E_NOTFOUND) {
			web_ers_error(r, w, err);
			return;
		}
		w->status = web_status_of(err->code);
		smime_page(r, w, NULL, err->message);
		return;
	}
	smime_page(r, w, done, NULL);
}

void page_smime_identity_post(struct web_req *r, struct web_resp *w)
{
	const char *cert = web_form(r, "cert"), *key = web_form(r, "key"), *pass = web_form(r, "passphrase");
	struct ers_error err;
	int rc = ers_smime_identity_set(r->ctx, &r->session.actor, web_page_user(r), cert ? cert : "", key ? key : "",
					pass && *pass ? pass : NULL, NULL, &err);
	after(r, w, rc, &err, "S/MIME identity saved. Its private key is stored encrypted.");
}

void page_smime_identity_remove(struct web_req *r, struct web_resp *w)
{
	struct ers_error err;
	bool removed = false;
	int rc = ers_smime_identity_remove(r->ctx, &r->session.actor, web_page_user(r), &removed, &err);
	after(r, w, rc, &err, removed ? "S/MIME identity removed." : "There was no S/MIME identity to remove.");
}

void page_smime_cert_post(struct web_req *r, struct web_resp *w)
{
	const char *addr = web_form(r, "address"), *cert = web_form(r, "cert");
	struct ers_error err;
	int rc = ers_smime_recipient_add(r->ctx, &r->session.actor, web_page_user(r), addr ? addr : "", cert ? cert : "", NULL,
					 &err);
	after(r, w, rc, &err, "Recipient certificate saved.");
}

void page_smime_cert_remove(struct web_req *r, struct web_resp *w)
{
	const char *addr = web_form(r, "address");
	struct ers_error err;
	int rc = ers_smime_recipient_remove(r->ctx, &r->session.actor, web_page_user(r), addr ? addr : "", &err);
	after(r, w, rc, &err, "Recipient certificate removed.");
}

/* The compose page's S/MIME lines for the recipients typed (?rcpt=), as a
 * fragment the compose page's script puts in place. */
void page_smime_compose_status(struct web_req *r, struct web_resp *w)
{
	struct ers_smime_compose_status st;
	struct ers_error err;
	if (ers_smime_compose_status(r->ctx, &r->session.actor, r->session.actor.name, web_query(r, "rcpt"), &st, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	w->content_type = "application/json";
	/* JSON by hand: two strings escaped for JSON, two booleans. */
	const char *lines[2] = { st.sign_line, st.encrypt_line };
	ers_buf_addf(&w->body, "{\"can_sign\":%s,\"can_encrypt\":%s", st.can_sign ? "true" : "false",
		     st.can_encrypt ? "true" : "false");
	for (int i = 0; i < 2; i++) {
		ers_buf_addf(&w->body, ",\"%s\":\"", i ? "encrypt_line" : "sign_line");
		for (const unsigned char *p = (const unsigned char *)lines[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				ers_buf_addf(&w->body, "\\%c", *p);
			else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
				ers_buf_addf(&w->body, "\\u%04x", *p);
			else
				ers_buf_addch(&w->body, (char)*p);
		}
		ers_buf_addch(&w->body, '"');
	}
	ers_buf_addch(&w->body, '}');
}

/* Whether the header of `src` says the message is S/MIME (enveloped, or
 * signed as multipart/signed or opaque). */
static bool looks_smime(const struct ers_buf *src)
{
	const char *end = strstr(src->data, "\r\n\r\n");
	const char *end2 = strstr(src->data, "\n\n");
	size_t n = end ? (size_t)(end - src->data) : src->len;
	if (end2 && (size_t)(end2 - src->data) < n)
		n = (size_t)(end2 - src->data);
	static const char *const types[] = { "pkcs7-mime", "pkcs7-signature" };
	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i + strlen(types[t]) <= n; i++)
			if (!strncasecmp(src->data + i, types[t], strlen(types[t])))
				return true;
	return false;
}

bool web_smime_open(struct web_req *r, struct ers_buf *src, struct ers_smime_read *st)
{
	memset(st, 0, sizeof *st);
	if (!looks_smime(src))
		return false;
	struct ers_buf out = ERS_BUF_INIT;
	struct ers_error err;
	if (ers_smime_open(r->ctx, &r->session.actor, r->session.actor.name, src->data, src->len, NULL, &out, st, &err) < 0) {
		snprintf(st->why, sizeof st->why, "This S/MIME message could not be opened: %.1000s", err.message);
		ers_buf_free(&out);
		return true;
	}
	ers_buf_free(src);
	*src = out;
	return true;
}

void web_smime_read_html(struct web_req *r, const struct ers_smime_read *st, const char *folder, unsigned long uid,
			 struct ers_buf *c)
{
	if (st->was_encrypted)
		html(c, "<p class=\"%r\" role=\"note\">%r</p>", st->decrypted ? "ok" : "warning",
		     st->decrypted ? "Encrypted with S/MIME: decrypted with your S/MIME identity."
				   : "Encrypted with S/MIME: it could not be decrypted.");
	if (st->was_signed) {
		if (st->verified)
			html(c, "<p class=\"ok\" role=\"note\">Signed with S/MIME by %s (%s): the signature is verified.</p>",
			     st->signer, st->signer_subject);
		else
			html(c, "<p class=\"warning\" role=\"note\">Signed with S/MIME by %s: the signature is not verified.</p>",
			     st->signer[0] ? st->signer : "an unknown signer");
	}
	if (st->why[0])
		html(c, "<p class=\"notice\">%s</p>", st->why);
	/* A signature that is intact (verified, or only not trusted yet). */
	if (st->was_signed && st->signer[0] && (st->verified || strstr(st->why, "signature is intact"))) {
		html(c, "<form method=\"post\" action=\"/smime/save-signer\" class=\"inline\">");
		web_csrf_field(r, c);
		html(c, "<input type=\"hidden\" name=\"folder\" value=\"%s\"><input type=\"hidden\" name=\"uid\" value=\"%ld\">"
			 "<button type=\"submit\" class=\"secondary small\">Save the sender's certificate</button></form>",
		     folder, (long)uid);
	}
}

/* POST /smime/save-signer (folder, uid): "Save the sender's certificate"
 * of a signed message whose signature is intact, as a recipient
 * certificate; then back to the message. */
void page_smime_save_signer(struct web_req *r, struct web_resp *w)
{
	const char *folder = web_form(r, "folder"), *uid_s = web_form(r, "uid");
	char *end = NULL;
	unsigned long uid = uid_s ? strtoul(uid_s, &end, 10) : 0;
	if (!folder || !*folder || strlen(folder) > 1000 || !uid_s || !*uid_s || *end || uid == 0 || uid > 4294967295UL) {
		web_error_page(r, w, 400, "The form is not right: it must name a folder and a message number.");
		return;
	}
	struct ers_imap *im = NULL;
	struct ers_buf src = ERS_BUF_INIT;
	struct ers_error err;
	struct ers_smime_recipient rec;
	if (web_imap_open(r, &im, &err) < 0 || ers_imap_fetch_source(im, folder, (uint32_t)uid, false, &src, &err) < 0 ||
	    ers_smime_save_signer(r->ctx, &r->session.actor, r->session.actor.name, src.data, src.len, &rec, &err) < 0) {
		web_imap_release(r, im);
		ers_buf_free(&src);
		if (err.code == ERS_E_INVALID || err.code == ERS_E_CONFLICT) {
			w->status = web_status_of(err.code);
			struct ers_buf c = ERS_BUF_INIT;
			html(&c, "<section class=\"card\"><h1>Save the sender's certificate</h1><p class=\"error\" role=\"alert\">%s</p>"
				 "<p><a class=\"button\" href=\"/message?folder=%u&amp;uid=%ld\">Back to the message</a></p></section>",
			     err.message, folder, (long)uid);
			web_page(r, w, "Save the sender's certificate", c.data);
			ers_buf_free(&c);
		} else
			web_ers_error(r, w, &err);
		return;
	}
	web_imap_release(r, im);
	ers_buf_free(&src);
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Save the sender's certificate</h1><p class=\"ok\" role=\"status\">The certificate "
		 "of %s (%s, valid until %s) is saved: you can send encrypted mail to %s.</p>"
		 "<p><a class=\"button\" href=\"/message?folder=%u&amp;uid=%ld\">Back to the message</a> "
		 "<a class=\"button secondary\" href=\"/smime\">S/MIME Settings</a></p></section>",
	     rec.address, rec.cert.subject, rec.cert.not_after, rec.address, folder, (long)uid);
	web_page(r, w, "Save the sender's certificate", c.data);
	ers_buf_free(&c);
}
