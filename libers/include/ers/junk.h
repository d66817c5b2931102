/* Junk retention (manual 004 "move spam to Junk"): the messages of every
 * mailbox's Junk folder received more than its tenant's
 * junk_retention_days ago are expunged by Dovecot's doveadm, from
 * `ersctl mailstack purge` (cron). */
#ifndef ERS_JUNK_H
#define ERS_JUNK_H

#include "actor.h"
#include "ctx.h"
#include "error.h"

/* Operators only.  On a machine that is not a mail node (no writable
 * mailstack.mail_root) nothing is done.  One audit row when something was
 * expunged, saying how many messages from how many mailboxes. */
int ers_junk_expire(struct ers_ctx *ctx, const struct ers_actor *actor, long long *expunged_r, struct ers_error *err);

#endif
