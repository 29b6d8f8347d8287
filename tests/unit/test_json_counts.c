/* Named number lists of the JSON documents: in order, exact for large counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json_counts.h"

static void test_json_counts_in_order(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	uint64_t big = UINT64_C(1) << 40;
	IOCA_JSON_COUNTS(o, {"a", 1}, {"b", big}, {"c", 0.5});
	char *text = cJSON_PrintUnformatted(o);
	assert_string_equal(text, "{\"a\":1,\"b\":1099511627776,\"c\":0.5}");
	free(text);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_counts_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
