/* The effects of a change on the running mail servers: the removal of
 * deleted mailboxes' mail, and Dovecot's auth cache flush over its doveadm
 * HTTP API.  (The mail role's grants are mailstack/grant.c.) */
#define _GNU_SOURCE /* nftw's FTW_DEPTH, FTW_PHYS */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "mail/internal.h"

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes MAIL_ROOT/mail_path and everything under it without following
 * symbolic links; a path that is already gone is done too. */
static int remove_tree(const char *root, const char *mail_path, struct ers_error *err)
{
	struct ers_buf path = ERS_BUF_INIT;
	ers_buf_addf(&path, "%s/%s", root, mail_path);
	int rc = 0;
	struct stat st;
	if (lstat(path.data, &st) == 0 && nftw(path.data, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot remove %s: %s", path.data, strerror(errno));
		rc = -1;
	}
	ers_buf_free(&path);
	return rc;
}

int ers_mailstack_purge_pending(struct ers_ctx *ctx, const struct ers_actor *actor, long *removed_r,
				struct ers_error *err)
{
	const char *root = ctx->cfg->mailstack.mail_root;
	struct stat st;
	*removed_r = 0;
	/* Not a mail node: the purge waits for `ersctl mailstack purge` there. */
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode) || access(root, W_OK) < 0)
		return 0;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx,
		"SELECT id, mail_path, coalesce(address, 'tenant ' || mail_path) FROM ers.mail_purge"
		" WHERE done_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 10000", 0, NULL, err);
	if (!res)
		goto rollback;
	struct ers_buf detail = ERS_BUF_INIT;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *params[] = { ers_db_str(res, i, 0) };
		if (remove_tree(root, ers_db_str(res, i, 1), err) < 0 ||
		    ers_db_run(ctx, "UPDATE ers.mail_purge SET done_at = now() WHERE id = $1::bigint", 1, params, err) < 0) {
			PQclear(res);
			ers_buf_free(&detail);
			goto rollback;
		}
		if (i < 20)
			ers_buf_addf(&detail, "%s%s", i ? ", " : "removed the mail of ", ers_db_str(res, i, 2));
	}
	PQclear(res);
	if (n > 20)
		ers_buf_addf(&detail, " and %d more", n - 20);
	if (n == 0) {
		ers_db_rollback(ctx);
		ers_buf_free(&detail);
		return 0;
	}
	int rc = ers_db_commit_audited(ctx, actor, "mailstack.purge", root, 0, NULL, detail.data, err);
	ers_buf_free(&detail);
	if (rc == 0)
		*removed_r = n;
	return rc;
rollback:
	ers_db_rollback(ctx);
	return -1;
}

int ers_mailstack_purge(struct ers_ctx *ctx, const struct ers_actor *actor, long *removed_r,
			struct ers_error *err)
{
	*removed_r = 0;
	if (ers_authz_check(actor, ERS_ACT_SCHEMA_MIGRATE, NULL, err) < 0)
		return -1;
	const char *root = ctx->cfg->mailstack.mail_root;
	if (access(root, W_OK) < 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "mail root %s (mailstack.mail_root) is not a writable directory here: %s; run this on a mail node, as root",
			      root, strerror(errno));
		return -1;
	}
	return ers_mailstack_purge_pending(ctx, actor, removed_r, err);
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	ers_buf_add(userdata, data, size * n);
	return size * n;
}

/* POSTs one doveadm command to `url`/doveadm/v1; the key is sent as
 * X-Dovecot-API and never appears in an error. */
static int doveadm_post(const char *url, const char *api_key, const char *body, struct ers_error *err)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		ERS_BUG("curl_easy_init failed");
	struct ers_buf endpoint = ERS_BUF_INIT, auth = ERS_BUF_INIT, reply = ERS_BUF_INIT;
	ers_buf_addf(&endpoint, "%s/doveadm/v1", url);
	unsigned char b64[200];
	size_t klen = strlen(api_key);
	if (klen > 140)
		klen = 140;
	EVP_EncodeBlock(b64, (const unsigned char *)api_key, (int)klen);
	ers_buf_addf(&auth, "Authorization: X-Dovecot-API %s", b64);
	ers_wipe(b64, sizeof b64);
	struct curl_slist *headers = curl_slist_append(NULL, auth.data);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, endpoint.data);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	int rc = 0;
	if (cc != CURLE_OK) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "Dovecot's doveadm API at %s: %s", endpoint.data, curl_easy_strerror(cc));
		rc = -1;
	} else if (status != 200 || !strstr(reply.data, "\"doveadmResponse\"")) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "Dovecot's doveadm API at %s answered HTTP %ld: %.200s",
			      endpoint.data, status, reply.data);
		rc = -1;
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	ers_buf_free_secret(&auth);
	ers_buf_free(&endpoint);
	ers_buf_free(&reply);
	return rc;
}

int ers_mailstack_flush_auth(const struct ers_config *cfg, const char *address, struct ers_error *err)
{
	const char *urls = cfg->mailstack.doveadm_urls;
	if (!urls || !*urls)
		return 0;
	if (!cfg->secrets.doveadm_api_key) {
		ers_error_set(err, ERS_E_CONFIG, "mailstack.doveadm_urls is set but DOVEADM_API_KEY is not in %s",
			      cfg->secrets_file);
		return -1;
	}
	/* No user: the whole cache (a tenant's users all went at once).  Dovecot
	 * 2.3 wants the parameter even then -- without it the doveadm process
	 * dies ("Missing user parameter") -- and flushes everything for []. */
	json_t *cmd = address ? json_pack("[[s, {s: [s]}, s]]", "authCacheFlush", "user", address, "ers")
			      : json_pack("[[s, {s: []}, s]]", "authCacheFlush", "user", "ers");
	char *body = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	char *list = ers_xstrdup(urls), *save = NULL;
	int rc = 0;
	struct ers_error later;
	/* The others still get flushed; the first error is the one reported. */
	for (char *u = strtok_r(list, ", ", &save); u; u = strtok_r(NULL, ", ", &save))
		if (doveadm_post(u, cfg->secrets.doveadm_api_key, body, rc == 0 ? err : &later) < 0)
			rc = -1;
	free(list);
	free(body);
	return rc;
}

void ers_mailstack_after_change(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
				bool purge)
{
	struct ers_error e;
	long removed;
	if (ers_mailstack_flush_auth(ctx->cfg, address, &e) < 0)
		ers_ctx_warn(ctx, "the change is made, but Dovecot's auth cache was not flushed (%s); logins may see the old state for up to an hour",
			     e.message);
	if (purge && ers_mailstack_purge_pending(ctx, actor, &removed, &e) < 0)
		ers_ctx_warn(ctx, "deleted, but the mail is not removed yet (%s); `ersctl mailstack purge` on the mail node removes it",
			     e.message);
}
