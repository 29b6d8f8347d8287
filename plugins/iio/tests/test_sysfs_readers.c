/*
 * Unit tests of the IIO/hwmon sysfs readers against a fake tree in a temp
 * dir: device lookup, channel listing, scale/offset, unit conversion, and the
 * reasons given for missing, unreadable (directory, FIFO) and garbled files.
 *
 * Invariant: exact expectations (values to 1e-9, full reason strings).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_sysfs.h"
#include "sysfs_channels.h"

#define EPS 1e-9

struct fixture {
	char root[PATH_MAX];
};

static int setup(void **state)
{
	static struct fixture f;
	if (fake_sysfs_create(f.root, sizeof f.root) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fake_sysfs_remove(f->root);
	return 0;
}

static void dev_dir(const struct fixture *f, enum ioca_sysfs_kind kind, const char *id, char *dir,
		    size_t cap)
{
	assert_int_equal(ioca_sysfs_find_device(f->root, kind, id, dir, cap), 0);
}

static void expect_channel(const char *dir, enum ioca_sysfs_kind kind, const char *chan,
			   double value, const char *unit)
{
	struct ioca_sysfs_sample s;
	if (ioca_sysfs_read_channel(dir, kind, chan, &s) != 0)
		fail_msg("%s: %s", chan, s.reason);
	if (!(s.value > value - EPS && s.value < value + EPS))
		fail_msg("%s: %.12g, expected %.12g", chan, s.value, value);
	if (unit)
		assert_string_equal(s.unit, unit);
	else
		assert_null(s.unit);
}

static void expect_failure(const char *dir, enum ioca_sysfs_kind kind, const char *chan,
			   const char *reason)
{
	struct ioca_sysfs_sample s;
	assert_int_equal(ioca_sysfs_read_channel(dir, kind, chan, &s), -1);
	assert_string_equal(s.reason, reason);
}

static void test_find_device(void **state)
{
	struct fixture *f = *state;
	char dir[IOCA_SYSFS_PATH_MAX];
	char want[PATH_MAX + 64];
	dev_dir(f, IOCA_SYSFS_IIO, "bme280", dir, sizeof dir);
	snprintf(want, sizeof want, "%s/bus/iio/devices/iio:device0", f->root);
	assert_string_equal(dir, want);
	dev_dir(f, IOCA_SYSFS_IIO, "iio:device1", dir, sizeof dir);
	snprintf(want, sizeof want, "%s/bus/iio/devices/iio:device1", f->root);
	assert_string_equal(dir, want);
	dev_dir(f, IOCA_SYSFS_HWMON, "coretemp", dir, sizeof dir);
	snprintf(want, sizeof want, "%s/class/hwmon/hwmon0", f->root);
	assert_string_equal(dir, want);
	/* old-style driver: attributes under hwmonN/device, found by name and by dir */
	dev_dir(f, IOCA_SYSFS_HWMON, "nct6775", dir, sizeof dir);
	snprintf(want, sizeof want, "%s/class/hwmon/hwmon1/device", f->root);
	assert_string_equal(dir, want);
	dev_dir(f, IOCA_SYSFS_HWMON, "hwmon1", dir, sizeof dir);
	assert_string_equal(dir, want);

	assert_int_equal(ioca_sysfs_find_device(f->root, IOCA_SYSFS_IIO, "nosuch", dir, sizeof dir),
			 -1);
	assert_int_equal(
	    ioca_sysfs_find_device(f->root, IOCA_SYSFS_HWMON, "bme280", dir, sizeof dir), -1);
	assert_int_equal(
	    ioca_sysfs_find_device("/nonexistent-root", IOCA_SYSFS_IIO, "bme280", dir, sizeof dir),
	    -1);
}

struct chan_list {
	char names[16][IOCA_SYSFS_CHAN_MAX];
	size_t n;
};

