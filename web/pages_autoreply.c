/* Manual 002 "Autoresponder": the user's own settings page, and the same
 * page for an admin's user (?user=EMAIL, linked from the Users list).  The
 * rules and the policy are libers's (ers/autoreply.h). */
#include <stdio.h>
#include <string.h>
#include "html.h"
#include "web.h"

/* The form, filled from `a` (NULL: from what was posted, after an error). */
static void autoreply_form(struct web_req *r, struct web_resp *w, const char *user, const struct ers_autoreply *a,
			   const char *error, const char *saved)
{
	bool self = !strcmp(user, r->session.actor.name);
	const char *enabled = a ? (a->enabled ? "1" : NULL) : web_form(r, "enabled");
	const char *subject = a ? a->subject : web_form(r, "subject");
	const char *message = a ? a->message : web_form(r, "message");
	const char *start = a ? a->starts_on : web_form(r, "start");
	const char *end = a ? a->ends_on : web_form(r, "end");
	const char *interval = web_form(r, "interval");
	char days[16];
	if (a) {
		snprintf(days, sizeof days, "%d", a->interval_days);
		interval = days;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Autoresponder</h1>");
	if (!self)
		html(&c, "<p>For <strong>%s</strong></p>", user);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	if (saved)
		html(&c, "<p class=\"ok\" role=\"status\">%s</p>", saved);
	if (a)
		html(&c, "<p>Status: <strong id=\"autoreply-status\">%s</strong>%s</p>", a->active ? "Active" : "Inactive",
		     a->enabled && !a->active ? " (outside its dates)" : "");
	html(&c, "<form method=\"post\" action=\"/autoreply\">");
	web_csrf_field(r, &c);
	if (!self)
		html(&c, "<input type=\"hidden\" name=\"user\" value=\"%s\">", user);
	html(&c, "<label><input type=\"checkbox\" name=\"enabled\" value=\"1\"%r> Enabled</label>"
		 "<label>Subject<input name=\"subject\" maxlength=\"200\" value=\"%s\" required></label>"
		 "<label>Message<textarea name=\"message\" rows=\"8\" required>%s</textarea></label>"
		 "<label>Start Date<input type=\"date\" name=\"start\" value=\"%s\"></label>"
		 "<label>End Date<input type=\"date\" name=\"end\" value=\"%s\"></label>"
		 "<label>Days before the same sender is answered again<input type=\"number\" name=\"interval\" min=\"1\" "
		 "max=\"365\" value=\"%s\"></label>"
		 "<button type=\"submit\">Save</button></form>"
		 "<p class=\"hint\">If start and end dates are set, the autoresponder is only active during this period "
		 "(days in %s). Without date specifications, it is permanently active.</p></section>",
	     enabled ? " checked" : "", subject ? subject : "", message ? message : "", start ? start : "",
	     end ? end : "", interval && *interval ? interval : "1", a && *a->time_zone ? a->time_zone : "your organisation's time zone");
	web_page(r, w, "Autoresponder", c.data);
	ers_buf_free(&c);
}

void page_autoreply(struct web_req *r, struct web_resp *w)
{
	const char *user = web_page_user(r);
	struct ers_autoreply a;
	struct ers_error err;
	if (ers_autoreply_get(r->ctx, &r->session.actor, user, &a, &err) < 0) {
		ers_autoreply_free(&a);
		web_ers_error(r, w, &err);
		return;
	}
	autoreply_form(r, w, user, &a, NULL, NULL);
	ers_autoreply_free(&a);
}

void page_autoreply_post(struct web_req *r, struct web_resp *w)
{
	const char *user = web_page_user(r), *interval = web_form(r, "interval");
	struct ers_error err;
	long long days = 1;
	if (interval && *interval && ers_int_parse(interval, "the interval", 1, ERS_AUTOREPLY_INTERVAL_MAX, &days, &err) < 0) {
		w->status = web_status_of(err.code);
		autoreply_form(r, w, user, NULL, err.message, NULL);
		return;
	}
	struct ers_autoreply_input in = {
		.enabled = web_form(r, "enabled") != NULL,
		.subject = web_form(r, "subject"),
		.message = web_form(r, "message"),
		.starts_on = web_form(r, "start"),
		.ends_on = web_form(r, "end"),
		.interval_days = (int)days,
	};
	if (ers_autoreply_set(r->ctx, &r->session.actor, user, &in, &err) < 0) {
		w->status = web_status_of(err.code);
		autoreply_form(r, w, user, NULL, err.message, NULL);
		return;
	}
	struct ers_autoreply a;
	if (ers_autoreply_get(r->ctx, &r->session.actor, user, &a, &err) < 0) {
		ers_autoreply_free(&a);
		web_ers_error(r, w, &err);
		return;
	}
	autoreply_form(r, w, user, &a, NULL, "Autoresponder saved.");
	ers_autoreply_free(&a);
}
