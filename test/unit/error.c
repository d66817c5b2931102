/* Unit tests for ers_error: set, prefix, truncation and the code names. */
#include <string.h>
#include "ers/error.h"
#include "tap.h"

static bool terminated(const struct ers_error *err)
{
	return memchr(err->message, '\0', sizeof err->message) != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_set(void)
{
	struct ers_error err;
	memset(&err, 0x5a, sizeof err);
	ers_error_set(&err, ERS_E_INVALID, "quota must be %d..%d MB, got %s", 0, 1048576, "-5");
	is_int(err.code, ERS_E_INVALID, "set stores the code");
	is_str(err.message, "quota must be 0..1048576 MB, got -5", "set formats the message");

	ers_error_set(&err, ERS_E_NOTFOUND, "%s", "");
	is_int(err.code, ERS_E_NOTFOUND, "set replaces the code");
	is_str(err.message, "", "set replaces the message");

	ers_error_clear(&err);
	is_int(err.code, ERS_OK, "clear resets the code");
	is_str(err.message, "", "clear empties the message");

	ers_error_set(NULL, ERS_E_INVALID, "ignored %d", 1);
	ers_error_prefix(NULL, "ignored");
	ers_error_clear(NULL);
	ok(1, "set, prefix and clear accept a NULL error");
}

static void test_prefix(void)
{
	struct ers_error err;
	ers_error_set(&err, ERS_E_CONFLICT, "already exists");
	ers_error_prefix(&err, "tenant \"%s\"", "acme");
	is_str(err.message, "tenant \"acme\": already exists", "prefix puts CONTEXT: in front");
	is_int(err.code, ERS_E_CONFLICT, "prefix keeps the code");
	ers_error_prefix(&err, "imap host");
	is_str(err.message, "imap host: tenant \"acme\": already exists", "prefixes stack");

	ers_error_clear(&err);
	ers_error_prefix(&err, "ctx");
	is_str(err.message, "ctx: ", "prefix of an empty message");
}

static void test_truncation(void)
{
	struct ers_error err;
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';

	/* Exactly fits: no mark. */
	char fits[sizeof err.message];
	memset(fits, 'f', sizeof fits - 1);
	fits[sizeof fits - 1] = '\0';
	ers_error_set(&err, ERS_E_INVALID, "%s", fits);
	ok(terminated(&err), "a message of exactly the capacity is terminated");
	is_int(strlen(err.message), sizeof err.message - 1, "... and kept whole");
	ok(!ends_with(err.message, "..."), "... with no truncation mark");

	/* One byte too many: marked. */
	char over[sizeof err.message + 1];
	memset(over, 'o', sizeof over - 1);
	over[sizeof over - 1] = '\0';
	ers_error_set(&err, ERS_E_INVALID, "%s", over);
	ok(terminated(&err), "a message one byte too long is terminated");
	is_int(strlen(err.message), sizeof err.message - 1, "... and fills the buffer");
	ok(ends_with(err.message, "..."), "... and ends in \"...\"");

	ers_error_set(&err, ERS_E_INVALID, "start %s end", big);
	ok(terminated(&err), "a long message is terminated");
	ok(strncmp(err.message, "start xxx", 9) == 0, "a long message keeps its start");
	ok(ends_with(err.message, "xxx..."), "a long message ends in \"...\"");

	/* Prefix pushing a nearly full message over the edge ("context: " is 9). */
	ers_error_set(&err, ERS_E_INVALID, "%.*s", (int)sizeof err.message - 9, big);
	ok(!ends_with(err.message, "..."), "a message just under the capacity is not marked");
	ers_error_prefix(&err, "context");
	ok(terminated(&err), "prefix over the edge is terminated");
	ok(strncmp(err.message, "context: xxx", 12) == 0, "prefix over the edge keeps the prefix");
	ok(ends_with(err.message, "..."), "prefix over the edge marks the truncation");
	is_int(err.code, ERS_E_INVALID, "prefix over the edge keeps the code");

	/* A prefix that fits exactly is not marked. */
	ers_error_set(&err, ERS_E_INVALID, "%.*s", (int)sizeof err.message - 1 - 5, big);
	ers_error_prefix(&err, "abc");
	is_int(strlen(err.message), sizeof err.message - 1, "a prefix that exactly fills the buffer");
	ok(!ends_with(err.message, "..."), "... is not marked as truncated");

	/* A long prefix (a path, say) is kept whole while it fits... */
	char path[600];
	memset(path, 'p', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	ers_error_set(&err, ERS_E_INVALID, "tail");
	ers_error_prefix(&err, "%s", path);
	is_int(strlen(err.message), strlen(path) + strlen(": tail"), "a 599-byte prefix is kept whole");
	ok(ends_with(err.message, "pp: tail"), "... with the message after it");

	/* ...and one bigger than the whole buffer is marked. */
	ers_error_set(&err, ERS_E_INVALID, "tail");
	ers_error_prefix(&err, "%s", big);
	ok(terminated(&err), "an oversized prefix is terminated");
	ok(ends_with(err.message, "..."), "an oversized prefix is marked as truncated");
}

static void test_code_names(void)
{
	static const struct {
		enum ers_error_code code;
		const char *name;
	} names[] = {
		{ ERS_OK, "ok" },
		{ ERS_E_USAGE, "usage" },
		{ ERS_E_INVALID, "invalid" },
		{ ERS_E_NOTFOUND, "not_found" },
		{ ERS_E_CONFLICT, "conflict" },
		{ ERS_E_PERMISSION, "permission_denied" },
		{ ERS_E_UNAVAILABLE, "unavailable" },
		{ ERS_E_CONFIG, "config" },
		{ ERS_E_INTERNAL, "internal" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		is_str(ers_error_code_name(names[i].code), names[i].name, "code %d is named %s",
		       (int)names[i].code, names[i].name);
	is_int(sizeof names / sizeof names[0], ERS_E_INTERNAL + 1, "every code is listed here");
	bool distinct = true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (size_t j = 0; j < i; j++)
			distinct &= strcmp(ers_error_code_name(names[i].code),
					   ers_error_code_name(names[j].code)) != 0;
	ok(distinct, "code names are distinct");
	is_str(ers_error_code_name((enum ers_error_code)999), "internal", "an unknown code is internal");
}

/* What people typed is echoed in messages; control characters must not be. */
static void test_control_characters(void)
{
	struct ers_error err;
	ers_error_set(&err, ERS_E_INVALID, "domain \"%s\" is bad", "a\x1b[31mb\nc\x7f");
	is_str(err.message, "domain \"a?[31mb?c?\" is bad", "ESC, LF and DEL become '?'");
	ers_error_prefix(&err, "tenant \"%s\"", "x\ty");
	like_str(err.message, "tenant \"x?y\": domain", "a prefix is defanged too");
	ers_error_set(&err, ERS_E_INVALID, "name \"%s\"", "B\xc3\xbc" "cher");
	is_str(err.message, "name \"B\xc3\xbc" "cher\"", "UTF-8 text is left alone");
}

int main(void)
{
	test_control_characters();
	test_set();
	test_prefix();
	test_truncation();
	test_code_names();
	return done_testing();
}
