/* Unit tests for ers_config_load and the secrets file: defaults, every key,
 * errors that name file:line:column, the key and what is allowed, secrets
 * from the file, a systemd credential and the environment, and a describe
 * output that never shows a secret.  Every file lives in a private temporary
 * directory, and every config names its own secrets_file, so nothing on the
 * machine (/etc/ers) is read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ers/config.h"
#include "tap.h"

#define KEY_HEX  "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define KEY_HEX2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define KEY_B64  "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
#define DB_PASSWORD "s3cr3t-Pa55word!"

static char tmpdir[] = "/tmp/ers-unit-config.XXXXXX";
static char *made[256];
static size_t nmade;
static struct ers_config *cfg;
static struct ers_error err;

static char *path_in_tmp(const char *name)
{
	size_t n = strlen(tmpdir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		abort();
	snprintf(p, n, "%s/%s", tmpdir, name);
	return p;
}

/* Writes `content` to a new file in the temporary directory with `mode`;
 * returns its path (freed at the end). */
static const char *write_file(const char *content, mode_t mode)
{
	char *path = path_in_tmp("f.XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(content);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) < 0 || close(fd) < 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (nmade == sizeof made / sizeof made[0])
		abort();
	made[nmade++] = path;
	return path;
}

/* A config file: `body`, then a secrets_file line naming `secrets`. */
static const char *write_config(const char *body, const char *secrets)
{
	struct ers_buf b = ERS_BUF_INIT;
	ers_buf_adds(&b, body);
	if (secrets)
		ers_buf_addf(&b, "secrets_file: %s\n", secrets);
	const char *path = write_file(b.data, 0600);
	ers_buf_free(&b);
	return path;
}

/* An empty secrets file that passes the safety checks. */
static const char *no_secrets(void)
{
	return write_file("", 0600);
}

static int load(const char *path)
{
	ers_config_free(cfg);
	cfg = NULL;
	ers_error_clear(&err);
	return ers_config_load(path, &cfg, &err);
}

static void unset_env(void)
{
	unsetenv("ERS_CONFIG");
	unsetenv("SMIME_MASTER_KEY");
	unsetenv("ERS_DATABASE_PASSWORD");
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* Loads `path` and expects success. */
static bool loads(const char *path, const char *what)
{
	int rc = load(path);
	if (!is_int(rc, 0, "%s loads", what)) {
		diag("error: %s", err.message);
		return false;
	}
	return cfg != NULL;
}

/* Loads `path` and expects an ERS_E_CONFIG error starting with `path` +
 * `where` (":line:col: ") and containing each NULL-terminated `wants`. */
static void fails(const char *path, const char *what, const char *where, ...)
{
	int rc = load(path);
	is_int(rc, -1, "%s is refused", what);
	is_int(err.code, ERS_E_CONFIG, "%s: ERS_E_CONFIG", what);
	ok(cfg == NULL, "%s: no configuration returned", what);
	if (where) {
		char prefix[512];
		snprintf(prefix, sizeof prefix, "%s%s", path, where);
		if (!ok(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s: message starts with file%s",
			what, where)) {
			diag("message: %s", err.message);
			diag("wanted prefix: %s", prefix);
		}
	}
	va_list ap;
	va_start(ap, where);
	for (const char *want; (want = va_arg(ap, const char *)) != NULL;)
		like_str(err.message, want, "%s: message says '%s'", what, want);
	va_end(ap);
}

static void test_defaults(void)
{
	const char *path = write_config("", no_secrets());
	if (!loads(path, "a config with only secrets_file"))
		return;
	is_str(cfg->path, path, "path recorded");
	is_str(cfg->database.host, "/var/run/postgresql", "default database.host");
	is_int(cfg->database.port, 5432, "default database.port");
	is_str(cfg->database.name, "ers", "default database.name");
	is_str(cfg->database.user, "ers", "default database.user");
	is_int(cfg->database.connect_timeout, 5, "default database.connect_timeout");
	is_str(cfg->database.sslmode, "prefer", "default database.sslmode");
	ok(cfg->secrets.master_key == NULL, "no master key from an empty secrets file");
	ok(cfg->secrets.database_password == NULL, "no database password from an empty secrets file");

	path = write_config("database: {}\n", no_secrets());
	if (loads(path, "an empty database mapping"))
		is_int(cfg->database.port, 5432, "an empty database mapping keeps the defaults");

	/* A truly empty file falls back on the default secrets file; that only
	 * means "unset" on a machine without one. */
	if (access(ERS_SECRETS_DEFAULT_PATH, F_OK) == 0) {
		skip(ERS_SECRETS_DEFAULT_PATH " exists on this machine", 10);
		return;
	}
	static const char *const empties[] = { "", "# only a comment\n\n" };
	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		path = write_file(empties[i], 0644);
		if (!loads(path, i == 0 ? "an empty file" : "a file of comments"))
			continue;
		is_int(cfg->database.port, 5432, "... with the default port");
		is_str(cfg->secrets_file, ERS_SECRETS_DEFAULT_PATH, "... and the default secrets file");
		ok(!cfg->secrets.master_key && !cfg->secrets.database_password,
		   "... which, missing, leaves the secrets unset");
	}
	struct ers_buf d = ERS_BUF_INIT;
	ers_config_describe(cfg, &d);
	like_str(d.data, "SMIME_MASTER_KEY: \"(not set)\"", "describe: master key not set");
	like_str(d.data, "ERS_DATABASE_PASSWORD: \"(not set)\"", "describe: password not set");
	ers_buf_free(&d);
}

static void test_all_keys(void)
{
	const char *secrets = no_secrets();
	const char *path = write_config("# every key\n"
					"database:\n"
					"  host: db.example.com\n"
					"  port: 6432\n"
					"  name: ers_prod\n"
					"  user: ers_app\n"
					"  connect_timeout: 30\n"
					"  sslmode: verify-full\n",
					secrets);
	if (!loads(path, "a config with every key"))
		return;
	is_str(cfg->database.host, "db.example.com", "database.host");
	is_int(cfg->database.port, 6432, "database.port");
	is_str(cfg->database.name, "ers_prod", "database.name");
	is_str(cfg->database.user, "ers_app", "database.user");
	is_int(cfg->database.connect_timeout, 30, "database.connect_timeout");
	is_str(cfg->database.sslmode, "verify-full", "database.sslmode");
	is_str(cfg->secrets_file, secrets, "secrets_file");

	struct ers_buf d = ERS_BUF_INIT;
	ers_config_describe(cfg, &d);
	like_str(d.data, path, "describe names the file");
	like_str(d.data, "  host: db.example.com\n", "describe shows database.host");
	like_str(d.data, "  port: 6432\n", "describe shows database.port");
	like_str(d.data, "  connect_timeout: 30\n", "describe shows database.connect_timeout");
	like_str(d.data, "  sslmode: verify-full\n", "describe shows database.sslmode");
	like_str(d.data, secrets, "describe shows secrets_file");
	ers_buf_free(&d);

	/* Flow style, quoting and the bounds of each number. */
	path = write_config("database: {host: \"/run/pg\", port: '1', connect_timeout: 300, sslmode: disable}\n",
			    secrets);
	if (loads(path, "flow style and quoted values")) {
		is_str(cfg->database.host, "/run/pg", "quoted host");
		is_int(cfg->database.port, 1, "port 1 (quoted)");
		is_int(cfg->database.connect_timeout, 300, "connect_timeout 300");
	}
	path = write_config("database:\n  port: 65535\n  connect_timeout: 1\n", secrets);
	if (loads(path, "the upper port and lower timeout bounds")) {
		is_int(cfg->database.port, 65535, "port 65535");
		is_int(cfg->database.connect_timeout, 1, "connect_timeout 1");
	}
	static const char *const modes[] = { "disable", "allow", "prefer", "require", "verify-ca", "verify-full" };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char body[100];
		snprintf(body, sizeof body, "database:\n  sslmode: %s\n", modes[i]);
		if (loads(write_config(body, secrets), modes[i]))
			is_str(cfg->database.sslmode, modes[i], "sslmode %s", modes[i]);
	}
}

