/* The archive's plaintext, made as gpg asks for it: one message fetched
 * from IMAP at a time (UID FETCH BODY.PEEK[] on the one connection),
 * written as mboxrd ("From " line, ">From " quoting, a blank line after)
 * or as a stored zip entry (libarchive) -- one .eml per message, or one
 * mboxrd .mbox per folder ("mbox-folders", the entry's length written at
 * its end) -- so that memory holds one message whatever the size of the
 * mailbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <archive.h>
#include <archive_entry.h>
#include "archive/internal.h"

struct ers_archive_stream {
	struct ers_imap *im;
	struct ers_archive_folder *folders;
	size_t nfolders, fi, ui;
	long selected;          /* the folder selected now, -1: none */
	bool zip;               /* a zip: of .eml files, or (per_folder) of .mbox files */
	bool per_folder;
	long entry;             /* per_folder: the folder whose .mbox entry is open, -1: none */
	struct ers_buf msg;     /* per_folder: one message as mboxrd */
	struct archive *ar;
	struct ers_buf out;     /* made, not yet read */
	size_t out_off;
	bool finished, failed;
	long long messages, bytes, total;
	ers_archive_progress_fn *progress;
	void *progress_arg;
	struct ers_error err;
	/* Messages are fetched in batches of consecutive UIDs of the folder
	 * (at most BATCH_MESSAGES, BATCH_BYTES by RFC822.SIZE): one round
	 * trip for many small messages, memory still bounded. */
	long long *sizes;          /* RFC822.SIZE of the folder's uids[i], -1: not known */
	struct ers_imap_result batch;
	size_t batch_from, batch_to; /* uids[batch_from..batch_to) are in `batch` */
};

enum { BATCH_MESSAGES = 200, BATCH_BYTES = 4 << 20 };

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void ers_archive_safe_part(const char *in, size_t len, struct ers_buf *out)
{
	size_t start = out->len;
	for (size_t i = 0; i < len && out->len - start < 200; i++) {
		unsigned char ch = (unsigned char)in[i];
		ers_buf_addch(out, ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\' || ch == ':' ? '_' : (char)ch);
	}
	const char *p = out->data + start;
	if (!strcmp(p, "") || !strcmp(p, ".") || !strcmp(p, "..")) {
		out->len = start;
		out->data[start] = '\0';
		ers_buf_addch(out, '_');
	}
}

static la_ssize_t zip_write(struct archive *a, void *client, const void *buf, size_t n)
{
	(void)a;
	struct ers_archive_stream *s = client;
	ers_buf_add(&s->out, buf, n);
	return (la_ssize_t)n;
}

struct ers_archive_stream *ers_archive_stream_new(struct ers_imap *im, struct ers_archive_folder *folders,
						  size_t nfolders, const char *format, ers_archive_progress_fn *progress,
						  void *progress_arg)
{
	struct ers_archive_stream *s = ers_xcalloc(1, sizeof *s);
	s->per_folder = !strcmp(format, "mbox-folders");
	bool zip = s->per_folder || !strcmp(format, "zip");
	s->entry = -1;
	ers_buf_init(&s->msg);
	s->im = im;
	s->folders = folders;
	s->nfolders = nfolders;
	s->selected = -1;
	s->zip = zip;
	s->progress = progress;
	s->progress_arg = progress_arg;
	ers_buf_init(&s->out);
	for (size_t i = 0; i < nfolders; i++) {
		s->total += (long long)folders[i].nuids;
		if (folders[i].nuids > 1)
			qsort(folders[i].uids, folders[i].nuids, sizeof *folders[i].uids, cmp_u32);
	}
	if (zip) {
		s->ar = archive_write_new();
		if (!s->ar)
			ERS_BUG("archive_write_new failed");
		archive_write_set_format_zip(s->ar);
		/* Stored: zip's deflate is 12x slower than the pipe (NOTES-performance). */
		archive_write_set_options(s->ar, "zip:compression=store,zip:hdrcharset=UTF-8");
		archive_write_set_bytes_per_block(s->ar, 0);
		archive_write_set_bytes_in_last_block(s->ar, 1);
		if (archive_write_open(s->ar, s, NULL, zip_write, NULL) != ARCHIVE_OK)
			ERS_BUG("archive_write_open failed");
	}
	if (progress)
		progress(progress_arg, 0, s->total, 0);
	return s;
}

static int fail(struct ers_archive_stream *s, enum ers_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ers_archive_stream *s, enum ers_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ers_error_vset(&s->err, code, fmt, ap);
	va_end(ap);
	s->failed = true;
	return -1;
}

/* "From MAILER-DAEMON Mon Jan  1 10:00:00 2024" for an internal date. */
static void from_line(struct ers_buf *b, long long when)
{
	time_t t = (time_t)when;
	struct tm tm;
	char date[64];
	if (!when || !gmtime_r(&t, &tm) || !strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm))
		snprintf(date, sizeof date, "Thu Jan  1 00:00:00 1970");
	ers_buf_addf(b, "From MAILER-DAEMON %s\n", date);
}

