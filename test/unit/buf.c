/* Unit tests for ers_buf (and the small allocation helpers it rests on):
 * the never-NULL, always-NUL-terminated invariant through every call. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/mem.h"
#include "tap.h"

/* The invariants every ers_buf must keep, checked as one test. */
static bool buf_sane(const struct ers_buf *b)
{
	if (!b->data)
		return false;
	if (b->cap == 0)
		return b->data == ers_buf_empty && b->len == 0 && b->data[0] == '\0';
	return b->len < b->cap && b->data[b->len] == '\0' && strlen(b->data) <= b->len;
}

static void test_init(void)
{
	struct ers_buf a = ERS_BUF_INIT;
	ok(buf_sane(&a), "ERS_BUF_INIT is sane");
	is_str(a.data, "", "ERS_BUF_INIT reads as the empty string");
	is_int(a.len, 0, "ERS_BUF_INIT has len 0");

	struct ers_buf b;
	memset(&b, 0x5a, sizeof b);
	ers_buf_init(&b);
	ok(buf_sane(&b) && b.data == ers_buf_empty, "ers_buf_init points at the shared empty string");

	ers_buf_reset(&b);
	ok(buf_sane(&b), "reset of an unallocated buffer keeps it sane");
	is_int(ers_buf_empty[0], 0, "the shared empty string stays empty");

	ers_buf_free(&b);
	ok(buf_sane(&b), "free of an unallocated buffer is harmless");
	ers_buf_free_secret(&b);
	ok(buf_sane(&b), "free_secret of an unallocated buffer is harmless");
}

static void test_add(void)
{
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_adds(&b, "");
	ok(buf_sane(&b), "adding an empty string keeps it sane");
	is_str(b.data, "", "... and empty");
	is_int(ers_buf_empty[0], 0, "... and never writes to the shared empty string");

	ers_buf_adds(&b, "hello");
	ers_buf_addch(&b, ',');
	ers_buf_addch(&b, ' ');
	ers_buf_add(&b, "world!!!", 5);
	is_str(b.data, "hello, world", "adds + addch + add");
	is_int(b.len, 12, "len counts the bytes");
	ok(buf_sane(&b), "sane after adds");

	/* Embedded NUL bytes are data: len counts them, the NUL at len stays. */
	ers_buf_add(&b, "\0x", 2);
	is_int(b.len, 14, "add with an embedded NUL counts it");
	ok(b.data[12] == '\0' && b.data[13] == 'x' && b.data[14] == '\0',
	   "embedded NUL kept and terminated after it");

	ers_buf_reset(&b);
	ok(buf_sane(&b) && b.len == 0 && b.cap > 0, "reset empties but keeps the allocation");
	is_str(b.data, "", "reset reads as the empty string");
	ers_buf_adds(&b, "again");
	is_str(b.data, "again", "usable after reset");
	ers_buf_free(&b);
	ok(buf_sane(&b) && b.data == ers_buf_empty, "free leaves it initialised");
	ers_buf_adds(&b, "reuse");
	is_str(b.data, "reuse", "usable after free");
	ers_buf_free(&b);
}

static void test_growth(void)
{
	enum { TOTAL = 100000 };
	struct ers_buf b = ERS_BUF_INIT;
	bool sane = true, content = true;
	for (size_t i = 0; i < TOTAL; i++) {
		ers_buf_addch(&b, (char)('a' + i % 26));
		sane &= buf_sane(&b) && b.len == i + 1;
	}
	ok(sane, "sane after each of %d addch", TOTAL);
	is_int(b.len, TOTAL, "len after %d addch", TOTAL);
	is_int(strlen(b.data), TOTAL, "strlen agrees");
	for (size_t i = 0; i < TOTAL; i++)
		content &= b.data[i] == (char)('a' + i % 26);
	ok(content, "every byte where it belongs after growth");
	ers_buf_free(&b);

	/* Appends of odd sizes, across many reallocations. */
	struct ers_buf ref = ERS_BUF_INIT;
	char chunk[1000];
	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (char)('A' + i % 23);
	size_t want = 0;
	sane = true;
	for (size_t n = 0; want < TOTAL; n = (n * 7 + 13) % sizeof chunk) {
		ers_buf_add(&ref, chunk, n);
		want += n;
		sane &= buf_sane(&ref) && ref.len == want;
	}
	ok(sane, "sane after each of many odd-sized add calls (%zu bytes)", want);
	content = true;
	size_t pos = 0;
	for (size_t n = 0; pos < want; n = (n * 7 + 13) % sizeof chunk) {
		content &= memcmp(ref.data + pos, chunk, n) == 0;
		pos += n;
	}
	ok(content, "contents match the chunks appended");
	ers_buf_free(&ref);

	/* addf across growth: many formatted pieces, checked against snprintf. */
	struct ers_buf f = ERS_BUF_INIT;
	sane = content = true;
	size_t flen = 0;
	for (int i = 0; i < 20000; i++) {
		char tmp[64];
		int n = snprintf(tmp, sizeof tmp, "%d:%s;", i, i % 3 ? "x" : "yy");
		ers_buf_addf(&f, "%d:%s;", i, i % 3 ? "x" : "yy");
		content &= memcmp(f.data + flen, tmp, (size_t)n) == 0;
		flen += (size_t)n;
		sane &= buf_sane(&f) && f.len == flen;
	}
	ok(sane, "sane after 20000 addf (%zu bytes)", flen);
	ok(content, "addf output matches snprintf piece by piece");

	ers_buf_reset(&f);
	ers_buf_addf(&f, "%s", "");
	ok(buf_sane(&f) && f.len == 0, "addf of nothing");
	ers_buf_free(&f);

	struct ers_buf g = ERS_BUF_INIT;
	ers_buf_addf(&g, "%s", "");
	ok(buf_sane(&g), "addf of nothing on a fresh buffer keeps it sane");
	is_int(ers_buf_empty[0], 0, "... and leaves the shared empty string alone");
	ers_buf_addf(&g, "%05d|%-3s|%x|%%", 42, "a", 255u);
	is_str(g.data, "00042|a  |ff|%", "addf formats like printf");
	ers_buf_free(&g);

	/* One big formatted piece bigger than any initial capacity. */
	char *big = ers_xmalloc(70000);
	memset(big, 'z', 69999);
	big[69999] = '\0';
	ers_buf_addf(&g, "<%s>", big);
	ok(buf_sane(&g) && g.len == 70001 && g.data[0] == '<' && g.data[70000] == '>',
	   "addf of a 70000-byte piece");
	free(big);
	ers_buf_free(&g);

	struct ers_buf h = ERS_BUF_INIT;
	ers_buf_grow(&h, 1000);
	ok(buf_sane(&h) && h.cap >= 1001 && h.len == 0, "grow reserves room and keeps the string empty");
	size_t cap = h.cap;
	ers_buf_add(&h, chunk, 1000);
	is_int(h.cap, cap, "no reallocation for what grow reserved");
	ers_buf_free(&h);
}

