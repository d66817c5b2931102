/* Bulk import and export of users (see include/ers/import.h).
 *
 * An import runs in four steps, so that a bad file costs no hashing and
 * holds no lock: (1) parse the CSV or JSON into records and check every
 * field the way `user add` does, collecting every problem with its line;
 * (2) check against the database -- domains, the policy per row, addresses
 * already claimed, tenant limits on the totals -- still collecting; (3) only
 * for a clean file, hash the generated passwords on every core; (4) in one
 * transaction, lock the tenants, repeat step 2 (something may have changed
 * meanwhile), COPY the address claims and the mailboxes, and commit with one
 * audit row. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include "accounts/internal.h"
#include "ers/import.h"

/* --- formats and profiles ------------------------------------------------ */

int ers_file_format_parse(const char *s, enum ers_file_format *format_r, struct ers_error *err)
{
	if (s && !strcmp(s, "csv")) {
		*format_r = ERS_FORMAT_CSV;
		return 0;
	}
	if (s && !strcmp(s, "json")) {
		*format_r = ERS_FORMAT_JSON;
		return 0;
	}
	ers_error_set(err, ERS_E_USAGE, "format must be csv or json, got \"%.40s\"", s ? s : "");
	return -1;
}

int ers_file_format_guess(const char *filename)
{
	const char *dot = filename ? strrchr(filename, '.') : NULL;
	if (!dot || strchr(dot, '/'))
		return -1;
	if (!strcasecmp(dot, ".csv"))
		return ERS_FORMAT_CSV;
	if (!strcasecmp(dot, ".json"))
		return ERS_FORMAT_JSON;
	return -1;
}

int ers_import_profile_parse(const char *s, enum ers_import_profile *profile_r, struct ers_error *err)
{
	if (s && !strcmp(s, "ers")) {
		*profile_r = ERS_PROFILE_ERS;
		return 0;
	}
	if (s && !strcmp(s, "postfixadmin")) {
		*profile_r = ERS_PROFILE_POSTFIXADMIN;
		return 0;
	}
	ers_error_set(err, ERS_E_USAGE, "profile must be ers or postfixadmin, got \"%.40s\"", s ? s : "");
	return -1;
}

/* --- columns -------------------------------------------------------------- */

enum col {
	COL_ADDRESS, COL_FIRST_NAME, COL_LAST_NAME, COL_ROLE, COL_QUOTA_MB, COL_STATUS,
	COL_INTERNAL_ONLY, COL_PASSWORD_HASH,
	/* PostfixAdmin's */
	COL_PFA_NAME, COL_PFA_QUOTA, COL_PFA_ACTIVE, COL_PFA_LOCAL_PART, COL_PFA_DOMAIN,
	COL_COUNT,
	COL_IGNORED = -1,
	COL_UNKNOWN = -2,
	COL_CLEAR_PASSWORD = -3,
};

struct column {
	const char *name;
	int col;
};

/* The ERS profile: what `user export` writes, in this order. */
static const struct column ers_columns[] = {
	{ "address", COL_ADDRESS }, { "first_name", COL_FIRST_NAME }, { "last_name", COL_LAST_NAME },
	{ "role", COL_ROLE }, { "quota_mb", COL_QUOTA_MB }, { "status", COL_STATUS },
	{ "internal_only", COL_INTERNAL_ONLY }, { "password_hash", COL_PASSWORD_HASH }, { NULL, 0 },
};
#define ERS_COLUMN_LIST "address, first_name, last_name, role, quota_mb, status, internal_only, password_hash"

/* PostfixAdmin's `mailbox` table.  Its other columns (maildir, created,
 * modified, and those newer versions add) carry nothing ERS keeps. */
static const struct column pfa_columns[] = {
	{ "username", COL_ADDRESS }, { "password", COL_PASSWORD_HASH }, { "name", COL_PFA_NAME },
	{ "quota", COL_PFA_QUOTA }, { "active", COL_PFA_ACTIVE }, { "local_part", COL_PFA_LOCAL_PART },
	{ "domain", COL_PFA_DOMAIN }, { NULL, 0 },
};

static int column_of(enum ers_import_profile profile, const char *name)
{
	const struct column *cols = profile == ERS_PROFILE_ERS ? ers_columns : pfa_columns;
	for (size_t i = 0; cols[i].name; i++)
		if (!strcasecmp(cols[i].name, name))
			return cols[i].col;
	if (profile == ERS_PROFILE_POSTFIXADMIN)
		return COL_IGNORED;
	return !strcasecmp(name, "password") ? COL_CLEAR_PASSWORD : COL_UNKNOWN;
}

static const char *column_name(enum ers_import_profile profile, int col)
{
	const struct column *cols = profile == ERS_PROFILE_ERS ? ers_columns : pfa_columns;
	for (size_t i = 0; cols[i].name; i++)
		if (cols[i].col == col)
			return cols[i].name;
	return "?";
}

/* --- the import's state --------------------------------------------------- */

/* One record of the file: its values by column, NULL where absent or empty. */
struct record {
	size_t where;
	char *val[COL_COUNT];
};

enum row_status { ROW_ACTIVE, ROW_DISABLED_ADMIN, ROW_DISABLED_SELF };

struct row {
	size_t where;
	bool bad;
	bool refused;            /* by the policy: checked no further */
	char *address;           /* normalised; NULL when the address was bad */
	const char *domain;      /* inside address */
	char *first_name, *last_name;
	enum ers_role role;
	long long quota_mb;      /* -1: none */
	enum row_status status;
	bool internal_only;
	char *hash;              /* accepted crypt hash, or the generated password's */
	char *password;          /* generated (a secret) */
	long long tenant_id, domain_id;
	const char *tenant_name; /* owned by struct import's domain map */
};

struct domain_info {
	char *name;
	long long tenant_id, domain_id;
	char *tenant_name;
};

struct import {
	struct ers_ctx *ctx;
	const struct ers_actor *actor;
	const struct ers_import_options *opt;
	struct ers_import_result *res;
	size_t problems_cap;
	struct row *rows;
	size_t nrows, rows_cap;
	bool header_lacks_password; /* reported once on line 1 instead of on every row */
	long long only_tenant;      /* --tenant, resolved; 0: none */
	char *only_tenant_name;
	struct domain_info *domains;
	size_t ndomains;
	bool refused;               /* the policy refused some row */
};

/* Replaces control characters and broken UTF-8 with '?', in place: the
 * messages echo the file, and go to terminals and into JSON. */
