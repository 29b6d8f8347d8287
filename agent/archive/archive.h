/*
 * The local archive: every event and telemetry message the core accepts,
 * kept in SQLite (WAL mode) for a retention period within a size bound, with
 * the seq and id it was published with. Read back by time range for export
 * and replay.
 *
 * Invariants:
 *   - the core thread never waits on SQLite: ioca_archive_add() copies the
 *     message into a bounded hand-off list that one writer thread commits in
 *     batches; past the bound messages are dropped from the archive (counted),
 *     never from delivery;
 *   - a damaged database never stops the writer: it is set aside
 *     (archive.db.<ms>.corrupt), a new one is created, and the owner is told
 *     through the corrupt callback, which runs on the owner's thread in
 *     ioca_archive_tick();
 *   - readers (cursors) take one short read transaction per page, so a slow
 *     reader (a paced replay) never holds the writer's checkpoints back.
 */
#ifndef IOCA_ARCHIVE_H
#define IOCA_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "retcode.h"

/* File name of the archive inside state_dir. */
#define IOCA_ARCHIVE_FILE "archive.db"

/* One archived event or telemetry message. Strings are NUL-terminated. */
struct ioca_archive_msg {
	uint64_t seq;
	int64_t time_ms;    /* the envelope's time */
	const char *id;     /* "<agent>:<seq>" */
	const char *source; /* instance name or "_agent" */
	const char *plugin;
	const char *type;  /* dotted event type or "telemetry" */
	int severity;      /* enum ioca_severity */
	bool clock_synced; /* the envelope's "clock" */
	const char *data;  /* JSON object text */
	size_t data_len;
};

struct ioca_archive_settings {
	int64_t max_age_ms; /* messages older than this (by time) are pruned */
	int64_t max_bytes;  /* disk use bound (database + WAL) */
};

struct ioca_archive_callbacks {
	void *ctx;
	/* The database was found damaged, moved to `set_aside` (may be "" when
	 * it could not be moved and was removed) and recreated. */
	void (*corrupt)(void *ctx, const char *set_aside, const char *reason);
};

struct ioca_archive_stats {
	uint64_t added;       /* messages handed to ioca_archive_add() */
	uint64_t written;     /* messages committed */
	uint64_t dropped;     /* not archived: hand-off list full or a write failed */
	uint64_t pruned_age;  /* deleted by retention.days */
	uint64_t pruned_size; /* deleted by retention.max_bytes */
	uint64_t corrupt;     /* times the database was set aside and rebuilt */
	uint64_t rows;        /* messages in the database */
	uint64_t disk_bytes;  /* database + WAL file sizes */
	int64_t oldest_ms;    /* time of the oldest message kept, 0 if none */
	uint64_t pending;     /* messages waiting for the writer */
	double writer_cpu_s;  /* CPU time of the writer thread */
};

struct ioca_archive;

/* Start the writer for the database at `path` (created when missing). The
 * database itself is opened and checked by the writer thread. NULL on failure
 * (err says why: memory, thread). */
struct ioca_archive *ioca_archive_open(const char *path, const struct ioca_archive_settings *s,
				       const struct ioca_archive_callbacks *cb, char *err,
				       size_t errlen);
/* Copy m into the hand-off list. IOCA_ERROR when it is full (counted). */
int ioca_archive_add(struct ioca_archive *a, const struct ioca_archive_msg *m);
/* Run the callbacks of what the writer found since the last call. */
void ioca_archive_tick(struct ioca_archive *a);
/* Wait until everything added so far is committed (tests, export of a live
 * archive, stop). IOCA_OK, or IOCA_ERROR when timeout_ms passed first. */
int ioca_archive_sync(struct ioca_archive *a, int timeout_ms);
void ioca_archive_stats(struct ioca_archive *a, struct ioca_archive_stats *out);
/* Commit what is pending, stop the writer, close the database. NULL is fine. */
void ioca_archive_close(struct ioca_archive *a);

/* ---- reading ------------------------------------------------------------ */

struct ioca_archive_range {
	int64_t from_ms;      /* inclusive */
	int64_t to_ms;        /* exclusive */
	const char *instance; /* NULL: every source */
};

struct ioca_archive_cursor;

/* Messages with from_ms <= time < to_ms in (time, seq) order, read from the
 * database at `path` (read-only; works while an agent writes it). NULL on
 * failure (err says why). */
struct ioca_archive_cursor *ioca_archive_cursor_open(const char *path,
						     const struct ioca_archive_range *r, char *err,
						     size_t errlen);
/* The next message; its memory is valid until the next call. IOCA_OK,
 * IOCA_AGAIN at the end of the range, IOCA_ERROR (err of open's kind in
 * ioca_archive_cursor_error()). A caller that paces itself (replay) calls
 * this at its own rate: nothing is held open between pages. */
int ioca_archive_cursor_next(struct ioca_archive_cursor *c, struct ioca_archive_msg *out);
const char *ioca_archive_cursor_error(const struct ioca_archive_cursor *c);
void ioca_archive_cursor_close(struct ioca_archive_cursor *c);
/* How many messages `r` holds now, or -1 (err says why). */
long long ioca_archive_count(const char *path, const struct ioca_archive_range *r, char *err,
			     size_t errlen);

/* ---- export ------------------------------------------------------------- */

enum ioca_export_format {
	IOCA_EXPORT_JSONL, /* one envelope per line */
	IOCA_EXPORT_CSV,   /* one row per telemetry reading */
};

/* Write the messages of `r` to `out`. Returns the number of messages
 * exported, or -1 (err says why). */
long ioca_archive_export(const char *path, const struct ioca_archive_range *r,
			 enum ioca_export_format fmt, FILE *out, char *err, size_t errlen);
/* One message as an envelope line (no newline) into a malloc'd string. */
char *ioca_archive_msg_json(const struct ioca_archive_msg *m);

#endif
