/* Remote archive destinations: a tenant's SFTP or WebDAV (HTTPS) place
 * where its archives are uploaded with libcurl.  The credential -- a
 * password, or for SFTP an SSH private key -- is sealed under the master
 * key; an SSH key is unsealed only into a throwaway 0700 directory for the
 * length of one transfer (libssh2 reads keys from files).  An upload is
 * read back from the destination and its SHA-256 compared before the job
 * goes on, so nothing is deleted on the word of a destination that
 * accepted but did not keep the bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "archive/internal.h"

void ers_archive_dest_clear(struct ers_archive_dest *d)
{
	free(d->name);
	free(d->kind);
	free(d->url);
	free(d->username);
	free(d->secret_sealed);
	free(d->host_key);
	memset(d, 0, sizeof *d);
}

static void seal_context(struct ers_buf *b, long long tenant_id, const char *name)
{
	ers_buf_reset(b);
	ers_buf_addf(b, "archive-destination:%lld:%s", tenant_id, name);
}

int ers_archive_dest_find(struct ers_ctx *ctx, long long tenant_id, const char *name, struct ers_archive_dest *d,
			  struct ers_error *err)
{
	struct ers_num t = ers_num(tenant_id);
	const char *params[] = { t.s, name };
	PGresult *res = ers_db_exec(ctx, "SELECT id, name, kind, url, username, secret_sealed, host_key FROM"
				    " ers.archive_destination WHERE tenant_id = $1::bigint AND name = $2", 2, params, err);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0;
	if (found) {
		d->id = ers_db_ll(res, 0, 0);
		d->tenant_id = tenant_id;
		d->name = ers_xstrdup(ers_db_str(res, 0, 1));
		d->kind = ers_xstrdup(ers_db_str(res, 0, 2));
		d->url = ers_xstrdup(ers_db_str(res, 0, 3));
		d->username = ers_xstrdup(ers_db_str(res, 0, 4));
		d->secret_sealed = ers_xstrdup(ers_db_str(res, 0, 5));
		d->host_key = ers_db_isnull(res, 0, 6) ? NULL : ers_xstrdup(ers_db_str(res, 0, 6));
	}
	PQclear(res);
	return found;
}

/* --- input ---------------------------------------------------------------------- */

int ers_archive_check_dest_name(const char *name, struct ers_error *err)
{
	size_t len = strlen(name);
	bool ok = len >= 1 && len <= 40 && strcmp(name, "local");
	for (size_t i = 0; ok && i < len; i++) {
		char ch = name[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i && (ch == '-' || ch == '_'));
	}
	if (!ok) {
		ers_error_set(err, ERS_E_INVALID, "a destination name is 1..40 of a-z, 0-9, '-', '_' (not starting with "
			      "'-' or '_', not \"local\"), got \"%.60s\"", name);
		return -1;
	}
	return 0;
}

/* sftp://HOST[:PORT]/PATH/ or https://HOST[:PORT]/PATH/ -- only the
 * characters of a plain URL (no quotes, spaces, ';', '|', '$', '`', no
 * userinfo: the credential is given apart and sealed). */
static int check_url(const char *url, const char **kind_r, struct ers_error *err)
{
	const char *rest;
	if (!strncmp(url, "sftp://", 7)) {
		*kind_r = "sftp";
		rest = url + 7;
	} else if (!strncmp(url, "https://", 8)) {
		*kind_r = "webdav";
		rest = url + 8;
	} else {
		ers_error_set(err, ERS_E_INVALID, "a destination URL is sftp://HOST[:PORT]/DIR/ or https://HOST[:PORT]/DIR/ "
			      "(WebDAV), got \"%.80s\"", url);
		return -1;
	}
	size_t len = strlen(url);
	for (const char *p = url; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  strchr("-._~:/%+=[],", ch);
		if (!ok || !ch) {
			ers_error_set(err, ERS_E_INVALID, "a destination URL may hold letters, digits and - . _ ~ : / %% + = [ ] , "
				      "only (the credential is given apart), got the character 0x%02x", (unsigned char)ch);
			return -1;
		}
	}
	const char *slash = strchr(rest, '/');
	if (len > 500 || !slash || slash == rest || url[len - 1] != '/' || strstr(url, "/../") || strstr(url, "/./")) {
		ers_error_set(err, ERS_E_INVALID, "a destination URL names a host and a directory ending in '/', without "
			      "\"..\" (at most 500 bytes), got \"%.80s\"", url);
		return -1;
	}
	return 0;
}

