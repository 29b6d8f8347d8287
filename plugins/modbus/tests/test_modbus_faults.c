/*
 * Modbus plugin failure handling against the libmodbus test server: exception
 * responses, CRC errors (RTU over a pty), timeouts of a silent device (with
 * timing bounds on the other devices of the bus), loss and return of the TCP
 * server, the calibration status bit, threshold events from polled values,
 * prompt stop, and configuration errors.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "modbus_test_util.h"

#define WAIT_MS        5000
#define OPTS_LEN       4096
#define POLL_MS        250
#define TIMEOUT_MS     400
#define SCHED_SLACK_MS 200

/* The data object of the first event `type` whose reading is `reading`, or NULL. */
static cJSON *wait_event(struct ioca_harness *h, const char *type, const char *reading,
			 int64_t timeout_ms)
{
	int64_t deadline = mb_now_ms() + timeout_ms;

	for (size_t i = 0;; i++) {
		const struct ioca_harness_record *r;
		cJSON *j;
		int64_t left = deadline - mb_now_ms();

		if (left <= 0)
			return NULL;
		r = ioca_harness_wait_for_nth(h, type, i, left);
		if (!r)
			return NULL;
		j = cJSON_Parse(r->json);
		if (j &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "reading")), reading) == 0)
			return j;
		cJSON_Delete(j);
	}
}

static void expect_event(struct ioca_harness *h, const char *type, const char *reading,
			 const char *error)
{
	cJSON *j = wait_event(h, type, reading, WAIT_MS);

	if (!j)
		fail_msg("no %s for %s", type, reading);
	if (error)
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")), error);
	cJSON_Delete(j);
}

/* Count events `type` naming `reading` so far. */
static size_t count_events(struct ioca_harness *h, const char *type, const char *reading)
{
	size_t n = 0;

	for (size_t i = 0; i < ioca_harness_count(h, type); i++) {
		const struct ioca_harness_record *r = ioca_harness_wait_for_nth(h, type, i, 0);
		cJSON *j = cJSON_Parse(r->json);

		if (j &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "reading")), reading) == 0)
			n++;
		cJSON_Delete(j);
	}
	return n;
}

/* Wait for a telemetry record where `name` has status `status` (and error `error`). */
static void expect_status(struct ioca_harness *h, const char *name, const char *status,
			  const char *error)
{
	int64_t deadline = mb_now_ms() + WAIT_MS;
	char last[160] = "none";

	for (size_t i = 0; mb_now_ms() < deadline; i++) {
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", i, deadline - mb_now_ms());
		char st[32], err[128];
		double v;

		if (!r)
			break;
		if (!mb_reading(r, name, st, sizeof st, &v, err, sizeof err))
			continue;
		snprintf(last, sizeof last, "%s/%s", st, err);
		if (strcmp(st, status) == 0 && (!error || strcmp(err, error) == 0)) {
			if (strcmp(status, "error") == 0)
				assert_true(isnan(v)); /* value null */
			return;
		}
	}
	fail_msg("%s never became %s/%s (last %s)", name, status, error ? error : "", last);
}

