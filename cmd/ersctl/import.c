/* ersctl user import / user export: files of users, read and written by
 * libers (import.c); here only the file, the options and the printing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include "cli.h"

#define IMPORT_FILE_MAX (1024UL * 1024 * 1024) /* 1 GiB: far beyond a million users */

static int read_file(struct cli *c, const char *path, struct ers_buf *out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		ers_error_set(&c->err, ERS_E_INVALID, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && out->len <= IMPORT_FILE_MAX)
		ers_buf_add(out, chunk, n);
	bool failed = ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed) {
		ers_error_set(&c->err, ERS_E_INVALID, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (out->len > IMPORT_FILE_MAX) {
		ers_error_set(&c->err, ERS_E_INVALID, "%s is larger than 1 GiB: split it", path);
		return -1;
	}
	return 0;
}

/* The format from --format, else from the file's extension. */
static int pick_format(struct cli *c, const char *path, bool json_default, enum ers_file_format *format)
{
	const char *given = cli_opt(c, "format");
	if (given)
		return ers_file_format_parse(given, format, &c->err);
	int guess = path ? ers_file_format_guess(path) : -1;
	if (guess >= 0) {
		*format = (enum ers_file_format)guess;
		return 0;
	}
	if (!path) {
		*format = json_default ? ERS_FORMAT_JSON : ERS_FORMAT_CSV;
		return 0;
	}
	ers_error_set(&c->err, ERS_E_USAGE, "cannot tell the format of %s from its name: give --format csv or --format json",
		      strcmp(path, "-") ? path : "standard input");
	return -1;
}

/* Every problem, on the one error line (or in the JSON error object): a
 * script sees one refusal, a person reads every line number at once. */
static int report_problems(struct cli *c, const struct ers_import_result *r)
{
	int status = cli_exit_status(c->err.code);
	struct ers_buf line = ERS_BUF_INIT;
	ers_buf_addf(&line, "%s: %s", c->cmd->path, c->err.message);
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct ers_import_problem *p = &r->problems[i];
		if (p->whole_file)
			ers_buf_addf(&line, "%s%s", i ? "; " : ": ", p->message);
		else
			ers_buf_addf(&line, "%s%s %zu: %s", i ? "; " : ": ", r->where_name, p->where, p->message);
	}
	if (c->json) {
		json_t *list = json_array();
		for (size_t i = 0; i < r->nproblems; i++) {
			const struct ers_import_problem *p = &r->problems[i];
			json_t *o = json_object();
			json_object_set_new(o, r->where_name, p->whole_file ? json_null() : json_integer((json_int_t)p->where));
			json_object_set_new(o, "code", json_string(ers_error_code_name(p->code)));
			json_object_set_new(o, "message", json_string(p->message));
			json_array_append_new(list, o);
		}
		out_json(c, json_pack("{s:{s:s,s:s,s:i,s:o}}", "error", "code", ers_error_code_name(c->err.code),
				      "message", c->err.message, "exit_status", status, "problems", list));
	}
	if (!c->json || isatty(2))
		fprintf(stderr, "ersctl: %s\n", line.data);
	ers_buf_free(&line);
	return status;
}

int cmd_user_import(struct cli *c)
{
	const char *path = c->args[0];
	struct ers_import_options opt = {
		.generate_passwords = cli_flag(c, "generate-passwords"),
		.tenant = cli_opt(c, "tenant"),
		.source = strcmp(path, "-") ? path : "standard input",
	};
	if (pick_format(c, path, false, &opt.format) < 0 ||
	    (cli_opt(c, "profile") && ers_import_profile_parse(cli_opt(c, "profile"), &opt.profile, &c->err) < 0))
		return -1;
	struct ers_buf data = ERS_BUF_INIT;
	struct ers_import_result *r = NULL;
	if (read_file(c, path, &data) < 0) {
		ers_buf_free(&data);
		return -1;
	}
	int rc = ers_user_import(c->ctx, &c->actor, &opt, data.data, data.len, &r, &c->err);
	ers_buf_free_secret(&data); /* it may hold password hashes */
	if (rc < 0) {
		rc = r ? report_problems(c, r) : -1;
		ers_import_result_free(r);
		return rc;
	}
	if (c->json) {
		json_t *o = json_pack("{s:i}", "imported", (json_int_t)r->imported);
		if (opt.generate_passwords) {
			json_t *list = json_array();
			for (size_t i = 0; i < r->npasswords; i++)
				json_array_append_new(list, json_pack("{s:s,s:s}", "address", r->passwords[i].address,
								      "temporary_password", r->passwords[i].password));
			json_object_set_new(o, "passwords", list);
		}
		out_json(c, o);
	} else if (opt.generate_passwords) {
		/* Standard output is the CSV of the passwords, nothing else. */
		printf("address,temporary_password\n");
		for (size_t i = 0; i < r->npasswords; i++)
			printf("%s,%s\n", r->passwords[i].address, r->passwords[i].password);
		if (!c->quiet)
			fprintf(stderr, "ersctl: imported %zu users; their temporary passwords are on standard output, shown this once: give them through a secure channel\n",
				r->imported);
	} else {
		out_note(c, "imported %zu users", r->imported);
	}
	fflush(stdout);
	ers_import_result_free(r);
	return 0;
}

int cmd_user_export(struct cli *c)
{
	struct ers_export_options opt = { .tenant = cli_opt(c, "tenant"), .with_hashes = cli_flag(c, "with-hashes") };
	if (pick_format(c, NULL, c->json, &opt.format) < 0)
		return -1;
	if (c->json && opt.format != ERS_FORMAT_JSON) {
		ers_error_set(&c->err, ERS_E_USAGE, "--json writes JSON: leave out --format csv, or --json");
		return -1;
	}
	struct ers_buf out = ERS_BUF_INIT;
	size_t count;
	if (ers_user_export(c->ctx, &c->actor, &opt, &out, &count, &c->err) < 0) {
		ers_buf_free(&out);
		return -1;
	}
	fwrite(out.data, 1, out.len, stdout);
	if (opt.with_hashes)
		ers_buf_free_secret(&out);
	else
		ers_buf_free(&out);
	if (fflush(stdout) != 0) {
		ers_error_set(&c->err, ERS_E_UNAVAILABLE, "writing the export failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}
