/*
 * libFuzzer target: the sysfs readers on real files. The input is split at
 * 0xFF bytes into the texts of a device's `name` attribute and of one
 * channel's raw/input, scale and offset (or hwmon _fault) attributes; the
 * first byte picks IIO or hwmon and which attributes exist. The files are
 * written into a device directory under a temporary root, then the device is
 * looked up, listed and read as the plugin does.
 *
 * Invariant checked: a read yields a finite value, or fails with a reason.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs_channels.h"

#define PARTS     4
#define SEPARATOR 0xFF

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];
static char iio_dir[IOCA_SYSFS_PATH_MAX];
static char hwmon_dir[IOCA_SYSFS_PATH_MAX];

static const char *const IIO_FILES[PARTS] = {"name", "in_voltage0_raw", "in_voltage0_scale",
					     "in_voltage_offset"};
static const char *const HWMON_FILES[PARTS] = {"name", "temp1_input", "temp1_fault", "temp2_input"};

static const char *const DIRS[] = {"",
				   "/bus",
				   "/bus/iio",
				   "/bus/iio/devices",
				   "/bus/iio/devices/iio:device0",
				   "/class",
				   "/class/hwmon",
				   "/class/hwmon/hwmon0"};

static void put(const char *dir, const char *file, const uint8_t *text, size_t len, int present);

/* Remove the tree at exit: the attribute files, then the directories deepest first. */
static void remove_dirs(void)
{
	char path[IOCA_SYSFS_PATH_MAX];

	for (size_t i = 0; i < PARTS; i++) {
		put(iio_dir, IIO_FILES[i], NULL, 0, 0);
		put(hwmon_dir, HWMON_FILES[i], NULL, 0, 0);
	}
	for (size_t i = sizeof DIRS / sizeof DIRS[0]; i-- > 0;) {
		snprintf(path, sizeof path, "%s%s", root, DIRS[i]);
		rmdir(path);
	}
}

static void make_dirs(void)
{
	char path[IOCA_SYSFS_PATH_MAX];

	snprintf(root, sizeof root, "/tmp/ioca-fuzz-sysfs-%d", (int)getpid());
	for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++) {
		snprintf(path, sizeof path, "%s%s", root, DIRS[i]);
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			abort();
	}
	snprintf(iio_dir, sizeof iio_dir, "%s/bus/iio/devices/iio:device0", root);
	snprintf(hwmon_dir, sizeof hwmon_dir, "%s/class/hwmon/hwmon0", root);
	atexit(remove_dirs);
}

static void put(const char *dir, const char *file, const uint8_t *text, size_t len, int present)
{
	char path[IOCA_SYSFS_PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	unlink(path);
	if (!present)
		return;
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (len && fwrite(text, 1, len, f) != len)
		abort();
	fclose(f);
}

static void check(const struct ioca_sysfs_sample *s, int rc)
{
	if (rc == 0 ? !isfinite(s->value) : s->reason[0] == '\0')
		abort();
}

static void on_channel(void *ctx, const char *chan)
{
	const char *dir = ((const char *const *)ctx)[0];
	enum ioca_sysfs_kind kind = dir == iio_dir ? IOCA_SYSFS_IIO : IOCA_SYSFS_HWMON;
	struct ioca_sysfs_sample s;

	memset(&s, 0, sizeof s);
	check(&s, ioca_sysfs_read_channel(dir, kind, chan, &s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[PARTS] = {NULL};
	size_t len[PARTS] = {0};
	char found[IOCA_SYSFS_PATH_MAX], name[IOCA_SYSFS_VALUE_MAX];
	struct ioca_sysfs_sample s;
	enum ioca_sysfs_kind kind;
	const char *dir;
	const char *const *files;
	const uint8_t *p, *end;
	size_t n = 0;
	double number;
	char reason[IOCA_SYSFS_REASON_MAX];

	if (size < 1)
		return 0;
	if (!root[0])
		make_dirs();
	kind = data[0] & 1 ? IOCA_SYSFS_HWMON : IOCA_SYSFS_IIO;
	dir = kind == IOCA_SYSFS_IIO ? iio_dir : hwmon_dir;
	files = kind == IOCA_SYSFS_IIO ? IIO_FILES : HWMON_FILES;
	for (p = data + 1, end = data + size; n < PARTS && p <= end; n++) {
		const uint8_t *sep = memchr(p, SEPARATOR, (size_t)(end - p));

		part[n] = p;
		len[n] = (size_t)((sep ? sep : end) - p);
		p += len[n] + 1;
	}
	for (size_t i = 0; i < PARTS; i++)
		put(dir, files[i], part[i], len[i], i < n && (data[0] >> (i + 1) & 1) == 0);

	/* Look the device up by its name attribute, as `device = "<name>"` does. */
	if (ioca_sysfs_read_string(dir, "name", name, sizeof name, reason, sizeof reason) == 0 &&
	    name[0] && !strchr(name, '/'))
		ioca_sysfs_find_device(root, kind, name, found, sizeof found);
	if (ioca_sysfs_read_number(dir, files[1], &number, reason, sizeof reason) == 0 &&
	    !isfinite(number))
		abort();
	memset(&s, 0, sizeof s);
	check(&s, ioca_sysfs_read_channel(dir, kind, kind == IOCA_SYSFS_IIO ? "voltage0" : "temp1",
					  &s));
	{
		const char *ctx[1] = {dir};

		ioca_sysfs_list_channels(dir, kind, on_channel, ctx);
	}
	return 0;
}
