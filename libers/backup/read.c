/* Reading a backup: decrypt (crypt.c), walk the tar stream, hash every
 * member as it passes and check the whole against the trailer manifest
 * (the layout is described in create.c); `backup verify` on top of it,
 * which also has pg_restore read the dump; `backup list`; the passphrase
 * file's rules. */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

#define MANIFEST_MAX (256u << 20)

int ers_backup_passphrase_file(const char *path, char **pass_r, struct ers_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ers_error_set(err, errno == ENOENT ? ERS_E_NOTFOUND : ERS_E_IO, "passphrase file %s: %s", path,
			      strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ers_error_set(err, ERS_E_INVALID, "passphrase file %s must be a regular file", path);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		ers_error_set(err, ERS_E_INVALID, "passphrase file %s must be owned by root, is owned by uid %u", path,
			      (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & 077) {
		ers_error_set(err, ERS_E_INVALID,
			      "passphrase file %s must be readable by its owner only (chmod 600), is mode %04o", path,
			      (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	char buf[1100];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		ers_error_set(err, ERS_E_IO, "passphrase file %s: %s", path, strerror(errno));
		goto fail;
	}
	buf[n] = '\0';
	size_t len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0) {
		ers_error_set(err, ERS_E_INVALID, "passphrase file %s is empty", path);
		explicit_bzero(buf, sizeof buf);
		goto fail;
	}
	if (len < 8 || len > 1024) {
		ers_error_set(err, ERS_E_INVALID, "the passphrase in %s must be 8..1024 bytes, is %zu", path, len);
		explicit_bzero(buf, sizeof buf);
		goto fail;
	}
	*pass_r = ers_xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

void ers_backup_passphrase_free(char *pass)
{
	if (!pass)
		return;
	explicit_bzero(pass, strlen(pass));
	free(pass);
}

void ers_backup_info_free(struct ers_backup_info *info)
{
	if (!info)
		return;
	free(info->ers_version);
	free(info->host);
	free(info->created);
	for (size_t i = 0; i < info->count; i++) {
		free(info->members[i].name);
		free(info->members[i].role);
		free(info->members[i].source);
	}
	free(info->members);
	free(info);
}

struct seen {
	char *name;
	char type;
	long long size;
	char sha[65];
};

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The manifest against what was read; fills `info`. */
static int check_manifest(const char *file, const struct ers_buf *head, const struct ers_buf *man,
			  const struct seen *seen, size_t nseen, struct ers_backup_info *info, struct ers_error *err)
{
	json_error_t je;
	json_t *h = json_loadb(head->data, head->len, 0, &je);
	json_t *m = json_loadb(man->data, man->len, 0, &je);
	int rc = -1;
	if (!h || !m || !json_is_object(h) || !json_is_object(m)) {
		ers_error_set(err, ERS_E_INVALID, "%s: its header or manifest is not valid JSON", file);
		goto out;
	}
	const char *keys[] = { "format", "ers_version", "schema_version", "host", "created", "maildirs" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (!json_equal(json_object_get(h, keys[i]), json_object_get(m, keys[i]))) {
			ers_error_set(err, ERS_E_INVALID, "%s: header and manifest disagree on %s", file, keys[i]);
			goto out;
		}
	info->format = (int)json_integer_value(json_object_get(m, "format"));
	if (info->format != ERS_BACKUP_FORMAT) {
		ers_error_set(err, ERS_E_INVALID, "%s is a backup of format %d; this ersctl reads format %d", file,
			      info->format, ERS_BACKUP_FORMAT);
		goto out;
	}
	info->ers_version = ers_xstrdup(jstr(m, "ers_version"));
	info->host = ers_xstrdup(jstr(m, "host"));
	info->created = ers_xstrdup(jstr(m, "created"));
	info->schema_version = (int)json_integer_value(json_object_get(m, "schema_version"));
	info->maildirs = json_is_true(json_object_get(m, "maildirs"));
	info->dump_bytes = json_integer_value(json_object_get(json_object_get(m, "dump"), "size"));
	json_t *members = json_object_get(m, "members");
	size_t n = json_array_size(members);
	if (n != nseen) {
		ers_error_set(err, ERS_E_INVALID, "%s: the manifest lists %zu members, the archive holds %zu", file, n,
			      nseen);
		goto out;
	}
	info->members = ers_xcalloc(n ? n : 1, sizeof *info->members);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(members, i);
		struct ers_backup_member *mb = &info->members[info->count++];
		mb->name = ers_xstrdup(jstr(o, "name"));
		mb->role = ers_xstrdup(jstr(o, "role"));
		mb->source = ers_xstrdup(jstr(o, "source"));
		mb->type = jstr(o, "type")[0];
		mb->size = json_integer_value(json_object_get(o, "size"));
		snprintf(mb->sha256, sizeof mb->sha256, "%s", jstr(o, "sha256"));
		if (strcmp(mb->name, seen[i].name) || mb->type != seen[i].type || mb->size != seen[i].size ||
		    strcmp(mb->sha256, seen[i].sha)) {
			ers_error_set(err, ERS_E_INVALID, "%s: member %zu (%s) does not match the manifest (%s)", file,
				      i + 1, seen[i].name,
				      strcmp(mb->name, seen[i].name) ? "name" : mb->type != seen[i].type ? "type"
				      : mb->size != seen[i].size ? "size" : "SHA-256");
			goto out;
		}
		if (strstr(mb->name, "..") || mb->name[0] == '/' ||
		    (mb->source[0] && (mb->source[0] != '/' || strstr(mb->source, "/../")))) {
			ers_error_set(err, ERS_E_INVALID, "%s: member %s has an unsafe path", file, mb->name);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(h);
	json_decref(m);
	return rc;
}

int bk_read(const char *file, const char *passphrase, const struct bk_visitor *v,
	    struct ers_backup_info **info_r, struct ers_error *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, errno == ENOENT ? ERS_E_NOTFOUND : ERS_E_IO, "%s: %s", file, strerror(errno));
		return -1;
	}
	struct stat st;
	fstat(fd, &st);
	struct bk_crypt *crypt = NULL;
	int plain = -1;
	if (bk_decrypt_start(passphrase, fd, &crypt, &plain, err) < 0) {
		close(fd);
		return -1;
	}
	struct archive *a = archive_read_new();
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	struct ers_buf head = ERS_BUF_INIT, man = ERS_BUF_INIT;
	struct seen *seen = NULL;
	size_t nseen = 0, cap = 0;
	struct ers_error aerr = { 0 }, verr = { 0 };
	int stage = 0; /* 0 ok, 1 archive error, 2 visitor error */
	char *buf = ers_xmalloc(1 << 16);
	bool got_manifest = false;
	if (archive_read_open_fd(a, plain, 1 << 16) != ARCHIVE_OK) {
		ers_error_set(&aerr, ERS_E_INVALID, "%s: %s", file, archive_error_string(a));
		stage = 1;
	}
	while (stage == 0) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			ers_error_set(&aerr, ERS_E_INVALID, "%s is damaged or cut short (%s)", file, archive_error_string(a));
			stage = 1;
			break;
		}
		/* Directories come back with a '/' at the end. */
		char name[4096];
		snprintf(name, sizeof name, "%s", archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
		for (size_t nl = strlen(name); nl > 1 && name[nl - 1] == '/';)
			name[--nl] = '\0';
		if (nseen == 0 && strcmp(name, "ers-backup/HEADER")) {
			ers_error_set(&aerr, ERS_E_INVALID, "%s is not an ERS backup (its first member is not ers-backup/HEADER)", file);
			stage = 1;
			break;
		}
		if (got_manifest) {
			ers_error_set(&aerr, ERS_E_INVALID, "%s: a member follows the manifest", file);
			stage = 1;
			break;
		}
		bool is_head = nseen == 0, is_man = !strcmp(name, "ers-backup/MANIFEST");
		int skip = 0;
		if (!is_man && v && v->begin && (skip = v->begin(v->hook, e, name, &verr)) < 0) {
			stage = 2;
			break;
		}
		EVP_MD_CTX *h = EVP_MD_CTX_new();
		EVP_DigestInit_ex(h, EVP_sha256(), NULL);
		long long size = 0;
		char type = archive_entry_filetype(e) == AE_IFDIR ? 'd' : archive_entry_filetype(e) == AE_IFLNK ? 'l' : 'f';
		if (type == 'l') {
			const char *t = archive_entry_symlink(e);
			EVP_DigestUpdate(h, t ? t : "", t ? strlen(t) : 0);
		}
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, 1 << 16);
			if (n == 0)
				break;
			if (n < 0) {
				ers_error_set(&aerr, ERS_E_INVALID, "%s is damaged or cut short (%s: %s)", file, name,
					      archive_error_string(a));
				stage = 1;
				break;
			}
			EVP_DigestUpdate(h, buf, (size_t)n);
			size += n;
			if (is_head || is_man) {
				if (head.len + man.len + (size_t)n > MANIFEST_MAX) {
					ers_error_set(&aerr, ERS_E_INVALID, "%s: its manifest is too large", file);
					stage = 1;
					break;
				}
				ers_buf_add(is_head ? &head : &man, buf, (size_t)n);
			}
			if (!is_man && !skip && v && v->data && v->data(v->hook, buf, (size_t)n, &verr) < 0) {
				stage = 2;
				break;
			}
		}
		unsigned char md[32];
		char hex[65] = "";
		EVP_DigestFinal_ex(h, md, NULL);
		EVP_MD_CTX_free(h);
		if (stage)
			break;
		if (type != 'd')
			bk_hex(md, hex);
		if (is_man) {
			got_manifest = true;
			continue;
		}
		if (v && v->end && v->end(v->hook, e, name, hex, size, &verr) < 0) {
			stage = 2;
			break;
		}
		if (nseen == cap) {
			cap = cap ? 2 * cap : 256;
			seen = ers_xrealloc(seen, cap * sizeof *seen);
		}
		seen[nseen].name = ers_xstrdup(name);
		seen[nseen].type = type;
		seen[nseen].size = size;
		memcpy(seen[nseen].sha, hex, sizeof hex);
		nseen++;
	}
	archive_read_free(a);
	/* What follows the tar's end (its last block's padding, zstd's frame
	 * end) is read too: gpg must write the whole plaintext to check the
	 * MDC, and a socket closed with data unread would cut it short. */
	if (stage == 0)
		while (read(plain, buf, 1 << 16) > 0)
			;
	free(buf);
	close(plain);
	struct ers_error cerr = { 0 };
	int crc = bk_crypt_finish(crypt, file, &cerr);
	close(fd);
	int rc = -1;
	struct ers_backup_info *info = NULL;
	/* gpg's verdict first: a wrong passphrase or a changed byte shows
	 * in the archive too, but gpg says what it is. */
	if (crc < 0 && cerr.code == ERS_E_INVALID)
		*err = cerr;
	else if (stage == 2)
		*err = verr;
	else if (stage == 1)
		*err = aerr;
	else if (crc < 0)
		*err = cerr;
	else if (!got_manifest)
		ers_error_set(err, ERS_E_INVALID, "%s is cut short: it has no manifest", file);
	else {
		info = ers_xcalloc(1, sizeof *info);
		info->bytes = st.st_size;
		if (check_manifest(file, &head, &man, seen, nseen, info, err) == 0)
			rc = 0;
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i].name);
	free(seen);
	ers_buf_free(&head);
	ers_buf_free(&man);
	if (rc < 0) {
		ers_backup_info_free(info);
		return -1;
	}
	*info_r = info;
	return 0;
}

