/*
 * Motion analysis: block-average downscale, background model with global
 * brightness compensation, zones and masks, lighting-change rejection,
 * persistence and event gap. See camera_motion.h for the contract.
 *
 * Invariant: every buffer is sized from the analysis image (aw x ah) computed
 * in ensure_size(); the zone masks are rebuilt whenever that size changes, so
 * a zone bit is never read past the end of a mask.
 *
 * The background is kept in 12.4 fixed point (luma * 16) so slow learning
 * rates do not stall on integer rounding.
 */
#include "camera_motion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iocagent/plugin.h"

#define BG_SHIFT 4                 /* background fixed-point fraction bits */
#define BG_ONE (1 << BG_SHIFT)
#define LEARN_SHIFT_STILL 3        /* still pixels follow the picture at 1/8 per frame */
#define LEARN_SHIFT_MOVING 7       /* moving pixels at 1/128: objects do not smear into it */
#define LIGHTING_SETTLE_FRAMES 2   /* frames re-learnt after a lighting change */
#define DIFF_RANGE 511             /* signed luma differences -255..255 */
#define ALL_ZONE_NAME "all"
#define FG_STILL 1                 /* differs from the background */
#define FG_MOVING 2                /* ... and from the previous frame */
#define FG_ISOLATED 4              /* moving but alone: noise */
#define NEIGHBOURS_MIN 3           /* moving neighbours a moving pixel needs to count */

_Static_assert(FG_STILL + FG_MOVING == 3 && FG_MOVING == 2 * FG_STILL,
	       "classify_and_learn() encodes fg as changed + moving");

struct zone {
	char name[IOCA_MOTION_NAME_MAX];
	double *xy;
	size_t npoints;
	size_t pixels;   /* unmasked pixels of the zone at the current size */
	size_t changed;  /* changed pixels in the current frame */
};

struct ioca_motion {
	struct ioca_motion_config cfg;
	struct zone zones[IOCA_MOTION_MAX_ZONES];
	size_t nzones;
	struct zone masks[IOCA_MOTION_MAX_ZONES];
	size_t nmasks;

	int aw, ah;          /* analysis image size; 0 until the first frame */
	int src_w, src_h;
	uint8_t *cur;        /* block-averaged frame */
	uint8_t *prev;       /* the previous analysed frame */
	uint16_t *bg;        /* background, luma << BG_SHIFT */
	uint8_t *fg;         /* changed-pixel flags of the current frame */
	uint32_t *zonebits;  /* zone membership per pixel; 0 = masked or outside every zone */
	uint8_t *unmasked;   /* 1 where no mask covers the pixel */
	bool learnt;         /* bg holds a frame */
	int settle;          /* frames left to re-learn after a lighting change */

	double last_t;
	bool have_t;
	int streak;          /* consecutive analysed frames with motion */
	double streak_t;     /* time of the first frame of the streak */
	bool active;
	double first_t, last_motion_t;
	double peak;
	uint32_t event_zones;
};

static void free_polys(struct zone *z, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(z[i].xy);
}

void ioca_motion_free(struct ioca_motion *m)
{
	if (!m)
		return;
	free_polys(m->zones, m->nzones);
	free_polys(m->masks, m->nmasks);
	free(m->cur);
	free(m->prev);
	free(m->bg);
	free(m->fg);
	free(m->zonebits);
	free(m->unmasked);
	free(m);
}

static int copy_polys(struct zone *dst, const struct ioca_motion_polygon *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (src[i].npoints < 3 || src[i].npoints > 4096 || !src[i].xy)
			return IOCA_ERROR;
		dst[i].xy = malloc(src[i].npoints * 2 * sizeof(double));
		if (!dst[i].xy)
			return IOCA_ERROR;
		for (size_t k = 0; k < src[i].npoints * 2; k++) {
			double v = src[i].xy[k];
			if (!isfinite(v))
				return IOCA_ERROR;
			dst[i].xy[k] = v;
		}
		dst[i].npoints = src[i].npoints;
		memcpy(dst[i].name, src[i].name, sizeof dst[i].name);
		dst[i].name[sizeof dst[i].name - 1] = '\0';
	}
	return IOCA_OK;
}

