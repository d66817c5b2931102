/* The ersctl frame: the command table's types, the parsed invocation, and
 * output helpers shared by the per-noun files. */
#ifndef ERSCTL_CLI_H
#define ERSCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <ers/ers.h>

enum { OPT_REPEAT = 1 << 0, OPT_REQUIRED = 1 << 1 };

struct opt_spec {
	const char *name;     /* without the leading "--" */
	const char *arg;      /* value placeholder, NULL for a flag */
	const char *help;
	unsigned flags;
	const char *choices;  /* "a b c": fixed values, for help and completion */
};

enum {
	CMD_CONFIG = 1 << 0,      /* reads ers.yaml */
	CMD_DB = 1 << 1,          /* opens the database (implies CMD_CONFIG) */
	CMD_ANY_SCHEMA = 1 << 2,  /* works on an unmigrated or newer schema */
	CMD_DESTRUCTIVE = 1 << 3, /* asks first, or needs --yes */
	CMD_OPERATOR = 1 << 4,    /* root or group ers only */
};

struct cli;

struct cmd_spec {
	const char *path;   /* "tenant add", "tenant domain add" */
	const char *args;   /* positional synopsis, "NAME" */
	int min_args, max_args;
	const struct opt_spec *opts;
	const char *help;
	int (*run)(struct cli *c);
	unsigned flags;
};

extern const struct cmd_spec ersctl_commands[];
extern const struct opt_spec ersctl_global_opts[];

struct cli_opt_value {
	const char *name;
	const char *value;
};

struct cli {
	const struct cmd_spec *cmd;
	char **args;
	int nargs;
	struct cli_opt_value opts[64];
	size_t nopts;
	bool json, quiet, yes;
	const char *config_path;
	const char *as;          /* --as EMAIL: act as that user */
	struct ers_config *cfg;
	struct ers_ctx *ctx;
	struct ers_actor actor;
	struct ers_error err;
};

/* Options: the last value given, or NULL; all values of a repeated one. */
const char *cli_opt(const struct cli *c, const char *name);
bool cli_flag(const struct cli *c, const char *name);
size_t cli_opt_all(const struct cli *c, const char *name, const char **out, size_t max);
/* Parses --NAME's value as a number in [min,max] into *v; error set on failure. */
int cli_opt_int(struct cli *c, const char *name, long long min, long long max, long long *v);

/* The sysexits-style status for an error code (documented in ersctl(1)). */
int cli_exit_status(enum ers_error_code code);

/* Output. */
void out_json(struct cli *c, json_t *value);      /* prints and frees */
void out_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *json_str_or_null(const char *s);
json_t *json_limit(long long v);                   /* -1 -> null */

/* A plain-text table: columns aligned, header in capitals. */
struct table {
	size_t ncols, nrows;
	const char *head[12];
	char **cells; /* nrows * ncols */
};
void table_init(struct table *t, size_t ncols, const char *const *head);
void table_row(struct table *t, ...); /* ncols strings */
void table_print(struct table *t);

/* A check report (mailstack check, tenant golive): as JSON {"ok", "checks"},
 * as a table, and as the command's result -- an ERS_E_UNAVAILABLE error
 * counting the failed checks (exit 69), or 0. */
json_t *json_check_report(const struct ers_check_report *r);
void print_check_report(const struct ers_check_report *r);
int check_report_status(struct cli *c, const struct ers_check_report *r);

/* Whether there is a person at a terminal to ask. */
bool cli_can_ask(void);
/* Asks on a terminal; refuses (with c->err set) without one unless --yes. */
int cli_confirm(struct cli *c, const char *what, const char *typed_answer);
/* A secret from the file option `opt` ("-": standard input), one trailing
 * newline dropped: 1 read, 0 the option absent, -1 refused. */
int cli_read_secret_file(struct cli *c, const char *opt, struct ers_buf *out);
/* One line on stderr for a daemon's log, "WHO: message", its control
 * characters shown as '?' (one line each, whatever a message holds). */
