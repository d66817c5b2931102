/* Users: mailboxes with a role, their passwords, limits and status. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

/* Sealed, not hashed: crypt()'s 511-byte limit does not apply. */
#define IMAP_PASSWORD_MAX 1024

#define USER_COLUMNS \
	"m.id, m.address, split_part(m.address, '@', 2), t.name, m.tenant_id, m.first_name, m.last_name," \
	" m.role, m.quota_mb, m.status, m.disabled_by, m.internal_only, m.imap_password_sealed IS NOT NULL," \
	" coalesce(m.imap_username, ''), " ERS_SQL_TIME("m.created_at") ", q.bytes," \
	" m.totp_enabled_at IS NOT NULL"
/* Usage comes back from Dovecot (quota_clone) into ers_quota.usage. */
#define USER_FROM " FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id" \
	" LEFT JOIN ers_quota.usage q ON q.username = m.address"

static void fill_user(struct ers_user *u, const PGresult *res, int r)
{
	u->id = ers_db_ll(res, r, 0);
	u->address = ers_xstrdup(ers_db_str(res, r, 1));
	u->domain = ers_xstrdup(ers_db_str(res, r, 2));
	u->tenant = ers_xstrdup(ers_db_str(res, r, 3));
	u->tenant_id = ers_db_ll(res, r, 4);
	u->first_name = ers_xstrdup(ers_db_str(res, r, 5));
	u->last_name = ers_xstrdup(ers_db_str(res, r, 6));
	u->role = ers_role_from_db(ers_db_str(res, r, 7));
	u->quota_mb = ers_db_ll(res, r, 8);
	u->quota_used_bytes = ers_db_ll(res, r, 15); /* -1 (NULL): nothing delivered or read yet */
	u->quota_used_mb = u->quota_used_bytes < 0 ? -1 : (u->quota_used_bytes + 1048575) / 1048576;
	u->status = strcmp(ers_db_str(res, r, 9), "disabled") ? ERS_USER_ACTIVE : ERS_USER_DISABLED;
	u->disabled_by_admin = !strcmp(ers_db_str(res, r, 10), "admin");
	u->internal_only = ers_db_str(res, r, 11)[0] == 't';
	u->remote_mailbox = ers_db_str(res, r, 12)[0] == 't';
	u->imap_username = ers_xstrdup(ers_db_str(res, r, 13));
	ers_db_time(u->created_at, res, r, 14);
	u->mfa_enabled = ers_db_str(res, r, 16)[0] == 't';
}

static void user_clear(struct ers_user *u)
{
	free(u->address);
	free(u->domain);
	free(u->tenant);
	free(u->first_name);
	free(u->last_name);
	free(u->imap_username);
}

void ers_user_free(struct ers_user *u)
{
	if (!u)
		return;
	user_clear(u);
	free(u);
}

void ers_user_list_free(struct ers_user_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		user_clear(&list->items[i]);
	free(list->items);
	free(list->next_after);
	free(list);
}

/* Loads a user by normalised address; `lock` takes the row for update. */
static int load(struct ers_ctx *ctx, const char *address, bool lock, struct ers_user **user_r,
		struct ers_error *err)
{
	const char *params[] = { address };
	PGresult *res = ers_db_exec(ctx, lock ? "SELECT " USER_COLUMNS USER_FROM " WHERE m.address = $1 FOR UPDATE OF m"
					      : "SELECT " USER_COLUMNS USER_FROM " WHERE m.address = $1",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", address);
		PQclear(res);
		return -1;
	}
	struct ers_user *u = ers_xcalloc(1, sizeof *u);
	fill_user(u, res, 0);
	PQclear(res);
	*user_r = u;
	return 0;
}

static struct ers_authz_target target_of(const struct ers_user *u)
{
	return (struct ers_authz_target){ .tenant_id = u->tenant_id, .user_id = u->id, .is_user = true,
					  .user_role = u->role };
}

