/*
 * Plugin-level tests of the serial plugin through the in-process harness,
 * against a pty instrument (openpty) reached through a symlink, as udev's
 * /dev/serial/by-id links are: valid NMEA, bad checksums, garbage, over-long
 * lines, kv and csv with a column map, a device that goes silent, and a tty
 * that disappears and comes back.
 *
 * Invariant: every expectation is exact (values, statuses, reasons, counters)
 * and every test checks that stop() made run() return within 1 s.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin_harness.h"
#include "reading_expect.h"
#include "tty.h"
#include "utf8.h"

#define WAIT_MS       5000
#define STOP_LIMIT_MS 1000
#define EPS           1e-9

struct instrument {
	int master;
	int slave;
	char dir[256];
	char link[272];
};

/* Readings match exactly (values to EPS) within WAIT_MS; a value is a number or null. */
static const struct ioca_expect EXPECT = {.wait_ms = WAIT_MS, .eps = EPS, .strict_value = true};

static void instrument_open(struct instrument *in)
{
	char name[PATH_MAX];
	assert_int_equal(openpty(&in->master, &in->slave, name, NULL, NULL), 0);
	struct termios t;
	assert_int_equal(tcgetattr(in->slave, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(in->slave, TCSANOW, &t), 0);
	unlink(in->link);
	assert_int_equal(symlink(name, in->link), 0);
}

static void instrument_close(struct instrument *in)
{
	if (in->master >= 0)
		close(in->master);
	if (in->slave >= 0)
		close(in->slave);
	in->master = in->slave = -1;
}

static void send_text(struct instrument *in, const char *text)
{
	size_t len = strlen(text);
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(in->master, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* An NMEA sentence with its checksum and CRLF. */
static void send_nmea(struct instrument *in, const char *body)
{
	unsigned sum = 0;
	for (const char *p = body; *p; p++)
		sum ^= (unsigned char)*p;
	char line[512];
	snprintf(line, sizeof line, "$%s*%02X\r\n", body, sum);
	send_text(in, line);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the harness counter `name` reaches `value`. */
static void wait_stat(struct ioca_harness *h, const char *name, double value)
{
	int64_t end = now_ms() + WAIT_MS;
	while (ioca_harness_stat(h, name) < value) {
		if (now_ms() > end)
			fail_msg("stat %s stayed at %g, expected %g", name,
				 ioca_harness_stat(h, name), value);
		sleep_ms(10);
	}
}

static size_t telemetry_count(struct ioca_harness *h)
{
	return ioca_harness_count(h, "telemetry");
}

static struct ioca_harness *start(struct instrument *in, const char *extra)
{
	char opts[3072];
	char err[1024] = "";
	snprintf(opts, sizeof opts,
		 "device = \"%s\"; publish_interval = 0.0; reopen_min = 0.1; "
		 "reopen_max = 0.4; %s",
		 in->link, extra);
	struct ioca_harness *h = ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err);
	if (!h)
		fail_msg("harness: %s", err);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	wait_stat(h, "opens", 1); /* the plugin flushes input when it opens the tty */
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
	static struct instrument in;
	const char *tmp = getenv("TMPDIR");
	snprintf(in.dir, sizeof in.dir, "%s/ioca-serial-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(in.dir))
		return -1;
	snprintf(in.link, sizeof in.link, "%s/tty", in.dir);
	in.master = in.slave = -1;
	*state = &in;
	return 0;
}

static int teardown(void **state)
{
	struct instrument *in = *state;
	instrument_close(in);
	unlink(in->link);
	rmdir(in->dir);
	return 0;
}

static void test_nmea_valid(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h = start(in, "protocol = \"nmea\";");
	send_nmea(in, "WIMDA,29.7544,I,1.0076,B,26.8,C,,C,71.5,,21.2,C,135.0,T,,M,5.8,N,3.0,M");
	ioca_expect_ok(&EXPECT, h, "pressure", 0, 1007.6, "hPa");
	ioca_expect_ok(&EXPECT, h, "air_temp", 0, 26.8, "degC");
	ioca_expect_ok(&EXPECT, h, "humidity", 0, 71.5, "%RH");
	ioca_expect_ok(&EXPECT, h, "dew_point", 0, 21.2, "degC");
	ioca_expect_ok(&EXPECT, h, "wind_dir_true", 0, 135.0, "deg");
	ioca_expect_ok(&EXPECT, h, "wind_speed", 0, 3.0, "m/s");
	size_t n = telemetry_count(h);
	send_nmea(in, "WIMWV,214.8,R,36.0,K,A");
	ioca_expect_ok(&EXPECT, h, "wind_angle_relative", n, 214.8, "deg");
	ioca_expect_ok(&EXPECT, h, "wind_speed_relative", n, 10.0, "m/s");
	/* a sentence type that is not decoded is counted, not published */
	send_nmea(in, "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
	wait_stat(h, "unsupported_sentences", 1);
	assert_int_equal(ioca_harness_stat(h, "lines"), 3);
	assert_int_equal(ioca_harness_stat(h, "garbage_lines"), 0);
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 0);
	finish(h);
	instrument_close(in);
}

static void test_nmea_bad_lines(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h = start(in, "protocol = \"nmea\"; fault_after = 2; max_line = 80;");
	send_nmea(in, "WIMWV,10.0,R,2.0,M,A");
	ioca_expect_ok(&EXPECT, h, "wind_speed_relative", 0, 2.0, "m/s");

	/* wrong checksum, twice: error samples, then sensor.fault */
	size_t n = telemetry_count(h);
	send_text(in, "$WIMWV,10.0,R,2.0,M,A*00\r\n");
	ioca_expect_error(&EXPECT, h, "wind_speed_relative", n, "checksum");
	n = telemetry_count(h);
	send_text(in, "$WIMWV,11.0,R,2.5,M,A*7F\r\n");
	ioca_expect_error(&EXPECT, h, "wind_angle_relative", n, "checksum");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "checksum", "wind_speed_relative");
	assert_int_equal(ioca_harness_stat(h, "checksum_errors"), 2);
	/* the keys the instrument never sent (true wind) did not appear */
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		struct ioca_expect_reading g;
		assert_false(r->kind == IOCA_HARNESS_TELEMETRY &&
			     ioca_expect_reading_in(&EXPECT, r->json, "wind_angle_true", &g));
	}

	/* garbage and an over-long line are counted and dropped; nothing published */
	n = telemetry_count(h);
	send_text(in, "hello\r\n\x01\x02\x03\xff\r\n$GP\r\n");
	char longline[300];
	memset(longline, 'A', sizeof longline - 3);
	memcpy(longline + sizeof longline - 3, "\r\n", 3);
	send_text(in, longline);
	wait_stat(h, "garbage_lines", 3);
	wait_stat(h, "lines_overlong", 1);
	assert_int_equal(telemetry_count(h), n);

	/* the next good sentence is read whole and ends the fault */
	send_nmea(in, "WIMWV,12.0,R,4.0,M,A");
	ioca_expect_ok(&EXPECT, h, "wind_speed_relative", n, 4.0, "m/s");
	ioca_expect_event(&EXPECT, h, "sensor.recovered", 0, "checksum", "wind_speed_relative");
	assert_int_equal(ioca_harness_stat(h, "garbage_lines"), 3);
	assert_int_equal(ioca_harness_stat(h, "lines_overlong"), 1);
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 1);
	finish(h);
	instrument_close(in);
}

static void test_kv_fields(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h =
	    start(in, "protocol = \"kv\"; fault_after = 5;"
		      "fields = ( { name = \"pm25\"; key = \"PM2.5\"; unit = \"ug/m3\"; },"
		      "           { name = \"temp_f\"; key = \"T\"; unit = \"degC\"; scale = 0.1; "
		      "offset = -40.0; },"
		      "           { name = \"rh\"; key = \"RH\"; unit = \"%RH\"; valid_min = 0.0; "
		      "valid_max = 100.0; } );");
	send_text(in, "PM2.5=35.2ug/m3 T=652 RH=61.5 other=1\r\n");
	ioca_expect_ok(&EXPECT, h, "pm25", 0, 35.2, "ug/m3");
	ioca_expect_ok(&EXPECT, h, "temp_f", 0, 25.2, "degC");
	ioca_expect_ok(&EXPECT, h, "rh", 0, 61.5, "%RH");
	/* keys without a field are not published */
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		struct ioca_expect_reading g;
		assert_false(r->kind == IOCA_HARNESS_TELEMETRY &&
			     ioca_expect_reading_in(&EXPECT, r->json, "other", &g));
	}
	size_t n = telemetry_count(h);
	send_text(in, "PM2.5=ERR T=652 RH=140\r\n");
	ioca_expect_error(&EXPECT, h, "pm25", n, "parse");
	ioca_expect_error(&EXPECT, h, "rh", n, "out_of_range");
	finish(h);
	instrument_close(in);
}

