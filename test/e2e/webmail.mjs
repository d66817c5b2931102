// The webmail in headless Chromium, as a user sees it (manual 000's button
// names).  Run by test/integration/webmail_browser.sh, which sets up the
// tenant DOMAIN with alice, bob and mfa (password PASSWORD) and delivers four
// messages to alice.  Prints "ok - ..." / "not ok - ..." lines.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
	BASE, ok, is, skip, diag, step, launch, newContext, watchErrors, shot, login, onLoginPage, sessionToken,
	messageRow, isUnread, psql, tokenHashSql, control, failed,
} from './lib.mjs';

const dom = process.env.DOMAIN, PW = process.env.PASSWORD;
const alice = `alice@${dom}`, bob = `bob@${dom}`, mfaUser = `mfa@${dom}`;
const SUBJECTS = ['Welcome to the browser test', 'Quarterly notes', 'Lunch on Friday?', 'To be deleted'];
const t0 = Date.now();

const browser = await launch();
const ctx = await newContext(browser);
const errors = watchErrors(ctx);
const page = await ctx.newPage();

// Opens the message with this subject from the INBOX list.
async function openMessage(p, subject) {
	await p.goto(`${BASE}/`);
	await p.getByRole('link', { name: subject, exact: true }).first().click();
	await p.waitForLoadState('load');
}
const bodyFrame = (p) => p.frameLocator('iframe').first();

// --- 1. log in, the inbox -----------------------------------------------------
await step('1 login and inbox', async () => {
	await page.goto(`${BASE}/`);
	ok(await onLoginPage(page), 'without a session / shows the login page');
	await login(page, alice, 'wrong-password-0');
	ok(await onLoginPage(page) && (await page.getByRole('alert').count()) > 0, 'a wrong password: the login page again, with a message');
	await login(page, alice, PW);
	is(new URL(page.url()).pathname, '/', 'the right password leads to the inbox');
	const missing = [];
	for (const s of SUBJECTS)
		if (!(await page.getByRole('link', { name: s, exact: true }).count()))
			missing.push(s);
	ok(!missing.length, 'the inbox lists the four delivered messages', `missing: ${missing.join(', ')}`);
	ok(await control(page, 'Refresh Inbox').isVisible(), 'a "Refresh Inbox" control');
	ok((await page.getByText('friend@outside.example').count()) > 0 || (await page.locator('[title="friend@outside.example"]').count()) > 0,
		'the sender is shown');
	ok(await isUnread(page, 'Welcome to the browser test'), 'a new message is shown unread');
	await shot(page, 'inbox-desktop');
});

// --- 3. read a message, Mark as Unread ---------------------------------------------------------
await step('3 read and mark unread', async () => {
	const s = 'Welcome to the browser test';
	await openMessage(page, s);
	ok(await page.getByRole('heading', { name: s }).isVisible(), 'the message opens with its subject as heading');
	ok(await page.getByText('friend@outside.example').first().isVisible(), '... its sender is shown');
	ok(await bodyFrame(page).getByText('Hello Alice, this is the first message.').isVisible(), '... its body is shown in the frame');
	ok(await page.getByText(/outside your organi[sz]ation/).first().isVisible(), '... with the warning: the sender is outside');
	await shot(page, 'message-desktop');
	await control(page, 'Back to Inbox').click();
	await page.waitForLoadState('load');
	is(new URL(page.url()).pathname, '/', '"Back to Inbox" leads to the inbox');
	ok(!(await isUnread(page, s)), 'the opened message is read now');
	await openMessage(page, s);
	const mark = control(page, 'Mark as Unread');
	if (!ok(await mark.count() > 0, 'the message page has "Mark as Unread"'))
		return;
	await mark.click();
	await page.waitForLoadState('load');
	await page.goto(`${BASE}/`);
	ok(await isUnread(page, s), '"Mark as Unread": the row is unread again');

	await openMessage(page, 'Lunch on Friday?');
	is(await page.getByText(/outside your organi[sz]ation/).count(), 0, 'a colleague\'s message has no outside-sender warning');

	await openMessage(page, 'Quarterly notes');
	ok(await page.getByText(/outside your organi[sz]ation.*attachments/).first().isVisible(),
		'an outside message with an attachment has the stronger warning');
	const att = page.getByRole('link', { name: /notes\.txt/ }).first();
	if (ok(await att.count() > 0, 'the attachment notes.txt is a download link')) {
		const [dl] = await Promise.all([page.waitForEvent('download'), att.click()]);
		is(dl.suggestedFilename(), 'notes.txt', '... downloaded under its own name');
		is(readFileSync(await dl.path(), 'utf8'), 'attached text\n', '... with its content');
	}
});

