/*
 * Camera plugin against real network servers started by the test: the
 * GStreamer RTSP server of tests/tools (killed, stopped, restarted, dropping
 * clients), a TCP listener that never answers, and Python's HTTP server
 * (garbage, MPEG-TS, HLS, MJPEG).
 * Checks offline/online timing, stalls, descriptor and thread counts across
 * reconnects, stop latency mid-connect and that credentials never leak.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "camera_test_util.h"

#define READ_TIMEOUT_S 2.0
#define BACKOFF_MAX_S  2.0
#define JITTER         1.2
#define ONLINE_WAIT_MS 15000
#define RECONNECTS     20

static char dir[64];
static char clip[CT_PATH_MAX];

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	(void)state;
	ct_tmpdir(dir, sizeof dir);
	ct_make_clip(dir, "motion", "motion.mp4", "-a 30 -b 60 -d 6", clip, sizeof clip);
	return 0;
}

static int teardown(void **state)
{
	ct_reap(state);
	ct_rmdir(dir);
	return 0;
}

static int url_port(const char *url)
{
	const char *p = strrchr(url, ':');
	assert_non_null(p);
	return atoi(p + 1);
}

static struct ioca_harness *start_camera(const char *url, const char *extra)
{
	char opts[2048];
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; read_timeout = %g; open_timeout = 3.0; backoff_min = 0.5; "
		 "backoff_max = %g; frozen_seconds = 0.0; stats_interval = 0.0; %s",
		 url, READ_TIMEOUT_S, BACKOFF_MAX_S, extra ? extra : "");
	struct ioca_harness *h = ct_harness(opts);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	return h;
}

static void test_kill_and_restart(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	pid_t srv = ct_rtsp_start(clip, 0, NULL, url, sizeof url);
	struct ioca_harness *h = start_camera(url, NULL);
	const struct ioca_harness_record *on =
	    ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS);
	assert_non_null(on);
	assert_string_equal(ct_str(on, "codec"), "h264");
	assert_int_equal((int)ct_num(on, "width"), 320);
	assert_true(fabs(ct_num(on, "fps") - 15) < 0.01);
	/* The served clip moves from its frame 30 (2 s): motion over RTSP, paced. */
	const struct ioca_harness_record *ms = ioca_harness_wait_for(h, "motion.start", 8000);
	assert_non_null(ms);
	assert_true(ct_num(ms, "snapshot") == 1);
	assert_non_null(ioca_harness_wait_for(h, "snapshot", 1000));

	int64_t killed = mono_ms();
	ct_signal(srv, SIGKILL);
	const struct ioca_harness_record *off =
	    ioca_harness_wait_for(h, "camera.offline", (int64_t)(READ_TIMEOUT_S * 1000) + 3000);
	assert_non_null(off);
	assert_true(off->mono_ms - killed <= (int64_t)(READ_TIMEOUT_S * 1000) + 1000);
	const char *reason = ct_str(off, "reason");
	assert_true(strcmp(reason, "end_of_stream") == 0 || strcmp(reason, "read_error") == 0 ||
		    strcmp(reason, "read_timeout") == 0);
	/* An event open when the stream went away is closed. */
	assert_int_equal(ct_count(h, "motion.end"), ct_count(h, "motion.start"));

	srv = ct_rtsp_start(clip, url_port(url), NULL, url, sizeof url);
	int64_t ready = mono_ms();
	on = ioca_harness_wait_for_nth(h, "camera.online", 1, ONLINE_WAIT_MS);
	assert_non_null(on);
	/* One backoff step at most, plus connecting and probing. */
	assert_true(on->mono_ms - ready <= (int64_t)(BACKOFF_MAX_S * JITTER * 1000) + 2000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) < 1000);
	ioca_harness_free(h);
	ct_signal(srv, SIGKILL);
}