static void clean_text(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		unsigned cp = n == 1 ? *p : n ? *p & (0x7f >> n) : 0;
		bool good = n > 0;
		for (size_t i = 1; good && i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				good = false;
			else
				cp = (cp << 6) | (p[i] & 0x3f);
		}
		static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (good && (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 ||
			     (cp >= 0x7f && cp < 0xa0)))
			good = false;
		if (!good) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static void add_problem(struct import *im, struct row *r, size_t where, bool whole, enum ers_error_code code,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_problem(struct import *im, struct row *r, size_t where, bool whole, enum ers_error_code code,
			const char *fmt, ...)
{
	struct ers_import_result *res = im->res;
	if (res->nproblems == im->problems_cap) {
		im->problems_cap = im->problems_cap ? 2 * im->problems_cap : 16;
		res->problems = ers_xrealloc(res->problems, im->problems_cap * sizeof *res->problems);
	}
	struct ers_buf msg = ERS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ers_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	clean_text(msg.data);
	struct ers_import_problem *p = &res->problems[res->nproblems];
	p->where = whole ? 0 : where;
	p->whole_file = whole;
	p->code = code;
	p->message = ers_buf_detach(&msg);
	res->nproblems++;
	if (r)
		r->bad = true;
	if (code == ERS_E_PERMISSION)
		im->refused = true;
}

#define row_problem(im, r, code, ...) add_problem((im), (r), (r)->where, false, (code), __VA_ARGS__)
#define file_problem(im, code, ...) add_problem((im), NULL, 0, true, (code), __VA_ARGS__)

static struct row *new_row(struct import *im, size_t where)
{
	if (im->nrows == im->rows_cap) {
		im->rows_cap = im->rows_cap ? 2 * im->rows_cap : 256;
		im->rows = ers_xrealloc(im->rows, im->rows_cap * sizeof *im->rows);
	}
	struct row *r = &im->rows[im->nrows++];
	memset(r, 0, sizeof *r);
	r->where = where;
	r->role = ERS_ROLE_USER;
	r->quota_mb = -1;
	return r;
}

static void row_clear(struct row *r)
{
	free(r->address);
	free(r->first_name);
	free(r->last_name);
	free(r->hash);
	ers_free_secret(r->password);
}

static void record_clear(struct record *rec)
{
	for (size_t i = 0; i < COL_COUNT; i++)
		free(rec->val[i]);
	memset(rec, 0, sizeof *rec);
}

/* --- checking one record -------------------------------------------------- */

static const char crypt64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool all_crypt64(const char *s, size_t n)
{
	return strspn(s, crypt64) >= n;
}

/* A crypt-style hash that Dovecot's {CRYPT} scheme verifies and that is
 * worth keeping: yescrypt, SHA-512/SHA-256-crypt, bcrypt.  A leading
 * {SCHEME} (as PostfixAdmin stores for Dovecot) is dropped.  The check is
 * on the syntax: running crypt on 10,000 hashes would cost minutes.  On
 * refusal, `why` says why and false is returned. */
static bool accept_hash(const char *in, char **hash_r, char *why, size_t cap)
{
	static const char advice[] = "; import with --generate-passwords to give these users new temporary passwords";
	static const char accepted[] = "$y$ (yescrypt), $6$ (SHA512-CRYPT), $5$ (SHA256-CRYPT) or $2y$/$2b$ (BLF-CRYPT)";
	const char *h = in;
	if (*h == '{') {
		const char *close = strchr(h, '}');
		if (!close) {
			snprintf(why, cap, "the password hash starts with { but its {SCHEME} has no closing }");
			return false;
		}
		int n = (int)(close - h - 1);
		static const char *const crypt_schemes[] = { "CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT",
							     "MD5-CRYPT", NULL };
		bool known = false;
		for (size_t i = 0; crypt_schemes[i]; i++)
			known |= strlen(crypt_schemes[i]) == (size_t)n && !strncasecmp(h + 1, crypt_schemes[i], (size_t)n);
		if (!known) {
			snprintf(why, cap, "password scheme {%.*s} is not a crypt hash ERS can keep (accepted: %s)%s",
				 n > 30 ? 30 : n, h + 1, accepted, advice);
			return false;
		}
		h = close + 1;
	}
	bool ok;
	if (!strncmp(h, "$1$", 3)) {
		snprintf(why, cap, "md5crypt ($1$) password hashes are refused: they are too weak to keep%s", advice);
		return false;
	} else if (!strncmp(h, "$y$", 3)) {
		/* $y$PARAMS$SALT$HASH, HASH 43 characters */
		const char *params = h + 3, *salt = strchr(params, '$');
		const char *hash = salt ? strchr(salt + 1, '$') : NULL;
		ok = salt && hash && salt > params && hash > salt + 1 && all_crypt64(params, (size_t)(salt - params)) &&
		     all_crypt64(salt + 1, (size_t)(hash - salt - 1)) && strlen(hash + 1) == 43 && all_crypt64(hash + 1, 43);
	} else if (!strncmp(h, "$6$", 3) || !strncmp(h, "$5$", 3)) {
		/* $6$[rounds=N$]SALT$HASH: SALT 1..16, HASH 86 ($6$) or 43 ($5$) */
		const char *salt = h + 3;
		if (!strncmp(salt, "rounds=", 7)) {
			size_t digits = strspn(salt + 7, "0123456789");
			salt = digits && digits < 10 && salt[7 + digits] == '$' ? salt + 8 + digits : NULL;
		}
		const char *hash = salt ? strchr(salt, '$') : NULL;
		size_t want = h[1] == '6' ? 86 : 43;
		ok = hash && hash > salt && hash - salt <= 16 && all_crypt64(salt, (size_t)(hash - salt)) &&
		     strlen(hash + 1) == want && all_crypt64(hash + 1, want);
	} else if (!strncmp(h, "$2y$", 4) || !strncmp(h, "$2b$", 4)) {
		/* $2y$NN$ and 53 characters: 22 of salt, 31 of hash */
		ok = strlen(h) == 60 && h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' && h[6] == '$' &&
		     all_crypt64(h + 7, 53);
	} else {
		snprintf(why, cap,
			 "the password hash must be a crypt hash: %s, with or without a {SCHEME} prefix; clear passwords are never read from a file%s",
			 accepted, advice);
		return false;
	}
	if (!ok) {
		snprintf(why, cap, "the %.4s password hash is malformed (cut short, or a character outside ./0-9A-Za-z)", h);
		return false;
	}
	*hash_r = ers_xstrdup(h);
	return true;
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "true", "t", "1", "yes", "y", NULL };
	static const char *const no[] = { "false", "f", "0", "no", "n", NULL };
	for (size_t i = 0; yes[i]; i++) {
		if (!strcasecmp(s, yes[i])) {
			*b = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*b = false;
			return 0;
		}
	}
	return -1;
}

static void check_name(struct import *im, struct row *r, const char *value, const char *what, char **out)
{
	struct ers_error e;
	if (value && *value && ers_text_check(value, what, ERS_NAME_PART_MAX, &e) < 0) {
		row_problem(im, r, ERS_E_INVALID, "%s", e.message);
		return;
	}
	*out = ers_xstrdup(value ? value : "");
}

/* PostfixAdmin keeps one name: the first name is what comes before the last
 * space, the last name what follows it. */
static void split_name(struct import *im, struct row *r, const char *name)
{
	char *copy = ers_xstrdup(name ? name : "");
	char *s = copy, *end = copy + strlen(copy);
	while (*s == ' ')
		s++;
	while (end > s && end[-1] == ' ')
		*--end = '\0';
	char *space = strrchr(s, ' ');
	const char *first = s, *last = "";
	if (space) {
		last = space + 1;
		while (space > s && space[-1] == ' ')
			space--;
		*space = '\0';
	}
	check_name(im, r, first, "first name (from name)", &r->first_name);
	check_name(im, r, last, "last name (from name)", &r->last_name);
	free(copy);
}

static void check_record(struct import *im, const struct record *rec, struct row *r)
{
	enum ers_import_profile profile = im->opt->profile;
	struct ers_error e;
	const char *v = rec->val[COL_ADDRESS];
	struct ers_buf addr = ERS_BUF_INIT;
	if (!v)
		row_problem(im, r, ERS_E_INVALID, "no address: the %s column is empty", column_name(profile, COL_ADDRESS));
	else if (ers_address_normalize(v, &addr, &e) < 0)
		row_problem(im, r, ERS_E_INVALID, "%s", e.message);
	else {
		r->address = ers_buf_detach(&addr);
		r->domain = strchr(r->address, '@') + 1;
	}
	ers_buf_free(&addr);

	if (profile == ERS_PROFILE_ERS) {
		check_name(im, r, rec->val[COL_FIRST_NAME], "first_name", &r->first_name);
		check_name(im, r, rec->val[COL_LAST_NAME], "last_name", &r->last_name);
		if ((v = rec->val[COL_ROLE]) && ers_role_parse(v, &r->role, &e) < 0)
			row_problem(im, r, ERS_E_INVALID, "%s", e.message);
		long long q;
		if ((v = rec->val[COL_QUOTA_MB])) {
			if (ers_int_parse(v, "quota_mb", 0, ERS_QUOTA_MB_MAX, &q, &e) < 0)
				row_problem(im, r, ERS_E_INVALID, "%s (leave it empty for none)", e.message);
			else
				r->quota_mb = q;
		}
		if ((v = rec->val[COL_STATUS])) {
			if (!strcmp(v, "active"))
				r->status = ROW_ACTIVE;
			else if (!strcmp(v, "disabled"))
				r->status = ROW_DISABLED_ADMIN;
			else if (!strcmp(v, "disabled_by_user"))
				r->status = ROW_DISABLED_SELF;
			else
				row_problem(im, r, ERS_E_INVALID,
					    "status must be active, disabled or disabled_by_user, got \"%.40s\"", v);
		}
		if ((v = rec->val[COL_INTERNAL_ONLY]) && parse_bool(v, &r->internal_only) < 0)
			row_problem(im, r, ERS_E_INVALID, "internal_only must be true or false, got \"%.40s\"", v);
	} else {
		split_name(im, r, rec->val[COL_PFA_NAME]);
		long long bytes;
		if ((v = rec->val[COL_PFA_QUOTA])) {
			if (ers_int_parse(v, "quota (bytes)", 0, ERS_QUOTA_MB_MAX * 1048576LL, &bytes, &e) < 0)
				row_problem(im, r, ERS_E_INVALID, "%s; 0 is unlimited", e.message);
			else
				r->quota_mb = bytes ? (bytes + 1048575) / 1048576 : -1;
		}
		bool active = true;
		if ((v = rec->val[COL_PFA_ACTIVE]) && parse_bool(v, &active) < 0)
			row_problem(im, r, ERS_E_INVALID, "active must be 1 or 0 (or t/f, true/false), got \"%.40s\"", v);
		r->status = active ? ROW_ACTIVE : ROW_DISABLED_ADMIN;
		const char *lp = rec->val[COL_PFA_LOCAL_PART], *dom = rec->val[COL_PFA_DOMAIN];
		if (r->address && lp && dom) {
			struct ers_buf joined = ERS_BUF_INIT, norm = ERS_BUF_INIT;
			ers_buf_addf(&joined, "%s@%s", lp, dom);
			if (ers_address_normalize(joined.data, &norm, &e) < 0 || strcmp(norm.data, r->address))
				row_problem(im, r, ERS_E_INVALID, "username %s does not match local_part@domain (%.80s)",
					    r->address, joined.data);
			ers_buf_free(&joined);
			ers_buf_free(&norm);
		}
	}

	if (im->opt->generate_passwords)
		return; /* the file's hashes are not used */
	if ((v = rec->val[COL_PASSWORD_HASH])) {
		char why[400];
		if (!accept_hash(v, &r->hash, why, sizeof why))
			row_problem(im, r, ERS_E_INVALID, "%s", why);
	} else if (!im->header_lacks_password) {
		row_problem(im, r, ERS_E_INVALID,
			    "no password hash: give a crypt hash in %s, or import with --generate-passwords",
			    column_name(profile, COL_PASSWORD_HASH));
	}
}

/* --- CSV (RFC 4180) ---------------------------------------------------------- */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_push(struct strv *s, char *value)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = ers_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = value;
}

