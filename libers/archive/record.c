/* The record of an archive job (a row of ers.archive): read back, listed,
 * shown, and loaded for an action after the policy allowed it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

#define ARCHIVE_COLUMNS \
	"a.id, a.address, t.name, a.tenant_id, a.kind, a.created_by, a.folders, a.older_than_days, " \
	ERS_SQL_TIME("a.cutoff") ", a.format, a.delete_after, a.state, a.messages, a.plain_bytes, a.bytes, " \
	"a.expunged, a.sha256, a.path, a.error, " ERS_SQL_TIME("a.created_at") ", " ERS_SQL_TIME("a.finished_at") \
	", coalesce(a.mailbox_id, 0), a.owner_role, a.destination, a.remote_url"
#define ARCHIVE_FROM " FROM ers.archive a JOIN ers.tenant t ON t.id = a.tenant_id"

static char *dup_or_null(const PGresult *res, int r, int c)
{
	return ers_db_isnull(res, r, c) ? NULL : ers_xstrdup(ers_db_str(res, r, c));
}

/* A text[] column ({a,"b c"}) into strings. */
static void parse_array(const char *s, char ***items_r, size_t *n_r)
{
	char **items = NULL;
	size_t n = 0;
	if (*s == '{')
		s++;
	while (*s && *s != '}') {
		struct ers_buf b = ERS_BUF_INIT;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				ers_buf_addch(&b, *s++);
			}
			if (*s == '"')
				s++;
		} else {
			while (*s && *s != ',' && *s != '}')
				ers_buf_addch(&b, *s++);
		}
		items = ers_xrealloc(items, (n + 1) * sizeof *items);
		items[n++] = ers_buf_detach(&b);
		if (*s == ',')
			s++;
	}
	*items_r = items;
	*n_r = n;
}

static void fill(struct ers_archive *a, const PGresult *res, int r)
{
	a->id = ers_db_ll(res, r, 0);
	a->address = ers_xstrdup(ers_db_str(res, r, 1));
	a->tenant = ers_xstrdup(ers_db_str(res, r, 2));
	a->tenant_id = ers_db_ll(res, r, 3);
	a->kind = ers_xstrdup(ers_db_str(res, r, 4));
	a->created_by = ers_xstrdup(ers_db_str(res, r, 5));
	parse_array(ers_db_str(res, r, 6), &a->folders, &a->nfolders);
	a->older_than_days = (int)ers_db_ll(res, r, 7);
	snprintf(a->cutoff, sizeof a->cutoff, "%s", ers_db_str(res, r, 8));
	a->format = ers_xstrdup(ers_db_str(res, r, 9));
	a->delete_after = ers_db_str(res, r, 10)[0] == 't';
	a->state = ers_xstrdup(ers_db_str(res, r, 11));
	a->messages = ers_db_ll(res, r, 12);
	a->plain_bytes = ers_db_ll(res, r, 13);
	a->bytes = ers_db_ll(res, r, 14);
	a->expunged = ers_db_ll(res, r, 15);
	a->sha256 = dup_or_null(res, r, 16);
	a->path = dup_or_null(res, r, 17);
	a->error = dup_or_null(res, r, 18);
	snprintf(a->created_at, sizeof a->created_at, "%s", ers_db_str(res, r, 19));
	snprintf(a->finished_at, sizeof a->finished_at, "%s", ers_db_str(res, r, 20));
	a->destination = ers_xstrdup(ers_db_str(res, r, 23));
	a->remote_url = dup_or_null(res, r, 24);
}

static void clear(struct ers_archive *a)
{
	free(a->address);
	free(a->tenant);
	free(a->kind);
	free(a->created_by);
	for (size_t i = 0; i < a->nfolders; i++)
		free(a->folders[i]);
	free(a->folders);
	free(a->format);
	free(a->state);
	free(a->sha256);
	free(a->path);
	free(a->error);
	free(a->destination);
	free(a->remote_url);
}

