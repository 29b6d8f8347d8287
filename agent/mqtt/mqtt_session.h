/*
 * The agent's single MQTT session (libmosquitto), driven from the core's own
 * poll loop: no libmosquitto thread, no locks.
 *
 * It pulls records from the publish queue while connected and while fewer
 * than `spool.inflight` publishes are unacknowledged, and acks each record on
 * PUBACK/PUBCOMP (QoS 1/2) or once written (QoS 0). libmosquitto is never
 * handed more than that window, so its own (unbounded, in-memory) queue stays
 * small. Brokers are tried in order and rotated on failure, with backoff.
 * The retained status is published on every connect and is the will.
 * With MQTT 5, records at QoS 0/1 use the topic aliases the broker allows
 * (its CONNACK's Topic Alias Maximum), afresh on every connection.
 * With mqtt.prefer_first, while connected to a later broker the session
 * checks the first one every mqtt.prefer_check seconds (an MQTT CONNECT of
 * a second, short-lived client, on a socket of its own) and moves back to
 * it once it answers, without losing a record.
 *
 * A record the broker will not take never blocks the ones behind it: one
 * larger than the broker's Maximum Packet Size (MQTT 5 CONNACK) or
 * mqtt.max_packet_size is not sent, a permanent publish error is final, and
 * a record on which the broker closed the connection right after it was sent
 * IOCA_MQTT_DROPS_BEFORE_REJECT times in a row is given up. Each such record
 * is acked in the queue and handed to the `rejected` callback first.
 */
#ifndef IOCA_MQTT_SESSION_H
#define IOCA_MQTT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queue.h"

struct ioca_mqtt;

/* Connections closed right after the same record before it is rejected. */
#define IOCA_MQTT_DROPS_BEFORE_REJECT 3

/* A record given up for good: `size` is its PUBLISH packet in bytes, `limit`
 * the maximum packet size in force (0: none known), `why` a short reason. */
typedef void (*ioca_mqtt_rejected_fn)(void *ctx, const struct ioca_record *r, size_t size,
				      size_t limit, const char *why);

struct ioca_mqtt_stats {
	bool connected;
	const char *broker;  /* url of the current/last broker */
	uint64_t connects;   /* successful CONNACKs */
	uint64_t reconnects; /* connection losses followed by a new attempt */
	uint64_t failbacks;  /* moves back to the first broker (mqtt.prefer_first) */
	uint64_t published;  /* records handed to libmosquitto */
	uint64_t delivered;  /* records acked (PUBACK/PUBCOMP/written) */
	uint64_t refused;    /* records the broker/library refused for good (dropped, counted) */
	uint64_t in_flight;
	uint64_t max_packet_size; /* in force: configured or the broker's, 0 = none */
	double latency_ms_avg;    /* accept -> delivered, since last stats_reset */
	double latency_ms_max;
	uint64_t latency_samples;
	char last_error[160];
};

/*
 * Create the session for `cfg` (mqtt + agent sections). Nothing is connected
 * yet. The status JSON topic is <prefix>/<agent.id>/status.
 * `offline_will_json` is the payload of the will (retained).
 * Returns NULL with a message in err on a setup error (bad TLS files, ...).
 */
struct ioca_mqtt *ioca_mqtt_new(const struct ioca_config *cfg, struct ioca_queue *queue,
				const char *offline_will_json, char *err, size_t errlen);

/* Called (from inside the session's calls) for each record rejected for good. */
void ioca_mqtt_set_rejected_cb(struct ioca_mqtt *m, ioca_mqtt_rejected_fn fn, void *ctx);

/* Start connecting (non-blocking). */
void ioca_mqtt_start(struct ioca_mqtt *m);

/* Socket to poll, or -1 when there is none right now. */
int ioca_mqtt_fd(const struct ioca_mqtt *m);
/* poll() events wanted on that socket (POLLIN, plus POLLOUT when data is waiting). */
short ioca_mqtt_poll_events(const struct ioca_mqtt *m);
/* Handle poll() results on the socket. */
void ioca_mqtt_on_poll(struct ioca_mqtt *m, short revents);
/* The socket of the check of the first broker (mqtt.prefer_first), -1 when
 * none is running; its poll() events; and the handling of its results. */
