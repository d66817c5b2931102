/* ersctl migrate: IMAP migrations into a mailbox (ers/migrate.h).  `start`
 * records the job and runs it in a detached worker process (or with
 * --wait, here); the worker opens its own database connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

static int parse_id(struct cli *c, long long *id)
{
	return ers_int_parse(c->args[0], "migration ID", 1, 9007199254740991LL, id, &c->err);
}

static json_t *job_json(const struct ers_migrate_job *j)
{
	json_t *folders = json_array();
	for (size_t i = 0; i < j->nfolders; i++) {
		const struct ers_migrate_folder *f = &j->folders[i];
		json_array_append_new(folders, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "folder", f->folder, "to",
							 f->to, "found", (json_int_t)f->found, "found_bytes",
							 (json_int_t)f->found_bytes, "copied", (json_int_t)f->copied,
							 "copied_bytes", (json_int_t)f->copied_bytes, "skipped",
							 (json_int_t)f->skipped, "failed", (json_int_t)f->failed, "error",
							 json_str_or_null(f->error)));
	}
	return json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:b,s:o,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)j->id,
			 "address", j->address, "source_host", j->source_host, "source_port", j->source_port,
			 "tls", j->source_tls, "source_user", j->source_user, "state", j->state, "interrupted",
			 j->interrupted, "error", json_str_or_null(j->error), "created_by", j->created_by, "created_at",
			 json_str_or_null(j->created_at[0] ? j->created_at : NULL), "started_at",
			 json_str_or_null(j->started_at[0] ? j->started_at : NULL), "finished_at",
			 json_str_or_null(j->finished_at[0] ? j->finished_at : NULL), "folders", folders);
}

static const char *state_word(const struct ers_migrate_job *j)
{
	return j->interrupted ? "interrupted" : j->state;
}

static void print_job(struct cli *c, const struct ers_migrate_job *j)
{
	if (c->json) {
		out_json(c, job_json(j));
		return;
	}
	printf("migration %lld into %s from %s@%s:%d (%s): %s%s%s\n", j->id, j->address, j->source_user,
	       j->source_host, j->source_port, j->source_tls, state_word(j), j->error ? ": " : "",
	       j->error ? j->error : "");
	if (!j->nfolders)
		return;
	struct table t;
	const char *head[] = { "folder", "to", "found", "copied", "skipped", "failed", "why" };
	table_init(&t, 7, head);
	for (size_t i = 0; i < j->nfolders; i++) {
		const struct ers_migrate_folder *f = &j->folders[i];
		char found[32], copied[32], skipped[24], failed[24];
		snprintf(found, sizeof found, "%lld", f->found);
		snprintf(copied, sizeof copied, "%lld", f->copied);
		snprintf(skipped, sizeof skipped, "%lld", f->skipped);
		snprintf(failed, sizeof failed, "%lld", f->failed);
		table_row(&t, f->folder, f->to, found, copied, skipped, failed, f->error ? f->error : "");
	}
	table_print(&t);
}

/* Runs the job in a grandchild in its own session, so that it outlives
 * this command and `migrate cancel` can signal its process group. */
static int spawn_worker(struct cli *c, long long id)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		ers_error_set(&c->err, ERS_E_INTERNAL, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (setsid() < 0 || fork() != 0)
			_exit(0);
		/* Its own process group, whose id is the pid recorded: cancel signals it. */
		setpgid(0, 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0)
			dup2(null, 0), dup2(null, 1), dup2(null, 2);
		/* A connection of its own: the parent's belongs to the parent. */
		struct ers_ctx *ctx;
		struct ers_error err;
		if (ers_ctx_open(c->cfg, 0, &ctx, &err) == 0) {
			ers_migrate_run(ctx, id, &err);
			ers_ctx_free(ctx);
		}
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}

static int run_or_spawn(struct cli *c, long long id)
{
	if (!cli_flag(c, "wait"))
		return spawn_worker(c, id);
	if (ers_migrate_run(c->ctx, id, &c->err) < 0)
		return -1;
	struct ers_migrate_job *j;
	if (ers_migrate_show(c->ctx, &c->actor, id, &j, &c->err) < 0)
		return -1;
	print_job(c, j);
	int failed = strcmp(j->state, "done") != 0;
	if (failed)
		ers_error_set(&c->err, ERS_E_UNAVAILABLE, "migration %lld %s: %s", id, j->state,
			      j->error ? j->error : "see its report");
	ers_migrate_job_free(j);
	return failed ? -1 : 0;
}

