// Shared by the browser tests: Debian's Chromium through playwright-core,
// TAP-like output ("ok - ...", "not ok - ...", "#   ..." diagnostics) that
// test/e2e/tap.sh numbers, and helpers for the webmail's pages.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';

export const BASE = `https://127.0.0.1:${process.env.WEB_PORT}`;
export const SHOTS = process.env.SHOTS || new URL('./screenshots', import.meta.url).pathname;
export const COOKIE = '__Host-ers_session';

let failures = 0;
export const failed = () => failures;

export function diag(...lines) {
	for (const l of lines)
		for (const s of String(l).split('\n'))
			console.log(`#   ${s}`);
}
export function ok(cond, desc, ...why) {
	console.log(`${cond ? 'ok' : 'not ok'} - ${desc}`);
	if (!cond) {
		failures++;
		diag(...why);
	}
	return !!cond;
}
export function skip(desc, why) {
	console.log(`ok - ${desc} # skip ${why}`);
}
export function is(got, want, desc) {
	return ok(got === want, desc, `wanted: ${JSON.stringify(want)}`, `got:    ${JSON.stringify(got)}`);
}

// step NAME FN: one numbered test of the brief; an exception (a timeout
// waiting for a button, say) is one failure naming where it stopped, and
// the next step still runs.
export async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
	} catch (e) {
		ok(false, `${name}: ran to its end`, String(e && e.message || e).split('\n').slice(0, 6).join('\n'));
	}
	console.log(`# ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// Chromium headless; --no-sandbox because the tests run as root.  The
// stack's certificate is from its own CA, which Chromium's NSS store does
// not hold: certificate errors are ignored for 127.0.0.1 only.
export async function launch(extraArgs = []) {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', ...extraArgs],
	});
}

export async function newContext(browser, opts = {}) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, ...opts });
	ctx.setDefaultTimeout(15000);
	ctx.setDefaultNavigationTimeout(30000);
	return ctx;
}

// Uncaught script errors and console errors of every page of a context.
export function watchErrors(ctx) {
	const errors = [];
	const hook = (page) => {
		page.on('pageerror', (e) => errors.push(`page error on ${page.url()}: ${e.message}`));
		// Failed loads (the 403s the tests provoke, a favicon) are left to
		// the tests; CSP violations and script errors are kept.
		page.on('console', (m) => {
			if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
				errors.push(`console error on ${page.url()}: ${m.text()}`);
		});
	};
	ctx.pages().forEach(hook);
	ctx.on('page', hook);
	return errors;
}

export async function shot(page, name) {
	mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

export async function login(page, email, password) {
	await page.goto(`${BASE}/login`);
	await page.getByLabel('Email address').fill(email);
	await page.getByLabel('Password').fill(password);
	await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Login', exact: true }).click()]);
	await page.waitForLoadState('load');
}

// Whether the page is the login form (heading "Login", an email field).
export async function onLoginPage(page) {
	return (await page.getByRole('heading', { name: 'Login', exact: true }).count()) > 0 &&
		(await page.getByLabel('Email address').count()) > 0;
}

export async function sessionToken(ctx) {
	const c = (await ctx.cookies(BASE)).find((x) => x.name === COOKIE);
	return c ? c.value : null;
}

// The row of the message list showing `subject` (any element with class
// "read" or "unread" around the subject's link).
export function messageRow(page, subject) {
	return page.locator('.unread, .read').filter({ has: page.getByRole('link', { name: subject, exact: true }) });
}
export async function isUnread(page, subject) {
	const cls = (await messageRow(page, subject).first().getAttribute('class')) || '';
	return /\bunread\b/.test(cls);
}

// psql as the superuser against the stack's database "ers".
export function psql(sql) {
	return execFileSync('runuser', ['-u', 'postgres', '--', `${process.env.PGBIN}/psql`, '-qXAt', '-h', process.env.PG_SOCKET,
		'-p', process.env.PG_PORT, '-U', 'postgres', '-d', 'ers', '-v', 'ON_ERROR_STOP=1', '-c', sql],
	{ encoding: 'utf8', cwd: '/' }).trim();	// from /: the clone may be 0700
}
// The session row's key: the SHA-256 of the token, as a bytea literal.
export function tokenHashSql(token) {
	return `'\\x${createHash('sha256').update(Buffer.from(token, 'base64url')).digest('hex')}'::bytea`;
}

// A link or button with this name (the pages may use either); "Back to
// Inbox" may carry an arrow.
export function control(page, name) {
	if (name === 'Back to Inbox')
		name = /^\W*Back to Inbox$/;
	const exact = typeof name === 'string' ? { exact: true } : {};
	return page.getByRole('link', { name, ...exact }).or(page.getByRole('button', { name, ...exact })).first();
}
