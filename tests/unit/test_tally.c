/*
 * Unit tests of the delivery tally (agent/core/tally.c) over a real memory
 * queue: deliveries credited to the record's instance, only on
 * ack, not twice after a rewind; watched drop reports that the queue dropped
 * before handing them out come back as lost, ones delivered never do, also
 * when the spool hands a younger record out ahead of them (live_first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"
#include "tally.h"
#include "test_spool_util.h"

#define WINDOW      8
#define BIG_BOUND   (1024 * 1024)
#define PAYLOAD_LEN 100

static void push_from(struct ioca_queue *q, const char *instance, const char *topic)
{
	static const char payload[PAYLOAD_LEN] = "{}";
	struct ioca_record r = {
	    .seq = ioca_queue_next_seq(q),
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .instance = instance,
	    .topic = topic,
	    .payload = payload,
	    .payload_len = sizeof payload,
	};
	assert_int_equal(ioca_queue_push(q, &r), IOCA_OK);
}

/* The instance is the record's, whatever the topic says. */
static void push(struct ioca_queue *q, const char *topic)
{
	char inst[32] = "";
	const char *p = strchr(topic, '/');
	p = p ? strchr(p + 1, '/') : NULL;
	if (p) {
		const char *e = strchr(p + 1, '/');
		snprintf(inst, sizeof inst, "%.*s", (int)(e ? e - p - 1 : (long)strlen(p + 1)),
			 p + 1);
	}
	push_from(q, inst, topic);
}

static struct ioca_queue *new_tally(uint64_t bound)
{
	struct ioca_queue *q = ioca_tally_wrap(ioca_memqueue_new(1, bound), WINDOW);
	assert_non_null(q);
	return q;
}

static void credits_on_ack_per_instance(void **state)
{
	(void)state;
	struct ioca_queue *q = new_tally(BIG_BOUND);
	push(q, "ioc/a1/cam/event/motion/start");
	push(q, "ioc/a1/aq/telemetry");
	push(q, "ioc/a1/cam/snapshot");
	struct ioca_record r;
	uint64_t seqs[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		seqs[i] = r.seq;
	}
	assert_int_equal(ioca_tally_delivered(q, "cam"), 0); /* handed out is not delivered */
	ioca_queue_ack(q, seqs[2]);
	ioca_queue_ack(q, seqs[0]);
	assert_int_equal(ioca_tally_delivered(q, "cam"), 2);
	assert_int_equal(ioca_tally_delivered(q, "aq"), 0);
	ioca_queue_ack(q, seqs[1]);
	assert_int_equal(ioca_tally_delivered(q, "aq"), 1);
	assert_int_equal(ioca_tally_delivered(q, "nobody"), 0);
	ioca_queue_close(q);
}

static void rewind_does_not_credit_twice(void **state)
{
	(void)state;
	struct ioca_queue *q = new_tally(BIG_BOUND);
	push(q, "ioc/a1/cam/telemetry");
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_rewind(q);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_ack(q, r.seq);
	ioca_queue_ack(q, r.seq); /* a duplicate completion */
	assert_int_equal(ioca_tally_delivered(q, "cam"), 1);
	ioca_queue_close(q);
}

/* Credited to the record's instance: the topic is not read (a prefix
 * changed by a reload, a topic naming another instance). */
static void instance_from_the_record_not_the_topic(void **state)
{
	(void)state;
	struct ioca_queue *q = new_tally(BIG_BOUND);
	push_from(q, "cam", "site9/a1/cam/telemetry");
	push_from(q, "cam", "ioc/a1/aq/telemetry");
	push_from(q, NULL, "ioc/a1/aq/telemetry"); /* not known: credited to nobody */
	struct ioca_record r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		ioca_queue_ack(q, r.seq);
	}
	assert_int_equal(ioca_tally_delivered(q, "cam"), 2);
	assert_int_equal(ioca_tally_delivered(q, "aq"), 0);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st); /* passes through to the inner queue */
	assert_int_equal(st.acked, 3);
	assert_int_equal(ioca_queue_next_seq(q), 4);
	ioca_queue_close(q);
}

