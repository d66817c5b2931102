/* The webmail module's entry, ers_webmail_main(): ers-webmail.cgi (the
 * front, web/front.c) answers the stylesheet, the script and the login form
 * without a session itself and loads this module (ers-webmail.so) for
 * every other request.  Reads one request from the environment
 * (REQUEST_METHOD, PATH_INFO, QUERY_STRING, HTTP_COOKIE, REMOTE_ADDR,
 * HTTP_USER_AGENT) and a form body from stdin (CONTENT_LENGTH bytes of
 * application/x-www-form-urlencoded, at most WEB_BODY_MAX, or of
 * multipart/form-data with files, at most WEB_UPLOAD_MAX), routes it to a
 * page and writes the response with its security headers (and, over
 * HTTPS, Strict-Transport-Security as webmail.hsts_max_age says).
 * ERS_CONFIG names the configuration (default /etc/ers/ers.yaml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "html.h"
#include "multipart.h"
#include "web.h"

const char *web_query(const struct web_req *r, const char *name)
{
	return web_param(r->query, r->nquery, name);
}

const char *web_form(const struct web_req *r, const char *name)
{
	return web_param(r->form, r->nform, name);
}

const char *web_page_user(const struct web_req *r)
{
	const char *u = web_form(r, "user");
	if (!u || !*u)
		u = web_query(r, "user");
	return u && *u ? u : r->session.actor.name;
}

/* Reads the form body; -1 when it is too large, not a form, or short;
 * -2 (and `err`) when a multipart/form-data body is malformed.  A
 * multipart body is parsed here into r->form and r->files, whose data
 * points into the body. */
static int read_body(struct web_req *r, char **body_r, struct ers_error *err)
{
	*body_r = NULL;
	const char *len_s = web_env("CONTENT_LENGTH");
	const char *type = web_env("CONTENT_TYPE");
	if (!len_s || !*len_s)
		return 0;
	bool multipart = type && !strncasecmp(type, "multipart/form-data", 19);
	char *end;
	unsigned long len = strtoul(len_s, &end, 10);
	if (*end || len > (multipart ? WEB_UPLOAD_MAX : WEB_BODY_MAX))
		return -1;
	if (len == 0)
		return 0;
	if (!multipart && (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0))
		return -1;
	char *body = ers_xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = web_read_in(body + got, len - got);
		if (n <= 0) {
			free(body);
			return -1;
		}
		got += (size_t)n;
	}
	body[len] = '\0';
	*body_r = body;
	if (multipart) {
		r->multipart = true;
		if (web_multipart_parse(type, body, len, &r->form, &r->nform, &r->files, &r->nfiles, err) < 0)
			return -2;
	}
	return 0;
}

/* Who the request's cookie says it is; false (and nothing open) if no one. */
static bool find_session(struct web_req *r)
{
	char token[ERS_SESSION_TOKEN_SIZE];
	struct ers_error err;
	ers_session_cookie_token(r->cookie, token);
	if (!*token || !r->ctx)
		return false;
	r->have_session = ers_session_check(r->ctx, token, r->remote_addr, &r->session, &err) == 0;
	ers_wipe(token, sizeof token);
	return r->have_session;
}

struct route {
	const char *method, *path;
	void (*page)(struct web_req *, struct web_resp *);
	bool need_session; /* without one: to the login page */
	bool post_csrf;    /* a POST of a session: its CSRF token is checked */
};

