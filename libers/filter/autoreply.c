/* The autoresponder of a mailbox (ers/autoreply.h): checked, stored in
 * ers.autoreply with one audit row per change.  The Sieve script itself is
 * built by the view ers_mail.autoreply_scripts, so that the mailbox's
 * aliases and the dates are always current. */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "filter/internal.h"

/* A day as YYYY-MM-DD that exists (no 2026-02-30). */
static bool valid_date(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return false;
	struct tm check = tm;
	check.tm_hour = 12;
	if (timegm(&check) == (time_t)-1)
		return false;
	return check.tm_mday == tm.tm_mday && check.tm_mon == tm.tm_mon && tm.tm_year >= 70 && tm.tm_year < 8100;
}

/* Valid UTF-8 without control characters (tabs and, when `lines`, CR/LF
 * allowed). */
static const char *bad_text(const char *s, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f) {
			if (*p == '\t' || (lines && (*p == '\n' || *p == '\r'))) {
				p++;
				continue;
			}
			return *p == '\n' || *p == '\r' ? "a line break" : "a control character";
		}
		int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || (n == 2 && *p < 0xc2))
			return "bytes that are not UTF-8";
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return "bytes that are not UTF-8";
		p += n;
	}
	return NULL;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

int ers_autoreply_validate(const struct ers_autoreply_input *in, struct ers_error *err)
{
	const char *subject = in->subject ? in->subject : "", *message = in->message ? in->message : "";
	const char *start = in->starts_on ? in->starts_on : "", *end = in->ends_on ? in->ends_on : "";
	const char *why;
	if (!*subject || utf8_chars(subject) > ERS_AUTOREPLY_SUBJECT_MAX)
		return ers_error_set(err, ERS_E_INVALID, "the autoresponder's subject must be 1 to %d characters, got %zu",
				     ERS_AUTOREPLY_SUBJECT_MAX, utf8_chars(subject)), -1;
	if ((why = bad_text(subject, false)))
		return ers_error_set(err, ERS_E_INVALID, "the autoresponder's subject must be one line of text, got %s in it", why), -1;
	if (!*message || strlen(message) > ERS_AUTOREPLY_MESSAGE_MAX)
		return ers_error_set(err, ERS_E_INVALID, "the autoresponder's message must be 1 to %d bytes (64 KB), got %zu",
				     ERS_AUTOREPLY_MESSAGE_MAX, strlen(message)), -1;
	if ((why = bad_text(message, true)))
		return ers_error_set(err, ERS_E_INVALID, "the autoresponder's message must be text, got %s in it", why), -1;
	if (*start && !valid_date(start))
		return ers_error_set(err, ERS_E_INVALID, "start date must be a day as YYYY-MM-DD, got \"%.40s\"", start), -1;
	if (*end && !valid_date(end))
		return ers_error_set(err, ERS_E_INVALID, "end date must be a day as YYYY-MM-DD, got \"%.40s\"", end), -1;
	if (*start && *end && strcmp(end, start) < 0)
		return ers_error_set(err, ERS_E_INVALID, "end date %s is before start date %s: the end must be on or after the start",
				     end, start), -1;
	if (in->interval_days < 0 || in->interval_days > ERS_AUTOREPLY_INTERVAL_MAX)
		return ers_error_set(err, ERS_E_INVALID, "the interval must be 1 to %d days, got %d",
				     ERS_AUTOREPLY_INTERVAL_MAX, in->interval_days), -1;
	return 0;
}

int ers_autoreply_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      struct ers_autoreply *r, struct ers_error *err)
{
	struct ers_mailbox_ref ref;
	memset(r, 0, sizeof *r);
	r->message = ers_xstrdup("");
	r->interval_days = 1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_AUTOREPLY_VIEW, false, NULL, &ref, NULL, err) < 0)
		return -1;
	snprintf(r->address, sizeof r->address, "%s", ref.address);
	const char *params[] = { ers_num(ref.id).s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT r.mailbox_id IS NOT NULL, coalesce(r.enabled, false), coalesce(r.subject, ''),"
		" coalesce(r.message, ''), coalesce(r.starts_on::text, ''), coalesce(r.ends_on::text, ''),"
		" coalesce(r.interval_days, 1), t.time_zone, " ERS_SQL_TIME("r.updated_at") ", coalesce(r.updated_by, ''),"
		" EXISTS (SELECT 1 FROM ers_mail.autoreply_scripts s WHERE s.username = m.address)"
		" FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id"
		" LEFT JOIN ers.autoreply r ON r.mailbox_id = m.id WHERE m.id = $1::bigint",
		1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		r->configured = ers_db_str(res, 0, 0)[0] == 't';
		r->enabled = ers_db_str(res, 0, 1)[0] == 't';
		snprintf(r->subject, sizeof r->subject, "%s", ers_db_str(res, 0, 2));
		free(r->message);
		r->message = ers_xstrdup(ers_db_str(res, 0, 3));
		snprintf(r->starts_on, sizeof r->starts_on, "%s", ers_db_str(res, 0, 4));
		snprintf(r->ends_on, sizeof r->ends_on, "%s", ers_db_str(res, 0, 5));
		r->interval_days = (int)ers_db_ll(res, 0, 6);
		snprintf(r->time_zone, sizeof r->time_zone, "%s", ers_db_str(res, 0, 7));
		ers_db_time(r->updated_at, res, 0, 8);
		snprintf(r->updated_by, sizeof r->updated_by, "%s", ers_db_str(res, 0, 9));
		r->active = ers_db_str(res, 0, 10)[0] == 't';
	}
	PQclear(res);
	return 0;
}

