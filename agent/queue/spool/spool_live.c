/*
 * spool.order = "live_first": a record pushed while older ones still wait
 * to be read (a backlog after an outage) is handed out at once, ahead of
 * them and not paced; the sequential reader (spool.c) drains the backlog
 * behind it at drain_rate and skips what went out this way.
 *
 * Three pieces of state:
 *   - a bounded ring of recent push positions (seq, segment, offset): what
 *     next() may hand out early. When it overflows the oldest positions are
 *     forgotten; those records are read in order like any other;
 *   - window entries above rd_high_seq (spool_window.c): records handed out
 *     early and not yet acked. After a rewind() they are handed out again
 *     from here (still young) or by the reader when it gets there;
 *   - the live acks: seq ranges acked while above rd_high_seq, so the reader
 *     skips (and releases) them when it reaches them; for eviction they are
 *     released at the ack (spool_evict.c may remove them from the file). They go into the
 *     cursor's out-of-order acks (its cap applies: past it such records are
 *     delivered again after a restart, never skipped).
 *
 * Invariants:
 *   - ring positions are in seq order and were written in this run;
 *   - live ack ranges are ascending, disjoint, each above rd_high_seq once
 *     trimmed; no seq in them is in the window;
 *   - nothing is handed out early while the live acks are full: the spool
 *     then behaves as fifo until the reader has caught up with them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_internal.h"
#include "timeutil.h"

#define LIVE_RING_CAP  1024u /* recent push positions remembered */
#define LIVE_RANGE_CAP 1024u /* seq ranges of live acks kept */

struct live_pos {
	uint64_t seq;
	uint64_t seg_id;
	uint64_t off;
	uint32_t len;
	int64_t ms;
};

struct live_range {
	uint64_t lo, hi; /* inclusive */
};

struct ioca_spool_live {
	struct live_pos ring[LIVE_RING_CAP];
	size_t ring_head, ring_n;
	struct live_range done[LIVE_RANGE_CAP];
	size_t done_n;
	int fd;          /* segment read for early hand-outs, -1 if none */
	uint64_t fd_seg; /* its id */
	struct ioca_spool_reader rd;
};

int ioca_spool_live_init(struct ioca_spool *s)
{
	struct ioca_spool_live *l = calloc(1, sizeof(*l));
	if (!l)
		return IOCA_ERROR;
	l->fd = -1;
	ioca_spool_reader_init(&l->rd, -1, 0);
	s->live = l;
	return IOCA_OK;
}

void ioca_spool_live_free(struct ioca_spool *s)
{
	struct ioca_spool_live *l = s->live;
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	ioca_spool_reader_free(&l->rd);
	free(l);
	s->live = NULL;
}

void ioca_spool_live_pushed(struct ioca_spool *s, uint64_t seq, uint64_t seg_id, uint64_t off,
			    uint32_t len, int64_t accepted_ms)
{
	struct ioca_spool_live *l = s->live;
	if (!l)
		return;
	if (l->ring_n == LIVE_RING_CAP) { /* forget the oldest: read in order */
		l->ring_head = (l->ring_head + 1) % LIVE_RING_CAP;
		l->ring_n--;
	}
	l->ring[(l->ring_head + l->ring_n) % LIVE_RING_CAP] = (struct live_pos){
	    .seq = seq, .seg_id = seg_id, .off = off, .len = len, .ms = accepted_ms};
	l->ring_n++;
}

static void ring_pop(struct ioca_spool_live *l)
{
	l->ring_head = (l->ring_head + 1) % LIVE_RING_CAP;
	l->ring_n--;
}

static int64_t wall_now(const struct ioca_spool *s)
{
	return s->cfg.now_wall_ms ? s->cfg.now_wall_ms() : ioca_now_wall_ms();
}

/* Young enough to go out early: neither backlog (paced by the reader) nor
 * past max_age (dropped by the reader). */
static bool young(const struct ioca_spool *s, int64_t accepted_ms, int64_t now_wall)
{
	if (s->cfg.historical_after_s > 0 &&
	    now_wall - accepted_ms > (int64_t)s->cfg.historical_after_s * 1000)
		return false;
	return s->cfg.max_age_s <= 0 || accepted_ms >= now_wall - s->cfg.max_age_s * 1000;
}

/* Read the record of `seq` at seg_id/off; false when it is not there as
 * expected (segment gone, damage): the reader deals with it then. */
