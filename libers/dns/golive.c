/* `ersctl tenant golive DOMAIN`: manual 001's go-live checklist in one
 * command.  Each step asks what the real parts would answer -- the DNS
 * through the configured resolver, the mail servers' lookups as the mail
 * role, the tenant's approved endpoints over the network -- so a green
 * report means mail for the domain can arrive, be read and be sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include "ers/dkim.h"
#include "ers/dns.h"
#include "ers/golive.h"
#include "ers/mem.h"
#include "dns/internal.h"

/* An address no mailbox can have (.invalid is reserved, RFC 2606). */
#define PROBE_USER "ers-golive-probe@invalid"

/* Every record of the domain's DNS plan, as the configured resolver
 * answers it; a recommended record that is missing is reported, but does
 * not hold the domain back (the same rule as `dns check`). */
static void check_dns(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		      struct ers_check_report *r)
{
	struct ers_dns_check *chk = NULL;
	struct ers_error e;
	if (ers_dns_check(ctx, actor, domain, &chk, &e) < 0) {
		ers_check_add(r, "dns", "the domain's records are published", false, "%s", e.message);
		return;
	}
	for (size_t i = 0; i < chk->count; i++) {
		const struct ers_dns_finding *f = &chk->items[i];
		char what[128];
		snprintf(what, sizeof what, "%s %s %s", f->topic, f->type, f->name);
		if (f->status == ERS_DNS_OK)
			ers_check_add(r, "dns", what, true, "published as planned");
		else
			ers_check_add(r, "dns", what, !f->blocking, "%s%s: %s", ers_dns_status_name(f->status),
				      f->blocking ? "" : " (does not block go-live)", f->detail ? f->detail : "");
	}
	ers_dns_check_free(chk);
}

static void check_dkim(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		       struct ers_check_report *r)
{
	struct ers_dkim_key_list *keys = NULL;
	struct ers_error e;
	if (ers_dkim_list(ctx, actor, domain, &keys, &e) < 0) {
		ers_check_add(r, "dkim", "a key signs the domain's mail", false, "%s", e.message);
		return;
	}
	const struct ers_dkim_key *active = NULL;
	for (size_t i = 0; i < keys->count; i++)
		if (keys->items[i].state == ERS_DKIM_ACTIVE)
			active = &keys->items[i];
	if (active)
		ers_check_add(r, "dkim", "a key signs the domain's mail", true, "selector %s (%s)", active->selector,
			      ers_dkim_algorithm_name(active->algorithm));
	else
		ers_check_add(r, "dkim", "a key signs the domain's mail", false,
			      "no active key: ersctl dkim enable %s, then publish its TXT record", domain);
	ers_dkim_key_list_free(keys);
	const char *milter = ers_ctx_config(ctx)->mailstack.opendkim_milter;
	ers_check_add(r, "dkim", "Postfix hands submitted mail to OpenDKIM", milter != NULL, "%s",
		      milter ? milter : "mailstack.opendkim_milter is not set in ers.yaml: nothing signs");
}

