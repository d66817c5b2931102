/* ersctl audit list. */
#include <stdio.h>
#include "cli.h"

int cmd_audit_list(struct cli *c)
{
	struct ers_audit_filter f = { cli_opt(c, "tenant"), cli_opt(c, "actor"), cli_opt(c, "since"), 0 };
	long long limit;
	if (cli_opt(c, "limit")) {
		if (cli_opt_int(c, "limit", 1, 100000, &limit) < 0)
			return -1;
		f.limit = (int)limit;
	}
	struct ers_audit_list *list;
	if (ers_audit_list(c->ctx, &c->actor, &f, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_audit_entry *e = &list->items[i];
			json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:s,s:o}", "id", (json_int_t)e->id,
							     "at", e->at, "actor", e->actor, "action", e->action,
							     "target", e->target, "tenant", json_str_or_null(e->tenant),
							     "outcome", e->outcome, "detail", json_str_or_null(e->detail)));
		}
		out_json(c, arr);
	} else {
		static const char *const head[] = { "TIME", "ACTOR", "ACTION", "TARGET", "TENANT", "OUTCOME", "DETAIL" };
		struct table tab;
		table_init(&tab, 7, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_audit_entry *e = &list->items[i];
			table_row(&tab, e->at, e->actor, e->action, e->target, e->tenant, e->outcome, e->detail);
		}
		table_print(&tab);
	}
	ers_audit_list_free(list);
	return 0;
}
