/* Manual 000 "FreeOTP / MFA Setup" and "Changing Your Password". */
#include <string.h>
#include "html.h"
#include "web.h"

static void verify_form(struct web_req *r, struct ers_buf *c)
{
	html(c, "<form method=\"post\" action=\"/mfa/verify\">");
	web_csrf_field(r, c);
	html(c, "<label>Current 6-digit code from FreeOTP<input name=\"code\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" "
		"maxlength=\"6\" autocomplete=\"one-time-code\" required></label>"
		"<button type=\"submit\">Verify and Enable</button></form>");
}

static void setup_button(struct web_req *r, struct ers_buf *c, const char *label)
{
	html(c, "<form method=\"post\" action=\"/mfa/setup\">");
	web_csrf_field(r, c);
	html(c, "<button type=\"submit\">%s</button></form>", label);
}

void page_mfa(struct web_req *r, struct web_resp *w)
{
	struct ers_mfa_status st;
	struct ers_error err;
	if (ers_mfa_status(r->ctx, &r->session.actor, r->session.actor.name, &st, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>MFA</h1>");
	if (st.enabled)
		html(&c, "<p class=\"ok\">MFA is on (since %s): the login asks for your email, your password and a "
			 "current code from your authenticator app.</p><p class=\"hint\">To move it to another phone, ask "
			 "an administrator to reset it first.</p>",
		     st.enabled_at);
	else {
		html(&c, "<p>MFA is off. With MFA on, the login asks for a current 6-digit code from FreeOTP (or another "
			 "authenticator app) as well as your password.</p>");
		if (st.setup_pending)
			html(&c, "<p class=\"notice\">A set-up was started and not finished: start it again.</p>");
		setup_button(r, &c, "Set Up FreeOTP");
	}
	html(&c, "</section>");
	web_page(r, w, "MFA", c.data);
	ers_buf_free(&c);
}

void page_mfa_setup(struct web_req *r, struct web_resp *w)
{
	struct ers_mfa_setup *s = NULL;
	struct ers_error err;
	if (ers_mfa_setup_begin(r->ctx, &r->session.actor, r->session.actor.name, &s, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Set Up FreeOTP</h1>"
		 "<ol><li>Open FreeOTP and scan the QR code.</li>"
		 "<li>Setting up on this same phone? Use the manual secret or the setup URI instead.</li>"
		 "<li>Enter the current 6-digit code from FreeOTP and click Verify and Enable.</li></ol>"
		 "<div class=\"qr\">%r</div>"
		 "<dl class=\"secret\"><dt>Manual secret</dt><dd><code id=\"secret\">%s</code></dd>"
		 "<dt>Setup URI</dt><dd><code id=\"uri\">%s</code></dd></dl>",
	     s->svg, s->secret, s->uri);
	verify_form(r, &c);
	html(&c, "</section>");
	ers_mfa_setup_free(s);
	web_page(r, w, "Set Up FreeOTP", c.data);
	ers_buf_free_secret(&c);
}

void page_mfa_verify(struct web_req *r, struct web_resp *w)
{
	const char *code = web_form(r, "code");
	struct ers_error err;
	struct ers_buf c = ERS_BUF_INIT;
	if (ers_mfa_setup_verify(r->ctx, &r->session.actor, r->session.actor.name, code ? code : "", &err) < 0) {
		w->status = web_status_of(err.code);
		html(&c, "<section class=\"card\"><h1>Set Up FreeOTP</h1><p class=\"error\" role=\"alert\">%s</p>", err.message);
		verify_form(r, &c);
		html(&c, "<p class=\"hint\">Or start over with a new QR code:</p>");
		setup_button(r, &c, "Set Up FreeOTP");
		html(&c, "</section>");
	} else
		html(&c, "<section class=\"card\"><h1>MFA</h1><p class=\"ok\">MFA is on. From now on the login asks for "
			 "your password and a current code from FreeOTP.</p><p><a href=\"/\">Back to Inbox</a></p></section>");
	web_page(r, w, "MFA", c.data);
	ers_buf_free(&c);
}

static void password_form(struct web_req *r, struct web_resp *w, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card narrow\"><h1>Change Password</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/password\">");
	web_csrf_field(r, &c);
	html(&c, "<label>Current password<input type=\"password\" name=\"current\" autocomplete=\"current-password\" required></label>"
		 "<label>New password<input type=\"password\" name=\"new\" autocomplete=\"new-password\" required></label>"
		 "<label>Confirm new password<input type=\"password\" name=\"confirm\" autocomplete=\"new-password\" required></label>"
		 "<button type=\"submit\">Change Password</button></form>"
		 "<p class=\"hint\">Use a strong password with a mix of letters, numbers and special characters. "
		 "Changing it logs you out everywhere.</p></section>");
	web_page(r, w, "Change Password", c.data);
	ers_buf_free(&c);
}

void page_password(struct web_req *r, struct web_resp *w)
{
	password_form(r, w, NULL);
}

void page_password_post(struct web_req *r, struct web_resp *w)
{
	const char *cur = web_form(r, "current"), *nw = web_form(r, "new"), *conf = web_form(r, "confirm");
	struct ers_error err;
	if (ers_session_passwd(r->ctx, &r->session, cur ? cur : "", nw ? nw : "", conf ? conf : "", r->remote_addr,
			       &err) < 0) {
		w->status = web_status_of(err.code);
		password_form(r, w, err.message);
		return;
	}
	/* Every session of the user has ended, this one too (the other
	 * sessions' kept IMAP connections: at the workers' next sweep). */
	web_imap_release_all(r);
	web_imap_forget_session(r->session.token);
	struct ers_buf cookie = ERS_BUF_INIT;
	ers_session_cookie_clear(&cookie);
	ers_buf_addf(&w->headers, "Set-Cookie: %s\r\n", cookie.data);
	ers_buf_free(&cookie);
	r->have_session = false;
	web_page(r, w, "Password changed",
		 "<section class=\"card narrow\"><h1>Password changed</h1><p class=\"ok\">Your password has been changed "
		 "and every session has ended. Log in again with the new password.</p><p><a class=\"button\" "
		 "href=\"/login\">Login</a></p></section>");
}
