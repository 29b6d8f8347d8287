/*
 * The spool's in-memory state, shared by its parts:
 *   spool.c        - the queue ops: push (write path), next (read path), ack,
 *                    rewind, tick, bounds, the memory fallback
 *   spool_open.c   - start-up: scan segments, repair damage, recover the
 *                    cursor and the seq counter
 *   spool_window.c - the records handed out and not yet released (the
 *                    in-flight window, acks in any order)
 *   spool_live.c   - spool.order = "live_first": recent pushes handed out
 *                    ahead of the backlog, and the acks of those records
 *                    until the reader reaches them
 *   spool_evict.c  - what each instance holds, fair eviction at the size
 *                    bound, and which instance lost what
 *
 * Invariants:
 *   - segs[] is in id order and in seq order: every record of segs[i] has a
 *     lower seq than every record of segs[i+1]; only the last one may be the
 *     active (written) segment;
 *   - every record still in the memory fallback has a higher seq than every
 *     record on disk that next() has not read yet;
 *   - win[] is sorted by seq; its first entry is never released;
 *   - every window entry above rd_high_seq was handed out by spool_live.c
 *     ahead of the sequential reader; it is released only once the reader
 *     has passed it (or, acked, moved to the live acks of spool_live.c).
 */
#ifndef IOCA_SPOOL_INTERNAL_H
#define IOCA_SPOOL_INTERNAL_H

#include "log.h"
#include "spool.h"
#include "spool_format.h"
#include "token_bucket.h"

#define IOCA_SPOOL_MEM_SEG UINT64_MAX /* win entry held by the memory fallback */

struct ioca_spool_seg {
	uint64_t id;         /* first: searched with ioca_spool_cmp_u64 */
	uint64_t size;       /* committed bytes (the reader never goes past) */
	uint64_t records;    /* valid records in the file */
	uint64_t done;       /* of them released: acked, dropped or delivered before */
	uint64_t bytes_done; /* their bytes */
	int64_t last_ms;
	bool sealed;          /* no longer written */
	bool damage_reported; /* damage already reported at open: skip silently */
};

enum ioca_spool_ent_state {
	IOCA_SPOOL_ENT_PENDING = 0, /* handed out before a rewind(): to hand out again */
	IOCA_SPOOL_ENT_HANDED = 1,  /* in flight */
	IOCA_SPOOL_ENT_ACKED = 2,   /* acked, waiting for older ones to be released */
};

struct ioca_spool_ent {
	uint64_t seq;    /* first: searched with ioca_spool_cmp_u64 */
	uint64_t seg_id; /* IOCA_SPOOL_MEM_SEG for the memory fallback */
	uint64_t off;    /* record start in the segment */
	uint32_t len;    /* bytes on disk */
	uint8_t state;
	uint32_t holder; /* index into holders[] (spool_evict.c) */
	int64_t ms;      /* accepted_ms */
};

/* An instance with records in the spool (holders[0]: instance unknown,
 * format 1 records). records/bytes are kept only while holders_ready. */
struct ioca_spool_holder {
	char *name;                /* NULL for holders[0] */
	uint64_t records, bytes;   /* held on disk: not released */
	uint64_t dropped;          /* records dropped, ever */
	uint64_t dropped_reported; /* of them, already reported */
};

struct ioca_spool_report {
	char *file;
	uint64_t bytes;
	uint64_t lost_records, lost_first_seq, lost_last_seq; /* a missing segment */
};

#define IOCA_SPOOL_MAX_PENDING_REPORTS 32

struct ioca_spool {
	struct ioca_queue base; /* must be first */
	struct ioca_spool_config cfg;
	struct ioca_spool_callbacks cb;
	char *dir;
	int dirfd;

	/* segments */
	struct ioca_spool_seg *segs;
	size_t nsegs, capsegs;
	uint64_t next_seg_id;
	int wfd;                /* active segment, -1 when none */
	bool dirty;             /* written since the last fdatasync */
	uint64_t writeback_off; /* active segment: writeback started up to here */
	int64_t last_sync_mono;

