/*
 * libavcodec decoding for the camera plugin. See camera_decode.h.
 * Invariant: in KEYFRAMES mode only key packets reach the decoder, so the
 * cost is the keyframes' alone; in NONE mode nothing is decoded.
 */
#include "camera_decode.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "iocagent/plugin.h"

int ioca_cam_decode_mode_parse(const char *s, enum ioca_cam_decode_mode *mode)
{
	if (!s)
		return IOCA_ERROR;
	if (strcmp(s, "full") == 0)
		*mode = IOCA_CAM_DECODE_FULL;
	else if (strcmp(s, "keyframes") == 0)
		*mode = IOCA_CAM_DECODE_KEYFRAMES;
	else if (strcmp(s, "none") == 0)
		*mode = IOCA_CAM_DECODE_NONE;
	else
		return IOCA_ERROR;
	return IOCA_OK;
}

bool ioca_cam_pixels_exceed(int64_t width, int64_t height, int64_t max_pixels)
{
	return max_pixels > 0 && width > 0 && height > 0 && width > max_pixels / height;
}

static void refuse(struct ioca_cam_decoder *d, int width, int height)
{
	atomic_store(&d->big_w, width);
	atomic_store(&d->big_h, height);
	atomic_store(&d->too_large, true);
}

/* Every picture buffer passes here first: the one place a big frame can be refused before
 * it costs memory. May run on decoder threads. */
static int guarded_get_buffer(AVCodecContext *ctx, AVFrame *frame, int flags)
{
	struct ioca_cam_decoder *d = ctx->opaque;
	if (ioca_cam_pixels_exceed(frame->width, frame->height, d->max_pixels)) {
		refuse(d, frame->width, frame->height);
		return AVERROR(ENOMEM);
	}
	return avcodec_default_get_buffer2(ctx, frame, flags);
}

bool ioca_cam_decoder_too_large(const struct ioca_cam_decoder *d, char *err, size_t errlen)
{
	if (!atomic_load(&d->too_large))
		return false;
	snprintf(err, errlen, "picture %dx%d is larger than max_pixels = %lld",
		 atomic_load(&d->big_w), atomic_load(&d->big_h), (long long)d->max_pixels);
	return true;
}

int ioca_cam_decoder_open(struct ioca_cam_decoder *d, const AVStream *st,
			  enum ioca_cam_decode_mode mode, bool skip_loop_filter, int threads,
			  char *err, size_t errlen)
{
	ioca_cam_decoder_close(d);
	d->mode = mode;
	atomic_store(&d->too_large, false);
	if (mode == IOCA_CAM_DECODE_NONE)
		return IOCA_OK;
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	if (!codec) {
		snprintf(err, errlen, "no decoder for codec '%s'",
			 avcodec_get_name(st->codecpar->codec_id));
		return IOCA_ERROR;
	}
	d->ctx = avcodec_alloc_context3(codec);
	d->frame = av_frame_alloc();
	if (!d->ctx || !d->frame) {
		snprintf(err, errlen, "out of memory");
		ioca_cam_decoder_close(d);
		return IOCA_ERROR;
	}
	int ret = avcodec_parameters_to_context(d->ctx, st->codecpar);
	if (ret >= 0) {
		d->ctx->pkt_timebase = st->time_base;
		d->ctx->thread_count = threads;
		d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
		d->ctx->opaque = d;
		d->ctx->get_buffer2 = guarded_get_buffer;
		if (skip_loop_filter)
			d->ctx->skip_loop_filter = AVDISCARD_ALL;
		if (mode == IOCA_CAM_DECODE_KEYFRAMES)
			d->ctx->skip_frame = AVDISCARD_NONKEY;
		ret = avcodec_open2(d->ctx, codec, NULL);
	}
	if (ret < 0) {
		char buf[AV_ERROR_MAX_STRING_SIZE];
		av_strerror(ret, buf, sizeof buf);
		snprintf(err, errlen, "cannot open decoder '%s': %s", codec->name, buf);
		ioca_cam_decoder_close(d);
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

void ioca_cam_decoder_send(struct ioca_cam_decoder *d, const AVPacket *pkt)
{
	/* The demuxer saw damage (lost or corrupt transport packets): one error. */
	if (pkt && (pkt->flags & AV_PKT_FLAG_CORRUPT))
		d->errors++;
	if (!d->ctx)
		return;
	if (pkt && d->mode == IOCA_CAM_DECODE_KEYFRAMES && !(pkt->flags & AV_PKT_FLAG_KEY))
		return;
	int ret = avcodec_send_packet(d->ctx, pkt);
	if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
		d->errors++;
}

AVFrame *ioca_cam_decoder_receive(struct ioca_cam_decoder *d)
{
	if (!d->ctx)
		return NULL;
	for (;;) {
		int ret = avcodec_receive_frame(d->ctx, d->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return NULL;
		if (ret < 0) {
			d->errors++;
			return NULL;
		}
		if (d->frame->flags & AV_FRAME_FLAG_CORRUPT || d->frame->decode_error_flags)
			d->errors++;
		if (d->frame->width < 1 || d->frame->height < 1 || !d->frame->data[0])
			continue;
		if (ioca_cam_pixels_exceed(d->frame->width, d->frame->height, d->max_pixels)) {
			/* A decoder that allocated without asking: never analyse the picture. */
			refuse(d, d->frame->width, d->frame->height);
			av_frame_unref(d->frame);
			return NULL;
		}
		return d->frame;
	}
}

/* Whether plane 0 of the format holds 8-bit luma, one byte per sample. */
static bool direct_luma(enum AVPixelFormat fmt)
{
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
	if (!desc ||
	    (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
			    AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_FLOAT)))
		return false;
	return desc->comp[0].plane == 0 && desc->comp[0].step == 1 && desc->comp[0].depth == 8 &&
	       desc->comp[0].shift == 0;
}

const uint8_t *ioca_cam_decoder_luma(struct ioca_cam_decoder *d, const AVFrame *f, int *stride)
{
	if (direct_luma((enum AVPixelFormat)f->format)) {
		*stride = f->linesize[0];
		return f->linesize[0] >= f->width ? f->data[0] : NULL;
	}
	if (f->width != d->gray_w || f->height != d->gray_h || f->format != d->gray_fmt) {
		sws_freeContext(d->gray);
		av_freep(&d->gray_buf);
		d->gray =
		    sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width,
				   f->height, AV_PIX_FMT_GRAY8, SWS_POINT, NULL, NULL, NULL);
		d->gray_buf = av_malloc((size_t)f->width * (size_t)f->height);
		d->gray_w = f->width;
		d->gray_h = f->height;
		d->gray_fmt = f->format;
	}
	if (!d->gray || !d->gray_buf)
		return NULL;
	uint8_t *dst[4] = {d->gray_buf, NULL, NULL, NULL};
	int dst_stride[4] = {f->width, 0, 0, 0};
	sws_scale(d->gray, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
		  dst_stride);
	*stride = f->width;
	return d->gray_buf;
}

void ioca_cam_decoder_close(struct ioca_cam_decoder *d)
{
	avcodec_free_context(&d->ctx);
	av_frame_free(&d->frame);
	sws_freeContext(d->gray);
	d->gray = NULL;
	av_freep(&d->gray_buf);
	d->gray_w = d->gray_h = 0;
	d->gray_fmt = -1;
}
