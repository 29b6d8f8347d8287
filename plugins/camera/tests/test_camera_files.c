/*
 * Camera plugin through the in-process harness on generated files: motion at
 * known frames (with zones, masks, snapshots), no motion on noise, light
 * switches and dusk, frozen pictures, statistics, decode modes and bad input.
 * Times are checked in stream time: a file's frame n is reported at the
 * camera.online time + n / fps.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "camera_test_util.h"

#define FPS          15.0
#define FRAME_A      30
#define FRAME_B      60
#define ANALYZE_FPS  5.0
#define MIN_FRAMES   3
#define EVENT_GAP_S  1.0
#define STATIONARY_S 0.4   /* the box, once stopped at FRAME_B, joins the background after this */
#define WAIT_MS      90000 /* generous: sanitizer builds on busy shared cores */
#define SLACK_S      0.02

static char dir[64];
static char motion_clip[CT_PATH_MAX];

static int setup(void **state)
{
	(void)state;
	ct_tmpdir(dir, sizeof dir);
	ct_make_clip(dir, "motion", "motion.mp4", "-a 30 -b 60 -d 6", motion_clip,
		     sizeof motion_clip);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ct_rmdir(dir);
	return 0;
}

/* Run `options` on one pass of a file: until its camera.offline (end of stream). */
static struct ioca_harness *run_once(const char *options)
{
	struct ioca_harness *h = ct_harness(options);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", WAIT_MS);
	assert_non_null(off);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	return h;
}

static double since_online(struct ioca_harness *h, const struct ioca_harness_record *r)
{
	const struct ioca_harness_record *on = ioca_harness_wait_for(h, "camera.online", 0);
	assert_non_null(on);
	return (double)(r->time_ms - on->time_ms) / 1000.0;
}

static struct ioca_harness *run_motion(const char *extra)
{
	char opts[2048];
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; analyze_fps = %g; min_frames = %d; event_gap = %g; "
		 "stationary_seconds = %g; frozen_seconds = 0.0; stats_interval = 0.0; "
		 "backoff_min = 30.0; %s",
		 motion_clip, ANALYZE_FPS, MIN_FRAMES, EVENT_GAP_S, STATIONARY_S,
		 extra ? extra : "");
	return run_once(opts);
}

/* JPEG size from its SOF0 marker. */
static void jpeg_size(const unsigned char *p, size_t n, int *w, int *h)
{
	*w = *h = 0;
	for (size_t i = 2; i + 8 < n; i++) {
		if (p[i] == 0xFF && (p[i + 1] == 0xC0 || p[i + 1] == 0xC1)) {
			*h = p[i + 5] << 8 | p[i + 6];
			*w = p[i + 7] << 8 | p[i + 8];
			return;
		}
	}
}

