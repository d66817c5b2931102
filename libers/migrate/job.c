/* IMAP migration jobs in ers.migration: start (policy, input, the sealed
 * password), resume, cancel, show and list.  The copying is run.c's. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "migrate/internal.h"
#include "ers/names.h"
#include "ers/seal.h"

#define JOB_COLUMNS                                                                                          \
	"g.id, g.tenant_id, g.mailbox_id, m.address, g.source_host, g.source_port, g.source_tls, g.source_user, " \
	"g.state, g.error, g.created_by, coalesce(g.worker_pid, 0), " ERS_SQL_TIME("g.created_at") ", "           \
	ERS_SQL_TIME("g.started_at") ", " ERS_SQL_TIME("g.finished_at") ", g.report::text, m.role, "             \
	"g.source_password"
#define JOB_FROM " FROM ers.migration g JOIN ers.mailbox m ON m.id = g.mailbox_id "

static char *opt_strdup(const PGresult *r, int row, int col)
{
	return ers_db_isnull(r, row, col) ? NULL : ers_xstrdup(ers_db_str(r, row, col));
}

static void parse_report(struct ers_migrate_job *j, const char *text)
{
	json_t *a = json_loads(text, 0, NULL);
	size_t n = json_is_array(a) ? json_array_size(a) : 0;
	j->folders = n ? ers_xcalloc(n, sizeof *j->folders) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		struct ers_migrate_folder *f = &j->folders[j->nfolders++];
		const char *s;
		f->folder = ers_xstrdup((s = json_string_value(json_object_get(o, "folder"))) ? s : "");
		f->to = ers_xstrdup((s = json_string_value(json_object_get(o, "to"))) ? s : "");
		f->error = (s = json_string_value(json_object_get(o, "error"))) ? ers_xstrdup(s) : NULL;
		f->found = json_integer_value(json_object_get(o, "found"));
		f->found_bytes = json_integer_value(json_object_get(o, "found_bytes"));
		f->copied = json_integer_value(json_object_get(o, "copied"));
		f->copied_bytes = json_integer_value(json_object_get(o, "copied_bytes"));
		f->skipped = json_integer_value(json_object_get(o, "skipped"));
		f->failed = json_integer_value(json_object_get(o, "failed"));
	}
	json_decref(a);
}

char *mg_report_json(const struct ers_migrate_folder *f, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "folder", f[i].folder, "to",
						   f[i].to, "found", (json_int_t)f[i].found, "found_bytes",
						   (json_int_t)f[i].found_bytes, "copied", (json_int_t)f[i].copied,
						   "copied_bytes", (json_int_t)f[i].copied_bytes, "skipped",
						   (json_int_t)f[i].skipped, "failed", (json_int_t)f[i].failed, "error",
						   f[i].error ? json_string(f[i].error) : json_null()));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* Whether the worker runs: a killed one whose parent has not reaped it yet
 * (state Z in /proc) counts as gone. */
static bool worker_alive(int pid)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true; /* no /proc: trust kill() */
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')');
	return !(close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z');
}

static struct ers_migrate_job *job_from_row(const PGresult *r, int row)
{
	struct ers_migrate_job *j = ers_xcalloc(1, sizeof *j);
	j->id = ers_db_ll(r, row, 0);
	j->tenant_id = ers_db_ll(r, row, 1);
	j->mailbox_id = ers_db_ll(r, row, 2);
	j->address = ers_xstrdup(ers_db_str(r, row, 3));
	j->source_host = ers_xstrdup(ers_db_str(r, row, 4));
	j->source_port = (int)ers_db_ll(r, row, 5);
	j->source_tls = ers_xstrdup(ers_db_str(r, row, 6));
	j->source_user = ers_xstrdup(ers_db_str(r, row, 7));
	j->state = ers_xstrdup(ers_db_str(r, row, 8));
	j->error = opt_strdup(r, row, 9);
	j->created_by = ers_xstrdup(ers_db_str(r, row, 10));
	j->worker_pid = (int)ers_db_ll(r, row, 11);
	snprintf(j->created_at, sizeof j->created_at, "%s", ers_db_str(r, row, 12));
	snprintf(j->started_at, sizeof j->started_at, "%s", ers_db_str(r, row, 13));
	snprintf(j->finished_at, sizeof j->finished_at, "%s", ers_db_str(r, row, 14));
	parse_report(j, ers_db_str(r, row, 15));
	/* A worker killed (kill -9, a reboot) leaves "running" behind. */
	j->interrupted = !strcmp(j->state, "running") && !worker_alive(j->worker_pid);
	return j;
}

