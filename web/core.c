/* What both the front and the module render (core.h): libc only. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ers/config.h"
#include "ers/mem.h"
#include "core.h"
#include "html.h"

/* The pages' policy: only our own script file (no inline script), styles
 * and images from here only. */
#define CSP_PAGES "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; " \
		  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one x-www-form-urlencoded component of n bytes (malloc'd). */
static char *form_decode(const char *s, size_t n)
{
	char *out = ers_xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			 hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	/* A NUL typed into a form ends the value there. */
	return out;
}

void web_params_parse(const char *s, struct web_param **items_r, size_t *n_r)
{
	*items_r = NULL;
	*n_r = 0;
	if (!s)
		return;
	size_t cap = 0;
	while (*s) {
		const char *amp = strchr(s, '&');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (len > 0 && *n_r < 200) {
			if (*n_r == cap) {
				cap = cap ? cap * 2 : 8;
				*items_r = ers_xrealloc(*items_r, cap * sizeof **items_r);
			}
			struct web_param *p = &(*items_r)[(*n_r)++];
			p->name = form_decode(s, eq ? (size_t)(eq - s) : len);
			p->value = eq ? form_decode(eq + 1, len - (size_t)(eq - s) - 1) : ers_xstrdup("");
		}
		s += len;
		if (*s == '&')
			s++;
	}
}

void web_params_free(struct web_param *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].name);
		ers_free_secret(items[i].value); /* passwords come in forms */
	}
	free(items);
}

const char *web_param(const struct web_param *items, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(items[i].name, name))
			return items[i].value;
	return NULL;
}

/* Where the request comes from and the answer goes: a CGI's environment,
 * stdin and stdout, unless a FastCGI worker (web/fcgi.c) set its request's. */
static char *const *io_envp;
static FILE *io_out;
static ssize_t (*io_read)(void *buf, size_t n);

void web_io_set(char *const *envp, FILE *out, ssize_t (*read_in)(void *buf, size_t n))
{
	io_envp = envp;
	io_out = out;
	io_read = read_in;
}

