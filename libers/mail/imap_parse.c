/* The parser of IMAP server responses (RFC 3501, with ESEARCH, LIST-STATUS
 * and SPECIAL-USE) for the webmail's client: the bytes libcurl handed over
 * -- untagged lines, their literals, the tagged answer -- become the
 * folders, counts, search results and message summaries of struct
 * ers_imap_result.  Each response is first read into a small tree of
 * tokens (atoms, strings, NIL, lists), then interpreted.  Nothing here
 * trusts a length, a count or a nesting depth the server sends. */
#define _GNU_SOURCE /* timegm */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ers/imap.h"
#include "ers/mem.h"

#define MAX_NEST 64
#define MAX_IDS 1000000
#define MAX_LITERAL (256u << 20)

enum tok_type { T_ATOM, T_STRING, T_NIL, T_LIST };

struct tok {
	enum tok_type type;
	bool bracket;   /* a [...] list: a response code */
	char *s;        /* atoms and strings, NUL-terminated (may hold NULs: see len) */
	size_t len;
	struct tok *items;
	size_t n, cap;
};

struct parser {
	const char *d;
	size_t len, pos;
	struct ers_error *err;
	const char *why;
};

static void tok_clear(struct tok *t)
{
	for (size_t i = 0; i < t->n; i++)
		tok_clear(&t->items[i]);
	free(t->items);
	free(t->s);
	memset(t, 0, sizeof *t);
}

static struct tok *tok_push(struct tok *list)
{
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->items = ers_xrealloc(list->items, list->cap * sizeof *list->items);
	}
	struct tok *t = &list->items[list->n++];
	memset(t, 0, sizeof *t);
	return t;
}

static bool fail(struct parser *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return false;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->d[p->pos] : -1;
}

static bool at_eol(const struct parser *p)
{
	int c = peek(p);
	return c == '\r' || c == '\n' || c == -1;
}

static void skip_eol(struct parser *p)
{
	if (peek(p) == '\r')
		p->pos++;
	if (peek(p) == '\n')
		p->pos++;
}

static void skip_line(struct parser *p)
{
	while (!at_eol(p))
		p->pos++;
	skip_eol(p);
}

static bool atom_char(int c, bool in_bracket)
{
	return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '"' && c != '{' &&
	       !(in_bracket && c == ']');
}

static bool parse_list(struct parser *p, struct tok *list, int close, int depth);

/* Steps over a list nested deeper than MAX_NEST without recursing: its
 * quoted strings and literals are skipped whole, so a ")" in them does not
 * count.  A hostile message's BODYSTRUCTURE (MIME nested 50 deep) thus
 * costs its deepest parts, not the whole answer. */
static bool skip_list(struct parser *p)
{
	size_t depth = 0;
	for (;;) {
		int c = peek(p);
		if (c == -1 || c == '\r' || c == '\n')
			return fail(p, "a list does not end");
		p->pos++;
		if (c == '(' || c == '[') {
			depth++;
		} else if (c == ')' || c == ']') {
			if (--depth == 0)
				return true;
		} else if (c == '"') {
			while ((c = peek(p)) != '"') {
				if (c == -1 || c == '\r' || c == '\n')
					return fail(p, "a quoted string does not end");
				p->pos += c == '\\' && p->pos + 1 < p->len ? 2 : 1;
			}
			p->pos++;
		} else if (c == '{') {
			size_t n = 0, digits = 0;
			while (peek(p) >= '0' && peek(p) <= '9' && digits++ < 10)
				n = n * 10 + (size_t)(peek(p) - '0'), p->pos++;
			if (peek(p) == '+')
				p->pos++;
			if (peek(p) != '}')
				continue; /* not a literal: text */
			p->pos++;
			if (peek(p) == '\r')
				p->pos++;
			if (peek(p) != '\n')
				return fail(p, "a literal's length is not followed by a line end");
			p->pos++;
			if (n > p->len - p->pos)
				return fail(p, "a literal is longer than the data");
			p->pos += n;
		}
	}
}

