/*
 * Worker supervision (see supervisor.h).
 *
 * Each instance has one struct worker for its whole life in the config, not
 * per process: restarts reuse it, so counters and backoff carry over. The
 * phases: IDLE (no process; waiting for next_start_ms), RUNNING (process
 * alive), STOPPING (asked to stop; killed at stop_deadline_ms). A process
 * exit is only learned from waitpid(), never assumed from a closed socket.
 *
 * A worker is judged by what it reports, not by the core's own clock: the
 * newest heartbeat carries the worker's monotonic send time (one clock for
 * all processes of the host), everything pending on its socket is read
 * before it is judged, and time the core itself was not looking (a long
 * reload, the core stopped) is not counted as the worker's silence.
 */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "emit.h"
#include "grow.h"
#include "log.h"
#include "timeutil.h"
#include "token_bucket.h"
#include "utf8.h"
#include "worker_args.h"

extern char **environ;

#define BACKOFF_MIN_MS           1000
#define BACKOFF_MAX_MS           60000
#define HEALTHY_RESET_MS         60000
#define STOP_GRACE_MS            3000
#define READ_CHUNK_BYTES         (256u * 1024u)
#define MAX_FRAMES_PER_POLL      512
#define FAILED_AFTER_CONSECUTIVE 5
#define MAX_WORKER_STATS         64
#define TICK_IDLE_MS             1000
/* a gap between two ticks longer than this means the core was not looking */
#define CORE_STALL_MS      (2 * TICK_IDLE_MS)
#define CATCH_UP_MAX_READS 8

enum phase { PHASE_IDLE, PHASE_RUNNING, PHASE_STOPPING };

struct worker {
	/* configuration (owned copies) */
	char *name;
	char *plugin;
	char *plugin_path;
	char *options_text;
	uint64_t fingerprint;
	int qos;
	bool snapshot_retain;
	double max_rate;
	int64_t hang_timeout_ms;
	int64_t memory_limit_mb;

	/* a changed configuration waiting for the old process to exit */
	struct worker *pending;
	bool removed;
	bool restart_requested; /* stopped on purpose, to start again at once */

	enum phase phase;
	pid_t pid;
	int fd;
	struct ioca_frame_reader rd;
	bool hello;
	uint32_t features; /* the plugin's, from the hello */
	bool eof;
	const char *kill_reason; /* "hung" or "crashed" when the core killed it */
	char kill_detail[320];
	int64_t started_ms;
	int64_t last_frame_ms;
	int64_t last_idle_ms;
	int64_t next_start_ms;
	int64_t stop_deadline_ms;
	struct ioca_backoff backoff;
	unsigned restarts;
	unsigned consecutive_failures;

	struct ioca_token_bucket rate;
	bool throttled;
	int64_t throttled_since_ms;
	uint64_t throttled_ms;

	uint64_t messages_in;
	size_t n_stats;
	char *stat_names[MAX_WORKER_STATS];
	double stat_values[MAX_WORKER_STATS];
};

struct ioca_supervisor {
	char *self_exe;
	struct ioca_sup_callbacks cb;
	struct worker **workers;
	size_t n_workers;
	size_t cap_workers;
	bool shutting_down;
	bool no_restart; /* one-shot runs (--test, --snapshot): an exit is final */
	int64_t last_tick_ms;
	int log_level;
	int64_t default_memory_mb;
};

static void state_changed(struct ioca_supervisor *s)
{
	if (s->cb.on_state_change)
		s->cb.on_state_change(s->cb.ctx);
}

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	ioca_frame_reader_free(&w->rd);
	free(w->name);
	free(w->plugin);
	free(w->plugin_path);
	free(w->options_text);
	for (size_t i = 0; i < w->n_stats; i++)
		free(w->stat_names[i]);
	worker_free(w->pending);
	free(w);
}

