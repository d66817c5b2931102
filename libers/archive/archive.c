/* Archive jobs (ers/archive.h): one mailbox's messages older than the
 * cutoff, read over IMAP as the mailbox (Dovecot's master user), streamed
 * through the format and gpg into a temporary file of the archive
 * directory, fsync'd and renamed into place (0600), read back and its
 * SHA-256 compared; then, when asked, exactly the archived UIDs under the
 * same UIDVALIDITY expunged.  Every job is a row of ers.archive from the
 * start, so a failure -- or a kill -- leaves a record and every message. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "archive/internal.h"

#define ARCHIVE_COLUMNS \
	"a.id, a.address, t.name, a.tenant_id, a.kind, a.created_by, a.folders, a.older_than_days, " \
	ERS_SQL_TIME("a.cutoff") ", a.format, a.delete_after, a.state, a.messages, a.plain_bytes, a.bytes, " \
	"a.expunged, a.sha256, a.path, a.error, " ERS_SQL_TIME("a.created_at") ", " ERS_SQL_TIME("a.finished_at") \
	", coalesce(a.mailbox_id, 0), a.owner_role"
#define ARCHIVE_FROM " FROM ers.archive a JOIN ers.tenant t ON t.id = a.tenant_id"

static char *dup_or_null(const PGresult *res, int r, int c)
{
	return ers_db_isnull(res, r, c) ? NULL : ers_xstrdup(ers_db_str(res, r, c));
}

/* A text[] column ({a,"b c"}) into strings. */
static void parse_array(const char *s, char ***items_r, size_t *n_r)
{
	char **items = NULL;
	size_t n = 0;
	if (*s == '{')
		s++;
	while (*s && *s != '}') {
		struct ers_buf b = ERS_BUF_INIT;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				ers_buf_addch(&b, *s++);
			}
			if (*s == '"')
				s++;
		} else {
			while (*s && *s != ',' && *s != '}')
				ers_buf_addch(&b, *s++);
		}
		items = ers_xrealloc(items, (n + 1) * sizeof *items);
		items[n++] = ers_buf_detach(&b);
		if (*s == ',')
			s++;
	}
	*items_r = items;
	*n_r = n;
}

static void fill(struct ers_archive *a, const PGresult *res, int r)
{
	a->id = ers_db_ll(res, r, 0);
	a->address = ers_xstrdup(ers_db_str(res, r, 1));
	a->tenant = ers_xstrdup(ers_db_str(res, r, 2));
	a->tenant_id = ers_db_ll(res, r, 3);
	a->kind = ers_xstrdup(ers_db_str(res, r, 4));
	a->created_by = ers_xstrdup(ers_db_str(res, r, 5));
	parse_array(ers_db_str(res, r, 6), &a->folders, &a->nfolders);
	a->older_than_days = (int)ers_db_ll(res, r, 7);
	snprintf(a->cutoff, sizeof a->cutoff, "%s", ers_db_str(res, r, 8));
	a->format = ers_xstrdup(ers_db_str(res, r, 9));
	a->delete_after = ers_db_str(res, r, 10)[0] == 't';
	a->state = ers_xstrdup(ers_db_str(res, r, 11));
	a->messages = ers_db_ll(res, r, 12);
	a->plain_bytes = ers_db_ll(res, r, 13);
	a->bytes = ers_db_ll(res, r, 14);
	a->expunged = ers_db_ll(res, r, 15);
	a->sha256 = dup_or_null(res, r, 16);
	a->path = dup_or_null(res, r, 17);
	a->error = dup_or_null(res, r, 18);
	snprintf(a->created_at, sizeof a->created_at, "%s", ers_db_str(res, r, 19));
	snprintf(a->finished_at, sizeof a->finished_at, "%s", ers_db_str(res, r, 20));
}

static void clear(struct ers_archive *a)
{
	free(a->address);
	free(a->tenant);
	free(a->kind);
	free(a->created_by);
	for (size_t i = 0; i < a->nfolders; i++)
		free(a->folders[i]);
	free(a->folders);
	free(a->format);
	free(a->state);
	free(a->sha256);
	free(a->path);
	free(a->error);
}

void ers_archive_free(struct ers_archive *a)
{
	if (!a)
		return;
	clear(a);
	free(a);
}

void ers_archive_list_free(struct ers_archive_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		clear(&list->items[i]);
	free(list->items);
	free(list);
}

/* Who the policy sees behind an archive: its user for a personal one,
 * the tenant as a whole for a tenant one. */
static struct ers_authz_target archive_target(const char *kind, long long tenant_id, long long mailbox_id,
					      const char *owner_role)
{
	if (!strcmp(kind, "personal"))
		return (struct ers_authz_target){ .tenant_id = tenant_id, .user_id = mailbox_id, .is_user = true,
						  .user_role = ers_role_from_db(owner_role) };
	return (struct ers_authz_target){ .tenant_id = tenant_id };
}

/* Archive `id` after the policy allowed `action` on it; one that does not
 * exist is refused like one out of reach to who may not see every one. */
static int load_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, long long id,
		    struct ers_archive **a_r, struct ers_authz_target *target_r, struct ers_error *err)
{
	*a_r = NULL;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM " WHERE a.id = $1::bigint", 1, params,
				    err);
	if (!res)
		return -1;
	char desc[40];
	snprintf(desc, sizeof desc, "archive %lld", id);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no archive %lld (see: ersctl archive list)", id);
		struct ers_authz_target nowhere = { .is_user = true };
		return ers_authz_missing(ctx, actor, action, &nowhere, desc, err);
	}
	struct ers_archive *a = ers_xcalloc(1, sizeof *a);
	fill(a, res, 0);
	struct ers_authz_target t = archive_target(a->kind, a->tenant_id, ers_db_ll(res, 0, 21), ers_db_str(res, 0, 22));
	PQclear(res);
	if (ers_authz_require(ctx, actor, action, &t, desc, err) < 0) {
		ers_archive_free(a);
		return -1;
	}
	if (target_r)
		*target_r = t;
	*a_r = a;
	return 0;
}

static int load_plain(struct ers_ctx *ctx, long long id, struct ers_archive **a_r, struct ers_error *err)
{
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM " WHERE a.id = $1::bigint", 1, params,
				    err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no archive %lld", id);
		return -1;
	}
	struct ers_archive *a = ers_xcalloc(1, sizeof *a);
	fill(a, res, 0);
	PQclear(res);
	*a_r = a;
	return 0;
}

/* --- input ------------------------------------------------------------------- */

static int check_format(const char *format, struct ers_error *err)
{
	if (strcmp(format, "mbox") && strcmp(format, "zip")) {
		ers_error_set(err, ERS_E_INVALID, "archive format must be mbox or zip, got \"%.60s\"", format);
		return -1;
	}
	return 0;
}

static int check_days(int days, struct ers_error *err)
{
	if (days < 0 || days > ERS_ARCHIVE_MAX_DAYS) {
		ers_error_set(err, ERS_E_INVALID, "the cutoff (--older-than) must be 0..%d days, got %d", ERS_ARCHIVE_MAX_DAYS,
			      days);
		return -1;
	}
	return 0;
}

/* A folder name as the user typed it: the server's name for it, no
 * control characters, no ".." part, not absolute. */
static int check_folder(const char *f, struct ers_error *err)
{
	size_t len = strlen(f);
	if (len == 0 || len > 500) {
		ers_error_set(err, ERS_E_INVALID, "a folder name must be 1..500 bytes, got %zu", len);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)f; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			ers_error_set(err, ERS_E_INVALID, "folder name holds a control character (0x%02x): not a folder of "
				      "any mailbox", *p);
			return -1;
		}
	if (f[0] == '/' || strstr(f, "..")) {
		ers_error_set(err, ERS_E_INVALID, "folder name \"%s\" holds \"..\" or starts with '/': folders are named as "
			      "the mailbox lists them (INBOX, Sent, Archive/2024)", f);
		return -1;
	}
	return 0;
}

/* --- policy ------------------------------------------------------------------ */