static void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

struct csv {
	const char *p, *end;
	size_t line;
};

static bool at_eol(const struct csv *c)
{
	return c->p >= c->end || *c->p == '\n' || (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n'));
}

static void skip_eol(struct csv *c)
{
	if (c->p < c->end && *c->p == '\r')
		c->p++;
	if (c->p < c->end && *c->p == '\n')
		c->p++;
	c->line++;
}

/* Reads one record into `fields`: 1 for a record, 0 at the end, -1 for a
 * syntax error (`why` says which; the rest of its line is skipped).  Blank
 * lines are skipped.  *start_r is the line the record starts on. */
static int csv_record(struct csv *c, struct strv *fields, size_t *start_r, char *why, size_t cap)
{
	strv_clear(fields);
	while (c->p < c->end && at_eol(c))
		skip_eol(c);
	if (c->p >= c->end)
		return 0;
	*start_r = c->line;
	struct ers_buf f = ERS_BUF_INIT;
	for (;;) {
		ers_buf_reset(&f);
		if (c->p < c->end && *c->p == '"') {
			size_t opened = c->line;
			c->p++;
			for (;;) {
				if (c->p >= c->end) {
					snprintf(why, cap, "the quoted field opened on line %zu is never closed", opened);
					ers_buf_free(&f);
					return -1;
				}
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						ers_buf_addch(&f, '"');
						c->p += 2;
						continue;
					}
					c->p++;
					break;
				}
				if (*c->p == '\n')
					c->line++;
				ers_buf_addch(&f, *c->p++);
			}
			if (!at_eol(c) && *c->p != ',') {
				snprintf(why, cap, "text after the closing quote of field %zu (a quote inside a field is written \"\")",
					 fields->n + 1);
				goto resync;
			}
		} else {
			while (c->p < c->end && *c->p != ',' && !at_eol(c)) {
				if (*c->p == '"') {
					snprintf(why, cap,
						 "a quote inside unquoted field %zu: put the field in quotes and double the quote (\"\")",
						 fields->n + 1);
					goto resync;
				}
				ers_buf_addch(&f, *c->p++);
			}
		}
		if (strlen(f.data) != f.len) {
			snprintf(why, cap, "field %zu holds a NUL byte", fields->n + 1);
			goto resync;
		}
		strv_push(fields, ers_buf_detach(&f));
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		skip_eol(c);
		ers_buf_free(&f);
		return 1;
	}