/* --- add, list, remove -------------------------------------------------------------- */

static int tenant_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, const char *tenant,
		      long long *tid_r, struct ers_error *err)
{
	if (tenant)
		return ers_tenant_resolve_for(ctx, actor, action, NULL, tenant, tid_r, NULL, err);
	if (!actor->tenant_id) {
		ers_error_set(err, ERS_E_USAGE, "name the tenant (--tenant NAME)");
		return -1;
	}
	*tid_r = actor->tenant_id;
	struct ers_authz_target t = { .tenant_id = *tid_r };
	return ers_authz_require(ctx, actor, action, &t, "archive destinations", err);
}

int ers_archive_destination_add(struct ers_ctx *ctx, const struct ers_actor *actor,
				const struct ers_archive_destination_spec *s, struct ers_error *err)
{
	const char *kind;
	if (ers_archive_check_dest_name(s->name ? s->name : "", err) < 0 || check_url(s->url ? s->url : "", &kind, err) < 0)
		return -1;
	size_t ulen = s->username ? strlen(s->username) : 0;
	bool user_ok = ulen >= 1 && ulen <= 100;
	for (size_t i = 0; user_ok && i < ulen; i++)
		user_ok = (unsigned char)s->username[i] > 0x20 && s->username[i] != 0x7f && s->username[i] != ':';
	if (!user_ok) {
		ers_error_set(err, ERS_E_INVALID, "the destination's user name must be 1..100 printable characters without "
			      "spaces or ':'");
		return -1;
	}
	if (!s->secret || s->secret_len == 0 || s->secret_len > 16384) {
		ers_error_set(err, ERS_E_INVALID, "give the destination's credential: --password-file (WebDAV or SFTP) or "
			      "--key-file (SFTP, an SSH private key without passphrase), at most 16 KB");
		return -1;
	}
	if (s->secret_is_key && strcmp(kind, "sftp")) {
		ers_error_set(err, ERS_E_INVALID, "--key-file is for SFTP destinations; WebDAV takes --password-file");
		return -1;
	}
	if (!strcmp(kind, "sftp")) {
		size_t hl = s->host_key ? strlen(s->host_key) : 0;
		bool ok = hl == 43 || hl == 44;
		for (size_t i = 0; ok && i < hl; i++)
			ok = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", s->host_key[i]) != NULL;
		if (!ok) {
			ers_error_set(err, ERS_E_INVALID, "an SFTP destination needs --host-key: the server's host key SHA-256 in "
				      "base64, as `ssh-keygen -lf KEY.pub` prints it after \"SHA256:\"");
			return -1;
		}
	} else if (s->host_key) {
		ers_error_set(err, ERS_E_INVALID, "--host-key is for SFTP destinations only");
		return -1;
	}
	long long tid;
	if (tenant_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, s->tenant, &tid, err) < 0)
		return -1;
	struct ers_buf context = ERS_BUF_INIT, sealed = ERS_BUF_INIT, secret = ERS_BUF_INIT;
	/* A key is kept with "key:" before it, a password with "pw:". */
	ers_buf_adds(&secret, s->secret_is_key ? "key:" : "pw:");
	ers_buf_add(&secret, s->secret, s->secret_len);
	seal_context(&context, tid, s->name);
	int rc = ers_seal(&ctx->cfg->secrets, context.data, secret.data, secret.len, &sealed, err);
	ers_buf_free_secret(&secret);
	if (rc == 0) {
		struct ers_num t = ers_num(tid);
		const char *params[] = { t.s, s->name, kind, s->url, s->username, sealed.data, s->host_key };
		char detail[700];
		snprintf(detail, sizeof detail, "archive destination %s added: %s %s as %s", s->name, kind, s->url, s->username);
		rc = ers_db_begin(ctx, err);
		if (rc == 0) {
			PGresult *res = ers_db_exec(ctx, "INSERT INTO ers.archive_destination (tenant_id, name, kind, url, username,"
						    " secret_sealed, host_key) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7)"
						    " ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id", 7, params, err);
			if (res && PQntuples(res) == 0) {
				ers_error_set(err, ERS_E_CONFLICT, "the tenant already has an archive destination %s (remove it first)",
					      s->name);
				PQclear(res);
				res = NULL;
			}
			if (!res) {
				ers_db_rollback(ctx);
				rc = -1;
			} else {
				PQclear(res);
				rc = ers_db_commit_audited(ctx, actor, "archive.destination_add", s->name, tid, NULL, detail, err);
			}
		}
	}
	ers_buf_free(&context);
	ers_buf_free(&sealed);
	return rc;
}