static struct worker *worker_from_config(const struct ioca_config *cfg,
					 const struct ioca_instance_config *ic)
{
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.so", cfg->agent.plugin_dir, ic->plugin);
	w->name = strdup(ic->name);
	w->plugin = strdup(ic->plugin);
	w->plugin_path = strdup(path);
	w->options_text = strdup(ic->options_text ? ic->options_text : "");
	w->fingerprint = ic->fingerprint;
	w->qos = ic->qos;
	w->snapshot_retain = ic->snapshot_retain;
	w->max_rate = ic->max_rate;
	w->hang_timeout_ms = (int64_t)ic->hang_timeout_s * 1000;
	w->memory_limit_mb =
	    ic->memory_limit_mb ? ic->memory_limit_mb : cfg->agent.worker_memory_limit_mb;
	w->fd = -1;
	w->phase = PHASE_IDLE;
	ioca_frame_reader_init(&w->rd);
	ioca_backoff_init(&w->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 0);
	if (!w->name || !w->plugin || !w->plugin_path || !w->options_text) {
		worker_free(w);
		return NULL;
	}
	return w;
}

/* Same configuration? Then a reload leaves the worker alone. */
static bool worker_same(const struct worker *a, const struct worker *b)
{
	return a->fingerprint == b->fingerprint && strcmp(a->plugin_path, b->plugin_path) == 0 &&
	       strcmp(a->options_text, b->options_text) == 0 && a->qos == b->qos &&
	       a->max_rate == b->max_rate && a->hang_timeout_ms == b->hang_timeout_ms &&
	       a->memory_limit_mb == b->memory_limit_mb && a->snapshot_retain == b->snapshot_retain;
}

struct ioca_supervisor *ioca_supervisor_new(const char *self_exe,
					    const struct ioca_sup_callbacks *cb)
{
	struct ioca_supervisor *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->self_exe = strdup(self_exe);
	s->cb = *cb;
	if (!s->self_exe) {
		free(s);
		return NULL;
	}
	return s;
}

void ioca_supervisor_free(struct ioca_supervisor *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		worker_free(w);
	}
	free(s->workers);
	free(s->self_exe);
	free(s);
}

static int options_memfd(const char *text)
{
	int fd = memfd_create("iocagent-options", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void schedule_restart(struct ioca_supervisor *s, struct worker *w, int64_t now,
			     const char *reason, int sig, int code, const char *detail);
static void remove_worker_at(struct ioca_supervisor *s, size_t i);

static int spawn_worker(struct ioca_supervisor *s, struct worker *w, int64_t now)
{
	int sv[2] = {-1, -1};
	int optfd = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct ioca_worker_args args = {.name = w->name,
					.plugin_path = w->plugin_path,
					.log_level = ioca_log_level(),
					.memory_limit_mb = w->memory_limit_mb,
					.max_rate = w->max_rate};
	if (s->cb.max_blob_bytes)
		args.max_blob_bytes = s->cb.max_blob_bytes(s->cb.ctx, w->name);
	struct ioca_worker_argv wargv;
	if (ioca_worker_args_encode(&args, &wargv) < 0) {
		char err[128];
		ioca_worker_args_valid(&args, err, sizeof err);
		ioca_error("instance %s: cannot start worker: %s", w->name, err);
		return IOCA_ERROR;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		ioca_error("instance %s: socketpair: %m", w->name);
		return IOCA_ERROR;
	}
	optfd = options_memfd(w->options_text);
	if (optfd < 0) {
		ioca_error("instance %s: options memfd: %m", w->name);
		close(sv[0]);
		close(sv[1]);
		return IOCA_ERROR;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], IOCA_WORKER_SOCKET_FD);
	posix_spawn_file_actions_adddup2(&fa, optfd, IOCA_WORKER_OPTIONS_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, IOCA_WORKER_OPTIONS_FD + 1);
	posix_spawnattr_init(&attr);
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGCHLD);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	pid_t pid;
	int rc = posix_spawn(&pid, s->self_exe, &fa, &attr, wargv.argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(sv[1]);
	close(optfd);
	if (rc != 0) {
		ioca_error("instance %s: cannot start worker %s: %s", w->name, s->self_exe,
			   strerror(rc));
		close(sv[0]);
		return IOCA_ERROR;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w->pid = pid;
	w->fd = sv[0];
	w->phase = PHASE_RUNNING;
	w->hello = false;
	w->eof = false;
	w->kill_reason = NULL;
	w->kill_detail[0] = '\0';
	w->started_ms = now;
	w->last_frame_ms = now;
	w->last_idle_ms = 0;
	ioca_token_bucket_init(&w->rate, w->max_rate, now);
	w->throttled = false;
	ioca_frame_reader_free(&w->rd);
	ioca_frame_reader_init(&w->rd);
	ioca_debug("instance %s: worker %d started (plugin %s)", w->name, (int)pid, w->plugin);
	return IOCA_OK;
}

static void start_or_schedule(struct ioca_supervisor *s, struct worker *w, int64_t now)
{
	if (spawn_worker(s, w, now) != IOCA_OK)
		schedule_restart(s, w, now, "exited", 0, -1, "cannot start the worker process");
	state_changed(s);
}

static void request_stop(struct worker *w, int64_t now)
{
	if (w->phase != PHASE_RUNNING)
		return;
	uint8_t frame[IOCA_FRAME_HEADER_LEN];
	size_t n = ioca_frame_encode_stop(frame, sizeof frame);
	if (w->fd < 0 || write(w->fd, frame, n) != (ssize_t)n)
		kill(w->pid, SIGTERM);
	w->phase = PHASE_STOPPING;
	w->stop_deadline_ms = now + STOP_GRACE_MS;
}

static void kill_worker(struct worker *w, const char *reason, const char *detail)
{
	if (w->pid <= 0 || w->kill_reason)
		return;
	w->kill_reason = reason;
	snprintf(w->kill_detail, sizeof w->kill_detail, "%s", detail);
	ioca_error("instance %s: %s; killing worker %d", w->name, detail, (int)w->pid);
	kill(w->pid, SIGKILL);
}

static void add_worker(struct ioca_supervisor *s, struct worker *w)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	size_t size = sizeof *s->workers;
	struct worker **ws = ioca_grow(s->workers, &s->cap_workers, s->n_workers + 1, size, 8);
	if (!ws) {
		worker_free(w);
		return;
	}
	s->workers = ws;
	s->workers[s->n_workers++] = w;
}

static struct worker *find_worker(struct ioca_supervisor *s, const char *name)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (!s->workers[i]->removed && strcmp(s->workers[i]->name, name) == 0)
			return s->workers[i];
	return NULL;
}