static const struct route routes[] = {
	{ "GET", "/login", page_login_form, false, false },
	{ "POST", "/login", page_login_post, false, false },
	{ "POST", "/login/code", page_login_code, false, false },
	{ "POST", "/logout", page_logout, true, true },
	{ "GET", "/", page_mailbox, true, false },
	{ "GET", "/message", page_message, true, false },
	{ "GET", "/message/body", page_message_body, true, false },
	{ "GET", "/message/attachment", page_message_attachment, true, false },
	{ "POST", "/message/unread", page_message_unread, true, true },
	{ "POST", "/message/delete", page_message_delete, true, true },
	{ "POST", "/message/spam", page_message_spam, true, true },
	{ "POST", "/message/move", page_message_move, true, true },
	{ "POST", "/message/notspam", page_message_notspam, true, true },
	{ "GET", "/mfa", page_mfa, true, false },
	{ "POST", "/mfa/setup", page_mfa_setup, true, true },
	{ "POST", "/mfa/verify", page_mfa_verify, true, true },
	{ "GET", "/password", page_password, true, false },
	{ "POST", "/password", page_password_post, true, true },
	{ "GET", "/compose", page_compose, true, false },
	{ "POST", "/compose", page_compose_post, true, true },
	{ "GET", "/autoreply", page_autoreply, true, false },
	{ "POST", "/autoreply", page_autoreply_post, true, true },
	{ "GET", "/migrate", page_migrate, true, false },
	{ "POST", "/migrate", page_migrate_post, true, true },
	{ "GET", "/spam", page_spam, true, false },
	{ "POST", "/spam/greylisting", page_spam_greylisting_post, true, true },
	{ "POST", "/spam/allow/add", page_spam_allow_add, true, true },
	{ "POST", "/spam/allow/remove", page_spam_allow_remove, true, true },
	{ "POST", "/spam/filter", page_spam_filter_post, true, true },
	{ "POST", "/spam/block/add", page_spam_block_add, true, true },
	{ "POST", "/spam/block/remove", page_spam_block_remove, true, true },
	{ "GET", "/archives", page_archives, true, false },
	{ "POST", "/archives/create", page_archives_create, true, true },
	{ "POST", "/archives/preferences", page_archives_preferences, true, true },
	{ "GET", "/archives/download", page_archives_download, true, false },
	{ "GET", "/smime", page_smime, true, false },
	{ "POST", "/smime/identity", page_smime_identity_post, true, true },
	{ "POST", "/smime/identity/remove", page_smime_identity_remove, true, true },
	{ "POST", "/smime/cert", page_smime_cert_post, true, true },
	{ "POST", "/smime/cert/remove", page_smime_cert_remove, true, true },
	{ "GET", "/smime/status", page_smime_compose_status, true, false },
	{ "POST", "/smime/save-signer", page_smime_save_signer, true, true },
	{ "GET", "/admin", page_admin_users, true, false },
	{ "GET", "/admin/users", page_admin_users, true, false },
	{ "GET", "/admin/users/new", page_admin_user_new, true, false },
	{ "POST", "/admin/users/new", page_admin_user_new_post, true, true },
	{ "GET", "/admin/users/edit", page_admin_user_edit, true, false },
	{ "POST", "/admin/users/edit", page_admin_user_edit_post, true, true },
	{ "GET", "/admin/users/password", page_admin_user_password, true, false },
	{ "POST", "/admin/users/password", page_admin_user_password_post, true, true },
	{ "GET", "/admin/users/mfa", page_admin_user_mfa, true, false },
	{ "POST", "/admin/users/mfa", page_admin_user_mfa_post, true, true },
	{ "GET", "/admin/users/impersonate", page_admin_user_impersonate, true, false },
	{ "POST", "/admin/users/impersonate", page_admin_user_impersonate_post, true, true },
	{ "GET", "/activity", page_activity, true, false },
	{ "GET", "/admin/users/clear", page_admin_user_clear, true, false },
	{ "POST", "/admin/users/clear", page_admin_user_clear_post, true, true },
	{ "GET", "/admin/users/delete", page_admin_user_delete, true, false },
	{ "POST", "/admin/users/delete", page_admin_user_delete_post, true, true },
	{ "GET", "/admin/aliases", page_admin_aliases, true, false },
	{ "GET", "/admin/aliases/new", page_admin_alias_new, true, false },
	{ "POST", "/admin/aliases/new", page_admin_alias_new_post, true, true },
	{ "GET", "/admin/aliases/delete", page_admin_alias_delete, true, false },
	{ "POST", "/admin/aliases/delete", page_admin_alias_delete_post, true, true },
	{ "GET", "/admin/shared", page_admin_shared, true, false },
	{ "GET", "/admin/shared/new", page_admin_shared_new, true, false },
	{ "POST", "/admin/shared/new", page_admin_shared_new_post, true, true },
	{ "GET", "/admin/shared/access", page_admin_shared_access, true, false },
	{ "POST", "/admin/shared/grant", page_admin_shared_grant_post, true, true },
	{ "POST", "/admin/shared/revoke", page_admin_shared_revoke_post, true, true },
	{ "GET", "/admin/shared/delete", page_admin_shared_delete, true, false },
	{ "POST", "/admin/shared/delete", page_admin_shared_delete_post, true, true },
	{ "GET", "/admin/tenants", page_admin_tenants, true, false },
	{ "GET", "/admin/tenants/new", page_admin_tenant_new, true, false },
	{ "POST", "/admin/tenants/new", page_admin_tenant_new_post, true, true },
	{ "GET", "/admin/tenants/edit", page_admin_tenant_edit, true, false },
	{ "POST", "/admin/tenants/edit", page_admin_tenant_edit_post, true, true },
	{ "GET", "/admin/tenants/domains", page_admin_tenant_domains, true, false },
	{ "POST", "/admin/tenants/domains/add", page_admin_tenant_domain_add_post, true, true },
	{ "POST", "/admin/tenants/domains/primary", page_admin_tenant_domain_primary_post, true, true },
	{ "POST", "/admin/tenants/domains/remove", page_admin_tenant_domain_remove_post, true, true },
	{ "GET", "/admin/tenants/dns", page_admin_tenant_dns, true, false },
	{ "GET", "/admin/tenants/delete", page_admin_tenant_delete, true, false },
	{ "POST", "/admin/tenants/delete", page_admin_tenant_delete_post, true, true },
	{ "POST", "/admin/users/welcome", page_admin_user_welcome_post, true, true },
	{ "POST", "/admin/users/forward", page_admin_user_forward_post, true, true },
	{ "POST", "/admin/users/catchall", page_admin_user_catchall_post, true, true },
	{ "POST", "/admin/users/limits", page_admin_user_limits_post, true, true },
	{ "GET", "/admin/security", page_admin_security, true, false },
	{ "POST", "/admin/security/test", page_admin_security_test, true, true },
	{ "GET", "/manual/user", page_manual_user, false, false },  /* pages_manual.c: why these sessions */
	{ "GET", "/manual/admin", page_manual_admin, true, false },
};

