/* Manual 000 "Using the Mailbox", "Email Actions", "Navigating Folders":
 * the folder list (INBOX, Sent, Drafts, Trash, Junk, then custom folders,
 * with unread counts), a page of one folder's messages (sender, subject,
 * date, size; unread in bold with a dot; attachment mark; paging newest
 * first), one message (headers, attachments to download, the external-
 * sender warning, Reply, Forward, Mark as Unread, Delete, the body
 * sanitised in a sandboxed frame with its own strict policy), and the
 * actions: Mark as Unread, Delete (confirmed; to Trash, or for good when
 * already in Trash), attachment download.
 *
 * Every request opens one IMAP connection as USER*MASTER (web_imap_open,
 * web/mailconn.c).  GET never changes anything but \Seen on opening a
 * message (the manual's "automatically marked as read"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "html.h"
#include "web.h"

/* The body frame's policy: nothing but inline styles and data: images, no
 * script (sandbox without allow-scripts), framed only by our own pages.
 * Inline cid: images come as data: URLs: the sandboxed frame has an opaque
 * origin, so requests from it would carry no (SameSite) session cookie. */
#define CSP_BODY "default-src 'none'; img-src data:; style-src 'unsafe-inline'; " \
		 "sandbox allow-popups allow-popups-to-escape-sandbox; frame-ancestors 'self'"
/* The same once the user chose "Show images" for this message: remote
 * images over https too, still never a script. */
#define CSP_BODY_IMAGES "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; " \
			"sandbox allow-popups allow-popups-to-escape-sandbox; frame-ancestors 'self'"
/* A download: nothing in it may run or load, whatever a browser makes of it. */
#define CSP_DOWNLOAD "default-src 'none'; sandbox"
/* An attachment mark drawn inline (no emoji font needed, no request). */
#define PAPERCLIP "<svg class=\"icon\" viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8" \
		  "l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9\"/></svg>"
#define INLINE_IMAGE_MAX (2u << 20) /* bytes of a cid: image shown in the body */

/* --- folders --------------------------------------------------------------- */

static const char *kind_label(enum ers_imap_special k)
{
	switch (k) {
	case ERS_IMAP_FOLDER_INBOX: return "Inbox";
	case ERS_IMAP_FOLDER_SENT: return "Sent";
	case ERS_IMAP_FOLDER_DRAFTS: return "Drafts";
	case ERS_IMAP_FOLDER_TRASH: return "Trash";
	case ERS_IMAP_FOLDER_JUNK: return "Junk";
	default: return NULL;
	}
}

static const struct ers_imap_folder *folder_named(const struct ers_imap_result *fl, const char *name)
{
	for (size_t i = 0; fl && i < fl->nfolders; i++)
		if (!strcmp(fl->folders[i].name, name))
			return &fl->folders[i];
	return NULL;
}

/* What people see for folder `name` (plain text into `out`). */
static void folder_label(const struct ers_imap_result *fl, const char *name, struct ers_buf *out)
{
	const struct ers_imap_folder *f = folder_named(fl, name);
	const char *label = f ? kind_label(f->special) : !strcasecmp(name, "INBOX") ? "Inbox" : NULL;
	if (label)
		ers_buf_adds(out, label);
	else if (f && f->display)
		ers_buf_adds(out, f->display);
	else
		ers_imap_utf7_decode(name, out);
}

static void sidebar_item(struct ers_buf *b, const struct ers_imap_folder *f, const char *current)
{
	struct ers_buf label = ERS_BUF_INIT;
	const char *kl = kind_label(f->special);
	ers_buf_adds(&label, kl ? kl : f->display ? f->display : f->name);
	if (f->noselect) {
		html(b, "<li><span class=\"folder noselect\">%s</span></li>", label.data);
	} else {
		bool cur = !strcmp(f->name, current);
		html(b, "<li><a class=\"folder%r\" href=\"/?folder=%u\"%r><span class=\"name\">%s</span>",
		     cur ? " current" : "", f->name, cur ? " aria-current=\"page\"" : "", label.data);
		if (f->unseen > 0)
			html(b, "<span class=\"badge\" title=\"unread\">%ld</span>", f->unseen);
		html(b, "</a></li>");
	}
	ers_buf_free(&label);
}

/* The folder list: the five known folders first, in that order, then the
 * rest as the server sorted them. */
