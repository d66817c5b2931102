/* ersctl scan milter: the scan of mail submitted on the submission port.
 * Postfix hands each message to this milter (libmilter, the Sendmail Mail
 * Filter API); at its end the whole message goes to ers_scan_outbound(),
 * the scan the webmail's sends pass: the same items (the text, every
 * attachment decoded, nested messages walked), the same clamd, the same
 * records in ers.scan, with the SASL login ({auth_authen}) as the sender.
 * The webmail's own submissions, scanned before they left it, carry a
 * mark (ERS_SCAN_PASS_HEADER, scan/pass.c) that binds their body to the
 * webmail's master secret: with a valid one they pass without a second
 * scan.  The mark is removed from every message, valid or not.
 * Infected: 554 5.7.1 naming the item and the finding.  No verdict with
 * fail-closed: 451 4.7.1 in the manual's words (the client keeps the
 * message and tries again); fail-open lets it through, recorded.
 *
 * libmilter runs a thread per SMTP connection; each connection opens its
 * own database connection when its first message ends.  SIGTERM, SIGINT
 * stop it (libmilter's own signal thread), and the pid file is removed. */
#include <grp.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libmilter/mfapi.h>
#include "cli.h"
#include "policyd.h"

static const struct ers_config *milter_cfg;

/* One SMTP connection: its database connection and the message under way. */
struct conn {
	struct ers_ctx *ctx;
	struct ers_buf msg;
	char *sender;     /* the SASL login, else the envelope sender */
	char *message_id;
	size_t body_at;   /* where the body starts in msg */
	char *pass_mark;  /* the value of ERS_SCAN_PASS_HEADER */
	int pass_marks;   /* how many such headers */
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
	free(c->message_id);
	free(c->pass_mark);
	c->sender = c->message_id = c->pass_mark = NULL;
	c->body_at = 0;
	c->pass_marks = 0;
}

#define log_line(...) cli_log_line("ersctl scan milter", __VA_ARGS__)

static sfsistat on_envfrom(SMFICTX *m, char **argv)
{
	struct conn *c = conn_of(m);
	message_reset(c);
	const char *login = smfi_getsymval(m, "{auth_authen}");
	const char *from = argv && argv[0] ? argv[0] : "";
	char envelope[512];
	/* <a@b> without its brackets */
	snprintf(envelope, sizeof envelope, "%s", from + (from[0] == '<'));
	envelope[strcspn(envelope, ">")] = '\0';
	c->sender = ers_xstrdup(login && *login ? login : envelope);
	return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *m, char *name, char *value)
{
	struct conn *c = conn_of(m);
	if (!strcasecmp(name, ERS_SCAN_PASS_HEADER)) {
		free(c->pass_mark);
		c->pass_mark = ers_xstrdup(value);
		c->pass_marks++;
		return SMFIS_CONTINUE;
	}
	ers_buf_addf(&c->msg, "%s: %s\r\n", name, value);
	if (!c->message_id && !strcasecmp(name, "Message-ID"))
		c->message_id = ers_xstrdup(value + strspn(value, " \t"));
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *m)
{
	struct conn *c = conn_of(m);
	ers_buf_adds(&c->msg, "\r\n");
	c->body_at = c->msg.len;
	return SMFIS_CONTINUE;
}

/* Postfix bounds a message by its message_size_limit; clamd's limit
 * (scan.max_size_mb) is applied to each item by the scan. */
static sfsistat on_body(SMFICTX *m, unsigned char *chunk, size_t len)
{
	ers_buf_add(&conn_of(m)->msg, chunk, len);
	return SMFIS_CONTINUE;
}

/* An SMTP reply's text: printable, no '%' (libmilter's format character),
 * within the line length a reply may have. */
static void reply(SMFICTX *m, const char *code, const char *dsn, const char *text)
{
	char t[700];
	snprintf(t, sizeof t, "%s", text);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '%')
			*p = '?';
	smfi_setreply(m, (char *)code, (char *)dsn, t);
}

