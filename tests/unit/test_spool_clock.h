/*
 * Spool tests with clocks the test controls: fake_mono and fake_wall are
 * what the spool reads as its monotonic and wall clocks (set them, then
 * tick or call next()); clocked_config() points a spool config at them with
 * backlog pacing on. Include after test_spool_util.h.
 */
#ifndef IOCA_TEST_SPOOL_CLOCK_H
#define IOCA_TEST_SPOOL_CLOCK_H

#include "test_spool_util.h"

#define WALL_START_MS      1800000000000LL
#define FAKE_MONO_START_MS 1000

static int64_t fake_mono = FAKE_MONO_START_MS;
static int64_t fake_wall = WALL_START_MS;

static inline int64_t mono(void)
{
	return fake_mono;
}

static inline int64_t wall(void)
{
	return fake_wall;
}

/* Both clocks back at their start (a test's setup). */
static inline void fake_clocks_reset(void)
{
	fake_mono = FAKE_MONO_START_MS;
	fake_wall = WALL_START_MS;
}

/* fsync = never, the fake clocks, drain_rate and historical_after as given,
 * a window large enough never to hold a test back. */
static inline struct ioca_spool_config clocked_config(double drain_rate, int historical_after_s)
{
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.drain_rate = drain_rate;
	c.historical_after_s = historical_after_s;
	c.now_mono_ms = mono;
	c.now_wall_ms = wall;
	c.inflight = 100000;
	return c;
}

/* Push n records accepted at `accepted_ms`; returns the first seq. */
static inline uint64_t push_aged(struct ioca_queue *q, uint64_t n, int64_t accepted_ms)
{
	uint64_t first = ioca_queue_next_seq(q);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), accepted_ms), IOCA_OK);
	return first;
}

#endif
