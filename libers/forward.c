/* Forwards -- "send a copy to" for a user's own address, forwarding
 * addresses, a domain's catch-all -- and the routing graph of aliases and
 * forwards in which no change may close a loop (manual 002 "Forwards",
 * "Catch-All Address"; manual 003 "Send a copy to"; manual 004 "Addresses"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

#define FORWARD_COLUMNS \
	"f.id, f.source, d.name, t.name, f.tenant_id, f.source_kind, array_to_string(f.destinations, ' ')," \
	" f.keep_copy, " ERS_SQL_TIME("f.created_at")
#define FORWARD_FROM " FROM ers.forward f JOIN ers.domain d ON d.id = f.domain_id JOIN ers.tenant t ON t.id = f.tenant_id"

/* Any constant will do: every alias and forward change takes this one lock. */
#define ROUTE_LOCK_KEY "4995443918405326917"

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

/* How people write a stored source: "@domain" is the catch-all "*@domain". */
static void source_display(char *dst, size_t cap, const char *source)
{
	snprintf(dst, cap, "%s%s", source[0] == '@' ? "*" : "", source);
}

/* RFC 5321 atext: what a dot-atom local part may hold besides periods. */
static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

int ers_forward_destination_normalize(const char *input, struct ers_buf *out, struct ers_error *err)
{
	ers_buf_reset(out);
	const char *at = input ? strrchr(input, '@') : NULL;
	if (!at || at == input || !at[1]) {
		ers_error_set(err, ERS_E_INVALID, "destination \"%.200s\" must be an address like name@example.com",
			      input ? input : "");
		return -1;
	}
	size_t n = (size_t)(at - input);
	if (n > 64) {
		ers_error_set(err, ERS_E_INVALID, "destination \"%.200s\": the name before @ must be at most 64 characters",
			      input);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_atext((unsigned char)input[i]) && input[i] != '.') {
			ers_error_set(err, ERS_E_INVALID,
				      "destination \"%.200s\": the name before @ may hold only letters, digits, periods and !#$%%&'*+-/=?^_`{|}~ (RFC 5321)",
				      input);
			return -1;
		}
	}
	bool double_dot = false;
	for (size_t i = 1; i < n; i++)
		double_dot |= input[i] == '.' && input[i - 1] == '.';
	if (input[0] == '.' || input[n - 1] == '.' || double_dot) {
		ers_error_set(err, ERS_E_INVALID,
			      "destination \"%.200s\": the name before @ must not start or end with a period or hold two in a row",
			      input);
		return -1;
	}
	struct ers_buf domain = ERS_BUF_INIT;
	if (ers_domain_normalize(at + 1, &domain, err) < 0) {
		ers_buf_free(&domain);
		ers_error_prefix(err, "destination \"%.200s\"", input);
		return -1;
	}
	ers_buf_addf(out, "%.*s@%s", (int)n, input, domain.data);
	ers_buf_free(&domain);
	if (out->len > 254) {
		ers_error_set(err, ERS_E_INVALID, "destination \"%.200s\" must be at most 254 characters", input);
		return -1;
	}
	return 0;
}

int ers_route_lock(struct ers_ctx *ctx, struct ers_error *err)
{
	const char *params[] = { ROUTE_LOCK_KEY };
	return ers_db_run(ctx, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, err);
}

