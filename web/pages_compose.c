/* Manual 000 "Composing and Sending Emails": the compose form (To, CC,
 * BCC, Subject, the message, attachments; "Send" and "Cancel"), filled in
 * for a reply (?reply=UID&folder=F) or a forward (?forward=UID&folder=F,
 * the original's attachments sent on again), and its POST: the message
 * built and checked by ers_mail_build, submitted by ers_mail_send as
 * USER*MASTER (web/mailconn.c), then a copy appended to Sent.  On a bad
 * field the form comes back with what was typed and the error (422).
 * Cancel is a plain link home: nothing was stored, so nothing is kept. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "html.h"
#include "web.h"

#define QUOTE_MAX (200u << 10) /* bytes of an original's text quoted in a reply */

/* What the form holds. */
struct draft {
	const char *title;                 /* "New Message", "Reply", "Forward" */
	char *to, *cc, *bcc, *subject, *body;
	char *in_reply_to;                 /* Message-ID of the message replied to, or NULL */
	char *fwd_folder;                  /* forwarding a message: where it is */
	uint32_t fwd_uid;
	struct ers_message *orig;          /* the original (its attachments are listed) */
	bool *fwd_keep;                    /* per attachment of the original: send it on */
	bool smime_sign, smime_encrypt;    /* "Sign with S/MIME", "Encrypt with recipient certificate" */
};

static void draft_free(struct draft *d)
{
	free(d->to);
	free(d->cc);
	free(d->bcc);
	free(d->subject);
	free(d->body);
	free(d->in_reply_to);
	free(d->fwd_folder);
	free(d->fwd_keep);
	ers_message_free(d->orig);
}

static char *dup_or_empty(const char *s)
{
	return ers_xstrdup(s ? s : "");
}

/* --- the original's text, for quoting ------------------------------------ */

static void trim_spaces(struct ers_buf *out)
{
	while (out->len && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

static void newline(struct ers_buf *out)
{
	trim_spaces(out);
	/* At most one blank line in a row, none at the start. */
	if (out->len && !(out->len >= 2 && out->data[out->len - 1] == '\n' && out->data[out->len - 2] == '\n'))
		ers_buf_addch(out, '\n');
}

/* Whether the tag at `t` (after '<' and an optional '/') is one of the
 * block elements that end a line. */
static bool block_tag(const char *t)
{
	static const char *const blocks[] = { "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
					      "blockquote", "pre", "table", "ul", "ol", "hr", "dd", "dt" };
	size_t n = 0;
	while (isalnum((unsigned char)t[n]))
		n++;
	for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
		if (strlen(blocks[i]) == n && !strncasecmp(t, blocks[i], n))
			return true;
	return false;
}

/* Plain text of the body as the message page shows it: the sanitiser's
 * markup (or the plain text's) without its tags, entities decoded. */
static void html_to_text(const char *h, struct ers_buf *out)
{
	for (const char *p = h; *p && out->len < QUOTE_MAX;) {
		if (*p == '<') {
			const char *t = p + 1 + (p[1] == '/');
			const char *gt = strchr(p, '>');
			if (!gt)
				break;
			if (block_tag(t))
				newline(out);
			p = gt + 1;
		} else if (*p == '&') {
			const char *semi = strchr(p, ';');
			size_t n = semi ? (size_t)(semi - p) : 0;
			if (n > 1 && n < 12) {
				if (p[1] == '#') {
					bool hex = p[2] == 'x' || p[2] == 'X';
					ers_buf_add_utf8(out, strtoul(p + 2 + hex, NULL, hex ? 16 : 10));
				} else if (!strncmp(p, "&amp;", 5))
					ers_buf_addch(out, '&');
				else if (!strncmp(p, "&lt;", 4))
					ers_buf_addch(out, '<');
				else if (!strncmp(p, "&gt;", 4))
					ers_buf_addch(out, '>');
				else if (!strncmp(p, "&quot;", 6))
					ers_buf_addch(out, '"');
				else if (!strncmp(p, "&nbsp;", 6))
					ers_buf_addch(out, ' ');
				else
					ers_buf_add(out, p, n + 1);
				p = semi + 1;
			} else {
				ers_buf_addch(out, *p++);
			}
		} else if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
			/* Markup whitespace: one space between words. */
			if (out->len && out->data[out->len - 1] != ' ' && out->data[out->len - 1] != '\n')
				ers_buf_addch(out, ' ');
			p++;
		} else {
			ers_buf_addch(out, *p++);
		}
	}
	trim_spaces(out);
	while (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
}

/* Each line of `text` with "> " before it. */
static void quote_lines(const char *text, struct ers_buf *out)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		ers_buf_adds(out, n && *p != '>' ? "> " : ">");
		ers_buf_add(out, p, n);
		ers_buf_addch(out, '\n');
		p += n + (p[n] == '\n');
	}
}