static void test_motion_interval(void **state)
{
	(void)state;
	struct ioca_harness *h = run_motion("snapshot_width = 160;");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "motion.end"), 1);
	const struct ioca_harness_record *on = ioca_harness_wait_for(h, "camera.online", 0);
	assert_string_equal(ct_str(on, "codec"), "h264");
	assert_int_equal((int)ct_num(on, "width"), 320);
	assert_int_equal((int)ct_num(on, "height"), 240);
	assert_true(fabs(ct_num(on, "fps") - FPS) < 0.01);

	const struct ioca_harness_record *s = ioca_harness_wait_for(h, "motion.start", 0);
	double ts = since_online(h, s);
	double a = FRAME_A / FPS, b = FRAME_B / FPS;
	/* Within min_frames analysed frames of A (plus the one that first sees it). */
	assert_true(ts >= a + (MIN_FRAMES - 1) / ANALYZE_FPS - SLACK_S);
	assert_true(ts <= a + (MIN_FRAMES + 1) / ANALYZE_FPS + SLACK_S);
	assert_true(ct_has_zone(s, "all"));
	assert_int_equal(ct_zone_count(s), 1);
	assert_true(ct_num(s, "area_pct") >= 0.5);
	assert_true(ct_num(s, "snapshot") == 1);
	/* The box moves along y = 0.4 .. 0.65 from x = 0.1 to 0.6 + 1/6. */
	double bx = ct_num_at(s, "box", 0), by = ct_num_at(s, "box", 1);
	double bw = ct_num_at(s, "box", 2), bh = ct_num_at(s, "box", 3);
	assert_true(bx >= 0.1 - SLACK_S && bx + bw <= 0.6 + 1.0 / 6 + SLACK_S);
	assert_true(by >= 0.4 - SLACK_S && by + bh <= 0.65 + SLACK_S);
	assert_true(bw > 0 && bh > 0.2);

	const struct ioca_harness_record *e = ioca_harness_wait_for(h, "motion.end", 0);
	/* The box stops at B: it is motion until it has stood still for STATIONARY_S. */
	double te = since_online(h, e);
	assert_true(te >= b + STATIONARY_S + EVENT_GAP_S - 2 / ANALYZE_FPS - SLACK_S);
	assert_true(te <= b + STATIONARY_S + EVENT_GAP_S + 1 / ANALYZE_FPS + SLACK_S);
	double dur = ct_num(e, "duration_s");
	assert_true(dur >= (FRAME_B - FRAME_A) / FPS - 2 / ANALYZE_FPS - SLACK_S);
	assert_true(dur <= (FRAME_B - FRAME_A) / FPS + STATIONARY_S + SLACK_S);
	assert_true(ct_num(e, "peak_area_pct") >= ct_num(s, "area_pct"));
	assert_true(ct_has_zone(e, "all"));

	/* One JPEG snapshot at snapshot_width, timed like the event. */
	assert_int_equal(ct_count(h, "snapshot"), 1);
	const struct ioca_harness_record *blob = ioca_harness_wait_for(h, "snapshot", 0);
	assert_int_equal(blob->kind, IOCA_HARNESS_BLOB);
	assert_string_equal(blob->content_type, "image/jpeg");
	assert_true(blob->blob_len > 100);
	assert_true(blob->blob[0] == 0xFF && blob->blob[1] == 0xD8);
	assert_true(blob->blob[blob->blob_len - 2] == 0xFF &&
		    blob->blob[blob->blob_len - 1] == 0xD9);
	int w, hh;
	jpeg_size(blob->blob, blob->blob_len, &w, &hh);
	assert_int_equal(w, 160);
	assert_int_equal(hh, 120);
	assert_int_equal(blob->time_ms, s->time_ms);
	assert_int_equal(ct_count(h, "camera.lighting_change"), 0);
	/* The snapshot blob comes after its event. */
	size_t n = ioca_harness_count(h, NULL), is = 0, ib = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		if (r == s)
			is = i;
		if (r == blob)
			ib = i;
	}
	assert_true(ib == is + 1);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	ioca_harness_free(h);
}

static void test_snapshot_from_main_stream(void **state)
{
	(void)state;
	/* Analysis on the 320x240 clip, the snapshot from a 640x480 "main stream". */
	char main_clip[CT_PATH_MAX], extra[CT_PATH_MAX + 128];
	ct_make_clip(dir, "static", "main.mp4", "-s 640x480 -d 2", main_clip, sizeof main_clip);
	snprintf(extra, sizeof extra, "snapshot_url = \"%s\"; snapshot_width = 400;", main_clip);
	struct ioca_harness *h = run_motion(extra);
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "snapshot"), 1);
	const struct ioca_harness_record *s = ioca_harness_wait_for(h, "motion.start", 0);
	assert_true(ct_num(s, "snapshot") == 1);
	const struct ioca_harness_record *blob = ioca_harness_wait_for(h, "snapshot", 0);
	int w, hh;
	jpeg_size(blob->blob, blob->blob_len, &w, &hh);
	assert_int_equal(w, 400);
	assert_int_equal(hh, 300);
	ioca_harness_free(h);

	/* A main stream that cannot be opened: the event says there is no snapshot. */
	snprintf(extra, sizeof extra, "snapshot_url = \"%s/none.mp4\";", dir);
	h = run_motion(extra);
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "snapshot"), 0);
	s = ioca_harness_wait_for(h, "motion.start", 0);
	assert_true(ct_num(s, "snapshot") == 0);
	ioca_harness_free(h);
}

/* Member `key` of motion.start's "jpeg" object, NAN when absent (true/false as 1/0). */
static double jpeg_field(const struct ioca_harness_record *r, const char *key)
{
	cJSON *d = cJSON_Parse(r->json);
	const cJSON *v =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "jpeg"), key);
	double out = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : NAN;
	cJSON_Delete(d);
	return out;
}

