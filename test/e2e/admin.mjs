// The admin panel's Users tab in headless Chromium (manual 000 "Managing
// Users"): a super admin opens Admin, adds a user with Generate, copies the
// temporary password shown once, and the new user logs in with it.
// Screenshots at 1280 and 375 px.  Run by
// test/integration/webmail_admin_browser.sh, which sets up the tenant
// DOMAIN with the super admin boss@DOMAIN (password PASSWORD).
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, onLoginPage, control, failed } from './lib.mjs';

const dom = process.env.DOMAIN, PW = process.env.PASSWORD;
const boss = `boss@${dom}`, newUser = `newbie@${dom}`;
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
	await shot(page, 'admin-add-user-desktop');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create User' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'User created' }).isVisible(), 'Create User: the user is created');
	generated = (await page.locator('#generated-password').textContent()) || '';
	ok(generated.length >= 16, 'the generated temporary password is shown', `got "${generated}"`);
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

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
