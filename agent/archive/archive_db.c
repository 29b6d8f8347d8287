/*
 * Archive database files (see archive_db.h). WAL journal with
 * synchronous=NORMAL: a commit is a write to the WAL, a checkpoint syncs; a
 * power cut loses at most the last commits, never the database. Incremental
 * auto-vacuum lets pruning give pages back to the file system.
 */
#include "archive_db.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

#define SCHEMA_VERSION       1
#define BUSY_TIMEOUT_MS      5000
#define WAL_SIZE_LIMIT_BYTES (4 * 1024 * 1024)
#define CORRUPT_KEEP         2 /* set-aside databases kept */

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS messages("
				 " seq INTEGER PRIMARY KEY,"
				 " time_ms INTEGER NOT NULL,"
				 " id TEXT NOT NULL,"
				 " source TEXT NOT NULL,"
				 " plugin TEXT NOT NULL,"
				 " type TEXT NOT NULL,"
				 " severity INTEGER NOT NULL,"
				 " clock INTEGER NOT NULL,"
				 " data TEXT NOT NULL);"
				 "CREATE INDEX IF NOT EXISTS messages_time ON messages(time_ms);";

bool ioca_archive_db_is_damage(int rc)
{
	int primary = rc & 0xff;
	return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* quick_check's first row: "ok" or the first problem. */
static int quick_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *res = (const char *)sqlite3_column_text(st, 0);
			rc = res && strcmp(res, "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
			if (rc != SQLITE_OK)
				snprintf(err, errlen, "quick_check: %s", res ? res : "no result");
		} else {
			snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
		}
	} else {
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Open one connection and bring it to the current schema. */
static int open_once(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	char sql[160];
	/* auto_vacuum only takes effect before the first table exists */
	snprintf(sql, sizeof sql,
		 "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;"
		 " PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=%d;",
		 WAL_SIZE_LIMIT_BYTES);
	if ((rc = exec(db, sql, err, errlen)) != SQLITE_OK)
		goto fail;
	if ((rc = quick_check(db, err, errlen)) != SQLITE_OK)
		goto fail;
	if ((rc = exec(db, schema_sql, err, errlen)) != SQLITE_OK)
		goto fail;
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", SCHEMA_VERSION);
	if ((rc = exec(db, sql, err, errlen)) != SQLITE_OK)
		goto fail;
	*out = db;
	return SQLITE_OK;
fail:
	sqlite3_close(db);
	return rc ? rc : SQLITE_ERROR;
}

static const char *const sidecars[] = {"-wal", "-shm"};

static void remove_sidecars(const char *path)
{
	char p[PATH_MAX + 264];
	for (size_t i = 0; i < sizeof sidecars / sizeof sidecars[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, sidecars[i]);
		unlink(p);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove all but the newest CORRUPT_KEEP "<base>.<ms>.corrupt" files. */
static void trim_set_aside(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return;
	char *names[64];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < sizeof names / sizeof names[0]) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, base, blen) == 0 && e->d_name[blen] == '.' && len > 8 &&
		    strcmp(e->d_name + len - 8, ".corrupt") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	/* the ms stamps have the same width for centuries: name order is age order */
	qsort(names, n, sizeof names[0], cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (names[i] && i + CORRUPT_KEEP < n) {
			char p[PATH_MAX + 256];
			snprintf(p, sizeof p, "%s/%s", dir, names[i]);
			unlink(p);
			remove_sidecars(p);
		}
		free(names[i]);
	}
}

void ioca_archive_db_set_aside(const char *path, char *out, size_t outlen)
{
	char aside[PATH_MAX], from[PATH_MAX + 8], to[PATH_MAX + 8];
	snprintf(aside, sizeof aside, "%s.%013lld.corrupt", path, (long long)ioca_now_wall_ms());
	if (rename(path, aside) == 0) {
		snprintf(out, outlen, "%s", aside);
	} else {
		unlink(path);
		snprintf(out, outlen, "%s", "");
	}
	for (size_t i = 0; i < sizeof sidecars / sizeof sidecars[0]; i++) {
		snprintf(from, sizeof from, "%s%s", path, sidecars[i]);
		snprintf(to, sizeof to, "%s%s", aside, sidecars[i]);
		if (rename(from, to) != 0)
			unlink(from);
	}
	trim_set_aside(path);
}

sqlite3 *ioca_archive_db_open_rw(const char *path, char *set_aside, size_t set_aside_len,
				 char *reason, size_t reason_len, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	set_aside[0] = reason[0] = '\0';
	int rc = open_once(path, &db, err, errlen);
	if (rc == SQLITE_OK || !ioca_archive_db_is_damage(rc))
		return db;
	snprintf(reason, reason_len, "%s", err);
	ioca_archive_db_set_aside(path, set_aside, set_aside_len);
	err[0] = '\0';
	rc = open_once(path, &db, err, errlen);
	return rc == SQLITE_OK ? db : NULL;
}

sqlite3 *ioca_archive_db_open_ro(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	return db;
}
