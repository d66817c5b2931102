/* `ersctl dns check`: asks the configured resolver (ldns, recursion
 * desired) for every record of a domain's plan and says of each whether it
 * is published as planned, missing, wrong, or whether something harmful is
 * published beside it; fetches the MTA-STS policy over HTTPS (libcurl)
 * from the address that same resolver gives.  No database: plans are made
 * first, and `--all` checks them on dns.concurrency threads, each with its
 * own resolver. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <curl/curl.h>
#include <ldns/ldns.h>
#include "dns/internal.h"

#define POLICY_MAX (64 * 1024) /* RFC 8461 3.3: senders may stop at 64 KB */

const char *ers_dns_status_name(enum ers_dns_status s)
{
	switch (s) {
	case ERS_DNS_OK: return "ok";
	case ERS_DNS_MISSING: return "missing";
	case ERS_DNS_WRONG: return "wrong";
	case ERS_DNS_HARMFUL: return "harmful";
	case ERS_DNS_ERROR: return "error";
	}
	return "unknown";
}

void ers_dns_check_free(struct ers_dns_check *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++) {
		free(c->items[i].name);
		free(c->items[i].expected);
		free(c->items[i].found);
		free(c->items[i].detail);
	}
	free(c->items);
	free(c->domain);
	free(c);
}

void ers_dns_check_list_free(struct ers_dns_check_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		ers_dns_check_free(list->items[i]);
	free(list->items);
	free(list);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the resolver ------------------------------------------------------ */

/* dns.resolver parsed: an address and a port, or the system's. */
struct resolver_addr {
	bool system;
	int family;
	char ip[INET6_ADDRSTRLEN];
	int port;
};

static int resolver_parse(const struct ers_config *cfg, struct resolver_addr *ra, struct ers_error *err)
{
	memset(ra, 0, sizeof *ra);
	const char *s = cfg->dns.resolver;
	if (!s || !*s) {
		ra->system = true;
		return 0;
	}
	char host[300];
	ra->port = 53;
	const char *colon = strrchr(s, ':');
	if (s[0] == '[') { /* [v6]:port or [v6] */
		const char *close = strchr(s, ']');
		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(close - s - 1), s + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else if (colon && strchr(s, ':') != colon) { /* a bare IPv6 address */
		snprintf(host, sizeof host, "%s", s);
		colon = NULL;
	} else {
		snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	}
	if (colon) {
		struct ers_error perr;
		if (ers_port_parse(colon + 1, "port", &ra->port, &perr) < 0)
			goto bad;
	}
	unsigned char addr[16];
	if (inet_pton(AF_INET, host, addr) == 1) {
		ra->family = AF_INET;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		ra->family = AF_INET6;
	} else {
		/* A name: the system resolves it once, here. */
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
		int rc = getaddrinfo(host, NULL, &hints, &ai);
		if (rc != 0 || !ai) {
			ers_error_set(err, ERS_E_CONFIG, "dns.resolver %s: cannot resolve %s: %s", s, host, gai_strerror(rc));
			return -1;
		}
		ra->family = ai->ai_family;
		if (ai->ai_family == AF_INET)
			memcpy(addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		else
			memcpy(addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		freeaddrinfo(ai);
	}
	inet_ntop(ra->family, addr, ra->ip, sizeof ra->ip);
	return 0;
bad:
	ers_error_set(err, ERS_E_CONFIG, "dns.resolver in %s must be HOST, HOST:PORT or [IPV6]:PORT, got \"%.100s\"",
		      cfg->path, s);
	return -1;
}

static int resolver_open(const struct ers_config *cfg, const struct resolver_addr *ra, ldns_resolver **res_r,
			 struct ers_error *err)
{
	ldns_resolver *res = NULL;
	if (ra->system) {
		ldns_status st = ldns_resolver_new_frm_file(&res, NULL);
		if (st != LDNS_STATUS_OK) {
			ers_error_set(err, ERS_E_CONFIG, "the system's resolver (/etc/resolv.conf): %s; or set dns.resolver",
				      ldns_get_errorstr_by_id(st));
			return -1;
		}
	} else {
		res = ldns_resolver_new();
		ldns_rdf *ns = ldns_rdf_new_frm_str(ra->family == AF_INET ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, ra->ip);
		if (!res || !ns || ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK)
			ERS_BUG("ldns resolver setup failed");
		ldns_rdf_deep_free(ns);
		ldns_resolver_set_port(res, (uint16_t)ra->port);
	}
	int per_try = cfg->dns.timeout > 1 ? cfg->dns.timeout / 2 : 1;
	ldns_resolver_set_timeout(res, (struct timeval){ .tv_sec = per_try });
	ldns_resolver_set_retry(res, 2);
	ldns_resolver_set_retrans(res, (uint8_t)per_try);
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_dnssec(res, false);
	ldns_resolver_set_edns_udp_size(res, 1232); /* DKIM keys exceed 512 bytes; TCP after TC */
	ldns_resolver_set_fallback(res, true);
	ldns_resolver_set_random(res, false);
	*res_r = res;
	return 0;
}

/* --- lookups ----------------------------------------------------------- */

struct answer {
	bool failed;      /* SERVFAIL, REFUSED, timeout: nothing can be said */
	char why[160];
	size_t n;
	char **v;         /* presentation values; TXT strings joined, unquoted */
};

static void answer_add(struct answer *a, char *v)
{
	a->v = ers_xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n++] = v;
}

static void answer_free(struct answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof *a);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static char *rr_value(const ldns_rr *rr, ldns_rr_type type)
{
	struct ers_buf b = ERS_BUF_INIT;
	if (type == LDNS_RR_TYPE_TXT) {
		for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
			const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
			const uint8_t *d = ldns_rdf_data(rdf);
			size_t len = ldns_rdf_size(rdf) ? d[0] : 0;
			if (len + 1 > ldns_rdf_size(rdf))
				len = ldns_rdf_size(rdf) ? ldns_rdf_size(rdf) - 1 : 0;
			for (size_t k = 1; k <= len; k++)
				ers_buf_addch(&b, d[k] < 0x20 || d[k] >= 0x7f ? '?' : (char)d[k]);
		}
		return ers_buf_detach(&b);
	}
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		ers_buf_addf(&b, "%s%s", i ? " " : "", s ? s : "?");
		free(s);
	}
	lower(b.data);
	return ers_buf_detach(&b);
}

static void lookup(ldns_resolver *res, const char *name, ldns_rr_type type, struct answer *a)
{
	memset(a, 0, sizeof *a);
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	if (!dname) {
		a->failed = true;
		snprintf(a->why, sizeof a->why, "not a valid DNS name");
		return;
	}
	ldns_pkt *pkt = NULL;
	ldns_status st = ldns_resolver_send(&pkt, res, dname, type, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(dname);
	if (st != LDNS_STATUS_OK || !pkt) {
		a->failed = true;
		snprintf(a->why, sizeof a->why, "no answer: %s", ldns_get_errorstr_by_id(st));
		ldns_pkt_free(pkt);
		return;
	}
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		a->failed = true;
		char *rs = ldns_pkt_rcode2str(rcode);
		snprintf(a->why, sizeof a->why, "the resolver answered %s", rs ? rs : "an error");
		free(rs);
		ldns_pkt_free(pkt);
		return;
	}
	ldns_rr_list *rrs = ldns_pkt_rr_list_by_type(pkt, type, LDNS_SECTION_ANSWER);
	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++)
		answer_add(a, rr_value(ldns_rr_list_rr(rrs, i), type));
	ldns_rr_list_deep_free(rrs);
	ldns_pkt_free(pkt);
}