/* One token at p->pos (spaces before it already skipped). */
static bool parse_tok(struct parser *p, struct tok *t, bool in_bracket, int depth)
{
	int c = peek(p);
	if (c == '(' || c == '[') {
		if (depth >= MAX_NEST) { /* read as an empty list */
			t->type = T_LIST;
			t->bracket = c == '[';
			return skip_list(p);
		}
		p->pos++;
		t->type = T_LIST;
		t->bracket = c == '[';
		return parse_list(p, t, c == '(' ? ')' : ']', depth + 1);
	}
	if (c == '"') {
		struct ers_buf s = ERS_BUF_INIT;
		p->pos++;
		for (;;) {
			c = peek(p);
			if (c == -1 || c == '\r' || c == '\n') {
				ers_buf_free(&s);
				return fail(p, "a quoted string does not end");
			}
			p->pos++;
			if (c == '"')
				break;
			if (c == '\\') {
				c = peek(p);
				if (c != '\\' && c != '"') {
					ers_buf_free(&s);
					return fail(p, "a bad escape in a quoted string");
				}
				p->pos++;
			}
			ers_buf_addch(&s, (char)c);
		}
		t->type = T_STRING;
		t->len = s.len;
		t->s = s.cap ? ers_buf_detach(&s) : ers_xstrdup("");
		return true;
	}
	if (c == '{' || (c == '~' && p->pos + 1 < p->len && p->d[p->pos + 1] == '{')) {
		p->pos += c == '~' ? 2 : 1;
		size_t n = 0, digits = 0;
		while (peek(p) >= '0' && peek(p) <= '9') {
			if (++digits > 10)
				return fail(p, "a literal's length is too long");
			n = n * 10 + (size_t)(peek(p) - '0');
			p->pos++;
		}
		if (digits == 0 || peek(p) != '}')
			return fail(p, "a literal's length is malformed");
		p->pos++;
		if (peek(p) == '\r')
			p->pos++;
		if (peek(p) != '\n')
			return fail(p, "a literal's length is not followed by a line end");
		p->pos++;
		if (n > MAX_LITERAL || n > p->len - p->pos)
			return fail(p, "a literal is longer than the data");
		t->type = T_STRING;
		t->s = ers_xmalloc(n + 1);
		memcpy(t->s, p->d + p->pos, n);
		t->s[n] = '\0';
		t->len = n;
		p->pos += n;
		return true;
	}
	if (!atom_char(c, in_bracket))
		return fail(p, "an unexpected character");
	size_t start = p->pos;
	while (atom_char(peek(p), in_bracket)) {
		/* BODY[HEADER.FIELDS (A B)]<0>: the section is part of the atom. */
		if (peek(p) == '[') {
			while (peek(p) != ']' && !at_eol(p))
				p->pos++;
			if (peek(p) != ']')
				return fail(p, "a section does not end");
		}
		p->pos++;
		if (peek(p) == '<') {
			while (peek(p) != '>' && !at_eol(p))
				p->pos++;
			if (peek(p) == '>')
				p->pos++;
		}
	}
	t->len = p->pos - start;
	t->s = ers_xmalloc(t->len + 1);
	memcpy(t->s, p->d + start, t->len);
	t->s[t->len] = '\0';
	if (memchr(t->s, '\0', t->len))
		return fail(p, "a NUL byte in an atom");
	t->type = t->len == 3 && strncasecmp(t->s, "NIL", 3) == 0 ? T_NIL : T_ATOM;
	return true;
}

static bool parse_list(struct parser *p, struct tok *list, int close, int depth)
{
	for (;;) {
		while (peek(p) == ' ')
			p->pos++;
		int c = peek(p);
		if (c == close) {
			p->pos++;
			return true;
		}
		if (at_eol(p))
			return fail(p, "a list does not end");
		if (!parse_tok(p, tok_push(list), close == ']', depth))
			return false;
	}
}

/* The tokens of the rest of a line, literals included, into `line`. */
static bool parse_line(struct parser *p, struct tok *line)
{
	line->type = T_LIST;
	for (;;) {
		while (peek(p) == ' ')
			p->pos++;
		if (at_eol(p)) {
			skip_eol(p);
			return true;
		}
		if (!parse_tok(p, tok_push(line), false, 0))
			return false;
	}
}

/* --- helpers over tokens --------------------------------------------------- */

