/* Unit tests for the pure parts of mfa.c and qr.c: TOTP codes against the
 * test vectors of RFC 6238 (appendix B, the SHA-1 ones, 8 digits) and RFC
 * 4226 (appendix D, HOTP, 6 digits), the +-1 step window, base32 against
 * RFC 4648's vectors, the constant-time comparison, and the QR code SVG. */
#include <stdint.h>
#include <string.h>
#include "ers/mfa.h"
#include "ers/qr.h"
#include "tap.h"

static const unsigned char rfc_key[] = "12345678901234567890"; /* 20 bytes, SHA-1's */

static void test_rfc6238(void)
{
	static const struct { uint64_t t; const char *code; } v[] = {
		{ 59, "94287082" },         { 1111111109, "07081804" }, { 1111111111, "14050471" },
		{ 1234567890, "89005924" }, { 2000000000, "69279037" }, { 20000000000ULL, "65353130" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char code[10] = "";
		is_int(ers_totp_code(rfc_key, 20, v[i].t / 30, 8, code), 0, "RFC 6238 T=%llu: made", (unsigned long long)v[i].t);
		is_str(code, v[i].code, "RFC 6238 T=%llu (step %llu): %s", (unsigned long long)v[i].t,
		       (unsigned long long)(v[i].t / 30), v[i].code);
	}
	/* The product's 6 digits are the last 6 of the 8 (the same truncation). */
	char code[10];
	ers_totp_code(rfc_key, 20, 59 / 30, 6, code);
	is_str(code, "287082", "6 digits at T=59 are the last 6 of the 8");
}

static void test_rfc4226(void)
{
	static const char *const hotp[] = { "755224", "287082", "359152", "969429", "338314",
					    "254676", "287922", "162583", "399871", "520489" };
	for (uint64_t c = 0; c < 10; c++) {
		char code[10] = "";
		ers_totp_code(rfc_key, 20, c, 6, code);
		is_str(code, hotp[c], "RFC 4226 HOTP counter %llu", (unsigned long long)c);
	}
	char code[12];
	is_int(ers_totp_code(rfc_key, 20, 1, 0, code), -1, "0 digits are refused");
	is_int(ers_totp_code(rfc_key, 20, 1, 10, code), -1, "10 digits are refused");
	is_int(ers_totp_code(rfc_key, 20, 1, 9, code), 0, "9 digits are made");
	is_int(strlen(code), 9, "... 9 of them");
}

static void test_verify(void)
{
	uint64_t step = 1234567890 / 30, matched = 0;
	char now[10], before[10], after[10], far[10];
	ers_totp_code(rfc_key, 20, step, 6, now);
	ers_totp_code(rfc_key, 20, step - 1, 6, before);
	ers_totp_code(rfc_key, 20, step + 1, 6, after);
	ers_totp_code(rfc_key, 20, step + 2, 6, far);
	ok(ers_totp_verify(rfc_key, 20, now, step, 1, 6, &matched) && matched == step, "the current code is accepted");
	ok(ers_totp_verify(rfc_key, 20, before, step, 1, 6, &matched) && matched == step - 1,
	   "the previous step's code is accepted, as that step");
	ok(ers_totp_verify(rfc_key, 20, after, step, 1, 6, &matched) && matched == step + 1,
	   "the next step's code is accepted, as that step");
	ok(!ers_totp_verify(rfc_key, 20, far, step, 1, 6, &matched), "two steps ahead is refused");
	ok(!ers_totp_verify(rfc_key, 20, now, step, 1, 8, &matched), "a 6-digit code where 8 are wanted is refused");
	char wrong[10];
	memcpy(wrong, now, sizeof wrong);
	wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
	ok(!ers_totp_verify(rfc_key, 20, wrong, step, 1, 6, &matched), "one digit off is refused");
	ok(!ers_totp_verify(rfc_key, 20, "", step, 1, 6, &matched), "an empty code is refused");
	ok(!ers_totp_verify(rfc_key, 20, NULL, step, 1, 6, &matched), "no code is refused");
	char longer[12];
	snprintf(longer, sizeof longer, "%s0", now);
	ok(!ers_totp_verify(rfc_key, 20, longer, step, 1, 6, &matched), "the code with a digit more is refused");
	ok(!ers_totp_verify(rfc_key, 20, before, step, 0, 6, &matched), "with window 0 the previous code is refused");
	char first[10];
	ers_totp_code(rfc_key, 20, 0, 6, first);
	ok(ers_totp_verify(rfc_key, 20, first, 0, 1, 6, &matched) && matched == 0, "step 0 has no step before it");
}

static void test_base32(void)
{
	static const struct { const char *plain, *b32; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
		{ "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
		{ "12345678901234567890", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
	};
	struct ers_buf b = ERS_BUF_INIT;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ers_base32_encode((const unsigned char *)v[i].plain, strlen(v[i].plain), &b);
		is_str(b.data, v[i].b32, "base32 of \"%s\" (RFC 4648, no padding)", v[i].plain);
		is_int(ers_base32_decode(v[i].b32, &b), 0, "decode %s", v[i].b32);
		ok(b.len == strlen(v[i].plain) && !memcmp(b.data, v[i].plain, b.len), "... gives \"%s\" back", v[i].plain);
	}
	is_int(ers_base32_decode("mzxw6ytboi", &b), 0, "lower case decodes");
	is_str(b.data, "foobar", "... alike");
	is_int(ers_base32_decode("MZXW-6YTB OI======", &b), 0, "padding, spaces and hyphens are ignored");
	is_str(b.data, "foobar", "... alike");
	is_int(ers_base32_decode("MZXW1", &b), -1, "a 1 is no base32");
	is_int(ers_base32_decode("MZXW8", &b), -1, "an 8 is no base32");
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	struct ers_buf back = ERS_BUF_INIT;
	ers_base32_encode(all, sizeof all, &b);
	ers_base32_decode(b.data, &back);
	ok(back.len == 256 && !memcmp(back.data, all, 256), "every byte value goes there and back");
	ers_buf_free(&b);
	ers_buf_free(&back);
}

static void test_secret_equal(void)
{
	ok(ers_secret_equal("123456", "123456"), "equal strings are equal");
	ok(!ers_secret_equal("123456", "123457"), "the last character differs");
	ok(!ers_secret_equal("123456", "12345"), "a prefix is not equal");
	ok(!ers_secret_equal("12345", "123456"), "nor the other way round");
	ok(!ers_secret_equal("", "1"), "the empty string is not equal to another");
	ok(ers_secret_equal("", ""), "two empty strings are");
	ok(!ers_secret_equal(NULL, ""), "NULL is equal to nothing");
	ok(!ers_secret_equal("", NULL), "... either side");
}

static void test_qr(void)
{
	struct ers_buf svg = ERS_BUF_INIT;
	struct ers_error err;
	const char *uri = "otpauth://totp/ERS:anna%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ERS";
	is_int(ers_qr_svg(uri, &svg, &err), 0, "a QR code of an otpauth URI");
	ok(!strncmp(svg.data, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 53), "it is an inline SVG element");
	ok(svg.len > 6 && !strcmp(svg.data + svg.len - 6, "</svg>"), "... closed");
	like_str(svg.data, "<path fill=\"#000\" d=\"M", "dark modules are one path");
	unlike_str(svg.data, "GEZDGNBV", "the secret is not in it as text");
	unlike_str(svg.data, "<script", "nothing active in it");
	/* version 5 (37 modules) at level M holds 84 bytes; 4 modules of quiet zone each side */
	like_str(svg.data, "viewBox=\"0 0 45 45\"", "a 37-module code with the quiet zone");
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	is_int(ers_qr_svg(big, &svg, &err), -1, "too much text for a QR code is refused");
	like_str(err.message, "cannot make a QR code of 3999 bytes", "... saying how much");
	ers_buf_free(&svg);
}

int main(void)
{
	test_rfc6238();
	test_rfc4226();
	test_verify();
	test_base32();
	test_secret_equal();
	test_qr();
	return done_testing();
}