void cli_log_line(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Command handlers, one file per noun. */
int cmd_migrate_start(struct cli *c);
int cmd_user_clear(struct cli *c);
int cmd_migrate_status(struct cli *c);
int cmd_migrate_list(struct cli *c);
int cmd_migrate_cancel(struct cli *c);
int cmd_migrate_resume(struct cli *c);
int cmd_config_check(struct cli *c);
int cmd_scan_status(struct cli *c);
int cmd_scan_milter(struct cli *c); /* milter.c */
int cmd_scan_test(struct cli *c);
int cmd_scan_tests(struct cli *c);
int cmd_scan_list(struct cli *c);
int cmd_scan_stats(struct cli *c);
int cmd_scan_prune(struct cli *c);
int cmd_db_migrate(struct cli *c);
int cmd_db_status(struct cli *c);
int cmd_host_add(struct cli *c);
int cmd_host_list(struct cli *c);
int cmd_host_remove(struct cli *c);
int cmd_tenant_add(struct cli *c);
int cmd_tenant_list(struct cli *c);
int cmd_tenant_show(struct cli *c);
int cmd_tenant_edit(struct cli *c);
int cmd_tenant_delete(struct cli *c);
int cmd_tenant_golive(struct cli *c);
int cmd_tenant_autoconfig(struct cli *c);
int cmd_domain_add(struct cli *c);
int cmd_domain_remove(struct cli *c);
int cmd_domain_list(struct cli *c);
int cmd_domain_primary(struct cli *c);
int cmd_domain_copy(struct cli *c);
int cmd_alias_add(struct cli *c);
int cmd_autoreply_set(struct cli *c);
int cmd_autoreply_show(struct cli *c);
int cmd_autoreply_off(struct cli *c);
int cmd_spam_show(struct cli *c);
int cmd_spam_set(struct cli *c);
int cmd_spam_allow_add(struct cli *c);
int cmd_spam_allow_list(struct cli *c);
int cmd_spam_allow_remove(struct cli *c);
int cmd_spam_block_add(struct cli *c);
int cmd_spam_block_list(struct cli *c);
int cmd_spam_block_remove(struct cli *c);
int cmd_spam_milter(struct cli *c);
/* A milter address in Postfix's notation (inet:HOST:PORT, unix:/PATH)
 * as libmilter writes it (inet:PORT@HOST); milter.c. */
int cli_libmilter_address(const char *postfix, char *out, size_t cap, struct ers_error *err);
int cmd_migrate_run_queued(struct cli *c);
int cmd_shared_add(struct cli *c);
int cmd_shared_list(struct cli *c);
int cmd_shared_show(struct cli *c);
int cmd_shared_grant(struct cli *c);
int cmd_shared_revoke(struct cli *c);
int cmd_shared_delete(struct cli *c);
int cmd_alias_list(struct cli *c);
int cmd_alias_delete(struct cli *c);
int cmd_dkim_enable(struct cli *c);
int cmd_dkim_show(struct cli *c);
int cmd_dkim_list(struct cli *c);
int cmd_dkim_disable(struct cli *c);
int cmd_dkim_rotate(struct cli *c);
int cmd_dns_plan(struct cli *c);
int cmd_dns_check(struct cli *c);
int cmd_mtasts_policy(struct cli *c);
int cmd_mtasts_mode(struct cli *c);
int cmd_forward_add(struct cli *c);
int cmd_forward_list(struct cli *c);
int cmd_forward_delete(struct cli *c);
int cmd_audit_list(struct cli *c);
int cmd_mailstack_render(struct cli *c);
int cmd_mailstack_grant(struct cli *c);
int cmd_mailstack_check(struct cli *c);
int cmd_mailstack_purge(struct cli *c);
int cmd_user_add(struct cli *c);
int cmd_user_list(struct cli *c);
int cmd_user_show(struct cli *c);
int cmd_user_activity(struct cli *c);
int cmd_user_welcome(struct cli *c);
int cmd_user_edit(struct cli *c);
int cmd_user_passwd(struct cli *c);
int cmd_user_disable(struct cli *c);
int cmd_user_enable(struct cli *c);
int cmd_user_delete(struct cli *c);
int cmd_user_import(struct cli *c);
int cmd_user_export(struct cli *c);
int cmd_user_mfa_status(struct cli *c);
int cmd_user_mfa_reset(struct cli *c);
int cmd_limits_set(struct cli *c);
int cmd_limits_show(struct cli *c);
int cmd_policyd(struct cli *c);
int cmd_archive_create(struct cli *c);
int cmd_archive_list(struct cli *c);
int cmd_archive_failures(struct cli *c);
int cmd_archive_show(struct cli *c);
int cmd_archive_download(struct cli *c);
int cmd_archive_verify(struct cli *c);
int cmd_archive_destination_add(struct cli *c);
int cmd_archive_destination_list(struct cli *c);
int cmd_archive_destination_remove(struct cli *c);
int cmd_archive_delete(struct cli *c);
int cmd_archive_key_export(struct cli *c);
int cmd_archive_policy_show(struct cli *c);
int cmd_archive_policy_set(struct cli *c);
int cmd_archive_run(struct cli *c);
int cmd_backup_create(struct cli *c);
int cmd_backup_verify(struct cli *c);
int cmd_backup_list(struct cli *c);
int cmd_backup_restore(struct cli *c);
int cmd_smime_identity_set(struct cli *c);
int cmd_smime_identity_show(struct cli *c);
int cmd_smime_identity_remove(struct cli *c);
int cmd_smime_status(struct cli *c);
int cmd_smime_cert_add(struct cli *c);
int cmd_smime_cert_list(struct cli *c);
int cmd_smime_cert_remove(struct cli *c);
int cmd_smime_protect(struct cli *c);
int cmd_smime_open(struct cli *c);
int cmd_help(struct cli *c);
int cmd_completion(struct cli *c);

/* help.c */
void help_command(FILE *f, const struct cmd_spec *cmd);
void help_overview(FILE *f, const char *prefix);

#endif
