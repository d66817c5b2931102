/* Failed sign-in attempts, counted per address and client for the
 * slow-down of password and code guessing; used by sign-in (session.c) and
 * the MFA code check (mfa.c), so it sits below both. */
#include <stdio.h>
#include <string.h>
#include "accounts/internal.h"

int ers_login_failure_record(struct ers_ctx *ctx, const char *kind, const char *address,
			     const char *client_ip, long long *count_r, struct ers_error *err)
{
	const char *params[] = { kind, address, client_ip };
	PGresult *res = ers_db_exec(ctx,
		"WITH sweep AS (DELETE FROM ers.login_failure WHERE at < now() - interval '1 day'),"
		" f AS (INSERT INTO ers.login_failure (kind, address, client_ip) VALUES ($1, $2, $3::inet))"
		" SELECT count(*) + 1 FROM ers.login_failure"
		" WHERE kind = $1 AND address = $2 AND at > now() - interval '15 minutes'", 3, params, err);
	if (!res)
		return -1;
	if (count_r)
		*count_r = ers_db_ll(res, 0, 0);
	PQclear(res);
	return 0;
}
