/* libFuzzer target for the HTML sanitiser: whatever the input, the call
 * returns, and the output carries no tag or attribute outside the
 * allow-list (checked by a strict reader of our own serialisation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/sanitize.h"

static const char *const tags[] = {
	"p", "div", "span", "br", "hr", "b", "i", "u", "s", "strike", "strong", "em", "small", "big", "sub",
	"sup", "blockquote", "pre", "code", "tt", "kbd", "samp", "var", "cite", "q", "abbr", "address",
	"mark", "del", "ins", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
	"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "col", "colgroup", "a", "img",
	"font", "center", "article", "section", "header", "footer", "nav", "aside", "main", "figure",
	"figcaption", "wbr", NULL };

static int known(const char *s, size_t n)
{
	for (const char *const *t = tags; *t; t++)
		if (strlen(*t) == n && !memcmp(*t, s, n))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ers_buf out = ERS_BUF_INIT;
	struct ers_error err;
	struct ers_sanitize_opts opts = { .allow_remote_images = size > 0 && (data[0] & 1) };
	if (ers_html_sanitize((const char *)data, size, &opts, &out, NULL, &err) == 0) {
		for (const char *p = out.data; (p = strchr(p, '<')); ) {
			p++;
			if (*p == '/')
				p++;
			size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
			if (!known(p, n))
				abort();
			p += n;
			/* attributes: name="value" with no '<' or '"' in the value */
			while (*p == ' ') {
				const char *eq = strchr(p, '=');
				if (!eq || eq[1] != '"' || strspn(p + 1, "abcdefghijklmnopqrstuvwxyz-") != (size_t)(eq - p - 1))
					abort();
				const char *end = strchr(eq + 2, '"');
				if (!end || memchr(eq + 2, '<', (size_t)(end - eq - 2)))
					abort();
				if (!strncmp(p + 1, "on", 2))
					abort();
				p = end + 1;
			}
			if (*p != '>')
				abort();
		}
	}
	ers_buf_free(&out);
	return 0;
}
