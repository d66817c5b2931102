/* The webmail's IMAP client (imap.h) on libcurl.  libcurl makes the
 * connection -- TCP, STARTTLS or implicit TLS with certificate checks --
 * with CURLOPT_CONNECT_ONLY and no user name, so its connect phase ends
 * before any login (ers_imap_connect); then we speak IMAP ourselves over
 * it with curl_easy_send/curl_easy_recv, the login (ers_imap_login) first,
 * and read each answer up to its tagged line, literals counted by their
 * {n}.  The split lets the webmail make the connection while it checks
 * the session, and log in only once the session is known good.  Why not
 * libcurl's own IMAP commands: a CURLOPT_CUSTOMREQUEST
 * answer goes through libcurl's response-line reader, which (Debian's
 * 7.88.1 since the CVE-2023-38039 fix) refuses an answer over 300 KB
 * ("Too large response headers") and clips any line over half its
 * buffer; one message over 300 KB, or a page of summaries adding up to
 * it, then failed.  Here an answer is bounded only by
 * ERS_IMAP_MAX_LITERAL and ERS_IMAP_MAX_ANSWER, and a message's source
 * or a 1 MB subject costs no extra round trip.  imap_parse.c reads the
 * answer's transcript. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include "ers/config.h"
#include <gmime/gmime.h>
#include "ers/imap.h"
#include "mail/internal.h"

struct ers_imap {
	CURL *curl;
	char *base;         /* imap://host:port/ */
	char *where;        /* host:port, for errors */
	char *user;         /* for errors; never the password; NULL before ers_imap_login */
	char *password;     /* kept to log in again after a dropped connection */
	char *ca_file;      /* NULL: the system's CAs */
	enum ers_imap_tls tls;
	char *selected;     /* the folder SELECTed now, or NULL */
	struct ers_buf lines; /* the answer being read; bytes past it stay for the next */
	size_t consumed;    /* bytes of `lines` that the last answer used */
	curl_socket_t sock;
	bool connected;     /* the transport is up; false: the next command connects (again) first */
	bool logged_in;     /* the login on this connection succeeded */
	unsigned long tag;
	long timeout_ms;
	unsigned long long too_big; /* the size of a literal refused, or 0 */
	char curl_err[CURL_ERROR_SIZE];
	bool has_move, has_uidplus, has_list_status, has_literal_plus;
	bool has_sasl_ir, has_auth_plain, login_disabled; /* from before login */
};

/* libcurl hands the lines of its own exchange (greeting, STARTTLS, login)
 * to the header callback: kept for the login's error and capabilities. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	ers_buf_add(userdata, data, size * n);
	return size * n;
}

static void note_capabilities(struct ers_imap *im, const struct ers_imap_result *r)
{
	if (!r->capabilities)
		return;
	char *caps = r->capabilities;
	size_t len = strlen(caps);
	struct ers_buf padded = ERS_BUF_INIT;
	ers_buf_addf(&padded, " %.*s ", (int)len, caps);
	im->has_move = strstr(padded.data, " MOVE ") != NULL;
	im->has_uidplus = strstr(padded.data, " UIDPLUS ") != NULL;
	im->has_list_status = strstr(padded.data, " LIST-STATUS ") != NULL;
	im->has_literal_plus = strstr(padded.data, " LITERAL+ ") != NULL;
	im->has_sasl_ir = strstr(padded.data, " SASL-IR ") != NULL;
	im->has_auth_plain = strstr(padded.data, " AUTH=PLAIN ") != NULL;
	im->login_disabled = strstr(padded.data, " LOGINDISABLED ") != NULL;
	ers_buf_free(&padded);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drops the connection after a failure: the stream may be mid-answer.
 * The socket is shut so that libcurl's LOGOUT at cleanup fails at once
 * instead of waiting on it. */
static void drop(struct ers_imap *im)
{
	if (im->connected && im->sock != CURL_SOCKET_BAD)
		shutdown(im->sock, SHUT_RDWR);
	im->connected = false;
	im->logged_in = false;
	im->sock = CURL_SOCKET_BAD;
	free(im->selected);
	im->selected = NULL;
	ers_buf_reset(&im->lines);
	im->consumed = 0;
}

static int io_error(struct ers_imap *im, const char *what, const char *why, struct ers_error *err)
{
	ers_error_set(err, ERS_E_UNAVAILABLE, "IMAP %s at %s: %s", what, im->where, why);
	drop(im);
	return -1;
}

/* Waits until the socket is readable (POLLIN) or writable (POLLOUT). */
static int wait_socket(struct ers_imap *im, short events, long long deadline, const char *what, struct ers_error *err)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return io_error(im, what, "the server did not answer in time", err);
		struct pollfd pfd = { .fd = im->sock, .events = events };
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return io_error(im, what, strerror(errno), err);
	}
}

static int send_all(struct ers_imap *im, const char *data, size_t len, long long deadline, const char *what,
		    struct ers_error *err)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(im->curl, data, len, &n);
		if (cc == CURLE_AGAIN) {
			if (wait_socket(im, POLLOUT, deadline, what, err) < 0)
				return -1;
			continue;
		}
		if (cc != CURLE_OK)
			return io_error(im, what, curl_easy_strerror(cc), err);
		data += n;
		len -= n;
	}
	return 0;
}