/* verify: the dump parts into `pg_restore --file=/dev/null`, which reads
 * the whole custom-format dump -- its table of contents and every data
 * block, decompressed -- and writes its script nowhere.  (--list would
 * stop after the table of contents.) */
struct verify {
	struct bk_child child;
	bool running, done;
};

static int verify_begin(void *hook, struct archive_entry *e, const char *name, struct ers_error *err)
{
	struct verify *v = hook;
	bool dump = !strncmp(name, "db/ers.dump.", 12);
	if (dump && !v->running && !v->done) {
		const char *argv[] = { "pg_restore", "--file=/dev/null", NULL };
		if (bk_spawn(argv, BK_CHILD_STDIN, NULL, &v->child, err) < 0)
			return -1;
		v->running = true;
	}
	if (!dump && v->running) {
		v->running = false;
		v->done = true;
		if (bk_wait(&v->child, err) < 0) {
			ers_error_prefix(err, "the database dump is not readable");
			return -1;
		}
	}
	return 0;
}

static int verify_data(void *hook, const void *buf, size_t len, struct ers_error *err)
{
	struct verify *v = hook;
	if (v->running && bk_write_all(v->child.fd, buf, len) < 0) {
		v->running = false;
		v->done = true;
		if (bk_wait(&v->child, err) == 0)
			ers_error_set(err, ERS_E_IO, "writing to pg_restore: %s", strerror(errno));
		ers_error_prefix(err, "the database dump is not readable");
		return -1;
	}
	return 0;
}