int ers_route_destination(struct ers_ctx *ctx, const char *input, long long tenant_id,
			  struct ers_buf *out, struct ers_route_dest *d, struct ers_error *err)
{
	memset(d, 0, sizeof *d);
	if (ers_forward_destination_normalize(input, out, err) < 0)
		return -1;
	const char *params[] = { strrchr(out->data, '@') + 1 };
	PGresult *res = ers_db_exec(ctx, "SELECT tenant_id FROM ers.domain WHERE name = $1", 1, params, err);
	if (!res)
		return -1;
	d->tenant_id = PQntuples(res) ? ers_db_ll(res, 0, 0) : 0;
	PQclear(res);
	if (!d->tenant_id)
		return 0; /* elsewhere: kept as given */
	/* Hosted here: our own rules for addresses, and what has it. */
	struct ers_buf strict = ERS_BUF_INIT;
	if (ers_address_normalize(out->data, &strict, err) < 0) {
		ers_buf_free(&strict);
		ers_error_prefix(err, "destination");
		return -1;
	}
	ers_buf_reset(out);
	ers_buf_add(out, strict.data, strict.len);
	ers_buf_free(&strict);
	const char *cparams[] = { out->data };
	res = ers_db_exec(ctx,
		"SELECT c.kind, coalesce(m.id, am.id), coalesce(m.role, am.role)"
		" FROM ers.address_claim c LEFT JOIN ers.mailbox m ON c.kind = 'mailbox' AND m.address = c.address"
		" LEFT JOIN ers.alias a ON c.kind = 'alias' AND a.address = c.address"
		" LEFT JOIN ers.mailbox am ON am.id = a.mailbox_id WHERE c.address = $1", 1, cparams, err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		snprintf(d->kind, sizeof d->kind, "%s", ers_db_str(res, 0, 0));
		d->user_id = ers_db_isnull(res, 0, 1) ? 0 : ers_db_ll(res, 0, 1);
		struct ers_error ignored;
		if (d->user_id && ers_role_parse(ers_db_str(res, 0, 2), &d->user_role, &ignored) < 0)
			d->user_role = ERS_ROLE_USER;
	}
	PQclear(res);
	if (d->tenant_id == tenant_id && !d->kind[0]) {
		d->unclaimed = true;
		ers_error_set(err, ERS_E_INVALID,
			      "destination %s is in one of this tenant's domains, but no user, alias or forward has that address (see: ersctl user list, ersctl alias list)",
			      out->data);
		return -1;
	}
	return 0;
}

/* --- the routing graph -------------------------------------------------- */

/* The addresses reached so far, each with the one it was reached from. */
struct node_set {
	char **names;
	int *parent;      /* index, -1 for the start */
	size_t count, cap;
	int *slots;       /* open addressing: index + 1, 0 = empty */
	size_t nslots;    /* a power of two, at least twice count */
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int set_find(const struct node_set *s, const char *name)
{
	if (!s->nslots)
		return -1;
	for (size_t i = hash_name(name) & (s->nslots - 1);; i = (i + 1) & (s->nslots - 1)) {
		if (!s->slots[i])
			return -1;
		if (!strcmp(s->names[s->slots[i] - 1], name))
			return s->slots[i] - 1;
	}
}

static void set_place(struct node_set *s, int index)
{
	size_t i = hash_name(s->names[index]) & (s->nslots - 1);
	while (s->slots[i])
		i = (i + 1) & (s->nslots - 1);
	s->slots[i] = index + 1;
}

static int set_add(struct node_set *s, const char *name, int parent)
{
	if (s->count == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->names = ers_xrealloc(s->names, s->cap * sizeof *s->names);
		s->parent = ers_xrealloc(s->parent, s->cap * sizeof *s->parent);
	}
	if (2 * (s->count + 1) > s->nslots) {
		free(s->slots);
		s->nslots = s->nslots ? 2 * s->nslots : 128;
		s->slots = ers_xcalloc(s->nslots, sizeof *s->slots);
		for (size_t k = 0; k < s->count; k++)
			set_place(s, (int)k);
	}
	int index = (int)s->count++;
	s->names[index] = ers_xstrdup(name);
	s->parent[index] = parent;
	set_place(s, index);
	return index;
}

static void set_free(struct node_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->names[i]);
	free(s->names);
	free(s->parent);
	free(s->slots);
}

/* The edges out of a space-separated list of addresses: an alias to its
 * user, a forward (a catch-all is "@domain") to each destination, and an
 * address nothing has, in a domain with a catch-all, to that catch-all. */
#define EDGES_SQL \
	"WITH n AS (SELECT DISTINCT unnest(string_to_array($1, ' ')) AS node)" \
	" SELECT a.address, m.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id" \
	"  WHERE a.address IN (SELECT node FROM n)" \
	" UNION ALL SELECT f.source, lower(dest) FROM ers.forward f, unnest(f.destinations) dest" \
	"  WHERE f.source IN (SELECT node FROM n)" \
	" UNION ALL SELECT n.node, c.source FROM n JOIN ers.forward c ON c.source = '@' || split_part(n.node, '@', 2)" \
	"  WHERE n.node NOT LIKE '@%' AND NOT EXISTS (SELECT 1 FROM ers.address_claim ac WHERE ac.address = n.node)"

/* The loop as "a -> b -> a"; addresses of tenants the actor does not act
 * for are not named to it. */
