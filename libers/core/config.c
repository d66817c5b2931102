/* Reads ers.yaml with libyaml's document API, so that every node keeps its
 * line and column for error messages.  Unknown keys are errors. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>
#include "ers/config.h"
#include "ers/mem.h"
#include "ers/names.h"
#include "core/internal.h"

struct yaml_walk {
	const char *file;
	yaml_document_t *doc;
	struct ers_error *err;
};

static int node_error(struct yaml_walk *w, const yaml_node_t *node, const char *key,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int node_error(struct yaml_walk *w, const yaml_node_t *node, const char *key,
		      const char *fmt, ...)
{
	char what[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	ers_error_set(w->err, ERS_E_CONFIG, "%s:%zu:%zu: %s: %s", w->file,
		      node->start_mark.line + 1, node->start_mark.column + 1, key, what);
	return -1;
}

static const char *scalar(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int get_string(struct yaml_walk *w, const yaml_node_t *node, const char *key,
		      char **out)
{
	const char *s = scalar(node);
	if (!s)
		return node_error(w, node, key, "must be a text value, not a list or mapping");
	if (!*s)
		return node_error(w, node, key, "must not be empty");
	free(*out);
	*out = ers_xstrdup(s);
	return 0;
}

static int get_int(struct yaml_walk *w, const yaml_node_t *node, const char *key, int min,
		   int max, int *out)
{
	const char *s = scalar(node);
	struct ers_error ignored;
	long long v;
	if (!s || ers_int_parse(s, key, min, max, &v, &ignored) < 0)
		return node_error(w, node, key, "must be a whole number %d..%d, got \"%s\"", min, max,
				  s ? s : "(not a scalar)");
	*out = (int)v;
	return 0;
}

static int get_bool(struct yaml_walk *w, const yaml_node_t *node, const char *key, bool *out)
{
	const char *s = scalar(node);
	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = !strcmp(s, "true");
		return 0;
	}
	return node_error(w, node, key, "must be true or false, got \"%s\"", s ? s : "(not a scalar)");
}

static int get_choice(struct yaml_walk *w, const yaml_node_t *node, const char *key,
		      const char *const *choices, char **out)
{
	const char *s = scalar(node);
	for (size_t i = 0; s && choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0) {
			free(*out);
			*out = ers_xstrdup(s);
			return 0;
		}
	}
	struct ers_buf allowed = ERS_BUF_INIT;
	for (size_t i = 0; choices[i]; i++)
		ers_buf_addf(&allowed, "%s%s", i ? ", " : "", choices[i]);
	int rc = node_error(w, node, key, "must be one of %s; got \"%s\"", allowed.data,
			    s ? s : "(not a scalar)");
	ers_buf_free(&allowed);
	return rc;
}

static int unknown_key(struct yaml_walk *w, const yaml_node_t *knode, const char *section,
		       const char *const *known)
{
	struct ers_buf allowed = ERS_BUF_INIT;
	for (size_t i = 0; known[i]; i++)
		ers_buf_addf(&allowed, "%s%s", i ? ", " : "", known[i]);
	const char *k = scalar(knode);
	int rc = node_error(w, knode, section ? section : "(top level)",
			    "unknown key \"%s\"; allowed: %s", k ? k : "?", allowed.data);
	ers_buf_free(&allowed);
	return rc;
}

static int walk_database(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	static const char *const known[] = { "host", "port", "name", "user", "connect_timeout",
					     "sslmode", NULL };
	static const char *const sslmodes[] = { "disable", "allow", "prefer", "require",
						"verify-ca", "verify-full", NULL };
	if (map->type != YAML_MAPPING_NODE)
		return node_error(w, map, "database",
				  "must be a mapping of host, port, name, user, connect_timeout, sslmode");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);
		int rc;
		if (!key)
			rc = unknown_key(w, k, "database", known);
		else if (!strcmp(key, "host"))
			rc = get_string(w, v, "database.host", &cfg->database.host);
		else if (!strcmp(key, "port"))
			rc = get_int(w, v, "database.port", 1, 65535, &cfg->database.port);
		else if (!strcmp(key, "name"))
			rc = get_string(w, v, "database.name", &cfg->database.name);
		else if (!strcmp(key, "user"))
			rc = get_string(w, v, "database.user", &cfg->database.user);
		else if (!strcmp(key, "connect_timeout"))
			rc = get_int(w, v, "database.connect_timeout", 1, 300, &cfg->database.connect_timeout);
		else if (!strcmp(key, "sslmode"))
			rc = get_choice(w, v, "database.sslmode", sslmodes, &cfg->database.sslmode);
		else
			rc = unknown_key(w, k, "database", known);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A key of a flat section: a string (s), a bounded number (i) or a
 * boolean (b). */
