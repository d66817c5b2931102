/* libers/migrate: what its files share. */
#ifndef ERS_MIGRATE_INTERNAL_H
#define ERS_MIGRATE_INTERNAL_H

#include <libpq-fe.h>
#include "core/internal.h"
#include "ers/imap.h"
#include "ers/migrate.h"

/* job.c: the job with this id (its report parsed), NULL with err set. */
struct ers_migrate_job *mg_job_load(struct ers_ctx *ctx, long long id, char **sealed_r, struct ers_error *err);
/* job.c: the report as JSON text for the report column. */
char *mg_report_json(const struct ers_migrate_folder *f, size_t n);

/* doveadm.c: runs doveadm with `conf` (-c) and `args`; its standard output
 * into `out` (may be NULL), the last "Error:" line of its standard error
 * into `why` (may be NULL).  Returns its exit status, or -1 when it could
 * not run. */
int mg_doveadm(const char *conf, const char *const *args, struct ers_buf *out, struct ers_buf *why);
/* The same with `in` (at most 60,000 bytes) on its standard input. */
int mg_doveadm_input(const char *conf, const char *const *args, const struct ers_buf *in, struct ers_buf *out,
		     struct ers_buf *why);

#endif