static int policy_load(struct ers_ctx *ctx, long long tenant_id, struct ers_archive_policy *p, struct ers_error *err)
{
	struct ers_num t = ers_num(tenant_id);
	const char *params[] = { t.s };
	PGresult *res = ers_db_exec(ctx, "SELECT tn.name, coalesce(p.format, 'mbox'), coalesce(p.older_than_days, 30),"
				    " coalesce(p.delete_after, false), coalesce(p.auto_archive, false), "
				    "CASE WHEN p.tenant_id IS NULL THEN '' ELSE " ERS_SQL_TIME("p.updated_at") " END"
				    " FROM ers.tenant tn LEFT JOIN ers.archive_policy p ON p.tenant_id = tn.id"
				    " WHERE tn.id = $1::bigint", 1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no tenant %lld", tenant_id);
		return -1;
	}
	p->tenant = ers_xstrdup(ers_db_str(res, 0, 0));
	p->tenant_id = tenant_id;
	snprintf(p->format, sizeof p->format, "%s", ers_db_str(res, 0, 1));
	p->older_than_days = (int)ers_db_ll(res, 0, 2);
	p->delete_after = ers_db_str(res, 0, 3)[0] == 't';
	p->auto_archive = ers_db_str(res, 0, 4)[0] == 't';
	snprintf(p->updated_at, sizeof p->updated_at, "%s", ers_db_str(res, 0, 5));
	PQclear(res);
	return 0;
}

void ers_archive_policy_free(struct ers_archive_policy *p)
{
	if (!p)
		return;
	free(p->tenant);
	free(p);
}

int ers_archive_policy_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			    struct ers_archive_policy **p_r, struct ers_error *err)
{
	*p_r = NULL;
	long long tid = actor->tenant_id;
	if (tenant) {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_VIEW, NULL, tenant, &tid, NULL, err) < 0)
			return -1;
	} else {
		if (!tid) {
			ers_error_set(err, ERS_E_USAGE, "name the tenant (--tenant NAME)");
			return -1;
		}
		struct ers_authz_target t = { .tenant_id = tid };
		if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_POLICY_VIEW, &t, "archive policy", err) < 0)
			return -1;
	}
	struct ers_archive_policy *p = ers_xcalloc(1, sizeof *p);
	if (policy_load(ctx, tid, p, err) < 0) {
		ers_archive_policy_free(p);
		return -1;
	}
	*p_r = p;
	return 0;
}

int ers_archive_policy_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			   const struct ers_archive_policy_change *ch, struct ers_archive_policy **p_r,
			   struct ers_error *err)
{
	*p_r = NULL;
	if (ch->format && check_format(ch->format, err) < 0)
		return -1;
	if (ch->older_than_days != -1 && check_days(ch->older_than_days, err) < 0)
		return -1;
	if (!ch->format && ch->older_than_days == -1 && ch->delete_after == -1 && ch->auto_archive == -1) {
		ers_error_set(err, ERS_E_USAGE, "nothing to change: give --format, --older-than, --delete-after or "
			      "--auto-archive");
		return -1;
	}
	long long tid = actor->tenant_id;
	char *name = NULL;
	if (tenant) {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, NULL, tenant, &tid, &name, err) < 0)
			return -1;
	} else {
		struct ers_authz_target t = { .tenant_id = tid };
		if (!tid) {
			ers_error_set(err, ERS_E_USAGE, "name the tenant (--tenant NAME)");
			return -1;
		}
		if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, &t, "archive policy", err) < 0)
			return -1;
	}
	struct ers_num t = ers_num(tid), d = ers_num(ch->older_than_days);
	const char *params[] = { t.s, ch->format, ch->older_than_days == -1 ? NULL : d.s,
				 ch->delete_after == -1 ? NULL : ch->delete_after ? "t" : "f",
				 ch->auto_archive == -1 ? NULL : ch->auto_archive ? "t" : "f" };
	struct ers_buf detail = ERS_BUF_INIT;
	if (ch->format)
		ers_buf_addf(&detail, "format %s; ", ch->format);
	if (ch->older_than_days != -1)
		ers_buf_addf(&detail, "older than %d days; ", ch->older_than_days);
	if (ch->delete_after != -1)
		ers_buf_addf(&detail, "delete after %s; ", ch->delete_after ? "yes" : "no");
	if (ch->auto_archive != -1)
		ers_buf_addf(&detail, "auto-archive %s; ", ch->auto_archive ? "yes" : "no");
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_db_run(ctx, "INSERT INTO ers.archive_policy AS p (tenant_id, format, older_than_days, delete_after, auto_archive)"
			    " VALUES ($1::bigint, coalesce($2, 'mbox'), coalesce($3::int, 30), coalesce($4::bool, false),"
			    " coalesce($5::bool, false))"
			    " ON CONFLICT (tenant_id) DO UPDATE SET format = coalesce($2, p.format),"
			    " older_than_days = coalesce($3::int, p.older_than_days), delete_after = coalesce($4::bool, p.delete_after),"
			    " auto_archive = coalesce($5::bool, p.auto_archive), updated_at = now()",
		       5, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	detail.len -= detail.len >= 2 ? 2 : 0;
	detail.data[detail.len] = '\0';
	if (ers_db_commit_audited(ctx, actor, "archive.policy_set", "archive policy", tid, NULL, detail.data, err) < 0)
		goto out;
	struct ers_archive_policy *p = ers_xcalloc(1, sizeof *p);
	if (policy_load(ctx, tid, p, err) < 0) {
		ers_archive_policy_free(p);
		goto out;
	}
	*p_r = p;
	rc = 0;
out:
	free(name);
	ers_buf_free(&detail);
	return rc;
}

/* --- keys -------------------------------------------------------------------- */

struct key {
	long long id;
	char *fpr;
	char *public_key;
	char *secret_sealed;
};

static void key_clear(struct key *k)
{
	free(k->fpr);
	free(k->public_key);
	free(k->secret_sealed);
	memset(k, 0, sizeof *k);
}

static void key_context(struct ers_buf *b, long long tenant_id, long long mailbox_id)
{
	ers_buf_reset(b);
	ers_buf_addf(b, "archive-key:%lld:%lld", tenant_id, mailbox_id);
}

static int key_find(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, struct key *k, struct ers_error *err)
{
	struct ers_num t = ers_num(tenant_id), m = ers_num(mailbox_id);
	const char *params[] = { t.s, mailbox_id ? m.s : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT id, fingerprint, public_key, secret_sealed FROM ers.archive_key"
				    " WHERE tenant_id = $1::bigint AND mailbox_id IS NOT DISTINCT FROM $2::bigint", 2, params,
				    err);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0;
	if (found) {
		k->id = ers_db_ll(res, 0, 0);
		k->fpr = ers_xstrdup(ers_db_str(res, 0, 1));
		k->public_key = ers_xstrdup(ers_db_str(res, 0, 2));
		k->secret_sealed = ers_xstrdup(ers_db_str(res, 0, 3));
	}
	PQclear(res);
	return found;
}

/* The archive key of a mailbox (mailbox_id > 0) or of a tenant, made on
 * first use: generated in a throwaway home, the secret half sealed. */
