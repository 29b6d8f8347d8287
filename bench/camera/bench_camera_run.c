/*
 * Benchmark driver: runs the camera plugin in this process through the test
 * harness and prints one JSON line with the process's CPU seconds, peak RSS
 * and the events seen. Not a test: bench_camera.py compares its figures with
 * baselines (ffmpeg, motion) measured in the same run.
 *
 *   bench_camera_run PLUGIN_SO OPTIONS [--until-offline | --seconds S]
 *                    [--motion-from PACKET]
 *
 * --motion-from: poll the plugin's video packet counter (stat "packets") every
 * millisecond and report the delay from the moment packet PACKET (1-based:
 * frame PACKET-1 of a stream that starts at frame 0) was read to the
 * motion.start record (latency_ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "plugin_harness.h"

#define POLL_US        1000
#define STREAM_WAIT_MS 600000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	}
	if (f)
		fclose(f);
	return kb;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: %s PLUGIN_SO OPTIONS [--until-offline | --seconds S] "
			"[--motion-from PACKET]\n",
			argv[0]);
		return 64;
	}
	double seconds = 0, motion_from = -1;
	for (int i = 3; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--motion-from") == 0)
			motion_from = atof(argv[++i]);
	}
	char err[2048] = "";
	struct ioca_harness *h = ioca_harness_new(argv[1], argv[2], err, sizeof err);
	if (!h) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double cpu0 = cpu_s();
	int64_t t0 = mono_ms();
	if (ioca_harness_start(h) != 0) {
		fprintf(stderr, "create failed\n");
		return 1;
	}
	int64_t latency_ms = -1;
	if (motion_from >= 0) {
		int64_t reached = -1;
		while (mono_ms() - t0 < STREAM_WAIT_MS) {
			if (reached < 0 && ioca_harness_stat(h, "packets") >= motion_from)
				reached = mono_ms();
			const struct ioca_harness_record *r =
			    ioca_harness_wait_for(h, "motion.start", 0);
			if (r && reached >= 0) {
				latency_ms = r->mono_ms - reached;
				break;
			}
			usleep(POLL_US);
		}
	} else if (seconds > 0) {
		usleep((useconds_t)(seconds * 1e6));
	} else {
		ioca_harness_wait_for(h, "camera.offline", STREAM_WAIT_MS);
	}
	double wall = (double)(mono_ms() - t0) / 1000.0;
	ioca_harness_stop(h);
	double cpu = cpu_s() - cpu0;
	printf("{\"cpu_s\": %.3f, \"wall_s\": %.3f, \"rss_hwm_kb\": %ld, \"online\": %zu, "
	       "\"motion_start\": %zu, \"motion_end\": %zu, \"snapshots\": %zu, \"latency_ms\": "
	       "%lld}\n",
	       cpu, wall, vm_hwm_kb(), ioca_harness_count(h, "camera.online"),
	       ioca_harness_count(h, "motion.start"), ioca_harness_count(h, "motion.end"),
	       ioca_harness_count(h, "snapshot"), (long long)latency_ms);
	ioca_harness_free(h);
	return 0;
}
