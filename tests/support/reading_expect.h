/*
 * Expectations on readings in telemetry recorded by the in-process harness
 * (plugin_harness.h), for cmocka plugin tests: find a reading by name in a
 * record's JSON, and wait for a telemetry record whose reading has an expected
 * status and value (ok) or reason (error), failing the test otherwise; and
 * the sensor.fault / sensor.recovered events that name the reading.
 *
 * Invariant: a match is exact (status and reason in full, value within the
 * given tolerance) and is looked for only among telemetry records at index
 * >= `from`, within the given wait; a failure names the newest record that
 * mentions the reading.
 */
#ifndef IOCA_READING_EXPECT_H
#define IOCA_READING_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_harness.h"

/* What differs between tests: how long to wait, how close a value must be, how strict. */
struct ioca_expect {
	int64_t wait_ms;   /* longest wait for a matching telemetry record */
	double eps;        /* largest difference from the expected value */
	bool strict_value; /* fail when a reading's value is neither a number nor null */
};

/* One reading of a telemetry record; strings "" when absent, value NaN unless a number. */
struct ioca_expect_reading {
	char status[16];
	char error[160];
	char unit[16];
	double value;
	int has_value;
	size_t record; /* index among telemetry records (set by the waits) */
};

/* Fill `g` from reading `name` in record JSON `json`; whether it is there. */
bool ioca_expect_reading_in(const struct ioca_expect *x, const char *json, const char *name,
			    struct ioca_expect_reading *g);

/* JSON of the newest record mentioning `name`, or "none" (for failure messages). */
const char *ioca_expect_last_with(struct ioca_harness *h, const char *name);

/* Whether `g` has `status`, then the value (ok) or the reason `error` (error). */
bool ioca_expect_matches(const struct ioca_expect *x, const struct ioca_expect_reading *g,
			 const char *status, double value, const char *error);

/* The first telemetry record at index >= from whose reading `name` matches; fails if none. */
struct ioca_expect_reading ioca_expect_wait_match(const struct ioca_expect *x,
						  struct ioca_harness *h, const char *name,
						  size_t from, const char *status, double value,
						  const char *error);

/* Wait for `name` ok with `value` at index >= from, assert its unit; the record index. */
size_t ioca_expect_ok(const struct ioca_expect *x, struct ioca_harness *h, const char *name,
		      size_t from, double value, const char *unit);

/* Wait for `name` in error with reason `error` at index >= from; the record index. */
size_t ioca_expect_error(const struct ioca_expect *x, struct ioca_harness *h, const char *name,
			 size_t from, const char *error);

/* The skip-th event of `type` (within wait_ms) must have reason `error` and list `reading`. */
void ioca_expect_event(const struct ioca_expect *x, struct ioca_harness *h, const char *type,
		       size_t skip, const char *error, const char *reading);

#endif
