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

/* Every DKIM operation first retires the retiring keys whose grace period
 * has ended (their private keys wiped, one audit row), so running `ersctl
 * dkim list` from cron is all the upkeep a server needs.  Changes are for
 * super admins and operators; tenant admins may view their own domains. */

/* A new key for `domain` (selector NULL: "default"; algorithm NULL:
 * rsa-2048): active when the domain has no active key, else published.
 * The private key is generated here and stored sealed; `key_r` holds the
 * public TXT record to publish. */
int ers_dkim_enable(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain, const char *selector,
		    const char *algorithm, struct ers_dkim_key **key_r, struct ers_error *err);
/* The first stage of a rotation: a new key, published (in the DNS plan,
 * not signing).  Selector NULL: sYYYYMMDD (UTC), made unique with -2, -3. */
int ers_dkim_rotate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain, const char *selector,
		    const char *algorithm, struct ers_dkim_key **key_r, struct ers_error *err);

#define ERS_DKIM_DEFAULT_GRACE_HOURS 168 /* covers Postfix's 5-day maximal_queue_lifetime */

struct ers_dkim_activate_opts {
	const char *selector; /* the published key to activate; NULL: the newest published one */
	bool force;           /* without seeing its TXT record in DNS first */
	int grace_hours;      /* how long the old key stays published, retiring; -1: the default */
};
/* The second stage: the published key signs from now on, but only once
 * its TXT record answers in DNS with its p= value (unless forced); the
 * active key becomes retiring for the grace period.  `keys_r`: the
 * domain's live keys afterwards. */
int ers_dkim_activate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain,
		      const struct ers_dkim_activate_opts *opts, struct ers_dkim_key_list **keys_r,
		      struct ers_error *err);
/* Retires the live keys of `domain` (selector NULL: all of them, so
 * nothing signs its mail any more): private keys wiped at once.
 * `retired_r`: the keys retired. */
int ers_dkim_disable(struct ers_ctx *ctx, const struct ers_actor *actor, const char *domain, const char *selector,
		     struct ers_dkim_key_list **retired_r, struct ers_error *err);

/* Writes OpenDKIM's files into `dir` from the database: KeyTable,
 * SigningTable (refile), opendkim.conf, and keys/DOMAIN.SELECTOR.private
 * (mode 0600, owned by user opendkim when run as root) for each active
 * key, removing key files of keys no longer active.  The only place a
 * private key is opened.  Paths written go to `written_r`, one a line. */
int ers_dkim_render(struct ers_ctx *ctx, const struct ers_actor *actor, const char *dir, struct ers_buf *written_r,
		    struct ers_error *err);

#endif
