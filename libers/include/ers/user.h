/* Users: mailboxes with a role (manual 000 "User Roles", "Managing Users";
 * manual 001 "Mailbox User Setup"). */
#ifndef ERS_USER_H
#define ERS_USER_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#define ERS_QUOTA_MB_MAX 1048576LL
#define ERS_NAME_PART_MAX 100

enum ers_user_status { ERS_USER_ACTIVE, ERS_USER_DISABLED };

struct ers_user {
	long long id;
	char *address;
	char *domain;
	char *tenant;
	long long tenant_id;
	char *first_name;
	char *last_name;
	enum ers_role role;
	long long quota_mb;       /* -1: no quota */
	long long quota_used_mb;  /* rounded up; -1: not reported by the mail stack yet */
	long long quota_used_bytes;
	enum ers_user_status status;
	bool disabled_by_admin;
	bool internal_only;
	bool remote_mailbox;      /* has stored IMAP credentials (never shown) */
	bool mfa_enabled;         /* MFA (an authenticator code at login) is on */
	char *imap_username;      /* "" for a local mailbox */
	char created_at[40];
};

struct ers_user_list {
	size_t count;
	struct ers_user *items;
	char *next_after;         /* keyset cursor for the next page, NULL at the end */
};

struct ers_user_spec {
	const char *address;
	const char *first_name;   /* NULL: "" (add) or unchanged (edit) */
	const char *last_name;
	bool set_role;
	enum ers_role role;       /* add: user unless set */
	bool set_quota;
	long long quota_mb;       /* -1: no quota */
	const char *password;     /* add: NULL with generate_password */
	bool generate_password;
	const char *imap_username; /* both or neither: a remote mailbox */
	const char *imap_password;
	bool set_internal_only;
	bool internal_only;
	/* add: send the welcome email (welcome.h) once the user exists; when
	 * it cannot be sent the user stays created and ers_ctx_warning() says
	 * why.  Its own audit row, user.welcome, records the attempt. */
	bool send_welcome;
};

/* The order of a user list; each with the address as the tie-break. */
enum ers_user_sort {
	ERS_USER_SORT_EMAIL,  /* the address (the default) */
	ERS_USER_SORT_NAME,   /* first and last name, case-insensitive */
	ERS_USER_SORT_ROLE,   /* super_admin, tenant_admin, user */
	ERS_USER_SORT_STATUS, /* active, disabled */
};

struct ers_user_filter {
	const char *tenant;       /* name or domain; NULL: all the actor may see */
	bool set_role;
	enum ers_role role;
	bool set_status;
	enum ers_user_status status;
	const char *search;       /* NULL or "": all; else a case-insensitive part of the
	                           * address, first or last name */
	const char *after;        /* keyset cursor: next_after of the page before (for
	                           * ERS_USER_SORT_EMAIL the last address shown) */
	int limit;                /* 0: 100; at most 10000 */
	enum ers_user_sort sort;
	bool descending;
};

/* "email", "name", "role", "status". */
const char *ers_user_sort_name(enum ers_user_sort sort);
int ers_user_sort_parse(const char *input, enum ers_user_sort *sort_r, struct ers_error *err);

/* Creates the user; with generate_password, the temporary password is put
 * in `password_r` (wipe it with ers_buf_free_secret) and shown only once. */
int ers_user_add(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_spec *spec,
		 struct ers_user **user_r, struct ers_buf *password_r, struct ers_error *err);
int ers_user_get(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		 struct ers_user **user_r, struct ers_error *err);
int ers_user_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_filter *f,
		  struct ers_user_list **list_r, struct ers_error *err);
int ers_user_edit(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_user_spec *changes,
		  struct ers_user **user_r, struct ers_error *err);
/* An admin resets (current == NULL); a user changes its own with the
 * current password.  generate puts a new temporary one in password_r. */
int ers_user_passwd(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		    const char *current, const char *new_password, bool generate,
		    struct ers_buf *password_r, struct ers_error *err);
int ers_user_set_enabled(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			 bool enabled, struct ers_error *err);
int ers_user_delete(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		    struct ers_error *err);
/* The actor a user is, for `ersctl --as`; actor_r->via (who asks) is kept.
 * A disabled account is refused (ERS_E_PERMISSION) and the refusal audited. */
int ers_user_actor(struct ers_ctx *ctx, const char *address, struct ers_actor *actor_r,
		   struct ers_error *err);

void ers_user_free(struct ers_user *u);
void ers_user_list_free(struct ers_user_list *list);

#endif
