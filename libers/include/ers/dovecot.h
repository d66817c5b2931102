/* The effects of ERS's changes on the running mail servers: Dovecot's auth
 * cache flushed over its doveadm HTTP API, and deleted mailboxes' mail
 * removed (mail/dovecot.c). */
#ifndef ERS_DOVECOT_H
#define ERS_DOVECOT_H

#include "actor.h"
#include "config.h"
#include "ctx.h"
#include "error.h"

/* Removes the mail of deleted mailboxes and tenants under MAIL_ROOT that
 * the database lists as pending, marking each done.  `removed_r` counts
 * directories removed. */
int ers_mailstack_purge(struct ers_ctx *ctx, const struct ers_actor *actor, long *removed_r,
			struct ers_error *err);

/* Tells every Dovecot in mailstack.doveadm_urls to forget what its auth
 * cache holds for `address`, so a password change, disable or delete takes
 * effect at once (NULL: flush everything).  A no-op when none is configured. */
int ers_mailstack_flush_auth(const struct ers_config *cfg, const char *address,
			     struct ers_error *err);

#endif
