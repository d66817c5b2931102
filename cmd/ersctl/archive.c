/* ersctl archive ...: personal and tenant mail archives (ers/archive.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static json_t *archive_json(const struct ers_archive *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "address", json_string(a->address));
	json_object_set_new(o, "tenant", json_string(a->tenant));
	json_object_set_new(o, "kind", json_string(a->kind));
	json_object_set_new(o, "created_by", json_string(a->created_by));
	json_t *f = json_array();
	for (size_t i = 0; i < a->nfolders; i++)
		json_array_append_new(f, json_string(a->folders[i]));
	json_object_set_new(o, "folders", f);
	json_object_set_new(o, "older_than_days", json_integer(a->older_than_days));
	json_object_set_new(o, "cutoff", json_string(a->cutoff));
	json_object_set_new(o, "format", json_string(a->format));
	json_object_set_new(o, "delete_after", json_boolean(a->delete_after));
	json_object_set_new(o, "state", json_string(a->state));
	json_object_set_new(o, "messages", json_integer(a->messages));
	json_object_set_new(o, "plain_bytes", json_integer(a->plain_bytes));
	json_object_set_new(o, "bytes", json_integer(a->bytes));
	json_object_set_new(o, "expunged", json_integer(a->expunged));
	json_object_set_new(o, "sha256", json_str_or_null(a->sha256));
	json_object_set_new(o, "path", json_str_or_null(a->path));
	json_object_set_new(o, "error", json_str_or_null(a->error));
	json_object_set_new(o, "destination", json_string(a->destination));
	json_object_set_new(o, "remote_url", json_str_or_null(a->remote_url));
	json_object_set_new(o, "created_at", json_string(a->created_at));
	json_object_set_new(o, "finished_at", json_str_or_null(a->finished_at));
	return o;
}

static void print_list(struct cli *c, const struct ers_archive_list *l, const char *key)
{
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++)
			json_array_append_new(arr, archive_json(&l->items[i]));
		out_json(c, json_pack("{s:o}", key, arr));
		return;
	}
	static const char *const head[] = { "ID", "MAILBOX", "KIND", "FORMAT", "STATE", "MESSAGES", "BYTES", "CREATED",
					    "ERROR" };
	struct table tab;
	table_init(&tab, 9, head);
	for (size_t i = 0; i < l->count; i++) {
		const struct ers_archive *a = &l->items[i];
		char id[24], m[24], b[24];
		snprintf(id, sizeof id, "%lld", a->id);
		snprintf(m, sizeof m, "%lld", a->messages);
		snprintf(b, sizeof b, "%lld", a->bytes);
		table_row(&tab, id, a->address, a->kind, a->format, a->state, m, b, a->created_at, a->error ? a->error : "");
	}
	table_print(&tab);
}

static int parse_id(struct cli *c, long long *id)
{
	return ers_int_parse(c->args[0], "archive ID", 1, 9007199254740991LL, id, &c->err);
}

/* yes|no into 1|0; absent: -1. */
static int yes_no(struct cli *c, const char *opt, int *v)
{
	const char *s = cli_opt(c, opt);
	*v = -1;
	if (!s)
		return 0;
	if (!strcmp(s, "yes"))
		*v = 1;
	else if (!strcmp(s, "no"))
		*v = 0;
	else {
		ers_error_set(&c->err, ERS_E_USAGE, "--%s must be yes or no, got \"%.40s\"", opt, s);
		return -1;
	}
	return 0;
}

/* --older-than DAYS; absent: -1. */
static int days_opt(struct cli *c, int *days)
{
	*days = -1;
	if (!cli_opt(c, "older-than"))
		return 0;
	long long v;
	if (ers_int_parse(cli_opt(c, "older-than"), "--older-than (days)", 0, ERS_ARCHIVE_MAX_DAYS, &v, &c->err) < 0)
		return -1;
	*days = (int)v;
	return 0;
}

/* A progress bar on a terminal only: messages, bytes, rate, time left. */
struct bar {
	time_t start;
	time_t last;
};

