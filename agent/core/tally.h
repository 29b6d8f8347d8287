/*
 * Delivery tally: counts records delivered to the broker per instance, and
 * watches records that must not vanish unnoticed (the agent's own drop
 * reports): one the queue dropped before it was handed out is "lost", and
 * its counts are given back to be reported again.
 *
 * A thin wrapper around the publish queue: next() notes which instance each
 * handed-out record belongs to (the record's instance, set by intake), ack()
 * credits that instance. It has no other ops: everything else goes straight
 * to the inner queue (queue.h), so the wrapper can sit between the core and
 * the spool without either knowing.
 */
#ifndef IOCA_TALLY_H
#define IOCA_TALLY_H

#include <stdbool.h>
#include <stdint.h>

#include "queue.h"

/* Wrap `inner` (owned: closing the wrapper closes it). `window` bounds the
 * records in flight at once. */
struct ioca_queue *ioca_tally_wrap(struct ioca_queue *inner, int window);
/* Watch record `seq` (pushed, or refused by the queue): a drop report for
 * `records` records of `bytes` bytes. Watches must be added in seq order. */
int ioca_tally_watch(struct ioca_queue *tally, uint64_t seq, uint64_t records, uint64_t bytes);
/* Counts of watched records dropped before delivery since the last call;
 * true when there are any. */
bool ioca_tally_take_lost(struct ioca_queue *tally, uint64_t *records, uint64_t *bytes);
/* One watched record dropped before delivery (oldest first), each given
 * once; false when there is none. Lost records are counted in
 * ioca_tally_take_lost() as well: this says which ones they were. */
bool ioca_tally_take_lost_seq(struct ioca_queue *tally, uint64_t *seq);
/* Whether record `seq` is still watched: neither acked nor lost. */
bool ioca_tally_watching(struct ioca_queue *tally, uint64_t seq);
/* Records of `instance` delivered so far. */
uint64_t ioca_tally_delivered(struct ioca_queue *tally, const char *instance);

#endif
