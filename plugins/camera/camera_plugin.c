/*
 * Camera plugin: descriptor, lifecycle and the run loop that ties input,
 * decoding, motion analysis, health and snapshots together.
 *
 *   run: forever { open (deadline) -> camera.online -> read/decode/analyse
 *                  until the stream ends -> camera.offline -> backoff wait }
 *
 * Invariant: run() never blocks longer than a deadline: libavformat calls run
 * under the input's interrupt callback (which also sees the stop flag), and
 * every sleep is host->wait(), which a stop request cuts short. Event times
 * are the wall time of the frame that caused them.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "camera_decode.h"
#include "camera_events.h"
#include "camera_health.h"
#include "camera_input.h"
#include "camera_motion.h"
#include "camera_options.h"
#include "camera_probe.h"
#include "camera_snapshot.h"
#include "iocagent/plugin.h"

#define CAMERA_VERSION       "1.0.0"
#define ANALYSIS_TOLERANCE_S 0.01 /* a frame this early still counts as on time */
#define ERR_LEN              256
#define DEFAULT_FPS          25.0
/* Worker address-space cap unless the configuration sets one (see docs/camera.md). Not with
 * AddressSanitizer, whose shadow memory alone is terabytes of address space. */
#if defined(__SANITIZE_ADDRESS__)
#define CAMERA_MEMORY_LIMIT_MB 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CAMERA_MEMORY_LIMIT_MB 0
#endif
#endif
#ifndef CAMERA_MEMORY_LIMIT_MB
#define CAMERA_MEMORY_LIMIT_MB 2048
#endif

enum link_state {
	LINK_UNKNOWN = 0,
	LINK_ONLINE,
	LINK_OFFLINE,
};

struct camera {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	atomic_bool stop;
	struct ioca_cam_config cfg;
	struct ioca_cam_input_config in_cfg, snap_cfg;
	struct ioca_motion *motion;
	struct ioca_cam_emitter em;
	struct ioca_cam_input in;
	struct ioca_cam_decoder dec;
	struct ioca_cam_snapshot snap;
	struct ioca_cam_stats stats;
	struct ioca_cam_freeze freeze;
	struct ioca_cam_clock clock;
	struct ioca_cam_probe probe; /* test and snapshot modes */
	uint8_t *small;              /* health picture when motion is off */
	size_t small_len;

	enum link_state link;
	bool online_pending; /* camera.online waits for the first frame's size */
	const char *online_codec;
	double online_fps;
	bool ever_online;
	unsigned attempt;
	unsigned rng;
	bool stalled; /* camera.frozen sent for packets that stopped */
	int64_t stall_since_mono;

	/* per session */
	int64_t anchor_wall_ms, anchor_mono_ms;
	double anchor_t;
	bool anchored;
	double next_analysis_t;
	double period_s, frame_dt_s;
	double pkt_t;
	uint64_t session_frames, session_packets;
	int64_t next_stats_mono;
	uint64_t errors_seen;
};

static double rand01(struct camera *c)
{
	c->rng = c->rng * 1103515245u + 12345u;
	return (double)((c->rng >> 8) & 0xffffff) / (double)0x1000000;
}

static int64_t frame_wall_ms(const struct camera *c, double t)
{
	if (c->cfg.network || !c->anchored)
		return c->host->now_wall_ms();
	return c->anchor_wall_ms + (int64_t)llround((t - c->anchor_t) * 1000.0);
}

/* The largest picture the agent can deliver (ABI 1.5), 0 when none is known. */
static size_t blob_limit(const struct camera *c, bool requested)
{
	const struct ioca_host *h = c->host;
	if (h->abi_minor < 5 || !h->max_blob_bytes)
		return 0;
	return h->max_blob_bytes(c->inst, requested);
}

/* Say when a picture had to be made smaller, or could not be made small enough (the agent then
 * reports it as undeliverable: agent.record_rejected, or a too_large reply). */
static void note_fit(const struct camera *c, const char *what, size_t limit)
{
	const struct ioca_cam_snapshot_result *r = &c->snap.last;
	if (r->too_large)
		c->host->log(c->inst, IOCA_LOG_WARNING,
			     "%s: %zu bytes at %dx%d quality %d, the smallest step, is still "
			     "larger than the %zu bytes the broker takes",
			     what, r->bytes, r->width, r->height, r->quality, limit);
	else if (r->reduced)
		c->host->log(c->inst, IOCA_LOG_INFO,
			     "%s re-encoded to fit %zu bytes: %zu bytes at %dx%d quality %d", what,
			     limit, r->bytes, r->width, r->height, r->quality);
}

