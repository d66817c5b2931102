/* The DNS a tenant domain must publish (manual 001 "Required DNS Records",
 * "DKIM Public Key", "MTA-STS", "TLS-RPT"; beyond it: RFC 6186 client
 * autoconfiguration and an optional DANE TLSA record), the domain's MTA-STS
 * policy, and a check of what the configured resolver really answers.
 *
 * A plan is built from the database and ers.yaml's dns: section; a check
 * needs only the plan and the configuration (no database), so that many
 * domains can be checked at once on threads. */
#ifndef ERS_DNS_H
#define ERS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "buf.h"
#include "config.h"
#include "ctx.h"
#include "error.h"

/* Who adds the record to DNS: the domain owner at the domain's DNS host,
 * or the operator (the mail host's own records when it is outside the
 * domain, e.g. dns.mx_host: mx.hoster.example). */
enum ers_dns_publisher { ERS_DNS_BY_TENANT, ERS_DNS_BY_OPERATOR };
/* How much the record matters: required (manual 001 "Required DNS
 * Records"), recommended (manual 001 "Optional But Recommended") or
 * optional (beyond the manual). */
enum ers_dns_need { ERS_DNS_REQUIRED, ERS_DNS_RECOMMENDED, ERS_DNS_OPTIONAL };

struct ers_dns_record {
	char topic[16];     /* "mail host", "MX", "SPF", "DKIM", "DMARC", "MTA-STS", "TLS-RPT", "autoconfig", "TLSA" */
	char type[8];       /* "A", "AAAA", "MX", "TXT", "SRV", "CNAME", "TLSA" */
	char *name;         /* absolute, without the final dot: "_dmarc.example.com" */
	char *value;        /* presentation form; TXT as one unquoted string ("v=spf1 mx -all"),
			     * MX/SRV/CNAME targets with the final dot */
	char *purpose;      /* one line for people */
	enum ers_dns_publisher publisher;
	enum ers_dns_need need;
};

struct ers_dns_plan {
	char *domain;
	char *tenant;
	long long tenant_id;
	char *mx_host;           /* dns.mx_host, or mail.DOMAIN */
	bool mx_in_domain;       /* else the operator publishes the mail host's records */
	/* New: created less than 30 days ago, or no active DKIM key yet.
	 * DMARC is planned with p=none while new, p=quarantine after. */
	bool is_new;
	char dmarc_policy[16];   /* "none" or "quarantine" */
	char created_at[40];
	char mta_sts_mode[16];   /* "testing", "enforce" or "none" */
	char *mta_sts_policy;    /* the policy file's text */
	char mta_sts_id[24];     /* the _mta-sts TXT id: a hash of the policy text */
	size_t count;
	struct ers_dns_record *records;
	size_t nnotes;
	char **notes;            /* advice to print with the plan */
	size_t nstale;
	char **stale_selectors;  /* retired DKIM selectors: their TXT record must be gone */
};

struct ers_dns_plan_list {
	size_t count;
	struct ers_dns_plan **items;
};

/* The plan of one domain hosted here; the actor must be allowed to view
 * its tenant.  ERS_E_NOTFOUND for a domain no tenant has; ERS_E_CONFIG when
 * dns.mail_ipv4 is not set. */
int ers_dns_plan(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		 struct ers_dns_plan **plan_r, struct ers_error *err);
/* The plans of every domain the actor may see (tenant admins: their
 * tenant's), ordered by domain, in a few queries whatever their number. */
int ers_dns_plan_all(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_dns_plan_list **list_r,
		     struct ers_error *err);
/* The plan's records in zone-file syntax with absolute names, to paste into
 * the domain's zone (no SOA or NS: those are the DNS host's).  Records the
 * operator publishes are written as comments; long TXT values are split into
 * quoted strings of at most 255 bytes. */
void ers_dns_plan_zone(const struct ers_dns_plan *plan, struct ers_buf *out);
void ers_dns_plan_free(struct ers_dns_plan *plan);
void ers_dns_plan_list_free(struct ers_dns_plan_list *list);

