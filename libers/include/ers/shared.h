/* Shared mailboxes (manual 004 "Public mailboxes"): an address of a tenant
 * with a mailbox of its own and no login, whose folders chosen users of
 * the same tenant see under Shared/ADDRESS/ with rights -- read, write,
 * post, admin -- through Dovecot's ACL plugin and shared namespace.
 *
 * ers.shared_grant is the record; the ACLs Dovecot checks are set on every
 * folder of the shared mailbox over IMAP (SETACL, as its owner through the
 * master user) by the same call, so a grant or a revoke holds from the
 * next command of any session, and the webmail (which cannot run doveadm)
 * does it exactly as ersctl does. */
#ifndef ERS_SHARED_H
#define ERS_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

enum {
	ERS_SHARED_READ = 1 << 0,  /* see the folders and read (l r s) */
	ERS_SHARED_WRITE = 1 << 1, /* flag, file, delete, create folders (w i t e k) */
	ERS_SHARED_POST = 1 << 2,  /* submit to it (p) */
	ERS_SHARED_ADMIN = 1 << 3, /* everything, and its ACLs (a x) */
};

/* "read,write" -> bits; refuses unknown words, saying which are allowed. */
int ers_shared_rights_parse(const char *text, unsigned *rights_r, struct ers_error *err);
/* bits -> "read,write,post,admin" (those set, in that order). */
void ers_shared_rights_format(unsigned rights, char *out, size_t size);
/* bits -> the RFC 4314 letters Dovecot stores ("lrswitek..."). */
void ers_shared_rights_letters(unsigned rights, char *out, size_t size);

struct ers_shared_grant {
	char *user;
	unsigned rights;
	char granted_at[40];
};

struct ers_shared {
	long long id;
	long long tenant_id;
	char *address;
	char *tenant;
	char *name;              /* shown to people; may be empty */
	long long quota_mb;      /* -1: none */
	char created_at[40];
	size_t grant_count;
	struct ers_shared_grant *grants;
};

struct ers_shared_list {
	size_t count;
	struct ers_shared *items;
};

void ers_shared_free(struct ers_shared *s);
void ers_shared_list_free(struct ers_shared_list *l);

/* A new shared mailbox in one of the domains of a tenant; `quota_mb` -1
 * for the tenant's default (none), else 0..1048576 (0: unlimited). */
int ers_shared_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *name,
		   long long quota_mb, struct ers_shared **shared_r, struct ers_error *err);
/* A tenant's (NULL: every one the actor may see), by address, grants too. */
int ers_shared_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
		    struct ers_shared_list **list_r, struct ers_error *err);
int ers_shared_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		    struct ers_shared **shared_r, struct ers_error *err);
/* Gives `user` (a user of the same tenant) exactly `rights`, replacing
 * what it had; revoke takes every right away. */
int ers_shared_grant(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *user,
		     unsigned rights, struct ers_error *err);
int ers_shared_revoke(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *user,
		      struct ers_error *err);
/* The mailbox, its grants and its mail (removed once unroutable, like a
 * deleted user's). */
int ers_shared_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		      struct ers_error *err);

#endif