static void snapshot_and_start(struct camera *c, const AVFrame *f, int64_t wall,
			       const struct ioca_motion_result *r)
{
	const uint8_t *jpeg = NULL;
	size_t len = 0;
	bool have = false;
	char err[ERR_LEN] = "";
	if (c->cfg.snapshot) {
		size_t limit = blob_limit(c, false);
		int rc = c->cfg.snapshot_url
			     ? ioca_cam_snapshot_fetch(&c->snap, &c->in, &c->snap_cfg, limit, &jpeg,
						       &len, err, sizeof err)
			     : ioca_cam_snapshot_encode_fit(&c->snap, f, limit, &jpeg, &len);
		have = rc == IOCA_OK && len > 0 && len <= IOCA_BLOB_MAX_BYTES;
		if (!have)
			c->host->log(c->inst, IOCA_LOG_WARNING, "snapshot failed: %s",
				     *err ? err : "encoder error");
		else
			note_fit(c, "snapshot", limit);
	}
	ioca_cam_emit_motion_start(&c->em, wall, r, have ? &c->snap.last : NULL);
	if (have)
		c->host->emit_blob(c->inst, "snapshot", "image/jpeg", jpeg, len, wall);
}

/* Health picture: the motion image, or a block-averaged one when motion is off. */
static const uint8_t *health_picture(struct camera *c, const uint8_t *luma, int w, int h,
				     int stride, int *sw, int *sh)
{
	if (c->motion)
		return ioca_motion_image(c->motion, sw, sh);
	if (w > IOCA_MOTION_MAX_DIM || h > IOCA_MOTION_MAX_DIM)
		return NULL;
	ioca_motion_scaled_size(w, h, c->cfg.mcfg.analysis_width, sw, sh);
	size_t n = (size_t)*sw * (size_t)*sh;
	if (n > c->small_len) {
		uint8_t *p = realloc(c->small, n);
		if (!p)
			return NULL;
		c->small = p;
		c->small_len = n;
	}
	ioca_motion_downscale(luma, w, h, stride, c->small, *sw, *sh);
	return c->small;
}

/* Chroma level of a planar YUV frame for the day/night mode; -1 for other formats. */
static double chroma_level(const AVFrame *f)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
	if (!d || d->nb_components < 3 || !(d->flags & AV_PIX_FMT_FLAG_PLANAR) ||
	    (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) || d->comp[1].depth != 8 ||
	    d->comp[1].plane != 1 || d->comp[2].plane != 2 || !f->data[1] || !f->data[2])
		return -1;
	int cw = AV_CEIL_RSHIFT(f->width, d->log2_chroma_w);
	int ch = AV_CEIL_RSHIFT(f->height, d->log2_chroma_h);
	return ioca_motion_chroma_level(f->data[1], f->linesize[1], f->data[2], f->linesize[2], cw,
					ch);
}

static void analyse(struct camera *c, const AVFrame *f, double t, int64_t wall)
{
	int stride = 0;
	const uint8_t *luma = ioca_cam_decoder_luma(&c->dec, f, &stride);
	if (!luma)
		return;
	if (c->motion) {
		struct ioca_motion_result r;
		ioca_motion_set_chroma(c->motion, chroma_level(f));
		if (ioca_motion_feed(c->motion, luma, f->width, f->height, stride, t, &r) ==
		    IOCA_OK) {
			ioca_cam_probe_note_motion(&c->probe, &r);
			if (r.day_night)
				ioca_cam_emit_day_night(&c->em, wall, r.night, r.chroma);
			if (r.lighting_change)
				ioca_cam_emit_lighting(&c->em, wall, r.changed_pct);
			ioca_cam_emit_tamper(&c->em, wall, &r.tamper);
			if (r.ended)
				ioca_cam_emit_motion_end(&c->em, wall, &r);
			if (r.started)
				snapshot_and_start(c, f, wall, &r);
		}
	}
	int sw = 0, sh = 0;
	const uint8_t *pic = health_picture(c, luma, f->width, f->height, stride, &sw, &sh);
	double secs = 0;
	switch (ioca_cam_freeze_feed(&c->freeze, pic, sw, sh, t, &secs)) {
	case IOCA_FREEZE_FROZEN:
		ioca_cam_emit_frozen(&c->em, wall, true, secs, "picture");
		break;
	case IOCA_FREEZE_RESUMED:
		ioca_cam_emit_frozen(&c->em, wall, false, secs, "picture");
		break;
	case IOCA_FREEZE_NONE:
		break;
	}
}

