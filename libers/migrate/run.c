/* The migration worker: logs in to the source (libers' IMAP client, for a
 * clear error and the folders with their special use), then per folder
 * lets doveadm list both sides' messages and copy the missing ones from an
 * imapc namespace into ours.  doveadm reads the source's settings from a
 * configuration file in a private 0700 directory, its password from a 0600
 * file beside it (`imapc_password = <FILE`): never argv, where ps shows
 * it.  Both files exist only while a doveadm runs and are wiped after. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "migrate/internal.h"
#include "ers/seal.h"

#define SOURCE_NS "ERS-MIGRATION-SOURCE/"
#define COPY_BATCH 200
#define SINGLE_RETRY_MAX 200 /* messages of a refused batch tried one by one */

static volatile sig_atomic_t stop_requested;
static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct worker {
	struct ers_ctx *ctx;
	struct ers_migrate_job *job;
	char dir[64], conf[96], pwfile[96];
	struct ers_buf password;
};

static void wipe_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			char zero[1024] = { 0 };
			for (off_t left = st.st_size; left > 0; left -= (off_t)sizeof zero)
				if (write(fd, zero, left < (off_t)sizeof zero ? (size_t)left : sizeof zero) < 0)
					break;
			fsync(fd);
		}
		close(fd);
	}
	unlink(path);
}

static bool write_private(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, data, n) == (ssize_t)n;
	return close(fd) == 0 && ok;
}

/* A quoted dovecot.conf value: the text has no quote, backslash or line
 * break (job.c refused them); '%' would start a variable in imapc_user. */
static void add_quoted(struct ers_buf *b, const char *s, bool vars)
{
	ers_buf_addch(b, '"');
	for (; *s; s++)
		if (vars && *s == '%')
			ers_buf_adds(b, "%%");
		else
			ers_buf_addch(b, *s);
	ers_buf_addch(b, '"');
}

static bool write_conf(struct worker *w)
{
	const struct ers_config *cfg = w->ctx->cfg;
	const struct ers_migrate_job *j = w->job;
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_addf(&b, "!include %s\nimapc_host = ", cfg->mailstack.dovecot_config);
	add_quoted(&b, j->source_host, false);
	ers_buf_addf(&b, "\nimapc_port = %d\nimapc_user = ", j->source_port);
	add_quoted(&b, j->source_user, true);
	ers_buf_addf(&b, "\nimapc_password = <%s\nimapc_ssl = %s\nimapc_ssl_verify = yes\n", w->pwfile,
		     !strcmp(j->source_tls, "implicit") ? "imaps" : !strcmp(j->source_tls, "starttls") ? "starttls" : "no");
	if (cfg->dns.ca_file)
		ers_buf_addf(&b, "ssl_client_ca_file = %s\n", cfg->dns.ca_file);
	else
		ers_buf_adds(&b, "ssl_client_ca_dir = /etc/ssl/certs\n");
	ers_buf_adds(&b, "imapc_features = rfc822.size fetch-headers\n"
			 "namespace ers_migration_source {\n  prefix = " SOURCE_NS "\n  separator = /\n"
			 "  location = imapc:\n  list = no\n  subscriptions = no\n}\n"
			 /* The quota root counts the user's own namespace only: counted
			  * over every namespace, the source's mail would fill it. */
			 "plugin {\n  quota = count:User quota:ns=\n}\n");
	bool ok = write_private(w->pwfile, w->password.data, w->password.len) && write_private(w->conf, b.data, b.len);
	ers_buf_free(&b);
	return ok;
}

/* doveadm with the source's settings present only while it runs. */
static int run_doveadm(struct worker *w, const char *const *args, struct ers_buf *out, struct ers_buf *why)
{
	if (!write_conf(w)) {
		ers_buf_reset(why);
		ers_buf_addf(why, "cannot write the job's doveadm configuration in %s: %s", w->dir, strerror(errno));
		wipe_file(w->pwfile);
		return -1;
	}
	int rc = mg_doveadm(w->conf, args, out, why);
	wipe_file(w->pwfile);
	wipe_file(w->conf);
	return rc;
}

