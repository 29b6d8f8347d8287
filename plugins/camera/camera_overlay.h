/*
 * The zone-tuning overlay, drawn straight onto a planar YUV picture (free of
 * FFmpeg types): zone outlines with their names, hatched masks, the analysis
 * grid size and the boxes of what the motion detector sees as foreground.
 * A small rasteriser of its own: thick lines, scanline polygon fill for the
 * hatching, rectangles and text in the built-in font (camera_font.h).
 *
 * Coordinates of polygons and boxes are normalised 0..1 of the picture (the
 * configuration's), so the drawing does not depend on the picture size.
 *
 * Invariant: nothing is ever written outside width x height (and the
 * matching chroma samples), whatever the coordinates (NaN, outside 0..1).
 */
#ifndef IOCA_CAMERA_OVERLAY_H
#define IOCA_CAMERA_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "camera_motion.h"

struct ioca_overlay_image {
	uint8_t *plane[3]; /* Y, U, V */
	int stride[3];
	int width, height;  /* of the luma plane */
	int chroma_shift_x; /* log2 of the chroma subsampling (4:2:0: 1, 1) */
	int chroma_shift_y;
};

struct ioca_overlay_color {
	uint8_t y, u, v;
};

/* Colours of the tuning picture (full-range YUV, BT.601). */
extern const struct ioca_overlay_color ioca_overlay_zone_color;       /* yellow */
extern const struct ioca_overlay_color ioca_overlay_mask_color;       /* magenta */
extern const struct ioca_overlay_color ioca_overlay_foreground_color; /* red */

/* A foreground box, normalised 0..1: x, y, w, h. */
struct ioca_overlay_box {
	double x, y, w, h;
};

/* What the tuning picture shows. */
struct ioca_overlay_scene {
	const struct ioca_motion_polygon *zones;
	size_t nzones;
	const struct ioca_motion_polygon *masks;
	size_t nmasks;
	int grid_w, grid_h; /* analysis image size; 0: unknown (no label) */
	const struct ioca_overlay_box *boxes;
	size_t nboxes;
};

/* The whole tuning overlay: masks hatched, zones outlined and named, boxes,
 * and a label with the analysis grid size in the top left corner. */
void ioca_overlay_draw_scene(const struct ioca_overlay_image *img,
			     const struct ioca_overlay_scene *scene);

/* Primitives, exposed for tests. */
void ioca_overlay_outline(const struct ioca_overlay_image *img, const double *xy, size_t npoints,
			  int thickness, struct ioca_overlay_color c);
void ioca_overlay_hatch(const struct ioca_overlay_image *img, const double *xy, size_t npoints,
			int period, int width, struct ioca_overlay_color c);
void ioca_overlay_rect(const struct ioca_overlay_image *img, int x, int y, int w, int h,
		       int thickness, struct ioca_overlay_color c);
void ioca_overlay_text(const struct ioca_overlay_image *img, int x, int y, int scale,
		       const char *text, struct ioca_overlay_color fg,
		       struct ioca_overlay_color bg);

/* Thickness of lines and scale of text for a picture of this width. */
int ioca_overlay_line_px(int width);
int ioca_overlay_text_scale(int width);

#endif