int ers_archive_destination_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
				 struct ers_archive_destination **items_r, size_t *n_r, struct ers_error *err)
{
	*items_r = NULL;
	*n_r = 0;
	long long tid;
	if (tenant_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_VIEW, tenant, &tid, err) < 0)
		return -1;
	struct ers_num t = ers_num(tid);
	const char *params[] = { t.s };
	PGresult *res = ers_db_exec(ctx, "SELECT tn.name, d.name, d.kind, d.url, d.username, coalesce(d.host_key, ''), "
				    ERS_SQL_TIME("d.created_at") " FROM ers.archive_destination d JOIN ers.tenant tn ON"
				    " tn.id = d.tenant_id WHERE d.tenant_id = $1::bigint ORDER BY d.name", 1, params, err);
	if (!res)
		return -1;
	size_t n = (size_t)PQntuples(res);
	struct ers_archive_destination *items = ers_xcalloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++) {
		items[i].tenant = ers_xstrdup(ers_db_str(res, (int)i, 0));
		items[i].name = ers_xstrdup(ers_db_str(res, (int)i, 1));
		items[i].kind = ers_xstrdup(ers_db_str(res, (int)i, 2));
		items[i].url = ers_xstrdup(ers_db_str(res, (int)i, 3));
		items[i].username = ers_xstrdup(ers_db_str(res, (int)i, 4));
		items[i].host_key = ers_xstrdup(ers_db_str(res, (int)i, 5));
		snprintf(items[i].created_at, sizeof items[i].created_at, "%s", ers_db_str(res, (int)i, 6));
	}
	PQclear(res);
	*items_r = items;
	*n_r = n;
	return 0;
}

void ers_archive_destinations_free(struct ers_archive_destination *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].tenant);
		free(items[i].name);
		free(items[i].kind);
		free(items[i].url);
		free(items[i].username);
		free(items[i].host_key);
	}
	free(items);
}

int ers_archive_destination_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
				   const char *name, struct ers_error *err)
{
	long long tid;
	if (ers_archive_check_dest_name(name, err) < 0 || tenant_for(ctx, actor, ERS_ACT_ARCHIVE_POLICY_SET, tenant, &tid, err) < 0)
		return -1;
	struct ers_num t = ers_num(tid);
	const char *params[] = { t.s, name };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx, "DELETE FROM ers.archive_destination WHERE tenant_id = $1::bigint AND name = $2"
				    " RETURNING id", 2, params, err);
	if (res && PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "the tenant has no archive destination %s (see: ersctl archive destination "
			      "list)", name);
		PQclear(res);
		res = NULL;
	}
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	PQclear(res);
	char detail[200];
	snprintf(detail, sizeof detail, "archive destination %s removed", name);
	return ers_db_commit_audited(ctx, actor, "archive.destination_remove", name, tid, NULL, detail, err);
}

