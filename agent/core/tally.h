/*
 * Delivery tally: counts records delivered to the broker per instance.
 *
 * A thin wrapper around the publish queue: next() notes which instance each
 * handed-out record belongs to (read from its topic), ack() credits that
 * instance. Everything else passes straight through, so the wrapper can sit
 * between the core and the spool without either knowing.
 */
#ifndef IOCA_TALLY_H
#define IOCA_TALLY_H

#include <stdint.h>

#include "queue.h"

/* Wrap `inner` (owned: closing the wrapper closes it). `window` bounds the
 * records in flight at once. Topics look like <prefix>/<agent>/<instance>/... */
struct ioca_queue *ioca_tally_wrap(struct ioca_queue *inner, const char *topic_prefix,
				   const char *agent_id, int window);
/* The topic prefix changed (reload). */
void ioca_tally_set_prefix(struct ioca_queue *tally, const char *topic_prefix);
/* Records of `instance` delivered so far. */
uint64_t ioca_tally_delivered(struct ioca_queue *tally, const char *instance);

#endif
