/* MFA with time-based one-time passwords (RFC 6238): codes and base32, the
 * enrolment ("Set Up FreeOTP", "Verify and Enable"), the once-only and
 * lock-out rules every code goes through, and the admins' status and reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "accounts/internal.h"

/* ---- the pure parts ----------------------------------------------------- */

int ers_totp_code(const unsigned char *key, size_t key_len, uint64_t step, int digits, char *out)
{
	if (digits < 1 || digits > 9 || key_len > 1024)
		return -1;
	unsigned char msg[8], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	for (int i = 7; i >= 0; i--, step >>= 8)
		msg[i] = (unsigned char)(step & 0xff);
	/* HMAC() with a zero-length key wants a non-NULL pointer. */
	static const unsigned char no_key[1];
	if (!HMAC(EVP_sha1(), key_len ? key : no_key, (int)key_len, msg, sizeof msg, md, &md_len) || md_len != 20)
		return -1;
	/* RFC 4226 section 5.3: dynamic truncation. */
	int off = md[md_len - 1] & 0x0f;
	uint32_t bin = (uint32_t)(md[off] & 0x7f) << 24 | (uint32_t)md[off + 1] << 16 |
		       (uint32_t)md[off + 2] << 8 | (uint32_t)md[off + 3];
	for (int i = digits - 1; i >= 0; i--, bin /= 10) /* the last `digits` decimal digits */
		out[i] = (char)('0' + bin % 10);
	out[digits] = '\0';
	bin = 0;
	ers_wipe(md, sizeof md);
	return 0;
}

bool ers_secret_equal(const char *a, const char *b)
{
	size_t n = a ? strlen(a) : 0;
	return a && b && strlen(b) == n && CRYPTO_memcmp(a, b, n) == 0;
}

