/*
 * Reconnect delays: exponential backoff with jitter, free of FFmpeg types.
 * Invariant: the delay is always within [min_ms, max_ms], whatever the inputs.
 */
#ifndef IOCA_CAMERA_BACKOFF_H
#define IOCA_CAMERA_BACKOFF_H

#include <stdint.h>

/*
 * Delay before reconnect attempt `attempt` (0-based): min_ms * 2^attempt capped
 * at max_ms, times a jitter factor from `rand01` in [0,1) spread over +-20 %,
 * clamped to [min_ms, max_ms].
 */
int64_t ioca_cam_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, double rand01);

#endif