static void test_csv_columns(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h = start(
	    in, "protocol = \"csv\"; csv_separator = \";\"; status_column = 4; error_values = [ "
		"\"E\" ];"
		"fields = ( { name = \"pm10\"; column = 3; unit = \"ug/m3\"; },"
		"           { name = \"level\"; column = 5; unit = \"m\"; scale = 0.01; } );");
	send_text(in, "2026-11-25T10:00:00;ST01;35.2;48.0;x;\"1234\"\n");
	ioca_expect_ok(&EXPECT, h, "pm10", 0, 48.0, "ug/m3");
	ioca_expect_ok(&EXPECT, h, "level", 0, 12.34, "m");
	size_t n = telemetry_count(h);
	send_text(in, "2026-11-25T10:01:00;ST01;35.2;n/a\n");
	ioca_expect_error(&EXPECT, h, "pm10", n, "parse");
	ioca_expect_error(&EXPECT, h, "level", n, "missing_column");
	n = telemetry_count(h);
	send_text(in, "2026-11-25T10:02:00;ST01;35.2;50.0; E ;\"1300\"\n");
	ioca_expect_error(&EXPECT, h, "pm10", n, "instrument_status:E");
	ioca_expect_error(&EXPECT, h, "level", n, "instrument_status:E");
	send_text(in, "1;\"unterminated\n");
	wait_stat(h, "garbage_lines", 1);
	finish(h);
	instrument_close(in);
}

