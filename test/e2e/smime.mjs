// S/MIME in headless Chromium (manual 000 "S/MIME Setup", "How To Use It
// When Composing Mail"): a pastes her certificate and key in S/MIME
// Settings and clicks Save S/MIME Identity; in Compose the status lines
// follow the To address typed (the page's script asks /smime/status), she
// ticks Sign with S/MIME and Encrypt with recipient certificate and sends;
// b, who has the matching identity, reads it decrypted and signed.
// Screenshots at 1280 and 375 px.  Run by test/integration/smime_browser.sh,
// which sets up DOMAIN with a@ and b@ (password PASSWORD), b's identity, a's
// certificate for b, and a's PEM files CERT and KEY.
import { readFileSync } from 'node:fs';
import { BASE, ok, is, step, launch, newContext, watchErrors, shot, login, onLoginPage, messageRow, failed } from './lib.mjs';

const dom = process.env.DOMAIN, PW = process.env.PASSWORD;
const a = `a@${dom}`, b = `b@${dom}`;
const subject = `smime-browser-${Date.now()}`;
const browser = await launch();
const ctx = await newContext(browser);
const errors = watchErrors(ctx);
const page = await ctx.newPage();

await step('1 Save S/MIME Identity', async () => {
	await login(page, a, PW);
	ok(!(await onLoginPage(page)), 'a logs in');
	await page.getByRole('link', { name: 'S/MIME', exact: true }).click();
	await page.waitForLoadState('load');
	ok(await page.getByRole('heading', { name: 'S/MIME Settings' }).isVisible(), 'the S/MIME button opens S/MIME Settings');
	is((await page.locator('#smime-status').textContent()).trim(), 'S/MIME not configured', 'Status: S/MIME not configured');
	await page.getByLabel('Certificate PEM', { exact: true }).fill(readFileSync(process.env.CERT, 'utf8'));
	await page.getByLabel('Private Key PEM').fill(readFileSync(process.env.KEY, 'utf8'));
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save S/MIME Identity' }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText('S/MIME identity saved').isVisible(), 'Save S/MIME Identity: saved');
	is((await page.locator('#smime-status').textContent()).trim(), 'Configured', 'Status: Configured');
	is(await page.locator('textarea[name=key]').inputValue(), '', 'the key is not shown back');
	await shot(page, 'smime-settings-desktop');
	await page.setViewportSize({ width: 375, height: 800 });
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	ok(overflow <= 1, 'at 375 px S/MIME Settings fits the width', `overflow ${overflow}px`);
	await shot(page, 'smime-settings-phone');
	await page.setViewportSize({ width: 1280, height: 800 });
});

await step('2 Compose: the status lines follow the To address; sign and encrypt', async () => {
	await page.goto(`${BASE}/compose`);
	const sign = page.getByLabel('Sign with S/MIME'), enc = page.getByLabel('Encrypt with recipient certificate');
	ok(await page.getByText(`S/MIME signing is available for ${a}`).isVisible(), 'the signing line says it is available');
	ok(await sign.isEnabled(), 'Sign with S/MIME is enabled');
	ok(await enc.isDisabled(), 'Encrypt is disabled before a To address');
	await page.getByLabel('To', { exact: true }).fill(`carol@${dom}`);
	await page.getByLabel('Subject').focus(); // change event
	await page.getByText('Add a recipient certificate in S/MIME Settings to enable encrypted mail').waitFor();
	ok(await enc.isDisabled(), 'To an address without a certificate: the manual\'s line, Encrypt disabled');
	await page.getByLabel('To', { exact: true }).fill(b);
	await page.getByLabel('Subject').focus();
	await page.getByText(`Encryption is ready for ${b}`).waitFor();
	ok(await enc.isEnabled(), `To ${b}: "Encryption is ready for ${b}", Encrypt enabled`);
	await page.getByLabel('Subject').fill(subject);
	await page.getByLabel('Message').fill('Signed and encrypted from the browser.');
	await sign.check();
	await enc.check();
	await shot(page, 'smime-compose-desktop');
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Send', exact: true }).click()]);
	await page.waitForLoadState('load');
	ok(await page.getByText('Message sent, signed and encrypted with S/MIME.').isVisible(),
		'the success message says signed and encrypted');
});

await step('3 b reads it', async () => {
	const ctx2 = await newContext(browser);
	const p2 = await ctx2.newPage();
	await login(p2, b, PW);
	let found = false;
	for (let i = 0; i < 50 && !found; i++) {
		await p2.goto(`${BASE}/`);
		found = (await messageRow(p2, subject).count()) > 0;
		if (!found)
			await p2.waitForTimeout(200);
	}
	ok(found, 'the message is in b\'s Inbox');
	await p2.getByRole('link', { name: subject, exact: true }).first().click();
	await p2.waitForLoadState('load');
	ok(await p2.getByText('Encrypted with S/MIME: decrypted with your S/MIME identity.').isVisible(), 'b sees it decrypted');
	ok(await p2.getByText(`Signed with S/MIME by ${a}`).isVisible(), '... and signed by a');
	const body = p2.frameLocator('iframe.body');
	ok(await body.getByText('Signed and encrypted from the browser.').isVisible(), 'the body shows the text');
	await shot(p2, 'smime-read-desktop');
	await ctx2.close();
});

ok(errors.length === 0, 'no script errors and no CSP violations', ...errors);
await browser.close();
process.exit(failed() ? 1 : 0);
