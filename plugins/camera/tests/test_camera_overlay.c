/* The zone-tuning rasteriser on synthetic YUV 4:2:0 pictures: outlines on the
 * polygon's edges and nowhere inside, hatching exactly on the stripes of the
 * pixels whose centre is inside (even-odd, as the analysis rasterises zones),
 * glyphs of the built-in font, and no write outside the picture whatever the
 * coordinates (guard bytes around every plane). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "camera_font.h"
#include "camera_overlay.h"

#define W          64
#define H          48
#define GUARD      64
#define GREY       128
#define GUARD_BYTE 0xA5

struct picture {
	uint8_t *buf[3];
	struct ioca_overlay_image img;
};

static void picture_init(struct picture *p)
{
	int ws[3] = {W, W / 2, W / 2}, hs[3] = {H, H / 2, H / 2};
	for (int i = 0; i < 3; i++) {
		size_t n = (size_t)ws[i] * (size_t)hs[i];
		p->buf[i] = malloc(n + 2 * GUARD);
		assert_non_null(p->buf[i]);
		memset(p->buf[i], GUARD_BYTE, n + 2 * GUARD);
		memset(p->buf[i] + GUARD, GREY, n);
		p->img.plane[i] = p->buf[i] + GUARD;
		p->img.stride[i] = ws[i];
	}
	p->img.width = W;
	p->img.height = H;
	p->img.chroma_shift_x = p->img.chroma_shift_y = 1;
}

static void picture_check_guards(const struct picture *p)
{
	size_t n[3] = {(size_t)W * H, (size_t)W * H / 4, (size_t)W * H / 4};
	for (int i = 0; i < 3; i++)
		for (size_t k = 0; k < GUARD; k++) {
			assert_int_equal(p->buf[i][k], GUARD_BYTE);
			assert_int_equal(p->buf[i][GUARD + n[i] + k], GUARD_BYTE);
		}
}

static void picture_free(struct picture *p)
{
	for (int i = 0; i < 3; i++)
		free(p->buf[i]);
}

static uint8_t luma(const struct picture *p, int x, int y)
{
	return p->img.plane[0][y * p->img.stride[0] + x];
}

static const struct ioca_overlay_color RED = {76, 85, 255};
static const double SQUARE[] = {0.25, 0.25, 0.75, 0.25, 0.75, 0.75, 0.25, 0.75};

static void test_outline_on_edges(void **state)
{
	(void)state;
	struct picture p;
	picture_init(&p);
	ioca_overlay_outline(&p.img, SQUARE, 4, 1, RED);
	/* corners at (16,12) and (48,36) */
	for (int x = 16; x <= 48; x++) {
		assert_int_equal(luma(&p, x, 12), RED.y);
		assert_int_equal(luma(&p, x, 36), RED.y);
	}
	for (int y = 12; y <= 36; y++) {
		assert_int_equal(luma(&p, 16, y), RED.y);
		assert_int_equal(luma(&p, 48, y), RED.y);
	}
	for (int y = 13; y < 36; y++)
		for (int x = 17; x < 48; x++)
			assert_int_equal(luma(&p, x, y), GREY);
	assert_int_equal(p.img.plane[1][6 * p.img.stride[1] + 8], RED.u);
	assert_int_equal(p.img.plane[2][6 * p.img.stride[2] + 8], RED.v);
	picture_check_guards(&p);
	picture_free(&p);
}

static void test_hatch_exactly_inside(void **state)
{
	(void)state;
	const double tri[] = {0.1, 0.1, 0.9, 0.2, 0.3, 0.95};
	const int period = 5, width = 2;
	struct picture p;
	picture_init(&p);
	ioca_overlay_hatch(&p.img, tri, 3, period, width, RED);
	int painted = 0;
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			/* even-odd test of the pixel centre, written independently */
			double px = (x + 0.5) / W, py = (y + 0.5) / H;
			bool inside = false;
			for (int i = 0, j = 2; i < 3; j = i++) {
				double xi = tri[2 * i], yi = tri[2 * i + 1];
				double xj = tri[2 * j], yj = tri[2 * j + 1];
				if ((yi > py) != (yj > py) &&
				    px < xi + (py - yi) * (xj - xi) / (yj - yi))
					inside = !inside;
			}
			bool stripe = (x + y) % period < width;
			assert_int_equal(luma(&p, x, y), inside && stripe ? RED.y : GREY);
			painted += inside && stripe;
		}
	}
	assert_true(painted > 50);
	picture_check_guards(&p);
	picture_free(&p);
}

static void test_never_outside(void **state)
{
	(void)state;
	const double wild[] = {-3.0, -2.0, 5.0, 0.5, NAN, 0.2, 0.5, 9.0, 1.0, 1.0};
	struct picture p;
	picture_init(&p);
	ioca_overlay_outline(&p.img, wild, 5, 7, RED);
	ioca_overlay_hatch(&p.img, wild, 5, 3, 2, RED);
	ioca_overlay_rect(&p.img, -10, -10, 200, 200, 5, RED);
	ioca_overlay_text(&p.img, W - 3, H - 3, 3, "OUTSIDE", RED, RED);
	struct ioca_motion_polygon z = {.name = "a-very-long-zone-name", .xy = wild, .npoints = 5};
	struct ioca_overlay_box box = {0.9, 0.9, 0.5, 0.5};
	struct ioca_overlay_scene s = {.zones = &z,
				       .nzones = 1,
				       .masks = &z,
				       .nmasks = 1,
				       .grid_w = 320,
				       .grid_h = 180,
				       .boxes = &box,
				       .nboxes = 1};
	ioca_overlay_draw_scene(&p.img, &s);
	picture_check_guards(&p);
	picture_free(&p);
}

static void test_glyphs(void **state)
{
	(void)state;
	struct picture p;
	picture_init(&p);
	const struct ioca_overlay_color fg = {255, 128, 128}, bg = {0, 128, 128};
	ioca_overlay_text(&p.img, 4, 4, 1, "a1", fg, bg);
	for (int r = 0; r < CAMERA_FONT_H; r++) {
		for (int c = 0; c < CAMERA_FONT_W; c++) {
			bool on_a = ioca_font_row('A', r) & (0x10u >> c);
			bool on_1 = ioca_font_row('1', r) & (0x10u >> c);
			assert_int_equal(luma(&p, 4 + c, 4 + r), on_a ? fg.y : bg.y);
			assert_int_equal(luma(&p, 4 + CAMERA_FONT_ADVANCE + c, 4 + r),
					 on_1 ? fg.y : bg.y);
		}
	}
	assert_int_equal(luma(&p, 3, 3), bg.y); /* the background box has a margin */
	assert_int_equal(ioca_font_row('a', 0), ioca_font_row('A', 0));
	assert_int_equal(ioca_font_row('~', 3), 0);
	picture_check_guards(&p);
	picture_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outline_on_edges),
	    cmocka_unit_test(test_hatch_exactly_inside),
	    cmocka_unit_test(test_never_outside),
	    cmocka_unit_test(test_glyphs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
