/* The admin panel's Aliases tab (manual 000 "Managing Email Aliases"): the
 * table of alias -> user, paged on the server with libers' keyset cursor
 * and searchable (super admins across tenants with a tenant filter, tenant
 * admins their own tenant's regular users); Add Alias; Delete after a
 * confirmation naming the alias.  The operations are ersctl alias's
 * (libers/accounts/alias.c): libers decides and audits every request, a
 * hand-made one too, and the page shows its answer. */
#include <string.h>
#include "html.h"
#include "web.h"

#define ALIASES_PER_PAGE 50
#define USERS_IN_SELECT 200 /* more than this: the user's address is typed (with suggestions) */

/* The manual's mail-server note, told as it is here: Postfix and Dovecot
 * look the mapping up in this database on every message. */
#define MAIL_SERVER_NOTE \
	"<p class=\"hint\" id=\"mail-server-note\"><strong>Mail server note:</strong> the alias mapping is stored in " \
	"the database, and here the mail server reads it from there for every message: an alias delivers as soon as " \
	"it is created and stops as soon as it is deleted. Nothing needs to be changed on the mail server.</p>"

/* --- the table ------------------------------------------------------------ */

void page_admin_aliases(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *q = web_query(r, "q"), *tenant = web_query(r, "tenant"), *after = web_query(r, "after");
	bool tenants = web_sees_tenants(r);
	struct ers_alias_filter f = { .search = q, .after = after && *after ? after : NULL, .limit = ALIASES_PER_PAGE,
				      .tenant = tenants && tenant && *tenant ? tenant : NULL };
	struct ers_alias_list *list = NULL;
	struct ers_error err;
	if (ers_alias_list(r->ctx, &r->session.actor, &f, &list, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Aliases</h1><div class=\"actions\">"
		 "<a class=\"button\" href=\"/admin/aliases/new\">Add Alias</a></div></div>"
		 "<form method=\"get\" action=\"/admin/aliases\" class=\"filters\" role=\"search\">"
		 "<label>Search<input type=\"search\" name=\"q\" value=\"%s\" placeholder=\"Alias or user\"></label>",
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
	html(&c, "<button type=\"submit\" class=\"secondary\">Search</button></form>");
	html(&c, "<p class=\"hint\">%r Sorted by alias.</p>",
	     tenants ? "Super Admins see aliases across tenants." :
		       "Tenant Admins see the aliases of the regular users in their own tenant.");
	if (!list->count)
		html(&c, "<p class=\"notice\">No aliases%r.</p>", (q && *q) || f.after ? " match" : "");
	else {
		html(&c, "<div class=\"table-wrap\"><table class=\"users aliases\"><thead><tr><th scope=\"col\">Alias</th>"
			 "<th scope=\"col\">User</th>%r<th scope=\"col\">Internal only</th><th scope=\"col\">Created</th>"
			 "<th scope=\"col\">Actions</th></tr></thead><tbody>",
		     tenants ? "<th scope=\"col\">Tenant</th>" : "");
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_alias *a = &list->items[i];
			html(&c, "<tr><td class=\"email\" data-label=\"Alias\">%s</td><td data-label=\"User\">%s</td>",
			     a->address, a->user);
			if (tenants)
				html(&c, "<td data-label=\"Tenant\">%s</td>", a->tenant);
			html(&c, "<td data-label=\"Internal only\">%r</td><td data-label=\"Created\">%s</td>"
				 "<td><div class=\"row-actions\"><a class=\"danger-link\" href=\"/admin/aliases/delete?a=%u\">"
				 "Delete</a></div></td></tr>",
			     a->internal_only ? "yes" : "no", a->created_at, a->address);
		}
		html(&c, "</tbody></table></div>");
	}
	html(&c, "<nav class=\"pager actions\" aria-label=\"Pages\">");
	if (f.after)
		html(&c, "<a class=\"button secondary\" href=\"/admin/aliases?q=%u&amp;tenant=%u\">First page</a>", q,
		     f.tenant);
	if (list->next_after)
		html(&c, "<a class=\"button secondary\" rel=\"next\" href=\"/admin/aliases?q=%u&amp;tenant=%u&amp;after=%u\">"
			 "Next page</a>", q, f.tenant, list->next_after);
	html(&c, "</nav>" MAIL_SERVER_NOTE "</section>");
	ers_alias_list_free(list);
	web_admin_page(r, w, "aliases", "Aliases", c.data);
	ers_buf_free(&c);
}

/* --- Add Alias ------------------------------------------------------------ */

/* Which field an error of ers_alias_add is about: the user's or the alias's. */
static const char *field_of(const struct ers_error *err)
{
	const char *m = err->message;
	if (err->code == ERS_E_PERMISSION || strstr(m, "--to") || !strncmp(m, "no user", 7) ||
	    strstr(m, "needs the user"))
		return "user";
	return "alias";
}

static void field_error(struct ers_buf *c, const char *field, const char *err_field, const char *msg)
{
	if (err_field && !strcmp(field, err_field))
		html(c, "<span class=\"field-error\" id=\"%r-error\">%s</span>", field, msg);
}

static const char *described(const char *field, const char *err_field)
{
	if (!err_field || strcmp(field, err_field))
		return "";
	return !strcmp(field, "user") ? " aria-invalid=\"true\" aria-describedby=\"user-error\"" :
					" aria-invalid=\"true\" aria-describedby=\"alias-error\"";
}

/* "Select the user who will receive emails sent to this alias": the users
 * the actor may see (the policy's list: tenant admins get their tenant's
 * regular users), as a list to choose from; past USERS_IN_SELECT the
 * address is typed, with the first ones suggested. */
static void user_field(struct web_req *r, struct ers_buf *c, const char *current, const char *err_field)
{
	struct ers_user_filter f = { .limit = USERS_IN_SELECT };
	struct ers_user_list *users = NULL;
	struct ers_error err;
	if (ers_user_list(r->ctx, &r->session.actor, &f, &users, &err) < 0) {
		html(c, "<label>User<input type=\"email\" name=\"user\" value=\"%s\" required%r></label>", current,
		     described("user", err_field));
		return;
	}
	if (!users->next_after) {
		html(c, "<label>User<select name=\"user\" required%r><option value=\"\">Select the user</option>",
		     described("user", err_field));
		for (size_t i = 0; i < users->count; i++) {
			const struct ers_user *u = &users->items[i];
			html(c, "<option value=\"%s\"%r>%s", u->address,
			     current && !strcmp(current, u->address) ? " selected" : "", u->address);
			if (*u->first_name || *u->last_name)
				html(c, " (%s %s)", u->first_name, u->last_name);
			html(c, "</option>");
		}
		/* A hand-made value not in the list is kept, so the error shows it. */
		bool listed = !current || !*current;
		for (size_t i = 0; !listed && i < users->count; i++)
			listed = !strcmp(current, users->items[i].address);
		if (!listed)
			html(c, "<option value=\"%s\" selected>%s</option>", current, current);
		html(c, "</select></label>");
	} else {
		html(c, "<label>User<input type=\"email\" name=\"user\" value=\"%s\" list=\"alias-users\" autocomplete=\"off\" "
			"placeholder=\"the user's email address\" required%r></label><datalist id=\"alias-users\">",
		     current, described("user", err_field));
		for (size_t i = 0; i < users->count; i++)
			html(c, "<option value=\"%s\">", users->items[i].address);
		html(c, "</datalist>");
	}
	ers_user_list_free(users);
}

static void add_form(struct web_req *r, struct web_resp *w, const char *user, const char *alias, bool internal,
		     const char *err_field, const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Add Alias</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\">%s</p><p>Nothing was changed.</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/aliases/new\">");
	web_csrf_field(r, &c);
	user_field(r, &c, user, err_field);
	field_error(&c, "user", err_field, error);
	html(&c, "<label>Alias<input type=\"email\" name=\"alias\" value=\"%s\" placeholder=\"sales@yourdomain.com\" "
		 "autocomplete=\"off\" required%r></label>", alias, described("alias", err_field));
	field_error(&c, "alias", err_field, error);
	html(&c, "<p class=\"hint\">The alias must be in one of the domains of the user's tenant. %r</p>"
		 "<label class=\"check\"><input type=\"checkbox\" name=\"internal\" value=\"1\"%r> Internal only: accept "
		 "mail for this alias from senders of the same tenant only</label>"
		 "<div class=\"actions\"><button type=\"submit\">Create Alias</button>"
		 "<a class=\"button secondary\" href=\"/admin/aliases\">Cancel</a></div></form>" MAIL_SERVER_NOTE "</section>",
	     web_sees_tenants(r) ? "Super Admins can add aliases across tenants." :
				   "Tenant Admins can add aliases for regular users in their own tenant.",
	     internal ? " checked" : "");
	web_admin_page(r, w, "aliases", "Add Alias", c.data);
	ers_buf_free(&c);
}

