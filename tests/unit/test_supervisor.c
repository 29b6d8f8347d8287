/*
 * Unit tests of the supervisor against real worker processes: the agent
 * binary of this build (IOCA_BUILD_DIR/agent/iocagent) runs the sim and the
 * test plugins (crashy, floody) from IOCA_PLUGIN_DIR. The test drives the
 * supervisor the way the core loop does (pollfds, on_poll, reap, tick).
 *
 * Covered: what a worker sent before it exited is drained; max_rate throttles
 * by back-pressure without losing messages; restarts follow the backoff
 * (1 s doubling) and never start early; a core that stops looking for longer
 * than hang_timeout (a long reload) does not kill a healthy worker.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "diag.h"
#include "frame.h"
#include "log.h"
#include "supervisor.h"
#include "timeutil.h"

#define MAX_POLLFDS    16
#define POLL_SLICE_MS  20
#define MAX_FAILURES   16
#define HANG_TIMEOUT_S 3
#define FLOOD_RATE     20.0
#define FLOOD_RUN_MS   3000
#define START_WAIT_MS  5000

struct recorder {
	unsigned messages;
	unsigned ticks_before_failure;
	unsigned n_failures;
	char reasons[MAX_FAILURES][16];
	int exit_codes[MAX_FAILURES];
	double retry_in_s[MAX_FAILURES];
	int64_t failed_at_ms[MAX_FAILURES];
	unsigned messages_at_failure[MAX_FAILURES];
};

static void on_message(void *ctx, const struct ioca_sup_message *m)
{
	struct recorder *r = ctx;
	(void)m;
	r->messages++;
}

static void on_failure(void *ctx, const struct ioca_sup_failure *f)
{
	struct recorder *r = ctx;
	if (r->n_failures == MAX_FAILURES)
		return;
	unsigned i = r->n_failures++;
	snprintf(r->reasons[i], sizeof r->reasons[i], "%s", f->reason);
	r->exit_codes[i] = f->exit_code;
	r->retry_in_s[i] = f->retry_in_s;
	r->failed_at_ms[i] = ioca_now_mono_ms();
	r->messages_at_failure[i] = r->messages;
}

static const char *plugin_dir(void)
{
	const char *d = getenv("IOCA_PLUGIN_DIR");
	return d ? d : "plugins";
}

static const char *agent_binary(void)
{
	static char path[4096];
	const char *b = getenv("IOCA_BUILD_DIR");
	snprintf(path, sizeof path, "%s/agent/iocagent", b ? b : ".");
	return path;
}

static struct ioca_supervisor *start(const char *instances, struct recorder *r,
				     struct ioca_config *cfg)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "agent: { id = \"unit-sup\"; state_dir = \"/tmp\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://127.0.0.1:1\" ]; };\n"
		 "instances = ( %s );\n",
		 instances);
	struct ioca_diag diag = {0};
	int rc = ioca_config_load_string("test.conf", text, plugin_dir(), cfg, &diag);
	for (size_t i = 0; i < diag.count; i++)
		fprintf(stderr, "%s\n", diag.lines[i]);
	ioca_diag_clear(&diag);
	assert_int_equal(rc, IOCA_OK);
	struct ioca_sup_callbacks cb = {
	    .ctx = r, .on_message = on_message, .on_failure = on_failure};
	struct ioca_supervisor *s = ioca_supervisor_new(agent_binary(), &cb);
	assert_non_null(s);
	ioca_supervisor_apply(s, cfg);
	return s;
}

/* Run the supervisor as the core loop does, for `ms` milliseconds. */
static void pump(struct ioca_supervisor *s, int64_t ms)
{
	int64_t end = ioca_now_mono_ms() + ms;
	while (ioca_now_mono_ms() < end) {
		struct pollfd fds[MAX_POLLFDS];
		size_t n = ioca_supervisor_pollfds(s, fds, MAX_POLLFDS);
		int64_t now = ioca_now_mono_ms();
		int timeout = ioca_supervisor_timeout_ms(s, now);
		if (timeout > POLL_SLICE_MS)
			timeout = POLL_SLICE_MS;
		if (poll(fds, n, timeout) > 0)
			ioca_supervisor_on_poll(s, fds, n);
		ioca_supervisor_reap(s);
		ioca_supervisor_tick(s, ioca_now_mono_ms());
	}
}

