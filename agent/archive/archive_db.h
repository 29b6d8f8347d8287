/*
 * The archive's SQLite database: schema, the open-and-check sequence, and
 * setting a damaged file aside. Shared by the writer and the readers.
 *
 * Invariant: a database handed out by ioca_archive_db_open_rw() has passed
 * PRAGMA quick_check and carries the current schema; anything else was moved
 * aside and replaced by an empty one.
 */
#ifndef IOCA_ARCHIVE_DB_H
#define IOCA_ARCHIVE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* sqlite result codes that mean the file itself is damaged. */
bool ioca_archive_db_is_damage(int rc);

/* Open (creating when missing) and check. On damage the file is set aside,
 * *set_aside gets its new name ("" when it had to be removed), *reason the
 * error, and a fresh database is opened. NULL on failure (err says why). */
sqlite3 *ioca_archive_db_open_rw(const char *path, char *set_aside, size_t set_aside_len,
				 char *reason, size_t reason_len, char *err, size_t errlen);
/* Move path (and its -wal, -shm) aside as <path>.<ms>.corrupt; keep the
 * newest few set-aside files. Writes the new name into out. */
void ioca_archive_db_set_aside(const char *path, char *out, size_t outlen);
/* Read-only connection for cursors. NULL on failure. */
sqlite3 *ioca_archive_db_open_ro(const char *path, char *err, size_t errlen);

#endif
