/* Allocation wrappers: running out of memory is not an error we can report
 * usefully, so it aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ers/mem.h"

static _Noreturn void out_of_memory(size_t n)
{
	fprintf(stderr, "ers: out of memory allocating %zu bytes\n", n);
	abort();
}

void *ers_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *ers_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory(count * size);
	return p;
}

void *ers_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *ers_xstrdup(const char *s)
{
	return ers_xstrndup(s, strlen(s));
}

char *ers_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = ers_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* explicit_bzero (glibc 2.25+, musl) gives what OPENSSL_cleanse did --
 * a write the compiler may not drop -- and keeps buf.c and mem.c libc-only,
 * so the webmail's front program (web/front.c) links these very files
 * without libcrypto rather than a copy of them. */
void ers_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void ers_free_secret(char *s)
{
	if (!s)
		return;
	ers_wipe(s, strlen(s));
	free(s);
}

void ers_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "ers: BUG at %s:%d: %s\n", file, line, what);
	abort();
}
