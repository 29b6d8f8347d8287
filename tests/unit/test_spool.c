/*
 * Unit tests of the disk spool's queue behaviour (agent/spool*.c) on a real
 * directory: order, persistence across close/reopen, the cursor and the seq
 * counter after reopen (graceful and kill -9 of a child process), no
 * re-delivery of acked records and no skipped unacked ones, out-of-order
 * acks and rewind, the size and age bounds with counted drops, deletion of
 * delivered segments, when each fsync mode syncs, and callbacks that push.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cmocka.h>

#include "test_spool_util.h"

struct fixture {
	char *dir;
	struct test_reports rep;
	struct ioca_spool_callbacks cb;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = make_dir();
	f->cb = tr_callbacks(&f->rep);
	*state = f;
	return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct ioca_queue *open_spool(struct fixture *f, const struct ioca_spool_config *c)
{
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(c, f->dir, &f->cb, err, sizeof(err));
	if (!q)
		fprintf(stderr, "open: %s\n", err);
	return q;
}

/* next() must give exactly `from`..`to` in order (each checked), acking each. */
static void expect_range(struct ioca_queue *q, uint64_t from, uint64_t to)
{
	struct ioca_record r;
	for (uint64_t s = from; s <= to; s++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, s);
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
	}
}

static void test_order_ack_and_empty(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	assert_non_null(q);
	assert_int_equal(ioca_queue_next_seq(q), 1);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	assert_int_equal(push_n(q, 1000), 1);
	assert_int_equal(ioca_queue_next_seq(q), 1001);

	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 1000);
	assert_int_equal(st.pushed, 1000);
	assert_int_equal(st.oldest_ms, 1700000000000LL + 1);
	assert_int_equal(st.disk_bytes, IOCA_SPOOL_SEG_HDR_BYTES + 1000 * record_disk_bytes());
	assert_int_equal(st.bytes, 1000 * record_disk_bytes());

	expect_range(q, 1, 1000);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	/* the active segment still holds the delivered records; none is waiting */
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.disk_bytes, IOCA_SPOOL_SEG_HDR_BYTES + 1000 * record_disk_bytes());
	assert_int_equal(st.acked, 1000);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.dropped_records, 0);
	assert_int_equal(st.corrupt_records, 0);
	assert_false(st.degraded);
	ioca_queue_close(q);
	assert_int_equal(f->rep.corrupt_calls, 0);
}

/* A record that is not JSON keeps its kind, qos, retain and content type. */
static void test_blob_round_trip(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	struct ioca_queue *q = open_spool(f, &c);
	uint8_t jpeg[3000];
	for (size_t i = 0; i < sizeof(jpeg); i++)
		jpeg[i] = (uint8_t)(i * 7);
	struct ioca_record in = {.seq = ioca_queue_next_seq(q),
				 .kind = IOCA_RECORD_BLOB,
				 .qos = 2,
				 .retain = true,
				 .accepted_ms = 42,
				 .topic = "ioc/a/cam/snapshot",
				 .content_type = "image/jpeg",
				 .payload = jpeg,
				 .payload_len = sizeof(jpeg)};
	assert_int_equal(ioca_queue_push(q, &in), IOCA_OK);
	ioca_queue_close(q);
	q = open_spool(f, &c);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, in.seq);
	assert_int_equal(r.kind, IOCA_RECORD_BLOB);
	assert_int_equal(r.qos, 2);
	assert_true(r.retain);
	assert_int_equal(r.accepted_ms, 42);
	assert_string_equal(r.topic, "ioc/a/cam/snapshot");
	assert_string_equal(r.content_type, "image/jpeg");
	assert_int_equal(r.payload_len, sizeof(jpeg));
	assert_memory_equal(r.payload, jpeg, sizeof(jpeg));
	ioca_queue_close(q);
}

static void test_reopen_keeps_cursor_and_seq(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_ALWAYS);
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 100);
	expect_range(q, 1, 40);
	/* 41..45 handed out but never acked: must come again. */
	struct ioca_record r;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_close(q);

	q = open_spool(f, &c);
	assert_non_null(q);
	assert_int_equal(ioca_queue_next_seq(q), 101);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 60);
	push_n(q, 10);
	expect_range(q, 41, 110);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);

	/* Everything acked: nothing comes back, seq continues. */
	q = open_spool(f, &c);
	assert_int_equal(ioca_queue_next_seq(q), 111);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);
	assert_int_equal(f->rep.corrupt_calls, 0);
}

