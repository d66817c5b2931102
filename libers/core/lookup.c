/* Lookups below the policy: which tenant a domain or a name is.  The policy
 * (authz.c) resolves tenants with them, so they sit in core, under it,
 * rather than in accounts/tenant.c above it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"

int ers_domain_lookup(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		      long long *domain_id_r, struct ers_error *err)
{
	const char *params[] = { domain };
	PGresult *res = ers_db_exec(ctx, "SELECT tenant_id, id FROM ers.domain WHERE name = $1", 1, params, err);
	if (!res)
		return -1;
	*tenant_id_r = PQntuples(res) ? ers_db_ll(res, 0, 0) : 0;
	*domain_id_r = PQntuples(res) ? ers_db_ll(res, 0, 1) : 0;
	PQclear(res);
	return 0;
}

int ers_domain_owner(struct ers_ctx *ctx, const char *domain, long long *tenant_id_r,
		     long long *domain_id_r, struct ers_error *err)
{
	if (ers_domain_lookup(ctx, domain, tenant_id_r, domain_id_r, err) < 0)
		return -1;
	if (!*tenant_id_r) {
		ers_error_set(err, ERS_E_INVALID, "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)",
			      domain);
		return -1;
	}
	return 0;
}

/* Finds the tenant whose name (any case) or one of whose domains is `key`. */
int ers_tenant_resolve(struct ers_ctx *ctx, const char *key, long long *id_r, char **name_r,
		       struct ers_error *err)
{
	if (!key || !*key) {
		ers_error_set(err, ERS_E_INVALID, "tenant must be named: give its name or one of its domains");
		return -1;
	}
	struct ers_buf domain = ERS_BUF_INIT;
	struct ers_error ignored;
	bool is_domain = ers_domain_normalize(key, &domain, &ignored) == 0;
	/* Not a domain and not text a name could be: no tenant has it, and
	 * PostgreSQL would refuse broken UTF-8 with a less helpful error. */
	if (!is_domain && ers_text_check(key, "tenant", (size_t)-1, err) < 0) {
		ers_buf_free(&domain);
		ers_error_prefix(err, "give a tenant's name or one of its domains");
		return -1;
	}
	const char *params[] = { key, is_domain ? domain.data : NULL };
	/* At most one name and one domain match (both are unique). */
	PGresult *res = ers_db_exec(ctx,
		"SELECT id, name, 0 FROM ers.tenant WHERE lower(name) = lower($1)"
		" UNION ALL SELECT t.id, t.name, 1 FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id"
		" WHERE d.name = $2 ORDER BY 3", 2, params, err);
	ers_buf_free(&domain);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND,
			      "no tenant is named \"%.200s\" or owns that domain (see: ersctl tenant list)", key);
		PQclear(res);
		return -1;
	}
	/* A tenant may be named like another tenant's domain; guessing which
	 * one is meant could edit or delete the wrong one. */
	if (PQntuples(res) > 1 && ers_db_ll(res, 0, 0) != ers_db_ll(res, 1, 0)) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "\"%.200s\" is ambiguous: it is the name of tenant \"%s\" and a domain of tenant \"%s\"; give the first by one of its domains, the second by its name",
			      key, ers_db_str(res, 0, 1), ers_db_str(res, 1, 1));
		PQclear(res);
		return -1;
	}
	*id_r = ers_db_ll(res, 0, 0);
	if (name_r)
		*name_r = ers_xstrdup(ers_db_str(res, 0, 1));
	PQclear(res);
	return 0;
}

