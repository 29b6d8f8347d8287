/*
 * Tamper detection: picture measures, day/night baselines and the raise/clear
 * hold logic. See camera_tamper.h for the contract.
 *
 * Invariant: since[k] is a number exactly while condition k holds, and
 * absent_since[k] is a number exactly while kind k is raised and its
 * condition does not hold.
 */
#include "camera_tamper.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROW_STEP          2    /* measures from every 2nd row of the analysis image */
#define SATURATED_LEVEL   230  /* luma at or above: saturated (limited range tops at 235) */
#define COVER_SPREAD      8.0  /* standard deviation below: no picture, levels */
#define COVER_EDGE        1.5  /* ... and mean neighbour difference below, levels */
#define GLARE_SHARE       0.30 /* saturated share of the picture for glare */
#define GLARE_OVER_BASE   0.20 /* ... and this much above the baseline's */
#define DEFOCUS_RATIO     0.8  /* sharpness below this share of the baseline */
#define MIN_COARSE_EDGE   0.05 /* levels per pixel: floor of the sharpness divisor */
#define DEFOCUS_MEAN_MIN  25.0 /* brightness range where sharpness is meaningful */
#define DEFOCUS_MEAN_MAX  230.0
#define MOVED_CORRELATION 0.40        /* grid correlation with the reference below: moved */
#define GRID_MIN_SPREAD   2.0         /* reference grid flatter than this: no moved test, levels */
#define FILL_FRAMES       10          /* frames the baseline is averaged over at first */
#define LEARN_RATE        (1.0 / 128) /* then it follows at this rate per analysed frame */
#define MOVED_ADOPT_S     300.0       /* a moved view kept this long becomes the reference */
#define MOVED_CELLS       0.5         /* ... and at least this share of the grid cells changed */
#define MOVED_CELL_MIN    8.0         /* a cell changed: differs by this many levels, */
#define MOVED_CELL_SPREAD 0.5         /* ... or this share of the reference's spread if larger */

static const char *const names[IOCA_TAMPER_KINDS] = {"covered", "glare", "defocused", "moved"};
static const char *const topics[IOCA_TAMPER_KINDS] = {
    "tns1:VideoSource/ImageTooDark", "tns1:VideoSource/ImageTooBright",
    "tns1:VideoSource/ImageTooBlurry", "tns1:VideoSource/GlobalSceneChange"};

const char *ioca_tamper_name(enum ioca_tamper_kind k)
{
	return k < IOCA_TAMPER_KINDS ? names[k] : "";
}

const char *ioca_tamper_onvif_topic(enum ioca_tamper_kind k)
{
	return k < IOCA_TAMPER_KINDS ? topics[k] : "";
}

void ioca_tamper_forget(struct ioca_tamper *t)
{
	memset(t->base, 0, sizeof t->base);
	for (int k = 0; k < IOCA_TAMPER_KINDS; k++)
		t->since[k] = NAN;
}

void ioca_tamper_init(struct ioca_tamper *t, const struct ioca_tamper_config *cfg)
{
	memset(t, 0, sizeof *t);
	t->cfg = *cfg;
	ioca_tamper_forget(t);
	for (int k = 0; k < IOCA_TAMPER_KINDS; k++)
		t->absent_since[k] = NAN;
}

struct measures {
	double mean, spread, edge, coarse_edge, sharpness, saturated;
	float grid[IOCA_TAMPER_GRID];
	double grid_spread;
};