static void add_sidebar(struct ers_buf *b, const struct ers_imap_result *fl, const char *current)
{
	static const enum ers_imap_special order[] = {
		ERS_IMAP_FOLDER_INBOX, ERS_IMAP_FOLDER_SENT, ERS_IMAP_FOLDER_DRAFTS,
		ERS_IMAP_FOLDER_TRASH, ERS_IMAP_FOLDER_JUNK,
	};
	bool *shown = ers_xcalloc(fl->nfolders ? fl->nfolders : 1, sizeof *shown);
	html(b, "<nav class=\"folders\" aria-label=\"Folders\"><h2 class=\"sr\">Folders</h2><ul>");
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
		for (size_t i = 0; i < fl->nfolders; i++)
			if (!shown[i] && fl->folders[i].special == order[k]) {
				shown[i] = true;
				sidebar_item(b, &fl->folders[i], current);
				break;
			}
	bool first = true;
	for (size_t i = 0; i < fl->nfolders; i++) {
		if (shown[i] || fl->folders[i].shared)
			continue;
		if (first)
			html(b, "</ul><ul class=\"custom\">");
		first = false;
		sidebar_item(b, &fl->folders[i], current);
	}
	/* Shared mailboxes under their own heading (manual 004), each as its
	 * address (its INBOX) and then its folders. */
	first = true;
	size_t skip = strlen(ERS_IMAP_SHARED_PREFIX);
	for (size_t i = 0; i < fl->nfolders; i++) {
		const struct ers_imap_folder *f = &fl->folders[i];
		/* \Noselect: what an open session still lists of one it lost access to. */
		if (!f->shared || f->noselect || strlen(f->name) < skip)
			continue;
		if (first)
			html(b, "</ul><h3 class=\"shared-head\">Shared mailboxes</h3><ul class=\"shared\">");
		first = false;
		struct ers_imap_folder item = *f;
		item.special = ERS_IMAP_FOLDER_NORMAL;
		item.display = f->display && strlen(f->display) >= skip ? f->display + skip : f->name + skip;
		sidebar_item(b, &item, current);
	}
	html(b, "</ul></nav>");
	free(shown);
}

/* The mail layout: folder list beside (on phones: above) `content`. */
static void mail_page(struct web_req *r, struct web_resp *w, const char *title, const struct ers_imap_result *fl,
		      const char *current, const char *content)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<div class=\"mail\">");
	add_sidebar(&c, fl, current);
	html(&c, "<div class=\"pane\">%r</div></div>", content);
	web_page(r, w, title, c.data);
	ers_buf_free(&c);
}

/* --- small pieces -------------------------------------------------------------- */

static void add_address(struct ers_buf *b, const struct ers_imap_addresses *a)
{
	if (!a->n) {
		html(b, "(unknown sender)");
		return;
	}
	const struct ers_imap_address *x = &a->items[0];
	if (x->name && *x->name)
		html(b, "<span title=\"%s@%s\">%s</span>", x->mailbox, x->host, x->name);
	else
		html(b, "%s@%s", x->mailbox ? x->mailbox : "", x->host ? x->host : "");
}

static void add_size(struct ers_buf *b, long long n)
{
	if (n < 0)
		return;
	if (n < 1024)
		html(b, "%lld B", n);
	else if (n < 1024 * 1024)
		html(b, "%lld KB", (n + 1023) / 1024);
	else
		html(b, "%lld MB", (n + 1024 * 1024 - 1) / (1024 * 1024));
}

/* `full`: the date as "YYYY-MM-DD HH:MM UTC", else without " UTC" (the
 * list); the full UTC time is the tooltip either way. */
static void add_date(struct ers_buf *b, long long t, bool full)
{
	char shown[40], iso[40];
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(shown, sizeof shown, "%Y-%m-%d %H:%M UTC", &tm) ||
	    !strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return;
	char brief[40];
	memcpy(brief, shown, sizeof brief);
	brief[16] = '\0'; /* "YYYY-MM-DD HH:MM" */
	html(b, "<time datetime=\"%s\" title=\"%s\">%s</time>", iso, shown, full ? shown : brief);
}

