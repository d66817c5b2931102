/* Greylisting and spam filter settings, allowed and blocked senders
 * (ers/spam.h), stored in ers.spam_setting, ers.spam_allow (migration 0021)
 * and ers.spam_block (0023), one audit row per change.  The decisions are
 * the policy service's (greylisting, libers/mailstack/policy.c) and
 * spam_decide.c's (the filter), which read these tables at each message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "filter/internal.h"
#include "ers/names.h"
#include "ers/spam.h"

/* What a target names: a domain or a mailbox, the policy asked. */
struct target {
	bool mailbox;
	long long id, tenant_id, domain_id;
	struct ers_buf name;
};

static int find_target(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, const char *key,
		       struct target *t, struct ers_error *err)
{
	*t = (struct target){ .name = ERS_BUF_INIT };
	if (key && strchr(key, '@')) {
		struct ers_mailbox_ref ref;
		PGresult *row = NULL;
		if (ers_mailbox_for(ctx, actor, key, action, false,
				    "(SELECT c.domain_id FROM ers.address_claim c WHERE c.address = m.address)", &ref, &row,
				    err) < 0)
			return -1;
		t->mailbox = true;
		t->id = ref.id;
		t->tenant_id = ref.tenant_id;
		t->domain_id = ers_db_ll(row, 0, 5);
		PQclear(row);
		ers_buf_adds(&t->name, ref.address);
		return 0;
	}
	if (ers_domain_normalize(key ? key : "", &t->name, err) < 0)
		return -1;
	const char *params[] = { t->name.data };
	PGresult *res = ers_db_exec(ctx, "SELECT id, tenant_id FROM ers.domain WHERE name = $1", 1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)",
			      t->name.data);
		struct ers_authz_target nowhere = { 0 };
		return ers_authz_missing(ctx, actor, action, &nowhere, t->name.data, err);
	}
	t->id = t->domain_id = ers_db_ll(res, 0, 0);
	t->tenant_id = ers_db_ll(res, 0, 1);
	PQclear(res);
	struct ers_authz_target where = { .tenant_id = t->tenant_id };
	return ers_authz_require(ctx, actor, action, &where, t->name.data, err);
}

/* The column of the target's rows: domain_id or mailbox_id. */
static const char *owner_column(const struct target *t)
{
	return t->mailbox ? "mailbox_id" : "domain_id";
}

/* A column of newline-separated entries, split. */
static void split_list(PGresult *res, int col, char ***list, size_t *count)
{
	if (ers_db_isnull(res, 0, col))
		return;
	char *all = ers_xstrdup(ers_db_str(res, 0, col));
	for (char *p = all, *nl; p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		*list = ers_xrealloc(*list, (*count + 1) * sizeof **list);
		(*list)[(*count)++] = ers_xstrdup(p);
	}
	free(all);
}

static const char *const action_words[] = { "default", "mark", "junk", "reject" };

const char *ers_spam_action_word(enum ers_spam_action a)
{
	return a >= ERS_SPAM_AS_DOMAIN && a <= ERS_SPAM_REJECT ? action_words[a] : "default";
}

static enum ers_spam_action action_of(const char *word)
{
	for (int a = ERS_SPAM_MARK; word && a <= ERS_SPAM_REJECT; a++)
		if (!strcmp(word, action_words[a]))
			return (enum ers_spam_action)a;
	return ERS_SPAM_AS_DOMAIN;
}

