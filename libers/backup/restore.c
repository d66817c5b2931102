/* `ersctl backup restore`: a lost server back from its backup.
 *
 * Two passes over the file.  The first reads it all -- decrypting,
 * hashing every member against the manifest -- and changes nothing; only a file that is whole and unchanged
 * reaches the second.  Between them the target is checked: a database
 * holding tenants or users, or an existing file that differs from the
 * backup's, refuses the restore (still nothing changed) unless --force.
 * The second pass pipes the dump into pg_restore (one transaction: it
 * applies whole or not at all) and writes the files: ers.yaml and the
 * mail-stack files to their paths (under --files-to DIR when given), the
 * secrets to the configured secrets file, the maildirs under mail_root.
 * Then pending migrations, the mail roles' grants and the audit row. */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "ers/mailstack.h"
#include "backup/internal.h"

struct restore {
	const struct ers_config *cfg;     /* the target's */
	const char *files_to;             /* "" or a directory */
	struct ers_backup_info *info;     /* from the first pass */
	bool *keep;                       /* per member: identical on disk, left alone */
	size_t index;                     /* the member being read */
	/* first pass: what a fresh machine needs before the second */
	struct ers_buf yaml, secrets;
	char *yaml_source;
	bool capture;
	int capturing;                    /* 1 yaml, 2 secrets */
	/* second pass */
	struct bk_child child;
	bool running, done;
	struct archive *disk;
	bool writing;
	struct ers_backup_restored *out;
	bool verify_only;
};

/* Where member `m` goes on this machine. */
static void destination(const struct restore *r, const struct ers_backup_member *m, struct ers_buf *out)
{
	ers_buf_reset(out);
	if (!strcmp(m->role, "secrets") && r->cfg)
		ers_buf_adds(out, r->cfg->secrets_file);
	else if (!strcmp(m->role, "maildir"))
		ers_buf_addf(out, "%s%s", r->cfg->mailstack.mail_root, m->name + strlen("maildirs"));
	else if (!strcmp(m->role, "config") || !strcmp(m->role, "secrets") || !strcmp(m->role, "system"))
		ers_buf_addf(out, "%s%s", r->files_to, m->source);
}

static bool file_has(const char *path, const struct ers_backup_member *m, bool *exists_r)
{
	struct stat st;
	*exists_r = lstat(path, &st) == 0;
	if (!*exists_r)
		return false;
	if (m->type == 'd')
		return S_ISDIR(st.st_mode);
	if (m->type == 'l') {
		char t[4096];
		ssize_t n = readlink(path, t, sizeof t - 1);
		if (n < 0)
			return false;
		unsigned char md[32];
		char hex[65];
		EVP_Digest(t, (size_t)n, md, NULL, EVP_sha256(), NULL);
		bk_hex(md, hex);
		return !strcmp(hex, m->sha256);
	}
	if (!S_ISREG(st.st_mode) || st.st_size != m->size)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		EVP_DigestUpdate(h, buf, (size_t)n);
	close(fd);
	unsigned char md[32];
	char hex[65];
	EVP_DigestFinal_ex(h, md, NULL);
	EVP_MD_CTX_free(h);
	bk_hex(md, hex);
	return n == 0 && !strcmp(hex, m->sha256);
}

static void conflict(struct ers_backup_restored *out, const char *what, const char *why)
{
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_addf(&b, "%s %s", what, why);
	out->conflicts = ers_xrealloc(out->conflicts, (out->nconflicts + 1) * sizeof *out->conflicts);
	out->conflicts[out->nconflicts++] = ers_buf_detach(&b);
}

/* First pass: capture ers.yaml and the secrets for a fresh machine.  (The
 * dump is checked by its hashes and the MDC here; pg_restore reads it in
 * the second pass, in one transaction, before any file is written: the
 * dump's parts come first in the archive.) */
static int first_begin(void *hook, struct archive_entry *e, const char *name, struct ers_error *err)
{
	struct restore *r = hook;
	r->capturing = !strcmp(name, "config/ers.yaml") ? 1 : !strcmp(name, "secrets/secrets") ? 2 : 0;
	if (!strncmp(name, "db/ers.dump.", 12))
		r->done = true;
	return 0;
}

static int first_data(void *hook, const void *buf, size_t len, struct ers_error *err)
{
	struct restore *r = hook;
	if (r->capturing == 1)
		ers_buf_add(&r->yaml, buf, len);
	else if (r->capturing == 2)
		ers_buf_add(&r->secrets, buf, len);
	return 0;
}

