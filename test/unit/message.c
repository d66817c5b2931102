/* Unit tests for the message model: decoded headers, the body chosen and
 * made safe, attachments (names decoded and made safe, bytes extracted),
 * the external-sender flag, and bounds on hostile MIME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/mem.h"
#include "ers/message.h"
#include "tap.h"

static const char *const ours[] = { "mailco.test", "mailco-intern.test" };

static struct ers_message *parse(const char *src, const struct ers_message_opts *o)
{
	struct ers_message *m = NULL;
	struct ers_error err;
	if (ers_message_parse(src, strlen(src), o, &m, &err) < 0)
		diag("parse failed: %s", err.message);
	return m;
}

static void plain(void)
{
	const char *src =
		"From: =?UTF-8?B?QW5uIE3DvGxsZXI=?= <ann@Outside.example>\r\n"
		"To: bob@mailco.test, \"Cat, C.\" <cat@mailco.test>\r\n"
		"Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= and more\r\n"
		"Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
		"Message-ID: <abc@outside.example>\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"Hallo <b>B=F6b</b>,\r\nsee https://example.org/x.\r\n";
	struct ers_message_opts o = { .internal_domains = ours, .ninternal = 2 };
	struct ers_message *m = parse(src, &o);
	if (!ok(m != NULL, "a text/plain message parses"))
		return;
	is_str(m->from, "Ann M\xc3\xbcller <ann@Outside.example>", "From decoded (RFC 2047, B)");
	is_str(m->from_address, "ann@Outside.example", "From's address");
	like_str(m->to, "\"Cat, C.\" <cat@mailco.test>", "To keeps a quoted name");
	is_str(m->subject, "Gr\xc3\xbc\xc3\x9f" "e and more", "Subject decoded (RFC 2047, Q, Latin-1)");
	is_str(m->message_id, "abc@outside.example", "Message-ID without <>");
	is_int(m->date, 837595405, "Date");
	ok(m->external_sender, "a sender outside the tenant's domains is external");
	ok(!m->body_is_html, "the body is text");
	is_str(m->body_html,
	       "Hallo &lt;b&gt;B\xc3\xb6" "b&lt;/b&gt;,<br>\nsee <a href=\"https://example.org/x\" rel=\"noopener noreferrer\" target=\"_blank\">https://example.org/x</a>.<br>\n",
	       "text converted from Latin-1, escaped, linked");
	is_int(m->nattachments, 0, "no attachments");
	ers_message_free(m);

	const char *inside = "From: Bob <bob@MAILCO.test>\r\nSubject: x\r\n\r\nhi\r\n";
	m = parse(inside, &o);
	ok(m && !m->external_sender, "a sender of the tenant's domain (any case) is not external");
	ers_message_free(m);
	m = parse(inside, NULL);
	ok(m && !m->external_sender, "without domains, no judgement");
	ers_message_free(m);
	m = parse("Subject: no from\r\n\r\nhi\r\n", &o);
	ok(m && m->external_sender && !strcmp(m->from, ""), "no From at all: external, shown empty");
	ers_message_free(m);
}

static const char *alternative =
	"From: x@mailco.test\r\nSubject: alt\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n"
	"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	"<html><head><style>p{}</style></head><body><p onclick=x>html <b>version</b><script>alert(1)</script>"
	"<img src=\"http://tracker.example/p.gif\"></p></body></html>\r\n"
	"--b1--\r\n";

static void html(void)
{
	struct ers_message *m = parse(alternative, NULL);
	if (!ok(m != NULL, "multipart/alternative parses"))
		return;
	ok(m->body_is_html, "HTML is preferred");
	is_str(m->body_html, "<p>html <b>version</b><span class=\"ers-blocked-image\"></span></p>",
	       "... and sanitised");
	is_int(m->blocked_images, 1, "one remote image blocked");
	is_int(m->nattachments, 0, "the other alternative is not an attachment");
	ers_message_free(m);
	struct ers_message_opts o = { .allow_remote_images = true };
	m = parse(alternative, &o);
	ok(m && strstr(m->body_html, "<img src=\"http://tracker.example/p.gif\">") && m->blocked_images == 0,
	   "remote images shown when allowed");
	ers_message_free(m);
}

static char *part_url(size_t index, void *data)
{
	(void)data;
	char s[40];
	snprintf(s, sizeof s, "/att/%zu", index);
	return ers_xstrdup(s);
}

static const char *mixed =
	"From: x@outside.example\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	"--m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
	"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>logo: <img src=\"cid:logo@x\" alt=L></p>\r\n"
	"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
	"--r--\r\n"
	"--m\r\nContent-Type: application/pdf; name=\"ignored.pdf\"\r\n"
	"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	"--m\r\nContent-Type: application/octet-stream\r\n"
	"Content-Disposition: attachment; filename=\"../../etc/pass\\\\wd\r\n\t.sh\"\r\n\r\nrm -rf /\r\n"
	"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?caf=C3=A9?=.txt\"\r\n\r\nnote\r\n"
	"--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\nSubject: inner one\r\n\r\ninner body\r\n"
	"--m--\r\n";

static void attachments(void)
{
	struct ers_message_opts o = { .attachment_url = part_url, .internal_domains = ours, .ninternal = 1 };
	struct ers_message *m = parse(mixed, &o);
	if (!ok(m != NULL, "multipart/mixed with related parses"))
		return;
	ok(m->external_sender, "external sender");
	is_str(m->body_html, "<p>logo: <img src=\"/att/0\" alt=\"L\"></p>", "the cid: image maps to the caller's URL");
	if (!is_int(m->nattachments, 5, "five attachments (the inline image included)")) {
		ers_message_free(m);
		return;
	}
	ok(m->attachments[0].is_inline && !strcmp(m->attachments[0].content_id, "logo@x"), "the inline image, its Content-ID");
	is_str(m->attachments[0].content_type, "image/png", "... its type");
	is_int(m->attachments[0].size, 8, "... its decoded size");
	is_str(m->attachments[1].filename, "\xe2\x82\xac rates.pdf", "RFC 2231 name decoded (and preferred)");
	is_int(m->attachments[1].size, 9, "decoded size of the PDF");
	ok(!m->attachments[1].is_inline, "an attachment is not inline");
	ok(!strchr(m->attachments[2].filename, '/') && !strchr(m->attachments[2].filename, '\\') &&
	   m->attachments[2].filename[0] != '.', "a path in a name is made safe: %s", m->attachments[2].filename);
	is_str(m->attachments[3].filename, "caf\xc3\xa9.txt", "an RFC 2047 name decoded");
	is_str(m->attachments[4].filename, "inner one.eml", "a forwarded message is named by its subject");
	is_str(m->attachments[4].content_type, "message/rfc822", "... message/rfc822");
	ers_message_free(m);

	struct ers_buf data = ERS_BUF_INIT;
	struct ers_error err;
	char *name = NULL, *type = NULL;
	ok(ers_message_attachment(mixed, strlen(mixed), 1, &data, &name, &type, &err) == 0, "extract attachment 2");
	is_str(data.data, "%PDF-1.4\n", "... its decoded bytes");
	is_str(name, "\xe2\x82\xac rates.pdf", "... its name");
	is_str(type, "application/pdf", "... its type");
	free(name);
	free(type);
	ers_buf_reset(&data);
	ok(ers_message_attachment(mixed, strlen(mixed), 4, &data, NULL, NULL, &err) == 0 &&
	   strstr(data.data, "Subject: inner one"), "a forwarded message's source");
	ok(ers_message_attachment(mixed, strlen(mixed), 9, &data, NULL, NULL, &err) < 0 && err.code == ERS_E_NOTFOUND,
	   "no attachment 10: not found");
	like_str(err.message, "has no attachment 10 (it has 5)", "... saying how many there are");
	ers_buf_free(&data);
}

static void names(void)
{
	struct { const char *in, *want; } cases[] = {
		{ "report.pdf", "report.pdf" },
		{ "../../etc/passwd", "_.._etc_passwd" },
		{ "..\\..\\boot.ini", "_.._boot.ini" },
		{ "a\x01\x1b[31mb", "a  [31mb" },
		{ "...", "attachment" },
		{ "", "attachment" },
		{ NULL, "attachment" },
		{ "con:tr<o>l|?*\".txt", "con_tr_o_l____.txt" },
		{ "trailing. . ", "trailing" },
		{ "bad\xff\xfeutf8", "bad__utf8" },
		{ "invoice\xe2\x80\xae" "fdp.exe", "invoice_fdp.exe" },      /* U+202E right-to-left override */
		{ "a\xe2\x80\x8b\xe2\x81\xa6" "b\xc2\x85" "c.txt", "a__b_c.txt" }, /* zero-width space, isolate, C1 NEL */
		{ "r\xc3\xa9sum\xc3\xa9.pdf", "r\xc3\xa9sum\xc3\xa9.pdf" },   /* letters stay */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ers_buf b = ERS_BUF_INIT;
		ers_attachment_name_safe(cases[i].in, &b);
		is_str(b.data, cases[i].want, "safe name of %s", cases[i].in ? cases[i].in : "(null)");
		ers_buf_free(&b);
	}
	struct ers_buf in = ERS_BUF_INIT, out = ERS_BUF_INIT;
	for (int i = 0; i < 100; i++)
		ers_buf_adds(&in, "\xe2\x82\xac");
	ers_attachment_name_safe(in.data, &out);
	ok(out.len <= ERS_ATTACHMENT_NAME_MAX && out.len % 3 == 0, "long names are capped on a character boundary (%zu)", out.len);
	ers_buf_free(&in);
	ers_buf_free(&out);
	ok(ers_address_in_domains("a@MailCo.Test", ours, 2), "domain match ignores case");
	ok(!ers_address_in_domains("a@mailco.test.evil.example", ours, 2), "a longer domain is not ours");
	ok(!ers_address_in_domains("a@evilmailco.test", ours, 2), "... nor a suffix");
	ok(!ers_address_in_domains("no-at", ours, 2), "no @: not ours");
}

