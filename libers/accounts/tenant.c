/* Tenants and their domains (manual 000 "Managing Tenants", manual 001
 * "Tenant Setup In The App"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

void ers_tenant_use_fill(struct ers_tenant_use *u, const PGresult *res, int row, int col)
{
	u->name = ers_db_str(res, row, col);
	u->max_users = ers_db_ll(res, row, col + 1);
	u->max_storage_mb = ers_db_ll(res, row, col + 2);
	u->users = ers_db_ll(res, row, col + 3);
	u->quota_mb = ers_db_ll(res, row, col + 4);
}

bool ers_tenant_over_max_users(const struct ers_tenant_use *u)
{
	return u->max_users >= 0 && u->users > u->max_users;
}

bool ers_tenant_over_max_storage(const struct ers_tenant_use *u)
{
	return u->max_storage_mb >= 0 && u->quota_mb > u->max_storage_mb;
}

/* What is over, in the words the warning and the refusals share:
 * "has 6 users, over its limit of 1". */
static void over_users_text(struct ers_buf *b, const struct ers_tenant_use *u, const char *new_)
{
	ers_buf_addf(b, "has %lld users, over its %slimit of %lld", u->users, new_, u->max_users);
}

static void over_storage_text(struct ers_buf *b, const struct ers_tenant_use *u, const char *new_)
{
	ers_buf_addf(b, "has given %lld MB in quotas, over its %sstorage limit of %lld MB", u->quota_mb, new_,
		     u->max_storage_mb);
}

bool ers_tenant_may_grow(const struct ers_tenant_use *u, const struct ers_tenant_growth *g,
			 struct ers_tenant_refusal *r)
{
	r->users = r->storage = false;
	struct ers_buf b = ERS_BUF_INIT;
	if (g->users > 0 && u->max_users >= 0 && u->users + g->users > u->max_users) {
		r->users = true;
		if (ers_tenant_over_max_users(u)) {
			ers_buf_addf(&b, "tenant \"%s\" ", u->name);
			over_users_text(&b, u, "");
			ers_buf_adds(&b, ": no user can be added until it is under the limit");
			if (g->from_file)
				ers_buf_addf(&b, "; the file adds %lld", g->users);
		} else {
			ers_buf_addf(&b, "tenant \"%s\" allows at most %lld users and has %lld already", u->name,
				     u->max_users, u->users);
			if (g->from_file)
				ers_buf_addf(&b, ": the file adds %lld, %lld too many", g->users,
					     u->users + g->users - u->max_users);
		}
		ers_error_set(&r->why_users, ERS_E_CONFLICT, "%s", b.data);
	}
	/* A new user is always given a quota (a storage-limited tenant
	 * requires one), so adding users grows the storage too, even by 0 MB. */
	bool grows = g->users > 0 || g->quota_mb > g->quota_was;
	long long others = u->quota_mb - g->quota_was; /* given to the other users */
	if (grows && u->max_storage_mb >= 0 && others + g->quota_mb > u->max_storage_mb) {
		r->storage = true;
		ers_buf_reset(&b);
		if (ers_tenant_over_max_storage(u)) {
			ers_buf_addf(&b, "tenant \"%s\" ", u->name);
			over_storage_text(&b, u, "");
			ers_buf_adds(&b, ": no user can be added and no quota raised until it is under the limit");
			if (g->from_file)
				ers_buf_addf(&b, "; the file's quotas add %lld MB", g->quota_mb);
		} else if (g->from_file) {
			ers_buf_addf(&b, "tenant \"%s\" has a storage limit of %lld MB and %lld MB is already given to quotas: at most %lld MB is left, the file's quotas add %lld MB",
				     u->name, u->max_storage_mb, others, u->max_storage_mb - others, g->quota_mb);
		} else {
			ers_buf_addf(&b, "tenant \"%s\" has a storage limit of %lld MB and %lld MB is already given to other mailboxes' quotas: at most %lld MB is left, asked for %lld",
				     u->name, u->max_storage_mb, others, u->max_storage_mb - others, g->quota_mb);
		}
		ers_error_set(&r->why_storage, ERS_E_CONFLICT, "%s", b.data);
	}
	ers_buf_free(&b);
	return !r->users && !r->storage;
}

