/*
 * One instance through a one-shot supervisor: see probe_run.h.
 *
 * The loop is the core's in miniature: one poll() over a signalfd and the
 * worker's socket, then the supervisor's timers. The supervisor validates
 * every frame as in service, so what a sink sees is what intake would see.
 */
#include "probe_run.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "plugin_loader.h"
#include "probe.h"
#include "timeutil.h"
#include "worker_args.h"

#define PROBE_POLL_FDS 4
#define STOP_GRACE_MS  3000
#define STOP_SLACK_MS  500

struct run {
	struct ioca_supervisor *sup;
	ioca_probe_sink_fn sink;
	void *ctx;
	bool done;
	struct ioca_probe_outcome *out;
};

int ioca_probe_target_load(struct ioca_probe_target *t, const char *config_path,
			   const char *instance)
{
	memset(t, 0, sizeof *t);
	struct ioca_diag diag = {0};
	if (ioca_config_load(config_path, NULL, &t->cfg, &diag) != IOCA_OK) {
		ioca_diag_print(&diag, stderr);
		ioca_diag_clear(&diag);
		return IOCA_PROBE_EXIT_CONFIG;
	}
	t->inst = ioca_config_find_instance(&t->cfg, instance);
	if (!t->inst) {
		fprintf(stderr, "iocagent: no instance '%s' in %s (instances:", instance,
			config_path);
		for (size_t i = 0; i < t->cfg.n_instances; i++)
			fprintf(stderr, "%s %s", i ? "," : "", t->cfg.instances[i].name);
		fprintf(stderr, "%s)\n", t->cfg.n_instances ? "" : " none");
		ioca_probe_target_free(t);
		return IOCA_PROBE_EXIT_USAGE;
	}
	struct ioca_loaded_plugin p;
	char err[512];
	if (ioca_plugin_open(t->cfg.agent.plugin_dir, t->inst->plugin, &p, err, sizeof err) !=
	    IOCA_OK) {
		fprintf(stderr, "iocagent: %s\n", err);
		ioca_probe_target_free(t);
		return IOCA_PROBE_EXIT_CONFIG;
	}
	t->features = ioca_plugin_features(p.desc);
	ioca_plugin_close(&p);
	return IOCA_PROBE_EXIT_OK;
}

void ioca_probe_target_free(struct ioca_probe_target *t)
{
	if (t->cfg.agent.id)
		ioca_config_free(&t->cfg);
	memset(t, 0, sizeof *t);
}

static void on_message(void *ctx, const struct ioca_sup_message *m)
{
	struct run *r = ctx;
	if (r->sink(r->ctx, m))
		r->done = true;
}

static void on_failure(void *ctx, const struct ioca_sup_failure *f)
{
	struct run *r = ctx;
	r->done = true;
	r->out->end = IOCA_PROBE_END_WORKER;
	r->out->exit_code = f->exit_code;
	snprintf(r->out->reason, sizeof r->out->reason, "%s", f->reason);
	snprintf(r->out->detail, sizeof r->out->detail, "%s", f->detail ? f->detail : "");
}

static int signals_fd(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* One poll() turn. Returns true on SIGINT/SIGTERM. */
static bool turn(struct run *r, int sig_fd, int max_wait_ms)
{
	struct pollfd fds[PROBE_POLL_FDS];
	int64_t now = ioca_now_mono_ms();
	fds[0] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
	size_t n = 1 + ioca_supervisor_pollfds(r->sup, fds + 1, PROBE_POLL_FDS - 1);
	int timeout = ioca_supervisor_timeout_ms(r->sup, now);
	if (timeout > max_wait_ms)
		timeout = max_wait_ms;
	bool interrupted = false;
	int ready = poll(fds, n, timeout < 0 ? 0 : timeout);
	if (ready < 0 && errno != EINTR)
		ioca_error("poll: %m");
	if (ready > 0) {
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					ioca_supervisor_reap(r->sup);
				else
					interrupted = true;
			}
		}
		ioca_supervisor_on_poll(r->sup, fds + 1, n - 1);
	}
	ioca_supervisor_tick(r->sup, ioca_now_mono_ms());
	return interrupted;
}

int ioca_probe_run(const struct ioca_probe_target *t, const struct ioca_run_request *req,
		   int64_t limit_ms, ioca_probe_sink_fn sink, void *ctx,
		   struct ioca_probe_outcome *out)
{
	char exe[PATH_MAX];
	memset(out, 0, sizeof *out);
	out->exit_code = -1;
	if (ioca_worker_program(exe, sizeof exe) != 0) {
		ioca_error("cannot find the agent's own executable: %m");
		return IOCA_ERROR;
	}
	char *options =
	    ioca_run_request_append(t->inst->options_text ? t->inst->options_text : "", req);
	sigset_t mask;
	int sig_fd = signals_fd(&mask);
	struct run r = {.sink = sink, .ctx = ctx, .out = out};
	struct ioca_sup_callbacks cb = {
	    .ctx = &r, .on_message = on_message, .on_failure = on_failure};
	r.sup = options && sig_fd >= 0 ? ioca_supervisor_new(exe, &cb) : NULL;
	if (!r.sup) {
		ioca_error("cannot set up the run: %s",
			   sig_fd < 0 ? "signalfd failed" : "no memory");
		free(options);
		if (sig_fd >= 0)
			close(sig_fd);
		return IOCA_ERROR;
	}
	ioca_supervisor_set_no_restart(r.sup);

	/* the configuration with this one instance, carrying the run request */
	struct ioca_instance_config one = *t->inst;
	one.options_text = options;
	struct ioca_config cfg = t->cfg;
	cfg.instances = &one;
	cfg.n_instances = 1;

	int64_t start = ioca_now_mono_ms();
	ioca_supervisor_apply(r.sup, &cfg);
	out->end = IOCA_PROBE_END_TIME;
	while (!r.done) {
		int64_t left = start + limit_ms - ioca_now_mono_ms();
		if (left <= 0)
			break;
		if (turn(&r, sig_fd, left > INT_MAX ? INT_MAX : (int)left)) {
			out->end = IOCA_PROBE_END_SIGNAL;
			break;
		}
	}
	if (r.done && out->end != IOCA_PROBE_END_WORKER)
		out->end = IOCA_PROBE_END_SINK;

	/* stop; what the worker emits while stopping still goes to the sink */
	int64_t stop_start = ioca_now_mono_ms();
	ioca_supervisor_stop_all(r.sup, STOP_GRACE_MS);
	while (!ioca_supervisor_all_stopped(r.sup) &&
	       ioca_now_mono_ms() - stop_start < STOP_GRACE_MS + STOP_SLACK_MS)
		turn(&r, sig_fd, STOP_SLACK_MS);
	ioca_supervisor_free(r.sup);
	close(sig_fd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	free(options);
	return IOCA_OK;
}

void ioca_probe_print_failure(const struct ioca_probe_target *t, const struct ioca_probe_outcome *o)
{
	fprintf(stderr, "iocagent: instance %s (plugin %s) failed (%s): %s\n", t->inst->name,
		t->inst->plugin, o->reason, o->detail[0] ? o->detail : "no detail");
}
