/* Library-internal parts of the DKIM module shared by dkim.c (keys),
 * dkim_check.c (the DNS check before activation) and dkim_render.c
 * (OpenDKIM's files). */
#ifndef ERS_DKIM_INTERNAL_H
#define ERS_DKIM_INTERNAL_H

#include "ers/dkim.h"

/* "v=DKIM1; k=rsa; p=..." for a key of `alg` whose p= value is `p`. */
void ers_dkim_txt_value(enum ers_dkim_algorithm alg, const char *p, struct ers_buf *out);
/* A selector is one DNS label: [a-z0-9-], 1..63, no hyphen at either end. */
int ers_dkim_selector_check(const char *selector, struct ers_error *err);
/* Retires the retiring keys whose grace ended (wipes their private keys),
 * in its own transaction with one audit row; nothing when none is due. */
int ers_dkim_retire_due(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_error *err);
/* Asks DNS (cfg->dns.resolver, cfg->dns.timeout) for the TXT record at
 * `name` and succeeds when one of its records carries p=`p`; otherwise the
 * error says what was expected and what was found. */
int ers_dkim_dns_verify(const struct ers_config *cfg, const char *name, enum ers_dkim_algorithm alg, const char *p,
			struct ers_error *err);

#endif
