/* Welcome emails (welcome.h): rendered here, built and sent by mail/ (the
 * one send function), recorded by one audit row, user.welcome, each time
 * one is sent or fails to be -- after `user add --send-welcome` as after
 * `user welcome` (a resend).  The send comes after the user's own commit:
 * Postfix finds the new mailbox only once it is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ers/compose.h"
#include "ers/sanitize.h"
#include "ers/welcome.h"
#include "accounts/internal.h"

const char *ers_welcome_manual_path(enum ers_role role)
{
	return role == ERS_ROLE_USER ? "/manual/user" : "/manual/admin";
}

static const char *role_title(enum ers_role role)
{
	switch (role) {
	case ERS_ROLE_SUPER_ADMIN: return "Super Admin";
	case ERS_ROLE_TENANT_ADMIN: return "Tenant Admin";
	case ERS_ROLE_OPERATOR: return "Operator";
	case ERS_ROLE_USER: break;
	}
	return "User";
}

/* What each role may do: the rules of core/authz.c, in words. */
static const char *const user_features[] = {
	"Read your mail in the webmail: folders, messages, attachments; mail from outside your organisation is marked",
	"Write, reply to and forward messages, with attachments",
	"Change your password",
	"Turn on two-step sign-in (MFA) with the FreeOTP app",
	NULL,
};
static const char *const tenant_admin_features[] = {
	"Everything a user can do with your own mailbox",
	"Manage your organisation's regular users: add them, change their names and quotas, reset their passwords, "
	"disable, enable and delete them, and reset their MFA",
	"Manage their aliases and forwards, and the send limits of your domains and users",
	"See your organisation, its DNS and DKIM records, and its audit log",
	NULL,
};
static const char *const super_admin_features[] = {
	"Everything a user can do with your own mailbox",
	"Manage every tenant (organisation) with its domains and limits",
	"Manage every user and assign roles (User, Tenant Admin, Super Admin)",
	"Manage aliases, forwards and send limits at every level",
	"Manage DKIM keys and MTA-STS modes, see DNS records and the audit log",
	NULL,
};

static const char *const *features_of(enum ers_role role)
{
	return role == ERS_ROLE_SUPER_ADMIN ? super_admin_features
	       : role == ERS_ROLE_TENANT_ADMIN ? tenant_admin_features : user_features;
}

static void html_adds(struct ers_buf *out, const char *s)
{
	ers_html_escape(out, s, strlen(s));
}

void ers_welcome_render(const struct ers_welcome *w, struct ers_buf *subject, struct ers_buf *text,
			struct ers_buf *html)
{
	const char *name = w->first_name && *w->first_name ? w->first_name : NULL;
	const char *manual_path = ers_welcome_manual_path(w->role);
	const char *manual_name = w->role == ERS_ROLE_USER ? "User manual" : "Admin manual";
	struct ers_buf login = ERS_BUF_INIT, manual = ERS_BUF_INIT;
	ers_buf_addf(&login, "%s/login", w->base_url);
	ers_buf_addf(&manual, "%s%s", w->base_url, manual_path);
	const char *const *features = features_of(w->role);

	ers_buf_addf(subject, "Welcome to your %s e-mail account", w->tenant);

	ers_buf_addf(text, "Hello%s%s,\n\n", name ? " " : "", name ? name : "");
	ers_buf_addf(text, "an e-mail account of %s has been created for you.\n\n", w->tenant);
	ers_buf_addf(text, "Login URL: %s\nUsername:  %s\nRole:      %s\n\n", login.data, w->address, role_title(w->role));
	ers_buf_adds(text, "What you can do:\n");
	for (size_t i = 0; features[i]; i++)
		ers_buf_addf(text, "  - %s\n", features[i]);
	ers_buf_addf(text, "\n%s: %s\n\n", manual_name, manual.data);
	ers_buf_adds(text, "Your temporary password is not included in this email. Your administrator gives it to "
			   "you separately through a secure channel; change it after you first sign in.\n");

