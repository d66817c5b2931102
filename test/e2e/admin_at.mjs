// The admin panel's Aliases and Tenants tabs in headless Chromium (manual
// 000 "Managing Email Aliases", "Managing Tenants"): a super admin creates
// a tenant (hosts chosen from the approved list) and an alias, deletes the
// tenant after typing its name; a tenant admin sees no Tenants tab; a
// regular user sees no Admin tab.
// Screenshots of every admin tab (Users, Aliases, Tenants, Security) at 1280
// and 375 px, light and dark.  Run by
// test/integration/webmail_admin_at_browser.sh, which sets up the tenant
// DOMAIN with the super admin boss@DOMAIN, the tenant admin ta@DOMAIN and
// the user u@DOMAIN (password PASSWORD).
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, onLoginPage, control, failed, psql } from './lib.mjs';

const dom = process.env.DOMAIN, PW = process.env.PASSWORD;
const boss = `boss@${dom}`, ta = `ta@${dom}`, user = `u@${dom}`;
const newDom = `new-${dom}`, newName = `Browser ${newDom}`;
const browser = await launch();
const ctx = await newContext(browser);
const errors = watchErrors(ctx);
const page = await ctx.newPage();

// Four screenshots of the page as it is: 1280 and 375 px, light and dark.
async function shots(name) {
	for (const scheme of ['light', 'dark']) {
		await page.emulateMedia({ colorScheme: scheme });
		const suffix = scheme === 'dark' ? '-dark' : '';
		await page.setViewportSize({ width: 1280, height: 800 });
		await shot(page, `${name}-desktop${suffix}`);
		await page.setViewportSize({ width: 375, height: 800 });
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		ok(overflow <= 1, `${name}, ${scheme}: at 375 px the page fits the width`, `overflow ${overflow}px`);
		await shot(page, `${name}-phone${suffix}`);
	}
	await page.emulateMedia({ colorScheme: 'light' });
	await page.setViewportSize({ width: 1280, height: 800 });
}

await step('1 a super admin creates a tenant', async () => {
	await login(page, boss, PW);
	ok(!(await onLoginPage(page)), 'the super admin logs in');
	await page.getByRole('link', { name: 'Admin', exact: true }).click();
	await page.waitForLoadState('load');
	const nav = page.getByRole('navigation', { name: 'Admin' });
	ok(await nav.getByRole('link', { name: 'Tenants' }).isVisible(), 'a super admin sees the Tenants tab');
	await nav.getByRole('link', { name: 'Tenants' }).click();
	await page.waitForLoadState('load');
	is(new URL(page.url()).pathname, '/admin/tenants', 'the Tenants tab opens the table of tenants');
	await control(page, 'Add Tenant').click();
	await page.waitForLoadState('load');
	await page.getByLabel('Name').fill(newName);
	await page.getByLabel('Domain').fill(newDom);
	await page.getByLabel('IMAP Host').selectOption('localhost');
	is(await page.getByLabel('IMAP Port').inputValue(), '993', 'IMAP Port is prefilled with 993');
	is(await page.getByLabel('SMTP Port').inputValue(), '587', 'SMTP Port is prefilled with 587');
	await page.getByLabel('IMAP Port').fill(process.env.IMAP_PORT);
	await page.getByLabel('SMTP Host').selectOption('localhost');
	await page.getByLabel('SMTP Port').fill(process.env.SUBMISSION_PORT);
	await page.getByLabel('Max Users').fill('10');
	await page.getByLabel('Max Storage (MB)').fill('5000');
	await shot(page, 'admin-add-tenant-desktop');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create Tenant' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'Tenant created' }).isVisible(), 'Create Tenant: the tenant is created');
	is(psql(`SELECT max_users || ' ' || max_storage_mb FROM ers.tenant WHERE name = '${newName}'`), '10 5000',
		'... with its limits in the database');
	await control(page, 'Domains and DNS').click();
	await page.waitForLoadState('load');
	ok(await page.getByRole('cell', { name: newDom, exact: true }).isVisible(), 'its domains page lists the domain');
	ok(await page.getByRole('cell', { name: /^off: no key/ }).isVisible(), '... with its DKIM state');
	await shot(page, 'admin-tenant-domains-desktop');
	await page.goto(`${BASE}/admin/tenants`);
	ok(await page.getByRole('cell', { name: newName, exact: true }).isVisible(), 'the new tenant is in the Tenants table');
	await shots('admin-tenants');
});

