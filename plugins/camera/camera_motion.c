/*
 * Motion analysis: block-average downscale, zones and masks, the per-frame
 * pipeline (day/night, tamper, background, blobs, stationary absorption,
 * lighting events) and the persistence/gap event logic. See camera_motion.h.
 *
 * Invariant: every buffer is sized from the analysis image (aw x ah) computed
 * in ensure_size(); the zone masks are rebuilt whenever that size changes, so
 * a zone bit is never read past the end of a mask.
 */
#include "camera_motion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "camera_background.h"
#include "camera_blobs.h"
#include "iocagent/plugin.h"

#define ALL_ZONE_NAME       "all"
#define MIN_OBJECT_FLOOR_PX 4    /* an object is never smaller than this, analysis pixels */
#define RELEARN_FG_PCT      50.0 /* more of the picture foreground: the scene changed, re-learn */
#define RELIGHT_MIN_LEVELS  1.0  /* tone curve this far from identity: relight the background */
#define LIGHTING_REARM_DIV  2    /* lighting events re-arm below 1/2 of lighting_change_pct */
#define NIGHT_CHROMA        1.5  /* chroma level below: grey picture (IR, night) */
#define DAY_CHROMA          3.0  /* chroma level above: colour picture (day) */
#define DAY_NIGHT_FRAMES    3    /* analysed frames a new mode must hold */
#define CHROMA_STEP         4    /* chroma level sampled on every 4th row and column */
#define BLIND_KINDS                                                                                \
	((1u << IOCA_TAMPER_COVERED) | (1u << IOCA_TAMPER_GLARE) | (1u << IOCA_TAMPER_DEFOCUSED))

struct zone {
	char name[IOCA_MOTION_NAME_MAX];
	double *xy;
	size_t npoints;
	size_t pixels; /* unmasked pixels of the zone at the current size */
	size_t min_px; /* smallest object counted in the zone, pixels */
};

struct ioca_motion {
	struct ioca_motion_config cfg;
	struct zone zones[IOCA_MOTION_MAX_ZONES];
	size_t nzones;
	struct zone masks[IOCA_MOTION_MAX_ZONES];
	size_t nmasks;

	int aw, ah; /* analysis image size; 0 until the first frame */
	int src_w, src_h;
	uint8_t *cur;       /* block-averaged frame */
	uint8_t *fg;        /* foreground flags of the current frame */
	uint32_t *zonebits; /* zone membership per pixel; 0 = masked or outside every zone */
	uint8_t *valid;     /* 1 where the pixel is in some zone and no mask covers it */
	size_t nvalid;
	struct ioca_bg bg;
	struct ioca_blobs blobs;
	uint32_t zone_px[IOCA_BLOBS_MAX][IOCA_MOTION_MAX_ZONES];
	bool counts[IOCA_BLOBS_MAX];
	bool learnt; /* bg holds a frame */
	bool blind;  /* the previous frame was blind (tamper) */
	bool lighting_armed;

	double chroma;
	int mode; /* -1 unknown, 0 day, 1 night */
	int mode_votes;
	struct ioca_tamper tamper;

	double last_t;
	bool have_t;
	int streak;      /* consecutive analysed frames with motion */
	double streak_t; /* time of the first frame of the streak */
	bool active;
	double first_t, last_motion_t;
	double peak;
	uint32_t event_zones;
	double frame_box[4]; /* this frame's largest counting object */
	unsigned frame_blobs;
};

static void free_polys(struct zone *z, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(z[i].xy);
}

static void free_buffers(struct ioca_motion *m)
{
	free(m->cur);
	free(m->fg);
	free(m->zonebits);
	free(m->valid);
	m->cur = m->fg = m->valid = NULL;
	m->zonebits = NULL;
	ioca_bg_free(&m->bg);
	ioca_blobs_free(&m->blobs);
}

