/*
 * Unit tests of the intake (agent/core/intake.c) into a real memory queue:
 * what a worker's event, blob and the agent's own events become as queue
 * records (topic, QoS, retain, content type) and that the seq inside the
 * envelope is the seq the queue stored; a record the queue refuses is counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "intake.h"
#include "queue.h"

#define BIG_BOUND  (1024 * 1024)
#define TINY_BOUND 16

struct fixture {
	struct ioca_config cfg;
	struct ioca_queue *q;
	struct ioca_intake in;
};

static int setup_bound(void **state, uint64_t bound)
{
	static struct fixture f;
	memset(&f, 0, sizeof f);
	f.cfg.agent.id = "a1";
	f.cfg.agent.site = "daknong/gianghia";
	f.cfg.mqtt.topic_prefix = "ioc";
	f.cfg.mqtt.qos = 1;
	f.q = ioca_memqueue_new(7, bound);
	ioca_intake_init(&f.in, f.q, &f.cfg);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_bound(state, BIG_BOUND);
}

static int setup_tiny(void **state)
{
	return setup_bound(state, TINY_BOUND);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ioca_intake_free(&f->in);
	ioca_queue_close(f->q);
	return 0;
}

static cJSON *payload_json(const struct ioca_record *r)
{
	cJSON *j = cJSON_ParseWithLength(r->payload, r->payload_len);
	assert_non_null(j);
	return j;
}

static void worker_event_becomes_a_record(void **state)
{
	struct fixture *f = *state;
	struct ioca_frame_event ev = {.time_ms = 1700000000123LL,
				      .severity = IOCA_SEV_INFO,
				      .data = "{\"zones\":[\"gate\"]}",
				      .data_len = strlen("{\"zones\":[\"gate\"]}")};
	snprintf(ev.type, sizeof ev.type, "motion.start");
	struct ioca_sup_message m = {.instance = "cam", .plugin = "camera", .qos = 2, .event = &ev};
	ioca_intake_worker_message(&f->in, &m);
	assert_int_equal(f->in.accepted, 1);

	struct ioca_record r;
	assert_int_equal(ioca_queue_next(f->q, &r), IOCA_OK);
	assert_string_equal(r.topic, "ioc/a1/cam/event/motion/start");
	assert_int_equal(r.kind, IOCA_RECORD_JSON);
	assert_int_equal(r.qos, 2);
	assert_false(r.retain);
	assert_null(r.content_type);
	cJSON *j = payload_json(&r);
	assert_int_equal(cJSON_GetObjectItem(j, "seq")->valuedouble, (double)r.seq);
	assert_int_equal(r.seq, 7);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "a1:7");
	assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, "cam");
	assert_string_equal(cJSON_GetObjectItem(j, "site")->valuestring, "daknong/gianghia");
	assert_string_equal(cJSON_GetObjectItem(j, "time")->valuestring,
			    "2023-11-14T22:13:20.123Z");
	cJSON *zones = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "zones");
	assert_string_equal(cJSON_GetArrayItem(zones, 0)->valuestring, "gate");
	cJSON_Delete(j);
}

static void default_qos_and_blob(void **state)
{
	struct fixture *f = *state;
	static const uint8_t jpeg[] = {0xff, 0xd8, 0x00, 0xff, 0xd9};
	struct ioca_frame_blob b = {.data = jpeg, .len = sizeof jpeg};
	snprintf(b.subtopic, sizeof b.subtopic, "snapshot");
	snprintf(b.content_type, sizeof b.content_type, "image/jpeg");
	struct ioca_sup_message m = {
	    .instance = "cam", .plugin = "camera", .qos = -1, .snapshot_retain = true, .blob = &b};
	ioca_intake_worker_message(&f->in, &m);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(f->q, &r), IOCA_OK);
	assert_string_equal(r.topic, "ioc/a1/cam/snapshot");
	assert_int_equal(r.kind, IOCA_RECORD_BLOB);
	assert_int_equal(r.qos, 1); /* mqtt.qos */
	assert_true(r.retain);
	assert_string_equal(r.content_type, "image/jpeg");
	assert_int_equal(r.payload_len, sizeof jpeg);
	assert_memory_equal(r.payload, jpeg, sizeof jpeg);
}

static void agent_event_and_config_change(void **state)
{
	struct fixture *f = *state;
	struct ioca_config next = f->cfg;
	next.mqtt.topic_prefix = "site9";
	next.agent.site = NULL;
	ioca_intake_set_config(&f->in, &next);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "events", 3);
	ioca_intake_agent_event(&f->in, "agent.spool_dropped", IOCA_SEV_WARNING, d);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(f->q, &r), IOCA_OK);
	assert_string_equal(r.topic, "site9/a1/_agent/event/agent/spool_dropped");
	cJSON *j = payload_json(&r);
	assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, "_agent");
	assert_string_equal(cJSON_GetObjectItem(j, "plugin")->valuestring, "agent");
	assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "warning");
	assert_null(cJSON_GetObjectItem(j, "site"));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "events")->valueint,
			 3);
	cJSON_Delete(j);
	ioca_intake_set_config(&f->in, &f->cfg);
}

static void refused_record_is_counted(void **state)
{
	struct fixture *f = *state;
	ioca_intake_agent_event(&f->in, "agent.started", IOCA_SEV_INFO, NULL);
	assert_int_equal(f->in.accepted, 0);
	assert_int_equal(f->in.refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(worker_event_becomes_a_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(default_qos_and_blob, setup, teardown),
	    cmocka_unit_test_setup_teardown(agent_event_and_config_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(refused_record_is_counted, setup_tiny, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
