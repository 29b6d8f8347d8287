/*
 * Unit tests of fair eviction at spool.max_bytes (agent/queue/spool/
 * spool_evict.c) on a real directory: one instance flooding and others
 * trickling into a small spool. The neighbours lose nothing, the flooder's
 * oldest records go, the drop reports say which instance lost what, and
 * what survives is read back intact, in seq order, after a rewind, after
 * acks and after a restart, records in flight included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_spool_util.h"

#define FLOODER   "flood"
#define NEIGHBOUR "calm"
#define AGENT     "_agent"
#define MAX_SEQ   20000
#define SPOOL_MAX (256 * 1024)
#define SEGMENT   (64 * 1024)

struct fixture {
	char *dir;
	struct test_reports rep;
	struct ioca_spool_callbacks cb;
	const char *inst_of[MAX_SEQ + 1]; /* instance each seq was pushed with */
	uint64_t pushed_of[3];            /* flooder, neighbour, agent */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = make_dir();
	f->cb = tr_callbacks(&f->rep);
	*state = f;
	return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct ioca_spool_config small_config(void)
{
	struct ioca_spool_config c = test_config(IOCA_FSYNC_INTERVAL);
	c.max_bytes = SPOOL_MAX;
	c.segment_bytes = SEGMENT;
	return c;
}

static struct ioca_queue *open_spool(struct fixture *f, const struct ioca_spool_config *c)
{
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(c, f->dir, &f->cb, err, sizeof(err));
	if (!q)
		fprintf(stderr, "open: %s\n", err);
	assert_non_null(q);
	return q;
}

static int inst_index(const char *inst)
{
	return strcmp(inst, FLOODER) == 0 ? 0 : strcmp(inst, NEIGHBOUR) == 0 ? 1 : 2;
}

static void push_inst_at(struct fixture *f, struct ioca_queue *q, const char *inst,
			 int64_t accepted_ms)
{
	uint64_t seq = ioca_queue_next_seq(q);
	assert_true(seq <= MAX_SEQ);
	char payload[PAYLOAD_BYTES];
	size_t n = payload_for(seq, payload, sizeof(payload));
	struct ioca_record r = {
	    .seq = seq,
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .accepted_ms = accepted_ms ? accepted_ms : 1700000000000LL + (int64_t)seq,
	    .instance = inst,
	    .topic = TOPIC,
	    .payload = payload,
	    .payload_len = n,
	};
	assert_int_equal(ioca_queue_push(q, &r), IOCA_OK);
	f->inst_of[seq] = inst;
	f->pushed_of[inst_index(inst)]++;
}

static void push_inst(struct fixture *f, struct ioca_queue *q, const char *inst)
{
	push_inst_at(f, q, inst, 0);
}

/* `rounds` times: `per_round` flooder records, one of the neighbour, and
 * every 10th round one of the agent's own. */
static void flood(struct fixture *f, struct ioca_queue *q, int rounds, int per_round)
{
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < per_round; k++)
			push_inst(f, q, FLOODER);
		push_inst(f, q, NEIGHBOUR);
		if (i % 10 == 0)
			push_inst(f, q, AGENT);
	}
}

/* The record is what push_inst stored for its seq. */
static void check_record(struct fixture *f, const struct ioca_record *r)
{
	assert_true(r->seq <= MAX_SEQ);
	assert_true(record_ok(r));
	assert_non_null(f->inst_of[r->seq]);
	assert_non_null(r->instance);
	assert_string_equal(r->instance, f->inst_of[r->seq]);
}

/* Read everything next() hands out (without acking), checked and in
 * strictly increasing seq order; their seqs into out. Returns how many. */
static size_t read_all(struct fixture *f, struct ioca_queue *q, uint64_t *out, size_t max)
{
	struct ioca_record r;
	size_t n = 0;
	uint64_t last = 0;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		check_record(f, &r);
		assert_true(r.seq > last);
		last = r.seq;
		assert_true(n < max);
		out[n++] = r.seq;
	}
	return n;
}

static void count_by_instance(struct fixture *f, const uint64_t *seqs, size_t n, uint64_t by[3])
{
	by[0] = by[1] = by[2] = 0;
	for (size_t i = 0; i < n; i++)
		by[inst_index(f->inst_of[seqs[i]])]++;
}

