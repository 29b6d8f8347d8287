/*
 * Unit tests of spool.order = "live_first" with clocks the test controls: a
 * record pushed while a paced backlog waits is handed out at once, ahead of
 * it and unmarked, while the backlog keeps its drain_rate; the reader skips
 * what went out early; a rewind hands every unacked record out once more;
 * acks given out of order survive a clean stop and a kill -9; past the cap
 * of remembered acks records come again (duplicates), never go missing; the
 * memory fallback keeps working. "fifo" keeps the live record behind the
 * backlog (the baseline).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test_spool_clock.h"
#include "test_spool_util.h"

#define RATE       50
#define AFTER_S    30
#define OLD_MS     (WALL_START_MS - 600 * 1000)
#define MAX_SEQ    8192
#define RING       1024 /* live push positions remembered (spool_live.c) */
#define CURSOR_CAP 1024 /* out-of-order acks the cursor keeps */

struct fixture {
	char *dir;
	struct test_reports rep;
	struct ioca_spool_callbacks cb;
	unsigned count[MAX_SEQ]; /* times each seq was handed out */
	bool acked[MAX_SEQ];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = make_dir();
	f->cb = tr_callbacks(&f->rep);
	fake_clocks_reset();
	*state = f;
	return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ioca_spool_fail_writes_errno = 0;
	remove_tree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct ioca_queue *open_order(struct fixture *f, enum ioca_spool_order order)
{
	struct ioca_spool_config c = clocked_config(RATE, AFTER_S);
	c.order = order;
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(&c, f->dir, &f->cb, err, sizeof(err));
	if (!q)
		fprintf(stderr, "open: %s\n", err);
	return q;
}

/* Take what next() hands out now (at most max), counting each seq; ack
 * each when `ack`. Records older than historical_after must be marked,
 * younger ones not. Returns how many. */
static uint64_t take(struct fixture *f, struct ioca_queue *q, uint64_t max, bool ack,
		     uint64_t *seqs)
{
	uint64_t n = 0;
	struct ioca_record r;
	while (n < max && ioca_queue_next(q, &r) == IOCA_OK) {
		assert_true(record_ok(&r));
		assert_true(r.seq < MAX_SEQ);
		assert_int_equal(r.historical, fake_wall - r.accepted_ms > AFTER_S * 1000);
		f->count[r.seq]++;
		if (seqs)
			seqs[n] = r.seq;
		n++;
		if (ack) {
			ioca_queue_ack(q, r.seq);
			f->acked[r.seq] = true;
		}
	}
	return n;
}

/* Advance the clocks in 10 ms steps, taking and acking, until next() has
 * nothing more and no record is paced. */
static void drain_all(struct fixture *f, struct ioca_queue *q)
{
	for (int step = 0; step < 100000; step++) {
		take(f, q, UINT64_MAX, true, NULL);
		if (ioca_queue_wait_ms(q, fake_mono) < 0) {
			struct ioca_record r;
			if (ioca_queue_next(q, &r) == IOCA_AGAIN)
				return;
			f->count[r.seq]++;
			ioca_queue_ack(q, r.seq);
			f->acked[r.seq] = true;
		}
		fake_mono += 10;
		fake_wall += 10;
	}
	fail_msg("the spool never drained");
}

static void assert_each_once(struct fixture *f, uint64_t first, uint64_t last)
{
	for (uint64_t s = first; s <= last; s++)
		if (f->count[s] != 1)
			fail_msg("seq %llu handed out %u times", (unsigned long long)s,
				 f->count[s]);
}

static void assert_empty(struct ioca_queue *q)
{
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.dropped_records, 0);
}

/* A backlog paced after its first second's burst, and one live record. */
static uint64_t backlog_then_live(struct fixture *f, struct ioca_queue *q, uint64_t *live)
{
	uint64_t first = push_aged(q, 10 * RATE, OLD_MS);
	assert_int_equal(take(f, q, UINT64_MAX, true, NULL), RATE);
	*live = push_aged(q, 1, fake_wall);
	return first;
}

