/*
 * Watching the clock: from successive samples of a clock source, whether the
 * clock's sync state changed and whether the wall clock jumped (the offset
 * between CLOCK_REALTIME and CLOCK_BOOTTIME moved by more than
 * IOCA_CLOCK_JUMP_MS, which NTP slewing never does: it changes the rate by at
 * most 0.5 ms/s).
 *
 * Invariant: pure state, no clock reading of its own; the caller samples and
 * decides what to do with the changes.
 */
#ifndef IOCA_CLOCK_WATCH_H
#define IOCA_CLOCK_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "clock_source.h"

#define IOCA_CLOCK_JUMP_MS 1000

struct ioca_clock_watch {
	bool started;
	bool synced;
	int64_t offset_ms; /* wall - boot at the last sample */
};

struct ioca_clock_change {
	bool sync_changed; /* `synced` is the new state (also on the first sample when unsynced) */
	bool synced;
	bool jumped;
	int64_t jump_ms;                  /* how far the wall clock moved against CLOCK_BOOTTIME */
	int64_t from_wall_ms, to_wall_ms; /* wall time before/after the jump */
};

/* Feed one sample; fills *ch. The first sample reports sync_changed only
 * when it is unsynced (a synced start is the normal case, not news). */
void ioca_clock_watch_update(struct ioca_clock_watch *w, const struct ioca_clock_sample *s,
			     struct ioca_clock_change *ch);

#endif
