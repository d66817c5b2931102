/* The authorisation policy, in one place (manual 000 "User Roles",
 * "Resetting Passwords and Roles"; manual 001 "Who Does What").
 *
 * - Operators may do everything.
 * - Super admins act across tenants on tenants, users, aliases and forwards,
 *   assign any role, and may view -- not approve -- mail hosts.
 * - Tenant admins see their own tenant, and see, create, edit, reset,
 *   disable and delete only its regular users, with their aliases and
 *   forwards; they cannot touch any admin, nor create one.
 * - Users act only on themselves: view, rename, change their password with
 *   the current one, disable and enable (user.c refuses to re-enable what an
 *   admin disabled), and see their own aliases and forwards.
 * - Send limits (manual 002): super admins set them at every level, tenant
 *   admins those of their tenant's domains and regular users' mailboxes;
 *   tenant admins see their tenant's, users their own mailbox's.
 * - MFA: users enrol their own authenticator and see whether theirs is on;
 *   super admins, and tenant admins for their regular users, see it and
 *   reset it (a lost phone).
 * - What does not exist is refused like what exists out of sight
 *   (ers_authz_missing): only those who may act on whatever could be there
 *   -- operators, super admins, a tenant admin on its own tenant as a
 *   whole -- are told "no such ...".  So no one learns another tenant's
 *   addresses, domains or name, nor a tenant admin which addresses of its
 *   own domains belong to admins.
 * - Welcome emails: sent (again) by whoever manages the user -- super
 *   admins to anyone, tenant admins to their tenant's regular users.
 * - Archives (manual 000 "Personal And Tenant Archives"): users archive
 *   and see their own mailbox; tenant admins their tenant's regular users'
 *   mailboxes and the tenant's archives; super admins every one.  A
 *   personal archive (target: its user) is decrypted only by that user; a
 *   tenant archive (target: the tenant as a whole) by the tenant's admins
 *   and super admins.  Tenant admins set their tenant's archive policy,
 *   super admins every tenant's; everyone in a tenant sees it.
 * - S/MIME (manual 000 "Managing User S/MIME Identities"): users see and
 *   manage their own identity and recipient certificates; super admins any
 *   user's, tenant admins those of regular users of their own tenant.
 *   Signing and decrypting with a user's private key: that user only.
 * - Log in as mailbox owner (manual 003): super admins as any other user,
 *   tenant admins as their tenant's regular users.  A session so opened
 *   (actor->impersonated) may not change the owner's password or MFA, nor
 *   open another such session. */
#include <stdio.h>
#include "core/internal.h"