bool ers_totp_verify(const unsigned char *key, size_t key_len, const char *code, uint64_t step,
		     int window, int digits, uint64_t *matched_r)
{
	if (!code || digits < 1 || digits > 9 || strlen(code) != (size_t)digits || window < 0 || window > 10)
		return false;
	bool found = false;
	uint64_t matched = 0;
	/* No early exit: every candidate is computed and compared alike. */
	for (int d = -window; d <= window; d++) {
		if (d < 0 && step < (uint64_t)-d)
			continue;
		char c[10];
		if (ers_totp_code(key, key_len, step + (uint64_t)(int64_t)d, digits, c) < 0)
			return false;
		bool eq = CRYPTO_memcmp(c, code, (size_t)digits) == 0;
		ers_wipe(c, sizeof c);
		if (eq) { /* the latest step that matches: the once-only rule is then strictest */
			found = true;
			matched = step + (uint64_t)(int64_t)d;
		}
	}
	if (found && matched_r)
		*matched_r = matched;
	return found;
}

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void ers_base32_encode(const unsigned char *data, size_t n, struct ers_buf *out)
{
	ers_buf_reset(out);
	unsigned bits = 0, acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | data[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			ers_buf_addch(out, base32_alphabet[(acc >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits)
		ers_buf_addch(out, base32_alphabet[(acc << (5 - bits)) & 31]);
	acc = 0;
}

int ers_base32_decode(const char *text, struct ers_buf *out)
{
	ers_buf_reset(out);
	unsigned bits = 0, acc = 0;
	for (const char *p = text; *p; p++) {
		int v;
		if (*p >= 'A' && *p <= 'Z')
			v = *p - 'A';
		else if (*p >= 'a' && *p <= 'z')
			v = *p - 'a';
		else if (*p >= '2' && *p <= '7')
			v = *p - '2' + 26;
		else if (*p == '=' || *p == ' ' || *p == '-')
			continue;
		else
			return -1;
		acc = (acc << 5 | (unsigned)v) & 0xffff;
		bits += 5;
		if (bits >= 8) {
			ers_buf_addch(out, (char)((acc >> (bits - 8)) & 0xff));
			bits -= 8;
		}
	}
	acc = 0;
	return 0;
}

/* ---- users and their seeds ---------------------------------------------- */

struct mfa_user {
	long long id, tenant_id;
	enum ers_role role;
	char address[320];
	char tenant[200];
	bool enabled, pending, locked;
	char enabled_at[40], locked_until[40];
	int failures;
};

/* Read from column 5 of ers_mailbox_for's row. */
#define MFA_COLUMNS \
	"m.totp_seed_sealed IS NOT NULL, m.totp_pending_seed_sealed IS NOT NULL, " ERS_SQL_TIME("m.totp_enabled_at") "," \
	" coalesce(m.totp_locked_until > now(), false), " ERS_SQL_TIME("m.totp_locked_until") "," \
	" (SELECT count(*) FROM ers.login_failure f WHERE f.kind = 'code' AND f.address = m.address" \
	"  AND f.at > now() - interval '15 minutes')"

/* Loads the user of address `input` with its MFA state and asks the
 * policy (ers_mailbox_for: with `in_tx`, locked in the caller's
 * transaction). */
static int find_user(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		     enum ers_action action, bool in_tx, struct mfa_user *u, struct ers_error *err)
{
	struct ers_mailbox_ref ref;
	PGresult *res;
	memset(u, 0, sizeof *u);
	if (ers_mailbox_for(ctx, actor, input, action, in_tx, MFA_COLUMNS, &ref, &res, err) < 0)
		return -1;
	u->id = ref.id;
	u->tenant_id = ref.tenant_id;
	u->role = ref.role;
	snprintf(u->address, sizeof u->address, "%s", ref.address);
	snprintf(u->tenant, sizeof u->tenant, "%s", ref.tenant);
	u->enabled = ers_db_str(res, 0, 5)[0] == 't';
	u->pending = ers_db_str(res, 0, 6)[0] == 't';
	ers_db_time(u->enabled_at, res, 0, 7);
	u->locked = ers_db_str(res, 0, 8)[0] == 't';
	if (u->locked)
		ers_db_time(u->locked_until, res, 0, 9);
	u->failures = (int)ers_db_ll(res, 0, 10);
	PQclear(res);
	return 0;
}

static void seal_context(char *dst, size_t cap, const char *address)
{
	snprintf(dst, cap, "totp:%s", address);
}

/* The address as an otpauth:// label part: RFC 3986 unreserved kept. */
static void add_uri_escaped(struct ers_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			ers_buf_addch(b, (char)c);
		else
			ers_buf_addf(b, "%%%02X", c);
	}
}

int ers_mfa_check_code(struct ers_ctx *ctx, const struct ers_actor *who, const char *action,
		       const struct ers_mfa_target *target, const char *code, const char *client_ip,
		       struct ers_error *err)
{
	size_t n = code ? strlen(code) : 0;
	if (n != ERS_TOTP_DIGITS || strspn(code, "0123456789") != n) {
		ers_error_set(err, ERS_E_INVALID, "the code must be the %d digits your authenticator app shows now",
			      ERS_TOTP_DIGITS);
		return -1;
	}
	struct ers_num id = ers_num(target->mailbox_id);
	const char *params[] = { id.s, NULL };
	PGresult *res = ers_db_exec(ctx,
		"SELECT coalesce(totp_locked_until > now(), false), " ERS_SQL_TIME("totp_locked_until") ","
		" ceil(extract(epoch FROM totp_locked_until - now()) / 60),"
		" CASE WHEN $2::bool THEN totp_pending_seed_sealed ELSE totp_seed_sealed END"
		" FROM ers.mailbox WHERE id = $1::bigint",
		2, (const char *[]){ id.s, target->pending ? "t" : "f" }, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0 || ers_db_isnull(res, 0, 3)) {
		ers_error_set(err, ERS_E_CONFLICT, "%s for %s: log in, or start the setup, again",
			      target->pending ? "no MFA setup is under way" : "MFA is not on", target->address);
		PQclear(res);
		return -1;
	}
	if (ers_db_str(res, 0, 0)[0] == 't') {
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "too many wrong codes: code entry for %s is locked until %s; try again in %s minute(s)",
			      target->address, ers_db_str(res, 0, 1), ers_db_str(res, 0, 2));
		PQclear(res);
		ers_audit_denied(ctx, who, action, target->address, target->tenant_id, err->message);
		return -1;
	}
	struct ers_buf seed = ERS_BUF_INIT;
	char context[400];
	seal_context(context, sizeof context, target->address);
	int rc = ers_unseal(&ctx->cfg->secrets, context, ers_db_str(res, 0, 3), &seed, err);
	PQclear(res);
	if (rc < 0) {
		ers_buf_free_secret(&seed);
		return -1;
	}
	uint64_t step = (uint64_t)time(NULL) / ERS_TOTP_PERIOD, matched = 0;
	bool right = ers_totp_verify((const unsigned char *)seed.data, seed.len, code, step, ERS_TOTP_WINDOW,
				     ERS_TOTP_DIGITS, &matched);
	ers_buf_free_secret(&seed);
	bool replay = false;
	if (right) {
		/* Once only, also against a request racing this one: the row
		 * lock makes the second UPDATE see the first one's step. */
		struct ers_num st = ers_num((long long)matched);
		params[1] = st.s;
		res = ers_db_exec(ctx,
			"UPDATE ers.mailbox SET totp_last_step = $2::bigint WHERE id = $1::bigint"
			" AND (totp_last_step IS NULL OR totp_last_step < $2::bigint) RETURNING id", 2, params, err);
		if (!res)
			return -1;
		replay = PQntuples(res) == 0;
		PQclear(res);
		if (!replay) {
			const char *p[] = { target->address };
			return ers_db_run(ctx, "DELETE FROM ers.login_failure WHERE kind = 'code' AND address = $1",
					  1, p, err);
		}
	}
	long long failures = 0;
	if (ers_login_failure_record(ctx, "code", target->address, client_ip, &failures, err) < 0)
		return -1;
	char then[200] = "";
	if (failures >= ERS_MFA_MAX_FAILURES) {
		struct ers_num minutes = ers_num(ERS_MFA_LOCK_MINUTES);
		params[1] = minutes.s;
		res = ers_db_exec(ctx,
			"UPDATE ers.mailbox SET totp_locked_until = now() + make_interval(mins => $2::int)"
			" WHERE id = $1::bigint RETURNING " ERS_SQL_TIME("totp_locked_until"), 2, params, err);
		if (!res)
			return -1;
		snprintf(then, sizeof then, "; that was %lld wrong codes in 15 minutes: code entry is locked until %s, try again in %d minutes",
			 failures, PQntuples(res) ? ers_db_str(res, 0, 0) : "later", ERS_MFA_LOCK_MINUTES);
		PQclear(res);
	} else {
		snprintf(then, sizeof then, " (%lld more wrong code(s) lock code entry for %d minutes)",
			 ERS_MFA_MAX_FAILURES - failures, ERS_MFA_LOCK_MINUTES);
	}
	ers_error_set(err, ERS_E_PERMISSION, "%s%s",
		      replay ? "this code was used already: wait for the next one your authenticator app shows"
			     : "the code is not right: enter the one your authenticator app shows now", then);
	ers_audit_denied(ctx, who, action, target->address, target->tenant_id, err->message);
	return -1;
}

/* ---- enrolment ---------------------------------------------------------- */

void ers_mfa_setup_free(struct ers_mfa_setup *s)
{
	if (!s)
		return;
	ers_free_secret(s->secret);
	ers_free_secret(s->uri);
	ers_free_secret(s->svg);
	free(s);
}

int ers_mfa_setup_begin(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
			struct ers_mfa_setup **setup_r, struct ers_error *err)
{
	struct mfa_user u;
	unsigned char seed[ERS_TOTP_SEED_BYTES];
	struct ers_buf sealed = ERS_BUF_INIT, secret = ERS_BUF_INIT, uri = ERS_BUF_INIT, svg = ERS_BUF_INIT;
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (find_user(ctx, actor, input, ERS_ACT_MFA_SETUP, true, &u, err) < 0)
		goto rollback;
	if (u.enabled) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "MFA is on for %s already (since %s); to move it to another device, ask an administrator to reset it first",
			      u.address, u.enabled_at);
		goto rollback;
	}
	if (RAND_bytes(seed, sizeof seed) != 1) {
		ers_error_set(err, ERS_E_INTERNAL, "the OS random generator failed");
		goto rollback;
	}
	char context[400];
	seal_context(context, sizeof context, u.address);
	if (ers_seal(&ctx->cfg->secrets, context, seed, sizeof seed, &sealed, err) < 0)
		goto rollback;
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s, sealed.data };
	if (ers_db_run(ctx, "UPDATE ers.mailbox SET totp_pending_seed_sealed = $2, updated_at = now() WHERE id = $1::bigint",
		       2, params, err) < 0)
		goto rollback;
	ers_base32_encode(seed, sizeof seed, &secret);
	ers_buf_adds(&uri, "otpauth://totp/" ERS_TOTP_ISSUER ":");
	add_uri_escaped(&uri, u.address);
	ers_buf_addf(&uri, "?secret=%s&issuer=" ERS_TOTP_ISSUER "&algorithm=SHA1&digits=%d&period=%d", secret.data,
		     ERS_TOTP_DIGITS, ERS_TOTP_PERIOD);
	if (ers_qr_svg(uri.data, &svg, err) < 0)
		goto rollback;
	if (ers_db_commit_audited(ctx, actor, "mfa.setup", u.address, u.tenant_id, u.tenant,
				  "a new secret was shown; MFA is on once a code from it is verified", err) < 0)
		goto out;
	struct ers_mfa_setup *s = ers_xcalloc(1, sizeof *s);
	s->secret = ers_buf_detach(&secret);
	s->uri = ers_buf_detach(&uri);
	s->svg = ers_buf_detach(&svg);
	*setup_r = s;
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_wipe(seed, sizeof seed);
	ers_buf_free(&sealed);
	ers_buf_free_secret(&secret);
	ers_buf_free_secret(&uri);
	ers_buf_free_secret(&svg);
	return rc;
}

