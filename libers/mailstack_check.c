/* `ersctl mailstack check`: asks a running mail node what the servers
 * themselves would ask -- each pgsql lookup as the mail role, each port's
 * greeting, a probe login to Dovecot, one policy request -- and reports
 * every answer, so an operator sees which part is broken. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "ers/mailstack.h"
#include "ers/mem.h"
#include "internal.h"

static void add(struct ers_check_report *r, const char *component, const char *what, bool ok,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add(struct ers_check_report *r, const char *component, const char *what, bool ok,
		const char *fmt, ...)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->items = ers_xrealloc(r->items, r->cap * sizeof *r->items);
	}
	struct ers_check_item *it = &r->items[r->n++];
	memset(it, 0, sizeof *it);
	snprintf(it->component, sizeof it->component, "%s", component);
	snprintf(it->what, sizeof it->what, "%s", what);
	it->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof it->detail, fmt, ap);
	va_end(ap);
	for (char *s = it->detail; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = ' ';
	if (!ok)
		r->all_ok = false;
}

void ers_check_report_free(struct ers_check_report *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof *r);
}

static const struct {
	const char *what, *query;
} dovecot_lookups[] = {
	{ "dovecot passdb", "SELECT username, password FROM ers_mail.passdb WHERE username = $1" },
	{ "dovecot userdb", "SELECT mail_path, quota_bytes FROM ers_mail.userdb WHERE username = $1" },
};

static void check_database(const struct ers_config *cfg, struct ers_check_report *r)
{
	const typeof(cfg->mailstack) *m = &cfg->mailstack;
	char port[12];
	snprintf(port, sizeof port, "%d", m->db_port);
	const char *keys[] = { "host", "port", "dbname", "user", "connect_timeout", "application_name", NULL };
	const char *vals[] = { m->db_host, port, m->db_name, m->db_user, "5", "ersctl-mailstack-check", NULL };
	PGconn *conn = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(conn) != CONNECTION_OK) {
		add(r, "postgresql", "connect as the mail role", false, "%s@%s:%d/%s: %s", m->db_user, m->db_host,
		    m->db_port, m->db_name, PQerrorMessage(conn));
		PQfinish(conn);
		return;
	}
	add(r, "postgresql", "connect as the mail role", true, "%s@%s:%d/%s", m->db_user, m->db_host, m->db_port,
	    m->db_name);
	const char *probe[] = { "ers-check@invalid" };
	size_t ndovecot = sizeof dovecot_lookups / sizeof dovecot_lookups[0];
	for (size_t i = 0; i < ers_postfix_map_count + ndovecot; i++) {
		struct ers_buf query = ERS_BUF_INIT;
		const char *what_name;
		if (i < ers_postfix_map_count) {
			/* Postfix's query with its '%s' key as a parameter. */
			const char *q = ers_postfix_maps[i].query, *key = strstr(q, "'%s'");
			ers_buf_add(&query, q, (size_t)(key - q));
			ers_buf_adds(&query, "$1");
			ers_buf_adds(&query, key + 4);
			what_name = ers_postfix_maps[i].setting;
		} else {
			ers_buf_adds(&query, dovecot_lookups[i - ers_postfix_map_count].query);
			what_name = dovecot_lookups[i - ers_postfix_map_count].what;
		}
		PGresult *res = PQexecParams(conn, query.data, 1, NULL, probe, NULL, NULL, 0);
		bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		char what[128];
		snprintf(what, sizeof what, "lookup %s", what_name);
		add(r, "postgresql", what, ok, "%s", ok ? "answers" : PQresultErrorMessage(res));
		PQclear(res);
		ers_buf_free(&query);
	}
	/* The mail role must read the views and nothing else. */
	PGresult *res = PQexec(conn, "SELECT has_schema_privilege('ers', 'USAGE')");
	bool isolated = PQresultStatus(res) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(res, 0, 0), "f");
	add(r, "postgresql", "mail role cannot read the ers tables", isolated, "%s",
	    isolated ? "no access to schema ers" : "the mail role can use schema ers: revoke it");
	PQclear(res);
	PQfinish(conn);
}