/* The literal a line segment [s, e) announces at its end ("{n}" or
 * "{n+}" before CRLF), or -1. */
static long long literal_at_end(const char *s, const char *e)
{
	while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (e == s || e[-1] != '}')
		return -1;
	const char *p = e - 1;
	if (p > s && p[-1] == '+')
		p--;
	const char *digits_end = p;
	while (p > s && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == digits_end || p == s || p[-1] != '{' || digits_end - p > 12)
		return -1;
	long long n = 0;
	for (; p < digits_end; p++)
		n = n * 10 + (*p - '0');
	return n;
}

/* Reads one answer into im->lines: up to and including the line tagged
 * `tag`, or with `want_plus` a continuation request ("+ ...") first.
 * Literals are skipped by their announced size, so a line inside one is
 * never taken for the end.  Returns 1 for the continuation, 0 for the
 * tagged line, -1 on error (the connection is then dropped); *end is the
 * length of the answer in im->lines. */
static int read_answer(struct ers_imap *im, const char *tag, bool want_plus, long long deadline, const char *what,
		       size_t *end, struct ers_error *err)
{
	size_t taglen = strlen(tag);
	size_t pos = 0, seg = 0;  /* scanned up to; the line segment being read starts at */
	unsigned long long lit = 0; /* literal bytes still to skip */
	bool line_start = true;   /* the segment begins a response line (not after a literal) */
	struct ers_buf *b = &im->lines;
	for (;;) {
		while (pos < b->len) {
			if (lit > 0) {
				size_t k = b->len - pos < lit ? b->len - pos : (size_t)lit;
				pos += k;
				lit -= k;
				if (lit == 0)
					seg = pos;
				continue;
			}
			const char *nl = memchr(b->data + pos, '\n', b->len - pos);
			if (!nl) {
				pos = b->len;
				break;
			}
			size_t eol = (size_t)(nl - b->data) + 1;
			const char *s = b->data + seg;
			if (line_start && eol - seg > taglen && memcmp(s, tag, taglen) == 0 && s[taglen] == ' ') {
				*end = eol;
				return 0;
			}
			if (line_start && want_plus && s[0] == '+') {
				*end = eol;
				return 1;
			}
			long long n = literal_at_end(s, b->data + eol);
			if (n > (long long)ERS_IMAP_MAX_LITERAL) {
				im->too_big = (unsigned long long)n;
				char why[160];
				snprintf(why, sizeof why, "the server sent a string of %lld bytes; the webmail reads at most %u MB in one",
					 n, ERS_IMAP_MAX_LITERAL >> 20);
				io_error(im, what, why, err);
				err->code = ERS_E_INVALID;
				return -1;
			}
			lit = n > 0 ? (unsigned long long)n : 0;
			line_start = n < 0;
			pos = seg = eol;
		}
		if (b->len >= ERS_IMAP_MAX_ANSWER) {
			char why[160];
			snprintf(why, sizeof why, "the answer is over %u MB, more than the webmail reads", ERS_IMAP_MAX_ANSWER >> 20);
			io_error(im, what, why, err);
			err->code = ERS_E_INVALID;
			return -1;
		}
		/* Read a literal's rest in one go where it is large. */
		size_t room = lit > 65536 ? (size_t)lit : 65536;
		if (room > ERS_IMAP_MAX_ANSWER - b->len)
			room = ERS_IMAP_MAX_ANSWER - b->len;
		ers_buf_grow(b, room);
		size_t n = 0;
		CURLcode cc = curl_easy_recv(im->curl, b->data + b->len, room, &n);
		if (cc == CURLE_AGAIN) {
			/* Only now wait: TLS may hold decrypted bytes the socket no longer shows. */
			if (wait_socket(im, POLLIN, deadline, what, err) < 0)
				return -1;
			continue;
		}
		if (cc != CURLE_OK)
			return io_error(im, what, curl_easy_strerror(cc), err);
		if (n == 0)
			return io_error(im, what, "the server closed the connection", err);
		b->len += n;
		b->data[b->len] = '\0';
	}
}

/* Connects through libcurl (CONNECT_ONLY, no user name: libcurl's connect
 * phase then stops after the greeting, CAPABILITY and STARTTLS, before any
 * login) on a new handle: cleaning up the old one closes a dropped
 * connection for good (a new CONNECT_ONLY transfer on the same handle
 * would leave it behind). */
static int connect_transport(struct ers_imap *im, struct ers_error *err)
{
	drop(im);
	if (im->curl)
		curl_easy_cleanup(im->curl);
	CURL *c = im->curl = curl_easy_init();
	if (!c)
		ERS_BUG("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, im->base);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, im->tls == ERS_IMAP_PLAIN ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (im->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, im->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &im->lines);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, im->curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, im->timeout_ms / 1000);
	im->curl_err[0] = '\0';
	CURLcode cc = curl_easy_perform(c);
	struct ers_imap_result r;
	memset(&r, 0, sizeof r);
	struct ers_error perr;
	(void)ers_imap_parse(im->lines.data, im->lines.len, &r, &perr); /* libcurl's own tags: best effort */
	ers_buf_reset(&im->lines);
	int rc = 0;
	if (cc != CURLE_OK) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "IMAP connect to %s: %s%s%s", im->where, curl_easy_strerror(cc),
			      im->curl_err[0] ? ": " : "", im->curl_err);
		rc = -1;
	} else if (curl_easy_getinfo(im->curl, CURLINFO_ACTIVESOCKET, &im->sock) != CURLE_OK ||
		   im->sock == CURL_SOCKET_BAD) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "IMAP connect to %s: libcurl kept no connection", im->where);
		rc = -1;
	} else {
		/* The capabilities after STARTTLS: how to log in. */
		note_capabilities(im, &r);
		im->connected = true;
	}
	ers_imap_result_free(&r);
	return rc;
}