resync:
	ers_buf_free(&f);
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	skip_eol(c);
	return -1;
}

static void parse_csv(struct import *im, const char *data, size_t len)
{
	struct csv c = { data, data + len, 1 };
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) /* a spreadsheet's byte order mark */
		c.p += 3;
	struct strv fields = { 0 };
	char why[300];
	size_t start = 1;
	int got = csv_record(&c, &fields, &start, why, sizeof why);
	enum ers_import_profile profile = im->opt->profile;
	if (got <= 0) {
		if (got == 0)
			file_problem(im, ERS_E_INVALID, "the file is empty: it needs a header line naming the columns (%s)",
				     profile == ERS_PROFILE_ERS ? ERS_COLUMN_LIST : "username, password, name, quota, active, ...");
		else
			add_problem(im, NULL, start, false, ERS_E_INVALID, "header: %s", why);
		strv_clear(&fields);
		free(fields.v);
		return;
	}
	/* The header: names, in any case, mapped to columns. */
	size_t ncols = fields.n;
	int *map = ers_xcalloc(ncols, sizeof *map);
	bool seen[COL_COUNT] = { false };
	for (size_t i = 0; i < ncols; i++) {
		char *name = fields.v[i];
		while (*name == ' ')
			name++;
		size_t n = strlen(name);
		while (n && name[n - 1] == ' ')
			name[--n] = '\0';
		map[i] = column_of(profile, name);
		if (map[i] == COL_CLEAR_PASSWORD) {
			add_problem(im, NULL, start, false, ERS_E_INVALID,
				    "column \"password\": clear passwords are never read from a file; give password_hash (a crypt hash) or import with --generate-passwords");
		} else if (map[i] == COL_UNKNOWN) {
			add_problem(im, NULL, start, false, ERS_E_INVALID, "unknown column \"%.60s\"; possibilities are: %s",
				    name, ERS_COLUMN_LIST);
		} else if (map[i] >= 0 && seen[map[i]]) {
			add_problem(im, NULL, start, false, ERS_E_INVALID, "column \"%.60s\" is named twice", name);
		}
		if (map[i] >= 0)
			seen[map[i]] = true;
		else
			map[i] = COL_IGNORED;
	}
	if (!seen[COL_ADDRESS]) {
		add_problem(im, NULL, start, false, ERS_E_INVALID, "the header has no %s column",
			    column_name(profile, COL_ADDRESS));
		goto out;
	}
	if (!seen[COL_PASSWORD_HASH] && !im->opt->generate_passwords) {
		add_problem(im, NULL, start, false, ERS_E_INVALID,
			    "the header has no %s column: give each user's crypt hash there, or import with --generate-passwords",
			    column_name(profile, COL_PASSWORD_HASH));
		im->header_lacks_password = true;
	}
	for (;;) {
		got = csv_record(&c, &fields, &start, why, sizeof why);
		if (got == 0)
			break;
		struct row *r = new_row(im, start);
		if (got < 0) {
			row_problem(im, r, ERS_E_INVALID, "%s", why);
			continue;
		}
		if (fields.n != ncols) {
			row_problem(im, r, ERS_E_INVALID, "has %zu fields, the header has %zu", fields.n, ncols);
			continue;
		}
		struct record rec = { .where = start };
		for (size_t i = 0; i < ncols; i++) {
			if (map[i] >= 0 && *fields.v[i]) {
				rec.val[map[i]] = fields.v[i];
				fields.v[i] = ers_xstrdup(""); /* the record owns the value now */
			}
		}
		check_record(im, &rec, r);
		record_clear(&rec);
	}
out:
	strv_clear(&fields);
	free(fields.v);
	free(map);
}

/* --- JSON ------------------------------------------------------------------- */

static void parse_json(struct import *im, const char *data, size_t len)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		file_problem(im, ERS_E_INVALID, "not valid JSON: line %d, column %d: %s", je.line, je.column, je.text);
		return;
	}
	if (!json_is_array(root)) {
		file_problem(im, ERS_E_INVALID, "the file must hold a JSON array of objects, one per user");
		json_decref(root);
		return;
	}
	enum ers_import_profile profile = im->opt->profile;
	size_t i;
	json_t *item;
	json_array_foreach(root, i, item) {
		struct row *r = new_row(im, i);
		if (!json_is_object(item)) {
			row_problem(im, r, ERS_E_INVALID, "must be an object with the keys %s",
				    profile == ERS_PROFILE_ERS ? ERS_COLUMN_LIST : "username, password, name, quota, active");
			continue;
		}
		struct record rec = { .where = i };
		const char *key;
		json_t *value;
		json_object_foreach(item, key, value) {
			int col = column_of(profile, key);
			if (col == COL_CLEAR_PASSWORD) {
				row_problem(im, r, ERS_E_INVALID,
					    "key \"password\": clear passwords are never read from a file; give password_hash (a crypt hash) or import with --generate-passwords");
				continue;
			}
			if (col == COL_UNKNOWN) {
				row_problem(im, r, ERS_E_INVALID, "unknown key \"%.60s\"; possibilities are: %s", key,
					    ERS_COLUMN_LIST);
				continue;
			}
			if (col == COL_IGNORED)
				continue;
			char num[32];
			const char *s = NULL;
			if (json_is_string(value)) {
				s = json_string_value(value);
			} else if (json_is_integer(value)) {
				snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
				s = num;
			} else if (json_is_boolean(value)) {
				s = json_is_true(value) ? "true" : "false";
			} else if (!json_is_null(value)) {
				row_problem(im, r, ERS_E_INVALID, "\"%.60s\" must be a string, a whole number, true, false or null",
					    key);
				continue;
			}
			if (s && *s)
				rec.val[col] = ers_xstrdup(s);
		}
		check_record(im, &rec, r);
		record_clear(&rec);
	}
	json_decref(root);
}

/* --- duplicates within the file ----------------------------------------------- */

static int cmp_row_address(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
	int c = strcmp(x->address, y->address);
	return c ? c : (x->where > y->where) - (x->where < y->where);
}

static void check_duplicates(struct import *im)
{
	struct row **v = ers_xcalloc(im->nrows ? im->nrows : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < im->nrows; i++)
		if (im->rows[i].address)
			v[n++] = &im->rows[i];
	qsort(v, n, sizeof *v, cmp_row_address);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;
		while (i < n && !strcmp(v[i]->address, v[first]->address)) {
			row_problem(im, v[i], ERS_E_INVALID, "address %s is also on %s %zu", v[i]->address,
				    im->res->where_name, v[first]->where);
			i++;
		}
	}
	free(v);
}

/* --- checks against the database --------------------------------------------- */

/* The distinct domains (or addresses) of the good rows, one per line: one
 * text parameter that SQL splits with string_to_array. */
