/* /etc/ers/ers.yaml, read into a typed structure, and the secrets that live
 * beside it in a root-owned file (never in ers.yaml). */
#ifndef ERS_CONFIG_H
#define ERS_CONFIG_H

#include <stdbool.h>
#include "error.h"
#include "buf.h"

#define ERS_CONFIG_DEFAULT_PATH "/etc/ers/ers.yaml"
#define ERS_SECRETS_DEFAULT_PATH "/etc/ers/secrets"
/* webmail.hsts_max_age: its default (one year) and its largest value (two
 * years); the webmail's front (web/front.c) reads them too. */
#define ERS_HSTS_MAX_AGE_DEFAULT 31536000
#define ERS_HSTS_MAX_AGE_MAX 63072000

struct ers_secrets {
	char *master_key;        /* SMIME_MASTER_KEY: 32 bytes, hex or base64 in the file */
	char master_key_source[300];
	char *database_password; /* ERS_DATABASE_PASSWORD */
	char database_password_source[300];
	char *doveadm_api_key;   /* DOVEADM_API_KEY: ersctl flushes Dovecot's auth cache with it */
	char doveadm_api_key_source[300];
	char *webmail_master_password; /* WEBMAIL_MASTER_PASSWORD: Dovecot's master user for the webmail */
	char webmail_master_password_source[300];
};

