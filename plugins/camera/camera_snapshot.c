/*
 * JPEG snapshots through libswscale + libavcodec mjpeg. See camera_snapshot.h.
 * Invariant: every FFmpeg object here is owned by struct ioca_cam_snapshot and
 * released in ioca_cam_snapshot_free() (or when the size changes).
 */
#include "camera_snapshot.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "camera_decode.h"
#include "iocagent/plugin.h"

#define SNAPSHOT_FPS 25 /* nominal time base of the encoder; JPEG ignores it */

void ioca_cam_snapshot_init(struct ioca_cam_snapshot *s, int width, int quality)
{
	memset(s, 0, sizeof *s);
	s->width = width;
	s->quality = quality;
	s->src_fmt = -1;
}

static void release(struct ioca_cam_snapshot *s)
{
	avcodec_free_context(&s->enc);
	sws_freeContext(s->sws);
	s->sws = NULL;
	av_frame_free(&s->scaled);
	s->src_w = s->src_h = 0;
	s->src_fmt = -1;
}

void ioca_cam_snapshot_free(struct ioca_cam_snapshot *s)
{
	release(s);
	av_packet_free(&s->pkt);
}

static int even_down(int v)
{
	return v >= 2 ? v & ~1 : 1;
}

/* Output size of `f` scaled to `width` (never up), even, keeping the aspect. */
static void out_size(const AVFrame *f, int width, int *dw, int *dh)
{
	int w = even_down(f->width < width ? f->width : width);
	int64_t h64 = ((int64_t)f->height * w + f->width / 2) / f->width;
	*dw = w;
	*dh = even_down(h64 < 1 ? 1 : (int)h64);
}

static int setup(struct ioca_cam_snapshot *s, const AVFrame *f, int dw, int dh)
{
	release(s);
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	if (!codec)
		return IOCA_ERROR;
	s->enc = avcodec_alloc_context3(codec);
	s->scaled = av_frame_alloc();
	if (!s->pkt)
		s->pkt = av_packet_alloc();
	if (!s->enc || !s->scaled || !s->pkt)
		return IOCA_ERROR;
	s->enc->width = dw;
	s->enc->height = dh;
	s->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
	s->enc->time_base = (AVRational){1, SNAPSHOT_FPS};
	s->enc->flags |= AV_CODEC_FLAG_QSCALE;
	s->enc->global_quality = FF_QP2LAMBDA * s->quality;
	if (avcodec_open2(s->enc, codec, NULL) < 0)
		return IOCA_ERROR;
	s->scaled->format = AV_PIX_FMT_YUVJ420P;
	s->scaled->width = dw;
	s->scaled->height = dh;
	if (av_frame_get_buffer(s->scaled, 0) < 0)
		return IOCA_ERROR;
	s->scaled->pts = 0;
	s->sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, dw, dh,
				AV_PIX_FMT_YUVJ420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (!s->sws)
		return IOCA_ERROR;
	s->src_w = f->width;
	s->src_h = f->height;
	s->src_fmt = f->format;
	return IOCA_OK;
}

/* Scale `frame` to `width` into s->scaled (a new encoder when the size changes), then draw. */
static int prepare(struct ioca_cam_snapshot *s, const AVFrame *frame, int width,
		   ioca_cam_draw_fn draw, void *draw_ctx)
{
	int dw, dh;
	out_size(frame, width, &dw, &dh);
	if (frame->width != s->src_w || frame->height != s->src_h || frame->format != s->src_fmt ||
	    !s->enc || s->enc->width != dw || s->enc->height != dh) {
		if (setup(s, frame, dw, dh) != IOCA_OK) {
			release(s);
			return IOCA_ERROR;
		}
	}
	if (av_frame_make_writable(s->scaled) < 0)
		return IOCA_ERROR;
	sws_scale(s->sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
		  s->scaled->data, s->scaled->linesize);
	if (draw)
		draw(draw_ctx, s->scaled);
	return IOCA_OK;
}

/* Encode the prepared picture with quantiser `quality`. */
static int encode_at(struct ioca_cam_snapshot *s, int quality, const uint8_t **jpeg, size_t *len)
{
	s->scaled->quality = FF_QP2LAMBDA * quality;
	s->scaled->pts++;
	av_packet_unref(s->pkt);
	if (avcodec_send_frame(s->enc, s->scaled) < 0)
		return IOCA_ERROR;
	if (avcodec_receive_packet(s->enc, s->pkt) < 0)
		return IOCA_ERROR;
	*jpeg = s->pkt->data;
	*len = (size_t)s->pkt->size;
	s->last.attempts++;
	s->last.width = s->enc->width;
	s->last.height = s->enc->height;
	s->last.quality = quality;
	s->last.bytes = *len;
	return IOCA_OK;
}

static int coarser(int quality)
{
	int q = quality * 2;
	return q > IOCA_CAM_SNAPSHOT_QUALITY_MAX ? IOCA_CAM_SNAPSHOT_QUALITY_MAX : q;
}

