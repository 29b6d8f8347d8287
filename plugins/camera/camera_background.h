/*
 * Background model of the motion analysis, on the block-averaged luma image.
 *
 * Each frame the model first fits a tone curve that maps the background into
 * the frame's lighting: for every band of background brightness the median
 * frame-minus-background difference (a joint histogram, so any global
 * monotone change is followed: light switched, dusk, auto exposure, gain),
 * interpolated between bands into a 256-entry table. A pixel is foreground
 * when the frame lies outside the range of the mapped background in its 3x3
 * neighbourhood widened by the threshold (so a shake of about one analysis
 * pixel is no motion), where the threshold rises with the measured noise.
 * Background pixels follow the frame at 1/16 per analysed frame, foreground
 * ones at 1/256, so objects do not smear into it and never vanish by learning.
 *
 * Invariant: every buffer holds w * h entries of the size given to
 * ioca_bg_init(); nothing reads outside them.
 */
#ifndef IOCA_CAMERA_BACKGROUND_H
#define IOCA_CAMERA_BACKGROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOCA_BG_BANDS 16  /* background brightness bands of the tone curve */
#define IOCA_BG_DIFFS 511 /* signed differences -255..255 */

struct ioca_bg {
	int w, h;
	size_t n;
	uint16_t *bg;     /* background, luma << 4 */
	uint8_t *mapped;  /* background in the frame's lighting (after classify) */
	uint8_t *lo, *hi; /* 3x3 minimum and maximum of mapped */
	uint8_t *tmp;
	uint8_t lut[256]; /* background luma -> expected frame luma */
	uint32_t hist[IOCA_BG_BANDS][IOCA_BG_DIFFS];
	int noise;    /* median absolute residual after the tone curve, levels */
	double shift; /* mean |tone curve - identity| over the pixels, levels */
};

/* Allocate for a w x h image. IOCA_OK or IOCA_ERROR (no memory; b is then empty). */
int ioca_bg_init(struct ioca_bg *b, int w, int h);
void ioca_bg_free(struct ioca_bg *b);

/* The background becomes `cur`. */
void ioca_bg_learn_all(struct ioca_bg *b, const uint8_t *cur);

/*
 * Fit the tone curve over the pixels where valid[i] != 0 and, when exclude is
 * not NULL, exclude[i] == 0 (the last frame's foreground: objects must not
 * bend the curve), and measure the noise there. Returns the share (percent)
 * of valid pixels differing from the background by more than `thr` before
 * any compensation (the lighting-change measure).
 */
double ioca_bg_fit(struct ioca_bg *b, const uint8_t *cur, const uint8_t *valid,
		   const uint8_t *exclude, int thr);

/* Apply the fitted tone curve to the background itself, so it stays in the
 * picture's lighting (done whenever the lighting moved by a level or more). */
void ioca_bg_relight(struct ioca_bg *b);

/*
 * Foreground flags (0/1) into fg for valid pixels, with the effective
 * threshold max(thr, noise-based); returns the number of foreground pixels.
 */
size_t ioca_bg_classify(struct ioca_bg *b, const uint8_t *cur, const uint8_t *valid, int thr,
			uint8_t *fg);

/* Learn: background pixels (fg[i] == 0) fast, foreground ones slowly. */
void ioca_bg_update(struct ioca_bg *b, const uint8_t *cur, const uint8_t *fg);

/* Take `cur` as background where labels[i] == label inside the box (inclusive). */
void ioca_bg_absorb(struct ioca_bg *b, const uint8_t *cur, const uint32_t *labels, uint32_t label,
		    int x0, int y0, int x1, int y1);

#endif
