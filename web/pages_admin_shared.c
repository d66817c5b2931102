/* The admin panel's Shared mailboxes tab (manual 004 "Public mailboxes":
 * "Create public mailbox", shared among chosen users): the table, Create,
 * access per user (read, write, post, admin) granted and revoked, Delete
 * after a confirmation.  The operations are ersctl shared's
 * (libers/accounts/shared.c): libers decides, sets Dovecot's ACLs and
 * audits every request, a hand-made one too; the page shows its answer. */
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "web.h"

#define USERS_IN_SELECT 200

static const struct {
	unsigned bit;
	const char *field, *label;
} RIGHT_FIELDS[] = {
	{ ERS_SHARED_READ, "read", "Read" },
	{ ERS_SHARED_WRITE, "write", "Write (flag, file, delete, create folders)" },
	{ ERS_SHARED_POST, "post", "Post" },
	{ ERS_SHARED_ADMIN, "admin", "Admin (everything, and who has access)" },
};
#define NRIGHT_FIELDS (sizeof RIGHT_FIELDS / sizeof RIGHT_FIELDS[0])

static void result_page(struct web_req *r, struct web_resp *w, const char *title, const char *cls, const char *message,
			bool unchanged, const char *back)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>%s</h1><p class=\"%r\" role=\"%r\">%s</p>%r"
		 "<div class=\"actions\"><a class=\"button\" href=\"%s\">Back</a></div></section>",
	     title, cls, strcmp(cls, "ok") ? "alert" : "status", message, unchanged ? "<p>Nothing was changed.</p>" : "",
	     back ? back : "/admin/shared");
	web_admin_page(r, w, "shared", title, c.data);
	ers_buf_free(&c);
}

/* The shared mailbox of ?a= as the policy lets the admin see it, or NULL
 * with the refusal's page titled `title`. */
static struct ers_shared *shown(struct web_req *r, struct web_resp *w, const char *title)
{
	if (!web_admin_only(r, w))
		return NULL;
	const char *address = web_query(r, "a");
	struct ers_shared *s = NULL;
	struct ers_error err;
	if (ers_shared_show(r->ctx, &r->session.actor, address ? address : "", &s, &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, title, "error", err.message, false, NULL);
		return NULL;
	}
	return s;
}

/* --- the table ------------------------------------------------------------ */

void page_admin_shared(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *tenant = web_query(r, "tenant");
	bool tenants = web_sees_tenants(r);
	struct ers_shared_list *list = NULL;
	struct ers_error err;
	if (ers_shared_list(r->ctx, &r->session.actor, tenants && tenant && *tenant ? tenant : NULL, &list, &err) < 0) {
		web_ers_error(r, w, &err);
		return;
	}
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><div class=\"toolbar\"><h1>Shared mailboxes</h1><div class=\"actions\">"
		 "<a class=\"button\" href=\"/admin/shared/new\">Create public mailbox</a></div></div>"
		 "<p class=\"hint\">A shared mailbox has an address and no login of its own: the users given access "
		 "find its folders in their mail under <strong>Shared mailboxes</strong>, and so does any IMAP client "
		 "(as Shared/<em>address</em>/).</p>");
	if (!list->count) {
		html(&c, "<p class=\"notice\">No shared mailboxes yet.</p>");
	} else {
		html(&c, "<div class=\"table-wrap\"><table class=\"users shared\"><thead><tr><th scope=\"col\">Address</th>"
			 "<th scope=\"col\">Name</th>%r<th scope=\"col\">Users with access</th><th scope=\"col\">Actions</th>"
			 "</tr></thead><tbody>", tenants ? "<th scope=\"col\">Tenant</th>" : "");
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_shared *s = &list->items[i];
			html(&c, "<tr><td class=\"email\" data-label=\"Address\">%s</td><td data-label=\"Name\">%s</td>",
			     s->address, s->name);
			if (tenants)
				html(&c, "<td data-label=\"Tenant\">%s</td>", s->tenant);
			html(&c, "<td data-label=\"Users with access\">");
			if (!s->grant_count)
				html(&c, "<span class=\"muted\">nobody yet</span>");
			for (size_t g = 0; g < s->grant_count; g++) {
				char words[64];
				ers_shared_rights_format(s->grants[g].rights, words, sizeof words);
				html(&c, "%r%s (%s)", g ? "<br>" : "", s->grants[g].user, words);
			}
			html(&c, "</td><td><div class=\"row-actions\"><a href=\"/admin/shared/access?a=%u\">Access</a>"
				 "<a class=\"danger-link\" href=\"/admin/shared/delete?a=%u\">Delete</a></div></td></tr>",
			     s->address, s->address);
		}
		html(&c, "</tbody></table></div>");
	}
	html(&c, "</section>");
	ers_shared_list_free(list);
	web_admin_page(r, w, "shared", "Shared mailboxes", c.data);
	ers_buf_free(&c);
}

