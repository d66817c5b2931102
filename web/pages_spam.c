/* Manual 002 "Spam Settings" and "Whitelist" ("Configuration is done per
 * domain"), manual 003 greylisting per mailbox: the user's own settings
 * page, the same page for an admin's user (?user=EMAIL, linked from the
 * Users list), and a domain's (?domain=DOMAIN, linked from a user's page
 * for admins).  The rules and the policy are libers's (ers/spam.h). */
#include <stdio.h>
#include <string.h>
#include "html.h"
#include "web.h"

/* The target: a domain (?domain=), a user (?user=), or oneself. */
static const char *page_user(const struct web_req *r)
{
	const char *d = web_form(r, "domain");
	if (!d || !*d)
		d = web_query(r, "domain");
	if (d && *d)
		return d;
	const char *u = web_form(r, "user");
	if (!u || !*u)
		u = web_query(r, "user");
	return u && *u ? u : r->session.actor.name;
}

static void hidden_user(struct web_req *r, struct ers_buf *c, const char *user)
{
	web_csrf_field(r, c);
	if (strcmp(user, r->session.actor.name))
		html(c, "<input type=\"hidden\" name=\"%r\" value=\"%s\">", strchr(user, '@') ? "user" : "domain", user);
}

/* The page for `user`, with a message after a change or an error. */
static void spam_page(struct web_req *r, struct web_resp *w, const char *user, const char *error, const char *saved)
{
	struct ers_spam_settings s;
	struct ers_error err;
	if (ers_spam_get(r->ctx, &r->session.actor, user, &s, &err) < 0) {
		ers_spam_settings_free(&s);
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Spam Settings</h1>");
	if (strcmp(user, r->session.actor.name))
		html(&c, "<p>For <strong>%s</strong></p>", s.target);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	if (saved)
		html(&c, "<p class=\"ok\" role=\"status\">%s</p>", saved);
	html(&c, "<h2>Greylisting</h2><p>Temporarily reject unknown senders: a real mail server tries again a few "
		 "minutes later and its mail arrives; most spam is never sent again.</p>"
		 "<p>Now: <strong id=\"greylisting-status\">%r</strong></p>",
	     s.greylisting_effective ? "On" : "Off");
	if (!s.is_mailbox) {
		html(&c, "<form method=\"post\" action=\"/spam/greylisting\">");
		hidden_user(r, &c, user);
		html(&c, "<label>Greylisting<select name=\"greylisting\"><option value=\"on\"%r>On</option>"
			 "<option value=\"off\"%r>Off</option></select></label><button type=\"submit\">Save</button></form>"
			 "<p class=\"hint\">Each mailbox of the domain follows this unless it turns greylisting off for "
			 "itself.</p>",
		     s.greylisting == ERS_ON ? " selected" : "", s.greylisting != ERS_ON ? " selected" : "");
	} else if (!s.domain_greylisting) {
		html(&c, "<p class=\"hint\">Your domain does not use greylisting; an administrator can turn it on for the "
			 "domain.</p>");
	} else {
		html(&c, "<form method=\"post\" action=\"/spam/greylisting\">");
		hidden_user(r, &c, user);
		html(&c, "<label>Greylisting<select name=\"greylisting\">"
			 "<option value=\"default\"%r>As the domain (on)</option>"
			 "<option value=\"off\"%r>Off for this mailbox</option></select></label>"
			 "<button type=\"submit\">Save</button></form>",
		     s.greylisting != ERS_OFF ? " selected" : "", s.greylisting == ERS_OFF ? " selected" : "");
	}
	html(&c, "<h2>Whitelist</h2><p>Emails from these addresses (or every address of a domain) are never "
		 "greylisted%r.</p>", s.is_mailbox ? "" : " for any mailbox of the domain");
	if (s.allow_count) {
		html(&c, "<ul class=\"plain\" id=\"whitelist\">");
		for (size_t i = 0; i < s.allow_count; i++) {
			html(&c, "<li>%s <form method=\"post\" action=\"/spam/allow/remove\" class=\"inline\">", s.allow[i]);
			hidden_user(r, &c, user);
			html(&c, "<input type=\"hidden\" name=\"sender\" value=\"%s\"><button type=\"submit\">Remove</button>"
				 "</form></li>", s.allow[i]);
		}
		html(&c, "</ul>");
	} else {
		html(&c, "<p id=\"whitelist\">No addresses yet.</p>");
	}
	html(&c, "<form method=\"post\" action=\"/spam/allow/add\">");
	hidden_user(r, &c, user);
	html(&c, "<label>Address or domain<input name=\"sender\" maxlength=\"320\" placeholder=\"friend@example.com\" "
		 "required></label><button type=\"submit\">Add</button></form>");
	const char *at = strchr(s.target, '@');
	if (at && r->session.actor.role != ERS_ROLE_USER)
		html(&c, "<p><a href=\"/spam?domain=%u\">Spam Settings of %s</a></p>", at + 1, at + 1);
	html(&c, "</section>");
	web_page(r, w, "Spam Settings", c.data);
	ers_buf_free(&c);
	ers_spam_settings_free(&s);
}

void page_spam(struct web_req *r, struct web_resp *w)
{
	spam_page(r, w, page_user(r), NULL, NULL);
}

/* The outcome of a change: the page again, with what happened. */
static void after(struct web_req *r, struct web_resp *w, const char *user, int rc, struct ers_error *err,
		  const char *saved)
{
	if (rc < 0) {
		/* Refused by the policy or a target out of reach: the usual error page. */
		if (err->code == ERS_E_PERMISSION) {
			web_ers_error(r, w, err);
			return;
		}
		w->status = web_status_of(err->code);
		spam_page(r, w, user, err->message, NULL);
		return;
	}
	spam_page(r, w, user, NULL, saved);
}

void page_spam_greylisting_post(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r), *v = web_form(r, "greylisting");
	struct ers_error err;
	int rc;
	bool mailbox = strchr(user, '@') != NULL;
	bool valid = v && (!strcmp(v, "off") || !strcmp(v, mailbox ? "default" : "on"));
	if (!valid) {
		ers_error_set(&err, ERS_E_INVALID, mailbox ? "Greylisting must be \"As the domain\" or \"Off\"."
							   : "Greylisting must be On or Off.");
		rc = -1;
	} else {
		enum ers_tristate t = !strcmp(v, "off") ? ERS_OFF : mailbox ? ERS_UNSET : ERS_ON;
		rc = ers_spam_set_greylisting(r->ctx, &r->session.actor, user, t, &err);
	}
	after(r, w, user, rc, &err, "Greylisting saved.");
}

void page_spam_allow_add(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r);
	struct ers_error err;
	int rc = ers_spam_allow_add(r->ctx, &r->session.actor, user, web_form(r, "sender"), &err);
	after(r, w, user, rc, &err, "Added to the whitelist.");
}

void page_spam_allow_remove(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r);
	struct ers_error err;
	int rc = ers_spam_allow_remove(r->ctx, &r->session.actor, user, web_form(r, "sender"), &err);
	after(r, w, user, rc, &err, "Removed from the whitelist.");
}
