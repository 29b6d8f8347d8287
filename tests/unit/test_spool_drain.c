/*
 * Unit tests of backlog pacing in the disk spool (spool.drain_rate,
 * spool.historical_after) with clocks the test controls: backlog records go
 * out at most drain_rate per second after a burst of one second's worth,
 * young records are not paced and not marked, wait_ms() says when the next
 * backlog record is due, a rewind does not bypass the pacing, and nothing is
 * lost or duplicated on the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_spool_clock.h"
#include "test_spool_util.h"

#define RATE    50
#define AFTER_S 30

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
	fake_clocks_reset();
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

static struct ioca_queue *open_paced(struct fixture *f, double rate)
{
	struct ioca_spool_config c = clocked_config(rate, AFTER_S);
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(&c, f->dir, &f->cb, err, sizeof(err));
	if (!q)
		fprintf(stderr, "open: %s\n", err);
	return q;
}

/* Take what next() hands out now, up to seq `last`; checks order from *expect. */
static uint64_t take_upto(struct ioca_queue *q, uint64_t *expect, uint64_t last, bool historical,
			  bool ack)
{
	uint64_t n = 0;
	struct ioca_record r;
	while (*expect <= last && ioca_queue_next(q, &r) == IOCA_OK) {
		assert_int_equal(r.seq, *expect);
		assert_true(record_ok(&r));
		assert_int_equal(r.historical, historical);
		(*expect)++;
		n++;
		if (ack)
			ioca_queue_ack(q, r.seq);
	}
	return n;
}

static uint64_t take_all(struct ioca_queue *q, uint64_t *expect, bool historical, bool ack)
{
	return take_upto(q, expect, UINT64_MAX, historical, ack);
}

static void test_backlog_paced_at_drain_rate(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_paced(f, RATE);
	assert_non_null(q);
	uint64_t total = 10 * RATE;
	uint64_t expect = push_aged(q, total, WALL_START_MS - 600 * 1000);
	/* One second's worth at once, then nothing until a token is earned. */
	assert_int_equal(take_all(q, &expect, true, true), RATE);
	int wait = ioca_queue_wait_ms(q, fake_mono);
	assert_in_range(wait, 1, 1000 / RATE + 1);
	/* Then at the rate: 9 more seconds, in 10 ms steps. */
	uint64_t got = RATE;
	for (int step = 0; step < 900; step++) {
		fake_mono += 10;
		fake_wall += 10;
		got += take_all(q, &expect, true, true);
	}
	assert_int_equal(got, total);
	assert_int_equal(expect, total + 1);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	assert_int_equal(ioca_queue_wait_ms(q, fake_mono), -1);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.dropped_records, 0);
	ioca_queue_close(q);
}

static void test_young_records_not_paced(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_paced(f, RATE);
	assert_non_null(q);
	uint64_t n = 20 * RATE;
	uint64_t expect = push_aged(q, n, WALL_START_MS - (AFTER_S - 1) * 1000);
	assert_int_equal(take_all(q, &expect, false, true), n);
	assert_int_equal(ioca_queue_wait_ms(q, fake_mono), -1);
	ioca_queue_close(q);
}

static void test_unlimited_rate_marks_only(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_paced(f, 0);
	assert_non_null(q);
	uint64_t n = 20 * RATE;
	uint64_t expect = push_aged(q, n, WALL_START_MS - (AFTER_S + 1) * 1000);
	assert_int_equal(take_all(q, &expect, true, true), n);
	ioca_queue_close(q);
}

/* Records age while they wait: the first ones go out unmarked, those that
 * crossed historical_after are marked and paced. */
static void test_records_become_backlog_while_waiting(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_paced(f, RATE);
	assert_non_null(q);
	uint64_t expect = push_aged(q, 3 * RATE, WALL_START_MS);
	fake_wall += (AFTER_S + 1) * 1000;
	uint64_t young = push_aged(q, 5, fake_wall);
	assert_int_equal(take_all(q, &expect, true, true), RATE);
	uint64_t got = RATE;
	while (expect < young) {
		fake_mono += 10;
		got += take_upto(q, &expect, young - 1, true, true);
	}
	assert_int_equal(got, 3 * RATE);
	/* Young again right behind the backlog: at once, unmarked. */
	assert_int_equal(take_all(q, &expect, false, true), 5);
	ioca_queue_close(q);
}

/* A rewind hands the window out again: still paced, nothing skipped. */
static void test_rewind_still_paced(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_paced(f, RATE);
	assert_non_null(q);
	uint64_t first = push_aged(q, 2 * RATE, WALL_START_MS - 600 * 1000);
	uint64_t expect = first;
	assert_int_equal(take_all(q, &expect, true, false), RATE);
	ioca_queue_rewind(q);
	fake_mono += 200; /* earns RATE / 5 tokens */
	expect = first;
	assert_int_equal(take_all(q, &expect, true, true), RATE / 5);
	while (expect <= first + 2 * RATE - 1) {
		fake_mono += 10;
		take_all(q, &expect, true, true);
	}
	assert_int_equal(expect, first + 2 * RATE);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.acked, 2 * RATE);
	ioca_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_backlog_paced_at_drain_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_young_records_not_paced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unlimited_rate_marks_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_records_become_backlog_while_waiting, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rewind_still_paced, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
