/* Webmail sign-in and sessions (manual 000 "Logging In", "Logging Out",
 * "Session Management", "Changing Your Password").
 *
 * A session is a 256-bit random token (RAND_bytes), handed to the browser
 * once as base64url text in the cookie ERS_SESSION_COOKIE and stored only as
 * its SHA-256.  Every login makes a new token.  A session ends after
 * ERS_SESSION_IDLE_DAYS days without a request, at logout, and -- every
 * session of the user -- when the password changes, the user is disabled or
 * MFA is reset.  It is not bound to the client address (mobile networks
 * change it); the last address seen is kept.
 *
 * With MFA on, the password alone gives an MFA-pending session: its token
 * is good only for ers_login_mfa(), for ERS_SESSION_PENDING_SECONDS, which
 * ends it and makes a new, full one.
 *
 * Failed logins are slowed per address typed and per client address: after
 * ERS_LOGIN_FREE_PER_ACCOUNT failures of one address (ERS_LOGIN_FREE_PER_CLIENT
 * from one client) within 15 minutes, the next try must wait 2, 4, 8, ... up
 * to ERS_LOGIN_MAX_DELAY seconds after the last failure.  The library never
 * sleeps (a CGI must not hold a process): an attempt too early is refused
 * with ERS_E_UNAVAILABLE, "too many failed logins; try again in N s", and
 * the password is not even looked at.  Every failed login and every
 * successful one writes an audit row (never the password).  A wrong address
 * and a wrong password read the same -- "wrong email or password" -- and
 * take the same time. */
#ifndef ERS_SESSION_H
#define ERS_SESSION_H

#include <stdbool.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#define ERS_SESSION_COOKIE "__Host-ers_session"
#define ERS_SESSION_IDLE_DAYS 7
#define ERS_SESSION_PENDING_SECONDS 300
#define ERS_LOGIN_FREE_PER_ACCOUNT 3
#define ERS_LOGIN_FREE_PER_CLIENT 10
#define ERS_LOGIN_MAX_DELAY 30
#define ERS_USER_AGENT_MAX 200      /* bytes kept of the User-Agent */
/* base64url of 32 bytes, without padding, and the NUL. */
#define ERS_SESSION_TOKEN_SIZE 44
#define ERS_CSRF_TOKEN_SIZE 44
#define ERS_IMPERSONATION_SECONDS 3600 /* a session as the owner ends this long after it began */
#define ERS_IMPERSONATION_REASON_MAX 200

struct ers_session {
	char token[ERS_SESSION_TOKEN_SIZE]; /* the cookie value; wipe with ers_session_clear */
	bool mfa_pending;        /* password right, code still needed */
	struct ers_actor actor;  /* who the session is (the user; role and tenant as now) */
	char created_at[40];     /* ISO 8601 UTC */
	char last_seen[40];
	char expires_at[40];     /* when it ends without another request */
	/* A "Log in as mailbox owner" session (then actor.impersonated, and
	 * actor.via is the admin): who opened it and why; else "". */
	char impersonator[320];
	char reason[ERS_IMPERSONATION_REASON_MAX + 1];
};

/* Step one: email and password.  On success `session_r` is a full session,
 * or -- the user has MFA on -- an MFA-pending one (session_r->mfa_pending).
 * `client_ip` is the client's IPv4 or IPv6 address (REMOTE_ADDR);
 * `user_agent` may be NULL and is kept truncated.  Refusals:
 * ERS_E_PERMISSION "wrong email or password" (or, the password being
 * right, a disabled account), ERS_E_UNAVAILABLE while throttled. */
int ers_login_password(struct ers_ctx *ctx, const char *address, const char *password,
		       const char *client_ip, const char *user_agent, struct ers_session *session_r,
		       struct ers_error *err);
/* Step two: the 6-digit code for an MFA-pending token.  On success the
 * pending session is gone and `session_r` is a new full one (a new token). */
