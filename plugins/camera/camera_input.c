/*
 * libavformat input under deadlines. See camera_input.h.
 *
 * FFmpeg's own RTSP timeouts are not trusted (with 5.1 a stalled server is
 * noticed only after several times the `timeout` value and a closed socket
 * reads as a normal end of stream), so every blocking call runs under a
 * monotonic deadline enforced by the interrupt callback, which FFmpeg polls
 * at least every 100 ms while waiting on a socket.
 */
#include "camera_input.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/avutil.h>
#include <libavutil/log.h>

#include "camera_decode.h"
#include "url_mask.h"

#define HEARTBEAT_EVERY_MS  250
#define ANALYZE_DURATION_US "2000000" /* probe at most 2 s of stream for parameters */
/* Streams a source may declare (an SDP's media sections): a camera has a video, an audio
 * and a metadata stream or so. FFmpeg's default, 1000, lets a hostile SDP make the open
 * spend seconds in work that does not poll the interrupt callback. */
#define MAX_STREAMS     "16"
#define AV_LOG_LINE_MAX 1024
#define EAGAIN_PAUSE_MS 10

const char *ioca_cam_end_reason(enum ioca_cam_end e)
{
	switch (e) {
	case IOCA_CAM_END_NONE:
		return "none";
	case IOCA_CAM_END_STOPPED:
		return "stopped";
	case IOCA_CAM_END_OPEN_TIMEOUT:
		return "open_timeout";
	case IOCA_CAM_END_OPEN_FAILED:
		return "open_failed";
	case IOCA_CAM_END_NO_VIDEO:
		return "no_video";
	case IOCA_CAM_END_UNSUPPORTED:
		return "unsupported_codec";
	case IOCA_CAM_END_READ_TIMEOUT:
		return "read_timeout";
	case IOCA_CAM_END_EOF:
		return "end_of_stream";
	case IOCA_CAM_END_READ_ERROR:
		return "read_error";
	case IOCA_CAM_END_TOO_LARGE:
		return "too_large";
	}
	return "unknown";
}

static int interrupt_cb(void *opaque)
{
	struct ioca_cam_input *in = opaque;
	if (atomic_load(in->stop))
		return 1;
	int64_t now = in->host->now_mono_ms();
	if (now - in->last_beat_ms >= HEARTBEAT_EVERY_MS) {
		in->host->heartbeat(in->inst);
		in->last_beat_ms = now;
	}
	if (in->deadline_ms && now >= in->deadline_ms) {
		in->deadline_hit = true;
		return 1;
	}
	return 0;
}

void ioca_cam_input_init(struct ioca_cam_input *in, const struct ioca_host *host,
			 struct ioca_instance *inst, const atomic_bool *stop)
{
	memset(in, 0, sizeof *in);
	in->host = host;
	in->inst = inst;
	in->stop = stop;
	in->video_index = -1;
}

static void arm(struct ioca_cam_input *in, int64_t timeout_ms)
{
	in->deadline_hit = false;
	in->deadline_ms = in->host->now_mono_ms() + timeout_ms;
}

static void av_err(int ret, char *err, size_t errlen)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(ret, buf, sizeof buf);
	snprintf(err, errlen, "%s", buf);
}

static enum ioca_cam_end open_failure(const struct ioca_cam_input *in)
{
	if (atomic_load(in->stop))
		return IOCA_CAM_END_STOPPED;
	return in->deadline_hit ? IOCA_CAM_END_OPEN_TIMEOUT : IOCA_CAM_END_OPEN_FAILED;
}

static void set_options(AVDictionary **opts, const struct ioca_cam_input_config *cfg)
{
	if (strncmp(cfg->url, "rtsp://", 7) == 0)
		av_dict_set(opts, "rtsp_transport", cfg->transport, 0);
	else if (strncmp(cfg->url, "rtsps://", 8) == 0)
		av_dict_set(opts, "rtsp_transport", "tcp", 0);
	av_dict_set(opts, "analyzeduration", ANALYZE_DURATION_US, 0);
	av_dict_set(opts, "max_streams", MAX_STREAMS, 0);
	/* Frame rate from the stream headers: probing it costs ~20 frames of waiting. */
	av_dict_set(opts, "fpsprobesize", "0", 0);
}

