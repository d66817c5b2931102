/* The admin panel's Tenants tab, for Super Admins only (manual 000
 * "Managing Tenants"): the table of tenants with their domains, users and
 * storage against their limits; Add Tenant with the IMAP and SMTP hosts
 * chosen from the approved hosts; Edit; the tenant's domains (add, make
 * primary, remove) with each one's DKIM state and a Check DNS that runs
 * `dns check`; Delete, which says what goes and asks for the tenant's name
 * typed.  The operations are ersctl tenant's (libers/accounts/tenant.c);
 * the tab itself is the policy's answer to "may view every tenant"
 * (web_sees_tenants), and libers checks and audits every change again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "html.h"
#include "web.h"

/* Tenant admins and users get the policy's refusal, in its words. */
static bool tenants_only(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return false;
	struct ers_error err;
	struct ers_authz_target all = { 0 };
	if (ers_authz_check(&r->session.actor, ERS_ACT_TENANT_VIEW, &all, &err) == 0)
		return true;
	web_error_page(r, w, 403, err.message);
	return false;
}

static void tenants_page(struct web_req *r, struct web_resp *w, const char *title, const char *content)
{
	web_admin_page(r, w, "tenants", title, content);
}

/* A page saying what happened (or why nothing did), with the way back. */
static void result_page(struct web_req *r, struct web_resp *w, const char *title, const struct ers_error *err,
			const char *message, const char *back_href, const char *back_label)
{
	struct ers_buf c = ERS_BUF_INIT;
	if (err) {
		w->status = web_status_of(err->code);
		html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"error\" role=\"alert\">%s</p>"
			 "<p>Nothing was changed.</p>", title, err->message);
	} else
		html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"ok\" role=\"status\">%s</p>", title,
		     message);
	if (r->ctx && ers_ctx_warning(r->ctx))
		html(&c, "<p class=\"warning\" role=\"alert\">%s</p>", ers_ctx_warning(r->ctx));
	html(&c, "<div class=\"actions\"><a class=\"button\" href=\"%r\">%s</a>%r</div></section>", back_href, back_label,
	     strcmp(back_href, "/admin/tenants") ? "<a class=\"button secondary\" href=\"/admin/tenants\">Back to Tenants</a>"
						  : "");
	tenants_page(r, w, title, c.data);
	ers_buf_free(&c);
}

static void mb_text(struct ers_buf *b, long long bytes)
{
	long long mb = (bytes + 1048575) / 1048576;
	ers_buf_addf(b, "%lld MB", mb);
}

static void limit_text(struct ers_buf *b, long long used, long long max, const char *unit)
{
	ers_buf_addf(b, "%lld%s / ", used, unit);
	if (max < 0)
		ers_buf_adds(b, "no limit");
	else
		ers_buf_addf(b, "%lld%s", max, unit);
	if (max >= 0 && used > max)
		ers_buf_adds(b, " (over)");
}

/* --- the table ------------------------------------------------------------ */

void page_admin_tenants(struct web_req *r, struct web_resp *w)
{
	if (!tenants_only(r, w))
		return;
	struct ers_tenant_list *list = NULL;
	struct ers_error err;
	if (ers_tenant_list(r->ctx, &r->session.actor, &list, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Tenants</h1><div class=\"actions\">"
		 "<a class=\"button\" href=\"/admin/tenants/new\">Add Tenant</a></div></div>"
		 "<p class=\"hint\">Super Admins see all organizations in the system. Storage counts the quotas given to "
		 "the tenant's mailboxes against Max Storage, and the mail stored as the mail server last reported it.</p>");
	if (!list->count)
		html(&c, "<p class=\"notice\">No tenants yet.</p>");
	else {
		html(&c, "<div class=\"table-wrap\"><table class=\"users tenants\"><thead><tr><th scope=\"col\">Name</th>"
			 "<th scope=\"col\">Domains</th><th scope=\"col\">Users</th><th scope=\"col\">Storage</th>"
			 "<th scope=\"col\">IMAP / SMTP</th><th scope=\"col\">Actions</th></tr></thead><tbody>");
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_tenant *t = &list->items[i];
			struct ers_buf domains = ERS_BUF_INIT, users = ERS_BUF_INIT, storage = ERS_BUF_INIT;
			for (size_t d = 0; d < t->domain_count; d++) {
				html(&domains, "%r%s", d ? ", " : "", t->domains[d].name);
				if (t->domains[d].primary)
					html(&domains, " (primary)");
			}
			limit_text(&users, t->user_count, t->max_users, "");
			limit_text(&storage, t->quota_mb_total, t->max_storage_mb, " MB");
			html(&c, "<tr><td class=\"email\" data-label=\"Name\">%s</td><td data-label=\"Domains\">%s</td>"
				 "<td data-label=\"Users\">%s</td><td data-label=\"Storage\">quotas %s<br><small>mail ",
			     t->name, domains.data, users.data, storage.data);
			ers_buf_reset(&storage);
			mb_text(&storage, t->mail_bytes);
			html(&c, "%s in %lld message(s)</small></td><td data-label=\"IMAP / SMTP\">%s:%d<br>%s:%d</td>"
				 "<td><div class=\"row-actions\"><a href=\"/admin/tenants/edit?t=%u\">Edit</a>"
				 "<a href=\"/admin/tenants/domains?t=%u\">Domains</a>"
				 "<a class=\"danger-link\" href=\"/admin/tenants/delete?t=%u\">Delete</a></div></td></tr>",
			     storage.data, t->mail_messages, t->imap_host, t->imap_port, t->smtp_host, t->smtp_port, t->name,
			     t->name, t->name);
			ers_buf_free(&domains);
			ers_buf_free(&users);
			ers_buf_free(&storage);
		}
		html(&c, "</tbody></table></div>");
	}
	html(&c, "</section>");
	ers_tenant_list_free(list);
	tenants_page(r, w, "Tenants", c.data);
	ers_buf_free(&c);
}

