/* ersctl backup ...: secure backups of the whole server and their restore
 * (manual 000 "Secure Backups"; ersctl-backup(1)).  The passphrase comes
 * from a root-owned file (--passphrase-file, or the file named by
 * ERS_BACKUP_PASSPHRASE_FILE) or is asked on the terminal; never argv or
 * an environment variable's value. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "cli.h"

/* One line from the terminal, not echoed. */
static int ask_hidden(FILE *tty, const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int fd = fileno(tty);
	if (tcgetattr(fd, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	fputs(prompt, tty);
	fflush(tty);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	char *r = fgets(buf, (int)cap, tty);
	tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	if (!r)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* The passphrase: --passphrase-file, ERS_BACKUP_PASSPHRASE_FILE, or the
 * terminal (twice when `confirm`). */
static int get_passphrase(struct cli *c, bool confirm, char **pass_r)
{
	const char *file = cli_opt(c, "passphrase-file");
	if (!file || !*file)
		file = getenv("ERS_BACKUP_PASSPHRASE_FILE");
	if (file && *file)
		return ers_backup_passphrase_file(file, pass_r, &c->err);
	FILE *tty = fopen("/dev/tty", "r+e");
	if (!tty || !isatty(fileno(tty))) {
		if (tty)
			fclose(tty);
		ers_error_set(&c->err, ERS_E_USAGE,
			      "no passphrase: give --passphrase-file FILE (root-owned, mode 0600) or set ERS_BACKUP_PASSPHRASE_FILE, or run on a terminal");
		return -1;
	}
	char a[1100], b[1100];
	int rc = -1;
	if (ask_hidden(tty, "Backup passphrase: ", a, sizeof a) < 0) {
		ers_error_set(&c->err, ERS_E_USAGE, "no passphrase was typed");
	} else if (strlen(a) < 8 || strlen(a) > 1024) {
		ers_error_set(&c->err, ERS_E_INVALID, "the passphrase must be 8..1024 bytes");
	} else if (confirm && ask_hidden(tty, "Again: ", b, sizeof b) < 0) {
		ers_error_set(&c->err, ERS_E_USAGE, "no passphrase was typed");
	} else if (confirm && strcmp(a, b)) {
		ers_error_set(&c->err, ERS_E_INVALID, "the two passphrases differ: nothing was written");
	} else {
		*pass_r = ers_xstrdup(a);
		rc = 0;
	}
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	fclose(tty);
	return rc;
}

static bool opendir_ok(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static json_t *str_array(char **items, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(items[i]));
	return arr;
}

int cmd_backup_create(struct cli *c)
{
	const char *paths[64];
	size_t npaths = cli_opt_all(c, "path", paths, 64);
	long long keep = 0;
	if (cli_opt(c, "keep") && cli_opt_int(c, "keep", 1, 100000, &keep) < 0)
		return -1;
	const char *o_out = cli_opt(c, "output");
	if (keep && o_out && o_out[strlen(o_out) - 1] != '/' && !opendir_ok(o_out)) {
		ers_error_set(&c->err, ERS_E_USAGE, "--keep needs -o DIR (a directory of backups), got %s", o_out);
		return -1;
	}
	struct ers_backup_create_opts o = { .include_maildirs = cli_flag(c, "include-maildirs"),
					    .output = cli_opt(c, "output"), .paths = paths, .npaths = npaths,
					    .keep = (int)keep };
	char *pass = NULL;
	if (get_passphrase(c, true, &pass) < 0)
		return -1;
	struct ers_backup_result *r;
	int rc = ers_backup_create(c->ctx, &c->actor, &o, pass, &r, &c->err);
	ers_backup_passphrase_free(pass);
	if (rc < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:o,s:o}", "file", r->path, "bytes",
				      (json_int_t)r->bytes, "members", (json_int_t)r->members, "content_bytes",
				      (json_int_t)r->file_bytes, "dump_bytes", (json_int_t)r->dump_bytes, "maildir_files",
				      (json_int_t)r->maildir_files, "vanished", (json_int_t)r->vanished, "schema_version",
				      r->schema_version, "pruned", str_array(r->pruned, r->npruned), "absent",
				      str_array(r->skipped, r->nskipped)));
	} else {
		printf("%s\n", r->path);
		out_note(c, "wrote %s: %lld bytes encrypted, %lld members (%lld bytes), database dump %lld bytes, schema %d%s",
			 r->path, r->bytes, r->members, r->file_bytes, r->dump_bytes, r->schema_version,
			 o.include_maildirs ? "" : ", no maildirs (--include-maildirs adds them)");
		if (o.include_maildirs)
			out_note(c, "maildirs: %lld files%s", r->maildir_files,
				 r->vanished ? " (some moved while being read: they are in their new place)" : "");
		for (size_t i = 0; i < r->npruned; i++)
			out_note(c, "removed old backup %s (--keep %lld)", r->pruned[i], keep);
		out_note(c, "keep the passphrase apart from the backup: without it nothing can be restored");
	}
	ers_backup_result_free(r);
	return 0;
}