	ers_buf_adds(html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	html_adds(html, subject->data);
	ers_buf_adds(html, "</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n<p>Hello");
	if (name) {
		ers_buf_adds(html, " ");
		html_adds(html, name);
	}
	ers_buf_adds(html, ",</p>\n<p>an e-mail account of ");
	html_adds(html, w->tenant);
	ers_buf_adds(html, " has been created for you.</p>\n<table>\n<tr><th align=\"left\">Login URL</th><td><a href=\"");
	html_adds(html, login.data);
	ers_buf_adds(html, "\">");
	html_adds(html, login.data);
	ers_buf_adds(html, "</a></td></tr>\n<tr><th align=\"left\">Username</th><td>");
	html_adds(html, w->address);
	ers_buf_adds(html, "</td></tr>\n<tr><th align=\"left\">Role</th><td>");
	html_adds(html, role_title(w->role));
	ers_buf_adds(html, "</td></tr>\n</table>\n<p>What you can do:</p>\n<ul>\n");
	for (size_t i = 0; features[i]; i++) {
		ers_buf_adds(html, "<li>");
		html_adds(html, features[i]);
		ers_buf_adds(html, "</li>\n");
	}
	ers_buf_adds(html, "</ul>\n<p>");
	html_adds(html, manual_name);
	ers_buf_adds(html, ": <a href=\"");
	html_adds(html, manual.data);
	ers_buf_adds(html, "\">");
	html_adds(html, manual.data);
	ers_buf_adds(html, "</a></p>\n<p>Your temporary password is not included in this email. Your administrator gives "
			   "it to you separately through a secure channel; change it after you first sign in.</p>\n"
			   "</body></html>\n");
	ers_buf_free(&login);
	ers_buf_free(&manual);
}

/* The user to welcome, with its tenant and primary domain. */
struct target {
	long long id, tenant_id;
	enum ers_role role;
	char *address, *first_name, *tenant, *primary;
};

static void target_free(struct target *t)
{
	free(t->address);
	free(t->first_name);
	free(t->tenant);
	free(t->primary);
}

static int load_target(struct ers_ctx *ctx, const char *input, struct target *t, struct ers_error *err)
{
	struct ers_buf address = ERS_BUF_INIT;
	if (ers_address_normalize(input, &address, err) < 0) {
		ers_buf_free(&address);
		return -1;
	}
	const char *params[] = { address.data };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.id, m.tenant_id, m.role, m.address, m.first_name, t.name,"
		" coalesce((SELECT d.name FROM ers.domain d WHERE d.tenant_id = t.id AND d.is_primary),"
		" split_part(m.address, '@', 2))"
		" FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id WHERE m.address = $1",
		1, params, err);
	int rc = -1;
	if (res && PQntuples(res) == 0)
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", address.data);
	else if (res) {
		t->id = ers_db_ll(res, 0, 0);
		t->tenant_id = ers_db_ll(res, 0, 1);
		const char *role = ers_db_str(res, 0, 2);
		t->role = !strcmp(role, "super_admin") ? ERS_ROLE_SUPER_ADMIN
			  : !strcmp(role, "tenant_admin") ? ERS_ROLE_TENANT_ADMIN : ERS_ROLE_USER;
		t->address = ers_xstrdup(ers_db_str(res, 0, 3));
		t->first_name = ers_xstrdup(ers_db_str(res, 0, 4));
		t->tenant = ers_xstrdup(ers_db_str(res, 0, 5));
		t->primary = ers_xstrdup(ers_db_str(res, 0, 6));
		rc = 0;
	}
	PQclear(res);
	ers_buf_free(&address);
	return rc;
}

