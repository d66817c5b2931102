/* DKIM signing keys per domain (manual 001 "DKIM Public Key"; manual 002
 * "DKIM"): made here with OpenSSL, sealed under the master key at once,
 * rotated in stages (published -> active -> retiring -> retired), and
 * opened only to write OpenDKIM's key files (`mailstack render --opendkim`,
 * dkim_render.c).  No function here returns, prints or logs a private key:
 * the structs carry public data only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "ers/dkim.h"
#include "ers/seal.h"
#include "dkim_internal.h"
#include "dns/internal.h"

static const char *const algorithm_names[] = { "rsa-2048", "rsa-4096", "ed25519" };
static const char *const state_names[] = { "published", "active", "retiring", "retired" };

const char *ers_dkim_algorithm_name(enum ers_dkim_algorithm a)
{
	return (unsigned)a < 3 ? algorithm_names[a] : "unknown";
}

int ers_dkim_algorithm_parse(const char *s, enum ers_dkim_algorithm *a_r, struct ers_error *err)
{
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, algorithm_names[i])) {
			*a_r = (enum ers_dkim_algorithm)i;
			return 0;
		}
	ers_error_set(err, ERS_E_INVALID,
		      "--algorithm must be one of rsa-2048 (the default, verified everywhere), rsa-4096, ed25519; got \"%.40s\"",
		      s ? s : "");
	return -1;
}

const char *ers_dkim_state_name(enum ers_dkim_state s)
{
	return (unsigned)s < 4 ? state_names[s] : "unknown";
}

static enum ers_dkim_state state_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, state_names[i]))
			return (enum ers_dkim_state)i;
	return ERS_DKIM_RETIRED;
}

static enum ers_dkim_algorithm algorithm_from_db(const char *s)
{
	enum ers_dkim_algorithm a = ERS_DKIM_RSA_2048;
	struct ers_error ignored;
	ers_dkim_algorithm_parse(s, &a, &ignored);
	return a;
}

void ers_dkim_txt_split(const char *value, struct ers_buf *out)
{
	size_t n = strlen(value);
	ers_buf_reset(out);
	if (n == 0) {
		ers_buf_adds(out, "\"\"");
		return;
	}
	for (size_t i = 0; i < n; i += 255) {
		if (i)
			ers_buf_addch(out, ' ');
		ers_buf_addch(out, '"');
		for (size_t j = i; j < n && j < i + 255; j++) {
			if (value[j] == '"' || value[j] == '\\')
				ers_buf_addch(out, '\\');
			ers_buf_addch(out, value[j]);
		}
		ers_buf_addch(out, '"');
	}
}

/* "v=DKIM1; k=rsa; p=..." for a key of `alg` with public part `p`. */
void ers_dkim_txt_value(enum ers_dkim_algorithm alg, const char *p, struct ers_buf *out)
{
	ers_buf_reset(out);
	ers_buf_addf(out, "v=DKIM1; k=%s; p=%s", alg == ERS_DKIM_ED25519 ? "ed25519" : "rsa", p);
}

int ers_dkim_selector_check(const char *s, struct ers_error *err)
{
	size_t n = s ? strlen(s) : 0;
	bool ok = n >= 1 && n <= 63 && s[0] != '-' && s[n - 1] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
	if (!ok) {
		/* The name is echoed only when it is printable and short. */
		bool printable = n <= 80;
		for (size_t i = 0; printable && i < n; i++)
			printable = isprint((unsigned char)s[i]);
		ers_error_set(err, ERS_E_INVALID,
			      "--selector must be 1..63 lower-case letters, digits and hyphens, not starting or ending with a hyphen (a DNS label), got %s%s%s",
			      printable ? "\"" : "", printable ? (s ? s : "") : "an unprintable or too long name",
			      printable ? "\"" : "");
		return -1;
	}
	return 0;
}

/* ---- reading keys ------------------------------------------------------- */

#define KEY_COLUMNS \
	"d.name, k.selector, k.algorithm, k.state, k.public_key, " ERS_SQL_TIME("k.created_at") ", " \
	ERS_SQL_TIME("k.activated_at") ", " ERS_SQL_TIME("k.retire_after")