int ioca_mqtt_check_fd(const struct ioca_mqtt *m);
short ioca_mqtt_check_poll_events(const struct ioca_mqtt *m);
void ioca_mqtt_on_check_poll(struct ioca_mqtt *m, short revents);
/* Timers: keepalive, reconnect backoff, pulling from the queue. Call every loop turn. */
void ioca_mqtt_tick(struct ioca_mqtt *m, int64_t now_mono_ms);
/* Longest the loop may sleep before the next tick is due (ms). */
int ioca_mqtt_timeout_ms(const struct ioca_mqtt *m, int64_t now_mono_ms);

/* Set the retained status (published now if connected, and on every connect). */
void ioca_mqtt_set_status(struct ioca_mqtt *m, const char *status_json);

/* Publish something that does not go through the queue (metrics): QoS 0, not
 * retained; silently skipped when not connected. */
void ioca_mqtt_publish_volatile(struct ioca_mqtt *m, const char *topic, const void *payload,
				size_t len);

bool ioca_mqtt_connected(const struct ioca_mqtt *m);

/* Publish JSON outside the queue with QoS 1, not retained (replay). At most
 * half the publish table's extra slots are used this way, so status and
 * metrics always find room. IOCA_OK: handed to libmosquitto; IOCA_AGAIN: not
 * connected or too many in flight, try later; IOCA_ERROR: it will never go
 * (larger than the maximum packet size, a permanent publish error). */
int ioca_mqtt_publish_qos1(struct ioca_mqtt *m, const char *topic, const void *payload, size_t len);

/* A message that arrived on the subscription, with its MQTT 5 request/response
 * properties (NULL / 0 when absent or with MQTT 3.1.1). Valid during the call. */
struct ioca_mqtt_message {
	const char *topic;
	const void *payload;
	size_t len;
	const char *response_topic;
	const void *correlation;
	size_t correlation_len;
};
typedef void (*ioca_mqtt_message_fn)(void *ctx, const struct ioca_mqtt_message *msg);

/* Subscribe to `filter` (QoS 1) now and after every connect, handing each
 * message to fn from the poll loop. NULL filter: no subscription. */
int ioca_mqtt_subscribe(struct ioca_mqtt *m, const char *filter, ioca_mqtt_message_fn fn,
			void *ctx);

/* Publish a reply outside the queue: QoS 0, not retained, with the MQTT 5
 * Correlation Data of the request when given. Skipped when not connected. */
void ioca_mqtt_publish_reply(struct ioca_mqtt *m, const char *topic, const void *payload,
			     size_t len, const void *correlation, size_t correlation_len);

/*
 * The largest blob payload (bytes) that fits one PUBLISH on `topic` with
 * content type `content_type` and `correlation_len` bytes of Correlation Data
 * (0: none) under the maximum packet size in force, counting the widest form
 * of every property the session may add to a blob (seq, historical, message
 * expiry) and of the length fields. 0 when no limit is known; at least 1
 * otherwise (1: nothing but an empty blob would fit).
 */
size_t ioca_mqtt_blob_room(const struct ioca_mqtt *m, const char *topic, const char *content_type,
			   size_t correlation_len);

/* Publish binary reply (a snapshot) outside the queue: QoS 1, not retained,
 * with its content type and the request's Correlation Data (MQTT 5).
 * IOCA_OK: handed over; IOCA_ERROR: larger than the maximum packet size in
 * force; IOCA_AGAIN: not connected or the connection is not keeping up. */
int ioca_mqtt_publish_reply_blob(struct ioca_mqtt *m, const char *topic, const void *payload,
				 size_t len, const char *content_type, const void *correlation,
				 size_t correlation_len);

/*
 * Graceful stop: wait up to timeout_ms for in-flight publishes to complete,
 * publish `offline_status_json` retained, disconnect cleanly.
 */
void ioca_mqtt_shutdown(struct ioca_mqtt *m, const char *offline_status_json, int timeout_ms);

void ioca_mqtt_stats(struct ioca_mqtt *m, struct ioca_mqtt_stats *out);
/* Reset the latency window after a metrics report. */
void ioca_mqtt_stats_reset_latency(struct ioca_mqtt *m);

void ioca_mqtt_free(struct ioca_mqtt *m);

#endif
