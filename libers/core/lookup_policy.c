/* A lookup and the policy in one step: the tenant of a domain or a name,
 * then whether the actor may act there -- where a name that names nothing
 * is refused like one the actor may not see (ers_authz_missing).  Above
 * both lookup.c and authz.c, which do not ask each other for this. */
#include <stdlib.h>
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
