/* Unit test of the one policy, ers_authz_check(): every role against every
 * action -- 0..ERS_ACTION_COUNT-1, so that an action added later without an
 * expectation here fails -- and every kind of target (none, all tenants,
 * a tenant, a user of either tenant in each role, oneself, a user to be
 * created).  The expectation below is written from the rules in the
 * manuals (000 "User Roles", "Managing Users", "Resetting Passwords and
 * Roles", "Managing Email Aliases"; 001 "Who Does What"; 002 "Email Rate
 * Limiting"), not from authz.c. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "ers/authz.h"
#include "tap.h"

/* libers/internal.h: whether the actor may be told a named thing is not
 * there (the rest of that header needs libpq). */
bool ers_authz_sees_missing(const struct ers_actor *actor, enum ers_action action,
			    const struct ers_authz_target *where);

enum { TENANT_OWN = 10, TENANT_OTHER = 20, OTHER_USER_ID = 900 };

enum kind {
	T_NONE,     /* no target at all (NULL) */
	T_GLOBAL,   /* not tenant-scoped: every tenant */
	T_TENANT,   /* one tenant as a whole (lists, tenant settings) */
	T_USER,     /* an existing user */
	T_NEW_USER, /* a user about to be created, with the role it would get */
};

struct scenario {
	enum kind kind;
	bool own;           /* T_TENANT, T_USER, T_NEW_USER: in the actor's tenant */
	bool self;          /* T_USER: the actor itself */
	enum ers_role role; /* T_USER, T_NEW_USER */
};

enum verdict { DENY, ALLOW, NO_EXPECTATION };

/* The rules, from the spec.  Operators may do everything. */
static enum verdict expect(const struct ers_actor *a, enum ers_action action, const struct scenario *s)
{
	if (a->role == ERS_ROLE_OPERATOR)
		return ALLOW;
	bool super = a->role == ERS_ROLE_SUPER_ADMIN;
	bool tadmin = a->role == ERS_ROLE_TENANT_ADMIN;
	bool named_user = s->kind == T_USER || s->kind == T_NEW_USER;
	bool self = s->kind == T_USER && s->self;
	/* An actor without a tenant (a broken one) has no "own tenant". */
	bool own = s->own && a->tenant_id > 0;
	bool own_tenant = (s->kind == T_TENANT || named_user) && own;
	/* Tenant admins reach the regular users of their own tenant only: never
	 * an admin (not even to view), never a user of another tenant. */
	bool own_regular = named_user && own && s->role == ERS_ROLE_USER;
	/* ... and their own tenant as a whole, for lists (which then show only
	 * regular users) and for tenant-level forwards (catch-all, address). */
	bool own_tenant_wide = s->kind == T_TENANT && own;