await step('2 a super admin creates an alias', async () => {
	await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Aliases' }).click();
	await page.waitForLoadState('load');
	await control(page, 'Add Alias').click();
	await page.waitForLoadState('load');
	await page.getByLabel('User').selectOption(user);
	await page.getByLabel('Alias', { exact: true }).fill(`sales@${dom}`);
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create Alias' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'Alias created' }).isVisible(), 'Create Alias: the alias is created');
	is(psql(`SELECT m.address FROM ers.alias a JOIN ers.mailbox m ON m.id = a.mailbox_id WHERE a.address = 'sales@${dom}'`),
		user, '... delivering to the user selected');
	await control(page, 'Back to Aliases').click();
	await page.waitForLoadState('load');
	ok(await page.getByRole('cell', { name: `sales@${dom}`, exact: true }).isVisible(), 'the alias is in the Aliases table');
	ok(await page.getByText('Mail server note:').isVisible(), '... with the mail-server note');
	await shots('admin-aliases');
});

await step('3 Delete a tenant: its name typed', async () => {
	await page.goto(`${BASE}/admin/tenants`);
	await page.getByRole('row').filter({ hasText: newName }).getByRole('link', { name: 'Delete' }).click();
	await page.waitForLoadState('load');
	ok(await page.getByText('remove all associated users, aliases, and data').isVisible(), 'Delete says what goes');
	await page.getByLabel(/Type the tenant's name/).fill('wrong name');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Delete tenant' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText('nothing was deleted').isVisible(), 'a wrong name deletes nothing');
	is(psql(`SELECT count(*) FROM ers.tenant WHERE name = '${newName}'`), '1', '... the tenant is still there');
	await page.getByLabel(/Type the tenant's name/).fill(newName);
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Delete tenant' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'Tenant deleted' }).isVisible(), 'the name typed: the tenant is deleted');
	is(psql(`SELECT count(*) FROM ers.tenant WHERE name = '${newName}'`), '0', '... it is gone from the database');
});

await step('3b the Users and Security tabs, light and dark', async () => {
	await page.goto(`${BASE}/admin/users`);
	ok(await page.getByRole('heading', { name: 'Users' }).first().isVisible(), 'the Users tab');
	ok(await page.locator('a[href^="/smime?user="]').count() > 0, "each user's row links to its S/MIME identity");
	await shots('admin-users-all');
	await page.goto(`${BASE}/admin/security`);
	ok(await page.getByText('Run EICAR Test').first().isVisible(), 'the Security tab offers the self-tests');
	await shots('admin-security');
});

await step('4 a tenant admin sees no Tenants tab', async () => {
	const ctx2 = await newContext(browser);
	const p2 = await ctx2.newPage();
	await login(p2, ta, PW);
	ok(!(await onLoginPage(p2)), 'the tenant admin logs in');
	await p2.getByRole('link', { name: 'Admin', exact: true }).click();
	await p2.waitForLoadState('load');
	const nav = p2.getByRole('navigation', { name: 'Admin' });
	ok(await nav.getByRole('link', { name: 'Aliases' }).isVisible(), 'a tenant admin sees the Aliases tab');
	is(await nav.getByRole('link', { name: 'Tenants' }).count(), 0, '... and no Tenants tab');
	const resp = await p2.goto(`${BASE}/admin/tenants`);
	is(resp.status(), 403, 'the Tenants page itself is refused to a tenant admin');
	await p2.goto(`${BASE}/admin/aliases`);
	ok(await p2.getByRole('cell', { name: `sales@${dom}`, exact: true }).isVisible(), '... who sees its user\'s alias');
	await ctx2.close();
});

await step('5 a regular user sees no Admin tab', async () => {
	const ctx3 = await newContext(browser);
	const p3 = await ctx3.newPage();
	await login(p3, user, PW);
	ok(!(await onLoginPage(p3)), 'the user logs in');
	is(await p3.getByRole('link', { name: 'Admin', exact: true }).count(), 0, 'no Admin tab');
	const resp = await p3.goto(`${BASE}/admin/users`);
	is(resp.status(), 403, 'the Users page itself is refused to a user');
	await ctx3.close();
});

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
