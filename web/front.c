/* ers-webmail.cgi: the front of the webmail, linked with libc only.
 *
 * Each request is a new process, and loading the full webmail's shared
 * libraries (libpq, libcurl, GMime, gumbo, ... about 50) costs several
 * times a hello-world CGI's start (test/bench/RESULTS.md, section 6).  So
 * this program answers itself what needs no database and no mail server --
 * GET and HEAD of /static/ers.css, /static/ers.js, and of /login without a
 * session cookie -- with the same code the module renders them with
 * (core.c), and for everything else loads the module ers-webmail.so from
 * the directory of its own executable and hands the request over to it
 * untouched (environment, stdin and stdout).
 *
 * Over HTTPS its answers carry the same Strict-Transport-Security header as
 * the module's, from ers.yaml's webmail section, which the front reads
 * without a YAML parser (hsts_config below): when it cannot be sure what
 * the file says, the module answers. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ers/config.h"
#include "ers/session.h"
#include "core.h"

/* The module failed to load: a readable page for the user, the reason for
 * the administrator on stderr (the web server's error log). */
static int module_failed(const char *why)
{
	struct web_resp w = { .status = 500, .headers = ERS_BUF_INIT, .body = ERS_BUF_INIT };
	struct ers_buf c = ERS_BUF_INIT;
	fprintf(stderr, "ers-webmail.cgi: cannot load the webmail module: %s\n", why);
	web_error_html(&c, web_error_title(500),
		       "The webmail is not installed correctly. The administrator can find the reason in the web "
		       "server's error log.");
	web_frame(&w, web_error_title(500), c.data);
	web_emit(&w);
	ers_buf_free(&c);
	ers_buf_free(&w.body);
	return 0;
}

/* Runs the module: WEB_MODULE_FILE beside the real path of this program
 * (/proc/self/exe has the symbolic links resolved) -- never a path from the
 * environment or the current directory, which a request could influence. */
static int run_module(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path);
	if (n < 0)
		return module_failed(strerror(errno));
	if ((size_t)n >= sizeof path - sizeof WEB_MODULE_FILE)
		return module_failed("the program's path is too long");
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	if (!slash)
		return module_failed("the program's path is not absolute");
	memcpy(slash + 1, WEB_MODULE_FILE, sizeof WEB_MODULE_FILE);
	/* RTLD_NOW: a missing library or symbol is found here, as a 500 page,
	 * not halfway through a response. */
	void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!module)
		return module_failed(dlerror());
	int (*entry)(void) = (int (*)(void))dlsym(module, WEB_MODULE_ENTRY);
	if (!entry)
		return module_failed(dlerror());
	return entry();
}

/* Whether the line [p, end) starts with `word` followed by `:` and
 * returns what follows the colon. */
static const char *key_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - p) <= n || memcmp(p, word, n) || p[n] != ':')
		return NULL;
	return p + n + 1;
}

/* Whether [p, end) is blanks and an optional comment: nothing else. */
static bool nothing_more(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p == end || *p == '#';
}

/* Whether the text [p, end) holds `word`. */
static bool holds(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	for (; (size_t)(end - p) >= n; p++)
		if (!memcmp(p, word, n))
			return true;
	return false;
}

/* The webmail section's HSTS keys as the module reads them (libers's
 * config.c, with libyaml), read here from the text of the configuration:
 * true with them set (the defaults when the file does not name them), false
 * when the front cannot be sure of the file and must leave the request to
 * the module.  It is sure of the usual block style only:
 *
 *     webmail:
 *       hsts_max_age: 0          # a comment
 *       hsts_include_subdomains: false
 *
 * "webmail:" at the start of a line with nothing after it but a comment,
 * then only these keys with plain values, at one indentation.  Anything
 * else that could name the section or the keys -- a top level line that
 * does not begin with a lowercase key, a top level mapping indented, a
 * "webmail" key written another way (flow style, an alias, quoted), "hsts"
 * in a top level line, a repeated section or key, a value that is not a
 * plain number in range or true or false, a second document -- goes to the
 * module, which reads the file with the real parser (and refuses what is
 * wrong).  A file it cannot read gives the defaults, which the module's
 * error page uses too. */