static void announce_online(struct camera *c, int64_t wall, int width, int height);

/* The `snapshot` command (ABI 1.4): a picture of this frame of the live stream. */
static void answer_snapshot_request(struct camera *c, const AVFrame *f, int64_t wall)
{
	const struct ioca_host *h = c->host;
	if (h->abi_minor < 4 || !h->snapshot_requested || !h->snapshot_requested(c->inst))
		return;
	const uint8_t *jpeg = NULL;
	size_t len = 0;
	size_t limit = blob_limit(c, true);
	if (ioca_cam_snapshot_encode_fit(&c->snap, f, limit, &jpeg, &len) == IOCA_OK && len > 0 &&
	    len <= IOCA_BLOB_MAX_BYTES) {
		note_fit(c, "requested snapshot", limit);
		h->emit_blob(c->inst, IOCA_SNAPSHOT_SUBTOPIC, "image/jpeg", jpeg, len, wall);
	} else
		h->log(c->inst, IOCA_LOG_WARNING, "requested snapshot failed: encoder error");
}

static void on_frame(struct camera *c, const AVFrame *f)
{
	double t = c->pkt_t;
	int64_t wall = frame_wall_ms(c, t);
	if (c->online_pending)
		announce_online(c, wall, f->width, f->height);
	c->session_frames++;
	if (c->stalled) {
		c->stalled = false;
		ioca_cam_emit_frozen(
		    &c->em, wall, false,
		    (double)(c->host->now_mono_ms() - c->stall_since_mono) / 1000.0, "no_packets");
	}
	bool due = t + ANALYSIS_TOLERANCE_S >= c->next_analysis_t;
	ioca_cam_stats_frame(&c->stats, due);
	if (due) {
		c->next_analysis_t += c->period_s;
		if (c->next_analysis_t <= t)
			c->next_analysis_t = t + c->period_s;
		analyse(c, f, t, wall);
	}
	answer_snapshot_request(c, f, wall);
	if (ioca_cam_probe_frame(&c->probe, &c->snap, f, t - c->anchor_t, due, wall))
		atomic_store(&c->stop, true); /* the picture is out: the run is complete */
}

static void emit_stats(struct camera *c)
{
	struct ioca_cam_stats_report r;
	c->stats.decode_errors = c->dec.errors;
	ioca_cam_stats_report(&c->stats, c->host->now_mono_ms(), &r);
	c->host->stat_set(c->inst, "fps_in", r.fps_in);
	c->host->stat_set(c->inst, "fps_analyzed", r.fps_analyzed);
	c->host->stat_set(c->inst, "bitrate_kbps", r.bitrate_kbps);
	c->host->stat_set(c->inst, "decode_errors", (double)r.decode_errors);
	c->host->stat_set(c->inst, "reconnects", (double)r.reconnects);
	ioca_cam_emit_stats(&c->em, c->host->now_wall_ms(), &r);
}

/* Wait until a paced file reaches stream time t. Returns true when stopping. */
static bool pace(struct camera *c, double t)
{
	if (!c->cfg.realtime || c->cfg.network || !c->anchored)
		return false;
	int64_t due = c->anchor_mono_ms + (int64_t)llround((t - c->anchor_t) * 1000.0);
	int64_t left = due - c->host->now_mono_ms();
	return left > 0 && c->host->wait(c->inst, left);
}

static bool on_packet(struct camera *c, AVPacket *pkt, const AVStream *st)
{
	int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
	double pts_s = ts != AV_NOPTS_VALUE ? (double)ts * av_q2d(st->time_base) : NAN;
	c->pkt_t = ioca_cam_clock_update(&c->clock, pts_s, c->frame_dt_s);
	if (!c->anchored) {
		c->anchored = true;
		c->anchor_t = c->pkt_t;
		c->next_analysis_t = c->pkt_t;
	}
	if (pace(c, c->pkt_t))
		return true;
	if (ioca_cam_probe_packet(&c->probe, c->pkt_t - c->anchor_t)) {
		atomic_store(&c->stop, true); /* the test sample is complete */
		return true;
	}
	c->session_packets++;
	c->host->stat_add(c->inst, "packets", 1);
	ioca_cam_stats_packet(&c->stats, (size_t)pkt->size, pkt->flags & AV_PKT_FLAG_KEY, c->pkt_t);
	if (c->cfg.decode == IOCA_CAM_DECODE_NONE) {
		if (c->stalled) {
			c->stalled = false;
			ioca_cam_emit_frozen(
			    &c->em, frame_wall_ms(c, c->pkt_t), false,
			    (double)(c->host->now_mono_ms() - c->stall_since_mono) / 1000.0,
			    "no_packets");
		}
		return false;
	}
	ioca_cam_decoder_send(&c->dec, pkt);
	AVFrame *f;
	while ((f = ioca_cam_decoder_receive(&c->dec)) != NULL) {
		on_frame(c, f);
		if (atomic_load(&c->stop))
			return true;
	}
	return false;
}

