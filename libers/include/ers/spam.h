/* The spam filter and greylisting per domain and per mailbox (manual 003: a mailbox's setting
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

/* What becomes of spam (manual 002 "Spam Settings"; its "quarantine" is the
 * Junk folder here): marked with headers in INBOX, filed into Junk by
 * the global Sieve rule, or refused 5xx at SMTP time. */
enum ers_spam_action { ERS_SPAM_AS_DOMAIN = 0, ERS_SPAM_MARK, ERS_SPAM_JUNK, ERS_SPAM_REJECT };
#define ERS_SPAM_THRESHOLD_DEFAULT 5.0 /* rspamd's score; 1..100 */
#define ERS_SPAM_ACTION_DEFAULT ERS_SPAM_JUNK
const char *ers_spam_action_word(enum ers_spam_action a); /* "mark", "junk", "reject", "default" */

struct ers_spam_settings {
	char target[320];          /* the domain or the address */
	bool is_mailbox;
	enum ers_tristate greylisting; /* a domain: never UNSET (off unless said) */
	bool domain_greylisting;   /* a mailbox: its domain's */
	bool greylisting_effective;
	size_t allow_count;
	char **allow;              /* sorted */
	/* The spam filter: own values (a mailbox: UNSET, 0 and AS_DOMAIN when
	 * it follows its domain), its domain's, and what counts. */
	enum ers_tristate filter;
	double threshold;
	enum ers_spam_action action;
	bool domain_filter;
	double domain_threshold;
	enum ers_spam_action domain_action;
	bool filter_effective;
	double threshold_effective;
	enum ers_spam_action action_effective;
	size_t block_count;
	char **block;              /* sorted */
};

/* A change of the spam filter as given by a person (ersctl, the webmail):
 * NULL leaves a value as it is.  filter "on", "off" or "default" (a
 * mailbox: as its domain); threshold a number 1..100 (two decimals at
 * most) or "default"; action "mark", "junk", "reject" or "default". */
struct ers_spam_filter_change {
	const char *filter, *threshold, *action;
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

/* All of `change` in one transaction with one audit row, or nothing (a
 * bad value: ERS_E_INVALID naming what is allowed). */
int ers_spam_set_filter(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target,
			const struct ers_spam_filter_change *change, struct ers_error *err);
/* Blocked senders (manual 002 "Blacklist"): their mail is spam whatever
 * its score. */
int ers_spam_block_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target, const char *entry,
		       struct ers_error *err);
int ers_spam_block_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target, const char *entry,
			  struct ers_error *err);

/* The verdict of `ersctl spam milter` for one recipient of a message
 * arriving on port 25. */
enum ers_spam_fate { ERS_SPAM_DELIVER = 0, ERS_SPAM_MARKED, ERS_SPAM_JUNKED, ERS_SPAM_REJECTED };
struct ers_spam_verdict {
	enum ers_spam_fate fate;
	bool filtered;     /* the filter is on for this recipient */
	bool allowed;      /* an allowed sender: never spam */
	bool blocked;      /* a blocked sender: always spam */
	char mailbox[256]; /* the mailbox the recipient is delivered to (itself, or
			    * the alias's), "" for none of ours: Dovecot sees
			    * this one, not the alias */
};

/* Decides for each of `rcpts` (n of them) what becomes of `msg` from
 * `sender` (the envelope sender, "" for <>), reading each recipient's
 * settings from PostgreSQL; rspamd (mailstack.rspamd) scores the message
 * once, only when some recipient needs a score.  `score_r` gets rspamd's
 * score (negative for mail that looks good), NAN when it was not asked.  -1 with ERS_E_UNAVAILABLE when
 * rspamd does not answer; other errors are the database's. */
/* Once per process, before threads (libcurl's global state). */
void ers_spam_global_init(void);
int ers_spam_decide(struct ers_ctx *ctx, const char *client_ip, const char *helo, const char *sender,
		    const char *const *rcpts, size_t n, const char *msg, size_t len, struct ers_spam_verdict *verdicts,
		    double *score_r, struct ers_error *err);

/* What ers_spam_learn did, when it did not fail. */
enum ers_spam_learned {
	ERS_SPAM_LEARN_NOT_ASKED = 0, /* no controller is configured: nothing done */
	ERS_SPAM_LEARNED = 1,         /* rspamd learned it (or had already) */
	ERS_SPAM_LEARN_SKIPPED = 2,   /* rspamd passed over it: too few words to learn from */
};

/* "Mark as spam" / "Not spam" (the webmail): teaches rspamd's Bayes
 * classifier, through its controller (mailstack.rspamd_controller), that
 * `msg`, a message of mailbox `address`, is spam or not; ERS_ACT_SPAM_SET
 * on that mailbox, one audit row (spam.learn, never the message) when
 * rspamd learned it.  Returns an enum ers_spam_learned, or -1 on error. */
int ers_spam_learn(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, bool spam, const char *msg,
		   size_t len, struct ers_error *err);

#endif
