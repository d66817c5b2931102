/* scan's interfaces inside the area. */
#ifndef ERS_SCAN_INTERNAL_H
#define ERS_SCAN_INTERNAL_H

#include "core/internal.h"
#include "ers/scan.h"

/* clamd.c: a monotonic clock in milliseconds. */
long ers_scan_now_ms(void);

/* The EICAR test string, built in memory from parts (never stored whole in
 * the source); `dst` holds at least 69 bytes. */
size_t ers_scan_eicar(char *dst, size_t cap);

#endif