/* The motion clip with a snapshot of at most max_blob bytes (0: no limit). */
static struct ioca_harness *run_motion_limited(size_t max_blob)
{
	char opts[2048];
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; analyze_fps = %g; min_frames = %d; event_gap = %g; "
		 "stationary_seconds = %g; frozen_seconds = 0.0; stats_interval = 0.0; "
		 "backoff_min = 30.0;",
		 motion_clip, ANALYZE_FPS, MIN_FRAMES, EVENT_GAP_S, STATIONARY_S);
	struct ioca_harness *h = ct_harness(opts);
	ioca_harness_set_max_blob_bytes(h, max_blob);
	assert_int_equal(ioca_harness_start(h), IOCA_OK);
	assert_non_null(ioca_harness_wait_for(h, "camera.offline", WAIT_MS));
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "snapshot"), 1);
	return h;
}

static void test_snapshot_fits_the_hosts_limit(void **state)
{
	(void)state;
	/* Without a limit: the configured quality, said in motion.start. */
	struct ioca_harness *h = run_motion_limited(0);
	const struct ioca_harness_record *s = ioca_harness_wait_for(h, "motion.start", 0);
	const struct ioca_harness_record *blob = ioca_harness_wait_for(h, "snapshot", 0);
	size_t full = blob->blob_len;
	assert_true(jpeg_field(s, "bytes") == (double)full);
	assert_true(jpeg_field(s, "quality") == 5);
	assert_true(jpeg_field(s, "reduced") == 0);
	assert_true(jpeg_field(s, "width") == 320 && jpeg_field(s, "height") == 240);
	ioca_harness_free(h);

	/* Half of that: re-encoded smaller, a whole JPEG, and motion.start says how. */
	h = run_motion_limited(full / 2);
	s = ioca_harness_wait_for(h, "motion.start", 0);
	blob = ioca_harness_wait_for(h, "snapshot", 0);
	assert_true(ct_num(s, "snapshot") == 1);
	assert_true(blob->blob_len <= full / 2);
	assert_true(blob->blob[0] == 0xFF && blob->blob[1] == 0xD8);
	assert_true(blob->blob[blob->blob_len - 2] == 0xFF &&
		    blob->blob[blob->blob_len - 1] == 0xD9);
	assert_true(jpeg_field(s, "bytes") == (double)blob->blob_len);
	assert_true(jpeg_field(s, "reduced") == 1);
	assert_true(jpeg_field(s, "quality") > 5);
	int w, hh;
	jpeg_size(blob->blob, blob->blob_len, &w, &hh);
	assert_true(jpeg_field(s, "width") == w && jpeg_field(s, "height") == hh);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_INFO, "re-encoded to fit"), 1);
	ioca_harness_free(h);

	/* Nothing fits: the smallest step is still sent (the agent reports it), and said so. */
	h = run_motion_limited(16);
	s = ioca_harness_wait_for(h, "motion.start", 0);
	blob = ioca_harness_wait_for(h, "snapshot", 0);
	assert_true(blob->blob_len > 16);
	assert_true(jpeg_field(s, "quality") == 31);
	assert_int_equal(ioca_harness_log_count(h, IOCA_LOG_WARNING, "the smallest step"), 1);
	ioca_harness_free(h);
}

static void test_zones(void **state)
{
	(void)state;
	/* A zone above the box's path: nothing. */
	struct ioca_harness *h = run_motion(
	    "zones = ( { name = \"sky\"; polygon = [0.0,0.0, 1.0,0.0, 1.0,0.3, 0.0,0.3]; } );");
	assert_int_equal(ct_count(h, "motion.start"), 0);
	assert_int_equal(ct_count(h, "motion.end"), 0);
	ioca_harness_free(h);

	/* Two zones: only the one on the path reports, by name. */
	h = run_motion(
	    "zones = ( { name = \"sky\"; polygon = [0.0,0.0, 1.0,0.0, 1.0,0.3, 0.0,0.3]; },"
	    " { name = \"road\"; polygon = [0.0,0.35, 1.0,0.35, 1.0,0.7, 0.0,0.7]; } );");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "motion.end"), 1);
	const struct ioca_harness_record *s = ioca_harness_wait_for(h, "motion.start", 0);
	assert_true(ct_has_zone(s, "road"));
	assert_false(ct_has_zone(s, "sky"));
	assert_int_equal(ct_zone_count(s), 1);
	const struct ioca_harness_record *e = ioca_harness_wait_for(h, "motion.end", 0);
	assert_true(ct_has_zone(e, "road"));
	assert_int_equal(ct_zone_count(e), 1);
	ioca_harness_free(h);

	/* A triangle zone covering only the left end of the path. */
	h = run_motion(
	    "zones = ( { name = \"corner\"; polygon = [0.0,0.3, 0.3,0.3, 0.0,0.8]; } );");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	ioca_harness_free(h);
}

