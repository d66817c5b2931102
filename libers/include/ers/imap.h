/* The webmail's IMAP client on libcurl: one connection (one curl handle)
 * per request, used for every command of it; folders with special use and
 * counts, a page of message summaries newest first without reading the
 * whole folder, one message's source, flags, move to Trash, delete, append
 * to Sent.  And the parser of the server's answers that it rests on,
 * public so that tests and the fuzzer reach it.
 *
 * Folder names are the server's own (modified UTF-7): pass back what
 * ers_imap_folders() gave in `name`; `display` is for people.  Errors name
 * the IMAP command and the server's answer, never a password. */
#ifndef ERS_IMAP_H
#define ERS_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "error.h"

/* --- the parsed answers ------------------------------------------------- */

enum ers_imap_flag {
	ERS_IMAP_SEEN = 1 << 0,
	ERS_IMAP_ANSWERED = 1 << 1,
	ERS_IMAP_FLAGGED = 1 << 2,
	ERS_IMAP_DELETED = 1 << 3,
	ERS_IMAP_DRAFT = 1 << 4,
	ERS_IMAP_RECENT = 1 << 5,
};

/* RFC 6154 special use, and INBOX. */
enum ers_imap_special {
	ERS_IMAP_FOLDER_NORMAL = 0,
	ERS_IMAP_FOLDER_INBOX,
	ERS_IMAP_FOLDER_SENT,
	ERS_IMAP_FOLDER_TRASH,
	ERS_IMAP_FOLDER_DRAFTS,
	ERS_IMAP_FOLDER_JUNK,
	ERS_IMAP_FOLDER_ARCHIVE,
	ERS_IMAP_FOLDER_ALL,
	ERS_IMAP_FOLDER_FLAGGED,
};

/* Where the shared mailboxes a user was given access to appear (the
 * namespace `ersctl mailstack render` writes): Shared/ADDRESS is the
 * shared mailbox's INBOX, Shared/ADDRESS/FOLDER its other folders. */
#define ERS_IMAP_SHARED_PREFIX "Shared/"

struct ers_imap_folder {
	char *name;       /* the server's name, for commands */
	char *display;    /* decoded from modified UTF-7 */
	char delimiter;   /* '\0' for a flat namespace */
	bool noselect;    /* \Noselect or \NonExistent: holds no messages */
	bool has_children;
	bool shared;      /* ERS_IMAP_SHARED_PREFIX and below: a shared mailbox's (never special) */
	enum ers_imap_special special;
	long messages, unseen; /* -1: not known */
};

struct ers_imap_address {
	char *name;    /* display name, RFC 2047 decoded by the client; may be NULL */
	char *mailbox; /* local part */
	char *host;    /* domain */
};
struct ers_imap_addresses {
	struct ers_imap_address *items;
	size_t n;
};
struct ers_imap_envelope {
	char *date, *subject, *in_reply_to, *message_id; /* NULL for NIL */
	struct ers_imap_addresses from, sender, reply_to, to, cc, bcc;
};

struct ers_imap_message {
	uint32_t seq, uid;
	unsigned flags;          /* enum ers_imap_flag */
	long long size;          /* RFC822.SIZE, -1: not sent */
	long long internaldate;  /* seconds since 1970, 0: not sent */
	bool has_envelope, has_attachments;
	struct ers_imap_envelope envelope;
	char *body;              /* BODY[] / BODY.PEEK[] data, NULL: not sent */
	size_t body_len;
};

/* Everything one command's answer said. */
struct ers_imap_result {
	uint32_t exists, recent, uidvalidity, uidnext; /* 0: not sent */
	bool have_exists;
	struct ers_imap_folder *folders;  /* LIST / LSUB, with STATUS merged in */
	size_t nfolders, folders_cap;
	uint32_t *ids;                    /* SEARCH, or ESEARCH ALL expanded */
	size_t nids, ids_cap;
	uint32_t esearch_min, esearch_max, esearch_count;
	bool have_esearch;
	struct ers_imap_message *msgs;    /* FETCH, in the order sent */
	size_t nmsgs, msgs_cap;
	char *capabilities;               /* the last CAPABILITY list seen, upper case, space-separated */
	char status[4];                   /* the first tagged NO or BAD, else the last OK; "" if none */
	char status_line[300];            /* that tagged line, control characters removed */
	char bye[300];                    /* the text of an untagged BYE, or "" */
};

/* Parses `len` bytes of server responses -- untagged lines, literals
 * ({n} followed by n bytes) included, and the tagged answer -- adding what
 * they say to `r` (start from a zeroed struct).  Malformed input is an
 * ERS_E_INTERNAL error naming the byte offset; `r` then holds what came
 * before it.  Lists nest at most 64 deep: a deeper one (a BODYSTRUCTURE
 * of MIME nested 50 deep) reads as an empty list, the rest of the answer
 * as usual.  ESEARCH sets expand to at most 1,000,000 numbers. */
