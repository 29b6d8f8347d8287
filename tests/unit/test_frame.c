/* Worker frame codec: round trips, byte-by-byte streaming, and every kind of
 * malformed input the core must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

static void feed_all(struct ioca_frame_reader *r, const uint8_t *buf, size_t len)
{
	assert_int_equal(ioca_frame_reader_feed(r, buf, len), IOCA_OK);
}

static void test_event_round_trip_byte_by_byte(void **state)
{
	(void)state;
	uint8_t head[256];
	const char *data = "{\"zones\":[\"gate\"],\"area_pct\":4.5}";
	size_t hlen = ioca_frame_encode_event_head(head, sizeof head, 1764084601123LL,
						   IOCA_SEV_WARNING, "motion.start", strlen(data));
	assert_true(hlen > 0);
	uint8_t wire[512];
	memcpy(wire, head, hlen);
	memcpy(wire + hlen, data, strlen(data));
	size_t total = hlen + strlen(data);

	struct ioca_frame_reader r;
	ioca_frame_reader_init(&r);
	struct ioca_frame f;
	for (size_t i = 0; i < total - 1; i++) {
		feed_all(&r, wire + i, 1);
		assert_int_equal(ioca_frame_next(&r, &f), IOCA_AGAIN);
	}
	feed_all(&r, wire + total - 1, 1);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	assert_int_equal(f.type, IOCA_FRAME_EVENT);

	struct ioca_frame_event ev;
	char err[128];
	assert_int_equal(ioca_frame_parse_event(&f, &ev, err, sizeof err), IOCA_OK);
	assert_int_equal(ev.time_ms, 1764084601123LL);
	assert_int_equal(ev.severity, IOCA_SEV_WARNING);
	assert_string_equal(ev.type, "motion.start");
	assert_int_equal(ev.data_len, strlen(data));
	assert_memory_equal(ev.data, data, ev.data_len);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_AGAIN);
	ioca_frame_reader_free(&r);
}

static void test_several_frames_in_one_read(void **state)
{
	(void)state;
	uint8_t wire[1024];
	size_t n = 0;
	n += ioca_frame_encode_hello(wire + n, sizeof wire - n, 1, 0, "sim", "1.0.0", 0x6u);
	n += ioca_frame_encode_heartbeat(wire + n, sizeof wire - n, 1234, 987654321);
	size_t used = ioca_frame_encode_stats_begin(wire + n, sizeof wire - n);
	used = ioca_frame_encode_stats_add(wire + n, sizeof wire - n, used, false, "fps_in", 15.0);
	used = ioca_frame_encode_stats_add(wire + n, sizeof wire - n, used, true, "decode_errors",
					   2.0);
	ioca_frame_encode_stats_finish(wire + n, used);
	n += used;
	n += ioca_frame_encode_stop(wire + n, sizeof wire - n);
	n += ioca_frame_encode_snapshot_request(wire + n, sizeof wire - n, 65000);
	n += ioca_frame_encode_blob_limit(wire + n, sizeof wire - n, 59931);

	struct ioca_frame_reader r;
	ioca_frame_reader_init(&r);
	feed_all(&r, wire, n);
	struct ioca_frame f;
	char err[128];

	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	struct ioca_frame_hello h;
	assert_int_equal(ioca_frame_parse_hello(&f, &h, err, sizeof err), IOCA_OK);
	assert_int_equal(h.abi_major, 1);
	assert_string_equal(h.name, "sim");
	assert_string_equal(h.version, "1.0.0");
	assert_int_equal(h.features, 0x6u);

	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	struct ioca_frame_heartbeat hb = {0};
	assert_int_equal(ioca_frame_parse_heartbeat(&f, &hb, err, sizeof err), IOCA_OK);
	assert_int_equal(hb.idle_ms, 1234);
	assert_int_equal(hb.sent_mono_ms, 987654321);

	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	assert_int_equal(f.type, IOCA_FRAME_STATS);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	assert_int_equal(f.type, IOCA_FRAME_STOP);
	assert_int_equal(f.len, 0);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	assert_int_equal(f.type, IOCA_FRAME_SNAPSHOT_REQUEST);
	uint64_t limit = 0;
	assert_int_equal(ioca_frame_parse_snapshot_request(&f, &limit, err, sizeof err), IOCA_OK);
	assert_int_equal(limit, 65000);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	assert_int_equal(f.type, IOCA_FRAME_BLOB_LIMIT);
	assert_int_equal(ioca_frame_parse_blob_limit(&f, &limit, err, sizeof err), IOCA_OK);
	assert_int_equal(limit, 59931);
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_AGAIN);
	ioca_frame_reader_free(&r);
}

struct stat_seen {
	int n;
	char names[4][49];
	double values[4];
	bool add[4];
};

static void collect_stat(void *ctx, const struct ioca_frame_stat *st)
{
	struct stat_seen *s = ctx;
	if (s->n < 4) {
		strcpy(s->names[s->n], st->name);
		s->values[s->n] = st->value;
		s->add[s->n] = st->add;
	}
	s->n++;
}

static void test_stats_parse(void **state)
{
	(void)state;
	uint8_t wire[256];
	size_t used = ioca_frame_encode_stats_begin(wire, sizeof wire);
	used = ioca_frame_encode_stats_add(wire, sizeof wire, used, false, "fps_in", 14.5);
	used = ioca_frame_encode_stats_add(wire, sizeof wire, used, true, "reconnects", 3);
	ioca_frame_encode_stats_finish(wire, used);
	struct ioca_frame_reader r;
	ioca_frame_reader_init(&r);
	feed_all(&r, wire, used);
	struct ioca_frame f;
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	struct stat_seen seen = {0};
	char err[128];
	assert_int_equal(ioca_frame_parse_stats(&f, collect_stat, &seen, err, sizeof err), IOCA_OK);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "fps_in");
	assert_true(seen.values[0] == 14.5);
	assert_false(seen.add[0]);
	assert_string_equal(seen.names[1], "reconnects");
	assert_true(seen.add[1]);
	ioca_frame_reader_free(&r);
}

static void test_blob_round_trip(void **state)
{
	(void)state;
	uint8_t head[256];
	const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9};
	size_t hlen = ioca_frame_encode_blob_head(head, sizeof head, 42, "snapshot", "image/jpeg",
						  sizeof jpeg);
	assert_true(hlen > 0);
	struct ioca_frame_reader r;
	ioca_frame_reader_init(&r);
	feed_all(&r, head, hlen);
	feed_all(&r, jpeg, sizeof jpeg);
	struct ioca_frame f;
	assert_int_equal(ioca_frame_next(&r, &f), IOCA_OK);
	struct ioca_frame_blob b;
	char err[128];
	assert_int_equal(ioca_frame_parse_blob(&f, &b, err, sizeof err), IOCA_OK);
	assert_string_equal(b.subtopic, "snapshot");
	assert_string_equal(b.content_type, "image/jpeg");
	assert_int_equal(b.len, sizeof jpeg);
	assert_memory_equal(b.data, jpeg, sizeof jpeg);
	ioca_frame_reader_free(&r);
}

static int next_of(const uint8_t *wire, size_t len, struct ioca_frame_reader *r,
		   struct ioca_frame *f)
{
	ioca_frame_reader_init(r);
	ioca_frame_reader_feed(r, wire, len);
	return ioca_frame_next(r, f);
}

static void test_malformed_headers(void **state)
{
	(void)state;
	struct ioca_frame_reader r;
	struct ioca_frame f;
	uint8_t ok[32];
	size_t n = ioca_frame_encode_heartbeat(ok, sizeof ok, 1, 2);

	uint8_t bad[32];
	memcpy(bad, ok, n);
	bad[0] ^= 0xff; /* magic */
	assert_int_equal(next_of(bad, n, &r, &f), IOCA_ERROR);
	assert_non_null(strstr(r.error, "magic"));
	ioca_frame_reader_free(&r);

	memcpy(bad, ok, n);
	bad[2] = 9; /* version */
	assert_int_equal(next_of(bad, n, &r, &f), IOCA_ERROR);
	assert_non_null(strstr(r.error, "version"));
	ioca_frame_reader_free(&r);

	memcpy(bad, ok, n);
	bad[3] = 200; /* type */
	assert_int_equal(next_of(bad, n, &r, &f), IOCA_ERROR);
	assert_non_null(strstr(r.error, "type"));
	ioca_frame_reader_free(&r);

	memcpy(bad, ok, n);
	bad[4] = bad[5] = bad[6] = bad[7] = 0xff; /* 4 GiB payload */
	assert_int_equal(next_of(bad, n, &r, &f), IOCA_ERROR);
	assert_non_null(strstr(r.error, "limit"));
	ioca_frame_reader_free(&r);
}

