/*
 * Options of the iio plugin: the option table, check() and loading them into
 * the per-device / per-channel structures the poll loop walks.
 *
 * Invariant: after ioca_iio_config_load() every configured channel is a
 * registered reading of the sensor object in its device's group (the device's
 * index); devices with no configured channels get theirs when first found.
 * Strings are borrowed from the options (valid until destroy()).
 */
#ifndef IOCA_IIO_CONFIG_H
#define IOCA_IIO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"
#include "sensor.h"
#include "sysfs_channels.h"

struct ioca_iio_channel {
	char chan[IOCA_SYSFS_CHAN_MAX];
	int reading;
	bool failing; /* last read failed (logged once per failure spell) */
};

struct ioca_iio_device {
	enum ioca_sysfs_kind kind;
	const char *id;     /* directory name or `name` attribute */
	const char *prefix; /* reading name prefix for listed channels */
	bool auto_channels; /* no `channels` configured: take every channel found */
	bool listed;        /* auto channels registered */
	bool found;         /* `dir` is valid */
	char dir[IOCA_SYSFS_PATH_MAX];
	struct ioca_iio_channel *channels;
	size_t n_channels, cap_channels;
	int64_t missing_logged_ms;
};

struct ioca_iio_config {
	const char *root;
	int64_t poll_ms;
	struct ioca_iio_device *devices;
	size_t n_devices;
};

extern const struct ioca_option ioca_iio_options[];

int ioca_iio_check(const struct ioca_host *host, const struct ioca_opts *opts,
		   ioca_report_fn report, void *report_ctx);

/* IOCA_OK, or IOCA_ERROR (logged). */
int ioca_iio_config_load(struct ioca_iio_config *cfg, const struct ioca_host *host,
			 struct ioca_instance *inst, const struct ioca_opts *opts,
			 struct ioca_sensor *sensor);

/* Register channel `chan` of device `d` (group `group`) as reading `name`. */
int ioca_iio_add_channel(struct ioca_iio_device *d, struct ioca_sensor *sensor, unsigned group,
			 const char *chan, const char *name, const char *unit);

void ioca_iio_config_free(struct ioca_iio_config *cfg);

#endif
