/*
 * Option table, check() and loading of the iio plugin (see iio_config.h).
 * The sensor keys (publish_interval, rules, ... and a channel's name, unit,
 * scale, ...) come from ioca_sensorlib's fragments.
 *
 * Invariant: device ids and channel ids accepted by check() are single path
 * components, so no configured value can make the plugin read outside
 * <sysfs_root>/bus/iio/devices and <sysfs_root>/class/hwmon.
 */
#include "iio_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_S       1000.0
#define DEFAULT_POLL_S 1.0
#define MIN_POLL_S     0.01
#define MAX_POLL_S     86400.0
#define MAX_DEVICES    64
#define MAX_CHANNELS   256

static const struct ioca_option channel_options[] = {
    IOCA_SENSOR_READING_OPTIONS,
    {.key = "channel",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "IIO: in_<channel>_raw/_input, e.g. \"temp\", \"voltage0\", "
	     "\"humidityrelative\"; hwmon: \"temp1\", \"in0\", \"fan1\""},
    {.key = NULL},
};

static const struct ioca_option device_options[] = {
    {.key = "type",
     .type = IOCA_OPT_ENUM,
     .def_string = "iio",
     .choices = "iio|hwmon",
     .help = "iio: <sysfs_root>/bus/iio/devices; hwmon: <sysfs_root>/class/hwmon"},
    {.key = "device",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "directory (\"iio:device0\", \"hwmon3\") or the device's name attribute "
	     "(\"bme280\", \"coretemp\"); names survive renumbering"},
    {.key = "prefix",
     .type = IOCA_OPT_STRING,
     .help = "without `channels`: reading names are <prefix><channel> (default "
	     "\"<device>_\")"},
    {.key = "channels",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = MAX_CHANNELS,
     .children = channel_options,
     .help = "channels to read: { channel; name; unit; scale; ... }; absent: every "
	     "channel of the device"},
    {.key = NULL},
};

const struct ioca_option ioca_iio_options[] = {
    IOCA_SENSOR_INSTANCE_OPTIONS,
    {.key = "sysfs_root",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_PATH,
     .def_string = "/sys",
     .help = "root of the sysfs tree"},
    {.key = "poll_interval",
     .type = IOCA_OPT_FLOAT,
     .def_float = DEFAULT_POLL_S,
     .min = MIN_POLL_S,
     .max = MAX_POLL_S,
     .help = "seconds between two reads of every channel"},
    {.key = "devices",
     .type = IOCA_OPT_GROUP_LIST,
     .flags = IOCA_OPTF_REQUIRED,
     .min_count = 1,
     .max_count = MAX_DEVICES,
     .children = device_options,
     .help = "devices to read: { type; device; channels or prefix }"},
    {.key = NULL},
};

