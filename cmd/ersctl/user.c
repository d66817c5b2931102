/* ersctl user ...: mailboxes and their owners. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

enum { SECRET_FILE_MAX = 65536 };

/* Reads a secret from FILE ("-": standard input): one trailing newline is
 * dropped; passwords never come from the command line, where ps shows them. */
int read_secret_file(struct cli *c, const char *opt, struct ers_buf *out)
{
	const char *path = cli_opt(c, opt);
	if (!path)
		return 0;
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: cannot read %s: %s", opt, path, strerror(errno));
		return -1;
	}
	/* The whole file, so that a length error names its real length, up to
	 * a bound far above any password. */
	char chunk[512];
	size_t n;
	while (out->len <= SECRET_FILE_MAX && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ers_buf_add(out, chunk, n);
	ers_wipe(chunk, sizeof chunk);
	int read_errno = ferror(f) ? errno : 0; /* a directory opens, but does not read */
	if (f != stdin)
		fclose(f);
	if (read_errno) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: cannot read %s: %s", opt, path, strerror(read_errno));
		return -1;
	}
	if (out->len > SECRET_FILE_MAX) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: %s holds more than %d bytes, far more than a password",
			      opt, path, SECRET_FILE_MAX);
		return -1;
	}
	if (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	if (out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	if (strlen(out->data) != out->len) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: the password must not contain a NUL byte", opt);
		return -1;
	}
	return 1;
}

static json_t *user_json(const struct ers_user *u)
{
	json_t *o = json_object();
	json_object_set_new(o, "address", json_string(u->address));
	json_object_set_new(o, "domain", json_string(u->domain));
	json_object_set_new(o, "tenant", json_string(u->tenant));
	json_object_set_new(o, "first_name", json_string(u->first_name));
	json_object_set_new(o, "last_name", json_string(u->last_name));
	json_object_set_new(o, "role", json_string(ers_role_name(u->role)));
	json_object_set_new(o, "quota_mb", json_limit(u->quota_mb));
	json_object_set_new(o, "quota_used_mb", json_limit(u->quota_used_mb));
	json_object_set_new(o, "quota_used_bytes", json_limit(u->quota_used_bytes));
	json_object_set_new(o, "status", json_string(u->status == ERS_USER_ACTIVE ? "active" : "disabled"));
	json_object_set_new(o, "disabled_by", u->status == ERS_USER_ACTIVE ? json_null()
						: json_string(u->disabled_by_admin ? "admin" : "self"));
	json_object_set_new(o, "internal_only", json_boolean(u->internal_only));
	json_object_set_new(o, "mailbox", json_string(u->remote_mailbox ? "remote" : "local"));
	json_object_set_new(o, "imap_username", json_str_or_null(u->imap_username));
	json_object_set_new(o, "created_at", json_string(u->created_at));
	return o;
}

static void quota_text(char *dst, size_t cap, const struct ers_user *u)
{
	char used[32] = "-";
	if (u->quota_used_mb >= 0)
		snprintf(used, sizeof used, "%lld", u->quota_used_mb);
	if (u->quota_mb < 0)
		snprintf(dst, cap, "%s / none", used);
	else
		snprintf(dst, cap, "%s / %lld MB", used, u->quota_mb);
}

static const char *status_text(const struct ers_user *u)
{
	return u->status == ERS_USER_ACTIVE ? "active" : u->disabled_by_admin ? "disabled (by admin)" : "disabled (by user)";
}

static void print_user(const struct ers_user *u)
{
	char quota[64];
	quota_text(quota, sizeof quota, u);
	printf("address:        %s\n", u->address);
	printf("tenant:         %s\n", u->tenant);
	printf("name:           %s%s%s\n", u->first_name, *u->first_name && *u->last_name ? " " : "", u->last_name);
	printf("role:           %s\n", ers_role_name(u->role));
	printf("quota used/max: %s\n", quota);
	printf("status:         %s\n", status_text(u));
	printf("internal only:  %s\n", u->internal_only ? "yes" : "no");
	printf("mailbox:        %s%s%s\n", u->remote_mailbox ? "remote, IMAP user " : "local",
	       u->remote_mailbox ? u->imap_username : "", "");
	printf("created:        %s\n", u->created_at);
}

static void show_password(struct cli *c, json_t *o, const struct ers_buf *password, const char *address)
{
	if (!password->len)
		return;
	if (o)
		json_object_set_new(o, "temporary_password", json_string(password->data));
	else
		printf("temporary password for %s (shown once; give it through a secure channel): %s\n", address,
		       password->data);
}