static void join_rows(struct import *im, bool domains, struct ers_buf *out)
{
	ers_buf_reset(out);
	for (size_t i = 0; i < im->nrows; i++) {
		const struct row *r = &im->rows[i];
		if (!r->address)
			continue;
		ers_buf_addf(out, "%s%s", out->len ? "\n" : "", domains ? r->domain : r->address);
	}
}

static int cmp_domain(const void *a, const void *b)
{
	return strcmp(((const struct domain_info *)a)->name, ((const struct domain_info *)b)->name);
}

static void free_domains(struct import *im)
{
	for (size_t i = 0; i < im->ndomains; i++) {
		free(im->domains[i].name);
		free(im->domains[i].tenant_name);
	}
	free(im->domains);
	im->domains = NULL;
	im->ndomains = 0;
}

static const struct domain_info *find_domain(const struct import *im, const char *name)
{
	struct domain_info key = { .name = (char *)name };
	return im->ndomains ? bsearch(&key, im->domains, im->ndomains, sizeof key, cmp_domain) : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct tenant_total {
	long long id;
	size_t rows;
	long long quota_sum;
	size_t rows_without_quota;
};

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Step 2 (and again inside the transaction, with the tenants locked). */
static int check_database(struct import *im, bool in_tx, struct ers_error *err)
{
	struct ers_ctx *ctx = im->ctx;
	struct ers_buf list = ERS_BUF_INIT;
	PGresult *res = NULL;
	int rc = -1;
	join_rows(im, true, &list);
	if (!list.len) { /* no good row: nothing to look up */
		ers_buf_free(&list);
		return 0;
	}
	const char *dparams[] = { list.data };
	if (in_tx && ers_db_run(ctx,
			 "SELECT id FROM ers.tenant WHERE id IN (SELECT tenant_id FROM ers.domain"
			 " WHERE name = ANY (string_to_array($1, E'\\n'))) ORDER BY id FOR UPDATE", 1, dparams, err) < 0)
		goto out;
	/* Domains and the tenants that own them. */
	res = ers_db_exec(ctx,
		"SELECT d.name, d.tenant_id, d.id, t.name FROM ers.domain d JOIN ers.tenant t ON t.id = d.tenant_id"
		" WHERE d.name = ANY (string_to_array($1, E'\\n')) ORDER BY d.name COLLATE \"C\"", 1, dparams, err);
	if (!res)
		goto out;
	free_domains(im);
	im->ndomains = (size_t)PQntuples(res);
	im->domains = ers_xcalloc(im->ndomains ? im->ndomains : 1, sizeof *im->domains);
	for (size_t i = 0; i < im->ndomains; i++) {
		im->domains[i].name = ers_xstrdup(ers_db_str(res, (int)i, 0));
		im->domains[i].tenant_id = ers_db_ll(res, (int)i, 1);
		im->domains[i].domain_id = ers_db_ll(res, (int)i, 2);
		im->domains[i].tenant_name = ers_xstrdup(ers_db_str(res, (int)i, 3));
	}
	PQclear(res);
	qsort(im->domains, im->ndomains, sizeof *im->domains, cmp_domain);

	/* Each row: its domain, --tenant, and the policy. */
	for (size_t i = 0; i < im->nrows; i++) {
		struct row *r = &im->rows[i];
		if (!r->address)
			continue;
		const struct domain_info *d = find_domain(im, r->domain);
		r->tenant_id = d ? d->tenant_id : 0;
		r->domain_id = d ? d->domain_id : 0;
		r->tenant_name = d ? d->tenant_name : NULL;
		/* The policy first: a row it refuses is checked no further, so that
		 * nothing about another tenant (its name, its addresses, its limits,
		 * whether it has the domain at all) is told to a tenant admin. */
		struct ers_authz_target t = { .tenant_id = d ? d->tenant_id : 0, .is_user = true, .user_role = r->role };
		struct ers_error e = { 0 };
		if (!d && ers_authz_sees_missing(im->actor, ERS_ACT_USER_CREATE, &t)) {
			row_problem(im, r, ERS_E_INVALID,
				    "domain %s is not one of any tenant's domains (see: ersctl tenant domain list)", r->domain);
			continue;
		}
		/* (a domain no tenant has: tenant 0, which the policy gives no one else) */
		if (ers_authz_check(im->actor, ERS_ACT_USER_CREATE, &t, &e) < 0 || !d) {
			row_problem(im, r, ERS_E_PERMISSION, "%s with role %s: %s", r->address, ers_role_name(r->role),
				    e.message);
			r->refused = true;
			r->tenant_id = 0;
			continue;
		}
		if (im->only_tenant && d->tenant_id != im->only_tenant)
			row_problem(im, r, ERS_E_INVALID, "%s is in tenant \"%s\", not in \"%s\" (--tenant)", r->address,
				    d->tenant_name, im->only_tenant_name);
	}

	/* Addresses already taken by a mailbox, an alias or a forward. */
	join_rows(im, false, &list);
	const char *aparams[] = { list.data };
	res = ers_db_exec(ctx, "SELECT address, kind FROM ers.address_claim WHERE address = ANY (string_to_array($1, E'\\n'))",
			  1, aparams, err);
	if (!res)
		goto out;
	size_t taken = (size_t)PQntuples(res);
	if (taken) {
		struct claim { const char *address, *kind; } *claims = ers_xcalloc(taken, sizeof *claims);
		for (size_t k = 0; k < taken; k++) {
			claims[k].address = PQgetvalue(res, (int)k, 0);
			claims[k].kind = PQgetvalue(res, (int)k, 1);
		}
		qsort(claims, taken, sizeof *claims, cmp_str); /* by address, the first member */
		for (size_t i = 0; i < im->nrows; i++) {
			struct row *r = &im->rows[i];
			struct claim key = { r->address, NULL };
			const struct claim *hit = r->address && !r->refused ? bsearch(&key, claims, taken, sizeof *claims, cmp_str) : NULL;
			if (hit)
				row_problem(im, r, ERS_E_INVALID, "address %s is already used by %s %s", r->address,
					    !strcmp(hit->kind, "alias") ? "an" : "a", hit->kind);
		}
		free(claims);
	}
	PQclear(res);
	res = NULL;

	/* Tenant limits, on the file's totals per tenant. */
	struct tenant_total *tt = ers_xcalloc(im->nrows ? im->nrows : 1, sizeof *tt);
	long long *ids = ers_xcalloc(im->nrows ? im->nrows : 1, sizeof *ids);
	size_t nids = 0, ntt = 0;
	for (size_t i = 0; i < im->nrows; i++)
		if (im->rows[i].tenant_id)
			ids[nids++] = im->rows[i].tenant_id;
	qsort(ids, nids, sizeof *ids, cmp_ll);
	for (size_t i = 0; i < nids; i++)
		if (!ntt || tt[ntt - 1].id != ids[i])
			tt[ntt++].id = ids[i];
	ers_buf_reset(&list);
	for (size_t k = 0; k < ntt; k++)
		ers_buf_addf(&list, "%s%lld", k ? "," : "", tt[k].id);
	for (size_t i = 0; i < im->nrows; i++) {
		const struct row *r = &im->rows[i];
		if (!r->tenant_id)
			continue;
		struct tenant_total *t = bsearch(&r->tenant_id, tt, ntt, sizeof *tt, cmp_ll);
		t->rows++;
		if (r->quota_mb >= 0)
			t->quota_sum += r->quota_mb;
		else
			t->rows_without_quota++;
	}
	rc = 0;
	if (ntt) {
		const char *tparams[] = { list.data };
		res = ers_db_exec(ctx,
			"SELECT t.id, " ERS_SQL_TENANT_USE
			" FROM ers.tenant t WHERE t.id = ANY (string_to_array($1, ',')::bigint[]) ORDER BY t.id",
			1, tparams, err);
		if (!res)
			rc = -1;
	}
	for (int k = 0; res && k < PQntuples(res); k++) {
		long long id = ers_db_ll(res, k, 0);
		struct ers_tenant_use use;
		ers_tenant_use_fill(&use, res, k, 1);
		const struct tenant_total *t = bsearch(&id, tt, ntt, sizeof *tt, cmp_ll);
		if (!t)
			continue;
		struct ers_tenant_growth grow = { .users = (long long)t->rows, .quota_mb = t->quota_sum, .from_file = true };
		struct ers_tenant_refusal why;
		ers_tenant_may_grow(&use, &grow, &why);
		if (why.users)
			file_problem(im, why.why_users.code, "%s", why.why_users.message);
		if (use.max_storage_mb < 0)
			continue;
		for (size_t i = 0; t->rows_without_quota && i < im->nrows; i++) {
			struct row *r = &im->rows[i];
			if (r->tenant_id == id && r->quota_mb < 0)
				row_problem(im, r, ERS_E_INVALID,
					    "tenant \"%s\" has a storage limit of %lld MB, so every mailbox needs a quota",
					    use.name, use.max_storage_mb);
		}
		if (why.storage)
			file_problem(im, why.why_storage.code, "%s", why.why_storage.message);
	}
	PQclear(res);
	free(tt);
	free(ids);
out:
	ers_buf_free(&list);
	return rc;
}

/* --- step 3: temporary passwords, hashed on every core ------------------------ */

struct hash_job {
	struct row *rows;
	size_t n;
	atomic_size_t next;
	atomic_bool failed;
};

/* Rows are taken one at a time, so that a slow core does not hold the
 * others up; ers_password_hash is thread-safe (crypt_rn, its own state). */
static void *hash_worker(void *arg)
{
	struct hash_job *job = arg;
	struct ers_buf pw = ERS_BUF_INIT, hash = ERS_BUF_INIT;
	struct ers_error e;
	for (;;) {
		size_t i = atomic_fetch_add(&job->next, 1);
		if (i >= job->n || atomic_load(&job->failed))
			break;
		struct row *r = &job->rows[i];
		if (ers_password_generate(&pw, &e) < 0 || ers_password_hash(pw.data, &hash, &e) < 0) {
			atomic_store(&job->failed, true);
			break;
		}
		r->hash = ers_xstrdup(hash.data);
		r->password = ers_xstrdup(pw.data);
	}
	ers_buf_free_secret(&pw);
	ers_buf_free(&hash);
	return NULL;
}

static size_t cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

static int hash_passwords(struct import *im, struct ers_error *err)
{
	struct hash_job job = { .rows = im->rows, .n = im->nrows };
	atomic_init(&job.next, 0);
	atomic_init(&job.failed, false);
	size_t nthreads = cpu_count();
	if (nthreads > im->nrows)
		nthreads = im->nrows;
	if (nthreads > 256)
		nthreads = 256;
	pthread_t threads[256];
	size_t started = 0;
	for (size_t i = 1; i < nthreads; i++) /* this thread is one of them */
		if (pthread_create(&threads[started], NULL, hash_worker, &job) == 0)
			started++;
	hash_worker(&job);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (atomic_load(&job.failed)) {
		ers_error_set(err, ERS_E_INTERNAL, "generating or hashing a temporary password failed (crypt_rn, yescrypt)");
		return -1;
	}
	return 0;
}

/* --- step 4: COPY ------------------------------------------------------------ */

/* A value in COPY's text format. */
static void copy_value(struct ers_buf *b, const char *s)
{
	if (!s) {
		ers_buf_adds(b, "\\N");
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\\': ers_buf_adds(b, "\\\\"); break;
		case '\t': ers_buf_adds(b, "\\t"); break;
		case '\n': ers_buf_adds(b, "\\n"); break;
		case '\r': ers_buf_adds(b, "\\r"); break;
		default: ers_buf_addch(b, *s);
		}
	}
}

