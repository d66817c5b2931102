/* The manuals in the app: /manual/user and /manual/admin, the pages the
 * welcome email links to (welcome.h).  They describe what this ERS does
 * today, nothing more.
 *
 * /manual/user needs no session: the welcome email's reader may not have
 * signed in yet (no password in the email), and the page holds nothing
 * about anyone.  /manual/admin needs one (main.c's route sends a signed-out
 * reader to the login page first), because it is for admins only: a
 * regular user gets 403 and the manual's "Admin Features Not Visible"
 * explanation.  Both end with "Back to App", a link to the webmail's home
 * (which asks a signed-out reader to sign in). */
#include <string.h>
#include "web.h"

static const char back_to_app[] = "<p><a class=\"button\" href=\"/\">Back to App</a></p>\n";

static const char user_manual[] =
	"<section class=\"card manual\">\n<h1>User manual</h1>\n"
	"<p>This webmail is your organisation's e-mail on ERS. It works in any current browser, on a desktop or a "
	"phone, and needs no JavaScript (with it, keyboard shortcuts are listed by pressing <kbd>?</kbd>).</p>\n"
	"<h2>Signing in</h2>\n<ol>\n"
	"<li>Open the login URL from your welcome email.</li>\n"
	"<li>Enter your e-mail address as the username, and your password. The welcome email does not include "
	"the password: your administrator gives you a temporary one through a secure channel.</li>\n"
	"<li>If you have turned on MFA, enter the current 6-digit code from FreeOTP.</li>\n</ol>\n"
	"<p>Change the temporary password after you first sign in (below). Use Logout at the top when you are done.</p>\n"
	"<h2>Reading mail</h2>\n<ul>\n"
	"<li>The INBOX opens first, 50 messages a page, newest first; your other folders (Sent, Drafts, Trash, "
	"Junk and your own) are listed beside it.</li>\n"
	"<li>Click a message to read it. Attachments are listed above the text and always download as files.</li>\n"
	"<li>Remote images in HTML mail are blocked until you allow them for that message.</li>\n"
	"<li>Mail from outside your organisation carries a warning above the message: be careful with its links "
	"and attachments.</li>\n"
	"<li>Mark as Unread puts a message back to unread. Delete asks first, then moves the message to Trash; "
	"deleting it in Trash removes it for good.</li>\n</ul>\n"
	"<h2>Writing mail</h2>\n<ul>\n"
	"<li>Compose opens an empty message: To, Cc and Bcc take addresses separated by commas; add attachments "
	"with the file field, then Send. A copy is kept in Sent.</li>\n"
	"<li>Reply and Forward on a message fill the form in for you.</li>\n"
	"<li>Your organisation may limit how many messages each mailbox sends an hour; over the limit, sending "
	"is refused for a while.</li>\n</ul>\n"
	"<h2>Changing your password</h2>\n<ol>\n"
	"<li>Click your e-mail address at the top, then Change Password.</li>\n"
	"<li>Enter your current password and the new one twice, then save.</li>\n</ol>\n"
	"<h2>Two-step sign-in (MFA) with FreeOTP</h2>\n<ol>\n"
	"<li>Click MFA in the top bar after signing in.</li>\n"
	"<li>Click Set Up FreeOTP.</li>\n"
	"<li>Open FreeOTP and scan the QR code. If you are setting up from the same phone, use the displayed "
	"manual secret or setup URI.</li>\n"
	"<li>Enter the current 6-digit code from FreeOTP and click Verify and Enable.</li>\n</ol>\n"
	"<p>From then on the login asks for both your password and a current code. Lost your phone? Your "
	"administrator can turn MFA off for you, and you set it up again.</p>\n"
	"<h2>Getting help</h2>\n"
	"<p>Note any error message you see, try signing out and in again, and contact your administrator with "
	"what you were trying to do, what happened instead, and your browser and operating system.</p>\n"
	"</section>\n";

