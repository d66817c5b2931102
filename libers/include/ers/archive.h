/* Personal and tenant mail archives (manual 000 "Personal And Tenant
 * Archives"): the messages of a mailbox older than a cutoff, read from
 * Dovecot over IMAP as the mailbox, written as an mboxrd .mbox or a zip of
 * .eml files, encrypted with OpenPGP (gpgme) to the owner's archive key
 * and stored in the archive directory (archive.directory in ers.yaml);
 * expunged from the mailbox, exactly the UIDs archived, only when asked
 * and only after the stored file's checksum is verified.
 *
 * Archives a user makes of its own mailbox are personal (the user's key:
 * only that user decrypts them); those an admin or operator makes are
 * tenant archives (the tenant's key: its tenant admins and super admins
 * decrypt them).  Keys are generated on first use, their secret half
 * sealed under the master key; it never leaves except as `key export`,
 * encrypted with a passphrase the owner gives. */
#ifndef ERS_ARCHIVE_H
#define ERS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "ctx.h"
#include "error.h"

#define ERS_ARCHIVE_MAX_DAYS 36500 /* a hundred years: more is a typo */
#define ERS_ARCHIVE_MAX_FOLDERS 100

struct ers_archive {
	long long id;
	char *address;          /* the mailbox archived */
	char *tenant;
	long long tenant_id;
	char *kind;             /* "personal" or "tenant" */
	char *created_by;
	char **folders;         /* as chosen; none: every folder */
	size_t nfolders;
	int older_than_days;
	char cutoff[40];
	char *format;           /* "mbox" or "zip" */
	bool delete_after;
	char *state;            /* running, stored, expunged, failed */
	long long messages, plain_bytes, bytes, expunged;
	char *sha256;           /* of the stored (encrypted) file; NULL until stored */
	char *path;             /* the stored file; NULL until stored */
	char *error;            /* why it failed; NULL */
	char *destination;      /* "local" or the name of a tenant's remote destination */
	char *remote_url;       /* where it was uploaded and read back from; NULL */
	char created_at[40], finished_at[40];
};

struct ers_archive_list {
	size_t count;
	struct ers_archive *items;
};

/* Called after each message archived (and once at the start, done 0). */
typedef void ers_archive_progress_fn(void *arg, long long done, long long total, long long bytes);

struct ers_archive_spec {
	const char *address;        /* one mailbox ... */
	const char *tenant;         /* ... or every mailbox of this tenant (name or domain) */
	int older_than_days;        /* -1: the tenant policy's */
	const char *const *folders; /* none: every folder */
	size_t nfolders;
	const char *format;         /* "mbox", "zip"; NULL: the tenant policy's */
	int delete_after;           /* -1: the tenant policy's; 0; 1 */
	const char *destination;    /* "local" (NULL: the same): archive.directory; or the name of one of
				       the tenant's remote destinations (uploaded there too, read back) */
	ers_archive_progress_fn *progress;
	void *progress_arg;
};

/* Archives one mailbox, or each mailbox of a tenant, one job each; the
 * jobs made are in *list_r (a failed one too, state "failed", with the
 * first failure also returned as the error).  Nothing is written nor
 * recorded when the input is refused. */
int ers_archive_create(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_spec *spec,
		       struct ers_archive_list **list_r, struct ers_error *err);

struct ers_archive_filter {
	const char *tenant;  /* name or domain; NULL: all the actor may see */
	bool failed_only;
};
/* Users see their personal archives, tenant admins their tenant's
 * archives and its regular users' personal ones (not to decrypt),
 * super admins and operators every one. */
int ers_archive_list(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_archive_filter *f,
		     struct ers_archive_list **list_r, struct ers_error *err);
int ers_archive_show(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		     struct ers_error *err);
/* Decrypts archive `id`, streamed, into `out_path` (a plain .mbox or .zip,
 * mode 0600, renamed into place when complete).  Personal archives only
 * for their owner, tenant archives for the tenant's admins. */
int ers_archive_download(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, const char *out_path,
			 struct ers_error *err);
/* Reads the stored file back: its SHA-256 must be the recorded one. */
int ers_archive_verify(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_archive **a_r,
		       struct ers_error *err);
/* Removes the stored file and the record (by who may decrypt it). */
int ers_archive_delete(struct ers_ctx *ctx, const struct ers_actor *actor, long long id, struct ers_error *err);

