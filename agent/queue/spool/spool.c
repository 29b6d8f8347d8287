/*
 * The disk spool's queue ops (queue.h): push appends to the active segment,
 * next reads segments in order from disk (so memory does not grow with the
 * backlog), ack releases records in any order and deletes fully delivered
 * segments, tick does the fsync interval, the age bound, cursor persistence,
 * retrying a failing disk and the reports to the core.
 *
 * Key invariants:
 *   - a record leaves only through ack() or a counted drop;
 *   - with fsync = always nothing is handed out before it is durable;
 *   - while the disk refuses writes, new records go to the bounded memory
 *     fallback (memqueue.c) and are moved to disk, in order, once it works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spool_internal.h"
#include "timeutil.h"

#define SEQ_RESERVE_BLOCK       65536u /* seqs reserved ahead in the cursor file */
#define CURSOR_PERSIST_MS       1000   /* delivery floor written at most this often */
#define DISK_RETRY_MS           1000   /* retrying a disk that refused a write */
#define MIN_SEGMENT_BYTES       (64 * 1024)
#define SEGMENT_PER_MAX_BYTES   4 /* segments are at most max_bytes / this */
#define RATELIMIT_MS            60000
#define WRITEBACK_CHUNK_BYTES   (512 * 1024) /* start writeback early in this step */
#define DROP_REPORT_INTERVAL_MS 1000         /* drops are reported at most this often */
#define EVICT_SLACK_PER_SEGMENT 1 /* eviction frees segment_bytes / this below max_bytes */

static struct ioca_spool *sp(struct ioca_queue *q)
{
	return (struct ioca_spool *)q;
}

/* ---- dropping --------------------------------------------------------- */

static void count_drop(struct ioca_spool *s, uint64_t records, uint64_t bytes)
{
	s->dropped_records += records;
	s->dropped_bytes += bytes;
}

static void reader_close(struct ioca_spool *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
}

struct drop_ctx {
	uint64_t seg_id;
	uint64_t in_window, in_window_bytes;
};

/* Window entries of a dropped segment: handed-out and acked ones stay (an
 * ack may still come); ones waiting to be handed out again go. */
static bool drop_pending_of_seg(struct ioca_spool *s, struct ioca_spool_ent *e, void *arg)
{
	(void)s;
	struct drop_ctx *d = arg;
	if (e->seg_id != d->seg_id)
		return false;
	if (e->state == IOCA_SPOOL_ENT_PENDING)
		return true;
	d->in_window++;
	d->in_window_bytes += e->len;
	return false;
}

/* Drop the oldest segment and what it still holds (counted). */
static void drop_front_segment(struct ioca_spool *s, const char *why)
{
	struct ioca_spool_seg *g = &s->segs[0];
	struct drop_ctx d = {.seg_id = g->id};
	struct ioca_spool_released early;
	ioca_spool_forget_front(s, &early);
	ioca_spool_win_filter(s, drop_pending_of_seg, &d);
	uint64_t left = g->records - g->done;
	uint64_t left_bytes = g->size - IOCA_SPOOL_SEG_HDR_BYTES - g->bytes_done;
	s->held_records -= left;
	/* Delivered early (the live acks): released, not dropped. */
	left = left > early.records ? left - early.records : 0;
	left_bytes = left_bytes > early.bytes ? left_bytes - early.bytes : 0;
	uint64_t dropped = left > d.in_window ? left - d.in_window : 0;
	uint64_t dropped_bytes =
	    left_bytes > d.in_window_bytes ? left_bytes - d.in_window_bytes : 0;
	count_drop(s, dropped, dropped_bytes);
	s->disk_bytes -= g->size;

	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(g->id, name);
	ioca_log_limited(&s->write_rl, IOCA_LL_WARNING,
			 "spool: %s: dropping %s/%s (%llu undelivered records)", why, s->dir, name,
			 (unsigned long long)dropped);
	if (ioca_spool_remove_segment_file(s, g->id) != IOCA_OK)
		ioca_warn("spool: remove %s/%s: %s", s->dir, name, strerror(errno));
	if (s->rseg == 0) {
		reader_close(s);
		s->roff = IOCA_SPOOL_SEG_HDR_BYTES;
	} else {
		s->rseg--;
	}
	bool was_active = s->nsegs == 1 && s->wfd >= 0;
	memmove(&s->segs[0], &s->segs[1], (s->nsegs - 1) * sizeof(*s->segs));
	s->nsegs--;
	if (was_active)
		ioca_spool_close_writer(s);
}

static void enforce_size_bound(struct ioca_spool *s)
{
	if (s->disk_bytes > (uint64_t)s->cfg.max_bytes)
		ioca_spool_evict(s, (uint64_t)s->cfg.max_bytes -
					(uint64_t)s->cfg.segment_bytes / EVICT_SLACK_PER_SEGMENT);
	while (s->disk_bytes > (uint64_t)s->cfg.max_bytes && s->nsegs > 1)
		drop_front_segment(s, "over spool.max_bytes");
}

