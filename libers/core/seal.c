/* AES-256-GCM envelopes for secrets at rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "core/internal.h"

enum { KEY_LEN = 32, NONCE_LEN = 12, TAG_LEN = 16 };

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The configured key as 32 raw bytes (hex or base64 in the secrets). */
static int master_key(const struct ers_secrets *s, unsigned char key[KEY_LEN], struct ers_error *err)
{
	const char *k = s->master_key;
	if (!k) {
		ers_error_set(err, ERS_E_CONFIG,
			      "SMIME_MASTER_KEY is not set: put it in the secrets file (see ers.yaml(5)); make one with: openssl rand -hex 32");
		return -1;
	}
	/* secrets.c checks the key as it loads it; a caller that fills struct
	 * ers_secrets itself gets the same check here, never a read past a short
	 * key nor a key made of non-hex digits. */
	size_t n = strlen(k);
	bool hex = n == 2 * KEY_LEN;
	for (size_t i = 0; hex && i < n; i++)
		hex = hexval(k[i]) >= 0;
	if (hex) {
		for (int i = 0; i < KEY_LEN; i++)
			key[i] = (unsigned char)(hexval(k[2 * i]) << 4 | hexval(k[2 * i + 1]));
		return 0;
	}
	unsigned char out[48];
	bool b64 = n == 44 && k[43] == '=' && k[42] != '=' &&
		   EVP_DecodeBlock(out, (const unsigned char *)k, 44) == KEY_LEN + 1;
	if (b64)
		memcpy(key, out, KEY_LEN);
	ers_wipe(out, sizeof out);
	if (!b64) {
		ers_error_set(err, ERS_E_CONFIG,
			      "SMIME_MASTER_KEY is malformed: it must be 32 bytes written as 64 hex digits or 44 base64 characters (got %zu characters)",
			      n);
		return -1;
	}
	return 0;
}

int ers_seal_key_id(const struct ers_secrets *s, char id[9], struct ers_error *err)
{
	unsigned char key[KEY_LEN], digest[SHA256_DIGEST_LENGTH];
	if (master_key(s, key, err) < 0)
		return -1;
	SHA256(key, KEY_LEN, digest);
	ers_wipe(key, sizeof key);
	for (int i = 0; i < 4; i++)
		snprintf(id + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

static int gcm(bool encrypt, const unsigned char *key, const unsigned char *nonce,
	       const char *context, const unsigned char *in, int n, unsigned char *out,
	       unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) == 1 &&
		      EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)context, (int)strlen(context)) == 1 &&
		      EVP_CipherUpdate(c, out, &len, in, n) == 1 &&
		      (encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
		      EVP_CipherFinal_ex(c, out + len, &len) == 1 &&
		      (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int ers_seal(const struct ers_secrets *s, const char *context, const void *plain, size_t n,
	     struct ers_buf *sealed_r, struct ers_error *err)
{
	unsigned char key[KEY_LEN];
	char id[9];
	if (n > 65536) {
		ers_error_set(err, ERS_E_INVALID, "a secret to seal must be at most 64 KiB");
		return -1;
	}
	if (ers_seal_key_id(s, id, err) < 0 || master_key(s, key, err) < 0)
		return -1;
	size_t raw_len = NONCE_LEN + n + TAG_LEN;
	unsigned char *raw = ers_xmalloc(raw_len);
	int rc = -1;
	if (RAND_bytes(raw, NONCE_LEN) != 1 ||
	    gcm(true, key, raw, context, plain, (int)n, raw + NONCE_LEN, raw + NONCE_LEN + n) < 0) {
		ers_error_set(err, ERS_E_INTERNAL, "AES-256-GCM sealing failed");
	} else {
		char *b64 = ers_xmalloc(4 * ((raw_len + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)raw_len);
		ers_buf_reset(sealed_r);
		ers_buf_addf(sealed_r, "v1:%s:%s", id, b64);
		free(b64);
		rc = 0;
	}
	ers_wipe(key, sizeof key);
	ers_wipe(raw, raw_len);
	free(raw);
	return rc;
}

int ers_unseal(const struct ers_secrets *s, const char *context, const char *sealed,
	       struct ers_buf *plain_r, struct ers_error *err)
{
	unsigned char key[KEY_LEN];
	char id[9];
	if (ers_seal_key_id(s, id, err) < 0)
		return -1;
	if (strncmp(sealed, "v1:", 3) || strlen(sealed) < 13 || sealed[11] != ':') {
		ers_error_set(err, ERS_E_INTERNAL, "a sealed secret is malformed");
		return -1;
	}
	if (strncmp(sealed + 3, id, 8)) {
		ers_error_set(err, ERS_E_CONFIG, "a secret was sealed under master key %.8s, but the configured key is %s",
			      sealed + 3, id);
		return -1;
	}
	const char *b64 = sealed + 12;
	size_t b64_len = strlen(b64);
	if (b64_len % 4 || master_key(s, key, err) < 0) {
		if (b64_len % 4)
			ers_error_set(err, ERS_E_INTERNAL, "a sealed secret is malformed");
		return -1;
	}
	unsigned char *raw = ers_xmalloc(b64_len);
	int raw_len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)b64_len);
	raw_len -= (b64_len && b64[b64_len - 1] == '=') + (b64_len > 1 && b64[b64_len - 2] == '=');
	int rc = -1;
	if (raw_len < NONCE_LEN + TAG_LEN) {
		ers_error_set(err, ERS_E_INTERNAL, "a sealed secret is malformed");
	} else {
		int n = raw_len - NONCE_LEN - TAG_LEN;
		ers_buf_reset(plain_r);
		ers_buf_grow(plain_r, (size_t)n + 16);
		if (gcm(false, key, raw, context, raw + NONCE_LEN, n, (unsigned char *)plain_r->data,
			raw + NONCE_LEN + n) < 0) {
			/* GCM has decrypted before it checked the tag: what it wrote is
			 * the secret itself when only the context was wrong. */
			ers_wipe(plain_r->data, (size_t)n + 16);
			plain_r->len = 0;
			ers_error_set(err, ERS_E_INTERNAL, "a sealed secret failed authentication (wrong key or tampered)");
		} else {
			plain_r->len = (size_t)n;
			plain_r->data[n] = '\0';
			rc = 0;
		}
	}
	ers_wipe(key, sizeof key);
	ers_wipe(raw, b64_len);
	free(raw);
	return rc;
}