/* Inside a transaction: refusal -> rollback, then the audit row. */
static int deny_in_tx(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
		      const char *target, long long tenant_id, struct ers_error *err)
{
	ers_db_rollback(ctx);
	ers_audit_denied(ctx, actor, ers_action_name(action), target, tenant_id, err->message);
	return -1;
}

/* Normalises the address and loads the user, then asks the policy.  A
 * refusal is "permission denied" with an audit row naming the user as
 * stored and its tenant; with `lock`, inside the caller's transaction,
 * which is rolled back first.  A user that does not exist is refused the
 * same way, after the same lookups, to an actor that may not see whoever
 * could have that address (ers_authz_missing); only one who may is told
 * "no user". */
static int find_user(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		     enum ers_action action, bool lock, struct ers_user **user_r, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	long long domain_tenant = 0, domain_id;
	int rc = ers_address_normalize(input, &address, err);
	if (rc == 0) /* where a missing user would be: asked whether or not it is */
		rc = ers_domain_lookup(ctx, strrchr(address.data, '@') + 1, &domain_tenant, &domain_id, err);
	if (rc == 0 && load(ctx, address.data, lock, user_r, err) < 0) {
		rc = -1;
		if (err->code == ERS_E_NOTFOUND) {
			struct ers_authz_target where = { .tenant_id = domain_tenant, .is_user = true };
			if (lock)
				ers_db_rollback(ctx);
			ers_authz_missing(ctx, actor, action, &where, address.data, err);
		}
	} else if (rc == 0) {
		struct ers_authz_target t = target_of(*user_r);
		if (!lock)
			rc = ers_authz_require(ctx, actor, action, &t, address.data, err);
		else if (ers_authz_check(actor, action, &t, err) < 0)
			rc = deny_in_tx(ctx, actor, action, address.data, t.tenant_id, err);
		if (rc < 0) {
			ers_user_free(*user_r);
			*user_r = NULL;
		}
	}
	ers_buf_free(&address);
	return rc;
}

/* Tenant limits (max users, max storage as the sum of quotas), checked with
 * the tenant row locked so that concurrent additions cannot both pass:
 * whether the tenant may take `g` (ers_tenant_may_grow), and, under a
 * storage limit, that the user keeps a quota (`quota_mb` -1: none). */
