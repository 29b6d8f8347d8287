/*
 * Snapshots: a decoded frame scaled to `snapshot_width` and encoded as JPEG
 * with libavcodec's mjpeg encoder; optionally taken from a main-stream URL.
 *
 * A JPEG that would be larger than the caller's limit (the largest blob the
 * agent can deliver) is encoded again smaller: first at coarser quantisers
 * (the configured one doubled each step, up to 31), then at half and a
 * quarter of the width, each with that quality ladder again, until it fits.
 * When even the smallest step does not fit, the smallest is returned marked
 * too_large: the caller sends it anyway and the agent reports it as it
 * reports every record it cannot deliver.
 *
 * Invariant: the JPEG returned is owned by the snapshot object and stays
 * valid until the next call; an encoder is re-created only when the output
 * size changes.
 */
#ifndef IOCA_CAMERA_SNAPSHOT_H
#define IOCA_CAMERA_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "camera_input.h"

/* Coarsest mjpeg quantiser, the last quality step. */
#define IOCA_CAM_SNAPSHOT_QUALITY_MAX 31
/* Width halvings after the quality steps, and the narrowest picture they go to. */
#define IOCA_CAM_SNAPSHOT_HALVINGS_MAX 2
#define IOCA_CAM_SNAPSHOT_MIN_WIDTH_PX 80

/* The JPEG the last encoding produced. */
struct ioca_cam_snapshot_result {
	int width, height; /* pixels */
	int quality;       /* mjpeg qscale used */
	size_t bytes;
	unsigned attempts; /* encodings it took */
	bool reduced;      /* quality or size below the configured ones, to fit */
	bool too_large;    /* even the smallest step is larger than the limit */
};

struct ioca_cam_snapshot {
	int width;   /* target width, pixels */
	int quality; /* mjpeg qscale, 2 (best) .. 31 */
	struct ioca_cam_snapshot_result last;
	AVCodecContext *enc;
	struct SwsContext *sws;
	AVFrame *scaled;
	AVPacket *pkt;
	int src_w, src_h, src_fmt;
};

void ioca_cam_snapshot_init(struct ioca_cam_snapshot *s, int width, int quality);
void ioca_cam_snapshot_free(struct ioca_cam_snapshot *s);

/* Encode `frame` at the configured width and quality; on success *jpeg / *len
 * point at the JPEG bytes (s->last describes them). */
int ioca_cam_snapshot_encode(struct ioca_cam_snapshot *s, const AVFrame *frame,
			     const uint8_t **jpeg, size_t *len);

/*
 * Encode `frame` into at most max_bytes (0: IOCA_BLOB_MAX_BYTES), stepping
 * quality and then size down as needed (see the top of this file). IOCA_OK
 * with *jpeg / *len and s->last (s->last.too_large when nothing fitted and
 * the smallest attempt is returned); IOCA_ERROR when encoding failed.
 */
int ioca_cam_snapshot_encode_fit(struct ioca_cam_snapshot *s, const AVFrame *frame,
				 size_t max_bytes, const uint8_t **jpeg, size_t *len);

/* Draws onto the scaled picture (AV_PIX_FMT_YUVJ420P) before it is encoded. */
typedef void (*ioca_cam_draw_fn)(void *ctx, AVFrame *scaled);

/* Encode `frame` like ioca_cam_snapshot_encode(), calling draw (may be NULL)
 * on the scaled picture first. */
int ioca_cam_snapshot_encode_drawn(struct ioca_cam_snapshot *s, const AVFrame *frame,
				   ioca_cam_draw_fn draw, void *draw_ctx, const uint8_t **jpeg,
				   size_t *len);

/*
 * Open `cfg->url` (a main stream), decode its first picture within the
 * configured open timeout and encode it into max_bytes as
 * ioca_cam_snapshot_encode_fit() does. `in` supplies the host, instance and
 * stop flag for the deadline.
 */
int ioca_cam_snapshot_fetch(struct ioca_cam_snapshot *s, struct ioca_cam_input *in,
			    const struct ioca_cam_input_config *cfg, size_t max_bytes,
			    const uint8_t **jpeg, size_t *len, char *err, size_t errlen);

#endif
