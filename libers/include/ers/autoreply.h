/* A mailbox's autoresponder (manual 002 "Autoresponder"): subject, message,
 * optional start and end dates (days in the tenant's time zone), and the
 * days before the same sender is answered again.  Dovecot's Sieve vacation
 * (RFC 5230) sends the replies; it reads the script from the database
 * (ers_mail.sieve_names / sieve_data), so a change here is live at the next
 * delivery.  Actions ERS_ACT_AUTOREPLY_VIEW and _SET: users their own
 * mailbox, tenant admins their tenant's regular users, super admins any. */
#ifndef ERS_AUTOREPLY_H
#define ERS_AUTOREPLY_H

#include <stdbool.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

#define ERS_AUTOREPLY_SUBJECT_MAX 200
#define ERS_AUTOREPLY_MESSAGE_MAX 65536 /* bytes */
#define ERS_AUTOREPLY_INTERVAL_MAX 365  /* days */

struct ers_autoreply_input {
	bool enabled;
	const char *subject;
	const char *message;
	const char *starts_on; /* YYYY-MM-DD or NULL/"": no start */
	const char *ends_on;   /* YYYY-MM-DD or NULL/"": no end (the day itself included) */
	int interval_days;     /* 0: the default, 1 */
};

struct ers_autoreply {
	char address[320];
	bool configured;       /* a row exists (set once, perhaps off now) */
	bool enabled;
	bool active;           /* enabled and today inside the dates: replies go out */
	char subject[ERS_AUTOREPLY_SUBJECT_MAX * 4 + 1];
	char *message;         /* owned; "" when not configured */
	char starts_on[11], ends_on[11]; /* "" for none */
	int interval_days;
	char time_zone[64];    /* the tenant's, that the dates are days in */
	char updated_at[40];
	char updated_by[200];
};

/* Checks the input alone (no database): 0, or -1 with ERS_E_INVALID naming
 * what is allowed. */
int ers_autoreply_validate(const struct ers_autoreply_input *in, struct ers_error *err);

int ers_autoreply_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      struct ers_autoreply *r, struct ers_error *err);
/* Saves all the fields at once (one transaction, one audit row). */
int ers_autoreply_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      const struct ers_autoreply_input *in, struct ers_error *err);
/* Turns it off, keeping the text; `was_on_r` says whether it was enabled. */
int ers_autoreply_off(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      bool *was_on_r, struct ers_error *err);
void ers_autoreply_free(struct ers_autoreply *r);

/* For a list of mailboxes (manual 002's mailbox table, "Autoresponder:
 * Active/Inactive"): active[i] says whether addresses[i]'s autoresponder
 * answers today (enabled, inside its dates in the tenant's time zone).
 * Only mailboxes whose autoresponder the actor may view can show as
 * active; the others, and unknown addresses, read as inactive. */
int ers_autoreply_active_among(struct ers_ctx *ctx, const struct ers_actor *actor, const char *const *addresses,
			       size_t n, bool *active, struct ers_error *err);

#endif
