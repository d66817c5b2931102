/* Forwards -- "send a copy to" for a user's own address, forwarding
 * addresses, a domain's catch-all (manual 002 "Forwards", "Catch-All
 * Address"; manual 003 "Send a copy to"; manual 004 "Addresses").  The
 * routing graph in which no change may close a loop is route.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "accounts/internal.h"

#define FORWARD_COLUMNS \
	"f.id, f.source, d.name, t.name, f.tenant_id, f.source_kind, array_to_string(f.destinations, ' ')," \
	" f.keep_copy, " ERS_SQL_TIME("f.created_at")
#define FORWARD_FROM " FROM ers.forward f JOIN ers.domain d ON d.id = f.domain_id JOIN ers.tenant t ON t.id = f.tenant_id"

const char *ers_forward_kind_name(enum ers_forward_kind kind)
{
	switch (kind) {
	case ERS_FORWARD_MAILBOX: return "mailbox";
	case ERS_FORWARD_ADDRESS: return "address";
	case ERS_FORWARD_CATCHALL: return "catchall";
	}
	return "unknown";
}

static enum ers_forward_kind kind_from_db(const char *s)
{
	return !strcmp(s, "mailbox") ? ERS_FORWARD_MAILBOX : !strcmp(s, "catchall") ? ERS_FORWARD_CATCHALL
										     : ERS_FORWARD_ADDRESS;
}

/* --- forwards ------------------------------------------------------------ */

static void fill_forward(struct ers_forward *f, const PGresult *res, int r)
{
	char display[330];
	f->id = ers_db_ll(res, r, 0);
	ers_source_display(display, sizeof display, ers_db_str(res, r, 1));
	f->source = ers_xstrdup(display);
	f->domain = ers_xstrdup(ers_db_str(res, r, 2));
	f->tenant = ers_xstrdup(ers_db_str(res, r, 3));
	f->tenant_id = ers_db_ll(res, r, 4);
	f->kind = kind_from_db(ers_db_str(res, r, 5));
	char *dests = ers_xstrdup(ers_db_str(res, r, 6));
	size_t n = 1;
	for (const char *p = dests; *p; p++)
		n += *p == ' ';
	f->destinations = ers_xcalloc(n, sizeof *f->destinations);
	for (char *save, *tok = strtok_r(dests, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		f->destinations[f->destination_count++] = ers_xstrdup(tok);
	free(dests);
	f->keep_copy = ers_db_str(res, r, 7)[0] == 't';
	ers_db_time(f->created_at, res, r, 8);
}

static void forward_clear(struct ers_forward *f)
{
	free(f->source);
	free(f->domain);
	free(f->tenant);
	for (size_t i = 0; i < f->destination_count; i++)
		free(f->destinations[i]);
	free(f->destinations);
}

void ers_forward_free(struct ers_forward *f)
{
	if (!f)
		return;
	forward_clear(f);
	free(f);
}

void ers_forward_list_free(struct ers_forward_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		forward_clear(&list->items[i]);
	free(list->items);
	free(list);
}

/* A source as stored: a normalised address, or "@domain" for "*@domain". */
static int parse_source(const char *input, struct ers_buf *out, bool *catchall_r, struct ers_error *err)
{
	ers_buf_reset(out);
	*catchall_r = input && input[0] == '*' && input[1] == '@';
	if (*catchall_r) {
		struct ers_buf domain = ERS_BUF_INIT;
		int rc = ers_domain_normalize(input + 2, &domain, err);
		if (rc == 0)
			ers_buf_addf(out, "@%s", domain.data);
		else
			ers_error_prefix(err, "catch-all \"%.200s\"", input);
		ers_buf_free(&domain);
		return rc;
	}
	if (input && input[0] == '@') {
		ers_error_set(err, ERS_E_INVALID, "write a domain's catch-all as *%.200s", input);
		return -1;
	}
	return ers_address_normalize(input, out, err);
}

/* Loads the forward from `source` (stored form); FOR UPDATE with `lock`. */
static int load(struct ers_ctx *ctx, const char *source, bool lock, struct ers_forward **forward_r,
		struct ers_error *err)
{
	const char *params[] = { source };
	PGresult *res = ers_db_exec(ctx, lock ? "SELECT " FORWARD_COLUMNS FORWARD_FROM " WHERE f.source = $1 FOR UPDATE OF f"
					      : "SELECT " FORWARD_COLUMNS FORWARD_FROM " WHERE f.source = $1",
				    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		char display[330];
		ers_source_display(display, sizeof display, source);
		ers_error_set(err, ERS_E_NOTFOUND, "no forward from %s (see: ersctl forward list)", display);
		PQclear(res);
		return -1;
	}
	struct ers_forward *f = ers_xcalloc(1, sizeof *f);
	fill_forward(f, res, 0);
	PQclear(res);
	*forward_r = f;
	return 0;
}

/* Inside a transaction: refusal -> rollback, then the audit row. */
static int deny_in_tx(struct ers_ctx *ctx, const struct ers_actor *actor, const char *target,
		      long long tenant_id, struct ers_error *err)
{
	ers_db_rollback(ctx);
	ers_audit_denied(ctx, actor, ers_action_name(ERS_ACT_FORWARD_MANAGE), target, tenant_id, err->message);
	return -1;
}

/* The policy on one user a forward involves: its source's mailbox, or a
 * user of the same tenant it delivers to. */
static int check_user(const struct ers_actor *actor, long long tenant_id, long long user_id,
		      enum ers_role role, struct ers_error *err)
{
	struct ers_authz_target t = { .tenant_id = tenant_id, .user_id = user_id, .is_user = true,
				      .user_role = role };
	return ers_authz_check(actor, ERS_ACT_FORWARD_MANAGE, &t, err);
}

/* The users of tenant `tenant_id` that the forward's destinations deliver
 * to must be within the actor's reach too. */
static int check_destination_users(struct ers_ctx *ctx, const struct ers_actor *actor, long long tenant_id,
				   char *const *dests, size_t n, struct ers_error *err)
{
	struct ers_buf list = ERS_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		ers_buf_addf(&list, "%s%s", i ? " " : "", dests[i]);
	struct ers_num tid = ers_num(tenant_id);
	const char *params[] = { list.data, tid.s };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.id, m.role FROM ers.address_claim c"
		" LEFT JOIN ers.alias a ON c.kind = 'alias' AND a.address = c.address"
		" JOIN ers.mailbox m ON m.address = c.address OR m.id = a.mailbox_id"
		" WHERE c.address = ANY (string_to_array(lower($1), ' ')) AND c.tenant_id = $2::bigint", 2, params, err);
	ers_buf_free(&list);
	if (!res)
		return -1;
	int rc = 0;
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		enum ers_role role = ERS_ROLE_USER;
		struct ers_error ignored;
		ers_role_parse(ers_db_str(res, r, 1), &role, &ignored);
		rc = check_user(actor, tenant_id, ers_db_ll(res, r, 0), role, err);
	}
	PQclear(res);
	return rc;
}