/* Block means on the coarse grid, made zero-mean; their spread into m->grid_spread. */
static void grid_means(const uint8_t *img, int w, int h, struct measures *m)
{
	double sum[IOCA_TAMPER_GRID] = {0};
	unsigned cnt[IOCA_TAMPER_GRID] = {0};
	for (int y = 0; y < h; y += ROW_STEP) {
		int cy = (int)((long)y * IOCA_TAMPER_GRID_H / h);
		const uint8_t *row = img + (size_t)y * (size_t)w;
		int cx = 0;
		/* First x of cell cx + 1: ceil((cx + 1) * w / GRID_W). */
		long next = ((long)(cx + 1) * w + IOCA_TAMPER_GRID_W - 1) / IOCA_TAMPER_GRID_W;
		unsigned acc = 0, n = 0;
		for (int x = 0; x < w; x++) {
			while (x >= next && cx + 1 < IOCA_TAMPER_GRID_W) {
				sum[cy * IOCA_TAMPER_GRID_W + cx] += acc;
				cnt[cy * IOCA_TAMPER_GRID_W + cx] += n;
				acc = n = 0;
				cx++;
				next = ((long)(cx + 1) * w + IOCA_TAMPER_GRID_W - 1) /
				       IOCA_TAMPER_GRID_W;
			}
			acc += row[x];
			n++;
		}
		sum[cy * IOCA_TAMPER_GRID_W + cx] += acc;
		cnt[cy * IOCA_TAMPER_GRID_W + cx] += n;
	}
	double total = 0;
	int cells = 0;
	for (int i = 0; i < IOCA_TAMPER_GRID; i++) {
		if (cnt[i]) {
			total += sum[i] / cnt[i];
			cells++;
		}
	}
	double mean = cells ? total / cells : 0, var = 0;
	for (int i = 0; i < IOCA_TAMPER_GRID; i++) {
		double v = cnt[i] ? sum[i] / cnt[i] - mean : 0;
		m->grid[i] = (float)v;
		var += v * v;
	}
	m->grid_spread = cells ? sqrt(var / cells) : 0;
	/* Coarse edge energy: neighbour differences of the cells, per pixel of distance. */
	double coarse = 0;
	int pairs = 0;
	for (int y = 0; y < IOCA_TAMPER_GRID_H; y++) {
		for (int x = 0; x < IOCA_TAMPER_GRID_W; x++) {
			int i = y * IOCA_TAMPER_GRID_W + x;
			if (x + 1 < IOCA_TAMPER_GRID_W && cnt[i] && cnt[i + 1]) {
				coarse += fabs((double)m->grid[i + 1] - m->grid[i]);
				pairs++;
			}
			if (y + 1 < IOCA_TAMPER_GRID_H && cnt[i] && cnt[i + IOCA_TAMPER_GRID_W]) {
				coarse +=
				    fabs((double)m->grid[i + IOCA_TAMPER_GRID_W] - m->grid[i]);
				pairs++;
			}
		}
	}
	double cell = (double)w / IOCA_TAMPER_GRID_W;
	m->coarse_edge = pairs ? coarse / pairs / (cell > 1 ? cell : 1) : 0;
}

static void measure(const uint8_t *img, int w, int h, struct measures *m)
{
	uint64_t sum = 0, sq = 0, edge = 0, edges = 0, sat = 0, px = 0;
	for (int y = 0; y < h; y += ROW_STEP) {
		const uint8_t *row = img + (size_t)y * (size_t)w;
		const uint8_t *below = y + 1 < h ? row + w : NULL;
		uint32_t rs = 0, rq = 0, re = 0, rsat = 0;
		for (int x = 0; x < w; x++) {
			uint32_t v = row[x];
			rs += v;
			rq += v * v;
			rsat += v >= SATURATED_LEVEL;
		}
		for (int x = 0; x + 1 < w; x++)
			re += (uint32_t)abs((int)row[x + 1] - (int)row[x]);
		edges += (uint64_t)(w - 1);
		if (below) {
			for (int x = 0; x < w; x++)
				re += (uint32_t)abs((int)below[x] - (int)row[x]);
			edges += (uint64_t)w;
		}
		sum += rs;
		sq += rq;
		edge += re;
		sat += rsat;
		px += (uint64_t)w;
	}
	double n = (double)px;
	m->mean = (double)sum / n;
	double var = (double)sq / n - m->mean * m->mean;
	m->spread = var > 0 ? sqrt(var) : 0;
	m->edge = edges ? (double)edge / (double)edges : 0;
	m->saturated = (double)sat / n;
	grid_means(img, w, h, m);
	/* Fine over coarse edge energy: blur takes the fine detail and leaves the
	 * coarse structure; lighting scales both; noise only adds fine detail. */
	m->sharpness =
	    m->edge / (m->coarse_edge > MIN_COARSE_EDGE ? m->coarse_edge : MIN_COARSE_EDGE);
}

