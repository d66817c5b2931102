/* `ersctl mailstack check`: asks a running mail node what the servers
 * themselves would ask -- each pgsql lookup as the mail role, each port's
 * greeting, a probe login to Dovecot, one policy request -- and reports
 * every answer, so an operator sees which part is broken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "ers/mailstack.h"
#include "ers/mem.h"
#include "ers/scan.h"
#include "mailstack/internal.h"

static const struct {
	const char *what, *query;
} dovecot_lookups[] = {
	{ "dovecot passdb", "SELECT username, password FROM ers_mail.passdb WHERE username = $1" },
	{ "dovecot userdb", "SELECT mail_path, quota_bytes FROM ers_mail.userdb WHERE username = $1" },
};

PGconn *ers_mail_role_connect(const struct ers_config *cfg, const char *application_name)
{
	const typeof(cfg->mailstack) *m = &cfg->mailstack;
	char port[12];
	snprintf(port, sizeof port, "%d", m->db_port);
	const char *keys[] = { "host", "port", "dbname", "user", "connect_timeout", "application_name", NULL };
	const char *vals[] = { m->db_host, port, m->db_name, m->db_user, "5", application_name, NULL };
	return PQconnectdbParams(keys, vals, 0);
}

static void check_database(const struct ers_config *cfg, struct ers_check_report *r)
{
	const typeof(cfg->mailstack) *m = &cfg->mailstack;
	PGconn *conn = ers_mail_role_connect(cfg, "ersctl-mailstack-check");
	if (PQstatus(conn) != CONNECTION_OK) {
		ers_check_add(r, "postgresql", "connect as the mail role", false, "%s@%s:%d/%s: %s", m->db_user, m->db_host,
		    m->db_port, m->db_name, PQerrorMessage(conn));
		PQfinish(conn);
		return;
	}
	ers_check_add(r, "postgresql", "connect as the mail role", true, "%s@%s:%d/%s", m->db_user, m->db_host, m->db_port,
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
		ers_check_add(r, "postgresql", what, ok, "%s", ok ? "answers" : PQresultErrorMessage(res));
		PQclear(res);
		ers_buf_free(&query);
	}
	/* The mail role must read the views and nothing else. */
	PGresult *res = PQexec(conn, "SELECT has_schema_privilege('ers', 'USAGE')");
	bool isolated = PQresultStatus(res) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(res, 0, 0), "f");
	ers_check_add(r, "postgresql", "mail role cannot read the ers tables", isolated, "%s",
	    isolated ? "no access to schema ers" : "the mail role can use schema ers: revoke it");
	PQclear(res);
	PQfinish(conn);
}

static void check_greeting(struct ers_check_report *r, const char *component, const char *what,
			   const char *host, int port, const char *expect)
{
	char why[300], buf[512];
	struct ers_probe *p;
	if (ers_probe_open(host, port, &p, why, sizeof why) < 0) {
		ers_check_add(r, component, what, false, "%s", why);
		return;
	}
	bool ok = ers_probe_read_until(p, buf, sizeof buf, "\r\n") && !strncmp(buf, expect, strlen(expect));
	buf[strcspn(buf, "\r\n")] = '\0';
	ers_check_add(r, component, what, ok, "%s:%d: %s", host, port, buf[0] ? buf : "no greeting");
	ers_probe_close(p);
}

/* A login for an address that cannot exist: Dovecot answers
 * AUTHENTICATIONFAILED only after its passdb really answered, and
 * UNAVAILABLE when the database lookup failed.  With TLS configured the
 * login goes over STARTTLS (Dovecot refuses it in clear), and the server
 * must present the configured certificate, valid for mailstack.hostname. */
