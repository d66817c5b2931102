/* Names from people: domains, host names, ports, bounded numbers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <idn2.h>
#include "ers/names.h"
#include "ers/mem.h"

/* Checks the ASCII (already punycoded) form label by label.  `min_labels`
 * is 2 for mail domains and 1 for host names. */
static int check_ascii_name(const char *what, const char *input, const char *name,
			    int min_labels, struct ers_error *err)
{
	size_t len = strlen(name);
	if (len == 0 || len > 253) {
		ers_error_set(err, ERS_E_INVALID, "%s \"%s\" must be 1 to 253 characters long", what, input);
		return -1;
	}
	int labels = 0;
	const char *label = name;
	while (label) {
		const char *dot = strchr(label, '.');
		size_t n = dot ? (size_t)(dot - label) : strlen(label);
		if (n == 0) {
			ers_error_set(err, ERS_E_INVALID, "%s \"%s\" has an empty label (leading, trailing or double dot)",
				      what, input);
			return -1;
		}
		if (n > 63) {
			ers_error_set(err, ERS_E_INVALID, "%s \"%s\" has a label longer than 63 characters", what, input);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)label[i];
			if (!(islower(c) || isdigit(c) || c == '-')) {
				ers_error_set(err, ERS_E_INVALID,
					      "%s \"%s\" contains \"%c\": only letters, digits, hyphens and dots are allowed",
					      what, input, isprint(c) ? c : '?');
				return -1;
			}
		}
		if (label[0] == '-' || label[n - 1] == '-') {
			ers_error_set(err, ERS_E_INVALID, "%s \"%s\" has a label that starts or ends with a hyphen",
				      what, input);
			return -1;
		}
		labels++;
		label = dot ? dot + 1 : NULL;
	}
	const char *tld = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
	/* No top-level domain starts with a digit; without this rule "123" or
	 * "0x7f.0x1" would pass and resolvers would read them as IPv4. */
	if (!islower((unsigned char)tld[0])) {
		ers_error_set(err, ERS_E_INVALID,
			      "%s \"%s\" must end in a label that starts with a letter (write an IP address in dotted form)",
			      what, input);
		return -1;
	}
	if (labels < min_labels) {
		ers_error_set(err, ERS_E_INVALID, "%s \"%s\" needs at least two labels, like example.com",
			      what, input);
		return -1;
	}
	return 0;
}

static int normalize(const char *what, const char *input, int min_labels, struct ers_buf *out,
		     struct ers_error *err)
{
	ers_buf_reset(out);
	if (!input || !*input) {
		ers_error_set(err, ERS_E_INVALID, "%s must not be empty", what);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)input; *p; p++) {
		if (*p <= ' ' || *p == 0x7f) {
			ers_error_set(err, ERS_E_INVALID, "%s \"%s\" contains a space or control character", what, input);
			return -1;
		}
	}
	size_t len = strlen(input);
	char *work = ers_xstrdup(input);
	if (len > 1 && work[len - 1] == '.') /* the FQDN form: drop one trailing dot */
		work[len - 1] = '\0';
	char *ascii = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)work, (uint8_t **)&ascii,
				IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		/* idn2 rejects some plain ASCII mistakes too; let the label check name them. */
		bool ascii_only = true;
		for (const char *p = work; *p; p++)
			ascii_only &= (unsigned char)*p < 0x80;
		if (ascii_only) {
			for (char *p = work; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (check_ascii_name(what, input, work, min_labels, err) < 0) {
				free(work);
				return -1;
			}
		}
		ers_error_set(err, ERS_E_INVALID, "%s \"%s\" is not a valid internationalised name: %s",
			      what, input, idn2_strerror(rc));
		free(work);
		return -1;
	}
	free(work);
	for (char *p = ascii; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rc = check_ascii_name(what, input, ascii, min_labels, err);
	if (rc == 0)
		ers_buf_adds(out, ascii);
	idn2_free(ascii);
	return rc;
}

int ers_domain_normalize(const char *input, struct ers_buf *out, struct ers_error *err)
{
	return normalize("domain", input, 2, out, err);
}

