/* A user's "Account activity" (issue 21): their own logins and every
 * session an administrator opened as them ("Log in as mailbox owner",
 * manual 003), with the reason given -- read from the audit log, which
 * keeps them after the sessions are gone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"
#include "ers/session.h"

int ers_account_activity(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, int limit,
			 struct ers_activity_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	struct ers_mailbox_ref ref;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_USER_VIEW, false, NULL, &ref, NULL, err) < 0)
		return -1;
	struct ers_num lim = ers_num(limit > 0 && limit <= 1000 ? limit : 50);
	const char *params[] = { ref.address, lim.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT " ERS_SQL_TIME("at") ", action = 'session.impersonate', actor, coalesce(detail, '')"
		" FROM ers.audit_log WHERE target = $1 AND outcome = 'ok'"
		" AND action IN ('session.login', 'session.impersonate')"
		" ORDER BY id DESC LIMIT $2::int", 2, params, err);
	if (!res)
		return -1;
	struct ers_activity_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count ? l->count : 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++) {
		struct ers_activity_entry *e = &l->items[i];
		snprintf(e->at, sizeof e->at, "%s", ers_db_str(res, (int)i, 0));
		e->by_admin = ers_db_str(res, (int)i, 1)[0] == 't';
		e->who = ers_xstrdup(ers_db_str(res, (int)i, 2));
		e->detail = ers_xstrdup(ers_db_str(res, (int)i, 3));
	}
	PQclear(res);
	*list_r = l;
	return 0;
}

void ers_activity_list_free(struct ers_activity_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].who);
		free(l->items[i].detail);
	}
	free(l->items);
	free(l);
}
