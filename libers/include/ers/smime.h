/* S/MIME (manual 000 "S/MIME Setup", "Managing User S/MIME Identities"):
 * each user's identity -- a certificate for the account's own address and
 * its private key, the key and its optional passphrase sealed under the
 * master key (SMIME_MASTER_KEY) before they reach the database -- the
 * recipient certificates a user saves for encrypting to others, and
 * signing (multipart/signed, detached, SHA-256), encryption (enveloped,
 * AES-256, to every recipient and to the sender), verification and
 * decryption with OpenSSL's CMS, in-process.
 *
 * Nothing here returns key material: the status shows the certificate's
 * subject, issuer, validity and fingerprint.  Refusals use the manual's
 * words ("Certificate email does not match your login", "Certificate and
 * key do not match", "Expired or not-yet-valid certificate", "S/MIME
 * server encryption key is not configured"), then what was found and what
 * to do; nothing is stored on a refusal. */
#ifndef ERS_SMIME_H
#define ERS_SMIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#define ERS_SMIME_MAX_CERT_PEM 32768   /* one certificate, in PEM */
#define ERS_SMIME_MAX_KEY_PEM 32768    /* one private key, in PEM */
#define ERS_SMIME_MAX_PASSPHRASE 1024
#define ERS_SMIME_EXPIRES_SOON_DAYS 30

/* The status lines of the manual, word for word. */
#define ERS_SMIME_MSG_NOT_CONFIGURED "S/MIME not configured"
#define ERS_SMIME_MSG_NO_MASTER_KEY "S/MIME server encryption key is not configured"
#define ERS_SMIME_MSG_NO_RUNTIME "S/MIME identity exists, but signing runtime is unavailable"
#define ERS_SMIME_MSG_EXPIRES_SOON "Certificate expires soon"
#define ERS_SMIME_MSG_ADD_RECIPIENT "Add a recipient certificate in S/MIME Settings to enable encrypted mail"
#define ERS_SMIME_MSG_ENCRYPTION_READY "Encryption is ready for" /* ... " user@example.com" */
#define ERS_SMIME_MSG_EMAIL_MISMATCH "Certificate email does not match your login"
#define ERS_SMIME_MSG_KEY_MISMATCH "Certificate and key do not match"
#define ERS_SMIME_MSG_VALIDITY "Expired or not-yet-valid certificate"

/* What a certificate says, never anything of a key. */
struct ers_smime_cert_info {
	char subject[512];      /* RFC 2253, UTF-8 */
	char issuer[512];
	char serial[100];       /* hex */
	char not_before[40];    /* ISO 8601 UTC */
	char not_after[40];
	time_t not_before_t, not_after_t;
	char fingerprint[100];  /* SHA-256 of the DER, "AB:CD:..." */
	char key_type[40];      /* "RSA 2048", "EC prime256v1", ... */
	char emails[640];       /* the addresses it is for, normalised, ", "-separated */
	bool can_sign;          /* key usage digitalSignature/nonRepudiation (or none), EKU emailProtection (or none) */
	bool can_encrypt;       /* keyEncipherment (RSA) / keyAgreement (EC) (or no key usage), same EKU */
};

/* The pure checks, for the library and its tests; `now` is the time the
 * certificate must be valid at.  Identity: the certificate PEM (exactly
 * one certificate), the key PEM, the passphrase (NULL or "": none; refused
 * when the key has none), for `address` (normalised).  Recipient: the
 * certificate alone, for `address`. */
int ers_smime_check_identity(const char *cert_pem, const char *key_pem, const char *passphrase,
			     const char *address, time_t now, struct ers_smime_cert_info *info_r,
			     struct ers_error *err);
int ers_smime_check_recipient(const char *cert_pem, const char *address, time_t now,
			      struct ers_smime_cert_info *info_r, struct ers_error *err);

/* A user's identity as the status shows it. */
struct ers_smime_identity {
	char address[320];
	bool configured;          /* false: ERS_SMIME_MSG_NOT_CONFIGURED, the rest empty */
	struct ers_smime_cert_info cert;
	bool has_passphrase;      /* the stored key is protected with a passphrase */
	bool expired, not_yet_valid, expires_soon;
	char updated_at[40];
	char updated_by[320];
};

/* Saves (replacing) the identity of user `address` ("Save S/MIME
 * Identity"); one audit row.  ERS_E_CONFIG with
 * ERS_SMIME_MSG_NO_MASTER_KEY when the master key is not set. */
int ers_smime_identity_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			   const char *cert_pem, const char *key_pem, const char *passphrase,
			   struct ers_smime_identity *identity_r, struct ers_error *err);
int ers_smime_identity_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			    struct ers_smime_identity *identity_r, struct ers_error *err);
/* "Remove": `removed_r` says whether there was one (no audit row when not). */
int ers_smime_identity_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			      bool *removed_r, struct ers_error *err);

