/*
 * How many archived messages a time range holds (see archive.h): one
 * COUNT over the time index in a short read transaction.
 */
#include "archive.h"

#include "archive_db.h"

static const char count_sql[] =
    "SELECT count(*) FROM messages"
    " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 IS NULL OR source = ?3)";

long long ioca_archive_count(const char *path, const struct ioca_archive_range *r, char *err,
			     size_t errlen)
{
	sqlite3 *db = ioca_archive_db_open_ro(path, err, errlen);
	if (!db)
		return -1;
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(db, count_sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, r->from_ms);
		sqlite3_bind_int64(st, 2, r->to_ms);
		/* NULL binds NULL */
		sqlite3_bind_text(st, 3, r->instance, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}
