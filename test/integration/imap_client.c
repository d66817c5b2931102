/* Drives the webmail's mail layer against the private stack's Dovecot and
 * Postfix (run by imap.sh, which delivers the messages first): folders,
 * a page newest first, reading a message (marked seen), unread again, move
 * to Trash, delete for good, send over submission and append to Sent.
 * With the argument "large": answers over 300 KB instead (large()); with
 * "login": ers_imap_connect and ers_imap_login apart (split_login(),
 * SPECIAL_PASSWORD: the user's own password).
 * Prints "ok - ..." / "not ok - ..." lines; imap.sh numbers them.
 * Environment: IMAP_PORT, SUBMISSION_PORT, TLS_CA, MASTER_LOGIN (USER*MASTER),
 * MASTER_PASSWORD, USER_ADDR, USER_PASSWORD, USER_DOMAIN, PEER_ADDR. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ers/ers.h"

static int failures;

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s - ", cond ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!cond)
		failures++;
	fflush(stdout);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	if (!v) {
		fprintf(stderr, "imap_client: %s is not set\n", name);
		exit(2);
	}
	return v;
}

static long count_of(struct ers_imap *im, const char *folder)
{
	struct ers_imap_result r;
	struct ers_error err;
	long n = -2;
	if (ers_imap_folders(im, &r, &err) == 0)
		for (size_t i = 0; i < r.nfolders; i++)
			if (!strcmp(r.folders[i].name, folder))
				n = r.folders[i].messages;
	ers_imap_result_free(&r);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A message with `subject` and a text body, or the given MIME body. */
static void plain(struct ers_buf *b, const char *subject, const char *extra_headers, const char *body)
{
	ers_buf_reset(b);
	ers_buf_addf(b, "From: Sender <sender@outside.example>\r\nTo: %s\r\nSubject: %s\r\n"
		     "Date: Mon, 1 Dec 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n%s\r\n%s",
		     env("USER_ADDR"), subject, extra_headers ? extra_headers : "Content-Type: text/plain\r\n",
		     body);
}

/* Answers over libcurl's 300 KB limit on response lines: a 5 MB message,
 * one with a 1 MB subject, one of 500 parts among 60 plain ones; and one
 * over ERS_IMAP_MAX_LITERAL.  Run on a mailbox of its own (empty). */