	switch ((int)action) { /* int: an unknown action reaches NO_EXPECTATION */
	case ERS_ACT_TENANT_VIEW:     /* tenant admins may view their own tenant */
	case ERS_ACT_AUDIT_VIEW:      /* tenant admins: their own tenant's log */
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_TENANT_CREATE:   /* "Managing Tenants (Super Admin Only)" */
	case ERS_ACT_TENANT_EDIT:
	case ERS_ACT_TENANT_DELETE:
		return super ? ALLOW : DENY;
	case ERS_ACT_HOST_VIEW:       /* super admins may see, and request, hosts */
		return super ? ALLOW : DENY;
	case ERS_ACT_HOST_MANAGE:     /* "Approve IMAP/SMTP hostnames": operator */
	case ERS_ACT_SCHEMA_MIGRATE:
		return DENY;
	case ERS_ACT_USER_VIEW:       /* users see themselves; admins their reach */
	case ERS_ACT_ALIAS_VIEW:
	case ERS_ACT_FORWARD_VIEW:
		return self || super || (tadmin && (own_regular || own_tenant_wide)) ? ALLOW : DENY;
	case ERS_ACT_ARCHIVE_VIEW:    /* manual 000 "Personal And Tenant Archives" */
	case ERS_ACT_ARCHIVE_CREATE:
	case ERS_ACT_MIGRATE:         /* manual 002 "IMAP Migration": admins, a user into its own */
	case ERS_ACT_MAILBOX_CLEAR:   /* manual 003 "Clear the contents of a mailbox" */
		return self || super || (tadmin && (own_regular || own_tenant_wide)) ? ALLOW : DENY;
	case ERS_ACT_ARCHIVE_DECRYPT: /* a personal archive: its user only; a tenant's: its admins */
		if (named_user)
			return self ? ALLOW : DENY;
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_ARCHIVE_POLICY_VIEW: /* everyone in the tenant sees its policy */
		return super || own_tenant ? ALLOW : DENY;
	case ERS_ACT_ARCHIVE_POLICY_SET:
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_ARCHIVE_RUN:     /* cron: operators */
		return DENY;
	case ERS_ACT_USER_RENAME:     /* users rename, disable, enable themselves */
	case ERS_ACT_USER_DISABLE:
	case ERS_ACT_USER_ENABLE:
		return self || super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_USER_CHANGE_PASSWORD: /* with the current one: only one's own */
		return self ? ALLOW : DENY;
	case ERS_ACT_USER_CREATE:     /* tenant admins create regular users only */
	case ERS_ACT_USER_EDIT:
	case ERS_ACT_USER_RESET_PASSWORD:
	case ERS_ACT_USER_DELETE:
		return super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_USER_SET_ROLE:   /* "Super Admins ... assign roles" */
		return super ? ALLOW : DENY;
	case ERS_ACT_ALIAS_MANAGE:    /* aliases of regular users of their tenant */
		return super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_FORWARD_MANAGE:
		return super || (tadmin && (own_regular || own_tenant_wide)) ? ALLOW : DENY;
	case ERS_ACT_DOMAIN_COPY:     /* hidden copies of a domain's mail */
		return super ? ALLOW : DENY;
	case ERS_ACT_SPAM_VIEW:       /* greylisting, allowed senders: one's own mailbox; */
	case ERS_ACT_SPAM_SET:        /* tenant admins their domains and regular users (manual 003) */
	case ERS_ACT_LIMITS_VIEW:     /* send limits: users see their own mailbox's */
		return self || super || (tadmin && (own_regular || own_tenant_wide)) ? ALLOW : DENY;
	case ERS_ACT_LIMITS_SET:      /* tenant admins: their domains, their regular users' mailboxes */
		return super || (tadmin && (own_regular || own_tenant_wide)) ? ALLOW : DENY;
	case ERS_ACT_LIMITS_SET_TENANT: /* the hosting package (manual 002) and the server's defaults */
		return super ? ALLOW : DENY;
	case ERS_ACT_DKIM_MANAGE:     /* keys are made on the server: operator or Super Admin (manual 001) */
	case ERS_ACT_MTASTS_SET:
		return super ? ALLOW : DENY;
	case ERS_ACT_SHARED_VIEW:     /* shared mailboxes (manual 004): their tenant's admins */
	case ERS_ACT_SHARED_MANAGE:
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_DKIM_VIEW:       /* tenant admins add the records at their DNS host (manual 001) */
	case ERS_ACT_DNS_VIEW:
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_MFA_SETUP:       /* "Click Set Up FreeOTP": one's own phone only */
		return self ? ALLOW : DENY;
	case ERS_ACT_MFA_VIEW:        /* users see their own; admins the users in their reach */
		return self || super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_MFA_RESET:       /* a lost phone: an admin resets it, not the user */
		return super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_USER_WELCOME:    /* "Welcome Emails": the admin who adds or manages the user */
		return super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_SCAN_VIEW:       /* "Tenant Admins can view ... same-tenant domain statistics" */
		return super || (tadmin && own_tenant) ? ALLOW : DENY;
	case ERS_ACT_SCAN_SELFTEST:   /* "Only Super Admins can run self-tests" (manual 000) */
	case ERS_ACT_BACKUP:          /* "Secure Backups": Super Admins and operators */
		return super ? ALLOW : DENY;
	case ERS_ACT_SMIME_VIEW:      /* "Managing User S/MIME Identities": one's own; */
	case ERS_ACT_SMIME_MANAGE:    /* super admins any user's, tenant admins their regular users' */
		return self || super || (tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_SMIME_USE:       /* signing with, decrypting by a user's key: the user alone */
		return self ? ALLOW : DENY;
	case ERS_ACT_USER_IMPERSONATE: /* manual 003 "Log in as mailbox owner": not oneself, not admins for tenant admins */
		return !self && (super ? named_user : tadmin && own_regular) ? ALLOW : DENY;
	case ERS_ACT_AUTOREPLY_VIEW:  /* "Autoresponder" (manual 002): the mailbox owner; */
	case ERS_ACT_AUTOREPLY_SET:   /* tenant admins their regular users, super admins any */
		return self || super || (tadmin && own_regular) ? ALLOW : DENY;
	}
	return NO_EXPECTATION;
}

struct actor_case {
	const char *label;
	struct ers_actor a;
};

static struct ers_actor make_actor(enum ers_role role, const char *name, long long tenant, long long id)
{
	struct ers_actor a;
	memset(&a, 0, sizeof a);
	a.role = role;
	snprintf(a.name, sizeof a.name, "%s", name);
	a.tenant_id = tenant;
	a.user_id = id;
	return a;
}

/* The target a scenario means for `actor`; NULL for T_NONE. */
static const struct ers_authz_target *make_target(const struct ers_actor *actor, const struct scenario *s,
						  struct ers_authz_target *t)
{
	memset(t, 0, sizeof *t);
	long long tenant = s->own ? TENANT_OWN : TENANT_OTHER;
	switch (s->kind) {
	case T_NONE:
		return NULL;
	case T_GLOBAL:
		return t;
	case T_TENANT:
		t->tenant_id = tenant;
		return t;
	case T_USER:
		t->tenant_id = tenant;
		t->user_id = s->self ? actor->user_id : OTHER_USER_ID + (long long)s->role;
		t->is_user = true;
		t->user_role = s->self ? actor->role : s->role;
		return t;
	case T_NEW_USER:
		t->tenant_id = tenant;
		t->is_user = true;
		t->user_role = s->role;
		return t;
	}
	return NULL;
}

static void describe(const struct scenario *s, char *dst, size_t cap)
{
	const char *where = s->own ? "own tenant" : "other tenant";
	switch (s->kind) {
	case T_NONE: snprintf(dst, cap, "no target"); break;
	case T_GLOBAL: snprintf(dst, cap, "all tenants"); break;
	case T_TENANT: snprintf(dst, cap, "%s as a whole", where); break;
	case T_USER:
		if (s->self)
			snprintf(dst, cap, "itself");
		else
			snprintf(dst, cap, "a %s of the %s", ers_role_name(s->role), where);
		break;
	case T_NEW_USER: snprintf(dst, cap, "a new %s in the %s", ers_role_name(s->role), where); break;
	}
}

static int cases;

static void check(const struct ers_actor *actor, enum ers_action action, const struct scenario *s)
{
	struct ers_authz_target tbuf;
	const struct ers_authz_target *t = make_target(actor, s, &tbuf);
	enum verdict want = expect(actor, action, s);
	char what[120];
	describe(s, what, sizeof what);
	struct ers_error err;
	ers_error_clear(&err);
	int rc = ers_authz_check(actor, action, t, &err);
	cases++;
	if (want == NO_EXPECTATION) {
		ok(0, "%s %s on %s: the test has an expectation for this action",
		   ers_role_name(actor->role), ers_action_name(action), what);
		diag("action %d (%s) is new: add its rule to expect() in %s", (int)action,
		     ers_action_name(action), __FILE__);
		return;
	}
	bool pass = rc == (want == ALLOW ? 0 : -1);
	/* A denial says who may not do what: the actor and the action. */
	if (pass && want == DENY)
		pass = err.code == ERS_E_PERMISSION && strstr(err.message, actor->name) &&
		       strstr(err.message, ers_action_name(action));
	if (!ok(pass, "%s %s on %s: %s", ers_role_name(actor->role), ers_action_name(action), what,
		want == ALLOW ? "allowed" : "denied")) {
		diag("ers_authz_check returned %d; code %d, message \"%s\"", rc, (int)err.code,
		     rc ? err.message : "");
	}
}

/* Every scenario there is for this actor. */
static void each_target(const struct ers_actor *actor, enum ers_action action)
{
	static const enum ers_role roles[] = { ERS_ROLE_USER, ERS_ROLE_TENANT_ADMIN, ERS_ROLE_SUPER_ADMIN };
	struct scenario s = { .kind = T_NONE };
	check(actor, action, &s);
	s = (struct scenario){ .kind = T_GLOBAL };
	check(actor, action, &s);
	for (int own = 1; own >= 0; own--) {
		s = (struct scenario){ .kind = T_TENANT, .own = own };
		check(actor, action, &s);
	}
	if (actor->role != ERS_ROLE_OPERATOR) { /* operators are no mailbox */
		s = (struct scenario){ .kind = T_USER, .own = true, .self = true, .role = actor->role };
		check(actor, action, &s);
	}
	for (int own = 1; own >= 0; own--) {
		for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
			s = (struct scenario){ .kind = T_USER, .own = own, .role = roles[r] };
			check(actor, action, &s);
			s = (struct scenario){ .kind = T_NEW_USER, .own = own, .role = roles[r] };
			check(actor, action, &s);
		}
	}
}