static ldns_rr_type type_of(const char *type)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(type);
	if (!t)
		ERS_BUG("unknown record type in a plan");
	return t;
}

/* --- findings ---------------------------------------------------------- */

struct checker {
	const struct ers_config *cfg;
	const struct ers_dns_plan *plan;
	ldns_resolver *res;
	struct ers_dns_check *c;
	bool dkim_bad;           /* a DKIM record missing or wrong */
	bool sts_txt_published;  /* some v=STSv1 record at _mta-sts */
	struct answer sts_addr;  /* mta-sts.DOMAIN's A answer */
	bool sts_addr_failed;    /* ... and whether its lookup failed */
};

static char *joined(const struct answer *a)
{
	if (a->failed || !a->n)
		return NULL;
	struct ers_buf b = ERS_BUF_INIT;
	for (size_t i = 0; i < a->n; i++)
		ers_buf_addf(&b, "%s%s", i ? " | " : "", a->v[i]);
	return ers_buf_detach(&b);
}

/* Adds a finding about record `r` (for topic, type, name, need and
 * publisher); `found` is taken over. */
static void finding(struct checker *k, const struct ers_dns_record *r, enum ers_dns_status status,
		    const char *name, const char *expected, char *found, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static void finding(struct checker *k, const struct ers_dns_record *r, enum ers_dns_status status,
		    const char *name, const char *expected, char *found, const char *fmt, ...)
{
	struct ers_dns_check *c = k->c;
	c->items = ers_xrealloc(c->items, (c->count + 1) * sizeof *c->items);
	struct ers_dns_finding *f = &c->items[c->count++];
	memset(f, 0, sizeof *f);
	f->status = status;
	snprintf(f->topic, sizeof f->topic, "%s", r->topic);
	snprintf(f->type, sizeof f->type, "%s", r->type);
	f->name = ers_xstrdup(name ? name : r->name);
	f->expected = expected ? ers_xstrdup(expected) : NULL;
	f->found = found;
	f->publisher = r->publisher;
	f->need = r->need;
	struct ers_buf b = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	f->detail = ers_buf_detach(&b);
	switch (status) {
	case ERS_DNS_OK: c->n_ok++; break;
	case ERS_DNS_MISSING: c->n_missing++; break;
	case ERS_DNS_WRONG: c->n_wrong++; break;
	case ERS_DNS_HARMFUL: c->n_harmful++; break;
	case ERS_DNS_ERROR: c->n_error++; break;
	}
	f->blocking = status != ERS_DNS_OK && (status != ERS_DNS_MISSING || r->need == ERS_DNS_REQUIRED);
	if (f->blocking)
		c->ready = false;
}

/* Reports a failed lookup; true when it failed. */
static bool failed(struct checker *k, const struct ers_dns_record *r, const char *name, const struct answer *a)
{
	if (!a->failed)
		return false;
	finding(k, r, ERS_DNS_ERROR, name, r->value, NULL, "%s %s lookup failed: %s", name ? name : r->name, r->type,
		a->why);
	return true;
}

/* The records of `a` whose text starts with `tag` (a version tag like
 * "v=spf1"), case-insensitively, followed by the end, a space or ';'. */
static void only_tagged(struct answer *a, const char *tag)
{
	size_t n = 0, len = strlen(tag);
	for (size_t i = 0; i < a->n; i++) {
		const char *v = a->v[i];
		if (!strncasecmp(v, tag, len) && (!v[len] || v[len] == ' ' || v[len] == ';'))
			a->v[n++] = a->v[i];
		else
			free(a->v[i]);
	}
	a->n = n;
}

/* The value of tag `key` in a "k=v; k=v" record (DKIM, DMARC, MTA-STS,
 * TLS-RPT), spaces around it trimmed; false when absent. */
static bool tag_value(const char *rec, const char *key, struct ers_buf *out)
{
	size_t klen = strlen(key);
	for (const char *p = rec; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *ke = eq;
			while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			if ((size_t)(ke - p) == klen && !strncasecmp(p, key, klen)) {
				const char *v = eq + 1, *ve = end;
				while (v < ve && (*v == ' ' || *v == '\t'))
					v++;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				ers_buf_reset(out);
				ers_buf_add(out, v, (size_t)(ve - v));
				return true;
			}
		}
		p = end;
	}
	return false;
}

