/* mailstack's interfaces inside libers -- Postfix's lookups, check reports
 * and the mail role's connection -- for mailstack and the areas above it. */
#ifndef ERS_MAILSTACK_INTERNAL_H
#define ERS_MAILSTACK_INTERNAL_H

#include "accounts/internal.h"
#include "ers/mailstack.h"
#include "ers/policy.h"

/* mailstack_render.c: the lookups Postfix makes, one pgsql map file each;
 * `mailstack check` runs the very same queries. */
struct ers_postfix_map {
	const char *file;    /* pgsql-aliases.cf */
	const char *setting; /* the main.cf setting that uses it */
	const char *purpose;
	const char *query;   /* Postfix's form: the key is '%s' */
};
extern const struct ers_postfix_map ers_postfix_maps[];
extern const size_t ers_postfix_map_count;

/* check_report.c: one answer in a check report (`mailstack check`, the
 * go-live check); control characters in the detail become spaces. */
struct ers_check_report;
void ers_check_add(struct ers_check_report *r, const char *component, const char *what, bool ok,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* mailstack_check.c: a connection as the mail role, the way Postfix and
 * Dovecot connect (check PQstatus; PQfinish it either way). */
PGconn *ers_mail_role_connect(const struct ers_config *cfg, const char *application_name);

#endif