static int insert_rows(struct import *im, struct ers_error *err)
{
	struct ers_buf claims = ERS_BUF_INIT, boxes = ERS_BUF_INIT;
	for (size_t i = 0; i < im->nrows; i++) {
		const struct row *r = &im->rows[i];
		ers_buf_addf(&claims, "%s\t%lld\t%lld\tmailbox\n", r->address, r->tenant_id, r->domain_id);
		ers_buf_addf(&boxes, "%lld\t", r->tenant_id);
		copy_value(&boxes, r->address);
		ers_buf_addch(&boxes, '\t');
		copy_value(&boxes, r->first_name);
		ers_buf_addch(&boxes, '\t');
		copy_value(&boxes, r->last_name);
		ers_buf_addf(&boxes, "\t%s\t", ers_role_name(r->role));
		copy_value(&boxes, r->hash);
		if (r->quota_mb >= 0)
			ers_buf_addf(&boxes, "\t%lld", r->quota_mb);
		else
			ers_buf_adds(&boxes, "\t\\N");
		ers_buf_addf(&boxes, "\t%s\t%s\t%s\n", r->status == ROW_ACTIVE ? "active" : "disabled",
			     r->status == ROW_ACTIVE ? "\\N" : r->status == ROW_DISABLED_SELF ? "self" : "admin",
			     r->internal_only ? "t" : "f");
	}
	int rc = ers_db_copy_in(im->ctx, "COPY ers.address_claim (address, tenant_id, domain_id, kind) FROM STDIN",
			 "address claims", &claims, err);
	if (rc == 0)
		rc = ers_db_copy_in(im->ctx,
			     "COPY ers.mailbox (tenant_id, address, first_name, last_name, role, password_hash, quota_mb,"
			     " status, disabled_by, internal_only) FROM STDIN", "mailboxes", &boxes, err);
	ers_buf_free(&claims);
	ers_buf_free_secret(&boxes); /* holds hashes */
	return rc;
}

/* --- the import --------------------------------------------------------------- */

/* Sorts the problems by row -- a stable merge sort, so that each row's stay
 * in the order found -- with the problems of the whole file last. */
static bool problem_before(const struct ers_import_problem *x, const struct ers_import_problem *y)
{
	if (x->whole_file != y->whole_file)
		return !x->whole_file;
	return x->where < y->where;
}