/* One message's identity on either side: Message-ID, sent date, size. */
struct ident {
	char *key;
	unsigned uid;
	long long size;
	bool matched;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct ident *)a)->key, ((const struct ident *)b)->key);
}

/* The messages of `mailbox` (sorted by key), or -1 with `why`. */
static int list_messages(struct worker *w, const char *mailbox, struct ident **ids_r, size_t *n_r, struct ers_buf *why)
{
	struct ers_buf out = ERS_BUF_INIT;
	const char *args[] = { "-f", "json", "fetch", "-u", w->job->address, "uid size.virtual date.sent hdr.message-id",
			       "mailbox", mailbox, NULL };
	ers_buf_reset(why);
	/* doveadm fetch exits 0 on a folder that does not exist: its error says so. */
	int rc = run_doveadm(w, args, &out, why);
	json_t *a = rc == 0 && !why->len ? json_loads(out.data, 0, NULL) : NULL;
	ers_buf_free(&out);
	if (!json_is_array(a)) {
		if (!why->len)
			ers_buf_adds(why, "doveadm fetch gave no message list");
		json_decref(a);
		return -1;
	}
	size_t n = json_array_size(a);
	struct ident *ids = n ? ers_xcalloc(n, sizeof *ids) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		const char *uid = json_string_value(json_object_get(o, "uid"));
		const char *size = json_string_value(json_object_get(o, "size.virtual"));
		const char *date = json_string_value(json_object_get(o, "date.sent"));
		const char *mid = json_string_value(json_object_get(o, "hdr.message-id"));
		struct ers_buf k = ERS_BUF_INIT;
		ers_buf_addf(&k, "%s\x1f%s\x1f%s", mid ? mid : "", date ? date : "", size ? size : "");
		ids[i].key = k.data;
		ids[i].uid = uid ? (unsigned)strtoul(uid, NULL, 10) : 0;
		ids[i].size = size ? strtoll(size, NULL, 10) : 0;
	}
	json_decref(a);
	qsort(ids, n, sizeof *ids, cmp_key);
	*ids_r = ids;
	*n_r = n;
	return 0;
}

static void idents_free(struct ident *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i].key);
	free(ids);
}

/* Marks the source messages present in `dst` (each local copy counts once). */
static size_t match(struct ident *src, size_t ns, const struct ident *dst, size_t nd)
{
	size_t i = 0, k = 0, found = 0;
	for (size_t s = 0; s < ns; s++)
		src[s].matched = false;
	while (i < ns && k < nd) {
		int c = strcmp(src[i].key, dst[k].key);
		if (c == 0) {
			src[i++].matched = true, k++, found++;
		} else if (c < 0) {
			i++;
		} else {
			k++;
		}
	}
	return found;
}

/* Where a source folder goes: special-use folders into ours. */
static char *target_name(const struct ers_imap_folder *f, const char *display)
{
	switch (f->special) {
	case ERS_IMAP_FOLDER_INBOX: return ers_xstrdup("INBOX");
	case ERS_IMAP_FOLDER_SENT: return ers_xstrdup("Sent");
	case ERS_IMAP_FOLDER_DRAFTS: return ers_xstrdup("Drafts");
	case ERS_IMAP_FOLDER_TRASH: return ers_xstrdup("Trash");
	case ERS_IMAP_FOLDER_JUNK: return ers_xstrdup("Junk");
	default: return ers_xstrdup(display);
	}
}