static void fill_tenant(struct ers_tenant *t, PGresult *res, int r)
{
	t->id = ers_db_ll(res, r, 0);
	t->name = ers_xstrdup(ers_db_str(res, r, 1));
	t->imap_host = ers_xstrdup(ers_db_str(res, r, 2));
	t->imap_port = (int)ers_db_ll(res, r, 3);
	t->smtp_host = ers_xstrdup(ers_db_str(res, r, 4));
	t->smtp_port = (int)ers_db_ll(res, r, 5);
	t->max_users = ers_db_ll(res, r, 6);
	t->max_storage_mb = ers_db_ll(res, r, 7);
	ers_db_time(t->created_at, res, r, 8);
	t->primary_domain = ers_xstrdup(ers_db_str(res, r, 9));
	t->user_count = ers_db_ll(res, r, 10);
	t->alias_count = ers_db_ll(res, r, 11);
	t->forward_count = ers_db_ll(res, r, 12);
	t->quota_mb_total = ers_db_ll(res, r, 13);
	t->mail_bytes = ers_db_ll(res, r, 14);
	t->mail_messages = ers_db_ll(res, r, 15);
	snprintf(t->time_zone, sizeof t->time_zone, "%s", ers_db_str(res, r, 16));
	t->junk_retention_days = (int)ers_db_ll(res, r, 17);
	t->pop3 = ers_db_str(res, r, 18)[0] == 't';
	struct ers_tenant_use u = { t->name, t->max_users, t->max_storage_mb, t->user_count, t->quota_mb_total };
	t->over_max_users = ers_tenant_over_max_users(&u);
	t->over_max_storage = ers_tenant_over_max_storage(&u);
}

#define TENANT_COLUMNS \
	"t.id, t.name, t.imap_host, t.imap_port, t.smtp_host, t.smtp_port, t.max_users, t.max_storage_mb, " \
	ERS_SQL_TIME("t.created_at") ", (SELECT name FROM ers.domain WHERE tenant_id = t.id AND is_primary), " \
	ERS_SQL_TENANT_USERS ", (SELECT count(*) FROM ers.alias WHERE tenant_id = t.id)," \
	" (SELECT count(*) FROM ers.forward WHERE tenant_id = t.id), " ERS_SQL_TENANT_QUOTA_MB ", " \
	TENANT_MAIL_USE ", t.time_zone, t.junk_retention_days, t.pop3"
/* The mail in the tenant's mailboxes: Dovecot's quota usage (ers_quota.usage). */
#define TENANT_MAIL_USE \
	"(SELECT coalesce(sum(qu.bytes), 0) FROM ers.mailbox mm JOIN ers_quota.usage qu ON qu.username = mm.address" \
	" WHERE mm.tenant_id = t.id), (SELECT coalesce(sum(qu.messages), 0) FROM ers.mailbox mm" \
	" JOIN ers_quota.usage qu ON qu.username = mm.address WHERE mm.tenant_id = t.id)"

static void fill_domain(struct ers_tenant_domain *d, PGresult *res, int r, int col)
{
	d->name = ers_xstrdup(ers_db_str(res, r, col));
	d->primary = ers_db_str(res, r, col + 1)[0] == 't';
	ers_db_time(d->created_at, res, r, col + 2);
	d->copy_inbound_to = ers_db_isnull(res, r, col + 3) ? NULL : ers_xstrdup(ers_db_str(res, r, col + 3));
}

static int load_domains(struct ers_ctx *ctx, struct ers_tenant *t, struct ers_error *err)
{
	struct ers_num id = ers_num(t->id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT name, is_primary, " ERS_SQL_TIME("created_at") ", copy_inbound_to"
				    " FROM ers.domain WHERE tenant_id = $1::bigint ORDER BY NOT is_primary, name",
				    1, params, err);
	if (!res)
		return -1;
	t->domain_count = (size_t)PQntuples(res);
	t->domains = ers_xcalloc(t->domain_count, sizeof *t->domains);
	for (int r = 0; r < (int)t->domain_count; r++)
		fill_domain(&t->domains[r], res, r, 0);
	PQclear(res);
	return 0;
}

static int load_by_id(struct ers_ctx *ctx, long long id, struct ers_tenant **tenant_r,
		      struct ers_error *err)
{
	struct ers_num idnum = ers_num(id);
	const char *params[] = { idnum.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " TENANT_COLUMNS " FROM ers.tenant t WHERE t.id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "tenant %lld no longer exists", id);
		PQclear(res);
		return -1;
	}
	struct ers_tenant *t = ers_xcalloc(1, sizeof *t);
	fill_tenant(t, res, 0);
	PQclear(res);
	if (load_domains(ctx, t, err) < 0) {
		ers_tenant_free(t);
		return -1;
	}
	*tenant_r = t;
	return 0;
}

/* A zone name PostgreSQL knows (the autoresponder's dates are computed
 * there with AT TIME ZONE). */
static int check_time_zone(struct ers_ctx *ctx, const char *zone, struct ers_error *err)
{
	if (!*zone || strlen(zone) > 63 || strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
						   strlen(zone)) {
		ers_error_set(err, ERS_E_INVALID, "--time-zone must be a time zone name such as Europe/Berlin or UTC");
		return -1;
	}
	const char *params[] = { zone };
	PGresult *res = ers_db_exec(ctx, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, params, err);
	if (!res)
		return -1;
	int found = PQntuples(res);
	PQclear(res);
	if (!found) {
		ers_error_set(err, ERS_E_INVALID,
			      "unknown time zone \"%s\": give a name of the tz database such as Europe/Berlin, America/New_York or UTC",
			      zone);
		return -1;
	}
	return 0;
}

