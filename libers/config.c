/* Reads ers.yaml with libyaml's document API, so that every node keeps its
 * line and column for error messages.  Unknown keys are errors. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "ers/config.h"
#include "ers/mem.h"
#include "ers/names.h"
#include "internal.h"

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

static int walk_root(struct yaml_walk *w, yaml_node_t *root, struct ers_config *cfg)
{
	static const char *const known[] = { "database", "secrets_file", NULL };
	if (!root) /* an empty file: every default applies */
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return node_error(w, root, "(top level)", "must be a mapping of database, secrets_file");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);
		int rc;
		if (key && !strcmp(key, "database"))
			rc = walk_database(w, v, cfg);
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
	ers_buf_adds(out, "# secrets (values never shown)\nsecrets:\n");
	describe_secret(out, "SMIME_MASTER_KEY", cfg->secrets.master_key, cfg->secrets.master_key_source);
	describe_secret(out, "ERS_DATABASE_PASSWORD", cfg->secrets.database_password,
			cfg->secrets.database_password_source);
}