const char *ers_dns_publisher_name(enum ers_dns_publisher p); /* "tenant", "operator" */
const char *ers_dns_need_name(enum ers_dns_need n);           /* "required", "recommended", "optional" */

/* MTA-STS (RFC 8461): the policy text of `mode` for `mx_host` and its id. */
void ers_mta_sts_policy_text(const char *mode, const char *mx_host, struct ers_buf *out);
void ers_mta_sts_policy_id(const char *policy, char id_r[24]);
/* Sets a domain's MTA-STS mode ("testing", "enforce" or "none"): operators
 * and super admins only; one transaction, one audit row.  `old_r` (may be
 * NULL) gets the mode before; an unchanged mode changes nothing. */
int ers_mta_sts_set_mode(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
			 const char *mode, char old_r[16], struct ers_error *err);

/* --- the check ------------------------------------------------------------ */

enum ers_dns_status {
	ERS_DNS_OK,
	ERS_DNS_MISSING,  /* nothing published where the plan has a record */
	ERS_DNS_WRONG,    /* published, but not the planned value */
	ERS_DNS_HARMFUL,  /* something extra that breaks mail: two SPF records, +all, a stale DKIM key... */
	ERS_DNS_ERROR,    /* the lookup or the fetch failed: SERVFAIL, timeout */
};

struct ers_dns_finding {
	enum ers_dns_status status;
	char topic[16];
	char type[8];
	char *name;
	char *expected;   /* the planned value, NULL for an extra that should not be there */
	char *found;      /* what DNS (or the policy URL) answered, values joined by " | "; NULL: nothing */
	char *detail;     /* one sentence: what is wrong and what to do */
	enum ers_dns_publisher publisher;
	enum ers_dns_need need;
	bool blocking;    /* counts against the domain being ready */
};

/* A domain is ready when no finding blocks: every required record is
 * published as planned; no recommended or optional record is published
 * wrong; nothing harmful is published; no lookup failed.  A recommended or
 * optional record that is missing does not block. */
struct ers_dns_check {
	char *domain;
	size_t count;
	struct ers_dns_finding *items;
	size_t n_ok, n_missing, n_wrong, n_harmful, n_error;
	bool ready;
	double seconds;   /* how long the check took */
};

struct ers_dns_check_list {
	size_t count;
	struct ers_dns_check **items;
	size_t ready;     /* how many are ready */
	double seconds;   /* wall time of the whole run */
};

const char *ers_dns_status_name(enum ers_dns_status s); /* "ok", "missing", "wrong", "harmful", "error" */

/* Checks a plan against the resolver in dns.resolver (unset: the system's
 * /etc/resolv.conf), with recursion desired and dns.timeout per query, and
 * fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt (port
 * dns.https_port, CA dns.ca_file) from the address that resolver gives.
 * Needs no database and is safe to call from several threads at once.
 * Fails (-1) only when it cannot run at all (a bad dns.resolver); what DNS
 * answers, failures included, is in the findings. */
int ers_dns_check_plan(const struct ers_config *cfg, const struct ers_dns_plan *plan,
		       struct ers_dns_check **check_r, struct ers_error *err);
/* Plan + check of one domain. */
int ers_dns_check(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		  struct ers_dns_check **check_r, struct ers_error *err);
/* Every domain the actor may see, dns.concurrency at a time. */
int ers_dns_check_all(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_dns_check_list **list_r,
		      struct ers_error *err);
/* Checks the given plans, `workers` at a time (0: dns.concurrency). */
int ers_dns_check_plans(const struct ers_config *cfg, const struct ers_dns_plan_list *plans, int workers,
			struct ers_dns_check_list **list_r, struct ers_error *err);
void ers_dns_check_free(struct ers_dns_check *check);
void ers_dns_check_list_free(struct ers_dns_check_list *list);

#endif