/* --- Add Tenant and Edit -------------------------------------------------- */

/* The form as sent (or as the tenant is, for Edit). */
struct tenant_form {
	const char *name, *domain, *imap_host, *imap_port, *smtp_host, *smtp_port, *max_users, *max_storage;
	const char *time_zone, *junk_days; /* Edit only */
};

static void form_from_request(struct web_req *r, struct tenant_form *f)
{
	f->name = web_form(r, "name");
	f->domain = web_form(r, "domain");
	f->imap_host = web_form(r, "imap_host");
	f->imap_port = web_form(r, "imap_port");
	f->smtp_host = web_form(r, "smtp_host");
	f->smtp_port = web_form(r, "smtp_port");
	f->max_users = web_form(r, "max_users");
	f->max_storage = web_form(r, "max_storage");
	f->time_zone = web_form(r, "time_zone");
	f->junk_days = web_form(r, "junk_days");
}

/* Which field an error is about, to show it there. */
static const char *field_of(const struct ers_error *err)
{
	const char *m = err->message;
	if (!strncasecmp(m, "IMAP", 4) || strstr(m, "--imap"))
		return strstr(m, "port") && !strstr(m, "approved list") ? "imap_port" : "imap_host";
	if (!strncasecmp(m, "SMTP", 4) || strstr(m, "--smtp"))
		return strstr(m, "port") && !strstr(m, "approved list") ? "smtp_port" : "smtp_host";
	if (strstr(m, "max users") || strstr(m, "Max Users"))
		return "max_users";
	if (strstr(m, "max storage") || strstr(m, "Max Storage"))
		return "max_storage";
	if (strstr(m, "time zone") || strstr(m, "Time Zone") || strstr(m, "--time-zone"))
		return "time_zone";
	if (strstr(m, "junk") || strstr(m, "Junk"))
		return "junk_days";
	if (strstr(m, "domain"))
		return "domain";
	return "name";
}

static void field_error(struct ers_buf *c, const char *field, const char *err_field, const char *msg)
{
	if (err_field && !strcmp(field, err_field))
		html(c, "<span class=\"field-error\" id=\"%r-error\">%s</span>", field, msg);
}

static void invalid(struct ers_buf *c, const char *field, const char *err_field)
{
	if (err_field && !strcmp(field, err_field))
		html(c, " aria-invalid=\"true\" aria-describedby=\"%r-error\"", field);
}

/* A host chosen from the approved list of `kind`: one option per host
 * name, and the approved ports said beside. */