// --- 10. desktop and phone widths -------------------------------------------------
await step('10 desktop and phone', async () => {
	const phone = await newContext(browser, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
	await phone.addCookies(await ctx.cookies(BASE));
	const p = await phone.newPage();
	await p.goto(`${BASE}/`);
	ok(await p.getByRole('link', { name: 'Quarterly notes', exact: true }).isVisible(), 'phone: the inbox shows the list');
	const overflow = async () => p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	const o1 = await overflow();
	ok(o1 <= 1, 'phone: the inbox fits 375 px (no sideways scrolling)', `${o1} px too wide`);
	await shot(p, 'inbox-phone');
	await openMessage(p, 'Quarterly notes');
	ok(await control(p, 'Back to Inbox').isVisible(), 'phone: the message shows "Back to Inbox"');
	const o2 = await overflow();
	ok(o2 <= 1, 'phone: the message fits 375 px', `${o2} px too wide`);
	await shot(p, 'message-phone');
	await phone.close();
});

// --- 9. keyboard: "?" and the help overlay -------------------------------------------------
await step('9 keyboard help', async () => {
	await page.goto(`${BASE}/`);
	const js = await ctx.request.get(`${BASE}/static/ers.js`);
	const hasScript = js.status() === 200 && (await page.locator('script[src="/static/ers.js"]').count()) > 0;
	if (!hasScript) {
		skip('"?" shows the keyboard help overlay', `/static/ers.js is not served or not loaded yet (HTTP ${js.status()})`);
		return;
	}
	await page.keyboard.press('?');
	const help = page.getByRole('dialog');
	ok(await help.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false) &&
		/keyboard shortcuts/i.test(await help.innerText()), '"?" shows the keyboard help overlay');
	await shot(page, 'help-overlay');
	await page.keyboard.press('Escape');
	await page.waitForTimeout(200);
	ok(!(await page.getByRole('dialog').isVisible().catch(() => false)), 'Escape closes it');
});

// --- 4. Compose and Send to another user ----------------------------------------------------
await step('4 compose and send', async () => {
	const subject = `Hello Bob ${Date.now()}`;
	const text = 'A message written in the browser test.';
	await page.goto(`${BASE}/`);
	const compose = control(page, 'Compose');
	if (!ok(await compose.count() > 0, 'the mailbox has "Compose"'))
		return;
	await compose.click();
	await page.waitForLoadState('load');
	await page.getByLabel(/^To\b/i).first().fill(bob);
	await page.getByLabel(/^Subject/i).first().fill(subject);
	await page.locator('textarea').first().fill(text);
	const file = `${process.env.T_DIR || '/tmp'}/plan.txt`;
	writeFileSync(file, 'the plan\n');
	const files = page.getByLabel(/^Attachments?/i);
	const withFile = await files.count() > 0;
	if (withFile)
		await files.first().setInputFiles(file);
	await shot(page, 'compose-desktop');
	ok(await control(page, 'Cancel').isVisible(), 'the compose page has "Cancel"');
	await control(page, 'Send').click();
	await page.waitForLoadState('load');
	ok(!/\/compose/.test(new URL(page.url()).pathname) || (await page.getByText(/sent/i).count()) > 0,
		'"Send" sends it (no error page)', `now at ${page.url()}: ${(await page.locator('main').innerText().catch(() => '')).slice(0, 300)}`);

	// bob, in a browser context of his own
	const bctx = await newContext(browser);
	const bp = await bctx.newPage();
	await login(bp, bob, PW);
	let seen = false;
	for (let i = 0; i < 30 && !seen; i++) {
		await bp.goto(`${BASE}/`);
		seen = (await bp.getByRole('link', { name: subject, exact: true }).count()) > 0;
		if (!seen)
			await bp.waitForTimeout(300);
	}
	if (ok(seen, 'bob finds it in his inbox')) {
		await openMessage(bp, subject);
		ok(await bodyFrame(bp).getByText(text).isVisible(), '... and reads it');
		ok(await bp.getByText(alice).first().isVisible(), '... from alice');
		is(await bp.getByText(/outside your organi[sz]ation/).count(), 0, '... without the outside-sender warning');
		const att = bp.getByRole('link', { name: /plan\.txt/ }).first();
		if (!withFile)
			skip('the attachment arrives', 'the compose page has no Attachments field');
		else if (ok(await att.count() > 0, '... with the attachment plan.txt')) {
			const [dl] = await Promise.all([bp.waitForEvent('download'), att.click()]);
			is(readFileSync(await dl.path(), 'utf8'), 'the plan\n', '... which downloads with its content');
		}
		// Reply: filled in, then Cancel sends nothing.
		const reply = control(bp, 'Reply');
		if (ok(await reply.count() > 0, 'the message page has "Reply"')) {
			await reply.click();
			await bp.waitForLoadState('load');
			ok((await bp.getByLabel(/^To\b/i).first().inputValue()).includes(alice), '... its To is alice');
			ok(/^Re: /i.test(await bp.getByLabel(/^Subject/i).first().inputValue()), '... its Subject starts "Re: "');
			await bp.getByLabel(/^Subject/i).first().fill(`Cancelled ${subject}`);
			await control(bp, 'Cancel').click();
			await bp.waitForLoadState('load');
			ok(!/\/compose/.test(new URL(bp.url()).pathname), '"Cancel" leaves the compose page');
		}
	}
	await bctx.close();

	// alice's Sent folder
	await page.goto(`${BASE}/`);
	const sent = page.getByRole('link', { name: /^Sent\b/ }).first();
	if (ok(await sent.count() > 0, 'the folders list has Sent')) {
		await sent.click();
		await page.waitForLoadState('load');
		ok(await page.getByRole('link', { name: subject, exact: true }).count() > 0, 'alice\'s Sent folder has a copy');
	}
	await page.waitForTimeout(500);
	const bctx2 = await newContext(browser);
	const bp2 = await bctx2.newPage();
	await login(bp2, bob, PW);
	is(await bp2.getByRole('link', { name: `Cancelled ${subject}` }).count() +
		await page.getByRole('link', { name: `Cancelled ${subject}` }).count(), 0, 'the cancelled reply was not sent');
	await bctx2.close();
});