struct flat_field {
	const char *key;
	char **s;
	int *i;
	int min, max;
	bool *b;
};

/* Walks a flat section -- every key keeps one name in errors, the man page
 * and `config check` -- refusing in strings the characters `bad(key)`
 * names, with `why(key)` as the message. */
static int walk_flat(struct yaml_walk *w, yaml_node_t *map, const char *section,
		     const struct flat_field *fields, size_t nfields,
		     const char *(*bad)(const char *key), const char *(*why)(const char *key))
{
	const char *known[40];
	if (nfields >= sizeof known / sizeof known[0])
		ERS_BUG("walk_flat: too many keys");
	for (size_t i = 0; i < nfields; i++)
		known[i] = fields[i].key;
	known[nfields] = NULL;
	if (map->type != YAML_MAPPING_NODE)
		return node_error(w, map, section, "must be a mapping (see ers.yaml(5))");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);
		size_t i = 0;
		while (key && i < nfields && strcmp(key, fields[i].key))
			i++;
		if (!key || i == nfields)
			return unknown_key(w, k, section, known);
		char full[64];
		snprintf(full, sizeof full, "%s.%s", section, key);
		int rc = fields[i].s ? get_string(w, v, full, fields[i].s)
		       : fields[i].b ? get_bool(w, v, full, fields[i].b)
				     : get_int(w, v, full, fields[i].min, fields[i].max, fields[i].i);
		if (rc < 0)
			return -1;
		if (fields[i].s && strpbrk(*fields[i].s, bad(key)))
			return node_error(w, v, full, "%s", why(key));
	}
	return 0;
}

/* mailstack values end up in the mail servers' configuration files, one
 * per line and inside comma-separated Postfix lists: nothing that could
 * start another setting or list item (doveadm_urls is a list). */
/* Lists (doveadm_urls, migrate_sources) are separated by spaces. */
static bool mailstack_list(const char *key)
{
	return !strcmp(key, "doveadm_urls") || !strcmp(key, "migrate_sources");
}

static const char *mailstack_bad(const char *key)
{
	return mailstack_list(key) ? "\n\r\t\"'\\#{}" : "\n\r\t \"'\\#{},";
}

static const char *mailstack_why(const char *key)
{
	return mailstack_list(key) ? "must not contain quotes, backslashes, '#', braces, tabs or line breaks"
				   : "must not contain spaces, commas, quotes, backslashes, '#', braces or line breaks";
}

