/*
 * exec plugin end to end under the harness: real commands printing JSON,
 * no shell unless asked, invalid JSON, non-zero exits with stderr, a hanging
 * command killed with its whole process group at the timeout, prompt stop,
 * no descriptor but 0-2 reaching the command, a bounded reading table, and
 * Latin-1 output turned into valid UTF-8.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define WAIT_MS    5000
#define OPTS_LEN   2048
#define TIMEOUT_MS 500
#define SLACK_MS   300

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
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(item, "name")), name) ==
			    0) {
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
		  "publish_interval = 0.0; fault_after = 2; readings = ( { name = \"t\"; unit = "
		  "\"C\"; } );");
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
	h = start(
	    "command = [\"/bin/echo\", \"{\\\"a\\\": 1}\"]; interval = 0.2; publish_interval = 0.0;"
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
	snprintf(
	    opts, sizeof opts,
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

/*
 * The command gets stdin, stdout and stderr only. The test process holds a
 * pipe opened without O_CLOEXEC (as the worker holds its socket to the core,
 * fd 3): writing to it must fail in the command, and the shell's
 * /proc/<pid>/fd must list exactly 0, 1 and 2 (the glob opens the directory
 * itself, hence one entry more).
 */
static void test_no_inherited_descriptors(void **unused)
{
	char opts[OPTS_LEN], buf[16];
	struct ioca_harness *h;
	int p[2];

	(void)unused;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	snprintf(opts, sizeof opts,
		 "command = [\"{ printf X >&%d; } 2>/dev/null; set -- /proc/$$/fd/*;"
		 " echo '{\\\"fds\\\": '$(($# - 1))'}'\"];"
		 "shell = true; interval = 0.2; publish_interval = 0.0;",
		 p[1]);
	h = start(opts);
	expect_ok(h, "fds", 3, NULL);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	close(p[1]);
	assert_int_equal(read(p[0], buf, sizeof buf), 0);
	close(p[0]);
}

/* Most readings in one telemetry record so far. */
static size_t readings_seen(struct ioca_harness *h)
{
	size_t most = 0;

	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		cJSON *j;
		size_t n;

		if (!r || r->kind != IOCA_HARNESS_TELEMETRY)
			continue;
		j = cJSON_Parse(r->json);
		n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(j, "readings"));
		if (n > most)
			most = n;
		cJSON_Delete(j);
	}
	return most;
}

/*
 * A command printing NEW_PER_RUN new names every run (run k prints "keep"
 * and r<k*N> .. r<k*N+N-1>): the table stops at max_readings, the rest is
 * counted and logged once, and the readings kept go on being published.
 */
#define NEW_PER_RUN  40
#define MAX_READINGS 100
#define RUNS_WANTED  6
static void test_reading_table_bounded(void **unused)
{
	char dir[] = "/tmp/ioca-exec-XXXXXX";
	char opts[OPTS_LEN], path[256];
	struct ioca_harness *h;
	int64_t deadline;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(opts, sizeof opts,
		 "command = [\"k=$(cat %s/k 2>/dev/null || echo 0); echo $((k+1)) > %s/k;"
		 " printf '{\\\"keep\\\": 1'; i=0; while [ $i -lt %d ]; do"
		 " printf ', \\\"r%%d\\\": %%d' $((k*%d+i)) $i; i=$((i+1)); done; echo '}'\"];"
		 "shell = true; interval = 0.1; publish_interval = 0.0; max_readings = %d;",
		 dir, dir, NEW_PER_RUN, NEW_PER_RUN, MAX_READINGS);
	h = start(opts);
	deadline = now_ms() + WAIT_MS;
	while (ioca_harness_stat(h, "runs") < RUNS_WANTED && now_ms() < deadline)
		usleep(20000);
	assert_true(ioca_harness_stat(h, "runs") >= RUNS_WANTED);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_int_equal(readings_seen(h), MAX_READINGS);
	/* runs 1..RUNS_WANTED offered 1 + RUNS_WANTED * NEW_PER_RUN names */
	assert_true(ioca_harness_stat(h, "readings_dropped") >=
		    (double)(1 + RUNS_WANTED * NEW_PER_RUN - MAX_READINGS));
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "reading table full"), 1);
	ioca_harness_free(h);
	snprintf(path, sizeof path, "%s/k", dir);
	unlink(path);
	rmdir(dir);
}

/* Whether s is well-formed UTF-8 (lead and continuation bytes; enough for the test). */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80             ? 1
			   : (*p & 0xE0) == 0xC0 ? 2
			   : (*p & 0xF0) == 0xE0 ? 3
			   : (*p & 0xF8) == 0xF0 ? 4
						 : 0;

		if (n == 0 || (n == 2 && *p < 0xC2))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/*
 * Latin-1 bytes (printf's octal escapes: \260 is the degree sign, \351 e
 * acute, \340 a grave) in a unit, a name and an error text come out as
 * U+FFFD; every record the plugin emitted is valid UTF-8.
 */
static void test_latin1_output_sanitised(void **unused)
{
	struct ioca_harness *h;
	size_t from = 0;
	cJSON *reading;

	(void)unused;
	h = start("command = [\"printf '{\\\"t\\\": {\\\"value\\\": 21.5, \\\"unit\\\": "
		  "\\\"\\\\260C\\\"},"
		  " \\\"caf\\\\351\\\": 1, \\\"p\\\": {\\\"status\\\": \\\"error\\\","
		  " \\\"error\\\": \\\"sonde \\\\340 sec\\\"}}'\"];"
		  "shell = true; interval = 0.2; publish_interval = 0.0; fault_after = 1;");
	expect_ok(h, "t", 21.5,
		  "\xEF\xBF\xBD"
		  "C");
	expect_ok(h, "caf\xEF\xBF\xBD", 1, NULL);
	reading = wait_reading(h, "p", &from);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(reading, "error")),
			    "sonde \xEF\xBF\xBD sec");
	cJSON_Delete(reading);
	assert_non_null(ioca_harness_wait_for(h, "sensor.fault", WAIT_MS));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++)
		assert_true(valid_utf8(ioca_harness_get(h, i)->json));
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
	h = ioca_harness_new(so,
			     "command = [\"x\"]; max_readings = 1;"
			     "readings = ( { name = \"a\"; }, { name = \"b\"; } );",
			     err, sizeof err);
	assert_null(h);
	assert_non_null(strstr(err, "max_readings"));
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
	    cmocka_unit_test(test_no_inherited_descriptors),
	    cmocka_unit_test(test_reading_table_bounded),
	    cmocka_unit_test(test_latin1_output_sanitised),
	    cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