static void enforce_age_bound(struct ioca_spool *s)
{
	if (s->cfg.max_age_s <= 0)
		return;
	int64_t cutoff = ioca_now_wall_ms() - s->cfg.max_age_s * 1000;
	while (s->nsegs > 1 && s->segs[0].sealed && s->segs[0].records > s->segs[0].done &&
	       s->segs[0].last_ms < cutoff)
		drop_front_segment(s, "older than spool.max_age");
}

/* Delete segments the reader is past and no window entry refers to. */
static void delete_delivered(struct ioca_spool *s)
{
	while (s->nsegs > 1 && s->rseg > 0 && s->segs[0].sealed) {
		struct ioca_spool_seg *g = &s->segs[0];
		if (s->win_n && ioca_spool_win_at(s, 0)->seg_id <= g->id)
			return;
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(g->id, name);
		if (ioca_spool_remove_segment_file(s, g->id) != IOCA_OK) {
			ioca_log_limited(&s->write_rl, IOCA_LL_WARNING, "spool: remove %s/%s: %s",
					 s->dir, name, strerror(errno));
			return;
		}
		s->held_records -= g->records - g->done;
		s->disk_bytes -= g->size;
		memmove(&s->segs[0], &s->segs[1], (s->nsegs - 1) * sizeof(*s->segs));
		s->nsegs--;
		s->rseg--;
	}
}

/* ---- push ------------------------------------------------------------- */

static uint64_t sp_next_seq(struct ioca_queue *q)
{
	return sp(q)->next_seq;
}

static uint32_t record_holder(struct ioca_spool *s, const struct ioca_record *rec)
{
	return ioca_spool_holder(s, rec->instance, rec->instance ? strlen(rec->instance) : 0);
}

/* Append one record to the active segment. IOCA_OK, or IOCA_ERROR after
 * entering degraded mode; seg_id and off say where it went. */
static int write_record(struct ioca_spool *s, const struct ioca_record *rec, size_t size,
			uint64_t *seg_id, uint64_t *off)
{
	struct ioca_spool_seg *g = ioca_spool_active_seg(s);
	if (!g || (g->size + size > (uint64_t)s->cfg.segment_bytes &&
		   g->size > IOCA_SPOOL_SEG_HDR_BYTES)) {
		if (ioca_spool_roll(s) != IOCA_OK)
			return IOCA_ERROR;
		g = ioca_spool_active_seg(s);
	}
	uint8_t hdr[IOCA_SPOOL_REC_HDR_MAX_BYTES];
	struct iovec iov[IOCA_SPOOL_REC_IOV];
	int n = ioca_spool_record_iov(rec, hdr, iov);
	if (ioca_spool_write_all(s->wfd, iov, n) != IOCA_OK) {
		int e = errno;
		/* Leave the segment ending at its last complete record. */
		if (ftruncate(s->wfd, (off_t)g->size) != 0)
			ioca_debug("spool: truncate after failed write: %s", strerror(errno));
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(g->id, name);
		ioca_spool_enter_degraded(s, "write", name, e);
		return IOCA_ERROR;
	}
	*seg_id = g->id;
	*off = g->size;
	g->last_ms = rec->accepted_ms;
	g->records++;
	g->size += size;
	ioca_spool_held_add(s, record_holder(s, rec), size);
	s->disk_bytes += size;
	s->held_records++;
	s->dirty = true;
	return IOCA_OK;
}

static int push_memory(struct ioca_spool *s, const struct ioca_record *rec)
{
	if (!s->mem) {
		s->mem = ioca_memqueue_new(rec->seq, (uint64_t)s->cfg.memory_buffer_bytes);
		if (!s->mem) {
			count_drop(s, 1, rec->payload_len);
			return IOCA_ERROR;
		}
	}
	return ioca_queue_push(s->mem, rec);
}

static void reserve_seqs(struct ioca_spool *s)
{
	if (s->next_seq + SEQ_RESERVE_BLOCK / 2 < s->seq_reserved)
		return;
	s->seq_reserved = s->next_seq + SEQ_RESERVE_BLOCK;
	ioca_spool_store_cursor(s, false);
}