static int walk_mailstack(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "mail_root", &cfg->mailstack.mail_root, NULL, 0, 0, NULL },
		{ "mail_uid", NULL, &cfg->mailstack.mail_uid, 1, 2147483647, NULL },
		{ "mail_gid", NULL, &cfg->mailstack.mail_gid, 1, 2147483647, NULL },
		{ "hostname", &cfg->mailstack.hostname, NULL, 0, 0, NULL },
		{ "listen", &cfg->mailstack.listen, NULL, 0, 0, NULL },
		{ "smtp_port", NULL, &cfg->mailstack.smtp_port, 1, 65535, NULL },
		{ "submission_port", NULL, &cfg->mailstack.submission_port, 1, 65535, NULL },
		{ "imap_port", NULL, &cfg->mailstack.imap_port, 1, 65535, NULL },
		{ "imaps_port", NULL, &cfg->mailstack.imaps_port, 0, 65535, NULL },
		{ "pop3_port", NULL, &cfg->mailstack.pop3_port, 0, 65535, NULL },
		{ "pop3s_port", NULL, &cfg->mailstack.pop3s_port, 0, 65535, NULL },
		{ "greylist_delay", NULL, &cfg->mailstack.greylist_delay, 1, 86400, NULL },
		{ "managesieve_port", NULL, &cfg->mailstack.managesieve_port, 0, 65535, NULL },
		{ "db_host", &cfg->mailstack.db_host, NULL, 0, 0, NULL },
		{ "db_port", NULL, &cfg->mailstack.db_port, 1, 65535, NULL },
		{ "db_name", &cfg->mailstack.db_name, NULL, 0, 0, NULL },
		{ "db_user", &cfg->mailstack.db_user, NULL, 0, 0, NULL },
		{ "quota_db_user", &cfg->mailstack.quota_db_user, NULL, 0, 0, NULL },
		{ "postfix_queue_directory", &cfg->mailstack.postfix_queue_directory, NULL, 0, 0, NULL },
		{ "policy_service", &cfg->mailstack.policy_service, NULL, 0, 0, NULL },
		{ "relayhost", &cfg->mailstack.relayhost, NULL, 0, 0, NULL },
		{ "doveadm_port", NULL, &cfg->mailstack.doveadm_port, 0, 65535, NULL },
		{ "doveadm_urls", &cfg->mailstack.doveadm_urls, NULL, 0, 0, NULL },
		{ "master_user", &cfg->mailstack.master_user, NULL, 0, 0, NULL },
		{ "tls_cert", &cfg->mailstack.tls_cert, NULL, 0, 0, NULL },
		{ "tls_key", &cfg->mailstack.tls_key, NULL, 0, 0, NULL },
		{ "opendkim_milter", &cfg->mailstack.opendkim_milter, NULL, 0, 0, NULL },
		{ "opendkim_port", NULL, &cfg->mailstack.opendkim_port, 0, 65535, NULL },
		{ "dovecot_config", &cfg->mailstack.dovecot_config, NULL, 0, 0, NULL },
		{ "migrate_sources", &cfg->mailstack.migrate_sources, NULL, 0, 0, NULL },
		{ "reply_port", NULL, &cfg->mailstack.reply_port, 1, 65535, NULL },
		{ "spam_milter", &cfg->mailstack.spam_milter, NULL, 0, 0, NULL },
		{ "rspamd", &cfg->mailstack.rspamd, NULL, 0, 0, NULL },
		{ "rspamd_controller", &cfg->mailstack.rspamd_controller, NULL, 0, 0, NULL },
		{ "shared_seen", NULL, NULL, 0, 0, &cfg->mailstack.shared_seen },
	};
	return walk_flat(w, map, "mailstack", fields, sizeof fields / sizeof fields[0], mailstack_bad,
			 mailstack_why);
}

/* dns values end up in DNS records and zone files. */
static const char *dns_bad(const char *key)
{
	(void)key;
	return "\n\r\t \"';\\#{}(),";
}

static const char *dns_why(const char *key)
{
	(void)key;
	return "must not contain spaces, quotes, semicolons, parentheses, commas, backslashes, '#', braces or line breaks";
}

static int walk_dns(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "resolver", &cfg->dns.resolver, NULL, 0, 0, NULL },
		{ "mx_host", &cfg->dns.mx_host, NULL, 0, 0, NULL },
		{ "mail_ipv4", &cfg->dns.mail_ipv4, NULL, 0, 0, NULL },
		{ "mail_ipv6", &cfg->dns.mail_ipv6, NULL, 0, 0, NULL },
		{ "dmarc_rua", &cfg->dns.dmarc_rua, NULL, 0, 0, NULL },
		{ "tlsrpt_rua", &cfg->dns.tlsrpt_rua, NULL, 0, 0, NULL },
		{ "https_port", NULL, &cfg->dns.https_port, 1, 65535, NULL },
		{ "ca_file", &cfg->dns.ca_file, NULL, 0, 0, NULL },
		{ "timeout", NULL, &cfg->dns.timeout, 1, 60, NULL },
		{ "concurrency", NULL, &cfg->dns.concurrency, 1, 256, NULL },
	};
	return walk_flat(w, map, "dns", fields, sizeof fields / sizeof fields[0], dns_bad, dns_why);
}

/* The webmail's settings hold no text: nothing to refuse in strings. */
static const char *webmail_bad(const char *key)
{
	(void)key;
	return "";
}

static int walk_webmail(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "hsts_max_age", NULL, &cfg->webmail.hsts_max_age, 0, ERS_HSTS_MAX_AGE_MAX, NULL },
		{ "hsts_include_subdomains", NULL, NULL, 0, 0, &cfg->webmail.hsts_include_subdomains },
	};
	return walk_flat(w, map, "webmail", fields, sizeof fields / sizeof fields[0], webmail_bad, webmail_bad);
}

/* scan.target is a socket address, nothing more. */
static const char *scan_bad(const char *key)
{
	(void)key;
	return "\n\r\t \"'\\#{},;";
}

static const char *scan_why(const char *key)
{
	(void)key;
	return "must not contain spaces, quotes, commas, semicolons, backslashes, '#', braces or line breaks";
}

