/* The admin panel's Security tab (manual 000 "Anti-virus Scanning": "Admin
 * Reporting", "Self-Tests"): the scanner runtime card, the self-tests (Run
 * Clean Test, Run EICAR Test: super admins) and their recent runs, and the
 * scan reports -- domain statistics, the user and domain breakdown, recent
 * domain issues, attachment scans.  libers decides what each actor sees:
 * tenant admins get the scanner's status and their own tenant's rows (a
 * hand-made ?tenant= of another tenant is refused there), users nothing. */
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "web.h"

#define ROWS 50

static bool may_selftest(const struct web_req *r)
{
	struct ers_error err;
	return ers_authz_check(&r->session.actor, ERS_ACT_SCAN_SELFTEST, NULL, &err) == 0;
}

static bool sees_tenants(const struct web_req *r)
{
	struct ers_error err;
	struct ers_authz_target t = { 0 };
	return ers_authz_check(&r->session.actor, ERS_ACT_SCAN_VIEW, &t, &err) == 0;
}

static void security_page(struct web_req *r, struct web_resp *w, const char *content)
{
	web_admin_page(r, w, "security", "Security", content); /* web/admin_nav.c */
}

static void runtime_card(struct ers_buf *c, const struct ers_scan_status *st)
{
	html(c, "<section class=\"card\" id=\"scanner\"><h2>Scanner runtime</h2>");
	if (!st->enabled)
		html(c, "<p class=\"warning\" role=\"status\">Scanning is disabled: outbound mail is sent without scanner "
			"enforcement.</p>");
	else if (!st->healthy)
		html(c, "<p class=\"error\" role=\"alert\">The scanner did not answer the health check%r.</p>",
		     st->fail_closed ? ": outbound mail is stopped until it does" : ": outbound mail is sent unscanned");
	html(c, "<dl class=\"headers\"><dt>Scanning</dt><dd>%s</dd><dt>Scanner target</dt><dd><code>%s</code></dd>"
		"<dt>Fail-closed mode</dt><dd>%s</dd><dt>Timeout</dt><dd>%d s</dd><dt>Size limit</dt><dd>%d MB</dd>"
		"<dt>Retention</dt><dd>%d days</dd>",
	     st->enabled ? "Enabled" : "Disabled", st->target,
	     st->fail_closed ? "On: mail the scanner cannot check is not sent" : "Off: mail the scanner cannot check is sent and recorded unavailable",
	     st->timeout, st->max_size_mb, st->retention_days);
	html(c, "<dt>Version</dt><dd>%s</dd><dt>Database</dt><dd>%s%s%s</dd>", st->healthy ? st->engine : "unknown",
	     st->db_version[0] ? st->db_version : st->healthy ? "local signatures (no version)" : "unknown",
	     st->db_date[0] ? ", " : "", st->db_date);
	html(c, "<dt>Last health check</dt><dd><time>%s</time>: <strong class=\"health\">%s</strong>%r%s</dd>",
	     st->checked_at, st->healthy ? "Healthy" : "Unhealthy", st->healthy ? "" : " &mdash; ", st->detail);
	if (st->prev_checked_at[0])
		html(c, "<dt>Previous check</dt><dd><time>%s</time>: %s</dd>", st->prev_checked_at,
		     st->prev_healthy ? "Healthy" : "Unhealthy");
	html(c, "</dl></section>");
}

static void selftests(struct web_req *r, struct ers_buf *c, const struct ers_scan_selftest_list *l)
{
	html(c, "<section class=\"card\" id=\"selftests\"><h2>Self-tests</h2>");
	if (may_selftest(r)) {
		html(c, "<form method=\"post\" action=\"/admin/security/test\" class=\"actions\">");
		web_csrf_field(r, c);
		html(c, "<button type=\"submit\" name=\"test\" value=\"clean\">Run Clean Test</button>"
			"<button type=\"submit\" name=\"test\" value=\"eicar\" class=\"secondary\">Run EICAR Test</button></form>"
			"<p class=\"hint\">The clean test should return clean and the EICAR test infected when the scanner "
			"is healthy.</p>");
	} else {
		html(c, "<p class=\"hint\">Only Super Admins can run self-tests.</p>");
	}
	if (!l->count) {
		html(c, "<p class=\"notice\">No self-tests yet.</p></section>");
		return;
	}
	html(c, "<div class=\"table-wrap\"><table class=\"users\"><thead><tr><th scope=\"col\">Time</th>"
		"<th scope=\"col\">Test</th><th scope=\"col\">Result</th><th scope=\"col\">Passed</th>"
		"<th scope=\"col\">Detail</th><th scope=\"col\">Run by</th><th scope=\"col\">Duration</th></tr></thead><tbody>");
	for (size_t i = 0; i < l->count; i++) {
		const struct ers_scan_selftest *t = &l->items[i];
		html(c, "<tr><td data-label=\"Time\">%s</td><td data-label=\"Test\">%s</td><td data-label=\"Result\">%s</td>"
			"<td data-label=\"Passed\">%s</td><td data-label=\"Detail\">%s</td><td data-label=\"Run by\">%s</td>"
			"<td data-label=\"Duration\">%ld ms</td></tr>",
		     t->at, !strcmp(t->kind, "eicar") ? "EICAR" : "Clean", t->result, t->passed ? "yes" : "NO",
		     t->signature[0] ? t->signature : t->detail, t->actor, t->duration_ms);
	}
	html(c, "</tbody></table></div></section>");
}

