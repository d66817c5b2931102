/* Manual 003 "Log in as mailbox owner" (the Users tab's "Log in as owner":
 * a reason, then the owner's webmail for at most an hour, under a banner)
 * and the owner's side of it, the "Account activity" page: their own
 * logins and every session an admin opened as them, with the reason. */
#include <string.h>
#include "html.h"
#include "web.h"

static void reason_form(struct web_req *r, struct web_resp *w, const char *address, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Log in as %s</h1>", address);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/users/impersonate\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\">"
		 "<label>Reason<input name=\"reason\" maxlength=\"%d\" required aria-describedby=\"reason-hint\"></label>"
		 "<p class=\"hint\" id=\"reason-hint\">The owner sees this access and its reason on their Account activity "
		 "page. The session ends after %d minutes and cannot change the owner's password or MFA. You are logged "
		 "out of your own session.</p><div class=\"actions\"><button type=\"submit\">Log in as owner</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     address, ERS_IMPERSONATION_REASON_MAX, ERS_IMPERSONATION_SECONDS / 60);
	web_admin_page(r, w, "users", "Log in as owner", c.data);
	ers_buf_free(&c);
}

void page_admin_user_impersonate(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_query(r, "u");
	reason_form(r, w, address ? address : "", NULL);
}

void page_admin_user_impersonate_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *reason = web_form(r, "reason");
	struct ers_session as_owner;
	struct ers_error err;
	if (ers_session_impersonate(r->ctx, &r->session.actor, address ? address : "", reason ? reason : "",
				    r->remote_addr, r->user_agent, &as_owner, &err) < 0) {
		w->status = web_status_of(err.code);
		reason_form(r, w, address ? address : "", err.message);
		return;
	}
	/* The browser now holds the owner's session; the admin's own one ends
	 * so that no cookie of it is left behind in this browser. */
	struct ers_error ignored;
	ers_session_logout(r->ctx, r->session.token, &ignored);
	web_imap_release_all(r);
	web_imap_forget_session(r->session.token);
	struct ers_buf cookie = ERS_BUF_INIT;
	ers_session_cookie(&as_owner, &cookie);
	ers_buf_addf(&w->headers, "Set-Cookie: %s\r\n", cookie.data);
	ers_buf_free_secret(&cookie);
	ers_session_clear(&as_owner);
	web_redirect(w, "/");
}

void page_activity(struct web_req *r, struct web_resp *w)
{
	struct ers_activity_list *l = NULL;
	struct ers_error err;
	if (ers_account_activity(r->ctx, &r->session.actor, r->session.actor.name, 50, &l, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Account activity</h1><p class=\"hint\">The latest logins to your mailbox, "
		 "and every time an administrator logged in as you, with the reason they gave.</p>");
	if (!l->count)
		html(&c, "<p class=\"notice\">No logins yet.</p>");
	else {
		html(&c, "<div class=\"table-wrap\"><table class=\"activity\"><thead><tr><th scope=\"col\">When (UTC)</th>"
			 "<th scope=\"col\">What</th><th scope=\"col\">Who</th><th scope=\"col\">Details</th></tr></thead><tbody>");
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_activity_entry *e = &l->items[i];
			html(&c, "<tr%r><td>%s</td><td>%r</td><td>%s</td><td>%s</td></tr>",
			     e->by_admin ? " class=\"admin-access\"" : "", e->at,
			     e->by_admin ? "Administrator logged in as you" : "Login", e->who, e->detail);
		}
		html(&c, "</tbody></table></div>");
	}
	html(&c, "</section>");
	ers_activity_list_free(l);
	web_page(r, w, "Account activity", c.data);
	ers_buf_free(&c);
}
