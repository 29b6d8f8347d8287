/*
 * Benchmark driver for the motion analysis alone (no FFmpeg): feeds generated
 * luma frames (grey grid, sensor noise, a box moving through the middle third)
 * to ioca_motion_feed (motion, lighting, day/night and tamper, with the
 * plugin's defaults) and prints one JSON line with the wall and CPU time per
 * analysed frame and what the analysis reported. Not a test: it exists so the cost of
 * the analysis can be measured repeatably, e.g. as instruction counts under
 * `valgrind --tool=callgrind` (which cannot run the FFmpeg-linked driver: a
 * library FFmpeg loads uses an instruction valgrind does not know).
 *
 *   bench_camera_analysis [FRAMES [WIDTH HEIGHT [NOISE]]]
 *
 * Invariant: the frames depend only on the arguments (fixed pseudo-random
 * seed), so two builds can be compared on identical input; the printed
 * results must then be identical too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camera_motion.h"
#include "iocagent/plugin.h"

#define DEFAULT_FRAMES 300
#define DEFAULT_WIDTH  1280
#define DEFAULT_HEIGHT 720
#define DEFAULT_NOISE  6
#define GREY           0x60
#define GRID           0x40
#define BOX            0xff
#define GRID_COLUMNS   8
#define GRID_ROWS      6
#define ANALYSED_FPS   5.0

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

static void make_frame(uint8_t *p, int w, int h, int noise, int frame, int frames, unsigned *seed)
{
	int a = frames / 3, b = frames / 2;
	double pos = frame < a ? 0 : frame > b ? 1 : (double)(frame - a) / (double)(b - a);
	int bx = (int)(w * 0.1 + w * 0.5 * pos), by = (int)(h * 0.4);
	int bw = w / 6, bh = h / 4;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			int v =
			    (x % (w / GRID_COLUMNS) < 2 || y % (h / GRID_ROWS) < 2) ? GRID : GREY;
			if (x >= bx && x < bx + bw && y >= by && y < by + bh)
				v = BOX;
			if (noise > 0)
				v += (int)(lcg(seed) % (unsigned)(2 * noise + 1)) - noise;
			p[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(v < 0     ? 0
									 : v > 255 ? 255
										   : v);
		}
	}
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int frames = argc > 1 ? atoi(argv[1]) : DEFAULT_FRAMES;
	int w = argc > 3 ? atoi(argv[2]) : DEFAULT_WIDTH;
	int h = argc > 3 ? atoi(argv[3]) : DEFAULT_HEIGHT;
	int noise = argc > 4 ? atoi(argv[4]) : DEFAULT_NOISE;
	if (frames < 1 || w < GRID_COLUMNS * 2 || h < GRID_ROWS * 2 || w > IOCA_MOTION_MAX_DIM ||
	    h > IOCA_MOTION_MAX_DIM || noise < 0 || noise > 100) {
		fprintf(stderr, "usage: %s [FRAMES [WIDTH HEIGHT [NOISE]]]\n", argv[0]);
		return 64;
	}
	/* The plugin's defaults (docs/camera.md). */
	struct ioca_motion_config cfg = {.analysis_width = 320,
					 .threshold = 25,
					 .min_object_pct = 0.3,
					 .min_frames = 3,
					 .event_gap_s = 5,
					 .lighting_change_pct = 60,
					 .stationary_s = 2,
					 .tamper = {.enabled = true, .raise_s = 2, .clear_s = 3}};
	struct ioca_motion *m = ioca_motion_new(&cfg);
	uint8_t *p = malloc((size_t)w * (size_t)h);
	unsigned seed = 1;
	if (!m || !p) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	int starts = 0, ends = 0;
	double box[4] = {0}, peak = 0, spent = 0, cpu = 0;
	for (int f = 0; f < frames; f++) {
		/* Made outside the timed call (under callgrind: read ioca_motion_feed's
		 * inclusive count). */
		make_frame(p, w, h, noise, f, frames, &seed);
		struct ioca_motion_result r;
		double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		ioca_motion_feed(m, p, w, h, w, f / ANALYSED_FPS, &r);
		cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		spent += clock_s(CLOCK_MONOTONIC) - t0;
		if (r.started) {
			starts++;
			memcpy(box, r.box, sizeof box);
		}
		if (r.ended) {
			ends++;
			peak = r.peak_area_pct;
		}
	}
	struct ioca_motion_result r;
	if (ioca_motion_flush(m, &r)) {
		ends++;
		peak = r.peak_area_pct;
	}
	printf("{\"frames\": %d, \"ms_per_frame\": %.4f, \"cpu_ms_per_frame\": %.4f, "
	       "\"starts\": %d, \"ends\": %d, "
	       "\"box\": [%.4f, %.4f, %.4f, %.4f], \"peak_pct\": %.4f}\n",
	       frames, spent * 1000.0 / frames, cpu * 1000.0 / frames, starts, ends, box[0], box[1],
	       box[2], box[3], peak);
	free(p);
	ioca_motion_free(m);
	return 0;
}
