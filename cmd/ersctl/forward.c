/* ersctl forward ...: "send a copy to", forwarding addresses, catch-alls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static json_t *forward_json(const struct ers_forward *f)
{
	json_t *dests = json_array();
	for (size_t i = 0; i < f->destination_count; i++)
		json_array_append_new(dests, json_string(f->destinations[i]));
	json_t *o = json_object();
	json_object_set_new(o, "source", json_string(f->source));
	json_object_set_new(o, "kind", json_string(ers_forward_kind_name(f->kind)));
	json_object_set_new(o, "domain", json_string(f->domain));
	json_object_set_new(o, "tenant", json_string(f->tenant));
	json_object_set_new(o, "destinations", dests);
	json_object_set_new(o, "keep_copy", json_boolean(f->keep_copy));
	json_object_set_new(o, "created_at", json_string(f->created_at));
	return o;
}

static void destinations_text(const struct ers_forward *f, struct ers_buf *out)
{
	for (size_t i = 0; i < f->destination_count; i++)
		ers_buf_addf(out, "%s%s", i ? ", " : "", f->destinations[i]);
}

static const char *keep_text(const struct ers_forward *f)
{
	return f->kind != ERS_FORWARD_MAILBOX ? "-" : f->keep_copy ? "yes" : "no";
}

/* --to may repeat and may hold a comma-separated list; spaces around the
 * items are dropped, an empty item is an error. */
static int destinations_from_opts(struct cli *c, char ***dests_r, size_t *n_r)
{
	const char *vals[64];
	size_t nv = cli_opt_all(c, "to", vals, 64), n = 0, cap = 0;
	char **dests = NULL;
	for (size_t i = 0; i < nv; i++) {
		char *copy = ers_xstrdup(vals[i]);
		char *p = copy;
		for (;;) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			size_t len = strlen(p);
			while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				p[--len] = '\0';
			if (!len) {
				ers_error_set(&c->err, ERS_E_INVALID, "--to \"%.200s\" has an empty item", vals[i]);
				free(copy);
				goto fail;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				dests = ers_xrealloc(dests, cap * sizeof *dests);
			}
			dests[n++] = ers_xstrdup(p);
			if (!comma)
				break;
			p = comma + 1;
		}
		free(copy);
	}
	*dests_r = dests;
	*n_r = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(dests[i]);
	free(dests);
	return -1;
}

int cmd_forward_add(struct cli *c)
{
	char **dests = NULL;
	size_t n = 0;
	if (destinations_from_opts(c, &dests, &n) < 0)
		return -1;
	struct ers_forward_spec spec = { .source = c->args[0], .destinations = (const char *const *)dests,
					 .destination_count = n, .keep_copy = cli_flag(c, "keep-copy") };
	struct ers_forward *f = NULL;
	int rc = ers_forward_add(c->ctx, &c->actor, &spec, &f, &c->err);
	for (size_t i = 0; i < n; i++)
		free(dests[i]);
	free(dests);
	if (rc < 0)
		return -1;
	if (c->json) {
		out_json(c, forward_json(f));
	} else {
		struct ers_buf to = ERS_BUF_INIT;
		destinations_text(f, &to);
		if (f->kind == ERS_FORWARD_CATCHALL)
			out_note(c, "created catch-all %s: mail for addresses of %s that no user, alias or forward has goes to %s",
				 f->source, f->domain, to.data);
		else if (f->kind == ERS_FORWARD_MAILBOX)
			out_note(c, "created forward: mail for user %s goes on to %s%s", f->source, to.data,
				 f->keep_copy ? ", and a copy stays in the mailbox" : "; the mailbox does not keep it");
		else
			out_note(c, "created forward: mail for %s goes to %s", f->source, to.data);
		ers_buf_free(&to);
	}
	ers_forward_free(f);
	return 0;
}

int cmd_forward_list(struct cli *c)
{
	struct ers_forward_filter filter = { .tenant = cli_opt(c, "tenant") };
	struct ers_forward_list *list;
	if (ers_forward_list(c->ctx, &c->actor, &filter, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, forward_json(&list->items[i]));
		out_json(c, json_pack("{s:o}", "forwards", arr));
	} else {
		static const char *const head[] = { "SOURCE", "KIND", "DESTINATIONS", "KEEP COPY", "TENANT", "CREATED" };
		struct table tab;
		table_init(&tab, 6, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_forward *f = &list->items[i];
			struct ers_buf to = ERS_BUF_INIT;
			destinations_text(f, &to);
			table_row(&tab, f->source, ers_forward_kind_name(f->kind), to.data, keep_text(f), f->tenant,
				  f->created_at);
			ers_buf_free(&to);
		}
		table_print(&tab);
	}
	ers_forward_list_free(list);
	return 0;
}

int cmd_forward_delete(struct cli *c)
{
	if (ers_forward_delete(c->ctx, &c->actor, c->args[0], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "source", c->args[0], "deleted", 1));
	else
		out_note(c, "deleted forward %s", c->args[0]);
	return 0;
}