int ers_tenant_limits_check(struct ers_ctx *ctx, long long tenant_id, const struct ers_tenant_growth *g,
			       struct ers_error *err)
{
	struct ers_num tid = ers_num(tenant_id);
	const char *params[] = { tid.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ERS_SQL_TENANT_USE " FROM ers.tenant t WHERE t.id = $1::bigint"
				    " FOR UPDATE OF t", 1, params, err);
	if (!res)
		return -1;
	struct ers_tenant_use use;
	ers_tenant_use_fill(&use, res, 0, 0);
	struct ers_tenant_refusal why;
	struct ers_tenant_growth grow = *g;
	if (grow.quota_mb < 0)
		grow.quota_mb = 0; /* none: refused below where it matters */
	bool ok = ers_tenant_may_grow(&use, &grow, &why);
	int rc = 0;
	if (why.users) {
		*err = why.why_users;
		rc = -1;
	} else if (use.max_storage_mb >= 0 && g->quota_mb < 0) {
		ers_error_set(err, ERS_E_INVALID,
			      "tenant \"%s\" has a storage limit of %lld MB, so every mailbox needs a quota (--quota-mb)",
			      use.name, use.max_storage_mb);
		rc = -1;
	} else if (!ok) {
		*err = why.why_storage;
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int check_names(const struct ers_user_spec *s, struct ers_error *err)
{
	if (s->first_name && *s->first_name &&
	    ers_text_check(s->first_name, "first name", ERS_NAME_PART_MAX, err) < 0)
		return -1;
	if (s->last_name && *s->last_name &&
	    ers_text_check(s->last_name, "last name", ERS_NAME_PART_MAX, err) < 0)
		return -1;
	if (s->set_quota && (s->quota_mb < -1 || s->quota_mb > ERS_QUOTA_MB_MAX)) {
		ers_error_set(err, ERS_E_INVALID, "quota must be 0..%lld MB (or none), got %lld", ERS_QUOTA_MB_MAX,
			      s->quota_mb);
		return -1;
	}
	if (!s->imap_username != !s->imap_password) {
		ers_error_set(err, ERS_E_INVALID,
			      "stored IMAP credentials need both the username and the password (leave both out for a local mailbox)");
		return -1;
	}
	if (s->imap_username && ers_text_check(s->imap_username, "IMAP username", 320, err) < 0)
		return -1;
	return 0;
}

/* Seals a remote mailbox's IMAP password, bound to its address. */
static int seal_imap_password(struct ers_ctx *ctx, const char *address, const char *password,
			      struct ers_buf *sealed, struct ers_error *err)
{
	if (!password || !*password || strlen(password) > IMAP_PASSWORD_MAX) {
		ers_error_set(err, ERS_E_INVALID, "IMAP password must be 1 to %d bytes", IMAP_PASSWORD_MAX);
		return -1;
	}
	char context[400];
	snprintf(context, sizeof context, "imap-password:%s", address);
	return ers_seal(&ctx->cfg->secrets, context, password, strlen(password), sealed, err);
}

int ers_user_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_spec *spec,
		 struct ers_user **user_r, struct ers_buf *password_r, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT, hash = ERS_BUF_INIT, sealed = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	struct ers_buf generated = ERS_BUF_INIT;
	long long tenant_id, domain_id;
	enum ers_role role = spec->set_role ? spec->role : ERS_ROLE_USER;
	int rc = -1;
	struct ers_authz_target target = { .is_user = true, .user_role = role };
	if (ers_address_normalize(spec->address, &address, err) < 0 || check_names(spec, err) < 0 ||
	    ers_domain_owner_for(ctx, actor, ERS_ACT_USER_CREATE, &target, strrchr(address.data, '@') + 1,
				 address.data, &tenant_id, &domain_id, err) < 0)
		goto out;
	const char *password = spec->password;
	if (spec->generate_password == (password != NULL)) {
		ers_error_set(err, ERS_E_INVALID, "give the password (--password-file) or ask for a generated one (--generate-password), not both");
		goto out;
	}
	if (spec->generate_password) {
		if (ers_password_generate(&generated, err) < 0)
			goto out;
		password = generated.data;
	}
	if (ers_password_hash(password, &hash, err) < 0 ||
	    (spec->imap_password && seal_imap_password(ctx, address.data, spec->imap_password, &sealed, err) < 0))
		goto out;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	struct ers_num tid = ers_num(tenant_id), quota = ers_num(spec->quota_mb);
	bool quota_given = spec->set_quota && spec->quota_mb >= 0;
	const char *params[] = { tid.s, address.data, spec->first_name ? spec->first_name : "",
				 spec->last_name ? spec->last_name : "", ers_role_name(role), hash.data,
				 quota_given ? quota.s : NULL, spec->internal_only ? "t" : "f",
				 spec->imap_username, sealed.len ? sealed.data : NULL };
	struct ers_tenant_growth grow = { .users = 1, .quota_mb = quota_given ? spec->quota_mb : -1 };
	if (ers_tenant_limits_check(ctx, tenant_id, &grow, err) < 0 ||
	    ers_address_claim(ctx, address.data, tenant_id, domain_id, "mailbox", err) < 0 ||
	    ers_db_run(ctx,
		       "INSERT INTO ers.mailbox (tenant_id, address, first_name, last_name, role, password_hash, quota_mb,"
		       " internal_only, imap_username, imap_password_sealed)"
		       " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8::bool, $9, $10)", 10, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	ers_buf_addf(&detail, "role %s, quota %s%s%s%s", ers_role_name(role), quota_given ? quota.s : "none",
		     quota_given ? " MB" : "", spec->internal_only ? ", internal only" : "",
		     sealed.len ? ", remote mailbox" : ", local mailbox");
	if (ers_db_commit_audited(ctx, actor, "user.add", address.data, tenant_id, NULL, detail.data, err) < 0 ||
	    load(ctx, address.data, false, user_r, err) < 0)
		goto out;
	if (spec->generate_password) {
		ers_buf_reset(password_r);
		ers_buf_add(password_r, generated.data, generated.len);
	}
	if (spec->send_welcome) {
		struct ers_error why;
		if (ers_user_welcome(ctx, actor, address.data, NULL, &why) < 0)
			ers_ctx_warn(ctx, "user %s was created, but the welcome email was not sent: %s", address.data,
				     why.message);
	}
	rc = 0;
out:
	ers_buf_free(&address);
	ers_buf_free(&hash);
	ers_buf_free(&sealed);
	ers_buf_free(&detail);
	ers_buf_free_secret(&generated);
	return rc;
}

int ers_user_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		 struct ers_user **user_r, struct ers_error *err)
{
	return find_user(ctx, actor, address, ERS_ACT_USER_VIEW, false, user_r, err);
}

static const char *const sort_names[] = { "email", "name", "role", "status" };
/* The sort key of each order, beside m.address (the indexes of migration
 * 0012 hold the same expressions). */
static const char *const sort_exprs[] = { NULL, "lower(m.first_name || ' ' || m.last_name)", "m.role", "m.status" };

const char *ers_user_sort_name(enum ers_user_sort sort)
{
	return (unsigned)sort < 4 ? sort_names[sort] : "email";
}

int ers_user_sort_parse(const char *input, enum ers_user_sort *sort_r, struct ers_error *err)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(input, sort_names[i])) {
			*sort_r = (enum ers_user_sort)i;
			return 0;
		}
	ers_error_set(err, ERS_E_INVALID, "sort must be email, name, role or status, got \"%.40s\"", input);
	return -1;
}

