/* ersctl limits ...: the hourly send limits at server, tenant, domain and
 * mailbox level. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char *const level_opts[] = { "server", "tenant", "domain", "mailbox" };
static const enum ers_limit_level levels[] = { ERS_LEVEL_SERVER, ERS_LEVEL_TENANT, ERS_LEVEL_DOMAIN,
					       ERS_LEVEL_MAILBOX };

/* The one level named by --server, --tenant, --domain or --mailbox. */
static int level_from_opts(struct cli *c, enum ers_limit_level *level_r, const char **key_r)
{
	int given = 0;
	for (size_t i = 0; i < 4; i++) {
		if (!cli_flag(c, level_opts[i]))
			continue;
		given++;
		*level_r = levels[i];
		*key_r = i == 0 ? NULL : cli_opt(c, level_opts[i]);
	}
	if (given != 1) {
		ers_error_set(&c->err, ERS_E_USAGE,
			      "give exactly one of --server, --tenant TENANT, --domain DOMAIN or --mailbox EMAIL, got %d",
			      given);
		return -1;
	}
	return 0;
}

static json_t *limits_json(const struct ers_limits *l)
{
	json_t *keys = json_object();
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		const struct ers_limit_value *v = &l->v[k];
		char name[32];
		snprintf(name, sizeof name, "%s", ers_limit_key_name((enum ers_limit_key)k));
		for (char *p = name; *p; p++)
			*p = *p == '-' ? '_' : *p; /* JSON keys: per_mailbox, per_domain, total */
		json_object_set_new(keys, name,
			json_pack("{s:b,s:o,s:o,s:o,s:o}", "settable", v->settable, "set_here", json_limit(v->here),
				  "effective", json_limit(v->effective),
				  "from", v->from == ERS_LEVEL_NONE ? json_null() : json_string(ers_limit_level_name(v->from)),
				  "sent_this_hour", json_limit(l->sent[k])));
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:b}", "level", ers_limit_level_name(l->level), "target", l->target,
			 "tenant", json_str_or_null(l->tenant), "limits", keys, "sending_disabled", l->sending_disabled);
}

static void print_limits(const struct ers_limits *l)
{
	if (l->level == ERS_LEVEL_SERVER)
		printf("limits of the server (defaults for every tenant)\n");
	else if (l->level == ERS_LEVEL_TENANT)
		printf("limits of tenant %s\n", l->target);
	else
		printf("limits of %s %s (tenant %s)\n", ers_limit_level_name(l->level), l->target, l->tenant);
	static const char *const head[] = { "LIMIT", "SET HERE", "IN FORCE (PER HOUR)", "FROM", "SENT THIS HOUR" };
	struct table tab;
	table_init(&tab, 5, head);
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		const struct ers_limit_value *v = &l->v[k];
		char here[32] = "-", eff[48] = "unlimited", sent[32] = "-";
		if (v->settable && v->here >= 0)
			snprintf(here, sizeof here, "%lld", v->here);
		else if (v->settable) /* the server has no level above it: unset is no limit */
			snprintf(here, sizeof here, "%s", l->level == ERS_LEVEL_SERVER ? "none" : "inherit");
		if (v->effective >= 0)
			snprintf(eff, sizeof eff, "%lld%s", v->effective,
				 k == ERS_LIMIT_PER_MAILBOX && v->effective <= 1 ? " (no sending)" : "");
		if (l->sent[k] >= 0)
			snprintf(sent, sizeof sent, "%lld", l->sent[k]);
		table_row(&tab, ers_limit_key_name((enum ers_limit_key)k), here, eff,
			  v->from == ERS_LEVEL_NONE ? "-" : ers_limit_level_name(v->from), sent);
	}
	table_print(&tab);
	if (l->sending_disabled)
		printf("sending is disabled for this mailbox (a per-mailbox limit of 0 or 1)\n");
}

static int show(struct cli *c, const struct ers_limits *l)
{
	if (c->json)
		out_json(c, limits_json(l));
	else if (!c->quiet)
		print_limits(l);
	return 0;
}

int cmd_limits_show(struct cli *c)
{
	enum ers_limit_level level;
	const char *key;
	struct ers_limits *l;
	if (level_from_opts(c, &level, &key) < 0 || ers_limits_show(c->ctx, &c->actor, level, key, &l, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, limits_json(l));
	else
		print_limits(l);
	ers_limits_free(l);
	return 0;
}

int cmd_limits_set(struct cli *c)
{
	enum ers_limit_level level;
	const char *key;
	struct ers_limit_change ch = { 0 };
	if (level_from_opts(c, &level, &key) < 0)
		return -1;
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		const char *name = ers_limit_key_name((enum ers_limit_key)k);
		const char *v = cli_opt(c, name);
		if (!v)
			continue;
		ch.set[k] = true;
		ch.value[k] = -1;
		if (strcmp(v, "inherit") && ers_int_parse(v, "", 0, ERS_SEND_LIMIT_MAX, &ch.value[k], &c->err) < 0) {
			ers_error_set(&c->err, ERS_E_INVALID, "--%s must be 0..%lld emails per hour or inherit, got \"%.40s\"",
				      name, ERS_SEND_LIMIT_MAX, v);
			return -1;
		}
	}
	struct ers_limits *l;
	if (ers_limits_set(c->ctx, &c->actor, level, key, &ch, &l, &c->err) < 0)
		return -1;
	out_note(c, "limits of %s%s%s changed", level == ERS_LEVEL_SERVER ? "the " : ers_limit_level_name(level),
		 level == ERS_LEVEL_SERVER ? "" : " ", l->target);
	show(c, l);
	ers_limits_free(l);
	return 0;
}