#define KEY_FROM " FROM ers.dkim_key k JOIN ers.domain d ON d.id = k.domain_id"
#define KEY_ORDER \
	" ORDER BY d.name, CASE k.state WHEN 'active' THEN 0 WHEN 'published' THEN 1 WHEN 'retiring' THEN 2 ELSE 3 END," \
	" k.created_at, k.selector"

static void fill_key(struct ers_dkim_key *k, const PGresult *res, int r)
{
	struct ers_buf b = ERS_BUF_INIT;
	k->domain = ers_xstrdup(ers_db_str(res, r, 0));
	k->selector = ers_xstrdup(ers_db_str(res, r, 1));
	k->algorithm = algorithm_from_db(ers_db_str(res, r, 2));
	k->state = state_parse(ers_db_str(res, r, 3));
	ers_buf_addf(&b, "%s._domainkey.%s", k->selector, k->domain);
	k->txt_name = ers_buf_detach(&b);
	ers_dkim_txt_value(k->algorithm, ers_db_str(res, r, 4), &b);
	k->txt_value = ers_buf_detach(&b);
	ers_db_time(k->created_at, res, r, 5);
	ers_db_time(k->activated_at, res, r, 6);
	ers_db_time(k->retire_after, res, r, 7);
}

static void key_clear(struct ers_dkim_key *k)
{
	free(k->domain);
	free(k->selector);
	free(k->txt_name);
	free(k->txt_value);
}

void ers_dkim_key_free(struct ers_dkim_key *k)
{
	if (!k)
		return;
	key_clear(k);
	free(k);
}

void ers_dkim_key_list_free(struct ers_dkim_key_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		key_clear(&list->items[i]);
	free(list->items);
	free(list);
}

static struct ers_dkim_key_list *list_from(const PGresult *res)
{
	struct ers_dkim_key_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count ? list->count : 1, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++)
		fill_key(&list->items[r], res, r);
	return list;
}

/* The domain as the key rows spell it, with its tenant and id, once the
 * policy allows `action` on it; a domain no tenant has is refused like
 * another tenant's to an actor that may not see every tenant. */
static int resolve_domain(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			  const char *input, struct ers_buf *domain, long long *tenant_id_r, long long *domain_id_r,
			  struct ers_error *err)
{
	if (!input || !*input) {
		ers_error_set(err, ERS_E_INVALID, "name the domain, one of a tenant's domains");
		return -1;
	}
	if (ers_domain_normalize(input, domain, err) < 0)
		return -1;
	if (ers_domain_owner_for(ctx, actor, action, NULL, domain->data, NULL, tenant_id_r, domain_id_r, err) < 0) {
		if (err->code == ERS_E_INVALID) /* no tenant has it, and the actor may know */
			err->code = ERS_E_NOTFOUND;
		return -1;
	}
	return 0;
}

/* Retiring keys whose grace ended become retired, their private keys
 * wiped.  It runs at the start of every DKIM operation and of the render,
 * so `ersctl dkim list` from cron is all a server needs; it is a
 * consequence of a choice made at activation, so it asks no policy, and
 * the one audit row names the actor whose command ran it. */
int ers_dkim_retire_due(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_error *err)
{
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	PGresult *res = ers_db_exec(ctx,
		"UPDATE ers.dkim_key k SET state = 'retired', private_key_sealed = NULL FROM ers.domain d"
		" WHERE d.id = k.domain_id AND k.state = 'retiring' AND k.retire_after <= now()"
		" RETURNING k.selector || '._domainkey.' || d.name, d.tenant_id", 0, NULL, err);
	if (!res) {
		ers_db_rollback(ctx);
		return -1;
	}
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		ers_db_rollback(ctx);
		return 0;
	}
	struct ers_buf target = ERS_BUF_INIT;
	long long tenant_id = ers_db_ll(res, 0, 1);
	for (int r = 0; r < n; r++) {
		ers_buf_addf(&target, "%s%s", r ? ", " : "", ers_db_str(res, r, 0));
		if (ers_db_ll(res, r, 1) != tenant_id)
			tenant_id = 0;
	}
	PQclear(res);
	int rc = ers_db_commit_audited(ctx, actor, "dkim.retire", target.data, tenant_id, NULL,
				       "grace period after rotation ended: private key wiped", err);
	ers_buf_free(&target);
	return rc;
}