/* What has `source` now: sets the kind, and the user whose business it is
 * -- a mailbox's, an alias's -- (0: none); refuses an alias's address and a
 * source that forwards already, but only once the policy allows the actor
 * that user: what an admin's address forwards to, or whose alias it is, is
 * no tenant admin's to learn. */
static int source_kind(struct ers_ctx *ctx, const struct ers_actor *actor, const char *source, bool catchall,
		       long long tenant_id, enum ers_forward_kind *kind_r, long long *user_id_r, enum ers_role *role_r,
		       struct ers_error *err)
{
	char display[330];
	ers_source_display(display, sizeof display, source);
	const char *params[] = { source };
	PGresult *res = ers_db_exec(ctx,
		"SELECT (SELECT array_to_string(destinations, ', ') FROM ers.forward WHERE source = $1),"
		" c.kind, coalesce(m.id, am.id), coalesce(m.role, am.role), am.address"
		" FROM (SELECT 1) one LEFT JOIN ers.address_claim c ON c.address = $1"
		" LEFT JOIN ers.mailbox m ON c.kind = 'mailbox' AND m.address = c.address"
		" LEFT JOIN ers.alias a ON c.kind = 'alias' AND a.address = c.address"
		" LEFT JOIN ers.mailbox am ON am.id = a.mailbox_id", 1, params, err);
	if (!res)
		return -1;
	int rc = 0;
	const char *claim = ers_db_str(res, 0, 1);
	*user_id_r = ers_db_isnull(res, 0, 2) ? 0 : ers_db_ll(res, 0, 2);
	*role_r = ERS_ROLE_USER;
	struct ers_error ignored;
	if (*user_id_r && ers_role_parse(ers_db_str(res, 0, 3), role_r, &ignored) < 0)
		*role_r = ERS_ROLE_USER;
	if (*user_id_r && check_user(actor, tenant_id, *user_id_r, *role_r, err) < 0) {
		rc = -1;
	} else if (!ers_db_isnull(res, 0, 0)) {
		ers_error_set(err, ERS_E_CONFLICT, "%s already forwards to %s: delete that forward first (ersctl forward delete %s)",
			      display, ers_db_str(res, 0, 0), display);
		rc = -1;
	} else if (!strcmp(claim, "alias")) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "%s is an alias of user %s: an address is an alias or a forward, not both (delete the alias first, or forward %s)",
			      source, ers_db_str(res, 0, 4), ers_db_str(res, 0, 4));
		rc = -1;
	} else if (catchall) {
		*kind_r = ERS_FORWARD_CATCHALL;
	} else if (!strcmp(claim, "mailbox")) {
		*kind_r = ERS_FORWARD_MAILBOX;
	} else {
		*kind_r = ERS_FORWARD_ADDRESS;
	}
	PQclear(res);
	return rc;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int ers_forward_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_forward_spec *spec,
		    struct ers_forward **forward_r, struct ers_error *err)
{
	struct ers_buf source = ERS_BUF_INIT, norm = ERS_BUF_INIT, joined = ERS_BUF_INIT, detail = ERS_BUF_INIT;
	size_t n = spec->destination_count;
	char **dests = NULL;
	char display[330];
	bool catchall;
	long long tenant_id, domain_id;
	int rc = -1;
	if (parse_source(spec->source, &source, &catchall, err) < 0)
		goto out;
	ers_source_display(display, sizeof display, source.data);
	if (n == 0 || n > ERS_FORWARD_MAX_DESTINATIONS) {
		ers_error_set(err, ERS_E_INVALID, "a forward needs 1 to %d destinations (--to), got %zu",
			      ERS_FORWARD_MAX_DESTINATIONS, n);
		goto out;
	}
	dests = ers_xcalloc(n, sizeof *dests);
	for (size_t i = 0; i < n; i++) {
		if (ers_forward_destination_normalize(spec->destinations[i], &norm, err) < 0)
			goto out;
		dests[i] = ers_xstrdup(norm.data);
	}
	if (catchall && spec->keep_copy) {
		ers_error_set(err, ERS_E_INVALID,
			      "--keep-copy applies only to a user's own address (\"send a copy to\"): a catch-all has no mailbox to keep the mail in");
		goto out;
	}
	if (ers_domain_owner_for(ctx, actor, ERS_ACT_FORWARD_MANAGE, NULL, strchr(source.data, '@') + 1, display,
				 &tenant_id, &domain_id, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	enum ers_forward_kind kind = ERS_FORWARD_ADDRESS;
	long long user_id;
	enum ers_role role = ERS_ROLE_USER;
	if (ers_route_lock(ctx, err) < 0)
		goto rollback;
	if (source_kind(ctx, actor, source.data, catchall, tenant_id, &kind, &user_id, &role, err) < 0) {
		if (err->code == ERS_E_PERMISSION)
			deny_in_tx(ctx, actor, display, tenant_id, err);
		else
			ers_db_rollback(ctx);
		goto out;
	}
	if (spec->keep_copy && kind != ERS_FORWARD_MAILBOX) {
		ers_error_set(err, ERS_E_INVALID,
			      "--keep-copy applies only to a user's own address (\"send a copy to\"): %s is no user's, so there is no mailbox to keep the mail in",
			      source.data);
		goto rollback;
	}
	/* A destination in the tenant's own domains that nothing has is, to an
	 * actor that may not see every user there, refused like an admin's
	 * address -- after the same lookups. */
	struct ers_authz_target anyone_here = { .tenant_id = tenant_id, .is_user = true,
						.user_role = ERS_ROLE_SUPER_ADMIN };
	bool hidden_missing = false;
	for (size_t i = 0; i < n; i++) {
		struct ers_route_dest d;
		bool missing = false;
		if (ers_route_destination(ctx, dests[i], tenant_id, &norm, &d, err) < 0) {
			if (!d.unclaimed || ers_authz_sees_missing(actor, ERS_ACT_FORWARD_MANAGE, &anyone_here))
				goto rollback;
			hidden_missing = missing = true;
		}
		free(dests[i]);
		dests[i] = ers_xstrdup(norm.data);
		if (!strcmp(dests[i], source.data)) {
			ers_error_set(err, ERS_E_INVALID, "a forward cannot send mail to its own source %s", display);
			goto rollback;
		}
		if (catchall && !missing && (d.tenant_id != tenant_id || strcmp(d.kind, "mailbox"))) {
			ers_error_set(err, ERS_E_INVALID,
				      "a catch-all delivers only to users of the tenant that owns its domain: %s is not one (see: ersctl user list --tenant %s)",
				      dests[i], source.data + 1);
			goto rollback;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcasecmp(dests[j], dests[i])) {
				ers_error_set(err, ERS_E_INVALID, "destination %s is given twice", dests[i]);
				goto rollback;
			}
		}
		ers_buf_addf(&joined, "%s%s", i ? " " : "", dests[i]);
	}
	if (check_destination_users(ctx, actor, tenant_id, dests, n, err) < 0 ||
	    (hidden_missing && ers_authz_check(actor, ERS_ACT_FORWARD_MANAGE, &anyone_here, err) < 0)) {
		if (err->code == ERS_E_PERMISSION)
			deny_in_tx(ctx, actor, display, tenant_id, err);
		else
			ers_db_rollback(ctx);
		goto out;
	}
	struct ers_num tid = ers_num(tenant_id), did = ers_num(domain_id);
	const char *params[] = { tid.s, did.s, source.data, ers_forward_kind_name(kind), joined.data,
				 spec->keep_copy ? "t" : "f" };
	if ((kind == ERS_FORWARD_ADDRESS &&
	     ers_address_claim(ctx, source.data, tenant_id, domain_id, "forward", err) < 0) ||
	    ers_route_check_loop(ctx, actor, source.data, (const char *const *)dests, n, err) < 0 ||
	    ers_db_run(ctx,
		       "INSERT INTO ers.forward (tenant_id, domain_id, source, source_kind, destinations, keep_copy)"
		       " VALUES ($1::bigint, $2::bigint, $3, $4, string_to_array($5, ' '), $6::bool)", 6, params, err) < 0)
		goto rollback;
	for (size_t i = 0; i < n; i++)
		ers_buf_addf(&detail, "%s%s", i ? ", " : "to ", dests[i]);
	ers_buf_addf(&detail, "; %s", kind == ERS_FORWARD_CATCHALL ? "catch-all" :
				      kind == ERS_FORWARD_ADDRESS ? "forwarding address" :
				      spec->keep_copy ? "send a copy, keep the mail" : "send on, do not keep the mail");
	if (ers_db_commit_audited(ctx, actor, "forward.add", display, tenant_id, NULL, detail.data, err) < 0 ||
	    load(ctx, source.data, false, forward_r, err) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	free_strings(dests, n);
	ers_buf_free(&source);
	ers_buf_free(&norm);
	ers_buf_free(&joined);
	ers_buf_free(&detail);
	return rc;
}

int ers_forward_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_forward_filter *f,
		     struct ers_forward_list **list_r, struct ers_error *err)
{
	/* Users see their own, tenant admins their tenant's except admins' own. */
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_FORWARD_VIEW, f->tenant, "forwards", &sc, err) < 0)
		return -1;
	long long tenant_id = sc.tenant_id;
	bool self_only = sc.self_only, regular_only = sc.regular_only;
	struct ers_num tid = ers_num(tenant_id), self = ers_num(actor->user_id);
	const char *params[] = { tenant_id ? tid.s : NULL, self_only ? self.s : NULL, regular_only ? "t" : NULL };
	PGresult *res = ers_db_exec(ctx, "SELECT " FORWARD_COLUMNS FORWARD_FROM
		" LEFT JOIN ers.mailbox m ON f.source_kind = 'mailbox' AND m.address = f.source"
		" WHERE ($1::bigint IS NULL OR f.tenant_id = $1::bigint) AND ($2::bigint IS NULL OR m.id = $2::bigint)"
		" AND ($3::bool IS NULL OR m.id IS NULL OR m.role = 'user')"
		" ORDER BY split_part(f.source, '@', 2), f.source", 3, params, err);
	if (!res)
		return -1;
	struct ers_forward_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++)
		fill_forward(&list->items[r], res, r);
	PQclear(res);
	*list_r = list;
	return 0;
}

