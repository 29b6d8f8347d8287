/*
 * Unit tests of the bounded memory queue (agent/memqueue.c): push order,
 * out-of-order acks, rewind, the byte bound with counted drops that never
 * touch records in flight, and caller-assigned seq numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"

#define PAYLOAD_LEN 100
#define BIG_BOUND   (1024 * 1024)

static int push_n(struct ioca_queue *q, uint64_t seq, const char *topic, size_t len)
{
	static char payload[PAYLOAD_LEN * 10];
	memset(payload, 'a' + (int)(seq % 26), sizeof(payload));
	struct ioca_record r = {
	    .seq = seq,
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .accepted_ms = (int64_t)seq * 10,
	    .topic = topic,
	    .payload = payload,
	    .payload_len = len,
	};
	return ioca_queue_push(q, &r);
}

static uint64_t record_cost(void)
{
	struct ioca_queue *q = ioca_memqueue_new(1, BIG_BOUND);
	push_n(q, 1, "t/x", PAYLOAD_LEN);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	ioca_queue_close(q);
	return st.bytes;
}

static void test_order_and_acks(void **state)
{
	(void)state;
	struct ioca_queue *q = ioca_memqueue_new(5, BIG_BOUND);
	assert_non_null(q);
	assert_int_equal(ioca_queue_next_seq(q), 5);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	for (uint64_t s = 5; s < 10; s++)
		assert_int_equal(push_n(q, s, "t/x", PAYLOAD_LEN), IOCA_OK);
	assert_int_equal(ioca_queue_next_seq(q), 10);

	for (uint64_t s = 5; s < 10; s++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, s);
		assert_string_equal(r.topic, "t/x");
		assert_int_equal(r.payload_len, PAYLOAD_LEN);
		assert_int_equal(((const char *)r.payload)[0], 'a' + (int)(s % 26));
		assert_int_equal(r.accepted_ms, (int64_t)s * 10);
	}
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);

	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.in_flight, 5);
	assert_int_equal(st.pushed, 5);
	assert_int_equal(st.oldest_ms, 50);

	/* Out of order acks; an unknown seq is ignored. */
	ioca_queue_ack(q, 7);
	ioca_queue_ack(q, 5);
	ioca_queue_ack(q, 42);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.in_flight, 3);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.oldest_ms, 60);
	assert_int_equal(st.dropped_records, 0);
	assert_false(st.degraded);
	ioca_queue_close(q);
}

static void test_rewind(void **state)
{
	(void)state;
	struct ioca_queue *q = ioca_memqueue_new(1, BIG_BOUND);
	for (uint64_t s = 1; s <= 4; s++)
		push_n(q, s, "t/x", PAYLOAD_LEN);
	struct ioca_record r;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	ioca_queue_ack(q, 2);
	ioca_queue_rewind(q);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.in_flight, 0);
	uint64_t want[] = {1, 3, 4};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want[i]);
	}
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);
}

static void test_bound_drops_oldest_not_in_flight(void **state)
{
	(void)state;
	uint64_t cost = record_cost();
	struct ioca_queue *q = ioca_memqueue_new(1, cost * 3);
	struct ioca_record r;
	push_n(q, 1, "t/x", PAYLOAD_LEN);
	push_n(q, 2, "t/x", PAYLOAD_LEN);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK); /* 1 is in flight */
	assert_int_equal(r.seq, 1);
	push_n(q, 3, "t/x", PAYLOAD_LEN);
	/* Full: 4 pushes out 2 (the oldest not in flight), 5 pushes out 3. */
	assert_int_equal(push_n(q, 4, "t/x", PAYLOAD_LEN), IOCA_OK);
	assert_int_equal(push_n(q, 5, "t/x", PAYLOAD_LEN), IOCA_OK);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.bytes, cost * 3);
	assert_int_equal(st.dropped_records, 2);
	assert_int_equal(st.dropped_bytes, 2 * PAYLOAD_LEN);
	assert_int_equal(st.in_flight, 1);
	uint64_t want[] = {4, 5};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want[i]);
	}
	/* Everything is in flight now: a new record cannot be kept. */
	assert_int_equal(push_n(q, 6, "t/x", PAYLOAD_LEN), IOCA_ERROR);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.dropped_records, 3);
	assert_int_equal(st.pushed, 5);
	/* Seq 1 survived every drop because it was in flight. */
	ioca_queue_ack(q, 1);
	ioca_queue_ack(q, 4);
	ioca_queue_ack(q, 5);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.oldest_ms, 0);
	ioca_queue_close(q);
}

static void test_record_larger_than_bound(void **state)
{
	(void)state;
	uint64_t cost = record_cost();
	struct ioca_queue *q = ioca_memqueue_new(1, cost);
	assert_int_equal(push_n(q, 1, "t/x", PAYLOAD_LEN * 2), IOCA_ERROR);
	assert_int_equal(push_n(q, 2, "t/x", PAYLOAD_LEN), IOCA_OK);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.dropped_records, 1);
	assert_int_equal(st.dropped_bytes, PAYLOAD_LEN * 2);
	ioca_queue_close(q);
}

static void test_caller_assigned_seq(void **state)
{
	(void)state;
	struct ioca_queue *q = ioca_memqueue_new(1, BIG_BOUND);
	assert_int_equal(push_n(q, 100, "a", 1), IOCA_OK);
	assert_int_equal(push_n(q, 250, "b", 1), IOCA_OK);
	assert_int_equal(ioca_queue_next_seq(q), 251);
	/* Not increasing: refused and counted. */
	assert_int_equal(push_n(q, 250, "c", 1), IOCA_ERROR);
	assert_int_equal(push_n(q, 7, "c", 1), IOCA_ERROR);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.dropped_records, 2);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, 100);
	assert_string_equal(r.topic, "a");
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, 250);
	ioca_queue_close(q);
}

static void test_blob_copied(void **state)
{
	(void)state;
	struct ioca_queue *q = ioca_memqueue_new(1, BIG_BOUND);
	char topic[] = "ioc/a/cam/snapshot";
	char ct[] = "image/jpeg";
	unsigned char data[] = {0xff, 0xd8, 0x00, 0x01, 0xff, 0xd9};
	struct ioca_record in = {.seq = 1,
				 .kind = IOCA_RECORD_BLOB,
				 .qos = 2,
				 .retain = true,
				 .topic = topic,
				 .content_type = ct,
				 .payload = data,
				 .payload_len = sizeof(data)};
	assert_int_equal(ioca_queue_push(q, &in), IOCA_OK);
	/* The queue must not keep pointers to the caller's memory. */
	memset(topic, 'x', sizeof(topic) - 1);
	memset(ct, 'y', sizeof(ct) - 1);
	memset(data, 0, sizeof(data));
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_string_equal(r.topic, "ioc/a/cam/snapshot");
	assert_string_equal(r.content_type, "image/jpeg");
	assert_int_equal(r.kind, IOCA_RECORD_BLOB);
	assert_int_equal(r.qos, 2);
	assert_true(r.retain);
	assert_int_equal(r.payload_len, 6);
	assert_memory_equal(r.payload, ((unsigned char[]){0xff, 0xd8, 0x00, 0x01, 0xff, 0xd9}), 6);
	assert_int_equal(ioca_queue_flush(q), IOCA_OK);
	ioca_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_acks),
	    cmocka_unit_test(test_rewind),
	    cmocka_unit_test(test_bound_drops_oldest_not_in_flight),
	    cmocka_unit_test(test_record_larger_than_bound),
	    cmocka_unit_test(test_caller_assigned_seq),
	    cmocka_unit_test(test_blob_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
