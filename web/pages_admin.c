/* The admin panel's Users tab (manual 000 "Admin Features", "Managing
 * Users", "Resetting Passwords and Roles", "Deleting a User"): the table of
 * users, paged on the server with libers' keyset cursor; Add User; and for
 * each user Edit, Reset password, MFA, S/MIME and Delete.  libers decides every
 * time: a tenant admin's request about an admin user, another tenant's
 * user or a role it may not give is refused there (and audited), and the
 * page shows the refusal.  What the forms offer (the Admin tab, the tenant
 * filter, the roles) is asked of the same policy with ers_authz_check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "ers/autoreply.h"
#include "web.h"

#define ADMIN_PER_PAGE 50

static bool may(const struct web_req *r, enum ers_action action, long long tenant_id, enum ers_role role)
{
	struct ers_error err;
	struct ers_authz_target t = { .tenant_id = tenant_id, .is_user = true, .user_role = role };
	return ers_authz_check(&r->session.actor, action, &t, &err) == 0;
}

bool web_is_admin(const struct web_req *r)
{
	/* Whoever may create a regular user in its own tenant (or anywhere). */
	return r->have_session &&
	       may(r, ERS_ACT_USER_CREATE, r->session.actor.tenant_id, ERS_ROLE_USER);
}

/* Whether the actor may see every tenant (super admins): the tenant filter. */
static bool sees_tenants(const struct web_req *r)
{
	struct ers_error err;
	struct ers_authz_target t = { 0 };
	return ers_authz_check(&r->session.actor, ERS_ACT_TENANT_CREATE, &t, &err) == 0;
}

static void admin_page(struct web_req *r, struct web_resp *w, const char *title, const char *content)
{
	web_admin_page(r, w, "users", title, content); /* web/admin_nav.c */
}

static const char *status_word(const struct ers_user *u)
{
	return u->status == ERS_USER_ACTIVE ? "active" : u->disabled_by_admin ? "disabled (by an admin)" : "disabled";
}

static void quota_text(struct ers_buf *b, const struct ers_user *u)
{
	if (u->quota_used_mb < 0)
		ers_buf_adds(b, "-");
	else
		ers_buf_addf(b, "%lld MB", u->quota_used_mb);
	if (u->quota_mb < 0)
		ers_buf_adds(b, " / no limit");
	else
		ers_buf_addf(b, " / %lld MB", u->quota_mb);
}

/* A user's page link: PATH?u=ADDRESS (trusted markup). */
static void user_link(struct ers_buf *b, const char *path, const char *address, const char *label, const char *cls)
{
	html(b, "<a href=\"%r?u=%u\"%r>%s</a>", path, address, cls ? cls : "", label);
}

/* --- the table ------------------------------------------------------------ */

/* A sortable column heading: a link to the first page in this order
 * (ascending; descending when it is the order already), aria-sort on the
 * current one. */
static void sort_heading(struct ers_buf *c, const struct ers_user_filter *f, const char *q, const char *label,
			 enum ers_user_sort sort)
{
	bool current = f->sort == sort, desc = current && !f->descending;
	html(c, "<th scope=\"col\"%r><a class=\"sort\" href=\"/admin/users?q=%u&amp;tenant=%u&amp;sort=%u&amp;dir=%u\">"
		"%s%r</a></th>", !current ? "" : f->descending ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\"",
	     q, f->tenant, ers_user_sort_name(sort), desc ? "desc" : "asc", label,
	     !current ? "" : f->descending ? " \xe2\x96\xbc" : " \xe2\x96\xb2");
}

