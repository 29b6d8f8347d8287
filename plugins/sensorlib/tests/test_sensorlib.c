/*
 * Tests of ioca_sensorlib through the sensor_script test plugin: scripted
 * value sequences on a virtual clock, and the exact list of what comes out
 * (threshold events, faults, telemetry values and statistics). Also checks
 * that inconsistent rules are refused at configuration time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "plugin_harness.h"

#define EPOCH_MS        1700000000000LL
#define DONE_TIMEOUT_MS 10000
#define TRACE_MAX       4096
#define PATH_MAX_LEN    1024

static void plugin_path(char *buf, size_t len)
{
	const char *dir = getenv("IOCA_PLUGIN_DIR");

	snprintf(buf, len, "%s/sensor_script.so", dir ? dir : ".");
}

/* Append one compact line describing record r to trace. */
static void describe(const struct ioca_harness_record *r, char *trace, size_t len)
{
	cJSON *j = cJSON_Parse(r->json ? r->json : "{}");
	char item[512] = "";
	size_t used = strlen(trace);

	assert_non_null(j);
	if (strncmp(r->type, "threshold.", 10) == 0) {
		snprintf(item, sizeof item, "%s %s v=%g limit=%g t=%lld", r->type + 10,
			 cJSON_GetObjectItem(j, "rule")->valuestring,
			 cJSON_GetObjectItem(j, "value")->valuedouble,
			 cJSON_GetObjectItem(j, "limit")->valuedouble,
			 (long long)(r->time_ms - EPOCH_MS));
	} else if (strncmp(r->type, "sensor.", 7) == 0) {
		snprintf(item, sizeof item, "%s %s", r->type + 7,
			 cJSON_GetObjectItem(j, "error")->valuestring);
	} else if (strcmp(r->type, "telemetry") == 0) {
		cJSON *rd = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "readings"), 0);
		cJSON *st = cJSON_GetObjectItem(rd, "status");
		cJSON *v = cJSON_GetObjectItem(rd, "value");
		cJSON *mn = cJSON_GetObjectItem(rd, "min");
		cJSON *mx = cJSON_GetObjectItem(rd, "max");
		cJSON *err = cJSON_GetObjectItem(rd, "error");
		int n = snprintf(item, sizeof item, "tm %s", st->valuestring);

		if (cJSON_IsNumber(v))
			n += snprintf(item + n, sizeof item - (size_t)n, " v=%g", v->valuedouble);
		else
			n += snprintf(item + n, sizeof item - (size_t)n, " v=null");
		if (cJSON_IsNumber(mn) && cJSON_IsNumber(mx))
			n += snprintf(item + n, sizeof item - (size_t)n, " [%g..%g]",
				      mn->valuedouble, mx->valuedouble);
		if (cJSON_IsString(err))
			snprintf(item + n, sizeof item - (size_t)n, " %s", err->valuestring);
	} else {
		cJSON_Delete(j);
		return;
	}
	cJSON_Delete(j);
	snprintf(trace + used, len - used, "%s%s", used ? "; " : "", item);
}

/*
 * Run the script plugin with `options`; trace what it emitted, leaving out
 * telemetry unless with_telemetry.
 */
static void run_script(const char *options, bool with_telemetry, char *trace, size_t len)
{
	char so[PATH_MAX_LEN];
	char err[1024] = "";
	struct ioca_harness *h;

	plugin_path(so, sizeof so);
	h = ioca_harness_new(so, options, err, sizeof err);
	if (!h)
		fail_msg("harness: %s", err);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	assert_non_null(ioca_harness_wait_for(h, "script.done", DONE_TIMEOUT_MS));
	trace[0] = '\0';
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);

		if (!with_telemetry && strcmp(r->type, "telemetry") == 0)
			continue;
		describe(r, trace, len);
	}
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static void expect_trace(const char *options, bool with_telemetry, const char *expected)
{
	char trace[TRACE_MAX];

	run_script(options, with_telemetry, trace, sizeof trace);
	assert_string_equal(trace, expected);
}

/* Hysteresis: hovering between clear level and limit changes nothing. */
static void test_hysteresis(void **unused)
{
	(void)unused;
	expect_trace("values = [5.0, 11.0, 9.5, 10.5, 9.0, 7.9, 9.0, 10.0, 11.0, 10.2, 8.5];"
		     "rules = ( { reading = \"level\"; high = 10.0; high_clear = 8.0; } );",
		     false,
		     "exceeded level_high v=11 limit=10 t=2000; "
		     "cleared level_high v=7.9 limit=10 t=6000; "
		     "exceeded level_high v=11 limit=10 t=9000");
}

/* Without a clear level a value that crosses back and forth does alternate. */
static void test_no_hysteresis_alternates(void **unused)
{
	(void)unused;
	expect_trace("values = [11.0, 9.0, 11.0, 9.0];"
		     "rules = ( { reading = \"level\"; high = 10.0; name = \"flood\"; severity = "
		     "\"critical\"; } );",
		     false,
		     "exceeded flood v=11 limit=10 t=1000; cleared flood v=9 limit=10 t=2000; "
		     "exceeded flood v=11 limit=10 t=3000; cleared flood v=9 limit=10 t=4000");
}

/* hold_raise: a spike shorter than the hold time raises nothing. */
static void test_hold_raise(void **unused)
{
	(void)unused;
	expect_trace("values = [11.0, 11.0, 5.0, 11.0, 11.0, 11.0, 12.0, 12.0];"
		     "rules = ( { reading = \"level\"; high = 10.0; hold_raise = 3.0; } );",
		     false, "exceeded level_high v=12 limit=10 t=7000");
}

