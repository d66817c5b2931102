// The admin panel's Users tab in headless Chromium (manual 000 "Managing
// Users", "Welcome Emails"): a super admin opens Admin, adds a user with
// Generate and Send welcome email (on by default), copies the temporary
// password shown once, and the new user logs in with it; the table sorts by
// a column heading; the edit page adds a forward (an error shown next to
// the field first, the typed text kept) and a send limit; Resend welcome;
// Reset password with Generate and Delete after its confirmation (of
// leaver@DOMAIN).  Screenshots at 1280 and 375 px.  Run by
// test/integration/webmail_admin_browser.sh, which sets up the tenant
// DOMAIN with the super admin boss@DOMAIN (password PASSWORD), the user
// leaver@DOMAIN and the
// welcome emails' base URL and sender, and checks the delivered welcome
// email against the password this script writes to PWFILE.
import { writeFileSync } from 'node:fs';
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, onLoginPage, control, failed } from './lib.mjs';

const dom = process.env.DOMAIN, PW = process.env.PASSWORD;
const boss = `boss@${dom}`, newUser = `newbie@${dom}`, leaver = `leaver@${dom}`;
const browser = await launch();
const ctx = await newContext(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
const errors = watchErrors(ctx);
const page = await ctx.newPage();
let generated = '';

await step('1 the Admin tab and the Users table', async () => {
	await login(page, boss, PW);
	ok(!(await onLoginPage(page)), 'the super admin logs in');
	await page.getByRole('link', { name: 'Admin', exact: true }).click();
	await page.waitForLoadState('load');
	is(new URL(page.url()).pathname, '/admin/users', 'the Admin tab leads to the Users table');
	ok(await page.getByRole('cell', { name: boss }).or(page.getByText(boss)).first().isVisible(), '... which lists the super admin');
	ok(await page.getByLabel('Tenant').isVisible(), '... with a tenant filter');
	await shot(page, 'admin-users-desktop');
	await page.setViewportSize({ width: 375, height: 800 });
	await page.reload();
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	ok(overflow <= 1, 'at 375 px the table fits the width', `overflow ${overflow}px`);
	await shot(page, 'admin-users-phone');
	await page.setViewportSize({ width: 1280, height: 800 });
});

await step('2 Add User with Generate', async () => {
	await control(page, 'Add User').click();
	await page.waitForLoadState('load');
	await page.locator('input[name=email]').fill(newUser);
	await page.getByLabel(/Generate/).check();
	await page.getByLabel('First Name').fill('Nina');
	await page.getByLabel('Last Name').fill('Newbie');
	await page.getByLabel('Role').selectOption('user');
	await page.getByLabel('Quota (MB)').fill('50');
	ok(await page.getByLabel(/Send welcome email/).isChecked(), 'Send welcome email is on by default');
	ok(await page.getByLabel('IMAP Username').isVisible() && await page.getByLabel('IMAP Password').isVisible(),
		'IMAP Username and IMAP Password are on the form');
	await shot(page, 'admin-add-user-desktop');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create User' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'User created' }).isVisible(), 'Create User: the user is created');
	generated = (await page.locator('#generated-password').textContent()) || '';
	ok(generated.length >= 16, 'the generated temporary password is shown', `got "${generated}"`);
	if (process.env.PWFILE)
		writeFileSync(process.env.PWFILE, generated);
	ok(await page.locator('#welcome-sent').isVisible(), 'the page says the welcome email was sent',
		await page.locator('main').innerText());
	await page.getByRole('button', { name: 'Copy' }).click();
	await page.getByRole('button', { name: 'Copied' }).waitFor();
	is(await page.evaluate(() => navigator.clipboard.readText()), generated, 'Copy puts it on the clipboard');
	await shot(page, 'admin-user-created-desktop');
	await page.setViewportSize({ width: 375, height: 800 });
	await shot(page, 'admin-user-created-phone');
	await page.setViewportSize({ width: 1280, height: 800 });
	await page.goto(`${BASE}/admin/users`);
	ok(await page.getByText(newUser).first().isVisible(), 'the new user is in the Users table');
});

await step('3 the new user logs in with the generated password', async () => {
	const ctx2 = await newContext(browser);
	const p2 = await ctx2.newPage();
	await login(p2, newUser, generated);
	ok(!(await onLoginPage(p2)), 'the generated password logs in to the webmail');
	is(await p2.getByRole('link', { name: 'Admin', exact: true }).count(), 0, '... and a regular user sees no Admin tab');
	await ctx2.close();
});

await step('4 sorting by a column heading', async () => {
	await page.goto(`${BASE}/admin/users`);
	await page.getByRole('link', { name: 'Name', exact: true }).click();
	await page.waitForLoadState('load');
	is(new URL(page.url()).searchParams.get('sort'), 'name', 'the Name heading sorts by name');
	is(await page.locator('th[aria-sort]').innerText(), 'Name \u25b2', '... and says so (ascending)');
	await page.getByRole('link', { name: /^Name/ }).click();
	await page.waitForLoadState('load');
	is(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending', 'a second click sorts descending');
});

await step('5 the edit page: forward and send limit', async () => {
	await page.goto(`${BASE}/admin/users/edit?u=${encodeURIComponent(newUser)}`);
	await page.getByLabel('Send a copy to').fill('copy@@bad');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Add forward' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.locator('#forward-error').isVisible(), 'a bad address: the error is shown next to Send a copy to');
	is(await page.getByLabel('Send a copy to').inputValue(), 'copy@@bad', '... with what was typed kept');
	await page.getByLabel('Send a copy to').fill('copy@example.org');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Add forward' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText('The forward was saved.').isVisible(), 'Add forward saves it');
	ok((await page.locator('#forward-now').innerText()).includes('copy@example.org'), '... and the page shows it');
	await page.getByLabel('Number of mails sent per hour').fill('20');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save limit' }).click()]);
	await page.waitForLoadState('load');
	ok((await page.locator('#limits-now').innerText()).includes('20 emails per hour'), 'Save limit: 20 emails per hour in force');
	await shot(page, 'admin-edit-user-desktop');
	await page.setViewportSize({ width: 375, height: 800 });
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	// Names the widest elements when it fails.
	const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
		.filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 || (e.children.length === 0 && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0))
		.slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} ${Math.round(e.getBoundingClientRect().right)} ${e.scrollWidth}/${e.clientWidth} ${(e.textContent || '').slice(0, 40)}`).join(', '));
	ok(overflow <= 1, 'at 375 px the edit page fits the width', `overflow ${overflow}px: ${wide}`);
	await shot(page, 'admin-edit-user-phone');
	await page.setViewportSize({ width: 1280, height: 800 });
});

await step('6 Resend welcome', async () => {
	await page.goto(`${BASE}/admin/users?q=${encodeURIComponent(newUser)}`);
	await Promise.all([page.waitForLoadState('load'),
		page.getByRole('row', { name: new RegExp(newUser) }).getByRole('button', { name: 'Resend welcome' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'Welcome email sent' }).isVisible(), 'Resend welcome sends it again',
		await page.locator('main').innerText());
});

await step('7 Reset password with Generate', async () => {
	await page.goto(`${BASE}/admin/users?q=${encodeURIComponent(leaver)}`);
	await Promise.all([page.waitForLoadState('load'),
		page.getByRole('row', { name: new RegExp(leaver) }).getByRole('link', { name: 'Reset password' }).click()]);
	ok(await page.getByRole('heading', { name: 'Reset password' }).isVisible(), 'the Reset password page');
	await page.getByLabel(/Generate a strong temporary password/).check();
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Reset password' }).click()]);
	ok(await page.getByRole('heading', { name: 'Password reset' }).isVisible(), 'Password reset',
		await page.locator('main').innerText());
});

await step('8 Delete after a confirmation that names the address', async () => {
	await page.goto(`${BASE}/admin/users?q=${encodeURIComponent(leaver)}`);
	await Promise.all([page.waitForLoadState('load'),
		page.getByRole('row', { name: new RegExp(leaver) }).getByRole('link', { name: 'Delete' }).click()]);
	ok(await page.getByRole('heading', { name: `Delete ${leaver}?` }).isVisible(), 'the confirmation names the address');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: `Delete ${leaver}` }).click()]);
	ok(await page.getByText(`${leaver} was deleted.`).isVisible(), 'the user is deleted', await page.locator('main').innerText());
	await page.goto(`${BASE}/admin/users?q=${encodeURIComponent(leaver)}`);
	is(await page.getByRole('row', { name: new RegExp(leaver) }).count(), 0, '... and no longer in the table');
});

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
