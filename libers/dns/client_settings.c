/* What a domain's users type into a mail client (manual 001 "External Mail
 * Client Details"), read from the tenant's approved endpoints, and the same
 * as Thunderbird's autoconfig XML. */
#include <stdlib.h>
#include <string.h>
#include "ers/golive.h"
#include "ers/mem.h"
#include "ers/names.h"
#include "dns/internal.h"

int ers_client_settings_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
			    struct ers_client_settings **settings_r, struct ers_error *err)
{
	struct ers_buf name = ERS_BUF_INIT;
	if (ers_domain_normalize(domain, &name, err) < 0) {
		ers_buf_free(&name);
		return -1;
	}
	long long tenant_id, domain_id;
	int rc = -1;
	PGresult *res = NULL;
	if (ers_domain_owner_for(ctx, actor, ERS_ACT_DNS_VIEW, NULL, name.data, NULL, &tenant_id, &domain_id, err) < 0)
		goto out;
	const char *params[] = { name.data };
	res = ers_db_exec(ctx,
			  "SELECT t.name, t.imap_host, t.imap_port, hi.tls, t.smtp_host, t.smtp_port, hs.tls, t.pop3"
			  " FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id"
			  " JOIN ers.approved_host hi ON hi.hostname = t.imap_host AND hi.kind = 'imap' AND hi.port = t.imap_port"
			  " JOIN ers.approved_host hs ON hs.hostname = t.smtp_host AND hs.kind = 'smtp' AND hs.port = t.smtp_port"
			  " WHERE d.name = $1",
			  1, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) != 1) {
		ers_error_set(err, ERS_E_NOTFOUND, "domain %s is not one of any tenant's domains", name.data);
		goto out;
	}
	struct ers_client_settings *s = ers_xcalloc(1, sizeof *s);
	s->tenant = ers_xstrdup(ers_db_str(res, 0, 0));
	s->domain = ers_xstrdup(name.data);
	s->imap_host = ers_xstrdup(ers_db_str(res, 0, 1));
	s->imap_port = (int)ers_db_ll(res, 0, 2);
	s->imap_tls = strcmp(ers_db_str(res, 0, 3), "implicit") ? ERS_TLS_STARTTLS : ERS_TLS_IMPLICIT;
	s->smtp_host = ers_xstrdup(ers_db_str(res, 0, 4));
	s->smtp_port = (int)ers_db_ll(res, 0, 5);
	s->smtp_tls = strcmp(ers_db_str(res, 0, 6), "implicit") ? ERS_TLS_STARTTLS : ERS_TLS_IMPLICIT;
	/* POP3 with implicit TLS (995) when there is one, as manual 004 lists it. */
	const typeof(ers_ctx_config(ctx)->mailstack) *m = &ers_ctx_config(ctx)->mailstack;
	bool tls = m->tls_cert != NULL;
	/* 0 (not offered) where the operator turned POP3 off for the tenant. */
	s->pop3_port = ers_db_str(res, 0, 7)[0] != 't' ? 0 : tls && m->pop3s_port ? m->pop3s_port : m->pop3_port;
	s->pop3_tls = tls && m->pop3s_port ? ERS_TLS_IMPLICIT : ERS_TLS_STARTTLS;
	s->managesieve_port = m->managesieve_port;
	*settings_r = s;
	rc = 0;
out:
	PQclear(res);
	ers_buf_free(&name);
	return rc;
}

void ers_client_settings_free(struct ers_client_settings *s)
{
	if (!s)
		return;
	free(s->tenant);
	free(s->domain);
	free(s->imap_host);
	free(s->smtp_host);
	free(s);
}

static void add_xml_text(struct ers_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': ers_buf_adds(out, "&amp;"); break;
		case '<': ers_buf_adds(out, "&lt;"); break;
		case '>': ers_buf_adds(out, "&gt;"); break;
		case '"': ers_buf_adds(out, "&quot;"); break;
		case '\'': ers_buf_adds(out, "&apos;"); break;
		default: ers_buf_add(out, s, 1);
		}
	}
}

static void add_server(struct ers_buf *out, const char *element, const char *type, const char *host,
		       int port, enum ers_tls_mode tls)
{
	ers_buf_addf(out, "    <%s type=\"%s\">\n      <hostname>", element, type);
	add_xml_text(out, host);
	ers_buf_addf(out, "</hostname>\n      <port>%d</port>\n      <socketType>%s</socketType>\n"
			  "      <authentication>password-cleartext</authentication>\n"
			  "      <username>%%EMAILADDRESS%%</username>\n    </%s>\n",
		     port, tls == ERS_TLS_IMPLICIT ? "SSL" : "STARTTLS", element);
}

void ers_autoconfig_xml(const struct ers_client_settings *s, struct ers_buf *out)
{
	ers_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n"
			  "  <emailProvider id=\"");
	add_xml_text(out, s->domain);
	ers_buf_adds(out, "\">\n    <domain>");
	add_xml_text(out, s->domain);
	ers_buf_adds(out, "</domain>\n    <displayName>");
	add_xml_text(out, s->tenant);
	ers_buf_adds(out, "</displayName>\n    <displayShortName>");
	add_xml_text(out, s->tenant);
	ers_buf_adds(out, "</displayShortName>\n");
	add_server(out, "incomingServer", "imap", s->imap_host, s->imap_port, s->imap_tls);
	if (s->pop3_port)
		add_server(out, "incomingServer", "pop3", s->imap_host, s->pop3_port, s->pop3_tls);
	add_server(out, "outgoingServer", "smtp", s->smtp_host, s->smtp_port, s->smtp_tls);
	ers_buf_adds(out, "  </emailProvider>\n</clientConfig>\n");
}