static void host_field(struct web_req *r, struct ers_buf *c, enum ers_host_kind kind, const char *field,
		       const char *label, const char *current, const char *err_field, const char *error)
{
	struct ers_host_list *hosts = NULL;
	struct ers_error err;
	struct ers_buf ports = ERS_BUF_INIT;
	html(c, "<label>%r<select name=\"%r\" required", label, field);
	invalid(c, field, err_field);
	const char *kname = kind == ERS_HOST_IMAP ? "IMAP" : "SMTP";
	html(c, "><option value=\"\">Select an approved %r host</option>", kname);
	if (ers_host_list(r->ctx, &r->session.actor, (int)kind, &hosts, &err) == 0) {
		bool listed = !current || !*current;
		for (size_t i = 0; i < hosts->count; i++) {
			const struct ers_host *h = &hosts->items[i];
			html(&ports, "%r%s:%d (%r)", ports.len ? ", " : "", h->hostname, h->port, ers_tls_mode_name(h->tls));
			if (i && !strcmp(h->hostname, hosts->items[i - 1].hostname))
				continue;
			bool sel = current && !strcmp(current, h->hostname);
			listed = listed || sel;
			html(c, "<option value=\"%s\"%r>%s</option>", h->hostname, sel ? " selected" : "", h->hostname);
		}
		if (!listed) /* kept as sent, so that the error shows what was wrong */
			html(c, "<option value=\"%s\" selected>%s</option>", current, current);
		ers_host_list_free(hosts);
	}
	html(c, "</select></label>");
	field_error(c, field, err_field, error);
	if (ports.len)
		html(c, "<p class=\"hint\">Approved %r hosts and ports: %s.</p>", kname, ports.data);
	else
		html(c, "<p class=\"hint\">No %r host is approved yet: an operator adds one with "
			"<code>ersctl server host add</code>.</p>", kname);
	ers_buf_free(&ports);
}

static void text_field(struct ers_buf *c, const char *field, const char *label, const char *value, const char *extra,
		       const char *err_field, const char *error)
{
	html(c, "<label>%r<input name=\"%r\" value=\"%s\"%r", label, field, value, extra);
	invalid(c, field, err_field);
	html(c, "></label>");
	field_error(c, field, err_field, error);
}

static void tenant_form(struct web_req *r, struct web_resp *w, bool edit, const char *key, const struct tenant_form *f,
			const char *err_field, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	if (edit)
		html(&c, "<section class=\"card form-card\"><h1>Edit %s</h1>", key);
	else
		html(&c, "<section class=\"card form-card\"><h1>Add Tenant</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p><p>Nothing was changed.</p>", error);
	html(&c, "<form method=\"post\" action=\"%r\">", edit ? "/admin/tenants/edit" : "/admin/tenants/new");
	web_csrf_field(r, &c);
	if (edit)
		html(&c, "<input type=\"hidden\" name=\"t\" value=\"%s\">", key);
	text_field(&c, "name", "Name", f->name, " maxlength=\"200\" placeholder=\"Organization name\" required",
		   err_field, error);
	if (!edit)
		text_field(&c, "domain", "Domain", f->domain, " placeholder=\"Primary email domain, e.g. example.com\" "
			   "autocomplete=\"off\" required", err_field, error);
	html(&c, "<div class=\"two\"><div>");
	host_field(r, &c, ERS_HOST_IMAP, "imap_host", "IMAP Host", f->imap_host, err_field, error);
	html(&c, "</div><div>");
	text_field(&c, "imap_port", "IMAP Port", f->imap_port, " inputmode=\"numeric\" required", err_field, error);
	html(&c, "<p class=\"hint\">Usually 993 for SSL.</p></div></div><div class=\"two\"><div>");
	host_field(r, &c, ERS_HOST_SMTP, "smtp_host", "SMTP Host", f->smtp_host, err_field, error);
	html(&c, "</div><div>");
	text_field(&c, "smtp_port", "SMTP Port", f->smtp_port, " inputmode=\"numeric\" required", err_field, error);
	html(&c, "<p class=\"hint\">Usually 587 or 465.</p></div></div><div class=\"two\"><div>");
	text_field(&c, "max_users", "Max Users", f->max_users, " inputmode=\"numeric\" placeholder=\"optional\"",
		   err_field, error);
	html(&c, "</div><div>");
	text_field(&c, "max_storage", "Max Storage (MB)", f->max_storage, " inputmode=\"numeric\" placeholder=\"optional\"",
		   err_field, error);
	html(&c, "</div></div><p class=\"hint\">Empty Max Users or Max Storage: no limit. Max Storage counts the "
		 "quotas given to the tenant's mailboxes; when it is set, every mailbox needs a quota. A limit below what "
		 "the tenant uses already is accepted: no user can then be added (or quota raised) until the use is under "
		 "it again.</p>");
	if (edit) {
		html(&c, "<div class=\"two\"><div>");
		text_field(&c, "time_zone", "Time Zone", f->time_zone, " maxlength=\"63\" placeholder=\"e.g. Europe/Berlin\" "
			   "required", err_field, error);
		html(&c, "<p class=\"hint\">Autoresponder start and end dates are days in this time zone.</p></div><div>");
		text_field(&c, "junk_days", "Junk Retention (days)", f->junk_days, " inputmode=\"numeric\" required",
			   err_field, error);
		html(&c, "<p class=\"hint\">Messages in Junk older than this are deleted; 0 keeps them.</p></div></div>");
	}
	html(&c, "<div class=\"actions\"><button type=\"submit\">%r</button>"
		 "<a class=\"button secondary\" href=\"/admin/tenants\">Cancel</a></div></form></section>",
	     edit ? "Save" : "Create Tenant");
	tenants_page(r, w, edit ? "Edit tenant" : "Add Tenant", c.data);
	ers_buf_free(&c);
}