void ioca_motion_free(struct ioca_motion *m)
{
	if (!m)
		return;
	free_polys(m->zones, m->nzones);
	free_polys(m->masks, m->nmasks);
	free_buffers(m);
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
	       isfinite(c->min_object_pct) && c->min_object_pct >= 0 && c->min_object_pct <= 100 &&
	       c->min_object_pixels >= 0 && c->min_frames >= 1 && c->min_frames <= 1000 &&
	       isfinite(c->event_gap_s) && c->event_gap_s >= 0 &&
	       isfinite(c->lighting_change_pct) && c->lighting_change_pct > 0 &&
	       c->lighting_change_pct <= 100 && isfinite(c->stationary_s) && c->stationary_s >= 0 &&
	       isfinite(c->tamper.raise_s) && c->tamper.raise_s >= 0 &&
	       isfinite(c->tamper.clear_s) && c->tamper.clear_s >= 0 &&
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
	m->chroma = -1;
	m->mode = -1;
	m->lighting_armed = true;
	ioca_tamper_init(&m->tamper, &cfg->tamper);
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
			/* false positive: the caller fills col[0, out_w * fx) */
			/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
			sum += col[(size_t)ox * (size_t)fx + (size_t)dx];
		sums[ox] = sum;
	}
}

static void block_sums_any(const uint16_t *col, uint32_t *sums, int out_w, int fx)
{
	switch (fx) {
	case 1:
		block_sums(col, sums, out_w, 1);
		break;
	case 2:
		block_sums(col, sums, out_w, 2);
		break;
	case 3:
		block_sums(col, sums, out_w, 3);
		break;
	case 4:
		block_sums(col, sums, out_w, 4);
		break;
	case 6:
		block_sums(col, sums, out_w, 6);
		break;
	case 8:
		block_sums(col, sums, out_w, 8);
		break;
	default:
		block_sums(col, sums, out_w, fx);
		break;
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
	m->nvalid = 0;
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
			m->valid[i] = bits != 0;
			m->nvalid += bits != 0;
		}
	}
}

/* Smallest object per zone: min_object_pct of its pixels, min_object_pixels, the floor. */
static void zone_minimums(struct ioca_motion *m)
{
	for (size_t z = 0; z < m->nzones; z++) {
		struct zone *zz = &m->zones[z];
		size_t px = (size_t)ceil(m->cfg.min_object_pct / 100.0 * (double)zz->pixels);
		if (px < (size_t)m->cfg.min_object_pixels)
			px = (size_t)m->cfg.min_object_pixels;
		zz->min_px = px < MIN_OBJECT_FLOOR_PX ? MIN_OBJECT_FLOOR_PX : px;
	}
}

static int ensure_size(struct ioca_motion *m, int width, int height)
{
	if (width == m->src_w && height == m->src_h && m->cur)
		return IOCA_OK;
	int aw, ah;
	ioca_motion_scaled_size(width, height, m->cfg.analysis_width, &aw, &ah);
	free_buffers(m);
	m->src_w = m->src_h = 0;
	m->aw = m->ah = 0;
	m->learnt = false;
	size_t n = (size_t)aw * (size_t)ah;
	m->cur = malloc(n);
	m->fg = malloc(n);
	m->zonebits = malloc(n * sizeof *m->zonebits);
	m->valid = malloc(n);
	if (!m->cur || !m->fg || !m->zonebits || !m->valid ||
	    ioca_bg_init(&m->bg, aw, ah) != IOCA_OK ||
	    ioca_blobs_init(&m->blobs, aw, ah) != IOCA_OK) {
		free_buffers(m);
		return IOCA_ERROR;
	}
	m->aw = aw;
	m->ah = ah;
	m->src_w = width;
	m->src_h = height;
	rasterise(m);
	zone_minimums(m);
	ioca_tamper_forget(&m->tamper);
	return IOCA_OK;
}

static void learn_all(struct ioca_motion *m)
{
	ioca_bg_learn_all(&m->bg, m->cur);
	memset(m->fg, 0, (size_t)m->aw * (size_t)m->ah);
	ioca_blobs_reset(&m->blobs);
	m->learnt = true;
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
	memcpy(out->box, m->frame_box, sizeof out->box);
	out->blobs = m->frame_blobs;
}

/*
 * Count the blobs per zone, absorb the ones that stood still for
 * stationary_s, and return the zones with a counting object; the largest
 * object's share into *best, its box and the number of counting objects
 * into frame_box / frame_blobs.
 */
