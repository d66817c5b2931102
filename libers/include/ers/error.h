/* Errors returned by every libers function: a code the fronts map to exit
 * statuses or HTTP statuses, and a message meant for a person. */
#ifndef ERS_ERROR_H
#define ERS_ERROR_H

#include <stdarg.h>

enum ers_error_code {
	ERS_OK = 0,
	ERS_E_USAGE,       /* the call itself was malformed (CLI words, options) */
	ERS_E_INVALID,     /* a value was not acceptable: says what is allowed */
	ERS_E_NOTFOUND,    /* the named thing does not exist */
	ERS_E_CONFLICT,    /* already exists, or still in use */
	ERS_E_PERMISSION,  /* the actor may not do this */
	ERS_E_UNAVAILABLE, /* database or service unreachable, schema not ready */
	ERS_E_CONFIG,      /* configuration or secrets file is wrong */
	ERS_E_INTERNAL,    /* a bug or an unexpected answer from a dependency */
	ERS_E_IO,          /* a file could not be read or written */
};

struct ers_error {
	enum ers_error_code code;
	char message[1024];
};

/* Sets code and message; a message too long for the buffer ends in "...". */
void ers_error_set(struct ers_error *err, enum ers_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ers_error_vset(struct ers_error *err, enum ers_error_code code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Puts "CONTEXT: " in front of the current message. */
void ers_error_prefix(struct ers_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ers_error_clear(struct ers_error *err);

/* Stable machine name for a code: "invalid", "not_found", ... */
const char *ers_error_code_name(enum ers_error_code code);

#endif
