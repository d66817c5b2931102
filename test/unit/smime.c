/* Unit tests for the S/MIME identity checks (smime/cert.c): certificates
 * and keys made here with OpenSSL's API under a throwaway CA -- RSA and
 * EC, expired, not yet valid, for another address, with another key,
 * protected by a passphrase, without signing in their key usage -- and
 * each refusal with the manual's words ("Certificate email does not match
 * your login", "Certificate and key do not match", "Expired or
 * not-yet-valid certificate") or its own for garbage, DER, a chain, a
 * 1 MB paste, a missing or wrong passphrase.  No database. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "ers/smime.h"
#include "tap.h"

static struct ers_error err;
static EVP_PKEY *ca_key;
static X509 *ca_cert;

/* The PEM texts made here, freed at the end (the test runs under LSan too). */
static char *owned[64];
static size_t nowned;
static char *own(char *s)
{
	if (nowned < sizeof owned / sizeof owned[0])
		owned[nowned++] = s;
	return s;
}

static EVP_PKEY *new_key(bool ec)
{
	return ec ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX c;
	X509V3_set_ctx_nodb(&c);
	X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, value);
	if (!e)
		abort();
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

struct leaf {
	const char *cn;
	const char *san;          /* "email:a@b" or NULL */
	const char *subject_email;/* emailAddress in the subject, or NULL */
	long from_days, to_days;  /* validity relative to now */
	const char *key_usage;    /* NULL: digitalSignature, keyEncipherment / keyAgreement */
	const char *eku;          /* NULL: emailProtection */
};

static X509 *make_cert(EVP_PKEY *key, const struct leaf *l, EVP_PKEY *signer, X509 *issuer, bool ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), l->from_days * 86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), l->to_days * 86400L);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)l->cn, -1, -1, 0);
	if (l->subject_email)
		X509_NAME_add_entry_by_txt(n, "emailAddress", MBSTRING_ASC, (const unsigned char *)l->subject_email, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	if (ca) {
		add_ext(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		bool ec = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
		add_ext(x, issuer, NID_key_usage, l->key_usage ? l->key_usage :
			ec ? "critical,digitalSignature,keyAgreement" : "critical,digitalSignature,keyEncipherment");
		add_ext(x, issuer, NID_ext_key_usage, l->eku ? l->eku : "emailProtection");
		if (l->san)
			add_ext(x, issuer, NID_subject_alt_name, l->san);
	}
	X509_sign(x, signer, EVP_sha256());
	return x;
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = own(strndup(p, (size_t)n));
	BIO_free(b);
	return s;
}

static char *key_pem(EVP_PKEY *k, const char *pass)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (pass)
		PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass);
	else
		PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = own(strndup(p, (size_t)n));
	BIO_free(b);
	return s;
}

static char *traditional_rsa_pem(EVP_PKEY *k, const char *pass)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(b, k, pass ? EVP_aes_128_cbc() : NULL, NULL, 0, NULL, (void *)pass);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = own(strndup(p, (size_t)n));
	BIO_free(b);
	return s;
}

/* A leaf for `l` with a new key: its PEM certificate and key. */
static void make_leaf(const struct leaf *l, bool ec, char **cert_r, char **key_r, EVP_PKEY **k_r)
{
	EVP_PKEY *k = new_key(ec);
	X509 *x = make_cert(k, l, ca_key, ca_cert, false);
	*cert_r = cert_pem(x);
	if (key_r)
		*key_r = key_pem(k, NULL);
	X509_free(x);
	if (k_r)
		*k_r = k;
	else
		EVP_PKEY_free(k);
}

static void check_refused(int rc, const char *want, const char *label)
{
	is_int(rc, -1, "%s: refused", label);
	like_str(err.message, want, "%s: the message says \"%s\"", label, want);
	is_int(err.code, ERS_E_INVALID, "%s: ERS_E_INVALID", label);
}

