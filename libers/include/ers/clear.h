/* Clearing a mailbox (manual 003 "Clear the contents of a mailbox"): its
 * messages deleted -- all, one folder's, or those older than some days --
 * by Dovecot's doveadm expunge.  Without a backup they cannot be restored. */
#ifndef ERS_CLEAR_H
#define ERS_CLEAR_H

#include <stdbool.h>
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

/* The same over IMAP, for a front that cannot run doveadm (the webmail):
 * after the policy allowed it, `open` is asked for a connection to the
 * mailbox (as its owner); it is closed here.  With `count_only` nothing is
 * deleted and nothing audited. */
struct ers_imap;
typedef int ers_clear_open_fn(void *arg, const char *address, struct ers_imap **im_r, struct ers_error *err);
int ers_mailbox_clear_imap(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
			   bool count_only, ers_clear_open_fn *open, void *arg, long long *n_r, struct ers_error *err);

#endif