static bool config_valid(const struct ioca_motion_config *c)
{
	return c->analysis_width >= 1 && c->analysis_width <= IOCA_MOTION_MAX_DIM &&
	       isfinite(c->threshold) && c->threshold >= 1 && c->threshold <= 255 &&
	       isfinite(c->min_area_pct) && c->min_area_pct >= 0 && c->min_area_pct <= 100 &&
	       c->min_frames >= 1 && c->min_frames <= 1000 && isfinite(c->event_gap_s) &&
	       c->event_gap_s >= 0 && isfinite(c->lighting_change_pct) &&
	       c->lighting_change_pct > 0 && c->lighting_change_pct <= 100 &&
	       c->nzones <= IOCA_MOTION_MAX_ZONES && c->nmasks <= IOCA_MOTION_MAX_ZONES &&
	       (c->nzones == 0 || c->zones) && (c->nmasks == 0 || c->masks);
}

struct ioca_motion *ioca_motion_new(const struct ioca_motion_config *cfg)
{
	if (!cfg || !config_valid(cfg))
		return NULL;
	struct ioca_motion *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->cfg.zones = NULL;
	m->cfg.masks = NULL;
	m->nzones = cfg->nzones;
	m->nmasks = cfg->nmasks;
	if (copy_polys(m->zones, cfg->zones, cfg->nzones) != IOCA_OK ||
	    copy_polys(m->masks, cfg->masks, cfg->nmasks) != IOCA_OK) {
		ioca_motion_free(m);
		return NULL;
	}
	if (m->nzones == 0) {
		/* The implicit zone: the whole frame (a polygon is not needed). */
		m->nzones = 1;
		memcpy(m->zones[0].name, ALL_ZONE_NAME, sizeof ALL_ZONE_NAME);
	}
	return m;
}

void ioca_motion_scaled_size(int width, int height, int target_width, int *out_w, int *out_h)
{
	if (target_width < 1)
		target_width = 1;
	int fx = width / target_width;
	if (fx < 1)
		fx = 1;
	int fy = fx < height ? fx : height;
	if (fy < 1)
		fy = 1;
	*out_w = width / fx;
	*out_h = height / fy;
}

/*
 * Sums of fx adjacent column sums, one per output pixel. Called with a
 * constant fx from downscale_row() so the compiler unrolls the inner loop.
 */
static inline void block_sums(const uint16_t *restrict col, uint32_t *restrict sums, int out_w,
			      int fx)
{
	for (int ox = 0; ox < out_w; ox++) {
		uint32_t sum = 0;
		for (int dx = 0; dx < fx; dx++)
			sum += col[(size_t)ox * (size_t)fx + (size_t)dx];
		sums[ox] = sum;
	}
}

static void block_sums_any(const uint16_t *col, uint32_t *sums, int out_w, int fx)
{
	switch (fx) {
	case 1: block_sums(col, sums, out_w, 1); break;
	case 2: block_sums(col, sums, out_w, 2); break;
	case 3: block_sums(col, sums, out_w, 3); break;
	case 4: block_sums(col, sums, out_w, 4); break;
	case 6: block_sums(col, sums, out_w, 6); break;
	case 8: block_sums(col, sums, out_w, 8); break;
	default: block_sums(col, sums, out_w, fx); break;
	}
}

/*
 * Column sums first (a contiguous add over each source row, which the compiler
 * vectorises), then the horizontal sums of each block (unrolled for the usual
 * factors): every source pixel is touched once by the cheap loop. 16-bit
 * column sums (twice the vector width) while fy * 255 fits, else 32-bit.
 */
