/*
 * Runs the camera plugin in-process (the test harness, the agent's own loader
 * and option validation) over one clip file and prints every event it emits
 * as a JSON line: {"t": seconds of stream time, "type": "...", "data": {...}}.
 * Stream time is the event time minus the camera.online time, which for a
 * file is the stream time of the frame that caused the event.
 *
 * usage: camera_quality_run PLUGIN_DIR CLIP [OPTIONS]
 *   OPTIONS: extra libconfig settings of the instance ("threshold = 20;").
 * Exits 0 after the clip's end of stream, 1 on any failure.
 *
 * Invariant: the plugin runs with its defaults except the few settings named
 * in BASE_OPTIONS, which do not change what it detects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_harness.h"

#define BASE_OPTIONS    "snapshot = false; stats_interval = 0.0; backoff_min = 60.0;"
#define CLIP_TIMEOUT_MS 120000
#define PATH_LEN        4096
#define OPTIONS_LEN     8192

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s PLUGIN_DIR CLIP [OPTIONS]\n", argv[0]);
		return 64;
	}
	char so[PATH_LEN], opts[OPTIONS_LEN], err[4096] = "";
	snprintf(so, sizeof so, "%s/camera.so", argv[1]);
	snprintf(opts, sizeof opts, "url = \"%s\"; %s %s", argv[2], BASE_OPTIONS,
		 argc == 4 ? argv[3] : "");
	struct ioca_harness *h = ioca_harness_new(so, opts, err, sizeof err);
	if (!h) {
		fprintf(stderr, "camera_quality_run: %s\n", err);
		return 1;
	}
	if (ioca_harness_start(h) != IOCA_OK ||
	    !ioca_harness_wait_for(h, "camera.offline", CLIP_TIMEOUT_MS)) {
		fprintf(stderr, "camera_quality_run: %s: no end of stream\n", argv[2]);
		ioca_harness_stop(h);
		ioca_harness_free(h);
		return 1;
	}
	ioca_harness_stop(h);
	const struct ioca_harness_record *on = ioca_harness_wait_for(h, "camera.online", 0);
	size_t n = ioca_harness_count(h, NULL);
	for (size_t i = 0; on && i < n; i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		if (r->kind != IOCA_HARNESS_EVENT)
			continue;
		printf("{\"t\": %.3f, \"type\": \"%s\", \"data\": %s}\n",
		       (double)(r->time_ms - on->time_ms) / 1000.0, r->type,
		       r->json ? r->json : "{}");
	}
	ioca_harness_free(h);
	return on ? 0 : 1;
}