static void test_detach(void)
{
	struct ers_buf b = ERS_BUF_INIT;
	char *s = ers_buf_detach(&b);
	ok(s && s != ers_buf_empty, "detach of an empty buffer gives a fresh allocation");
	is_str(s, "", "... holding the empty string");
	free(s);
	ok(buf_sane(&b), "empty buffer still sane after detach");

	ers_buf_adds(&b, "owned by the caller");
	char *data = b.data;
	s = ers_buf_detach(&b);
	ok(s == data, "detach hands over the buffer itself");
	is_str(s, "owned by the caller", "detached string intact");
	ok(buf_sane(&b) && b.len == 0 && b.cap == 0 && b.data == ers_buf_empty,
	   "detach leaves the buffer empty and initialised");
	ers_buf_adds(&b, "next");
	is_str(b.data, "next", "buffer reusable after detach");
	is_str(s, "owned by the caller", "reuse does not touch the detached string");
	free(s);
	ers_buf_free(&b);
}

static void test_secret(void)
{
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_adds(&b, "hunter2-hunter2-hunter2");
	ers_buf_free_secret(&b);
	ok(buf_sane(&b) && b.data == ers_buf_empty, "free_secret leaves it initialised");

	char raw[16];
	memcpy(raw, "0123456789abcde", 16);
	ers_wipe(raw, sizeof raw);
	bool zero = true;
	for (size_t i = 0; i < sizeof raw; i++)
		zero &= raw[i] == 0;
	ok(zero, "ers_wipe zeroes every byte");
	ers_wipe(NULL, 10);
	ok(1, "ers_wipe(NULL) is harmless");
	ers_free_secret(NULL);
	ok(1, "ers_free_secret(NULL) is harmless");
	ers_free_secret(ers_xstrdup("secret"));
	ok(1, "ers_free_secret frees");
}

static void test_mem(void)
{
	char *s = ers_xstrndup("abcdef", 3);
	is_str(s, "abc", "xstrndup cuts at n");
	free(s);
	s = ers_xstrndup("ab", 10);
	is_str(s, "ab", "xstrndup stops at the NUL");
	free(s);
	s = ers_xstrdup("");
	is_str(s, "", "xstrdup of the empty string");
	free(s);
	unsigned char *z = ers_xcalloc(100, 3);
	bool zero = true;
	for (size_t i = 0; i < 300; i++)
		zero &= z[i] == 0;
	ok(zero, "xcalloc zeroes");
	free(z);
	void *p = ers_xmalloc(0);
	ok(p != NULL, "xmalloc(0) returns a pointer");
	p = ers_xrealloc(p, 0);
	ok(p != NULL, "xrealloc(p, 0) returns a pointer");
	free(p);
}

static void test_utf8(void)
{
	static const struct { unsigned long cp; const char *want; } cases[] = {
		{ 'A', "A" }, { 0xe9, "\xc3\xa9" }, { 0x20ac, "\xe2\x82\xac" }, { 0x1f600, "\xf0\x9f\x98\x80" },
		{ 0, "\xef\xbf\xbd" }, { 0xd800, "\xef\xbf\xbd" }, { 0x110000, "\xef\xbf\xbd" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ers_buf b = ERS_BUF_INIT;
		ers_buf_add_utf8(&b, cases[i].cp);
		is_str(b.data, cases[i].want, "U+%04lX as UTF-8", cases[i].cp);
		ers_buf_free(&b);
	}
}

static void test_base64(void)
{
	/* RFC 4648 section 10's vectors. */
	static const char *const cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ers_buf b = ERS_BUF_INIT;
		ers_buf_adds(&b, ">");
		ers_buf_add_base64(&b, cases[i][0], strlen(cases[i][0]));
		is_str(b.data + 1, cases[i][1], "base64 of \"%s\"", cases[i][0]);
		ers_buf_free(&b);
	}
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_add_base64(&b, "\0user\0p\xc3\xa4ss", 11);
	is_str(b.data, "AHVzZXIAcMOkc3M=", "base64 of bytes with NULs (AUTHENTICATE PLAIN)");
	ers_buf_free(&b);
}

int main(void)
{
	test_init();
	test_add();
	test_growth();
	test_detach();
	test_secret();
	test_mem();
	test_utf8();
	test_base64();
	return done_testing();
}
