/*
 * Test-only plugin "sensor_script": feeds a scripted sequence of samples of
 * one reading ("level", unit "m") into ioca_sensorlib on a virtual clock
 * (sample i at mono 1000 + i * step_ms, wall EPOCH_MS + the same), flushing
 * after each, then emits "script.done" and idles until stopped. Makes rule,
 * aggregation and fault behaviour exactly reproducible under the harness.
 */
#include <math.h>
#include <stdlib.h>

#include "iocagent/plugin.h"
#include "sensor.h"

#define SCRIPT_START_MONO_MS 1000
#define SCRIPT_EPOCH_MS      1700000000000LL
#define IDLE_WAIT_MS         1000

static const struct ioca_option script_options[] = {
    IOCA_SENSOR_INSTANCE_OPTIONS,
    {.key = "values", .type = IOCA_OPT_FLOAT_ARRAY, .help = "sample values in order"},
    {.key = "errors", .type = IOCA_OPT_FLOAT_ARRAY, .help = "indices of failed samples"},
    {.key = "calibrating", .type = IOCA_OPT_FLOAT_ARRAY, .help = "indices of calibrating samples"},
    {.key = "step_ms",
     .type = IOCA_OPT_INT,
     .help = "virtual time between samples",
     .def_int = 1000,
     .min = 1,
     .max = 3600000},
    {.key = "valid_max",
     .type = IOCA_OPT_FLOAT,
     .help = "physical maximum of the reading",
     .def_float = IOCA_SENSOR_UNSET},
    {.key = NULL},
};

struct script {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	const struct ioca_opts *opts;
	struct ioca_sensor *sensor;
};

static bool listed(const struct script *s, const char *key, size_t index)
{
	size_t n = s->host->opt_count(s->opts, key);

	for (size_t i = 0; i < n; i++)
		if ((size_t)s->host->opt_float_at(s->opts, key, i) == index)
			return true;
	return false;
}

static int script_check(const struct ioca_host *host, const struct ioca_opts *opts,
			ioca_report_fn report, void *report_ctx)
{
	return ioca_sensor_check(host, opts, NULL, NULL, report, report_ctx);
}

static int script_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct script *s = calloc(1, sizeof *s);
	int idx;

	if (!s)
		return IOCA_ERROR;
	s->host = host;
	s->inst = inst;
	s->opts = opts;
	s->sensor = ioca_sensor_new(host, inst, opts);
	idx = s->sensor ? ioca_sensor_add_reading(s->sensor, "level", "m", 0) : IOCA_ERROR;
	if (idx < 0) {
		ioca_sensor_free(s->sensor);
		free(s);
		return IOCA_ERROR;
	}
	if (ioca_sensor_is_set(host->opt_float(opts, "valid_max")))
		ioca_sensor_set_conditioning(s->sensor, idx, 1.0, 0.0, -1e300,
					     host->opt_float(opts, "valid_max"));
	*state = s;
	return IOCA_OK;
}

static int script_run(void *state)
{
	struct script *s = state;
	size_t n = s->host->opt_count(s->opts, "values");
	int64_t step = s->host->opt_int(s->opts, "step_ms");
	int64_t t = SCRIPT_START_MONO_MS;

	for (size_t i = 0; i < n; i++, t += step) {
		double v = s->host->opt_float_at(s->opts, "values", i);

		if (listed(s, "errors", i))
			ioca_sensor_sample(s->sensor, 0, IOCA_READING_ERROR, v, "timeout", t,
					   SCRIPT_EPOCH_MS + t);
		else
			ioca_sensor_sample_raw(s->sensor, 0, listed(s, "calibrating", i), v, t,
					       SCRIPT_EPOCH_MS + t);
		ioca_sensor_flush(s->sensor, t);
	}
	ioca_sensor_flush_all(s->sensor, t);
	s->host->emit_event(s->inst, "script.done", IOCA_SEV_INFO, 0, NULL);
	while (!s->host->wait(s->inst, IDLE_WAIT_MS))
		;
	return IOCA_OK;
}

static void script_stop(void *state)
{
	(void)state;
}

static void script_destroy(void *state)
{
	struct script *s = state;

	ioca_sensor_free(s->sensor);
	free(s);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "sensor_script",
    .version = "1.0.0",
    .description = "test: scripted samples through ioca_sensorlib",
    .options = script_options,
    .check = script_check,
    .create = script_create,
    .run = script_run,
    .stop = script_stop,
    .destroy = script_destroy,
};
