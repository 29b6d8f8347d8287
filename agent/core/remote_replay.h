/*
 * The `replay` remote command: re-publishing a time range of the local
 * archive on <prefix>/<agent>/replay/<the original topic after
 * <prefix>/<agent>/>, each envelope as archived (same id and seq) with
 * "replayed": true, QoS 1, outside the spool, paced at a rate from the core
 * loop. docs/commands.md is the user's view.
 *
 * Invariants: at most one replay runs; the core loop never waits on it (each
 * tick sends what the rate allows, at most REPLAY_BATCH messages, and the
 * cursor reads the archive a page at a time); every accepted replay ends
 * with exactly one completion message on the reply topic, also when it is
 * cancelled by a reload or a stop.
 */
#ifndef IOCA_REMOTE_REPLAY_H
#define IOCA_REMOTE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "command.h"
#include "config.h"
#include "mqtt_session.h"

/* Longest range one replay may cover. */
#define IOCA_REPLAY_MAX_SPAN_MS (31LL * 86400 * 1000)
/* Highest rate a request may ask for (messages/s). */
#define IOCA_REPLAY_MAX_RATE 10000.0

struct ioca_replay;

/* `cfg` must outlive the replay (the core's configuration). NULL: out of memory. */
struct ioca_replay *ioca_replay_new(const struct ioca_config *cfg);
/* Free without any message (ioca_replay_cancel() first to tell the requester). */
void ioca_replay_free(struct ioca_replay *p);

/*
 * Check `req`'s args and start the replay. IOCA_CMD_OK with *result set
 * ({"accepted": true, "matched": n, "rate": r, "topic": ...}); else a reason
 * (bad_args, busy, archive_unavailable) with `detail`. The completion goes to
 * `topic` with `correlation`.
 */
enum ioca_cmd_result ioca_replay_start(struct ioca_replay *p, const struct ioca_cmd_request *req,
				       const char *topic, const void *correlation,
				       size_t correlation_len, cJSON **result, char *detail,
				       size_t detail_len);

/* Send what the rate allows now, and the completion when the range is done. */
void ioca_replay_tick(struct ioca_replay *p, struct ioca_mqtt *m, int64_t now_mono_ms);
/* Longest the loop may sleep before the next tick is due (ms), INT32_MAX when idle. */
int ioca_replay_timeout_ms(const struct ioca_replay *p, int64_t now_mono_ms);
/* Stop a running replay; its completion says {"cancelled": why} and goes out
 * at the next tick (or now when `m` is connected and given). */
void ioca_replay_cancel(struct ioca_replay *p, struct ioca_mqtt *m, const char *why);
/* Take over the counters and a pending completion of `old` (a reload). */
void ioca_replay_take_over(struct ioca_replay *p, const struct ioca_replay *old);
bool ioca_replay_active(const struct ioca_replay *p);

/* Add {"replay": {"started":..,"sent":..,"active":..}} to the commands metrics. */
void ioca_replay_metrics(const struct ioca_replay *p, cJSON *commands);

#endif
