/*
 * Snapshot encoding into a size limit (camera_snapshot.c): a picture that is
 * too large at the configured quality is encoded again at coarser quality,
 * then at half and a quarter of the width, and the result is a whole JPEG of
 * the size it says; when nothing fits, the smallest step comes back marked
 * too_large. The pictures are noise, the hardest content for JPEG, so the
 * sizes are far apart and the steps are easy to tell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "camera_snapshot.h"

#define SRC_W        1280
#define SRC_H        720
#define SNAP_W       640
#define SNAP_QUALITY 5
#define NOISE_SEED   12345u
#define TINY_LIMIT   100 /* no JPEG is that small */
#define JPEG_MARKER  0xFF
#define JPEG_SOI     0xD8
#define JPEG_EOI     0xD9

static AVFrame *noise_frame(void)
{
	AVFrame *f = av_frame_alloc();
	assert_non_null(f);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = SRC_W;
	f->height = SRC_H;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	uint32_t x = NOISE_SEED;
	for (int p = 0; p < 3; p++) {
		int w = p ? SRC_W / 2 : SRC_W, h = p ? SRC_H / 2 : SRC_H;
		for (int y = 0; y < h; y++)
			for (int i = 0; i < w; i++) {
				x = x * 1103515245u + 12345u;
				f->data[p][y * f->linesize[p] + i] = (uint8_t)(x >> 16);
			}
	}
	return f;
}

/* A whole JPEG that decodes to width x height. */
static void assert_jpeg(const uint8_t *jpeg, size_t len, int width, int height)
{
	assert_true(len > 4);
	assert_int_equal(jpeg[0], JPEG_MARKER);
	assert_int_equal(jpeg[1], JPEG_SOI);
	assert_int_equal(jpeg[len - 2], JPEG_MARKER);
	assert_int_equal(jpeg[len - 1], JPEG_EOI);
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
	assert_non_null(codec);
	AVCodecContext *dec = avcodec_alloc_context3(codec);
	assert_non_null(dec);
	assert_int_equal(avcodec_open2(dec, codec, NULL), 0);
	AVPacket *pkt = av_packet_alloc();
	assert_int_equal(av_new_packet(pkt, (int)len), 0);
	memcpy(pkt->data, jpeg, len);
	assert_int_equal(avcodec_send_packet(dec, pkt), 0);
	AVFrame *out = av_frame_alloc();
	assert_int_equal(avcodec_receive_frame(dec, out), 0);
	assert_int_equal(out->width, width);
	assert_int_equal(out->height, height);
	av_frame_free(&out);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
}

struct sizes {
	size_t configured; /* at SNAP_W, SNAP_QUALITY */
	size_t coarsest;   /* at SNAP_W, the coarsest quality */
};

static struct sizes measure(const AVFrame *f)
{
	struct sizes z;
	const uint8_t *jpeg;
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, SNAP_W, SNAP_QUALITY);
	assert_int_equal(ioca_cam_snapshot_encode(&s, f, &jpeg, &z.configured), IOCA_OK);
	ioca_cam_snapshot_free(&s);
	ioca_cam_snapshot_init(&s, SNAP_W, IOCA_CAM_SNAPSHOT_QUALITY_MAX);
	assert_int_equal(ioca_cam_snapshot_encode(&s, f, &jpeg, &z.coarsest), IOCA_OK);
	ioca_cam_snapshot_free(&s);
	assert_true(z.coarsest * 2 < z.configured);
	return z;
}

static void test_no_limit_keeps_configured_settings(void **state)
{
	(void)state;
	AVFrame *f = noise_frame();
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, SNAP_W, SNAP_QUALITY);
	const uint8_t *jpeg;
	size_t len;
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, 0, &jpeg, &len), IOCA_OK);
	assert_int_equal(s.last.quality, SNAP_QUALITY);
	assert_int_equal(s.last.width, SNAP_W);
	assert_int_equal(s.last.height, SNAP_W * SRC_H / SRC_W);
	assert_int_equal(s.last.attempts, 1);
	assert_false(s.last.reduced);
	assert_false(s.last.too_large);
	assert_int_equal(s.last.bytes, len);
	/* a limit it fits costs nothing either */
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, len, &jpeg, &len), IOCA_OK);
	assert_int_equal(s.last.attempts, 1);
	assert_false(s.last.reduced);
	ioca_cam_snapshot_free(&s);
	av_frame_free(&f);
}

