/* libers: every rule and every operation of the Email Reseller Server. */
#ifndef ERS_H
#define ERS_H

#include "error.h"
#include "mem.h"
#include "buf.h"
#include "config.h"
#include "actor.h"
#include "authz.h"
#include "ctx.h"
#include "schema.h"
#include "names.h"
#include "host.h"
#include "tenant.h"
#include "audit.h"
#include "password.h"
#include "seal.h"
#include "user.h"
#include "alias.h"
#include "forward.h"
#include "import.h"
#include "limits.h"
#include "policy.h"
#include "mailstack.h"
#include "dovecot.h"
#include "dkim.h"
#include "dns.h"
#include "golive.h"
#include "qr.h"
#include "session.h"
#include "mfa.h"
#include "sanitize.h"
#include "message.h"
#include "imap.h"
#include "compose.h"
#include "welcome.h"
#include "smime.h"

const char *ers_version(void);

#endif
