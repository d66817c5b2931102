/* ers_buf: see buf.h for the invariants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/mem.h"

char ers_buf_empty[1];

void ers_buf_init(struct ers_buf *b)
{
	b->data = ers_buf_empty;
	b->len = 0;
	b->cap = 0;
}

void ers_buf_free(struct ers_buf *b)
{
	if (b->cap)
		free(b->data);
	ers_buf_init(b);
}

void ers_buf_free_secret(struct ers_buf *b)
{
	if (b->cap)
		ers_wipe(b->data, b->cap);
	ers_buf_free(b);
}

void ers_buf_reset(struct ers_buf *b)
{
	b->len = 0;
	/* Never a write to the shared empty string, which threads share (as
	 * git's strbuf_setlen spares strbuf_slopbuf): it stays "" anyway. */
	if (b->cap)
		b->data[0] = '\0';
}

void ers_buf_grow(struct ers_buf *b, size_t extra)
{
	if (extra > (size_t)-1 / 2 - b->len)
		ERS_BUG("ers_buf_grow: size overflow");
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (b->cap) {
		b->data = ers_xrealloc(b->data, cap);
	} else {
		b->data = ers_xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
}

void ers_buf_add(struct ers_buf *b, const void *data, size_t n)
{
	ers_buf_grow(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void ers_buf_adds(struct ers_buf *b, const char *s)
{
	ers_buf_add(b, s, strlen(s));
}

void ers_buf_addch(struct ers_buf *b, char c)
{
	ers_buf_add(b, &c, 1);
}

void ers_buf_add_base64(struct ers_buf *b, const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	ers_buf_grow(b, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
			      i + 2 < n ? tab[v & 63] : '=' };
		ers_buf_add(b, q, 4);
	}
}

void ers_buf_add_utf8(struct ers_buf *b, unsigned long cp)
{
	char u[4];
	size_t n;
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	ers_buf_add(b, u, n);
}

void ers_buf_vaddf(struct ers_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		ERS_BUG("ers_buf_vaddf: bad format");
	ers_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void ers_buf_addf(struct ers_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *ers_buf_detach(struct ers_buf *b)
{
	char *s = b->cap ? b->data : ers_xstrdup("");
	ers_buf_init(b);
	return s;
}