void page_admin_users(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *q = web_query(r, "q"), *tenant = web_query(r, "tenant"), *after = web_query(r, "after");
	const char *sort = web_query(r, "sort"), *dir = web_query(r, "dir");
	bool tenants = sees_tenants(r);
	struct ers_user_filter f = { .search = q, .after = after && *after ? after : NULL, .limit = ADMIN_PER_PAGE,
				     .tenant = tenants && tenant && *tenant ? tenant : NULL,
				     .descending = dir && !strcmp(dir, "desc") };
	struct ers_user_list *list = NULL;
	struct ers_error err;
	if ((sort && *sort && ers_user_sort_parse(sort, &f.sort, &err) < 0) ||
	    ers_user_list(r->ctx, &r->session.actor, &f, &list, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Users</h1><div class=\"actions\">"
		 "<a class=\"button\" href=\"/admin/users/new\">Add User</a></div></div>"
		 "<form method=\"get\" action=\"/admin/users\" class=\"filters\" role=\"search\">"
		 "<label>Search<input type=\"search\" name=\"q\" value=\"%s\" placeholder=\"Email or name\"></label>",
	     q);
	if (tenants) {
		struct ers_tenant_list *tl = NULL;
		if (ers_tenant_list(r->ctx, &r->session.actor, &tl, &err) == 0) {
			html(&c, "<label>Tenant<select name=\"tenant\"><option value=\"\">All tenants</option>");
			for (size_t i = 0; i < tl->count; i++)
				html(&c, "<option value=\"%s\"%r>%s (%s)</option>", tl->items[i].name,
				     tenant && !strcmp(tenant, tl->items[i].name) ? " selected" : "", tl->items[i].name,
				     tl->items[i].primary_domain);
			html(&c, "</select></label>");
			ers_tenant_list_free(tl);
		}
	}
	/* The order is kept across a search. */
	html(&c, "<input type=\"hidden\" name=\"sort\" value=\"%s\"><input type=\"hidden\" name=\"dir\" value=\"%r\">"
		 "<button type=\"submit\" class=\"secondary\">Search</button></form>", ers_user_sort_name(f.sort),
	     f.descending ? "desc" : "asc");
	html(&c, "<p class=\"hint\">%r Sorted by %r%r; click a column heading to sort by it.</p>",
	     tenants ? "Super Admins see users across tenants." : "Tenant Admins see regular users in their own tenant only.",
	     ers_user_sort_name(f.sort), f.descending ? ", descending" : "");
	if (!list->count)
		html(&c, "<p class=\"notice\">No users%r.</p>", (q && *q) || after ? " match" : "");
	else {
		html(&c, "<div class=\"table-wrap\"><table class=\"users\"><thead><tr>");
		sort_heading(&c, &f, q, "Email", ERS_USER_SORT_EMAIL);
		sort_heading(&c, &f, q, "Name", ERS_USER_SORT_NAME);
		sort_heading(&c, &f, q, "Role", ERS_USER_SORT_ROLE);
		sort_heading(&c, &f, q, "Status", ERS_USER_SORT_STATUS);
		html(&c, "<th scope=\"col\">Quota used/max</th><th scope=\"col\">Autoresponder</th><th scope=\"col\">MFA</th>"
			 "<th scope=\"col\">Actions</th></tr></thead><tbody>");
		/* Manual 002's mailbox table: Autoresponder Active/Inactive. */
		const char **addresses = ers_xcalloc(list->count, sizeof *addresses);
		bool *responding = ers_xcalloc(list->count, sizeof *responding);
		for (size_t i = 0; i < list->count; i++)
			addresses[i] = list->items[i].address;
		if (ers_autoreply_active_among(r->ctx, &r->session.actor, addresses, list->count, responding, &err) < 0)
			memset(responding, 0, list->count * sizeof *responding);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_user *u = &list->items[i];
			struct ers_buf quota = ERS_BUF_INIT;
			quota_text(&quota, u);
			html(&c, "<tr><td class=\"email\" data-label=\"Email\">%s", u->address);
			if (tenants)
				html(&c, "<br><small>%s</small>", u->tenant);
			html(&c, "</td><td data-label=\"Name\">%s %s</td><td data-label=\"Role\">%s</td>"
				 "<td data-label=\"Status\">%s</td><td data-label=\"Quota used/max\">%s</td>"
				 "<td data-label=\"Autoresponder\">%r</td><td data-label=\"MFA\">%s</td>"
				 "<td><div class=\"row-actions\">",
			     u->first_name, u->last_name, ers_role_name(u->role), status_word(u), quota.data,
			     responding[i] ? "Active" : "Inactive", u->mfa_enabled ? "on" : "off");
			user_link(&c, "/admin/users/edit", u->address, "Edit", NULL);
			user_link(&c, "/admin/users/password", u->address, "Reset password", NULL);
			user_link(&c, "/admin/users/mfa", u->address, "MFA", NULL);
			/* The user's S/MIME identity (manual 000 "Managing User S/MIME
			 * Identities"): the S/MIME Settings page for that user. */
			html(&c, "<a href=\"/smime?user=%u\">S/MIME</a>", u->address);
			html(&c, "<a href=\"/autoreply?user=%u\">Autoresponder</a> <a href=\"/spam?user=%u\">Spam Settings</a>"
				 " <a href=\"/migrate?user=%u\">Migrate</a>", u->address, u->address, u->address);
			struct ers_authz_target t = { .tenant_id = u->tenant_id, .user_id = u->id, .is_user = true,
						      .user_role = u->role };
			/* Manual 003 "Clear the contents of a mailbox", where the policy allows it. */
			if (ers_authz_check(&r->session.actor, ERS_ACT_MAILBOX_CLEAR, &t, &err) == 0)
				user_link(&c, "/admin/users/clear", u->address, "Clear contents", " class=\"danger-link\"");
			user_link(&c, "/admin/users/delete", u->address, "Delete", " class=\"danger-link\"");
			/* Resend welcome where the policy allows it (not to oneself). */
			/* Manual 003 "Log in as mailbox owner", where the policy allows it. */
			if (ers_authz_check(&r->session.actor, ERS_ACT_USER_IMPERSONATE, &t, &err) == 0)
				user_link(&c, "/admin/users/impersonate", u->address, "Log in as owner", NULL);
			if (ers_authz_check(&r->session.actor, ERS_ACT_USER_WELCOME, &t, &err) == 0) {
				html(&c, "<form method=\"post\" action=\"/admin/users/welcome\" class=\"inline\">");
				web_csrf_field(r, &c);
				html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><button type=\"submit\" class=\"link\">"
					 "Resend welcome</button></form>", u->address);
			}
			html(&c, "</div></td></tr>");
			ers_buf_free(&quota);
		}
		html(&c, "</tbody></table></div>");
		free(addresses);
		free(responding);
	}
	html(&c, "<nav class=\"pager actions\" aria-label=\"Pages\">");
	const char *sortw = ers_user_sort_name(f.sort), *dirw = f.descending ? "desc" : "asc";
	if (after && *after)
		html(&c, "<a class=\"button secondary\" href=\"/admin/users?q=%u&amp;tenant=%u&amp;sort=%u&amp;dir=%u\">"
			 "First page</a>", q, f.tenant, sortw, dirw);
	if (list->next_after)
		html(&c, "<a class=\"button secondary\" rel=\"next\" href=\"/admin/users?q=%u&amp;tenant=%u&amp;sort=%u&amp;"
			 "dir=%u&amp;after=%u\">Next page</a>", q, f.tenant, sortw, dirw, list->next_after);
	html(&c, "</nav></section>");
	ers_user_list_free(list);
	admin_page(r, w, "Users", c.data);
	ers_buf_free(&c);
}

/* --- Add User ------------------------------------------------------------- */