static int key_get(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, const char *label, struct key *k,
		   struct ers_error *err)
{
	int f = key_find(ctx, tenant_id, mailbox_id, k, err);
	if (f != 0)
		return f < 0 ? -1 : 0;
	struct ers_gpg *g;
	if (ers_gpg_open(&g, err) < 0)
		return -1;
	struct ers_buf fpr = ERS_BUF_INIT, pub = ERS_BUF_INIT, sec = ERS_BUF_INIT, sealed = ERS_BUF_INIT,
		       uid = ERS_BUF_INIT, context = ERS_BUF_INIT;
	ers_buf_grow(&sec, 16384);
	ers_buf_addf(&uid, "ERS archive key (%s) <archive@ers.invalid>", label);
	key_context(&context, tenant_id, mailbox_id);
	int rc = ers_gpg_generate(g, uid.data, &fpr, &pub, &sec, err);
	ers_gpg_close(g);
	if (rc == 0)
		rc = ers_seal(&ctx->cfg->secrets, context.data, sec.data, sec.len, &sealed, err);
	if (rc == 0) {
		struct ers_num t = ers_num(tenant_id), m = ers_num(mailbox_id);
		const char *params[] = { t.s, mailbox_id ? m.s : NULL, fpr.data, pub.data, sealed.data };
		/* Two jobs at once: the first key stays, the other is dropped. */
		rc = ers_db_run(ctx, "INSERT INTO ers.archive_key (tenant_id, mailbox_id, fingerprint, public_key, secret_sealed)"
				     " VALUES ($1::bigint, $2::bigint, $3, $4, $5) ON CONFLICT DO NOTHING", 5, params, err);
	}
	ers_buf_free(&fpr);
	ers_buf_free(&pub);
	ers_buf_free_secret(&sec);
	ers_buf_free(&sealed);
	ers_buf_free(&uid);
	ers_buf_free(&context);
	if (rc < 0)
		return -1;
	f = key_find(ctx, tenant_id, mailbox_id, k, err);
	if (f == 0)
		ers_error_set(err, ERS_E_INTERNAL, "the archive key just stored is not there");
	return f == 1 ? 0 : -1;
}

/* A home holding the secret half of key `k` (tenant/mailbox as stored). */
static int key_open_secret(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, const struct key *k,
			   struct ers_gpg **g_r, struct ers_buf *secret, struct ers_error *err)
{
	struct ers_buf context = ERS_BUF_INIT;
	key_context(&context, tenant_id, mailbox_id);
	int rc = ers_unseal(&ctx->cfg->secrets, context.data, k->secret_sealed, secret, err);
	ers_buf_free(&context);
	if (rc < 0)
		return -1;
	if (ers_gpg_open(g_r, err) < 0)
		return -1;
	if (ers_gpg_import(*g_r, secret->data, err) < 0) {
		ers_gpg_close(*g_r);
		*g_r = NULL;
		return -1;
	}
	return 0;
}

/* --- files ------------------------------------------------------------------- */

struct out_file {
	int fd;
	EVP_MD_CTX *md;
	long long bytes;
	int error;          /* errno of the first failed write */
};

static ssize_t out_write(void *arg, const void *buf, size_t n)
{
	struct out_file *o = arg;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(o->fd, (const char *)buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->error = w < 0 ? errno : ENOSPC;
			errno = o->error;
			return -1;
		}
		done += (size_t)w;
	}
	if (o->md)
		EVP_DigestUpdate(o->md, buf, n);
	o->bytes += (long long)n;
	return (ssize_t)n;
}

static ssize_t fd_read(void *arg, void *buf, size_t n)
{
	int fd = *(int *)arg;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* SHA-256 of a file, read back from the disk. */
static int file_sha256(const char *path, char out[65], long long *size_r, struct ers_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read the stored archive %s: %s", path, strerror(errno));
		return -1;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	char *buf = ers_xmalloc(1 << 16);
	long long size = 0;
	ssize_t r;
	while ((r = fd_read(&fd, buf, 1 << 16)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)r);
		size += r;
	}
	int e = errno;
	free(buf);
	close(fd);
	unsigned char d[32];
	EVP_DigestFinal_ex(md, d, NULL);
	EVP_MD_CTX_free(md);
	if (r < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read the stored archive %s: %s", path, strerror(e));
		return -1;
	}
	hex(d, 32, out);
	if (size_r)
		*size_r = size;
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* --- the job ------------------------------------------------------------------- */

struct mailbox {
	long long id, tenant_id;
	char *address, *tenant, *role;
	bool remote, disabled;
};

static void mailbox_clear(struct mailbox *m)
{
	free(m->address);
	free(m->tenant);
	free(m->role);
}

struct job {
	struct ers_ctx *ctx;
	const struct ers_actor *actor;
	const struct mailbox *mb;
	const char *kind;
	const char *format;
	int days;
	bool delete_after;
	const char *const *folders;
	size_t nfolders;
	ers_archive_progress_fn *progress;
	void *progress_arg;
	const char *run_id;
	long long id;
	struct ers_archive_folder *fl;
	size_t nfl;
	struct ers_imap *im;
	char sha[65];
	char *path;
	long long messages, plain_bytes, bytes;
};

static void job_free_folders(struct job *j)
{
	for (size_t i = 0; i < j->nfl; i++) {
		free(j->fl[i].name);
		free(j->fl[i].zip_dir);
		free(j->fl[i].uids);
	}
	free(j->fl);
	j->fl = NULL;
	j->nfl = 0;
}

static int imap_open_as(const struct ers_config *cfg, const char *address, struct ers_imap **im_r, struct ers_error *err)
{
	if (!cfg->secrets.webmail_master_password) {
		ers_error_set(err, ERS_E_CONFIG, "WEBMAIL_MASTER_PASSWORD is not set in the secrets: archives read mailboxes "
			      "as Dovecot's master user");
		return -1;
	}
	struct ers_buf login = ERS_BUF_INIT;
	ers_buf_addf(&login, "%s*%s", address, cfg->mailstack.master_user);
	const char *listen = cfg->mailstack.listen;
	struct ers_imap_params p = {
		.host = listen && *listen && strcmp(listen, "*") ? listen : cfg->mailstack.hostname,
		.port = cfg->mailstack.imap_port,
		.tls = cfg->mailstack.tls_cert && *cfg->mailstack.tls_cert ? ERS_IMAP_STARTTLS : ERS_IMAP_PLAIN,
		.ca_file = cfg->dns.ca_file,
		.username = login.data,
		.password = cfg->secrets.webmail_master_password,
		.timeout_s = 120,
	};
	if (!p.host) {
		ers_error_set(err, ERS_E_CONFIG, "mailstack.listen or mailstack.hostname must say where Dovecot listens");
		ers_buf_free(&login);
		return -1;
	}
	int rc = ers_imap_open(&p, im_r, err);
	ers_buf_free(&login);
	return rc;
}

/* The folders to archive with the UIDs of their messages older than the
 * cutoff (not flagged \Deleted). */
static int collect(struct job *j, struct ers_error *err)
{
	struct ers_imap_result lr;
	if (ers_imap_folders(j->im, &lr, err) < 0) {
		ers_imap_result_free(&lr);
		return -1;
	}
	int rc = 0;
	size_t want = j->nfolders ? j->nfolders : lr.nfolders;
	j->fl = ers_xcalloc(want ? want : 1, sizeof *j->fl);
	for (size_t i = 0; i < want && rc == 0; i++) {
		const struct ers_imap_folder *f = NULL;
		if (j->nfolders) {
			for (size_t k = 0; k < lr.nfolders && !f; k++)
				if (!strcmp(lr.folders[k].name, j->folders[i]) || !strcmp(lr.folders[k].display, j->folders[i]))
					f = &lr.folders[k];
			if (!f || f->noselect) {
				ers_error_set(err, ERS_E_NOTFOUND, "mailbox %s has no folder \"%s\" (folders are named as the "
					      "mailbox lists them: INBOX, Sent, ...)", j->mb->address, j->folders[i]);
				rc = -1;
				break;
			}
		} else {
			f = &lr.folders[i];
			if (f->noselect)
				continue;
		}
		struct ers_archive_folder *af = &j->fl[j->nfl++];
		af->name = ers_xstrdup(f->name);
		struct ers_buf dir = ERS_BUF_INIT;
		const char *d = f->display;
		for (;;) {
			const char *sep = f->delimiter ? strchr(d, f->delimiter) : NULL;
			size_t len = sep ? (size_t)(sep - d) : strlen(d);
			if (dir.len)
				ers_buf_addch(&dir, '/');
			ers_archive_safe_part(d, len, &dir);
			if (!sep)
				break;
			d = sep + 1;
		}
		af->zip_dir = ers_buf_detach(&dir);
		struct ers_buf cmd = ERS_BUF_INIT;
		ers_buf_adds(&cmd, "SELECT ");
		ers_imap_quote(&cmd, f->name);
		struct ers_imap_result r;
		rc = ers_imap_command(j->im, cmd.data, &r, err);
		af->uidvalidity = r.uidvalidity;
		ers_imap_result_free(&r);
		ers_buf_reset(&cmd);
		if (rc == 0) {
			if (j->days > 0)
				ers_buf_addf(&cmd, "UID SEARCH UNDELETED OLDER %lld", (long long)j->days * 86400);
			else
				ers_buf_adds(&cmd, "UID SEARCH UNDELETED");
			rc = ers_imap_command(j->im, cmd.data, &r, err);
			if (rc == 0 && r.nids) {
				af->uids = ers_xmalloc(r.nids * sizeof *af->uids);
				memcpy(af->uids, r.ids, r.nids * sizeof *af->uids);
				af->nuids = r.nids;
			}
			ers_imap_result_free(&r);
		}
		ers_buf_free(&cmd);
	}
	ers_imap_result_free(&lr);
	return rc;
}

/* Writes the encrypted archive to a temporary file in the directory,
 * then fsync, rename (0600), fsync of the directory; reads it back. */
static int write_archive(struct job *j, const struct key *k, struct ers_error *err)
{
	const char *dir = j->ctx->cfg->archive.directory;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ers_error_set(err, ERS_E_IO, "cannot make the archive directory %s: %s", dir, strerror(errno));
		return -1;
	}
	struct ers_buf tmp = ERS_BUF_INIT, final = ERS_BUF_INIT;
	ers_buf_addf(&tmp, "%s/.%lld.tmp.XXXXXX", dir, j->id);
	ers_buf_addf(&final, "%s/%lld.%s.gpg", dir, j->id, j->format);
	int rc = -1;
	struct ers_gpg *g = NULL;
	struct ers_archive_stream *s = NULL;
	struct out_file o = { .fd = mkostemp(tmp.data, O_CLOEXEC) };
	if (o.fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write in the archive directory %s: %s", dir, strerror(errno));
		goto out;
	}
	fchmod(o.fd, 0600);
	o.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(o.md, EVP_sha256(), NULL);
	if (ers_gpg_open(&g, err) < 0 || ers_gpg_import(g, k->public_key, err) < 0)
		goto out;
	s = ers_archive_stream_new(j->im, j->fl, j->nfl, !strcmp(j->format, "zip"), j->progress, j->progress_arg);
	int grc = ers_gpg_encrypt(g, k->fpr, ers_archive_stream_read, s, out_write, &o, err);
	ers_archive_stream_counts(s, &j->messages, &j->plain_bytes);
	if (ers_archive_stream_error(s)) {
		*err = *ers_archive_stream_error(s);
		goto out;
	}
	if (o.error) {
		ers_error_set(err, ERS_E_IO, "writing the archive in %s: %s", dir, strerror(o.error));
		goto out;
	}
	if (grc < 0)
		goto out;
	if (fsync(o.fd) < 0 || close(o.fd) < 0) {
		o.fd = -1;
		ers_error_set(err, ERS_E_IO, "writing the archive in %s: %s", dir, strerror(errno));
		goto out;
	}
	o.fd = -1;
	unsigned char d[32];
	EVP_DigestFinal_ex(o.md, d, NULL);
	hex(d, 32, j->sha);
	j->bytes = o.bytes;
	if (rename(tmp.data, final.data) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot move the archive into place as %s: %s", final.data, strerror(errno));
		goto out;
	}
	sync_dir(dir);
	/* What is on the disk now, read back, is what was written. */
	char back[65];
	long long size;
	if (file_sha256(final.data, back, &size, err) < 0)
		goto out;
	if (strcmp(back, j->sha) || size != j->bytes) {
		ers_error_set(err, ERS_E_IO, "the stored archive %s reads back with SHA-256 %s (%lld bytes), not the %s "
			      "(%lld bytes) written", final.data, back, size, j->sha, j->bytes);
		unlink(final.data);
		goto out;
	}
	j->path = ers_buf_detach(&final);
	rc = 0;
out:
	if (o.fd >= 0)
		close(o.fd);
	if (rc < 0 && tmp.len)
		unlink(tmp.data);
	if (o.md)
		EVP_MD_CTX_free(o.md);
	ers_archive_stream_free(s);
	ers_gpg_close(g);
	ers_buf_free(&tmp);
	ers_buf_free(&final);
	return rc;
}

