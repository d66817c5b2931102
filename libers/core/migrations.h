/* The table generated from libers/core/sql/ by embed.awk. */
#ifndef ERS_MIGRATIONS_H
#define ERS_MIGRATIONS_H
#include <stddef.h>
struct ers_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct ers_migration ers_migrations[];
extern const size_t ers_migration_count;
#endif
