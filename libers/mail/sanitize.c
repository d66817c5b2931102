/* The allow-list HTML sanitiser for HTML mail (see sanitize.h for what it
 * keeps) and plain text to HTML.  gumbo parses as a browser would; we walk
 * its tree without recursion and write every tag, attribute and text
 * ourselves, so nothing of the input reaches the output unescaped. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gumbo.h>
#include "ers/mem.h"
#include "ers/sanitize.h"

/* Before gumbo sees the input: its work grows with the square of the
 * nesting depth (10,000 open <div>s take 0.06 s, 100,000 take 30 s), so
 * start tags beyond this estimated depth are left out of what it parses. */
#define PREFILTER_DEPTH 2000

void ers_html_escape(struct ers_buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\0': rep = "\xef\xbf\xbd"; break; /* U+FFFD, as HTML's parser does */
		default: continue;
		}
		ers_buf_add(out, s + start, i - start);
		ers_buf_adds(out, rep);
		start = i + 1;
	}
	ers_buf_add(out, s + start, n - start);
}

static void escape_str(struct ers_buf *out, const char *s)
{
	ers_html_escape(out, s, strlen(s));
}

/* --- the element policy ------------------------------------------------ */

enum action {
	UNWRAP, /* drop the tag, keep what is inside */
	KEEP,   /* write the tag with its allowed attributes */
	VOID,   /* write the tag, it has no content or end tag */
	DROP,   /* drop the tag and all inside it */
};

static enum action classify(GumboTag tag)
{
	switch (tag) {
	case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_SPAN: case GUMBO_TAG_B:
	case GUMBO_TAG_I: case GUMBO_TAG_U: case GUMBO_TAG_S: case GUMBO_TAG_STRIKE:
	case GUMBO_TAG_STRONG: case GUMBO_TAG_EM: case GUMBO_TAG_SMALL: case GUMBO_TAG_BIG:
	case GUMBO_TAG_SUB: case GUMBO_TAG_SUP: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE:
	case GUMBO_TAG_CODE: case GUMBO_TAG_TT: case GUMBO_TAG_KBD: case GUMBO_TAG_SAMP:
	case GUMBO_TAG_VAR: case GUMBO_TAG_CITE: case GUMBO_TAG_Q: case GUMBO_TAG_ABBR:
	case GUMBO_TAG_ADDRESS: case GUMBO_TAG_MARK: case GUMBO_TAG_DEL: case GUMBO_TAG_INS:
	case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_LI: case GUMBO_TAG_DL:
	case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_H1: case GUMBO_TAG_H2:
	case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
	case GUMBO_TAG_TABLE: case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT:
	case GUMBO_TAG_TR: case GUMBO_TAG_TD: case GUMBO_TAG_TH: case GUMBO_TAG_CAPTION:
	case GUMBO_TAG_COLGROUP: case GUMBO_TAG_A: case GUMBO_TAG_FONT: case GUMBO_TAG_CENTER:
	case GUMBO_TAG_ARTICLE: case GUMBO_TAG_SECTION: case GUMBO_TAG_HEADER:
	case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV: case GUMBO_TAG_ASIDE: case GUMBO_TAG_MAIN:
	case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION:
		return KEEP;
	case GUMBO_TAG_BR: case GUMBO_TAG_HR: case GUMBO_TAG_IMG: case GUMBO_TAG_COL:
	case GUMBO_TAG_WBR:
		return VOID;
	case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_IFRAME: case GUMBO_TAG_FRAME:
	case GUMBO_TAG_FRAMESET: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED: case GUMBO_TAG_APPLET:
	case GUMBO_TAG_PARAM: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH: case GUMBO_TAG_TEMPLATE:
	case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_NOEMBED: case GUMBO_TAG_NOFRAMES: case GUMBO_TAG_HEAD:
	case GUMBO_TAG_TITLE: case GUMBO_TAG_META: case GUMBO_TAG_LINK: case GUMBO_TAG_BASE:
	case GUMBO_TAG_INPUT: case GUMBO_TAG_BUTTON: case GUMBO_TAG_SELECT: case GUMBO_TAG_TEXTAREA:
	case GUMBO_TAG_KEYGEN: case GUMBO_TAG_ISINDEX: case GUMBO_TAG_AUDIO: case GUMBO_TAG_VIDEO:
	case GUMBO_TAG_SOURCE: case GUMBO_TAG_TRACK: case GUMBO_TAG_CANVAS: case GUMBO_TAG_MAP:
	case GUMBO_TAG_AREA: case GUMBO_TAG_XMP: case GUMBO_TAG_IMAGE: case GUMBO_TAG_MENUITEM:
	case GUMBO_TAG_DATALIST: case GUMBO_TAG_OUTPUT: case GUMBO_TAG_PROGRESS: case GUMBO_TAG_METER:
		return DROP;
	default: /* html, body, form, label, unknown elements ... */
		return UNWRAP;
	}
}

