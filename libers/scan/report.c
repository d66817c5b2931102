/* The Security tab's data (manual 000 "Admin Reporting", "Self-Tests"):
 * the scanner's runtime card and its health check, the self-tests, the
 * scan records and their counts per domain and per sender, retention. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scan/internal.h"

size_t ers_scan_eicar(char *dst, size_t cap)
{
	/* In parts, so that no file of ours is itself detected as EICAR. */
	static const char *const parts[] = { "X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-",
					     "FILE!$H+H*" };
	size_t n = 0;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t k = strlen(parts[i]);
		if (n + k >= cap)
			ERS_BUG("EICAR buffer too small");
		memcpy(dst + n, parts[i], k);
		n += k;
	}
	dst[n] = '\0';
	return n;
}

/* Status and the self-test table: what a tenant admin may see of the
 * scanner (no tenant's data). */
static int may_view_scanner(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_error *err)
{
	struct ers_authz_target own = { .tenant_id = actor->tenant_id };
	return ers_authz_require(ctx, actor, ERS_ACT_SCAN_VIEW, &own, "scanner status", err);
}

/* "ClamAV 1.4.6/27000/Thu Dec  3 09:00:00 2026" into its three fields. */
static void split_version(struct ers_scan_status *st)
{
	char tmp[200];
	snprintf(tmp, sizeof tmp, "%s", st->version);
	char *s1 = strchr(tmp, '/');
	if (s1)
		*s1++ = '\0';
	snprintf(st->engine, sizeof st->engine, "%.63s", tmp);
	if (!s1)
		return;
	char *s2 = strchr(s1, '/');
	if (s2)
		*s2++ = '\0';
	snprintf(st->db_version, sizeof st->db_version, "%.31s", s1);
	if (s2)
		snprintf(st->db_date, sizeof st->db_date, "%.63s", s2);
}

int ers_scan_status(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_scan_status *st,
		    struct ers_error *err)
{
	memset(st, 0, sizeof *st);
	if (may_view_scanner(ctx, actor, err) < 0)
		return -1;
	const struct ers_config *cfg = ctx->cfg;
	st->enabled = cfg->scan.enabled;
	snprintf(st->target, sizeof st->target, "%s", cfg->scan.target);
	st->fail_closed = cfg->scan.fail_closed;
	st->timeout = cfg->scan.timeout;
	st->max_size_mb = cfg->scan.max_size_mb;
	st->retention_days = cfg->scan.retention_days;
	PGresult *res = ers_db_exec(ctx, "SELECT " ERS_SQL_TIME("checked_at") ", ok FROM ers.scan_health WHERE id = 1",
				    0, NULL, err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		snprintf(st->prev_checked_at, sizeof st->prev_checked_at, "%s", ers_db_str(res, 0, 0));
		st->prev_healthy = !strcmp(ers_db_str(res, 0, 1), "t");
	}
	PQclear(res);
	/* The check itself; clamd is asked also when scanning is off (an
	 * operator turning it on wants to know). */
	struct ers_error cerr;
	st->healthy = ers_clamd_check(cfg->scan.target, cfg->scan.timeout < 5 ? cfg->scan.timeout : 5, st->version,
				      sizeof st->version, &cerr) == 0;
	if (st->healthy)
		split_version(st);
	else
		snprintf(st->detail, sizeof st->detail, "%.299s", cerr.message);
	const char *params[] = { st->healthy ? "t" : "f", st->version, st->detail };
	res = ers_db_exec(ctx,
		"INSERT INTO ers.scan_health (id, checked_at, ok, version, detail) VALUES (1, now(), $1::boolean, $2, $3)"
		" ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at, ok = EXCLUDED.ok,"
		" version = EXCLUDED.version, detail = EXCLUDED.detail RETURNING " ERS_SQL_TIME("checked_at"),
		3, params, err);
	if (!res)
		return -1;
	snprintf(st->checked_at, sizeof st->checked_at, "%s", ers_db_str(res, 0, 0));
	PQclear(res);
	return 0;
}