int ers_spam_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, struct ers_spam_settings *s,
		 struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	struct target t;
	if (find_target(ctx, actor, ERS_ACT_SPAM_VIEW, key, &t, err) < 0) {
		ers_buf_free(&t.name);
		return -1;
	}
	snprintf(s->target, sizeof s->target, "%s", t.name.data);
	s->is_mailbox = t.mailbox;
	struct ers_num id = ers_num(t.id), did = ers_num(t.domain_id);
	const char *params[] = { id.s, did.s };
	struct ers_buf q = ERS_BUF_INIT;
	ers_buf_addf(&q,
		"SELECT (SELECT CASE WHEN greylisting THEN 1 WHEN NOT greylisting THEN 0 END FROM ers.spam_setting"
		"  WHERE %s = $1::bigint),"
		" coalesce((SELECT greylisting FROM ers.spam_setting WHERE domain_id = $2::bigint), false),"
		" (SELECT string_agg(entry, E'\\n' ORDER BY entry) FROM ers.spam_allow WHERE %s = $1::bigint),"
		" (SELECT CASE WHEN filter THEN 1 WHEN NOT filter THEN 0 END FROM ers.spam_setting WHERE %s = $1::bigint),"
		" (SELECT threshold FROM ers.spam_setting WHERE %s = $1::bigint),"
		" (SELECT action FROM ers.spam_setting WHERE %s = $1::bigint),"
		" coalesce((SELECT filter FROM ers.spam_setting WHERE domain_id = $2::bigint), false),"
		" (SELECT threshold FROM ers.spam_setting WHERE domain_id = $2::bigint),"
		" (SELECT action FROM ers.spam_setting WHERE domain_id = $2::bigint),"
		" (SELECT string_agg(entry, E'\\n' ORDER BY entry) FROM ers.spam_block WHERE %s = $1::bigint)",
		owner_column(&t), owner_column(&t), owner_column(&t), owner_column(&t), owner_column(&t), owner_column(&t));
	PGresult *res = ers_db_exec(ctx, q.data, 2, params, err);
	ers_buf_free(&q);
	ers_buf_free(&t.name);
	if (!res)
		return -1;
	bool own_null = ers_db_isnull(res, 0, 0);
	bool own = !own_null && ers_db_ll(res, 0, 0) == 1;
	s->domain_greylisting = ers_db_str(res, 0, 1)[0] == 't';
	s->greylisting = own_null ? (t.mailbox ? ERS_UNSET : ERS_OFF) : own ? ERS_ON : ERS_OFF;
	s->greylisting_effective = s->domain_greylisting && s->greylisting != ERS_OFF;
	split_list(res, 2, &s->allow, &s->allow_count);
	s->filter = ers_db_isnull(res, 0, 3) ? (t.mailbox ? ERS_UNSET : ERS_OFF)
		    : ers_db_ll(res, 0, 3) == 1 ? ERS_ON : ERS_OFF;
	s->threshold = ers_db_isnull(res, 0, 4) ? 0 : strtod(ers_db_str(res, 0, 4), NULL);
	s->action = action_of(ers_db_isnull(res, 0, 5) ? NULL : ers_db_str(res, 0, 5));
	s->domain_filter = ers_db_str(res, 0, 6)[0] == 't';
	s->domain_threshold = ers_db_isnull(res, 0, 7) ? ERS_SPAM_THRESHOLD_DEFAULT : strtod(ers_db_str(res, 0, 7), NULL);
	s->domain_action = action_of(ers_db_isnull(res, 0, 8) ? NULL : ers_db_str(res, 0, 8));
	if (s->domain_action == ERS_SPAM_AS_DOMAIN)
		s->domain_action = ERS_SPAM_ACTION_DEFAULT;
	if (!t.mailbox) { /* a domain's own values are the domain's */
		s->domain_filter = s->filter == ERS_ON;
		if (!s->threshold)
			s->threshold = ERS_SPAM_THRESHOLD_DEFAULT;
		if (s->action == ERS_SPAM_AS_DOMAIN)
			s->action = ERS_SPAM_ACTION_DEFAULT;
	}
	s->filter_effective = s->domain_filter && s->filter != ERS_OFF;
	s->threshold_effective = s->threshold ? s->threshold : s->domain_threshold;
	s->action_effective = s->action != ERS_SPAM_AS_DOMAIN ? s->action : s->domain_action;
	split_list(res, 9, &s->block, &s->block_count);
	PQclear(res);
	return 0;
}

void ers_spam_settings_free(struct ers_spam_settings *s)
{
	for (size_t i = 0; i < s->allow_count; i++)
		free(s->allow[i]);
	free(s->allow);
	for (size_t i = 0; i < s->block_count; i++)
		free(s->block[i]);
	free(s->block);
	memset(s, 0, sizeof *s);
}

/* Runs `sql` ($1 the target's id, $2 the actor, $3 an argument) in one
 * transaction with its audit row; `changed_r` (may be NULL) gets the rows
 * it touched. */
static int write_audited(struct ers_ctx *ctx, const struct ers_actor *actor, const struct target *t, const char *sql,
			 const char *arg, const char *action, const char *detail, long *changed_r, struct ers_error *err)
{
	struct ers_num id = ers_num(t->id);
	const char *params[] = { id.s, actor->name, arg };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx, sql, 3, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	long changed = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (changed_r)
		*changed_r = changed;
	if (changed_r && changed == 0) {
		ers_db_rollback(ctx);
		return 0;
	}
	return ers_db_commit_audited(ctx, actor, action, t->name.data, t->tenant_id, NULL, detail, err);
}

