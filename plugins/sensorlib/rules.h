/*
 * Threshold rules of ioca_sensorlib (internal to the library).
 *
 * One rule watches one reading for a high and/or a low limit. State machine
 * per rule, driven only by good samples and their monotonic times:
 *
 *   normal --(beyond limit)--> raising --(still beyond after hold_raise)--> active
 *   active --(past clear level)--> clearing --(still past after hold_clear)--> normal
 *
 * A sample that is back inside during `raising` returns to normal, one that is
 * beyond the clear level again during `clearing` returns to active: hold times
 * are debounce, so a value hovering at a limit never produces flapping events.
 * Invariant: threshold.exceeded and threshold.cleared strictly alternate per
 * rule, starting with exceeded.
 */
#ifndef IOCA_SENSOR_RULES_H
#define IOCA_SENSOR_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "iocagent/plugin.h"

enum ioca_rule_state {
	IOCA_RULE_NORMAL,
	IOCA_RULE_RAISING,
	IOCA_RULE_ACTIVE,
	IOCA_RULE_CLEARING,
};

enum ioca_rule_dir {
	IOCA_RULE_HIGH,
	IOCA_RULE_LOW,
};

struct ioca_rule {
	char *reading;
	char *name; /* NULL: <reading>_high / <reading>_low */
	bool has_high, has_low;
	double high, high_clear, low, low_clear;
	int64_t hold_raise_ms, hold_clear_ms;
	enum ioca_severity severity;

	enum ioca_rule_state state;
	enum ioca_rule_dir dir; /* of the pending or active alarm */
	int64_t since_mono_ms;  /* when raising / clearing started */
	int next;               /* next rule of the same reading, -1 at the end */
};

/* Fill `r` from one `rules` group. IOCA_OK or IOCA_ERROR (out of memory). */
int ioca_rule_init(struct ioca_rule *r, const struct ioca_host *host, const struct ioca_opts *g);
void ioca_rule_fini(struct ioca_rule *r);

/* Feed one good sample; emits threshold.* through `host` when the state says so. */
void ioca_rule_eval(struct ioca_rule *r, const struct ioca_host *host, struct ioca_instance *inst,
		    const char *unit, double value, int64_t mono_ms, int64_t wall_ms);

#endif