static void add_date(struct ers_buf *b, long long t)
{
	char s[48];
	time_t tt = (time_t)t;
	struct tm tm;
	if (t > 0 && gmtime_r(&tt, &tm) && strftime(s, sizeof s, "%a, %d %b %Y %H:%M UTC", &tm))
		ers_buf_adds(b, s);
	else
		ers_buf_adds(b, "an unknown date");
}

/* `subject` with `prefix` ("Re:") before it, unless one is there already
 * (`also`: another spelling of it, "Fw:"). */
static char *prefixed(const char *subject, const char *prefix, const char *also)
{
	const char *s = subject;
	while (*s == ' ')
		s++;
	struct ers_buf b = ERS_BUF_INIT;
	if (strncasecmp(s, prefix, strlen(prefix)) && (!also || strncasecmp(s, also, strlen(also))))
		ers_buf_addf(&b, "%s ", prefix);
	ers_buf_adds(&b, s);
	return ers_buf_detach(&b);
}

/* --- loading the original ------------------------------------------------- */

/* A message reference: folder and UID from `folder` and the query or form
 * parameter `uid_s`; false when they are not right. */
static bool parse_ref(const char *folder, const char *uid_s, uint32_t *uid_r)
{
	char *end = NULL;
	unsigned long uid = uid_s ? strtoul(uid_s, &end, 10) : 0;
	if (!folder || !*folder || strlen(folder) > 500 || !uid_s || !*uid_s || *end || uid == 0 || uid > UINT32_MAX)
		return false;
	*uid_r = (uint32_t)uid;
	return true;
}

/* Fetches the original's source into `src` and parses it. */
static int load_original(struct web_req *r, struct ers_imap *im, const char *folder, uint32_t uid,
			 struct ers_buf *src, struct ers_message **msg_r, struct ers_error *err)
{
	if (ers_imap_fetch_source(im, folder, uid, false, src, err) < 0)
		return -1;
	const char *at = strrchr(r->session.actor.name, '@');
	const char *domains[1] = { at ? at + 1 : "" };
	struct ers_message_opts opts = { .internal_domains = domains, .ninternal = 1 };
	return ers_message_parse(src->data, src->len, &opts, msg_r, err);
}

static void fill_reply(struct draft *d, const struct ers_message *m)
{
	d->title = "Reply";
	d->to = ers_xstrdup(*m->reply_to ? m->reply_to : m->from);
	d->subject = prefixed(m->subject, "Re:", NULL);
	d->in_reply_to = *m->message_id ? ers_xstrdup(m->message_id) : NULL;
	struct ers_buf text = ERS_BUF_INIT, b = ERS_BUF_INIT;
	html_to_text(m->body_html, &text);
	ers_buf_adds(&b, "\n\nOn ");
	add_date(&b, m->date);
	ers_buf_addf(&b, ", %s wrote:\n", *m->from ? m->from : "the sender");
	quote_lines(text.data, &b);
	d->body = ers_buf_detach(&b);
	ers_buf_free(&text);
}

