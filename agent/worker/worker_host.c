/*
 * Host function table of a worker process (see worker_host.h).
 *
 * Invariants: frames are written whole under write_lock, so frames from
 * different plugin threads never interleave; a write error means the core is
 * gone, which turns into a stop request. A plugin waiting in host->wait() is
 * waiting on purpose (a camera's reconnect backoff may be longer than its
 * hang_timeout): it counts as active for the whole wait.
 */
#include "worker_host.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "frame.h"
#include "log.h"
#include "opts.h"
#include "stop_latch.h"
#include "timeutil.h"
#include "token_bucket.h"
#include "utf8.h"

#define MAX_STATS         256
#define STATS_FRAME_MAX   8192
#define HEAD_MAX          256
#define INVALID_UTF8_STAT "invalid_utf8"

struct stat_slot {
	char name[IOCA_STAT_NAME_MAX + 1];
	double value;
	bool dirty;
};

struct ioca_instance {
	int fd;
	char name[65];
	pthread_mutex_t write_lock;
	atomic_bool core_gone;
	struct ioca_stop_latch stop;
	atomic_int_fast64_t last_activity_ms;
	atomic_int waiting; /* plugin threads inside host->wait() */
	pthread_mutex_t stats_lock;
	/* pacing to max_rate: a token bucket with one second of burst */
	pthread_mutex_t rate_lock;
	double max_rate;
	struct ioca_token_bucket rate;
	struct stat_slot stats[MAX_STATS];
	size_t n_stats;
	atomic_bool snapshot_wanted;   /* a SNAPSHOT_REQUEST frame not yet taken by the plugin */
	atomic_uint_fast64_t max_blob; /* blobs through the spool: spawn, BLOB_LIMIT */
	atomic_uint_fast64_t max_request_blob; /* the picture of the latest SNAPSHOT_REQUEST */
	enum ioca_run_mode run_mode;           /* set before create(), constant afterwards */
	unsigned run_flags;
};

static struct ioca_instance instance;
static struct ioca_host host;

static void alive(struct ioca_instance *inst)
{
	atomic_store(&inst->last_activity_ms, ioca_now_mono_ms());
}

/* Block until the instance may emit one more message (or a stop is requested).
 * The core enforces the same rate; pacing here keeps the plugin's view of time
 * honest instead of letting messages queue up in socket buffers. */
static void pace(struct ioca_instance *inst)
{
	if (inst->max_rate <= 0)
		return;
	pthread_mutex_lock(&inst->rate_lock);
	for (;;) {
		ioca_token_bucket_refill(&inst->rate, ioca_now_mono_ms());
		if (ioca_token_bucket_ready(&inst->rate) || ioca_stop_latch_is_set(&inst->stop))
			break;
		double wait_ms = ioca_token_bucket_wait_ms(&inst->rate);
		struct timespec ts = {.tv_sec = (time_t)(wait_ms / 1000),
				      .tv_nsec = (long)(fmod(wait_ms, 1000.0) * 1e6) + 1};
		nanosleep(&ts, NULL);
		alive(inst); /* waiting for the rate is not a hang */
	}
	ioca_token_bucket_take(&inst->rate);
	pthread_mutex_unlock(&inst->rate_lock);
}