/* Take over the configuration of `src` (a worker never started). */
static void adopt_config(struct worker *dst, struct worker *src)
{
#define SWAP_FIELD(f)                                                                              \
	do {                                                                                       \
		__typeof__(dst->f) tmp_ = dst->f;                                                  \
		dst->f = src->f;                                                                   \
		src->f = tmp_;                                                                     \
	} while (0)
	SWAP_FIELD(plugin);
	SWAP_FIELD(plugin_path);
	SWAP_FIELD(options_text);
	SWAP_FIELD(fingerprint);
	SWAP_FIELD(qos);
	SWAP_FIELD(snapshot_retain);
	SWAP_FIELD(max_rate);
	SWAP_FIELD(hang_timeout_ms);
	SWAP_FIELD(memory_limit_mb);
#undef SWAP_FIELD
	worker_free(src);
}

void ioca_supervisor_apply(struct ioca_supervisor *s, const struct ioca_config *cfg)
{
	int64_t now = ioca_now_mono_ms();
	/* stop the removed; one without a process (waiting to restart) goes at once */
	for (size_t i = 0; i < s->n_workers;) {
		struct worker *w = s->workers[i];
		if (w->removed || ioca_config_find_instance(cfg, w->name)) {
			i++;
			continue;
		}
		ioca_info("instance %s: removed from the configuration, stopping", w->name);
		if (w->phase == PHASE_IDLE) {
			remove_worker_at(s, i);
			continue;
		}
		w->removed = true;
		worker_free(w->pending);
		w->pending = NULL;
		request_stop(w, now);
		i++;
	}
	/* start the new, restart the changed */
	for (size_t i = 0; i < cfg->n_instances; i++) {
		struct worker *nw = worker_from_config(cfg, &cfg->instances[i]);
		if (!nw)
			continue;
		struct worker *w = find_worker(s, nw->name);
		if (!w) {
			add_worker(s, nw);
			start_or_schedule(s, nw, now);
			continue;
		}
		if (worker_same(w, nw) && !w->pending) {
			worker_free(nw);
			continue;
		}
		ioca_info("instance %s: configuration changed, restarting", w->name);
		if (w->phase == PHASE_IDLE) {
			adopt_config(w, nw);
			ioca_backoff_reset(&w->backoff);
			start_or_schedule(s, w, now);
		} else {
			worker_free(w->pending);
			w->pending = nw;
			request_stop(w, now);
		}
	}
	state_changed(s);
}

