/* The checks on what people paste as an S/MIME identity or a recipient
 * certificate, before anything is stored: one PEM certificate, the key that
 * matches it (opened with its passphrase when it has one), for the
 * account's address, valid now, allowed to sign.  Pure: no database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "smime/internal.h"

/* Whether `s` is text: valid UTF-8 without control characters other than
 * tab and line ends.  DER and other binary files are not. */
static bool is_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n')
				return false;
			if (*p == 0x7f)
				return false;
			p++;
			continue;
		}
		size_t n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (!n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/* How many PEM blocks of label `label` ("CERTIFICATE", or NULL: any) `s` holds. */
static int count_blocks(const char *s, const char *label)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, "-----BEGIN ")); p += 11) {
		if (!label)
			n++;
		else if (!strncmp(p + 11, label, strlen(label)) && !strncmp(p + 11 + strlen(label), "-----", 5))
			n++;
	}
	return n;
}

static bool has_block(const char *s, const char *label)
{
	return count_blocks(s, label) > 0;
}

static bool has_key_block(const char *s)
{
	return has_block(s, "PRIVATE KEY") || has_block(s, "ENCRYPTED PRIVATE KEY") ||
	       has_block(s, "RSA PRIVATE KEY") || has_block(s, "EC PRIVATE KEY");
}

/* The one certificate of the field `what` ("Certificate PEM"); each way it
 * can be wrong with its own message. */
X509 *ers_smime_parse_cert(const char *pem, const char *what, struct ers_error *err)
{
	size_t n = pem ? strlen(pem) : 0;
	if (n == 0 || strspn(pem, " \t\r\n") == n) {
		ers_error_set(err, ERS_E_INVALID, "%s is empty: paste the certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
			      what);
		return NULL;
	}
	if (n > ERS_SMIME_MAX_CERT_PEM) {
		ers_error_set(err, ERS_E_INVALID, "%s is too long (%zu bytes): one certificate in PEM is at most %d bytes; paste only your own certificate",
			      what, n, ERS_SMIME_MAX_CERT_PEM);
		return NULL;
	}
	if (!is_text(pem)) {
		ers_error_set(err, ERS_E_INVALID,
			      "%s is binary (DER or another file), not PEM text: convert it with: openssl x509 -inform der -in cert.der -out cert.pem, then paste cert.pem",
			      what);
		return NULL;
	}
	int certs = count_blocks(pem, "CERTIFICATE");
	if (certs == 0) {
		if (has_key_block(pem))
			ers_error_set(err, ERS_E_INVALID, "%s holds a private key, not a certificate: paste the certificate here (-----BEGIN CERTIFICATE-----)",
				      what);
		else
			ers_error_set(err, ERS_E_INVALID, "%s is not a PEM certificate: paste the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
				      what);
		return NULL;
	}
	if (certs > 1) {
		ers_error_set(err, ERS_E_INVALID, "%s holds %d certificates (a chain): paste only the certificate issued for the address, without the CA certificates",
			      what, certs);
		return NULL;
	}
	if (has_key_block(pem)) {
		ers_error_set(err, ERS_E_INVALID, "%s holds a private key as well: paste only the certificate here%s",
			      what, strcmp(what, "Certificate PEM") ? "" : ", and the key in Private Key PEM");
		return NULL;
	}
	BIO *b = BIO_new_mem_buf(pem, (int)n);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!x)
		ers_error_set(err, ERS_E_INVALID, "%s is damaged: its PEM block is not a readable X.509 certificate; export it again",
			      what);
	return x;
}

struct pass_cb {
	const char *pass;
	bool asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_cb *p = u;
	p->asked = true;
	if (!p->pass || !*p->pass)
		return -1;
	int n = (int)strlen(p->pass);
	if (n > size)
		return -1;
	memcpy(buf, p->pass, (size_t)n);
	return n;
}

