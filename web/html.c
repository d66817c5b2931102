/* The template helper: HTML-escaping by default (see html.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ers/mem.h"
#include "html.h"

void html_esc(struct ers_buf *out, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		switch (*s) {
		case '&': ers_buf_adds(out, "&amp;"); break;
		case '<': ers_buf_adds(out, "&lt;"); break;
		case '>': ers_buf_adds(out, "&gt;"); break;
		case '"': ers_buf_adds(out, "&quot;"); break;
		case '\'': ers_buf_adds(out, "&#39;"); break;
		default: ers_buf_addch(out, *s);
		}
	}
}

void url_esc(struct ers_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!s)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			ers_buf_addch(out, (char)*p);
		else {
			ers_buf_addch(out, '%');
			ers_buf_addch(out, hex[*p >> 4]);
			ers_buf_addch(out, hex[*p & 15]);
		}
	}
}

void html(struct ers_buf *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			const char *q = strchr(p, '%');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			ers_buf_add(out, p, n);
			p += n - 1;
			continue;
		}
		p++;
		switch (*p) {
		case 's': html_esc(out, va_arg(ap, const char *)); break;
		case 'r': { const char *s = va_arg(ap, const char *); if (s) ers_buf_adds(out, s); break; }
		case 'u': url_esc(out, va_arg(ap, const char *)); break;
		case 'd': ers_buf_addf(out, "%d", va_arg(ap, int)); break;
		case '%': ers_buf_addch(out, '%'); break;
		case 'z':
			if (p[1] != 'u')
				ERS_BUG("html(): unknown conversion");
			p++;
			ers_buf_addf(out, "%zu", va_arg(ap, size_t));
			break;
		case 'l':
			if (p[1] == 'd') {
				p++;
				ers_buf_addf(out, "%ld", va_arg(ap, long));
			} else if (p[1] == 'l' && p[2] == 'd') {
				p += 2;
				ers_buf_addf(out, "%lld", va_arg(ap, long long));
			} else
				ERS_BUG("html(): unknown conversion");
			break;
		default: ERS_BUG("html(): unknown conversion");
		}
	}
	va_end(ap);
}