	/* reader */
	size_t rseg;      /* index into segs */
	int rfd;          /* fd of segs[rseg], -1 if not open */
	uint64_t rseg_id; /* id rfd belongs to */
	uint64_t roff;
	struct ioca_spool_reader rd;
	uint64_t rd_high_seq;           /* highest seq next() has dealt with */
	uint64_t *pre_acked;            /* from the cursor: acked above its floor before */
	size_t n_pre_acked;             /* the last stop (ascending); skipped when read */
	struct ioca_token_bucket drain; /* paces backlog records (drain_rate) */
	int64_t paced_until_mono;       /* next() held a backlog record back until then; 0: none */
	char *strbuf;                   /* topic and content type handed out by next() */
	size_t strcap;

	/* in-flight window */
	struct ioca_spool_ent *win;
	size_t win_head, win_n, win_cap;
	uint64_t in_flight;

	/* spool.order = "live_first" (spool_live.c); NULL with "fifo" */
	struct ioca_spool_live *live;

	/* memory fallback */
	struct ioca_queue *mem;
	bool degraded;
	char reason[128];
	int64_t retry_at_mono;
	bool degraded_unreported;
	struct ioca_ratelimit write_rl;

	/* seq and cursor */
	uint64_t next_seq;
	uint64_t seq_reserved;
	uint64_t floor_stored;
	int64_t cursor_at_mono;
	uint8_t boot_id[IOCA_SPOOL_BOOT_ID_BYTES];
	struct ioca_ratelimit cursor_rl;

	/* counters */
	uint64_t pushed, acked, dropped_records, dropped_bytes, corrupt_records, fsyncs;
	uint64_t held_records; /* on disk, not released */
	uint64_t disk_bytes;   /* sum of segs[].size */
	uint64_t reported_drop_records, reported_drop_bytes;
	int64_t drop_report_at_mono; /* last dropped report (tick clock) */

	struct ioca_spool_report reports[IOCA_SPOOL_MAX_PENDING_REPORTS];
	size_t nreports;

	/* per instance (spool_evict.c) */
	struct ioca_spool_holder *holders;
	size_t nholders, capholders;
	bool holders_ready; /* records/bytes of every holder are exact */
};

/* spool_open.c */
int ioca_spool_recover(struct ioca_spool *s, char *err, size_t errlen);

/* spool_state.c (beneath spool.c and spool_open.c) */
void ioca_spool_report_corrupt(struct ioca_spool *s, const char *name, uint64_t bytes);
/* A missing segment `name` whose undelivered records `lost` were in first..last. */
void ioca_spool_report_missing(struct ioca_spool *s, const char *name, uint64_t lost,
			       uint64_t first, uint64_t last);
struct ioca_spool_seg *ioca_spool_seg_add(struct ioca_spool *s, uint64_t id);
struct ioca_spool_seg *ioca_spool_seg_by_id(struct ioca_spool *s, uint64_t id);
/* The segment being written, or NULL. */
struct ioca_spool_seg *ioca_spool_active_seg(struct ioca_spool *s);
bool ioca_spool_sync_enabled(const struct ioca_spool *s);
/* Remove the file of segment `id` (a missing file is fine), closing every fd
 * kept open on it. IOCA_OK, or IOCA_ERROR with errno set. Every removal of a
 * segment file goes through here. */
int ioca_spool_remove_segment_file(struct ioca_spool *s, uint64_t id);
/* Lowest seq not yet acked: what the cursor persists. */
uint64_t ioca_spool_delivery_floor(struct ioca_spool *s);
int ioca_spool_store_cursor(struct ioca_spool *s, bool clean);
/* fdatasync the active segment if written since the last one. */
int ioca_spool_sync_now(struct ioca_spool *s);
/* Seal the active segment (durable unless fsync = never) and start a new one. */
int ioca_spool_roll(struct ioca_spool *s);
/* Close the active segment (sealed); writing resumes with a roll. */
void ioca_spool_close_writer(struct ioca_spool *s);
void ioca_spool_enter_degraded(struct ioca_spool *s, const char *op, const char *name, int err);

/* spool.c: fill *out from the record view (strings copied to strbuf). */
int ioca_spool_hand_out(struct ioca_spool *s, const struct ioca_spool_rec_view *v,
			struct ioca_record *out);

/* spool_live.c (spool.order = "live_first"; every function is a no-op
 * returning false / IOCA_AGAIN / n while s->live is NULL) */
/* Set up s->live; IOCA_ERROR when out of memory (the spool stays fifo). */
int ioca_spool_live_init(struct ioca_spool *s);
void ioca_spool_live_free(struct ioca_spool *s);
/* A record was appended to segment seg_id at off (len bytes on disk). */
void ioca_spool_live_pushed(struct ioca_spool *s, uint64_t seq, uint64_t seg_id, uint64_t off,
			    uint32_t len, int64_t accepted_ms);
