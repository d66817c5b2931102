/* The message model of the webmail, on GMime (message.h): headers decoded
 * for display, the best body made safe HTML, the attachments, and the
 * external-sender flag.  GMime does all MIME, charset and RFC 2047/2231
 * work; here are only the choices (which part is the body, what is an
 * attachment) and the bounds on hostile structure. */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>
#include "ers/message.h"
#include "ers/sanitize.h"
#include "mail/internal.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static void gmime_init_once(void)
{
	g_mime_init();
}

void ers_gmime_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

void ers_attachment_name_safe(const char *name, struct ers_buf *out)
{
	size_t start = out->len;
	const char *s = name ? name : "";
	while (*s == '.' || *s == ' ')
		s++;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			ers_buf_addch(out, ' ');
		else if (c == '/' || c == '\\' || c == ':' || c == '"' || c == '<' || c == '>' || c == '|' ||
			 c == '?' || c == '*')
			ers_buf_addch(out, '_');
		else
			ers_buf_addch(out, (char)c);
	}
	/* Capped on a UTF-8 character boundary; trailing spaces and dots go
	 * (Windows drops them, which would change the name). */
	size_t n = out->len - start;
	if (n > ERS_ATTACHMENT_NAME_MAX) {
		n = ERS_ATTACHMENT_NAME_MAX;
		while (n > 0 && ((unsigned char)out->data[start + n] & 0xc0) == 0x80)
			n--;
	}
	while (n > 0 && (out->data[start + n - 1] == ' ' || out->data[start + n - 1] == '.'))
		n--;
	out->len = start + n;
	if (out->cap)
		out->data[out->len] = '\0';
	/* Not valid UTF-8 (a raw 8-bit name): the bytes become '_'. */
	const char *end;
	while (!g_utf8_validate(out->data + start, (gssize)(out->len - start), &end))
		out->data[end - out->data] = '_';
	/* Invisible format characters (the right-to-left override that shows
	 * "invoice\u202Efdp.exe" as "invoiceexe.pdf", zero-width spaces) and C1
	 * controls become '_' too, so the name reads as what it is. */
	if (n > 0) {
		char *copy = g_strndup(out->data + start, out->len - start);
		out->len = start;
		for (const char *p = copy; *p; p = g_utf8_next_char(p)) {
			gunichar u = g_utf8_get_char(p);
			GUnicodeType t = g_unichar_type(u);
			if (t == G_UNICODE_FORMAT || t == G_UNICODE_CONTROL)
				ers_buf_addch(out, '_');
			else
				ers_buf_add(out, p, (size_t)(g_utf8_next_char(p) - p));
		}
		g_free(copy);
	}
	if (n == 0)
		ers_buf_adds(out, "attachment");
}

bool ers_address_in_domains(const char *address, const char *const *domains, size_t n)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	if (!at || !at[1])
		return false;
	size_t dl = strlen(at + 1);
	if (dl && at[dl] == '.') /* a trailing dot */
		dl--;
	for (size_t i = 0; i < n; i++)
		if (domains[i] && strlen(domains[i]) == dl && strncasecmp(at + 1, domains[i], dl) == 0)
			return true;
	return false;
}

/* A display string: valid UTF-8, control characters as spaces. */
static char *display(const char *s)
{
	if (!s)
		return ers_xstrdup("");
	char *v = g_utf8_make_valid(s, -1);
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	char *r = ers_xstrdup(v);
	g_free(v);
	return r;
}

static char *addresses(InternetAddressList *list)
{
	if (!list || internet_address_list_length(list) == 0)
		return ers_xstrdup("");
	char *s = internet_address_list_to_string(list, NULL, FALSE);
	char *r = display(s);
	g_free(s);
	return r;
}

/* --- the walk over the MIME tree ---------------------------------------- */

struct part_ref {
	GMimeObject *obj;
	bool is_inline;
};

struct walk {
	GMimeObject *html, *text;
	struct part_ref *att;
	size_t natt, cap;
	size_t parts;
	bool truncated;
};

static void add_attachment(struct walk *w, GMimeObject *obj, bool is_inline)
{
	if (w->natt == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->att = ers_xrealloc(w->att, w->cap * sizeof *w->att);
	}
	w->att[w->natt++] = (struct part_ref){ obj, is_inline };
}

static bool is_attachment_dsp(GMimeObject *obj)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);
	return d && g_mime_content_disposition_is_attachment(d);
}

static bool type_is(GMimeObject *obj, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	return ct && g_mime_content_type_is_type(ct, type, sub);
}

enum ctx { IN_MIXED, IN_ALTERNATIVE, IN_RELATED_REST };

