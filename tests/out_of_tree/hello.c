/*
 * hello: the smallest useful out-of-tree plugin. Built by the tests against
 * the installed header and pkg-config file only:
 *
 *     cc -shared -fPIC $(pkg-config --cflags iocagent) hello.c -o hello.so
 *
 * Emits a "hello.greeting" event every `interval` seconds.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iocagent/plugin.h>

#ifndef HELLO_ABI_MAJOR
#define HELLO_ABI_MAJOR IOCA_PLUGIN_ABI_MAJOR
#endif

static const struct ioca_option hello_options[] = {
    {.key = "greeting",
     .type = IOCA_OPT_STRING,
     .def_string = "xin chao",
     .help = "text of the greeting"},
    {.key = "interval",
     .type = IOCA_OPT_FLOAT,
     .def_float = 1.0,
     .min = 0.01,
     .max = 3600,
     .help = "seconds between greetings"},
    {.key = NULL},
};

struct hello {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	const char *greeting;
	double interval_s;
};

static int hello_create(const struct ioca_host *host, struct ioca_instance *inst,
			const struct ioca_opts *opts, void **state)
{
	struct hello *h = calloc(1, sizeof *h);
	if (!h)
		return IOCA_ERROR;
	h->host = host;
	h->inst = inst;
	h->greeting = host->opt_string(opts, "greeting");
	h->interval_s = host->opt_float(opts, "interval");
	*state = h;
	return IOCA_OK;
}

static int hello_run(void *state)
{
	struct hello *h = state;
	unsigned n = 0;
	do {
		char data[256];
		snprintf(data, sizeof data, "{\"greeting\":\"%s\",\"n\":%u}", h->greeting, ++n);
		h->host->emit_event(h->inst, "hello.greeting", IOCA_SEV_INFO, 0, data);
	} while (!h->host->wait(h->inst, (int64_t)(h->interval_s * 1000)));
	return IOCA_OK;
}

static void hello_destroy(void *state)
{
	free(state);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = HELLO_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "hello",
    .version = "0.1",
    .description = "greets the IOC periodically (out-of-tree example)",
    .options = hello_options,
    .create = hello_create,
    .run = hello_run,
    .destroy = hello_destroy,
};
