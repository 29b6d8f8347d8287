/*
 * Test plugin "cfgtest" for the configuration loader's tests: it declares an
 * option of every type (with ranges, counts, a required child, a secret, a
 * file, a path, an int64 default) and a check() callback with a cross-field rule,
 * so test_config.c can exercise plugin-option validation without depending
 * on the real plugins. It produces nothing when run.
 */
#include <stddef.h>

#include "iocagent/plugin.h"

static const struct ioca_option limit_options[] = {
    {.key = "low", .type = IOCA_OPT_FLOAT, .def_float = 0.0, .help = "lower limit"},
    {.key = "high", .type = IOCA_OPT_FLOAT, .def_float = 100.0, .help = "upper limit"},
    {.key = NULL},
};

static const struct ioca_option zone_options[] = {
    {.key = "name", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_REQUIRED, .help = "zone name"},
    {.key = "polygon",
     .type = IOCA_OPT_FLOAT_ARRAY,
     .flags = IOCA_OPTF_REQUIRED,
     .min = 0.0,
     .max = 1.0,
     .min_count = 6,
     .count_multiple = 2,
     .help = "x1,y1,x2,y2,... in 0..1"},
    {.key = NULL},
};

static const struct ioca_option options[] = {
    {.key = "enabled", .type = IOCA_OPT_BOOL, .def_bool = true, .help = "a boolean"},
    {.key = "count",
     .type = IOCA_OPT_INT,
     .def_int = 5,
     .min = 1,
     .max = 100,
     .help = "an integer 1..100"},
    {.key = "big", .type = IOCA_OPT_INT, .def_int = 10000000000LL, .help = "an int64"},
    {.key = "ratio",
     .type = IOCA_OPT_FLOAT,
     .def_float = 0.5,
     .min = 0.0,
     .max = 1.0,
     .help = "a number 0..1"},
    {.key = "label", .type = IOCA_OPT_STRING, .def_string = "plain", .help = "a string"},
    {.key = "token",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_SECRET,
     .help = "an optional secret"},
    {.key = "cert",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_FILE,
     .help = "an optional readable file"},
    {.key = "device",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_PATH,
     .help = "an optional path that must exist (a device, a directory)"},
    {.key = "mode",
     .type = IOCA_OPT_ENUM,
     .def_string = "fast",
     .choices = "fast|slow",
     .help = "an enum"},
    {.key = "weights",
     .type = IOCA_OPT_FLOAT_ARRAY,
     .min = 0.0,
     .max = 10.0,
     .max_count = 4,
     .help = "up to 4 numbers 0..10"},
    {.key = "tags", .type = IOCA_OPT_STRING_ARRAY, .help = "strings"},
    {.key = "limits",
     .type = IOCA_OPT_GROUP,
     .children = limit_options,
     .help = "a group; low must be below high"},
    {.key = "zones",
     .type = IOCA_OPT_GROUP_LIST,
     .children = zone_options,
     .help = "a list of groups"},
    {.key = NULL},
};

static int check(const struct ioca_host *host, const struct ioca_opts *opts, ioca_report_fn report,
		 void *report_ctx)
{
	int problems = 0;
	const struct ioca_opts *limits = host->opt_group(opts, "limits");
	if (limits && host->opt_float(limits, "low") >= host->opt_float(limits, "high")) {
		report(report_ctx, limits, "limits: low (%g) must be below high (%g)",
		       host->opt_float(limits, "low"), host->opt_float(limits, "high"));
		problems++;
	}
	const char *mode = host->opt_string(opts, "mode");
	if (host->opt_is_set(opts, "token") && mode && mode[0] == 'f') {
		report(report_ctx, opts, "a token needs mode = \"slow\"");
		problems++;
	}
	return problems;
}

static int create(const struct ioca_host *host, struct ioca_instance *inst,
		  const struct ioca_opts *opts, void **state)
{
	(void)host;
	(void)inst;
	(void)opts;
	*state = NULL;
	return IOCA_OK;
}

static int run(void *state)
{
	(void)state;
	return IOCA_OK;
}

static void destroy(void *state)
{
	(void)state;
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "cfgtest",
    .version = "1.0",
    .description = "option table of every type, for configuration tests",
    .options = options,
    .check = check,
    .create = create,
    .run = run,
    .destroy = destroy,
};
