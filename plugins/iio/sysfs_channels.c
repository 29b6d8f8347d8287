/*
 * IIO and hwmon channels in sysfs (see sysfs_channels.h): device lookup by
 * directory or `name`, channel listing, and reading with scale, offset and
 * the conversion from kernel milli-units.
 *
 * Invariant: every path is built with a bounded snprintf and checked; a
 * channel whose raw, scale or offset attribute cannot be read yields no value
 * at all (never a value computed with a guessed scale).
 */
#include "sysfs_channels.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IIO_DEVICES_DIR     "bus/iio/devices"
#define HWMON_DIR           "class/hwmon"
#define IIO_DEVICE_PREFIX   "iio:device"
#define HWMON_DEVICE_PREFIX "hwmon"
#define NAME_ATTR           "name"
/* Old hwmon drivers keep their attributes on the parent device. */
#define HWMON_PARENT_DIR "device"

struct unit_entry {
	const char *type;
	const char *unit;
	double factor;
};

/* IIO: units of the IIO sysfs ABI after scale and offset -> published units. */
static const struct unit_entry IIO_UNITS[] = {
    {"temp", "degC", 0.001},
    {"humidityrelative", "%RH", 0.001},
    {"voltage", "V", 0.001},
    {"current", "A", 0.001},
    {"power", "W", 0.001},
    {"pressure", "hPa", 10.0},
    {"illuminance", "lx", 1.0},
    {"massconcentration", "ug/m3", 1.0},
    {"concentration", "%", 1.0},
    {"accel", "m/s^2", 1.0},
    {"anglvel", "rad/s", 1.0},
    {"magn", "Gs", 1.0},
    {"resistance", "ohm", 1.0},
    {"distance", "m", 1.0},
    {"velocity", "m/s", 1.0},
    {"ph", "pH", 1.0},
    {"electricalconductivity", "S/m", 1.0},
};

/* hwmon: units of the hwmon sysfs ABI -> published units. */
static const struct unit_entry HWMON_UNITS[] = {
    {"temp", "degC", 0.001},  {"in", "V", 0.001},        {"curr", "A", 0.001},
    {"power", "W", 0.000001}, {"energy", "J", 0.000001}, {"humidity", "%RH", 0.001},
    {"fan", "rpm", 1.0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Leading lower-case letters of a channel id: its type or class. */
static size_t type_len(const char *chan)
{
	size_t n = 0;
	while (chan[n] >= 'a' && chan[n] <= 'z')
		n++;
	return n;
}

static const struct unit_entry *unit_lookup(enum ioca_sysfs_kind kind, const char *chan)
{
	const struct unit_entry *t = kind == IOCA_SYSFS_IIO ? IIO_UNITS : HWMON_UNITS;
	size_t n = kind == IOCA_SYSFS_IIO ? COUNT(IIO_UNITS) : COUNT(HWMON_UNITS);
	size_t tl = type_len(chan);
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].type) == tl && strncmp(t[i].type, chan, tl) == 0)
			return &t[i];
	return NULL;
}

