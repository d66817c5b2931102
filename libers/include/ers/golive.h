/* A tenant domain's go-live (manual 001 "Go-Live Checklist"): one check of
 * everything a domain needs before it takes mail, and the settings its
 * users type into a mail client ("External Mail Client Details"), also as
 * Thunderbird-style autoconfig XML. */
#ifndef ERS_GOLIVE_H
#define ERS_GOLIVE_H

#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"
#include "host.h"
#include "mailstack.h"

/* Where a domain's users connect: the tenant's approved IMAP and SMTP
 * endpoints. */
struct ers_client_settings {
	char *tenant;
	char *domain;
	char *imap_host;
	int imap_port;
	enum ers_tls_mode imap_tls;
	char *smtp_host;
	int smtp_port;
	enum ers_tls_mode smtp_tls;
	/* On the incoming host, as this mail node offers them (ers.yaml
	 * mailstack.pop3_port, pop3s_port, managesieve_port); 0: not offered. */
	int pop3_port;
	enum ers_tls_mode pop3_tls;
	int managesieve_port;      /* STARTTLS */
};

int ers_client_settings_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
			    struct ers_client_settings **settings_r, struct ers_error *err);
void ers_client_settings_free(struct ers_client_settings *s);

/* Thunderbird's autoconfig file (config-v1.1.xml), served at
 * https://autoconfig.DOMAIN/mail/config-v1.1.xml or from the ISP database
 * path /.well-known/autoconfig/mail/config-v1.1.xml. */
void ers_autoconfig_xml(const struct ers_client_settings *s, struct ers_buf *out);

/* Runs the go-live checklist for `domain`: its DNS (every record of `dns
 * plan`, live), DKIM (a key signs, OpenDKIM is configured), its mailboxes
 * and aliases as the mail servers see them (as the mail role), and the
 * tenant's IMAP and submission endpoints (greeting, TLS as approved, a
 * probe login that the password database answers).  Each step is one item
 * of `report_r`; all_ok says whether the domain is ready. */
int ers_golive_check(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		     struct ers_check_report *report_r, struct ers_client_settings **settings_r,
		     struct ers_error *err);

#endif