/* The keyset cursor: the last address shown, and for an order other than
 * by email a space and its sort key (an address holds no space). */
int ers_user_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_filter *f,
		  struct ers_user_list **list_r, struct ers_error *err)
{
	if (f->limit < 0 || f->limit > 10000) {
		ers_error_set(err, ERS_E_INVALID, "--limit must be 1..10000, got %d", f->limit);
		return -1;
	}
	if ((unsigned)f->sort >= 4) {
		ers_error_set(err, ERS_E_INVALID, "unknown sort order %d", (int)f->sort);
		return -1;
	}
	const char *key_expr = sort_exprs[f->sort];
	char *after = NULL;
	const char *after_key = NULL;
	if (f->after && *f->after) {
		after = ers_xstrdup(f->after);
		char *sp = strchr(after, ' ');
		if (sp)
			*sp = '\0';
		if (!key_expr != !sp) {
			ers_error_set(err, ERS_E_INVALID, "the page cursor \"%.80s\" is not one of a list sorted by %s "
				      "(start again from the first page)", f->after, ers_user_sort_name(f->sort));
			free(after);
			return -1;
		}
		after_key = sp ? sp + 1 : NULL;
	}
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_USER_VIEW, f->tenant, "users", &sc, err) < 0) {
		free(after);
		return -1;
	}
	long long tenant_id = sc.tenant_id;
	bool self_only = sc.self_only, regular_only = sc.regular_only;
	struct ers_num tid = ers_num(tenant_id), self = ers_num(actor->user_id);
	struct ers_num limit1 = ers_num((f->limit ? f->limit : 100) + 1);
	const char *params[] = {
		tenant_id ? tid.s : NULL, self_only ? self.s : NULL, regular_only ? "user" : NULL,
		f->set_role ? ers_role_name(f->role) : NULL,
		f->set_status ? (f->status == ERS_USER_DISABLED ? "disabled" : "active") : NULL,
		after, limit1.s, f->search && *f->search ? f->search : NULL, after_key,
	};
	const char *cmp = f->descending ? "<" : ">", *dir = f->descending ? " DESC" : "";
	struct ers_buf q = ERS_BUF_INIT;
	ers_buf_addf(&q, "SELECT " USER_COLUMNS ", %s" USER_FROM
		" WHERE ($1::bigint IS NULL OR m.tenant_id = $1::bigint) AND ($2::bigint IS NULL OR m.id = $2::bigint)"
		" AND ($3::text IS NULL OR m.role = $3) AND ($4::text IS NULL OR m.role = $4)"
		" AND ($5::text IS NULL OR m.status = $5) AND m.kind = 'user'" /* shared mailboxes: ersctl shared list */
		" AND ($8::text IS NULL OR strpos(lower(m.address || ' ' || m.first_name || ' ' || m.last_name), lower($8)) > 0)",
		key_expr ? key_expr : "''");
	if (key_expr)
		ers_buf_addf(&q, " AND ($6::text IS NULL OR (%s, m.address) %s ($9::text, $6::text))"
			     " ORDER BY %s%s, m.address%s LIMIT $7::int", key_expr, cmp, key_expr, dir, dir);
	else
		ers_buf_addf(&q, " AND ($9::text IS NULL OR true) AND ($6::text IS NULL OR m.address %s $6)"
			     " ORDER BY m.address%s LIMIT $7::int", cmp, dir);
	PGresult *res = ers_db_exec(ctx, q.data, 9, params, err);
	ers_buf_free(&q);
	free(after);
	if (!res)
		return -1;
	int rows = PQntuples(res), want = f->limit ? f->limit : 100, keycol = PQnfields(res) - 1;
	struct ers_user_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)(rows > want ? want : rows);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++)
		fill_user(&list->items[r], res, r);
	if (rows > want) {
		struct ers_buf next = ERS_BUF_INIT;
		ers_buf_adds(&next, list->items[list->count - 1].address);
		if (key_expr)
			ers_buf_addf(&next, " %s", ers_db_str(res, (int)list->count - 1, keycol));
		list->next_after = ers_xstrdup(next.data);
		ers_buf_free(&next);
	}
	PQclear(res);
	*list_r = list;
	return 0;
}

