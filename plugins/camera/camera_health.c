/*
 * Stream health bookkeeping: stream clock, statistics window, frozen picture.
 * See camera_health.h. Invariant: nothing here blocks or allocates per frame
 * (the freeze reference is reallocated only when the picture size changes).
 */
#include "camera_health.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FRAME_S 0.04 /* used when the stream gives no frame rate */

double ioca_cam_clock_update(struct ioca_cam_clock *c, double pts_s, double nominal_dt_s)
{
	if (!(nominal_dt_s > 0) || !isfinite(nominal_dt_s) || nominal_dt_s > 1)
		nominal_dt_s = DEFAULT_FRAME_S;
	if (!c->have) {
		c->have = true;
		if (isfinite(pts_s))
			c->last_pts = pts_s;
		return c->t;
	}
	double step = nominal_dt_s;
	if (isfinite(pts_s)) {
		double d = pts_s - c->last_pts;
		if (d > 0 && d <= IOCA_CAM_CLOCK_MAX_STEP_S)
			step = d;
		c->last_pts = pts_s;
	}
	c->t += step;
	return c->t;
}

void ioca_cam_clock_rebase(struct ioca_cam_clock *c)
{
	if (c->have)
		c->t += DEFAULT_FRAME_S;
	c->have = false;
}

void ioca_cam_stats_init(struct ioca_cam_stats *s, int64_t now_mono_ms)
{
	memset(s, 0, sizeof *s);
	s->window_start_ms = now_mono_ms;
}

void ioca_cam_stats_packet(struct ioca_cam_stats *s, size_t bytes, bool keyframe, double t_s)
{
	s->packets++;
	s->bytes += bytes;
	if (!keyframe)
		return;
	if (s->have_key && t_s > s->last_key_t) {
		s->key_interval_sum += t_s - s->last_key_t;
		s->key_intervals++;
	}
	s->last_key_t = t_s;
	s->have_key = true;
}

void ioca_cam_stats_frame(struct ioca_cam_stats *s, bool analysed)
{
	s->frames++;
	if (analysed)
		s->analysed++;
}

void ioca_cam_stats_report(struct ioca_cam_stats *s, int64_t now_mono_ms,
			   struct ioca_cam_stats_report *out)
{
	double secs = (double)(now_mono_ms - s->window_start_ms) / 1000.0;
	if (secs <= 0)
		secs = 1e-3;
	out->fps_in = (double)s->frames / secs;
	out->fps_analyzed = (double)s->analysed / secs;
	out->bitrate_kbps = (double)s->bytes * 8.0 / 1000.0 / secs;
	out->keyframe_interval_s =
	    s->key_intervals ? s->key_interval_sum / (double)s->key_intervals : 0;
	out->decode_errors = s->decode_errors;
	out->reconnects = s->reconnects;
	s->window_start_ms = now_mono_ms;
	s->packets = s->bytes = s->frames = s->analysed = 0;
	s->key_interval_sum = 0;
	s->key_intervals = 0;
}

void ioca_cam_freeze_init(struct ioca_cam_freeze *f, double frozen_after_s)
{
	memset(f, 0, sizeof *f);
	f->frozen_after_s = frozen_after_s;
}

void ioca_cam_freeze_free(struct ioca_cam_freeze *f)
{
	free(f->ref);
	f->ref = NULL;
	f->w = f->h = 0;
}

void ioca_cam_freeze_rebase(struct ioca_cam_freeze *f)
{
	f->w = f->h = 0; /* forces a new reference at the next picture */
}

double ioca_cam_mad(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n == 0)
		return 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (uint64_t)abs((int)a[i] - (int)b[i]);
	return (double)sum / (double)n;
}

static void take_reference(struct ioca_cam_freeze *f, const uint8_t *img, int w, int h, double t)
{
	size_t n = (size_t)w * (size_t)h;
	if (w != f->w || h != f->h || !f->ref) {
		uint8_t *ref = realloc(f->ref, n);
		if (!ref)
			return;
		f->ref = ref;
		f->w = w;
		f->h = h;
	}
	memcpy(f->ref, img, n);
	f->ref_t = t;
}

enum ioca_cam_freeze_change ioca_cam_freeze_feed(struct ioca_cam_freeze *f, const uint8_t *img,
						 int w, int h, double t, double *seconds)
{
	*seconds = 0;
	if (f->frozen_after_s <= 0 || !img || w < 1 || h < 1)
		return IOCA_FREEZE_NONE;
	if (w != f->w || h != f->h || !f->ref) {
		take_reference(f, img, w, h, t);
		return IOCA_FREEZE_NONE;
	}
	double mad = ioca_cam_mad(f->ref, img, (size_t)w * (size_t)h);
	double still = t - f->ref_t;
	if (mad < IOCA_CAM_FROZEN_MAD_LEVELS) {
		if (!f->frozen && still >= f->frozen_after_s) {
			f->frozen = true;
			*seconds = still;
			return IOCA_FREEZE_FROZEN;
		}
		return IOCA_FREEZE_NONE;
	}
	enum ioca_cam_freeze_change change = IOCA_FREEZE_NONE;
	if (f->frozen) {
		f->frozen = false;
		*seconds = still;
		change = IOCA_FREEZE_RESUMED;
	}
	take_reference(f, img, w, h, t);
	return change;
}
