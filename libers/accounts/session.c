/* Webmail sign-in: password and code, sessions in PostgreSQL, the delay on
 * failed logins, CSRF tokens and cookies.  The rules are in session.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "accounts/internal.h"

enum { TOKEN_BYTES = 32, TOKEN_CHARS = 43 };

/* Verified in place of an unknown address's hash, so that a wrong address
 * costs the same yescrypt run as a wrong password (same parameters as
 * ers_password_hash makes; no password has it). */
static const char dummy_hash[] = "$y$j9T$JNVfX9Wpgzm2soc7b00JS0$9qqj0Nmb56EfFVuSuvT4JC/DFNjy.zc7./xUqfTYxFD";

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding of n bytes into out (4n/3 + 2 bytes). */
static void b64url_encode(const unsigned char *p, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
		for (size_t c = 0; c < chars; c++)
			out[o++] = b64url_alphabet[(v >> (18 - 6 * c)) & 63];
	}
	out[o] = '\0';
}

/* A session token as text back to its 32 bytes; false when it is not one. */
static bool token_decode(const char *token, unsigned char raw[TOKEN_BYTES])
{
	if (!token || strlen(token) != TOKEN_CHARS)
		return false;
	unsigned acc = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < TOKEN_CHARS; i++) {
		const char *at = strchr(b64url_alphabet, token[i]);
		if (!at || !token[i])
			return false;
		acc = (acc << 6 | (unsigned)(at - b64url_alphabet)) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			raw[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return o == TOKEN_BYTES && (acc & ((1u << bits) - 1)) == 0; /* one spelling per token */
}

/* The token's SHA-256 as a bytea parameter ("\x" and hex). */
static bool token_param(const char *token, char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char raw[TOKEN_BYTES], digest[SHA256_DIGEST_LENGTH];
	if (!token_decode(token, raw))
		return false;
	SHA256(raw, sizeof raw, digest);
	ers_wipe(raw, sizeof raw);
	hex[0] = '\\';
	hex[1] = 'x';
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", digest[i]);
	return true;
}

/* A new token into s->token and its hash parameter. */
static int new_token(struct ers_session *s, char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1], struct ers_error *err)
{
	unsigned char raw[TOKEN_BYTES];
	if (RAND_bytes(raw, sizeof raw) != 1) {
		ers_error_set(err, ERS_E_INTERNAL, "the OS random generator failed");
		return -1;
	}
	b64url_encode(raw, sizeof raw, s->token);
	ers_wipe(raw, sizeof raw);
	token_param(s->token, hex);
	return 0;
}

static int check_ip(const char *ip, struct ers_error *err)
{
	unsigned char addr[16];
	if (ip && (inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1))
		return 0;
	ers_error_set(err, ERS_E_INVALID, "the client address must be an IPv4 or IPv6 address, got \"%.60s\"",
		      ip ? ip : "");
	return -1;
}

/* The User-Agent as kept: printable ASCII, at most ERS_USER_AGENT_MAX bytes. */
static void clean_user_agent(const char *ua, char out[ERS_USER_AGENT_MAX + 1])
{
	size_t n = 0;
	for (; ua && ua[n] && n < ERS_USER_AGENT_MAX; n++)
		out[n] = ua[n] >= 0x20 && ua[n] < 0x7f ? ua[n] : '?';
	out[n] = '\0';
}

/* Who a request is before it is logged in, for the audit log. */
static void anonymous_actor(struct ers_actor *a, const char *ip)
{
	memset(a, 0, sizeof *a);
	a->role = ERS_ROLE_USER;
	snprintf(a->name, sizeof a->name, "web:%s", ip);
}

static void user_actor(struct ers_actor *a, long long id, long long tenant_id, const char *role,
		       const char *address)
{
	struct ers_error ignored;
	memset(a, 0, sizeof *a);
	if (ers_role_parse(role, &a->role, &ignored) < 0)
		ERS_BUG("a role the schema does not allow");
	a->user_id = id;
	a->tenant_id = tenant_id;
	snprintf(a->name, sizeof a->name, "%s", address);
}

/* The wait after n failures when the first `free` ones cost nothing:
 * 2, 4, 8, 16, then ERS_LOGIN_MAX_DELAY seconds. */