/* Logs in over the connection as im->user: AUTHENTICATE PLAIN with the
 * credentials in the command (SASL-IR) where the server offers it, so any
 * byte of the password goes through; else LOGIN with quoted strings.  The
 * command is wiped after sending; errors never show it. */
static int login(struct ers_imap *im, struct ers_error *err)
{
	size_t ulen = strlen(im->user), plen = strlen(im->password);
	bool plain = im->has_sasl_ir && im->has_auth_plain;
	if (!plain && im->login_disabled) {
		ers_error_set(err, ERS_E_PERMISSION, "IMAP login as %s at %s refused: the server allows no login on "
			      "this connection (LOGINDISABLED, and no AUTH=PLAIN with SASL-IR)", im->user, im->where);
		return -1;
	}
	char tag[24];
	snprintf(tag, sizeof tag, "E%lu", ++im->tag);
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_grow(&cmd, 64 + 2 * (ulen + plen) + (ulen + plen + 2) / 3 * 4 + 8);
	ers_buf_addf(&cmd, "%s ", tag);
	if (plain) {
		ers_buf_adds(&cmd, "AUTHENTICATE PLAIN ");
		/* authzid (empty) NUL authcid NUL password */
		size_t n = ulen + plen + 2;
		unsigned char *cred = ers_xmalloc(n);
		cred[0] = '\0';
		memcpy(cred + 1, im->user, ulen);
		cred[1 + ulen] = '\0';
		memcpy(cred + 2 + ulen, im->password, plen);
		ers_buf_add_base64(&cmd, cred, n);
		ers_wipe(cred, n);
		free(cred);
	} else {
		ers_buf_adds(&cmd, "LOGIN ");
		bool ok = ers_imap_quote(&cmd, im->user);
		ers_buf_addch(&cmd, ' ');
		ok = ok && ers_imap_quote(&cmd, im->password);
		if (!ok) {
			ers_buf_free_secret(&cmd);
			ers_error_set(err, ERS_E_INVALID, "IMAP login as %s at %s: the user name or password holds a line "
				      "break, which LOGIN cannot send (the server offers no AUTH=PLAIN with SASL-IR)",
				      im->user, im->where);
			return -1;
		}
	}
	ers_buf_adds(&cmd, "\r\n");
	long long deadline = now_ms() + im->timeout_ms;
	const char *what = "login";
	int rc = send_all(im, cmd.data, cmd.len, deadline, what, err);
	ers_buf_free_secret(&cmd);
	size_t end = 0;
	if (rc == 0)
		rc = read_answer(im, tag, true, deadline, what, &end, err);
	if (rc == 1) {
		/* The server asks for more than we sent: cancel (RFC 3501 6.2.2);
		 * the tagged answer then says no. */
		memmove(im->lines.data, im->lines.data + end, im->lines.len - end);
		im->lines.len -= end;
		im->lines.data[im->lines.len] = '\0';
		rc = send_all(im, "*\r\n", 3, deadline, what, err);
		if (rc == 0)
			rc = read_answer(im, tag, false, deadline, what, &end, err);
	}
	if (rc < 0)
		return -1;
	im->consumed = end;
	struct ers_imap_result r;
	memset(&r, 0, sizeof r);
	struct ers_error perr;
	(void)ers_imap_parse(im->lines.data, end, &r, &perr);
	if (strcmp(r.status, "OK") != 0) {
		ers_error_set(err, ERS_E_PERMISSION, "IMAP login as %s at %s refused: %s", im->user, im->where,
			      r.status_line[0] ? r.status_line : "authentication failed");
		if (r.bye[0])
			drop(im);
		ers_imap_result_free(&r);
		return -1;
	}
	/* The login's OK carries the post-login capabilities. */
	note_capabilities(im, &r);
	im->logged_in = true;
	ers_imap_result_free(&r);
	return 0;
}

/* Makes the connection anew and logs in again (after a drop). */
static int reconnect(struct ers_imap *im, struct ers_error *err)
{
	if (!im->user) {
		ers_error_set(err, ERS_E_INTERNAL, "IMAP at %s: a command before ers_imap_login", im->where);
		return -1;
	}
	if (!im->connected && connect_transport(im, err) < 0)
		return -1;
	return login(im, err);
}

/* The answer read, im->lines[0, end), parsed into r: its tagged line
 * says whether the command succeeded. */
