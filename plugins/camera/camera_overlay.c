/*
 * Zone-tuning overlay rasteriser (see camera_overlay.h).
 *
 * Every write goes through put(), which clips to the picture: the primitives
 * may compute coordinates anywhere. Polygon hatching fills, row by row, the
 * spans between sorted edge crossings at the pixel centre (even-odd rule, as
 * the motion analysis rasterises zones), keeping only pixels on diagonal
 * stripes, so the picture under a mask stays visible.
 */
#include "camera_overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera_font.h"

#define HATCH_PERIOD_PX 10 /* distance between hatch stripes at 640 px width */
#define HATCH_WIDTH_PX  3
#define LINE_PX_PER_640 3 /* zone outline thickness at 640 px width */
#define REFERENCE_WIDTH 640
#define LABEL_MARGIN_PX 4
#define MAX_CROSSINGS   512 /* more than the edges of the largest polygon (256 points) */
#define LABEL_MAX       96

/* RGB yellow, magenta, red, black and white in full-range BT.601 YUV */
const struct ioca_overlay_color ioca_overlay_zone_color = {226, 1, 149};
const struct ioca_overlay_color ioca_overlay_mask_color = {105, 212, 235};
const struct ioca_overlay_color ioca_overlay_foreground_color = {76, 85, 255};
static const struct ioca_overlay_color label_bg = {0, 128, 128};
static const struct ioca_overlay_color label_fg = {255, 128, 128};

static void put(const struct ioca_overlay_image *img, int x, int y, struct ioca_overlay_color c)
{
	if (x < 0 || y < 0 || x >= img->width || y >= img->height)
		return;
	img->plane[0][(size_t)y * (size_t)img->stride[0] + (size_t)x] = c.y;
	size_t cx = (size_t)(x >> img->chroma_shift_x), cy = (size_t)(y >> img->chroma_shift_y);
	img->plane[1][cy * (size_t)img->stride[1] + cx] = c.u;
	img->plane[2][cy * (size_t)img->stride[2] + cx] = c.v;
}

static void fill(const struct ioca_overlay_image *img, int x, int y, int w, int h,
		 struct ioca_overlay_color c)
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			put(img, i, j, c);
}

/* Normalised coordinate to a pixel, bounded so the arithmetic cannot overflow. */
static int to_px(double v, int size)
{
	if (!isfinite(v))
		return -1;
	double p = floor(v * size);
	if (p < -size)
		return -size;
	if (p > 2.0 * size)
		return 2 * size;
	return (int)p;
}