static void migrate_folder(struct worker *w, const struct ers_imap_folder *f, struct ers_migrate_folder *r)
{
	/* The source's hierarchy in our separator, as the imapc namespace shows it. */
	struct ers_buf display = ERS_BUF_INIT, src = ERS_BUF_INIT, why = ERS_BUF_INIT;
	ers_buf_adds(&display, f->display);
	for (char *p = display.data; f->delimiter && f->delimiter != '/' && *p; p++)
		if (*p == f->delimiter)
			*p = '/';
	ers_buf_addf(&src, SOURCE_NS "%s", display.data);
	r->folder = ers_xstrdup(f->display);
	r->to = target_name(f, display.data);
	struct ident *s = NULL, *d = NULL;
	size_t ns = 0, nd = 0;
	if (list_messages(w, src.data, &s, &ns, &why) < 0)
		goto fail;
	r->found = (long long)ns;
	for (size_t i = 0; i < ns; i++)
		r->found_bytes += s[i].size;
	const char *create[] = { "mailbox", "create", "-u", w->job->address, r->to, NULL };
	/* Made first: doveadm fetch lists a folder that does not exist as
	 * empty, silently.  One that exists fails to be made, harmlessly. */
	run_doveadm(w, create, NULL, &why);
	if (list_messages(w, r->to, &d, &nd, &why) < 0)
		goto fail;
	size_t before = match(s, ns, d, nd);
	bool *was = ers_xcalloc(ns + 1, sizeof *was);
	for (size_t i = 0; i < ns; i++)
		was[i] = s[i].matched;
	/* The missing ones, in batches of UIDs. */
	struct ers_buf uids = ERS_BUF_INIT;
	size_t inbatch = 0;
	for (size_t i = 0; i <= ns && !stop_requested; i++) {
		if (i < ns && !s[i].matched) {
			ers_buf_addf(&uids, "%s%u", inbatch ? "," : "", s[i].uid);
			inbatch++;
		}
		if (inbatch && (inbatch == COPY_BATCH || i == ns)) {
			const char *copy[] = { "copy", "-u", w->job->address, r->to, "mailbox", src.data, "uid", uids.data, NULL };
			run_doveadm(w, copy, NULL, &why);
			ers_buf_reset(&uids);
			inbatch = 0;
		}
	}
	ers_buf_free(&uids);
	idents_free(d, nd);
	d = NULL;
	struct ers_buf why2 = ERS_BUF_INIT;
	if (list_messages(w, r->to, &d, &nd, &why2) < 0) {
		ers_buf_reset(&why);
		ers_buf_add(&why, why2.data, why2.len);
		ers_buf_free(&why2);
		free(was);
		goto fail;
	}
	size_t after = match(s, ns, d, nd);
	/* A batch doveadm refused (one message over the quota, say) copied
	 * nothing: its messages again one by one, so that only the ones that
	 * cannot be copied fail.  Bounded: a mailbox that is simply full
	 * would otherwise cost a doveadm run per message. */
	if (after < ns && ns - after <= SINGLE_RETRY_MAX && !stop_requested) {
		for (size_t i = 0; i < ns && !stop_requested; i++) {
			if (s[i].matched)
				continue;
			char uid[16];
			snprintf(uid, sizeof uid, "%u", s[i].uid);
			const char *copy[] = { "copy", "-u", w->job->address, r->to, "mailbox", src.data, "uid", uid, NULL };
			run_doveadm(w, copy, NULL, &why);
		}
		idents_free(d, nd);
		d = NULL;
		if (list_messages(w, r->to, &d, &nd, &why2) < 0) {
			ers_buf_reset(&why);
			ers_buf_add(&why, why2.data, why2.len);
			ers_buf_free(&why2);
			free(was);
			goto fail;
		}
		after = match(s, ns, d, nd);
	}
	r->copied = (long long)(after - before);
	r->skipped = (long long)before;
	ers_buf_free(&why2);
	r->failed = (long long)(ns - after);
	for (size_t i = 0; i < ns; i++)
		if (s[i].matched && !was[i])
			r->copied_bytes += s[i].size;
	free(was);
	if (r->failed)
		r->error = ers_xstrdup(stop_requested ? "cancelled" : why.len ? why.data : "doveadm copy did not copy them");
	goto done;
fail:
	r->failed = r->found;
	r->error = ers_xstrdup(why.len ? why.data : "doveadm failed");
done:
	idents_free(s, ns);
	idents_free(d, nd);
	ers_buf_free(&display);
	ers_buf_free(&src);
	ers_buf_free(&why);
}

static bool wanted(const struct ers_ctx *ctx, long long id, const char *display, struct ers_error *err)
{
	struct ers_num n = ers_num(id);
	const char *p[] = { n.s, display };
	PGresult *r = ers_db_exec((struct ers_ctx *)ctx, "SELECT folders IS NULL OR $2 = ANY (folders) FROM ers.migration "
							 "WHERE id = $1::bigint", 2, p, err);
	bool yes = r && PQntuples(r) == 1 && !strcmp(ers_db_str(r, 0, 0), "t");
	if (r)
		PQclear(r);
	return yes;
}