int ers_imap_parse(const char *data, size_t len, struct ers_imap_result *r, struct ers_error *err);
void ers_imap_result_free(struct ers_imap_result *r);
void ers_imap_message_free(struct ers_imap_message *m);
void ers_imap_folder_free(struct ers_imap_folder *f);

/* Modified UTF-7 (RFC 3501 5.1.3) to UTF-8, appended to `out`; false
 * (out then holds the name as it was) when it is not valid. */
bool ers_imap_utf7_decode(const char *name, struct ers_buf *out);

/* Appends `s` as an IMAP quoted string; false (nothing added) when it holds
 * CR, LF or NUL, which no quoted string may. */
bool ers_imap_quote(struct ers_buf *out, const char *s);

/* --- the client ---------------------------------------------------------- */

/* What one answer may hold: a string (a message's source, a subject) of
 * at most ERS_IMAP_MAX_LITERAL bytes, an answer of at most
 * ERS_IMAP_MAX_ANSWER; beyond, the command fails with ERS_E_INVALID
 * saying so (and the connection is made anew for the next command).
 * Envelope fields listed by ers_imap_page are cut to ERS_IMAP_MAX_FIELD
 * bytes (whole UTF-8 characters, then "\u2026"). */
#define ERS_IMAP_MAX_LITERAL (50u << 20)
#define ERS_IMAP_MAX_ANSWER (64u << 20)
#define ERS_IMAP_MAX_FIELD 1000u

enum ers_imap_tls {
	ERS_IMAP_STARTTLS = 0, /* port 143: STARTTLS required */
	ERS_IMAP_TLS,          /* port 993: implicit TLS */
	ERS_IMAP_PLAIN,        /* no TLS at all: only for loopback tests */
};

struct ers_imap_params {
	const char *host;
	int port;                 /* 0: 143, or 993 with ERS_IMAP_TLS */
	enum ers_imap_tls tls;
	const char *ca_file;      /* NULL: the system's CAs */
	const char *username;     /* a local mailbox: "USER*MASTERUSER" */
	const char *password;     /* copied, wiped on close */
	long timeout_s;           /* per command; 0: 30 */
};

struct ers_imap;
struct ers_config;

/* This mail node's Dovecot as ERS's own programs reach it (the webmail,
 * the archives): mailstack.listen, or 127.0.0.1 when Dovecot listens on
 * every address ("*"), else mailstack.hostname; STARTTLS when the node has
 * a certificate (verified against dns.ca_file) -- except to a loopback
 * address, which no network carries: there TLS would only cost time (a
 * TLS record per read), and Dovecot counts a connection from its own
 * address as secured.  Sets host, port, tls, ca_file; the caller sets the
 * login and the timeout. */
void ers_imap_node_params(const struct ers_config *cfg, struct ers_imap_params *p);

/* Opens this node's Dovecot as the mailbox `address` itself, through the
 * master user (mailstack.master_user, WEBMAIL_MASTER_PASSWORD): what ERS's
 * own operations on a mailbox (archives, shared mailboxes' ACLs) use. */
int ers_imap_open_owner(const struct ers_config *cfg, const char *address, long timeout_s, struct ers_imap **im_r,
			struct ers_error *err);
/* Connects and logs in (ers_imap_connect, then ers_imap_login), so that a
 * wrong password shows here. */
int ers_imap_open(const struct ers_imap_params *p, struct ers_imap **im_r, struct ers_error *err);
/* Connects without logging in: TCP, the greeting, STARTTLS or implicit
 * TLS with the certificate checked (p->username and p->password are not
 * used).  libcurl makes the connection; the commands then go over it as
 * written, with no limit on an answer's size but the ones above (libcurl's
 * own IMAP commands refuse answers over 300 KB).  Safe to run in another
 * thread than the one that logs in, once curl_global_init has run. */
int ers_imap_connect(const struct ers_imap_params *p, struct ers_imap **im_r, struct ers_error *err);
/* Forgets which folder is selected, so that the next command SELECTs it
 * again (fresh counts): for a connection kept between requests. */
void ers_imap_unselect(struct ers_imap *im);
/* Readies libcurl (curl_global_init): call it in the main thread before
 * another thread runs ers_imap_connect; more calls do nothing. */
void ers_imap_global_init(void);
/* Logs in over a connection from ers_imap_connect: AUTHENTICATE PLAIN with
 * an initial response where the server offers it (any password), else
 * LOGIN.  A refusal is ERS_E_PERMISSION naming the user and the server's
 * answer, never the password.  The credentials are kept (the password
 * wiped on close) to log in again when a later command finds the
 * connection dropped.  On error the handle is still the caller's to close. */
