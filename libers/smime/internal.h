/* smime's interfaces inside its area: the certificate and key parsers the
 * checks, the store and the CMS code share. */
#ifndef ERS_SMIME_INTERNAL_H
#define ERS_SMIME_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "accounts/internal.h"
#include "ers/smime.h"

/* cert.c: the one certificate of a pasted field (`what` names the field in
 * the errors); the private key, opened with `passphrase` when it has one. */
X509 *ers_smime_parse_cert(const char *pem, const char *what, struct ers_error *err);
EVP_PKEY *ers_smime_parse_key(const char *pem, const char *passphrase, struct ers_error *err);
void ers_smime_cert_info_fill(X509 *x, struct ers_smime_cert_info *info);
/* Whether the certificate is for `address` (normalised). */
bool ers_smime_cert_for(const struct ers_smime_cert_info *info, const char *address);
/* An address as certificates and recipients' are compared: local part in
 * lower case, domain IDN to punycode; false when it is none. */
bool ers_smime_address_normalize(const char *in, size_t n, struct ers_buf *out);
/* The certificate re-encoded as PEM (what is stored: no text around it). */
int ers_smime_cert_pem(X509 *x, struct ers_buf *out);

/* The user's certificate and private key, unsealed (free them). */
int ers_smime_load_identity(struct ers_ctx *ctx, const struct ers_mailbox_ref *u, X509 **cert_r,
			    EVP_PKEY **key_r, struct ers_error *err);
/* The certificate user `owner_id` saved for `address`, or NULL (no error). */
int ers_smime_load_recipient(struct ers_ctx *ctx, long long owner_id, const char *address, X509 **cert_r,
			     struct ers_error *err);

#endif
