/*
 * Foreground clean-up and connected blobs of the motion analysis.
 *
 * The foreground flags go through a 3x3 majority filter (a pixel is kept when
 * at least 5 of the 9 pixels around and including it are foreground: isolated
 * speckle such as rain or noise goes, one-pixel holes in an object fill), then
 * pixels connected across gaps of up to two pixels (8-connectivity after a
 * 3x3 dilation: leaves of a swaying tree, a textured body) are grouped into
 * blobs with their area (filtered pixels only) and box. Blobs
 * are tracked from frame to frame by overlap so each knows since when it has
 * stood still (its box stayed within a tolerance of a reference box).
 *
 * Invariant: at most IOCA_BLOBS_MAX blobs are reported per frame (the first
 * in raster order); when count > 0, labels[i] is 0 for background and
 * 1..count for a blob.
 */
#ifndef IOCA_CAMERA_BLOBS_H
#define IOCA_CAMERA_BLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOCA_BLOBS_MAX 256

struct ioca_blob {
	int x0, y0, x1, y1;     /* box, inclusive, analysis pixels */
	uint32_t area;          /* pixels */
	int rx0, ry0, rx1, ry1; /* reference box of the stillness test */
	double still_since;     /* stream time since the box stayed near the reference */
};

struct ioca_blobs {
	int w, h;
	size_t n;
	uint8_t *clean;   /* filtered foreground, 0/1 */
	uint8_t *vsum;    /* vertical 3-sums / maxima (scratch) */
	uint8_t *group;   /* clean dilated by one pixel: what is connected */
	uint8_t *zero;    /* one row of zeros (above the first and below the last row) */
	uint32_t *labels; /* blob label per pixel */
	uint32_t *parent; /* union-find over provisional labels */
	struct ioca_blob blob[IOCA_BLOBS_MAX], prev[IOCA_BLOBS_MAX];
	size_t count, nprev;
};

int ioca_blobs_init(struct ioca_blobs *b, int w, int h);
void ioca_blobs_free(struct ioca_blobs *b);

/*
 * Majority-filter `fg` (nfg pixels set) into b->clean and label it into blobs
 * (b->blob, b->count). With fewer than 5 pixels set nothing survives: count is
 * 0 and clean/labels are not touched (stale).
 */
void ioca_blobs_find(struct ioca_blobs *b, const uint8_t *fg, size_t nfg);

/*
 * Match this frame's blobs to the previous frame's by overlap, carrying their
 * stillness reference: a blob whose box moves or grows by more than the
 * tolerance starts being still again at `t`.
 */
void ioca_blobs_track(struct ioca_blobs *b, double t);

/* Forget the tracks (background re-learnt). */
void ioca_blobs_reset(struct ioca_blobs *b);

#endif
