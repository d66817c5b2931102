/* Manual 000 "Using the Mailbox": the INBOX list (sender, subject, date,
 * size; unread in bold) and one message (headers, attachments listed, the
 * external-sender warning, the body sanitised and shown in a sandboxed
 * frame served with its own strict policy from /message/body).
 *
 * Every request opens one IMAP connection to this mail node's Dovecot as
 * USER*MASTER (mailstack.master_user, WEBMAIL_MASTER_PASSWORD), STARTTLS
 * when the node has a certificate, verified against dns.ca_file (unset:
 * the system's CAs). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "html.h"
#include "web.h"

/* The body frame's policy: nothing but inline styles and data: images, no
 * script (sandbox without allow-scripts), framed only by our own pages. */
#define CSP_BODY "default-src 'none'; img-src data:; style-src 'unsafe-inline'; " \
		 "sandbox allow-popups allow-popups-to-escape-sandbox; frame-ancestors 'self'"

static int imap_open(struct web_req *r, struct ers_imap **im_r, struct ers_error *err)
{
	const struct ers_config *cfg = r->cfg;
	if (!cfg->secrets.webmail_master_password) {
		ers_error_set(err, ERS_E_CONFIG, "the webmail cannot open mailboxes: WEBMAIL_MASTER_PASSWORD is not set "
			      "in the secrets file");
		return -1;
	}
	const char *listen = cfg->mailstack.listen;
	const char *host = listen && *listen && strcmp(listen, "*") ? listen : cfg->mailstack.hostname;
	struct ers_buf user = ERS_BUF_INIT;
	ers_buf_addf(&user, "%s*%s", r->session.actor.name, cfg->mailstack.master_user);
	struct ers_imap_params p = {
		.host = host,
		.port = cfg->mailstack.imap_port,
		.tls = cfg->mailstack.tls_cert && *cfg->mailstack.tls_cert ? ERS_IMAP_STARTTLS : ERS_IMAP_PLAIN,
		.ca_file = cfg->dns.ca_file,
		.username = user.data,
		.password = cfg->secrets.webmail_master_password,
		.timeout_s = 20,
	};
	int rc = ers_imap_open(&p, im_r, err);
	ers_buf_free(&user);
	return rc;
}

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

static void add_date(struct ers_buf *b, long long t)
{
	char s[40];
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", &tm))
		return;
	html(b, "<time>%s</time>", s);
}

void page_mailbox(struct web_req *r, struct web_resp *w)
{
	struct ers_imap *im = NULL;
	struct ers_imap_result res = { 0 };
	struct ers_error err;
	const char *page_s = web_query(r, "page");
	long page = page_s ? strtol(page_s, NULL, 10) : 1;
	if (page < 1 || page > 1000000)
		page = 1;
	if (imap_open(r, &im, &err) < 0 ||
	    ers_imap_page(im, "INBOX", (size_t)page - 1, WEB_PER_PAGE, &res, &err) < 0) {
		ers_imap_result_free(&res);
		ers_imap_close(im);
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"mailbox\"><div class=\"toolbar\"><h1>Inbox</h1>"
		 "<span class=\"count\">%ld message(s)</span><a class=\"button\" href=\"/\">Refresh Inbox</a></div>",
	     (long)res.exists);
	if (!res.nmsgs)
		html(&c, "<p class=\"empty\">No messages.</p>");
	else {
		html(&c, "<table class=\"messages\"><thead><tr><th>From</th><th>Subject</th><th>Date</th>"
			 "<th class=\"num\">Size</th></tr></thead><tbody>");
		for (size_t i = 0; i < res.nmsgs; i++) {
			const struct ers_imap_message *m = &res.msgs[i];
			bool unread = !(m->flags & ERS_IMAP_SEEN);
			const char *subject = m->envelope.subject && *m->envelope.subject ? m->envelope.subject : "(no subject)";
			html(&c, "<tr class=\"%r\"><td class=\"from\">", unread ? "unread" : "read");
			add_address(&c, &m->envelope.from);
			html(&c, "</td><td class=\"subject\"><a href=\"/message?folder=INBOX&amp;uid=%ld\">%s</a>%r</td><td>",
			     (long)m->uid, subject, m->has_attachments ? " <span class=\"clip\" title=\"attachments\">&#128206;</span>" : "");
			add_date(&c, m->internaldate);
			html(&c, "</td><td class=\"num\">");
			add_size(&c, m->size);
			html(&c, "</td></tr>");
		}
		html(&c, "</tbody></table>");
	}
	size_t pages = (res.exists + WEB_PER_PAGE - 1) / WEB_PER_PAGE;
	if (pages > 1) {
		html(&c, "<nav class=\"pages\">");
		if (page > 1)
			html(&c, "<a href=\"/?page=%ld\">Newer</a>", page - 1);
		html(&c, "<span>Page %ld of %zu</span>", page, pages);
		if ((size_t)page < pages)
			html(&c, "<a href=\"/?page=%ld\">Older</a>", page + 1);
		html(&c, "</nav>");
	}
	html(&c, "</section>");
	ers_imap_result_free(&res);
	ers_imap_close(im);
	web_page(r, w, "Inbox", c.data);
	ers_buf_free(&c);
}