static void check_imap_login(const struct ers_config *cfg, struct ers_check_report *r, const char *host, int port)
{
	const char *what = "passdb answers a probe login";
	char why[300], buf[1024];
	struct ers_probe *p;
	if (ers_probe_open(host, port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "dovecot", what, false, "%s", why);
		return;
	}
	const char *fail = NULL;
	if (!ers_probe_reply(p, "* ", buf, sizeof buf))
		fail = "no greeting";
	else if (cfg->mailstack.tls_cert) {
		ers_probe_verify_as(p, cfg->mailstack.hostname, true);
		if (!ers_probe_say(p, "s STARTTLS\r\n") || !ers_probe_reply(p, "s ", buf, sizeof buf) ||
		    !strstr(buf, "s OK"))
			fail = "STARTTLS refused";
		else if (ers_probe_start_tls(p, cfg->mailstack.tls_cert, why, sizeof why) < 0)
			fail = why;
	}
	char *line = NULL;
	if (!fail && ers_probe_say(p, "a LOGIN \"ers-check@invalid\" \"not-a-password\"\r\n") &&
	    ers_probe_reply(p, "a ", buf, sizeof buf)) {
		line = strstr(buf, "a ");
		line[strcspn(line, "\r\n")] = '\0';
	}
	bool ok = !fail && line && strstr(line, "[AUTHENTICATIONFAILED]");
	ers_check_add(r, "dovecot", what, ok, "%s%s", fail ? fail : line ? line : "no answer",
		      ok && cfg->mailstack.tls_cert ? " (over STARTTLS, certificate verified)" : "");
	if (!fail)
		ers_probe_say(p, "b LOGOUT\r\n");
	ers_probe_close(p);
}

static void check_policy(const struct ers_config *cfg, struct ers_check_report *r)
{
	const char *svc = cfg->mailstack.policy_service;
	char why[300], buf[512], where[600];
	int port = 0;
	if (!strncmp(svc, "unix:", 5)) {
		const char *path = svc + 5;
		if (path[0] == '/')
			snprintf(where, sizeof where, "%s", path);
		else
			snprintf(where, sizeof where, "%s/%s", cfg->mailstack.postfix_queue_directory, path);
	} else {
		const char *hp = !strncmp(svc, "inet:", 5) ? svc + 5 : svc;
		const char *colon = strrchr(hp, ':');
		snprintf(where, sizeof where, "%.*s", colon ? (int)(colon - hp) : 0, hp);
		port = colon ? atoi(colon + 1) : 0;
	}
	struct ers_probe *p;
	if (ers_probe_open(where, port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "policyd", "answers a policy request", false, "%s", why);
		return;
	}
	bool ok = ers_probe_say(p, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
				   "client_address=127.0.0.1\nsender=ers-check@invalid\nrecipient=ers-check@invalid\n\n") &&
		  ers_probe_read_until(p, buf, sizeof buf, "\n\n") && !strncmp(buf, "action=", 7);
	if (!ok)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	ers_check_add(r, "policyd", "answers a policy request", ok, "%s: %s", svc, buf[0] ? buf : "no answer");
	ers_probe_close(p);
}

/* A milter answers the milter protocol's option negotiation (SMFIC_OPTNEG:
 * version 6, every action and protocol step offered) with its own. */
static void check_milter(struct ers_check_report *r, const char *component, const char *host, int port)
{
	char why[300];
	struct ers_probe *p;
	if (ers_probe_open(host, port, &p, why, sizeof why) < 0) {
		ers_check_add(r, component, "milter port answers", false, "%s", why);
		return;
	}
	static const unsigned char optneg[] = { 0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff };
	static const unsigned char quit[] = { 0, 0, 0, 1, 'Q' };
	unsigned char buf[64];
	size_t n = 0;
	bool ok = ers_probe_write(p, optneg, sizeof optneg);
	while (ok && n < 5)
		ok = ers_probe_read(p, buf, sizeof buf, &n);
	ok = ok && buf[4] == 'O';
	ers_check_add(r, component, "milter port answers", ok, "%s:%d: %s", host, port,
		      ok ? "milter option negotiation answered" : "no milter answer");
	ers_probe_write(p, quit, sizeof quit);
	ers_probe_close(p);
}

