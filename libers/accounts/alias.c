/* Aliases: further addresses of one user's mailbox, in the domains of the
 * user's own tenant (manual 000 "Managing Email Aliases"; manual 003). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

#define ALIAS_COLUMNS \
	"a.id, a.address, split_part(a.address, '@', 2), t.name, a.tenant_id, m.address, a.internal_only, " \
	ERS_SQL_TIME("a.created_at") ", m.id, m.role"
#define ALIAS_FROM " FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id JOIN ers.tenant t ON t.id = a.tenant_id"

static void fill_alias(struct ers_alias *a, const PGresult *res, int r)
{
	a->id = ers_db_ll(res, r, 0);
	a->address = ers_xstrdup(ers_db_str(res, r, 1));
	a->domain = ers_xstrdup(ers_db_str(res, r, 2));
	a->tenant = ers_xstrdup(ers_db_str(res, r, 3));
	a->tenant_id = ers_db_ll(res, r, 4);
	a->user = ers_xstrdup(ers_db_str(res, r, 5));
	a->internal_only = ers_db_str(res, r, 6)[0] == 't';
	ers_db_time(a->created_at, res, r, 7);
}

static void alias_clear(struct ers_alias *a)
{
	free(a->address);
	free(a->domain);
	free(a->tenant);
	free(a->user);
}

void ers_alias_free(struct ers_alias *a)
{
	if (!a)
		return;
	alias_clear(a);
	free(a);
}

void ers_alias_list_free(struct ers_alias_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		alias_clear(&list->items[i]);
	free(list->items);
	free(list->next_after);
	free(list);
}

/* The policy's view of the user an alias delivers to. */
static struct ers_authz_target user_target(long long tenant_id, long long user_id, const char *role)
{
	return (struct ers_authz_target){ .tenant_id = tenant_id, .user_id = user_id, .is_user = true,
					  .user_role = ers_role_from_db(role) };
}

static int load(struct ers_ctx *ctx, const char *address, bool lock, struct ers_alias **alias_r,
		struct ers_authz_target *target_r, struct ers_error *err)
{
	const char *params[] = { address };
	PGresult *res = ers_db_exec(ctx, lock ? "SELECT " ALIAS_COLUMNS ALIAS_FROM " WHERE a.address = $1 FOR UPDATE OF a"
					      : "SELECT " ALIAS_COLUMNS ALIAS_FROM " WHERE a.address = $1",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "no alias %s (see: ersctl alias list)", address);
		PQclear(res);
		return -1;
	}
	struct ers_alias *a = ers_xcalloc(1, sizeof *a);
	fill_alias(a, res, 0);
	if (target_r)
		*target_r = user_target(a->tenant_id, ers_db_ll(res, 0, 8), ers_db_str(res, 0, 9));
	PQclear(res);
	*alias_r = a;
	return 0;
}

/* Inside a transaction: refusal -> rollback, then the audit row. */
static int deny_in_tx(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target,
		      long long tenant_id, struct ers_error *err)
{
	ers_db_rollback(ctx);
	ers_audit_denied(ctx, actor, ers_action_name(ERS_ACT_ALIAS_MANAGE), target, tenant_id, err->message);
	return -1;
}