/* The folder and UID of a message request; -1 with a 400 page if bad. */
static int message_ref(struct web_req *r, struct web_resp *w, const char **folder_r, uint32_t *uid_r)
{
	const char *folder = web_query(r, "folder"), *uid_s = web_query(r, "uid");
	char *end = NULL;
	unsigned long uid = uid_s ? strtoul(uid_s, &end, 10) : 0;
	if (!folder || !*folder || strlen(folder) > 500 || !uid_s || !*uid_s || *end || uid == 0 || uid > UINT32_MAX) {
		web_error_page(r, w, 400, "The link is not right: it must name a folder and a message number.");
		return -1;
	}
	*folder_r = folder;
	*uid_r = (uint32_t)uid;
	return 0;
}

/* Fetches and parses a message; -1 with an error page. */
static int load_message(struct web_req *r, struct web_resp *w, bool mark_seen, const char **folder_r,
			uint32_t *uid_r, struct ers_message **msg_r)
{
	struct ers_imap *im = NULL;
	struct ers_buf src = ERS_BUF_INIT;
	struct ers_error err;
	*msg_r = NULL;
	if (message_ref(r, w, folder_r, uid_r) < 0)
		return -1;
	/* The user's own domain is internal; a sender elsewhere gets the warning. */
	const char *at = strrchr(r->session.actor.name, '@');
	const char *domains[1] = { at ? at + 1 : "" };
	struct ers_message_opts opts = { .internal_domains = domains, .ninternal = 1 };
	int rc = imap_open(r, &im, &err);
	if (rc == 0)
		rc = ers_imap_fetch_source(im, *folder_r, *uid_r, mark_seen, &src, &err);
	ers_imap_close(im);
	if (rc == 0)
		rc = ers_message_parse(src.data, src.len, &opts, msg_r, &err);
	ers_buf_free(&src);
	if (rc < 0)
		web_ers_error(r, w, &err);
	return rc;
}

void page_message(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_message *m;
	if (load_message(r, w, true, &folder, &uid, &m) < 0)
		return;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"message\"><p><a href=\"/\">&larr; Back to Inbox</a></p><h1>%s</h1>",
	     *m->subject ? m->subject : "(no subject)");
	if (m->external_sender)
		html(&c, "<p class=\"warning%r\" role=\"note\">%r</p>", m->nattachments ? " strong" : "",
		     m->nattachments ? "This message comes from outside your organization and has attachments. "
				       "Be extra careful before opening them."
				     : "This message comes from outside your organization.");
	html(&c, "<dl class=\"headers\"><dt>From</dt><dd>%s</dd><dt>To</dt><dd>%s</dd>", m->from, m->to);
	if (*m->cc)
		html(&c, "<dt>Cc</dt><dd>%s</dd>", m->cc);
	html(&c, "<dt>Date</dt><dd>");
	add_date(&c, m->date);
	html(&c, "</dd></dl>");
	if (m->nattachments) {
		html(&c, "<ul class=\"attachments\">");
		for (size_t i = 0; i < m->nattachments; i++) {
			html(&c, "<li>%s <span class=\"meta\">%s, ", m->attachments[i].filename, m->attachments[i].content_type);
			add_size(&c, (long long)m->attachments[i].size);
			html(&c, "</span></li>");
		}
		html(&c, "</ul>");
	}
	if (m->truncated)
		html(&c, "<p class=\"notice\">This message has more parts than are shown.</p>");
	if (m->blocked_images)
		html(&c, "<p class=\"notice\">%zu remote image(s) were blocked.</p>", m->blocked_images);
	html(&c, "<iframe class=\"body\" sandbox=\"allow-popups allow-popups-to-escape-sandbox\" referrerpolicy=\"no-referrer\" "
		 "title=\"message body\" src=\"/message/body?folder=%u&amp;uid=%ld\"></iframe></section>",
	     folder, (long)uid);
	web_page(r, w, *m->subject ? m->subject : "(no subject)", c.data);
	ers_buf_free(&c);
	ers_message_free(m);
}

void page_message_body(struct web_req *r, struct web_resp *w)
{
	const char *folder;
	uint32_t uid;
	struct ers_message *m;
	if (load_message(r, w, false, &folder, &uid, &m) < 0)
		return;
	w->status = 200;
	w->csp = CSP_BODY;
	ers_buf_adds(&w->headers, "X-Frame-Options: SAMEORIGIN\r\n");
	/* body_html is the sanitiser's output: safe markup by contract. */
	html(&w->body, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><base target=\"_blank\">"
		       "<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:12px;color:#1f2933;"
		       "overflow-wrap:anywhere}img{max-width:100%%;height:auto}</style></head><body>%r</body></html>\n",
	     m->body_html);
	ers_message_free(m);
}
