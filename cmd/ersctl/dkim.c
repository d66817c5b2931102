/* ersctl dkim ...: DKIM signing keys per domain, their staged rotation and
 * the TXT records to publish.  Only public parts are ever printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static json_t *key_json(const struct ers_dkim_key *k)
{
	struct ers_buf split = ERS_BUF_INIT;
	ers_dkim_txt_split(k->txt_value, &split);
	json_t *o = json_object();
	json_object_set_new(o, "domain", json_string(k->domain));
	json_object_set_new(o, "selector", json_string(k->selector));
	json_object_set_new(o, "algorithm", json_string(ers_dkim_algorithm_name(k->algorithm)));
	json_object_set_new(o, "state", json_string(ers_dkim_state_name(k->state)));
	json_object_set_new(o, "txt_name", json_string(k->txt_name));
	json_object_set_new(o, "txt_value", json_string(k->txt_value));
	json_object_set_new(o, "txt_strings", json_string(split.data));
	json_object_set_new(o, "created_at", json_string(k->created_at));
	json_object_set_new(o, "activated_at", json_str_or_null(k->activated_at));
	json_object_set_new(o, "retire_after", json_str_or_null(k->retire_after));
	ers_buf_free(&split);
	return o;
}

static json_t *list_json(const struct ers_dkim_key_list *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < list->count; i++)
		json_array_append_new(arr, key_json(&list->items[i]));
	return arr;
}

/* The record as a zone file line: NAME. IN TXT "..." "..." */
static void print_record(const struct ers_dkim_key *k)
{
	struct ers_buf split = ERS_BUF_INIT;
	ers_dkim_txt_split(k->txt_value, &split);
	printf("%s. IN TXT %s\n", k->txt_name, split.data);
	ers_buf_free(&split);
}

static const char *what_it_does(enum ers_dkim_state s)
{
	switch (s) {
	case ERS_DKIM_ACTIVE: return "signs mail";
	case ERS_DKIM_PUBLISHED: return "publish it; not signing until activated";
	case ERS_DKIM_RETIRING: return "keep it published until the retire time";
	case ERS_DKIM_RETIRED: return "retired: remove it from DNS";
	}
	return "";
}

static void print_keys(const struct ers_dkim_key_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct ers_dkim_key *k = &list->items[i];
		printf("%s%s selector %s: %s, %s (%s)", i ? "\n" : "", k->domain, k->selector,
		       ers_dkim_algorithm_name(k->algorithm), ers_dkim_state_name(k->state), what_it_does(k->state));
		if (k->retire_after[0])
			printf(", retired after %s", k->retire_after);
		putchar('\n');
		print_record(k);
	}
}

int cmd_dkim_enable(struct cli *c)
{
	struct ers_dkim_key *k;
	if (ers_dkim_enable(c->ctx, &c->actor, c->args[0], cli_opt(c, "selector"), cli_opt(c, "algorithm"), &k,
			    &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, key_json(k));
	} else {
		out_note(c, "created DKIM key %s for %s (%s, %s); publish this TXT record in its DNS:", k->selector,
			 k->domain, ers_dkim_algorithm_name(k->algorithm), ers_dkim_state_name(k->state));
		print_record(k);
		if (k->state == ERS_DKIM_ACTIVE)
			out_note(c, "then render OpenDKIM's keys (ersctl mailstack render --opendkim DIR) and reload it");
		else
			out_note(c, "%s already has an active key: this one signs after ersctl dkim rotate %s --activate --selector %s",
				 k->domain, k->domain, k->selector);
	}
	ers_dkim_key_free(k);
	return 0;
}