/* Hand out a recent record ahead of older ones still to be read (IOCA_OK),
 * or IOCA_AGAIN to let the sequential reader go on. */
int ioca_spool_live_next(struct ioca_spool *s, struct ioca_record *out);
/* Ack of window entry `seq` above rd_high_seq: true when it was taken over
 * by the live acks (and removed from the window); false: keep it ACKED in
 * the window (the live acks are full). */
bool ioca_spool_live_acked(struct ioca_spool *s, uint64_t seq);
/* The reader reached `seq` (above rd_high_seq, not in the window): true
 * when it was acked after a live hand-out (it is forgotten then). */
bool ioca_spool_live_passed(struct ioca_spool *s, uint64_t seq);
/* Whether `seq` is among the live acks (delivered, the reader not yet
 * past it). */
bool ioca_spool_live_done(const struct ioca_spool *s, uint64_t seq);
/* Whether any record is among the live acks. */
bool ioca_spool_live_any_done(const struct ioca_spool *s);
/* Segment seg_id was rewritten (spool_evict.c: its offsets moved) or is
 * being removed: its fd is closed, its positions are read in order. */
void ioca_spool_live_forget_segment(struct ioca_spool *s, uint64_t seg_id);
/* Merge the live acks above `floor` into the ascending list acked[0..*n)
 * (at most `cap`, the lowest kept). */
void ioca_spool_live_add_acked(const struct ioca_spool *s, uint64_t floor, uint64_t *acked,
			       uint32_t *n, uint32_t cap);
/* spool_evict.c */
#define IOCA_SPOOL_HOLDER_UNKNOWN 0u
/* The holder index of instance name[0..len) (len 0: unknown), added when
 * new; IOCA_SPOOL_HOLDER_UNKNOWN when out of memory. */
uint32_t ioca_spool_holder(struct ioca_spool *s, const char *name, size_t len);
/* A record of `bytes` of holder h was written to disk / released. */
void ioca_spool_held_add(struct ioca_spool *s, uint32_t h, uint64_t bytes);
void ioca_spool_held_release(struct ioca_spool *s, uint32_t h, uint64_t bytes);
/* `records` of holder h were dropped (for the per-instance report; the
 * totals are counted by the caller). */
void ioca_spool_drop_note(struct ioca_spool *s, uint32_t h, uint64_t records);
/* Records of a segment delivered early (in the live acks): not dropped
 * when the segment goes. */
struct ioca_spool_released {
	uint64_t records, bytes;
};
/* segs[0] is about to be deleted with what it holds (the window not yet
 * filtered): attribute its dropped records to their instances and take
 * every held record of it off the holders; *early: its records delivered
 * early, released rather than dropped. */
void ioca_spool_forget_front(struct ioca_spool *s, struct ioca_spool_released *early);
/* Over spool.max_bytes: evict records of the instances holding the most
 * until disk_bytes <= target (water-filling), rewriting sealed segments
 * without them. Never evicts a record in the window. Drops are counted.
 * Returns the bytes freed; the caller falls back to dropping whole
 * segments when that is not enough. */
uint64_t ioca_spool_evict(struct ioca_spool *s, uint64_t target);
/* The per-instance drops not yet reported, into a new array (*out, free()
 * it; NULL when none); marks them reported. Returns how many entries. */
size_t ioca_spool_take_drop_table(struct ioca_spool *s, struct ioca_spool_instance_drops **out);
void ioca_spool_holders_free(struct ioca_spool *s);

/* spool_window.c */
struct ioca_spool_ent *ioca_spool_win_find(struct ioca_spool *s, uint64_t seq);
/* Insert in seq order; NULL when out of memory. */
struct ioca_spool_ent *ioca_spool_win_insert(struct ioca_spool *s, const struct ioca_spool_ent *e);
/* Remove every entry for which drop() says true. */
void ioca_spool_win_filter(struct ioca_spool *s,
			   bool (*drop)(struct ioca_spool *, struct ioca_spool_ent *, void *),
			   void *arg);
static inline struct ioca_spool_ent *ioca_spool_win_at(struct ioca_spool *s, size_t i)
{
	return &s->win[s->win_head + i];
}
void ioca_spool_win_free(struct ioca_spool *s);

#endif