static double delay_after(long long n, long long free)
{
	if (n <= free)
		return 0;
	long long d = n - free >= 5 ? ERS_LOGIN_MAX_DELAY : 1LL << (n - free);
	return (double)(d > ERS_LOGIN_MAX_DELAY ? ERS_LOGIN_MAX_DELAY : d);
}

/* Seconds until another password may be tried for `address` (may be "")
 * from `ip`: 0 when now. */
static int throttle_wait(struct ers_ctx *ctx, const char *address, const char *ip, long long *wait_r,
			 struct ers_error *err)
{
	const char *params[] = { address, ip };
	PGresult *res = ers_db_exec(ctx,
		"SELECT count(*) FILTER (WHERE address = $1 AND $1 <> ''),"
		" coalesce(extract(epoch FROM now() - max(at) FILTER (WHERE address = $1 AND $1 <> '')), 0),"
		" count(*) FILTER (WHERE client_ip = $2::inet),"
		" coalesce(extract(epoch FROM now() - max(at) FILTER (WHERE client_ip = $2::inet)), 0)"
		" FROM ers.login_failure WHERE kind = 'password' AND at > now() - interval '15 minutes'"
		" AND ((address = $1 AND $1 <> '') OR client_ip = $2::inet)", 2, params, err);
	if (!res)
		return -1;
	double account = delay_after(ers_db_ll(res, 0, 0), ERS_LOGIN_FREE_PER_ACCOUNT) - atof(ers_db_str(res, 0, 1));
	double client = delay_after(ers_db_ll(res, 0, 2), ERS_LOGIN_FREE_PER_CLIENT) - atof(ers_db_str(res, 0, 3));
	PQclear(res);
	double wait = account > client ? account : client;
	long long whole = (long long)wait; /* rounded up: "try again in 0 s" helps no one */
	*wait_r = wait > 0 ? whole + ((double)whole < wait) : 0;
	return 0;
}

/* Fills the times of `s` from a row: created, last seen, expires. */
static void session_times(struct ers_session *s, const PGresult *res, int first_col)
{
	ers_db_time(s->created_at, res, 0, first_col);
	ers_db_time(s->last_seen, res, 0, first_col + 1);
	ers_db_time(s->expires_at, res, 0, first_col + 2);
}

/* When a session row (columns prefixed with `p`) ends without another request. */
#define SQL_EXPIRES(p) \
	ERS_SQL_TIME("CASE WHEN " p "mfa_pending THEN " p "created_at + " SQL_PENDING \
		     " WHEN " p "impersonator_id IS NOT NULL THEN " p "created_at + " SQL_IMPERSONATION \
		     " ELSE " p "last_seen + " SQL_IDLE " END")
#define ERS_STR_(x) #x
#define ERS_STR(x) ERS_STR_(x)
#define SQL_IDLE "make_interval(days => " ERS_STR(ERS_SESSION_IDLE_DAYS) ")"
#define SQL_PENDING "make_interval(secs => " ERS_STR(ERS_SESSION_PENDING_SECONDS) ")"
#define SQL_IMPERSONATION "make_interval(secs => " ERS_STR(ERS_IMPERSONATION_SECONDS) ")"

/* In the caller's transaction: sweeps expired sessions and makes a new one
 * for the mailbox, filling s->token and its times. */
static int insert_session_as(struct ers_ctx *ctx, long long mailbox_id, const char *ip, const char *ua,
			     bool pending, long long impersonator_id, const char *reason, struct ers_session *s,
			     struct ers_error *err)
{
	char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1];
	if (new_token(s, hex, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.session WHERE (NOT mfa_pending AND last_seen < now() - " SQL_IDLE ")"
			    " OR (mfa_pending AND created_at < now() - " SQL_PENDING ")"
			    " OR (impersonator_id IS NOT NULL AND created_at < now() - " SQL_IMPERSONATION ")", 0, NULL, err) < 0)
		return -1;
	struct ers_num id = ers_num(mailbox_id), by = ers_num(impersonator_id);
	const char *params[] = { hex, id.s, ip, ua, pending ? "t" : "f", impersonator_id ? by.s : NULL, reason };
	PGresult *res = ers_db_exec(ctx,
		"INSERT INTO ers.session (token_hash, mailbox_id, client_ip, user_agent, mfa_pending, impersonator_id,"
		" impersonation_reason) VALUES ($1::bytea, $2::bigint, $3::inet, $4, $5::bool, $6::bigint, $7)"
		" RETURNING " ERS_SQL_TIME("created_at") ", " ERS_SQL_TIME("last_seen") ", " SQL_EXPIRES(""),
		7, params, err);
	if (!res)
		return -1;
	session_times(s, res, 0);
	s->mfa_pending = pending;
	PQclear(res);
	return 0;
}