/* A folder name from a link or form: what the server's names can be. */
static bool folder_ok(const char *f)
{
	if (!f || !*f || strlen(f) > 500)
		return false;
	for (const unsigned char *p = (const unsigned char *)f; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static void hidden_ref(struct web_req *r, struct ers_buf *b, const char *folder, uint32_t uid)
{
	web_csrf_field(r, b);
	html(b, "<input type=\"hidden\" name=\"folder\" value=\"%s\"><input type=\"hidden\" name=\"uid\" value=\"%ld\">",
	     folder, (long)uid);
}

/* --- the mailbox ------------------------------------------------------------------ */

static const char *done_notice(const char *done)
{
	if (!done)
		return NULL;
	if (!strcmp(done, "unread"))
		return "Marked as unread.";
	if (!strcmp(done, "moved"))
		return "The message was moved to Trash.";
	if (!strcmp(done, "deleted"))
		return "The message was deleted permanently.";
	if (!strcmp(done, "spam"))
		return "The message was marked as spam and moved to Junk.";
	if (!strcmp(done, "notspam"))
		return "The message was marked as not spam and moved to the Inbox.";
	if (!strcmp(done, "spam-unlearned"))
		return "The message was moved to Junk, but the spam filter could not learn from it: try again later.";
	if (!strcmp(done, "notspam-unlearned"))
		return "The message was moved to the Inbox, but the spam filter could not learn from it: try again later.";
	if (!strcmp(done, "spam-skipped"))
		return "The message was moved to Junk. It has too few words for the spam filter to learn from.";
	if (!strcmp(done, "notspam-skipped"))
		return "The message was moved to the Inbox. It has too few words for the spam filter to learn from.";
	if (!strcmp(done, "filed"))
		return "The message was moved.";
	return NULL;
}

void page_mailbox(struct web_req *r, struct web_resp *w)
{
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 }, res = { 0 };
	struct ers_error err;
	const char *folder = web_query(r, "folder");
	if (!folder || !*folder)
		folder = "INBOX";
	if (!folder_ok(folder)) {
		web_error_page(r, w, 400, "The folder name is not right: at most 500 characters, no control characters.");
		return;
	}
	const char *page_s = web_query(r, "page");
	long page = page_s ? strtol(page_s, NULL, 10) : 1;
	if (page < 1 || page > 1000000)
		page = 1;
	int rc = web_imap_open(r, &im, &err) < 0 || ers_imap_folders(im, &fl, &err) < 0 ? -1 : 0;
	const struct ers_imap_folder *known = rc == 0 ? folder_named(&fl, folder) : NULL;
	if (rc == 0 && (!known || known->noselect)) {
		struct ers_buf msg = ERS_BUF_INIT;
		ers_buf_adds(&msg, "There is no folder named \"");
		ers_imap_utf7_decode(folder, &msg);
		ers_buf_adds(&msg, "\" that can hold messages.");
		web_error_page(r, w, 404, msg.data);
		ers_buf_free(&msg);
		ers_imap_result_free(&fl);
		web_imap_release(r, im);
		return;
	}
	if (rc < 0 || ers_imap_page(im, folder, (size_t)page - 1, WEB_PER_PAGE, &res, &err) < 0) {
		ers_imap_result_free(&fl);
		ers_imap_result_free(&res);
		web_imap_release(r, im);
		web_ers_error(r, w, &err);
		return;
	}
	web_imap_release(r, im);
	struct ers_buf label = ERS_BUF_INIT, c = ERS_BUF_INIT;
	folder_label(&fl, folder, &label);
	bool inbox = !strcmp(folder, "INBOX");
	const struct ers_imap_folder *f = folder_named(&fl, folder);

	html(&c, "<section class=\"mailbox\">");
	const char *sent = web_query(r, "sent"), *done = done_notice(web_query(r, "done"));
	const char *smime = web_query(r, "smime");
	if (sent && !strcmp(sent, "1"))
		html(&c, "<p class=\"ok\" role=\"status\">Message sent%r.</p>",
		     !smime ? "" : !strcmp(smime, "signed-encrypted") ? ", signed and encrypted with S/MIME"
		     : !strcmp(smime, "signed") ? ", signed with S/MIME" : !strcmp(smime, "encrypted") ? ", encrypted with S/MIME" : "");
	if (done)
		html(&c, "<p class=\"ok\" role=\"status\">%s</p>", done);
	html(&c, "<div class=\"toolbar\"><h1>%s</h1><span class=\"count\">%ld message%r",
	     label.data, (long)res.exists, res.exists == 1 ? "" : "s");
	if (f && f->unseen > 0)
		html(&c, ", %ld unread", f->unseen);
	html(&c, "</span><div class=\"actions\"><a class=\"button\" href=\"/compose\" data-key=\"c\">Compose</a>"
		 "<a class=\"button secondary\" href=\"/?folder=%u\">%r</a></div></div>",
	     folder, inbox ? "Refresh Inbox" : "Refresh");
	if (!res.nmsgs)
		html(&c, "<p class=\"empty\">%r</p>", res.exists ? "No messages on this page." : "No messages in this folder.");
	else {
		/* In Sent and Drafts the other party is the recipient. */
		bool sent_like = f && (f->special == ERS_IMAP_FOLDER_SENT || f->special == ERS_IMAP_FOLDER_DRAFTS);
		html(&c, "<table class=\"messages\"><thead><tr><th class=\"from\">%r</th><th>Subject</th>"
			 "<th class=\"date\">Date</th><th class=\"num\">Size</th></tr></thead><tbody>",
		     sent_like ? "To" : "From");
		for (size_t i = 0; i < res.nmsgs; i++) {
			const struct ers_imap_message *m = &res.msgs[i];
			bool unread = !(m->flags & ERS_IMAP_SEEN);
			const char *subject = m->envelope.subject && *m->envelope.subject ? m->envelope.subject : "(no subject)";
			html(&c, "<tr class=\"msg %r\"><td class=\"from\">%r", unread ? "unread" : "read",
			     unread ? "<span class=\"sr\">Unread: </span>" : "");
			add_address(&c, sent_like ? &m->envelope.to : &m->envelope.from);
			html(&c, "</td><td class=\"subject\"><a href=\"/message?folder=%u&amp;uid=%ld\">%s</a>%r</td>"
				 "<td class=\"date\">",
			     folder, (long)m->uid, subject,
			     m->has_attachments ? "<span class=\"clip\" title=\"has attachments\">" PAPERCLIP
						  "<span class=\"sr\">has attachments</span></span>" : "");
			add_date(&c, m->internaldate, false);
			html(&c, "</td><td class=\"num\">");
			add_size(&c, m->size);
			html(&c, "</td></tr>");
		}
		html(&c, "</tbody></table>");
	}
	size_t pages = (res.exists + WEB_PER_PAGE - 1) / WEB_PER_PAGE;
	if (pages > 1) {
		html(&c, "<nav class=\"pages\" aria-label=\"Pages\">");
		if (page > 1)
			html(&c, "<a href=\"/?folder=%u&amp;page=%ld\" rel=\"prev\">&larr; Newer</a>", folder, page - 1);
		html(&c, "<span>Page %ld of %zu</span>", page, pages);
		if ((size_t)page < pages)
			html(&c, "<a href=\"/?folder=%u&amp;page=%ld\" rel=\"next\">Older &rarr;</a>", folder, page + 1);
		html(&c, "</nav>");
	}
	html(&c, "</section>");
	mail_page(r, w, label.data, &fl, folder, c.data);
	ers_imap_result_free(&res);
	ers_imap_result_free(&fl);
	ers_buf_free(&label);
	ers_buf_free(&c);
}

/* --- one message ------------------------------------------------------------------- */

/* The folder and UID of a message request (from the query, or for a POST
 * the form); -1 with a 400 page if bad. */
static int message_ref(struct web_req *r, struct web_resp *w, bool form, const char **folder_r, uint32_t *uid_r)
{
	const char *folder = form ? web_form(r, "folder") : web_query(r, "folder");
	const char *uid_s = form ? web_form(r, "uid") : web_query(r, "uid");
	char *end = NULL;
	unsigned long uid = uid_s ? strtoul(uid_s, &end, 10) : 0;
	if (!folder_ok(folder) || !uid_s || !*uid_s || *end || uid == 0 || uid > UINT32_MAX) {
		web_error_page(r, w, 400, "The link is not right: it must name a folder and a message number.");
		return -1;
	}
	*folder_r = folder;
	*uid_r = (uint32_t)uid;
	return 0;
}

/* The image types shown inline (none can script: never SVG), as a constant
 * string; NULL for any other type. */
static const char *inline_image_type(const char *type)
{
	static const char *const ok[] = { "image/png", "image/gif", "image/jpeg", "image/webp" };
	for (size_t i = 0; type && i < sizeof ok / sizeof ok[0]; i++)
		if (!strcmp(type, ok[i]))
			return ok[i];
	return NULL;
}

struct source {
	const char *data;
	size_t len;
};

/* ers_message_opts.attachment_url: an inline image as a data: URL, image
 * types that cannot script only (never SVG). */
static char *cid_data_url(size_t index, void *data)
{
	const struct source *s = data;
	struct ers_buf bytes = ERS_BUF_INIT, url = ERS_BUF_INIT;
	char *type = NULL;
	struct ers_error err;
	if (ers_message_attachment(s->data, s->len, index, &bytes, NULL, &type, &err) == 0 &&
	    inline_image_type(type) && bytes.len <= INLINE_IMAGE_MAX) {
		ers_buf_addf(&url, "data:%s;base64,", type);
		ers_buf_add_base64(&url, bytes.data, bytes.len);
	}
	free(type);
	ers_buf_free(&bytes);
	if (!url.len) {
		ers_buf_free(&url);
		return NULL;
	}
	return url.data; /* the buffer's own malloc'd string */
}

/* What the S/MIME layer of the last message fetched was (one request,
 * one message): page_message shows it. */
static struct ers_smime_read smime_read;
static bool smime_seen;

/* The message's source -- an S/MIME one opened (decrypted, verified) for
 * the user; -1 with an error page. */
static int fetch(struct web_req *r, struct web_resp *w, struct ers_imap *im, const char *folder, uint32_t uid,
		 bool mark_seen, struct ers_buf *src)
{
	struct ers_error err;
	if (ers_imap_fetch_source(im, folder, uid, mark_seen, src, &err) < 0) {
		if (err.code == ERS_E_NOTFOUND)
			web_error_page(r, w, 404, "This message is not there any more: it may have been moved or deleted.");
		else
			web_ers_error(r, w, &err);
		return -1;
	}
	smime_seen = web_smime_open(r, src, &smime_read);
	return 0;
}

/* Opens IMAP, fetches one message's source without marking it read and
 * closes again: for the body frame and attachments.  -1 with the page. */
static int fetch_alone(struct web_req *r, struct web_resp *w, const char *folder, uint32_t uid, struct ers_buf *src)
{
	struct ers_imap *im = NULL;
	struct ers_error err;
	if (web_imap_open(r, &im, &err) < 0) {
		web_ers_error(r, w, &err);
		return -1;
	}
	int rc = fetch(r, w, im, folder, uid, false, src);
	web_imap_release(r, im);
	return rc;
}

void page_message(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 };
	struct ers_buf src = ERS_BUF_INIT;
	struct ers_message *m = NULL;
	struct ers_error err;
	char **domains = NULL;
	size_t ndomains = 0;
	if (message_ref(r, w, false, &folder, &uid) < 0)
		return;
	const char *images = web_query(r, "images");
	bool show_images = images && !strcmp(images, "1");
	/* Every domain of the tenant is internal; a sender elsewhere gets the warning. */
	if (ers_tenant_domain_names(r->ctx, &r->session.actor, &domains, &ndomains, &err) < 0 ||
	    web_imap_open(r, &im, &err) < 0 || ers_imap_folders(im, &fl, &err) < 0) {
		web_ers_error(r, w, &err);
		goto out;
	}
	if (fetch(r, w, im, folder, uid, true, &src) < 0)
		goto out;
	const char *at = strrchr(r->session.actor.name, '@');
	const char **internal = ers_xcalloc(ndomains + 1, sizeof *internal);
	for (size_t i = 0; i < ndomains; i++)
		internal[i] = domains[i];
	internal[ndomains] = at ? at + 1 : "";
	struct ers_message_opts opts = { .internal_domains = internal, .ninternal = ndomains + 1 };
	int rc = ers_message_parse(src.data, src.len, &opts, &m, &err);
	free(internal);
	if (rc < 0) {
		web_ers_error(r, w, &err);
		goto out;
	}

	struct ers_buf c = ERS_BUF_INIT, label = ERS_BUF_INIT;
	folder_label(&fl, folder, &label);
	const char *subject = *m->subject ? m->subject : "(no subject)";
	const struct ers_imap_folder *f = folder_named(&fl, folder);
	bool in_trash = f && f->special == ERS_IMAP_FOLDER_TRASH;
	bool in_junk = f && f->special == ERS_IMAP_FOLDER_JUNK;
	html(&c, "<article class=\"message\"><div class=\"msg-actions\">"
		 "<a class=\"button secondary\" href=\"/?folder=%u\" data-key=\"b\">&larr; Back to %s</a>"
		 "<a class=\"button\" href=\"/compose?reply=%ld&amp;folder=%u\" data-key=\"r\">Reply</a>"
		 "<a class=\"button\" href=\"/compose?forward=%ld&amp;folder=%u\" data-key=\"f\">Forward</a>"
		 "<form method=\"post\" action=\"/message/unread\" class=\"inline\">",
	     folder, label.data, (long)uid, folder, (long)uid, folder);
	hidden_ref(r, &c, folder, uid);
	html(&c, "<button type=\"submit\" class=\"secondary\" data-key=\"u\">Mark as Unread</button></form>"
		 "<form method=\"post\" action=\"/message/%r\" class=\"inline\">", in_junk ? "notspam" : "spam");
	hidden_ref(r, &c, folder, uid);
	html(&c, "<button type=\"submit\" class=\"secondary\">%r</button></form>"
		 "<form method=\"post\" action=\"/message/delete\" class=\"inline\" data-confirm=\"%r\">",
	     in_junk ? "Not spam" : "Mark as spam",
	     in_trash ? "Delete this message permanently?" : "Delete this message? It will be moved to Trash.");
	hidden_ref(r, &c, folder, uid);
	html(&c, "<button type=\"submit\" class=\"danger\" data-key=\"#\">Delete</button></form>"
		 "<form method=\"post\" action=\"/message/move\" class=\"inline move\">");
	hidden_ref(r, &c, folder, uid);
	/* Any other folder, a shared mailbox's too (with the right to file). */
	html(&c, "<label class=\"sr\" for=\"move-to\">Move to</label><select name=\"to\" id=\"move-to\">"
		 "<option value=\"\">Move to&hellip;</option>");
	for (size_t i = 0; i < fl.nfolders; i++) {
		const struct ers_imap_folder *t = &fl.folders[i];
		if (t->noselect || !strcmp(t->name, folder))
			continue;
		struct ers_buf tl = ERS_BUF_INIT;
		folder_label(&fl, t->name, &tl);
		html(&c, "<option value=\"%s\">%s</option>", t->name, tl.data);
		ers_buf_free(&tl);
	}
	html(&c, "</select><button type=\"submit\" class=\"secondary\">Move</button></form></div><h1>%s</h1>", subject);
	if (m->external_sender)
		html(&c, "<p class=\"warning%r\" role=\"note\">%r</p>", m->nattachments ? " strong" : "",
		     m->nattachments ? "&#9888; This message comes from outside your organization and has attachments. "
				       "Be extra careful before opening them."
				     : "This message comes from outside your organization.");
	if (smime_seen)
		web_smime_read_html(r, &smime_read, folder, uid, &c);
	html(&c, "<dl class=\"headers\"><dt>From</dt><dd>%s</dd><dt>To</dt><dd>%s</dd>", m->from, m->to);
	if (*m->cc)
		html(&c, "<dt>Cc</dt><dd>%s</dd>", m->cc);
	html(&c, "<dt>Subject</dt><dd>%s</dd>", subject);
	if (m->date > 0) {
		html(&c, "<dt>Date</dt><dd>");
		add_date(&c, m->date, true);
		html(&c, "</dd>");
	}
	html(&c, "</dl>");
	if (m->nattachments) {
		html(&c, "<h2 class=\"sr\">Attachments</h2><ul class=\"attachments\">");
		for (size_t i = 0; i < m->nattachments; i++) {
			/* ers_attachment_name_safe made the name safe to show, bidi
			 * controls included. */
			html(&c, "<li>" PAPERCLIP "<a href=\"/message/attachment?folder=%u&amp;uid=%ld&amp;part=%zu\" download>%s</a>"
				 " <span class=\"meta\">%s, ",
			     folder, (long)uid, i, m->attachments[i].filename, m->attachments[i].content_type);
			add_size(&c, (long long)m->attachments[i].size);
			html(&c, "</span></li>");
		}
		html(&c, "</ul>");
	}
	if (m->truncated)
		html(&c, "<p class=\"notice\">This message has more parts than are shown.</p>");
	if (m->blocked_images && !show_images)
		html(&c, "<p class=\"notice images\">%zu remote image%r %r blocked. "
			 "<a href=\"/message?folder=%u&amp;uid=%ld&amp;images=1\">Show images</a></p>",
		     m->blocked_images, m->blocked_images == 1 ? "" : "s", m->blocked_images == 1 ? "was" : "were",
		     folder, (long)uid);
	html(&c, "<iframe class=\"body\" sandbox=\"allow-popups allow-popups-to-escape-sandbox\" referrerpolicy=\"no-referrer\" "
		 "title=\"message body\" src=\"/message/body?folder=%u&amp;uid=%ld%r\"></iframe></article>",
	     folder, (long)uid, show_images ? "&amp;images=1" : "");
	mail_page(r, w, subject, &fl, folder, c.data);
	ers_buf_free(&c);
	ers_buf_free(&label);
out:
	ers_message_free(m);
	ers_buf_free(&src);
	ers_imap_result_free(&fl);
	web_imap_release(r, im);
	ers_tenant_domain_names_free(domains, ndomains);
}

