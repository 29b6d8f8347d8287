/*
 * Camera plugin against hostile servers (tests/tools/hostile_camera.py): an
 * RTSP server answering an 8 MiB SDP with 2000 media sections and slow
 * SETUPs, and an MJPEG server claiming 16000x16000 pictures. Checks that
 * open_timeout bounds the open, that a stop is honoured mid-open, and that a
 * picture beyond max_pixels is refused as `too_large` before it costs memory.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "camera_test_util.h"

#define OPEN_TIMEOUT_S      3.0
#define DEADLINE_SLACK_MS   1000 /* a deadline is seen within FFmpeg's 100 ms poll, plus close */
#define STOP_LATENCY_MS     1000
#define OPEN_WAIT_MS        2000 /* into the open before the stop request */
#define LONG_OPEN_TIMEOUT_S 60.0
#define HUGE_SIDE           16000
/* One 16000x16000 picture is 375 MiB; what may grow is the stream's 20 MiB parts held by
 * the demuxer. AddressSanitizer keeps freed memory in its quarantine (256 MiB by default),
 * so there the bound is the picture itself. */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_GROWTH_MAX_KB (375 * 1024)
#else
#define MEMORY_GROWTH_MAX_KB (200 * 1024)
#endif
#define RETRY_WAIT_MS   10000
#define SERVER_READY_MS 20000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Peak resident set of this process (VmHWM), KiB. */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	assert_true(kb > 0);
	return kb;
}

static pid_t hostile_start(const char *mode, char *url, size_t len)
{
	const char *src = getenv("IOCA_SOURCE_DIR");
	char script[CT_PATH_MAX], line[CT_PATH_MAX];
	snprintf(script, sizeof script, "%s/tests/tools/hostile_camera.py", src ? src : ".");
	char *argv[] = {"/usr/bin/python3", script, "--mode", (char *)mode, NULL};
	pid_t pid = ct_spawn_ready(argv, line, sizeof line, SERVER_READY_MS);
	assert_int_equal(strncmp(line, "READY ", 6), 0);
	snprintf(url, len, "%s", line + 6);
	return pid;
}

static struct ioca_harness *start_camera(const char *url, double open_timeout_s)
{
	char opts[1024];
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; open_timeout = %g; read_timeout = 3.0; backoff_min = 0.5; "
		 "backoff_max = 1.0; frozen_seconds = 0.0; stats_interval = 0.0;",
		 url, open_timeout_s);
	struct ioca_harness *h = ct_harness(opts);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	return h;
}

static void test_huge_sdp_open_timeout(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	hostile_start("sdp", url, sizeof url);
	int64_t started = mono_ms();
	struct ioca_harness *h = start_camera(url, OPEN_TIMEOUT_S);
	const struct ioca_harness_record *off = ioca_harness_wait_for(
	    h, "camera.offline", (int64_t)(OPEN_TIMEOUT_S * 1000) + 10 * DEADLINE_SLACK_MS);
	assert_non_null(off);
	int64_t took = off->mono_ms - started;
	printf("huge SDP: camera.offline (%s) after %lld ms, open_timeout %g s\n",
	       ct_str(off, "reason"), (long long)took, OPEN_TIMEOUT_S);
	assert_true(took <= (int64_t)(OPEN_TIMEOUT_S * 1000) + DEADLINE_SLACK_MS);
	assert_int_equal(ct_count(h, "camera.online"), 0);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

static void test_huge_sdp_stop(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	hostile_start("sdp", url, sizeof url);
	struct ioca_harness *h = start_camera(url, LONG_OPEN_TIMEOUT_S);
	usleep(OPEN_WAIT_MS * 1000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	printf("huge SDP: stop took %lld ms\n", (long long)ioca_harness_stop_latency_ms(h));
	assert_true(ioca_harness_stop_latency_ms(h) < STOP_LATENCY_MS);
	ioca_harness_free(h);
}

static void test_huge_mjpeg_too_large(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	hostile_start("mjpeg", url, sizeof url);
	long before = peak_rss_kb();
	struct ioca_harness *h = start_camera(url, OPEN_TIMEOUT_S);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 15000);
	assert_non_null(off);
	printf("huge MJPEG: camera.offline reason %s, ", ct_str(off, "reason"));
	printf("error '%s', peak RSS +%ld KiB\n", ct_str(off, "error"), peak_rss_kb() - before);
	assert_string_equal(ct_str(off, "reason"), "too_large");
	char size[32];
	snprintf(size, sizeof size, "%dx%d", HUGE_SIDE, HUGE_SIDE);
	assert_non_null(strstr(ct_str(off, "error"), size));
	/* Reconnects keep being refused without decoding a picture, and the camera never
	 * counted as online (its size was never known to be acceptable). */
	int64_t until = mono_ms() + RETRY_WAIT_MS;
	while (ioca_harness_stat(h, "failures") < 2 && mono_ms() < until)
		usleep(100 * 1000);
	assert_true(ioca_harness_stat(h, "failures") >= 2);
	assert_int_equal(ct_count(h, "camera.online"), 0);
	assert_int_equal(ct_count(h, "camera.offline"), 1);
	printf("huge MJPEG: after %g failures peak RSS +%ld KiB (bound %d KiB)\n",
	       ioca_harness_stat(h, "failures"), peak_rss_kb() - before, MEMORY_GROWTH_MAX_KB);
	assert_true(peak_rss_kb() - before < MEMORY_GROWTH_MAX_KB);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_huge_sdp_open_timeout, ct_reap),
	    cmocka_unit_test_teardown(test_huge_sdp_stop, ct_reap),
	    cmocka_unit_test_teardown(test_huge_mjpeg_too_large, ct_reap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
