/* Manual 000 "Logging In" and "Logging Out": the login form, the code step
 * when MFA is on, and logout. */
#include <string.h>
#include "html.h"
#include "web.h"

/* The form again after a refusal (the GET without a session is
 * web_login_page, core.c, which the front renders too). */
static void login_form(struct web_req *r, struct web_resp *w, const char *email, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	web_login_html(&c, email, error, NULL);
	web_page(r, w, "Login", c.data);
	ers_buf_free(&c);
}

static void code_form(struct web_req *r, struct web_resp *w, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card narrow\"><h1>Authenticator code</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<p>Enter the current 6-digit code from FreeOTP (or your authenticator app).</p>"
		 "<form method=\"post\" action=\"/login/code\">"
		 "<label>Code<input name=\"code\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" maxlength=\"6\" "
		 "autocomplete=\"one-time-code\" required autofocus></label>"
		 "<button type=\"submit\">Login</button></form>"
		 "<p class=\"hint\"><a href=\"/login\">Start over</a></p></section>");
	web_page(r, w, "Authenticator code", c.data);
	ers_buf_free(&c);
}

void page_login_form(struct web_req *r, struct web_resp *w)
{
	if (r->have_session) {
		web_redirect(w, "/");
		return;
	}
	web_login_page(w, web_query(r, "out") != NULL);
}

/* A refusal at login as a status: throttling is 429, the rest as mapped. */
static int login_status(const struct ers_error *err)
{
	return err->code == ERS_E_UNAVAILABLE && strstr(err->message, "try again") ? 429 : web_status_of(err->code);
}

static void set_cookie(struct web_resp *w, const struct ers_session *s)
{
	struct ers_buf cookie = ERS_BUF_INIT;
	ers_session_cookie(s, &cookie);
	ers_buf_addf(&w->headers, "Set-Cookie: %s\r\n", cookie.data);
	ers_buf_free_secret(&cookie);
}

void page_login_post(struct web_req *r, struct web_resp *w)
{
	const char *email = web_form(r, "email"), *password = web_form(r, "password");
	struct ers_session s;
	struct ers_error err;
	if (ers_login_password(r->ctx, email ? email : "", password ? password : "", r->remote_addr, r->user_agent,
			       &s, &err) < 0) {
		w->status = login_status(&err);
		login_form(r, w, email, err.message);
		return;
	}
	set_cookie(w, &s);
	if (s.mfa_pending) {
		r->have_session = false; /* no top bar for a half-finished sign-in */
		code_form(r, w, NULL);
	} else
		web_redirect(w, "/");
	ers_session_clear(&s);
}

void page_login_code(struct web_req *r, struct web_resp *w)
{
	char pending[ERS_SESSION_TOKEN_SIZE];
	const char *code = web_form(r, "code");
	struct ers_session s;
	struct ers_error err;
	ers_session_cookie_token(r->cookie, pending);
	if (!*pending) {
		w->status = 403;
		login_form(r, w, NULL, "The sign-in has expired or is unknown: log in again with your email and password.");
		return;
	}
	int rc = ers_login_mfa(r->ctx, pending, code ? code : "", r->remote_addr, &s, &err);
	ers_wipe(pending, sizeof pending);
	if (rc < 0) {
		w->status = login_status(&err);
		r->have_session = false;
		if (strstr(err.message, "log in again"))
			login_form(r, w, NULL, err.message);
		else
			code_form(r, w, err.message);
		return;
	}
	set_cookie(w, &s);
	ers_session_clear(&s);
	web_redirect(w, "/");
}

void page_logout(struct web_req *r, struct web_resp *w)
{
	struct ers_buf cookie = ERS_BUF_INIT;
	struct ers_error err;
	if (ers_session_logout(r->ctx, r->session.token, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	web_imap_release_all(r);
	web_imap_forget_session(r->session.token); /* its IMAP connection logs out now too */
	ers_session_cookie_clear(&cookie);
	ers_buf_addf(&w->headers, "Set-Cookie: %s\r\n", cookie.data);
	ers_buf_free(&cookie);
	web_redirect(w, "/login?out=1");
}
