/* What the admin panel's tabs share: the sub-tab navigation (Users,
 * Aliases, Shared mailboxes and, for super admins, Tenants), which tabs the actor gets and
 * the refusal of a regular user.  Every answer is the policy's
 * (ers_authz_check); the panel holds no rule of its own. */
#include <string.h>
#include "html.h"
#include "web.h"

bool web_sees_tenants(const struct web_req *r)
{
	/* Every tenant, not only one's own: super admins (and operators). */
	struct ers_error err;
	struct ers_authz_target all = { 0 };
	return r->have_session && ers_authz_check(&r->session.actor, ERS_ACT_TENANT_VIEW, &all, &err) == 0;
}

bool web_admin_only(struct web_req *r, struct web_resp *w)
{
	if (web_is_admin(r))
		return true;
	web_error_page(r, w, 403, "Admin features are for Tenant Admins and Super Admins. Contact your Super Admin "
		       "to request appropriate permissions.");
	return false;
}

void web_admin_page(struct web_req *r, struct web_resp *w, const char *tab, const char *title, const char *content)
{
	static const struct { const char *tab, *href, *label; } tabs[] = {
		{ "users", "/admin/users", "Users" },
		{ "aliases", "/admin/aliases", "Aliases" },
		{ "shared", "/admin/shared", "Shared mailboxes" },
		{ "tenants", "/admin/tenants", "Tenants" },
		{ "security", "/admin/security", "Security" },
	};
	struct ers_buf c = ERS_BUF_INIT;
	html(&c, "<nav class=\"subtabs\" aria-label=\"Admin\">");
	for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++) {
		/* Manual 000: the Tenants tab is "only visible to Super Admins". */
		if (!strcmp(tabs[i].tab, "tenants") && !web_sees_tenants(r))
			continue;
		html(&c, "<a href=\"%r\"%r>%r</a>", tabs[i].href,
		     tab && !strcmp(tab, tabs[i].tab) ? " aria-current=\"page\"" : "", tabs[i].label);
	}
	html(&c, "</nav>%r", content);
	web_page(r, w, title, c.data);
	ers_buf_free(&c);
}
