/* ersctl alias ...: more addresses for a user's mailbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static json_t *alias_json(const struct ers_alias *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "address", json_string(a->address));
	json_object_set_new(o, "domain", json_string(a->domain));
	json_object_set_new(o, "tenant", json_string(a->tenant));
	json_object_set_new(o, "user", json_string(a->user));
	json_object_set_new(o, "internal_only", json_boolean(a->internal_only));
	json_object_set_new(o, "created_at", json_string(a->created_at));
	return o;
}

int cmd_alias_add(struct cli *c)
{
	struct ers_alias_spec spec = { .address = c->args[0], .user = cli_opt(c, "to"),
				       .internal_only = cli_flag(c, "internal-only") };
	struct ers_alias *a;
	if (ers_alias_add(c->ctx, &c->actor, &spec, &a, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, alias_json(a));
	else
		out_note(c, "created alias %s for user %s%s", a->address, a->user,
			 a->internal_only ? " (internal only)" : "");
	ers_alias_free(a);
	return 0;
}

int cmd_alias_list(struct cli *c)
{
	struct ers_alias_filter f = { .tenant = cli_opt(c, "tenant") };
	struct ers_alias_list *list;
	if (ers_alias_list(c->ctx, &c->actor, &f, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, alias_json(&list->items[i]));
		out_json(c, json_pack("{s:o}", "aliases", arr));
	} else {
		static const char *const head[] = { "ALIAS", "USER", "TENANT", "INTERNAL ONLY", "CREATED" };
		struct table tab;
		table_init(&tab, 5, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_alias *a = &list->items[i];
			table_row(&tab, a->address, a->user, a->tenant, a->internal_only ? "yes" : "no", a->created_at);
		}
		table_print(&tab);
	}
	ers_alias_list_free(list);
	return 0;
}

int cmd_alias_delete(struct cli *c)
{
	if (ers_alias_delete(c->ctx, &c->actor, c->args[0], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "address", c->args[0], "deleted", 1));
	else
		out_note(c, "deleted alias %s", c->args[0]);
	return 0;
}