// --- 5. Delete to Trash ---------------------------------------------------------
await step('5 delete to trash', async () => {
	const s = 'To be deleted';
	await openMessage(page, s);
	const del = control(page, 'Delete');
	if (!ok(await del.count() > 0, 'the message page has "Delete"'))
		return;
	let dialog = null;
	page.once('dialog', (d) => { dialog = d.message(); d.accept(); });
	await del.click();
	await page.waitForLoadState('load');
	// Without script (or as a second step) a confirmation page asks again.
	if (/delete/i.test(new URL(page.url()).pathname) || (await page.getByText(/are you sure|confirm/i).count())) {
		const again = page.getByRole('button', { name: /Delete|Move to Trash|Yes/ }).first();
		if (await again.count()) {
			await again.click();
			await page.waitForLoadState('load');
		}
	}
	diag(`confirmation: ${dialog ? `a script dialog "${dialog}"` : 'a page'}`);
	await page.goto(`${BASE}/`);
	is(await page.getByRole('link', { name: s, exact: true }).count(), 0, 'the deleted message is gone from the inbox');
	const trash = page.getByRole('link', { name: /^Trash\b/ }).first();
	if (ok(await trash.count() > 0, 'the folders list has Trash')) {
		await trash.click();
		await page.waitForLoadState('load');
		ok(await page.getByRole('link', { name: s, exact: true }).count() > 0, '... and the message is in Trash');
		await shot(page, 'trash-desktop');
	}
	// Without JavaScript the confirmation is a page of its own.
	const nojs = await newContext(browser, { javaScriptEnabled: false });
	await nojs.addCookies(await ctx.cookies(BASE));
	const np = await nojs.newPage();
	const s2 = 'Lunch on Friday?';
	await openMessage(np, s2);
	await control(np, 'Delete').click();
	await np.waitForLoadState('load');
	const confirmBtn = np.getByRole('button', { name: 'Delete', exact: true });
	ok(await np.getByText(/moved to Trash/).first().isVisible() && await confirmBtn.isVisible(),
		'without JavaScript, "Delete" shows a confirmation page');
	await shot(np, 'delete-confirm-nojs');
	await confirmBtn.click();
	await np.waitForLoadState('load');
	await np.goto(`${BASE}/`);
	is(await np.getByRole('link', { name: s2, exact: true }).count(), 0, '... confirming it removes the message from the inbox');
	await np.getByRole('link', { name: /^Trash\b/ }).first().click();
	await np.waitForLoadState('load');
	ok(await np.getByRole('link', { name: s2, exact: true }).count() > 0, '... into Trash');
	await nojs.close();
});