static void test_mask(void **state)
{
	(void)state;
	struct ioca_harness *h = run_motion(
	    "masks = ( { name = \"road\"; polygon = [0.0,0.3, 1.0,0.3, 1.0,0.75, 0.0,0.75]; } );");
	assert_int_equal(ct_count(h, "motion.start"), 0);
	assert_int_equal(ct_count(h, "motion.end"), 0);
	ioca_harness_free(h);
	/* A mask elsewhere changes nothing. */
	h = run_motion("masks = ( { polygon = [0.0,0.0, 1.0,0.0, 1.0,0.2]; } );");
	assert_int_equal(ct_count(h, "motion.start"), 1);
	assert_int_equal(ct_count(h, "motion.end"), 1);
	ioca_harness_free(h);
}

static struct ioca_harness *run_clip(const char *kind, const char *args, const char *extra)
{
	char clip[CT_PATH_MAX], opts[2048];
	char name[64];
	snprintf(name, sizeof name, "%s.mp4", kind);
	ct_make_clip(dir, kind, name, args, clip, sizeof clip);
	snprintf(opts, sizeof opts, "url = \"%s\"; stats_interval = 0.0; backoff_min = 30.0; %s",
		 clip, extra ? extra : "");
	return run_once(opts);
}

static void test_no_motion_on_noise(void **state)
{
	(void)state;
	struct ioca_harness *h = run_clip("noise", "-d 8 -n 30", NULL);
	assert_int_equal(ct_count(h, "motion.start"), 0);
	assert_int_equal(ct_count(h, "camera.lighting_change"), 0);
	ioca_harness_free(h);
}

static void test_no_motion_on_light_switch(void **state)
{
	(void)state;
	/* On at frame 30, off at frame 75. */
	struct ioca_harness *h = run_clip("light", "-d 8 -a 30 -b 75", NULL);
	assert_int_equal(ct_count(h, "motion.start"), 0);
	assert_int_equal(ct_count(h, "camera.lighting_change"), 2);
	const struct ioca_harness_record *l = ioca_harness_wait_for(h, "camera.lighting_change", 0);
	assert_true(ct_num(l, "changed_pct") >= 60);
	double t = since_online(h, l);
	assert_true(t >= 30 / FPS - SLACK_S && t <= 30 / FPS + 1 / 5.0 + SLACK_S);
	ioca_harness_free(h);
}

static void test_no_motion_on_dusk(void **state)
{
	(void)state;
	struct ioca_harness *h = run_clip("ramp", "-d 10", NULL);
	assert_int_equal(ct_count(h, "motion.start"), 0);
	assert_int_equal(ct_count(h, "camera.lighting_change"), 0);
	ioca_harness_free(h);
}

static void test_frozen_picture(void **state)
{
	(void)state;
	/* Frames 30..75 repeat frame 29: three seconds frozen. */
	struct ioca_harness *h =
	    run_clip("frozen", "-d 7 -a 30 -b 75", "motion = false; frozen_seconds = 1.5;");
	assert_int_equal(ct_count(h, "camera.frozen"), 1);
	assert_int_equal(ct_count(h, "camera.resumed"), 1);
	const struct ioca_harness_record *f = ioca_harness_wait_for(h, "camera.frozen", 0);
	const struct ioca_harness_record *r = ioca_harness_wait_for(h, "camera.resumed", 0);
	assert_string_equal(ct_str(f, "reason"), "picture");
	double tf = since_online(h, f), tr = since_online(h, r);
	assert_true(tf >= 29 / FPS + 1.5 - SLACK_S && tf <= 29 / FPS + 1.5 + 0.2 + SLACK_S);
	assert_true(tr >= 76 / FPS - SLACK_S && tr <= 76 / FPS + 0.2 + SLACK_S);
	assert_true(ct_num(f, "seconds") >= 1.5);
	assert_true(fabs(ct_num(r, "seconds") - (tr - 29 / FPS)) < 0.25);
	assert_int_equal(ct_count(h, "motion.start"), 0);
	ioca_harness_free(h);
}