/* The endpoint must be on the approved list; the error says what is. */
static int check_endpoint(struct ers_ctx *ctx, enum ers_host_kind kind, const char *input_host,
			  int port, struct ers_buf *host, struct ers_error *err)
{
	const char *kname = ers_host_kind_name(kind);
	if (ers_hostname_normalize(input_host, host, err) < 0) {
		ers_error_prefix(err, "%s host", kname);
		return -1;
	}
	if (port < 1 || port > 65535) {
		ers_error_set(err, ERS_E_INVALID, "%s port must be 1..65535, got %d", kname, port);
		return -1;
	}
	struct ers_num portnum = ers_num(port);
	const char *params[] = { host->data, kname, portnum.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT bool_or(port = $3::int), string_agg(port::text, ', ' ORDER BY port)"
		" FROM ers.approved_host WHERE hostname = $1 AND kind = $2", 3, params, err);
	if (!res)
		return -1;
	int rc = 0;
	if (ers_db_str(res, 0, 0)[0] != 't') {
		if (ers_db_isnull(res, 0, 1))
			ers_error_set(err, ERS_E_INVALID,
				      "%s host %s is not on the approved list (see: ersctl server host list; an operator adds it with: ersctl server host add %s --kind %s)",
				      kname, host->data, host->data, kname);
		else
			ers_error_set(err, ERS_E_INVALID,
				      "%s host %s is approved only on port(s) %s, not %d",
				      kname, host->data, ers_db_str(res, 0, 1), port);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int check_limits(const struct ers_tenant_spec *s, struct ers_error *err)
{
	if (s->set_max_users && (s->max_users < -1 || s->max_users > ERS_TENANT_MAX_USERS_LIMIT)) {
		ers_error_set(err, ERS_E_INVALID, "max users must be 0..%lld (or none), got %lld",
			      ERS_TENANT_MAX_USERS_LIMIT, s->max_users);
		return -1;
	}
	if (s->set_max_storage_mb &&
	    (s->max_storage_mb < -1 || s->max_storage_mb > ERS_TENANT_MAX_STORAGE_MB_LIMIT)) {
		ers_error_set(err, ERS_E_INVALID, "max storage must be 0..%lld MB (or none), got %lld",
			      ERS_TENANT_MAX_STORAGE_MB_LIMIT, s->max_storage_mb);
		return -1;
	}
	return 0;
}

static int check_name_free(struct ers_ctx *ctx, const char *name, long long except_id,
			   struct ers_error *err)
{
	struct ers_num id = ers_num(except_id);
	const char *params[] = { name, id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT name FROM ers.tenant WHERE lower(name) = lower($1) AND id <> $2::bigint",
				    2, params, err);
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) > 0) {
		ers_error_set(err, ERS_E_CONFLICT, "a tenant named \"%s\" already exists", ers_db_str(res, 0, 0));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int check_domain_free(struct ers_ctx *ctx, const char *domain, struct ers_error *err)
{
	const char *params[] = { domain };
	PGresult *res = ers_db_exec(ctx, "SELECT t.name FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id"
				    " WHERE d.name = $1", 1, params, err);
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) > 0) {
		ers_error_set(err, ERS_E_CONFLICT, "domain %s already belongs to tenant \"%s\"", domain,
			      ers_db_str(res, 0, 0));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static const char *limit_param(bool set, long long v, struct ers_num *n)
{
	if (!set || v < 0)
		return NULL;
	*n = ers_num(v);
	return n->s;
}

int ers_tenant_add(struct ers_ctx *ctx, const struct ers_actor *actor,
		   const struct ers_tenant_spec *spec, struct ers_tenant **tenant_r,
		       struct ers_error *err)
{
	if (ers_authz_require(ctx, actor, ERS_ACT_TENANT_CREATE, NULL, spec->name ? spec->name : "", err) < 0)
		return -1;
	struct ers_buf domain = ERS_BUF_INIT, imap = ERS_BUF_INIT, smtp = ERS_BUF_INIT;
	int imap_port = spec->imap_port ? spec->imap_port : 993;
	int smtp_port = spec->smtp_port ? spec->smtp_port : 587;
	long long id = 0;
	if (ers_text_check(spec->name, "tenant name", ERS_TENANT_NAME_MAX, err) < 0 ||
	    check_limits(spec, err) < 0)
		goto fail;
	if (!spec->domain) {
		ers_error_set(err, ERS_E_INVALID, "a tenant needs its primary domain (--domain)");
		goto fail;
	}
	if (!spec->imap_host || !spec->smtp_host) {
		ers_error_set(err, ERS_E_INVALID, "a tenant needs an approved %s host (--%s-host)",
			      spec->imap_host ? "SMTP" : "IMAP", spec->imap_host ? "smtp" : "imap");
		goto fail;
	}
	if (ers_domain_normalize(spec->domain, &domain, err) < 0)
		goto fail;
	if (ers_db_begin(ctx, err) < 0)
		goto fail;
	if (check_endpoint(ctx, ERS_HOST_IMAP, spec->imap_host, imap_port, &imap, err) < 0 ||
	    check_endpoint(ctx, ERS_HOST_SMTP, spec->smtp_host, smtp_port, &smtp, err) < 0 ||
	    check_name_free(ctx, spec->name, 0, err) < 0 || check_domain_free(ctx, domain.data, err) < 0)
		goto rollback;
	struct ers_num ip = ers_num(imap_port), sp = ers_num(smtp_port), mu, ms;
	const char *params[] = { spec->name, imap.data, ip.s, smtp.data, sp.s,
				 limit_param(spec->set_max_users, spec->max_users, &mu),
				 limit_param(spec->set_max_storage_mb, spec->max_storage_mb, &ms) };
	PGresult *res = ers_db_exec(ctx,
		"INSERT INTO ers.tenant (name, imap_host, imap_port, smtp_host, smtp_port, max_users, max_storage_mb)"
		" VALUES ($1, $2, $3::int, $4, $5::int, $6::bigint, $7::bigint) RETURNING id", 7, params, err);
	if (!res)
		goto rollback;
	id = ers_db_ll(res, 0, 0);
	PQclear(res);
	struct ers_num idnum = ers_num(id);
	const char *dparams[] = { idnum.s, domain.data };
	if (ers_db_run(ctx, "INSERT INTO ers.domain (tenant_id, name, is_primary) VALUES ($1::bigint, $2, true)",
		       2, dparams, err) < 0)
		goto rollback;
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_addf(&detail, "domain %s, imap %s:%d, smtp %s:%d", domain.data, imap.data, imap_port,
		     smtp.data, smtp_port);
	int rc = ers_db_commit_audited(ctx, actor, "tenant.add", spec->name, id, spec->name, detail.data, err);
	ers_buf_free(&detail);
	if (rc < 0)
		goto fail;
	ers_buf_free(&domain);
	ers_buf_free(&imap);
	ers_buf_free(&smtp);
	return load_by_id(ctx, id, tenant_r, err);
rollback:
	ers_db_rollback(ctx);
fail:
	ers_buf_free(&domain);
	ers_buf_free(&imap);
	ers_buf_free(&smtp);
	return -1;
}

int ers_tenant_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		   struct ers_tenant **tenant_r, struct ers_error *err)
{
	long long id;
	if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_TENANT_VIEW, NULL, key, &id, NULL, err) < 0)
		return -1;
	return load_by_id(ctx, id, tenant_r, err);
}