/* --- attribute values ---------------------------------------------------- */

static bool all_chars(const char *v, const char *set)
{
	return strspn(v, set) == strlen(v);
}

/* 1..5 digits, with `percent` optionally followed by '%'. */
static bool is_number(const char *v, bool percent)
{
	size_t n = strspn(v, "0123456789");
	if (n == 0 || n > 5)
		return false;
	return v[n] == '\0' || (percent && v[n] == '%' && v[n + 1] == '\0');
}

static bool is_word(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (strcasecmp(v, *words) == 0)
			return true;
	return false;
}

/* #rgb .. #rrggbbaa, or a colour name. */
static bool is_color(const char *v)
{
	size_t n = strlen(v);
	if (v[0] == '#')
		return n >= 4 && n <= 9 && all_chars(v + 1, "0123456789abcdefABCDEF");
	return n >= 1 && n <= 24 && all_chars(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

/* rgb(...) / rgba(...) with numbers, commas, dots, percent and spaces only. */
static bool is_rgb(const char *v)
{
	size_t n = strlen(v);
	const char *args;
	if (strncasecmp(v, "rgb(", 4) == 0)
		args = v + 4;
	else if (strncasecmp(v, "rgba(", 5) == 0)
		args = v + 5;
	else
		return false;
	size_t k = strspn(args, "0123456789., %");
	return n <= 40 && k > 0 && args[k] == ')' && args[k + 1] == '\0';
}

static const char *const halign[] = { "left", "right", "center", "justify", NULL };
static const char *const valign_words[] = { "top", "middle", "bottom", "baseline", NULL };
static const char *const dir_words[] = { "ltr", "rtl", "auto", NULL };

/* The CSS we keep: a property and a check of its value. */
static bool css_color(const char *v) { return is_color(v) || is_rgb(v); }
static bool css_weight(const char *v)
{
	static const char *const w[] = { "normal", "bold", "bolder", "lighter", "100", "200", "300", "400",
					 "500", "600", "700", "800", "900", NULL };
	return is_word(v, w);
}
static bool css_style(const char *v)
{
	static const char *const w[] = { "normal", "italic", "oblique", NULL };
	return is_word(v, w);
}
static bool css_decoration(const char *v)
{
	/* One to three of the keywords, separated by single spaces. */
	static const char *const w[] = { "none", "underline", "line-through", "overline", NULL };
	char part[24];
	int count = 0;
	while (*v) {
		size_t n = strcspn(v, " ");
		if (n == 0 || n >= sizeof part || ++count > 3)
			return false;
		memcpy(part, v, n);
		part[n] = '\0';
		if (!is_word(part, w))
			return false;
		v += n;
		if (*v == ' ')
			v++;
	}
	return count > 0;
}
static bool css_align(const char *v)
{
	static const char *const w[] = { "left", "right", "center", "justify", "start", "end", NULL };
	return is_word(v, w);
}

static const struct {
	const char *name;
	bool (*check)(const char *value);
} css_props[] = {
	{ "color", css_color },
	{ "background-color", css_color },
	{ "font-weight", css_weight },
	{ "font-style", css_style },
	{ "text-decoration", css_decoration },
	{ "text-align", css_align },
};

static void trim(char **s, char **end)
{
	while (*s < *end && isspace((unsigned char)**s))
		(*s)++;
	while (*end > *s && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

/* Rewrites a style attribute into `out` ("prop: value; ..."), keeping only
 * the declarations above; false when none is left.  The charsets of the
 * checks leave no room for url(), expression(), escapes or comments. */
static bool filter_style(const char *style, struct ers_buf *out)
{
	if (strlen(style) > 2000)
		return false;
	char *copy = ers_xstrdup(style), *save = NULL;
	for (char *decl = strtok_r(copy, ";", &save); decl; decl = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(decl, ':');
		if (!colon)
			continue;
		char *p = decl, *pe = colon, *v = colon + 1, *ve = v + strlen(v);
		trim(&p, &pe);
		trim(&v, &ve);
		*pe = '\0';
		*ve = '\0';
		/* "!important" is harmless but the one thing besides a value. */
		char *bang = strchr(v, '!');
		if (bang) {
			char *b = bang + 1, *be = b + strlen(b);
			trim(&b, &be);
			*be = '\0';
			if (strcasecmp(b, "important") != 0)
				continue;
			ve = bang;
			trim(&v, &ve);
			*ve = '\0';
		}
		for (size_t i = 0; i < sizeof css_props / sizeof css_props[0]; i++)
			if (strcasecmp(p, css_props[i].name) == 0 && css_props[i].check(v)) {
				ers_buf_addf(out, "%s%s: %s", out->len ? "; " : "", css_props[i].name, v);
				break;
			}
	}
	free(copy);
	return out->len > 0;
}

/* Whether attribute `name` = `value` may stay on element `tag`. */
static bool attr_ok(GumboTag tag, const char *name, const char *value)
{
	if (!strcmp(name, "title"))
		return strlen(value) <= 1000;
	if (!strcmp(name, "lang"))
		return strlen(value) <= 35 && all_chars(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	if (!strcmp(name, "dir"))
		return is_word(value, dir_words);
	if (!strcmp(name, "align"))
		return is_word(value, halign);
	switch (tag) {
	case GUMBO_TAG_TABLE:
		if (!strcmp(name, "border") || !strcmp(name, "cellpadding") || !strcmp(name, "cellspacing"))
			return is_number(value, false);
		if (!strcmp(name, "width"))
			return is_number(value, true);
		return !strcmp(name, "bgcolor") && is_color(value);
	case GUMBO_TAG_TD: case GUMBO_TAG_TH:
		if (!strcmp(name, "colspan") || !strcmp(name, "rowspan"))
			return is_number(value, false);
		if (!strcmp(name, "width") || !strcmp(name, "height"))
			return is_number(value, true);
		if (!strcmp(name, "nowrap"))
			return true;
		/* fall through */
	case GUMBO_TAG_TR: case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT:
		if (!strcmp(name, "valign"))
			return is_word(value, valign_words);
		return !strcmp(name, "bgcolor") && is_color(value);
	case GUMBO_TAG_COL: case GUMBO_TAG_COLGROUP:
		if (!strcmp(name, "span"))
			return is_number(value, false);
		if (!strcmp(name, "width"))
			return is_number(value, true);
		return !strcmp(name, "valign") && is_word(value, valign_words);
	case GUMBO_TAG_FONT:
		if (!strcmp(name, "color"))
			return is_color(value);
		if (!strcmp(name, "size"))
			return strlen(value) <= 2 && all_chars(value, "+-1234567");
		return !strcmp(name, "face") && strlen(value) <= 100 &&
		       all_chars(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,-");
	case GUMBO_TAG_OL:
		if (!strcmp(name, "start"))
			return is_number(value, false);
		return !strcmp(name, "type") && strlen(value) == 1 && strchr("1aAiI", value[0]);
	case GUMBO_TAG_LI:
		return !strcmp(name, "value") && is_number(value, false);
	case GUMBO_TAG_HR:
		return (!strcmp(name, "width") && is_number(value, true)) ||
		       (!strcmp(name, "size") && is_number(value, false)) || !strcmp(name, "noshade");
	case GUMBO_TAG_IMG:
		if (!strcmp(name, "width") || !strcmp(name, "height"))
			return is_number(value, true);
		return !strcmp(name, "border") && is_number(value, false);
	default:
		return false;
	}
}

/* --- URLs ------------------------------------------------------------------ */

/* The URL as a browser would read it: leading and trailing spaces and
 * control characters gone, tabs and newlines inside removed; spaces
 * inside become %20.  False when another control character is left or the
 * result is too long. */
static bool clean_url(const char *in, struct ers_buf *out)
{
	ers_buf_reset(out);
	size_t n = strlen(in);
	while (n > 0 && (unsigned char)in[n - 1] <= 0x20)
		n--;
	size_t i = 0;
	while (i < n && (unsigned char)in[i] <= 0x20)
		i++;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == ' ')
			ers_buf_adds(out, "%20");
		else
			ers_buf_addch(out, (char)c);
	}
	return out->len > 0 && out->len <= 8192;
}

static bool has_scheme(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return strncasecmp(url, scheme, n) == 0;
}

/* A link target we keep: http(s) with a host, or mailto. */
static bool link_ok(const char *url)
{
	if (has_scheme(url, "http://") || has_scheme(url, "https://"))
		return strlen(strchr(url, ':') + 3) > 0;
	return has_scheme(url, "mailto:") && url[7] != '\0';
}

static bool data_image_ok(const char *url, size_t max)
{
	static const char *const types[] = { "data:image/png;base64,", "data:image/gif;base64,",
					     "data:image/jpeg;base64,", "data:image/webp;base64,", NULL };
	for (const char *const *t = types; *t; t++)
		if (has_scheme(url, *t)) {
			const char *b64 = url + strlen(*t);
			size_t n = strlen(b64);
			return n > 0 && n <= max &&
			       all_chars(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
		}
	return false;
}

/* --- the walk -------------------------------------------------------------- */

struct walker {
	const struct ers_sanitize_opts *opts;
	struct ers_buf *out;
	size_t blocked;
	struct ers_buf url, tmp;
};

static const GumboAttribute *attr(const GumboElement *e, const char *name)
{
	return gumbo_get_attribute(&e->attributes, name);
}

/* Writes the attributes of `e` that pass, each value escaped and quoted. */
static void write_attrs(struct walker *w, const GumboElement *e)
{
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		if (a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE)
			continue;
		if (!strcmp(a->name, "style")) {
			ers_buf_reset(&w->tmp);
			if (filter_style(a->value, &w->tmp)) {
				ers_buf_adds(w->out, " style=\"");
				escape_str(w->out, w->tmp.data);
				ers_buf_addch(w->out, '"');
			}
			continue;
		}
		if (!attr_ok(e->tag, a->name, a->value))
			continue;
		/* The name passed the allow-list, so it is one of our words. */
		ers_buf_addf(w->out, " %s=\"", a->name);
		escape_str(w->out, a->value);
		ers_buf_addch(w->out, '"');
	}
}

static void write_alt(struct walker *w, const GumboElement *e, bool blocked)
{
	const GumboAttribute *alt = attr(e, "alt");
	if (!blocked && (!alt || !*alt->value))
		return;
	ers_buf_adds(w->out, blocked ? "<span class=\"ers-blocked-image\">" : "<span>");
	if (alt)
		ers_html_escape(w->out, alt->value, strnlen(alt->value, 1000));
	ers_buf_adds(w->out, "</span>");
}

static void write_img(struct walker *w, const GumboElement *e)
{
	const GumboAttribute *src = attr(e, "src");
	char *mapped = NULL;
	const char *use = NULL;
	if (!src || !clean_url(src->value, &w->url)) {
		write_alt(w, e, false);
		return;
	}
	const char *u = w->url.data;
	if (has_scheme(u, "cid:")) {
		if (w->opts->cid_url) {
			struct ers_buf id = ERS_BUF_INIT;
			ers_buf_adds(&id, u + 4);
			/* "cid:" URLs are percent-encoded Content-IDs (RFC 2392). */
			char *d = id.data, *s = id.data;
			for (; *s; s++, d++) {
				unsigned hi, lo;
				if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
					hi = (unsigned)(isdigit((unsigned char)s[1]) ? s[1] - '0' : (tolower((unsigned char)s[1]) - 'a' + 10));
					lo = (unsigned)(isdigit((unsigned char)s[2]) ? s[2] - '0' : (tolower((unsigned char)s[2]) - 'a' + 10));
					*d = (char)(hi * 16 + lo);
					s += 2;
				} else {
					*d = *s;
				}
			}
			*d = '\0';
			if (*id.data && !memchr(id.data, '\0', (size_t)(d - id.data)))
				mapped = w->opts->cid_url(id.data, w->opts->cid_data);
			ers_buf_free(&id);
		}
		/* The callback's URL is the caller's own; still only http(s),
		 * a path, or a data: image. */
		if (mapped && (link_ok(mapped) || mapped[0] == '/' ||
			       data_image_ok(mapped, SIZE_MAX)))
			use = mapped;
	} else if (has_scheme(u, "data:")) {
		size_t max = w->opts->data_url_max ? w->opts->data_url_max : ERS_SANITIZE_DATA_URL_MAX;
		if (data_image_ok(u, max))
			use = u;
	} else if ((has_scheme(u, "http://") || has_scheme(u, "https://")) && link_ok(u)) {
		if (w->opts->allow_remote_images) {
			use = u;
		} else {
			w->blocked++;
			write_alt(w, e, true);
			return;
		}
	}
	if (!use) {
		free(mapped);
		write_alt(w, e, false);
		return;
	}
	ers_buf_adds(w->out, "<img src=\"");
	escape_str(w->out, use);
	ers_buf_addch(w->out, '"');
	free(mapped);
	const GumboAttribute *alt = attr(e, "alt");
	if (alt) {
		ers_buf_adds(w->out, " alt=\"");
		ers_html_escape(w->out, alt->value, strnlen(alt->value, 1000));
		ers_buf_addch(w->out, '"');
	}
	write_attrs(w, e);
	ers_buf_addch(w->out, '>');
}

/* Writes the start tag of an element to keep; false when it was left out
 * (then its content is still written, without it). */
static bool write_start(struct walker *w, const GumboElement *e)
{
	const char *name = gumbo_normalized_tagname(e->tag);
	if (e->tag == GUMBO_TAG_IMG) {
		write_img(w, e);
		return true;
	}
	ers_buf_addf(w->out, "<%s", name);
	if (e->tag == GUMBO_TAG_A) {
		const GumboAttribute *href = attr(e, "href");
		if (href && clean_url(href->value, &w->url) && link_ok(w->url.data)) {
			ers_buf_adds(w->out, " href=\"");
			escape_str(w->out, w->url.data);
			ers_buf_adds(w->out, "\" rel=\"noopener noreferrer\" target=\"_blank\"");
		}
	}
	write_attrs(w, e);
	ers_buf_addch(w->out, '>');
	return true;
}

struct frame {
	const GumboNode *node;
	unsigned next;
	bool written; /* its start tag was written: write the end tag */
};

static void walk(struct walker *w, const GumboNode *root)
{
	size_t cap = 64, top = 0, kept = 0; /* kept: written elements open */
	struct frame *stack = ers_xmalloc(cap * sizeof *stack);
	stack[0] = (struct frame){ root, 0, false };
	for (;;) {
		struct frame *f = &stack[top];
		const GumboVector *children = f->node->type == GUMBO_NODE_DOCUMENT
			? &f->node->v.document.children : &f->node->v.element.children;
		if (f->next >= children->length) {
			if (f->written) {
				ers_buf_addf(w->out, "</%s>", gumbo_normalized_tagname(f->node->v.element.tag));
				kept--;
			}
			if (top == 0)
				break;
			top--;
			continue;
		}
		const GumboNode *child = children->data[f->next++];
		switch (child->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
			escape_str(w->out, child->v.text.text);
			continue;
		case GUMBO_NODE_ELEMENT:
			break;
		default: /* comments, CDATA (only in SVG and MathML), templates */
			continue;
		}
		const GumboElement *e = &child->v.element;
		if (e->tag_namespace != GUMBO_NAMESPACE_HTML)
			continue;
		enum action act = classify(e->tag);
		if (act == DROP)
			continue;
		if (act == VOID) {
			if (kept < ERS_SANITIZE_MAX_DEPTH || e->tag == GUMBO_TAG_IMG || e->tag == GUMBO_TAG_BR)
				write_start(w, e);
			continue;
		}
		bool written = act == KEEP && kept < ERS_SANITIZE_MAX_DEPTH && write_start(w, e);
		if (written)
			kept++;
		if (++top == cap) {
			cap *= 2;
			stack = ers_xrealloc(stack, cap * sizeof *stack);
		}
		stack[top] = (struct frame){ child, 0, written };
	}
	free(stack);
}

static bool is_void_name(const char *p, size_t n)
{
	static const char *const voids[] = { "br", "img", "hr", "meta", "link", "input", "col", "area",
					     "base", "wbr", "source", "track", "embed", "param", "keygen", NULL };
	for (const char *const *v = voids; *v; v++)
		if (strlen(*v) == n && strncasecmp(p, *v, n) == 0)
			return true;
	return false;
}

/* Copies `html` into `out`, leaving out start tags beyond an estimated
 * nesting depth of PREFILTER_DEPTH (void and self-closing tags do not
 * count; end tags close one).  Crude, and only there to bound gumbo's
 * work: the real depth cap is in walk(). */
static void prefilter(const char *html, size_t len, struct ers_buf *out)
{
	size_t depth = 0, start = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (html[i] != '<')
			continue;
		if (html[i + 1] == '/') {
			if (depth)
				depth--;
			continue;
		}
		if (!isalpha((unsigned char)html[i + 1]))
			continue;
		size_t n = 1;
		while (i + 1 + n < len && isalnum((unsigned char)html[i + 1 + n]))
			n++;
		if (is_void_name(html + i + 1, n))
			continue;
		const char *gt = memchr(html + i, '>', len - i);
		size_t end = gt ? (size_t)(gt - html) + 1 : len;
		if (gt && gt > html + i && gt[-1] == '/')
			continue;
		if (++depth <= PREFILTER_DEPTH)
			continue;
		depth--;
		ers_buf_add(out, html + start, i - start);
		start = end;
		i = end - 1;
	}
	ers_buf_add(out, html + start, len - start);
}

int ers_html_sanitize(const char *html, size_t len, const struct ers_sanitize_opts *opts,
		      struct ers_buf *out, size_t *blocked_images_r, struct ers_error *err)
{
	static const struct ers_sanitize_opts defaults = { 0 };
	if (blocked_images_r)
		*blocked_images_r = 0;
	if (len > ERS_SANITIZE_MAX_INPUT) {
		ers_error_set(err, ERS_E_INVALID, "the HTML part is too large to show: %zu bytes, at most %u",
			      len, ERS_SANITIZE_MAX_INPUT);
		return -1;
	}
	struct ers_buf in = ERS_BUF_INIT;
	prefilter(html, len, &in);
	GumboOptions gopts = kGumboDefaultOptions;
	/* Parse errors are not wanted, and each one would keep a copy of the
	 * stack of open elements: a deep tree costs gigabytes. */
	gopts.max_errors = 0;
	GumboOutput *g = gumbo_parse_with_options(&gopts, in.data, in.len);
	if (!g) {
		ers_buf_free(&in);
		ers_error_set(err, ERS_E_INTERNAL, "the HTML parser (gumbo) failed on a %zu-byte part", len);
		return -1;
	}
	struct walker w = { .opts = opts ? opts : &defaults, .out = out, .url = ERS_BUF_INIT, .tmp = ERS_BUF_INIT };
	walk(&w, g->document);
	gumbo_destroy_output(&gopts, g);
	ers_buf_free(&in);
	ers_buf_free(&w.url);
	ers_buf_free(&w.tmp);
	if (blocked_images_r)
		*blocked_images_r = w.blocked;
	return 0;
}

/* --- plain text ---------------------------------------------------------- */

/* Length of an http(s) URL starting at s (0: none): up to a space, a
 * control character or one of <>"', without trailing punctuation and an
 * unbalanced closing parenthesis. */
static size_t url_len(const char *s, size_t n)
{
	size_t k;
	if (n > 8 && strncasecmp(s, "https://", 8) == 0)
		k = 8;
	else if (n > 7 && strncasecmp(s, "http://", 7) == 0)
		k = 7;
	else
		return 0;
	size_t i = k;
	int parens = 0;
	while (i < n && (unsigned char)s[i] > 0x20 && s[i] != 0x7f && !strchr("<>\"'`", s[i])) {
		if (s[i] == '(')
			parens++;
		else if (s[i] == ')')
			parens--;
		i++;
	}
	while (i > k) {
		char c = s[i - 1];
		if (strchr(".,;:!?*", c)) {
			i--;
		} else if (c == ')' && parens < 0) {
			parens++;
			i--;
		} else {
			break;
		}
	}
	return i > k ? i : 0;
}

void ers_text_to_html(const char *text, size_t len, struct ers_buf *out)
{
	bool line_start = true;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)text[i];
		size_t u;
		if ((c == 'h' || c == 'H') && (i == 0 || !isalnum((unsigned char)text[i - 1])) &&
		    (u = url_len(text + i, len - i)) > 0) {
			ers_buf_adds(out, "<a href=\"");
			ers_html_escape(out, text + i, u);
			ers_buf_adds(out, "\" rel=\"noopener noreferrer\" target=\"_blank\">");
			ers_html_escape(out, text + i, u);
			ers_buf_adds(out, "</a>");
			i += u;
			line_start = false;
			continue;
		}
		if (c == '\n') {
			ers_buf_adds(out, "<br>\n");
			line_start = true;
		} else if (c == ' ') {
			/* A lone space between words stays a space; leading
			 * spaces and runs keep their width. */
			bool next_space = i + 1 < len && text[i + 1] == ' ';
			ers_buf_adds(out, line_start || next_space ? "&nbsp;" : " ");
		} else if (c == '\t') {
			ers_buf_adds(out, "&nbsp;&nbsp;&nbsp;&nbsp;");
		} else if (c < 0x20 || c == 0x7f) {
			/* CR and other control characters: dropped. */
		} else {
			ers_html_escape(out, text + i, 1);
			line_start = false;
		}
		i++;
	}
}