static int large(struct ers_imap_params *p)
{
	struct ers_error err;
	struct ers_imap *im = NULL;
	if (ers_imap_open(p, &im, &err) < 0) {
		check(0, "large: log in: %s", err.message);
		return 1;
	}
	struct ers_buf m = ERS_BUF_INIT, big = ERS_BUF_INIT, subj = ERS_BUF_INIT, body = ERS_BUF_INIT;
	int bad = 0;
	char s[64];
	for (int i = 0; i < 30; i++) {
		snprintf(s, sizeof s, "plain %d", i);
		plain(&m, s, NULL, "hello\r\n");
		bad += ers_imap_append(im, "INBOX", m.data, m.len, &err) < 0;
	}
	/* 5 MB: base64 lines of a pseudo-random attachment. */
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t x = 2463534242u;
	ers_buf_adds(&body, "--BB\r\nContent-Type: text/plain\r\n\r\nthe big one\r\n--BB\r\n"
		     "Content-Type: application/octet-stream; name=blob.bin\r\n"
		     "Content-Disposition: attachment; filename=blob.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	while (body.len < 5 * 1024 * 1024) {
		char line[78];
		for (int i = 0; i < 76; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			line[i] = b64[x & 63];
		}
		line[76] = '\r', line[77] = '\n';
		ers_buf_add(&body, line, 78);
	}
	ers_buf_adds(&body, "--BB--\r\n");
	plain(&big, "five megabytes", "Content-Type: multipart/mixed; boundary=BB\r\n", body.data);
	double t = now_ms();
	int rc = ers_imap_append(im, "INBOX", big.data, big.len, &err);
	check(rc == 0, "append a message of %zu bytes (%.0f ms)%s%s", big.len, now_ms() - t, rc ? ": " : "", rc ? err.message : "");
	/* A 1 MB subject on one line. */
	ers_buf_reset(&body);
	for (int i = 0; i < 1024 * 1024; i++)
		ers_buf_addch(&body, 'S');
	plain(&subj, body.data, NULL, "huge subject\r\n");
	rc = ers_imap_append(im, "INBOX", subj.data, subj.len, &err);
	check(rc == 0, "append a message with a 1 MB subject%s%s", rc ? ": " : "", rc ? err.message : "");
	/* 500 parts: a BODYSTRUCTURE of about 100 KB. */
	ers_buf_reset(&body);
	for (int i = 0; i < 500; i++)
		ers_buf_addf(&body, "--PP\r\nContent-Type: text/plain; name=p%d.txt\r\n"
			     "Content-Disposition: attachment; filename=p%d.txt\r\n\r\npart %d\r\n", i, i, i);
	ers_buf_adds(&body, "--PP--\r\n");
	plain(&m, "five hundred parts", "Content-Type: multipart/mixed; boundary=PP\r\n", body.data);
	rc = ers_imap_append(im, "INBOX", m.data, m.len, &err);
	check(rc == 0, "append a message of 500 parts%s%s", rc ? ": " : "", rc ? err.message : "");
	for (int i = 30; i < 60; i++) {
		snprintf(s, sizeof s, "plain %d", i);
		plain(&m, s, NULL, "hello\r\n");
		bad += ers_imap_append(im, "INBOX", m.data, m.len, &err) < 0;
	}
	check(bad == 0, "append 60 plain messages around them");

	/* Both pages list every message: seqs 63..14 and 13..1. */
	struct ers_imap_result pg;
	uint32_t uid_big = 0, uid_subj = 0, uid_parts = 0;
	size_t listed = 0;
	for (size_t page = 0; page < 2; page++) {
		t = now_ms();
		rc = ers_imap_page(im, "INBOX", page, 50, &pg, &err);
		double ms = now_ms() - t;
		size_t want = page == 0 ? 50 : 13;
		check(rc == 0 && pg.exists == 63 && pg.nmsgs == want, "page %zu: %zu of 63 messages listed (%.1f ms)%s%s", page,
		      pg.nmsgs, ms, rc ? ": " : "", rc ? err.message : "");
		for (size_t i = 0; i < pg.nmsgs; i++) {
			const struct ers_imap_message *mm = &pg.msgs[i];
			const char *su = mm->envelope.subject ? mm->envelope.subject : "";
			listed += mm->seq == 63 - (page * 50 + i) && mm->has_envelope;
			if (!strcmp(su, "five megabytes")) {
				uid_big = mm->uid;
				check(mm->has_attachments && mm->size == (long long)big.len, "... the 5 MB one: size %lld, attachment mark",
				      mm->size);
			} else if (!strcmp(su, "five hundred parts")) {
				uid_parts = mm->uid;
				check(mm->has_attachments, "... the 500-part one, with its attachment mark");
			} else if (su[0] == 'S') {
				uid_subj = mm->uid;
				check(strlen(su) <= ERS_IMAP_MAX_FIELD + 3 && strspn(su, "S") >= 990 &&
				      !strcmp(su + strlen(su) - 3, "\xe2\x80\xa6"),
				      "... the 1 MB subject, cut to %zu bytes with an ellipsis", strlen(su));
			}
		}
		ers_imap_result_free(&pg);
	}
	check(listed == 63 && uid_big && uid_subj && uid_parts, "every message listed once, newest first (%zu)", listed);

	struct ers_buf src = ERS_BUF_INIT;
	t = now_ms();
	rc = ers_imap_fetch_source(im, "INBOX", uid_big, false, &src, &err);
	check(rc == 0 && src.len == big.len && !memcmp(src.data, big.data, big.len),
	      "the 5 MB message's source, byte for byte (%zu bytes, %.0f ms)%s%s", src.len, now_ms() - t, rc ? ": " : "",
	      rc ? err.message : "");
	ers_buf_reset(&src);
	rc = ers_imap_fetch_source(im, "INBOX", uid_subj, true, &src, &err);
	check(rc == 0 && src.len == subj.len && !memcmp(src.data, subj.data, subj.len), "the 1 MB subject's source%s%s",
	      rc ? ": " : "", rc ? err.message : "");
	ers_buf_reset(&src);
	struct ers_message *msg = NULL;
	struct ers_message_opts mo = { 0 };
	rc = ers_imap_fetch_source(im, "INBOX", uid_parts, false, &src, &err);
	if (rc == 0)
		rc = ers_message_parse(src.data, src.len, &mo, &msg, &err);
	check(rc == 0 && msg && msg->nattachments > 100, "the 500-part message's source parses (%zu attachments)%s%s",
	      msg ? msg->nattachments : 0, rc ? ": " : "", rc ? err.message : "");
	ers_message_free(msg);

	/* Over the limit: a clear error, and the next command works. */
	ers_buf_reset(&body);
	ers_buf_grow(&body, ERS_IMAP_MAX_LITERAL + 4096);
	while (body.len < ERS_IMAP_MAX_LITERAL + 1024)
		ers_buf_add(&body, big.data + 4096, 78 * 1024); /* whole base64 lines */
	plain(&m, "too big", "Content-Type: text/plain\r\n", body.data);
	rc = ers_imap_append(im, "Trash", m.data, m.len, &err);
	check(rc == 0, "append a message of %zu bytes to Trash%s%s", m.len, rc ? ": " : "", rc ? err.message : "");
	rc = ers_imap_page(im, "Trash", 0, 5, &pg, &err);
	uint32_t uid_huge = rc == 0 && pg.nmsgs == 1 ? pg.msgs[0].uid : 0;
	ers_imap_result_free(&pg);
	ers_buf_reset(&src);
	rc = ers_imap_fetch_source(im, "Trash", uid_huge, false, &src, &err);
	check(rc < 0 && err.code == ERS_E_INVALID && strstr(err.message, "the webmail opens messages up to 50 MB") && src.len == 0,
	      "a message over 50 MB: a clear error (%s)", rc < 0 ? err.message : "it was read");
	rc = ers_imap_page(im, "INBOX", 0, 50, &pg, &err);
	check(rc == 0 && pg.nmsgs == 50, "... and the next command works (connected again)%s%s", rc ? ": " : "",
	      rc ? err.message : "");
	ers_imap_result_free(&pg);
	check(ers_imap_delete(im, "Trash", uid_huge, &err) == 0, "... delete it");
	printf("# UIDs: 5 MB %u, 1 MB subject %u, 500 parts %u\n", uid_big, uid_subj, uid_parts);
	ers_buf_free(&m);
	ers_buf_free(&big);
	ers_buf_free(&subj);
	ers_buf_free(&body);
	ers_buf_free(&src);
	ers_imap_close(im);
	return failures ? 1 : 0;
}

