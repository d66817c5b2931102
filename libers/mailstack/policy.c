/* The decisions of the Postfix policy service: who may send, who may write
 * to an internal-only address (manual 004 "Internal"), and the hourly send
 * limits (manual 002 "Email Rate Limiting", manual 003 "Number of mails sent
 * per hour"), counted per recipient and per clock hour in ers.send_count.
 *
 * Counting is one transaction per message: the mailbox's counter, then its
 * domain's, then its tenant's -- always in that order, so that concurrent
 * messages cannot deadlock -- each checked and incremented by one statement
 * that only updates while the new count stays within the limit.  When any
 * level is full the transaction is rolled back: a refused message counts
 * nowhere.
 *
 * Both statements are prepared once per connection: planning the lookup
 * costs several times more than running it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailstack/internal.h"

#define DEFER "DEFER_IF_PERMIT 4.3.0 the send policy service cannot decide now; try again later"

struct request {
	const char *request;
	const char *state;         /* protocol_state: RCPT, DATA, BDAT, ... */
	const char *sasl_username; /* "" when not authenticated */
	const char *recipient;
	const char *recipient_count;
	const char *sender;         /* "" for a bounce */
	const char *client_address;
};

static const char *attr(const struct ers_policy_attr *attrs, size_t n, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < n; i++)
		if (attrs[i].name && !strcmp(attrs[i].name, name))
			v = attrs[i].value ? attrs[i].value : "";
	return v;
}

/* An address as the database holds it: lower case; for a recipient, without
 * an address extension ("anna+news@"), which ERS addresses never have --
 * so that an extension cannot slip past an internal-only address. */
static void normalize(const char *in, bool strip_extension, struct ers_buf *out)
{
	ers_buf_reset(out);
	const char *at = strrchr(in, '@');
	const char *plus = strip_extension ? strchr(in, '+') : NULL;
	for (const char *p = in; *p; p++) {
		if (plus && at && p == plus && plus < at)
			p = at;
		ers_buf_addch(out, (char)tolower((unsigned char)*p));
	}
}

static int commit(struct ers_ctx *ctx, struct ers_error *err)
{
	if (ers_db_run(ctx, "COMMIT", 0, NULL, err) < 0) {
		ers_db_rollback(ctx);
		return -1;
	}
	ctx->in_tx = false;
	return 0;
}

static const char *const scope_names[ERS_LIMIT_KEYS] = { "mailbox", "domain", "tenant" };

/* Counts `n` emails against the three scopes' limits (-1: unlimited) in one
 * transaction.  Returns the key whose limit is full (nothing counted), -1
 * when all three took them, or -2 on a database error. */
static int count_sends(struct ers_ctx *ctx, const long long ids[ERS_LIMIT_KEYS],
		       const struct ers_limit_value v[ERS_LIMIT_KEYS], long long n, struct ers_error *err)
{
	if (ers_db_begin(ctx, err) < 0)
		return -2;
	/* No wait for the WAL flush: a crash may forget the last moment's
	 * counts, which only lets a few more messages through. */
	if (ers_db_run(ctx, "SET LOCAL synchronous_commit TO off", 0, NULL, err) < 0) {
		ers_db_rollback(ctx);
		return -2;
	}
	struct ers_num count = ers_num(n);
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		struct ers_num id = ers_num(ids[k]), limit = ers_num(v[k].effective);
		const char *params[] = { scope_names[k], id.s, count.s, v[k].effective >= 0 ? limit.s : NULL };
		PGresult *res = ers_db_exec_prepared(ctx, "ers_policy_count",
			"INSERT INTO ers.send_count AS c (hour, scope, scope_id, count)"
			" VALUES (" ERS_SQL_SEND_HOUR ", $1, $2::bigint, $3::bigint)"
			" ON CONFLICT (hour, scope, scope_id) DO UPDATE SET count = c.count + EXCLUDED.count"
			" WHERE $4::bigint IS NULL OR c.count + EXCLUDED.count <= $4::bigint"
			" RETURNING c.count", 4, params, err);
		if (!res) {
			ers_db_rollback(ctx);
			return -2;
		}
		bool took = PQntuples(res) == 1;
		PQclear(res);
		if (!took) {
			ers_db_rollback(ctx);
			return k;
		}
	}
	return commit(ctx, err) < 0 ? -2 : -1;
}

