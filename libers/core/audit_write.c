/* Recording refusals in the audit log.  Changes record themselves through
 * ers_db_commit_audited (db.c); reading the log is accounts/audit_log.c.
 * The writer asks no policy: the policy calls it. */
#include "core/internal.h"

void ers_audit_denied(struct ers_ctx *ctx, const struct ers_actor *actor, const char *action,
		      const char *target, long long tenant_id, const char *why)
{
	if (ctx->in_tx)
		ERS_BUG("a refusal is recorded outside the refused transaction");
	struct ers_num tid = ers_num(tenant_id);
	const char *params[] = { actor->name, actor->via[0] ? actor->via : NULL,
				 action, target ? target : "", tenant_id > 0 ? tid.s : NULL, why };
	struct ers_error ignored;
	/* Best effort: a refusal must not turn into a different error. */
	ers_db_run(ctx,
		   "INSERT INTO ers.audit_log (actor, via, action, target, tenant_id, tenant_name, outcome, detail)"
		   " VALUES ($1, $2, $3, $4, $5::bigint, (SELECT name FROM ers.tenant WHERE id = $5::bigint), 'denied', $6)",
		   6, params, &ignored);
}
