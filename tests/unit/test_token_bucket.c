/* The token bucket both sides of the worker socket pace with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "token_bucket.h"

static int take_all(struct ioca_token_bucket *b)
{
	int n = 0;
	while (ioca_token_bucket_ready(b) && n < 1000000) {
		ioca_token_bucket_take(b);
		n++;
	}
	return n;
}

static void test_burst_is_one_second_at_least_min(void **state)
{
	(void)state;
	struct ioca_token_bucket b;
	ioca_token_bucket_init(&b, 100, 0);
	assert_int_equal(take_all(&b), 100);
	ioca_token_bucket_init(&b, 2, 0);
	assert_int_equal(take_all(&b), (int)IOCA_TOKEN_BUCKET_MIN_BURST);
}

static void test_refill_rate_and_cap(void **state)
{
	(void)state;
	struct ioca_token_bucket b;
	ioca_token_bucket_init(&b, 50, 0);
	take_all(&b);
	assert_false(ioca_token_bucket_ready(&b));
	assert_true(ioca_token_bucket_wait_ms(&b) > 0 && ioca_token_bucket_wait_ms(&b) <= 20.0);
	ioca_token_bucket_refill(&b, 100); /* 100 ms at 50/s: 5 more */
	assert_int_equal(take_all(&b), 5);
	ioca_token_bucket_refill(&b, 100000); /* a long idle time earns one burst, no more */
	assert_int_equal(take_all(&b), 50);
	ioca_token_bucket_refill(&b, 50000); /* a clock going back earns nothing */
	assert_false(ioca_token_bucket_ready(&b));
}

static void test_unlimited(void **state)
{
	(void)state;
	struct ioca_token_bucket b;
	ioca_token_bucket_init(&b, 0, 0);
	for (int i = 0; i < 10000; i++) {
		assert_true(ioca_token_bucket_ready(&b));
		ioca_token_bucket_take(&b);
	}
	assert_true(ioca_token_bucket_wait_ms(&b) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_is_one_second_at_least_min),
	    cmocka_unit_test(test_refill_rate_and_cap),
	    cmocka_unit_test(test_unlimited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
