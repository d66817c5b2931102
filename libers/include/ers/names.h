/* Validation and normalisation of names that come from people: domains
 * (IDN to punycode, lower case), host names, ports. */
#ifndef ERS_NAMES_H
#define ERS_NAMES_H

#include <stddef.h>
#include "buf.h"
#include "error.h"

/* A mail domain: at least two labels, IDN converted to its ASCII (punycode)
 * form, lower-cased, one trailing dot dropped.  Writes the normal form to
 * `out` (reset first). */
int ers_domain_normalize(const char *input, struct ers_buf *out, struct ers_error *err);
/* A server host name (one label allowed, e.g. "localhost") or an IP literal. */
int ers_hostname_normalize(const char *input, struct ers_buf *out, struct ers_error *err);
/* Parses a TCP port 1..65535; `what` names it in the error. */
int ers_port_parse(const char *input, const char *what, int *port_r, struct ers_error *err);
/* Parses a whole number in [min, max]; `what` names it in the error. */
int ers_int_parse(const char *input, const char *what, long long min, long long max,
		  long long *value_r, struct ers_error *err);

/* A display name from a person: valid UTF-8, 1..max_chars characters, no
 * control characters, no leading or trailing space. */
int ers_text_check(const char *input, const char *what, size_t max_chars, struct ers_error *err);

/* Validates an address against manual 003's rules: local part of lower-case
 * Latin letters, digits, hyphens and periods, not starting or ending with a
 * period and without two in a row, at most 64 characters. */
int ers_address_normalize(const char *input, struct ers_buf *out, struct ers_error *err);

#endif
