/*
 * Background model: tone-curve fit, shake-tolerant foreground test, learning
 * and absorption. See camera_background.h for the contract.
 *
 * Invariant: the tone curve is refitted from the current frame before every
 * classification, so `lut` and `mapped` always describe the frame being
 * classified.
 */
#include "camera_background.h"

#include <stdlib.h>
#include <string.h>

#include "iocagent/plugin.h"

#define BG_SHIFT           4 /* background fixed-point fraction bits */
#define BG_ONE             (1 << BG_SHIFT)
#define BAND_SHIFT         4 /* 256 levels / 16 bands */
#define BAND_LEVELS        (1 << BAND_SHIFT)
#define BAND_MIN_PIXELS    24   /* fewer pixels in a band: interpolated from its neighbours */
#define BAND_MIN_SHARE_DIV 2000 /* ... or fewer than 1/2000 of the picture */
#define FIT_STEP           2    /* tone curve and noise from every 2nd pixel and row */
#define NOISE_FACTOR       5    /* threshold is at least this many noise MADs */
#define LEARN_SHIFT_BG     4    /* background pixels follow at 1/16 per frame */
#define LEARN_SHIFT_FG     8    /* foreground pixels at 1/256 */

int ioca_bg_init(struct ioca_bg *b, int w, int h)
{
	memset(b, 0, sizeof *b);
	size_t n = (size_t)w * (size_t)h;
	b->bg = malloc(n * sizeof *b->bg);
	b->mapped = malloc(n);
	b->lo = malloc(n);
	b->hi = malloc(n);
	b->tmp = malloc(n);
	if (!b->bg || !b->mapped || !b->lo || !b->hi || !b->tmp) {
		ioca_bg_free(b);
		return IOCA_ERROR;
	}
	b->w = w;
	b->h = h;
	b->n = n;
	for (int v = 0; v < 256; v++)
		b->lut[v] = (uint8_t)v;
	return IOCA_OK;
}

void ioca_bg_free(struct ioca_bg *b)
{
	free(b->bg);
	free(b->mapped);
	free(b->lo);
	free(b->hi);
	free(b->tmp);
	memset(b, 0, sizeof *b);
}

void ioca_bg_learn_all(struct ioca_bg *b, const uint8_t *cur)
{
	for (size_t i = 0; i < b->n; i++)
		b->bg[i] = (uint16_t)(cur[i] << BG_SHIFT);
	for (int v = 0; v < 256; v++)
		b->lut[v] = (uint8_t)v;
	b->noise = 0;
}

static inline int bg8(uint16_t v)
{
	return (v + BG_ONE / 2) >> BG_SHIFT;
}

/* Median of a histogram of `total` counts over `bins` bins, as a bin index. */
static int median_bin(const uint32_t *hist, int bins, size_t total)
{
	size_t half = (total + 1) / 2, acc = 0;
	for (int k = 0; k < bins; k++) {
		acc += hist[k];
		if (acc >= half)
			return k;
	}
	return bins - 1;
}

/* Offsets at band centres (the bands with enough pixels), interpolated into the LUT. */
static void build_lut(struct ioca_bg *b, const size_t count[IOCA_BG_BANDS], size_t total)
{
	size_t min_px = total / BAND_MIN_SHARE_DIV;
	if (min_px < BAND_MIN_PIXELS)
		min_px = BAND_MIN_PIXELS;
	int off[IOCA_BG_BANDS];
	bool ok[IOCA_BG_BANDS];
	bool any = false;
	for (int k = 0; k < IOCA_BG_BANDS; k++) {
		ok[k] = count[k] >= min_px;
		off[k] = ok[k] ? median_bin(b->hist[k], IOCA_BG_DIFFS, count[k]) - 255 : 0;
		any |= ok[k];
	}
	if (!any) {
		for (int v = 0; v < 256; v++)
			b->lut[v] = (uint8_t)v;
		return;
	}
	for (int v = 0; v < 256; v++) {
		/* Position between band centres: centre of band k is k * 16 + 8. */
		int k = (v - BAND_LEVELS / 2) >> BAND_SHIFT; /* band at or left of v */
		int lo = k, hi = k + 1;
		while (lo >= 0 && !ok[lo])
			lo--;
		while (hi < IOCA_BG_BANDS && !ok[hi])
			hi++;
		double o;
		if (lo < 0)
			o = off[hi];
		else if (hi >= IOCA_BG_BANDS)
			o = off[lo];
		else {
			double cl = lo * BAND_LEVELS + BAND_LEVELS / 2.0;
			double ch = hi * BAND_LEVELS + BAND_LEVELS / 2.0;
			double f = (v - cl) / (ch - cl);
			o = off[lo] + f * (off[hi] - off[lo]);
		}
		int e = v + (int)(o < 0 ? o - 0.5 : o + 0.5);
		b->lut[v] = (uint8_t)(e < 0 ? 0 : e > 255 ? 255 : e);
	}
}

