/* The parts of the webmail that need only libc (and libers's buf.c and
 * mem.c, which need only libc too): the request's parameters, the response
 * and its security headers, the page frame without the session's top bar,
 * the login form, the error page's content and the embedded static files.
 * Linked into both programs: the front (web/front.c, ers-webmail.cgi),
 * which answers what needs no database and no mail server, and the module
 * (ers-webmail.so, web/main.c's ers_webmail_main) that it loads for the
 * rest -- so the two render the same bytes. */
#ifndef ERS_WEB_CORE_H
#define ERS_WEB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "ers/buf.h"

struct web_param {
	char *name, *value;
};

struct web_resp {
	int status;
	const char *content_type;  /* default: text/html; charset=utf-8 */
	const char *csp;           /* default: the pages' policy */
	struct ers_buf headers;    /* extra header lines, each ending "\r\n" */
	struct ers_buf body;
	int body_fd;               /* > 0: the body is this file's content instead, streamed (closed after) */
};

/* Parses a query string or an x-www-form-urlencoded body (at most 200
 * parameters); NULL gives none.  Free with web_params_free (values are
 * wiped: passwords come in forms). */
void web_params_parse(const char *s, struct web_param **items_r, size_t *n_r);
void web_params_free(struct web_param *items, size_t n);
/* The first value of `name`, or NULL. */
const char *web_param(const struct web_param *items, size_t n, const char *name);

/* The request's CGI variables, its body and where the answer goes: the
 * process's environment, stdin and stdout (a CGI), or a FastCGI request's
 * once web_io_set gave them (NULLs go back to the process's). */
void web_io_set(char *const *envp, FILE *out, ssize_t (*read_in)(void *buf, size_t n));
const char *web_env(const char *name);
FILE *web_out(void);
ssize_t web_read_in(void *buf, size_t n);

/* Writes the response to web_out() as a CGI: status, content type, the
 * security headers (CSP, nosniff, no referrer, no framing, no-store unless
 * the page set Cache-Control, Strict-Transport-Security over HTTPS), its
 * own headers and the body. */
void web_emit(const struct web_resp *w);

/* Whether the request came over HTTPS: the CGI variable HTTPS is "on", as
 * lighttpd, nginx (fastcgi_params) and Apache set it. */
bool web_https(void);
/* The Strict-Transport-Security header web_emit sends over HTTPS (RFC
 * 6797; never over plain HTTP, where a browser ignores it): max-age in
 * seconds, 0 for none.  Until set, ers.yaml's default: one year, without
 * includeSubDomains.  The module sets it from webmail.hsts_max_age and
 * webmail.hsts_include_subdomains; the front from its reading of the same
 * keys (web/front.c). */
void web_set_hsts(int max_age, bool include_subdomains);

/* The frame of every page: from the doctype to the brand of the top bar
 * (the caller adds a session's tabs and menu), then the end of the top bar,
 * `content` (trusted markup) in <main>, and the keyboard script when
 * `script` (pages of a session). */
void web_frame_head(struct ers_buf *b, const char *title);
void web_frame_foot(struct ers_buf *b, const char *content, bool script);
/* A whole page without a session: status 200 unless set. */
void web_frame(struct web_resp *w, const char *title, const char *content);

/* The login form's card (manual 000 "Logging In"); `email`, `error` and
 * `notice` may be NULL. */
void web_login_html(struct ers_buf *c, const char *email, const char *error, const char *notice);
/* GET /login without a session: the form, with "You have been logged
 * out." after a logout (/login?out=1). */
void web_login_page(struct web_resp *w, bool logged_out);
/* An error page's title for a status, and its card. */
const char *web_error_title(int status);
void web_error_html(struct ers_buf *c, const char *title, const char *message);

/* /static/ers.css and /static/ers.js: fills `w` and returns true for
 * those paths, false for any other. */
bool web_static(const char *path, struct web_resp *w);

/* The module: a file next to the front's executable, and its one exported
 * function, which answers the request as a whole CGI program would (its
 * return value is the exit status). */
#define WEB_MODULE_FILE "ers-webmail.so"
#define WEB_MODULE_ENTRY "ers_webmail_main"
__attribute__((visibility("default"))) int ers_webmail_main(void);

/* The stylesheet, embedded at build time (web/css.gen.c). */
extern const char web_css[];
/* The keyboard shortcuts' script, likewise (/static/ers.js). */
extern const char web_js[];

#endif
