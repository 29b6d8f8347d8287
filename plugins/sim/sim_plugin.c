/*
 * sim: synthetic telemetry and events at a configurable rate, for demos,
 * tests and benchmarks. The schedule is absolute (message n is due at
 * n / rate seconds after start), so the rate holds on average at any speed,
 * from one message a minute to as fast as the host takes them.
 *
 * Threshold rules (`rules`, the same keys as every sensor plugin) are
 * evaluated by ioca_sensorlib on every sampled value, so demos show
 * threshold.exceeded / threshold.cleared; the telemetry itself stays sim's own
 * (one message per tick, nothing aggregated).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iocagent/plugin.h"
#include "sensor.h"
#include "sim_signal.h"

#define SIM_MAX_SIGNALS 64
#define SIM_MAX_WAIT_MS 1000
#define SIM_MAX_BATCH   4096
#define SIM_PAD_MAX     65536

static const struct ioca_option signal_options[] = {
    {.key = "name", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_REQUIRED, .help = "reading name"},
    {.key = "unit", .type = IOCA_OPT_STRING, .def_string = "", .help = "unit of the reading"},
    {.key = "shape",
     .type = IOCA_OPT_ENUM,
     .def_string = "sine",
     .choices = "sine|random_walk|step|constant",
     .help = "how the value moves"},
    {.key = "min", .type = IOCA_OPT_FLOAT, .def_float = 0, .help = "lowest value"},
    {.key = "max", .type = IOCA_OPT_FLOAT, .def_float = 100, .help = "highest value"},
    {.key = "period",
     .type = IOCA_OPT_FLOAT,
     .def_float = 60,
     .min = 0.001,
     .max = 1e9,
     .help = "sine period / time per step level, seconds"},
    {.key = "step",
     .type = IOCA_OPT_FLOAT,
     .def_float = 1,
     .min = 0,
     .max = 1e12,
     .help = "random walk: largest change per sample; step: size of a level"},
    {.key = NULL},
};

static const struct ioca_option sim_options[] = {
    {.key = "rate",
     .type = IOCA_OPT_FLOAT,
     .def_float = 1,
     .min = 0.0001,
     .max = 1e7,
     .help = "messages per second"},
    {.key = "kind",
     .type = IOCA_OPT_ENUM,
     .def_string = "telemetry",
     .choices = "telemetry|event",
     .help = "emit telemetry or sim.tick events"},
    {.key = "count",
     .type = IOCA_OPT_INT,
     .def_int = 0,
     .min = 0,
     .max = 1e15,
     .help = "stop emitting after this many messages (0: never)"},
    {.key = "event_type",
     .type = IOCA_OPT_STRING,
     .def_string = "sim.tick",
     .help = "type of the events (kind = event)"},
    {.key = "severity",
     .type = IOCA_OPT_ENUM,
     .def_string = "info",
     .choices = "info|warning|critical",
     .help = "severity of the events"},
    {.key = "payload_bytes",
     .type = IOCA_OPT_INT,
     .def_int = 0,
     .min = 0,
     .max = SIM_PAD_MAX,
     .help = "pad event data with a string of this many bytes"},
    {.key = "seed", .type = IOCA_OPT_INT, .def_int = 1, .help = "random walk seed"},
    {.key = "signals",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = SIM_MAX_SIGNALS,
     .children = signal_options,
     .help = "readings to simulate (default: temperature sine and pm25 random walk)"},
    {.key = "rules",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = IOCA_SENSOR_MAX_RULES,
     .children = ioca_sensor_rule_options,
     .help = "threshold rules on the simulated readings (see docs/sensors.md)"},
    {.key = NULL},
};

struct sim {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	double rate;
	bool events;
	int64_t count;
	char *event_type;
	enum ioca_severity severity;
	char *pad;
	struct sim_signal signals[SIM_MAX_SIGNALS];
	size_t n_signals;
	uint64_t sent;
	struct ioca_sensor *sensor; /* rules; NULL when there are none */
};

/* Reading names a rule may name: the configured signals, or the defaults. */
static bool sim_known_reading(void *ctx, const char *name)
{
	const struct ioca_sensor_known_ctx *k = ctx;

	if (k->host->opt_count(k->opts, "signals") == 0)
		return strcmp(name, "temperature") == 0 || strcmp(name, "pm25") == 0;
	return ioca_sensor_count_named(k->host, k->opts, "signals", NULL, name) > 0;
}

