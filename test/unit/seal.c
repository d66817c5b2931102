/* Unit tests for seal.c: AES-256-GCM envelopes for secrets at rest --
 * round trips, the context bound as associated data, tampering, key ids and
 * rotation, no plaintext in a sealed value, and a missing or malformed
 * master key.  The secrets are set up directly, without a secrets file. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "ers/seal.h"
#include "tap.h"

static char key_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static char key2_hex[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
static char zeros_hex[] = "0000000000000000000000000000000000000000000000000000000000000000";
static char zeros_b64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static struct ers_error err;

static struct ers_secrets with_key(char *key)
{
	struct ers_secrets s;
	memset(&s, 0, sizeof s);
	s.master_key = key;
	return s;
}

/* The id as seal.h defines it: the first 4 bytes of SHA-256(key), in hex. */
static void expected_id(const unsigned char key[32], char id[9])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(key, 32, d);
	for (int i = 0; i < 4; i++)
		snprintf(id + 2 * i, 3, "%02x", d[i]);
}

static void test_round_trip(void)
{
	struct ers_secrets s = with_key(key_hex);
	struct ers_buf sealed = ERS_BUF_INIT, plain = ERS_BUF_INIT;
	const char *secret = "imap pass: Tr0ub4dor&3";
	const char *ctx = "imap-password:anna@acme.example";
	is_int(ers_seal(&s, ctx, secret, strlen(secret), &sealed, &err), 0, "seal a secret");
	char id[9];
	is_int(ers_seal_key_id(&s, id, &err), 0, "the key has an id");
	char prefix[16];
	snprintf(prefix, sizeof prefix, "v1:%s:", id);
	ok(!strncmp(sealed.data, prefix, strlen(prefix)), "the sealed value starts with v1:KEYID: (%s)", sealed.data);
	unlike_str(sealed.data, secret, "the sealed value does not hold the plaintext");
	unlike_str(sealed.data, "Tr0ub4dor", "... nor a part of it");
	ok(strspn(sealed.data + 12, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
		   strlen(sealed.data + 12), "the rest is base64 text");
	is_int(ers_unseal(&s, ctx, sealed.data, &plain, &err), 0, "unseal it");
	is_str(plain.data, secret, "the round trip gives the secret back");
	is_int(plain.len, strlen(secret), "... with its length");

	struct ers_buf again = ERS_BUF_INIT;
	ers_seal(&s, ctx, secret, strlen(secret), &again, &err);
	ok(strcmp(again.data, sealed.data) != 0, "sealing the same secret twice gives different values (random nonce)");
	ers_buf_free(&again);

	/* Binary, empty and large secrets. */
	unsigned char bin[300];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 7);
	is_int(ers_seal(&s, "bin", bin, sizeof bin, &sealed, &err), 0, "seal binary bytes with NULs");
	is_int(ers_unseal(&s, "bin", sealed.data, &plain, &err), 0, "unseal them");
	ok(plain.len == sizeof bin && !memcmp(plain.data, bin, sizeof bin), "the bytes come back as they were");
	is_int(ers_seal(&s, "empty", "", 0, &sealed, &err), 0, "seal an empty secret");
	is_int(ers_unseal(&s, "empty", sealed.data, &plain, &err), 0, "unseal it");
	is_int(plain.len, 0, "it is empty again");
	char *big = malloc(65537);
	memset(big, 'k', 65537);
	is_int(ers_seal(&s, "big", big, 65536, &sealed, &err), 0, "seal 64 KiB");
	is_int(ers_unseal(&s, "big", sealed.data, &plain, &err), 0, "unseal 64 KiB");
	ok(plain.len == 65536 && !memcmp(plain.data, big, 65536), "64 KiB come back");
	is_int(ers_seal(&s, "big", big, 65537, &sealed, &err), -1, "more than 64 KiB is refused");
	is_int(err.code, ERS_E_INVALID, "... as invalid");
	free(big);
	ers_buf_free(&sealed);
	ers_buf_free_secret(&plain);
}

