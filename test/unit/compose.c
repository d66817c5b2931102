/* Unit tests for building outgoing mail: headers, Bcc only in the
 * envelope, Message-ID on the sender's domain, attachments, and clear
 * refusals of bad addresses and header injection. */
#include <stdlib.h>
#include <string.h>
#include "ers/compose.h"
#include "ers/message.h"
#include "tap.h"

static void build(void)
{
	struct ers_compose_attachment att = { "r\xc3\xa9sum\xc3\xa9 2024.pdf", "application/pdf", "%PDF-1.4\n", 9 };
	struct ers_compose c = {
		.from = "ann@mailco.test", .from_name = "Ann M\xc3\xbcller",
		.to = "bob@example.org, \"Cat, C.\" <cat@b\xc3\xbc" "cher.example>", .cc = "dan@example.org",
		.bcc = "secret@example.org", .subject = "Gr\xc3\xbc\xc3\x9f" "e", .body = "Hello\nBob\n",
		.in_reply_to = "orig@example.org", .attachments = &att, .nattachments = 1,
	};
	struct ers_built_mail *m = NULL;
	struct ers_error err;
	if (!ok(ers_mail_build(&c, &m, &err) == 0, "a message builds")) {
		diag("%s", err.message);
		return;
	}
	is_str(m->envelope_from, "ann@mailco.test", "envelope sender");
	is_int(m->nrcpt, 4, "four recipients: To, Cc and Bcc");
	is_str(m->rcpt[1], "cat@xn--bcher-kva.example", "an IDN domain becomes punycode");
	is_str(m->rcpt[3], "secret@example.org", "Bcc is a recipient");
	ok(!strstr(m->data, "secret@example.org") && !strstr(m->data, "Bcc:"), "... but not in the headers");
	ok(!strncmp(m->data, "Date: ", 6) || strstr(m->data, "\r\nDate: "), "a Date header");
	like_str(m->message_id, "@mailco.test", "the Message-ID is on the sender's domain");
	like_str(m->data, "In-Reply-To: <orig@example.org>", "In-Reply-To");
	ok(!strstr(m->data, "\n") || !strstr(m->data, "\r\r"), "no doubled CRs");
	bool crlf = true;
	for (size_t i = 0; i < m->len; i++)
		if (m->data[i] == '\n' && (i == 0 || m->data[i - 1] != '\r'))
			crlf = false;
	ok(crlf, "every line ends in CRLF");

	/* Read back with the message model. */
	struct ers_message *back = NULL;
	ok(ers_message_parse(m->data, m->len, NULL, &back, &err) == 0, "the built message reads back");
	if (back) {
		is_str(back->subject, "Gr\xc3\xbc\xc3\x9f" "e", "... subject (RFC 2047 round trip)");
		like_str(back->from, "Ann M\xc3\xbcller <ann@mailco.test>", "... From with its name");
		is_str(back->body_html, "Hello<br>\nBob<br>\n", "... body");
		is_int(back->nattachments, 1, "... one attachment");
		if (back->nattachments == 1) {
			is_str(back->attachments[0].filename, "r\xc3\xa9sum\xc3\xa9 2024.pdf", "... its name (RFC 2231)");
			is_int(back->attachments[0].size, 9, "... its size");
		}
	}
	ers_message_free(back);
	ers_built_mail_free(m);
}