static void test_errors(void)
{
	const char *s = no_secrets();
	const char *dbkeys = "allowed: host, port, name, user, connect_timeout, sslmode";

	fails(write_config("database: {}\ndatbase:\n  host: x\n", s), "an unknown top-level key", ":2:1: ",
	      "(top level)", "unknown key \"datbase\"", "allowed: database, secrets_file, mailstack, dns, webmail, welcome, scan", NULL);
	fails(write_config("database:\n  port: 5432\n  hots: db\n", s), "an unknown database key", ":3:3: ",
	      "database: unknown key \"hots\"", dbkeys, NULL);
	fails(write_config("database:\n  port: 5432\n  password: hunter2\n", s),
	      "a password in ers.yaml", ":3:3: ", "unknown key \"password\"", dbkeys, NULL);
	fails(write_config("database:\n  port: 5432\n  name: a\n  port: 5433\n", s), "a duplicate database key",
	      ":4:3: ", "database", "key \"port\" appears twice", NULL);
	fails(write_config("database: {}\ndatabase: {}\n", s), "a duplicate top-level key", ":2:1: ",
	      "(top level)", "key \"database\" appears twice", NULL);

	const char *port_range = "database.port: must be a whole number 1..65535";
	fails(write_config("database:\n  port: abc\n", s), "port abc", ":2:9: ", port_range, "got \"abc\"", NULL);
	fails(write_config("database:\n  port: 0\n", s), "port 0", ":2:9: ", port_range, "got \"0\"", NULL);
	fails(write_config("database:\n  port: 70000\n", s), "port 70000", ":2:9: ", port_range, "got \"70000\"",
	      NULL);
	fails(write_config("database:\n  port: -1\n", s), "port -1", ":2:9: ", port_range, NULL);
	fails(write_config("database:\n  port: 5432.0\n", s), "port 5432.0", ":2:9: ", port_range, NULL);
	fails(write_config("database:\n  port:\n", s), "an empty port", ":2:8: ", port_range, NULL);
	fails(write_config("database:\n  connect_timeout: 301\n", s), "connect_timeout 301", ":2:20: ",
	      "database.connect_timeout: must be a whole number 1..300", "got \"301\"", NULL);
	fails(write_config("database:\n  connect_timeout: 0\n", s), "connect_timeout 0", ":2:20: ",
	      "database.connect_timeout: must be a whole number 1..300", NULL);
	fails(write_config("database:\n  sslmode: bogus\n", s), "sslmode bogus", ":2:12: ",
	      "database.sslmode: must be one of disable, allow, prefer, require, verify-ca, verify-full",
	      "got \"bogus\"", NULL);
	fails(write_config("database:\n  sslmode: Require\n", s), "sslmode in the wrong case", ":2:12: ",
	      "database.sslmode", "got \"Require\"", NULL);

	fails(write_config("database:\n  host:\n    - a\n    - b\n", s), "a list for database.host", ":3:5: ",
	      "database.host: must be a text value, not a list or mapping", NULL);
	fails(write_config("database:\n  name: {a: b}\n", s), "a mapping for database.name", ":2:9: ",
	      "database.name: must be a text value", NULL);
	fails(write_config("database:\n  port: [5432]\n", s), "a list for database.port", ":2:9: ",
	      "database.port: must be a whole number 1..65535", "(not a scalar)", NULL);
	fails(write_config("database:\n  sslmode: [require]\n", s), "a list for database.sslmode", ":2:12: ",
	      "database.sslmode: must be one of", "(not a scalar)", NULL);
	fails(write_config("secrets_file: [a]\n", NULL), "a list for secrets_file", ":1:15: ",
	      "secrets_file: must be a text value", NULL);
	fails(write_config("database:\n  user: \"\"\n", s), "an empty database.user", ":2:9: ",
	      "database.user: must not be empty", NULL);
	fails(write_config("database:\n  host:\n", s), "a missing database.host value", ":2:8: ",
	      "database.host: must not be empty", NULL);
	fails(write_config("database: localhost\n", s), "a scalar for database", ":1:11: ",
	      "database: must be a mapping of host, port", NULL);
	fails(write_config("- database\n- secrets_file\n", NULL), "a list at the top level", ":1:1: ",
	      "(top level): must be a mapping of database, secrets_file", NULL);

	/* Broken YAML: the position of the problem. */
	fails(write_config("database:\n  host: db: x\n", s), "a colon inside a plain value", ":2:11: ",
	      "not valid YAML", "mapping values are not allowed", NULL);
	fails(write_file("database:\n\thost: x\n", 0600), "a tab for indentation", ":2:1: ", "not valid YAML",
	      NULL);
	fails(write_file("database: {port: 1\n", 0600), "an unclosed flow mapping", ":2:1: ", "not valid YAML",
	      NULL);
	fails(write_file("database:\n  host: \"unterminated\n", 0600), "an unterminated string", ":3:1: ",
	      "not valid YAML", NULL);

	/* Aliases can make a cycle; it must be an error, not a crash. */
	fails(write_config("database: &db {host: *db}\n", s), "a self-referencing alias", ":1:11: ",
	      "database.host: must be a text value", NULL);
	fails(write_config("database: &db {x: *db}\n", s), "a self-referencing alias under an unknown key",
	      ":1:16: ", "unknown key \"x\"", NULL);
	const char *anchored = write_config("x: &h db.example.com\n", s);
	fails(anchored, "an anchor on an unknown key", ":1:1: ", "unknown key \"x\"", NULL);
	const char *alias_ok = write_config("database: {host: &h db.example.com, name: *h}\n", s);
	if (loads(alias_ok, "a plain alias"))
		is_str(cfg->database.name, "db.example.com", "an alias gives the anchored value");

	/* Everything after a second document start would be ignored. */
	fails(write_config("database: {}\n---\ndatbase: {}\n", s), "a second YAML document", ":3:1: ",
	      "second YAML document", NULL);
	fails(write_file("database: {}\n--- [\n", 0600), "broken YAML in a second document", ":3:1: ",
	      "not valid YAML", NULL);
	struct ers_buf doc = ERS_BUF_INIT;
	ers_buf_addf(&doc, "---\ndatabase: {port: 2345}\nsecrets_file: %s\n...\n", s);
	if (loads(write_file(doc.data, 0600), "one document with explicit markers"))
		is_int(cfg->database.port, 2345, "... read as usual");
	ers_buf_reset(&doc);
	ers_buf_addf(&doc, "database: {port: 2345}\nsecrets_file: %s\n---\n# nothing more\n", s);
	if (loads(write_file(doc.data, 0600), "a trailing empty document"))
		is_int(cfg->database.port, 2345, "... read as usual");
	ers_buf_free(&doc);

	/* A missing file. */
	char *missing = path_in_tmp("no-such.yaml");
	fails(missing, "a missing config file", NULL, "cannot read configuration", missing,
	      "No such file or directory", "--config", "ERS_CONFIG", NULL);
	free(missing);
	fails(tmpdir, "a directory as config file", NULL, tmpdir, NULL);
}