static bool path_component_ok(const char *s)
{
	return s && s[0] && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static enum ioca_sysfs_kind kind_of(const char *s)
{
	return s && strcmp(s, "hwmon") == 0 ? IOCA_SYSFS_HWMON : IOCA_SYSFS_IIO;
}

/* A rule may name a configured channel's reading, or anything when some device lists itself. */
static bool known_reading(void *ctx, const char *name)
{
	const struct ioca_sensor_known_ctx *k = ctx;
	const struct ioca_host *h = k->host;
	size_t nd = h->opt_count(k->opts, "devices");
	for (size_t i = 0; i < nd; i++)
		if (h->opt_count(h->opt_group_at(k->opts, "devices", i), "channels") == 0)
			return true;
	return ioca_sensor_count_named(h, k->opts, "devices", "channels", name) > 0;
}

int ioca_iio_check(const struct ioca_host *host, const struct ioca_opts *opts,
		   ioca_report_fn report, void *report_ctx)
{
	int problems = 0;
	size_t nd = host->opt_count(opts, "devices");
	for (size_t i = 0; i < nd; i++) {
		const struct ioca_opts *d = host->opt_group_at(opts, "devices", i);
		const char *id = host->opt_string(d, "device");
		if (!path_component_ok(id)) {
			report(report_ctx, d,
			       "device '%s' must be a directory or device name, not a path",
			       id ? id : "");
			problems++;
		}
		size_t nc = host->opt_count(d, "channels");
		for (size_t j = 0; j < nc; j++) {
			const struct ioca_opts *c = host->opt_group_at(d, "channels", j);
			const char *chan = host->opt_string(c, "channel");
			problems += ioca_sensor_check_reading(host, c, report, report_ctx);
			if (!path_component_ok(chan) || strlen(chan) >= IOCA_SYSFS_CHAN_MAX) {
				report(report_ctx, c,
				       "channel '%s' must be a channel id such as "
				       "\"temp\" or \"temp1\"",
				       chan ? chan : "");
				problems++;
			}
		}
	}
	struct ioca_sensor_known_ctx k = {host, opts};
	problems += ioca_sensor_check(host, opts, known_reading, &k, report, report_ctx);
	return problems;
}

int ioca_iio_add_channel(struct ioca_iio_device *d, struct ioca_sensor *sensor, unsigned group,
			 const char *chan, const char *name, const char *unit)
{
	if (d->n_channels == d->cap_channels) {
		size_t cap = d->cap_channels ? d->cap_channels * 2 : 8;
		struct ioca_iio_channel *c = realloc(d->channels, cap * sizeof *c);
		if (!c)
			return IOCA_ERROR;
		d->channels = c;
		d->cap_channels = cap;
	}
	const char *derived = NULL;
	double factor = 1.0;
	ioca_sysfs_channel_unit(d->kind, chan, &derived, &factor);
	int idx = ioca_sensor_add_reading(sensor, name, unit ? unit : derived, group);
	if (idx < 0)
		return IOCA_ERROR;
	struct ioca_iio_channel *c = &d->channels[d->n_channels++];
	snprintf(c->chan, sizeof c->chan, "%s", chan);
	c->reading = idx;
	c->failing = false;
	return idx;
}

static int load_device(struct ioca_iio_device *d, unsigned group, const struct ioca_host *host,
		       struct ioca_instance *inst, const struct ioca_opts *g,
		       struct ioca_sensor *sensor)
{
	d->kind = kind_of(host->opt_string(g, "type"));
	d->id = host->opt_string(g, "device");
	d->prefix = host->opt_string(g, "prefix");
	size_t nc = host->opt_count(g, "channels");
	d->auto_channels = nc == 0;
	for (size_t j = 0; j < nc; j++) {
		const struct ioca_opts *c = host->opt_group_at(g, "channels", j);
		const char *name = host->opt_string(c, "name");
		int idx = ioca_iio_add_channel(d, sensor, group, host->opt_string(c, "channel"),
					       name, host->opt_string(c, "unit"));
		if (idx < 0) {
			host->log(inst, IOCA_LOG_ERROR,
				  "iio: cannot register reading '%s' "
				  "(duplicate name?)",
				  name);
			return IOCA_ERROR;
		}
		ioca_sensor_set_conditioning_opts(sensor, idx, c);
	}
	return IOCA_OK;
}

int ioca_iio_config_load(struct ioca_iio_config *cfg, const struct ioca_host *host,
			 struct ioca_instance *inst, const struct ioca_opts *opts,
			 struct ioca_sensor *sensor)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->root = host->opt_string(opts, "sysfs_root");
	cfg->poll_ms = (int64_t)(host->opt_float(opts, "poll_interval") * MS_PER_S);
	size_t nd = host->opt_count(opts, "devices");
	cfg->devices = calloc(nd ? nd : 1, sizeof *cfg->devices);
	if (!cfg->devices) {
		host->log(inst, IOCA_LOG_ERROR, "iio: out of memory");
		return IOCA_ERROR;
	}
	for (size_t i = 0; i < nd; i++) {
		cfg->n_devices++;
		if (load_device(&cfg->devices[i], (unsigned)i, host, inst,
				host->opt_group_at(opts, "devices", i), sensor) != IOCA_OK) {
			ioca_iio_config_free(cfg);
			return IOCA_ERROR;
		}
	}
	return IOCA_OK;
}

void ioca_iio_config_free(struct ioca_iio_config *cfg)
{
	for (size_t i = 0; i < cfg->n_devices; i++)
		free(cfg->devices[i].channels);
	free(cfg->devices);
	cfg->devices = NULL;
	cfg->n_devices = 0;
}
