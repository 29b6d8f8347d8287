/*
 * Modbus sensor benchmark, in-process part: 50 Modbus TCP devices x 20
 * registers polled every second from the local libmodbus test server.
 *
 *   bench_modbus SERVER_BIN PLUGIN_DIR [SECONDS]
 *
 * Phase 1 (baseline): a bare libmodbus loop issuing the same requests (one
 * 20-register read per device per second) from this process. Phase 2: the
 * modbus plugin (ioca_sensorlib, a rule per device, telemetry every second)
 * under the in-process harness. CPU of this process is measured over each
 * phase; the server is another process and is not
 * counted (getrusage of this process, microsecond resolution). Phase 3: poll-to-event latency of a
 * threshold crossing: the server stamps the wall time of the answer that carries the crossing
 * value, the harness the time it received the event.
 *
 * Prints figures; asserts nothing (a benchmark, not a test).
 */
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h>

#include "plugin_harness.h"

#define DEVICES         50
#define REGISTERS       20
#define POLL_MS         1000
#define DEFAULT_SECONDS 30
#define LATENCY_ROUNDS  20
#define RULE_HIGH       1000
#define VALUE_NORMAL    500
#define VALUE_HIGH      1500
#define EVENT_WAIT_MS   5000
#define OPTS_MAX        (256 * 1024)
#define LINE_MAX_LEN    256

extern char **environ;

