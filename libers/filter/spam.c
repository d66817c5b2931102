/* Greylisting settings and allowed senders (ers/spam.h), stored in
 * ers.spam_setting and ers.spam_allow (migration 0021), one audit row per
 * change.  The decision itself is the policy service's
 * (libers/mailstack/policy.c), which reads these tables at each message. */
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
		" (SELECT string_agg(entry, E'\\n' ORDER BY entry) FROM ers.spam_allow WHERE %s = $1::bigint)",
		owner_column(&t), owner_column(&t));
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
	if (!ers_db_isnull(res, 0, 2)) {
		char *all = ers_xstrdup(ers_db_str(res, 0, 2));
		for (char *p = all, *nl; p; p = nl) {
			nl = strchr(p, '\n');
			if (nl)
				*nl++ = '\0';
			s->allow = ers_xrealloc(s->allow, (s->allow_count + 1) * sizeof *s->allow);
			s->allow[s->allow_count++] = ers_xstrdup(p);
		}
		free(all);
	}
	PQclear(res);
	return 0;
}

void ers_spam_settings_free(struct ers_spam_settings *s)
{
	for (size_t i = 0; i < s->allow_count; i++)
		free(s->allow[i]);
	free(s->allow);
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

/* An allowed sender: a whole address or a domain, lower case. */
static int normalize_entry(const char *entry, struct ers_buf *out, struct ers_error *err)
{
	int rc = entry && strchr(entry, '@') ? ers_address_normalize(entry, out, err)
					      : ers_domain_normalize(entry ? entry : "", out, err);
	if (rc < 0)
		ers_error_prefix(err, "an allowed sender is an address (name@example.com) or a domain (example.com)");
	return rc;
}

int ers_spam_allow_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
		       struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	struct ers_buf e = ERS_BUF_INIT, sql = ERS_BUF_INIT;
	int rc = -1;
	if (normalize_entry(entry, &e, err) < 0 || find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	struct ers_num id = ers_num(t.id);
	const char *params[] = { id.s, e.data };
	ers_buf_addf(&sql, "SELECT count(*), coalesce(bool_or(entry = $2), false) FROM ers.spam_allow WHERE %s = $1::bigint",
		     owner_column(&t));
	PGresult *res = ers_db_exec(ctx, sql.data, 2, params, err);
	if (!res)
		goto out;
	long long n = ers_db_ll(res, 0, 0);
	bool there = ers_db_str(res, 0, 1)[0] == 't';
	PQclear(res);
	if (there) {
		ers_error_set(err, ERS_E_CONFLICT, "%s is already an allowed sender of %s", e.data, t.name.data);
		goto out;
	}
	if (n >= ERS_SPAM_ALLOW_MAX) {
		ers_error_set(err, ERS_E_CONFLICT, "%s already has %d allowed senders, the most there can be", t.name.data,
			      ERS_SPAM_ALLOW_MAX);
		goto out;
	}
	ers_buf_reset(&sql);
	ers_buf_addf(&sql, "INSERT INTO ers.spam_allow (%s, entry, created_by) VALUES ($1::bigint, $3, $2) ON CONFLICT DO NOTHING",
		     owner_column(&t));
	char detail[400];
	snprintf(detail, sizeof detail, "allowed sender %s added", e.data);
	long added;
	rc = write_audited(ctx, actor, &t, sql.data, e.data, "spam.allow.add", detail, &added, err);
	if (rc == 0 && added == 0) { /* added meanwhile by another */
		ers_error_set(err, ERS_E_CONFLICT, "%s is already an allowed sender of %s", e.data, t.name.data);
		rc = -1;
	}
out:
	ers_buf_free(&t.name);
	ers_buf_free(&e);
	ers_buf_free(&sql);
	return rc;
}

int ers_spam_allow_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key, const char *entry,
			  struct ers_error *err)
{
	struct target t = { .name = ERS_BUF_INIT };
	struct ers_buf e = ERS_BUF_INIT, sql = ERS_BUF_INIT;
	int rc = -1;
	if (normalize_entry(entry, &e, err) < 0 || find_target(ctx, actor, ERS_ACT_SPAM_SET, key, &t, err) < 0)
		goto out;
	ers_buf_addf(&sql, "DELETE FROM ers.spam_allow WHERE %s = $1::bigint AND entry = $3 AND $2::text IS NOT NULL",
		     owner_column(&t));
	char detail[400];
	snprintf(detail, sizeof detail, "allowed sender %s removed", e.data);
	long removed;
	rc = write_audited(ctx, actor, &t, sql.data, e.data, "spam.allow.remove", detail, &removed, err);
	if (rc == 0 && removed == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s is not an allowed sender of %s (see: ersctl spam show %s)", e.data,
			      t.name.data, t.name.data);
		rc = -1;
	}
out:
	ers_buf_free(&t.name);
	ers_buf_free(&e);
	ers_buf_free(&sql);
	return rc;
}