static void default_signals(struct sim *sim)
{
	sim->signals[0] = (struct sim_signal){.name = "temperature",
					      .unit = "Cel",
					      .shape = SIM_SINE,
					      .min = 20,
					      .max = 35,
					      .period_s = 600};
	sim->signals[1] = (struct sim_signal){.name = "pm25",
					      .unit = "ug/m3",
					      .shape = SIM_RANDOM_WALK,
					      .min = 0,
					      .max = 150,
					      .step = 2};
	sim->n_signals = 2;
}

static int sim_check(const struct ioca_host *host, const struct ioca_opts *opts,
		     ioca_report_fn report, void *ctx)
{
	int problems = 0;
	size_t n = host->opt_count(opts, "signals");
	for (size_t i = 0; i < n; i++) {
		const struct ioca_opts *g = host->opt_group_at(opts, "signals", i);
		if (host->opt_float(g, "min") > host->opt_float(g, "max")) {
			report(ctx, g, "signal '%s': min is above max",
			       host->opt_string(g, "name"));
			problems++;
		}
	}
	struct ioca_sensor_known_ctx names = {.host = host, .opts = opts};
	problems += ioca_sensor_check(host, opts, sim_known_reading, &names, report, ctx);
	const char *type = host->opt_string(opts, "event_type");
	for (const char *p = type; p && *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '.')) {
			report(ctx, opts, "event_type '%s' may only contain a-z, 0-9, '_' and '.'",
			       type);
			problems++;
			break;
		}
	}
	return problems;
}

static int sim_create(const struct ioca_host *host, struct ioca_instance *inst,
		      const struct ioca_opts *opts, void **state)
{
	struct sim *sim = calloc(1, sizeof *sim);
	if (!sim)
		return IOCA_ERROR;
	sim->host = host;
	sim->inst = inst;
	sim->rate = host->opt_float(opts, "rate");
	sim->events = strcmp(host->opt_string(opts, "kind"), "event") == 0;
	sim->count = host->opt_int(opts, "count");
	sim->event_type = strdup(host->opt_string(opts, "event_type"));
	sim->severity =
	    ioca_sensor_severity_from_name(host->opt_string(opts, "severity"), IOCA_SEV_INFO);
	int64_t pad = host->opt_int(opts, "payload_bytes");
	if (pad > 0) {
		sim->pad = malloc((size_t)pad + 1);
		if (sim->pad) {
			memset(sim->pad, 'x', (size_t)pad);
			sim->pad[pad] = '\0';
		}
	}
	uint64_t seed = (uint64_t)host->opt_int(opts, "seed");
	size_t n = host->opt_count(opts, "signals");
	for (size_t i = 0; i < n && i < SIM_MAX_SIGNALS; i++) {
		const struct ioca_opts *g = host->opt_group_at(opts, "signals", i);
		struct sim_signal *s = &sim->signals[sim->n_signals++];
		s->name = host->opt_string(g, "name");
		s->unit = host->opt_string(g, "unit");
		s->shape = (enum sim_shape)sim_shape_parse(host->opt_string(g, "shape"));
		s->min = host->opt_float(g, "min");
		s->max = host->opt_float(g, "max");
		s->period_s = host->opt_float(g, "period");
		s->step = host->opt_float(g, "step");
	}
	if (sim->n_signals == 0)
		default_signals(sim);
	for (size_t i = 0; i < sim->n_signals; i++)
		sim_signal_init(&sim->signals[i], seed + i);
	if (host->opt_count(opts, "rules") > 0) {
		sim->sensor = ioca_sensor_new(host, inst, opts);
		for (size_t i = 0; sim->sensor && i < sim->n_signals; i++)
			ioca_sensor_add_reading(sim->sensor, sim->signals[i].name,
						sim->signals[i].unit && *sim->signals[i].unit
						    ? sim->signals[i].unit
						    : NULL,
						0);
	}
	if (!sim->event_type || (pad > 0 && !sim->pad) ||
	    (host->opt_count(opts, "rules") > 0 && !sim->sensor)) {
		ioca_sensor_free(sim->sensor);
		free(sim->event_type);
		free(sim->pad);
		free(sim);
		return IOCA_ERROR;
	}
	*state = sim;
	return IOCA_OK;
}

