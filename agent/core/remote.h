/*
 * Remote commands in the core: what a request authorised by command.h does,
 * and where its reply goes. Requests arrive on <prefix>/<agent>/cmd/<name>;
 * the reply goes to the MQTT 5 Response Topic (with the request's Correlation
 * Data), else to the request's "reply_to", else to
 * <prefix>/<agent>/cmd/<name>/reply. docs/commands.md is the user's view.
 *
 * Invariant: a request never runs anything unless ioca_cmd_authorize()
 * allowed it, and every request that names a command gets exactly one reply
 * (a reload's once the reload has been tried, a snapshot's once the picture
 * came or its time ran out).
 */
#ifndef IOCA_REMOTE_H
#define IOCA_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "frame.h"
#include "mqtt_session.h"
#include "supervisor.h"

/* What the core does for the commands that act on it. */
struct ioca_remote_actions {
	void *ctx;
	/* The current status document (malloc'd JSON), or NULL. */
	char *(*status_json)(void *ctx);
	/* Ask for a reload at the next loop turn; ioca_remote_reload_done() follows. */
	void (*request_reload)(void *ctx);
	/* Restart one instance now. IOCA_ERROR: no such instance. */
	int (*restart_instance)(void *ctx, const char *name);
	/* Ask instance `name` for a picture of its live stream (remote_snapshot.h);
	 * reply_room: the largest picture the reply topic takes (0: no limit known). */
	enum ioca_sup_snapshot (*request_snapshot)(void *ctx, const char *name,
						   uint64_t reply_room);
};

struct ioca_remote;

/* NULL (and nothing subscribed) when the configuration enables no command. */
struct ioca_remote *ioca_remote_new(const struct ioca_config *cfg,
				    const struct ioca_remote_actions *actions);
void ioca_remote_free(struct ioca_remote *r);

/* Subscribe `m` to the command topics and route what arrives to `r`. */
void ioca_remote_attach(struct ioca_remote *r, struct ioca_mqtt *m);

/* Remember that `instance` delivered a message at `wall_ms` (for status). */
void ioca_remote_note_message(struct ioca_remote *r, const char *instance, int64_t wall_ms);

/* Instance `instance` emitted `blob`: a snapshot request waiting for it is answered. */
void ioca_remote_note_blob(struct ioca_remote *r, const char *instance,
			   const struct ioca_frame_blob *blob);

/* A reload asked for by a command has been tried: reply on `m`. */
void ioca_remote_reload_done(struct ioca_remote *r, struct ioca_mqtt *m, bool applied);

/* Take over the last-message times and a pending reload reply from `old`
 * (after a reload replaced the remote), then free `old`. */
void ioca_remote_take_over(struct ioca_remote *r, struct ioca_remote *old);

/* Work that runs over many loop turns (a replay; error replies for snapshot
 * requests that got no picture in time): call every turn; with `stopping`, a
 * running replay is cancelled. */
void ioca_remote_tick(struct ioca_remote *r, int64_t now_mono_ms, bool stopping);
/* Longest the loop may sleep before that work is due (ms). */
int ioca_remote_timeout_ms(const struct ioca_remote *r, int64_t now_mono_ms);

/* Add {"commands": {"received":..,"executed":..,"refused":{reason: n}}} to metrics. */
void ioca_remote_metrics(const struct ioca_remote *r, cJSON *metrics);

#endif
