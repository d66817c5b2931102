/* ersctl dns ...: the records a tenant domain must publish, and a check of
 * what DNS really answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "cli.h"

static json_t *plan_json(const struct ers_dns_plan *p)
{
	json_t *records = json_array();
	for (size_t i = 0; i < p->count; i++) {
		const struct ers_dns_record *r = &p->records[i];
		json_array_append_new(records, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "topic", r->topic, "type", r->type,
							  "name", r->name, "value", r->value,
							  "publisher", ers_dns_publisher_name(r->publisher),
							  "need", ers_dns_need_name(r->need), "purpose", r->purpose));
	}
	json_t *notes = json_array();
	for (size_t i = 0; i < p->nnotes; i++)
		json_array_append_new(notes, json_string(p->notes[i]));
	json_t *stale = json_array();
	for (size_t i = 0; i < p->nstale; i++)
		json_array_append_new(stale, json_string(p->stale_selectors[i]));
	return json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:{s:s,s:s,s:s},s:o,s:o,s:o}", "domain", p->domain,
			 "tenant", p->tenant, "mx_host", p->mx_host, "mx_in_domain", p->mx_in_domain, "new", p->is_new,
			 "dmarc_policy", p->dmarc_policy, "created_at", p->created_at, "mta_sts", "mode", p->mta_sts_mode,
			 "id", p->mta_sts_id, "policy", p->mta_sts_policy, "records", records,
			 "stale_dkim_selectors", stale, "notes", notes);
}

/* Long values (DKIM keys) shortened for a table; --json has them whole. */
static const char *cell(const char *s, size_t width, char *buf, size_t size)
{
	if (!s)
		return "-";
	size_t n = strlen(s);
	if (n < width)
		return s;
	snprintf(buf, size, "%.*s...%s", (int)(width - 20), s, s + n - 16);
	return buf;
}

int cmd_dns_plan(struct cli *c)
{
	const char *format = cli_opt(c, "format");
	if (!format)
		format = c->json ? "json" : "table";
	struct ers_dns_plan *p;
	if (ers_dns_plan(c->ctx, &c->actor, c->args[0], &p, &c->err) < 0)
		return -1;
	if (!strcmp(format, "json")) {
		out_json(c, plan_json(p));
	} else if (!strcmp(format, "zone")) {
		struct ers_buf zone = ERS_BUF_INIT;
		ers_dns_plan_zone(p, &zone);
		fputs(zone.data, stdout);
		ers_buf_free(&zone);
	} else {
		printf("DNS plan of %s (tenant \"%s\")\n\n", p->domain, p->tenant);
		static const char *const head[] = { "RECORD", "TYPE", "NAME", "VALUE", "PUBLISHED BY", "NEED" };
		bool shortened = false;
		struct table tab;
		table_init(&tab, 6, head);
		for (size_t i = 0; i < p->count; i++) {
			const struct ers_dns_record *r = &p->records[i];
			char v[120];
			shortened |= strlen(r->value) >= 100;
			table_row(&tab, r->topic, r->type, r->name, cell(r->value, 100, v, sizeof v),
				  ers_dns_publisher_name(r->publisher), ers_dns_need_name(r->need));
		}
		table_print(&tab);
		if (p->nnotes || shortened)
			fputc('\n', stdout);
		if (shortened)
			printf("note: long values are shortened here; --format zone and --json give them whole\n");
		for (size_t i = 0; i < p->nnotes; i++)
			printf("note: %s\n", p->notes[i]);
	}
	ers_dns_plan_free(p);
	return 0;
}

static json_t *check_json(const struct ers_dns_check *ck)
{
	json_t *items = json_array();
	for (size_t i = 0; i < ck->count; i++) {
		const struct ers_dns_finding *f = &ck->items[i];
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:b}", "status",
						       ers_dns_status_name(f->status), "topic", f->topic, "type", f->type,
						       "name", f->name, "expected", json_str_or_null(f->expected),
						       "found", json_str_or_null(f->found), "detail", f->detail,
						       "publisher", ers_dns_publisher_name(f->publisher),
						       "need", ers_dns_need_name(f->need), "blocking", f->blocking));
	}
	return json_pack("{s:s,s:b,s:{s:I,s:I,s:I,s:I,s:I},s:f,s:o}", "domain", ck->domain, "ready", ck->ready,
			 "counts", "ok", (json_int_t)ck->n_ok, "missing", (json_int_t)ck->n_missing, "wrong",
			 (json_int_t)ck->n_wrong, "harmful", (json_int_t)ck->n_harmful, "error", (json_int_t)ck->n_error,
			 "seconds", ck->seconds, "findings", items);
}

