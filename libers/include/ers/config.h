/* /etc/ers/ers.yaml, read into a typed structure, and the secrets that live
 * beside it in a root-owned file (never in ers.yaml). */
#ifndef ERS_CONFIG_H
#define ERS_CONFIG_H

#include <stdbool.h>
#include "error.h"
#include "buf.h"

#define ERS_CONFIG_DEFAULT_PATH "/etc/ers/ers.yaml"
#define ERS_SECRETS_DEFAULT_PATH "/etc/ers/secrets"

struct ers_secrets {
	char *master_key;        /* SMIME_MASTER_KEY: 32 bytes, hex or base64 in the file */
	char master_key_source[300];
	char *database_password; /* ERS_DATABASE_PASSWORD */
	char database_password_source[300];
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
	struct ers_secrets secrets;
};

/* Reads and validates the file at `path` (NULL: $ERS_CONFIG, then the
 * default), then the secrets file and the environment.  Every error names
 * file:line:column, the key and what is allowed. */
int ers_config_load(const char *path, struct ers_config **cfg_r, struct ers_error *err);
void ers_config_free(struct ers_config *cfg);
/* The effective configuration as YAML, secrets shown only as set/unset. */
void ers_config_describe(const struct ers_config *cfg, struct ers_buf *out);

#endif
