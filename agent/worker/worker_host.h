/*
 * The host function table as a worker implements it: each emission becomes
 * a frame written to the core's socket under one lock, so plugin threads may
 * emit concurrently. Every host call is a sign of life for hang detection.
 */
#ifndef IOCA_WORKER_HOST_H
#define IOCA_WORKER_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "iocagent/plugin.h"

/* Set up the host for instance `name` writing frames to fd. Emissions are
 * paced to max_rate per second (0: unlimited) by blocking the caller.
 * max_blob_bytes is what host->max_blob_bytes() answers (0: no limit known). */
const struct ioca_host *ioca_worker_host_init(int fd, const char *name, double max_rate,
					      uint64_t max_blob_bytes);
struct ioca_instance *ioca_worker_instance(void);

/* What host->run_mode() answers (default IOCA_RUN_SERVICE); before create(). */
void ioca_worker_host_set_run_mode(enum ioca_run_mode mode, unsigned flags);

/* The core asked for a picture of at most max_blob_bytes (0: no limit known):
 * host->snapshot_requested() answers true once, and host->max_blob_bytes(inst,
 * true) gives that limit. */
void ioca_worker_host_request_snapshot(uint64_t max_blob_bytes);

/* The core's new limit for blobs (0: none known): what host->max_blob_bytes(inst,
 * false) answers from now on. */
void ioca_worker_host_set_max_blob(uint64_t max_blob_bytes);

/* Ask the plugin to stop: should_stop() turns true and wait() returns. */
void ioca_worker_host_request_stop(void);
bool ioca_worker_host_stop_requested(void);
/* Milliseconds since the plugin last called a host function; 0 while it
 * waits in host->wait(). */
int64_t ioca_worker_host_idle_ms(void);
/* Send a heartbeat frame and the statistics changed since the last flush.
 * IOCA_ERROR when the core is gone. */
int ioca_worker_host_flush(void);
/* Send a raw frame (hello). */
int ioca_worker_host_send(const void *frame, size_t len);

#endif
