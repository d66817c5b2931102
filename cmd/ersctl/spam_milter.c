/* ersctl spam milter: the spam filter of mail arriving on port 25 (issue
 * 20; manual 002 "Spam Settings").  Postfix's port-25 smtpd hands each
 * message to this milter; at its end ers_spam_decide() reads each
 * recipient's settings from PostgreSQL and has rspamd score the message
 * once.  Then, per recipient: nothing (filter off, an allowed sender, a
 * score under the threshold), marked (X-Spam: Yes, delivered to INBOX),
 * junked (also an X-ERS-Junk: MAILBOX header -- the alias's mailbox for an
 * alias -- which the global Sieve rule
 * rendered by `ersctl mailstack render` files into Junk) or rejected (550
 * 5.7.1 when every recipient rejects; else those recipients alone are
 * dropped from the message).  X-Spam, X-Spam-Score and X-ERS-Junk coming
 * from outside are removed: only this milter's count.
 * When rspamd or the database does not answer, the message is accepted
 * unfiltered and the log says so: mail from outside is never lost or held
 * back for the spam filter (spam is an annoyance; a lost message is not).
 *
 * libmilter runs a thread per SMTP connection; each opens its own database
 * connection at its first message. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <libmilter/mfapi.h>
#include "cli.h"
#include "policyd.h"

static const struct ers_config *milter_cfg;

/* Headers only this milter may write. */
static const char *const own_headers[] = { "X-Spam", "X-Spam-Score", "X-ERS-Junk" };
#define OWN_HEADERS (sizeof own_headers / sizeof own_headers[0])

struct conn {
	struct ers_ctx *ctx;
	char client_ip[INET6_ADDRSTRLEN];
	char *helo;
	char *sender;
	char **rcpts;
	size_t nrcpt;
	struct ers_buf msg;
	int forged[OWN_HEADERS];
};

static struct conn *conn_of(SMFICTX *m)
{
	struct conn *c = smfi_getpriv(m);
	if (!c) {
		c = ers_xcalloc(1, sizeof *c);
		ers_buf_init(&c->msg);
		smfi_setpriv(m, c);
	}
	return c;
}

