/* Shared mailboxes (ers/shared.h): the rows, the grants, and the ACLs in
 * Dovecot that mirror them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"
#include "ers/imap.h"
#include "ers/names.h"

#define NAME_MAX_CHARS 200
/* Never a password: Dovecot's passdb gives a shared mailbox none (0024). */
#define NO_LOGIN_HASH "$shared$no-login"

static const struct {
	unsigned bit;
	const char *word;
	const char *letters; /* RFC 4314 */
} RIGHTS[] = {
	{ ERS_SHARED_READ, "read", "rs" },
	{ ERS_SHARED_WRITE, "write", "witek" },
	{ ERS_SHARED_POST, "post", "p" },
	{ ERS_SHARED_ADMIN, "admin", "rswitekpxa" },
};
#define NRIGHTS (sizeof RIGHTS / sizeof RIGHTS[0])

int ers_shared_rights_parse(const char *text, unsigned *rights_r, struct ers_error *err)
{
	*rights_r = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < NRIGHTS; i++)
			if (n == strlen(RIGHTS[i].word) && !strncmp(p, RIGHTS[i].word, n))
				break;
		if (i == NRIGHTS) {
			ers_error_set(err, ERS_E_INVALID, "unknown right \"%.*s\": the rights are read, write, post and admin, "
				      "joined by commas (e.g. read,write)", (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		*rights_r |= RIGHTS[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*rights_r) {
		ers_error_set(err, ERS_E_INVALID, "give at least one right: read, write, post or admin (e.g. --rights read,write)");
		return -1;
	}
	return 0;
}

void ers_shared_rights_format(unsigned rights, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < NRIGHTS; i++)
		if (rights & RIGHTS[i].bit)
			used += snprintf(out + used, used < size ? size - used : 0, "%s%s", used ? "," : "", RIGHTS[i].word);
}

void ers_shared_rights_letters(unsigned rights, char *out, size_t size)
{
	/* 'l' always: without lookup the folders are not even listed. */
	static const char order[] = "lrswipkxtea";
	char want[16] = "l";
	for (size_t i = 0; i < NRIGHTS; i++)
		if (rights & RIGHTS[i].bit)
			strncat(want, RIGHTS[i].letters, sizeof want - strlen(want) - 1);
	size_t n = 0;
	for (const char *c = order; *c && n + 1 < size; c++)
		if (strchr(want, *c))
			out[n++] = *c;
	out[n] = '\0';
}

/* The words stored in ers.shared_grant.rights, as a PostgreSQL array. */
static void rights_array(unsigned rights, char *out, size_t size)
{
	char words[64];
	ers_shared_rights_format(rights, words, sizeof words);
	snprintf(out, size, "{%s}", words);
}

static unsigned rights_from_words(const char *csv)
{
	unsigned r = 0;
	if (ers_shared_rights_parse(csv, &r, &(struct ers_error){ 0 }) < 0)
		return 0;
	return r;
}

static void shared_clear(struct ers_shared *s)
{
	free(s->address);
	free(s->tenant);
	free(s->name);
	for (size_t i = 0; i < s->grant_count; i++)
		free(s->grants[i].user);
	free(s->grants);
}

void ers_shared_free(struct ers_shared *s)
{
	if (!s)
		return;
	shared_clear(s);
	free(s);
}

void ers_shared_list_free(struct ers_shared_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		shared_clear(&l->items[i]);
	free(l->items);
	free(l);
}

#define SHARED_COLUMNS \
	"m.id, m.tenant_id, m.address, t.name, m.first_name, coalesce(m.quota_mb, -1), " ERS_SQL_TIME("m.created_at")
#define SHARED_FROM " FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id WHERE m.kind = 'shared'"

static void fill(struct ers_shared *s, const PGresult *res, int row)
{
	s->id = ers_db_ll(res, row, 0);
	s->tenant_id = ers_db_ll(res, row, 1);
	s->address = ers_xstrdup(ers_db_str(res, row, 2));
	s->tenant = ers_xstrdup(ers_db_str(res, row, 3));
	s->name = ers_xstrdup(ers_db_str(res, row, 4));
	s->quota_mb = ers_db_ll(res, row, 5);
	ers_db_time(s->created_at, res, row, 6);
}

static int load_grants(struct ers_ctx *ctx, struct ers_shared *s, struct ers_error *err)
{
	struct ers_num id = ers_num(s->id);
	const char *p[] = { id.s };
	PGresult *res = ers_db_exec(ctx, "SELECT u.address, array_to_string(g.rights, ','), " ERS_SQL_TIME("g.granted_at")
				    " FROM ers.shared_grant g JOIN ers.mailbox u ON u.id = g.user_id"
				    " WHERE g.shared_id = $1::bigint ORDER BY u.address", 1, p, err);
	if (!res)
		return -1;
	s->grant_count = (size_t)PQntuples(res);
	s->grants = ers_xcalloc(s->grant_count ? s->grant_count : 1, sizeof *s->grants);
	for (size_t i = 0; i < s->grant_count; i++) {
		s->grants[i].user = ers_xstrdup(ers_db_str(res, (int)i, 0));
		s->grants[i].rights = rights_from_words(ers_db_str(res, (int)i, 1));
		ers_db_time(s->grants[i].granted_at, res, (int)i, 2);
	}
	PQclear(res);
	return 0;
}

/* The shared mailbox `address` (normalised into `addr`) after the policy
 * allowed `action` on its tenant; a missing one is refused like one out of
 * reach to an actor that may not see every tenant. */
static int find(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, const char *address,
		bool lock, struct ers_buf *addr, struct ers_shared **s_r, struct ers_error *err)
{
	*s_r = NULL;
	if (ers_address_normalize(address ? address : "", addr, err) < 0)
		return -1;
	const char *p[] = { addr->data };
	PGresult *res = ers_db_exec(ctx, lock ? "SELECT " SHARED_COLUMNS SHARED_FROM " AND m.address = $1 FOR UPDATE OF m"
					      : "SELECT " SHARED_COLUMNS SHARED_FROM " AND m.address = $1", 1, p, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		if (lock)
			ers_db_rollback(ctx);
		ers_error_set(err, ERS_E_NOTFOUND, "no shared mailbox %s (see: ersctl shared list)", addr->data);
		long long dt = 0, did = 0;
		struct ers_error ignored;
		ers_domain_lookup(ctx, strrchr(addr->data, '@') + 1, &dt, &did, &ignored);
		struct ers_authz_target where = { .tenant_id = dt };
		return ers_authz_missing(ctx, actor, action, &where, addr->data, err);
	}
	struct ers_shared *s = ers_xcalloc(1, sizeof *s);
	fill(s, res, 0);
	PQclear(res);
	struct ers_authz_target t = { .tenant_id = s->tenant_id };
	/* In a transaction, the refusal's audit row is written after the
	 * rollback, or it would go with it. */
	int arc = lock ? ers_authz_check(actor, action, &t, err) : ers_authz_require(ctx, actor, action, &t, addr->data, err);
	if (arc < 0) {
		if (lock) {
			ers_db_rollback(ctx);
			ers_audit_denied(ctx, actor, ers_action_name(action), addr->data, s->tenant_id, err->message);
		}
		ers_shared_free(s);
		return -1;
	}
	*s_r = s;
	return 0;
}

int ers_shared_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *name,
		   long long quota_mb, struct ers_shared **shared_r, struct ers_error *err)
{
	struct ers_buf addr = ERS_BUF_INIT;
	long long tenant_id, domain_id;
	int rc = -1;
	*shared_r = NULL;
	struct ers_authz_target target = { 0 };
	if (ers_address_normalize(address ? address : "", &addr, err) < 0 ||
	    (name && ers_text_check(name, "name", NAME_MAX_CHARS, err) < 0))
		goto out;
	if (quota_mb < -1 || quota_mb > 1048576) {
		ers_error_set(err, ERS_E_INVALID, "--quota-mb must be 0..1048576 (0: unlimited), got %lld", quota_mb);
		goto out;
	}
	if (ers_domain_owner_for(ctx, actor, ERS_ACT_SHARED_MANAGE, &target, strrchr(addr.data, '@') + 1, addr.data,
				 &tenant_id, &domain_id, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	struct ers_num tid = ers_num(tenant_id), quota = ers_num(quota_mb);
	const char *params[] = { tid.s, addr.data, name ? name : "", NO_LOGIN_HASH, quota_mb >= 0 ? quota.s : NULL };
	struct ers_tenant_growth grow = { .users = 1, .quota_mb = quota_mb };
	if (ers_tenant_limits_check(ctx, tenant_id, &grow, err) < 0 ||
	    ers_address_claim(ctx, addr.data, tenant_id, domain_id, "mailbox", err) < 0 ||
	    ers_db_run(ctx, "INSERT INTO ers.mailbox (tenant_id, address, first_name, password_hash, quota_mb, kind)"
			    " VALUES ($1::bigint, $2, $3, $4, $5::bigint, 'shared')", 5, params, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	char detail[80];
	snprintf(detail, sizeof detail, "shared mailbox, quota %s%s", quota_mb >= 0 ? quota.s : "none",
		 quota_mb >= 0 ? " MB" : "");
	if (ers_db_commit_audited(ctx, actor, "shared.add", addr.data, tenant_id, NULL, detail, err) < 0)
		goto out;
	rc = ers_shared_show(ctx, actor, addr.data, shared_r, err);
out:
	ers_buf_free(&addr);
	return rc;
}

int ers_shared_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		    struct ers_shared **shared_r, struct ers_error *err)
{
	struct ers_buf addr = ERS_BUF_INIT;
	int rc = find(ctx, actor, ERS_ACT_SHARED_VIEW, address, false, &addr, shared_r, err);
	if (rc == 0 && load_grants(ctx, *shared_r, err) < 0) {
		ers_shared_free(*shared_r);
		*shared_r = NULL;
		rc = -1;
	}
	ers_buf_free(&addr);
	return rc;
}

int ers_shared_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
		    struct ers_shared_list **list_r, struct ers_error *err)
{
	*list_r = NULL;
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_SHARED_VIEW, tenant, "shared mailboxes", &sc, err) < 0)
		return -1;
	struct ers_num tid = ers_num(sc.tenant_id);
	const char *p[] = { sc.tenant_id ? tid.s : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT " SHARED_COLUMNS SHARED_FROM
				    " AND ($1::bigint IS NULL OR m.tenant_id = $1::bigint) ORDER BY m.address", 1, p, err);
	if (!res)
		return -1;
	struct ers_shared_list *l = ers_xcalloc(1, sizeof *l);
	l->count = (size_t)PQntuples(res);
	l->items = ers_xcalloc(l->count ? l->count : 1, sizeof *l->items);
	for (size_t i = 0; i < l->count; i++)
		fill(&l->items[i], res, (int)i);
	PQclear(res);
	for (size_t i = 0; i < l->count; i++)
		if (load_grants(ctx, &l->items[i], err) < 0) {
			ers_shared_list_free(l);
			return -1;
		}
	*list_r = l;
	return 0;
}

