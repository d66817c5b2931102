/* The decisions of the Postfix policy service (ersctl policyd): internal-only
 * addresses (manual 004), disabled senders, and the hourly send limits
 * (manuals 002, 003) counted in PostgreSQL. */
#ifndef ERS_POLICY_H
#define ERS_POLICY_H

#include <stddef.h>
#include "buf.h"
#include "ctx.h"
#include "error.h"

/* One attribute of a policy delegation request, as Postfix sent it. */
struct ers_policy_attr {
	const char *name;
	const char *value;
};

/* Decides one request and puts its action, without "action=", into
 * `action_r` (reset first):
 *   - "REJECT 5.7.1 ..." when the authenticated sender (sasl_username) is no
 *     mailbox or a disabled one; at RCPT, when the recipient is an
 *     internal-only mailbox or alias and the client is not authenticated as
 *     a mailbox of the same tenant; at DATA/BDAT, when the sender's
 *     per-mailbox limit is 0 or 1, or the message has more recipients than
 *     a limit allows in a whole hour;
 *   - "450 4.7.1 ..." at DATA/BDAT when the message's recipients
 *     (recipient_count) do not fit in what is left of a limit this clock
 *     hour -- the mailbox's, its domain's or its tenant's, counted
 *     atomically for all three, or not at all;
 *   - "DUNNO" otherwise.
 * When the decision cannot be made (no database: ctx NULL or the
 * connection lost and not re-established, an unexpected request) the action
 * is "DEFER_IF_PERMIT 4.3.0 ..." and -1 is returned with `err` saying why,
 * for the log; otherwise 0.  A lost connection is re-established on the
 * next call.  No audit row: these are the mail system's decisions, not an
 * operator's changes. */
int ers_policy_decide(struct ers_ctx *ctx, const struct ers_policy_attr *attrs, size_t n,
		      struct ers_buf *action_r, struct ers_error *err);

/* Deletes the counters of clock hours gone by; returns how many rows, or -1. */
long long ers_policy_purge(struct ers_ctx *ctx, struct ers_error *err);

#endif