static int write_frame(struct ioca_instance *inst, struct iovec *iov, int iovcnt)
{
	if (atomic_load(&inst->core_gone))
		return IOCA_ERROR;
	pthread_mutex_lock(&inst->write_lock);
	int rc = IOCA_OK;
	while (iovcnt > 0) {
		ssize_t n = writev(inst->fd, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = IOCA_ERROR;
			break;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	pthread_mutex_unlock(&inst->write_lock);
	if (rc != IOCA_OK && !atomic_exchange(&inst->core_gone, true))
		ioca_worker_host_request_stop();
	return rc;
}

static void host_vlog(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));
static void host_vlog(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt,
		      va_list ap)
{
	if ((int)level > ioca_log_level())
		return;
	char msg[1536];
	vsnprintf(msg, sizeof msg, fmt, ap);
	ioca_log((int)level, "[%s] %s", inst->name, msg);
}

static void host_log(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	host_vlog(inst, level, fmt, ap);
	va_end(ap);
}

static int64_t time_or_now(int64_t t)
{
	return t > 0 ? t : ioca_now_wall_ms();
}

static void host_stat(struct ioca_instance *inst, const char *name, double v, bool add);

/* Text from the plugin with invalid UTF-8 gets a repaired copy in *out (U+FFFD
 * for each invalid sequence, counted in the stat invalid_utf8); valid text
 * leaves *out NULL. IOCA_ERROR only when out of memory. */
static int utf8_repaired(struct ioca_instance *inst, const char *text, size_t *len, char **out)
{
	*out = NULL;
	if (ioca_utf8_valid(text, *len))
		return IOCA_OK;
	host_stat(inst, INVALID_UTF8_STAT, 1, true);
	*out = ioca_utf8_sanitize_alloc(text, *len, len);
	return *out ? IOCA_OK : IOCA_ERROR;
}

static int host_emit_event(struct ioca_instance *inst, const char *type,
			   enum ioca_severity severity, int64_t time_ms, const char *data_json)
{
	alive(inst);
	const char *data = data_json ? data_json : "{}";
	if (!ioca_event_type_valid(type) || !ioca_severity_name(severity)) {
		host_log(inst, IOCA_LOG_ERROR, "emit_event: invalid type '%s' or severity %d",
			 type ? type : "(null)", (int)severity);
		return IOCA_ERROR;
	}
	size_t data_len = strlen(data);
	char *repaired;
	if (utf8_repaired(inst, data, &data_len, &repaired) != IOCA_OK)
		return IOCA_ERROR;
	if (repaired)
		data = repaired;
	int rc = IOCA_ERROR;
	uint8_t head[HEAD_MAX];
	size_t hlen = 0;
	if (!ioca_json_object_valid(data, NULL)) {
		host_log(inst, IOCA_LOG_ERROR, "emit_event %s: data is not a JSON object", type);
	} else if (!(hlen = ioca_frame_encode_event_head(head, sizeof head, time_or_now(time_ms),
							 severity, type, data_len))) {
		host_log(inst, IOCA_LOG_ERROR, "emit_event %s: event too large", type);
	} else {
		struct iovec iov[2] = {{head, hlen}, {(void *)data, data_len}};
		pace(inst);
		rc = write_frame(inst, iov, 2);
	}
	free(repaired);
	return rc;
}

static int host_emit_telemetry(struct ioca_instance *inst, int64_t time_ms,
			       const struct ioca_reading *readings, size_t count)
{
	alive(inst);
	char err[256];
	char *json = ioca_readings_to_json(readings, count, err, sizeof err);
	if (!json) {
		host_log(inst, IOCA_LOG_ERROR, "emit_telemetry: %s", err);
		return IOCA_ERROR;
	}
	size_t len = strlen(json);
	char *repaired;
	if (utf8_repaired(inst, json, &len, &repaired) != IOCA_OK) {
		free(json);
		return IOCA_ERROR;
	}
	if (repaired) {
		free(json);
		json = repaired;
	}
	uint8_t head[HEAD_MAX];
	size_t hlen =
	    ioca_frame_encode_telemetry_head(head, sizeof head, time_or_now(time_ms), len);
	int rc = IOCA_ERROR;
	if (hlen) {
		struct iovec iov[2] = {{head, hlen}, {json, len}};
		pace(inst);
		rc = write_frame(inst, iov, 2);
	} else {
		host_log(inst, IOCA_LOG_ERROR, "emit_telemetry: message too large");
	}
	free(json);
	return rc;
}

static int host_emit_blob(struct ioca_instance *inst, const char *subtopic,
			  const char *content_type, const void *data, size_t len, int64_t time_ms)
{
	alive(inst);
	if (!subtopic || !content_type || (!data && len)) {
		host_log(inst, IOCA_LOG_ERROR, "emit_blob: missing argument");
		return IOCA_ERROR;
	}
	uint8_t head[HEAD_MAX];
	size_t hlen = ioca_frame_encode_blob_head(head, sizeof head, time_or_now(time_ms), subtopic,
						  content_type, len);
	if (!hlen) {
		host_log(inst, IOCA_LOG_ERROR,
			 "emit_blob: invalid subtopic '%s', content type or size %zu", subtopic,
			 len);
		return IOCA_ERROR;
	}
	struct iovec iov[2] = {{head, hlen}, {(void *)data, len}};
	pace(inst);
	return write_frame(inst, iov, len ? 2 : 1);
}

static void host_stat(struct ioca_instance *inst, const char *name, double v, bool add)
{
	if (!ioca_stat_name_valid(name)) {
		host_log(inst, IOCA_LOG_WARNING, "stat: invalid name '%s'", name ? name : "(null)");
		return;
	}
	pthread_mutex_lock(&inst->stats_lock);
	struct stat_slot *s = NULL;
	for (size_t i = 0; i < inst->n_stats && !s; i++)
		if (strcmp(inst->stats[i].name, name) == 0)
			s = &inst->stats[i];
	if (!s && inst->n_stats < MAX_STATS) {
		s = &inst->stats[inst->n_stats++];
		snprintf(s->name, sizeof s->name, "%s", name);
		s->value = 0;
	}
	if (s) {
		s->value = add ? s->value + v : v;
		s->dirty = true;
	}
	pthread_mutex_unlock(&inst->stats_lock);
}

static void host_stat_set(struct ioca_instance *inst, const char *name, double value)
{
	host_stat(inst, name, value, false);
}

static void host_stat_add(struct ioca_instance *inst, const char *name, double delta)
{
	host_stat(inst, name, delta, true);
}

static bool host_should_stop(struct ioca_instance *inst)
{
	alive(inst);
	return ioca_stop_latch_is_set(&inst->stop);
}

static bool host_wait(struct ioca_instance *inst, int64_t timeout_ms)
{
	alive(inst);
	atomic_fetch_add(&inst->waiting, 1);
	bool stop = ioca_stop_latch_wait(&inst->stop, timeout_ms);
	atomic_fetch_sub(&inst->waiting, 1);
	alive(inst);
	return stop;
}

static void host_heartbeat(struct ioca_instance *inst)
{
	alive(inst);
}

static const char *host_instance_name(const struct ioca_instance *inst)
{
	return inst->name;
}

static enum ioca_run_mode host_run_mode(const struct ioca_instance *inst, unsigned *flags)
{
	if (flags)
		*flags = inst->run_flags;
	return inst->run_mode;
}

static bool host_snapshot_requested(struct ioca_instance *inst)
{
	alive(inst);
	return atomic_load(&inst->snapshot_wanted) &&
	       atomic_exchange(&inst->snapshot_wanted, false);
}

static size_t host_max_blob_bytes(struct ioca_instance *inst, bool requested)
{
	uint_fast64_t v = atomic_load(requested ? &inst->max_request_blob : &inst->max_blob);
	return v > SIZE_MAX ? SIZE_MAX : (size_t)v;
}

const struct ioca_host *ioca_worker_host_init(int fd, const char *name, double max_rate,
					      uint64_t max_blob_bytes)
{
	struct ioca_instance *inst = &instance;
	inst->fd = fd;
	inst->max_rate = max_rate;
	atomic_store(&inst->max_blob, max_blob_bytes);
	atomic_store(&inst->max_request_blob, max_blob_bytes);
	ioca_token_bucket_init(&inst->rate, max_rate, ioca_now_mono_ms());
	pthread_mutex_init(&inst->rate_lock, NULL);
	snprintf(inst->name, sizeof inst->name, "%s", name);
	pthread_mutex_init(&inst->write_lock, NULL);
	ioca_stop_latch_init(&inst->stop);
	pthread_mutex_init(&inst->stats_lock, NULL);
	alive(inst);

	host.abi_major = IOCA_PLUGIN_ABI_MAJOR;
	host.abi_minor = IOCA_PLUGIN_ABI_MINOR;
	ioca_opts_fill_host(&host);
	host.emit_event = host_emit_event;
	host.emit_telemetry = host_emit_telemetry;
	host.emit_blob = host_emit_blob;
	host.log = host_log;
	host.vlog = host_vlog;
	host.stat_set = host_stat_set;
	host.stat_add = host_stat_add;
	host.should_stop = host_should_stop;
	host.wait = host_wait;
	host.heartbeat = host_heartbeat;
	host.now_wall_ms = ioca_now_wall_ms;
	host.now_mono_ms = ioca_now_mono_ms;
	host.instance_name = host_instance_name;
	host.run_mode = host_run_mode;
	host.snapshot_requested = host_snapshot_requested;
	host.max_blob_bytes = host_max_blob_bytes;
	return &host;
}

struct ioca_instance *ioca_worker_instance(void)
{
	return &instance;
}

void ioca_worker_host_set_run_mode(enum ioca_run_mode mode, unsigned flags)
{
	instance.run_mode = mode;
	instance.run_flags = flags;
}

void ioca_worker_host_request_snapshot(uint64_t max_blob_bytes)
{
	/* the limit first: a plugin that takes the request sees its limit */
	atomic_store(&instance.max_request_blob, max_blob_bytes);
	atomic_store(&instance.snapshot_wanted, true);
}

void ioca_worker_host_set_max_blob(uint64_t max_blob_bytes)
{
	atomic_store(&instance.max_blob, max_blob_bytes);
}

void ioca_worker_host_request_stop(void)
{
	ioca_stop_latch_set(&instance.stop);
}

bool ioca_worker_host_stop_requested(void)
{
	return ioca_stop_latch_is_set(&instance.stop);
}

int64_t ioca_worker_host_idle_ms(void)
{
	if (atomic_load(&instance.waiting) > 0)
		return 0;
	return ioca_now_mono_ms() - atomic_load(&instance.last_activity_ms);
}

int ioca_worker_host_send(const void *frame, size_t len)
{
	struct iovec iov = {(void *)frame, len};
	return write_frame(&instance, &iov, 1);
}

int ioca_worker_host_flush(void)
{
	struct ioca_instance *inst = &instance;
	uint8_t frame[STATS_FRAME_MAX];
	size_t used = ioca_frame_encode_stats_begin(frame, sizeof frame);
	size_t entries = 0;
	pthread_mutex_lock(&inst->stats_lock);
	for (size_t i = 0; i < inst->n_stats; i++) {
		struct stat_slot *s = &inst->stats[i];
		if (!s->dirty)
			continue;
		size_t next = ioca_frame_encode_stats_add(frame, sizeof frame, used, false, s->name,
							  s->value);
		if (!next)
			break; /* the rest goes with the next flush */
		used = next;
		s->dirty = false;
		entries++;
	}
	pthread_mutex_unlock(&inst->stats_lock);
	if (entries) {
		ioca_frame_encode_stats_finish(frame, used);
		if (ioca_worker_host_send(frame, used) != IOCA_OK)
			return IOCA_ERROR;
	}
	uint8_t hb[IOCA_FRAME_HEADER_LEN + 16];
	size_t n = ioca_frame_encode_heartbeat(hb, sizeof hb, ioca_worker_host_idle_ms(),
					       ioca_now_mono_ms());
	return ioca_worker_host_send(hb, n);
}