static void save_report(struct worker *w, struct ers_migrate_folder *f, size_t n)
{
	char *json = mg_report_json(f, n);
	struct ers_num id = ers_num(w->job->id);
	const char *p[] = { id.s, json };
	struct ers_error e;
	ers_db_run(w->ctx, "UPDATE ers.migration SET report = $2::jsonb WHERE id = $1::bigint AND state = 'running'", 2,
		   p, &e);
	free(json);
}

/* The owner is told in its INBOX (doveadm save: no SMTP, no password):
 * what was copied per folder, or why nothing could be. */
static void notify_owner(struct worker *w, const char *state, const char *error, const struct ers_migrate_folder *f,
			 size_t n)
{
	const struct ers_migrate_job *j = w->job;
	long long copied = 0, failed = 0;
	for (size_t i = 0; i < n; i++)
		copied += f[i].copied, failed += f[i].failed;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&now, &tm));
	const char *at = strrchr(j->address, '@');
	struct ers_buf m = ERS_BUF_INIT;
	ers_buf_addf(&m, "From: Mail migration <postmaster@%s>\r\nTo: <%s>\r\nDate: %s\r\n"
			 "Message-ID: <migration-%lld-%lld@%s>\r\n"
			 "Subject: IMAP migration %s: %lld messages copied, %lld failed\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		     at ? at + 1 : "localhost", j->address, date, j->id, (long long)now, at ? at + 1 : "localhost",
		     !strcmp(state, "done") ? "finished" : "failed", copied, failed);
	ers_buf_addf(&m, "The migration of %.200s from %.200s into this mailbox %s.\r\n", j->source_user,
		     j->source_host, !strcmp(state, "done") ? "is finished" : "failed");
	if (error)
		ers_buf_addf(&m, "Why: %.600s\r\n", error);
	ers_buf_adds(&m, "\r\nFolder: found, copied, already there, failed\r\n");
	for (size_t i = 0; i < n && m.len < 50000; i++)
		ers_buf_addf(&m, "%.200s -> %.200s: %lld, %lld, %lld, %lld%s%.200s\r\n", f[i].folder, f[i].to, f[i].found,
			     f[i].copied, f[i].skipped, f[i].failed, f[i].error ? " -- " : "", f[i].error ? f[i].error : "");
	const char *args[] = { "save", "-u", j->address, "-m", "INBOX", NULL };
	struct ers_buf why = ERS_BUF_INIT;
	mg_doveadm_input(w->ctx->cfg->mailstack.dovecot_config, args, &m, NULL, &why);
	ers_buf_free(&why);
	ers_buf_free(&m);
}

static void finish(struct worker *w, const char *state, const char *error)
{
	struct ers_num id = ers_num(w->job->id);
	const char *p[] = { id.s, state, error };
	struct ers_error e;
	ers_db_run(w->ctx, "UPDATE ers.migration SET state = $2, error = $3, source_password = NULL, "
			   "finished_at = now() WHERE id = $1::bigint AND state = 'running'", 3, p, &e);
}