static void test_exception_responses(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 42"), "OK");
	assert_string_equal(mb_server_cmd(s, "exception 3 6"), "OK");
	snprintf(
	    opts, sizeof opts,
	    "host = \"127.0.0.1\"; port = %d; publish_interval = 0.0; fault_after = 2;"
	    "poll_interval = 0.1; devices = ("
	    "{ name = \"a\"; unit_id = 1; registers = ( { name = \"r1\"; address = 0; } ); },"
	    "{ name = \"b\"; unit_id = 2; registers = ( { name = \"far\"; address = 20000; } ); },"
	    "{ name = \"c\"; unit_id = 3; registers = ( { name = \"busy\"; address = 0; } ); } );",
	    s->port);
	h = mb_plugin_start(opts);
	expect_status(h, "far", "error", "exception:illegal_data_address");
	expect_status(h, "busy", "error", "exception:server_busy");
	expect_event(h, "sensor.fault", "far", "exception:illegal_data_address");
	expect_event(h, "sensor.fault", "busy", "exception:server_busy");
	assert_string_equal(mb_server_cmd(s, "exception 3 0"), "OK");
	expect_event(h, "sensor.recovered", "busy", "exception:server_busy");
	expect_status(h, "r1", "ok", NULL);
	assert_int_equal(count_events(h, "sensor.fault", "r1"), 0);
	assert_int_equal(count_events(h, "sensor.fault", "far"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	mb_server_free(s);
}

/* Largest gap between consecutive telemetry records carrying `name`, from record `skip` on. */
static int64_t max_gap_ms(struct ioca_harness *h, const char *name, size_t skip, size_t *samples)
{
	int64_t prev = -1, gap = 0;

	*samples = 0;
	for (size_t i = skip; i < ioca_harness_count(h, "telemetry"); i++) {
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", i, 0);
		char st[32], err[128];
		double v;

		if (!mb_reading(r, name, st, sizeof st, &v, err, sizeof err))
			continue;
		assert_string_equal(st, "ok");
		if (prev >= 0 && r->mono_ms - prev > gap)
			gap = r->mono_ms - prev;
		prev = r->mono_ms;
		(*samples)++;
	}
	return gap;
}

static void silent_device_case(struct mb_server *s, const char *bus)
{
	char opts[OPTS_LEN];
	struct ioca_harness *h;
	size_t skip, n1, n3;
	int64_t gap1, gap3, t0;

	for (int u = 1; u <= 3; u++)
		assert_string_equal(mb_server_cmd(s, "set %d holding 0 %d", u, u * 10), "OK");
	snprintf(
	    opts, sizeof opts,
	    "%s publish_interval = 0.0; fault_after = 2; timeout_ms = %d; poll_interval = %g;"
	    "devices = ("
	    "{ name = \"a\"; unit_id = 1; registers = ( { name = \"r1\"; address = 0; } ); },"
	    "{ name = \"b\"; unit_id = 2; registers = ( { name = \"r2\"; address = 0; } ); },"
	    "{ name = \"c\"; unit_id = 3; registers = ( { name = \"r3\"; address = 0; } ); } );",
	    bus, TIMEOUT_MS, POLL_MS / 1000.0);
	h = mb_plugin_start(opts);
	expect_status(h, "r2", "ok", NULL);
	assert_string_equal(mb_server_cmd(s, "silent 2 1"), "OK");
	t0 = mb_now_ms();
	expect_status(h, "r2", "error", "timeout");
	expect_event(h, "sensor.fault", "r2", "timeout");
	/* fault_after = 2 failed polls: within two poll periods plus two timeouts. */
	assert_true(mb_now_ms() - t0 <= 2 * (POLL_MS + TIMEOUT_MS) + SCHED_SLACK_MS);
	skip = ioca_harness_count(h, "telemetry");
	while (mb_now_ms() - t0 < 3000)
		ioca_harness_wait_for_nth(h, "telemetry", ioca_harness_count(h, "telemetry"), 100);
	/* The healthy devices keep being polled: at worst one timeout late. */
	gap1 = max_gap_ms(h, "r1", skip, &n1);
	gap3 = max_gap_ms(h, "r3", skip, &n3);
	print_message(
	    "%s: silent device: r1 max gap %lld ms over %zu samples, r3 %lld ms over %zu\n", bus,
	    (long long)gap1, n1, (long long)gap3, n3);
	assert_true(n1 >= 3 && n3 >= 3);
	assert_true(gap1 <= POLL_MS + TIMEOUT_MS + SCHED_SLACK_MS);
	assert_true(gap3 <= POLL_MS + TIMEOUT_MS + SCHED_SLACK_MS);
	assert_int_equal(count_events(h, "sensor.fault", "r1"), 0);
	assert_int_equal(count_events(h, "sensor.fault", "r3"), 0);
	/* A silent device costs one timeout per pass, not one per register block. */
	assert_string_equal(mb_server_cmd(s, "silent 2 0"), "OK");
	expect_event(h, "sensor.recovered", "r2", "timeout");
	expect_status(h, "r2", "ok", NULL);
	assert_int_equal(count_events(h, "sensor.fault", "r2"), 1);
	/* Stop is prompt even while a request may be waiting for its timeout. */
	assert_string_equal(mb_server_cmd(s, "silent 2 1"), "OK");
	expect_status(h, "r2", "error", "timeout");
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) <= TIMEOUT_MS + SCHED_SLACK_MS);
	ioca_harness_free(h);
}

