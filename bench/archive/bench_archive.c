/*
 * Archive benchmark (not a test). Prints, for DAYS days of one telemetry
 * message a minute with READINGS readings each (the retention figure of
 * Circular 10/2021/TT-BTNMT: 60 days, about 4.3 M readings):
 *   - bytes on disk per reading, and the archive's size against 1 GiB;
 *   - the archive's CPU (hand-off on the caller's thread + the writer
 *     thread) against the agent's own per-message work for the same
 *     messages measured in the same run: building the envelope and
 *     pushing/acking it through the real disk spool (a part of what the
 *     agent spends per message, so the ratio is an upper bound);
 *   - CPU seconds of exporting one day (JSON lines and CSV), median of
 *     EXPORT_RUNS, against the 2 s figure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "envelope.h"
#include "spool.h"
#include "timeutil.h"

#define DAYS            60
#define READINGS        50
#define INTERVAL_MS     60000LL
#define DAY_MS          (86400LL * 1000)
#define GIB             (1024.0 * 1024 * 1024)
#define EXPORT_RUNS     5
#define EXPORT_BUDGET_S 2.0
#define SYNC_EVERY      1000
#define SYNC_TIMEOUT_MS 120000

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The data of message n: READINGS readings, values like an analyser's. */
static size_t make_data(char *buf, size_t len, uint64_t n)
{
	static const char *const units[] = {"ug/m3", "mg/m3", "ppm", "Cel", "%", "hPa", "m/s"};
	size_t off = (size_t)snprintf(buf, len, "{\"readings\":[");
	for (int i = 0; i < READINGS; i++) {
		double v = (double)((n * 7919 + (uint64_t)i * 104729) % 100000) / 100.0;
		off += (size_t)snprintf(buf + off, len - off,
					"%s{\"name\":\"param_%02d\",\"value\":%.2f,\"unit\":\"%s\","
					"\"status\":\"%s\"}",
					i ? "," : "", i, v, units[i % 7],
					n % 500 == 0 ? "calibrating" : "ok");
	}
	off += (size_t)snprintf(buf + off, len - off, "]}");
	return off;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *dir = argc == 3 && strcmp(argv[1], "--dir") == 0 ? argv[2] : NULL;
	if (!dir) {
		fprintf(stderr, "usage: bench_archive --dir DIR (an empty folder)\n");
		return 64;
	}
	char path[512], spool_dir[512], err[256] = "";
	snprintf(path, sizeof path, "%s/%s", dir, IOCA_ARCHIVE_FILE);
	snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
	mkdir(spool_dir, 0750);
	const uint64_t n = (uint64_t)DAYS * DAY_MS / INTERVAL_MS;
	const int64_t start = ioca_now_wall_ms() - (int64_t)DAYS * DAY_MS;

	struct ioca_archive_settings set = {.max_age_ms = (DAYS + 1) * DAY_MS,
					    .max_bytes = (int64_t)(4 * GIB)};
	struct ioca_archive *a = ioca_archive_open(path, &set, NULL, err, sizeof err);
	struct ioca_spool_config scfg = {.max_bytes = (int64_t)(4 * GIB),
					 .fsync = IOCA_FSYNC_INTERVAL,
					 .fsync_interval_ms = 200,
					 .inflight = 64,
					 .segment_bytes = 16 * 1024 * 1024};
	struct ioca_queue *spool = ioca_spool_open(&scfg, spool_dir, NULL, err, sizeof err);
	if (!a || !spool) {
		fprintf(stderr, "bench_archive: %s\n", err);
		return 1;
	}

	static char data[READINGS * 96 + 64];
	struct ioca_buf env = {0};
	struct ioca_envelope_ctx ctx = {.agent_id = "dn-gianghia-01"};
	double agent_cpu = 0, add_cpu = 0;
	uint64_t json_bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t dlen = make_data(data, sizeof data, i);
		uint64_t seq = ioca_queue_next_seq(spool);
		struct ioca_envelope_event ev = {.seq = seq,
						 .time_ms = start + (int64_t)i * INTERVAL_MS,
						 .source = "aq-station-1",
						 .plugin = "modbus",
						 .type = "telemetry",
						 .data = data,
						 .data_len = dlen};
		/* baseline: what the agent does with every message anyway */
		double t0 = thread_cpu();
		ioca_envelope_build(&env, &ctx, &ev);
		struct ioca_record rec = {.seq = seq,
					  .qos = 1,
					  .accepted_ms = ev.time_ms,
					  .topic = "ioc/dn-gianghia-01/aq-station-1/telemetry",
					  .payload = env.p,
					  .payload_len = env.len};
		ioca_queue_push(spool, &rec);
		struct ioca_record out;
		while (ioca_queue_next(spool, &out) == IOCA_OK)
			ioca_queue_ack(spool, out.seq);
		ioca_queue_tick(spool, ioca_now_mono_ms());
		double t1 = thread_cpu();
		/* the archive's share on the core thread */
		char id[64];
		snprintf(id, sizeof id, "dn-gianghia-01:%" PRIu64, seq);
		struct ioca_archive_msg m = {.seq = seq,
					     .time_ms = ev.time_ms,
					     .id = id,
					     .source = ev.source,
					     .plugin = ev.plugin,
					     .type = ev.type,
					     .clock_synced = true,
					     .data = data,
					     .data_len = dlen};
		ioca_archive_add(a, &m);
		double t2 = thread_cpu();
		agent_cpu += t1 - t0;
		add_cpu += t2 - t1;
		json_bytes += env.len;
		if ((i + 1) % SYNC_EVERY == 0)
			ioca_archive_sync(a, SYNC_TIMEOUT_MS);
	}
	ioca_archive_sync(a, SYNC_TIMEOUT_MS);
	struct ioca_archive_stats st;
	ioca_archive_stats(a, &st);
	ioca_archive_close(a);
	ioca_queue_close(spool);
	ioca_buf_free(&env);

	struct stat sb;
	stat(path, &sb);
	double readings = (double)n * READINGS;
	double archive_cpu = add_cpu + st.writer_cpu_s;
	printf("messages: %" PRIu64 " (%d days, one a minute), readings: %.0f, written: %" PRIu64
	       ", dropped: %" PRIu64 "\n",
	       n, DAYS, readings, st.written, st.dropped);
	printf("archive file: %lld bytes = %.1f bytes/reading; %.3f of 1 GiB\n",
	       (long long)sb.st_size, (double)sb.st_size / readings, (double)sb.st_size / GIB);
	printf("published envelopes: %" PRIu64 " bytes = %.1f bytes/reading; archive/envelopes "
	       "= %.3f\n",
	       json_bytes, (double)json_bytes / readings, (double)sb.st_size / (double)json_bytes);
	printf("cpu: archive %.3f s (hand-off %.3f + writer %.3f), baseline envelope+spool "
	       "%.3f s; ratio archive/baseline = %.3f\n",
	       archive_cpu, add_cpu, st.writer_cpu_s, agent_cpu, archive_cpu / agent_cpu);

	/* export of one day in the middle of the range */
	struct ioca_archive_range r = {.from_ms = start + 30 * DAY_MS,
				       .to_ms = start + 31 * DAY_MS};
	const char *names[] = {"jsonl", "csv"};
	for (int f = 0; f < 2; f++) {
		double cpu[EXPORT_RUNS];
		long exported = 0;
		for (int k = 0; k < EXPORT_RUNS; k++) {
			FILE *null = fopen("/dev/null", "w");
			double t0 = process_cpu();
			exported = ioca_archive_export(path, &r, (enum ioca_export_format)f, null,
						       err, sizeof err);
			cpu[k] = process_cpu() - t0;
			fclose(null);
		}
		qsort(cpu, EXPORT_RUNS, sizeof cpu[0], cmp_double);
		printf("export of one day (%s): %ld messages, %ld readings, median %.3f CPU s; "
		       "ratio to the %.0f s figure = %.3f\n",
		       names[f], exported, exported * READINGS, cpu[EXPORT_RUNS / 2],
		       EXPORT_BUDGET_S, cpu[EXPORT_RUNS / 2] / EXPORT_BUDGET_S);
	}
	return 0;
}