static struct ioca_expect_reading wait_status(struct ioca_harness *h, const char *name, size_t from,
					      const char *status)
{
	int64_t end = now_ms() + WAIT_MS;
	for (size_t k = from;; k++) {
		int64_t left = end - now_ms();
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", k, left > 0 ? left : 0);
		if (!r)
			fail_msg("no %s with status %s; newest: %s", name, status,
				 ioca_expect_last_with(h, name));
		struct ioca_expect_reading g;
		if (ioca_expect_reading_in(&EXPECT, r->json, name, &g) &&
		    strcmp(g.status, status) == 0) {
			g.record = k;
			return g;
		}
	}
}

static void test_instrument_status(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h = start(
	    in,
	    "protocol = \"kv\"; status_key = \"ST\"; calibrating_values = [ \"CAL\", \"ZERO\" ];"
	    "error_values = [ \"FAIL\" ]; fault_after = 1;"
	    "rules = ( { reading = \"no2\"; high = 100.0; } );");
	send_text(in, "no2=20 ST=OK\n");
	size_t at = ioca_expect_ok(&EXPECT, h, "no2", 0, 20.0, "");
	/* calibrating: the value is published with its status and drives no rule */
	send_text(in, "no2=400 ST=ZERO\n");
	struct ioca_expect_reading g = wait_status(h, "no2", at + 1, "calibrating");
	assert_true(g.has_value);
	assert_true(fabs(g.value - 400.0) <= EPS);
	/* instrument error: the line's readings fail with the status text */
	send_text(in, "no2=21 ST=FAIL\n");
	ioca_expect_error(&EXPECT, h, "no2", g.record + 1, "instrument_status:FAIL");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "instrument_status:FAIL", "no2");
	send_text(in, "no2=22 ST=OK\n");
	ioca_expect_ok(&EXPECT, h, "no2", g.record + 1, 22.0, "");
	ioca_expect_event(&EXPECT, h, "sensor.recovered", 0, "instrument_status:FAIL", "no2");
	assert_int_equal(ioca_harness_count(h, "threshold.exceeded"), 0);
	/* the status key itself is no reading */
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		struct ioca_expect_reading x;
		assert_false(r->kind == IOCA_HARNESS_TELEMETRY &&
			     ioca_expect_reading_in(&EXPECT, r->json, "ST", &x));
	}
	finish(h);
	instrument_close(in);
}

