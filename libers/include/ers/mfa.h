/* Multi-factor sign-in with a time-based one-time password (RFC 6238), as
 * FreeOTP and other authenticator apps make them (manual 000 "FreeOTP / MFA
 * Setup"): HMAC-SHA1, 30-second steps, 6 digits.
 *
 * "Set Up FreeOTP" (ers_mfa_setup_begin) makes a 160-bit seed, sealed under
 * the master key, and shows it as a QR code, a base32 secret and an
 * otpauth:// URI; "Verify and Enable" (ers_mfa_setup_verify) turns MFA on
 * with a current code.  A code is accepted one step either side of now,
 * once: a code of a step no later than the last one accepted is refused,
 * also when two requests race.  ERS_MFA_MAX_FAILURES wrong codes within 15
 * minutes lock code entry for ERS_MFA_LOCK_MINUTES; the message says until
 * when.  Admins see (ersctl user mfa status) and reset (ersctl user mfa
 * reset) a user's MFA under the policy; a reset ends the user's sessions. */
#ifndef ERS_MFA_H
#define ERS_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#define ERS_TOTP_PERIOD 30
#define ERS_TOTP_DIGITS 6
#define ERS_TOTP_WINDOW 1           /* steps accepted either side of now */
#define ERS_TOTP_SEED_BYTES 20
#define ERS_TOTP_ISSUER "ERS"
#define ERS_MFA_MAX_FAILURES 5
#define ERS_MFA_LOCK_MINUTES 15

struct ers_mfa_setup {
	char *secret;  /* the seed in base32, for typing into the app */
	char *uri;     /* otpauth://totp/ERS:ADDRESS?secret=...&issuer=ERS&... */
	char *svg;     /* the URI as a QR code, inline SVG */
};

struct ers_mfa_status {
	char address[320];
	bool enabled;
	char enabled_at[40];      /* "" when off */
	bool setup_pending;       /* a secret was shown and not verified yet */
	bool locked;
	char locked_until[40];    /* "" when not locked */
	int recent_failures;      /* wrong codes in the last 15 minutes */
};

/* Starts (or starts over) enrolment for the actor's own mailbox: a new
 * pending seed.  Refused (ERS_E_CONFLICT) while MFA is on: an admin resets
 * it first, so that a stolen session cannot move MFA to another phone. */
int ers_mfa_setup_begin(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			struct ers_mfa_setup **setup_r, struct ers_error *err);
/* Turns MFA on when `code` is current for the pending seed. */
int ers_mfa_setup_verify(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			 const char *code, struct ers_error *err);
int ers_mfa_status(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		   struct ers_mfa_status *status_r, struct ers_error *err);
/* Turns MFA off (seeds wiped, lock-out lifted) and ends every session of
 * the user; `was_on_r` (may be NULL) says whether there was anything to
 * reset -- nothing changes, and no audit row is written, when not. */
int ers_mfa_reset(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		  bool *was_on_r, struct ers_error *err);
/* Wipes the secret, URI and QR code, then frees. */
void ers_mfa_setup_free(struct ers_mfa_setup *s);

/* The pure parts, for tests and tools. */
/* The code (RFC 4226 HOTP with HMAC-SHA1, `digits` 1..9) of time step
 * `step` into out (digits + 1 bytes); -1 for a bad digits value. */
int ers_totp_code(const unsigned char *key, size_t key_len, uint64_t step, int digits, char *out);
/* Whether `code` is the code of a step in [step - window, step + window];
 * every candidate is compared in constant time.  The step it matches goes
 * to matched_r. */
bool ers_totp_verify(const unsigned char *key, size_t key_len, const char *code, uint64_t step,
		     int window, int digits, uint64_t *matched_r);
/* RFC 4648 base32 without padding, and back (case-insensitive; padding,
 * spaces and hyphens ignored); -1 on any other character. */
void ers_base32_encode(const unsigned char *data, size_t n, struct ers_buf *out);
int ers_base32_decode(const char *text, struct ers_buf *out);
/* Constant-time string comparison (lengths are not secret). */
bool ers_secret_equal(const char *a, const char *b);

#endif