/* --- transfers ------------------------------------------------------------------------ */

/* One transfer's handle with the destination's credential; an SSH key is
 * unsealed into `keydir` (removed by transfer_end). */
struct transfer {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	struct ers_buf secret;
	char keydir[300];
	char keyfile[320];
};

static void transfer_end(struct transfer *t)
{
	if (t->curl)
		curl_easy_cleanup(t->curl);
	if (t->keyfile[0]) {
		/* overwritten before unlinked: the tmpfs or disk keeps no clear key */
		int fd = open(t->keyfile, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && st.st_size > 0) {
				char zero[4096] = { 0 };
				for (off_t off = 0; off < st.st_size; off += (off_t)sizeof zero)
					if (write(fd, zero, sizeof zero) < 0)
						break;
				fsync(fd);
			}
			close(fd);
		}
		unlink(t->keyfile);
	}
	if (t->keydir[0])
		rmdir(t->keydir);
	ers_buf_free_secret(&t->secret);
	memset(t, 0, sizeof *t);
}

static int transfer_begin(struct ers_ctx *ctx, const struct ers_archive_dest *d, const char *url, struct transfer *t,
			  struct ers_error *err)
{
	memset(t, 0, sizeof *t);
	struct ers_buf context = ERS_BUF_INIT;
	seal_context(&context, d->tenant_id, d->name);
	int rc = ers_unseal(&ctx->cfg->secrets, context.data, d->secret_sealed, &t->secret, err);
	ers_buf_free(&context);
	if (rc < 0)
		return -1;
	t->curl = curl_easy_init();
	if (!t->curl)
		ERS_BUG("curl_easy_init failed");
	CURL *c = t->curl;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERNAME, d->username);
	bool is_key = !strncmp(t->secret.data, "key:", 4);
	const char *secret = t->secret.data + (is_key ? 4 : 3);
	if (!strcmp(d->kind, "sftp")) {
		curl_easy_setopt(c, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, d->host_key);
		curl_easy_setopt(c, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR);
		if (is_key) {
			const char *tmp = getenv("TMPDIR");
			snprintf(t->keydir, sizeof t->keydir, "%s/ers-sftp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
			if (!mkdtemp(t->keydir)) {
				ers_error_set(err, ERS_E_IO, "cannot make a private directory for the SSH key: %s", strerror(errno));
				t->keydir[0] = '\0';
				return -1;
			}
			snprintf(t->keyfile, sizeof t->keyfile, "%s/key", t->keydir);
			int fd = open(t->keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			size_t len = strlen(secret);
			if (fd < 0 || write(fd, secret, len) != (ssize_t)len) {
				ers_error_set(err, ERS_E_IO, "cannot write the SSH key for the transfer: %s", strerror(errno));
				if (fd >= 0)
					close(fd);
				return -1;
			}
			close(fd);
			curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
			curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, t->keyfile);
		} else {
			curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PASSWORD);
			curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
		}
	} else {
		curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
		if (ctx->cfg->dns.ca_file && *ctx->cfg->dns.ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, ctx->cfg->dns.ca_file);
	}
	return 0;
}

static int transfer_run(struct transfer *t, const struct ers_archive_dest *d, const char *what, struct ers_error *err)
{
	CURLcode cc = curl_easy_perform(t->curl);
	if (cc == CURLE_OK)
		return 0;
	long status = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);
	/* A refused login, told apart: the likeliest fix differs. */
	bool auth = cc == CURLE_LOGIN_DENIED || status == 401 || status == 403;
	ers_error_set(err, ERS_E_IO, "%s archive destination %s (%s): %s%s", what, d->name, d->url, why,
		      auth ? " (the destination refused the credentials)" : "");
	return -1;
}