static int sp_push(struct ioca_queue *q, const struct ioca_record *rec)
{
	struct ioca_spool *s = sp(q);
	if (rec->seq < s->next_seq) {
		ioca_error("spool: push of seq %llu, expected >= %llu: refused",
			   (unsigned long long)rec->seq, (unsigned long long)s->next_seq);
		count_drop(s, 1, rec->payload_len);
		return IOCA_ERROR;
	}
	size_t size = ioca_spool_record_size(rec);
	if (size == 0 || size > (uint64_t)s->cfg.max_bytes / SEGMENT_PER_MAX_BYTES) {
		ioca_log_limited(
		    &s->write_rl, IOCA_LL_WARNING,
		    "spool: record seq %llu (%zu bytes, topic %s) cannot be stored: dropped",
		    (unsigned long long)rec->seq, rec->payload_len,
		    rec->topic ? rec->topic : "(none)");
		count_drop(s, 1, rec->payload_len);
		ioca_spool_drop_note(s, record_holder(s, rec), 1);
		s->next_seq = rec->seq + 1;
		return IOCA_ERROR;
	}
	s->next_seq = rec->seq + 1;
	reserve_seqs(s);
	s->pushed++;
	if (!s->degraded) {
		uint64_t seg_id, off;
		if (write_record(s, rec, size, &seg_id, &off) == IOCA_OK) {
			ioca_spool_live_pushed(s, rec->seq, seg_id, off, (uint32_t)size,
					       rec->accepted_ms);
			enforce_size_bound(s);
			return IOCA_OK;
		}
	}
	return push_memory(s, rec);
}

/* ---- next ------------------------------------------------------------- */

static int reader_open(struct ioca_spool *s, struct ioca_spool_seg *g)
{
	if (s->rfd >= 0 && s->rseg_id == g->id)
		return IOCA_OK;
	reader_close(s);
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(g->id, name);
	s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (s->rfd < 0) {
		ioca_log_limited(&s->write_rl, IOCA_LL_ERROR, "spool: open %s/%s: %s", s->dir, name,
				 strerror(errno));
		return IOCA_ERROR;
	}
	s->rseg_id = g->id;
	ioca_spool_reader_reset(&s->rd, s->rfd, g->size);
	return IOCA_OK;
}

/* The record under the reader (not consumed): IOCA_OK with *v, its segment
 * and offset; IOCA_AGAIN when the disk has nothing more. Damage on the way
 * is skipped and reported. */
static int disk_peek(struct ioca_spool *s, struct ioca_spool_rec_view *v, uint64_t *seg_id,
		     uint64_t *off, uint64_t *next)
{
	while (s->rseg < s->nsegs) {
		struct ioca_spool_seg *g = &s->segs[s->rseg];
		if (s->roff < IOCA_SPOOL_SEG_HDR_BYTES)
			s->roff = IOCA_SPOOL_SEG_HDR_BYTES;
		if (s->roff >= g->size) {
			if (!g->sealed || s->rseg + 1 >= s->nsegs)
				return IOCA_AGAIN;
			reader_close(s);
			s->rseg++;
			s->roff = IOCA_SPOOL_SEG_HDR_BYTES;
			delete_delivered(s);
			continue;
		}
		char name[IOCA_SPOOL_SEG_NAME_LEN];
		ioca_spool_segment_name(g->id, name);
		if (reader_open(s, g) != IOCA_OK) {
			if (!g->sealed)
				return IOCA_AGAIN;
			ioca_spool_report_corrupt(s, name, g->size - s->roff);
			s->corrupt_records++;
			s->roff = g->size;
			continue;
		}
		s->rd.limit = g->size;
		uint64_t skipped = 0;
		int rc = ioca_spool_reader_read(&s->rd, s->roff, v, next, &skipped);
		if (skipped && !g->damage_reported) {
			ioca_spool_report_corrupt(s, name, skipped);
			s->corrupt_records++;
		}
		if (rc == IOCA_OK) {
			*off = *next - v->total_len;
			s->roff = *off;
			*seg_id = g->id;
			return IOCA_OK;
		}
		if (rc == IOCA_ERROR) {
			ioca_error("spool: read %s/%s: %s", s->dir, name,
				   strerror(s->rd.read_errno));
			ioca_spool_report_corrupt(s, name, g->size - s->roff);
			s->corrupt_records++;
		}
		s->roff = g->size;
	}
	return IOCA_AGAIN;
}

/* Release a record of segment seg_id; holder IOCA_SPOOL_NO_HOLDER when its
 * holder released it before (acked after an early hand-out). */
#define IOCA_SPOOL_NO_HOLDER UINT32_MAX
static void release_disk(struct ioca_spool *s, uint64_t seg_id, uint32_t len, uint32_t holder)
{
	struct ioca_spool_seg *g = ioca_spool_seg_by_id(s, seg_id);
	if (!g)
		return; /* dropped meanwhile: already uncounted */
	if (holder != IOCA_SPOOL_NO_HOLDER)
		ioca_spool_held_release(s, holder, len);
	g->done++;
	g->bytes_done += len;
	s->held_records--;
}