int ers_spam_set_greylisting(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			     enum ers_tristate value, struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	int rc = -1;
	if (find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	if (value == ERS_UNSET && !t.mailbox) {
		ers_error_set(err, ERS_E_INVALID, "--greylisting default is for a mailbox (as its domain says); a domain's is on or off");
		goto out;
	}
	struct ers_buf sql = ERS_BUF_INIT;
	ers_buf_addf(&sql,
		"INSERT INTO ers.spam_setting (%s, greylisting, updated_by) VALUES ($1::bigint, $3::bool, $2)"
		" ON CONFLICT (%s) DO UPDATE SET greylisting = $3::bool, updated_by = $2, updated_at = now()",
		owner_column(&t), owner_column(&t));
	char detail[120];
	snprintf(detail, sizeof detail, "greylisting %s", value == ERS_ON ? "on" : value == ERS_OFF ? "off" : "as the domain says");
	rc = write_audited(ctx, actor, &t, sql.data, value == ERS_UNSET ? NULL : value == ERS_ON ? "t" : "f", "spam.set",
			   detail, NULL, err);
	ers_buf_free(&sql);
out:
	ers_buf_free(&t.name);
	return rc;
}

/* The two lists of senders: the allowed (manual 002 "Whitelist") and the
 * blocked ("Blacklist"). */
struct sender_list {
	const char *table, *what, *audit;
};
static const struct sender_list allow_list = { "ers.spam_allow", "an allowed sender", "spam.allow" };
static const struct sender_list block_list = { "ers.spam_block", "a blocked sender", "spam.block" };

/* A listed sender: a whole address or a domain, lower case. */
static int normalize_entry(const struct sender_list *l, const char *entry, struct ers_buf *out, struct ers_error *err)
{
	int rc = entry && strchr(entry, '@') ? ers_address_normalize(entry, out, err)
					      : ers_domain_normalize(entry ? entry : "", out, err);
	if (rc < 0)
		ers_error_prefix(err, "%s is an address (name@example.com) or a domain (example.com)", l->what);
	return rc;
}

static int list_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct sender_list *l, const char *key,
		    const char *entry, struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	struct ers_buf e = ERS_BUF_INIT, sql = ERS_BUF_INIT;
	int rc = -1;
	if (normalize_entry(l, entry, &e, err) < 0 || find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	struct ers_num id = ers_num(t.id);
	const char *params[] = { id.s, e.data };
	ers_buf_addf(&sql, "SELECT count(*), coalesce(bool_or(entry = $2), false) FROM %s WHERE %s = $1::bigint", l->table,
		     owner_column(&t));
	PGresult *res = ers_db_exec(ctx, sql.data, 2, params, err);
	if (!res)
		goto out;
	long long n = ers_db_ll(res, 0, 0);
	bool there = ers_db_str(res, 0, 1)[0] == 't';
	PQclear(res);
	if (there) {
		ers_error_set(err, ERS_E_CONFLICT, "%s is already %s of %s", e.data, l->what, t.name.data);
		goto out;
	}
	if (n >= ERS_SPAM_ALLOW_MAX) {
		ers_error_set(err, ERS_E_CONFLICT, "%s already has %d %ss, the most there can be", t.name.data,
			      ERS_SPAM_ALLOW_MAX, l->what + (l->what[1] == ' ' ? 2 : 3));
		goto out;
	}
	ers_buf_reset(&sql);
	ers_buf_addf(&sql, "INSERT INTO %s (%s, entry, created_by) VALUES ($1::bigint, $3, $2) ON CONFLICT DO NOTHING",
		     l->table, owner_column(&t));
	char detail[400], action[40];
	snprintf(detail, sizeof detail, "%s %s added", l->what + (l->what[1] == ' ' ? 2 : 3), e.data);
	snprintf(action, sizeof action, "%s.add", l->audit);
	long added;
	rc = write_audited(ctx, actor, &t, sql.data, e.data, action, detail, &added, err);
	if (rc == 0 && added == 0) { /* added meanwhile by another */
		ers_error_set(err, ERS_E_CONFLICT, "%s is already %s of %s", e.data, l->what, t.name.data);
		rc = -1;
	}
out:
	ers_buf_free(&t.name);
	ers_buf_free(&e);
	ers_buf_free(&sql);
	return rc;
}

static int list_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const struct sender_list *l, const char *key,
		       const char *entry, struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	struct ers_buf e = ERS_BUF_INIT, sql = ERS_BUF_INIT;
	int rc = -1;
	if (normalize_entry(l, entry, &e, err) < 0 || find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	ers_buf_addf(&sql, "DELETE FROM %s WHERE %s = $1::bigint AND entry = $3 AND $2::text IS NOT NULL", l->table,
		     owner_column(&t));
	char detail[400], action[40];
	snprintf(detail, sizeof detail, "%s %s removed", l->what + (l->what[1] == ' ' ? 2 : 3), e.data);
	snprintf(action, sizeof action, "%s.remove", l->audit);
	long removed;
	rc = write_audited(ctx, actor, &t, sql.data, e.data, action, detail, &removed, err);
	if (rc == 0 && removed == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s is not %s of %s (see: ersctl spam show %s)", e.data, l->what,
			      t.name.data, t.name.data);
		rc = -1;
	}
out:
	ers_buf_free(&t.name);
	ers_buf_free(&e);
	ers_buf_free(&sql);
	return rc;
}

