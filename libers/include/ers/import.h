/* Bulk import and export of users: CSV (RFC 4180) and JSON files.  An
 * import is all or nothing: every bad line is reported before anything is
 * written, then every user is added in one transaction with one audit row. */
#ifndef ERS_IMPORT_H
#define ERS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "actor.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

enum ers_file_format { ERS_FORMAT_CSV, ERS_FORMAT_JSON };

/* Which columns a file has: ERS's own (what `user export` writes), or an
 * export of PostfixAdmin's `mailbox` table. */
enum ers_import_profile { ERS_PROFILE_ERS, ERS_PROFILE_POSTFIXADMIN };

/* "csv" or "json". */
int ers_file_format_parse(const char *s, enum ers_file_format *format_r, struct ers_error *err);
/* The format a file name's extension (.csv, .json, any case) says; -1 when
 * it says none. */
int ers_file_format_guess(const char *filename);
/* "ers" or "postfixadmin". */
int ers_import_profile_parse(const char *s, enum ers_import_profile *profile_r, struct ers_error *err);

struct ers_import_options {
	enum ers_file_format format;
	enum ers_import_profile profile;
	/* Every imported user gets a temporary password (hashed in parallel on
	 * every core); the file's password hashes are then ignored. */
	bool generate_passwords;
	const char *tenant;   /* NULL: a row's domain decides; else every row must be this tenant's */
	const char *source;   /* the file's name, for messages and the audit row */
};

/* One thing wrong with the file.  `where` is the CSV line the record starts
 * on (the header is line 1) or the JSON array index (from 0); 0 with
 * `whole_file` for what is no one row's fault (a tenant limit on the totals,
 * a missing header, broken JSON). */
struct ers_import_problem {
	size_t where;
	bool whole_file;
	enum ers_error_code code; /* ERS_E_INVALID, ERS_E_PERMISSION or ERS_E_CONFLICT */
	char *message;            /* valid UTF-8 without control characters */
};

struct ers_import_password {
	char *address;
	char *password;           /* wiped by ers_import_result_free */
};

struct ers_import_result {
	const char *where_name;   /* "line" (CSV) or "index" (JSON) */
	size_t imported;
	size_t bad_rows;          /* distinct rows with a problem */
	size_t nproblems;
	struct ers_import_problem *problems;
	size_t npasswords;        /* with generate_passwords: one per user, in file order */
	struct ers_import_password *passwords;
};

/* Imports the users in `data` (`len` bytes).  On success *result_r says how
 * many and holds the temporary passwords.  When the file has problems,
 * nothing is written, -1 is returned with a summary in `err` (ERS_E_PERMISSION
 * if the policy refused a row -- that refusal is audited --, else
 * ERS_E_INVALID for bad rows, else ERS_E_CONFLICT for a tenant limit) and
 * *result_r lists every problem.  On other errors *result_r is NULL. */
int ers_user_import(struct ers_ctx *ctx, const struct ers_actor *actor,
		    const struct ers_import_options *opt, const char *data, size_t len,
		    struct ers_import_result **result_r, struct ers_error *err);
void ers_import_result_free(struct ers_import_result *r);

struct ers_export_options {
	const char *tenant;       /* name or domain; NULL: every user the actor may see */
	enum ers_file_format format;
	/* Adds the password_hash column (for moving between ERS installations).
	 * Needs the right to reset those users' passwords, and is audited. */
	bool with_hashes;
};

/* Writes the users the actor may see, sorted by address, in the columns
 * that ers_user_import reads back (profile ERS); *count_r says how many. */
int ers_user_export(struct ers_ctx *ctx, const struct ers_actor *actor,
		    const struct ers_export_options *opt, struct ers_buf *out, size_t *count_r,
		    struct ers_error *err);

#endif
