/* Building the webmail's outgoing message with GMime (compose.h): every
 * header field checked for line breaks, every address checked, Bcc kept
 * out of the headers, Date and Message-ID set, attachments base64 with
 * RFC 2231 names. */
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>
#include "ers/compose.h"
#include "ers/names.h"
#include "mail/internal.h"

static bool has_break(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* local@domain: a dot-atom local part of at most 64 bytes, a domain that
 * ers_domain_normalize accepts (IDN allowed).  The normal form goes to
 * `out`. */
static bool address_ok(const char *addr, struct ers_buf *out)
{
	const char *at = strrchr(addr, '@');
	if (!at || at == addr || (size_t)(at - addr) > 64)
		return false;
	size_t ll = (size_t)(at - addr);
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-.";
	for (size_t i = 0; i < ll; i++) {
		if (!strchr(atext, addr[i]) || addr[i] == '\0')
			return false;
		if (addr[i] == '.' && (i == 0 || i + 1 == ll || addr[i + 1] == '.'))
			return false;
	}
	struct ers_buf dom = ERS_BUF_INIT;
	struct ers_error e;
	bool ok = ers_domain_normalize(at + 1, &dom, &e) == 0;
	if (ok) {
		ers_buf_reset(out);
		ers_buf_add(out, addr, ll + 1);
		ers_buf_adds(out, dom.data);
	}
	ers_buf_free(&dom);
	return ok;
}

struct rcpts {
	char **v;
	size_t n;
};

/* Each comma- or semicolon-separated piece of an address list (outside
 * quotes, <> and comments) is one mailbox or one group that GMime reads
 * whole; else ERS_E_INVALID naming the piece.  `value` with those
 * semicolons made commas goes to `list_r` (g_free it). */
static int pieces_ok(const char *field, const char *value, char **list_r, struct ers_error *err)
{
	*list_r = g_strdup(value);
	const char *start = value;
	bool quoted = false;
	int angle = 0, paren = 0;
	for (const char *p = value;; p++) {
		if (*p && quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (*p == '"')
			quoted = true;
		else if (*p == '<')
			angle++;
		else if (*p == '>' && angle)
			angle--;
		else if (*p == '(')
			paren++;
		else if (*p == ')' && paren)
			paren--;
		if (*p && (*p != ',' && *p != ';' ? true : angle || paren))
			continue;
		size_t len = (size_t)(p - start);
		char *piece = g_strndup(start, len);
		g_strstrip(piece);
		/* A group ("Team: a@x.example, b@x.example;") is refused below. */
		bool group = strchr(piece, ':') && !strchr(piece, '<') && !strchr(piece, '"');
		if (*piece && !group) {
			InternetAddressList *list = internet_address_list_parse(NULL, piece);
			int n = list ? internet_address_list_length(list) : 0;
			if (list)
				g_object_unref(list);
			if (n != 1) {
				ers_error_set(err, ERS_E_INVALID, "%s: \"%.100s\" is not an e-mail address; write it as name@example.com, several separated by commas",
					      field, piece);
				g_free(piece);
				g_free(*list_r);
				*list_r = NULL;
				return -1;
			}
		}
		g_free(piece);
		if (!*p || group)
			return 0;
		if (*p == ';')
			(*list_r)[p - value] = ',';
		start = p + 1;
	}
}

/* Parses one address field, adding each mailbox to the message (unless
 * `type` is Bcc) and to `rcpt`. */
static int add_field(GMimeMessage *msg, GMimeAddressType type, const char *field, const char *value,
		     struct rcpts *rcpt, struct ers_error *err)
{
	if (!value || !*value)
		return 0;
	if (has_break(value)) {
		ers_error_set(err, ERS_E_INVALID, "%s may not contain a line break", field);
		return -1;
	}
	/* GMime's list parser skips what it cannot read ("b@x.example, not an
	 * address" is b alone, so is "b@x.example; c@y.example"): each piece
	 * between commas or semicolons must be read as one address. */
	char *commas;
	if (pieces_ok(field, value, &commas, err) < 0)
		return -1;
	InternetAddressList *list = internet_address_list_parse(NULL, commas);
	g_free(commas);
	int n = list ? internet_address_list_length(list) : 0;
	if (n == 0) {
		if (list)
			g_object_unref(list);
		/* Only separators and spaces: nothing was meant. */
		if (strspn(value, " ,;\t") == strlen(value))
			return 0;
		ers_error_set(err, ERS_E_INVALID, "%s: \"%.100s\" is not an e-mail address (or a list of them); write name@example.com, several separated by commas",
			      field, value);
		return -1;
	}
	int rc = 0;
	struct ers_buf norm = ERS_BUF_INIT;
	for (int i = 0; i < n && rc == 0; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(a)) {
			ers_error_set(err, ERS_E_INVALID, "%s: groups of addresses are not allowed; list each address", field);
			rc = -1;
			break;
		}
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
		if (!addr || !address_ok(addr, &norm)) {
			ers_error_set(err, ERS_E_INVALID, "%s: \"%.100s\" is not an e-mail address; write it as name@example.com",
				      field, addr ? addr : "");
			rc = -1;
			break;
		}
		if (rcpt->n >= ERS_COMPOSE_MAX_RCPT) {
			ers_error_set(err, ERS_E_INVALID, "at most %d recipients (To, Cc and Bcc together)", ERS_COMPOSE_MAX_RCPT);
			rc = -1;
			break;
		}
		rcpt->v = ers_xrealloc(rcpt->v, (rcpt->n + 1) * sizeof *rcpt->v);
		rcpt->v[rcpt->n++] = ers_xstrdup(norm.data);
		if (type != GMIME_ADDRESS_TYPE_BCC)
			g_mime_message_add_mailbox(msg, type, internet_address_get_name(a), norm.data);
	}
	ers_buf_free(&norm);
	g_object_unref(list);
	return rc;
}

static GMimeObject *attachment_part(const struct ers_compose_attachment *a)
{
	const char *type = a->content_type && *a->content_type ? a->content_type : "application/octet-stream";
	GMimeContentType *ct = g_mime_content_type_parse(NULL, type);
	GMimePart *part = g_mime_part_new_with_type(g_mime_content_type_get_media_type(ct),
						    g_mime_content_type_get_media_subtype(ct));
	g_object_unref(ct);
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(a->data, a->len);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(mem, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, dw);
	g_object_unref(dw);
	g_object_unref(mem);
	g_mime_part_set_filename(part, a->filename);
	g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	return GMIME_OBJECT(part);
}

static bool valid_type(const char *t)
{
	if (!t || !*t)
		return true;
	const char *slash = strchr(t, '/');
	static const char token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&-^_.+";
	return slash && slash > t && slash[1] && strspn(t, token) == (size_t)(slash - t) &&
	       strspn(slash + 1, token) == strlen(slash + 1) && strlen(t) <= 127;
}

int ers_mail_build(const struct ers_compose *c, struct ers_built_mail **mail_r, struct ers_error *err)
{
	*mail_r = NULL;
	static const char *const names[] = { "From", "the sender's name", "Subject", "In-Reply-To" };
	const char *values[] = { c->from, c->from_name, c->subject, c->in_reply_to };
	for (size_t i = 0; i < 4; i++)
		if (has_break(values[i])) {
			ers_error_set(err, ERS_E_INVALID, "%s may not contain a line break", names[i]);
			return -1;
		}
	for (size_t i = 0; i < c->nattachments; i++) {
		const struct ers_compose_attachment *a = &c->attachments[i];
		if (!a->filename || !*a->filename || has_break(a->filename) || strlen(a->filename) > 255) {
			ers_error_set(err, ERS_E_INVALID, "attachment %zu needs a file name of 1..255 bytes without line breaks", i + 1);
			return -1;
		}
		if (!valid_type(a->content_type)) {
			ers_error_set(err, ERS_E_INVALID, "attachment %zu (%s): the content type must be type/subtype, got \"%.60s\"",
				      i + 1, a->filename, a->content_type);
			return -1;
		}
	}
	if (c->subject && !g_utf8_validate(c->subject, -1, NULL)) {
		ers_error_set(err, ERS_E_INVALID, "Subject must be UTF-8 text");
		return -1;
	}
	if ((c->body && !g_utf8_validate(c->body, -1, NULL)) || (c->body_html && !g_utf8_validate(c->body_html, -1, NULL))) {
		ers_error_set(err, ERS_E_INVALID, "the message text must be UTF-8");
		return -1;
	}
	struct ers_buf from = ERS_BUF_INIT;
	if (!c->from || !address_ok(c->from, &from)) {
		ers_error_set(err, ERS_E_INVALID, "From: \"%.100s\" is not an e-mail address; write it as name@example.com",
			      c->from ? c->from : "");
		ers_buf_free(&from);
		return -1;
	}
	ers_gmime_init();
	GMimeMessage *msg = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, c->from_name && *c->from_name ? c->from_name : NULL,
				   from.data);
	struct rcpts rcpt = { 0 };
	int rc = 0;
	if (add_field(msg, GMIME_ADDRESS_TYPE_TO, "To", c->to, &rcpt, err) < 0 ||
	    add_field(msg, GMIME_ADDRESS_TYPE_CC, "Cc", c->cc, &rcpt, err) < 0 ||
	    add_field(msg, GMIME_ADDRESS_TYPE_BCC, "Bcc", c->bcc, &rcpt, err) < 0) {
		rc = -1;
	} else if (rcpt.n == 0) {
		ers_error_set(err, ERS_E_INVALID, "the message needs at least one recipient in To, Cc or Bcc");
		rc = -1;
	}
	if (rc < 0) {
		for (size_t i = 0; i < rcpt.n; i++)
			free(rcpt.v[i]);
		free(rcpt.v);
		g_object_unref(msg);
		ers_buf_free(&from);
		return -1;
	}
	g_mime_message_set_subject(msg, c->subject ? c->subject : "", "utf-8");
	GDateTime *now = g_date_time_new_now_utc();
	g_mime_message_set_date(msg, now);
	g_date_time_unref(now);
	char *mid = g_mime_utils_generate_message_id(strrchr(from.data, '@') + 1);
	g_mime_message_set_message_id(msg, mid);
	if (c->in_reply_to && *c->in_reply_to) {
		struct ers_buf irt = ERS_BUF_INIT;
		ers_buf_addf(&irt, "<%s>", c->in_reply_to);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", irt.data, "utf-8");
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", irt.data, "utf-8");
		ers_buf_free(&irt);
	}

	GMimeTextPart *text = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(text, c->body ? c->body : "");
	g_mime_part_set_content_encoding(GMIME_PART(text),
		g_mime_part_get_best_content_encoding(GMIME_PART(text), GMIME_ENCODING_CONSTRAINT_7BIT));
	GMimeObject *body = GMIME_OBJECT(text);
	if (c->body_html) {
		GMimeTextPart *html = g_mime_text_part_new_with_subtype("html");
		g_mime_text_part_set_text(html, c->body_html);
		g_mime_part_set_content_encoding(GMIME_PART(html),
			g_mime_part_get_best_content_encoding(GMIME_PART(html), GMIME_ENCODING_CONSTRAINT_7BIT));
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		g_mime_multipart_add(alt, GMIME_OBJECT(text)); /* least preferred first (RFC 2046 5.1.4) */
		g_mime_multipart_add(alt, GMIME_OBJECT(html));
		g_object_unref(html);
		g_object_unref(text);
		body = GMIME_OBJECT(alt);
	}
	if (c->nattachments == 0) {
		g_mime_message_set_mime_part(msg, body);
	} else {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
		g_mime_multipart_add(mixed, body);
		for (size_t i = 0; i < c->nattachments; i++) {
			GMimeObject *part = attachment_part(&c->attachments[i]);
			g_mime_multipart_add(mixed, part);
			g_object_unref(part);
		}
		g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
		g_object_unref(mixed);
	}
	g_object_unref(body);

	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

	struct ers_built_mail *m = ers_xcalloc(1, sizeof *m);
	m->data = ers_xmalloc(bytes->len + 1);
	if (bytes->len)
		memcpy(m->data, bytes->data, bytes->len);
	m->data[bytes->len] = '\0';
	m->len = bytes->len;
	m->envelope_from = ers_buf_detach(&from);
	m->rcpt = rcpt.v;
	m->nrcpt = rcpt.n;
	m->message_id = ers_xstrdup(mid);
	g_free(mid);
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	*mail_r = m;
	return 0;
}

void ers_built_mail_free(struct ers_built_mail *m)
{
	if (!m)
		return;
	free(m->data);
	free(m->envelope_from);
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	free(m->message_id);
	free(m);
}
