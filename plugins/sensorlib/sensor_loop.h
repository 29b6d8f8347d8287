/*
 * The poll scheduler every polling sensor plugin runs in run(): call the
 * plugin's poll when it is due, flush ioca_sensorlib's telemetry and events
 * after each round, and wait (through host->wait, so the agent sees a live
 * plugin) until the next poll or the next telemetry, whichever comes first.
 *
 *     static int64_t poll(void *ctx, int64_t due_ms, int64_t now_ms)
 *     {
 *             ... read the instrument, ioca_sensor_sample() ...
 *             return ioca_sensor_next_period(due_ms, PERIOD_MS, host->now_mono_ms());
 *     }
 *     struct state { struct ioca_sensor_loop loop; ... };   // the loop first
 *     create(): st = ioca_sensor_loop_plugin_new(sizeof *st, host, inst, opts, poll,
 *                                                LONGEST_WAIT_MS);
 *     destroy(): ... ioca_sensor_loop_plugin_free(st);
 *     descriptor: .run = ioca_sensor_loop_plugin_run, .stop = ioca_sensor_loop_plugin_stop
 *
 * Invariant: the loop returns within one host->wait of a stop request (stop()
 * or host->should_stop), and what the readings hold is published before it
 * returns (ioca_sensor_flush_all).
 */
#ifndef IOCA_SENSOR_LOOP_H
#define IOCA_SENSOR_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"
#include "sensor.h"

/* Returned by a poll function to end run() (the instance is stopping). */
#define IOCA_SENSOR_POLL_STOP INT64_MIN

/*
 * One poll round, called when `due_ms` (monotonic) has come; `now_ms` is the
 * time it was called. Return value: when the next round is due (monotonic
 * ms; INT64_MAX: only telemetry is scheduled), or IOCA_SENSOR_POLL_STOP.
 */
typedef int64_t (*ioca_sensor_poll_fn)(void *ctx, int64_t due_ms, int64_t now_ms);

struct ioca_sensor_loop {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	ioca_sensor_poll_fn poll;
	void *ctx;
	int64_t longest_wait_ms; /* longest single wait; 0: no limit */
	atomic_bool stopping;    /* set by ioca_sensor_loop_stop() from any thread */
};

void ioca_sensor_loop_init(struct ioca_sensor_loop *loop, const struct ioca_host *host,
			   struct ioca_instance *inst, struct ioca_sensor *sensor,
			   ioca_sensor_poll_fn poll, void *ctx, int64_t longest_wait_ms);

/* run() of the plugin: poll, flush, wait until stopped. Return value: IOCA_OK. */
int ioca_sensor_loop_run(struct ioca_sensor_loop *loop);

/* stop() of the plugin; safe from any thread. */
void ioca_sensor_loop_stop(struct ioca_sensor_loop *loop);

/* Whether a stop was requested (stop() or host->should_stop); for long polls. */
bool ioca_sensor_loop_stopping(struct ioca_sensor_loop *loop);

/*
 * run() and stop() callbacks of a plugin whose state begins with its struct
 * ioca_sensor_loop (the first member: a pointer to the state is a pointer to
 * the loop).
 */
int ioca_sensor_loop_plugin_run(void *state);
void ioca_sensor_loop_plugin_stop(void *state);

/*
 * Function: ioca_sensor_loop_plugin_new
 *
 * The start of create() of such a plugin: a zeroed state of `size` bytes
 * (size >= sizeof(struct ioca_sensor_loop)), the instance's struct ioca_sensor
 * read from the instance keys of `opts` (in loop.sensor), and the loop set up
 * to call poll(state, ...) (ioca_sensor_loop_init()).
 *
 * Return value: the state, or NULL (out of memory; logged).
 */
void *ioca_sensor_loop_plugin_new(size_t size, const struct ioca_host *host,
				  struct ioca_instance *inst, const struct ioca_opts *opts,
				  ioca_sensor_poll_fn poll, int64_t longest_wait_ms);

/* Free the sensor and the state ioca_sensor_loop_plugin_new() made; NULL does nothing. */
void ioca_sensor_loop_plugin_free(void *state);

/*
 * Next due time of a fixed period: `due_ms + period_ms`, or `now_ms +
 * period_ms` when the round overran it (no burst of late rounds).
 */
int64_t ioca_sensor_next_period(int64_t due_ms, int64_t period_ms, int64_t now_ms);

#endif