static void check_opendkim(const struct ers_config *cfg, const char *listen_host, struct ers_check_report *r)
{
	const char *milter = cfg->mailstack.opendkim_milter;
	char host[256];
	snprintf(host, sizeof host, "%s", listen_host);
	if (milter && !strncmp(milter, "inet:", 5) && strrchr(milter, ':') > milter + 5)
		snprintf(host, sizeof host, "%.*s", (int)(strrchr(milter, ':') - milter - 5), milter + 5);
	check_milter(r, "opendkim", host, cfg->mailstack.opendkim_port);
}

/* A milter given in Postfix's notation, when it is on an inet address
 * (a unix socket is Postfix's to reach). */
static void check_milter_at(struct ers_check_report *r, const char *component, const char *milter)
{
	const char *colon = milter && !strncmp(milter, "inet:", 5) ? strrchr(milter + 5, ':') : NULL;
	if (!colon)
		return;
	char mhost[256];
	snprintf(mhost, sizeof mhost, "%.*s", (int)(colon - milter - 5), milter + 5);
	check_milter(r, component, mhost, atoi(colon + 1));
}

/* rspamd's normal worker answers GET /ping with "pong" once it has loaded
 * its rules (the spam milter's scores come from there). */
static void check_rspamd(struct ers_check_report *r, const char *where)
{
	char host[256], why[300], buf[1024];
	const char *colon = strrchr(where, ':');
	int port = colon ? atoi(colon + 1) : 0;
	snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - where) : 0, where);
	struct ers_probe *p;
	if (!colon || port < 1 || ers_probe_open(host, port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "rspamd", "answers a ping", false, "%s", colon && port > 0 ? why : "mailstack.rspamd is not HOST:PORT");
		return;
	}
	static const char ping[] = "GET /ping HTTP/1.0\r\n\r\n";
	bool ok = ers_probe_write(p, ping, sizeof ping - 1) && ers_probe_read_until(p, buf, sizeof buf, "pong");
	ers_check_add(r, "rspamd", "answers a ping", ok, "%s: %s", where, ok ? "pong" : "no answer to GET /ping");
	ers_probe_close(p);
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
	check_imap_login(cfg, r, host, m->imap_port);
	check_policy(cfg, r);
	if (m->opendkim_port)
		check_opendkim(cfg, host, r);
	if (cfg->scan.enabled) {
		/* The scanner every send waits for: PING, VERSION, and a clean stream. */
		char version[200];
		struct ers_error e;
		bool ok = ers_clamd_check(cfg->scan.target, cfg->scan.timeout < 5 ? cfg->scan.timeout : 5, version,
					  sizeof version, &e) == 0;
		struct ers_clamd_verdict v = { 0 };
		if (ok) {
			static const char probe[] = "ers mailstack check\n";
			ers_clamd_scan(cfg->scan.target, cfg->scan.timeout, 0, probe, sizeof probe - 1, &v);
			ok = v.result == ERS_SCAN_CLEAN;
		}
		ers_check_add(r, "clamd", "scanner answers and scans", ok, "%s: %s", cfg->scan.target,
			      !version[0] ? e.message : ok ? version : v.detail);
	}
	/* The scan milter on an inet address (a unix socket is Postfix's to reach). */
	const char *sm = cfg->scan.milter;
	if (cfg->scan.enabled && sm && !strncmp(sm, "inet:", 5)) {
		char mhost[256];
		const char *colon = strrchr(sm + 5, ':');
		snprintf(mhost, sizeof mhost, "%.*s", (int)(colon - sm - 5), sm + 5);
		check_milter(r, "scan-milter", mhost, atoi(colon + 1));
	}
	if (m->spam_milter) {
		check_milter_at(r, "spam-milter", m->spam_milter);
		if (m->rspamd)
			check_rspamd(r, m->rspamd);
		else
			ers_check_add(r, "rspamd", "answers a ping", false, "mailstack.spam_milter is set but mailstack.rspamd is not");
	}
	if (m->doveadm_urls) {
		struct ers_error e;
		bool ok = ers_mailstack_flush_auth(cfg, "ers-check@invalid", &e) == 0;
		ers_check_add(r, "dovecot", "doveadm API flushes the auth cache", ok, "%s", ok ? m->doveadm_urls : e.message);
	}
	return 0;
}
