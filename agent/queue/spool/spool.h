/*
 * The disk spool: the agent's publish queue (queue.h) kept in append-only
 * segment files under state_dir/spool, so that nothing the core accepted is
 * lost through broker outages, kill -9 and full disks. docs/spool.md has the
 * on-disk format, the durability of each fsync mode and the damage rules.
 *
 * Key invariants:
 *   - a record leaves the spool only by ack() of its seq or by a counted drop
 *     (size bound, age bound, memory fallback overflow);
 *   - with fsync = always, next() never hands out a record that is not yet
 *     durable (a push burst shares one fdatasync, done by the first of
 *     flush(), next() or tick() that follows it);
 *   - the spool's own damaged files never stop it: damage is skipped,
 *     reported through the callbacks and counted.
 */
#ifndef IOCA_SPOOL_H
#define IOCA_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"

enum ioca_fsync_mode {
	IOCA_FSYNC_ALWAYS = 0,
	IOCA_FSYNC_INTERVAL = 1,
	IOCA_FSYNC_NEVER = 2,
};

/* The order next() hands records out in (docs/spool.md, "Draining a
 * backlog"). */
enum ioca_spool_order {
	IOCA_SPOOL_ORDER_FIFO = 0,       /* push order (seq order) */
	IOCA_SPOOL_ORDER_LIVE_FIRST = 1, /* records pushed while a backlog waits go
					  * out ahead of it, not paced */
};

/* The spool section of the configuration (docs/spool.md). */
struct ioca_spool_config {
	int64_t max_bytes;
	int64_t max_age_s; /* 0: no age bound */
	enum ioca_fsync_mode fsync;
	int fsync_interval_ms;
	int inflight;
	int64_t memory_buffer_bytes; /* held in memory while the disk refuses writes */
	int64_t segment_bytes;       /* size at which a segment file is closed */
	/* Backlog pacing (docs/spool.md): a record accepted more than
	 * historical_after_s before next() reaches it is backlog; backlog is
	 * handed out at most drain_rate per second (0: unlimited) and marked
	 * historical. historical_after_s = 0: nothing is backlog. */
	double drain_rate;
	int historical_after_s;
	enum ioca_spool_order order;
	/* Clocks, NULL for the real ones (ioca_now_mono_ms, ioca_now_wall_ms):
	 * tests inject their own. */
	int64_t (*now_mono_ms)(void);
	int64_t (*now_wall_ms)(void);
};

/*
 * At spool.max_bytes the spool evicts records of the instance(s) holding
 * the most undelivered bytes first (water-filling), keeping the other
 * instances' records; records in flight are never evicted (docs/spool.md,
 * "Bounds").
 *
 * Reports for the core (agent.spool_corrupt / agent.spool_dropped events,
 * logs). They are delivered only from tick(), after the spool's state is
 * consistent, so a callback may push() into the spool. Damage found by
 * ioca_spool_open() is reported at the first tick().
 */
/* One piece of damage found in the spool. */
struct ioca_spool_damage {
	const char *file;       /* a path under the spool dir; a segment set aside ends
				 * in ".corrupt", a damaged cursor is "cursor" */
	uint64_t bytes_skipped; /* damaged bytes skipped in it */
	/* A segment file removed behind the spool's back: the undelivered
	 * records it took with it, and the seq range they were in (a range
	 * spanning several missing files is reported with the first of them).
	 * All 0 otherwise. */
	uint64_t lost_records;
	uint64_t lost_first_seq, lost_last_seq;
};

/* Records of one instance among those a drop report counts. */
struct ioca_spool_instance_drops {
	const char *instance; /* valid during the callback only */
	uint64_t records;
};

struct ioca_spool_callbacks {
	void *ctx;
	void (*corrupt)(void *ctx, const struct ioca_spool_damage *damage);
	/* Records dropped since the last report (size or age bound, memory
	 * fallback overflow, records too big to keep), and of them, per
	 * instance, those whose instance is known (by[0..n_by), each
	 * records > 0; format 1 records, the memory fallback's and those of
	 * a missing segment file are in `records` only). */
	void (*dropped)(void *ctx, uint64_t records, uint64_t bytes,
			const struct ioca_spool_instance_drops *by, size_t n_by);
	/* The disk refuses writes (degraded = true, reason set) or accepts
	 * them again (degraded = false). */
	void (*degraded)(void *ctx, bool degraded, const char *reason);
};

/*
 * Open (creating it if needed) the spool in `dir`, typically
 * "<state_dir>/spool". Existing segments are scanned: a torn tail is
 * truncated, a damaged segment is rewritten with its valid records and the
 * original renamed to "<name>.corrupt" (the newest 8 are kept), a damaged
 * or missing cursor makes every record still on disk deliverable again.
 * `cb` may be NULL; it is copied.
 *
 * Returns NULL with a message in err only when `dir` cannot be created,
 * opened or listed at all. The caller should then treat it like a bad
 * state_dir: report it and exit with a configuration error (78), so that
 * systemd restarts the agent once the directory is usable; without the
 * directory seq numbers cannot be kept unique. A directory that can be read
 * but not written (read-only, full, permissions) is not a failure: the
 * spool opens degraded, delivers what is on disk and holds new records in
 * memory until writing works again.
 */
struct ioca_queue *ioca_spool_open(const struct ioca_spool_config *cfg, const char *dir,
				   const struct ioca_spool_callbacks *cb, char *err, size_t errlen);

/*
 * Keep `rec`, which the broker will never take, in the dead-letter file
 * <dir>/rejected.seg (segment format; at most IOCA_DEADLETTER_MAX_BYTES, the
 * previous file kept as rejected.seg.old). Written and synced before it
 * returns IOCA_OK; IOCA_ERROR with a message in err otherwise.
 */
#define IOCA_DEADLETTER_MAX_BYTES (16u * 1024u * 1024u)
int ioca_spool_deadletter(const char *dir, const struct ioca_record *rec, char *err, size_t errlen);

/* Used when the config leaves these 0 (memory_buffer_bytes = 0 means no
 * memory fallback: records the disk refuses are dropped, counted).
 * segment_bytes is also kept within 64 KiB .. max_bytes / 4. */
#define IOCA_SPOOL_DEFAULT_SEGMENT_BYTES     (16 * 1024 * 1024)
#define IOCA_SPOOL_DEFAULT_FSYNC_INTERVAL_MS 200
#define IOCA_SPOOL_DEFAULT_DRAIN_RATE        200
#define IOCA_SPOOL_DEFAULT_HISTORICAL_AFTER  30

#endif
