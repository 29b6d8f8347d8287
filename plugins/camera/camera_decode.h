/*
 * Video decoding with the shortcuts analysis tolerates: skip_loop_filter,
 * keyframe-only decoding, or no decoding at all; and the luma plane of a
 * decoded frame as 8-bit samples whatever the pixel format.
 *
 * Invariant: a decoder error or a packet the demuxer marked corrupt is
 * counted (errors) and never fatal; the decoder keeps accepting packets.
 * A picture of more than max_pixels is refused when the decoder asks for its
 * buffer, before the memory is taken, and the refusal is kept (too_large).
 */
#ifndef IOCA_CAMERA_DECODE_H
#define IOCA_CAMERA_DECODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

enum ioca_cam_decode_mode {
	IOCA_CAM_DECODE_FULL = 0,
	IOCA_CAM_DECODE_KEYFRAMES,
	IOCA_CAM_DECODE_NONE,
};

/* Parse "full" | "keyframes" | "none"; IOCA_ERROR when unknown. */
int ioca_cam_decode_mode_parse(const char *s, enum ioca_cam_decode_mode *mode);

struct ioca_cam_decoder {
	enum ioca_cam_decode_mode mode;
	AVCodecContext *ctx;
	AVFrame *frame;
	uint64_t errors;
	struct SwsContext *gray; /* luma conversion for formats without an 8-bit Y plane */
	uint8_t *gray_buf;
	int gray_w, gray_h, gray_fmt;
	int64_t max_pixels;      /* width * height a picture may have; 0: no limit */
	atomic_bool too_large;   /* a picture beyond max_pixels was refused */
	atomic_int big_w, big_h; /* its size (set from decoder threads) */
};

/* Open a decoder for `st` (nothing to open in mode NONE). IOCA_ERROR with err when unsupported. */
int ioca_cam_decoder_open(struct ioca_cam_decoder *d, const AVStream *st,
			  enum ioca_cam_decode_mode mode, bool skip_loop_filter, int threads,
			  char *err, size_t errlen);

/* Feed a packet (NULL: drain). Packets the mode does not need are dropped. */
void ioca_cam_decoder_send(struct ioca_cam_decoder *d, const AVPacket *pkt);

/* Next decoded frame, or NULL when the decoder needs more input. Valid until the next call. */
AVFrame *ioca_cam_decoder_receive(struct ioca_cam_decoder *d);

/*
 * Whether a picture beyond max_pixels was refused since the decoder was
 * opened; then err says its size and the limit.
 */
bool ioca_cam_decoder_too_large(const struct ioca_cam_decoder *d, char *err, size_t errlen);

/* Whether a width x height picture is beyond `max_pixels` (0: no limit). */
bool ioca_cam_pixels_exceed(int64_t width, int64_t height, int64_t max_pixels);

/* The 8-bit luma of `f`; NULL when it cannot be had. */
const uint8_t *ioca_cam_decoder_luma(struct ioca_cam_decoder *d, const AVFrame *f, int *stride);

void ioca_cam_decoder_close(struct ioca_cam_decoder *d);

#endif