static void uid_set(struct ers_buf *b, const uint32_t *uids, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (!uids[i])
			continue;
		if (b->len)
			ers_buf_addch(b, ',');
		ers_buf_addf(b, "%u", uids[i]);
	}
}

/* Expunges exactly the archived UIDs, folder by folder, after checking
 * that the folder's UIDVALIDITY is the one they were read under. */
static int expunge(struct job *j, long long *expunged_r, struct ers_error *err)
{
	*expunged_r = 0;
	for (size_t i = 0; i < j->nfl; i++) {
		struct ers_archive_folder *f = &j->fl[i];
		size_t have = 0;
		for (size_t k = 0; k < f->nuids; k++)
			have += f->uids[k] != 0;
		if (!have)
			continue;
		struct ers_buf cmd = ERS_BUF_INIT;
		ers_buf_adds(&cmd, "SELECT ");
		ers_imap_quote(&cmd, f->name);
		struct ers_imap_result r;
		int rc = ers_imap_command(j->im, cmd.data, &r, err);
		uint32_t v = r.uidvalidity;
		ers_imap_result_free(&r);
		ers_buf_free(&cmd);
		if (rc < 0)
			return -1;
		if (v != f->uidvalidity) {
			ers_error_set(err, ERS_E_CONFLICT, "folder %s has UIDVALIDITY %u, not the %u its messages were archived "
				      "under: nothing deleted from it", f->name, v, f->uidvalidity);
			return -1;
		}
		for (size_t from = 0; from < f->nuids; from += 500) {
			size_t to = from + 500 < f->nuids ? from + 500 : f->nuids;
			struct ers_buf set = ERS_BUF_INIT;
			uid_set(&set, f->uids, from, to);
			if (!set.len) {
				ers_buf_free(&set);
				continue;
			}
			struct ers_buf c1 = ERS_BUF_INIT, c2 = ERS_BUF_INIT;
			ers_buf_addf(&c1, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set.data);
			ers_buf_addf(&c2, "UID EXPUNGE %s", set.data);
			rc = ers_imap_command(j->im, c1.data, &r, err);
			ers_imap_result_free(&r);
			if (rc == 0) {
				rc = ers_imap_command(j->im, c2.data, &r, err);
				ers_imap_result_free(&r);
			}
			ers_buf_free(&c1);
			ers_buf_free(&c2);
			ers_buf_free(&set);
			if (rc < 0)
				return -1;
		}
		*expunged_r += (long long)have;
	}
	return 0;
}

/* The UIDs archived, in COPY text format. */
static void uid_rows(const struct job *j, struct ers_buf *b)
{
	for (size_t i = 0; i < j->nfl; i++) {
		struct ers_buf name = ERS_BUF_INIT;
		for (const char *p = j->fl[i].name; *p; p++) {
			if (*p == '\\' || *p == '\t' || *p == '\n' || *p == '\r')
				ers_buf_addch(&name, '\\');
			ers_buf_addch(&name, *p);
		}
		for (size_t k = 0; k < j->fl[i].nuids; k++)
			if (j->fl[i].uids[k])
				ers_buf_addf(b, "%lld\t%s\t%u\t%u\n", j->id, name.data, j->fl[i].uidvalidity, j->fl[i].uids[k]);
		ers_buf_free(&name);
	}
}

/* A job holds a session lock on its id while it runs, so that `archive
 * run` tells a job still running from one a kill left behind (its
 * connection, and so its lock, gone). */
