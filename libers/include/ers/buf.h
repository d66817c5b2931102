/* A growable string.  Invariants (as git's strbuf): `data` is never NULL and
 * always NUL-terminated; `len` bytes are in use; appending never truncates. */
#ifndef ERS_BUF_H
#define ERS_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct ers_buf {
	char *data;
	size_t len;
	size_t cap; /* 0 while data points at the shared empty string */
};

extern char ers_buf_empty[];
#define ERS_BUF_INIT { ers_buf_empty, 0, 0 }

void ers_buf_init(struct ers_buf *b);
void ers_buf_free(struct ers_buf *b);
/* Like free, but overwrites the contents first. */
void ers_buf_free_secret(struct ers_buf *b);
void ers_buf_reset(struct ers_buf *b);
void ers_buf_grow(struct ers_buf *b, size_t extra);
void ers_buf_add(struct ers_buf *b, const void *data, size_t n);
void ers_buf_adds(struct ers_buf *b, const char *s);
void ers_buf_addch(struct ers_buf *b, char c);
/* Appends code point `cp` as UTF-8; NUL, surrogates and values beyond
 * U+10FFFF become U+FFFD. */
void ers_buf_add_utf8(struct ers_buf *b, unsigned long cp);
/* Appends base64 (RFC 4648, padded) of `n` bytes.  Grows `b` once, before
 * writing, so no reallocation leaves a copy of secret bytes behind. */
void ers_buf_add_base64(struct ers_buf *b, const void *data, size_t n);
void ers_buf_addf(struct ers_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ers_buf_vaddf(struct ers_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the string to the caller (who frees it) and leaves `b` empty. */
char *ers_buf_detach(struct ers_buf *b);

#endif
