/* Unit tests for the IMAP response parser: SELECT data, LIST with special
 * use and LIST-STATUS, SEARCH and ESEARCH, FETCH with envelopes (nested
 * address lists, groups, NIL, escapes, literals), BODYSTRUCTURE's
 * attachment flag, tagged answers -- and malformed input refused cleanly. */
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/error.h"
#include "ers/imap.h"
#include "tap.h"

static int parse(const char *s, struct ers_imap_result *r, struct ers_error *err)
{
	memset(r, 0, sizeof *r);
	return ers_imap_parse(s, strlen(s), r, err);
}

static void select_data(void)
{
	struct ers_imap_result r;
	struct ers_error err;
	const char *s =
		"* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n"
		"A001 OK [CAPABILITY IMAP4rev1 MOVE ESEARCH UIDPLUS LIST-STATUS SPECIAL-USE] Logged in\r\n"
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
		"* 172 EXISTS\r\n"
		"* 1 RECENT\r\n"
		"* OK [UNSEEN 12] Message 12 is first unseen\r\n"
		"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		"* OK [UIDNEXT 4392] Predicted next UID\r\n"
		"* OK [HIGHESTMODSEQ 1] Highest\r\n"
		"A002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n";
	is_int(parse(s, &r, &err), 0, "SELECT answer parses");
	is_int(r.exists, 172, "EXISTS");
	ok(r.have_exists, "... and it was sent");
	is_int(r.recent, 1, "RECENT");
	is_int(r.uidvalidity, 3857529045u, "UIDVALIDITY (over 2^31)");
	is_int(r.uidnext, 4392, "UIDNEXT");
	is_str(r.status, "OK", "tagged status");
	is_str(r.status_line, "A002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).", "tagged line kept");
	ok(r.capabilities && strstr(r.capabilities, " MOVE ") && strstr(r.capabilities, "ESEARCH"),
	   "the later CAPABILITY code replaces the greeting's");
	ers_imap_result_free(&r);

	is_int(parse("A003 NO [TRYCREATE] Mailbox doesn't exist: Trash\r\n", &r, &err), 0, "a NO answer parses");
	is_str(r.status, "NO", "... as NO");
	is_str(r.status_line, "A003 NO [TRYCREATE] Mailbox doesn't exist: Trash", "... with its line");
	ers_imap_result_free(&r);
	is_int(parse("A005 NO [NONEXISTENT] Mailbox doesn't exist: X\r\n* BYE Logging out\r\nA006 OK Logout completed.\r\n", &r, &err), 0,
	       "a NO, then libcurl's LOGOUT");
	is_str(r.status_line, "A005 NO [NONEXISTENT] Mailbox doesn't exist: X", "... the NO is the answer kept");
	ers_imap_result_free(&r);
	is_int(parse("* BYE Server shutting down\r\nA004 bad Error in IMAP command\n", &r, &err), 0, "BYE and a lower-case bad with a bare LF");
	is_str(r.bye, "Server shutting down", "BYE text");
	is_str(r.status, "BAD", "status upper-cased");
	ers_imap_result_free(&r);
}