/* Sets (letters) or removes (NULL) `user`'s ACL on every folder of the
 * shared mailbox, as its owner.  Folders made later inherit INBOX's
 * (acl_defaults_from_inbox) or their parent's. */
static int apply_acl(struct ers_ctx *ctx, const char *shared, const char *user, const char *letters,
		     struct ers_error *err)
{
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 }, r;
	struct ers_buf cmd = ERS_BUF_INIT;
	int rc = -1;
	if (ers_imap_open_owner(ers_ctx_config(ctx), shared, 30, &im, err) < 0 || ers_imap_folders(im, &fl, err) < 0)
		goto out;
	for (size_t i = 0; i < fl.nfolders; i++) {
		ers_buf_reset(&cmd);
		ers_buf_adds(&cmd, letters ? "SETACL " : "DELETEACL ");
		if (!ers_imap_quote(&cmd, fl.folders[i].name)) {
			ers_error_set(err, ERS_E_INTERNAL, "folder name of %s cannot be quoted", shared);
			goto out;
		}
		ers_buf_adds(&cmd, " ");
		ers_imap_quote(&cmd, user);
		if (letters)
			ers_buf_addf(&cmd, " %s", letters);
		int crc = ers_imap_command(im, cmd.data, &r, err);
		ers_imap_result_free(&r);
		if (crc < 0) {
			ers_error_prefix(err, "the mailbox's access rights in Dovecot");
			goto out;
		}
	}
	rc = 0;
