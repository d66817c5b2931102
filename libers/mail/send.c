/* Sending the webmail's mail: SMTP submission with libcurl (compose.h).
 * This is the one place every message of the webmail leaves through:
 * outbound scanning (clamd) and S/MIME signing or encryption plug in here,
 * between ers_mail_build() and ers_mail_submit(), so that no front can
 * send around them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "ers/compose.h"
#include "ers/scan.h"
#include "mail/internal.h"

/* What is uploaded: a header line of the submission's own (or none),
 * then the message as built. */
struct upload {
	const char *head, *data;
	size_t head_len, len, pos;
};

static size_t on_read(char *dst, size_t size, size_t n, void *userdata)
{
	struct upload *u = userdata;
	size_t cap = size * n, k = 0;
	while (k < cap && u->pos < u->head_len + u->len) {
		const char *src = u->pos < u->head_len ? u->head + u->pos : u->data + (u->pos - u->head_len);
		size_t left = u->pos < u->head_len ? u->head_len - u->pos : u->head_len + u->len - u->pos;
		size_t take = left < cap - k ? left : cap - k;
		memcpy(dst + k, src, take);
		k += take;
		u->pos += take;
	}
	return k;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	ers_buf_add(userdata, data, size * n);
	return size * n;
}

/* The server's last reply line of a 4xx or 5xx code, or "". */
static void last_failure(const struct ers_buf *lines, char *dst, size_t cap)
{
	dst[0] = '\0';
	const char *p = lines->data;
	while (*p) {
		size_t n = strcspn(p, "\r\n");
		if (n >= 3 && (p[0] == '4' || p[0] == '5') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9') {
			size_t k = n < cap - 1 ? n : cap - 1;
			for (size_t i = 0; i < k; i++)
				dst[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
			dst[k] = '\0';
		}
		p += n;
		p += strspn(p, "\r\n");
	}
}

/* Submits `m` with the header line `head` (CRLF-ended) before it, or none. */
static int submit(const struct ers_smtp_params *s, const char *head, const struct ers_built_mail *m,
		  struct ers_error *err)
{
	if (!s->host || !*s->host || strpbrk(s->host, "/@?#[] \r\n")) {
		ers_error_set(err, ERS_E_INVALID, "SMTP needs a host name (no '/', '@' or spaces)");
		return -1;
	}
	int port = s->port ? s->port : s->tls == ERS_SMTP_TLS ? 465 : 587;
	CURL *c = curl_easy_init();
	if (!c)
		ERS_BUG("curl_easy_init failed");
	struct ers_buf url = ERS_BUF_INIT, from = ERS_BUF_INIT, lines = ERS_BUF_INIT;
	ers_buf_addf(&url, "%s://%s:%d/", s->tls == ERS_SMTP_TLS ? "smtps" : "smtp", s->host, port);
	ers_buf_addf(&from, "<%s>", m->envelope_from);
	struct curl_slist *rcpt = NULL;
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct ers_buf r = ERS_BUF_INIT;
		ers_buf_addf(&r, "<%s>", m->rcpt[i]);
		rcpt = curl_slist_append(rcpt, r.data);
		ers_buf_free(&r);
	}
	char curl_err[CURL_ERROR_SIZE] = "";
	struct upload u = { head ? head : "", m->data, head ? strlen(head) : 0, m->len, 0 };
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.data);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	if (s->username) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(c, CURLOPT_USE_SSL, s->tls == ERS_SMTP_PLAIN ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(u.head_len + m->len));
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &lines);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, s->timeout_s > 0 ? s->timeout_s : 60L);
	CURLcode cc = curl_easy_perform(c);
	int rc = 0;
	if (cc != CURLE_OK) {
		char reply[300];
		last_failure(&lines, reply, sizeof reply);
		enum ers_error_code code = cc == CURLE_LOGIN_DENIED ? ERS_E_PERMISSION
			: reply[0] == '5' ? ERS_E_INVALID : ERS_E_UNAVAILABLE;
		ers_error_set(err, code, "SMTP submission to %s:%d%s%s failed: %s%s%s", s->host, port,
			      s->username ? " as " : "", s->username ? s->username : "",
			      reply[0] ? "the server answered: " : curl_easy_strerror(cc),
			      reply[0] ? reply : curl_err[0] ? ": " : "", reply[0] ? "" : curl_err);
		rc = -1;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	ers_buf_free(&url);
	ers_buf_free(&from);
	ers_buf_free(&lines);
	return rc;
}

int ers_mail_submit(const struct ers_smtp_params *s, const struct ers_built_mail *m, struct ers_error *err)
{
	return submit(s, NULL, m, err);
}

int ers_mail_send(struct ers_ctx *ctx, const struct ers_smtp_params *smtp, const struct ers_compose *c,
		  struct ers_built_mail **mail_r, struct ers_error *err)
{
	if (!ctx)
		ERS_BUG("ers_mail_send without a context: the scan could not be recorded");
	if (ers_mail_build(c, mail_r, err) < 0)
		return -1;
	/* Scanned from the parts the message was just built of (the scan area
	 * sits below mail: LAYERS): the same items ers_scan_outbound() would
	 * find in it, without parsing it again and decoding every attachment
	 * a second time. */
	const struct ers_built_mail *m = *mail_r;
	struct ers_scan_part *parts = ers_xcalloc(c->nattachments ? c->nattachments : 1, sizeof *parts);
	for (size_t i = 0; i < c->nattachments; i++)
		parts[i] = (struct ers_scan_part){ c->attachments[i].filename, c->attachments[i].content_type,
						   c->attachments[i].data, c->attachments[i].len };
	const char *texts[] = { c->body, c->body_html };
	int scanned = ers_scan_parts(ctx, m->envelope_from, m->message_id, c->subject, texts, 2, parts,
				     c->nattachments, err);
	free(parts);
	if (scanned < 0)
		return -1;
	/* Then the caller's transform (S/MIME): after the scan, which must see
	 * the message before it is encrypted. */
	if (c->transform && c->transform(c->transform_arg, *mail_r, err) < 0)
		return -1;
	/* Marked as scanned for the scan milter on the submission port (which
	 * removes the mark), over the body as it leaves, encrypted or not;
	 * only the submission carries it, not the copy kept in Sent. */
	const struct ers_config *cfg = ctx->cfg;
	char *mark = cfg->scan.enabled && cfg->scan.milter ? ers_scan_pass_mark(cfg, m->data, m->len, time(NULL)) : NULL;
	struct ers_buf head = ERS_BUF_INIT;
	if (mark)
		ers_buf_addf(&head, "%s: %s\r\n", ERS_SCAN_PASS_HEADER, mark);
	int rc = submit(smtp, mark ? head.data : NULL, *mail_r, err);
	free(mark);
	ers_buf_free(&head);
	return rc;
}
