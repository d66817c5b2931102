/* `ersctl backup create`: the database dump, ers.yaml, the secrets, the
 * mail-stack configuration and (asked) the maildirs, as one tar stream
 * compressed with zstd and encrypted by gpg (crypt.c), written 0600 under a
 * temporary name and renamed when whole.
 *
 * The members, in order:
 *   ers-backup/HEADER    JSON: format, ERS and schema versions, host, time
 *   db/ers.dump.NNNNNN   pg_dump -Fc's output in parts of BK_DUMP_PART bytes
 *   config/ers.yaml      the configuration file
 *   secrets/secrets      the secrets file (master key, ...)
 *   files/ABSOLUTE/PATH  mail-stack, web server, systemd and TLS files present
 *   maildirs/T/M/...     with --include-maildirs: mail_root's tree
 *   ers-backup/MANIFEST  JSON: the header's fields again and every member
 *                        before it: name, role, source, type, size, SHA-256
 * The manifest comes last because a member's hash is known only once it is
 * written and nothing is staged whole on disk (the dump is streamed); the
 * header first tells a reader what the file is before it reads it all.
 * The OpenPGP layer's MDC covers the whole; verify and restore read it all,
 * checking every member against the manifest, before restore changes
 * anything. */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include "backup/internal.h"

/* What the mail stack, the web server and systemd keep here, carried when
 * present (manual 000 "What The Secure Backup Includes"). */
static const char *const system_paths[] = {
	"/etc/postfix", "/etc/dovecot", "/etc/opendkim", "/etc/opendkim.conf", "/etc/default/opendkim",
	"/etc/lighttpd", "/etc/nginx", "/etc/letsencrypt", "/etc/systemd/system/ers.target",
	"/etc/systemd/system/ers-policyd.service", "/etc/systemd/system/ers-backup.service",
	"/etc/systemd/system/ers-backup.timer", "/etc/cron.d/ers",
	NULL,
};

struct writer {
	struct archive *a;
	int fd;
	json_t *members;
	struct ers_backup_result *r;
	struct ers_error *err;
	char *buf;         /* BK_DUMP_PART bytes: dump parts and file copies */
	const char *mail_root;
	const char *secrets_file, *config_file;
};

static int aw_error(struct writer *w, const char *what)
{
	ers_error_set(w->err, ERS_E_IO, "cannot write the backup (%s): %s", what, archive_error_string(w->a));
	return -1;
}

static void note_member(struct writer *w, const char *name, const char *role, const char *source, char type,
			long long size, const char *sha)
{
	json_array_append_new(w->members, json_pack("{s:s,s:s,s:s,s:s#,s:I,s:s}", "name", name, "role", role,
						     "source", source ? source : "", "type", &type, (size_t)1,
						     "size", (json_int_t)size, "sha256", sha ? sha : ""));
	w->r->members++;
	w->r->file_bytes += size;
}

static struct archive_entry *new_entry(const char *name, mode_t mode, long long size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, mode);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, time(NULL), 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	return e;
}

/* A member from memory. */
static int add_buffer(struct writer *w, const char *name, const char *role, const char *source,
		      const void *data, size_t len, mode_t mode)
{
	struct archive_entry *e = new_entry(name, AE_IFREG | mode, (long long)len);
	int rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK)
		return aw_error(w, name);
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return aw_error(w, name);
	unsigned char md[32];
	char hex[65];
	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	bk_hex(md, hex);
	note_member(w, name, role, source, 'f', (long long)len, hex);
	return 0;
}

static struct archive_entry *entry_from_stat(const char *name, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, name);
	return e;
}

/* A file, directory or link of the system: `path` as member `name`.
 * Vanished files (mail moved while we walk) are counted, not errors. */
static int add_path(struct writer *w, const char *name, const char *role, const char *path, bool top);

