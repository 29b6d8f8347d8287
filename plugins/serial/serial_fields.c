/*
 * Mapping of parsed values to readings (see serial_fields.h).
 *
 * Invariant: readings are only ever added in group 0, so the whole instrument
 * publishes one telemetry message and fails as one group.
 */
#include "serial_fields.h"

#include <string.h>

static int configured_reading(const struct ioca_serial_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_fields; i++)
		if (strcmp(cfg->fields[i].key, key) == 0)
			return cfg->fields[i].reading;
	return IOCA_ERROR;
}

/* Without fields: the reading named like the key, created on its first good value. */
static int dynamic_reading(struct ioca_serial_sink *sink, const struct ioca_line_value *v)
{
	int idx = ioca_sensor_find(sink->sensor, v->key);
	if (idx >= 0 || v->error)
		return idx;
	if (sink->dynamic >= IOCA_SERIAL_MAX_DYNAMIC_READINGS) {
		if (!sink->dynamic_full_logged)
			sink->host->log(sink->inst, IOCA_LOG_WARNING,
					"serial: more than %d distinct keys; ignoring new key '%s' "
					"(configure `fields`)",
					IOCA_SERIAL_MAX_DYNAMIC_READINGS, v->key);
		sink->dynamic_full_logged = 1;
		sink->host->stat_add(sink->inst, "keys_ignored", 1);
		return IOCA_ERROR;
	}
	idx = ioca_sensor_add_reading(sink->sensor, v->key, v->unit, 0);
	if (idx >= 0) {
		sink->dynamic++;
		sink->host->log(sink->inst, IOCA_LOG_INFO, "serial: new reading '%s'%s%s", v->key,
				v->unit ? " in " : "", v->unit ? v->unit : "");
	}
	return idx;
}

size_t ioca_serial_sink_values(struct ioca_serial_sink *sink, const struct ioca_line_values *vals,
			       enum ioca_reading_status status, const char *status_error,
			       int64_t mono_ms, int64_t wall_ms)
{
	size_t samples = 0;
	for (size_t i = 0; i < vals->count; i++) {
		const struct ioca_line_value *v = &vals->v[i];
		int idx = sink->cfg->n_fields > 0 ? configured_reading(sink->cfg, v->key)
						  : dynamic_reading(sink, v);
		if (idx < 0)
			continue;
		if (v->error || status == IOCA_READING_ERROR)
			ioca_sensor_sample(sink->sensor, idx, IOCA_READING_ERROR, 0.0,
					   v->error ? v->error : status_error, mono_ms, wall_ms);
		else
			ioca_sensor_sample_raw(sink->sensor, idx,
					       status == IOCA_READING_CALIBRATING, v->value,
					       mono_ms, wall_ms);
		samples++;
	}
	return samples;
}
