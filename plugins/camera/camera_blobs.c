/*
 * Majority filter, two-pass connected-component labelling (union-find,
 * 8-connectivity) and stillness tracking. See camera_blobs.h.
 *
 * Invariant: provisional labels never exceed n / 2 + 2 (a new label needs a
 * foreground pixel with no labelled neighbour to its left or above, which
 * leaves at least one background pixel between two of them), so `parent`
 * sized n / 2 + 2 is never overrun. Blobs are labelled on the grouped
 * (dilated) mask, but only filtered foreground pixels keep a label.
 */
#include "camera_blobs.h"

#include <stdlib.h>
#include <string.h>

#include "iocagent/plugin.h"

#define MAJORITY            5  /* of 9 pixels */
#define STILL_TOLERANCE_PX  2  /* box drift that is still standing still, analysis pixels */
#define STILL_TOLERANCE_DIV 16 /* ... plus 1/16 of the box's larger side */
#define ID_FLAG             0x80000000u /* marks a resolved label (its final id) in parent[] */

int ioca_blobs_init(struct ioca_blobs *b, int w, int h)
{
	memset(b, 0, sizeof *b);
	size_t n = (size_t)w * (size_t)h;
	b->clean = malloc(n);
	b->vsum = malloc(n);
	b->group = malloc(n);
	b->zero = calloc((size_t)w, 1);
	b->labels = malloc(n * sizeof *b->labels);
	b->parent = malloc((n / 2 + 2) * sizeof *b->parent);
	if (!b->clean || !b->vsum || !b->group || !b->zero || !b->labels || !b->parent) {
		ioca_blobs_free(b);
		return IOCA_ERROR;
	}
	b->w = w;
	b->h = h;
	b->n = n;
	return IOCA_OK;
}

void ioca_blobs_free(struct ioca_blobs *b)
{
	free(b->clean);
	free(b->vsum);
	free(b->group);
	free(b->zero);
	free(b->labels);
	free(b->parent);
	memset(b, 0, sizeof *b);
}

void ioca_blobs_reset(struct ioca_blobs *b)
{
	b->nprev = 0;
	b->count = 0;
}

