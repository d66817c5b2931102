/* The page frame (top bar: Inbox, MFA, the address as the account menu
 * with Change Password, Logout; an Admin placeholder for admins), error pages,
 * redirects and the CSRF field every form of a session carries. */
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
	if (!w->status)
		w->status = 200;
	html(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<meta name=\"color-scheme\" content=\"light dark\">"
		"<title>%s &middot; ERS Webmail</title><link rel=\"stylesheet\" href=\"/static/ers.css\"></head><body>\n",
	     title);
	html(b, "<a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"topbar\">"
		"<a class=\"brand\" href=\"/\"><span class=\"logo\" aria-hidden=\"true\">&#9993;</span> ERS Webmail</a>");
	if (r->have_session) {
		enum ers_role role = r->session.actor.role;
		html(b, "<nav class=\"tabs\" aria-label=\"Main\"><a href=\"/\">Inbox</a><a href=\"/mfa\">MFA</a>");
		/* The admin panel is a later issue: admins see where it will be. */
		if (role == ERS_ROLE_TENANT_ADMIN || role == ERS_ROLE_SUPER_ADMIN)
			html(b, "<span class=\"tab disabled\" aria-disabled=\"true\" title=\"Admin panel: coming in a later "
				"release\">Admin <small>Admin panel: coming in a later release</small></span>");
		html(b, "</nav>");
		/* Manual 000: "Click on your email address or profile menu, Select
		 * Change Password"; <details> opens without a script. */
		html(b, "<details class=\"account\"><summary title=\"Account\">%s</summary><div class=\"menu\">"
			"<a href=\"/password\">Change Password</a><a href=\"/mfa\">MFA settings</a>"
			"<a href=\"#\" class=\"js-only\" data-help>Keyboard shortcuts</a></div></details>"
			"<form method=\"post\" action=\"/logout\" class=\"inline\">",
		     r->session.actor.name);
		web_csrf_field(r, b);
		html(b, "<button type=\"submit\" class=\"secondary small\">Logout</button></form>");
	}
	html(b, "</header>\n<main id=\"main\">\n%r\n</main>%r</body></html>\n", content,
	     r->have_session ? "<script src=\"/static/ers.js\" defer></script>" : "");
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
	const char *title = status == 404 ? "Not found" : status == 403 ? "Not allowed"
			  : status >= 500 ? "Something went wrong" : "That did not work";
	w->status = status;
	html(&c, "<section class=\"card\"><h1>%s</h1><p class=\"error\">%s</p><p><a href=\"/\">Back to Inbox</a></p></section>",
	     title, message);
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
