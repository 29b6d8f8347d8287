/* Array growth: first allocation, doubling, no change when there is room,
 * refusal of sizes that overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "grow.h"

static void test_first_then_doubling(void **state)
{
	(void)state;
	size_t cap = 0;
	int *a = ioca_grow(NULL, &cap, 1, sizeof *a, 8);
	assert_non_null(a);
	assert_int_equal(cap, 8);
	int *same = ioca_grow(a, &cap, 8, sizeof *a, 8);
	assert_ptr_equal(same, a);
	assert_int_equal(cap, 8);
	a = ioca_grow(a, &cap, 9, sizeof *a, 8);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	a = ioca_grow(a, &cap, 100, sizeof *a, 8);
	assert_non_null(a);
	assert_int_equal(cap, 128);
	free(a);
}

static void test_zero_need_still_allocates(void **state)
{
	(void)state;
	size_t cap = 0;
	char *b = ioca_grow(NULL, &cap, 0, 1, 512);
	assert_non_null(b);
	assert_int_equal(cap, 512);
	free(b);
}

static void test_overflow_refused(void **state)
{
	(void)state;
	size_t cap = 4;
	char *b = malloc(4);
	assert_non_null(b);
	assert_null(ioca_grow(b, &cap, SIZE_MAX / 2, 16, 8));
	assert_int_equal(cap, 4);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_then_doubling),
	    cmocka_unit_test(test_zero_need_still_allocates),
	    cmocka_unit_test(test_overflow_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