int ers_tenant_list(struct ers_ctx *ctx, const struct ers_actor *actor,
		    struct ers_tenant_list **list_r, struct ers_error *err)
{
	/* Tenant admins see only their own tenant; others need the full right. */
	bool own_only = actor->role == ERS_ROLE_TENANT_ADMIN;
	struct ers_authz_target own = { .tenant_id = actor->tenant_id };
	if (ers_authz_require(ctx, actor, ERS_ACT_TENANT_VIEW, own_only ? &own : NULL, "tenants", err) < 0)
		return -1;
	struct ers_num tid = ers_num(actor->tenant_id);
	const char *params[] = { own_only ? tid.s : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT " TENANT_COLUMNS " FROM ers.tenant t"
				    " WHERE $1::bigint IS NULL OR t.id = $1::bigint ORDER BY lower(t.name)",
				    1, params, err);
	if (!res)
		return -1;
	struct ers_tenant_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++)
		fill_tenant(&list->items[r], res, r);
	PQclear(res);
	/* Domains for every tenant in one query rather than one per tenant. */
	res = ers_db_exec(ctx, "SELECT tenant_id, name, is_primary, " ERS_SQL_TIME("created_at") ", copy_inbound_to"
			  " FROM ers.domain WHERE $1::bigint IS NULL OR tenant_id = $1::bigint"
			  " ORDER BY tenant_id, NOT is_primary, name", 1, params, err);
	if (!res) {
		ers_tenant_list_free(list);
		return -1;
	}
	int rows = PQntuples(res);
	for (size_t i = 0; i < list->count; i++) {
		struct ers_tenant *t = &list->items[i];
		t->domains = ers_xcalloc((size_t)rows, sizeof *t->domains);
		for (int r = 0; r < rows; r++) {
			if (ers_db_ll(res, r, 0) != t->id)
				continue;
			fill_domain(&t->domains[t->domain_count++], res, r, 1);
		}
	}
	PQclear(res);
	*list_r = list;
	return 0;
}

/* Starts a transaction on an existing tenant, locked, after the policy check. */
static int begin_on_tenant(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			   enum ers_action action, long long *id_r, char **name_r,
			   struct ers_error *err)
{
	if (ers_tenant_resolve_for(ctx, actor, action, NULL, key, id_r, NULL, err) < 0 || ers_db_begin(ctx, err) < 0)
		return -1;
	struct ers_num id = ers_num(*id_r);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT name FROM ers.tenant WHERE id = $1::bigint FOR UPDATE",
				    1, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "tenant \"%.200s\" was deleted meanwhile", key);
		PQclear(res);
		ers_db_rollback(ctx);
		return -1;
	}
	*name_r = ers_xstrdup(ers_db_str(res, 0, 0));
	PQclear(res);
	return 0;
}