static json_t *info_json(const struct ers_backup_info *info)
{
	long long files = 0, maildir = 0;
	for (size_t i = 0; i < info->count; i++) {
		if (info->members[i].type == 'f' && !strcmp(info->members[i].role, "maildir"))
			maildir++;
		else if (info->members[i].type == 'f')
			files++;
	}
	return json_pack("{s:i,s:s,s:i,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "format", info->format, "ers_version",
			 info->ers_version, "schema_version", info->schema_version, "host", info->host, "created",
			 info->created, "maildirs", info->maildirs, "members", (json_int_t)info->count,
			 "files", (json_int_t)files, "maildir_files", (json_int_t)maildir, "dump_bytes",
			 (json_int_t)info->dump_bytes);
}

int cmd_backup_verify(struct cli *c)
{
	char *pass = NULL;
	if (get_passphrase(c, false, &pass) < 0)
		return -1;
	struct ers_backup_info *info;
	int rc = ers_backup_verify(&c->actor, c->args[0], pass, &info, &c->err);
	ers_backup_passphrase_free(pass);
	if (rc < 0)
		return -1;
	if (c->json) {
		json_t *o = info_json(info);
		json_object_set_new(o, "file", json_string(c->args[0]));
		json_object_set_new(o, "ok", json_true());
		out_json(c, o);
	} else {
		printf("%s: ok\n", c->args[0]);
		out_note(c, "backup of %s taken %s by ERS %s (schema %d): %zu members match the manifest; the database dump (%lld bytes) reads back",
			 info->host, info->created, info->ers_version, info->schema_version, info->count, info->dump_bytes);
	}
	ers_backup_info_free(info);
	return 0;
}

int cmd_backup_list(struct cli *c)
{
	const char *dir = c->nargs ? c->args[0] : ERS_BACKUP_DEFAULT_DIR;
	struct ers_backup_list *l;
	if (ers_backup_list(dir, &l, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->count; i++)
			json_array_append_new(arr, json_pack("{s:s,s:I,s:s}", "file", l->items[i].path, "bytes",
							     (json_int_t)l->items[i].bytes, "modified", l->items[i].mtime));
		out_json(c, json_pack("{s:o}", "backups", arr));
	} else {
		static const char *const head[] = { "FILE", "BYTES", "MODIFIED" };
		struct table tab;
		table_init(&tab, 3, head);
		for (size_t i = 0; i < l->count; i++) {
			char bytes[32];
			snprintf(bytes, sizeof bytes, "%lld", l->items[i].bytes);
			table_row(&tab, l->items[i].path, bytes, l->items[i].mtime);
		}
		table_print(&tab);
	}
	ers_backup_list_free(l);
	return 0;
}