static int parse_answer(struct ers_imap *im, size_t end, const char *what, struct ers_imap_result *r,
			struct ers_error *err)
{
	im->consumed = end;
	struct ers_error perr;
	int prc = ers_imap_parse(im->lines.data, end, r, &perr);
	note_capabilities(im, r);
	if (r->bye[0] && strcmp(r->status, "OK") != 0)
		drop(im);
	if (prc < 0 && !r->status[0]) { /* unreadable before the tagged line */
		ers_error_set(err, ERS_E_INTERNAL, "IMAP %s at %s: %s", what, im->where, perr.message);
		return -1;
	}
	if (strcmp(r->status, "OK") != 0) {
		/* A NO with [NONEXISTENT] or about a missing message is not found. */
		bool missing = strstr(r->status_line, "[NONEXISTENT]") || strstr(r->status_line, "[TRYCREATE]");
		ers_error_set(err, missing ? ERS_E_NOTFOUND : ERS_E_INVALID, "IMAP %s at %s: the server answered: %s",
			      what, im->where, r->status_line[0] ? r->status_line : "(no answer)");
		return -1;
	}
	if (prc < 0) {
		ers_error_set(err, ERS_E_INTERNAL, "IMAP %s at %s: %s", what, im->where, perr.message);
		return -1;
	}
	return 0;
}

/* What the last answer left (unsolicited lines, or the start of a
 * pipelined answer) starts the next one. */
static void keep_rest(struct ers_imap *im)
{
	if (im->consumed) {
		memmove(im->lines.data, im->lines.data + im->consumed, im->lines.len - im->consumed);
		im->lines.len -= im->consumed;
		im->lines.data[im->lines.len] = '\0';
		im->consumed = 0;
	}
}

/* Sends `tag command` (with `literal`, when not NULL, as its literal
 * argument: the command then ends in " ") and parses the answer into r. */
static int exchange(struct ers_imap *im, const char *command, const char *literal, size_t literal_len,
		    const char *what, struct ers_imap_result *r, struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	im->too_big = 0;
	if ((!im->connected || !im->logged_in) && reconnect(im, err) < 0)
		return -1;
	keep_rest(im);
	long long deadline = now_ms() + im->timeout_ms;
	char tag[24];
	snprintf(tag, sizeof tag, "E%lu", ++im->tag);
	struct ers_buf out = ERS_BUF_INIT;
	ers_buf_addf(&out, "%s %s", tag, command);
	bool sync = literal && !im->has_literal_plus;
	if (literal)
		ers_buf_addf(&out, "{%zu%s}", literal_len, sync ? "" : "+");
	ers_buf_adds(&out, "\r\n");
	if (literal && !sync) {
		ers_buf_add(&out, literal, literal_len);
		ers_buf_adds(&out, "\r\n");
	}
	int rc = send_all(im, out.data, out.len, deadline, what, err);
	ers_buf_free(&out);
	size_t end = 0;
	if (rc == 0 && sync) {
		/* A NO here (before the continuation request) is the whole answer. */
		rc = read_answer(im, tag, true, deadline, what, &end, err);
		if (rc == 1) { /* the continuation request is not part of the answer */
			memmove(im->lines.data, im->lines.data + end, im->lines.len - end);
			im->lines.len -= end;
			im->lines.data[im->lines.len] = '\0';
			rc = send_all(im, literal, literal_len, deadline, what, err);
			if (rc == 0)
				rc = send_all(im, "\r\n", 2, deadline, what, err);
			if (rc == 0)
				rc = read_answer(im, tag, false, deadline, what, &end, err);
		}
	} else if (rc == 0) {
		rc = read_answer(im, tag, false, deadline, what, &end, err);
	}
	if (rc < 0)
		return -1;
	return parse_answer(im, end, what, r, err);
}

int ers_imap_command(struct ers_imap *im, const char *command, struct ers_imap_result *r, struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	if (strpbrk(command, "\r\n")) {
		ers_error_set(err, ERS_E_INVALID, "an IMAP command may not contain a line break");
		return -1;
	}
	/* The command word(s) name it in errors, never its arguments'
	 * contents beyond 60 bytes. */
	char what[64];
	snprintf(what, sizeof what, "%.60s", command);
	return exchange(im, command, NULL, 0, what, r, err);
}

int ers_imap_send(struct ers_imap *im, const char *command, char tag[24], struct ers_error *err)
{
	if (strpbrk(command, "\r\n")) {
		ers_error_set(err, ERS_E_INVALID, "an IMAP command may not contain a line break");
		return -1;
	}
	if ((!im->connected || !im->logged_in) && reconnect(im, err) < 0)
		return -1;
	char what[64];
	snprintf(what, sizeof what, "%.60s", command);
	snprintf(tag, 24, "E%lu", ++im->tag);
	struct ers_buf out = ERS_BUF_INIT;
	ers_buf_addf(&out, "%s %s\r\n", tag, command);
	int rc = send_all(im, out.data, out.len, now_ms() + im->timeout_ms, what, err);
	ers_buf_free(&out);
	return rc;
}

int ers_imap_receive(struct ers_imap *im, const char *tag, const char *command, struct ers_imap_result *r,
		     struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	im->too_big = 0;
	char what[64];
	snprintf(what, sizeof what, "%.60s", command);
	if (!im->connected) {
		ers_error_set(err, ERS_E_IO, "IMAP %s at %s: the connection was lost before its answer", what, im->where);
		return -1;
	}
	keep_rest(im);
	size_t end = 0;
	if (read_answer(im, tag, false, now_ms() + im->timeout_ms, what, &end, err) < 0)
		return -1;
	return parse_answer(im, end, what, r, err);
}