/* Connects to host:port or a unix socket path; -1 with `why` on failure. */
static int dial(const char *host, int port, const char *unix_path, char *why, size_t whylen)
{
	if (unix_path) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		if (strlen(unix_path) >= sizeof sun.sun_path) {
			snprintf(why, whylen, "socket path too long: %s", unix_path);
			return -1;
		}
		strcpy(sun.sun_path, unix_path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
			snprintf(why, whylen, "%s: %s", unix_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	}
	char service[12];
	snprintf(service, sizeof service, "%d", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int gai = getaddrinfo(host, service, &hints, &ai);
	if (gai != 0) {
		snprintf(why, whylen, "%s: %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(why, whylen, "%s:%d: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Reads until `done` appears or 5 seconds pass; the text read goes to buf. */
static bool read_until(int fd, char *buf, size_t cap, const char *done)
{
	size_t n = 0;
	buf[0] = '\0';
	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			return false;
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		if (strstr(buf, done))
			return true;
	}
	return false;
}

static bool say(int fd, const char *s)
{
	size_t n = strlen(s);
	return write(fd, s, n) == (ssize_t)n;
}

static void check_greeting(struct ers_check_report *r, const char *component, const char *what,
			   const char *host, int port, const char *expect)
{
	char why[300], buf[512];
	int fd = dial(host, port, NULL, why, sizeof why);
	if (fd < 0) {
		add(r, component, what, false, "%s", why);
		return;
	}
	bool ok = read_until(fd, buf, sizeof buf, "\r\n") && !strncmp(buf, expect, strlen(expect));
	buf[strcspn(buf, "\r\n")] = '\0';
	add(r, component, what, ok, "%s:%d: %s", host, port, buf[0] ? buf : "no greeting");
	close(fd);
}

/* A login for an address that cannot exist: Dovecot answers
 * AUTHENTICATIONFAILED only after its passdb really answered, and
 * UNAVAILABLE when the database lookup failed. */
static void check_imap_login(struct ers_check_report *r, const char *host, int port)
{
	char why[300], buf[1024];
	int fd = dial(host, port, NULL, why, sizeof why);
	if (fd < 0) {
		add(r, "dovecot", "passdb answers a probe login", false, "%s", why);
		return;
	}
	bool ok = read_until(fd, buf, sizeof buf, "\r\n") &&
		  say(fd, "a LOGIN \"ers-check@invalid\" \"not-a-password\"\r\n") &&
		  read_until(fd, buf, sizeof buf, "a ");
	char *line = strstr(buf, "a ");
	if (line)
		line[strcspn(line, "\r\n")] = '\0';
	ok = ok && line && strstr(line, "[AUTHENTICATIONFAILED]");
	add(r, "dovecot", "passdb answers a probe login", ok, "%s", line ? line : "no answer");
	say(fd, "b LOGOUT\r\n");
	close(fd);
}

static void check_policy(const struct ers_config *cfg, struct ers_check_report *r)
{
	const char *svc = cfg->mailstack.policy_service;
	char why[300], buf[512], path[600] = "", host[256] = "";
	int port = 0, fd;
	if (!strncmp(svc, "unix:", 5)) {
		const char *p = svc + 5;
		if (p[0] == '/')
			snprintf(path, sizeof path, "%s", p);
		else
			snprintf(path, sizeof path, "%s/%s", cfg->mailstack.postfix_queue_directory, p);
		fd = dial(NULL, 0, path, why, sizeof why);
	} else {
		const char *p = !strncmp(svc, "inet:", 5) ? svc + 5 : svc;
		const char *colon = strrchr(p, ':');
		snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - p) : 0, p);
		port = colon ? atoi(colon + 1) : 0;
		fd = dial(host, port, NULL, why, sizeof why);
	}
	if (fd < 0) {
		add(r, "policyd", "answers a policy request", false, "%s", why);
		return;
	}
	bool ok = say(fd, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
			  "client_address=127.0.0.1\nsender=ers-check@invalid\nrecipient=ers-check@invalid\n\n") &&
		  read_until(fd, buf, sizeof buf, "\n\n") && !strncmp(buf, "action=", 7);
	buf[strcspn(buf, "\n")] = '\0';
	add(r, "policyd", "answers a policy request", ok, "%s: %s", svc, buf[0] ? buf : "no answer");
	close(fd);
}

/* OpenDKIM answers the milter protocol's option negotiation (SMFIC_OPTNEG:
 * version 6, every action and protocol step offered) with its own. */
static void check_opendkim(const struct ers_config *cfg, const char *listen_host, struct ers_check_report *r)
{
	const char *milter = cfg->mailstack.opendkim_milter;
	char host[256], why[300];
	snprintf(host, sizeof host, "%s", listen_host);
	if (milter && !strncmp(milter, "inet:", 5) && strrchr(milter, ':') > milter + 5)
		snprintf(host, sizeof host, "%.*s", (int)(strrchr(milter, ':') - milter - 5), milter + 5);
	int port = cfg->mailstack.opendkim_port;
	int fd = dial(host, port, NULL, why, sizeof why);
	if (fd < 0) {
		add(r, "opendkim", "milter port answers", false, "%s", why);
		return;
	}
	static const unsigned char optneg[] = { 0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff };
	static const unsigned char quit[] = { 0, 0, 0, 1, 'Q' };
	unsigned char buf[64];
	size_t n = 0;
	bool ok = write(fd, optneg, sizeof optneg) == (ssize_t)sizeof optneg;
	while (ok && n < 5) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got = poll(&p, 1, 5000) > 0 ? read(fd, buf + n, sizeof buf - n) : -1;
		ok = got > 0;
		n += ok ? (size_t)got : 0;
	}
	ok = ok && buf[4] == 'O';
	add(r, "opendkim", "milter port answers", ok, "%s:%d: %s", host, port,
	    ok ? "milter option negotiation answered" : "no milter answer");
	if (write(fd, quit, sizeof quit) < 0)
		ok = false;
	close(fd);
}

int ers_mailstack_check(const struct ers_config *cfg, struct ers_check_report *r, struct ers_error *err)
{
	(void)err;
	memset(r, 0, sizeof *r);
	r->all_ok = true;
	const typeof(cfg->mailstack) *m = &cfg->mailstack;
	const char *host = strcmp(m->listen, "*") ? m->listen : "127.0.0.1";
	check_database(cfg, r);
	check_greeting(r, "postfix", "smtp port greets", host, m->smtp_port, "220 ");
	check_greeting(r, "postfix", "submission port greets", host, m->submission_port, "220 ");
	check_greeting(r, "dovecot", "imap port greets", host, m->imap_port, "* OK");
	check_imap_login(r, host, m->imap_port);
	check_policy(cfg, r);
	if (m->opendkim_port)
		check_opendkim(cfg, host, r);
	if (m->doveadm_urls) {
		struct ers_error e;
		bool ok = ers_mailstack_flush_auth(cfg, "ers-check@invalid", &e) == 0;
		add(r, "dovecot", "doveadm API flushes the auth cache", ok, "%s", ok ? m->doveadm_urls : e.message);
	}
	return 0;
}