int ers_tenant_edit(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		    const struct ers_tenant_spec *c, struct ers_tenant **tenant_r,
		    struct ers_error *err)
{
	struct ers_buf imap = ERS_BUF_INIT, smtp = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	char *name = NULL;
	long long id;
	if ((c->name && ers_text_check(c->name, "tenant name", ERS_TENANT_NAME_MAX, err) < 0) ||
	    check_limits(c, err) < 0)
		return -1;
	if (!c->name && !c->imap_host && !c->imap_port && !c->smtp_host && !c->smtp_port &&
	    !c->set_max_users && !c->set_max_storage_mb && !c->time_zone && !c->set_junk_retention_days &&
	    !c->set_pop3) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give at least one new value");
		return -1;
	}
	if (c->set_junk_retention_days &&
	    (c->junk_retention_days < 0 || c->junk_retention_days > ERS_TENANT_JUNK_DAYS_MAX)) {
		ers_error_set(err, ERS_E_INVALID, "--junk-days must be 0..%d (0 keeps Junk), got %d", ERS_TENANT_JUNK_DAYS_MAX,
			      c->junk_retention_days);
		return -1;
	}
	if (begin_on_tenant(ctx, actor, key, ERS_ACT_TENANT_EDIT, &id, &name, err) < 0)
		return -1;
	struct ers_tenant *cur = NULL;
	if (load_by_id(ctx, id, &cur, err) < 0)
		goto rollback;
	if (c->time_zone && check_time_zone(ctx, c->time_zone, err) < 0)
		goto rollback;
	if (c->name && check_name_free(ctx, c->name, id, err) < 0)
		goto rollback;
	if ((c->imap_host || c->imap_port) &&
	    check_endpoint(ctx, ERS_HOST_IMAP, c->imap_host ? c->imap_host : cur->imap_host,
			   c->imap_port ? c->imap_port : cur->imap_port, &imap, err) < 0)
		goto rollback;
	if ((c->smtp_host || c->smtp_port) &&
	    check_endpoint(ctx, ERS_HOST_SMTP, c->smtp_host ? c->smtp_host : cur->smtp_host,
			   c->smtp_port ? c->smtp_port : cur->smtp_port, &smtp, err) < 0)
		goto rollback;
	struct ers_num idn = ers_num(id), ip = ers_num(c->imap_port), sp = ers_num(c->smtp_port), mu, ms,
		       jd = ers_num(c->junk_retention_days);
	const char *params[] = {
		idn.s, c->name, imap.len ? imap.data : NULL, c->imap_port ? ip.s : NULL,
		smtp.len ? smtp.data : NULL, c->smtp_port ? sp.s : NULL,
		c->set_max_users ? "t" : "f", limit_param(c->set_max_users, c->max_users, &mu),
		c->set_max_storage_mb ? "t" : "f", limit_param(c->set_max_storage_mb, c->max_storage_mb, &ms),
		c->time_zone, c->set_junk_retention_days ? jd.s : NULL, c->set_pop3 ? (c->pop3 ? "t" : "f") : NULL,
	};
	if (ers_db_run(ctx,
		"UPDATE ers.tenant SET name = coalesce($2, name), imap_host = coalesce($3, imap_host),"
		" imap_port = coalesce($4::int, imap_port), smtp_host = coalesce($5, smtp_host),"
		" smtp_port = coalesce($6::int, smtp_port),"
		" max_users = CASE WHEN $7::bool THEN $8::bigint ELSE max_users END,"
		" max_storage_mb = CASE WHEN $9::bool THEN $10::bigint ELSE max_storage_mb END,"
		" time_zone = coalesce($11, time_zone), junk_retention_days = coalesce($12::int, junk_retention_days),"
		" pop3 = coalesce($13::bool, pop3), updated_at = now() WHERE id = $1::bigint", 13, params, err) < 0)
		goto rollback;
	if (c->name)
		ers_buf_addf(&detail, "name %s -> %s; ", name, c->name);
	if (imap.len)
		ers_buf_addf(&detail, "imap %s:%d; ", imap.data, c->imap_port ? c->imap_port : cur->imap_port);
	if (smtp.len)
		ers_buf_addf(&detail, "smtp %s:%d; ", smtp.data, c->smtp_port ? c->smtp_port : cur->smtp_port);
	if (c->time_zone)
		ers_buf_addf(&detail, "time zone %s -> %s; ", cur->time_zone, c->time_zone);
	if (c->set_junk_retention_days)
		ers_buf_addf(&detail, "junk retention %d -> %d days; ", cur->junk_retention_days, c->junk_retention_days);
	if (c->set_pop3)
		ers_buf_addf(&detail, "pop3 %s -> %s; ", cur->pop3 ? "on" : "off", c->pop3 ? "on" : "off");
	/* A limit below the use is accepted -- a downgraded plan must not
	 * force mailboxes to be deleted first -- but said: in the audit row
	 * and in a warning.  The tenant row is locked, so the use is what
	 * additions (which lock it too) see next. */
	struct ers_tenant_use use;
	PGresult *ures = ers_db_exec(ctx, "SELECT " ERS_SQL_TENANT_USE " FROM ers.tenant t WHERE t.id = $1::bigint",
				     1, params, err);
	if (!ures)
		goto rollback;
	ers_tenant_use_fill(&use, ures, 0, 0);
	bool over_users = c->set_max_users && ers_tenant_over_max_users(&use);
	bool over_storage = c->set_max_storage_mb && ers_tenant_over_max_storage(&use);
	if (c->set_max_users) {
		ers_buf_addf(&detail, "max users %s", params[7] ? params[7] : "none");
		if (over_users)
			ers_buf_addf(&detail, ", over it with %lld users", use.users);
		ers_buf_adds(&detail, "; ");
	}
	if (c->set_max_storage_mb) {
		ers_buf_addf(&detail, "max storage %s%s", params[9] ? params[9] : "none", params[9] ? " MB" : "");
		if (over_storage)
			ers_buf_addf(&detail, ", over it with %lld MB given in quotas", use.quota_mb);
		ers_buf_adds(&detail, "; ");
	}
	if (detail.len >= 2)
		detail.data[detail.len -= 2] = '\0';
	struct ers_buf warning = ERS_BUF_INIT;
	if (over_users || over_storage) {
		ers_buf_addf(&warning, "tenant \"%s\" ", use.name);
		if (over_users)
			over_users_text(&warning, &use, "new ");
		if (over_users && over_storage)
			ers_buf_adds(&warning, ", and ");
		if (over_storage)
			over_storage_text(&warning, &use, "new ");
		ers_buf_addf(&warning, ": no user can be added%s until it is under %s",
			     over_storage ? " and no quota raised" : "", over_users && over_storage ? "both limits" : "the limit");
	}
	PQclear(ures);
	if (ers_db_commit_audited(ctx, actor, "tenant.edit", c->name ? c->name : name, id,
				  c->name ? c->name : name, detail.data, err) < 0) {
		ers_buf_free(&warning);
		goto fail;
	}
	if (warning.len)
		ers_ctx_warn(ctx, "%s", warning.data);
	ers_buf_free(&warning);
	/* Dovecot caches logins by user and service: a POP3 login it allowed
	 * must not be served from its cache once POP3 is off. */
	if (c->set_pop3)
		ers_mailstack_after_change(ctx, actor, NULL, false);
	ers_tenant_free(cur);
	ers_buf_free(&imap);
	ers_buf_free(&smtp);
	ers_buf_free(&detail);
	free(name);
	return load_by_id(ctx, id, tenant_r, err);