static void test_stats_and_modes(void **state)
{
	(void)state;
	static const char *const modes[] = {"full", "keyframes", "none"};
	char clip[CT_PATH_MAX];
	ct_make_clip(dir, "static", "stats.mp4", "-d 4", clip, sizeof clip);
	for (size_t m = 0; m < 3; m++) {
		char opts[1024];
		snprintf(opts, sizeof opts,
			 "url = \"%s\"; realtime = true; stats_interval = 1.0; decode = \"%s\"; "
			 "motion = %s; frozen_seconds = 0.0; backoff_min = 30.0;",
			 clip, modes[m], m == 0 ? "true" : "false");
		struct ioca_harness *h = run_once(opts);
		/* Paced at 15 fps: about three windows of 1 s before the end. */
		assert_true(ct_count(h, "camera.stats") >= 2);
		const struct ioca_harness_record *s =
		    ioca_harness_wait_for_nth(h, "camera.stats", 1, 0);
		double fps_in = ct_num(s, "fps_in");
		double fps_an = ct_num(s, "fps_analyzed");
		if (m == 0) {
			assert_true(fabs(fps_in - FPS) <= 1.5);
			assert_true(fabs(fps_an - 5.0) <= 1.0);
		} else if (m == 1) {
			assert_true(fps_in <= 1.5);
		} else {
			assert_true(fps_in == 0);
		}
		assert_true(ct_num(s, "bitrate_kbps") > 0);
		assert_true(ct_num(s, "decode_errors") == 0);
		assert_true(ct_num(s, "reconnects") == 0);
		/* -g 30 at 15 fps: a keyframe every 2 s (0 when a window saw fewer than two). */
		double ki = ct_num(s, "keyframe_interval_s");
		if (!(ki == 0 || fabs(ki - 2.0) < 0.01))
			fail_msg("keyframe_interval_s %g", ki);
		assert_int_equal(ct_count(h, "motion.start"), 0);
		ioca_harness_free(h);
	}
}

static void test_bad_inputs(void **state)
{
	(void)state;
	char clip[CT_PATH_MAX], cut[CT_PATH_MAX], opts[1024], cmd[CT_PATH_MAX * 4];
	/* Missing file. */
	snprintf(opts, sizeof opts, "url = \"%s/none.mp4\"; backoff_min = 30.0;", dir);
	struct ioca_harness *h = run_once(opts);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "open_failed");
	assert_int_equal(ct_count(h, "camera.online"), 0);
	ioca_harness_free(h);

	/* Truncated MP4 (its index is at the end): the open fails cleanly. */
	ct_make_clip(dir, "static", "whole.mp4", "-d 3", clip, sizeof clip);
	snprintf(cut, sizeof cut, "%s/cut.mp4", dir);
	snprintf(cmd, sizeof cmd, "head -c $(($(stat -c %%s '%s') / 2)) '%s' > '%s'", clip, clip,
		 cut);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0;", cut);
	h = run_once(opts);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "open_failed");
	assert_true(strlen(ct_str(off, "error")) > 0);
	ioca_harness_free(h);

	/* Truncated MPEG-TS: plays what is there, then ends. */
	ct_make_clip(dir, "motion", "whole.ts", "-d 3", clip, sizeof clip);
	snprintf(cut, sizeof cut, "%s/cut.ts", dir);
	snprintf(cmd, sizeof cmd, "head -c $(($(stat -c %%s '%s') / 2)) '%s' > '%s'", clip, clip,
		 cut);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0;", cut);
	h = run_once(opts);
	assert_int_equal(ct_count(h, "camera.online"), 1);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	ioca_harness_free(h);

	/* Corrupted MPEG-TS (bytes overwritten mid-file): decoder errors are counted, not fatal. */
	ct_make_clip(dir, "motion", "bad.ts", "-d 3", clip, sizeof clip);
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 -c 'import sys; f=open(sys.argv[1],\"r+b\"); n=f.seek(0,2); "
		 "f.seek(n*2//5); f.write(bytes((i*37)%%251 for i in range(3000)))' '%s'",
		 clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; realtime = true; stats_interval = 0.7; backoff_min = 30.0;", clip);
	h = run_once(opts);
	assert_int_equal(ct_count(h, "camera.online"), 1);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	assert_true(ct_count(h, "camera.stats") >= 3);
	size_t nstats = ct_count(h, "camera.stats");
	const struct ioca_harness_record *st =
	    ioca_harness_wait_for_nth(h, "camera.stats", nstats - 1, 0);
	assert_true(ct_num(st, "decode_errors") > 0);
	ioca_harness_free(h);

	/* A file without video. */
	snprintf(clip, sizeof clip, "%s/audio.wav", dir);
	snprintf(cmd, sizeof cmd,
		 "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i sine=d=1 '%s'", clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0;", clip);
	h = run_once(opts);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "no_video");
	ioca_harness_free(h);

	/* Random bytes named .bin: libavformat reads them as binary text art, a
	 * "video" of random glyphs; the plugin must simply survive it. */
	snprintf(clip, sizeof clip, "%s/garbage.bin", dir);
	snprintf(cmd, sizeof cmd, "head -c 65536 /dev/urandom > '%s'", clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0;", clip);
	h = run_once(opts);
	assert_int_equal(ct_count(h, "camera.offline"), 1);
	assert_int_equal(ct_count(h, "motion.start"), ct_count(h, "motion.end"));
	ioca_harness_free(h);
}