static const char *const scope_words[ERS_LIMIT_KEYS] = { "per mailbox", "per domain", "per tenant" };

/* The DATA (or BDAT) stage of an authenticated mailbox: its limits. */
static int decide_data(struct ers_ctx *ctx, const struct request *rq, const PGresult *res,
		       struct ers_buf *action, struct ers_error *err)
{
	long long n;
	if (ers_int_parse(rq->recipient_count, "recipient_count", 0, 1000000000, &n, err) < 0)
		return -1;
	if (n == 0) {
		ers_buf_adds(action, "DUNNO");
		return 0;
	}
	struct ers_limit_value v[ERS_LIMIT_KEYS];
	ers_limits_resolve(res, 0, 4, ERS_LEVEL_MAILBOX, v);
	long long per_mailbox = v[ERS_LIMIT_PER_MAILBOX].effective;
	if (per_mailbox == 0 || per_mailbox == 1) { /* manual 003: 0 or 1, no sending */
		ers_buf_adds(action, "REJECT 5.7.1 sending is disabled for this mailbox");
		return 0;
	}
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		/* More than a whole hour allows: no retry can ever succeed. */
		if (v[k].effective >= 0 && n > v[k].effective) {
			ers_buf_addf(action, "REJECT 5.7.1 this message has %lld recipients, more than the send limit %s of %lld per hour allows",
				     n, scope_words[k], v[k].effective);
			return 0;
		}
	}
	const long long ids[ERS_LIMIT_KEYS] = { ers_db_ll(res, 0, 0), ers_db_ll(res, 0, 2), ers_db_ll(res, 0, 3) };
	int full = count_sends(ctx, ids, v, n, err);
	if (full == -2)
		return -1;
	if (full >= 0)
		ers_buf_addf(action, "450 4.7.1 send limit %s reached (%lld per hour); try again later",
			     scope_words[full], v[full].effective);
	else
		ers_buf_adds(action, "DUNNO");
	return 0;
}

/* The network a client retries from: an IPv4 /24 or an IPv6 /64, so that
 * a sender's pool of servers passes once.  Anything else (Postfix sends
 * "unknown" for no address) is kept as it is. */
static void client_net(const char *addr, struct ers_buf *out)
{
	const char *p = addr ? addr : "";
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET, p, a) == 1) {
		a[3] = 0;
		ers_buf_addf(out, "%s/24", inet_ntop(AF_INET, a, text, sizeof text));
	} else if (inet_pton(AF_INET6, p, a) == 1) {
		memset(a + 8, 0, 8);
		ers_buf_addf(out, "%s/64", inet_ntop(AF_INET6, a, text, sizeof text));
	} else {
		ers_buf_adds(out, p);
	}
}

/* Greylisting (manual 003) for mail that arrives unauthenticated: on where
 * the recipient's domain has it on and its mailbox has not turned it off,
 * unless the sender or its domain is allowed there.  A triplet seen for
 * the first time (or not retried within a day) is deferred; a retry after
 * mailstack.greylist_delay passes, and passes at once for 36 days after
 * (ers_policy_purge forgets it then).  -1 on a database error; else 0,
 * with `action` set only when the mail is deferred. */