static void sort_problems(struct ers_import_result *res)
{
	size_t n = res->nproblems;
	struct ers_import_problem *a = res->problems, *tmp = ers_xcalloc(n ? n : 1, sizeof *tmp);
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = problem_before(&a[j], &a[i]) ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof *a);
	}
	free(tmp);
}

/* Ends an import that found problems: the summary in `err`, the policy's
 * refusal audited (outside any transaction). */
static int fail_with_problems(struct import *im, struct ers_error *err)
{
	struct ers_import_result *res = im->res;
	res->bad_rows = 0;
	for (size_t i = 0; i < im->nrows; i++)
		res->bad_rows += im->rows[i].bad;
	size_t file_level = 0, header = 0;
	for (size_t i = 0; i < res->nproblems; i++) {
		file_level += res->problems[i].whole_file;
		header += !res->problems[i].whole_file && im->opt->format == ERS_FORMAT_CSV && res->problems[i].where == 1;
	}
	bool header_bad = header > 0;
	size_t bad = res->bad_rows + header_bad;
	sort_problems(res);
	bool invalid = false;
	for (size_t i = 0; i < res->nproblems; i++)
		invalid |= res->problems[i].code == ERS_E_INVALID;
	enum ers_error_code code = im->refused ? ERS_E_PERMISSION : invalid ? ERS_E_INVALID : ERS_E_CONFLICT;
	const char *unit = im->opt->format == ERS_FORMAT_CSV ? "line" : "item";
	if (bad)
		ers_error_set(err, code, "%s: %zu bad %s%s%s, nothing was imported", im->opt->source, bad, unit,
			      bad == 1 ? "" : "s", file_level ? " and a limit exceeded" : "");
	else
		ers_error_set(err, code, "%s: nothing was imported", im->opt->source);
	if (im->refused) {
		struct ers_buf why = ERS_BUF_INIT;
		size_t shown = 0;
		for (size_t i = 0; i < res->nproblems && why.len < 900; i++) {
			const struct ers_import_problem *p = &res->problems[i];
			if (p->code != ERS_E_PERMISSION)
				continue;
			ers_buf_addf(&why, "%s%s %zu: %s", shown++ ? "; " : "", res->where_name, p->where, p->message);
		}
		ers_audit_denied(im->ctx, im->actor, "user.import", im->opt->source,
				 im->only_tenant ? im->only_tenant : im->actor->tenant_id, why.data);
		ers_buf_free(&why);
	}
	return -1;
}

static void import_free(struct import *im)
{
	for (size_t i = 0; i < im->nrows; i++)
		row_clear(&im->rows[i]);
	free(im->rows);
	free(im->only_tenant_name);
	free_domains(im);
}

/* The audit row: the count, where from, and per tenant. */
static void audit_detail(const struct import *im, struct ers_buf *detail, long long *tenant_id_r,
			 const char **tenant_name_r)
{
	const struct ers_import_options *opt = im->opt;
	ers_buf_addf(detail, "%zu users from %s (%s, profile %s)%s", im->nrows, opt->source,
		     opt->format == ERS_FORMAT_CSV ? "csv" : "json",
		     opt->profile == ERS_PROFILE_ERS ? "ers" : "postfixadmin",
		     opt->generate_passwords ? ", with generated temporary passwords" : ", with the file's password hashes");
	long long only = im->rows[0].tenant_id;
	bool one = true;
	for (size_t i = 1; i < im->nrows && one; i++)
		one = im->rows[i].tenant_id == only;
	*tenant_id_r = one ? only : 0;
	*tenant_name_r = one ? im->rows[0].tenant_name : NULL;
	if (one)
		return;
	/* Users per tenant, in the order of the domain map (by domain name). */
	ers_buf_adds(detail, "; tenants:");
	for (size_t d = 0; d < im->ndomains; d++) {
		bool seen = false;
		for (size_t k = 0; k < d && !seen; k++)
			seen = im->domains[k].tenant_id == im->domains[d].tenant_id;
		if (seen)
			continue;
		size_t n = 0;
		for (size_t i = 0; i < im->nrows; i++)
			n += im->rows[i].tenant_id == im->domains[d].tenant_id;
		ers_buf_addf(detail, " %s (%zu)", im->domains[d].tenant_name, n);
	}
}

int ers_user_import(struct ers_ctx *ctx, const struct ers_actor *actor,
		    const struct ers_import_options *opt, const char *data, size_t len,
		    struct ers_import_result **result_r, struct ers_error *err)
{
	*result_r = NULL;
	struct ers_import_options o = *opt;
	if (!o.source || !*o.source)
		o.source = "the file";
	struct ers_import_result *res = ers_xcalloc(1, sizeof *res);
	res->where_name = o.format == ERS_FORMAT_CSV ? "line" : "index";
	struct import im = { .ctx = ctx, .actor = actor, .opt = &o, .res = res };
	int rc = -1;

	/* One refusal, not one per row, for an actor who may add no user here
	 * -- nor in the tenant named, or in none when it names none. */
	struct ers_authz_target anyone = { .tenant_id = actor->tenant_id, .is_user = true, .user_role = ERS_ROLE_USER };
	if (o.tenant ? ers_tenant_resolve_for(ctx, actor, ERS_ACT_USER_CREATE, &anyone, o.tenant, &im.only_tenant,
					      &im.only_tenant_name, err) < 0
		     : ers_authz_require(ctx, actor, ERS_ACT_USER_CREATE, &anyone, o.source, err) < 0)
		goto fail;

	/* Steps 1 and 2. */
	if (o.format == ERS_FORMAT_CSV)
		parse_csv(&im, data, len);
	else
		parse_json(&im, data, len);
	if (!res->nproblems && !im.nrows)
		file_problem(&im, ERS_E_INVALID, "the file holds no users");
	check_duplicates(&im);
	if (check_database(&im, false, err) < 0)
		goto fail;
	if (res->nproblems) {
		*result_r = res;
		res = NULL;
		rc = fail_with_problems(&im, err);
		goto out;
	}

	/* Step 3. */
	if (o.generate_passwords && hash_passwords(&im, err) < 0)
		goto fail;

	/* Step 4. */
	if (ers_db_begin(ctx, err) < 0)
		goto fail;
	if (check_database(&im, true, err) < 0) {
		ers_db_rollback(ctx);
		goto fail;
	}
	if (res->nproblems) { /* changed since step 2 */
		ers_db_rollback(ctx);
		*result_r = res;
		res = NULL;
		rc = fail_with_problems(&im, err);
		goto out;
	}
	if (insert_rows(&im, err) < 0) {
		ers_db_rollback(ctx);
		goto fail;
	}
	struct ers_buf detail = ERS_BUF_INIT;
	long long tenant_id;
	const char *tenant_name;
	audit_detail(&im, &detail, &tenant_id, &tenant_name);
	char target[300];
	if (tenant_name)
		snprintf(target, sizeof target, "%s", tenant_name);
	else
		snprintf(target, sizeof target, "%zu users", im.nrows);
	rc = ers_db_commit_audited(ctx, actor, "user.import", target, tenant_id, tenant_name, detail.data, err);
	ers_buf_free(&detail);
	if (rc < 0)
		goto fail;
	res->imported = im.nrows;
	if (o.generate_passwords) {
		res->passwords = ers_xcalloc(im.nrows, sizeof *res->passwords);
		res->npasswords = im.nrows;
		for (size_t i = 0; i < im.nrows; i++) {
			res->passwords[i].address = im.rows[i].address;
			res->passwords[i].password = im.rows[i].password;
			im.rows[i].address = NULL;
			im.rows[i].password = NULL;
		}
	}
	*result_r = res;
	res = NULL;
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	ers_import_result_free(res);
	import_free(&im);
	return rc;
}