static void lists(void)
{
	struct ers_imap_result r;
	struct ers_error err;
	const char *s =
		"* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
		"* STATUS INBOX (MESSAGES 10 UNSEEN 3)\r\n"
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
		"* STATUS \"Sent\" (MESSAGES 2 UNSEEN 0)\r\n"
		"* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"Projects\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"Projects/Caf&AOk-\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" {12}\r\nwith \"quote\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"back\\\\slash \\\"q\\\"\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"* LIST (\\HasNoChildren) NIL \"flat\"\r\n"
		"* LIST (\\HasNoChildren \\Junk) \"/\" \"&ZeVnLIqe-\"\r\n"
		"A005 OK List completed.\r\n";
	is_int(parse(s, &r, &err), 0, "LIST with LIST-STATUS parses");
	if (!is_int(r.nfolders, 9, "nine folders"))
		diag("%s", err.message);
	if (r.nfolders < 9) {
		ers_imap_result_free(&r);
		return;
	}
	is_str(r.folders[0].name, "INBOX", "INBOX, an atom");
	is_int(r.folders[0].special, ERS_IMAP_FOLDER_INBOX, "INBOX is special");
	is_int(r.folders[0].messages, 10, "STATUS merged: messages");
	is_int(r.folders[0].unseen, 3, "STATUS merged: unseen");
	is_int(r.folders[1].special, ERS_IMAP_FOLDER_SENT, "\\Sent");
	is_int(r.folders[1].unseen, 0, "Sent: 0 unseen");
	is_int(r.folders[2].special, ERS_IMAP_FOLDER_TRASH, "\\Trash");
	is_int(r.folders[2].messages, -1, "no STATUS: -1");
	ok(r.folders[3].noselect && r.folders[3].has_children, "\\Noselect \\HasChildren");
	is_str(r.folders[4].display, "Projects/Caf\xc3\xa9", "modified UTF-7 decoded for display");
	is_str(r.folders[4].name, "Projects/Caf&AOk-", "... the name stays the server's");
	is_int(r.folders[4].delimiter, '/', "delimiter");
	is_str(r.folders[5].name, "with \"quote\"", "a name sent as a literal");
	is_str(r.folders[6].name, "back\\slash \"q\"", "escapes in a quoted name, extended data ignored");
	is_int(r.folders[7].delimiter, 0, "NIL delimiter");
	is_str(r.folders[8].display, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "CJK from UTF-7");
	ers_imap_result_free(&r);

	struct ers_buf b = ERS_BUF_INIT;
	ok(!ers_imap_utf7_decode("bad&AOk", &b), "unterminated UTF-7 shift is refused");
	is_str(b.data, "bad&AOk", "... and the name kept as it was");
	ers_buf_reset(&b);
	ok(!ers_imap_utf7_decode("&AGE-", &b), "ASCII encoded in UTF-7 is refused");
	ers_buf_reset(&b);
	ok(ers_imap_utf7_decode("a&-b", &b), "&- is &");
	is_str(b.data, "a&b", "... decoded");
	ers_buf_reset(&b);
	ok(ers_imap_utf7_decode("&2D3eAA-", &b), "a surrogate pair");
	is_str(b.data, "\xf0\x9f\x98\x80", "... becomes one 4-byte character");
	ers_buf_reset(&b);
	ok(ers_imap_quote(&b, "a\"b\\c"), "quote");
	is_str(b.data, "\"a\\\"b\\\\c\"", "... escapes \" and \\");
	ok(!ers_imap_quote(&b, "a\r\nb"), "CR LF cannot be quoted");
	ers_buf_free(&b);
}

static void search(void)
{
	struct ers_imap_result r;
	struct ers_error err;
	is_int(parse("* SEARCH 2 84 882\r\nA1 OK done\r\n", &r, &err), 0, "SEARCH");
	is_int(r.nids, 3, "three ids");
	ok(r.nids == 3 && r.ids[2] == 882, "... in order");
	ers_imap_result_free(&r);
	is_int(parse("* SEARCH\r\nA1 OK done\r\n", &r, &err), 0, "empty SEARCH");
	is_int(r.nids, 0, "no ids");
	ers_imap_result_free(&r);
	is_int(parse("* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 COUNT 5 ALL 7,3:1,3800\r\nA285 OK\r\n", &r, &err), 0, "ESEARCH");
	ok(r.have_esearch && r.esearch_min == 7 && r.esearch_max == 3800 && r.esearch_count == 5, "MIN MAX COUNT");
	is_int(r.nids, 5, "ALL expanded, a reversed range too");
	ok(r.nids == 5 && r.ids[0] == 7 && r.ids[1] == 1 && r.ids[3] == 3 && r.ids[4] == 3800, "... in order");
	ers_imap_result_free(&r);
	ok(parse("* ESEARCH (TAG \"A\") UID ALL 1:4294967295\r\n", &r, &err) < 0, "a huge ESEARCH range is refused");
	ers_imap_result_free(&r);
}