static void test_live_record_ahead_of_backlog(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	uint64_t live;
	uint64_t first = backlog_then_live(f, q, &live);
	uint64_t got;
	assert_int_equal(take(f, q, UINT64_MAX, true, &got), 1);
	assert_int_equal(got, live);
	/* The backlog keeps its pace behind it. */
	int64_t start = fake_mono;
	uint64_t before = 0;
	for (uint64_t s = first; s < live; s++)
		before += f->count[s];
	assert_int_equal(before, RATE);
	for (int step = 0; step < 100; step++) {
		fake_mono += 10;
		fake_wall += 10;
		take(f, q, UINT64_MAX, true, NULL);
	}
	uint64_t after = 0;
	for (uint64_t s = first; s < live; s++)
		after += f->count[s];
	assert_in_range(after - before, RATE * (fake_mono - start) / 1000 - 1,
			RATE * (fake_mono - start) / 1000 + 1);
	/* A few more live records meanwhile: at once, in push order. */
	uint64_t more = push_aged(q, 5, fake_wall);
	uint64_t seqs[5];
	assert_int_equal(take(f, q, UINT64_MAX, true, seqs), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seqs[i], more + (uint64_t)i);
	drain_all(f, q);
	assert_each_once(f, first, more + 4);
	assert_empty(q);
	ioca_queue_close(q);
}

/* The baseline: with fifo the live record waits behind the paced backlog. */
static void test_fifo_keeps_live_record_behind(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_FIFO);
	assert_non_null(q);
	uint64_t live;
	uint64_t first = backlog_then_live(f, q, &live);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	drain_all(f, q);
	assert_each_once(f, first, live);
	ioca_queue_close(q);
}

/* Without a backlog live_first is push order. */
static void test_no_backlog_push_order(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	for (int round = 0; round < 3; round++) {
		uint64_t first = push_aged(q, 100, fake_wall);
		uint64_t seqs[100];
		assert_int_equal(take(f, q, UINT64_MAX, round != 1, seqs), 100);
		for (int i = 0; i < 100; i++)
			assert_int_equal(seqs[i], first + (uint64_t)i);
	}
	ioca_queue_close(q);
}

/* Unacked records, early ones and backlog ones, come again exactly once
 * after a rewind; the early ones still ahead of the backlog. */
static void test_rewind_hands_out_unacked_once_more(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	uint64_t first = push_aged(q, 2 * RATE, OLD_MS);
	assert_int_equal(take(f, q, UINT64_MAX, false, NULL), RATE);
	uint64_t live = push_aged(q, 3, fake_wall);
	assert_int_equal(take(f, q, UINT64_MAX, false, NULL), 3);
	ioca_queue_ack(q, live + 1);
	f->acked[live + 1] = true;
	ioca_queue_rewind(q);
	uint64_t seqs[4];
	assert_int_equal(take(f, q, 2, false, seqs), 2);
	assert_int_equal(seqs[0], live);
	assert_int_equal(seqs[1], live + 2);
	ioca_queue_rewind(q); /* a second outage right away */
	memset(f->count, 0, sizeof(f->count));
	drain_all(f, q);
	for (uint64_t s = first; s < first + 2 * RATE; s++)
		assert_int_equal(f->count[s], 1);
	assert_int_equal(f->count[live], 1);
	assert_int_equal(f->count[live + 1], 0);
	assert_int_equal(f->count[live + 2], 1);
	assert_empty(q);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.acked, 2 * RATE + 3);
	ioca_queue_close(q);
}

/* Records acked early are not sent again after a restart (clean or kill -9,
 * the cursor written by tick()); the rest of the backlog is. */