void page_message_body(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_buf src = ERS_BUF_INIT;
	struct ers_message *m = NULL;
	struct ers_error err;
	if (message_ref(r, w, false, &folder, &uid) < 0)
		return;
	const char *images = web_query(r, "images");
	bool show_images = images && !strcmp(images, "1");
	if (fetch_alone(r, w, folder, uid, &src) < 0)
		goto out;
	struct source s = { src.data, src.len };
	struct ers_message_opts opts = { .allow_remote_images = show_images, .attachment_url = cid_data_url, .data = &s };
	if (ers_message_parse(src.data, src.len, &opts, &m, &err) < 0) {
		web_ers_error(r, w, &err);
		goto out;
	}
	w->status = 200;
	w->csp = show_images ? CSP_BODY_IMAGES : CSP_BODY;
	ers_buf_adds(&w->headers, "X-Frame-Options: SAMEORIGIN\r\n");
	/* body_html is the sanitiser's output: safe markup by contract. */
	html(&w->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><base target=\"_blank\">"
		       "<meta name=\"color-scheme\" content=\"light\">"
		       "<style>body{font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
		       "padding:16px 20px;color:#1f2933;background:#fff;overflow-wrap:anywhere}"
		       "img{max-width:100%%;height:auto}a{color:#2f6fde}blockquote{margin:0 0 0 .5em;"
		       "padding-left:1em;border-left:3px solid #d5dbe3;color:#52606d}"
		       ".ers-blocked-image{display:inline-block;padding:0 .3em;border:1px dashed #cbd2d9;"
		       "color:#7b8794;font-size:.85em}</style></head><body>%r</body></html>\n",
	     m->body_html);
out:
	ers_message_free(m);
	ers_buf_free(&src);
}

