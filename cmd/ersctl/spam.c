/* ersctl spam ...: greylisting of a domain or a mailbox (manual 003) and
 * its allowed senders (manual 002 "Whitelist"), applied by ersctl policyd
 * to mail arriving on port 25. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char *tristate_word(enum ers_tristate v)
{
	return v == ERS_ON ? "on" : v == ERS_OFF ? "off" : "default";
}

static json_t *allow_json(const struct ers_spam_settings *s)
{
	json_t *allow = json_array();
	for (size_t i = 0; i < s->allow_count; i++)
		json_array_append_new(allow, json_string(s->allow[i]));
	return allow;
}

static json_t *spam_json(const struct ers_spam_settings *s)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "target", s->target, "kind", s->is_mailbox ? "mailbox" : "domain",
			      "greylisting", tristate_word(s->greylisting), "greylisting_effective",
			      s->greylisting_effective);
	if (s->is_mailbox)
		json_object_set_new(o, "domain_greylisting", json_boolean(s->domain_greylisting));
	json_object_set_new(o, "allow", allow_json(s));
	return o;
}

static int show(struct cli *c, bool list_only)
{
	struct ers_spam_settings s;
	if (ers_spam_get(c->ctx, &c->actor, c->args[0], &s, &c->err) < 0) {
		ers_spam_settings_free(&s);
		return -1;
	}
	if (c->json) {
		out_json(c, list_only ? allow_json(&s) : spam_json(&s));
	} else if (list_only) {
		for (size_t i = 0; i < s.allow_count; i++)
			printf("%s\n", s.allow[i]);
	} else {
		printf("%s %s\n", s.is_mailbox ? "mailbox:        " : "domain:         ", s.target);
		if (s.is_mailbox)
			printf("greylisting:     %s (%s; its domain: %s)\n", s.greylisting_effective ? "on" : "off",
			       s.greylisting == ERS_UNSET ? "as its domain says" : s.greylisting == ERS_ON ? "on" : "off here",
			       s.domain_greylisting ? "on" : "off");
		else
			printf("greylisting:     %s\n", s.greylisting == ERS_ON ? "on" : "off");
		printf("allowed senders:");
		for (size_t i = 0; i < s.allow_count; i++)
			printf(" %s%s", s.allow[i], i + 1 < s.allow_count ? "," : "");
		printf("%s\n", s.allow_count ? "" : " none");
	}
	ers_spam_settings_free(&s);
	return 0;
}

int cmd_spam_show(struct cli *c)
{
	return show(c, false);
}

int cmd_spam_allow_list(struct cli *c)
{
	return show(c, true);
}

int cmd_spam_set(struct cli *c)
{
	const char *g = cli_opt(c, "greylisting");
	enum ers_tristate v;
	if (!strcmp(g, "on"))
		v = ERS_ON;
	else if (!strcmp(g, "off"))
		v = ERS_OFF;
	else /* "default"; the option's choices are checked before this runs */
		v = ERS_UNSET;
	if (ers_spam_set_greylisting(c->ctx, &c->actor, c->args[0], v, &c->err) < 0)
		return -1;
	return show(c, false);
}

int cmd_spam_allow_add(struct cli *c)
{
	if (ers_spam_allow_add(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "%s may now send to %s without greylisting", c->args[1], c->args[0]);
	return c->json ? show(c, false) : 0;
}

int cmd_spam_allow_remove(struct cli *c)
{
	if (ers_spam_allow_remove(c->ctx, &c->actor, c->args[0], c->args[1], &c->err) < 0)
		return -1;
	out_note(c, "%s is no longer an allowed sender of %s", c->args[1], c->args[0]);
	return c->json ? show(c, false) : 0;
}