static void collect(void *ctx, const char *chan)
{
	struct chan_list *l = ctx;
	assert_true(l->n < 16);
	snprintf(l->names[l->n++], IOCA_SYSFS_CHAN_MAX, "%s", chan);
}

static void test_list_channels(void **state)
{
	struct fixture *f = *state;
	char dir[IOCA_SYSFS_PATH_MAX];
	struct chan_list l = {.n = 0};
	dev_dir(f, IOCA_SYSFS_IIO, "bme280", dir, sizeof dir);
	/* in_temp_raw and in_temp_input both present: listed once */
	fake_sysfs_write(f->root, "bus/iio/devices/iio:device0/in_temp_input", "24990");
	assert_int_equal(ioca_sysfs_list_channels(dir, IOCA_SYSFS_IIO, collect, &l), 5);
	fake_sysfs_unlink(f->root, "bus/iio/devices/iio:device0/in_temp_input");
	const char *iio_want[] = {"humidityrelative", "pressure", "temp", "voltage0", "voltage1"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(l.names[i], iio_want[i]);

	l.n = 0;
	dev_dir(f, IOCA_SYSFS_HWMON, "nct6775", dir, sizeof dir);
	assert_int_equal(ioca_sysfs_list_channels(dir, IOCA_SYSFS_HWMON, collect, &l), 5);
	const char *hw_want[] = {"curr1", "fan1", "humidity1", "in0", "power1"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(l.names[i], hw_want[i]);
	assert_int_equal(
	    ioca_sysfs_list_channels("/nonexistent-dir", IOCA_SYSFS_HWMON, collect, &l), -1);
}

static void test_read_values(void **state)
{
	struct fixture *f = *state;
	char dir[IOCA_SYSFS_PATH_MAX];
	dev_dir(f, IOCA_SYSFS_IIO, "bme280", dir, sizeof dir);
	expect_channel(dir, IOCA_SYSFS_IIO, "temp", 25.0, "degC"); /* (2512-12)*10 m degC */
	expect_channel(dir, IOCA_SYSFS_IIO, "humidityrelative", 61.25, "%RH"); /* processed */
	expect_channel(dir, IOCA_SYSFS_IIO, "pressure", 1007.5, "hPa");        /* 100.75 kPa */
	expect_channel(dir, IOCA_SYSFS_IIO, "voltage0", 0.805664062, "V");     /* type-wide scale */
	expect_channel(dir, IOCA_SYSFS_IIO, "voltage1", 3.072, "V");           /* own scale wins */
	dev_dir(f, IOCA_SYSFS_IIO, "other", dir, sizeof dir);
	expect_channel(dir, IOCA_SYSFS_IIO, "illuminance", 312.5, "lx");

	dev_dir(f, IOCA_SYSFS_HWMON, "coretemp", dir, sizeof dir);
	expect_channel(dir, IOCA_SYSFS_HWMON, "temp1", 45.0, "degC");
	expect_channel(dir, IOCA_SYSFS_HWMON, "temp2", -5.5, "degC");
	dev_dir(f, IOCA_SYSFS_HWMON, "nct6775", dir, sizeof dir);
	expect_channel(dir, IOCA_SYSFS_HWMON, "in0", 1.224, "V");
	expect_channel(dir, IOCA_SYSFS_HWMON, "fan1", 1350.0, "rpm");
	expect_channel(dir, IOCA_SYSFS_HWMON, "curr1", 0.25, "A");
	expect_channel(dir, IOCA_SYSFS_HWMON, "power1", 12.5, "W");
	expect_channel(dir, IOCA_SYSFS_HWMON, "humidity1", 48.0, "%RH");
}

static void test_read_failures(void **state)
{
	struct fixture *f = *state;
	char dir[IOCA_SYSFS_PATH_MAX];
	const char *d0 = "bus/iio/devices/iio:device0/";
	char rel[256];
	dev_dir(f, IOCA_SYSFS_IIO, "bme280", dir, sizeof dir);

	expect_failure(dir, IOCA_SYSFS_IIO, "voltage7", "missing in_voltage7_raw");

	snprintf(rel, sizeof rel, "%sin_temp_scale", d0);
	fake_sysfs_make_dir(f->root, rel);
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "unreadable in_temp_scale: Is a directory");
	fake_sysfs_unlink(f->root, rel);
	/* no scale at all: 1 (the ABI's meaning of an absent scale) */
	expect_channel(dir, IOCA_SYSFS_IIO, "temp", 2.5, "degC");
	fake_sysfs_write(f->root, rel, "10.000000");

	snprintf(rel, sizeof rel, "%sin_temp_raw", d0);
	fake_sysfs_make_fifo(f->root, rel);
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "empty in_temp_raw");
	fake_sysfs_write(f->root, rel, "");
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "empty in_temp_raw");
	fake_sysfs_write(f->root, rel, "12ab");
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "not a number in in_temp_raw");
	fake_sysfs_write(f->root, rel, "nan");
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "not a number in in_temp_raw");
	fake_sysfs_write(f->root, rel, "1e308"); /* finite, but not after the scale of 10 */
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "temp out of range after scale and offset");
	fake_sysfs_write(f->root, rel, "2512");
	expect_channel(dir, IOCA_SYSFS_IIO, "temp", 25.0, "degC");

	snprintf(rel, sizeof rel, "%sin_temp_offset", d0);
	fake_sysfs_make_dir(f->root, rel);
	expect_failure(dir, IOCA_SYSFS_IIO, "temp", "unreadable in_temp_offset: Is a directory");
	fake_sysfs_unlink(f->root, rel);
	fake_sysfs_write(f->root, rel, "-12");

	dev_dir(f, IOCA_SYSFS_HWMON, "coretemp", dir, sizeof dir);
	fake_sysfs_write(f->root, "class/hwmon/hwmon0/temp1_fault", "1");
	expect_failure(dir, IOCA_SYSFS_HWMON, "temp1", "temp1_fault reports a sensor fault");
	fake_sysfs_write(f->root, "class/hwmon/hwmon0/temp1_fault", "0");
	expect_channel(dir, IOCA_SYSFS_HWMON, "temp1", 45.0, "degC");
	fake_sysfs_unlink(f->root, "class/hwmon/hwmon0/temp1_fault");
	expect_failure(dir, IOCA_SYSFS_HWMON, "temp9", "missing temp9_input");

	char name[IOCA_SYSFS_CHAN_MAX * 2];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	expect_failure(dir, IOCA_SYSFS_HWMON, name, "channel name too long");
}

static void test_units(void **state)
{
	(void)state;
	const char *unit;
	double factor;
	ioca_sysfs_channel_unit(IOCA_SYSFS_IIO, "massconcentration_pm2p5", &unit, &factor);
	assert_string_equal(unit, "ug/m3");
	assert_true(factor == 1.0);
	ioca_sysfs_channel_unit(IOCA_SYSFS_IIO, "current3", &unit, &factor);
	assert_string_equal(unit, "A");
	assert_true(factor == 0.001);
	ioca_sysfs_channel_unit(IOCA_SYSFS_IIO, "intensity_both", &unit, &factor);
	assert_null(unit);
	assert_true(factor == 1.0);
	ioca_sysfs_channel_unit(IOCA_SYSFS_HWMON, "energy1", &unit, &factor);
	assert_string_equal(unit, "J");
	assert_true(factor == 0.000001);
	/* "temperature" is not "temp": type names match whole */
	ioca_sysfs_channel_unit(IOCA_SYSFS_HWMON, "temperature1", &unit, &factor);
	assert_null(unit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find_device), cmocka_unit_test(test_list_channels),
	    cmocka_unit_test(test_read_values), cmocka_unit_test(test_read_failures),
	    cmocka_unit_test(test_units),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
