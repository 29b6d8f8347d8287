/*
 * Unit tests of the spool on a disk that refuses writes. Where the test may
 * mount (root, or a user namespace allowing it), the spool lives on a real
 * 512 KiB tmpfs mounted in a private mount namespace and really fills it;
 * otherwise (or with IOCA_TEST_SPOOL_SEAM=1) the spool's write seam makes
 * every write fail with ENOSPC. The test prints which one ran.
 *
 * Checked: the spool keeps accepting, says degraded with the reason, holds
 * new records in the bounded memory fallback with counted drops, resumes
 * writing to disk when space returns (records from memory moved to disk in
 * order), and every record that was not counted as dropped is delivered
 * once, in order. Also: opening on a disk that refuses writes, and EROFS.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "test_spool_util.h"

#define FS_SIZE_OPTION "size=512k"
#define MEMORY_BYTES   (64 * 1024)
#define MAX_PUSHES     100000
#define LATER_MS       5000

static bool use_tmpfs;

struct fixture {
	char *dir;
	struct test_reports rep;
	struct ioca_spool_callbacks cb;
	struct ioca_spool_config cfg;
};

static int group_setup(void **state)
{
	(void)state;
	const char *force = getenv("IOCA_TEST_SPOOL_SEAM");
	if (force && strcmp(force, "1") == 0) {
		use_tmpfs = false;
	} else if (unshare(CLONE_NEWNS) == 0 &&
		   mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		use_tmpfs = true;
	}
	fprintf(stderr, "[ disk full ] %s\n",
		use_tmpfs ? "real 512 KiB tmpfs in a private mount namespace"
			  : "write seam failing every write with ENOSPC (no mount here, or "
			    "IOCA_TEST_SPOOL_SEAM=1)");
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = make_dir();
	f->cb = tr_callbacks(&f->rep);
	f->cfg = test_config(IOCA_FSYNC_INTERVAL);
	f->cfg.segment_bytes = 64 * 1024;
	f->cfg.memory_buffer_bytes = MEMORY_BYTES;
	*state = f;
	if (!f->dir)
		return -1;
	if (use_tmpfs) {
		mkdir(f->dir, 0750);
		if (mount("tmpfs", f->dir, "tmpfs", MS_NOSUID | MS_NODEV, FS_SIZE_OPTION) != 0) {
			fprintf(stderr, "mount tmpfs: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ioca_spool_fail_writes_errno = 0;
	if (use_tmpfs)
		umount2(f->dir, MNT_DETACH);
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

static bool degraded(struct ioca_queue *q)
{
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	return st.degraded;
}

/* Each call is LATER_MS after the previous one: past any retry delay. */
static void later_tick(struct ioca_queue *q)
{
	static int64_t later;
	later += LATER_MS;
	ioca_queue_tick(q, ioca_now_mono_ms() + later);
}

