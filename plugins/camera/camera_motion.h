/*
 * Motion analysis on the luma plane of decoded frames, free of FFmpeg types.
 *
 * A frame is block-averaged down to about `analysis_width` pixels wide. A pixel
 * is moving when, after removing the global brightness shift, it differs by
 * more than `threshold` both from a background model and from the previous
 * analysed frame, and has moving neighbours (isolated pixels are noise).
 * Moving pixels are counted per zone (polygons in 0..1 coordinates minus the
 * masks, rasterised once per analysis size). Persistence (`min_frames`), an
 * event gap and lighting-change rejection turn that into start/end decisions.
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

#define IOCA_MOTION_MAX_ZONES 32
#define IOCA_MOTION_MAX_DIM 16384
#define IOCA_MOTION_NAME_MAX 64

/* A named polygon in normalised coordinates: xy[2*i], xy[2*i+1] for i < npoints. */
struct ioca_motion_polygon {
	char name[IOCA_MOTION_NAME_MAX];
	const double *xy;
	size_t npoints;
};

struct ioca_motion_config {
	int analysis_width;         /* target width of the analysis image, pixels */
	double threshold;           /* per-pixel luma difference counted as change (1..255) */
	double min_area_pct;        /* changed share of a zone for it to count, percent */
	int min_frames;             /* consecutive analysed frames with motion before a start */
	double event_gap_s;         /* seconds without motion before an end */
	double lighting_change_pct; /* changed share of the frame read as a lighting change */
	const struct ioca_motion_polygon *zones; /* none: the whole frame, named "all" */
	size_t nzones;
	const struct ioca_motion_polygon *masks;
	size_t nmasks;
};

/* What one analysed frame produced. Zone sets are bit masks over zone indexes. */
struct ioca_motion_result {
	bool lighting_change;
	double changed_pct;     /* lighting change: share of the frame that changed */
	bool started;
	uint32_t start_zones;
	double box[4];          /* x, y, w, h of the changed pixels, 0..1 */
	double area_pct;        /* largest changed share of a triggering zone */
	bool ended;
	uint32_t end_zones;     /* every zone that saw motion during the event */
	double duration_s;      /* first to last frame with motion */
	double peak_area_pct;
	bool active;            /* an event is open after this frame */
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
int ioca_motion_feed(struct ioca_motion *m, const uint8_t *luma, int width, int height,
		     int stride, double t_s, struct ioca_motion_result *out);

/* Close an open event now (stream lost); fills `out` like an end. Returns whether one was open. */
bool ioca_motion_flush(struct ioca_motion *m, struct ioca_motion_result *out);

/* Forget the background (after a reconnect): the next frame is learnt, not compared. */
void ioca_motion_reset(struct ioca_motion *m);

/* Name of zone `index` ("all" for the implicit whole-frame zone). */
const char *ioca_motion_zone_name(const struct ioca_motion *m, size_t index);
size_t ioca_motion_zone_count(const struct ioca_motion *m);

/* The last block-averaged luma image (valid until the next feed); NULL before the first. */
const uint8_t *ioca_motion_image(const struct ioca_motion *m, int *width, int *height);

/*
 * Block-average `luma` (width x height through stride) into `out`, whose size
 * ioca_motion_scaled_size() gives for `target_width`. Exposed for tests and health.
 */
void ioca_motion_scaled_size(int width, int height, int target_width, int *out_w, int *out_h);
void ioca_motion_downscale(const uint8_t *luma, int width, int height, int stride,
			   uint8_t *out, int out_w, int out_h);

#endif
