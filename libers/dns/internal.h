/* dns's interfaces inside libers, for dns itself: the public headers of
 * DKIM, DNS and go-live on top of everything below. */
#ifndef ERS_DNS_INTERNAL_H
#define ERS_DNS_INTERNAL_H

#include "mailstack/internal.h"
#include "ers/dkim.h"
#include "ers/dns.h"
#include "ers/golive.h"


#endif
