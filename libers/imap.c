/* The webmail's IMAP client (imap.h) on libcurl.  Every command is a
 * custom request on the server's root URL over ONE curl handle, so the
 * connection, TLS session and login are made once per CGI request, and we
 * SELECT ourselves.  libcurl hands every line the server sends --
 * literals included -- to the header callback; imap_parse.c reads that
 * transcript.  (Its write callback gets only untagged lines and drops a
 * literal's lines, which is why a custom `FETCH 1:* BODY[]` "lost" the
 * bodies: see NOTES-mailstack.md.)  Lines longer than half of libcurl's
 * buffer would be cut, so the buffer is at its maximum (512 KB); a cut
 * literal then fails to parse instead of passing silently. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <gmime/gmime.h>
#include "ers/imap.h"
#include "internal.h"

struct ers_imap {
	CURL *curl;
	char *base;         /* imap://host:port/ */
	char *where;        /* host:port, for errors */
	char *user;         /* for errors; never the password */
	char *password;
	char *selected;     /* the folder SELECTed now, or NULL */
	struct ers_buf lines;
	char curl_err[CURL_ERROR_SIZE];
	bool has_move, has_uidplus, has_list_status;
};

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	ers_buf_add(userdata, data, size * n);
	return size * n;
}

static size_t on_discard(char *data, size_t size, size_t n, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * n;
}

static void note_capabilities(struct ers_imap *im, const struct ers_imap_result *r)
{
	if (!r->capabilities)
		return;
	char *caps = r->capabilities;
	size_t len = strlen(caps);
	struct ers_buf padded = ERS_BUF_INIT;
	ers_buf_addf(&padded, " %.*s ", (int)len, caps);
	im->has_move = strstr(padded.data, " MOVE ") != NULL;
	im->has_uidplus = strstr(padded.data, " UIDPLUS ") != NULL;
	im->has_list_status = strstr(padded.data, " LIST-STATUS ") != NULL;
	ers_buf_free(&padded);
}

/* Runs a curl transfer already set up and reads what the server said. */
static int perform(struct ers_imap *im, const char *what, struct ers_imap_result *r, struct ers_error *err)
{
	ers_buf_reset(&im->lines);
	im->curl_err[0] = '\0';
	CURLcode cc = curl_easy_perform(im->curl);
	/* A new connection (libcurl closes one after a failed command) has
	 * nothing selected; neither has one after any failure, to be safe. */
	long connects = 0;
	curl_easy_getinfo(im->curl, CURLINFO_NUM_CONNECTS, &connects);
	if (connects > 0 || cc != CURLE_OK) {
		free(im->selected);
		im->selected = NULL;
	}
	struct ers_error perr;
	int prc = ers_imap_parse(im->lines.data, im->lines.len, r, &perr);
	note_capabilities(im, r);
	if (cc == CURLE_LOGIN_DENIED) {
		ers_error_set(err, ERS_E_PERMISSION, "IMAP login as %s at %s refused: %s", im->user, im->where,
			      r->status_line[0] ? r->status_line : "authentication failed");
		return -1;
	}
	if (cc != CURLE_OK && cc != CURLE_QUOTE_ERROR) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "IMAP %s at %s: %s%s%s", what, im->where, curl_easy_strerror(cc),
			      im->curl_err[0] ? ": " : "", im->curl_err);
		return -1;
	}
	if (cc == CURLE_QUOTE_ERROR || strcmp(r->status, "OK") != 0) {
		/* A NO with [NONEXISTENT] or about a missing message is not found. */
		bool missing = strstr(r->status_line, "[NONEXISTENT]") || strstr(r->status_line, "[TRYCREATE]");
		ers_error_set(err, missing ? ERS_E_NOTFOUND : ERS_E_INVALID, "IMAP %s at %s: the server answered: %s",
			      what, im->where, r->status_line[0] ? r->status_line : "(no answer)");
		return -1;
	}
	if (prc < 0) {
		ers_error_set(err, ERS_E_INTERNAL, "IMAP %s at %s: %s", what, im->where, perr.message);
		return -1;
	}
	return 0;
}