static void selftest_fill(struct ers_scan_selftest *t, const PGresult *res, int i)
{
	t->id = ers_db_ll(res, i, 0);
	snprintf(t->at, sizeof t->at, "%s", ers_db_str(res, i, 1));
	t->actor = ers_xstrdup(ers_db_str(res, i, 2));
	snprintf(t->kind, sizeof t->kind, "%s", ers_db_str(res, i, 3));
	snprintf(t->result, sizeof t->result, "%s", ers_db_str(res, i, 4));
	t->passed = !strcmp(ers_db_str(res, i, 5), "t");
	t->signature = ers_xstrdup(ers_db_str(res, i, 6));
	t->detail = ers_xstrdup(ers_db_str(res, i, 7));
	t->scanner = ers_xstrdup(ers_db_str(res, i, 8));
	t->duration_ms = (long)ers_db_ll(res, i, 9);
}

#define SELFTEST_COLS "id, " ERS_SQL_TIME("at") ", actor, kind, result, passed, signature, detail, scanner, duration_ms"

int ers_scan_selftest_run(struct ers_ctx *ctx, const struct ers_actor *actor, const char *kind,
			  struct ers_scan_selftest **r, struct ers_error *err)
{
	*r = NULL;
	bool eicar = kind && !strcmp(kind, "eicar");
	if (!kind || (!eicar && strcmp(kind, "clean"))) {
		ers_error_set(err, ERS_E_INVALID, "self-test must be clean or eicar, got \"%.40s\"", kind ? kind : "");
		return -1;
	}
	if (ers_authz_require(ctx, actor, ERS_ACT_SCAN_SELFTEST, NULL, "scanner self-test", err) < 0)
		return -1;
	const struct ers_config *cfg = ctx->cfg;
	char payload[128];
	size_t len = eicar ? ers_scan_eicar(payload, sizeof payload)
			   : (size_t)snprintf(payload, sizeof payload, "ERS scanner self-test: a harmless payload.\n");
	struct ers_clamd_verdict v;
	ers_clamd_scan(cfg->scan.target, cfg->scan.timeout, (size_t)cfg->scan.max_size_mb * 1024 * 1024, payload, len, &v);
	bool passed = eicar ? v.result == ERS_SCAN_INFECTED : v.result == ERS_SCAN_CLEAN;
	char scanner[300];
	snprintf(scanner, sizeof scanner, "clamd %s", cfg->scan.target);
	struct ers_num ms = ers_num(v.duration_ms);
	const char *params[] = { actor->name, eicar ? "eicar" : "clean", ers_scan_result_name(v.result),
				 passed ? "t" : "f", v.signature, v.detail, scanner, ms.s };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx,
		"INSERT INTO ers.scan_selftest (actor, kind, result, passed, signature, detail, scanner, duration_ms)"
		" VALUES ($1, $2, $3, $4::boolean, $5, $6, $7, $8::int) RETURNING " SELFTEST_COLS, 8, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	struct ers_scan_selftest *t = ers_xcalloc(1, sizeof *t);
	selftest_fill(t, res, 0);
	PQclear(res);
	char detail[400];
	snprintf(detail, sizeof detail, "%s: %s%s%s", passed ? "passed" : "FAILED", t->result,
		 v.signature[0] ? " " : "", v.signature[0] ? v.signature : v.detail);
	if (ers_db_commit_audited(ctx, actor, "scan.selftest", eicar ? "eicar" : "clean", 0, NULL, detail, err) < 0) {
		ers_scan_selftest_free(t);
		return -1;
	}
	*r = t;
	return 0;
}

int ers_scan_selftest_list(struct ers_ctx *ctx, const struct ers_actor *actor, size_t limit,
			   struct ers_scan_selftest_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	if (may_view_scanner(ctx, actor, err) < 0)
		return -1;
	struct ers_num lim = ers_num(limit ? (long long)limit : 20);
	const char *params[] = { lim.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " SELFTEST_COLS " FROM ers.scan_selftest ORDER BY at DESC, id DESC LIMIT $1::int",
				    1, params, err);
	if (!res)
		return -1;
	struct ers_scan_selftest_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count + 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++)
		selftest_fill(&l->items[i], res, (int)i);
	PQclear(res);
	*list_r = l;
	return 0;
}

static void selftest_clear(struct ers_scan_selftest *t)
{
	free(t->actor);
	free(t->signature);
	free(t->detail);
	free(t->scanner);
}