#define JOB_LOCK_CLASS "7302652"
static bool job_lock(struct ers_ctx *ctx, long long id, bool take)
{
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	struct ers_error ignored;
	PGresult *res = ers_db_exec(ctx, take ? "SELECT pg_try_advisory_lock(" JOB_LOCK_CLASS ", $1::int)"
					      : "SELECT pg_advisory_unlock(" JOB_LOCK_CLASS ", $1::int)", 1, params, &ignored);
	bool got = res && ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

static void record_failure(struct job *j, const struct ers_error *why)
{
	struct ers_num id = ers_num(j->id);
	const char *params[] = { id.s, why->message };
	struct ers_error e2;
	if (ers_db_begin(j->ctx, &e2) < 0)
		return;
	if (ers_db_run(j->ctx, "UPDATE ers.archive SET state = 'failed', error = $2, finished_at = now() WHERE id = $1::bigint",
		       2, params, &e2) < 0) {
		ers_db_rollback(j->ctx);
		return;
	}
	char detail[1200];
	snprintf(detail, sizeof detail, "archive %lld failed, nothing deleted: %s", j->id, why->message);
	ers_db_commit_audited(j->ctx, j->actor, "archive.create", j->mb->address, j->mb->tenant_id, NULL, detail, &e2);
}

/* Delete-after, once the archive is stored and recorded: the file read
 * back once more, then exactly its UIDs expunged; the outcome recorded
 * and audited.  A failure leaves the archive stored and says so. */
static int finish_delete(struct job *j, struct ers_error *err)
{
	char back[65];
	long long expunged = 0;
	struct ers_error xerr;
	int xrc = file_sha256(j->path, back, NULL, &xerr);
	if (xrc == 0 && strcmp(back, j->sha)) {
		ers_error_set(&xerr, ERS_E_IO, "the stored archive %s no longer has SHA-256 %s", j->path, j->sha);
		xrc = -1;
	}
	if (xrc == 0 && !j->im)
		xrc = imap_open_as(j->ctx->cfg, j->mb->address, &j->im, &xerr);
	if (xrc == 0)
		xrc = expunge(j, &expunged, &xerr);
	struct ers_num id = ers_num(j->id), ex = ers_num(expunged);
	const char *ep[] = { id.s, ex.s, xrc == 0 ? NULL : xerr.message };
	struct ers_error e2;
	if (ers_db_begin(j->ctx, &e2) == 0) {
		if (ers_db_run(j->ctx, "UPDATE ers.archive SET expunged = expunged + $2::bigint, error = $3::text,"
				       " state = CASE WHEN $3::text IS NULL THEN 'expunged' ELSE 'failed' END WHERE id = $1::bigint",
			       3, ep, &e2) < 0) {
			ers_db_rollback(j->ctx);
		} else {
			char d2[1200];
			if (xrc == 0)
				snprintf(d2, sizeof d2, "archive %lld: expunged %lld messages", j->id, expunged);
			else
				snprintf(d2, sizeof d2, "archive %lld: delete-after failed after %lld expunged: %s", j->id, expunged,
					 xerr.message);
			ers_db_commit_audited(j->ctx, j->actor, "archive.expunge", j->mb->address, j->mb->tenant_id, NULL, d2,
					      &e2);
		}
	}
	if (xrc < 0) {
		*err = xerr;
		ers_error_prefix(err, "archive %lld is stored, but its messages were not deleted", j->id);
		return -1;
	}
	return 0;
}

/* One mailbox's job, from its row to its end. */
static int run_job(struct job *j, struct ers_archive **a_r, struct ers_error *err)
{
	*a_r = NULL;
	struct key k = { 0 };
	long long key_mailbox = !strcmp(j->kind, "personal") ? j->mb->id : 0;
	if (key_get(j->ctx, j->mb->tenant_id, key_mailbox, key_mailbox ? j->mb->address : j->mb->tenant, &k, err) < 0)
		return -1;
	/* The row first: whatever happens next leaves a record. */
	struct ers_buf arr = ERS_BUF_INIT;
	ers_buf_addch(&arr, '{');
	for (size_t i = 0; i < j->nfolders; i++) {
		if (i)
			ers_buf_addch(&arr, ',');
		ers_buf_addch(&arr, '"');
		for (const char *p = j->folders[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				ers_buf_addch(&arr, '\\');
			ers_buf_addch(&arr, *p);
		}
		ers_buf_addch(&arr, '"');
	}
	ers_buf_addch(&arr, '}');
	struct ers_num tid = ers_num(j->mb->tenant_id), mid = ers_num(j->mb->id), days = ers_num(j->days),
		       kid = ers_num(k.id);
	const char *params[] = { tid.s, mid.s, j->mb->address, j->mb->role, j->kind, kid.s, j->actor->name, arr.data,
				 days.s, j->format, j->delete_after ? "t" : "f", j->run_id };
	PGresult *res = ers_db_exec(j->ctx, "INSERT INTO ers.archive (tenant_id, mailbox_id, address, owner_role, kind, key_id,"
				    " created_by, folders, older_than_days, cutoff, format, delete_after, state, run_id)"
				    " VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6::bigint, $7, $8::text[], $9::int,"
				    " now() - make_interval(days => $9::int), $10, $11::bool, 'running', $12) RETURNING id",
				    12, params, err);
	ers_buf_free(&arr);
	if (!res) {
		key_clear(&k);
		return -1;
	}
	j->id = ers_db_ll(res, 0, 0);
	PQclear(res);
	job_lock(j->ctx, j->id, true);

	int rc = -1;
	if (imap_open_as(j->ctx->cfg, j->mb->address, &j->im, err) < 0 || collect(j, err) < 0 ||
	    write_archive(j, &k, err) < 0) {
		record_failure(j, err);
		goto out;
	}
	/* Stored and verified: recorded with its UIDs, in one transaction. */
	struct ers_num id = ers_num(j->id), msgs = ers_num(j->messages), pb = ers_num(j->plain_bytes), by = ers_num(j->bytes);
	const char *up[] = { id.s, msgs.s, pb.s, by.s, j->sha, j->path };
	struct ers_buf rows = ERS_BUF_INIT;
	uid_rows(j, &rows);
	char detail[400];
	snprintf(detail, sizeof detail, "archive %lld: %lld messages, %lld bytes, %s, %s key, SHA-256 %s", j->id,
		 j->messages, j->bytes, j->format, j->kind, j->sha);
	if (ers_db_begin(j->ctx, err) < 0 ||
	    ers_db_run(j->ctx, "UPDATE ers.archive SET state = 'stored', messages = $2::bigint, plain_bytes = $3::bigint,"
				" bytes = $4::bigint, sha256 = $5, path = $6, finished_at = now() WHERE id = $1::bigint",
		       6, up, err) < 0 ||
	    (rows.len && ers_db_copy_in(j->ctx, "COPY ers.archive_message (archive_id, folder, uidvalidity, uid) FROM STDIN",
					"archive_message", &rows, err) < 0)) {
		ers_db_rollback(j->ctx);
		ers_buf_free(&rows);
		unlink(j->path);
		record_failure(j, err);
		goto out;
	}
	ers_buf_free(&rows);
	if (ers_db_commit_audited(j->ctx, j->actor, "archive.create", j->mb->address, j->mb->tenant_id, NULL, detail, err) < 0) {
		unlink(j->path);
		record_failure(j, err);
		goto out;
	}
	if (j->delete_after && finish_delete(j, err) < 0)
		goto out;
	rc = 0;
out:
	{
		struct ers_error lerr;
		if (load_plain(j->ctx, j->id, a_r, &lerr) < 0)
			*a_r = NULL;
	}
	ers_imap_close(j->im);
	j->im = NULL;
	job_free_folders(j);
	free(j->path);
	j->path = NULL;
	key_clear(&k);
	job_lock(j->ctx, j->id, false);
	return rc;
}

static void list_add(struct ers_archive_list *l, struct ers_archive *a)
{
	if (!a)
		return;
	l->items = ers_xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = *a;
	free(a);
}

static int load_mailboxes(struct ers_ctx *ctx, const char *where, int n, const char *const *params,
			  struct mailbox **mbs_r, size_t *n_r, struct ers_error *err)
{
	struct ers_buf q = ERS_BUF_INIT;
	ers_buf_addf(&q, "SELECT m.id, m.tenant_id, m.address, t.name, m.role, m.imap_username IS NOT NULL,"
			 " m.status = 'disabled' FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id WHERE %s"
			 " ORDER BY m.address", where);
	PGresult *res = ers_db_exec(ctx, q.data, n, params, err);
	ers_buf_free(&q);
	if (!res)
		return -1;
	size_t rows = (size_t)PQntuples(res);
	struct mailbox *mbs = ers_xcalloc(rows ? rows : 1, sizeof *mbs);
	for (size_t i = 0; i < rows; i++) {
		mbs[i].id = ers_db_ll(res, (int)i, 0);
		mbs[i].tenant_id = ers_db_ll(res, (int)i, 1);
		mbs[i].address = ers_xstrdup(ers_db_str(res, (int)i, 2));
		mbs[i].tenant = ers_xstrdup(ers_db_str(res, (int)i, 3));
		mbs[i].role = ers_xstrdup(ers_db_str(res, (int)i, 4));
		mbs[i].remote = ers_db_str(res, (int)i, 5)[0] == 't';
		mbs[i].disabled = ers_db_str(res, (int)i, 6)[0] == 't';
	}
	PQclear(res);
	*mbs_r = mbs;
	*n_r = rows;
	return 0;
}

static void mailboxes_free(struct mailbox *mbs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mailbox_clear(&mbs[i]);
	free(mbs);
}

/* Shared by create and run: the jobs for `mbs`, under options; the first
 * failure is returned (the others go on). */
static int run_jobs(struct ers_ctx *ctx, const struct ers_actor *actor, struct mailbox *mbs, size_t n,
		    const struct ers_archive_spec *spec, const char *run_id, struct ers_archive_list *out,
		    long long *failed_r, struct ers_error *err)
{
	int rc = 0;
	*failed_r = 0;
	for (size_t i = 0; i < n; i++) {
		struct ers_archive_policy pol = { 0 };
		if (policy_load(ctx, mbs[i].tenant_id, &pol, err) < 0)
			return -1;
		struct job j = {
			.ctx = ctx, .actor = actor, .mb = &mbs[i],
			.kind = actor->user_id == mbs[i].id ? "personal" : "tenant",
			.format = spec->format ? spec->format : pol.format,
			.days = spec->older_than_days >= 0 ? spec->older_than_days : pol.older_than_days,
			.delete_after = spec->delete_after >= 0 ? spec->delete_after : pol.delete_after,
			.folders = spec->folders, .nfolders = spec->nfolders,
			.progress = spec->progress, .progress_arg = spec->progress_arg, .run_id = run_id,
		};
		struct ers_archive *a = NULL;
		struct ers_error jerr;
		ers_error_clear(&jerr);
		int jrc;
		if (mbs[i].remote) {
			ers_error_set(&jerr, ERS_E_INVALID, "%s is a mailbox on a remote IMAP host: archives read local "
				      "mailboxes only", mbs[i].address);
			jrc = -1;
		} else {
			jrc = run_job(&j, &a, &jerr);
		}
		free(pol.tenant);
		list_add(out, a);
		if (jrc < 0) {
			(*failed_r)++;
			if (rc == 0)
				*err = jerr;
			rc = -1;
		}
	}
	return rc;
}

int ers_archive_create(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_spec *spec,
		       struct ers_archive_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	if ((!spec->address) == (!spec->tenant)) {
		ers_error_set(err, ERS_E_USAGE, "name one mailbox (EMAIL) or one tenant (--tenant), not %s",
			      spec->address ? "both" : "neither");
		return -1;
	}
	if (spec->format && check_format(spec->format, err) < 0)
		return -1;
	if (spec->destination && strcmp(spec->destination, "local")) {
		ers_error_set(err, ERS_E_INVALID, "unknown archive destination \"%.60s\"; destinations: local (the server's "
			      "archive directory)", spec->destination);
		return -1;
	}
	if (spec->older_than_days != -1 && check_days(spec->older_than_days, err) < 0)
		return -1;
	if (spec->nfolders > ERS_ARCHIVE_MAX_FOLDERS) {
		ers_error_set(err, ERS_E_INVALID, "at most %d folders, got %zu", ERS_ARCHIVE_MAX_FOLDERS, spec->nfolders);
		return -1;
	}
	for (size_t i = 0; i < spec->nfolders; i++)
		if (check_folder(spec->folders[i], err) < 0)
			return -1;
	struct mailbox *mbs = NULL;
	size_t n = 0;
	if (spec->address) {
		struct ers_buf addr = ERS_BUF_INIT;
		if (ers_address_normalize(spec->address, &addr, err) < 0) {
			ers_buf_free(&addr);
			return -1;
		}
		const char *params[] = { addr.data };
		int rc = load_mailboxes(ctx, "m.address = $1", 1, params, &mbs, &n, err);
		if (rc == 0 && n == 0) {
			ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", addr.data);
			long long dt = 0, did = 0;
			struct ers_error ignored;
			const char *at = strrchr(addr.data, '@');
			if (at)
				ers_domain_lookup(ctx, at + 1, &dt, &did, &ignored);
			struct ers_authz_target where = { .tenant_id = dt, .is_user = true };
			ers_authz_missing(ctx, actor, ERS_ACT_ARCHIVE_CREATE, &where, addr.data, err);
			rc = -1;
		}
		if (rc == 0) {
			struct ers_authz_target t = { .tenant_id = mbs[0].tenant_id, .user_id = mbs[0].id, .is_user = true,
						      .user_role = ers_role_from_db(mbs[0].role) };
			rc = ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_CREATE, &t, addr.data, err);
		}
		ers_buf_free(&addr);
		if (rc < 0) {
			mailboxes_free(mbs, n);
			return -1;
		}
	} else {
		long long tid;
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_CREATE, NULL, spec->tenant, &tid, NULL, err) < 0)
			return -1;
		struct ers_num t = ers_num(tid);
		const char *params[] = { t.s, actor->role == ERS_ROLE_TENANT_ADMIN ? "user" : NULL };
		if (load_mailboxes(ctx, "m.tenant_id = $1::bigint AND m.status = 'active' AND m.imap_username IS NULL"
					" AND ($2::text IS NULL OR m.role = $2)", 2, params, &mbs, &n, err) < 0)
			return -1;
	}
	struct ers_archive_list *list = ers_xcalloc(1, sizeof *list);
	long long failed;
	int rc = run_jobs(ctx, actor, mbs, n, spec, NULL, list, &failed, err);
	mailboxes_free(mbs, n);
	*list_r = list;
	return rc;
}

