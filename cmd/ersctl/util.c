/* Shared pieces of ersctl: option access, output, confirmation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

const char *cli_opt(const struct cli *c, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < c->nopts; i++)
		if (!strcmp(c->opts[i].name, name))
			v = c->opts[i].value;
	return v;
}

bool cli_flag(const struct cli *c, const char *name)
{
	return cli_opt(c, name) != NULL;
}

size_t cli_opt_all(const struct cli *c, const char *name, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nopts && n < max; i++)
		if (!strcmp(c->opts[i].name, name))
			out[n++] = c->opts[i].value;
	return n;
}

int cli_opt_int(struct cli *c, const char *name, long long min, long long max, long long *v)
{
	char what[80];
	snprintf(what, sizeof what, "--%s", name);
	return ers_int_parse(cli_opt(c, name), what, min, max, v, &c->err);
}

void out_json(struct cli *c, json_t *value)
{
	json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(value);
}

void out_note(const struct cli *c, const char *fmt, ...)
{
	if (c->quiet || c->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

json_t *json_str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *json_limit(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

void table_init(struct table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		t->head[i] = head[i];
}

void table_row(struct table *t, ...)
{
	t->cells = ers_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	va_list ap;
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = ers_xstrdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

/* Display width of UTF-8 text, counting each code point as one column. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void table_print(struct table *t)
{
	size_t w[12] = { 0 };
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = width(t->head[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++)
			if (width(t->cells[r * t->ncols + i]) > w[i])
				w[i] = width(t->cells[r * t->ncols + i]);
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r == 0 ? t->head[i] : t->cells[(r - 1) * t->ncols + i];
			bool last = i + 1 == t->ncols;
			printf("%s", s);
			for (size_t pad = width(s); !last && pad < w[i] + 2; pad++)
				putchar(' ');
		}
		putchar('\n');
	}
	for (size_t k = 0; k < t->nrows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
}

bool cli_can_ask(void)
{
	return isatty(0) && isatty(2);
}

int cli_confirm(struct cli *c, const char *what, const char *typed_answer)
{
	if (c->yes)
		return 0;
	if (!cli_can_ask()) {
		ers_error_set(&c->err, ERS_E_USAGE,
			      "refusing to %s without confirmation: no terminal to ask on; pass --yes", what);
		return -1;
	}
	fprintf(stderr, "Type \"%s\" to %s, anything else to cancel: ", typed_answer, what);
	fflush(stderr);
	char line[512];
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, typed_answer) != 0) {
		ers_error_set(&c->err, ERS_E_USAGE, "cancelled: nothing was changed");
		return -1;
	}
	return 0;
}

json_t *json_check_report(const struct ers_check_report *r)
{
	json_t *items = json_array();
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(items, json_pack("{s:s,s:s,s:b,s:s}", "component", r->items[i].component,
						       "check", r->items[i].what, "ok", r->items[i].ok,
						       "detail", r->items[i].detail));
	return json_pack("{s:b,s:o}", "ok", r->all_ok, "checks", items);
}

void print_check_report(const struct ers_check_report *r)
{
	static const char *const head[] = { "COMPONENT", "CHECK", "RESULT", "DETAIL" };
	struct table tab;
	table_init(&tab, 4, head);
	for (size_t i = 0; i < r->n; i++)
		table_row(&tab, r->items[i].component, r->items[i].what, r->items[i].ok ? "ok" : "FAILED",
			  r->items[i].detail);
	table_print(&tab);
}

int check_report_status(struct cli *c, const struct ers_check_report *r)
{
	size_t failed = 0;
	for (size_t i = 0; i < r->n; i++)
		failed += !r->items[i].ok;
	if (!failed)
		return 0;
	ers_error_set(&c->err, ERS_E_UNAVAILABLE, "%zu check(s) failed: see the lines marked FAILED", failed);
	return -1;
}

enum { SECRET_FILE_MAX = 65536 };

/* Reads a secret from FILE ("-": standard input): one trailing newline is
 * dropped; passwords never come from the command line, where ps shows them. */
int cli_read_secret_file(struct cli *c, const char *opt, struct ers_buf *out)
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
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: %s holds more than %d bytes, far more than a password or key",
			      opt, path, SECRET_FILE_MAX);
		return -1;
	}
	if (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	if (out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	if (strlen(out->data) != out->len) {
		ers_error_set(&c->err, ERS_E_INVALID, "--%s: the secret must not contain a NUL byte", opt);
		return -1;
	}
	return 1;
}

void cli_log_line(const char *who, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "%s: %s\n", who, line);
}