static void test_unsupported_codec(void **state)
{
	(void)state;
	/* An MJPEG AVI whose FourCC is rewritten to one no codec answers to. */
	char clip[CT_PATH_MAX], cmd[CT_PATH_MAX * 4], opts[1024];
	snprintf(clip, sizeof clip, "%s/unknown.avi", dir);
	snprintf(cmd, sizeof cmd,
		 "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=s=64x48:d=1 "
		 "-c:v mjpeg '%s' && sed -i 's/MJPG/QQQQ/g' '%s'",
		 clip, clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0;", clip);
	struct ioca_harness *h = run_once(opts);
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 0);
	const char *reason = ct_str(off, "reason");
	assert_true(strcmp(reason, "unsupported_codec") == 0);
	assert_int_equal(ct_count(h, "camera.online"), 0);
	ioca_harness_free(h);

	/* The same file is fine for a liveness-only camera (nothing decoded). */
	snprintf(opts, sizeof opts,
		 "url = \"%s\"; decode = \"none\"; motion = false; backoff_min = 30.0;", clip);
	h = run_once(opts);
	assert_int_equal(ct_count(h, "camera.online"), 1);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	ioca_harness_free(h);
}

static void test_extreme_sizes(void **state)
{
	(void)state;
	char clip[CT_PATH_MAX], cmd[CT_PATH_MAX * 4], opts[1024];
	/* 1x1: not H.264-encodable; FFV1 in Matroska carries it. */
	snprintf(clip, sizeof clip, "%s/tiny.mkv", dir);
	snprintf(cmd, sizeof cmd,
		 "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi "
		 "-i color=c=gray:s=16x16:r=15:d=2 -vf scale=1:1,noise=alls=60:allf=t "
		 "-pix_fmt gray -c:v ffv1 '%s'",
		 clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0; min_frames = 1;", clip);
	struct ioca_harness *h = run_once(opts);
	const struct ioca_harness_record *on = ioca_harness_wait_for(h, "camera.online", 0);
	assert_non_null(on);
	assert_int_equal((int)ct_num(on, "width"), 1);
	assert_int_equal((int)ct_num(on, "height"), 1);
	assert_int_equal(ct_count(h, "motion.start"), ct_count(h, "motion.end"));
	const struct ioca_harness_record *off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	ioca_harness_free(h);

	/* 7680x4320 H.264: a few frames, with motion analysis and a snapshot path. */
	snprintf(clip, sizeof clip, "%s/huge.mp4", dir);
	snprintf(cmd, sizeof cmd,
		 "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi "
		 "-i testsrc2=s=7680x4320:r=5:d=1.2 -c:v libx264 -preset ultrafast -g 30 -bf 0 "
		 "-pix_fmt yuv420p '%s'",
		 clip);
	assert_int_equal(system(cmd), 0);
	snprintf(opts, sizeof opts, "url = \"%s\"; backoff_min = 30.0; min_frames = 1;", clip);
	h = run_once(opts);
	on = ioca_harness_wait_for(h, "camera.online", 0);
	assert_non_null(on);
	assert_int_equal((int)ct_num(on, "width"), 7680);
	assert_int_equal((int)ct_num(on, "height"), 4320);
	off = ioca_harness_wait_for(h, "camera.offline", 0);
	assert_string_equal(ct_str(off, "reason"), "end_of_stream");
	assert_int_equal(ct_count(h, "snapshot"), ct_count(h, "motion.start"));
	ioca_harness_free(h);
}

static void expect_refused(const char *options, const char *needle)
{
	char so[CT_PATH_MAX], err[2048] = "";
	snprintf(so, sizeof so, "%s/camera.so", getenv("IOCA_PLUGIN_DIR"));
	struct ioca_harness *h = ioca_harness_new(so, options, err, sizeof err);
	if (h) {
		ioca_harness_free(h);
		fail_msg("accepted: %s", options);
	}
	if (!strstr(err, needle))
		fail_msg("'%s' not in: %s", needle, err);
}

static void test_option_checks(void **state)
{
	(void)state;
	expect_refused("analyze_fps = 5.0;", "url");
	expect_refused(
	    "url = \"x.mp4\"; zones = ( { name = \"a\"; polygon = [0.0,0.0, 1.0,0.0, 1.0]; } );",
	    "polygon");
	expect_refused("url = \"x.mp4\"; zones = ( { name = \"a\"; polygon = [0.0,0.0, 1.5,0.0, "
		       "1.0,1.0]; } );",
		       "polygon");
	expect_refused("url = \"x.mp4\"; zones = ( { polygon = [0.0,0.0, 1.0,0.0, 1.0,1.0]; } );",
		       "name");
	expect_refused("url = \"x.mp4\"; zones = ( { name = \"a\"; polygon = [0.0,0.0, 0.5,0.5, "
		       "1.0,1.0]; } );",
		       "no area");
	expect_refused(
	    "url = \"x.mp4\"; zones = ( { name = \"a\"; polygon = [0.0,0.0, 1.0,0.0, 1.0,1.0]; },"
	    " { name = \"a\"; polygon = [0.0,0.0, 1.0,0.0, 1.0,1.0]; } );",
	    "twice");
	expect_refused("url = \"x.mp4\"; decode = \"keyframes\"; "
		       "masks = ( { polygon = [0.0,0.0, 1.0,0.0, 1.0,1.0]; } );",
		       "decode");
	expect_refused("url = \"x.mp4\"; backoff_min = 10.0; backoff_max = 5.0;", "backoff");
	expect_refused("url = \"x.mp4\"; decode = \"fast\";", "decode");
	expect_refused("url = \"x.mp4\"; analyze_fps = 0.0;", "analyze_fps");
	expect_refused("url = \"x.mp4\"; colour = 1;", "colour");
	expect_refused("url = \"x.mp4\"; username = \"u\";", "network");
	expect_refused("url = \"x.mp4\"; stationary_seconds = -1.0;", "stationary_seconds");
	expect_refused("url = \"x.mp4\"; tamper_seconds = 5000.0;", "tamper_seconds");
	expect_refused("url = \"x.mp4\"; min_object_pixels = -3;", "min_object_pixels");
	/* The old name still works alone, with a warning naming the new one; both is an error. */
	expect_refused("url = \"x.mp4\"; min_area_pct = 1.0; min_object_pct = 1.0;",
		       "min_object_pct");
	struct ioca_harness *old = ct_harness("url = \"x.mp4\"; min_area_pct = 1.0;");
	assert_int_equal(ioca_harness_start(old), IOCA_OK);
	ioca_harness_stop(old);
	assert_true(ioca_harness_log_count(old, IOCA_LOG_WARNING, "min_object_pct") >= 1);
	ioca_harness_free(old);
	struct ioca_harness *h =
	    ct_harness("url = \"rtsp://cam/1\"; username = \"u\"; password = \"p\"; "
		       "zones = ( { name = \"a\"; polygon = [0.0,0.0, 1.0,0.0, 1.0,1.0]; } );");
	ioca_harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_option_checks),
	    cmocka_unit_test(test_motion_interval),
	    cmocka_unit_test(test_snapshot_from_main_stream),
	    cmocka_unit_test(test_snapshot_fits_the_hosts_limit),
	    cmocka_unit_test(test_zones),
	    cmocka_unit_test(test_mask),
	    cmocka_unit_test(test_no_motion_on_noise),
	    cmocka_unit_test(test_no_motion_on_light_switch),
	    cmocka_unit_test(test_no_motion_on_dusk),
	    cmocka_unit_test(test_frozen_picture),
	    cmocka_unit_test(test_stats_and_modes),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_unsupported_codec),
	    cmocka_unit_test(test_extreme_sizes),
	};
	if (getenv("CAMERA_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CAMERA_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
