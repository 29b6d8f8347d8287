/*
 * Delivery tally (see tally.h). The in-flight map is direct-mapped by seq:
 * records in flight at once span fewer seqs than the table has slots in all
 * but pathological cases, and a slot whose seq does not match is simply not
 * credited, so the worst a collision does is undercount.
 *
 * Watched reports: the queue hands records out in seq order and skips only
 * what it dropped, so a watched record that was never handed out when a
 * higher seq is, is gone; its counts become "lost" for the owner to report
 * again. A record handed out ahead of older ones (ioca_record.ahead, the
 * spool's live_first) says nothing about them: only the in-order hand-outs
 * judge. One handed out stays watched until its ack.
 */
#include "tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define NAME_MAX_LEN 64
#define MIN_SLOTS    256u
#define NO_INSTANCE  UINT32_MAX

struct slot {
	uint64_t seq;
	uint32_t instance; /* index into names, NO_INSTANCE when empty */
};

struct watch {
	uint64_t seq;
	uint64_t records, bytes;
	bool handed;
};

struct counter {
	char name[NAME_MAX_LEN + 1];
	uint64_t delivered;
};

struct tally {
	struct ioca_queue base; /* first: the queue ops see this */
	struct ioca_queue *inner;
	struct slot *slots;
	size_t mask;
	struct counter *counters;
	size_t n_counters, cap_counters;
	struct watch *watches; /* ascending seq */
	size_t n_watches, cap_watches;
	uint64_t lost_records, lost_bytes;
	uint64_t *lost_seqs; /* not yet taken, ascending */
	size_t n_lost_seqs, cap_lost_seqs;
};

static struct tally *T(struct ioca_queue *q)
{
	return (struct tally *)q;
}

static uint32_t counter_index(struct tally *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n_counters; i++)
		if (strlen(t->counters[i].name) == len &&
		    memcmp(t->counters[i].name, name, len) == 0)
			return (uint32_t)i;
	if (len > NAME_MAX_LEN)
		return NO_INSTANCE;
	struct counter *all =
	    ioca_grow(t->counters, &t->cap_counters, t->n_counters + 1, sizeof *all, 8);
	if (!all)
		return NO_INSTANCE;
	t->counters = all;
	struct counter *c = &all[t->n_counters];
	memcpy(c->name, name, len);
	c->name[len] = '\0';
	c->delivered = 0;
	return (uint32_t)t->n_counters++;
}

static void note_lost_seq(struct tally *t, uint64_t seq)
{
	uint64_t *all =
	    ioca_grow(t->lost_seqs, &t->cap_lost_seqs, t->n_lost_seqs + 1, sizeof *all, 8);
	if (!all)
		return; /* its counts are still given back by take_lost */
	t->lost_seqs = all;
	t->lost_seqs[t->n_lost_seqs++] = seq;
}

/* `seq` was handed out: watches below it never handed out are lost, unless
 * it went out ahead of older records (`ahead`). */
static void watch_handed(struct tally *t, uint64_t seq, bool ahead)
{
	size_t keep = 0;
	for (size_t i = 0; i < t->n_watches; i++) {
		struct watch *w = &t->watches[i];
		if (w->seq == seq)
			w->handed = true;
		if (w->seq < seq && !w->handed && !ahead) {
			t->lost_records += w->records;
			t->lost_bytes += w->bytes;
			note_lost_seq(t, w->seq);
			continue;
		}
		t->watches[keep++] = *w;
	}
	t->n_watches = keep;
}

static void watch_acked(struct tally *t, uint64_t seq)
{
	for (size_t i = 0; i < t->n_watches; i++) {
		if (t->watches[i].seq != seq)
			continue;
		memmove(&t->watches[i], &t->watches[i + 1],
			(t->n_watches - i - 1) * sizeof *t->watches);
		t->n_watches--;
		return;
	}
}