int cmd_migrate_start(struct cli *c)
{
	struct ers_buf pw = ERS_BUF_INIT;
	const char *folders[64];
	long long port = 0;
	struct ers_migrate_spec s = { .address = c->args[0], .host = cli_opt(c, "from-host"), .tls = cli_opt(c, "tls"),
				      .user = cli_opt(c, "from-user"), .folders = folders };
	s.nfolders = cli_opt_all(c, "folder", folders, 64);
	if ((cli_opt(c, "from-port") && cli_opt_int(c, "from-port", 1, 65535, &port) < 0) ||
	    cli_read_secret_file(c, "from-password-file", &pw) < 0) {
		ers_buf_free_secret(&pw);
		return -1;
	}
	s.port = (int)port;
	s.password = pw.data;
	long long id;
	int rc = ers_migrate_start(c->ctx, &c->actor, &s, &id, &c->err);
	ers_buf_free_secret(&pw);
	if (rc < 0)
		return -1;
	if (!cli_flag(c, "wait")) {
		if (c->json)
			out_json(c, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", "queued"));
		else
			out_note(c, "migration %lld started in the background (see: ersctl migrate status %lld)", id, id);
	}
	return run_or_spawn(c, id);
}

int cmd_migrate_resume(struct cli *c)
{
	long long id;
	if (parse_id(c, &id) < 0 || ers_migrate_resume(c->ctx, &c->actor, id, &c->err) < 0)
		return -1;
	if (!cli_flag(c, "wait"))
		out_note(c, "migration %lld resumed in the background", id);
	return run_or_spawn(c, id);
}

int cmd_migrate_status(struct cli *c)
{
	long long id;
	struct ers_migrate_job *j;
	if (parse_id(c, &id) < 0 || ers_migrate_show(c->ctx, &c->actor, id, &j, &c->err) < 0)
		return -1;
	print_job(c, j);
	ers_migrate_job_free(j);
	return 0;
}

int cmd_migrate_cancel(struct cli *c)
{
	long long id;
	if (parse_id(c, &id) < 0 || ers_migrate_cancel(c->ctx, &c->actor, id, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", "cancelled"));
	else
		out_note(c, "migration %lld cancelled", id);
	return 0;
}

int cmd_migrate_list(struct cli *c)
{
	struct ers_migrate_list *l;
	if (ers_migrate_list(c->ctx, &c->actor, c->nargs ? c->args[0] : NULL, &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, job_json(&l->items[i]));
		out_json(c, a);
	} else {
		struct table t;
		const char *head[] = { "id", "mailbox", "source", "state", "copied", "failed" };
		table_init(&t, 6, head);
		for (size_t i = 0; i < l->n; i++) {
			const struct ers_migrate_job *j = &l->items[i];
			long long copied = 0, failed = 0;
			for (size_t k = 0; k < j->nfolders; k++)
				copied += j->folders[k].copied, failed += j->folders[k].failed;
			char id[24], src[600], cp[24], fl[24];
			snprintf(id, sizeof id, "%lld", j->id);
			snprintf(src, sizeof src, "%.250s@%.250s:%d", j->source_user, j->source_host, j->source_port);
			snprintf(cp, sizeof cp, "%lld", copied);
			snprintf(fl, sizeof fl, "%lld", failed);
			table_row(&t, id, j->address, src, state_word(j), cp, fl);
		}
		table_print(&t);
	}
	ers_migrate_list_free(l);
	return 0;
}

/* For a timer or cron (operators): every queued job, one after another, in
 * this process -- the webmail queues jobs but cannot start doveadm.  A job
 * another worker claimed first is left to it. */
int cmd_migrate_run_queued(struct cli *c)
{
	long long *ids;
	size_t n, taken = 0, failed = 0;
	if (c->actor.role != ERS_ROLE_OPERATOR) {
		ers_error_set(&c->err, ERS_E_PERMISSION, "migrate run-queued runs other users' jobs: operators only, without --as");
		return -1;
	}
	if (ers_migrate_queued(c->ctx, &ids, &n, &c->err) < 0)
		return -1;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct ers_error e;
		if (ers_migrate_run(c->ctx, ids[i], &e) < 0) {
			if (e.code == ERS_E_CONFLICT) {
				taken++;
				continue;
			}
			failed++;
			fprintf(stderr, "ersctl: migrate run-queued: migration %lld: %s\n", ids[i], e.message);
			continue;
		}
		struct ers_migrate_job *j;
		if (ers_migrate_show(c->ctx, &c->actor, ids[i], &j, &e) == 0) {
			json_array_append_new(arr, json_pack("{s:I,s:s}", "id", (json_int_t)ids[i], "state", j->state));
			if (!c->json)
				out_note(c, "migration %lld into %s: %s", ids[i], j->address, j->state);
			ers_migrate_job_free(j);
		}
	}
	free(ids);
	if (c->json)
		out_json(c, json_pack("{s:o,s:I}", "ran", arr, "left_to_other_workers", (json_int_t)taken));
	else if (!n)
		out_note(c, "no migration is queued");
	else
		json_decref(arr);
	if (failed) {
		ers_error_set(&c->err, ERS_E_UNAVAILABLE, "%zu of %zu queued migrations could not run (above)", failed, n);
		return -1;
	}
	return 0;
}