/* The server's readiness (ersctl smime status). */
struct ers_smime_server_status {
	bool master_key;          /* SMIME_MASTER_KEY is set */
	char master_key_id[9];    /* its id, when set */
	char master_key_source[300];
	bool runtime;             /* OpenSSL's CMS can sign and encrypt here */
	char runtime_version[100];
	long long identities;     /* identities the actor may see */
	long long expiring;       /* ... expiring within ERS_SMIME_EXPIRES_SOON_DAYS (or expired) */
	long long recipient_certs;
};
int ers_smime_server_status(struct ers_ctx *ctx, const struct ers_actor *actor,
			    struct ers_smime_server_status *st_r, struct ers_error *err);

/* Recipient certificates: per user, address -> certificate. */
struct ers_smime_recipient {
	char address[320];
	struct ers_smime_cert_info cert;
	bool expired;
	char created_at[40];
};
struct ers_smime_recipient_list {
	size_t count;
	struct ers_smime_recipient *items;
};
/* Saves (replacing) user `owner`'s certificate for `address`. */
int ers_smime_recipient_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			    const char *address, const char *cert_pem, struct ers_smime_recipient *rec_r,
			    struct ers_error *err);
int ers_smime_recipient_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			     struct ers_smime_recipient_list **list_r, struct ers_error *err);
int ers_smime_recipient_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *owner,
			       const char *address, struct ers_error *err);
void ers_smime_recipient_list_free(struct ers_smime_recipient_list *l);

/* Whether the OpenSSL in this process can do S/MIME (CMS, SHA-256,
 * AES-256-CBC); `why` says what is missing. */
bool ers_smime_runtime_ok(char *why, size_t cap);

/* ---- messages ------------------------------------------------------------ */

/* Signs and/or encrypts `mime` (a whole RFC 5322 message, CRLF or LF) as
 * user `address`, returning the new message in `out` (CRLF).  Signing uses
 * the user's identity (only the user itself may); encryption goes to the
 * certificate saved for each of `rcpt` and to the sender's own, and a
 * missing one is refused naming every missing address.  The headers of
 * the outer message are those of `mime` but for the Content-* ones. */
struct ers_smime_send {
	bool sign, encrypt;
	const char *const *rcpt; /* the envelope recipients (To, Cc, Bcc) */
	size_t nrcpt;
};
int ers_smime_protect(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      const struct ers_smime_send *how, const char *mime, size_t len,
		      struct ers_buf *out, struct ers_error *err);

/* What the compose page shows and allows (manual "What The Status Messages
 * Mean"): `sign_line` and `encrypt_line` are the status lines; the
 * checkboxes are enabled exactly when can_sign / can_encrypt.  `rcpt` is
 * the address list typed so far (To, then Cc and Bcc: "A <a@x>, b@y"),
 * NULL or "" for none. */
struct ers_smime_compose_status {
	bool can_sign, can_encrypt;
	char sign_line[512];
	char encrypt_line[1200];
};
int ers_smime_compose_status(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			     const char *rcpt, struct ers_smime_compose_status *st_r, struct ers_error *err);

/* The hook of ers_mail_send (compose.h: transform): signs and/or encrypts
 * the built message in place; `arg` is a struct ers_smime_hook. */
struct ers_smime_hook {
	struct ers_ctx *ctx;
	const struct ers_actor *actor;
	const char *address;     /* the sender, whose identity signs */
	bool sign, encrypt;
};
struct ers_built_mail;
int ers_smime_send_hook(void *arg, struct ers_built_mail *m, struct ers_error *err);

/* Reading: what a signed and/or encrypted message turned out to be. */
struct ers_smime_read {
	bool was_signed, was_encrypted;
	bool decrypted;           /* the content below is the decrypted one */
	bool verified;            /* the signature verified, and its certificate chained */
	char signer[640];         /* the signer's email address(es) */
	char signer_subject[512];
	char why[1200];           /* what failed, for the person reading */
};
/* Opens `mime` for user `address`: decrypts it with the user's identity
 * when it is enveloped, verifies a signature against the system's CA
 * store plus `ca_file` (may be NULL) and the certificates the user saved.
 * `content_r` gets the inner message (or `mime` itself when nothing was
 * to open); failures are said in st_r->why, the return is -1 only for an
 * error of the system (database, policy). */
int ers_smime_open(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		   const char *mime, size_t len, const char *ca_file, struct ers_buf *content_r,
		   struct ers_smime_read *st_r, struct ers_error *err);

/* "Save the sender's certificate": the certificate of the signer of
 * `mime`, whose signature is intact, saved as user `address`'s recipient
 * certificate for the signer's address (ers_smime_recipient_add's checks,
 * one audit row). */
int ers_smime_save_signer(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			  const char *mime, size_t len, struct ers_smime_recipient *rec_r, struct ers_error *err);

#endif