static void note_stat(void *ctx, const struct ioca_frame_stat *st)
{
	struct worker *w = ctx;
	for (size_t i = 0; i < w->n_stats; i++) {
		if (strcmp(w->stat_names[i], st->name) == 0) {
			w->stat_values[i] = st->add ? w->stat_values[i] + st->value : st->value;
			return;
		}
	}
	if (w->n_stats == MAX_WORKER_STATS)
		return;
	w->stat_names[w->n_stats] = strdup(st->name);
	if (!w->stat_names[w->n_stats])
		return;
	w->stat_values[w->n_stats++] = st->value;
}

/* Handle one frame. IOCA_ERROR: malformed (detail in err). */
static int handle_frame(struct ioca_supervisor *s, struct worker *w, const struct ioca_frame *f,
			int64_t now_ms, char *err, size_t errlen)
{
	struct ioca_frame_event ev;
	struct ioca_frame_blob blob;
	struct ioca_sup_message m = {.instance = w->name,
				     .plugin = w->plugin,
				     .qos = w->qos,
				     .snapshot_retain = w->snapshot_retain};
	switch (f->type) {
	case IOCA_FRAME_HELLO: {
		struct ioca_frame_hello h;
		if (ioca_frame_parse_hello(f, &h, err, errlen) != IOCA_OK)
			return IOCA_ERROR;
		if (!w->hello) {
			w->hello = true;
			w->features = h.features;
			ioca_info("instance %s: running (plugin %s %s, worker %d)", w->name, h.name,
				  h.version, (int)w->pid);
			state_changed(s);
		}
		return IOCA_OK;
	}
	case IOCA_FRAME_EVENT:
	case IOCA_FRAME_TELEMETRY:
		if ((f->type == IOCA_FRAME_EVENT
			 ? ioca_frame_parse_event(f, &ev, err, errlen)
			 : ioca_frame_parse_telemetry(f, &ev, err, errlen)) != IOCA_OK)
			return IOCA_ERROR;
		if (!ioca_json_object_valid_len(ev.data, ev.data_len, NULL)) {
			snprintf(err, errlen, "%s data is not a JSON object", ev.type);
			return IOCA_ERROR;
		}
		/* published JSON is UTF-8 whatever the worker sent */
		char *repaired = NULL;
		if (!ioca_utf8_valid(ev.data, ev.data_len)) {
			repaired = ioca_utf8_sanitize_alloc(ev.data, ev.data_len, &ev.data_len);
			if (!repaired) {
				snprintf(err, errlen, "out of memory");
				return IOCA_ERROR;
			}
			ev.data = repaired;
		}
		m.event = &ev;
		w->messages_in++;
		s->cb.on_message(s->cb.ctx, &m);
		free(repaired);
		return IOCA_OK;
	case IOCA_FRAME_BLOB:
		if (ioca_frame_parse_blob(f, &blob, err, errlen) != IOCA_OK)
			return IOCA_ERROR;
		m.blob = &blob;
		w->messages_in++;
		s->cb.on_message(s->cb.ctx, &m);
		return IOCA_OK;
	case IOCA_FRAME_HEARTBEAT: {
		struct ioca_frame_heartbeat hb;
		if (ioca_frame_parse_heartbeat(f, &hb, err, errlen) != IOCA_OK)
			return IOCA_ERROR;
		w->last_idle_ms = hb.idle_ms;
		/* the worker's own time; a stale frame read late says it is stale */
		int64_t sent = hb.sent_mono_ms < now_ms ? hb.sent_mono_ms : now_ms;
		if (sent > w->last_frame_ms)
			w->last_frame_ms = sent;
		return IOCA_OK;
	}
	case IOCA_FRAME_STATS:
		return ioca_frame_parse_stats(f, note_stat, w, err, errlen);
	case IOCA_FRAME_STOP:
	case IOCA_FRAME_SNAPSHOT_REQUEST:
	case IOCA_FRAME_BLOB_LIMIT:
		break; /* core -> worker only */
	}
	snprintf(err, errlen, "unexpected frame type %d from worker", (int)f->type);
	return IOCA_ERROR;
}

