/* archive's interfaces inside the area: OpenPGP through gpgme in a
 * throwaway GNUPGHOME (gpg.c) and the streaming writer that turns IMAP
 * messages into an mboxrd or zip stream (stream.c). */
#ifndef ERS_ARCHIVE_INTERNAL_H
#define ERS_ARCHIVE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include "core/internal.h"
#include "mail/internal.h"
#include "ers/archive.h"

/* --- gpg.c ----------------------------------------------------------------- */

/* A GnuPG home of its own (mode 0700 under $TMPDIR or /tmp), removed with
 * its agent on close: no key ever stays on disk in clear beyond the call. */
struct ers_gpg;
int ers_gpg_open(struct ers_gpg **g_r, struct ers_error *err);
void ers_gpg_close(struct ers_gpg *g);
/* A new key (Ed25519 signing, Cv25519 encryption subkey, no passphrase,
 * no expiry) for `uid`: its fingerprint, public and secret halves armored
 * (wipe `secret` with ers_buf_free_secret). */
int ers_gpg_generate(struct ers_gpg *g, const char *uid, struct ers_buf *fpr, struct ers_buf *pub,
		     struct ers_buf *secret, struct ers_error *err);
int ers_gpg_import(struct ers_gpg *g, const char *armored, struct ers_error *err);

/* Streams: the plaintext pulled from `read` (0: the end, -1: failed, with
 * the reason left where the callback's owner keeps it), the output
 * pushed to `write` (its return: bytes taken, -1 failed, errno set). */
typedef ssize_t ers_gpg_read_fn(void *arg, void *buf, size_t n);
typedef ssize_t ers_gpg_write_fn(void *arg, const void *buf, size_t n);
/* Encrypts to the armored `public_key`, binary, no compression: gpg
 * alone, with --recipient-file in a GnuPG home of the call's own (no
 * gpgme, no keyring, no agent: a small archive is not paid for by
 * their start-up). */
int ers_gpg_encrypt_to(const char *public_key, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr,
		       void *wr_arg, struct ers_error *err);
/* Decrypts what `rd` gives with the secret key imported before. */
int ers_gpg_decrypt(struct ers_gpg *g, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr, void *wr_arg,
		    struct ers_error *err);
/* Encrypts `plain` with `passphrase` alone (AES-256, armored). */
int ers_gpg_encrypt_symmetric(struct ers_gpg *g, const char *passphrase, const void *plain, size_t len,
			      ers_gpg_write_fn *wr, void *wr_arg, struct ers_error *err);

/* --- stream.c ---------------------------------------------------------------- */

struct ers_archive_folder {
	char *name;          /* the server's name */
	char *zip_dir;       /* safe path inside a zip: the display name's parts */
	uint32_t uidvalidity;
	uint32_t *uids;      /* 0: vanished while archiving (not in the archive) */
	size_t nuids;
};

/* Reads the messages of `folders` over the connections `ims` (at most two,
 * the first also for the plan; each fetching every other batch), in
 * order, and gives them as one stream in `format` ("mbox": mboxrd; "zip": one .eml per message,
 * stored, under the folder's zip_dir; "mbox-folders": a zip of one mboxrd
 * zip_dir.mbox per folder). */
struct ers_archive_stream;
struct ers_archive_stream *ers_archive_stream_new(struct ers_imap *const *ims, size_t nims,
						  struct ers_archive_folder *folders, size_t nfolders, const char *format,
						  ers_archive_progress_fn *progress, void *progress_arg);
ssize_t ers_archive_stream_read(void *stream, void *buf, size_t n);
/* What went wrong, when read returned -1; the counts so far. */
const struct ers_error *ers_archive_stream_error(const struct ers_archive_stream *s);
void ers_archive_stream_counts(const struct ers_archive_stream *s, long long *messages_r, long long *bytes_r);
void ers_archive_stream_free(struct ers_archive_stream *s);

/* A name safe as one path part: control characters, '/', '\\' and ':'
 * become '_', "." and ".." and "" become "_", at most 200 bytes. */
void ers_archive_safe_part(const char *in, size_t len, struct ers_buf *out);

/* --- record.c: the rows of ers.archive ------------------------------------- */

