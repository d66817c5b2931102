/* archive's interfaces inside the area: OpenPGP through gpgme in a
 * throwaway GNUPGHOME (gpg.c) and the streaming writer that turns IMAP
 * messages into an mboxrd or zip stream (stream.c). */
#ifndef ERS_ARCHIVE_INTERNAL_H
#define ERS_ARCHIVE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
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
/* Encrypts to key `fpr` (imported before), binary, no compression. */
int ers_gpg_encrypt(struct ers_gpg *g, const char *fpr, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr,
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

/* Reads the messages of `folders` from `im`, in order, and gives them as
 * one stream in `format` ("mbox": mboxrd; "zip": one .eml per message,
 * stored, under the folder's zip_dir). */
struct ers_archive_stream;
struct ers_archive_stream *ers_archive_stream_new(struct ers_imap *im, struct ers_archive_folder *folders,
						  size_t nfolders, bool zip, ers_archive_progress_fn *progress,
						  void *progress_arg);
ssize_t ers_archive_stream_read(void *stream, void *buf, size_t n);
/* What went wrong, when read returned -1; the counts so far. */
const struct ers_error *ers_archive_stream_error(const struct ers_archive_stream *s);
void ers_archive_stream_counts(const struct ers_archive_stream *s, long long *messages_r, long long *bytes_r);
void ers_archive_stream_free(struct ers_archive_stream *s);

/* A name safe as one path part: control characters, '/', '\\' and ':'
 * become '_', "." and ".." and "" become "_", at most 200 bytes. */
void ers_archive_safe_part(const char *in, size_t len, struct ers_buf *out);

#endif