/* hold_clear: a dip shorter than the hold time does not clear. */
static void test_hold_clear(void **unused)
{
	(void)unused;
	expect_trace(
	    "values = [11.0, 7.0, 7.0, 12.0, 7.0, 7.0, 7.0, 7.0];"
	    "rules = ( { reading = \"level\"; high = 10.0; high_clear = 8.0; hold_clear = 2.5; } "
	    ");",
	    false,
	    "exceeded level_high v=11 limit=10 t=1000; cleared level_high v=7 limit=10 t=8000");
}

/* Low limit with its clear level; a jump from low straight past high. */
static void test_low_and_high(void **unused)
{
	(void)unused;
	expect_trace(
	    "values = [5.0, 1.0, 2.5, 3.5, 1.5, 20.0, 15.0];"
	    "rules = ( { reading = \"level\"; low = 2.0; low_clear = 3.0; high = 18.0; high_clear "
	    "= 16.0; } );",
	    false,
	    "exceeded level_low v=1 limit=2 t=2000; cleared level_low v=3.5 limit=2 t=4000; "
	    "exceeded level_low v=1.5 limit=2 t=5000; cleared level_low v=20 limit=2 t=6000; "
	    "exceeded level_high v=20 limit=18 t=6000; cleared level_high v=15 limit=18 t=7000");
}

/* Failed and calibrating samples neither raise nor clear. */
static void test_errors_and_calibration_do_not_drive_rules(void **unused)
{
	(void)unused;
	expect_trace("values = [11.0, 0.0, 50.0, 0.0, 12.0];"
		     "errors = [1.0, 3.0]; calibrating = [2.0];"
		     "rules = ( { reading = \"level\"; high = 10.0; high_clear = 8.0; } );",
		     false, "exceeded level_high v=11 limit=10 t=1000");
}

/* N consecutive failures: one fault, one recovery; fewer: nothing. */
static void test_fault_after(void **unused)
{
	(void)unused;
	expect_trace("values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];"
		     "errors = [1.0, 2.0, 4.0, 5.0, 6.0, 7.0]; fault_after = 3;",
		     false, "fault timeout; recovered timeout");
}

/* Aggregation over publish_interval: mean with min/max, then max. */
static void test_aggregate_mean(void **unused)
{
	(void)unused;
	expect_trace("values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];"
		     "publish_interval = 5.0; aggregate = \"mean\";",
		     true, "tm ok v=3.5 [1..6]; tm ok v=8.5 [7..10]");
}

static void test_aggregate_max_with_error_last(void **unused)
{
	(void)unused;
	expect_trace("values = [1.0, 9.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 2.0, 0.0];"
		     "errors = [9.0]; publish_interval = 5.0; aggregate = \"max\";",
		     true, "tm ok v=9 [1..9]; tm error v=null [2..8] timeout");
}

/* Deadband with publish_interval 0: only moves beyond it (or status changes). */
static void test_deadband(void **unused)
{
	(void)unused;
	expect_trace("values = [10.0, 10.5, 11.2, 11.0, 9.9, 9.9, 9.9];"
		     "errors = [5.0]; publish_interval = 0.0; deadband = 1.0;",
		     true,
		     "tm ok v=10; tm ok v=11.2; tm ok v=9.9; tm error v=null timeout; tm ok v=9.9");
}

/* Physical range: out_of_range is an error reading and counts as a failure. */
static void test_out_of_range(void **unused)
{
	(void)unused;
	expect_trace("values = [10.0, 1000.0, 1000.0, 20.0]; valid_max = 100.0; fault_after = 2;"
		     "publish_interval = 0.0;",
		     true,
		     "tm ok v=10; tm error v=null out_of_range; fault out_of_range; "
		     "tm error v=null out_of_range; recovered out_of_range; tm ok v=20");
}

static void expect_refused(const char *options, const char *needle)
{
	char so[PATH_MAX_LEN];
	char err[1024] = "";
	struct ioca_harness *h;

	plugin_path(so, sizeof so);
	h = ioca_harness_new(so, options, err, sizeof err);
	if (h) {
		ioca_harness_free(h);
		fail_msg("accepted: %s", options);
	}
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_rules_refused(void **unused)
{
	(void)unused;
	expect_refused("rules = ( { reading = \"level\"; high = 10.0; high_clear = 12.0; } );",
		       "high_clear");
	expect_refused("rules = ( { reading = \"level\"; } );", "needs 'high'");
	expect_refused("rules = ( { reading = \"level\"; low = 5.0; high = 4.0; } );",
		       "'low' must be below");
	expect_refused("rules = ( { reading = \"level\"; high = 1.0; hold_raise = -1.0; } );",
		       "hold_raise");
	expect_refused("aggregate = \"median\";", "aggregate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_no_hysteresis_alternates),
	    cmocka_unit_test(test_hold_raise),
	    cmocka_unit_test(test_hold_clear),
	    cmocka_unit_test(test_low_and_high),
	    cmocka_unit_test(test_errors_and_calibration_do_not_drive_rules),
	    cmocka_unit_test(test_fault_after),
	    cmocka_unit_test(test_aggregate_mean),
	    cmocka_unit_test(test_aggregate_max_with_error_last),
	    cmocka_unit_test(test_deadband),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_bad_rules_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