static void strip_spaces(struct ers_buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->len; i++)
		if (!isspace((unsigned char)b->data[i]))
			b->data[n++] = b->data[i];
	b->len = n;
	if (b->cap)
		b->data[n] = '\0';
}

static bool has_value(const struct answer *a, const char *v)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcasecmp(a->v[i], v))
			return true;
	return false;
}

/* A, AAAA: the planned address and nothing else. */
static void check_address(struct checker *k, const struct ers_dns_record *r, struct answer *keep)
{
	struct answer a;
	lookup(k->res, r->name, type_of(r->type), &a);
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no %s record: add %s %s %s", r->type, r->name, r->type,
			r->value);
	} else if (!has_value(&a, r->value)) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a), "%s points elsewhere: it must be %s", r->name,
			r->value);
	} else if (a.n > 1) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"more addresses than the mail server's: clients and senders go to them too; keep only %s", r->value);
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	if (keep && a.failed)
		k->sts_addr_failed = true;
	if (keep && !a.failed && !keep->n) {
		answer_free(keep);
		*keep = a;
		return;
	}
	answer_free(&a);
}

/* The host of an "MX" answer "10 host." (lower case, final dot kept). */
static const char *mx_target(const char *v)
{
	const char *sp = strchr(v, ' ');
	return sp ? sp + 1 : v;
}

static void check_mx(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_MX, &a);
	char want[300];
	snprintf(want, sizeof want, "%s.", k->plan->mx_host);
	bool ours = false;
	for (size_t i = 0; i < a.n; i++)
		ours |= !strcasecmp(mx_target(a.v[i]), want);
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no MX record: mail for %s has nowhere to go", r->name);
	} else if (!ours) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"the MX points elsewhere: mail for %s does not reach this server", r->name);
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
		for (size_t i = 0; i < a.n; i++)
			if (strcasecmp(mx_target(a.v[i]), want))
				finding(k, r, ERS_DNS_HARMFUL, NULL, NULL, ers_xstrdup(a.v[i]),
					"another MX, %s, also receives mail for %s: what goes there never reaches this server; remove it",
					mx_target(a.v[i]), r->name);
	}
	answer_free(&a);
}

/* Whether an SPF record authorizes the plan's MX host: mx, a:MXHOST or
 * ip4:/ip6: with the mail server's address (includes are not followed). */
