/* The mark of a message the webmail has scanned already (ers/scan.h,
 * ERS_SCAN_PASS_HEADER).  The webmail submits on the submission port like
 * any mail client, where the scan milter scans again; this header lets the
 * milter recognise the webmail's own submissions and pass them unscanned,
 * so that a send is scanned, timed and recorded once.
 *
 * The value is "v1 TIME HMAC": an HMAC-SHA-256 keyed with the webmail's
 * master secret (which only the webmail and the operator hold) of the
 * time and the SHA-256 of the message body as submitted.  A client
 * without the secret cannot make one; a body changed after the mark no
 * longer matches it; a mark older than PASS_MAX_AGE is refused, so an old
 * webmail message cannot be resubmitted unscanned after the signatures
 * learned something new about it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "scan/internal.h"

#define PASS_MAX_AGE 600 /* seconds: a submission follows its scan at once */

/* HMAC-SHA-256 of "ers-scan-pass-v1 TIME SHA256(body)" as 64 hex digits. */
static bool pass_mac(const struct ers_config *cfg, long long when, const char *body, size_t len, char hex[65])
{
	const char *secret = cfg->secrets.webmail_master_password;
	if (!secret || !*secret)
		return false;
	unsigned char digest[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0, mlen = 0;
	if (!EVP_Digest(body, len, digest, &dlen, EVP_sha256(), NULL))
		return false;
	char what[64 + 2 * EVP_MAX_MD_SIZE];
	int n = snprintf(what, sizeof what, "ers-scan-pass-v1 %lld ", when);
	for (unsigned i = 0; i < dlen; i++)
		n += snprintf(what + n, sizeof what - (size_t)n, "%02x", digest[i]);
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)what, (size_t)n, mac, &mlen))
		return false;
	for (unsigned i = 0; i < mlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return true;
}

/* The body: what follows the first empty line. */
static const char *body_of(const char *message, size_t len, size_t *body_len)
{
	const char *end = message + len;
	for (const char *p = message; p + 3 < end; p++)
		if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n') {
			*body_len = (size_t)(end - (p + 4));
			return p + 4;
		}
	*body_len = 0;
	return end;
}

char *ers_scan_pass_mark(const struct ers_config *cfg, const char *message, size_t len, time_t now)
{
	size_t blen;
	const char *body = body_of(message, len, &blen);
	char hex[65];
	if (!pass_mac(cfg, (long long)now, body, blen, hex))
		return NULL;
	struct ers_buf v = ERS_BUF_INIT;
	ers_buf_addf(&v, "v1 %lld %s", (long long)now, hex);
	return ers_buf_detach(&v);
}

bool ers_scan_pass_valid(const struct ers_config *cfg, const char *value, const char *body, size_t len, time_t now)
{
	long long when;
	char given[65];
	int used = 0;
	if (!value || sscanf(value, " v1 %lld %64[0-9a-f]%n", &when, given, &used) != 2 || strlen(given) != 64 ||
	    value[used + strspn(value + used, " \t\r\n")] != '\0')
		return false;
	if (when > (long long)now + 5 || (long long)now - when > PASS_MAX_AGE)
		return false;
	char want[65];
	return pass_mac(cfg, when, body, len, want) && CRYPTO_memcmp(want, given, 64) == 0;
}