EVP_PKEY *ers_smime_parse_key(const char *pem, const char *passphrase, struct ers_error *err)
{
	size_t n = pem ? strlen(pem) : 0;
	bool have_pass = passphrase && *passphrase;
	if (n == 0 || strspn(pem, " \t\r\n") == n) {
		ers_error_set(err, ERS_E_INVALID, "Private Key PEM is empty: paste the private key that belongs to the certificate, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----");
		return NULL;
	}
	if (n > ERS_SMIME_MAX_KEY_PEM) {
		ers_error_set(err, ERS_E_INVALID, "Private Key PEM is too long (%zu bytes): one private key in PEM is at most %d bytes",
			      n, ERS_SMIME_MAX_KEY_PEM);
		return NULL;
	}
	if (have_pass && strlen(passphrase) > ERS_SMIME_MAX_PASSPHRASE) {
		ers_error_set(err, ERS_E_INVALID, "the key passphrase is too long: at most %d bytes", ERS_SMIME_MAX_PASSPHRASE);
		return NULL;
	}
	if (!is_text(pem)) {
		ers_error_set(err, ERS_E_INVALID,
			      "Private Key PEM is binary (DER or PKCS#12), not PEM text: convert it with: openssl pkey -inform der -in key.der -out key.pem (PKCS#12: openssl pkcs12 -in file.p12 -nocerts -out key.pem), then paste key.pem");
		return NULL;
	}
	int keys = count_blocks(pem, "PRIVATE KEY") + count_blocks(pem, "ENCRYPTED PRIVATE KEY") +
		   count_blocks(pem, "RSA PRIVATE KEY") + count_blocks(pem, "EC PRIVATE KEY");
	if (keys == 0) {
		if (has_block(pem, "CERTIFICATE"))
			ers_error_set(err, ERS_E_INVALID, "Private Key PEM holds a certificate, not a private key: paste the key (-----BEGIN PRIVATE KEY-----) here and the certificate in Certificate PEM");
		else if (has_block(pem, "PUBLIC KEY"))
			ers_error_set(err, ERS_E_INVALID, "Private Key PEM holds a public key: paste the private key (-----BEGIN PRIVATE KEY-----)");
		else
			ers_error_set(err, ERS_E_INVALID, "Private Key PEM is not a PEM private key: paste the text from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----");
		return NULL;
	}
	if (keys > 1 || has_block(pem, "CERTIFICATE")) {
		ers_error_set(err, ERS_E_INVALID, "Private Key PEM must hold one private key and nothing else (it holds %d PEM blocks)",
			      count_blocks(pem, NULL));
		return NULL;
	}
	struct pass_cb cb = { passphrase, false };
	BIO *b = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, &cb) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!k) {
		if (cb.asked && !have_pass)
			ers_error_set(err, ERS_E_INVALID, "the private key is protected with a passphrase: enter it as the private key passphrase");
		else if (cb.asked)
			ers_error_set(err, ERS_E_INVALID, "the private key passphrase is wrong: it does not open the private key");
		else
			ers_error_set(err, ERS_E_INVALID, "Private Key PEM is damaged: its PEM block is not a readable private key; export it again");
		return NULL;
	}
	if (have_pass && !cb.asked) {
		EVP_PKEY_free(k);
		ers_error_set(err, ERS_E_INVALID, "a passphrase was given, but the private key has none: leave the passphrase empty");
		return NULL;
	}
	return k;
}

/* "2026-12-04T10:00:00Z" from an ASN1_TIME, and its time_t. */
static void asn1_time(const ASN1_TIME *t, char dst[40], time_t *t_r)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(dst, 40, "?");
		*t_r = 0;
		return;
	}
	strftime(dst, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
	*t_r = timegm(&tm);
}

static void name_text(const X509_NAME *name, char *dst, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	dst[0] = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	snprintf(dst, cap, "%.*s", (int)n, p);
	BIO_free(b);
}

/* An address from a certificate, normalised as the account's are: the
 * local part in lower case, the domain as ers_domain_normalize makes it
 * (IDN to punycode, lower case).  False when it is no address. */