int ioca_spool_hand_out(struct ioca_spool *s, const struct ioca_spool_rec_view *v,
			struct ioca_record *out)
{
	size_t need = v->topic_len + v->ctype_len + v->instance_len + 3;
	if (need > s->strcap) {
		char *nb = realloc(s->strbuf, need);
		if (!nb)
			return IOCA_ERROR;
		s->strbuf = nb;
		s->strcap = need;
	}
	memcpy(s->strbuf, v->topic, v->topic_len);
	s->strbuf[v->topic_len] = '\0';
	char *ct = s->strbuf + v->topic_len + 1;
	memcpy(ct, v->ctype, v->ctype_len);
	ct[v->ctype_len] = '\0';
	char *inst = ct + v->ctype_len + 1;
	if (v->instance_len)
		memcpy(inst, v->instance, v->instance_len);
	inst[v->instance_len] = '\0';
	*out = (struct ioca_record){
	    .seq = v->seq,
	    .kind = v->kind,
	    .qos = v->qos,
	    .retain = v->retain,
	    .accepted_ms = v->accepted_ms,
	    .instance = v->instance_len ? inst : NULL,
	    .topic = s->strbuf,
	    .content_type = v->ctype_len ? ct : NULL,
	    .payload = v->payload,
	    .payload_len = v->payload_len,
	};
	return IOCA_OK;
}

static int64_t mono_now(const struct ioca_spool *s)
{
	return s->cfg.now_mono_ms ? s->cfg.now_mono_ms() : ioca_now_mono_ms();
}

static int64_t wall_now(const struct ioca_spool *s)
{
	return s->cfg.now_wall_ms ? s->cfg.now_wall_ms() : ioca_now_wall_ms();
}

/* Backlog: accepted more than historical_after before it is handed out. */
static bool is_backlog(const struct ioca_spool *s, int64_t accepted_ms, int64_t now_wall)
{
	return s->cfg.historical_after_s > 0 &&
	       now_wall - accepted_ms > (int64_t)s->cfg.historical_after_s * 1000;
}

/* Whether a backlog record may go now (spending a token); false holds it
 * back and notes when to try again. */
static bool drain_allows(struct ioca_spool *s)
{
	if (s->cfg.drain_rate <= 0)
		return true;
	int64_t now = mono_now(s);
	ioca_token_bucket_refill(&s->drain, now);
	if (!ioca_token_bucket_ready(&s->drain)) {
		int64_t wait = (int64_t)ioca_token_bucket_wait_ms(&s->drain) + 1;
		s->paced_until_mono = now + wait;
		return false;
	}
	ioca_token_bucket_take(&s->drain);
	return true;
}

static bool too_old(const struct ioca_spool *s, int64_t accepted_ms, int64_t now_wall)
{
	return s->cfg.max_age_s > 0 && accepted_ms < now_wall - s->cfg.max_age_s * 1000;
}

static void pop_released(struct ioca_spool *s);

static int next_from_disk(struct ioca_spool *s, struct ioca_record *out)
{
	int64_t now_wall = wall_now(s);
	for (;;) {
		struct ioca_spool_rec_view v;
		uint64_t seg_id, off, next;
		if (disk_peek(s, &v, &seg_id, &off, &next) != IOCA_OK)
			return IOCA_AGAIN;
		struct ioca_spool_ent *e = ioca_spool_win_find(s, v.seq);
		if (e) {
			bool early = v.seq > s->rd_high_seq; /* handed out by spool_live.c */
			if (early)
				s->rd_high_seq = v.seq;
			if (e->state != IOCA_SPOOL_ENT_PENDING) {
				s->roff = next;
				if (early)
					pop_released(s);
				continue;
			}
			bool backlog = is_backlog(s, v.accepted_ms, now_wall);
			if (backlog && !drain_allows(s))
				return IOCA_AGAIN;
			if (ioca_spool_hand_out(s, &v, out) != IOCA_OK)
				return IOCA_AGAIN;
			out->historical = backlog;
			e->state = IOCA_SPOOL_ENT_HANDED;
			s->in_flight++;
			s->roff = next;
			return IOCA_OK;
		}
		if (v.seq <= s->rd_high_seq) {
			s->roff = next; /* released before */
			continue;
		}
		uint32_t holder = ioca_spool_holder(s, (const char *)v.instance, v.instance_len);
		if (ioca_spool_live_passed(s, v.seq)) {
			/* acked early: its holder released it then */
			release_disk(s, seg_id, (uint32_t)v.total_len, IOCA_SPOOL_NO_HOLDER);
			s->rd_high_seq = v.seq;
			s->roff = next;
			continue;
		}
		if (ioca_spool_seq_listed(s->pre_acked, s->n_pre_acked, v.seq)) {
			s->rd_high_seq = v.seq; /* acked before the last stop */
			s->roff = next;
			continue;
		}
		if (too_old(s, v.accepted_ms, now_wall)) {
			count_drop(s, 1, v.total_len);
			ioca_spool_drop_note(s, holder, 1);
			release_disk(s, seg_id, (uint32_t)v.total_len, holder);
			s->rd_high_seq = v.seq;
			s->roff = next;
			continue;
		}
		bool backlog = is_backlog(s, v.accepted_ms, now_wall);
		if (backlog && !drain_allows(s))
			return IOCA_AGAIN;
		struct ioca_spool_ent ne = {.seq = v.seq,
					    .seg_id = seg_id,
					    .off = off,
					    .len = (uint32_t)v.total_len,
					    .state = IOCA_SPOOL_ENT_HANDED,
					    .holder = holder,
					    .ms = v.accepted_ms};
		if (ioca_spool_hand_out(s, &v, out) != IOCA_OK || !ioca_spool_win_insert(s, &ne))
			return IOCA_AGAIN; /* out of memory: try again later */
		out->historical = backlog;
		s->in_flight++;
		s->rd_high_seq = v.seq;
		s->roff = next;
		return IOCA_OK;
	}
}