static int list_keys(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input, bool with_retired,
		     struct ers_dkim_key_list **list_r, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT;
	long long tenant_id = 0, domain_id = 0;
	int rc = -1;
	if (ers_dkim_retire_due(ctx, actor, err) < 0)
		goto out;
	if (input) {
		if (resolve_domain(ctx, actor, ERS_ACT_DKIM_VIEW, input, &domain, &tenant_id, &domain_id, err) < 0)
			goto out;
	} else {
		/* Tenant admins see their own tenant's domains; users nothing. */
		struct ers_authz_target own = { .tenant_id = actor->tenant_id };
		if (actor->role != ERS_ROLE_OPERATOR && actor->role != ERS_ROLE_SUPER_ADMIN)
			tenant_id = actor->tenant_id;
		if (ers_authz_require(ctx, actor, ERS_ACT_DKIM_VIEW, tenant_id ? &own : NULL, "DKIM keys", err) < 0)
			goto out;
	}
	struct ers_num did = ers_num(domain_id), tid = ers_num(tenant_id);
	const char *params[] = { domain_id ? did.s : NULL, tenant_id ? tid.s : NULL, with_retired ? "t" : "f" };
	PGresult *res = ers_db_exec(ctx, "SELECT " KEY_COLUMNS KEY_FROM
		" WHERE ($1::bigint IS NULL OR d.id = $1::bigint) AND ($2::bigint IS NULL OR d.tenant_id = $2::bigint)"
		" AND ($3::bool OR k.state <> 'retired')" KEY_ORDER, 3, params, err);
	if (!res)
		goto out;
	*list_r = list_from(res);
	PQclear(res);
	rc = 0;
out:
	ers_buf_free(&domain);
	return rc;
}

int ers_dkim_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		  struct ers_dkim_key_list **list_r, struct ers_error *err)
{
	return list_keys(ctx, actor, domain, false, list_r, err);
}

int ers_dkim_list_all(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		      struct ers_dkim_key_list **list_r, struct ers_error *err)
{
	return list_keys(ctx, actor, domain, true, list_r, err);
}

/* ---- making keys -------------------------------------------------------- */

/* A new key pair: the PEM (PKCS#8) private key into `pem` (a secret: the
 * caller wipes it) and the p= value into `p`. */
static int generate(enum ers_dkim_algorithm alg, struct ers_buf *pem, struct ers_buf *p, struct ers_error *err)
{
	EVP_PKEY *pkey = alg == ERS_DKIM_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
			 : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(alg == ERS_DKIM_RSA_4096 ? 4096 : 2048));
	unsigned char *pub = NULL;
	int pub_len = 0, rc = -1;
	/* A secure-memory BIO: OpenSSL clears it when it is freed. */
	BIO *bio = BIO_new(BIO_s_secmem());
	if (!pkey || !bio) {
		ers_error_set(err, ERS_E_INTERNAL, "OpenSSL could not generate a %s key", ers_dkim_algorithm_name(alg));
		goto out;
	}
	if (alg == ERS_DKIM_ED25519) {
		/* RFC 8463: p= is the raw 32-byte public key. */
		size_t len = 0;
		if (EVP_PKEY_get_raw_public_key(pkey, NULL, &len) != 1 || len != 32)
			goto fail;
		pub = OPENSSL_malloc(len);
		if (!pub || EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1)
			goto fail;
		pub_len = (int)len;
	} else {
		/* RFC 6376 3.6.1: p= is the DER SubjectPublicKeyInfo. */
		pub_len = i2d_PUBKEY(pkey, &pub);
		if (pub_len <= 0)
			goto fail;
	}
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto fail;
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		goto fail;
	/* Grown once, so no realloc leaves a copy behind. */
	ers_buf_reset(pem);
	ers_buf_grow(pem, (size_t)n + 1);
	ers_buf_add(pem, data, (size_t)n);
	ers_buf_reset(p);
	ers_buf_grow(p, (size_t)(4 * ((pub_len + 2) / 3)) + 1);
	p->len = (size_t)EVP_EncodeBlock((unsigned char *)p->data, pub, pub_len);
	p->data[p->len] = '\0';
	rc = 0;
	goto out;
