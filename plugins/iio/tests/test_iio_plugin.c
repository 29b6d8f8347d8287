/*
 * Plugin-level tests of the iio plugin through the in-process harness on a
 * fake sysfs tree (tests/fake_sysfs.c): scaled IIO and hwmon readings with
 * their units, channels listed automatically, a device that is absent, a
 * channel whose files go missing or become unreadable (a directory, a FIFO
 * without writer), a hwmon device renumbered, and sensor.fault/recovered.
 *
 * Invariant: exact expectations (values to 1e-9, reasons in full), and every
 * test checks that stop() made run() return within 1 s.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_sysfs.h"
#include "plugin_harness.h"
#include "reading_expect.h"

#define WAIT_MS       5000
#define STOP_LIMIT_MS 1000
#define EPS           1e-9

/* Readings match exactly (values to EPS) within WAIT_MS. */
static const struct ioca_expect EXPECT = {.wait_ms = WAIT_MS, .eps = EPS, .strict_value = false};

static struct ioca_harness *start(const char *root, const char *devices)
{
	char opts[4096];
	char err[1024] = "";
	snprintf(opts, sizeof opts,
		 "sysfs_root = \"%s\"; publish_interval = 0.0; "
		 "poll_interval = 0.05; fault_after = 2; devices = ( %s );",
		 root, devices);
	struct ioca_harness *h = ioca_harness_new(IIO_PLUGIN_SO, opts, err, sizeof err);
	if (!h)
		fail_msg("harness: %s", err);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	return h;
}

static void finish(struct ioca_harness *h)
{
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) < STOP_LIMIT_MS);
	ioca_harness_free(h);
}

static int setup(void **state)
{
	static char root[PATH_MAX];
	if (fake_sysfs_create(root, sizeof root) != 0)
		return -1;
	*state = root;
	return 0;
}

static int teardown(void **state)
{
	fake_sysfs_remove(*state);
	return 0;
}

static void test_values_and_units(void **state)
{
	const char *root = *state;
	struct ioca_harness *h =
	    start(root, "{ type = \"iio\"; device = \"bme280\"; channels = ("
			"    { channel = \"temp\"; name = \"air_temp\"; },"
			"    { channel = \"pressure\"; name = \"pressure\"; },"
			"    { channel = \"humidityrelative\"; name = \"rh\"; valid_min = 0.0; "
			"valid_max = 100.0; },"
			"    { channel = \"voltage1\"; name = \"battery\"; scale = 2.0; unit = "
			"\"Vbat\"; } ); },"
			"{ type = \"hwmon\"; device = \"coretemp\"; },"
			"{ type = \"hwmon\"; device = \"hwmon1\"; prefix = \"board_\"; }");
	ioca_expect_ok(&EXPECT, h, "air_temp", 0, 25.0, "degC");
	ioca_expect_ok(&EXPECT, h, "pressure", 0, 1007.5, "hPa");
	ioca_expect_ok(&EXPECT, h, "rh", 0, 61.25, "%RH");
	ioca_expect_ok(&EXPECT, h, "battery", 0, 6.144, "Vbat"); /* 2048 * 1.5 mV * 2 */
	ioca_expect_ok(&EXPECT, h, "coretemp_temp1", 0, 45.0, "degC");
	ioca_expect_ok(&EXPECT, h, "coretemp_temp2", 0, -5.5, "degC");
	ioca_expect_ok(&EXPECT, h, "board_in0", 0, 1.224, "V");
	ioca_expect_ok(&EXPECT, h, "board_fan1", 0, 1350.0, "rpm");
	ioca_expect_ok(&EXPECT, h, "board_power1", 0, 12.5, "W");
	/* a new value shows up at the next poll */
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp1_input", "47125");
	ioca_expect_ok(&EXPECT, h, "coretemp_temp1", 0, 47.125, "degC");
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 0);
	assert_int_equal(ioca_harness_stat(h, "read_errors"), 0);
	finish(h);
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp1_input", "45000");
}