static void walk(struct walk *w, GMimeObject *obj, int depth, enum ctx ctx)
{
	if (++w->parts > ERS_MESSAGE_MAX_PARTS || depth > ERS_MESSAGE_MAX_DEPTH) {
		w->truncated = true;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		bool alt = type_is(obj, "multipart", "alternative");
		bool related = type_is(obj, "multipart", "related");
		for (int i = 0; i < n; i++) {
			enum ctx c = alt ? IN_ALTERNATIVE : related && i > 0 ? IN_RELATED_REST : IN_MIXED;
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1, c);
		}
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		if (ctx != IN_ALTERNATIVE)
			add_attachment(w, obj, false);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	bool attachment = is_attachment_dsp(obj) || (!GMIME_IS_TEXT_PART(obj) && ctx != IN_RELATED_REST) ||
			  (GMIME_IS_TEXT_PART(obj) && g_mime_part_get_filename(GMIME_PART(obj)) &&
			   !type_is(obj, "text", "html"));
	bool html = type_is(obj, "text", "html"), text = type_is(obj, "text", "plain");
	if (!attachment && (html || text)) {
		if (ctx == IN_ALTERNATIVE) {
			if (html && !w->html)
				w->html = obj;
			else if (text && !w->text)
				w->text = obj;
			return;
		}
		if (!w->html && !w->text) {
			*(html ? &w->html : &w->text) = obj;
			return;
		}
	}
	if (ctx == IN_ALTERNATIVE && !attachment)
		return; /* another form of the body we show */
	bool is_inline = !is_attachment_dsp(obj) && g_mime_object_get_content_id(obj) &&
			 type_is(obj, "image", "*");
	add_attachment(w, obj, is_inline);
}

static size_t decoded_size(GMimeObject *obj)
{
	GMimeStream *null = g_mime_stream_null_new();
	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(obj));
		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, null);
	} else {
		g_mime_object_write_to_stream(obj, NULL, null);
	}
	size_t n = (size_t)GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
	return n;
}

static void attachment_info(GMimeObject *obj, bool is_inline, size_t index, struct ers_attachment *a)
{
	struct ers_buf name = ERS_BUF_INIT;
	if (GMIME_IS_PART(obj)) {
		ers_attachment_name_safe(g_mime_part_get_filename(GMIME_PART(obj)), &name);
	} else {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		ers_attachment_name_safe(inner ? g_mime_message_get_subject(inner) : NULL, &name);
		ers_buf_adds(&name, ".eml");
	}
	if (!strcmp(name.data, "attachment"))
		ers_buf_addf(&name, "-%zu", index + 1);
	a->filename = ers_buf_detach(&name);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mime = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	a->content_type = display(mime ? mime : "application/octet-stream");
	g_free(mime);
	for (char *p = a->content_type; *p; p++)
		*p = (char)g_ascii_tolower(*p);
	const char *cid = g_mime_object_get_content_id(obj);
	a->content_id = cid ? display(cid) : NULL;
	a->size = decoded_size(obj);
	a->is_inline = is_inline;
}

static GMimeMessage *parse_source(const char *src, size_t len, struct ers_error *err)
{
	/* GMime's parser recurses into each multipart: a message of nothing
	 * but nested boundaries would take the stack.  Real mail has a few. */
	size_t boundaries = 0;
	for (const char *p = src; (p = memmem(p, len - (size_t)(p - src), "oundary", 7)); p += 7)
		if (p > src && (p[-1] == 'b' || p[-1] == 'B') && ++boundaries > ERS_MESSAGE_MAX_BOUNDARIES) {
			ers_error_set(err, ERS_E_INVALID,
				      "the message has more than %d multipart boundaries: too deeply nested to show",
				      ERS_MESSAGE_MAX_BOUNDARIES);
			return NULL;
		}
	ers_gmime_init();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(src, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (!msg)
		ers_error_set(err, ERS_E_INVALID, "the message (%zu bytes) is not a readable MIME message", len);
	return msg;
}

struct cid_map {
	const struct ers_message *m;
	const struct ers_message_opts *opts;
};

static char *map_cid(const char *cid, void *data)
{
	struct cid_map *c = data;
	if (!c->opts->attachment_url)
		return NULL;
	for (size_t i = 0; i < c->m->nattachments; i++)
		if (c->m->attachments[i].content_id && strcmp(c->m->attachments[i].content_id, cid) == 0)
			return c->opts->attachment_url(i, c->opts->data);
	return NULL;
}

static int body(struct ers_message *m, const struct walk *w, const struct ers_message_opts *opts,
		struct ers_error *err)
{
	GMimeObject *part = w->html ? w->html : w->text;
	struct ers_buf out = ERS_BUF_INIT;
	int rc = 0;
	if (part && GMIME_IS_TEXT_PART(part)) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		if (!text) /* an unknown charset: show the bytes GMime kept, made valid */
			text = g_strdup("");
		char *valid = g_utf8_make_valid(text, -1);
		g_free(text);
		if (part == w->html) {
			struct cid_map map = { m, opts };
			struct ers_sanitize_opts so = { .allow_remote_images = opts->allow_remote_images,
							.cid_url = map_cid, .cid_data = &map };
			m->body_is_html = true;
			rc = ers_html_sanitize(valid, strlen(valid), &so, &out, &m->blocked_images, err);
		} else {
			ers_text_to_html(valid, strlen(valid), &out);
		}
		g_free(valid);
	}
	m->body_html = out.cap ? ers_buf_detach(&out) : ers_xstrdup("");
	ers_buf_free(&out);
	return rc;
}