int main(void)
{
	time_t now = time(NULL);
	ca_key = new_key(false);
	struct leaf ca_leaf = { .cn = "Throwaway Test CA", .from_days = -1, .to_days = 30 };
	ca_cert = make_cert(ca_key, &ca_leaf, ca_key, NULL, true);
	struct ers_smime_cert_info info;
	const char *me = "anna@acme.example";

	/* ---- good identities: RSA and EC, SAN or subject emailAddress */
	char *c_rsa, *k_rsa;
	struct leaf good = { .cn = "Anna", .san = "email:anna@acme.example", .from_days = -1, .to_days = 365 };
	make_leaf(&good, false, &c_rsa, &k_rsa, NULL);
	is_int(ers_smime_check_identity(c_rsa, k_rsa, NULL, me, now, &info, &err), 0, "RSA identity accepted: %s", err.message);
	is_str(info.key_type, "RSA 2048", "key type RSA 2048");
	is_str(info.emails, "anna@acme.example", "the certificate's address");
	like_str(info.subject, "CN=Anna", "subject shown");
	like_str(info.issuer, "CN=Throwaway Test CA", "issuer shown");
	is_int(strlen(info.fingerprint), 95, "SHA-256 fingerprint as 32 hex pairs with colons (%s)", info.fingerprint);
	ok(info.can_sign && info.can_encrypt, "RSA with digitalSignature, keyEncipherment: signs and encrypts");
	ok(info.not_after_t > now + 364 * 86400L, "valid until a year from now (%s)", info.not_after);

	char *c_ec, *k_ec;
	struct leaf good_subject = { .cn = "Anna EC", .subject_email = "Anna@ACME.example", .from_days = -1, .to_days = 20 };
	make_leaf(&good_subject, true, &c_ec, &k_ec, NULL);
	is_int(ers_smime_check_identity(c_ec, k_ec, "", me, now, &info, &err), 0,
	       "EC identity with the address in the subject's emailAddress, other case: accepted (%s)", err.message);
	is_str(info.key_type, "EC prime256v1", "key type EC prime256v1");
	ok(info.can_sign && info.can_encrypt, "EC with digitalSignature, keyAgreement: signs and encrypts");

	/* IDN: the certificate names the domain in Unicode, the account has punycode */
	char *c_idn, *k_idn;
	struct leaf idn = { .cn = "Jörg", .san = "email:jorg@bücher.example", .from_days = -1, .to_days = 100 };
	make_leaf(&idn, false, &c_idn, &k_idn, NULL);
	is_int(ers_smime_check_identity(c_idn, k_idn, NULL, "jorg@xn--bcher-kva.example", now, &info, &err), 0,
	       "IDN domain in the certificate matches the punycode account (%s)", err.message);
	is_str(info.emails, "jorg@xn--bcher-kva.example", "... normalised to punycode");

	/* ---- the manual's three messages */
	char *c_other, *k_other;
	struct leaf other = { .cn = "Bob", .san = "email:bob@acme.example", .from_days = -1, .to_days = 365 };
	make_leaf(&other, false, &c_other, &k_other, NULL);
	check_refused(ers_smime_check_identity(c_other, k_other, NULL, me, now, &info, &err),
		      "Certificate email does not match your login", "another user's certificate");
	like_str(err.message, "bob@acme.example", "... naming the certificate's address");
	struct leaf noemail = { .cn = "Nobody", .from_days = -1, .to_days = 365 };
	char *c_none, *k_none;
	make_leaf(&noemail, false, &c_none, &k_none, NULL);
	check_refused(ers_smime_check_identity(c_none, k_none, NULL, me, now, &info, &err),
		      "Certificate email does not match your login", "a certificate without an address");

	check_refused(ers_smime_check_identity(c_rsa, k_other, NULL, me, now, &info, &err),
		      "Certificate and key do not match", "the wrong key (RSA)");
	check_refused(ers_smime_check_identity(c_rsa, k_ec, NULL, me, now, &info, &err),
		      "Certificate and key do not match", "the wrong key (EC for an RSA certificate)");

	char *c_exp, *k_exp;
	struct leaf expired = { .cn = "Anna", .san = "email:anna@acme.example", .from_days = -400, .to_days = -35 };
	make_leaf(&expired, false, &c_exp, &k_exp, NULL);
	check_refused(ers_smime_check_identity(c_exp, k_exp, NULL, me, now, &info, &err),
		      "Expired or not-yet-valid certificate", "an expired certificate");
	like_str(err.message, "(expired)", "... saying it expired");
	char *c_fut, *k_fut;
	struct leaf future = { .cn = "Anna", .san = "email:anna@acme.example", .from_days = 10, .to_days = 400 };
	make_leaf(&future, true, &c_fut, &k_fut, NULL);
	check_refused(ers_smime_check_identity(c_fut, k_fut, NULL, me, now, &info, &err),
		      "Expired or not-yet-valid certificate", "a not-yet-valid certificate");
	like_str(err.message, "not valid yet", "... saying it is not valid yet");

	/* ---- key usage */
	char *c_ku, *k_ku;
	struct leaf encrypt_only = { .cn = "Anna", .san = "email:anna@acme.example", .from_days = -1, .to_days = 365,
				     .key_usage = "critical,keyEncipherment" };
	make_leaf(&encrypt_only, false, &c_ku, &k_ku, NULL);
	check_refused(ers_smime_check_identity(c_ku, k_ku, NULL, me, now, &info, &err), "does not allow signing",
		      "a key usage without digitalSignature");
	char *c_eku, *k_eku;
	struct leaf tls_only = { .cn = "Anna", .san = "email:anna@acme.example", .from_days = -1, .to_days = 365,
				 .eku = "serverAuth" };
	make_leaf(&tls_only, false, &c_eku, &k_eku, NULL);
	check_refused(ers_smime_check_identity(c_eku, k_eku, NULL, me, now, &info, &err), "does not allow signing",
		      "an extended key usage without emailProtection");

	/* ---- passphrases */
	EVP_PKEY *kp;
	char *c_p;
	make_leaf(&good, false, &c_p, NULL, &kp);
	char *k_p = key_pem(kp, "correct horse battery");
	like_str(k_p, "ENCRYPTED PRIVATE KEY", "the test key is encrypted (PKCS#8)");
	is_int(ers_smime_check_identity(c_p, k_p, "correct horse battery", me, now, &info, &err), 0,
	       "a passphrase-protected key opens with its passphrase (%s)", err.message);
	check_refused(ers_smime_check_identity(c_p, k_p, NULL, me, now, &info, &err), "protected with a passphrase",
		      "the key without its passphrase");
	check_refused(ers_smime_check_identity(c_p, k_p, "wrong one", me, now, &info, &err), "passphrase is wrong",
		      "a wrong passphrase");
	char *k_trad = traditional_rsa_pem(kp, "s3cret-traditional");
	like_str(k_trad, "Proc-Type: 4,ENCRYPTED", "a traditional encrypted RSA key");
	is_int(ers_smime_check_identity(c_p, k_trad, "s3cret-traditional", me, now, &info, &err), 0,
	       "... opens with its passphrase too (%s)", err.message);
	check_refused(ers_smime_check_identity(c_p, k_trad, "", me, now, &info, &err), "protected with a passphrase",
		      "... and is refused without it");
	check_refused(ers_smime_check_identity(c_rsa, k_rsa, "not needed", me, now, &info, &err), "the private key has none",
		      "a passphrase for a key without one");

	/* ---- what is not one PEM certificate */
	check_refused(ers_smime_check_identity("hello, world", k_rsa, NULL, me, now, &info, &err),
		      "not a PEM certificate", "garbage as the certificate");
	check_refused(ers_smime_check_identity("", k_rsa, NULL, me, now, &info, &err), "is empty", "an empty certificate");
	unsigned char *der = NULL;
	{
		BIO *b = BIO_new_mem_buf(c_rsa, -1);
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		int n = i2d_X509(x, &der);
		char *as_text = calloc(1, (size_t)n + 1); /* as a form field holds it: up to its first NUL */
		memcpy(as_text, der, (size_t)n);
		check_refused(ers_smime_check_identity(as_text, k_rsa, NULL, me, now, &info, &err), "binary (DER",
			      "a DER certificate");
		free(as_text);
		OPENSSL_free(der);
		X509_free(x);
	}
	char *chain = malloc(strlen(c_rsa) + 4096);
	char *ca_pem = cert_pem(ca_cert);
	sprintf(chain, "%s%s", c_rsa, ca_pem);
	check_refused(ers_smime_check_identity(chain, k_rsa, NULL, me, now, &info, &err), "holds 2 certificates",
		      "a chain in the certificate field");
	char *big = malloc(1048577);
	memset(big, 'A', 1048576);
	big[1048576] = '\0';
	memcpy(big, c_rsa, strlen(c_rsa));
	check_refused(ers_smime_check_identity(big, k_rsa, NULL, me, now, &info, &err), "too long",
		      "a 1 MB paste as the certificate");
	check_refused(ers_smime_check_identity(c_rsa, big, NULL, me, now, &info, &err), "too long",
		      "a 1 MB paste as the key");
	check_refused(ers_smime_check_identity(k_rsa, c_rsa, NULL, me, now, &info, &err), "holds a private key",
		      "key and certificate swapped");
	check_refused(ers_smime_check_identity(c_rsa, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", NULL, me,
					       now, &info, &err), "damaged", "a damaged key");
	check_refused(ers_smime_check_identity(c_rsa, "junk", NULL, me, now, &info, &err), "not a PEM private key",
		      "garbage as the key");
	unlike_str(err.message, "junk", "the key field is never echoed");
	/* text before the PEM block (a PKCS#12 export's "Bag Attributes") is fine */
	char *bag = malloc(strlen(c_rsa) + 200);
	sprintf(bag, "Bag Attributes\n    friendlyName: Anna\nsubject=CN = Anna\n%s", c_rsa);
	is_int(ers_smime_check_identity(bag, k_rsa, NULL, me, now, &info, &err), 0,
	       "text around the PEM block, as openssl pkcs12 writes it, is accepted (%s)", err.message);

	/* ---- recipient certificates */
	is_int(ers_smime_check_recipient(c_other, "Bob@ACME.example", now, &info, &err), -1,
	       "a recipient address must be normalised by the caller");
	is_int(ers_smime_check_recipient(c_other, "bob@acme.example", now, &info, &err), 0, "a recipient certificate for its address");
	check_refused(ers_smime_check_recipient(c_other, "carol@acme.example", now, &info, &err), "is not for carol@acme.example",
		      "a recipient certificate for another address");
	check_refused(ers_smime_check_recipient(c_exp, "anna@acme.example", now, &info, &err),
		      "Expired or not-yet-valid certificate", "an expired recipient certificate");
	check_refused(ers_smime_check_recipient("garbage", "anna@acme.example", now, &info, &err),
		      "not a PEM certificate", "garbage as a recipient certificate");

	char why[200];
	ok(ers_smime_runtime_ok(why, sizeof why), "the signing runtime is here (OpenSSL with CMS, SHA-256, AES-256)");

	free(big);
	free(chain);
	free(bag);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	EVP_PKEY_free(kp);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	return done_testing();
}
