/*
 * "Not set" for optional numbers of sensor options (limits, ranges).
 *
 * Optional numbers default to +/-IOCA_SENSOR_UNSET, a finite sentinel (finite
 * so that it survives the configuration's trip to the worker). The sign is
 * chosen so that the default also works as a plain number: a minimum defaults
 * to -1e300, a maximum to +1e300, i.e. no limit.
 *
 * Invariant: this header depends on nothing of ioca_sensorlib, so the
 * library's files (sensor.c, rules.c, sensor_options.c) include it without
 * including each other.
 */
#ifndef IOCA_SENSOR_UNSET_H
#define IOCA_SENSOR_UNSET_H

#include <math.h>
#include <stdbool.h>

/* Default of optional numbers: "not set". */
#define IOCA_SENSOR_UNSET 1e300

/* Whether an optional number was given (is not a +/-IOCA_SENSOR_UNSET default). */
static inline bool ioca_sensor_is_set(double v)
{
	return fabs(v) < IOCA_SENSOR_UNSET / 2;
}

#endif