bool ers_smime_address_normalize(const char *in, size_t n, struct ers_buf *out)
{
	ers_buf_reset(out);
	if (n == 0 || n > 320 || memchr(in, '\0', n))
		return false;
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (in[i] == '@')
			at = in + i;
	if (!at || at == in || at == in + n - 1 || (size_t)(at - in) > 64)
		return false;
	for (const char *p = in; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f || strchr("<>()[],;:\"\\", c))
			return false;
		ers_buf_addch(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
	char domain[300];
	snprintf(domain, sizeof domain, "%.*s", (int)(in + n - at - 1), at + 1);
	struct ers_buf d = ERS_BUF_INIT;
	struct ers_error ignored;
	bool ok = ers_domain_normalize(domain, &d, &ignored) == 0;
	if (ok)
		ers_buf_addf(out, "@%s", d.data);
	ers_buf_free(&d);
	return ok;
}

static void add_email(struct ers_smime_cert_info *info, const char *s, size_t n)
{
	struct ers_buf a = ERS_BUF_INIT;
	if (ers_smime_address_normalize(s, n, &a)) {
		/* once each */
		char needle[340];
		snprintf(needle, sizeof needle, ", %s,", a.data);
		char hay[sizeof info->emails + 4];
		snprintf(hay, sizeof hay, ", %s,", info->emails);
		if (!strstr(hay, needle) && strlen(info->emails) + a.len + 3 < sizeof info->emails)
			snprintf(info->emails + strlen(info->emails), sizeof info->emails - strlen(info->emails), "%s%s",
				 info->emails[0] ? ", " : "", a.data);
	}
	ers_buf_free(&a);
}

void ers_smime_cert_info_fill(X509 *x, struct ers_smime_cert_info *info)
{
	memset(info, 0, sizeof *info);
	name_text(X509_get_subject_name(x), info->subject, sizeof info->subject);
	name_text(X509_get_issuer_name(x), info->issuer, sizeof info->issuer);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(info->serial, sizeof info->serial, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	asn1_time(X509_get0_notBefore(x), info->not_before, &info->not_before_t);
	asn1_time(X509_get0_notAfter(x), info->not_after, &info->not_after_t);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
		for (unsigned i = 0; i < mdlen && 3 * i + 3 <= sizeof info->fingerprint; i++)
			snprintf(info->fingerprint + (i ? 3 * i - 1 : 0), sizeof info->fingerprint - (i ? 3 * i - 1 : 0),
				 "%s%02X", i ? ":" : "", md[i]);
	EVP_PKEY *pk = X509_get0_pubkey(x);
	int id = pk ? EVP_PKEY_get_base_id(pk) : 0;
	if (id == EVP_PKEY_RSA) {
		snprintf(info->key_type, sizeof info->key_type, "RSA %d", EVP_PKEY_get_bits(pk));
	} else if (id == EVP_PKEY_EC) {
		char group[64] = "";
		size_t glen = 0;
		EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen);
		snprintf(info->key_type, sizeof info->key_type, "EC %s", group[0] ? group : "?");
	} else if (pk) {
		snprintf(info->key_type, sizeof info->key_type, "%s", OBJ_nid2sn(id));
	}
	/* The addresses: subjectAltName rfc822Name and SmtpUTF8Mailbox, then
	 * the subject's emailAddress. */
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_EMAIL) {
			add_email(info, (const char *)ASN1_STRING_get0_data(g->d.rfc822Name),
				  (size_t)ASN1_STRING_length(g->d.rfc822Name));
		} else if (g->type == GEN_OTHERNAME && OBJ_obj2nid(g->d.otherName->type_id) == NID_id_on_SmtpUTF8Mailbox &&
			   g->d.otherName->value && g->d.otherName->value->type == V_ASN1_UTF8STRING) {
			const ASN1_STRING *s = g->d.otherName->value->value.utf8string;
			add_email(info, (const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
		}
	}
	GENERAL_NAMES_free(gens);
	const X509_NAME *subj = X509_get_subject_name(x);
	for (int i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_pkcs9_emailAddress, i)) >= 0;) {
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		add_email(info, (const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	}
	/* What the key may do (RFC 8550 4.4): key usage when it is there,
	 * extended key usage emailProtection (or any) when that is there. */
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t ku = X509_get_key_usage(x);
	bool eku_ok = !(flags & EXFLAG_XKUSAGE) || (X509_get_extended_key_usage(x) & (XKU_SMIME | XKU_ANYEKU));
	bool has_ku = flags & EXFLAG_KUSAGE;
	info->can_sign = eku_ok && (!has_ku || (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)));
	info->can_encrypt = eku_ok && (id == EVP_PKEY_RSA || id == EVP_PKEY_EC) &&
			    (!has_ku || (ku & (id == EVP_PKEY_RSA ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT)));
}

