/*
 * The archive writer (see archive.h): a hand-off list filled by the core
 * thread and one thread that owns the SQLite connection. The thread commits
 * what is pending in one transaction per turn (at most BATCH_MAX messages,
 * COMMIT_INTERVAL_MS after the first of them arrived), prunes by age and
 * size, and keeps the figures the core reports. With nothing to do it
 * sleeps until the next prune: an agent sending one message a minute wakes
 * the writer twice a minute, not every second.
 *
 * Invariant: `lock` guards everything below it in struct ioca_archive; the
 * SQLite handle and prepared statements belong to the thread alone.
 */
#include "archive.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive_codec.h"
#include "archive_db.h"
#include "log.h"
#include "timeutil.h"

#define PENDING_MAX_BYTES   (16 * 1024 * 1024) /* hand-off bound */
#define BATCH_MAX           2048               /* messages per transaction */
#define COMMIT_INTERVAL_MS  1000               /* longest wait before a commit */
#define PRUNE_INTERVAL_MS   600000 /* by age; by size also when the files outgrow the bound */
#define SIZE_PRUNE_GAP_MS   10000  /* least time between two prunes the size asks for */
#define PRUNE_ROWS_PER_STEP 2000   /* rows deleted per statement */
#define SIZE_LOW_WATER_PCT  95     /* pruning by size stops here */
#define WAL_ALLOWANCE_BYTES (4 * 1024 * 1024) /* kept free for the WAL */
#define REOPEN_DELAY_MS     10000             /* after a database that cannot be opened */

struct pending {
	struct pending *next;
	size_t size;
	struct ioca_archive_msg m; /* strings point into the same allocation */
};

struct ioca_archive {
	char *path;
	struct ioca_archive_settings set;
	struct ioca_archive_callbacks cb;
	pthread_t thread;
	bool thread_started;

	/* thread-only */
	sqlite3 *db;
	sqlite3_stmt *insert;
	int64_t prune_due_ms;
	int64_t pruned_at_ms;
	int64_t reopen_due_ms;
	bool rows_counted; /* stats.rows was counted since the database was opened */
	struct ioca_pack_buf pack;

	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the thread: work, or stop */
	pthread_cond_t done; /* from the thread: a batch committed */
	struct pending *head, *tail;
	size_t pending_bytes;
	bool stop;
	bool flush_now;           /* a sync() waits: commit without gathering */
	int64_t first_pending_ms; /* monotonic time the oldest pending message arrived */
	uint64_t committed_upto;  /* count of added messages the thread has finished */
	struct ioca_archive_stats stats;
	char corrupt_aside[PATH_MAX];
	char corrupt_reason[256];
	bool corrupt_report;
};

/* ---- core side ------------------------------------------------------------ */

static void free_list(struct pending *p)
{
	while (p) {
		struct pending *next = p->next;
		free(p);
		p = next;
	}
}

static struct pending *copy_msg(const struct ioca_archive_msg *m)
{
	const char *const src[] = {m->id, m->source, m->plugin, m->type};
	size_t len[4], size = sizeof(struct pending) + m->data_len + 1;
	for (size_t i = 0; i < 4; i++) {
		len[i] = strlen(src[i]) + 1;
		size += len[i];
	}
	struct pending *p = malloc(size);
	if (!p)
		return NULL;
	p->next = NULL;
	p->size = size;
	p->m = *m;
	const char **dst[] = {&p->m.id, &p->m.source, &p->m.plugin, &p->m.type};
	char *s = (char *)(p + 1);
	for (size_t i = 0; i < 4; i++) {
		*dst[i] = memcpy(s, src[i], len[i]);
		s += len[i];
	}
	memcpy(s, m->data, m->data_len);
	s[m->data_len] = '\0';
	p->m.data = s;
	return p;
}

int ioca_archive_add(struct ioca_archive *a, const struct ioca_archive_msg *m)
{
	struct pending *p = copy_msg(m);
	pthread_mutex_lock(&a->lock);
	a->stats.added++;
	if (!p || a->pending_bytes + (p ? p->size : 0) > PENDING_MAX_BYTES) {
		a->stats.dropped++;
		a->committed_upto++;
		pthread_mutex_unlock(&a->lock);
		free(p);
		return IOCA_ERROR;
	}
	if (a->tail) {
		a->tail->next = p;
	} else {
		a->head = p;
		a->first_pending_ms = ioca_now_mono_ms();
		pthread_cond_signal(&a->wake);
	}
	a->tail = p;
	a->pending_bytes += p->size;
	a->stats.pending++;
	if (a->stats.pending >= BATCH_MAX)
		pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	return IOCA_OK;
}