/* kill -9 of a process that pushed and acked: nothing pushed is lost, seq
 * is not reused; acks after the last cursor write may be delivered again. */
static void test_kill9_loses_nothing(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ioca_queue *q = open_spool(f, &c);
		push_n(q, 500);
		struct ioca_record r;
		for (int i = 0; i < 100; i++) {
			ioca_queue_next(q, &r);
			ioca_queue_ack(q, r.seq);
		}
		/* The cursor is written by tick at most once a second. */
		ioca_queue_tick(q, ioca_now_mono_ms() + 5000);
		for (int i = 0; i < 50; i++) {
			ioca_queue_next(q, &r);
			ioca_queue_ack(q, r.seq);
		}
		push_n(q, 10);
		raise(SIGKILL);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	struct ioca_queue *q = open_spool(f, &c);
	assert_int_equal(ioca_queue_next_seq(q), 511);
	/* 101..150 were acked after the last cursor write: at least once. */
	expect_range(q, 101, 510);
	ioca_queue_close(q);
}

static void test_out_of_order_acks(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 10);
	struct ioca_record r;
	for (uint64_t s = 1; s <= 8; s++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, s);
	}
	ioca_queue_ack(q, 5);
	ioca_queue_ack(q, 3);
	ioca_queue_ack(q, 1);
	ioca_queue_ack(q, 1);  /* duplicate ack: ignored */
	ioca_queue_ack(q, 77); /* unknown: ignored */
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.in_flight, 5);
	assert_int_equal(st.records, 9); /* 1 released; 3 and 5 wait for 2 and 4 */

	/* The publish failed: rewind gives the unacked ones again, not 3 or 5. */
	ioca_queue_rewind(q);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.in_flight, 0);
	uint64_t want[] = {2, 4, 6, 7, 8, 9, 10};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want[i]);
		assert_true(record_ok(&r));
	}
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	for (size_t i = sizeof(want) / sizeof(want[0]); i-- > 0;)
		ioca_queue_ack(q, want[i]);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.acked, 10);
	ioca_queue_close(q);
}

/* Acks above the oldest unacked record survive a clean restart: nothing
 * acked is sent again, nothing unacked is skipped. */
static void test_out_of_order_acks_survive_restart(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 10);
	struct ioca_record r;
	for (int i = 0; i < 10; i++)
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	const uint64_t acked[] = {1, 2, 4, 6, 7};
	for (size_t i = 0; i < sizeof(acked) / sizeof(acked[0]); i++)
		ioca_queue_ack(q, acked[i]);
	ioca_queue_close(q);

	q = open_spool(f, &c);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 5);
	const uint64_t want[] = {3, 5, 8, 9, 10};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want[i]);
		assert_true(record_ok(&r));
	}
	ioca_queue_ack(q, 5);
	ioca_queue_close(q); /* 3 unacked; 4, 5, 6, 7 acked above it */

	q = open_spool(f, &c);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 4);
	const uint64_t want2[] = {3, 8, 9, 10};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want2[i]);
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
	}
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);
	q = open_spool(f, &c);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	assert_int_equal(ioca_queue_next_seq(q), 11);
	ioca_queue_close(q);
}

static void test_delivered_segments_deleted(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.segment_bytes = 64 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 2000); /* ~470 KB: 8 segments */
	char names[64][64];
	int before = list_segments(f->dir, names, 64);
	uint64_t per_seg =
	    (uint64_t)(c.segment_bytes - IOCA_SPOOL_SEG_HDR_BYTES) / record_disk_bytes();
	assert_int_equal(before, (int)((2000 + per_seg - 1) / per_seg));
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.segments, before);

	/* Half delivered: the segments wholly before seq 1000 are gone. */
	expect_range(q, 1, 1000);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK); /* 1001 is in flight */
	int mid = list_segments(f->dir, names, 64);
	assert_int_equal(mid, before - (int)(1000 / per_seg));
	ioca_queue_ack(q, r.seq);
	expect_range(q, 1002, 2000);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	assert_int_equal(list_segments(f->dir, names, 64), 1);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.segments, 1);
	assert_int_equal(st.records, 0);
	ioca_queue_close(q);
}