static uint32_t count_objects(struct ioca_motion *m, double t, double *best)
{
	struct ioca_blobs *b = &m->blobs;
	size_t nz = m->nzones;
	*best = 0;
	m->frame_blobs = 0;
	memset(m->frame_box, 0, sizeof m->frame_box);
	if (b->count == 0)
		return 0;
	for (size_t k = 0; k < b->count; k++)
		memset(m->zone_px[k], 0, nz * sizeof m->zone_px[k][0]);
	for (size_t i = 0; i < b->n; i++) {
		uint32_t id = b->labels[i];
		if (!id)
			continue;
		uint32_t bits = m->zonebits[i];
		uint32_t *zp = m->zone_px[id - 1];
		for (size_t z = 0; z < nz; z++)
			zp[z] += (bits >> z) & 1u;
	}
	uint32_t hit = 0;
	size_t largest = 0;
	uint32_t largest_area = 0;
	for (size_t k = 0; k < b->count; k++) {
		const struct ioca_blob *bl = &b->blob[k];
		m->counts[k] = false;
		if (m->cfg.stationary_s > 0 && t - bl->still_since >= m->cfg.stationary_s) {
			ioca_bg_absorb(&m->bg, m->cur, b->labels, (uint32_t)k + 1, bl->x0, bl->y0,
				       bl->x1, bl->y1);
			continue;
		}
		for (size_t z = 0; z < nz; z++) {
			const struct zone *zz = &m->zones[z];
			if (zz->pixels == 0 || m->zone_px[k][z] < zz->min_px)
				continue;
			m->counts[k] = true;
			hit |= 1u << z;
			double pct = 100.0 * (double)m->zone_px[k][z] / (double)zz->pixels;
			if (pct > *best)
				*best = pct;
		}
		if (m->counts[k]) {
			m->frame_blobs++;
			if (bl->area > largest_area) {
				largest_area = bl->area;
				largest = k;
			}
		}
	}
	if (m->frame_blobs) {
		const struct ioca_blob *bl = &b->blob[largest];
		m->frame_box[0] = (double)bl->x0 / m->aw;
		m->frame_box[1] = (double)bl->y0 / m->ah;
		m->frame_box[2] = (double)(bl->x1 - bl->x0 + 1) / m->aw;
		m->frame_box[3] = (double)(bl->y1 - bl->y0 + 1) / m->ah;
	}
	return hit;
}

/* Day/night mode from the chroma level; true when it switched in this frame. */
static bool update_mode(struct ioca_motion *m)
{
	if (m->chroma < 0)
		return false;
	int want = m->chroma < NIGHT_CHROMA ? 1 : m->chroma > DAY_CHROMA ? 0 : m->mode;
	if (m->mode < 0) {
		m->mode = want < 0 ? 0 : want;
		return false;
	}
	if (want == m->mode) {
		m->mode_votes = 0;
		return false;
	}
	if (++m->mode_votes < DAY_NIGHT_FRAMES)
		return false;
	m->mode = want;
	m->mode_votes = 0;
	return true;
}

/* A frame in which no motion can be counted: persistence and gap still run. */
static void no_motion(struct ioca_motion *m, double t, struct ioca_motion_result *out)
{
	m->streak = 0;
	m->blobs.count = 0;
	decide(m, t, 0, 0, out);
}