static void refusals(void)
{
	static const struct { struct ers_compose c; const char *why; } cases[] = {
		{ { .from = "ann@mailco.test", .to = "bob@", .subject = "s" }, "To: \"bob@\" is not an e-mail address" },
		{ { .from = "ann@mailco.test", .to = "bob", .subject = "s" }, "To: \"bob\" is not an e-mail address" },
		{ { .from = "ann@mailco.test", .to = "a@b.example", .cc = "x..y@b.example" }, "Cc: \"x..y@b.example\"" },
		{ { .from = "ann@mailco.test", .to = "a@b.example", .bcc = "a@-bad-.example" }, "Bcc: \"a@-bad-.example\"" },
		{ { .from = "ann@mailco.test", .to = "a@b.example", .subject = "x\r\nBcc: victim@example.org" }, "Subject may not contain a line break" },
		{ { .from = "ann@mailco.test", .from_name = "A\nB", .to = "a@b.example" }, "sender's name may not contain a line break" },
		{ { .from = "ann@mailco.test", .to = "a@b.example\r\nBcc: v@x.example" }, "To may not contain a line break" },
		{ { .from = "ann@mailco.test", .to = "" }, "at least one recipient" },
		{ { .from = "ann@mailco.test", .to = " , " }, "at least one recipient" },
		{ { .from = "not an address", .to = "a@b.example" }, "From: \"not an address\"" },
		{ { .from = "ann@mailco.test", .to = "group: a@b.example;" }, "groups of addresses are not allowed" },
		{ { .from = "ann@mailco.test", .to = "a@b.example", .subject = "bad \xff utf8" }, "Subject must be UTF-8" },
		/* GMime alone would drop the unreadable piece and send to the rest. */
		{ { .from = "ann@mailco.test", .to = "a@b.example, not an address" }, "To: \"not an address\" is not an e-mail address" },
		{ { .from = "ann@mailco.test", .cc = "a@b.example; ; c d" }, "Cc: \"c d\" is not" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ers_built_mail *m = (void *)1;
		struct ers_error err = { 0 };
		int rc = ers_mail_build(&cases[i].c, &m, &err);
		ok(rc < 0 && m == NULL && err.code == ERS_E_INVALID, "refused: %s", cases[i].why);
		like_str(err.message, cases[i].why, "... saying so");
	}
	/* Semicolons separate like commas; inside quotes they are a name's. */
	struct ers_compose semi = { .from = "ann@mailco.test", .to = "a@b.example; \"x; y\" <c@b.example>" };
	struct ers_built_mail *sm = NULL;
	struct ers_error serr;
	ok(ers_mail_build(&semi, &sm, &serr) == 0 && sm->nrcpt == 2 && !strcmp(sm->rcpt[1], "c@b.example"),
	   "\"a; \\\"x; y\\\" <c>\": two recipients");
	ers_built_mail_free(sm);
	struct ers_compose_attachment bad[] = { { "a\r\n.txt", "text/plain", "x", 1 }, { "a.txt", "text/plain\r\nX: y", "x", 1 } };
	struct ers_compose c = { .from = "ann@mailco.test", .to = "a@b.example", .attachments = bad, .nattachments = 1 };
	struct ers_built_mail *m = NULL;
	struct ers_error err;
	ok(ers_mail_build(&c, &m, &err) < 0, "an attachment name with a line break is refused");
	c.attachments = bad + 1;
	ok(ers_mail_build(&c, &m, &err) < 0 && strstr(err.message, "content type"), "a content type with a line break is refused");
	struct ers_buf many = ERS_BUF_INIT;
	for (int i = 0; i <= ERS_COMPOSE_MAX_RCPT; i++)
		ers_buf_addf(&many, "%su%d@example.org", i ? "," : "", i);
	struct ers_compose lots = { .from = "ann@mailco.test", .to = many.data };
	ok(ers_mail_build(&lots, &m, &err) < 0 && strstr(err.message, "at most 100 recipients"), "101 recipients: refused");
	ers_buf_free(&many);
}

/* An HTML alternative: multipart/alternative, the plain text first, and
 * the reader prefers the HTML. */
static void alternative(void)
{
	struct ers_compose c = { .from = "ann@mailco.test", .to = "bob@example.org", .subject = "Hi",
				 .body = "plain words\n", .body_html = "<p>html words</p>\n" };
	struct ers_built_mail *m = NULL;
	struct ers_error err;
	if (!ok(ers_mail_build(&c, &m, &err) == 0, "a message with an HTML alternative builds"))
		return;
	ok(strstr(m->data, "Content-Type: multipart/alternative") != NULL, "... as multipart/alternative");
	const char *plain = strstr(m->data, "Content-Type: text/plain"), *html = strstr(m->data, "Content-Type: text/html");
	ok(plain && html && plain < html, "... the plain text first, then the HTML");
	struct ers_message *back = NULL;
	ok(ers_message_parse(m->data, m->len, NULL, &back, &err) == 0 && back->body_is_html &&
	   strstr(back->body_html, "html words"), "... and it reads back preferring the HTML");
	ers_message_free(back);
	ers_built_mail_free(m);
	struct ers_compose a = c;
	struct ers_compose_attachment att = { "a.txt", "text/plain", "x", 1 };
	a.attachments = &att;
	a.nattachments = 1;
	ok(ers_mail_build(&a, &m, &err) == 0 && strstr(m->data, "multipart/mixed") && strstr(m->data, "multipart/alternative"),
	   "with an attachment: the alternative inside multipart/mixed");
	ers_built_mail_free(m);
	c.body_html = "\xff\xfe";
	ok(ers_mail_build(&c, &m, &err) < 0, "HTML that is not UTF-8 is refused");
}

int main(void)
{
	build();
	refusals();
	alternative();
	return done_testing();
}