out:
	ers_buf_free(&cmd);
	ers_imap_result_free(&fl);
	ers_imap_close(im);
	return rc;
}

/* The grantee: a user (not a shared mailbox) of the shared mailbox's
 * tenant.  Another tenant's user is refused like a missing one, so that
 * the answer does not say which addresses exist elsewhere. */
static int grantee(struct ers_ctx *ctx, const struct ers_shared *s, const char *user, struct ers_buf *uaddr,
		   long long *uid_r, unsigned *had_r, struct ers_error *err)
{
	if (ers_address_normalize(user ? user : "", uaddr, err) < 0) {
		ers_error_prefix(err, "user");
		return -1;
	}
	struct ers_num tid = ers_num(s->tenant_id), sid = ers_num(s->id);
	const char *p[] = { uaddr->data, tid.s, sid.s };
	PGresult *res = ers_db_exec(ctx, "SELECT m.id, (SELECT array_to_string(g.rights, ',') FROM ers.shared_grant g"
				    " WHERE g.shared_id = $3::bigint AND g.user_id = m.id)"
				    " FROM ers.mailbox m WHERE m.address = $1 AND m.tenant_id = $2::bigint AND m.kind = 'user'",
				    3, p, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s in tenant \"%s\": a shared mailbox is shared with users of its "
			      "own tenant (see: ersctl user list --tenant \"%s\")", uaddr->data, s->tenant, s->tenant);
		return -1;
	}
	*uid_r = ers_db_ll(res, 0, 0);
	*had_r = ers_db_isnull(res, 0, 1) ? 0 : rights_from_words(ers_db_str(res, 0, 1));
	PQclear(res);
	return 0;
}

