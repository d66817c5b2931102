// The Archives view in headless Chromium (manual 000 "How Users Open
// Archives"): a user selects archive preferences and saves them, creates
// a direct-download archive with them, and downloads it from the list of
// completed archives.  Run by test/integration/archive_browser.sh, which
// sets up USER (password PASSWORD) with old messages and checks the file
// saved at OUT with Python's mailbox module.
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, onLoginPage, failed } from './lib.mjs';

const user = process.env.USER_ADDRESS, PW = process.env.PASSWORD;
const browser = await launch();
const ctx = await newContext(browser, { acceptDownloads: true });
const errors = watchErrors(ctx);
const page = await ctx.newPage();

await step('1 Archive preferences', async () => {
	await login(page, user, PW);
	ok(!(await onLoginPage(page)), 'the user logs in');
	await page.getByRole('link', { name: 'Archives', exact: true }).click();
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'Archive preferences' }).isVisible(), 'the Archives view shows Archive preferences');
	const prefs = page.locator('form[action="/archives/preferences"]');
	await prefs.getByLabel('Format').selectOption('mbox');
	await prefs.getByLabel('Messages older than (days)').fill('20');
	await prefs.getByLabel('Personal auto-archive (a personal archive every day)').check();
	await Promise.all([page.waitForLoadState('load'), prefs.getByRole('button', { name: 'Save preferences' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText('Archive preferences saved.').isVisible(), 'Save preferences: saved');
	is(await prefs.getByLabel('Messages older than (days)').inputValue(), '20', 'the cutoff chosen is shown back');
	ok(await prefs.getByLabel('Personal auto-archive (a personal archive every day)').isChecked(), 'personal auto-archive stays on');
	const create = page.locator('form[action="/archives/create"]');
	is(await create.getByLabel('Messages older than (days)').inputValue(), '20', 'Create archive starts from the preferences');
	await shot(page, 'archive-preferences');
});

await step('2 Create archive and Download', async () => {
	const create = page.locator('form[action="/archives/create"]');
	await Promise.all([page.waitForLoadState('load'), create.getByRole('button', { name: 'Create archive' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText(/Archive \d+ is ready: download it below/).isVisible(), 'Create archive: the archive is ready');
	const link = page.getByRole('link', { name: 'Download', exact: true }).first();
	const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
	ok(/^archive-\d+\.mbox$/.test(download.suggestedFilename()), 'the download is an .mbox', download.suggestedFilename());
	await download.saveAs(process.env.OUT);
	ok(true, 'the download is saved');
	await shot(page, 'archive-list');
});

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