int ers_user_end_sessions(struct ers_ctx *ctx, long long user_id, struct ers_error *err)
{
	struct ers_num id = ers_num(user_id);
	const char *params[] = { id.s };
	return ers_db_run(ctx, "DELETE FROM ers.session WHERE mailbox_id = $1::bigint", 1, params, err) < 0 ||
	       ers_db_run(ctx, "UPDATE ers.mailbox SET session_generation = session_generation + 1 WHERE id = $1::bigint",
			  1, params, err) < 0 ? -1 : 0;
}

/* Starts a transaction with the user locked and the action allowed. */
static int begin_on_user(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
			 enum ers_action action, struct ers_user **user_r, struct ers_error *err)
{
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (find_user(ctx, actor, input, action, true, user_r, err) < 0) {
		ers_db_rollback(ctx); /* a refusal has done so already */
		return -1;
	}
	return 0;
}

int ers_user_edit(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_spec *c,
		  struct ers_user **user_r, struct ers_error *err)
{
	if (check_names(c, err) < 0)
		return -1;
	bool names_only = !c->set_role && !c->set_quota && !c->imap_username && !c->set_internal_only;
	if (names_only && !c->first_name && !c->last_name) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give at least one new value");
		return -1;
	}
	struct ers_user *u = NULL;
	struct ers_buf sealed = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	enum ers_action action = names_only ? ERS_ACT_USER_RENAME : ERS_ACT_USER_EDIT;
	if (begin_on_user(ctx, actor, c->address, action, &u, err) < 0)
		return -1;
	struct ers_authz_target t = target_of(u);
	if (c->set_role) { /* both the old and the new role must be within reach */
		struct ers_authz_target to = t;
		to.user_role = c->role;
		if (ers_authz_check(actor, ERS_ACT_USER_SET_ROLE, &to, err) < 0 ||
		    ers_authz_check(actor, ERS_ACT_USER_EDIT, &to, err) < 0) {
			deny_in_tx(ctx, actor, ERS_ACT_USER_SET_ROLE, u->address, u->tenant_id, err);
			goto fail;
		}
	}
	/* Lowering a quota is allowed even over the storage limit; raising
	 * one is growth. */
	struct ers_tenant_growth grow = { .quota_was = u->quota_mb < 0 ? 0 : u->quota_mb, .quota_mb = c->quota_mb };
	if ((c->set_quota && ers_tenant_limits_check(ctx, u->tenant_id, &grow, err) < 0) ||
	    (c->imap_password && seal_imap_password(ctx, u->address, c->imap_password, &sealed, err) < 0))
		goto rollback;
	struct ers_num id = ers_num(u->id), quota = ers_num(c->quota_mb);
	const char *params[] = {
		id.s, c->first_name, c->last_name, c->set_role ? ers_role_name(c->role) : NULL,
		c->set_quota ? "t" : "f", c->set_quota && c->quota_mb >= 0 ? quota.s : NULL,
		c->set_internal_only ? (c->internal_only ? "t" : "f") : NULL,
		c->imap_username, sealed.len ? sealed.data : NULL,
	};
	if (ers_db_run(ctx,
		       "UPDATE ers.mailbox SET first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),"
		       " role = coalesce($4, role), quota_mb = CASE WHEN $5::bool THEN $6::bigint ELSE quota_mb END,"
		       " internal_only = coalesce($7::bool, internal_only), imap_username = coalesce($8, imap_username),"
		       " imap_password_sealed = coalesce($9, imap_password_sealed), updated_at = now()"
		       " WHERE id = $1::bigint", 9, params, err) < 0)
		goto rollback;
	if (c->first_name || c->last_name)
		ers_buf_adds(&detail, "name; ");
	if (c->set_role)
		ers_buf_addf(&detail, "role %s -> %s; ", ers_role_name(u->role), ers_role_name(c->role));
	if (c->set_quota)
		ers_buf_addf(&detail, "quota %s%s; ", params[5] ? params[5] : "none", params[5] ? " MB" : "");
	if (c->set_internal_only)
		ers_buf_addf(&detail, "internal only %s; ", c->internal_only ? "on" : "off");
	if (c->imap_username)
		ers_buf_adds(&detail, "stored IMAP credentials; ");
	if (detail.len >= 2)
		detail.data[detail.len -= 2] = '\0';
	if (ers_db_commit_audited(ctx, actor, "user.edit", u->address, u->tenant_id, u->tenant, detail.data, err) < 0)
		goto fail;
	/* Dovecot caches the userdb answer, quota included. */
	if (c->set_quota)
		ers_mailstack_after_change(ctx, actor, u->address, false);
	char *address = ers_xstrdup(u->address);
	ers_user_free(u);
	ers_buf_free(&sealed);
	ers_buf_free(&detail);
	int rc = load(ctx, address, false, user_r, err);
	free(address);
	return rc;
