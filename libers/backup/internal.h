/* backup's interfaces inside the area: the OpenPGP streams (crypt.c), the
 * child processes (spawn.c), hashing and the archive reader (read.c). */
#ifndef ERS_BACKUP_INTERNAL_H
#define ERS_BACKUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include "core/internal.h"
#include "ers/backup.h"

struct archive;
struct archive_entry;

/* Bytes of the database dump per archive member: tar needs a member's
 * size before its data, and pg_dump's output size is known only at its
 * end, so the dump goes in parts of this size, one buffer at a time. */
#define BK_DUMP_PART (8u << 20)

/* crypt.c: an encrypting sink.  bk_encrypt_start gives a descriptor to
 * write the plaintext into; gpg, started on it, writes the OpenPGP
 * message (symmetric AES-256, no compression) to out_fd.  After the
 * plaintext descriptor is closed, bk_encrypt_finish waits and reports.
 * out_path (out_fd's unfinished file) is removed if the process is killed
 * before bk_crypt_finish, as are the GnuPG home and its agent. */
struct bk_crypt;
int bk_encrypt_start(const char *passphrase, int out_fd, const char *out_path, struct bk_crypt **c_r,
		     int *plain_fd_r, struct ers_error *err);
/* A decrypting source: reads the OpenPGP message from in_fd and gives a
 * descriptor to read the plaintext from.  Only bk_crypt_finish's 0 says
 * the message was whole and unchanged (its MDC checked). */
int bk_decrypt_start(const char *passphrase, int in_fd, struct bk_crypt **c_r, int *plain_fd_r,
		     struct ers_error *err);
int bk_crypt_finish(struct bk_crypt *c, const char *file, struct ers_error *err);

/* spawn.c: a program run with fork/exec and argv (never a shell), its
 * stdin or stdout on a pipe and its stderr in an unlinked temporary file
 * whose first line becomes the error. */
struct bk_child {
	pid_t pid;
	int fd;       /* our end: its stdout (read) or its stdin (write) */
	int out_fd;   /* BK_CHILD_BOTH: its stdout (read) */
	int errfd;
	char what[64];
};
enum bk_pipe { BK_CHILD_STDOUT, BK_CHILD_STDIN, BK_CHILD_BOTH };
int bk_spawn(const char *const *argv, enum bk_pipe which, const char *const *env_add, struct bk_child *c,
	     struct ers_error *err);
/* Closes our end and waits; -1 with the child's stderr when it failed. */
int bk_wait(struct bk_child *c, struct ers_error *err);
/* The libpq connection string of cfg's database, without the password
 * (which goes in PGPASSWORD through env_add). */
void bk_conninfo(const struct ers_config *cfg, struct ers_buf *out);

/* Writes all of buf to fd (a socket: no SIGPIPE). */
int bk_write_all(int fd, const void *buf, size_t len);
void bk_hex(const unsigned char *md, char out[65]);

/* read.c: decrypts and walks a backup.  For every member `begin` is called
 * with its name (and may return 1 to skip the data, -1 to stop), `data`
 * with its bytes, `end` with its SHA-256 computed here; then the trailer
 * manifest is checked against what was read. */
struct bk_visitor {
	int (*begin)(void *hook, struct archive_entry *e, const char *name, struct ers_error *err);
	int (*data)(void *hook, const void *buf, size_t len, struct ers_error *err);
	int (*end)(void *hook, struct archive_entry *e, const char *name, const char *sha256,
		   long long size, struct ers_error *err);
	void *hook;
};
/* tenant.c: `backup restore --tenant`. */
struct bk_tenant_restore;

int bk_read(const char *file, const char *passphrase, const struct bk_visitor *v,
	    struct ers_backup_info **info_r, struct ers_error *err);

#endif