/* ers_imap_connect, then ers_imap_login: no command before the login; the
 * master login; a wrong password refused at the login, not shown; the
 * user's own password, SPECIAL_PASSWORD (quotes, a backslash, non-ASCII),
 * through AUTHENTICATE PLAIN. */
static int split_login(struct ers_imap_params *p)
{
	struct ers_error err;
	struct ers_imap *im = NULL;
	struct ers_imap_result r;
	struct ers_imap_params np = *p;
	np.username = np.password = NULL;
	if (ers_imap_connect(&np, &im, &err) < 0) {
		check(0, "connect without logging in: %s", err.message);
		return 1;
	}
	check(1, "connect without logging in (TCP, STARTTLS, certificate checked)");
	check(ers_imap_command(im, "NOOP", &r, &err) < 0 && err.code == ERS_E_INTERNAL,
	      "... a command before the login is refused (%s)", err.message);
	ers_imap_result_free(&r);
	int rc = ers_imap_login(im, p->username, p->password, &err);
	check(rc == 0, "... then the master user logs in over it%s%s", rc ? ": " : "", rc ? err.message : "");
	check(ers_imap_command(im, "SELECT INBOX", &r, &err) == 0 && r.have_exists, "... and SELECT INBOX works");
	ers_imap_result_free(&r);
	ers_imap_close(im);

	/* Closed without a login: nothing was logged in. */
	im = NULL;
	check(ers_imap_connect(&np, &im, &err) == 0, "connect, then close without a login");
	ers_imap_close(im);

	const char *special = env("SPECIAL_PASSWORD");
	im = NULL;
	rc = ers_imap_connect(&np, &im, &err);
	if (rc == 0)
		rc = ers_imap_login(im, env("USER_ADDR"), special, &err);
	check(rc == 0, "the user's own password with quotes, a backslash and a non-ASCII character logs in%s%s",
	      rc ? ": " : "", rc ? err.message : "");
	check(im && ers_imap_command(im, "SELECT INBOX", &r, &err) == 0, "... and SELECT INBOX works");
	ers_imap_result_free(&r);
	ers_imap_close(im);

	im = NULL;
	check(ers_imap_connect(&np, &im, &err) == 0, "connect for a wrong password");
	rc = im ? ers_imap_login(im, p->username, "wrong\"pass\\word-\xc3\xa9", &err) : -1;
	check(rc < 0 && err.code == ERS_E_PERMISSION && strstr(err.message, "refused") && strstr(err.message, p->username),
	      "... a wrong password is refused at the login, naming the user (%s)", err.message);
	check(!strstr(err.message, "pass\\word"), "... and the error does not show it");
	ers_imap_close(im);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct ers_error err;
	struct ers_imap *im = NULL;
	struct ers_imap_params p = {
		.host = "127.0.0.1", .port = atoi(env("IMAP_PORT")), .tls = ERS_IMAP_STARTTLS, .ca_file = env("TLS_CA"),
		.username = env("MASTER_LOGIN"), .password = env("MASTER_PASSWORD"),
	};
	if (argc > 1 && !strcmp(argv[1], "large"))
		return large(&p);
	if (argc > 1 && !strcmp(argv[1], "login"))
		return split_login(&p);
	double t0 = now_ms();
	if (ers_imap_open(&p, &im, &err) < 0) {
		check(0, "the master user logs in over STARTTLS: %s", err.message);
		return 1;
	}
	check(1, "the master user logs in over STARTTLS");

	struct ers_imap_result f;
	check(ers_imap_folders(im, &f, &err) == 0, "list folders");
	const struct ers_imap_folder *inbox = ers_imap_folder_find(&f, ERS_IMAP_FOLDER_INBOX);
	const struct ers_imap_folder *trash = ers_imap_folder_find(&f, ERS_IMAP_FOLDER_TRASH);
	const struct ers_imap_folder *sent = ers_imap_folder_find(&f, ERS_IMAP_FOLDER_SENT);
	check(f.nfolders > 0 && !strcmp(f.folders[0].name, "INBOX"), "INBOX comes first");
	check(inbox && inbox->messages == 3 && inbox->unseen == 3, "INBOX: 3 messages, 3 unseen (%ld, %ld)",
	      inbox ? inbox->messages : -1, inbox ? inbox->unseen : -1);
	check(trash && sent, "Trash and Sent found by special use");
	char *trash_name = strdup(trash ? trash->name : "Trash"), *sent_name = strdup(sent ? sent->name : "Sent");
	ers_imap_result_free(&f);

	struct ers_imap_result page;
	check(ers_imap_page(im, "INBOX", 0, 2, &page, &err) == 0, "page 0 of 2 per page");
	check(page.exists == 3 && page.nmsgs == 2, "... of 3 messages, 2 on it");
	uint32_t newest = 0, with_att = 0;
	if (page.nmsgs == 2) {
		newest = page.msgs[0].uid;
		check(page.msgs[0].seq == 3 && page.msgs[1].seq == 2, "... newest first");
		check(page.msgs[0].envelope.subject && !strcmp(page.msgs[0].envelope.subject, "third: html"), "subject of the newest");
		check(page.msgs[1].has_attachments, "the second has an attachment");
		with_att = page.msgs[1].uid;
		check(page.msgs[0].envelope.from.n == 1 && !strcmp(page.msgs[0].envelope.from.items[0].host, "outside.example"),
		      "From's domain");
		check(!(page.msgs[0].flags & ERS_IMAP_SEEN) && page.msgs[0].size > 0 && page.msgs[0].internaldate > 0,
		      "unseen, with size and date");
	}
	ers_imap_result_free(&page);
	check(ers_imap_page(im, "INBOX", 1, 2, &page, &err) == 0 && page.nmsgs == 1 && page.msgs[0].seq == 1,
	      "page 1 holds the oldest");
	check(page.nmsgs == 1 && page.msgs[0].envelope.subject &&
	      !strcmp(page.msgs[0].envelope.subject, "first: Gr\xc3\xbc\xc3\x9f" "e"), "an RFC 2047 subject decoded: %s",
	      page.nmsgs ? page.msgs[0].envelope.subject : "");
	ers_imap_result_free(&page);
	check(ers_imap_page(im, "INBOX", 5, 2, &page, &err) == 0 && page.nmsgs == 0 && page.exists == 3, "a page past the end is empty");
	ers_imap_result_free(&page);
	check(ers_imap_page(im, "No Such Folder", 0, 2, &page, &err) < 0 && strstr(err.message, "SELECT"),
	      "a missing folder: the error names the command (%s)", err.message);
	ers_imap_result_free(&page);

	struct ers_buf src = ERS_BUF_INIT;
	check(ers_imap_fetch_source(im, "INBOX", newest, true, &src, &err) == 0, "fetch the newest message's source");
	struct ers_message *msg = NULL;
	const char *const ours[] = { env("USER_DOMAIN") };
	struct ers_message_opts mo = { .internal_domains = ours, .ninternal = 1 };
	check(ers_message_parse(src.data, src.len, &mo, &msg, &err) == 0, "... it parses");
	check(msg && msg->body_is_html && strstr(msg->body_html, "<b>bold</b>") && !strstr(msg->body_html, "script"),
	      "... the HTML body, sanitised");
	check(msg && msg->external_sender, "... from outside the tenant");
	ers_message_free(msg);
	ers_imap_result_free(&page);
	check(ers_imap_page(im, "INBOX", 0, 1, &page, &err) == 0 && page.nmsgs == 1 && (page.msgs[0].flags & ERS_IMAP_SEEN),
	      "reading marked it seen");
	ers_imap_result_free(&page);
	check(ers_imap_set_seen(im, "INBOX", newest, false, &err) == 0, "mark it unread");
	check(ers_imap_page(im, "INBOX", 0, 1, &page, &err) == 0 && page.nmsgs == 1 && !(page.msgs[0].flags & ERS_IMAP_SEEN),
	      "... it is unseen again");
	ers_imap_result_free(&page);

	ers_buf_reset(&src);
	check(ers_imap_fetch_source(im, "INBOX", with_att, false, &src, &err) == 0, "fetch the message with an attachment");
	struct ers_buf data = ERS_BUF_INIT;
	char *name = NULL;
	check(ers_message_attachment(src.data, src.len, 0, &data, &name, NULL, &err) == 0 && name &&
	      !strcmp(name, "notes.txt") && strstr(data.data, "attached text"), "... its attachment's name and bytes");
	free(name);
	ers_buf_free(&data);

	check(ers_imap_move(im, "INBOX", newest, trash_name, &err) == 0, "move the newest to Trash");
	check(count_of(im, "INBOX") == 2 && count_of(im, trash_name) == 1, "... INBOX has 2, Trash 1");
	check(ers_imap_page(im, trash_name, 0, 10, &page, &err) == 0 && page.nmsgs == 1, "Trash's page");
	uint32_t in_trash = page.nmsgs ? page.msgs[0].uid : 0;
	ers_imap_result_free(&page);
	check(ers_imap_delete(im, trash_name, in_trash, &err) == 0, "delete it for good");
	check(count_of(im, trash_name) == 0, "... Trash is empty");
	ers_buf_reset(&src);
	check(ers_imap_fetch_source(im, trash_name, in_trash, false, &src, &err) < 0 && err.code == ERS_E_NOTFOUND,
	      "fetching a deleted message: not found");

	/* Send as the user over submission, then keep the copy in Sent. */
	struct ers_smtp_params sp = { .host = "127.0.0.1", .port = atoi(env("SUBMISSION_PORT")), .tls = ERS_SMTP_STARTTLS,
				      .ca_file = env("TLS_CA"), .username = env("USER_ADDR"), .password = env("USER_PASSWORD") };
	struct ers_compose c = { .from = env("USER_ADDR"), .to = env("PEER_ADDR"), .subject = "sent by the mail layer",
				 .body = "hello from ers_mail_send\n" };
	struct ers_built_mail *built = NULL;
	/* The one send function records its scan (ers/scan.h): it needs the database. */
	struct ers_config *cfg = NULL;
	struct ers_ctx *ctx = NULL;
	check(ers_config_load(NULL, &cfg, &err) == 0 && ers_ctx_open(cfg, 0, &ctx, &err) == 0, "open the database: %s",
	      ctx ? "" : err.message);
	int rc = ers_mail_send(ctx, &sp, &c, &built, &err);
	check(rc == 0, "ers_mail_send over submission with STARTTLS%s%s", rc ? ": " : "", rc ? err.message : "");
	check(built && ers_imap_append(im, sent_name, built->data, built->len, &err) == 0, "append it to Sent");
	check(count_of(im, sent_name) == 1, "... Sent has it");
	ers_imap_result_free(&page);
	check(ers_imap_page(im, sent_name, 0, 5, &page, &err) == 0 && page.nmsgs == 1 && (page.msgs[0].flags & ERS_IMAP_SEEN),
	      "... marked seen");
	ers_imap_result_free(&page);
	ers_built_mail_free(built);

	char other[200];
	snprintf(other, sizeof other, "someone-else@%s", env("USER_DOMAIN"));
	c.from = other;
	built = NULL;
	check(ers_mail_send(ctx, &sp, &c, &built, &err) < 0 && strstr(err.message, "the server answered: 553"),
	      "sending as another address: the server's refusal is the error (%s)", err.message);
	ers_built_mail_free(built);

	sp.password = "bad-smtp-password";
	built = NULL;
	check(ers_mail_send(ctx, &sp, &c, &built, &err) < 0 && err.code == ERS_E_PERMISSION && !strstr(err.message, "bad-smtp-password"),
	      "a wrong SMTP password is refused, not shown (%s)", err.message);
	ers_built_mail_free(built);
	ers_ctx_free(ctx);
	ers_config_free(cfg);
	ers_buf_free(&src);
	free(trash_name);
	free(sent_name);
	ers_imap_close(im);
	printf("# the session took %.0f ms\n", now_ms() - t0);

	/* Wrong passwords last: Dovecot slows the next login from this
	 * address after a failure (by 4 s here). */
	p.password = "wrong-password-xyz";
	check(ers_imap_open(&p, &im, &err) < 0 && err.code == ERS_E_PERMISSION, "a wrong password is refused (%s)", err.message);
	check(!strstr(err.message, "wrong-password-xyz"), "... and the error does not show it");
	return failures ? 1 : 0;
}