static void test_env_path(void)
{
	const char *s = no_secrets();
	const char *path = write_config("database:\n  port: 7777\n", s);
	setenv("ERS_CONFIG", path, 1);
	if (loads(NULL, "ERS_CONFIG with a NULL path")) {
		is_str(cfg->path, path, "ERS_CONFIG names the file used");
		is_int(cfg->database.port, 7777, "values from the ERS_CONFIG file");
	}
	if (loads("", "ERS_CONFIG with an empty path"))
		is_str(cfg->path, path, "an empty path also means ERS_CONFIG");

	const char *other = write_config("database:\n  port: 8888\n", s);
	if (loads(other, "an explicit path with ERS_CONFIG set"))
		is_int(cfg->database.port, 8888, "an explicit path wins over ERS_CONFIG");

	char *missing = path_in_tmp("gone.yaml");
	setenv("ERS_CONFIG", missing, 1);
	fails(NULL, "ERS_CONFIG naming a missing file", NULL, missing, "ERS_CONFIG", NULL);
	free(missing);
	unset_env();
}

/* A config naming a secrets file written with `content` and `mode`. */
static const char *with_secrets(const char *content, mode_t mode, const char **secrets_r)
{
	const char *secrets = write_file(content, mode);
	if (secrets_r)
		*secrets_r = secrets;
	return write_config("", secrets);
}

