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
/* Constant-time verification; false for any malformed hash. */
bool ers_password_verify(const char *password, const char *hash);
/* A temporary password of at least 128 bits, easy to read aloud and type:
 * groups of four characters from an alphabet without 0/o, 1/l/i. */
int ers_password_generate(struct ers_buf *out, struct ers_error *err);

#endif
