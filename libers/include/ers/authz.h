/* The one authorisation policy: does this actor may do this action on this
 * target?  Fronts never decide this themselves. */
#ifndef ERS_AUTHZ_H
#define ERS_AUTHZ_H

#include <stdbool.h>
#include "actor.h"
#include "error.h"

enum ers_action {
	ERS_ACT_TENANT_VIEW,
	ERS_ACT_TENANT_CREATE,
	ERS_ACT_TENANT_EDIT,
	ERS_ACT_TENANT_DELETE,
	ERS_ACT_HOST_VIEW,
	ERS_ACT_HOST_MANAGE,
	ERS_ACT_AUDIT_VIEW,
	ERS_ACT_SCHEMA_MIGRATE,
	ERS_ACT_USER_VIEW,
	ERS_ACT_USER_CREATE,    /* target: the role the new user gets */
	ERS_ACT_USER_EDIT,      /* quota, limits, flags, stored IMAP credentials */
	ERS_ACT_USER_RENAME,    /* first and last name: users may change their own */
	ERS_ACT_USER_SET_ROLE,
	ERS_ACT_USER_RESET_PASSWORD, /* without the current password */
	ERS_ACT_USER_CHANGE_PASSWORD, /* one's own, with the current password */
	ERS_ACT_USER_DISABLE,
	ERS_ACT_USER_ENABLE,
	ERS_ACT_USER_DELETE,
	ERS_ACT_ALIAS_VIEW,
	ERS_ACT_ALIAS_MANAGE,
	ERS_ACT_FORWARD_VIEW,
	ERS_ACT_FORWARD_MANAGE,
	ERS_ACT_DOMAIN_COPY,    /* hidden copies of a domain's inbound mail */
	ERS_ACT_LIMITS_VIEW,    /* send limits: the server's, a tenant's, a domain's, a mailbox's */
	ERS_ACT_LIMITS_SET,     /* send limits of a domain or a mailbox */
	ERS_ACT_LIMITS_SET_TENANT, /* send limits of a tenant, or the server's defaults */
	ERS_ACT_DKIM_VIEW,      /* a domain's DKIM selectors and public TXT records */
	ERS_ACT_DKIM_MANAGE,    /* generate, rotate, disable DKIM keys */
	ERS_ACT_DNS_VIEW,       /* a domain's DNS plan, its live check, the go-live check */
	ERS_ACT_MTASTS_SET,     /* a domain's MTA-STS mode */
	ERS_ACT_MFA_SETUP,      /* enrol one's own authenticator app */
	ERS_ACT_MFA_VIEW,       /* whether a user has MFA on, locked out */
	ERS_ACT_MFA_RESET,      /* turn a user's MFA off (a lost phone) */
	ERS_ACT_USER_WELCOME,   /* send a user its welcome email (again) */
	ERS_ACT_SCAN_VIEW,      /* scanner status (no target) and scan records (a tenant's, or all) */
	ERS_ACT_SCAN_SELFTEST,  /* run the scanner's clean and EICAR self-tests */
	ERS_ACT_ARCHIVE_VIEW,   /* list and show archives (not their contents) */
	ERS_ACT_ARCHIVE_CREATE, /* archive a mailbox (personal: oneself; tenant: an admin's) */
	ERS_ACT_ARCHIVE_DECRYPT, /* download, delete an archive, export its key: the key's owner */
	ERS_ACT_ARCHIVE_POLICY_VIEW,
	ERS_ACT_ARCHIVE_POLICY_SET,
	ERS_ACT_ARCHIVE_RUN,    /* `archive run` for cron: operators */
	ERS_ACT_BACKUP,         /* secure backups: create, verify, restore (issue 17) */
	ERS_ACT_SMIME_VIEW,     /* a user's S/MIME identity status and recipient certificates */
	ERS_ACT_SMIME_MANAGE,   /* save or remove them */
	ERS_ACT_SMIME_USE,      /* sign or decrypt with a user's private key: the user alone */
	ERS_ACT_USER_IMPERSONATE, /* open a user's webmail as the user (manual 003 "Log in as mailbox owner") */
	ERS_ACT_MIGRATE,        /* IMAP migration into a mailbox: start, see, cancel (manual 002) */
	ERS_ACT_MAILBOX_CLEAR,  /* delete a mailbox's messages, all or some (manual 003) */
	ERS_ACT_AUTOREPLY_VIEW, /* a mailbox's autoresponder (manual 002) */
	ERS_ACT_AUTOREPLY_SET,
	ERS_ACT_SPAM_VIEW,      /* greylisting and allowed senders of a domain or a mailbox */
	ERS_ACT_SPAM_SET,
	ERS_ACT_SHARED_VIEW,    /* shared mailboxes of a tenant and who has access (manual 004) */
	ERS_ACT_SHARED_MANAGE,  /* create, delete, grant, revoke */
};
/* Keep it after the last action: test/unit/authz.c fails when it falls short. */
#define ERS_ACTION_COUNT (ERS_ACT_SHARED_MANAGE + 1)

struct ers_authz_target {
	long long tenant_id;     /* 0: not tenant-scoped */
	long long user_id;       /* the user acted on, 0: none (tenant-wide) */
	bool is_user;            /* user_role is meaningful (also for a user to be created) */
	enum ers_role user_role; /* the target user's role */
};

/* 0 when allowed; -1 with ERS_E_PERMISSION and a message naming the action. */
int ers_authz_check(const struct ers_actor *actor, enum ers_action action,
		    const struct ers_authz_target *target, struct ers_error *err);
const char *ers_action_name(enum ers_action action);

#endif