struct server {
	pid_t pid;
	FILE *in, *out;
	int port;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* User + system CPU time of this process (all threads) in microseconds. */
static long long cpu_ticks(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static const char *cmd(struct server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *cmd(struct server *s, const char *fmt, ...)
{
	static char line[LINE_MAX_LEN];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(s->in, fmt, ap);
	va_end(ap);
	fputc('\n', s->in);
	fflush(s->in);
	if (!fgets(line, sizeof line, s->out))
		return "";
	return line;
}

static int server_start(struct server *s, const char *bin)
{
	int to[2], from[2];
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)bin, (char *)"tcp", (char *)"0", NULL};
	char line[LINE_MAX_LEN];

	if (pipe(to) || pipe(from))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addclose(&fa, to[1]);
	posix_spawn_file_actions_addclose(&fa, from[0]);
	if (posix_spawn(&s->pid, bin, &fa, NULL, argv, environ) != 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	s->in = fdopen(to[1], "w");
	s->out = fdopen(from[0], "r");
	if (!s->in || !s->out || !fgets(line, sizeof line, s->out) ||
	    sscanf(line, "READY tcp %d", &s->port) != 1)
		return -1;
	return 0;
}

static double cpu_pct(long long ticks, int64_t ms)
{
	return 100.0 * ((double)ticks / 1e6) / ((double)ms / 1000.0);
}

/* Phase 1: the same requests from a bare libmodbus loop. */
static double baseline(int port, int seconds)
{
	modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
	uint16_t regs[REGISTERS];
	long long t0;
	int64_t start, next;
	long errors = 0;

	if (!ctx || modbus_connect(ctx) != 0) {
		fprintf(stderr, "baseline: cannot connect\n");
		return -1;
	}
	t0 = cpu_ticks();
	start = next = mono_ms();
	while (mono_ms() - start < (int64_t)seconds * 1000) {
		struct timespec ts;
		int64_t wait;

		for (int d = 1; d <= DEVICES; d++) {
			modbus_set_slave(ctx, d);
			if (modbus_read_registers(ctx, 0, REGISTERS, regs) != REGISTERS)
				errors++;
		}
		next += POLL_MS;
		wait = next - mono_ms();
		if (wait > 0) {
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
	}
	modbus_close(ctx);
	modbus_free(ctx);
	if (errors)
		fprintf(stderr, "baseline: %ld failed requests\n", errors);
	return cpu_pct(cpu_ticks() - t0, mono_ms() - start);
}

static void build_options(char *buf, size_t len, int port)
{
	size_t n =
	    (size_t)snprintf(buf, len,
			     "host = \"127.0.0.1\"; port = %d; poll_interval = 1.0;"
			     "timeout_ms = 500; publish_interval = 1.0; aggregate = \"last\";"
			     "rules = (",
			     port);

	for (int d = 1; d <= DEVICES; d++)
		n += (size_t)snprintf(buf + n, len - n,
				      "%s{ reading = \"d%d_r0\"; high = %d.0; high_clear = %d.0; }",
				      d > 1 ? "," : "", d, RULE_HIGH, RULE_HIGH - 100);
	n += (size_t)snprintf(buf + n, len - n, "); devices = (");
	for (int d = 1; d <= DEVICES; d++) {
		n += (size_t)snprintf(buf + n, len - n,
				      "%s{ name = \"dev%d\"; unit_id = %d; registers = (",
				      d > 1 ? "," : "", d, d);
		for (int r = 0; r < REGISTERS; r++)
			n += (size_t)snprintf(
			    buf + n, len - n,
			    "%s{ name = \"d%d_r%d\"; address = %d; scale = 0.1; unit = \"u\"; }",
			    r ? "," : "", d, r, r);
		n += (size_t)snprintf(buf + n, len - n, "); }");
	}
	snprintf(buf + n, len - n, ");");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct server srv;
	char so[1024], err[4096];
	char *opts = malloc(OPTS_MAX);
	int seconds = argc > 3 ? atoi(argv[3]) : DEFAULT_SECONDS;
	struct ioca_harness *h;
	double base, plug;
	long long t0;
	int64_t start, lat[LATENCY_ROUNDS], offset;
	int got = 0;

	if (argc < 3 || !opts) {
		fprintf(stderr, "usage: %s SERVER_BIN PLUGIN_DIR [SECONDS]\n", argv[0]);
		return 64;
	}
	if (server_start(&srv, argv[1]) != 0) {
		fprintf(stderr, "cannot start %s\n", argv[1]);
		return 1;
	}
	for (int d = 1; d <= DEVICES; d++) {
		char values[LINE_MAX_LEN] = "";
		size_t n = 0;

		for (int r = 0; r < REGISTERS; r++)
			n += (size_t)snprintf(values + n, sizeof values - n, " %d",
					      VALUE_NORMAL + r);
		cmd(&srv, "set %d holding 0%s", d, values);
	}
	printf("modbus: %d TCP devices x %d registers, poll every %d ms, %d s per phase\n", DEVICES,
	       REGISTERS, POLL_MS, seconds);
	base = baseline(srv.port, seconds);
	printf("baseline  bare libmodbus loop, same requests:   cpu %.3f %% of one core\n", base);

	build_options(opts, OPTS_MAX, srv.port);
	snprintf(so, sizeof so, "%s/modbus.so", argv[2]);
	h = ioca_harness_new(so, opts, err, sizeof err);
	if (!h || ioca_harness_start(h) != IOCA_OK) {
		fprintf(stderr, "plugin: %s\n", err);
		return 1;
	}
	ioca_harness_wait_for(h, "telemetry", EVENT_WAIT_MS);
	t0 = cpu_ticks();
	start = mono_ms();
	sleep((unsigned)seconds);
	plug = cpu_pct(cpu_ticks() - t0, mono_ms() - start);
	printf("plugin    modbus.so + sensorlib + harness:        cpu %.3f %% of one core "
	       "(ratio to baseline %.2f; %zu telemetry messages, %.0f requests)\n",
	       plug, base > 0 ? plug / base : 0.0, ioca_harness_count(h, "telemetry"),
	       ioca_harness_stat(h, "requests"));

	/* Phase 3: threshold latency on device 1, register 0 (rule high 100.0 after scale 0.1). */
	offset = wall_ms() - mono_ms();
	for (int i = 0; i < LATENCY_ROUNDS; i++) {
		bool up = i % 2 == 0;
		const char *type = up ? "threshold.exceeded" : "threshold.cleared";
		size_t before = ioca_harness_count(h, type);
		const struct ioca_harness_record *r;
		int64_t mark = 0;

		cmd(&srv, "setmark 1 holding 0 %d", up ? RULE_HIGH * 10 + 5000 : VALUE_NORMAL);
		r = ioca_harness_wait_for_nth(h, type, before, EVENT_WAIT_MS);
		if (!r)
			continue;
		sscanf(cmd(&srv, "getmark 1"), "MARK %" SCNd64, &mark);
		if (mark > 0)
			lat[got++] = r->mono_ms + offset - mark;
	}
	ioca_harness_stop(h);
	ioca_harness_free(h);
	if (got) {
		qsort(lat, (size_t)got, sizeof lat[0], cmp_i64);
		printf("latency   answer carrying the crossing -> threshold event received: median "
		       "%" PRId64 " ms, max %" PRId64 " ms over %d events\n",
		       lat[got / 2], lat[got - 1], got);
	}
	cmd(&srv, "quit");
	waitpid(srv.pid, NULL, 0);
	free(opts);
	return 0;
}