void page_admin_tenant_new(struct web_req *r, struct web_resp *w)
{
	if (!tenants_only(r, w))
		return;
	struct tenant_form f = { .imap_port = "993", .smtp_port = "587" };
	tenant_form(r, w, false, NULL, &f, NULL, NULL);
}

/* A limit field: "" is none; else a whole number. */
static bool parse_limit(const char *s, bool *set_r, long long *v_r)
{
	*set_r = false;
	if (!s || !*s)
		return true;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0)
		return false;
	*set_r = true;
	*v_r = v;
	return true;
}

/* The fields into a spec; on bad input, `err` and the field. */
static int spec_from_form(const struct tenant_form *f, struct ers_tenant_spec *s, const char **field_r,
			  struct ers_error *err)
{
	if (f->imap_port && *f->imap_port && ers_port_parse(f->imap_port, "IMAP Port", &s->imap_port, err) < 0) {
		*field_r = "imap_port";
		return -1;
	}
	if (f->smtp_port && *f->smtp_port && ers_port_parse(f->smtp_port, "SMTP Port", &s->smtp_port, err) < 0) {
		*field_r = "smtp_port";
		return -1;
	}
	if (!parse_limit(f->max_users, &s->set_max_users, &s->max_users)) {
		ers_error_set(err, ERS_E_INVALID, "Max Users must be a whole number 0..%lld, or empty for no limit",
			      ERS_TENANT_MAX_USERS_LIMIT);
		*field_r = "max_users";
		return -1;
	}
	if (!parse_limit(f->max_storage, &s->set_max_storage_mb, &s->max_storage_mb)) {
		ers_error_set(err, ERS_E_INVALID, "Max Storage must be a whole number of MB 0..%lld, or empty for no limit",
			      ERS_TENANT_MAX_STORAGE_MB_LIMIT);
		*field_r = "max_storage";
		return -1;
	}
	return 0;
}

void page_admin_tenant_new_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	struct tenant_form f;
	form_from_request(r, &f);
	struct ers_tenant_spec spec = { .name = f.name ? f.name : "", .domain = f.domain && *f.domain ? f.domain : NULL,
					.imap_host = f.imap_host && *f.imap_host ? f.imap_host : NULL,
					.smtp_host = f.smtp_host && *f.smtp_host ? f.smtp_host : NULL };
	struct ers_error err;
	const char *field = NULL;
	struct ers_tenant *t = NULL;
	if (spec_from_form(&f, &spec, &field, &err) < 0 ||
	    ers_tenant_add(r->ctx, &r->session.actor, &spec, &t, &err) < 0) {
		if (err.code == ERS_E_PERMISSION) {
			result_page(r, w, "Add Tenant", &err, NULL, "/admin/tenants", "Back to Tenants");
			return;
		}
		w->status = web_status_of(err.code);
		tenant_form(r, w, false, NULL, &f, field ? field : field_of(&err), err.message);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT, back = ERS_BUF_INIT;
	ers_buf_addf(&msg, "Tenant \"%s\" was created with the domain %s.", t->name, t->primary_domain);
	html(&back, "/admin/tenants/domains?t=%u", t->name);
	result_page(r, w, "Tenant created", NULL, msg.data, back.data, "Domains and DNS");
	ers_buf_free(&msg);
	ers_buf_free(&back);
	ers_tenant_free(t);
}

/* The tenant named by `key`, which the actor may see; else the refusal shown. */
static struct ers_tenant *target_tenant(struct web_req *r, struct web_resp *w, const char *key, const char *title)
{
	struct ers_tenant *t = NULL;
	struct ers_error err;
	if (!tenants_only(r, w))
		return NULL;
	if (ers_tenant_get(r->ctx, &r->session.actor, key ? key : "", &t, &err) < 0) {
		w->status = web_status_of(err.code);
		struct ers_buf c = ERS_BUF_INIT;
		html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"error\" role=\"alert\">%s</p>"
			 "<div class=\"actions\"><a class=\"button\" href=\"/admin/tenants\">Back to Tenants</a></div></section>",
		     title, err.message);
		tenants_page(r, w, title, c.data);
		ers_buf_free(&c);
		return NULL;
	}
	return t;
}

