/* A working context: the configuration and one database connection. */
#ifndef ERS_CTX_H
#define ERS_CTX_H

#include <stdbool.h>
#include "config.h"
#include "error.h"

struct ers_ctx;

enum {
	/* Open even when the schema is missing or newer (db migrate / status). */
	ERS_CTX_NO_SCHEMA_CHECK = 1 << 0,
};

/* Connects to the database named in `cfg` (which the context borrows) and,
 * unless told otherwise, refuses a schema that is not exactly current. */
int ers_ctx_open(const struct ers_config *cfg, unsigned flags, struct ers_ctx **ctx_r,
		 struct ers_error *err);
void ers_ctx_free(struct ers_ctx *ctx);
/* Between two requests of a long-lived front (the webmail's FastCGI
 * workers): ends a transaction left open and forgets the warning; false
 * when the connection is no longer usable (free it, open another). */
bool ers_ctx_settle(struct ers_ctx *ctx);
const struct ers_config *ers_ctx_config(const struct ers_ctx *ctx);
/* After a successful call: a follow-up step that failed although the change
 * itself committed (say, Dovecot's auth cache not flushed), or what the
 * change left for the person to know (a tenant over its new limit), else
 * NULL.  Cleared by the next call that warns. */
const char *ers_ctx_warning(const struct ers_ctx *ctx);
void ers_ctx_clear_warning(struct ers_ctx *ctx);

#endif