int ers_alias_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_spec *spec,
		  struct ers_alias **alias_r, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT, user = ERS_BUF_INIT;
	int rc = -1;
	if (ers_address_normalize(spec->address, &address, err) < 0)
		goto out;
	if (!spec->user) {
		ers_error_set(err, ERS_E_INVALID, "an alias needs the user it delivers to (--to)");
		goto out;
	}
	if (ers_address_normalize(spec->user, &user, err) < 0) {
		ers_error_prefix(err, "--to");
		goto out;
	}
	if (!strcmp(address.data, user.data)) {
		ers_error_set(err, ERS_E_INVALID, "%s is the user's own address; an alias is another one", address.data);
		goto out;
	}
	/* The user, and where one would be: the same one query whether or not
	 * it exists, so that a missing user is refused like one out of reach. */
	const char *uparams[] = { user.data };
	PGresult *res = ers_db_exec(ctx, "SELECT m.id, m.tenant_id, m.role, t.name,"
				    " (SELECT tenant_id FROM ers.domain WHERE name = split_part($1, '@', 2))"
				    " FROM (SELECT 1) one LEFT JOIN (ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id)"
				    " ON m.address = $1", 1, uparams, err);
	if (!res)
		goto out;
	if (ers_db_isnull(res, 0, 0)) {
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list); an alias delivers to a user's mailbox",
			      user.data);
		struct ers_authz_target where = { .tenant_id = ers_db_isnull(res, 0, 4) ? 0 : ers_db_ll(res, 0, 4),
						  .is_user = true };
		PQclear(res);
		ers_authz_missing(ctx, actor, ERS_ACT_ALIAS_MANAGE, &where, address.data, err);
		goto out;
	}
	long long user_id = ers_db_ll(res, 0, 0), tenant_id = ers_db_ll(res, 0, 1);
	struct ers_authz_target target = user_target(tenant_id, user_id, ers_db_str(res, 0, 2));
	char *tenant = ers_xstrdup(ers_db_str(res, 0, 3));
	PQclear(res);
	long long domain_tenant, domain_id;
	if (ers_authz_require(ctx, actor, ERS_ACT_ALIAS_MANAGE, &target, address.data, err) < 0 ||
	    ers_domain_lookup(ctx, strrchr(address.data, '@') + 1, &domain_tenant, &domain_id, err) < 0) {
		free(tenant);
		goto out;
	}
	struct ers_authz_target nowhere = { .is_user = true };
	if (!domain_tenant && ers_authz_sees_missing(actor, ERS_ACT_ALIAS_MANAGE, &nowhere)) {
		ers_error_set(err, ERS_E_INVALID, "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)",
			      strrchr(address.data, '@') + 1);
		free(tenant);
		goto out;
	}
	if (domain_tenant != tenant_id) {
		/* The other tenant is not named: the actor may not act for it;
		 * nor, to one who may not see every tenant, whether any has it. */
		ers_error_set(err, ERS_E_INVALID,
			      "an alias must be in one of the domains of its user's tenant \"%s\", and %s is not (see: ersctl tenant domain list \"%s\")",
			      tenant, strrchr(address.data, '@') + 1, tenant);
		free(tenant);
		goto out;
	}
	free(tenant);
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	struct ers_num tid = ers_num(tenant_id), uid = ers_num(user_id);
	const char *params[] = { tid.s, address.data, uid.s, spec->internal_only ? "t" : "f" };
	const char *first[] = { user.data };
	if (ers_route_lock(ctx, err) < 0 ||
	    ers_address_claim(ctx, address.data, tenant_id, domain_id, "alias", err) < 0 ||
	    /* mail that reached it elsewhere (a forward of another tenant, a
	     * catch-all) may now come back */
	    ers_route_check_loop(ctx, actor, address.data, first, 1, err) < 0 ||
	    ers_db_run(ctx, "INSERT INTO ers.alias (tenant_id, address, mailbox_id, internal_only)"
			    " VALUES ($1::bigint, $2, $3::bigint, $4::bool)", 4, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	char detail[400];
	snprintf(detail, sizeof detail, "for user %s%s", user.data, spec->internal_only ? ", internal only" : "");
	if (ers_db_commit_audited(ctx, actor, "alias.add", address.data, tenant_id, NULL, detail, err) < 0 ||
	    load(ctx, address.data, false, alias_r, NULL, err) < 0)
		goto out;
	rc = 0;
out:
	ers_buf_free(&address);
	ers_buf_free(&user);
	return rc;
}

int ers_alias_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_alias_filter *f,
		   struct ers_alias_list **list_r, struct ers_error *err)
{
	if (f->limit < 0 || f->limit > 10000) {
		ers_error_set(err, ERS_E_INVALID, "--limit must be 1..10000, got %d", f->limit);
		return -1;
	}
	/* Users see the aliases that deliver to them, tenant admins those of
	 * the regular users of their tenant. */
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_ALIAS_VIEW, f->tenant, "aliases", &sc, err) < 0)
		return -1;
	long long tenant_id = sc.tenant_id;
	bool self_only = sc.self_only, regular_only = sc.regular_only;
	struct ers_num tid = ers_num(tenant_id), self = ers_num(actor->user_id), limit1 = ers_num(f->limit + 1);
	const char *params[] = { tenant_id ? tid.s : NULL, self_only ? self.s : NULL, regular_only ? "user" : NULL,
				 f->search && *f->search ? f->search : NULL, f->limit && f->after && *f->after ? f->after : NULL,
				 f->limit ? limit1.s : NULL };
	/* Paged: by address (the unique index), a page and one more to know
	 * whether there is a next; never the whole tenant. */
	PGresult *res = ers_db_exec(ctx, f->limit ?
		"SELECT " ALIAS_COLUMNS ALIAS_FROM
		" WHERE ($1::bigint IS NULL OR a.tenant_id = $1::bigint) AND ($2::bigint IS NULL OR m.id = $2::bigint)"
		" AND ($3::text IS NULL OR m.role = $3)"
		" AND ($4::text IS NULL OR strpos(lower(a.address || ' ' || m.address), lower($4)) > 0)"
		" AND ($5::text IS NULL OR a.address > $5) ORDER BY a.address LIMIT $6::int" :
		"SELECT " ALIAS_COLUMNS ALIAS_FROM
		" WHERE ($1::bigint IS NULL OR a.tenant_id = $1::bigint) AND ($2::bigint IS NULL OR m.id = $2::bigint)"
		" AND ($3::text IS NULL OR m.role = $3)"
		" AND ($4::text IS NULL OR strpos(lower(a.address || ' ' || m.address), lower($4)) > 0)"
		" AND ($5::text IS NULL OR $6::int IS NULL) ORDER BY split_part(a.address, '@', 2), a.address",
		6, params, err);
	if (!res)
		return -1;
	int rows = PQntuples(res), want = f->limit ? f->limit : rows;
	struct ers_alias_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)(rows > want ? want : rows);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++)
		fill_alias(&list->items[r], res, r);
	if (rows > want)
		list->next_after = ers_xstrdup(list->items[list->count - 1].address);
	PQclear(res);
	*list_r = list;
	return 0;
}