static PGconn *connect_mail_role(const struct ers_config *cfg, struct ers_check_report *r)
{
	PGconn *conn = ers_mail_role_connect(cfg, "ersctl-golive");
	if (PQstatus(conn) != CONNECTION_OK) {
		ers_check_add(r, "mailboxes", "the mail servers can read ERS", false, "as %s: %s", cfg->mailstack.db_user,
			      PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* The domain's active mailboxes, as Dovecot (passdb, userdb) and Postfix
 * (virtual_mailbox_maps) see them through the mail role. */
static void check_mailboxes(struct ers_ctx *ctx, PGconn *mail, long long domain_id, const char *domain,
			    struct ers_check_report *r)
{
	const char *what = "every active user can log in and receive";
	struct ers_error e;
	struct ers_num id = ers_num(domain_id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx,
				    "SELECT coalesce(array_agg(m.address ORDER BY m.address), '{}'), count(*)"
				    " FROM ers.mailbox m JOIN ers.address_claim c ON c.address = m.address"
				    " WHERE c.domain_id = $1 AND m.status = 'active'",
				    1, params, &e);
	if (!res) {
		ers_check_add(r, "mailboxes", what, false, "%s", e.message);
		return;
	}
	long long want = ers_db_ll(res, 0, 1);
	if (want == 0) {
		ers_check_add(r, "mailboxes", what, false, "%s has no active users yet: ersctl user add USER@%s", domain,
			      domain);
		PQclear(res);
		return;
	}
	const char *list[] = { ers_db_str(res, 0, 0) };
	PGresult *seen = PQexecParams(mail,
				      "SELECT count(*) FROM ers_mail.passdb p"
				      " JOIN ers_mail.userdb u ON u.username = p.username"
				      " JOIN ers_mail.mailboxes m ON m.address = p.username"
				      " WHERE p.username = ANY ($1::text[])",
				      1, NULL, list, NULL, NULL, 0);
	if (PQresultStatus(seen) != PGRES_TUPLES_OK)
		ers_check_add(r, "mailboxes", what, false, "as the mail role: %s", PQresultErrorMessage(seen));
	else {
		long long got = atoll(PQgetvalue(seen, 0, 0));
		ers_check_add(r, "mailboxes", what, got == want, "%lld of %lld found by Dovecot and Postfix", got, want);
	}
	PQclear(seen);
	PQclear(res);
}

/* Each alias of the domain reaches its user's mailbox through Postfix's
 * own lookup, and is not refused as disabled. */
static void check_aliases(struct ers_ctx *ctx, PGconn *mail, long long domain_id, struct ers_check_report *r)
{
	const char *what = "every alias delivers to its user";
	struct ers_error e;
	struct ers_num id = ers_num(domain_id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx,
				    "SELECT a.address, m.address FROM ers.alias a"
				    " JOIN ers.mailbox m ON m.id = a.mailbox_id"
				    " JOIN ers.address_claim c ON c.address = a.address"
				    " WHERE c.domain_id = $1 ORDER BY a.address",
				    1, params, &e);
	if (!res) {
		ers_check_add(r, "aliases", what, false, "%s", e.message);
		return;
	}
	int n = PQntuples(res), routed = 0;
	char first_bad[300] = "";
	for (int i = 0; i < n; i++) {
		const char *q[] = { ers_db_str(res, i, 0), ers_db_str(res, i, 1) };
		PGresult *ok = PQexecParams(mail,
					    "SELECT EXISTS (SELECT 1 FROM ers_mail.alias_destinations($1) d WHERE d = $2)"
					    " AND NOT EXISTS (SELECT 1 FROM ers_mail.disabled_recipient($1))",
					    2, NULL, q, NULL, NULL, 0);
		bool good = PQresultStatus(ok) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(ok, 0, 0), "t");
		if (good)
			routed++;
		else if (!first_bad[0])
			snprintf(first_bad, sizeof first_bad, "; %s does not reach %s%s%s", q[0], q[1],
				 PQresultStatus(ok) == PGRES_TUPLES_OK ? " (its user is disabled)" : ": ",
				 PQresultStatus(ok) == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(ok));
		PQclear(ok);
	}
	if (n)
		ers_check_add(r, "aliases", what, routed == n, "%d of %d routed%s", routed, n, first_bad);
	else
		ers_check_add(r, "aliases", what, true, "the domain has no aliases");
	PQclear(res);
}

/* SMTP: greeting, EHLO, TLS as approved, AUTH offered, and a probe login
 * answered 535 -- the password database was asked and said no (454 would
 * mean it could not be asked). */
static void check_submission(const struct ers_client_settings *s, const char *ca_file, struct ers_check_report *r)
{
	char what[160], why[300], buf[4096];
	snprintf(what, sizeof what, "submission %s:%d (%s) accepts logins", s->smtp_host, s->smtp_port,
		 ers_tls_mode_name(s->smtp_tls));
	struct ers_probe *p = NULL;
	if (ers_probe_open(s->smtp_host, s->smtp_port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "submission", what, false, "%s", why);
		return;
	}
	const char *fail = NULL;
	if (s->smtp_tls == ERS_TLS_IMPLICIT && ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
		fail = why;
	else if (!ers_probe_reply(p, NULL, buf, sizeof buf) || strncmp(buf, "220", 3))
		fail = "no 220 greeting";
	else if (!ers_probe_say(p, "EHLO ers-golive.invalid\r\n") || !ers_probe_reply(p, NULL, buf, sizeof buf) ||
		 strncmp(buf, "250", 3))
		fail = "EHLO refused";
	else if (s->smtp_tls == ERS_TLS_STARTTLS) {
		if (!strstr(buf, "STARTTLS"))
			fail = "STARTTLS is not offered, but the host is approved for starttls";
		else if (!ers_probe_say(p, "STARTTLS\r\n") || !ers_probe_reply(p, NULL, buf, sizeof buf) ||
			 strncmp(buf, "220", 3))
			fail = "STARTTLS refused";
		else if (ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
			fail = why;
		else if (!ers_probe_say(p, "EHLO ers-golive.invalid\r\n") || !ers_probe_reply(p, NULL, buf, sizeof buf) ||
			 strncmp(buf, "250", 3))
			fail = "EHLO after STARTTLS refused";
	}
	if (!fail && !strstr(buf, "AUTH"))
		fail = "AUTH is not offered: users cannot log in to send";
	if (!fail) {
		static const char probe[] = "\0" PROBE_USER "\0not-a-password";
		char b64[128], cmd[160];
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)probe, sizeof probe - 1);
		snprintf(cmd, sizeof cmd, "AUTH PLAIN %s\r\n", b64);
		if (!ers_probe_say(p, cmd) || !ers_probe_reply(p, NULL, buf, sizeof buf))
			fail = "no answer to a probe login";
		else if (strncmp(buf, "535", 3)) {
			buf[strcspn(buf, "\r\n")] = '\0';
			snprintf(why, sizeof why, "a probe login got \"%.120s\", not 535: the password database may be unreachable",
				 buf);
			fail = why;
		}
	}
	if (!fail)
		ers_probe_say(p, "QUIT\r\n");
	ers_probe_close(p);
	ers_check_add(r, "submission", what, !fail, "%s", fail ? fail : "TLS as approved, AUTH offered, a probe login refused with 535");
}

/* IMAP: greeting, TLS as approved, a probe login answered
 * AUTHENTICATIONFAILED (UNAVAILABLE would mean no password database). */
static void check_imap(const struct ers_client_settings *s, const char *ca_file, struct ers_check_report *r)
{
	char what[160], why[300], buf[4096];
	snprintf(what, sizeof what, "IMAP %s:%d (%s) accepts logins", s->imap_host, s->imap_port,
		 ers_tls_mode_name(s->imap_tls));
	struct ers_probe *p = NULL;
	if (ers_probe_open(s->imap_host, s->imap_port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "imap", what, false, "%s", why);
		return;
	}
	const char *fail = NULL;
	if (s->imap_tls == ERS_TLS_IMPLICIT && ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
		fail = why;
	else if (!ers_probe_reply(p, "* ", buf, sizeof buf) || strncmp(buf, "* OK", 4))
		fail = "no * OK greeting";
	else if (s->imap_tls == ERS_TLS_STARTTLS) {
		if (!ers_probe_say(p, "a CAPABILITY\r\n") || !ers_probe_reply(p, "a ", buf, sizeof buf) ||
		    !strstr(buf, "STARTTLS"))
			fail = "STARTTLS is not offered, but the host is approved for starttls";
		else if (!ers_probe_say(p, "b STARTTLS\r\n") || !ers_probe_reply(p, "b ", buf, sizeof buf) ||
			 !strstr(buf, "b OK"))
			fail = "STARTTLS refused";
		else if (ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
			fail = why;
	}
	if (!fail) {
		if (!ers_probe_say(p, "c LOGIN \"" PROBE_USER "\" \"not-a-password\"\r\n") ||
		    !ers_probe_reply(p, "c ", buf, sizeof buf))
			fail = "no answer to a probe login";
		else if (!strstr(buf, "[AUTHENTICATIONFAILED]")) {
			char *line = strstr(buf, "c ");
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(why, sizeof why, "a probe login got \"%.120s\": the password database may be unreachable", line);
			fail = why;
		}
	}
	if (!fail)
		ers_probe_say(p, "d LOGOUT\r\n");
	ers_probe_close(p);
	ers_check_add(r, "imap", what, !fail, "%s", fail ? fail : "TLS as approved, a probe login refused as it should be");
}

/* POP3: greeting, STLS (or implicit TLS), a probe login refused with -ERR. */
static void check_pop3(const struct ers_client_settings *s, const char *ca_file, struct ers_check_report *r)
{
	char what[160], why[300], buf[4096];
	snprintf(what, sizeof what, "POP3 %s:%d (%s) accepts logins", s->imap_host, s->pop3_port,
		 ers_tls_mode_name(s->pop3_tls));
	struct ers_probe *p = NULL;
	if (ers_probe_open(s->imap_host, s->pop3_port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "pop3", what, false, "%s", why);
		return;
	}
	const char *fail = NULL;
	if (s->pop3_tls == ERS_TLS_IMPLICIT && ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
		fail = why;
	else if (!ers_probe_read_until(p, buf, sizeof buf, "\r\n") || strncmp(buf, "+OK", 3))
		fail = "no +OK greeting";
	else if (s->pop3_tls == ERS_TLS_STARTTLS) {
		if (!ers_probe_say(p, "STLS\r\n") || !ers_probe_read_until(p, buf, sizeof buf, "\r\n") ||
		    strncmp(buf, "+OK", 3))
			fail = "STLS (STARTTLS) refused";
		else if (ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
			fail = why;
	}
	if (!fail && (!ers_probe_say(p, "USER " PROBE_USER "\r\nPASS not-a-password\r\n") ||
		      !ers_probe_read_until(p, buf, sizeof buf, "-ERR")))
		fail = "a probe login was not refused with -ERR";
	if (!fail)
		ers_probe_say(p, "QUIT\r\n");
	ers_probe_close(p);
	ers_check_add(r, "pop3", what, !fail, "%s", fail ? fail : "TLS, a probe login refused as it should be");
}

/* ManageSieve (RFC 5804): a greeting offering STARTTLS, and TLS after it. */
static void check_managesieve(const struct ers_client_settings *s, const char *ca_file, struct ers_check_report *r)
{
	char what[160], why[300], buf[4096];
	snprintf(what, sizeof what, "ManageSieve %s:%d (starttls) answers", s->imap_host, s->managesieve_port);
	struct ers_probe *p = NULL;
	if (ers_probe_open(s->imap_host, s->managesieve_port, &p, why, sizeof why) < 0) {
		ers_check_add(r, "managesieve", what, false, "%s", why);
		return;
	}
	const char *fail = NULL;
	if (!ers_probe_read_until(p, buf, sizeof buf, "\nOK"))
		fail = "no OK greeting";
	else if (!strstr(buf, "\"STARTTLS\""))
		fail = "STARTTLS is not offered";
	else if (!ers_probe_say(p, "STARTTLS\r\n") || !ers_probe_read_until(p, buf, sizeof buf, "OK"))
		fail = "STARTTLS refused";
	else if (ers_probe_start_tls(p, ca_file, why, sizeof why) < 0)
		fail = why;
	ers_probe_close(p);
	ers_check_add(r, "managesieve", what, !fail, "%s", fail ? fail : "STARTTLS offered and working");
}

int ers_golive_check(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		     struct ers_check_report *r, struct ers_client_settings **settings_r, struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	r->all_ok = true;
	struct ers_client_settings *s = NULL;
	if (ers_client_settings_get(ctx, actor, domain, &s, err) < 0)
		return -1;
	long long tenant_id, domain_id;
	if (ers_domain_owner(ctx, s->domain, &tenant_id, &domain_id, err) < 0) {
		ers_client_settings_free(s);
		return -1;
	}
	const struct ers_config *cfg = ers_ctx_config(ctx);
	check_dns(ctx, actor, s->domain, r);
	check_dkim(ctx, actor, s->domain, r);
	PGconn *mail = connect_mail_role(cfg, r);
	if (mail) {
		check_mailboxes(ctx, mail, domain_id, s->domain, r);
		check_aliases(ctx, mail, domain_id, r);
		PQfinish(mail);
	}
	check_imap(s, cfg->dns.ca_file, r);
	if (s->pop3_port)
		check_pop3(s, cfg->dns.ca_file, r);
	if (s->managesieve_port)
		check_managesieve(s, cfg->dns.ca_file, r);
	check_submission(s, cfg->dns.ca_file, r);
	*settings_r = s;
	return 0;
}
