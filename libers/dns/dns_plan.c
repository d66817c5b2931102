/* `ersctl dns plan` and `ersctl mtasts`: the records a tenant domain must
 * publish (manual 001), with the tenant's real values from the database
 * and ers.yaml's dns: section, and the domain's MTA-STS policy. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "dns/internal.h"

#define MTA_STS_MAX_AGE 604800 /* one week, RFC 8461's advice for a policy */
#define NEW_DOMAIN_DAYS "30"

const char *ers_dns_publisher_name(enum ers_dns_publisher p)
{
	return p == ERS_DNS_BY_OPERATOR ? "operator" : "tenant";
}

const char *ers_dns_need_name(enum ers_dns_need n)
{
	switch (n) {
	case ERS_DNS_REQUIRED: return "required";
	case ERS_DNS_RECOMMENDED: return "recommended";
	case ERS_DNS_OPTIONAL: return "optional";
	}
	return "unknown";
}

void ers_mta_sts_policy_text(const char *mode, const char *mx_host, struct ers_buf *out)
{
	ers_buf_reset(out);
	ers_buf_addf(out, "version: STSv1\nmode: %s\nmx: %s\nmax_age: %d\n", mode, mx_host, MTA_STS_MAX_AGE);
}

/* The first 20 hex digits of the policy's SHA-256: any change of the text
 * gives a new id, which tells senders to fetch the policy again (RFC 8461
 * 3.1 allows 1..32 letters and digits). */
void ers_mta_sts_policy_id(const char *policy, char id_r[24])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(policy, strlen(policy), md, &n, EVP_sha256(), NULL))
		ERS_BUG("SHA-256 failed");
	for (int i = 0; i < 10; i++)
		snprintf(id_r + 2 * i, 3, "%02x", md[i]);
}

static void add_record(struct ers_dns_plan *p, const char *topic, const char *type, const char *name,
		       enum ers_dns_publisher pub, enum ers_dns_need need, const char *purpose,
		       const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void add_record(struct ers_dns_plan *p, const char *topic, const char *type, const char *name,
		       enum ers_dns_publisher pub, enum ers_dns_need need, const char *purpose,
		       const char *fmt, ...)
{
	p->records = ers_xrealloc(p->records, (p->count + 1) * sizeof *p->records);
	struct ers_dns_record *r = &p->records[p->count++];
	memset(r, 0, sizeof *r);
	snprintf(r->topic, sizeof r->topic, "%s", topic);
	snprintf(r->type, sizeof r->type, "%s", type);
	r->name = ers_xstrdup(name);
	r->purpose = ers_xstrdup(purpose);
	r->publisher = pub;
	r->need = need;
	struct ers_buf v = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&v, fmt, ap);
	va_end(ap);
	r->value = ers_buf_detach(&v);
}

static void add_note(struct ers_dns_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(struct ers_dns_plan *p, const char *fmt, ...)
{
	struct ers_buf b = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	p->notes = ers_xrealloc(p->notes, (p->nnotes + 1) * sizeof *p->notes);
	p->notes[p->nnotes++] = ers_buf_detach(&b);
}

void ers_dns_plan_free(struct ers_dns_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->count; i++) {
		free(p->records[i].name);
		free(p->records[i].value);
		free(p->records[i].purpose);
	}
	free(p->records);
	for (size_t i = 0; i < p->nnotes; i++)
		free(p->notes[i]);
	free(p->notes);
	for (size_t i = 0; i < p->nstale; i++)
		free(p->stale_selectors[i]);
	free(p->stale_selectors);
	free(p->domain);
	free(p->tenant);
	free(p->mx_host);
	free(p->mta_sts_policy);
	free(p);
}

void ers_dns_plan_list_free(struct ers_dns_plan_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		ers_dns_plan_free(list->items[i]);
	free(list->items);
	free(list);
}

/* What the dns: section gives every plan, validated once. */
struct plan_config {
	char ipv4[INET_ADDRSTRLEN];
	char ipv6[INET6_ADDRSTRLEN]; /* "" when unset */
	const char *mx_host;         /* NULL: mail.DOMAIN */
	char tlsa[80];               /* "3 1 1 HEX" from mailstack.tls_cert, "" when none */
	char tlsa_problem[400];      /* why there is none although tls_cert is set */
};

