/* Clearing a mailbox (manual 003 "Clear the contents of a mailbox"): its
 * messages deleted -- all, one folder's, or those older than some days --
 * by Dovecot's doveadm expunge.  Without a backup they cannot be restored. */
#ifndef ERS_CLEAR_H
#define ERS_CLEAR_H

#include "actor.h"
#include "ctx.h"
#include "error.h"

struct ers_clear_spec {
	const char *address;
	const char *folder;       /* NULL: every folder */
	long long older_than_days; /* -1: whatever their age; else 1..36500 */
};

/* How many messages ers_mailbox_clear would delete now (for the
 * confirmation), after the policy allowed it. */
int ers_mailbox_clear_count(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
			    long long *count_r, struct ers_error *err);
/* Deletes them; one audit row saying how many. */
int ers_mailbox_clear(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
		      long long *removed_r, struct ers_error *err);

#endif