static void test_tcp_silent_device(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char bus[128];

	(void)unused;
	assert_non_null(s);
	snprintf(bus, sizeof bus, "host = \"127.0.0.1\"; port = %d;", s->port);
	silent_device_case(s, bus);
	mb_server_free(s);
}

static void test_rtu_silent_device(void **unused)
{
	struct mb_server *s = mb_server_start("rtu", 0);
	char bus[256];

	(void)unused;
	assert_non_null(s);
	snprintf(bus, sizeof bus, "device = \"%s\"; baud = 19200;", s->tty);
	silent_device_case(s, bus);
	mb_server_free(s);
}

static void test_rtu_bad_crc(void **unused)
{
	struct mb_server *s = mb_server_start("rtu", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 11"), "OK");
	assert_string_equal(mb_server_cmd(s, "set 2 holding 0 22"), "OK");
	assert_string_equal(mb_server_cmd(s, "badcrc 2 1"), "OK");
	snprintf(
	    opts, sizeof opts,
	    "device = \"%s\"; baud = 9600; publish_interval = 0.0; fault_after = 3;"
	    "poll_interval = 0.1; timeout_ms = 500; devices = ("
	    "{ name = \"a\"; unit_id = 1; registers = ( { name = \"r1\"; address = 0; } ); },"
	    "{ name = \"b\"; unit_id = 2; registers = ( { name = \"r2\"; address = 0; } ); } );",
	    s->tty);
	h = mb_plugin_start(opts);
	expect_status(h, "r2", "error", "crc");
	expect_event(h, "sensor.fault", "r2", "crc");
	expect_status(h, "r1", "ok", NULL);
	assert_string_equal(mb_server_cmd(s, "badcrc 2 0"), "OK");
	expect_event(h, "sensor.recovered", "r2", "crc");
	expect_status(h, "r2", "ok", NULL);
	assert_int_equal(count_events(h, "sensor.fault", "r1"), 0);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	mb_server_free(s);
}

static void test_tcp_server_lost_and_back(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;
	int port;

	(void)unused;
	assert_non_null(s);
	port = s->port;
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 5"), "OK");
	snprintf(
	    opts, sizeof opts,
	    "host = \"127.0.0.1\"; port = %d; publish_interval = 0.0; fault_after = 2;"
	    "poll_interval = 0.1; timeout_ms = 300; reconnect_max = 1.0; devices = ("
	    "{ name = \"a\"; unit_id = 1; registers = ( { name = \"r1\"; address = 0; } ); } );",
	    port);
	h = mb_plugin_start(opts);
	expect_status(h, "r1", "ok", NULL);
	mb_server_kill(s);
	mb_server_free(s);
	expect_event(h, "sensor.fault", "r1", NULL);
	expect_status(h, "r1", "error", "connect_failed");
	/* Reconnection backs off (0.5 s doubling to reconnect_max = 1 s) instead of
	 * trying at every poll (0.1 s): over 2.5 s at most 5 attempts, not 25. */
	{
		size_t before = ioca_harness_log_count(h, IOCA_LOG_WARNING, "cannot connect");
		int64_t t0 = mb_now_ms();

		while (mb_now_ms() - t0 < 2500)
			ioca_harness_wait_for(h, "never", 100);
		assert_true(
		    ioca_harness_log_count(h, IOCA_LOG_WARNING, "cannot connect") - before <= 5);
		assert_true(
		    ioca_harness_log_count(h, IOCA_LOG_WARNING, "cannot connect") - before >= 2);
	}
	s = mb_server_start("tcp", port);
	assert_non_null(s);
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 6"), "OK");
	expect_event(h, "sensor.recovered", "r1", NULL);
	expect_status(h, "r1", "ok", NULL);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	mb_server_free(s);
}

static void test_calibration_bit(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 35"), "OK");
	assert_string_equal(mb_server_cmd(s, "set 1 holding 100 4"), "OK");
	snprintf(opts, sizeof opts,
		 "host = \"127.0.0.1\"; port = %d; publish_interval = 0.0; poll_interval = 0.1;"
		 "rules = ( { reading = \"pm25\"; high = 30.0; } );"
		 "devices = ( { name = \"a\"; unit_id = 1; calibration_address = 100; "
		 "calibration_bit = 2;"
		 "registers = ( { name = \"pm25\"; address = 0; unit = \"ug/m3\"; } ); } );",
		 s->port);
	h = mb_plugin_start(opts);
	expect_status(h, "pm25", "calibrating", NULL);
	/* Calibrating values do not raise rules. */
	assert_int_equal(ioca_harness_count(h, "threshold.exceeded"), 0);
	assert_string_equal(mb_server_cmd(s, "set 1 holding 100 3"), "OK"); /* bit 2 clear */
	expect_status(h, "pm25", "ok", NULL);
	{
		cJSON *j = wait_event(h, "threshold.exceeded", "pm25", WAIT_MS);

		assert_non_null(j);
		assert_true(cJSON_GetObjectItem(j, "value")->valuedouble == 35.0);
		assert_true(cJSON_GetObjectItem(j, "limit")->valuedouble == 30.0);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "rule")),
				    "pm25_high");
		cJSON_Delete(j);
	}
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 20"), "OK");
	expect_event(h, "threshold.cleared", "pm25", NULL);
	assert_int_equal(ioca_harness_count(h, "threshold.exceeded"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	mb_server_free(s);
}

static size_t count_samples(struct ioca_harness *h, const char *name);

/* Number of telemetry records where reading `name` has status error. */
static size_t count_errors(struct ioca_harness *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < ioca_harness_count(h, "telemetry"); i++) {
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", i, 0);
		char st[32], err[128];
		double v;

		if (mb_reading(r, name, st, sizeof st, &v, err, sizeof err) &&
		    strcmp(st, "ok") != 0) {
			print_message("%s: %s %s\n", name, st, err);
			n++;
		}
	}
	return n;
}