int cmd_dkim_rotate(struct cli *c)
{
	const char *domain = c->args[0];
	if (!cli_flag(c, "activate")) {
		if (cli_flag(c, "force") || cli_opt(c, "grace")) {
			ers_error_set(&c->err, ERS_E_USAGE, "--force and --grace go with --activate (the second stage of a rotation)");
			return -1;
		}
		struct ers_dkim_key *k;
		if (ers_dkim_rotate(c->ctx, &c->actor, domain, cli_opt(c, "selector"), cli_opt(c, "algorithm"), &k,
				    &c->err) < 0)
			return -1;
		if (c->json) {
			out_json(c, key_json(k));
		} else {
			out_note(c, "created DKIM key %s for %s (%s, published: not signing yet); publish this TXT record in its DNS:",
				 k->selector, k->domain, ers_dkim_algorithm_name(k->algorithm));
			print_record(k);
			out_note(c, "once it answers in DNS: ersctl dkim rotate %s --activate", k->domain);
		}
		ers_dkim_key_free(k);
		return 0;
	}
	if (cli_opt(c, "algorithm")) {
		ers_error_set(&c->err, ERS_E_USAGE, "--algorithm is for making the new key; --activate switches to one already made");
		return -1;
	}
	struct ers_dkim_activate_opts opts = { .selector = cli_opt(c, "selector"), .force = cli_flag(c, "force"),
					       .grace_hours = -1 };
	long long grace;
	if (cli_opt(c, "grace")) {
		if (cli_opt_int(c, "grace", 0, 8760, &grace) < 0)
			return -1;
		opts.grace_hours = (int)grace;
	}
	struct ers_dkim_key_list *keys;
	if (ers_dkim_activate(c->ctx, &c->actor, domain, &opts, &keys, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:b,s:o}", "domain", keys->count ? keys->items[0].domain : domain, "forced",
				      opts.force, "keys", list_json(keys)));
	} else {
		for (size_t i = 0; i < keys->count; i++) {
			const struct ers_dkim_key *k = &keys->items[i];
			if (k->state == ERS_DKIM_ACTIVE)
				out_note(c, "%s now signs with selector %s%s", k->domain, k->selector,
					 opts.force ? " (forced: its TXT record was not checked in DNS)" : "");
			else if (k->state == ERS_DKIM_RETIRING)
				out_note(c, "selector %s is retiring: keep its TXT record published until %s", k->selector,
					 k->retire_after);
		}
		out_note(c, "render OpenDKIM's keys (ersctl mailstack render --opendkim DIR) and reload it");
	}
	ers_dkim_key_list_free(keys);
	return 0;
}

int cmd_dkim_show(struct cli *c)
{
	struct ers_dkim_key_list *list;
	if (ers_dkim_list(c->ctx, &c->actor, c->args[0], &list, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:o}", "domain", c->args[0], "keys", list_json(list)));
	else if (list->count == 0)
		out_note(c, "%s has no DKIM key (make one: ersctl dkim enable %s)", c->args[0], c->args[0]);
	else
		print_keys(list);
	ers_dkim_key_list_free(list);
	return 0;
}

int cmd_dkim_list(struct cli *c)
{
	struct ers_dkim_key_list *list;
	if (ers_dkim_list(c->ctx, &c->actor, NULL, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:o}", "keys", list_json(list)));
	} else {
		static const char *const head[] = { "DOMAIN", "SELECTOR", "ALGORITHM", "STATE", "CREATED", "ACTIVATED", "RETIRE AFTER" };
		struct table tab;
		table_init(&tab, 7, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_dkim_key *k = &list->items[i];
			table_row(&tab, k->domain, k->selector, ers_dkim_algorithm_name(k->algorithm),
				  ers_dkim_state_name(k->state), k->created_at, k->activated_at[0] ? k->activated_at : "-",
				  k->retire_after[0] ? k->retire_after : "-");
		}
		table_print(&tab);
	}
	ers_dkim_key_list_free(list);
	return 0;
}

int cmd_dkim_disable(struct cli *c)
{
	struct ers_dkim_key_list *list;
	if (ers_dkim_disable(c->ctx, &c->actor, c->args[0], cli_opt(c, "selector"), &list, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:o}", "domain", list->count ? list->items[0].domain : c->args[0], "retired",
				      list_json(list)));
	} else {
		for (size_t i = 0; i < list->count; i++)
			out_note(c, "retired DKIM key %s of %s (private key wiped): remove the TXT record %s", list->items[i].selector,
				 list->items[i].domain, list->items[i].txt_name);
		out_note(c, "render OpenDKIM's keys (ersctl mailstack render --opendkim DIR) and reload it");
	}
	ers_dkim_key_list_free(list);
	return 0;
}
