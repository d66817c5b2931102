/* A message as the webmail shows it, read with GMime: the headers for
 * display (decoded), the best body as safe HTML (text/plain escaped and
 * linked, text/html through the sanitiser; multipart/alternative prefers
 * HTML), the attachments (names made safe) and whether the sender is
 * outside the tenant's domains (manual 000: the warning above a message).
 * Deep or huge MIME is bounded: ERS_MESSAGE_MAX_DEPTH levels and
 * ERS_MESSAGE_MAX_PARTS parts are read, the rest is left out and
 * `truncated` says so. */
#ifndef ERS_MESSAGE_H
#define ERS_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "error.h"

#define ERS_MESSAGE_MAX_DEPTH 20
#define ERS_MESSAGE_MAX_PARTS 200
#define ERS_MESSAGE_MAX_BOUNDARIES 256 /* more multipart boundaries: refused before parsing */
#define ERS_ATTACHMENT_NAME_MAX 120    /* bytes of a safe file name */

struct ers_attachment {
	char *filename;     /* safe: no path separators or control characters, capped; never empty */
	char *content_type; /* "application/pdf", lower case */
	char *content_id;   /* without <>, or NULL */
	size_t size;        /* decoded bytes */
	bool is_inline;     /* an image the HTML body shows through cid: */
};

struct ers_message {
	char *from, *to, *cc, *reply_to; /* decoded for display; "" when absent */
	char *subject;                   /* decoded; "" when absent */
	char *from_address;              /* first From mailbox's address, or "" */
	char *message_id;                /* without <>, or "" */
	long long date;                  /* seconds since 1970; 0 when absent or unreadable */
	char *body_html;                 /* safe HTML of the best body ("" when none) */
	bool body_is_html;               /* it came from a text/html part */
	size_t blocked_images;           /* remote images the sanitiser blocked */
	struct ers_attachment *attachments;
	size_t nattachments;
	bool external_sender;            /* From's domain is not one of the tenant's */
	bool truncated;                  /* parts beyond the caps were left out */
};

struct ers_message_opts {
	/* The tenant's domains (lower case); From outside them is external. */
	const char *const *internal_domains;
	size_t ninternal;
	bool allow_remote_images;
	/* Maps attachment number `index` (an inline image) to a local URL
	 * (malloc'd); NULL: not shown.  See ers_sanitize_opts.cid_url. */
	char *(*attachment_url)(size_t index, void *data);
	void *data;
};

/* Parses a message's source (`len` bytes, as fetched by IMAP). */
int ers_message_parse(const char *src, size_t len, const struct ers_message_opts *opts,
		      struct ers_message **msg_r, struct ers_error *err);
void ers_message_free(struct ers_message *m);

/* The decoded bytes of attachment `index` (as numbered by
 * ers_message_parse) into `data_r`; its safe name and content type to
 * name_r and type_r (malloc'd; either may be NULL). */
int ers_message_attachment(const char *src, size_t len, size_t index, struct ers_buf *data_r,
			   char **name_r, char **type_r, struct ers_error *err);

/* A file name from a message made safe to offer for download: RFC 2047/2231
 * decoding already done by the caller; '/', '\\', control characters and
 * leading dots replaced, at most ERS_ATTACHMENT_NAME_MAX bytes on a UTF-8
 * boundary, "attachment" when nothing is left.  Appends to `out`. */
void ers_attachment_name_safe(const char *name, struct ers_buf *out);

/* Whether `address`'s domain is one of `domains` (case-insensitive). */
bool ers_address_in_domains(const char *address, const char *const *domains, size_t n);

#endif