void page_admin_tenant_edit(struct web_req *r, struct web_resp *w)
{
	struct ers_tenant *t = target_tenant(r, w, web_query(r, "t"), "Edit tenant");
	if (!t)
		return;
	char ip[16], sp[16], mu[32] = "", ms[32] = "", jd[16];
	snprintf(ip, sizeof ip, "%d", t->imap_port);
	snprintf(sp, sizeof sp, "%d", t->smtp_port);
	if (t->max_users >= 0)
		snprintf(mu, sizeof mu, "%lld", t->max_users);
	if (t->max_storage_mb >= 0)
		snprintf(ms, sizeof ms, "%lld", t->max_storage_mb);
	snprintf(jd, sizeof jd, "%d", t->junk_retention_days);
	struct tenant_form f = { .name = t->name, .imap_host = t->imap_host, .imap_port = ip, .smtp_host = t->smtp_host,
				 .smtp_port = sp, .max_users = mu, .max_storage = ms, .time_zone = t->time_zone,
				 .junk_days = jd };
	tenant_form(r, w, true, t->name, &f, NULL, NULL);
	ers_tenant_free(t);
}

void page_admin_tenant_edit_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *key = web_form(r, "t");
	struct tenant_form f;
	form_from_request(r, &f);
	struct ers_tenant_spec spec = { 0 };
	struct ers_error err;
	const char *field = NULL;
	struct ers_tenant *cur = NULL, *t = NULL;
	if (!key)
		key = "";
	/* What changed, against the tenant as it is: an unchanged host stays
	 * (even if its approval was since withdrawn); an emptied limit is none. */
	if (ers_tenant_get(r->ctx, &r->session.actor, key, &cur, &err) < 0) {
		result_page(r, w, "Edit tenant", &err, NULL, "/admin/tenants", "Back to Tenants");
		return;
	}
	if (spec_from_form(&f, &spec, &field, &err) < 0)
		goto bad;
	if (f.name && strcmp(f.name, cur->name))
		spec.name = f.name;
	if (f.imap_host && *f.imap_host && strcmp(f.imap_host, cur->imap_host))
		spec.imap_host = f.imap_host;
	if (spec.imap_port == cur->imap_port)
		spec.imap_port = 0;
	if (f.smtp_host && *f.smtp_host && strcmp(f.smtp_host, cur->smtp_host))
		spec.smtp_host = f.smtp_host;
	if (spec.smtp_port == cur->smtp_port)
		spec.smtp_port = 0;
	if (f.max_users && !spec.set_max_users) {
		spec.set_max_users = true;
		spec.max_users = -1;
	}
	if (f.max_storage && !spec.set_max_storage_mb) {
		spec.set_max_storage_mb = true;
		spec.max_storage_mb = -1;
	}
	if (spec.set_max_users && spec.max_users == cur->max_users)
		spec.set_max_users = false;
	if (spec.set_max_storage_mb && spec.max_storage_mb == cur->max_storage_mb)
		spec.set_max_storage_mb = false;
	if (f.time_zone && strcmp(f.time_zone, cur->time_zone))
		spec.time_zone = f.time_zone;
	if (f.junk_days && *f.junk_days) {
		long long days;
		if (ers_int_parse(f.junk_days, "Junk Retention", 0, ERS_TENANT_JUNK_DAYS_MAX, &days, &err) < 0) {
			field = "junk_days";
			goto bad;
		}
		if (days != cur->junk_retention_days) {
			spec.set_junk_retention_days = true;
			spec.junk_retention_days = (int)days;
		}
	}
	if (ers_tenant_edit(r->ctx, &r->session.actor, cur->name, &spec, &t, &err) < 0)
		goto bad;
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "Tenant \"%s\" was saved.", t->name);
	result_page(r, w, "Tenant saved", NULL, msg.data, "/admin/tenants", "Back to Tenants");
	ers_buf_free(&msg);
	ers_tenant_free(t);
	ers_tenant_free(cur);
	return;
bad:
	if (err.code == ERS_E_PERMISSION)
		result_page(r, w, "Edit tenant", &err, NULL, "/admin/tenants", "Back to Tenants");
	else {
		w->status = web_status_of(err.code);
		tenant_form(r, w, true, cur->name, &f, field ? field : field_of(&err), err.message);
	}
	ers_tenant_free(cur);
}

/* --- domains, DKIM and DNS ------------------------------------------------ */