static void run_restart(struct fixture *f, bool crash)
{
	uint64_t first = 0, live = 0;
	pid_t pid = crash ? fork() : 0;
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
		if (!q)
			_exit(2);
		first = push_aged(q, 2 * RATE, OLD_MS);
		take(f, q, UINT64_MAX, true, NULL);
		live = push_aged(q, 5, fake_wall);
		if (take(f, q, UINT64_MAX, true, NULL) != 5)
			_exit(3);
		if (crash) {
			ioca_queue_tick(q, ioca_now_mono_ms() + 2000); /* writes the cursor */
			_exit(0);                                      /* as if killed */
		}
		ioca_queue_close(q);
	} else {
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		first = 1;
		live = first + 2 * RATE;
	}
	memset(f->count, 0, sizeof(f->count));
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	drain_all(f, q);
	for (uint64_t s = first; s < first + RATE; s++)
		assert_int_equal(f->count[s], 0);
	assert_each_once(f, first + RATE, live - 1);
	for (uint64_t s = live; s < live + 5; s++)
		assert_int_equal(f->count[s], 0);
	assert_empty(q);
	ioca_queue_close(q);
}

static void test_restart_keeps_early_acks(void **state)
{
	run_restart(*state, false);
}

static void test_kill9_keeps_early_acks(void **state)
{
	run_restart(*state, true);
}

/*
 * Early acks in many ranges: batches of live records with two of every
 * three acked. Once the ranges are full nothing more goes out early (fifo)
 * and further early acks stay in the window. Returns the number acked.
 */
static uint64_t fragment_acks(struct fixture *f, struct ioca_queue *q, uint64_t *first,
			      uint64_t *end)
{
	*first = push_aged(q, 2 * RATE, OLD_MS);
	assert_int_equal(take(f, q, UINT64_MAX, true, NULL), RATE);
	uint64_t acked = RATE, early_total = 0;
	static uint64_t seqs[RING];
	for (int batch = 0; batch < 5; batch++) {
		push_aged(q, RING - 1, fake_wall);
		uint64_t n = take(f, q, UINT64_MAX, false, seqs);
		assert_int_equal(n, batch < 4 ? RING - 1 : 0);
		early_total += n;
		for (uint64_t i = 0; i < n; i++)
			if (i % 3 != 2) {
				ioca_queue_ack(q, seqs[i]);
				f->acked[seqs[i]] = true;
				acked++;
			}
	}
	/* 3 batches of 341 ranges, the fourth filled them: the fifth waits. */
	assert_int_equal(early_total, 4 * (RING - 1));
	*end = ioca_queue_next_seq(q);
	return acked;
}

static void test_cap_falls_back_to_fifo(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	uint64_t first, end;
	fragment_acks(f, q, &first, &end);
	/* Ack the rest of what went out: the ranges merge. */
	for (uint64_t s = first; s < end; s++)
		if (f->count[s] && !f->acked[s]) {
			ioca_queue_ack(q, s);
			f->acked[s] = true;
		}
	drain_all(f, q);
	assert_each_once(f, first, end - 1);
	assert_empty(q);
	/* Early again. */
	fake_mono += 2000;
	fake_wall += 2000;
	push_aged(q, 2 * RATE, OLD_MS);
	assert_int_equal(take(f, q, UINT64_MAX, true, NULL), RATE);
	uint64_t live = push_aged(q, 1, fake_wall), got;
	assert_int_equal(take(f, q, UINT64_MAX, true, &got), 1);
	assert_int_equal(got, live);
	ioca_queue_close(q);
}

/* More early acks than the cursor keeps: after a restart the ones past
 * its cap are sent again; nothing unacked is missing. */
