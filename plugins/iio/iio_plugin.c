/*
 * iio plugin: Linux IIO and hwmon sensors read from sysfs every
 * poll_interval, published through ioca_sensorlib (telemetry, rules, faults).
 *
 * Devices are looked up by directory or `name` under sysfs_root when first
 * needed and again whenever their directory vanishes (driver reload, hwmon
 * renumbering). A device that is not there fails all its readings
 * ("device_not_found"); a channel whose files are missing or unreadable fails
 * with the reason the reader gives ("missing in_temp_raw", ...).
 *
 * Invariant: run() calls host->wait() or should_stop() at least every
 * LONGEST_WAIT_MS and before every channel read, so stop() takes effect
 * within one sysfs read.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "iio_config.h"
#include "iocagent/plugin.h"
#include "sensor.h"
#include "sensor_loop.h"
#include "sysfs_channels.h"

#define LONGEST_WAIT_MS         1000
#define MISSING_LOG_INTERVAL_MS 60000
#define READING_NAME_MAX        128
#define REASON_NOT_FOUND        "device_not_found"

struct iio_state {
	struct ioca_sensor_loop loop; /* first: see ioca_sensor_loop_plugin_run() */
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	struct ioca_iio_config cfg;
};

struct list_ctx {
	struct iio_state *st;
	struct ioca_iio_device *d;
	unsigned group;
	char prefix[READING_NAME_MAX];
};

/* Reading names of listed channels: the prefix with anything odd made '_' ("iio:device0_"). */
static void default_prefix(const struct ioca_iio_device *d, char *out, size_t cap)
{
	if (d->prefix) {
		snprintf(out, cap, "%s", d->prefix);
		return;
	}
	snprintf(out, cap, "%s_", d->id);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			*p = '_';
}

static void on_channel(void *ctx, const char *chan)
{
	struct list_ctx *l = ctx;
	char name[READING_NAME_MAX + IOCA_SYSFS_CHAN_MAX];
	snprintf(name, sizeof name, "%s%s", l->prefix, chan);
	if (ioca_iio_add_channel(l->d, l->st->sensor, l->group, chan, name, NULL) < 0)
		l->st->host->log(l->st->inst, IOCA_LOG_WARNING,
				 "iio: cannot add reading '%s' (duplicate name?)", name);
	else
		l->st->host->log(l->st->inst, IOCA_LOG_INFO, "iio: reading '%s' from %s/%s", name,
				 l->d->id, chan);
}

static int dir_exists(const char *dir)
{
	struct stat sb;
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool stopping(struct iio_state *st)
{
	return ioca_sensor_loop_stopping(&st->loop);
}

static int resolve(struct iio_state *st, struct ioca_iio_device *d, unsigned group)
{
	int64_t now = st->host->now_mono_ms();
	if (ioca_sysfs_find_device(st->cfg.root, d->kind, d->id, d->dir, sizeof d->dir) != 0) {
		if (d->missing_logged_ms == 0 ||
		    now - d->missing_logged_ms >= MISSING_LOG_INTERVAL_MS) {
			st->host->log(
			    st->inst, IOCA_LOG_WARNING, "iio: %s device '%s' not found under %s",
			    d->kind == IOCA_SYSFS_IIO ? "IIO" : "hwmon", d->id, st->cfg.root);
			d->missing_logged_ms = now;
		}
		st->host->stat_add(st->inst, "devices_missing", 1);
		return IOCA_ERROR;
	}
	d->found = true;
	d->missing_logged_ms = 0;
	st->host->log(st->inst, IOCA_LOG_INFO, "iio: device '%s' at %s", d->id, d->dir);
	if (d->auto_channels && !d->listed) {
		struct list_ctx l = {.st = st, .d = d, .group = group};
		default_prefix(d, l.prefix, sizeof l.prefix);
		if (ioca_sysfs_list_channels(d->dir, d->kind, on_channel, &l) > 0)
			d->listed = true;
	}
	return IOCA_OK;
}

static void poll_device(struct iio_state *st, struct ioca_iio_device *d, unsigned group)
{
	int64_t mono = st->host->now_mono_ms();
	int64_t wall = st->host->now_wall_ms();
	if (d->found && !dir_exists(d->dir)) {
		d->found = false;
		st->host->log(st->inst, IOCA_LOG_WARNING, "iio: device '%s' disappeared from %s",
			      d->id, d->dir);
	}
	if (!d->found && resolve(st, d, group) != IOCA_OK) {
		ioca_sensor_fail_group(st->sensor, group, REASON_NOT_FOUND, mono, wall);
		return;
	}
	for (size_t i = 0; i < d->n_channels && !stopping(st); i++) {
		struct ioca_iio_channel *c = &d->channels[i];
		struct ioca_sysfs_sample s;
		st->host->stat_add(st->inst, "reads", 1);
		if (ioca_sysfs_read_channel(d->dir, d->kind, c->chan, &s) == 0) {
			if (c->failing)
				st->host->log(st->inst, IOCA_LOG_INFO, "iio: %s/%s reads again",
					      d->id, c->chan);
			c->failing = false;
			ioca_sensor_sample_raw(st->sensor, c->reading, false, s.value, mono, wall);
			continue;
		}
		st->host->stat_add(st->inst, "read_errors", 1);
		if (!c->failing)
			st->host->log(st->inst, IOCA_LOG_WARNING, "iio: %s/%s: %s", d->id, c->chan,
				      s.reason);
		c->failing = true;
		ioca_sensor_sample(st->sensor, c->reading, IOCA_READING_ERROR, 0.0, s.reason, mono,
				   wall);
	}
}

/* One poll round of every device (ioca_sensor_poll_fn). */
static int64_t iio_poll(void *ctx, int64_t due_ms, int64_t now_ms)
{
	struct iio_state *st = ctx;

	(void)now_ms;
	for (size_t i = 0; i < st->cfg.n_devices && !stopping(st); i++)
		poll_device(st, &st->cfg.devices[i], (unsigned)i);
	return ioca_sensor_next_period(due_ms, st->cfg.poll_ms, st->host->now_mono_ms());
}

static void iio_destroy(void *state)
{
	struct iio_state *st = state;
	if (!st)
		return;
	ioca_iio_config_free(&st->cfg);
	ioca_sensor_loop_plugin_free(st);
}

static int iio_create(const struct ioca_host *host, struct ioca_instance *inst,
		      const struct ioca_opts *opts, void **state)
{
	struct iio_state *st =
	    ioca_sensor_loop_plugin_new(sizeof *st, host, inst, opts, iio_poll, LONGEST_WAIT_MS);
	if (!st)
		return IOCA_ERROR;
	st->host = host;
	st->inst = inst;
	st->sensor = st->loop.sensor;
	if (ioca_iio_config_load(&st->cfg, host, inst, opts, st->sensor) != IOCA_OK) {
		iio_destroy(st);
		return IOCA_ERROR;
	}
	*state = st;
	return IOCA_OK;
}

IOCA_PLUGIN_DESCRIPTOR(.name = "iio", .version = "1.0.0",
		       .description = "Linux IIO and hwmon sensors read from sysfs",
		       .options = ioca_iio_options, .check = ioca_iio_check, .create = iio_create,
		       .run = ioca_sensor_loop_plugin_run, .stop = ioca_sensor_loop_plugin_stop,
		       .destroy = iio_destroy);
