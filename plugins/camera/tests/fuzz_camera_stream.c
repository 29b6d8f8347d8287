/*
 * libFuzzer target for the camera stream path: the input bytes are a stream
 * read through a custom AVIOContext (no file, no network: nested opens are
 * refused), demuxed by libavformat under the plugin's probing limits, decoded
 * by the plugin's decoder (camera_decode.c, with its max_pixels guard), and
 * every decoded frame goes through the stream clock, the statistics, the
 * frozen-picture detector and motion analysis, as in the plugin's run loop.
 *
 * Input: one flags byte, then the stream.
 *   bits 0-3  demuxer: 0 probe, else one of `formats` (the ones cameras use)
 *   bit  4    seekable
 *   bit  5    keyframes only (decode = "keyframes")
 *   bits 6-7  I/O buffer size: 1, 64, 512 or 4096 bytes per read
 * Invariant checked: no crash, leak or out-of-bounds access; no frame beyond
 * max_pixels reaches analysis.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "camera_decode.h"
#include "camera_health.h"
#include "camera_motion.h"

#define PROBE_BYTES    "32768"
#define ANALYZE_US     "500000"
#define MAX_STREAMS    "16"
#define MAX_PIXELS     (640 * 480) /* keeps an execution cheap; the guard is what is tested */
#define MAX_PACKETS    256
#define ANALYSIS_WIDTH 64
#define NOMINAL_DT_S   (1.0 / 25.0)
#define FROZEN_AFTER_S 0.5

static const char *const formats[] = {
    NULL,  "h264", "hevc",       "mjpeg",      "mpjpeg",   "mpegts", "mov",  "matroska",
    "flv", "avi",  "rtp_mpegts", "image2pipe", "rawvideo", "m4v",    "mpeg", "ivf",
};
static const int io_sizes[] = {1, 64, 512, 4096};

struct mem_io {
	const uint8_t *data;
	size_t size, pos;
};

static int mem_read(void *opaque, uint8_t *buf, int len)
{
	struct mem_io *m = opaque;
	size_t left = m->size - m->pos;
	if (left == 0)
		return AVERROR_EOF;
	size_t n = (size_t)len < left ? (size_t)len : left;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
	struct mem_io *m = opaque;
	if (whence & AVSEEK_SIZE)
		return (int64_t)m->size;
	whence &= ~AVSEEK_FORCE;
	int64_t base = whence == SEEK_CUR   ? (int64_t)m->pos
		       : whence == SEEK_END ? (int64_t)m->size
					    : 0;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return AVERROR(EINVAL);
	int64_t to = base + offset;
	if (to < 0 || to > (int64_t)m->size)
		return AVERROR(EINVAL);
	m->pos = (size_t)to;
	return to;
}

/* Playlists, references and the like would open other files or URLs: never. */
static int refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
		       AVDictionary **options)
{
	(void)s;
	(void)pb;
	(void)url;
	(void)flags;
	(void)options;
	return AVERROR(EPERM);
}

static int probe(AVFormatContext *fmt)
{
	unsigned n = fmt->nb_streams;
	AVDictionary **per = n ? av_calloc(n, sizeof *per) : NULL;
	for (unsigned i = 0; per && i < n; i++) {
		av_dict_set_int(&per[i], "max_pixels", MAX_PIXELS, 0);
		av_dict_set(&per[i], "threads", "1", 0);
	}
	int ret = avformat_find_stream_info(fmt, per);
	for (unsigned i = 0; per && i < n; i++)
		av_dict_free(&per[i]);
	av_free(per);
	return ret;
}

struct analysis {
	struct ioca_motion *motion;
	struct ioca_cam_freeze freeze;
	struct ioca_cam_stats stats;
	struct ioca_cam_clock clock;
};

static void analyse(struct analysis *a, struct ioca_cam_decoder *dec, const AVFrame *f, double t)
{
	if (ioca_cam_pixels_exceed(f->width, f->height, MAX_PIXELS))
		abort(); /* the decoder's guard let a big frame through */
	ioca_cam_stats_frame(&a->stats, true);
	int stride = 0;
	const uint8_t *luma = ioca_cam_decoder_luma(dec, f, &stride);
	if (!luma)
		return;
	struct ioca_motion_result r;
	if (ioca_motion_feed(a->motion, luma, f->width, f->height, stride, t, &r) != 0)
		return;
	int sw = 0, sh = 0;
	const uint8_t *pic = ioca_motion_image(a->motion, &sw, &sh);
	double secs;
	ioca_cam_freeze_feed(&a->freeze, pic, sw, sh, t, &secs);
}