static void test_size_bound_drops_oldest(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.max_bytes = 256 * 1024;
	c.segment_bytes = 64 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 5000); /* ~1.2 MB into 256 KiB */
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.disk_bytes <= (uint64_t)c.max_bytes);
	assert_true(st.bytes <= st.disk_bytes);
	assert_int_equal(st.pushed, 5000);
	assert_int_equal(st.records + st.dropped_records, 5000);
	assert_true(st.dropped_records > 3000);
	/* One instance: its oldest records go first. */
	assert_int_equal(st.dropped_bytes, st.dropped_records * record_disk_bytes());

	tick_now(q);
	assert_int_equal(f->rep.dropped_calls, 1);
	assert_int_equal(f->rep.dropped_records, st.dropped_records);
	tick_now(q);
	assert_int_equal(f->rep.dropped_calls, 1); /* only news are reported */

	/* What is left is the newest, contiguous, in order. */
	expect_range(q, st.dropped_records + 1, 5000);
	ioca_queue_close(q);
}

/* Records handed out survive a drop of their segment until acked. */
static void test_size_bound_with_records_in_flight(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.max_bytes = 256 * 1024;
	c.segment_bytes = 64 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 10);
	struct ioca_record r;
	for (uint64_t s = 1; s <= 3; s++)
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	push_n(q, 3000);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.in_flight, 3);
	ioca_queue_ack(q, 1);
	ioca_queue_ack(q, 2);
	ioca_queue_ack(q, 3);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.records + st.dropped_records + 3, 3010);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, 3 + st.dropped_records + 1);
	ioca_queue_close(q);
}

static void test_max_age(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.max_age_s = 3600;
	c.segment_bytes = 64 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	int64_t now = ioca_now_wall_ms();
	/* 600 two hours old (several segments), then 10 fresh. */
	for (int i = 0; i < 600; i++)
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), now - 7200 * 1000), IOCA_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), now), IOCA_OK);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	uint64_t segs_before = st.segments;
	tick_now(q); /* whole old segments go without being read */
	ioca_queue_stats(q, &st);
	assert_true(st.segments < segs_before);
	assert_true(st.dropped_records > 0);
	/* The rest of the old ones are dropped as they are read. */
	expect_range(q, 601, 610);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.dropped_records, 600);
	tick_now(q);
	assert_int_equal(f->rep.dropped_records, st.dropped_records - 92); /* one report a second */
	ioca_queue_tick(q, ioca_now_mono_ms() + 2000);
	assert_int_equal(f->rep.dropped_records, 600);
	assert_int_equal(f->rep.dropped_calls, 2);
	ioca_queue_close(q);
}

static void test_fsync_modes(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue_stats st;
	struct ioca_record r;

	/* always: one fdatasync per burst, before anything of it is handed out */
	struct ioca_spool_config c = test_config(IOCA_FSYNC_ALWAYS);
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 50);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 1);
	for (int i = 0; i < 49; i++)
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 1);
	push_n(q, 5);
	assert_int_equal(ioca_queue_flush(q), IOCA_OK);
	assert_int_equal(ioca_queue_flush(q), IOCA_OK);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 2);
	ioca_queue_close(q);

	/* interval: only when the interval has passed */
	remove_tree(f->dir);
	c = test_config(IOCA_FSYNC_INTERVAL);
	c.fsync_interval_ms = 10000;
	q = open_spool(f, &c);
	push_n(q, 50);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	tick_now(q);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0);
	ioca_queue_tick(q, ioca_now_mono_ms() + 10000);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 1);
	ioca_queue_close(q);

	/* never: not even at flush */
	remove_tree(f->dir);
	c = test_config(IOCA_FSYNC_NEVER);
	q = open_spool(f, &c);
	push_n(q, 50);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_tick(q, ioca_now_mono_ms() + 100000);
	assert_int_equal(ioca_queue_flush(q), IOCA_OK);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0);
	ioca_queue_close(q);
}

/* After a host crash (other boot id, no clean close) under interval/never,
 * seq continues after the reserved block, never reusing a seq. */