static int greylist(struct ers_ctx *ctx, const struct request *rq, const char *recipient, struct ers_buf *action,
		    struct ers_error *err)
{
	struct ers_buf sender = ERS_BUF_INIT, net = ERS_BUF_INIT;
	normalize(rq->sender ? rq->sender : "", false, &sender);
	const char *at = strrchr(sender.data ? sender.data : "", '@');
	const char *domain = strrchr(recipient, '@');
	const char *params[] = { recipient, domain ? domain + 1 : "", sender.len ? sender.data : "", at ? at + 1 : "" };
	PGresult *res = ers_db_exec_prepared(ctx, "ers_greylist_on",
		"SELECT coalesce(ds.greylisting, false) AND coalesce(ms.greylisting, true)"
		"   AND NOT EXISTS (SELECT 1 FROM ers.spam_allow a WHERE (a.domain_id = d.id OR a.mailbox_id = m.id)"
		"                   AND a.entry IN ($3, $4))"
		" FROM ers.domain d LEFT JOIN ers.mailbox m ON m.address = $1"
		" LEFT JOIN ers.spam_setting ds ON ds.domain_id = d.id LEFT JOIN ers.spam_setting ms ON ms.mailbox_id = m.id"
		" WHERE d.name = $2", 4, params, err);
	int rc = res ? 0 : -1;
	bool on = res && PQntuples(res) == 1 && ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	if (on) {
		client_net(rq->client_address, &net);
		struct ers_num delay = ers_num(ctx->cfg->mailstack.greylist_delay);
		const char *gp[] = { net.data, sender.len ? sender.data : "<>", recipient, delay.s };
		res = ers_db_exec_prepared(ctx, "ers_greylist_seen",
			"INSERT INTO ers.greylist AS g (client_net, sender, recipient) VALUES ($1, $2, $3)"
			" ON CONFLICT (client_net, sender, recipient) DO UPDATE SET last_seen = now(),"
			"  first_seen = CASE WHEN g.passed_at IS NULL AND g.first_seen < now() - interval '1 day'"
			"               THEN now() ELSE g.first_seen END,"
			"  passed_at = CASE WHEN g.passed_at IS NULL AND g.first_seen >= now() - interval '1 day'"
			"               AND g.first_seen <= now() - make_interval(secs => $4::int) THEN now() ELSE g.passed_at END"
			" RETURNING passed_at IS NOT NULL,"
			"  greatest(1, ceil($4::int - extract(epoch FROM now() - first_seen)))::int",
			4, gp, err);
		if (!res)
			rc = -1;
		else if (ers_db_str(res, 0, 0)[0] != 't')
			ers_buf_addf(action, "DEFER_IF_PERMIT 4.7.1 greylisted: please try again in %s seconds",
				     ers_db_str(res, 0, 1));
		PQclear(res);
	}
	ers_buf_free(&sender);
	ers_buf_free(&net);
	return rc;
}

