/* The scan before a send (manual 000 "What Gets Scanned").  The webmail's
 * sends are scanned from the parts they are built of (ers_scan_parts);
 * mail from elsewhere (the scan milter) is parsed with GMime
 * (ers_scan_outbound).  Either way its subject and body text become one item
 * and every attachment, decoded from base64 or quoted-printable, another
 * (a nested message is walked: its text and its attachments are items of
 * their own); each item goes to clamd and is recorded in ers.scan.  clamd
 * unpacks archives itself. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>
#include "scan/internal.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static void gmime_init_once(void)
{
	g_mime_init(); /* counted: mail/message.c's call and this one are both fine */
}

struct item {
	char *name;
	const char *kind; /* "body" or "attachment" */
	char *type;
	struct ers_buf data; /* the bytes scanned, unless `view` is set */
	const char *view;    /* the caller's bytes, scanned in place (not copied) */
	size_t view_len;
	struct ers_clamd_verdict v;
};

static const char *item_bytes(const struct item *it, size_t *len)
{
	*len = it->view ? it->view_len : it->data.len;
	return it->view ? it->view : it->data.data;
}

struct walk {
	struct item *items;
	size_t n, cap;
};

static struct item *add_item(struct walk *w, const char *name, const char *kind, const char *type)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->items = ers_xrealloc(w->items, w->cap * sizeof *w->items);
	}
	struct item *it = &w->items[w->n++];
	memset(it, 0, sizeof *it);
	it->name = ers_xstrdup(name);
	it->kind = kind;
	it->type = ers_xstrdup(type ? type : "");
	ers_buf_init(&it->data);
	return it;
}

/* A part's content, decoded from its transfer encoding. */
static void decoded(GMimePart *part, struct ers_buf *out)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	if (!dw)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (ba && ba->len)
		ers_buf_add(out, ba->data, ba->len);
	g_object_unref(mem);
}

static void walk_object(struct walk *w, GMimeObject *obj, const char *prefix, size_t body);
static void walk_message(struct walk *w, GMimeMessage *msg, const char *prefix, const char *text_name);

/* An attached message (`raw`, as attached) named `name`: its items first
 * (they name what is found more closely), then the message whole, for
 * clamd's own mail parser. */
static void walk_attached_message(struct walk *w, const char *name, const char *type, const char *raw, size_t len)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *inner = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(st);
	struct ers_buf sub = ERS_BUF_INIT, text_name = ERS_BUF_INIT;
	ers_buf_addf(&text_name, "%s: message text", name);
	ers_buf_addf(&sub, "%s/", name);
	if (inner) {
		walk_message(w, inner, sub.data, text_name.data);
		g_object_unref(inner);
	}
	struct item *whole = add_item(w, name, "attachment", type);
	ers_buf_add(&whole->data, raw, len);
	ers_buf_free(&text_name);
	ers_buf_free(&sub);
}

/* One message: its subject and text parts go to `text` (created when
 * NULL, named `text_name`), its attachments to items of their own. */
static void walk_message(struct walk *w, GMimeMessage *msg, const char *prefix, const char *text_name)
{
	struct item *text = add_item(w, text_name, "body", "text/plain");
	size_t text_index = w->n - 1;
	const char *subject = g_mime_message_get_subject(msg);
	ers_buf_addf(&text->data, "Subject: %s\r\n\r\n", subject ? subject : "");
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	if (body)
		walk_object(w, body, prefix, text_index);
}