static void dropped_report_is_lost_delivered_one_is_not(void **state)
{
	(void)state;
	/* room for about three records: pushing more drops the oldest */
	struct ioca_queue *q = new_tally(3 * (PAYLOAD_LEN + 64));
	uint64_t report = ioca_queue_next_seq(q);
	push(q, "ioc/a1/_agent/event/agent/spool_dropped");
	assert_int_equal(ioca_tally_watch(q, report, 40, 4000), IOCA_OK);
	for (int i = 0; i < 6; i++)
		push(q, "ioc/a1/cam/telemetry");
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.dropped_records >= 1);
	uint64_t rec = 99, bytes = 99;
	assert_false(ioca_tally_take_lost(q, &rec, &bytes)); /* not known before next() passes it */
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_true(r.seq > report);
	assert_true(ioca_tally_take_lost(q, &rec, &bytes));
	assert_int_equal(rec, 40);
	assert_int_equal(bytes, 4000);
	assert_false(ioca_tally_take_lost(q, &rec, &bytes)); /* given back once */
	uint64_t lost_seq = 0;
	assert_true(ioca_tally_take_lost_seq(q, &lost_seq)); /* which one it was */
	assert_int_equal(lost_seq, report);
	assert_false(ioca_tally_take_lost_seq(q, &lost_seq));
	assert_false(ioca_tally_watching(q, report));

	/* a report that goes out is never lost, even across a rewind */
	ioca_queue_ack(q, r.seq);
	while (ioca_queue_next(q, &r) == IOCA_OK)
		ioca_queue_ack(q, r.seq);
	uint64_t second = ioca_queue_next_seq(q);
	push(q, "ioc/a1/_agent/event/agent/spool_dropped");
	assert_int_equal(ioca_tally_watch(q, second, 5, 500), IOCA_OK);
	push(q, "ioc/a1/cam/telemetry");
	assert_true(ioca_tally_watching(q, second));
	while (ioca_queue_next(q, &r) == IOCA_OK)
		if (r.seq != second)
			ioca_queue_ack(q, r.seq);
	ioca_queue_rewind(q);
	while (ioca_queue_next(q, &r) == IOCA_OK)
		ioca_queue_ack(q, r.seq);
	assert_false(ioca_tally_take_lost(q, &rec, &bytes));
	assert_false(ioca_tally_take_lost_seq(q, &lost_seq));
	assert_false(ioca_tally_watching(q, second)); /* acked */
	ioca_queue_close(q);
}

static int64_t spool_wall_ms = 1800000000000LL, spool_mono_ms = 1000;

static int64_t spool_wall(void)
{
	return spool_wall_ms;
}

static int64_t spool_mono(void)
{
	return spool_mono_ms;
}

static void push_at_ms(struct ioca_queue *q, const char *instance, int64_t accepted_ms)
{
	static const char payload[PAYLOAD_LEN] = "{}";
	struct ioca_record r = {
	    .seq = ioca_queue_next_seq(q),
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .accepted_ms = accepted_ms,
	    .instance = instance,
	    .topic = TOPIC,
	    .payload = payload,
	    .payload_len = sizeof payload,
	};
	assert_int_equal(ioca_queue_push(q, &r), IOCA_OK);
}

/* spool.order = "live_first": a young record handed out ahead of a watched
 * drop report still in the backlog does not make it lost; it is delivered
 * after it, and its counts are reported once. */
static void test_tally_live_first_report_double(void **state)
{
	(void)state;
	char *dir = make_dir();
	struct test_reports rep = {0};
	struct ioca_spool_callbacks cb = tr_callbacks(&rep);
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.order = IOCA_SPOOL_ORDER_LIVE_FIRST;
	c.historical_after_s = 30;
	c.drain_rate = 0;
	c.now_wall_ms = spool_wall;
	c.now_mono_ms = spool_mono;
	char err[256] = "";
	struct ioca_queue *sp = ioca_spool_open(&c, dir, &cb, err, sizeof err);
	assert_non_null(sp);
	struct ioca_queue *q = ioca_tally_wrap(sp, WINDOW);
	assert_non_null(q);
	for (int i = 0; i < 10; i++)
		push_at_ms(q, "flood", spool_wall_ms - 60000);
	uint64_t report = ioca_queue_next_seq(q);
	push_at_ms(q, "_agent", spool_wall_ms - 60000); /* pushed during the outage */
	assert_int_equal(ioca_tally_watch(q, report, 812, 224112), IOCA_OK);
	push_at_ms(q, "calm", spool_wall_ms); /* young, after reconnect */
	struct ioca_record r;
	bool first = true, report_delivered = false;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		if (first)
			assert_int_equal(r.seq, report + 1); /* ahead of the backlog */
		first = false;
		report_delivered |= r.seq == report;
		ioca_queue_ack(q, r.seq);
	}
	uint64_t rec = 0, bytes = 0;
	assert_true(report_delivered);
	assert_false(ioca_tally_take_lost(q, &rec, &bytes)); /* else reported twice */
	assert_false(ioca_tally_take_lost_seq(q, &rec));
	assert_false(ioca_tally_watching(q, report));
	ioca_queue_close(q);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(credits_on_ack_per_instance),
	    cmocka_unit_test(rewind_does_not_credit_twice),
	    cmocka_unit_test(instance_from_the_record_not_the_topic),
	    cmocka_unit_test(dropped_report_is_lost_delivered_one_is_not),
	    cmocka_unit_test(test_tally_live_first_report_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