static void counts_table(struct ers_buf *c, const char *id, const char *title, const struct ers_scan_counts *n,
			 bool per_user)
{
	html(c, "<section class=\"card\" id=\"%r\"><h2>%s</h2>", id, title);
	if (!n->count) {
		html(c, "<p class=\"notice\">No scans recorded.</p></section>");
		return;
	}
	html(c, "<div class=\"table-wrap\"><table class=\"users\"><thead><tr>%r<th scope=\"col\">Domain</th>"
		"<th scope=\"col\">Clean</th><th scope=\"col\">Infected</th><th scope=\"col\">Unavailable</th></tr></thead><tbody>",
	     per_user ? "<th scope=\"col\">Sender</th>" : "");
	for (size_t i = 0; i < n->count; i++) {
		const struct ers_scan_count *k = &n->items[i];
		html(c, "<tr>");
		if (per_user)
			html(c, "<td class=\"email\" data-label=\"Sender\">%s</td>", k->sender);
		html(c, "<td data-label=\"Domain\">%s</td><td data-label=\"Clean\">%lld</td><td data-label=\"Infected\">%lld</td>"
			"<td data-label=\"Unavailable\">%lld</td></tr>", k->domain, k->clean, k->infected, k->unavailable);
	}
	html(c, "</tbody></table></div></section>");
}

static void size_text(struct ers_buf *b, long long n)
{
	if (n >= 1024 * 1024)
		ers_buf_addf(b, "%.1f MB", (double)n / (1024 * 1024));
	else if (n >= 1024)
		ers_buf_addf(b, "%.1f KB", (double)n / 1024);
	else
		ers_buf_addf(b, "%lld bytes", n);
}

static void issues_table(struct ers_buf *c, const struct ers_scan_list *l)
{
	html(c, "<section class=\"card\" id=\"issues\"><h2>Recent domain issues</h2>");
	if (!l->count) {
		html(c, "<p class=\"notice\">No infected or scanner-unavailable events.</p></section>");
		return;
	}
	html(c, "<div class=\"table-wrap\"><table class=\"users\"><thead><tr><th scope=\"col\">Time</th>"
		"<th scope=\"col\">Sender</th><th scope=\"col\">Type</th><th scope=\"col\">Item</th>"
		"<th scope=\"col\">Detail</th><th scope=\"col\">Send</th></tr></thead><tbody>");
	for (size_t i = 0; i < l->count; i++) {
		const struct ers_scan_record *s = &l->items[i];
		html(c, "<tr><td data-label=\"Time\">%s</td><td class=\"email\" data-label=\"Sender\">%s</td>"
			"<td data-label=\"Type\">%s</td><td data-label=\"Item\">%s</td><td data-label=\"Detail\">%s</td>"
			"<td data-label=\"Send\">%s</td></tr>",
		     s->at, s->sender, s->result, s->item, s->signature[0] ? s->signature : s->detail,
		     s->blocked ? "blocked" : "sent");
	}
	html(c, "</tbody></table></div></section>");
}

