/*
 * From parsed line values to sensor samples: maps keys to readings (the
 * configured fields, or, without fields, one reading per key as it first
 * appears) and hands each value to ioca_sensorlib.
 *
 * Invariant: a failed value only ever becomes an error sample of a reading
 * that already exists (configured or seen good before); garbage can neither
 * invent readings nor fault readings the instrument never had.
 */
#ifndef IOCA_SERIAL_FIELDS_H
#define IOCA_SERIAL_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"
#include "line_values.h"
#include "sensor.h"
#include "serial_config.h"

/* Most readings created from keys seen on the line when no fields are configured. */
#define IOCA_SERIAL_MAX_DYNAMIC_READINGS 64

struct ioca_serial_sink {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	const struct ioca_serial_config *cfg;
	size_t dynamic; /* readings created from keys */
	int dynamic_full_logged;
};

/*
 * Turn `vals` into samples at (mono_ms, wall_ms). `status` is the instrument
 * status the line reports: IOCA_READING_CALIBRATING marks its good values
 * calibrating, IOCA_READING_ERROR fails all its values with `status_error`.
 * Return value: the number of samples given to the sensor object.
 */
size_t ioca_serial_sink_values(struct ioca_serial_sink *sink, const struct ioca_line_values *vals,
			       enum ioca_reading_status status, const char *status_error,
			       int64_t mono_ms, int64_t wall_ms);

#endif
