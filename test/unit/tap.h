/* A tiny TAP producer for the unit tests, in the spirit of Test::More:
 * ok(), is_int(), is_str(), like_str() print "ok N - name" or "not ok N",
 * failures explain themselves in "#" lines, and done_testing() prints the
 * plan at the end and gives the exit status (1 when anything failed).
 * Diagnostics go to stdout, where test/run-all shows them beside the result. */
#ifndef ERS_TAP_H
#define ERS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct {
	int run;
	int failed;
} tap_state __attribute__((unused));

/* Prints `text` as diagnostic lines, each line behind "#   LABEL". */
static inline void tap_diag_value(const char *label, const char *text)
{
	if (!text) {
		printf("#   %8s: (NULL)\n", label);
		return;
	}
	printf("#   %8s: '", label);
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n')
			printf("\\n'\n#   %8s  '", "");
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("'\n");
}

static inline bool tap_vresult(bool pass, const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static inline bool tap_vresult(bool pass, const char *file, int line, const char *fmt, va_list ap)
{
	tap_state.run++;
	printf("%sok %d - ", pass ? "" : "not ", tap_state.run);
	char name[512];
	vsnprintf(name, sizeof name, fmt, ap);
	for (char *p = name; *p; p++) /* one result, one line */
		putchar(*p == '\n' ? ' ' : *p);
	putchar('\n');
	if (!pass) {
		tap_state.failed++;
		printf("#   Failed test at %s line %d.\n", file, line);
	}
	fflush(stdout);
	return pass;
}

static inline bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool r = tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	return r;
}

static inline bool tap_is_int(long long got, long long want, const char *file, int line,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline bool tap_is_int(long long got, long long want, const char *file, int line,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = tap_vresult(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   %8s: %lld\n#   %8s: %lld\n", "got", got, "expected", want);
	return pass;
}

static inline bool tap_is_str(const char *got, const char *want, const char *file, int line,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline bool tap_is_str(const char *got, const char *want, const char *file, int line,
			      const char *fmt, ...)
{
	bool same = (got && want) ? strcmp(got, want) == 0 : got == want;
	va_list ap;
	va_start(ap, fmt);
	bool pass = tap_vresult(same, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_diag_value("got", got);
		tap_diag_value("expected", want);
	}
	return pass;
}

/* `want_found` false: passes when `sub` does NOT occur in `got`. */
static inline bool tap_like_str(bool want_found, const char *got, const char *sub,
				const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static inline bool tap_like_str(bool want_found, const char *got, const char *sub,
				const char *file, int line, const char *fmt, ...)
{
	bool found = got && sub && strstr(got, sub) != NULL;
	va_list ap;
	va_start(ap, fmt);
	bool pass = tap_vresult(got && sub && found == want_found, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_diag_value("got", got);
		tap_diag_value(want_found ? "wanted" : "unwanted", sub);
	}
	return pass;
}

static inline void tap_skip(const char *why, int count)
{
	for (int i = 0; i < count; i++)
		printf("ok %d # SKIP %s\n", ++tap_state.run, why);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Prints the plan; use as `return done_testing();`. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_state.run);
	if (tap_state.failed)
		printf("# Looks like you failed %d test%s of %d.\n", tap_state.failed,
		       tap_state.failed == 1 ? "" : "s", tap_state.run);
	fflush(stdout);
	return tap_state.failed ? 1 : 0;
}

#define ok(cond, ...)               tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)      tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)      tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define like_str(got, sub, ...)     tap_like_str(true, (got), (sub), __FILE__, __LINE__, __VA_ARGS__)
#define unlike_str(got, sub, ...)   tap_like_str(false, (got), (sub), __FILE__, __LINE__, __VA_ARGS__)
#define skip(why, count)            tap_skip((why), (count))

#endif
