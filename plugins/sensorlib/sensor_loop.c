/*
 * The sensor plugins' poll scheduler, and the state of a plugin that runs in
 * it (see sensor_loop.h).
 *
 * Invariant: every iteration either polls, or waits through host->wait for
 * at most min(next poll, next telemetry, longest_wait_ms); it never spins
 * without calling the host.
 */
#include "sensor_loop.h"

#include <stdlib.h>

void ioca_sensor_loop_init(struct ioca_sensor_loop *loop, const struct ioca_host *host,
			   struct ioca_instance *inst, struct ioca_sensor *sensor,
			   ioca_sensor_poll_fn poll, void *ctx, int64_t longest_wait_ms)
{
	*loop = (struct ioca_sensor_loop){.host = host,
					  .inst = inst,
					  .sensor = sensor,
					  .poll = poll,
					  .ctx = ctx,
					  .longest_wait_ms = longest_wait_ms};
	atomic_init(&loop->stopping, false);
}

bool ioca_sensor_loop_stopping(struct ioca_sensor_loop *loop)
{
	return atomic_load(&loop->stopping) || loop->host->should_stop(loop->inst);
}

void ioca_sensor_loop_stop(struct ioca_sensor_loop *loop)
{
	atomic_store(&loop->stopping, true);
}

int64_t ioca_sensor_next_period(int64_t due_ms, int64_t period_ms, int64_t now_ms)
{
	int64_t next = due_ms + period_ms;

	return next > now_ms ? next : now_ms + period_ms;
}

int ioca_sensor_loop_run(struct ioca_sensor_loop *loop)
{
	const struct ioca_host *host = loop->host;
	int64_t due = host->now_mono_ms();

	while (!ioca_sensor_loop_stopping(loop)) {
		int64_t now = host->now_mono_ms();
		int64_t wait_ms, publish_in;

		if (now >= due) {
			due = loop->poll(loop->ctx, due, now);
			if (due == IOCA_SENSOR_POLL_STOP)
				break;
			now = host->now_mono_ms();
		}
		publish_in = ioca_sensor_flush(loop->sensor, now);
		wait_ms = due - now;
		if (publish_in < wait_ms)
			wait_ms = publish_in;
		if (loop->longest_wait_ms > 0 && wait_ms > loop->longest_wait_ms)
			wait_ms = loop->longest_wait_ms;
		if (wait_ms > 0 && host->wait(loop->inst, wait_ms))
			break;
	}
	ioca_sensor_flush_all(loop->sensor, host->now_mono_ms());
	return IOCA_OK;
}

int ioca_sensor_loop_plugin_run(void *state)
{
	return ioca_sensor_loop_run(state);
}

void ioca_sensor_loop_plugin_stop(void *state)
{
	ioca_sensor_loop_stop(state);
}

void *ioca_sensor_loop_plugin_new(size_t size, const struct ioca_host *host,
				  struct ioca_instance *inst, const struct ioca_opts *opts,
				  ioca_sensor_poll_fn poll, int64_t longest_wait_ms)
{
	struct ioca_sensor_loop *loop = calloc(1, size);
	struct ioca_sensor *sensor;

	if (!loop) {
		host->log(inst, IOCA_LOG_ERROR, "sensor: out of memory");
		return NULL;
	}
	sensor = ioca_sensor_new(host, inst, opts); /* logs its own failure */
	if (!sensor) {
		free(loop);
		return NULL;
	}
	ioca_sensor_loop_init(loop, host, inst, sensor, poll, loop, longest_wait_ms);
	return loop;
}

void ioca_sensor_loop_plugin_free(void *state)
{
	struct ioca_sensor_loop *loop = state;

	if (!loop)
		return;
	ioca_sensor_free(loop->sensor);
	free(loop);
}