static void test_quality_steps_down_first(void **state)
{
	(void)state;
	AVFrame *f = noise_frame();
	struct sizes z = measure(f);
	size_t limit = (z.configured + z.coarsest) / 2;
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, SNAP_W, SNAP_QUALITY);
	const uint8_t *jpeg;
	size_t len;
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, limit, &jpeg, &len), IOCA_OK);
	assert_true(len <= limit);
	assert_true(s.last.reduced);
	assert_false(s.last.too_large);
	assert_true(s.last.quality > SNAP_QUALITY);
	assert_true(s.last.quality <= IOCA_CAM_SNAPSHOT_QUALITY_MAX);
	assert_int_equal(s.last.width, SNAP_W); /* full size while quality can do it */
	assert_true(s.last.attempts > 1);
	assert_jpeg(jpeg, len, s.last.width, s.last.height);
	/* the next picture without a limit is back at the configured settings */
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, 0, &jpeg, &len), IOCA_OK);
	assert_int_equal(s.last.quality, SNAP_QUALITY);
	assert_int_equal(len, z.configured);
	ioca_cam_snapshot_free(&s);
	av_frame_free(&f);
}

static void test_size_steps_down_after_quality(void **state)
{
	(void)state;
	AVFrame *f = noise_frame();
	struct sizes z = measure(f);
	size_t limit = z.coarsest / 2; /* no quality at full width fits */
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, SNAP_W, SNAP_QUALITY);
	const uint8_t *jpeg;
	size_t len;
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, limit, &jpeg, &len), IOCA_OK);
	assert_true(len <= limit);
	assert_false(s.last.too_large);
	assert_true(s.last.reduced);
	assert_true(s.last.width == SNAP_W / 2 || s.last.width == SNAP_W / 4);
	assert_int_equal(s.last.height, s.last.width * SRC_H / SRC_W);
	assert_jpeg(jpeg, len, s.last.width, s.last.height);
	ioca_cam_snapshot_free(&s);
	av_frame_free(&f);
}

static void test_nothing_fits_gives_the_smallest_step(void **state)
{
	(void)state;
	AVFrame *f = noise_frame();
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, SNAP_W, SNAP_QUALITY);
	const uint8_t *jpeg;
	size_t len;
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, TINY_LIMIT, &jpeg, &len), IOCA_OK);
	assert_true(s.last.too_large);
	assert_true(len > TINY_LIMIT);
	assert_int_equal(s.last.quality, IOCA_CAM_SNAPSHOT_QUALITY_MAX);
	assert_int_equal(s.last.width, SNAP_W >> IOCA_CAM_SNAPSHOT_HALVINGS_MAX);
	assert_jpeg(jpeg, len, s.last.width, s.last.height);
	ioca_cam_snapshot_free(&s);
	av_frame_free(&f);
}

static void test_narrow_snapshot_is_not_halved_below_the_minimum(void **state)
{
	(void)state;
	AVFrame *f = noise_frame();
	struct ioca_cam_snapshot s;
	ioca_cam_snapshot_init(&s, IOCA_CAM_SNAPSHOT_MIN_WIDTH_PX + 40, SNAP_QUALITY);
	const uint8_t *jpeg;
	size_t len;
	assert_int_equal(ioca_cam_snapshot_encode_fit(&s, f, TINY_LIMIT, &jpeg, &len), IOCA_OK);
	assert_true(s.last.too_large);
	assert_int_equal(s.last.width, IOCA_CAM_SNAPSHOT_MIN_WIDTH_PX + 40);
	assert_int_equal(s.last.quality, IOCA_CAM_SNAPSHOT_QUALITY_MAX);
	ioca_cam_snapshot_free(&s);
	av_frame_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_limit_keeps_configured_settings),
	    cmocka_unit_test(test_quality_steps_down_first),
	    cmocka_unit_test(test_size_steps_down_after_quality),
	    cmocka_unit_test(test_nothing_fits_gives_the_smallest_step),
	    cmocka_unit_test(test_narrow_snapshot_is_not_halved_below_the_minimum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
