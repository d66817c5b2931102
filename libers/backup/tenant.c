/* `ersctl backup restore FILE --tenant T`: one tenant's rows and mail back
 * into a running system, beside the other tenants (manual 000's disaster
 * recovery at tenant scale; for a tenant deleted by mistake).
 *
 * Both passes read and check the whole backup; its dump goes through
 * `pg_restore --data-only --file=-`, whose COPY blocks a thread reads.
 * pg_restore writes tables in name order, not by their keys, so the first
 * pass only finds the ids -- the tenant's (by name), its domains' and
 * mailboxes' -- and the second keeps the tenant's rows: its tenant row,
 * rows with its tenant_id, rows of its domains (domain_id) and mailboxes
 * (mailbox_id), while it writes the tenant's maildirs.  Sessions, login failures, send counts, purges, quota
 * usage and the audit log stay as they are here.  Then, in one
 * transaction: the rows go in with COPY, the tenant first (ids as they
 * were: sequences never hand them out again), pending purges of its mail
 * are dropped, and the audit row commits it all (the mail written is
 * removed again if not).  A tenant of
 * that name or id that exists, an address or domain taken since, refuses
 * the restore and nothing changes. */
#define _GNU_SOURCE /* getline, strcasecmp */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "ers/dovecot.h"
#include "backup/internal.h"

struct table_rows {
	char *copy;           /* "ers.mailbox (id, tenant_id, ...)" */
	struct ers_buf rows;  /* COPY text format */
	long long count;
};

struct ids {
	long long *v;
	size_t n;
};

struct tenant_pick {
	const char *name;     /* as asked */
	long long tenant_id;
	struct ids domains, mailboxes;   /* the tenant's (second pass) */
	int mode;                        /* 0: find the ids; 1: keep the rows */
	struct ids domain_pairs, mailbox_pairs; /* first pass: id, tenant_id, id, tenant_id, ... */
	struct table_rows *tables;
	size_t ntables;
	bool bad_output;
	/* pass 1 */
	struct bk_child child;
	bool running, done;
	pthread_t reader;
	bool reader_started;
	/* pass 2 */
	const char *mail_root;
	struct archive *disk;
	bool writing;
	long long maildir_files;
	char prefix[64];      /* "maildirs/ID" */
};

static bool ids_has(const struct ids *s, long long v)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return true;
	return false;
}

static void ids_add(struct ids *s, long long v)
{
	s->v = ers_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n++] = v;
}

/* Tables that are not a tenant's to bring back: global, transient, or the
 * log of what happened since. */
static bool skipped_table(const char *name)
{
	static const char *const skip[] = { "ers.audit_log", "ers.session", "ers.login_failure", "ers.send_count",
					    "ers.mail_purge", "ers.schema_migration", "ers_quota.usage",
					    "ers.approved_host", "ers.send_limit_default", NULL };
	for (size_t i = 0; skip[i]; i++)
		if (!strcmp(name, skip[i]))
			return true;
	return false;
}

/* Splits a COPY text line at tabs (in place). */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *p = line; n < max;) {
		f[n++] = p;
		char *t = strchr(p, '\t');
		if (!t)
			break;
		*t = '\0';
		p = t + 1;
	}
	return n;
}

static int col_index(char **cols, size_t ncols, const char *name)
{
	for (size_t i = 0; i < ncols; i++)
		if (!strcmp(cols[i], name))
			return (int)i;
	return -1;
}