int ers_imap_command(struct ers_imap *im, const char *command, struct ers_imap_result *r, struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	if (strpbrk(command, "\r\n")) {
		ers_error_set(err, ERS_E_INVALID, "an IMAP command may not contain a line break");
		return -1;
	}
	curl_easy_setopt(im->curl, CURLOPT_URL, im->base);
	curl_easy_setopt(im->curl, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(im->curl, CURLOPT_CUSTOMREQUEST, command);
	/* The command word(s) name it in errors, never its arguments'
	 * contents beyond 60 bytes. */
	char what[64];
	snprintf(what, sizeof what, "%.60s", command);
	return perform(im, what, r, err);
}

int ers_imap_open(const struct ers_imap_params *p, struct ers_imap **im_r, struct ers_error *err)
{
	*im_r = NULL;
	if (!p->host || !*p->host || strpbrk(p->host, "/@?#[] \r\n") || !p->username || !p->password) {
		ers_error_set(err, ERS_E_INVALID, "IMAP needs a host name (no '/', '@' or spaces), a user name and a password");
		return -1;
	}
	int port = p->port ? p->port : p->tls == ERS_IMAP_TLS ? 993 : 143;
	if (port < 1 || port > 65535) {
		ers_error_set(err, ERS_E_INVALID, "IMAP port must be 1..65535, got %d", port);
		return -1;
	}
	struct ers_imap *im = ers_xcalloc(1, sizeof *im);
	ers_buf_init(&im->lines);
	im->curl = curl_easy_init();
	if (!im->curl)
		ERS_BUG("curl_easy_init failed");
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_addf(&b, "%s://%s:%d/", p->tls == ERS_IMAP_TLS ? "imaps" : "imap", p->host, port);
	im->base = ers_buf_detach(&b);
	ers_buf_addf(&b, "%s:%d", p->host, port);
	im->where = ers_buf_detach(&b);
	im->user = ers_xstrdup(p->username);
	im->password = ers_xstrdup(p->password);
	CURL *c = im->curl;
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_USERNAME, im->user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, im->password);
	curl_easy_setopt(c, CURLOPT_USE_SSL, p->tls == ERS_IMAP_PLAIN ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (p->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &im->lines);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, im->curl_err);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)CURL_MAX_READ_SIZE);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, p->timeout_s > 0 ? p->timeout_s : 30L);
	struct ers_imap_result r;
	int rc = ers_imap_command(im, "NOOP", &r, err);
	ers_imap_result_free(&r);
	if (rc < 0) {
		ers_imap_close(im);
		return -1;
	}
	/* The post-login capabilities come with the login's answer; a server
	 * that sent none gets asked. */
	if (!im->has_move && !im->has_uidplus) {
		if (ers_imap_command(im, "CAPABILITY", &r, err) < 0) {
			ers_imap_result_free(&r);
			ers_imap_close(im);
			return -1;
		}
		ers_imap_result_free(&r);
	}
	*im_r = im;
	return 0;
}

void ers_imap_close(struct ers_imap *im)
{
	if (!im)
		return;
	curl_easy_cleanup(im->curl); /* sends LOGOUT on a live connection */
	free(im->base);
	free(im->where);
	free(im->user);
	ers_free_secret(im->password);
	free(im->selected);
	ers_buf_free(&im->lines);
	free(im);
}

/* SELECT `folder` unless it is selected already; r gets SELECT's data. */
static int select_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, bool force,
			 struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	if (!force && im->selected && strcmp(im->selected, folder) == 0)
		return 0;
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "SELECT ");
	if (!ers_imap_quote(&cmd, folder)) {
		ers_buf_free(&cmd);
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	free(im->selected);
	im->selected = NULL;
	int rc = ers_imap_command(im, cmd.data, r, err);
	ers_buf_free(&cmd);
	if (rc == 0)
		im->selected = ers_xstrdup(folder);
	return rc;
}

/* Runs `fmt` in `folder` (selected first). */
static int in_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, struct ers_error *err,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int in_folder(struct ers_imap *im, const char *folder, struct ers_imap_result *r, struct ers_error *err,
		     const char *fmt, ...)
{
	struct ers_imap_result sel;
	int rc = select_folder(im, folder, &sel, false, err);
	ers_imap_result_free(&sel);
	if (rc < 0) {
		memset(r, 0, sizeof *r);
		return -1;
	}
	struct ers_buf cmd = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	rc = ers_imap_command(im, cmd.data, r, err);
	ers_buf_free(&cmd);
	return rc;
}