static void test_restart_past_cursor_cap_duplicates(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	uint64_t first, end;
	uint64_t acked = fragment_acks(f, q, &first, &end);
	ioca_queue_close(q);
	static bool was_acked[MAX_SEQ];
	memcpy(was_acked, f->acked, sizeof(was_acked));
	memset(f->count, 0, sizeof(f->count));
	q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	drain_all(f, q);
	uint64_t again = 0;
	for (uint64_t s = first; s < end; s++) {
		if (was_acked[s] && s >= first + RATE)
			again += f->count[s];
		else if (!was_acked[s] && f->count[s] != 1)
			fail_msg("unacked seq %llu handed out %u times", (unsigned long long)s,
				 f->count[s]);
	}
	/* The floor is first + RATE; the cursor lists the lowest 1024 above. */
	assert_int_equal(again, acked - RATE - CURSOR_CAP);
	assert_empty(q);
	ioca_queue_close(q);
}

/* The disk refuses writes: new records wait in memory behind the disk
 * backlog, then everything arrives once. */
static void test_memory_fallback(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_order(f, IOCA_SPOOL_ORDER_LIVE_FIRST);
	assert_non_null(q);
	uint64_t first = push_aged(q, 2 * RATE, OLD_MS);
	assert_int_equal(take(f, q, UINT64_MAX, true, NULL), RATE);
	uint64_t live = push_aged(q, 2, fake_wall);
	assert_int_equal(take(f, q, UINT64_MAX, true, NULL), 2);
	ioca_spool_fail_writes_errno = ENOSPC;
	uint64_t mem = push_aged(q, 10, fake_wall);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.degraded);
	assert_int_equal(st.memory_records, 10);
	drain_all(f, q);
	ioca_spool_fail_writes_errno = 0;
	ioca_queue_tick(q, ioca_now_mono_ms() + 5000); /* schedules the retry */
	ioca_queue_tick(q, ioca_now_mono_ms() + 7000); /* the disk works again */
	ioca_queue_stats(q, &st);
	assert_false(st.degraded);
	uint64_t after = push_aged(q, 3, fake_wall);
	drain_all(f, q);
	assert_each_once(f, first, live + 1);
	assert_each_once(f, mem, after + 2);
	assert_empty(q);
	ioca_queue_close(q);
}

/* Open fds of this process on files under dir that are deleted. */
static int deleted_fds_in(const char *dir)
{
	int n = 0;
	for (int fd = 3; fd < 1024; fd++) {
		char p[64], t[4200];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(p, t, sizeof t - 1);
		if (k <= 0)
			continue;
		t[k] = '\0';
		n += strstr(t, dir) && strstr(t, "(deleted)");
	}
	return n;
}

/* The fd of an early hand-out is closed when its segment is deleted (here
 * once delivered). */
static void test_live_fd_on_deleted_segment(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.order = IOCA_SPOOL_ORDER_LIVE_FIRST;
	c.historical_after_s = AFTER_S;
	c.drain_rate = 0;
	c.now_wall_ms = wall;
	c.now_mono_ms = mono;
	c.segment_bytes = 64 * 1024;
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(&c, f->dir, &f->cb, err, sizeof(err));
	assert_non_null(q);
	for (int i = 0; i < 300; i++)
		assert_int_equal(push_instance_at(q, "a", fake_wall - 60000), IOCA_OK);
	assert_int_equal(push_instance_at(q, "a", fake_wall), IOCA_OK);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK); /* early: read from segment 1 */
	assert_false(r.historical);
	ioca_queue_ack(q, r.seq);
	for (int i = 0; i < 600; i++)
		assert_int_equal(push_instance_at(q, "a", fake_wall - 60000), IOCA_OK);
	while (ioca_queue_next(q, &r) == IOCA_OK)
		ioca_queue_ack(q, r.seq);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_true(st.segments < 3); /* the first ones were deleted */
	assert_int_equal(deleted_fds_in(f->dir), 0);
	ioca_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_live_record_ahead_of_backlog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_keeps_live_record_behind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_backlog_push_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rewind_hands_out_unacked_once_more, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restart_keeps_early_acks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_keeps_early_acks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_falls_back_to_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_past_cursor_cap_duplicates, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_memory_fallback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_fd_on_deleted_segment, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
