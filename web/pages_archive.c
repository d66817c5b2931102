/* The Archives view (manual 000 "How Users Open Archives"): create a
 * direct-download archive of one's own mailbox, the list of archives with
 * Download, the tenant defaults and the failures for tenant admins, and
 * the import guidance.  Every rule is libers's (ers/archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "html.h"
#include "web.h"

static bool is_tenant_admin(const struct web_req *r)
{
	return r->session.actor.role == ERS_ROLE_TENANT_ADMIN || r->session.actor.role == ERS_ROLE_SUPER_ADMIN;
}

static void list_table(struct ers_buf *c, const struct ers_archive_list *l, const struct web_req *r, bool downloads)
{
	html(c, "<table class=\"list\"><thead><tr><th>Archive</th><th>Mailbox</th><th>Kind</th><th>Format</th><th>State</th>"
		"<th>Messages</th><th>Created</th><th></th></tr></thead><tbody>");
	for (size_t i = 0; i < l->count; i++) {
		const struct ers_archive *a = &l->items[i];
		char id[24];
		snprintf(id, sizeof id, "%lld", a->id);
		html(c, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s%s%s</td><td>%lld</td><td>%s</td><td>", id,
		     a->address, a->kind, a->format, a->state, a->error ? ": " : "", a->error ? a->error : "", a->messages,
		     a->created_at);
		/* Download where this user may decrypt it: personal ones for their
		 * owner, tenant ones for tenant admins (the library decides). */
		bool mine = !strcmp(a->kind, "personal") && !strcmp(a->address, r->session.actor.name);
		bool tenant = !strcmp(a->kind, "tenant") && is_tenant_admin(r);
		if (downloads && a->path && (mine || tenant))
			html(c, "<a class=\"button\" href=\"/archives/download?id=%u\">Download</a>", id);
		html(c, "</td></tr>");
	}
	if (!l->count)
		html(c, "<tr><td colspan=\"8\">None yet.</td></tr>");
	html(c, "</tbody></table>");
}