static int add_dir(struct writer *w, const char *name, const char *role, const char *path, const struct stat *st)
{
	struct archive_entry *e = entry_from_stat(name, st);
	int rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK)
		return aw_error(w, name);
	note_member(w, name, role, path, 'd', 0, NULL);
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT) {
			w->r->vanished++;
			return 0;
		}
		ers_error_set(w->err, ERS_E_IO, "cannot read directory %s: %s", path, strerror(errno));
		return -1;
	}
	/* Sorted, so two backups of the same tree list it alike. */
	struct dirent **names = NULL;
	int n = scandirat(dirfd(d), ".", &names, NULL, alphasort);
	closedir(d);
	if (n < 0) {
		ers_error_set(w->err, ERS_E_IO, "cannot read directory %s: %s", path, strerror(errno));
		return -1;
	}
	int result = 0;
	for (int i = 0; i < n; i++) {
		const char *dn = names[i]->d_name;
		if (result == 0 && strcmp(dn, ".") && strcmp(dn, "..")) {
			struct ers_buf cn = ERS_BUF_INIT, cp = ERS_BUF_INIT;
			ers_buf_addf(&cn, "%s/%s", name, dn);
			ers_buf_addf(&cp, "%s/%s", path, dn);
			if (add_path(w, cn.data, role, cp.data, false) < 0)
				result = -1;
			ers_buf_free(&cn);
			ers_buf_free(&cp);
		}
		free(names[i]);
	}
	free(names);
	return result;
}

static int add_path(struct writer *w, const char *name, const char *role, const char *path, bool top)
{
	/* The backup's own files, and mail when it is not asked for, stay out. */
	if (!strcmp(role, "system") && w->mail_root && !strcmp(path, w->mail_root))
		return 0;
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT) {
			if (!top)
				w->r->vanished++;
			return 0;
		}
		ers_error_set(w->err, ERS_E_IO, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(w, name, role, path, &st);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0) {
			ers_error_set(w->err, ERS_E_IO, "cannot read link %s: %s", path, strerror(errno));
			return -1;
		}
		target[n] = '\0';
		struct archive_entry *e = entry_from_stat(name, &st);
		archive_entry_set_symlink(e, target);
		archive_entry_set_size(e, 0);
		int rc = archive_write_header(w->a, e);
		archive_entry_free(e);
		if (rc != ARCHIVE_OK)
			return aw_error(w, name);
		unsigned char md[32];
		char hex[65];
		EVP_Digest(target, (size_t)n, md, NULL, EVP_sha256(), NULL);
		bk_hex(md, hex);
		note_member(w, name, role, path, 'l', 0, hex);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* sockets, fifos, devices: nothing to restore */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			w->r->vanished++;
			return 0;
		}
		ers_error_set(w->err, ERS_E_IO, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	struct archive_entry *e = entry_from_stat(name, &st);
	int rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK) {
		close(fd);
		return aw_error(w, name);
	}
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	long long total = 0;
	int result = 0;
	for (;;) {
		size_t want = BK_DUMP_PART;
		if ((long long)want > st.st_size - total)
			want = (size_t)(st.st_size - total);
		if (!want)
			break;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ers_error_set(w->err, ERS_E_IO, "%s changed while being read (%s): run the backup again",
				      path, n < 0 ? strerror(errno) : "shorter than it was");
			result = -1;
			break;
		}
		EVP_DigestUpdate(h, w->buf, (size_t)n);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n) {
			result = aw_error(w, name);
			break;
		}
		total += n;
	}
	close(fd);
	unsigned char md[32];
	char hex[65];
	EVP_DigestFinal_ex(h, md, NULL);
	EVP_MD_CTX_free(h);
	if (result < 0)
		return -1;
	bk_hex(md, hex);
	note_member(w, name, role, path, 'f', total, hex);
	if (!strcmp(role, "maildir"))
		w->r->maildir_files++;
	return 0;
}