static void go_offline(struct camera *c, enum ioca_cam_end why, const char *err, double retry_s)
{
	if (c->motion) {
		struct ioca_motion_result r;
		if (ioca_motion_flush(c->motion, &r)) {
			int64_t now = c->host->now_wall_ms();
			if (r.ended)
				ioca_cam_emit_motion_end(&c->em, now, &r);
			ioca_cam_emit_tamper(&c->em, now, &r.tamper);
		}
		ioca_motion_reset(c->motion);
	}
	if (why == IOCA_CAM_END_STOPPED)
		return;
	c->host->stat_add(c->inst, "failures", 1);
	if (c->link != LINK_OFFLINE) {
		c->link = LINK_OFFLINE;
		ioca_cam_emit_offline(&c->em, 0, ioca_cam_end_reason(why), err, retry_s,
				      c->cfg.url_masked);
		c->host->log(c->inst, IOCA_LOG_WARNING, "%s: %s (%s), retrying in %.1f s",
			     c->cfg.url_masked, ioca_cam_end_reason(why), err, retry_s);
	} else {
		c->host->log(c->inst, IOCA_LOG_DEBUG, "%s: %s (%s), retrying in %.1f s",
			     c->cfg.url_masked, ioca_cam_end_reason(why), err, retry_s);
	}
}

/* camera.online once the picture size is known: from the probe, or else (a probe that did not
 * decode a picture, e.g. one beyond max_pixels) from the first decoded frame. */
static void announce_online(struct camera *c, int64_t wall, int width, int height)
{
	c->online_pending = false;
	if (c->ever_online)
		c->stats.reconnects++;
	c->ever_online = true;
	c->link = LINK_ONLINE;
	ioca_cam_emit_online(&c->em, wall, c->online_codec, width, height, c->online_fps,
			     c->cfg.url_masked);
	c->host->log(c->inst, IOCA_LOG_INFO, "%s: online, %s %dx%d %.2f fps", c->cfg.url_masked,
		     c->online_codec, width, height, c->online_fps);
}

static void go_online(struct camera *c, const AVStream *st)
{
	const AVCodecParameters *par = st->codecpar;
	AVRational r = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
	double fps = r.num > 0 && r.den > 0 ? av_q2d(r) : 0;
	c->frame_dt_s = 1.0 / (fps > 0 && fps < 1000 ? fps : DEFAULT_FPS);
	c->period_s = 1.0 / c->cfg.analyze_fps;
	c->anchored = false;
	c->anchor_wall_ms = c->host->now_wall_ms();
	c->anchor_mono_ms = c->host->now_mono_ms();
	c->session_frames = c->session_packets = 0;
	ioca_cam_clock_rebase(&c->clock);
	ioca_cam_freeze_rebase(&c->freeze);
	c->online_codec = avcodec_get_name(par->codec_id);
	c->online_fps = fps;
	c->online_pending = par->width <= 0 || par->height <= 0;
	if (!c->online_pending || c->cfg.decode == IOCA_CAM_DECODE_NONE)
		announce_online(c, c->anchor_wall_ms, par->width, par->height);
}

