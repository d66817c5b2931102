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
 * untouched (environment, stdin and stdout). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	if (!w.status)
		w.status = 200;
	web_emit(&w);
	ers_buf_free(&w.headers);
	ers_buf_free(&w.body);
	return 0;
}
