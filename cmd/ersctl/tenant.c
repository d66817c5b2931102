/* ersctl tenant ...: tenants and their domains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static json_t *domain_json(const struct ers_tenant_domain *d)
{
	return json_pack("{s:s,s:b,s:o,s:s}", "name", d->name, "primary", d->primary,
			 "copy_inbound_to", json_str_or_null(d->copy_inbound_to), "created_at", d->created_at);
}

static json_t *tenant_json(const struct ers_tenant *t)
{
	json_t *domains = json_array();
	for (size_t i = 0; i < t->domain_count; i++)
		json_array_append_new(domains, domain_json(&t->domains[i]));
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "primary_domain", json_str_or_null(t->primary_domain));
	json_object_set_new(o, "domains", domains);
	json_object_set_new(o, "imap_host", json_string(t->imap_host));
	json_object_set_new(o, "imap_port", json_integer(t->imap_port));
	json_object_set_new(o, "smtp_host", json_string(t->smtp_host));
	json_object_set_new(o, "smtp_port", json_integer(t->smtp_port));
	json_object_set_new(o, "max_users", json_limit(t->max_users));
	json_object_set_new(o, "max_storage_mb", json_limit(t->max_storage_mb));
	json_object_set_new(o, "user_count", json_integer(t->user_count));
	json_object_set_new(o, "alias_count", json_integer(t->alias_count));
	json_object_set_new(o, "forward_count", json_integer(t->forward_count));
	json_object_set_new(o, "quota_mb_total", json_integer(t->quota_mb_total));
	json_object_set_new(o, "over_max_users", json_boolean(t->over_max_users));
	json_object_set_new(o, "over_max_storage", json_boolean(t->over_max_storage));
	json_object_set_new(o, "time_zone", json_string(t->time_zone));
	json_object_set_new(o, "junk_retention_days", json_integer(t->junk_retention_days));
	json_object_set_new(o, "pop3", json_boolean(t->pop3));
	json_object_set_new(o, "created_at", json_string(t->created_at));
	return o;
}

static void limit_text(char *dst, size_t cap, long long v, const char *unit)
{
	if (v < 0)
		snprintf(dst, cap, "none");
	else
		snprintf(dst, cap, "%lld%s", v, unit);
}

static void print_tenant(const struct ers_tenant *t)
{
	char users[80], storage[100];
	limit_text(users, sizeof users, t->max_users, "");
	limit_text(storage, sizeof storage, t->max_storage_mb, " MB");
	/* A limit lowered below the use (see ers_tenant_edit). */
	if (t->over_max_users)
		snprintf(users + strlen(users), sizeof users - strlen(users), " (over: %lld users)", t->user_count);
	if (t->over_max_storage)
		snprintf(storage + strlen(storage), sizeof storage - strlen(storage), " (over: %lld MB given in quotas)",
			 t->quota_mb_total);
	printf("name:            %s\n", t->name);
	printf("primary domain:  %s\n", t->primary_domain);
	printf("domains:        ");
	for (size_t i = 0; i < t->domain_count; i++)
		printf(" %s%s", t->domains[i].name, i + 1 < t->domain_count ? "," : "");
	printf("\nimap:            %s:%d\n", t->imap_host, t->imap_port);
	printf("smtp:            %s:%d\n", t->smtp_host, t->smtp_port);
	printf("max users:       %s\n", users);
	printf("max storage:     %s\n", storage);
	printf("users:           %lld\n", t->user_count);
	printf("quotas given:    %lld MB\n", t->quota_mb_total);
	printf("aliases:         %lld\n", t->alias_count);
	printf("forwards:        %lld\n", t->forward_count);
	printf("time zone:       %s\n", t->time_zone);
	if (t->junk_retention_days)
		printf("junk retention:  %d days\n", t->junk_retention_days);
	else
		printf("junk retention:  kept\n");
	printf("pop3:            %s\n", t->pop3 ? "on" : "off");
	for (size_t i = 0; i < t->domain_count; i++)
		if (t->domains[i].copy_inbound_to)
			printf("hidden copy:     inbound mail of %s to %s\n", t->domains[i].name,
			       t->domains[i].copy_inbound_to);
	printf("created:         %s\n", t->created_at);
}

