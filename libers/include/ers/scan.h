/* Outbound scanning with ClamAV's clamd (manual 000 "Anti-virus Scanning"):
 * the clamd client (INSTREAM, PING, VERSION over a unix or TCP socket), the
 * scan of a message before the one send function submits it, the records of
 * every scan, the self-tests and the reports of the Security tab. */
#ifndef ERS_SCAN_H
#define ERS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

enum ers_scan_result {
	ERS_SCAN_CLEAN,
	ERS_SCAN_INFECTED,
	ERS_SCAN_UNAVAILABLE, /* no verdict: down, too slow, too large, any other answer */
};
const char *ers_scan_result_name(enum ers_scan_result r); /* "clean", "infected", "unavailable" */

/* What clamd said about one stream. */
struct ers_clamd_verdict {
	enum ers_scan_result result;
	char signature[256]; /* infected: the finding, as clamd names it */
	char detail[300];    /* unavailable: why (no secrets, no content) */
	long duration_ms;
};

/* Streams `len` bytes to clamd at `target` (unix:/PATH or tcp:HOST:PORT)
 * with INSTREAM in chunks; the whole exchange within `timeout_s`.  An item
 * over `max_bytes` is not sent: unavailable.  Only "stream: OK" is clean,
 * "... FOUND" infected, everything else unavailable. */
void ers_clamd_scan(const char *target, int timeout_s, size_t max_bytes, const void *data, size_t len,
		    struct ers_clamd_verdict *v);
/* PING then VERSION; 0 with clamd's version line ("ClamAV 1.4.6/27000/...")
 * in `version`, or -1 with ERS_E_UNAVAILABLE naming the target and why. */
int ers_clamd_check(const char *target, int timeout_s, char *version, size_t cap, struct ers_error *err);

/* The scan before a send: the subject and body text as one item, each
 * attachment decoded (base64, quoted-printable; nested messages walked)
 * as one item each, every item recorded.  0: the message may be sent
 * (clean; scanning off; unavailable with fail_closed off).  -1: blocked,
 * with ERS_E_INVALID naming the item and the finding, or
 * ERS_E_UNAVAILABLE saying the manual's words "try again later or contact
 * your administrator". */
int ers_scan_outbound(struct ers_ctx *ctx, const char *sender, const char *message, size_t len,
		      const char *message_id, struct ers_error *err);

/* The same scan from the parts a message is built of, before it is built
 * (ers_mail_send): no parse and no decoding of the built message.  The
 * subject and `texts` (the body, its HTML alternative) are the one text
 * item; each part an item, a message/rfc822 part walked as above. */
struct ers_scan_part {
	const char *name; /* the attachment's file name */
	const char *type; /* "type/subtype"; NULL: application/octet-stream */
	const void *data;
	size_t len;
};
int ers_scan_parts(struct ers_ctx *ctx, const char *sender, const char *message_id, const char *subject,
		   const char *const *texts, size_t ntexts, const struct ers_scan_part *parts, size_t nparts,
		   struct ers_error *err);

/* The mark of a message the webmail has scanned (scan/pass.c): a header
 * ERS_SCAN_PASS_HEADER whose value binds the time and the body under the
 * webmail's master secret, so that the scan milter on the submission port
 * passes the webmail's own submissions without scanning them again.
 * ers_scan_pass_mark: the value for `message` (headers and body), or NULL
 * without a master secret.  ers_scan_pass_valid: whether `value` marks
 * exactly `body` and is at most ten minutes old. */
#define ERS_SCAN_PASS_HEADER "X-ERS-Scanned"
char *ers_scan_pass_mark(const struct ers_config *cfg, const char *message, size_t len, time_t now);
bool ers_scan_pass_valid(const struct ers_config *cfg, const char *value, const char *body, size_t len, time_t now);

/* The scanner's runtime card. */
struct ers_scan_status {
	bool enabled;
	char target[300];
	bool fail_closed;
	int timeout, max_size_mb, retention_days;
	bool healthy;         /* this check: PING and VERSION answered */
	char version[200];    /* clamd's VERSION line, "" when unreachable */
	char engine[64];      /* "ClamAV 1.4.6" */
	char db_version[32];  /* "" for a local database without a version */
	char db_date[64];     /* "" likewise */
	char checked_at[40];  /* this check's time */
	char detail[300];     /* why unhealthy */
	char prev_checked_at[40]; /* the check before this one, "" if none */
	bool prev_healthy;
};
/* Checks clamd now (when enabled) and records the check.  Super admins and
 * operators; tenant admins (scanner status only); users are refused. */
int ers_scan_status(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_scan_status *st,
		    struct ers_error *err);

struct ers_scan_selftest {
	long long id;
	char at[40];
	char *actor;
	char kind[8];       /* "clean" or "eicar" */
	char result[16];
	bool passed;        /* clean came back clean, EICAR infected */
	char *signature, *detail, *scanner;
	long duration_ms;
};
struct ers_scan_selftest_list {
	size_t count;
	struct ers_scan_selftest *items;
};
/* Runs a self-test ("clean": a harmless payload; "eicar": the EICAR test
 * string, built in memory) against clamd, even with scanning off, and
 * records it.  Super admins and operators only. */
int ers_scan_selftest_run(struct ers_ctx *ctx, const struct ers_actor *actor, const char *kind,
			  struct ers_scan_selftest **r, struct ers_error *err);
/* The latest `limit` self-tests (0: 20), newest first; as ers_scan_status. */
int ers_scan_selftest_list(struct ers_ctx *ctx, const struct ers_actor *actor, size_t limit,
			   struct ers_scan_selftest_list **list_r, struct ers_error *err);
void ers_scan_selftest_free(struct ers_scan_selftest *t);
void ers_scan_selftest_list_free(struct ers_scan_selftest_list *l);

struct ers_scan_record {
	long long id;
	char at[40];
	char *sender, *domain, *tenant, *message_id;
	char *item, *item_kind, *item_type;
	long long item_size;
	char result[16];
	char *signature, *detail, *scanner;
	long duration_ms;
	bool blocked;
};
struct ers_scan_list {
	size_t count;
	struct ers_scan_record *items;
};
struct ers_scan_filter {
	const char *tenant;     /* name or domain; NULL: all the actor may see */
	const char *since;      /* ISO 8601 time or date, or a span ago (30m, 12h, 7d, 2w); NULL: none */
	bool issues_only;       /* infected or unavailable */
	bool attachments_only;
	size_t limit;           /* 0: 100 */
};
/* Scan records, newest first: super admins and operators every tenant's
 * (or the one named), tenant admins their own tenant's; users refused. */
int ers_scan_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_scan_filter *f,
		  struct ers_scan_list **list_r, struct ers_error *err);
void ers_scan_list_free(struct ers_scan_list *l);

struct ers_scan_count {
	char *domain;
	char *sender;           /* NULL in the per-domain rollup */
	long long clean, infected, unavailable;
};
struct ers_scan_counts {
	size_t count;
	struct ers_scan_count *items;
};
/* Clean, infected and unavailable scans per sender domain, or (per_user)
 * per sender and domain; scoped as ers_scan_list (limit and the item
 * filters ignored). */
int ers_scan_stats(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_scan_filter *f,
		   bool per_user, struct ers_scan_counts **r, struct ers_error *err);
void ers_scan_counts_free(struct ers_scan_counts *c);

/* Deletes scan records and self-tests older than scan.retention_days;
 * operators and super admins.  `deleted_r` may be NULL. */
int ers_scan_prune(struct ers_ctx *ctx, const struct ers_actor *actor, long long *deleted_r,
		   struct ers_error *err);

#endif
