/* The archive's plaintext, made as gpg asks for it: messages fetched from
 * IMAP in batches (UID FETCH BODY.PEEK[]), written one at a time as mboxrd
 * ("From " line, ">From " quoting, a blank line after) or as a stored zip
 * entry (libarchive) -- one .eml per message, or one mboxrd .mbox per
 * folder ("mbox-folders", the entry's length written at its end) -- so
 * that memory holds a few batches whatever the size of the mailbox.
 *
 * Fetcher threads of the stream's own, one per connection, read the
 * batches ahead of the writer and hand them over in order: Dovecot makes
 * the next batches, in an imap process per connection, while gpg
 * encrypts this one, instead of the two waiting for each other (bench
 * section 8).  Each thread has its connection to itself until the stream
 * ends or is freed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <archive.h>
#include <archive_entry.h>
#include "archive/internal.h"

/* One batch, handed from the fetcher to the writer: uids[from..to) of
 * folder fi, or why its fetcher stopped. */
struct fetched {
	struct ers_imap_result r;
	size_t fi, from, to;
	bool failed;
	struct ers_error err;
};

/* One batch of the plan: uids[from..to) of folder fi. */
struct planned {
	size_t fi, from, to;
};

enum { FETCH_AHEAD = 1, MAX_FETCHERS = 2 };

struct ers_archive_stream {
	struct ers_imap *ims[MAX_FETCHERS]; /* a connection per fetcher */
	size_t nims;
	struct ers_archive_folder *folders;
	size_t nfolders, fi, ui;
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
	/* Messages are fetched in batches of consecutive UIDs of a folder (at
	 * most BATCH_MESSAGES, BATCH_BYTES by RFC822.SIZE): one round trip
	 * for many small messages, memory still bounded.  The plan, made
	 * before the fetchers start, lists them all; fetcher w fetches
	 * batches w, w + nims, ... on connection w, and they are handed to
	 * the writer in the plan's order. */
	struct planned *plan;
	size_t nplan;
	bool planned;
	/* The writer's batch: uids[cur.from..cur.to) of folder cur.fi. */
	struct fetched cur;
	bool have_cur;
	size_t cur_at;          /* where in cur.r.msgs the next message is likely */
	size_t taken;           /* batches of the plan the writer has taken */
	/* The fetchers and their queue. */
	pthread_t threads[MAX_FETCHERS];
	size_t nthreads;
	bool sync_ready;        /* mu and cv are made */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fetched queue[FETCH_AHEAD];
	size_t qhead, qcount;
	size_t next_in;         /* the batch of the plan the queue takes next */
	bool stop;              /* the writer is gone: the fetchers end */
};

enum { BATCH_MESSAGES = 200, BATCH_BYTES = 2 << 20 };

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

