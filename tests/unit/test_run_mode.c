/* The reserved run-mode group the core appends to an instance's options:
 * every mode and flag survives the round trip through libconfig text, the
 * group is removed before the plugin's options are validated, absence means
 * service, and a malformed group is refused (and still removed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libconfig.h>

#include "run_mode.h"

static int take_from(const char *text, struct ioca_run_request *out, bool *still_there)
{
	config_t cfg;
	config_init(&cfg);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	int rc = ioca_run_request_take(config_root_setting(&cfg), out);
	*still_there = config_lookup(&cfg, IOCA_RUN_KEY) != NULL;
	assert_non_null(config_lookup(&cfg, "rate")); /* the instance's own options stay */
	config_destroy(&cfg);
	return rc;
}

static void test_round_trip(void **state)
{
	(void)state;
	const enum ioca_run_mode modes[] = {IOCA_RUN_SERVICE, IOCA_RUN_TEST, IOCA_RUN_SNAPSHOT};
	for (size_t m = 0; m < 3; m++) {
		for (unsigned flags = 0; flags < 4; flags++) {
			struct ioca_run_request in = {modes[m], flags}, out;
			char *text = ioca_run_request_append("rate = 2.0;", &in);
			assert_non_null(text);
			bool left;
			assert_int_equal(take_from(text, &out, &left), IOCA_OK);
			assert_false(left);
			assert_int_equal(out.mode, in.mode);
			assert_int_equal(out.flags, in.flags);
			free(text);
		}
	}
}

static void test_absent_is_service(void **state)
{
	(void)state;
	struct ioca_run_request out = {IOCA_RUN_TEST, IOCA_RUN_F_SAMPLE};
	bool left;
	assert_int_equal(take_from("rate = 1.0;", &out, &left), IOCA_OK);
	assert_int_equal(out.mode, IOCA_RUN_SERVICE);
	assert_int_equal(out.flags, 0);
}

static void test_malformed_refused(void **state)
{
	(void)state;
	const char *bad[] = {
	    "rate = 1.0; ioca_run = { mode = \"turbo\"; sample = true; overlay = false; };",
	    "rate = 1.0; ioca_run = { mode = \"test\"; };",
	    "rate = 1.0; ioca_run = \"test\";",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ioca_run_request out;
		bool left;
		assert_int_equal(take_from(bad[i], &out, &left), IOCA_ERROR);
		assert_false(left);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ioca_run_mode_name(IOCA_RUN_TEST), "test");
	assert_string_equal(ioca_run_mode_name(IOCA_RUN_SNAPSHOT), "snapshot");
	assert_null(ioca_run_mode_name((enum ioca_run_mode)7));
	struct ioca_plugin old = {.abi_major = 1, .abi_minor = 0, .features = 0xff};
	assert_int_equal(ioca_plugin_features(&old), 0); /* 1.0 descriptors have no such member */
	struct ioca_plugin cur = {
	    .abi_major = 1, .abi_minor = 1, .features = IOCA_PLUGIN_F_SNAPSHOT};
	assert_int_equal(ioca_plugin_features(&cur), IOCA_PLUGIN_F_SNAPSHOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_absent_is_service),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