static int plan_config(const struct ers_config *cfg, struct plan_config *pc, struct ers_error *err)
{
	memset(pc, 0, sizeof *pc);
	unsigned char addr[16];
	if (!cfg->dns.mail_ipv4) {
		ers_error_set(err, ERS_E_CONFIG,
			      "dns.mail_ipv4 is not set in %s: the mail host's IPv4 address goes into the A records of the plan (see ers.yaml(5))",
			      cfg->path);
		return -1;
	}
	if (inet_pton(AF_INET, cfg->dns.mail_ipv4, addr) != 1) {
		ers_error_set(err, ERS_E_CONFIG, "dns.mail_ipv4 in %s must be an IPv4 address like 203.0.113.10, got \"%.60s\"",
			      cfg->path, cfg->dns.mail_ipv4);
		return -1;
	}
	inet_ntop(AF_INET, addr, pc->ipv4, sizeof pc->ipv4);
	if (cfg->dns.mail_ipv6) {
		if (inet_pton(AF_INET6, cfg->dns.mail_ipv6, addr) != 1) {
			ers_error_set(err, ERS_E_CONFIG, "dns.mail_ipv6 in %s must be an IPv6 address like 2001:db8::10, got \"%.60s\"",
				      cfg->path, cfg->dns.mail_ipv6);
			return -1;
		}
		inet_ntop(AF_INET6, addr, pc->ipv6, sizeof pc->ipv6);
	}
	pc->mx_host = cfg->dns.mx_host;
	if (cfg->mailstack.tls_cert) {
		FILE *f = fopen(cfg->mailstack.tls_cert, "r");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		unsigned char *der = NULL;
		int len = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		if (len > 0 && EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL)) {
			int off = snprintf(pc->tlsa, sizeof pc->tlsa, "3 1 1 ");
			for (unsigned int i = 0; i < n; i++)
				off += snprintf(pc->tlsa + off, sizeof pc->tlsa - (size_t)off, "%02x", md[i]);
		} else {
			snprintf(pc->tlsa_problem, sizeof pc->tlsa_problem,
				 "mailstack.tls_cert %s is not a readable PEM certificate: no TLSA record planned",
				 cfg->mailstack.tls_cert);
		}
		OPENSSL_free(der);
		X509_free(x);
	}
	return 0;
}

/* One domain's row: d.name, t.id, t.name, created_at, mta_sts_mode, old
 * enough, then the tenant's IMAP and SMTP endpoints with their TLS modes. */
#define DOMAIN_COLUMNS \
	"d.name, t.id, t.name, " ERS_SQL_TIME("d.created_at") ", d.mta_sts_mode," \
	" d.created_at <= now() - interval '" NEW_DOMAIN_DAYS " days'," \
	" t.imap_host, t.imap_port, hi.tls, t.smtp_host, t.smtp_port, hs.tls"
#define DOMAIN_FROM " FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id" \
	" JOIN ers.approved_host hi ON (hi.hostname, hi.kind, hi.port) = (t.imap_host, t.imap_kind, t.imap_port)" \
	" JOIN ers.approved_host hs ON (hs.hostname, hs.kind, hs.port) = (t.smtp_host, t.smtp_kind, t.smtp_port)"

static bool in_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);
	return !strcmp(host, domain) || (h > d && host[h - d - 1] == '.' && !strcmp(host + h - d, domain));
}

