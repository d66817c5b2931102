/* Send limits at server, tenant, domain and mailbox level: showing them with
 * the value in force and the level it comes from, and changing them under
 * the policy with one audit row (manual 002 "Email Rate Limiting", manual
 * 003 "Number of mails sent per hour"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

/* The columns of ERS_LIMIT_RAW_COLUMNS, in order: which level and key each
 * holds. */
static const struct {
	enum ers_limit_level level;
	enum ers_limit_key key;
} raw_columns[] = {
	{ ERS_LEVEL_MAILBOX, ERS_LIMIT_PER_MAILBOX },
	{ ERS_LEVEL_DOMAIN, ERS_LIMIT_PER_MAILBOX },
	{ ERS_LEVEL_DOMAIN, ERS_LIMIT_PER_DOMAIN },
	{ ERS_LEVEL_TENANT, ERS_LIMIT_PER_MAILBOX },
	{ ERS_LEVEL_TENANT, ERS_LIMIT_PER_DOMAIN },
	{ ERS_LEVEL_TENANT, ERS_LIMIT_TOTAL },
	{ ERS_LEVEL_SERVER, ERS_LIMIT_PER_MAILBOX },
	{ ERS_LEVEL_SERVER, ERS_LIMIT_PER_DOMAIN },
	{ ERS_LEVEL_SERVER, ERS_LIMIT_TOTAL },
};
#define RAW_NCOLS (sizeof raw_columns / sizeof raw_columns[0])

/* Each level's column for each key (NULL: the level cannot hold it). */
static const char *const level_columns[4][ERS_LIMIT_KEYS] = {
	[ERS_LEVEL_SERVER] = { "per_mailbox", "per_domain", "total" },
	[ERS_LEVEL_TENANT] = { "send_per_mailbox", "send_per_domain", "send_total" },
	[ERS_LEVEL_DOMAIN] = { "send_per_mailbox", "send_per_domain", NULL },
	[ERS_LEVEL_MAILBOX] = { "send_per_hour", NULL, NULL },
};

/* Where each level's row is, and what selects it by $1. */
static const char *const level_from[4] = {
	[ERS_LEVEL_SERVER] = " FROM ers.send_limit_default s LEFT JOIN ers.tenant t ON false"
			     " LEFT JOIN ers.domain d ON false LEFT JOIN ers.mailbox m ON false"
			     " WHERE $1::bigint = 0",
	[ERS_LEVEL_TENANT] = " FROM ers.tenant t CROSS JOIN ers.send_limit_default s"
			     " LEFT JOIN ers.domain d ON false LEFT JOIN ers.mailbox m ON false"
			     " WHERE t.id = $1::bigint",
	[ERS_LEVEL_DOMAIN] = " FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id"
			     " CROSS JOIN ers.send_limit_default s LEFT JOIN ers.mailbox m ON false"
			     " WHERE d.id = $1::bigint",
	[ERS_LEVEL_MAILBOX] = " FROM ers.mailbox m JOIN ers.address_claim c ON c.address = m.address"
			      " JOIN ers.domain d ON d.id = c.domain_id JOIN ers.tenant t ON t.id = m.tenant_id"
			      " CROSS JOIN ers.send_limit_default s WHERE m.id = $1::bigint",
};

const char *ers_limit_level_name(enum ers_limit_level level)
{
	switch (level) {
	case ERS_LEVEL_SERVER: return "server";
	case ERS_LEVEL_TENANT: return "tenant";
	case ERS_LEVEL_DOMAIN: return "domain";
	case ERS_LEVEL_MAILBOX: return "mailbox";
	case ERS_LEVEL_NONE: return "none";
	}
	return "none";
}

const char *ers_limit_key_name(enum ers_limit_key key)
{
	switch (key) {
	case ERS_LIMIT_PER_MAILBOX: return "per-mailbox";
	case ERS_LIMIT_PER_DOMAIN: return "per-domain";
	case ERS_LIMIT_TOTAL: return "total";
	}
	return "unknown";
}

bool ers_limit_settable(enum ers_limit_level level, enum ers_limit_key key)
{
	return level <= ERS_LEVEL_MAILBOX && key < ERS_LIMIT_KEYS && level_columns[level][key];
}

