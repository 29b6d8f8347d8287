/*
 * Worker process main (see worker.h).
 *
 * Threads: the main thread creates the plugin and runs it; a control thread
 * sends heartbeats and statistics every second and turns a STOP frame, EOF
 * on the socket (the core is gone) or SIGTERM into a stop request, calling
 * the plugin's stop(). The worker dies with the core (PR_SET_PDEATHSIG).
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "optcheck.h"
#include "opts.h"
#include "plugin_loader.h"
#include "run_mode.h"
#include "worker_host.h"

#define CONTROL_PERIOD_MS 1000
#define OPTIONS_MAX_BYTES (16u * 1024u * 1024u)
#define BYTES_PER_MIB     (1024ull * 1024ull)

struct worker {
	const char *name;
	struct ioca_loaded_plugin plugin;
	void *state;
	atomic_bool created;
	atomic_bool done;
	int sig_fd;
	int wake_pipe[2];
};

static void stop_plugin(struct worker *w)
{
	if (ioca_worker_host_stop_requested())
		return;
	ioca_worker_host_request_stop();
	if (atomic_load(&w->created) && w->plugin.desc->stop)
		w->plugin.desc->stop(w->state);
}

/* Reads frames from the core: STOP, SNAPSHOT_REQUEST and BLOB_LIMIT. EOF or garbage: stop. */
static void read_core(struct worker *w, struct ioca_frame_reader *rd)
{
	uint8_t *dst;
	if (ioca_frame_reader_space(rd, 4096, &dst) != IOCA_OK) {
		stop_plugin(w);
		return;
	}
	ssize_t n = read(IOCA_WORKER_SOCKET_FD, dst, 4096);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		stop_plugin(w);
		return;
	}
	ioca_frame_reader_commit(rd, (size_t)n);
	struct ioca_frame f;
	int rc;
	while ((rc = ioca_frame_next(rd, &f)) == IOCA_OK) {
		if (f.type == IOCA_FRAME_STOP)
			stop_plugin(w);
		else if (f.type == IOCA_FRAME_SNAPSHOT_REQUEST) {
			uint64_t limit = 0;
			char err[96];
			if (ioca_frame_parse_snapshot_request(&f, &limit, err, sizeof err) ==
			    IOCA_OK)
				ioca_worker_host_request_snapshot(limit);
		} else if (f.type == IOCA_FRAME_BLOB_LIMIT) {
			uint64_t limit = 0;
			char err[96];
			if (ioca_frame_parse_blob_limit(&f, &limit, err, sizeof err) == IOCA_OK)
				ioca_worker_host_set_max_blob(limit);
		}
	}
	if (rc == IOCA_ERROR)
		stop_plugin(w);
}

static void *control_thread(void *arg)
{
	struct worker *w = arg;
	struct ioca_frame_reader rd;
	ioca_frame_reader_init(&rd);
	struct pollfd fds[3] = {
	    {.fd = IOCA_WORKER_SOCKET_FD, .events = POLLIN},
	    {.fd = w->sig_fd, .events = POLLIN},
	    {.fd = w->wake_pipe[0], .events = POLLIN},
	};
	bool socket_open = true;
	while (!atomic_load(&w->done)) {
		fds[0].fd = socket_open ? IOCA_WORKER_SOCKET_FD : -1;
		int n = poll(fds, 3, CONTROL_PERIOD_MS);
		if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			read_core(w, &rd);
			if (fds[0].revents & (POLLHUP | POLLERR))
				socket_open = false;
		}
		if (n > 0 && (fds[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(w->sig_fd, &si, sizeof si) == (ssize_t)sizeof si &&
			    si.ssi_signo == SIGTERM)
				stop_plugin(w);
		}
		if (atomic_load(&w->done))
			break;
		if (ioca_worker_host_flush() != IOCA_OK)
			socket_open = false;
	}
	ioca_frame_reader_free(&rd);
	return NULL;
}

static int read_options(config_t *cfg)
{
	char *text = malloc(OPTIONS_MAX_BYTES + 1);
	if (!text)
		return IOCA_ERROR;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(IOCA_WORKER_OPTIONS_FD, text + len, OPTIONS_MAX_BYTES - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == OPTIONS_MAX_BYTES)
			break;
	}
	text[len] = '\0';
	close(IOCA_WORKER_OPTIONS_FD);
	int rc = config_read_string(cfg, text) == CONFIG_TRUE ? IOCA_OK : IOCA_ERROR;
	if (rc != IOCA_OK)
		ioca_error("worker: cannot parse instance options: line %d: %s",
			   config_error_line(cfg), config_error_text(cfg));
	free(text);
	return rc;
}