static int folder_order(const void *a, const void *b)
{
	const struct ers_imap_folder *x = a, *y = b;
	if ((x->special == ERS_IMAP_FOLDER_INBOX) != (y->special == ERS_IMAP_FOLDER_INBOX))
		return x->special == ERS_IMAP_FOLDER_INBOX ? -1 : 1;
	return strcmp(x->display, y->display);
}

int ers_imap_folders(struct ers_imap *im, struct ers_imap_result *r, struct ers_error *err)
{
	int rc;
	if (im->has_list_status) {
		rc = ers_imap_command(im, "LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))", r, err);
	} else {
		rc = ers_imap_command(im, "LIST \"\" \"*\"", r, err);
		for (size_t i = 0; rc == 0 && i < r->nfolders; i++) {
			if (r->folders[i].noselect)
				continue;
			struct ers_buf cmd = ERS_BUF_INIT;
			ers_buf_adds(&cmd, "STATUS ");
			ers_imap_quote(&cmd, r->folders[i].name);
			ers_buf_adds(&cmd, " (MESSAGES UNSEEN)");
			struct ers_imap_result s;
			rc = ers_imap_command(im, cmd.data, &s, err);
			ers_buf_free(&cmd);
			if (rc == 0 && s.nfolders == 1) {
				r->folders[i].messages = s.folders[0].messages;
				r->folders[i].unseen = s.folders[0].unseen;
			}
			ers_imap_result_free(&s);
		}
	}
	if (rc == 0)
		qsort(r->folders, r->nfolders, sizeof *r->folders, folder_order);
	return rc;
}

const struct ers_imap_folder *ers_imap_folder_find(const struct ers_imap_result *r, enum ers_imap_special special)
{
	for (size_t i = 0; i < r->nfolders; i++)
		if (r->folders[i].special == special && !r->folders[i].noselect)
			return &r->folders[i];
	return NULL;
}

static char *decode_header(char *s)
{
	if (!s)
		return NULL;
	char *d = g_mime_utils_header_decode_text(NULL, s);
	char *v = g_utf8_make_valid(d ? d : s, -1);
	g_free(d);
	free(s);
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	char *r = ers_xstrdup(v);
	g_free(v);
	return r;
}

static void decode_addresses(struct ers_imap_addresses *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->items[i].name = decode_header(a->items[i].name);
}