void ioca_archive_tick(struct ioca_archive *a)
{
	char aside[PATH_MAX], reason[256];
	pthread_mutex_lock(&a->lock);
	bool report = a->corrupt_report;
	if (report) {
		snprintf(aside, sizeof aside, "%s", a->corrupt_aside);
		snprintf(reason, sizeof reason, "%s", a->corrupt_reason);
		a->corrupt_report = false;
	}
	pthread_mutex_unlock(&a->lock);
	if (report && a->cb.corrupt)
		a->cb.corrupt(a->cb.ctx, aside, reason);
}

/* CLOCK_MONOTONIC `mono_ms` (the clock of ioca_now_mono_ms and of the
 * condition variables) as a timespec. */
static void deadline_at(struct timespec *ts, int64_t mono_ms)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

int ioca_archive_sync(struct ioca_archive *a, int timeout_ms)
{
	struct timespec until;
	deadline_at(&until, ioca_now_mono_ms() + timeout_ms);
	pthread_mutex_lock(&a->lock);
	uint64_t want = a->stats.added;
	int rc = 0;
	a->flush_now = true;
	pthread_cond_signal(&a->wake);
	while (a->committed_upto < want && rc == 0)
		rc = pthread_cond_timedwait(&a->done, &a->lock, &until);
	bool ok = a->committed_upto >= want;
	pthread_mutex_unlock(&a->lock);
	return ok ? IOCA_OK : IOCA_ERROR;
}

void ioca_archive_stats(struct ioca_archive *a, struct ioca_archive_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	pthread_mutex_unlock(&a->lock);
}

/* ---- thread side ---------------------------------------------------------- */

static void close_db(struct ioca_archive *a)
{
	sqlite3_finalize(a->insert);
	a->insert = NULL;
	sqlite3_close(a->db);
	a->db = NULL;
}

static void note_corrupt(struct ioca_archive *a, const char *aside, const char *reason)
{
	ioca_warn("archive %s damaged (%s): set aside as %s, starting a new one", a->path, reason,
		  aside[0] ? aside : "(removed)");
	pthread_mutex_lock(&a->lock);
	a->stats.corrupt++;
	snprintf(a->corrupt_aside, sizeof a->corrupt_aside, "%s", aside);
	snprintf(a->corrupt_reason, sizeof a->corrupt_reason, "%s", reason);
	a->corrupt_report = true;
	pthread_mutex_unlock(&a->lock);
}

static bool open_db(struct ioca_archive *a)
{
	if (a->db)
		return true;
	if (ioca_now_mono_ms() < a->reopen_due_ms)
		return false;
	char aside[PATH_MAX], reason[256], err[256];
	a->db = ioca_archive_db_open_rw(a->path, aside, sizeof aside, reason, sizeof reason, err,
					sizeof err);
	if (reason[0])
		note_corrupt(a, aside, reason);
	if (a->db &&
	    sqlite3_prepare_v3(a->db,
			       "INSERT OR IGNORE INTO messages(seq,time_ms,id,source,plugin,type,"
			       "severity,clock,data) VALUES(?,?,?,?,?,?,?,?,?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &a->insert, NULL) != SQLITE_OK) {
		snprintf(err, sizeof err, "%s", sqlite3_errmsg(a->db));
		close_db(a);
	}
	if (!a->db) {
		ioca_error("archive %s: %s; retrying in %d s", a->path, err,
			   REOPEN_DELAY_MS / 1000);
		a->reopen_due_ms = ioca_now_mono_ms() + REOPEN_DELAY_MS;
		return false;
	}
	a->prune_due_ms = 0; /* prune (and measure) right after opening */
	a->rows_counted = false;
	return true;
}

/* A statement failed with rc: set a damaged database aside. */
static void on_db_error(struct ioca_archive *a, int rc, const char *what)
{
	char reason[256], aside[PATH_MAX];
	snprintf(reason, sizeof reason, "%s: %s", what, sqlite3_errstr(rc));
	if (!ioca_archive_db_is_damage(rc)) {
		ioca_warn("archive %s: %s", a->path, reason);
		return;
	}
	close_db(a);
	ioca_archive_db_set_aside(a->path, aside, sizeof aside);
	note_corrupt(a, aside, reason);
}

static int insert_one(struct ioca_archive *a, const struct ioca_archive_msg *m)
{
	sqlite3_stmt *st = a->insert;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m->seq);
	sqlite3_bind_int64(st, 2, m->time_ms);
	sqlite3_bind_text(st, 3, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->plugin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->type, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, m->severity);
	sqlite3_bind_int(st, 8, m->clock_synced ? 1 : 0);
	size_t packed = ioca_archive_pack(&a->pack, m->data, m->data_len);
	if (packed)
		sqlite3_bind_blob(st, 9, a->pack.p, (int)packed, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 9, m->data, (int)m->data_len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Commit the batch (not empty, database open) in one transaction. Returns
 * messages written. */
static uint64_t write_batch(struct ioca_archive *a, struct pending *batch)
{
	int rc = sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL);
	uint64_t n = 0, rows = 0;
	for (struct pending *p = batch; p && rc == SQLITE_OK; p = p->next, n++) {
		rc = insert_one(a, &p->m);
		/* no row added for a seq archived before */
		rows += rc == SQLITE_OK && sqlite3_changes(a->db) > 0 ? 1 : 0;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		pthread_mutex_lock(&a->lock);
		a->stats.rows += rows;
		pthread_mutex_unlock(&a->lock);
		return n;
	}
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	on_db_error(a, rc, "write");
	return 0;
}

static int64_t query_int(sqlite3 *db, const char *sql, int *rc_out)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			v = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && *rc_out == SQLITE_OK)
		*rc_out = rc;
	return v;
}

