/* Password hashing with libxcrypt's yescrypt, and temporary passwords. */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "accounts/internal.h"

/* libxcrypt's crypt_rn() refuses a phrase of CRYPT_MAX_PASSPHRASE_SIZE (512)
 * bytes or more, and Dovecot's {CRYPT} verifies through the same crypt():
 * a longer password could be neither hashed nor checked at login. */
#define PASSWORD_MAX (CRYPT_MAX_PASSPHRASE_SIZE - 1 < ERS_PASSWORD_MAX ? CRYPT_MAX_PASSPHRASE_SIZE - 1 : ERS_PASSWORD_MAX)

int ers_password_check(const char *password, struct ers_error *err)
{
	size_t n = password ? strlen(password) : 0;
	if (n < ERS_PASSWORD_MIN || n > PASSWORD_MAX) {
		ers_error_set(err, ERS_E_INVALID, "password must be %d to %d bytes long, got %zu",
			      ERS_PASSWORD_MIN, PASSWORD_MAX, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (password[i] == '\n' || password[i] == '\r') {
			ers_error_set(err, ERS_E_INVALID, "password must not contain a line break");
			return -1;
		}
	}
	return 0;
}

/* crypt(3) of `password` with a new salt of `prefix` ("$y$", "$6$") and
 * `rounds` (0: the method's default). */
static int hash_with(const char *password, const char *prefix, unsigned long rounds, const char *what,
		     struct ers_buf *hash_r, struct ers_error *err)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	/* NULL random bytes: libxcrypt reads the OS CSPRNG itself. */
	if (!crypt_gensalt_rn(prefix, rounds, NULL, 0, salt, sizeof salt)) {
		ers_error_set(err, ERS_E_INTERNAL, "crypt_gensalt_rn(%s) failed", what);
		return -1;
	}
	struct crypt_data *cd = ers_xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, salt, cd, sizeof *cd);
	int rc = -1;
	if (!h || h[0] == '*')
		ers_error_set(err, ERS_E_INTERNAL, "crypt_rn(%s) failed", what);
	else {
		ers_buf_reset(hash_r);
		ers_buf_adds(hash_r, h);
		rc = 0;
	}
	ers_wipe(cd, sizeof *cd);
	free(cd);
	return rc;
}

int ers_password_hash(const char *password, struct ers_buf *hash_r, struct ers_error *err)
{
	if (ers_password_check(password, err) < 0)
		return -1;
	return hash_with(password, "$y$", 0, "yescrypt", hash_r, err);
}

int ers_password_hash_key(const char *key, struct ers_buf *hash_r, struct ers_error *err)
{
	if (ers_password_check(key, err) < 0)
		return -1;
	if (strlen(key) < ERS_PASSWORD_KEY_MIN)
		return hash_with(key, "$y$", 0, "yescrypt", hash_r, err);
	/* 1000: libxcrypt's fewest rounds for SHA512-CRYPT. */
	return hash_with(key, "$6$", 1000, "SHA512-CRYPT", hash_r, err);
}

bool ers_password_verify(const char *password, const char *hash)
{
	if (!password || !hash || hash[0] != '$' || strlen(password) > PASSWORD_MAX)
		return false;
	struct crypt_data *cd = ers_xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, hash, cd, sizeof *cd);
	bool ok = h && h[0] != '*' && strlen(h) == strlen(hash) &&
		  CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	ers_wipe(cd, sizeof *cd);
	free(cd);
	return ok;
}

int ers_password_generate(struct ers_buf *out, struct ers_error *err)
{
	static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz"; /* 31 symbols */
	enum { GROUPS = 7, PER_GROUP = 4 };                              /* 28 x 4.95 = 138 bits */
	ers_buf_reset(out);
	for (int i = 0; i < GROUPS * PER_GROUP;) {
		unsigned char b;
		if (RAND_bytes(&b, 1) != 1) {
			ers_error_set(err, ERS_E_INTERNAL, "the OS random generator failed");
			return -1;
		}
		if (b >= 31 * 8) /* reject to keep every symbol equally likely */
			continue;
		if (i && i % PER_GROUP == 0)
			ers_buf_addch(out, '-');
		ers_buf_addch(out, alphabet[b % 31]);
		i++;
	}
	return 0;
}
