/* The webmail CGI: one request in, one response out.  The pages are thin:
 * they parse what the browser sent, call libers, and print (DESIGN.md). */
#ifndef ERS_WEB_H
#define ERS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include "ers/ers.h"
#include "core.h"

#define WEB_BODY_MAX (64u << 10)  /* bytes of a form body */
#define WEB_PER_PAGE 50           /* messages on a mailbox page */
#define WEB_UPLOAD_MAX (25u << 20) /* bytes of a multipart/form-data body (compose with attachments) */

/* A file sent with a multipart/form-data form. */
struct web_upload {
	char *field;        /* the form field's name */
	char *filename;     /* safe: no directories, no control characters, never empty */
	char *content_type; /* "type/subtype" in lower case; application/octet-stream if none or bad */
	const char *data;   /* points into the request body, freed after the page ran */
	size_t len;
};

struct web_req {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* PATH_INFO, "/" when empty */
	const char *remote_addr;
	const char *user_agent;  /* may be NULL */
	const char *cookie;      /* HTTP_COOKIE, "" when none */
	struct web_param *query, *form;
	size_t nquery, nform;
	bool multipart;            /* the body was multipart/form-data */
	struct web_upload *files;  /* its files (fields are in `form`) */
	size_t nfiles;
	struct ers_ctx *ctx;     /* NULL until a page needs the database */
	struct ers_ctx **ctx_keep; /* a FastCGI worker's connection, kept between requests; NULL in a CGI */
	const struct ers_config *cfg;
	bool have_session;
	struct ers_session session; /* when have_session */
};

/* A parameter of the query string or the form body, or NULL. */
const char *web_query(const struct web_req *r, const char *name);
const char *web_form(const struct web_req *r, const char *name);
/* The mailbox a settings page is about: ?user= / the form's "user" (an
 * admin's user; the policy decides), else the session's own. */
const char *web_page_user(const struct web_req *r);

/* Whether the form's "csrf" field is the session's CSRF token. */
bool web_csrf_ok(const struct web_req *r);

/* The page frame (core.h's, with the session's tabs and account menu
 * when logged in), then `content` (trusted markup), footer.  Sets status
 * 200 unless set. */
void web_page(struct web_req *r, struct web_resp *w, const char *title, const char *content);
/* A page with one message for a status (a readable error page). */
void web_error_page(struct web_req *r, struct web_resp *w, int status, const char *message);
/* An error from libers as a page: its code mapped to an HTTP status. */
void web_ers_error(struct web_req *r, struct web_resp *w, const struct ers_error *err);
int web_status_of(enum ers_error_code code);
/* 303 See Other to `location` (a path of this site). */
void web_redirect(struct web_resp *w, const char *location);
/* The hidden CSRF field for a form of this session (trusted markup). */
void web_csrf_field(const struct web_req *r, struct ers_buf *out);

/* Opens this request's user's mailbox on this node's Dovecot as
 * USER*MASTER (web/mailconn.c); only ever after the session was checked. */
/* main.c: answers one request (ers_webmail_main, a CGI: `cfg` and
 * `ctx_keep` NULL -- ers.yaml read and the database opened for it alone; a
 * FastCGI worker (fcgi.c) passes what it keeps between requests). */
int web_handle(const struct ers_config *cfg, struct ers_ctx **ctx_keep);

/* imapkeep.c: a FastCGI worker keeps each session's IMAP connection
 * between its requests (web_imap_keep(true)); a CGI keeps none.  Pages
 * give back what web_imap_open gave with web_imap_release (a kept one is
 * kept, any other closed). */
void web_imap_keep(bool on);
struct ers_imap *web_imap_kept(struct web_req *r, const char *address);
void web_imap_adopt(struct web_req *r, const char *address, struct ers_imap *im);
void web_imap_release(struct web_req *r, struct ers_imap *im);
void web_imap_release_all(struct web_req *r);
/* Closes the session's kept connections (logout, password change). */
void web_imap_forget_session(const char *token);
/* Closes the kept connections whose session ended or that sat idle; how
 * many are left. */
size_t web_imap_sweep(struct ers_ctx *ctx);
void web_imap_close_all(void);
int web_imap_open(struct web_req *r, struct ers_imap **im_r, struct ers_error *err);
/* The same into another user's mailbox: only after the policy allowed the
 * operation on it (ers_mailbox_clear_imap asks for it then). */