int ers_forward_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *input,
		       struct ers_error *err)
{
	struct ers_buf source = ERS_BUF_INIT;
	struct ers_forward *f = NULL;
	char display[330];
	bool catchall;
	long long tenant_id, domain_id;
	int rc = -1;
	if (parse_source(input, &source, &catchall, err) < 0)
		goto out;
	ers_source_display(display, sizeof display, source.data);
	if (ers_domain_owner_for(ctx, actor, ERS_ACT_FORWARD_MANAGE, NULL, strchr(source.data, '@') + 1, display,
				 &tenant_id, &domain_id, err) < 0 ||
	    ers_db_begin(ctx, err) < 0)
		goto out;
	if (ers_route_lock(ctx, err) < 0)
		goto rollback;
	struct ers_error missing;
	bool found = load(ctx, source.data, true, &f, &missing) == 0;
	if (!found && missing.code != ERS_E_NOTFOUND) {
		*err = missing;
		goto rollback;
	}
	/* The user whose business the source is -- a mailbox's, an alias's --
	 * asked whether or not it forwards, so that whether an admin's address
	 * does is no tenant admin's to learn. */
	const char *hparams[] = { source.data };
	PGresult *res = ers_db_exec(ctx,
		"SELECT coalesce(m.id, am.id), coalesce(m.role, am.role) FROM ers.address_claim c"
		" LEFT JOIN ers.mailbox m ON c.kind = 'mailbox' AND m.address = c.address"
		" LEFT JOIN ers.alias a ON c.kind = 'alias' AND a.address = c.address"
		" LEFT JOIN ers.mailbox am ON am.id = a.mailbox_id WHERE c.address = $1", 1, hparams, err);
	if (!res)
		goto rollback;
	long long user_id = PQntuples(res) && !ers_db_isnull(res, 0, 0) ? ers_db_ll(res, 0, 0) : 0;
	enum ers_role role = ERS_ROLE_USER;
	struct ers_error ignored;
	if (user_id && ers_role_parse(ers_db_str(res, 0, 1), &role, &ignored) < 0)
		role = ERS_ROLE_USER;
	PQclear(res);
	if (user_id && check_user(actor, tenant_id, user_id, role, err) < 0) {
		deny_in_tx(ctx, actor, display, tenant_id, err);
		goto out;
	}
	if (!found) {
		/* No forward from a user in reach, or no catch-all, is said; from
		 * an address nothing has, only to those who see every user there
		 * (to anyone else it looks like an admin's). */
		*err = missing;
		ers_db_rollback(ctx);
		if (!catchall && !user_id) {
			struct ers_authz_target where = { .tenant_id = tenant_id, .is_user = true };
			ers_authz_missing(ctx, actor, ERS_ACT_FORWARD_MANAGE, &where, display, err);
		}
		goto out;
	}
	if (check_destination_users(ctx, actor, tenant_id, f->destinations, f->destination_count, err) < 0) {
		if (err->code == ERS_E_PERMISSION)
			deny_in_tx(ctx, actor, display, tenant_id, err);
		else
			ers_db_rollback(ctx);
		goto out;
	}
	struct ers_num tid = ers_num(f->tenant_id), id = ers_num(f->id);
	const char *params[] = { source.data, tid.s };
	const char *id_param[] = { id.s };
	if (f->kind == ERS_FORWARD_ADDRESS) {
		res = ers_db_exec(ctx,
			"SELECT string_agg(CASE WHEN source LIKE '@%' THEN '*' || source ELSE source END, ', ' ORDER BY source)"
			" FROM ers.forward WHERE $1 = ANY (destinations) AND tenant_id = $2::bigint", 2, params, err);
		if (!res)
			goto rollback;
		if (!ers_db_isnull(res, 0, 0)) {
			ers_error_set(err, ERS_E_CONFLICT,
				      "%s receives mail forwarded from %s: delete or change those forwards first",
				      source.data, ers_db_str(res, 0, 0));
			PQclear(res);
			goto rollback;
		}
		PQclear(res);
	}
	struct ers_buf detail = ERS_BUF_INIT;
	for (size_t i = 0; i < f->destination_count; i++)
		ers_buf_addf(&detail, "%s%s", i ? ", " : "to ", f->destinations[i]);
	if (ers_db_run(ctx, "DELETE FROM ers.forward WHERE id = $1::bigint", 1, id_param, err) < 0 ||
	    (f->kind == ERS_FORWARD_ADDRESS &&
	     (ers_db_run(ctx, "DELETE FROM ers.address_claim WHERE address = $1 AND kind = 'forward'", 1, params, err) < 0 ||
	      /* mail for it now goes to the catch-all, if the domain has one */
	      ers_route_check_loop(ctx, actor, source.data, NULL, 0, err) < 0))) {
		ers_buf_free(&detail);
		goto rollback;
	}
	rc = ers_db_commit_audited(ctx, actor, "forward.delete", display, f->tenant_id, f->tenant, detail.data, err);
	ers_buf_free(&detail);
	goto out;
rollback:
	ers_db_rollback(ctx);
out:
	ers_forward_free(f);
	ers_buf_free(&source);
	return rc;
}