static int insert_session(struct ers_ctx *ctx, long long mailbox_id, const char *ip, const char *ua,
			  bool pending, struct ers_session *s, struct ers_error *err)
{
	return insert_session_as(ctx, mailbox_id, ip, ua, pending, 0, NULL, s, err);
}

int ers_login_password(struct ers_ctx *ctx, const char *input, const char *password,
		       const char *client_ip, const char *user_agent, struct ers_session *s,
		       struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	if (check_ip(client_ip, err) < 0)
		return -1;
	struct ers_buf address = ERS_BUF_INIT;
	struct ers_error ignored;
	struct ers_actor anon, user;
	anonymous_actor(&anon, client_ip);
	if (ers_address_normalize(input, &address, &ignored) < 0)
		ers_buf_reset(&address); /* counted under "" per client address only */
	const char *target = address.len ? address.data : "(not an address)";
	int rc = -1;
	PGresult *res = NULL;
	if (address.len) {
		const char *params[] = { address.data };
		res = ers_db_exec(ctx,
			"SELECT m.id, m.tenant_id, m.role, m.status, m.password_hash, m.totp_seed_sealed IS NOT NULL"
			" FROM ers.mailbox m WHERE m.address = $1", 1, params, err);
		if (!res)
			goto out;
	}
	bool found = res && PQntuples(res) == 1;
	long long tenant_id = found ? ers_db_ll(res, 0, 1) : 0;
	long long wait;
	if (throttle_wait(ctx, address.data, client_ip, &wait, err) < 0)
		goto out;
	if (wait > 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "too many failed logins; try again in %lld s", wait);
		ers_audit_denied(ctx, &anon, "session.login", target, tenant_id, err->message);
		goto out;
	}
	bool right = ers_password_verify(password ? password : "", found ? ers_db_str(res, 0, 4) : dummy_hash);
	if (!right || !found) {
		if (ers_login_failure_record(ctx, "password", address.data, client_ip, NULL, err) < 0)
			goto out;
		ers_audit_denied(ctx, &anon, "session.login", target, tenant_id,
				 !address.len ? "wrong email or password: not an address" :
				 !found ? "wrong email or password: no user has this address" :
					  "wrong email or password: wrong password");
		ers_error_set(err, ERS_E_PERMISSION, "wrong email or password");
		goto out;
	}
	user_actor(&user, ers_db_ll(res, 0, 0), tenant_id, ers_db_str(res, 0, 2), address.data);
	if (strcmp(ers_db_str(res, 0, 3), "active")) {
		ers_error_set(err, ERS_E_PERMISSION, "this account is disabled; contact your administrator");
		ers_audit_denied(ctx, &user, "session.login", address.data, tenant_id, err->message);
		goto out;
	}
	bool mfa = ers_db_str(res, 0, 5)[0] == 't';
	char ua[ERS_USER_AGENT_MAX + 1], detail[200];
	clean_user_agent(user_agent, ua);
	const char *params[] = { address.data };
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (insert_session(ctx, user.user_id, client_ip, ua, mfa, s, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.login_failure WHERE kind = 'password' AND address = $1", 1, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	snprintf(detail, sizeof detail, mfa ? "password right, waiting for the authenticator code (from %s)" :
		 "with the password (from %s)", client_ip);
	if (ers_db_commit_audited(ctx, &user, mfa ? "session.password" : "session.login", address.data, tenant_id,
				  NULL, detail, err) < 0)
		goto out;
	s->actor = user;
	rc = 0;
out:
	if (rc < 0)
		ers_session_clear(s);
	PQclear(res);
	ers_buf_free(&address);
	return rc;
}