static void test_seq_after_host_crash(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 5);
	ioca_queue_close(q);

	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	struct ioca_spool_cursor cur;
	char why[128];
	assert_int_equal(ioca_spool_cursor_load(dfd, &cur, why, sizeof(why)), IOCA_OK);
	assert_int_equal(cur.flags & IOCA_SPOOL_CURSOR_CLEAN, IOCA_SPOOL_CURSOR_CLEAN);
	assert_int_equal(cur.next_seq, 6);
	assert_true(cur.seq_reserved > 6);

	/* Same boot, unclean (kill -9): continues right after the last seq. */
	cur.flags = 0;
	assert_int_equal(ioca_spool_cursor_store(dfd, &cur, false), IOCA_OK);
	q = open_spool(f, &c);
	assert_int_equal(ioca_queue_next_seq(q), 6);
	ioca_queue_close(q);

	/* Another boot, unclean (power cut): skips the reserved block. */
	assert_int_equal(ioca_spool_cursor_load(dfd, &cur, why, sizeof(why)), IOCA_OK);
	uint64_t reserved = cur.seq_reserved;
	cur.flags = 0;
	memset(cur.boot_id, 0xAB, sizeof(cur.boot_id));
	assert_int_equal(ioca_spool_cursor_store(dfd, &cur, false), IOCA_OK);
	q = open_spool(f, &c);
	assert_int_equal(ioca_queue_next_seq(q), reserved);
	expect_range(q, 1, 5);
	ioca_queue_close(q);
	close(dfd);
}

static void test_wrong_seq_and_oversized_refused(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.max_bytes = 1024 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	push_n(q, 3);
	assert_int_equal(push_at(q, 2, 0), IOCA_ERROR); /* seq going back */
	static char big[512 * 1024];
	struct ioca_record r = {.seq = ioca_queue_next_seq(q),
				.qos = 1,
				.topic = "t",
				.payload = big,
				.payload_len = sizeof(big)};
	assert_int_equal(ioca_queue_push(q, &r), IOCA_ERROR); /* over max_bytes / 4 */
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.dropped_records, 2);
	assert_int_equal(st.records, 3);
	assert_int_equal(ioca_queue_next_seq(q), 5);
	ioca_queue_close(q);
}

/* The instance goes to disk with the record and comes back after a reopen. */
static void test_instance_kept_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	const char *names[] = {"cam-1", NULL, "_agent"};
	for (int i = 0; i < 3; i++) {
		struct ioca_record r = {.seq = ioca_queue_next_seq(q),
					.kind = IOCA_RECORD_BLOB,
					.qos = 1,
					.instance = names[i],
					.topic = TOPIC,
					.content_type = "image/jpeg",
					.payload = "jpeg",
					.payload_len = 4};
		assert_int_equal(ioca_queue_push(q, &r), IOCA_OK);
	}
	ioca_queue_close(q);
	q = open_spool(f, &c);
	struct ioca_record r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		if (names[i])
			assert_string_equal(r.instance, names[i]);
		else
			assert_null(r.instance);
		assert_string_equal(r.topic, TOPIC);
		assert_string_equal(r.content_type, "image/jpeg");
		assert_memory_equal(r.payload, "jpeg", 4);
		ioca_queue_ack(q, r.seq);
	}
	ioca_queue_close(q);
}

/* A segment written before records kept their instance (format 1, built
 * here byte by byte as docs/spool.md describes it) is still delivered. */
