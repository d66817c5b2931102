/* Drives the webmail's mail layer against the private stack's Dovecot and
 * Postfix (run by imap.sh, which delivers the messages first): folders,
 * a page newest first, reading a message (marked seen), unread again, move
 * to Trash, delete for good, send over submission and append to Sent.
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

int main(void)
{
	struct ers_error err;
	struct ers_imap *im = NULL;
	struct ers_imap_params p = {
		.host = "127.0.0.1", .port = atoi(env("IMAP_PORT")), .tls = ERS_IMAP_STARTTLS, .ca_file = env("TLS_CA"),
		.username = env("MASTER_LOGIN"), .password = env("MASTER_PASSWORD"),
	};
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
	int rc = ers_mail_send(&sp, &c, &built, &err);
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
	check(ers_mail_send(&sp, &c, &built, &err) < 0 && strstr(err.message, "the server answered: 553"),
	      "sending as another address: the server's refusal is the error (%s)", err.message);
	ers_built_mail_free(built);

	sp.password = "bad-smtp-password";
	built = NULL;
	check(ers_mail_send(&sp, &c, &built, &err) < 0 && err.code == ERS_E_PERMISSION && !strstr(err.message, "bad-smtp-password"),
	      "a wrong SMTP password is refused, not shown (%s)", err.message);
	ers_built_mail_free(built);
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