/* `body`: the index of the text item of the message `obj` is in. */
static void walk_object(struct walk *w, GMimeObject *obj, const char *prefix, size_t body)
{
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), prefix, body);
		return;
	}
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		const char *fn = g_mime_object_get_content_disposition_parameter(obj, "filename");
		struct ers_buf name = ERS_BUF_INIT, text_name = ERS_BUF_INIT;
		ers_buf_addf(&name, "%s%s", prefix, fn && *fn ? fn : "attached message");
		ers_buf_addf(&text_name, "%s: message text", name.data);
		if (inner) {
			ers_buf_adds(&name, "/");
			walk_message(w, inner, name.data, text_name.data);
		}
		ers_buf_free(&name);
		ers_buf_free(&text_name);
		g_free(type);
		return;
	}
	if (!GMIME_IS_PART(obj)) {
		g_free(type);
		return;
	}
	GMimePart *part = GMIME_PART(obj);
	const char *fn = g_mime_part_get_filename(part);
	bool is_text = ct && !g_ascii_strcasecmp(g_mime_content_type_get_media_type(ct), "text");
	if (is_text && !g_mime_part_is_attachment(part) && !(fn && *fn)) {
		/* Body text: onto its message's text item. */
		ers_buf_adds(&w->items[body].data, "\r\n");
		decoded(part, &w->items[body].data);
		g_free(type);
		return;
	}
	struct ers_buf name = ERS_BUF_INIT;
	ers_buf_addf(&name, "%s%s", prefix, fn && *fn ? fn : "unnamed attachment");
	struct item *it = add_item(w, name.data, "attachment", type);
	decoded(part, &it->data);
	/* A message attached with a transfer encoding (the webmail base64-
	 * encodes every attachment): GMime leaves it a part; walk it too. */
	if (type && !g_ascii_strcasecmp(type, "message/rfc822") && it->data.len) {
		struct ers_buf raw = it->data;
		ers_buf_init(&it->data);
		w->n--;
		free(it->name);
		free(it->type);
		walk_attached_message(w, name.data, type, raw.data, raw.len);
		ers_buf_free(&raw);
	}
	ers_buf_free(&name);
	g_free(type);
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->items[i].name);
		free(w->items[i].type);
		ers_buf_free(&w->items[i].data);
	}
	free(w->items);
}

static int record(struct ers_ctx *ctx, const char *sender, const char *domain, const char *message_id,
		  const struct item *it, const char *scanner, bool blocked, struct ers_error *err)
{
	size_t len;
	item_bytes(it, &len);
	struct ers_num size = ers_num((long long)len), ms = ers_num(it->v.duration_ms);
	const char *params[] = { sender, domain, message_id ? message_id : "", it->name, it->kind, it->type, size.s,
				 ers_scan_result_name(it->v.result), it->v.signature, it->v.detail, scanner, ms.s,
				 blocked ? "t" : "f" };
	return ers_db_run(ctx,
		"INSERT INTO ers.scan (sender, domain, tenant_id, tenant_name, message_id, item, item_kind, item_type,"
		" item_size, result, signature, detail, scanner, duration_ms, blocked)"
		" SELECT $1, $2, t.id, coalesce(t.name, ''), $3, $4, $5, $6, $7::bigint, $8, $9, $10, $11, $12::int, $13::boolean"
		" FROM (SELECT 1) one LEFT JOIN ers.domain d ON d.name = $2 LEFT JOIN ers.tenant t ON t.id = d.tenant_id",
		13, params, err);
}

/* Scans the items of `w`, records them, and says whether the send may go
 * on (0) or why not (-1); frees `w`. */
static int scan_items(struct ers_ctx *ctx, const char *sender, const char *message_id, struct walk *wp,
		      struct ers_error *err)
{
	const struct ers_config *cfg = ctx->cfg;
	struct walk w = *wp;
	size_t max = (size_t)cfg->scan.max_size_mb * 1024 * 1024;
	bool down = false; /* no answer for an item: the rest are not tried */
	const struct item *infected = NULL, *unavailable = NULL;
	for (size_t i = 0; i < w.n; i++) {
		struct item *it = &w.items[i];
		if (down) {
			it->v.result = ERS_SCAN_UNAVAILABLE;
			snprintf(it->v.detail, sizeof it->v.detail, "not scanned: the scanner did not answer for an earlier item");
		} else {
			size_t len;
			const char *bytes = item_bytes(it, &len);
			ers_clamd_scan(cfg->scan.target, cfg->scan.timeout, max, bytes, len, &it->v);
			if (it->v.result == ERS_SCAN_UNAVAILABLE && len <= max)
				down = true;
		}
		if (it->v.result == ERS_SCAN_INFECTED && !infected)
			infected = it;
		if (it->v.result == ERS_SCAN_UNAVAILABLE && !unavailable)
			unavailable = it;
	}
	bool blocked = infected || (unavailable && cfg->scan.fail_closed);