void ers_imap_global_init(void)
{
	static bool done;
	if (!done)
		curl_global_init(CURL_GLOBAL_DEFAULT);
	done = true;
}

int ers_imap_connect(const struct ers_imap_params *p, struct ers_imap **im_r, struct ers_error *err)
{
	*im_r = NULL;
	if (!p->host || !*p->host || strpbrk(p->host, "/@?#[] \r\n")) {
		ers_error_set(err, ERS_E_INVALID, "IMAP needs a host name (no '/', '@' or spaces)");
		return -1;
	}
	int port = p->port ? p->port : p->tls == ERS_IMAP_TLS ? 993 : 143;
	if (port < 1 || port > 65535) {
		ers_error_set(err, ERS_E_INVALID, "IMAP port must be 1..65535, got %d", port);
		return -1;
	}
	struct ers_imap *im = ers_xcalloc(1, sizeof *im);
	ers_buf_init(&im->lines);
	im->sock = CURL_SOCKET_BAD;
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_addf(&b, "%s://%s:%d/", p->tls == ERS_IMAP_TLS ? "imaps" : "imap", p->host, port);
	im->base = ers_buf_detach(&b);
	ers_buf_addf(&b, "%s:%d", p->host, port);
	im->where = ers_buf_detach(&b);
	im->ca_file = p->ca_file ? ers_xstrdup(p->ca_file) : NULL;
	im->tls = p->tls;
	im->timeout_ms = (p->timeout_s > 0 ? p->timeout_s : 30L) * 1000;
	if (connect_transport(im, err) < 0) {
		ers_imap_close(im);
		return -1;
	}
	*im_r = im;
	return 0;
}