const char *web_env(const char *name)
{
	if (!io_envp)
		return getenv(name);
	size_t n = strlen(name);
	for (char *const *e = io_envp; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

FILE *web_out(void)
{
	return io_out ? io_out : stdout;
}

ssize_t web_read_in(void *buf, size_t n)
{
	return io_read ? io_read(buf, n) : read(0, buf, n);
}

static int hsts_max_age = ERS_HSTS_MAX_AGE_DEFAULT;
static bool hsts_include_subdomains;

bool web_https(void)
{
	const char *https = web_env("HTTPS");
	return https && !strcasecmp(https, "on");
}

void web_set_hsts(int max_age, bool include_subdomains)
{
	hsts_max_age = max_age;
	hsts_include_subdomains = include_subdomains;
}

void web_emit(const struct web_resp *w)
{
	FILE *out = web_out();
	const char *reason = "OK";
	switch (w->status) {
	case 303: reason = "See Other"; break;
	case 400: reason = "Bad Request"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 409: reason = "Conflict"; break;
	case 413: reason = "Content Too Large"; break;
	case 422: reason = "Unprocessable Content"; break;
	case 429: reason = "Too Many Requests"; break;
	case 500: reason = "Internal Server Error"; break;
	case 502: reason = "Bad Gateway"; break;
	case 503: reason = "Service Unavailable"; break;
	}
	fprintf(out, "Status: %d %s\r\n", w->status, reason);
	fprintf(out, "Content-Type: %s\r\n", w->content_type ? w->content_type : "text/html; charset=utf-8");
	fprintf(out, "Content-Security-Policy: %s\r\n", w->csp ? w->csp : CSP_PAGES);
	fprintf(out, "X-Content-Type-Options: nosniff\r\n");
	fprintf(out, "Referrer-Policy: no-referrer\r\n");
	if (!w->csp)
		fprintf(out, "X-Frame-Options: DENY\r\n");
	if (!strstr(w->headers.data, "Cache-Control:"))
		fprintf(out, "Cache-Control: no-store\r\n");
	if (hsts_max_age > 0 && web_https())
		fprintf(out, "Strict-Transport-Security: max-age=%d%s\r\n", hsts_max_age,
		       hsts_include_subdomains ? "; includeSubDomains" : "");
	fputs(w->headers.data, out);
	struct stat st;
	if (w->body_fd > 0 && fstat(w->body_fd, &st) == 0) {
		/* A download (an archive): streamed, never whole in memory. */
		fprintf(out, "Content-Length: %lld\r\n\r\n", (long long)st.st_size);
		char buf[65536];
		ssize_t n;
		while ((n = read(w->body_fd, buf, sizeof buf)) > 0)
			fwrite(buf, 1, (size_t)n, out);
		close(w->body_fd);
		fflush(out);
		return;
	}
	fprintf(out, "Content-Length: %zu\r\n\r\n", w->body.len);
	fwrite(w->body.data, 1, w->body.len, out);
	fflush(out);
}

void web_frame_head(struct ers_buf *b, const char *title)
{
	html(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<meta name=\"color-scheme\" content=\"light dark\">"
		"<title>%s &middot; ERS Webmail</title><link rel=\"stylesheet\" href=\"/static/ers.css\"></head><body>\n",
	     title);
	html(b, "<a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"topbar\">"
		"<a class=\"brand\" href=\"/\"><span class=\"logo\" aria-hidden=\"true\">&#9993;</span> ERS Webmail</a>");
}

void web_frame_foot(struct ers_buf *b, const char *content, bool script)
{
	html(b, "</header>\n<main id=\"main\">\n%r\n</main>%r</body></html>\n", content,
	     script ? "<script src=\"/static/ers.js\" defer></script>" : "");
}

void web_frame(struct web_resp *w, const char *title, const char *content)
{
	if (!w->status)
		w->status = 200;
	web_frame_head(&w->body, title);
	web_frame_foot(&w->body, content, false);
}

void web_login_html(struct ers_buf *c, const char *email, const char *error, const char *notice)
{
	html(c, "<section class=\"card narrow\"><h1>Login</h1>");
	if (error)
		html(c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	if (notice)
		html(c, "<p class=\"notice\">%s</p>", notice);
	html(c, "<form method=\"post\" action=\"/login\">"
		"<label>Email address<input type=\"email\" name=\"email\" value=\"%s\" autocomplete=\"username\" required autofocus></label>"
		"<label>Password<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
		"<button type=\"submit\">Login</button></form>"
		"<p class=\"hint\">Forgot your password? Contact your administrator to reset it.</p></section>",
	     email ? email : "");
}

void web_login_page(struct web_resp *w, bool logged_out)
{
	struct ers_buf c = ERS_BUF_INIT;
	web_login_html(&c, NULL, NULL, logged_out ? "You have been logged out." : NULL);
	web_frame(w, "Login", c.data);
	ers_buf_free(&c);
}

const char *web_error_title(int status)
{
	return status == 404 ? "Not found" : status == 403 ? "Not allowed"
	     : status >= 500 ? "Something went wrong" : "That did not work";
}

void web_error_html(struct ers_buf *c, const char *title, const char *message)
{
	html(c, "<section class=\"card\"><h1>%s</h1><p class=\"error\">%s</p><p><a href=\"/\">Back to Inbox</a></p></section>",
	     title, message);
}

bool web_static(const char *path, struct web_resp *w)
{
	const char *data;
	if (!strcmp(path, "/static/ers.css")) {
		w->content_type = "text/css; charset=utf-8";
		data = web_css;
	} else if (!strcmp(path, "/static/ers.js")) {
		w->content_type = "text/javascript; charset=utf-8";
		data = web_js;
	} else
		return false;
	ers_buf_adds(&w->headers, "Cache-Control: public, max-age=3600\r\n");
	ers_buf_adds(&w->body, data);
	return true;
}
