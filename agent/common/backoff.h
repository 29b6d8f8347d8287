/*
 * Restart backoff: 1 s doubling to 60 s by default; reset once the thing
 * restarted has been healthy for a while (a minute for workers).
 */
#ifndef IOCA_BACKOFF_H
#define IOCA_BACKOFF_H

#include <stdint.h>

struct ioca_backoff {
	int64_t min_ms;
	int64_t max_ms;
	int64_t current_ms;  /* delay the next failure will wait; 0 before the first */
	unsigned jitter_pct; /* +- this percent of randomness (0: none) */
};

void ioca_backoff_init(struct ioca_backoff *b, int64_t min_ms, int64_t max_ms, unsigned jitter_pct);
/* A failure: returns how long to wait before the next attempt. */
int64_t ioca_backoff_next(struct ioca_backoff *b);
/* Healthy again: the next failure waits min_ms. */
void ioca_backoff_reset(struct ioca_backoff *b);

#endif