static bool counts_against_rate(const struct ioca_frame_reader *r)
{
	/* peek at the type of the next frame without consuming it */
	if (r->len - r->start < IOCA_FRAME_HEADER_LEN)
		return false;
	uint8_t t = r->buf[r->start + 3];
	return t == IOCA_FRAME_EVENT || t == IOCA_FRAME_TELEMETRY || t == IOCA_FRAME_BLOB;
}

/* Process buffered frames as far as the rate allows. */
static void drain_frames(struct ioca_supervisor *s, struct worker *w, int64_t now)
{
	char err[256];
	ioca_token_bucket_refill(&w->rate, now);
	for (int i = 0; i < MAX_FRAMES_PER_POLL && !w->kill_reason; i++) {
		if (counts_against_rate(&w->rd)) {
			if (!ioca_token_bucket_ready(&w->rate)) {
				if (!w->throttled) {
					w->throttled = true;
					w->throttled_since_ms = now;
				}
				return;
			}
		}
		struct ioca_frame f;
		int rc = ioca_frame_next(&w->rd, &f);
		if (rc == IOCA_AGAIN)
			break;
		if (rc == IOCA_ERROR) {
			char detail[sizeof w->rd.error + 32];
			snprintf(detail, sizeof detail, "malformed frame: %s", w->rd.error);
			kill_worker(w, "crashed", detail);
			return;
		}
		if (f.type == IOCA_FRAME_EVENT || f.type == IOCA_FRAME_TELEMETRY ||
		    f.type == IOCA_FRAME_BLOB) {
			ioca_token_bucket_take(&w->rate);
			w->last_frame_ms = now;
		}
		if (handle_frame(s, w, &f, now, err, sizeof err) != IOCA_OK) {
			char detail[sizeof err + 32];
			snprintf(detail, sizeof detail, "malformed frame: %s", err);
			kill_worker(w, "crashed", detail);
			return;
		}
	}
	if (w->throttled) {
		w->throttled_ms += (uint64_t)(now - w->throttled_since_ms);
		w->throttled = false;
		/* the worker was blocked by us: its silence was not its fault */
		w->last_frame_ms = now;
	}
}

/* Returns whether anything was read. */
static bool read_worker(struct ioca_supervisor *s, struct worker *w, int64_t now)
{
	uint8_t *dst;
	if (ioca_frame_reader_space(&w->rd, READ_CHUNK_BYTES, &dst) != IOCA_OK)
		return false;
	ssize_t n = read(w->fd, dst, READ_CHUNK_BYTES);
	if (n > 0) {
		ioca_frame_reader_commit(&w->rd, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* the process is exiting; waitpid tells how */
		w->eof = true;
	}
	drain_frames(s, w, now);
	return n > 0;
}

/* Read everything the worker has sent so far before judging it. */
static void catch_up(struct ioca_supervisor *s, struct worker *w, int64_t now)
{
	for (int i = 0; i < CATCH_UP_MAX_READS; i++) {
		if (w->fd < 0 || w->eof || w->throttled || w->kill_reason)
			return;
		if (!read_worker(s, w, now))
			return; /* nothing new (EAGAIN) */
	}
}

/* Time the core itself was not looking is not the workers' silence. */
static void credit_core_stall(struct ioca_supervisor *s, int64_t now)
{
	int64_t gap = s->last_tick_ms ? now - s->last_tick_ms : 0;
	s->last_tick_ms = now;
	if (gap <= CORE_STALL_MS)
		return;
	ioca_debug("core loop was away %lld ms; not counted against the workers", (long long)gap);
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		if (w->phase != PHASE_RUNNING)
			continue;
		w->last_frame_ms += gap;
		w->started_ms += gap;
	}
}

size_t ioca_supervisor_pollfds(struct ioca_supervisor *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_workers && n < max; i++) {
		struct worker *w = s->workers[i];
		if (w->fd < 0 || w->eof || w->throttled)
			continue;
		fds[n].fd = w->fd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

static struct worker *worker_by_fd(struct ioca_supervisor *s, int fd)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i]->fd == fd)
			return s->workers[i];
	return NULL;
}

