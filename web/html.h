/* The webmail's output: an HTML template helper that escapes every dynamic
 * value unless told otherwise, and the HTTP response a page builds. */
#ifndef ERS_WEB_HTML_H
#define ERS_WEB_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include "ers/buf.h"

/* Appends `fmt` to `out`.  Conversions: %s a string, HTML-escaped (NULL
 * shows as ""); %r a trusted string (markup this program made) as is;
 * %u a URL query value, percent-encoded; %d int, %ld long, %lld long long,
 * %zu size_t; %% a percent sign.  Anything else is a bug. */
void html(struct ers_buf *out, const char *fmt, ...);

/* Escapes `s` for HTML text or a double-quoted attribute. */
void html_esc(struct ers_buf *out, const char *s);
/* Percent-encodes `s` for a URL query value. */
void url_esc(struct ers_buf *out, const char *s);

#endif