int ers_imap_login(struct ers_imap *im, const char *username, const char *password, struct ers_error *err);
/* Logs out and frees; NULL is fine. */
void ers_imap_close(struct ers_imap *im);

/* Runs one command (no literal) and parses the answer into `r` (zeroed
 * first; free with ers_imap_result_free even on error).  A NO or BAD
 * answer is an error naming the command and the server's line; the parsed
 * result then still says what the server sent. */
int ers_imap_command(struct ers_imap *im, const char *command, struct ers_imap_result *r,
		     struct ers_error *err);
/* Pipelining: ers_imap_send sends a command (no literal; its tag written
 * to `tag`) without waiting for its answer; ers_imap_receive reads and
 * parses the answer to that tag, as ers_imap_command would.  Answers are
 * received in the order their commands were sent; `command` names it in
 * errors. */
int ers_imap_send(struct ers_imap *im, const char *command, char tag[24], struct ers_error *err);
int ers_imap_receive(struct ers_imap *im, const char *tag, const char *command, struct ers_imap_result *r,
		     struct ers_error *err);

/* Every folder with its special use and counts (LIST-STATUS where the
 * server has it, else STATUS per folder), INBOX first, then by name. */
int ers_imap_folders(struct ers_imap *im, struct ers_imap_result *r_folders, struct ers_error *err);
/* The folder of special use `special` in a list from ers_imap_folders()
 * (which gives a role no folder is flagged with to the first folder with a
 * conventional name: Sent, Sent Messages, Drafts, Trash, Deleted Messages,
 * Junk, Spam), or NULL. */
const struct ers_imap_folder *ers_imap_folder_find(const struct ers_imap_result *r,
						   enum ers_imap_special special);
/* The name (malloc'd) of the folder of special use `special` in `folders`;
 * when there is none, folder `name`, made with CREATE unless it exists. */
int ers_imap_special_folder(struct ers_imap *im, const struct ers_imap_result *folders, enum ers_imap_special special,
			    const char *name, char **name_r, struct ers_error *err);

/* Page `page` (0: newest) of `per_page` summaries of `folder`, newest
 * first: flags, size, internal date, envelope (RFC 2047 decoded, each
 * field cut to ERS_IMAP_MAX_FIELD bytes), whether it has attachments.
 * `r->exists` holds the folder's count, `r->uidvalidity` its UIDVALIDITY.
 * Reads only that page (sequence numbers counted back from EXISTS),
 * whatever the size of the folder, in one FETCH whatever the size of its
 * messages' envelopes and structures (a 1 MB subject, 500 parts). */
int ers_imap_page(struct ers_imap *im, const char *folder, size_t page, size_t per_page,
		  struct ers_imap_result *r, struct ers_error *err);

/* Message `uid`'s full source (BODY.PEEK[]) appended to `out`, byte for
 * byte, in one command whatever its size up to ERS_IMAP_MAX_LITERAL (a
 * larger one: ERS_E_INVALID naming its size and the limit); with
 * `mark_seen`, fetched as BODY[], which sets \Seen in the same command.
 * ERS_E_NOTFOUND when it is not there. */
int ers_imap_fetch_source(struct ers_imap *im, const char *folder, uint32_t uid, bool mark_seen,
			  struct ers_buf *out, struct ers_error *err);
/* Sets or clears \Seen. */
int ers_imap_set_seen(struct ers_imap *im, const char *folder, uint32_t uid, bool seen,
		      struct ers_error *err);
/* Moves a message to `trash` (UID MOVE; without MOVE: UID COPY, \Deleted,
 * UID EXPUNGE of just that UID, or EXPUNGE without UIDPLUS). */
int ers_imap_move(struct ers_imap *im, const char *folder, uint32_t uid, const char *to,
		  struct ers_error *err);
/* The messages of `folder` received before the day `before` (dd-Mon-yyyy;
 * NULL: all): counted into `n_r`, and unless `count_only` deleted for good
 * (\Deleted and UID EXPUNGE of just those). */
int ers_imap_clear_folder(struct ers_imap *im, const char *folder, const char *before, bool count_only, long long *n_r,
			  struct ers_error *err);
/* Deletes a message for good (\Deleted and UID EXPUNGE): for Trash. */
int ers_imap_delete(struct ers_imap *im, const char *folder, uint32_t uid, struct ers_error *err);
/* Appends a message (e.g. to Sent) with \Seen set (one round trip where
 * the server has LITERAL+). */
int ers_imap_append(struct ers_imap *im, const char *folder, const char *data, size_t len,
		    struct ers_error *err);

#endif