struct ers_migrate_job *mg_job_load(struct ers_ctx *ctx, long long id, char **sealed_r, struct ers_error *err)
{
	struct ers_num n = ers_num(id);
	const char *p[] = { n.s };
	PGresult *r = ers_db_exec(ctx, "SELECT " JOB_COLUMNS JOB_FROM "WHERE g.id = $1::bigint", 1, p, err);
	if (!r)
		return NULL;
	if (PQntuples(r) == 0) {
		PQclear(r);
		ers_error_set(err, ERS_E_NOTFOUND, "no migration %lld (see: ersctl migrate list)", id);
		return NULL;
	}
	struct ers_migrate_job *j = job_from_row(r, 0);
	if (sealed_r)
		*sealed_r = opt_strdup(r, 0, 17);
	PQclear(r);
	return j;
}

/* The job, after the policy allowed `what` on its mailbox. */
static struct ers_migrate_job *job_for(struct ers_ctx *ctx, const struct ers_actor *actor, long long id,
				       struct ers_error *err)
{
	struct ers_num n = ers_num(id);
	const char *p[] = { n.s };
	PGresult *r = ers_db_exec(ctx, "SELECT " JOB_COLUMNS JOB_FROM "WHERE g.id = $1::bigint", 1, p, err);
	if (!r)
		return NULL;
	char desc[64];
	snprintf(desc, sizeof desc, "migration %lld", id);
	if (PQntuples(r) == 0) {
		PQclear(r);
		ers_error_set(err, ERS_E_NOTFOUND, "no migration %lld (see: ersctl migrate list)", id);
		struct ers_authz_target where = { .is_user = true };
		ers_authz_missing(ctx, actor, ERS_ACT_MIGRATE, &where, desc, err);
		return NULL;
	}
	struct ers_authz_target t = { .tenant_id = ers_db_ll(r, 0, 1), .user_id = ers_db_ll(r, 0, 2), .is_user = true,
				      .user_role = ers_role_from_db(ers_db_str(r, 0, 16)) };
	if (ers_authz_require(ctx, actor, ERS_ACT_MIGRATE, &t, desc, err) < 0) {
		PQclear(r);
		return NULL;
	}
	struct ers_migrate_job *j = job_from_row(r, 0);
	PQclear(r);
	return j;
}

static int check_text(const char *what, const char *s, size_t max, struct ers_error *err)
{
	if (!s || !*s) {
		ers_error_set(err, ERS_E_INVALID, "%s is required", what);
		return -1;
	}
	if (strlen(s) > max || strpbrk(s, "\r\n\"\\")) {
		ers_error_set(err, ERS_E_INVALID, "%s must be at most %zu characters, without quotes, backslashes or line "
			      "breaks", what, max);
		return -1;
	}
	return 0;
}