void ers_limits_resolve(const PGresult *res, int row, int first_col, enum ers_limit_level lowest,
			struct ers_limit_value v_r[ERS_LIMIT_KEYS])
{
	for (int k = 0; k < ERS_LIMIT_KEYS; k++)
		v_r[k] = (struct ers_limit_value){ .settable = ers_limit_settable(lowest, (enum ers_limit_key)k),
						   .here = -1, .effective = -1, .from = ERS_LEVEL_NONE };
	/* The columns run from the lowest level up: the first value set for a
	 * key, at `lowest` or above, is the one in force. */
	for (size_t i = 0; i < RAW_NCOLS; i++) {
		enum ers_limit_key k = raw_columns[i].key;
		enum ers_limit_level level = raw_columns[i].level;
		int col = first_col + (int)i;
		if (level > lowest || ers_db_isnull(res, row, col))
			continue;
		if (level == lowest)
			v_r[k].here = ers_db_ll(res, row, col);
		if (v_r[k].from == ERS_LEVEL_NONE) {
			v_r[k].effective = ers_db_ll(res, row, col);
			v_r[k].from = level;
		}
	}
}

void ers_limits_free(struct ers_limits *l)
{
	if (!l)
		return;
	free(l->target);
	free(l->tenant);
	free(l);
}

/* What a key names: the row acted on, with what the policy needs. */
struct target {
	enum ers_limit_level level;
	long long id;          /* the row: tenant, domain or mailbox id; 0 for the server */
	long long tenant_id;   /* 0 for the server */
	struct ers_buf name;   /* "server", the tenant's name, the domain, the address */
	struct ers_authz_target authz;
};

/* Finds what `key` names at `level` and asks the policy on `action` over
 * it.  Something that is not there is refused like something out of reach
 * to an actor that may not see whatever could be there (the same lookups
 * either way); only one who may is told it is not there. */
static int find_target(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
		       enum ers_limit_level level, const char *key, struct target *t, struct ers_error *err)
{
	*t = (struct target){ .level = level, .name = ERS_BUF_INIT };
	switch (level) {
	case ERS_LEVEL_SERVER:
		ers_buf_adds(&t->name, "server");
		break;
	case ERS_LEVEL_TENANT: {
		char *name = NULL;
		if (ers_tenant_resolve_for(ctx, actor, action, NULL, key, &t->id, &name, err) < 0)
			return -1;
		ers_buf_adds(&t->name, name);
		free(name);
		t->tenant_id = t->authz.tenant_id = t->id;
		return 0;
	}
	case ERS_LEVEL_DOMAIN: {
		if (ers_domain_normalize(key, &t->name, err) < 0)
			return -1;
		const char *params[] = { t->name.data };
		PGresult *res = ers_db_exec(ctx, "SELECT id, tenant_id FROM ers.domain WHERE name = $1", 1, params, err);
		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			ers_error_set(err, ERS_E_NOTFOUND, "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)",
				      t->name.data);
			PQclear(res);
			struct ers_authz_target nowhere = { 0 };
			return ers_authz_missing(ctx, actor, action, &nowhere, t->name.data, err);
		}
		t->id = ers_db_ll(res, 0, 0);
		t->tenant_id = ers_db_ll(res, 0, 1);
		PQclear(res);
		break;
	}
	case ERS_LEVEL_MAILBOX: {
		if (ers_address_normalize(key, &t->name, err) < 0)
			return -1;
		/* The mailbox, and where one would be: one query either way. */
		const char *params[] = { t->name.data };
		PGresult *res = ers_db_exec(ctx, "SELECT m.id, m.tenant_id, m.role,"
					    " (SELECT tenant_id FROM ers.domain WHERE name = split_part($1, '@', 2))"
					    " FROM (SELECT 1) one LEFT JOIN ers.mailbox m ON m.address = $1", 1, params, err);
		if (!res)
			return -1;
		if (ers_db_isnull(res, 0, 0)) {
			ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", t->name.data);
			struct ers_authz_target where = { .tenant_id = ers_db_isnull(res, 0, 3) ? 0 : ers_db_ll(res, 0, 3),
							  .is_user = true };
			PQclear(res);
			return ers_authz_missing(ctx, actor, action, &where, t->name.data, err);
		}
		t->id = ers_db_ll(res, 0, 0);
		t->tenant_id = ers_db_ll(res, 0, 1);
		t->authz.user_id = t->id;
		t->authz.is_user = true;
		t->authz.user_role = ers_role_from_db(ers_db_str(res, 0, 2));
		PQclear(res);
		break;
	}
	case ERS_LEVEL_NONE:
		ERS_BUG("limits of no level");
	}
	t->authz.tenant_id = t->tenant_id;
	return ers_authz_require(ctx, actor, action, &t->authz, t->name.data, err);
}

