// The admin panel's Security tab in headless Chromium (manual 000
// "Admin Reporting", "Self-Tests"): a super admin opens Admin, then
// Security, runs "Run Clean Test" and "Run EICAR Test" and sees both in the
// recent runs, the statistics and issue tables filled with both tenants'
// rows; a tenant admin sees the scanner status, no self-test button, only
// its own tenant's rows, and a self-test POST made by hand with its valid
// CSRF token is refused (403) and runs nothing.  Run by
// test/integration/antivirus_browser.sh, which sets up DOMAIN (super admin
// boss@, tenant admin ta@, sender u@) and ODOMAIN (sender o@), all with
// PASSWORD, and submits clean and EICAR mail from u@ and o@ on 587.
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, psql, failed } from './lib.mjs';

const dom = process.env.DOMAIN, odom = process.env.ODOMAIN, PW = process.env.PASSWORD;
const browser = await launch();
const errors = [];
const table = (page, h) => page.locator('section.card').filter({ has: page.getByRole('heading', { name: h, exact: true }) });

await step('1 a super admin runs the self-tests', async () => {
	const ctx = await newContext(browser);
	const seen = watchErrors(ctx);
	const page = await ctx.newPage();
	await login(page, `boss@${dom}`, PW);
	await page.getByRole('link', { name: 'Admin', exact: true }).click();
	await page.waitForLoadState('load');
	await page.getByRole('link', { name: 'Security', exact: true }).click();
	await page.waitForLoadState('load');
	is(new URL(page.url()).pathname, '/admin/security', 'Admin, then Security: the Security tab');
	ok(await page.getByRole('heading', { name: 'Scanner runtime' }).isVisible(), '... the scanner runtime card');
	ok(await page.locator('strong.health', { hasText: 'Healthy' }).isVisible(), '... a healthy scanner');
	const runs = table(page, 'Self-tests');
	for (const [button, test, result] of [['Run Clean Test', 'Clean', 'clean'], ['Run EICAR Test', 'EICAR', 'infected']]) {
		await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: button, exact: true }).click()]);
		await page.waitForLoadState('load');
		const row = runs.locator('tbody tr').first();
		is((await row.locator('td[data-label="Test"]').textContent()).trim(), test, `${button}: the newest of the recent runs`);
		is((await row.locator('td[data-label="Result"]').textContent()).trim(), result, `... ${result}`);
		is((await row.locator('td[data-label="Passed"]').textContent()).trim(), 'yes', '... passed');
		is((await row.locator('td[data-label="Run by"]').textContent()).trim(), `boss@${dom}`, '... run by the super admin');
	}
	const stats = table(page, 'Domain statistics');
	for (const d of [dom, odom])
		ok(await stats.locator('td[data-label="Domain"]', { hasText: d }).count() > 0, `domain statistics: a row for ${d}`);
	const issues = table(page, 'Recent domain issues');
	ok(await issues.getByText('Ers-Test-Eicar.UNOFFICIAL').count() >= 2, 'recent domain issues: both tenants\' infected submissions');
	ok(await table(page, 'Attachment scans').getByText('tool.com').count() >= 2, 'attachment scans: the attachments');
	ok(await table(page, 'User and domain breakdown').getByText(`o@${odom}`).count() > 0, 'the user breakdown: the other tenant\'s sender');
	await shot(page, 'security-super-admin');
	errors.push(...seen);
	await ctx.close();
});

await step('2 a tenant admin: status, own rows, no self-tests', async () => {
	const ctx = await newContext(browser);
	const seen = watchErrors(ctx);
	const page = await ctx.newPage();
	const before = psql('SELECT count(*) FROM ers.scan_selftest');
	await login(page, `ta@${dom}`, PW);
	await page.goto(`${BASE}/admin/security`);
	ok(await page.getByRole('heading', { name: 'Scanner runtime' }).isVisible(), 'the tenant admin sees the scanner status');
	is(await page.getByRole('button', { name: /Run (Clean|EICAR) Test/ }).count(), 0, '... no self-test button');
	ok(await table(page, 'Domain statistics').locator('td[data-label="Domain"]', { hasText: dom }).count() > 0, '... its own tenant\'s rows');
	ok(!(await page.content()).includes(odom), '... nothing of the other tenant');
	const asked = await page.goto(`${BASE}/admin/security?tenant=${odom}`);
	is(asked.status(), 403, 'the other tenant asked for by hand: 403');
	ok(!(await page.content()).includes(`o@${odom}`), '... nothing of it shown');
	await page.goto(`${BASE}/compose`); // a form of the webmail: its session's valid token
	const csrf = await page.locator('input[name=csrf]').first().getAttribute('value').catch(() => null);
	ok(!!csrf, 'the page carries the tenant admin\'s CSRF token');
	const res = await page.request.post(`${BASE}/admin/security/test`, { form: { csrf: csrf || '', test: 'eicar' }, maxRedirects: 0 });
	is(res.status(), 403, 'a hand-made self-test POST with the valid CSRF token: 403');
	is(psql('SELECT count(*) FROM ers.scan_selftest'), before, '... and nothing run');
	await shot(page, 'security-tenant-admin');
	errors.push(...seen);
	await ctx.close();
});

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