/* A new connection, never a kept one (for a caller that closes it itself). */
int web_imap_connect_as(struct web_req *r, const char *address, struct ers_imap **im_r, struct ers_error *err);
int web_imap_open_as(struct web_req *r, const char *address, struct ers_imap **im_r, struct ers_error *err);
/* SMTP submission to this node's Postfix as USER*MASTER; `user` holds the
 * login name the params point to (free it after use). */
int web_smtp_params(struct web_req *r, struct ers_smtp_params *p, struct ers_buf *user, struct ers_error *err);

/* Pages. */
void page_login_form(struct web_req *r, struct web_resp *w);
void page_login_post(struct web_req *r, struct web_resp *w);
void page_login_code(struct web_req *r, struct web_resp *w);
void page_manual_user(struct web_req *r, struct web_resp *w);  /* pages_manual.c */
void page_manual_admin(struct web_req *r, struct web_resp *w);
void page_logout(struct web_req *r, struct web_resp *w);
void page_mailbox(struct web_req *r, struct web_resp *w);
void page_message(struct web_req *r, struct web_resp *w);
void page_message_body(struct web_req *r, struct web_resp *w);
void page_message_attachment(struct web_req *r, struct web_resp *w);
void page_message_unread(struct web_req *r, struct web_resp *w);
void page_message_delete(struct web_req *r, struct web_resp *w);
void page_mfa(struct web_req *r, struct web_resp *w);
void page_mfa_setup(struct web_req *r, struct web_resp *w);
void page_mfa_verify(struct web_req *r, struct web_resp *w);
void page_password(struct web_req *r, struct web_resp *w);
void page_password_post(struct web_req *r, struct web_resp *w);
void page_compose(struct web_req *r, struct web_resp *w);
void page_compose_post(struct web_req *r, struct web_resp *w);
/* The Archives view (web/pages_archive.c). */
void page_archives(struct web_req *r, struct web_resp *w);
void page_archives_create(struct web_req *r, struct web_resp *w);
void page_archives_preferences(struct web_req *r, struct web_resp *w);
void page_archives_download(struct web_req *r, struct web_resp *w);
/* S/MIME Settings and the compose page's S/MIME lines (web/pages_smime.c). */
void page_smime(struct web_req *r, struct web_resp *w);
void page_message_move(struct web_req *r, struct web_resp *w);
void page_message_spam(struct web_req *r, struct web_resp *w);
void page_message_notspam(struct web_req *r, struct web_resp *w);
void page_autoreply(struct web_req *r, struct web_resp *w);
void page_autoreply_post(struct web_req *r, struct web_resp *w);
void page_spam(struct web_req *r, struct web_resp *w);
void page_spam_greylisting_post(struct web_req *r, struct web_resp *w);
void page_spam_allow_add(struct web_req *r, struct web_resp *w);
void page_spam_allow_remove(struct web_req *r, struct web_resp *w);
void page_spam_filter_post(struct web_req *r, struct web_resp *w);
void page_spam_block_add(struct web_req *r, struct web_resp *w);
void page_spam_block_remove(struct web_req *r, struct web_resp *w);
void page_smime_identity_post(struct web_req *r, struct web_resp *w);
void page_smime_identity_remove(struct web_req *r, struct web_resp *w);
void page_smime_cert_post(struct web_req *r, struct web_resp *w);
void page_smime_cert_remove(struct web_req *r, struct web_resp *w);
void page_smime_compose_status(struct web_req *r, struct web_resp *w);
/* Reading: when `src` is S/MIME, opens it for the session's user (decrypts,
 * verifies), replaces it with the opened message and says what it was in
 * `st`; false when it is no S/MIME message.  Failures are in st->why. */
bool web_smime_open(struct web_req *r, struct ers_buf *src, struct ers_smime_read *st);
/* The lines saying what web_smime_open found, with "Save the sender's
 * certificate" for an intact signature (trusted markup). */
void web_smime_read_html(struct web_req *r, const struct ers_smime_read *st, const char *folder, unsigned long uid,
			 struct ers_buf *c);