fail:
	ers_error_set(err, ERS_E_INTERNAL, "OpenSSL could not encode the new %s key", ers_dkim_algorithm_name(alg));
out:
	OPENSSL_free(pub);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Inside a transaction: refuses a selector the domain has or had. */
static int selector_free(struct ers_ctx *ctx, long long domain_id, const char *domain, const char *selector,
			 struct ers_error *err)
{
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s, selector };
	PGresult *res = ers_db_exec(ctx, "SELECT state FROM ers.dkim_key WHERE domain_id = $1::bigint AND selector = $2",
				    2, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) > 0) {
		const char *state = ers_db_str(res, 0, 0);
		if (!strcmp(state, "retired"))
			ers_error_set(err, ERS_E_CONFLICT,
				      "selector \"%s\" of %s was used before (now retired): resolvers and verifiers may still hold its old key, so choose another with --selector",
				      selector, domain);
		else
			ers_error_set(err, ERS_E_CONFLICT,
				      "%s already has a DKIM key with selector \"%s\" (%s; see: ersctl dkim show %s): choose another with --selector",
				      domain, selector, state, domain);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Inside a transaction: a selector sYYYYMMDD (UTC) the domain never had,
 * with -2, -3 ... after it when one is taken the same day. */
static int default_selector(struct ers_ctx *ctx, long long domain_id, struct ers_buf *out, struct ers_error *err)
{
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT s FROM (SELECT 's' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')"
		" || CASE WHEN i = 1 THEN '' ELSE '-' || i END AS s, i FROM generate_series(1, 1000) i) c"
		" WHERE NOT EXISTS (SELECT 1 FROM ers.dkim_key WHERE domain_id = $1::bigint AND selector = c.s)"
		" ORDER BY i LIMIT 1", 1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_CONFLICT, "no free selector for today: choose one with --selector");
		PQclear(res);
		return -1;
	}
	ers_buf_reset(out);
	ers_buf_adds(out, ers_db_str(res, 0, 0));
	PQclear(res);
	return 0;
}

static int load_key(struct ers_ctx *ctx, long long domain_id, const char *selector, struct ers_dkim_key **key_r,
		    struct ers_error *err)
{
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s, selector };
	PGresult *res = ers_db_exec(ctx, "SELECT " KEY_COLUMNS KEY_FROM " WHERE d.id = $1::bigint AND k.selector = $2",
				    2, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		ers_error_set(err, ERS_E_INTERNAL, "the DKIM key %s just written is not there", selector);
		return -1;
	}
	struct ers_dkim_key *k = ers_xcalloc(1, sizeof *k);
	fill_key(k, res, 0);
	PQclear(res);
	*key_r = k;
	return 0;
}

static int load_domain_keys(struct ers_ctx *ctx, long long domain_id, struct ers_dkim_key_list **list_r,
			    struct ers_error *err)
{
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s };
	PGresult *res = ers_db_exec(ctx, "SELECT " KEY_COLUMNS KEY_FROM " WHERE d.id = $1::bigint AND k.state <> 'retired'"
				    KEY_ORDER, 1, params, err);
	if (!res)
		return -1;
	*list_r = list_from(res);
	PQclear(res);
	return 0;
}

/* The checks every change starts with: the sweep, the domain, the policy. */
static int begin_change(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input, struct ers_buf *domain,
			long long *tenant_id_r, long long *domain_id_r, struct ers_error *err)
{
	if (ers_dkim_retire_due(ctx, actor, err) < 0)
		return -1;
	return resolve_domain(ctx, actor, ERS_ACT_DKIM_MANAGE, input, domain, tenant_id_r, domain_id_r, err);
}

/* Inside a transaction: OpenDKIM 2.11 signs with one algorithm per
 * instance (its SignatureAlgorithm), so a key may sign only when every
 * other domain's active key is of the same kind, RSA or Ed25519. */
