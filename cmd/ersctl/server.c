/* ersctl server host ...: the approved IMAP/SMTP hosts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static json_t *host_json(const struct ers_host *h)
{
	return json_pack("{s:s,s:s,s:i,s:s,s:I,s:s}", "hostname", h->hostname, "kind",
			 ers_host_kind_name(h->kind), "port", h->port, "tls", ers_tls_mode_name(h->tls),
			 "tenants", (json_int_t)h->tenants_using, "created_at", h->created_at);
}

static void print_hosts(struct cli *c, const struct ers_host_list *list)
{
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, host_json(&list->items[i]));
		out_json(c, arr);
		return;
	}
	static const char *const head[] = { "HOST", "KIND", "PORT", "TLS", "TENANTS", "APPROVED" };
	struct table tab;
	table_init(&tab, 6, head);
	for (size_t i = 0; i < list->count; i++) {
		const struct ers_host *h = &list->items[i];
		char port[8], used[24];
		snprintf(port, sizeof port, "%d", h->port);
		snprintf(used, sizeof used, "%zu", h->tenants_using);
		table_row(&tab, h->hostname, ers_host_kind_name(h->kind), port, ers_tls_mode_name(h->tls), used,
			  h->created_at);
	}
	table_print(&tab);
}

/* --port may repeat and may hold a comma-separated list; an empty item
 * ("993," or "993,,587") is a mistake, not nothing. */
static int ports_from_opts(struct cli *c, int *ports, size_t max, size_t *n)
{
	const char *vals[64]; /* as many as the command line holds options */
	size_t nv = cli_opt_all(c, "port", vals, 64);
	*n = 0;
	for (size_t i = 0; i < nv; i++) {
		for (const char *p = vals[i];; p++) {
			size_t len = strcspn(p, ",");
			if (*n == max) {
				ers_error_set(&c->err, ERS_E_INVALID, "at most %zu ports at once, got more", max);
				return -1;
			}
			char *tok = ers_xstrndup(p, len);
			int rc = ers_port_parse(tok, "--port", &ports[(*n)++], &c->err);
			free(tok);
			if (rc < 0) {
				if (len == 0 && *vals[i])
					ers_error_prefix(&c->err, "--port \"%.40s\" has an empty item", vals[i]);
				return -1;
			}
			p += len;
			if (!*p)
				break;
		}
	}
	return 0;
}

int cmd_host_add(struct cli *c)
{
	enum ers_host_kind kind;
	enum ers_tls_mode tls;
	int ports[16];
	size_t nports;
	const char *tls_s = cli_opt(c, "tls");
	if (ers_host_kind_parse(cli_opt(c, "kind"), &kind, &c->err) < 0 ||
	    (tls_s && ers_tls_mode_parse(tls_s, &tls, &c->err) < 0) ||
	    ports_from_opts(c, ports, 16, &nports) < 0)
		return -1;
	struct ers_host_list *added;
	if (ers_host_add(c->ctx, &c->actor, c->args[0], kind, ports, nports, tls_s ? (int)tls : -1, &added,
			 &c->err) < 0)
		return -1;
	if (!c->quiet || c->json)
		print_hosts(c, added);
	ers_host_list_free(added);
	return 0;
}

int cmd_host_list(struct cli *c)
{
	enum ers_host_kind kind;
	const char *k = cli_opt(c, "kind");
	if (k && ers_host_kind_parse(k, &kind, &c->err) < 0)
		return -1;
	struct ers_host_list *list;
	if (ers_host_list(c->ctx, &c->actor, k ? (int)kind : -1, &list, &c->err) < 0)
		return -1;
	print_hosts(c, list);
	ers_host_list_free(list);
	return 0;
}

int cmd_host_remove(struct cli *c)
{
	enum ers_host_kind kind;
	int port = 0;
	const char *k = cli_opt(c, "kind");
	if ((k && ers_host_kind_parse(k, &kind, &c->err) < 0) ||
	    (cli_opt(c, "port") && ers_port_parse(cli_opt(c, "port"), "--port", &port, &c->err) < 0))
		return -1;
	struct ers_host_list *removed;
	if (ers_host_remove(c->ctx, &c->actor, c->args[0], k ? (int)kind : -1, port, &removed, &c->err) < 0)
		return -1;
	if (c->json) {
		print_hosts(c, removed);
	} else {
		for (size_t i = 0; i < removed->count; i++)
			out_note(c, "removed %s %s:%d", ers_host_kind_name(removed->items[i].kind),
				 removed->items[i].hostname, removed->items[i].port);
	}
	ers_host_list_free(removed);
	return 0;
}
