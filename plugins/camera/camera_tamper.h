/*
 * Camera tamper detection on the block-averaged luma image.
 *
 * Per frame: mean, spread (standard deviation), edge energy (mean absolute
 * neighbour difference), the share of saturated pixels and a coarse grid of
 * block means. Four conditions, each raised after holding for `raise_s` and
 * cleared after being absent for `clear_s`:
 *   covered   - spread and edge energy collapse (black, uniform, a hand);
 *   glare     - a large share of the picture saturated (flashlight, sun);
 *   defocused - sharpness (fine over coarse edge energy, so lighting cancels) well
 *               below the learnt baseline at normal brightness (spray, fog, focus);
 *   moved     - the grid's normalised correlation with the learnt reference
 *               collapses and most of its cells changed (camera turned or
 *               knocked; an object changes only the cells it covers).
 * The baseline (sharpness, saturated share, reference grid) is learnt slowly
 * and kept apart for day and night (colour and IR pictures differ), fast only
 * while it is first filled. It does not learn while any condition holds.
 *
 * Invariant: no condition is raised before the baseline of the current
 * day/night mode is filled, and each kind is raised at most once until cleared.
 */
#ifndef IOCA_CAMERA_TAMPER_H
#define IOCA_CAMERA_TAMPER_H

#include <stdbool.h>
#include <stdint.h>

enum ioca_tamper_kind {
	IOCA_TAMPER_COVERED = 0,
	IOCA_TAMPER_GLARE,
	IOCA_TAMPER_DEFOCUSED,
	IOCA_TAMPER_MOVED,
	IOCA_TAMPER_KINDS,
};

#define IOCA_TAMPER_GRID_W 32
#define IOCA_TAMPER_GRID_H 18
#define IOCA_TAMPER_GRID   (IOCA_TAMPER_GRID_W * IOCA_TAMPER_GRID_H)

struct ioca_tamper_config {
	bool enabled;
	double raise_s; /* a condition held this long is raised */
	double clear_s; /* absent this long, cleared */
};

struct ioca_tamper_baseline {
	int frames; /* frames learnt (fast until filled) */
	double sharpness, saturated;
	float grid[IOCA_TAMPER_GRID]; /* zero-mean block means */
};

struct ioca_tamper_result {
	uint32_t raised, cleared;             /* bit (1 << kind) */
	bool blind;                           /* covered, glare or defocused holds in this frame */
	double value[IOCA_TAMPER_KINDS];      /* the measure of each kind in this frame */
	double duration_s[IOCA_TAMPER_KINDS]; /* cleared: how long it was raised */
};

struct ioca_tamper {
	struct ioca_tamper_config cfg;
	struct ioca_tamper_baseline base[2]; /* day, night */
	uint32_t active;                     /* raised kinds */
	double since[IOCA_TAMPER_KINDS];     /* condition holding since (NaN: not holding) */
	double absent_since[IOCA_TAMPER_KINDS];
	double raised_at[IOCA_TAMPER_KINDS];
};

void ioca_tamper_init(struct ioca_tamper *t, const struct ioca_tamper_config *cfg);

/* Forget the baselines (new camera, new size); raised kinds stay raised until cleared. */
void ioca_tamper_forget(struct ioca_tamper *t);

/* Analyse a w x h image at stream time `t_s`; `night`: the picture is IR/grey. */
void ioca_tamper_feed(struct ioca_tamper *t, const uint8_t *img, int w, int h, bool night,
		      double t_s, struct ioca_tamper_result *out);

/* Close every raised kind (stream lost); fills cleared/duration_s. */
void ioca_tamper_flush(struct ioca_tamper *t, double t_s, struct ioca_tamper_result *out);

/* "covered", "glare", "defocused", "moved". */
const char *ioca_tamper_name(enum ioca_tamper_kind k);
/* The ONVIF event topic of the same condition, e.g. "tns1:VideoSource/ImageTooDark". */
const char *ioca_tamper_onvif_topic(enum ioca_tamper_kind k);

#endif