static void test_format1_segment_still_reads(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	uint8_t buf[4096];
	memset(buf, 0, sizeof buf);
	memcpy(buf, "IOCASG01", 8);
	ioca_put_le64(buf + 8, 7);
	ioca_put_le32(buf + 16, (uint32_t)crc32(0, buf, 16));
	size_t off = IOCA_SPOOL_SEG_HDR_BYTES;
	for (uint64_t seq = 7; seq <= 9; seq++) {
		char payload[PAYLOAD_BYTES];
		size_t n = payload_for(seq, payload, sizeof payload);
		uint8_t *h = buf + off;
		ioca_put_le16(h, IOCA_SPOOL_REC_MAGIC);
		h[2] = 1; /* qos 1, JSON */
		h[3] = 0;
		ioca_put_le32(h + 4, (uint32_t)(strlen(TOPIC) + n));
		ioca_put_le64(h + 8, seq);
		ioca_put_le64(h + 16, (uint64_t)(1700000000000LL + (int64_t)seq));
		ioca_put_le16(h + 24, (uint16_t)strlen(TOPIC));
		memcpy(h + 30, TOPIC, strlen(TOPIC));
		memcpy(h + 30 + strlen(TOPIC), payload, n);
		uint32_t crc = (uint32_t)crc32(0, h, 26);
		crc = (uint32_t)crc32(crc, h + 30, (uInt)(strlen(TOPIC) + n));
		ioca_put_le32(h + 26, crc);
		off += 30 + strlen(TOPIC) + n;
	}
	char path[4200];
	snprintf(path, sizeof path, "%s/0000000000000001.seg", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, off, fp), off);
	fclose(fp);

	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	struct ioca_queue *q = open_spool(f, &c);
	assert_non_null(q);
	struct ioca_record r;
	for (uint64_t seq = 7; seq <= 9; seq++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, seq);
		assert_true(record_ok(&r));
		assert_null(r.instance); /* not known */
		ioca_queue_ack(q, r.seq);
	}
	assert_int_equal(ioca_queue_next_seq(q), 10);
	tick_now(q);
	/* only the missing cursor (no cursor file was written here) */
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_non_null(strstr(f->rep.last_corrupt_file, "/cursor"));
	assert_int_equal(f->rep.corrupt_bytes, 0);
	ioca_queue_close(q);
}

/* The core reacts to a report by pushing an event into the same spool. */
struct reentrant {
	struct ioca_queue *q;
	uint64_t pushed_seq;
};

static void push_on_drop(void *ctx, uint64_t records, uint64_t bytes,
			 const struct ioca_spool_instance_drops *by, size_t n_by)
{
	(void)records;
	(void)bytes;
	(void)by;
	(void)n_by;
	struct reentrant *r = ctx;
	r->pushed_seq = ioca_queue_next_seq(r->q);
	assert_int_equal(push_at(r->q, r->pushed_seq, 1), IOCA_OK);
}

static void test_callback_may_push(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.max_bytes = 256 * 1024;
	c.segment_bytes = 64 * 1024;
	struct reentrant re = {0};
	struct ioca_spool_callbacks cb = {.ctx = &re, .dropped = push_on_drop};
	char err[256];
	re.q = ioca_spool_open(&c, f->dir, &cb, err, sizeof(err));
	assert_non_null(re.q);
	push_n(re.q, 2000);
	tick_now(re.q);
	assert_int_equal(re.pushed_seq, 2001);
	struct ioca_queue_stats st;
	ioca_queue_stats(re.q, &st);
	expect_range(re.q, st.dropped_records + 1, 2001);
	ioca_queue_close(re.q);
}

/* A segment emptied by eviction in the middle of the spool stays (as a
 * header) at a restart, so the next restart sees no id gap: nothing is
 * reported missing or counted as dropped again. */
static void test_header_only_segment_restart_twice(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	c.max_bytes = 256 * 1024;
	c.segment_bytes = 64 * 1024;
	struct ioca_queue *q = open_spool(f, &c);
	assert_non_null(q);
	for (int i = 0; i < 200; i++)
		assert_int_equal(push_instance_at(q, "calm", 1700000000000LL), IOCA_OK);
	struct ioca_record r;
	for (int i = 0; i < 200; i++) /* in flight: not evictable */
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(push_instance_at(q, "flood", 1700000000000LL), IOCA_OK);
	char names[64][64];
	int n = list_segments(f->dir, names, 64);
	int header_only = 0;
	for (int i = 1; i < n - 1; i++)
		header_only += file_size(f->dir, names[i]) == IOCA_SPOOL_SEG_HDR_BYTES;
	assert_true(header_only > 0);
	ioca_queue_close(q);

	for (int restart = 0; restart < 2; restart++) {
		q = open_spool(f, &c);
		assert_non_null(q);
		tick_now(q);
		struct ioca_queue_stats st;
		ioca_queue_stats(q, &st);
		assert_int_equal(f->rep.corrupt_calls, 0);
		assert_int_equal(f->rep.lost_records, 0);
		assert_int_equal(st.dropped_records, 0);
		ioca_queue_close(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_ack_and_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blob_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_cursor_and_seq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_loses_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_acks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_acks_survive_restart, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_delivered_segments_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instance_kept_across_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_format1_segment_still_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_bound_drops_oldest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_only_segment_restart_twice, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_size_bound_with_records_in_flight, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fsync_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seq_after_host_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_seq_and_oversized_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callback_may_push, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
