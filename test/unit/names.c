/* Unit tests for names.c: domains and host names (IDN, case, dots, labels),
 * bounded integers and ports, and display text. */
#include <limits.h>
#include <string.h>
#include "ers/names.h"
#include "tap.h"

static struct ers_buf out = ERS_BUF_INIT;
static struct ers_error err;

/* Normalises `in` with `fn` and expects `want`. */
static void accepts(int (*fn)(const char *, struct ers_buf *, struct ers_error *),
		    const char *what, const char *in, const char *want)
{
	ers_error_clear(&err);
	int rc = fn(in, &out, &err);
	if (!is_int(rc, 0, "%s accepts \"%s\"", what, in))
		diag("error: %s", err.message);
	is_str(out.data, want, "%s \"%s\" -> \"%s\"", what, in, want);
}

/* Expects `fn` to reject `in` with ERS_E_INVALID, a message containing
 * `why`, and an empty output buffer. */
static void rejects(int (*fn)(const char *, struct ers_buf *, struct ers_error *),
		    const char *what, const char *label, const char *in, const char *why)
{
	ers_buf_reset(&out);
	ers_buf_adds(&out, "stale");
	ers_error_clear(&err);
	int rc = fn(in, &out, &err);
	is_int(rc, -1, "%s rejects %s", what, label);
	is_int(err.code, ERS_E_INVALID, "%s: %s is ERS_E_INVALID", what, label);
	like_str(err.message, why, "%s: %s: the message says why", what, label);
	is_str(out.data, "", "%s: %s leaves the output empty", what, label);
}

static void test_domain(void)
{
	int (*fn)(const char *, struct ers_buf *, struct ers_error *) = ers_domain_normalize;
	accepts(fn, "domain", "example.com", "example.com");
	accepts(fn, "domain", "Example.COM", "example.com");
	accepts(fn, "domain", "MAIL.Example.Co.UK", "mail.example.co.uk");
	accepts(fn, "domain", "example.com.", "example.com");
	accepts(fn, "domain", "a-b.c0.example", "a-b.c0.example");
	accepts(fn, "domain", "123.example", "123.example");
	accepts(fn, "domain", "bücher.example", "xn--bcher-kva.example");
	accepts(fn, "domain", "BÜCHER.example", "xn--bcher-kva.example");
	accepts(fn, "domain", "BÜCHER.Example.", "xn--bcher-kva.example");
	accepts(fn, "domain", "xn--bcher-kva.example", "xn--bcher-kva.example");
	accepts(fn, "domain", "日本.example", "xn--wgv71a.example");

	char label63[64], long_label[100], name253[300], name254[300];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(long_label, sizeof long_label, "%sa.example", label63);
	/* 63+1+63+1+63+1+61 = 253 */
	snprintf(name253, sizeof name253, "%s.%s.%s.%.61s", label63, label63, label63, label63);
	snprintf(name254, sizeof name254, "%s.%s.%s.%.62s", label63, label63, label63, label63);
	char label63_dom[80];
	snprintf(label63_dom, sizeof label63_dom, "%s.example", label63);
	accepts(fn, "domain", label63_dom, label63_dom);
	is_int(strlen(name253), 253, "test name is 253 characters");
	accepts(fn, "domain", name253, name253);

	rejects(fn, "domain", "NULL", NULL, "must not be empty");
	rejects(fn, "domain", "the empty string", "", "must not be empty");
	rejects(fn, "domain", "a space", "exa mple.com", "space or control character");
	rejects(fn, "domain", "a leading space", " example.com", "space or control character");
	rejects(fn, "domain", "a trailing space", "example.com ", "space or control character");
	rejects(fn, "domain", "a tab", "example\t.com", "space or control character");
	rejects(fn, "domain", "a newline", "example.com\n", "space or control character");
	rejects(fn, "domain", "DEL", "exam\x7fple.com", "space or control character");
	rejects(fn, "domain", "a double dot", "a..b", "empty label");
	rejects(fn, "domain", "a leading dot", ".a.b", "empty label");
	rejects(fn, "domain", "two trailing dots", "a.b..", "empty label");
	rejects(fn, "domain", "a lone dot", ".", "empty label");
	rejects(fn, "domain", "a leading hyphen", "-a.b", "starts or ends with a hyphen");
	rejects(fn, "domain", "a trailing hyphen", "a-.b", "starts or ends with a hyphen");
	rejects(fn, "domain", "a hyphen ending the TLD", "a.b-", "starts or ends with a hyphen");
	rejects(fn, "domain", "a single label", "localhost", "at least two labels");
	rejects(fn, "domain", "a single label with a dot", "localhost.", "at least two labels");
	rejects(fn, "domain", "a 64-character label", long_label, "longer than 63");
	rejects(fn, "domain", "a 254-character name", name254, "1 to 253 characters");
	rejects(fn, "domain", "an underscore", "_dmarc.example.com", "contains \"_\"");
	rejects(fn, "domain", "a slash", "exa/mple.com", "contains \"/\"");
	rejects(fn, "domain", "an at sign", "user@example.com", "contains \"@\"");
	rejects(fn, "domain", "an all-digit TLD", "a.123", "starts with a letter");
	rejects(fn, "domain", "an IPv4 address", "192.0.2.1", "starts with a letter");
	rejects(fn, "domain", "invalid UTF-8", "b\xfc" "cher.example", "not a valid internationalised name");
	rejects(fn, "domain", "an emoji", "\xf0\x9f\x92\xa9.example", "not a valid internationalised name");

	/* Each rejection names the input, so the person sees which one. */
	rejects(fn, "domain", "a name echoed back", "a..example", "\"a..example\"");
	like_str(err.message, "domain", "the message names what was checked");
}