static int walk_scan(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "enabled", NULL, NULL, 0, 0, &cfg->scan.enabled },
		{ "target", &cfg->scan.target, NULL, 0, 0, NULL },
		{ "fail_closed", NULL, NULL, 0, 0, &cfg->scan.fail_closed },
		{ "timeout", NULL, &cfg->scan.timeout, 1, 600, NULL },
		{ "max_size_mb", NULL, &cfg->scan.max_size_mb, 1, 4096, NULL },
		{ "retention_days", NULL, &cfg->scan.retention_days, 1, 3650, NULL },
		{ "milter", &cfg->scan.milter, NULL, 0, 0, NULL },
	};
	if (walk_flat(w, map, "scan", fields, sizeof fields / sizeof fields[0], scan_bad, scan_why) < 0)
		return -1;
	const char *t = cfg->scan.target;
	if (t && !(!strncmp(t, "unix:/", 6) || (!strncmp(t, "tcp:", 4) && strrchr(t + 4, ':'))))
		return node_error(w, map, "scan.target", "must be unix:/PATH or tcp:HOST:PORT, got \"%.200s\"", t);
	/* Postfix's notation, which `ersctl scan milter` listens on too. */
	const char *m = cfg->scan.milter;
	if (m && !(!strncmp(m, "unix:/", 6) || (!strncmp(m, "inet:", 5) && strrchr(m + 5, ':') > m + 5 &&
						 atoi(strrchr(m + 5, ':') + 1) > 0 && atoi(strrchr(m + 5, ':') + 1) < 65536)))
		return node_error(w, map, "scan.milter", "must be inet:HOST:PORT or unix:/PATH, got \"%.200s\"", m);
	return 0;
}

/* welcome values end up in e-mail text and links. */
static const char *welcome_bad(const char *key)
{
	(void)key;
	return "\n\r\t \"'<>\\`{}|^";
}

static const char *welcome_why(const char *key)
{
	(void)key;
	return "must not contain spaces, quotes, angle brackets, backslashes, braces or line breaks";
}

static int walk_welcome(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "base_url", &cfg->welcome.base_url, NULL, 0, 0, NULL },
		{ "sender", &cfg->welcome.sender, NULL, 0, 0, NULL },
	};
	if (walk_flat(w, map, "welcome", fields, sizeof fields / sizeof fields[0], welcome_bad, welcome_why) < 0)
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		if (!strcmp(scalar(k), "base_url")) {
			struct ers_error e;
			if (ers_welcome_base_url_check(scalar(v), "welcome.base_url", &e) < 0)
				return node_error(w, v, "welcome.base_url", "%s", e.message + strlen("welcome.base_url: "));
			snprintf(cfg->welcome.base_url_source, sizeof cfg->welcome.base_url_source,
				 "%s:%zu (welcome.base_url)", w->file, v->start_mark.line + 1);
		} else if (!strcmp(scalar(k), "sender")) {
			const char *at = strchr(scalar(v), '@');
			if (!at || at == scalar(v) || !at[1] || strchr(at + 1, '@'))
				return node_error(w, v, "welcome.sender", "must be an e-mail address (name@example.com), got \"%s\"",
						  scalar(v));
		}
	}
	return 0;
}

int ers_welcome_base_url_check(const char *url, const char *source, struct ers_error *err)
{
	static const char prefix[] = "https://";
	size_t n = strlen(url);
	const char *host = url + strlen(prefix);
	size_t hostlen = strncasecmp(url, prefix, strlen(prefix)) ? 0 : strcspn(host, ":/");
	bool bad_chars = false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] == 0x7f || strchr("\"'<>\\`{}|^?#", url[i]))
			bad_chars = true;
	if (strncasecmp(url, prefix, strlen(prefix)) || hostlen == 0 || bad_chars || n > 200) {
		ers_error_set(err, ERS_E_CONFIG,
			      "%s: must be the webmail's https:// address, https://HOST[:PORT][/PATH] (at most 200 bytes; "
			      "no query, '#', spaces, quotes or angle brackets), got \"%.200s\"", source, url);
		return -1;
	}
	return 0;
}

/* archive.directory: an absolute path. */
static const char *archive_bad(const char *key)
{
	(void)key;
	return "\n\r\t\"'\\";
}

static const char *archive_why(const char *key)
{
	(void)key;
	return "must not contain quotes, backslashes, tabs or line breaks";
}