static void test_secrets(void)
{
	const char *secrets, *path;
	char where[400];

	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0600, &secrets);
	if (loads(path, "a 0600 secrets file with a hex master key")) {
		is_str(cfg->secrets.master_key, KEY_HEX, "master key read");
		snprintf(where, sizeof where, "%s:1", secrets);
		is_str(cfg->secrets.master_key_source, where, "master key source is file:line");
		ok(cfg->secrets.database_password == NULL, "no database password");
	}

	path = with_secrets("# ERS secrets\n\nERS_DATABASE_PASSWORD=" DB_PASSWORD "\r\n"
			    "SMIME_MASTER_KEY=" KEY_B64 "\n", 0640, &secrets);
	if (loads(path, "a 0640 secrets file with comments, CRLF, a base64 key and a password")) {
		is_str(cfg->secrets.master_key, KEY_B64, "base64 master key read");
		snprintf(where, sizeof where, "%s:4", secrets);
		is_str(cfg->secrets.master_key_source, where, "the source counts comment and blank lines");
		is_str(cfg->secrets.database_password, DB_PASSWORD, "password read, CR dropped");
		snprintf(where, sizeof where, "%s:3", secrets);
		is_str(cfg->secrets.database_password_source, where, "password source is file:line");
	}

	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\nSMIME_MASTER_KEY=" KEY_HEX2 "\n", 0600, NULL);
	if (loads(path, "a key given twice"))
		is_str(cfg->secrets.master_key, KEY_HEX2, "the later line wins");

	/* Modes. */
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0644, &secrets);
	fails(path, "a 0644 secrets file", NULL, secrets, "has mode 0644", "chmod 600", NULL);
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0604, &secrets);
	fails(path, "a 0604 secrets file", NULL, secrets, "has mode 0604", NULL);
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0660, &secrets);
	fails(path, "a 0660 secrets file", NULL, secrets, "has mode 0660", NULL);
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0601, &secrets);
	fails(path, "a 0601 secrets file", NULL, "has mode 0601", NULL);
	unlike_str(err.message, KEY_HEX, "the mode error does not show the key");
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\n", 0400, NULL);
	ok(loads(path, "a 0400 secrets file"), "0400 is fine");
	path = write_config("", tmpdir);
	fails(path, "a directory as secrets file", NULL, NULL);

	/* Content errors. */
	path = with_secrets("# secrets\nSMIME_MASTER_KEY=" KEY_HEX "\nGPG_KEY=abc\n", 0600, &secrets);
	snprintf(where, sizeof where, "%s:3:", secrets);
	fails(path, "an unknown secret", NULL, where, "unknown secret \"GPG_KEY\"",
	      "allowed: SMIME_MASTER_KEY, ERS_DATABASE_PASSWORD", NULL);
	unlike_str(err.message, "abc", "the unknown secret's value is not shown");

	path = with_secrets("\nSMIME_MASTER_KEY " KEY_HEX "\n", 0600, &secrets);
	snprintf(where, sizeof where, "%s:2:", secrets);
	fails(path, "a line without =", NULL, where, "expected NAME=value", NULL);
	unlike_str(err.message, KEY_HEX, "the line without = is not shown");
	unlike_str(err.message, "0011223344", "... not even in part");

	/* A key pasted without its NAME= must not be echoed as an unknown name. */
	path = with_secrets(KEY_B64 "\n", 0600, &secrets);
	snprintf(where, sizeof where, "%s:1:", secrets);
	fails(path, "a bare base64 key line", NULL, where, "unknown secret", NULL);
	unlike_str(err.message, "q83vEjRWeJq83vEj", "the bare key is not shown");
	path = with_secrets("SMIME_MASTER_KEY:" KEY_B64 "\n", 0600, &secrets);
	fails(path, "a key line with : instead of =", NULL, secrets, "unknown secret", NULL);
	unlike_str(err.message, "q83vEjRWeJq83vEj", "the key after the wrong separator is not shown");

	static const struct {
		const char *label, *value, *shown;
	} bad_keys[] = {
		{ "63 hex digits", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "got 63 characters" },
		{ "65 hex digits", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", "got 65 characters" },
		{ "64 characters, not hex", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", "got 64 characters" },
		{ "a quoted hex key", "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"", "got 66 characters" },
		{ "a hex key and a space", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef ", "got 65 characters" },
		{ "44 base64 characters without padding", "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83v", "got 44 characters" },
		{ "base64 of 31 bytes", "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8==", "got 44 characters" },
		{ "a short passphrase", "correct horse battery", "got 21 characters" },
		{ "an empty key", "", "got 0 characters" },
	};
	for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
		char content[200], label[100];
		snprintf(content, sizeof content, "SMIME_MASTER_KEY=%s\n", bad_keys[i].value);
		snprintf(label, sizeof label, "a master key of %s", bad_keys[i].label);
		path = with_secrets(content, 0600, &secrets);
		fails(path, label, NULL, secrets, "SMIME_MASTER_KEY", "64 hex digits or 44 base64 characters",
		      bad_keys[i].shown, NULL);
		if (*bad_keys[i].value) {
			char piece[17];
			snprintf(piece, sizeof piece, "%s", bad_keys[i].value + (bad_keys[i].value[0] == '"'));
			unlike_str(err.message, piece, "%s: the key is not in the message", label);
		}
	}

	/* Named but missing, and the default missing. */
	char *missing = path_in_tmp("no-secrets");
	path = write_config("", missing);
	fails(path, "a named but missing secrets file", NULL, "cannot read secrets file", missing,
	      "No such file or directory", NULL);
	free(missing);
}

static void test_env_secrets(void)
{
	const char *secrets, *path;
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\nERS_DATABASE_PASSWORD=" DB_PASSWORD "\n", 0600,
			    &secrets);

	setenv("SMIME_MASTER_KEY", KEY_HEX2, 1);
	if (loads(path, "a key in the file and the environment")) {
		is_str(cfg->secrets.master_key, KEY_HEX2, "the environment overrides the file");
		is_str(cfg->secrets.master_key_source, "the environment", "source says so");
		is_str(cfg->secrets.database_password, DB_PASSWORD, "the password still comes from the file");
	}
	setenv("SMIME_MASTER_KEY", "", 1);
	if (loads(path, "an empty SMIME_MASTER_KEY in the environment"))
		is_str(cfg->secrets.master_key, KEY_HEX, "an empty variable is ignored");

	setenv("SMIME_MASTER_KEY", "not-a-key-at-all-really", 1);
	fails(path, "a bad key in the environment", NULL, "SMIME_MASTER_KEY from the environment",
	      "64 hex digits", NULL);
	unlike_str(err.message, "not-a-key", "the bad environment key is not shown");
	unset_env();

	setenv("ERS_DATABASE_PASSWORD", "from-env-pw", 1);
	if (loads(path, "a password in the environment")) {
		is_str(cfg->secrets.database_password, "from-env-pw", "the environment password wins");
		is_str(cfg->secrets.database_password_source, "the environment", "password source says so");
	}
	unset_env();

	setenv("SMIME_MASTER_KEY", KEY_HEX2, 1);
	if (loads(write_config("", no_secrets()), "a key only in the environment"))
		is_str(cfg->secrets.master_key, KEY_HEX2, "the environment alone is enough");
	unset_env();

	/* A systemd credential sits between the file and the environment. */
	char *creds = path_in_tmp("creds");
	char *cred = path_in_tmp("creds/SMIME_MASTER_KEY");
	FILE *f = NULL;
	if (mkdir(creds, 0700) == 0 && (f = fopen(cred, "w")) != NULL) {
		fputs(KEY_B64 "\n", f);
		fclose(f);
		setenv("CREDENTIALS_DIRECTORY", creds, 1);
		if (loads(path, "a credential")) {
			is_str(cfg->secrets.master_key, KEY_B64, "the credential overrides the file");
			is_str(cfg->secrets.master_key_source, cred, "source names the credential file");
		}
		setenv("SMIME_MASTER_KEY", KEY_HEX2, 1);
		if (loads(path, "a credential and the environment"))
			is_str(cfg->secrets.master_key, KEY_HEX2, "the environment overrides the credential");
		unset_env();
		unlink(cred);
	} else {
		skip("cannot make a credentials directory", 5);
	}
	rmdir(creds);
	free(cred);
	free(creds);
}

static void test_describe(void)
{
	const char *secrets, *path;
	path = with_secrets("SMIME_MASTER_KEY=" KEY_HEX "\nERS_DATABASE_PASSWORD=" DB_PASSWORD
			    "\nDOVEADM_API_KEY=doveadm-key-1234\nWEBMAIL_MASTER_PASSWORD=master-pw-5678\n", 0600,
			    &secrets);
	struct ers_buf d = ERS_BUF_INIT;
	char want[500];
	if (loads(path, "a config with both secrets")) {
		ers_config_describe(cfg, &d);
		snprintf(want, sizeof want, "SMIME_MASTER_KEY: \"(set, from %s:1)\"", secrets);
		like_str(d.data, want, "describe: master key set, from file:line");
		snprintf(want, sizeof want, "ERS_DATABASE_PASSWORD: \"(set, from %s:2)\"", secrets);
		like_str(d.data, want, "describe: password set, from file:line");
		unlike_str(d.data, KEY_HEX, "describe never shows the key");
		unlike_str(d.data, "00112233445566778899", "... nor part of it");
		unlike_str(d.data, DB_PASSWORD, "describe never shows the password");
		unlike_str(d.data, "doveadm-key-1234", "describe never shows the doveadm API key");
		unlike_str(d.data, "master-pw-5678", "describe never shows the webmail master password");
		unlike_str(d.data, "(not set)", "describe: nothing unset");
	}
	ers_buf_reset(&d);

	setenv("SMIME_MASTER_KEY", KEY_HEX2, 1);
	if (loads(write_config("", no_secrets()), "a key from the environment only")) {
		ers_config_describe(cfg, &d);
		like_str(d.data, "SMIME_MASTER_KEY: \"(set, from the environment)\"",
			 "describe: master key set, from the environment");
		like_str(d.data, "ERS_DATABASE_PASSWORD: \"(not set)\"", "describe: password not set");
		unlike_str(d.data, KEY_HEX2, "describe never shows the environment key");
		unlike_str(d.data, "ffeeddccbbaa", "... nor part of it");
	}
	unset_env();
	ers_buf_free(&d);
}

static void test_mailstack(void)
{
	const char *s = no_secrets();
	if (loads(write_config("database:\n  host: /db\n  port: 5433\n", s), "no mailstack section")) {
		is_str(cfg->mailstack.mail_root, "/var/vmail", "mail_root defaults to /var/vmail");
		is_int(cfg->mailstack.mail_uid, 5000, "mail uid defaults to 5000");
		is_str(cfg->mailstack.db_host, "/db", "the mail servers reach the database like ersctl");
		is_int(cfg->mailstack.db_port, 5433, "... on the same port");
		is_str(cfg->mailstack.db_user, "ers_mail", "the mail role defaults to ers_mail");
		ok(cfg->mailstack.doveadm_urls == NULL, "no doveadm port, no auth cache to flush");
	}
	if (loads(write_config("mailstack:\n  mail_root: /srv/mail\n  doveadm_port: 8080\n  listen: 10.0.0.5\n"
			       "  smtp_port: 2525\n  db_host: db.internal\n", s), "a mailstack section")) {
		is_str(cfg->mailstack.mail_root, "/srv/mail", "mail_root");
		is_int(cfg->mailstack.smtp_port, 2525, "smtp_port");
		is_str(cfg->mailstack.db_host, "db.internal", "db_host");
		is_str(cfg->mailstack.doveadm_urls, "http://127.0.0.1:8080", "doveadm_urls follows doveadm_port");
	}
	fails(write_config("mailstack:\n  mailroot: /x\n", s), "an unknown mailstack key", ":2:3: ",
	      "mailstack: unknown key \"mailroot\"", "allowed: mail_root, mail_uid", NULL);
	fails(write_config("mailstack:\n  imap_port: 0\n", s), "imap_port 0", ":2:14: ",
	      "mailstack.imap_port: must be a whole number 1..65535", NULL);
	fails(write_config("mailstack:\n  hostname: \"mail\\nmyhostname = evil\"\n", s),
	      "a line break in a value that ends up in main.cf", NULL, "mailstack.hostname: must not contain", NULL);
	fails(write_config("mailstack:\n  policy_service: \"unix:x,permit\"\n", s),
	      "a comma in policy_service (another restriction)", NULL, "must not contain spaces, commas", NULL);
	fails(write_config("mailstack: [a]\n", s), "mailstack as a list", ":1:12: ", "mailstack: must be a mapping", NULL);
}

static void test_webmail(void)
{
	const char *s = no_secrets();
	struct ers_buf d = ERS_BUF_INIT;
	if (loads(write_config("", s), "no webmail section")) {
		is_int(cfg->webmail.hsts_max_age, 31536000, "hsts_max_age defaults to one year");
		ok(!cfg->webmail.hsts_include_subdomains, "hsts_include_subdomains defaults to false");
		ers_config_describe(cfg, &d);
		like_str(d.data, "webmail:\n  hsts_max_age: 31536000\n  hsts_include_subdomains: false\n",
			 "describe shows the webmail defaults");
	}
	ers_buf_reset(&d);
	if (loads(write_config("webmail:\n  hsts_max_age: 0\n", s), "hsts_max_age 0")) {
		is_int(cfg->webmail.hsts_max_age, 0, "hsts_max_age 0 (no header)");
		ok(!cfg->webmail.hsts_include_subdomains, "... includeSubDomains still off");
	}
	if (loads(write_config("webmail:\n  hsts_max_age: 63072000\n  hsts_include_subdomains: true\n", s),
		  "two years with includeSubDomains")) {
		is_int(cfg->webmail.hsts_max_age, 63072000, "hsts_max_age 63072000 (two years, the largest)");
		ok(cfg->webmail.hsts_include_subdomains, "hsts_include_subdomains true");
		ers_config_describe(cfg, &d);
		like_str(d.data, "  hsts_max_age: 63072000\n  hsts_include_subdomains: true\n", "describe shows them");
	}
	ers_buf_free(&d);
	if (loads(write_config("webmail: {hsts_max_age: '600', hsts_include_subdomains: false}\n", s),
		  "flow style, a quoted number"))
		is_int(cfg->webmail.hsts_max_age, 600, "hsts_max_age 600");

	const char *range = "webmail.hsts_max_age: must be a whole number 0..63072000";
	fails(write_config("webmail:\n  hsts_max_age: -1\n", s), "hsts_max_age -1", ":2:17: ", range, "got \"-1\"",
	      NULL);
	fails(write_config("webmail:\n  hsts_max_age: 63072001\n", s), "hsts_max_age over two years", ":2:17: ",
	      range, "got \"63072001\"", NULL);
	fails(write_config("webmail:\n  hsts_max_age: 1y\n", s), "hsts_max_age 1y", ":2:17: ", range, NULL);
	fails(write_config("webmail:\n  hsts_max_age:\n", s), "an empty hsts_max_age", ":2:16: ", range, NULL);
	fails(write_config("webmail:\n  hsts_include_subdomains: yes\n", s), "hsts_include_subdomains yes",
	      ":2:28: ", "webmail.hsts_include_subdomains: must be true or false, got \"yes\"", NULL);
	fails(write_config("webmail:\n  hsts_include_subdomains: [true]\n", s), "a list for hsts_include_subdomains",
	      ":2:28: ", "must be true or false", "(not a scalar)", NULL);
	fails(write_config("webmail:\n  hsts_preload: true\n", s), "an unknown webmail key", ":2:3: ",
	      "webmail: unknown key \"hsts_preload\"", "allowed: hsts_max_age, hsts_include_subdomains", NULL);
	fails(write_config("webmail:\n  hsts_max_age: 1\n  hsts_max_age: 2\n", s), "hsts_max_age twice", ":3:3: ",
	      "webmail", "key \"hsts_max_age\" appears twice", NULL);
	fails(write_config("webmail: 0\n", s), "webmail as a number", ":1:10: ", "webmail: must be a mapping", NULL);
}

int main(void)
{
	unset_env();
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	test_defaults();
	test_all_keys();
	test_errors();
	test_env_path();
	test_secrets();
	test_env_secrets();
	test_describe();
	test_mailstack();
	test_webmail();

	ers_config_free(cfg);
	ers_config_free(NULL);
	ok(1, "ers_config_free(NULL) is harmless");
	for (size_t i = 0; i < nmade; i++) {
		unlink(made[i]);
		free(made[i]);
	}
	rmdir(tmpdir);
	return done_testing();
}