static void test_hostname(void)
{
	int (*fn)(const char *, struct ers_buf *, struct ers_error *) = ers_hostname_normalize;
	accepts(fn, "host name", "localhost", "localhost");
	accepts(fn, "host name", "LocalHost", "localhost");
	accepts(fn, "host name", "localhost.", "localhost");
	accepts(fn, "host name", "imap.Example.com", "imap.example.com");
	accepts(fn, "host name", "mail.bücher.example", "mail.xn--bcher-kva.example");
	accepts(fn, "host name", "127.0.0.1", "127.0.0.1");
	accepts(fn, "host name", "192.0.2.10", "192.0.2.10");
	accepts(fn, "host name", "::1", "::1");
	accepts(fn, "host name", "0:0:0:0:0:0:0:1", "::1");
	accepts(fn, "host name", "2001:DB8:0:0:0:0:0:A", "2001:db8::a");
	accepts(fn, "host name", "2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1");
	accepts(fn, "host name", "::ffff:192.0.2.1", "::ffff:192.0.2.1");

	rejects(fn, "host name", "NULL", NULL, "must not be empty");
	rejects(fn, "host name", "the empty string", "", "must not be empty");
	rejects(fn, "host name", "a space", "mail host", "space or control character");
	rejects(fn, "host name", "a double dot", "mail..example", "empty label");
	rejects(fn, "host name", "an underscore", "mail_1", "contains \"_\"");
	rejects(fn, "host name", "a leading hyphen", "-mail", "hyphen");
	rejects(fn, "host name", "a bracketed IPv6 literal", "[::1]", "contains \"[\"");
	rejects(fn, "host name", "a port", "mail.example.com:993", "contains \":\"");
	rejects(fn, "host name", "a bad IPv4 address", "192.0.2.256", "starts with a letter");
	rejects(fn, "host name", "an IPv4 address with a zone-like suffix", "1.2.3", "starts with a letter");
	rejects(fn, "host name", "a bare number (read as IPv4 by resolvers)", "2130706433", "starts with a letter");
	rejects(fn, "host name", "hex labels (read as IPv4 by resolvers)", "0x7f.0x1", "starts with a letter");
	rejects(fn, "domain", "hex labels", "0x7f.0x1", "starts with a letter");
	rejects(fn, "host name", "a bad IPv6 address", "1::2::3", "contains \":\"");
	like_str(err.message, "host name", "the message names a host name");
}

static void int_accepts(const char *in, long long min, long long max, long long want)
{
	long long v = -424242;
	ers_error_clear(&err);
	int rc = ers_int_parse(in, "count", min, max, &v, &err);
	if (!is_int(rc, 0, "int \"%s\" in %lld..%lld accepted", in, min, max))
		diag("error: %s", err.message);
	is_int(v, want, "int \"%s\" is %lld", in, want);
}