/* --tenant: into the running system, through its database. */
static int restore_tenant(struct cli *c)
{
	if (cli_opt(c, "files-to")) {
		ers_error_set(&c->err, ERS_E_USAGE, "--files-to does not go with --tenant (a tenant has no files but its mail)");
		return -1;
	}
	if (ers_config_load(c->config_path, &c->cfg, &c->err) < 0 || ers_ctx_open(c->cfg, 0, &c->ctx, &c->err) < 0)
		return -1;
	char *pass = NULL;
	if (get_passphrase(c, false, &pass) < 0)
		return -1;
	struct ers_backup_tenant_result *r;
	int rc = ers_backup_restore_tenant(c->ctx, &c->actor, c->args[0], pass, cli_opt(c, "tenant"), cli_flag(c, "force"),
					   &r, &c->err);
	ers_backup_passphrase_free(pass);
	if (rc < 0)
		return -1;
	if (c->json) {
		out_json(c, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "file", c->args[0], "tenant", r->tenant, "tenant_id",
				      (json_int_t)r->tenant_id, "rows", (json_int_t)r->rows, "users", (json_int_t)r->users,
				      "maildir_files", (json_int_t)r->maildir_files, "warning", json_str_or_null(r->warning)));
	} else {
		printf("restored tenant %s from %s: %lld rows, %lld users, %lld maildir files\n", r->tenant, c->args[0],
		       r->rows, r->users, r->maildir_files);
		if (r->warning)
			fprintf(stderr, "ersctl: warning: %s\n", r->warning);
		printf("next: ersctl mailstack render --opendkim DIR and restart OpenDKIM if the tenant signed with DKIM\n");
	}
	ers_backup_tenant_result_free(r);
	return 0;
}

int cmd_backup_restore(struct cli *c)
{
	if (cli_opt(c, "tenant"))
		return restore_tenant(c);
	/* A fresh machine has no ers.yaml yet: the backup brings it. */
	const char *path = c->config_path;
	if (!path || !*path)
		path = getenv("ERS_CONFIG");
	if (!path || !*path)
		path = ERS_CONFIG_DEFAULT_PATH;
	if (access(path, F_OK) == 0 && ers_config_load(path, &c->cfg, &c->err) < 0)
		return -1;
	if (!c->cfg && (c->config_path || getenv("ERS_CONFIG"))) {
		ers_error_set(&c->err, ERS_E_NOTFOUND, "%s: %s", path, strerror(ENOENT));
		return -1;
	}
	struct ers_backup_restore_opts o = { .force = cli_flag(c, "force"), .files_to = cli_opt(c, "files-to") };
	char *pass = NULL;
	if (get_passphrase(c, false, &pass) < 0)
		return -1;
	struct ers_backup_restored *r = NULL;
	int rc = ers_backup_restore(c->cfg, &c->actor, c->args[0], pass, &o, &r, &c->err);
	ers_backup_passphrase_free(pass);
	if (rc < 0) {
		if (r && r->nconflicts > 1 && !c->json)
			for (size_t i = 0; i < r->nconflicts; i++)
				fprintf(stderr, "ersctl: backup restore: %s\n", r->conflicts[i]);
		ers_backup_restored_free(r);
		return -1;
	}
	if (c->json) {
		json_t *o2 = json_pack("{s:s,s:o,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "file", c->args[0], "backup",
				       info_json(r->info), "database", r->database, "config_file", r->config_file,
				       "secrets_file", r->secrets_file, "files", (json_int_t)r->files, "maildir_files",
				       (json_int_t)r->maildir_files, "kept", (json_int_t)r->kept, "forced_over",
				       str_array(r->conflicts, r->nconflicts), "warning", json_str_or_null(r->warning));
		out_json(c, o2);
	} else {
		printf("restored %s (backup of %s taken %s, schema %d)\n", c->args[0], r->info->host, r->info->created,
		       r->info->schema_version);
		printf("  database:      %s\n", r->database);
		printf("  secrets:       %s\n", r->secrets_file);
		printf("  configuration: %s%s%s\n", r->config_file, o.files_to ? "; files under " : "",
		       o.files_to ? o.files_to : "");
		printf("  files:         %lld written, %lld identical left as they were\n", r->files, r->kept);
		printf("  maildirs:      %lld files\n", r->maildir_files);
		for (size_t i = 0; i < r->nconflicts; i++)
			printf("  forced over:   %s\n", r->conflicts[i]);
		if (r->warning)
			fprintf(stderr, "ersctl: warning: %s\n", r->warning);
		printf("next: ersctl mailstack render (if paths differ), then start PostgreSQL's clients: "
		       "systemctl restart postfix dovecot opendkim ers-policyd lighttpd (or nginx); "
		       "check with: ersctl mailstack check\n");
	}
	ers_backup_restored_free(r);
	return 0;
}
