/*
 * Unit tests of the spool's damage handling on real files: a torn tail is
 * truncated, flipped bytes (in a payload, in a length field, in a segment
 * header) skip exactly the damaged record while the segment is rewritten
 * clean and the original set aside as *.corrupt, a segment truncated in the
 * middle of a record loses only that record and what followed it in that
 * file, a garbage segment is set aside whole, and a deleted or damaged
 * cursor file makes everything still on disk deliverable again. In every
 * case the spool opens, reports through its callback, and delivers every
 * undamaged record in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_spool_util.h"

struct fixture {
	char *dir;
	struct test_reports rep;
	struct ioca_spool_callbacks cb;
	struct ioca_spool_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = make_dir();
	f->cb = tr_callbacks(&f->rep);
	f->cfg = test_config(IOCA_FSYNC_INTERVAL);
	f->cfg.segment_bytes = 64 * 1024;
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

static struct ioca_queue *open_spool(struct fixture *f)
{
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(&f->cfg, f->dir, &f->cb, err, sizeof(err));
	if (!q)
		fprintf(stderr, "open: %s\n", err);
	return q;
}

/* Write n records and close: the records sit in the first segment(s). */
static void fill(struct fixture *f, uint64_t n)
{
	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	push_n(q, n);
	ioca_queue_close(q);
}

static uint64_t rec_off(uint64_t index0)
{
	return IOCA_SPOOL_SEG_HDR_BYTES + index0 * record_disk_bytes();
}

static void patch(const char *dir, const char *name, uint64_t off, const void *bytes, size_t n)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void flip(const char *dir, const char *name, uint64_t off)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x5A;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void truncate_to(const char *dir, const char *name, uint64_t size)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(truncate(p, (off_t)size), 0);
}

/* Drain: returns how many came; each must be intact and in increasing
 * order, and none may be in `missing` (sorted, nmissing). */
static uint64_t drain_check(struct ioca_queue *q, uint64_t first, uint64_t last,
			    const uint64_t *missing, size_t nmissing)
{
	struct ioca_record r;
	uint64_t want = first, got = 0;
	size_t mi = 0;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		while (mi < nmissing && missing[mi] == want) {
			want++;
			mi++;
		}
		assert_int_equal(r.seq, want);
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
		want++;
		got++;
	}
	while (mi < nmissing && missing[mi] == want) {
		want++;
		mi++;
	}
	assert_int_equal(want, last + 1);
	return got;
}

static void test_torn_tail_truncated(void **state)
{
	struct fixture *f = *state;
	fill(f, 10);
	char names[8][64];
	assert_int_equal(list_segments(f->dir, names, 8), 1);
	/* A record cut short as by a crash in the middle of a write. */
	uint8_t part[17];
	memset(part, 0, sizeof(part));
	part[0] = IOCA_SPOOL_REC_MAGIC & 0xFF;
	part[1] = IOCA_SPOOL_REC_MAGIC >> 8;
	part[4] = 200;
	patch(f->dir, names[0], rec_off(10), part, sizeof(part));
	assert_int_equal(file_size(f->dir, names[0]), (off_t)(rec_off(10) + sizeof(part)));

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	assert_int_equal(file_size(f->dir, names[0]), (off_t)rec_off(10)); /* truncated */
	assert_int_equal(ioca_queue_next_seq(q), 11);
	assert_int_equal(drain_check(q, 1, 10, NULL, 0), 10);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_int_equal(f->rep.corrupt_bytes, sizeof(part));
	assert_non_null(strstr(f->rep.last_corrupt_file, names[0]));
	assert_int_equal(count_suffix(f->dir, ".corrupt"), 0);
	ioca_queue_close(q);
}