void ioca_supervisor_on_poll(struct ioca_supervisor *s, const struct pollfd *fds, size_t n)
{
	int64_t now = ioca_now_mono_ms();
	for (size_t i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		struct worker *w = worker_by_fd(s, fds[i].fd);
		if (w)
			read_worker(s, w, now);
	}
}

static void schedule_restart(struct ioca_supervisor *s, struct worker *w, int64_t now,
			     const char *reason, int sig, int code, const char *detail)
{
	if (w->started_ms && now - w->started_ms >= HEALTHY_RESET_MS) {
		ioca_backoff_reset(&w->backoff);
		w->consecutive_failures = 0;
	}
	if (s->no_restart) {
		ioca_debug("instance %s: worker %s%s%s", w->name, reason,
			   detail && *detail ? ": " : "", detail ? detail : "");
		w->phase = PHASE_IDLE;
		w->next_start_ms = INT64_MAX;
		if (s->cb.on_failure) {
			struct ioca_sup_failure f = {.instance = w->name,
						     .plugin = w->plugin,
						     .reason = reason,
						     .signal = sig,
						     .exit_code = code,
						     .detail = detail,
						     .retry_in_s = -1};
			s->cb.on_failure(s->cb.ctx, &f);
		}
		return;
	}
	int64_t delay = ioca_backoff_next(&w->backoff);
	w->consecutive_failures++;
	w->restarts++;
	w->phase = PHASE_IDLE;
	w->next_start_ms = now + delay;
	ioca_warn("instance %s: worker %s%s%s; restart %u in %.0f s", w->name, reason,
		  detail && *detail ? ": " : "", detail ? detail : "", w->restarts,
		  (double)delay / 1000.0);
	if (s->cb.on_failure) {
		struct ioca_sup_failure f = {
		    .instance = w->name,
		    .plugin = w->plugin,
		    .reason = reason,
		    .signal = sig,
		    .exit_code = code,
		    .detail = detail,
		    .restarts = w->restarts,
		    .retry_in_s = (double)delay / 1000.0,
		};
		s->cb.on_failure(s->cb.ctx, &f);
	}
}

static void remove_worker_at(struct ioca_supervisor *s, size_t i)
{
	worker_free(s->workers[i]);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	memmove(&s->workers[i], &s->workers[i + 1], (s->n_workers - i - 1) * sizeof *s->workers);
	s->n_workers--;
}

static void on_exit_status(struct ioca_supervisor *s, size_t idx, int status, int64_t now)
{
	struct worker *w = s->workers[idx];
	/* take what the worker sent before it went */
	if (w->fd >= 0) {
		for (;;) {
			uint8_t *dst;
			if (ioca_frame_reader_space(&w->rd, READ_CHUNK_BYTES, &dst) != IOCA_OK)
				break;
			ssize_t n = read(w->fd, dst, READ_CHUNK_BYTES);
			if (n <= 0)
				break;
			ioca_frame_reader_commit(&w->rd, (size_t)n);
			/* ignore the rate here: the process is gone */
			double saved = w->rate.rate_per_s;
			w->rate.rate_per_s = 0;
			drain_frames(s, w, now);
			w->rate.rate_per_s = saved;
		}
		close(w->fd);
		w->fd = -1;
	}
	w->pid = 0;
	enum phase was = w->phase;
	w->phase = PHASE_IDLE;
	w->hello = false;

	if (was == PHASE_STOPPING || s->shutting_down) {
		ioca_debug("instance %s: worker stopped", w->name);
		if (w->removed) {
			remove_worker_at(s, idx);
		} else if (w->pending) {
			struct worker *p = w->pending;
			w->pending = NULL;
			adopt_config(w, p);
			ioca_backoff_reset(&w->backoff);
			if (!s->shutting_down)
				start_or_schedule(s, w, now);
		} else if (w->restart_requested) {
			w->restart_requested = false;
			if (!s->shutting_down)
				start_or_schedule(s, w, now);
		}
		state_changed(s);
		return;
	}

	char detail[sizeof w->kill_detail + 64];
	if (w->kill_reason) {
		snprintf(detail, sizeof detail, "%s", w->kill_detail);
		schedule_restart(s, w, now, w->kill_reason,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0, -1, detail);
	} else if (WIFSIGNALED(status)) {
		snprintf(detail, sizeof detail, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		schedule_restart(s, w, now, "crashed", WTERMSIG(status), -1, detail);
	} else {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (code == 0)
			snprintf(detail, sizeof detail,
				 "exited with status 0 without being asked to stop (the plugin's "
				 "run() returned)");
		else
			snprintf(detail, sizeof detail, "exited with status %d", code);
		schedule_restart(s, w, now, "exited", 0, code, detail);
	}
	state_changed(s);
}

void ioca_supervisor_reap(struct ioca_supervisor *s)
{
	int64_t now = ioca_now_mono_ms();
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		for (size_t i = 0; i < s->n_workers; i++) {
			if (s->workers[i]->pid == pid) {
				on_exit_status(s, i, status, now);
				break;
			}
		}
	}
}