static struct ers_dns_plan *build_plan(const struct ers_config *cfg, const struct plan_config *pc,
				       const PGresult *res, int row, const struct ers_dkim_key_list *keys,
				       const struct ers_dkim_key_list *all_keys)
{
	struct ers_dns_plan *p = ers_xcalloc(1, sizeof *p);
	const char *d = ers_db_str(res, row, 0);
	p->domain = ers_xstrdup(d);
	p->tenant_id = ers_db_ll(res, row, 1);
	p->tenant = ers_xstrdup(ers_db_str(res, row, 2));
	ers_db_time(p->created_at, res, row, 3);
	snprintf(p->mta_sts_mode, sizeof p->mta_sts_mode, "%s", ers_db_str(res, row, 4));
	bool old_enough = ers_db_str(res, row, 5)[0] == 't';

	struct ers_buf b = ERS_BUF_INIT;
	if (pc->mx_host) {
		p->mx_host = ers_xstrdup(pc->mx_host);
	} else {
		ers_buf_addf(&b, "mail.%s", d);
		p->mx_host = ers_buf_detach(&b);
	}
	const char *mx = p->mx_host;
	p->mx_in_domain = in_domain(mx, d);
	enum ers_dns_publisher host_pub = p->mx_in_domain ? ERS_DNS_BY_TENANT : ERS_DNS_BY_OPERATOR;

	bool active_key = false;
	size_t live = 0;
	for (size_t i = 0; keys && i < keys->count; i++) {
		if (strcmp(keys->items[i].domain, d))
			continue;
		live++;
		active_key |= keys->items[i].state == ERS_DKIM_ACTIVE;
	}
	p->is_new = !old_enough || !active_key;
	snprintf(p->dmarc_policy, sizeof p->dmarc_policy, "%s", p->is_new ? "none" : "quarantine");

	/* manual 001 "Required DNS Records" */
	add_record(p, "mail host", "A", mx, host_pub, ERS_DNS_REQUIRED, "points the mail host name to the mail server",
		   "%s", pc->ipv4);
	if (pc->ipv6[0])
		add_record(p, "mail host", "AAAA", mx, host_pub, ERS_DNS_REQUIRED,
			   "points the mail host name to the mail server over IPv6", "%s", pc->ipv6);
	add_record(p, "MX", "MX", d, ERS_DNS_BY_TENANT, ERS_DNS_REQUIRED,
		   "sends inbound mail for the domain to the mail server", "10 %s.", mx);
	add_record(p, "SPF", "TXT", d, ERS_DNS_BY_TENANT, ERS_DNS_REQUIRED,
		   "authorizes the domain's MX hosts to send its mail; nothing else", "v=spf1 mx -all");
	for (size_t i = 0; keys && i < keys->count; i++) {
		const struct ers_dkim_key *k = &keys->items[i];
		if (strcmp(k->domain, d))
			continue;
		const char *why = k->state == ERS_DKIM_ACTIVE ? "lets receivers verify signed outbound mail (the key signing now)"
				  : k->state == ERS_DKIM_PUBLISHED ? "the next DKIM key: published before it signs"
				  : "the previous DKIM key: kept until mail signed with it has arrived";
		add_record(p, "DKIM", "TXT", k->txt_name, ERS_DNS_BY_TENANT, ERS_DNS_REQUIRED, why, "%s", k->txt_value);
	}
	/* rua: dns.dmarc_rua for every domain, or dmarc@DOMAIN (manual 001) */
	struct ers_buf rua = ERS_BUF_INIT;
	if (cfg->dns.dmarc_rua)
		ers_buf_addf(&rua, "%s%s", strncmp(cfg->dns.dmarc_rua, "mailto:", 7) ? "mailto:" : "", cfg->dns.dmarc_rua);
	else
		ers_buf_addf(&rua, "mailto:dmarc@%s", d);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "_dmarc.%s", d);
	add_record(p, "DMARC", "TXT", b.data, ERS_DNS_BY_TENANT, ERS_DNS_REQUIRED,
		   "publishes the domain's policy and where reports go", "v=DMARC1; p=%s; rua=%s", p->dmarc_policy,
		   rua.data);
	ers_buf_free(&rua);

	/* manual 001 "MTA-STS" and "TLS-RPT" */
	ers_buf_reset(&b);
	ers_mta_sts_policy_text(p->mta_sts_mode, mx, &b);
	p->mta_sts_policy = ers_buf_detach(&b);
	ers_mta_sts_policy_id(p->mta_sts_policy, p->mta_sts_id);
	ers_buf_addf(&b, "mta-sts.%s", d);
	add_record(p, "MTA-STS", "A", b.data, ERS_DNS_BY_TENANT, ERS_DNS_RECOMMENDED,
		   "the web server that serves the MTA-STS policy", "%s", pc->ipv4);
	if (pc->ipv6[0])
		add_record(p, "MTA-STS", "AAAA", b.data, ERS_DNS_BY_TENANT, ERS_DNS_RECOMMENDED,
			   "the web server that serves the MTA-STS policy, over IPv6", "%s", pc->ipv6);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "_mta-sts.%s", d);
	add_record(p, "MTA-STS", "TXT", b.data, ERS_DNS_BY_TENANT, ERS_DNS_RECOMMENDED,
		   "tells senders to require TLS to the MX; the id changes with the policy", "v=STSv1; id=%s",
		   p->mta_sts_id);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "_smtp._tls.%s", d);
	if (cfg->dns.tlsrpt_rua)
		add_record(p, "TLS-RPT", "TXT", b.data, ERS_DNS_BY_TENANT, ERS_DNS_RECOMMENDED,
			   "where senders report TLS failures", "v=TLSRPTv1; rua=%s%s",
			   strncmp(cfg->dns.tlsrpt_rua, "mailto:", 7) && strncmp(cfg->dns.tlsrpt_rua, "https:", 6) ? "mailto:" : "",
			   cfg->dns.tlsrpt_rua);
	else
		add_record(p, "TLS-RPT", "TXT", b.data, ERS_DNS_BY_TENANT, ERS_DNS_RECOMMENDED,
			   "where senders report TLS failures", "v=TLSRPTv1; rua=mailto:tls-rpt@%s", d);

	/* Beyond the manual: mail clients find their servers by themselves
	 * (RFC 6186, RFC 8314 for implicit TLS): the tenant's approved IMAP and
	 * SMTP endpoints, where manual 001 "External Mail Client Details" sends
	 * them. */
	const char *imap_host = ers_db_str(res, row, 6), *smtp_host = ers_db_str(res, row, 9);
	long long imap_port = ers_db_ll(res, row, 7), smtp_port = ers_db_ll(res, row, 10);
	bool imap_implicit = !strcmp(ers_db_str(res, row, 8), "implicit");
	bool smtp_implicit = !strcmp(ers_db_str(res, row, 11), "implicit");
	ers_buf_reset(&b);
	ers_buf_addf(&b, "%s._tcp.%s", imap_implicit ? "_imaps" : "_imap", d);
	add_record(p, "autoconfig", "SRV", b.data, ERS_DNS_BY_TENANT, ERS_DNS_OPTIONAL,
		   imap_implicit ? "mail clients find IMAP over TLS (RFC 6186)" : "mail clients find IMAP with STARTTLS (RFC 6186)",
		   "0 1 %lld %s.", imap_port, imap_host);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "%s._tcp.%s", smtp_implicit ? "_submissions" : "_submission", d);
	add_record(p, "autoconfig", "SRV", b.data, ERS_DNS_BY_TENANT, ERS_DNS_OPTIONAL,
		   smtp_implicit ? "mail clients find submission over TLS (RFC 8314)" : "mail clients find submission with STARTTLS (RFC 6186)",
		   "0 1 %lld %s.", smtp_port, smtp_host);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "autoconfig.%s", d);
	add_record(p, "autoconfig", "CNAME", b.data, ERS_DNS_BY_TENANT, ERS_DNS_OPTIONAL,
		   "Thunderbird's autoconfig name, at the mail host", "%s.", mx);
	ers_buf_reset(&b);
	ers_buf_addf(&b, "autodiscover.%s", d);
	add_record(p, "autoconfig", "CNAME", b.data, ERS_DNS_BY_TENANT, ERS_DNS_OPTIONAL,
		   "Outlook's autodiscover name, at the mail host", "%s.", mx);
	if (pc->tlsa[0]) {
		ers_buf_reset(&b);
		ers_buf_addf(&b, "_25._tcp.%s", mx);
		add_record(p, "TLSA", "TLSA", b.data, host_pub, ERS_DNS_OPTIONAL,
			   "DANE: pins the mail host's TLS key for SMTP (needs DNSSEC)", "%s", pc->tlsa);
	}
	ers_buf_free(&b);

	/* Retired DKIM selectors: a TXT record still there is stale. */
	for (size_t i = 0; all_keys && i < all_keys->count; i++) {
		const struct ers_dkim_key *k = &all_keys->items[i];
		if (k->state != ERS_DKIM_RETIRED || strcmp(k->domain, d))
			continue;
		p->stale_selectors = ers_xrealloc(p->stale_selectors, (p->nstale + 1) * sizeof *p->stale_selectors);
		p->stale_selectors[p->nstale++] = ers_xstrdup(k->selector);
	}

	if (!live)
		add_note(p, "%s has no DKIM key yet: create one with `ersctl dkim enable %s`; its TXT record then joins this plan",
			 d, d);
	if (p->is_new)
		add_note(p, "DMARC starts with p=none: the domain is new (%s). Move to p=quarantine, then p=reject, only after SPF, DKIM and every legitimate sending path are confirmed (manual 001)",
			 !old_enough ? "created less than " NEW_DOMAIN_DAYS " days ago" : "no active DKIM key yet");
	else
		add_note(p, "DMARC is planned with p=quarantine (the domain is " NEW_DOMAIN_DAYS
			    " days old and signs with DKIM); keep p=none while legitimate senders are still being discovered, and move to p=reject once reports are clean (manual 001)");
	if (!p->mx_in_domain)
		add_note(p, "the mail host %s is outside %s: its A/AAAA%s records are the operator's, published once for every domain",
			 mx, d, pc->tlsa[0] ? " and TLSA" : "");
	if (!strcmp(p->mta_sts_mode, "testing"))
		add_note(p, "MTA-STS: serve `ersctl mtasts policy %s` at https://mta-sts.%s/.well-known/mta-sts.txt with a certificate for mta-sts.%s; mode testing first, then `ersctl mtasts mode %s enforce` once TLS reports look healthy (manual 001)",
			 d, d, d, d);
	else
		add_note(p, "MTA-STS: serve `ersctl mtasts policy %s` at https://mta-sts.%s/.well-known/mta-sts.txt with a certificate for mta-sts.%s; mode %s",
			 d, d, d, p->mta_sts_mode);
	if (pc->tlsa[0])
		add_note(p, "TLSA only counts where %s's zone is signed with DNSSEC; publish the new record before the TLS key changes", mx);
	else if (pc->tlsa_problem[0])
		add_note(p, "%s", pc->tlsa_problem);
	return p;
}