/* Open, stream until the session ends, close. Returns why it ended. */
static enum ioca_cam_end session(struct camera *c, char *err, size_t errlen)
{
	enum ioca_cam_end why = IOCA_CAM_END_NONE;
	if (ioca_cam_input_open(&c->in, &c->in_cfg, &why, err, errlen) != IOCA_OK)
		return why;
	const AVStream *st = ioca_cam_input_stream(&c->in);
	if (ioca_cam_decoder_open(&c->dec, st, c->cfg.decode, c->cfg.skip_loop_filter,
				  c->cfg.decode_threads, err, errlen) != IOCA_OK) {
		ioca_cam_input_close(&c->in);
		return IOCA_CAM_END_UNSUPPORTED;
	}
	go_online(c, st);
	AVPacket *pkt = av_packet_alloc();
	while (pkt) {
		if (c->host->should_stop(c->inst) || atomic_load(&c->stop)) {
			why = IOCA_CAM_END_STOPPED;
			break;
		}
		int64_t now = c->host->now_mono_ms();
		if (c->cfg.stats_interval_s > 0 && now >= c->next_stats_mono) {
			if (c->next_stats_mono)
				emit_stats(c);
			c->next_stats_mono =
			    now + (int64_t)llround(c->cfg.stats_interval_s * 1000.0);
		}
		if (ioca_cam_input_read(&c->in, pkt, c->cfg.read_timeout_ms, &why, err, errlen) !=
		    IOCA_OK)
			break;
		bool stop = on_packet(c, pkt, st);
		av_packet_unref(pkt);
		if (ioca_cam_decoder_too_large(&c->dec, err, errlen)) {
			why = IOCA_CAM_END_TOO_LARGE;
			break;
		}
		if (stop) {
			why = IOCA_CAM_END_STOPPED;
			break;
		}
	}
	if (!pkt) {
		why = IOCA_CAM_END_READ_ERROR;
		snprintf(err, errlen, "out of memory");
	}
	if (why == IOCA_CAM_END_EOF || why == IOCA_CAM_END_READ_ERROR) {
		/* Frames still inside the decoder belong to this session. */
		ioca_cam_decoder_send(&c->dec, NULL);
		AVFrame *f;
		while ((f = ioca_cam_decoder_receive(&c->dec)) != NULL)
			on_frame(c, f);
	}
	av_packet_free(&pkt);
	int64_t closing = c->host->now_mono_ms();
	ioca_cam_decoder_close(&c->dec);
	ioca_cam_input_close(&c->in);
	c->host->log(c->inst, IOCA_LOG_DEBUG, "session ended (%s), closed in %lld ms",
		     ioca_cam_end_reason(why), (long long)(c->host->now_mono_ms() - closing));
	return why;
}

/* Test and snapshot runs end with their first session (camera_probe.h): a
 * file read to its end is complete, anything else is the reason of a failure. */
static int end_one_shot(struct camera *c, enum ioca_cam_end why, char *err, bool delivered)
{
	go_offline(c, IOCA_CAM_END_STOPPED, err, 0); /* closes an open motion event */
	if (why == IOCA_CAM_END_EOF && !c->cfg.network && delivered &&
	    !ioca_cam_probe_snapshot_mode(&c->probe))
		return IOCA_OK;
	if (why == IOCA_CAM_END_EOF && ioca_cam_probe_snapshot_mode(&c->probe))
		snprintf(err, ERR_LEN, "the stream ended before the picture was due");
	ioca_cam_emit_offline(&c->em, 0, ioca_cam_end_reason(why), err, 0, c->cfg.url_masked);
	c->host->log(c->inst, IOCA_LOG_ERROR, "%s: %s (%s)", c->cfg.url_masked,
		     ioca_cam_end_reason(why), err);
	return IOCA_ERROR;
}

static int camera_run(void *state)
{
	struct camera *c = state;
	while (!atomic_load(&c->stop) && !c->host->should_stop(c->inst)) {
		char err[ERR_LEN] = "";
		enum ioca_cam_end why = session(c, err, sizeof err);
		if (why == IOCA_CAM_END_STOPPED) {
			go_offline(c, why, err, 0);
			return c->probe.failed ? IOCA_ERROR : IOCA_OK;
		}
		bool delivered = c->session_frames > 0 || c->session_packets > 0;
		if (ioca_cam_probe_one_shot(&c->probe))
			return end_one_shot(c, why, err, delivered);
		c->session_frames = c->session_packets = 0;
		if (delivered)
			c->attempt = 0;
		if (why == IOCA_CAM_END_READ_TIMEOUT && !c->stalled) {
			c->stalled = true;
			c->stall_since_mono = c->host->now_mono_ms() - c->cfg.read_timeout_ms;
			ioca_cam_emit_frozen(&c->em, 0, true,
					     (double)c->cfg.read_timeout_ms / 1000.0, "no_packets");
		}
		int64_t delay = ioca_cam_backoff_ms(c->attempt, c->cfg.backoff_min_ms,
						    c->cfg.backoff_max_ms, rand01(c));
		if (c->attempt < 32)
			c->attempt++;
		go_offline(c, why, err, (double)delay / 1000.0);
		if (c->host->wait(c->inst, delay))
			break;
	}
	return IOCA_OK;
}