rollback:
	ers_db_rollback(ctx);
fail:
	ers_user_free(u);
	ers_buf_free(&sealed);
	ers_buf_free(&detail);
	return -1;
}

int ers_user_passwd(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		    const char *current, const char *new_password, bool generate,
		    struct ers_buf *password_r, struct ers_error *err)
{
	struct ers_buf hash = ERS_BUF_INIT, generated = ERS_BUF_INIT;
	struct ers_user *u = NULL;
	int rc = -1;
	if (generate == (new_password != NULL)) {
		ers_error_set(err, ERS_E_INVALID, "give the new password (--password-file) or ask for a generated one (--generate-password), not both");
		return -1;
	}
	if (generate) {
		if (ers_password_generate(&generated, err) < 0)
			return -1;
		new_password = generated.data;
	}
	if (ers_password_hash(new_password, &hash, err) < 0)
		goto out;
	enum ers_action action = current ? ERS_ACT_USER_CHANGE_PASSWORD : ERS_ACT_USER_RESET_PASSWORD;
	if (begin_on_user(ctx, actor, input, action, &u, err) < 0)
		goto out;
	if (current) {
		struct ers_num id = ers_num(u->id);
		const char *params[] = { id.s };
		PGresult *res = ers_db_exec(ctx, "SELECT password_hash FROM ers.mailbox WHERE id = $1::bigint", 1, params, err);
		if (!res) {
			ers_db_rollback(ctx);
			goto out;
		}
		bool ok = ers_password_verify(current, ers_db_str(res, 0, 0));
		PQclear(res);
		if (!ok) {
			ers_error_set(err, ERS_E_PERMISSION, "the current password is not right; nothing was changed");
			deny_in_tx(ctx, actor, action, u->address, u->tenant_id, err);
			goto out;
		}
	}
	struct ers_num id = ers_num(u->id);
	const char *params[] = { id.s, hash.data };
	if (ers_db_run(ctx, "UPDATE ers.mailbox SET password_hash = $2, password_changed_at = now(), updated_at = now()"
			    " WHERE id = $1::bigint", 2, params, err) < 0 ||
	    ers_user_end_sessions(ctx, u->id, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, actor, "user.passwd", u->address, u->tenant_id, u->tenant,
				  current ? "changed with the current password" : generate ? "reset to a generated password" : "reset",
				  err) < 0)
		goto out;
	ers_mailstack_after_change(ctx, actor, u->address, false);
	if (generate) {
		ers_buf_reset(password_r);
		ers_buf_add(password_r, generated.data, generated.len);
	}
	rc = 0;
out:
	ers_user_free(u);
	ers_buf_free(&hash);
	ers_buf_free_secret(&generated);
	return rc;
}