/* pg_dump -Fc, its output cut in parts as it comes. */
static int add_dump(struct writer *w, const struct ers_config *cfg, json_t *dump_info)
{
	struct ers_buf conn = ERS_BUF_INIT, pw = ERS_BUF_INIT;
	bk_conninfo(cfg, &conn);
	const char *argv[] = { "pg_dump", "--format=custom", "--no-password", "--dbname", conn.data, NULL };
	const char *env[2] = { NULL, NULL };
	if (cfg->secrets.database_password) {
		ers_buf_addf(&pw, "PGPASSWORD=%s", cfg->secrets.database_password);
		env[0] = pw.data;
	}
	struct bk_child child;
	int rc = bk_spawn(argv, BK_CHILD_STDOUT, env, &child, w->err);
	ers_buf_free_secret(&pw);
	ers_buf_free(&conn);
	if (rc < 0)
		return -1;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	long long total = 0;
	int part = 0, result = 0;
	bool eof = false;
	while (!eof && result == 0) {
		size_t have = 0;
		while (have < BK_DUMP_PART) {
			ssize_t n = read(child.fd, w->buf + have, BK_DUMP_PART - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ers_error_set(w->err, ERS_E_IO, "reading pg_dump's output: %s", strerror(errno));
				result = -1;
				break;
			}
			if (n == 0) {
				eof = true;
				break;
			}
			have += (size_t)n;
		}
		if (result < 0 || (eof && have == 0 && part > 0))
			break;
		char name[64];
		snprintf(name, sizeof name, "db/ers.dump.%06d", ++part);
		EVP_DigestUpdate(h, w->buf, have);
		total += (long long)have;
		if (add_buffer(w, name, "dump", "", w->buf, have, 0600) < 0)
			result = -1;
	}
	unsigned char md[32];
	char hex[65];
	EVP_DigestFinal_ex(h, md, NULL);
	EVP_MD_CTX_free(h);
	bk_hex(md, hex);
	if (result < 0) {
		kill(child.pid, SIGTERM);
		struct ers_error ignored;
		bk_wait(&child, &ignored);
		return -1;
	}
	if (bk_wait(&child, w->err) < 0)
		return -1;
	if (total == 0) {
		ers_error_set(w->err, ERS_E_UNAVAILABLE, "pg_dump wrote nothing");
		return -1;
	}
	w->r->dump_bytes = total;
	json_object_set_new(dump_info, "parts", json_integer(part));
	json_object_set_new(dump_info, "size", json_integer(total));
	json_object_set_new(dump_info, "sha256", json_string(hex));
	return 0;
}