static bool hsts_config(int *max_age_r, bool *subdomains_r)
{
	static char text[64 << 10];
	*max_age_r = ERS_HSTS_MAX_AGE_DEFAULT;
	*subdomains_r = false;
	const char *path = getenv("ERS_CONFIG");
	if (!path || !*path)
		path = ERS_CONFIG_DEFAULT_PATH;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, text + len, sizeof text - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		return true; /* a directory, say: unreadable, as for the module */
	if (len == sizeof text || memchr(text, '\0', len))
		return false; /* too large to be ours to judge; NUL bytes (UTF-16, ...) */

	bool in_webmail = false, seen_webmail = false, seen_max_age = false, seen_subdomains = false;
	bool seen_content = false, ended = false;
	size_t indent = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n' && *eol != '\r') /* YAML breaks lines at CR too */
			eol++;
		const char *line = p;
		p = eol < end ? eol + 1 : end;
		const char *q = line;
		while (q < eol && *q == ' ')
			q++;
		if (nothing_more(q, eol))
			continue; /* blank, or a comment */
		if (q == line) { /* a top level line */
			in_webmail = false;
			if (eol - line >= 3 && (!memcmp(line, "---", 3) || !memcmp(line, "...", 3)) &&
			    nothing_more(line + 3, eol)) {
				/* A document's start or end: after content, what
				 * follows is a second document, which the module
				 * refuses. */
				if (seen_content)
					ended = true;
				continue;
			}
			if (*line < 'a' || *line > 'z' || ended)
				return false;
			seen_content = true;
			const char *after = key_is(line, eol, "webmail");
			if (after && nothing_more(after, eol)) {
				if (seen_webmail)
					return false;
				seen_webmail = in_webmail = true;
				indent = 0;
				continue;
			}
			if ((eol - line >= 7 && !memcmp(line, "webmail", 7)) || holds(line, eol, "hsts"))
				return false;
			continue;
		}
		if (!seen_content)
			return false; /* the top level mapping is indented */
		if (!in_webmail)
			continue; /* inside another section: not the webmail's keys */
		/* In the webmail section: only its keys, at one indentation. */
		if (*q == '\t' || (indent && (size_t)(q - line) != indent))
			return false;
		indent = (size_t)(q - line);
		const char *v = key_is(q, eol, "hsts_max_age");
		bool max_age = v != NULL;
		if (!v && !(v = key_is(q, eol, "hsts_include_subdomains")))
			return false;
		if ((max_age && seen_max_age) || (!max_age && seen_subdomains))
			return false;
		if (v == eol || (*v != ' ' && *v != '\t'))
			return false;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		const char *w = v;
		while (w < eol && *w != ' ' && *w != '\t')
			w++;
		if (w == v || !nothing_more(w, eol))
			return false;
		if (max_age) {
			long value = 0;
			for (const char *d = v; d < w; d++) {
				if (*d < '0' || *d > '9')
					return false;
				value = value * 10 + (*d - '0');
				if (value > ERS_HSTS_MAX_AGE_MAX)
					return false;
			}
			*max_age_r = (int)value;
			seen_max_age = true;
		} else {
			if (w - v == 4 && !memcmp(v, "true", 4))
				*subdomains_r = true;
			else if (w - v == 5 && !memcmp(v, "false", 5))
				*subdomains_r = false;
			else
				return false;
			seen_subdomains = true;
		}
	}
	return true;
}

int main(void)
{
	const char *method = getenv("REQUEST_METHOD"), *path = getenv("PATH_INFO"), *cookie = getenv("HTTP_COOKIE");
	bool get = method && (!strcmp(method, "GET") || !strcmp(method, "HEAD"));
	struct web_resp w = { .status = 0, .headers = ERS_BUF_INIT, .body = ERS_BUF_INIT };

	if (!get || !path)
		return run_module();
	if (!strcmp(path, "/login")) {
		/* Any cookie of that name, even one the module will find
		 * malformed, goes to the module: it decides as it always did. */
		if (cookie && strstr(cookie, ERS_SESSION_COOKIE "="))
			return run_module();
		struct web_param *query;
		size_t nquery;
		web_params_parse(getenv("QUERY_STRING"), &query, &nquery);
		web_login_page(&w, web_param(query, nquery, "out") != NULL);
		web_params_free(query, nquery);
	} else if (!web_static(path, &w))
		return run_module();
	/* The answer is the front's: over HTTPS with the configuration's
	 * Strict-Transport-Security, or the module's when the front cannot
	 * read that for sure.  Over plain HTTP there is none to send. */
	if (web_https()) {
		int max_age;
		bool subdomains;
		if (!hsts_config(&max_age, &subdomains)) {
			ers_buf_free(&w.headers);
			ers_buf_free(&w.body);
			return run_module();
		}
		web_set_hsts(max_age, subdomains);
	}
	if (!w.status)
		w.status = 200;
	web_emit(&w);
	ers_buf_free(&w.headers);
	ers_buf_free(&w.body);
	return 0;
}