static int same_kind_as_others(struct ers_ctx *ctx, long long domain_id, enum ers_dkim_algorithm alg,
			       struct ers_error *err)
{
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s, alg == ERS_DKIM_ED25519 ? "t" : "f" };
	PGresult *res = ers_db_exec(ctx, "SELECT string_agg(name, ', ' ORDER BY name), count(*) FROM (SELECT d.name"
				    " FROM ers.dkim_key k JOIN ers.domain d ON d.id = k.domain_id WHERE k.state = 'active'"
				    " AND k.domain_id <> $1::bigint AND (k.algorithm = 'ed25519') <> $2::bool ORDER BY d.name LIMIT 5) x",
				    2, params, err);
	if (!res)
		return -1;
	int rc = 0;
	if (ers_db_ll(res, 0, 1) > 0) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "OpenDKIM signs with one algorithm for the whole server, and the active keys of %s%s are %s: a %s key cannot sign beside them (use %s)",
			      ers_db_str(res, 0, 0), ers_db_ll(res, 0, 1) >= 5 ? " and others" : "",
			      alg == ERS_DKIM_ED25519 ? "RSA" : "Ed25519", ers_dkim_algorithm_name(alg),
			      alg == ERS_DKIM_ED25519 ? "rsa-2048 or rsa-4096" : "ed25519");
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Makes and stores a key: `active` if the domain has no active key (and
 * `may_activate`), else published. */
static int add_key(struct ers_ctx *ctx, const struct ers_actor *actor, const char *action, const char *input,
		   const char *selector_in, const char *algorithm_in, bool may_activate, struct ers_dkim_key **key_r,
		   struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT, selector = ERS_BUF_INIT, pem = ERS_BUF_INIT, p = ERS_BUF_INIT,
		       sealed = ERS_BUF_INIT, context = ERS_BUF_INIT;
	enum ers_dkim_algorithm alg = ERS_DKIM_RSA_2048;
	long long tenant_id, domain_id;
	int rc = -1;
	/* Arguments first: a bad one changes nothing, not even the sweep. */
	if ((selector_in && ers_dkim_selector_check(selector_in, err) < 0) ||
	    (algorithm_in && ers_dkim_algorithm_parse(algorithm_in, &alg, err) < 0))
		goto out;
	if (begin_change(ctx, actor, input, &domain, &tenant_id, &domain_id, err) < 0)
		goto out;
	/* The key is made before the transaction: RSA-4096 takes a while. */
	if (generate(alg, &pem, &p, err) < 0 || ers_db_begin(ctx, err) < 0)
		goto out;
	struct ers_num did = ers_num(domain_id);
	const char *lock[] = { did.s };
	/* One change of a domain's keys at a time. */
	if (ers_db_run(ctx, "SELECT 1 FROM ers.domain WHERE id = $1::bigint FOR UPDATE", 1, lock, err) < 0)
		goto rollback;
	if (selector_in)
		ers_buf_adds(&selector, selector_in);
	else if (may_activate)
		ers_buf_adds(&selector, "default");
	else if (default_selector(ctx, domain_id, &selector, err) < 0)
		goto rollback;
	if (selector_free(ctx, domain_id, domain.data, selector.data, err) < 0)
		goto rollback;
	PGresult *res = ers_db_exec(ctx, "SELECT count(*) FROM ers.dkim_key WHERE domain_id = $1::bigint AND state = 'active'",
				    1, lock, err);
	if (!res)
		goto rollback;
	bool activate = may_activate && ers_db_ll(res, 0, 0) == 0;
	PQclear(res);
	if (activate && same_kind_as_others(ctx, domain_id, alg, err) < 0)
		goto rollback;
	ers_buf_addf(&context, "dkim:%s:%s", domain.data, selector.data);
	if (ers_seal(&ctx->cfg->secrets, context.data, pem.data, pem.len, &sealed, err) < 0)
		goto rollback;
	const char *params[] = { did.s, selector.data, ers_dkim_algorithm_name(alg), activate ? "active" : "published",
				 sealed.data, p.data };
	if (ers_db_run(ctx, "INSERT INTO ers.dkim_key (domain_id, selector, algorithm, state, private_key_sealed, public_key,"
			    " activated_at) VALUES ($1::bigint, $2, $3, $4, $5, $6, CASE WHEN $4 = 'active' THEN now() END)",
		       6, params, err) < 0)
		goto rollback;
	char detail[200];
	snprintf(detail, sizeof detail, "%s key, %s", ers_dkim_algorithm_name(alg),
		 activate ? "active: OpenDKIM signs with it once rendered" : "published: not signing until activated");
	ers_buf_reset(&context);
	ers_buf_addf(&context, "%s._domainkey.%s", selector.data, domain.data);
	if (ers_db_commit_audited(ctx, actor, action, context.data, tenant_id, NULL, detail, err) < 0 ||
	    load_key(ctx, domain_id, selector.data, key_r, err) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free_secret(&pem);
	ers_buf_free(&p);
	ers_buf_free(&sealed);
	ers_buf_free(&context);
	ers_buf_free(&domain);
	ers_buf_free(&selector);
	return rc;
}

int ers_dkim_enable(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain, const char *selector,
		    const char *algorithm, struct ers_dkim_key **key_r, struct ers_error *err)
{
	return add_key(ctx, actor, "dkim.enable", domain, selector, algorithm, true, key_r, err);
}

int ers_dkim_rotate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain, const char *selector,
		    const char *algorithm, struct ers_dkim_key **key_r, struct ers_error *err)
{
	return add_key(ctx, actor, "dkim.rotate", domain, selector, algorithm, false, key_r, err);
}