void page_archives(struct web_req *r, struct web_resp *w)
{
	const struct ers_actor *a = &r->session.actor;
	struct ers_error err;
	struct ers_archive_list *list = NULL, *failures = NULL;
	struct ers_archive_filter f = { 0 };
	if (ers_archive_list(r->ctx, a, &f, &list, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_archive_policy *pol = NULL;
	struct ers_archive_preference *pref = NULL;
	struct ers_archive_destination *dests = NULL;
	size_t ndests = 0;
	struct ers_error perr;
	if (a->tenant_id) {
		ers_archive_policy_show(r->ctx, a, NULL, &pol, &perr);
		ers_archive_destination_list(r->ctx, a, NULL, &dests, &ndests, &perr);
	}
	ers_archive_preference_show(r->ctx, a, a->name, &pref, &perr);
	const char *fmt = pref ? pref->format : pol ? pol->format : "mbox";
	const char *dest = pref ? pref->destination : "local";
	int days = pref ? pref->older_than_days : pol ? pol->older_than_days : 30;
	struct ers_buf c = ERS_BUF_INIT;
	const char *created = web_query(r, "created");
	const char *saved = web_query(r, "saved");
	html(&c, "<section class=\"card\"><h1>Archives</h1>");
	if (created && *created)
		html(&c, "<p class=\"ok\">Archive %s is ready: download it below.</p>", created);
	if (saved && *saved)
		html(&c, "<p class=\"ok\">Archive preferences saved.</p>");
	/* The same choices in both forms: the preferences are the defaults of
	 * "Create archive" and of personal auto-archive. */
	struct ers_buf choices = ERS_BUF_INIT;
	static const char *const formats[][2] = { { "mbox", ".mbox (best for Thunderbird and Apple Mail)" },
						  { "mbox-folders", "One .mbox per folder (zipped)" },
						  { "zip", "Zipped .eml files" } };
	html(&choices, "<label>Format <select name=\"format\">");
	for (size_t i = 0; i < 3; i++)
		html(&choices, "<option value=\"%s\"%r>%s</option>", formats[i][0], strcmp(fmt, formats[i][0]) ? "" : " selected",
		     formats[i][1]);
	html(&choices, "</select></label><label>Messages older than (days) <input name=\"older_than\" inputmode=\"numeric\" "
		       "pattern=\"[0-9]{1,5}\" value=\"%d\" required></label>"
		       "<label>Destination <select name=\"destination\"><option value=\"local\">This server</option>", days);
	for (size_t i = 0; i < ndests; i++)
		html(&choices, "<option value=\"%s\"%r>%s (%s)</option>", dests[i].name,
		     strcmp(dest, dests[i].name) ? "" : " selected", dests[i].name, dests[i].kind);
	html(&choices, "</select></label>");
	html(&c, "<h2>Archive preferences</h2><form method=\"post\" action=\"/archives/preferences\">");
	web_csrf_field(r, &c);
	ers_buf_add(&c, choices.data, choices.len);
	if (pref && pref->auto_allowed)
		html(&c, "<label><input type=\"checkbox\" name=\"auto_archive\" value=\"yes\"%r> Personal auto-archive "
			 "(a personal archive every day)</label>", pref->auto_archive ? " checked" : "");
	else
		html(&c, "<p class=\"hint\">Your tenant does not allow personal auto-archive.</p>");
	html(&c, "<button type=\"submit\">Save preferences</button></form>");
	html(&c, "<h2>Create archive</h2><form method=\"post\" action=\"/archives/create\">");
	web_csrf_field(r, &c);
	ers_buf_add(&c, choices.data, choices.len);
	html(&c, "<button type=\"submit\">Create archive</button></form>"
		 "<p class=\"hint\">Messages stay in your mailbox; the archive is encrypted with your own archive key.</p>");
	ers_buf_free(&choices);
	html(&c, "<h2>Completed archives</h2>");
	list_table(&c, list, r, true);
	if (is_tenant_admin(r)) {
		if (pol)
			html(&c, "<h2>Tenant defaults</h2><p>Format %s, messages older than %d days, delete after archive: %s, "
				 "auto-archive: %s, users' own auto-archive: %s.</p>", pol->format, pol->older_than_days,
			     pol->delete_after ? "yes" : "no", pol->auto_archive ? "yes" : "no",
			     pol->personal_auto_archive ? "allowed" : "not allowed");
		struct ers_archive_filter ff = { .failed_only = true };
		if (ers_archive_list(r->ctx, a, &ff, &failures, &err) == 0) {
			html(&c, "<h2>Failures to review</h2>");
			list_table(&c, failures, r, false);
		}
	}
	html(&c, "<h2>Archive Import Guidance</h2><ul>"
		 "<li>Thunderbird: import <code>.mbox</code> into Local Folders, or extract zipped <code>.eml</code> files and drag "
		 "them into a local folder.</li>"
		 "<li>Apple Mail: choose File &gt; Import Mailboxes, select mbox format, and choose the downloaded "
		 "<code>.mbox</code> file.</li>"
		 "<li>Keep downloaded archives on encrypted storage and delete local copies when they are no longer needed.</li>"
		 "</ul></section>");
	web_page(r, w, "Archives", c.data);
	ers_buf_free(&c);
	ers_archive_list_free(list);
	ers_archive_list_free(failures);
	ers_archive_policy_free(pol);
	ers_archive_preference_free(pref);
	ers_archive_destinations_free(dests, ndests);
}

void page_archives_preferences(struct web_req *r, struct web_resp *w)
{
	struct ers_error err;
	long long days;
	const char *days_s = web_form(r, "older_than");
	if (ers_int_parse(days_s ? days_s : "", "messages older than (days)", 0, ERS_ARCHIVE_MAX_DAYS, &days, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	const char *auto_s = web_form(r, "auto_archive");
	struct ers_archive_preference_change ch = { .format = web_form(r, "format"), .destination = web_form(r, "destination"),
						    .older_than_days = (int)days,
						    .auto_archive = auto_s && !strcmp(auto_s, "yes") ? 1 : 0 };
	struct ers_archive_preference *p = NULL;
	if (ers_archive_preference_set(r->ctx, &r->session.actor, r->session.actor.name, &ch, &p, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	ers_archive_preference_free(p);
	web_redirect(w, "/archives?saved=1");
}

void page_archives_create(struct web_req *r, struct web_resp *w)
{
	const char *days_s = web_form(r, "older_than");
	long long days = 30;
	struct ers_error err;
	if (days_s && ers_int_parse(days_s, "messages older than (days)", 0, ERS_ARCHIVE_MAX_DAYS, &days, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_archive_spec spec = { .address = r->session.actor.name, .older_than_days = (int)days,
					 .format = web_form(r, "format"), .delete_after = 0,
					 .destination = web_form(r, "destination") };
	struct ers_archive_list *list = NULL;
	int rc = ers_archive_create(r->ctx, &r->session.actor, &spec, &list, &err);
	long long id = list && list->count ? list->items[0].id : 0;
	ers_archive_list_free(list);
	if (rc < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof loc, "/archives?created=%lld", id);
	web_redirect(w, loc);
}

void page_archives_download(struct web_req *r, struct web_resp *w)
{
	struct ers_error err;
	long long id;
	if (ers_int_parse(web_query(r, "id"), "archive id", 1, 9007199254740991LL, &id, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_archive *a = NULL;
	if (ers_archive_show(r->ctx, &r->session.actor, id, &a, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	/* Decrypted into a file only this process can open, unlinked at once,
	 * then streamed from it. */
	char path[] = "/tmp/ers-download.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		ers_error_set(&err, ERS_E_IO, "no room for the download: %s", strerror(errno));
		ers_archive_free(a);
		web_ers_error(r, w, &err);
		return;
	}
	close(fd);
	if (ers_archive_download(r->ctx, &r->session.actor, id, path, &err) < 0) {
		unlink(path);
		ers_archive_free(a);
		web_ers_error(r, w, &err);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	if (fd < 0) {
		ers_error_set(&err, ERS_E_IO, "the download vanished");
		ers_archive_free(a);
		web_ers_error(r, w, &err);
		return;
	}
	bool zip = strcmp(a->format, "mbox") != 0; /* zip, or mbox-folders: a zip of .mbox files */
	w->status = 200;
	w->content_type = zip ? "application/zip" : "application/mbox";
	ers_buf_addf(&w->headers, "Content-Disposition: attachment; filename=\"archive-%lld.%s\"\r\n", id, zip ? "zip" : "mbox");
	w->body_fd = fd;
	ers_archive_free(a);
}
