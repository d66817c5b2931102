/* ersctl shared ...: shared mailboxes (manual 004 "Public mailboxes"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static json_t *shared_json(const struct ers_shared *s)
{
	json_t *grants = json_array();
	for (size_t i = 0; i < s->grant_count; i++) {
		char words[64];
		ers_shared_rights_format(s->grants[i].rights, words, sizeof words);
		json_t *rights = json_array();
		for (char *w = strtok(words, ","); w; w = strtok(NULL, ","))
			json_array_append_new(rights, json_string(w));
		json_array_append_new(grants, json_pack("{s:s,s:o,s:s}", "user", s->grants[i].user, "rights", rights,
							"granted_at", s->grants[i].granted_at));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o}", "address", s->address, "tenant", s->tenant, "name", s->name,
			      "quota_mb", s->quota_mb >= 0 ? json_integer(s->quota_mb) : json_null(), "created_at",
			      s->created_at, "grants", grants);
	return o;
}

static void print_grants(const struct ers_shared *s)
{
	if (!s->grant_count) {
		printf("no user has access yet (ersctl shared grant %s USER --rights read,write)\n", s->address);
		return;
	}
	static const char *const head[] = { "USER", "RIGHTS", "GRANTED" };
	struct table tab;
	table_init(&tab, 3, head);
	for (size_t i = 0; i < s->grant_count; i++) {
		char words[64];
		ers_shared_rights_format(s->grants[i].rights, words, sizeof words);
		table_row(&tab, s->grants[i].user, words, s->grants[i].granted_at);
	}
	table_print(&tab);
}

int cmd_shared_add(struct cli *c)
{
	long long quota = -1;
	if (cli_opt(c, "quota-mb") && cli_opt_int(c, "quota-mb", 0, 1048576, &quota) < 0)
		return -1;
	struct ers_shared *s;
	if (ers_shared_add(c->ctx, &c->actor, c->args[0], cli_opt(c, "name"), quota, &s, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, shared_json(s));
	else
		out_note(c, "created shared mailbox %s in tenant \"%s\"; give users access with: ersctl shared grant %s USER --rights read,write",
			 s->address, s->tenant, s->address);
	ers_shared_free(s);
	return 0;
}

int cmd_shared_list(struct cli *c)
{
	struct ers_shared_list *l;
	if (ers_shared_list(c->ctx, &c->actor, cli_opt(c, "tenant"), &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++)
			json_array_append_new(arr, shared_json(&l->items[i]));
		out_json(c, json_pack("{s:o}", "shared_mailboxes", arr));
	} else {
		static const char *const head[] = { "SHARED MAILBOX", "NAME", "TENANT", "USERS WITH ACCESS", "CREATED" };
		struct table tab;
		table_init(&tab, 5, head);
		for (size_t i = 0; i < l->count; i++) {
			const struct ers_shared *s = &l->items[i];
			char n[24];
			snprintf(n, sizeof n, "%zu", s->grant_count);
			table_row(&tab, s->address, s->name, s->tenant, n, s->created_at);
		}
		table_print(&tab);
	}
	ers_shared_list_free(l);
	return 0;
}

int cmd_shared_show(struct cli *c)
{
	struct ers_shared *s;
	if (ers_shared_show(c->ctx, &c->actor, c->args[0], &s, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, shared_json(s));
	} else {
		printf("shared mailbox  %s\nname            %s\ntenant          %s\n", s->address, *s->name ? s->name : "-",
		       s->tenant);
		if (s->quota_mb >= 0)
			printf("quota           %lld MB\n", s->quota_mb);
		else
			printf("quota           none\n");
		printf("created         %s\nfolders         Shared/%s/ for the users below\n\n", s->created_at, s->address);
		print_grants(s);
	}
	ers_shared_free(s);
	return 0;
}

int cmd_shared_grant(struct cli *c)
{
	unsigned rights;
	if (ers_shared_rights_parse(cli_opt(c, "rights"), &rights, &c->err) < 0 ||
	    ers_shared_grant(c->ctx, &c->actor, c->args[0], c->args[1], rights, &c->err) < 0)
		return -1;
	char words[64];
	ers_shared_rights_format(rights, words, sizeof words);
	if (c->json)
		out_json(c, json_pack("{s:s,s:s,s:s}", "address", c->args[0], "user", c->args[1], "rights", words));
	else
		out_note(c, "%s now has %s on shared mailbox %s", c->args[1], words, c->args[0]);
	return 0;
}

int cmd_shared_revoke(struct cli *c)
{
	if (ers_shared_revoke(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:s,s:b}", "address", c->args[0], "user", c->args[1], "revoked", 1));
	else
		out_note(c, "%s no longer has access to shared mailbox %s", c->args[1], c->args[0]);
	return 0;
}

int cmd_shared_delete(struct cli *c)
{
	if (ers_shared_delete(c->ctx, &c->actor, c->args[0], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "address", c->args[0], "deleted", 1));
	else
		out_note(c, "deleted shared mailbox %s with its mail", c->args[0]);
	return 0;
}