static bool drop_mem_pending_below(struct ioca_spool *s, struct ioca_spool_ent *e, void *arg)
{
	(void)s;
	uint64_t seq = *(const uint64_t *)arg;
	return e->seg_id == IOCA_SPOOL_MEM_SEG && e->state == IOCA_SPOOL_ENT_PENDING &&
	       e->seq < seq;
}

/* Records of the memory fallback are marked but not paced: they exist only
 * while the disk refuses writes, and the fallback is small. */
static int next_from_memory(struct ioca_spool *s, struct ioca_record *out)
{
	if (!s->mem)
		return IOCA_AGAIN;
	for (;;) {
		if (ioca_queue_next(s->mem, out) != IOCA_OK)
			return IOCA_AGAIN;
		out->historical = is_backlog(s, out->accepted_ms, wall_now(s));
		/* Entries the fallback skipped were dropped by its bound. */
		ioca_spool_win_filter(s, drop_mem_pending_below, &out->seq);
		struct ioca_spool_ent *e = ioca_spool_win_find(s, out->seq);
		if (e) {
			if (e->state == IOCA_SPOOL_ENT_PENDING) {
				e->state = IOCA_SPOOL_ENT_HANDED;
				s->in_flight++;
				return IOCA_OK;
			}
			if (e->state == IOCA_SPOOL_ENT_ACKED)
				ioca_queue_ack(s->mem, out->seq);
			continue; /* still in flight from before */
		}
		if (out->seq <= s->rd_high_seq) {
			ioca_queue_ack(s->mem, out->seq); /* acked while not handed out */
			continue;
		}
		struct ioca_spool_ent ne = {.seq = out->seq,
					    .seg_id = IOCA_SPOOL_MEM_SEG,
					    .len = (uint32_t)out->payload_len,
					    .state = IOCA_SPOOL_ENT_HANDED,
					    .ms = out->accepted_ms};
		if (!ioca_spool_win_insert(s, &ne)) {
			ioca_queue_rewind(s->mem);
			return IOCA_AGAIN;
		}
		s->in_flight++;
		s->rd_high_seq = out->seq;
		return IOCA_OK;
	}
}

static int sp_next(struct ioca_queue *q, struct ioca_record *out)
{
	struct ioca_spool *s = sp(q);
	/* Group commit: what was pushed since the last sync becomes durable
	 * before any of it is published. */
	if (s->cfg.fsync == IOCA_FSYNC_ALWAYS && s->dirty)
		ioca_spool_sync_now(s);
	s->paced_until_mono = 0;
	if (ioca_spool_live_next(s, out) == IOCA_OK)
		return IOCA_OK;
	if (next_from_disk(s, out) == IOCA_OK)
		return IOCA_OK;
	if (s->paced_until_mono)
		return IOCA_AGAIN; /* the memory fallback holds newer records: keep order */
	return next_from_memory(s, out);
}

static int sp_wait_ms(struct ioca_queue *q, int64_t now_mono_ms)
{
	struct ioca_spool *s = sp(q);
	if (!s->paced_until_mono)
		return -1;
	int64_t d = s->paced_until_mono - now_mono_ms;
	return d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (int)d;
}

/* ---- ack and rewind --------------------------------------------------- */

static void pop_released(struct ioca_spool *s)
{
	/* Entries above rd_high_seq (handed out early) wait for the reader. */
	while (s->win_n && ioca_spool_win_at(s, 0)->state == IOCA_SPOOL_ENT_ACKED &&
	       ioca_spool_win_at(s, 0)->seq <= s->rd_high_seq) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, 0);
		if (e->seg_id != IOCA_SPOOL_MEM_SEG)
			release_disk(s, e->seg_id, e->len, e->holder);
		s->win_head++;
		s->win_n--;
	}
	if (s->win_n == 0)
		s->win_head = 0;
	delete_delivered(s);
}

static void sp_ack(struct ioca_queue *q, uint64_t seq)
{
	struct ioca_spool *s = sp(q);
	struct ioca_spool_ent *e = ioca_spool_win_find(s, seq);
	if (!e || e->state == IOCA_SPOOL_ENT_ACKED)
		return;
	if (e->state == IOCA_SPOOL_ENT_HANDED)
		s->in_flight--;
	if (e->seg_id == IOCA_SPOOL_MEM_SEG && s->mem)
		ioca_queue_ack(s->mem, seq);
	s->acked++;
	uint64_t seg_id = e->seg_id;
	uint32_t holder = e->holder, len = e->len;
	if (seq > s->rd_high_seq && ioca_spool_live_acked(s, seq)) {
		/* Delivered: no longer held for eviction (spool_evict.c). */
		if (seg_id != IOCA_SPOOL_MEM_SEG)
			ioca_spool_held_release(s, holder, len);
		return;
	}
	e->state = IOCA_SPOOL_ENT_ACKED;
	pop_released(s);
}