/* mboxrd: every line that starts with any number of '>' and then "From "
 * gets one more '>' (undone on reading by removing one). */
static void mboxrd(struct ers_buf *b, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl + 1 : end;
		const char *q = p;
		while (q < eol && *q == '>')
			q++;
		if ((size_t)(eol - q) >= 5 && !memcmp(q, "From ", 5))
			ers_buf_addch(b, '>');
		ers_buf_add(b, p, (size_t)(eol - p));
		p = eol;
	}
	if (len == 0 || msg[len - 1] != '\n')
		ers_buf_addch(b, '\n');
	ers_buf_addch(b, '\n');
}

static int select_folder(struct ers_archive_stream *s);
static int select_folder(struct ers_archive_stream *s)
{
	struct ers_archive_folder *f = &s->folders[s->fi];
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "SELECT ");
	ers_imap_quote(&cmd, f->name);
	struct ers_imap_result r;
	int rc = ers_imap_command(s->im, cmd.data, &r, &s->err);
	ers_buf_free(&cmd);
	uint32_t v = r.uidvalidity;
	ers_imap_result_free(&r);
	if (rc < 0) {
		s->failed = true;
		return -1;
	}
	if (v != f->uidvalidity)
		return fail(s, ERS_E_CONFLICT, "folder %s changed its UIDVALIDITY (%u, was %u) while archiving: nothing of it is "
			    "safe to archive now; run the job again", f->name, v, f->uidvalidity);
	s->selected = (long)s->fi;
	s->batch_from = s->batch_to = 0; /* the last folder's batch is no more */
	/* The sizes, to cut batches by. */
	free(s->sizes);
	s->sizes = ers_xmalloc((f->nuids ? f->nuids : 1) * sizeof *s->sizes);
	for (size_t i = 0; i < f->nuids; i++)
		s->sizes[i] = -1;
	if (f->nuids && ers_imap_command(s->im, "UID FETCH 1:* (UID RFC822.SIZE)", &r, &s->err) == 0) {
		for (size_t i = 0; i < r.nmsgs; i++) {
			uint32_t *at = bsearch(&r.msgs[i].uid, f->uids, f->nuids, sizeof *f->uids, cmp_u32);
			if (at)
				s->sizes[at - f->uids] = r.msgs[i].size;
		}
	}
	ers_imap_result_free(&r);
	return 0;
}

/* Fetches uids[ui..] of the current folder, as many as a batch holds. */
static int fetch_batch(struct ers_archive_stream *s)
{
	struct ers_archive_folder *f = &s->folders[s->fi];
	ers_imap_result_free(&s->batch);
	memset(&s->batch, 0, sizeof s->batch);
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "UID FETCH ");
	size_t to = s->ui;
	long long bytes = 0;
	while (to < f->nuids && to - s->ui < BATCH_MESSAGES) {
		long long size = s->sizes[to] < 0 ? BATCH_BYTES : s->sizes[to];
		if (to > s->ui && bytes + size > BATCH_BYTES)
			break;
		bytes += size;
		ers_buf_addf(&cmd, "%s%u", to > s->ui ? "," : "", f->uids[to]);
		to++;
	}
	ers_buf_adds(&cmd, " (UID INTERNALDATE BODY.PEEK[])");
	int rc = ers_imap_command(s->im, cmd.data, &s->batch, &s->err);
	ers_buf_free(&cmd);
	if (rc < 0) {
		s->failed = true;
		return -1;
	}
	s->batch_from = s->ui;
	s->batch_to = to;
	return 0;
}