int ers_user_set_enabled(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
			 bool enabled, struct ers_error *err)
{
	struct ers_user *u = NULL;
	enum ers_action action = enabled ? ERS_ACT_USER_ENABLE : ERS_ACT_USER_DISABLE;
	if (begin_on_user(ctx, actor, input, action, &u, err) < 0)
		return -1;
	bool by_self = actor->user_id == u->id;
	int rc = -1;
	if ((u->status == ERS_USER_ACTIVE) == enabled) { /* already so: no change, no audit row */
		ers_db_rollback(ctx);
		rc = 0;
		goto out;
	}
	if (enabled && by_self && u->disabled_by_admin) {
		ers_error_set(err, ERS_E_PERMISSION, "an administrator disabled %s: only an administrator can enable it",
			      u->address);
		deny_in_tx(ctx, actor, action, u->address, u->tenant_id, err);
		goto out;
	}
	struct ers_num id = ers_num(u->id);
	const char *params[] = { id.s, enabled ? "active" : "disabled", enabled ? NULL : by_self ? "self" : "admin" };
	if (ers_db_run(ctx, "UPDATE ers.mailbox SET status = $2, disabled_by = $3, updated_at = now() WHERE id = $1::bigint",
		       3, params, err) < 0 ||
	    (!enabled && ers_user_end_sessions(ctx, u->id, err) < 0)) {
		ers_db_rollback(ctx);
		goto out;
	}
	rc = ers_db_commit_audited(ctx, actor, enabled ? "user.enable" : "user.disable", u->address, u->tenant_id,
				   u->tenant, NULL, err);
	if (rc == 0)
		ers_mailstack_after_change(ctx, actor, u->address, false);
out:
	ers_user_free(u);
	return rc;
}

