/*
 * Intake: turns what workers (and the agent itself) emit into queue records:
 * the envelope with the next seq, the topic, the QoS. Everything the core
 * accepts goes through here into the queue, in one place, so nothing is
 * published that was not first stored.
 */
#ifndef IOCA_INTAKE_H
#define IOCA_INTAKE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "archive.h"
#include "config.h"
#include "envelope.h"
#include "queue.h"
#include "supervisor.h"

#define IOCA_AGENT_SOURCE "_agent"
#define IOCA_AGENT_PLUGIN "agent"

struct ioca_intake {
	struct ioca_queue *queue;
	const struct ioca_config *cfg;
	struct ioca_envelope_ctx env;
	struct ioca_buf buf;
	uint64_t accepted;
	uint64_t refused;             /* records the queue could keep nowhere */
	struct ioca_archive *archive; /* accepted envelopes are copied here; NULL: none */
};

void ioca_intake_init(struct ioca_intake *in, struct ioca_queue *q, const struct ioca_config *cfg);
/* The configuration changed (reload): topics, site and QoS defaults follow it. */
void ioca_intake_set_config(struct ioca_intake *in, const struct ioca_config *cfg);
void ioca_intake_free(struct ioca_intake *in);

/* A validated message from a worker. */
void ioca_intake_worker_message(struct ioca_intake *in, const struct ioca_sup_message *m);

/* An agent-level event (source "_agent"); takes ownership of data (may be NULL). */
void ioca_intake_agent_event(struct ioca_intake *in, const char *type, enum ioca_severity sev,
			     cJSON *data);

#endif
