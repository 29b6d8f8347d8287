/*
 * State the spool's parts share: the segment list, the persisted cursor,
 * degraded mode and damage reports. Beneath both the queue ops (spool.c) and
 * recovery at open (spool_open.c), which call into it and never into each
 * other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"
#include "spool_internal.h"
#include "timeutil.h"

/* ---- utilities -------------------------------------------------------- */

static void add_report(struct ioca_spool *s, const struct ioca_spool_report *r)
{
	if (s->nreports == IOCA_SPOOL_MAX_PENDING_REPORTS) {
		/* Fold into the last one rather than grow without bound. */
		struct ioca_spool_report *last = &s->reports[s->nreports - 1];
		last->bytes += r->bytes;
		if (r->lost_records) {
			if (!last->lost_records || r->lost_first_seq < last->lost_first_seq)
				last->lost_first_seq = r->lost_first_seq;
			if (r->lost_last_seq > last->lost_last_seq)
				last->lost_last_seq = r->lost_last_seq;
			last->lost_records += r->lost_records;
		}
		return;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", s->dir, r->file);
	char *dup = strdup(path);
	if (!dup)
		return;
	s->reports[s->nreports] = *r;
	s->reports[s->nreports].file = dup;
	s->nreports++;
}

void ioca_spool_report_corrupt(struct ioca_spool *s, const char *name, uint64_t bytes)
{
	if (!s->cb.corrupt) /* otherwise the owner of the callback reports it */
		ioca_warn("spool: damaged data in %s/%s: %llu bytes skipped", s->dir, name,
			  (unsigned long long)bytes);
	struct ioca_spool_report r = {.file = (char *)name, .bytes = bytes};
	add_report(s, &r);
}

void ioca_spool_report_missing(struct ioca_spool *s, const char *name, uint64_t lost,
			       uint64_t first, uint64_t last)
{
	struct ioca_spool_report r = {.file = (char *)name,
				      .lost_records = lost,
				      .lost_first_seq = first,
				      .lost_last_seq = last};
	add_report(s, &r);
}

struct ioca_spool_seg *ioca_spool_seg_add(struct ioca_spool *s, uint64_t id)
{
	struct ioca_spool_seg *all =
	    ioca_grow(s->segs, &s->capsegs, s->nsegs + 1, sizeof(*all), 16);
	if (!all)
		return NULL;
	s->segs = all;
	struct ioca_spool_seg *g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof(*g));
	g->id = id;
	if (id >= s->next_seg_id)
		s->next_seg_id = id + 1;
	return g;
}

struct ioca_spool_seg *ioca_spool_seg_by_id(struct ioca_spool *s, uint64_t id)
{
	if (s->nsegs == 0)
		return NULL;
	return bsearch(&id, s->segs, s->nsegs, sizeof(*s->segs), ioca_spool_cmp_u64);
}

struct ioca_spool_seg *ioca_spool_active_seg(struct ioca_spool *s)
{
	if (s->wfd < 0 || s->nsegs == 0)
		return NULL;
	return &s->segs[s->nsegs - 1];
}

bool ioca_spool_sync_enabled(const struct ioca_spool *s)
{
	return s->cfg.fsync != IOCA_FSYNC_NEVER;
}

uint64_t ioca_spool_delivery_floor(struct ioca_spool *s)
{
	/* Window entries above rd_high_seq were handed out ahead of the reader. */
	if (s->win_n && ioca_spool_win_at(s, 0)->seq <= s->rd_high_seq)
		return ioca_spool_win_at(s, 0)->seq;
	return s->rd_high_seq + 1;
}

/* Seqs acked above the floor, ascending: acked window entries and those
 * acked before the last stop, still above the floor. */
static void collect_acked(struct ioca_spool *s, struct ioca_spool_cursor *c)
{
	size_t i = 0, k = 0;
	while (k < s->n_pre_acked && s->pre_acked[k] <= c->floor)
		k++;
	c->n_acked = 0;
	while (c->n_acked < IOCA_SPOOL_CURSOR_MAX_ACKED) {
		while (i < s->win_n && ioca_spool_win_at(s, i)->state != IOCA_SPOOL_ENT_ACKED)
			i++;
		uint64_t w = i < s->win_n ? ioca_spool_win_at(s, i)->seq : UINT64_MAX;
		uint64_t p = k < s->n_pre_acked ? s->pre_acked[k] : UINT64_MAX;
		if (w == UINT64_MAX && p == UINT64_MAX)
			break;
		if (w < p) {
			c->acked[c->n_acked++] = w;
			i++;
		} else {
			c->acked[c->n_acked++] = p;
			k++;
			if (w == p)
				i++;
		}
	}
}