double ioca_bg_fit(struct ioca_bg *b, const uint8_t *cur, const uint8_t *valid,
		   const uint8_t *exclude, int thr)
{
	size_t count[IOCA_BG_BANDS] = {0};
	size_t total = 0, changed = 0, fitted = 0;
	memset(b->hist, 0, sizeof b->hist);
	/* Every FIT_STEP-th pixel of every FIT_STEP-th row: a global curve and a
	 * share need thousands of samples, not every pixel. */
	for (int y = 0; y < b->h; y += FIT_STEP) {
		size_t row = (size_t)y * (size_t)b->w;
		for (int x = 0; x < b->w; x += FIT_STEP) {
			size_t i = row + (size_t)x;
			if (!valid[i])
				continue;
			int g = bg8(b->bg[i]);
			int d = (int)cur[i] - g;
			changed += (d > thr) | (d < -thr);
			total++;
			if (exclude && exclude[i])
				continue;
			int band = g >> BAND_SHIFT;
			b->hist[band][d + 255]++;
			count[band]++;
			fitted++;
		}
	}
	build_lut(b, count, fitted);
	uint64_t shift = 0;
	for (int k = 0; k < IOCA_BG_BANDS; k++) {
		int v = k * BAND_LEVELS + BAND_LEVELS / 2;
		shift += (uint64_t)abs((int)b->lut[v] - v) * count[k];
	}
	b->shift = fitted ? (double)shift / (double)fitted : 0;

	/* Noise: median absolute residual once the lighting is compensated. */
	uint32_t res[256] = {0};
	for (int y = 0; y < b->h; y += FIT_STEP) {
		size_t row = (size_t)y * (size_t)b->w;
		for (int x = 0; x < b->w; x += FIT_STEP) {
			size_t i = row + (size_t)x;
			int d = (int)cur[i] - b->lut[bg8(b->bg[i])];
			res[d < 0 ? -d : d] += valid[i] && !(exclude && exclude[i]);
		}
	}
	b->noise = fitted ? median_bin(res, 256, fitted) : 0;
	return total ? 100.0 * (double)changed / (double)total : 0;
}

void ioca_bg_relight(struct ioca_bg *b)
{
	for (size_t i = 0; i < b->n; i++) {
		int g = bg8(b->bg[i]);
		int v = (int)b->bg[i] + ((int)b->lut[g] - g) * BG_ONE;
		b->bg[i] = (uint16_t)(v < 0 ? 0 : v > 255 * BG_ONE ? 255 * BG_ONE : v);
	}
	for (int v = 0; v < 256; v++)
		b->lut[v] = (uint8_t)v;
}

static inline uint8_t min3(uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t m = a < b ? a : b;
	return m < c ? m : c;
}

static inline uint8_t max3(uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t m = a > b ? a : b;
	return m > c ? m : c;
}

/* Horizontal 3-minimum into mn and 3-maximum into mx of one row (edges clamp). */
static void row_range(const uint8_t *restrict s, uint8_t *restrict mn, uint8_t *restrict mx, int w)
{
	if (w == 1) {
		mn[0] = mx[0] = s[0];
		return;
	}
	mn[0] = s[0] < s[1] ? s[0] : s[1];
	mx[0] = s[0] > s[1] ? s[0] : s[1];
	for (int x = 1; x + 1 < w; x++) {
		mn[x] = min3(s[x - 1], s[x], s[x + 1]);
		mx[x] = max3(s[x - 1], s[x], s[x + 1]);
	}
	mn[w - 1] = s[w - 2] < s[w - 1] ? s[w - 2] : s[w - 1];
	mx[w - 1] = s[w - 2] > s[w - 1] ? s[w - 2] : s[w - 1];
}

