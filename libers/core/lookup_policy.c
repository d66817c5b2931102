/* A lookup and the policy in one step: the tenant of a domain or a name,
 * then whether the actor may act there -- where a name that names nothing
 * is refused like one the actor may not see (ers_authz_missing).  Above
 * both lookup.c and authz.c, which do not ask each other for this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"

int ers_domain_owner_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			 const struct ers_authz_target *target, const char *domain, const char *target_desc,
			 long long *tenant_id_r, long long *domain_id_r, struct ers_error *err)
{
	if (!target_desc)
		target_desc = domain;
	struct ers_authz_target t = target ? *target : (struct ers_authz_target){ 0 };
	if (ers_domain_lookup(ctx, domain, tenant_id_r, domain_id_r, err) < 0)
		return -1;
	if (!*tenant_id_r) {
		ers_error_set(err, ERS_E_INVALID, "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)",
			      domain);
		t.tenant_id = 0;
		return ers_authz_missing(ctx, actor, action, &t, target_desc, err);
	}
	t.tenant_id = *tenant_id_r;
	return ers_authz_require(ctx, actor, action, &t, target_desc, err);
}

int ers_tenant_resolve_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			   const struct ers_authz_target *target, const char *key, long long *id_r,
			   char **name_r, struct ers_error *err)
{
	struct ers_authz_target t = target ? *target : (struct ers_authz_target){ 0 };
	char *name = NULL;
	if (ers_tenant_resolve(ctx, key, id_r, name_r ? &name : NULL, err) < 0) {
		/* Which tenant a name or a domain belongs to, or that none has
		 * it, is for those who see every tenant. */
		if (err->code != ERS_E_NOTFOUND && err->code != ERS_E_CONFLICT)
			return -1;
		t.tenant_id = 0;
		return ers_authz_missing(ctx, actor, action, &t, key, err);
	}
	t.tenant_id = *id_r;
	if (ers_authz_require(ctx, actor, action, &t, key, err) < 0) {
		free(name);
		return -1;
	}
	if (name_r)
		*name_r = name;
	return 0;
}

#define USER_COLUMNS "m.id, m.tenant_id, m.role, m.address, t.name" \
	" FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id WHERE m.address = $1"

int ers_user_find_for(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		      enum ers_action action, bool in_tx, struct ers_user_ref *u, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	long long domain_tenant = 0, domain_id;
	memset(u, 0, sizeof *u);
	if (ers_address_normalize(input ? input : "", &address, err) < 0 ||
	    ers_domain_lookup(ctx, strrchr(address.data, '@') + 1, &domain_tenant, &domain_id, err) < 0) {
		ers_buf_free(&address);
		return -1;
	}
	const char *params[] = { address.data };
	PGresult *res = ers_db_exec(ctx, in_tx ? "SELECT " USER_COLUMNS " FOR UPDATE OF m" : "SELECT " USER_COLUMNS,
				    1, params, err);
	int rc = -1;
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", address.data);
		struct ers_authz_target where = { .tenant_id = domain_tenant, .is_user = true };
		if (in_tx)
			ers_db_rollback(ctx);
		ers_authz_missing(ctx, actor, action, &where, address.data, err);
		goto out;
	}
	struct ers_error ignored;
	u->id = ers_db_ll(res, 0, 0);
	u->tenant_id = ers_db_ll(res, 0, 1);
	if (ers_role_parse(ers_db_str(res, 0, 2), &u->role, &ignored) < 0)
		ERS_BUG("a role the schema does not allow");
	snprintf(u->address, sizeof u->address, "%s", ers_db_str(res, 0, 3));
	snprintf(u->tenant, sizeof u->tenant, "%s", ers_db_str(res, 0, 4));
	struct ers_authz_target t = { .tenant_id = u->tenant_id, .user_id = u->id, .is_user = true,
				      .user_role = u->role };
	if (!in_tx) {
		rc = ers_authz_require(ctx, actor, action, &t, u->address, err);
	} else if (ers_authz_check(actor, action, &t, err) < 0) {
		ers_db_rollback(ctx);
		ers_audit_denied(ctx, actor, ers_action_name(action), u->address, u->tenant_id, err->message);
	} else {
		rc = 0;
	}
out:
	PQclear(res);
	ers_buf_free(&address);
	return rc;
}
