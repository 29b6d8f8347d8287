/*
 * Snapshots: a decoded frame scaled to `snapshot_width` and encoded as JPEG
 * with libavcodec's mjpeg encoder; optionally taken from a main-stream URL.
 *
 * Invariant: the JPEG returned is owned by the snapshot object and stays
 * valid until the next call; an encoder is re-created only when the output
 * size changes.
 */
#ifndef IOCA_CAMERA_SNAPSHOT_H
#define IOCA_CAMERA_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "camera_input.h"

struct ioca_cam_snapshot {
	int width;   /* target width, pixels */
	int quality; /* mjpeg qscale, 2 (best) .. 31 */
	AVCodecContext *enc;
	struct SwsContext *sws;
	AVFrame *scaled;
	AVPacket *pkt;
	int src_w, src_h, src_fmt;
};

void ioca_cam_snapshot_init(struct ioca_cam_snapshot *s, int width, int quality);
void ioca_cam_snapshot_free(struct ioca_cam_snapshot *s);

/* Encode `frame`; on success *jpeg / *len point at the JPEG bytes. */
int ioca_cam_snapshot_encode(struct ioca_cam_snapshot *s, const AVFrame *frame,
			     const uint8_t **jpeg, size_t *len);

/* Draws onto the scaled picture (AV_PIX_FMT_YUVJ420P) before it is encoded. */
typedef void (*ioca_cam_draw_fn)(void *ctx, AVFrame *scaled);

/* Encode `frame` like ioca_cam_snapshot_encode(), calling draw (may be NULL)
 * on the scaled picture first. */
int ioca_cam_snapshot_encode_drawn(struct ioca_cam_snapshot *s, const AVFrame *frame,
				   ioca_cam_draw_fn draw, void *draw_ctx, const uint8_t **jpeg,
				   size_t *len);

/*
 * Open `cfg->url` (a main stream), decode its first picture within the
 * configured open timeout and encode it. `in` supplies the host, instance
 * and stop flag for the deadline.
 */
int ioca_cam_snapshot_fetch(struct ioca_cam_snapshot *s, struct ioca_cam_input *in,
			    const struct ioca_cam_input_config *cfg, const uint8_t **jpeg,
			    size_t *len, char *err, size_t errlen);

#endif