static void test_flooder_evicted_neighbour_kept(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	struct ioca_queue *q = open_spool(f, &c);
	flood(f, q, 200, 30); /* ~1.6 MB into 256 KiB, the neighbour ~53 KB */

	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.disk_bytes <= (uint64_t)c.max_bytes);
	assert_true(st.dropped_records > 3000);
	assert_int_equal(st.records + st.dropped_records, st.pushed);

	/* Only the flooder lost records, and the report says so. */
	tick_now(q);
	assert_int_equal(f->rep.dropped_records, st.dropped_records);
	assert_int_equal(tr_instance_dropped(&f->rep, FLOODER), st.dropped_records);
	assert_int_equal(tr_instance_dropped(&f->rep, NEIGHBOUR), 0);
	assert_int_equal(tr_instance_dropped(&f->rep, AGENT), 0);
	assert_int_equal(f->rep.dropped_bytes,
			 st.dropped_records * (record_disk_bytes() + 1 + strlen(FLOODER)));

	static uint64_t seqs[MAX_SEQ];
	size_t n = read_all(f, q, seqs, MAX_SEQ);
	assert_int_equal(n, st.records);
	uint64_t by[3];
	count_by_instance(f, seqs, n, by);
	assert_int_equal(by[1], f->pushed_of[1]);
	assert_int_equal(by[2], f->pushed_of[2]);
	assert_int_equal(by[0], f->pushed_of[0] - st.dropped_records);
	/* The flooder's newest records are the ones kept. */
	uint64_t kept_flood = 0;
	for (uint64_t s = MAX_SEQ; s > 0 && kept_flood < by[0]; s--)
		if (f->inst_of[s] && strcmp(f->inst_of[s], FLOODER) == 0) {
			bool found = false;
			for (size_t i = 0; i < n && !found; i++)
				found = seqs[i] == s;
			assert_true(found);
			kept_flood++;
		}

	/* Acks release everything; the spool ends empty. */
	for (size_t i = 0; i < n; i++)
		ioca_queue_ack(q, seqs[i]);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.acked, n);
	assert_int_equal(st.segments, 1);
	ioca_queue_close(q);
}

/* A restart after eviction reads exactly what was left, and the neighbour
 * still loses nothing when the flood goes on after it. */
static void test_restart_reads_the_same(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	struct ioca_queue *q = open_spool(f, &c);
	flood(f, q, 150, 30);
	static uint64_t before[MAX_SEQ], after[MAX_SEQ];
	size_t nb = read_all(f, q, before, MAX_SEQ);
	assert_true(nb > 0);
	ioca_queue_close(q); /* nothing acked */

	q = open_spool(f, &c);
	size_t na = read_all(f, q, after, MAX_SEQ);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb * sizeof(*before));

	/* Ack the first half, restart, flood on: the rest follows, the
	 * neighbour intact. */
	for (size_t i = 0; i < na / 2; i++)
		ioca_queue_ack(q, after[i]);
	ioca_queue_close(q);
	q = open_spool(f, &c);
	flood(f, q, 100, 30);
	size_t nr = read_all(f, q, after, MAX_SEQ);
	assert_true(nr > 0);
	assert_true(after[0] > before[na / 2 - 1]);
	uint64_t by[3];
	count_by_instance(f, after, nr, by);
	uint64_t calm_left = 0;
	for (size_t i = na / 2; i < nb; i++)
		calm_left += strcmp(f->inst_of[before[i]], NEIGHBOUR) == 0;
	assert_int_equal(by[1], calm_left + 100);
	ioca_queue_close(q);
}

/* Records handed out and not acked are never evicted; their offsets are
 * moved with the rewrite, so a rewind hands them out again intact. */
static void test_records_in_flight_survive(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	struct ioca_queue *q = open_spool(f, &c);
	flood(f, q, 20, 10); /* 231 records */
	struct ioca_record r;
	uint64_t inflight[40];
	for (int i = 0; i < 40; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		check_record(f, &r);
		inflight[i] = r.seq;
	}
	ioca_queue_ack(q, inflight[5]); /* acked out of order, not released yet */
	flood(f, q, 150, 30);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.dropped_records > 0);
	assert_int_equal(st.in_flight, 39);

	/* Handed out again after a rewind: the same records, from their new
	 * offsets; then the rest in order, the neighbour complete. */
	ioca_queue_rewind(q);
	static uint64_t seqs[MAX_SEQ];
	size_t n = read_all(f, q, seqs, MAX_SEQ);
	size_t k = 0;
	for (int i = 0; i < 40; i++) {
		if (i == 5)
			continue;
		assert_true(k < n);
		assert_int_equal(seqs[k], inflight[i]);
		k++;
	}
	uint64_t by[3];
	count_by_instance(f, seqs, n, by);
	assert_int_equal(by[1] + (strcmp(f->inst_of[inflight[5]], NEIGHBOUR) == 0),
			 f->pushed_of[1]);
	assert_int_equal(by[2] + (strcmp(f->inst_of[inflight[5]], AGENT) == 0), f->pushed_of[2]);
	for (size_t i = 0; i < n; i++)
		ioca_queue_ack(q, seqs[i]);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.acked, n + 1);
	ioca_queue_close(q);
}