/* GET /message/attachment?folder=F&uid=U&part=N: the bytes, always as a
 * download of an opaque type, so nothing a sender sends renders here.
 * With inline=1, an image of a type that cannot script, for <img>. */
void page_message_attachment(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_buf src = ERS_BUF_INIT, data = ERS_BUF_INIT;
	struct ers_error err;
	char *name = NULL, *type = NULL;
	if (message_ref(r, w, false, &folder, &uid) < 0)
		return;
	const char *part_s = web_query(r, "part"), *inl = web_query(r, "inline");
	char *end = NULL;
	unsigned long part = part_s && *part_s ? strtoul(part_s, &end, 10) : 0;
	if (!part_s || !*part_s || *end || part >= ERS_MESSAGE_MAX_PARTS) {
		web_error_page(r, w, 400, "The link is not right: part must be the number of an attachment.");
		return;
	}
	bool as_inline = inl && !strcmp(inl, "1");
	if (fetch_alone(r, w, folder, uid, &src) < 0)
		goto out;
	if (ers_message_attachment(src.data, src.len, part, &data, &name, &type, &err) < 0) {
		if (err.code == ERS_E_NOTFOUND)
			web_error_page(r, w, 404, "This message has no such attachment.");
		else
			web_ers_error(r, w, &err);
		goto out;
	}
	if (as_inline && !inline_image_type(type)) {
		web_error_page(r, w, 404, "Only PNG, GIF, JPEG and WebP images are shown inline; download the attachment instead.");
		goto out;
	}
	w->status = 200;
	w->content_type = as_inline ? inline_image_type(type) : "application/octet-stream";
	w->csp = CSP_DOWNLOAD;
	/* The name is already safe (no path, no control or bidi characters:
	 * ers_attachment_name_safe); the quoted form keeps plain ASCII only,
	 * filename* carries the rest. */
	struct ers_buf ascii = ERS_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		ers_buf_addch(&ascii, (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != ';' && *p != '%')
				      ? (char)*p : '_');
	ers_buf_addf(&w->headers, "Content-Disposition: %s; filename=\"%s\"; filename*=UTF-8''",
		     as_inline ? "inline" : "attachment", ascii.data);
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("!#$&+-.^_`|~", *p))
			ers_buf_addch(&w->headers, (char)*p);
		else
			ers_buf_addf(&w->headers, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	ers_buf_adds(&w->headers, "\r\nCache-Control: private, no-store\r\n");
	ers_buf_free(&ascii);
	ers_buf_add(&w->body, data.data, data.len);
out:
	free(type);
	free(name);
	ers_buf_free(&data);
	ers_buf_free(&src);
}