/* Probe with the decoders' max_pixels set, so that probing a huge picture costs nothing
 * (its size is then unknown; the decoder's own guard names it on the first frame), and
 * with one thread each: a probe decodes a frame or two, not worth a thread pool. */
static int find_stream_info(AVFormatContext *fmt, int64_t max_pixels)
{
	unsigned n = fmt->nb_streams;
	if (max_pixels <= 0 || n == 0)
		return avformat_find_stream_info(fmt, NULL);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): one AVDictionary pointer per stream */
	AVDictionary **per_stream = av_calloc(n, sizeof *per_stream);
	if (!per_stream)
		return AVERROR(ENOMEM);
	char value[32];
	snprintf(value, sizeof value, "%lld", (long long)max_pixels);
	for (unsigned i = 0; i < n; i++) {
		av_dict_set(&per_stream[i], "max_pixels", value, 0);
		av_dict_set(&per_stream[i], "threads", "1", 0);
	}
	int ret = avformat_find_stream_info(fmt, per_stream);
	for (unsigned i = 0; i < n; i++)
		av_dict_free(&per_stream[i]);
	av_free(per_stream);
	return ret;
}

int ioca_cam_input_open(struct ioca_cam_input *in, const struct ioca_cam_input_config *cfg,
			enum ioca_cam_end *why, char *err, size_t errlen)
{
	ioca_cam_input_close(in);
	AVFormatContext *fmt = avformat_alloc_context();
	if (!fmt) {
		*why = IOCA_CAM_END_OPEN_FAILED;
		snprintf(err, errlen, "out of memory");
		return IOCA_ERROR;
	}
	fmt->interrupt_callback.callback = interrupt_cb;
	fmt->interrupt_callback.opaque = in;
	AVDictionary *opts = NULL;
	set_options(&opts, cfg);
	arm(in, cfg->open_timeout_ms);
	int ret = avformat_open_input(&fmt, cfg->url, NULL, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		/* avformat_open_input freed fmt. */
		*why = open_failure(in);
		av_err(ret, err, errlen);
		in->deadline_ms = 0;
		return IOCA_ERROR;
	}
	in->fmt = fmt;
	ret = find_stream_info(fmt, cfg->max_pixels);
	if (ret < 0) {
		*why = open_failure(in);
		av_err(ret, err, errlen);
		ioca_cam_input_close(in);
		return IOCA_ERROR;
	}
	if (atomic_load(in->stop) || in->deadline_hit) {
		*why = open_failure(in);
		snprintf(err, errlen, "stream probe interrupted");
		ioca_cam_input_close(in);
		return IOCA_ERROR;
	}
	ret = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0) {
		*why = IOCA_CAM_END_NO_VIDEO;
		snprintf(err, errlen, "no video stream");
		ioca_cam_input_close(in);
		return IOCA_ERROR;
	}
	in->video_index = ret;
	const AVCodecParameters *par = fmt->streams[ret]->codecpar;
	if (ioca_cam_pixels_exceed(par->width, par->height, cfg->max_pixels)) {
		*why = IOCA_CAM_END_TOO_LARGE;
		snprintf(err, errlen, "picture %dx%d is larger than max_pixels = %lld", par->width,
			 par->height, (long long)cfg->max_pixels);
		ioca_cam_input_close(in);
		return IOCA_ERROR;
	}
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		if ((int)i != in->video_index)
			fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	in->deadline_ms = 0;
	return IOCA_OK;
}

AVStream *ioca_cam_input_stream(const struct ioca_cam_input *in)
{
	if (!in->fmt || in->video_index < 0)
		return NULL;
	return in->fmt->streams[in->video_index];
}