static void fill_forward(struct draft *d, const struct ers_message *m)
{
	d->title = "Forward";
	d->to = ers_xstrdup("");
	d->subject = prefixed(m->subject, "Fwd:", "Fw:");
	struct ers_buf text = ERS_BUF_INIT, b = ERS_BUF_INIT;
	html_to_text(m->body_html, &text);
	ers_buf_addf(&b, "\n\n---------- Forwarded message ----------\nFrom: %s\nDate: ", m->from);
	add_date(&b, m->date);
	ers_buf_addf(&b, "\nSubject: %s\nTo: %s\n", m->subject, m->to);
	if (*m->cc)
		ers_buf_addf(&b, "Cc: %s\n", m->cc);
	ers_buf_addch(&b, '\n');
	quote_lines(text.data, &b);
	d->body = ers_buf_detach(&b);
	ers_buf_free(&text);
}

/* --- the form ------------------------------------------------------------------ */

static void add_size(struct ers_buf *b, size_t n)
{
	if (n < 1024)
		html(b, "%zu B", n);
	else if (n < 1024 * 1024)
		html(b, "%zu KB", (n + 1023) / 1024);
	else
		html(b, "%zu MB", (n + 1024 * 1024 - 1) / (1024 * 1024));
}

/* Manual 000 "How To Use It When Composing Mail": the S/MIME status lines
 * for the recipients in the form, and the two checkboxes, disabled
 * exactly when libers says they cannot be used.  The page's script asks
 * /smime/status again when the addresses change. */
static void smime_fields(struct web_req *r, const struct draft *d, struct ers_buf *c)
{
	struct ers_buf rcpt = ERS_BUF_INIT;
	const char *lists[] = { d->to, d->cc, d->bcc };
	for (size_t i = 0; i < 3; i++)
		if (lists[i] && *lists[i])
			ers_buf_addf(&rcpt, "%s%s", rcpt.len ? ", " : "", lists[i]);
	struct ers_smime_compose_status st;
	struct ers_error err;
	if (ers_smime_compose_status(r->ctx, &r->session.actor, r->session.actor.name, rcpt.data, &st, &err) < 0) {
		memset(&st, 0, sizeof st);
		snprintf(st.sign_line, sizeof st.sign_line, "%.500s", err.message);
	}
	ers_buf_free(&rcpt);
	html(c, "<fieldset class=\"smime\"><legend>S/MIME</legend>"
		 "<p class=\"hint\" id=\"smime-sign-line\">%s</p>"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"smime_sign\" value=\"1\" id=\"smime-sign\"%r%r> "
		 "Sign with S/MIME</label>"
		 "<p class=\"hint\" id=\"smime-encrypt-line\">%s</p>"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"smime_encrypt\" value=\"1\" id=\"smime-encrypt\"%r%r> "
		 "Encrypt with recipient certificate</label>"
		 "<p class=\"hint\"><a href=\"/smime\">S/MIME Settings</a></p></fieldset>",
	     st.sign_line, st.can_sign ? "" : " disabled", st.can_sign && d->smime_sign ? " checked" : "",
	     st.encrypt_line, st.can_encrypt ? "" : " disabled", st.can_encrypt && d->smime_encrypt ? " checked" : "");
}

