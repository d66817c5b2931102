/* Secrets at rest: AES-256-GCM under the master key (SMIME_MASTER_KEY).
 * A sealed value names the key that sealed it, so keys can rotate. */
#ifndef ERS_SEAL_H
#define ERS_SEAL_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "error.h"

/* The id of the configured master key: 8 hex digits of its SHA-256. */
int ers_seal_key_id(const struct ers_secrets *s, char id[9], struct ers_error *err);
/* Seals `plain` (n bytes) to text "v1:KEYID:base64(nonce|ciphertext|tag)";
 * `context` is bound as associated data (e.g. "imap-password:ADDRESS"), so a
 * sealed value moved to another row does not open. */
int ers_seal(const struct ers_secrets *s, const char *context, const void *plain, size_t n,
	     struct ers_buf *sealed_r, struct ers_error *err);
/* Opens a sealed value into `plain_r` (wipe it with ers_buf_free_secret). */
int ers_unseal(const struct ers_secrets *s, const char *context, const char *sealed,
	       struct ers_buf *plain_r, struct ers_error *err);

#endif
