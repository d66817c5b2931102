/* The routing graph of aliases and forwards: who holds an address (the
 * address claim), where a destination leads, the one lock that serialises
 * route changes, and the loop check no change may fail.  Used by users,
 * aliases, forwards and tenants' hidden copies alike, so it is a module of
 * its own below them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "accounts/internal.h"

/* How people write a stored source: "@domain" is the catch-all "*@domain". */
void ers_source_display(char *dst, size_t cap, const char *source)
{
	snprintf(dst, cap, "%s%s", source[0] == '@' ? "*" : "", source);
}

/* Any constant will do: every alias and forward change takes this one lock. */
#define ROUTE_LOCK_KEY "4995443918405326917"

int ers_address_claim(struct ers_ctx *ctx, const char *address, long long tenant_id,
		      long long domain_id, const char *kind, struct ers_error *err)
{
	struct ers_num tid = ers_num(tenant_id), did = ers_num(domain_id);
	const char *params[] = { address, tid.s, did.s, kind };
	PGresult *res = ers_db_exec(ctx,
		"INSERT INTO ers.address_claim (address, tenant_id, domain_id, kind) VALUES ($1, $2::bigint, $3::bigint, $4)"
		" ON CONFLICT (address) DO NOTHING RETURNING 1", 4, params, err);
	if (!res)
		return -1;
	bool claimed = PQntuples(res) == 1;
	PQclear(res);
	if (claimed)
		return 0;
	res = ers_db_exec(ctx, "SELECT kind FROM ers.address_claim WHERE address = $1", 1, params, err);
	if (!res)
		return -1;
	ers_error_set(err, ERS_E_CONFLICT, "address %s is already used by %s %s", address,
		      PQntuples(res) && !strcmp(ers_db_str(res, 0, 0), "alias") ? "an" : "a",
		      PQntuples(res) ? ers_db_str(res, 0, 0) : "another address");
	PQclear(res);
	return -1;
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
		ers_source_display(display, sizeof display, name);
		ers_buf_addf(out, "%s -> ", shown ? display : "(an address of another tenant)");
	}
	char start[330];
	ers_source_display(start, sizeof start, s->names[0]);
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