static sfsistat on_eom(SMFICTX *m)
{
	struct conn *c = conn_of(m);
	struct ers_error err;
	ers_error_clear(&err);
	sfsistat rc = SMFIS_CONTINUE;
	/* Header indexes count from 1; deleting the first shifts the rest. */
	for (int i = 0; i < c->pass_marks; i++)
		smfi_chgheader(m, (char *)ERS_SCAN_PASS_HEADER, 1, NULL);
	if (c->pass_marks == 1 && c->msg.data &&
	    ers_scan_pass_valid(milter_cfg, c->pass_mark, c->msg.data + c->body_at, c->msg.len - c->body_at, time(NULL)))
		goto out; /* the webmail's own, scanned and recorded there */
	if (!c->ctx && ers_ctx_open(milter_cfg, 0, &c->ctx, &err) < 0) {
		c->ctx = NULL;
		log_line("no database connection: %s", err.message);
		if (milter_cfg->scan.fail_closed) {
			reply(m, "451", "4.3.0", "The virus scanner could not record the scan, so the message was stopped "
						 "for safety: try again later or contact your administrator.");
			rc = SMFIS_TEMPFAIL;
		}
		goto out;
	}
	const char *queue_id = smfi_getsymval(m, "i");
	if (ers_scan_outbound(c->ctx, c->sender ? c->sender : "", c->msg.data ? c->msg.data : "", c->msg.len,
			      c->message_id ? c->message_id : queue_id, &err) < 0) {
		if (err.code == ERS_E_INVALID) { /* infected */
			reply(m, "554", "5.7.1", err.message);
			rc = SMFIS_REJECT;
		} else {
			reply(m, "451", "4.7.1", err.code == ERS_E_UNAVAILABLE ? err.message :
				"The virus scanner could not check the message, so it was stopped for safety: "
				"try again later or contact your administrator.");
			rc = SMFIS_TEMPFAIL;
		}
		log_line("%s from %s: %s", rc == SMFIS_REJECT ? "rejected" : "deferred", c->sender ? c->sender : "",
			 err.message);
		if (err.code != ERS_E_INVALID && err.code != ERS_E_UNAVAILABLE) {
			/* A database error: the next message gets a new connection. */
			ers_ctx_free(c->ctx);
			c->ctx = NULL;
		}
	}
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
		if (c->ctx)
			ers_ctx_free(c->ctx);
		free(c);
		smfi_setpriv(m, NULL);
	}
	return SMFIS_CONTINUE;
}

/* scan.milter is in Postfix's notation; libmilter's is inet:PORT@HOST. */
int cli_libmilter_address(const char *postfix, char *out, size_t cap, struct ers_error *err)
{
	if (!strncmp(postfix, "unix:/", 6)) {
		snprintf(out, cap, "%s", postfix);
		return 0;
	}
	const char *colon = strncmp(postfix, "inet:", 5) ? NULL : strrchr(postfix + 5, ':');
	int port = colon ? atoi(colon + 1) : 0;
	if (!colon || colon == postfix + 5 || port < 1 || port > 65535) {
		ers_error_set(err, ERS_E_USAGE, "--listen must be inet:HOST:PORT or unix:/PATH, got \"%s\"", postfix);
		return -1;
	}
	snprintf(out, cap, "inet:%d@%.*s", port, (int)(colon - postfix - 5), postfix + 5);
	return 0;
}

int cmd_scan_milter(struct cli *c)
{
	const char *listen_text = cli_opt(c, "listen");
	const char *pidfile = cli_opt(c, "pidfile");
	const char *group = cli_opt(c, "socket-group");
	if (c->as) {
		ers_error_set(&c->err, ERS_E_USAGE, "--as does not apply: the milter scans every submitted message");
		return -1;
	}
	if (!listen_text)
		listen_text = c->cfg->scan.milter;
	if (!listen_text) {
		ers_error_set(&c->err, ERS_E_USAGE, "nothing to listen on: give --listen or set scan.milter in %s",
			      c->cfg->path);
		return -1;
	}
	if (pidfile && !*pidfile) {
		ers_error_set(&c->err, ERS_E_USAGE, "--pidfile needs a file name, got an empty one");
		return -1;
	}
	bool is_unix = !strncmp(listen_text, "unix:", 5);
	if (group && !is_unix) {
		ers_error_set(&c->err, ERS_E_USAGE, "--socket-group applies only to --listen unix:/PATH");
		return -1;
	}
	struct group *gr = group ? getgrnam(group) : NULL;
	if (group && !gr) {
		ers_error_set(&c->err, ERS_E_NOTFOUND, "no group \"%s\" on this system", group);
		return -1;
	}
	char conn[600];
	if (cli_libmilter_address(listen_text, conn, sizeof conn, &c->err) < 0)
		return -1;
	milter_cfg = c->cfg;
	struct smfiDesc desc = {
		.xxfi_name = "ers-scan",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_CHGHDRS, /* to remove the webmail's mark; the body is never changed */
		.xxfi_envfrom = on_envfrom,
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
	if (is_unix && (chmod(listen_text + 5, 0660) < 0 || (gr && chown(listen_text + 5, (uid_t)-1, gr->gr_gid) < 0))) {
		ers_error_set(&c->err, ERS_E_INTERNAL, "cannot set the mode or group of %s", listen_text + 5);
		return -1;
	}
	if (pidfile && policyd_write_pidfile(pidfile, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:i}", "listening", listen_text, "pid", (int)getpid()));
	else
		out_note(c, "ersctl scan milter: listening on %s (pid %ld)", listen_text, (long)getpid());
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
		out_note(c, "ersctl scan milter: stopped");
	return 0;
}