static void print_check(const struct ers_dns_check *ck)
{
	printf("%s: %s", ck->domain, ck->ready ? "ready" : "NOT READY");
	printf(" (%zu ok, %zu missing, %zu wrong, %zu harmful, %zu failed lookups)\n", ck->n_ok, ck->n_missing,
	       ck->n_wrong, ck->n_harmful, ck->n_error);
	static const char *const head[] = { "RESULT", "RECORD", "TYPE", "NAME", "EXPECTED", "FOUND", "DETAIL" };
	struct table tab;
	table_init(&tab, 7, head);
	for (size_t i = 0; i < ck->count; i++) {
		const struct ers_dns_finding *f = &ck->items[i];
		char status[24], e[80], fo[80];
		snprintf(status, sizeof status, "%s%s", f->status == ERS_DNS_OK ? "ok" : ers_dns_status_name(f->status),
			 f->status != ERS_DNS_OK && f->blocking ? "" : f->status == ERS_DNS_OK ? "" : " (not blocking)");
		if (f->status != ERS_DNS_OK && f->blocking)
			for (char *s = status; *s; s++)
				*s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
		table_row(&tab, status, f->topic, f->type, f->name, cell(f->expected, 64, e, sizeof e),
			  cell(f->found, 64, fo, sizeof fo), f->detail);
	}
	table_print(&tab);
}

/* Not ready is the command's answer, not an error of it: the report is
 * printed whole (one JSON document under --json), then exit 69, as
 * `mailstack check` does when something fails. */
static int not_ready(struct cli *c, bool all, size_t n, size_t of)
{
	if (!c->json && !c->quiet) {
		if (!all)
			fprintf(stderr, "ersctl: dns check: the domain is not ready: see the lines in capitals\n");
		else
			fprintf(stderr, "ersctl: dns check: %zu of %zu domains are not ready\n", n, of);
	}
	return EX_UNAVAILABLE;
}

int cmd_dns_check(struct cli *c)
{
	bool all = cli_flag(c, "all");
	if (all == (c->nargs == 1)) {
		ers_error_set(&c->err, ERS_E_USAGE, "give one DOMAIN or --all%s (see: ersctl help dns check)",
			      all ? ", not both" : "");
		return -1;
	}
	if (!all) {
		struct ers_dns_check *ck;
		if (ers_dns_check(c->ctx, &c->actor, c->args[0], &ck, &c->err) < 0)
			return -1;
		if (c->json)
			out_json(c, check_json(ck));
		else
			print_check(ck);
		bool ready = ck->ready;
		ers_dns_check_free(ck);
		return ready ? 0 : not_ready(c, false, 1, 1);
	}
	struct ers_dns_check_list *list;
	if (ers_dns_check_all(c->ctx, &c->actor, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *domains = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(domains, check_json(list->items[i]));
		out_json(c, json_pack("{s:I,s:I,s:I,s:f,s:i,s:o}", "domains_checked", (json_int_t)list->count, "ready",
				      (json_int_t)list->ready, "not_ready", (json_int_t)(list->count - list->ready),
				      "seconds", list->seconds, "concurrency", c->cfg->dns.concurrency, "domains", domains));
	} else {
		for (size_t i = 0; i < list->count; i++) {
			print_check(list->items[i]);
			fputc('\n', stdout);
		}
		printf("%zu domain(s) checked in %.2f s: %zu ready, %zu not ready\n", list->count, list->seconds,
		       list->ready, list->count - list->ready);
	}
	size_t bad = list->count - list->ready, count = list->count;
	ers_dns_check_list_free(list);
	return bad ? not_ready(c, true, bad, count) : 0;
}