static const char admin_manual[] =
	"<section class=\"card manual\">\n<h1>Admin manual</h1>\n"
	"<p>For Tenant Admins and Super Admins. Everything in the <a href=\"/manual/user\">user manual</a> "
	"applies to your own mailbox as well.</p>\n"
	"<h2>Roles</h2>\n<ul>\n"
	"<li><strong>User</strong>: their own mailbox, password and MFA.</li>\n"
	"<li><strong>Tenant Admin</strong>: the regular users of their own organisation (tenant): add, edit, "
	"reset passwords, disable, enable, delete, reset MFA; their aliases and forwards; the send limits of the "
	"tenant's domains and users; the tenant's DNS and DKIM records and its audit log. Tenant Admins cannot "
	"view, reset, edit or delete admin users, nor create them.</li>\n"
	"<li><strong>Super Admin</strong>: every tenant with its domains and limits, every user, roles, aliases, "
	"forwards and send limits at every level, DKIM keys and MTA-STS modes.</li>\n</ul>\n"
	"<h2>Where admin tasks are done</h2>\n"
	"<p>In the webmail, the <strong>Admin</strong> tab's Users page lists the users you may manage, a page "
	"at a time with a search box (Super Admins filter by tenant), and does Add User (with Generate for a "
	"temporary password shown once), Edit, Reset password, Reset MFA and Delete. Its Aliases page and (for "
	"Super Admins) its Tenants page are described in their own sections below. Everything else below is "
	"done with <code>ersctl</code>, the command-line tool of ERS, by the server's operator, who can act as "
	"you under exactly your role's rights (<code>ersctl --as you@example.com ...</code>; the audit log names "
	"you both). Every change is one transaction with one audit-log row. The commands are described in the "
	"manual pages (<code>man ersctl-user</code>, <code>ersctl help</code>).</p>\n"
	"<h2>Adding a user</h2>\n<ul>\n"
	"<li><code>ersctl user add name@example.com --generate-password --send-welcome</code> creates the mailbox "
	"with a temporary password, shown once: give it to the user through a secure channel.</li>\n"
	"<li>Options: <code>--first-name</code>, <code>--last-name</code>, <code>--role</code> (Super Admins "
	"only for admin roles), <code>--quota-mb</code> (required when the tenant has a storage limit), "
	"<code>--internal-only</code>. The tenant's user and storage limits are checked.</li>\n</ul>\n"
	"<h2>Welcome Emails</h2>\n<ul>\n"
	"<li>The email includes the login URL, username, role, feature summary, and the correct manual link for "
	"the user's role.</li>\n"
	"<li>The login and manual links come from the server's WELCOME_EMAIL_BASE_URL setting.</li>\n"
	"<li>Regular users receive the user manual link. Tenant Admins and Super Admins receive the full admin "
	"manual link.</li>\n"
	"<li>The temporary password is not included in the welcome email. Provide it separately through a secure "
	"channel.</li>\n"
	"<li>If the email cannot be sent, the user account is still created and the admin will see a warning "
	"saying why.</li>\n"
	"<li>Send it again with <code>ersctl user welcome name@example.com</code>. Each sending, or failure to "
	"send, is recorded in the audit log as <code>user.welcome</code>.</li>\n</ul>\n"
	"<h2>Managing users</h2>\n<ul>\n"
	"<li><code>ersctl user list</code> and <code>user show</code>: the users you may see, with quota use and "
	"status.</li>\n"
	"<li><code>ersctl user edit</code>: names, quota, internal-only, and roles (Super Admins).</li>\n"
	"<li><code>ersctl user passwd --generate-password</code>: a new temporary password.</li>\n"
	"<li><code>ersctl user disable</code> / <code>enable</code>: a disabled user cannot sign in and receives "
	"no mail. <code>ersctl user delete</code> removes the user with its aliases and forward; it cannot be "
	"undone.</li>\n"
	"<li><code>ersctl user mfa status</code> / <code>reset</code>: a user who lost their phone.</li>\n"
	"<li><code>ersctl user import</code> / <code>export</code>: many users at once from CSV or JSON.</li>\n</ul>\n"
	"<h2>Managing Email Aliases</h2>\n<ul>\n"
	"<li>Click the <strong>Aliases</strong> tab in the admin panel. Super Admins see aliases across tenants, "
	"with a tenant filter; Tenant Admins see the aliases of the regular users in their own tenant only. Each "
	"alias shows the alias email and the user it belongs to, 50 a page sorted by alias, with a search box "
	"(part of the alias or of the user's address).</li>\n"
	"<li><strong>Add Alias</strong>: select the user who will receive emails sent to this alias, enter the "
	"alias email address (e.g., sales@yourdomain.com), tick Internal only if only senders of the same tenant "
	"may write to it, and click <strong>Create Alias</strong>. The alias must be in one of the domains of the "
	"user's tenant and not an address already used by a user, an alias or a forward. Tenant Admins can add "
	"aliases for regular users in their own tenant; Super Admins across tenants.</li>\n"
	"<li><strong>Delete</strong>: click Delete next to the alias and confirm on the page that names it. An "
	"alias that a forward of the tenant sends mail to is kept until that forward is changed.</li>\n"
	"<li>Mail server note: the alias mapping is stored in the ERS database, and here the mail server (Postfix "
	"and Dovecot) reads it from there for every message: an alias delivers as soon as it is created and "
	"stops as soon as it is deleted. Nothing needs to be changed on the mail server.</li>\n</ul>\n"
	"<h2>Managing Tenants (Super Admin Only)</h2>\n<ul>\n"
	"<li>The <strong>Tenants</strong> tab is only visible to Super Admins. It lists all organizations: their "
	"domains, users against Max Users, storage (the quotas given to their mailboxes against Max Storage, and "
	"the mail stored, as the mail server last reported it) and their IMAP and SMTP hosts.</li>\n"
	"<li><strong>Add Tenant</strong>: Name, Domain (the primary email domain), IMAP Host and SMTP Host "
	"selected from the server's approved hosts (the operator approves hosts with <code>ersctl server host "
	"add</code>), IMAP Port (993 prefilled) and SMTP Port (587 prefilled; 465 is the other usual one) as "
	"approved for that host, Max Users and Max Storage in MB (optional: empty is no limit). Click "
	"<strong>Create Tenant</strong>.</li>\n"
	"<li><strong>Edit</strong>: the same but the domain. A limit below what the tenant uses already is "
	"accepted, with a warning: no user can then be added (nor quota raised) until the use is under it.</li>\n"
	"<li><strong>Domains</strong>: each domain of the tenant, whether it is the primary one, its DKIM state "
	"(a key signing, a key published but not signing yet, or none) and <strong>Check DNS</strong>, which asks "
	"DNS at that moment and lists every record the domain needs as ok, missing, wrong, harmful or a failed "
	"lookup. Add Domain (optionally as the primary one), Make primary, and Remove (refused for the primary "
	"domain and for a domain still used by users, aliases or forwards).</li>\n"
	"<li><strong>Delete</strong>: Deleting a tenant will remove all associated users, aliases, and data. The "
	"page states what will be removed (its domains, the number of users with their mailboxes, aliases, "
	"forwards and catch-alls, and the messages and megabytes of mail) and deletes only once you type the "
	"tenant's name exactly. It cannot be undone.</li>\n</ul>\n"
	"<h2>Aliases, forwards and limits</h2>\n<ul>\n"
	"<li><code>ersctl alias add alias@example.com --to user@example.com</code>: another address delivering to "
	"a user's mailbox.</li>\n"
	"<li><code>ersctl forward add</code>: forward a user's mail (with or without keeping a copy), an address "
	"of its own, or a domain's catch-all (<code>*@example.com</code>); loops are refused.</li>\n"
	"<li><code>ersctl limits set</code> / <code>show</code>: hourly send limits per mailbox, domain and "
	"tenant.</li>\n</ul>\n"
	"<h2>Domains, DNS and DKIM</h2>\n<ul>\n"
	"<li><code>ersctl dns plan DOMAIN</code>: every DNS record the domain needs; <code>ersctl dns check</code> "
	"checks what DNS answers.</li>\n"
	"<li><code>ersctl dkim show DOMAIN</code>: the DKIM records to publish. Super Admins enable and rotate "
	"keys (<code>ersctl dkim enable</code>, <code>rotate</code>).</li>\n"
	"<li><code>ersctl tenant golive</code>: the go-live checklist in one command.</li>\n</ul>\n"
	"<h2>Audit log</h2>\n"
	"<p><code>ersctl audit list</code> shows who changed what and when, refusals included; Tenant Admins see "
	"their own tenant's rows.</p>\n"
	"<h2>Admin Features Not Visible</h2>\n"
	"<p>Possible causes: you don't have admin permissions, or you're logged in as a regular user. Solution: "
	"contact your Super Admin to request appropriate permissions.</p>\n"
	"</section>\n";