static double correlation(const float *a, const float *b)
{
	double ab = 0, aa = 0, bb = 0;
	for (int i = 0; i < IOCA_TAMPER_GRID; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1;
}

static void learn(struct ioca_tamper_baseline *b, const struct measures *m)
{
	double a = b->frames < FILL_FRAMES ? 1.0 / (b->frames + 1) : LEARN_RATE;
	b->sharpness += a * (m->sharpness - b->sharpness);
	b->saturated += a * (m->saturated - b->saturated);
	for (int i = 0; i < IOCA_TAMPER_GRID; i++)
		b->grid[i] += (float)(a * (m->grid[i] - b->grid[i]));
	if (b->frames < FILL_FRAMES)
		b->frames++;
}

/* Instant conditions, in priority order: a covered picture is not also blurred. */
/* Share of grid cells that differ from the reference by more than `limit`. */
static double changed_cells(const float *a, const float *b, double limit)
{
	int n = 0;
	for (int i = 0; i < IOCA_TAMPER_GRID; i++)
		n += fabs((double)a[i] - b[i]) > limit;
	return (double)n / IOCA_TAMPER_GRID;
}

static uint32_t conditions(const struct ioca_tamper_baseline *b, const struct measures *m,
			   double value[IOCA_TAMPER_KINDS])
{
	bool filled = b->frames >= FILL_FRAMES;
	double ref_spread = 0;
	for (int i = 0; i < IOCA_TAMPER_GRID; i++)
		ref_spread += (double)b->grid[i] * b->grid[i];
	ref_spread = sqrt(ref_spread / IOCA_TAMPER_GRID);
	double corr = correlation(m->grid, b->grid);
	value[IOCA_TAMPER_COVERED] = m->spread;
	value[IOCA_TAMPER_GLARE] = m->saturated * 100.0;
	value[IOCA_TAMPER_DEFOCUSED] = b->sharpness > 0 ? m->sharpness / b->sharpness : 1;
	value[IOCA_TAMPER_MOVED] = corr;
	if (m->spread < COVER_SPREAD && m->edge < COVER_EDGE)
		return 1u << IOCA_TAMPER_COVERED;
	if (m->saturated >= GLARE_SHARE && m->saturated >= b->saturated + GLARE_OVER_BASE)
		return 1u << IOCA_TAMPER_GLARE;
	if (!filled)
		return 0;
	if (m->mean >= DEFOCUS_MEAN_MIN && m->mean <= DEFOCUS_MEAN_MAX &&
	    m->sharpness < DEFOCUS_RATIO * b->sharpness)
		return 1u << IOCA_TAMPER_DEFOCUSED;
	double limit = MOVED_CELL_SPREAD * ref_spread;
	if (ref_spread >= GRID_MIN_SPREAD && m->grid_spread >= GRID_MIN_SPREAD &&
	    corr < MOVED_CORRELATION &&
	    changed_cells(m->grid, b->grid, limit > MOVED_CELL_MIN ? limit : MOVED_CELL_MIN) >=
		MOVED_CELLS)
		return 1u << IOCA_TAMPER_MOVED;
	return 0;
}

static void hold(struct ioca_tamper *t, int k, bool cond, double now,
		 struct ioca_tamper_result *out)
{
	uint32_t bit = 1u << k;
	if (cond) {
		t->absent_since[k] = NAN;
		if (isnan(t->since[k]))
			t->since[k] = now;
		if (!(t->active & bit) && now - t->since[k] >= t->cfg.raise_s) {
			t->active |= bit;
			t->raised_at[k] = now;
			out->raised |= bit;
		}
		return;
	}
	t->since[k] = NAN;
	if (!(t->active & bit))
		return;
	if (isnan(t->absent_since[k]))
		t->absent_since[k] = now;
	if (now - t->absent_since[k] >= t->cfg.clear_s) {
		t->active &= ~bit;
		t->absent_since[k] = NAN;
		out->cleared |= bit;
		out->duration_s[k] = now - t->raised_at[k];
	}
}

void ioca_tamper_feed(struct ioca_tamper *t, const uint8_t *img, int w, int h, bool night,
		      double t_s, struct ioca_tamper_result *out)
{
	memset(out, 0, sizeof *out);
	if (!t->cfg.enabled || w < 1 || h < 1)
		return;
	struct measures mm;
	struct measures *mp = &mm;
	measure(img, w, h, mp);
	struct ioca_tamper_baseline *b = &t->base[night ? 1 : 0];
	uint32_t cond = conditions(b, mp, out->value);
	out->blind = (cond & ~(1u << IOCA_TAMPER_MOVED)) != 0;
	if ((t->active & (1u << IOCA_TAMPER_MOVED)) &&
	    t_s - t->raised_at[IOCA_TAMPER_MOVED] >= MOVED_ADOPT_S)
		b->frames = 0; /* the new view is the scene now: learn it */
	/* Learn only a sound picture; while a kind is raised, only to fill a new baseline. */
	if (!cond && (!t->active || b->frames < FILL_FRAMES))
		learn(b, mp);
	for (int k = 0; k < IOCA_TAMPER_KINDS; k++)
		hold(t, k, (cond >> k) & 1u, t_s, out);
}

void ioca_tamper_flush(struct ioca_tamper *t, double t_s, struct ioca_tamper_result *out)
{
	memset(out, 0, sizeof *out);
	for (int k = 0; k < IOCA_TAMPER_KINDS; k++) {
		t->since[k] = NAN;
		t->absent_since[k] = NAN;
		if (t->active & (1u << k)) {
			out->cleared |= 1u << k;
			out->duration_s[k] = t_s - t->raised_at[k];
		}
	}
	t->active = 0;
}