/* --- actions (POST, CSRF checked by the router) ---------------------------------------- */

void page_message_unread(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_imap *im = NULL;
	struct ers_error err;
	if (message_ref(r, w, true, &folder, &uid) < 0)
		return;
	if (web_imap_open(r, &im, &err) < 0 || ers_imap_set_seen(im, folder, uid, false, &err) < 0) {
		web_imap_release(r, im);
		web_ers_error(r, w, &err);
		return;
	}
	web_imap_release(r, im);
	struct ers_buf loc = ERS_BUF_INIT;
	html(&loc, "/?folder=%u&done=unread", folder);
	web_redirect(w, loc.data);
	ers_buf_free(&loc);
}

static void delete_confirm_page(struct web_req *r, struct web_resp *w, const char *folder, uint32_t uid,
				bool in_trash)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card narrow confirm\"><h1>Delete</h1><p>%r</p>"
		 "<form method=\"post\" action=\"/message/delete\">",
	     in_trash ? "Delete this message permanently?" : "Delete this message? It will be moved to Trash.");
	hidden_ref(r, &c, folder, uid);
	html(&c, "<input type=\"hidden\" name=\"confirm\" value=\"1\"><div class=\"actions\">"
		 "<button type=\"submit\" class=\"danger\">%r</button>"
		 "<a class=\"button secondary\" href=\"/message?folder=%u&amp;uid=%ld\">Cancel</a></div></form></section>",
	     in_trash ? "Delete permanently" : "Delete", folder, (long)uid);
	web_page(r, w, "Delete this message?", c.data);
	ers_buf_free(&c);
}

