/* Before a rotation switches signing to a new DKIM key, its TXT record
 * must answer in DNS: mail signed with a key that receivers cannot find
 * fails DKIM, and with it DMARC.  Asked with ldns, of the resolver in
 * ers.yaml (dns.resolver) or the system's. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ldns/ldns.h>
#include "dkim_internal.h"
#include "dns/internal.h"

/* "HOST", "HOST:PORT", "[V6]:PORT" or "V6" into a nameserver address and a
 * port; a host name is looked up once. */
static ldns_rdf *nameserver(const char *spec, int *port_r, struct ers_error *err)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	*port_r = 53;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || (size_t)(close - spec - 1) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(close - spec - 1), spec + 1);
		if (close[1] == ':')
			*port_r = atoi(close + 2);
		else if (close[1])
			goto bad;
	} else if (colon && strchr(spec, ':') == colon) {
		if ((size_t)(colon - spec) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
		*port_r = atoi(colon + 1);
	} else {
		snprintf(host, sizeof host, "%s", spec);
	}
	if (*port_r < 1 || *port_r > 65535)
		goto bad;
	unsigned char addr[16];
	if (inet_pton(AF_INET, host, addr) == 1)
		return ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
	if (inet_pton(AF_INET6, host, addr) == 1)
		return ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
		ers_error_set(err, ERS_E_CONFIG, "dns.resolver \"%s\": cannot find the address of %s", spec, host);
		return NULL;
	}
	char text[INET6_ADDRSTRLEN] = "";
	bool v6 = ai->ai_family == AF_INET6;
	inet_ntop(ai->ai_family, v6 ? (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
				    : (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof text);
	freeaddrinfo(ai);
	return ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, text);
bad:
	ers_error_set(err, ERS_E_CONFIG, "dns.resolver must be HOST, HOST:PORT or [IPV6]:PORT, got \"%s\"", spec);
	return NULL;
}

/* The p= tag of a DKIM key record, whitespace removed; false without one. */
static bool p_tag(const char *record, struct ers_buf *p)
{
	ers_buf_reset(p);
	for (const char *s = record; *s;) {
		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		const char *end = strchr(s, ';');
		if (!end)
			end = s + strlen(s);
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (eq) {
			const char *k = s, *ke = eq;
			while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			if (ke - k == 1 && *k == 'p') {
				for (const char *v = eq + 1; v < end; v++)
					if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
						ers_buf_addch(p, *v);
				return true;
			}
		}
		s = end;
	}
	return false;
}

/* A long p= value as its first and last characters. */
static void abbrev(const char *p, char out[40])
{
	size_t n = strlen(p);
	if (n <= 32)
		snprintf(out, 40, "%s", n ? p : "(empty: a revoked key)");
	else
		snprintf(out, 40, "%.16s...%s", p, p + n - 12);
}

int ers_dkim_dns_verify(const struct ers_config *cfg, const char *name, enum ers_dkim_algorithm alg, const char *p,
			struct ers_error *err)
{
	const char *resolver = cfg->dns.resolver;
	ldns_resolver *res = NULL;
	ldns_rdf *dname = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *txts = NULL;
	struct ers_buf record = ERS_BUF_INIT, found = ERS_BUF_INIT, seen = ERS_BUF_INIT;
	char want[40], got[40];
	int rc = -1;
	abbrev(p, want);
	const char *where = resolver ? resolver : "the system's resolver";
	if (resolver) {
		int port;
		ldns_rdf *ns = nameserver(resolver, &port, err);
		if (!ns)
			goto out;
		res = ldns_resolver_new();
		ldns_status st = ldns_resolver_push_nameserver(res, ns);
		ldns_rdf_deep_free(ns);
		if (st != LDNS_STATUS_OK) {
			ers_error_set(err, ERS_E_CONFIG, "dns.resolver \"%s\": %s", resolver, ldns_get_errorstr_by_id(st));
			goto out;
		}
		ldns_resolver_set_port(res, (uint16_t)port);
	} else if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK) {
		ers_error_set(err, ERS_E_CONFIG, "no DNS resolver: /etc/resolv.conf names none; set dns.resolver in %s", cfg->path);
		res = NULL;
		goto out;
	}
	ldns_resolver_set_timeout(res, (struct timeval){ .tv_sec = cfg->dns.timeout > 0 ? cfg->dns.timeout : 5 });
	ldns_resolver_set_retry(res, 1);
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_edns_udp_size(res, 4096); /* an RSA-4096 record is about 800 bytes */
	ldns_resolver_set_fallback(res, true);      /* ... and TCP when it is truncated anyway */
	dname = ldns_dname_new_frm_str(name);
	if (!dname) {
		ers_error_set(err, ERS_E_INTERNAL, "%s is not a DNS name", name);
		goto out;
	}
	ldns_status st = ldns_resolver_query_status(&pkt, res, dname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
	if (st != LDNS_STATUS_OK || !pkt) {
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "cannot ask DNS (%s) for the TXT record of %s: %s; activation needs the record seen first (or --force)",
			      where, name, ldns_get_errorstr_by_id(st));
		goto out;
	}
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
		ers_error_set(err, ERS_E_UNAVAILABLE, "DNS (%s) answered %s for the TXT record of %s; activation needs the record seen first (or --force)",
			      where, lt ? lt->name : "an error", name);
		goto out;
	}
	txts = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER);
	size_t n = txts ? ldns_rr_list_rr_count(txts) : 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(txts, i);
		ers_buf_reset(&record);
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			ldns_rdf *rdf = ldns_rr_rdf(rr, j);
			const uint8_t *d = ldns_rdf_data(rdf);
			if (ldns_rdf_size(rdf) >= 1 && (size_t)d[0] + 1 <= ldns_rdf_size(rdf))
				ers_buf_add(&record, d + 1, d[0]);
		}
		if (!p_tag(record.data, &found))
			continue;
		if (!strcmp(found.data, p)) {
			rc = 0;
			goto out;
		}
		abbrev(found.data, got);
		ers_buf_addf(&seen, "%sp=%s", seen.len ? ", " : "", got);
	}
	const char *domain = strstr(name, "._domainkey.");
	domain = domain ? domain + strlen("._domainkey.") : name;
	if (seen.len)
		ers_error_set(err, ERS_E_CONFLICT,
			      "DNS (%s) has a different key at %s: found %s, expected p=%s (k=%s): publish the record of ersctl dkim show %s, wait for the old one to expire from caches, then activate (or --force)",
			      where, name, seen.data, want, alg == ERS_DKIM_ED25519 ? "ed25519" : "rsa", domain);
	else
		ers_error_set(err, ERS_E_CONFLICT,
			      "DNS (%s) has no DKIM key record at %s (%s): expected a TXT record with p=%s (k=%s): publish the record of ersctl dkim show %s, then activate (or --force)",
			      where, name, rcode == LDNS_RCODE_NXDOMAIN ? "no such name" : n ? "TXT without p=" : "no TXT record",
			      want, alg == ERS_DKIM_ED25519 ? "ed25519" : "rsa", domain);
out:
	ldns_rr_list_deep_free(txts);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(dname);
	if (res)
		ldns_resolver_deep_free(res);
	ers_buf_free(&record);
	ers_buf_free(&found);
	ers_buf_free(&seen);
	return rc;
}