int ers_hostname_normalize(const char *input, struct ers_buf *out, struct ers_error *err)
{
	unsigned char addr[16];
	if (input && (inet_pton(AF_INET, input, addr) == 1 || inet_pton(AF_INET6, input, addr) == 1)) {
		char text[INET6_ADDRSTRLEN];
		int af = strchr(input, ':') ? AF_INET6 : AF_INET;
		inet_ntop(af, addr, text, sizeof text); /* the canonical spelling */
		ers_buf_reset(out);
		ers_buf_adds(out, text);
		return 0;
	}
	return normalize("host name", input, 1, out, err);
}

int ers_int_parse(const char *input, const char *what, long long min, long long max,
		  long long *value_r, struct ers_error *err)
{
	if (!input || !*input) {
		ers_error_set(err, ERS_E_INVALID, "%s must be a whole number %lld..%lld, got nothing",
			      what, min, max);
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(input, &end, 10);
	bool digits_only = strspn(input + (input[0] == '-'), "0123456789") == strlen(input + (input[0] == '-'));
	if (!digits_only || *end || errno == ERANGE || v < min || v > max) {
		ers_error_set(err, ERS_E_INVALID, "%s must be a whole number %lld..%lld, got \"%.40s\"",
			      what, min, max, input);
		return -1;
	}
	*value_r = v;
	return 0;
}

int ers_port_parse(const char *input, const char *what, int *port_r, struct ers_error *err)
{
	long long v;
	if (ers_int_parse(input, what, 1, 65535, &v, err) < 0)
		return -1;
	*port_r = (int)v;
	return 0;
}

/* Length in characters of valid UTF-8 without control characters, or -1. */
static long utf8_text_chars(const unsigned char *s)
{
	long chars = 0;
	while (*s) {
		unsigned c = *s;
		int extra;
		unsigned cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return -1;
			extra = 0, cp = c;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3, cp = c & 0x07;
		} else {
			return -1;
		}
		for (int i = 1; i <= extra; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		static const unsigned min_cp[] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0)) /* overlong, surrogate, C1 control */
			return -1;
		s += extra + 1;
		chars++;
	}
	return chars;
}

int ers_text_check(const char *input, const char *what, size_t max_chars, struct ers_error *err)
{
	if (!input || !*input) {
		ers_error_set(err, ERS_E_INVALID, "%s must not be empty", what);
		return -1;
	}
	long chars = utf8_text_chars((const unsigned char *)input);
	if (chars < 0) {
		ers_error_set(err, ERS_E_INVALID, "%s must be valid UTF-8 text without control characters", what);
		return -1;
	}
	if ((size_t)chars > max_chars) {
		ers_error_set(err, ERS_E_INVALID, "%s must be at most %zu characters, got %ld", what, max_chars, chars);
		return -1;
	}
	size_t len = strlen(input);
	if (input[0] == ' ' || input[len - 1] == ' ') {
		ers_error_set(err, ERS_E_INVALID, "%s must not start or end with a space", what);
		return -1;
	}
	return 0;
}

int ers_address_normalize(const char *input, struct ers_buf *out, struct ers_error *err)
{
	ers_buf_reset(out);
	const char *at = input ? strrchr(input, '@') : NULL;
	if (!at || at == input) {
		ers_error_set(err, ERS_E_INVALID, "address \"%.200s\" must look like name@domain",
			      input ? input : "");
		return -1;
	}
	size_t n = (size_t)(at - input);
	if (n > 64) {
		ers_error_set(err, ERS_E_INVALID, "the name before @ in \"%.200s\" must be at most 64 characters", input);
		return -1;
	}
	char local[65];
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)input[i]);
		if (!(islower(c) || isdigit(c) || c == '-' || c == '.')) {
			ers_error_set(err, ERS_E_INVALID,
				      "address \"%.200s\": the name before @ may hold only Latin letters, digits, hyphens and periods",
				      input);
			return -1;
		}
		local[i] = (char)c;
	}
	local[n] = '\0';
	if (local[0] == '.' || local[n - 1] == '.' || strstr(local, "..")) {
		ers_error_set(err, ERS_E_INVALID,
			      "address \"%.200s\": the name before @ must not start or end with a period or hold two in a row",
			      input);
		return -1;
	}
	struct ers_buf domain = ERS_BUF_INIT;
	if (ers_domain_normalize(at + 1, &domain, err) < 0) {
		ers_buf_free(&domain);
		return -1;
	}
	ers_buf_addf(out, "%s@%s", local, domain.data);
	ers_buf_free(&domain);
	return 0;
}