static void message_reset(struct conn *c)
{
	ers_buf_free(&c->msg);
	ers_buf_init(&c->msg);
	free(c->sender);
	c->sender = NULL;
	for (size_t i = 0; i < c->nrcpt; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	c->rcpts = NULL;
	c->nrcpt = 0;
	memset(c->forged, 0, sizeof c->forged);
}

#define log_line(...) cli_log_line("ersctl spam milter", __VA_ARGS__)

/* <a@b> without its brackets, in lower case. */
static char *bare_address(const char *arg)
{
	char a[512];
	snprintf(a, sizeof a, "%s", arg + (arg[0] == '<'));
	a[strcspn(a, ">")] = '\0';
	for (char *p = a; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return ers_xstrdup(a);
}

static sfsistat on_connect(SMFICTX *m, char *hostname, struct sockaddr *sa)
{
	(void)hostname;
	struct conn *c = conn_of(m);
	c->client_ip[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->client_ip, sizeof c->client_ip);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->client_ip, sizeof c->client_ip);
	return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *m, char *helo)
{
	struct conn *c = conn_of(m);
	free(c->helo);
	c->helo = ers_xstrdup(helo ? helo : "");
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *m, char **argv)
{
	struct conn *c = conn_of(m);
	message_reset(c);
	c->sender = bare_address(argv && argv[0] ? argv[0] : "");
	return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *m, char **argv)
{
	struct conn *c = conn_of(m);
	c->rcpts = ers_xrealloc(c->rcpts, (c->nrcpt + 1) * sizeof *c->rcpts);
	c->rcpts[c->nrcpt++] = bare_address(argv && argv[0] ? argv[0] : "");
	return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *m, char *name, char *value)
{
	struct conn *c = conn_of(m);
	for (size_t i = 0; i < OWN_HEADERS; i++)
		if (!strcasecmp(name, own_headers[i])) {
			c->forged[i]++;
			return SMFIS_CONTINUE; /* not scored either */
		}
	ers_buf_addf(&c->msg, "%s: %s\r\n", name, value);
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *m)
{
	ers_buf_adds(&conn_of(m)->msg, "\r\n");
	return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *m, unsigned char *chunk, size_t len)
{
	ers_buf_add(&conn_of(m)->msg, chunk, len);
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *m)
{
	struct conn *c = conn_of(m);
	struct ers_error err;
	ers_error_clear(&err);
	sfsistat rc = SMFIS_CONTINUE;
	/* Header indexes count from 1; deleting the first shifts the rest. */
	for (size_t i = 0; i < OWN_HEADERS; i++)
		for (int k = 0; k < c->forged[i]; k++)
			smfi_chgheader(m, (char *)own_headers[i], 1, NULL);
	if (!c->nrcpt)
		goto out;
	if (!c->ctx && ers_ctx_open(milter_cfg, 0, &c->ctx, &err) < 0) {
		c->ctx = NULL;
		log_line("accepted unfiltered from %s: no database connection: %s", c->sender, err.message);
		goto out;
	}
	struct ers_spam_verdict *v = ers_xcalloc(c->nrcpt, sizeof *v);
	double score;
	if (ers_spam_decide(c->ctx, c->client_ip, c->helo, c->sender ? c->sender : "", (const char *const *)c->rcpts,
			    c->nrcpt, c->msg.data ? c->msg.data : "", c->msg.len, v, &score, &err) < 0) {
		log_line("accepted unfiltered from %s: %s", c->sender, err.message);
		if (err.code != ERS_E_UNAVAILABLE && err.code != ERS_E_CONFIG) {
			ers_ctx_free(c->ctx); /* a database error: a new connection next time */
			c->ctx = NULL;
		}
		free(v);
		goto out;
	}
	size_t rejected = 0, spam = 0;
	for (size_t i = 0; i < c->nrcpt; i++) {
		rejected += v[i].fate == ERS_SPAM_REJECTED;
		spam += v[i].fate == ERS_SPAM_MARKED || v[i].fate == ERS_SPAM_JUNKED;
	}
	if (rejected == c->nrcpt) {
		smfi_setreply(m, "550", "5.7.1", "Message rejected as spam");
		log_line("rejected as spam from %s (score %.2f)", c->sender, score);
		free(v);
		rc = SMFIS_REJECT;
		goto out;
	}
	char value[40];
	if (!isnan(score)) {
		snprintf(value, sizeof value, "%.2f", score);
		smfi_addheader(m, "X-Spam-Score", value);
	}
	if (spam)
		smfi_addheader(m, "X-Spam", "Yes");
	for (size_t i = 0; i < c->nrcpt; i++) {
		/* Dovecot's Sieve sees the mailbox an alias delivers to, not the alias. */
		if (v[i].fate == ERS_SPAM_JUNKED)
			smfi_addheader(m, "X-ERS-Junk", v[i].mailbox[0] ? v[i].mailbox : c->rcpts[i]);
		if (v[i].fate == ERS_SPAM_REJECTED) {
			char angle[520];
			snprintf(angle, sizeof angle, "<%s>", c->rcpts[i]);
			smfi_delrcpt(m, angle);
			log_line("spam from %s not delivered to %s (it rejects spam; others accepted it)", c->sender,
				 c->rcpts[i]);
		}
	}
	free(v);
out:
	message_reset(c);
	return rc;
}

static sfsistat on_abort(SMFICTX *m)
{
	message_reset(conn_of(m));
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *m)
{
	struct conn *c = smfi_getpriv(m);
	if (c) {
		message_reset(c);
		free(c->helo);
		if (c->ctx)
			ers_ctx_free(c->ctx);
		free(c);
		smfi_setpriv(m, NULL);
	}
	return SMFIS_CONTINUE;
}

int cmd_spam_milter(struct cli *c)
{
	const char *listen_text = cli_opt(c, "listen");
	const char *pidfile = cli_opt(c, "pidfile");
	if (c->as) {
		ers_error_set(&c->err, ERS_E_USAGE, "--as does not apply: the milter filters every message from outside");
		return -1;
	}
	if (!listen_text)
		listen_text = c->cfg->mailstack.spam_milter;
	if (!listen_text) {
		ers_error_set(&c->err, ERS_E_USAGE, "nothing to listen on: give --listen or set mailstack.spam_milter in %s",
			      c->cfg->path);
		return -1;
	}
	if (pidfile && !*pidfile) {
		ers_error_set(&c->err, ERS_E_USAGE, "--pidfile needs a file name, got an empty one");
		return -1;
	}
	char conn[600];
	if (cli_libmilter_address(listen_text, conn, sizeof conn, &c->err) < 0)
		return -1;
	if (!c->cfg->mailstack.rspamd) {
		ers_error_set(&c->err, ERS_E_CONFIG, "%s: mailstack.rspamd (rspamd's HOST:PORT) is not set", c->cfg->path);
		return -1;
	}
	milter_cfg = c->cfg;
	ers_spam_global_init();
	struct smfiDesc desc = {
		.xxfi_name = "ers-spam",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT,
		.xxfi_connect = on_connect,
		.xxfi_helo = on_helo,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
	};
	if (smfi_register(desc) != MI_SUCCESS || smfi_setconn(conn) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS) {
		ers_error_set(&c->err, ERS_E_UNAVAILABLE, "cannot listen on %s (in use, or no such directory?)", listen_text);
		return -1;
	}
	if (pidfile && policyd_write_pidfile(pidfile, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:i}", "listening", listen_text, "pid", (int)getpid()));
	else
		out_note(c, "ersctl spam milter: listening on %s (pid %ld), rspamd at %s", listen_text, (long)getpid(),
			 c->cfg->mailstack.rspamd);
	fflush(stdout);
	int rc = smfi_main();
	if (pidfile)
		policyd_remove_pidfile(pidfile);
	if (rc != MI_SUCCESS) {
		ers_error_set(&c->err, ERS_E_INTERNAL, "the milter stopped on an error (see the log)");
		return -1;
	}
	if (c->json)
		out_json(c, json_pack("{s:b}", "stopped", 1));
	else
		out_note(c, "ersctl spam milter: stopped");
	return 0;
}