/* Whether a POST comes from one of this site's own pages.  Browsers send
 * Sec-Fetch-Site or Origin with every POST; a cross-site form or script is
 * refused before anything else, also on the login form, which has no
 * session and so no CSRF token (login CSRF).  Clients that send neither
 * (curl, scripts) are not browsers acting for someone else. */
static bool same_origin_post(void)
{
	const char *site = web_env("HTTP_SEC_FETCH_SITE");
	if (site && *site)
		return !strcmp(site, "same-origin") || !strcmp(site, "none");
	const char *origin = web_env("HTTP_ORIGIN"), *host = web_env("HTTP_HOST");
	if (!origin || !*origin)
		return true;
	return host && !strncmp(origin, "https://", 8) && !strcmp(origin + 8, host);
}

static void route(struct web_req *r, struct web_resp *w)
{
	if (!strcmp(r->method, "POST") && !same_origin_post()) {
		web_error_page(r, w, 403, "This form was sent from another site, so it was refused. "
			       "Open the webmail's own page and try again.");
		return;
	}
	/* The front answers GET and HEAD of these itself; any other method
	 * comes here and is answered as it always was. */
	if (web_static(r->path, w))
		return;
	const struct route *rt = NULL;
	bool path_known = false;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, r->path))
			continue;
		path_known = true;
		if (!strcmp(routes[i].method, r->method) ||
		    (!strcmp(r->method, "HEAD") && !strcmp(routes[i].method, "GET")))
			rt = &routes[i];
	}
	if (!path_known) {
		web_error_page(r, w, 404, "There is no such page.");
		return;
	}
	if (!rt) {
		ers_buf_adds(&w->headers, "Allow: GET, POST\r\n");
		web_error_page(r, w, 405, "This page does not take that kind of request.");
		return;
	}
	/* A GET of a page that needs no session (the login form), asked
	 * without a session cookie, is served without opening the database. */
	char token[ERS_SESSION_TOKEN_SIZE];
	ers_session_cookie_token(r->cookie, token);
	bool cookie_token = *token;
	ers_wipe(token, sizeof token);
	if (!rt->need_session && !strcmp(rt->method, "GET") && !cookie_token) {
		rt->page(r, w);
		return;
	}
	/* Nothing reaches Dovecot before the session is known good: a forged
	 * or expired cookie makes no IMAP connection at all (issue 22). */
	struct ers_error err;
	if (r->ctx_keep && *r->ctx_keep) {
		r->ctx = *r->ctx_keep;
	} else if (ers_ctx_open(r->cfg, 0, &r->ctx, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	} else if (r->ctx_keep) {
		*r->ctx_keep = r->ctx;
	}
	find_session(r);
	if (rt->need_session && !r->have_session) {
		web_redirect(w, "/login");
		return;
	}
	if (rt->post_csrf && !web_csrf_ok(r)) {
		web_error_page(r, w, 403,
			       "This form was not sent from this session's own page (its security token is missing "
			       "or wrong). Go back, reload the page and try again.");
		return;
	}
	rt->page(r, w);
}