static int dkim_keys(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		     struct ers_dkim_key_list **live_r, struct ers_dkim_key_list **all_r, struct ers_error *err)
{
	*live_r = *all_r = NULL;
	if (ers_dkim_list(ctx, actor, domain, live_r, err) < 0)
		return -1;
	if (ers_dkim_list_all(ctx, actor, domain, all_r, err) < 0) {
		ers_dkim_key_list_free(*live_r);
		*live_r = NULL;
		return -1;
	}
	return 0;
}

int ers_dns_plan(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		 struct ers_dns_plan **plan_r, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	struct plan_config pc;
	int rc = -1;
	if (plan_config(ctx->cfg, &pc, err) < 0 || ers_domain_normalize(input, &domain, err) < 0)
		goto out;
	const char *params[] = { domain.data };
	PGresult *res = ers_db_exec(ctx, "SELECT " DOMAIN_COLUMNS DOMAIN_FROM " WHERE d.name = $1", 1, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) == 0) { /* to those who may not see every tenant, like another tenant's */
		ers_error_set(err, ERS_E_NOTFOUND, "no tenant has the domain %s (see: ersctl tenant domain list)", domain.data);
		PQclear(res);
		struct ers_authz_target nowhere = { 0 };
		ers_authz_missing(ctx, actor, ERS_ACT_DNS_VIEW, &nowhere, domain.data, err);
		goto out;
	}
	struct ers_authz_target target = { .tenant_id = ers_db_ll(res, 0, 1) };
	struct ers_dkim_key_list *live, *all;
	if (ers_authz_require(ctx, actor, ERS_ACT_DNS_VIEW, &target, domain.data, err) < 0 ||
	    dkim_keys(ctx, actor, domain.data, &live, &all, err) < 0) {
		PQclear(res);
		goto out;
	}
	*plan_r = build_plan(ctx->cfg, &pc, res, 0, live, all);
	PQclear(res);
	ers_dkim_key_list_free(live);
	ers_dkim_key_list_free(all);
	rc = 0;