static void int_rejects(const char *label, const char *in, long long min, long long max,
			const char *why)
{
	long long v = -424242;
	ers_error_clear(&err);
	int rc = ers_int_parse(in, "count", min, max, &v, &err);
	is_int(rc, -1, "int rejects %s in %lld..%lld", label, min, max);
	is_int(err.code, ERS_E_INVALID, "int: %s is ERS_E_INVALID", label);
	like_str(err.message, why, "int: %s: the message says what is allowed", label);
	is_int(v, -424242, "int: %s leaves the result alone", label);
}

static void test_int(void)
{
	int_accepts("0", 0, 10, 0);
	int_accepts("10", 0, 10, 10);
	int_accepts("-5", -10, 10, -5);
	int_accepts("-10", -10, 10, -10);
	int_accepts("007", 0, 10, 7);
	int_accepts("9223372036854775807", 0, LLONG_MAX, LLONG_MAX);
	int_accepts("-9223372036854775808", LLONG_MIN, 0, LLONG_MIN);

	int_rejects("NULL", NULL, 0, 10, "count must be a whole number 0..10, got nothing");
	int_rejects("\"\"", "", 0, 10, "count must be a whole number 0..10, got nothing");
	int_rejects("\"12a\"", "12a", 0, 100, "count must be a whole number 0..100, got \"12a\"");
	int_rejects("\"-\"", "-", -10, 10, "got \"-\"");
	int_rejects("\"+5\"", "+5", 0, 10, "got \"+5\"");
	int_rejects("\" 5\"", " 5", 0, 10, "got \" 5\"");
	int_rejects("\"5 \"", "5 ", 0, 10, "got \"5 \"");
	int_rejects("\"--5\"", "--5", -10, 10, "got \"--5\"");
	int_rejects("\"0x10\"", "0x10", 0, 100, "got \"0x10\"");
	int_rejects("\"1e3\"", "1e3", 0, 10000, "got \"1e3\"");
	int_rejects("\"1.0\"", "1.0", 0, 10, "got \"1.0\"");
	int_rejects("20 digits", "99999999999999999999", 0, LLONG_MAX, "got \"99999999999999999999\"");
	int_rejects("-20 digits", "-99999999999999999999", LLONG_MIN, 0, "whole number");
	int_rejects("one past LLONG_MAX", "9223372036854775808", 0, LLONG_MAX, "whole number");
	int_rejects("below the minimum", "-1", 0, 10, "0..10, got \"-1\"");
	int_rejects("above the maximum", "11", 0, 10, "0..10, got \"11\"");
	int_rejects("a negative range bound", "-11", -10, 10, "-10..10");

	/* A long input is cut in the message, not echoed whole. */
	char longin[200];
	memset(longin, '7', sizeof longin - 1);
	longin[sizeof longin - 1] = '\0';
	int_rejects("a 199-digit number", longin, 0, 10, "whole number");
	ok(strlen(err.message) < 120, "a long input is shortened in the message");
}

static void port_accepts(const char *in, int want)
{
	int port = -1;
	ers_error_clear(&err);
	int rc = ers_port_parse(in, "IMAP port", &port, &err);
	if (!is_int(rc, 0, "port \"%s\" accepted", in))
		diag("error: %s", err.message);
	is_int(port, want, "port \"%s\" is %d", in, want);
}

static void port_rejects(const char *in)
{
	int port = -1;
	ers_error_clear(&err);
	int rc = ers_port_parse(in, "IMAP port", &port, &err);
	is_int(rc, -1, "port \"%s\" rejected", in ? in : "(NULL)");
	is_int(err.code, ERS_E_INVALID, "port \"%s\": ERS_E_INVALID", in ? in : "(NULL)");
	like_str(err.message, "IMAP port must be a whole number 1..65535", "port \"%s\": message names the port and the range",
		 in ? in : "(NULL)");
	is_int(port, -1, "port \"%s\" leaves the result alone", in ? in : "(NULL)");
}