static bool is_atom(const struct tok *t, const char *word)
{
	return t && t->type == T_ATOM && strcasecmp(t->s, word) == 0;
}

static bool is_str(const struct tok *t)
{
	return t && (t->type == T_STRING || t->type == T_ATOM);
}

static bool get_u32(const struct tok *t, uint32_t *v)
{
	if (!t || t->type != T_ATOM || t->len == 0 || t->len > 10 || strspn(t->s, "0123456789") != t->len)
		return false;
	unsigned long long x = strtoull(t->s, NULL, 10);
	if (x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static bool get_ll(const struct tok *t, long long *v)
{
	if (!t || t->type != T_ATOM || t->len == 0 || t->len > 18 || strspn(t->s, "0123456789") != t->len)
		return false;
	*v = strtoll(t->s, NULL, 10);
	return true;
}

/* A string token's value (stolen from the token), NULL for NIL; control
 * characters in it become spaces. */
static char *take_nstring(struct tok *t)
{
	if (!t || !is_str(t))
		return NULL;
	char *s = t->s;
	t->s = NULL;
	if (!s)
		return NULL;
	for (size_t i = 0; i < t->len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	return s;
}

/* --- interpretation -------------------------------------------------------- */

static void add_id(struct ers_imap_result *r, uint32_t id)
{
	if (r->nids == r->ids_cap) {
		r->ids_cap = r->ids_cap ? r->ids_cap * 2 : 64;
		r->ids = ers_xrealloc(r->ids, r->ids_cap * sizeof *r->ids);
	}
	r->ids[r->nids++] = id;
}

/* "1:3,7,9:8" expanded into r->ids. */
static bool add_sequence_set(struct ers_imap_result *r, const char *set)
{
	const char *s = set;
	while (*s) {
		char *end;
		if (!isdigit((unsigned char)*s))
			return false;
		unsigned long a = strtoul(s, &end, 10), b = a;
		s = end;
		if (*s == ':') {
			s++;
			if (!isdigit((unsigned char)*s))
				return false;
			b = strtoul(s, &end, 10);
			s = end;
		}
		if (a > UINT32_MAX || b > UINT32_MAX)
			return false;
		if (a > b) {
			unsigned long x = a;
			a = b;
			b = x;
		}
		if (b - a >= MAX_IDS || r->nids + (b - a) >= MAX_IDS)
			return false;
		for (unsigned long i = a; i <= b; i++)
			add_id(r, (uint32_t)i);
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return true;
}

static void set_capabilities(struct ers_imap_result *r, const struct tok *items, size_t from, size_t to)
{
	struct ers_buf b = ERS_BUF_INIT;
	for (size_t i = from; i < to; i++)
		if (items[i].type == T_ATOM) {
			if (b.len)
				ers_buf_addch(&b, ' ');
			for (size_t k = 0; k < items[i].len; k++)
				ers_buf_addch(&b, (char)toupper((unsigned char)items[i].s[k]));
		}
	free(r->capabilities);
	r->capabilities = ers_buf_detach(&b);
}

static struct ers_imap_folder *folder_named(struct ers_imap_result *r, const char *name, bool add)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (strcmp(r->folders[i].name, name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 && strcasecmp(r->folders[i].name, "INBOX") == 0))
			return &r->folders[i];
	if (!add)
		return NULL;
	if (r->nfolders == r->folders_cap) {
		r->folders_cap = r->folders_cap ? r->folders_cap * 2 : 16;
		r->folders = ers_xrealloc(r->folders, r->folders_cap * sizeof *r->folders);
	}
	struct ers_imap_folder *f = &r->folders[r->nfolders++];
	memset(f, 0, sizeof *f);
	f->name = ers_xstrdup(name);
	struct ers_buf d = ERS_BUF_INIT;
	ers_imap_utf7_decode(name, &d);
	f->display = ers_buf_detach(&d);
	f->messages = f->unseen = -1;
	if (strcasecmp(name, "INBOX") == 0)
		f->special = ERS_IMAP_FOLDER_INBOX;
	return f;
}

/* * LIST (\HasNoChildren \Sent) "/" "Sent" [extended data] */
static bool do_list(struct ers_imap_result *r, struct tok *it, size_t n)
{
	if (n < 4 || it[1].type != T_LIST || !(is_str(&it[2]) || it[2].type == T_NIL) || !is_str(&it[3]))
		return false;
	if (memchr(it[3].s, '\0', it[3].len))
		return false;
	struct ers_imap_folder *f = folder_named(r, it[3].s, true);
	f->delimiter = it[2].type == T_NIL || it[2].len != 1 ? '\0' : it[2].s[0];
	static const struct { const char *attr; enum ers_imap_special special; } uses[] = {
		{ "\\Sent", ERS_IMAP_FOLDER_SENT }, { "\\Trash", ERS_IMAP_FOLDER_TRASH },
		{ "\\Drafts", ERS_IMAP_FOLDER_DRAFTS }, { "\\Junk", ERS_IMAP_FOLDER_JUNK },
		{ "\\Archive", ERS_IMAP_FOLDER_ARCHIVE }, { "\\All", ERS_IMAP_FOLDER_ALL },
		{ "\\Flagged", ERS_IMAP_FOLDER_FLAGGED },
	};
	for (size_t i = 0; i < it[1].n; i++) {
		const struct tok *a = &it[1].items[i];
		if (is_atom(a, "\\Noselect") || is_atom(a, "\\NonExistent"))
			f->noselect = true;
		else if (is_atom(a, "\\HasChildren"))
			f->has_children = true;
		else if (f->special != ERS_IMAP_FOLDER_INBOX)
			for (size_t k = 0; k < sizeof uses / sizeof uses[0]; k++)
				if (is_atom(a, uses[k].attr))
					f->special = uses[k].special;
	}
	return true;
}

/* * STATUS "Sent" (MESSAGES 3 UNSEEN 1) */
static bool do_status(struct ers_imap_result *r, struct tok *it, size_t n)
{
	if (n < 3 || !is_str(&it[1]) || it[2].type != T_LIST || memchr(it[1].s, '\0', it[1].len))
		return false;
	struct ers_imap_folder *f = folder_named(r, it[1].s, true);
	const struct tok *l = &it[2];
	for (size_t i = 0; i + 1 < l->n; i += 2) {
		uint32_t v;
		if (!get_u32(&l->items[i + 1], &v))
			return false;
		if (is_atom(&l->items[i], "MESSAGES"))
			f->messages = v;
		else if (is_atom(&l->items[i], "UNSEEN"))
			f->unseen = v;
	}
	return true;
}

/* * ESEARCH (TAG "A5") UID COUNT 3 MIN 1 MAX 9 ALL 1:3,9 */
static bool do_esearch(struct ers_imap_result *r, struct tok *it, size_t n)
{
	r->have_esearch = true;
	size_t i = 1;
	if (i < n && it[i].type == T_LIST)
		i++;
	if (i < n && is_atom(&it[i], "UID"))
		i++;
	for (; i + 1 < n; i += 2) {
		uint32_t v = 0;
		if (is_atom(&it[i], "ALL")) {
			if (it[i + 1].type != T_ATOM || !add_sequence_set(r, it[i + 1].s))
				return false;
			continue;
		}
		if (it[i + 1].type == T_LIST) /* an extension's value, e.g. MODSEQ */
			continue;
		if (!get_u32(&it[i + 1], &v))
			return false;
		if (is_atom(&it[i], "MIN"))
			r->esearch_min = v;
		else if (is_atom(&it[i], "MAX"))
			r->esearch_max = v;
		else if (is_atom(&it[i], "COUNT"))
			r->esearch_count = v;
	}
	return true;
}

static bool addresses(struct tok *t, struct ers_imap_addresses *out)
{
	if (t->type == T_NIL)
		return true;
	if (t->type != T_LIST)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		struct tok *a = &t->items[i];
		if (a->type != T_LIST || a->n != 4)
			return false;
		/* Group start (NIL NIL "group" NIL) and end (NIL NIL NIL NIL):
		 * not addresses. */
		if (a->items[3].type == T_NIL)
			continue;
		out->items = ers_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
		struct ers_imap_address *x = &out->items[out->n++];
		x->name = take_nstring(&a->items[0]);
		x->mailbox = take_nstring(&a->items[2]);
		x->host = take_nstring(&a->items[3]);
	}
	return true;
}

static bool envelope(struct tok *t, struct ers_imap_envelope *e)
{
	if (t->type != T_LIST || t->n < 10)
		return false;
	struct tok *it = t->items;
	e->date = take_nstring(&it[0]);
	e->subject = take_nstring(&it[1]);
	e->in_reply_to = take_nstring(&it[8]);
	e->message_id = take_nstring(&it[9]);
	return addresses(&it[2], &e->from) && addresses(&it[3], &e->sender) && addresses(&it[4], &e->reply_to) &&
	       addresses(&it[5], &e->to) && addresses(&it[6], &e->cc) && addresses(&it[7], &e->bcc);
}

static bool has_param(const struct tok *params, const char *name)
{
	if (!params || params->type != T_LIST)
		return false;
	for (size_t i = 0; i + 1 < params->n; i += 2)
		if (is_str(&params->items[i]) && strcasecmp(params->items[i].s, name) == 0)
			return true;
	return false;
}

/* Whether a BODYSTRUCTURE has a part that is an attachment: disposition
 * "attachment", a forwarded message, or a non-text part with a file name
 * that is not an inline image. */
static bool attachment_in(const struct tok *b, int depth)
{
	if (b->type != T_LIST || b->n == 0 || depth > MAX_NEST)
		return false;
	if (b->items[0].type == T_LIST) { /* multipart: parts, then the subtype */
		for (size_t i = 0; i < b->n && b->items[i].type == T_LIST; i++)
			if (attachment_in(&b->items[i], depth + 1))
				return true;
		return false;
	}
	if (b->n < 7 || !is_str(&b->items[0]) || !is_str(&b->items[1]))
		return false;
	const char *type = b->items[0].s, *sub = b->items[1].s;
	size_t dsp_at = 8;
	if (strcasecmp(type, "text") == 0)
		dsp_at = 9;
	else if (strcasecmp(type, "message") == 0 && (strcasecmp(sub, "rfc822") == 0 || strcasecmp(sub, "global") == 0))
		return true;
	const struct tok *dsp = dsp_at < b->n ? &b->items[dsp_at] : NULL;
	bool inline_dsp = false;
	if (dsp && dsp->type == T_LIST && dsp->n >= 1 && is_str(&dsp->items[0])) {
		if (strcasecmp(dsp->items[0].s, "attachment") == 0)
			return true;
		inline_dsp = strcasecmp(dsp->items[0].s, "inline") == 0;
		if (dsp->n >= 2 && (has_param(&dsp->items[1], "filename") || has_param(&dsp->items[1], "filename*")) &&
		    strcasecmp(type, "text") != 0 && !(inline_dsp && strcasecmp(type, "image") == 0))
			return true;
	}
	if (strcasecmp(type, "application") == 0 || strcasecmp(type, "audio") == 0 || strcasecmp(type, "video") == 0)
		return !inline_dsp || has_param(&b->items[2], "name");
	if (strcasecmp(type, "image") == 0)
		return !inline_dsp && b->items[3].type == T_NIL; /* no Content-ID: not for the HTML */
	return false;
}

/* "17-Jul-1996 02:44:25 -0700" */
static long long internaldate(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, year, h, m, sec, zone;
	char mon[4];
	if (sscanf(s, " %2d-%3s-%4d %2d:%2d:%2d %5d", &day, mon, &year, &h, &m, &sec, &zone) != 7)
		return 0;
	const char *at = strstr(months, mon);
	if (!at || strlen(mon) != 3 || (at - months) % 3)
		return 0;
	struct tm tm = { .tm_mday = day, .tm_mon = (int)(at - months) / 3, .tm_year = year - 1900,
			 .tm_hour = h, .tm_min = m, .tm_sec = sec };
	long long t = (long long)timegm(&tm);
	int sign = zone < 0 ? -1 : 1;
	zone *= sign;
	return t - sign * ((zone / 100) * 3600LL + (zone % 100) * 60LL);
}

static struct ers_imap_message *message_for(struct ers_imap_result *r, uint32_t seq)
{
	if (r->nmsgs > 0 && r->msgs[r->nmsgs - 1].seq == seq)
		return &r->msgs[r->nmsgs - 1];
	if (r->nmsgs == r->msgs_cap) {
		r->msgs_cap = r->msgs_cap ? r->msgs_cap * 2 : 16;
		r->msgs = ers_xrealloc(r->msgs, r->msgs_cap * sizeof *r->msgs);
	}
	struct ers_imap_message *m = &r->msgs[r->nmsgs++];
	memset(m, 0, sizeof *m);
	m->seq = seq;
	m->size = -1;
	return m;
}

/* * 12 FETCH (UID 7 FLAGS (\Seen) ... ) */
static bool do_fetch(struct ers_imap_result *r, uint32_t seq, struct tok *l)
{
	if (l->type != T_LIST)
		return false;
	struct ers_imap_message *m = message_for(r, seq);
	for (size_t i = 0; i + 1 < l->n; i += 2) {
		struct tok *k = &l->items[i], *v = &l->items[i + 1];
		if (k->type != T_ATOM)
			return false;
		if (is_atom(k, "UID")) {
			if (!get_u32(v, &m->uid))
				return false;
		} else if (is_atom(k, "FLAGS")) {
			if (v->type != T_LIST)
				return false;
			static const struct { const char *name; unsigned bit; } fl[] = {
				{ "\\Seen", ERS_IMAP_SEEN }, { "\\Answered", ERS_IMAP_ANSWERED },
				{ "\\Flagged", ERS_IMAP_FLAGGED }, { "\\Deleted", ERS_IMAP_DELETED },
				{ "\\Draft", ERS_IMAP_DRAFT }, { "\\Recent", ERS_IMAP_RECENT },
			};
			m->flags = 0;
			for (size_t f = 0; f < v->n; f++)
				for (size_t x = 0; x < sizeof fl / sizeof fl[0]; x++)
					if (is_atom(&v->items[f], fl[x].name))
						m->flags |= fl[x].bit;
		} else if (is_atom(k, "RFC822.SIZE")) {
			if (!get_ll(v, &m->size))
				return false;
		} else if (is_atom(k, "INTERNALDATE")) {
			if (v->type != T_STRING)
				return false;
			m->internaldate = internaldate(v->s);
		} else if (is_atom(k, "ENVELOPE")) {
			if (m->has_envelope)
				return false;
			m->has_envelope = true;
			if (!envelope(v, &m->envelope))
				return false;
		} else if (is_atom(k, "BODYSTRUCTURE")) {
			m->has_attachments = attachment_in(v, 0);
		} else if (k->len >= 6 && (strncasecmp(k->s, "BODY[]", 6) == 0 || strcasecmp(k->s, "RFC822") == 0 ||
					   strncasecmp(k->s, "BINARY[]", 8) == 0)) {
			if (v->type == T_NIL)
				continue;
			if (v->type != T_STRING || m->body)
				return false;
			m->body = v->s;
			m->body_len = v->len;
			v->s = NULL;
		}
		/* Anything else (MODSEQ, BODY[HEADER], X-...) is not ours. */
	}
	return true;
}

static void copy_line(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	dst[k] = '\0';
}

/* OK/NO/BAD/BYE/PREAUTH [code] text: what the code says we keep. */
static bool do_cond(struct parser *p, struct ers_imap_result *r, const char *word, size_t word_start, bool tagged)
{
	while (peek(p) == ' ')
		p->pos++;
	size_t before = p->pos;
	struct tok code = { 0 };
	if (peek(p) == '[' && !parse_tok(p, &code, false, 0)) {
		/* A code we cannot read is just text. */
		tok_clear(&code);
		p->pos = before;
		p->why = NULL;
	} else if (code.type == T_LIST) {
		uint32_t v;
		if (code.n >= 2 && is_atom(&code.items[0], "UIDVALIDITY") && get_u32(&code.items[1], &v))
			r->uidvalidity = v;
		else if (code.n >= 2 && is_atom(&code.items[0], "UIDNEXT") && get_u32(&code.items[1], &v))
			r->uidnext = v;
		else if (code.n >= 1 && is_atom(&code.items[0], "CAPABILITY"))
			set_capabilities(r, code.items, 1, code.n);
		tok_clear(&code);
	}
	size_t text = p->pos;
	while (!at_eol(p))
		p->pos++;
	/* The first NO or BAD stays: after a failed command libcurl logs
	 * out, and LOGOUT's OK must not hide the answer that mattered. */
	if (tagged && (r->status[0] == '\0' || strcmp(r->status, "OK") == 0)) {
		size_t wl = strnlen(word, sizeof r->status - 1);
		memcpy(r->status, word, wl);
		r->status[wl] = '\0';
		copy_line(r->status_line, sizeof r->status_line, p->d + word_start, p->pos - word_start);
	} else if (strcasecmp(word, "BYE") == 0) {
		copy_line(r->bye, sizeof r->bye, p->d + text, p->pos - text);
	}
	skip_eol(p);
	return true;
}

static bool response(struct parser *p, struct ers_imap_result *r)
{
	if (peek(p) == '+') { /* a continuation request */
		skip_line(p);
		return true;
	}
	bool tagged = peek(p) != '*';
	size_t line_start = p->pos;
	if (!tagged) {
		p->pos++;
		if (peek(p) != ' ')
			return fail(p, "'*' is not followed by a space");
		p->pos++;
	} else {
		while (!at_eol(p) && peek(p) != ' ')
			p->pos++;
		if (peek(p) != ' ')
			return fail(p, "a line is neither untagged nor a tagged answer");
		p->pos++;
	}
	size_t word_start = p->pos;
	while (isalnum((unsigned char)peek(p)) || peek(p) == '.' || peek(p) == '-')
		p->pos++;
	char word[16];
	size_t wl = p->pos - word_start;
	if (wl == 0 || wl >= sizeof word)
		return fail(p, "a response without a known word");
	memcpy(word, p->d + word_start, wl);
	word[wl] = '\0';
	if (!strcasecmp(word, "OK") || !strcasecmp(word, "NO") || !strcasecmp(word, "BAD") ||
	    !strcasecmp(word, "BYE") || !strcasecmp(word, "PREAUTH")) {
		if (tagged && (strcasecmp(word, "BYE") == 0 || strcasecmp(word, "PREAUTH") == 0))
			return fail(p, "a tagged answer is not OK, NO or BAD");
		for (char *c = word; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return do_cond(p, r, word, tagged ? line_start : word_start, tagged);
	}
	if (tagged)
		return fail(p, "a tagged answer is not OK, NO or BAD");
	/* "* 12 EXISTS", "* 3 FETCH (...)": a number first.  Responses we
	 * have no use for (FLAGS, NAMESPACE, ID, QUOTA ...) are skipped. */
	static const char *const known[] = { "LIST", "LSUB", "STATUS", "SEARCH", "ESEARCH", "CAPABILITY", NULL };
	bool wanted = strspn(word, "0123456789") == wl;
	for (const char *const *k = known; *k && !wanted; k++)
		wanted = strcasecmp(word, *k) == 0;
	if (!wanted) {
		skip_line(p);
		return true;
	}
	p->pos = word_start;
	struct tok line = { 0 };
	if (!parse_line(p, &line)) {
		tok_clear(&line);
		return false;
	}
	bool ok = true;
	struct tok *it = line.items;
	uint32_t num;
	if (line.n >= 2 && get_u32(&it[0], &num)) {
		if (is_atom(&it[1], "EXISTS")) {
			r->exists = num;
			r->have_exists = true;
		} else if (is_atom(&it[1], "RECENT")) {
			r->recent = num;
		} else if (is_atom(&it[1], "FETCH")) {
			ok = line.n == 3 && do_fetch(r, num, &it[2]);
		}
	} else if (line.n >= 1 && (is_atom(&it[0], "LIST") || is_atom(&it[0], "LSUB"))) {
		ok = do_list(r, it, line.n);
	} else if (line.n >= 1 && is_atom(&it[0], "STATUS")) {
		ok = do_status(r, it, line.n);
	} else if (line.n >= 1 && is_atom(&it[0], "SEARCH")) {
		for (size_t i = 1; i < line.n && ok; i++) {
			if (it[i].type == T_LIST) /* (MODSEQ n) */
				continue;
			ok = get_u32(&it[i], &num);
			if (ok && r->nids < MAX_IDS)
				add_id(r, num);
		}
	} else if (line.n >= 1 && is_atom(&it[0], "ESEARCH")) {
		ok = do_esearch(r, it, line.n);
	} else if (line.n >= 1 && is_atom(&it[0], "CAPABILITY")) {
		set_capabilities(r, it, 1, line.n);
	}
	tok_clear(&line);
	return ok ? true : fail(p, "a response of an unexpected form");
}

int ers_imap_parse(const char *data, size_t len, struct ers_imap_result *r, struct ers_error *err)
{
	struct parser p = { .d = data, .len = len, .err = err };
	while (p.pos < p.len) {
		size_t start = p.pos;
		if (!response(&p, r)) {
			char near[60];
			size_t n = 0;
			while (start + n < len && n < sizeof near - 1 && data[start + n] != '\r' && data[start + n] != '\n')
				n++;
			copy_line(near, sizeof near, data + start, n);
			ers_error_set(err, ERS_E_INTERNAL, "unreadable IMAP response at byte %zu (%s): %s", p.pos,
				      p.why ? p.why : "malformed", near);
			return -1;
		}
	}
	return 0;
}

static void addresses_free(struct ers_imap_addresses *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->items[i].name);
		free(a->items[i].mailbox);
		free(a->items[i].host);
	}
	free(a->items);
	memset(a, 0, sizeof *a);
}

void ers_imap_message_free(struct ers_imap_message *m)
{
	if (!m)
		return;
	struct ers_imap_envelope *e = &m->envelope;
	free(e->date);
	free(e->subject);
	free(e->in_reply_to);
	free(e->message_id);
	addresses_free(&e->from);
	addresses_free(&e->sender);
	addresses_free(&e->reply_to);
	addresses_free(&e->to);
	addresses_free(&e->cc);
	addresses_free(&e->bcc);
	free(m->body);
	memset(m, 0, sizeof *m);
}

void ers_imap_folder_free(struct ers_imap_folder *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->display);
	memset(f, 0, sizeof *f);
}

