/*
 * Spool benchmark (not a test): the disk spool in-process against the
 * memory queue as the baseline, measured in the same run on the same
 * records. Prints ratios; absolute rates on a shared machine are noise.
 *
 *   bench_spool [--dir DIR] [--records N] [--backlog M] [--payload BYTES] [--full F]
 *
 * 1. Throughput: records go through push -> next -> ack the way the core
 *    drives the queue: each loop turn pushes a burst (BURST records, as the
 *    frames read from workers in one poll), the publisher pulls while fewer
 *    than WINDOW are in flight, and the acks of the previous turn arrive
 *    (a broker answering within one turn). Per fsync mode and for the
 *    memory queue, alternating, median of RUNS.
 * 2. Bytes on disk per record relative to payload + topic.
 * 3. Backlog: M records pushed with nothing delivered (an outage), the
 *    spool closed and reopened (start-up scan of the backlog), then drained
 *    through the same window; RSS before/after shows memory does not grow
 *    with the backlog.
 * 4. Full spool: F records of a flooding instance and, one in 11, of a
 *    well-behaved one pushed into a 16 MiB spool with nothing delivered.
 *    CPU of fair eviction against dropping whole oldest segments (the
 *    bound before it) and against a spool that never fills, and what the
 *    well-behaved instance lost with each.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "spool.h"
#include "spool_format.h"

#define DEFAULT_RECORDS 200000
#define DEFAULT_BACKLOG 1000000
#define DEFAULT_FULL    300000
#define FULL_MAX_BYTES  (16LL << 20)
#define FULL_SEGMENT    (1LL << 20)
#define DEFAULT_PAYLOAD 200
#define BURST           32
#define WINDOW          64
#define RUNS            3
#define TOPIC           "ioc/dn-gianghia-01/sim-1/telemetry"
#define MEMQUEUE_BYTES  (4ULL << 30)
#define SPOOL_MAX_BYTES (8LL << 30)

static const char *bench_dir = "bench-spool.tmp";
static size_t payload_len = DEFAULT_PAYLOAD;
static char *payload;

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static uint64_t dir_allocated_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	uint64_t sum = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (de->d_name[0] != '.' && stat(p, &st) == 0)
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

static struct ioca_queue *open_queue(int mode)
{
	if (mode < 0)
		return ioca_memqueue_new(1, MEMQUEUE_BYTES);
	remove_dir(bench_dir);
	struct ioca_spool_config c = {.max_bytes = SPOOL_MAX_BYTES,
				      .fsync = (enum ioca_fsync_mode)mode,
				      .fsync_interval_ms = 200,
				      .inflight = WINDOW,
				      .memory_buffer_bytes = 8 << 20};
	char err[256];
	struct ioca_queue *q = ioca_spool_open(&c, bench_dir, NULL, err, sizeof(err));
	if (!q) {
		fprintf(stderr, "spool open %s: %s\n", bench_dir, err);
		exit(1);
	}
	return q;
}

static int push_one(struct ioca_queue *q)
{
	struct ioca_record r = {.seq = ioca_queue_next_seq(q),
				.kind = IOCA_RECORD_JSON,
				.qos = 1,
				.accepted_ms = 1764000000000LL,
				.topic = TOPIC,
				.payload = payload,
				.payload_len = payload_len};
	return ioca_queue_push(q, &r);
}

/* The publisher's side: what was handed out this turn, acked the next. */
struct pipe {
	uint64_t ring[WINDOW];
	size_t n;
	uint64_t acked;
	uint64_t checksum;
};

/* One loop turn of the publisher: acks for the previous turn arrive, then
 * next() while the window has room. */
static void turn(struct ioca_queue *q, struct pipe *p)
{
	/* The broker acks what was sent in the previous turn. */
	for (size_t i = 0; i < p->n; i++)
		ioca_queue_ack(q, p->ring[i]);
	p->acked += p->n;
	p->n = 0;
	struct ioca_record r;
	while (p->n < WINDOW && ioca_queue_next(q, &r) == IOCA_OK) {
		/* "Write it to the socket": touch the bytes. */
		const unsigned char *b = r.payload;
		p->checksum += b[0] + b[r.payload_len - 1] + (unsigned char)r.topic[0];
		p->ring[p->n++] = r.seq;
	}
}