static void test_action_names(void)
{
	bool distinct = true, named = true;
	for (int i = 0; i < ERS_ACTION_COUNT; i++) {
		const char *n = ers_action_name((enum ers_action)i);
		if (!strcmp(n, "unknown")) {
			named = false;
			diag("action %d has no name", i);
		}
		for (int j = 0; j < i; j++) {
			if (!strcmp(n, ers_action_name((enum ers_action)j))) {
				distinct = false;
				diag("actions %d and %d are both \"%s\"", j, i, n);
			}
		}
	}
	ok(named, "every action has a name");
	ok(distinct, "action names are distinct");
	/* An action appended to the enum without ERS_ACTION_COUNT moving with it
	 * would escape the loop below: its name shows it. */
	is_str(ers_action_name((enum ers_action)ERS_ACTION_COUNT), "unknown",
	       "ERS_ACTION_COUNT is past the last action");
}

int main(void)
{
	struct actor_case actors[] = {
		{ "operator", make_actor(ERS_ROLE_OPERATOR, "operator:root", 0, 0) },
		{ "super admin", make_actor(ERS_ROLE_SUPER_ADMIN, "boss@own.example", TENANT_OWN, 1) },
		{ "tenant admin", make_actor(ERS_ROLE_TENANT_ADMIN, "admin@own.example", TENANT_OWN, 2) },
		{ "user", make_actor(ERS_ROLE_USER, "user@own.example", TENANT_OWN, 3) },
		/* A tenant admin whose tenant is unknown (0) must reach no tenant,
		 * least of all the "tenant 0" of targets that are not tenant-scoped. */
		{ "tenant admin of no tenant", make_actor(ERS_ROLE_TENANT_ADMIN, "lost@own.example", 0, 4) },
	};
	test_action_names();
	for (size_t i = 0; i < sizeof actors / sizeof actors[0]; i++)
		for (int action = 0; action < ERS_ACTION_COUNT; action++)
			each_target(&actors[i].a, (enum ers_action)action);

	/* The message names the actor (with its role) and the action. */
	struct ers_error err;
	struct ers_actor u = actors[3].a;
	struct ers_authz_target other = { .tenant_id = TENANT_OWN, .user_id = 77, .is_user = true,
					  .user_role = ERS_ROLE_USER };
	ers_error_clear(&err);
	is_int(ers_authz_check(&u, ERS_ACT_USER_DELETE, &other, &err), -1, "a user may not delete another");
	is_str(err.message, "user@own.example (user) may not user.delete", "the denial reads: actor (role) may not action");
	/* A tenant admin acting as an operator's --as keeps its own name. */
	struct ers_actor via = actors[2].a;
	snprintf(via.via, sizeof via.via, "operator:root");
	ers_error_clear(&err);
	ers_authz_check(&via, ERS_ACT_TENANT_CREATE, NULL, &err);
	like_str(err.message, "admin@own.example (tenant_admin) may not tenant.create",
		 "under --as the denial names the user acted as");
	/* An admin logged in as the owner (manual 003) reads the mailbox but
	 * keeps its hands off the owner's credentials. */
	struct ers_actor as_owner = u;
	snprintf(as_owner.via, sizeof as_owner.via, "boss@own.example");
	as_owner.impersonated = true;
	struct ers_authz_target self_t = { .tenant_id = TENANT_OWN, .user_id = u.user_id, .is_user = true,
					   .user_role = ERS_ROLE_USER };
	is_int(ers_authz_check(&as_owner, ERS_ACT_USER_VIEW, &self_t, &err), 0, "logged in as the owner: views the owner");
	ers_error_clear(&err);
	is_int(ers_authz_check(&as_owner, ERS_ACT_USER_CHANGE_PASSWORD, &self_t, &err), -1,
	       "logged in as the owner: may not change the owner's password");
	like_str(err.message, "boss@own.example is logged in as the mailbox owner", "... and says why");
	is_int(ers_authz_check(&as_owner, ERS_ACT_MFA_SETUP, &self_t, &err), -1, "... nor set up the owner's MFA");
	struct ers_actor op_as = actors[0].a;
	op_as.impersonated = true;
	is_int(ers_authz_check(&op_as, ERS_ACT_USER_RESET_PASSWORD, &other, &err), -1,
	       "... whoever the admin is");

	/* Outside its sight an actor is not told that a thing is not there:
	 * a missing object is refused like one it may not touch. */
	struct ers_authz_target nowhere = { 0 }, own_wide = { .tenant_id = TENANT_OWN },
				own_user = { .tenant_id = TENANT_OWN, .is_user = true },
				other_user = { .tenant_id = TENANT_OTHER, .is_user = true };
	ok(ers_authz_sees_missing(&actors[0].a, ERS_ACT_USER_VIEW, &nowhere), "an operator is told no user is there");
	ok(ers_authz_sees_missing(&actors[1].a, ERS_ACT_USER_DELETE, &other_user), "so is a super admin");
	ok(ers_authz_sees_missing(&actors[1].a, ERS_ACT_DKIM_VIEW, &nowhere), "... and that no tenant has a domain");
	ok(!ers_authz_sees_missing(&actors[1].a, ERS_ACT_USER_CHANGE_PASSWORD, &own_user),
	   "... but not about a password only its owner changes");
	ok(!ers_authz_sees_missing(&actors[2].a, ERS_ACT_USER_VIEW, &own_user),
	   "a tenant admin is not told an address of its own tenant is free: an admin could have it");
	ok(!ers_authz_sees_missing(&actors[2].a, ERS_ACT_USER_VIEW, &other_user), "... nor one of another tenant");
	ok(!ers_authz_sees_missing(&actors[2].a, ERS_ACT_DNS_VIEW, &nowhere), "... nor that no tenant has a domain");
	ok(ers_authz_sees_missing(&actors[2].a, ERS_ACT_FORWARD_MANAGE, &own_wide),
	   "... but it is that its own domain has no catch-all");
	ok(!ers_authz_sees_missing(&actors[3].a, ERS_ACT_USER_VIEW, &own_user), "a user is told of no one");
	ok(!ers_authz_sees_missing(&actors[4].a, ERS_ACT_FORWARD_MANAGE, &nowhere),
	   "a tenant admin of no tenant is told of nothing");

	printf("# %d cases\n", cases);
	return done_testing();
}