static void test_context_and_tampering(void)
{
	struct ers_secrets s = with_key(key_hex);
	struct ers_buf sealed = ERS_BUF_INIT, plain = ERS_BUF_INIT;
	const char *secret = "a secret worth keeping";
	ers_seal(&s, "imap-password:anna@acme.example", secret, strlen(secret), &sealed, &err);

	ers_buf_adds(&plain, "stale");
	ers_error_clear(&err);
	is_int(ers_unseal(&s, "imap-password:bob@acme.example", sealed.data, &plain, &err), -1,
	       "another context (the value moved to another row) does not open");
	like_str(err.message, "failed authentication", "... and says it failed authentication");
	unlike_str(plain.data, secret, "... and gives no plaintext");
	is_int(ers_unseal(&s, "imap-password:anna@acme.example ", sealed.data, &plain, &err), -1,
	       "one more byte of context does not open");
	is_int(ers_unseal(&s, "", sealed.data, &plain, &err), -1, "an empty context does not open");

	/* Every base64 character of nonce, ciphertext and tag: change it to
	 * another one and the value must not open.  The last group is left
	 * out: some of its bits are padding that decodes to nothing. */
	char *t = strdup(sealed.data);
	size_t len = strlen(t), opened = 0, tried = 0;
	for (size_t i = 12; i + 4 < len; i++) {
		char was = t[i];
		t[i] = was == 'A' ? 'B' : 'A';
		if (ers_unseal(&s, "imap-password:anna@acme.example", t, &plain, &err) == 0)
			opened++;
		tried++;
		t[i] = was;
	}
	ok(tried > 40, "tampered with each of %zu characters", tried);
	is_int(opened, 0, "no tampered value opens");
	is_int(ers_unseal(&s, "imap-password:anna@acme.example", t, &plain, &err), 0, "the untouched value still opens");

	const char *malformed[] = { "", "v1:", "v2:abcdef01:AAAA", "v1:abcdef01", "plain text", "v1:xyz:AAAA" };
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		ers_error_clear(&err);
		is_int(ers_unseal(&s, "c", malformed[i], &plain, &err), -1, "malformed \"%s\" is refused", malformed[i]);
		ok(err.code != ERS_OK && err.message[0], "... with an error (%s)", err.message);
	}
	char truncated[64];
	snprintf(truncated, sizeof truncated, "%.20s", sealed.data);
	is_int(ers_unseal(&s, "c", truncated, &plain, &err), -1, "a truncated value is refused");
	/* The payload with invalid base64 or cut short. */
	t[20] = '*';
	is_int(ers_unseal(&s, "imap-password:anna@acme.example", t, &plain, &err), -1, "a value with a non-base64 byte is refused");
	t[20] = sealed.data[20];
	t[len - 4] = '\0';
	is_int(ers_unseal(&s, "imap-password:anna@acme.example", t, &plain, &err), -1, "a value missing its last group is refused");
	free(t);
	ers_buf_free(&sealed);
	ers_buf_free_secret(&plain);
}