/* Reads pg_restore's script: COPY blocks, each row kept or not. */
static void *reader(void *arg)
{
	struct tenant_pick *t = arg;
	FILE *f = fdopen(dup(t->child.out_fd), "r");
	if (!f) {
		t->bad_output = true;
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct table_rows *cur = NULL;
	char *colspec = NULL, *cols[256];
	size_t ncols = 0;
	int i_tenant = -1, i_domain = -1, i_mailbox = -1, i_id = -1, i_name = -1;
	bool is_tenant = false, is_domain = false, is_mailbox = false, in_copy = false;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!in_copy) {
			/* COPY ers.mailbox (id, tenant_id, ...) FROM stdin; */
			if (strncmp(line, "COPY ", 5))
				continue;
			char *from = strstr(line, " FROM stdin;");
			char *paren = strchr(line, '(');
			if (!from || !paren || paren > from) {
				t->bad_output = true;
				continue;
			}
			in_copy = true;
			*from = '\0';
			char table[128];
			snprintf(table, sizeof table, "%.*s", (int)(paren - line - 6), line + 5);
			cur = NULL;
			if (skipped_table(table))
				continue;
			for (const char *p = line + 5; *p; p++)
				if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_.,() \"", *p))
					t->bad_output = true;
			free(colspec);
			colspec = ers_xstrndup(paren + 1, strcspn(paren + 1, ")"));
			char *list = ers_xstrdup(colspec);
			ncols = 0;
			for (char *save, *c = strtok_r(list, ", ", &save); c && ncols < 256; c = strtok_r(NULL, ", ", &save))
				cols[ncols++] = ers_xstrdup(c);
			free(list);
			i_tenant = col_index(cols, ncols, "tenant_id");
			i_domain = col_index(cols, ncols, "domain_id");
			i_mailbox = col_index(cols, ncols, "mailbox_id");
			i_id = col_index(cols, ncols, "id");
			i_name = col_index(cols, ncols, "name");
			is_tenant = !strcmp(table, "ers.tenant");
			is_domain = !strcmp(table, "ers.domain");
			is_mailbox = !strcmp(table, "ers.mailbox");
			for (size_t k = 0; k < ncols; k++)
				free(cols[k]);
			if (!is_tenant && i_tenant < 0 && i_domain < 0 && i_mailbox < 0)
				continue; /* a table of no tenant's */
			if (t->mode == 0) {
				cur = (struct table_rows *)1; /* rows are looked at, not kept */
				continue;
			}
			t->tables = ers_xrealloc(t->tables, (t->ntables + 1) * sizeof *t->tables);
			cur = &t->tables[t->ntables++];
			cur->copy = ers_xstrdup(line + 5);
			ers_buf_init(&cur->rows);
			cur->count = 0;
			continue;
		}
		if (!strcmp(line, "\\.")) {
			in_copy = false;
			cur = NULL;
			continue;
		}
		if (!cur)
			continue;
		char *copy = ers_xstrdup(line), *f2[256];
		size_t nf = split(copy, f2, 256);
		bool keep = false;
		long long id = i_id >= 0 && (size_t)i_id < nf ? atoll(f2[i_id]) : 0;
		long long tid = i_tenant >= 0 && (size_t)i_tenant < nf ? atoll(f2[i_tenant]) : 0;
		if (t->mode == 0) {
			/* pg_restore writes the tables in name order, not by their
			 * keys: the ids come first, the rows in the second pass. */
			if (is_tenant && i_name >= 0 && (size_t)i_name < nf && !strcasecmp(f2[i_name], t->name))
				t->tenant_id = id;
			if (is_domain) {
				ids_add(&t->domain_pairs, id);
				ids_add(&t->domain_pairs, tid);
			}
			if (is_mailbox) {
				ids_add(&t->mailbox_pairs, id);
				ids_add(&t->mailbox_pairs, tid);
			}
			free(copy);
			continue;
		}
		if (is_tenant)
			keep = id == t->tenant_id;
		else if (i_tenant >= 0)
			keep = tid == t->tenant_id;
		else if (i_domain >= 0 && (size_t)i_domain < nf)
			keep = ids_has(&t->domains, atoll(f2[i_domain]));
		else if (i_mailbox >= 0 && (size_t)i_mailbox < nf)
			keep = ids_has(&t->mailboxes, atoll(f2[i_mailbox]));
		if (keep) {
			ers_buf_add(&cur->rows, line, (size_t)len);
			ers_buf_addch(&cur->rows, '\n');
			cur->count++;
		}
		free(copy);
	}
	free(line);
	free(colspec);
	fclose(f);
	return NULL;
}

