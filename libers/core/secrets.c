/* Secrets come from a root-owned file of NAME=value lines, a systemd
 * credential, or the environment -- never from ers.yaml.  Later sources
 * override earlier ones: file, then credential, then environment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "core/internal.h"

static const char *const secret_names[] = { "SMIME_MASTER_KEY", "ERS_DATABASE_PASSWORD",
					     "DOVEADM_API_KEY", "WEBMAIL_MASTER_PASSWORD", NULL };
#define SECRET_NAMES_LIST "SMIME_MASTER_KEY, ERS_DATABASE_PASSWORD, DOVEADM_API_KEY, WEBMAIL_MASTER_PASSWORD"

/* Where secret number i of secret_names lives in struct ers_secrets. */
static void secret_slot(struct ers_secrets *s, size_t i, char ***value_r, char **source_r)
{
	switch (i) {
	case 0: *value_r = &s->master_key; *source_r = s->master_key_source; break;
	case 1: *value_r = &s->database_password; *source_r = s->database_password_source; break;
	case 2: *value_r = &s->doveadm_api_key; *source_r = s->doveadm_api_key_source; break;
	case 3: *value_r = &s->webmail_master_password; *source_r = s->webmail_master_password_source; break;
	default: ERS_BUG("secret index out of range");
	}
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* The master key is 32 bytes: 64 hex digits or 44 characters of base64. */
static int check_master_key(const char *v, const char *source, struct ers_error *err)
{
	size_t n = strlen(v);
	if (n == 64 && is_hex(v, n))
		return 0;
	if (n == 44) {
		unsigned char out[48];
		int len = EVP_DecodeBlock(out, (const unsigned char *)v, (int)n);
		ers_wipe(out, sizeof out);
		if (len == 33 && v[43] == '=' && v[42] != '=') /* 32 bytes plus the pad byte */
			return 0;
	}
	ers_error_set(err, ERS_E_CONFIG,
		      "SMIME_MASTER_KEY from %s must be 32 bytes written as 64 hex digits or 44 base64 characters (got %zu characters); make one with: openssl rand -hex 32",
		      source, n);
	return -1;
}

static int set_secret(struct ers_secrets *s, const char *name, const char *value,
		      const char *source, struct ers_error *err)
{
	size_t i = 0;
	while (secret_names[i] && strcmp(secret_names[i], name))
		i++;
	if (i == 0 && check_master_key(value, source, err) < 0)
		return -1;
	char **slot, *slot_source;
	secret_slot(s, i, &slot, &slot_source);
	ers_free_secret(*slot);
	*slot = ers_xstrdup(value);
	snprintf(slot_source, sizeof s->master_key_source, "%s", source);
	return 0;
}

static int check_file_safety(const char *path, int fd, struct ers_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ers_error_set(err, ERS_E_CONFIG, "secrets file %s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		ers_error_set(err, ERS_E_CONFIG, "secrets file %s must be owned by root (owner uid is %u)",
			      path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IRWXO)) {
		ers_error_set(err, ERS_E_CONFIG,
			      "secrets file %s has mode %04o: others must have no access and the group no write (chmod 600 or 640)",
			      path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int parse_line(char *line, size_t lineno, const char *path, struct ers_secrets *s,
		      struct ers_error *err)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0] || line[0] == '#')
		return 0;
	char *eq = strchr(line, '=');
	if (!eq) {
		ers_error_set(err, ERS_E_CONFIG, "%s:%zu: expected NAME=value", path, lineno);
		return -1;
	}
	*eq = '\0';
	for (size_t i = 0; secret_names[i]; i++) {
		if (!strcmp(line, secret_names[i])) {
			char source[300];
			snprintf(source, sizeof source, "%s:%zu", path, lineno);
			return set_secret(s, line, eq + 1, source, err);
		}
	}
	/* Echo only what looks like a name: a key pasted without its NAME=
	 * (base64 ends in '=') must not end up in an error message. */
	size_t n = strlen(line);
	if (n > 64 || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n) {
		ers_error_set(err, ERS_E_CONFIG, "%s:%zu: unknown secret name (not shown, in case it is a secret); allowed: " SECRET_NAMES_LIST,
			      path, lineno);
		return -1;
	}
	ers_error_set(err, ERS_E_CONFIG, "%s:%zu: unknown secret \"%s\"; allowed: " SECRET_NAMES_LIST,
		      path, lineno, line);
	return -1;
}

static int load_file(const char *path, bool must_exist, struct ers_secrets *s,
		     struct ers_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		ers_error_set(err, ERS_E_CONFIG, "cannot read secrets file %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = check_file_safety(path, fileno(f), err);
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0)
		rc = parse_line(line, ++lineno, path, s, err);
	if (line) {
		ers_wipe(line, cap);
		free(line);
	}
	fclose(f);
	return rc;
}

/* systemd's LoadCredential= puts each secret in its own file. */
static int load_credentials(struct ers_secrets *s, struct ers_error *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !*dir)
		return 0;
	for (size_t i = 0; secret_names[i]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, secret_names[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		char value[1100] = "";
		bool got = fgets(value, sizeof value, f) != NULL;
		fclose(f);
		value[strcspn(value, "\r\n")] = '\0';
		int rc = got ? set_secret(s, secret_names[i], value, path, err) : 0;
		ers_wipe(value, sizeof value);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int ers_secrets_load(const char *path, bool must_exist, struct ers_secrets *s,
		     struct ers_error *err)
{
	if (load_file(path, must_exist, s, err) < 0 || load_credentials(s, err) < 0)
		goto fail;
	for (size_t i = 0; secret_names[i]; i++) {
		const char *v = getenv(secret_names[i]);
		if (v && *v && set_secret(s, secret_names[i], v, "the environment", err) < 0)
			goto fail;
	}
	return 0;
fail:
	ers_secrets_clear(s);
	return -1;
}

void ers_secrets_clear(struct ers_secrets *s)
{
	for (size_t i = 0; secret_names[i]; i++) {
		char **slot, *source;
		secret_slot(s, i, &slot, &source);
		ers_free_secret(*slot);
	}
	memset(s, 0, sizeof *s);
}