/* Reads the limits of a target the policy allowed, with this hour's counts. */
static int load(struct ers_ctx *ctx, const struct target *t, struct ers_limits **limits_r, struct ers_error *err)
{
	struct ers_num id = ers_num(t->id);
	const char *params[] = { id.s };
	struct ers_buf sql = ERS_BUF_INIT;
	/* 0-2: the ids whose counters apply; 3: the tenant's name; then the limits */
	ers_buf_addf(&sql, "SELECT m.id, d.id, t.id, t.name, " ERS_LIMIT_RAW_COLUMNS "%s", level_from[t->level]);
	PGresult *res = ers_db_exec(ctx, sql.data, 1, params, err);
	ers_buf_free(&sql);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s %s was deleted meanwhile", ers_limit_level_name(t->level),
			      t->name.data);
		PQclear(res);
		return -1;
	}
	struct ers_limits *l = ers_xcalloc(1, sizeof *l);
	l->level = t->level;
	l->target = ers_xstrdup(t->name.data);
	l->tenant = ers_xstrdup(ers_db_str(res, 0, 3));
	ers_limits_resolve(res, 0, 4, t->level, l->v);
	long long mid = ers_db_ll(res, 0, 0), did = ers_db_ll(res, 0, 1), tid = ers_db_ll(res, 0, 2);
	PQclear(res);
	l->sent[ERS_LIMIT_PER_MAILBOX] = l->sent[ERS_LIMIT_PER_DOMAIN] = l->sent[ERS_LIMIT_TOTAL] = -1;
	if (t->level == ERS_LEVEL_MAILBOX) {
		long long per_mailbox = l->v[ERS_LIMIT_PER_MAILBOX].effective;
		l->sending_disabled = per_mailbox == 0 || per_mailbox == 1;
	}
	if (t->level != ERS_LEVEL_SERVER) {
		struct ers_num m = ers_num(mid), d = ers_num(did), tn = ers_num(tid);
		const char *cparams[] = { mid > 0 ? m.s : NULL, did > 0 ? d.s : NULL, tn.s };
		res = ers_db_exec(ctx,
			"SELECT coalesce(sum(count) FILTER (WHERE scope = 'mailbox'), 0),"
			" coalesce(sum(count) FILTER (WHERE scope = 'domain'), 0),"
			" coalesce(sum(count) FILTER (WHERE scope = 'tenant'), 0)"
			" FROM ers.send_count WHERE hour = " ERS_SQL_SEND_HOUR
			" AND ((scope = 'mailbox' AND scope_id = $1::bigint) OR (scope = 'domain' AND scope_id = $2::bigint)"
			" OR (scope = 'tenant' AND scope_id = $3::bigint))", 3, cparams, err);
		if (!res) {
			ers_limits_free(l);
			return -1;
		}
		if (mid > 0)
			l->sent[ERS_LIMIT_PER_MAILBOX] = ers_db_ll(res, 0, 0);
		if (did > 0)
			l->sent[ERS_LIMIT_PER_DOMAIN] = ers_db_ll(res, 0, 1);
		l->sent[ERS_LIMIT_TOTAL] = ers_db_ll(res, 0, 2);
		PQclear(res);
	}
	*limits_r = l;
	return 0;
}

int ers_limits_show(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_limit_level level,
		    const char *key, struct ers_limits **limits_r, struct ers_error *err)
{
	struct target t;
	int rc = find_target(ctx, actor, ERS_ACT_LIMITS_VIEW, level, key, &t, err);
	if (rc == 0)
		rc = load(ctx, &t, limits_r, err);
	ers_buf_free(&t.name);
	return rc;
}

/* Refuses a change that sets nothing, a key the level cannot hold, or a
 * value out of range -- before anything is looked up. */
static int check_change(enum ers_limit_level level, const struct ers_limit_change *ch, struct ers_error *err)
{
	bool any = false;
	struct ers_buf allowed = ERS_BUF_INIT;
	for (int k = 0; k < ERS_LIMIT_KEYS; k++)
		if (ers_limit_settable(level, (enum ers_limit_key)k))
			ers_buf_addf(&allowed, "%s--%s", allowed.len ? ", " : "", ers_limit_key_name((enum ers_limit_key)k));
	int rc = 0;
	for (int k = 0; k < ERS_LIMIT_KEYS && rc == 0; k++) {
		if (!ch->set[k])
			continue;
		any = true;
		const char *name = ers_limit_key_name((enum ers_limit_key)k);
		if (!ers_limit_settable(level, (enum ers_limit_key)k)) {
			ers_error_set(err, ERS_E_INVALID, "--%s cannot be set at %s level; allowed there: %s",
				      name, ers_limit_level_name(level), allowed.data);
			rc = -1;
		} else if (ch->value[k] < -1 || ch->value[k] > ERS_SEND_LIMIT_MAX) {
			ers_error_set(err, ERS_E_INVALID, "--%s must be 0..%lld emails per hour or inherit, got %lld", name,
				      ERS_SEND_LIMIT_MAX, ch->value[k]);
			rc = -1;
		}
	}
	if (rc == 0 && !any) {
		ers_error_set(err, ERS_E_INVALID, "nothing to change: give at least one of %s (N or inherit)", allowed.data);
		rc = -1;
	}
	ers_buf_free(&allowed);
	return rc;
}