struct ers_config {
	char *path;
	struct {
		char *host;          /* unix socket directory, or a host name */
		int port;
		char *name;
		char *user;
		int connect_timeout; /* seconds */
		char *sslmode;
	} database;
	char *secrets_file;
	/* How the mail servers are set up; `ersctl mailstack render` writes
	 * their configuration from this, and ersctl acts on a local mail node. */
	struct {
		char *mail_root;      /* mail lives in MAIL_ROOT/TENANT_ID/MAILBOX_ID */
		int mail_uid, mail_gid;
		char *hostname;       /* Postfix's myhostname (default: this host's name) */
		char *listen;         /* address the daemons listen on: * or one address */
		int smtp_port, submission_port, imap_port;
		int imaps_port;       /* IMAP with implicit TLS when tls_cert is set (0: none) */
		int pop3_port;        /* POP3 (STARTTLS when tls_cert is set); 0: no POP3 */
		int pop3s_port;       /* POP3 with implicit TLS when tls_cert is set (0: none) */
		int greylist_delay;   /* seconds a greylisted sender waits before its retry passes */
		int managesieve_port; /* ManageSieve (RFC 5804) for clients' filters; 0: none */
		char *db_host;        /* how the mail servers reach PostgreSQL (default: database.*) */
		int db_port;
		char *db_name;
		char *db_user;        /* the role that reads schema ers_mail and nothing else */
		char *quota_db_user;  /* the role Dovecot writes quota usage with */
		char *postfix_queue_directory;
		char *policy_service; /* Postfix's check_policy_service target */
		char *relayhost;      /* where outbound mail goes (empty: DNS MX) */
		int doveadm_port;     /* Dovecot's doveadm HTTP API (0: none, auth cache off) */
		char *doveadm_urls;   /* where ersctl flushes the auth cache (comma-separated) */
		char *master_user;    /* Dovecot master user the webmail logs in with */
		char *tls_cert, *tls_key;
		char *opendkim_milter; /* OpenDKIM's milter socket for submission (unset: no signing) */
		int opendkim_port;     /* where `ersctl mailstack check` and test/stack find it */
		char *dovecot_config;  /* the dovecot.conf doveadm reads (`migrate`); default /etc/dovecot/dovecot.conf */
		char *migrate_sources; /* the hosts `migrate` may copy from, space-separated; NULL: any */
		bool shared_seen;      /* shared mailboxes: one \Seen flag for everyone (true) or one per user */
		int reply_port;        /* loopback-only SMTP listener Sieve's vacation replies leave by */
		/* The spam filter of mail arriving on port 25: `ersctl spam milter`
		 * as Postfix names it (inet:HOST:PORT or unix:/PATH; NULL: no spam
		 * filter), and rspamd's normal worker it asks for scores (HOST:PORT).
		 * rspamd_controller: rspamd's controller (HOST:PORT; NULL: no
		 * training), which the webmail's "Mark as spam" and "Not spam"
		 * teach (its Bayes classifier); it must count ERS's host among its
		 * secure_ip. */
		char *spam_milter;
		char *rspamd;
		char *rspamd_controller;
	} mailstack;
	/* The DNS every tenant domain must publish (`ersctl dns plan|check`). */
	struct {
		char *resolver;    /* "HOST" or "HOST:PORT" to query (unset: the system's) */
		char *mx_host;     /* MX target (unset: mail.DOMAIN, as manual 001) */
		char *mail_ipv4;   /* the mail host's addresses for its A / AAAA records */
		char *mail_ipv6;
		char *dmarc_rua;   /* report addresses (unset: dmarc@DOMAIN, tls-rpt@DOMAIN) */
		char *tlsrpt_rua;
		int https_port;    /* where MTA-STS policies are fetched (443; tests use another) */
		char *ca_file;     /* CA bundle for that fetch (unset: the system's) */
		int timeout;       /* seconds per DNS query or HTTPS fetch */
		int concurrency;   /* domains checked at once by `dns check --all` */
	} dns;
	/* The webmail's own settings (ers-webmail(8)). */
	struct {
		/* Strict-Transport-Security on its HTTPS answers: max-age in
		 * seconds (0: no header) and includeSubDomains. */
		int hsts_max_age;
		bool hsts_include_subdomains;
	} webmail;
	/* Welcome emails (ers/welcome.h). */
	struct {
		/* WELCOME_EMAIL_BASE_URL (the environment variable overrides
		 * welcome.base_url): the webmail's https:// address, without a
		 * trailing '/'; the login and manual links start with it.
		 * NULL: welcome emails cannot be sent. */
		char *base_url;
		char base_url_source[300];
		/* The sender's address; NULL: postmaster@ the tenant's primary
		 * domain.  It must be a mailbox or alias on this server. */
		char *sender;
	} welcome;
	/* Outbound scanning with clamd (ers/scan.h). */
	struct {
		bool enabled;      /* false: mail is sent unscanned, the Security tab says so */
		char *target;      /* clamd: unix:/PATH or tcp:HOST:PORT */
		bool fail_closed;  /* true (default): no verdict, no send */
		int timeout;       /* seconds for one scan (connect, stream, answer) */
		int max_size_mb;   /* largest item streamed; larger is "unavailable" */
		int retention_days; /* scan records older than this are deleted */
		/* The ERS scan milter (`ersctl scan milter`) as Postfix names it:
		 * inet:HOST:PORT or unix:/PATH; NULL: submission is not scanned. */
		char *milter;
	} scan;
	/* Mail archives (ers/archive.h). */
	struct {
		char *directory;   /* where encrypted archives are stored (default /var/lib/ers/archives) */
	} archive;
	struct ers_secrets secrets;
};

/* Reads and validates the file at `path` (NULL: $ERS_CONFIG, then the
 * default), then the secrets file and the environment.  Every error names
 * file:line:column, the key and what is allowed. */
int ers_config_load(const char *path, struct ers_config **cfg_r, struct ers_error *err);
void ers_config_free(struct ers_config *cfg);
/* The effective configuration as YAML, secrets shown only as set/unset. */
void ers_config_describe(const struct ers_config *cfg, struct ers_buf *out);
/* Whether `url` is a welcome base URL: https://HOST[:PORT][/PATH], no
 * query, fragment, spaces, quotes or angle brackets; else ERS_E_CONFIG
 * naming `source` and what is allowed. */
int ers_welcome_base_url_check(const char *url, const char *source, struct ers_error *err);

#endif
