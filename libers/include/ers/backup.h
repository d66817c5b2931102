/* Secure backups (manual 000 "Secure Backups"): one file holding the
 * database dump, ers.yaml, the secrets, the mail-stack configuration and,
 * when asked, the maildirs -- a tar stream compressed with zstd and
 * encrypted as OpenPGP symmetric AES-256, so that `gpg --decrypt` opens it
 * with the passphrase alone.  Operators (and super admins through ersctl)
 * only; the webmail offers none of it. */
#ifndef ERS_BACKUP_H
#define ERS_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "config.h"
#include "ctx.h"
#include "error.h"

/* The file format's version, in the header and the manifest. */
#define ERS_BACKUP_FORMAT 1
/* A backup file's name in a directory of backups. */
#define ERS_BACKUP_PREFIX "ers-backup-"
#define ERS_BACKUP_SUFFIX ".tar.zst.gpg"
#define ERS_BACKUP_DEFAULT_DIR "/var/backups/ers"

/* Reads a passphrase from `path`: a regular file owned by root (or by the
 * caller), readable by its owner only, not empty; the first line, without
 * its line end, 8..1024 bytes.  The caller wipes and frees *pass_r
 * (ers_backup_passphrase_free). */
int ers_backup_passphrase_file(const char *path, char **pass_r, struct ers_error *err);
void ers_backup_passphrase_free(char *pass);

struct ers_backup_create_opts {
	bool include_maildirs;
	const char *output;        /* a file, or a directory (a new name in it); NULL: the default directory */
	const char *const *paths;  /* further files or directories to carry */
	size_t npaths;
	int keep;                  /* > 0: in the output directory, keep the N newest backups */
};

struct ers_backup_result {
	char *path;                /* the file written */
	long long bytes;           /* its size */
	long long members;         /* archive members (files, directories, links, dump parts) */
	long long file_bytes;      /* bytes of the members before compression */
	long long dump_bytes;      /* the database dump's size */
	long long maildir_files;   /* messages and index files of the maildirs */
	long long vanished;        /* files that disappeared while being backed up (mail moved) */
	int schema_version;
	char **pruned;             /* older backups removed under --keep */
	size_t npruned;
	char **skipped;            /* configured paths that are absent here */
	size_t nskipped;
};
void ers_backup_result_free(struct ers_backup_result *r);

/* Writes a backup with `passphrase`; audited (without the passphrase). */
int ers_backup_create(struct ers_ctx *ctx, const struct ers_actor *actor,
		      const struct ers_backup_create_opts *opts, const char *passphrase,
		      struct ers_backup_result **r_r, struct ers_error *err);

struct ers_backup_member {
	char *name;       /* in the archive: db/ers.dump.000001, config/ers.yaml, files/etc/..., maildirs/... */
	char *role;       /* header, dump, config, secrets, system, maildir */
	char *source;     /* the path it came from (empty for the dump) */
	char type;        /* f(ile), d(irectory), l(ink) */
	long long size;
	char sha256[65];
};

struct ers_backup_info {
	int format;
	char *ers_version, *host, *created;
	int schema_version;
	bool maildirs;
	size_t count;
	struct ers_backup_member *members;
	long long dump_bytes;
	long long bytes;  /* of the encrypted file */
};
void ers_backup_info_free(struct ers_backup_info *info);

/* Decrypts `file` and checks every member against the manifest and the
 * dump with `pg_restore --file=/dev/null` (which reads all of it); writes
 * nothing. */
int ers_backup_verify(const struct ers_actor *actor, const char *file, const char *passphrase,
		      struct ers_backup_info **info_r, struct ers_error *err);

struct ers_backup_entry {
	char *path;
	char *name;
	long long bytes;
	char mtime[32]; /* ISO 8601 UTC */
	long long mtime_ns;
};
struct ers_backup_list {
	size_t count;
	struct ers_backup_entry *items; /* oldest first (by modification time, then name) */
};
/* The backups in `dir` by their names (nothing is decrypted). */
int ers_backup_list(const char *dir, struct ers_backup_list **list_r, struct ers_error *err);
void ers_backup_list_free(struct ers_backup_list *list);

struct ers_backup_restore_opts {
	bool force;          /* onto a database that holds tenants or users, over differing files */
	const char *files_to; /* write configuration files under this directory instead of / */
};

struct ers_backup_restored {
	struct ers_backup_info *info;
	char *database;       /* what the dump went into */
	long long files, maildir_files, kept; /* written; identical ones left as they were */
	char *secrets_file, *config_file;
	char *warning;        /* a step after the restore that needs the operator, or NULL */
	char **conflicts;     /* why a restore without --force was refused */
	size_t nconflicts;
};
void ers_backup_restored_free(struct ers_backup_restored *r);

/* Restores `file` onto this machine: verifies it whole first, then
 * recreates the database named by `cfg` (or, when `cfg` is NULL -- a fresh
 * machine without ers.yaml -- by the backup's own ers.yaml, written first),
 * the secrets file, the configuration files and the maildirs.  Refuses,
 * changing nothing, a database holding tenants or users and existing files
 * that differ, unless opts->force; *r_r then lists the conflicts. */
int ers_backup_restore(const struct ers_config *cfg, const struct ers_actor *actor, const char *file,
		       const char *passphrase, const struct ers_backup_restore_opts *opts,
		       struct ers_backup_restored **r_r, struct ers_error *err);

struct ers_backup_tenant_result {
	char *tenant;
	long long tenant_id;
	long long rows, users, maildir_files;
	char *warning;        /* restored, but something after needs the operator */
};
void ers_backup_tenant_result_free(struct ers_backup_tenant_result *r);

/* Brings the tenant named `tenant` in the backup (its rows, its mail when
 * the backup has maildirs) back into this running system, beside the
 * others.  Refused, changing nothing, when a tenant of that name or id
 * exists or its addresses are taken; its mail directory existing is
 * refused unless `force`.  Audited. */
int ers_backup_restore_tenant(struct ers_ctx *ctx, const struct ers_actor *actor, const char *file,
			      const char *passphrase, const char *tenant, bool force,
			      struct ers_backup_tenant_result **r_r, struct ers_error *err);

#endif
