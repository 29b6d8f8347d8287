/*
 * Fake sysfs tree for the iio tests (see fake_sysfs.h).
 *
 * Invariant: every helper aborts the test program on an unexpected failure,
 * so a test never runs against a half-built tree.
 */
#include "fake_sysfs.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_OPEN_FDS 16

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fake_sysfs: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

static void mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			die("mkdir", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		die("mkdir", tmp);
}

static void parent_of(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

void fake_sysfs_write(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];
	char dir[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	parent_of(path, dir, sizeof dir);
	mkdirs(dir);
	/* Replace whatever is there (a FIFO would block fopen). */
	if (remove(path) != 0 && errno != ENOENT)
		die("remove", path);
	FILE *f = fopen(path, "w");
	if (!f)
		die("fopen", path);
	fprintf(f, "%s\n", text);
	if (fclose(f) != 0)
		die("fclose", path);
}

void fake_sysfs_unlink(const char *root, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (remove(path) != 0 && errno != ENOENT)
		die("remove", path);
}

void fake_sysfs_make_dir(const char *root, const char *rel)
{
	char path[PATH_MAX];
	fake_sysfs_unlink(root, rel);
	snprintf(path, sizeof path, "%s/%s", root, rel);
	mkdirs(path);
}

void fake_sysfs_make_fifo(const char *root, const char *rel)
{
	char path[PATH_MAX];
	fake_sysfs_unlink(root, rel);
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (mkfifo(path, 0644) != 0)
		die("mkfifo", path);
}

int fake_sysfs_create(char *root, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(root, cap, "%s/ioca-sysfs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return -1;
	const char *iio = "bus/iio/devices/iio:device0/";
	char rel[256];
#define W(attr, text)                                                                              \
	do {                                                                                       \
		snprintf(rel, sizeof rel, "%s%s", iio, attr);                                      \
		fake_sysfs_write(root, rel, text);                                                 \
	} while (0)
	W("name", "bme280");
	/* temp: raw 2512, scale 10 (m degC per count), offset -12 -> 25000 m degC */
	W("in_temp_raw", "2512");
	W("in_temp_scale", "10.000000");
	W("in_temp_offset", "-12");
	/* humidity: processed value in m %RH */
	W("in_humidityrelative_input", "61250");
	/* pressure: raw 100.75 kPa scale 1 */
	W("in_pressure_raw", "10075");
	W("in_pressure_scale", "0.010000");
	/* two ADC channels sharing one type-wide scale (mV per count) */
	W("in_voltage0_raw", "1000");
	W("in_voltage1_raw", "2048");
	W("in_voltage_scale", "0.805664062");
	W("in_voltage1_scale", "1.5");
	W("sampling_frequency", "1");
#undef W
	fake_sysfs_write(root, "bus/iio/devices/iio:device1/name", "other");
	fake_sysfs_write(root, "bus/iio/devices/iio:device1/in_illuminance_input", "312.5");

	fake_sysfs_write(root, "class/hwmon/hwmon0/name", "coretemp");
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp1_input", "45000");
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp1_label", "Package id 0");
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp2_input", "-5500");
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp2_crit", "100000");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/name", "nct6775");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/in0_input", "1224");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/fan1_input", "1350");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/curr1_input", "250");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/power1_input", "12500000");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/humidity1_input", "48000");
	fake_sysfs_write(root, "class/hwmon/hwmon1/device/pwm1", "128");
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fake_sysfs_remove(const char *root)
{
	nftw(root, remove_entry, MAX_OPEN_FDS, FTW_DEPTH | FTW_PHYS);
}