void ioca_motion_downscale(const uint8_t *luma, int width, int height, int stride, uint8_t *out,
			   int out_w, int out_h)
{
	int fx = width / out_w;
	int fy = height / out_h;
	size_t used_w = (size_t)out_w * (size_t)fx;
	uint64_t area = (uint64_t)fx * (uint64_t)fy;
	/* Rounded division by area as a multiply: exact for areas up to 256, within one
	 * level above (per-pixel divisions cost more than the rest of the analysis). */
	uint64_t inv = ((UINT64_C(1) << 32) + area - 1) / area;
	bool narrow = fy <= UINT16_MAX / 255;
	uint32_t *col = malloc(used_w * sizeof *col);
	uint16_t *col16 = malloc(used_w * sizeof *col16);
	uint32_t *sums = malloc((size_t)out_w * sizeof *sums);
	if (!col || !col16 || !sums) {
		free(col);
		free(col16);
		free(sums);
		memset(out, 0, (size_t)out_w * (size_t)out_h);
		return;
	}
	for (int oy = 0; oy < out_h; oy++) {
		const uint8_t *first = luma + (size_t)(oy * fy) * (size_t)stride;
		if (narrow) {
			for (size_t x = 0; x < used_w; x++)
				col16[x] = first[x];
			for (int dy = 1; dy < fy; dy++) {
				const uint8_t *row = first + (size_t)dy * (size_t)stride;
				for (size_t x = 0; x < used_w; x++)
					col16[x] = (uint16_t)(col16[x] + row[x]);
			}
			block_sums_any(col16, sums, out_w, fx);
		} else {
			memset(col, 0, used_w * sizeof *col);
			for (int dy = 0; dy < fy; dy++) {
				const uint8_t *row = first + (size_t)dy * (size_t)stride;
				for (size_t x = 0; x < used_w; x++)
					col[x] += row[x];
			}
			const uint32_t *c = col;
			for (int ox = 0; ox < out_w; ox++, c += fx) {
				uint32_t sum = 0;
				for (int dx = 0; dx < fx; dx++)
					sum += c[dx];
				sums[ox] = sum;
			}
		}
		uint8_t *o = out + (size_t)oy * (size_t)out_w;
		for (int ox = 0; ox < out_w; ox++) {
			uint64_t q = (((uint64_t)sums[ox] + area / 2) * inv) >> 32;
			o[ox] = (uint8_t)(q > 255 ? 255 : q);
		}
	}
	free(col);
	free(col16);
	free(sums);
}

