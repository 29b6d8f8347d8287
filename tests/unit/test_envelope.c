/* Envelope JSON and topics: exact bytes, escaping, and a round trip through
 * a JSON parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "envelope.h"

static void test_envelope_exact(void **state)
{
	(void)state;
	struct ioca_buf b = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "dn-gianghia-01", .site = "daknong/gianghia"};
	const char *data = "{\"zones\":[\"gate\"]}";
	struct ioca_envelope_event ev = {.seq = 42,
					 .time_ms = 1795620601123LL,
					 .source = "cam-ngatu-01",
					 .plugin = "camera",
					 .type = "motion.start",
					 .severity = IOCA_SEV_INFO,
					 .data = data,
					 .data_len = strlen(data)};
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	assert_string_equal(
	    b.p, "{\"v\":1,\"id\":\"dn-gianghia-01:42\",\"seq\":42,"
		 "\"time\":\"2026-11-25T15:30:01.123Z\",\"agent\":\"dn-gianghia-01\","
		 "\"site\":\"daknong/gianghia\",\"source\":\"cam-ngatu-01\",\"plugin\":\"camera\","
		 "\"type\":\"motion.start\",\"severity\":\"info\",\"clock\":\"synced\","
		 "\"data\":{\"zones\":[\"gate\"]}}");
	assert_int_equal(b.len, strlen(b.p));
	ioca_buf_free(&b);
}

static void test_envelope_escapes_and_parses(void **state)
{
	(void)state;
	struct ioca_buf b = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "a1", .site = "Đắk Nông \"quote\"\n\\"};
	struct ioca_envelope_event ev = {.seq = 18446744073709551615ull,
					 .time_ms = 0,
					 .source = "_agent",
					 .plugin = "agent",
					 .type = "agent.started",
					 .severity = IOCA_SEV_CRITICAL};
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	cJSON *j = cJSON_Parse(b.p);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "site")->valuestring, "Đắk Nông \"quote\"\n\\");
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "a1:18446744073709551615");
	assert_string_equal(cJSON_GetObjectItem(j, "time")->valuestring,
			    "1970-01-01T00:00:00.000Z");
	assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "critical");
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "data")));
	cJSON_Delete(j);
	ioca_buf_free(&b);
}

static void test_clock_member_follows_the_context(void **state)
{
	(void)state;
	struct ioca_buf b = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "a1", .clock_unsynced = true};
	struct ioca_envelope_event ev = {
	    .seq = 1, .source = "s", .plugin = "p", .type = "telemetry"};
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	cJSON *j = cJSON_Parse(b.p);
	assert_string_equal(cJSON_GetObjectItem(j, "clock")->valuestring, "unsynced");
	cJSON_Delete(j);
	ctx.clock_unsynced = false;
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	j = cJSON_Parse(b.p);
	assert_string_equal(cJSON_GetObjectItem(j, "clock")->valuestring, "synced");
	cJSON_Delete(j);
	ioca_buf_free(&b);
}

static void test_no_site_member_when_unset(void **state)
{
	(void)state;
	struct ioca_buf b = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "a1", .site = NULL};
	struct ioca_envelope_event ev = {
	    .seq = 1, .source = "s", .plugin = "p", .type = "telemetry"};
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	assert_null(strstr(b.p, "\"site\""));
	ioca_buf_free(&b);
}

static void test_test_member_last(void **state)
{
	(void)state;
	struct ioca_buf b = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "a1", .test = true};
	struct ioca_envelope_event ev = {.seq = 3, .source = "s", .plugin = "p", .type = "x.y"};
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	const char *tail = ",\"data\":{},\"test\":true}";
	assert_true(b.len > strlen(tail));
	assert_string_equal(b.p + b.len - strlen(tail), tail);
	cJSON *o = cJSON_Parse(b.p);
	assert_non_null(o);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "test")));
	cJSON_Delete(o);
	ctx.test = false;
	assert_int_equal(ioca_envelope_build(&b, &ctx, &ev), IOCA_OK);
	assert_null(strstr(b.p, "\"test\""));
	ioca_buf_free(&b);
}

static void test_topics(void **state)
{
	(void)state;
	char t[128];
	assert_true(ioca_topic_for_type(t, sizeof t, "ioc", "a1", "cam-1", "motion.start") > 0);
	assert_string_equal(t, "ioc/a1/cam-1/event/motion/start");
	assert_true(ioca_topic_for_type(t, sizeof t, "ioc", "a1", "aq-1", "telemetry") > 0);
	assert_string_equal(t, "ioc/a1/aq-1/telemetry");
	assert_true(ioca_topic_for_type(t, sizeof t, "ioc", "a1", "_agent", "agent.spool_dropped") >
		    0);
	assert_string_equal(t, "ioc/a1/_agent/event/agent/spool_dropped");
	assert_true(ioca_topic_for_blob(t, sizeof t, "ioc", "a1", "cam-1", "snapshot") > 0);
	assert_string_equal(t, "ioc/a1/cam-1/snapshot");
	assert_true(ioca_topic_agent(t, sizeof t, "x/y", "a1", "status") > 0);
	assert_string_equal(t, "x/y/a1/status");
	char tiny[8];
	assert_int_equal(
	    ioca_topic_for_type(tiny, sizeof tiny, "ioc", "a1", "cam-1", "motion.start"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_exact),
	    cmocka_unit_test(test_envelope_escapes_and_parses),
	    cmocka_unit_test(test_no_site_member_when_unset),
	    cmocka_unit_test(test_test_member_last),
	    cmocka_unit_test(test_clock_member_follows_the_context),
	    cmocka_unit_test(test_topics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