	const char *at = strrchr(sender, '@');
	struct ers_buf domain = ERS_BUF_INIT;
	ers_buf_adds(&domain, at ? at + 1 : "");
	for (char *p = domain.data; *p; p++)
		*p = (char)g_ascii_tolower(*p);
	char scanner[300];
	snprintf(scanner, sizeof scanner, "clamd %s", cfg->scan.target);
	int rc = -1;
	struct ers_num days = ers_num(cfg->scan.retention_days);
	const char *dparams[] = { days.s };
	/* The records in one transaction, the caller's when it has one. */
	bool own_tx = !ctx->in_tx;
	if (own_tx && ers_db_begin(ctx, err) < 0)
		goto out;
	for (size_t i = 0; i < w.n; i++)
		if (record(ctx, sender, domain.data, message_id, &w.items[i], scanner, blocked, err) < 0) {
			if (own_tx)
				ers_db_rollback(ctx);
			goto out;
		}
	/* Retention: the index on `at` makes this cheap when nothing is due. */
	if (ers_db_run(ctx, "DELETE FROM ers.scan WHERE at < now() - make_interval(days => $1::int)", 1, dparams,
		       err) < 0 ||
	    (own_tx && ers_db_run(ctx, "COMMIT", 0, NULL, err) < 0)) {
		if (own_tx)
			ers_db_rollback(ctx);
		goto out;
	}
	if (own_tx)
		ctx->in_tx = false;
	if (infected) {
		if (!strcmp(infected->kind, "body"))
			ers_error_set(err, ERS_E_INVALID, "The %s contains a virus (%s): the send was blocked.",
				      infected->name, infected->v.signature);
		else
			ers_error_set(err, ERS_E_INVALID, "The attachment \"%s\" contains a virus (%s): the send was blocked.",
				      infected->name, infected->v.signature);
	} else if (blocked) {
		size_t len;
		item_bytes(unavailable, &len);
		bool too_large = len > max;
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "The virus scanner could not check the message (%s%s%s), so it was stopped for safety: "
			      "try again later or contact your administrator.",
			      too_large ? "\"" : "", too_large ? unavailable->name : "the scanner is unavailable",
			      too_large ? "\" is too large to scan" : "");
	} else {
		rc = 0;
	}
out:
	ers_buf_free(&domain);
	walk_free(&w);
	return rc;
}

int ers_scan_outbound(struct ers_ctx *ctx, const char *sender, const char *message, size_t len,
		      const char *message_id, struct ers_error *err)
{
	if (!ctx->cfg->scan.enabled)
		return 0;
	pthread_once(&gmime_once, gmime_init_once);
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(message, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(st);
	struct walk w = { 0 };
	if (msg) {
		walk_message(&w, msg, "", "message text");
		g_object_unref(msg);
	} else {
		/* Not parsable as a message: the whole of it is the one item. */
		struct item *it = add_item(&w, "message text", "body", "message/rfc822");
		ers_buf_add(&it->data, message, len);
	}
	return scan_items(ctx, sender, message_id, &w, err);
}

int ers_scan_parts(struct ers_ctx *ctx, const char *sender, const char *message_id, const char *subject,
		   const char *const *texts, size_t ntexts, const struct ers_scan_part *parts, size_t nparts,
		   struct ers_error *err)
{
	if (!ctx->cfg->scan.enabled)
		return 0;
	pthread_once(&gmime_once, gmime_init_once);
	struct walk w = { 0 };
	/* The same items as ers_scan_outbound() finds in the message built
	 * from these parts: the subject and the texts as one, then each part. */
	struct item *text = add_item(&w, "message text", "body", "text/plain");
	ers_buf_addf(&text->data, "Subject: %s\r\n\r\n", subject ? subject : "");
	for (size_t i = 0; i < ntexts; i++)
		if (texts[i]) {
			ers_buf_adds(&text->data, "\r\n");
			ers_buf_adds(&text->data, texts[i]);
		}
	for (size_t i = 0; i < nparts; i++) {
		const struct ers_scan_part *p = &parts[i];
		const char *name = p->name && *p->name ? p->name : "unnamed attachment";
		const char *type = p->type && *p->type ? p->type : "application/octet-stream";
		if (!g_ascii_strcasecmp(type, "message/rfc822") && p->len) {
			walk_attached_message(&w, name, type, p->data, p->len);
			continue;
		}
		struct item *it = add_item(&w, name, "attachment", type);
		it->view = p->data;
		it->view_len = p->len;
	}
	return scan_items(ctx, sender, message_id, &w, err);
}