// --- 8. a forged POST without the CSRF token ----------------------------------------
await step('8 csrf', async () => {
	await page.goto(`${BASE}/`);
	// A form built in the page, posted without its csrf field.
	const [resp] = await Promise.all([
		page.waitForResponse((r) => r.url() === `${BASE}/logout` && r.request().method() === 'POST'),
		page.waitForURL(`${BASE}/logout`),
		page.evaluate(() => {
			const f = document.createElement('form');
			f.method = 'post';
			f.action = '/logout';
			document.body.appendChild(f);
			f.submit();
		}),
	]);
	is(resp.status(), 403, 'a logout form without its CSRF token is refused with 403');
	await page.waitForLoadState('load');
	await page.goto(`${BASE}/`);
	ok(!(await onLoginPage(page)), '... and the session still works');
	const r2 = await ctx.request.post(`${BASE}/password`, { form: { current: PW, new: 'changed-by-forgery-1', confirm: 'changed-by-forgery-1' } });
	is(r2.status(), 403, 'a password change without the token is refused with 403');
	const r3 = await ctx.request.post(`${BASE}/password`, {
		form: { csrf: 'A'.repeat(43), current: PW, new: 'changed-by-forgery-1', confirm: 'changed-by-forgery-1' },
	});
	is(r3.status(), 403, '... and with a wrong token');
	// Delete and Mark as Unread forged the same way: refused, the message stays.
	const href = await page.getByRole('link', { name: 'Quarterly notes', exact: true }).first().getAttribute('href');
	const q = new URL(href, BASE).searchParams;
	const ref = { folder: q.get('folder'), uid: q.get('uid') };
	const r4 = await ctx.request.post(`${BASE}/message/delete`, { form: { ...ref, confirm: '1' }, maxRedirects: 0 });
	is(r4.status(), 403, 'a Delete without the token is refused with 403');
	const r5 = await ctx.request.get(`${BASE}/message/delete?folder=${ref.folder}&uid=${ref.uid}&confirm=1`, { maxRedirects: 0 });
	ok(r5.status() === 405 || r5.status() === 404, 'a Delete by GET is refused (no state change on GET)', `got ${r5.status()}`);
	const r6 = await ctx.request.post(`${BASE}/message/unread`, { form: ref, maxRedirects: 0 });
	is(r6.status(), 403, 'a Mark as Unread without the token is refused with 403');
	await page.goto(`${BASE}/`);
	ok(await page.getByRole('link', { name: 'Quarterly notes', exact: true }).count() > 0, '... the message is still in the inbox');
	ok(!(await isUnread(page, 'Quarterly notes')), '... and still read');
	const other = await newContext(browser);
	const op = await other.newPage();
	await login(op, alice, PW);
	ok(!(await onLoginPage(op)), '... the password is unchanged (it still logs in)');
	await other.close();
});

// --- 7. an expired session -------------------------------------------------------
await step('7 expired session', async () => {
	const ectx = await newContext(browser);
	const ep = await ectx.newPage();
	await login(ep, alice, PW);
	ok(!(await onLoginPage(ep)), 'a second session of alice');
	const token = await sessionToken(ectx);
	const n = psql(`UPDATE ers.session SET last_seen = now() - interval '8 days', created_at = now() - interval '9 days'
		WHERE token_hash = ${tokenHashSql(token)} RETURNING 1`);
	is(n, '1', 'its last activity set back 8 days in PostgreSQL');
	await ep.reload();
	ok(await onLoginPage(ep), 'a reload shows the login page');
	await ep.goto(`${BASE}/mfa`);
	ok(await onLoginPage(ep), '... and so does any page of the session');
	await page.goto(`${BASE}/`);
	ok(!(await onLoginPage(page)), 'the other session of alice is not affected');
	await ectx.close();
});