void page_smime_save_signer(struct web_req *r, struct web_resp *w);
/* The admin panel's Users tab (web/pages_admin.c). */
bool web_is_admin(const struct web_req *r);
void page_admin_users(struct web_req *r, struct web_resp *w);
void page_admin_user_new(struct web_req *r, struct web_resp *w);
void page_admin_user_new_post(struct web_req *r, struct web_resp *w);
void page_admin_user_edit(struct web_req *r, struct web_resp *w);
void page_admin_user_edit_post(struct web_req *r, struct web_resp *w);
void page_admin_user_password(struct web_req *r, struct web_resp *w);
void page_admin_user_password_post(struct web_req *r, struct web_resp *w);
void page_admin_user_mfa(struct web_req *r, struct web_resp *w);
/* Log in as mailbox owner and Account activity (web/pages_owner.c). */
void page_admin_user_impersonate(struct web_req *r, struct web_resp *w);
void page_admin_user_impersonate_post(struct web_req *r, struct web_resp *w);
void page_activity(struct web_req *r, struct web_resp *w);
void page_admin_user_mfa_post(struct web_req *r, struct web_resp *w);
void page_admin_user_delete(struct web_req *r, struct web_resp *w);
void page_admin_user_clear(struct web_req *r, struct web_resp *w);
void page_admin_user_clear_post(struct web_req *r, struct web_resp *w);
void page_admin_user_delete_post(struct web_req *r, struct web_resp *w);
/* What the admin tabs share (web/admin_nav.c): the sub-tab navigation
 * around `content` with `tab` ("users", "aliases", "tenants", "security") current;
 * whether the actor sees every tenant (super admins: the Tenants tab, the
 * tenant filters); the refusal of a regular user (false: it was shown). */
void web_admin_page(struct web_req *r, struct web_resp *w, const char *tab, const char *title, const char *content);
bool web_sees_tenants(const struct web_req *r);
bool web_admin_only(struct web_req *r, struct web_resp *w);
/* The Aliases tab (web/pages_admin_aliases.c). */
void page_admin_aliases(struct web_req *r, struct web_resp *w);
void page_admin_alias_new(struct web_req *r, struct web_resp *w);
void page_admin_alias_new_post(struct web_req *r, struct web_resp *w);
void page_admin_alias_delete(struct web_req *r, struct web_resp *w);
void page_admin_alias_delete_post(struct web_req *r, struct web_resp *w);
void page_migrate(struct web_req *r, struct web_resp *w);
void page_migrate_post(struct web_req *r, struct web_resp *w);
void page_admin_shared(struct web_req *r, struct web_resp *w);
void page_admin_shared_new(struct web_req *r, struct web_resp *w);
void page_admin_shared_new_post(struct web_req *r, struct web_resp *w);
void page_admin_shared_access(struct web_req *r, struct web_resp *w);
void page_admin_shared_grant_post(struct web_req *r, struct web_resp *w);
void page_admin_shared_revoke_post(struct web_req *r, struct web_resp *w);
void page_admin_shared_delete(struct web_req *r, struct web_resp *w);
void page_admin_shared_delete_post(struct web_req *r, struct web_resp *w);
/* The Tenants tab, super admins only (web/pages_admin_tenants.c). */
void page_admin_tenants(struct web_req *r, struct web_resp *w);
void page_admin_tenant_new(struct web_req *r, struct web_resp *w);
void page_admin_tenant_new_post(struct web_req *r, struct web_resp *w);
void page_admin_tenant_edit(struct web_req *r, struct web_resp *w);
void page_admin_tenant_edit_post(struct web_req *r, struct web_resp *w);
void page_admin_tenant_domains(struct web_req *r, struct web_resp *w);
void page_admin_tenant_domain_add_post(struct web_req *r, struct web_resp *w);
void page_admin_tenant_domain_primary_post(struct web_req *r, struct web_resp *w);
void page_admin_tenant_domain_remove_post(struct web_req *r, struct web_resp *w);
void page_admin_tenant_dns(struct web_req *r, struct web_resp *w);
void page_admin_tenant_delete(struct web_req *r, struct web_resp *w);
void page_admin_tenant_delete_post(struct web_req *r, struct web_resp *w);
void page_admin_user_welcome_post(struct web_req *r, struct web_resp *w);
void page_admin_user_forward_post(struct web_req *r, struct web_resp *w);
void page_admin_user_catchall_post(struct web_req *r, struct web_resp *w);
void page_admin_user_limits_post(struct web_req *r, struct web_resp *w);
void page_admin_security(struct web_req *r, struct web_resp *w); /* pages_admin_security.c */
void page_admin_security_test(struct web_req *r, struct web_resp *w);

#endif