int ers_spam_allow_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
		       struct ers_error *err)
{
	return list_add(ctx, actor, &allow_list, key, entry, err);
}

int ers_spam_allow_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
			  struct ers_error *err)
{
	return list_remove(ctx, actor, &allow_list, key, entry, err);
}

int ers_spam_block_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
		       struct ers_error *err)
{
	return list_add(ctx, actor, &block_list, key, entry, err);
}

int ers_spam_block_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
			  struct ers_error *err)
{
	return list_remove(ctx, actor, &block_list, key, entry, err);
}

/* --threshold: 1..100 with two decimals at most (rspamd's scores have
 * two), written back canonical into `out`; "default" gives "". */
static int parse_threshold(const char *text, bool mailbox, char *out, size_t cap, struct ers_error *err)
{
	if (mailbox && !strcmp(text, "default")) {
		out[0] = '\0';
		return 0;
	}
	const char *p = text;
	int whole = 0, digits = 0, decimals = 0, frac = 0;
	while (*p >= '0' && *p <= '9' && digits < 4)
		whole = whole * 10 + (*p++ - '0'), digits++;
	if (digits && *p == '.' && p[1])
		for (p++; *p >= '0' && *p <= '9' && decimals < 3; p++, decimals++)
			frac = frac * 10 + (*p - '0');
	if (decimals == 1)
		frac *= 10;
	if (!digits || *p || decimals > 2 || whole < 1 || whole > 100 || (whole == 100 && frac)) {
		ers_error_set(err, ERS_E_INVALID,
			      "--threshold must be a number from 1 to 100 with two decimals at most (e.g. 5 or 7.5)%s; got \"%s\"",
			      mailbox ? ", or default" : "", text);
		return -1;
	}
	snprintf(out, cap, "%d.%02d", whole, frac);
	return 0;
}