static void test_missing_and_unreadable(void **state)
{
	const char *root = *state;
	const char *d0 = "bus/iio/devices/iio:device0/";
	char rel[256];
	struct ioca_harness *h = start(root, "{ device = \"bme280\"; channels = ("
					     "    { channel = \"temp\"; name = \"air_temp\"; },"
					     "    { channel = \"voltage0\"; name = \"v0\"; },"
					     "    { channel = \"voltage9\"; name = \"v9\"; } ); },"
					     "{ type = \"hwmon\"; device = \"nosuch\"; channels = "
					     "( { channel = \"temp1\"; name = \"ghost\"; } ); }");
	ioca_expect_ok(&EXPECT, h, "air_temp", 0, 25.0, "degC");
	ioca_expect_ok(&EXPECT, h, "v0", 0, 0.805664062, "V");
	ioca_expect_error(&EXPECT, h, "v9", 0, "missing in_voltage9_raw");
	ioca_expect_error(&EXPECT, h, "ghost", 0, "device_not_found");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "missing in_voltage9_raw", "v9");
	assert_true(ioca_harness_stat(h, "devices_missing") >= 2);

	/* the scale file turns into a directory: a real read error (EISDIR) */
	snprintf(rel, sizeof rel, "%sin_temp_scale", d0);
	fake_sysfs_make_dir(root, rel);
	size_t n = ioca_harness_count(h, "telemetry");
	n = ioca_expect_error(&EXPECT, h, "air_temp", n,
			      "unreadable in_temp_scale: Is a directory");
	/* the raw file becomes a FIFO nobody writes: nothing to read */
	fake_sysfs_unlink(root, rel);
	fake_sysfs_write(root, rel, "10.000000");
	snprintf(rel, sizeof rel, "%sin_temp_raw", d0);
	fake_sysfs_make_fifo(root, rel);
	n = ioca_expect_error(&EXPECT, h, "air_temp", n, "empty in_temp_raw");
	/* the raw file vanishes */
	fake_sysfs_unlink(root, rel);
	n = ioca_expect_error(&EXPECT, h, "air_temp", n, "missing in_temp_raw");
	/* and comes back: sensor.recovered */
	fake_sysfs_write(root, rel, "2512");
	ioca_expect_ok(&EXPECT, h, "air_temp", n, 25.0, "degC");
	const struct ioca_harness_record *rec =
	    ioca_harness_wait_for(h, "sensor.recovered", WAIT_MS);
	assert_non_null(rec);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "unreadable in_temp_scale"),
			 1);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "'nosuch' not found"), 1);
	finish(h);
}

static void test_hwmon_renumbered(void **state)
{
	const char *root = *state;
	struct ioca_harness *h =
	    start(root, "{ type = \"hwmon\"; device = \"coretemp\"; channels = ("
			"    { channel = \"temp1\"; name = \"cpu\"; } ); }");
	ioca_expect_ok(&EXPECT, h, "cpu", 0, 45.0, "degC");
	/* the driver reloads and comes back as hwmon7 */
	char from[PATH_MAX + 32];
	char to[PATH_MAX + 32];
	snprintf(from, sizeof from, "%s/class/hwmon/hwmon0", root);
	snprintf(to, sizeof to, "%s/class/hwmon/hwmon7", root);
	assert_int_equal(rename(from, to), 0);
	fake_sysfs_write(root, "class/hwmon/hwmon7/temp1_input", "51000");
	ioca_expect_ok(&EXPECT, h, "cpu", 0, 51.0, "degC");
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "disappeared"), 1);
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 0);
	finish(h);
	assert_int_equal(rename(to, from), 0);
	fake_sysfs_write(root, "class/hwmon/hwmon0/temp1_input", "45000");
}

static void test_device_appears_late(void **state)
{
	const char *root = *state;
	struct ioca_harness *h = start(
	    root,
	    "{ device = \"sht4x\"; channels = ( { channel = \"humidityrelative\"; name = \"rh\"; "
	    "valid_min = 0.0; valid_max = 100.0; } ); }");
	ioca_expect_error(&EXPECT, h, "rh", 0, "device_not_found");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "device_not_found", "rh");
	fake_sysfs_write(root, "bus/iio/devices/iio:device5/in_humidityrelative_input", "55500");
	fake_sysfs_write(root, "bus/iio/devices/iio:device5/name", "sht4x");
	ioca_expect_ok(&EXPECT, h, "rh", 0, 55.5, "%RH");
	ioca_expect_event(&EXPECT, h, "sensor.recovered", 0, "device_not_found", "rh");
	finish(h);
	fake_sysfs_unlink(root, "bus/iio/devices/iio:device5/in_humidityrelative_input");
	fake_sysfs_unlink(root, "bus/iio/devices/iio:device5/name");
	fake_sysfs_unlink(root, "bus/iio/devices/iio:device5");
}

static void test_option_checks(void **state)
{
	const char *root = *state;
	char opts[1024];
	char err[2048] = "";
	snprintf(opts, sizeof opts,
		 "sysfs_root = \"%s\"; devices = ( { device = \"../etc\"; "
		 "channels = ( { channel = \"a/b\"; name = \"x\"; } ); } ); "
		 "rules = ( { reading = \"nosuch\"; high = 1.0; } );",
		 root);
	assert_null(ioca_harness_new(IIO_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "device '../etc' must be a directory or device name"));
	assert_non_null(strstr(err, "channel 'a/b' must be a channel id"));
	assert_non_null(strstr(err, "unknown reading 'nosuch'"));
	snprintf(opts, sizeof opts, "sysfs_root = \"%s\";", root);
	assert_null(ioca_harness_new(IIO_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "devices"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_and_units), cmocka_unit_test(test_missing_and_unreadable),
	    cmocka_unit_test(test_hwmon_renumbered), cmocka_unit_test(test_device_appears_late),
	    cmocka_unit_test(test_option_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