static void test_stalled_server(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	pid_t srv = ct_rtsp_start(clip, 0, NULL, url, sizeof url);
	struct ioca_harness *h = start_camera(url, "motion = false;");
	assert_non_null(ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS));
	usleep(500 * 1000);
	/* The connection stays open but nothing flows. */
	int64_t stopped = mono_ms();
	ct_signal(srv, SIGSTOP);
	const struct ioca_harness_record *fr =
	    ioca_harness_wait_for(h, "camera.frozen", (int64_t)(READ_TIMEOUT_S * 1000) + 3000);
	assert_non_null(fr);
	assert_string_equal(ct_str(fr, "reason"), "no_packets");
	if (fr->mono_ms - stopped > (int64_t)(READ_TIMEOUT_S * 1000) + 1000)
		fail_msg("camera.frozen %lld ms after the stall",
			 (long long)(fr->mono_ms - stopped));
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 1000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "read_timeout");
	usleep(1500 * 1000);
	ct_signal(srv, SIGCONT);
	assert_non_null(ioca_harness_wait_for_nth(h, "camera.online", 1, ONLINE_WAIT_MS));
	const struct ioca_harness_record *res = ioca_harness_wait_for(h, "camera.resumed", 5000);
	assert_non_null(res);
	assert_string_equal(ct_str(res, "reason"), "no_packets");
	assert_true(ct_num(res, "seconds") >= READ_TIMEOUT_S);
	assert_int_equal(ct_count(h, "camera.frozen"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	ct_signal(srv, SIGKILL);
}

static void test_reconnects_do_not_leak(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	pid_t srv = ct_rtsp_start(clip, 0, "1.5", url, sizeof url);
	int fds_before = ct_count_fds(), threads_before = ct_count_threads();
	char opts[1024];
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; read_timeout = 2.0; open_timeout = 3.0; backoff_min = 0.1; "
		 "backoff_max = 0.5; stats_interval = 0.0;",
		 url);
	struct ioca_harness *h = ct_harness(opts);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	assert_non_null(ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS));
	usleep(200 * 1000);
	int fds_first = ct_count_fds(), threads_first = ct_count_threads();
	const struct ioca_harness_record *last =
	    ioca_harness_wait_for_nth(h, "camera.online", RECONNECTS, 120000);
	assert_non_null(last);
	usleep(200 * 1000);
	int fds_last = ct_count_fds(), threads_last = ct_count_threads();
	fprintf(stderr, "fds %d -> %d -> %d, threads %d -> %d -> %d, offline %zu\n", fds_before,
		fds_first, fds_last, threads_before, threads_first, threads_last,
		ct_count(h, "camera.offline"));
	assert_true(fds_last <= fds_first);
	assert_true(threads_last <= threads_first);
	assert_true(ct_count(h, "camera.offline") >= RECONNECTS);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	assert_int_equal(ct_count_fds(), fds_before);
	assert_int_equal(ct_count_threads(), threads_before);
	ct_signal(srv, SIGKILL);
}

/* A listener that never accepts: connects complete, nothing is ever answered. */
static int mute_listener(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 16), 0);
	socklen_t l = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return s;
}

static void test_stop_mid_connect_and_secrets(void **state)
{
	(void)state;
	int port;
	int s = mute_listener(&port);
	char opts[1024];
	snprintf(opts, sizeof opts,
		 "url = \"rtsp://admin:s3cr3t@127.0.0.1:%d/live?token=t0k3n\"; open_timeout = 1.0; "
		 "backoff_min = 0.2; backoff_max = 0.4;",
		 port);
	struct ioca_harness *h = ct_harness(opts);
	int64_t t0 = mono_ms();
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 5000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "open_timeout");
	assert_true(off->mono_ms - t0 >= 900 && off->mono_ms - t0 <= 2000);
	const char *u = ct_str(off, "url");
	assert_non_null(strstr(u, "***@127.0.0.1"));
	assert_null(strstr(u, "s3cr3t"));
	assert_null(strstr(u, "t0k3n"));
	/* Keep retrying for a while, then stop in the middle of a connect. */
	usleep(1500 * 1000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) < 1000);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_DEBUG, "s3cr3t"), 0);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_DEBUG, "t0k3n"), 0);
	for (size_t i = 0; i < ioca_harness_count(h, NULL); i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		assert_null(r->json ? strstr(r->json, "s3cr3t") : NULL);
	}
	ioca_harness_free(h);

	/* Credentials from options, a long open timeout, stop 700 ms into the connect. */
	snprintf(opts, sizeof opts,
		 "url = \"rtsp://127.0.0.1:%d/live\"; username = \"op\"; password = \"pa55w0rd\"; "
		 "open_timeout = 60.0;",
		 port);
	h = ct_harness(opts);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	usleep(700 * 1000);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true(ioca_harness_stop_latency_ms(h) < 1000);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_DEBUG, "pa55w0rd"), 0);
	assert_int_equal(ct_count(h, "camera.online"), 0);
	ioca_harness_free(h);
	close(s);
}