/* Second pass. */
static const struct ers_backup_member *member_at(struct restore *r, const char *name)
{
	if (r->index >= r->info->count || strcmp(r->info->members[r->index].name, name))
		return NULL; /* the file changed between the passes */
	return &r->info->members[r->index];
}

static int disk_error(struct restore *r, const char *path, struct ers_error *err)
{
	ers_error_set(err, ERS_E_IO, "cannot write %s: %s", path, archive_error_string(r->disk));
	return -1;
}

static int second_begin(void *hook, struct archive_entry *e, const char *name, struct ers_error *err)
{
	struct restore *r = hook;
	const struct ers_backup_member *m = member_at(r, name);
	if (!m) {
		ers_error_set(err, ERS_E_INVALID, "the backup changed between its two readings (at %s): restore it again", name);
		return -1;
	}
	bool dump = !strcmp(m->role, "dump");
	if (dump && !r->running && !r->done) {
		struct ers_buf conn = ERS_BUF_INIT, pw = ERS_BUF_INIT;
		bk_conninfo(r->cfg, &conn);
		const char *argv[] = { "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
				       "--single-transaction", "--exit-on-error", "--no-password", "--dbname", conn.data, NULL };
		const char *env[2] = { NULL, NULL };
		if (r->cfg->secrets.database_password) {
			ers_buf_addf(&pw, "PGPASSWORD=%s", r->cfg->secrets.database_password);
			env[0] = pw.data;
		}
		int rc = bk_spawn(argv, BK_CHILD_STDIN, env, &r->child, err);
		ers_buf_free_secret(&pw);
		ers_buf_free(&conn);
		if (rc < 0)
			return -1;
		r->running = true;
	}
	if (!dump && r->running) {
		r->running = false;
		r->done = true;
		if (bk_wait(&r->child, err) < 0) {
			ers_error_prefix(err, "restoring the database");
			return -1;
		}
	}
	r->writing = false;
	if (dump || r->keep[r->index] || !strcmp(m->role, "header"))
		return 0;
	struct ers_buf dest = ERS_BUF_INIT;
	destination(r, m, &dest);
	if (!dest.len) {
		ers_buf_free(&dest);
		return 0;
	}
	/* Parents first (a --files-to tree, a new mail_root). */
	for (char *s = strchr(dest.data + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dest.data, 0755);
		*s = '/';
	}
	struct archive_entry *copy = archive_entry_clone(e);
	archive_entry_set_pathname(copy, dest.data);
	if (!strcmp(m->role, "secrets")) {
		archive_entry_set_perm(copy, 0600);
	}
	int rc = archive_write_header(r->disk, copy);
	archive_entry_free(copy);
	if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
		rc = disk_error(r, dest.data, err);
		ers_buf_free(&dest);
		return rc;
	}
	ers_buf_free(&dest);
	r->writing = true;
	if (!strcmp(m->role, "maildir") && m->type == 'f')
		r->out->maildir_files++;
	else if (m->type != 'd')
		r->out->files++;
	return 0;
}

static int second_data(void *hook, const void *buf, size_t len, struct ers_error *err)
{
	struct restore *r = hook;
	if (r->running && bk_write_all(r->child.fd, buf, len) < 0) {
		r->running = false;
		r->done = true;
		if (bk_wait(&r->child, err) == 0)
			ers_error_set(err, ERS_E_IO, "writing to pg_restore: %s", strerror(errno));
		ers_error_prefix(err, "restoring the database");
		return -1;
	}
	if (r->writing && archive_write_data(r->disk, buf, len) != (la_ssize_t)len)
		return disk_error(r, r->info->members[r->index].name, err);
	return 0;
}

static int second_end(void *hook, struct archive_entry *e, const char *name, const char *sha256, long long size,
		      struct ers_error *err)
{
	struct restore *r = hook;
	if (r->writing) {
		r->writing = false;
		if (archive_write_finish_entry(r->disk) < ARCHIVE_WARN)
			return disk_error(r, name, err);
	}
	r->index++;
	return 0;
}

static int count_end(void *hook, struct archive_entry *e, const char *name, const char *sha256, long long size,
		     struct ers_error *err)
{
	return 0;
}

void ers_backup_restored_free(struct ers_backup_restored *r)
{
	if (!r)
		return;
	ers_backup_info_free(r->info);
	free(r->database);
	free(r->secrets_file);
	free(r->config_file);
	free(r->warning);
	for (size_t i = 0; i < r->nconflicts; i++)
		free(r->conflicts[i]);
	free(r->conflicts);
	free(r);
}

