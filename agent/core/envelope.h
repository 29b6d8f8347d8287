/*
 * The envelope of every event and telemetry message (INTERFACE.md):
 *   {"v":1,"id":"<agent>:<seq>","seq":N,"time":"<RFC 3339 ms>","agent":..,
 *    "site":..,"source":..,"plugin":..,"type":..,"severity":..,
 *    "clock":"synced"|"unsynced","data":{..}}
 * and the topics messages go to. The data object is embedded as given: the
 * caller has validated it as a JSON object.
 */
#ifndef IOCA_ENVELOPE_H
#define IOCA_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"

/* Growable byte buffer. */
struct ioca_buf {
	char *p;
	size_t len;
	size_t cap;
};

int ioca_buf_reserve(struct ioca_buf *b, size_t extra);
int ioca_buf_append(struct ioca_buf *b, const char *s, size_t n);
int ioca_buf_puts(struct ioca_buf *b, const char *s);
/* Append s as a JSON string literal (quotes included, escaped). */
int ioca_buf_json_string(struct ioca_buf *b, const char *s);
void ioca_buf_reset(struct ioca_buf *b);
void ioca_buf_free(struct ioca_buf *b);

struct ioca_envelope_ctx {
	const char *agent_id;
	const char *site;    /* NULL: no "site" member */
	bool test;           /* iocagent --test: a last member "test":true */
	bool clock_unsynced; /* "clock" of the envelopes built now: the kernel's NTP state */
};

struct ioca_envelope_event {
	uint64_t seq;
	int64_t time_ms;
	const char *source; /* instance name, or "_agent" */
	const char *plugin;
	const char *type;
	enum ioca_severity severity;
	const char *data; /* JSON object text, or NULL for {} */
	size_t data_len;
};

/* Write the envelope into b (reset first). IOCA_OK or IOCA_ERROR (memory). */
int ioca_envelope_build(struct ioca_buf *b, const struct ioca_envelope_ctx *ctx,
			const struct ioca_envelope_event *ev);

/* <prefix>/<agent>/<instance>/event/<type with '.' -> '/'>, or .../telemetry
 * for type "telemetry". Returns the length, 0 when it does not fit. */
size_t ioca_topic_for_type(char *buf, size_t len, const char *prefix, const char *agent,
			   const char *instance, const char *type);
/* <prefix>/<agent>/<instance>/<subtopic> (blobs) */
size_t ioca_topic_for_blob(char *buf, size_t len, const char *prefix, const char *agent,
			   const char *instance, const char *subtopic);
/* <prefix>/<agent>/<leaf> (status, metrics) */
size_t ioca_topic_agent(char *buf, size_t len, const char *prefix, const char *agent,
			const char *leaf);

#endif