void page_admin_alias_new(struct web_req *r, struct web_resp *w)
{
	if (web_admin_only(r, w))
		add_form(r, w, web_query(r, "u"), NULL, false, NULL, NULL);
}

void page_admin_alias_new_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *user = web_form(r, "user"), *alias = web_form(r, "alias");
	bool internal = web_form(r, "internal") != NULL;
	struct ers_error err;
	if (!user || !*user) {
		w->status = 422;
		add_form(r, w, user, alias, internal, "user", "Select the user who will receive emails sent to this alias.");
		return;
	}
	if (!alias || !*alias) {
		w->status = 422;
		add_form(r, w, user, alias, internal, "alias", "Enter the alias email address (e.g., sales@yourdomain.com).");
		return;
	}
	struct ers_alias_spec spec = { .address = alias, .user = user, .internal_only = internal };
	struct ers_alias *a = NULL;
	if (ers_alias_add(r->ctx, &r->session.actor, &spec, &a, &err) < 0) {
		w->status = web_status_of(err.code);
		add_form(r, w, user, alias, internal, field_of(&err), err.message);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Alias created</h1><p class=\"ok\" role=\"status\">Mail to "
		 "<strong>%s</strong> now goes to %s%r.</p>" MAIL_SERVER_NOTE
		 "<div class=\"actions\"><a class=\"button\" href=\"/admin/aliases\">Back to Aliases</a>"
		 "<a class=\"button secondary\" href=\"/admin/aliases/new\">Add Alias</a></div></section>",
	     a->address, a->user, a->internal_only ? " (internal only)" : "");
	ers_alias_free(a);
	web_admin_page(r, w, "aliases", "Alias created", c.data);
	ers_buf_free(&c);
}