int ers_imap_login(struct ers_imap *im, const char *username, const char *password, struct ers_error *err)
{
	if (!username || !*username || !password) {
		ers_error_set(err, ERS_E_INVALID, "IMAP needs a user name and a password");
		return -1;
	}
	if (im->logged_in) {
		ers_error_set(err, ERS_E_INTERNAL, "IMAP at %s: logged in already", im->where);
		return -1;
	}
	free(im->user);
	ers_free_secret(im->password);
	im->user = ers_xstrdup(username);
	im->password = ers_xstrdup(password);
	if (reconnect(im, err) < 0)
		return -1;
	/* A server that sent no capabilities with its login answer gets asked. */
	if (!im->has_move && !im->has_uidplus) {
		struct ers_imap_result r;
		int rc = ers_imap_command(im, "CAPABILITY", &r, err);
		ers_imap_result_free(&r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int ers_imap_open(const struct ers_imap_params *p, struct ers_imap **im_r, struct ers_error *err)
{
	*im_r = NULL;
	if (!p->host || !*p->host || strpbrk(p->host, "/@?#[] \r\n") || !p->username || !p->password) {
		ers_error_set(err, ERS_E_INVALID, "IMAP needs a host name (no '/', '@' or spaces), a user name and a password");
		return -1;
	}
	struct ers_imap *im;
	if (ers_imap_connect(p, &im, err) < 0)
		return -1;
	if (ers_imap_login(im, p->username, p->password, err) < 0) {
		ers_imap_close(im);
		return -1;
	}
	*im_r = im;
	return 0;
}

void ers_imap_close(struct ers_imap *im)
{
	if (!im)
		return;
	/* LOGOUT is sent but its answer not awaited: the server ends the
	 * session the same way when the connection closes, and waiting for
	 * BYE would only delay the page (libcurl's own LOGOUT at cleanup
	 * waits, so the socket is shut first and that one fails at once). */
	if (im->connected && im->sock != CURL_SOCKET_BAD) {
		size_t n = 0;
		(void)curl_easy_send(im->curl, "Z LOGOUT\r\n", 10, &n);
		drop(im);
	}
	if (im->curl)
		curl_easy_cleanup(im->curl);
	free(im->base);
	free(im->ca_file);
	free(im->where);
	free(im->user);
	ers_free_secret(im->password);
	free(im->selected);
	ers_buf_free(&im->lines);
	free(im);
}

/* SELECT `folder` unless it is selected already; r gets SELECT's data. */
static int select_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, bool force,
			 struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	if (!force && im->selected && strcmp(im->selected, folder) == 0)
		return 0;
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "SELECT ");
	if (!ers_imap_quote(&cmd, folder)) {
		ers_buf_free(&cmd);
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	free(im->selected);
	im->selected = NULL;
	int rc = ers_imap_command(im, cmd.data, r, err);
	ers_buf_free(&cmd);
	if (rc == 0)
		im->selected = ers_xstrdup(folder);
	return rc;
}

/* Runs `fmt` in `folder` (selected first). */
static int in_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, struct ers_error *err,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int in_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, struct ers_error *err,
		     const char *fmt, ...)
{
	struct ers_imap_result sel;
	int rc = select_folder(im, folder, &sel, false, err);
	ers_imap_result_free(&sel);
	if (rc < 0) {
		memset(r, 0, sizeof *r);
		return -1;
	}
	struct ers_buf cmd = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	rc = ers_imap_command(im, cmd.data, r, err);
	ers_buf_free(&cmd);
	return rc;
}

/* Servers without SPECIAL-USE (or folders made by hand) name the roles
 * by convention: a role no folder is flagged with is given to the first
 * folder with one of its usual names. */
/* Folders of the shared namespace (and its root): another mailbox's Sent
 * or Trash is never this user's. */
static void mark_shared(struct ers_imap_result *r)
{
	size_t n = strlen(ERS_IMAP_SHARED_PREFIX);
	for (size_t i = 0; i < r->nfolders; i++) {
		struct ers_imap_folder *f = &r->folders[i];
		if (!strncmp(f->name, ERS_IMAP_SHARED_PREFIX, n) || (strlen(f->name) == n - 1 && !strncmp(f->name, ERS_IMAP_SHARED_PREFIX, n - 1))) {
			f->shared = true;
			f->special = ERS_IMAP_FOLDER_NORMAL;
		}
	}
}

static void guess_special_uses(struct ers_imap_result *r)
{
	static const struct { const char *name; enum ers_imap_special special; } names[] = {
		{ "Sent", ERS_IMAP_FOLDER_SENT }, { "Sent Messages", ERS_IMAP_FOLDER_SENT },
		{ "Drafts", ERS_IMAP_FOLDER_DRAFTS }, { "Trash", ERS_IMAP_FOLDER_TRASH },
		{ "Deleted Messages", ERS_IMAP_FOLDER_TRASH }, { "Junk", ERS_IMAP_FOLDER_JUNK },
		{ "Spam", ERS_IMAP_FOLDER_JUNK },
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		bool taken = false;
		for (size_t i = 0; i < r->nfolders && !taken; i++)
			taken = r->folders[i].special == names[k].special;
		for (size_t i = 0; i < r->nfolders && !taken; i++)
			if (r->folders[i].special == ERS_IMAP_FOLDER_NORMAL && !r->folders[i].shared &&
			    !strcasecmp(r->folders[i].name, names[k].name)) {
				r->folders[i].special = names[k].special;
				taken = true;
			}
	}
}

static int folder_order(const void *a, const void *b)
{
	const struct ers_imap_folder *x = a, *y = b;
	if ((x->special == ERS_IMAP_FOLDER_INBOX) != (y->special == ERS_IMAP_FOLDER_INBOX))
		return x->special == ERS_IMAP_FOLDER_INBOX ? -1 : 1;
	return strcmp(x->display, y->display);
}

int ers_imap_folders(struct ers_imap *im, struct ers_imap_result *r, struct ers_error *err)
{
	int rc;
	if (im->has_list_status) {
		rc = ers_imap_command(im, "LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))", r, err);
	} else {
		rc = ers_imap_command(im, "LIST \"\" \"*\"", r, err);
		for (size_t i = 0; rc == 0 && i < r->nfolders; i++) {
			if (r->folders[i].noselect)
				continue;
			struct ers_buf cmd = ERS_BUF_INIT;
			ers_buf_adds(&cmd, "STATUS ");
			ers_imap_quote(&cmd, r->folders[i].name);
			ers_buf_adds(&cmd, " (MESSAGES UNSEEN)");
			struct ers_imap_result s;
			rc = ers_imap_command(im, cmd.data, &s, err);
			ers_buf_free(&cmd);
			if (rc == 0 && s.nfolders == 1) {
				r->folders[i].messages = s.folders[0].messages;
				r->folders[i].unseen = s.folders[0].unseen;
			}
			ers_imap_result_free(&s);
		}
	}
	if (rc == 0) {
		mark_shared(r);
		guess_special_uses(r);
		qsort(r->folders, r->nfolders, sizeof *r->folders, folder_order);
	}
	return rc;
}

const struct ers_imap_folder *ers_imap_folder_find(const struct ers_imap_result *r, enum ers_imap_special special)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].special == special && !r->folders[i].noselect)
			return &r->folders[i];
	return NULL;
}

int ers_imap_special_folder(struct ers_imap *im, const struct ers_imap_result *folders, enum ers_imap_special special,
			    const char *name, char **name_r, struct ers_error *err)
{
	*name_r = NULL;
	const struct ers_imap_folder *f = ers_imap_folder_find(folders, special);
	if (f) {
		*name_r = ers_xstrdup(f->name);
		return 0;
	}
	bool exists = false;
	for (size_t i = 0; i < folders->nfolders && !exists; i++)
		exists = !strcmp(folders->folders[i].name, name);
	if (!exists) {
		struct ers_buf cmd = ERS_BUF_INIT;
		struct ers_imap_result r = { 0 };
		ers_buf_adds(&cmd, "CREATE ");
		int rc = -1;
		if (ers_imap_quote(&cmd, name))
			rc = ers_imap_command(im, cmd.data, &r, err);
		else
			ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		ers_buf_free(&cmd);
		ers_imap_result_free(&r);
		if (rc < 0)
			return -1;
	}
	*name_r = ers_xstrdup(name);
	return 0;
}

