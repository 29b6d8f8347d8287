/*
 * exec plugin end to end under the harness: real commands printing JSON,
 * no shell unless asked, invalid JSON, non-zero exits with stderr, a hanging
 * command killed with its whole process group at the timeout, prompt stop.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "plugin_harness.h"

#define WAIT_MS 5000
#define OPTS_LEN 2048
#define TIMEOUT_MS 500
#define SLACK_MS 300

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ioca_harness *start(const char *options)
{
	char so[1024], err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	snprintf(so, sizeof so, "%s/exec.so", dir ? dir : ".");
	h = ioca_harness_new(so, options, err, sizeof err);
	if (!h)
		fail_msg("exec options refused: %s", err);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	return h;
}

/* Reading `name` of the first telemetry record (from index *from on) that has it. */
static cJSON *wait_reading(struct ioca_harness *h, const char *name, size_t *from)
{
	int64_t deadline = now_ms() + WAIT_MS;

	for (size_t i = *from; now_ms() < deadline; i++) {
		const struct ioca_harness_record *r =
			ioca_harness_wait_for_nth(h, "telemetry", i, deadline - now_ms());
		cJSON *j, *item;

		if (!r)
			break;
		j = cJSON_Parse(r->json);
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(j, "readings"))
		{
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(item, "name")), name) == 0) {
				cJSON *copy = cJSON_Duplicate(item, 1);

				cJSON_Delete(j);
				*from = i + 1;
				return copy;
			}
		}
		cJSON_Delete(j);
	}
	fail_msg("no telemetry with reading %s", name);
	return NULL;
}

static void expect_ok(struct ioca_harness *h, const char *name, double value, const char *unit)
{
	size_t from = 0;
	cJSON *r = wait_reading(h, name, &from);

	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok");
	assert_true(cJSON_GetObjectItem(r, "value")->valuedouble == value);
	if (unit)
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "unit")), unit);
	cJSON_Delete(r);
}

static void expect_error(struct ioca_harness *h, const char *name, const char *error)
{
	size_t from = 0;
	cJSON *r = wait_reading(h, name, &from);

	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "error");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "value")));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "error")), error);
	cJSON_Delete(r);
}

static void expect_fault(struct ioca_harness *h, const char *error)
{
	const struct ioca_harness_record *r = ioca_harness_wait_for(h, "sensor.fault", WAIT_MS);
	cJSON *j;

	assert_non_null(r);
	j = cJSON_Parse(r->json);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")), error);
	cJSON_Delete(j);
}

static void test_json_output(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/echo\", \"{\\\"level\\\": 2.5, \\\"t\\\": {\\\"value\\\": 21, "
		  "\\\"unit\\\": \\\"C\\\"}, \\\"ph\\\": {\\\"value\\\": 7.1, \\\"status\\\": "
		  "\\\"calibrating\\\"}}\"];"
		  "interval = 0.2; publish_interval = 0.0;");
	expect_ok(h, "level", 2.5, NULL);
	expect_ok(h, "t", 21, "C");
	{
		size_t from = 0;
		cJSON *r = wait_reading(h, "ph", &from);

		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")),
				    "calibrating");
		cJSON_Delete(r);
	}
	assert_int_equal(ioca_harness_count(h, "sensor.fault"), 0);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