static int newest_first(const void *a, const void *b)
{
	const struct ers_imap_message *x = a, *y = b;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

int ers_imap_page(struct ers_imap *im, const char *folder, size_t page, size_t per_page,
		  struct ers_imap_result *r, struct ers_error *err)
{
	if (per_page == 0 || per_page > 500) {
		memset(r, 0, sizeof *r);
		ers_error_set(err, ERS_E_INVALID, "messages per page must be 1..500, got %zu", per_page);
		return -1;
	}
	/* Always SELECT again: EXISTS must be now's, not the last request's. */
	struct ers_imap_result sel;
	if (select_folder(im, folder, &sel, true, err) < 0) {
		*r = sel;
		return -1;
	}
	uint32_t exists = sel.exists, uidvalidity = sel.uidvalidity, uidnext = sel.uidnext;
	ers_imap_result_free(&sel);
	memset(r, 0, sizeof *r);
	/* Sequence numbers count arrivals: the newest page is the last K. */
	if ((unsigned long long)page * per_page < exists) {
		uint32_t hi = exists - (uint32_t)(page * per_page);
		uint32_t lo = hi > per_page ? hi - (uint32_t)per_page + 1 : 1;
		char cmd[160];
		snprintf(cmd, sizeof cmd, "FETCH %u:%u (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)", lo, hi);
		if (ers_imap_command(im, cmd, r, err) < 0)
			return -1;
	}
	r->exists = exists;
	r->have_exists = true;
	r->uidvalidity = uidvalidity;
	r->uidnext = uidnext;
	ers_gmime_init();
	for (size_t i = 0; i < r->nmsgs; i++) {
		struct ers_imap_envelope *e = &r->msgs[i].envelope;
		e->subject = decode_header(e->subject);
		decode_addresses(&e->from);
		decode_addresses(&e->sender);
		decode_addresses(&e->reply_to);
		decode_addresses(&e->to);
		decode_addresses(&e->cc);
		decode_addresses(&e->bcc);
	}
	qsort(r->msgs, r->nmsgs, sizeof *r->msgs, newest_first);
	return 0;
}

int ers_imap_set_seen(struct ers_imap *im, const char *folder, uint32_t uid, bool seen, struct ers_error *err)
{
	struct ers_imap_result r;
	int rc = in_folder(im, folder, &r, err, "UID STORE %u %sFLAGS.SILENT (\\Seen)", uid, seen ? "+" : "-");
	ers_imap_result_free(&r);
	return rc;
}

int ers_imap_fetch_source(struct ers_imap *im, const char *folder, uint32_t uid, bool mark_seen,
			  struct ers_buf *out, struct ers_error *err)
{
	struct ers_imap_result r;
	/* To mark it read, BODY[] sets \Seen as the server sends it (RFC 3501
	 * 6.4.5): one round trip, not a FETCH and then a STORE. */
	int rc = in_folder(im, folder, &r, err, "UID FETCH %u (UID BODY%s[])", uid, mark_seen ? "" : ".PEEK");
	if (rc == 0) {
		const struct ers_imap_message *m = NULL;
		for (size_t i = 0; i < r.nmsgs && !m; i++)
			if (r.msgs[i].uid == uid && r.msgs[i].body)
				m = &r.msgs[i];
		if (m) {
			ers_buf_add(out, m->body, m->body_len);
		} else {
			ers_error_set(err, ERS_E_NOTFOUND, "message UID %u is not in folder %s (deleted or moved?)", uid, folder);
			rc = -1;
		}
	}
	ers_imap_result_free(&r);
	return rc;
}

int ers_imap_delete(struct ers_imap *im, const char *folder, uint32_t uid, struct ers_error *err)
{
	struct ers_imap_result r;
	int rc = in_folder(im, folder, &r, err, "UID STORE %u +FLAGS.SILENT (\\Deleted)", uid);
	ers_imap_result_free(&r);
	if (rc < 0)
		return -1;
	/* Without UIDPLUS, EXPUNGE would also remove whatever else carries
	 * \Deleted: that was meant to go too. */
	if (im->has_uidplus)
		rc = in_folder(im, folder, &r, err, "UID EXPUNGE %u", uid);
	else
		rc = in_folder(im, folder, &r, err, "EXPUNGE");
	ers_imap_result_free(&r);
	return rc;
}

int ers_imap_move(struct ers_imap *im, const char *folder, uint32_t uid, const char *to, struct ers_error *err)
{
	struct ers_buf q = ERS_BUF_INIT;
	if (!ers_imap_quote(&q, to)) {
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	struct ers_imap_result r;
	int rc;
	if (im->has_move) {
		rc = in_folder(im, folder, &r, err, "UID MOVE %u %s", uid, q.data);
		ers_imap_result_free(&r);
	} else {
		rc = in_folder(im, folder, &r, err, "UID COPY %u %s", uid, q.data);
		ers_imap_result_free(&r);
		if (rc == 0)
			rc = ers_imap_delete(im, folder, uid, err);
	}
	ers_buf_free(&q);
	return rc;
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t on_read(char *dst, size_t size, size_t n, void *userdata)
{
	struct upload *u = userdata;
	size_t k = size * n;
	if (k > u->len - u->pos)
		k = u->len - u->pos;
	memcpy(dst, u->data + u->pos, k);
	u->pos += k;
	return k;
}

int ers_imap_append(struct ers_imap *im, const char *folder, const char *data, size_t len, struct ers_error *err)
{
	/* libcurl's APPEND: "APPEND folder (\Seen) {len}" to the URL's folder
	 * (percent-encoded in the URL, quoted by libcurl). */
	if (strpbrk(folder, "\r\n")) {
		ers_error_set(err, ERS_E_INVALID, "a folder name may not contain a line break");
		return -1;
	}
	char *esc = curl_easy_escape(im->curl, folder, 0);
	struct ers_buf url = ERS_BUF_INIT;
	ers_buf_addf(&url, "%s%s", im->base, esc);
	curl_free(esc);
	struct upload u = { data, len, 0 };
	curl_easy_setopt(im->curl, CURLOPT_URL, url.data);
	curl_easy_setopt(im->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(im->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(im->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(im->curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(im->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	struct ers_imap_result r;
	memset(&r, 0, sizeof r);
	char what[200];
	snprintf(what, sizeof what, "APPEND to %.150s", folder);
	int rc = perform(im, what, &r, err);
	ers_imap_result_free(&r);
	curl_easy_setopt(im->curl, CURLOPT_UPLOAD, 0L);
	ers_buf_free(&url);
	return rc;
}