int ers_mfa_setup_verify(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
			 const char *code, struct ers_error *err)
{
	struct mfa_user u;
	if (find_user(ctx, actor, input, ERS_ACT_MFA_SETUP, false, &u, err) < 0)
		return -1;
	if (!u.pending) {
		ers_error_set(err, ERS_E_CONFLICT, u.enabled ? "MFA is on for %s already" :
			      "no MFA setup is under way for %s: start with Set Up FreeOTP", u.address);
		return -1;
	}
	/* The seed the code is checked against must be the one turned on:
	 * another setup started meanwhile makes a new one. */
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s, NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT totp_pending_seed_sealed FROM ers.mailbox WHERE id = $1::bigint",
				    1, params, err);
	if (!res)
		return -1;
	char *sealed = ers_xstrdup(PQntuples(res) ? ers_db_str(res, 0, 0) : "");
	PQclear(res);
	struct ers_mfa_target target = { .mailbox_id = u.id, .tenant_id = u.tenant_id, .address = u.address,
					 .pending = true };
	int rc = -1;
	if (ers_mfa_check_code(ctx, actor, "mfa.enable", &target, code, NULL, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	params[1] = sealed;
	res = ers_db_exec(ctx,
		"UPDATE ers.mailbox SET totp_seed_sealed = totp_pending_seed_sealed, totp_pending_seed_sealed = NULL,"
		" totp_enabled_at = now(), totp_locked_until = NULL, updated_at = now()"
		" WHERE id = $1::bigint AND totp_pending_seed_sealed = $2 AND totp_seed_sealed IS NULL RETURNING id",
		2, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		goto out;
	}
	bool done = PQntuples(res) == 1;
	PQclear(res);
	if (!done) {
		ers_db_rollback(ctx);
		ers_error_set(err, ERS_E_CONFLICT, "the MFA setup of %s changed meanwhile: start it again", u.address);
		goto out;
	}
	rc = ers_db_commit_audited(ctx, actor, "mfa.enable", u.address, u.tenant_id, u.tenant,
				   "MFA is on: the login asks for a code", err);
out:
	free(sealed);
	return rc;
}

/* ---- admins ----------------------------------------------------------------- */

int ers_mfa_status(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		   struct ers_mfa_status *st, struct ers_error *err)
{
	struct mfa_user u;
	if (find_user(ctx, actor, input, ERS_ACT_MFA_VIEW, false, &u, err) < 0)
		return -1;
	memset(st, 0, sizeof *st);
	snprintf(st->address, sizeof st->address, "%s", u.address);
	st->enabled = u.enabled;
	snprintf(st->enabled_at, sizeof st->enabled_at, "%s", u.enabled_at);
	st->setup_pending = u.pending;
	st->locked = u.locked;
	snprintf(st->locked_until, sizeof st->locked_until, "%s", u.locked_until);
	st->recent_failures = u.failures;
	return 0;
}

int ers_mfa_reset(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		  bool *was_on_r, struct ers_error *err)
{
	struct mfa_user u;
	if (was_on_r)
		*was_on_r = false;
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (find_user(ctx, actor, input, ERS_ACT_MFA_RESET, true, &u, err) < 0) {
		ers_db_rollback(ctx);
		return -1;
	}
	if (!u.enabled && !u.pending && !u.locked && !u.failures) { /* nothing to do: no change, no audit row */
		ers_db_rollback(ctx);
		return 0;
	}
	struct ers_num id = ers_num(u.id);
	const char *params[] = { id.s };
	const char *addr[] = { u.address };
	if (ers_db_run(ctx,
		       "UPDATE ers.mailbox SET totp_seed_sealed = NULL, totp_pending_seed_sealed = NULL, totp_enabled_at = NULL,"
		       " totp_last_step = NULL, totp_locked_until = NULL, updated_at = now() WHERE id = $1::bigint",
		       1, params, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.login_failure WHERE kind = 'code' AND address = $1", 1, addr, err) < 0 ||
	    ers_user_end_sessions(ctx, u.id, err) < 0) {
		ers_db_rollback(ctx);
		return -1;
	}
	char detail[200];
	snprintf(detail, sizeof detail, "MFA %s; every session ended", u.enabled ? "turned off" : "setup cancelled");
	if (ers_db_commit_audited(ctx, actor, "mfa.reset", u.address, u.tenant_id, u.tenant, detail, err) < 0)
		return -1;
	if (was_on_r)
		*was_on_r = true;
	return 0;
}
