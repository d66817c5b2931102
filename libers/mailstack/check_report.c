/* Check reports: a list of answers, one per thing checked, that `ersctl
 * mailstack check` and the go-live check fill and the fronts print. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ers/mailstack.h"
#include "ers/mem.h"
#include "mailstack/internal.h"

void ers_check_add(struct ers_check_report *r, const char *component, const char *what, bool ok,
		   const char *fmt, ...)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->items = ers_xrealloc(r->items, r->cap * sizeof *r->items);
	}
	struct ers_check_item *it = &r->items[r->n++];
	memset(it, 0, sizeof *it);
	snprintf(it->component, sizeof it->component, "%s", component);
	snprintf(it->what, sizeof it->what, "%s", what);
	it->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof it->detail, fmt, ap);
	va_end(ap);
	for (char *s = it->detail; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = ' ';
	if (!ok)
		r->all_ok = false;
}

void ers_check_report_free(struct ers_check_report *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof *r);
}
