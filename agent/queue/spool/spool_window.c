/*
 * The spool's in-flight window: one entry per record next() handed out and
 * not yet released, sorted by seq, so acks can arrive in any order and a
 * rewind() knows where to read again.
 *
 * Invariant: win[win_head .. win_head + win_n) is sorted by seq with no
 * duplicates. Its size follows the MQTT in-flight window, never the backlog.
 */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "spool_internal.h"

#define WIN_MIN_CAP 64

struct ioca_spool_ent *ioca_spool_win_find(struct ioca_spool *s, uint64_t seq)
{
	if (s->win_n == 0)
		return NULL;
	return bsearch(&seq, ioca_spool_win_at(s, 0), s->win_n, sizeof(*s->win),
		       ioca_spool_cmp_u64);
}

/* Room for one more entry at the end; compacts or grows. */
static bool win_reserve(struct ioca_spool *s)
{
	if (s->win_head > 0 && s->win_head + s->win_n >= s->win_cap) {
		memmove(s->win, s->win + s->win_head, s->win_n * sizeof(*s->win));
		s->win_head = 0;
	}
	struct ioca_spool_ent *all =
	    ioca_grow(s->win, &s->win_cap, s->win_head + s->win_n + 1, sizeof(*all), WIN_MIN_CAP);
	if (!all)
		return false;
	s->win = all;
	return true;
}

struct ioca_spool_ent *ioca_spool_win_insert(struct ioca_spool *s, const struct ioca_spool_ent *e)
{
	if (!win_reserve(s))
		return NULL;
	/* Nearly always an append: find the slot from the end. */
	size_t i = s->win_n;
	while (i > 0 && ioca_spool_win_at(s, i - 1)->seq > e->seq)
		i--;
	struct ioca_spool_ent *at = ioca_spool_win_at(s, i);
	if (i < s->win_n)
		memmove(at + 1, at, (s->win_n - i) * sizeof(*at));
	*at = *e;
	s->win_n++;
	return at;
}

void ioca_spool_win_filter(struct ioca_spool *s,
			   bool (*drop)(struct ioca_spool *, struct ioca_spool_ent *, void *),
			   void *arg)
{
	size_t out = 0;
	for (size_t i = 0; i < s->win_n; i++) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, i);
		if (drop(s, e, arg))
			continue;
		*ioca_spool_win_at(s, out++) = *e;
	}
	s->win_n = out;
	if (out == 0)
		s->win_head = 0;
}

void ioca_spool_win_free(struct ioca_spool *s)
{
	free(s->win);
	s->win = NULL;
	s->win_cap = s->win_n = s->win_head = 0;
}