int ers_message_parse(const char *src, size_t len, const struct ers_message_opts *opts,
		      struct ers_message **msg_r, struct ers_error *err)
{
	static const struct ers_message_opts defaults = { 0 };
	*msg_r = NULL;
	if (!opts)
		opts = &defaults;
	GMimeMessage *msg = parse_source(src, len, err);
	if (!msg)
		return -1;
	struct ers_message *m = ers_xcalloc(1, sizeof *m);
	m->from = addresses(g_mime_message_get_from(msg));
	m->to = addresses(g_mime_message_get_to(msg));
	m->cc = addresses(g_mime_message_get_cc(msg));
	m->reply_to = addresses(g_mime_message_get_reply_to(msg));
	m->subject = display(g_mime_message_get_subject(msg));
	m->message_id = display(g_mime_message_get_message_id(msg));
	GDateTime *date = g_mime_message_get_date(msg);
	m->date = date ? (long long)g_date_time_to_unix(date) : 0;

	InternetAddressList *from = g_mime_message_get_from(msg);
	const char *addr = NULL;
	for (int i = 0; from && i < internet_address_list_length(from) && !addr; i++) {
		InternetAddress *a = internet_address_list_get_address(from, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a))
			addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
	}
	m->from_address = display(addr);
	/* The warning is about what the reader sees: the From header.  With
	 * no domains to compare with there is no judgement to make. */
	m->external_sender = opts->ninternal > 0 &&
			     !ers_address_in_domains(m->from_address, opts->internal_domains, opts->ninternal);

	struct walk w = { 0 };
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	if (top)
		walk(&w, top, 0, IN_MIXED);
	m->truncated = w.truncated;
	m->attachments = ers_xcalloc(w.natt ? w.natt : 1, sizeof *m->attachments);
	for (size_t i = 0; i < w.natt; i++)
		attachment_info(w.att[i].obj, w.att[i].is_inline, i, &m->attachments[i]);
	m->nattachments = w.natt;
	int rc = body(m, &w, opts, err);
	free(w.att);
	g_object_unref(msg);
	if (rc < 0) {
		ers_message_free(m);
		return -1;
	}
	*msg_r = m;
	return 0;
}

void ers_message_free(struct ers_message *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->reply_to);
	free(m->subject);
	free(m->from_address);
	free(m->message_id);
	free(m->body_html);
	for (size_t i = 0; i < m->nattachments; i++) {
		free(m->attachments[i].filename);
		free(m->attachments[i].content_type);
		free(m->attachments[i].content_id);
	}
	free(m->attachments);
	free(m);
}

int ers_message_attachment(const char *src, size_t len, size_t index, struct ers_buf *data_r,
			   char **name_r, char **type_r, struct ers_error *err)
{
	if (name_r)
		*name_r = NULL;
	if (type_r)
		*type_r = NULL;
	GMimeMessage *msg = parse_source(src, len, err);
	if (!msg)
		return -1;
	struct walk w = { 0 };
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	if (top)
		walk(&w, top, 0, IN_MIXED);
	int rc = 0;
	if (index >= w.natt) {
		ers_error_set(err, ERS_E_NOTFOUND, "the message has no attachment %zu (it has %zu)", index + 1, w.natt);
		rc = -1;
	} else {
		GMimeObject *obj = w.att[index].obj;
		GMimeStream *mem = g_mime_stream_mem_new();
		if (GMIME_IS_PART(obj)) {
			GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(obj));
			if (dw)
				g_mime_data_wrapper_write_to_stream(dw, mem);
		} else {
			/* A forwarded message: its own source. */
			GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
			if (inner)
				g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, mem);
		}
		GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		if (bytes->len)
			ers_buf_add(data_r, bytes->data, bytes->len);
		g_object_unref(mem);
		struct ers_attachment a = { 0 };
		attachment_info(obj, w.att[index].is_inline, index, &a);
		if (name_r)
			*name_r = a.filename;
		else
			free(a.filename);
		if (type_r)
			*type_r = a.content_type;
		else
			free(a.content_type);
		free(a.content_id);
	}
	free(w.att);
	g_object_unref(msg);
	return rc;
}
