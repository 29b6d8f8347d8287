/*
 * Spool start-up: bring whatever is in the spool directory back to a state
 * the queue ops can trust, without ever refusing to start because of it.
 *
 *   - every segment is scanned and its records' CRCs checked;
 *   - a damaged tail (torn write) is truncated;
 *   - damage inside a segment: the valid records are rewritten to a clean
 *     file under the same name, the original is set aside as
 *     "<name>.<ms>.corrupt" (the newest KEEP_CORRUPT_FILES are kept);
 *   - a segment with no valid record is set aside whole;
 *   - the cursor gives the delivery floor; a missing or damaged one means
 *     every record still on disk is delivered again (at-least-once);
 *   - the seq counter continues after the highest seq seen anywhere (cursor,
 *     segment headers, records), and after the reserved block when the host
 *     went down without a clean stop under fsync = interval/never.
 * All of it is reported (callbacks at the first tick) and logged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "spool_internal.h"
#include "timeutil.h"

#define KEEP_CORRUPT_FILES        8
#define DIR_MODE                  0750
#define REWRITE_SUFFIX            ".rewrite"
#define SEQ_RESERVE_AFTER_CRASH   65536u
#define MISSING_SEGMENTS_REPORTED 8 /* spool_corrupt reports for one gap, at most */

struct corrupt_file {
	char name[256];
	int64_t mtime;
};

struct dir_listing {
	uint64_t *ids;
	size_t n, cap;
	struct corrupt_file *corrupt;
	size_t ncorrupt, capcorrupt;
};

