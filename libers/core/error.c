/* ers_error: set, prefix, and name error codes. */
#include <stdio.h>
#include <string.h>
#include "ers/error.h"

static void mark_truncated(struct ers_error *err, int wanted)
{
	size_t cap = sizeof err->message;
	if (wanted >= 0 && (size_t)wanted >= cap)
		memcpy(err->message + cap - 4, "...", 4);
}

/* Messages repeat what people typed; a control character in them could
 * drive the terminal or forge a log line, so each becomes '?'. */
static void defang(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void ers_error_vset(struct ers_error *err, enum ers_error_code code, const char *fmt, va_list ap)
{
	if (!err)
		return;
	err->code = code;
	int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
	if (n < 0)
		snprintf(err->message, sizeof err->message, "(unprintable error)");
	mark_truncated(err, n);
	defang(err->message);
}

void ers_error_set(struct ers_error *err, enum ers_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ers_error_vset(err, code, fmt, ap);
	va_end(ap);
}

void ers_error_prefix(struct ers_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	/* As big as the message, so that a prefix too long for it also makes
	 * the result too long, and mark_truncated() says so. */
	char prefix[sizeof err->message], old[sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof old);
	int n = snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
	mark_truncated(err, n);
	defang(err->message);
}

void ers_error_clear(struct ers_error *err)
{
	if (!err)
		return;
	err->code = ERS_OK;
	err->message[0] = '\0';
}

const char *ers_error_code_name(enum ers_error_code code)
{
	switch (code) {
	case ERS_OK: return "ok";
	case ERS_E_USAGE: return "usage";
	case ERS_E_INVALID: return "invalid";
	case ERS_E_NOTFOUND: return "not_found";
	case ERS_E_CONFLICT: return "conflict";
	case ERS_E_PERMISSION: return "permission_denied";
	case ERS_E_UNAVAILABLE: return "unavailable";
	case ERS_E_CONFIG: return "config";
	case ERS_E_INTERNAL: return "internal";
	case ERS_E_IO: return "io";
	}
	return "internal";
}