int ers_archive_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_filter *f,
		     struct ers_archive_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_ARCHIVE_VIEW, f->tenant, "archives", &sc, err) < 0)
		return -1;
	struct ers_num tid = ers_num(sc.tenant_id), self = ers_num(actor->user_id);
	const char *params[] = { sc.tenant_id ? tid.s : NULL, sc.self_only ? self.s : NULL, sc.regular_only ? "t" : NULL,
				 f->failed_only ? "t" : NULL, self.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " ARCHIVE_COLUMNS ARCHIVE_FROM
				    " WHERE ($1::bigint IS NULL OR a.tenant_id = $1::bigint)"
				    " AND ($2::bigint IS NULL OR (a.kind = 'personal' AND a.mailbox_id = $2::bigint))"
				    " AND ($3::bool IS NULL OR a.kind = 'tenant' OR a.owner_role = 'user' OR a.mailbox_id = $5::bigint)"
				    " AND ($4::bool IS NULL OR a.state = 'failed' OR a.error IS NOT NULL)"
				    " ORDER BY a.id", 5, params, err);
	if (!res)
		return -1;
	struct ers_archive_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count ? l->count : 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++)
		fill(&l->items[i], res, (int)i);
	PQclear(res);
	*list_r = l;
	return 0;
}

int ers_archive_show(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		     struct ers_error *err)
{
	return load_for(ctx, actor, ERS_ACT_ARCHIVE_VIEW, id, a_r, NULL, err);
}