static void progress(void *arg, long long done, long long total, long long bytes)
{
	struct bar *b = arg;
	time_t now = time(NULL);
	if (done && done != total && now == b->last)
		return;
	b->last = now;
	double secs = difftime(now, b->start);
	double rate = secs > 0 ? bytes / secs : 0;
	long left = done && secs > 0 && done < total ? (long)(secs * (double)(total - done) / (double)done) : 0;
	fprintf(stderr, "\r%lld/%lld messages, %.1f MB, %.1f MB/s, %ld s left   ", done, total, bytes / 1048576.0,
		rate / 1048576.0, left);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

int cmd_archive_create(struct cli *c)
{
	const char *folders[ERS_ARCHIVE_MAX_FOLDERS + 1];
	size_t nf = cli_opt_all(c, "folder", folders, ERS_ARCHIVE_MAX_FOLDERS + 1);
	struct bar bar = { .start = time(NULL) };
	struct ers_archive_spec spec = { .address = c->nargs ? c->args[0] : NULL, .tenant = cli_opt(c, "tenant"),
					 .folders = folders, .nfolders = nf, .format = cli_opt(c, "format"),
					 .delete_after = cli_flag(c, "delete-after") ? 1 : -1,
					 .destination = cli_opt(c, "to") };
	if (days_opt(c, &spec.older_than_days) < 0)
		return -1;
	if (isatty(2) && !c->quiet && !c->json) {
		spec.progress = progress;
		spec.progress_arg = &bar;
	}
	struct ers_archive_list *list = NULL;
	int rc = ers_archive_create(c->ctx, &c->actor, &spec, &list, &c->err);
	if (list) {
		if (c->json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < list->count; i++)
				json_array_append_new(arr, archive_json(&list->items[i]));
			/* On failure the error object is printed after this. */
			if (rc == 0)
				out_json(c, json_pack("{s:o}", "archives", arr));
			else
				json_decref(arr);
		} else {
			for (size_t i = 0; i < list->count; i++) {
				const struct ers_archive *a = &list->items[i];
				if (!strcmp(a->state, "failed"))
					continue;
				out_note(c, "archive %lld of %s: %lld messages, %lld bytes (%s, encrypted), %s%s", a->id, a->address,
					 a->messages, a->bytes, a->format, a->state,
					 a->expunged ? ", messages deleted from the mailbox" : "");
			}
		}
	}
	ers_archive_list_free(list);
	return rc;
}

static int list_common(struct cli *c, bool failed)
{
	struct ers_archive_filter f = { .tenant = cli_opt(c, "tenant"), .failed_only = failed };
	struct ers_archive_list *list;
	if (ers_archive_list(c->ctx, &c->actor, &f, &list, &c->err) < 0)
		return -1;
	print_list(c, list, failed ? "failures" : "archives");
	ers_archive_list_free(list);
	return 0;
}

int cmd_archive_list(struct cli *c) { return list_common(c, false); }
int cmd_archive_failures(struct cli *c) { return list_common(c, true); }

static void print_one(struct cli *c, const struct ers_archive *a)
{
	if (c->json) {
		out_json(c, archive_json(a));
		return;
	}
	printf("id:            %lld\naddress:       %s\ntenant:        %s\nkind:          %s\ncreated by:    %s\n", a->id,
	       a->address, a->tenant, a->kind, a->created_by);
	printf("folders:       ");
	if (!a->nfolders)
		printf("(all)");
	for (size_t i = 0; i < a->nfolders; i++)
		printf("%s%s", i ? ", " : "", a->folders[i]);
	printf("\nolder than:    %d days (cutoff %s)\nformat:        %s\ndelete after:  %s\nstate:         %s\n",
	       a->older_than_days, a->cutoff, a->format, a->delete_after ? "yes" : "no", a->state);
	printf("messages:      %lld (%lld bytes before encryption)\nbytes:         %lld\nexpunged:      %lld\n", a->messages,
	       a->plain_bytes, a->bytes, a->expunged);
	printf("sha256:        %s\npath:          %s\ncreated:       %s\nfinished:      %s\n", a->sha256 ? a->sha256 : "-",
	       a->path ? a->path : "-", a->created_at, a->finished_at[0] ? a->finished_at : "-");
	printf("destination:   %s%s%s\n", a->destination, a->remote_url ? " " : "", a->remote_url ? a->remote_url : "");
	if (a->error)
		printf("error:         %s\n", a->error);
}

