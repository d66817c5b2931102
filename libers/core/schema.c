/* Applies the numbered migrations compiled in from libers/core/sql/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"
#include "core/migrations.h"

/* Any fixed number: serialises concurrent `ersctl db migrate` runs. */
#define MIGRATE_LOCK_KEY "4711001"

int ers_schema_status(struct ers_ctx *ctx, struct ers_schema_status **status_r,
		      struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx,
		"SELECT to_regclass('ers.schema_migration') IS NOT NULL", 0, NULL, err);
	if (!res)
		return -1;
	bool have_table = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	res = NULL;
	if (have_table) {
		res = ers_db_exec(ctx, "SELECT version, " ERS_SQL_TIME("applied_at")
				  " FROM ers.schema_migration ORDER BY version", 0, NULL, err);
		if (!res)
			return -1;
	}
	struct ers_schema_status *st = ers_xcalloc(1, sizeof *st);
	int rows = res ? PQntuples(res) : 0;
	st->latest = ers_schema_latest();
	st->steps = ers_xcalloc(ers_migration_count + (size_t)rows, sizeof *st->steps);
	for (size_t i = 0; i < ers_migration_count; i++) {
		struct ers_schema_step *step = &st->steps[st->count++];
		step->version = ers_migrations[i].version;
		snprintf(step->name, sizeof step->name, "%s", ers_migrations[i].name);
	}
	for (int r = 0; r < rows; r++) {
		int v = (int)ers_db_ll(res, r, 0);
		struct ers_schema_step *step = NULL;
		for (size_t i = 0; i < ers_migration_count; i++)
			if (st->steps[i].version == v)
				step = &st->steps[i];
		if (!step) { /* applied by a newer ersctl */
			step = &st->steps[st->count++];
			step->version = v;
			snprintf(step->name, sizeof step->name, "(unknown to this version)");
		}
		step->applied = true;
		ers_db_time(step->applied_at, res, r, 1);
		if (v > st->current)
			st->current = v;
	}
	PQclear(res);
	*status_r = st;
	return 0;
}

void ers_schema_status_free(struct ers_schema_status *st)
{
	if (!st)
		return;
	free(st->steps);
	free(st);
}

static int apply_one(struct ers_ctx *ctx, const struct ers_actor *actor,
		     const struct ers_migration *m, bool *applied_r, struct ers_error *err)
{
	*applied_r = false;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	struct ers_num version = ers_num(m->version);
	const char *vparam[] = { version.s };
	PGresult *res = NULL;
	if (ers_db_run(ctx, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, err) < 0 ||
	    ers_db_run(ctx, "CREATE SCHEMA IF NOT EXISTS ers", 0, NULL, err) < 0 ||
	    ers_db_run(ctx, "CREATE TABLE IF NOT EXISTS ers.schema_migration ("
			    " version integer PRIMARY KEY, name text NOT NULL,"
			    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, err) < 0 ||
	    !(res = ers_db_exec(ctx, "SELECT 1 FROM ers.schema_migration WHERE version = $1::int",
				1, vparam, err)))
		goto fail;
	bool done = PQntuples(res) > 0;
	PQclear(res);
	if (done) { /* another migrate got here first */
		ers_db_rollback(ctx);
		return 0;
	}
	if (ers_db_run_script(ctx, m->sql, err) < 0) {
		err->code = ERS_E_INTERNAL; /* a shipped migration that fails is a bug */
		ers_error_prefix(err, "migration %04d_%s failed", m->version, m->name);
		goto fail;
	}
	const char *params[] = { version.s, m->name };
	if (ers_db_run(ctx, "INSERT INTO ers.schema_migration (version, name) VALUES ($1::int, $2)",
		       2, params, err) < 0)
		goto fail;
	char target[96];
	snprintf(target, sizeof target, "%04d_%s", m->version, m->name);
	if (ers_db_commit_audited(ctx, actor, "db.migrate", target, 0, NULL, NULL, err) < 0)
		return -1;
	*applied_r = true;
	return 0;
fail:
	ers_db_rollback(ctx);
	return -1;
}

int ers_schema_migrate(struct ers_ctx *ctx, const struct ers_actor *actor, int *applied_r,
		       struct ers_error *err)
{
	*applied_r = 0;
	if (ers_authz_require(ctx, actor, ERS_ACT_SCHEMA_MIGRATE, NULL, "database schema", err) < 0)
		return -1;
	struct ers_schema_status *st;
	if (ers_schema_status(ctx, &st, err) < 0)
		return -1;
	int current = st->current;
	ers_schema_status_free(st);
	if (current > ers_schema_latest()) {
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "database schema version %d is newer than this ersctl knows (%d): upgrade ersctl",
			      current, ers_schema_latest());
		return -1;
	}
	for (size_t i = 0; i < ers_migration_count; i++) {
		if (ers_migrations[i].version <= current)
			continue;
		bool applied;
		if (apply_one(ctx, actor, &ers_migrations[i], &applied, err) < 0)
			return -1;
		*applied_r += applied;
	}
	return 0;
}
