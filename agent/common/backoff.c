/* Exponential backoff with optional jitter (see backoff.h). */
#include "backoff.h"

#include <stdlib.h>

void ioca_backoff_init(struct ioca_backoff *b, int64_t min_ms, int64_t max_ms, unsigned jitter_pct)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->current_ms = 0;
	b->jitter_pct = jitter_pct > 100 ? 100 : jitter_pct;
}

int64_t ioca_backoff_next(struct ioca_backoff *b)
{
	if (b->current_ms == 0)
		b->current_ms = b->min_ms;
	else if (b->current_ms < b->max_ms)
		b->current_ms = b->current_ms * 2 > b->max_ms ? b->max_ms : b->current_ms * 2;
	int64_t delay = b->current_ms;
	if (b->jitter_pct) {
		int64_t span = delay * b->jitter_pct / 100;
		if (span > 0)
			delay += (int64_t)(random() % (2 * span + 1)) - span;
	}
	return delay;
}

void ioca_backoff_reset(struct ioca_backoff *b)
{
	b->current_ms = 0;
}