void ers_archive_free(struct ers_archive *a)
{
	if (!a)
		return;
	clear(a);
	free(a);
}

void ers_archive_list_free(struct ers_archive_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		clear(&list->items[i]);
	free(list->items);
	free(list);
}

/* Who the policy sees behind an archive: its user for a personal one,
 * the tenant as a whole for a tenant one. */
static struct ers_authz_target archive_target(const char *kind, long long tenant_id, long long mailbox_id,
					      const char *owner_role)
{
	if (!strcmp(kind, "personal"))
		return (struct ers_authz_target){ .tenant_id = tenant_id, .user_id = mailbox_id, .is_user = true,
						  .user_role = ers_role_from_db(owner_role) };
	return (struct ers_authz_target){ .tenant_id = tenant_id };
}

/* Archive `id` after the policy allowed `action` on it; one that does not
 * exist is refused like one out of reach to who may not see every one. */
int ers_archive_load_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, long long id,
		    struct ers_archive **a_r, struct ers_authz_target *target_r, struct ers_error *err)
{
	*a_r = NULL;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM " WHERE a.id = $1::bigint", 1, params,
				    err);
	if (!res)
		return -1;
	char desc[40];
	snprintf(desc, sizeof desc, "archive %lld", id);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no archive %lld (see: ersctl archive list)", id);
		struct ers_authz_target nowhere = { .is_user = true };
		return ers_authz_missing(ctx, actor, action, &nowhere, desc, err);
	}
	struct ers_archive *a = ers_xcalloc(1, sizeof *a);
	fill(a, res, 0);
	struct ers_authz_target t = archive_target(a->kind, a->tenant_id, ers_db_ll(res, 0, 21), ers_db_str(res, 0, 22));
	PQclear(res);
	if (ers_authz_require(ctx, actor, action, &t, desc, err) < 0) {
		ers_archive_free(a);
		return -1;
	}
	if (target_r)
		*target_r = t;
	*a_r = a;
	return 0;
}

int ers_archive_load_plain(struct ers_ctx *ctx, long long id, struct ers_archive **a_r, struct ers_error *err)
{
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM " WHERE a.id = $1::bigint", 1, params,
				    err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no archive %lld", id);
		return -1;
	}
	struct ers_archive *a = ers_xcalloc(1, sizeof *a);
	fill(a, res, 0);
	PQclear(res);
	*a_r = a;
	return 0;
}

int ers_archive_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_filter *f,
		     struct ers_archive_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_ARCHIVE_VIEW, f->tenant, "archives", &sc, err) < 0)
		return -1;
	struct ers_num tid = ers_num(sc.tenant_id), self = ers_num(actor->user_id);
	const char *params[] = { sc.tenant_id ? tid.s : NULL, sc.self_only ? self.s : NULL, sc.regular_only ? "t" : NULL,
				 f->failed_only ? "t" : NULL, self.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM
				    " WHERE ($1::bigint IS NULL OR a.tenant_id = $1::bigint)"
				    " AND ($2::bigint IS NULL OR (a.kind = 'personal' AND a.mailbox_id = $2::bigint))"
				    " AND ($3::bool IS NULL OR a.kind = 'tenant' OR a.owner_role = 'user' OR a.mailbox_id = $5::bigint)"
				    " AND ($4::bool IS NULL OR a.state = 'failed' OR a.error IS NOT NULL)"
				    " ORDER BY a.id", 5, params, err);
	if (!res)
		return -1;
	struct ers_archive_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count ? l->count : 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++)
		fill(&l->items[i], res, (int)i);
	PQclear(res);
	*list_r = l;
	return 0;
}

int ers_archive_show(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		     struct ers_error *err)
{
	return ers_archive_load_for(ctx, actor, ERS_ACT_ARCHIVE_VIEW, id, a_r, NULL, err);
}