/* Background, blobs and objects of a frame that can be analysed. */
static void analyse(struct ioca_motion *m, double t, struct ioca_motion_result *out)
{
	const int thr = (int)m->cfg.threshold;
	double raw = ioca_bg_fit(&m->bg, m->cur, m->valid, m->fg, thr);
	size_t nfg = ioca_bg_classify(&m->bg, m->cur, m->valid, thr, m->fg);
	if (m->nvalid && 100.0 * (double)nfg / (double)m->nvalid > RELEARN_FG_PCT) {
		/* Neither lighting nor an object: the scene itself changed. */
		if (raw >= m->cfg.lighting_change_pct && m->lighting_armed) {
			out->lighting_change = true;
			out->changed_pct = raw;
			m->lighting_armed = false;
		}
		learn_all(m);
		no_motion(m, t, out);
		return;
	}
	ioca_blobs_find(&m->blobs, m->fg, nfg);
	ioca_blobs_track(&m->blobs, t);
	double best = 0;
	uint32_t hit = count_objects(m, t, &best);
	if (raw >= m->cfg.lighting_change_pct) {
		if (m->lighting_armed) {
			out->lighting_change = true;
			out->changed_pct = raw;
			m->lighting_armed = false;
		}
	} else if (raw < m->cfg.lighting_change_pct / LIGHTING_REARM_DIV) {
		m->lighting_armed = true;
	}
	if (m->bg.shift >= RELIGHT_MIN_LEVELS)
		ioca_bg_relight(&m->bg);
	ioca_bg_update(&m->bg, m->cur, m->fg);
	decide(m, t, hit, best, out);
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

int ioca_motion_feed(struct ioca_motion *m, const uint8_t *luma, int width, int height, int stride,
		     double t_s, struct ioca_motion_result *out)
{
	memset(out, 0, sizeof *out);
	out->night = m->mode == 1;
	if (!luma || width < 1 || height < 1 || width > IOCA_MOTION_MAX_DIM ||
	    height > IOCA_MOTION_MAX_DIM || stride < width ||
	    ensure_size(m, width, height) != IOCA_OK) {
		out->active = m->active;
		return IOCA_ERROR;
	}
	double t = sane_time(m, t_s);
	ioca_motion_downscale(luma, width, height, stride, m->cur, m->aw, m->ah);
	if (update_mode(m)) {
		out->day_night = true;
		out->chroma = m->chroma;
		m->learnt = false; /* an IR picture is another picture: learn it anew */
	}
	out->night = m->mode == 1;
	ioca_tamper_feed(&m->tamper, m->cur, m->aw, m->ah, out->night, t, &out->tamper);
	bool blind = out->tamper.blind || (m->tamper.active & BLIND_KINDS);
	if (!m->learnt || blind || m->blind) {
		/* Learn the first picture, and again once the view is back. */
		if (!blind)
			learn_all(m);
		m->blind = blind;
		no_motion(m, t, out);
	} else {
		analyse(m, t, out);
	}
	out->active = m->active;
	return IOCA_OK;
}

void ioca_motion_set_chroma(struct ioca_motion *m, double chroma)
{
	m->chroma = isfinite(chroma) ? chroma : -1;
}

double ioca_motion_chroma_level(const uint8_t *u, int u_stride, const uint8_t *v, int v_stride,
				int w, int h)
{
	uint64_t sum = 0, count = 0;
	for (int y = 0; y < h; y += CHROMA_STEP) {
		const uint8_t *ur = u + (size_t)y * (size_t)u_stride;
		const uint8_t *vr = v + (size_t)y * (size_t)v_stride;
		for (int x = 0; x < w; x += CHROMA_STEP) {
			sum += (uint64_t)(abs((int)ur[x] - 128) + abs((int)vr[x] - 128));
			count++;
		}
	}
	return count ? (double)sum / (double)count : 0;
}

bool ioca_motion_flush(struct ioca_motion *m, struct ioca_motion_result *out)
{
	memset(out, 0, sizeof *out);
	m->streak = 0;
	ioca_tamper_flush(&m->tamper, m->have_t ? m->last_t : 0, &out->tamper);
	bool any = out->tamper.cleared != 0;
	if (m->active) {
		end_event(m, out);
		any = true;
	}
	return any;
}

void ioca_motion_reset(struct ioca_motion *m)
{
	m->learnt = false;
	m->blind = false;
	m->streak = 0;
	m->have_t = false;
	m->mode_votes = 0;
	ioca_blobs_reset(&m->blobs);
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

size_t ioca_motion_blobs(const struct ioca_motion *m, struct ioca_motion_blob *out, size_t max,
			 int *grid_w, int *grid_h)
{
	*grid_w = m->aw;
	*grid_h = m->ah;
	size_t n = 0;
	for (size_t k = 0; k < m->blobs.count && n < max; k++) {
		const struct ioca_blob *bl = &m->blobs.blob[k];
		out[n++] = (struct ioca_motion_blob){
		    bl->x0,   bl->y0,      bl->x1 - bl->x0 + 1, bl->y1 - bl->y0 + 1,
		    bl->area, m->counts[k]};
	}
	return n;
}
