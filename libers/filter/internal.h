/* filter's interfaces inside its area. */
#ifndef ERS_FILTER_INTERNAL_H
#define ERS_FILTER_INTERNAL_H

#include "core/internal.h"
#include "ers/autoreply.h"

#endif