static void fetch(void)
{
	struct ers_imap_result r;
	struct ers_error err;
	const char *s =
		"* 12 FETCH (UID 4827 FLAGS (\\Seen \\Flagged $Label1) RFC822.SIZE 44827 "
		"INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
		"\"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
		"(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") "
		"BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL))\r\n"
		"* 13 FETCH (UID 4828 FLAGS () ENVELOPE (NIL {26}\r\nSubject with \"quotes\" \\ ok ((NIL NIL \"undisclosed\" NIL)"
		"(NIL NIL NIL NIL)) NIL NIL ((\"A \\\"B\\\" C\" NIL \"a\" \"b.example\")) NIL NIL NIL NIL) "
		"BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 10 1 NIL NIL NIL NIL)"
		"(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 2000 NIL (\"attachment\" (\"filename\" \"a.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL))\r\n"
		"* 14 FETCH (UID 4829 FLAGS (\\Answered) BODYSTRUCTURE ((\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)"
		"(\"image\" \"png\" NIL \"<logo@x>\" NIL \"base64\" 200 NIL (\"inline\" NIL) NIL NIL) \"related\" NIL NIL NIL NIL))\r\n"
		"* 15 FETCH (UID 4830 BODY[] {11}\r\nFrom: a\r\n\r\n FLAGS (\\Seen))\r\n"
		"* 16 FETCH (UID 4831 BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) 5) \"mixed\"))\r\n"
		"* 3 EXPUNGE\r\n"
		"A7 OK Fetch completed.\r\n";
	if (!is_int(parse(s, &r, &err), 0, "FETCH answers parse"))
		diag("%s", err.message);
	if (!is_int(r.nmsgs, 5, "five messages"))
		goto out;
	struct ers_imap_message *m = &r.msgs[0];
	is_int(m->seq, 12, "sequence number");
	is_int(m->uid, 4827, "UID");
	is_int(m->flags, ERS_IMAP_SEEN | ERS_IMAP_FLAGGED, "flags (keywords ignored)");
	is_int(m->size, 44827, "RFC822.SIZE");
	is_int(m->internaldate, 837596665, "INTERNALDATE with its zone");
	is_str(m->envelope.subject, "IMAP4rev1 WG mtg summary and minutes", "subject");
	is_int(m->envelope.from.n, 1, "one From");
	is_str(m->envelope.from.items[0].name, "Terry Gray", "From name");
	is_str(m->envelope.from.items[0].host, "cac.washington.edu", "From host");
	is_int(m->envelope.cc.n, 2, "two Cc");
	is_str(m->envelope.cc.items[1].mailbox, "KLENSIN", "second Cc");
	ok(m->envelope.cc.items[0].name == NULL, "NIL name is NULL");
	ok(m->envelope.bcc.n == 0 && m->envelope.in_reply_to == NULL, "NIL lists and strings");
	is_str(m->envelope.message_id, "<B27397-0100000@cac.washington.edu>", "Message-ID");
	ok(!m->has_attachments, "a single text part has no attachment");

	m = &r.msgs[1];
	is_int(m->flags, 0, "empty flags");
	ok(m->envelope.date == NULL, "NIL date");
	is_str(m->envelope.subject, "Subject with \"quotes\" \\ ok", "a subject sent as a literal");
	is_int(m->envelope.from.n, 0, "group markers are not addresses");
	is_str(m->envelope.to.items[0].name, "A \"B\" C", "escaped quotes in a name");
	ok(m->has_attachments, "multipart/mixed with a PDF attachment has one");
	ok(!r.msgs[2].has_attachments, "an inline image with a Content-ID in multipart/related is not one");
	is_int(r.msgs[3].body_len, 11, "BODY[] literal length");
	ok(r.msgs[3].body && memcmp(r.msgs[3].body, "From: a\r\n\r\n", 11) == 0, "BODY[] literal bytes, CRLF included");
	is_int(r.msgs[3].flags, ERS_IMAP_SEEN, "an item after the literal");
	ok(r.msgs[4].has_attachments, "a forwarded message counts as an attachment");