int ers_login_mfa(struct ers_ctx *ctx, const char *pending_token, const char *code,
		  const char *client_ip, struct ers_session *s, struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	if (check_ip(client_ip, err) < 0)
		return -1;
	char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1];
	static const char gone[] = "the sign-in has expired or is unknown: log in again with your email and password";
	if (!token_param(pending_token, hex)) {
		ers_error_set(err, ERS_E_PERMISSION, gone);
		return -1;
	}
	const char *params[] = { hex };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.id, m.tenant_id, m.role, m.address, m.status, s.created_at > now() - " SQL_PENDING ", s.user_agent"
		" FROM ers.session s JOIN ers.mailbox m ON m.id = s.mailbox_id WHERE s.token_hash = $1::bytea AND s.mfa_pending",
		1, params, err);
	if (!res)
		return -1;
	int rc = -1;
	if (PQntuples(res) == 0 || ers_db_str(res, 0, 5)[0] != 't') {
		if (PQntuples(res))
			ers_db_run(ctx, "DELETE FROM ers.session WHERE token_hash = $1::bytea", 1, params, err);
		ers_error_set(err, ERS_E_PERMISSION, gone);
		goto out;
	}
	struct ers_actor user;
	user_actor(&user, ers_db_ll(res, 0, 0), ers_db_ll(res, 0, 1), ers_db_str(res, 0, 2), ers_db_str(res, 0, 3));
	if (strcmp(ers_db_str(res, 0, 4), "active")) {
		ers_error_set(err, ERS_E_PERMISSION, "this account is disabled; contact your administrator");
		goto out;
	}
	struct ers_mfa_target target = { .mailbox_id = user.user_id, .tenant_id = user.tenant_id, .address = user.name };
	if (ers_mfa_check_code(ctx, &user, "session.login", &target, code, client_ip, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	PGresult *del = ers_db_exec(ctx, "DELETE FROM ers.session WHERE token_hash = $1::bytea AND mfa_pending RETURNING 1",
				    1, params, err);
	if (!del || PQntuples(del) != 1) {
		if (del)
			ers_error_set(err, ERS_E_PERMISSION, gone); /* finished by a request racing this one */
		PQclear(del);
		ers_db_rollback(ctx);
		goto out;
	}
	PQclear(del);
	char detail[200];
	snprintf(detail, sizeof detail, "with the password and an authenticator code (from %s)", client_ip);
	if (insert_session(ctx, user.user_id, client_ip, ers_db_str(res, 0, 6), false, s, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, &user, "session.login", user.name, user.tenant_id, NULL, detail, err) < 0)
		goto out;
	s->actor = user;
	rc = 0;
out:
	if (rc < 0)
		ers_session_clear(s);
	PQclear(res);
	return rc;
}

int ers_session_alive(struct ers_ctx *ctx, const char *token, struct ers_error *err)
{
	char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1];
	if (!token_param(token, hex))
		return 0;
	const char *params[] = { hex };
	PGresult *res = ers_db_exec(ctx, "SELECT 1 FROM ers.session s JOIN ers.mailbox m ON m.id = s.mailbox_id"
				    " WHERE s.token_hash = $1::bytea AND NOT s.mfa_pending AND m.status = 'active'"
				    " AND s.last_seen >= now() - " SQL_IDLE, 1, params, err);
	if (!res)
		return -1;
	int alive = PQntuples(res) > 0;
	PQclear(res);
	return alive;
}