/* A server refusing the credentials may answer 401 while the body is
 * still going up and close, which curl reports as a cut transfer: asked
 * again without a body, it says whether the login was the cause. */
static void note_refused_login(struct ers_ctx *ctx, const struct ers_archive_dest *d, struct ers_error *err)
{
	if (!strncmp(d->url, "sftp://", 7))
		return;
	struct transfer t;
	struct ers_error ignored;
	if (transfer_begin(ctx, d, d->url, &t, &ignored) == 0) {
		curl_easy_setopt(t.curl, CURLOPT_NOBODY, 1L);
		long status = 0;
		curl_easy_perform(t.curl); /* FAILONERROR: a 401 is an error, its code still read */
		curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == 401 || status == 403) {
			size_t n = strlen(err->message);
			snprintf(err->message + n, sizeof err->message - n, " (the destination refused the credentials)");
		}
	}
	transfer_end(&t);
}

static size_t read_fd(char *buf, size_t size, size_t n, void *arg)
{
	ssize_t r = ers_archive_fd_read(arg, buf, size * n);
	return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

struct hash_sink {
	EVP_MD_CTX *md;
	long long bytes;
};

static size_t hash_write(char *buf, size_t size, size_t n, void *arg)
{
	struct hash_sink *h = arg;
	EVP_DigestUpdate(h->md, buf, size * n);
	h->bytes += (long long)(size * n);
	return size * n;
}

int ers_archive_remote_sha256(struct ers_ctx *ctx, const struct ers_archive_dest *d, const char *url, char out[65],
			      long long *size_r, struct ers_error *err)
{
	struct transfer t;
	if (transfer_begin(ctx, d, url, &t, err) < 0) {
		transfer_end(&t);
		return -1;
	}
	struct hash_sink h = { .md = EVP_MD_CTX_new() };
	EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
	curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, hash_write);
	curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &h);
	int rc = transfer_run(&t, d, "reading back from", err);
	unsigned char md[32];
	EVP_DigestFinal_ex(h.md, md, NULL);
	EVP_MD_CTX_free(h.md);
	transfer_end(&t);
	if (rc == 0) {
		ers_archive_hex(md, 32, out);
		*size_r = h.bytes;
	}
	return rc;
}

int ers_archive_remote_put(struct ers_ctx *ctx, const struct ers_archive_dest *d, const char *path, const char *file_name,
			   const char *sha, long long bytes, char **url_r, struct ers_error *err)
{
	*url_r = NULL;
	struct ers_buf url = ERS_BUF_INIT;
	ers_buf_addf(&url, "%s%s", d->url, file_name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read the stored archive %s: %s", path, strerror(errno));
		ers_buf_free(&url);
		return -1;
	}
	struct transfer t;
	int rc = transfer_begin(ctx, d, url.data, &t, err);
	if (rc == 0) {
		curl_easy_setopt(t.curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(t.curl, CURLOPT_READFUNCTION, read_fd);
		curl_easy_setopt(t.curl, CURLOPT_READDATA, &fd);
		curl_easy_setopt(t.curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)bytes);
		rc = transfer_run(&t, d, "uploading to", err);
	}
	transfer_end(&t);
	if (rc < 0 && !strstr(err->message, "refused the credentials"))
		note_refused_login(ctx, d, err);
	close(fd);
	char back[65];
	long long size = 0;
	if (rc == 0)
		rc = ers_archive_remote_sha256(ctx, d, url.data, back, &size, err);
	if (rc == 0 && (strcmp(back, sha) || size != bytes)) {
		ers_error_set(err, ERS_E_IO, "archive destination %s gives back %s with SHA-256 %s (%lld bytes), not the %s "
			      "(%lld bytes) uploaded", d->name, url.data, back, size, sha, bytes);
		rc = -1;
	}
	if (rc == 0)
		*url_r = ers_buf_detach(&url);
	ers_buf_free(&url);
	return rc;
}