/* The compose page with `d`'s values; `error` (may be NULL) above them. */
static void show_form(struct web_req *r, struct web_resp *w, const struct draft *d, const char *error,
		      const char *hint)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card compose\"><h1>%s</h1>", d->title);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	if (hint)
		html(&c, "<p class=\"notice\">%s</p>", hint);
	html(&c, "<form method=\"post\" action=\"/compose\" enctype=\"multipart/form-data\">");
	web_csrf_field(r, &c);
	html(&c, "<p class=\"hint\">From: %s</p>"
		 "<label>To<input name=\"to\" value=\"%s\" autocomplete=\"off\" placeholder=\"name@example.com, ...\"%r></label>"
		 "<label>CC<input name=\"cc\" value=\"%s\" autocomplete=\"off\"></label>"
		 "<label>BCC<input name=\"bcc\" value=\"%s\" autocomplete=\"off\"></label>"
		 "<label>Subject<input name=\"subject\" value=\"%s\" maxlength=\"900\"></label>"
		 /* The newline after <textarea> is eaten by the HTML parser:
		  * the body's own first line survives. */
		 "<label>Message<textarea name=\"body\" rows=\"16\"%r>\n%s</textarea></label>",
	     r->session.actor.name, d->to, *d->to ? "" : " autofocus", d->cc, d->bcc, d->subject,
	     *d->to ? " autofocus" : "", d->body);
	if (d->fwd_folder && d->orig && d->orig->nattachments) {
		html(&c, "<fieldset class=\"forwarded\"><legend>Attachments of the forwarded message</legend>");
		for (size_t i = 0; i < d->orig->nattachments; i++) {
			const struct ers_attachment *a = &d->orig->attachments[i];
			html(&c, "<label class=\"check\"><input type=\"checkbox\" name=\"fwd_att_%zu\" value=\"1\"%r> %s "
				 "<span class=\"meta\">%s, ",
			     i, d->fwd_keep && d->fwd_keep[i] ? " checked" : "", a->filename, a->content_type);
			add_size(&c, a->size);
			html(&c, "</span></label>");
		}
		html(&c, "</fieldset>");
	}
	html(&c, "<label>Attachments<input type=\"file\" name=\"attachments\" multiple></label>"
		 "<p class=\"hint\">At most %zu MB in all.</p>", (size_t)(WEB_UPLOAD_MAX >> 20));
	smime_fields(r, d, &c);
	if (d->in_reply_to)
		html(&c, "<input type=\"hidden\" name=\"in_reply_to\" value=\"%s\">", d->in_reply_to);
	if (d->fwd_folder)
		html(&c, "<input type=\"hidden\" name=\"forward\" value=\"%ld\"><input type=\"hidden\" name=\"folder\" value=\"%s\">",
		     (long)d->fwd_uid, d->fwd_folder);
	html(&c, "<input type=\"hidden\" name=\"title\" value=\"%s\">"
		 "<div class=\"actions\"><button type=\"submit\">Send</button> "
		 "<a class=\"button secondary\" href=\"/\">Cancel</a></div></form></section>",
	     d->title);
	web_page(r, w, d->title, c.data);
	ers_buf_free(&c);
}

void page_compose(struct web_req *r, struct web_resp *w)
{
	struct draft d = { .title = "New Message" };
	const char *reply = web_query(r, "reply"), *forward = web_query(r, "forward");
	const char *folder = web_query(r, "folder");
	if (reply || forward) {
		uint32_t uid;
		if (!parse_ref(folder, reply ? reply : forward, &uid)) {
			web_error_page(r, w, 400, "The link is not right: it must name a folder and a message number.");
			return;
		}
		struct ers_imap *im = NULL;
		struct ers_buf src = ERS_BUF_INIT;
		struct ers_error err;
		int rc = web_imap_open(r, &im, &err);
		if (rc == 0)
			rc = load_original(r, im, folder, uid, &src, &d.orig, &err);
		web_imap_release(r, im);
		ers_buf_free(&src);
		if (rc < 0) {
			draft_free(&d);
			web_ers_error(r, w, &err);
			return;
		}
		if (reply) {
			fill_reply(&d, d.orig);
		} else {
			fill_forward(&d, d.orig);
			d.fwd_folder = ers_xstrdup(folder);
			d.fwd_uid = uid;
			d.fwd_keep = ers_xcalloc(d.orig->nattachments + 1, sizeof *d.fwd_keep);
			for (size_t i = 0; i < d.orig->nattachments; i++)
				d.fwd_keep[i] = !d.orig->attachments[i].is_inline;
		}
	} else {
		/* /compose?to=ADDRESS, as a mailto: link would. */
		d.to = dup_or_empty(web_query(r, "to"));
		d.subject = ers_xstrdup("");
		d.body = ers_xstrdup("");
	}
	d.cc = ers_xstrdup("");
	d.bcc = ers_xstrdup("");
	show_form(r, w, &d, NULL, NULL);
	draft_free(&d);
}