/* Without shell = true nothing is expanded: "$HOME" reaches echo literally. */
static void test_no_shell_unless_asked(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/echo\", \"{\\\"v\\\": $((2+3))}\"]; interval = 0.2;"
		  "publish_interval = 0.0; readings = ( { name = \"v\"; } );");
	expect_error(h, "v", "invalid_json");
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	h = start("command = [\"echo '{\\\"v\\\": '$((2+3))'}'\"]; shell = true; interval = 0.2;"
		  "publish_interval = 0.0;");
	expect_ok(h, "v", 5, NULL);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static void test_invalid_json_faults(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/echo\", \"temperature 21.5\"]; interval = 0.1;"
		  "publish_interval = 0.0; fault_after = 2; readings = ( { name = \"t\"; unit = \"C\"; } );");
	expect_error(h, "t", "invalid_json");
	expect_fault(h, "invalid_json");
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static void test_exit_status_and_stderr(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/sh\", \"-c\", \"echo probe unplugged >&2; exit 3\"];"
		  "interval = 0.1; publish_interval = 0.0; fault_after = 2;"
		  "readings = ( { name = \"rain\"; unit = \"mm\"; } );");
	expect_error(h, "rain", "exit_status 3: probe unplugged");
	expect_fault(h, "exit_status 3: probe unplugged");
	assert_true(ioca_harness_log_count(h, IOCA_LOG_WARNING, "probe unplugged") >= 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static void test_missing_reading(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/echo\", \"{\\\"a\\\": 1}\"]; interval = 0.2; publish_interval = 0.0;"
		  "readings = ( { name = \"a\"; }, { name = \"b\"; } );");
	expect_ok(h, "a", 1, NULL);
	expect_error(h, "b", "missing");
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static bool process_gone(pid_t pid, int64_t within_ms)
{
	int64_t deadline = now_ms() + within_ms;
	char path[64], state = '?';

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	while (now_ms() < deadline) {
		FILE *f = fopen(path, "r");

		if (!f)
			return true;
		/* An orphan killed but not yet reaped by init is a zombie: gone too. */
		if (fscanf(f, "%*d %*s %c", &state) == 1 && state == 'Z') {
			fclose(f);
			return true;
		}
		fclose(f);
		usleep(20000);
	}
	return false;
}

/* A hanging command is killed at its timeout, background children included. */
static void test_hang_killed_at_timeout(void **unused)
{
	char dir[] = "/tmp/ioca-exec-XXXXXX";
	char opts[OPTS_LEN], pidfile[256];
	struct ioca_harness *h;
	const struct ioca_harness_record *r;
	int64_t t0;
	FILE *f;
	int bg = 0;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(pidfile, sizeof pidfile, "%s/bg.pid", dir);
	snprintf(opts, sizeof opts,
		 "command = [\"/bin/sh\", \"-c\", \"sleep 30 & echo $! > %s; sleep 30; echo '{}'\"];"
		 "interval = 10.0; timeout = %g; publish_interval = 0.0; fault_after = 1;"
		 "readings = ( { name = \"level\"; } );",
		 pidfile, TIMEOUT_MS / 1000.0);
	t0 = now_ms();
	h = start(opts);
	expect_error(h, "level", "timeout");
	r = ioca_harness_wait_for(h, "telemetry", 0);
	assert_true(r->mono_ms - t0 >= TIMEOUT_MS);
	assert_true(r->mono_ms - t0 <= TIMEOUT_MS + SLACK_MS);
	expect_fault(h, "timeout");
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &bg), 1);
	fclose(f);
	assert_true(bg > 0);
	assert_true(process_gone(bg, 1000));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	unlink(pidfile);
	rmdir(dir);
}

/* Stop while a command runs: prompt, and the command is killed. */
static void test_stop_during_command(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("command = [\"/bin/sleep\", \"30\"]; interval = 60.0; timeout = 60.0;");
	usleep(300000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) <= SLACK_MS);
	ioca_harness_free(h);
}

static void test_bad_config(void **unused)
{
	char so[1024], err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	(void)unused;
	snprintf(so, sizeof so, "%s/exec.so", dir ? dir : ".");
	h = ioca_harness_new(so, "command = [\"a\", \"b\"]; shell = true;", err, sizeof err);
	assert_null(h);
	assert_non_null(strstr(err, "one command line"));
	h = ioca_harness_new(so, "interval = 5.0;", err, sizeof err);
	assert_null(h);
	assert_non_null(strstr(err, "command"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_no_shell_unless_asked),
		cmocka_unit_test(test_invalid_json_faults),
		cmocka_unit_test(test_exit_status_and_stderr),
		cmocka_unit_test(test_missing_reading),
		cmocka_unit_test(test_hang_killed_at_timeout),
		cmocka_unit_test(test_stop_during_command),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