struct ers_archive_stream *ers_archive_stream_new(struct ers_imap *const *ims, size_t nims,
						  struct ers_archive_folder *folders, size_t nfolders, const char *format,
						  ers_archive_progress_fn *progress, void *progress_arg)
{
	struct ers_archive_stream *s = ers_xcalloc(1, sizeof *s);
	s->per_folder = !strcmp(format, "mbox-folders");
	bool zip = s->per_folder || !strcmp(format, "zip");
	s->entry = -1;
	ers_buf_init(&s->msg);
	s->nims = nims < MAX_FETCHERS ? nims : MAX_FETCHERS;
	for (size_t i = 0; i < s->nims; i++)
		s->ims[i] = ims[i];
	s->folders = folders;
	s->nfolders = nfolders;
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
 * gets one more '>' (undone on reading by removing one).  Copied in
 * spans: only a line that starts with '>' or 'F' can need it. */
static void mboxrd(struct ers_buf *b, const char *msg, size_t len)
{
	const char *line = msg, *span = msg, *end = msg + len;
	while (line < end) {
		if (*line == '>' || *line == 'F') {
			const char *q = line;
			while (q < end && *q == '>')
				q++;
			if ((size_t)(end - q) >= 5 && !memcmp(q, "From ", 5)) {
				ers_buf_add(b, span, (size_t)(line - span));
				ers_buf_addch(b, '>');
				span = line;
			}
		}
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		line = nl + 1;
	}
	ers_buf_add(b, span, (size_t)(end - span));
	if (len == 0 || msg[len - 1] != '\n')
		ers_buf_addch(b, '\n');
	ers_buf_addch(b, '\n');
}

/* SELECTs folder fi on `im`, its UIDVALIDITY still the one its UIDs were
 * read under. */
static int select_folder(struct ers_archive_stream *s, struct ers_imap *im, size_t fi, struct ers_error *err)
{
	struct ers_archive_folder *f = &s->folders[fi];
	struct ers_buf cmd = ERS_BUF_INIT;
	ers_buf_adds(&cmd, "SELECT ");
	ers_imap_quote(&cmd, f->name);
	struct ers_imap_result r;
	int rc = ers_imap_command(im, cmd.data, &r, err);
	ers_buf_free(&cmd);
	uint32_t v = r.uidvalidity;
	ers_imap_result_free(&r);
	if (rc < 0)
		return -1;
	if (v != f->uidvalidity) {
		ers_error_set(err, ERS_E_CONFLICT, "folder %s changed its UIDVALIDITY (%u, was %u) while archiving: nothing of "
			      "it is safe to archive now; run the job again", f->name, v, f->uidvalidity);
		return -1;
	}
	return 0;
}

/* The plan: every folder's UIDs cut into batches by their sizes. */
static int make_plan(struct ers_archive_stream *s, struct ers_error *err)
{
	size_t cap = 0;
	for (size_t fi = 0; fi < s->nfolders; fi++) {
		struct ers_archive_folder *f = &s->folders[fi];
		if (!f->nuids)
			continue;
		if (select_folder(s, s->ims[0], fi, err) < 0)
			return -1;
		long long *sizes = ers_xmalloc(f->nuids * sizeof *sizes);
		for (size_t i = 0; i < f->nuids; i++)
			sizes[i] = -1;
		struct ers_imap_result r;
		if (ers_imap_command(s->ims[0], "UID FETCH 1:* (UID RFC822.SIZE)", &r, err) == 0) {
			for (size_t i = 0; i < r.nmsgs; i++) {
				uint32_t *at = bsearch(&r.msgs[i].uid, f->uids, f->nuids, sizeof *f->uids, cmp_u32);
				if (at)
					sizes[at - f->uids] = r.msgs[i].size;
			}
		}
		ers_imap_result_free(&r);
		for (size_t from = 0; from < f->nuids;) {
			size_t to = from;
			long long bytes = 0;
			while (to < f->nuids && to - from < BATCH_MESSAGES) {
				long long size = sizes[to] < 0 ? BATCH_BYTES : sizes[to];
				if (to > from && bytes + size > BATCH_BYTES)
					break;
				bytes += size;
				to++;
			}
			if (s->nplan == cap) {
				cap = cap ? 2 * cap : 64;
				s->plan = ers_xrealloc(s->plan, cap * sizeof *s->plan);
			}
			s->plan[s->nplan++] = (struct planned){ fi, from, to };
			from = to;
		}
		free(sizes);
	}
	return 0;
}

/* A fetcher's: asks for batch k of the plan on `im` without waiting for
 * the answer (its command kept in `cmd`, its tag in `tag`). */
static int ask_batch(struct ers_archive_stream *s, struct ers_imap *im, size_t k, struct fetched *b, struct ers_buf *cmd,
		     char tag[24])
{
	const struct planned *p = &s->plan[k];
	const struct ers_archive_folder *f = &s->folders[p->fi];
	ers_buf_reset(cmd);
	ers_buf_adds(cmd, "UID FETCH ");
	for (size_t i = p->from; i < p->to; i++)
		ers_buf_addf(cmd, "%s%u", i > p->from ? "," : "", f->uids[i]);
	ers_buf_adds(cmd, " (UID INTERNALDATE BODY.PEEK[])");
	memset(b, 0, sizeof *b);
	b->fi = p->fi;
	b->from = p->from;
	b->to = p->to;
	return ers_imap_send(im, cmd->data, tag, &b->err);
}

/* Hands batch k to the writer once the batches before it are handed over
 * and the queue has room; false (b freed) when the writer is gone. */
static bool hand_over(struct ers_archive_stream *s, size_t k, struct fetched *b)
{
	pthread_mutex_lock(&s->mu);
	while ((s->next_in != k || s->qcount == FETCH_AHEAD) && !s->stop)
		pthread_cond_wait(&s->cv, &s->mu);
	bool stop = s->stop;
	if (!stop) {
		s->queue[(s->qhead + s->qcount) % FETCH_AHEAD] = *b;
		s->qcount++;
		s->next_in++;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (stop)
		ers_imap_result_free(&b->r);
	return !stop;
}

struct fetcher_arg {
	struct ers_archive_stream *s;
	size_t w;
};

/* Fetcher w: batches w, w + nims, ... of the plan on connection w, the
 * next one asked for (within a folder) before this one is handed over,
 * so that Dovecot makes it meanwhile. */
static void *fetcher(void *arg)
{
	struct fetcher_arg *fa = arg;
	struct ers_archive_stream *s = fa->s;
	size_t w = fa->w;
	free(fa);
	struct ers_imap *im = s->ims[w];
	struct ers_buf cmd = ERS_BUF_INIT, next_cmd = ERS_BUF_INIT;
	char tag[24], next_tag[24];
	long selected = -1;
	bool asked = false; /* batch k is asked for already */
	struct fetched b = { 0 }, nb;
	for (size_t k = w; k < s->nplan; k += s->nims) {
		if (!asked) {
			if ((selected != (long)s->plan[k].fi && select_folder(s, im, s->plan[k].fi, &b.err) < 0) ||
			    ask_batch(s, im, k, &b, &cmd, tag) < 0) {
				b.failed = true;
				hand_over(s, k, &b);
				break;
			}
			selected = (long)s->plan[k].fi;
		}
		if (ers_imap_receive(im, tag, cmd.data, &b.r, &b.err) < 0) {
			b.failed = true;
			hand_over(s, k, &b);
			break;
		}
		size_t n = k + s->nims;
		asked = n < s->nplan && s->plan[n].fi == (size_t)selected;
		if (asked && ask_batch(s, im, n, &nb, &next_cmd, next_tag) < 0) {
			ers_imap_result_free(&b.r);
			nb.failed = true;
			hand_over(s, k, &nb);
			break;
		}
		if (!hand_over(s, k, &b))
			break;
		if (asked) {
			b = nb;
			memcpy(tag, next_tag, sizeof tag);
			struct ers_buf t = cmd;
			cmd = next_cmd;
			next_cmd = t;
		} else {
			memset(&b, 0, sizeof b);
		}
	}
	ers_buf_free(&cmd);
	ers_buf_free(&next_cmd);
	return NULL;
}

/* The writer's: the next batch of the plan; the plan made and the
 * fetchers started on first use. */
static int take_batch(struct ers_archive_stream *s)
{
	if (s->have_cur) {
		ers_imap_result_free(&s->cur.r);
		s->have_cur = false;
	}
	if (!s->planned) {
		s->planned = true;
		if (make_plan(s, &s->err) < 0) {
			s->failed = true;
			return -1;
		}
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->cv, NULL);
		s->sync_ready = true;
		size_t n = s->nims < s->nplan ? s->nims : s->nplan;
		s->nims = n ? n : 1; /* fetcher w steps by nims: set before any starts */
		for (size_t w = 0; w < n; w++) {
			struct fetcher_arg *fa = ers_xmalloc(sizeof *fa);
			*fa = (struct fetcher_arg){ s, w };
			int e = pthread_create(&s->threads[w], NULL, fetcher, fa);
			if (e) {
				free(fa);
				return fail(s, ERS_E_INTERNAL, "cannot start the archive's IMAP readers: %s", strerror(e));
			}
			s->nthreads++;
		}
	}
	if (s->taken == s->nplan)
		return 0; /* the end */
	pthread_mutex_lock(&s->mu);
	while (s->qcount == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	s->cur = s->queue[s->qhead];
	s->qhead = (s->qhead + 1) % FETCH_AHEAD;
	s->qcount--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	s->taken++;
	s->have_cur = true;
	s->cur_at = 0;
	if (s->cur.failed) {
		s->err = s->cur.err;
		s->failed = true;
		return -1;
	}
	s->fi = s->cur.fi;
	s->ui = s->cur.from;
	return 0;
}

/* The message of `uid` in the writer's batch, NULL if the server sent
 * none (expunged meanwhile).  The server answers in UID order: the next
 * one is almost always where the last one ended. */
static const struct ers_imap_message *batch_message(struct ers_archive_stream *s, uint32_t uid)
{
	const struct ers_imap_result *r = &s->cur.r;
	for (size_t k = 0; k < r->nmsgs; k++) {
		size_t i = (s->cur_at + k) % r->nmsgs;
		if (r->msgs[i].uid == uid && r->msgs[i].body) {
			s->cur_at = i + 1;
			return &r->msgs[i];
		}
	}
	return NULL;
}

/* Adds the next message to s->out, or the end of the stream. */
static int next(struct ers_archive_stream *s)
{
	if ((!s->have_cur || s->ui >= s->cur.to) && take_batch(s) < 0)
		return -1;
	if (!s->have_cur) {
		if (s->zip && archive_write_close(s->ar) != ARCHIVE_OK)
			return fail(s, ERS_E_INTERNAL, "zip: %s", archive_error_string(s->ar));
		s->finished = true;
		return 0;
	}
	struct ers_archive_folder *f = &s->folders[s->fi];
	uint32_t uid = f->uids[s->ui];
	const struct ers_imap_message *m = batch_message(s, uid);
	if (!m) {
		/* Expunged meanwhile: not in the archive, not to be expunged. */
		f->uids[s->ui++] = 0;
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
		if (arc != ARCHIVE_OK)
			return fail(s, ERS_E_INTERNAL, "zip entry for UID %u of %s: %s", uid, f->name,
				    archive_error_string(s->ar));
	}
	s->messages++;
	s->bytes += (long long)m->body_len;
	s->ui++;
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
	if (s->sync_ready) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		for (size_t w = 0; w < s->nthreads; w++)
			pthread_join(s->threads[w], NULL);
		for (; s->qcount; s->qcount--, s->qhead = (s->qhead + 1) % FETCH_AHEAD)
			ers_imap_result_free(&s->queue[s->qhead].r);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	free(s->plan);
	if (s->have_cur)
		ers_imap_result_free(&s->cur.r);
	if (s->ar)
		archive_write_free(s->ar);
	ers_buf_free(&s->out);
	ers_buf_free(&s->msg);
	free(s);
}