static void test_disk_full_and_recovery(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_spool(f);
	assert_non_null(q);

	/* Fill the disk (or, with the seam, pretend to after 500 records). */
	uint64_t pushed = 0;
	while (!degraded(q) && pushed < MAX_PUSHES) {
		if (!use_tmpfs && pushed == 500)
			ioca_spool_fail_writes_errno = ENOSPC;
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), ioca_now_wall_ms()), IOCA_OK);
		pushed++;
	}
	assert_true(degraded(q));
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_non_null(strstr(st.degraded_reason, "No space left on device"));
	uint64_t on_disk = st.records - st.memory_records;
	assert_int_equal(st.memory_records, 1);
	assert_int_equal(on_disk + 1, pushed);
	if (use_tmpfs)
		assert_true(st.disk_bytes > 300 * 1024 && st.disk_bytes <= 512 * 1024);
	tick_now(q);
	assert_int_equal(f->rep.degraded_calls, 1);
	assert_true(f->rep.degraded);
	assert_non_null(strstr(f->rep.degraded_reason, "No space left on device"));

	/* Keep accepting: memory holds what fits, the oldest go (counted). */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), ioca_now_wall_ms()), IOCA_OK);
		pushed++;
	}
	ioca_queue_stats(q, &st);
	assert_true(st.degraded);
	assert_true(st.dropped_records > 500);
	assert_true(st.memory_records > 50);
	assert_int_equal(st.records + st.dropped_records, pushed);
	later_tick(q); /* the retry is scheduled ... */
	later_tick(q); /* ... and fails: still full */
	assert_true(degraded(q));
	assert_int_equal(f->rep.dropped_records, st.dropped_records);

	/* Deliver half of what is on disk: whole segments go, space returns. */
	struct ioca_record r;
	uint64_t want = 1, got = 0;
	for (uint64_t i = 0; i < on_disk / 2; i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want);
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
		want++;
		got++;
	}
	if (!use_tmpfs)
		ioca_spool_fail_writes_errno = 0;
	later_tick(q);
	ioca_queue_stats(q, &st);
	if (st.degraded)
		fprintf(stderr, "still degraded: %s\n", st.degraded_reason);
	assert_false(st.degraded);
	assert_int_equal(st.memory_records, 0);
	assert_int_equal(f->rep.degraded_calls, 2);
	assert_false(f->rep.degraded);
	uint64_t dropped = st.dropped_records;

	/* New records go to disk again, after the ones moved from memory. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(push_at(q, ioca_queue_next_seq(q), ioca_now_wall_ms()), IOCA_OK);
		pushed++;
	}
	ioca_queue_stats(q, &st);
	assert_false(st.degraded);
	assert_int_equal(st.memory_records, 0);

	/* Everything not counted as dropped comes, in order, once. The drops
	 * are the oldest of those held in memory: one contiguous gap. */
	uint64_t gaps = 0, gap_len = 0;
	while (ioca_queue_next(q, &r) == IOCA_OK) {
		assert_true(r.seq >= want);
		assert_true(record_ok(&r));
		if (r.seq != want) {
			gaps++;
			gap_len += r.seq - want;
		}
		want = r.seq + 1;
		ioca_queue_ack(q, r.seq);
		got++;
	}
	assert_int_equal(want, pushed + 1);
	assert_int_equal(gaps, 1);
	assert_int_equal(gap_len, dropped);
	assert_int_equal(got + dropped, pushed);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.records, 0);
	ioca_queue_close(q);
}

/* Writes refused from the start: the spool opens, holds in memory, and
 * moves the records to disk once writes work. */
static void test_open_on_refusing_disk(void **state)
{
	struct fixture *f = *state;
	struct ioca_queue *q = open_spool(f);
	push_n(q, 10);
	ioca_queue_close(q);

	ioca_spool_fail_writes_errno = EROFS;
	q = open_spool(f);
	assert_non_null(q);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	assert_true(st.degraded);
	assert_non_null(strstr(st.degraded_reason, "Read-only file system"));
	assert_int_equal(ioca_queue_next_seq(q), 11);
	push_n(q, 5);
	ioca_queue_stats(q, &st);
	assert_int_equal(st.memory_records, 5);
	assert_int_equal(st.records, 15);

	/* Records on disk and in memory come out in order meanwhile. */
	struct ioca_record r;
	for (uint64_t s = 1; s <= 12; s++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, s);
		assert_true(record_ok(&r));
	}
	ioca_queue_ack(q, 11); /* out of order, from memory */
	ioca_spool_fail_writes_errno = 0;
	later_tick(q); /* schedules the retry */
	later_tick(q); /* retries */
	ioca_queue_stats(q, &st);
	assert_false(st.degraded);
	assert_int_equal(st.memory_records, 0);
	/* The publish of 1..10 and 12 failed: the rest comes again, 11 not. */
	ioca_queue_rewind(q);
	uint64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(ioca_queue_next(q, &r), IOCA_OK);
		assert_int_equal(r.seq, want[i]);
		assert_true(record_ok(&r));
		ioca_queue_ack(q, r.seq);
	}
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);

	/* 13..15 were moved to disk: nothing is left after a reopen. */
	q = open_spool(f);
	assert_int_equal(ioca_queue_next_seq(q), 16);
	assert_int_equal(ioca_queue_next(q, &r), IOCA_AGAIN);
	ioca_queue_close(q);
}

/* A directory that cannot be created at all is the one failure of open. */
static void test_unusable_dir_fails_open(void **state)
{
	struct fixture *f = *state;
	char path[4200];
	snprintf(path, sizeof(path), "%s/file", f->dir);
	mkdir(f->dir, 0750);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	char sub[4300];
	snprintf(sub, sizeof(sub), "%s/spool", path);
	char err[256] = "";
	struct ioca_queue *q = ioca_spool_open(&f->cfg, sub, &f->cb, err, sizeof(err));
	assert_null(q);
	assert_non_null(strstr(err, "Not a directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_disk_full_and_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_on_refusing_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unusable_dir_fails_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