void ioca_sysfs_channel_unit(enum ioca_sysfs_kind kind, const char *chan, const char **unit,
			     double *factor)
{
	const struct unit_entry *e = unit_lookup(kind, chan);
	*unit = e ? e->unit : NULL;
	*factor = e ? e->factor : 1.0;
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int is_iio_entry(const struct dirent *d)
{
	return strncmp(d->d_name, IIO_DEVICE_PREFIX, strlen(IIO_DEVICE_PREFIX)) == 0;
}

static int is_hwmon_entry(const struct dirent *d)
{
	return strncmp(d->d_name, HWMON_DEVICE_PREFIX, strlen(HWMON_DEVICE_PREFIX)) == 0;
}

/* The directory holding a device's attributes (hwmonN or hwmonN/device). */
static int attr_dir(const char *devdir, enum ioca_sysfs_kind kind, char *out, size_t cap)
{
	if (kind == IOCA_SYSFS_HWMON && !ioca_sysfs_exists(devdir, NAME_ATTR) &&
	    ioca_sysfs_exists(devdir, HWMON_PARENT_DIR "/" NAME_ATTR))
		return join(out, cap, devdir, HWMON_PARENT_DIR);
	int n = snprintf(out, cap, "%s", devdir);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int ioca_sysfs_find_device(const char *root, enum ioca_sysfs_kind kind, const char *id, char *dir,
			   size_t cap)
{
	char base[IOCA_SYSFS_PATH_MAX];
	if (join(base, sizeof base, root, kind == IOCA_SYSFS_IIO ? IIO_DEVICES_DIR : HWMON_DIR) !=
	    0)
		return -1;
	struct dirent **list = NULL;
	int n =
	    scandir(base, &list, kind == IOCA_SYSFS_IIO ? is_iio_entry : is_hwmon_entry, alphasort);
	if (n < 0)
		return -1;
	int found = -1;
	for (int i = 0; i < n && found < 0; i++) {
		char devdir[IOCA_SYSFS_PATH_MAX];
		char adir[IOCA_SYSFS_PATH_MAX];
		char name[IOCA_SYSFS_VALUE_MAX];
		char reason[IOCA_SYSFS_REASON_MAX];
		if (join(devdir, sizeof devdir, base, list[i]->d_name) != 0 ||
		    attr_dir(devdir, kind, adir, sizeof adir) != 0)
			continue;
		int match = strcmp(list[i]->d_name, id) == 0;
		if (!match && ioca_sysfs_read_string(adir, NAME_ATTR, name, sizeof name, reason,
						     sizeof reason) == 0)
			match = strcmp(name, id) == 0;
		if (match && snprintf(dir, cap, "%s", adir) < (int)cap)
			found = 0;
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return found;
}

/* Channel id of an attribute name, or 0 when it is not a value attribute. */
static int channel_of(const char *attr, enum ioca_sysfs_kind kind, char *chan, size_t cap)
{
	size_t len = strlen(attr);
	size_t start = 0;
	size_t end = 0;
	if (kind == IOCA_SYSFS_IIO) {
		static const char prefix[] = "in_";
		if (strncmp(attr, prefix, sizeof prefix - 1) != 0)
			return 0;
		start = sizeof prefix - 1;
		if (len > 4 && strcmp(attr + len - 4, "_raw") == 0)
			end = len - 4;
		else if (len > 6 && strcmp(attr + len - 6, "_input") == 0)
			end = len - 6;
		else
			return 0;
	} else {
		if (len <= 6 || strcmp(attr + len - 6, "_input") != 0)
			return 0;
		end = len - 6;
		size_t tl = type_len(attr);
		if (tl == 0 || tl >= end || !unit_lookup(kind, attr))
			return 0;
		for (size_t i = tl; i < end; i++)
			if (attr[i] < '0' || attr[i] > '9')
				return 0;
	}
	if (end <= start || end - start >= cap)
		return 0;
	memcpy(chan, attr + start, end - start);
	chan[end - start] = '\0';
	return 1;
}

static int cmp_chan(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int ioca_sysfs_list_channels(const char *dir, enum ioca_sysfs_kind kind, ioca_sysfs_channel_cb cb,
			     void *ctx)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return -1;
	char(*chans)[IOCA_SYSFS_CHAN_MAX] = calloc((size_t)n + 1, IOCA_SYSFS_CHAN_MAX);
	size_t count = 0;
	for (int i = 0; i < n; i++) {
		if (chans && channel_of(list[i]->d_name, kind, chans[count], IOCA_SYSFS_CHAN_MAX))
			count++;
		free(list[i]);
	}
	free(list);
	if (!chans)
		return -1;
	/* in_x_raw and in_x_input name the same channel: sort, then skip repeats. */
	qsort(chans, count, IOCA_SYSFS_CHAN_MAX, cmp_chan);
	int listed = 0;
	for (size_t i = 0; i < count; i++) {
		if (i > 0 && strcmp(chans[i], chans[i - 1]) == 0)
			continue;
		cb(ctx, chans[i]);
		listed++;
	}
	free(chans);
	return listed;
}

/* in_<chan>_<what>, falling back to the type-wide in_<type>_<what>. 0: absent (def used). */
static int iio_param(const char *dir, const char *chan, const char *what, double def, double *out,
		     char *reason, size_t rcap)
{
	char attr[IOCA_SYSFS_CHAN_MAX + 32];
	snprintf(attr, sizeof attr, "in_%s_%s", chan, what);
	if (!ioca_sysfs_exists(dir, attr))
		snprintf(attr, sizeof attr, "in_%.*s_%s", (int)type_len(chan), chan, what);
	if (!ioca_sysfs_exists(dir, attr)) {
		*out = def;
		return 0;
	}
	return ioca_sysfs_read_number(dir, attr, out, reason, rcap);
}

static int read_iio(const char *dir, const char *chan, double *value, char *reason, size_t rcap)
{
	char attr[IOCA_SYSFS_CHAN_MAX + 32];
	snprintf(attr, sizeof attr, "in_%s_input", chan);
	if (ioca_sysfs_exists(dir, attr))
		return ioca_sysfs_read_number(dir, attr, value, reason, rcap);
	double raw = 0.0;
	double scale = 1.0;
	double offset = 0.0;
	snprintf(attr, sizeof attr, "in_%s_raw", chan);
	if (ioca_sysfs_read_number(dir, attr, &raw, reason, rcap) != 0 ||
	    iio_param(dir, chan, "scale", 1.0, &scale, reason, rcap) != 0 ||
	    iio_param(dir, chan, "offset", 0.0, &offset, reason, rcap) != 0)
		return -1;
	*value = (raw + offset) * scale;
	return 0;
}

static int read_hwmon(const char *dir, const char *chan, double *value, char *reason, size_t rcap)
{
	char attr[IOCA_SYSFS_CHAN_MAX + 16];
	snprintf(attr, sizeof attr, "%s_fault", chan);
	double fault = 0.0;
	if (ioca_sysfs_exists(dir, attr) &&
	    ioca_sysfs_read_number(dir, attr, &fault, reason, rcap) == 0 && fault != 0.0) {
		snprintf(reason, rcap, "%s reports a sensor fault", attr);
		return -1;
	}
	snprintf(attr, sizeof attr, "%s_input", chan);
	return ioca_sysfs_read_number(dir, attr, value, reason, rcap);
}

int ioca_sysfs_read_channel(const char *dir, enum ioca_sysfs_kind kind, const char *chan,
			    struct ioca_sysfs_sample *out)
{
	double factor = 1.0;
	out->reason[0] = '\0';
	out->value = 0.0;
	ioca_sysfs_channel_unit(kind, chan, &out->unit, &factor);
	if (strlen(chan) >= IOCA_SYSFS_CHAN_MAX) {
		snprintf(out->reason, sizeof out->reason, "channel name too long");
		return -1;
	}
	double v = 0.0;
	int r = kind == IOCA_SYSFS_IIO ? read_iio(dir, chan, &v, out->reason, sizeof out->reason)
				       : read_hwmon(dir, chan, &v, out->reason, sizeof out->reason);
	if (r != 0)
		return -1;
	if (!isfinite(v * factor)) {
		snprintf(out->reason, sizeof out->reason, "%s out of range after scale and offset",
			 chan);
		return -1;
	}
	out->value = v * factor;
	return 0;
}