int ers_session_check(struct ers_ctx *ctx, const char *token, const char *client_ip,
		      struct ers_session *s, struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	if (check_ip(client_ip, err) < 0)
		return -1;
	char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1];
	static const char none[] = "not logged in: log in with your email and password";
	if (!token_param(token, hex)) {
		ers_error_set(err, ERS_E_PERMISSION, none);
		return -1;
	}
	const char *params[] = { hex, client_ip };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.id, m.tenant_id, m.role, m.address, m.status, s.mfa_pending,"
		" s.last_seen < now() - " SQL_IDLE ", s.created_at < now() - " SQL_PENDING ","
		" s.last_seen < now() - interval '1 minute' OR s.client_ip IS DISTINCT FROM $2::inet,"
		" " ERS_SQL_TIME("s.created_at") ", " ERS_SQL_TIME("s.last_seen") ", " SQL_EXPIRES("s.") ","
		" a.address, s.impersonation_reason, s.created_at < now() - " SQL_IMPERSONATION
		" FROM ers.session s JOIN ers.mailbox m ON m.id = s.mailbox_id"
		" LEFT JOIN ers.mailbox a ON a.id = s.impersonator_id WHERE s.token_hash = $1::bytea",
		2, params, err);
	if (!res)
		return -1;
	int rc = -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_PERMISSION, none);
		goto out;
	}
	bool pending = ers_db_str(res, 0, 5)[0] == 't';
	bool idle = ers_db_str(res, 0, 6)[0] == 't', pending_old = ers_db_str(res, 0, 7)[0] == 't';
	bool as_owner = !PQgetisnull(res, 0, 12), as_owner_old = ers_db_str(res, 0, 14)[0] == 't';
	if (pending ? pending_old : as_owner ? as_owner_old : idle) {
		ers_db_run(ctx, "DELETE FROM ers.session WHERE token_hash = $1::bytea", 1, params, err);
		if (as_owner)
			ers_error_set(err, ERS_E_PERMISSION, "the session as the mailbox owner ended after %d minutes: "
				      "log in again", ERS_IMPERSONATION_SECONDS / 60);
		else if (pending)
			ers_error_set(err, ERS_E_PERMISSION, "the sign-in has expired: log in again with your email and password");
		else
			ers_error_set(err, ERS_E_PERMISSION, "the session expired after %d days without activity: log in again",
				      ERS_SESSION_IDLE_DAYS);
		goto out;
	}
	if (pending) {
		ers_error_set(err, ERS_E_PERMISSION, "the sign-in is not finished: enter the code your authenticator app shows");
		goto out;
	}
	if (strcmp(ers_db_str(res, 0, 4), "active")) {
		ers_error_set(err, ERS_E_PERMISSION, "this account is disabled; contact your administrator");
		goto out;
	}
	user_actor(&s->actor, ers_db_ll(res, 0, 0), ers_db_ll(res, 0, 1), ers_db_str(res, 0, 2), ers_db_str(res, 0, 3));
	if (as_owner) {
		s->actor.impersonated = true;
		snprintf(s->actor.via, sizeof s->actor.via, "%s", ers_db_str(res, 0, 12));
		snprintf(s->impersonator, sizeof s->impersonator, "%s", ers_db_str(res, 0, 12));
		snprintf(s->reason, sizeof s->reason, "%s", ers_db_str(res, 0, 13));
	}
	session_times(s, res, 9);
	if (ers_db_str(res, 0, 8)[0] == 't') { /* at most one write a minute per session */
		PGresult *t = ers_db_exec(ctx,
			"UPDATE ers.session SET last_seen = now(), client_ip = $2::inet WHERE token_hash = $1::bytea"
			" RETURNING " ERS_SQL_TIME("created_at") ", " ERS_SQL_TIME("last_seen") ", " SQL_EXPIRES(""),
			2, params, err);
		if (!t)
			goto out;
		if (PQntuples(t))
			session_times(s, t, 0);
		PQclear(t);
	}
	snprintf(s->token, sizeof s->token, "%s", token);
	rc = 0;
out:
	if (rc < 0)
		ers_session_clear(s);
	PQclear(res);
	return rc;
}

int ers_session_logout(struct ers_ctx *ctx, const char *token, struct ers_error *err)
{
	char hex[2 + 2 * SHA256_DIGEST_LENGTH + 1];
	if (!token_param(token, hex))
		return 0;
	const char *params[] = { hex };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx,
		"DELETE FROM ers.session s USING ers.mailbox m WHERE s.token_hash = $1::bytea AND m.id = s.mailbox_id"
		" RETURNING m.id, m.tenant_id, m.role, m.address, s.mfa_pending,"
		" (SELECT a.address FROM ers.mailbox a WHERE a.id = s.impersonator_id)", 1, params, err);
	if (!res || PQntuples(res) == 0) {
		ers_db_rollback(ctx);
		PQclear(res);
		return res ? 0 : -1;
	}
	struct ers_actor user;
	user_actor(&user, ers_db_ll(res, 0, 0), ers_db_ll(res, 0, 1), ers_db_str(res, 0, 2), ers_db_str(res, 0, 3));
	bool pending = ers_db_str(res, 0, 4)[0] == 't';
	if (!PQgetisnull(res, 0, 5)) { /* an admin leaves the owner's mailbox */
		user.impersonated = true;
		snprintf(user.via, sizeof user.via, "%s", ers_db_str(res, 0, 5));
	}
	PQclear(res);
	return ers_db_commit_audited(ctx, &user, "session.logout", user.name, user.tenant_id, NULL,
				     pending ? "before entering the code" : NULL, err);
}