static int mkdir_p(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int cmp_corrupt_newest_first(const void *a, const void *b)
{
	const struct corrupt_file *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return strcmp(y->name, x->name);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int list_dir(struct ioca_spool *s, struct dir_listing *l)
{
	int fd = dup(s->dirfd);
	if (fd < 0)
		return IOCA_ERROR;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return IOCA_ERROR;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t id;
		if (ioca_spool_segment_parse_name(de->d_name, &id)) {
			uint64_t *ids = ioca_grow(l->ids, &l->cap, l->n + 1, sizeof(*ids), 64);
			if (!ids)
				break;
			l->ids = ids;
			l->ids[l->n++] = id;
			if (id >= s->next_seg_id)
				s->next_seg_id = id + 1;
			continue;
		}
		if (has_suffix(de->d_name, REWRITE_SUFFIX) ||
		    strcmp(de->d_name, IOCA_SPOOL_CURSOR_TMP_NAME) == 0) {
			unlinkat(s->dirfd, de->d_name,
				 0); /* left by an interrupted repair or cursor write */
			continue;
		}
		if (has_suffix(de->d_name, IOCA_SPOOL_CORRUPT_SUFFIX) && strlen(de->d_name) < 256) {
			/* Set aside earlier: keep new ids clear of its name too. */
			char head[IOCA_SPOOL_SEG_NAME_LEN];
			memcpy(head, de->d_name, sizeof(head) - 1);
			head[sizeof(head) - 1] = '\0';
			if (ioca_spool_segment_parse_name(head, &id) && id >= s->next_seg_id)
				s->next_seg_id = id + 1;
			struct stat st;
			if (fstatat(s->dirfd, de->d_name, &st, 0) != 0)
				continue;
			struct corrupt_file *all = ioca_grow(l->corrupt, &l->capcorrupt,
							     l->ncorrupt + 1, sizeof(*all), 16);
			if (!all)
				continue;
			l->corrupt = all;
			struct corrupt_file *c = &l->corrupt[l->ncorrupt++];
			snprintf(c->name, sizeof(c->name), "%s", de->d_name);
			c->mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		}
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->ids, l->n, sizeof(*l->ids), ioca_spool_cmp_u64);
	return IOCA_OK;
}

static void prune_corrupt(struct ioca_spool *s, struct dir_listing *l)
{
	if (l->ncorrupt <= KEEP_CORRUPT_FILES)
		return;
	qsort(l->corrupt, l->ncorrupt, sizeof(*l->corrupt), cmp_corrupt_newest_first);
	for (size_t i = KEEP_CORRUPT_FILES; i < l->ncorrupt; i++) {
		ioca_info("spool: removing old damaged segment %s/%s", s->dir, l->corrupt[i].name);
		unlinkat(s->dirfd, l->corrupt[i].name, 0);
	}
}

/* Rename `name` to a fresh "<name>.<ms>.corrupt"; the new name goes to out. */
static int set_aside(struct ioca_spool *s, struct dir_listing *l, const char *name, char *out,
		     size_t outlen)
{
	snprintf(out, outlen, "%s.%lld%s", name, (long long)ioca_now_wall_ms(),
		 IOCA_SPOOL_CORRUPT_SUFFIX);
	if (renameat(s->dirfd, name, s->dirfd, out) != 0)
		return IOCA_ERROR;
	/* Counted for pruning when there is room in the list; otherwise the
	 * next start prunes it. */
	if (l->ncorrupt < l->capcorrupt) {
		struct corrupt_file *c = &l->corrupt[l->ncorrupt];
		if (snprintf(c->name, sizeof(c->name), "%s", out) < (int)sizeof(c->name)) {
			c->mtime = ioca_now_wall_ms();
			l->ncorrupt++;
		}
	}
	return IOCA_OK;
}

/* Replace a damaged segment by its valid records. Returns the fd of the new
 * file (read/write) or -1 when it could not be done (the damaged file is
 * then read as it is, damage skipped). */
static int repair(struct ioca_spool *s, struct dir_listing *l, const char *name, int fd,
		  const struct ioca_spool_scan *sc, char *aside, size_t asidelen)
{
	char tmp[IOCA_SPOOL_SEG_NAME_LEN + sizeof(REWRITE_SUFFIX)];
	snprintf(tmp, sizeof(tmp), "%s%s", name, REWRITE_SUFFIX);
	if (ioca_spool_segment_rewrite(s->dirfd, fd, sc, tmp, s->cfg.fsync != IOCA_FSYNC_NEVER) !=
	    IOCA_OK) {
		ioca_warn("spool: cannot rewrite damaged %s/%s (%s): reading around the damage",
			  s->dir, name, strerror(errno));
		return -1;
	}
	if (set_aside(s, l, name, aside, asidelen) != IOCA_OK ||
	    renameat(s->dirfd, tmp, s->dirfd, name) != 0) {
		ioca_warn("spool: cannot set aside damaged %s/%s (%s): reading around the damage",
			  s->dir, name, strerror(errno));
		unlinkat(s->dirfd, tmp, 0);
		return -1;
	}
	if (s->cfg.fsync != IOCA_FSYNC_NEVER)
		fsync(s->dirfd);
	return openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
}

/* The seqs a segment file covers, for finding segments that vanished. */
struct seg_span {
	bool known;
	uint64_t low;  /* first record's seq, else the base seq of the header */
	uint64_t high; /* last record's seq, else base seq - 1 */
};

/* Scan one segment, repair it if needed, and add it to segs[] when it still
 * holds something to deliver. *max_seq is raised to what it shows. */
static void load_segment(struct ioca_spool *s, struct dir_listing *l, uint64_t id, uint64_t floor,
			 uint64_t *max_seq, struct seg_span *span)
{
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(id, name);
	bool writable = true;
	int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		writable = false;
		fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		ioca_error("spool: open %s/%s: %s: skipped", s->dir, name, strerror(errno));
		ioca_spool_report_corrupt(s, name, 0);
		return;
	}
	struct ioca_spool_scan sc;
	ioca_spool_segment_scan(fd, floor, s->pre_acked, s->n_pre_acked, &sc);
	if (sc.records) {
		span->known = true;
		span->low = sc.first_seq;
		span->high = sc.last_seq;
	} else if (sc.header_ok && sc.base_seq > 0) {
		span->known = true;
		span->low = sc.base_seq;
		span->high = sc.base_seq - 1;
	}
	if (sc.header_ok && sc.base_seq > 0 && sc.base_seq - 1 > *max_seq)
		*max_seq = sc.base_seq - 1;
	if (sc.records && sc.last_seq > *max_seq)
		*max_seq = sc.last_seq;
	if (sc.read_errno)
		ioca_error("spool: read %s/%s: %s", s->dir, name, strerror(sc.read_errno));

	char aside[300];
	if (sc.records == 0 &&
	    (sc.size > IOCA_SPOOL_SEG_HDR_BYTES || !sc.header_ok || sc.read_errno)) {
		close(fd);
		if (set_aside(s, l, name, aside, sizeof(aside)) == IOCA_OK)
			ioca_spool_report_corrupt(s, aside, sc.size);
		else
			ioca_spool_report_corrupt(s, name, sc.size);
		s->corrupt_records++;
		return;
	}
	uint64_t damaged = sc.skipped_inner + sc.skipped_tail;
	bool damage_reported = false;
	if (sc.skipped_inner || !sc.header_ok) {
		int nfd = writable ? repair(s, l, name, fd, &sc, aside, sizeof(aside)) : -1;
		if (nfd >= 0) {
			close(fd);
			fd = nfd;
			ioca_spool_segment_scan(fd, floor, s->pre_acked, s->n_pre_acked, &sc);
			ioca_spool_report_corrupt(s, aside, damaged);
		} else {
			ioca_spool_report_corrupt(s, name, damaged);
			damage_reported = true;
		}
		s->corrupt_records++;
	} else if (sc.skipped_tail) {
		if (writable && ftruncate(fd, (off_t)sc.good_end) != 0)
			ioca_warn("spool: truncate %s/%s: %s", s->dir, name, strerror(errno));
		ioca_spool_report_corrupt(s, name, sc.skipped_tail);
		s->corrupt_records++;
	}
	close(fd);

	if (sc.records_from == 0) {
		/* Empty or delivered: removed once the new active segment exists. */
		struct ioca_spool_seg *g = ioca_spool_seg_add(s, id);
		if (g) {
			g->size = sc.good_end;
			g->records = g->done = sc.records;
			g->bytes_done = sc.good_end - IOCA_SPOOL_SEG_HDR_BYTES;
			g->sealed = true;
			s->disk_bytes += g->size;
		}
		return;
	}
	struct ioca_spool_seg *g = ioca_spool_seg_add(s, id);
	if (!g)
		return;
	g->size = sc.good_end;
	g->records = sc.records;
	g->done = sc.records - sc.records_from;
	g->bytes_done = sc.good_end - IOCA_SPOOL_SEG_HDR_BYTES - sc.bytes_from;
	g->last_ms = sc.last_ms;
	g->sealed = true;
	g->damage_reported = damage_reported;
	s->disk_bytes += g->size;
	s->held_records += sc.records_from;
}

