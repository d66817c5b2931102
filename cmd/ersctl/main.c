/* ersctl: the operators' command-line front of libers.  The command table
 * below is the single source for dispatch, help, completions and the man
 * pages' synopses. */
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include "cli.h"

#define EX_CONFLICT 73 /* sysexits has none; EX_CANTCREAT is nearest */

const struct opt_spec ersctl_global_opts[] = {
	{ "config", "FILE", "read this configuration instead of /etc/ers/ers.yaml (also: ERS_CONFIG)", 0, NULL },
	{ "as", "EMAIL", "act as this user, under the policy for its role (operators only; audited with both names)", 0, NULL },
	{ "json", NULL, "print JSON with stable keys, errors as {\"error\": {...}}", 0, NULL },
	{ "quiet", NULL, "print only data and errors", 0, NULL },
	{ "yes", NULL, "do not ask before destructive commands", 0, NULL },
	{ "version", NULL, "print the version and exit", 0, NULL },
	{ "help", NULL, "show help for the command", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec no_opts[] = { { NULL, NULL, NULL, 0, NULL } };

static const struct opt_spec host_add_opts[] = {
	{ "kind", "KIND", "what the host serves", OPT_REQUIRED, "imap smtp" },
	{ "port", "PORT", "an allowed port (repeat or separate with commas; default 993 for IMAP, 587 for SMTP)", OPT_REPEAT, NULL },
	{ "tls", "MODE", "TLS mode (default: IMAP 993 implicit, 143 starttls; SMTP 465 implicit, 587 and 25 starttls; other ports need --tls)", 0, "implicit starttls" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec host_list_opts[] = {
	{ "kind", "KIND", "only hosts of this kind", 0, "imap smtp" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec host_remove_opts[] = {
	{ "kind", "KIND", "only this kind", 0, "imap smtp" },
	{ "port", "PORT", "only this port", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec tenant_add_opts[] = {
	{ "domain", "DOMAIN", "the primary mail domain (IDN allowed; stored as punycode)", OPT_REQUIRED, NULL },
	{ "imap-host", "HOST", "an approved IMAP host", OPT_REQUIRED, NULL },
	{ "imap-port", "PORT", "IMAP port (default 993)", 0, NULL },
	{ "smtp-host", "HOST", "an approved SMTP host", OPT_REQUIRED, NULL },
	{ "smtp-port", "PORT", "SMTP port (default 587)", 0, NULL },
	{ "max-users", "N", "user limit, 0..1000000 (leave out for no limit)", 0, NULL },
	{ "max-storage-mb", "N", "storage limit in MB, 0..104857600 (leave out for no limit)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec tenant_edit_opts[] = {
	{ "name", "NAME", "rename the tenant", 0, NULL },
	{ "imap-host", "HOST", "move to another approved IMAP host", 0, NULL },
	{ "imap-port", "PORT", "IMAP port", 0, NULL },
	{ "smtp-host", "HOST", "move to another approved SMTP host", 0, NULL },
	{ "smtp-port", "PORT", "SMTP port", 0, NULL },
	{ "max-users", "N|none", "user limit, 0..1000000, or none", 0, NULL },
	{ "max-storage-mb", "N|none", "storage limit in MB, 0..104857600, or none", 0, NULL },
	{ "time-zone", "ZONE", "the tenant's time zone (tz name, e.g. Europe/Berlin): autoresponder dates are days there", 0, NULL },
	{ "junk-days", "N", "expunge Junk messages older than N days at mailstack purge, 0..3650 (0 keeps them)", 0, NULL },
	{ "pop3", "on|off", "whether the tenant's users may log in over POP3 (and are offered it in client settings)", 0, "on off" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec tenant_autoconfig_opts[] = {
	{ "output", "FILE", "write the file there (atomically) instead of printing it", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec domain_add_opts[] = {
	{ "primary", NULL, "make it the tenant's primary domain", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec domain_copy_opts[] = {
	{ "to", "ADDRESS", "send a hidden copy of every inbound message of the domain to ADDRESS", 0, NULL },
	{ "off", NULL, "stop the hidden copy", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec alias_add_opts[] = {
	{ "to", "EMAIL", "the user whose mailbox receives the alias's mail (same tenant)", OPT_REQUIRED, NULL },
	{ "internal-only", NULL, "refuse mail from outside the tenant", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec alias_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's aliases (name or domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec dkim_enable_opts[] = {
	{ "selector", "SELECTOR", "the key's selector, one DNS label of a-z, 0-9 and hyphens (default: default)", 0, NULL },
	{ "algorithm", "ALGORITHM", "the key's algorithm (default rsa-2048, which every verifier knows)", 0, "rsa-2048 rsa-4096 ed25519" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec dkim_rotate_opts[] = {
	{ "selector", "SELECTOR", "the new key's selector (default: sYYYYMMDD); with --activate: the published key to switch to (default: the newest)", 0, NULL },
	{ "algorithm", "ALGORITHM", "the new key's algorithm (default rsa-2048)", 0, "rsa-2048 rsa-4096 ed25519" },
	{ "activate", NULL, "second stage: sign with the published key once its TXT record answers in DNS", 0, NULL },
	{ "force", NULL, "with --activate: do not wait for DNS", 0, NULL },
	{ "grace", "HOURS", "with --activate: how long the old key stays published, 0..8760 (default 168)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec dkim_disable_opts[] = {
	{ "selector", "SELECTOR", "retire only this key (default: every key of the domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec dns_plan_opts[] = {
	{ "format", "FORMAT", "table (default), json (the default under --json) or zone: zone-file lines to paste, TXT split into 255-byte strings", 0, "table json zone" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec dns_check_opts[] = {
	{ "all", NULL, "every domain the actor may see, dns.concurrency at a time", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec forward_add_opts[] = {
	{ "to", "DEST", "where the mail goes: addresses, here or elsewhere (repeat or separate with commas; at most 50)", OPT_REQUIRED | OPT_REPEAT, NULL },
	{ "keep-copy", NULL, "for a user's own address: the mailbox keeps the mail too", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec mailstack_render_opts[] = {
	{ "postfix", "DIR", "write Postfix's main.cf, master.cf and pgsql maps into DIR (absolute path)", 0, NULL },
	{ "dovecot", "DIR", "write Dovecot's ers.conf, SQL and dict files into DIR (absolute path)", 0, NULL },
	{ "opendkim", "DIR", "write OpenDKIM's opendkim.conf, KeyTable, SigningTable and active keys into DIR (reads the database)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec forward_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's forwards (name or domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec audit_list_opts[] = {
	{ "tenant", "TENANT", "only rows about this tenant (by name)", 0, NULL },
	{ "actor", "ACTOR", "only rows by this actor (operator:LOGIN, LOGIN or an address)", 0, NULL },
	{ "since", "TIME", "only rows since a time (2026-11-22, 2026-11-22T10:00Z) or a span ago (30m, 12h, 7d, 2w)", 0, NULL },
	{ "limit", "N", "at most N rows, newest first (default 100)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec user_add_opts[] = {
	{ "first-name", "NAME", "first name (up to 100 characters)", 0, NULL },
	{ "last-name", "NAME", "last name (up to 100 characters)", 0, NULL },
	{ "role", "ROLE", "role (default user; only super admins and operators give admin roles)", 0, "user tenant_admin super_admin" },
	{ "quota-mb", "N", "mailbox quota in MB, 0..1048576 (leave out for none; required when the tenant has a storage limit)", 0, NULL },
	{ "password-file", "FILE", "read the password from FILE (- for standard input); 12..511 bytes", 0, NULL },
	{ "generate-password", NULL, "generate a temporary password (138 bits) and print it once", 0, NULL },
	{ "imap-username", "USER", "for a mailbox on a remote approved host: its IMAP username", 0, NULL },
	{ "imap-password-file", "FILE", "… and its IMAP password, stored sealed (AES-256-GCM), never shown", 0, NULL },
	{ "internal-only", NULL, "refuse mail from outside the tenant", 0, NULL },
	{ "send-welcome", NULL, "send the welcome email (login URL, username, role, manual link; never the password); if it cannot be sent the user is created all the same, with a warning", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_edit_opts[] = {
	{ "first-name", "NAME", "first name", 0, NULL },
	{ "last-name", "NAME", "last name", 0, NULL },
	{ "role", "ROLE", "new role (super admins and operators only)", 0, "user tenant_admin super_admin" },
	{ "quota-mb", "N|none", "mailbox quota in MB, 0..1048576, or none", 0, NULL },
	{ "internal-only", "yes|no", "refuse mail from outside the tenant", 0, "yes no" },
	{ "imap-username", "USER", "remote mailbox: IMAP username (with --imap-password-file)", 0, NULL },
	{ "imap-password-file", "FILE", "remote mailbox: IMAP password, stored sealed", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's users (name or domain)", 0, NULL },
	{ "role", "ROLE", "only this role", 0, "user tenant_admin super_admin" },
	{ "status", "STATUS", "only active or disabled users", 0, "active disabled" },
	{ "after", "CURSOR", "the page after this one: the \"more:\" cursor printed (sorted by email: the last address shown)", 0, NULL },
	{ "limit", "N", "at most N users, 1..10000 (default 100)", 0, NULL },
	{ "sort", "KEY", "order by email (default), name, role or status", 0, "email name role status" },
	{ "descending", NULL, "in descending order", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_import_opts[] = {
	{ "format", "FORMAT", "the file's format (default: from its extension, .csv or .json)", 0, "csv json" },
	{ "profile", "PROFILE", "the file's columns: ERS's own (default) or PostfixAdmin's mailbox table", 0, "ers postfixadmin" },
	{ "generate-passwords", NULL, "give every user a temporary password, printed once as CSV (address,temporary_password)", 0, NULL },
	{ "tenant", "TENANT", "refuse any row outside this tenant (name or domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_export_opts[] = {
	{ "tenant", "TENANT", "only this tenant's users (name or domain)", 0, NULL },
	{ "format", "FORMAT", "csv (default) or json (the default under --json)", 0, "csv json" },
	{ "with-hashes", NULL, "add the password hashes, to move users to another ERS (audited)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_passwd_opts[] = {
	{ "password-file", "FILE", "read the new password from FILE (- for standard input)", 0, NULL },
	{ "generate-password", NULL, "generate a temporary password and print it once", 0, NULL },
	{ "current-password-file", "FILE", "change one's own password: the current one, from FILE", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec limits_show_opts[] = {
	{ "server", NULL, "the server's defaults", 0, NULL },
	{ "tenant", "TENANT", "a tenant (its name or one of its domains)", 0, NULL },
	{ "domain", "DOMAIN", "a domain", 0, NULL },
	{ "mailbox", "EMAIL", "a user's mailbox", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec limits_set_opts[] = {
	{ "server", NULL, "the server's defaults", 0, NULL },
	{ "tenant", "TENANT", "a tenant (its name or one of its domains)", 0, NULL },
	{ "domain", "DOMAIN", "a domain", 0, NULL },
	{ "mailbox", "EMAIL", "a user's mailbox", 0, NULL },
	{ "per-mailbox", "N|inherit", "emails per hour each mailbox may send, 0..10000000 (0 or 1: none), or inherit", 0, NULL },
	{ "per-domain", "N|inherit", "emails per hour a domain's mailboxes may send together (server, tenant, domain)", 0, NULL },
	{ "total", "N|inherit", "emails per hour a tenant's mailboxes may send together (server, tenant)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec policyd_opts[] = {
	{ "listen", "ADDRESS", "unix:/PATH (a socket, mode 0660) or a loopback address and port: 127.0.0.1:PORT, [::1]:PORT", OPT_REQUIRED, NULL },
	{ "socket-group", "GROUP", "give the unix socket to GROUP, which may then connect (Postfix: postfix)", 0, NULL },
	{ "pidfile", "FILE", "write the process id to FILE while running", 0, NULL },
	{ "max-connections", "N", "at most N connections at once, each with its own database connection, 1..1000 (default 100)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec scan_milter_opts[] = {
	{ "listen", "ADDRESS", "inet:HOST:PORT or unix:/PATH, as Postfix names it (default: scan.milter)", 0, NULL },
	{ "socket-group", "GROUP", "give the unix socket (mode 0660) to GROUP, which may then connect (Postfix: postfix)", 0, NULL },
	{ "pidfile", "FILE", "write the process id to FILE while running", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec spam_milter_opts[] = {
	{ "listen", "ADDRESS", "inet:HOST:PORT or unix:/PATH, as Postfix names it (default: mailstack.spam_milter)", 0, NULL },
	{ "pidfile", "FILE", "write the process id to FILE while running", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec scan_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's scans (name or domain)", 0, NULL },
	{ "since", "TIME", "only scans since a time (2026-12-04, 2026-12-04T10:00Z) or a span ago (30m, 12h, 7d, 2w)", 0, NULL },
	{ "issues", NULL, "only infected or unavailable items", 0, NULL },
	{ "attachments", NULL, "only attachments", 0, NULL },
	{ "limit", "N", "at most N rows, newest first, 1..10000 (default 100)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec scan_stats_opts[] = {
	{ "tenant", "TENANT", "only this tenant's scans (name or domain)", 0, NULL },
	{ "since", "TIME", "only scans since a time or a span ago (30m, 12h, 7d, 2w)", 0, NULL },
	{ "per-user", NULL, "counts per sender and domain, not per domain", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec archive_create_opts[] = {
	{ "tenant", "TENANT", "archive every active mailbox of this tenant (tenant archives), instead of one EMAIL", 0, NULL },
	{ "older-than", "DAYS", "only messages older than DAYS days, 0..36500 (default: the tenant policy's, 30)", 0, NULL },
	{ "folder", "FOLDER", "only this folder, as the mailbox lists it (repeat; default: every folder)", OPT_REPEAT, NULL },
	{ "format", "FORMAT", "mboxrd .mbox (default: the user's preference or the tenant policy's), mbox-folders (one .mbox per folder, zipped) or a zip of .eml files", 0, "mbox mbox-folders zip" },
	{ "delete-after", NULL, "expunge the archived messages once the archive is stored and its checksum verified", 0, NULL },
	{ "to", "DESTINATION", "where the archive is stored: local, the server's archive directory (the default), or one of the tenant's destinations (also uploaded there and read back)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's archives (name or domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_download_opts[] = {
	{ "output", "FILE", "write the decrypted .mbox or .zip there (-o; mode 0600, complete or not at all)", OPT_REQUIRED, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_key_export_opts[] = {
	{ "tenant", "TENANT", "the tenant's archive key, instead of the user EMAIL's", 0, NULL },
	{ "output", "FILE", "write the passphrase-encrypted key there (-o)", OPT_REQUIRED, NULL },
	{ "passphrase-file", "FILE", "read the passphrase from FILE (- for standard input; default: ask on the terminal)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_destination_add_opts[] = {
	{ "tenant", "TENANT", "the tenant (default: the actor's own)", 0, NULL },
	{ "url", "URL", "sftp://HOST[:PORT]/DIR/ or https://HOST[:PORT]/DIR/ (WebDAV)", OPT_REQUIRED, NULL },
	{ "user", "USER", "the user name to log in with", OPT_REQUIRED, NULL },
	{ "password-file", "FILE", "read the password from FILE (- for standard input); stored sealed", 0, NULL },
	{ "key-file", "FILE", "SFTP: an SSH private key without passphrase, instead of a password; stored sealed", 0, NULL },
	{ "host-key", "SHA256", "SFTP: the server's host key fingerprint, as `ssh-keygen -lf KEY.pub` prints it", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_policy_show_opts[] = {
	{ "tenant", "TENANT", "the tenant (default: the actor's own)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec archive_policy_set_opts[] = {
	{ "tenant", "TENANT", "the tenant (default: the actor's own)", 0, NULL },
	{ "format", "FORMAT", "the default format: mbox, mbox-folders (one .mbox per folder, zipped) or zip", 0, "mbox mbox-folders zip" },
	{ "older-than", "DAYS", "the default cutoff in days, 0..36500", 0, NULL },
	{ "to", "DESTINATION", "a user's preferences (EMAIL): its destination, local or one of the tenant's", 0, NULL },
	{ "delete-after", "yes|no", "tenant policy: expunge archived messages by default", 0, "yes no" },
	{ "auto-archive", "yes|no", "tenant: `archive run` archives every mailbox daily; user (EMAIL): its personal auto-archive", 0, "yes no" },
	{ "personal-auto-archive", "yes|no", "tenant policy: whether users may turn on their own auto-archive", 0, "yes no" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec backup_create_opts[] = {
	{ "include-maildirs", NULL, "carry the maildirs too (mail_root)", 0, NULL },
	{ "passphrase-file", "FILE", "read the passphrase from FILE: owned by root, mode 0600, not empty (also: ERS_BACKUP_PASSPHRASE_FILE; default: ask twice on the terminal)", 0, NULL },
	{ "output", "FILE|DIR", "write this file, or a new ers-backup-HOST-TIME.tar.zst.gpg in DIR (default /var/backups/ers)", 0, NULL },
	{ "keep", "N", "after writing into a directory, remove all but its N newest backups", 0, NULL },
	{ "path", "PATH", "carry this file or directory too (repeat)", OPT_REPEAT, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec backup_verify_opts[] = {
	{ "passphrase-file", "FILE", "read the passphrase from FILE (also: ERS_BACKUP_PASSPHRASE_FILE; default: ask)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec backup_restore_opts[] = {
	{ "passphrase-file", "FILE", "read the passphrase from FILE (also: ERS_BACKUP_PASSPHRASE_FILE; default: ask)", 0, NULL },
	{ "force", NULL, "restore onto a database holding tenants or users, and over files that differ", 0, NULL },
	{ "files-to", "DIR", "write ers.yaml and the mail-stack files under DIR instead of their own paths (to compare and move by hand)", 0, NULL },
	{ "tenant", "TENANT", "bring back only this tenant (its name in the backup): its rows and mail, into this running system beside the others", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec autoreply_set_opts[] = {
	{ "subject", "TEXT", "Subject of the automatic reply (one line, up to 200 characters)", OPT_REQUIRED, NULL },
	{ "message-file", "FILE", "Text of the automatic reply, up to 64 KB (- for standard input)", OPT_REQUIRED, NULL },
	{ "start", "YYYY-MM-DD", "Start Date: first day it answers, in the tenant's time zone (default: at once)", 0, NULL },
	{ "end", "YYYY-MM-DD", "End Date: last day it answers (default: no end)", 0, NULL },
	{ "interval-days", "N", "days before the same sender is answered again (1..365; default 1)", 0, NULL },
	{ "disabled", NULL, "save it switched off", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec spam_set_opts[] = {
	{ "greylisting", "on|off|default", "greylisting of mail from outside (a mailbox: only where its domain has it on; default: as the domain says)", 0, "on off default" },
	{ "filter", "on|off|default", "the spam filter of mail from outside (a mailbox: only where its domain has it on; default: as the domain says)", 0, "on off default" },
	{ "threshold", "N|default", "rspamd's score from which mail is spam: 1..100, two decimals at most (a domain's default: 5)", 0, NULL },
	{ "action", "mark|junk|reject|default", "what becomes of spam: mark (a header, INBOX), junk (moved to Junk), reject (refused 5xx); a domain's default: junk", 0, "mark junk reject default" },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec smime_identity_set_opts[] = {
	{ "cert", "FILE", "the certificate, PEM, for the user's own address (- for standard input)", OPT_REQUIRED, NULL },
	{ "key", "FILE", "its private key, PEM; stored sealed under SMIME_MASTER_KEY, never shown", OPT_REQUIRED, NULL },
	{ "passphrase-file", "FILE", "the key's passphrase, only if it has one; stored sealed", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec smime_cert_add_opts[] = {
	{ "cert", "FILE", "the recipient's certificate, PEM, issued for ADDRESS (- for standard input)", OPT_REQUIRED, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec smime_protect_opts[] = {
	{ "in", "FILE", "the message (RFC 5322; - for standard input)", OPT_REQUIRED, NULL },
	{ "sign", NULL, "sign with the user's identity: multipart/signed, SHA-256", 0, NULL },
	{ "encrypt", NULL, "encrypt (AES-256) to each --to and to the user's own certificate", 0, NULL },
	{ "to", "ADDRESS", "a recipient whose saved certificate to encrypt to (repeat)", OPT_REPEAT, NULL },
	{ "output", "FILE", "write the message there instead of to standard output", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec smime_open_opts[] = {
	{ "in", "FILE", "the message (- for standard input)", OPT_REQUIRED, NULL },
	{ "ca-file", "FILE", "more trusted CA certificates (PEM), beside the system's and the user's saved ones", 0, NULL },
	{ "output", "FILE", "write the opened message there instead of to standard output", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec migrate_start_opts[] = {
	{ "from-host", "HOST", "the source IMAP server", OPT_REQUIRED, NULL },
	{ "from-port", "PORT", "its port (default: 993 with --tls implicit, else 143)", 0, NULL },
	{ "tls", "MODE", "implicit (the default), starttls, or none (plain IMAP: only for a trusted network)", 0,
	  "implicit starttls none" },
	{ "from-user", "USER", "the login on the source server (usually the full email address)", OPT_REQUIRED, NULL },
	{ "from-password-file", "FILE", "a file holding the source password (-: standard input)", OPT_REQUIRED, NULL },
	{ "folder", "FOLDER", "migrate only this source folder (repeatable; default: all)", OPT_REPEAT, NULL },
	{ "wait", NULL, "run in the foreground and print the report, instead of in the background", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec user_clear_opts[] = {
	{ "folder", "FOLDER", "only this folder's messages (default: every folder)", 0, NULL },
	{ "older-than", "DAYS", "only messages received more than DAYS days ago (1..36500)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec migrate_resume_opts[] = {
	{ "wait", NULL, "run in the foreground and print the report", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

static const struct opt_spec shared_add_opts[] = {
	{ "name", "TEXT", "a name shown beside the address (up to 200 characters)", 0, NULL },
	{ "quota-mb", "N", "its quota in MB, 0..1048576 (leave out for none; required when the tenant has a storage limit)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec shared_list_opts[] = {
	{ "tenant", "TENANT", "only this tenant's shared mailboxes (name or domain)", 0, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
static const struct opt_spec shared_grant_opts[] = {
	{ "rights", "RIGHTS", "what the user may do, joined by commas: read, write (flag, file, delete, make folders), post, admin",
	  OPT_REQUIRED, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};

#define OPERATOR_DB (CMD_DB | CMD_OPERATOR)
const struct cmd_spec ersctl_commands[] = {
	{ "alias add", "ALIAS", 1, 1, alias_add_opts, "add an address that delivers to a user's mailbox", cmd_alias_add, OPERATOR_DB },
	{ "alias delete", "ALIAS", 1, 1, no_opts, "delete an alias", cmd_alias_delete, OPERATOR_DB },
	{ "alias list", "", 0, 0, alias_list_opts, "list the aliases the actor may see", cmd_alias_list, OPERATOR_DB },
	{ "archive create", "[EMAIL]", 0, 1, archive_create_opts, "archive a mailbox's messages older than a cutoff, encrypted, optionally deleting them after", cmd_archive_create, OPERATOR_DB },
	{ "archive delete", "ID", 1, 1, no_opts, "delete a stored archive and its record", cmd_archive_delete, OPERATOR_DB },
	{ "archive destination add", "NAME", 1, 1, archive_destination_add_opts, "add a remote destination for the tenant's archives (SFTP or WebDAV)", cmd_archive_destination_add, OPERATOR_DB },
	{ "archive destination list", "", 0, 0, archive_policy_show_opts, "list the tenant's remote archive destinations (never their credentials)", cmd_archive_destination_list, OPERATOR_DB },
	{ "archive destination remove", "NAME", 1, 1, archive_policy_show_opts, "remove a remote archive destination", cmd_archive_destination_remove, OPERATOR_DB },
	{ "archive download", "ID", 1, 1, archive_download_opts, "decrypt an archive into a plain .mbox or .zip", cmd_archive_download, OPERATOR_DB },
	{ "archive failures", "", 0, 0, archive_list_opts, "list the archive jobs that failed, for review", cmd_archive_failures, OPERATOR_DB },
	{ "archive key export", "[EMAIL]", 0, 1, archive_key_export_opts, "export one's archive key, encrypted with a passphrase, to open raw archives with gpg", cmd_archive_key_export, OPERATOR_DB },
	{ "archive list", "", 0, 0, archive_list_opts, "list the archives the actor may see", cmd_archive_list, OPERATOR_DB },
	{ "archive policy set", "[EMAIL]", 0, 1, archive_policy_set_opts, "set a tenant's archive defaults, or a user's own preferences (EMAIL): format, destination, cutoff, auto-archive", cmd_archive_policy_set, OPERATOR_DB },
	{ "archive policy show", "[EMAIL]", 0, 1, archive_policy_show_opts, "show a tenant's archive defaults, or a user's own preferences (EMAIL)", cmd_archive_policy_show, OPERATOR_DB },
	{ "archive run", "", 0, 0, no_opts, "for cron: archive every mailbox due under its tenant's auto-archive policy, one run at a time", cmd_archive_run, OPERATOR_DB },
	{ "archive show", "ID", 1, 1, no_opts, "show one archive job", cmd_archive_show, OPERATOR_DB },
	{ "archive verify", "ID", 1, 1, no_opts, "read a stored archive back and compare its SHA-256 with the recorded one", cmd_archive_verify, OPERATOR_DB },
	{ "audit list", "", 0, 0, audit_list_opts, "show the audit log, newest first", cmd_audit_list, OPERATOR_DB },
	{ "autoreply off", "EMAIL", 1, 1, no_opts, "turn a mailbox's autoresponder off, keeping its text", cmd_autoreply_off, OPERATOR_DB },
	{ "autoreply set", "EMAIL", 1, 1, autoreply_set_opts, "set a mailbox's autoresponder: subject, message, dates, interval", cmd_autoreply_set, OPERATOR_DB },
	{ "autoreply show", "EMAIL", 1, 1, no_opts, "show a mailbox's autoresponder and whether it answers today", cmd_autoreply_show, OPERATOR_DB },
	{ "av scans", "", 0, 0, scan_list_opts, "the same as scan list: the outbound scan records the actor may see", cmd_scan_list, OPERATOR_DB },
	{ "av selftest", "clean|eicar", 1, 1, no_opts, "the same as scan test: a scanner self-test, recorded", cmd_scan_test, OPERATOR_DB },
	{ "av status", "", 0, 0, no_opts, "the same as scan status: the scanner's settings and a check of clamd now", cmd_scan_status, OPERATOR_DB },
	{ "backup create", "", 0, 0, backup_create_opts, "write an encrypted backup of the database, ers.yaml, the secrets, the mail-stack configuration and (asked) the maildirs", cmd_backup_create, OPERATOR_DB },
	{ "backup list", "[DIR]", 0, 1, no_opts, "list the backups in a directory (default /var/backups/ers)", cmd_backup_list, CMD_OPERATOR },
	{ "backup restore", "FILE", 1, 1, backup_restore_opts, "restore a backup onto this machine: database, secrets, configuration, maildirs (refuses a database in use without --force)", cmd_backup_restore, CMD_OPERATOR },
	{ "backup verify", "FILE", 1, 1, backup_verify_opts, "decrypt a backup and check every member against its manifest and the dump with pg_restore; writes nothing", cmd_backup_verify, CMD_OPERATOR },
	{ "completion", "SHELL", 1, 1, no_opts, "print the completion script for bash, zsh or fish", cmd_completion, 0 },
	{ "config check", "", 0, 0, no_opts, "validate ers.yaml and the secrets; print the effective configuration, secrets masked", cmd_config_check, CMD_CONFIG | CMD_OPERATOR },
	{ "db migrate", "", 0, 0, no_opts, "apply pending schema migrations, each in its own transaction", cmd_db_migrate, OPERATOR_DB | CMD_ANY_SCHEMA },
	{ "db status", "", 0, 0, no_opts, "list applied and pending schema migrations", cmd_db_status, OPERATOR_DB | CMD_ANY_SCHEMA },
	{ "dkim disable", "DOMAIN", 1, 1, dkim_disable_opts, "retire a domain's DKIM keys: signing stops, private keys wiped", cmd_dkim_disable, OPERATOR_DB },
	{ "dkim enable", "DOMAIN", 1, 1, dkim_enable_opts, "generate a DKIM signing key for a domain and print its TXT record", cmd_dkim_enable, OPERATOR_DB },
	{ "dkim list", "", 0, 0, no_opts, "list the DKIM keys of every domain the actor may see (also retires keys whose grace ended: run it from cron)", cmd_dkim_list, OPERATOR_DB },
	{ "dkim rotate", "DOMAIN", 1, 1, dkim_rotate_opts, "rotate a domain's DKIM key: publish a new one, then --activate it once DNS has it", cmd_dkim_rotate, OPERATOR_DB },
	{ "dkim show", "DOMAIN", 1, 1, no_opts, "show a domain's DKIM keys, their states and TXT records", cmd_dkim_show, OPERATOR_DB },
	{ "dns check", "[DOMAIN]", 0, 1, dns_check_opts, "check what DNS answers against a domain's plan: each record ok, missing, wrong or harmful (exit 69: not ready)", cmd_dns_check, OPERATOR_DB },
	{ "dns plan", "DOMAIN", 1, 1, dns_plan_opts, "print the DNS records a domain must publish, with their real values and who publishes each", cmd_dns_plan, OPERATOR_DB },
	{ "forward add", "SOURCE", 1, 1, forward_add_opts, "forward a user's mail, an address of its own, or a domain's catch-all (*@DOMAIN)", cmd_forward_add, OPERATOR_DB },
	{ "forward delete", "SOURCE", 1, 1, no_opts, "delete a forward or a catch-all", cmd_forward_delete, OPERATOR_DB },
	{ "forward list", "", 0, 0, forward_list_opts, "list the forwards the actor may see", cmd_forward_list, OPERATOR_DB },
	{ "help", "[NOUN [VERB]]", 0, 3, no_opts, "show help for all commands, a noun, or one command", cmd_help, 0 },
	{ "limits set", "", 0, 0, limits_set_opts, "set the hourly send limits of the server, a tenant, a domain or a mailbox", cmd_limits_set, OPERATOR_DB },
	{ "limits show", "", 0, 0, limits_show_opts, "show the send limits in force, where each comes from, and this hour's sends", cmd_limits_show, OPERATOR_DB },
	{ "mailstack check", "", 0, 0, no_opts, "check a running mail node: lookups as the mail role, ports, a probe login, the policy service", cmd_mailstack_check, CMD_CONFIG | CMD_OPERATOR },
	{ "mailstack grant", "", 0, 0, no_opts, "let the mail role read schema ers_mail (and nothing else) and the quota role write usage", cmd_mailstack_grant, OPERATOR_DB },
	{ "mailstack purge", "", 0, 0, no_opts, "on a mail node: remove the mail of deleted mailboxes and tenants (for cron)", cmd_mailstack_purge, OPERATOR_DB },
	{ "mailstack render", "", 0, 0, mailstack_render_opts, "write Postfix's and Dovecot's configuration from ers.yaml", cmd_mailstack_render, CMD_CONFIG | CMD_OPERATOR },
	{ "migrate cancel", "ID", 1, 1, no_opts, "stop a queued or running IMAP migration", cmd_migrate_cancel, OPERATOR_DB },
	{ "migrate list", "[EMAIL]", 0, 1, no_opts, "list the IMAP migrations the actor may see, newest first", cmd_migrate_list, OPERATOR_DB },
	{ "migrate resume", "ID", 1, 1, migrate_resume_opts, "run an interrupted IMAP migration again: it copies only what is still missing", cmd_migrate_resume, OPERATOR_DB },
	{ "migrate run-queued", "", 0, 0, no_opts, "run every queued IMAP migration here, one after another (for a timer: the webmail queues them)", cmd_migrate_run_queued, OPERATOR_DB },
	{ "migrate start", "EMAIL", 1, 1, migrate_start_opts, "copy a mailbox from another IMAP server in the background: folders kept, nothing overwritten", cmd_migrate_start, OPERATOR_DB },
	{ "migrate status", "ID", 1, 1, no_opts, "show an IMAP migration and its per-folder report", cmd_migrate_status, OPERATOR_DB },
	{ "mtasts mode", "DOMAIN MODE", 2, 2, no_opts, "set a domain's MTA-STS mode: testing (first), enforce or none; the policy id changes with it", cmd_mtasts_mode, OPERATOR_DB },
	{ "mtasts policy", "DOMAIN", 1, 1, no_opts, "print a domain's MTA-STS policy file, to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt", cmd_mtasts_policy, OPERATOR_DB },
	{ "policyd", "", 0, 0, policyd_opts, "run the Postfix policy service: send limits, disabled senders, internal-only addresses", cmd_policyd, OPERATOR_DB },
	{ "scan list", "", 0, 0, scan_list_opts, "list the outbound scan records the actor may see, newest first", cmd_scan_list, OPERATOR_DB },
	{ "scan milter", "", 0, 0, scan_milter_opts, "run the milter that scans mail submitted on the submission port (Postfix smtpd_milters)", cmd_scan_milter, OPERATOR_DB },
	{ "scan prune", "", 0, 0, no_opts, "delete scan records older than scan.retention_days", cmd_scan_prune, OPERATOR_DB },
	{ "scan stats", "", 0, 0, scan_stats_opts, "count clean, infected and unavailable scans per sender domain (or per sender)", cmd_scan_stats, OPERATOR_DB },
	{ "scan status", "", 0, 0, no_opts, "show the scanner's settings and check clamd now (PING, VERSION; exit 69: unhealthy)", cmd_scan_status, OPERATOR_DB },
	{ "scan test", "clean|eicar", 1, 1, no_opts, "run a scanner self-test: a harmless payload, or the EICAR test string built in memory (recorded)", cmd_scan_test, OPERATOR_DB },
	{ "scan tests", "", 0, 0, no_opts, "list the recent self-tests", cmd_scan_tests, OPERATOR_DB },
	{ "server host add", "HOST", 1, 1, host_add_opts, "approve an IMAP or SMTP host for tenants", cmd_host_add, OPERATOR_DB },
	{ "server host list", "", 0, 0, host_list_opts, "list the approved hosts", cmd_host_list, OPERATOR_DB },
	{ "server host remove", "HOST", 1, 1, host_remove_opts, "withdraw an approval (refused while a tenant uses it)", cmd_host_remove, OPERATOR_DB },
	{ "shared add", "ADDRESS", 1, 1, shared_add_opts, "create a shared mailbox: an address with no login whose folders users of its tenant are given access to", cmd_shared_add, OPERATOR_DB },
	{ "shared delete", "ADDRESS", 1, 1, no_opts, "delete a shared mailbox with its mail and grants", cmd_shared_delete, OPERATOR_DB | CMD_DESTRUCTIVE },
	{ "shared grant", "ADDRESS USER", 2, 2, shared_grant_opts, "give a user of the tenant exactly these rights on a shared mailbox (replacing what it had)", cmd_shared_grant, OPERATOR_DB },
	{ "shared list", "", 0, 0, shared_list_opts, "list the shared mailboxes the actor may see, with how many users have access", cmd_shared_list, OPERATOR_DB },
	{ "shared revoke", "ADDRESS USER", 2, 2, no_opts, "take a user's access to a shared mailbox away (at once, open sessions too)", cmd_shared_revoke, OPERATOR_DB },
	{ "shared show", "ADDRESS", 1, 1, no_opts, "show a shared mailbox and who has which rights", cmd_shared_show, OPERATOR_DB },
	{ "smime cert add", "EMAIL ADDRESS", 2, 2, smime_cert_add_opts, "save the certificate a user encrypts to ADDRESS with (checked: valid now, for that address)", cmd_smime_cert_add, OPERATOR_DB },
	{ "smime cert list", "EMAIL", 1, 1, no_opts, "list a user's recipient certificates", cmd_smime_cert_list, OPERATOR_DB },
	{ "smime cert remove", "EMAIL ADDRESS", 2, 2, no_opts, "remove a user's certificate for ADDRESS", cmd_smime_cert_remove, OPERATOR_DB },
	{ "smime identity remove", "EMAIL", 1, 1, no_opts, "remove a user's S/MIME identity (certificate and sealed key)", cmd_smime_identity_remove, OPERATOR_DB },
	{ "smime identity set", "EMAIL", 1, 1, smime_identity_set_opts, "save a user's S/MIME certificate and private key, checked, the key sealed", cmd_smime_identity_set, OPERATOR_DB },
	{ "smime identity show", "EMAIL", 1, 1, no_opts, "show a user's S/MIME identity: subject, issuer, validity, fingerprint (never the key)", cmd_smime_identity_show, OPERATOR_DB },
	{ "smime open", "EMAIL", 1, 1, smime_open_opts, "decrypt a message with a user's identity and verify its signature, as the webmail reads it", cmd_smime_open, OPERATOR_DB },
	{ "smime protect", "EMAIL", 1, 1, smime_protect_opts, "sign and/or encrypt a message as the user, as the webmail sends it", cmd_smime_protect, OPERATOR_DB },
	{ "smime status", "", 0, 0, no_opts, "show whether S/MIME is ready here: master key, OpenSSL runtime, identities", cmd_smime_status, OPERATOR_DB },
	{ "spam allow add", "DOMAIN|EMAIL SENDER", 2, 2, no_opts, "never greylist nor filter as spam mail from SENDER (an address or a domain) to the domain or mailbox", cmd_spam_allow_add, OPERATOR_DB },
	{ "spam allow list", "DOMAIN|EMAIL", 1, 1, no_opts, "list the allowed senders of a domain or a mailbox", cmd_spam_allow_list, OPERATOR_DB },
	{ "spam allow remove", "DOMAIN|EMAIL SENDER", 2, 2, no_opts, "remove an allowed sender", cmd_spam_allow_remove, OPERATOR_DB },
	{ "spam block add", "DOMAIN|EMAIL SENDER", 2, 2, no_opts, "treat all mail from SENDER (an address or a domain) to the domain or mailbox as spam", cmd_spam_block_add, OPERATOR_DB },
	{ "spam block list", "DOMAIN|EMAIL", 1, 1, no_opts, "list the blocked senders of a domain or a mailbox", cmd_spam_block_list, OPERATOR_DB },
	{ "spam block remove", "DOMAIN|EMAIL SENDER", 2, 2, no_opts, "remove a blocked sender", cmd_spam_block_remove, OPERATOR_DB },
	{ "spam milter", "", 0, 0, spam_milter_opts, "run the milter that filters spam in mail arriving on port 25 with rspamd's scores (Postfix smtpd_milters)", cmd_spam_milter, OPERATOR_DB },
	{ "spam set", "DOMAIN|EMAIL", 1, 1, spam_set_opts, "set the spam filter (on/off, threshold, action) or greylisting of a domain or a mailbox", cmd_spam_set, OPERATOR_DB },
	{ "spam show", "DOMAIN|EMAIL", 1, 1, no_opts, "show a domain's or a mailbox's spam filter, greylisting, allowed and blocked senders", cmd_spam_show, OPERATOR_DB },
	{ "tenant add", "NAME", 1, 1, tenant_add_opts, "create a tenant with its primary domain and mail hosts", cmd_tenant_add, OPERATOR_DB },
	{ "tenant autoconfig", "DOMAIN", 1, 1, tenant_autoconfig_opts, "print (or write) the domain's Thunderbird-style autoconfig file, config-v1.1.xml", cmd_tenant_autoconfig, OPERATOR_DB },
	{ "tenant delete", "TENANT", 1, 1, no_opts, "delete a tenant and everything it owns", cmd_tenant_delete, OPERATOR_DB | CMD_DESTRUCTIVE },
	{ "tenant domain add", "TENANT DOMAIN", 2, 2, domain_add_opts, "add a domain to a tenant", cmd_domain_add, OPERATOR_DB },
	{ "tenant domain copy", "TENANT DOMAIN", 2, 2, domain_copy_opts, "send a hidden copy of a domain's inbound mail to an address, or stop it", cmd_domain_copy, OPERATOR_DB },
	{ "tenant domain list", "TENANT", 1, 1, no_opts, "list a tenant's domains", cmd_domain_list, OPERATOR_DB },
	{ "tenant domain primary", "TENANT DOMAIN", 2, 2, no_opts, "make one of a tenant's domains its primary domain", cmd_domain_primary, OPERATOR_DB },
	{ "tenant domain remove", "TENANT DOMAIN", 2, 2, no_opts, "remove a domain (not the primary one) from a tenant", cmd_domain_remove, OPERATOR_DB },
	{ "tenant edit", "TENANT", 1, 1, tenant_edit_opts, "change a tenant's name, hosts or limits", cmd_tenant_edit, OPERATOR_DB },
	{ "tenant golive", "DOMAIN", 1, 1, no_opts, "run the go-live checklist for a domain (DNS, DKIM, mailboxes, aliases, IMAP, submission) and print its mail client settings", cmd_tenant_golive, OPERATOR_DB },
	{ "tenant list", "", 0, 0, no_opts, "list tenants", cmd_tenant_list, OPERATOR_DB },
	{ "tenant show", "TENANT", 1, 1, no_opts, "show one tenant (by name or any of its domains)", cmd_tenant_show, OPERATOR_DB },
	{ "user activity", "EMAIL", 1, 1, no_opts, "list a user's latest webmail logins and every time an admin logged in as the owner, with the reason", cmd_user_activity, OPERATOR_DB },
	{ "user add", "EMAIL", 1, 1, user_add_opts, "create a user (mailbox) in one of a tenant's domains", cmd_user_add, OPERATOR_DB },
	{ "user clear", "EMAIL", 1, 1, user_clear_opts, "delete a mailbox's messages (all, a folder's, or older ones) after saying how many", cmd_user_clear, OPERATOR_DB | CMD_DESTRUCTIVE },
	{ "user delete", "EMAIL", 1, 1, no_opts, "delete a user with its aliases and forward", cmd_user_delete, OPERATOR_DB | CMD_DESTRUCTIVE },
	{ "user disable", "EMAIL", 1, 1, no_opts, "disable a user: no login, no mail delivered", cmd_user_disable, OPERATOR_DB },
	{ "user edit", "EMAIL", 1, 1, user_edit_opts, "change a user's name, role, quota or flags", cmd_user_edit, OPERATOR_DB },
	{ "user enable", "EMAIL", 1, 1, no_opts, "enable a disabled user (users cannot undo an admin's disable)", cmd_user_enable, OPERATOR_DB },
	{ "user export", "", 0, 0, user_export_opts, "write the users the actor may see as CSV or JSON, without password hashes unless asked", cmd_user_export, OPERATOR_DB },
	{ "user import", "FILE", 1, 1, user_import_opts, "add the users in a CSV or JSON file (- for standard input): all of them or none", cmd_user_import, OPERATOR_DB },
	{ "user list", "", 0, 0, user_list_opts, "list the users the actor may see, a page at a time", cmd_user_list, OPERATOR_DB },
	{ "user mfa reset", "EMAIL", 1, 1, no_opts, "turn a user's MFA off (a lost phone) and end its sessions; it can be set up again in the webmail", cmd_user_mfa_reset, OPERATOR_DB },
	{ "user mfa status", "EMAIL", 1, 1, no_opts, "show whether a user's MFA is on, since when, and whether code entry is locked", cmd_user_mfa_status, OPERATOR_DB },
	{ "user passwd", "EMAIL", 1, 1, user_passwd_opts, "reset a user's password, or change one's own with the current one", cmd_user_passwd, OPERATOR_DB },
	{ "user show", "EMAIL", 1, 1, no_opts, "show one user", cmd_user_show, OPERATOR_DB },
	{ "user welcome", "EMAIL", 1, 1, no_opts, "send a user its welcome email again (login URL, username, role, manual link; never the password)", cmd_user_welcome, OPERATOR_DB },
	{ NULL, NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static const char *progname = "ersctl";

int cli_exit_status(enum ers_error_code code)
{
	switch (code) {
	case ERS_OK: return EX_OK;
	case ERS_E_USAGE: return EX_USAGE;
	case ERS_E_INVALID: return EX_DATAERR;
	case ERS_E_NOTFOUND: return EX_NOINPUT;
	case ERS_E_CONFLICT: return EX_CONFLICT;
	case ERS_E_PERMISSION: return EX_NOPERM;
	case ERS_E_UNAVAILABLE: return EX_UNAVAILABLE;
	case ERS_E_CONFIG: return EX_CONFIG;
	case ERS_E_INTERNAL: return EX_SOFTWARE;
	case ERS_E_IO: return EX_IOERR;
	}
	return EX_SOFTWARE;
}

/* Length of the valid UTF-8 sequence at `s` that is not a control
 * character (C0, DEL, C1), or 0. */
static size_t printable_char(const unsigned char *s)
{
	if (*s >= 0x20 && *s < 0x7f)
		return 1;
	size_t n = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
	unsigned cp = *s & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (!n || cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return n;
}

/* Messages echo what people typed: a control character or a broken UTF-8
 * byte in them becomes "?", so that an error stays one readable line and
 * valid JSON. */
static void printable(const char *in, struct ers_buf *out)
{
	for (const unsigned char *p = (const unsigned char *)in; *p;) {
		size_t n = printable_char(p);
		if (n)
			ers_buf_add(out, p, n);
		else
			ers_buf_addch(out, '?');
		p += n ? n : 1;
	}
}

/* Prints `ersctl: WHAT: WHY` (or the JSON error object) and returns the
 * exit status for the error's code. */
static int report(bool json, const char *what, const struct ers_error *err)
{
	struct ers_buf msg = ERS_BUF_INIT, w = ERS_BUF_INIT;
	printable(err->message, &msg);
	printable(what ? what : "", &w);
	if (json) {
		json_t *o = json_pack("{s:{s:s,s:s,s:i}}", "error", "code", ers_error_code_name(err->code),
				      "message", msg.data, "exit_status", cli_exit_status(err->code));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
	if (!json || isatty(2)) {
		if (w.len)
			fprintf(stderr, "%s: %s: %s\n", progname, w.data, msg.data);
		else
			fprintf(stderr, "%s: %s\n", progname, msg.data);
	}
	ers_buf_free(&msg);
	ers_buf_free(&w);
	return cli_exit_status(err->code);
}

static int usage_error(bool json, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage_error(bool json, const char *what, const char *fmt, ...)
{
	struct ers_error err;
	va_list ap;
	va_start(ap, fmt);
	ers_error_vset(&err, ERS_E_USAGE, fmt, ap);
	va_end(ap);
	return report(json, what, &err);
}

static const struct opt_spec *find_opt(const struct opt_spec *opts, const char *name, size_t len)
{
	for (size_t i = 0; opts[i].name; i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

/* Words of `path` after the first `depth` words, up to the next space. */
static size_t word_at(const char *path, int depth, const char **start)
{
	const char *p = path;
	*start = path;
	for (int i = 0; i < depth; i++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	*start = p;
	return strcspn(p, " ");
}

static bool path_prefix_matches(const char *path, char **words, int depth)
{
	for (int i = 0; i < depth; i++) {
		const char *w;
		size_t n = word_at(path, i, &w);
		if (n != strlen(words[i]) || strncmp(w, words[i], n))
			return false;
	}
	return true;
}

/* The distinct next words of the commands under words[0..depth). */
static void next_words(char **words, int depth, struct ers_buf *out)
{
	ers_buf_reset(out);
	for (const struct cmd_spec *c = ersctl_commands; c->path; c++) {
		const char *w;
		size_t n;
		if (!path_prefix_matches(c->path, words, depth) || !(n = word_at(c->path, depth, &w)))
			continue;
		char word[64];
		snprintf(word, sizeof word, "%.*s", (int)n, w);
		char needle[70];
		snprintf(needle, sizeof needle, " %s,", word);
		struct ers_buf probe = ERS_BUF_INIT;
		ers_buf_addf(&probe, " %s,", out->data);
		bool seen = strstr(probe.data, needle) != NULL;
		ers_buf_free(&probe);
		if (!seen)
			ers_buf_addf(out, "%s%s", out->len ? ", " : "", word);
	}
}

/* Resolves the words at argv[0..] to a command: exact words win, a unique
 * prefix is accepted, anything else answers with the possibilities.
 * Rewrites the matched words to their full spelling. */
static const struct cmd_spec *find_command(int argc, char **argv, int *used_r, bool json)
{
	struct ers_buf poss = ERS_BUF_INIT;
	int depth = 0;
	const struct cmd_spec *found = NULL;
	for (;;) {
		/* A command whose path is exactly the words so far ends the search. */
		for (const struct cmd_spec *c = ersctl_commands; depth && c->path; c++) {
			const char *w;
			if (path_prefix_matches(c->path, argv, depth) && !word_at(c->path, depth, &w))
				found = c;
		}
		if (found)
			break;
		next_words(argv, depth, &poss);
		char so_far[256] = "";
		for (int i = 0; i < depth; i++)
			snprintf(so_far + strlen(so_far), sizeof so_far - strlen(so_far), "%s%s", i ? " " : "", argv[i]);
		if (depth > 0 && depth < argc && (!strcmp(argv[depth], "--help") || !strcmp(argv[depth], "-h"))) {
			/* "ersctl tenant --help": the noun's commands */
			char with_space[260];
			snprintf(with_space, sizeof with_space, "%s ", so_far);
			printf("ersctl %s commands:\n", so_far);
			help_overview(stdout, with_space);
			exit(0);
		}
		if (depth >= argc || argv[depth][0] == '-') {
			usage_error(json, so_far, "which one? possibilities are: %s", poss.data);
			goto fail;
		}
		const char *word = argv[depth];
		const char *match = NULL;
		int matches = 0;
		char *list = ers_xstrdup(poss.data);
		for (char *save, *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
			if (!strcmp(tok, word)) {
				match = tok;
				matches = 1;
				break;
			}
			if (*word && !strncmp(tok, word, strlen(word))) {
				match = tok;
				matches++;
			}
		}
		if (matches != 1) {
			usage_error(json, so_far, "%s command \"%s\"; possibilities are: %s",
				    matches ? "ambiguous" : "unknown", word, poss.data);
			free(list);
			goto fail;
		}
		for (const struct cmd_spec *c = ersctl_commands; c->path; c++) {
			const char *w = NULL;
			size_t n = word_at(c->path, depth, &w);
			if (n == strlen(match) && !strncmp(w, match, n)) {
				argv[depth] = ers_xstrndup(w, n); /* lives as long as the process */
				break;
			}
		}
		free(list);
		depth++;
	}
	ers_buf_free(&poss);
	*used_r = depth;
	return found;
fail:
	ers_buf_free(&poss);
	return NULL;
}

/* --config FILE and --as EMAIL: once each, never empty. */
static int set_global_value(struct cli *c, const char *name, const char *value, const char *what)
{
	const char **slot = !strcmp(name, "config") ? &c->config_path : &c->as;
	if (*slot)
		return usage_error(c->json, what, "option --%s is given twice", name);
	if (!*value)
		return usage_error(c->json, what, "option --%s needs a value, got an empty one", name);
	*slot = value;
	return 0;
}

/* Splits the rest of the command line into options and positional words;
 * global options are accepted anywhere. */
static int parse_args(struct cli *c, int argc, char **argv, const char *what)
{
	c->args = ers_xcalloc((size_t)argc + 1, sizeof *c->args);
	bool only_args = false;
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || !a[1]) {
			c->args[c->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		const char *name = a + (a[1] == '-' ? 2 : 1);
		if (a[1] != '-') { /* a few short global options */
			if (!strcmp(name, "h")) name = "help";
			else if (!strcmp(name, "q")) name = "quiet";
			else if (!strcmp(name, "y")) name = "yes";
			else if (!strcmp(name, "o")) name = "output";
		}
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt_spec *o = find_opt(c->cmd->opts, name, len);
		bool global = false;
		if (!o) {
			o = find_opt(ersctl_global_opts, name, len);
			global = o != NULL;
		}
		if (!o) {
			struct ers_buf poss = ERS_BUF_INIT;
			for (size_t k = 0; c->cmd->opts[k].name; k++)
				ers_buf_addf(&poss, "%s--%s", poss.len ? ", " : "", c->cmd->opts[k].name);
			for (size_t k = 0; ersctl_global_opts[k].name; k++)
				ers_buf_addf(&poss, "%s--%s", poss.len ? ", " : "", ersctl_global_opts[k].name);
			int rc = usage_error(c->json, what, "unknown option %.*s; possibilities are: %s",
					     (int)(len + (size_t)(name - a)), a, poss.data);
			ers_buf_free(&poss);
			return rc;
		}
		const char *value = NULL;
		if (o->arg) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return usage_error(c->json, what, "option --%s needs a value (%s)", o->name, o->arg);
		} else if (eq) {
			return usage_error(c->json, what, "option --%s takes no value", o->name);
		}
		if (global) {
			if (!strcmp(o->name, "json")) c->json = true;
			else if (!strcmp(o->name, "quiet")) c->quiet = true;
			else if (!strcmp(o->name, "yes")) c->yes = true;
			else if (o->arg) {
				int rc = set_global_value(c, o->name, value, what);
				if (rc)
					return rc;
			}
			else if (!strcmp(o->name, "help")) c->opts[c->nopts++] = (struct cli_opt_value){ "help", "" };
			else if (!strcmp(o->name, "version")) c->opts[c->nopts++] = (struct cli_opt_value){ "version", "" };
			continue;
		}
		if (!(o->flags & OPT_REPEAT) && cli_opt(c, o->name))
			return usage_error(c->json, what, "option --%s is given twice", o->name);
		if (c->nopts == sizeof c->opts / sizeof c->opts[0])
			return usage_error(c->json, what, "too many options");
		if (o->choices && value) {
			char pad[200];
			snprintf(pad, sizeof pad, " %s ", o->choices);
			char needle[200];
			snprintf(needle, sizeof needle, " %s ", value);
			if (!*value || strchr(value, ' ') || !strstr(pad, needle))
				return usage_error(c->json, what, "--%s must be one of: %s; got \"%s\"", o->name,
						   o->choices, value);
		}
		c->opts[c->nopts++] = (struct cli_opt_value){ o->name, value ? value : "" };
	}
	return 0;
}

static bool is_operator(void)
{
	if (getuid() == 0)
		return true;
	struct group *g = getgrnam("ers");
	if (!g)
		return false;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == g->gr_gid)
			return true;
	return getgid() == g->gr_gid;
}

static int check_options(struct cli *c, const char *what)
{
	if (c->config_path && !*c->config_path)
		return usage_error(c->json, what, "option --config needs a file name, got an empty one");
	if (c->nargs < c->cmd->min_args || c->nargs > c->cmd->max_args) {
		if (c->cmd->max_args == 0)
			return usage_error(c->json, what, "takes no arguments, got \"%s\" (see: ersctl help %s)",
					   c->args[0], c->cmd->path);
		return usage_error(c->json, what, "expects %s%s (see: ersctl help %s)", c->cmd->args,
				   c->nargs > c->cmd->max_args ? ", got too many arguments" : "", c->cmd->path);
	}
	for (size_t i = 0; c->cmd->opts[i].name; i++) {
		const struct opt_spec *o = &c->cmd->opts[i];
		if ((o->flags & OPT_REQUIRED) && !cli_opt(c, o->name))
			return usage_error(c->json, what, "missing --%s %s (%s)", o->name, o->arg, o->help);
	}
	return 0;
}

static int run(struct cli *c, const char *what)
{
	if ((c->cmd->flags & CMD_OPERATOR) && !is_operator()) {
		ers_error_set(&c->err, ERS_E_PERMISSION, "operators are root or members of group \"ers\"");
		return report(c->json, what, &c->err);
	}
	if (c->cmd->flags & (CMD_CONFIG | CMD_DB)) {
		if (ers_config_load(c->config_path, &c->cfg, &c->err) < 0)
			return report(c->json, what, &c->err);
	}
	if (c->cmd->flags & CMD_DB) {
		unsigned flags = (c->cmd->flags & CMD_ANY_SCHEMA) ? ERS_CTX_NO_SCHEMA_CHECK : 0;
		if (ers_ctx_open(c->cfg, flags, &c->ctx, &c->err) < 0)
			return report(c->json, what, &c->err);
	}
	ers_actor_operator(&c->actor);
	if (c->as) {
		/* An operator sees and does what that user may: the policy decides,
		 * and the audit log names both. */
		struct ers_actor as = { 0 };
		snprintf(as.via, sizeof as.via, "%s", c->actor.name);
		if (!c->ctx) {
			ers_error_set(&c->err, ERS_E_USAGE, "--as applies only to commands that use the database");
			return report(c->json, what, &c->err);
		}
		if (ers_user_actor(c->ctx, c->as, &as, &c->err) < 0) {
			ers_error_prefix(&c->err, "--as");
			return report(c->json, what, &c->err);
		}
		c->actor = as;
	}
	int rc = c->cmd->run(c);
	if (rc == 0 && c->ctx && ers_ctx_warning(c->ctx))
		fprintf(stderr, "%s: warning: %s\n", progname, ers_ctx_warning(c->ctx));
	return rc < 0 ? report(c->json, what, &c->err) : rc;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	/* Global options may come before the command words. */
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-q")) a = "--quiet";
		else if (!strcmp(a, "-y")) a = "--yes";
		else if (!strcmp(a, "-h")) a = "--help";
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct opt_spec *o = a[1] == '-' ? find_opt(ersctl_global_opts, a + 2, len - 2) : NULL;
		if (!o)
			return usage_error(c.json, "", "unknown option %.*s before the command; possibilities are: --config, --as, --json, --quiet, --yes, --version, --help",
					   (int)len, a);
		if (!o->arg && eq)
			return usage_error(c.json, "", "option --%s takes no value", o->name);
		if (!strcmp(o->name, "json")) c.json = true;
		else if (!strcmp(o->name, "quiet")) c.quiet = true;
		else if (!strcmp(o->name, "yes")) c.yes = true;
		else if (!strcmp(o->name, "version")) {
			printf("ersctl %s\n", ers_version());
			return 0;
		} else if (!strcmp(o->name, "help")) {
			help_overview(stdout, NULL);
			return 0;
		} else if (!eq && i + 1 >= argc) {
			return usage_error(c.json, "", "option --%s needs a value (%s)", o->name, o->arg);
		} else {
			int rc = set_global_value(&c, o->name, eq ? eq + 1 : argv[++i], "");
			if (rc)
				return rc;
		}
	}
	if (i >= argc) {
		if (c.json) {
			struct ers_buf poss = ERS_BUF_INIT;
			next_words(argv, 0, &poss);
			int rc = usage_error(true, "", "which command? possibilities are: %s (see: ersctl help)", poss.data);
			ers_buf_free(&poss);
			return rc;
		}
		help_overview(stderr, NULL);
		return EX_USAGE;
	}
	int used;
	c.cmd = find_command(argc - i, argv + i, &used, c.json);
	if (!c.cmd)
		return EX_USAGE;
	const char *what = c.cmd->path;
	int rc = parse_args(&c, argc - i - used, argv + i + used, what);
	if (rc)
		goto out;
	if (cli_flag(&c, "version")) {
		printf("ersctl %s\n", ers_version());
		goto out;
	}
	if (cli_flag(&c, "help")) {
		help_command(stdout, c.cmd);
		goto out;
	}
	rc = check_options(&c, what);
	if (!rc)
		rc = run(&c, what);
out:
	ers_ctx_free(c.ctx);
	ers_config_free(c.cfg);
	free(c.args);
	return rc;
}
