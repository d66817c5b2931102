/* DKIM signing keys per domain (manual 001 "DKIM Public Key"; manual 002
 * "DKIM"; manual 004: only mail submitted on 587/465 is signed).  The
 * private key is made here with OpenSSL, sealed under the master key, and
 * leaves the library only as the key files `ersctl mailstack render
 * --opendkim` writes for OpenDKIM: never in a struct below, output, log or
 * error. */
#ifndef ERS_DKIM_H
#define ERS_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

enum ers_dkim_algorithm { ERS_DKIM_RSA_2048, ERS_DKIM_RSA_4096, ERS_DKIM_ED25519 };
/* See libers/sql/0007_dkim_and_dns.sql for the life of a key. */
enum ers_dkim_state { ERS_DKIM_PUBLISHED, ERS_DKIM_ACTIVE, ERS_DKIM_RETIRING, ERS_DKIM_RETIRED };

struct ers_dkim_key {
	char *domain;
	char *selector;
	enum ers_dkim_algorithm algorithm;
	enum ers_dkim_state state;
	char *txt_name;        /* "SELECTOR._domainkey.DOMAIN" */
	char *txt_value;       /* "v=DKIM1; k=rsa; p=..." (public only) */
	char created_at[40];
	char activated_at[40]; /* "" when never */
	char retire_after[40]; /* "" unless retiring */
};

struct ers_dkim_key_list {
	size_t count;
	struct ers_dkim_key *items;
};

const char *ers_dkim_algorithm_name(enum ers_dkim_algorithm a);
int ers_dkim_algorithm_parse(const char *s, enum ers_dkim_algorithm *a_r, struct ers_error *err);
const char *ers_dkim_state_name(enum ers_dkim_state s);

/* Splits a TXT value into quoted strings of at most 255 bytes each, as DNS
 * needs: "\"v=DKIM1; k=rsa; p=MIIB...\" \"...\"". */
void ers_dkim_txt_split(const char *value, struct ers_buf *out);

/* Every key of `domain` not yet retired (domain NULL: every domain the actor
 * may see), active first. */
int ers_dkim_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		  struct ers_dkim_key_list **list_r, struct ers_error *err);
/* Also the retired selectors of `domain`: `dns check` calls a TXT record
 * still published under one of them stale. */
int ers_dkim_list_all(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		      struct ers_dkim_key_list **list_r, struct ers_error *err);

void ers_dkim_key_free(struct ers_dkim_key *k);
void ers_dkim_key_list_free(struct ers_dkim_key_list *list);

/* enable / show / disable / rotate / activate and the OpenDKIM render are
 * declared below by the module that implements them. */

#endif