static void attachments_table(struct ers_buf *c, const struct ers_scan_list *l)
{
	html(c, "<section class=\"card\" id=\"attachments\"><h2>Attachment scans</h2>");
	if (!l->count) {
		html(c, "<p class=\"notice\">No outbound attachments scanned.</p></section>");
		return;
	}
	html(c, "<div class=\"table-wrap\"><table class=\"users\"><thead><tr><th scope=\"col\">Time</th>"
		"<th scope=\"col\">Sender</th><th scope=\"col\">Attachment</th><th scope=\"col\">Type</th>"
		"<th scope=\"col\">Size</th><th scope=\"col\">Result</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
	for (size_t i = 0; i < l->count; i++) {
		const struct ers_scan_record *s = &l->items[i];
		struct ers_buf size = ERS_BUF_INIT;
		size_text(&size, s->item_size);
		html(c, "<tr><td data-label=\"Time\">%s</td><td class=\"email\" data-label=\"Sender\">%s</td>"
			"<td data-label=\"Attachment\">%s</td><td data-label=\"Type\">%s</td><td data-label=\"Size\">%s</td>"
			"<td data-label=\"Result\">%s</td><td data-label=\"Detail\">%s</td></tr>",
		     s->at, s->sender, s->item, s->item_type, size.data, s->result,
		     s->signature[0] ? s->signature : s->detail);
		ers_buf_free(&size);
	}
	html(c, "</tbody></table></div></section>");
}

void page_admin_security(struct web_req *r, struct web_resp *w)
{
	const char *tenant = web_query(r, "tenant"), *ran = web_query(r, "ran");
	struct ers_error err;
	struct ers_scan_status st;
	if (ers_scan_status(r->ctx, &r->session.actor, &st, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_scan_filter f = { .tenant = tenant && *tenant ? tenant : NULL, .limit = ROWS };
	struct ers_scan_selftest_list *tests = NULL;
	struct ers_scan_counts *domains = NULL, *users = NULL;
	struct ers_scan_list *issues = NULL, *atts = NULL;
	struct ers_scan_filter fi = f, fa = f;
	fi.issues_only = true;
	fa.attachments_only = true;
	if (ers_scan_selftest_list(r->ctx, &r->session.actor, 10, &tests, &err) < 0 ||
	    ers_scan_stats(r->ctx, &r->session.actor, &f, false, &domains, &err) < 0 ||
	    ers_scan_stats(r->ctx, &r->session.actor, &f, true, &users, &err) < 0 ||
	    ers_scan_list(r->ctx, &r->session.actor, &fi, &issues, &err) < 0 ||
	    ers_scan_list(r->ctx, &r->session.actor, &fa, &atts, &err) < 0) {
		web_ers_error(r, w, &err);
		goto out;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Security</h1></div>");
	if (ran && (!strcmp(ran, "clean") || !strcmp(ran, "eicar")) && tests->count)
		html(&c, "<p class=\"%r\" role=\"status\">%s test %s: the scanner answered %s.</p>",
		     tests->items[0].passed ? "ok" : "error", !strcmp(ran, "eicar") ? "EICAR" : "Clean",
		     tests->items[0].passed ? "passed" : "FAILED", tests->items[0].result);
	if (sees_tenants(r)) {
		html(&c, "<form method=\"get\" action=\"/admin/security\" class=\"filters\" role=\"search\">"
			 "<label>Tenant<input name=\"tenant\" value=\"%s\" placeholder=\"All tenants (name or domain)\"></label>"
			 "<button type=\"submit\" class=\"secondary\">Show</button></form>"
			 "<p class=\"hint\">Super Admins see the scans of every tenant.</p>", tenant);
	} else {
		html(&c, "<p class=\"hint\">Tenant Admins see the scanner's status and their own tenant's scans.</p>");
	}
	html(&c, "</section>");
	runtime_card(&c, &st);
	selftests(r, &c, tests);
	counts_table(&c, "domains", "Domain statistics", domains, false);
	counts_table(&c, "breakdown", "User and domain breakdown", users, true);
	issues_table(&c, issues);
	attachments_table(&c, atts);
	security_page(r, w, c.data);
	ers_buf_free(&c);
out:
	ers_scan_selftest_list_free(tests);
	ers_scan_counts_free(domains);
	ers_scan_counts_free(users);
	ers_scan_list_free(issues);
	ers_scan_list_free(atts);
}

void page_admin_security_test(struct web_req *r, struct web_resp *w)
{
	const char *kind = web_form(r, "test");
	struct ers_scan_selftest *t = NULL;
	struct ers_error err;
	if (ers_scan_selftest_run(r->ctx, &r->session.actor, kind ? kind : "", &t, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf loc = ERS_BUF_INIT;
	ers_buf_addf(&loc, "/admin/security?ran=%s#selftests", t->kind);
	web_redirect(w, loc.data);
	ers_buf_free(&loc);
	ers_scan_selftest_free(t);
}