int ers_alias_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		  struct ers_alias **alias_r, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	struct ers_alias *a = NULL;
	struct ers_authz_target target;
	long long domain_tenant = 0, domain_id;
	int rc = -1;
	if (ers_address_normalize(input, &address, err) < 0 ||
	    ers_domain_lookup(ctx, strrchr(address.data, '@') + 1, &domain_tenant, &domain_id, err) < 0)
		goto out;
	if (load(ctx, address.data, false, &a, &target, err) < 0) {
		if (err->code == ERS_E_NOTFOUND) { /* like one out of reach, to those who may not see all */
			struct ers_authz_target where = { .tenant_id = domain_tenant, .is_user = true };
			ers_authz_missing(ctx, actor, ERS_ACT_ALIAS_VIEW, &where, address.data, err);
		}
		goto out;
	}
	if (ers_authz_require(ctx, actor, ERS_ACT_ALIAS_VIEW, &target, address.data, err) < 0)
		goto out;
	*alias_r = a;
	a = NULL;
	rc = 0;
out:
	ers_alias_free(a);
	ers_buf_free(&address);
	return rc;
}

int ers_alias_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		     struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	struct ers_alias *a = NULL;
	struct ers_authz_target target;
	long long domain_tenant = 0, domain_id;
	int rc = -1;
	/* where a missing alias would be: asked whether or not it is */
	if (ers_address_normalize(input, &address, err) < 0 ||
	    ers_domain_lookup(ctx, strrchr(address.data, '@') + 1, &domain_tenant, &domain_id, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_route_lock(ctx, err) < 0)
		goto rollback;
	if (load(ctx, address.data, true, &a, &target, err) < 0) {
		ers_db_rollback(ctx);
		if (err->code == ERS_E_NOTFOUND) { /* like one of a user out of reach, to those who may not see all */
			struct ers_authz_target where = { .tenant_id = domain_tenant, .is_user = true };
			ers_authz_missing(ctx, actor, ERS_ACT_ALIAS_MANAGE, &where, address.data, err);
		}
		goto out;
	}
	if (ers_authz_check(actor, ERS_ACT_ALIAS_MANAGE, &target, err) < 0) {
		deny_in_tx(ctx, actor, address.data, a->tenant_id, err);
		goto out;
	}
	struct ers_num tid = ers_num(a->tenant_id);
	const char *params[] = { address.data, tid.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT string_agg(CASE WHEN source LIKE '@%' THEN '*' || source ELSE source END, ', ' ORDER BY source)"
		" FROM ers.forward WHERE $1 = ANY (destinations) AND tenant_id = $2::bigint", 2, params, err);
	if (!res)
		goto rollback;
	if (!ers_db_isnull(res, 0, 0)) {
		ers_error_set(err, ERS_E_CONFLICT, "%s receives mail forwarded from %s: delete or change those forwards first",
			      address.data, ers_db_str(res, 0, 0));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	/* The claim goes, and the alias with it (ON DELETE CASCADE). */
	if (ers_db_run(ctx, "DELETE FROM ers.address_claim WHERE address = $1 AND kind = 'alias'", 1, params, err) < 0 ||
	    /* mail for it now goes to the catch-all, if the domain has one */
	    ers_route_check_loop(ctx, actor, address.data, NULL, 0, err) < 0)
		goto rollback;
	char detail[400];
	snprintf(detail, sizeof detail, "of user %s", a->user);
	rc = ers_db_commit_audited(ctx, actor, "alias.delete", a->address, a->tenant_id, a->tenant, detail, err);
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_alias_free(a);
	ers_buf_free(&address);
	return rc;
}