static void manual_page(struct web_req *r, struct web_resp *w, const char *title, const char *body)
{
	struct ers_buf c = ERS_BUF_INIT;
	ers_buf_adds(&c, body);
	ers_buf_adds(&c, back_to_app);
	web_page(r, w, title, c.data);
	ers_buf_free(&c);
}

void page_manual_user(struct web_req *r, struct web_resp *w)
{
	manual_page(r, w, "User manual", user_manual);
}

void page_manual_admin(struct web_req *r, struct web_resp *w)
{
	enum ers_role role = r->session.actor.role;
	if (role != ERS_ROLE_TENANT_ADMIN && role != ERS_ROLE_SUPER_ADMIN) {
		w->status = 403;
		manual_page(r, w, "Admin manual: not for your account",
			    "<section class=\"card manual\">\n<h1>Admin Features Not Visible</h1>\n"
			    "<p>The admin manual is for Tenant Admins and Super Admins. You're logged in as a regular "
			    "user, so you don't have admin permissions.</p>\n"
			    "<p>Solution: Contact your Super Admin to request appropriate permissions. Everything you "
			    "can do is in the <a href=\"/manual/user\">user manual</a>.</p>\n</section>\n");
		return;
	}
	manual_page(r, w, "Admin manual", admin_manual);
}