rollback:
	ers_db_rollback(ctx);
fail:
	ers_tenant_free(cur);
	ers_buf_free(&imap);
	ers_buf_free(&smtp);
	ers_buf_free(&detail);
	free(name);
	return -1;
}

int ers_tenant_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
		      long long expect_id, struct ers_error *err)
{
	long long id;
	char *name = NULL;
	if (begin_on_tenant(ctx, actor, key, ERS_ACT_TENANT_DELETE, &id, &name, err) < 0)
		return -1;
	if (expect_id && expect_id != id) {
		ers_error_set(err, ERS_E_CONFLICT, "tenant \"%.200s\" changed while you confirmed; look again", key);
		goto rollback;
	}
	struct ers_num idn = ers_num(id);
	const char *params[] = { idn.s };
	PGresult *res = ers_db_exec(ctx, "SELECT string_agg(name, ', ' ORDER BY name),"
				    " (SELECT count(*) FROM ers.mailbox WHERE tenant_id = $1::bigint),"
				    " (SELECT count(*) FROM ers.alias WHERE tenant_id = $1::bigint),"
				    " (SELECT count(*) FROM ers.forward WHERE tenant_id = $1::bigint)"
				    " FROM ers.domain WHERE tenant_id = $1::bigint", 1, params, err);
	if (!res)
		goto rollback;
	struct ers_buf detail = ERS_BUF_INIT;
	ers_buf_addf(&detail, "domains: %s; %s user(s), %s alias(es), %s forward(s)", ers_db_str(res, 0, 0),
		     ers_db_str(res, 0, 1), ers_db_str(res, 0, 2), ers_db_str(res, 0, 3));
	PQclear(res);
	/* Domains, users, aliases, forwards and address claims go with the
	 * tenant (ON DELETE CASCADE, all in this one statement, so that the
	 * claims' and forwards' references to the domains never dangle). */
	if (ers_db_run(ctx, "DELETE FROM ers.tenant WHERE id = $1::bigint", 1, params, err) < 0) {
		ers_buf_free(&detail);
		goto rollback;
	}
	int rc = ers_db_commit_audited(ctx, actor, "tenant.delete", name, id, name, detail.data, err);
	if (rc == 0)
		ers_mailstack_after_change(ctx, actor, NULL, true);
	ers_buf_free(&detail);
	free(name);
	return rc;
rollback:
	ers_db_rollback(ctx);
	free(name);
	return -1;
}