static int walk_archive(struct yaml_walk *w, yaml_node_t *map, struct ers_config *cfg)
{
	const struct flat_field fields[] = {
		{ "directory", &cfg->archive.directory, NULL, 0, 0, NULL },
	};
	if (walk_flat(w, map, "archive", fields, sizeof fields / sizeof fields[0], archive_bad, archive_why) < 0)
		return -1;
	if (cfg->archive.directory[0] != '/' || strstr(cfg->archive.directory, "/../") ||
	    (strlen(cfg->archive.directory) >= 3 && !strcmp(cfg->archive.directory + strlen(cfg->archive.directory) - 3, "/..")))
		return node_error(w, map, "archive.directory", "must be an absolute path without \"..\", got \"%.200s\"",
				  cfg->archive.directory);
	return 0;
}

static int walk_root(struct yaml_walk *w, yaml_node_t *root, struct ers_config *cfg)
{
	static const char *const known[] = { "database", "secrets_file", "mailstack", "dns", "webmail", "welcome", "scan", "archive", NULL };
	if (!root) /* an empty file: every default applies */
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return node_error(w, root, "(top level)", "must be a mapping of database, secrets_file, mailstack, dns, webmail, welcome, scan, archive");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);
		int rc;
		if (key && !strcmp(key, "database"))
			rc = walk_database(w, v, cfg);
		else if (key && !strcmp(key, "mailstack"))
			rc = walk_mailstack(w, v, cfg);
		else if (key && !strcmp(key, "dns"))
			rc = walk_dns(w, v, cfg);
		else if (key && !strcmp(key, "webmail"))
			rc = walk_webmail(w, v, cfg);
		else if (key && !strcmp(key, "welcome"))
			rc = walk_welcome(w, v, cfg);
		else if (key && !strcmp(key, "scan"))
			rc = walk_scan(w, v, cfg);
		else if (key && !strcmp(key, "archive"))
			rc = walk_archive(w, v, cfg);
		else if (key && !strcmp(key, "secrets_file"))
			rc = get_string(w, v, "secrets_file", &cfg->secrets_file);
		else
			rc = unknown_key(w, k, NULL, known);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Duplicate keys are legal YAML but almost always a mistake in a config.
 * Only the two levels the file has are checked: an alias can make the node
 * graph cyclic ("a: &x {b: *x}"), and anything deeper is refused by the walk. */
static int reject_duplicate_keys(struct yaml_walk *w, yaml_node_t *map, const char *section,
				 int depth)
{
	if (!map || map->type != YAML_MAPPING_NODE || depth > 1)
		return 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(w->doc, q->key);
			if (scalar(k) && scalar(k2) && !strcmp(scalar(k), scalar(k2)))
				return node_error(w, k, section, "key \"%s\" appears twice", scalar(k));
		}
		if (reject_duplicate_keys(w, yaml_document_get_node(w->doc, p->value),
					  scalar(k) ? scalar(k) : section, depth + 1) < 0)
			return -1;
	}
	return 0;
}

static void set_defaults(struct ers_config *cfg)
{
	cfg->database.host = ers_xstrdup("/var/run/postgresql");
	cfg->database.port = 5432;
	cfg->database.name = ers_xstrdup("ers");
	cfg->database.user = ers_xstrdup("ers");
	cfg->database.connect_timeout = 5;
	cfg->database.sslmode = ers_xstrdup("prefer");
	cfg->mailstack.mail_root = ers_xstrdup("/var/vmail");
	cfg->mailstack.mail_uid = cfg->mailstack.mail_gid = 5000;
	cfg->mailstack.listen = ers_xstrdup("*");
	cfg->mailstack.smtp_port = 25;
	cfg->mailstack.reply_port = 10026;
	cfg->mailstack.submission_port = 587;
	cfg->mailstack.imap_port = 143;
	cfg->mailstack.imaps_port = 993;
	cfg->mailstack.pop3_port = 110;
	cfg->mailstack.pop3s_port = 995;
	cfg->mailstack.greylist_delay = 300;
	cfg->mailstack.shared_seen = true; /* manual 004: "Shared seen ... enabled (default)" */
	cfg->mailstack.managesieve_port = 4190;
	cfg->mailstack.db_user = ers_xstrdup("ers_mail");
	cfg->mailstack.quota_db_user = ers_xstrdup("ers_quota");
	cfg->mailstack.postfix_queue_directory = ers_xstrdup("/var/spool/postfix");
	cfg->mailstack.policy_service = ers_xstrdup("unix:private/ers-policy");
	cfg->mailstack.master_user = ers_xstrdup("ers-webmail");
	cfg->dns.https_port = 443;
	cfg->dns.timeout = 5;
	cfg->dns.concurrency = 32;
	cfg->webmail.hsts_max_age = ERS_HSTS_MAX_AGE_DEFAULT;
	cfg->scan.target = ers_xstrdup("unix:/var/run/clamav/clamd.ctl");
	cfg->scan.fail_closed = true;
	cfg->scan.timeout = 30;
	cfg->scan.max_size_mb = 25;
	cfg->scan.retention_days = 90;
	cfg->archive.directory = ers_xstrdup("/var/lib/ers/archives");
}