static void run_stream(AVFormatContext *fmt, int video, bool keyframes, struct analysis *a)
{
	struct ioca_cam_decoder dec;
	memset(&dec, 0, sizeof dec);
	dec.gray_fmt = -1;
	dec.max_pixels = MAX_PIXELS;
	char err[256];
	const AVStream *st = fmt->streams[video];
	if (ioca_cam_decoder_open(&dec, st,
				  keyframes ? IOCA_CAM_DECODE_KEYFRAMES : IOCA_CAM_DECODE_FULL,
				  true, 1, err, sizeof err) != 0)
		return;
	AVPacket *pkt = av_packet_alloc();
	double t = 0;
	for (int i = 0;
	     pkt && i < MAX_PACKETS && !ioca_cam_decoder_too_large(&dec, err, sizeof err); i++) {
		if (av_read_frame(fmt, pkt) < 0)
			break;
		if (pkt->stream_index == video) {
			int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
			double pts_s =
			    ts != AV_NOPTS_VALUE ? (double)ts * av_q2d(st->time_base) : NAN;
			t = ioca_cam_clock_update(&a->clock, pts_s, NOMINAL_DT_S);
			ioca_cam_stats_packet(&a->stats, (size_t)pkt->size,
					      pkt->flags & AV_PKT_FLAG_KEY, t);
			ioca_cam_decoder_send(&dec, pkt);
			AVFrame *f;
			while ((f = ioca_cam_decoder_receive(&dec)) != NULL)
				analyse(a, &dec, f, t);
		}
		av_packet_unref(pkt);
	}
	ioca_cam_decoder_send(&dec, NULL);
	AVFrame *f;
	while ((f = ioca_cam_decoder_receive(&dec)) != NULL)
		analyse(a, &dec, f, t);
	struct ioca_cam_stats_report rep;
	ioca_cam_stats_report(&a->stats, 1000, &rep);
	av_packet_free(&pkt);
	ioca_cam_decoder_close(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	av_log_set_level(AV_LOG_QUIET);
	uint8_t flags = data[0];
	struct mem_io mem = {data + 1, size - 1, 0};
	int io_size = io_sizes[flags >> 6];
	bool seekable = flags & 0x10, keyframes = flags & 0x20;
	const AVInputFormat *ifmt = NULL;
	if (formats[flags & 0x0f]) {
		ifmt = av_find_input_format(formats[flags & 0x0f]);
		if (!ifmt)
			return 0;
	}
	uint8_t *buf = av_malloc((size_t)io_size);
	AVIOContext *io = buf ? avio_alloc_context(buf, io_size, 0, &mem, mem_read, NULL,
						   seekable ? mem_seek : NULL)
			      : NULL;
	AVFormatContext *fmt = io ? avformat_alloc_context() : NULL;
	if (!fmt) {
		if (io)
			av_freep(&io->buffer);
		else
			av_free(buf);
		avio_context_free(&io);
		return 0;
	}
	io->seekable = seekable ? AVIO_SEEKABLE_NORMAL : 0;
	fmt->pb = io;
	fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	fmt->io_open = refuse_open;
	AVDictionary *opts = NULL;
	av_dict_set(&opts, "probesize", PROBE_BYTES, 0);
	av_dict_set(&opts, "analyzeduration", ANALYZE_US, 0);
	av_dict_set(&opts, "max_streams", MAX_STREAMS, 0);
	av_dict_set(&opts, "fpsprobesize", "0", 0);
	int ret = avformat_open_input(&fmt, "", ifmt, &opts); /* frees fmt on failure */
	av_dict_free(&opts);
	struct ioca_motion_config mcfg = {.analysis_width = ANALYSIS_WIDTH,
					  .threshold = 25,
					  .min_object_pct = 0.3,
					  .min_frames = 2,
					  .event_gap_s = 1,
					  .lighting_change_pct = 60,
					  .stationary_s = 2,
					  .tamper = {.enabled = true, .raise_s = 2, .clear_s = 3}};
	struct analysis a = {.motion = ioca_motion_new(&mcfg)};
	ioca_cam_freeze_init(&a.freeze, FROZEN_AFTER_S);
	ioca_cam_stats_init(&a.stats, 0);
	if (ret >= 0 && a.motion && probe(fmt) >= 0) {
		int video = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
		if (video >= 0)
			run_stream(fmt, video, keyframes, &a);
	}
	if (ret >= 0)
		avformat_close_input(&fmt);
	ioca_motion_free(a.motion);
	ioca_cam_freeze_free(&a.freeze);
	av_freep(&io->buffer);
	avio_context_free(&io);
	return 0;
}