/* Options shared by add and edit. */
static int spec_from_opts(struct cli *c, struct ers_user_spec *s, struct ers_buf *imap_pw, bool edit)
{
	s->address = c->args[0];
	s->first_name = cli_opt(c, "first-name");
	s->last_name = cli_opt(c, "last-name");
	s->imap_username = cli_opt(c, "imap-username");
	if (cli_opt(c, "role")) {
		s->set_role = true;
		if (ers_role_parse(cli_opt(c, "role"), &s->role, &c->err) < 0)
			return -1;
	}
	const char *q = cli_opt(c, "quota-mb");
	if (q) {
		s->set_quota = true;
		if (edit && !strcmp(q, "none"))
			s->quota_mb = -1;
		else if (cli_opt_int(c, "quota-mb", 0, ERS_QUOTA_MB_MAX, &s->quota_mb) < 0)
			return -1;
	}
	const char *internal = cli_opt(c, "internal-only");
	if (internal) {
		s->set_internal_only = true;
		s->internal_only = !edit || !strcmp(internal, "yes");
	}
	if (read_secret_file(c, "imap-password-file", imap_pw) < 0)
		return -1;
	if (imap_pw->len || cli_opt(c, "imap-password-file"))
		s->imap_password = imap_pw->data;
	return 0;
}

int cmd_user_add(struct cli *c)
{
	struct ers_user_spec spec = { 0 };
	struct ers_buf pw = ERS_BUF_INIT, imap_pw = ERS_BUF_INIT, generated = ERS_BUF_INIT;
	struct ers_user *u = NULL;
	int rc = -1;
	if (spec_from_opts(c, &spec, &imap_pw, false) < 0)
		goto out;
	int got = read_secret_file(c, "password-file", &pw);
	if (got < 0)
		goto out;
	spec.password = got ? pw.data : NULL;
	spec.generate_password = cli_flag(c, "generate-password");
	spec.send_welcome = cli_flag(c, "send-welcome");
	if (ers_user_add(c->ctx, &c->actor, &spec, &u, &generated, &c->err) < 0)
		goto out;
	/* A welcome email that failed is the only warning user add gives. */
	const char *warning = ers_ctx_warning(c->ctx);
	if (c->json) {
		json_t *o = user_json(u);
		show_password(c, o, &generated, u->address);
		if (spec.send_welcome) {
			json_object_set_new(o, "welcome_email", json_string(warning ? "not sent" : "sent"));
			json_object_set_new(o, "warning", json_str_or_null(warning));
		}
		out_json(c, o);
	} else {
		out_note(c, "created user %s", u->address);
		if (!c->quiet)
			print_user(u);
		show_password(c, NULL, &generated, u->address);
		if (spec.send_welcome && !warning)
			out_note(c, "welcome email sent to %s", u->address);
	}
	rc = 0;
out:
	ers_user_free(u);
	ers_buf_free_secret(&pw);
	ers_buf_free_secret(&imap_pw);
	ers_buf_free_secret(&generated);
	return rc;
}

int cmd_user_edit(struct cli *c)
{
	struct ers_user_spec spec = { 0 };
	struct ers_buf imap_pw = ERS_BUF_INIT;
	struct ers_user *u = NULL;
	int rc = -1;
	const char *internal = cli_opt(c, "internal-only");
	if (internal && strcmp(internal, "yes") && strcmp(internal, "no")) {
		ers_error_set(&c->err, ERS_E_USAGE, "--internal-only must be yes or no, got \"%s\"", internal);
		return -1;
	}
	if (spec_from_opts(c, &spec, &imap_pw, true) == 0 && ers_user_edit(c->ctx, &c->actor, &spec, &u, &c->err) == 0) {
		if (c->json)
			out_json(c, user_json(u));
		else if (!c->quiet)
			print_user(u);
		rc = 0;
	}
	ers_user_free(u);
	ers_buf_free_secret(&imap_pw);
	return rc;
}