int ers_autoreply_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      const struct ers_autoreply_input *in, struct ers_error *err)
{
	struct ers_mailbox_ref ref;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_AUTOREPLY_SET, true, NULL, &ref, NULL, err) < 0)
		return -1; /* rolled back */
	if (ers_autoreply_validate(in, err) < 0)
		goto rollback;
	char interval[16];
	snprintf(interval, sizeof interval, "%d", in->interval_days ? in->interval_days : 1);
	const char *start = in->starts_on && *in->starts_on ? in->starts_on : NULL;
	const char *end = in->ends_on && *in->ends_on ? in->ends_on : NULL;
	const char *params[] = { ers_num(ref.id).s, ers_num(ref.tenant_id).s, in->enabled ? "t" : "f", in->subject,
				 in->message, start, end, interval, actor->name };
	if (ers_db_run(ctx,
		       "INSERT INTO ers.autoreply (mailbox_id, tenant_id, enabled, subject, message, starts_on, ends_on,"
		       " interval_days, updated_by) VALUES ($1::bigint, $2::bigint, $3::boolean, $4, $5, $6::date, $7::date,"
		       " $8::integer, $9) ON CONFLICT (mailbox_id) DO UPDATE SET enabled = EXCLUDED.enabled,"
		       " subject = EXCLUDED.subject, message = EXCLUDED.message, starts_on = EXCLUDED.starts_on,"
		       " ends_on = EXCLUDED.ends_on, interval_days = EXCLUDED.interval_days, updated_at = now(),"
		       " updated_by = EXCLUDED.updated_by",
		       9, params, err) < 0)
		goto rollback;
	char detail[200];
	snprintf(detail, sizeof detail, "%s, from %s to %s, every %s day(s)", in->enabled ? "on" : "off",
		 start ? start : "-", end ? end : "-", interval);
	return ers_db_commit_audited(ctx, actor, "autoreply.set", ref.address, ref.tenant_id, ref.tenant, detail, err);
rollback:
	ers_db_rollback(ctx);
	return -1;
}

int ers_autoreply_off(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      bool *was_on_r, struct ers_error *err)
{
	struct ers_mailbox_ref ref;
	*was_on_r = false;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_AUTOREPLY_SET, true, NULL, &ref, NULL, err) < 0)
		return -1;
	const char *params[] = { ers_num(ref.id).s, actor->name };
	PGresult *res = ers_db_exec(ctx,
		"UPDATE ers.autoreply SET enabled = false, updated_at = now(), updated_by = $2"
		" WHERE mailbox_id = $1::bigint AND enabled RETURNING 1", 2, params, err);
	if (!res)
		goto rollback;
	*was_on_r = PQntuples(res) > 0;
	PQclear(res);
	if (!*was_on_r) {
		ers_db_rollback(ctx);
		return 0;
	}
	return ers_db_commit_audited(ctx, actor, "autoreply.off", ref.address, ref.tenant_id, ref.tenant, "off", err);
rollback:
	ers_db_rollback(ctx);
	return -1;
}

void ers_autoreply_free(struct ers_autoreply *r)
{
	if (!r)
		return;
	free(r->message);
	r->message = NULL;
}

int ers_autoreply_active_among(struct ers_ctx *ctx, const struct ers_actor *actor, const char *const *addresses,
			       size_t n, bool *active, struct ers_error *err)
{
	for (size_t i = 0; i < n; i++)
		active[i] = false;
	if (!n)
		return 0;
	/* One query for the page: the addresses as one text array. */
	struct ers_buf list = ERS_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		ers_buf_addf(&list, "%s%s", i ? "\n" : "", addresses[i]);
	const char *params[] = { list.data };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.address, m.id, m.tenant_id, m.role FROM ers.mailbox m"
		" JOIN ers_mail.autoreply_scripts s ON s.username = m.address"
		" WHERE m.address = ANY (string_to_array($1, E'\\n'))", 1, params, err);
	ers_buf_free(&list);
	if (!res)
		return -1;
	for (int row = 0; row < PQntuples(res); row++) {
		struct ers_authz_target t = { .tenant_id = ers_db_ll(res, row, 2), .user_id = ers_db_ll(res, row, 1),
					      .is_user = true, .user_role = ers_role_from_db(ers_db_str(res, row, 3)) };
		struct ers_error denied;
		if (ers_authz_check(actor, ERS_ACT_AUTOREPLY_VIEW, &t, &denied) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(addresses[i], ers_db_str(res, row, 0)))
				active[i] = true;
	}
	PQclear(res);
	return 0;
}