static void stop(struct ioca_supervisor *s, struct ioca_config *cfg)
{
	ioca_supervisor_stop_all(s, 2000);
	int64_t end = ioca_now_mono_ms() + 4000;
	while (!ioca_supervisor_all_stopped(s) && ioca_now_mono_ms() < end)
		pump(s, POLL_SLICE_MS);
	assert_true(ioca_supervisor_all_stopped(s));
	ioca_supervisor_free(s);
	ioca_config_free(cfg);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void wait_running(struct ioca_supervisor *s, size_t want)
{
	int64_t end = ioca_now_mono_ms() + START_WAIT_MS;
	while (ioca_supervisor_running(s) < want && ioca_now_mono_ms() < end)
		pump(s, POLL_SLICE_MS);
	assert_int_equal(ioca_supervisor_running(s), want);
}

/* The core loop away for longer than hang_timeout (a long reload: the poll
 * returned for the signal only, then the loop ticks): not the worker's fault. */
static void test_core_stall_is_not_silence(void **state)
{
	(void)state;
	struct recorder r = {0};
	struct ioca_config cfg;
	struct ioca_supervisor *s =
	    start("{ name = \"s\"; plugin = \"sim\"; rate = 2.0; hang_timeout = 3; }", &r, &cfg);
	wait_running(s, 1);
	pump(s, 1500);
	sleep_ms(HANG_TIMEOUT_S * 1000 + 1500);
	ioca_supervisor_tick(s, ioca_now_mono_ms());
	pump(s, 1500);
	assert_int_equal(r.n_failures, 0);
	assert_int_equal(ioca_supervisor_running(s), 1);
	assert_true(r.messages > 0);
	stop(s, &cfg);
}

/* Restarts: 1 s, then 2 s, then 4 s, never sooner; what the worker sent
 * before it exited is taken (drained) before the failure is reported. */
static void test_restart_backoff_and_drain(void **state)
{
	(void)state;
	struct recorder r = {0};
	struct ioca_config cfg;
	struct ioca_supervisor *s = start("{ name = \"c\"; plugin = \"crashy\"; mode = \"exit\"; "
					  "events = 3; delay_ms = 0; }",
					  &r, &cfg);
	int64_t end = ioca_now_mono_ms() + 12000;
	while (r.n_failures < 3 && ioca_now_mono_ms() < end)
		pump(s, POLL_SLICE_MS);
	assert_int_equal(r.n_failures, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_string_equal(r.reasons[i], "exited");
		assert_int_equal(r.exit_codes[i], 3);
		/* 3 crashy.tick per run, all received before the run's failure */
		assert_int_equal(r.messages_at_failure[i], 3 * (i + 1));
	}
	assert_true(r.retry_in_s[0] >= 1.0 && r.retry_in_s[0] < 1.5);
	assert_true(r.retry_in_s[1] >= 2.0 && r.retry_in_s[1] < 3.0);
	assert_true(r.retry_in_s[2] >= 4.0 && r.retry_in_s[2] < 6.0);
	for (unsigned i = 0; i + 1 < 3; i++)
		assert_true(r.failed_at_ms[i + 1] - r.failed_at_ms[i] >=
			    (int64_t)(r.retry_in_s[i] * 1000.0));
	stop(s, &cfg);
}

/* max_rate: the flooding worker is held back, not cut off or killed. */
static void test_throttle(void **state)
{
	(void)state;
	struct recorder r = {0};
	struct ioca_config cfg;
	struct ioca_supervisor *s =
	    start("{ name = \"f\"; plugin = \"floody\"; max_rate = 20.0; }", &r, &cfg);
	wait_running(s, 1);
	unsigned before = r.messages;
	int64_t t0 = ioca_now_mono_ms();
	pump(s, FLOOD_RUN_MS);
	double secs = (double)(ioca_now_mono_ms() - t0) / 1000.0;
	unsigned got = r.messages - before;
	/* at most the rate plus one second of burst, and not starved */
	assert_true(got <= (unsigned)(FLOOD_RATE * (secs + 1.0)) + 1);
	assert_true(got >= (unsigned)(FLOOD_RATE * secs * 0.6));
	assert_int_equal(r.n_failures, 0);
	struct ioca_sup_instance_info info;
	ioca_supervisor_info(s, 0, &info);
	assert_string_equal(info.state, "running");
	stop(s, &cfg);
}

int main(void)
{
	ioca_log_init(IOCA_LL_WARNING);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_core_stall_is_not_silence),
	    cmocka_unit_test(test_restart_backoff_and_drain),
	    cmocka_unit_test(test_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
