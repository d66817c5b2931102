/* ersctl mailstack ...: render the mail servers' configuration, grant the
 * mail roles, check a running node, remove deleted mailboxes' mail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_mailstack_render(struct cli *c)
{
	struct ers_buf written = ERS_BUF_INIT;
	const char *postfix = cli_opt(c, "postfix"), *dovecot = cli_opt(c, "dovecot"), *opendkim = cli_opt(c, "opendkim");
	int rc = 0;
	if (postfix || dovecot || !opendkim)
		rc = ers_mailstack_render(c->cfg, postfix, dovecot, &written, &c->err);
	/* OpenDKIM's keys come from the database (the others' files do not). */
	if (rc == 0 && opendkim)
		rc = (c->ctx || ers_ctx_open(c->cfg, 0, &c->ctx, &c->err) == 0) ?
		     ers_dkim_render(c->ctx, &c->actor, opendkim, &written, &c->err) : -1;
	if (rc == 0) {
		if (c->json) {
			json_t *files = json_array();
			for (char *line = written.data, *nl; (nl = strchr(line, '\n')); line = nl + 1)
				json_array_append_new(files, json_stringn(line, (size_t)(nl - line)));
			out_json(c, json_pack("{s:o}", "written", files));
		} else {
			fputs(written.data, stdout);
			char servers[64];
			snprintf(servers, sizeof servers, "%s%s%s%s%s", postfix ? "Postfix" : "",
				 postfix && dovecot ? (opendkim ? ", " : " and ") : "", dovecot ? "Dovecot" : "",
				 opendkim && (postfix || dovecot) ? " and " : "", opendkim ? "OpenDKIM (restart it)" : "");
			out_note(c, "rendered from %s; reload %s to use it", c->cfg->path, servers);
		}
	}
	ers_buf_free(&written);
	return rc;
}

int cmd_mailstack_grant(struct cli *c)
{
	if (ers_mailstack_grant(c->ctx, &c->actor, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:s}", "mail_role", c->cfg->mailstack.db_user, "quota_role",
				      c->cfg->mailstack.quota_db_user));
	else
		out_note(c, "granted: %s reads schema ers_mail; %s writes ers_quota.usage", c->cfg->mailstack.db_user,
			 c->cfg->mailstack.quota_db_user);
	return 0;
}

int cmd_mailstack_check(struct cli *c)
{
	struct ers_check_report r;
	if (ers_mailstack_check(c->cfg, &r, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_check_report(&r));
	else
		print_check_report(&r);
	int rc = check_report_status(c, &r);
	ers_check_report_free(&r);
	return rc;
}

int cmd_mailstack_purge(struct cli *c)
{
	long removed;
	long long junk;
	if (ers_mailstack_purge(c->ctx, &c->actor, &removed, &c->err) < 0 ||
	    ers_junk_expire(c->ctx, &c->actor, &junk, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:I,s:I}", "removed", (json_int_t)removed, "junk_expunged", (json_int_t)junk));
	} else {
		out_note(c, "removed the mail of %ld deleted mailbox(es) or tenant(s)", removed);
		out_note(c, "expunged %lld Junk message(s) older than their tenant's retention", junk);
	}
	return 0;
}