static void test_keys(void)
{
	struct ers_secrets s1 = with_key(key_hex), s2 = with_key(key2_hex);
	char id1[9], id1b[9], id2[9], want[9];
	unsigned char raw[32];
	for (int i = 0; i < 32; i++)
		raw[i] = (unsigned char)i;
	is_int(ers_seal_key_id(&s1, id1, &err), 0, "key id of the first key");
	ers_seal_key_id(&s1, id1b, &err);
	is_str(id1, id1b, "the key id is stable");
	expected_id(raw, want);
	is_str(id1, want, "the key id is the first 8 hex digits of SHA-256 of the raw key");
	ers_seal_key_id(&s2, id2, &err);
	ok(strcmp(id1, id2) != 0, "another key has another id (%s, %s)", id1, id2);

	/* The same 32 bytes, written in hex or base64, are the same key. */
	struct ers_secrets zh = with_key(zeros_hex), zb = with_key(zeros_b64);
	char idh[9], idb[9];
	is_int(ers_seal_key_id(&zh, idh, &err), 0, "key id of 32 zero bytes in hex");
	is_int(ers_seal_key_id(&zb, idb, &err), 0, "key id of 32 zero bytes in base64");
	is_str(idh, "66687aad", "SHA-256 of 32 zero bytes starts 66687aad");
	is_str(idb, idh, "hex and base64 of the same bytes give the same id");
	struct ers_buf sealed = ERS_BUF_INIT, plain = ERS_BUF_INIT;
	ers_seal(&zh, "c", "x", 1, &sealed, &err);
	is_int(ers_unseal(&zb, "c", sealed.data, &plain, &err), 0, "sealed under the hex key, opened under the base64 one");
	char upper[sizeof key_hex];
	for (size_t i = 0; i < sizeof key_hex; i++)
		upper[i] = key_hex[i] >= 'a' && key_hex[i] <= 'f' ? (char)(key_hex[i] - 32) : key_hex[i];
	struct ers_secrets su = with_key(upper);
	char idu[9];
	ers_seal_key_id(&su, idu, &err);
	is_str(idu, id1, "upper-case hex is the same key");

	/* Sealed under one key, opened under another: a clear error naming
	 * both ids, so that the operator knows which key to bring back. */
	ers_seal(&s1, "c", "secret", 6, &sealed, &err);
	ers_error_clear(&err);
	is_int(ers_unseal(&s2, "c", sealed.data, &plain, &err), -1, "another key does not open it");
	is_int(err.code, ERS_E_CONFIG, "... a configuration error");
	like_str(err.message, id1, "... naming the key it was sealed under");
	like_str(err.message, id2, "... and the key configured now");
	/* A value claiming the right id but sealed under another key. */
	char *forged = strdup(sealed.data);
	ers_seal(&s2, "c", "secret", 6, &sealed, &err);
	memcpy(sealed.data + 3, id1, 8);
	is_int(ers_unseal(&s1, "c", sealed.data, &plain, &err), -1, "a value with a forged key id does not open");
	like_str(err.message, "failed authentication", "... it fails authentication");
	free(forged);
	ers_buf_free(&sealed);
	ers_buf_free_secret(&plain);
}

static void test_no_key(void)
{
	struct ers_secrets none = with_key(NULL);
	struct ers_buf sealed = ERS_BUF_INIT, plain = ERS_BUF_INIT;
	char id[9];
	ers_error_clear(&err);
	is_int(ers_seal(&none, "c", "secret", 6, &sealed, &err), -1, "no master key: sealing fails");
	is_int(err.code, ERS_E_CONFIG, "... with a configuration error");
	like_str(err.message, "SMIME_MASTER_KEY is not set", "... naming the missing key");
	like_str(err.message, "openssl rand -hex 32", "... and how to make one");
	is_str(sealed.data, "", "... and no output");
	ers_error_clear(&err);
	is_int(ers_unseal(&none, "c", "v1:abcdef01:AAAA", &plain, &err), -1, "no master key: unsealing fails");
	like_str(err.message, "SMIME_MASTER_KEY is not set", "... saying so");
	is_int(ers_seal_key_id(&none, id, &err), -1, "no master key: no key id");

	/* A key set by hand, bypassing secrets.c's check: refused, never
	 * echoed, never read past its end. */
	char nonhex[] = "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	char short_key[] = "abc";
	char empty[] = "";
	char long_b64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; /* 44 without padding: 33 bytes */
	char *bad[] = { nonhex, short_key, empty, long_b64 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ers_secrets s = with_key(bad[i]);
		ers_error_clear(&err);
		is_int(ers_seal(&s, "c", "secret", 6, &sealed, &err), -1, "a malformed master key (%zu characters) is refused",
		       strlen(bad[i]));
		is_int(err.code, ERS_E_CONFIG, "... as a configuration error");
		like_str(err.message, "SMIME_MASTER_KEY is malformed", "... saying so");
		if (*bad[i])
			unlike_str(err.message, bad[i], "... without echoing the key");
	}
	ers_buf_free(&sealed);
	ers_buf_free(&plain);
}

int main(void)
{
	test_round_trip();
	test_context_and_tampering();
	test_keys();
	test_no_key();
	return done_testing();
}
