/* The core <-> worker command line: encode/decode round trip, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "log.h"
#include "worker_args.h"

static const struct ioca_worker_args good = {
    .name = "cam-ngatu-01",
    .plugin_path = "/usr/lib/iocagent/plugins/camera.so",
    .log_level = IOCA_LL_INFO,
    .memory_limit_mb = 512,
    .max_rate = 0.1,
    .max_blob_bytes = 262031,
};

static int argc_of(char **argv)
{
	int n = 0;
	while (argv[n])
		n++;
	return n;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ioca_worker_argv v;
	int argc = ioca_worker_args_encode(&good, &v);
	assert_int_equal(argc, argc_of(v.argv));
	assert_string_equal(v.argv[1], IOCA_WORKER_FLAG);
	struct ioca_worker_args back;
	char err[128];
	assert_int_equal(ioca_worker_args_decode(argc, v.argv, &back, err, sizeof err), 0);
	assert_string_equal(back.name, good.name);
	assert_string_equal(back.plugin_path, good.plugin_path);
	assert_int_equal(back.log_level, good.log_level);
	assert_int_equal(back.memory_limit_mb, good.memory_limit_mb);
	assert_true(back.max_rate == good.max_rate); /* %.17g keeps every bit */
	assert_int_equal(back.max_blob_bytes, good.max_blob_bytes);
}

static void test_encode_refuses_invalid(void **state)
{
	(void)state;
	struct ioca_worker_argv v;
	struct ioca_worker_args a = good;
	a.name = "";
	assert_int_equal(ioca_worker_args_encode(&a, &v), -1);
	a = good;
	a.max_rate = -1;
	assert_int_equal(ioca_worker_args_encode(&a, &v), -1);
	a = good;
	a.log_level = 7;
	assert_int_equal(ioca_worker_args_encode(&a, &v), -1);
}

static void expect_refused(char **argv, const char *reason)
{
	struct ioca_worker_args out;
	char err[256] = "";
	assert_int_equal(ioca_worker_args_decode(argc_of(argv), argv, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, reason));
}

static void test_decode_refuses_garbage(void **state)
{
	(void)state;
	char *too_few[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2", "0", NULL};
	expect_refused(too_few, "usage");
	char *bad_level[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2x", "0", "1", "0", NULL};
	expect_refused(bad_level, "log level");
	char *level_range[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "9", "0", "1", "0", NULL};
	expect_refused(level_range, "log level");
	char *bad_memory[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2", "", "1", "0", NULL};
	expect_refused(bad_memory, "memory");
	char *negative_memory[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2", "-5", "1", "0", NULL};
	expect_refused(negative_memory, "memory");
	char *bad_rate[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2", "0", "nan", "0", NULL};
	expect_refused(bad_rate, "rate");
	char *empty_path[] = {"w", IOCA_WORKER_FLAG, "a", "", "2", "0", "1", "0", NULL};
	expect_refused(empty_path, "plugin path");
	char *wrong_flag[] = {"w", "--wörker", "a", "/p.so", "2", "0", "1", "0", NULL};
	expect_refused(wrong_flag, "usage");
	char *bad_blob[] = {"w", IOCA_WORKER_FLAG, "a", "/p.so", "2", "0", "1", "-1", NULL};
	expect_refused(bad_blob, "blob");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_encode_refuses_invalid),
	    cmocka_unit_test(test_decode_refuses_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
