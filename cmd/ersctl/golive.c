/* ersctl tenant golive / tenant autoconfig: manual 001's go-live checklist
 * and mail client settings for one tenant domain. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static json_t *settings_json(const struct ers_client_settings *s)
{
	json_t *o = json_pack("{s:s,s:s,s:{s:s,s:i,s:s},s:{s:s,s:i,s:s}}", "tenant", s->tenant, "domain", s->domain,
			 "incoming", "host", s->imap_host, "port", s->imap_port, "security",
			 ers_tls_mode_name(s->imap_tls), "outgoing", "host", s->smtp_host, "port", s->smtp_port,
			 "security", ers_tls_mode_name(s->smtp_tls));
	json_object_set_new(o, "pop3", s->pop3_port ? json_pack("{s:s,s:i,s:s}", "host", s->imap_host, "port", s->pop3_port,
								 "security", ers_tls_mode_name(s->pop3_tls))
						 : json_null());
	json_object_set_new(o, "managesieve", s->managesieve_port ? json_pack("{s:s,s:i,s:s}", "host", s->imap_host,
									       "port", s->managesieve_port,
									       "security", "starttls")
								   : json_null());
	return o;
}

/* Manual 001 "External Mail Client Details", with this tenant's values. */
static void print_settings(const struct ers_client_settings *s)
{
	static const char *const head[] = { "SETTING", "VALUE" };
	char port_in[12], port_out[12];
	snprintf(port_in, sizeof port_in, "%d", s->imap_port);
	snprintf(port_out, sizeof port_out, "%d", s->smtp_port);
	struct table tab;
	table_init(&tab, 2, head);
	table_row(&tab, "Account type", "IMAP");
	table_row(&tab, "Email address", "Full mailbox address");
	table_row(&tab, "Username", "Full mailbox address");
	table_row(&tab, "Password", "Current webmail/mailbox password");
	table_row(&tab, "Incoming host", s->imap_host);
	table_row(&tab, "Incoming port", port_in);
	table_row(&tab, "Incoming security", s->imap_tls == ERS_TLS_IMPLICIT ? "SSL/TLS" : "STARTTLS");
	table_row(&tab, "Outgoing host", s->smtp_host);
	table_row(&tab, "Outgoing port", port_out);
	table_row(&tab, "Outgoing security", s->smtp_tls == ERS_TLS_IMPLICIT ? "SSL/TLS" : "STARTTLS");
	table_row(&tab, "Outgoing authentication", "Required");
	char pop3[32], sieve[32];
	if (s->pop3_port) {
		snprintf(pop3, sizeof pop3, "%d (%s)", s->pop3_port, s->pop3_tls == ERS_TLS_IMPLICIT ? "SSL/TLS" : "STARTTLS");
		table_row(&tab, "POP3 port", pop3);
	}
	if (s->managesieve_port) {
		snprintf(sieve, sizeof sieve, "%d (STARTTLS)", s->managesieve_port);
		table_row(&tab, "ManageSieve port", sieve);
	}
	table_print(&tab);
}

int cmd_tenant_golive(struct cli *c)
{
	struct ers_check_report r;
	struct ers_client_settings *s;
	if (ers_golive_check(c->ctx, &c->actor, c->args[0], &r, &s, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *j = json_check_report(&r);
		json_object_set_new(j, "domain", json_string(s->domain));
		json_object_set_new(j, "client_settings", settings_json(s));
		out_json(c, j);
	} else {
		print_check_report(&r);
		if (!c->quiet) {
			printf("\n%s %s for mail.  Mail client settings for its users:\n\n", s->domain,
			       r.all_ok ? "is ready" : "is NOT ready");
			print_settings(s);
		}
	}
	int rc = check_report_status(c, &r);
	ers_check_report_free(&r);
	ers_client_settings_free(s);
	return rc;
}

int cmd_tenant_autoconfig(struct cli *c)
{
	struct ers_client_settings *s;
	if (ers_client_settings_get(c->ctx, &c->actor, c->args[0], &s, &c->err) < 0)
		return -1;
	struct ers_buf xml = ERS_BUF_INIT;
	ers_autoconfig_xml(s, &xml);
	const char *path = cli_opt(c, "output");
	int rc = 0;
	if (c->json)
		out_json(c, json_pack("{s:o,s:s}", "client_settings", settings_json(s), "autoconfig_xml", xml.data));
	else if (!path)
		fputs(xml.data, stdout);
	else {
		/* Written beside and renamed, so a web server never serves half a file. */
		char tmp[4200];
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		FILE *f = fopen(tmp, "w");
		bool written = f && fputs(xml.data, f) >= 0;
		if (f && fclose(f) != 0)
			written = false;
		if (!written || rename(tmp, path) < 0) {
			if (f)
				unlink(tmp);
			ers_error_set(&c->err, ERS_E_IO, "cannot write %s: %s", path, strerror(errno));
			rc = -1;
		} else
			out_note(c, "wrote %s: serve it at https://autoconfig.%s/mail/config-v1.1.xml", path, s->domain);
	}
	ers_buf_free(&xml);
	ers_client_settings_free(s);
	return rc;
}