static void test_udp_transport(void **state)
{
	(void)state;
	char url[CT_PATH_MAX];
	pid_t srv = ct_rtsp_start(clip, 0, NULL, url, sizeof url);
	struct ioca_harness *h = start_camera(url, "transport = \"udp\";");
	assert_non_null(ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS));
	const struct ioca_harness_record *ms = ioca_harness_wait_for(h, "motion.start", 8000);
	assert_non_null(ms);
	assert_true(ct_has_zone(ms, "all"));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	ct_signal(srv, SIGKILL);
}

static void test_http_inputs(void **state)
{
	(void)state;
	char ts[CT_PATH_MAX], cmd[CT_PATH_MAX * 2], line[256], portbuf[16], url[CT_PATH_MAX];
	ct_make_clip(dir, "motion", "motion.ts", "-a 30 -b 60 -d 6", ts, sizeof ts);
	/* Seeded random bytes (named .dat: a ".bin" name would select the binary-text demuxer). */
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 -c 'import random,sys; r=random.Random(7); "
		 "sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(200000)))' "
		 "> '%s/garbage.dat'",
		 dir);
	assert_int_equal(system(cmd), 0);
	int port = ct_free_port();
	snprintf(portbuf, sizeof portbuf, "%d", port);
	char *argv[] = {"/usr/bin/python3", "-u",        "-m",          "http.server", portbuf,
			"--bind",           "127.0.0.1", "--directory", dir,           NULL};
	pid_t srv = ct_spawn_ready(argv, line, sizeof line, 10000);
	assert_non_null(strstr(line, "Serving HTTP"));

	/* Garbage bytes over HTTP: a clean offline, no online. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/garbage.dat", port);
	struct ioca_harness *h = start_camera(url, NULL);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 10000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "open_failed");
	assert_string_equal(ct_str(off, "error"), "Invalid data found when processing input");
	assert_int_equal(ct_count(h, "camera.online"), 0);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);

	/* A missing path: open_failed with the HTTP error. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.ts", port);
	h = start_camera(url, NULL);
	off = ioca_harness_wait_for(h, "camera.offline", 10000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "open_failed");
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);

	/* MPEG-TS over HTTP: online, motion, and the end of the body is an end of stream. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/motion.ts", port);
	h = start_camera(url, NULL);
	assert_non_null(ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS));
	off = ioca_harness_wait_for(h, "camera.offline", 10000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);

	/* HLS (a VOD playlist of 1 s segments cut from the same clip). */
	snprintf(
	    cmd, sizeof cmd,
	    "ffmpeg -hide_banner -loglevel error -nostdin -y -i '%s' -c copy -f hls -hls_time 1 "
	    "-hls_playlist_type vod '%s/index.m3u8'",
	    ts, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/index.m3u8", port);
	h = start_camera(url, NULL);
	const struct ioca_harness_record *on =
	    ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS);
	assert_non_null(on);
	assert_string_equal(ct_str(on, "codec"), "h264");
	off = ioca_harness_wait_for(h, "camera.offline", 15000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);

	/* A raw MJPEG stream over HTTP. */
	char mj[CT_PATH_MAX];
	ct_make_clip(dir, "mjpeg", "motion.mjpeg", "-a 30 -b 60 -d 6", mj, sizeof mj);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/motion.mjpeg", port);
	h = start_camera(url, NULL);
	on = ioca_harness_wait_for(h, "camera.online", ONLINE_WAIT_MS);
	assert_non_null(on);
	assert_string_equal(ct_str(on, "codec"), "mjpeg");
	off = ioca_harness_wait_for(h, "camera.offline", 15000);
	assert_non_null(off);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	ct_signal(srv, SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_stop_mid_connect_and_secrets, ct_reap),
	    cmocka_unit_test_teardown(test_kill_and_restart, ct_reap),
	    cmocka_unit_test_teardown(test_stalled_server, ct_reap),
	    cmocka_unit_test_teardown(test_udp_transport, ct_reap),
	    cmocka_unit_test_teardown(test_http_inputs, ct_reap),
	    cmocka_unit_test_teardown(test_reconnects_do_not_leak, ct_reap),
	};
	if (getenv("CAMERA_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CAMERA_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