/* Which field an error of ers_user_add is about, to show it there. */
static const char *field_of(const struct ers_error *err)
{
	const char *m = err->message;
	if (err->code == ERS_E_PERMISSION)
		return "role";
	if (strstr(m, "IMAP"))
		return "imap";
	if (strstr(m, "password"))
		return "password";
	if (strstr(m, "quota") || strstr(m, "storage"))
		return "quota";
	if (strstr(m, "first name"))
		return "first";
	if (strstr(m, "last name"))
		return "last";
	return "email";
}

static void field_error(struct ers_buf *c, const char *field, const char *err_field, const char *msg)
{
	if (err_field && !strcmp(field, err_field))
		html(c, "<span class=\"field-error\" id=\"%r-error\">%s</span>", field, msg);
}

static const char *described(const char *field, const char *err_field)
{
	static char buf[120];
	if (!err_field || strcmp(field, err_field))
		return "";
	snprintf(buf, sizeof buf, " aria-invalid=\"true\" aria-describedby=\"%s-error\"", field);
	return buf;
}

/* The roles the actor may give (the policy's answer) as options. */
static void role_options(struct web_req *r, struct ers_buf *c, enum ers_action action, long long tenant_id,
			 const char *current)
{
	static const enum ers_role roles[] = { ERS_ROLE_USER, ERS_ROLE_TENANT_ADMIN, ERS_ROLE_SUPER_ADMIN };
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (may(r, action, tenant_id, roles[i]))
			html(c, "<option%r>%s</option>",
			     current && !strcmp(current, ers_role_name(roles[i])) ? " selected" : "",
			     ers_role_name(roles[i]));
}

static void add_form(struct web_req *r, struct web_resp *w, const char *err_field, const char *error)
{
	const char *email = web_form(r, "email"), *first = web_form(r, "first"), *last = web_form(r, "last");
	const char *role = web_form(r, "role"), *quota = web_form(r, "quota"), *imap_user = web_form(r, "imap_username");
	bool posted = !strcmp(r->method, "POST");
	bool generate = web_form(r, "generate") != NULL;
	/* "Send welcome email": on by default; a form shown again keeps the choice. */
	bool welcome = !posted || web_form(r, "welcome") != NULL;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Add User</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/users/new\">");
	web_csrf_field(r, &c);
	html(&c, "<label>Email<input type=\"email\" name=\"email\" value=\"%s\" autocomplete=\"off\" required%r></label>",
	     email, described("email", err_field));
	field_error(&c, "email", err_field, error);
	html(&c, "<fieldset class=\"password\"><legend>Password</legend>"
		 "<label>Initial password<input type=\"password\" name=\"password\" autocomplete=\"new-password\"%r></label>",
	     described("password", err_field));
	field_error(&c, "password", err_field, error);
	html(&c, "<label class=\"check\"><input type=\"checkbox\" name=\"generate\" value=\"1\"%r> Generate a strong "
		 "temporary password instead (shown once, after Create User)</label></fieldset>",
	     generate ? " checked" : "");
	html(&c, "<div class=\"two\"><label>First Name<input name=\"first\" value=\"%s\" maxlength=\"100\"%r></label>",
	     first, described("first", err_field));
	field_error(&c, "first", err_field, error);
	html(&c, "<label>Last Name<input name=\"last\" value=\"%s\" maxlength=\"100\"%r></label></div>", last,
	     described("last", err_field));
	field_error(&c, "last", err_field, error);
	html(&c, "<label>Role<select name=\"role\"%r>", described("role", err_field));
	role_options(r, &c, ERS_ACT_USER_CREATE, r->session.actor.tenant_id, role);
	html(&c, "</select></label>");
	field_error(&c, "role", err_field, error);
	html(&c, "<fieldset class=\"remote\"><legend>Remote mailbox (optional)</legend>"
		 "<p class=\"hint\">Only for a mailbox kept on the tenant's remote approved IMAP host: the account's "
		 "username and password there, stored sealed and never shown. Leave both empty for a mailbox on this "
		 "server.</p>"
		 "<div class=\"two\"><label>IMAP Username<input name=\"imap_username\" value=\"%s\" autocomplete=\"off\"%r>"
		 "</label><label>IMAP Password<input type=\"password\" name=\"imap_password\" autocomplete=\"off\"%r>"
		 "</label></div>", imap_user, described("imap", err_field), described("imap", err_field));
	field_error(&c, "imap", err_field, error);
	html(&c, "</fieldset>");
	html(&c, "<label>Quota (MB)<input name=\"quota\" inputmode=\"numeric\" value=\"%s\" placeholder=\"optional\"%r>"
		 "</label>", quota, described("quota", err_field));
	field_error(&c, "quota", err_field, error);
	html(&c, "<label class=\"check\"><input type=\"checkbox\" name=\"welcome\" value=\"1\" "
		 "aria-describedby=\"welcome-hint\"%r> Send welcome email</label><p class=\"hint\" id=\"welcome-hint\">It holds "
		 "the login URL, the username and the manual link for the account's kind, never the password.</p>",
	     welcome ? " checked" : "");
	html(&c, "<div class=\"actions\"><button type=\"submit\">Create User</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form>"
		 "<p class=\"hint\">Provide generated temporary passwords through a secure channel. Welcome emails do not "
		 "include passwords.</p></section>");
	admin_page(r, w, "Add User", c.data);
	ers_buf_free(&c);
}

void page_admin_user_new(struct web_req *r, struct web_resp *w)
{
	if (web_admin_only(r, w))
		add_form(r, w, NULL, NULL);
}

/* A quota field: "" is none given; else whole megabytes. */
static bool parse_quota(const char *s, bool *set_r, long long *mb_r)
{
	*set_r = false;
	if (!s || !*s)
		return true;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return false;
	*set_r = true;
	*mb_r = v;
	return true;
}