const char *ers_action_name(enum ers_action action)
{
	switch (action) {
	case ERS_ACT_TENANT_VIEW: return "tenant.view";
	case ERS_ACT_TENANT_CREATE: return "tenant.create";
	case ERS_ACT_TENANT_EDIT: return "tenant.edit";
	case ERS_ACT_TENANT_DELETE: return "tenant.delete";
	case ERS_ACT_HOST_VIEW: return "host.view";
	case ERS_ACT_HOST_MANAGE: return "host.manage";
	case ERS_ACT_AUDIT_VIEW: return "audit.view";
	case ERS_ACT_SCHEMA_MIGRATE: return "db.migrate";
	case ERS_ACT_BACKUP: return "backup";
	case ERS_ACT_USER_VIEW: return "user.view";
	case ERS_ACT_USER_CREATE: return "user.create";
	case ERS_ACT_USER_EDIT: return "user.edit";
	case ERS_ACT_USER_RENAME: return "user.rename";
	case ERS_ACT_USER_SET_ROLE: return "user.set_role";
	case ERS_ACT_USER_RESET_PASSWORD: return "user.reset_password";
	case ERS_ACT_USER_CHANGE_PASSWORD: return "user.change_password";
	case ERS_ACT_USER_DISABLE: return "user.disable";
	case ERS_ACT_USER_ENABLE: return "user.enable";
	case ERS_ACT_USER_DELETE: return "user.delete";
	case ERS_ACT_ALIAS_VIEW: return "alias.view";
	case ERS_ACT_ALIAS_MANAGE: return "alias.manage";
	case ERS_ACT_FORWARD_VIEW: return "forward.view";
	case ERS_ACT_FORWARD_MANAGE: return "forward.manage";
	case ERS_ACT_DOMAIN_COPY: return "domain.copy";
	case ERS_ACT_LIMITS_VIEW: return "limits.view";
	case ERS_ACT_LIMITS_SET: return "limits.set";
	case ERS_ACT_LIMITS_SET_TENANT: return "limits.set_tenant";
	case ERS_ACT_DKIM_VIEW: return "dkim.view";
	case ERS_ACT_DKIM_MANAGE: return "dkim.manage";
	case ERS_ACT_DNS_VIEW: return "dns.view";
	case ERS_ACT_MTASTS_SET: return "mtasts.set";
	case ERS_ACT_MFA_SETUP: return "mfa.setup";
	case ERS_ACT_MFA_VIEW: return "mfa.view";
	case ERS_ACT_MFA_RESET: return "mfa.reset";
	case ERS_ACT_USER_WELCOME: return "user.welcome";
	case ERS_ACT_SCAN_VIEW: return "scan.view";
	case ERS_ACT_SCAN_SELFTEST: return "scan.selftest";
	case ERS_ACT_ARCHIVE_VIEW: return "archive.view";
	case ERS_ACT_ARCHIVE_CREATE: return "archive.create";
	case ERS_ACT_ARCHIVE_DECRYPT: return "archive.decrypt";
	case ERS_ACT_ARCHIVE_POLICY_VIEW: return "archive.policy_view";
	case ERS_ACT_ARCHIVE_POLICY_SET: return "archive.policy_set";
	case ERS_ACT_ARCHIVE_RUN: return "archive.run";
	case ERS_ACT_SMIME_VIEW: return "smime.view";
	case ERS_ACT_SMIME_MANAGE: return "smime.manage";
	case ERS_ACT_AUTOREPLY_VIEW: return "autoreply.view";
	case ERS_ACT_AUTOREPLY_SET: return "autoreply.set";
	case ERS_ACT_SPAM_VIEW: return "spam.view";
	case ERS_ACT_SPAM_SET: return "spam.set";
	case ERS_ACT_SHARED_VIEW: return "shared.view";
	case ERS_ACT_SHARED_MANAGE: return "shared.manage";
	case ERS_ACT_SMIME_USE: return "smime.use";
	case ERS_ACT_USER_IMPERSONATE: return "user.impersonate";
	case ERS_ACT_MIGRATE: return "mailbox.migrate";
	case ERS_ACT_MAILBOX_CLEAR: return "mailbox.clear";
	}
	return "unknown";
}

static bool same_tenant(const struct ers_actor *a, const struct ers_authz_target *t)
{
	return t && t->tenant_id > 0 && a->tenant_id == t->tenant_id;
}

static bool is_self(const struct ers_actor *a, const struct ers_authz_target *t)
{
	return t && t->user_id > 0 && t->user_id == a->user_id;
}

/* A tenant admin over a regular user of its own tenant, or -- with
 * `tenant_wide` -- over its whole tenant when no user is named (lists then
 * show regular users only).  An action on a user needs the user named: a
 * target without one must not let a tenant admin create or change an
 * admin whose role the caller forgot to say. */
static bool tenant_admin_over(const struct ers_actor *a, const struct ers_authz_target *t,
			      bool tenant_wide)
{
	return a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t) &&
	       (t->is_user ? t->user_role == ERS_ROLE_USER : tenant_wide);
}

/* What a session an admin opened as the owner may never do: the owner's
 * credentials stay the owner's. */
static bool owner_only(enum ers_action action)
{
	switch (action) {
	case ERS_ACT_USER_CHANGE_PASSWORD:
	case ERS_ACT_USER_RESET_PASSWORD:
	case ERS_ACT_MFA_SETUP:
	case ERS_ACT_MFA_RESET:
	case ERS_ACT_USER_IMPERSONATE:
		return true;
	default:
		return false;
	}
}