static void describe_loop(struct ers_ctx *ctx, const struct ers_actor *actor, const struct node_set *s,
			  int last, struct ers_buf *out)
{
	int path[32]; /* the last hops back to the start; a longer loop is cut short */
	size_t n = 0;
	int i = last;
	for (; i > 0 && n < 31; i = s->parent[i])
		path[n++] = i;
	bool cut = i > 0;
	path[n++] = 0;
	struct ers_buf domains = ERS_BUF_INIT;
	for (size_t k = 0; k < n; k++)
		ers_buf_addf(&domains, "%s%s", k ? " " : "", strrchr(s->names[path[k]], '@') + 1);
	PGresult *res = NULL;
	if (actor->tenant_id) {
		struct ers_error ignored;
		const char *params[] = { domains.data };
		res = ers_db_exec(ctx, "SELECT name, tenant_id FROM ers.domain WHERE name = ANY (string_to_array($1, ' '))",
				  1, params, &ignored);
	}
	for (size_t k = n; k-- > 0;) {
		if (cut && k == n - 2)
			ers_buf_adds(out, "... -> ");
		const char *name = s->names[path[k]];
		bool shown = !actor->tenant_id;
		for (int r = 0; res && r < PQntuples(res); r++)
			if (!strcmp(ers_db_str(res, r, 0), strrchr(name, '@') + 1))
				shown = ers_db_ll(res, r, 1) == actor->tenant_id;
		char display[330];
		source_display(display, sizeof display, name);
		ers_buf_addf(out, "%s -> ", shown ? display : "(an address of another tenant)");
	}
	char start[330];
	source_display(start, sizeof start, s->names[0]);
	ers_buf_adds(out, start);
	PQclear(res);
	ers_buf_free(&domains);
}

static int loop_error(struct ers_ctx *ctx, const struct ers_actor *actor, const struct node_set *set, int last,
		      struct ers_error *err)
{
	struct ers_buf loop = ERS_BUF_INIT;
	describe_loop(ctx, actor, set, last, &loop);
	ers_error_set(err, ERS_E_CONFLICT,
		      "this would make a forwarding loop: %s (mail would go round until it bounces); change or delete one of these aliases or forwards first",
		      loop.data);
	ers_buf_free(&loop);
	return -1;
}

int ers_route_check_loop(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			 const char *const *first, size_t n, struct ers_error *err)
{
	struct node_set set = { 0 };
	set_add(&set, address, -1);
	size_t from = 0;
	int rc = 0;
	if (n) { /* the first step is given: the rows are not written yet */
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (!strcmp(first[i], address))
				rc = loop_error(ctx, actor, &set, 0, err);
			else if (set_find(&set, first[i]) < 0)
				set_add(&set, first[i], 0);
		from = 1;
	}
	/* Breadth first, one query per step, each address once. */
	while (rc == 0 && from < set.count) {
		size_t to = set.count;
		struct ers_buf frontier = ERS_BUF_INIT;
		for (size_t i = from; i < to; i++)
			ers_buf_addf(&frontier, "%s%s", i > from ? " " : "", set.names[i]);
		const char *params[] = { frontier.data };
		PGresult *res = ers_db_exec(ctx, EDGES_SQL, 1, params, err);
		ers_buf_free(&frontier);
		if (!res) {
			rc = -1;
			break;
		}
		for (int r = 0; r < PQntuples(res); r++) {
			const char *src = ers_db_str(res, r, 0), *dst = ers_db_str(res, r, 1);
			int parent = set_find(&set, src);
			if (parent < 0)
				ERS_BUG("an edge from an address not asked for");
			if (!strcmp(dst, address)) {
				rc = loop_error(ctx, actor, &set, parent, err);
				break;
			}
			if (strchr(dst, '@') && set_find(&set, dst) < 0)
				set_add(&set, dst, parent);
		}
		PQclear(res);
		from = to;
	}
	set_free(&set);
	return rc;
}

/* --- forwards ------------------------------------------------------------ */

static void fill_forward(struct ers_forward *f, const PGresult *res, int r)
{
	char display[330];
	f->id = ers_db_ll(res, r, 0);
	source_display(display, sizeof display, ers_db_str(res, r, 1));
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
		source_display(display, sizeof display, source);
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
	source_display(display, sizeof display, source);
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
	source_display(display, sizeof display, source.data);
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
	source_display(display, sizeof display, source.data);
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