int ers_dkim_disable(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input, const char *selector,
		     struct ers_dkim_key_list **retired_r, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT, names = ERS_BUF_INIT;
	long long tenant_id, domain_id;
	int rc = -1;
	if (selector && ers_dkim_selector_check(selector, err) < 0)
		goto out;
	if (begin_change(ctx, actor, input, &domain, &tenant_id, &domain_id, err) < 0 || ers_db_begin(ctx, err) < 0)
		goto out;
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s, selector };
	PGresult *res = ers_db_exec(ctx,
		"UPDATE ers.dkim_key k SET state = 'retired', private_key_sealed = NULL, retire_after = NULL"
		" FROM ers.domain d, (SELECT id, state FROM ers.dkim_key WHERE domain_id = $1::bigint"
		"   AND ($2::text IS NULL OR selector = $2) AND state <> 'retired' FOR UPDATE) o"
		" WHERE k.id = o.id AND d.id = k.domain_id RETURNING " KEY_COLUMNS ", o.state", 2, params, err);
	if (!res)
		goto rollback;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		if (selector)
			ers_error_set(err, ERS_E_NOTFOUND, "%s has no live DKIM key with selector \"%s\" (see: ersctl dkim show %s)",
				      domain.data, selector, domain.data);
		else
			ers_error_set(err, ERS_E_NOTFOUND, "%s has no live DKIM key (see: ersctl dkim list)", domain.data);
		goto rollback;
	}
	for (int r = 0; r < n; r++)
		ers_buf_addf(&names, "%s%s (was %s)", r ? ", " : "retired, private key wiped: ", ers_db_str(res, r, 1),
			     ers_db_str(res, r, 8));
	struct ers_dkim_key_list *list = list_from(res);
	PQclear(res);
	if (ers_db_commit_audited(ctx, actor, "dkim.disable", domain.data, tenant_id, NULL, names.data, err) < 0) {
		ers_dkim_key_list_free(list);
		goto out;
	}
	*retired_r = list;
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_buf_free(&domain);
	ers_buf_free(&names);
	return rc;
}

