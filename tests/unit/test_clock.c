/*
 * Clock quality: the watch's decisions on sample sequences, the test clock
 * source read from a file, the kernel source's plausibility, and the RFC 3339
 * parser the export's --from/--to go through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock_source.h"
#include "clock_watch.h"
#include "timeutil.h"

static struct ioca_clock_sample sample(bool synced, int64_t wall, int64_t boot)
{
	return (struct ioca_clock_sample){.synced = synced, .wall_ms = wall, .boot_ms = boot};
}

static void test_synced_start_is_quiet_unsynced_start_is_news(void **state)
{
	(void)state;
	struct ioca_clock_watch w = {0};
	struct ioca_clock_change ch;
	struct ioca_clock_sample s = sample(true, 1000000, 50);
	ioca_clock_watch_update(&w, &s, &ch);
	assert_false(ch.sync_changed);
	assert_false(ch.jumped);

	struct ioca_clock_watch u = {0};
	s = sample(false, 1000000, 50);
	ioca_clock_watch_update(&u, &s, &ch);
	assert_true(ch.sync_changed);
	assert_false(ch.synced);
}

static void test_sync_state_changes_are_reported_once(void **state)
{
	(void)state;
	struct ioca_clock_watch w = {0};
	struct ioca_clock_change ch;
	bool states[] = {false, false, true, true, false};
	bool changed[] = {true, false, true, false, true};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		struct ioca_clock_sample s =
		    sample(states[i], 1000000 + (int64_t)i * 1000, (int64_t)i * 1000);
		ioca_clock_watch_update(&w, &s, &ch);
		assert_int_equal(ch.sync_changed, changed[i]);
		assert_int_equal(ch.synced, states[i]);
		assert_false(ch.jumped);
	}
}

static void test_wall_clock_step_is_a_jump_slew_is_not(void **state)
{
	(void)state;
	struct ioca_clock_watch w = {0};
	struct ioca_clock_change ch;
	struct ioca_clock_sample s = sample(true, 1000000, 0);
	ioca_clock_watch_update(&w, &s, &ch);
	/* one second later, slewed by 0.5 ms: no jump */
	s = sample(true, 1001000, 999);
	ioca_clock_watch_update(&w, &s, &ch);
	assert_false(ch.jumped);
	/* stepped forward an hour */
	s = sample(true, 1002000 + 3600000, 2000);
	ioca_clock_watch_update(&w, &s, &ch);
	assert_true(ch.jumped);
	assert_int_equal(ch.jump_ms, 3600000 - 1); /* the last sample had slewed 1 ms */
	assert_int_equal(ch.to_wall_ms, 1002000 + 3600000);
	assert_int_equal(ch.from_wall_ms, 1002000 + 1);
	/* and back by two minutes */
	s = sample(true, 1003000 + 3600000 - 120000, 3000);
	ioca_clock_watch_update(&w, &s, &ch);
	assert_true(ch.jumped);
	assert_int_equal(ch.jump_ms, -120000);
	/* exactly at the threshold is still no jump */
	s = sample(true, 1004000 + 3600000 - 120000 + IOCA_CLOCK_JUMP_MS, 4000);
	ioca_clock_watch_update(&w, &s, &ch);
	assert_false(ch.jumped);
}

static void test_file_source_follows_the_file(void **state)
{
	(void)state;
	char path[] = "/tmp/ioca-clock-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct ioca_clock_source src;
	ioca_clock_source_file(&src, path);
	struct ioca_clock_sample s;

	FILE *f = fopen(path, "w");
	fputs("synced 0\noffset_ms 7200000\n", f);
	fclose(f);
	int64_t before = ioca_now_wall_ms();
	src.sample(&src, &s);
	assert_false(s.synced);
	assert_true(s.wall_ms - before >= 7200000 && s.wall_ms - before < 7200000 + 1000);

	f = fopen(path, "w");
	fputs("synced 1\n", f);
	fclose(f);
	src.sample(&src, &s);
	assert_true(s.synced);
	assert_true(s.wall_ms - ioca_now_wall_ms() < 1000);

	unlink(path);
	src.sample(&src, &s); /* missing file: synced, no offset */
	assert_true(s.synced);
}

static void test_default_source_is_chosen_by_the_environment(void **state)
{
	(void)state;
	struct ioca_clock_source storage;
	unsetenv(IOCA_TEST_CLOCK_ENV);
	assert_ptr_equal(ioca_clock_source_default(&storage), ioca_clock_source_kernel());
	setenv(IOCA_TEST_CLOCK_ENV, "/nonexistent/clock", 1);
	const struct ioca_clock_source *src = ioca_clock_source_default(&storage);
	assert_ptr_equal(src, &storage);
	assert_string_equal(src->path, "/nonexistent/clock");
	unsetenv(IOCA_TEST_CLOCK_ENV);
}

static void test_kernel_source_reads_real_clocks(void **state)
{
	(void)state;
	const struct ioca_clock_source *k = ioca_clock_source_kernel();
	struct ioca_clock_sample a, b;
	k->sample(k, &a);
	usleep(20000);
	k->sample(k, &b);
	assert_true(b.boot_ms - a.boot_ms >= 20);
	assert_true(b.wall_ms - a.wall_ms >= 19);
	assert_true(llabs(a.wall_ms - ioca_now_wall_ms()) < 1000);
}

static void test_rfc3339_parse(void **state)
{
	(void)state;
	int64_t t = 0;
	assert_int_equal(ioca_parse_rfc3339("2026-11-25T15:30:01.123Z", &t), 0);
	assert_int_equal(t, 1795620601123LL);
	assert_int_equal(ioca_parse_rfc3339("2026-11-25T22:30:01.123+07:00", &t), 0);
	assert_int_equal(t, 1795620601123LL);
	assert_int_equal(ioca_parse_rfc3339("2026-11-25 15:30:01z", &t), 0);
	assert_int_equal(t, 1795620601000LL);
	assert_int_equal(ioca_parse_rfc3339("2024-02-29T00:00:00.5-00:30", &t), 0);
	assert_int_equal(t, 1709166600500LL);
	char buf[IOCA_RFC3339_LEN];
	assert_int_equal(
	    ioca_parse_rfc3339(ioca_format_rfc3339(1795620601123LL, buf, sizeof buf), &t), 0);
	assert_int_equal(t, 1795620601123LL);
	const char *bad[] = {"",
			     "2026-11-25",
			     "2026-11-25T15:30:01",
			     "2026-13-01T00:00:00Z",
			     "2025-02-29T00:00:00Z",
			     "2026-11-25T24:00:00Z",
			     "2026-11-25T15:30:01.Z",
			     "2026-11-25T15:30:01Zjunk",
			     "2026-11-25T15:30:01+7:00",
			     "1969-12-31T23:59:59Z",
			     "1970-01-01T00:00:00+07:00", /* found by fuzz_rfc3339: before 1970 */
			     "9999-12-31T23:59:59-00:01",
			     "yesterday"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ioca_parse_rfc3339(bad[i], &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synced_start_is_quiet_unsynced_start_is_news),
	    cmocka_unit_test(test_sync_state_changes_are_reported_once),
	    cmocka_unit_test(test_wall_clock_step_is_a_jump_slew_is_not),
	    cmocka_unit_test(test_file_source_follows_the_file),
	    cmocka_unit_test(test_default_source_is_chosen_by_the_environment),
	    cmocka_unit_test(test_kernel_source_reads_real_clocks),
	    cmocka_unit_test(test_rfc3339_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