static int change(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *user,
		  unsigned rights, struct ers_error *err)
{
	struct ers_buf addr = ERS_BUF_INIT, uaddr = ERS_BUF_INIT;
	struct ers_shared *s = NULL;
	long long uid;
	unsigned had;
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (find(ctx, actor, ERS_ACT_SHARED_MANAGE, address, true, &addr, &s, err) < 0)
		goto out; /* rolled back */
	if (grantee(ctx, s, user, &uaddr, &uid, &had, err) < 0)
		goto rollback;
	if (!rights && !had) {
		ers_error_set(err, ERS_E_NOTFOUND, "%s has no access to %s (see: ersctl shared show %s)", uaddr.data,
			      addr.data, addr.data);
		goto rollback;
	}
	struct ers_num sid = ers_num(s->id), id = ers_num(uid);
	char arr[80];
	rights_array(rights, arr, sizeof arr);
	const char *p[] = { sid.s, id.s, arr };
	if (rights ? ers_db_run(ctx, "INSERT INTO ers.shared_grant (shared_id, user_id, rights) VALUES ($1::bigint, $2::bigint, $3::text[])"
				     " ON CONFLICT (shared_id, user_id) DO UPDATE SET rights = EXCLUDED.rights, granted_at = now()",
				3, p, err)
		   : ers_db_run(ctx, "DELETE FROM ers.shared_grant WHERE shared_id = $1::bigint AND user_id = $2::bigint", 2, p, err)) 
		goto rollback;
	/* Dovecot's ACLs, then the commit: a refusal there leaves the record
	 * as it was; a failed commit is mended by putting the old rights back. */
	char letters[16], words[64], detail[200];
	ers_shared_rights_letters(rights, letters, sizeof letters);
	if (apply_acl(ctx, addr.data, uaddr.data, rights ? letters : NULL, err) < 0)
		goto rollback;
	ers_shared_rights_format(rights, words, sizeof words);
	snprintf(detail, sizeof detail, rights ? "%s: %s" : "%s: no access", uaddr.data, words);
	rc = ers_db_commit_audited(ctx, actor, rights ? "shared.grant" : "shared.revoke", addr.data, s->tenant_id,
				   s->tenant, detail, err);
	if (rc < 0) {
		struct ers_error ignored;
		ers_shared_rights_letters(had, letters, sizeof letters);
		apply_acl(ctx, addr.data, uaddr.data, had ? letters : NULL, &ignored);
	}
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_shared_free(s);
	ers_buf_free(&addr);
	ers_buf_free(&uaddr);
	return rc;
}