int ers_spam_set_filter(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			const struct ers_spam_filter_change *ch, struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	struct ers_buf sql = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	int rc = -1;
	if (!ch->filter && !ch->threshold && !ch->action) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give --filter, --threshold or --action");
		goto out;
	}
	/* The values first: bad input is told as such, whoever asks. */
	t.mailbox = key && strchr(key, '@');
	const char *dflt = t.mailbox ? " default" : "";
	if (ch->filter && strcmp(ch->filter, "on") && strcmp(ch->filter, "off") && (!t.mailbox || strcmp(ch->filter, "default"))) {
		ers_error_set(err, ERS_E_INVALID, "--filter must be one of: on off%s; got \"%s\"", dflt, ch->filter);
		goto out;
	}
	char threshold[16] = "";
	if (ch->threshold && parse_threshold(ch->threshold, t.mailbox, threshold, sizeof threshold, err) < 0)
		goto out;
	if (ch->action && action_of(ch->action) == ERS_SPAM_AS_DOMAIN && (!t.mailbox || strcmp(ch->action, "default"))) {
		ers_error_set(err, ERS_E_INVALID, "--action must be one of: mark junk reject%s; got \"%s\"", dflt, ch->action);
		goto out;
	}
	if (find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	/* $3 carries the three values, tab-separated; an empty one is NULL
	 * (as the domain says) and an absent one is left alone. */
	ers_buf_addf(&sql,
		"WITH v AS (SELECT split_part($3, E'\\t', 1) AS f, split_part($3, E'\\t', 2) AS th, split_part($3, E'\\t', 3) AS a)"
		" INSERT INTO ers.spam_setting AS s (%s, filter, threshold, action, updated_by)"
		" SELECT $1::bigint, CASE f WHEN 'on' THEN true WHEN 'off' THEN false END,"
		"  CASE WHEN th IN ('-', '') THEN NULL ELSE th::numeric END,"
		"  CASE WHEN a IN ('mark', 'junk', 'reject') THEN a END, $2 FROM v"
		" ON CONFLICT (%s) DO UPDATE SET"
		"  filter = CASE (SELECT f FROM v) WHEN '-' THEN s.filter ELSE EXCLUDED.filter END,"
		"  threshold = CASE (SELECT th FROM v) WHEN '-' THEN s.threshold ELSE EXCLUDED.threshold END,"
		"  action = CASE (SELECT a FROM v) WHEN '-' THEN s.action ELSE EXCLUDED.action END,"
		"  updated_by = $2, updated_at = now()",
		owner_column(&t), owner_column(&t));
	char values[64];
	snprintf(values, sizeof values, "%s\t%s\t%s", ch->filter ? ch->filter : "-",
		 ch->threshold ? threshold : "-", ch->action ? ch->action : "-");
	/* A new row gets the defaults for what was not given: a domain's
	 * filter off, threshold and action as ERS_SPAM_*_DEFAULT say. */
	if (!t.mailbox) {
		ers_buf_reset(&sql);
		ers_buf_addf(&sql,
			"WITH v AS (SELECT split_part($3, E'\\t', 1) AS f, split_part($3, E'\\t', 2) AS th, split_part($3, E'\\t', 3) AS a)"
			" INSERT INTO ers.spam_setting AS s (domain_id, filter, threshold, action, updated_by)"
			" SELECT $1::bigint, f = 'on', CASE th WHEN '-' THEN %.2f ELSE th::numeric END,"
			"  CASE a WHEN '-' THEN '%s' ELSE a END, $2 FROM v"
			" ON CONFLICT (domain_id) DO UPDATE SET"
			"  filter = CASE (SELECT f FROM v) WHEN '-' THEN coalesce(s.filter, false) ELSE EXCLUDED.filter END,"
			"  threshold = CASE (SELECT th FROM v) WHEN '-' THEN coalesce(s.threshold, EXCLUDED.threshold) ELSE EXCLUDED.threshold END,"
			"  action = CASE (SELECT a FROM v) WHEN '-' THEN coalesce(s.action, EXCLUDED.action) ELSE EXCLUDED.action END,"
			"  updated_by = $2, updated_at = now()",
			ERS_SPAM_THRESHOLD_DEFAULT, ers_spam_action_word(ERS_SPAM_ACTION_DEFAULT));
	}
	ers_buf_adds(&detail, "spam filter");
	if (ch->filter)
		ers_buf_addf(&detail, " %s", ch->filter);
	if (ch->threshold)
		ers_buf_addf(&detail, " threshold %s", threshold[0] ? threshold : "default");
	if (ch->action)
		ers_buf_addf(&detail, " action %s", ch->action);
	rc = write_audited(ctx, actor, &t, sql.data, values, "spam.set", detail.data, NULL, err);
out:
	ers_buf_free(&t.name);
	ers_buf_free(&sql);
	ers_buf_free(&detail);
	return rc;
}

int ers_spam_learn(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, bool spam, const char *msg,
		   size_t len, struct ers_error *err)
{
	if (!address || !strchr(address, '@')) {
		ers_error_set(err, ERS_E_INVALID, "name the mailbox the message is in (an address)");
		return -1;
	}
	struct target t;
	if (find_target(ctx, actor, ERS_ACT_SPAM_SET, address, &t, err) < 0) {
		ers_buf_free(&t.name);
		return -1;
	}
	int rc = ERS_SPAM_LEARN_NOT_ASKED;
	if (ctx->cfg->mailstack.rspamd_controller) {
		rc = ers_rspamd_learn(ctx->cfg, spam, msg, len, err);
		/* Skipped, nothing changed: no audit row. */
		if (rc == ERS_SPAM_LEARNED &&
		    (ers_db_begin(ctx, err) < 0 ||
		     ers_db_commit_audited(ctx, actor, "spam.learn", t.name.data, t.tenant_id, NULL,
					   spam ? "a message taught to rspamd as spam" : "a message taught to rspamd as not spam",
					   err) < 0))
			rc = -1;
	}
	ers_buf_free(&t.name);
	return rc;
}