void ers_scan_selftest_free(struct ers_scan_selftest *t)
{
	if (!t)
		return;
	selftest_clear(t);
	free(t);
}

void ers_scan_selftest_list_free(struct ers_scan_selftest_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		selftest_clear(&l->items[i]);
	free(l->items);
	free(l);
}

/* The actor's scope over scan records, and the filter's time bound as a
 * timestamp (a span ago -- 30m, 12h, 7d, 2w -- made one). */
static int scope(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_scan_filter *f,
		 struct ers_list_scope *sc, char since[64], struct ers_error *err)
{
	since[0] = '\0';
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_SCAN_VIEW, f ? f->tenant : NULL, "scan records", sc, err) < 0)
		return -1;
	if (!f || !f->since || !*f->since)
		return 0;
	const char *s = f->since;
	size_t digits = strspn(s, "0123456789");
	char interval[48] = "";
	if (digits && digits < 8 && s[digits] && strchr("mhdw", s[digits]) && s[digits + 1] == '\0')
		snprintf(interval, sizeof interval, "%.*s %s", (int)digits, s,
			 s[digits] == 'm' ? "minutes" : s[digits] == 'h' ? "hours" : s[digits] == 'd' ? "days" : "weeks");
	const char *params[] = { interval[0] ? interval : s };
	struct ers_error ignored;
	PGresult *res = ers_db_exec(ctx, interval[0]
		? "SELECT " ERS_SQL_TIME("now() - $1::interval")
		: "SELECT " ERS_SQL_TIME("$1::timestamptz"), 1, params, &ignored);
	if (!res) {
		ers_error_set(err, ERS_E_INVALID, "--since must be a time like 2026-12-04 or 2026-12-04T10:00Z, or a span ago "
			      "like 30m, 12h, 7d, 2w; got \"%.60s\"", s);
		return -1;
	}
	snprintf(since, 64, "%s", ers_db_str(res, 0, 0));
	PQclear(res);
	return 0;
}

int ers_scan_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_scan_filter *f,
		  struct ers_scan_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	struct ers_list_scope sc;
	char since[64];
	if (scope(ctx, actor, f, &sc, since, err) < 0)
		return -1;
	struct ers_num tid = ers_num(sc.tenant_id), lim = ers_num(f && f->limit ? (long long)f->limit : 100);
	const char *params[] = { sc.tenant_id ? tid.s : NULL, since[0] ? since : NULL,
				 f && f->issues_only ? "t" : "f", f && f->attachments_only ? "t" : "f", lim.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT id, " ERS_SQL_TIME("at") ", sender, domain, tenant_name, message_id, item, item_kind, item_type,"
		" item_size, result, signature, detail, scanner, duration_ms, blocked FROM ers.scan"
		" WHERE ($1::bigint IS NULL OR tenant_id = $1::bigint) AND ($2::timestamptz IS NULL OR at >= $2::timestamptz)"
		" AND (NOT $3::boolean OR result <> 'clean') AND (NOT $4::boolean OR item_kind = 'attachment')"
		" ORDER BY at DESC, id DESC LIMIT $5::int", 5, params, err);
	if (!res)
		return -1;
	struct ers_scan_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count + 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++) {
		struct ers_scan_record *s = &l->items[i];
		int r = (int)i;
		s->id = ers_db_ll(res, r, 0);
		snprintf(s->at, sizeof s->at, "%s", ers_db_str(res, r, 1));
		s->sender = ers_xstrdup(ers_db_str(res, r, 2));
		s->domain = ers_xstrdup(ers_db_str(res, r, 3));
		s->tenant = ers_xstrdup(ers_db_str(res, r, 4));
		s->message_id = ers_xstrdup(ers_db_str(res, r, 5));
		s->item = ers_xstrdup(ers_db_str(res, r, 6));
		s->item_kind = ers_xstrdup(ers_db_str(res, r, 7));
		s->item_type = ers_xstrdup(ers_db_str(res, r, 8));
		s->item_size = ers_db_ll(res, r, 9);
		snprintf(s->result, sizeof s->result, "%s", ers_db_str(res, r, 10));
		s->signature = ers_xstrdup(ers_db_str(res, r, 11));
		s->detail = ers_xstrdup(ers_db_str(res, r, 12));
		s->scanner = ers_xstrdup(ers_db_str(res, r, 13));
		s->duration_ms = (long)ers_db_ll(res, r, 14);
		s->blocked = !strcmp(ers_db_str(res, r, 15), "t");
	}
	PQclear(res);
	*list_r = l;
	return 0;
}