/* Which folder a move goes to (a string to free), and the notice shown
 * after it; NULL with `err` when there is none to go to. */
typedef char *move_target_fn(struct web_req *r, struct ers_imap *im, const struct ers_imap_result *fl,
			     const char *folder, const char **done, struct ers_error *err);

enum learn { LEARN_NOTHING, LEARN_SPAM, LEARN_HAM };

/* The one move: the form's message, the folder list, the target, the
 * move (none when it is there already), back to the folder it was in. */
static void move_message(struct web_req *r, struct web_resp *w, move_target_fn *target, enum learn learn)
{
	const char *folder, *done = NULL;
	uint32_t uid;
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 };
	struct ers_error err;
	char *to = NULL;
	struct ers_buf source = ERS_BUF_INIT;
	if (message_ref(r, w, true, &folder, &uid) < 0)
		return;
	if (web_imap_open(r, &im, &err) < 0 || ers_imap_folders(im, &fl, &err) < 0 ||
	    !(to = target(r, im, &fl, folder, &done, &err)))
		goto fail;
	/* Mark as spam / Not spam also teach rspamd's Bayes classifier, from
	 * the message as it is before the move. */
	if (learn != LEARN_NOTHING && r->cfg->mailstack.rspamd_controller &&
	    ers_imap_fetch_source(im, folder, uid, false, &source, &err) < 0)
		goto fail;
	if (strcmp(to, folder) && ers_imap_move(im, folder, uid, to, &err) < 0)
		goto fail;
	if (source.len) {
		struct ers_error lerr;
		int learned = ers_spam_learn(r->ctx, &r->session.actor, r->session.actor.name, learn == LEARN_SPAM,
					     source.data, source.len, &lerr);
		if (learned < 0)
			done = learn == LEARN_SPAM ? "spam-unlearned" : "notspam-unlearned";
		else if (learned == ERS_SPAM_LEARN_SKIPPED)
			done = learn == LEARN_SPAM ? "spam-skipped" : "notspam-skipped";
	}
	struct ers_buf loc = ERS_BUF_INIT;
	html(&loc, "/?folder=%u&done=%r", folder, done);
	web_redirect(w, loc.data);
	ers_buf_free(&loc);
	goto out;