/* The archive key of `address` (personal) or of `tenant`, its secret half
 * in OpenPGP form, encrypted with `passphrase` (12..1024 bytes, symmetric
 * AES-256), armored, written to `out_path` (0600): `gpg --decrypt FILE |
 * gpg --import` then opens the raw archives.  Only the key's owner. */
int ers_archive_key_export(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address, const char *tenant,
			   const char *passphrase, const char *out_path, struct ers_error *err);

struct ers_archive_policy {
	char *tenant;
	long long tenant_id;
	char format[16];
	int older_than_days;
	bool delete_after;
	bool auto_archive;
	bool personal_auto_archive; /* users may turn on their own auto-archive */
	char updated_at[40];   /* "" while the defaults apply */
};
struct ers_archive_policy_change {
	const char *format;    /* NULL: unchanged */
	int older_than_days;   /* -1: unchanged */
	int delete_after;      /* -1: unchanged */
	int auto_archive;      /* -1: unchanged */
	int personal_auto_archive; /* -1: unchanged */
};
int ers_archive_policy_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			    struct ers_archive_policy **p_r, struct ers_error *err);
int ers_archive_policy_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
			   const struct ers_archive_policy_change *ch, struct ers_archive_policy **p_r,
			   struct ers_error *err);
void ers_archive_policy_free(struct ers_archive_policy *p);

/* A user's own archive preferences (manual 000 "How Users Open
 * Archives"): the defaults of the archives of its mailbox -- format,
 * destination type, cutoff -- and personal auto-archive (`archive run`
 * makes a personal archive daily), within what the tenant allows.  Who may
 * archive the mailbox may see and set them. */
struct ers_archive_preference {
	char *address;
	char format[16];        /* the effective one (the tenant's where the user chose none) */
	char *destination;      /* "local" or one of the tenant's destinations */
	int older_than_days;    /* the effective one */
	bool auto_archive;
	bool auto_allowed;      /* the tenant lets users turn on personal auto-archive */
	bool chosen;            /* the user set some: false while the tenant's defaults apply */
};
struct ers_archive_preference_change {
	const char *format;      /* NULL: unchanged */
	const char *destination; /* NULL: unchanged */
	int older_than_days;     /* -1: unchanged */
	int auto_archive;        /* -1: unchanged */
};
int ers_archive_preference_show(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
				struct ers_archive_preference **p_r, struct ers_error *err);
int ers_archive_preference_set(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
			       const struct ers_archive_preference_change *ch, struct ers_archive_preference **p_r,
			       struct ers_error *err);
void ers_archive_preference_free(struct ers_archive_preference *p);

/* `archive run`, for cron: every active mailbox of every tenant with
 * auto-archive on whose last archive is older than a day gets a tenant
 * archive under its policy; one run at a time (a lock).  First it
 * recovers what a kill left: a job still "running" whose process is gone
 * is marked failed (nothing of it was deleted; its mailbox is due again),
 * and a stored delete-after archive whose expunge did not finish has
 * exactly its recorded UIDs expunged now. */
struct ers_archive_run_result {
	long long due, done, failed, recovered; /* recovered: interrupted jobs marked failed or finished */
};
int ers_archive_run(struct ers_ctx *ctx, const struct ers_actor *actor, struct ers_archive_run_result *r,
		    struct ers_error *err);

/* Remote destinations of a tenant (SFTP, WebDAV over HTTPS), set by its
 * admins (as its policy): the credential sealed, never shown again. */
struct ers_archive_destination_spec {
	const char *tenant;      /* NULL: the actor's */
	const char *name;        /* a-z 0-9 - _, 1..40, not "local" */
	const char *url;         /* sftp://HOST[:PORT]/DIR/ or https://HOST[:PORT]/DIR/ */
	const char *username;
	const char *secret;      /* a password, or (secret_is_key) an SSH private key */
	size_t secret_len;
	bool secret_is_key;
	const char *host_key;    /* SFTP: the host key's SHA-256, base64 */
};
struct ers_archive_destination {
	char *tenant, *name, *kind, *url, *username, *host_key;
	char created_at[40];
};
int ers_archive_destination_add(struct ers_ctx *ctx, const struct ers_actor *actor,
				const struct ers_archive_destination_spec *spec, struct ers_error *err);
int ers_archive_destination_list(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
				 struct ers_archive_destination **items_r, size_t *n_r, struct ers_error *err);
int ers_archive_destination_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *tenant,
				   const char *name, struct ers_error *err);
void ers_archive_destinations_free(struct ers_archive_destination *items, size_t n);

void ers_archive_free(struct ers_archive *a);
void ers_archive_list_free(struct ers_archive_list *list);

#endif
