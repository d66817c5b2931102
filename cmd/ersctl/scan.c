/* ersctl scan ...: the outbound scanner (clamd): its status, self-tests,
 * the scan records and their counts, retention. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "cli.h"

static json_t *selftest_json(const struct ers_scan_selftest *t)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:I}", "id", (json_int_t)t->id, "at", t->at, "actor", t->actor,
			 "test", t->kind, "result", t->result, "passed", t->passed, "signature", t->signature, "detail",
			 t->detail, "scanner", t->scanner, "duration_ms", (json_int_t)t->duration_ms);
}

int cmd_scan_status(struct cli *c)
{
	struct ers_scan_status st;
	if (ers_scan_status(c->ctx, &c->actor, &st, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:b,s:s,s:b,s:i,s:i,s:i,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "enabled", st.enabled,
				      "target", st.target, "fail_closed", st.fail_closed, "timeout", st.timeout,
				      "max_size_mb", st.max_size_mb, "retention_days", st.retention_days, "healthy",
				      st.healthy, "version", st.version, "engine", st.engine, "database_version",
				      st.db_version, "database_date", st.db_date, "checked_at", st.checked_at, "detail",
				      st.detail, "previous_check_at", st.prev_checked_at, "previous_check_healthy",
				      st.prev_healthy));
	} else {
		printf("scanning:      %s\n", st.enabled ? "enabled" : "disabled (mail is sent unscanned)");
		printf("target:        %s\n", st.target);
		printf("fail-closed:   %s\n", st.fail_closed ? "yes (no verdict, no send)" : "no (sent and recorded unavailable)");
		printf("timeout:       %d s\nsize limit:    %d MB\nretention:     %d days\n", st.timeout, st.max_size_mb,
		       st.retention_days);
		printf("health check:  %s at %s%s%s\n", st.healthy ? "healthy" : "UNHEALTHY", st.checked_at,
		       st.healthy ? "" : ": ", st.detail);
		if (st.healthy)
			printf("version:       %s\ndatabase:      %s%s%s\n", st.engine, st.db_version[0] ? st.db_version : "local",
			       st.db_date[0] ? ", " : "", st.db_date);
		if (st.prev_checked_at[0])
			printf("previous:      %s at %s\n", st.prev_healthy ? "healthy" : "unhealthy", st.prev_checked_at);
	}
	/* The status is the answer; exit 69 when the scanner does not answer. */
	return st.enabled && !st.healthy ? EX_UNAVAILABLE : 0;
}

static int run_test(struct cli *c, const char *kind)
{
	struct ers_scan_selftest *t;
	if (ers_scan_selftest_run(c->ctx, &c->actor, kind, &t, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, selftest_json(t));
	else
		printf("%s test: %s (%s%s%s, %ld ms)\n", t->kind, t->passed ? "passed" : "FAILED", t->result,
		       t->signature[0] || t->detail[0] ? ": " : "", t->signature[0] ? t->signature : t->detail, t->duration_ms);
	int rc = t->passed ? 0 : EX_UNAVAILABLE; /* recorded; a failed test is exit 69 */
	ers_scan_selftest_free(t);
	return rc;
}

int cmd_scan_test(struct cli *c)
{
	const char *kind = c->args[0];
	if (strcmp(kind, "clean") && strcmp(kind, "eicar")) {
		ers_error_set(&c->err, ERS_E_USAGE, "unknown self-test \"%s\"; possibilities are: clean, eicar", kind);
		return -1;
	}
	return run_test(c, kind);
}

int cmd_scan_tests(struct cli *c)
{
	struct ers_scan_selftest_list *l;
	if (ers_scan_selftest_list(c->ctx, &c->actor, 20, &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++)
			json_array_append_new(arr, selftest_json(&l->items[i]));
		out_json(c, json_pack("{s:o}", "selftests", arr));
	} else {
		static const char *const head[] = { "AT", "TEST", "RESULT", "PASSED", "FINDING", "BY", "MS" };
		struct table tab;
		table_init(&tab, 7, head);
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_scan_selftest *t = &l->items[i];
			char ms[24];
			snprintf(ms, sizeof ms, "%ld", t->duration_ms);
			table_row(&tab, t->at, t->kind, t->result, t->passed ? "yes" : "NO",
				  t->signature[0] ? t->signature : t->detail, t->actor, ms);
		}
		table_print(&tab);
	}
	ers_scan_selftest_list_free(l);
	return 0;
}