/* After the new active segment exists: remove old segments with nothing
 * left to deliver (the active one now carries the seq counter). */
static void remove_delivered_at_start(struct ioca_spool *s)
{
	size_t out = 0;
	bool front = true;
	for (size_t i = 0; i < s->nsegs; i++) {
		struct ioca_spool_seg *g = &s->segs[i];
		/* Only from the front: one emptied in the middle (by eviction)
		 * stays as a header, or the next start takes the id gap for
		 * files lost behind the spool's back. */
		if (front && g->sealed && g->records == g->done && i + 1 < s->nsegs &&
		    ioca_spool_remove_segment_file(s, g->id) == IOCA_OK) {
			s->disk_bytes -= g->size;
			continue;
		}
		front = false;
		s->segs[out++] = *g;
	}
	s->nsegs = out;
}

/*
 * Segment ids prev_id < id are consecutive unless files were removed behind
 * the spool's back (the spool itself deletes only delivered segments). Seqs
 * lo..hi between the two that were neither below the floor nor acked before
 * the stop were lost with them: counted as dropped, each missing file
 * reported as damage.
 */
static void report_gap(struct ioca_spool *s, uint64_t prev_id, uint64_t id, uint64_t lo,
		       uint64_t hi, uint64_t floor)
{
	uint64_t lost = 0;
	for (uint64_t q = lo < floor ? floor : lo; q <= hi; q++)
		if (!ioca_spool_seq_listed(s->pre_acked, s->n_pre_acked, q))
			lost++;
	if (!lost)
		return;
	char first[IOCA_SPOOL_SEG_NAME_LEN], last[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(prev_id + 1, first);
	ioca_spool_segment_name(id - 1, last);
	ioca_warn("spool: %s/%s%s%s missing: records %llu..%llu (%llu undelivered) lost", s->dir,
		  first, id - 1 > prev_id + 1 ? " .. " : "", id - 1 > prev_id + 1 ? last : "",
		  (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)lost);
	s->dropped_records += lost;
	/* The range goes with the first missing file: which of them held
	 * which seqs is gone with them. */
	ioca_spool_report_missing(s, first, lost, lo, hi);
	for (uint64_t g = prev_id + 2; g < id && g - prev_id <= MISSING_SEGMENTS_REPORTED; g++) {
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(g, name);
		ioca_spool_report_missing(s, name, 0, 0, 0);
	}
}

int ioca_spool_recover(struct ioca_spool *s, char *err, size_t errlen)
{
	if (mkdir_p(s->dir) != 0) {
		snprintf(err, errlen, "create %s: %s", s->dir, strerror(errno));
		return IOCA_ERROR;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errlen, "open %s: %s", s->dir, strerror(errno));
		return IOCA_ERROR;
	}
	ioca_spool_boot_id(s->boot_id);

	struct ioca_spool_cursor c;
	memset(&c, 0, sizeof(c));
	char why[128] = "";
	int crc = ioca_spool_cursor_load(s->dirfd, &c, why, sizeof(why));
	bool have_cursor = crc == IOCA_OK;
	if (!have_cursor)
		memset(&c, 0, sizeof(c));
	if (c.n_acked) {
		s->pre_acked = malloc(c.n_acked * sizeof(*s->pre_acked));
		if (s->pre_acked) {
			memcpy(s->pre_acked, c.acked, c.n_acked * sizeof(*s->pre_acked));
			s->n_pre_acked = c.n_acked;
		}
	}

	struct dir_listing l = {0};
	if (list_dir(s, &l) != IOCA_OK) {
		snprintf(err, errlen, "list %s: %s", s->dir, strerror(errno));
		return IOCA_ERROR;
	}
	uint64_t max_seq = 0, high = 0, prev_id = 0;
	bool have_prev = false;
	for (size_t i = 0; i < l.n; i++) {
		struct seg_span span = {0};
		load_segment(s, &l, l.ids[i], c.floor, &max_seq, &span);
		if (!span.known) {
			prev_id = l.ids[i]; /* set aside and reported already */
			continue;
		}
		if (have_prev && l.ids[i] > prev_id + 1 && span.low > high + 1)
			report_gap(s, prev_id, l.ids[i], high + 1, span.low - 1, c.floor);
		if (span.high > high)
			high = span.high;
		prev_id = l.ids[i];
		have_prev = true;
	}

	if (crc == IOCA_ERROR) {
		ioca_warn("spool: cursor %s/%s: %s: delivering every record still on disk again",
			  s->dir, IOCA_SPOOL_CURSOR_NAME, why);
		ioca_spool_report_corrupt(s, IOCA_SPOOL_CURSOR_NAME, 0);
	} else if (crc == IOCA_AGAIN && l.n > 0) {
		ioca_warn(
		    "spool: cursor %s/%s missing: delivering every record still on disk again",
		    s->dir, IOCA_SPOOL_CURSOR_NAME);
		ioca_spool_report_corrupt(s, IOCA_SPOOL_CURSOR_NAME, 0);
	}

	uint64_t next = max_seq + 1;
	if (c.next_seq > next)
		next = c.next_seq;
	if (c.floor > next)
		next = c.floor;
	bool same_boot = memcmp(c.boot_id, s->boot_id, sizeof(c.boot_id)) == 0;
	static const uint8_t zero_id[IOCA_SPOOL_BOOT_ID_BYTES];
	if (memcmp(s->boot_id, zero_id, sizeof(zero_id)) == 0)
		same_boot = false; /* cannot tell: assume the worst */
	if (have_cursor && s->cfg.fsync != IOCA_FSYNC_ALWAYS &&
	    !(c.flags & IOCA_SPOOL_CURSOR_CLEAN) && !same_boot && c.seq_reserved > next) {
		/* The host went down uncleanly: records published but not yet
		 * durable may be gone; never give their seqs to other content. */
		ioca_warn(
		    "spool: host restarted without a clean stop: seq continues at %llu (not %llu)",
		    (unsigned long long)c.seq_reserved, (unsigned long long)next);
		next = c.seq_reserved;
	}
	s->next_seq = next;
	s->seq_reserved = next + SEQ_RESERVE_AFTER_CRASH;
	s->rd_high_seq = c.floor ? c.floor - 1 : 0;
	s->floor_stored = c.floor;
	s->rseg = 0;
	s->roff = IOCA_SPOOL_SEG_HDR_BYTES;

	ioca_spool_roll(s); /* on failure the spool starts degraded */
	if (!s->degraded)
		remove_delivered_at_start(s);
	prune_corrupt(s, &l);
	ioca_spool_store_cursor(s, false);
	if (s->held_records)
		ioca_info("spool: %s: %llu records to deliver in %zu segments (next seq %llu)",
			  s->dir, (unsigned long long)s->held_records, s->nsegs,
			  (unsigned long long)s->next_seq);
	free(l.ids);
	free(l.corrupt);
	return IOCA_OK;
}