out:
	ers_buf_free(&domain);
	return rc;
}

/* By domain; in a domain the signing key first, then the next, then the
 * previous, as the DKIM module lists them. */
static int key_order(const void *a, const void *b)
{
	const struct ers_dkim_key *x = a, *y = b;
	static const int rank[] = { [ERS_DKIM_ACTIVE] = 0, [ERS_DKIM_PUBLISHED] = 1, [ERS_DKIM_RETIRING] = 2,
				    [ERS_DKIM_RETIRED] = 3 };
	int c = strcmp(x->domain, y->domain);
	if (c)
		return c;
	if (rank[x->state] != rank[y->state])
		return rank[x->state] - rank[y->state];
	return strcmp(x->selector, y->selector);
}

int ers_dns_plan_all(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_dns_plan_list **list_r,
		     struct ers_error *err)
{
	struct plan_config pc;
	if (plan_config(ctx->cfg, &pc, err) < 0)
		return -1;
	/* Tenant admins see their own tenant's domains; others need the right
	 * over every tenant (as ers_tenant_list). */
	bool own_only = actor->role == ERS_ROLE_TENANT_ADMIN;
	struct ers_authz_target own = { .tenant_id = actor->tenant_id };
	if (ers_authz_require(ctx, actor, ERS_ACT_DNS_VIEW, own_only ? &own : NULL, "domains", err) < 0)
		return -1;
	struct ers_num tid = ers_num(actor->tenant_id);
	const char *params[] = { own_only ? tid.s : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT " DOMAIN_COLUMNS DOMAIN_FROM
				    " WHERE $1::bigint IS NULL OR d.tenant_id = $1::bigint ORDER BY d.name", 1, params, err);
	if (!res)
		return -1;
	struct ers_dkim_key_list *live, *all;
	if (dkim_keys(ctx, actor, NULL, &live, &all, err) < 0) {
		PQclear(res);
		return -1;
	}
	struct ers_dns_plan_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count ? list->count : 1, sizeof *list->items);
	/* Each domain's keys by binary search in the lists sorted by domain, so
	 * that thousands of domains stay n log n. */
	struct ers_dkim_key_list *lists[2] = { live, all };
	for (int l = 0; l < 2; l++)
		if (lists[l]->count > 1)
			qsort(lists[l]->items, lists[l]->count, sizeof *lists[l]->items, key_order);
	for (size_t i = 0; i < list->count; i++) {
		const char *d = ers_db_str(res, (int)i, 0);
		struct ers_dkim_key_list mine[2];
		for (int l = 0; l < 2; l++) {
			const struct ers_dkim_key_list *kl = lists[l];
			size_t lo = 0, hi = kl->count;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (strcmp(kl->items[mid].domain, d) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			size_t end = lo;
			while (end < kl->count && !strcmp(kl->items[end].domain, d))
				end++;
			mine[l] = (struct ers_dkim_key_list){ .count = end - lo, .items = kl->items + lo };
		}
		list->items[i] = build_plan(ctx->cfg, &pc, res, (int)i, &mine[0], &mine[1]);
	}
	PQclear(res);
	ers_dkim_key_list_free(live);
	ers_dkim_key_list_free(all);
	*list_r = list;
	return 0;
}

