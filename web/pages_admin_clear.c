/* Manual 003 "Clear the contents of a mailbox", on the admin panel's Users
 * tab: the choice (a folder or all, an age or any), then a confirmation
 * that states how many messages will go, then the deletion -- all through
 * libers (ers/clear.h, the policy's mailbox.clear: super admins any
 * mailbox, tenant admins their regular users'), one audit row.  Over IMAP
 * (ers_mailbox_clear_imap): the web server cannot run doveadm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "web.h"

#define CLEAR_WARNING "If there are no backups created for the mailbox, it will be impossible to restore its contents."

static void clear_page(struct web_req *r, struct web_resp *w, const char *title, const char *content)
{
	web_admin_page(r, w, "users", title, content);
}

/* The choice as posted: folder ("" every folder) and age ("" any). */
static int spec_of(struct web_req *r, struct ers_clear_spec *s, struct ers_error *err)
{
	const char *folder = web_form(r, "folder"), *days = web_form(r, "older_than");
	s->address = web_form(r, "u");
	s->folder = folder && *folder ? folder : NULL;
	s->older_than_days = -1;
	if (days && *days && ers_int_parse(days, "Older than (days)", 1, 36500, &s->older_than_days, err) < 0)
		return -1;
	return 0;
}

static void hidden_choice(struct web_req *r, struct ers_buf *c, const struct ers_clear_spec *s)
{
	web_csrf_field(r, c);
	html(c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><input type=\"hidden\" name=\"folder\" value=\"%s\">",
	     s->address, s->folder ? s->folder : "");
	if (s->older_than_days > 0)
		html(c, "<input type=\"hidden\" name=\"older_than\" value=\"%ld\">", (long)s->older_than_days);
}

static void what_text(struct ers_buf *c, const struct ers_clear_spec *s)
{
	if (s->folder)
		html(c, "in the folder <strong>%s</strong>", s->folder);
	else
		html(c, "in every folder");
	if (s->older_than_days > 0)
		html(c, ", older than %ld days", (long)s->older_than_days);
}

/* ers_clear_open_fn: the mailbox over IMAP, as its owner through the
 * master user, once libers's policy allowed the clear. */
static int open_mailbox(void *arg, const char *address, struct ers_imap **im_r, struct ers_error *err)
{
	return web_imap_connect_as(arg, address, im_r, err); /* libers closes it: never a kept one */
}

static void refused(struct web_req *r, struct web_resp *w, const struct ers_error *err)
{
	struct ers_buf c = ERS_BUF_INIT;
	w->status = web_status_of(err->code);
	html(&c, "<section class=\"card form-card\"><h1>Clear contents</h1><p class=\"error\" role=\"alert\">%s</p>"
		 "<p>Nothing was deleted.</p><div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users"
		 "</a></div></section>", err->message);
	clear_page(r, w, "Clear contents", c.data);
	ers_buf_free(&c);
}

/* GET: the choice, for a user the actor may clear (the count is asked
 * for next, under the same policy). */
void page_admin_user_clear(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_query(r, "u");
	struct ers_user *u = NULL;
	struct ers_error err;
	if (ers_user_get(r->ctx, &r->session.actor, address ? address : "", &u, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Clear the contents of %s</h1>"
		 "<p class=\"warning strong\">" CLEAR_WARNING "</p><form method=\"post\" action=\"/admin/users/clear\">",
	     u->address);
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\">"
		 "<label>Folder<input name=\"folder\" maxlength=\"1000\" placeholder=\"every folder\"></label>"
		 "<label>Older than (days)<input name=\"older_than\" inputmode=\"numeric\" placeholder=\"any age\"></label>"
		 "<div class=\"actions\"><button type=\"submit\" class=\"danger\">Continue</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     u->address);
	ers_user_free(u);
	clear_page(r, w, "Clear contents", c.data);
	ers_buf_free(&c);
}

/* POST: without confirm=1, the count and the confirmation; with it, the
 * deletion.  The confirmation carries the count it showed: if the mailbox
 * changed meanwhile the person is shown the new count first. */
void page_admin_user_clear_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	struct ers_clear_spec s;
	struct ers_error err;
	long long count = 0;
	if (spec_of(r, &s, &err) < 0 ||
	    ers_mailbox_clear_imap(r->ctx, &r->session.actor, &s, true, open_mailbox, r, &count, &err) < 0) {
		refused(r, w, &err);
		return;
	}
	const char *confirm = web_form(r, "confirm"), *shown = web_form(r, "count");
	struct ers_buf c = ERS_BUF_INIT;
	if (confirm && !strcmp(confirm, "1") && shown && strtoll(shown, NULL, 10) == count && count > 0) {
		long long removed = 0;
		if (ers_mailbox_clear_imap(r->ctx, &r->session.actor, &s, false, open_mailbox, r, &removed, &err) < 0) {
			refused(r, w, &err);
			ers_buf_free(&c);
			return;
		}
		html(&c, "<section class=\"card form-card\"><h1>Contents cleared</h1><p class=\"ok\" role=\"status\">"
			 "%ld messages of %s were deleted (", (long)removed, s.address);
		what_text(&c, &s);
		html(&c, ").</p><div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users</a></div>"
			 "</section>");
		clear_page(r, w, "Contents cleared", c.data);
		ers_buf_free(&c);
		return;
	}
	html(&c, "<section class=\"card form-card\"><h1>Clear the contents of %s?</h1>", s.address);
	if (count == 0) {
		html(&c, "<p class=\"notice\" id=\"clear-count\">There are no messages ");
		what_text(&c, &s);
		html(&c, ": nothing to delete.</p><div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to "
			 "Users</a></div></section>");
	} else {
		html(&c, "<p id=\"clear-count\"><strong>%ld messages</strong> ", (long)count);
		what_text(&c, &s);
		html(&c, " will be deleted.</p><p class=\"warning strong\">" CLEAR_WARNING "</p>"
			 "<form method=\"post\" action=\"/admin/users/clear\">");
		hidden_choice(r, &c, &s);
		html(&c, "<input type=\"hidden\" name=\"confirm\" value=\"1\"><input type=\"hidden\" name=\"count\" "
			 "value=\"%ld\"><div class=\"actions\"><button type=\"submit\" class=\"danger\">Delete %ld messages"
			 "</button><a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
		     (long)count, (long)count);
	}
	clear_page(r, w, "Clear contents", c.data);
	ers_buf_free(&c);
}