bool ers_smime_cert_for(const struct ers_smime_cert_info *info, const char *address)
{
	char needle[340], hay[sizeof info->emails + 4];
	snprintf(needle, sizeof needle, ", %s,", address);
	snprintf(hay, sizeof hay, ", %s,", info->emails);
	return address[0] && strstr(hay, needle) != NULL;
}

/* The certificate checks common to identities and recipients. */
static int check_cert(const struct ers_smime_cert_info *info, const char *address, time_t now, bool identity,
		      struct ers_error *err)
{
	if (!ers_smime_cert_for(info, address)) {
		if (identity)
			ers_error_set(err, ERS_E_INVALID, ERS_SMIME_MSG_EMAIL_MISMATCH
				      ": the certificate is for %s, the account is %s; use a certificate issued for the same mailbox address you use in the app",
				      info->emails[0] ? info->emails : "no email address (it has neither a subjectAltName email nor an emailAddress)",
				      address);
		else
			ers_error_set(err, ERS_E_INVALID,
				      "the certificate is not for %s: it is for %s; save it under the address it was issued for",
				      address, info->emails[0] ? info->emails : "no email address");
		return -1;
	}
	if (now < info->not_before_t || now > info->not_after_t) {
		ers_error_set(err, ERS_E_INVALID, ERS_SMIME_MSG_VALIDITY
			      ": it is valid from %s until %s (%s); replace it with a currently valid certificate",
			      info->not_before, info->not_after, now < info->not_before_t ? "not valid yet" : "expired");
		return -1;
	}
	return 0;
}

int ers_smime_check_identity(const char *cert_pem, const char *key_pem, const char *passphrase,
			     const char *address, time_t now, struct ers_smime_cert_info *info_r,
			     struct ers_error *err)
{
	X509 *x = ers_smime_parse_cert(cert_pem, "Certificate PEM", err);
	if (!x)
		return -1;
	EVP_PKEY *k = ers_smime_parse_key(key_pem, passphrase, err);
	int rc = -1;
	if (!k)
		goto out;
	ers_smime_cert_info_fill(x, info_r);
	if (check_cert(info_r, address, now, true, err) < 0)
		goto out;
	if (EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1) {
		ERR_clear_error();
		ers_error_set(err, ERS_E_INVALID, ERS_SMIME_MSG_KEY_MISMATCH
			      ": the private key (%s) is not the key of the certificate (%s); export the correct pair from the same certificate bundle",
			      EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? "RSA" : EVP_PKEY_get_base_id(k) == EVP_PKEY_EC ? "EC" : "another type",
			      info_r->key_type);
		goto out;
	}
	if (!info_r->can_sign) {
		ers_error_set(err, ERS_E_INVALID,
			      "the certificate does not allow signing mail: its key usage needs digitalSignature (or nonRepudiation) and its extended key usage emailProtection; ask for an S/MIME (email protection) certificate");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

int ers_smime_check_recipient(const char *cert_pem, const char *address, time_t now,
			      struct ers_smime_cert_info *info_r, struct ers_error *err)
{
	X509 *x = ers_smime_parse_cert(cert_pem, "the recipient certificate", err);
	if (!x)
		return -1;
	ers_smime_cert_info_fill(x, info_r);
	int rc = check_cert(info_r, address, now, false, err);
	if (rc == 0 && !info_r->can_encrypt) {
		ers_error_set(err, ERS_E_INVALID,
			      "the certificate of %s does not allow encryption: its key usage needs keyEncipherment (RSA) or keyAgreement (EC) and its extended key usage emailProtection",
			      address);
		rc = -1;
	}
	X509_free(x);
	return rc;
}

int ers_smime_cert_pem(X509 *x, struct ers_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_X509(b, x) != 1) {
		BIO_free(b);
		return -1;
	}
	char *p;
	long n = BIO_get_mem_data(b, &p);
	ers_buf_reset(out);
	ers_buf_add(out, p, (size_t)n);
	BIO_free(b);
	return 0;
}

bool ers_smime_runtime_ok(char *why, size_t cap)
{
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	bool ok = aes && sha;
	if (!ok && why)
		snprintf(why, cap, "OpenSSL %s lacks %s", OpenSSL_version(OPENSSL_VERSION_STRING),
			 !aes ? "AES-256-CBC" : "SHA-256");
	EVP_CIPHER_free(aes);
	EVP_MD_free(sha);
	ERR_clear_error();
	return ok;
}