/* A TXT value as zone-file strings: quoted, at most 255 bytes each. */
static void txt_strings(const char *value, struct ers_buf *out)
{
	size_t n = strlen(value);
	for (size_t off = 0; off < n || off == 0; off += 255) {
		size_t len = n - off < 255 ? n - off : 255;
		ers_buf_addf(out, "%s\"", off ? " " : "");
		for (size_t i = 0; i < len; i++) {
			char c = value[off + i];
			if (c == '"' || c == '\\')
				ers_buf_addch(out, '\\');
			ers_buf_addch(out, c);
		}
		ers_buf_addch(out, '"');
		if (!n)
			break;
	}
}

void ers_dns_plan_zone(const struct ers_dns_plan *p, struct ers_buf *out)
{
	ers_buf_addf(out, "; DNS records for %s (tenant \"%s\"), from `ersctl dns plan`.\n", p->domain, p->tenant);
	ers_buf_adds(out, "; Absolute names: paste into the domain's zone. SOA and NS are the DNS host's.\n");
	const char *topic = "";
	for (size_t i = 0; i < p->count; i++) {
		const struct ers_dns_record *r = &p->records[i];
		if (strcmp(topic, r->topic)) {
			ers_buf_addf(out, "\n; %s (%s)\n", r->topic, ers_dns_need_name(r->need));
			topic = r->topic;
		}
		if (r->publisher == ERS_DNS_BY_OPERATOR)
			ers_buf_adds(out, "; published by the operator, not in this zone:\n; ");
		ers_buf_addf(out, "%s.\t3600\tIN\t%s\t", r->name, r->type);
		if (!strcmp(r->type, "TXT"))
			txt_strings(r->value, out);
		else
			ers_buf_adds(out, r->value);
		ers_buf_addch(out, '\n');
	}
	for (size_t i = 0; i < p->nnotes; i++)
		ers_buf_addf(out, "%s; note: %s\n", i ? "" : "\n", p->notes[i]);
}

