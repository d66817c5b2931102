/* Manual 002 "IMAP Migration (Import Emails)": the Migrate form (IMAP
 * Server, Port, Username, Password, Use SSL; Start Migration) for a user's
 * own mailbox, and for an admin's user (?user=EMAIL, the Users list's
 * Migrate button), with the mailbox's migrations and their per-folder
 * reports below.  The web server cannot run doveadm: the job is queued
 * (ers_migrate_start: the policy, the approved sources, the password
 * sealed) and the server's timer (`ersctl migrate run-queued`) runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "web.h"

static const char *state_label(const char *state)
{
	if (!strcmp(state, "queued"))
		return "Queued: it starts within a minute";
	if (!strcmp(state, "running"))
		return "Running";
	if (!strcmp(state, "done"))
		return "Finished";
	if (!strcmp(state, "failed"))
		return "Failed";
	return "Cancelled";
}

static void jobs(struct web_req *r, struct ers_buf *c, const char *user)
{
	struct ers_migrate_list *l = NULL;
	struct ers_error err;
	if (ers_migrate_list(r->ctx, &r->session.actor, user, &l, &err) < 0) {
		html(c, "<p class=\"error\">%s</p>", err.message);
		return;
	}
	html(c, "<h2>Migrations</h2>");
	if (!l->n)
		html(c, "<p class=\"notice\">No migration into this mailbox yet.</p>");
	for (size_t i = 0; i < l->n; i++) {
		const struct ers_migrate_job *j = &l->items[i];
		html(c, "<article class=\"migration\" id=\"migration-%lld\"><h3>From %s on %s:%d</h3>"
			 "<p>Status: <strong class=\"state\">%s</strong> &middot; started by %s at %s",
		     j->id, j->source_user, j->source_host, j->source_port, state_label(j->state), j->created_by,
		     j->created_at);
		if (*j->finished_at)
			html(c, " &middot; ended %s", j->finished_at);
		html(c, "</p>");
		if (j->error)
			html(c, "<p class=\"error\">%s</p>", j->error);
		if (j->nfolders) {
			html(c, "<div class=\"table-wrap\"><table class=\"report\"><thead><tr><th scope=\"col\">Folder</th>"
				 "<th scope=\"col\">Into</th><th scope=\"col\">Found</th><th scope=\"col\">Copied</th>"
				 "<th scope=\"col\">Already there</th><th scope=\"col\">Failed</th></tr></thead><tbody>");
			for (size_t k = 0; k < j->nfolders; k++) {
				const struct ers_migrate_folder *f = &j->folders[k];
				html(c, "<tr><td data-label=\"Folder\">%s</td><td data-label=\"Into\">%s</td>"
					 "<td data-label=\"Found\">%lld</td><td data-label=\"Copied\">%lld</td>"
					 "<td data-label=\"Already there\">%lld</td><td data-label=\"Failed\">%lld%s%s</td></tr>",
				     f->folder, f->to, f->found, f->copied, f->skipped, f->failed, f->error ? ": " : "",
				     f->error ? f->error : "");
			}
			html(c, "</tbody></table></div>");
		}
		html(c, "</article>");
	}
	ers_migrate_list_free(l);
}

static void migrate_page(struct web_req *r, struct web_resp *w, const char *user, const char *error, const char *note)
{
	bool self = !strcmp(user, r->session.actor.name);
	const char *host = error ? web_form(r, "host") : NULL, *port = error ? web_form(r, "port") : NULL;
	const char *login = error ? web_form(r, "username") : NULL;
	bool ssl = !error || web_form(r, "ssl");
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>IMAP Migration</h1>");
	if (!self)
		html(&c, "<p>Into the mailbox of <strong>%s</strong></p>", user);
	html(&c, "<p class=\"hint\">Import existing emails from another mail server into this mailbox. The folder "
		 "structure (Inbox, Sent, Drafts, etc.) is preserved; existing emails are not overwritten, only new "
		 "messages are added. Make sure the source server allows IMAP access and the credentials are correct: "
		 "some providers require an app-specific password.</p>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\" id=\"migrate-error\">%s</p><p>Nothing was started.</p>", error);
	if (note)
		html(&c, "<p class=\"ok\" role=\"status\">%s</p>", note);
	html(&c, "<form method=\"post\" action=\"/migrate\" class=\"form-card\" autocomplete=\"off\">");
	web_csrf_field(r, &c);
	if (!self)
		html(&c, "<input type=\"hidden\" name=\"user\" value=\"%s\">", user);
	html(&c, "<label>IMAP Server<input name=\"host\" value=\"%s\" placeholder=\"imap.old-provider.com\" required></label>"
		 "<label>Port<input type=\"number\" name=\"port\" min=\"1\" max=\"65535\" value=\"%s\" "
		 "placeholder=\"993 for SSL, 143 for STARTTLS\"></label>"
		 "<label>Username<input name=\"username\" value=\"%s\" placeholder=\"usually the full email address\" "
		 "required></label>"
		 "<label>Password<input type=\"password\" name=\"password\" autocomplete=\"new-password\" required></label>"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"ssl\" value=\"1\"%r> Use SSL (otherwise "
		 "STARTTLS)</label>"
		 "<div class=\"actions\"><button type=\"submit\">Start Migration</button></div></form>",
	     host ? host : "", port ? port : "", login ? login : "", ssl ? " checked" : "");
	jobs(r, &c, user);
	html(&c, "</section>");
	web_page(r, w, "IMAP Migration", c.data);
	ers_buf_free(&c);
}

void page_migrate(struct web_req *r, struct web_resp *w)
{
	const char *user = web_page_user(r);
	struct ers_error err;
	if (ers_migrate_may(r->ctx, &r->session.actor, user, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	migrate_page(r, w, user, NULL, NULL);
}

void page_migrate_post(struct web_req *r, struct web_resp *w)
{
	const char *user = web_page_user(r), *port = web_form(r, "port");
	long p = 0;
	if (port && *port) {
		char *end;
		p = strtol(port, &end, 10);
		if (*end || p < 1 || p > 65535) {
			w->status = 422;
			migrate_page(r, w, user, "The port must be a number from 1 to 65535 (993 for SSL, 143 for STARTTLS).", NULL);
			return;
		}
	}
	struct ers_migrate_spec s = { .address = user, .host = web_form(r, "host"), .port = (int)p,
				      .tls = web_form(r, "ssl") ? "implicit" : "starttls", .user = web_form(r, "username"),
				      .password = web_form(r, "password") };
	long long id;
	struct ers_error err;
	if (ers_migrate_start(r->ctx, &r->session.actor, &s, &id, &err) < 0) {
		w->status = web_status_of(err.code);
		migrate_page(r, w, user, err.message, NULL);
		return;
	}
	char note[200];
	snprintf(note, sizeof note, "Migration %lld is queued: it runs on the server in the background and starts within "
		 "a minute. Its report appears below; the mailbox owner also finds it as a message in their Inbox.", id);
	migrate_page(r, w, user, NULL, note);
}