out:
	ers_imap_result_free(&r);

	/* An unsolicited FETCH of the same message merges. */
	is_int(parse("* 5 FETCH (FLAGS (\\Seen))\r\n* 5 FETCH (UID 9)\r\n", &r, &err), 0, "two FETCH of one message");
	ok(r.nmsgs == 1 && r.msgs[0].uid == 9 && r.msgs[0].flags == ERS_IMAP_SEEN, "... merge");
	ers_imap_result_free(&r);
}

static void malformed(void)
{
	static const char *const bad[] = {
		"* 1 FETCH (UID 1 ENVELOPE (\"unterminated))\r\n",
		"* 1 FETCH (BODY[] {100}\r\nshort)\r\n",
		"* 1 FETCH (BODY[] {99999999999}\r\n",
		"* 1 FETCH (UID x)\r\n",
		"* 1 FETCH (UID 99999999999)\r\n",
		"* 1 FETCH (UID 1\r\n",
		"* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL)) NIL NIL NIL NIL NIL NIL NIL))\r\n",
		"* LIST (\\X) \"/\"\r\n",
		"* STATUS x (MESSAGES y)\r\n",
		"*\r\n",
		"A1 MAYBE\r\n",
		"no-space-at-all\r\n",
		"* SEARCH 1 two\r\n",
		"* 1 FETCH (BODY[] \"a\\qb\")\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ers_imap_result r;
		struct ers_error err;
		int rc = parse(bad[i], &r, &err);
		ok(rc < 0 && err.code == ERS_E_INTERNAL && strstr(err.message, "unreadable IMAP response"),
		   "malformed %zu refused with an error", i);
		ers_imap_result_free(&r);
	}
	/* Deep nesting is refused, not a crash. */
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_adds(&b, "* 1 FETCH (BODYSTRUCTURE ");
	for (int i = 0; i < 100000; i++)
		ers_buf_addch(&b, '(');
	ers_buf_adds(&b, "\r\n");
	struct ers_imap_result r;
	struct ers_error err;
	memset(&r, 0, sizeof r);
	ok(ers_imap_parse(b.data, b.len, &r, &err) < 0 && strstr(err.message, "does not end"), "100,000 open parentheses: refused");
	ers_imap_result_free(&r);
	/* Deep but whole (MIME nested 100 deep, a ")" in a string and a
	 * literal down there): that part is left out, the answer read. */
	ers_buf_reset(&b);
	ers_buf_adds(&b, "* 1 FETCH (UID 7 BODYSTRUCTURE (");
	for (int i = 0; i < 100; i++)
		ers_buf_adds(&b, "(");
	ers_buf_adds(&b, "(\"TEXT\" \"PLAIN\" (\"NAME\" \")(\") NIL NIL \"7BIT\" 1 1 {3}\r\n))))");
	for (int i = 0; i < 100; i++)
		ers_buf_adds(&b, " \"MIXED\")");
	ers_buf_adds(&b, "(\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 10 NIL (\"attachment\" NIL) NIL) \"MIXED\") "
		     "ENVELOPE (NIL \"deep\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n* 2 FETCH (UID 8)\r\nA1 OK done\r\n");
	memset(&r, 0, sizeof r);
	int rc = ers_imap_parse(b.data, b.len, &r, &err);
	ok(rc == 0 && r.nmsgs == 2 && r.msgs[0].uid == 7 && r.msgs[0].has_envelope && r.msgs[0].envelope.subject &&
	   !strcmp(r.msgs[0].envelope.subject, "deep") && r.msgs[0].has_attachments && r.msgs[1].uid == 8 &&
	   !strcmp(r.status, "OK"), "a BODYSTRUCTURE nested 100 deep: the rest is read (%s)", rc ? err.message : "ok");
	ers_imap_result_free(&r);
	ers_buf_free(&b);
	/* Unknown responses are skipped, even odd ones. */
	is_int(parse("* XWEIRD \"unbalanced\r\n* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA1 OK\r\n", &r, &err), 0, "unknown responses are skipped");
	ers_imap_result_free(&r);
	is_int(parse("* OK [BROKEN \"code] still fine\r\n", &r, &err), 0, "an unreadable response code is text");
	ers_imap_result_free(&r);
}

int main(void)
{
	select_data();
	lists();
	search();
	fetch();
	malformed();
	return done_testing();
}