static void test_port(void)
{
	port_accepts("1", 1);
	port_accepts("993", 993);
	port_accepts("65535", 65535);
	static const char *const bad[] = { NULL, "", "12a", "-", "+5", " 5", "5 ", "99999999999999999999",
					   "0", "-1", "65536", "-993", "imap", "9.93" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		port_rejects(bad[i]);
}

static void text_accepts(const char *label, const char *in, size_t max)
{
	ers_error_clear(&err);
	int rc = ers_text_check(in, "display name", max, &err);
	if (!is_int(rc, 0, "text accepts %s (max %zu)", label, max))
		diag("error: %s", err.message);
}

static void text_rejects(const char *label, const char *in, size_t max, const char *why)
{
	ers_error_clear(&err);
	int rc = ers_text_check(in, "display name", max, &err);
	is_int(rc, -1, "text rejects %s", label);
	is_int(err.code, ERS_E_INVALID, "text: %s is ERS_E_INVALID", label);
	like_str(err.message, why, "text: %s: the message says why", label);
}

static void test_text(void)
{
	text_accepts("ASCII", "Acme Corp", 200);
	text_accepts("a single character", "A", 1);
	text_accepts("2-byte UTF-8", "Bücher GmbH", 200);
	text_accepts("3-byte UTF-8", "日本語", 200);
	text_accepts("4-byte UTF-8", "Emoji \xf0\x9f\x98\x80", 200);
	text_accepts("U+10FFFF", "x\xf4\x8f\xbf\xbf", 200);
	text_accepts("U+00A0 (first after C1)", "x\xc2\xa0x", 200);
	text_accepts("U+FFFD", "\xef\xbf\xbd", 200);
	text_accepts("U+E000 (after the surrogates)", "\xee\x80\x80", 200);
	text_accepts("an inner space", "a b", 200);

	/* The maximum counts characters, not bytes. */
	text_accepts("5 two-byte characters in 5", "ééééé", 5);
	text_accepts("3 four-byte characters in 3", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 3);
	text_rejects("6 two-byte characters in 5", "éééééé", 5, "at most 5 characters, got 6");
	text_rejects("6 ASCII characters in 5", "abcdef", 5, "at most 5 characters, got 6");

	text_rejects("NULL", NULL, 10, "must not be empty");
	text_rejects("the empty string", "", 10, "must not be empty");
	text_rejects("a leading space", " Acme", 200, "must not start or end with a space");
	text_rejects("a trailing space", "Acme ", 200, "must not start or end with a space");
	text_rejects("only a space", " ", 200, "must not start or end with a space");
	const char *utf8 = "valid UTF-8 text without control characters";
	text_rejects("a tab", "a\tb", 200, utf8);
	text_rejects("a newline", "a\nb", 200, utf8);
	text_rejects("ESC", "a\x1b[31mb", 200, utf8);
	text_rejects("DEL", "a\x7f", 200, utf8);
	text_rejects("C1 U+0080", "a\xc2\x80", 200, utf8);
	text_rejects("C1 U+0085 (NEL)", "a\xc2\x85", 200, utf8);
	text_rejects("C1 U+009F", "a\xc2\x9f", 200, utf8);
	text_rejects("a lone continuation byte", "a\x80", 200, utf8);
	text_rejects("a truncated 2-byte sequence", "a\xc3", 200, utf8);
	text_rejects("a truncated 3-byte sequence", "\xe6\x97", 200, utf8);
	text_rejects("a truncated 4-byte sequence", "\xf0\x9f\x98", 200, utf8);
	text_rejects("overlong '/' in 2 bytes", "\xc0\xaf", 200, utf8);
	text_rejects("overlong NUL in 2 bytes", "a\xc0\x80", 200, utf8);
	text_rejects("overlong 'A' in 2 bytes (C1 lead)", "\xc1\x81", 200, utf8);
	text_rejects("overlong '/' in 3 bytes", "\xe0\x80\xaf", 200, utf8);
	text_rejects("overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", 200, utf8);
	text_rejects("overlong '/' in 4 bytes", "\xf0\x80\x80\xaf", 200, utf8);
	text_rejects("overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 200, utf8);
	text_rejects("surrogate U+D800", "\xed\xa0\x80", 200, utf8);
	text_rejects("surrogate U+DFFF", "\xed\xbf\xbf", 200, utf8);
	text_rejects("a surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80", 200, utf8);
	text_rejects("above U+10FFFF", "\xf4\x90\x80\x80", 200, utf8);
	text_rejects("lead byte F5", "\xf5\x80\x80\x80", 200, utf8);
	text_rejects("lead byte F8 (5 bytes)", "\xf8\x88\x80\x80\x80", 200, utf8);
	text_rejects("lead byte FE", "\xfe", 200, utf8);
	text_rejects("lead byte FF", "\xff", 200, utf8);
	like_str(err.message, "display name", "the message names what was checked");
}

int main(void)
{
	test_domain();
	test_hostname();
	test_int();
	test_port();
	test_text();
	ers_buf_free(&out);
	return done_testing();
}