static int decide(struct ers_ctx *ctx, const struct request *rq, struct ers_buf *action, struct ers_error *err)
{
	struct ers_buf sender = ERS_BUF_INIT, recipient = ERS_BUF_INIT;
	bool authenticated = rq->sasl_username && *rq->sasl_username;
	bool rcpt = rq->state && !strcmp(rq->state, "RCPT");
	bool data = rq->state && (!strcmp(rq->state, "DATA") || !strcmp(rq->state, "BDAT"));
	if (authenticated)
		normalize(rq->sasl_username, false, &sender);
	if (rcpt && rq->recipient && *rq->recipient)
		normalize(rq->recipient, true, &recipient);
	const char *params[] = { authenticated ? sender.data : NULL, recipient.len ? recipient.data : NULL };
	/* 0-3: the sender's mailbox, status, domain and tenant; 4-12: its
	 * limits; 13: the tenant of an internal-only recipient */
	PGresult *res = ers_db_exec_prepared(ctx, "ers_policy_lookup",
		"SELECT m.id, m.status, c.domain_id, m.tenant_id, " ERS_LIMIT_RAW_COLUMNS ","
		" (SELECT x.tenant_id FROM (SELECT tenant_id FROM ers.mailbox WHERE address = $2 AND internal_only"
		"  UNION ALL SELECT tenant_id FROM ers.alias WHERE address = $2 AND internal_only) x LIMIT 1)"
		" FROM (SELECT 1) one LEFT JOIN ers.mailbox m ON m.address = $1"
		" LEFT JOIN ers.address_claim c ON c.address = m.address LEFT JOIN ers.domain d ON d.id = c.domain_id"
		" LEFT JOIN ers.tenant t ON t.id = m.tenant_id LEFT JOIN ers.send_limit_default s ON true",
		2, params, err);
	int rc = 0;
	if (!res) {
		rc = -1;
		goto out;
	}
	if (authenticated && ers_db_isnull(res, 0, 0))
		ers_buf_adds(action, "REJECT 5.7.1 the authenticated sender is not a mailbox of this server");
	else if (authenticated && strcmp(ers_db_str(res, 0, 1), "active"))
		ers_buf_adds(action, "REJECT 5.7.1 the sending mailbox is disabled");
	else if (rcpt && !ers_db_isnull(res, 0, 13) &&
		 (!authenticated || ers_db_ll(res, 0, 3) != ers_db_ll(res, 0, 13)))
		ers_buf_adds(action, "REJECT 5.7.1 this address accepts mail only from inside its own organisation");
	else if (data && authenticated)
		rc = decide_data(ctx, rq, res, action, err);
	else if (rcpt && !authenticated && recipient.len)
		rc = greylist(ctx, rq, recipient.data, action, err); /* sets `action` only to defer */
	if (rc == 0 && !action->len)
		ers_buf_adds(action, "DUNNO");
	PQclear(res);
out:
	ers_buf_free(&sender);
	ers_buf_free(&recipient);
	return rc;
}

int ers_policy_decide(struct ers_ctx *ctx, const struct ers_policy_attr *attrs, size_t n,
		      struct ers_buf *action_r, struct ers_error *err)
{
	ers_buf_reset(action_r);
	struct request rq = {
		.request = attr(attrs, n, "request"),
		.state = attr(attrs, n, "protocol_state"),
		.sasl_username = attr(attrs, n, "sasl_username"),
		.recipient = attr(attrs, n, "recipient"),
		.recipient_count = attr(attrs, n, "recipient_count"),
		.sender = attr(attrs, n, "sender"),
		.client_address = attr(attrs, n, "client_address"),
	};
	int rc;
	if (!rq.request || strcmp(rq.request, "smtpd_access_policy")) {
		ers_error_set(err, ERS_E_INVALID, "request=%.60s is not a Postfix SMTPD access policy request (request=smtpd_access_policy)",
			      rq.request ? rq.request : "(missing)");
		rc = -1;
	} else if (!ctx) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "no database connection");
		rc = -1;
	} else {
		rc = decide(ctx, &rq, action_r, err);
		if (rc < 0 && ers_db_reconnect(ctx)) { /* once, on a fresh connection */
			ers_buf_reset(action_r);
			rc = decide(ctx, &rq, action_r, err);
		}
	}
	if (rc < 0) {
		ers_buf_reset(action_r);
		ers_buf_adds(action_r, DEFER);
	}
	return rc;
}

long long ers_policy_purge(struct ers_ctx *ctx, struct ers_error *err)
{
	/* Greylisting triplets: passed ones unused for 36 days, others a day old. */
	static const char forget[] = "DELETE FROM ers.greylist WHERE last_seen < now() - interval '36 days'"
				     " OR (passed_at IS NULL AND first_seen < now() - interval '1 day')";
	PGresult *g = ers_db_exec(ctx, forget, 0, NULL, err);
	PQclear(g);
	PGresult *res = ers_db_exec(ctx, "DELETE FROM ers.send_count WHERE hour < " ERS_SQL_SEND_HOUR, 0, NULL, err);
	if (!res && ers_db_reconnect(ctx))
		res = ers_db_exec(ctx, "DELETE FROM ers.send_count WHERE hour < " ERS_SQL_SEND_HOUR, 0, NULL, err);
	if (!res)
		return -1;
	long long rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rows;
}
