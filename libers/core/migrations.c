/* The schema version this library carries: the last of the migrations
 * compiled in (migrations.gen.c).  Connecting (db.c) compares it with the
 * database's and migrating (schema.c) moves the database up to it. */
#include "ers/schema.h"
#include "core/migrations.h"

int ers_schema_latest(void)
{
	return ers_migration_count ? ers_migrations[ers_migration_count - 1].version : 0;
}
