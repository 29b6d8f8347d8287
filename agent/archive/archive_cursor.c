/*
 * Reading the archive by time range (see archive.h). Rows come in pages of
 * PAGE_ROWS, each page one statement in its own implicit read transaction,
 * continuing after the (time, seq) of the last row handed out. Nothing stays
 * open between pages, so a reader may take as long as it likes.
 */
#include "archive.h"

#include <stdlib.h>
#include <string.h>

#include "archive_codec.h"
#include "archive_db.h"

#define PAGE_ROWS 512

struct row {
	struct ioca_archive_msg m;
	char *text; /* id, source, plugin, type, data back to back */
};

struct ioca_archive_cursor {
	sqlite3 *db;
	sqlite3_stmt *page;
	struct ioca_archive_range range;
	char *instance;
	int64_t last_time;
	uint64_t last_seq;
	bool started, at_end;
	struct row rows[PAGE_ROWS];
	size_t n_rows, next_row;
	char err[256];
};

static const char page_sql[] =
    "SELECT seq,time_ms,id,source,plugin,type,severity,clock,data FROM messages"
    " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 IS NULL OR source = ?3)"
    " AND (?4 = 0 OR (time_ms, seq) > (?5, ?6))"
    " ORDER BY time_ms, seq LIMIT ?7";

static void free_rows(struct ioca_archive_cursor *c)
{
	for (size_t i = 0; i < c->n_rows; i++)
		free(c->rows[i].text);
	c->n_rows = c->next_row = 0;
}

static char *column_copy(sqlite3_stmt *st, int col, char **dst)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	char *start = memcpy(*dst, t ? t : "", n);
	start[n] = '\0';
	*dst += n + 1;
	return start;
}

static int keep_row(struct ioca_archive_cursor *c, sqlite3_stmt *st)
{
	/* the data column: text as is, or packed (archive_codec.h) */
	bool packed = sqlite3_column_type(st, 8) == SQLITE_BLOB;
	const void *blob = packed ? sqlite3_column_blob(st, 8) : NULL;
	size_t n = (size_t)sqlite3_column_bytes(st, 8);
	size_t data_len = packed ? ioca_archive_unpacked_len(blob, n) : n;
	size_t total = data_len + 1;
	for (int col = 2; col <= 5; col++)
		total += (size_t)sqlite3_column_bytes(st, col) + 1;
	struct row *r = &c->rows[c->n_rows];
	char *s = r->text = malloc(total);
	if (!s) {
		snprintf(c->err, sizeof c->err, "out of memory");
		return IOCA_ERROR;
	}
	r->m.seq = (uint64_t)sqlite3_column_int64(st, 0);
	r->m.time_ms = sqlite3_column_int64(st, 1);
	r->m.id = column_copy(st, 2, &s);
	r->m.source = column_copy(st, 3, &s);
	r->m.plugin = column_copy(st, 4, &s);
	r->m.type = column_copy(st, 5, &s);
	r->m.severity = sqlite3_column_int(st, 6);
	r->m.clock_synced = sqlite3_column_int(st, 7) != 0;
	r->m.data_len = data_len;
	if (!packed) {
		r->m.data = column_copy(st, 8, &s);
	} else if (ioca_archive_unpack(blob, n, s, data_len + 1) == 0) {
		r->m.data = s;
	} else {
		snprintf(c->err, sizeof c->err, "message seq %lld: damaged data",
			 (long long)sqlite3_column_int64(st, 0));
		free(r->text);
		return IOCA_ERROR;
	}
	c->n_rows++;
	return IOCA_OK;
}

static int read_page(struct ioca_archive_cursor *c)
{
	sqlite3_stmt *st = c->page;
	free_rows(c);
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, c->range.from_ms);
	sqlite3_bind_int64(st, 2, c->range.to_ms);
	sqlite3_bind_text(st, 3, c->instance, -1, SQLITE_STATIC); /* NULL binds NULL */
	sqlite3_bind_int(st, 4, c->started ? 1 : 0);
	sqlite3_bind_int64(st, 5, c->last_time);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)c->last_seq);
	sqlite3_bind_int(st, 7, PAGE_ROWS);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (keep_row(c, st) != IOCA_OK)
			break;
	sqlite3_reset(st); /* ends the read transaction */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		snprintf(c->err, sizeof c->err, "read: %s", sqlite3_errstr(rc));
		return IOCA_ERROR;
	}
	if (c->err[0])
		return IOCA_ERROR;
	if (c->n_rows < PAGE_ROWS)
		c->at_end = true;
	return IOCA_OK;
}

struct ioca_archive_cursor *ioca_archive_cursor_open(const char *path,
						     const struct ioca_archive_range *r, char *err,
						     size_t errlen)
{
	struct ioca_archive_cursor *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->range = *r;
	if (r->instance && !(c->instance = strdup(r->instance))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->db = ioca_archive_db_open_ro(path, err, errlen);
	if (!c->db)
		goto fail;
	if (sqlite3_prepare_v3(c->db, page_sql, -1, SQLITE_PREPARE_PERSISTENT, &c->page, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	return c;
fail:
	ioca_archive_cursor_close(c);
	return NULL;
}

int ioca_archive_cursor_next(struct ioca_archive_cursor *c, struct ioca_archive_msg *out)
{
	if (c->next_row == c->n_rows) {
		if (c->at_end)
			return IOCA_AGAIN;
		if (read_page(c) != IOCA_OK)
			return IOCA_ERROR;
		if (c->n_rows == 0)
			return IOCA_AGAIN;
	}
	*out = c->rows[c->next_row++].m;
	c->started = true;
	c->last_time = out->time_ms;
	c->last_seq = out->seq;
	return IOCA_OK;
}

const char *ioca_archive_cursor_error(const struct ioca_archive_cursor *c)
{
	return c->err;
}

void ioca_archive_cursor_close(struct ioca_archive_cursor *c)
{
	if (!c)
		return;
	free_rows(c);
	sqlite3_finalize(c->page);
	sqlite3_close(c->db);
	free(c->instance);
	free(c);
}