static int tally_next(struct ioca_queue *q, struct ioca_record *out)
{
	struct tally *t = T(q);
	int rc = ioca_queue_next(t->inner, out);
	if (rc == IOCA_OK && t->n_watches)
		watch_handed(t, out->seq, out->ahead);
	if (rc == IOCA_OK) {
		struct slot *s = &t->slots[out->seq & t->mask];
		s->seq = out->seq;
		s->instance = out->instance ? counter_index(t, out->instance, strlen(out->instance))
					    : NO_INSTANCE;
	}
	return rc;
}

static int tally_wait_ms(struct ioca_queue *q, int64_t now)
{
	return ioca_queue_wait_ms(T(q)->inner, now);
}

static void tally_ack(struct ioca_queue *q, uint64_t seq)
{
	struct tally *t = T(q);
	struct slot *s = &t->slots[seq & t->mask];
	if (s->seq == seq && s->instance != NO_INSTANCE) {
		t->counters[s->instance].delivered++;
		s->instance = NO_INSTANCE;
	}
	if (t->n_watches)
		watch_acked(t, seq);
	ioca_queue_ack(t->inner, seq);
}

static void tally_close(struct ioca_queue *q)
{
	struct tally *t = T(q);
	ioca_queue_close(t->inner);
	free(t->slots);
	free(t->counters);
	free(t->watches);
	free(t->lost_seqs);
	free(t);
}

/* The rest goes straight to the inner queue (queue.h). */
static const struct ioca_queue_ops tally_ops = {
    .next = tally_next,
    .wait_ms = tally_wait_ms,
    .ack = tally_ack,
    .close = tally_close,
};

struct ioca_queue *ioca_tally_wrap(struct ioca_queue *inner, int window)
{
	struct tally *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	size_t slots = MIN_SLOTS;
	while (slots < (size_t)(window > 0 ? window : 1) * 4)
		slots *= 2;
	t->base.ops = &tally_ops;
	t->base.inner = inner;
	t->inner = inner;
	t->slots = calloc(slots, sizeof *t->slots);
	t->mask = slots - 1;
	if (!t->slots) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < slots; i++)
		t->slots[i].instance = NO_INSTANCE;
	return &t->base;
}

uint64_t ioca_tally_delivered(struct ioca_queue *q, const char *instance)
{
	struct tally *t = T(q);
	for (size_t i = 0; i < t->n_counters; i++)
		if (strcmp(t->counters[i].name, instance) == 0)
			return t->counters[i].delivered;
	return 0;
}

int ioca_tally_watch(struct ioca_queue *q, uint64_t seq, uint64_t records, uint64_t bytes)
{
	struct tally *t = T(q);
	struct watch *w = ioca_grow(t->watches, &t->cap_watches, t->n_watches + 1, sizeof *w, 8);
	if (!w)
		return IOCA_ERROR;
	t->watches = w;
	t->watches[t->n_watches++] = (struct watch){.seq = seq, .records = records, .bytes = bytes};
	return IOCA_OK;
}

bool ioca_tally_take_lost(struct ioca_queue *q, uint64_t *records, uint64_t *bytes)
{
	struct tally *t = T(q);
	*records = t->lost_records;
	*bytes = t->lost_bytes;
	t->lost_records = t->lost_bytes = 0;
	return *records != 0;
}

bool ioca_tally_take_lost_seq(struct ioca_queue *q, uint64_t *seq)
{
	struct tally *t = T(q);
	if (t->n_lost_seqs == 0)
		return false;
	*seq = t->lost_seqs[0];
	memmove(t->lost_seqs, t->lost_seqs + 1, (t->n_lost_seqs - 1) * sizeof *t->lost_seqs);
	t->n_lost_seqs--;
	return true;
}

bool ioca_tally_watching(struct ioca_queue *q, uint64_t seq)
{
	struct tally *t = T(q);
	for (size_t i = 0; i < t->n_watches; i++)
		if (t->watches[i].seq == seq)
			return true;
	return false;
}