static bool spf_authorizes(struct checker *k, const char *rec, const char **all_r)
{
	bool ok = false;
	*all_r = NULL;
	char *copy = ers_xstrdup(rec);
	const struct ers_dns_record *a4 = &k->plan->records[0];
	for (char *save, *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		const char *m = t + (*t == '+' ? 1 : 0);
		if (!strcasecmp(m, "mx") || (!strncasecmp(m, "mx:", 3) && !strcasecmp(m + 3, k->plan->domain)))
			ok = true;
		else if (!strncasecmp(m, "a:", 2) && !strcasecmp(m + 2, k->plan->mx_host))
			ok = true;
		else if ((!strncasecmp(m, "ip4:", 4) || !strncasecmp(m, "ip6:", 4)) &&
			 (!strncmp(m + 4, a4->value, strlen(a4->value)) &&
			  (!m[4 + strlen(a4->value)] || !strcmp(m + 4 + strlen(a4->value), "/32"))))
			ok = true;
		const char *q = t;
		if (*q == '+' || *q == '-' || *q == '~' || *q == '?')
			q++;
		if (!strcasecmp(q, "all")) {
			static const char *const forms[] = { "+all", "-all", "~all", "?all" };
			*all_r = *t == '-' ? forms[1] : *t == '~' ? forms[2] : *t == '?' ? forms[3] : forms[0];
		}
	}
	free(copy);
	return ok;
}

static void check_spf(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TXT, &a);
	only_tagged(&a, "v=spf1");
	const char *all = NULL;
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no SPF record: receivers cannot tell who may send as %s",
			r->name);
	} else if (a.n > 1) {
		finding(k, r, ERS_DNS_HARMFUL, NULL, r->value, joined(&a),
			"%zu SPF records: receivers treat that as a permanent error (RFC 7208 4.5); merge them into one", a.n);
	} else {
		bool ok = spf_authorizes(k, a.v[0], &all);
		if (all && (!strcmp(all, "+all") || !strcmp(all, "?all")))
			finding(k, r, ERS_DNS_HARMFUL, NULL, r->value, joined(&a),
				"%s: %s; end it with -all", all,
				!strcmp(all, "+all") ? "anyone on the Internet may send as the domain" : "it protects nothing");
		else if (!ok)
			finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
				"it does not authorize the domain's MX host %s (mx): its mail fails SPF", k->plan->mx_host);
		else if (!all && !strcasestr(a.v[0], "redirect="))
			finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
				"it ends without -all: mail from anywhere else is only neutral");
		else
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "%s",
				all && !strcmp(all, "~all") ? "~all (soft fail): -all is stricter" : "as planned");
	}
	answer_free(&a);
}

static void check_dkim(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TXT, &a);
	struct ers_buf want = ERS_BUF_INIT, got = ERS_BUF_INIT;
	tag_value(r->value, "p", &want);
	strip_spaces(&want);
	size_t matching = 0;
	for (size_t i = 0; i < a.n; i++) {
		if (tag_value(a.v[i], "p", &got)) {
			strip_spaces(&got);
			matching += !strcmp(got.data, want.data);
		}
	}
	if (failed(k, r, NULL, &a)) {
		k->dkim_bad = true;
	} else if (!a.n) {
		k->dkim_bad = true;
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL,
			"no DKIM key at %s: receivers cannot verify the domain's signed mail", r->name);
	} else if (!matching) {
		k->dkim_bad = true;
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"the published key (p=) is not this server's: signatures fail; publish the planned value");
	} else if (a.n > 1) {
		k->dkim_bad = true;
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"%zu TXT records at one selector: receivers may take any; keep only the planned one", a.n);
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	ers_buf_free(&want);
	ers_buf_free(&got);
	answer_free(&a);
}

/* A TXT record for a retired selector: its key no longer signs anything,
 * and publishing it only keeps a key alive that should be dead. */
static void check_stale(struct checker *k, const struct ers_dns_record *dmarc, const char *selector)
{
	char name[600];
	snprintf(name, sizeof name, "%s._domainkey.%s", selector, k->plan->domain);
	struct answer a;
	lookup(k->res, name, LDNS_RR_TYPE_TXT, &a);
	struct ers_dns_record r = *dmarc;
	snprintf(r.topic, sizeof r.topic, "DKIM");
	if (!a.failed && a.n)
		finding(k, &r, ERS_DNS_HARMFUL, name, NULL, joined(&a),
			"stale DKIM selector %s: its key was retired; remove this record", selector);
	else if (a.failed)
		failed(k, &r, name, &a);
	answer_free(&a);
}