static void test_flipped_payload_byte(void **state)
{
	struct fixture *f = *state;
	fill(f, 100);
	char names[8][64];
	assert_int_equal(list_segments(f->dir, names, 8), 1);
	flip(f->dir, names[0],
	     rec_off(49) + IOCA_SPOOL_REC_HDR_BYTES + strlen(TOPIC) + 20); /* seq 50 */

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_int_equal(f->rep.corrupt_bytes, record_disk_bytes());
	assert_non_null(strstr(f->rep.last_corrupt_file, ".corrupt"));
	assert_int_equal(count_suffix(f->dir, ".corrupt"), 1);
	/* The segment was rewritten with the 99 good records. */
	assert_int_equal(file_size(f->dir, names[0]), (off_t)rec_off(99));
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 99);
	assert_int_equal(st.corrupt_records, 1);
	const uint64_t missing[] = {50};
	assert_int_equal(drain_check(q, 1, 100, missing, 1), 99);
	ioca_queue_close(q);

	/* Reopening finds nothing more to complain about. */
	f->cb = tr_callbacks(&f->rep);
	q = open_spool(f);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 0);
	ioca_queue_close(q);
}

static void test_flipped_length_and_header(void **state)
{
	struct fixture *f = *state;
	fill(f, 600); /* three segments */
	char names[8][64];
	assert_int_equal(list_segments(f->dir, names, 8), 3);
	uint64_t per_seg =
	    (uint64_t)(f->cfg.segment_bytes - IOCA_SPOOL_SEG_HDR_BYTES) / record_disk_bytes();
	/* Body length of seq 30 in the first; the magic of the second segment. */
	flip(f->dir, names[0], rec_off(29) + 5);
	flip(f->dir, names[1], 2);

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 2);
	assert_int_equal(f->rep.corrupt_bytes, record_disk_bytes() + IOCA_SPOOL_SEG_HDR_BYTES);
	assert_int_equal(count_suffix(f->dir, ".corrupt"), 2);
	const uint64_t missing[] = {30};
	assert_int_equal(drain_check(q, 1, 600, missing, 1), 599);
	assert_true(per_seg < 600);
	ioca_queue_close(q);
}

static void test_truncated_mid_record(void **state)
{
	struct fixture *f = *state;
	fill(f, 600);
	char names[8][64];
	assert_int_equal(list_segments(f->dir, names, 8), 3);
	uint64_t per_seg =
	    (uint64_t)(f->cfg.segment_bytes - IOCA_SPOOL_SEG_HDR_BYTES) / record_disk_bytes();
	/* Cut the first segment 100 bytes into its record index 200. */
	truncate_to(f->dir, names[0], rec_off(200) + 100);

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_int_equal(f->rep.corrupt_bytes, 100);
	uint64_t missing[128];
	size_t nm = 0;
	for (uint64_t s = 201; s <= per_seg; s++)
		missing[nm++] = s;
	assert_int_equal(drain_check(q, 1, 600, missing, nm), 600 - nm);
	ioca_queue_close(q);
}

static void test_garbage_segment_set_aside(void **state)
{
	struct fixture *f = *state;
	fill(f, 10);
	/* A file with a segment's name and nothing valid in it. */
	char p[4200];
	snprintf(p, sizeof(p), "%s/00000000000000ff.seg", f->dir);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	for (int i = 0; i < 5000; i++)
		fputc((i * 131) & 0xFF, fp);
	fclose(fp);

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_int_equal(f->rep.corrupt_bytes, 5000);
	assert_int_equal(count_suffix(f->dir, ".corrupt"), 1);
	assert_int_equal(drain_check(q, 1, 10, NULL, 0), 10);
	/* New segments are named past the set-aside one. */
	push_n(q, 1);
	char names[8][64];
	int n = list_segments(f->dir, names, 8);
	assert_true(strcmp(names[n - 1], "00000000000000ff.seg") > 0);
	ioca_queue_close(q);
}

