/* Unit tests for password.c: the length bounds (12..511 bytes, nothing
 * truncated), yescrypt hashes and their verification, and generated
 * temporary passwords (format, alphabet, uniqueness, uniform symbols). */
#include <stdlib.h>
#include <string.h>
#include "ers/password.h"
#include "tap.h"

static struct ers_error err;

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* The longest password: ERS_PASSWORD_MAX says 1024, but libxcrypt (and so
 * Dovecot's {CRYPT}) refuses phrases of 512 bytes or more, so 511 is what
 * can be hashed and checked at login.  Change this with password.h. */
enum { MAX = 511 };

static void test_check(void)
{
	static const struct { size_t len; int rc; } bounds[] = {
		{ 0, -1 }, { 11, -1 }, { 12, 0 }, { 13, 0 }, { MAX - 1, 0 }, { MAX, 0 }, { MAX + 1, -1 },
		{ 1023, -1 }, { 1024, -1 }, { 1025, -1 }, { 4096, -1 },
	};
	char allowed[40];
	snprintf(allowed, sizeof allowed, "12 to %d bytes", MAX);
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		char *pw = repeat('x', bounds[i].len);
		ers_error_clear(&err);
		int rc = ers_password_check(pw, &err);
		is_int(rc, bounds[i].rc, "a %zu-byte password is %s", bounds[i].len, bounds[i].rc ? "refused" : "accepted");
		if (bounds[i].rc) {
			is_int(err.code, ERS_E_INVALID, "%zu bytes: ERS_E_INVALID", bounds[i].len);
			char got[40];
			snprintf(got, sizeof got, "got %zu", bounds[i].len);
			like_str(err.message, allowed, "%zu bytes: the message says what is allowed", bounds[i].len);
			like_str(err.message, got, "%zu bytes: ... and what it got", bounds[i].len);
		}
		free(pw);
	}
	ers_error_clear(&err);
	is_int(ers_password_check(NULL, &err), -1, "no password is refused");
	is_int(ers_password_check("twelve bytes\nmore", &err), -1, "a line feed is refused");
	like_str(err.message, "line break", "... saying why");
	is_int(ers_password_check("twelve bytes\rmore", &err), -1, "a carriage return is refused");
	is_int(ers_password_check("spaces and ünïcödé are fine", &err), 0, "spaces and UTF-8 are accepted");
	/* Too long for yescrypt is bad input, not an internal error. */
	struct ers_buf hash = ERS_BUF_INIT;
	for (size_t n = MAX + 1; n <= 1025; n += 1025 - MAX - 1) {
		char *pw = repeat('y', n);
		ers_error_clear(&err);
		is_int(ers_password_hash(pw, &hash, &err), -1, "hashing a %zu-byte password is refused, not truncated", n);
		is_int(err.code, ERS_E_INVALID, "... as invalid input (%s)", err.message);
		free(pw);
	}
	is_int(ers_password_hash("short", &hash, &err), -1, "hashing a 5-byte password is refused");
	ers_buf_free(&hash);
}

static void test_hash_verify(void)
{
	struct ers_buf h1 = ERS_BUF_INIT, h2 = ERS_BUF_INIT;
	const char *pw = "correct horse battery staple";
	is_int(ers_password_hash(pw, &h1, &err), 0, "hash a password");
	ok(!strncmp(h1.data, "$y$", 3), "the hash is yescrypt ($y$...): %s", h1.data);
	unlike_str(h1.data, pw, "the hash does not hold the password");
	is_int(ers_password_hash(pw, &h2, &err), 0, "hash the same password again");
	ok(strcmp(h1.data, h2.data) != 0, "equal passwords hash differently (salted)");
	ok(ers_password_verify(pw, h1.data), "the right password verifies");
	ok(ers_password_verify(pw, h2.data), "... against either hash");
	ok(!ers_password_verify("correct horse battery stapler", h1.data), "a wrong password does not");
	ok(!ers_password_verify("Correct horse battery staple", h1.data), "case matters");
	ok(!ers_password_verify("", h1.data), "an empty password does not");
	ok(!ers_password_verify(NULL, h1.data), "no password does not");

	/* Malformed or foreign hashes: false, never a crash, never a match. */
	char *truncated = strdup(h1.data);
	truncated[strlen(truncated) - 1] = '\0';
	char *bent = strdup(h1.data);
	bent[strlen(bent) - 1] = bent[strlen(bent) - 1] == 'A' ? 'B' : 'A';
	const char *bad[] = { NULL, "", "x", "$", "$y$", "$y$j9T$", "*0", "*", "!", pw, "$y$$$$", "$9$foo$bar", truncated, bent };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(!ers_password_verify(pw, bad[i]), "a malformed hash never verifies: \"%s\"", bad[i] ? bad[i] : "(NULL)");
	free(truncated);
	free(bent);

	/* No truncation: every byte counts, up to the longest (bcrypt would stop
	 * at 72, other schemes at 64 or 256). */
	char *max = repeat('z', MAX);
	is_int(ers_password_hash(max, &h1, &err), 0, "a %d-byte password hashes", MAX);
	ok(ers_password_verify(max, h1.data), "... and verifies");
	max[MAX - 1] = '\0';
	ok(!ers_password_verify(max, h1.data), "its %d-byte prefix does not verify", MAX - 1);
	max[MAX - 1] = 'q';
	ok(!ers_password_verify(max, h1.data), "nor one differing only in its last byte");
	max[0] = 'q';
	max[MAX - 1] = 'z';
	ok(!ers_password_verify(max, h1.data), "nor one differing only in its first byte");
	free(max);
	char *over = repeat('z', 1024);
	ok(!ers_password_verify(over, h1.data), "a 1024-byte password never verifies");
	free(over);
	char *p100 = repeat('w', 100);
	is_int(ers_password_hash(p100, &h1, &err), 0, "a 100-byte password hashes");
	p100[99] = 'v';
	ok(!ers_password_verify(p100, h1.data), "one differing only in byte 100 does not verify");
	p100[72] = '\0';
	ok(!ers_password_verify(p100, h1.data), "nor its first 72 bytes");
	free(p100);
	ers_buf_free(&h1);
	ers_buf_free(&h2);
}

