/* The page frame (top bar: Inbox, MFA, the address as the account menu
 * with Change Password, Logout; the Admin tab for admins), error pages,
 * redirects and the CSRF field every form of a session carries.  What
 * needs no session (the frame's head and foot, the error card) is in
 * core.c, which the front program links too. */
#include <string.h>
#include "html.h"
#include "web.h"

void web_csrf_field(const struct web_req *r, struct ers_buf *out)
{
	char csrf[ERS_CSRF_TOKEN_SIZE];
	ers_session_csrf_token(&r->session, csrf);
	html(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", csrf);
}

bool web_csrf_ok(const struct web_req *r)
{
	const char *given = web_form(r, "csrf");
	return r->have_session && given && ers_session_csrf_check(&r->session, given);
}

void web_page(struct web_req *r, struct web_resp *w, const char *title, const char *content)
{
	struct ers_buf *b = &w->body;
	if (!r->have_session) {
		web_frame(w, title, content);
		return;
	}
	if (!w->status)
		w->status = 200;
	web_frame_head(b, title);
	/* An admin in the owner's mailbox always sees so, and until when. */
	if (r->session.impersonator[0]) {
		html(b, "<div class=\"banner warning strong impersonation\" role=\"alert\" id=\"impersonation\">You (%s) are "
			"logged in as the mailbox owner %s. Reason: %s. This session ends at %s; the owner sees this access."
			"<form method=\"post\" action=\"/logout\" class=\"inline\">", r->session.impersonator,
		     r->session.actor.name, r->session.reason, r->session.expires_at);
		web_csrf_field(r, b);
		html(b, "<button type=\"submit\" class=\"secondary small\">End session</button></form></div>");
	}
	html(b, "<nav class=\"tabs\" aria-label=\"Main\"><a href=\"/\">Inbox</a><a href=\"/mfa\">MFA</a><a href=\"/archives\">Archives</a><a href=\"/smime\">S/MIME</a><a href=\"/autoreply\">Autoresponder</a><a href=\"/spam\">Spam Settings</a><a href=\"/migrate\">Migrate</a>");
	/* Manual 000 "Admin Features": regular users see no admin tab. */
	if (web_is_admin(r))
		html(b, "<a href=\"/admin/users\"%r>Admin</a>",
		     !strncmp(r->path, "/admin", 6) ? " aria-current=\"page\"" : "");
	html(b, "</nav>");
	/* Manual 000: "Click on your email address or profile menu, Select
	 * Change Password"; <details> opens without a script. */
	html(b, "<details class=\"account\"><summary title=\"Account\">%s</summary><div class=\"menu\">"
		"<a href=\"/password\">Change Password</a><a href=\"/mfa\">MFA settings</a>"
		"<a href=\"/activity\">Account activity</a>"
		"<a href=\"#\" class=\"js-only\" data-help>Keyboard shortcuts</a></div></details>"
		"<form method=\"post\" action=\"/logout\" class=\"inline\">",
	     r->session.actor.name);
	web_csrf_field(r, b);
	html(b, "<button type=\"submit\" class=\"secondary small\">Logout</button></form>");
	web_frame_foot(b, content, true);
}

int web_status_of(enum ers_error_code code)
{
	switch (code) {
	case ERS_OK: return 200;
	case ERS_E_USAGE:
	case ERS_E_INVALID: return 422;
	case ERS_E_NOTFOUND: return 404;
	case ERS_E_CONFLICT: return 409;
	case ERS_E_PERMISSION: return 403;
	case ERS_E_UNAVAILABLE: return 503;
	case ERS_E_CONFIG:
	case ERS_E_INTERNAL:
	case ERS_E_IO: return 500;
	}
	return 500;
}

void web_error_page(struct web_req *r, struct web_resp *w, int status, const char *message)
{
	struct ers_buf c = ERS_BUF_INIT;
	const char *title = web_error_title(status);
	w->status = status;
	web_error_html(&c, title, message);
	web_page(r, w, title, c.data);
	ers_buf_free(&c);
}

void web_ers_error(struct web_req *r, struct web_resp *w, const struct ers_error *err)
{
	web_error_page(r, w, web_status_of(err->code), err->message);
}

void web_redirect(struct web_resp *w, const char *location)
{
	w->status = 303;
	ers_buf_addf(&w->headers, "Location: %s\r\n", location);
}
