/*
 * Token bucket pacing: see token_bucket.h.
 */
#include "token_bucket.h"

#define MS_PER_S 1000.0

static double burst_of(const struct ioca_token_bucket *b)
{
	return b->rate_per_s > IOCA_TOKEN_BUCKET_MIN_BURST ? b->rate_per_s
							   : IOCA_TOKEN_BUCKET_MIN_BURST;
}

void ioca_token_bucket_init(struct ioca_token_bucket *b, double rate_per_s, int64_t now_ms)
{
	b->rate_per_s = rate_per_s;
	b->tokens = rate_per_s > 0 ? burst_of(b) : 0;
	b->refilled_ms = now_ms;
}

void ioca_token_bucket_refill(struct ioca_token_bucket *b, int64_t now_ms)
{
	if (b->rate_per_s <= 0)
		return;
	if (now_ms > b->refilled_ms)
		b->tokens += (double)(now_ms - b->refilled_ms) * b->rate_per_s / MS_PER_S;
	double burst = burst_of(b);
	if (b->tokens > burst)
		b->tokens = burst;
	b->refilled_ms = now_ms;
}

bool ioca_token_bucket_ready(const struct ioca_token_bucket *b)
{
	return b->rate_per_s <= 0 || b->tokens >= 1.0;
}

void ioca_token_bucket_take(struct ioca_token_bucket *b)
{
	if (b->rate_per_s > 0)
		b->tokens -= 1.0;
}

double ioca_token_bucket_wait_ms(const struct ioca_token_bucket *b)
{
	if (ioca_token_bucket_ready(b))
		return 0;
	return (1.0 - b->tokens) * MS_PER_S / b->rate_per_s;
}