int ers_shared_grant(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *user,
		     unsigned rights, struct ers_error *err)
{
	if (!rights || rights & ~(unsigned)(ERS_SHARED_READ | ERS_SHARED_WRITE | ERS_SHARED_POST | ERS_SHARED_ADMIN)) {
		ers_error_set(err, ERS_E_INVALID, "give at least one right: read, write, post or admin");
		return -1;
	}
	return change(ctx, actor, address, user, rights, err);
}

int ers_shared_revoke(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *user,
		      struct ers_error *err)
{
	return change(ctx, actor, address, user, 0, err);
}

int ers_shared_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, struct ers_error *err)
{
	struct ers_buf addr = ERS_BUF_INIT;
	struct ers_shared *s = NULL;
	int rc = -1;
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	if (find(ctx, actor, ERS_ACT_SHARED_MANAGE, address, true, &addr, &s, err) < 0)
		goto out;
	struct ers_num id = ers_num(s->id);
	const char *p[] = { addr.data, id.s };
	if (ers_route_lock(ctx, err) < 0)
		goto rollback;
	PGresult *res = ers_db_exec(ctx, "SELECT (SELECT count(*) FROM ers.shared_grant WHERE shared_id = $2::bigint),"
				    " (SELECT string_agg(source, ', ' ORDER BY source) FROM ers.forward"
				    "  WHERE $1 = ANY (destinations) AND source <> $1)", 2, p, err);
	if (!res)
		goto rollback;
	if (!ers_db_isnull(res, 0, 1)) {
		ers_error_set(err, ERS_E_CONFLICT, "%s receives mail forwarded from %s: delete or change those forwards first",
			      addr.data, ers_db_str(res, 0, 1));
		PQclear(res);
		goto rollback;
	}
	char detail[80];
	snprintf(detail, sizeof detail, "shared mailbox with %s grant(s)", ers_db_str(res, 0, 0));
	PQclear(res);
	/* The claims go, and with them the mailbox, its aliases and grants
	 * (ON DELETE CASCADE). */
	if (ers_db_run(ctx, "DELETE FROM ers.forward WHERE source = $1", 1, p, err) < 0 ||
	    ers_db_run(ctx, "DELETE FROM ers.address_claim WHERE address = $1"
			    " OR address IN (SELECT address FROM ers.alias WHERE mailbox_id = $2::bigint)", 2, p, err) < 0)
		goto rollback;
	rc = ers_db_commit_audited(ctx, actor, "shared.delete", addr.data, s->tenant_id, s->tenant, detail, err);
	if (rc == 0)
		ers_mailstack_after_change(ctx, actor, addr.data, true);
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_shared_free(s);
	ers_buf_free(&addr);
	return rc;
}