static int filter_from(struct cli *c, struct ers_scan_filter *f)
{
	memset(f, 0, sizeof *f);
	f->tenant = cli_opt(c, "tenant");
	f->since = cli_opt(c, "since");
	f->issues_only = cli_flag(c, "issues");
	f->attachments_only = cli_flag(c, "attachments");
	const char *lim = cli_opt(c, "limit");
	if (lim) {
		char *end;
		long n = strtol(lim, &end, 10);
		if (*end || n < 1 || n > 10000) {
			ers_error_set(&c->err, ERS_E_USAGE, "--limit must be 1..10000, got \"%s\"", lim);
			return -1;
		}
		f->limit = (size_t)n;
	}
	return 0;
}

int cmd_scan_list(struct cli *c)
{
	struct ers_scan_filter f;
	struct ers_scan_list *l;
	if (filter_from(c, &f) < 0 || ers_scan_list(c->ctx, &c->actor, &f, &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_scan_record *s = &l->items[i];
			json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:b}",
				"id", (json_int_t)s->id, "at", s->at, "sender", s->sender, "domain", s->domain, "tenant", s->tenant,
				"message_id", s->message_id, "item", s->item, "item_kind", s->item_kind, "item_type", s->item_type,
				"item_size", (json_int_t)s->item_size, "result", s->result, "signature", s->signature, "detail",
				s->detail, "scanner", s->scanner, "duration_ms", (json_int_t)s->duration_ms, "blocked", s->blocked));
		}
		out_json(c, json_pack("{s:o}", "scans", arr));
	} else {
		static const char *const head[] = { "AT", "SENDER", "ITEM", "SIZE", "RESULT", "FINDING", "SEND" };
		struct table tab;
		table_init(&tab, 7, head);
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_scan_record *s = &l->items[i];
			char size[24];
			snprintf(size, sizeof size, "%lld", s->item_size);
			table_row(&tab, s->at, s->sender, s->item, size, s->result, s->signature[0] ? s->signature : s->detail,
				  s->blocked ? "blocked" : "passed");
		}
		table_print(&tab);
	}
	ers_scan_list_free(l);
	return 0;
}

int cmd_scan_stats(struct cli *c)
{
	struct ers_scan_filter f;
	struct ers_scan_counts *n;
	bool per_user = cli_flag(c, "per-user");
	if (filter_from(c, &f) < 0 || ers_scan_stats(c->ctx, &c->actor, &f, per_user, &n, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n->count; i++) {
			const struct ers_scan_count *k = &n->items[i];
			json_t *o = json_pack("{s:s,s:I,s:I,s:I}", "domain", k->domain, "clean", (json_int_t)k->clean,
					      "infected", (json_int_t)k->infected, "unavailable", (json_int_t)k->unavailable);
			if (k->sender)
				json_object_set_new(o, "sender", json_string(k->sender));
			json_array_append_new(arr, o);
		}
		out_json(c, json_pack("{s:o}", "counts", arr));
	} else {
		static const char *const head[] = { "DOMAIN", "SENDER", "CLEAN", "INFECTED", "UNAVAILABLE" };
		struct table tab;
		table_init(&tab, 5, head);
		for (size_t i = 0; i < n->count; i++) {
			const struct ers_scan_count *k = &n->items[i];
			char a[24], b[24], d[24];
			snprintf(a, sizeof a, "%lld", k->clean);
			snprintf(b, sizeof b, "%lld", k->infected);
			snprintf(d, sizeof d, "%lld", k->unavailable);
			table_row(&tab, k->domain, k->sender ? k->sender : "(all)", a, b, d);
		}
		table_print(&tab);
	}
	ers_scan_counts_free(n);
	return 0;
}

int cmd_scan_prune(struct cli *c)
{
	long long n = 0;
	if (ers_scan_prune(c->ctx, &c->actor, &n, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:I}", "deleted", (json_int_t)n));
	else
		out_note(c, "deleted %lld scan records older than scan.retention_days", n);
	return 0;
}