/* Writes `data` to `path` (mode `mode`) atomically, parents made. */
static int write_small(const char *path, const struct ers_buf *data, mode_t mode, struct ers_error *err)
{
	struct ers_buf tmp = ERS_BUF_INIT;
	char *dir = ers_xstrdup(path);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
	free(dir);
	ers_buf_addf(&tmp, "%s.ers-restore.tmp", path);
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int rc = -1;
	if (fd >= 0 && fchmod(fd, mode) == 0 && write(fd, data->data, data->len) == (ssize_t)data->len &&
	    fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		if (rename(tmp.data, path) == 0)
			rc = 0;
	}
	if (rc < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp.data);
	}
	ers_buf_free(&tmp);
	return rc;
}

/* Whether the database holds tenants or users (a migrated, empty one does
 * not). */
static int database_in_use(struct ers_ctx *ctx, bool *used_r, struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx, "SELECT to_regclass('ers.tenant') IS NOT NULL AND to_regclass('ers.mailbox') IS NOT NULL",
				    0, NULL, err);
	if (!res)
		return -1;
	bool tables = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	*used_r = false;
	if (!tables)
		return 0;
	res = ers_db_exec(ctx, "SELECT EXISTS (SELECT 1 FROM ers.tenant) OR EXISTS (SELECT 1 FROM ers.mailbox)", 0, NULL, err);
	if (!res)
		return -1;
	*used_r = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

int ers_backup_restore(const struct ers_config *cfg_in, const struct ers_actor *actor, const char *file,
		       const char *passphrase, const struct ers_backup_restore_opts *opts,
		       struct ers_backup_restored **r_r, struct ers_error *err)
{
	if (ers_authz_check(actor, ERS_ACT_BACKUP, NULL, err) < 0)
		return -1;
	struct ers_backup_restored *out = ers_xcalloc(1, sizeof *out);
	*r_r = out;
	struct restore r = { .cfg = cfg_in, .files_to = opts->files_to ? opts->files_to : "", .out = out };
	struct ers_config *own_cfg = NULL;
	struct ers_ctx *ctx = NULL;
	int rc = -1;
	if (!cfg_in && r.files_to[0]) {
		ers_error_set(err, ERS_E_USAGE, "--files-to needs a configuration to restore into (ers.yaml); on a fresh machine leave it out");
		return -1;
	}

	/* Pass 1: read it all, change nothing. */
	struct bk_visitor first = { first_begin, first_data, count_end, &r };
	if (bk_read(file, passphrase, &first, &r.info, err) < 0)
		goto out;
	out->info = r.info;
	if (!r.done) {
		ers_error_set(err, ERS_E_INVALID, "%s holds no database dump", file);
		goto out;
	}
	if (r.info->schema_version > ers_schema_latest()) {
		ers_error_set(err, ERS_E_INVALID,
			      "%s holds a database of schema %d; this ersctl knows schema %d at most: install ERS %s or newer first",
			      file, r.info->schema_version, ers_schema_latest(), r.info->ers_version);
		goto out;
	}

	/* A fresh machine: the backup's ers.yaml and secrets, first. */
	if (!cfg_in) {
		const char *yaml_path = NULL, *secrets_path = NULL;
		for (size_t i = 0; i < r.info->count; i++) {
			if (!strcmp(r.info->members[i].role, "config"))
				yaml_path = r.info->members[i].source;
			if (!strcmp(r.info->members[i].role, "secrets"))
				secrets_path = r.info->members[i].source;
		}
		if (!yaml_path) {
			ers_error_set(err, ERS_E_INVALID, "%s holds no ers.yaml: write one first, then restore", file);
			goto out;
		}
		if (access(yaml_path, F_OK) == 0) {
			ers_error_set(err, ERS_E_CONFLICT, "%s exists: restore with --config %s", yaml_path, yaml_path);
			goto out;
		}
		if (secrets_path && access(secrets_path, F_OK) == 0 && !opts->force) {
			ers_error_set(err, ERS_E_CONFLICT, "refused: %s exists; nothing was changed (--force restores over it)",
				      secrets_path);
			goto out;
		}
		if ((secrets_path && write_small(secrets_path, &r.secrets, 0600, err) < 0) ||
		    write_small(yaml_path, &r.yaml, 0644, err) < 0)
			goto out;
		if (ers_config_load(yaml_path, &own_cfg, err) < 0) {
			ers_error_prefix(err, "the restored %s", yaml_path);
			goto out;
		}
		r.cfg = own_cfg;
	}
	out->config_file = ers_xstrdup(r.cfg->path);
	out->secrets_file = ers_xstrdup(r.cfg->secrets_file);
	struct ers_buf db = ERS_BUF_INIT;
	ers_buf_addf(&db, "%s on %s port %d", r.cfg->database.name, r.cfg->database.host, r.cfg->database.port);
	out->database = ers_buf_detach(&db);