static void check_dmarc(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TXT, &a);
	only_tagged(&a, "v=DMARC1");
	struct ers_buf p = ERS_BUF_INIT, rua = ERS_BUF_INIT, want_rua = ERS_BUF_INIT;
	tag_value(r->value, "rua", &want_rua);
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no DMARC record: add one with p=%s",
			k->plan->dmarc_policy);
	} else if (a.n > 1) {
		finding(k, r, ERS_DNS_HARMFUL, NULL, r->value, joined(&a),
			"%zu DMARC records: receivers then apply none of them (RFC 7489 6.6.3); keep one", a.n);
	} else if (!tag_value(a.v[0], "p", &p) ||
		   (strcasecmp(p.data, "none") && strcasecmp(p.data, "quarantine") && strcasecmp(p.data, "reject"))) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a), "p= must be none, quarantine or reject");
	} else if (strcasecmp(p.data, "none") && k->dkim_bad) {
		finding(k, r, ERS_DNS_HARMFUL, NULL, r->value, joined(&a),
			"p=%s while the DKIM record is missing or wrong: receivers %s the domain's own mail; use p=none until DKIM passes",
			p.data, !strcasecmp(p.data, "reject") ? "reject" : "quarantine");
	} else {
		bool has_rua = tag_value(a.v[0], "rua", &rua);
		if (!has_rua)
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "no rua=: nobody receives the reports; add %s",
				want_rua.data);
		else if (!strcasestr(rua.data, want_rua.data + strlen("mailto:")))
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "reports go to %s, not to %s", rua.data,
				want_rua.data);
		else if (strcasecmp(p.data, k->plan->dmarc_policy) && !strcmp(k->plan->dmarc_policy, "none"))
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a),
				"p=%s for a new domain: fine once every sending path is confirmed (manual 001)", p.data);
		else
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "%s",
				!strcasecmp(p.data, "none") && strcmp(k->plan->dmarc_policy, "none")
				? "p=none: move to quarantine once reports are clean (manual 001)" : "as planned");
	}
	ers_buf_free(&p);
	ers_buf_free(&rua);
	ers_buf_free(&want_rua);
	answer_free(&a);
}

static void check_sts_txt(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TXT, &a);
	only_tagged(&a, "v=STSv1");
	k->sts_txt_published = a.n > 0;
	struct ers_buf id = ERS_BUF_INIT;
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no MTA-STS record: senders do not know TLS is required");
	} else if (a.n > 1) {
		finding(k, r, ERS_DNS_HARMFUL, NULL, r->value, joined(&a),
			"%zu MTA-STS records: senders then assume there is no policy (RFC 8461 3.1); keep one", a.n);
	} else if (!tag_value(a.v[0], "id", &id) || strcmp(id.data, k->plan->mta_sts_id)) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"the id is not the current policy's (%s): senders that cached an older policy keep it", k->plan->mta_sts_id);
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	ers_buf_free(&id);
	answer_free(&a);
}

static void check_tlsrpt(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TXT, &a);
	only_tagged(&a, "v=TLSRPTv1");
	struct ers_buf rua = ERS_BUF_INIT;
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no TLS-RPT record: nobody hears of TLS failures");
	} else if (a.n > 1) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"%zu TLS-RPT records: senders then report to none (RFC 8460 3); keep one", a.n);
	} else if (!tag_value(a.v[0], "rua", &rua) || !rua.len) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a), "no rua=: reports have nowhere to go");
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	ers_buf_free(&rua);
	answer_free(&a);
}

/* SRV "prio weight port target.": the planned port and target. */
static void check_srv(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_SRV, &a);
	const char *want = strchr(strchr(r->value, ' ') + 1, ' ') + 1; /* "993 mail.example.com." */
	bool ok = false;
	for (size_t i = 0; i < a.n; i++) {
		const char *sp = strchr(a.v[i], ' ');
		sp = sp ? strchr(sp + 1, ' ') : NULL;
		ok |= sp && !strcasecmp(sp + 1, want);
	}
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "mail clients cannot find the server by themselves");
	} else if (!ok) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a), "mail clients are sent elsewhere: it must be %s", want);
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	answer_free(&a);
}

/* CNAME to the mail host; an A record with the mail server's address does
 * as well. */
static void check_cname(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_CNAME, &a);
	if (failed(k, r, NULL, &a)) {
	} else if (a.n) {
		if (has_value(&a, r->value))
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
		else
			finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a), "points elsewhere: it must be %s", r->value);
	} else {
		struct answer a4;
		lookup(k->res, r->name, LDNS_RR_TYPE_A, &a4);
		if (failed(k, r, NULL, &a4))
			;
		else if (!a4.n)
			finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "mail clients do not find their settings here");
		else if (has_value(&a4, k->plan->records[0].value) && a4.n == 1)
			finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a4), "an A record at the mail server does as well");
		else
			finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a4), "points elsewhere: it must be %s", r->value);
		answer_free(&a4);
	}
	answer_free(&a);
}