/* --- Delete --------------------------------------------------------------- */

static void result_page(struct web_req *r, struct web_resp *w, const char *title, const char *cls,
			const char *message, bool unchanged)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"%r\" role=\"%r\">%s</p>%r"
		 "<div class=\"actions\"><a class=\"button\" href=\"/admin/aliases\">Back to Aliases</a></div></section>",
	     title, cls, strcmp(cls, "ok") ? "alert" : "status", message, unchanged ? "<p>Nothing was changed.</p>" : "");
	web_admin_page(r, w, "aliases", title, c.data);
	ers_buf_free(&c);
}

/* "Click the Delete button": first a page that names the alias and asks. */
void page_admin_alias_delete(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_query(r, "a");
	struct ers_alias *a = NULL;
	struct ers_error err;
	if (ers_alias_get(r->ctx, &r->session.actor, address ? address : "", &a, &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, "Delete alias", "error", err.message, false);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Delete %s?</h1><p class=\"warning strong\">The alias %s will be "
		 "removed from the system: mail sent to it will no longer reach %s.</p>"
		 "<form method=\"post\" action=\"/admin/aliases/delete\">", a->address, a->address, a->user);
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"a\" value=\"%s\"><div class=\"actions\">"
		 "<button type=\"submit\" class=\"danger\">Delete %s</button>"
		 "<a class=\"button secondary\" href=\"/admin/aliases\">Cancel</a></div></form></section>",
	     a->address, a->address);
	ers_alias_free(a);
	web_admin_page(r, w, "aliases", "Delete alias", c.data);
	ers_buf_free(&c);
}

void page_admin_alias_delete_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "a");
	struct ers_error err;
	if (ers_alias_delete(r->ctx, &r->session.actor, address ? address : "", &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, "Delete alias", "error", err.message, true);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "The alias %s was deleted.", address);
	result_page(r, w, "Alias deleted", "ok", msg.data, false);
	ers_buf_free(&msg);
}
