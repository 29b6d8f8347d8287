/*
 * Motion, lighting, day/night and tamper analysis on the luma plane of decoded
 * frames, free of FFmpeg types.
 *
 * A frame is block-averaged down to about `analysis_width` pixels wide. A
 * pixel is foreground when it differs from a background model
 * (camera_background.h: lighting compensated by a fitted tone curve, tolerant
 * of a one-pixel shake, threshold raised with the noise); the foreground is
 * cleaned by a majority filter and grouped into connected blobs
 * (camera_blobs.h). A blob counts for a zone when its pixels in the zone reach
 * the minimum object size; a blob that stands still for `stationary_s` is
 * absorbed into the background. Persistence (`min_frames`) and an event gap
 * turn counting blobs into start/end decisions. Tamper detection
 * (camera_tamper.h) and the day/night mode (from the chroma level the caller
 * measures) run on the same image; while the picture is blind (covered,
 * glare, defocused) no motion is counted.
 *
 * Invariant: the module only ever reads `width * height` luma bytes through
 * `stride` and never trusts its caller for sizes or times: any dimensions up to
 * IOCA_MOTION_MAX_DIM and any sequence of times (backwards, NaN) are handled.
 */
#ifndef IOCA_CAMERA_MOTION_H
#define IOCA_CAMERA_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "camera_tamper.h"

#define IOCA_MOTION_MAX_ZONES 32
#define IOCA_MOTION_MAX_DIM   16384
#define IOCA_MOTION_NAME_MAX  64

/* A named polygon in normalised coordinates: xy[2*i], xy[2*i+1] for i < npoints. */
struct ioca_motion_polygon {
	char name[IOCA_MOTION_NAME_MAX];
	const double *xy;
	size_t npoints;
};

struct ioca_motion_config {
	int analysis_width;         /* target width of the analysis image, pixels */
	double threshold;           /* per-pixel luma difference counted as change (1..255) */
	double min_object_pct;      /* smallest object counted, percent of the zone */
	int min_object_pixels;      /* ... and at least this many analysis pixels */
	int min_frames;             /* consecutive analysed frames with motion before a start */
	double event_gap_s;         /* seconds without motion before an end */
	double lighting_change_pct; /* changed share of the frame read as a lighting change */
	double stationary_s;        /* an object still this long joins the background (0: never) */
	struct ioca_tamper_config tamper;
	const struct ioca_motion_polygon *zones; /* none: the whole frame, named "all" */
	size_t nzones;
	const struct ioca_motion_polygon *masks;
	size_t nmasks;
};

/* What one analysed frame produced. Zone sets are bit masks over zone indexes. */
struct ioca_motion_result {
	bool lighting_change;
	double changed_pct; /* lighting change: share of the frame that changed */
	bool day_night;     /* the picture switched between colour (day) and grey (night/IR) */
	bool night;         /* the mode after this frame */
	double chroma;      /* chroma level that decided it */
	bool started;
	uint32_t start_zones;
	double box[4];   /* x, y, w, h of the largest counting object, 0..1 */
	double area_pct; /* largest object's share of a triggering zone */
	unsigned blobs;  /* objects counting at the start */
	bool ended;
	uint32_t end_zones; /* every zone that saw motion during the event */
	double duration_s;  /* first to last frame with motion */
	double peak_area_pct;
	bool active; /* an event is open after this frame */
	struct ioca_tamper_result tamper;
};

/* A foreground object of the last analysed frame, in analysis pixels. */
struct ioca_motion_blob {
	int x, y, w, h;
	unsigned area;
	bool counts; /* large enough for some zone, and not absorbed */
};

struct ioca_motion;

/* Validate `cfg` and allocate; NULL on invalid configuration or no memory.
 * Polygons are copied. */
struct ioca_motion *ioca_motion_new(const struct ioca_motion_config *cfg);
void ioca_motion_free(struct ioca_motion *m);

/*
 * Analyse one frame taken at stream time `t_s` (seconds, meant to grow).
 * Returns IOCA_OK, or IOCA_ERROR for dimensions out of range (nothing changes).
 */
int ioca_motion_feed(struct ioca_motion *m, const uint8_t *luma, int width, int height, int stride,
		     double t_s, struct ioca_motion_result *out);

/*
 * Chroma level of the next frame: mean absolute deviation of the chroma
 * samples from neutral (0..128); negative when the stream has no chroma.
 * Decides the day/night mode (colour or grey picture).
 */
void ioca_motion_set_chroma(struct ioca_motion *m, double chroma);

/*
 * Chroma level of planar chroma planes u and v (w x h each, own strides):
 * mean of |u - 128| + |v - 128| over a sparse sample, 0 for a grey picture.
 */
double ioca_motion_chroma_level(const uint8_t *u, int u_stride, const uint8_t *v, int v_stride,
				int w, int h);

/*
 * Close an open event and raised tampers now (stream lost); fills `out` like
 * an end (and tamper.cleared bits). Returns whether anything was open.
 */
bool ioca_motion_flush(struct ioca_motion *m, struct ioca_motion_result *out);

/* Forget the background (after a reconnect): the next frame is learnt, not compared. */
void ioca_motion_reset(struct ioca_motion *m);

/* Name of zone `index` ("all" for the implicit whole-frame zone). */
const char *ioca_motion_zone_name(const struct ioca_motion *m, size_t index);
size_t ioca_motion_zone_count(const struct ioca_motion *m);

/* The last block-averaged luma image (valid until the next feed); NULL before the first. */
const uint8_t *ioca_motion_image(const struct ioca_motion *m, int *width, int *height);

/*
 * Foreground objects of the last analysed frame (at most `max`), for zone
 * tuning pictures; the analysis image size into *grid_w, *grid_h (0 before
 * the first frame). Returns the number of objects written.
 */
size_t ioca_motion_blobs(const struct ioca_motion *m, struct ioca_motion_blob *out, size_t max,
			 int *grid_w, int *grid_h);

/*
 * Block-average `luma` (width x height through stride) into `out`, whose size
 * ioca_motion_scaled_size() gives for `target_width`. Exposed for tests and health.
 */
void ioca_motion_scaled_size(int width, int height, int target_width, int *out_w, int *out_h);
void ioca_motion_downscale(const uint8_t *luma, int width, int height, int stride, uint8_t *out,
			   int out_w, int out_h);

#endif