static char *decode_header(char *s)
{
	if (!s)
		return NULL;
	char *d = g_mime_utils_header_decode_text(NULL, s);
	char *v = g_utf8_make_valid(d ? d : s, -1);
	g_free(d);
	free(s);
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	/* A hostile 1 MB subject is listed by its start, not in full. */
	size_t len = strlen(v);
	if (len > ERS_IMAP_MAX_FIELD) {
		len = ERS_IMAP_MAX_FIELD;
		while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
			len--;
	}
	struct ers_buf out = ERS_BUF_INIT;
	ers_buf_add(&out, v, len);
	if (v[len])
		ers_buf_adds(&out, "\xe2\x80\xa6"); /* U+2026 ... */
	g_free(v);
	return ers_buf_detach(&out);
}

static void decode_addresses(struct ers_imap_addresses *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->items[i].name = decode_header(a->items[i].name);
}

static int newest_first(const void *a, const void *b)
{
	const struct ers_imap_message *x = a, *y = b;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

int ers_imap_page(struct ers_imap *im, const char *folder, size_t page, size_t per_page,
		  struct ers_imap_result *r, struct ers_error *err)
{
	if (per_page == 0 || per_page > 500) {
		memset(r, 0, sizeof *r);
		ers_error_set(err, ERS_E_INVALID, "messages per page must be 1..500, got %zu", per_page);
		return -1;
	}
	/* Always SELECT again: EXISTS must be now's, not the last request's. */
	struct ers_imap_result sel;
	if (select_folder(im, folder, &sel, true, err) < 0) {
		*r = sel;
		return -1;
	}
	uint32_t exists = sel.exists, uidvalidity = sel.uidvalidity, uidnext = sel.uidnext;
	ers_imap_result_free(&sel);
	memset(r, 0, sizeof *r);
	/* Sequence numbers count arrivals: the newest page is the last K. */
	if ((unsigned long long)page * per_page < exists) {
		uint32_t hi = exists - (uint32_t)(page * per_page);
		uint32_t lo = hi > per_page ? hi - (uint32_t)per_page + 1 : 1;
		char cmd[160];
		snprintf(cmd, sizeof cmd, "FETCH %u:%u (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)", lo, hi);
		if (ers_imap_command(im, cmd, r, err) < 0)
			return -1;
	}
	r->exists = exists;
	r->have_exists = true;
	r->uidvalidity = uidvalidity;
	r->uidnext = uidnext;
	ers_gmime_init();
	for (size_t i = 0; i < r->nmsgs; i++) {
		struct ers_imap_envelope *e = &r->msgs[i].envelope;
		e->subject = decode_header(e->subject);
		decode_addresses(&e->from);
		decode_addresses(&e->sender);
		decode_addresses(&e->reply_to);
		decode_addresses(&e->to);
		decode_addresses(&e->cc);
		decode_addresses(&e->bcc);
	}
	qsort(r->msgs, r->nmsgs, sizeof *r->msgs, newest_first);
	return 0;
}

int ers_imap_set_seen(struct ers_imap *im, const char *folder, uint32_t uid, bool seen, struct ers_error *err)
{
	struct ers_imap_result r;
	int rc = in_folder(im, folder, &r, err, "UID STORE %u %sFLAGS.SILENT (\\Seen)", uid, seen ? "+" : "-");
	ers_imap_result_free(&r);
	return rc;
}

int ers_imap_fetch_source(struct ers_imap *im, const char *folder, uint32_t uid, bool mark_seen,
			  struct ers_buf *out, struct ers_error *err)
{
	struct ers_imap_result r;
	/* To mark it read, BODY[] sets \Seen as the server sends it (RFC 3501
	 * 6.4.5): one round trip, not a FETCH and then a STORE. */
	int rc = in_folder(im, folder, &r, err, "UID FETCH %u (UID BODY%s[])", uid, mark_seen ? "" : ".PEEK");
	if (rc == 0) {
		const struct ers_imap_message *m = NULL;
		for (size_t i = 0; i < r.nmsgs && !m; i++)
			if (r.msgs[i].uid == uid && r.msgs[i].body)
				m = &r.msgs[i];
		if (m) {
			ers_buf_add(out, m->body, m->body_len);
		} else {
			ers_error_set(err, ERS_E_NOTFOUND, "message UID %u is not in folder %s (deleted or moved?)", uid, folder);
			rc = -1;
		}
	}
	ers_imap_result_free(&r);
	if (rc < 0 && im->too_big)
		ers_error_set(err, ERS_E_INVALID, "message UID %u in %s is %llu bytes; the webmail opens messages up to %u MB",
			      uid, folder, im->too_big, ERS_IMAP_MAX_LITERAL >> 20);
	return rc;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* UIDs, sorted, as an IMAP set of ranges. */
static void uid_ranges(const uint32_t *ids, size_t n, struct ers_buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		ers_buf_addf(out, "%s%u", out->len ? "," : "", ids[i]);
		if (j > i)
			ers_buf_addf(out, ":%u", ids[j]);
		i = j + 1;
	}
}

int ers_imap_clear_folder(struct ers_imap *im, const char *folder, const char *before, bool count_only, long long *n_r,
			  struct ers_error *err)
{
	*n_r = 0;
	if (before && strspn(before, "0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(before)) {
		ers_error_set(err, ERS_E_INVALID, "a date for IMAP is dd-Mon-yyyy");
		return -1;
	}
	struct ers_imap_result r;
	int rc = before ? in_folder(im, folder, &r, err, "UID SEARCH BEFORE %s", before)
			: in_folder(im, folder, &r, err, "UID SEARCH ALL");
	if (rc < 0) {
		ers_imap_result_free(&r);
		return -1;
	}
	qsort(r.ids, r.nids, sizeof *r.ids, cmp_uid);
	*n_r = (long long)r.nids;
	struct ers_buf set = ERS_BUF_INIT;
	uid_ranges(r.ids, r.nids, &set);
	ers_imap_result_free(&r);
	if (!count_only && set.len) {
		rc = in_folder(im, folder, &r, err, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set.data);
		ers_imap_result_free(&r);
		if (rc == 0) {
			rc = im->has_uidplus ? in_folder(im, folder, &r, err, "UID EXPUNGE %s", set.data)
					     : in_folder(im, folder, &r, err, "EXPUNGE");
			ers_imap_result_free(&r);
		}
	}
	ers_buf_free(&set);
	return rc;
}

int ers_imap_delete(struct ers_imap *im, const char *folder, uint32_t uid, struct ers_error *err)
{
	struct ers_imap_result r;
	int rc = in_folder(im, folder, &r, err, "UID STORE %u +FLAGS.SILENT (\\Deleted)", uid);
	ers_imap_result_free(&r);
	if (rc < 0)
		return -1;
	/* Without UIDPLUS, EXPUNGE would also remove whatever else carries
	 * \Deleted: that was meant to go too. */
	if (im->has_uidplus)
		rc = in_folder(im, folder, &r, err, "UID EXPUNGE %u", uid);
	else
		rc = in_folder(im, folder, &r, err, "EXPUNGE");
	ers_imap_result_free(&r);
	return rc;
}

int ers_imap_move(struct ers_imap *im, const char *folder, uint32_t uid, const char *to, struct ers_error *err)
{
	struct ers_buf q = ERS_BUF_INIT;
	if (!ers_imap_quote(&q, to)) {
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	struct ers_imap_result r;
	int rc;
	if (im->has_move) {
		rc = in_folder(im, folder, &r, err, "UID MOVE %u %s", uid, q.data);
		ers_imap_result_free(&r);
	} else {
		rc = in_folder(im, folder, &r, err, "UID COPY %u %s", uid, q.data);
		ers_imap_result_free(&r);
		if (rc == 0)
			rc = ers_imap_delete(im, folder, uid, err);
	}
	ers_buf_free(&q);
	return rc;
}

int ers_imap_append(struct ers_imap *im, const char *folder, const char *data, size_t len, struct ers_error *err)
{
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "APPEND ");
	if (!ers_imap_quote(&cmd, folder)) {
		ers_buf_free(&cmd);
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	ers_buf_adds(&cmd, " (\\Seen) ");
	char what[200];
	snprintf(what, sizeof what, "APPEND to %.150s", folder);
	struct ers_imap_result r;
	int rc = exchange(im, cmd.data, data, len, what, &r, err);
	ers_imap_result_free(&r);
	ers_buf_free(&cmd);
	return rc;
}

/* Whether `host` is a loopback address written as one (127.0.0.0/8, ::1):
 * a name is not trusted to resolve there. */
static bool host_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void ers_imap_node_params(const struct ers_config *cfg, struct ers_imap_params *p)
{
	memset(p, 0, sizeof *p);
	const char *listen = cfg->mailstack.listen;
	p->host = listen && !strcmp(listen, "*") ? "127.0.0.1" : listen && *listen ? listen : cfg->mailstack.hostname;
	p->port = cfg->mailstack.imap_port;
	bool tls = cfg->mailstack.tls_cert && *cfg->mailstack.tls_cert;
	p->tls = tls && p->host && !host_loopback(p->host) ? ERS_IMAP_STARTTLS : ERS_IMAP_PLAIN;
	p->ca_file = cfg->dns.ca_file;
}

int ers_imap_open_owner(const struct ers_config *cfg, const char *address, long timeout_s, struct ers_imap **im_r,
			struct ers_error *err)
{
	*im_r = NULL;
	if (!cfg->secrets.webmail_master_password) {
		ers_error_set(err, ERS_E_CONFIG, "WEBMAIL_MASTER_PASSWORD is not set in the secrets: ERS reaches a mailbox "
			      "as its owner through Dovecot's master user");
		return -1;
	}
	struct ers_buf login = ERS_BUF_INIT;
	ers_buf_addf(&login, "%s*%s", address, cfg->mailstack.master_user);
	struct ers_imap_params p;
	ers_imap_node_params(cfg, &p);
	p.username = login.data;
	p.password = cfg->secrets.webmail_master_password;
	p.timeout_s = timeout_s;
	int rc;
	if (!p.host) {
		ers_error_set(err, ERS_E_CONFIG, "mailstack.listen or mailstack.hostname must say where Dovecot listens");
		rc = -1;
	} else {
		rc = ers_imap_open(&p, im_r, err);
	}
	ers_buf_free(&login);
	return rc;
}

void ers_imap_unselect(struct ers_imap *im)
{
	free(im->selected);
	im->selected = NULL;
}
