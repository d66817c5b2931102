/* IMAP migration into a mailbox (manual 002 "IMAP Migration"): copies a
 * source server's folders with Dovecot's own doveadm over imapc, keeping
 * the folder structure (special-use folders land in ours: Sent, Drafts,
 * Trash, Junk), never overwriting, adding only messages not already there
 * (the same Message-ID, date and size), so a second run or a resumed one
 * copies nothing twice.  The source password is sealed while the job may
 * run and dropped when it ends. */
#ifndef ERS_MIGRATE_H
#define ERS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

struct ers_migrate_spec {
	const char *address;        /* the mailbox migrated into */
	const char *host;
	int port;                   /* 0: 993 (implicit), 143 (starttls, none) */
	const char *tls;            /* implicit (default), starttls, none */
	const char *user;
	const char *password;
	const char *const *folders; /* NULL/0: every folder */
	size_t nfolders;
};

struct ers_migrate_folder {
	char *folder, *to, *error;  /* the source's name, ours, why some failed (NULL: none) */
	long long found, found_bytes, copied, copied_bytes, skipped, failed;
};

struct ers_migrate_job {
	long long id, tenant_id, mailbox_id;
	char *address, *source_host, *source_tls, *source_user, *state, *error, *created_by;
	int source_port, worker_pid;
	bool interrupted;           /* "running" but its worker is gone: `migrate resume` */
	char created_at[40], started_at[40], finished_at[40];
	struct ers_migrate_folder *folders;
	size_t nfolders;
};

struct ers_migrate_list {
	struct ers_migrate_job *items;
	size_t n;
};

/* Checks the policy and the input, seals the password and records a
 * queued job (one audit row); the caller then runs it (ers_migrate_run),
 * in the background or not. */
int ers_migrate_start(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_migrate_spec *spec,
		      long long *id_r, struct ers_error *err);
/* Whether the actor may migrate into `address` (the policy's answer, a
 * refusal audited): for a front showing the form before anything is sent. */
int ers_migrate_may(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, struct ers_error *err);
/* A queued or interrupted job again (one audit row). */
int ers_migrate_resume(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err);
/* Runs job `id` to its end in this process: the worker.  Its outcome is in
 * the job's state and report; -1 only when it could not run at all. */
int ers_migrate_run(struct ers_ctx *ctx, long long id, struct ers_error *err);
/* The jobs waiting for a worker, oldest first: those queued from the
 * webmail, which cannot start one (`ersctl migrate run-queued` from a
 * timer runs them), and any whose worker never started. */
int ers_migrate_queued(struct ers_ctx *ctx, long long **ids_r, size_t *n_r, struct ers_error *err);
/* Stops a queued or running job (its worker gets SIGTERM); one audit row. */
int ers_migrate_cancel(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err);
int ers_migrate_show(struct ers_ctx *ctx, const struct ers_actor *actor, long long id,
		     struct ers_migrate_job **job_r, struct ers_error *err);
/* The jobs the actor may see, newest first; `address` (NULL: all) narrows. */
int ers_migrate_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_migrate_list **list_r, struct ers_error *err);
void ers_migrate_job_free(struct ers_migrate_job *job);
void ers_migrate_list_free(struct ers_migrate_list *list);

#endif