/* Makes `domain` (already normalised, of tenant `id`) the primary one. */
static int set_primary(struct ers_ctx *ctx, long long id, const char *domain, struct ers_error *err)
{
	struct ers_num idn = ers_num(id);
	const char *params[] = { idn.s, domain };
	return ers_db_run(ctx, "UPDATE ers.domain SET is_primary = false WHERE tenant_id = $1::bigint AND is_primary",
			  1, params, err) < 0 ||
	       ers_db_run(ctx, "UPDATE ers.domain SET is_primary = true WHERE tenant_id = $1::bigint AND name = $2",
			  2, params, err) < 0 ? -1 : 0;
}

int ers_tenant_domain_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			  const char *input, bool make_primary, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	char *name = NULL;
	long long id;
	if (ers_domain_normalize(input, &domain, err) < 0)
		return -1;
	if (begin_on_tenant(ctx, actor, key, ERS_ACT_TENANT_EDIT, &id, &name, err) < 0)
		goto fail;
	struct ers_num idn = ers_num(id);
	const char *params[] = { idn.s, domain.data };
	if (check_domain_free(ctx, domain.data, err) < 0 ||
	    ers_db_run(ctx, "INSERT INTO ers.domain (tenant_id, name) VALUES ($1::bigint, $2)", 2, params, err) < 0 ||
	    (make_primary && set_primary(ctx, id, domain.data, err) < 0)) {
		ers_db_rollback(ctx);
		goto fail;
	}
	if (ers_db_commit_audited(ctx, actor, "tenant.domain.add", domain.data, id, name,
				  make_primary ? "primary" : NULL, err) < 0)
		goto fail;
	ers_buf_free(&domain);
	free(name);
	return 0;
fail:
	ers_buf_free(&domain);
	free(name);
	return -1;
}

/* Locks the tenant and checks that `domain` is one of its domains. */
static int begin_on_domain(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			   const char *input, enum ers_action action, struct ers_buf *domain, long long *id_r,
			   char **name_r, bool *primary_r, struct ers_error *err)
{
	if (ers_domain_normalize(input, domain, err) < 0 ||
	    begin_on_tenant(ctx, actor, key, action, id_r, name_r, err) < 0)
		return -1;
	struct ers_num idn = ers_num(*id_r);
	const char *params[] = { idn.s, domain->data };
	PGresult *res = ers_db_exec(ctx, "SELECT is_primary FROM ers.domain WHERE tenant_id = $1::bigint AND name = $2"
				    " FOR UPDATE", 2, params, err);
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "tenant \"%s\" has no domain %s (see: ersctl tenant domain list %s)",
			      *name_r, domain->data, *name_r);
		PQclear(res);
		goto rollback;
	}
	*primary_r = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
rollback:
	ers_db_rollback(ctx);
	return -1;
}

/* Appends ", N WHAT (a, b, c ...)" for one kind of use of a domain. */
static void add_use(struct ers_buf *out, const PGresult *res, int col, const char *what)
{
	long long n = ers_db_ll(res, 0, col);
	if (n <= 0)
		return;
	ers_buf_addf(out, "%s%lld %s (%s%s)", out->len ? ", " : "", n, what, ers_db_str(res, 0, col + 1),
		     n > 3 ? ", ..." : "");
}

/* A domain in use keeps its mail flowing: refuse to remove it. */
static int check_domain_unused(struct ers_ctx *ctx, const char *domain, struct ers_error *err)
{
	const char *params[] = { domain, "@" };
	/* The first three addresses of each kind, as examples. */
#define USE(kind) \
	" (SELECT count(*) FROM ers.address_claim c WHERE c.domain_id = d.id AND c.kind = '" kind "')," \
	" (SELECT string_agg(address, ', ') FROM (SELECT address FROM ers.address_claim c" \
	"  WHERE c.domain_id = d.id AND c.kind = '" kind "' ORDER BY address LIMIT 3) x),"
	PGresult *res = ers_db_exec(ctx, "SELECT" USE("mailbox") USE("alias") USE("forward")
		" (SELECT array_to_string(destinations, ', ') FROM ers.forward WHERE source = $2 || d.name)"
		" FROM ers.domain d WHERE d.name = $1", 2, params, err);
#undef USE
	if (!res)
		return -1;
	struct ers_buf uses = ERS_BUF_INIT;
	add_use(&uses, res, 0, "user(s)");
	add_use(&uses, res, 2, "alias(es)");
	add_use(&uses, res, 4, "forward(s)");
	if (!ers_db_isnull(res, 0, 6))
		ers_buf_addf(&uses, "%sits catch-all *@%s (to %s)", uses.len ? ", " : "", domain, ers_db_str(res, 0, 6));
	PQclear(res);
	int rc = 0;
	if (uses.len) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "domain %s is still used by %s: delete those first (see: ersctl user list --tenant %s, ersctl alias list, ersctl forward list)",
			      domain, uses.data, domain);
		rc = -1;
	}
	ers_buf_free(&uses);
	return rc;
}

