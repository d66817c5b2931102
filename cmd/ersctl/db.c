/* ersctl db ... and config check. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

int cmd_config_check(struct cli *c)
{
	if (c->json) {
		const struct ers_config *cfg = c->cfg;
		json_t *o = json_pack("{s:s,s:{s:s,s:i,s:s,s:s,s:i,s:s},s:s,s:{s:b,s:b}}",
				      "path", cfg->path, "database", "host", cfg->database.host, "port",
				      cfg->database.port, "name", cfg->database.name, "user", cfg->database.user,
				      "connect_timeout", cfg->database.connect_timeout, "sslmode",
				      cfg->database.sslmode, "secrets_file", cfg->secrets_file, "secrets",
				      "SMIME_MASTER_KEY", cfg->secrets.master_key != NULL,
				      "ERS_DATABASE_PASSWORD", cfg->secrets.database_password != NULL);
		out_json(c, o);
		return 0;
	}
	struct ers_buf out = ERS_BUF_INIT;
	ers_config_describe(c->cfg, &out);
	fputs(out.data, stdout);
	ers_buf_free(&out);
	out_note(c, "# configuration is valid");
	return 0;
}

int cmd_db_status(struct cli *c)
{
	struct ers_schema_status *st;
	if (ers_schema_status(c->ctx, &st, &c->err) < 0)
		return -1;
	if (c->json) {
		json_t *steps = json_array();
		for (size_t i = 0; i < st->count; i++)
			json_array_append_new(steps, json_pack("{s:i,s:s,s:b,s:o}", "version", st->steps[i].version,
							       "name", st->steps[i].name, "applied", st->steps[i].applied,
							       "applied_at", json_str_or_null(st->steps[i].applied_at)));
		out_json(c, json_pack("{s:i,s:i,s:o}", "current", st->current, "latest", st->latest,
				      "migrations", steps));
	} else {
		static const char *const head[] = { "VERSION", "NAME", "STATE", "APPLIED" };
		struct table tab;
		table_init(&tab, 4, head);
		for (size_t i = 0; i < st->count; i++) {
			char v[16];
			snprintf(v, sizeof v, "%04d", st->steps[i].version);
			table_row(&tab, v, st->steps[i].name, st->steps[i].applied ? "applied" : "pending",
				  st->steps[i].applied_at);
		}
		table_print(&tab);
		if (st->current > st->latest)
			printf("the database is newer than this ersctl (%d > %d): upgrade ersctl\n", st->current, st->latest);
	}
	ers_schema_status_free(st);
	return 0;
}

int cmd_db_migrate(struct cli *c)
{
	int applied;
	if (ers_schema_migrate(c->ctx, &c->actor, &applied, &c->err) < 0)
		return -1;
	if (c->json)
		out_json(c, json_pack("{s:i,s:i}", "applied", applied, "version", ers_schema_latest()));
	else if (applied)
		out_note(c, "applied %d migration(s); schema is at version %d", applied, ers_schema_latest());
	else
		out_note(c, "schema is up to date (version %d)", ers_schema_latest());
	return 0;
}