static bool drop_lost_pending(struct ioca_spool *s, struct ioca_spool_ent *e, void *arg)
{
	(void)arg;
	if (e->seg_id == IOCA_SPOOL_MEM_SEG || e->state != IOCA_SPOOL_ENT_PENDING ||
	    ioca_spool_seg_by_id(s, e->seg_id))
		return false;
	count_drop(s, 1, e->len);
	ioca_spool_drop_note(s, e->holder, 1);
	return true;
}

static void sp_rewind(struct ioca_queue *q)
{
	struct ioca_spool *s = sp(q);
	for (size_t i = 0; i < s->win_n; i++) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, i);
		if (e->state == IOCA_SPOOL_ENT_HANDED)
			e->state = IOCA_SPOOL_ENT_PENDING;
	}
	s->in_flight = 0;
	/* Handed out from a segment dropped meanwhile: gone for good. */
	ioca_spool_win_filter(s, drop_lost_pending, NULL);
	for (size_t i = 0; i < s->win_n; i++) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, i);
		if (e->state != IOCA_SPOOL_ENT_PENDING || e->seg_id == IOCA_SPOOL_MEM_SEG)
			continue;
		if (e->seq > s->rd_high_seq)
			break; /* handed out early: the reader is not there yet */
		for (size_t k = 0; k < s->nsegs; k++) {
			if (s->segs[k].id == e->seg_id) {
				s->rseg = k;
				s->roff = e->off;
				break;
			}
		}
		break;
	}
	if (s->mem)
		ioca_queue_rewind(s->mem);
	pop_released(s);
}

/* ---- recovery from a failing disk ------------------------------------- */

/* Move what the memory fallback holds to disk, oldest first. */
static void migrate_memory(struct ioca_spool *s)
{
	ioca_queue_rewind(s->mem);
	struct ioca_record r;
	while (!s->degraded && ioca_queue_next(s->mem, &r) == IOCA_OK) {
		size_t size = ioca_spool_record_size(&r);
		uint64_t seg_id, off;
		if (write_record(s, &r, size, &seg_id, &off) != IOCA_OK)
			break;
		struct ioca_spool_ent *e = ioca_spool_win_find(s, r.seq);
		if (e) {
			e->seg_id = seg_id;
			e->off = off;
			e->len = (uint32_t)size;
			e->holder = record_holder(s, &r);
		}
		ioca_queue_ack(s->mem, r.seq);
	}
	ioca_queue_rewind(s->mem);
	/* The fallback no longer holds anything it has to hand out again. */
	struct ioca_queue_stats ms;
	ioca_queue_stats(s->mem, &ms);
	if (ms.records == 0) {
		count_drop(s, ms.dropped_records, ms.dropped_bytes);
		ioca_queue_close(s->mem);
		s->mem = NULL;
	}
	enforce_size_bound(s);
}

static void try_recover(struct ioca_spool *s, int64_t now)
{
	if (s->retry_at_mono == 0)
		s->retry_at_mono = now + DISK_RETRY_MS;
	if (now < s->retry_at_mono)
		return;
	s->degraded = false; /* tentatively: any failure below sets it again */
	if (ioca_spool_roll(s) == IOCA_OK && s->mem)
		migrate_memory(s);
	if (s->degraded) {
		s->degraded_unreported = false; /* it never stopped */
		s->retry_at_mono = now + DISK_RETRY_MS;
		return;
	}
	ioca_log_resolved(&s->write_rl, IOCA_LL_INFO, "spool: %s: writing to disk again (was: %s)",
			  s->dir, s->reason);
	s->reason[0] = '\0';
	s->degraded_unreported = true;
	ioca_spool_store_cursor(s, false);
}

/* ---- tick, flush, stats, close ---------------------------------------- */