int cmd_user_show(struct cli *c)
{
	struct ers_user *u;
	if (ers_user_get(c->ctx, &c->actor, c->args[0], &u, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, user_json(u));
	else
		print_user(u);
	ers_user_free(u);
	return 0;
}

int cmd_user_list(struct cli *c)
{
	struct ers_user_filter f = { .tenant = cli_opt(c, "tenant"), .after = cli_opt(c, "after"),
				     .descending = cli_flag(c, "descending") };
	if (cli_opt(c, "sort") && ers_user_sort_parse(cli_opt(c, "sort"), &f.sort, &c->err) < 0)
		return -1;
	if (cli_opt(c, "role")) {
		f.set_role = true;
		if (ers_role_parse(cli_opt(c, "role"), &f.role, &c->err) < 0)
			return -1;
	}
	if (cli_opt(c, "status")) {
		f.set_status = true;
		f.status = strcmp(cli_opt(c, "status"), "disabled") ? ERS_USER_ACTIVE : ERS_USER_DISABLED;
	}
	long long limit;
	if (cli_opt(c, "limit")) {
		if (cli_opt_int(c, "limit", 1, 10000, &limit) < 0)
			return -1;
		f.limit = (int)limit;
	}
	struct ers_user_list *list;
	if (ers_user_list(c->ctx, &c->actor, &f, &list, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < list->count; i++)
			json_array_append_new(arr, user_json(&list->items[i]));
		out_json(c, json_pack("{s:o,s:o}", "users", arr, "next_after", json_str_or_null(list->next_after)));
	} else {
		static const char *const head[] = { "ADDRESS", "DOMAIN", "TENANT", "ROLE", "QUOTA USED/MAX", "STATUS", "CREATED" };
		struct table tab;
		table_init(&tab, 7, head);
		for (size_t i = 0; i < list->count; i++) {
			const struct ers_user *u = &list->items[i];
			char quota[64];
			quota_text(quota, sizeof quota, u);
			table_row(&tab, u->address, u->domain, u->tenant, ers_role_name(u->role), quota, status_text(u),
				  u->created_at);
		}
		table_print(&tab);
		if (list->next_after && !c->quiet) {
			if (f.sort) /* the cursor holds the sort key after a space: quoted */
				printf("more: ersctl user list --sort %s%s --after '%s'\n", ers_user_sort_name(f.sort),
				       f.descending ? " --descending" : "", list->next_after);
			else
				printf("more: ersctl user list%s --after %s\n", f.descending ? " --descending" : "",
				       list->next_after);
		}
	}
	ers_user_list_free(list);
	return 0;
}

int cmd_user_passwd(struct cli *c)
{
	struct ers_buf pw = ERS_BUF_INIT, current = ERS_BUF_INIT, generated = ERS_BUF_INIT;
	int rc = -1, got, got_current;
	if ((got = read_secret_file(c, "password-file", &pw)) < 0 ||
	    (got_current = read_secret_file(c, "current-password-file", &current)) < 0)
		goto out;
	if (ers_user_passwd(c->ctx, &c->actor, c->args[0], got_current ? current.data : NULL, got ? pw.data : NULL,
			    cli_flag(c, "generate-password"), &generated, &c->err) < 0)
		goto out;
	if (c->json) {
		json_t *o = json_pack("{s:s,s:b}", "address", c->args[0], "changed", 1);
		show_password(c, o, &generated, c->args[0]);
		out_json(c, o);
	} else {
		out_note(c, "password of %s changed; every session of it has ended", c->args[0]);
		show_password(c, NULL, &generated, c->args[0]);
	}
	rc = 0;
out:
	ers_buf_free_secret(&pw);
	ers_buf_free_secret(&current);
	ers_buf_free_secret(&generated);
	return rc;
}

static int set_enabled(struct cli *c, bool enabled)
{
	if (ers_user_set_enabled(c->ctx, &c->actor, c->args[0], enabled, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:s}", "address", c->args[0], "status", enabled ? "active" : "disabled"));
	else
		out_note(c, "%s is %s", c->args[0], enabled ? "enabled" : "disabled");
	return 0;
}

int cmd_user_disable(struct cli *c)
{
	return set_enabled(c, false);
}

int cmd_user_enable(struct cli *c)
{
	return set_enabled(c, true);
}

int cmd_user_delete(struct cli *c)
{
	struct ers_user *u;
	if (ers_user_get(c->ctx, &c->actor, c->args[0], &u, &c->err) < 0)
		return -1;
	char *address = ers_xstrdup(u->address);
	ers_user_free(u);
	int rc = -1;
	if (!c->json && (c->yes || cli_can_ask()))
		fprintf(stderr, "This deletes user %s with its aliases and its forward.\n",
			address);
	if (cli_confirm(c, "delete this user", address) == 0 &&
	    ers_user_delete(c->ctx, &c->actor, address, &c->err) == 0) {
		if (c->json)
			out_json(c, json_pack("{s:s,s:b}", "address", address, "deleted", 1));
		else
			out_note(c, "deleted user %s", address);
		rc = 0;
	}
	free(address);
	return rc;
}

int cmd_user_welcome(struct cli *c)
{
	struct ers_welcome_result r;
	if (ers_user_welcome(c->ctx, &c->actor, c->args[0], &r, &c->err) < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:s,s:s,s:s}", "address", c->args[0], "sender", r.sender,
				      "manual_url", r.manual_url, "message_id", r.message_id));
	} else {
		out_note(c, "welcome email sent to %s from %s (manual: %s, Message-ID <%s>)", c->args[0], r.sender,
			 r.manual_url, r.message_id);
	}
	return 0;
}