/* The one showing of a generated password, with a copy button. */
static void show_password(struct ers_buf *c, const char *address, const char *password)
{
	html(c, "<div class=\"generated\"><p>Temporary password for <strong>%s</strong> (shown only this once):</p>"
		"<p class=\"secret-line\"><code id=\"generated-password\">%s</code> <button type=\"button\" "
		"class=\"secondary small js-only-inline\" data-copy=\"generated-password\">Copy</button></p>"
		"<p class=\"hint\">Provide generated temporary passwords through a secure channel.</p></div>",
	     address, password);
}

void page_admin_user_new_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *email = web_form(r, "email"), *password = web_form(r, "password"), *role = web_form(r, "role");
	bool generate = web_form(r, "generate") != NULL;
	struct ers_user_spec spec = { .address = email ? email : "", .first_name = web_form(r, "first"),
				      .last_name = web_form(r, "last") };
	struct ers_error err;
	if (generate && password && *password) {
		w->status = 422;
		add_form(r, w, "password", "Type a password or choose Generate, not both.");
		return;
	}
	if (generate)
		spec.generate_password = true;
	else
		spec.password = password ? password : "";
	if (!parse_quota(web_form(r, "quota"), &spec.set_quota, &spec.quota_mb)) {
		w->status = 422;
		add_form(r, w, "quota", "Quota (MB) must be a whole number of megabytes, or empty.");
		return;
	}
	/* IMAP Username and IMAP Password: both or neither (libers says so). */
	const char *imap_user = web_form(r, "imap_username"), *imap_pw = web_form(r, "imap_password");
	if (imap_user && *imap_user)
		spec.imap_username = imap_user;
	if (imap_pw && *imap_pw)
		spec.imap_password = imap_pw;
	spec.send_welcome = web_form(r, "welcome") != NULL;
	if (role && *role) {
		if (ers_role_parse(role, &spec.role, &err) < 0) {
			w->status = 422;
			add_form(r, w, "role", err.message);
			return;
		}
		spec.set_role = true;
	}
	struct ers_user *u = NULL;
	struct ers_buf pw = ERS_BUF_INIT;
	ers_ctx_clear_warning(r->ctx);
	if (ers_user_add(r->ctx, &r->session.actor, &spec, &u, &pw, &err) < 0) {
		w->status = web_status_of(err.code);
		add_form(r, w, field_of(&err), err.message);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>User created</h1><p class=\"ok\" role=\"status\">%s was created "
		 "as %s.</p>", u->address, ers_role_name(u->role));
	/* A welcome email that could not be sent is the one warning: the user
	 * exists all the same, and the audit log has both rows. */
	const char *warning = ers_ctx_warning(r->ctx);
	if (spec.send_welcome && warning)
		html(&c, "<p class=\"warning\" role=\"alert\" id=\"welcome-warning\">Warning: %s</p><p class=\"hint\">Use "
			 "Resend welcome in the Users table once the cause is fixed.</p>", warning);
	else if (spec.send_welcome)
		html(&c, "<p class=\"ok\" id=\"welcome-sent\">A welcome email was sent to %s.</p>", u->address);
	if (generate)
		show_password(&c, u->address, pw.data);
	html(&c, "<div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users</a>"
		 "<a class=\"button secondary\" href=\"/admin/users/new\">Add User</a></div></section>");
	ers_user_free(u);
	ers_buf_free_secret(&pw);
	admin_page(r, w, "User created", c.data);
	ers_buf_free_secret(&c);
}

/* --- a user's pages ------------------------------------------------------- */

/* The user named by ?u= (GET) or u= (POST), which the actor may view; on a
 * refusal the page shows it and NULL comes back. */
static struct ers_user *target_user(struct web_req *r, struct web_resp *w, const char *address)
{
	struct ers_user *u = NULL;
	struct ers_error err;
	if (!web_admin_only(r, w))
		return NULL;
	if (ers_user_get(r->ctx, &r->session.actor, address ? address : "", &u, &err) < 0) {
		web_ers_error(r, w, &err);
		return NULL;
	}
	return u;
}

static void done_page(struct web_req *r, struct web_resp *w, const char *title, const char *message,
		      const char *extra)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"ok\" role=\"status\">%s</p>%r"
		 "<div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users</a></div></section>",
	     title, message, extra);
	admin_page(r, w, title, c.data);
	ers_buf_free_secret(&c);
}

static void refused_page(struct web_req *r, struct web_resp *w, const char *title, const struct ers_error *err)
{
	struct ers_buf c = ERS_BUF_INIT;
	w->status = web_status_of(err->code);
	html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"error\" role=\"alert\">%s</p>"
		 "<p>Nothing was changed.</p><div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users"
		 "</a></div></section>", title, err->message);
	admin_page(r, w, title, c.data);
	ers_buf_free(&c);
}

/* The edit page: the user's own settings (names, role, quota, status,
 * internal-only), then its forward ("Send a copy to"), its domain's
 * catch-all and its send limit -- each a form of its own, posting to the
 * same libers operations as `ersctl user edit`, `ersctl forward` and
 * `ersctl limits`.  `section` names the form `error` is about ("user",
 * "forward", "catchall", "limits"); that form keeps what was posted. */