static void deliver_reports(struct ioca_spool *s, int64_t now)
{
	struct ioca_spool_report reps[IOCA_SPOOL_MAX_PENDING_REPORTS];
	size_t n = s->nreports;
	memcpy(reps, s->reports, n * sizeof(*reps));
	s->nreports = 0;
	bool deg_change = s->degraded_unreported;
	s->degraded_unreported = false;
	char reason[sizeof(s->reason)];
	memcpy(reason, s->reason, sizeof(reason));
	bool deg = s->degraded;

	uint64_t total_rec = s->dropped_records, total_bytes = s->dropped_bytes;
	if (s->mem) {
		struct ioca_queue_stats ms;
		ioca_queue_stats(s->mem, &ms);
		total_rec += ms.dropped_records;
		total_bytes += ms.dropped_bytes;
	}
	/* Sums over at least DROP_REPORT_INTERVAL_MS: a sustained overflow gives
	 * one report a second, not one per loop turn. */
	uint64_t drec = 0, dbytes = 0;
	struct ioca_spool_instance_drops *by = NULL;
	size_t n_by = 0;
	if (total_rec != s->reported_drop_records &&
	    (s->drop_report_at_mono == 0 ||
	     now - s->drop_report_at_mono >= DROP_REPORT_INTERVAL_MS)) {
		drec = total_rec - s->reported_drop_records;
		dbytes = total_bytes - s->reported_drop_bytes;
		s->reported_drop_records = total_rec;
		s->reported_drop_bytes = total_bytes;
		s->drop_report_at_mono = now;
		n_by = ioca_spool_take_drop_table(s, &by);
	}

	/* Callbacks last: they may push. */
	for (size_t i = 0; i < n; i++) {
		struct ioca_spool_damage d = {.file = reps[i].file,
					      .bytes_skipped = reps[i].bytes,
					      .lost_records = reps[i].lost_records,
					      .lost_first_seq = reps[i].lost_first_seq,
					      .lost_last_seq = reps[i].lost_last_seq};
		if (s->cb.corrupt)
			s->cb.corrupt(s->cb.ctx, &d);
		free(reps[i].file);
	}
	if (drec && s->cb.dropped)
		s->cb.dropped(s->cb.ctx, drec, dbytes, by, n_by);
	free(by);
	if (deg_change && s->cb.degraded)
		s->cb.degraded(s->cb.ctx, deg, deg ? reason : "");
}

/* With fsync = interval, have the kernel start writing what accumulates
 * (without waiting for it), so the fdatasync at the interval has little
 * left to do and the loop is not stalled by it. */
static void start_writeback(struct ioca_spool *s)
{
	struct ioca_spool_seg *g = ioca_spool_active_seg(s);
	if (!g || g->size < s->writeback_off + WRITEBACK_CHUNK_BYTES)
		return;
	if (sync_file_range(s->wfd, (off_t)s->writeback_off, (off_t)(g->size - s->writeback_off),
			    SYNC_FILE_RANGE_WRITE) == 0)
		s->writeback_off = g->size;
}

static void sp_tick(struct ioca_queue *q, int64_t now)
{
	struct ioca_spool *s = sp(q);
	if (s->dirty && s->cfg.fsync == IOCA_FSYNC_INTERVAL)
		start_writeback(s);
	if (s->dirty) {
		if (s->cfg.fsync == IOCA_FSYNC_ALWAYS ||
		    (s->cfg.fsync == IOCA_FSYNC_INTERVAL &&
		     now - s->last_sync_mono >= s->cfg.fsync_interval_ms))
			ioca_spool_sync_now(s);
	}
	if (s->degraded)
		try_recover(s, now);
	enforce_age_bound(s);
	if (ioca_spool_delivery_floor(s) != s->floor_stored &&
	    now - s->cursor_at_mono >= CURSOR_PERSIST_MS) {
		s->cursor_at_mono = now;
		ioca_spool_store_cursor(s, false);
	}
	deliver_reports(s, now);
}

static int sp_flush(struct ioca_queue *q)
{
	struct ioca_spool *s = sp(q);
	return ioca_spool_sync_enabled(s) ? ioca_spool_sync_now(s) : IOCA_OK;
}

static void sp_stats(struct ioca_queue *q, struct ioca_queue_stats *out)
{
	struct ioca_spool *s = sp(q);
	memset(out, 0, sizeof(*out));
	out->records = s->held_records;
	out->disk_bytes = s->disk_bytes;
	/* Released records stay in their segment file until it is deleted:
	 * count only what is still held. */
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct ioca_spool_seg *g = &s->segs[i];
		uint64_t used =
		    g->size > IOCA_SPOOL_SEG_HDR_BYTES ? g->size - IOCA_SPOOL_SEG_HDR_BYTES : 0;
		out->bytes += used > g->bytes_done ? used - g->bytes_done : 0;
	}
	out->in_flight = s->in_flight;
	out->pushed = s->pushed;
	out->acked = s->acked;
	out->dropped_records = s->dropped_records;
	out->dropped_bytes = s->dropped_bytes;
	out->corrupt_records = s->corrupt_records;
	out->segments = s->nsegs;
	out->fsyncs = s->fsyncs;
	out->degraded = s->degraded;
	snprintf(out->degraded_reason, sizeof(out->degraded_reason), "%s",
		 s->degraded ? s->reason : "");
	if (s->win_n && ioca_spool_win_at(s, 0)->seq <= s->rd_high_seq) {
		out->oldest_ms = ioca_spool_win_at(s, 0)->ms;
	} else if (s->held_records) {
		/* The next record on disk is the oldest one held. */
		struct ioca_spool_rec_view v;
		uint64_t seg_id, off, next;
		if (disk_peek(s, &v, &seg_id, &off, &next) == IOCA_OK)
			out->oldest_ms = v.accepted_ms;
	}
	if (s->mem) {
		struct ioca_queue_stats ms;
		ioca_queue_stats(s->mem, &ms);
		out->records += ms.records;
		out->memory_records = ms.records;
		out->bytes += ms.bytes;
		out->dropped_records += ms.dropped_records;
		out->dropped_bytes += ms.dropped_bytes;
		if (!out->oldest_ms)
			out->oldest_ms = ms.oldest_ms;
	}
}

