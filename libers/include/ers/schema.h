/* The database schema: numbered migrations compiled into the library. */
#ifndef ERS_SCHEMA_H
#define ERS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

struct ers_schema_step {
	int version;
	char name[64];
	bool applied;
	char applied_at[40]; /* ISO 8601 UTC, empty when pending */
};

struct ers_schema_status {
	size_t count;
	struct ers_schema_step *steps;
	int current;   /* highest version applied, 0 for none */
	int latest;    /* highest version this library knows */
};

int ers_schema_status(struct ers_ctx *ctx, struct ers_schema_status **status_r,
		      struct ers_error *err);
void ers_schema_status_free(struct ers_schema_status *st);
/* Applies every pending migration, each in its own transaction with one
 * audit row; *applied_r says how many. */
int ers_schema_migrate(struct ers_ctx *ctx, const struct ers_actor *actor, int *applied_r,
		       struct ers_error *err);
int ers_schema_latest(void);

#endif