/* Defaults that follow other keys, filled in once the file is read. */
static void derive_defaults(struct ers_config *cfg)
{
	if (!cfg->mailstack.db_host)
		cfg->mailstack.db_host = ers_xstrdup(cfg->database.host);
	if (!cfg->mailstack.db_port)
		cfg->mailstack.db_port = cfg->database.port;
	if (!cfg->mailstack.db_name)
		cfg->mailstack.db_name = ers_xstrdup(cfg->database.name);
	if (!cfg->mailstack.hostname) {
		char host[256] = "localhost";
		gethostname(host, sizeof host - 1);
		cfg->mailstack.hostname = ers_xstrdup(host);
	}
	if (!cfg->mailstack.dovecot_config)
		cfg->mailstack.dovecot_config = ers_xstrdup("/etc/dovecot/dovecot.conf");
	if (!cfg->mailstack.doveadm_urls && cfg->mailstack.doveadm_port) {
		char url[64];
		snprintf(url, sizeof url, "http://127.0.0.1:%d", cfg->mailstack.doveadm_port);
		cfg->mailstack.doveadm_urls = ers_xstrdup(url);
	}
}

static int parse_file(const char *path, struct ers_config *cfg, struct ers_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		ers_error_set(err, ERS_E_CONFIG, "cannot read configuration %s: %s (give another with --config FILE or ERS_CONFIG)",
			      path, strerror(errno));
		return -1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	int rc = -1;
	if (!yaml_parser_load(&parser, &doc))
		goto syntax;
	struct yaml_walk w = { path, &doc, err };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (reject_duplicate_keys(&w, root, "(top level)", 0) == 0 && walk_root(&w, root, cfg) == 0)
		rc = 0;
	yaml_document_delete(&doc);
	if (rc < 0)
		goto out;
	/* Whatever follows a second "---" would be ignored, errors and all. */
	if (!yaml_parser_load(&parser, &doc)) {
		rc = -1;
		goto syntax;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && !*scalar(root))) {
		ers_error_set(err, ERS_E_CONFIG, "%s:%zu:%zu: a second YAML document; the file must hold one",
			      path, root->start_mark.line + 1, root->start_mark.column + 1);
		rc = -1;
	}
	yaml_document_delete(&doc);
	goto out;
syntax:
	ers_error_set(err, ERS_E_CONFIG, "%s:%zu:%zu: not valid YAML: %s", path,
		      parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		      parser.problem ? parser.problem : "parse error");
out:
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

int ers_config_load(const char *path, struct ers_config **cfg_r, struct ers_error *err)
{
	if (!path || !*path)
		path = getenv("ERS_CONFIG");
	if (!path || !*path)
		path = ERS_CONFIG_DEFAULT_PATH;
	struct ers_config *cfg = ers_xcalloc(1, sizeof *cfg);
	cfg->path = ers_xstrdup(path);
	set_defaults(cfg);
	bool secrets_named = false;
	if (parse_file(path, cfg, err) < 0)
		goto fail;
	derive_defaults(cfg);
	const char *env_url = getenv("WELCOME_EMAIL_BASE_URL");
	if (env_url && *env_url) {
		if (ers_welcome_base_url_check(env_url, "WELCOME_EMAIL_BASE_URL (environment)", err) < 0)
			goto fail;
		free(cfg->welcome.base_url);
		cfg->welcome.base_url = ers_xstrdup(env_url);
		snprintf(cfg->welcome.base_url_source, sizeof cfg->welcome.base_url_source,
			 "the environment (WELCOME_EMAIL_BASE_URL)");
	}
	/* The links are BASE/login and BASE/manual/...: no trailing '/'. */
	for (char *u = cfg->welcome.base_url; u && *u && u[strlen(u) - 1] == '/';)
		u[strlen(u) - 1] = '\0';
	secrets_named = cfg->secrets_file != NULL;
	if (!cfg->secrets_file)
		cfg->secrets_file = ers_xstrdup(ERS_SECRETS_DEFAULT_PATH);
	if (ers_secrets_load(cfg->secrets_file, secrets_named, &cfg->secrets, err) < 0)
		goto fail;
	*cfg_r = cfg;
	return 0;
fail:
	ers_config_free(cfg);
	return -1;
}

