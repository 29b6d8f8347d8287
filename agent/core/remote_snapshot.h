/*
 * The `snapshot` remote command: a picture of one camera instance's live
 * stream, sent back on the request's reply topic.
 *
 * A request asks the instance's running worker for a picture (a
 * SNAPSHOT_REQUEST frame; the plugin takes it from the stream it already
 * decodes, without a second connection) and waits. The next "snapshot" blob
 * that instance emits answers it: besides its ordinary way through the spool,
 * the blob is published once more, outside the spool, to the reply topic
 * (QoS 1, the blob's content type and the request's Correlation Data). A
 * request that cannot be asked, or gets no picture within
 * IOCA_SNAPSHOT_REPLY_TIMEOUT_MS, gets a JSON error reply whose result names
 * the reason.
 *
 * Invariant: every request gets exactly one reply (picture or error); at
 * most one request waits per instance.
 */
#ifndef IOCA_REMOTE_SNAPSHOT_H
#define IOCA_REMOTE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "command.h"
#include "frame.h"
#include "mqtt_session.h"
#include "supervisor.h"

#define IOCA_SNAPSHOT_REPLY_TIMEOUT_MS 5000
#define IOCA_SNAPSHOT_WAITS_MAX        8
#define IOCA_SNAPSHOT_TOPIC_MAX        512
#define IOCA_SNAPSHOT_INSTANCE_MAX     64

struct ioca_snapshot_wait {
	bool used;
	char instance[IOCA_SNAPSHOT_INSTANCE_MAX + 1];
	struct ioca_cmd_request req; /* args not kept */
	char topic[IOCA_SNAPSHOT_TOPIC_MAX];
	uint8_t correlation[IOCA_CMD_REQUEST_ID_MAX * 4];
	size_t correlation_len;
	int64_t deadline_ms; /* monotonic */
};

/* Counters of the command, reported as metrics commands.snapshot.*: every
 * request ends as exactly one of answered, too_large or failed (or still
 * waits). */
struct ioca_snapshot_counts {
	uint64_t requested; /* authorised requests */
	uint64_t answered;  /* pictures sent to the reply topic */
	uint64_t too_large; /* pictures larger than the maximum packet size */
	uint64_t failed;    /* any other end: refused, timed out, not connected */
	uint64_t timed_out; /* of failed: no picture in time */
	uint64_t bytes;     /* bytes of the pictures sent */
};

struct ioca_snapshot_waits {
	struct ioca_snapshot_wait w[IOCA_SNAPSHOT_WAITS_MAX];
	struct ioca_snapshot_counts n;
};

/* Where the reply to a request goes. */
struct ioca_snapshot_reply_to {
	const char *topic;
	const void *correlation;
	size_t correlation_len;
};

/* Asks instance `name` for a picture (ioca_supervisor_request_snapshot()) that
 * is to be sent to `to` besides the instance's own snapshot topic. */
typedef enum ioca_sup_snapshot (*ioca_snapshot_ask_fn)(void *ctx, const char *name,
						       const struct ioca_snapshot_reply_to *to);

/*
 * Start request `req` (authorised). Sets *waiting when the reply now waits
 * for the picture; otherwise fills err and returns the result of the error
 * reply ({"instance":..,"reason":..}).
 */
cJSON *ioca_snapshot_begin(struct ioca_snapshot_waits *sw, const struct ioca_cmd_request *req,
			   const struct ioca_snapshot_reply_to *to, ioca_snapshot_ask_fn ask,
			   void *ask_ctx, int64_t now_mono_ms, bool *waiting, char *err,
			   size_t errlen);

/* Instance `instance` emitted `blob`: answer the request waiting for it, if any. */
void ioca_snapshot_on_blob(struct ioca_snapshot_waits *sw, struct ioca_mqtt *m,
			   const char *instance, const struct ioca_frame_blob *blob);

/* Error replies for the requests whose picture did not come in time. */
void ioca_snapshot_tick(struct ioca_snapshot_waits *sw, struct ioca_mqtt *m, int64_t now_mono_ms);

/* Milliseconds until the next deadline (INT32_MAX when nothing waits). */
int64_t ioca_snapshot_timeout_ms(const struct ioca_snapshot_waits *sw, int64_t now_mono_ms);

/* Add the "snapshot" object of the metrics' "commands" object: requested,
 * answered, too_large, failed, timed_out, bytes and waiting (requests waiting
 * for their picture now). */
void ioca_snapshot_metrics(const struct ioca_snapshot_waits *sw, cJSON *commands);

#endif
