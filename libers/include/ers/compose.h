/* Writing mail from the webmail: a message built with GMime from what the
 * compose form holds (addresses checked, no header injection, Bcc only in
 * the envelope, Date and a Message-ID on the sender's domain), and its
 * submission over SMTP with libcurl. */
#ifndef ERS_COMPOSE_H
#define ERS_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include "ctx.h"
#include "error.h"

#define ERS_COMPOSE_MAX_RCPT 100

struct ers_compose_attachment {
	const char *filename;     /* UTF-8; RFC 2231-encoded as needed */
	const char *content_type; /* "type/subtype"; NULL: application/octet-stream */
	const void *data;
	size_t len;
};

struct ers_built_mail;

struct ers_compose {
	const char *from;       /* the sender's address, required */
	const char *from_name;  /* display name, or NULL */
	const char *to, *cc, *bcc; /* address lists as typed ("a@x.example, B <b@y.example>"); NULL or "": none */
	const char *subject;
	const char *body;       /* plain text, UTF-8 */
	/* An HTML alternative of `body` (UTF-8), or NULL: with it the text is
	 * multipart/alternative, the plain text first.  Only for HTML that
	 * libers writes itself (the welcome email), never a user's. */
	const char *body_html;
	const char *in_reply_to; /* a Message-ID without <>, or NULL */
	const struct ers_compose_attachment *attachments;
	size_t nattachments;
	/* Applied by ers_mail_send to the built message before it is submitted
	 * (S/MIME signing and encryption: ers_smime_send_hook in ers/smime.h,
	 * with its struct ers_smime_hook as `transform_arg`); it may replace
	 * m->data and m->len.  NULL: none. */
	int (*transform)(void *arg, struct ers_built_mail *m, struct ers_error *err);
	void *transform_arg;
};

struct ers_built_mail {
	char *data;             /* the message, CRLF line ends, as sent (and for APPEND to Sent) */
	size_t len;
	char *envelope_from;
	char **rcpt;            /* To, Cc and Bcc addresses */
	size_t nrcpt;
	char *message_id;       /* without <> */
};

/* Builds the message.  A bad address is ERS_E_INVALID naming the field and
 * the address and saying what is allowed; a line break in any header
 * field is refused; at least one recipient, at most ERS_COMPOSE_MAX_RCPT. */
int ers_mail_build(const struct ers_compose *c, struct ers_built_mail **mail_r, struct ers_error *err);
void ers_built_mail_free(struct ers_built_mail *m);

enum ers_smtp_tls {
	ERS_SMTP_STARTTLS = 0, /* port 587: STARTTLS required */
	ERS_SMTP_TLS,          /* port 465: implicit TLS */
	ERS_SMTP_PLAIN,        /* no TLS: only for loopback tests */
};

struct ers_smtp_params {
	const char *host;
	int port;               /* 0: 587, or 465 with ERS_SMTP_TLS */
	enum ers_smtp_tls tls;
	const char *ca_file;    /* NULL: the system's CAs */
	const char *username;   /* SMTP AUTH; NULL: none */
	const char *password;
	long timeout_s;         /* 0: 60 */
};

/* Builds the message from `c`, scans it (ers_scan_outbound: blocked when
 * infected, or when the scanner cannot check it and scan.fail_closed) and
 * submits it; the built message goes to `mail_r` (also on a failed
 * submission, NULL when it could not be built) so that the caller can
 * APPEND it to Sent.  Errors name the SMTP step and the server's answer,
 * never the password. */
int ers_mail_send(struct ers_ctx *ctx, const struct ers_smtp_params *smtp, const struct ers_compose *c,
		  struct ers_built_mail **mail_r, struct ers_error *err);

/* Submits a message already built (`ers_mail_send` without the build). */
int ers_mail_submit(const struct ers_smtp_params *smtp, const struct ers_built_mail *m, struct ers_error *err);

#endif