/* A device that answers after its timeout: its late answers never reach another device's request.
 */
static void test_tcp_late_answers(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	for (int u = 1; u <= 3; u++)
		assert_string_equal(mb_server_cmd(s, "set %d holding 0 %d", u, u), "OK");
	assert_string_equal(mb_server_cmd(s, "delay 2 %d", TIMEOUT_MS + 200), "OK");
	snprintf(
	    opts, sizeof opts,
	    "host = \"127.0.0.1\"; port = %d; publish_interval = 0.0; timeout_ms = %d;"
	    "poll_interval = %g; devices = ("
	    "{ name = \"a\"; unit_id = 1; registers = ( { name = \"r1\"; address = 0; } ); },"
	    "{ name = \"b\"; unit_id = 2; registers = ( { name = \"r2\"; address = 0; } ); },"
	    "{ name = \"c\"; unit_id = 3; registers = ( { name = \"r3\"; address = 0; } ); } );",
	    s->port, TIMEOUT_MS, POLL_MS / 1000.0);
	h = mb_plugin_start(opts);
	expect_status(h, "r2", "error", "timeout");
	usleep(2500 * 1000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_int_equal(count_errors(h, "r1"), 0);
	assert_int_equal(count_errors(h, "r3"), 0);
	assert_true(count_samples(h, "r3") >= 4);
	ioca_harness_free(h);
	mb_server_free(s);
}

/* Telemetry records carrying reading `name`. */
static size_t count_samples(struct ioca_harness *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < ioca_harness_count(h, "telemetry"); i++) {
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", i, 0);
		char st[32], err[128];
		double v;

		if (mb_reading(r, name, st, sizeof st, &v, err, sizeof err))
			n++;
	}
	return n;
}