int ers_user_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		    struct ers_error *err)
{
	struct ers_user *u = NULL;
	if (begin_on_user(ctx, actor, input, ERS_ACT_USER_DELETE, &u, err) < 0)
		return -1;
	struct ers_num id = ers_num(u->id), tid = ers_num(u->tenant_id);
	const char *params[] = { u->address, id.s, tid.s };
	int rc = -1;
	/* Forwards of its own tenant that send mail to the user or to one of its
	 * aliases would be left pointing at nothing (or at the catch-all): the
	 * admin decides about them first.  Other tenants' forwards are like
	 * outside senders' and do not block. */
	if (ers_route_lock(ctx, err) < 0)
		goto rollback;
	PGresult *res = ers_db_exec(ctx,
		"SELECT string_agg(CASE WHEN f.source LIKE '@%' THEN '*' || f.source ELSE f.source END, ', ' ORDER BY f.source)"
		" FROM ers.forward f WHERE f.tenant_id = $3::bigint AND f.source <> $1"
		" AND (f.destinations && ARRAY(SELECT address FROM ers.alias WHERE mailbox_id = $2::bigint)"
		"      OR $1 = ANY (f.destinations))", 3, params, err);
	if (!res)
		goto rollback;
	if (!ers_db_isnull(res, 0, 0)) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "%s or its aliases receive mail forwarded from %s: delete or change those forwards first",
			      u->address, ers_db_str(res, 0, 0));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	res = ers_db_exec(ctx, "SELECT count(*) FROM ers.alias WHERE mailbox_id = $1::bigint", 1, params + 1, err);
	if (!res)
		goto rollback;
	char detail[80];
	snprintf(detail, sizeof detail, "with %s alias(es)", ers_db_str(res, 0, 0));
	PQclear(res);
	/* The claims go, and with them the mailbox and its aliases (ON DELETE
	 * CASCADE); the mailbox's own forward goes too. */
	if (ers_db_run(ctx, "DELETE FROM ers.forward WHERE source = $1", 1, params, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.address_claim WHERE address = $1"
			    " OR address IN (SELECT address FROM ers.alias WHERE mailbox_id = $2::bigint)", 2, params, err) < 0)
		goto rollback;
	rc = ers_db_commit_audited(ctx, actor, "user.delete", u->address, u->tenant_id, u->tenant, detail, err);
	/* Only now, with the address no longer routable, does its mail go. */
	if (rc == 0)
		ers_mailstack_after_change(ctx, actor, u->address, true);
	ers_user_free(u);
	return rc;
rollback:
	ers_db_rollback(ctx);
	ers_user_free(u);
	return -1;
}

int ers_user_actor(struct ers_ctx *ctx, const char *input, struct ers_actor *actor_r,
		   struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	struct ers_user *u = NULL;
	if (ers_address_normalize(input, &address, err) < 0 || load(ctx, address.data, false, &u, err) < 0) {
		ers_buf_free(&address);
		return -1;
	}
	ers_buf_free(&address);
	char via[sizeof actor_r->via];
	snprintf(via, sizeof via, "%s", actor_r->via);
	memset(actor_r, 0, sizeof *actor_r);
	snprintf(actor_r->via, sizeof actor_r->via, "%s", via);
	actor_r->role = u->role;
	actor_r->tenant_id = u->tenant_id;
	actor_r->user_id = u->id;
	snprintf(actor_r->name, sizeof actor_r->name, "%s", u->address);
	/* A disabled account acts nowhere: not in the webmail (ers_login), not
	 * through an operator's --as.  The same words as the login's refusal. */
	int rc = 0;
	if (u->status != ERS_USER_ACTIVE) {
		ers_error_set(err, ERS_E_PERMISSION, "this account is disabled; contact your administrator");
		ers_audit_denied(ctx, actor_r, "actor.as", u->address, u->tenant_id, err->message);
		rc = -1;
	}
	ers_user_free(u);
	return rc;
}
