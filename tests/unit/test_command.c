/* Remote command requests: parsing, HMAC authorisation, replay and time window, replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

#define NOW_MS INT64_C(1764650000000)

static const uint8_t key[] = "0123456789abcdef0123456789abcdef";

static void hex(const uint8_t mac[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* A request as a client would sign it. */
static char *signed_request(const char *name, const char *id, int64_t time_ms, const char *args)
{
	uint8_t mac[32];
	char mac_hex[65];
	ioca_cmd_sign(key, sizeof key - 1, name, id, time_ms, args ? args : "{}", mac);
	hex(mac, mac_hex);
	char *text = malloc(1024);
	snprintf(text, 1024, "{\"request_id\":\"%s\",\"time\":%" PRId64 "%s%s,\"hmac\":\"%s\"}", id,
		 time_ms, args ? ",\"args\":" : "", args ? args : "", mac_hex);
	return text;
}

static struct ioca_cmd_guard *guard_with(enum ioca_cmd_kind k)
{
	struct ioca_cmd_guard *g = malloc(sizeof *g);
	ioca_cmd_guard_init(g);
	assert_true(ioca_cmd_guard_set_key(g, key, sizeof key - 1));
	g->enabled[k] = true;
	return g;
}

static enum ioca_cmd_result run(struct ioca_cmd_guard *g, const char *name, const char *payload,
				int64_t now)
{
	struct ioca_cmd_request r;
	char detail[128];
	enum ioca_cmd_result res =
	    ioca_cmd_parse(name, payload, strlen(payload), 4096, &r, detail, sizeof detail);
	if (res == IOCA_CMD_OK)
		res = ioca_cmd_authorize(g, &r, now);
	ioca_cmd_request_free(&r);
	return res;
}

static void test_signed_request_is_accepted_once(void **state)
{
	(void)state;
	struct ioca_cmd_guard *g = guard_with(IOCA_CMD_RESTART);
	char *req = signed_request("restart", "r-1", NOW_MS, "{\"instance\":\"cam-1\"}");
	assert_int_equal(run(g, "restart", req, NOW_MS + 10), IOCA_CMD_OK);
	assert_int_equal(run(g, "restart", req, NOW_MS + 20), IOCA_CMD_REPLAYED);
	free(req);
	free(g);
}

static void test_args_are_covered(void **state)
{
	(void)state;
	struct ioca_cmd_guard *g = guard_with(IOCA_CMD_RESTART);
	char *req = signed_request("restart", "r-2", NOW_MS, "{\"instance\":\"cam-1\"}");
	char *p = strstr(req, "cam-1");
	p[4] = '2'; /* same signature, other instance */
	assert_int_equal(run(g, "restart", req, NOW_MS), IOCA_CMD_UNAUTHORIZED);
	/* the signature of one command does not authorise another */
	free(req);
	g->enabled[IOCA_CMD_RELOAD] = true;
	req = signed_request("restart", "r-3", NOW_MS, NULL);
	assert_int_equal(run(g, "reload", req, NOW_MS), IOCA_CMD_UNAUTHORIZED);
	free(req);
	free(g);
}

/* The same HMAC-SHA256 any client library computes (Python's hmac module gave this). */
static void test_signature_matches_standard_hmac(void **state)
{
	(void)state;
	uint8_t mac[32];
	char mac_hex[65];
	ioca_cmd_sign(key, sizeof key - 1, "ping", "r-1", NOW_MS, "{}", mac);
	hex(mac, mac_hex);
	assert_string_equal(mac_hex,
			    "3212ecac1466c6f1c7c31e7aa07f45a485c372259b9c94c000747a9a2bc8a468");
}