int ioca_cam_input_read(struct ioca_cam_input *in, AVPacket *pkt, int64_t timeout_ms,
			enum ioca_cam_end *why, char *err, size_t errlen)
{
	if (!in->fmt) {
		*why = IOCA_CAM_END_READ_ERROR;
		snprintf(err, errlen, "not open");
		return IOCA_ERROR;
	}
	if (in->timed_out) {
		/* The previous read was cut by its deadline and returned a packet the
		 * parser still held: the stream was already silent for timeout_ms. */
		in->timed_out = false;
		*why = IOCA_CAM_END_READ_TIMEOUT;
		snprintf(err, errlen, "no packet for %.1f s", (double)timeout_ms / 1000.0);
		return IOCA_ERROR;
	}
	arm(in, timeout_ms);
	for (;;) {
		int ret = av_read_frame(in->fmt, pkt);
		if (ret >= 0) {
			if (pkt->stream_index == in->video_index) {
				in->timed_out = in->deadline_hit;
				in->deadline_ms = 0;
				return IOCA_OK;
			}
			av_packet_unref(pkt);
			continue;
		}
		if (ret == AVERROR(EAGAIN) && !in->deadline_hit && !atomic_load(in->stop)) {
			in->host->wait(in->inst, EAGAIN_PAUSE_MS);
			if (interrupt_cb(in) == 0)
				continue;
		}
		in->deadline_ms = 0;
		if (atomic_load(in->stop)) {
			*why = IOCA_CAM_END_STOPPED;
			snprintf(err, errlen, "stop requested");
		} else if (in->deadline_hit) {
			*why = IOCA_CAM_END_READ_TIMEOUT;
			snprintf(err, errlen, "no packet for %.1f s", (double)timeout_ms / 1000.0);
		} else if (ret == AVERROR_EOF) {
			*why = IOCA_CAM_END_EOF;
			snprintf(err, errlen, "end of stream");
		} else {
			*why = IOCA_CAM_END_READ_ERROR;
			av_err(ret, err, errlen);
		}
		return IOCA_ERROR;
	}
}

void ioca_cam_input_close(struct ioca_cam_input *in)
{
	if (in->fmt) {
		/* A short deadline: closing RTSP sends TEARDOWN to a server that may be gone. */
		arm(in, 1000);
		avformat_close_input(&in->fmt);
	}
	in->deadline_ms = 0;
	in->video_index = -1;
	in->timed_out = false;
}

/* FFmpeg logs through one process-wide callback; it forwards to the attached instance. */
static pthread_mutex_t av_log_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ioca_host *av_log_host;
static struct ioca_instance *av_log_inst;

static void av_log_forward(void *avcl, int level, const char *fmt, va_list vl)
{
	if (level > AV_LOG_WARNING)
		return;
	char raw[AV_LOG_LINE_MAX], line[AV_LOG_LINE_MAX];
	int print_prefix = 1;
	va_list copy;
	va_copy(copy, vl);
	int full = av_log_format_line2(avcl, level, fmt, copy, raw, sizeof raw, &print_prefix);
	va_end(copy);
	if (full >= (int)sizeof raw) {
		/* A URL cut before its '@' would not be seen as one: drop the cut word. */
		char *end = raw + strlen(raw);
		while (end > raw && end[-1] != ' ')
			*--end = '\0';
	}
	size_t n = ioca_url_mask_text(raw, line, sizeof line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	pthread_mutex_lock(&av_log_lock);
	if (av_log_host && n)
		av_log_host->log(av_log_inst, IOCA_LOG_DEBUG, "ffmpeg: %s", line);
	pthread_mutex_unlock(&av_log_lock);
}

void ioca_cam_av_log_attach(const struct ioca_host *host, struct ioca_instance *inst)
{
	pthread_mutex_lock(&av_log_lock);
	av_log_host = host;
	av_log_inst = inst;
	pthread_mutex_unlock(&av_log_lock);
	av_log_set_callback(av_log_forward);
}

void ioca_cam_av_log_detach(struct ioca_instance *inst)
{
	pthread_mutex_lock(&av_log_lock);
	if (av_log_inst == inst) {
		av_log_host = NULL;
		av_log_inst = NULL;
		/* The plugin may be unloaded next: FFmpeg must not call into it any more. */
		av_log_set_callback(av_log_default_callback);
	}
	pthread_mutex_unlock(&av_log_lock);
}
