/* mail's interfaces inside libers -- health probes, GMime's start, and the
 * effects of a change on the running mail servers -- for mail and the areas
 * above it. */
#ifndef ERS_MAIL_INTERNAL_H
#define ERS_MAIL_INTERNAL_H

#include "core/internal.h"
#include "ers/imap.h"
#include "ers/message.h"
#include "ers/sanitize.h"
#include "ers/compose.h"
#include "ers/dovecot.h"

/* probe.c: a client connection for health probes, TLS verified.  `host`
 * starting with '/' is a unix socket path (port ignored). */
struct ers_probe;
int ers_probe_open(const char *host, int port, struct ers_probe **p_r, char *why, size_t whylen);
/* The certificate must be valid for `name` (default: the host connected
 * to); with partial_chain the CA file may be the server's own certificate. */
void ers_probe_verify_as(struct ers_probe *p, const char *name, bool partial_chain);
/* Starts TLS now (implicit TLS, or after the server agreed to STARTTLS);
 * `ca_file` NULL: the system's CAs. */
int ers_probe_start_tls(struct ers_probe *p, const char *ca_file, char *why, size_t whylen);
bool ers_probe_say(struct ers_probe *p, const char *s);
bool ers_probe_write(struct ers_probe *p, const void *data, size_t n);
/* Reads what arrives next, appending at buf + *n (keeps one byte spare). */
bool ers_probe_read(struct ers_probe *p, void *buf, size_t cap, size_t *n);
/* Reads until `done` appears in the text (5 s at most per read). */
bool ers_probe_read_until(struct ers_probe *p, char *buf, size_t cap, const char *done);
/* Reads one complete answer into buf: up to the line starting with `tag`
 * (IMAP), or with tag NULL up to the last line of an SMTP reply. */
bool ers_probe_reply(struct ers_probe *p, const char *tag, char *buf, size_t cap);
void ers_probe_close(struct ers_probe *p);

/* message.c: g_mime_init() once per process, before any GMime call. */
void ers_gmime_init(void);

/* dovecot.c: after a change to logins commits, flushes Dovecot's auth
 * cache for `address` (NULL: everyone) and, with `purge`, removes the mail
 * deleted mailboxes left; failures become a warning on ctx.
 * After a delete commits, removes the mail it left when
 * MAIL_ROOT is here and writable; otherwise it waits, listed in
 * ers.mail_purge, for `ersctl mailstack purge` on a mail node. */
void ers_mailstack_after_change(struct ers_ctx *ctx, const struct ers_actor *actor, const char *address,
				bool purge);
int ers_mailstack_purge_pending(struct ers_ctx *ctx, const struct ers_actor *actor, long *removed_r,
				struct ers_error *err);

#endif