static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";

/* "xxxx-xxxx-...": 7 groups of 4 symbols of the alphabet. */
static bool well_formed(const char *s)
{
	if (strlen(s) != 7 * 4 + 6)
		return false;
	for (size_t i = 0; s[i]; i++) {
		if (i % 5 == 4 ? s[i] != '-' : !strchr(alphabet, s[i]))
			return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A machine key (WEBMAIL_MASTER_PASSWORD): a fast hash when it is long
 * enough to be random, yescrypt when it might be a person's password. */
static void test_hash_key(void)
{
	struct ers_buf h = ERS_BUF_INIT;
	const char *key = "0123456789abcdef0123456789abcdef"; /* ERS_PASSWORD_KEY_MIN characters */
	is_int(ers_password_hash_key(key, &h, &err), 0, "hash a 32-character key");
	ok(!strncmp(h.data, "$6$rounds=1000$", 15), "... SHA512-CRYPT of 1000 rounds: %s", h.data);
	ok(ers_password_verify(key, h.data), "... which the key verifies against");
	ok(!ers_password_verify("0123456789abcdef0123456789abcdeF", h.data), "... and another key does not");
	is_int(ers_password_hash_key("0123456789abcdef0123456789abcde", &h, &err), 0, "hash a 31-character key");
	ok(!strncmp(h.data, "$y$", 3), "... yescrypt, as a person's password: %s", h.data);
	is_int(ers_password_hash_key("short", &h, &err), -1, "a 5-byte key is refused like a password");
	ers_buf_free(&h);
}

static void test_generate(void)
{
	enum { N = 10000 }; /* more than 1000: enough samples to see a small bias */
	ok(strlen(alphabet) == 31 && !strpbrk(alphabet, "0o1li"), "the alphabet has 31 symbols, none of 0 o 1 l i");
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_adds(&b, "stale");
	is_int(ers_password_generate(&b, &err), 0, "generate a password");
	ok(well_formed(b.data), "7 groups of 4 from the alphabet: %s", b.data);
	is_int(ers_password_check(b.data, &err), 0, "a generated password passes the length check");

	char **all = malloc(N * sizeof *all);
	long counts[256] = { 0 };
	int malformed = 0;
	for (int i = 0; i < N; i++) {
		ers_password_generate(&b, &err);
		if (!well_formed(b.data) && malformed++ < 3)
			diag("malformed: %s", b.data);
		for (const char *p = b.data; *p; p++)
			counts[(unsigned char)*p]++;
		all[i] = strdup(b.data);
	}
	is_int(malformed, 0, "all %d generated passwords are well formed", N);
	qsort(all, N, sizeof all[0], cmp_str);
	int dups = 0;
	for (int i = 1; i < N; i++)
		dups += !strcmp(all[i - 1], all[i]);
	is_int(dups, 0, "all %d generated passwords are different", N);
	for (int i = 0; i < N; i++)
		free(all[i]);
	free(all);

	/* Each of the 31 symbols should come 280000/31 ~ 9032 times.  Chi-square
	 * with 30 degrees of freedom has mean 30 and sd 7.7; 120 is beyond
	 * p < 1e-12, so this cannot flake, yet the classic bias (b % 31 over all
	 * 256 byte values, 9/256 for 8 symbols: chi2 ~ 800 here) or a missing
	 * symbol fails it. */
	double expected = N * 28.0 / 31, chi2 = 0;
	long least = N * 28, most = 0;
	for (const char *p = alphabet; *p; p++) {
		long c = counts[(unsigned char)*p];
		chi2 += (c - expected) * (c - expected) / expected;
		least = c < least ? c : least;
		most = c > most ? c : most;
	}
	diag("symbol counts %ld..%ld (expected %.0f each), chi-square %.1f with 30 degrees of freedom", least, most,
	     expected, chi2);
	ok(chi2 < 120, "symbols are roughly uniform (chi-square %.1f < 120)", chi2);
	ok(least > 0, "every symbol occurs");
	ers_buf_free_secret(&b);
}

int main(void)
{
	test_check();
	test_hash_verify();
	test_hash_key();
	test_generate();
	return done_testing();
}