int ers_session_passwd(struct ers_ctx *ctx, const struct ers_session *s, const char *current,
		       const char *new_password, const char *confirm, const char *client_ip,
		       struct ers_error *err)
{
	if (check_ip(client_ip, err) < 0)
		return -1;
	if (s->actor.impersonated) { /* refused by the policy, and no failed login of the owner's to count */
		struct ers_authz_target self = { .tenant_id = s->actor.tenant_id, .user_id = s->actor.user_id,
						 .is_user = true, .user_role = s->actor.role };
		if (ers_authz_require(ctx, &s->actor, ERS_ACT_USER_CHANGE_PASSWORD, &self, s->actor.name, err) < 0)
			return -1;
	}
	if (!current || !*current) {
		ers_error_set(err, ERS_E_INVALID, "enter your current password; nothing was changed");
		return -1;
	}
	if (!new_password || !confirm || !ers_secret_equal(new_password, confirm)) {
		ers_error_set(err, ERS_E_INVALID, "the new password and its confirmation differ; nothing was changed");
		return -1;
	}
	long long wait;
	if (throttle_wait(ctx, s->actor.name, client_ip, &wait, err) < 0)
		return -1;
	if (wait > 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "too many wrong passwords; try again in %lld s; nothing was changed", wait);
		ers_audit_denied(ctx, &s->actor, ers_action_name(ERS_ACT_USER_CHANGE_PASSWORD), s->actor.name,
				 s->actor.tenant_id, err->message);
		return -1;
	}
	struct ers_buf unused = ERS_BUF_INIT;
	int rc = ers_user_passwd(ctx, &s->actor, s->actor.name, current, new_password, false, &unused, err);
	ers_buf_free_secret(&unused);
	/* The policy lets everyone change their own: a refusal here is the
	 * current password, guessed -- slowed like a login. */
	if (rc < 0 && err->code == ERS_E_PERMISSION) {
		struct ers_error saved = *err;
		if (ers_login_failure_record(ctx, "password", s->actor.name, client_ip, NULL, err) < 0)
			return -1;
		*err = saved;
	}
	return rc;
}

/* The reason for logging in as the owner: required, one line, at most
 * ERS_IMPERSONATION_REASON_MAX bytes, no control characters. */
static int check_reason(const char *reason, struct ers_error *err)
{
	size_t n = reason ? strlen(reason) : 0;
	bool blank = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)reason[i];
		if (c < 0x20 || c == 0x7f) {
			ers_error_set(err, ERS_E_INVALID, "the reason must be one line of text without control characters; "
				      "nothing was opened");
			return -1;
		}
		if (c != ' ')
			blank = false;
	}
	if (blank || n > ERS_IMPERSONATION_REASON_MAX) {
		ers_error_set(err, ERS_E_INVALID, "give a reason for logging in as the mailbox owner (1 to %d characters, "
			      "got %zu); the owner will see it; nothing was opened", ERS_IMPERSONATION_REASON_MAX, blank ? 0 : n);
		return -1;
	}
	return 0;
}