static void camera_stop(void *state)
{
	struct camera *c = state;
	atomic_store(&c->stop, true);
}

static void camera_destroy(void *state)
{
	struct camera *c = state;
	if (!c)
		return;
	ioca_cam_input_close(&c->in);
	ioca_cam_decoder_close(&c->dec);
	ioca_cam_snapshot_free(&c->snap);
	ioca_cam_freeze_free(&c->freeze);
	ioca_motion_free(c->motion);
	ioca_cam_av_log_detach(c->inst);
	ioca_cam_config_free(&c->cfg);
	free(c->small);
	free(c);
}

static int camera_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct camera *c = calloc(1, sizeof *c);
	if (!c) {
		host->log(inst, IOCA_LOG_ERROR, "out of memory");
		return IOCA_ERROR;
	}
	c->host = host;
	c->inst = inst;
	atomic_init(&c->stop, false);
	ioca_cam_input_init(&c->in, host, inst, &c->stop);
	c->dec.gray_fmt = -1;
	if (ioca_cam_config_load(&c->cfg, host, opts) != IOCA_OK) {
		host->log(inst, IOCA_LOG_ERROR, "out of memory loading options");
		camera_destroy(c);
		return IOCA_ERROR;
	}
	if (c->cfg.motion) {
		c->motion = ioca_motion_new(&c->cfg.mcfg);
		if (!c->motion) {
			host->log(inst, IOCA_LOG_ERROR, "invalid motion settings");
			camera_destroy(c);
			return IOCA_ERROR;
		}
	}
	if (c->cfg.old_min_area_pct)
		host->log(inst, IOCA_LOG_WARNING,
			  "min_area_pct is the old name of min_object_pct (minimum object size, "
			  "percent of the zone): rename it");
	ioca_cam_av_log_attach(host, inst);
	c->in_cfg =
	    (struct ioca_cam_input_config){c->cfg.url, c->cfg.transport, c->cfg.open_timeout_ms,
					   c->cfg.read_timeout_ms, c->cfg.max_pixels};
	c->dec.max_pixels = c->cfg.max_pixels;
	c->snap_cfg = c->in_cfg;
	c->snap_cfg.url = c->cfg.snapshot_url;
	c->em = (struct ioca_cam_emitter){host, inst, c->motion};
	ioca_cam_probe_init(&c->probe, host, inst, &c->cfg, c->motion);
	if (ioca_cam_probe_snapshot_mode(&c->probe)) {
		if (c->cfg.decode == IOCA_CAM_DECODE_NONE) {
			host->log(inst, IOCA_LOG_ERROR,
				  "a picture needs decode = \"full\" or \"keyframes\"");
			camera_destroy(c);
			return IOCA_ERROR;
		}
		c->cfg.snapshot = false; /* the one picture is the probe's */
	}
	ioca_cam_snapshot_init(&c->snap, c->cfg.snapshot_width, c->cfg.snapshot_quality);
	ioca_cam_stats_init(&c->stats, host->now_mono_ms());
	ioca_cam_freeze_init(&c->freeze, c->cfg.frozen_s);
	c->rng = (unsigned)host->now_mono_ms() ^ (unsigned)(uintptr_t)c;
	host->log(inst, IOCA_LOG_INFO, "camera %s, decode %s, motion %s", c->cfg.url_masked,
		  c->cfg.decode == IOCA_CAM_DECODE_FULL        ? "full"
		  : c->cfg.decode == IOCA_CAM_DECODE_KEYFRAMES ? "keyframes"
							       : "none",
		  c->motion ? "on" : "off");
	*state = c;
	return IOCA_OK;
}

IOCA_PLUGIN_DESCRIPTOR(
	.name = "camera", .version = CAMERA_VERSION,
	.description = "IP camera streams (RTSP/HTTP/files): health, motion with zones, snapshots",
	.options = ioca_cam_options, .check = ioca_cam_check, .create = camera_create,
	.run = camera_run, .stop = camera_stop, .destroy = camera_destroy,
	.features = IOCA_PLUGIN_F_TEST_SAMPLE | IOCA_PLUGIN_F_SNAPSHOT |
		    IOCA_PLUGIN_F_SNAPSHOT_REQUEST,
	.default_memory_limit_mb = CAMERA_MEMORY_LIMIT_MB);