static la_ssize_t sock_write_cb(struct archive *a, void *hook, const void *buf, size_t len)
{
	struct writer *w = hook;
	if (bk_write_all(w->fd, buf, len) < 0) {
		archive_set_error(a, errno, "the encryption stopped (%s)", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *absolute(const char *path)
{
	char *r = realpath(path, NULL);
	return r ? r : ers_xstrdup(path);
}

/* --keep: the newest `keep` backups of `dir` stay. */
static void prune(const char *dir, int keep, struct ers_backup_result *r)
{
	struct ers_backup_list *list = NULL;
	struct ers_error ignored;
	if (keep <= 0 || ers_backup_list(dir, &list, &ignored) < 0)
		return;
	for (size_t i = 0; i + (size_t)keep < list->count; i++) {
		if (unlink(list->items[i].path) == 0) {
			r->pruned = ers_xrealloc(r->pruned, (r->npruned + 1) * sizeof *r->pruned);
			r->pruned[r->npruned++] = ers_xstrdup(list->items[i].path);
		}
	}
	ers_backup_list_free(list);
}

static int schema_version(struct ers_ctx *ctx, struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx, "SELECT coalesce(max(version), 0) FROM ers.schema_migration", 0, NULL, err);
	if (!res)
		return -1;
	int v = (int)ers_db_ll(res, 0, 0);
	PQclear(res);
	return v;
}

void ers_backup_result_free(struct ers_backup_result *r)
{
	if (!r)
		return;
	free(r->path);
	for (size_t i = 0; i < r->npruned; i++)
		free(r->pruned[i]);
	free(r->pruned);
	for (size_t i = 0; i < r->nskipped; i++)
		free(r->skipped[i]);
	free(r->skipped);
	free(r);
}

int ers_backup_create(struct ers_ctx *ctx, const struct ers_actor *actor,
		      const struct ers_backup_create_opts *opts, const char *passphrase,
		      struct ers_backup_result **r_r, struct ers_error *err)
{
	const struct ers_config *cfg = ctx->cfg;
	if (ers_authz_require(ctx, actor, ERS_ACT_BACKUP, NULL, "backup", err) < 0)
		return -1;
	if (!passphrase || strlen(passphrase) < 8) {
		ers_error_set(err, ERS_E_INVALID, "the passphrase must be at least 8 bytes");
		return -1;
	}
	int schema = schema_version(ctx, err);
	if (schema < 0)
		return -1;

	/* Where: a file named by the caller, or a new name in a directory. */
	const char *out = opts->output && *opts->output ? opts->output : ERS_BACKUP_DEFAULT_DIR;
	bool into_dir = is_dir(out) || (opts->output == NULL) || out[strlen(out) - 1] == '/';
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[32], iso[32];
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct ers_buf final = ERS_BUF_INIT, dir = ERS_BUF_INIT, tmp = ERS_BUF_INIT;
	if (into_dir) {
		if (!is_dir(out) && mkdir(out, 0700) < 0) {
			ers_error_set(err, ERS_E_IO, "cannot create the backup directory %s: %s", out, strerror(errno));
			return -1;
		}
		ers_buf_adds(&dir, out);
		while (dir.len > 1 && dir.data[dir.len - 1] == '/')
			dir.data[--dir.len] = '\0';
		ers_buf_addf(&final, "%s/" ERS_BACKUP_PREFIX "%s-%s" ERS_BACKUP_SUFFIX, dir.data, host, stamp);
	} else {
		ers_buf_adds(&final, out);
		const char *slash = strrchr(out, '/');
		if (slash)
			ers_buf_add(&dir, out, slash == out ? 1 : (size_t)(slash - out));
		else
			ers_buf_adds(&dir, ".");
	}
	ers_buf_addf(&tmp, "%s/.ers-backup.XXXXXX.part", dir.data);
	int fd = mkostemps(tmp.data, 5, O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot create a file in %s: %s", dir.data, strerror(errno));
		ers_buf_free(&final);
		ers_buf_free(&dir);
		ers_buf_free(&tmp);
		return -1;
	}
	fchmod(fd, 0600);

	struct ers_backup_result *r = ers_xcalloc(1, sizeof *r);
	r->schema_version = schema;
	struct writer w = { .fd = -1, .members = json_array(), .r = r, .err = err, .buf = ers_xmalloc(BK_DUMP_PART),
			    .mail_root = cfg->mailstack.mail_root };
	struct bk_crypt *crypt = NULL;
	int result = -1;
	if (bk_encrypt_start(passphrase, fd, tmp.data, &crypt, &w.fd, err) < 0)
		goto out;
	w.a = archive_write_new();
	archive_write_set_format_pax_restricted(w.a);
	archive_write_add_filter_zstd(w.a);
	archive_write_set_filter_option(w.a, "zstd", "compression-level", "3");
	/* One zstd thread: its workers would cost ~20 MB more (the 64 MB
	 * goal), and on a busy machine they did not shorten the run
	 * (test/bench/RESULTS.md, section 7). */
	archive_write_set_bytes_per_block(w.a, 1 << 20); /* fewer, larger writes to gpg */
	archive_write_set_bytes_in_last_block(w.a, 1);
	if (archive_write_open2(w.a, &w, NULL, sock_write_cb, NULL, NULL) != ARCHIVE_OK) {
		aw_error(&w, "start");
		goto out;
	}
	json_t *head = json_pack("{s:i,s:s,s:i,s:s,s:s,s:b}", "format", ERS_BACKUP_FORMAT, "ers_version", ERS_VERSION,
				 "schema_version", schema, "host", host, "created", iso, "maildirs",
				 (int)opts->include_maildirs);
	char *head_text = json_dumps(head, JSON_INDENT(2) | JSON_SORT_KEYS);
	int hrc = add_buffer(&w, "ers-backup/HEADER", "header", "", head_text, strlen(head_text), 0644);
	free(head_text);
	json_t *dump = json_object();
	json_object_set_new(head, "dump", dump);
	if (hrc < 0 || add_dump(&w, cfg, dump) < 0)
		goto out_head;
	char *config_path = absolute(cfg->path);
	char *secrets_path = absolute(cfg->secrets_file);
	int frc = add_path(&w, "config/ers.yaml", "config", config_path, true);
	if (frc == 0 && access(secrets_path, F_OK) == 0)
		frc = add_path(&w, "secrets/secrets", "secrets", secrets_path, true);
	/* The mail stack's files present here, the TLS files ers.yaml names,
	 * and those asked for. */
	const char *extra[4] = { cfg->mailstack.tls_cert, cfg->mailstack.tls_key, NULL, NULL };
	for (int pass = 0; frc == 0 && pass < 3; pass++) {
		size_t n = pass == 0 ? sizeof system_paths / sizeof *system_paths - 1 : pass == 1 ? 2 : opts->npaths;
		for (size_t i = 0; frc == 0 && i < n; i++) {
			const char *p = pass == 0 ? system_paths[i] : pass == 1 ? extra[i] : opts->paths[i];
			if (!p || !*p)
				continue;
			char *abs = absolute(p);
			struct stat st;
			if (lstat(abs, &st) < 0) {
				if (pass == 2) {
					ers_error_set(err, ERS_E_NOTFOUND, "--path %s: %s", p, strerror(errno));
					frc = -1;
				} else {
					r->skipped = ers_xrealloc(r->skipped, (r->nskipped + 1) * sizeof *r->skipped);
					r->skipped[r->nskipped++] = ers_xstrdup(abs);
				}
			} else if (strcmp(abs, config_path) && strcmp(abs, secrets_path)) {
				struct ers_buf name = ERS_BUF_INIT;
				ers_buf_addf(&name, "files%s", abs);
				frc = add_path(&w, name.data, "system", abs, true);
				ers_buf_free(&name);
			}
			free(abs);
		}
	}
	if (frc == 0 && opts->include_maildirs) {
		struct stat st;
		if (stat(cfg->mailstack.mail_root, &st) == 0)
			frc = add_path(&w, "maildirs", "maildir", cfg->mailstack.mail_root, true);
	}
	free(config_path);
	free(secrets_path);
	if (frc < 0)
		goto out_head;
	json_object_set(head, "members", w.members);
	char *man = json_dumps(head, JSON_INDENT(1) | JSON_SORT_KEYS);
	int mrc = add_buffer(&w, "ers-backup/MANIFEST", "manifest", "", man, strlen(man), 0644);
	free(man);
	if (mrc < 0)
		goto out_head;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		aw_error(&w, "end");
		goto out_head;
	}
	result = 0;
out_head:
	json_decref(head);
out:
	if (w.a)
		archive_write_free(w.a);
	if (w.fd >= 0)
		close(w.fd);
	struct ers_error cerr;
	if (crypt && bk_crypt_finish(crypt, final.data, &cerr) < 0 && result == 0) {
		*err = cerr;
		result = -1;
	}
	free(w.buf);
	json_decref(w.members);
	struct stat st;
	if (result == 0 && (fsync(fd) < 0 || fstat(fd, &st) < 0)) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", tmp.data, strerror(errno));
		result = -1;
	}
	close(fd);
	/* Into a directory: a backup of the same second gets "-2", "-3" ...
	 * (link() never replaces a file); a file named by the caller is
	 * replaced, atomically. */
	if (result == 0 && into_dir) {
		struct ers_buf name = ERS_BUF_INIT;
		size_t stem = final.len - strlen(ERS_BACKUP_SUFFIX);
		for (int n = 1; result == 0; n++) {
			ers_buf_reset(&name);
			if (n == 1)
				ers_buf_adds(&name, final.data);
			else
				ers_buf_addf(&name, "%.*s-%d%s", (int)stem, final.data, n, ERS_BACKUP_SUFFIX);
			if (link(tmp.data, name.data) == 0)
				break;
			if (errno != EEXIST || n == 100) {
				ers_error_set(err, ERS_E_IO, "cannot link %s to %s: %s", tmp.data, name.data, strerror(errno));
				result = -1;
			}
		}
		if (result == 0) {
			ers_buf_reset(&final);
			ers_buf_adds(&final, name.data);
			unlink(tmp.data);
		}
		ers_buf_free(&name);
	} else if (result == 0 && rename(tmp.data, final.data) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot rename %s to %s: %s", tmp.data, final.data, strerror(errno));
		result = -1;
	}
	if (result < 0) {
		unlink(tmp.data);
	} else {
		int dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		r->path = ers_buf_detach(&final);
		r->bytes = st.st_size;
	}
	ers_buf_free(&final);
	ers_buf_free(&tmp);
	if (result == 0) {
		char detail[512];
		snprintf(detail, sizeof detail, "%lld bytes, %lld members, schema %d, %s", r->bytes, r->members, schema,
			 opts->include_maildirs ? "with maildirs" : "without maildirs");
		if (ers_db_begin(ctx, err) < 0 ||
		    ers_db_commit_audited(ctx, actor, "backup.create", r->path, 0, NULL, detail, err) < 0) {
			ers_error_prefix(err, "the backup %s was written, but its audit row was not", r->path);
			result = -1;
		}
	}
	if (result == 0 && into_dir)
		prune(dir.data, opts->keep, r);
	ers_buf_free(&dir);
	if (result < 0) {
		ers_backup_result_free(r);
		return -1;
	}
	*r_r = r;
	return 0;
}