/* "active (selector default)", "published, not signing yet", "off". */
static void dkim_state(struct web_req *r, struct ers_buf *c, const char *domain)
{
	struct ers_dkim_key_list *keys = NULL;
	struct ers_error err;
	if (ers_dkim_list(r->ctx, &r->session.actor, domain, &keys, &err) < 0) {
		html(c, "unknown (%s)", err.message);
		return;
	}
	if (!keys->count)
		html(c, "off: no key, mail is not signed");
	for (size_t i = 0; i < keys->count; i++) {
		const struct ers_dkim_key *k = &keys->items[i];
		html(c, "%r%s (selector %s, %s)", i ? "<br>" : "",
		     k->state == ERS_DKIM_ACTIVE ? "active: signing" :
		     k->state == ERS_DKIM_PUBLISHED ? "published, not signing yet" : ers_dkim_state_name(k->state),
		     k->selector, ers_dkim_algorithm_name(k->algorithm));
	}
	ers_dkim_key_list_free(keys);
}

static void domain_button(struct web_req *r, struct ers_buf *c, const char *action, const char *tenant,
			  const char *domain, const char *label, const char *cls)
{
	html(c, "<form method=\"post\" action=\"%r\" class=\"inline\">", action);
	web_csrf_field(r, c);
	html(c, "<input type=\"hidden\" name=\"t\" value=\"%s\"><input type=\"hidden\" name=\"d\" value=\"%s\">"
		"<button type=\"submit\" class=\"%r small\">%r</button></form>", tenant, domain, cls, label);
}

void page_admin_tenant_domains(struct web_req *r, struct web_resp *w)
{
	struct ers_tenant *t = target_tenant(r, w, web_query(r, "t"), "Domains");
	if (!t)
		return;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Domains of %s</h1></div>"
		 "<div class=\"table-wrap\"><table class=\"users domains\"><thead><tr><th scope=\"col\">Domain</th>"
		 "<th scope=\"col\">Primary</th><th scope=\"col\">DKIM</th><th scope=\"col\">DNS status</th>"
		 "<th scope=\"col\">Actions</th></tr></thead><tbody>", t->name);
	for (size_t i = 0; i < t->domain_count; i++) {
		const struct ers_tenant_domain *d = &t->domains[i];
		html(&c, "<tr><td class=\"email\" data-label=\"Domain\">%s</td><td data-label=\"Primary\">%r</td>"
			 "<td data-label=\"DKIM\">", d->name, d->primary ? "yes" : "no");
		dkim_state(r, &c, d->name);
		html(&c, "</td><td data-label=\"DNS status\"><a href=\"/admin/tenants/dns?t=%u&amp;d=%u\">Check DNS</a></td>"
			 "<td><div class=\"row-actions\">", t->name, d->name);
		if (!d->primary) {
			domain_button(r, &c, "/admin/tenants/domains/primary", t->name, d->name, "Make primary", "secondary");
			domain_button(r, &c, "/admin/tenants/domains/remove", t->name, d->name, "Remove", "danger");
		} else
			html(&c, "<small>the primary domain stays</small>");
		html(&c, "</div></td></tr>");
	}
	html(&c, "</tbody></table></div><p class=\"hint\">Check DNS asks the DNS now for the records the domain must "
		 "publish (MX, SPF, DKIM, DMARC, MTA-STS, ...) and says which are missing or wrong. A domain in use by "
		 "users, aliases or forwards cannot be removed; the primary domain cannot be removed (make another one "
		 "primary first).</p>"
		 "<h2>Add Domain</h2><form method=\"post\" action=\"/admin/tenants/domains/add\" class=\"filters\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"t\" value=\"%s\"><label>Domain<input name=\"d\" autocomplete=\"off\" "
		 "placeholder=\"example.org\" required></label><label class=\"check\"><input type=\"checkbox\" "
		 "name=\"primary\" value=\"1\"> Make it the primary domain</label>"
		 "<button type=\"submit\">Add Domain</button></form>"
		 "<div class=\"actions\"><a class=\"button secondary\" href=\"/admin/tenants\">Back to Tenants</a></div>"
		 "</section>", t->name);
	tenants_page(r, w, "Domains", c.data);
	ers_buf_free(&c);
	ers_tenant_free(t);
}

enum domain_op { DOMAIN_ADD, DOMAIN_PRIMARY, DOMAIN_REMOVE };

