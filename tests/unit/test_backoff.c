/* Restart backoff: 1 s doubling to 60 s, reset, jitter bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_doubles_to_cap(void **state)
{
	(void)state;
	struct ioca_backoff b;
	ioca_backoff_init(&b, 1000, 60000, 0);
	const int64_t expect[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
		assert_int_equal(ioca_backoff_next(&b), expect[i]);
}

static void test_reset(void **state)
{
	(void)state;
	struct ioca_backoff b;
	ioca_backoff_init(&b, 1000, 60000, 0);
	ioca_backoff_next(&b);
	ioca_backoff_next(&b);
	ioca_backoff_next(&b);
	ioca_backoff_reset(&b);
	assert_int_equal(ioca_backoff_next(&b), 1000);
	assert_int_equal(ioca_backoff_next(&b), 2000);
}

static void test_jitter_within_bounds(void **state)
{
	(void)state;
	struct ioca_backoff b;
	ioca_backoff_init(&b, 1000, 8000, 20);
	int64_t base = 1000;
	for (int i = 0; i < 200; i++) {
		int64_t d = ioca_backoff_next(&b);
		assert_true(d >= base - base / 5 && d <= base + base / 5);
		base = base * 2 > 8000 ? 8000 : base * 2;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubles_to_cap),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_jitter_within_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