void ers_config_free(struct ers_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->database.host);
	free(cfg->database.name);
	free(cfg->database.user);
	free(cfg->database.sslmode);
	free(cfg->secrets_file);
	char **strings[] = { &cfg->mailstack.mail_root, &cfg->mailstack.hostname, &cfg->mailstack.listen,
			     &cfg->mailstack.db_host, &cfg->mailstack.db_name, &cfg->mailstack.db_user,
			     &cfg->mailstack.quota_db_user, &cfg->mailstack.postfix_queue_directory,
			     &cfg->mailstack.policy_service, &cfg->mailstack.relayhost,
			     &cfg->mailstack.doveadm_urls, &cfg->mailstack.master_user,
			     &cfg->mailstack.tls_cert, &cfg->mailstack.tls_key,
			     &cfg->mailstack.opendkim_milter, &cfg->mailstack.dovecot_config, &cfg->mailstack.migrate_sources,
			     &cfg->mailstack.spam_milter, &cfg->mailstack.rspamd, &cfg->mailstack.rspamd_controller,
			     &cfg->dns.resolver, &cfg->dns.mx_host,
			     &cfg->dns.mail_ipv4, &cfg->dns.mail_ipv6, &cfg->dns.dmarc_rua,
			     &cfg->dns.tlsrpt_rua, &cfg->dns.ca_file, &cfg->welcome.base_url, &cfg->welcome.sender,
			     &cfg->scan.target, &cfg->scan.milter,
			     &cfg->archive.directory };
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		free(*strings[i]);
	ers_secrets_clear(&cfg->secrets);
	free(cfg);
}

static void describe_secret(struct ers_buf *out, const char *name, const char *value,
			    const char *source)
{
	if (value)
		ers_buf_addf(out, "  %s: \"(set, from %s)\"\n", name, source);
	else
		ers_buf_addf(out, "  %s: \"(not set)\"\n", name);
}