static uint64_t file_size(const char *path, const char *suffix)
{
	char p[PATH_MAX + 8];
	struct stat stbuf;
	snprintf(p, sizeof p, "%s%s", path, suffix);
	return stat(p, &stbuf) == 0 ? (uint64_t)stbuf.st_size : 0;
}

/* What the archive takes on disk: the database and its WAL. */
static uint64_t disk_use(const struct ioca_archive *a)
{
	return file_size(a->path, "") + file_size(a->path, "-wal");
}

/* Bytes the rows take: pages in use (the file without its free pages). */
static int64_t used_bytes(sqlite3 *db, int *rc)
{
	int64_t pages = query_int(db, "PRAGMA page_count", rc);
	int64_t free_pages = query_int(db, "PRAGMA freelist_count", rc);
	int64_t page_size = query_int(db, "PRAGMA page_size", rc);
	return (pages - free_pages) * page_size;
}

/* Delete up to PRUNE_ROWS_PER_STEP of the oldest rows (by time), those
 * older than before_ms when before_ms != 0. Returns rows deleted or -rc. */
static int64_t delete_oldest(sqlite3 *db, int64_t before_ms)
{
	char sql[256], where[48] = "";
	if (before_ms)
		snprintf(where, sizeof where, "WHERE time_ms < %lld ", (long long)before_ms);
	snprintf(sql, sizeof sql,
		 "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages %sORDER BY time_ms "
		 "LIMIT %d)",
		 where, PRUNE_ROWS_PER_STEP);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_changes(db) : -rc;
}