static bool allowed(const struct ers_actor *a, enum ers_action action,
		    const struct ers_authz_target *t)
{
	if (a->impersonated && owner_only(action))
		return false;
	if (a->role == ERS_ROLE_OPERATOR)
		return true;
	switch (action) {
	case ERS_ACT_USER_IMPERSONATE: /* never oneself: that is a login */
		return t && t->is_user && !is_self(a, t) &&
		       (a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, false));
	case ERS_ACT_USER_SET_ROLE:
	case ERS_ACT_DOMAIN_COPY:
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_USER_CHANGE_PASSWORD:
	case ERS_ACT_MFA_SETUP: /* the code comes from one's own phone */
		return is_self(a, t);
	case ERS_ACT_SMIME_USE:
		return is_self(a, t);
	case ERS_ACT_SMIME_VIEW:
	case ERS_ACT_SMIME_MANAGE:
	case ERS_ACT_MFA_VIEW:
	case ERS_ACT_AUTOREPLY_VIEW: /* one's own mailbox; admins the users in their reach */
	case ERS_ACT_AUTOREPLY_SET:
		return is_self(a, t) || a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, false);
	case ERS_ACT_MFA_RESET: /* not oneself: a stolen session must not turn MFA off */
		return a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, false);
	case ERS_ACT_USER_VIEW:
	case ERS_ACT_ALIAS_VIEW:
	case ERS_ACT_FORWARD_VIEW:
	case ERS_ACT_LIMITS_VIEW: /* tenant-wide: a tenant or a domain; the server: super admins */
	case ERS_ACT_SPAM_VIEW:   /* one's own mailbox; tenant admins their domains and regular users */
	case ERS_ACT_SPAM_SET:
		return is_self(a, t) || a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, true);
	case ERS_ACT_USER_RENAME:
	case ERS_ACT_USER_DISABLE:
	case ERS_ACT_USER_ENABLE:
		if (is_self(a, t))
			return true;
		/* fall through */
	case ERS_ACT_USER_CREATE:
	case ERS_ACT_USER_EDIT:
	case ERS_ACT_USER_RESET_PASSWORD:
	case ERS_ACT_USER_DELETE:
	case ERS_ACT_USER_WELCOME: /* who manages the user; not oneself */
	case ERS_ACT_ALIAS_MANAGE: /* an alias always belongs to a mailbox */
		return a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, false);
	case ERS_ACT_FORWARD_MANAGE: /* also tenant-level: catch-all, plain addresses */
	case ERS_ACT_LIMITS_SET:     /* a domain (tenant-wide) or a regular user's mailbox */
		return a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, true);
	case ERS_ACT_LIMITS_SET_TENANT: /* "configured in the hosting package" (manual 002) */
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_TENANT_CREATE:
	case ERS_ACT_TENANT_EDIT:
	case ERS_ACT_TENANT_DELETE:
	case ERS_ACT_HOST_VIEW:
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_BACKUP: /* manual 000: "Super Admins and operators"; ersctl only */
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_DKIM_MANAGE: /* "Generate or install DKIM signing key": Super Admin can request, operator does (manual 001) */
	case ERS_ACT_MTASTS_SET:
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_SHARED_VIEW:   /* a tenant's shared mailboxes: its admins, like its aliases */
	case ERS_ACT_SHARED_MANAGE:
		return a->role == ERS_ROLE_SUPER_ADMIN || (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_TENANT_VIEW:
	case ERS_ACT_AUDIT_VIEW:
	case ERS_ACT_DKIM_VIEW:   /* tenant admins publish the records at their DNS host */
	case ERS_ACT_DNS_VIEW:
		return a->role == ERS_ROLE_SUPER_ADMIN ||
		       (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_SCAN_VIEW: /* "Tenant Admins can view scanner status, same-tenant ..." (manual 000) */
		return a->role == ERS_ROLE_SUPER_ADMIN || (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_SCAN_SELFTEST: /* "Only Super Admins can run self-tests" */
		return a->role == ERS_ROLE_SUPER_ADMIN;
	case ERS_ACT_ARCHIVE_VIEW:
	case ERS_ACT_ARCHIVE_CREATE:
	case ERS_ACT_MIGRATE: /* manual 002: admins for their users, a user into its own mailbox */
	case ERS_ACT_MAILBOX_CLEAR: /* manual 003: users manage their own mailboxes, resellers their users' */
		return is_self(a, t) || a->role == ERS_ROLE_SUPER_ADMIN || tenant_admin_over(a, t, true);
	case ERS_ACT_ARCHIVE_DECRYPT: /* a user's key is its own alone */
		if (t && t->is_user)
			return is_self(a, t);
		return a->role == ERS_ROLE_SUPER_ADMIN || (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_ARCHIVE_POLICY_VIEW:
		return a->role == ERS_ROLE_SUPER_ADMIN || same_tenant(a, t);
	case ERS_ACT_ARCHIVE_POLICY_SET:
		return a->role == ERS_ROLE_SUPER_ADMIN || (a->role == ERS_ROLE_TENANT_ADMIN && same_tenant(a, t));
	case ERS_ACT_HOST_MANAGE:
	case ERS_ACT_SCHEMA_MIGRATE:
	case ERS_ACT_ARCHIVE_RUN:
		return false; /* server operators only (manual 001) */
	}
	return false;
}

int ers_authz_check(const struct ers_actor *actor, enum ers_action action,
		    const struct ers_authz_target *target, struct ers_error *err)
{
	if (allowed(actor, action, target))
		return 0;
	if (actor->impersonated && owner_only(action)) {
		ers_error_set(err, ERS_E_PERMISSION, "%s is logged in as the mailbox owner %s: such a session may not %s "
			      "(the owner's password and MFA stay the owner's)", actor->via, actor->name,
			      ers_action_name(action));
		return -1;
	}
	ers_error_set(err, ERS_E_PERMISSION, "%s (%s) may not %s", actor->name,
		      ers_role_name(actor->role), ers_action_name(action));
	return -1;
}

/* What could be behind a name that names nothing: a thing of the tenant
 * whose domain the name is in (none: 0), and, when it would be a user or
 * belong to one, a user of any role but the actor -- the strongest, since
 * nothing says it is not an admin. */
static struct ers_authz_target anything_at(const struct ers_authz_target *where)
{
	struct ers_authz_target t = where ? *where : (struct ers_authz_target){ 0 };
	if (t.is_user) {
		t.user_id = 0;
		t.user_role = ERS_ROLE_SUPER_ADMIN;
	}
	return t;
}

bool ers_authz_sees_missing(const struct ers_actor *actor, enum ers_action action,
			    const struct ers_authz_target *where)
{
	struct ers_authz_target t = anything_at(where);
	return allowed(actor, action, &t);
}

int ers_authz_missing(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
		      const struct ers_authz_target *where, const char *target_desc, struct ers_error *err)
{
	struct ers_authz_target t = anything_at(where);
	if (allowed(actor, action, &t))
		return -1; /* the caller's "no such ..." stands */
	ers_authz_require(ctx, actor, action, &t, target_desc, err);
	return -1;
}

int ers_authz_require(struct ers_ctx *ctx, const struct ers_actor *actor,
		      enum ers_action action, const struct ers_authz_target *target,
		      const char *target_desc, struct ers_error *err)
{
	if (ers_authz_check(actor, action, target, err) == 0)
		return 0;
	ers_audit_denied(ctx, actor, ers_action_name(action), target_desc,
			 target ? target->tenant_id : 0, err->message);
	return -1;
}

int ers_authz_list_scope(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action,
			 const char *tenant_key, const char *what, struct ers_list_scope *scope_r,
			 struct ers_error *err)
{
	struct ers_list_scope sc = { 0 };
	sc.self_only = actor->role == ERS_ROLE_USER;
	sc.regular_only = actor->role == ERS_ROLE_TENANT_ADMIN;
	if (tenant_key && ers_tenant_resolve(ctx, tenant_key, &sc.tenant_id, NULL, err) < 0) {
		/* No such tenant, or two: said only to those who see every one. */
		struct ers_authz_target nowhere = { .is_user = sc.self_only };
		if (err->code == ERS_E_NOTFOUND || err->code == ERS_E_CONFLICT)
			ers_authz_missing(ctx, actor, action, &nowhere, tenant_key, err);
		return -1;
	}
	if (sc.regular_only && !sc.tenant_id)
		sc.tenant_id = actor->tenant_id;
	/* A user's list is of itself, in its own tenant: another tenant named
	 * is refused, as one that does not exist is. */
	bool self = sc.self_only && (!sc.tenant_id || sc.tenant_id == actor->tenant_id);
	struct ers_authz_target target = { .tenant_id = sc.tenant_id, .user_id = self ? actor->user_id : 0,
					   .is_user = sc.self_only, .user_role = actor->role };
	if (ers_authz_require(ctx, actor, action, &target, tenant_key ? tenant_key : what, err) < 0)
		return -1;
	*scope_r = sc;
	return 0;
}