int ers_archive_verify(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		       struct ers_error *err)
{
	if (load_for(ctx, actor, ERS_ACT_ARCHIVE_VIEW, id, a_r, NULL, err) < 0)
		return -1;
	struct ers_archive *a = *a_r;
	if (!a->path || !a->sha256) {
		ers_error_set(err, ERS_E_INVALID, "archive %lld is %s: nothing stored to verify", id, a->state);
		return -1;
	}
	char back[65];
	long long size;
	if (file_sha256(a->path, back, &size, err) < 0)
		return -1;
	if (strcmp(back, a->sha256) || size != a->bytes) {
		ers_error_set(err, ERS_E_IO, "archive %lld is damaged: %s has SHA-256 %s (%lld bytes), recorded %s (%lld bytes)",
			      id, a->path, back, size, a->sha256, a->bytes);
		return -1;
	}
	return 0;
}

/* The key that encrypted archive `a` (found by its owner). */
static int archive_key(struct ers_ctx *ctx, const struct ers_archive *a, long long *mailbox_r, struct key *k,
		       struct ers_error *err)
{
	struct ers_num id = ers_num(a->id);
	const char *params[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT k.id, k.fingerprint, k.public_key, k.secret_sealed, coalesce(k.mailbox_id, 0)"
				    " FROM ers.archive a JOIN ers.archive_key k ON k.id = a.key_id WHERE a.id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "the key of archive %lld is gone (its user was deleted?)", a->id);
		return -1;
	}
	k->id = ers_db_ll(res, 0, 0);
	k->fpr = ers_xstrdup(ers_db_str(res, 0, 1));
	k->public_key = ers_xstrdup(ers_db_str(res, 0, 2));
	k->secret_sealed = ers_xstrdup(ers_db_str(res, 0, 3));
	*mailbox_r = ers_db_ll(res, 0, 4);
	PQclear(res);
	return 0;
}

int ers_archive_download(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, const char *out_path,
			 struct ers_error *err)
{
	struct ers_archive *a;
	if (load_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, id, &a, NULL, err) < 0)
		return -1;
	int rc = -1, in = -1;
	struct key k = { 0 };
	struct ers_gpg *g = NULL;
	struct ers_buf secret = ERS_BUF_INIT, tmp = ERS_BUF_INIT;
	struct out_file o = { .fd = -1 };
	long long mailbox_id;
	if (!a->path) {
		ers_error_set(err, ERS_E_INVALID, "archive %lld is %s: nothing stored to download", id, a->state);
		goto out;
	}
	if (archive_key(ctx, a, &mailbox_id, &k, err) < 0)
		goto out;
	in = open(a->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read archive %lld at %s: %s", id, a->path, strerror(errno));
		goto out;
	}
	ers_buf_addf(&tmp, "%s.tmp.XXXXXX", out_path);
	o.fd = mkostemp(tmp.data, O_CLOEXEC);
	if (o.fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", out_path, strerror(errno));
		ers_buf_reset(&tmp);
		goto out;
	}
	fchmod(o.fd, 0600);
	if (key_open_secret(ctx, a->tenant_id, mailbox_id, &k, &g, &secret, err) < 0)
		goto out;
	if (ers_gpg_decrypt(g, fd_read, &in, out_write, &o, err) < 0) {
		if (o.error)
			ers_error_set(err, ERS_E_IO, "writing %s: %s", out_path, strerror(o.error));
		goto out;
	}
	if (fsync(o.fd) < 0 || close(o.fd) < 0) {
		o.fd = -1;
		ers_error_set(err, ERS_E_IO, "writing %s: %s", out_path, strerror(errno));
		goto out;
	}
	o.fd = -1;
	if (rename(tmp.data, out_path) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot move the download into place as %s: %s", out_path, strerror(errno));
		goto out;
	}
	ers_buf_reset(&tmp);
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	char detail[200];
	snprintf(detail, sizeof detail, "archive %lld decrypted (%lld bytes, %s)", id, o.bytes, a->format);
	if (ers_db_commit_audited(ctx, actor, "archive.download", a->address, a->tenant_id, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (o.fd >= 0)
		close(o.fd);
	if (tmp.len)
		unlink(tmp.data);
	ers_gpg_close(g);
	ers_buf_free_secret(&secret);
	ers_buf_free(&tmp);
	key_clear(&k);
	ers_archive_free(a);
	return rc;
}

int ers_archive_delete(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_archive *a;
	if (load_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, id, &a, NULL, err) < 0)
		return -1;
	int rc = -1;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	char detail[200];
	snprintf(detail, sizeof detail, "archive %lld (%s, %lld messages) deleted", id, a->state, a->messages);
	if (a->path && unlink(a->path) < 0 && errno != ENOENT) {
		ers_error_set(err, ERS_E_IO, "cannot remove archive %lld at %s: %s", id, a->path, strerror(errno));
		goto out;
	}
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_db_run(ctx, "DELETE FROM ers.archive WHERE id = $1::bigint", 1, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, actor, "archive.delete", a->address, a->tenant_id, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	ers_archive_free(a);
	return rc;
}

int ers_archive_key_export(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *tenant,
			   const char *passphrase, const char *out_path, struct ers_error *err)
{
	if ((!address) == (!tenant)) {
		ers_error_set(err, ERS_E_USAGE, "name the key: a user's (EMAIL) or a tenant's (--tenant), not %s",
			      address ? "both" : "neither");
		return -1;
	}
	size_t plen = passphrase ? strlen(passphrase) : 0;
	if (plen < 12 || plen > 1024) {
		ers_error_set(err, ERS_E_INVALID, "the export passphrase must be 12..1024 bytes, got %zu", plen);
		return -1;
	}
	long long tid, mid = 0;
	const char *target = address;
	char *tname = NULL;
	struct mailbox *mbs = NULL;
	size_t n = 0;
	if (address) {
		const char *params[] = { address };
		if (load_mailboxes(ctx, "m.address = lower($1)", 1, params, &mbs, &n, err) < 0)
			return -1;
		if (n == 0) {
			ers_error_set(err, ERS_E_NOTFOUND, "no user %s", address);
			struct ers_authz_target where = { .is_user = true };
			return ers_authz_missing(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, &where, address, err);
		}
		tid = mbs[0].tenant_id;
		mid = mbs[0].id;
		struct ers_authz_target t = { .tenant_id = tid, .user_id = mid, .is_user = true,
					      .user_role = ers_role_from_db(mbs[0].role) };
		if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, &t, address, err) < 0) {
			mailboxes_free(mbs, n);
			return -1;
		}
	} else {
		if (ers_tenant_resolve_for(ctx, actor, ERS_ACT_ARCHIVE_DECRYPT, NULL, tenant, &tid, &tname, err) < 0)
			return -1;
		target = tname;
	}
	int rc = -1;
	struct key k = { 0 };
	struct ers_buf context = ERS_BUF_INIT, secret = ERS_BUF_INIT, tmp = ERS_BUF_INIT;
	struct ers_gpg *g = NULL;
	struct out_file o = { .fd = -1 };
	int f = key_find(ctx, tid, mid, &k, err);
	if (f <= 0) {
		if (f == 0)
			ers_error_set(err, ERS_E_NOTFOUND, "%s has no archive key yet: it is made with the first archive",
				      target);
		goto out;
	}
	key_context(&context, tid, mid);
	if (ers_unseal(&ctx->cfg->secrets, context.data, k.secret_sealed, &secret, err) < 0 || ers_gpg_open(&g, err) < 0)
		goto out;
	ers_buf_addf(&tmp, "%s.tmp.XXXXXX", out_path);
	o.fd = mkostemp(tmp.data, O_CLOEXEC);
	if (o.fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", out_path, strerror(errno));
		ers_buf_reset(&tmp);
		goto out;
	}
	fchmod(o.fd, 0600);
	if (ers_gpg_encrypt_symmetric(g, passphrase, secret.data, secret.len, out_write, &o, err) < 0)
		goto out;
	if (fsync(o.fd) < 0 || close(o.fd) < 0) {
		o.fd = -1;
		ers_error_set(err, ERS_E_IO, "writing %s: %s", out_path, strerror(errno));
		goto out;
	}
	o.fd = -1;
	if (rename(tmp.data, out_path) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot move the key into place as %s: %s", out_path, strerror(errno));
		goto out;
	}
	ers_buf_reset(&tmp);
	char detail[200];
	snprintf(detail, sizeof detail, "archive key %s exported, passphrase-encrypted", k.fpr);
	if (ers_db_begin(ctx, err) < 0 ||
	    ers_db_commit_audited(ctx, actor, "archive.key_export", target, tid, NULL, detail, err) < 0)
		goto out;
	rc = 0;