/* --- Create public mailbox ------------------------------------------------ */

static void create_form(struct web_req *r, struct web_resp *w, const char *address, const char *name, const char *quota,
			const char *error)
{
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Create public mailbox</h1>");
	if (error)
		html(&c, "<p class=\"error\" role=\"alert\" id=\"shared-error\">%s</p><p>Nothing was changed.</p>", error);
	html(&c, "<form method=\"post\" action=\"/admin/shared/new\">");
	web_csrf_field(r, &c);
	html(&c, "<label>Address<input type=\"email\" name=\"address\" value=\"%s\" placeholder=\"team@yourdomain.com\" "
		 "autocomplete=\"off\" required%r></label>"
		 "<label>Name<input type=\"text\" name=\"name\" value=\"%s\" maxlength=\"200\" placeholder=\"Team inbox\"></label>"
		 "<label>Quota (MB)<input type=\"number\" name=\"quota\" value=\"%s\" min=\"0\" max=\"1048576\" "
		 "placeholder=\"none\"></label>"
		 "<p class=\"hint\">The address must be in one of your tenant's domains. Then choose who has access.</p>"
		 "<div class=\"actions\"><button type=\"submit\">Create public mailbox</button>"
		 "<a class=\"button secondary\" href=\"/admin/shared\">Cancel</a></div></form></section>",
	     address, error ? " aria-invalid=\"true\" aria-describedby=\"shared-error\"" : "", name, quota);
	web_admin_page(r, w, "shared", "Create public mailbox", c.data);
	ers_buf_free(&c);
}

void page_admin_shared_new(struct web_req *r, struct web_resp *w)
{
	if (web_admin_only(r, w))
		create_form(r, w, NULL, NULL, NULL, NULL);
}

void page_admin_shared_new_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "address"), *name = web_form(r, "name"), *quota = web_form(r, "quota");
	long long q = -1;
	if (quota && *quota) {
		char *end;
		q = strtoll(quota, &end, 10);
		if (*end || q < 0 || q > 1048576) {
			w->status = 422;
			create_form(r, w, address, name, quota, "The quota must be a number of MB from 0 to 1048576 (0: "
				    "unlimited), or empty for none.");
			return;
		}
	}
	struct ers_shared *s = NULL;
	struct ers_error err;
	if (ers_shared_add(r->ctx, &r->session.actor, address ? address : "", name, q, &s, &err) < 0) {
		w->status = web_status_of(err.code);
		create_form(r, w, address, name, quota, err.message);
		return;
	}
	struct ers_buf to = ERS_BUF_INIT;
	html(&to, "/admin/shared/access?a=%u", s->address);
	ers_shared_free(s);
	web_redirect(w, to.data);
	ers_buf_free(&to);
}

/* --- Access: who may do what ---------------------------------------------- */

static void user_select(struct web_req *r, struct ers_buf *c, const char *tenant)
{
	struct ers_user_filter f = { .limit = USERS_IN_SELECT, .tenant = tenant };
	struct ers_user_list *users = NULL;
	struct ers_error err;
	if (ers_user_list(r->ctx, &r->session.actor, &f, &users, &err) < 0 || users->next_after) {
		html(c, "<label>User<input type=\"email\" name=\"user\" placeholder=\"the user's email address\" required></label>");
		ers_user_list_free(users);
		return;
	}
	html(c, "<label>User<select name=\"user\" required><option value=\"\">Select the user</option>");
	for (size_t i = 0; i < users->count; i++)
		html(c, "<option value=\"%s\">%s</option>", users->items[i].address, users->items[i].address);
	html(c, "</select></label>");
	ers_user_list_free(users);
}

