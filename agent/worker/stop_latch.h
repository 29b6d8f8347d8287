/*
 * A one-way stop flag that threads can sleep on: once set it stays set, and
 * every sleeper wakes. Backs should_stop()/wait() of the host table in the
 * worker and in the test harness.
 */
#ifndef IOCA_STOP_LATCH_H
#define IOCA_STOP_LATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ioca_stop_latch {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	atomic_bool set;
};

void ioca_stop_latch_init(struct ioca_stop_latch *l);
void ioca_stop_latch_destroy(struct ioca_stop_latch *l);
/* Set the flag and wake every waiter. */
void ioca_stop_latch_set(struct ioca_stop_latch *l);
bool ioca_stop_latch_is_set(const struct ioca_stop_latch *l);
/* Sleep up to timeout_ms or until set; returns whether it is set. */
bool ioca_stop_latch_wait(struct ioca_stop_latch *l, int64_t timeout_ms);

#endif
