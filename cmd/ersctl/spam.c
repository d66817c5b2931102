/* ersctl spam ...: the spam filter and greylisting of a domain or a
 * mailbox (manual 002 "Spam Settings", manual 003), its allowed and
 * blocked senders (manual 002 "Whitelist / Blacklist"), applied to mail
 * arriving on port 25 by ersctl policyd (greylisting) and ersctl spam
 * milter (the filter, with rspamd's scores). */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char *tristate_word(enum ers_tristate v)
{
	return v == ERS_ON ? "on" : v == ERS_OFF ? "off" : "default";
}

static json_t *list_json(char **list, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static json_t *spam_json(const struct ers_spam_settings *s)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "target", s->target, "kind", s->is_mailbox ? "mailbox" : "domain",
			      "greylisting", tristate_word(s->greylisting), "greylisting_effective",
			      s->greylisting_effective);
	if (s->is_mailbox)
		json_object_set_new(o, "domain_greylisting", json_boolean(s->domain_greylisting));
	json_object_set_new(o, "filter", json_string(tristate_word(s->filter)));
	json_object_set_new(o, "threshold", s->threshold ? json_real(s->threshold) : json_string("default"));
	json_object_set_new(o, "action", json_string(ers_spam_action_word(s->action)));
	json_object_set_new(o, "filter_effective", json_boolean(s->filter_effective));
	json_object_set_new(o, "threshold_effective", json_real(s->threshold_effective));
	json_object_set_new(o, "action_effective", json_string(ers_spam_action_word(s->action_effective)));
	if (s->is_mailbox)
		json_object_set_new(o, "domain_filter", json_boolean(s->domain_filter));
	json_object_set_new(o, "allow", list_json(s->allow, s->allow_count));
	json_object_set_new(o, "block", list_json(s->block, s->block_count));
	return o;
}

static void print_list(const char *label, char **list, size_t n)
{
	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf(" %s%s", list[i], i + 1 < n ? "," : "");
	printf("%s\n", n ? "" : " none");
}

static void print_settings(const struct ers_spam_settings *s)
{
	printf("%s %s\n", s->is_mailbox ? "mailbox:        " : "domain:         ", s->target);
	if (s->is_mailbox) {
		printf("spam filter:     %s (%s; its domain: %s)\n", s->filter_effective ? "on" : "off",
		       s->filter == ERS_UNSET ? "as its domain says" : s->filter == ERS_ON ? "on" : "off here",
		       s->domain_filter ? "on" : "off");
		printf("threshold:       %.2f (%s)\n", s->threshold_effective, s->threshold ? "its own" : "its domain's");
		printf("action:          %s (%s)\n", ers_spam_action_word(s->action_effective),
		       s->action != ERS_SPAM_AS_DOMAIN ? "its own" : "its domain's");
		printf("greylisting:     %s (%s; its domain: %s)\n", s->greylisting_effective ? "on" : "off",
		       s->greylisting == ERS_UNSET ? "as its domain says" : s->greylisting == ERS_ON ? "on" : "off here",
		       s->domain_greylisting ? "on" : "off");
	} else {
		printf("spam filter:     %s\n", s->filter == ERS_ON ? "on" : "off");
		printf("threshold:       %.2f\n", s->threshold_effective);
		printf("action:          %s\n", ers_spam_action_word(s->action_effective));
		printf("greylisting:     %s\n", s->greylisting == ERS_ON ? "on" : "off");
	}
	print_list("allowed senders:", s->allow, s->allow_count);
	print_list("blocked senders:", s->block, s->block_count);
}

enum view { VIEW_ALL, VIEW_ALLOW, VIEW_BLOCK };

static int show(struct cli *c, enum view v)
{
	struct ers_spam_settings s;
	if (ers_spam_get(c->ctx, &c->actor, c->args[0], &s, &c->err) < 0) {
		ers_spam_settings_free(&s);
		return -1;
	}
	char **list = v == VIEW_BLOCK ? s.block : s.allow;
	size_t n = v == VIEW_BLOCK ? s.block_count : s.allow_count;
	if (c->json)
		out_json(c, v == VIEW_ALL ? spam_json(&s) : list_json(list, n));
	else if (v != VIEW_ALL)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", list[i]);
	else
		print_settings(&s);
	ers_spam_settings_free(&s);
	return 0;
}

int cmd_spam_show(struct cli *c)
{
	return show(c, VIEW_ALL);
}

int cmd_spam_allow_list(struct cli *c)
{
	return show(c, VIEW_ALLOW);
}

int cmd_spam_block_list(struct cli *c)
{
	return show(c, VIEW_BLOCK);
}

int cmd_spam_set(struct cli *c)
{
	const char *g = cli_opt(c, "greylisting");
	struct ers_spam_filter_change ch = { cli_opt(c, "filter"), cli_opt(c, "threshold"), cli_opt(c, "action") };
	bool filter = ch.filter || ch.threshold || ch.action;
	if (!g && !filter) {
		ers_error_set(&c->err, ERS_E_USAGE, "nothing to change: give --filter, --threshold, --action or --greylisting");
		return -1;
	}
	/* The filter first: its values are checked there, so a bad one
	 * leaves greylisting unchanged too. */
	if (filter && ers_spam_set_filter(c->ctx, &c->actor, c->args[0], &ch, &c->err) < 0)
		return -1;
	if (g) {
		/* the option's choices are checked before this runs */
		enum ers_tristate v = !strcmp(g, "on") ? ERS_ON : !strcmp(g, "off") ? ERS_OFF : ERS_UNSET;
		if (ers_spam_set_greylisting(c->ctx, &c->actor, c->args[0], v, &c->err) < 0)
			return -1;
	}
	return show(c, VIEW_ALL);
}

int cmd_spam_allow_add(struct cli *c)
{
	if (ers_spam_allow_add(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "%s may now send to %s without greylisting or spam filtering", c->args[1], c->args[0]);
	return c->json ? show(c, VIEW_ALL) : 0;
}

int cmd_spam_allow_remove(struct cli *c)
{
	if (ers_spam_allow_remove(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "%s is no longer an allowed sender of %s", c->args[1], c->args[0]);
	return c->json ? show(c, VIEW_ALL) : 0;
}

int cmd_spam_block_add(struct cli *c)
{
	if (ers_spam_block_add(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "mail from %s to %s is now treated as spam (where the spam filter is on)", c->args[1], c->args[0]);
	return c->json ? show(c, VIEW_ALL) : 0;
}

int cmd_spam_block_remove(struct cli *c)
{
	if (ers_spam_block_remove(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "%s is no longer a blocked sender of %s", c->args[1], c->args[0]);
	return c->json ? show(c, VIEW_ALL) : 0;
}
