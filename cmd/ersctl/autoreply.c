/* ersctl autoreply ...: a mailbox's autoresponder (manual 002), answered by
 * Dovecot's Sieve vacation at delivery. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

/* --message-file ("-": standard input); read a byte past the limit, so
 * that libers says the message is too long. */
static int read_message(struct cli *c, struct ers_buf *out)
{
	const char *path = cli_opt(c, "message-file");
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		ers_error_set(&c->err, ERS_E_INVALID, "--message-file: cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[4096];
	size_t n;
	while (out->len <= ERS_AUTOREPLY_MESSAGE_MAX && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ers_buf_add(out, chunk, n);
	int read_errno = ferror(f) ? errno : 0;
	if (f != stdin)
		fclose(f);
	if (read_errno) {
		ers_error_set(&c->err, ERS_E_INVALID, "--message-file: cannot read %s: %s", path, strerror(read_errno));
		return -1;
	}
	return 0;
}

static json_t *autoreply_json(const struct ers_autoreply *r)
{
	return json_pack("{s:s,s:b,s:b,s:b,s:s,s:s,s:o,s:o,s:i,s:s,s:o,s:o}", "address", r->address,
			 "configured", r->configured, "enabled", r->enabled, "active", r->active, "subject", r->subject,
			 "message", r->message, "start", json_str_or_null(*r->starts_on ? r->starts_on : NULL),
			 "end", json_str_or_null(*r->ends_on ? r->ends_on : NULL), "interval_days", r->interval_days,
			 "time_zone", r->time_zone, "updated_at", json_str_or_null(r->configured ? r->updated_at : NULL),
			 "updated_by", json_str_or_null(r->configured ? r->updated_by : NULL));
}

int cmd_autoreply_show(struct cli *c)
{
	struct ers_autoreply r;
	if (ers_autoreply_get(c->ctx, &c->actor, c->args[0], &r, &c->err) < 0) {
		ers_autoreply_free(&r);
		return -1;
	}
	if (c->json) {
		out_json(c, autoreply_json(&r));
	} else if (!r.configured) {
		printf("address:        %s\nautoresponder:  Inactive (never set)\n", r.address);
	} else {
		printf("address:        %s\n", r.address);
		printf("autoresponder:  %s%s\n", r.active ? "Active" : "Inactive",
		       r.enabled && !r.active ? " (enabled, outside its dates)" : r.enabled ? "" : " (disabled)");
		printf("subject:        %s\n", r.subject);
		printf("start date:     %s\n", *r.starts_on ? r.starts_on : "-");
		printf("end date:       %s\n", *r.ends_on ? r.ends_on : "-");
		printf("time zone:      %s\n", r.time_zone);
		printf("interval:       %d day(s)\n", r.interval_days);
		printf("updated:        %s by %s\n", r.updated_at, r.updated_by);
		printf("message:\n%s%s", r.message, r.message[0] && r.message[strlen(r.message) - 1] == '\n' ? "" : "\n");
	}
	ers_autoreply_free(&r);
	return 0;
}

int cmd_autoreply_set(struct cli *c)
{
	long long interval = 1;
	if (cli_opt(c, "interval-days") && cli_opt_int(c, "interval-days", 1, ERS_AUTOREPLY_INTERVAL_MAX, &interval) < 0)
		return -1;
	struct ers_buf message = ERS_BUF_INIT;
	if (read_message(c, &message) < 0) {
		ers_buf_free(&message);
		return -1;
	}
	struct ers_autoreply_input in = {
		.enabled = !cli_flag(c, "disabled"),
		.subject = cli_opt(c, "subject"),
		.message = message.data,
		.starts_on = cli_opt(c, "start"),
		.ends_on = cli_opt(c, "end"),
		.interval_days = (int)interval,
	};
	int rc = ers_autoreply_set(c->ctx, &c->actor, c->args[0], &in, &c->err);
	ers_buf_free(&message);
	if (rc < 0)
		return -1;
	if (c->json)
		return cmd_autoreply_show(c);
	out_note(c, "autoresponder of %s saved (%s)", c->args[0], in.enabled ? "enabled" : "disabled");
	return 0;
}

int cmd_autoreply_off(struct cli *c)
{
	bool was_on;
	if (ers_autoreply_off(c->ctx, &c->actor, c->args[0], &was_on, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "address", c->args[0], "turned_off", was_on));
	else if (was_on)
		out_note(c, "autoresponder of %s is off; its text is kept", c->args[0]);
	else
		out_note(c, "autoresponder of %s was not on; nothing changed", c->args[0]);
	return 0;
}