/* Adds the next message to s->out, or the end of the stream. */
static int next(struct ers_archive_stream *s)
{
	while (s->fi < s->nfolders && s->ui >= s->folders[s->fi].nuids) {
		s->fi++;
		s->ui = 0;
	}
	if (s->fi == s->nfolders) {
		if (s->zip && archive_write_close(s->ar) != ARCHIVE_OK)
			return fail(s, ERS_E_INTERNAL, "zip: %s", archive_error_string(s->ar));
		s->finished = true;
		return 0;
	}
	struct ers_archive_folder *f = &s->folders[s->fi];
	if (s->selected != (long)s->fi && select_folder(s) < 0)
		return -1;
	uint32_t uid = f->uids[s->ui];
	if (s->ui < s->batch_from || s->ui >= s->batch_to) {
		if (fetch_batch(s) < 0)
			return -1;
	}
	struct ers_imap_result r = { 0 }; /* the batch is s->batch, freed with the next */
	const struct ers_imap_message *m = NULL;
	for (size_t i = 0; i < s->batch.nmsgs && !m; i++)
		if (s->batch.msgs[i].uid == uid && s->batch.msgs[i].body)
			m = &s->batch.msgs[i];
	if (!m) {
		/* Expunged meanwhile: not in the archive, not to be expunged. */
		f->uids[s->ui++] = 0;
		ers_imap_result_free(&r);
		return 0;
	}
	if (!s->zip) {
		from_line(&s->out, m->internaldate);
		mboxrd(&s->out, m->body, m->body_len);
	} else if (s->per_folder) {
		int arc = ARCHIVE_OK;
		if (s->entry != (long)s->fi) {
			struct ers_buf name = ERS_BUF_INIT;
			ers_buf_addf(&name, "%s.mbox", f->zip_dir);
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname_utf8(e, name.data);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0600);
			archive_entry_unset_size(e); /* not known before the folder's end */
			archive_entry_set_mtime(e, time(NULL), 0);
			arc = archive_write_header(s->ar, e);
			archive_entry_free(e);
			ers_buf_free(&name);
			s->entry = (long)s->fi;
		}
		ers_buf_reset(&s->msg);
		from_line(&s->msg, m->internaldate);
		mboxrd(&s->msg, m->body, m->body_len);
		if (arc == ARCHIVE_OK && archive_write_data(s->ar, s->msg.data, s->msg.len) != (la_ssize_t)s->msg.len)
			arc = ARCHIVE_FATAL;
		if (arc != ARCHIVE_OK)
			return fail(s, ERS_E_INTERNAL, "zip entry of folder %s: %s", f->name, archive_error_string(s->ar));
	} else {
		struct ers_buf name = ERS_BUF_INIT;
		ers_buf_addf(&name, "%s/%u.eml", f->zip_dir, uid);
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname_utf8(e, name.data);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, (la_int64_t)m->body_len);
		archive_entry_set_mtime(e, (time_t)m->internaldate, 0);
		int arc = archive_write_header(s->ar, e);
		if (arc == ARCHIVE_OK && m->body_len &&
		    archive_write_data(s->ar, m->body, m->body_len) != (la_ssize_t)m->body_len)
			arc = ARCHIVE_FATAL;
		archive_entry_free(e);
		ers_buf_free(&name);
		if (arc != ARCHIVE_OK) {
			ers_imap_result_free(&r);
			return fail(s, ERS_E_INTERNAL, "zip entry for UID %u of %s: %s", uid, f->name,
				    archive_error_string(s->ar));
		}
	}
	s->messages++;
	s->bytes += (long long)m->body_len;
	s->ui++;
	ers_imap_result_free(&r);
	if (s->progress)
		s->progress(s->progress_arg, s->messages, s->total, s->bytes);
	return 0;
}

ssize_t ers_archive_stream_read(void *stream, void *buf, size_t n)
{
	struct ers_archive_stream *s = stream;
	if (s->failed)
		return -1;
	while (s->out_off == s->out.len) {
		ers_buf_reset(&s->out);
		s->out_off = 0;
		if (s->finished)
			return 0;
		if (next(s) < 0)
			return -1;
	}
	size_t k = s->out.len - s->out_off < n ? s->out.len - s->out_off : n;
	memcpy(buf, s->out.data + s->out_off, k);
	s->out_off += k;
	return (ssize_t)k;
}

const struct ers_error *ers_archive_stream_error(const struct ers_archive_stream *s)
{
	return s->failed ? &s->err : NULL;
}

void ers_archive_stream_counts(const struct ers_archive_stream *s, long long *messages_r, long long *bytes_r)
{
	*messages_r = s->messages;
	*bytes_r = s->bytes;
}

void ers_archive_stream_free(struct ers_archive_stream *s)
{
	if (!s)
		return;
	if (s->ar)
		archive_write_free(s->ar);
	ers_imap_result_free(&s->batch);
	free(s->sizes);
	ers_buf_free(&s->out);
	ers_buf_free(&s->msg);
	free(s);
}