/* The quality ladder at each width, the widest first, until the JPEG fits `limit`. */
static int encode_fitting(struct ioca_cam_snapshot *s, const AVFrame *frame, ioca_cam_draw_fn draw,
			  void *draw_ctx, size_t max_bytes, const uint8_t **jpeg, size_t *len)
{
	if (!frame || frame->width < 1 || frame->height < 1)
		return IOCA_ERROR;
	size_t limit =
	    max_bytes && max_bytes < IOCA_BLOB_MAX_BYTES ? max_bytes : IOCA_BLOB_MAX_BYTES;
	memset(&s->last, 0, sizeof s->last);
	int width = frame->width < s->width ? frame->width : s->width;
	for (int halving = 0; halving <= IOCA_CAM_SNAPSHOT_HALVINGS_MAX; halving++) {
		if (halving > 0) {
			if (width / 2 < IOCA_CAM_SNAPSHOT_MIN_WIDTH_PX)
				break;
			width /= 2;
		}
		if (prepare(s, frame, width, draw, draw_ctx) != IOCA_OK)
			return IOCA_ERROR;
		for (int q = s->quality;; q = coarser(q)) {
			if (encode_at(s, q, jpeg, len) != IOCA_OK)
				return IOCA_ERROR;
			if (*len <= limit) {
				s->last.reduced = s->last.attempts > 1;
				return IOCA_OK;
			}
			if (q >= IOCA_CAM_SNAPSHOT_QUALITY_MAX)
				break;
		}
	}
	s->last.reduced = s->last.attempts > 1;
	s->last.too_large = true;
	return IOCA_OK;
}

int ioca_cam_snapshot_encode(struct ioca_cam_snapshot *s, const AVFrame *frame,
			     const uint8_t **jpeg, size_t *len)
{
	return encode_fitting(s, frame, NULL, NULL, 0, jpeg, len);
}

int ioca_cam_snapshot_encode_fit(struct ioca_cam_snapshot *s, const AVFrame *frame,
				 size_t max_bytes, const uint8_t **jpeg, size_t *len)
{
	return encode_fitting(s, frame, NULL, NULL, max_bytes, jpeg, len);
}

int ioca_cam_snapshot_encode_drawn(struct ioca_cam_snapshot *s, const AVFrame *frame,
				   ioca_cam_draw_fn draw, void *draw_ctx, const uint8_t **jpeg,
				   size_t *len)
{
	return encode_fitting(s, frame, draw, draw_ctx, 0, jpeg, len);
}

int ioca_cam_snapshot_fetch(struct ioca_cam_snapshot *s, struct ioca_cam_input *in,
			    const struct ioca_cam_input_config *cfg, size_t max_bytes,
			    const uint8_t **jpeg, size_t *len, char *err, size_t errlen)
{
	struct ioca_cam_input main_in;
	ioca_cam_input_init(&main_in, in->host, in->inst, in->stop);
	enum ioca_cam_end why = IOCA_CAM_END_NONE;
	int64_t until = in->host->now_mono_ms() + cfg->open_timeout_ms;
	if (ioca_cam_input_open(&main_in, cfg, &why, err, errlen) != IOCA_OK)
		return IOCA_ERROR;
	struct ioca_cam_decoder dec;
	memset(&dec, 0, sizeof dec);
	dec.max_pixels = cfg->max_pixels;
	int rc = ioca_cam_decoder_open(&dec, ioca_cam_input_stream(&main_in), IOCA_CAM_DECODE_FULL,
				       false, 1, err, errlen);
	AVPacket *pkt = av_packet_alloc();
	while (rc == IOCA_OK && pkt) {
		int64_t left = until - in->host->now_mono_ms();
		if (left <= 0) {
			snprintf(err, errlen, "no picture within the open timeout");
			rc = IOCA_ERROR;
			break;
		}
		if (ioca_cam_input_read(&main_in, pkt, left, &why, err, errlen) != IOCA_OK) {
			rc = IOCA_ERROR;
			break;
		}
		ioca_cam_decoder_send(&dec, pkt);
		av_packet_unref(pkt);
		AVFrame *f = ioca_cam_decoder_receive(&dec);
		if (ioca_cam_decoder_too_large(&dec, err, errlen)) {
			rc = IOCA_ERROR;
			break;
		}
		if (f) {
			rc = ioca_cam_snapshot_encode_fit(s, f, max_bytes, jpeg, len);
			if (rc != IOCA_OK)
				snprintf(err, errlen, "JPEG encoding failed");
			break;
		}
	}
	if (!pkt) {
		snprintf(err, errlen, "out of memory");
		rc = IOCA_ERROR;
	}
	av_packet_free(&pkt);
	ioca_cam_decoder_close(&dec);
	ioca_cam_input_close(&main_in);
	return rc;
}