int ers_tenant_domain_remove(struct ers_ctx *ctx, const struct ers_actor *actor,
			     const char *key, const char *input, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	char *name = NULL;
	long long id;
	bool primary;
	int rc = -1;
	if (begin_on_domain(ctx, actor, key, input, ERS_ACT_TENANT_EDIT, &domain, &id, &name, &primary, err) < 0)
		goto out;
	if (primary) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "%s is the primary domain of tenant \"%s\": make another domain primary first (ersctl tenant domain primary)",
			      domain.data, name);
		ers_db_rollback(ctx);
		goto out;
	}
	struct ers_num idn = ers_num(id);
	const char *params[] = { idn.s, domain.data };
	if (check_domain_unused(ctx, domain.data, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.domain WHERE tenant_id = $1::bigint AND name = $2", 2, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	rc = ers_db_commit_audited(ctx, actor, "tenant.domain.remove", domain.data, id, name, NULL, err);
out:
	ers_buf_free(&domain);
	free(name);
	return rc;
}

int ers_tenant_domain_set_primary(struct ers_ctx *ctx, const struct ers_actor *actor,
				  const char *key, const char *input, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	char *name = NULL;
	long long id;
	bool primary;
	int rc = -1;
	if (begin_on_domain(ctx, actor, key, input, ERS_ACT_TENANT_EDIT, &domain, &id, &name, &primary, err) < 0)
		goto out;
	if (primary) { /* already so: nothing changes, no audit row */
		ers_db_rollback(ctx);
		rc = 0;
		goto out;
	}
	if (set_primary(ctx, id, domain.data, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	rc = ers_db_commit_audited(ctx, actor, "tenant.domain.primary", domain.data, id, name, NULL, err);
out:
	ers_buf_free(&domain);
	free(name);
	return rc;
}

int ers_tenant_domain_copy(struct ers_ctx *ctx, const struct ers_actor *actor, const char *key,
			   const char *input, const char *to, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT, address = ERS_BUF_INIT;
	char *name = NULL;
	long long id;
	bool primary;
	int rc = -1;
	if (to && ers_forward_destination_normalize(to, &address, err) < 0) {
		ers_error_prefix(err, "--to");
		goto out;
	}
	if (begin_on_domain(ctx, actor, key, input, ERS_ACT_DOMAIN_COPY, &domain, &id, &name, &primary, err) < 0)
		goto out;
	struct ers_route_dest dest;
	if (to && ers_route_destination(ctx, to, id, &address, &dest, err) < 0) {
		ers_error_prefix(err, "--to");
		goto rollback;
	}
	const char *params[] = { domain.data, to ? address.data : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT 1 FROM ers.domain WHERE name = $1 AND copy_inbound_to IS NOT DISTINCT FROM $2",
				    2, params, err);
	if (!res)
		goto rollback;
	bool same = PQntuples(res) > 0;
	PQclear(res);
	if (same) { /* already so: nothing changes, no audit row */
		ers_db_rollback(ctx);
		rc = 0;
		goto out;
	}
	if (ers_db_run(ctx, "UPDATE ers.domain SET copy_inbound_to = $2 WHERE name = $1", 2, params, err) < 0)
		goto rollback;
	char detail[400] = "hidden copy off";
	if (to)
		snprintf(detail, sizeof detail, "hidden copy of inbound mail to %s", address.data);
	rc = ers_db_commit_audited(ctx, actor, "domain.copy", domain.data, id, name, detail, err);
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free(&domain);
	ers_buf_free(&address);
	free(name);
	return rc;
}

/* Frees what a tenant owns, not the struct itself. */
static void tenant_clear(struct ers_tenant *t)
{
	free(t->name);
	free(t->primary_domain);
	free(t->imap_host);
	free(t->smtp_host);
	for (size_t i = 0; i < t->domain_count; i++) {
		free(t->domains[i].name);
		free(t->domains[i].copy_inbound_to);
	}
	free(t->domains);
}

void ers_tenant_free(struct ers_tenant *t)
{
	if (!t)
		return;
	tenant_clear(t);
	free(t);
}

void ers_tenant_list_free(struct ers_tenant_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		tenant_clear(&list->items[i]);
	free(list->items);
	free(list);
}

int ers_tenant_domain_names(struct ers_ctx *ctx, const struct ers_actor *actor, char ***names_r,
			    size_t *n_r, struct ers_error *err)
{
	*names_r = NULL;
	*n_r = 0;
	if (actor->tenant_id <= 0)
		return 0;
	struct ers_num idnum = ers_num(actor->tenant_id);
	const char *params[] = { idnum.s };
	PGresult *res = ers_db_exec(ctx, "SELECT name FROM ers.domain WHERE tenant_id = $1::bigint ORDER BY name",
				    1, params, err);
	if (!res)
		return -1;
	size_t n = (size_t)PQntuples(res);
	char **names = ers_xcalloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = ers_xstrdup(ers_db_str(res, (int)i, 0));
	PQclear(res);
	*names_r = names;
	*n_r = n;
	return 0;
}

void ers_tenant_domain_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}
