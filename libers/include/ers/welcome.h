/* Welcome emails (manual 000 "Welcome Emails"): a new user's login URL,
 * username, role, a summary of what the role may do and the manual for the
 * role -- /manual/user for users, /manual/admin for tenant admins and super
 * admins -- all under the server's WELCOME_EMAIL_BASE_URL (welcome.base_url
 * in ers.yaml).  Never the password.  Plain text with an HTML alternative,
 * built with GMime and sent through the one send function (ers_mail_send)
 * over submission, so the stack DKIM-signs it.
 *
 * The sender is welcome.sender, by default postmaster@ the tenant's primary
 * domain; it must be a mailbox or an alias on this server, because the
 * message is submitted as the mailbox that owns it, logged in as Dovecot's
 * master user (mailstack.master_user, WEBMAIL_MASTER_PASSWORD), and Postfix
 * lets a login send only as its own addresses. */
#ifndef ERS_WELCOME_H
#define ERS_WELCOME_H

#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

/* What the email is about. */
struct ers_welcome {
	const char *address;    /* the username: the user's e-mail address */
	const char *first_name; /* "" or NULL: greeted without a name */
	enum ers_role role;
	const char *tenant;     /* the organisation's name */
	const char *base_url;   /* https://..., no trailing '/' */
};

/* "/manual/user" or "/manual/admin". */
const char *ers_welcome_manual_path(enum ers_role role);
/* The subject, the plain text and the HTML of the email (appended). */
void ers_welcome_render(const struct ers_welcome *w, struct ers_buf *subject, struct ers_buf *text,
			struct ers_buf *html);

/* What was sent. */
struct ers_welcome_result {
	char sender[330];
	char message_id[300];
	char manual_url[300];
};

/* Sends the user at `address` its welcome email (again), under the policy's
 * user.welcome (super admins: anyone; tenant admins: their tenant's regular
 * users).  One audit row, user.welcome, says it was sent (from whom, with
 * which manual link, its Message-ID) or why not; -1 when it was not sent,
 * `err` saying why (ERS_E_CONFIG: no base URL, no master password, a sender
 * that is no address here; ERS_E_UNAVAILABLE and others: the SMTP
 * submission's answer). */
int ers_user_welcome(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_welcome_result *result_r, struct ers_error *err);

#endif
