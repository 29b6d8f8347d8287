/*
 * The engine under --test and --snapshot: load the configuration, pick one
 * instance, run it in a worker through a one-shot supervisor (no restarts),
 * hand every validated message to a sink, stop on the sink's word, on the
 * time limit, on SIGINT/SIGTERM or when the worker ends.
 *
 * Invariant: nothing here opens the spool, the MQTT session or state_dir.
 */
#ifndef IOCA_PROBE_RUN_H
#define IOCA_PROBE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "run_mode.h"
#include "supervisor.h"

enum ioca_probe_end {
	IOCA_PROBE_END_SINK,   /* the sink had what it wanted */
	IOCA_PROBE_END_TIME,   /* the time limit ran out */
	IOCA_PROBE_END_SIGNAL, /* SIGINT / SIGTERM */
	IOCA_PROBE_END_WORKER, /* the worker ended by itself (exit_code 0: cleanly) */
};

struct ioca_probe_outcome {
	enum ioca_probe_end end;
	int exit_code;    /* worker end: its exit status, -1 when killed */
	char reason[16];  /* worker end: "exited", "crashed", "hung" */
	char detail[400]; /* worker end: human-readable */
};

/* Returns true when the run is complete. */
typedef bool (*ioca_probe_sink_fn)(void *ctx, const struct ioca_sup_message *m);

/* A loaded configuration and the instance to probe in it. */
struct ioca_probe_target {
	struct ioca_config cfg;
	const struct ioca_instance_config *inst;
	uint32_t features; /* the plugin's IOCA_PLUGIN_F_* */
};

/* Load the configuration and find the instance. Returns IOCA_PROBE_EXIT_OK or
 * the exit code, after printing why on stderr. */
int ioca_probe_target_load(struct ioca_probe_target *t, const char *config_path,
			   const char *instance);
void ioca_probe_target_free(struct ioca_probe_target *t);

/* Run the instance with `req` for at most limit_ms. IOCA_OK with *out filled,
 * IOCA_ERROR when the run could not be set up (logged). */
int ioca_probe_run(const struct ioca_probe_target *t, const struct ioca_run_request *req,
		   int64_t limit_ms, ioca_probe_sink_fn sink, void *ctx,
		   struct ioca_probe_outcome *out);

/* Print why the worker ended ("iocagent: instance X: ...") on stderr. */
void ioca_probe_print_failure(const struct ioca_probe_target *t,
			      const struct ioca_probe_outcome *o);

#endif
