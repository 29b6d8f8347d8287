/*
 * Unit tests of the FFmpeg-free camera analysis code on synthetic frames:
 * block-average downscale, motion persistence/gap/zones/masks/lighting,
 * stream clock, frozen picture, statistics, backoff and URL masking.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "camera_backoff.h"
#include "camera_health.h"
#include "camera_motion.h"
#include "camera_url.h"

#define W            160
#define H            120
#define DT           0.2 /* analysed frame interval, s */
#define SQ           20  /* square side, px */
#define STATIONARY_S 2.0 /* the square, once stopped, joins the background after this */

/* Textured background plus a bright square whose left edge is at x (none when x < 0). */
static void draw(uint8_t *img, int x, int y, int brightness)
{
	for (int r = 0; r < H; r++) {
		for (int c = 0; c < W; c++) {
			int v = 80 + (c * 7 + r * 13) % 50 + brightness;
			if (x >= 0 && c >= x && c < x + SQ && r >= y && r < y + SQ)
				v = 240;
			img[r * W + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
}

/* The square rests at x=10 until frame 10, moves 3 px a frame to frame 30, then rests. */
static int square_x(int n)
{
	if (n < 10)
		return 10;
	if (n > 30)
		return 70;
	return 10 + 3 * (n - 10);
}

static struct ioca_motion_config base_config(void)
{
	struct ioca_motion_config c = {
	    .analysis_width = W,
	    .threshold = 25,
	    .min_object_pct = 0.5,
	    .min_frames = 3,
	    .event_gap_s = 1.0,
	    .lighting_change_pct = 60,
	    .stationary_s = STATIONARY_S,
	    .tamper = {.enabled = true, .raise_s = 2, .clear_s = 3},
	};
	return c;
}

struct run_result {
	int starts, ends, lightings;
	int start_frame, end_frame;
	struct ioca_motion_result start, end;
};

static struct run_result run(const struct ioca_motion_config *cfg, int frames, int brightness_at,
			     int brightness, int ramp_per_frame, bool square)
{
	struct ioca_motion *m = ioca_motion_new(cfg);
	assert_non_null(m);
	uint8_t *img = malloc(W * H);
	assert_non_null(img);
	struct run_result rr;
	memset(&rr, 0, sizeof rr);
	rr.start_frame = rr.end_frame = -1;
	for (int n = 0; n < frames; n++) {
		int b = (brightness_at >= 0 && n >= brightness_at ? brightness : 0) +
			ramp_per_frame * n;
		draw(img, square ? square_x(n) : -1, 50, b);
		struct ioca_motion_result r;
		assert_int_equal(ioca_motion_feed(m, img, W, H, W, n * DT, &r), 0);
		if (r.started) {
			rr.starts++;
			rr.start_frame = n;
			rr.start = r;
		}
		if (r.ended) {
			rr.ends++;
			rr.end_frame = n;
			rr.end = r;
		}
		rr.lightings += r.lighting_change;
	}
	free(img);
	ioca_motion_free(m);
	return rr;
}

static void test_scaled_size(void **state)
{
	(void)state;
	int w, h;
	ioca_motion_scaled_size(1920, 1080, 320, &w, &h);
	assert_int_equal(w, 320);
	assert_int_equal(h, 180);
	ioca_motion_scaled_size(7680, 4320, 320, &w, &h);
	assert_int_equal(w, 320);
	assert_int_equal(h, 180);
	ioca_motion_scaled_size(1, 1, 320, &w, &h);
	assert_int_equal(w, 1);
	assert_int_equal(h, 1);
	ioca_motion_scaled_size(10000, 1, 320, &w, &h);
	assert_int_equal(w, 322);
	assert_int_equal(h, 1);
	ioca_motion_scaled_size(160, 120, 320, &w, &h);
	assert_int_equal(w, 160);
	assert_int_equal(h, 120);
}

static void test_downscale_averages_blocks(void **state)
{
	(void)state;
	/* 4x2 picture with stride 6, 2x2 blocks: averages rounded to nearest. */
	const uint8_t src[] = {10, 20, 30, 41, 99, 99, 30, 40, 50, 60, 99, 99};
	uint8_t out[2];
	ioca_motion_downscale(src, 4, 2, 6, out, 2, 1);
	assert_int_equal(out[0], 25);
	assert_int_equal(out[1], 45);
}

static void test_motion_interval(void **state)
{
	(void)state;
	struct ioca_motion_config cfg = base_config();
	struct run_result r = run(&cfg, 50, -1, 0, 0, true);
	assert_int_equal(r.starts, 1);
	assert_int_equal(r.ends, 1);
	/* The square rests where the background was learnt until frame 10: at frame
	 * 11 only slivers at its sides differ (too small); frames 12, 13, 14 confirm. */
	assert_int_equal(r.start_frame, 14);
	/* It stops at frame 30 and stays: it is motion until it has stood still
	 * for STATIONARY_S (10 frames; its box is within the stillness tolerance
	 * from frame 29 or 30), so the last frame with motion is 38 or 39 and the
	 * event ends after a gap of 1 s = 5 frames. */
	assert_true(r.end_frame >= 43 && r.end_frame <= 44);
	assert_true(r.end.duration_s >= (38 - 12) * DT - 1e-9);
	assert_true(r.end.duration_s <= (39 - 12) * DT + 1e-9);
	assert_true(r.start.start_zones == 1u);
	assert_true(r.end.end_zones == 1u);
	/* At frame 14 the square (x 22..41) still overlaps its first place (x 10..29),
	 * which is in the background: what differs is the part it uncovered and
	 * the part it newly covers, one or two objects, the box of the larger one
	 * inside x 10..41, y 50..69. */
	assert_true(r.start.blobs >= 1 && r.start.blobs <= 2);
	assert_true(r.start.box[0] >= 9.0 / W && r.start.box[0] + r.start.box[2] <= 43.0 / W);
	assert_true(r.start.box[2] >= 8.0 / W);
	assert_true(fabs(r.start.box[1] - 50.0 / H) < 2.0 / H);
	assert_true(fabs(r.start.box[3] - (double)SQ / H) < 3.0 / H);
	assert_true(r.start.area_pct >= 0.5);
	assert_true(r.end.peak_area_pct >= r.start.area_pct);
	assert_int_equal(r.lightings, 0);
}

static const double top_strip[] = {0, 0, 1, 0, 1, 0.3, 0, 0.3};
static const double middle_strip[] = {0, 0.35, 1, 0.35, 1, 0.65, 0, 0.65};

static void test_zones_and_masks(void **state)
{
	(void)state;
	struct ioca_motion_polygon zones[2] = {
	    {.name = "top", .xy = top_strip, .npoints = 4},
	    {.name = "middle", .xy = middle_strip, .npoints = 4},
	};
	struct ioca_motion_config cfg = base_config();
	cfg.zones = zones;
	cfg.nzones = 1;
	struct run_result r = run(&cfg, 50, -1, 0, 0, true);
	assert_int_equal(r.starts, 0);
	cfg.nzones = 2;
	r = run(&cfg, 50, -1, 0, 0, true);
	assert_int_equal(r.starts, 1);
	assert_true(r.start.start_zones == 2u);
	cfg.zones = NULL;
	cfg.nzones = 0;
	struct ioca_motion_polygon mask = {.name = "m", .xy = middle_strip, .npoints = 4};
	cfg.masks = &mask;
	cfg.nmasks = 1;
	r = run(&cfg, 50, -1, 0, 0, true);
	assert_int_equal(r.starts, 0);
}

static void test_lighting_and_ramp(void **state)
{
	(void)state;
	struct ioca_motion_config cfg = base_config();
	struct run_result r = run(&cfg, 40, 20, 60, 0, false);
	assert_int_equal(r.starts, 0);
	assert_int_equal(r.lightings, 1);
	/* Dusk: 2 levels darker per analysed frame for 60 frames. */
	r = run(&cfg, 60, -1, 0, -2, false);
	assert_int_equal(r.starts, 0);
	assert_int_equal(r.lightings, 0);
	/* A light switch while something moves does not start an event by itself. */
	r = run(&cfg, 50, 20, 60, 0, true);
	assert_int_equal(r.lightings, 1);
	assert_true(r.starts <= 1);
	assert_int_equal(r.starts, r.ends);
}

static void test_time_backwards_and_resize(void **state)
{
	(void)state;
	struct ioca_motion_config cfg = base_config();
	struct ioca_motion *m = ioca_motion_new(&cfg);
	uint8_t *img = malloc(W * H);
	struct ioca_motion_result r;
	int starts = 0, ends = 0;
	for (int n = 0; n < 60; n++) {
		draw(img, square_x(n), 50, 0);
		/* Times jump back to 0 at frame 20 (a looping server) and are NaN once. */
		double t = n < 20 ? n * DT : (n == 25 ? NAN : (n - 20) * DT);
		assert_int_equal(ioca_motion_feed(m, img, W, H, W, t, &r), 0);
		starts += r.started;
		ends += r.ended;
	}
	assert_int_equal(starts, 1);
	assert_true(ends <= 1);
	/* A new size mid-stream: re-learnt, no event from the change itself. */
	uint8_t small[64 * 48];
	memset(small, 100, sizeof small);
	assert_int_equal(ioca_motion_feed(m, small, 64, 48, 64, 100, &r), 0);
	assert_false(r.started);
	assert_int_equal(ioca_motion_feed(m, small, 64, 48, 64, 100.2, &r), 0);
	assert_false(r.started);
	/* Out-of-range sizes are refused. */
	assert_int_equal(ioca_motion_feed(m, small, 0, 48, 64, 101, &r), -1);
	assert_int_equal(ioca_motion_feed(m, small, 64, 48, 10, 101, &r), -1);
	assert_int_equal(ioca_motion_feed(m, small, IOCA_MOTION_MAX_DIM + 1, 1,
					  IOCA_MOTION_MAX_DIM + 1, 101, &r),
			 -1);
	/* 1x1 frames work. */
	uint8_t px = 7;
	assert_int_equal(ioca_motion_feed(m, &px, 1, 1, 1, 102, &r), 0);
	assert_int_equal(ioca_motion_feed(m, &px, 1, 1, 1, 102.2, &r), 0);
	free(img);
	ioca_motion_free(m);
}

static void test_flush_and_names(void **state)
{
	(void)state;
	struct ioca_motion_config cfg = base_config();
	struct ioca_motion *m = ioca_motion_new(&cfg);
	assert_string_equal(ioca_motion_zone_name(m, 0), "all");
	assert_int_equal(ioca_motion_zone_count(m), 1);
	uint8_t *img = malloc(W * H);
	struct ioca_motion_result r;
	bool active = false;
	for (int n = 0; n < 16; n++) {
		draw(img, square_x(n), 50, 0);
		ioca_motion_feed(m, img, W, H, W, n * DT, &r);
		active = r.active;
	}
	assert_true(active);
	assert_true(ioca_motion_flush(m, &r));
	assert_true(r.ended);
	assert_false(ioca_motion_flush(m, &r));
	free(img);
	ioca_motion_free(m);
	/* Invalid configurations are refused. */
	cfg.threshold = 0;
	assert_null(ioca_motion_new(&cfg));
	cfg = base_config();
	struct ioca_motion_polygon bad = {.name = "x", .xy = top_strip, .npoints = 2};
	cfg.zones = &bad;
	cfg.nzones = 1;
	assert_null(ioca_motion_new(&cfg));
}

static void test_clock(void **state)
{
	(void)state;
	struct ioca_cam_clock c = {0};
	assert_true(ioca_cam_clock_update(&c, 100.0, 0.1) == 0);
	assert_true(fabs(ioca_cam_clock_update(&c, 100.1, 0.1) - 0.1) < 1e-9);
	/* Backwards: one nominal step. */
	assert_true(fabs(ioca_cam_clock_update(&c, 3.0, 0.1) - 0.2) < 1e-9);
	assert_true(fabs(ioca_cam_clock_update(&c, 3.5, 0.1) - 0.7) < 1e-9);
	/* A leap forward beyond the limit: one nominal step. */
	assert_true(fabs(ioca_cam_clock_update(&c, 1000.0, 0.1) - 0.8) < 1e-9);
	/* Unknown timestamp, bad nominal interval. */
	assert_true(ioca_cam_clock_update(&c, NAN, -1) > 0.8);
	double before = c.t;
	ioca_cam_clock_rebase(&c);
	assert_true(ioca_cam_clock_update(&c, 0.0, 0.1) >= before);
}

static void test_freeze(void **state)
{
	(void)state;
	struct ioca_cam_freeze f;
	ioca_cam_freeze_init(&f, 2.0);
	uint8_t a[100], b[100];
	memset(a, 50, sizeof a);
	memset(b, 90, sizeof b);
	double secs;
	int frozen_at = -1, resumed_at = -1;
	for (int n = 0; n < 40; n++) {
		const uint8_t *img = n < 30 ? a : b;
		enum ioca_cam_freeze_change ch =
		    ioca_cam_freeze_feed(&f, img, 10, 10, n * 0.2, &secs);
		if (ch == IOCA_FREEZE_FROZEN) {
			assert_int_equal(frozen_at, -1);
			frozen_at = n;
			assert_true(secs >= 2.0);
		}
		if (ch == IOCA_FREEZE_RESUMED) {
			resumed_at = n;
			assert_true(fabs(secs - 6.0) < 1e-9);
		}
	}
	assert_int_equal(frozen_at, 10);
	assert_int_equal(resumed_at, 30);
	ioca_cam_freeze_free(&f);
	/* Disabled. */
	ioca_cam_freeze_init(&f, 0);
	for (int n = 0; n < 40; n++)
		assert_int_equal(ioca_cam_freeze_feed(&f, a, 10, 10, n, &secs), IOCA_FREEZE_NONE);
	ioca_cam_freeze_free(&f);
}

static void test_stats(void **state)
{
	(void)state;
	struct ioca_cam_stats s;
	ioca_cam_stats_init(&s, 1000);
	for (int n = 0; n < 30; n++) {
		ioca_cam_stats_packet(&s, 1000, n % 10 == 0, n / 15.0);
		ioca_cam_stats_frame(&s, n % 3 == 0);
	}
	struct ioca_cam_stats_report r;
	ioca_cam_stats_report(&s, 3000, &r);
	assert_true(fabs(r.fps_in - 15) < 1e-9);
	assert_true(fabs(r.fps_analyzed - 5) < 1e-9);
	assert_true(fabs(r.bitrate_kbps - 120) < 1e-9);
	assert_true(fabs(r.keyframe_interval_s - 10 / 15.0) < 1e-9);
	ioca_cam_stats_report(&s, 4000, &r);
	assert_true(r.fps_in == 0 && r.keyframe_interval_s == 0);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(ioca_cam_backoff_ms(0, 1000, 60000, 0.5), 1000);
	assert_int_equal(ioca_cam_backoff_ms(1, 1000, 60000, 0.5), 2000);
	assert_int_equal(ioca_cam_backoff_ms(3, 1000, 60000, 0.5), 8000);
	assert_int_equal(ioca_cam_backoff_ms(40, 1000, 60000, 0.5), 60000);
	assert_int_equal(ioca_cam_backoff_ms(1000, 1000, 60000, 0.0), 48000);
	for (unsigned a = 0; a < 50; a++) {
		for (double j = 0; j < 1; j += 0.125) {
			int64_t d = ioca_cam_backoff_ms(a, 1000, 60000, j);
			assert_true(d >= 1000 && d <= 60000);
		}
	}
	assert_int_equal(ioca_cam_backoff_ms(2, 1000, 60000, 0.0), 3200);
	assert_int_equal(ioca_cam_backoff_ms(2, 1000, 60000, 0.999999), 4799);
	assert_int_equal(ioca_cam_backoff_ms(0, 1000, 60000, NAN), 1000);
}

static void test_url_credentials(void **state)
{
	(void)state;
	char *u = ioca_cam_url_with_credentials("rtsp://old:pw@cam:554/s", "op er", "p@ss:w/rd");
	assert_string_equal(u, "rtsp://op%20er:p%40ss%3Aw%2Frd@cam:554/s");
	free(u);
	u = ioca_cam_url_with_credentials("rtsp://cam/s", NULL, "x");
	assert_string_equal(u, "rtsp://cam/s");
	free(u);
	assert_true(ioca_cam_url_is_network("rtsps://cam/s"));
	assert_false(ioca_cam_url_is_network("file:///x.mp4"));
	assert_false(ioca_cam_url_is_network("/x.mp4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scaled_size),
	    cmocka_unit_test(test_downscale_averages_blocks),
	    cmocka_unit_test(test_motion_interval),
	    cmocka_unit_test(test_zones_and_masks),
	    cmocka_unit_test(test_lighting_and_ramp),
	    cmocka_unit_test(test_time_backwards_and_resize),
	    cmocka_unit_test(test_flush_and_names),
	    cmocka_unit_test(test_clock),
	    cmocka_unit_test(test_freeze),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_url_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