	/* The target: an empty database, files absent or identical. */
	if (ers_ctx_open(r.cfg, ERS_CTX_NO_SCHEMA_CHECK, &ctx, err) < 0)
		goto out;
	bool used;
	if (database_in_use(ctx, &used, err) < 0)
		goto out;
	if (used)
		conflict(out, "the database", "holds tenants or users");
	r.keep = ers_xcalloc(r.info->count + 1, sizeof *r.keep);
	struct ers_buf dest = ERS_BUF_INIT;
	for (size_t i = 0; i < r.info->count; i++) {
		const struct ers_backup_member *m = &r.info->members[i];
		destination(&r, m, &dest);
		if (!dest.len)
			continue;
		bool exists;
		if (file_has(dest.data, m, &exists)) {
			r.keep[i] = true;
			out->kept++;
		} else if (exists && m->type != 'd') {
			conflict(out, dest.data, "exists and differs from the backup's");
		}
	}
	ers_buf_free(&dest);
	if (out->nconflicts && !opts->force) {
		ers_error_set(err, ERS_E_CONFLICT, "refused: %s%s; nothing was changed (--force restores over them)",
			      out->conflicts[0], out->nconflicts > 1 ? " (and more, listed below)" : "");
		goto out;
	}
	ers_ctx_free(ctx);
	ctx = NULL;

	/* Pass 2: apply. */
	r.disk = archive_write_disk_new();
	archive_write_disk_set_options(r.disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
					       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SAFE_WRITES |
					       ARCHIVE_EXTRACT_UNLINK);
	r.index = 0;
	r.running = r.done = false;
	struct ers_backup_info *again = NULL;
	struct bk_visitor second = { second_begin, second_data, second_end, &r };
	int prc = bk_read(file, passphrase, &second, &again, err);
	if (r.running) {
		r.running = false;
		struct ers_error werr;
		if (bk_wait(&r.child, &werr) < 0 && prc == 0) {
			*err = werr;
			ers_error_prefix(err, "restoring the database");
			prc = -1;
		}
	}
	ers_backup_info_free(again);
	archive_write_close(r.disk);
	archive_write_free(r.disk);
	if (prc < 0)
		goto out;

	/* The schema this ersctl knows, the mail roles' grants, the audit row. */
	if (ers_ctx_open(r.cfg, ERS_CTX_NO_SCHEMA_CHECK, &ctx, err) < 0) {
		ers_error_prefix(err, "restored, but");
		goto out;
	}
	int applied = 0;
	if (ers_schema_migrate(ctx, actor, &applied, err) < 0) {
		ers_error_prefix(err, "restored, but migrating the schema failed");
		goto out;
	}
	struct ers_error gerr;
	if (ers_mailstack_grant(ctx, actor, &gerr) < 0) {
		struct ers_buf w = ERS_BUF_INIT;
		ers_buf_addf(&w, "the mail roles' grants: %s (create the roles, then run: ersctl mailstack grant)", gerr.message);
		out->warning = ers_buf_detach(&w);
	}
	char detail[600];
	snprintf(detail, sizeof detail, "from %s of %s (%s, schema %d): %lld files, %lld maildir files, %lld kept%s",
		 r.info->host, r.info->created, r.info->ers_version, r.info->schema_version, out->files,
		 out->maildir_files, out->kept, out->nconflicts ? ", forced" : "");
	if (ers_db_begin(ctx, err) < 0 ||
	    ers_db_commit_audited(ctx, actor, "backup.restore", file, 0, NULL, detail, err) < 0) {
		ers_error_prefix(err, "restored, but the audit row was not written");
		goto out;
	}
	rc = 0;
out:
	if (r.running) {
		struct ers_error ignored;
		bk_wait(&r.child, &ignored);
	}
	ers_ctx_free(ctx);
	ers_config_free(own_cfg);
	if (!out->info)
		ers_backup_info_free(r.info);
	free(r.keep);
	ers_buf_free(&r.yaml);
	ers_buf_free_secret(&r.secrets);
	return rc;
}