int ers_mta_sts_set_mode(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
			 const char *mode, char old_r[16], struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	int rc = -1;
	if (!mode || (strcmp(mode, "testing") && strcmp(mode, "enforce") && strcmp(mode, "none"))) {
		ers_error_set(err, ERS_E_INVALID, "the MTA-STS mode must be testing, enforce or none; got \"%.40s\"",
			      mode ? mode : "");
		goto out;
	}
	if (ers_domain_normalize(input, &domain, err) < 0 || ers_db_begin(ctx, err) < 0)
		goto out;
	const char *params[] = { domain.data, mode };
	PGresult *res = ers_db_exec(ctx, "SELECT tenant_id, mta_sts_mode FROM ers.domain WHERE name = $1 FOR UPDATE",
				    1, params, err);
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) { /* to those who may not see every tenant, like another tenant's */
		ers_error_set(err, ERS_E_NOTFOUND, "no tenant has the domain %s (see: ersctl tenant domain list)", domain.data);
		PQclear(res);
		ers_db_rollback(ctx);
		struct ers_authz_target nowhere = { 0 };
		ers_authz_missing(ctx, actor, ERS_ACT_MTASTS_SET, &nowhere, domain.data, err);
		goto out;
	}
	long long tenant_id = ers_db_ll(res, 0, 0);
	char old[16];
	snprintf(old, sizeof old, "%s", ers_db_str(res, 0, 1));
	PQclear(res);
	struct ers_authz_target target = { .tenant_id = tenant_id };
	if (ers_authz_check(actor, ERS_ACT_MTASTS_SET, &target, err) < 0) {
		ers_db_rollback(ctx);
		ers_audit_denied(ctx, actor, ers_action_name(ERS_ACT_MTASTS_SET), domain.data, tenant_id, err->message);
		goto out;
	}
	if (old_r)
		snprintf(old_r, 16, "%s", old);
	if (!strcmp(old, mode)) { /* nothing changes, nothing to audit */
		ers_db_rollback(ctx);
		rc = 0;
		goto out;
	}
	if (ers_db_run(ctx, "UPDATE ers.domain SET mta_sts_mode = $2 WHERE name = $1", 2, params, err) < 0)
		goto rollback;
	char detail[100];
	snprintf(detail, sizeof detail, "MTA-STS mode %s -> %s", old, mode);
	rc = ers_db_commit_audited(ctx, actor, "mtasts.mode", domain.data, tenant_id, NULL, detail, err);
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free(&domain);
	return rc;
}