int ers_login_mfa(struct ers_ctx *ctx, const char *pending_token, const char *code,
		  const char *client_ip, struct ers_session *session_r, struct ers_error *err);
/* The session of a request's cookie: fills `session_r` (its actor is the
 * one to pass to every other call) and notes the request, at most once a
 * minute.  ERS_E_PERMISSION when there is none, it expired, it is only
 * MFA-pending, or the user is disabled. */
int ers_session_check(struct ers_ctx *ctx, const char *token, const char *client_ip,
		      struct ers_session *session_r, struct ers_error *err);
/* Whether the session of `token` still stands (1) or ended -- logged out,
 * expired, the user's password changed or the user disabled -- (0),
 * without noting a request: for a front that keeps something per session
 * (the webmail's FastCGI workers their IMAP connections).  -1 on error. */
int ers_session_alive(struct ers_ctx *ctx, const char *token, struct ers_error *err);
/* Ends the session on the server (one audit row); a token that is no
 * session (any more) is no error. */
int ers_session_logout(struct ers_ctx *ctx, const char *token, struct ers_error *err);
/* The password page: current, new and its confirmation.  Every session of
 * the user ends, this one too (log in again); the new password reaches IMAP
 * and SMTP at once.  A wrong current password counts as a failed login. */
int ers_session_passwd(struct ers_ctx *ctx, const struct ers_session *s, const char *current,
		       const char *new_password, const char *confirm, const char *client_ip,
		       struct ers_error *err);
/* Manual 003 "Log in as mailbox owner": `actor` (a super admin, or a
 * tenant admin for a regular user of its tenant) opens a session as the
 * user `address`, saying why (`reason`: 1..200 printable characters,
 * required).  The session is the owner's in every way but three: it ends
 * ERS_IMPERSONATION_SECONDS after it began, whatever the activity; it may
 * not change the owner's password or MFA (the policy refuses); and the
 * admin is named in the audit row of everything it does (actor.via).  One
 * audit row, "session.impersonate", with the reason; the owner sees it on
 * the Account activity page (ers_account_activity). */
int ers_session_impersonate(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			    const char *reason, const char *client_ip, const char *user_agent,
			    struct ers_session *session_r, struct ers_error *err);

/* One line of a user's account activity: a login of their own, or a
 * session an admin opened as them. */
struct ers_activity_entry {
	char at[40];            /* ISO 8601 UTC */
	bool by_admin;          /* an admin logged in as the owner */
	char *who;              /* the owner, or the admin */
	char *detail;           /* how and from where; for an admin, the reason */
};
struct ers_activity_list {
	size_t count;
	struct ers_activity_entry *items;
};
/* The newest `limit` (0: 50) logins to the mailbox `address` and sessions
 * opened as its owner, newest first; seen by whoever may view the user. */
int ers_account_activity(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, int limit,
			 struct ers_activity_list **list_r, struct ers_error *err);
void ers_activity_list_free(struct ers_activity_list *list);

/* Wipes the token. */
void ers_session_clear(struct ers_session *s);

/* CSRF: the token every form of a session posts back, derived from the
 * session token (HMAC-SHA256 keyed with it, base64url), so nothing more is
 * stored; check compares in constant time. */
void ers_session_csrf_token(const struct ers_session *s, char out[ERS_CSRF_TOKEN_SIZE]);
bool ers_session_csrf_check(const struct ers_session *s, const char *given);

/* Cookies: the Set-Cookie value for a session (Path=/, Secure, HttpOnly,
 * SameSite=Lax; Max-Age the idle time, or the pending time), the one that
 * deletes it, and the session token found in a Cookie header ("" when none
 * or malformed; at most ERS_SESSION_TOKEN_SIZE - 1 characters). */
void ers_session_cookie(const struct ers_session *s, struct ers_buf *out);
void ers_session_cookie_clear(struct ers_buf *out);
void ers_session_cookie_token(const char *cookie_header, char token_r[ERS_SESSION_TOKEN_SIZE]);

#endif