static bool read_at(struct ioca_spool *s, uint64_t seq, uint64_t seg_id, uint64_t off,
		    struct ioca_spool_rec_view *v)
{
	struct ioca_spool_live *l = s->live;
	struct ioca_spool_seg *g = ioca_spool_seg_by_id(s, seg_id);
	if (!g)
		return false;
	if (l->fd < 0 || l->fd_seg != seg_id) {
		if (l->fd >= 0)
			close(l->fd);
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(seg_id, name);
		l->fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (l->fd < 0)
			return false;
		l->fd_seg = seg_id;
		ioca_spool_reader_reset(&l->rd, l->fd, g->size);
	}
	l->rd.limit = g->size;
	uint64_t next, skipped = 0;
	if (ioca_spool_reader_read(&l->rd, off, v, &next, &skipped) != IOCA_OK)
		return false;
	return skipped == 0 && v->seq == seq && next - v->total_len == off;
}

/* A window entry handed out early and rewound since: hand it out again. */
static int next_rewound(struct ioca_spool *s, struct ioca_record *out, int64_t now_wall)
{
	size_t i = s->win_n;
	while (i > 0 && ioca_spool_win_at(s, i - 1)->seq > s->rd_high_seq)
		i--;
	for (; i < s->win_n; i++) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, i);
		if (e->state != IOCA_SPOOL_ENT_PENDING || e->seg_id == IOCA_SPOOL_MEM_SEG ||
		    !young(s, e->ms, now_wall))
			continue; /* the reader hands it out again when it gets there */
		struct ioca_spool_rec_view v;
		if (!read_at(s, e->seq, e->seg_id, e->off, &v) ||
		    ioca_spool_hand_out(s, &v, out) != IOCA_OK)
			continue;
		out->historical = false;
		out->ahead = true;
		e->state = IOCA_SPOOL_ENT_HANDED;
		s->in_flight++;
		return IOCA_OK;
	}
	return IOCA_AGAIN;
}

int ioca_spool_live_next(struct ioca_spool *s, struct ioca_record *out)
{
	struct ioca_spool_live *l = s->live;
	if (!l)
		return IOCA_AGAIN;
	int64_t now_wall = wall_now(s);
	if (s->win_n && ioca_spool_win_at(s, s->win_n - 1)->seq > s->rd_high_seq &&
	    next_rewound(s, out, now_wall) == IOCA_OK)
		return IOCA_OK;
	if (l->done_n == LIVE_RANGE_CAP)
		return IOCA_AGAIN; /* fifo until the reader catches up */
	while (l->ring_n) {
		struct live_pos *p = &l->ring[l->ring_head];
		if (p->seq <= s->rd_high_seq || !young(s, p->ms, now_wall)) {
			ring_pop(l); /* passed by the reader, or to be paced or dropped */
			continue;
		}
		if (p->seq == s->rd_high_seq + 1) {
			ring_pop(l); /* the reader is there: in order */
			return IOCA_AGAIN;
		}
		struct ioca_spool_rec_view v;
		if (!read_at(s, p->seq, p->seg_id, p->off, &v)) {
			ring_pop(l);
			continue;
		}
		struct ioca_spool_ent ne = {
		    .seq = p->seq,
		    .seg_id = p->seg_id,
		    .off = p->off,
		    .len = p->len,
		    .state = IOCA_SPOOL_ENT_HANDED,
		    .holder = ioca_spool_holder(s, (const char *)v.instance, v.instance_len),
		    .ms = p->ms};
		if (ioca_spool_hand_out(s, &v, out) != IOCA_OK || !ioca_spool_win_insert(s, &ne))
			return IOCA_AGAIN; /* out of memory: try again later */
		out->historical = false;
		out->ahead = true;
		s->in_flight++;
		ring_pop(l);
		return IOCA_OK;
	}
	return IOCA_AGAIN;
}

/* Add seq to the ranges; false when that needs a range more than there is
 * room for. */