static void test_cursor_deleted(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_spool(f);
	push_n(q, 50);
	struct ioca_record r;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		ioca_queue_ack(q, r.seq);
	}
	ioca_queue_close(q);
	char p[4200];
	snprintf(p, sizeof(p), "%s/cursor", f->dir);
	assert_int_equal(unlink(p), 0);

	q = open_spool(f);
	assert_non_null(q);
	assert_int_equal(ioca_queue_next_seq(q), 51);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_non_null(strstr(f->rep.last_corrupt_file, "cursor"));
	/* At least once: the acked ones come again, nothing is skipped. */
	assert_int_equal(drain_check(q, 1, 50, NULL, 0), 50);
	ioca_queue_close(q);

	/* Everything delivered, cursor deleted again: seq still continues. */
	assert_int_equal(unlink(p), 0);
	q = open_spool(f);
	assert_int_equal(ioca_queue_next_seq(q), 51);
	ioca_queue_close(q);
}

static void test_cursor_damaged(void **state)
{
	struct fixture *f = *state;
	fill(f, 30);
	flip(f->dir, "cursor", 9);
	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_non_null(strstr(f->rep.last_corrupt_file, "cursor"));
	assert_int_equal(ioca_queue_next_seq(q), 31);
	assert_int_equal(drain_check(q, 1, 30, NULL, 0), 30);
	ioca_queue_close(q);
}

/* Damage that appears while the spool runs is skipped when read. */
static void test_damage_while_running(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_spool(f);
	push_n(q, 20);
	char names[8][64];
	assert_int_equal(list_segments(f->dir, names, 8), 1);
	flip(f->dir, names[0], rec_off(4) + IOCA_SPOOL_REC_HDR_BYTES + 3); /* seq 5 */
	const uint64_t missing[] = {5};
	assert_int_equal(drain_check(q, 1, 20, missing, 1), 19);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_int_equal(f->rep.corrupt_bytes, record_disk_bytes());
	ioca_queue_close(q);
}

static uint64_t segment_base_seq(const char *dir, const char *name)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t b[8];
	assert_int_equal(pread(fd, b, sizeof b, 8), (ssize_t)sizeof b);
	close(fd);
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static void test_deleted_middle_segment_reported(void **state)
{
	struct fixture *f = *state;
	fill(f, 800); /* about 250 records per 64 KiB segment */
	char names[8][64];
	int n = list_segments(f->dir, names, 8);
	assert_true(n >= 3);
	/* the deleted file held the seqs between its neighbours' base seqs */
	uint64_t base1 = segment_base_seq(f->dir, names[1]);
	uint64_t base2 = segment_base_seq(f->dir, names[2]);
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", f->dir, names[1]);
	assert_int_equal(unlink(p), 0);

	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 1);
	assert_non_null(strstr(f->rep.last_corrupt_file, names[1]));
	struct ioca_record r;
	uint64_t want = 1, gap_lo = 0, gap_hi = 0, got = 0;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		if (r.seq != want) {
			assert_int_equal(gap_lo, 0); /* one gap only */
			gap_lo = want;
			gap_hi = r.seq - 1;
		}
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
		want = r.seq + 1;
		got++;
	}
	assert_int_equal(want, 801);
	assert_true(gap_lo + 1 >= base1 && gap_hi < base2 && gap_hi > gap_lo);
	/* every record that did not come is counted and reported as dropped */
	assert_int_equal(f->rep.dropped_records, 800 - got);
	assert_int_equal(f->rep.dropped_records, gap_hi - gap_lo + 1);
	/* and the damage report names the seqs that were lost */
	assert_int_equal(f->rep.lost_records, gap_hi - gap_lo + 1);
	assert_int_equal(f->rep.lost_first_seq, gap_lo);
	assert_int_equal(f->rep.lost_last_seq, gap_hi);
	ioca_queue_close(q);

	/* reported once: the next start finds nothing more */
	memset(&f->rep, 0, sizeof f->rep);
	q = open_spool(f);
	tick_now(q);
	assert_int_equal(f->rep.corrupt_calls, 0);
	assert_int_equal(f->rep.dropped_records, 0);
	ioca_queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_torn_tail_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flipped_payload_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flipped_length_and_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_mid_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_segment_set_aside, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor_damaged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage_while_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_middle_segment_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