static void test_malformed_payloads(void **state)
{
	(void)state;
	char err[128];
	struct ioca_frame_event ev;
	struct ioca_frame_blob b;
	struct ioca_frame_hello h;
	struct ioca_frame_heartbeat idle;

	/* event: type length running past the payload */
	uint8_t p1[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 60, 'a', 'b'};
	struct ioca_frame f = {.type = IOCA_FRAME_EVENT, .payload = p1, .len = sizeof p1};
	assert_int_equal(ioca_frame_parse_event(&f, &ev, err, sizeof err), IOCA_ERROR);
	/* event: bad severity */
	uint8_t p2[12] = {0, 0, 0, 0, 0, 0, 0, 0, 7, 1, 'a', '{'};
	f.payload = p2;
	assert_int_equal(ioca_frame_parse_event(&f, &ev, err, sizeof err), IOCA_ERROR);
	/* event: type with characters outside the set */
	uint8_t p3[13] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 'A', '/', 'b'};
	f.payload = p3;
	f.len = sizeof p3;
	assert_int_equal(ioca_frame_parse_event(&f, &ev, err, sizeof err), IOCA_ERROR);
	/* hello without terminators */
	uint8_t p4[8] = {1, 0, 0, 0, 's', 'i', 'm', 'x'};
	f = (struct ioca_frame){.type = IOCA_FRAME_HELLO, .payload = p4, .len = sizeof p4};
	assert_int_equal(ioca_frame_parse_hello(&f, &h, err, sizeof err), IOCA_ERROR);
	/* hello with a truncated features word */
	uint8_t p4b[10] = {1, 0, 0, 0, 's', 0, '1', 0, 2, 0};
	f = (struct ioca_frame){.type = IOCA_FRAME_HELLO, .payload = p4b, .len = sizeof p4b};
	assert_int_equal(ioca_frame_parse_hello(&f, &h, err, sizeof err), IOCA_ERROR);
	/* hello without features (an older worker): none */
	f.len = 8;
	assert_int_equal(ioca_frame_parse_hello(&f, &h, err, sizeof err), IOCA_OK);
	assert_int_equal(h.features, 0);
	/* a snapshot request carries its size limit, or nothing (no limit known) */
	uint64_t limit = 7;
	f = (struct ioca_frame){.type = IOCA_FRAME_SNAPSHOT_REQUEST, .payload = p4b, .len = 1};
	assert_int_equal(ioca_frame_parse_snapshot_request(&f, &limit, err, sizeof err),
			 IOCA_ERROR);
	f.len = 0;
	assert_int_equal(ioca_frame_parse_snapshot_request(&f, &limit, err, sizeof err), IOCA_OK);
	assert_int_equal(limit, 0);
	/* a blob limit is one u64, nothing else */
	f = (struct ioca_frame){.type = IOCA_FRAME_BLOB_LIMIT, .payload = p4b, .len = 0};
	assert_int_equal(ioca_frame_parse_blob_limit(&f, &limit, err, sizeof err), IOCA_ERROR);
	f.len = 9;
	assert_int_equal(ioca_frame_parse_blob_limit(&f, &limit, err, sizeof err), IOCA_ERROR);
	/* heartbeat of the wrong size and negative idle */
	uint8_t p5[9] = {0};
	f = (struct ioca_frame){.type = IOCA_FRAME_HEARTBEAT, .payload = p5, .len = 9};
	assert_int_equal(ioca_frame_parse_heartbeat(&f, &idle, err, sizeof err), IOCA_ERROR);
	uint8_t p6[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	f = (struct ioca_frame){.type = IOCA_FRAME_HEARTBEAT, .payload = p6, .len = 16};
	assert_int_equal(ioca_frame_parse_heartbeat(&f, &idle, err, sizeof err), IOCA_ERROR);
	uint8_t p6b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	f = (struct ioca_frame){.type = IOCA_FRAME_HEARTBEAT, .payload = p6b, .len = 16};
	assert_int_equal(ioca_frame_parse_heartbeat(&f, &idle, err, sizeof err), IOCA_ERROR);
	/* blob with a content type running past the end */
	uint8_t p7[14] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 's', 50, 'i', 'm', 'g'};
	f = (struct ioca_frame){.type = IOCA_FRAME_BLOB, .payload = p7, .len = sizeof p7};
	assert_int_equal(ioca_frame_parse_blob(&f, &b, err, sizeof err), IOCA_ERROR);
	/* encoders refuse invalid names */
	uint8_t buf[256];
	assert_int_equal(
	    ioca_frame_encode_event_head(buf, sizeof buf, 0, IOCA_SEV_INFO, "Bad Type", 0), 0);
	assert_int_equal(ioca_frame_encode_blob_head(buf, sizeof buf, 0, "../x", "image/jpeg", 1),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_round_trip_byte_by_byte),
	    cmocka_unit_test(test_several_frames_in_one_read),
	    cmocka_unit_test(test_stats_parse),
	    cmocka_unit_test(test_blob_round_trip),
	    cmocka_unit_test(test_malformed_headers),
	    cmocka_unit_test(test_malformed_payloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