int ioca_spool_store_cursor(struct ioca_spool *s, bool clean)
{
	struct ioca_spool_cursor c;
	memset(&c, 0, sizeof(c));
	c.floor = ioca_spool_delivery_floor(s);
	c.next_seq = s->next_seq;
	c.seq_reserved = s->seq_reserved;
	c.flags = clean ? IOCA_SPOOL_CURSOR_CLEAN : 0;
	memcpy(c.boot_id, s->boot_id, sizeof(c.boot_id));
	collect_acked(s, &c);
	ioca_spool_live_add_acked(s, c.floor, c.acked, &c.n_acked, IOCA_SPOOL_CURSOR_MAX_ACKED);
	if (ioca_spool_cursor_store(s->dirfd, &c, ioca_spool_sync_enabled(s)) != IOCA_OK) {
		ioca_log_limited(&s->cursor_rl, IOCA_LL_WARNING, "spool: write %s/%s: %s", s->dir,
				 IOCA_SPOOL_CURSOR_NAME, strerror(errno));
		return IOCA_ERROR;
	}
	ioca_log_resolved(&s->cursor_rl, IOCA_LL_INFO, "spool: cursor written again");
	s->floor_stored = c.floor;
	return IOCA_OK;
}

/* ---- degraded mode ---------------------------------------------------- */

void ioca_spool_close_writer(struct ioca_spool *s)
{
	if (s->wfd >= 0) {
		close(s->wfd);
		s->wfd = -1;
	}
	if (s->nsegs)
		s->segs[s->nsegs - 1].sealed = true;
}

void ioca_spool_enter_degraded(struct ioca_spool *s, const char *op, const char *name, int err)
{
	ioca_spool_close_writer(s);
	s->retry_at_mono = 0; /* the next tick schedules the retry on its clock */
	if (s->degraded)
		return;
	s->degraded = true;
	s->degraded_unreported = true;
	snprintf(s->reason, sizeof(s->reason), "%s %s: %s", op, name, strerror(err));
	ioca_log_limited(&s->write_rl, IOCA_LL_ERROR,
			 "spool: %s: %s: holding new records in memory (at most %lld bytes) until "
			 "the disk accepts writes",
			 s->dir, s->reason, (long long)s->cfg.memory_buffer_bytes);
}

int ioca_spool_sync_now(struct ioca_spool *s)
{
	if (!s->dirty || s->wfd < 0)
		return IOCA_OK;
	s->fsyncs++;
	if (fdatasync(s->wfd) != 0) {
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(s->segs[s->nsegs - 1].id, name);
		ioca_spool_enter_degraded(s, "fsync", name, errno);
		s->dirty = false;
		return IOCA_ERROR;
	}
	s->dirty = false;
	s->last_sync_mono = ioca_now_mono_ms();
	return IOCA_OK;
}

/* Seal the active segment (durable unless fsync = never) and start a new one. */
int ioca_spool_roll(struct ioca_spool *s)
{
	if (s->wfd >= 0 && ioca_spool_sync_enabled(s) && ioca_spool_sync_now(s) != IOCA_OK)
		return IOCA_ERROR;
	ioca_spool_close_writer(s);
	uint64_t id = s->next_seg_id;
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(id, name);
	int fd = ioca_spool_segment_create(s->dirfd, id, s->next_seq);
	if (fd < 0) {
		ioca_spool_enter_degraded(s, "create", name, errno);
		return IOCA_ERROR;
	}
	if (ioca_spool_sync_enabled(s) && fsync(s->dirfd) != 0) {
		int e = errno;
		close(fd);
		unlinkat(s->dirfd, name, 0);
		ioca_spool_enter_degraded(s, "fsync", ".", e);
		return IOCA_ERROR;
	}
	struct ioca_spool_seg *g = ioca_spool_seg_add(s, id);
	if (!g) {
		close(fd);
		unlinkat(s->dirfd, name, 0);
		ioca_spool_enter_degraded(s, "create", name, ENOMEM);
		return IOCA_ERROR;
	}
	g->size = IOCA_SPOOL_SEG_HDR_BYTES;
	s->disk_bytes += g->size;
	s->wfd = fd;
	s->dirty = false;
	s->writeback_off = 0;
	return IOCA_OK;
}

int ioca_spool_remove_segment_file(struct ioca_spool *s, uint64_t id)
{
	if (s->rfd >= 0 && s->rseg_id == id) {
		close(s->rfd);
		s->rfd = -1;
	}
	ioca_spool_live_forget_segment(s, id);
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(id, name);
	if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
		return IOCA_ERROR;
	return IOCA_OK;
}