static int check_spec(const struct ers_migrate_spec *s, const char **tls_r, int *port_r, struct ers_error *err)
{
	const char *tls = s->tls ? s->tls : "implicit";
	if (strcmp(tls, "implicit") && strcmp(tls, "starttls") && strcmp(tls, "none")) {
		ers_error_set(err, ERS_E_INVALID, "--tls must be implicit, starttls or none, got \"%.40s\"", tls);
		return -1;
	}
	if (s->port < 0 || s->port > 65535) {
		ers_error_set(err, ERS_E_INVALID, "the port must be 1..65535, got %d", s->port);
		return -1;
	}
	if (check_text("the source server", s->host, 253, err) < 0 || check_text("the source username", s->user, 320, err) < 0)
		return -1;
	if (strspn(s->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != strlen(s->host)) {
		ers_error_set(err, ERS_E_INVALID, "the source server must be a host name or an IP address, got \"%.80s\"",
			      s->host);
		return -1;
	}
	if (!s->password || !*s->password || strpbrk(s->password, "\r\n") || strlen(s->password) > 1000) {
		ers_error_set(err, ERS_E_INVALID, "the source password must be 1..1000 characters without line breaks");
		return -1;
	}
	for (size_t i = 0; i < s->nfolders; i++)
		if (check_text("a folder name", s->folders[i], 1000, err) < 0)
			return -1;
	*tls_r = tls;
	*port_r = s->port ? s->port : !strcmp(tls, "implicit") ? 993 : 143;
	return 0;
}

/* mailstack.migrate_sources, when the operator set it: the source must be
 * one of those hosts (names compared without case). */
static int check_source_allowed(const struct ers_config *cfg, const char *host, struct ers_error *err)
{
	const char *list = cfg->mailstack.migrate_sources;
	if (!list || !*list)
		return 0;
	size_t n = strlen(host);
	for (const char *p = list; *p;) {
		p += strspn(p, " ,\t");
		size_t len = strcspn(p, " ,\t");
		if (len == n && !strncasecmp(p, host, n))
			return 0;
		p += len;
	}
	ers_error_set(err, ERS_E_INVALID, "%s is not an approved migration source; the operator allows: %s "
		      "(mailstack.migrate_sources in ers.yaml)", host, list);
	return -1;
}

int ers_migrate_start(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_migrate_spec *spec,
		      long long *id_r, struct ers_error *err)
{
	struct ers_buf addr = ERS_BUF_INIT;
	if (ers_address_normalize(spec->address ? spec->address : "", &addr, err) < 0) {
		ers_buf_free(&addr);
		return -1;
	}
	const char *p1[] = { addr.data };
	PGresult *r = ers_db_exec(ctx, "SELECT m.id, m.tenant_id, m.role, t.name FROM ers.mailbox m "
				       "JOIN ers.tenant t ON t.id = m.tenant_id WHERE m.address = $1", 1, p1, err);
	if (!r) {
		ers_buf_free(&addr);
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", addr.data);
		long long dt = 0, did = 0;
		struct ers_error ignored;
		const char *at = strrchr(addr.data, '@');
		if (at)
			ers_domain_lookup(ctx, at + 1, &dt, &did, &ignored);
		struct ers_authz_target where = { .tenant_id = dt, .is_user = true };
		ers_authz_missing(ctx, actor, ERS_ACT_MIGRATE, &where, addr.data, err);
		ers_buf_free(&addr);
		return -1;
	}
	long long mid = ers_db_ll(r, 0, 0), tid = ers_db_ll(r, 0, 1);
	char *tname = ers_xstrdup(ers_db_str(r, 0, 3));
	struct ers_authz_target t = { .tenant_id = tid, .user_id = mid, .is_user = true,
				      .user_role = ers_role_from_db(ers_db_str(r, 0, 2)) };
	PQclear(r);
	const char *tls;
	int port, rc = -1;
	struct ers_buf sealed = ERS_BUF_INIT, folders = ERS_BUF_INIT;
	if (ers_authz_require(ctx, actor, ERS_ACT_MIGRATE, &t, addr.data, err) < 0 || check_spec(spec, &tls, &port, err) < 0 ||
	    check_source_allowed(ctx->cfg, spec->host, err) < 0)
		goto out;
	/* The folders as a PostgreSQL array literal (names hold no quote or backslash). */
	if (spec->nfolders) {
		ers_buf_addch(&folders, '{');
		for (size_t i = 0; i < spec->nfolders; i++)
			ers_buf_addf(&folders, "%s\"%s\"", i ? "," : "", spec->folders[i]);
		ers_buf_addch(&folders, '}');
	}
	struct ers_num m = ers_num(mid), tn = ers_num(tid), pn = ers_num(port);
	const char *p2[] = { tn.s, m.s, spec->host, pn.s, tls, spec->user, spec->nfolders ? folders.data : NULL, actor->name };
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	r = ers_db_exec(ctx, "INSERT INTO ers.migration (tenant_id, mailbox_id, source_host, source_port, source_tls, "
			     "source_user, folders, created_by) VALUES ($1::bigint, $2::bigint, $3, $4::integer, $5, $6, "
			     "$7::text[], $8) RETURNING id", 8, p2, err);
	if (!r) {
		if (err->code == ERS_E_CONFLICT)
			ers_error_set(err, ERS_E_CONFLICT, "a migration into %s is already queued or running "
				      "(see: ersctl migrate list %s)", addr.data, addr.data);
		ers_db_rollback(ctx);
		goto out;
	}
	long long id = ers_db_ll(r, 0, 0);
	PQclear(r);
	char context[64];
	snprintf(context, sizeof context, "migrate-password:%lld", id);
	struct ers_num in = ers_num(id);
	if (ers_seal(&ctx->cfg->secrets, context, spec->password, strlen(spec->password), &sealed, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	const char *p3[] = { in.s, sealed.data };
	char detail[600];
	snprintf(detail, sizeof detail, "from %s@%s:%d (%s)", spec->user, spec->host, port, tls);
	if (ers_db_run(ctx, "UPDATE ers.migration SET source_password = $2 WHERE id = $1::bigint", 2, p3, err) < 0) {
		ers_db_rollback(ctx);
		goto out;
	}
	if (ers_db_commit_audited(ctx, actor, "migrate.start", addr.data, tid, tname, detail, err) < 0)
		goto out;
	*id_r = id;
	rc = 0;
out:
	free(tname);
	ers_buf_free(&addr);
	ers_buf_free(&folders);
	ers_buf_free_secret(&sealed);
	return rc;
}

static int set_state(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_migrate_job *j,
		     const char *action, const char *sql, struct ers_error *err)
{
	struct ers_num n = ers_num(j->id);
	const char *p[] = { n.s };
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_db_run(ctx, sql, 1, p, err) < 0) {
		ers_db_rollback(ctx);
		return -1;
	}
	char detail[64];
	snprintf(detail, sizeof detail, "migration %lld", j->id);
	return ers_db_commit_audited(ctx, actor, action, j->address, j->tenant_id, NULL, detail, err);
}

int ers_migrate_resume(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_migrate_job *j = job_for(ctx, actor, id, err);
	if (!j)
		return -1;
	int rc = -1;
	if (!strcmp(j->state, "queued") || j->interrupted)
		rc = set_state(ctx, actor, j, "migrate.resume",
			       "UPDATE ers.migration SET state = 'queued', worker_pid = NULL WHERE id = $1::bigint", err);
	else
		ers_error_set(err, ERS_E_CONFLICT, "migration %lld is %s: only a queued or interrupted one resumes", id,
			      j->state);
	ers_migrate_job_free(j);
	return rc;
}

int ers_migrate_cancel(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err)
{
	struct ers_migrate_job *j = job_for(ctx, actor, id, err);
	if (!j)
		return -1;
	int rc = -1;
	if (strcmp(j->state, "queued") && strcmp(j->state, "running")) {
		ers_error_set(err, ERS_E_CONFLICT, "migration %lld is already %s", id, j->state);
	} else {
		rc = set_state(ctx, actor, j, "migrate.cancel",
			       "UPDATE ers.migration SET state = 'cancelled', source_password = NULL, finished_at = now(), "
			       "error = 'cancelled' WHERE id = $1::bigint", err);
		/* The worker leads its own process group: doveadm stops with it. */
		if (rc == 0 && j->worker_pid > 0 && !j->interrupted)
			kill(-j->worker_pid, SIGTERM);
	}
	ers_migrate_job_free(j);
	return rc;
}

int ers_migrate_show(struct ers_ctx *ctx, const struct ers_actor *actor, long long id,
		     struct ers_migrate_job **job_r, struct ers_error *err)
{
	*job_r = job_for(ctx, actor, id, err);
	return *job_r ? 0 : -1;
}

int ers_migrate_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_migrate_list **list_r, struct ers_error *err)
{
	struct ers_list_scope scope;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_MIGRATE, NULL, "migrations", &scope, err) < 0)
		return -1;
	struct ers_num t = ers_num(scope.tenant_id), self = ers_num(scope.self_only ? actor->user_id : 0);
	const char *p[] = { t.s, self.s, scope.regular_only ? "user" : NULL, address };
	PGresult *r = ers_db_exec(ctx, "SELECT " JOB_COLUMNS JOB_FROM
				       "WHERE ($1::bigint = 0 OR g.tenant_id = $1::bigint) "
				       "AND ($2::bigint = 0 OR g.mailbox_id = $2::bigint) "
				       "AND ($3::text IS NULL OR m.role = $3) AND ($4::text IS NULL OR m.address = lower($4)) "
				       "ORDER BY g.id DESC", 4, p, err);
	if (!r)
		return -1;
	struct ers_migrate_list *l = ers_xcalloc(1, sizeof *l);
	l->n = (size_t)PQntuples(r);
	l->items = l->n ? ers_xcalloc(l->n, sizeof *l->items) : NULL;
	for (size_t i = 0; i < l->n; i++) {
		struct ers_migrate_job *j = job_from_row(r, (int)i);
		l->items[i] = *j;
		free(j);
	}
	PQclear(r);
	*list_r = l;
	return 0;
}

static void job_clear(struct ers_migrate_job *j)
{
	free(j->address), free(j->source_host), free(j->source_tls), free(j->source_user);
	free(j->state), free(j->error), free(j->created_by);
	for (size_t i = 0; i < j->nfolders; i++)
		free(j->folders[i].folder), free(j->folders[i].to), free(j->folders[i].error);
	free(j->folders);
}

void ers_migrate_job_free(struct ers_migrate_job *j)
{
	if (!j)
		return;
	job_clear(j);
	free(j);
}

void ers_migrate_list_free(struct ers_migrate_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		job_clear(&l->items[i]);
	free(l->items);
	free(l);
}

int ers_migrate_may(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, struct ers_error *err)
{
	struct ers_mailbox_ref ref;
	return ers_mailbox_for(ctx, actor, address, ERS_ACT_MIGRATE, false, NULL, &ref, NULL, err);
}