int ers_backup_verify(const struct ers_actor *actor, const char *file, const char *passphrase,
		      struct ers_backup_info **info_r, struct ers_error *err)
{
	if (ers_authz_check(actor, ERS_ACT_BACKUP, NULL, err) < 0)
		return -1;
	struct verify v = { 0 };
	struct bk_visitor vis = { verify_begin, verify_data, NULL, &v };
	int rc = bk_read(file, passphrase, &vis, info_r, err);
	if (v.running) {
		struct ers_error werr;
		if (bk_wait(&v.child, &werr) < 0 && rc == 0) {
			*err = werr;
			ers_error_prefix(err, "the database dump is not readable");
			ers_backup_info_free(*info_r);
			*info_r = NULL;
			rc = -1;
		}
	} else if (rc == 0 && !v.done) {
		ers_error_set(err, ERS_E_INVALID, "%s holds no database dump", file);
		ers_backup_info_free(*info_r);
		*info_r = NULL;
		rc = -1;
	}
	return rc;
}

static int by_time(const void *a, const void *b)
{
	const struct ers_backup_entry *x = a, *y = b;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

int ers_backup_list(const char *dir, struct ers_backup_list **list_r, struct ers_error *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		ers_error_set(err, errno == ENOENT ? ERS_E_NOTFOUND : ERS_E_IO, "%s: %s", dir, strerror(errno));
		return -1;
	}
	struct ers_backup_list *l = ers_xcalloc(1, sizeof *l);
	size_t cap = 0;
	size_t pl = strlen(ERS_BACKUP_PREFIX), sl = strlen(ERS_BACKUP_SUFFIX);
	for (struct dirent *de; (de = readdir(d));) {
		size_t n = strlen(de->d_name);
		if (n <= pl + sl || strncmp(de->d_name, ERS_BACKUP_PREFIX, pl) || strcmp(de->d_name + n - sl, ERS_BACKUP_SUFFIX))
			continue;
		struct stat st;
		struct ers_buf path = ERS_BUF_INIT;
		ers_buf_addf(&path, "%s/%s", dir, de->d_name);
		if (lstat(path.data, &st) < 0 || !S_ISREG(st.st_mode)) {
			ers_buf_free(&path);
			continue;
		}
		if (l->count == cap) {
			cap = cap ? 2 * cap : 16;
			l->items = ers_xrealloc(l->items, cap * sizeof *l->items);
		}
		struct ers_backup_entry *it = &l->items[l->count++];
		it->path = ers_buf_detach(&path);
		it->name = ers_xstrdup(de->d_name);
		it->bytes = st.st_size;
		it->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		struct tm tm;
		gmtime_r(&st.st_mtime, &tm);
		strftime(it->mtime, sizeof it->mtime, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	closedir(d);
	if (l->count)
		qsort(l->items, l->count, sizeof *l->items, by_time);
	*list_r = l;
	return 0;
}

void ers_backup_list_free(struct ers_backup_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].path);
		free(list->items[i].name);
	}
	free(list->items);
	free(list);
}