/* Even-odd rule at point (px, py). */
static bool inside(const struct zone *z, double px, double py)
{
	bool in = false;
	size_t n = z->npoints;
	for (size_t i = 0, j = n - 1; i < n; j = i++) {
		double xi = z->xy[2 * i], yi = z->xy[2 * i + 1];
		double xj = z->xy[2 * j], yj = z->xy[2 * j + 1];
		if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

static void rasterise(struct ioca_motion *m)
{
	for (size_t z = 0; z < m->nzones; z++)
		m->zones[z].pixels = 0;
	for (int y = 0; y < m->ah; y++) {
		double py = (y + 0.5) / m->ah;
		for (int x = 0; x < m->aw; x++) {
			double px = (x + 0.5) / m->aw;
			size_t i = (size_t)y * (size_t)m->aw + (size_t)x;
			uint32_t bits = 0;
			bool masked = false;
			for (size_t k = 0; k < m->nmasks && !masked; k++)
				masked = inside(&m->masks[k], px, py);
			for (size_t z = 0; z < m->nzones && !masked; z++) {
				if (m->zones[z].xy == NULL || inside(&m->zones[z], px, py)) {
					bits |= 1u << z;
					m->zones[z].pixels++;
				}
			}
			m->zonebits[i] = bits;
			m->unmasked[i] = !masked;
		}
	}
}

static int ensure_size(struct ioca_motion *m, int width, int height)
{
	if (width == m->src_w && height == m->src_h && m->cur)
		return IOCA_OK;
	int aw, ah;
	ioca_motion_scaled_size(width, height, m->cfg.analysis_width, &aw, &ah);
	size_t n = (size_t)aw * (size_t)ah;
	uint8_t *cur = malloc(n);
	uint16_t *bg = malloc(n * sizeof *bg);
	uint8_t *fg = malloc(n);
	uint32_t *zb = malloc(n * sizeof *zb);
	uint8_t *um = malloc(n);
	uint8_t *prev = malloc(n);
	if (!cur || !bg || !fg || !zb || !um || !prev) {
		free(prev);
		free(cur);
		free(bg);
		free(fg);
		free(zb);
		free(um);
		return IOCA_ERROR;
	}
	free(m->cur);
	free(m->bg);
	free(m->fg);
	free(m->zonebits);
	free(m->unmasked);
	free(m->prev);
	m->prev = prev;
	m->unmasked = um;
	m->cur = cur;
	m->bg = bg;
	m->fg = fg;
	m->zonebits = zb;
	m->aw = aw;
	m->ah = ah;
	m->src_w = width;
	m->src_h = height;
	m->learnt = false;
	rasterise(m);
	return IOCA_OK;
}

static void learn_all(struct ioca_motion *m)
{
	size_t n = (size_t)m->aw * (size_t)m->ah;
	for (size_t i = 0; i < n; i++)
		m->bg[i] = (uint16_t)(m->cur[i] << BG_SHIFT);
	memcpy(m->prev, m->cur, n);
	m->learnt = true;
}

static int median_of(const uint32_t *hist, size_t total)
{
	if (total == 0)
		return 0;
	size_t half = (total + 1) / 2, acc = 0;
	for (int k = 0; k < DIFF_RANGE; k++) {
		acc += hist[k];
		if (acc >= half)
			return k - 255;
	}
	return 0;
}

/*
 * One pass over the unmasked pixels: the global brightness shifts (median of
 * frame - background, and of frame - previous frame) and the share of pixels
 * differing from the background by more than the threshold before any
 * compensation (for the lighting-change test).
 */
static void measure(const struct ioca_motion *m, int *shift, int *shift_prev, double *raw_pct)
{
	uint32_t hist_bg[DIFF_RANGE] = {0}, hist_prev[DIFF_RANGE] = {0};
	size_t n = (size_t)m->aw * (size_t)m->ah, total = 0, changed = 0;
	const int thr = (int)m->cfg.threshold;
	const uint8_t *restrict cur = m->cur;
	const uint8_t *restrict prev = m->prev;
	const uint16_t *restrict bgp = m->bg;
	const uint8_t *restrict unmasked = m->unmasked;
	for (size_t i = 0; i < n; i++) {
		if (!unmasked[i])
			continue;
		int c = cur[i];
		int d = c - ((bgp[i] + BG_ONE / 2) >> BG_SHIFT);
		hist_bg[d + 255]++;
		hist_prev[c - (int)prev[i] + 255]++;
		changed += (d > thr) | (d < -thr);
		total++;
	}
	*shift = median_of(hist_bg, total);
	*shift_prev = median_of(hist_prev, total);
	*raw_pct = total ? 100.0 * (double)changed / (double)total : 0;
}

/*
 * Flag pixels after removing the global shifts: fg = differs from the
 * background (FG_STILL) and, for a moving one, also from the previous frame
 * (FG_MOVING). Only moving pixels count as motion, so an object that stops is
 * no longer motion at the next analysed frame; it then fades into the
 * background. Counts moving pixels per zone and updates the background.
 */
static void classify_and_learn(struct ioca_motion *m, int shift, int shift_prev)
{
	size_t n = (size_t)m->aw * (size_t)m->ah;
	const int thr = (int)m->cfg.threshold;
	const int bg_shift = shift * BG_ONE;
	/* Local restrict pointers and branch-free arithmetic: the compiler vectorises
	 * this loop (with noisy pictures the signs of d and gap are random, and the
	 * branches of a scalar loop were mispredicted about once per pixel). */
	const uint8_t *restrict cur = m->cur;
	uint8_t *restrict prev = m->prev;
	uint8_t *restrict fg = m->fg;
	uint16_t *restrict bgp = m->bg;
	const uint32_t *restrict zonebits = m->zonebits;
	for (size_t z = 0; z < m->nzones; z++)
		m->zones[z].changed = 0;
	for (size_t i = 0; i < n; i++) {
		int bg = (int)bgp[i] + bg_shift;
		bg = bg < 0 ? 0 : bg;
		bg = bg > 255 * BG_ONE ? 255 * BG_ONE : bg;
		int c = cur[i];
		int d = c - ((bg + BG_ONE / 2) >> BG_SHIFT);
		int dp = c - (int)prev[i] - shift_prev;
		int changed = (d > thr) | (d < -thr);
		int moving = changed & ((dp > thr) | (dp < -thr));
		/* FG_STILL + FG_MOVING encoding: changed alone = 1, moving = 2. */
		fg[i] = (uint8_t)((zonebits[i] != 0) * (changed + moving));
		prev[i] = (uint8_t)c;
		/* Move bg towards the frame by 1/2^rate of the gap, rounded away from
		 * zero so it moves at least one unit: both rates computed, one kept. */
		int gap = (c << BG_SHIFT) - bg;
		int mag = gap < 0 ? -gap : gap;
		int still = (mag + (1 << LEARN_SHIFT_STILL) - 1) >> LEARN_SHIFT_STILL;
		int slow = (mag + (1 << LEARN_SHIFT_MOVING) - 1) >> LEARN_SHIFT_MOVING;
		int step = moving ? slow : still;
		bgp[i] = (uint16_t)(gap < 0 ? bg - step : bg + step);
	}
}

/* Moving neighbours of pixel (x, y) among its 8. */
static int moving_neighbours(const struct ioca_motion *m, int x, int y)
{
	int n = 0;
	for (int dy = -1; dy <= 1; dy++) {
		int yy = y + dy;
		if (yy < 0 || yy >= m->ah)
			continue;
		const uint8_t *row = m->fg + (size_t)yy * (size_t)m->aw;
		for (int dx = -1; dx <= 1; dx++) {
			int xx = x + dx;
			if ((dx || dy) && xx >= 0 && xx < m->aw && (row[xx] & FG_MOVING))
				n++;
		}
	}
	return n;
}

/*
 * Sensor noise flags isolated pixels; objects flag clusters. A moving pixel
 * counts only with NEIGHBOURS_MIN moving neighbours (else it is demoted), then
 * the survivors are counted per zone.
 */
static void count_clusters(struct ioca_motion *m)
{
	for (int y = 0; y < m->ah; y++) {
		for (int x = 0; x < m->aw; x++) {
			size_t i = (size_t)y * (size_t)m->aw + (size_t)x;
			if (m->fg[i] == FG_MOVING && moving_neighbours(m, x, y) < NEIGHBOURS_MIN)
				m->fg[i] = FG_MOVING | FG_ISOLATED;
		}
	}
	size_t n = (size_t)m->aw * (size_t)m->ah;
	for (size_t i = 0; i < n; i++) {
		if (m->fg[i] != FG_MOVING)
			continue;
		uint32_t bits = m->zonebits[i];
		for (size_t z = 0; z < m->nzones; z++)
			m->zones[z].changed += (bits >> z) & 1u;
	}
}

/* Zones over min_area_pct; the largest share into *best. */
static uint32_t zones_hit(const struct ioca_motion *m, double *best)
{
	uint32_t hit = 0;
	*best = 0;
	for (size_t z = 0; z < m->nzones; z++) {
		const struct zone *zz = &m->zones[z];
		if (zz->pixels == 0 || zz->changed == 0)
			continue;
		double pct = 100.0 * (double)zz->changed / (double)zz->pixels;
		if (pct >= m->cfg.min_area_pct) {
			hit |= 1u << z;
			if (pct > *best)
				*best = pct;
		}
	}
	return hit;
}

static void bounding_box(const struct ioca_motion *m, uint32_t zones, double box[4])
{
	int x0 = m->aw, y0 = m->ah, x1 = -1, y1 = -1;
	for (int y = 0; y < m->ah; y++) {
		for (int x = 0; x < m->aw; x++) {
			size_t i = (size_t)y * (size_t)m->aw + (size_t)x;
			if (m->fg[i] != FG_MOVING || !(m->zonebits[i] & zones))
				continue;
			if (x < x0)
				x0 = x;
			if (x > x1)
				x1 = x;
			if (y < y0)
				y0 = y;
			if (y > y1)
				y1 = y;
		}
	}
	if (x1 < 0) {
		memset(box, 0, 4 * sizeof box[0]);
		return;
	}
	box[0] = (double)x0 / m->aw;
	box[1] = (double)y0 / m->ah;
	box[2] = (double)(x1 - x0 + 1) / m->aw;
	box[3] = (double)(y1 - y0 + 1) / m->ah;
}

static void end_event(struct ioca_motion *m, struct ioca_motion_result *out)
{
	out->ended = true;
	out->end_zones = m->event_zones;
	out->duration_s = m->last_motion_t - m->first_t;
	out->peak_area_pct = m->peak;
	m->active = false;
	m->event_zones = 0;
	m->peak = 0;
}

/* Persistence and gap: turn this frame's zone hits into start/end decisions. */
static void decide(struct ioca_motion *m, double t, uint32_t hit, double best,
		   struct ioca_motion_result *out)
{
	if (hit) {
		if (m->streak == 0)
			m->streak_t = t;
		m->streak++;
	} else {
		m->streak = 0;
	}
	if (m->active) {
		if (hit) {
			m->last_motion_t = t;
			m->event_zones |= hit;
			if (best > m->peak)
				m->peak = best;
		} else if (t - m->last_motion_t >= m->cfg.event_gap_s) {
			end_event(m, out);
		}
		return;
	}
	if (m->streak < m->cfg.min_frames)
		return;
	m->active = true;
	m->first_t = m->streak_t;
	m->last_motion_t = t;
	m->event_zones = hit;
	m->peak = best;
	out->started = true;
	out->start_zones = hit;
	out->area_pct = best;
	bounding_box(m, hit, out->box);
}

/* Stream time made non-decreasing: a jump backwards keeps the last time. */
static double sane_time(struct ioca_motion *m, double t)
{
	if (!isfinite(t) || (m->have_t && t < m->last_t))
		t = m->have_t ? m->last_t : 0;
	m->last_t = t;
	m->have_t = true;
	return t;
}

int ioca_motion_feed(struct ioca_motion *m, const uint8_t *luma, int width, int height,
		     int stride, double t_s, struct ioca_motion_result *out)
{
	memset(out, 0, sizeof *out);
	if (!luma || width < 1 || height < 1 || width > IOCA_MOTION_MAX_DIM ||
	    height > IOCA_MOTION_MAX_DIM || stride < width) {
		out->active = m->active;
		return IOCA_ERROR;
	}
	if (ensure_size(m, width, height) != IOCA_OK) {
		out->active = m->active;
		return IOCA_ERROR;
	}
	double t = sane_time(m, t_s);
	ioca_motion_downscale(luma, width, height, stride, m->cur, m->aw, m->ah);
	if (!m->learnt) {
		learn_all(m);
		out->active = m->active;
		return IOCA_OK;
	}
	int shift = 0, shift_prev = 0;
	double raw = 0;
	measure(m, &shift, &shift_prev, &raw);
	if (raw >= m->cfg.lighting_change_pct || m->settle > 0) {
		if (raw >= m->cfg.lighting_change_pct && m->settle == 0) {
			out->lighting_change = true;
			out->changed_pct = raw;
		}
		m->settle = raw >= m->cfg.lighting_change_pct ? LIGHTING_SETTLE_FRAMES : m->settle - 1;
		learn_all(m);
		m->streak = 0;
		decide(m, t, 0, 0, out);
		out->active = m->active;
		return IOCA_OK;
	}
	classify_and_learn(m, shift, shift_prev);
	count_clusters(m);
	double best = 0;
	uint32_t hit = zones_hit(m, &best);
	decide(m, t, hit, best, out);
	out->active = m->active;
	return IOCA_OK;
}

bool ioca_motion_flush(struct ioca_motion *m, struct ioca_motion_result *out)
{
	memset(out, 0, sizeof *out);
	m->streak = 0;
	if (!m->active)
		return false;
	end_event(m, out);
	return true;
}

void ioca_motion_reset(struct ioca_motion *m)
{
	m->learnt = false;
	m->streak = 0;
	m->settle = 0;
	m->have_t = false;
}

const char *ioca_motion_zone_name(const struct ioca_motion *m, size_t index)
{
	return index < m->nzones ? m->zones[index].name : NULL;
}

size_t ioca_motion_zone_count(const struct ioca_motion *m)
{
	return m->nzones;
}

const uint8_t *ioca_motion_image(const struct ioca_motion *m, int *width, int *height)
{
	if (!m->cur || !m->learnt)
		return NULL;
	*width = m->aw;
	*height = m->ah;
	return m->cur;
}
