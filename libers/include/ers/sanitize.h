/* HTML mail made safe to show: an allow-list sanitiser over gumbo's HTML5
 * parse tree, and plain text turned into HTML.  The output is meant for a
 * sandboxed iframe (no allow-scripts) under a strict CSP; it is safe on its
 * own too: no element or attribute that can run script, load a frame or a
 * style sheet, submit a form or (unless allowed) fetch a remote image.
 *
 * What survives:
 * - elements: text structure (p, div, span, br, hr, headings, lists, quotes,
 *   pre, code, b, i, u, s, strong, em, small, sub, sup, font, center),
 *   tables (table ... td, th, caption, col, colgroup), a and img;
 *   script, style, iframe, object, embed, svg, math, template, noscript,
 *   head, title, meta, link, base, form controls, media go with everything
 *   inside them; any other element is dropped and its content kept;
 * - attributes: per element, each value checked (numbers, colours, a few
 *   keywords); `style` keeps only color, background-color, font-weight,
 *   font-style, text-decoration and text-align with simple values (no
 *   url(), no expression(), no escapes, no comments), rewritten by us;
 * - links: only http, https and mailto (checked after entity decoding with
 *   tabs, newlines and control characters removed, as browsers do); every
 *   link gets rel="noopener noreferrer" target="_blank";
 * - images: cid: through the caller's callback, data:image/{png,gif,jpeg,
 *   webp};base64 up to a size cap, remote (http/https) only when allowed --
 *   otherwise the alt text stays in <span class="ers-blocked-image"> and
 *   the image is counted so that the page can offer "show images".
 * Nesting deeper than ERS_SANITIZE_MAX_DEPTH elements is flattened; input
 * larger than ERS_SANITIZE_MAX_INPUT is refused. */
#ifndef ERS_SANITIZE_H
#define ERS_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "error.h"

#define ERS_SANITIZE_MAX_INPUT (4u << 20)  /* bytes of HTML */
#define ERS_SANITIZE_MAX_DEPTH 100         /* elements nested in the output */
#define ERS_SANITIZE_DATA_URL_MAX (512u << 10)

struct ers_sanitize_opts {
	bool allow_remote_images;
	/* Maps the Content-ID of a cid: image (without "cid:" and without
	 * angle brackets) to a local URL, malloc'd (freed by the sanitiser);
	 * NULL, or no callback: the image is dropped, its alt text kept. */
	char *(*cid_url)(const char *content_id, void *data);
	void *cid_data;
	size_t data_url_max; /* 0: ERS_SANITIZE_DATA_URL_MAX */
};

/* Appends the safe form of `html` (UTF-8, `len` bytes) to `out`; the number
 * of remote images blocked goes to `blocked_images_r` (may be NULL).
 * `opts` NULL: remote images blocked, no cid: callback. */
int ers_html_sanitize(const char *html, size_t len, const struct ers_sanitize_opts *opts,
		      struct ers_buf *out, size_t *blocked_images_r, struct ers_error *err);

/* Appends plain text as HTML: escaped, line breaks as <br>, runs of spaces
 * kept (&nbsp;), control characters dropped, http and https URLs made into
 * links (rel="noopener noreferrer" target="_blank"). */
void ers_text_to_html(const char *text, size_t len, struct ers_buf *out);

/* Appends `s` (n bytes) escaped for HTML text or a double-quoted attribute
 * value: & < > " ' become character references. */
void ers_html_escape(struct ers_buf *out, const char *s, size_t n);

#endif