int ers_migrate_run(struct ers_ctx *ctx, long long id, struct ers_error *err)
{
	char *sealed = NULL;
	struct worker w = { .ctx = ctx, .password = ERS_BUF_INIT };
	w.job = mg_job_load(ctx, id, &sealed, err);
	if (!w.job)
		return -1;
	int rc = -1;
	if (strcmp(w.job->state, "queued") || !sealed) {
		ers_error_set(err, ERS_E_CONFLICT, "migration %lld is %s, not queued (see: ersctl migrate resume)", id,
			      w.job->state);
		goto out;
	}
	struct ers_num n = ers_num(id), pid = ers_num(getpid());
	const char *p[] = { n.s, pid.s };
	PGresult *r = ers_db_exec(ctx, "UPDATE ers.migration SET state = 'running', worker_pid = $2::integer, "
				       "started_at = coalesce(started_at, now()) WHERE id = $1::bigint AND state = 'queued' "
				       "RETURNING id", 2, p, err);
	if (!r)
		goto out;
	int claimed = PQntuples(r);
	PQclear(r);
	if (!claimed) {
		ers_error_set(err, ERS_E_CONFLICT, "migration %lld was taken by another worker or cancelled", id);
		goto out;
	}
	rc = 0;
	signal(SIGTERM, on_term);
	char context[64];
	snprintf(context, sizeof context, "migrate-password:%lld", id);
	struct ers_error e = { 0 };
	if (ers_unseal(&ctx->cfg->secrets, context, sealed, &w.password, &e) < 0) {
		finish(&w, "failed", e.message);
		notify_owner(&w, "failed", e.message, NULL, 0);
		goto out;
	}
	/* Log in once here: a wrong password or an unreachable host is said
	 * plainly, before any doveadm runs. */
	struct ers_imap_params ip = { .host = w.job->source_host, .port = w.job->source_port,
				      .tls = !strcmp(w.job->source_tls, "implicit") ? ERS_IMAP_TLS
					     : !strcmp(w.job->source_tls, "starttls") ? ERS_IMAP_STARTTLS
										      : ERS_IMAP_PLAIN,
				      .ca_file = ctx->cfg->dns.ca_file, .username = w.job->source_user,
				      .password = w.password.data, .timeout_s = 30 };
	struct ers_imap *im = NULL;
	struct ers_imap_result folders = { 0 };
	if (ers_imap_open(&ip, &im, &e) < 0 || ers_imap_folders(im, &folders, &e) < 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "the source server %.200s:%d: %.380s", w.job->source_host, w.job->source_port, e.message);
		ers_imap_close(im);
		ers_imap_result_free(&folders);
		finish(&w, "failed", msg);
		notify_owner(&w, "failed", msg, NULL, 0);
		goto out;
	}
	ers_imap_close(im);
	snprintf(w.dir, sizeof w.dir, "/tmp/ers-migrate.XXXXXX");
	if (!mkdtemp(w.dir)) {
		finish(&w, "failed", "cannot make a private directory in /tmp");
		ers_imap_result_free(&folders);
		goto out;
	}
	snprintf(w.conf, sizeof w.conf, "%s/doveadm.conf", w.dir);
	snprintf(w.pwfile, sizeof w.pwfile, "%s/source-password", w.dir);
	struct ers_migrate_folder *rep = ers_xcalloc(folders.nfolders + 1, sizeof *rep);
	size_t nrep = 0;
	long long failed = 0;
	for (size_t i = 0; i < folders.nfolders && !stop_requested; i++) {
		const struct ers_imap_folder *f = &folders.folders[i];
		if (f->noselect || !wanted(ctx, id, f->display, &e))
			continue;
		migrate_folder(&w, f, &rep[nrep]);
		failed += rep[nrep++].failed;
		save_report(&w, rep, nrep);
	}
	rmdir(w.dir);
	char msg[120];
	snprintf(msg, sizeof msg, "%lld messages could not be copied (see the report)", failed);
	finish(&w, stop_requested ? "cancelled" : failed ? "failed" : "done",
	       stop_requested ? "cancelled" : failed ? msg : NULL);
	if (!stop_requested)
		notify_owner(&w, failed ? "failed" : "done", failed ? msg : NULL, rep, nrep);
	for (size_t i = 0; i < nrep; i++)
		free(rep[i].folder), free(rep[i].to), free(rep[i].error);
	free(rep);
	ers_imap_result_free(&folders);
out:
	if (sealed)
		ers_wipe(sealed, strlen(sealed));
	free(sealed);
	ers_buf_free_secret(&w.password);
	ers_migrate_job_free(w.job);
	return rc;
}

int ers_migrate_queued(struct ers_ctx *ctx, long long **ids_r, size_t *n_r, struct ers_error *err)
{
	*ids_r = NULL;
	*n_r = 0;
	PGresult *r = ers_db_exec(ctx, "SELECT id FROM ers.migration WHERE state = 'queued' AND source_password IS NOT NULL"
				       " ORDER BY id", 0, NULL, err);
	if (!r)
		return -1;
	size_t n = (size_t)PQntuples(r);
	long long *ids = ers_xcalloc(n ? n : 1, sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = ers_db_ll(r, (int)i, 0);
	PQclear(r);
	*ids_r = ids;
	*n_r = n;
	return 0;
}