/* A register with its own poll_interval is read on its own schedule. */
static void test_register_poll_intervals(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[OPTS_LEN];
	struct ioca_harness *h;
	size_t fast, slow;

	(void)unused;
	assert_non_null(s);
	snprintf(opts, sizeof opts,
		 "host = \"127.0.0.1\"; port = %d; publish_interval = 0.0; devices = ("
		 "{ name = \"a\"; poll_interval = 0.2; registers = ("
		 "{ name = \"fast\"; address = 0; }, { name = \"slow\"; address = 1; poll_interval "
		 "= 1.0; } ); } );",
		 s->port);
	h = mb_plugin_start(opts);
	usleep(2100 * 1000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	fast = count_samples(h, "fast");
	slow = count_samples(h, "slow");
	print_message("poll intervals: fast %zu samples, slow %zu in 2.1 s\n", fast, slow);
	assert_true(fast >= 9 && fast <= 13);
	assert_true(slow >= 2 && slow <= 4);
	ioca_harness_free(h);
	mb_server_free(s);
}

static void expect_refused(const char *options, const char *needle)
{
	char so[1024], err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	snprintf(so, sizeof so, "%s/modbus.so", dir ? dir : ".");
	h = ioca_harness_new(so, options, err, sizeof err);
	if (h) {
		ioca_harness_free(h);
		fail_msg("accepted: %s", options);
	}
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_config(void **unused)
{
	(void)unused;
	expect_refused("host = \"127.0.0.1\"; device = \"/dev/ttyS0\"; devices = ( { name = \"a\";"
		       "registers = ( { name = \"x\"; address = 1; } ); } );",
		       "exactly one");
	expect_refused("host = \"127.0.0.1\"; devices = ( { name = \"a\"; registers = ("
		       "{ name = \"x\"; address = 1; }, { name = \"x\"; address = 2; } ); } );",
		       "more than once");
	expect_refused("host = \"127.0.0.1\"; devices = ( { name = \"a\"; registers = ("
		       "{ name = \"x\"; address = 1; } ); }, { name = \"b\"; unit_id = 2;"
		       "registers = ( { name = \"x\"; address = 1; } ); } );",
		       "more than once");
	expect_refused("host = \"127.0.0.1\"; devices = ( { name = \"a\"; registers = ("
		       "{ name = \"x\"; address = 1; type = \"f64\"; } ); } );",
		       "type");
	expect_refused(
	    "host = \"127.0.0.1\"; rules = ( { reading = \"nope\"; high = 1.0; } );"
	    "devices = ( { name = \"a\"; registers = ( { name = \"x\"; address = 1; } ); } );",
	    "unknown reading");
	expect_refused("host = \"127.0.0.1\"; devices = ( { name = \"a\"; registers = ("
		       "{ name = \"x\"; address = 65535; type = \"u32\"; } ); } );",
		       "past address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exception_responses),
	    cmocka_unit_test(test_tcp_silent_device),
	    cmocka_unit_test(test_rtu_silent_device),
	    cmocka_unit_test(test_rtu_bad_crc),
	    cmocka_unit_test(test_tcp_server_lost_and_back),
	    cmocka_unit_test(test_calibration_bit),
	    cmocka_unit_test(test_register_poll_intervals),
	    cmocka_unit_test(test_tcp_late_answers),
	    cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
