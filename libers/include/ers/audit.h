/* The audit log: one row for every mutating operation, written in the same
 * transaction as the change it records. */
#ifndef ERS_AUDIT_H
#define ERS_AUDIT_H

#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

struct ers_audit_entry {
	long long id;
	char at[40];
	char *actor;
	char *action;
	char *target;
	char *tenant;   /* tenant name at the time, or "" */
	char *outcome;  /* "ok" or "denied" */
	char *detail;
};

struct ers_audit_list {
	size_t count;
	struct ers_audit_entry *items;
};

struct ers_audit_filter {
	const char *tenant; /* tenant name, NULL: any */
	const char *actor;  /* NULL: any */
	const char *since;  /* ISO 8601 time or a span ago: 30m, 12h, 7d; NULL: any */
	int limit;          /* 0: 100 */
};

int ers_audit_list(struct ers_ctx *ctx, const struct ers_actor *actor,
		   const struct ers_audit_filter *filter, struct ers_audit_list **list_r,
		   struct ers_error *err);
void ers_audit_list_free(struct ers_audit_list *list);

#endif