void ers_imap_result_free(struct ers_imap_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfolders; i++)
		ers_imap_folder_free(&r->folders[i]);
	for (size_t i = 0; i < r->nmsgs; i++)
		ers_imap_message_free(&r->msgs[i]);
	free(r->folders);
	free(r->msgs);
	free(r->ids);
	free(r->capabilities);
	memset(r, 0, sizeof *r);
}

/* --- names ------------------------------------------------------------------ */

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == ',' ? 63 : -1;
}

bool ers_imap_utf7_decode(const char *name, struct ers_buf *out)
{
	size_t start = out->len;
	for (const char *s = name; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f)
			goto bad;
		if (c != '&') {
			ers_buf_addch(out, (char)c);
			continue;
		}
		s++;
		if (*s == '-') {
			ers_buf_addch(out, '&');
			continue;
		}
		unsigned long bits = 0, high = 0;
		int nbits = 0, units = 0;
		for (; *s && *s != '-'; s++) {
			int v = b64_value((unsigned char)*s);
			if (v < 0)
				goto bad;
			bits = (bits << 6) | (unsigned long)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			unsigned long u = (bits >> nbits) & 0xffff;
			units++;
			if (high) {
				if (u < 0xdc00 || u > 0xdfff)
					goto bad;
				ers_buf_add_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if ((u >= 0xdc00 && u <= 0xdfff) || (u >= 0x20 && u < 0x7f)) {
				goto bad; /* a lone low surrogate; ASCII must not be encoded */
			} else {
				ers_buf_add_utf8(out, u < 0x20 ? 0xfffd : u);
			}
		}
		if (*s != '-' || high || units == 0 || nbits >= 6 || (bits & ((1ul << nbits) - 1)))
			goto bad;
	}
	return true;
bad:
	out->len = start;
	if (out->cap)
		out->data[start] = '\0';
	for (const char *s = name; *s; s++)
		ers_buf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	return false;
}

bool ers_imap_quote(struct ers_buf *out, const char *s)
{
	if (strpbrk(s, "\r\n"))
		return false;
	ers_buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ers_buf_addch(out, '\\');
		ers_buf_addch(out, *s);
	}
	ers_buf_addch(out, '"');
	return true;
}
