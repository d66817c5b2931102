/* Passwords: yescrypt hashes that Dovecot's {CRYPT} scheme verifies as they
 * are, and generated temporary passwords. */
#ifndef ERS_PASSWORD_H
#define ERS_PASSWORD_H

#include <stdbool.h>
#include "buf.h"
#include "error.h"

#define ERS_PASSWORD_MIN 12
/* libxcrypt (and so Dovecot's {CRYPT}) refuses passwords of 512 bytes or more. */
#define ERS_PASSWORD_MAX 511

/* 12..511 bytes, no NUL, no truncation anywhere. */
int ers_password_check(const char *password, struct ers_error *err);
/* A yescrypt hash ("$y$...") of a checked password, salted from the OS CSPRNG. */
int ers_password_hash(const char *password, struct ers_buf *hash_r, struct ers_error *err);
/* The hash of a random machine key (such as WEBMAIL_MASTER_PASSWORD):
 * SHA512-CRYPT ("$6$rounds=1000$...", 0.3 ms) when the key is at least
 * ERS_PASSWORD_KEY_MIN bytes long, else yescrypt as for a person's password.
 * A memory-hard hash only slows guessing a password a person chose; a key of
 * 32 random characters cannot be guessed at any speed, and a slow hash of it
 * costs every login (the webmail logs in with it for every page). */
#define ERS_PASSWORD_KEY_MIN 32
int ers_password_hash_key(const char *key, struct ers_buf *hash_r, struct ers_error *err);
/* Constant-time verification; false for any malformed hash. */
bool ers_password_verify(const char *password, const char *hash);
/* A temporary password of at least 128 bits, easy to read aloud and type:
 * groups of four characters from an alphabet without 0/o, 1/l/i. */
int ers_password_generate(struct ers_buf *out, struct ers_error *err);

#endif