int ers_session_impersonate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			    const char *reason, const char *client_ip, const char *user_agent,
			    struct ers_session *s, struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	if (check_ip(client_ip, err) < 0 || check_reason(reason, err) < 0)
		return -1;
	if (!actor->user_id) { /* the session names the admin's mailbox */
		ers_error_set(err, ERS_E_INVALID, "only an administrator's own mailbox can log in as the owner, "
			      "from the webmail's Users tab");
		return -1;
	}
	struct ers_mailbox_ref ref;
	PGresult *row = NULL;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_mailbox_for(ctx, actor, address, ERS_ACT_USER_IMPERSONATE, true, "m.status", &ref, &row, err) < 0)
		return -1; /* rolled back and audited there */
	bool active = !strcmp(ers_db_str(row, 0, 5), "active");
	PQclear(row);
	if (!active) {
		ers_db_rollback(ctx);
		ers_error_set(err, ERS_E_INVALID, "%s is disabled: enable it before logging in as its owner", ref.address);
		return -1;
	}
	char ua[ERS_USER_AGENT_MAX + 1], detail[ERS_IMPERSONATION_REASON_MAX + 100];
	clean_user_agent(user_agent, ua);
	if (insert_session_as(ctx, ref.id, client_ip, ua, false, actor->user_id, reason, s, err) < 0) {
		ers_db_rollback(ctx);
		goto fail;
	}
	snprintf(detail, sizeof detail, "reason: %s (from %s, for at most %d minutes)", reason, client_ip,
		 ERS_IMPERSONATION_SECONDS / 60);
	if (ers_db_commit_audited(ctx, actor, "session.impersonate", ref.address, ref.tenant_id, NULL, detail, err) < 0)
		goto fail;
	user_actor(&s->actor, ref.id, ref.tenant_id, ers_role_name(ref.role), ref.address);
	s->actor.impersonated = true;
	snprintf(s->actor.via, sizeof s->actor.via, "%s", actor->name);
	snprintf(s->impersonator, sizeof s->impersonator, "%s", actor->name);
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	return 0;
fail:
	ers_session_clear(s);
	return -1;
}

void ers_session_clear(struct ers_session *s)
{
	ers_wipe(s->token, sizeof s->token);
}

void ers_session_csrf_token(const struct ers_session *s, char out[ERS_CSRF_TOKEN_SIZE])
{
	unsigned char raw[TOKEN_BYTES], mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char label[] = "ers-csrf-v1";
	out[0] = '\0';
	if (!token_decode(s->token, raw))
		return;
	if (HMAC(EVP_sha256(), raw, sizeof raw, (const unsigned char *)label, sizeof label - 1, mac, &n) && n == 32)
		b64url_encode(mac, n, out);
	ers_wipe(raw, sizeof raw);
	ers_wipe(mac, sizeof mac);
}

bool ers_session_csrf_check(const struct ers_session *s, const char *given)
{
	char want[ERS_CSRF_TOKEN_SIZE];
	ers_session_csrf_token(s, want);
	bool ok = want[0] && ers_secret_equal(want, given);
	ers_wipe(want, sizeof want);
	return ok;
}

void ers_session_cookie(const struct ers_session *s, struct ers_buf *out)
{
	ers_buf_reset(out);
	ers_buf_addf(out, ERS_SESSION_COOKIE "=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=%d", s->token,
		     s->mfa_pending ? ERS_SESSION_PENDING_SECONDS : ERS_SESSION_IDLE_DAYS * 86400);
}

void ers_session_cookie_clear(struct ers_buf *out)
{
	ers_buf_reset(out);
	ers_buf_adds(out, ERS_SESSION_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
}

void ers_session_cookie_token(const char *header, char token_r[ERS_SESSION_TOKEN_SIZE])
{
	static const char name[] = ERS_SESSION_COOKIE "=";
	token_r[0] = '\0';
	for (const char *p = header; p && *p;) {
		p += strspn(p, " \t;");
		size_t len = strcspn(p, ";");
		if (len > sizeof name - 1 && !strncmp(p, name, sizeof name - 1)) {
			const char *v = p + sizeof name - 1;
			size_t vlen = len - (sizeof name - 1);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			unsigned char raw[TOKEN_BYTES];
			char copy[ERS_SESSION_TOKEN_SIZE];
			if (vlen == TOKEN_CHARS) {
				memcpy(copy, v, vlen);
				copy[vlen] = '\0';
				if (token_decode(copy, raw))
					memcpy(token_r, copy, vlen + 1);
				ers_wipe(raw, sizeof raw);
				ers_wipe(copy, sizeof copy);
			}
			return;
		}
		p += len;
	}
}