static void domain_post(struct web_req *r, struct web_resp *w, enum domain_op op)
{
	if (!web_admin_only(r, w))
		return;
	const char *key = web_form(r, "t"), *domain = web_form(r, "d");
	static const char *const titles[] = { "Add Domain", "Make primary", "Remove domain" };
	struct ers_error err;
	int rc;
	if (!key)
		key = "";
	if (!domain || !*domain) {
		ers_error_set(&err, ERS_E_INVALID, "Enter the domain, e.g. example.org.");
		rc = -1;
	} else if (op == DOMAIN_ADD)
		rc = ers_tenant_domain_add(r->ctx, &r->session.actor, key, domain, web_form(r, "primary") != NULL, &err);
	else if (op == DOMAIN_PRIMARY)
		rc = ers_tenant_domain_set_primary(r->ctx, &r->session.actor, key, domain, &err);
	else
		rc = ers_tenant_domain_remove(r->ctx, &r->session.actor, key, domain, &err);
	struct ers_buf back = ERS_BUF_INIT, msg = ERS_BUF_INIT;
	html(&back, "/admin/tenants/domains?t=%u", key);
	if (rc == 0)
		ers_buf_addf(&msg, op == DOMAIN_ADD ? "The domain %s was added to tenant \"%s\"." :
				   op == DOMAIN_PRIMARY ? "%s is now the primary domain of tenant \"%s\"." :
				   "The domain %s was removed from tenant \"%s\".", domain, key);
	bool refused = rc < 0 && err.code == ERS_E_PERMISSION;
	result_page(r, w, titles[op], rc == 0 ? NULL : &err, msg.data, refused ? "/admin/tenants" : back.data,
		    refused ? "Back to Tenants" : "Back to Domains");
	ers_buf_free(&back);
	ers_buf_free(&msg);
}

void page_admin_tenant_domain_add_post(struct web_req *r, struct web_resp *w) { domain_post(r, w, DOMAIN_ADD); }
void page_admin_tenant_domain_primary_post(struct web_req *r, struct web_resp *w) { domain_post(r, w, DOMAIN_PRIMARY); }
void page_admin_tenant_domain_remove_post(struct web_req *r, struct web_resp *w) { domain_post(r, w, DOMAIN_REMOVE); }

/* Check DNS: `dns check` of one domain, run now (it asks the resolver, so
 * it is a button, not part of every page). */
void page_admin_tenant_dns(struct web_req *r, struct web_resp *w)
{
	struct ers_tenant *t = target_tenant(r, w, web_query(r, "t"), "DNS status");
	if (!t)
		return;
	const char *domain = web_query(r, "d");
	struct ers_buf back = ERS_BUF_INIT, c = ERS_BUF_INIT;
	html(&back, "/admin/tenants/domains?t=%u", t->name);
	bool ours = false;
	for (size_t i = 0; domain && i < t->domain_count; i++)
		ours = ours || !strcmp(t->domains[i].name, domain);
	struct ers_dns_check *check = NULL;
	struct ers_error err;
	if (!ours) {
		ers_error_set(&err, ERS_E_NOTFOUND, "tenant \"%s\" has no domain %s", t->name, domain ? domain : "");
		goto fail;
	}
	if (ers_dns_check(r->ctx, &r->session.actor, domain, &check, &err) < 0)
		goto fail;
	char secs[32];
	snprintf(secs, sizeof secs, "%.1f", check->seconds);
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>DNS status of %s</h1><div class=\"actions\">"
		 "<a class=\"button secondary\" href=\"/admin/tenants/dns?t=%u&amp;d=%u\">Check DNS again</a></div></div>"
		 "<p class=\"%r\" role=\"status\">%r: %zu ok, %zu missing, %zu wrong, %zu harmful, %zu failed lookups "
		 "(checked in %s s).</p>", domain, t->name, domain, check->ready ? "ok" : "warning",
		 check->ready ? "Ready" : "Not ready", check->n_ok, check->n_missing, check->n_wrong, check->n_harmful,
		 check->n_error, secs);
	html(&c, "<div class=\"table-wrap\"><table class=\"users dns\"><thead><tr><th scope=\"col\">Record</th>"
		 "<th scope=\"col\">Status</th><th scope=\"col\">Expected</th><th scope=\"col\">Found</th>"
		 "<th scope=\"col\">What to do</th></tr></thead><tbody>");
	for (size_t i = 0; i < check->count; i++) {
		const struct ers_dns_finding *f = &check->items[i];
		html(&c, "<tr><td class=\"email\" data-label=\"Record\">%s %s<br><small>%s (%s, %s)</small></td>"
			 "<td data-label=\"Status\">%s%r</td><td data-label=\"Expected\"><code>%s</code></td>"
			 "<td data-label=\"Found\"><code>%s</code></td><td data-label=\"What to do\">%s</td></tr>",
		     f->topic, f->type, f->name, ers_dns_need_name(f->need), ers_dns_publisher_name(f->publisher),
		     ers_dns_status_name(f->status), f->blocking ? " (blocks)" : "", f->expected ? f->expected : "-",
		     f->found ? f->found : "-", f->detail ? f->detail : "");
	}
	html(&c, "</tbody></table></div><div class=\"actions\"><a class=\"button\" href=\"%r\">Back to Domains</a></div>"
		 "</section>", back.data);
	tenants_page(r, w, "DNS status", c.data);
	ers_dns_check_free(check);
	goto out;
