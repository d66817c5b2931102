/* Unit test of the DKIM module's pure parts: TXT records split into DNS
 * strings of at most 255 bytes, and the algorithm and state names. */
#include <stdio.h>
#include <string.h>
#include "ers/dkim.h"
#include "ers/buf.h"
#include "tap.h"

static void split_is(size_t n, const char *want_shape, const char *what)
{
	char value[1200];
	for (size_t i = 0; i < n; i++)
		value[i] = (char)('a' + i % 26);
	value[n] = '\0';
	struct ers_buf out = ERS_BUF_INIT, shape = ERS_BUF_INIT, joined = ERS_BUF_INIT;
	ers_dkim_txt_split(value, &out);
	/* The shape: each string's length; and the strings joined again. */
	for (const char *s = out.data; (s = strchr(s, '"'));) {
		const char *e = strchr(s + 1, '"');
		ers_buf_addf(&shape, "%s%zu", shape.len ? " " : "", (size_t)(e - s - 1));
		ers_buf_add(&joined, s + 1, (size_t)(e - s - 1));
		s = e + 1;
	}
	is_str(shape.data, want_shape, "%s: strings of %s bytes", what, want_shape);
	is_str(joined.data, value, "%s: joined again, the value", what);
	ers_buf_free(&out);
	ers_buf_free(&shape);
	ers_buf_free(&joined);
}

int main(void)
{
	split_is(0, "0", "an empty value is one empty string");
	split_is(10, "10", "a short value");
	split_is(255, "255", "exactly 255 bytes: one string");
	split_is(256, "255 1", "256 bytes: two");
	split_is(410, "255 155", "an RSA-2048 record's length");
	split_is(754, "255 255 244", "an RSA-4096 record's length");

	struct ers_buf out = ERS_BUF_INIT;
	ers_dkim_txt_split("a\"b\\c", &out);
	is_str(out.data, "\"a\\\"b\\\\c\"", "quotes and backslashes are escaped");
	ers_buf_free(&out);

	enum ers_dkim_algorithm a = ERS_DKIM_RSA_2048;
	struct ers_error err;
	is_int(ers_dkim_algorithm_parse("ed25519", &a, &err), 0, "ed25519 parses");
	is_int(a, ERS_DKIM_ED25519, "... as ERS_DKIM_ED25519");
	is_int(ers_dkim_algorithm_parse("rsa-1024", &a, &err), -1, "rsa-1024 is refused");
	is_int(err.code, ERS_E_INVALID, "... as invalid");
	ok(strstr(err.message, "rsa-2048") && strstr(err.message, "rsa-4096") && strstr(err.message, "ed25519") &&
	   strstr(err.message, "\"rsa-1024\""), "... naming what is allowed and what was given: %s", err.message);
	is_int(ers_dkim_algorithm_parse(NULL, &a, &err), -1, "no algorithm is refused, not a crash");
	for (int i = 0; i <= ERS_DKIM_ED25519; i++) {
		enum ers_dkim_algorithm back;
		ers_dkim_algorithm_parse(ers_dkim_algorithm_name((enum ers_dkim_algorithm)i), &back, &err);
		is_int(back, i, "algorithm %s round-trips", ers_dkim_algorithm_name((enum ers_dkim_algorithm)i));
	}
	is_str(ers_dkim_state_name(ERS_DKIM_PUBLISHED), "published", "state names: published");
	is_str(ers_dkim_state_name(ERS_DKIM_RETIRED), "retired", "... retired");
	is_str(ers_dkim_state_name((enum ers_dkim_state)42), "unknown", "... and unknown for a stray value");
	ers_dkim_key_free(NULL);
	ers_dkim_key_list_free(NULL);
	ok(1, "the frees accept NULL");
	return done_testing();
}
