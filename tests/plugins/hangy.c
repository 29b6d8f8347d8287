/*
 * hangy: a test plugin that hangs on purpose.
 *
 * It emits one `hangy.started` event, then never calls a host function again
 * and ignores stop requests: run() sleeps forever in a pause() loop.
 * Invariant: after the first event the worker shows no sign of life, so the
 * agent must detect it through its hang_timeout and kill it.
 */
#include <stdlib.h>
#include <unistd.h>

#include <iocagent/plugin.h>

struct hangy {
	const struct ioca_host *host;
	struct ioca_instance *inst;
};

static int hangy_create(const struct ioca_host *host, struct ioca_instance *inst,
			const struct ioca_opts *opts, void **state)
{
	struct hangy *h = calloc(1, sizeof(*h));

	(void)opts;
	if (!h)
		return IOCA_ERROR;
	h->host = host;
	h->inst = inst;
	*state = h;
	return IOCA_OK;
}

static int hangy_run(void *state)
{
	struct hangy *h = state;

	h->host->emit_event(h->inst, "hangy.started", IOCA_SEV_INFO, 0, NULL);
	for (;;)
		pause();
	return IOCA_OK;
}

static void hangy_stop(void *state)
{
	(void)state; /* deliberately ignored */
}

static void hangy_destroy(void *state)
{
	free(state);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "hangy",
    .version = "1.0.0",
    .description = "test plugin: emits one event, then hangs ignoring stop",
    .options = NULL,
    .create = hangy_create,
    .run = hangy_run,
    .stop = hangy_stop,
    .destroy = hangy_destroy,
};
