// Hostile mail in headless Chromium: the messages of hostile_gen.mjs are
// appended over IMAP (curl) to one mailbox, then every INBOX page and every
// message is opened.  Nothing may run (no dialog, no __pwned call, no
// "PWNED" on the console, no page error), nothing may leave 127.0.0.1 (every
// request of every frame is watched, and evil.example resolves to
// 127.0.0.2 where a listener counts connections), the message body frame may
// load nothing, and each page stays usable ("Back to Inbox" clickable, the
// frame within the window's width).  Run by test/integration/hostile_mail.sh
// with USER, PASSWORD, IMAP_PORT and TLS_CA set.
import net from 'node:net';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostileMessages } from './hostile_gen.mjs';
import { BASE, ok, is, skip, diag, launch, newContext, shot, login, onLoginPage, control, failed } from './lib.mjs';

const t0 = Date.now();
const { USER, PASSWORD, IMAP_PORT, TLS_CA } = process.env;
const WEB = new URL(BASE);

// --- the listener every remote URL of the messages points at -------------
const hits = [];
let phase = 0; // connections of the control check are not counted later
const server = net.createServer((sock) => {
	let first = null;
	const ph = phase;
	sock.on('data', (d) => {
		if (first === null) {
			first = d.toString('latin1').split('\r\n')[0].slice(0, 120);
			if (ph === phase)
				hits.push(first);
		}
		sock.end('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
	});
	sock.on('error', () => {});
	setTimeout(() => { if (first === null && ph === phase) hits.push('(a connection that sent nothing)'); sock.destroy(); }, 2000);
});
await new Promise((res, rej) => server.listen(0, '127.0.0.2', res).on('error', rej));
const PORT = server.address().port;

// --- generate and append ----------------------------------------------------
const msgs = hostileMessages(PORT);
const dir = `${process.env.T_DIR || '/tmp'}/hostile`;
mkdirSync(dir, { recursive: true });
const files = msgs.map((m, i) => {
	const f = `${dir}/${String(i + 1).padStart(3, '0')}.eml`;
	writeFileSync(f, m.source);
	return f;
});
const append = (f) => new Promise((res) => execFile('curl', ['-sS', '--max-time', '60', '--ssl-reqd', '--cacert', TLS_CA,
	'--user', `${USER}:${PASSWORD}`, `imap://127.0.0.1:${IMAP_PORT}/INBOX`, '-T', f], (e, _o, err) => res(e ? `${f}: ${err || e.message}` : null)));
// One at a time, so that UID n is message n (names in the diagnostics).
const appendErrors = [];
for (const f of files) {
	const e = await append(f);
	if (e)
		appendErrors.push(e);
}
const nameOf = (href) => {
	const m = /[?&]uid=(\d+)/.exec(href);
	return m && msgs[Number(m[1]) - 1] ? msgs[Number(m[1]) - 1].name.slice(0, 60) : href;
};
const mainText = async () => (await page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
ok(msgs.length >= 100 && appendErrors.length === 0, `${msgs.length} hostile messages generated and appended over IMAP`, ...appendErrors.slice(0, 5));
const t1 = Date.now();
console.log(`# appended in ${((t1 - t0) / 1000).toFixed(1)} s`);

// --- the browser, watching everything ----------------------------------------
const browser = await launch([`--host-resolver-rules=MAP evil.example 127.0.0.2, MAP *.evil.example 127.0.0.2`]);
const ctx = await newContext(browser);
const pwned = [], dialogs = [], pageErrors = [], outside = [], frameLoads = [], csp = [];
await ctx.exposeBinding('__pwned', (src, arg) => pwned.push(`${src.frame.url()}: ${arg}`));
const hook = (p) => {
	p.on('dialog', (d) => { dialogs.push(`${p.url()}: ${d.type()} ${d.message()}`); d.dismiss().catch(() => {}); });
	p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
	p.on('console', (m) => {
		if (/PWNED/.test(m.text()))
			pwned.push(`console on ${p.url()}: ${m.text()}`);
		else if (m.type() === 'error' && /Content Security Policy/.test(m.text()))
			csp.push(m.text().slice(0, 160));
	});
};
ctx.on('page', hook);
ctx.on('request', (req) => {
	const url = req.url();
	if (/^(data|blob|about):/.test(url))
		return;
	let u;
	try { u = new URL(url); } catch { outside.push(url); return; }
	if (u.hostname !== '127.0.0.1' || u.port !== WEB.port)
		outside.push(url.slice(0, 160));
	let furl = '';
	try { furl = req.frame().url(); } catch { /* a worker's request */ }
	// The body frame's only load is its own document.
	if (/\/message\/body/.test(furl) && !(req.isNavigationRequest() && /\/message\/body/.test(u.pathname)))
		frameLoads.push(`${furl.slice(0, 80)} -> ${url.slice(0, 120)}`);
});

// The watchers themselves, on a page without the webmail's policy: a script
// and a remote image there must be seen, or a clean run proves nothing.
{
	const c = await ctx.newPage();
	await c.setContent(`<img src="http://evil.example:${PORT}/control.png"><img src="http://127.0.0.2:${PORT}/control2.png">` +
		`<script>${"top.__pwned&&top.__pwned('control');alert('control')"}</script>`);
	await c.waitForTimeout(700);
	ok(pwned.length >= 1 && dialogs.length === 1 && outside.length >= 2 && hits.length >= 2,
		'control: a script, a dialog and remote loads outside the webmail are all seen',
		`pwned ${pwned.length}, dialogs ${dialogs.length}, requests ${outside.length}, listener ${hits.length}`);
	await c.close();
	for (const a of [pwned, dialogs, pageErrors, outside, frameLoads, csp, hits])
		a.length = 0;
	phase++;
}

const page = await ctx.newPage();
await login(page, USER, PASSWORD);
ok(!(await onLoginPage(page)), `logged in as ${USER}`);

// --- every INBOX page ----------------------------------------------------------
const hrefs = [];
let inboxPages = 0;
for (let url = `${BASE}/`; url && inboxPages < 20;) {
	const resp = await page.goto(url);
	inboxPages++;
	if (resp.status() !== 200)
		diag(`${url}: HTTP ${resp.status()}: ${await mainText()}`);
	if (inboxPages === 1)
		await shot(page, 'hostile-inbox');
	for (const h of await page.$$eval('main a[href*="message?"]', (as) => as.map((a) => a.getAttribute('href'))))
		if (!hrefs.includes(h))
			hrefs.push(h);
	const older = page.getByRole('link', { name: /^(Older|Next)/ }).first();
	url = (await older.count()) ? new URL(await older.getAttribute('href'), BASE).href : null;
}
is(hrefs.length, msgs.length, `the ${inboxPages} INBOX page(s) list every message`);
// Whatever the list showed, every message is opened: a fresh mailbox numbers
// its messages 1..N.
if (hrefs.length < msgs.length) {
	diag(`the list showed ${hrefs.length}: the rest are opened by UID`);
	for (let uid = 1; uid <= msgs.length; uid++)
		if (!hrefs.some((h) => new RegExp(`[?&]uid=${uid}(&|$)`).test(h)))
			hrefs.push(`/message?folder=INBOX&uid=${uid}`);
}

// --- every message ---------------------------------------------------------------
const bad = { status: [], back: [], frame: [], sandbox: [], injected: [], wide: [], leftovers: [], slow: [] };
let opened = 0, clicked = 0;
const dlChecked = [], dlBad = [];
for (const [i, href] of hrefs.entries()) {
	const url = new URL(href, BASE).href;
	const ts = Date.now();
	let resp;
	try {
		resp = await page.goto(url, { timeout: 45000 });
	} catch (e) {
		bad.status.push(`${href} (${nameOf(href)}): ${e.message.split('\n')[0]}`);
		continue;
	}
	opened++;
	const ms = Date.now() - ts;
	if (ms > 5000)
		bad.slow.push(`${href}: ${ms} ms`);
	const title = nameOf(href);
	if (resp.status() >= 500)
		bad.status.push(`${href} (${title}): HTTP ${resp.status()}: ${await mainText()}`);
	const back = control(page, 'Back to Inbox');
	try {
		await back.click({ trial: true, timeout: 3000 });
	} catch (e) {
		bad.back.push(`${href} (${title}): ${e.message.split('\n')[0]}`);
	}
	const iframe = page.locator('iframe');
	const nframes = await iframe.count();
	if (nframes > 1)
		bad.injected.push(`${href}: ${nframes} iframes`);
	if (nframes) {
		const box = await iframe.first().boundingBox();
		const vw = page.viewportSize().width;
		if (!box || box.width > vw || box.x < 0 || box.x + box.width > vw)
			bad.frame.push(`${href}: frame at ${JSON.stringify(box)}`);
		const sb = await iframe.first().getAttribute('sandbox');
		if (sb === null || /allow-scripts|allow-same-origin|allow-top-navigation|allow-forms/.test(sb))
			bad.sandbox.push(`${href}: sandbox="${sb}"`);
	}
	// The page itself: no handler, script or element from the message.
	const inj = await page.evaluate(() => {
		const out = [];
		for (const el of document.querySelectorAll('*')) {
			for (const a of el.attributes)
				if (/^on/i.test(a.name))
					out.push(`<${el.localName} ${a.name}>`);
			if (el.localName === 'script' && el.getAttribute('src') !== '/static/ers.js')
				out.push('<script>');
			// The page's own icons are inline SVG: only active SVG counts.
			if (/^(object|embed|base|applet|frame|frameset|math|foreignObject)$/.test(el.localName))
				out.push(`<${el.localName}>`);
		}
		return out;
	});
	if (inj.length)
		bad.injected.push(`${href} (${title}): ${inj.slice(0, 5).join(' ')}`);
	if (await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) > 1)
		bad.wide.push(`${href} (${title})`);
	// What the sanitiser let through, seen in the body frame's DOM.
	const bodyFrame = page.frames().find((f) => /\/message\/body/.test(f.url()));
	if (bodyFrame) {
		const left = await bodyFrame.evaluate(() => {
			const out = [];
			const urlAttrs = ['href', 'src', 'srcset', 'action', 'formaction', 'background', 'poster', 'data', 'xlink:href', 'lowsrc', 'dynsrc', 'ping', 'manifest', 'codebase'];
			for (const el of document.querySelectorAll('*')) {
				// The frame's own head (charset, base target, style) is the page's.
				if (/^(script|iframe|frame|frameset|object|embed|applet|form|base|link|meta|style|svg|math|template|foreignobject|video|audio|source|track|picture)$/i.test(el.localName) &&
				    el.parentElement !== document.head)
					out.push(`<${el.localName}>`);
				for (const a of el.attributes) {
					if (/^on/i.test(a.name))
						out.push(`<${el.localName} ${a.name}>`);
					if (urlAttrs.includes(a.name.toLowerCase())) {
						const v = a.value.replace(/[\s\0]/g, '').toLowerCase();
						if (/^(javascript|vbscript|livescript):/.test(v) || /^data:(?!image\/(png|gif|jpeg|webp);)/.test(v) && a.name !== 'href')
							out.push(`<${el.localName} ${a.name}="${a.value.slice(0, 40)}">`);
						if (a.name !== 'href' && /^(https?:)?\/\//.test(v))
							out.push(`<${el.localName} ${a.name}=remote>`);
					}
					if (a.name === 'style' && /url\s*\(|expression|@import|binding|behavior/i.test(a.value))
						out.push(`<${el.localName} style="${a.value.slice(0, 40)}">`);
				}
			}
			return out;
		}).catch((e) => [`(cannot inspect: ${e.message.split('\n')[0]})`]);
		if (left.length)
			bad.leftovers.push(`${href} (${title}): ${[...new Set(left)].slice(0, 6).join(' ')}`);
	}
	// Attachments: downloads with Content-Disposition attachment and a safe name.
	for (const a of (await page.$$eval('main a[href*="attachment"], main a[download]', (as) => as.map((x) => x.getAttribute('href')))).slice(0, 8)) {
		if (dlChecked.length >= 120)
			break;
		// Once more on a hang-up: lighttpd ends a keep-alive connection idle
		// for 5 s, and a request sent at that moment races its close.
		const get = () => ctx.request.get(new URL(a, BASE).href, { maxRedirects: 0 });
		const r = await get().catch((e) => (/socket hang up|ECONNRESET/.test(e.message) ? get() : Promise.reject(e)));
		const cd = r.headers()['content-disposition'] || '';
		dlChecked.push(a);
		const name = (/filename\*=UTF-8''([^;]*)/i.exec(cd) || /filename="((?:[^"\\]|\\.)*)"/i.exec(cd) || [])[1];
		let decoded = name;
		try { decoded = decodeURIComponent(name || ''); } catch { /* kept as is */ }
		if (r.status() !== 200 || !/^attachment/i.test(cd) || !name || /[\/\\\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]/.test(decoded) ||
		    decoded.length > 255 || r.headers()['x-content-type-options'] !== 'nosniff')
			dlBad.push(`${a}: HTTP ${r.status()} ${JSON.stringify(cd).slice(0, 200)}`);
	}
	// Every tenth message: really go back.
	if (i % 10 === 0) {
		const [r] = await Promise.all([page.waitForNavigation(), back.click()]);
		if (new URL(page.url()).pathname === '/' && r && r.status() < 500)
			clicked++;
		else
			bad.back.push(`${href}: "Back to Inbox" led to ${page.url()}: HTTP ${r && r.status()}`);
	}
	if (i === 0 || /5 MB|500 parts|nested 50/.test(title))
		await shot(page, `hostile-${String(i + 1).padStart(3, '0')}`).catch(() => {});
}
await page.waitForTimeout(1500); // late requests and connections
const t2 = Date.now();

is(opened, hrefs.length, `opened every message (${opened}) in ${((t2 - t1) / 1000).toFixed(1)} s`);
is(dialogs.length, 0, 'no script dialog opened (alert, confirm, prompt)') || diag(...dialogs.slice(0, 10));
is(pwned.length, 0, 'no message script ran (no __pwned call, no PWNED on the console)') || diag(...pwned.slice(0, 10));
is(pageErrors.length, 0, 'no uncaught page error') || diag(...pageErrors.slice(0, 10));
is(outside.length, 0, 'no request left 127.0.0.1 (every frame watched)') || diag(...[...new Set(outside)].slice(0, 15));
is(hits.length, 0, `the listener on 127.0.0.2:${PORT} (and evil.example) got no connection`) || diag(...hits.slice(0, 15));
is(frameLoads.length, 0, 'the message body frame loaded nothing but itself') || diag(...[...new Set(frameLoads)].slice(0, 15));
is(bad.status.length, 0, 'no message page failed (5xx or no answer)') || diag(...bad.status.slice(0, 15));
is(bad.back.length, 0, `"Back to Inbox" visible and clickable on every page (clicked on ${clicked})`) || diag(...bad.back.slice(0, 15));
is(bad.frame.length, 0, 'the body frame stays within the window\'s width') || diag(...bad.frame.slice(0, 10));
is(bad.sandbox.length, 0, 'the body frame is sandboxed without scripts, same origin, forms or top navigation') || diag(...bad.sandbox.slice(0, 5));
is(bad.injected.length, 0, 'nothing of a message became markup of the page (handlers, scripts, svg, extra frames)') || diag(...bad.injected.slice(0, 15));
is(bad.wide.length, 0, 'no message page is wider than the window') || diag(...bad.wide.slice(0, 15));
is(bad.leftovers.length, 0, 'the sanitised bodies hold no script, handler, active or remote URL, form or embedded content') ||
	diag(...bad.leftovers.slice(0, 25));
if (dlChecked.length)
	is(dlBad.length, 0, `${dlChecked.length} attachment downloads: Content-Disposition attachment, safe names, nosniff`) || diag(...dlBad.slice(0, 15));
else
	skip('attachment downloads have safe names', 'no attachment download links on the message pages yet');
diag(`slow pages (over 5 s): ${bad.slow.length ? bad.slow.join(', ') : 'none'}`, `CSP reports on the console: ${csp.length}`);

await browser.close();
server.close();
console.log(`# hostile mail: ${msgs.length} messages, ${opened} opened, ${inboxPages} inbox page(s); append ${((t1 - t0) / 1000).toFixed(1)} s, browse ${((t2 - t1) / 1000).toFixed(1)} s; ${failed()} failure(s)`);
