/*
 * Option tables shared by every sensor plugin (the rule children table) and
 * the cross-field checks of the common keys. The instance and reading keys
 * themselves are macros in sensor.h so that each plugin's table embeds them.
 *
 * Invariant: what ioca_sensor_check() accepts is exactly what rules.c can
 * evaluate without further validation.
 */
#include <math.h>
#include <string.h>

#include "sensor.h"

#define RULE_HOLD_MAX_S 86400.0

const struct ioca_option ioca_sensor_rule_options[] = {
    {.key = "reading",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "name of the reading the rule watches"},
    {.key = "name",
     .type = IOCA_OPT_STRING,
     .help = "rule name in events (default: <reading>_high / <reading>_low)"},
    {.key = "high",
     .type = IOCA_OPT_FLOAT,
     .def_float = IOCA_SENSOR_UNSET,
     .help = "raise threshold.exceeded when the value is above this (1e300: no high limit)"},
    {.key = "high_clear",
     .type = IOCA_OPT_FLOAT,
     .def_float = IOCA_SENSOR_UNSET,
     .help = "clear a high alarm when the value falls below this (default: high)"},
    {.key = "low",
     .type = IOCA_OPT_FLOAT,
     .def_float = -IOCA_SENSOR_UNSET,
     .help = "raise threshold.exceeded when the value is below this (-1e300: no low limit)"},
    {.key = "low_clear",
     .type = IOCA_OPT_FLOAT,
     .def_float = -IOCA_SENSOR_UNSET,
     .help = "clear a low alarm when the value rises above this (default: low)"},
    {.key = "hold_raise",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds the limit must stay exceeded before the event is raised",
     .def_float = 0,
     .min = 0,
     .max = RULE_HOLD_MAX_S},
    {.key = "hold_clear",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds the value must stay past the clear level before the alarm clears",
     .def_float = 0,
     .min = 0,
     .max = RULE_HOLD_MAX_S},
    {.key = "severity",
     .type = IOCA_OPT_ENUM,
     .help = "severity of threshold.exceeded (threshold.cleared is always info)",
     .def_string = "warning",
     .choices = "info|warning|critical"},
    {.key = NULL},
};

static bool is_set(const struct ioca_host *host, const struct ioca_opts *g, const char *key)
{
	return ioca_sensor_is_set(host->opt_float(g, key));
}

static int check_rule(const struct ioca_host *host, const struct ioca_opts *r,
		      ioca_sensor_known_fn known, void *known_ctx, ioca_report_fn report,
		      void *report_ctx)
{
	int problems = 0;
	bool has_high = is_set(host, r, "high");
	bool has_low = is_set(host, r, "low");
	const char *reading = host->opt_string(r, "reading");

	if (!has_high && !has_low) {
		report(report_ctx, r, "rule for '%s' needs 'high' and/or 'low'", reading);
		problems++;
	}
	if (is_set(host, r, "high_clear")) {
		if (!has_high) {
			report(report_ctx, r, "'high_clear' without 'high'");
			problems++;
		} else if (host->opt_float(r, "high_clear") > host->opt_float(r, "high")) {
			report(report_ctx, r, "'high_clear' must not be above 'high'");
			problems++;
		}
	}
	if (is_set(host, r, "low_clear")) {
		if (!has_low) {
			report(report_ctx, r, "'low_clear' without 'low'");
			problems++;
		} else if (host->opt_float(r, "low_clear") < host->opt_float(r, "low")) {
			report(report_ctx, r, "'low_clear' must not be below 'low'");
			problems++;
		}
	}
	if (has_high && has_low && host->opt_float(r, "low") >= host->opt_float(r, "high")) {
		report(report_ctx, r, "'low' must be below 'high'");
		problems++;
	}
	if (known && reading && !known(known_ctx, reading)) {
		report(report_ctx, r, "rule names unknown reading '%s'", reading);
		problems++;
	}
	return problems;
}

int ioca_sensor_check(const struct ioca_host *host, const struct ioca_opts *opts,
		      ioca_sensor_known_fn known, void *known_ctx, ioca_report_fn report,
		      void *report_ctx)
{
	int problems = 0;
	size_t n = host->opt_count(opts, "rules");

	for (size_t i = 0; i < n; i++)
		problems += check_rule(host, host->opt_group_at(opts, "rules", i), known, known_ctx,
				       report, report_ctx);
	return problems;
}

static unsigned count_in_list(const struct ioca_host *host, const struct ioca_opts *opts,
			      const char *list, const char *name)
{
	unsigned n = 0;
	size_t count = host->opt_count(opts, list);

	for (size_t i = 0; i < count; i++) {
		const char *gn = host->opt_string(host->opt_group_at(opts, list, i), "name");

		if (gn && strcmp(gn, name) == 0)
			n++;
	}
	return n;
}

unsigned ioca_sensor_count_named(const struct ioca_host *host, const struct ioca_opts *opts,
				 const char *list, const char *sublist, const char *name)
{
	unsigned n = 0;
	size_t count;

	if (!sublist)
		return count_in_list(host, opts, list, name);
	count = host->opt_count(opts, list);
	for (size_t i = 0; i < count; i++)
		n += count_in_list(host, host->opt_group_at(opts, list, i), sublist, name);
	return n;
}

int ioca_sensor_check_reading(const struct ioca_host *host, const struct ioca_opts *reading,
			      ioca_report_fn report, void *report_ctx)
{
	int problems = 0;
	const char *name = host->opt_string(reading, "name");

	if (host->opt_float(reading, "scale") == 0.0 ||
	    !isfinite(host->opt_float(reading, "scale"))) {
		report(report_ctx, reading, "reading '%s': 'scale' must be a non-zero number",
		       name);
		problems++;
	}
	if (is_set(host, reading, "valid_min") && is_set(host, reading, "valid_max") &&
	    host->opt_float(reading, "valid_min") >= host->opt_float(reading, "valid_max")) {
		report(report_ctx, reading, "reading '%s': 'valid_min' must be below 'valid_max'",
		       name);
		problems++;
	}
	if (name && name[0] == '\0') {
		report(report_ctx, reading, "reading name must not be empty");
		problems++;
	}
	return problems;
}
