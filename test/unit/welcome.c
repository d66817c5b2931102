/* Unit tests for the welcome email's text (welcome.h): the login URL, the
 * username, the role, the features and the manual for the role, in the
 * plain text and the HTML, escaped; no password can be in it (it is never
 * given one). */
#include <string.h>
#include "ers/welcome.h"
#include "tap.h"

static void render(enum ers_role role, const char *tenant, struct ers_buf *subject, struct ers_buf *text,
		   struct ers_buf *html)
{
	struct ers_welcome w = { .address = "ann@example.com", .first_name = "Ann", .role = role, .tenant = tenant,
				 .base_url = "https://mail.example.net" };
	ers_buf_reset(subject);
	ers_buf_reset(text);
	ers_buf_reset(html);
	ers_welcome_render(&w, subject, text, html);
}

int main(void)
{
	struct ers_buf s = ERS_BUF_INIT, t = ERS_BUF_INIT, h = ERS_BUF_INIT;
	is_str(ers_welcome_manual_path(ERS_ROLE_USER), "/manual/user", "users: the user manual");
	is_str(ers_welcome_manual_path(ERS_ROLE_TENANT_ADMIN), "/manual/admin", "tenant admins: the admin manual");
	is_str(ers_welcome_manual_path(ERS_ROLE_SUPER_ADMIN), "/manual/admin", "super admins: the admin manual");

	render(ERS_ROLE_USER, "Example Org", &s, &t, &h);
	is_str(s.data, "Welcome to your Example Org e-mail account", "the subject names the organisation");
	ok(strstr(t.data, "Login URL: https://mail.example.net/login\n") != NULL, "text: the login URL");
	ok(strstr(t.data, "Username:  ann@example.com\n") != NULL, "text: the username");
	ok(strstr(t.data, "Role:      User\n") != NULL, "text: the role");
	ok(strstr(t.data, "User manual: https://mail.example.net/manual/user\n") != NULL, "text: the user manual");
	ok(!strstr(t.data, "/manual/admin") && !strstr(h.data, "/manual/admin"), "no admin manual for a user");
	ok(strstr(t.data, "Hello Ann,") != NULL, "greets by first name");
	ok(strstr(t.data, "FreeOTP") != NULL && !strstr(t.data, "tenant"), "a user's features, none of an admin's");
	ok(strstr(t.data, "password is not included") != NULL, "says the password is not in it");
	ok(strstr(h.data, "<a href=\"https://mail.example.net/login\">") != NULL, "HTML: the login link");
	ok(strstr(h.data, "<a href=\"https://mail.example.net/manual/user\">") != NULL, "HTML: the manual link");
	ok(strstr(h.data, "<td>ann@example.com</td>") != NULL && strstr(h.data, "<td>User</td>") != NULL,
	   "HTML: username and role");

	render(ERS_ROLE_TENANT_ADMIN, "A&B <Co>", &s, &t, &h);
	ok(strstr(t.data, "Role:      Tenant Admin\n") && strstr(t.data, "Admin manual: https://mail.example.net/manual/admin\n"),
	   "tenant admin: role and the admin manual");
	ok(strstr(t.data, "regular users") != NULL, "... with the tenant admin's features");
	ok(strstr(h.data, "A&amp;B &lt;Co&gt;") && !strstr(h.data, "A&B <Co>"), "HTML: the organisation's name escaped");

	render(ERS_ROLE_SUPER_ADMIN, "X", &s, &t, &h);
	ok(strstr(t.data, "Role:      Super Admin\n") && strstr(t.data, "/manual/admin\n") && strstr(t.data, "every tenant"),
	   "super admin: role, admin manual, features");
	ers_buf_free(&s);
	ers_buf_free(&t);
	ers_buf_free(&h);
	return done_testing();
}
