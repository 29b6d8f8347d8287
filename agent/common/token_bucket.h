/*
 * The token bucket that paces an instance to its max_rate. The worker uses it
 * to make the plugin's emit calls wait, the core to stop reading a worker that
 * sends faster anyway: one definition, so both sides agree on the burst.
 *
 * Invariant: tokens never exceed the burst (the rate, at least
 * IOCA_TOKEN_BUCKET_MIN_BURST), so an idle instance may send one second's worth
 * at once and no more. A rate <= 0 means unlimited: every take succeeds.
 */
#ifndef IOCA_TOKEN_BUCKET_H
#define IOCA_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#define IOCA_TOKEN_BUCKET_MIN_BURST 10.0

struct ioca_token_bucket {
	double rate_per_s; /* <= 0: unlimited */
	double tokens;
	int64_t refilled_ms; /* monotonic time of the last refill */
};

/* Start full at `now_ms`. */
void ioca_token_bucket_init(struct ioca_token_bucket *b, double rate_per_s, int64_t now_ms);

/* Add what the time since the last refill earned. */
void ioca_token_bucket_refill(struct ioca_token_bucket *b, int64_t now_ms);

/* Whether one message may go now (after a refill). Unlimited: always. */
bool ioca_token_bucket_ready(const struct ioca_token_bucket *b);

/* Spend one token (may go below zero by at most one message). */
void ioca_token_bucket_take(struct ioca_token_bucket *b);

/* Milliseconds until one token is available, 0 when one is. */
double ioca_token_bucket_wait_ms(const struct ioca_token_bucket *b);

#endif