static void test_silent_device(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h =
	    start(in, "protocol = \"kv\"; fault_after = 2; silence_timeout = 0.5;");
	send_text(in, "level=1.25\n");
	size_t ok_at = ioca_expect_ok(&EXPECT, h, "level", 0, 1.25, "");
	/* silence: no_data after 0.5 s, again 0.5 s later -> sensor.fault */
	ioca_expect_error(&EXPECT, h, "level", ok_at, "no_data");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "no_data", "level");
	int64_t ok_ms = ioca_harness_wait_for_nth(h, "telemetry", ok_at, 0)->mono_ms;
	int64_t fault_ms = ioca_harness_wait_for(h, "sensor.fault", 0)->mono_ms;
	/* two silence_timeout rounds after the last data (one poll slice of slack) */
	assert_true(fault_ms - ok_ms >= 950);
	assert_true(fault_ms - ok_ms < 1500);
	assert_int_equal(ioca_harness_stat(h, "silences"), 1);
	/* garbage is not data: the silence goes on */
	send_text(in, "####\n");
	wait_stat(h, "garbage_lines", 1);
	size_t n = telemetry_count(h);
	assert_true(n > ok_at);
	send_text(in, "level=1.5\n");
	ioca_expect_ok(&EXPECT, h, "level", n, 1.5, "");
	ioca_expect_event(&EXPECT, h, "sensor.recovered", 0, "no_data", "level");
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 1);
	finish(h);
	instrument_close(in);
}

static void test_device_disappears(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h =
	    start(in, "protocol = \"kv\"; fault_after = 2; silence_timeout = 30.0;");
	send_text(in, "level=2\n");
	ioca_expect_ok(&EXPECT, h, "level", 0, 2.0, "");
	size_t n = telemetry_count(h);
	/* unplug: the pty goes away and its link dangles */
	instrument_close(in);
	unlink(in->link);
	ioca_expect_error(&EXPECT, h, "level", n, "disconnected");
	ioca_expect_event(&EXPECT, h, "sensor.fault", 0, "open_failed", "level");
	wait_stat(h, "open_failures", 2);
	assert_int_equal(ioca_harness_stat(h, "disconnects"), 1);
	assert_int_equal(ioca_harness_stat(h, "connected"), 0);
	/* plug back in (a new pty behind the same link): reopened with backoff */
	instrument_open(in);
	wait_stat(h, "opens", 2);
	assert_int_equal(ioca_harness_stat(h, "connected"), 1);
	n = telemetry_count(h);
	send_text(in, "level=3\n");
	ioca_expect_ok(&EXPECT, h, "level", n, 3.0, "");
	ioca_expect_event(&EXPECT, h, "sensor.recovered", 0, "open_failed", "level");
	finish(h);
	instrument_close(in);
}

static void test_stop_while_closed(void **state)
{
	struct instrument *in = *state;
	char opts[512];
	char err[1024] = "";
	snprintf(opts, sizeof opts, "device = \"%s/missing\"; reopen_min = 5.0; reopen_max = 60.0;",
		 in->dir);
	struct ioca_harness *h = ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err);
	assert_non_null(h);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	wait_stat(h, "open_failures", 1);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "No such file or directory"),
			 1);
	finish(h);
}

/*
 * Latin-1 bytes from the instrument (a degree sign as unit suffix, an
 * accented status text, a key with a non-ASCII byte) never reach what the
 * plugin emits: suffixes are ignored, the odd key makes the line garbage, and
 * every record stays valid UTF-8.
 */