/* Vertical 3-maximum (`take_max`) or 3-minimum of the w x h plane src into dst (edges clamp). */
static void column_range(const uint8_t *src, uint8_t *dst, int w, int h, bool take_max)
{
	for (int y = 0; y < h; y++) {
		const uint8_t *restrict up = src + (size_t)(y > 0 ? y - 1 : y) * (size_t)w;
		const uint8_t *restrict mid = src + (size_t)y * (size_t)w;
		const uint8_t *restrict dn = src + (size_t)(y + 1 < h ? y + 1 : y) * (size_t)w;
		uint8_t *restrict out = dst + (size_t)y * (size_t)w;
		if (take_max)
			for (int x = 0; x < w; x++)
				out[x] = max3(up[x], mid[x], dn[x]);
		else
			for (int x = 0; x < w; x++)
				out[x] = min3(up[x], mid[x], dn[x]);
	}
}

/* Map the background into the frame's lighting, then its 3x3 minimum and
 * maximum into lo/hi (edges clamp to the image). */
static void range3x3(struct ioca_bg *b)
{
	int w = b->w, h = b->h;
	for (size_t i = 0; i < b->n; i++)
		b->mapped[i] = b->lut[bg8(b->bg[i])];
	/* Rows: horizontal min into lo, max into tmp. */
	for (int y = 0; y < h; y++) {
		size_t row = (size_t)y * (size_t)w;
		row_range(b->mapped + row, b->lo + row, b->tmp + row, w);
	}
	/* Columns: vertical max of tmp into hi, then vertical min of lo (via tmp). */
	column_range(b->tmp, b->hi, w, h, true);
	memcpy(b->tmp, b->lo, b->n);
	column_range(b->tmp, b->lo, w, h, false);
}

size_t ioca_bg_classify(struct ioca_bg *b, const uint8_t *cur, const uint8_t *valid, int thr,
			uint8_t *fg)
{
	range3x3(b);
	int t = thr > NOISE_FACTOR * b->noise ? thr : NOISE_FACTOR * b->noise;
	const uint8_t *restrict c = cur, *restrict lo = b->lo, *restrict hi = b->hi;
	const uint8_t *restrict v = valid;
	uint8_t *restrict f = fg;
	size_t count = 0;
	for (size_t i = 0; i < b->n; i++) {
		int x = c[i];
		int out = (x > hi[i] + t) | (x + t < lo[i]);
		f[i] = (uint8_t)(out & (v[i] != 0));
		count += f[i];
	}
	return count;
}

void ioca_bg_update(struct ioca_bg *b, const uint8_t *cur, const uint8_t *fg)
{
	const uint8_t *restrict c = cur, *restrict f = fg;
	uint16_t *restrict bgp = b->bg;
	for (size_t i = 0; i < b->n; i++) {
		int bg = bgp[i];
		int gap = (c[i] << BG_SHIFT) - bg;
		int mag = gap < 0 ? -gap : gap;
		/* Rounded away from zero so the background always moves a unit. */
		int fast = (mag + (1 << LEARN_SHIFT_BG) - 1) >> LEARN_SHIFT_BG;
		int slow = (mag + (1 << LEARN_SHIFT_FG) - 1) >> LEARN_SHIFT_FG;
		int step = f[i] ? slow : fast;
		bgp[i] = (uint16_t)(gap < 0 ? bg - step : bg + step);
	}
}

void ioca_bg_absorb(struct ioca_bg *b, const uint8_t *cur, const uint32_t *labels, uint32_t label,
		    int x0, int y0, int x1, int y1)
{
	for (int y = y0; y <= y1; y++) {
		size_t row = (size_t)y * (size_t)b->w;
		for (int x = x0; x <= x1; x++) {
			if (labels[row + (size_t)x] == label)
				b->bg[row + (size_t)x] =
				    (uint16_t)(cur[row + (size_t)x] << BG_SHIFT);
		}
	}
}