/* The mailbox that may send as `sender` (itself, or the owner of an alias). */
static int sender_login(struct ers_ctx *ctx, const char *sender, struct ers_buf *login, struct ers_error *err)
{
	const char *params[] = { sender };
	PGresult *res = ers_db_exec(ctx,
		"SELECT address FROM ers.mailbox WHERE address = $1 UNION ALL"
		" SELECT m.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id WHERE a.address = $1 LIMIT 1",
		1, params, err);
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) == 0) {
		ers_error_set(err, ERS_E_CONFIG,
			      "the sender %s is neither a mailbox nor an alias here: add it (ersctl alias add %s --to AN-ADMIN) "
			      "or set welcome.sender in ers.yaml", sender, sender);
		rc = -1;
	} else {
		ers_buf_adds(login, ers_db_str(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

/* Builds and submits the email; fills `r`. */
static int send_to(struct ers_ctx *ctx, const struct target *t, struct ers_welcome_result *r, struct ers_error *err)
{
	const struct ers_config *cfg = ctx->cfg;
	if (!cfg->welcome.base_url) {
		ers_error_set(err, ERS_E_CONFIG, "WELCOME_EMAIL_BASE_URL is not set (welcome.base_url in ers.yaml, or the "
			      "environment variable): the email's links would have nowhere to point");
		return -1;
	}
	if (!cfg->secrets.webmail_master_password) {
		ers_error_set(err, ERS_E_CONFIG, "WEBMAIL_MASTER_PASSWORD is not set in the secrets: welcome emails are "
			      "submitted as Dovecot's master user");
		return -1;
	}
	struct ers_buf sender = ERS_BUF_INIT, login = ERS_BUF_INIT, subject = ERS_BUF_INIT, text = ERS_BUF_INIT,
		       html = ERS_BUF_INIT, from_name = ERS_BUF_INIT;
	if (cfg->welcome.sender)
		ers_buf_adds(&sender, cfg->welcome.sender);
	else
		ers_buf_addf(&sender, "postmaster@%s", t->primary);
	snprintf(r->sender, sizeof r->sender, "%s", sender.data);
	int rc = -1;
	struct ers_built_mail *built = NULL;
	if (sender_login(ctx, sender.data, &login, err) < 0)
		goto out;
	ers_buf_addf(&login, "*%s", cfg->mailstack.master_user);
	struct ers_welcome w = { .address = t->address, .first_name = t->first_name, .role = t->role,
				 .tenant = t->tenant, .base_url = cfg->welcome.base_url };
	ers_welcome_render(&w, &subject, &text, &html);
	snprintf(r->manual_url, sizeof r->manual_url, "%s%s", cfg->welcome.base_url, ers_welcome_manual_path(t->role));
	ers_buf_addf(&from_name, "%s", t->tenant);
	struct ers_compose c = { .from = sender.data, .from_name = from_name.data, .to = t->address,
				 .subject = subject.data, .body = text.data, .body_html = html.data };
	/* Where this node's submission service listens (as the webmail). */
	const char *listen = cfg->mailstack.listen;
	struct ers_smtp_params smtp = {
		.host = listen && *listen && strcmp(listen, "*") ? listen : cfg->mailstack.hostname,
		.port = cfg->mailstack.submission_port,
		.tls = cfg->mailstack.tls_cert && *cfg->mailstack.tls_cert ? ERS_SMTP_STARTTLS : ERS_SMTP_PLAIN,
		.ca_file = cfg->dns.ca_file,
		.username = login.data,
		.password = cfg->secrets.webmail_master_password,
		.timeout_s = 30,
	};
	if (ers_mail_send(ctx, &smtp, &c, &built, err) < 0)
		goto out;
	snprintf(r->message_id, sizeof r->message_id, "%s", built->message_id);
	rc = 0;
out:
	ers_built_mail_free(built);
	ers_buf_free(&sender);
	ers_buf_free(&login);
	ers_buf_free(&subject);
	ers_buf_free(&text);
	ers_buf_free(&html);
	ers_buf_free(&from_name);
	return rc;
}

int ers_user_welcome(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
		     struct ers_welcome_result *r, struct ers_error *err)
{
	struct ers_welcome_result ignored;
	if (!r)
		r = &ignored;
	memset(r, 0, sizeof *r);
	struct target t = { 0 };
	if (load_target(ctx, address, &t, err) < 0)
		return -1;
	struct ers_authz_target at = { .tenant_id = t.tenant_id, .user_id = t.id, .is_user = true, .user_role = t.role };
	if (ers_authz_require(ctx, actor, ERS_ACT_USER_WELCOME, &at, t.address, err) < 0) {
		target_free(&t);
		return -1;
	}
	struct ers_error why;
	int rc = send_to(ctx, &t, r, &why);
	struct ers_buf detail = ERS_BUF_INIT;
	if (rc == 0)
		ers_buf_addf(&detail, "sent from %s, role %s, manual %s, Message-ID <%s>", r->sender,
			     ers_role_name(t.role), r->manual_url, r->message_id);
	else
		ers_buf_addf(&detail, "not sent: %s", why.message);
	/* The attempt is recorded either way: an audit row of its own. */
	struct ers_error aerr;
	if (ers_db_begin(ctx, &aerr) < 0 ||
	    ers_db_commit_audited(ctx, actor, "user.welcome", t.address, t.tenant_id, t.tenant, detail.data, &aerr) < 0) {
		if (rc == 0)
			ers_ctx_warn(ctx, "the welcome email to %s was sent, but its audit row was not written: %s", t.address,
				     aerr.message);
	}
	if (rc < 0)
		*err = why;
	ers_buf_free(&detail);
	target_free(&t);
	return rc;
}