void ers_config_describe(const struct ers_config *cfg, struct ers_buf *out)
{
	ers_buf_addf(out, "# effective configuration from %s\n", cfg->path);
	ers_buf_addf(out, "database:\n  host: %s\n  port: %d\n  name: %s\n  user: %s\n"
		     "  connect_timeout: %d\n  sslmode: %s\n",
		     cfg->database.host, cfg->database.port, cfg->database.name, cfg->database.user,
		     cfg->database.connect_timeout, cfg->database.sslmode);
	ers_buf_addf(out, "secrets_file: %s\n", cfg->secrets_file);
	const typeof(cfg->mailstack) *m = &cfg->mailstack;
	ers_buf_addf(out, "mailstack:\n  mail_root: %s\n  mail_uid: %d\n  mail_gid: %d\n  hostname: %s\n"
		     "  listen: \"%s\"\n  smtp_port: %d\n  submission_port: %d\n  imap_port: %d\n"
		     "  db_host: %s\n  db_port: %d\n  db_name: %s\n  db_user: %s\n  quota_db_user: %s\n"
		     "  postfix_queue_directory: %s\n  policy_service: %s\n",
		     m->mail_root, m->mail_uid, m->mail_gid, m->hostname, m->listen, m->smtp_port,
		     m->submission_port, m->imap_port, m->db_host, m->db_port, m->db_name, m->db_user,
		     m->quota_db_user, m->postfix_queue_directory, m->policy_service);
	if (m->relayhost)
		ers_buf_addf(out, "  relayhost: \"%s\"\n", m->relayhost);
	ers_buf_addf(out, "  imaps_port: %d\n  doveadm_port: %d\n", m->imaps_port, m->doveadm_port);
	ers_buf_addf(out, "  pop3_port: %d\n  pop3s_port: %d\n  managesieve_port: %d\n", m->pop3_port, m->pop3s_port,
		     m->managesieve_port);
	ers_buf_addf(out, "  greylist_delay: %d\n", m->greylist_delay);
	if (m->doveadm_urls)
		ers_buf_addf(out, "  doveadm_urls: %s\n", m->doveadm_urls);
	ers_buf_addf(out, "  master_user: %s\n", m->master_user);
	if (m->tls_cert)
		ers_buf_addf(out, "  tls_cert: %s\n  tls_key: %s\n", m->tls_cert, m->tls_key ? m->tls_key : "(not set)");
	if (m->opendkim_milter)
		ers_buf_addf(out, "  opendkim_milter: %s\n", m->opendkim_milter);
	if (m->opendkim_port)
		ers_buf_addf(out, "  opendkim_port: %d\n", m->opendkim_port);
	ers_buf_addf(out, "  dovecot_config: %s\n", m->dovecot_config);
	if (m->migrate_sources)
		ers_buf_addf(out, "  migrate_sources: \"%s\"\n", m->migrate_sources);
	ers_buf_addf(out, "  reply_port: %d\n", m->reply_port);
	if (m->spam_milter)
		ers_buf_addf(out, "  spam_milter: %s\n", m->spam_milter);
	if (m->rspamd)
		ers_buf_addf(out, "  rspamd: %s\n", m->rspamd);
	if (m->rspamd_controller)
		ers_buf_addf(out, "  rspamd_controller: %s\n", m->rspamd_controller);
	ers_buf_addf(out, "  shared_seen: %s\n", m->shared_seen ? "true" : "false");
	const typeof(cfg->dns) *d = &cfg->dns;
	ers_buf_adds(out, "dns:\n");
	const struct { const char *key; const char *value; } dns_strings[] = {
		{ "resolver", d->resolver }, { "mx_host", d->mx_host }, { "mail_ipv4", d->mail_ipv4 },
		{ "mail_ipv6", d->mail_ipv6 }, { "dmarc_rua", d->dmarc_rua },
		{ "tlsrpt_rua", d->tlsrpt_rua }, { "ca_file", d->ca_file },
	};
	for (size_t i = 0; i < sizeof dns_strings / sizeof dns_strings[0]; i++)
		if (dns_strings[i].value)
			ers_buf_addf(out, "  %s: \"%s\"\n", dns_strings[i].key, dns_strings[i].value);
	ers_buf_addf(out, "  https_port: %d\n  timeout: %d\n  concurrency: %d\n", d->https_port,
		     d->timeout, d->concurrency);
	ers_buf_addf(out, "webmail:\n  hsts_max_age: %d\n  hsts_include_subdomains: %s\n", cfg->webmail.hsts_max_age,
		     cfg->webmail.hsts_include_subdomains ? "true" : "false");
	ers_buf_adds(out, "welcome:\n");
	if (cfg->welcome.base_url)
		ers_buf_addf(out, "  base_url: \"%s\" # from %s\n", cfg->welcome.base_url, cfg->welcome.base_url_source);
	else
		ers_buf_adds(out, "  # base_url: not set (nor WELCOME_EMAIL_BASE_URL): welcome emails cannot be sent\n");
	ers_buf_addf(out, "  sender: \"%s\"\n", cfg->welcome.sender ? cfg->welcome.sender : "postmaster@PRIMARY-DOMAIN");
	ers_buf_addf(out, "scan:\n  enabled: %s\n  target: \"%s\"\n  fail_closed: %s\n  timeout: %d\n  max_size_mb: %d\n"
		     "  retention_days: %d\n", cfg->scan.enabled ? "true" : "false", cfg->scan.target,
		     cfg->scan.fail_closed ? "true" : "false", cfg->scan.timeout, cfg->scan.max_size_mb,
		     cfg->scan.retention_days);
	if (cfg->scan.milter)
		ers_buf_addf(out, "  milter: \"%s\"\n", cfg->scan.milter);
	else
		ers_buf_adds(out, "  # milter: not set: mail submitted on the submission port is not scanned\n");
	ers_buf_addf(out, "archive:\n  directory: \"%s\"\n", cfg->archive.directory);
	ers_buf_adds(out, "# secrets (values never shown)\nsecrets:\n");
	describe_secret(out, "SMIME_MASTER_KEY", cfg->secrets.master_key, cfg->secrets.master_key_source);
	describe_secret(out, "ERS_DATABASE_PASSWORD", cfg->secrets.database_password,
			cfg->secrets.database_password_source);
	describe_secret(out, "DOVEADM_API_KEY", cfg->secrets.doveadm_api_key,
			cfg->secrets.doveadm_api_key_source);
	describe_secret(out, "WEBMAIL_MASTER_PASSWORD", cfg->secrets.webmail_master_password,
			cfg->secrets.webmail_master_password_source);
}