/* The typed text with CR LF (as browsers send a textarea) made LF:
 * GMime writes the message's own line ends. */
static char *unix_newlines(const char *s)
{
	char *out = ers_xmalloc(strlen(s) + 1), *o = out;
	for (; *s; s++)
		if (!(*s == '\r' && s[1] == '\n'))
			*o++ = *s;
	*o = '\0';
	return out;
}

/* Appends the sent message to the user's Sent folder (special use \Sent,
 * else one called "Sent", made when missing). */
static int save_sent(struct ers_imap *im, const struct ers_built_mail *m, struct ers_error *err)
{
	struct ers_imap_result fr = { 0 };
	char *name = NULL;
	int rc = ers_imap_folders(im, &fr, err);
	if (rc == 0)
		rc = ers_imap_special_folder(im, &fr, ERS_IMAP_FOLDER_SENT, "Sent", &name, err);
	ers_imap_result_free(&fr);
	if (rc == 0)
		rc = ers_imap_append(im, name, m->data, m->len, err);
	free(name);
	return rc;
}

void page_compose_post(struct web_req *r, struct web_resp *w)
{
	struct draft d = { 0 };
	const char *title = web_form(r, "title");
	d.title = title && !strcmp(title, "Reply") ? "Reply" : title && !strcmp(title, "Forward") ? "Forward" : "New Message";
	d.to = dup_or_empty(web_form(r, "to"));
	d.cc = dup_or_empty(web_form(r, "cc"));
	d.bcc = dup_or_empty(web_form(r, "bcc"));
	d.subject = dup_or_empty(web_form(r, "subject"));
	d.body = unix_newlines(web_form(r, "body") ? web_form(r, "body") : "");
	const char *irt = web_form(r, "in_reply_to");
	d.in_reply_to = irt && *irt ? ers_xstrdup(irt) : NULL;
	d.smime_sign = web_form(r, "smime_sign") != NULL;
	d.smime_encrypt = web_form(r, "smime_encrypt") != NULL;

	struct ers_imap *im = NULL;
	struct ers_buf src = ERS_BUF_INIT, user = ERS_BUF_INIT;
	struct ers_buf *fwd_data = NULL;
	char **fwd_names = NULL, **fwd_types = NULL;
	size_t nfwd = 0;
	struct ers_compose_attachment *atts = NULL;
	size_t natts = 0;
	struct ers_built_mail *built = NULL;
	struct ers_error err;
	const char *fail = NULL; /* a message for the form when it is not err's */
	int status = 0;

	/* Forwarding: the original's attachments the form kept ticked. */
	const char *fwd = web_form(r, "forward");
	if (fwd && *fwd) {
		if (!parse_ref(web_form(r, "folder"), fwd, &d.fwd_uid)) {
			web_error_page(r, w, 400, "The form is not right: the forwarded message needs a folder and a message number.");
			goto out;
		}
		d.fwd_folder = ers_xstrdup(web_form(r, "folder"));
		if (web_imap_open(r, &im, &err) < 0 || load_original(r, im, d.fwd_folder, d.fwd_uid, &src, &d.orig, &err) < 0) {
			status = web_status_of(err.code);
			goto show;
		}
		size_t n = d.orig->nattachments;
		d.fwd_keep = ers_xcalloc(n + 1, sizeof *d.fwd_keep);
		fwd_data = ers_xcalloc(n + 1, sizeof *fwd_data);
		fwd_names = ers_xcalloc(n + 1, sizeof *fwd_names);
		fwd_types = ers_xcalloc(n + 1, sizeof *fwd_types);
		for (size_t i = 0; i < n; i++)
			ers_buf_init(&fwd_data[i]);
		for (size_t i = 0; i < n; i++) {
			char field[32];
			snprintf(field, sizeof field, "fwd_att_%zu", i);
			if (!web_form(r, field))
				continue;
			d.fwd_keep[i] = true;
			if (ers_message_attachment(src.data, src.len, i, &fwd_data[nfwd], &fwd_names[nfwd], &fwd_types[nfwd],
						   &err) < 0) {
				status = web_status_of(err.code);
				goto show;
			}
			nfwd++;
		}
	}

	atts = ers_xcalloc(r->nfiles + nfwd + 1, sizeof *atts);
	for (size_t i = 0; i < nfwd; i++)
		atts[natts++] = (struct ers_compose_attachment){ fwd_names[i], fwd_types[i], fwd_data[i].data, fwd_data[i].len };
	for (size_t i = 0; i < r->nfiles; i++)
		atts[natts++] = (struct ers_compose_attachment){ r->files[i].filename, r->files[i].content_type,
								 r->files[i].data, r->files[i].len };

	struct ers_smtp_params smtp;
	if (web_smtp_params(r, &smtp, &user, &err) < 0) {
		status = web_status_of(err.code);
		goto show;
	}
	struct ers_compose c = {
		.from = r->session.actor.name,
		.to = d.to, .cc = d.cc, .bcc = d.bcc,
		.subject = d.subject,
		.body = d.body,
		.in_reply_to = d.in_reply_to,
		.attachments = atts,
		.nattachments = natts,
	};
	/* S/MIME through the one send function's hook (libers/smime). */
	struct ers_smime_hook smime = { .ctx = r->ctx, .actor = &r->session.actor, .address = r->session.actor.name,
					.sign = d.smime_sign, .encrypt = d.smime_encrypt };
	if (smime.sign || smime.encrypt) {
		c.transform = ers_smime_send_hook;
		c.transform_arg = &smime;
	}
	if (ers_mail_send(r->ctx, &smtp, &c, &built, &err) < 0) {
		status = web_status_of(err.code);
		if (built)
			fail = "The message was not sent.";
		goto show;
	}

	/* Sent.  The copy in Sent is second: its failure must not read as
	 * "not sent" (the recipients have it). */
	if ((im || web_imap_open(r, &im, &err) == 0) && save_sent(im, built, &err) == 0) {
		web_redirect(w, smime.sign && smime.encrypt ? "/?sent=1&smime=signed-encrypted"
				: smime.sign ? "/?sent=1&smime=signed" : smime.encrypt ? "/?sent=1&smime=encrypted" : "/?sent=1");
		goto out;
	}
	{
		struct ers_buf p = ERS_BUF_INIT;
		html(&p, "<section class=\"card\"><h1>Message sent</h1><p class=\"ok\">Message sent.</p>"
			 "<p class=\"error\" role=\"alert\">But the copy for your Sent folder could not be saved: %s</p>"
			 "<p><a class=\"button\" href=\"/\">Back to Inbox</a></p></section>",
		     err.message);
		web_page(r, w, "Message sent", p.data);
		ers_buf_free(&p);
	}
	goto out;

show:
	w->status = status ? status : 422;
	{
		struct ers_buf msg = ERS_BUF_INIT;
		if (fail)
			ers_buf_addf(&msg, "%s ", fail);
		ers_buf_adds(&msg, err.message);
		show_form(r, w, &d, msg.data, r->nfiles ? "Files you chose are not kept when the form comes back: choose them again." : NULL);
		ers_buf_free(&msg);
	}
out:
	web_imap_release(r, im);
	ers_built_mail_free(built);
	for (size_t i = 0; d.orig && i < d.orig->nattachments && fwd_data; i++) {
		ers_buf_free(&fwd_data[i]);
		free(fwd_names[i]);
		free(fwd_types[i]);
	}
	free(fwd_data);
	free(fwd_names);
	free(fwd_types);
	free(atts);
	ers_buf_free(&src);
	ers_buf_free(&user);
	draft_free(&d);
}
