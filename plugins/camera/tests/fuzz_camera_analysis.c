/*
 * libFuzzer target for the camera analysis: arbitrary option values (analysis
 * width, threshold, areas, persistence, gap, zones and masks with arbitrary
 * points, stationary time, tamper hold times) and arbitrary frames (sizes,
 * strides, times, chroma levels, pixels) through ioca_motion_* (background,
 * blobs, tamper, day/night), the frozen-picture detector, the stream clock and the URL
 * masking. Invariant checked: no crash, no out-of-bounds access, results in range.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "camera_backoff.h"
#include "camera_health.h"
#include "camera_motion.h"
#include "camera_url.h"

/* Bounds that keep one input well under 2 ms (>= 500 exec/s): the sizes still
 * reach every downscale factor path, odd shapes and resizes. */
#define MAX_FRAME_DIM      64
#define MAX_FRAMES         8
#define MAX_ANALYSIS_WIDTH 80
#define MAX_POINTS         12

struct reader {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t byte(struct reader *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

static uint16_t u16(struct reader *r)
{
	return (uint16_t)(byte(r) << 8 | byte(r));
}

/* A double in [-0.25, 1.25], or NaN/inf now and then. */
static double coord(struct reader *r)
{
	uint8_t b = byte(r);
	if (b == 255)
		return NAN;
	if (b == 254)
		return INFINITY;
	return (double)b / 170.0 - 0.25;
}

static void read_polys(struct reader *r, struct ioca_motion_polygon *polys,
		       double pts[][2 * MAX_POINTS], size_t count)
{
	for (size_t z = 0; z < count; z++) {
		size_t np = byte(r) % (MAX_POINTS + 1);
		for (size_t k = 0; k < 2 * np; k++)
			pts[z][k] = coord(r);
		polys[z].xy = pts[z];
		polys[z].npoints = np;
		polys[z].name[0] = (char)('a' + z);
		polys[z].name[1] = '\0';
	}
}

static void fuzz_urls(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	char *u = ioca_cam_url_with_credentials(s, size > 4 ? "us:er" : NULL, "p@ss");
	free(u);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size, 0};
	fuzz_urls(data, size < 512 ? size : 512);

	struct ioca_motion_config cfg = {
	    .analysis_width = 1 + u16(&r) % MAX_ANALYSIS_WIDTH,
	    .threshold = 1 + byte(&r),
	    .min_object_pct = byte(&r) / 2.0,
	    .min_frames = 1 + byte(&r) % 6,
	    .event_gap_s = byte(&r) / 20.0,
	    .lighting_change_pct = 1 + byte(&r) % 100,
	    .stationary_s = byte(&r) / 50.0,
	    .tamper = {.enabled = byte(&r) & 1,
		       .raise_s = byte(&r) / 60.0,
		       .clear_s = byte(&r) / 60.0},
	};
	struct ioca_motion_polygon zones[4], masks[4];
	double zpts[4][2 * MAX_POINTS], mpts[4][2 * MAX_POINTS];
	cfg.nzones = byte(&r) % 5;
	cfg.nmasks = byte(&r) % 5;
	read_polys(&r, zones, zpts, cfg.nzones);
	read_polys(&r, masks, mpts, cfg.nmasks);
	cfg.zones = zones;
	cfg.masks = masks;
	struct ioca_motion *m = ioca_motion_new(&cfg);

	struct ioca_cam_freeze fz;
	ioca_cam_freeze_init(&fz, byte(&r) / 50.0);
	struct ioca_cam_clock clk = {0};
	int w = 1 + byte(&r) % MAX_FRAME_DIM, h = 1 + byte(&r) % MAX_FRAME_DIM;
	size_t frames = byte(&r) % MAX_FRAMES;
	double t = 0;
	for (size_t f = 0; f < frames && m; f++) {
		if (byte(&r) % 8 == 0) { /* a size change */
			w = 1 + byte(&r) % MAX_FRAME_DIM;
			h = 1 + byte(&r) % MAX_FRAME_DIM;
		}
		int stride = w + byte(&r) % 4;
		size_t len = (size_t)stride * (size_t)h;
		uint8_t *img = malloc(len);
		if (!img)
			break;
		for (size_t i = 0; i < len; i++)
			img[i] = r.n ? r.p[(r.i + i) % r.n] : 0;
		r.i += len / 64 + 1;
		int8_t step = (int8_t)byte(&r);
		t = ioca_cam_clock_update(&clk, t + step / 10.0, 1 / 15.0);
		struct ioca_motion_result res;
		uint8_t c = byte(&r);
		ioca_motion_set_chroma(m, c == 255 ? NAN : c == 254 ? -1 : c / 16.0);
		if (ioca_motion_feed(m, img, w, h, stride, t, &res) == 0) {
			if (res.started && (res.box[0] < 0 || res.box[0] > 1 || res.box[2] > 1 ||
					    res.area_pct > 100 || !res.start_zones))
				abort();
			if (res.ended && res.duration_s < 0)
				abort();
			if ((res.tamper.raised | res.tamper.cleared) >> IOCA_TAMPER_KINDS)
				abort();
			if (res.started && res.blobs < 1)
				abort();
			struct ioca_motion_blob blobs[8];
			int gw, gh;
			size_t nb = ioca_motion_blobs(m, blobs, 8, &gw, &gh);
			for (size_t k = 0; k < nb; k++) {
				if (blobs[k].x < 0 || blobs[k].y < 0 ||
				    blobs[k].x + blobs[k].w > gw || blobs[k].y + blobs[k].h > gh ||
				    blobs[k].area < 1)
					abort();
			}
			int sw = 0, sh = 0;
			const uint8_t *pic = ioca_motion_image(m, &sw, &sh);
			double secs;
			ioca_cam_freeze_feed(&fz, pic, sw, sh, t, &secs);
		}
		free(img);
	}
	if (m) {
		struct ioca_motion_result res;
		ioca_motion_flush(m, &res);
	}
	ioca_motion_free(m);
	ioca_cam_freeze_free(&fz);
	int64_t d = ioca_cam_backoff_ms(byte(&r), 1 + byte(&r), 1 + u16(&r), byte(&r) / 256.0);
	if (d < 1)
		abort();
	return 0;
}