int ers_dkim_activate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		      const struct ers_dkim_activate_opts *opts, struct ers_dkim_key_list **keys_r, struct ers_error *err)
{
	struct ers_buf domain = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	long long tenant_id, domain_id;
	int rc = -1;
	int grace = opts->grace_hours < 0 ? ERS_DKIM_DEFAULT_GRACE_HOURS : opts->grace_hours;
	if (grace > 8760) {
		ers_error_set(err, ERS_E_INVALID, "--grace must be 0..8760 hours (default %d: Postfix keeps mail queued 5 days), got %d",
			      ERS_DKIM_DEFAULT_GRACE_HOURS, grace);
		goto out;
	}
	if (opts->selector && ers_dkim_selector_check(opts->selector, err) < 0)
		goto out;
	if (begin_change(ctx, actor, input, &domain, &tenant_id, &domain_id, err) < 0)
		goto out;
	/* The published key to switch to: the one named, else the newest. */
	struct ers_num did = ers_num(domain_id);
	const char *params[] = { did.s, opts->selector };
	PGresult *res = ers_db_exec(ctx, "SELECT selector, algorithm, public_key, state FROM ers.dkim_key"
				    " WHERE domain_id = $1::bigint AND ($2::text IS NULL OR selector = $2) AND state <> 'retired'"
				    " ORDER BY state = 'published' DESC, created_at DESC LIMIT 1", 2, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) == 0 || strcmp(ers_db_str(res, 0, 3), "published")) {
		if (opts->selector && PQntuples(res) > 0)
			ers_error_set(err, ERS_E_CONFLICT, "key \"%s\" of %s is %s, not published: only a published key can be activated",
				      opts->selector, domain.data, ers_db_str(res, 0, 3));
		else if (opts->selector)
			ers_error_set(err, ERS_E_NOTFOUND, "%s has no live DKIM key with selector \"%s\" (see: ersctl dkim show %s)",
				      domain.data, opts->selector, domain.data);
		else
			ers_error_set(err, ERS_E_NOTFOUND,
				      "%s has no published DKIM key to activate: make one first with ersctl dkim rotate %s",
				      domain.data, domain.data);
		PQclear(res);
		goto out;
	}
	char *selector = ers_xstrdup(ers_db_str(res, 0, 0));
	enum ers_dkim_algorithm alg = algorithm_from_db(ers_db_str(res, 0, 1));
	char *p = ers_xstrdup(ers_db_str(res, 0, 2));
	PQclear(res);
	struct ers_buf name = ERS_BUF_INIT;
	ers_buf_addf(&name, "%s._domainkey.%s", selector, domain.data);
	/* Before the transaction: a DNS query may take the whole timeout. */
	if (!opts->force && ers_dkim_dns_verify(ctx->cfg, name.data, alg, p, err) < 0)
		goto free_key;
	if (ers_db_begin(ctx, err) < 0)
		goto free_key;
	const char *lock[] = { did.s };
	const char *upd[] = { did.s, selector };
	char grace_s[16];
	snprintf(grace_s, sizeof grace_s, "%d", grace);
	const char *retire[] = { did.s, grace_s };
	if (ers_db_run(ctx, "SELECT 1 FROM ers.domain WHERE id = $1::bigint FOR UPDATE", 1, lock, err) < 0 ||
	    same_kind_as_others(ctx, domain_id, alg, err) < 0)
		goto rollback;
	res = ers_db_exec(ctx, "UPDATE ers.dkim_key SET state = 'retiring', retire_after = now() + make_interval(hours => $2::int)"
			  " WHERE domain_id = $1::bigint AND state = 'active' RETURNING selector, " ERS_SQL_TIME("retire_after"),
			  2, retire, err);
	if (!res)
		goto rollback;
	if (PQntuples(res) > 0)
		ers_buf_addf(&detail, "%s retiring until %s; ", ers_db_str(res, 0, 0), ers_db_str(res, 0, 1));
	PQclear(res);
	res = ers_db_exec(ctx, "UPDATE ers.dkim_key SET state = 'active', activated_at = now()"
			  " WHERE domain_id = $1::bigint AND selector = $2 AND state = 'published' RETURNING 1", 2, upd, err);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		ers_error_set(err, ERS_E_CONFLICT, "key \"%s\" of %s changed meanwhile: try again", selector, domain.data);
		goto rollback;
	}
	PQclear(res);
	ers_buf_addf(&detail, "%s active (%s)", selector, opts->force ? "forced: DNS not checked" : "its TXT record was seen in DNS");
	if (ers_db_commit_audited(ctx, actor, "dkim.activate", name.data, tenant_id, NULL, detail.data, err) < 0 ||
	    load_domain_keys(ctx, domain_id, keys_r, err) < 0)
		goto free_key;
	rc = 0;
	goto free_key;
rollback:
	ers_db_rollback(ctx);
free_key:
	free(selector);
	free(p);
	ers_buf_free(&name);
out:
	ers_buf_free(&domain);
	ers_buf_free(&detail);
	return rc;
}
