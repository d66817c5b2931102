/* The mail servers' side of ERS: their configuration rendered from ers.yaml,
 * the database grants they need, a health check of a running stack, the
 * removal of deleted mailboxes' mail, and Dovecot's auth cache flush. */
#ifndef ERS_MAILSTACK_H
#define ERS_MAILSTACK_H

#include <stdbool.h>
#include "actor.h"
#include "buf.h"
#include "config.h"
#include "ctx.h"
#include "error.h"

/* Writes Postfix's main.cf, master.cf and pgsql map files into postfix_dir
 * and Dovecot's configuration into dovecot_dir (either may be NULL), each
 * file replaced atomically.  The paths written go to `written_r`, one per
 * line.  Files holding a secret or a hash are mode 0640, group dovecot. */
int ers_mailstack_render(const struct ers_config *cfg, const char *postfix_dir,
			 const char *dovecot_dir, struct ers_buf *written_r, struct ers_error *err);

/* Grants the mail role SELECT on schema ers_mail (now and for views later
 * migrations add) and the quota role its table; nothing else. */
int ers_mailstack_grant(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_error *err);

/* One component's answer in `ersctl mailstack check`. */
struct ers_check_item {
	char component[32];   /* "postgresql", "postfix", "dovecot", "policyd" */
	char what[128];       /* "lookup virtual_alias_maps", "port 25" */
	bool ok;
	char detail[300];
};
struct ers_check_report {
	struct ers_check_item *items;
	size_t n, cap;
	bool all_ok;
};
/* Checks a running stack: each lookup the servers make answers as the mail
 * role, the ports listen and greet, Dovecot's passdb answers a probe login,
 * the policy service answers.  Fails only when it cannot run at all. */
int ers_mailstack_check(const struct ers_config *cfg, struct ers_check_report *report_r,
			struct ers_error *err);
void ers_check_report_free(struct ers_check_report *r);

#endif