static void prune(struct ioca_archive *a, int64_t now_mono)
{
	if (!a->db || now_mono < a->prune_due_ms)
		return;
	a->prune_due_ms = now_mono + PRUNE_INTERVAL_MS;
	a->pruned_at_ms = now_mono;
	uint64_t by_age = 0, by_size = 0;
	int64_t n;
	int rc = SQLITE_OK;
	int64_t cutoff = ioca_now_wall_ms() - a->set.max_age_ms;
	while ((n = delete_oldest(a->db, cutoff)) > 0)
		by_age += (uint64_t)n;
	int64_t limit = a->set.max_bytes - WAL_ALLOWANCE_BYTES;
	if (n == 0 && used_bytes(a->db, &rc) > limit) {
		int64_t low = limit / 100 * SIZE_LOW_WATER_PCT;
		while (rc == SQLITE_OK && used_bytes(a->db, &rc) > low &&
		       (n = delete_oldest(a->db, 0)) > 0)
			by_size += (uint64_t)n;
	}
	if (n < 0) /* a delete failed */
		rc = (int)-n;
	/* give free pages back to the file system, also those an earlier run left */
	if (rc == SQLITE_OK &&
	    (by_age || by_size || query_int(a->db, "PRAGMA freelist_count", &rc)))
		rc = sqlite3_exec(a->db,
				  "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE)",
				  NULL, NULL, NULL);
	/* counted once per opening (a full scan); kept up to date after that */
	int64_t rows = -1, oldest = 0;
	if (rc == SQLITE_OK && !a->rows_counted)
		rows = query_int(a->db, "SELECT count(*) FROM messages", &rc);
	if (rc == SQLITE_OK)
		oldest = query_int(a->db, "SELECT min(time_ms) FROM messages", &rc);
	if (rc != SQLITE_OK) {
		on_db_error(a, rc, "prune");
		return;
	}
	if (by_age || by_size)
		ioca_info("archive: pruned %llu messages by age, %llu by size",
			  (unsigned long long)by_age, (unsigned long long)by_size);
	pthread_mutex_lock(&a->lock);
	a->stats.pruned_age += by_age;
	a->stats.pruned_size += by_size;
	if (rows >= 0)
		a->stats.rows = (uint64_t)rows;
	else
		a->stats.rows -=
		    by_age + by_size < a->stats.rows ? by_age + by_size : a->stats.rows;
	a->rows_counted = true;
	a->stats.oldest_ms = oldest;
	pthread_mutex_unlock(&a->lock);
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With the lock held: sleep until a batch is due (COMMIT_INTERVAL_MS after
 * its first message, or BATCH_MAX messages, or a sync), a stop, or the next
 * prune. */
static void wait_for_work(struct ioca_archive *a)
{
	struct timespec until;
	while (!a->stop && !a->flush_now && a->stats.pending < BATCH_MAX) {
		int64_t now = ioca_now_mono_ms();
		int64_t due = a->prune_due_ms;
		if (a->head)
			due = a->first_pending_ms + COMMIT_INTERVAL_MS < due
				  ? a->first_pending_ms + COMMIT_INTERVAL_MS
				  : due;
		else if (!a->db)
			due = a->reopen_due_ms; /* open (or retry) as soon as allowed */
		if (now >= due)
			break;
		deadline_at(&until, due);
		pthread_cond_timedwait(&a->wake, &a->lock, &until);
	}
	a->flush_now = false;
}

static void *writer_main(void *arg)
{
	struct ioca_archive *a = arg;
	pthread_setname_np(pthread_self(), "ioca-archive");
	pthread_mutex_lock(&a->lock);
	for (;;) {
		wait_for_work(a);
		/* take up to BATCH_MAX messages */
		struct pending *batch = a->head, *last = NULL;
		size_t n = 0, bytes = 0;
		for (struct pending *p = a->head; p && n < BATCH_MAX; p = p->next, n++) {
			last = p;
			bytes += p->size;
		}
		if (last) {
			a->head = last->next;
			if (!a->head)
				a->tail = NULL;
			else
				a->first_pending_ms = ioca_now_mono_ms();
			last->next = NULL;
			a->pending_bytes -= bytes;
			a->stats.pending -= n;
		}
		bool stop = a->stop && !a->head;
		pthread_mutex_unlock(&a->lock);

		uint64_t written = open_db(a) && batch ? write_batch(a, batch) : 0;
		if ((int64_t)disk_use(a) > a->set.max_bytes - WAL_ALLOWANCE_BYTES &&
		    a->prune_due_ms > a->pruned_at_ms + SIZE_PRUNE_GAP_MS)
			a->prune_due_ms = a->pruned_at_ms + SIZE_PRUNE_GAP_MS;
		prune(a, ioca_now_mono_ms());
		free_list(batch);
		uint64_t disk = disk_use(a);

		pthread_mutex_lock(&a->lock);
		a->stats.written += written;
		a->stats.dropped += n - written;
		a->stats.disk_bytes = disk;
		a->stats.writer_cpu_s = thread_cpu_s();
		a->committed_upto += n;
		pthread_cond_broadcast(&a->done);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	close_db(a);
	ioca_pack_buf_free(&a->pack);
	return NULL;
}

struct ioca_archive *ioca_archive_open(const char *path, const struct ioca_archive_settings *s,
				       const struct ioca_archive_callbacks *cb, char *err,
				       size_t errlen)
{
	struct ioca_archive *a = calloc(1, sizeof *a);
	if (!a || !(a->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(a);
		return NULL;
	}
	a->set = *s;
	if (cb)
		a->cb = *cb;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, &ca);
	pthread_cond_init(&a->done, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&a->thread, NULL, writer_main, a);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the archive writer: %s", strerror(rc));
		ioca_archive_close(a);
		return NULL;
	}
	a->thread_started = true;
	return a;
}

void ioca_archive_close(struct ioca_archive *a)
{
	if (!a)
		return;
	if (a->thread_started) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	free_list(a->head);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}