void ioca_supervisor_tick(struct ioca_supervisor *s, int64_t now)
{
	credit_core_stall(s, now);
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		switch (w->phase) {
		case PHASE_IDLE:
			if (!s->shutting_down && !w->removed && now >= w->next_start_ms)
				start_or_schedule(s, w, now);
			break;
		case PHASE_RUNNING: {
			if (w->throttled) {
				drain_frames(s, w, now);
				break;
			}
			char detail[160];
			/* about to judge it silent: first read what it has sent */
			if (now - w->started_ms > w->hang_timeout_ms &&
			    (!w->hello || now - w->last_frame_ms > w->hang_timeout_ms)) {
				catch_up(s, w, now);
				if (w->kill_reason || w->phase != PHASE_RUNNING)
					break;
			}
			if (!w->hello && now - w->started_ms > w->hang_timeout_ms) {
				snprintf(detail, sizeof detail,
					 "worker did not start within hang_timeout (%llds)",
					 (long long)(w->hang_timeout_ms / 1000));
				kill_worker(w, "hung", detail);
			} else if (now - w->last_frame_ms > w->hang_timeout_ms) {
				snprintf(detail, sizeof detail,
					 "worker silent for %llds (hang_timeout %llds)",
					 (long long)((now - w->last_frame_ms) / 1000),
					 (long long)(w->hang_timeout_ms / 1000));
				kill_worker(w, "hung", detail);
			} else if (w->last_idle_ms > w->hang_timeout_ms) {
				snprintf(detail, sizeof detail,
					 "plugin made no host call for %llds (hang_timeout %llds)",
					 (long long)(w->last_idle_ms / 1000),
					 (long long)(w->hang_timeout_ms / 1000));
				kill_worker(w, "hung", detail);
			} else if (w->hello && w->consecutive_failures &&
				   now - w->started_ms >= HEALTHY_RESET_MS) {
				/* a healthy minute: forget past failures */
				w->consecutive_failures = 0;
				ioca_backoff_reset(&w->backoff);
				state_changed(s);
			}
			break;
		}
		case PHASE_STOPPING:
			if (w->throttled)
				drain_frames(s, w, now);
			if (w->pid > 0 && now >= w->stop_deadline_ms && !w->kill_reason) {
				ioca_warn("instance %s: worker did not stop within %d ms, killing",
					  w->name, STOP_GRACE_MS);
				w->kill_reason = "hung";
				kill(w->pid, SIGKILL);
			}
			break;
		}
	}
}

int ioca_supervisor_timeout_ms(const struct ioca_supervisor *s, int64_t now)
{
	int64_t t = TICK_IDLE_MS;
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct worker *w = s->workers[i];
		if (w->throttled)
			t = t < 10 ? t : 10;
		if (w->phase == PHASE_IDLE && !s->shutting_down) {
			int64_t d = w->next_start_ms - now;
			if (d < t)
				t = d;
		}
	}
	return t < 0 ? 0 : (int)t;
}

void ioca_supervisor_set_no_restart(struct ioca_supervisor *s)
{
	s->no_restart = true;
}

void ioca_supervisor_stop_all(struct ioca_supervisor *s, int64_t grace_ms)
{
	int64_t now = ioca_now_mono_ms();
	s->shutting_down = true;
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		request_stop(w, now);
		if (w->phase == PHASE_STOPPING && w->stop_deadline_ms > now + grace_ms)
			w->stop_deadline_ms = now + grace_ms;
	}
}

