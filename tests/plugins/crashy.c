/*
 * crashy: a test plugin that emits a few events and then dies on purpose.
 *
 * Options: mode = segv | abort | exit | return | garble | hog, events (how many
 * `crashy.tick` events before dying), delay_ms (pause between them and before
 * dying).
 * Invariant: each run() ends the worker process in exactly the way `mode`
 * says (killed by SIGSEGV, killed by SIGABRT, or exit status 3), unless a
 * stop is requested first. `return` makes run() return success without a
 * stop request (the worker then exits with status 0). `garble` instead writes bytes that are no
 * valid frame into the worker's socket to the agent (the one AF_UNIX socket above stderr) and then
 * idles, calling host->wait(), until the agent kills it. `hog` allocates and touches hog_mb MiB:
 * when an allocation fails (a memory limit) run() returns IOCA_ERROR, otherwise it emits
 * `crashy.hogged` and idles until stopped. The signal disposition is reset to the default before
 * raising so that sanitizer runtimes (which catch SIGSEGV and exit with a status of their own)
 * cannot turn a crash into an exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iocagent/plugin.h>

#define CRASHY_EXIT_CODE     3
#define CRASHY_DATA_MAX      64
#define CRASHY_FD_SCAN_MAX   1024 /* highest descriptor searched for the agent socket */
#define CRASHY_GARBAGE_BYTES 4096
#define CRASHY_IDLE_MS       100
#define CRASHY_MIB           (1024u * 1024u)

enum crashy_mode {
	CRASHY_SEGV,
	CRASHY_ABORT,
	CRASHY_EXIT,
	CRASHY_RETURN,
	CRASHY_GARBLE,
	CRASHY_HOG
};

struct crashy {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	enum crashy_mode mode;
	int64_t events;
	int64_t delay_ms;
	int64_t hog_mb;
};

static const struct ioca_option crashy_options[] = {
    {.key = "mode",
     .type = IOCA_OPT_ENUM,
     .def_string = "segv",
     .choices = "segv|abort|exit|return|garble|hog",
     .help = "how to die: SIGSEGV, abort(), exit status 3, run() returning, a malformed frame, or "
	     "memory"},
    {.key = "hog_mb",
     .type = IOCA_OPT_INT,
     .def_int = 256,
     .min = 1,
     .max = 65536,
     .help = "MiB allocated by mode hog"},
    {.key = "events",
     .type = IOCA_OPT_INT,
     .def_int = 2,
     .min = 0,
     .max = 1000,
     .help = "crashy.tick events emitted before dying"},
    {.key = "delay_ms",
     .type = IOCA_OPT_INT,
     .def_int = 200,
     .min = 0,
     .max = 600000,
     .help = "pause between events and before dying (ms)"},
    {.key = NULL},
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
	c->hog_mb = host->opt_int(opts, "hog_mb");
	c->mode = CRASHY_SEGV;
	if (mode && mode[0] == 'a')
		c->mode = CRASHY_ABORT;
	else if (mode && mode[0] == 'e')
		c->mode = CRASHY_EXIT;
	else if (mode && mode[0] == 'r')
		c->mode = CRASHY_RETURN;
	else if (mode && mode[0] == 'g')
		c->mode = CRASHY_GARBLE;
	else if (mode && mode[0] == 'h')
		c->mode = CRASHY_HOG;
	*state = c;
	return IOCA_OK;
}

/* The worker's socket to the agent: the first AF_UNIX socket above stderr. */
static int crashy_agent_socket(void)
{
	for (int fd = STDERR_FILENO + 1; fd < CRASHY_FD_SCAN_MAX; fd++) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);

		memset(&addr, 0, sizeof(addr));
		if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 &&
		    addr.ss_family == AF_UNIX)
			return fd;
	}
	return -1;
}

/* Write bytes that cannot be a frame, then idle until stopped or killed. */
static int crashy_garble(struct crashy *c)
{
	unsigned char junk[CRASHY_GARBAGE_BYTES];
	int fd = crashy_agent_socket();

	if (fd < 0) {
		c->host->log(c->inst, IOCA_LOG_ERROR, "no agent socket found");
		return IOCA_ERROR;
	}
	memset(junk, 0xff, sizeof(junk));
	if (write(fd, junk, sizeof(junk)) < 0)
		return IOCA_ERROR;
	while (!c->host->wait(c->inst, CRASHY_IDLE_MS))
		;
	return IOCA_OK;
}

/* Allocate and touch hog_mb MiB (chained through their first bytes). */
static int crashy_hog(struct crashy *c)
{
	void *chain = NULL;
	int64_t got = 0;
	char data[CRASHY_DATA_MAX];
	int rc = IOCA_OK;

	for (; got < c->hog_mb; got++) {
		void **chunk = malloc(CRASHY_MIB);

		if (!chunk) {
			c->host->log(c->inst, IOCA_LOG_ERROR, "allocation failed after %lld MiB",
				     (long long)got);
			rc = IOCA_ERROR;
			break;
		}
		memset(chunk, 0x5a, CRASHY_MIB);
		*chunk = chain;
		chain = chunk;
	}
	if (rc == IOCA_OK) {
		snprintf(data, sizeof(data), "{\"mb\":%lld}", (long long)got);
		c->host->emit_event(c->inst, "crashy.hogged", IOCA_SEV_INFO, 0, data);
		while (!c->host->wait(c->inst, CRASHY_IDLE_MS))
			;
	}
	while (chain) {
		void *next = *(void **)chain;

		free(chain);
		chain = next;
	}
	return rc;
}

static void crashy_die(enum crashy_mode mode)
{
	switch (mode) {
	case CRASHY_RETURN:
	case CRASHY_GARBLE:
	case CRASHY_HOG:
		break;
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
	if (c->mode == CRASHY_RETURN)
		return IOCA_OK;
	if (c->mode == CRASHY_GARBLE)
		return crashy_garble(c);
	if (c->mode == CRASHY_HOG)
		return crashy_hog(c);
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
