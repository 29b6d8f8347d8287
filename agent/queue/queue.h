/*
 * The publish queue: what the core has accepted and not yet seen delivered.
 *
 * Two implementations sit behind this interface: the disk spool (spool.c),
 * which is what the agent runs with, and a bounded memory queue (memqueue.c),
 * which the spool itself falls back to while the disk refuses writes.
 *
 * Invariants every implementation keeps:
 *   - records come out of next() in push order, each exactly once per run
 *     (the spool may hold a backlog record back for pacing: spool.drain_rate,
 *     docs/spool.md; wait_ms() then says when to call next() again);
 *   - a record is forgotten only by ack() of its seq, or by a counted drop
 *     when the queue is over its size bound (the spool: oldest records of
 *     the instance holding the most; the memory queue: oldest first);
 *   - seq numbers are strictly increasing and survive restarts where the
 *     implementation is persistent.
 * The MQTT session pulls with next() while it has room in its in-flight
 * window and calls ack() on PUBACK/PUBCOMP (QoS 1/2) or once written (QoS 0).
 */
#ifndef IOCA_QUEUE_H
#define IOCA_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "retcode.h"

/* What kind of payload a record carries. */
enum ioca_record_kind {
	IOCA_RECORD_JSON = 0, /* event or telemetry envelope */
	IOCA_RECORD_BLOB = 1, /* binary (snapshot); content_type says what */
};

/* One message. Strings are NUL-terminated; payload is not. */
struct ioca_record {
	uint64_t seq; /* assigned by the queue: see ioca_queue_ops.next_seq */
	enum ioca_record_kind kind;
	uint8_t qos; /* 0, 1 or 2 */
	bool retain;
	int64_t accepted_ms; /* wall clock when the core accepted it */
	bool historical;     /* set by next(): a backlog record, handed out more than
			      * spool.historical_after after accepted_ms */
	bool ahead;          /* set by next(): handed out ahead of older records
			      * still to come (spool.order = "live_first") */
	/* The instance that emitted it ("_agent" for the agent's own events),
	 * kept with the record so that nothing parses it back out of the topic
	 * and the spool can share its space fairly among instances. NULL when
	 * unknown (records spooled before the spool kept it). */
	const char *instance;
	const char *topic;
	const char *content_type; /* NULL for JSON records */
	const void *payload;
	size_t payload_len;
};

/* Counters and gauges for metrics and status. */
struct ioca_queue_stats {
	uint64_t records;         /* records held (undelivered, including in flight) */
	uint64_t bytes;           /* bytes of the records held (on disk for the spool) */
	uint64_t disk_bytes;      /* spool: size of the segment files, delivered data included */
	uint64_t in_flight;       /* handed out by next() and not yet acked */
	uint64_t pushed;          /* total accepted */
	uint64_t acked;           /* total released by ack() */
	uint64_t dropped_records; /* total dropped by the size/age bound or write failure */
	uint64_t dropped_bytes;
	uint64_t corrupt_records;  /* total skipped because damaged (spool) */
	int64_t oldest_ms;         /* accepted_ms of the oldest held record, 0 if none */
	bool degraded;             /* the spool cannot write to disk and holds records in memory */
	char degraded_reason[128]; /* why, e.g. "write spool/00000001.seg: No space left on device"
				    */
	uint64_t memory_records;   /* of `records`, held in the memory fallback (spool) */
	uint64_t segments;         /* segment files on disk (spool) */
	uint64_t fsyncs;           /* fdatasync calls on segments (spool) */
};

struct ioca_queue;

