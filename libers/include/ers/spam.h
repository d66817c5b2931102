/* Greylisting per domain and per mailbox (manual 003: a mailbox's setting
 * counts only where its domain enables it) and the allowed senders that
 * are never greylisted (manual 002 "Whitelist").  `ersctl policyd` applies
 * them to mail arriving on port 25 at its next message: no reload.
 * Actions ERS_ACT_SPAM_VIEW and _SET: users their own mailbox, tenant
 * admins their domains and regular users, super admins any. */
#ifndef ERS_SPAM_H
#define ERS_SPAM_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

#define ERS_SPAM_ALLOW_MAX 1000 /* entries per domain or mailbox */

enum ers_tristate { ERS_UNSET = -1, ERS_OFF = 0, ERS_ON = 1 };

struct ers_spam_settings {
	char target[320];          /* the domain or the address */
	bool is_mailbox;
	enum ers_tristate greylisting; /* a domain: never UNSET (off unless said) */
	bool domain_greylisting;   /* a mailbox: its domain's */
	bool greylisting_effective;
	size_t allow_count;
	char **allow;              /* sorted */
};

/* `target` is a domain or an address (with '@'). */
int ers_spam_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target, struct ers_spam_settings *s,
		 struct ers_error *err);
void ers_spam_settings_free(struct ers_spam_settings *s);
/* Greylisting on, off, or (a mailbox) ERS_UNSET: as its domain says. */
int ers_spam_set_greylisting(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target,
			     enum ers_tristate value, struct ers_error *err);
/* `entry`: an address (name@domain) or a domain, stored in lower case. */
int ers_spam_allow_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target, const char *entry,
		       struct ers_error *err);
int ers_spam_allow_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target, const char *entry,
			  struct ers_error *err);

#endif