static bool done_add(struct ioca_spool_live *l, uint64_t seq)
{
	size_t i = l->done_n;
	while (i > 0 && l->done[i - 1].lo > seq)
		i--;
	/* done[i - 1].lo <= seq < done[i].lo */
	bool join_prev = i > 0 && l->done[i - 1].hi + 1 >= seq;
	bool join_next = i < l->done_n && seq + 1 == l->done[i].lo;
	if (join_prev && join_next) {
		l->done[i - 1].hi = l->done[i].hi;
		memmove(&l->done[i], &l->done[i + 1], (l->done_n - i - 1) * sizeof(*l->done));
		l->done_n--;
		return true;
	}
	if (join_prev) {
		if (l->done[i - 1].hi < seq)
			l->done[i - 1].hi = seq;
		return true;
	}
	if (join_next) {
		l->done[i].lo = seq;
		return true;
	}
	if (l->done_n == LIVE_RANGE_CAP)
		return false;
	memmove(&l->done[i + 1], &l->done[i], (l->done_n - i) * sizeof(*l->done));
	l->done[i] = (struct live_range){.lo = seq, .hi = seq};
	l->done_n++;
	return true;
}

static bool is_seq(struct ioca_spool *s, struct ioca_spool_ent *e, void *arg)
{
	(void)s;
	return e->seq == *(const uint64_t *)arg;
}

bool ioca_spool_live_acked(struct ioca_spool *s, uint64_t seq)
{
	if (!s->live || !done_add(s->live, seq))
		return false;
	ioca_spool_win_filter(s, is_seq, &seq);
	return true;
}

bool ioca_spool_live_passed(struct ioca_spool *s, uint64_t seq)
{
	struct ioca_spool_live *l = s->live;
	if (!l)
		return false;
	/* Ranges below seq were in segments dropped or skipped meanwhile. */
	size_t drop = 0;
	while (drop < l->done_n && l->done[drop].hi < seq)
		drop++;
	if (drop) {
		memmove(&l->done[0], &l->done[drop], (l->done_n - drop) * sizeof(*l->done));
		l->done_n -= drop;
	}
	if (l->done_n == 0 || l->done[0].lo > seq)
		return false;
	/* The reader moves up in seq order: seq is where done[0] starts. */
	if (l->done[0].hi == seq) {
		memmove(&l->done[0], &l->done[1], (l->done_n - 1) * sizeof(*l->done));
		l->done_n--;
	} else {
		l->done[0].lo = seq + 1;
	}
	return true;
}

void ioca_spool_live_add_acked(const struct ioca_spool *s, uint64_t floor, uint64_t *acked,
			       uint32_t *n, uint32_t cap)
{
	const struct ioca_spool_live *l = s->live;
	if (!l || l->done_n == 0)
		return;
	uint64_t *had = malloc((size_t)*n * sizeof(*had) + 1);
	if (!had)
		return; /* fewer acks kept: delivered again, never skipped */
	memcpy(had, acked, (size_t)*n * sizeof(*had));
	uint32_t nh = *n, i = 0, out = 0;
	size_t r = 0;
	uint64_t q = l->done[0].lo;
	while (out < cap) {
		while (r < l->done_n && (q > l->done[r].hi || l->done[r].hi <= floor)) {
			r++;
			if (r < l->done_n)
				q = l->done[r].lo;
		}
		if (r < l->done_n && q <= floor)
			q = floor + 1;
		uint64_t a = i < nh ? had[i] : UINT64_MAX;
		uint64_t b = r < l->done_n ? q : UINT64_MAX;
		if (a == UINT64_MAX && b == UINT64_MAX)
			break;
		if (a <= b) {
			acked[out++] = a;
			i++;
			if (a == b)
				q++;
		} else {
			acked[out++] = b;
			q++;
		}
	}
	*n = out;
	free(had);
}

bool ioca_spool_live_done(const struct ioca_spool *s, uint64_t seq)
{
	const struct ioca_spool_live *l = s->live;
	if (!l)
		return false;
	for (size_t i = 0; i < l->done_n && l->done[i].lo <= seq; i++)
		if (seq <= l->done[i].hi)
			return true;
	return false;
}

void ioca_spool_live_forget_segment(struct ioca_spool *s, uint64_t seg_id)
{
	struct ioca_spool_live *l = s->live;
	if (!l)
		return;
	if (l->fd >= 0 && l->fd_seg == seg_id) {
		close(l->fd); /* the file before the rewrite, or removed */
		l->fd = -1;
	}
	for (size_t i = 0; i < l->ring_n; i++) {
		struct live_pos *p = &l->ring[(l->ring_head + i) % LIVE_RING_CAP];
		if (p->seg_id == seg_id)
			p->seg_id = UINT64_MAX; /* offsets moved: read in order instead */
	}
}

bool ioca_spool_live_any_done(const struct ioca_spool *s)
{
	return s->live && s->live->done_n > 0;
}