/* --max-users / --max-storage-mb: a number in range, or (edit) "none". */
static int limit_opt(struct cli *c, const char *name, long long max, bool allow_none, bool *set,
		     long long *v)
{
	const char *s = cli_opt(c, name);
	if (!s)
		return 0;
	*set = true;
	if (allow_none && !strcmp(s, "none")) {
		*v = -1;
		return 0;
	}
	if (cli_opt_int(c, name, 0, max, v) < 0) {
		if (allow_none)
			ers_error_set(&c->err, ERS_E_INVALID, "--%s must be a whole number 0..%lld, or none for no limit; got \"%.40s\"",
				      name, max, s);
		else if (!strcmp(s, "none"))
			ers_error_set(&c->err, ERS_E_INVALID, "--%s must be a whole number 0..%lld; to set no limit, leave it out",
				      name, max);
		return -1;
	}
	return 0;
}

static int port_opt(struct cli *c, const char *name, int *port)
{
	const char *s = cli_opt(c, name);
	char what[64];
	snprintf(what, sizeof what, "--%s", name);
	return s ? ers_port_parse(s, what, port, &c->err) : 0;
}

static int spec_from_opts(struct cli *c, struct ers_tenant_spec *s, bool edit)
{
	s->domain = cli_opt(c, "domain");
	s->imap_host = cli_opt(c, "imap-host");
	s->smtp_host = cli_opt(c, "smtp-host");
	if (edit) {
		s->name = cli_opt(c, "name");
		s->time_zone = cli_opt(c, "time-zone");
		long long days;
		const char *pop3 = cli_opt(c, "pop3");
		if (pop3) { /* the option's choices are checked before */
			s->set_pop3 = true;
			s->pop3 = !strcmp(pop3, "on");
		}
		if (cli_opt(c, "junk-days")) {
			if (cli_opt_int(c, "junk-days", 0, ERS_TENANT_JUNK_DAYS_MAX, &days) < 0)
				return -1;
			s->set_junk_retention_days = true;
			s->junk_retention_days = (int)days;
		}
	}
	if (port_opt(c, "imap-port", &s->imap_port) < 0 || port_opt(c, "smtp-port", &s->smtp_port) < 0 ||
	    limit_opt(c, "max-users", ERS_TENANT_MAX_USERS_LIMIT, edit, &s->set_max_users, &s->max_users) < 0 ||
	    limit_opt(c, "max-storage-mb", ERS_TENANT_MAX_STORAGE_MB_LIMIT, edit, &s->set_max_storage_mb,
		      &s->max_storage_mb) < 0)
		return -1;
	return 0;
}

static int show_result(struct cli *c, struct ers_tenant *t, const char *verb, bool with_warning)
{
	if (c->json) {
		json_t *o = tenant_json(t);
		/* Like tenant domain copy's: the warning in the answer as well as
		 * on stderr (a limit set below the use, ers_tenant_edit). */
		if (with_warning)
			json_object_set_new(o, "warning", json_str_or_null(ers_ctx_warning(c->ctx)));
		out_json(c, o);
	} else if (!c->quiet) {
		printf("%s tenant \"%s\"\n", verb, t->name);
		print_tenant(t);
	}
	ers_tenant_free(t);
	return 0;
}

int cmd_tenant_add(struct cli *c)
{
	struct ers_tenant_spec spec = { .name = c->args[0] };
	struct ers_tenant *t;
	if (spec_from_opts(c, &spec, false) < 0 || ers_tenant_add(c->ctx, &c->actor, &spec, &t, &c->err) < 0)
		return -1;
	return show_result(c, t, "created", false);
}