static void line(const struct ioca_overlay_image *img, int x0, int y0, int x1, int y1, int t,
		 struct ioca_overlay_color c)
{
	int dx = abs(x1 - x0), dy = -abs(y1 - y0);
	int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
	int err = dx + dy, half = t / 2;
	for (;;) {
		fill(img, x0 - half, y0 - half, t, t, c);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

void ioca_overlay_outline(const struct ioca_overlay_image *img, const double *xy, size_t npoints,
			  int thickness, struct ioca_overlay_color c)
{
	int w = img->width, h = img->height;
	for (size_t i = 0; i < npoints; i++) {
		size_t j = (i + 1) % npoints;
		line(img, to_px(xy[2 * i], w), to_px(xy[2 * i + 1], h), to_px(xy[2 * j], w),
		     to_px(xy[2 * j + 1], h), thickness, c);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* First pixel whose centre is at or right of x (normalised), within 0..width. */
static int span_px(double x, int width)
{
	double p = ceil(x * width - 0.5);
	if (!(p > 0)) /* also NaN */
		return 0;
	return p > width ? width : (int)p;
}

void ioca_overlay_hatch(const struct ioca_overlay_image *img, const double *xy, size_t npoints,
			int period, int width, struct ioca_overlay_color c)
{
	double cross[MAX_CROSSINGS];
	if (npoints < 3 || period < 1)
		return;
	for (int py = 0; py < img->height; py++) {
		double yc = (py + 0.5) / img->height;
		size_t n = 0;
		for (size_t i = 0; i < npoints && n < MAX_CROSSINGS; i++) {
			size_t j = (i + 1) % npoints;
			double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j],
			       yj = xy[2 * j + 1];
			if ((yi > yc) == (yj > yc))
				continue;
			double x = xi + (yc - yi) * (xj - xi) / (yj - yi);
			cross[n++] = isfinite(x) ? x : xi > xj ? INFINITY : -INFINITY;
		}
		qsort(cross, n, sizeof cross[0], cmp_double);
		for (size_t k = 0; k + 1 < n; k += 2) {
			/* pixels whose centre lies inside [cross[k], cross[k+1]) */
			int x0 = span_px(cross[k], img->width);
			int x1 = span_px(cross[k + 1], img->width);
			for (int px = x0; px < x1; px++)
				if ((px + py) % period < width)
					put(img, px, py, c);
		}
	}
}

void ioca_overlay_rect(const struct ioca_overlay_image *img, int x, int y, int w, int h,
		       int thickness, struct ioca_overlay_color c)
{
	fill(img, x, y, w, thickness, c);
	fill(img, x, y + h - thickness, w, thickness, c);
	fill(img, x, y, thickness, h, c);
	fill(img, x + w - thickness, y, thickness, h, c);
}

void ioca_overlay_text(const struct ioca_overlay_image *img, int x, int y, int scale,
		       const char *text, struct ioca_overlay_color fg, struct ioca_overlay_color bg)
{
	int n = (int)strlen(text);
	fill(img, x - scale, y - scale, (n * CAMERA_FONT_ADVANCE + 1) * scale,
	     (CAMERA_FONT_H + 2) * scale, bg);
	for (int k = 0; k < n; k++) {
		for (int r = 0; r < CAMERA_FONT_H; r++) {
			uint8_t bits = ioca_font_row((unsigned char)text[k], r);
			for (int col = 0; col < CAMERA_FONT_W; col++)
				if (bits & (0x10u >> col))
					fill(img, x + (k * CAMERA_FONT_ADVANCE + col) * scale,
					     y + r * scale, scale, scale, fg);
		}
	}
}

int ioca_overlay_line_px(int width)
{
	int t = (width * LINE_PX_PER_640 + REFERENCE_WIDTH / 2) / REFERENCE_WIDTH;
	return t < 1 ? 1 : t;
}

int ioca_overlay_text_scale(int width)
{
	int s = (width + REFERENCE_WIDTH / 2) / REFERENCE_WIDTH * 2;
	return s < 1 ? 1 : s;
}

/* Name of a zone next to its first point, kept inside the picture. */
static void zone_label(const struct ioca_overlay_image *img, const struct ioca_motion_polygon *z,
		       int scale, int t)
{
	if (!z->name[0] || z->npoints < 1)
		return;
	int tw = ((int)strlen(z->name) * CAMERA_FONT_ADVANCE + 1) * scale;
	int th = (CAMERA_FONT_H + 2) * scale;
	int x = to_px(z->xy[0], img->width) + t + scale;
	int y = to_px(z->xy[1], img->height) + t + scale;
	if (x + tw > img->width)
		x = img->width - tw;
	if (y + th > img->height)
		y = img->height - th;
	ioca_overlay_text(img, x < scale ? scale : x, y < scale ? scale : y, scale, z->name,
			  ioca_overlay_zone_color, label_bg);
}

void ioca_overlay_draw_scene(const struct ioca_overlay_image *img,
			     const struct ioca_overlay_scene *scene)
{
	int t = ioca_overlay_line_px(img->width);
	int scale = ioca_overlay_text_scale(img->width);
	int period = HATCH_PERIOD_PX * t / LINE_PX_PER_640;
	for (size_t i = 0; i < scene->nmasks; i++) {
		const struct ioca_motion_polygon *m = &scene->masks[i];
		ioca_overlay_hatch(img, m->xy, m->npoints, period < 2 ? 2 : period,
				   HATCH_WIDTH_PX * t / LINE_PX_PER_640 + 1,
				   ioca_overlay_mask_color);
		ioca_overlay_outline(img, m->xy, m->npoints, 1, ioca_overlay_mask_color);
	}
	for (size_t i = 0; i < scene->nzones; i++)
		ioca_overlay_outline(img, scene->zones[i].xy, scene->zones[i].npoints, t,
				     ioca_overlay_zone_color);
	for (size_t i = 0; i < scene->nboxes; i++) {
		const struct ioca_overlay_box *b = &scene->boxes[i];
		int x0 = to_px(b->x, img->width), y0 = to_px(b->y, img->height);
		int x1 = to_px(b->x + b->w, img->width), y1 = to_px(b->y + b->h, img->height);
		ioca_overlay_rect(img, x0, y0, x1 - x0 + 1, y1 - y0 + 1, t,
				  ioca_overlay_foreground_color);
	}
	for (size_t i = 0; i < scene->nzones; i++)
		zone_label(img, &scene->zones[i], scale, t);
	if (scene->grid_w > 0 && scene->grid_h > 0) {
		char label[LABEL_MAX];
		snprintf(label, sizeof label, "analysis %dx%d", scene->grid_w, scene->grid_h);
		ioca_overlay_text(img, LABEL_MARGIN_PX + scale, LABEL_MARGIN_PX + scale, scale,
				  label, label_fg, label_bg);
	}
}