bool ioca_supervisor_all_stopped(const struct ioca_supervisor *s)
{
	for (size_t i = 0; i < s->n_workers; i++)
		if (s->workers[i]->pid > 0)
			return false;
	return true;
}

size_t ioca_supervisor_count(const struct ioca_supervisor *s)
{
	return s->n_workers;
}

size_t ioca_supervisor_running(const struct ioca_supervisor *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_workers; i++)
		n += s->workers[i]->pid > 0 && s->workers[i]->hello;
	return n;
}

void ioca_supervisor_info(const struct ioca_supervisor *s, size_t i,
			  struct ioca_sup_instance_info *out)
{
	const struct worker *w = s->workers[i];
	memset(out, 0, sizeof *out);
	out->name = w->name;
	out->plugin = w->plugin;
	/* the status vocabulary is running | restarting | failed: an instance
	 * being stopped for a reload is restarting; one being removed goes away */
	if (w->phase == PHASE_RUNNING && w->hello)
		out->state = "running";
	else if (w->phase != PHASE_STOPPING && w->consecutive_failures >= FAILED_AFTER_CONSECUTIVE)
		out->state = "failed";
	else
		out->state = "restarting";
	out->pid = w->pid;
	out->restarts = w->restarts;
	out->messages_in = w->messages_in;
	out->throttled_ms = w->throttled_ms;
	out->n_stats = w->n_stats;
	out->stat_names = (const char *const *)w->stat_names;
	out->stat_values = w->stat_values;
}

int ioca_supervisor_restart(struct ioca_supervisor *s, const char *name)
{
	struct worker *w = find_worker(s, name);
	if (!w || w->removed || s->shutting_down)
		return IOCA_ERROR;
	int64_t now = ioca_now_mono_ms();
	ioca_info("instance %s: restart requested", name);
	ioca_backoff_reset(&w->backoff);
	w->consecutive_failures = 0;
	if (w->phase == PHASE_IDLE) {
		start_or_schedule(s, w, now);
	} else {
		w->restart_requested = true;
		request_stop(w, now);
	}
	state_changed(s);
	return IOCA_OK;
}

enum ioca_sup_snapshot ioca_supervisor_request_snapshot(struct ioca_supervisor *s, const char *name,
							uint64_t max_blob_bytes)
{
	struct worker *w = find_worker(s, name);
	if (!w || w->removed)
		return IOCA_SUP_SNAPSHOT_NO_INSTANCE;
	if (w->phase != PHASE_RUNNING || !w->hello || w->fd < 0 || w->kill_reason)
		return IOCA_SUP_SNAPSHOT_NOT_RUNNING;
	if (!(w->features & IOCA_PLUGIN_F_SNAPSHOT_REQUEST))
		return IOCA_SUP_SNAPSHOT_NOT_SUPPORTED;
	uint8_t frame[IOCA_FRAME_HEADER_LEN + sizeof(uint64_t)];
	size_t n = ioca_frame_encode_snapshot_request(frame, sizeof frame, max_blob_bytes);
	/* 16 bytes on a socket the worker drains every second: a full buffer
	 * means a worker that is not reading, which is not running */
	if (send(w->fd, frame, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
		return IOCA_SUP_SNAPSHOT_NOT_RUNNING;
	return IOCA_SUP_SNAPSHOT_SENT;
}

void ioca_supervisor_blob_limit_changed(struct ioca_supervisor *s)
{
	if (!s->cb.max_blob_bytes)
		return;
	for (size_t i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		if (w->fd < 0 || w->removed)
			continue;
		uint8_t frame[IOCA_FRAME_HEADER_LEN + sizeof(uint64_t)];
		size_t n = ioca_frame_encode_blob_limit(frame, sizeof frame,
							s->cb.max_blob_bytes(s->cb.ctx, w->name));
		/* 16 bytes the worker drains every second; one lost to a full buffer
		 * leaves it the limit it had, as a worker that is not reading */
		if (send(w->fd, frame, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
			ioca_debug("instance %s: blob limit not sent", w->name);
	}
}