static void sp_close(struct ioca_queue *q)
{
	struct ioca_spool *s = sp(q);
	if (s->degraded && s->mem) {
		s->retry_at_mono = 1;
		try_recover(s, ioca_now_mono_ms());
	}
	if (s->mem) {
		struct ioca_queue_stats ms;
		ioca_queue_stats(s->mem, &ms);
		if (ms.records)
			ioca_error("spool: %llu records held in memory are lost: the disk still "
				   "refuses writes (%s)",
				   (unsigned long long)ms.records, s->reason);
		ioca_queue_close(s->mem);
	}
	if (ioca_spool_sync_enabled(s))
		ioca_spool_sync_now(s);
	ioca_spool_store_cursor(s, true);
	ioca_spool_close_writer(s);
	reader_close(s);
	ioca_spool_reader_free(&s->rd);
	for (size_t i = 0; i < s->nreports; i++)
		free(s->reports[i].file);
	ioca_spool_win_free(s);
	ioca_spool_live_free(s);
	ioca_spool_holders_free(s);
	free(s->pre_acked);
	free(s->segs);
	free(s->strbuf);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

static const struct ioca_queue_ops spool_ops = {
    .next_seq = sp_next_seq,
    .push = sp_push,
    .next = sp_next,
    .wait_ms = sp_wait_ms,
    .ack = sp_ack,
    .rewind = sp_rewind,
    .tick = sp_tick,
    .flush = sp_flush,
    .stats = sp_stats,
    .close = sp_close,
};

static void normalise_config(struct ioca_spool_config *c)
{
	if (c->max_bytes <= 0)
		c->max_bytes = INT64_MAX / 2;
	if (c->segment_bytes <= 0)
		c->segment_bytes = IOCA_SPOOL_DEFAULT_SEGMENT_BYTES;
	if (c->segment_bytes > c->max_bytes / SEGMENT_PER_MAX_BYTES)
		c->segment_bytes = c->max_bytes / SEGMENT_PER_MAX_BYTES;
	if (c->segment_bytes < MIN_SEGMENT_BYTES)
		c->segment_bytes = MIN_SEGMENT_BYTES;
	if (c->memory_buffer_bytes < 0)
		c->memory_buffer_bytes = 0; /* no memory fallback: refused writes drop */
	if (c->fsync_interval_ms <= 0)
		c->fsync_interval_ms = IOCA_SPOOL_DEFAULT_FSYNC_INTERVAL_MS;
	if (c->drain_rate < 0)
		c->drain_rate = 0;
	if (c->historical_after_s < 0)
		c->historical_after_s = 0;
}

struct ioca_queue *ioca_spool_open(const struct ioca_spool_config *cfg, const char *dir,
				   const struct ioca_spool_callbacks *cb, char *err, size_t errlen)
{
	struct ioca_spool *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &spool_ops;
	s->cfg = *cfg;
	normalise_config(&s->cfg);
	if (cb)
		s->cb = *cb;
	s->dirfd = -1;
	s->wfd = -1;
	s->rfd = -1;
	s->write_rl.interval_ms = RATELIMIT_MS;
	s->cursor_rl.interval_ms = RATELIMIT_MS;
	s->dir = strdup(dir);
	ioca_spool_reader_init(&s->rd, -1, 0);
	if (!s->dir || ioca_spool_recover(s, err, errlen) != IOCA_OK) {
		if (!s->dir)
			snprintf(err, errlen, "out of memory");
		for (size_t i = 0; i < s->nreports; i++)
			free(s->reports[i].file);
		if (s->wfd >= 0)
			close(s->wfd);
		if (s->dirfd >= 0)
			close(s->dirfd);
		free(s->segs);
		free(s->pre_acked);
		free(s->dir);
		free(s);
		return NULL;
	}
	if (s->cfg.order == IOCA_SPOOL_ORDER_LIVE_FIRST && ioca_spool_live_init(s) != IOCA_OK)
		ioca_warn("spool: out of memory for spool.order = \"live_first\": fifo");
	ioca_token_bucket_init(&s->drain, s->cfg.drain_rate, mono_now(s));
	s->last_sync_mono = ioca_now_mono_ms();
	s->cursor_at_mono = s->last_sync_mono;
	return &s->base;
}