int cmd_tenant_edit(struct cli *c)
{
	struct ers_tenant_spec spec = { 0 };
	struct ers_tenant *t;
	if (spec_from_opts(c, &spec, true) < 0 ||
	    ers_tenant_edit(c->ctx, &c->actor, c->args[0], &spec, &t, &c->err) < 0)
		return -1;
	return show_result(c, t, "changed", true);
}

int cmd_tenant_show(struct cli *c)
{
	struct ers_tenant *t;
	if (ers_tenant_get(c->ctx, &c->actor, c->args[0], &t, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, tenant_json(t));
	else
		print_tenant(t);
	ers_tenant_free(t);
	return 0;
}

int cmd_tenant_list(struct cli *c)
{
	struct ers_tenant_list *list;
	if (ers_tenant_list(c->ctx, &c->actor, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, tenant_json(&list->items[i]));
		out_json(c, arr);
	} else {
		static const char *const head[] = { "NAME", "PRIMARY DOMAIN", "DOMAINS", "USERS", "IMAP", "SMTP",
						    "MAX USERS", "MAX STORAGE", "CREATED" };
		struct table tab;
		table_init(&tab, 9, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_tenant *t = &list->items[i];
			char ndom[16], nusers[24], imap[300], smtp[300], users[32], storage[40];
			snprintf(ndom, sizeof ndom, "%zu", t->domain_count);
			snprintf(nusers, sizeof nusers, "%lld", t->user_count);
			snprintf(imap, sizeof imap, "%s:%d", t->imap_host, t->imap_port);
			snprintf(smtp, sizeof smtp, "%s:%d", t->smtp_host, t->smtp_port);
			limit_text(users, sizeof users, t->max_users, t->over_max_users ? " (over)" : "");
			limit_text(storage, sizeof storage, t->max_storage_mb, t->over_max_storage ? " MB (over)" : " MB");
			table_row(&tab, t->name, t->primary_domain, ndom, nusers, imap, smtp, users, storage, t->created_at);
		}
		table_print(&tab);
	}
	ers_tenant_list_free(list);
	return 0;
}

int cmd_tenant_delete(struct cli *c)
{
	struct ers_tenant *t;
	if (ers_tenant_get(c->ctx, &c->actor, c->args[0], &t, &c->err) < 0)
		return -1;
	/* Say first what goes, then ask -- unless there is no one to ask, when
	 * the refusal below is all there is to say. */
	if (!c->json && (c->yes || cli_can_ask())) {
		fprintf(stderr, "This deletes tenant \"%s\" and everything it owns:\n  %zu domain(s):", t->name,
			t->domain_count);
		for (size_t i = 0; i < t->domain_count; i++)
			fprintf(stderr, " %s", t->domains[i].name);
		fprintf(stderr, "\n  %lld user(s) with their mailboxes\n  %lld alias(es)\n  %lld forward(s) and catch-all(s)\n",
			t->user_count, t->alias_count, t->forward_count);
	}
	char *name = ers_xstrdup(t->name);
	long long id = t->id;
	json_t *removed = json_pack("{s:i,s:I,s:I,s:I}", "domains", (int)t->domain_count, "users",
				    (json_int_t)t->user_count, "aliases", (json_int_t)t->alias_count, "forwards",
				    (json_int_t)t->forward_count);
	ers_tenant_free(t);
	int rc = -1;
	/* The key as given: the name may be ambiguous where the key is not;
	 * `id` makes sure it is still the tenant shown. */
	if (cli_confirm(c, "delete this tenant", name) == 0 &&
	    ers_tenant_delete(c->ctx, &c->actor, c->args[0], id, &c->err) == 0) {
		if (c->json)
			out_json(c, json_pack("{s:s,s:b,s:O}", "name", name, "deleted", 1, "removed", removed));
		else
			out_note(c, "deleted tenant \"%s\"", name);
		rc = 0;
	}
	json_decref(removed);
	free(name);
	return rc;
}

int cmd_domain_add(struct cli *c)
{
	bool primary = cli_flag(c, "primary");
	if (ers_tenant_domain_add(c->ctx, &c->actor, c->args[0], c->args[1], primary, &c->err) < 0)
		return -1;
	return c->quiet && !c->json ? 0 : cmd_domain_list(c);
}

int cmd_domain_remove(struct cli *c)
{
	if (ers_tenant_domain_remove(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	return c->quiet && !c->json ? 0 : cmd_domain_list(c);
}

int cmd_domain_primary(struct cli *c)
{
	if (ers_tenant_domain_set_primary(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	return c->quiet && !c->json ? 0 : cmd_domain_list(c);
}

int cmd_domain_list(struct cli *c)
{
	struct ers_tenant *t;
	if (ers_tenant_get(c->ctx, &c->actor, c->args[0], &t, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < t->domain_count; i++) {
			json_t *o = json_pack("{s:s}", "tenant", t->name);
			json_t *d = domain_json(&t->domains[i]);
			json_object_update(o, d);
			json_decref(d);
			json_array_append_new(arr, o);
		}
		out_json(c, arr);
	} else {
		static const char *const head[] = { "DOMAIN", "PRIMARY", "COPY INBOUND TO", "CREATED" };
		struct table tab;
		table_init(&tab, 4, head);
		for (size_t i = 0; i < t->domain_count; i++)
			table_row(&tab, t->domains[i].name, t->domains[i].primary ? "yes" : "no",
				  t->domains[i].copy_inbound_to ? t->domains[i].copy_inbound_to : "-",
				  t->domains[i].created_at);
		table_print(&tab);
	}
	ers_tenant_free(t);
	return 0;
}

int cmd_domain_copy(struct cli *c)
{
	const char *to = cli_opt(c, "to");
	bool off = cli_flag(c, "off");
	if (!to == !off) {
		ers_error_set(&c->err, ERS_E_USAGE, "give --to ADDRESS to turn the hidden copy on, or --off, not %s",
			      to ? "both" : "neither");
		return -1;
	}
	if (ers_tenant_domain_copy(c->ctx, &c->actor, c->args[0], c->args[1], to, &c->err) < 0)
		return -1;
	/* The manual's warning, wherever the answer goes: it is the law that
	 * the operator must know about, not a note. */
	if (to)
		fprintf(stderr, "warning: %s\n", ERS_DOMAIN_COPY_WARNING);
	struct ers_tenant *t;
	if (ers_tenant_get(c->ctx, &c->actor, c->args[0], &t, &c->err) < 0)
		return -1;
	const struct ers_tenant_domain *d = NULL;
	struct ers_buf name = ERS_BUF_INIT;
	struct ers_error ignored;
	if (ers_domain_normalize(c->args[1], &name, &ignored) == 0)
		for (size_t i = 0; i < t->domain_count; i++)
			if (!strcmp(t->domains[i].name, name.data))
				d = &t->domains[i];
	ers_buf_free(&name);
	if (!d) {
		ers_tenant_free(t);
		ers_error_set(&c->err, ERS_E_NOTFOUND, "domain %s was removed meanwhile", c->args[1]);
		return -1;
	}
	if (c->json) {
		json_t *o = json_pack("{s:s}", "tenant", t->name);
		json_t *dj = domain_json(d);
		json_object_update(o, dj);
		json_decref(dj);
		json_object_set_new(o, "warning", to ? json_string(ERS_DOMAIN_COPY_WARNING) : json_null());
		out_json(c, o);
	} else if (d->copy_inbound_to) {
		out_note(c, "a hidden copy of every inbound message of %s goes to %s", d->name, d->copy_inbound_to);
	} else {
		out_note(c, "no hidden copy of inbound messages of %s", d->name);
	}
	ers_tenant_free(t);
	return 0;
}