#define LIVE_WALL_MS 1800000000000LL

static int64_t live_wall(void)
{
	return LIVE_WALL_MS;
}

/* spool.order = "live_first": a young record handed out ahead of a backlog
 * sits behind backlog records of the flooder in its segment. They are
 * evicted, so its offset moves; after a rewind it is handed out again from
 * the new one, ahead of the neighbour's older records that are kept, and
 * those follow in order. */
static void test_live_first_offsets_move(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	c.order = IOCA_SPOOL_ORDER_LIVE_FIRST;
	c.historical_after_s = 30;
	c.drain_rate = 0;
	c.now_wall_ms = live_wall;
	struct ioca_queue *q = open_spool(f, &c);
	int64_t old_ms = LIVE_WALL_MS - 3600 * 1000;
	for (int i = 0; i < 300; i++) /* a backlog: more than one segment */
		push_inst_at(f, q, i % 10 == 9 ? NEIGHBOUR : FLOODER, old_ms);
	push_inst_at(f, q, NEIGHBOUR, LIVE_WALL_MS);
	uint64_t young = ioca_queue_next_seq(q) - 1;
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, young); /* ahead of the backlog */
	check_record(f, &r);
	/* A young flooder record delivered early: never evicted (nor counted
	 * as dropped) though the reader has not reached it. */
	push_inst_at(f, q, FLOODER, LIVE_WALL_MS);
	uint64_t delivered = ioca_queue_next_seq(q) - 1;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, delivered);
	ioca_queue_ack(q, delivered);

	for (int i = 0; i < 1500; i++) /* the oldest flooder records go */
		push_inst_at(f, q, FLOODER, old_ms);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.dropped_records > 300);
	ioca_queue_rewind(q);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, young); /* from its new offset */
	check_record(f, &r);
	ioca_queue_ack(q, r.seq);

	static uint64_t seqs[MAX_SEQ];
	size_t n = read_all(f, q, seqs, MAX_SEQ);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(seqs[i], young);
		assert_int_not_equal(seqs[i], delivered);
		ioca_queue_ack(q, seqs[i]);
	}
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.acked, n + 2);
	assert_int_equal(st.acked + st.dropped_records, st.pushed);
	ioca_queue_close(q);
}

/* Two heavy instances: the biggest is brought down to the next one first,
 * then both give; the light one gives nothing. */
static void test_water_filling(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	struct ioca_queue *q = open_spool(f, &c);
	/* flooder 24 a round, a second heavy one 12 (counted in the agent's
	 * slot of pushed_of, not under its name), the neighbour 1. */
	for (int i = 0; i < 200; i++) {
		for (int k = 0; k < 24; k++)
			push_inst(f, q, FLOODER);
		for (int k = 0; k < 12; k++)
			push_inst(f, q, "heavy");
		push_inst(f, q, NEIGHBOUR);
	}
	tick_now(q);
	uint64_t lost_flood = tr_instance_dropped(&f->rep, FLOODER);
	uint64_t lost_heavy = tr_instance_dropped(&f->rep, "heavy");
	assert_int_equal(tr_instance_dropped(&f->rep, NEIGHBOUR), 0);
	assert_true(lost_flood > lost_heavy);
	assert_true(lost_heavy > 0);
	assert_int_equal(lost_flood + lost_heavy, f->rep.dropped_records);

	static uint64_t seqs[MAX_SEQ];
	size_t n = read_all(f, q, seqs, MAX_SEQ);
	uint64_t kept_flood = 0, kept_heavy = 0, kept_calm = 0;
	for (size_t i = 0; i < n; i++) {
		const char *in = f->inst_of[seqs[i]];
		kept_flood += strcmp(in, FLOODER) == 0;
		kept_heavy += strcmp(in, "heavy") == 0;
		kept_calm += strcmp(in, NEIGHBOUR) == 0;
	}
	assert_int_equal(kept_calm, 200);
	/* Level: the two heavy ones hold about as much (within what one
	 * eviction frees and the active segment holds). */
	uint64_t rec = record_disk_bytes() + 6;
	uint64_t diff = kept_flood > kept_heavy ? kept_flood - kept_heavy : kept_heavy - kept_flood;
	assert_true(diff * rec <= SEGMENT);
	ioca_queue_close(q);
}

static int64_t clock_wall_ms, clock_mono_ms;

static int64_t clock_wall(void)
{
	return clock_wall_ms;
}

static int64_t clock_mono(void)
{
	return clock_mono_ms;
}

