/*
 * crashy: a test plugin that emits a few events and then dies on purpose.
 *
 * Options: mode = segv | abort | exit, events (how many `crashy.tick` events
 * before dying), delay_ms (pause between them and before dying).
 * Invariant: each run() ends the worker process in exactly the way `mode`
 * says (killed by SIGSEGV, killed by SIGABRT, or exit status 3), unless a
 * stop is requested first. The signal disposition is reset to the default
 * before raising so that sanitizer runtimes (which catch SIGSEGV and exit
 * with a status of their own) cannot turn a crash into an exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <iocagent/plugin.h>

#define CRASHY_EXIT_CODE 3
#define CRASHY_DATA_MAX 64

enum crashy_mode { CRASHY_SEGV, CRASHY_ABORT, CRASHY_EXIT };

struct crashy {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	enum crashy_mode mode;
	int64_t events;
	int64_t delay_ms;
};

static const struct ioca_option crashy_options[] = {
	{ .key = "mode", .type = IOCA_OPT_ENUM, .def_string = "segv", .choices = "segv|abort|exit",
	  .help = "how to die: SIGSEGV, abort() or exit status 3" },
	{ .key = "events", .type = IOCA_OPT_INT, .def_int = 2, .min = 0, .max = 1000,
	  .help = "crashy.tick events emitted before dying" },
	{ .key = "delay_ms", .type = IOCA_OPT_INT, .def_int = 200, .min = 0, .max = 600000,
	  .help = "pause between events and before dying (ms)" },
	{ .key = NULL },
};

static int crashy_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct crashy *c = calloc(1, sizeof(*c));
	const char *mode = host->opt_string(opts, "mode");

	if (!c)
		return IOCA_ERROR;
	c->host = host;
	c->inst = inst;
	c->events = host->opt_int(opts, "events");
	c->delay_ms = host->opt_int(opts, "delay_ms");
	c->mode = CRASHY_SEGV;
	if (mode && mode[0] == 'a')
		c->mode = CRASHY_ABORT;
	else if (mode && mode[0] == 'e')
		c->mode = CRASHY_EXIT;
	*state = c;
	return IOCA_OK;
}

static void crashy_die(enum crashy_mode mode)
{
	switch (mode) {
	case CRASHY_SEGV:
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		break;
	case CRASHY_ABORT:
		signal(SIGABRT, SIG_DFL);
		abort();
	case CRASHY_EXIT:
		/* _exit: no atexit handlers (a leak checker would change the status). */
		_exit(CRASHY_EXIT_CODE);
	}
	_exit(CRASHY_EXIT_CODE);
}

static int crashy_run(void *state)
{
	struct crashy *c = state;
	char data[CRASHY_DATA_MAX];

	for (int64_t i = 0; i < c->events; i++) {
		snprintf(data, sizeof(data), "{\"n\":%lld}", (long long)i);
		if (c->host->emit_event(c->inst, "crashy.tick", IOCA_SEV_INFO, 0, data) != IOCA_OK)
			return IOCA_ERROR;
		if (c->host->wait(c->inst, c->delay_ms))
			return IOCA_OK;
	}
	if (c->events == 0 && c->host->wait(c->inst, c->delay_ms))
		return IOCA_OK;
	crashy_die(c->mode);
	return IOCA_ERROR;
}

static void crashy_stop(void *state)
{
	(void)state; /* run() notices through host->wait() */
}

static void crashy_destroy(void *state)
{
	free(state);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
	.abi_major = IOCA_PLUGIN_ABI_MAJOR,
	.abi_minor = IOCA_PLUGIN_ABI_MINOR,
	.name = "crashy",
	.version = "1.0.0",
	.description = "test plugin: emits a few events, then crashes or exits",
	.options = crashy_options,
	.create = crashy_create,
	.run = crashy_run,
	.stop = crashy_stop,
	.destroy = crashy_destroy,
};