static void bounds(void)
{
	struct ers_buf src = ERS_BUF_INIT;
	ers_buf_adds(&src, "From: x@y.example\r\nSubject: deep\r\n");
	for (int i = 0; i < 100; i++)
		ers_buf_addf(&src, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	ers_buf_adds(&src, "Content-Type: text/plain\r\n\r\ndeepest\r\n");
	struct ers_message *m = NULL;
	struct ers_error err;
	ok(ers_message_parse(src.data, src.len, NULL, &m, &err) == 0, "100 nested multiparts parse");
	ok(m && m->truncated && !strstr(m->body_html, "deepest"), "... the parts below the depth cap are left out");
	ers_message_free(m);
	ers_buf_reset(&src);
	ers_buf_adds(&src, "From: x@y.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int i = 0; i < 1000; i++)
		ers_buf_adds(&src, "--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n");
	ers_buf_adds(&src, "--b--\r\n");
	int rc = ers_message_parse(src.data, src.len, NULL, &m, &err);
	ok(rc == 0 && m->truncated && m->nattachments < ERS_MESSAGE_MAX_PARTS, "1,000 parts: capped (%zu attachments)",
	   m ? m->nattachments : 0);
	ers_message_free(m);
	ers_buf_reset(&src);
	ers_buf_adds(&src, "From: x@y.example\r\n");
	for (int i = 0; i < 20000; i++)
		ers_buf_addf(&src, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	m = NULL;
	ok(ers_message_parse(src.data, src.len, NULL, &m, &err) < 0 && err.code == ERS_E_INVALID && !m,
	   "20,000 nested multiparts: refused before GMime recurses");
	like_str(err.message, "too deeply nested", "... saying why");
	ok(ers_message_parse("", 0, NULL, &m, &err) == 0 || err.code == ERS_E_INVALID, "an empty message: no crash");
	ers_message_free(m);
	ers_buf_free(&src);
}

int main(void)
{
	plain();
	html();
	attachments();
	names();
	bounds();
	return done_testing();
}