void ers_scan_list_free(struct ers_scan_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		struct ers_scan_record *s = &l->items[i];
		char *strings[] = { s->sender, s->domain, s->tenant, s->message_id, s->item, s->item_kind,
				    s->item_type, s->signature, s->detail, s->scanner };
		for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
			free(strings[k]);
	}
	free(l->items);
	free(l);
}

int ers_scan_stats(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_scan_filter *f,
		   bool per_user, struct ers_scan_counts **r, struct ers_error *err)
{
	*r = NULL;
	struct ers_list_scope sc;
	char since[64];
	if (scope(ctx, actor, f, &sc, since, err) < 0)
		return -1;
	struct ers_num tid = ers_num(sc.tenant_id);
	const char *params[] = { sc.tenant_id ? tid.s : NULL, since[0] ? since : NULL };
	PGresult *res = ers_db_exec(ctx, per_user
		? "SELECT domain, sender, count(*) FILTER (WHERE result = 'clean'), count(*) FILTER (WHERE result = 'infected'),"
		  " count(*) FILTER (WHERE result = 'unavailable') FROM ers.scan"
		  " WHERE ($1::bigint IS NULL OR tenant_id = $1::bigint) AND ($2::timestamptz IS NULL OR at >= $2::timestamptz)"
		  " GROUP BY domain, sender ORDER BY domain, sender LIMIT 1000"
		: "SELECT domain, NULL, count(*) FILTER (WHERE result = 'clean'), count(*) FILTER (WHERE result = 'infected'),"
		  " count(*) FILTER (WHERE result = 'unavailable') FROM ers.scan"
		  " WHERE ($1::bigint IS NULL OR tenant_id = $1::bigint) AND ($2::timestamptz IS NULL OR at >= $2::timestamptz)"
		  " GROUP BY domain ORDER BY domain LIMIT 1000",
		2, params, err);
	if (!res)
		return -1;
	struct ers_scan_counts *c = ers_xcalloc(1, sizeof *c);
	c->count = (size_t)PQntuples(res);
	c->items = ers_xcalloc(c->count + 1, sizeof *c->items);
	for (size_t i = 0; i < c->count; i++) {
		int k = (int)i;
		c->items[i].domain = ers_xstrdup(ers_db_str(res, k, 0));
		c->items[i].sender = per_user ? ers_xstrdup(ers_db_str(res, k, 1)) : NULL;
		c->items[i].clean = ers_db_ll(res, k, 2);
		c->items[i].infected = ers_db_ll(res, k, 3);
		c->items[i].unavailable = ers_db_ll(res, k, 4);
	}
	PQclear(res);
	*r = c;
	return 0;
}

void ers_scan_counts_free(struct ers_scan_counts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++) {
		free(c->items[i].domain);
		free(c->items[i].sender);
	}
	free(c->items);
	free(c);
}

int ers_scan_prune(struct ers_ctx *ctx, const struct ers_actor *actor, long long *deleted_r,
		   struct ers_error *err)
{
	if (ers_authz_require(ctx, actor, ERS_ACT_SCAN_SELFTEST, NULL, "scan records", err) < 0)
		return -1;
	struct ers_num days = ers_num(ctx->cfg->scan.retention_days);
	const char *params[] = { days.s };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx,
		"WITH a AS (DELETE FROM ers.scan WHERE at < now() - make_interval(days => $1::int) RETURNING 1),"
		" b AS (DELETE FROM ers.scan_selftest WHERE at < now() - make_interval(days => $1::int) RETURNING 1)"
		" SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)", 1, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	long long n = ers_db_ll(res, 0, 0);
	PQclear(res);
	char detail[100];
	snprintf(detail, sizeof detail, "%lld records older than %d days", n, ctx->cfg->scan.retention_days);
	if (ers_db_commit_audited(ctx, actor, "scan.prune", "scan records", 0, NULL, detail, err) < 0)
		return -1;
	if (deleted_r)
		*deleted_r = n;
	return 0;
}
