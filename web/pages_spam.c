/* Manual 002 "Spam Settings" (Spam Score Threshold, Spam Action) and
 * "Whitelist / Blacklist" ("Configuration is done per domain"), manual 003
 * the spam filter and greylisting per mailbox: the user's own settings
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
	return d && *d ? d : web_page_user(r);
}

static void hidden_user(struct web_req *r, struct ers_buf *c, const char *user)
{
	web_csrf_field(r, c);
	if (strcmp(user, r->session.actor.name))
		html(c, "<input type=\"hidden\" name=\"%r\" value=\"%s\">", strchr(user, '@') ? "user" : "domain", user);
}

/* The Whitelist or the Blacklist: each entry with Remove, then Add. */
static void sender_list(struct web_req *r, struct ers_buf *c, const char *user, const char *id, const char *path,
			char **list, size_t n)
{
	if (n) {
		html(c, "<ul class=\"plain\" id=\"%r\">", id);
		for (size_t i = 0; i < n; i++) {
			html(c, "<li>%s <form method=\"post\" action=\"/spam/%r/remove\" class=\"inline\">", list[i], path);
			hidden_user(r, c, user);
			html(c, "<input type=\"hidden\" name=\"sender\" value=\"%s\"><button type=\"submit\">Remove</button>"
				"</form></li>", list[i]);
		}
		html(c, "</ul>");
	} else {
		html(c, "<p id=\"%r\">No addresses yet.</p>", id);
	}
	html(c, "<form method=\"post\" action=\"/spam/%r/add\">", path);
	hidden_user(r, c, user);
	html(c, "<label>Address or domain<input name=\"sender\" maxlength=\"320\" placeholder=\"%r\" "
		"required></label><button type=\"submit\">Add</button></form>",
	     !strcmp(path, "allow") ? "friend@example.com" : "bulk-mailer.example");
}

static const char *const action_labels[] = { "As the domain", "Mark", "Move to Junk", "Reject" };

/* Spam filter, Spam Score Threshold and Spam Action (manual 002). */
static void filter_form(struct web_req *r, struct ers_buf *c, const char *user, const struct ers_spam_settings *s)
{
	html(c, "<h2>Spam filter</h2><p>rspamd scores each message from outside; from the Spam Score Threshold on, "
		"it is spam, and the Spam Action says what becomes of it: Mark (a header, in the Inbox), Move to Junk, "
		"or Reject (the sender's server is told).</p>"
		"<p>Now: <strong id=\"filter-status\">%r</strong>", s->filter_effective ? "On" : "Off");
	if (s->filter_effective) {
		char effective[16];
		snprintf(effective, sizeof effective, "%.2f", s->threshold_effective);
		html(c, ", threshold <strong id=\"threshold-status\">%s</strong>, <strong id=\"action-status\">%r</strong>",
		     effective, action_labels[s->action_effective]);
	}
	html(c, "</p>");
	if (s->is_mailbox && !s->domain_filter) {
		html(c, "<p class=\"hint\">Your domain does not use the spam filter; an administrator can turn it on for "
			"the domain.</p>");
		return;
	}
	html(c, "<form method=\"post\" action=\"/spam/filter\">");
	hidden_user(r, c, user);
	if (s->is_mailbox)
		html(c, "<label>Spam filter<select name=\"filter\"><option value=\"default\"%r>As the domain (on)</option>"
			"<option value=\"off\"%r>Off for this mailbox</option></select></label>",
		     s->filter != ERS_OFF ? " selected" : "", s->filter == ERS_OFF ? " selected" : "");
	else
		html(c, "<label>Spam filter<select name=\"filter\"><option value=\"on\"%r>On</option>"
			"<option value=\"off\"%r>Off</option></select></label>",
		     s->filter == ERS_ON ? " selected" : "", s->filter != ERS_ON ? " selected" : "");
	char threshold[16] = "";
	if (s->threshold)
		snprintf(threshold, sizeof threshold, "%.2f", s->threshold);
	html(c, "<label>Spam Score Threshold<input name=\"threshold\" inputmode=\"decimal\" maxlength=\"6\" "
		"value=\"%s\" placeholder=\"%r\"%r></label>", threshold, s->is_mailbox ? "as the domain" : "5",
	     s->is_mailbox ? "" : " required");
	html(c, "<label>Spam Action<select name=\"action\">");
	for (int a = s->is_mailbox ? ERS_SPAM_AS_DOMAIN : ERS_SPAM_MARK; a <= ERS_SPAM_REJECT; a++)
		html(c, "<option value=\"%r\"%r>%r</option>", ers_spam_action_word((enum ers_spam_action)a),
		     (int)s->action == a ? " selected" : "", action_labels[a]);
	html(c, "</select></label><button type=\"submit\">Save</button></form>"
		"<p class=\"hint\">Spam Score Threshold: 1 to 100, decimals allowed (e.g. 7.5)%r.</p>",
	     s->is_mailbox ? "; empty: as the domain" : "; each mailbox follows the domain unless it sets its own");
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
	filter_form(r, &c, user, &s);
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
		 "treated as spam nor greylisted%r.</p>", s.is_mailbox ? "" : " for any mailbox of the domain");
	sender_list(r, &c, user, "whitelist", "allow", s.allow, s.allow_count);
	html(&c, "<h2>Blacklist</h2><p>Emails from these addresses (or every address of a domain) are always "
		 "treated as spam%r, where the spam filter is on.</p>", s.is_mailbox ? "" : " for any mailbox of the domain");
	sender_list(r, &c, user, "blacklist", "block", s.block, s.block_count);
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

void page_spam_filter_post(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r), *th = web_form(r, "threshold");
	bool mailbox = strchr(user, '@') != NULL;
	struct ers_spam_filter_change ch = { web_form(r, "filter"), th && *th ? th : mailbox ? "default" : "",
					     web_form(r, "action") };
	struct ers_error err;
	int rc;
	if (!ch.filter || !ch.action || (mailbox && !strcmp(ch.filter, "on"))) {
		ers_error_set(&err, ERS_E_INVALID, "The form was incomplete or offered no such choice: reload the page.");
		rc = -1;
	} else {
		rc = ers_spam_set_filter(r->ctx, &r->session.actor, user, &ch, &err);
	}
	after(r, w, user, rc, &err, "Spam filter saved.");
}

void page_spam_block_add(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r);
	struct ers_error err;
	int rc = ers_spam_block_add(r->ctx, &r->session.actor, user, web_form(r, "sender"), &err);
	after(r, w, user, rc, &err, "Added to the blacklist.");
}

void page_spam_block_remove(struct web_req *r, struct web_resp *w)
{
	const char *user = page_user(r);
	struct ers_error err;
	int rc = ers_spam_block_remove(r->ctx, &r->session.actor, user, web_form(r, "sender"), &err);
	after(r, w, user, rc, &err, "Removed from the blacklist.");
}