static void limit_memory(int64_t mb, const char *name)
{
	if (mb <= 0)
		return;
	struct rlimit rl = {.rlim_cur = (rlim_t)mb * BYTES_PER_MIB,
			    .rlim_max = (rlim_t)mb * BYTES_PER_MIB};
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		ioca_warn("[%s] cannot set memory limit of %lld MiB: %m", name, (long long)mb);
}

int ioca_worker_main(int argc, char **argv)
{
	struct ioca_worker_args args;
	char err[512] = "";
	if (ioca_worker_args_decode(argc, argv, &args, err, sizeof err) != 0) {
		fprintf(stderr, "iocagent worker: %s\n", err);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}
	struct worker w = {.name = args.name, .sig_fd = -1, .wake_pipe = {-1, -1}};
	ioca_log_init(args.log_level);

	/* die with the core, whatever the plugin is doing (had the core already
	 * gone, the socket reads EOF and the worker stops by itself) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* a terminal's ^C is for the core, which stops us */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	w.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (pipe2(w.wake_pipe, O_CLOEXEC) != 0 || w.sig_fd < 0) {
		ioca_error("[%s] worker setup: %m", w.name);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}
	limit_memory(args.memory_limit_mb, w.name);

	config_t cfg;
	config_init(&cfg);
	const struct ioca_host *host = ioca_worker_host_init(IOCA_WORKER_SOCKET_FD, w.name,
							     args.max_rate, args.max_blob_bytes);
	if (read_options(&cfg) != IOCA_OK ||
	    ioca_plugin_open_path(args.plugin_path, &w.plugin, err, sizeof err) != IOCA_OK) {
		if (w.plugin.handle == NULL && err[0])
			ioca_error("[%s] %s", w.name, err);
		config_destroy(&cfg);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}
	const struct ioca_plugin *desc = w.plugin.desc;
	struct ioca_run_request run;
	if (ioca_run_request_take(config_root_setting(&cfg), &run) != IOCA_OK ||
	    (run.mode == IOCA_RUN_SNAPSHOT &&
	     !(ioca_plugin_features(desc) & IOCA_PLUGIN_F_SNAPSHOT))) {
		ioca_error("[%s] plugin %s cannot run in the requested mode", w.name, desc->name);
		config_destroy(&cfg);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}
	ioca_worker_host_set_run_mode(run.mode, run.flags);
	/* the core sends only what was written: fill in the defaults again */
	struct ioca_diag diag = {0};
	if (ioca_optcheck_group(config_root_setting(&cfg), desc->options, ioca_instance_core_keys,
				"options", "options", &diag) != 0) {
		for (size_t i = 0; i < diag.count; i++)
			ioca_error("[%s] %s", w.name, diag.lines[i]);
		ioca_diag_clear(&diag);
		config_destroy(&cfg);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}
	uint8_t hello[512];
	uint32_t features = ioca_plugin_features(desc);
	if (desc->abi_minor < 4)
		features &= ~IOCA_PLUGIN_F_SNAPSHOT_REQUEST; /* not in the ABI it was built for */
	size_t hlen =
	    ioca_frame_encode_hello(hello, sizeof hello, desc->abi_major, desc->abi_minor,
				    desc->name, desc->version ? desc->version : "", features);
	if (!hlen || ioca_worker_host_send(hello, hlen) != IOCA_OK) {
		config_destroy(&cfg);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}

	pthread_t control;
	if (pthread_create(&control, NULL, control_thread, &w) != 0) {
		config_destroy(&cfg);
		return IOCA_WORKER_EXIT_SETUP_FAILED;
	}

	int exit_code = 0;
	const struct ioca_opts *opts = ioca_opts_from_setting(config_root_setting(&cfg));
	if (desc->create(host, ioca_worker_instance(), opts, &w.state) != IOCA_OK) {
		ioca_error("[%s] plugin %s: create failed", w.name, desc->name);
		exit_code = IOCA_WORKER_EXIT_CREATE_FAILED;
	} else {
		atomic_store(&w.created, true);
		/* a stop requested while create() ran must still reach the plugin */
		if (ioca_worker_host_stop_requested() && desc->stop)
			desc->stop(w.state);
		int rc = desc->run(w.state);
		if (rc != IOCA_OK)
			exit_code = IOCA_WORKER_EXIT_RUN_FAILED;
		else if (!ioca_worker_host_stop_requested() && run.mode == IOCA_RUN_SERVICE)
			ioca_warn("[%s] plugin %s: run() returned without a stop request", w.name,
				  desc->name);
		atomic_store(&w.created, false);
		desc->destroy(w.state);
	}
	atomic_store(&w.done, true);
	ssize_t wr = write(w.wake_pipe[1], "x", 1);
	(void)wr;
	pthread_join(control, NULL);
	ioca_worker_host_flush();
	config_destroy(&cfg);
	/* the plugin stays loaded: libraries may have left threads behind */
	free(w.plugin.path);
	return exit_code;
}