int ers_webmail_main(void)
{
	return web_handle(NULL, NULL);
}

int web_handle(const struct ers_config *kept_cfg, struct ers_ctx **ctx_keep)
{
	struct web_req r = { .ctx_keep = ctx_keep };
	struct web_resp w = { .status = 0, .headers = ERS_BUF_INIT, .body = ERS_BUF_INIT };
	struct ers_config *cfg = NULL;
	struct ers_error err;
	char *body = NULL;

	r.method = web_env("REQUEST_METHOD");
	r.path = web_env("PATH_INFO");
	r.remote_addr = web_env("REMOTE_ADDR");
	r.user_agent = web_env("HTTP_USER_AGENT");
	r.cookie = web_env("HTTP_COOKIE");
	if (!r.method) {
		fprintf(stderr, "ers-webmail.cgi: REQUEST_METHOD is not set: run me from a web server (see ers-webmail(8))\n");
		return 2;
	}
	if (!r.path || !*r.path)
		r.path = "/";
	if (!r.remote_addr)
		r.remote_addr = "";
	if (!r.cookie)
		r.cookie = "";
	web_params_parse(web_env("QUERY_STRING"), &r.query, &r.nquery);

	/* The configuration first: its Strict-Transport-Security settings
	 * apply to every answer, the body's errors too. */
	struct ers_error cfg_err;
	int cfg_rc = kept_cfg ? 0 : ers_config_load(NULL, &cfg, &cfg_err);
	const struct ers_config *c = kept_cfg ? kept_cfg : cfg;
	if (cfg_rc == 0)
		web_set_hsts(c->webmail.hsts_max_age, c->webmail.hsts_include_subdomains);
	int body_rc = !strcmp(r.method, "POST") ? read_body(&r, &body, &err) : 0;
	if (body_rc == -1) {
		web_error_page(&r, &w, 413, "The form was too large (at most 25 MB with its attachments) or not a form.");
	} else if (body_rc == -2) {
		web_error_page(&r, &w, 400, err.message);
	} else if (cfg_rc < 0) {
		fprintf(stderr, "ers-webmail.cgi: %s\n", cfg_err.message); /* to the server's error log */
		web_error_page(&r, &w, 500, "The webmail is not configured correctly. The administrator can find "
				"the reason in the web server's error log.");
	} else {
		r.cfg = c;
		if (!r.multipart)
			web_params_parse(body, &r.form, &r.nform);
		route(&r, &w);
	}
	if (!w.status)
		w.status = 200;
	web_emit(&w);

	web_imap_release_all(&r);
	if (r.have_session)
		ers_session_clear(&r.session);
	if (!ctx_keep) {
		ers_ctx_free(r.ctx);
	} else if (*ctx_keep && !ers_ctx_settle(*ctx_keep)) {
		ers_ctx_free(*ctx_keep); /* the next request opens another */
		*ctx_keep = NULL;
	}
	ers_config_free(cfg);
	web_params_free(r.query, r.nquery);
	web_params_free(r.form, r.nform);
	web_uploads_free(r.files, r.nfiles);
	ers_free_secret(body);
	ers_buf_free(&w.headers);
	ers_buf_free(&w.body);
	return 0;
}