static void forward_section(struct web_req *r, struct ers_buf *c, const struct ers_user *u, const char *section,
			    const char *error)
{
	struct ers_forward_filter ff = { .tenant = u->tenant };
	struct ers_forward_list *fl = NULL;
	struct ers_error err;
	if (ers_forward_list(r->ctx, &r->session.actor, &ff, &fl, &err) < 0)
		return;
	const struct ers_forward *own = NULL, *catchall = NULL;
	for (size_t i = 0; i < fl->count; i++) {
		const struct ers_forward *f = &fl->items[i];
		if (f->kind == ERS_FORWARD_MAILBOX && !strcmp(f->source, u->address))
			own = f;
		else if (f->kind == ERS_FORWARD_CATCHALL && !strcmp(f->domain, u->domain))
			catchall = f;
	}
	bool here = section && !strcmp(section, "forward");
	html(c, "<section class=\"card form-card\" id=\"forward\"><h2>Forward</h2>");
	if (own) {
		struct ers_buf to = ERS_BUF_INIT;
		for (size_t i = 0; i < own->destination_count; i++)
			ers_buf_addf(&to, "%s%s", i ? ", " : "", own->destinations[i]);
		html(c, "<p id=\"forward-now\">Mail for %s goes on to <strong>%s</strong>; %s</p>", u->address, to.data,
		     own->keep_copy ? "a copy stays in the mailbox." : "the mailbox does not keep it.");
		ers_buf_free(&to);
		if (here && error)
			html(c, "<p class=\"field-error\" id=\"forward-error\" role=\"alert\">%s</p>", error);
		html(c, "<form method=\"post\" action=\"/admin/users/forward\">");
		web_csrf_field(r, c);
		html(c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><input type=\"hidden\" name=\"op\" value=\"remove\">"
			"<button type=\"submit\" class=\"secondary\">Remove forward</button></form>", u->address);
	} else {
		const char *to = here ? web_form(r, "to") : NULL;
		bool nosave = here && web_form(r, "nosave");
		html(c, "<p>No forward: mail for %s stays in its mailbox.</p><form method=\"post\" action=\"/admin/users/forward\">",
		     u->address);
		web_csrf_field(r, c);
		html(c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><input type=\"hidden\" name=\"op\" value=\"add\">"
			"<label>Send a copy to<input name=\"to\" value=\"%s\" placeholder=\"address, another@example.org\"%r>"
			"</label>", u->address, to, here && error ? " aria-invalid=\"true\" aria-describedby=\"forward-error\"" : "");
		if (here && error)
			html(c, "<span class=\"field-error\" id=\"forward-error\">%s</span>", error);
		html(c, "<label class=\"check\"><input type=\"checkbox\" name=\"nosave\" value=\"1\"%r> Do not save incoming "
			"emails (the mailbox does not keep a copy)</label><div class=\"actions\"><button type=\"submit\">"
			"Add forward</button></div></form>", nosave ? " checked" : "");
	}
	html(c, "</section>");

	here = section && !strcmp(section, "catchall");
	html(c, "<section class=\"card form-card\" id=\"catchall\"><h2>Catch-all of %s</h2>"
		"<p class=\"hint\">Mail for addresses of %s that no user, alias or forward has.</p>", u->domain, u->domain);
	if (here && error)
		html(c, "<p class=\"field-error\" id=\"catchall-error\" role=\"alert\">%s</p>", error);
	html(c, "<form method=\"post\" action=\"/admin/users/catchall\">");
	web_csrf_field(r, c);
	html(c, "<input type=\"hidden\" name=\"u\" value=\"%s\">", u->address);
	if (catchall) {
		struct ers_buf to = ERS_BUF_INIT;
		for (size_t i = 0; i < catchall->destination_count; i++)
			ers_buf_addf(&to, "%s%s", i ? ", " : "", catchall->destinations[i]);
		html(c, "<p id=\"catchall-now\">The catch-all %s goes to <strong>%s</strong>.</p>"
			"<input type=\"hidden\" name=\"op\" value=\"remove\"><button type=\"submit\" class=\"secondary\">"
			"Remove catch-all</button></form>", catchall->source, to.data);
		ers_buf_free(&to);
	} else
		html(c, "<p id=\"catchall-now\">%s has no catch-all: such mail is refused.</p>"
			"<input type=\"hidden\" name=\"op\" value=\"add\"><button type=\"submit\" class=\"secondary\">"
			"Make this user the catch-all</button></form>", u->domain);
	html(c, "</section>");
	ers_forward_list_free(fl);
}

static void limits_section(struct web_req *r, struct ers_buf *c, const struct ers_user *u, const char *section,
			   const char *error)
{
	struct ers_limits *l = NULL;
	struct ers_error err;
	if (ers_limits_show(r->ctx, &r->session.actor, ERS_LEVEL_MAILBOX, u->address, &l, &err) < 0)
		return;
	const struct ers_limit_value *v = &l->v[ERS_LIMIT_PER_MAILBOX];
	bool here = section && !strcmp(section, "limits");
	html(c, "<section class=\"card form-card\" id=\"limits\"><h2>Send limit</h2><p id=\"limits-now\">In force: ");
	if (v->effective < 0)
		html(c, "unlimited");
	else
		html(c, "%r%lld emails per hour%r", "", v->effective, v->effective <= 1 ? " (no sending)" : "");
	if (v->from != ERS_LEVEL_NONE)
		html(c, " (set at %s level)", ers_limit_level_name(v->from));
	if (l->sent[ERS_LIMIT_PER_MAILBOX] >= 0)
		html(c, "; %lld sent this hour", l->sent[ERS_LIMIT_PER_MAILBOX]);
	html(c, ".</p><form method=\"post\" action=\"/admin/users/limits\">");
	web_csrf_field(r, c);
	char value[32] = "";
	if (v->here >= 0)
		snprintf(value, sizeof value, "%lld", v->here);
	const char *shown = here ? web_form(r, "per_mailbox") : value;
	html(c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><label>Number of mails sent per hour"
		"<input name=\"per_mailbox\" inputmode=\"numeric\" value=\"%s\" placeholder=\"inherit\"%r></label>",
	     u->address, shown, here && error ? " aria-invalid=\"true\" aria-describedby=\"limits-error\"" : "");
	if (here && error)
		html(c, "<span class=\"field-error\" id=\"limits-error\">%s</span>", error);
	html(c, "<p class=\"hint\">0 or 1: the mailbox sends no mail. Empty: the domain's, tenant's or server's limit "
		"applies.</p><div class=\"actions\"><button type=\"submit\">Save limit</button>"
		"<button type=\"submit\" name=\"clear\" value=\"1\" class=\"secondary\">Clear limit</button></div></form>"
		"</section>");
	ers_limits_free(l);
}