void ers_import_result_free(struct ers_import_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i].message);
	free(r->problems);
	for (size_t i = 0; i < r->npasswords; i++) {
		free(r->passwords[i].address);
		ers_free_secret(r->passwords[i].password);
	}
	free(r->passwords);
	free(r);
}

/* --- export --------------------------------------------------------------------- */

/* A CSV field, quoted when it must be (RFC 4180). */
static void csv_field(struct ers_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!*s || s[strlen(s) - 1] != ' ')) {
		ers_buf_adds(b, s);
		return;
	}
	ers_buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			ers_buf_addch(b, '"');
		ers_buf_addch(b, *s);
	}
	ers_buf_addch(b, '"');
}

static const char *export_status(const char *status, const char *disabled_by)
{
	return strcmp(status, "disabled") ? "active" : !strcmp(disabled_by, "self") ? "disabled_by_user" : "disabled";
}

int ers_user_export(struct ers_ctx *ctx, const struct ers_actor *actor,
		    const struct ers_export_options *opt, struct ers_buf *out, size_t *count_r,
		    struct ers_error *err)
{
	long long tenant_id = 0;
	char *tenant_name = NULL;
	/* Who sees whom, as in ers_user_list: users only themselves, tenant
	 * admins the regular users of their tenant. */
	bool self_only = actor->role == ERS_ROLE_USER;
	bool regular_only = actor->role == ERS_ROLE_TENANT_ADMIN;
	struct ers_list_scope sc;
	if (ers_authz_list_scope(ctx, actor, ERS_ACT_USER_VIEW, opt->tenant, "users", &sc, err) < 0)
		return -1;
	tenant_id = sc.tenant_id;
	if (opt->tenant && tenant_id) { /* its name as stored, for the audit row */
		long long same;
		if (ers_tenant_resolve(ctx, opt->tenant, &same, &tenant_name, err) < 0)
			return -1;
	}
	const char *desc = opt->tenant ? opt->tenant : "users";
	bool itself = self_only && (!tenant_id || tenant_id == actor->tenant_id);
	/* Hashes go only to whoever may set those users' passwords anyway. */
	struct ers_authz_target reset = { .tenant_id = tenant_id, .user_id = itself ? actor->user_id : 0,
					  .is_user = self_only, .user_role = actor->role };
	if (opt->with_hashes && ers_authz_require(ctx, actor, ERS_ACT_USER_RESET_PASSWORD, &reset, desc, err) < 0) {
		free(tenant_name);
		return -1;
	}
	if (opt->with_hashes && ers_db_begin(ctx, err) < 0) {
		free(tenant_name);
		return -1;
	}
	struct ers_num tid = ers_num(tenant_id), self = ers_num(actor->user_id);
	const char *params[] = { tenant_id ? tid.s : NULL, self_only ? self.s : NULL, regular_only ? "user" : NULL,
				 opt->with_hashes ? "t" : "f" };
	PGresult *res = ers_db_exec(ctx,
		"SELECT m.address, m.first_name, m.last_name, m.role, m.quota_mb, m.status, coalesce(m.disabled_by, ''),"
		" m.internal_only, CASE WHEN $4::bool THEN m.password_hash END"
		" FROM ers.mailbox m"
		" WHERE ($1::bigint IS NULL OR m.tenant_id = $1::bigint) AND ($2::bigint IS NULL OR m.id = $2::bigint)"
		" AND ($3::text IS NULL OR m.role = $3) ORDER BY m.address", 4, params, err);
	if (!res) {
		ers_db_rollback(ctx);
		free(tenant_name);
		return -1;
	}
	int n = PQntuples(res);
	ers_buf_reset(out);
	if (opt->format == ERS_FORMAT_CSV) {
		ers_buf_adds(out, "address,first_name,last_name,role,quota_mb,status,internal_only");
		ers_buf_adds(out, opt->with_hashes ? ",password_hash\n" : "\n");
		for (int r = 0; r < n; r++) {
			for (int col = 0; col < 4; col++) {
				csv_field(out, ers_db_str(res, r, col));
				ers_buf_addch(out, ',');
			}
			ers_buf_addf(out, "%s,%s,%s", ers_db_str(res, r, 4), export_status(ers_db_str(res, r, 5), ers_db_str(res, r, 6)),
				     ers_db_str(res, r, 7)[0] == 't' ? "true" : "false");
			if (opt->with_hashes) {
				ers_buf_addch(out, ',');
				csv_field(out, ers_db_str(res, r, 8));
			}
			ers_buf_addch(out, '\n');
		}
	} else {
		json_t *arr = json_array();
		for (int r = 0; r < n; r++) {
			json_t *o = json_object();
			json_object_set_new(o, "address", json_string(ers_db_str(res, r, 0)));
			json_object_set_new(o, "first_name", json_string(ers_db_str(res, r, 1)));
			json_object_set_new(o, "last_name", json_string(ers_db_str(res, r, 2)));
			json_object_set_new(o, "role", json_string(ers_db_str(res, r, 3)));
			json_object_set_new(o, "quota_mb", ers_db_isnull(res, r, 4) ? json_null() : json_integer(ers_db_ll(res, r, 4)));
			json_object_set_new(o, "status", json_string(export_status(ers_db_str(res, r, 5), ers_db_str(res, r, 6))));
			json_object_set_new(o, "internal_only", json_boolean(ers_db_str(res, r, 7)[0] == 't'));
			if (opt->with_hashes)
				json_object_set_new(o, "password_hash", json_string(ers_db_str(res, r, 8)));
			json_array_append_new(arr, o);
		}
		char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(arr);
		if (!text)
			ERS_BUG("json_dumps failed");
		ers_buf_adds(out, text);
		ers_buf_addch(out, '\n');
		free(text);
	}
	PQclear(res);
	int rc = 0;
	if (opt->with_hashes) {
		/* Password hashes leaving the database: recorded like a change. */
		char detail[120];
		snprintf(detail, sizeof detail, "%d users with their password hashes (%s)", n,
			 opt->format == ERS_FORMAT_CSV ? "csv" : "json");
		rc = ers_db_commit_audited(ctx, actor, "user.export", tenant_name ? tenant_name : "users", tenant_id,
					   tenant_name, detail, err);
		if (rc < 0)
			ers_buf_free_secret(out);
	}
	free(tenant_name);
	*count_r = rc == 0 ? (size_t)n : 0;
	return rc;
}