static void test_refusals(void **state)
{
	(void)state;
	struct ioca_cmd_guard *g = guard_with(IOCA_CMD_PING);
	char *req = signed_request("ping", "r-4", NOW_MS, NULL);
	assert_int_equal(run(g, "ping", req, NOW_MS + 61000), IOCA_CMD_EXPIRED);
	assert_int_equal(run(g, "ping", req, NOW_MS - 61000), IOCA_CMD_EXPIRED);
	/* an expired try does not burn the id */
	assert_int_equal(run(g, "ping", req, NOW_MS), IOCA_CMD_OK);
	free(req);
	req = signed_request("status", "r-5", NOW_MS, NULL);
	assert_int_equal(run(g, "status", req, NOW_MS), IOCA_CMD_DISABLED);
	assert_int_equal(run(g, "format_disk", req, NOW_MS), IOCA_CMD_UNKNOWN);
	free(req);
	assert_int_equal(run(g, "ping", "{\"request_id\":\"x\",\"time\":1}", NOW_MS),
			 IOCA_CMD_UNAUTHORIZED);
	assert_int_equal(run(g, "ping", "[1,2]", NOW_MS), IOCA_CMD_MALFORMED);
	assert_int_equal(run(g, "ping", "{\"request_id\":\"a b\",\"time\":1}", NOW_MS),
			 IOCA_CMD_MALFORMED);
	assert_int_equal(run(g, "ping", "{\"request_id\":\"a\",\"time\":1.5}", NOW_MS),
			 IOCA_CMD_MALFORMED);
	assert_int_equal(
	    run(g, "ping", "{\"request_id\":\"a\",\"time\":1,\"hmac\":\"zz\"}", NOW_MS),
	    IOCA_CMD_MALFORMED);
	assert_int_equal(
	    run(g, "ping", "{\"request_id\":\"a\",\"time\":1,\"reply_to\":\"a/#\"}", NOW_MS),
	    IOCA_CMD_MALFORMED);
	assert_int_equal(run(g, "ping", "{\"request_id\":\"a\",\"time\":1,\"args\":[]}", NOW_MS),
			 IOCA_CMD_MALFORMED);
	char big[5000];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(run(g, "ping", big, NOW_MS), IOCA_CMD_TOO_LARGE);
	free(g);
}

static void test_reply_names_request_and_reason(void **state)
{
	(void)state;
	struct ioca_cmd_request r;
	char detail[128];
	const char *p = "{\"request_id\":\"r-9\",\"time\":1,\"reply_to\":\"ioc/replies/x\"}";
	assert_int_equal(ioca_cmd_parse("nope", p, strlen(p), 4096, &r, detail, sizeof detail),
			 IOCA_CMD_UNKNOWN);
	assert_string_equal(r.reply_to, "ioc/replies/x"); /* a refusal can still be answered */
	char *reply = ioca_cmd_reply(&r, IOCA_CMD_UNKNOWN, detail, NULL);
	assert_non_null(strstr(reply, "\"request_id\":\"r-9\""));
	assert_non_null(strstr(reply, "\"ok\":false"));
	assert_non_null(strstr(reply, "\"error\":\"unknown_command\""));
	free(reply);
	ioca_cmd_request_free(&r);
}

static void test_replay_memory_is_bounded(void **state)
{
	(void)state;
	struct ioca_cmd_guard *g = guard_with(IOCA_CMD_PING);
	char id[32];
	for (int i = 0; i < IOCA_CMD_SEEN_IDS + 10; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		char *req = signed_request("ping", id, NOW_MS, NULL);
		assert_int_equal(run(g, "ping", req, NOW_MS), IOCA_CMD_OK);
		free(req);
	}
	char *req = signed_request("ping", "id-1030", NOW_MS, NULL);
	assert_int_equal(run(g, "ping", req, NOW_MS), IOCA_CMD_REPLAYED);
	free(req);
	free(g);
}

static void test_deferred_keeps_request_without_args(void **state)
{
	(void)state;
	struct ioca_cmd_guard *g = guard_with(IOCA_CMD_RELOAD);
	char *text = signed_request("reload", "r-7", NOW_MS, "{\"x\":1}");
	struct ioca_cmd_request r;
	char detail[128];
	assert_int_equal(
	    ioca_cmd_parse("reload", text, strlen(text), 4096, &r, detail, sizeof detail),
	    IOCA_CMD_OK);
	struct ioca_cmd_deferred d;
	memset(&d, 0xff, sizeof d);
	const uint8_t corr[] = {1, 2, 3};
	ioca_cmd_defer(&d, &r, "ioc/replies/r-7", corr, sizeof corr);
	ioca_cmd_request_free(&r); /* the deferred copy owns nothing */
	assert_null(d.req.args);
	assert_null(d.req.args_text);
	assert_string_equal(d.req.request_id, "r-7");
	assert_string_equal(d.topic, "ioc/replies/r-7");
	assert_int_equal(d.correlation_len, sizeof corr);
	assert_memory_equal(d.correlation, corr, sizeof corr);
	uint8_t too_long[sizeof d.correlation + 1] = {0};
	ioca_cmd_defer(&d, &r, "t", too_long, sizeof too_long);
	assert_int_equal(d.correlation_len, 0); /* not echoed rather than cut */
	free(text);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_request_is_accepted_once),
	    cmocka_unit_test(test_args_are_covered),
	    cmocka_unit_test(test_signature_matches_standard_hmac),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_reply_names_request_and_reason),
	    cmocka_unit_test(test_replay_memory_is_bounded),
	    cmocka_unit_test(test_deferred_keeps_request_without_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
