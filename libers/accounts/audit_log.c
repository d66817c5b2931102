/* Reading the audit log: an operation above the policy and the writer
 * (core/audit_write.c), which do not ask each other. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

/* "30m", "12h", "7d", "2w" become a PostgreSQL interval; NULL otherwise. */
static bool span_to_interval(const char *s, char *out, size_t cap)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 6 || strlen(s) != digits + 1)
		return false;
	const char *unit;
	switch (s[digits]) {
	case 's': unit = "seconds"; break;
	case 'm': unit = "minutes"; break;
	case 'h': unit = "hours"; break;
	case 'd': unit = "days"; break;
	case 'w': unit = "weeks"; break;
	default: return false;
	}
	snprintf(out, cap, "%.*s %s", (int)digits, s, unit);
	return true;
}

static bool looks_like_time(const char *s)
{
	/* YYYY-MM-DD, optionally followed by a time; PostgreSQL parses the rest. */
	return strlen(s) >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-';
}

int ers_audit_list(struct ers_ctx *ctx, const struct ers_actor *actor,
		   const struct ers_audit_filter *filter, struct ers_audit_list **list_r,
		   struct ers_error *err)
{
	struct ers_authz_target own = { .tenant_id = actor->tenant_id };
	if (ers_authz_require(ctx, actor, ERS_ACT_AUDIT_VIEW,
			      actor->role == ERS_ROLE_TENANT_ADMIN ? &own : NULL, "audit log", err) < 0)
		return -1;
	char interval[64] = "", limit[16];
	const char *since_time = NULL;
	if ((filter->tenant && ers_text_check(filter->tenant, "--tenant", ERS_TENANT_NAME_MAX, err) < 0) ||
	    (filter->actor && ers_text_check(filter->actor, "--actor", 320, err) < 0))
		return -1;
	if (filter->since) {
		if (!span_to_interval(filter->since, interval, sizeof interval)) {
			if (!looks_like_time(filter->since)) {
				ers_error_set(err, ERS_E_INVALID,
					      "--since must be a time like 2026-11-22 or 2026-11-22T10:00Z, or a span ago like 30m, 12h, 7d, 2w; got \"%.60s\"",
					      filter->since);
				return -1;
			}
			since_time = filter->since;
		}
	}
	if (filter->limit < 0 || filter->limit > 100000) {
		ers_error_set(err, ERS_E_INVALID, "--limit must be 1..100000, got %d", filter->limit);
		return -1;
	}
	snprintf(limit, sizeof limit, "%d", filter->limit ? filter->limit : 100);
	struct ers_num own_tenant = ers_num(actor->tenant_id);
	const char *params[] = {
		filter->tenant, filter->actor, interval[0] ? interval : NULL, since_time, limit,
		actor->role == ERS_ROLE_TENANT_ADMIN ? own_tenant.s : NULL,
	};
	PGresult *res = ers_db_exec(ctx,
		"SELECT id, " ERS_SQL_TIME("at") ", actor, coalesce(via, ''), action, target,"
		" coalesce(tenant_name, ''), outcome, coalesce(detail, '')"
		" FROM ers.audit_log"
		" WHERE ($1::text IS NULL OR lower(tenant_name) = lower($1)"
		"        OR tenant_id = (SELECT id FROM ers.tenant WHERE lower(name) = lower($1)))"
		"   AND ($2::text IS NULL OR actor = $2 OR via = $2 OR actor = 'operator:' || $2)"
		"   AND ($3::interval IS NULL OR at >= now() - $3::interval)"
		"   AND ($4::timestamptz IS NULL OR at >= $4::timestamptz)"
		"   AND ($6::bigint IS NULL OR tenant_id = $6::bigint)"
		" ORDER BY id DESC LIMIT $5::int",
		6, params, err);
	if (!res) {
		if (err->code == ERS_E_INVALID && filter->since) /* the other values are checked above */
			ers_error_set(err, ERS_E_INVALID, "--since \"%.60s\" is not a time PostgreSQL understands; use 2026-11-22T10:00Z or a span like 12h",
				      filter->since);
		return -1;
	}
	struct ers_audit_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++) {
		struct ers_audit_entry *e = &list->items[r];
		e->id = ers_db_ll(res, r, 0);
		ers_db_time(e->at, res, r, 1);
		const char *by = ers_db_str(res, r, 3);
		if (*by) { /* "user@x (as by operator:root)" reads better than two columns */
			struct ers_buf b = ERS_BUF_INIT;
			ers_buf_addf(&b, "%s (via %s)", ers_db_str(res, r, 2), by);
			e->actor = ers_buf_detach(&b);
		} else {
			e->actor = ers_xstrdup(ers_db_str(res, r, 2));
		}
		e->action = ers_xstrdup(ers_db_str(res, r, 4));
		e->target = ers_xstrdup(ers_db_str(res, r, 5));
		e->tenant = ers_xstrdup(ers_db_str(res, r, 6));
		e->outcome = ers_xstrdup(ers_db_str(res, r, 7));
		e->detail = ers_xstrdup(ers_db_str(res, r, 8));
	}
	PQclear(res);
	*list_r = list;
	return 0;
}

void ers_audit_list_free(struct ers_audit_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		struct ers_audit_entry *e = &list->items[i];
		free(e->actor);
		free(e->action);
		free(e->target);
		free(e->tenant);
		free(e->outcome);
		free(e->detail);
	}
	free(list->items);
	free(list);
}