static void edit_form(struct web_req *r, struct web_resp *w, const struct ers_user *u, const char *error,
		      const char *section)
{
	struct ers_buf c = ERS_BUF_INIT;
	bool mine = error && section && !strcmp(section, "user"); /* the posted values are kept */
	const char *done = web_query(r, "done");
	html(&c, "<section class=\"card form-card\"><h1>Edit %s</h1>", u->address);
	if (done && (!strcmp(done, "forward") || !strcmp(done, "catchall") || !strcmp(done, "limits")))
		html(&c, "<p class=\"ok\" role=\"status\">%r</p>",
		     !strcmp(done, "forward") ? "The forward was saved." :
		     !strcmp(done, "catchall") ? "The catch-all was saved." : "The send limit was saved.");
	if (mine)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/users/edit\">");
	web_csrf_field(r, &c);
	const char *first = mine && web_form(r, "first") ? web_form(r, "first") : u->first_name;
	const char *last = mine && web_form(r, "last") ? web_form(r, "last") : u->last_name;
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\">"
		 "<div class=\"two\"><label>First Name<input name=\"first\" value=\"%s\" maxlength=\"100\"></label>"
		 "<label>Last Name<input name=\"last\" value=\"%s\" maxlength=\"100\"></label></div>",
	     u->address, first, last);
	struct ers_authz_target t = { .tenant_id = u->tenant_id, .user_id = u->id, .is_user = true, .user_role = u->role };
	struct ers_error err;
	if (ers_authz_check(&r->session.actor, ERS_ACT_USER_SET_ROLE, &t, &err) == 0) {
		html(&c, "<label>Role<select name=\"role\">");
		role_options(r, &c, ERS_ACT_USER_SET_ROLE, u->tenant_id, ers_role_name(u->role));
		html(&c, "</select></label>");
	} else
		html(&c, "<p>Role: %s</p>", ers_role_name(u->role));
	char quota[32] = "";
	if (u->quota_mb >= 0)
		snprintf(quota, sizeof quota, "%lld", u->quota_mb);
	html(&c, "<label>Quota (MB)<input name=\"quota\" inputmode=\"numeric\" value=\"%s\" placeholder=\"no limit\">"
		 "</label>", mine && web_form(r, "quota") ? web_form(r, "quota") : quota);
	bool internal = mine ? web_form(r, "internal") != NULL : u->internal_only;
	html(&c, "<label>Status<select name=\"status\"><option value=\"active\"%r>active (enabled)</option>"
		 "<option value=\"disabled\"%r>disabled</option></select></label>"
		 "<input type=\"hidden\" name=\"internal_field\" value=\"1\">"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"internal\" value=\"1\"%r> Internal only (receives mail "
		 "only from mailboxes of its own tenant)</label>"
		 "<div class=\"actions\"><button type=\"submit\">Save</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     u->status == ERS_USER_ACTIVE ? " selected" : "", u->status == ERS_USER_ACTIVE ? "" : " selected",
	     internal ? " checked" : "");
	forward_section(r, &c, u, section, error);
	limits_section(r, &c, u, section, error);
	admin_page(r, w, "Edit user", c.data);
	ers_buf_free(&c);
}

void page_admin_user_edit(struct web_req *r, struct web_resp *w)
{
	struct ers_user *u = target_user(r, w, web_query(r, "u"));
	if (!u)
		return;
	edit_form(r, w, u, NULL, NULL);
	ers_user_free(u);
}

/* After a refusal: the form again (with `error` next to `section`) when the
 * actor may see the user; else only the refusal, nothing changed. */
static void edit_failed(struct web_req *r, struct web_resp *w, const char *address, const struct ers_error *err,
			const char *section)
{
	struct ers_user *u = NULL;
	struct ers_error gerr;
	if (err->code != ERS_E_PERMISSION && ers_user_get(r->ctx, &r->session.actor, address, &u, &gerr) == 0) {
		w->status = web_status_of(err->code);
		edit_form(r, w, u, err->message, section);
		ers_user_free(u);
	} else
		refused_page(r, w, "Edit user", err);
}

/* 303 to the edit page of `address`, saying what was saved. */
static void back_to_edit(struct web_resp *w, const char *address, const char *done)
{
	struct ers_buf loc = ERS_BUF_INIT;
	ers_buf_adds(&loc, "/admin/users/edit?u=");
	for (const unsigned char *p = (const unsigned char *)address; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(".-_", *p))
			ers_buf_add(&loc, (const char *)p, 1);
		else
			ers_buf_addf(&loc, "%%%02X", *p);
	ers_buf_addf(&loc, "&done=%s#%s", done, done);
	web_redirect(w, loc.data);
	ers_buf_free(&loc);
}

