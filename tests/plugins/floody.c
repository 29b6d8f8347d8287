/*
 * floody: a test plugin that emits `floody.burst` events as fast as
 * emit_event() returns, to prove the agent's per-instance max_rate
 * back-pressure keeps one noisy instance from starving the others.
 *
 * Invariant: run() never sleeps on its own; the only thing slowing it down is
 * the host. Each event carries a counter `n` (0, 1, 2, ...) so a test can see
 * that nothing was dropped between worker and broker.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iocagent/plugin.h>

#define FLOODY_DATA_MAX 128

struct floody {
	const struct ioca_host *host;
	struct ioca_instance *inst;
};

static int floody_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct floody *f = calloc(1, sizeof(*f));

	(void)opts;
	if (!f)
		return IOCA_ERROR;
	f->host = host;
	f->inst = inst;
	*state = f;
	return IOCA_OK;
}

static int floody_run(void *state)
{
	struct floody *f = state;
	char data[FLOODY_DATA_MAX];

	for (long long n = 0; !f->host->should_stop(f->inst); n++) {
		snprintf(data, sizeof(data), "{\"n\":%lld}", n);
		if (f->host->emit_event(f->inst, "floody.burst", IOCA_SEV_INFO, 0, data) != IOCA_OK)
			return IOCA_ERROR;
		f->host->stat_add(f->inst, "emitted", 1.0);
	}
	return IOCA_OK;
}

static void floody_stop(void *state)
{
	(void)state; /* run() polls host->should_stop() on every event */
}

static void floody_destroy(void *state)
{
	free(state);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "floody",
    .version = "1.0.0",
    .description = "test plugin: emits events as fast as the agent accepts them",
    .options = NULL,
    .create = floody_create,
    .run = floody_run,
    .stop = floody_stop,
    .destroy = floody_destroy,
};
