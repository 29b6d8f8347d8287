/*
 * Supervision of worker processes, one per configured instance.
 *
 * A worker is started by posix_spawn of the agent binary itself (never a
 * fork of the threaded core), talks to the core through a socketpair, and is
 * restarted with exponential backoff (1 s doubling to 60 s, reset after a
 * healthy minute) when it crashes, exits, sends a malformed frame or stops
 * showing signs of life for its hang_timeout. Everything a worker sends is
 * validated here before it reaches the callbacks.
 *
 * Rate: an instance may emit at most max_rate messages per second (token
 * bucket, burst of one second). Beyond that the core stops reading its socket
 * so the plugin's emit calls block: back-pressure, not loss.
 */
#ifndef IOCA_SUPERVISOR_H
#define IOCA_SUPERVISOR_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "frame.h"

struct ioca_supervisor;

/* What a worker emitted, validated. `data` is a JSON object text of data_len bytes. */
struct ioca_sup_message {
	const char *instance;
	const char *plugin;
	int qos; /* instance qos, -1 = default */
	bool snapshot_retain;
	const struct ioca_frame_event *event; /* event or telemetry, or NULL */
	const struct ioca_frame_blob *blob;   /* or a blob */
};

/* A worker failed (for agent.instance_failed). */
struct ioca_sup_failure {
	const char *instance;
	const char *plugin;
	const char *reason; /* "crashed", "hung", "exited" */
	int signal;         /* terminating signal, 0 if none */
	int exit_code;      /* exit status, -1 if killed by a signal */
	const char *detail; /* human-readable reason, e.g. "malformed frame: ..." */
	unsigned restarts;  /* restarts so far, including the coming one */
	double retry_in_s;
};

struct ioca_sup_callbacks {
	void *ctx;
	void (*on_message)(void *ctx, const struct ioca_sup_message *m);
	void (*on_failure)(void *ctx, const struct ioca_sup_failure *f);
	/* An instance changed state (running/restarting/failed, added/removed). */
	void (*on_state_change)(void *ctx);
	/* Optional: the largest blob `instance` can have delivered, told to its
	 * worker when it starts (host->max_blob_bytes()); 0 or NULL: no limit known. */
	uint64_t (*max_blob_bytes)(void *ctx, const char *instance);
};

/* One instance, for status and metrics. */
struct ioca_sup_instance_info {
	const char *name;
	const char *plugin;
	const char *state; /* "running", "restarting", "failed" */
	pid_t pid;         /* 0 when not running */
	unsigned restarts;
	uint64_t messages_in;  /* accepted from the worker */
	uint64_t throttled_ms; /* time spent with reading paused by max_rate */
	size_t n_stats;
	const char *const *stat_names;
	const double *stat_values;
};

/* `self_exe`: path of the agent binary to spawn for workers. */
struct ioca_supervisor *ioca_supervisor_new(const char *self_exe,
					    const struct ioca_sup_callbacks *cb);
void ioca_supervisor_free(struct ioca_supervisor *s);

/* Start, stop and restart workers so they match cfg: unchanged instances keep
 * running, changed ones are restarted, removed ones stopped, new ones started. */
void ioca_supervisor_apply(struct ioca_supervisor *s, const struct ioca_config *cfg);

/* Fill fds with the worker sockets to poll; returns how many (<= max). */
size_t ioca_supervisor_pollfds(struct ioca_supervisor *s, struct pollfd *fds, size_t max);
/* Handle poll results for the fds filled above. */
void ioca_supervisor_on_poll(struct ioca_supervisor *s, const struct pollfd *fds, size_t n);
/* Collect exited children (after SIGCHLD). */
void ioca_supervisor_reap(struct ioca_supervisor *s);
/* Timers: hangs, restarts due, stop deadlines, rate refill. */
void ioca_supervisor_tick(struct ioca_supervisor *s, int64_t now_mono_ms);
/* Longest the loop may sleep (ms). */
int ioca_supervisor_timeout_ms(const struct ioca_supervisor *s, int64_t now_mono_ms);

/* One-shot supervision (iocagent --test / --snapshot): a worker that ends is
 * not restarted; its end is reported through on_failure (retry_in_s = -1,
 * also for a clean exit with exit_code 0) and logged at debug level only. */
void ioca_supervisor_set_no_restart(struct ioca_supervisor *s);

/* Ask every worker to stop; then keep calling on_poll/reap/tick until
 * ioca_supervisor_all_stopped(). Workers still running after grace_ms are killed. */
void ioca_supervisor_stop_all(struct ioca_supervisor *s, int64_t grace_ms);
bool ioca_supervisor_all_stopped(const struct ioca_supervisor *s);

size_t ioca_supervisor_count(const struct ioca_supervisor *s);
void ioca_supervisor_info(const struct ioca_supervisor *s, size_t i,
			  struct ioca_sup_instance_info *out);
/* Workers with a process and a hello received. */
size_t ioca_supervisor_running(const struct ioca_supervisor *s);

/* Stop instance `name` and start it again at once (backoff reset), as a
 * deliberate restart: no agent.instance_failed. IOCA_ERROR: no such instance. */
int ioca_supervisor_restart(struct ioca_supervisor *s, const char *name);

/* What a snapshot request to an instance became. */
enum ioca_sup_snapshot {
	IOCA_SUP_SNAPSHOT_SENT,          /* the worker was asked; a "snapshot" blob follows */
	IOCA_SUP_SNAPSHOT_NO_INSTANCE,   /* no such instance */
	IOCA_SUP_SNAPSHOT_NOT_RUNNING,   /* restarting, failed or stopping */
	IOCA_SUP_SNAPSHOT_NOT_SUPPORTED, /* its plugin does not answer snapshot requests */
};

/* Ask instance `name`'s worker for a picture of its live stream of at most
 * max_blob_bytes (0: no limit known). */
enum ioca_sup_snapshot ioca_supervisor_request_snapshot(struct ioca_supervisor *s, const char *name,
							uint64_t max_blob_bytes);

/* The room cb.max_blob_bytes() answers changed (the broker's limit became known or
 * changed): tell every worker with a process its new limit. */
void ioca_supervisor_blob_limit_changed(struct ioca_supervisor *s);

#endif