void page_admin_user_edit_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *role = web_form(r, "role"), *status = web_form(r, "status");
	struct ers_user_spec spec = { .address = address ? address : "", .first_name = web_form(r, "first"),
				      .last_name = web_form(r, "last") };
	struct ers_error err;
	struct ers_user *u = NULL;
	bool quota_ok = parse_quota(web_form(r, "quota"), &spec.set_quota, &spec.quota_mb);
	if (web_form(r, "quota") && !spec.set_quota && quota_ok) { /* emptied: no limit */
		spec.set_quota = true;
		spec.quota_mb = -1;
	}
	if (!quota_ok) {
		ers_error_set(&err, ERS_E_INVALID, "Quota (MB) must be a whole number of megabytes, or empty for no limit.");
		goto refused;
	}
	if (role && *role) {
		if (ers_role_parse(role, &spec.role, &err) < 0)
			goto refused;
		spec.set_role = true;
	}
	if (status && strcmp(status, "active") && strcmp(status, "disabled")) {
		ers_error_set(&err, ERS_E_INVALID, "Status must be active or disabled.");
		goto refused;
	}
	/* The form says internal-only (a checkbox is absent when off). */
	if (web_form(r, "internal_field")) {
		spec.set_internal_only = true;
		spec.internal_only = web_form(r, "internal") != NULL;
	}
	if (ers_user_edit(r->ctx, &r->session.actor, &spec, &u, &err) < 0)
		goto refused;
	bool enable = status && !strcmp(status, "active");
	if (status && enable != (u->status == ERS_USER_ACTIVE) &&
	    ers_user_set_enabled(r->ctx, &r->session.actor, u->address, enable, &err) < 0) {
		w->status = web_status_of(err.code);
		edit_form(r, w, u, err.message, "user");
		ers_user_free(u);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "%s was saved.", u->address);
	done_page(r, w, "User saved", msg.data, NULL);
	ers_buf_free(&msg);
	ers_user_free(u);
	return;
refused:
	edit_failed(r, w, spec.address, &err, "user");
}

/* "Send a copy to": destinations separated by commas or spaces. */
void page_admin_user_forward_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *op = web_form(r, "op"), *to = web_form(r, "to");
	struct ers_error err;
	if (!address)
		address = "";
	if (op && !strcmp(op, "remove")) {
		if (ers_forward_delete(r->ctx, &r->session.actor, address, &err) < 0) {
			edit_failed(r, w, address, &err, "forward");
			return;
		}
		back_to_edit(w, address, "forward");
		return;
	}
	char *copy = ers_xstrdup(to ? to : "");
	const char *dests[ERS_FORWARD_MAX_DESTINATIONS + 1];
	size_t n = 0;
	for (char *save = NULL, *p = strtok_r(copy, ", \t\r\n", &save); p; p = strtok_r(NULL, ", \t\r\n", &save))
		if (n <= ERS_FORWARD_MAX_DESTINATIONS)
			dests[n++] = p;
	if (!n || n > ERS_FORWARD_MAX_DESTINATIONS) {
		ers_error_set(&err, ERS_E_INVALID, "Send a copy to needs 1 to %d addresses, separated by commas",
			      ERS_FORWARD_MAX_DESTINATIONS);
		free(copy);
		edit_failed(r, w, address, &err, "forward");
		return;
	}
	struct ers_forward_spec spec = { .source = address, .destinations = dests, .destination_count = n,
					 .keep_copy = web_form(r, "nosave") == NULL };
	struct ers_forward *f = NULL;
	int rc = ers_forward_add(r->ctx, &r->session.actor, &spec, &f, &err);
	free(copy);
	if (rc < 0) {
		edit_failed(r, w, address, &err, "forward");
		return;
	}
	ers_forward_free(f);
	back_to_edit(w, address, "forward");
}

/* The catch-all of the user's domain: to this user, or removed.  Only
 * libers is asked (as `ersctl forward add '*@DOMAIN' --to USER`). */
void page_admin_user_catchall_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *op = web_form(r, "op");
	const char *at = address ? strrchr(address, '@') : NULL;
	struct ers_error err;
	if (!at) {
		ers_error_set(&err, ERS_E_INVALID, "no user address given");
		refused_page(r, w, "Catch-all", &err);
		return;
	}
	struct ers_buf source = ERS_BUF_INIT;
	ers_buf_addf(&source, "*%s", at);
	int rc;
	if (op && !strcmp(op, "remove"))
		rc = ers_forward_delete(r->ctx, &r->session.actor, source.data, &err);
	else {
		const char *dests[] = { address };
		struct ers_forward_spec spec = { .source = source.data, .destinations = dests, .destination_count = 1 };
		struct ers_forward *f = NULL;
		rc = ers_forward_add(r->ctx, &r->session.actor, &spec, &f, &err);
		ers_forward_free(f);
	}
	if (rc < 0)
		edit_failed(r, w, address, &err, "catchall");
	else
		back_to_edit(w, address, "catchall");
	ers_buf_free(&source);
}

/* "Number of mails sent per hour" of the mailbox: a number, or empty (or
 * Clear limit) to inherit. */
void page_admin_user_limits_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *value = web_form(r, "per_mailbox");
	struct ers_limit_change ch = { 0 };
	struct ers_error err;
	if (!address)
		address = "";
	ch.set[ERS_LIMIT_PER_MAILBOX] = true;
	ch.value[ERS_LIMIT_PER_MAILBOX] = -1;
	if (!web_form(r, "clear") && value && *value &&
	    ers_int_parse(value, "", 0, ERS_SEND_LIMIT_MAX, &ch.value[ERS_LIMIT_PER_MAILBOX], &err) < 0) {
		ers_error_set(&err, ERS_E_INVALID, "Number of mails sent per hour must be 0..%lld, or empty to inherit; "
			      "got \"%.40s\"", ERS_SEND_LIMIT_MAX, value);
		edit_failed(r, w, address, &err, "limits");
		return;
	}
	struct ers_limits *l = NULL;
	if (ers_limits_set(r->ctx, &r->session.actor, ERS_LEVEL_MAILBOX, address, &ch, &l, &err) < 0) {
		edit_failed(r, w, address, &err, "limits");
		return;
	}
	ers_limits_free(l);
	back_to_edit(w, address, "limits");
}

/* Reset password: "The reset password modal includes a Generate button". */
static void password_form(struct web_req *r, struct web_resp *w, const char *address, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Reset password</h1><p>New password for <strong>%s</strong>. "
		 "Resetting it ends the user's sessions.</p>", address);
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/users/password\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\">"
		 "<label>New password<input type=\"password\" name=\"password\" autocomplete=\"new-password\"></label>"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"generate\" value=\"1\"> Generate a strong temporary "
		 "password instead (shown once)</label>"
		 "<div class=\"actions\"><button type=\"submit\">Reset password</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     address);
	admin_page(r, w, "Reset password", c.data);
	ers_buf_free(&c);
}

