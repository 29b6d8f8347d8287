/*
 * Stream health: a continuous stream clock, per-window statistics (fps in and
 * analysed, bitrate, keyframe interval, decode errors, reconnects) and frozen
 * picture detection. Free of FFmpeg types.
 *
 * Invariant: the stream clock never goes backwards and never jumps: a
 * timestamp that goes back, repeats or leaps forward (camera reboot, looping
 * server, reconnect) advances the clock by one nominal frame interval instead,
 * so every duration computed from it is >= 0 and bounded.
 */
#ifndef IOCA_CAMERA_HEALTH_H
#define IOCA_CAMERA_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest forward step between two timestamps taken at face value, seconds. */
#define IOCA_CAM_CLOCK_MAX_STEP_S 10.0

struct ioca_cam_clock {
	bool have;
	double last_pts; /* seconds */
	double t;        /* continuous stream time, seconds */
};

/* Advance the clock with a timestamp (seconds; NaN when unknown). Returns the stream time. */
double ioca_cam_clock_update(struct ioca_cam_clock *c, double pts_s, double nominal_dt_s);

/* Forget the last timestamp (new connection) but keep the time running. */
void ioca_cam_clock_rebase(struct ioca_cam_clock *c);

struct ioca_cam_stats {
	int64_t window_start_ms; /* monotonic */
	uint64_t packets, bytes, frames, analysed;
	double key_interval_sum;
	unsigned key_intervals;
	double last_key_t;
	bool have_key;
	uint64_t decode_errors; /* totals since start */
	uint64_t reconnects;
};

struct ioca_cam_stats_report {
	double fps_in;
	double fps_analyzed;
	double bitrate_kbps;
	double keyframe_interval_s; /* 0 when fewer than two keyframes in the window */
	uint64_t decode_errors;
	uint64_t reconnects;
};

void ioca_cam_stats_init(struct ioca_cam_stats *s, int64_t now_mono_ms);
void ioca_cam_stats_packet(struct ioca_cam_stats *s, size_t bytes, bool keyframe, double t_s);
void ioca_cam_stats_frame(struct ioca_cam_stats *s, bool analysed);
/* Figures of the window that ends now; starts a new window. */
void ioca_cam_stats_report(struct ioca_cam_stats *s, int64_t now_mono_ms,
			   struct ioca_cam_stats_report *out);

enum ioca_cam_freeze_change {
	IOCA_FREEZE_NONE = 0,
	IOCA_FREEZE_FROZEN,
	IOCA_FREEZE_RESUMED,
};

/* Mean absolute luma difference under which two pictures count as the same one. */
#define IOCA_CAM_FROZEN_MAD_LEVELS 0.35

struct ioca_cam_freeze {
	double frozen_after_s; /* 0 disables */
	uint8_t *ref;          /* picture the current one is compared with */
	int w, h;
	double ref_t;
	bool frozen;
};

void ioca_cam_freeze_init(struct ioca_cam_freeze *f, double frozen_after_s);
void ioca_cam_freeze_free(struct ioca_cam_freeze *f);
/*
 * Feed a small luma picture at stream time t. Reports the transition, with the
 * seconds the picture has stayed the same (at FROZEN) or stayed frozen (at RESUMED).
 */
enum ioca_cam_freeze_change ioca_cam_freeze_feed(struct ioca_cam_freeze *f, const uint8_t *img,
						 int w, int h, double t, double *seconds);
/* A new connection: the next picture becomes the reference; a frozen state is kept. */
void ioca_cam_freeze_rebase(struct ioca_cam_freeze *f);

/* Mean absolute difference of two pictures of n bytes. */
double ioca_cam_mad(const uint8_t *a, const uint8_t *b, size_t n);

#endif