/* Let the rules see one sampled value of signal i. */
static void feed_rules(struct sim *sim, size_t i, double value)
{
	const struct ioca_host *h = sim->host;

	if (sim->sensor)
		ioca_sensor_sample(sim->sensor, (int)i, IOCA_READING_OK, value, NULL,
				   h->now_mono_ms(), h->now_wall_ms());
}

static int emit_one(struct sim *sim, double t_s)
{
	const struct ioca_host *h = sim->host;
	if (!sim->events) {
		struct ioca_reading r[SIM_MAX_SIGNALS];
		for (size_t i = 0; i < sim->n_signals; i++) {
			struct sim_signal *s = &sim->signals[i];
			r[i] = (struct ioca_reading){.name = s->name,
						     .value = sim_signal_sample(s, t_s),
						     .unit = s->unit && *s->unit ? s->unit : NULL,
						     .status = IOCA_READING_OK};
			feed_rules(sim, i, r[i].value);
		}
		return h->emit_telemetry(sim->inst, 0, r, sim->n_signals);
	}
	char small[256];
	char *data = small;
	double v = sim_signal_sample(&sim->signals[0], t_s);
	feed_rules(sim, 0, v);
	size_t need = 128 + (sim->pad ? strlen(sim->pad) : 0);
	if (need > sizeof small) {
		data = malloc(need);
		if (!data)
			return IOCA_ERROR;
	}
	snprintf(data, need, "{\"n\":%" PRIu64 ",\"value\":%.3f%s%s%s}", sim->sent + 1, v,
		 sim->pad ? ",\"pad\":\"" : "", sim->pad ? sim->pad : "", sim->pad ? "\"" : "");
	int rc = h->emit_event(sim->inst, sim->event_type, sim->severity, 0, data);
	if (data != small)
		free(data);
	return rc;
}

static int sim_run(void *state)
{
	struct sim *sim = state;
	const struct ioca_host *h = sim->host;
	int64_t start = h->now_mono_ms();
	while (!h->should_stop(sim->inst)) {
		if (sim->count && (int64_t)sim->sent >= sim->count) {
			if (h->wait(sim->inst, SIM_MAX_WAIT_MS))
				break;
			continue;
		}
		int64_t now = h->now_mono_ms();
		double elapsed_s = (double)(now - start) / 1000.0;
		uint64_t due = (uint64_t)floor(elapsed_s * sim->rate) + 1;
		if (sim->count && due > (uint64_t)sim->count)
			due = (uint64_t)sim->count;
		unsigned batch = 0;
		while (sim->sent < due && batch++ < SIM_MAX_BATCH) {
			if (emit_one(sim, elapsed_s) != IOCA_OK)
				h->stat_add(sim->inst, "emit_errors", 1);
			sim->sent++;
		}
		h->stat_set(sim->inst, "sent", (double)sim->sent);
		if (sim->sent < due)
			continue; /* behind schedule: keep going, checking should_stop */
		double next_s = (double)sim->sent / sim->rate;
		int64_t wait_ms = (int64_t)ceil(next_s * 1000.0) - (now - start);
		if (wait_ms > SIM_MAX_WAIT_MS)
			wait_ms = SIM_MAX_WAIT_MS;
		if (wait_ms > 0 && h->wait(sim->inst, wait_ms))
			break;
	}
	return IOCA_OK;
}

static void sim_stop(void *state)
{
	(void)state; /* run() polls should_stop()/wait(): nothing to interrupt */
}

static void sim_destroy(void *state)
{
	struct sim *sim = state;
	ioca_sensor_free(sim->sensor);
	free(sim->event_type);
	free(sim->pad);
	free(sim);
}

IOCA_PLUGIN_DESCRIPTOR(.name = "sim", .version = "1.0.0",
		       .description = "synthetic telemetry and events at a configurable rate",
		       .options = sim_options, .check = sim_check, .create = sim_create,
		       .run = sim_run, .stop = sim_stop, .destroy = sim_destroy);
