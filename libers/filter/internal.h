/* filter's interfaces inside its area. */
#ifndef ERS_FILTER_INTERNAL_H
#define ERS_FILTER_INTERNAL_H

#include "core/internal.h"
#include "ers/autoreply.h"

/* spam_decide.c: teaches rspamd's Bayes classifier (its controller at
 * mailstack.rspamd_controller) that `msg` is spam or not: ERS_SPAM_LEARNED,
 * ERS_SPAM_LEARN_SKIPPED (rspamd answers 204 to a message with too few
 * words), or -1 on error. */
int ers_rspamd_learn(const struct ers_config *cfg, bool spam, const char *msg, size_t len, struct ers_error *err);

#endif
