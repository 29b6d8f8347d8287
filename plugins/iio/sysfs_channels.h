/*
 * Linux IIO and hwmon devices in sysfs: finding a device, listing its value
 * channels, and reading one channel as a number in published units.
 *
 *   IIO   <root>/bus/iio/devices/iio:deviceN/in_<chan>_raw (x scale, + offset)
 *         or in_<chan>_input (already processed); value = (raw + offset) * scale,
 *         scale and offset per channel or shared per type (in_<type>_scale).
 *   hwmon <root>/class/hwmon/hwmonN/<chan>_input with chan temp1, in0, curr1,
 *         power1, energy1, humidity1, fan1 (attributes in hwmonN/ or, for
 *         old drivers, hwmonN/device/).
 *
 * The kernel's milli-units are converted: IIO temp (m degC), voltage (mV),
 * current (mA), power (mW), humidityrelative (m %RH), pressure (kPa -> hPa);
 * hwmon temp (m degC), in (mV), curr (mA), power (uW), energy (uJ),
 * humidity (m %RH), fan (RPM).
 *
 * Invariant: a channel read either yields a finite value with its unit or a
 * reason naming the attribute that failed. No dependency on the plugin ABI.
 */
#ifndef IOCA_IIO_SYSFS_CHANNELS_H
#define IOCA_IIO_SYSFS_CHANNELS_H

#include <stddef.h>

#include "sysfs_attr.h"

/* Longest channel id kept ("voltage0", "temp1", "massconcentration_pm2p5"). */
#define IOCA_SYSFS_CHAN_MAX 64

enum ioca_sysfs_kind { IOCA_SYSFS_IIO, IOCA_SYSFS_HWMON };

struct ioca_sysfs_sample {
	double value;
	const char *unit;                   /* static; NULL when the type has none */
	char reason[IOCA_SYSFS_REASON_MAX]; /* set when the read failed */
};

/*
 * Find the device directory of `id` under `root`: `id` is either the
 * directory name ("iio:device0", "hwmon2") or the device's `name` attribute
 * ("bme280", "coretemp"); the first match in name order wins.
 * Return value: 0 with `dir` filled, or -1 ("not found").
 */
int ioca_sysfs_find_device(const char *root, enum ioca_sysfs_kind kind, const char *id, char *dir,
			   size_t cap);

/* Called once per channel, in name order. */
typedef void (*ioca_sysfs_channel_cb)(void *ctx, const char *chan);

/* List the value channels of a device directory. Return value: count, or -1. */
int ioca_sysfs_list_channels(const char *dir, enum ioca_sysfs_kind kind, ioca_sysfs_channel_cb cb,
			     void *ctx);

/* Read one channel. Return value: 0 with value and unit, or -1 with reason. */
int ioca_sysfs_read_channel(const char *dir, enum ioca_sysfs_kind kind, const char *chan,
			    struct ioca_sysfs_sample *out);

/* Unit and factor from kernel units to published units for a channel id. */
void ioca_sysfs_channel_unit(enum ioca_sysfs_kind kind, const char *chan, const char **unit,
			     double *factor);

#endif