fail:
	result_page(r, w, "DNS status", &err, NULL, back.data, "Back to Domains");
out:
	ers_buf_free(&back);
	ers_buf_free(&c);
	ers_tenant_free(t);
}

/* --- Delete --------------------------------------------------------------- */

/* "Confirm the deletion carefully": what goes, and the name typed. */
static void delete_form(struct web_req *r, struct web_resp *w, const struct ers_tenant *t, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT, mail = ERS_BUF_INIT;
	mb_text(&mail, t->mail_bytes);
	html(&c, "<section class=\"card form-card\"><h1>Delete tenant %s?</h1><p class=\"warning strong\">Deleting a "
		 "tenant will remove all associated users, aliases, and data. This is a destructive action and cannot be "
		 "undone.</p><p>This deletes:</p><ul class=\"removed\"><li>%zu domain(s):", t->name, t->domain_count);
	for (size_t i = 0; i < t->domain_count; i++)
		html(&c, " %s", t->domains[i].name);
	html(&c, "</li><li>%lld user(s) with their mailboxes</li><li>%lld alias(es)</li><li>%lld forward(s) and "
		 "catch-all(s)</li><li>%lld message(s), %s of mail, as the mail server last reported it</li></ul>",
	     t->user_count, t->alias_count, t->forward_count, t->mail_messages, mail.data);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/tenants/delete\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"t\" value=\"%s\"><input type=\"hidden\" name=\"id\" value=\"%lld\">"
		 "<label>Type the tenant's name, %s, to confirm<input name=\"confirm\" autocomplete=\"off\" required%r></label>"
		 "<div class=\"actions\"><button type=\"submit\" class=\"danger\">Delete tenant</button>"
		 "<a class=\"button secondary\" href=\"/admin/tenants\">Cancel</a></div></form></section>",
	     t->name, t->id, t->name, error ? " aria-invalid=\"true\"" : "");
	tenants_page(r, w, "Delete tenant", c.data);
	ers_buf_free(&c);
	ers_buf_free(&mail);
}

void page_admin_tenant_delete(struct web_req *r, struct web_resp *w)
{
	struct ers_tenant *t = target_tenant(r, w, web_query(r, "t"), "Delete tenant");
	if (!t)
		return;
	delete_form(r, w, t, NULL);
	ers_tenant_free(t);
}

void page_admin_tenant_delete_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *key = web_form(r, "t"), *confirm = web_form(r, "confirm"), *id_s = web_form(r, "id");
	struct ers_tenant *t = NULL;
	struct ers_error err;
	if (ers_tenant_get(r->ctx, &r->session.actor, key ? key : "", &t, &err) < 0) {
		result_page(r, w, "Delete tenant", &err, NULL, "/admin/tenants", "Back to Tenants");
		return;
	}
	long long expect = id_s ? strtoll(id_s, NULL, 10) : 0;
	if (!confirm || strcmp(confirm, t->name)) {
		struct ers_buf msg = ERS_BUF_INIT;
		ers_buf_addf(&msg, "The name typed%s%s%s is not the tenant's name, %s: nothing was deleted. Type it exactly "
			     "to confirm.", confirm && *confirm ? ", " : "", confirm && *confirm ? confirm : "",
			     confirm && *confirm ? "," : "", t->name);
		w->status = 422;
		delete_form(r, w, t, msg.data);
		ers_buf_free(&msg);
		ers_tenant_free(t);
		return;
	}
	/* The id shown: a tenant renamed or replaced meanwhile is not deleted. */
	if (ers_tenant_delete(r->ctx, &r->session.actor, key, expect > 0 ? expect : t->id, &err) < 0) {
		result_page(r, w, "Delete tenant", &err, NULL, "/admin/tenants", "Back to Tenants");
		ers_tenant_free(t);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "Tenant \"%s\" was deleted with its %zu domain(s), %lld user(s), %lld alias(es) and %lld "
		     "forward(s).", t->name, t->domain_count, t->user_count, t->alias_count, t->forward_count);
	result_page(r, w, "Tenant deleted", NULL, msg.data, "/admin/tenants", "Back to Tenants");
	ers_buf_free(&msg);
	ers_tenant_free(t);
}
