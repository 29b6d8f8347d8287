/*
 * The exec output parser on exact inputs: every member form, failures, and
 * the limits (names, reading count).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exec_parse.h"

#define TRACE_LEN 2048

struct trace {
	char text[TRACE_LEN];
	unsigned count;
};

static void record(void *ctx, const struct ioca_exec_value *v)
{
	struct trace *t = ctx;
	size_t used = strlen(t->text);
	static const char *const names[] = {"ok", "calibrating", "error"};

	t->count++;
	if (used > TRACE_LEN - 200)
		return;
	if (v->status == IOCA_READING_ERROR)
		snprintf(t->text + used, TRACE_LEN - used, "%s%s=error(%s)", used ? " " : "",
			 v->name, v->error);
	else
		snprintf(t->text + used, TRACE_LEN - used, "%s%s=%g/%s%s%s", used ? " " : "",
			 v->name, v->value, names[v->status], v->unit ? "/" : "",
			 v->unit ? v->unit : "");
}

static void expect_parse(const char *json, int rc, const char *want)
{
	struct trace t = {"", 0};
	char err[64] = "";

	assert_int_equal(ioca_exec_parse(json, strlen(json), record, &t, err, sizeof err), rc);
	assert_string_equal(rc == IOCA_OK ? t.text : err, want);
}

static void test_forms(void **unused)
{
	(void)unused;
	expect_parse("{\"pm25\": 35.2, \"door\": true, \"t\": {\"value\": 21.5, \"unit\": \"C\"},"
		     " \"ph\": {\"value\": 7, \"status\": \"calibrating\"}}",
		     IOCA_OK, "pm25=35.2/ok door=1/ok t=21.5/ok/C ph=7/calibrating");
	expect_parse(
	    "{\"a\": null, \"b\": \"12\", \"c\": [1], \"d\": {\"status\": \"error\", "
	    "\"error\": \"probe dry\"}, \"e\": {\"unit\": \"m\"}, \"f\": {\"status\": \"weird\"},"
	    " \"g\": {\"value\": \"x\"}}",
	    IOCA_OK,
	    "a=error(null) b=error(not_a_number) c=error(not_a_number) d=error(probe dry) "
	    "e=error(null) f=error(bad_status) g=error(not_a_number)");
	expect_parse("{}", IOCA_OK, "");
	expect_parse("{\"\": 1, \"ok\": 2}", IOCA_OK, "ok=2/ok");
}

static void test_failures(void **unused)
{
	(void)unused;
	expect_parse("not json", IOCA_ERROR, "invalid_json");
	expect_parse("{\"a\": 1", IOCA_ERROR, "invalid_json");
	expect_parse("", IOCA_ERROR, "invalid_json");
	expect_parse("[1, 2]", IOCA_ERROR, "not_an_object");
	expect_parse("42", IOCA_ERROR, "not_an_object");
}

static void test_reading_limit(void **unused)
{
	char json[16384];
	struct trace t = {"", 0};
	char err[64];
	size_t n = 0;

	(void)unused;
	n += (size_t)snprintf(json + n, sizeof json - n, "{");
	for (int i = 0; i < IOCA_EXEC_MAX_READINGS + 10; i++)
		n += (size_t)snprintf(json + n, sizeof json - n, "%s\"r%d\": %d", i ? "," : "", i,
				      i);
	snprintf(json + n, sizeof json - n, "}");
	assert_int_equal(ioca_exec_parse(json, strlen(json), record, &t, err, sizeof err), IOCA_OK);
	assert_int_equal(t.count, IOCA_EXEC_MAX_READINGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_reading_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