/* Separable 3x3 sum of the 0/1 flags, kept where it reaches MAJORITY. */
static void majority(struct ioca_blobs *b, const uint8_t *fg)
{
	int w = b->w, h = b->h;
	for (int y = 0; y < h; y++) {
		const uint8_t *restrict mid = fg + (size_t)y * (size_t)w;
		const uint8_t *restrict up = y > 0 ? mid - w : b->zero;
		const uint8_t *restrict dn = y + 1 < h ? mid + w : b->zero;
		uint8_t *restrict s = b->vsum + (size_t)y * (size_t)w;
		for (int x = 0; x < w; x++)
			s[x] = (uint8_t)(mid[x] + up[x] + dn[x]);
	}
	for (int y = 0; y < h; y++) {
		const uint8_t *restrict s = b->vsum + (size_t)y * (size_t)w;
		uint8_t *restrict o = b->clean + (size_t)y * (size_t)w;
		if (w == 1) {
			o[0] = s[0] >= MAJORITY;
			continue;
		}
		o[0] = s[0] + s[1] >= MAJORITY;
		for (int x = 1; x + 1 < w; x++)
			o[x] = s[x - 1] + s[x] + s[x + 1] >= MAJORITY;
		o[w - 1] = s[w - 2] + s[w - 1] >= MAJORITY;
	}
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static void unite(uint32_t *parent, uint32_t a, uint32_t b)
{
	a = find_root(parent, a);
	b = find_root(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

/* 3x3 dilation of clean into group: fragments of one object (leaves, a
 * textured body) less than GROUP_GAP_PX apart become one blob. */
static void group_mask(struct ioca_blobs *b)
{
	int w = b->w, h = b->h;
	for (int y = 0; y < h; y++) {
		const uint8_t *restrict mid = b->clean + (size_t)y * (size_t)w;
		const uint8_t *restrict up = y > 0 ? mid - w : mid;
		const uint8_t *restrict dn = y + 1 < h ? mid + w : mid;
		uint8_t *restrict v = b->vsum + (size_t)y * (size_t)w;
		for (int x = 0; x < w; x++)
			v[x] = mid[x] | up[x] | dn[x];
	}
	for (int y = 0; y < h; y++) {
		const uint8_t *restrict v = b->vsum + (size_t)y * (size_t)w;
		uint8_t *restrict g = b->group + (size_t)y * (size_t)w;
		if (w == 1) {
			g[0] = v[0];
			continue;
		}
		g[0] = v[0] | v[1];
		for (int x = 1; x + 1 < w; x++)
			g[x] = v[x - 1] | v[x] | v[x + 1];
		g[w - 1] = v[w - 2] | v[w - 1];
	}
}

/* First pass: provisional labels, equivalences recorded. Returns the next free label. */
static uint32_t first_pass(struct ioca_blobs *b)
{
	int w = b->w, h = b->h;
	uint32_t next = 1;
	for (int y = 0; y < h; y++) {
		size_t row = (size_t)y * (size_t)w;
		for (int x = 0; x < w; x++) {
			size_t i = row + (size_t)x;
			if (!b->group[i]) {
				b->labels[i] = 0;
				continue;
			}
			uint32_t nb[4] = {0, 0, 0, 0};
			if (x > 0)
				nb[0] = b->labels[i - 1];
			if (y > 0) {
				size_t up = i - (size_t)w;
				nb[1] = b->labels[up];
				if (x > 0)
					nb[2] = b->labels[up - 1];
				if (x + 1 < w)
					nb[3] = b->labels[up + 1];
			}
			uint32_t l = 0;
			for (int k = 0; k < 4; k++) {
				if (nb[k] && (!l || nb[k] < l))
					l = nb[k];
			}
			if (!l) {
				l = next++;
				b->parent[l] = l;
			} else {
				for (int k = 0; k < 4; k++) {
					if (nb[k] && nb[k] != l)
						unite(b->parent, l, nb[k]);
				}
			}
			b->labels[i] = l;
		}
	}
	return next;
}

void ioca_blobs_find(struct ioca_blobs *b, const uint8_t *fg, size_t nfg)
{
	if (nfg < MAJORITY) {
		/* Nothing can survive the filter (the usual still frame): no pass needed. */
		b->count = 0;
		return;
	}
	majority(b, fg);
	group_mask(b);
	uint32_t next = first_pass(b);
	/* Roots become compact ids 1..count in raster order (past the cap, 0). A
	 * label's parent is never larger than the label, so one increasing pass
	 * resolves every label from already resolved ones. */
	b->count = 0;
	for (uint32_t l = 1; l < next; l++) {
		if (b->parent[l] != l) {
			b->parent[l] = b->parent[b->parent[l]];
			continue;
		}
		b->parent[l] = ID_FLAG;
		if (b->count < IOCA_BLOBS_MAX) {
			struct ioca_blob *bl = &b->blob[b->count];
			memset(bl, 0, sizeof *bl);
			bl->x0 = b->w;
			bl->y0 = b->h;
			bl->x1 = -1;
			bl->y1 = -1;
			b->count++;
			b->parent[l] = (uint32_t)b->count | ID_FLAG;
		}
	}
	for (int y = 0; y < b->h; y++) {
		size_t row = (size_t)y * (size_t)b->w;
		for (int x = 0; x < b->w; x++) {
			size_t i = row + (size_t)x;
			if (!b->labels[i])
				continue;
			uint32_t id = b->clean[i] ? b->parent[b->labels[i]] & ~ID_FLAG : 0;
			b->labels[i] = id;
			if (!id)
				continue;
			struct ioca_blob *bl = &b->blob[id - 1];
			bl->area++;
			if (x < bl->x0)
				bl->x0 = x;
			if (x > bl->x1)
				bl->x1 = x;
			if (y < bl->y0)
				bl->y0 = y;
			if (y > bl->y1)
				bl->y1 = y;
		}
	}
}

static int overlap(const struct ioca_blob *a, const struct ioca_blob *b)
{
	int w = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0) + 1;
	int h = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0) + 1;
	return w > 0 && h > 0 ? w * h : 0;
}

/* Whether the box stays inside the reference box widened by the tolerance: a
 * still object may shrink or split as it is absorbed, a moving one leaves it. */
static bool near_reference(const struct ioca_blob *bl)
{
	int side = bl->rx1 - bl->rx0 > bl->ry1 - bl->ry0 ? bl->rx1 - bl->rx0 : bl->ry1 - bl->ry0;
	int tol = STILL_TOLERANCE_PX + side / STILL_TOLERANCE_DIV;
	return bl->x0 >= bl->rx0 - tol && bl->x1 <= bl->rx1 + tol && bl->y0 >= bl->ry0 - tol &&
	       bl->y1 <= bl->ry1 + tol;
}

void ioca_blobs_track(struct ioca_blobs *b, double t)
{
	for (size_t i = 0; i < b->count; i++) {
		struct ioca_blob *bl = &b->blob[i];
		const struct ioca_blob *best = NULL;
		int best_ov = 0;
		for (size_t k = 0; k < b->nprev; k++) {
			int ov = overlap(bl, &b->prev[k]);
			if (ov > best_ov) {
				best_ov = ov;
				best = &b->prev[k];
			}
		}
		if (best) {
			bl->rx0 = best->rx0;
			bl->ry0 = best->ry0;
			bl->rx1 = best->rx1;
			bl->ry1 = best->ry1;
			bl->still_since = best->still_since;
		}
		if (!best || !near_reference(bl)) {
			bl->rx0 = bl->x0;
			bl->ry0 = bl->y0;
			bl->rx1 = bl->x1;
			bl->ry1 = bl->y1;
			bl->still_since = t;
		}
	}
	memcpy(b->prev, b->blob, b->count * sizeof b->blob[0]);
	b->nprev = b->count;
}