static void test_latin1_from_instrument(void **state)
{
	struct instrument *in = *state;
	instrument_open(in);
	struct ioca_harness *h =
	    start(in, "protocol = \"kv\"; status_key = \"ST\";"
		      "calibrating_values = [ \"CAL\" ]; error_values = [ \"ERR\" ];");
	send_text(in, "T=23.4\xB0"
		      "C RH=61.5 ST=\xE9t\xE9\r\n");
	ioca_expect_ok(&EXPECT, h, "T", 0, 23.4, "");
	send_text(in, "T\xB0=1\r\n");
	wait_stat(h, "garbage_lines", 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const char *json = ioca_harness_get(h, i)->json;
		assert_true(!json || ioca_utf8_valid(json, strlen(json)));
	}
	ioca_harness_free(h);
	instrument_close(in);
}

static void test_option_checks(void **state)
{
	struct instrument *in = *state;
	char opts[1024];
	char err[2048] = "";
	snprintf(opts, sizeof opts,
		 "device = \"%s\"; baud = 12345; protocol = \"csv\";"
		 "csv_separator = \"ab\"; reopen_min = 10.0; reopen_max = 1.0;",
		 in->link);
	assert_null(ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "baud 12345 is not a standard rate"));
	assert_non_null(strstr(err, "csv_separator must be one character"));
	assert_non_null(strstr(err, "needs `fields`"));
	assert_non_null(strstr(err, "reopen_min must not exceed reopen_max"));
	snprintf(opts, sizeof opts, "device = \"x\"; protocol = \"kv\"; status_key = \"ST\";");
	assert_null(ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "needs calibrating_values and/or error_values"));
	snprintf(opts, sizeof opts,
		 "device = \"x\"; protocol = \"kv\"; status_column = 2; "
		 "error_values = [ \"E\" ];");
	assert_null(ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "status_column applies to protocol \"csv\" only"));
	snprintf(opts, sizeof opts,
		 "device = \"x\"; fields = ( { name = \"t\"; key = \"temp\"; } );"
		 "rules = ( { reading = \"nosuch\"; high = 1.0; } );");
	assert_null(ioca_harness_new(SERIAL_PLUGIN_SO, opts, err, sizeof err));
	assert_non_null(strstr(err, "'temp' is not an NMEA key"));
	assert_non_null(strstr(err, "unknown reading 'nosuch'"));
}

/* Highest rate worth trying when comparing the help text with the tty's table. */
#define BAUD_SCAN_MAX 4000000L

/*
 * The `baud` help text (what --list-plugins -v and the docs show) lists
 * exactly the rates the tty setup accepts, and the option's range spans them.
 */
static void test_baud_help_matches_code(void **state)
{
	void *so = dlopen(SERIAL_PLUGIN_SO, RTLD_NOW | RTLD_LOCAL);
	const struct ioca_plugin *p;
	const struct ioca_option *baud = NULL;
	size_t listed = 0, supported = 0;

	(void)state;
	assert_non_null(so);
	p = dlsym(so, "ioca_plugin_descriptor");
	assert_non_null(p);
	for (const struct ioca_option *o = p->options; o->key; o++)
		if (strcmp(o->key, "baud") == 0)
			baud = o;
	assert_non_null(baud);
	for (const char *c = baud->help; *c; c++) {
		char *end;
		long rate;

		if (*c < '0' || *c > '9')
			continue;
		rate = strtol(c, &end, 10);
		assert_true(ioca_tty_baud_supported(rate));
		assert_true(rate >= baud->min && rate <= baud->max);
		listed++;
		c = end - 1;
	}
	for (long rate = 1; rate <= BAUD_SCAN_MAX; rate++)
		if (ioca_tty_baud_supported(rate))
			supported++;
	assert_int_equal(listed, supported);
	dlclose(so);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nmea_valid),
	    cmocka_unit_test(test_nmea_bad_lines),
	    cmocka_unit_test(test_kv_fields),
	    cmocka_unit_test(test_csv_columns),
	    cmocka_unit_test(test_instrument_status),
	    cmocka_unit_test(test_silent_device),
	    cmocka_unit_test(test_device_disappears),
	    cmocka_unit_test(test_stop_while_closed),
	    cmocka_unit_test(test_latin1_from_instrument),
	    cmocka_unit_test(test_option_checks),
	    cmocka_unit_test(test_baud_help_matches_code),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