/* Archive `id` after the policy allowed `action` on it; one that does not
 * exist is refused like one out of reach to who may not see every one. */
int ers_archive_load_for(struct ers_ctx *ctx, const struct ers_actor *actor, enum ers_action action, long long id,
			 struct ers_archive **a_r, struct ers_authz_target *target_r, struct ers_error *err);
/* Archive `id`, no policy asked (the library's own follow-ups). */
int ers_archive_load_plain(struct ers_ctx *ctx, long long id, struct ers_archive **a_r, struct ers_error *err);

/* --- input.c: what users type ------------------------------------------------ */

int ers_archive_check_format(const char *format, struct ers_error *err);
int ers_archive_check_days(int days, struct ers_error *err);
/* A folder name as the user typed it: the server's name for it, no
 * control characters, no ".." part, not absolute. */
int ers_archive_check_folder(const char *f, struct ers_error *err);

/* --- policy.c ------------------------------------------------------------------ */

/* The policy of tenant `tenant_id` (the defaults where it set none). */
int ers_archive_policy_load(struct ers_ctx *ctx, long long tenant_id, struct ers_archive_policy *p,
			    struct ers_error *err);

/* --- preference.c --------------------------------------------------------------- */

/* The preferences of mailbox `mailbox_id`, the tenant's policy filled in
 * where the user chose none. */
int ers_archive_preference_load(struct ers_ctx *ctx, long long mailbox_id, long long tenant_id,
				struct ers_archive_preference *p, struct ers_error *err);

/* --- keys.c -------------------------------------------------------------------- */

struct ers_archive_key {
	long long id;
	char *fpr;
	char *public_key;
	char *secret_sealed;
};
void ers_archive_key_clear(struct ers_archive_key *k);
/* 1 found, 0 none yet, -1 failed. */
int ers_archive_key_find(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, struct ers_archive_key *k,
			 struct ers_error *err);
/* The archive key of a mailbox (mailbox_id > 0) or of a tenant, made on
 * first use: generated in a throwaway home, the secret half sealed. */
int ers_archive_key_get(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id, const char *label,
			struct ers_archive_key *k, struct ers_error *err);
/* A home holding the secret half of key `k` (tenant/mailbox as stored). */
int ers_archive_key_open_secret(struct ers_ctx *ctx, long long tenant_id, long long mailbox_id,
				const struct ers_archive_key *k, struct ers_gpg **g_r, struct ers_buf *secret,
				struct ers_error *err);
/* The key that encrypted archive `a` and the mailbox it belongs to (0: the tenant's). */
int ers_archive_key_of(struct ers_ctx *ctx, const struct ers_archive *a, long long *mailbox_r, struct ers_archive_key *k,
		       struct ers_error *err);

/* --- files.c ------------------------------------------------------------------- */

/* An output file, hashed on the way when `md` is set. */
struct ers_archive_out {
	int fd;
	EVP_MD_CTX *md;
	long long bytes;
	int error;          /* errno of the first failed write */
};
ssize_t ers_archive_out_write(void *arg, const void *buf, size_t n); /* arg: struct ers_archive_out */
/* files.c: the file written at `tmp` (a name beside `path`) put on the disk,
 * closed and moved into place as `path`; `what` names it in an error ("the
 * key").  `tmp` is emptied once moved, so that a caller's cleanup, which
 * unlinks a non-empty `tmp`, leaves the file alone. */
int ers_archive_out_finish(struct ers_archive_out *o, struct ers_buf *tmp, const char *path, const char *what,
			   struct ers_error *err);
/* sink.c: the archive file, written (O_DIRECT where it can), read back
 * from the disk and compared, hashed, in a thread of its own.  open makes
 * the file from the mkostemp template `tmp` (emptied on failure); write is
 * an ers_gpg_write_fn; finish fsyncs it and gives its SHA-256 and size. */
struct ers_archive_sink;
int ers_archive_sink_open(struct ers_buf *tmp, struct ers_archive_sink **s_r, struct ers_error *err);
ssize_t ers_archive_sink_write(void *sink, const void *buf, size_t n);
int ers_archive_sink_finish(struct ers_archive_sink *s, const char *path, char sha[65], long long *bytes_r,
			    struct ers_error *err);