static struct ioca_spool_config live_first_config(void)
{
	struct ioca_spool_config c = test_config(IOCA_FSYNC_NEVER);
	c.order = IOCA_SPOOL_ORDER_LIVE_FIRST;
	c.historical_after_s = 30;
	c.now_wall_ms = clock_wall;
	c.now_mono_ms = clock_mono;
	c.segment_bytes = SEGMENT;
	clock_mono_ms = 1000;
	return c;
}

/* live_first: the spool fills with flooder records delivered early (acked
 * ahead of the neighbour's backlog). They are released, so eviction frees
 * their space without loss instead of taking the neighbour's backlog. */
static void test_delivered_early_protected_neighbour_pays(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = live_first_config();
	c.drain_rate = 0.001; /* the backlog barely moves */
	c.max_bytes = SPOOL_MAX;
	clock_wall_ms = LIVE_WALL_MS;
	struct ioca_queue *q = open_spool(f, &c);
	for (int i = 0; i < 100; i++)
		push_inst_at(f, q, NEIGHBOUR, clock_wall_ms - 60000); /* backlog */
	struct ioca_record r;
	int early = 0;
	for (int i = 0; i < 3000; i++) {
		push_inst_at(f, q, FLOODER, clock_wall_ms);
		while (ioca_queue_next(q, &r) == IOCA_OK) {
			early += strcmp(r.instance, FLOODER) == 0;
			ioca_queue_ack(q, r.seq);
		}
	}
	clock_mono_ms += 2000;
	ioca_queue_tick(q, clock_mono_ms);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(early > 2900);
	assert_true(st.disk_bytes <= (uint64_t)SPOOL_MAX);
	assert_int_equal(tr_instance_dropped(&f->rep, NEIGHBOUR), 0);
	assert_int_equal(st.dropped_records, 0);
	ioca_queue_close(q);
}

/* live_first: a record delivered early is not counted as dropped when its
 * segment goes whole (max_age here; the size bound's fallback alike). */
static void test_live_acked_counted_dropped(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = live_first_config();
	c.max_age_s = 100;
	c.drain_rate = 0;
	/* the age bound uses the real wall clock: start 200 s in the past */
	clock_wall_ms = ioca_now_wall_ms() - 200000;
	struct ioca_queue *q = open_spool(f, &c);
	for (int i = 0; i < 10; i++) /* backlog, older than historical_after */
		push_inst_at(f, q, NEIGHBOUR, clock_wall_ms - 50000);
	push_inst_at(f, q, NEIGHBOUR, clock_wall_ms);
	uint64_t young = ioca_queue_next_seq(q) - 1;
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, young);
	ioca_queue_ack(q, young);
	for (int i = 0; i < 400; i++) /* the first segment is sealed */
		push_inst_at(f, q, NEIGHBOUR, clock_wall_ms - 40000);
	clock_wall_ms += 200000;
	clock_mono_ms += 200000;
	ioca_queue_tick(q, clock_mono_ms);
	/* everything else is past max_age too: the reader drops it */
	while (ioca_queue_next(q, &r) == IOCA_OK)
		ioca_queue_ack(q, r.seq);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.acked, 1);
	assert_int_equal(st.acked + st.dropped_records, st.pushed);
	assert_int_equal(st.records, 0);
	ioca_queue_close(q);
}

/* Records acked out of order before a stop (above the floor) are
 * released: after the restart eviction frees their space, not the
 * neighbour's backlog. */
static void test_acked_before_stop_freed_first(void **state)
{
	struct fixture *f = *state;
	struct ioca_spool_config c = small_config();
	struct ioca_queue *q = open_spool(f, &c);
	push_inst(f, q, NEIGHBOUR); /* stays in flight: the floor */
	for (int i = 0; i < 700; i++)
		push_inst(f, q, FLOODER);
	struct ioca_record r;
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	uint64_t floor = r.seq;
	while (ioca_queue_next(q, &r) == IOCA_OK)
		ioca_queue_ack(q, r.seq);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.dropped_records, 0);
	ioca_queue_close(q);

	q = open_spool(f, &c);
	for (int i = 0; i < 400; i++)
		push_inst(f, q, NEIGHBOUR);
	ioca_queue_stats(q, &st);
	assert_true(st.disk_bytes <= (uint64_t)SPOOL_MAX);
	assert_int_equal(st.dropped_records, 0);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
	assert_int_equal(r.seq, floor); /* delivered again: never acked */
	ioca_queue_ack(q, r.seq);
	uint64_t n = 1;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		assert_string_equal(r.instance, NEIGHBOUR);
		ioca_queue_ack(q, r.seq);
		n++;
	}
	assert_int_equal(n, 401);
	ioca_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flooder_evicted_neighbour_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_reads_the_same, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_records_in_flight_survive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_first_offsets_move, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_water_filling, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delivered_early_protected_neighbour_pays, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_live_acked_counted_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acked_before_stop_freed_first, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