static void value_text(struct ers_buf *b, long long v)
{
	if (v < 0)
		ers_buf_adds(b, "inherit");
	else
		ers_buf_addf(b, "%lld", v);
}

/* In the transaction: locks the row, writes the new values, and describes
 * the change ("per-mailbox inherit -> 100, total 5000 -> inherit"). */
static int write_change(struct ers_ctx *ctx, const struct target *t, const struct ers_limit_change *ch,
			struct ers_buf *detail, struct ers_error *err)
{
	static const char *const tables[4] = {
		[ERS_LEVEL_SERVER] = "ers.send_limit_default", [ERS_LEVEL_TENANT] = "ers.tenant",
		[ERS_LEVEL_DOMAIN] = "ers.domain", [ERS_LEVEL_MAILBOX] = "ers.mailbox",
	};
	const char *const *cols = level_columns[t->level];
	struct ers_num id = ers_num(t->id);
	struct ers_num values[ERS_LIMIT_KEYS];
	const char *params[1 + ERS_LIMIT_KEYS] = { id.s };
	int nparams = 1;
	/* Column names come from the tables above, never from the caller;
	 * values go as parameters. */
	struct ers_buf sel = ERS_BUF_INIT, upd = ERS_BUF_INIT;
	ers_buf_adds(&sel, "SELECT ");
	ers_buf_addf(&upd, "UPDATE %s SET %s", tables[t->level],
		     t->level == ERS_LEVEL_DOMAIN ? "" : "updated_at = now()");
	bool first_upd = t->level == ERS_LEVEL_DOMAIN;
	for (int k = 0; k < ERS_LIMIT_KEYS; k++) {
		if (!ch->set[k])
			continue;
		ers_buf_addf(&sel, "%s%s", nparams > 1 ? ", " : "", cols[k]);
		values[k] = ers_num(ch->value[k]);
		params[nparams] = ch->value[k] < 0 ? NULL : values[k].s;
		nparams++;
		ers_buf_addf(&upd, "%s%s = $%d::bigint", first_upd ? "" : ", ", cols[k], nparams);
		first_upd = false;
	}
	const char *where = t->level == ERS_LEVEL_SERVER ? " WHERE $1::bigint = 0" : " WHERE id = $1::bigint";
	ers_buf_addf(&sel, " FROM %s%s FOR UPDATE", tables[t->level], where);
	ers_buf_adds(&upd, where);
	int rc = -1;
	PGresult *res = ers_db_exec(ctx, sel.data, 1, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) != 1) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s %s was deleted meanwhile", ers_limit_level_name(t->level),
			      t->name.data);
		PQclear(res);
		goto out;
	}
	for (int k = 0, col = 0; k < ERS_LIMIT_KEYS; k++) {
		if (!ch->set[k])
			continue;
		ers_buf_addf(detail, "%s%s ", detail->len ? ", " : "", ers_limit_key_name((enum ers_limit_key)k));
		value_text(detail, ers_db_ll(res, 0, col++));
		ers_buf_adds(detail, " -> ");
		value_text(detail, ch->value[k]);
	}
	PQclear(res);
	rc = ers_db_run(ctx, upd.data, nparams, params, err);
out:
	ers_buf_free(&sel);
	ers_buf_free(&upd);
	return rc;
}

int ers_limits_set(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_limit_level level,
		   const char *key, const struct ers_limit_change *change, struct ers_limits **limits_r,
		   struct ers_error *err)
{
	if (check_change(level, change, err) < 0)
		return -1;
	struct target t;
	struct ers_buf detail = ERS_BUF_INIT;
	enum ers_action action = level <= ERS_LEVEL_TENANT ? ERS_ACT_LIMITS_SET_TENANT : ERS_ACT_LIMITS_SET;
	int rc = find_target(ctx, actor, action, level, key, &t, err);
	if (rc == 0)
		rc = ers_db_begin(ctx, err);
	if (rc == 0) {
		if (write_change(ctx, &t, change, &detail, err) < 0) {
			ers_db_rollback(ctx);
			rc = -1;
		} else {
			ers_buf_addf(&detail, " (%s level)", ers_limit_level_name(level));
			rc = ers_db_commit_audited(ctx, actor, "limits.set", t.name.data, t.tenant_id, NULL, detail.data, err);
		}
	}
	if (rc == 0)
		rc = load(ctx, &t, limits_r, err);
	ers_buf_free(&t.name);
	ers_buf_free(&detail);
	return rc;
}