out:
	if (o.fd >= 0)
		close(o.fd);
	if (tmp.len)
		unlink(tmp.data);
	ers_gpg_close(g);
	ers_buf_free_secret(&secret);
	ers_buf_free(&context);
	ers_buf_free(&tmp);
	key_clear(&k);
	mailboxes_free(mbs, n);
	free(tname);
	return rc;
}

/* --- archive run --------------------------------------------------------------- */

static void remove_temporaries(const char *dir, long long id)
{
	char pat[64];
	snprintf(pat, sizeof pat, ".%lld.tmp.", id);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, pat, strlen(pat))) {
			struct ers_buf p = ERS_BUF_INIT;
			ers_buf_addf(&p, "%s/%s", dir, de->d_name);
			unlink(p.data);
			ers_buf_free(&p);
		}
	}
	if (d)
		closedir(d);
	/* renamed into place, but killed before it was recorded */
	static const char *const formats[] = { "mbox", "zip" };
	for (size_t i = 0; i < 2; i++) {
		struct ers_buf p = ERS_BUF_INIT;
		ers_buf_addf(&p, "%s/%lld.%s.gpg", dir, id, formats[i]);
		unlink(p.data);
		ers_buf_free(&p);
	}
}

/* Finishes the delete-after of stored archive `id` from its recorded UIDs. */
static int resume_delete(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_archive *a;
	if (load_plain(ctx, id, &a, err) < 0)
		return -1;
	struct mailbox mb = { .tenant_id = a->tenant_id, .address = a->address };
	struct job j = { .ctx = ctx, .actor = actor, .mb = &mb, .id = id, .delete_after = true };
	snprintf(j.sha, sizeof j.sha, "%s", a->sha256 ? a->sha256 : "");
	j.path = a->path ? ers_xstrdup(a->path) : NULL;
	struct ers_num n = ers_num(id);
	const char *params[] = { n.s };
	PGresult *res = ers_db_exec(ctx, "SELECT folder, uidvalidity, uid FROM ers.archive_message WHERE archive_id = $1::bigint"
				    " ORDER BY folder, uid", 1, params, err);
	int rc = -1;
	if (res && j.path) {
		int rows = PQntuples(res);
		j.fl = ers_xcalloc((size_t)rows + 1, sizeof *j.fl);
		for (int i = 0; i < rows; i++) {
			const char *f = ers_db_str(res, i, 0);
			if (!j.nfl || strcmp(j.fl[j.nfl - 1].name, f)) {
				struct ers_archive_folder *af = &j.fl[j.nfl++];
				af->name = ers_xstrdup(f);
				af->uidvalidity = (uint32_t)ers_db_ll(res, i, 1);
				af->uids = ers_xcalloc((size_t)rows, sizeof *af->uids);
			}
			struct ers_archive_folder *af = &j.fl[j.nfl - 1];
			af->uids[af->nuids++] = (uint32_t)ers_db_ll(res, i, 2);
		}
		rc = finish_delete(&j, err);
	} else if (res) {
		ers_error_set(err, ERS_E_INTERNAL, "archive %lld has no stored file", id);
	}
	PQclear(res);
	ers_imap_close(j.im);
	job_free_folders(&j);
	free(j.path);
	ers_archive_free(a);
	return rc;
}

static int recover(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_run_result *r,
		   struct ers_error *err)
{
	PGresult *res = ers_db_exec(ctx, "SELECT id, state FROM ers.archive WHERE state = 'running' OR"
				    " (state = 'stored' AND delete_after AND error IS NULL) ORDER BY id", 0, NULL, err);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		long long id = ers_db_ll(res, i, 0);
		if (!job_lock(ctx, id, true))
			continue; /* still running */
		if (!strcmp(ers_db_str(res, i, 1), "running")) {
			struct ers_num n = ers_num(id);
			const char *params[] = { n.s };
			struct ers_error e2;
			if (ers_db_begin(ctx, &e2) == 0) {
				if (ers_db_run(ctx, "UPDATE ers.archive SET state = 'failed', finished_at = now(), error ="
						    " 'interrupted (the job was killed) before it was stored; nothing was deleted'"
						    " WHERE id = $1::bigint AND state = 'running'", 1, params, &e2) < 0)
					ers_db_rollback(ctx);
				else
					ers_db_commit_audited(ctx, actor, "archive.recover", "archive", 0, NULL,
							      "an interrupted archive job marked failed; nothing was deleted", &e2);
			}
			remove_temporaries(ctx->cfg->archive.directory, id);
			r->recovered++;
		} else {
			struct ers_error e2;
			if (resume_delete(ctx, actor, id, &e2) == 0)
				r->recovered++;
			else
				r->failed++;
		}
		job_lock(ctx, id, false);
	}
	PQclear(res);
	return 0;
}

int ers_archive_run(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_run_result *r,
		    struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	struct ers_authz_target none = { 0 };
	if (ers_authz_require(ctx, actor, ERS_ACT_ARCHIVE_RUN, &none, "archive run", err) < 0)
		return -1;
	/* One run at a time: a session lock, gone with a killed run's connection. */
	PGresult *res = ers_db_exec(ctx, "SELECT pg_try_advisory_lock(7302651)", 0, NULL, err);
	if (!res)
		return -1;
	bool got = ers_db_str(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!got) {
		ers_error_set(err, ERS_E_CONFLICT, "another `archive run` is running: one at a time");
		return -1;
	}
	/* What a kill left behind: a job "running" whose lock is free never
	 * finished writing -- nothing of it was deleted (expunging starts
	 * after 'stored') -- so it is failed, its temporary file removed, and
	 * its mailbox due again; a job stored with delete-after whose lock is
	 * free was killed before or while expunging: that is finished now. */
	if (recover(ctx, actor, r, err) < 0) {
		struct ers_error ignored;
		PQclear(ers_db_exec(ctx, "SELECT pg_advisory_unlock(7302651)", 0, NULL, &ignored));
		return -1;
	}
	char run_id[40];
	snprintf(run_id, sizeof run_id, "run-%lld-%d", (long long)time(NULL), (int)getpid());
	/* Due: an active local mailbox of a tenant with auto-archive on and
	 * no archive stored by a run in the last day. */
	struct mailbox *mbs = NULL;
	size_t n = 0;
	int rc = load_mailboxes(ctx, "m.status = 'active' AND m.imap_username IS NULL AND EXISTS (SELECT 1 FROM"
				     " ers.archive_policy p WHERE p.tenant_id = m.tenant_id AND p.auto_archive) AND NOT EXISTS"
				     " (SELECT 1 FROM ers.archive a WHERE a.mailbox_id = m.id AND a.run_id IS NOT NULL AND"
				     " a.state IN ('stored', 'expunged') AND a.created_at > now() - interval '23 hours')",
				0, NULL, &mbs, &n, err);
	if (rc == 0) {
		r->due = (long long)n;
		struct ers_archive_spec spec = { .older_than_days = -1, .delete_after = -1 };
		struct ers_archive_list *list = ers_xcalloc(1, sizeof *list);
		rc = run_jobs(ctx, actor, mbs, n, &spec, run_id, list, &r->failed, err);
		r->done = r->due - r->failed;
		ers_archive_list_free(list);
		mailboxes_free(mbs, n);
	}
	struct ers_error ignored;
	res = ers_db_exec(ctx, "SELECT pg_advisory_unlock(7302651)", 0, NULL, &ignored);
	PQclear(res);
	return rc;
}
