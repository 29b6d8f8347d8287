/*
 * Clock quality, as the core reports it: samples the clock source once a
 * second, sets the "clock" member of the envelopes the intake builds, and
 * emits agent.clock_unsynced / agent.clock_synced when the kernel's NTP state
 * changes and agent.clock_jump when the wall clock is stepped.
 */
#ifndef IOCA_CLOCK_REPORT_H
#define IOCA_CLOCK_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "clock_source.h"
#include "clock_watch.h"
#include "intake.h"

struct ioca_clock_report {
	const struct ioca_clock_source *src;
	struct ioca_clock_source storage;
	struct ioca_clock_watch watch;
	int64_t due_ms;
	bool announce; /* the first sample was unsynced: say so at the first tick */
};

/* Uses the default source (clock_source.h: the kernel, or a test file) and
 * takes the first sample, so the first envelopes already carry the state. */
void ioca_clock_report_init(struct ioca_clock_report *r, struct ioca_intake *in);
/* Sample when due. Returns true when the sync state changed (status is stale). */
bool ioca_clock_report_tick(struct ioca_clock_report *r, int64_t now_mono_ms,
			    struct ioca_intake *in);
/* Whether the clock was synced at the last sample. */
bool ioca_clock_report_synced(const struct ioca_clock_report *r);

#endif