static void check_tlsa(struct checker *k, const struct ers_dns_record *r)
{
	struct answer a;
	lookup(k->res, r->name, LDNS_RR_TYPE_TLSA, &a);
	if (failed(k, r, NULL, &a)) {
	} else if (!a.n) {
		finding(k, r, ERS_DNS_MISSING, NULL, r->value, NULL, "no TLSA record: DANE senders do not pin the TLS key");
	} else if (!has_value(&a, r->value)) {
		finding(k, r, ERS_DNS_WRONG, NULL, r->value, joined(&a),
			"no record matches the mail server's TLS key: DANE senders refuse to deliver");
	} else {
		finding(k, r, ERS_DNS_OK, NULL, r->value, joined(&a), "as planned");
	}
	answer_free(&a);
}

/* --- the MTA-STS policy over HTTPS ------------------------------------ */

struct fetch_buf {
	struct ers_buf b;
	bool too_big;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	struct fetch_buf *f = userdata;
	if (f->b.len + size * n > POLICY_MAX) {
		f->too_big = true;
		return 0;
	}
	ers_buf_add(&f->b, data, size * n);
	return size * n;
}

/* One line "key: value; key: value" of a policy, for the report. */
static char *policy_line(const char *text)
{
	struct ers_buf b = ERS_BUF_INIT;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\r\n");
		if (n) {
			if (b.len)
				ers_buf_adds(&b, "; ");
			for (size_t i = 0; i < n && b.len < 600; i++)
				ers_buf_addch(&b, (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f ? '?' : p[i]);
		}
		p += n;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	return ers_buf_detach(&b);
}

/* RFC 8461 4.1: "*.example.com" matches one more label. */
static bool mx_pattern_matches(const char *pattern, const char *host)
{
	if (!strncmp(pattern, "*.", 2)) {
		const char *dot = strchr(host, '.');
		return dot && !strcasecmp(dot + 1, pattern + 2);
	}
	return !strcasecmp(pattern, host);
}

/* What is wrong with a fetched policy, or "" when it says what the plan
 * says: STSv1, the planned mode, an mx pattern matching the MX host, a
 * max_age. */
static void policy_problem(const struct ers_dns_plan *plan, const char *text, char *out, size_t size)
{
	struct ers_buf version = ERS_BUF_INIT, mode = ERS_BUF_INIT, max_age = ERS_BUF_INIT;
	bool mx_ok = false, any_mx = false;
	out[0] = '\0';
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\r\n");
		const char *colon = memchr(p, ':', n);
		if (colon) {
			const char *v = colon + 1, *ve = p + n;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t klen = (size_t)(colon - p);
			struct ers_buf *dst = klen == 7 && !strncmp(p, "version", 7) ? &version
					      : klen == 4 && !strncmp(p, "mode", 4) ? &mode
					      : klen == 7 && !strncmp(p, "max_age", 7) ? &max_age : NULL;
			if (dst) {
				ers_buf_reset(dst);
				ers_buf_add(dst, v, (size_t)(ve - v));
			} else if (klen == 2 && !strncmp(p, "mx", 2)) {
				char pat[300];
				snprintf(pat, sizeof pat, "%.*s", (int)(ve - v), v);
				any_mx = true;
				mx_ok |= mx_pattern_matches(pat, plan->mx_host);
			}
		}
		p += n;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	if (strcmp(version.data, "STSv1"))
		snprintf(out, size, "it is not an STSv1 policy (version: %s)", version.len ? version.data : "missing");
	else if (strcmp(mode.data, plan->mta_sts_mode))
		snprintf(out, size, "its mode is %s, the plan's is %s: serve `ersctl mtasts policy %s`",
			 mode.len ? mode.data : "missing", plan->mta_sts_mode, plan->domain);
	else if (!mx_ok && strcmp(mode.data, "none"))
		snprintf(out, size, "%s: senders refuse to deliver to %s under enforce",
			 any_mx ? "no mx: line matches the MX host" : "it has no mx: line", plan->mx_host);
	else if (!max_age.len || strspn(max_age.data, "0123456789") != max_age.len || max_age.len > 8)
		snprintf(out, size, "max_age must be a number of seconds");
	ers_buf_free(&version);
	ers_buf_free(&mode);
	ers_buf_free(&max_age);
}

static void check_sts_policy(struct checker *k, const struct ers_dns_record *txt)
{
	const struct ers_dns_plan *plan = k->plan;
	const struct ers_config *cfg = k->cfg;
	struct ers_buf url = ERS_BUF_INIT, pin = ERS_BUF_INIT;
	ers_buf_addf(&url, "https://mta-sts.%s", plan->domain);
	if (cfg->dns.https_port != 443)
		ers_buf_addf(&url, ":%d", cfg->dns.https_port);
	ers_buf_adds(&url, "/.well-known/mta-sts.txt");
	struct ers_dns_record r = *txt;
	snprintf(r.type, sizeof r.type, "HTTPS");
	char *expected = policy_line(plan->mta_sts_policy);
	/* Unreachable while the TXT record announces it: senders find no policy. */
	enum ers_dns_status unreachable = k->sts_txt_published ? ERS_DNS_WRONG : ERS_DNS_MISSING;
	if (k->sts_addr_failed) {
		finding(k, &r, ERS_DNS_ERROR, url.data, expected, NULL,
			"the policy cannot be fetched: the lookup of mta-sts.%s failed", plan->domain);
		goto out;
	}
	if (!k->sts_addr.n) {
		finding(k, &r, unreachable, url.data, expected, NULL, "mta-sts.%s has no address: the policy cannot be fetched",
			plan->domain);
		goto out;
	}
	const char *ip = k->sts_addr.v[0];
	ers_buf_addf(&pin, strchr(ip, ':') ? "mta-sts.%s:%d:[%s]" : "mta-sts.%s:%d:%s", plan->domain,
		     cfg->dns.https_port, ip);
	struct curl_slist *resolve = curl_slist_append(NULL, pin.data);
	CURL *curl = curl_easy_init();
	if (!curl)
		ERS_BUG("curl_easy_init failed");
	struct fetch_buf body = { .b = ERS_BUF_INIT };
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* RFC 8461 3.3: no redirects */
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->dns.timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ersctl-dns-check/" ERS_VERSION);
	if (cfg->dns.ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->dns.ca_file);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
	char problem[400] = "";
	if (cc != CURLE_OK) {
		finding(k, &r, body.too_big ? ERS_DNS_WRONG : unreachable, url.data, expected, NULL,
			"the policy cannot be fetched: %s", body.too_big ? "larger than 64 KB" : errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (status != 200) {
		finding(k, &r, unreachable, url.data, expected, NULL, "the policy cannot be fetched: HTTP %ld", status);
	} else if (!ctype || strncasecmp(ctype, "text/plain", 10)) {
		finding(k, &r, ERS_DNS_WRONG, url.data, expected, policy_line(body.b.data),
			"served as %s: senders ignore a policy that is not text/plain (RFC 8461 3.2)", ctype ? ctype : "no type");
	} else if (policy_problem(plan, body.b.data, problem, sizeof problem), problem[0]) {
		finding(k, &r, ERS_DNS_WRONG, url.data, expected, policy_line(body.b.data), "%s", problem);
	} else {
		finding(k, &r, ERS_DNS_OK, url.data, expected, policy_line(body.b.data), "served as planned");
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(resolve);
	ers_buf_free(&body.b);
out:
	free(expected);
	ers_buf_free(&url);
	ers_buf_free(&pin);
}

/* --- one domain -------------------------------------------------------- */

static struct ers_dns_check *check_one(const struct ers_config *cfg, ldns_resolver *res,
				       const struct ers_dns_plan *plan)
{
	double t0 = now_seconds();
	struct ers_dns_check *c = ers_xcalloc(1, sizeof *c);
	c->domain = ers_xstrdup(plan->domain);
	c->ready = true;
	struct checker k = { .cfg = cfg, .plan = plan, .res = res, .c = c };
	bool any_dkim = false;
	const struct ers_dns_record *sts_txt = NULL;
	for (size_t i = 0; i < plan->count; i++) {
		const struct ers_dns_record *r = &plan->records[i];
		const char *t = r->topic;
		if (!strcmp(t, "DMARC")) {
			if (!any_dkim) { /* no key at all: as much a problem as a missing record */
				struct ers_dns_record dk = *r;
				snprintf(dk.topic, sizeof dk.topic, "DKIM");
				char name[600];
				snprintf(name, sizeof name, "SELECTOR._domainkey.%s", plan->domain);
				char want[600];
				snprintf(want, sizeof want, "(no key yet: ersctl dkim enable %s)", plan->domain);
				finding(&k, &dk, ERS_DNS_MISSING, name, want, NULL,
					"%s has no DKIM key: its mail goes out unsigned", plan->domain);
				k.dkim_bad = true;
			}
			for (size_t s = 0; s < plan->nstale; s++)
				check_stale(&k, r, plan->stale_selectors[s]);
			check_dmarc(&k, r);
		} else if (!strcmp(t, "mail host")) {
			check_address(&k, r, NULL);
		} else if (!strcmp(t, "MX")) {
			check_mx(&k, r);
		} else if (!strcmp(t, "SPF")) {
			check_spf(&k, r);
		} else if (!strcmp(t, "DKIM")) {
			any_dkim = true;
			check_dkim(&k, r);
		} else if (!strcmp(t, "MTA-STS") && !strcmp(r->type, "TXT")) {
			check_sts_txt(&k, r);
			sts_txt = r;
		} else if (!strcmp(t, "MTA-STS")) {
			check_address(&k, r, !strcmp(r->type, "A") ? &k.sts_addr : NULL);
		} else if (!strcmp(t, "TLS-RPT")) {
			if (sts_txt)
				check_sts_policy(&k, sts_txt);
			sts_txt = NULL;
			check_tlsrpt(&k, r);
		} else if (!strcmp(r->type, "SRV")) {
			check_srv(&k, r);
		} else if (!strcmp(r->type, "CNAME")) {
			check_cname(&k, r);
		} else if (!strcmp(r->type, "TLSA")) {
			check_tlsa(&k, r);
		}
	}
	if (sts_txt)
		check_sts_policy(&k, sts_txt);
	answer_free(&k.sts_addr);
	c->seconds = now_seconds() - t0;
	return c;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ers_dns_check_plan(const struct ers_config *cfg, const struct ers_dns_plan *plan,
		       struct ers_dns_check **check_r, struct ers_error *err)
{
	struct resolver_addr ra;
	ldns_resolver *res;
	if (resolver_parse(cfg, &ra, err) < 0 || resolver_open(cfg, &ra, &res, err) < 0)
		return -1;
	pthread_once(&curl_once, curl_init);
	*check_r = check_one(cfg, res, plan);
	ldns_resolver_deep_free(res);
	return 0;
}

int ers_dns_check(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		  struct ers_dns_check **check_r, struct ers_error *err)
{
	struct ers_dns_plan *plan;
	if (ers_dns_plan(ctx, actor, domain, &plan, err) < 0)
		return -1;
	int rc = ers_dns_check_plan(ctx->cfg, plan, check_r, err);
	ers_dns_plan_free(plan);
	return rc;
}

/* --- many domains at once ---------------------------------------------- */

struct pool {
	const struct ers_config *cfg;
	const struct resolver_addr *ra;
	const struct ers_dns_plan_list *plans;
	struct ers_dns_check **out;
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	ldns_resolver *res;
	struct ers_error err;
	if (resolver_open(p->cfg, p->ra, &res, &err) < 0)
		return NULL; /* the caller opened one already: cannot happen but for the system's file changing */
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->plans->count)
			break;
		p->out[i] = check_one(p->cfg, res, p->plans->items[i]);
	}
	ldns_resolver_deep_free(res);
	return NULL;
}

int ers_dns_check_plans(const struct ers_config *cfg, const struct ers_dns_plan_list *plans, int workers,
			struct ers_dns_check_list **list_r, struct ers_error *err)
{
	double t0 = now_seconds();
	struct resolver_addr ra;
	ldns_resolver *probe;
	if (resolver_parse(cfg, &ra, err) < 0 || resolver_open(cfg, &ra, &probe, err) < 0)
		return -1;
	ldns_resolver_deep_free(probe);
	pthread_once(&curl_once, curl_init);
	if (workers <= 0)
		workers = cfg->dns.concurrency > 0 ? cfg->dns.concurrency : 1;
	if ((size_t)workers > plans->count)
		workers = (int)plans->count;
	struct ers_dns_check_list *list = ers_xcalloc(1, sizeof *list);
	list->count = plans->count;
	list->items = ers_xcalloc(plans->count ? plans->count : 1, sizeof *list->items);
	struct pool p = { .cfg = cfg, .ra = &ra, .plans = plans, .out = list->items };
	atomic_init(&p.next, 0);
	pthread_t *th = ers_xcalloc((size_t)(workers ? workers : 1), sizeof *th);
	int started = 0;
	for (int i = 0; i < workers; i++)
		if (pthread_create(&th[i], NULL, worker, &p) == 0)
			started++;
		else
			break;
	if (!started && plans->count) /* no thread at all: do it here */
		worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	for (size_t i = 0; i < list->count; i++) {
		if (!list->items[i]) {
			ers_dns_check_list_free(list);
			ers_error_set(err, ERS_E_INTERNAL, "the DNS check of %s did not run (resolver setup failed in a thread)",
				      plans->items[i]->domain);
			return -1;
		}
		list->ready += list->items[i]->ready;
	}
	list->seconds = now_seconds() - t0;
	*list_r = list;
	return 0;
}

int ers_dns_check_all(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_dns_check_list **list_r,
		      struct ers_error *err)
{
	struct ers_dns_plan_list *plans;
	if (ers_dns_plan_all(ctx, actor, &plans, err) < 0)
		return -1;
	int rc = ers_dns_check_plans(ctx->cfg, plans, 0, list_r, err);
	ers_dns_plan_list_free(plans);
	return rc;
}
