/*
 * The sim plugin's rule support (through ioca_sensorlib) under the harness:
 * a step signal climbing through a limit raises and clears strictly in turn,
 * with the clear level respected, while sim's own telemetry keeps its rate;
 * without rules, sim behaves as before (no threshold events).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "plugin_harness.h"

#define WAIT_MS 5000

static struct ioca_harness *start(const char *options)
{
	char so[1024], err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	snprintf(so, sizeof so, "%s/sim.so", dir ? dir : ".");
	h = ioca_harness_new(so, options, err, sizeof err);
	if (!h)
		fail_msg("sim options refused: %s", err);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	return h;
}

/* Levels 0, 10, 20, 30 every 0.5 s; high 25 clears below 15: exceeded at 30, cleared at 0. */
static void test_step_signal_alternates(void **unused)
{
	struct ioca_harness *h;
	size_t n_thr = 0;
	int expect_exceeded = 1;

	(void)unused;
	h = start("rate = 20.0; signals = ( { name = \"level\"; unit = \"m\"; shape = \"step\";"
		  " min = 0.0; max = 30.0; step = 10.0; period = 0.5; } );"
		  "rules = ( { reading = \"level\"; high = 25.0; high_clear = 15.0; severity = "
		  "\"critical\"; } );");
	assert_non_null(ioca_harness_wait_for_nth(h, "threshold.cleared", 1, WAIT_MS));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		cJSON *j;

		if (strncmp(r->type, "threshold.", 10) != 0)
			continue;
		j = cJSON_Parse(r->json);
		assert_string_equal(r->type,
				    expect_exceeded ? "threshold.exceeded" : "threshold.cleared");
		assert_int_equal(r->severity, expect_exceeded ? IOCA_SEV_CRITICAL : IOCA_SEV_INFO);
		assert_true(cJSON_GetObjectItem(j, "value")->valuedouble ==
			    (expect_exceeded ? 30.0 : 0.0));
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "rule")),
				    "level_high");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "unit")), "m");
		cJSON_Delete(j);
		expect_exceeded = !expect_exceeded;
		n_thr++;
	}
	assert_true(n_thr >= 4);
	/* sim's telemetry is untouched: one message per tick at `rate`. */
	assert_true(ioca_harness_count(h, "telemetry") >= 60);
	ioca_harness_free(h);
}

static void test_no_rules_no_events(void **unused)
{
	struct ioca_harness *h;

	(void)unused;
	h = start("rate = 50.0;");
	assert_non_null(ioca_harness_wait_for_nth(h, "telemetry", 20, WAIT_MS));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_int_equal(ioca_harness_count(h, "threshold.exceeded"), 0);
	ioca_harness_free(h);
}

static void test_rule_on_unknown_signal_refused(void **unused)
{
	char so[1024], err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	(void)unused;
	snprintf(so, sizeof so, "%s/sim.so", dir ? dir : ".");
	h = ioca_harness_new(so, "rules = ( { reading = \"nope\"; high = 1.0; } );", err,
			     sizeof err);
	assert_null(h);
	assert_non_null(strstr(err, "unknown reading 'nope'"));
	/* The default signals can carry rules. */
	h = ioca_harness_new(so, "rules = ( { reading = \"pm25\"; high = 100.0; } );", err,
			     sizeof err);
	assert_non_null(h);
	ioca_harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_step_signal_alternates),
	    cmocka_unit_test(test_no_rules_no_events),
	    cmocka_unit_test(test_rule_on_unknown_signal_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