void page_admin_shared_access(struct web_req *r, struct web_resp *w)
{
	struct ers_shared *s = shown(r, w, "Shared mailbox");
	if (!s)
		return;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card\"><h1>Access to %s</h1><p class=\"hint\">%s%rTenant %s. Changes hold from the "
		 "next click of anyone using it.</p>", s->address, s->name, *s->name ? " · " : "", s->tenant);
	if (!s->grant_count) {
		html(&c, "<p class=\"notice\">Nobody has access yet.</p>");
	} else {
		html(&c, "<div class=\"table-wrap\"><table class=\"users grants\"><thead><tr><th scope=\"col\">User</th>"
			 "<th scope=\"col\">Rights</th><th scope=\"col\">Since</th><th scope=\"col\">Actions</th></tr></thead><tbody>");
		for (size_t i = 0; i < s->grant_count; i++) {
			char words[64];
			ers_shared_rights_format(s->grants[i].rights, words, sizeof words);
			html(&c, "<tr><td class=\"email\" data-label=\"User\">%s</td><td data-label=\"Rights\">%s</td>"
				 "<td data-label=\"Since\">%s</td><td><form method=\"post\" action=\"/admin/shared/revoke\">",
			     s->grants[i].user, words, s->grants[i].granted_at);
			web_csrf_field(r, &c);
			html(&c, "<input type=\"hidden\" name=\"a\" value=\"%s\"><input type=\"hidden\" name=\"user\" value=\"%s\">"
				 "<button type=\"submit\" class=\"danger small\">Revoke</button></form></td></tr>",
			     s->address, s->grants[i].user);
		}
		html(&c, "</tbody></table></div>");
	}
	html(&c, "<h2>Give access</h2><form method=\"post\" action=\"/admin/shared/grant\" class=\"form-card\">");
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"a\" value=\"%s\">", s->address);
	user_select(r, &c, s->tenant);
	html(&c, "<fieldset><legend>Rights</legend>");
	for (size_t i = 0; i < NRIGHT_FIELDS; i++)
		html(&c, "<label class=\"check\"><input type=\"checkbox\" name=\"%r\" value=\"1\"%r> %r</label>",
		     RIGHT_FIELDS[i].field, RIGHT_FIELDS[i].bit == ERS_SHARED_READ ? " checked" : "", RIGHT_FIELDS[i].label);
	html(&c, "</fieldset><p class=\"hint\">Giving access to a user who has some replaces their rights.</p>"
		 "<div class=\"actions\"><button type=\"submit\">Give access</button>"
		 "<a class=\"button secondary\" href=\"/admin/shared\">Back to Shared mailboxes</a></div></form></section>");
	ers_shared_free(s);
	web_admin_page(r, w, "shared", "Shared mailbox access", c.data);
	ers_buf_free(&c);
}

static void back_to_access(struct ers_buf *to, const char *address)
{
	html(to, "/admin/shared/access?a=%u", address ? address : "");
}

void page_admin_shared_grant_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "a"), *user = web_form(r, "user");
	unsigned rights = 0;
	for (size_t i = 0; i < NRIGHT_FIELDS; i++)
		if (web_form(r, RIGHT_FIELDS[i].field))
			rights |= RIGHT_FIELDS[i].bit;
	struct ers_buf back = ERS_BUF_INIT;
	back_to_access(&back, address);
	struct ers_error err;
	if (!rights) {
		w->status = 422;
		result_page(r, w, "Give access", "error", "Choose at least one right: Read, Write, Post or Admin.", true, back.data);
	} else if (ers_shared_grant(r->ctx, &r->session.actor, address ? address : "", user ? user : "", rights, &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, "Give access", "error", err.message, true, back.data);
	} else {
		web_redirect(w, back.data);
	}
	ers_buf_free(&back);
}

void page_admin_shared_revoke_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "a"), *user = web_form(r, "user");
	struct ers_buf back = ERS_BUF_INIT;
	back_to_access(&back, address);
	struct ers_error err;
	if (ers_shared_revoke(r->ctx, &r->session.actor, address ? address : "", user ? user : "", &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, "Revoke access", "error", err.message, true, back.data);
	} else {
		web_redirect(w, back.data);
	}
	ers_buf_free(&back);
}

/* --- Delete --------------------------------------------------------------- */

void page_admin_shared_delete(struct web_req *r, struct web_resp *w)
{
	struct ers_shared *s = shown(r, w, "Delete shared mailbox");
	if (!s)
		return;
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<section class=\"card form-card\"><h1>Delete %s?</h1><p class=\"warning strong\">The shared mailbox %s "
		 "and all of its mail will be deleted, and the %zu user(s) with access lose it. If there are no backups "
		 "created for the mailbox, it will be impossible to restore its contents.</p>"
		 "<form method=\"post\" action=\"/admin/shared/delete\">", s->address, s->address, s->grant_count);
	web_csrf_field(r, &c);
	html(&c, "<input type=\"hidden\" name=\"a\" value=\"%s\"><div class=\"actions\">"
		 "<button type=\"submit\" class=\"danger\">Delete %s</button>"
		 "<a class=\"button secondary\" href=\"/admin/shared\">Cancel</a></div></form></section>",
	     s->address, s->address);
	ers_shared_free(s);
	web_admin_page(r, w, "shared", "Delete shared mailbox", c.data);
	ers_buf_free(&c);
}

void page_admin_shared_delete_post(struct web_req *r, struct web_resp *w)
{
	if (!web_admin_only(r, w))
		return;
	const char *address = web_form(r, "a");
	struct ers_error err;
	if (ers_shared_delete(r->ctx, &r->session.actor, address ? address : "", &err) < 0) {
		w->status = web_status_of(err.code);
		result_page(r, w, "Delete shared mailbox", "error", err.message, true, NULL);
		return;
	}
	struct ers_buf msg = ERS_BUF_INIT;
	ers_buf_addf(&msg, "The shared mailbox %s was deleted with its mail.", address);
	result_page(r, w, "Shared mailbox deleted", "ok", msg.data, false, NULL);
	ers_buf_free(&msg);
}