static double run_throughput(int mode, uint64_t n)
{
	struct ioca_queue *q = open_queue(mode);
	struct pipe p = {0};
	uint64_t pushed = 0;
	double t0 = mono_s();
	while (p.acked < n) {
		for (int i = 0; i < BURST && pushed < n; i++, pushed++)
			push_one(q);
		turn(q, &p);
		ioca_queue_tick(q, (int64_t)(mono_s() * 1000));
	}
	double dt = mono_s() - t0;
	ioca_queue_close(q);
	return (double)n / dt;
}

static const char *mode_name(int mode)
{
	switch (mode) {
	case IOCA_FSYNC_ALWAYS:
		return "always";
	case IOCA_FSYNC_INTERVAL:
		return "interval";
	case IOCA_FSYNC_NEVER:
		return "never";
	default:
		return "memqueue";
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_throughput(uint64_t n)
{
	const int modes[] = {-1, IOCA_FSYNC_NEVER, IOCA_FSYNC_INTERVAL, IOCA_FSYNC_ALWAYS};
	const size_t nm = sizeof(modes) / sizeof(modes[0]);
	double rates[4][RUNS];
	for (int run = 0; run < RUNS; run++)
		for (size_t m = 0; m < nm; m++)
			rates[m][run] = run_throughput(modes[m], n);
	double med[4];
	for (size_t m = 0; m < nm; m++) {
		qsort(rates[m], RUNS, sizeof(double), cmp_double);
		med[m] = rates[m][RUNS / 2];
	}
	printf("\n## throughput: push -> next -> ack, %llu records of %zu bytes, burst %d, window "
	       "%d, median of %d\n",
	       (unsigned long long)n, payload_len, BURST, WINDOW, RUNS);
	printf("| queue | records/s | ratio to memqueue |\n|---|---|---|\n");
	for (size_t m = 0; m < nm; m++)
		printf("| %s | %.0f | %.2f |\n", mode_name(modes[m]), med[m], med[m] / med[0]);
}

static void bench_bytes_per_record(uint64_t n)
{
	struct ioca_queue *q = open_queue(IOCA_FSYNC_NEVER);
	for (uint64_t i = 0; i < n; i++)
		push_one(q);
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);
	ioca_queue_close(q);
	double logical = (double)n * (double)(payload_len + strlen(TOPIC));
	printf("\n## bytes on disk, %llu records, payload %zu + topic %zu bytes\n",
	       (unsigned long long)n, payload_len, strlen(TOPIC));
	printf("| measure | bytes per record | ratio to payload + topic |\n|---|---|---|\n");
	printf("| file sizes (stats.bytes) | %.1f | %.3f |\n", (double)st.bytes / (double)n,
	       (double)st.bytes / logical);
	uint64_t alloc = dir_allocated_bytes(bench_dir);
	printf("| allocated blocks | %.1f | %.3f |\n", (double)alloc / (double)n,
	       (double)alloc / logical);
	remove_dir(bench_dir);
}

static void bench_backlog(uint64_t m, uint64_t baseline_n)
{
	/* Baseline: draining the memory queue holding baseline_n records. */
	struct ioca_queue *mq = open_queue(-1);
	for (uint64_t i = 0; i < baseline_n; i++)
		push_one(mq);
	struct pipe bp = {0};
	double t0 = mono_s();
	while (bp.acked < baseline_n)
		turn(mq, &bp);
	double base_rate = (double)baseline_n / (mono_s() - t0);
	ioca_queue_close(mq);

	long rss0 = status_kib("VmRSS");
	struct ioca_queue *q = open_queue(IOCA_FSYNC_INTERVAL);
	t0 = mono_s();
	double c0 = cpu_s();
	for (uint64_t i = 0; i < m; i++) {
		push_one(q);
		if (i % 1024 == 0)
			ioca_queue_tick(q, (int64_t)(mono_s() * 1000));
	}
	double push_s = mono_s() - t0;
	double push_cpu = cpu_s() - c0;
	long rss_full = status_kib("VmRSS");
	ioca_queue_close(q);

	t0 = mono_s();
	struct ioca_spool_config c = {.max_bytes = SPOOL_MAX_BYTES,
				      .fsync = IOCA_FSYNC_INTERVAL,
				      .fsync_interval_ms = 200,
				      .inflight = WINDOW,
				      .memory_buffer_bytes = 8 << 20};
	char err[256];
	q = ioca_spool_open(&c, bench_dir, NULL, err, sizeof(err));
	if (!q) {
		fprintf(stderr, "reopen: %s\n", err);
		exit(1);
	}
	double open_s = mono_s() - t0;
	struct ioca_queue_stats st;
	ioca_queue_stats(q, &st);

	struct pipe p = {0};
	t0 = mono_s();
	c0 = cpu_s();
	while (p.acked < m) {
		turn(q, &p);
		ioca_queue_tick(q, (int64_t)(mono_s() * 1000));
	}
	double drain_s = mono_s() - t0;
	double drain_cpu = cpu_s() - c0;
	long rss_drained = status_kib("VmRSS");
	ioca_queue_stats(q, &st);
	ioca_queue_close(q);
	remove_dir(bench_dir);

	printf("\n## backlog of %llu records (an outage), fsync = interval\n",
	       (unsigned long long)m);
	printf("| step | seconds | records/s | CPU s |\n|---|---|---|---|\n");
	printf("| accept while nothing is delivered | %.2f | %.0f | %.2f |\n", push_s,
	       (double)m / push_s, push_cpu);
	printf("| reopen (start-up scan of the backlog) | %.2f | %.0f | |\n", open_s,
	       (double)m / open_s);
	printf("| drain through window %d | %.2f | %.0f | %.2f |\n", WINDOW, drain_s,
	       (double)m / drain_s, drain_cpu);
	printf("\ndrain rate / memqueue drain rate (%llu records) = %.2f\n",
	       (unsigned long long)baseline_n, ((double)m / drain_s) / base_rate);
	printf("RSS KiB: before %ld, with %llu records spooled %ld, after drain %ld; VmHWM %ld "
	       "(the memqueue "
	       "baseline of %llu records ran first)\n",
	       rss0, (unsigned long long)m, rss_full, rss_drained, status_kib("VmHWM"),
	       (unsigned long long)baseline_n);
	printf("segments left after drain: %llu, records left: %llu\n",
	       (unsigned long long)st.segments, (unsigned long long)st.records);
}

struct full_drops {
	uint64_t calm;
};

static void full_dropped(void *ctx, uint64_t records, uint64_t bytes,
			 const struct ioca_spool_instance_drops *by, size_t n_by)
{
	(void)records;
	(void)bytes;
	struct full_drops *d = ctx;
	for (size_t i = 0; i < n_by; i++)
		if (strcmp(by[i].instance, "calm") == 0)
			d->calm += by[i].records;
}

/* CPU seconds to push f records (10 flood : 1 calm) into a spool of
 * max_bytes; *calm_lost gets what the calm instance lost. */
static double run_full(uint64_t f, int64_t max_bytes, enum ioca_fsync_mode mode, bool evict,
		       uint64_t *calm_lost)
{
	remove_dir(bench_dir);
	struct ioca_spool_config c = {.max_bytes = max_bytes,
				      .segment_bytes = FULL_SEGMENT,
				      .fsync = mode,
				      .fsync_interval_ms = 200,
				      .inflight = WINDOW,
				      .memory_buffer_bytes = 8 << 20};
	struct full_drops d = {0};
	struct ioca_spool_callbacks cb = {.ctx = &d, .dropped = full_dropped};
	char err[256];
	struct ioca_queue *q = ioca_spool_open(&c, bench_dir, &cb, err, sizeof(err));
	if (!q) {
		fprintf(stderr, "spool open %s: %s\n", bench_dir, err);
		exit(1);
	}
	ioca_spool_evict_off = !evict;
	double c0 = cpu_s();
	for (uint64_t i = 0; i < f; i++) {
		struct ioca_record r = {.seq = ioca_queue_next_seq(q),
					.kind = IOCA_RECORD_JSON,
					.qos = 1,
					.accepted_ms = 1764000000000LL,
					.instance = i % 11 == 10 ? "calm" : "flood",
					.topic = TOPIC,
					.payload = payload,
					.payload_len = payload_len};
		ioca_queue_push(q, &r);
		if (i % 1024 == 0)
			ioca_queue_tick(q, (int64_t)(mono_s() * 1000));
	}
	double cpu = cpu_s() - c0;
	ioca_queue_tick(q, (int64_t)(mono_s() * 1000) + 2000);
	ioca_queue_close(q);
	ioca_spool_evict_off = false;
	remove_dir(bench_dir);
	*calm_lost = d.calm;
	return cpu;
}

static void bench_full(uint64_t f)
{
	static const enum ioca_fsync_mode modes[] = {IOCA_FSYNC_NEVER, IOCA_FSYNC_INTERVAL};
	static const char *mode_names[] = {"never", "interval"};
	printf("\n## full spool: %llu records (10 flood : 1 calm) into %lld MiB, segments %lld "
	       "MiB, nothing delivered; CPU s, median of %d\n",
	       (unsigned long long)f, FULL_MAX_BYTES >> 20, FULL_SEGMENT >> 20, RUNS);
	printf("| fsync | never full (baseline) | whole oldest segments dropped | fair eviction | "
	       "eviction / segment drop | eviction / baseline | calm lost: segment drop / "
	       "eviction |\n|---|---|---|---|---|---|---|\n");
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		double base[RUNS], seg[RUNS], ev[RUNS];
		uint64_t lost_seg = 0, lost_ev = 0, none;
		for (int r = 0; r < RUNS; r++) {
			base[r] = run_full(f, SPOOL_MAX_BYTES, modes[m], true, &none);
			seg[r] = run_full(f, FULL_MAX_BYTES, modes[m], false, &lost_seg);
			ev[r] = run_full(f, FULL_MAX_BYTES, modes[m], true, &lost_ev);
		}
		qsort(base, RUNS, sizeof(double), cmp_double);
		qsort(seg, RUNS, sizeof(double), cmp_double);
		qsort(ev, RUNS, sizeof(double), cmp_double);
		double b = base[RUNS / 2], sg = seg[RUNS / 2], e = ev[RUNS / 2];
		printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %llu / %llu |\n", mode_names[m],
		       b, sg, e, e / sg, e / b, (unsigned long long)lost_seg,
		       (unsigned long long)lost_ev);
	}
}

int main(int argc, char **argv)
{
	uint64_t records = DEFAULT_RECORDS, backlog = DEFAULT_BACKLOG, full = DEFAULT_FULL;
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},     {"records", required_argument, NULL, 'n'},
	    {"backlog", required_argument, NULL, 'm'}, {"payload", required_argument, NULL, 'p'},
	    {"full", required_argument, NULL, 'f'},    {NULL, 0, NULL, 0}};
	int ch;
	while ((ch = getopt_long(argc, argv, "d:n:m:p:f:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			bench_dir = optarg;
			break;
		case 'n':
			records = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			backlog = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			payload_len = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			full = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(
			    stderr,
			    "usage: %s [--dir DIR] [--records N] [--backlog M] [--payload BYTES] "
			    "[--full F]\n",
			    argv[0]);
			return 64;
		}
	}
	if (payload_len < 2)
		payload_len = 2;
	payload = malloc(payload_len);
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (char)('a' + i % 26);
	ioca_log_init(IOCA_LL_WARNING);
	printf("# bench_spool: dir %s\n", bench_dir);
	bench_throughput(records);
	bench_bytes_per_record(records);
	bench_backlog(backlog, records);
	if (full)
		bench_full(full);
	free(payload);
	return 0;
}