void page_admin_user_password(struct web_req *r, struct web_resp *w)
{
	struct ers_user *u = target_user(r, w, web_query(r, "u"));
	if (!u)
		return;
	password_form(r, w, u->address, NULL);
	ers_user_free(u);
}

void page_admin_user_password_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u"), *password = web_form(r, "password");
	bool generate = web_form(r, "generate") != NULL;
	struct ers_error err;
	if (!address)
		address = "";
	if (generate && password && *password) {
		ers_error_set(&err, ERS_E_INVALID, "Type a password or choose Generate, not both.");
	} else {
		struct ers_buf pw = ERS_BUF_INIT;
		if (ers_user_passwd(r->ctx, &r->session.actor, address, NULL, generate ? NULL : password ? password : "",
				    generate, &pw, &err) == 0) {
			struct ers_buf msg = ERS_BUF_INIT, extra = ERS_BUF_INIT;
			ers_buf_addf(&msg, "The password of %s was reset.", address);
			if (generate)
				show_password(&extra, address, pw.data);
			done_page(r, w, "Password reset", msg.data, extra.data);
			ers_buf_free(&msg);
			ers_buf_free_secret(&extra);
			ers_buf_free_secret(&pw);
			return;
		}
		ers_buf_free_secret(&pw);
	}
	if (err.code == ERS_E_PERMISSION || err.code == ERS_E_NOTFOUND) {
		refused_page(r, w, "Reset password", &err);
		return;
	}
	w->status = web_status_of(err.code);
	password_form(r, w, address, err.message);
}

/* MFA: whether it is on, and Reset MFA (a lost phone). */
void page_admin_user_mfa(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_query(r, "u");
	struct ers_mfa_status st;
	struct ers_error err;
	if (ers_mfa_status(r->ctx, &r->session.actor, address ? address : "", &st, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>MFA of %s</h1>", st.address);
	if (st.enabled)
		html(&c, "<p>MFA is on (since %s).</p>", st.enabled_at);
	else
		html(&c, "<p>MFA is off.%r</p>", st.setup_pending ? " A set-up was started and not finished." : "");
	if (st.locked)
		html(&c, "<p class=\"warning\">Code entry is locked until %s after too many wrong codes.</p>", st.locked_until);
	html(&c, "<form method=\"post\" action=\"/admin/users/mfa\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><p class=\"hint\">Resetting MFA turns it off and ends the "
		 "user's sessions; the user sets it up again with Set Up FreeOTP.</p>"
		 "<div class=\"actions\"><button type=\"submit\">Reset MFA</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     st.address);
	admin_page(r, w, "MFA", c.data);
	ers_buf_free(&c);
}

void page_admin_user_mfa_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u");
	bool was_on;
	struct ers_error err;
	if (ers_mfa_reset(r->ctx, &r->session.actor, address ? address : "", &was_on, &err) < 0) {
		refused_page(r, w, "Reset MFA", &err);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, was_on ? "MFA of %s was reset: it is off until the user sets it up again." :
			   "MFA of %s was not on: nothing to reset.", address);
	done_page(r, w, "MFA reset", msg.data, NULL);
	ers_buf_free(&msg);
}

/* "Confirm the deletion when prompted": a page naming the address. */
void page_admin_user_delete(struct web_req *r, struct web_resp *w)
{
	struct ers_user *u = target_user(r, w, web_query(r, "u"));
	if (!u)
		return;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Delete %s?</h1><p class=\"warning strong\">Deleting a user will "
		 "remove their access to the system. This action cannot be undone.</p>"
		 "<form method=\"post\" action=\"/admin/users/delete\">", u->address);
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"u\" value=\"%s\"><div class=\"actions\">"
		 "<button type=\"submit\" class=\"danger\">Delete %s</button>"
		 "<a class=\"button secondary\" href=\"/admin/users\">Cancel</a></div></form></section>",
	     u->address, u->address);
	ers_user_free(u);
	admin_page(r, w, "Delete user", c.data);
	ers_buf_free(&c);
}

void page_admin_user_delete_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u");
	struct ers_error err;
	if (ers_user_delete(r->ctx, &r->session.actor, address ? address : "", &err) < 0) {
		refused_page(r, w, "Delete user", &err);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "%s was deleted.", address);
	done_page(r, w, "User deleted", msg.data, NULL);
	ers_buf_free(&msg);
}

/* "Resend welcome": the welcome email again, under the policy's
 * user.welcome (as `ersctl user welcome`); libers audits it either way. */
void page_admin_user_welcome_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "u");
	struct ers_welcome_result res;
	struct ers_error err;
	if (ers_user_welcome(r->ctx, &r->session.actor, address ? address : "", &res, &err) < 0) {
		struct ers_buf c = ERS_BUF_INIT;
		w->status = web_status_of(err.code);
		html(&c, "<section class=\"card form-card\"><h1>Resend welcome</h1><p class=\"error\" role=\"alert\">%r%s</p>"
			 "<div class=\"actions\"><a class=\"button\" href=\"/admin/users\">Back to Users</a></div></section>",
		     err.code == ERS_E_PERMISSION || err.code == ERS_E_NOTFOUND ? "" : "The welcome email was not sent: ",
		     err.message);
		admin_page(r, w, "Resend welcome", c.data);
		ers_buf_free(&c);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "The welcome email was sent to %s from %s, with the link to %s.", address, res.sender,
		     res.manual_url);
	done_page(r, w, "Welcome email sent", msg.data, NULL);
	ers_buf_free(&msg);
}