// --- 6. log out -----------------------------------------------------------------
await step('6 logout', async () => {
	await page.goto(`${BASE}/`);
	const token = await sessionToken(ctx);
	await control(page, 'Logout').click();
	await page.waitForLoadState('load');
	ok(await onLoginPage(page), '"Logout" returns to the login page');
	ok(await page.getByText(/logged out/i).isVisible(), '... saying so');
	await page.goBack();
	await page.waitForLoadState('load');
	const backShowsInbox = (await page.getByRole('link', { name: 'Quarterly notes', exact: true }).count()) > 0;
	if (backShowsInbox)
		await page.reload();
	ok(await onLoginPage(page), 'going back (and reloading) shows the login page, not the inbox');
	// The old cookie put back by hand: the server has ended the session.
	await ctx.addCookies([{ name: '__Host-ers_session', value: token, url: BASE, secure: true, httpOnly: true, sameSite: 'Lax' }]);
	await page.goto(`${BASE}/`);
	ok(await onLoginPage(page), 'the old session cookie no longer works');
	const r = await ctx.request.get(`${BASE}/message?folder=INBOX&uid=1`, { maxRedirects: 0 });
	ok(r.status() === 303 && /\/login/.test(r.headers().location || ''), '... not for a message either (303 to /login)', `got ${r.status()}`);
});

// --- 2. MFA enrolment and the code step -------------------------------------------
const totp = (secret, offset = 0) => execFileSync('oathtool', ['--totp', '-b',
	...(offset ? ['-N', `@${Math.floor(Date.now() / 1000) + offset}`] : []), secret], { encoding: 'utf8' }).trim();
await step('2 mfa', async () => {
	const mctx = await newContext(browser);
	const mp = await mctx.newPage();
	watchErrors(mctx);
	await login(mp, mfaUser, PW);
	await control(mp, 'MFA').click();
	await mp.waitForLoadState('load');
	ok(await mp.getByRole('heading', { name: 'MFA' }).isVisible(), 'the MFA page');
	await control(mp, 'Set Up FreeOTP').click();
	await mp.waitForLoadState('load');
	ok(await mp.locator('main svg').first().isVisible(), '"Set Up FreeOTP" shows a QR code (inline SVG)');
	const secret = (await mp.locator('#secret').innerText()).trim();
	ok(/^[A-Z2-7]{16,}$/.test(secret), '... and the secret in base32', `got ${secret.length} characters`);
	await shot(mp, 'mfa-setup');
	await mp.getByRole('textbox', { name: /code/i }).fill(totp(secret));
	await control(mp, 'Verify and Enable').click();
	await mp.waitForLoadState('load');
	ok(await mp.getByText(/MFA is on/).first().isVisible(), '"Verify and Enable" with the right code turns MFA on');
	await control(mp, 'Logout').click();
	await mp.waitForLoadState('load');

	await login(mp, mfaUser, PW);
	const code = mp.getByRole('textbox', { name: /^Code/ });
	ok(await code.isVisible(), 'the next login asks for the code');
	await mp.goto(`${BASE}/`);
	ok(await onLoginPage(mp), '... and the half-done login opens nothing');
	await login(mp, mfaUser, PW);
	const near = new Set([-30, 0, 30].map((o) => totp(secret, o)));
	let wrong = '000000';
	while (near.has(wrong))
		wrong = String(Number(wrong) + 111111).padStart(6, '0');
	await mp.getByRole('textbox', { name: /^Code/ }).fill(wrong);
	await control(mp, 'Login').click();
	await mp.waitForLoadState('load');
	ok(await mp.getByRole('alert').isVisible() && await mp.getByRole('textbox', { name: /^Code/ }).isVisible(),
		'a wrong code is refused, the code step asks again');
	await mp.getByRole('textbox', { name: /^Code/ }).fill(totp(secret));
	await control(mp, 'Login').click();
	await mp.waitForLoadState('load');
	if (await mp.getByText(/used already/).count()) {
		diag('the current code was used at enrolment: the next time step\'s code');
		await mp.getByRole('textbox', { name: /^Code/ }).fill(totp(secret, 30));
		await control(mp, 'Login').click();
		await mp.waitForLoadState('load');
	}
	ok(!(await onLoginPage(mp)) && (await control(mp, 'Logout').count()) > 0 && new URL(mp.url()).pathname === '/',
		'the right code lets mfa in', (await mp.locator('main').innerText().catch(() => '')).slice(0, 300));
	await mctx.close();
});

ok(errors.length === 0, 'no uncaught script error or console error on any page', ...errors.slice(0, 10));
await browser.close();
console.log(`# browser tests: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failed()} failure(s)`);