static int finish_child(struct tenant_pick *t, struct ers_error *err)
{
	/* Our end of its stdin first: it then ends, and the reader sees EOF. */
	if (t->child.fd >= 0)
		close(t->child.fd);
	t->child.fd = -1;
	if (t->reader_started)
		pthread_join(t->reader, NULL);
	t->reader_started = false;
	t->running = false;
	t->done = true;
	if (bk_wait(&t->child, err) < 0) {
		ers_error_prefix(err, "the database dump is not readable");
		return -1;
	}
	return 0;
}

static int pick_begin(void *hook, struct archive_entry *e, const char *name, struct ers_error *err)
{
	struct tenant_pick *t = hook;
	bool dump = !strncmp(name, "db/ers.dump.", 12);
	if (dump && !t->running && !t->done) {
		const char *argv[] = { "pg_restore", "--data-only", "--file=-", NULL };
		if (bk_spawn(argv, BK_CHILD_BOTH, NULL, &t->child, err) < 0)
			return -1;
		t->running = true;
		if (pthread_create(&t->reader, NULL, reader, t) != 0) {
			ers_error_set(err, ERS_E_INTERNAL, "cannot start a thread");
			return -1;
		}
		t->reader_started = true;
	}
	if (!dump && t->running)
		return finish_child(t, err);
	return 0;
}