void ers_archive_sink_free(struct ers_archive_sink *s);
ssize_t ers_archive_fd_read(void *arg, void *buf, size_t n);         /* arg: int *fd */
void ers_archive_hex(const unsigned char *d, size_t n, char *out);
/* SHA-256 of a file, read back from the disk. */
int ers_archive_file_sha256(const char *path, char out[65], long long *size_r, struct ers_error *err);
int ers_archive_sync_dir(const char *dir);

/* --- job.c and create.c --------------------------------------------------------- */

struct ers_archive_mailbox {
	long long id, tenant_id;
	char *address, *tenant, *role;
	bool remote, disabled;
	bool personal_auto;  /* its user turned personal auto-archive on, its tenant allows it (and has none of its own) */
};

struct ers_archive_job {
	struct ers_ctx *ctx;
	const struct ers_actor *actor;
	const struct ers_archive_mailbox *mb;
	const char *kind;
	const char *format;
	int days;
	bool delete_after;
	const char *const *folders;
	size_t nfolders;
	ers_archive_progress_fn *progress;
	void *progress_arg;
	const char *run_id;
	const struct ers_archive_dest *dest; /* NULL: the archive directory only */
	long long id;
	struct ers_archive_folder *fl;
	size_t nfl;
	struct ers_imap *im;
	char sha[65];
	char *path;
	long long messages, plain_bytes, bytes;
};
/* One mailbox's job, from its row to its end (*a_r: its record). */
int ers_archive_run_job(struct ers_archive_job *j, struct ers_archive **a_r, struct ers_error *err);
void ers_archive_job_free_folders(struct ers_archive_job *j);
/* A job holds a session lock on its id while it runs, so that `archive
 * run` tells a job still running from one a kill left behind. */
bool ers_archive_job_lock(struct ers_ctx *ctx, long long id, bool take);
/* Delete-after of a stored and recorded archive: the file read back once
 * more, then exactly its UIDs expunged; the outcome recorded and audited. */
int ers_archive_finish_delete(struct ers_archive_job *j, struct ers_error *err);

/* The mailboxes `where` (SQL over m, the mailbox, and t, its tenant) picks. */
int ers_archive_load_mailboxes(struct ers_ctx *ctx, const char *where, int n, const char *const *params,
			       struct ers_archive_mailbox **mbs_r, size_t *n_r, struct ers_error *err);
void ers_archive_mailboxes_free(struct ers_archive_mailbox *mbs, size_t n);
/* Shared by create and run: the jobs for `mbs`, under options (`dest`:
 * also uploaded there; NULL: the archive directory only); the first
 * failure is returned (the others go on). */
int ers_archive_run_jobs(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_mailbox *mbs, size_t n,
			 const struct ers_archive_spec *spec, const struct ers_archive_dest *dest, const char *run_id,
			 struct ers_archive_list *out,
			 long long *failed_r, struct ers_error *err);

/* --- remote.c: SFTP and WebDAV destinations ------------------------------------ */

struct ers_archive_dest {
	long long id, tenant_id;
	char *name, *kind, *url, *username, *secret_sealed, *host_key;
};
void ers_archive_dest_clear(struct ers_archive_dest *d);
/* 1 found, 0 the tenant has none of that name, -1 failed. */
int ers_archive_dest_find(struct ers_ctx *ctx, long long tenant_id, const char *name, struct ers_archive_dest *d,
			  struct ers_error *err);
int ers_archive_check_dest_name(const char *name, struct ers_error *err);
/* Uploads the file at `path` as `file_name` in the destination's
 * directory, reads it back and compares its SHA-256 and size with `sha`
 * and `bytes`; *url_r: where it is. */
int ers_archive_remote_put(struct ers_ctx *ctx, const struct ers_archive_dest *d, const char *path, const char *file_name,
			   const char *sha, long long bytes, char **url_r, struct ers_error *err);
/* SHA-256 and size of what `url` of destination `d` gives. */
int ers_archive_remote_sha256(struct ers_ctx *ctx, const struct ers_archive_dest *d, const char *url, char out[65],
			      long long *size_r, struct ers_error *err);

#endif