struct ioca_queue_ops {
	/* The seq the next push() must carry. */
	uint64_t (*next_seq)(struct ioca_queue *q);
	/* Accept a record (rec->seq == next_seq()); the queue copies what it
	 * needs. IOCA_ERROR only when the record can be kept nowhere (counted
	 * as dropped). */
	int (*push)(struct ioca_queue *q, const struct ioca_record *rec);
	/* Hand out the oldest record not yet handed out. The record's memory is
	 * valid until the next call on the queue. IOCA_AGAIN when there is none. */
	int (*next)(struct ioca_queue *q, struct ioca_record *out);
	/* Milliseconds until next() may hand out a record it holds back for
	 * pacing; -1 when it holds nothing back (call next() on events). */
	int (*wait_ms)(struct ioca_queue *q, int64_t now_mono_ms);
	/* Delivery of `seq` is complete: release it. Acks may come out of order. */
	void (*ack)(struct ioca_queue *q, uint64_t seq);
	/* Forget what was handed out and not acked: the next next() starts again
	 * at the oldest unacked record (used when a publish is refused and must
	 * be retried). */
	void (*rewind)(struct ioca_queue *q);
	/* Periodic work (fsync interval, retrying a failing disk, age bound,
	 * persisting the delivery cursor, reports to the owner). Call every
	 * loop turn. */
	void (*tick)(struct ioca_queue *q, int64_t now_mono_ms);
	/* Make everything pushed so far durable now (at stop, or at the end of a
	 * loop turn). The spool with fsync = always also does it by itself
	 * before next() hands out a record that is not durable yet. */
	int (*flush)(struct ioca_queue *q);
	void (*stats)(struct ioca_queue *q, struct ioca_queue_stats *out);
	/* Flush and free. */
	void (*close)(struct ioca_queue *q);
};

/* Every implementation's struct starts with this. A wrapper (a queue that
 * observes another) sets `inner` and leaves NULL the ops it does not change:
 * those go straight to the inner queue. */
struct ioca_queue {
	const struct ioca_queue_ops *ops;
	struct ioca_queue *inner;
};

/* The queue whose op at `offset` in ioca_queue_ops is set. */
static inline struct ioca_queue *ioca_queue_impl(struct ioca_queue *q, size_t offset)
{
	while (q->inner) {
		void (*fn)(void);
		memcpy(&fn, (const char *)q->ops + offset, sizeof fn);
		if (fn)
			break;
		q = q->inner;
	}
	return q;
}
#define IOCA_QUEUE_IMPL(q, op) ioca_queue_impl((q), offsetof(struct ioca_queue_ops, op))

static inline uint64_t ioca_queue_next_seq(struct ioca_queue *q)
{
	q = IOCA_QUEUE_IMPL(q, next_seq);
	return q->ops->next_seq(q);
}
static inline int ioca_queue_push(struct ioca_queue *q, const struct ioca_record *r)
{
	q = IOCA_QUEUE_IMPL(q, push);
	return q->ops->push(q, r);
}
static inline int ioca_queue_next(struct ioca_queue *q, struct ioca_record *r)
{
	q = IOCA_QUEUE_IMPL(q, next);
	return q->ops->next(q, r);
}
static inline int ioca_queue_wait_ms(struct ioca_queue *q, int64_t now)
{
	return q->ops->wait_ms(q, now);
}
static inline void ioca_queue_ack(struct ioca_queue *q, uint64_t seq)
{
	q = IOCA_QUEUE_IMPL(q, ack);
	q->ops->ack(q, seq);
}
static inline void ioca_queue_rewind(struct ioca_queue *q)
{
	q = IOCA_QUEUE_IMPL(q, rewind);
	q->ops->rewind(q);
}
static inline void ioca_queue_tick(struct ioca_queue *q, int64_t now)
{
	q = IOCA_QUEUE_IMPL(q, tick);
	q->ops->tick(q, now);
}
static inline int ioca_queue_flush(struct ioca_queue *q)
{
	q = IOCA_QUEUE_IMPL(q, flush);
	return q->ops->flush(q);
}
static inline void ioca_queue_stats(struct ioca_queue *q, struct ioca_queue_stats *s)
{
	q = IOCA_QUEUE_IMPL(q, stats);
	q->ops->stats(q, s);
}
static inline void ioca_queue_close(struct ioca_queue *q)
{
	if (q)
		q->ops->close(q);
}

/* Bounded memory queue. `first_seq` is the seq of the first push. Over
 * max_bytes the oldest records that are not in flight are dropped (counted). */
struct ioca_queue *ioca_memqueue_new(uint64_t first_seq, uint64_t max_bytes);

#endif