static int pick_data(void *hook, const void *buf, size_t len, struct ers_error *err)
{
	struct tenant_pick *t = hook;
	if (t->running && bk_write_all(t->child.fd, buf, len) < 0) {
		struct ers_error werr;
		if (finish_child(t, &werr) < 0)
			*err = werr;
		else
			ers_error_set(err, ERS_E_IO, "writing to pg_restore: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Pass 2: the rows (pick_*) and the tenant's maildirs. */
static int mail_begin(void *hook, struct archive_entry *e, const char *name, struct ers_error *err)
{
	struct tenant_pick *t = hook;
	size_t pl = strlen(t->prefix);
	t->writing = false;
	if (pick_begin(hook, e, name, err) < 0)
		return -1;
	if (!strncmp(name, "db/ers.dump.", 12))
		return 0;
	if (!t->prefix[0] || strncmp(name, t->prefix, pl) || (name[pl] && name[pl] != '/'))
		return 1;
	struct ers_buf dest = ERS_BUF_INIT;
	ers_buf_addf(&dest, "%s%s", t->mail_root, name + strlen("maildirs"));
	struct archive_entry *copy = archive_entry_clone(e);
	archive_entry_set_pathname(copy, dest.data);
	int rc = archive_write_header(t->disk, copy);
	archive_entry_free(copy);
	if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", dest.data, archive_error_string(t->disk));
		ers_buf_free(&dest);
		return -1;
	}
	ers_buf_free(&dest);
	t->writing = true;
	if (archive_entry_filetype(e) == AE_IFREG)
		t->maildir_files++;
	return 0;
}

static int mail_data(void *hook, const void *buf, size_t len, struct ers_error *err)
{
	struct tenant_pick *t = hook;
	if (t->running)
		return pick_data(hook, buf, len, err);
	if (t->writing && archive_write_data(t->disk, buf, len) != (la_ssize_t)len) {
		ers_error_set(err, ERS_E_IO, "cannot write mail: %s", archive_error_string(t->disk));
		return -1;
	}
	return 0;
}

static int mail_end(void *hook, struct archive_entry *e, const char *name, const char *sha256, long long size,
		    struct ers_error *err)
{
	struct tenant_pick *t = hook;
	if (t->writing && archive_write_finish_entry(t->disk) < ARCHIVE_WARN) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", name, archive_error_string(t->disk));
		return -1;
	}
	t->writing = false;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void ers_backup_tenant_result_free(struct ers_backup_tenant_result *r)
{
	if (!r)
		return;
	free(r->tenant);
	free(r->warning);
	free(r);
}

int ers_backup_restore_tenant(struct ers_ctx *ctx, const struct ers_actor *actor, const char *file,
			      const char *passphrase, const char *tenant, bool force,
			      struct ers_backup_tenant_result **r_r, struct ers_error *err)
{
	if (ers_authz_require(ctx, actor, ERS_ACT_BACKUP, NULL, tenant, err) < 0)
		return -1;
	struct tenant_pick t = { .name = tenant, .mail_root = ctx->cfg->mailstack.mail_root };
	t.child.fd = t.child.out_fd = t.child.errfd = -1;
	struct ers_backup_info *info = NULL;
	struct ers_buf mail = ERS_BUF_INIT;
	bool made_mail = false, in_tx = false;
	int rc = -1;
	struct bk_visitor first = { pick_begin, pick_data, NULL, &t };
	int prc = bk_read(file, passphrase, &first, &info, err);
	if (t.running) {
		struct ers_error werr;
		if (finish_child(&t, &werr) < 0 && prc == 0) {
			*err = werr;
			prc = -1;
		}
	}
	if (prc < 0)
		goto out;
	if (t.bad_output) {
		ers_error_set(err, ERS_E_INTERNAL, "pg_restore's output was not what ersctl reads (COPY blocks)");
		goto out;
	}
	if (!t.tenant_id) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s holds no tenant named \"%s\" (see: ersctl backup verify --json; tenant names as they were)",
			      file, tenant);
		goto out;
	}
	int latest = ers_schema_latest();
	if (info->schema_version > latest) {
		ers_error_set(err, ERS_E_INVALID, "%s holds a database of schema %d; this ersctl knows schema %d at most",
			      file, info->schema_version, latest);
		goto out;
	}
	ers_buf_addf(&mail, "%s/%lld", t.mail_root, t.tenant_id);
	if (access(mail.data, F_OK) == 0 && !force) {
		ers_error_set(err, ERS_E_CONFLICT, "refused: %s exists (mail of a tenant with id %lld); nothing was changed (--force writes over it)",
			      mail.data, t.tenant_id);
		goto out;
	}
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	in_tx = true;
	struct ers_num id = ers_num(t.tenant_id);
	const char *p1[] = { id.s, tenant };
	PGresult *res = ers_db_exec(ctx, "SELECT name FROM ers.tenant WHERE id = $1 OR lower(name) = lower($2)", 2, p1, err);
	if (!res)
		goto out;
	if (PQntuples(res) > 0) {
		ers_error_set(err, ERS_E_CONFLICT, "refused: tenant \"%s\" exists here (id %lld or that name); nothing was changed",
			      ers_db_str(res, 0, 0), t.tenant_id);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	for (size_t i = 0; i + 1 < t.domain_pairs.n; i += 2)
		if (t.domain_pairs.v[i + 1] == t.tenant_id)
			ids_add(&t.domains, t.domain_pairs.v[i]);
	for (size_t i = 0; i + 1 < t.mailbox_pairs.n; i += 2)
		if (t.mailbox_pairs.v[i + 1] == t.tenant_id)
			ids_add(&t.mailboxes, t.mailbox_pairs.v[i]);
	/* Pass 2: the rows, and the mail written as it passes. */
	t.mode = 1;
	t.running = t.done = false;
	if (info->maildirs) {
		snprintf(t.prefix, sizeof t.prefix, "maildirs/%lld", t.tenant_id);
		made_mail = access(mail.data, F_OK) != 0;
	}
	t.disk = archive_write_disk_new();
	archive_write_disk_set_options(t.disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
					       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SAFE_WRITES);
	struct ers_backup_info *again = NULL;
	struct bk_visitor second = { mail_begin, mail_data, mail_end, &t };
	int mrc = bk_read(file, passphrase, &second, &again, err);
	if (t.running) {
		struct ers_error werr;
		if (finish_child(&t, &werr) < 0 && mrc == 0) {
			*err = werr;
			mrc = -1;
		}
	}
	ers_backup_info_free(again);
	archive_write_close(t.disk);
	archive_write_free(t.disk);
	if (mrc < 0)
		goto out;
	if (t.bad_output) {
		ers_error_set(err, ERS_E_INTERNAL, "pg_restore's output was not what ersctl reads (COPY blocks)");
		goto out;
	}
	/* In the order of the keys: the tenant, then what refers to it. */
	static const char *const order[] = { "ers.tenant ", "ers.domain ", "ers.address_claim ", "ers.mailbox ", NULL };
	long long rows = 0, users = 0;
	for (int round = 0; round < 5; round++) {
		for (size_t i = 0; i < t.ntables; i++) {
			struct table_rows *tr = &t.tables[i];
			int rank = 4;
			for (int k = 0; order[k]; k++)
				if (!strncmp(tr->copy, order[k], strlen(order[k])))
					rank = k;
			if (rank != round || !tr->count)
				continue;
			struct ers_buf sql = ERS_BUF_INIT;
			ers_buf_addf(&sql, "COPY %s FROM STDIN", tr->copy);
			int crc = ers_db_copy_in(ctx, sql.data, tr->copy, &tr->rows, err);
			ers_buf_free(&sql);
			if (crc < 0) {
				ers_error_prefix(err, "refused (an address or domain of the tenant is taken here now?); nothing was changed");
				goto out;
			}
			rows += tr->count;
			if (!strncmp(tr->copy, "ers.mailbox ", 12))
				users += tr->count;
		}
	}
	struct ers_buf path = ERS_BUF_INIT;
	ers_buf_addf(&path, "%lld", t.tenant_id);
	const char *p2[] = { path.data };
	int drc = ers_db_run(ctx, "DELETE FROM ers.mail_purge WHERE done_at IS NULL AND (mail_path = $1 OR mail_path LIKE $1 || '/%')",
			     1, p2, err);
	ers_buf_free(&path);
	if (drc < 0)
		goto out;
	char detail[300];
	snprintf(detail, sizeof detail, "from %s of %s: %lld rows, %lld users, %lld maildir files", info->host,
		 info->created, rows, users, t.maildir_files);
	if (ers_db_commit_audited(ctx, actor, "backup.restore_tenant", tenant, t.tenant_id, tenant, detail, err) < 0) {
		in_tx = false;
		goto out;
	}
	in_tx = false;
	struct ers_backup_tenant_result *r = ers_xcalloc(1, sizeof *r);
	r->tenant = ers_xstrdup(tenant);
	r->tenant_id = t.tenant_id;
	r->rows = rows;
	r->users = users;
	r->maildir_files = t.maildir_files;
	struct ers_error ferr;
	if (ers_mailstack_flush_auth(ctx->cfg, NULL, &ferr) < 0) {
		struct ers_buf w = ERS_BUF_INIT;
		ers_buf_addf(&w, "Dovecot's auth cache was not flushed (%s): logins may fail for up to an hour", ferr.message);
		r->warning = ers_buf_detach(&w);
	}
	*r_r = r;
	rc = 0;
out:
	if (in_tx)
		ers_db_rollback(ctx);
	if (rc < 0 && made_mail)
		nftw(mail.data, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ers_buf_free(&mail);
	ers_backup_info_free(info);
	for (size_t i = 0; i < t.ntables; i++) {
		free(t.tables[i].copy);
		ers_buf_free_secret(&t.tables[i].rows);
	}
	free(t.tables);
	free(t.domains.v);
	free(t.mailboxes.v);
	free(t.domain_pairs.v);
	free(t.mailbox_pairs.v);
	return rc;
}