fail:
	web_ers_error(r, w, &err);
out:
	free(to);
	ers_buf_free(&source);
	ers_imap_result_free(&fl);
	web_imap_release(r, im);
}

/* "Mark as spam" moves a message to Junk (made if there is none yet),
 * "Not spam" from Junk to the Inbox. */
static char *to_junk(struct web_req *r, struct ers_imap *im, const struct ers_imap_result *fl, const char *folder,
		     const char **done, struct ers_error *err)
{
	(void)r, (void)folder;
	char *to = NULL;
	*done = "spam";
	return ers_imap_special_folder(im, fl, ERS_IMAP_FOLDER_JUNK, "Junk", &to, err) < 0 ? NULL : to;
}

static char *to_inbox(struct web_req *r, struct ers_imap *im, const struct ers_imap_result *fl, const char *folder,
		      const char **done, struct ers_error *err)
{
	(void)r, (void)im, (void)fl, (void)folder, (void)err;
	*done = "notspam";
	return ers_xstrdup("INBOX");
}

/* "Move to": into another of the user's folders, one of a shared mailbox
 * included -- only those the folder list shows, and Dovecot's ACLs decide
 * whether the user may file there. */
static char *to_chosen(struct web_req *r, struct ers_imap *im, const struct ers_imap_result *fl, const char *folder,
		       const char **done, struct ers_error *err)
{
	(void)im;
	const char *to = web_form(r, "to");
	const struct ers_imap_folder *t = to ? folder_named(fl, to) : NULL;
	if (!t || t->noselect || !strcmp(to, folder)) {
		ers_error_set(err, ERS_E_INVALID, "choose another of your folders to move the message to");
		return NULL;
	}
	*done = "filed";
	return ers_xstrdup(to);
}

void page_message_move(struct web_req *r, struct web_resp *w)
{
	move_message(r, w, to_chosen, LEARN_NOTHING);
}

void page_message_spam(struct web_req *r, struct web_resp *w)
{
	move_message(r, w, to_junk, LEARN_SPAM);
}

void page_message_notspam(struct web_req *r, struct web_resp *w)
{
	move_message(r, w, to_inbox, LEARN_HAM);
}

/* Delete: first a confirmation page (no script needed); with confirm=1,
 * to Trash (made when missing), or for good when it is in Trash. */
void page_message_delete(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 };
	struct ers_error err;
	if (message_ref(r, w, true, &folder, &uid) < 0)
		return;
	const char *confirm = web_form(r, "confirm");
	if (web_imap_open(r, &im, &err) < 0 || ers_imap_folders(im, &fl, &err) < 0)
		goto fail;
	const struct ers_imap_folder *trash = ers_imap_folder_find(&fl, ERS_IMAP_FOLDER_TRASH);
	bool in_trash = trash && !strcmp(trash->name, folder);
	if (!confirm || strcmp(confirm, "1")) {
		delete_confirm_page(r, w, folder, uid, in_trash);
		goto out;
	}
	if (in_trash) {
		if (ers_imap_delete(im, folder, uid, &err) < 0)
			goto fail;
	} else {
		/* No Trash yet (manual: "if configured"): the usual one is made. */
		char *to = NULL;
		int rc = ers_imap_special_folder(im, &fl, ERS_IMAP_FOLDER_TRASH, "Trash", &to, &err);
		if (rc == 0)
			rc = ers_imap_move(im, folder, uid, to, &err);
		free(to);
		if (rc < 0)
			goto fail;
	}
	struct ers_buf loc = ERS_BUF_INIT;
	html(&loc, "/?folder=%u&done=%r", folder, in_trash ? "deleted" : "moved");
	web_redirect(w, loc.data);
	ers_buf_free(&loc);
	goto out;
fail:
	web_ers_error(r, w, &err);
out:
	ers_imap_result_free(&fl);
	web_imap_release(r, im);
}