int cmd_archive_show(struct cli *c)
{
	long long id;
	struct ers_archive *a;
	if (parse_id(c, &id) < 0 || ers_archive_show(c->ctx, &c->actor, id, &a, &c->err) < 0)
		return -1;
	print_one(c, a);
	ers_archive_free(a);
	return 0;
}

int cmd_archive_verify(struct cli *c)
{
	long long id;
	struct ers_archive *a = NULL;
	if (parse_id(c, &id) < 0)
		return -1;
	int rc = ers_archive_verify(c->ctx, &c->actor, id, &a, &c->err);
	if (rc == 0) {
		if (c->json)
			out_json(c, json_pack("{s:I,s:b,s:s,s:I}", "id", (json_int_t)id, "ok", 1, "sha256", a->sha256,
					      "bytes", (json_int_t)a->bytes));
		else
			out_note(c, "archive %lld is intact: SHA-256 %s, %lld bytes", id, a->sha256, a->bytes);
	}
	ers_archive_free(a);
	return rc;
}

int cmd_archive_download(struct cli *c)
{
	long long id;
	const char *out = cli_opt(c, "output");
	if (parse_id(c, &id) < 0)
		return -1;
	if (ers_archive_download(c->ctx, &c->actor, id, out, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:I,s:s}", "id", (json_int_t)id, "output", out));
	else
		out_note(c, "archive %lld decrypted into %s", id, out);
	return 0;
}

int cmd_archive_delete(struct cli *c)
{
	long long id;
	if (parse_id(c, &id) < 0)
		return -1;
	char what[80];
	snprintf(what, sizeof what, "delete archive %lld and its stored file", id);
	if (cli_confirm(c, what, c->args[0]) < 0)
		return -1;
	if (ers_archive_delete(c->ctx, &c->actor, id, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1));
	else
		out_note(c, "deleted archive %lld", id);
	return 0;
}

/* The export passphrase: from --passphrase-file, else asked twice on the
 * terminal without echo. */
static int passphrase(struct cli *c, struct ers_buf *out)
{
	const char *path = cli_opt(c, "passphrase-file");
	if (path) {
		FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
		if (!f) {
			ers_error_set(&c->err, ERS_E_INVALID, "--passphrase-file: cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		char chunk[512];
		size_t n;
		while (out->len <= 4096 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			ers_buf_add(out, chunk, n);
		ers_wipe(chunk, sizeof chunk);
		if (f != stdin)
			fclose(f);
		while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
			out->data[--out->len] = '\0';
		return 0;
	}
	if (!isatty(0)) {
		ers_error_set(&c->err, ERS_E_USAGE, "give --passphrase-file FILE, or run on a terminal to type the passphrase");
		return -1;
	}
	struct ers_buf again = ERS_BUF_INIT;
	for (int round = 0; round < 2; round++) {
		struct ers_buf *b = round ? &again : out;
		fprintf(stderr, round ? "Repeat the passphrase: " : "Passphrase for the exported key (12 or more characters): ");
		fflush(stderr);
		struct termios old, quiet;
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
		int ch;
		while ((ch = getchar()) != EOF && ch != '\n')
			ers_buf_addch(b, (char)ch);
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	int rc = 0;
	if (strcmp(out->data, again.data)) {
		ers_error_set(&c->err, ERS_E_INVALID, "the two passphrases differ");
		rc = -1;
	}
	ers_buf_free_secret(&again);
	return rc;
}

int cmd_archive_key_export(struct cli *c)
{
	struct ers_buf pw = ERS_BUF_INIT;
	const char *out = cli_opt(c, "output");
	int rc = passphrase(c, &pw);
	if (rc == 0)
		rc = ers_archive_key_export(c->ctx, &c->actor, c->nargs ? c->args[0] : NULL, cli_opt(c, "tenant"), pw.data,
					    out, &c->err);
	ers_buf_free_secret(&pw);
	if (rc < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s}", "output", out));
	else
		out_note(c, "archive key written to %s, encrypted with the passphrase; open it with: gpg --decrypt %s | gpg --import",
			 out, out);
	return 0;
}

static void print_policy(struct cli *c, const struct ers_archive_policy *p)
{
	if (c->json) {
		out_json(c, json_pack("{s:s,s:s,s:i,s:b,s:b,s:b,s:o}", "tenant", p->tenant, "format", p->format,
				      "older_than_days", p->older_than_days, "delete_after", p->delete_after, "auto_archive",
				      p->auto_archive, "personal_auto_archive", p->personal_auto_archive, "updated_at",
				      json_str_or_null(p->updated_at)));
		return;
	}
	printf("tenant:        %s\nformat:        %s\nolder than:    %d days\ndelete after:  %s\nauto-archive:  %s\n"
	       "users' own auto-archive: %s\n%s\n",
	       p->tenant, p->format, p->older_than_days, p->delete_after ? "yes" : "no", p->auto_archive ? "yes" : "no",
	       p->personal_auto_archive ? "allowed" : "not allowed", p->updated_at[0] ? "" : "(the defaults: not set yet)");
}

static void print_preference(struct cli *c, const struct ers_archive_preference *p)
{
	if (c->json) {
		out_json(c, json_pack("{s:s,s:s,s:s,s:i,s:b,s:b,s:b}", "address", p->address, "format", p->format,
				      "destination", p->destination, "older_than_days", p->older_than_days, "auto_archive",
				      p->auto_archive, "auto_archive_allowed", p->auto_allowed, "chosen", p->chosen));
		return;
	}
	printf("mailbox:       %s\nformat:        %s\ndestination:   %s\nolder than:    %d days\nauto-archive:  %s%s\n%s",
	       p->address, p->format, p->destination, p->older_than_days, p->auto_archive ? "yes" : "no",
	       p->auto_allowed ? "" : " (the tenant does not allow personal auto-archive)",
	       p->chosen ? "" : "(the tenant's defaults: nothing chosen yet)\n");
}

int cmd_archive_policy_show(struct cli *c)
{
	if (c->nargs) {
		struct ers_archive_preference *p;
		if (ers_archive_preference_show(c->ctx, &c->actor, c->args[0], &p, &c->err) < 0)
			return -1;
		print_preference(c, p);
		ers_archive_preference_free(p);
		return 0;
	}
	struct ers_archive_policy *p;
	if (ers_archive_policy_show(c->ctx, &c->actor, cli_opt(c, "tenant"), &p, &c->err) < 0)
		return -1;
	print_policy(c, p);
	ers_archive_policy_free(p);
	return 0;
}

int cmd_archive_policy_set(struct cli *c)
{
	if (c->nargs) {
		/* A user's own preferences: no delete-after (the tenant's call) */
		static const char *const tenant_only[] = { "tenant", "delete-after", "personal-auto-archive" };
		for (size_t i = 0; i < 3; i++)
			if (cli_opt(c, tenant_only[i])) {
				ers_error_set(&c->err, ERS_E_USAGE, "--%s is for a tenant's policy, not a user's preferences (EMAIL)",
					      tenant_only[i]);
				return -1;
			}
		struct ers_archive_preference_change ch = { .format = cli_opt(c, "format"), .destination = cli_opt(c, "to") };
		if (days_opt(c, &ch.older_than_days) < 0 || yes_no(c, "auto-archive", &ch.auto_archive) < 0)
			return -1;
		struct ers_archive_preference *p;
		if (ers_archive_preference_set(c->ctx, &c->actor, c->args[0], &ch, &p, &c->err) < 0)
			return -1;
		print_preference(c, p);
		ers_archive_preference_free(p);
		return 0;
	}
	if (cli_opt(c, "to")) {
		ers_error_set(&c->err, ERS_E_USAGE, "--to is a user's preference: name the user (EMAIL)");
		return -1;
	}
	struct ers_archive_policy_change ch = { .format = cli_opt(c, "format") };
	if (days_opt(c, &ch.older_than_days) < 0 || yes_no(c, "delete-after", &ch.delete_after) < 0 ||
	    yes_no(c, "auto-archive", &ch.auto_archive) < 0 || yes_no(c, "personal-auto-archive", &ch.personal_auto_archive) < 0)
		return -1;
	struct ers_archive_policy *p;
	if (ers_archive_policy_set(c->ctx, &c->actor, cli_opt(c, "tenant"), &ch, &p, &c->err) < 0)
		return -1;
	print_policy(c, p);
	ers_archive_policy_free(p);
	return 0;
}

int cmd_archive_run(struct cli *c)
{
	struct ers_archive_run_result r;
	int rc = ers_archive_run(c->ctx, &c->actor, &r, &c->err);
	if (rc == 0 || r.due) {
		if (c->json && rc == 0)
			out_json(c, json_pack("{s:I,s:I,s:I,s:I}", "due", (json_int_t)r.due, "done", (json_int_t)r.done, "failed",
					      (json_int_t)r.failed, "recovered", (json_int_t)r.recovered));
		else
			out_note(c, "archive run: %lld mailboxes due, %lld archived, %lld failed; %lld interrupted jobs recovered",
				 r.due, r.done, r.failed, r.recovered);
	}
	return rc;
}

int cmd_archive_destination_add(struct cli *c)
{
	struct ers_buf secret = ERS_BUF_INIT;
	bool key = cli_opt(c, "key-file") != NULL;
	if (key && cli_opt(c, "password-file")) {
		ers_error_set(&c->err, ERS_E_USAGE, "give --password-file or --key-file, not both");
		return -1;
	}
	int got = cli_read_secret_file(c, key ? "key-file" : "password-file", &secret);
	if (got < 0) {
		ers_buf_free_secret(&secret);
		return -1;
	}
	if (key)
		ers_buf_addch(&secret, '\n'); /* the newline the reading dropped: OpenSSH keys end with one */
	struct ers_archive_destination_spec s = {
		.tenant = cli_opt(c, "tenant"), .name = c->args[0], .url = cli_opt(c, "url"), .username = cli_opt(c, "user"),
		.secret = got ? secret.data : NULL, .secret_len = got ? secret.len : 0, .secret_is_key = key,
		.host_key = cli_opt(c, "host-key"),
	};
	/* `ssh-keygen -lf` prints "SHA256:..." -- taken as it is printed. */
	if (s.host_key && !strncmp(s.host_key, "SHA256:", 7))
		s.host_key += 7;
	int rc = ers_archive_destination_add(c->ctx, &c->actor, &s, &c->err);
	ers_buf_free_secret(&secret);
	if (rc < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:s,s:b}", "name", s.name, "url", s.url, "added", 1));
	else
		out_note(c, "archive destination %s added: %s (its credential is stored sealed)", s.name, s.url);
	return 0;
}

int cmd_archive_destination_list(struct cli *c)
{
	struct ers_archive_destination *d;
	size_t n;
	if (ers_archive_destination_list(c->ctx, &c->actor, cli_opt(c, "tenant"), &d, &n, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "tenant", d[i].tenant, "name",
							     d[i].name, "kind", d[i].kind, "url", d[i].url, "user", d[i].username,
							     "host_key", d[i].host_key[0] ? json_string(d[i].host_key) : json_null(),
							     "created_at", d[i].created_at));
		out_json(c, json_pack("{s:o}", "destinations", arr));
	} else {
		static const char *const head[] = { "NAME", "KIND", "URL", "USER", "CREATED" };
		struct table tab;
		table_init(&tab, 5, head);
		for (size_t i = 0; i < n; i++)
			table_row(&tab, d[i].name, d[i].kind, d[i].url, d[i].username, d[i].created_at);
		table_print(&tab);
	}
	ers_archive_destinations_free(d, n);
	return 0;
}

int cmd_archive_destination_remove(struct cli *c)
{
	if (ers_archive_destination_remove(c->ctx, &c->actor, cli_opt(c, "tenant"), c->args[0], &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:b}", "name", c->args[0], "removed", 1));
	else
		out_note(c, "archive destination %s removed (archives uploaded there stay there)", c->args[0]);
	return 0;
}
