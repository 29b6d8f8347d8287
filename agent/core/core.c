/*
 * The core's main loop (see core.h).
 *
 * One thread, one poll(): the signalfd, the MQTT socket and the worker
 * sockets. Each turn reads what workers sent (into the queue through the
 * intake), then runs the timers: supervisor, queue, MQTT (which pulls from
 * the queue), status, metrics, the systemd watchdog. Nothing in the loop
 * blocks except poll() itself.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "archive.h"
#include "clock_report.h"
#include "config.h"
#include "grow.h"
#include "intake.h"
#include "log.h"
#include "mqtt_session.h"
#include "preflight.h"
#include "remote.h"
#include "report.h"
#include "spool.h"
#include "supervisor.h"
#include "tally.h"
#include "timeutil.h"
#include "worker_args.h"

#define MAX_POLL_FDS            1024
#define STATUS_MIN_INTERVAL_MS  1000
#define SD_STATUS_INTERVAL_MS   5000
#define STOP_WORKERS_GRACE_MS   3000
#define STOP_TOTAL_MS           4500
#define PREFLIGHT_ERR_LEN       512
#define MQTT_SHUTDOWN_MS        1000
#define READY_WAIT_MAX_MS       2000
#define REJECTED_EVENT          "agent.record_rejected"
#define SNAPSHOT_CONTENT_TYPE   "image/jpeg"
#define DROP_REPORT_INTERVAL_MS 1000

struct core {
	char *config_path;
	struct ioca_config cfg;
	struct ioca_queue *queue;
	struct ioca_mqtt *mqtt;
	struct ioca_supervisor *sup;
	size_t blob_room_seen; /* what workers were last told of the room for blobs */
	struct ioca_intake intake;
	struct ioca_report_ctx report;
	struct ioca_remote *remote; /* NULL: no remote commands enabled */
	bool reload_requested;      /* by a command: done at the end of the loop turn */
	struct ioca_remote_actions remote_actions;
	struct ioca_archive *archive;
	struct ioca_clock_report clock;
	int sig_fd;
	int lock_fd;
	bool stopping;
	bool status_dirty;
	int64_t status_sent_ms;
	int64_t metrics_due_ms;
	int64_t watchdog_interval_ms;
	int64_t watchdog_due_ms;
	int64_t sd_status_due_ms;
	char sd_status[192];
	uint64_t drop_carry_records; /* of drop reports that were dropped themselves */
	uint64_t drop_carry_bytes;
	cJSON *drop_carry_instances;      /* their per-instance counts, NULL: none */
	struct drop_report *drop_reports; /* published, per-instance counts kept */
	size_t n_drop_reports, cap_drop_reports;
	int64_t drop_reported_ms;
};

/* A drop report published and watched: its per-instance counts, to carry
 * into the next report if it is dropped in turn. */
struct drop_report {
	uint64_t seq;
	cJSON *instances;
};

/* ---- callbacks ----------------------------------------------------------- */

static void on_message(void *ctx, const struct ioca_sup_message *m)
{
	struct core *c = ctx;
	ioca_intake_worker_message(&c->intake, m);
	ioca_remote_note_message(c->remote, m->instance, ioca_now_wall_ms());
	if (m->blob)
		ioca_remote_note_blob(c->remote, m->instance, m->blob);
}

static void on_failure(void *ctx, const struct ioca_sup_failure *f)
{
	struct core *c = ctx;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "instance", f->instance);
	cJSON_AddStringToObject(d, "plugin", f->plugin);
	cJSON_AddStringToObject(d, "reason", f->reason);
	if (f->signal)
		cJSON_AddNumberToObject(d, "signal", f->signal);
	if (f->exit_code >= 0)
		cJSON_AddNumberToObject(d, "exit_code", f->exit_code);
	if (f->detail)
		cJSON_AddStringToObject(d, "error", f->detail);
	cJSON_AddNumberToObject(d, "restarts", f->restarts);
	cJSON_AddNumberToObject(d, "retry_in_s", f->retry_in_s);
	ioca_intake_agent_event(&c->intake, "agent.instance_failed", IOCA_SEV_WARNING, d);
}

static void on_state_change(void *ctx)
{
	struct core *c = ctx;
	c->status_dirty = true;
}

static void on_spool_corrupt(void *ctx, const struct ioca_spool_damage *dmg)
{
	struct core *c = ctx;
	if (dmg->lost_records)
		ioca_warn("spool: %s missing, records %llu..%llu lost", dmg->file,
			  (unsigned long long)dmg->lost_first_seq,
			  (unsigned long long)dmg->lost_last_seq);
	else
		ioca_warn("spool: damaged data in %s, %llu bytes skipped", dmg->file,
			  (unsigned long long)dmg->bytes_skipped);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file", dmg->file);
	cJSON_AddNumberToObject(d, "bytes_skipped", (double)dmg->bytes_skipped);
	if (dmg->lost_records) {
		cJSON_AddNumberToObject(d, "records_lost", (double)dmg->lost_records);
		cJSON *range = cJSON_AddArrayToObject(d, "lost_seq");
		cJSON_AddItemToArray(range, cJSON_CreateNumber((double)dmg->lost_first_seq));
		cJSON_AddItemToArray(range, cJSON_CreateNumber((double)dmg->lost_last_seq));
	}
	ioca_intake_agent_event(&c->intake, "agent.spool_corrupt", IOCA_SEV_WARNING, d);
}

static void add_instance_count(cJSON *obj, const char *instance, double n)
{
	cJSON *have = cJSON_GetObjectItemCaseSensitive(obj, instance);
	if (have && cJSON_IsNumber(have))
		cJSON_SetNumberValue(have, have->valuedouble + n);
	else
		cJSON_AddNumberToObject(obj, instance, n);
}

static void keep_drop_report(struct core *c, uint64_t seq, const cJSON *instances)
{
	struct drop_report *all = ioca_grow(c->drop_reports, &c->cap_drop_reports,
					    c->n_drop_reports + 1, sizeof(*all), 8);
	if (!all)
		return;
	c->drop_reports = all;
	cJSON *copy = cJSON_Duplicate(instances, true);
	if (copy)
		c->drop_reports[c->n_drop_reports++] = (struct drop_report){seq, copy};
}

/* Per-instance counts of reports the spool dropped go into the carry;
 * those of reports delivered are let go. */
static void settle_drop_reports(struct core *c)
{
	uint64_t seq;
	while (ioca_tally_take_lost_seq(c->queue, &seq)) {
		for (size_t i = 0; i < c->n_drop_reports; i++) {
			if (c->drop_reports[i].seq != seq)
				continue;
			if (!c->drop_carry_instances)
				c->drop_carry_instances = cJSON_CreateObject();
			cJSON *e;
			cJSON_ArrayForEach(e, c->drop_reports[i].instances)
			{
				if (c->drop_carry_instances)
					add_instance_count(c->drop_carry_instances, e->string,
							   e->valuedouble);
			}
			break;
		}
	}
	size_t keep = 0;
	for (size_t i = 0; i < c->n_drop_reports; i++) {
		struct drop_report *r = &c->drop_reports[i];
		if (ioca_tally_watching(c->queue, r->seq))
			c->drop_reports[keep++] = *r;
		else
			cJSON_Delete(r->instances);
	}
	c->n_drop_reports = keep;
}

static void free_drop_reports(struct core *c)
{
	for (size_t i = 0; i < c->n_drop_reports; i++)
		cJSON_Delete(c->drop_reports[i].instances);
	free(c->drop_reports);
	cJSON_Delete(c->drop_carry_instances);
}

/* Publish agent.spool_dropped for `records` plus whatever earlier reports
 * were themselves dropped (the carry), and watch it so that it is reported
 * again if it is dropped in turn: the counts a subscriber sees add up. */
static void report_dropped(struct core *c, uint64_t records, uint64_t bytes,
			   const struct ioca_spool_instance_drops *by, size_t n_by)
{
	records += c->drop_carry_records;
	bytes += c->drop_carry_bytes;
	c->drop_carry_records = c->drop_carry_bytes = 0;
	c->drop_reported_ms = ioca_now_mono_ms();
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "events", (double)records);
	cJSON_AddNumberToObject(d, "bytes", (double)bytes);
	cJSON *inst = c->drop_carry_instances ? c->drop_carry_instances : cJSON_CreateObject();
	c->drop_carry_instances = NULL;
	for (size_t i = 0; inst && i < n_by; i++)
		add_instance_count(inst, by[i].instance, (double)by[i].records);
	if (inst)
		cJSON_AddItemToObject(d, "instances", inst);
	uint64_t seq = ioca_queue_next_seq(c->queue);
	if (inst && cJSON_GetArraySize(inst) > 0)
		keep_drop_report(c, seq, inst);
	ioca_intake_agent_event(&c->intake, "agent.spool_dropped", IOCA_SEV_WARNING, d);
	if (ioca_tally_watch(c->queue, seq, records, bytes) != IOCA_OK)
		ioca_error("out of memory watching the drop report %llu", (unsigned long long)seq);
}

static void on_spool_dropped(void *ctx, uint64_t records, uint64_t bytes,
			     const struct ioca_spool_instance_drops *by, size_t n_by)
{
	struct core *c = ctx;
	ioca_warn("spool: %llu records (%llu bytes) dropped", (unsigned long long)records,
		  (unsigned long long)bytes);
	for (size_t i = 0; i < n_by; i++)
		ioca_warn("spool: of them %llu of instance %s", (unsigned long long)by[i].records,
			  by[i].instance);
	report_dropped(c, records, bytes, by, n_by);
}

/* Drop reports the spool dropped before they went out are reported again
 * (with the next report, or on their own after DROP_REPORT_INTERVAL_MS). */
static void report_lost_drop_reports(struct core *c, int64_t now)
{
	uint64_t records, bytes;
	settle_drop_reports(c);
	if (ioca_tally_take_lost(c->queue, &records, &bytes)) {
		c->drop_carry_records += records;
		c->drop_carry_bytes += bytes;
	}
	if (c->drop_carry_records && now - c->drop_reported_ms >= DROP_REPORT_INTERVAL_MS)
		report_dropped(c, 0, 0, NULL, 0);
}

/*
 * A record the broker will never take: kept in the dead-letter file and
 * reported with agent.record_rejected, unless it is such a report itself
 * (which would then be rejected in turn, forever): that one is only logged.
 */
static void on_record_rejected(void *ctx, const struct ioca_record *r, size_t size, size_t limit,
			       const char *why)
{
	struct core *c = ctx;
	char err[256] = "";
	if (ioca_spool_deadletter(c->cfg.agent.state_dir, r, err, sizeof err) != IOCA_OK)
		ioca_error("cannot keep rejected record %llu in %s: %s", (unsigned long long)r->seq,
			   c->cfg.agent.state_dir, err);
	char own[512];
	if (ioca_topic_for_type(own, sizeof own, c->cfg.mqtt.topic_prefix, c->cfg.agent.id,
				IOCA_AGENT_SOURCE, REJECTED_EVENT) &&
	    strcmp(own, r->topic) == 0)
		return;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "seq", (double)r->seq);
	cJSON_AddStringToObject(d, "topic", r->topic);
	cJSON_AddNumberToObject(d, "size", (double)size);
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	cJSON_AddStringToObject(d, "reason", why);
	ioca_intake_agent_event(&c->intake, REJECTED_EVENT, IOCA_SEV_WARNING, d);
}

static void on_archive_corrupt(void *ctx, const char *set_aside, const char *reason)
{
	struct core *c = ctx;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file", set_aside);
	cJSON_AddStringToObject(d, "reason", reason);
	ioca_intake_agent_event(&c->intake, "agent.archive_corrupt", IOCA_SEV_WARNING, d);
}

/* The spool logs the failure and the recovery itself; the status shows it. */
static void on_spool_degraded(void *ctx, bool degraded, const char *reason)
{
	struct core *c = ctx;
	(void)degraded;
	(void)reason;
	c->status_dirty = true;
}

/* ---- set-up ------------------------------------------------------------- */

static int load_config(const char *path, struct ioca_config *out)
{
	struct ioca_diag diag = {0};
	int rc = ioca_config_load(path, NULL, out, &diag);
	if (rc != IOCA_OK) {
		for (size_t i = 0; i < diag.count; i++)
			ioca_error("%s", diag.lines[i]);
	}
	ioca_diag_clear(&diag);
	return rc;
}

/* One agent per state_dir: the spool and seq must have a single writer. */
static int lock_state_dir(const char *state_dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/lock", state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		ioca_error("cannot open %s: %m", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ioca_error("another iocagent is running with state_dir %s", state_dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int block_signals(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* The local archive in state_dir, fed by the intake (retention section). */
static int open_archive(struct core *c)
{
	const struct ioca_retention_config *r = &c->cfg.retention;
	if (!r->enabled)
		return IOCA_OK;
	char path[PATH_MAX], err[256] = "";
	snprintf(path, sizeof path, "%s/%s", c->cfg.agent.state_dir, IOCA_ARCHIVE_FILE);
	struct ioca_archive_settings set = {.max_age_ms = (int64_t)r->days * 86400 * 1000,
					    .max_bytes = r->max_bytes};
	struct ioca_archive_callbacks cb = {.ctx = c, .corrupt = on_archive_corrupt};
	c->archive = ioca_archive_open(path, &set, &cb, err, sizeof err);
	if (!c->archive) {
		ioca_error("archive %s: %s", path, err);
		return IOCA_ERROR;
	}
	c->intake.archive = c->archive;
	return IOCA_OK;
}

/* ---- status, metrics, systemd ------------------------------------------- */

static void update_report_ctx(struct core *c)
{
	c->report.cfg = &c->cfg;
	c->report.sup = c->sup;
	c->report.queue = c->queue;
	c->report.mqtt = c->mqtt;
	c->report.accepted = c->intake.accepted;
	c->report.refused = c->intake.refused;
	c->report.archive = c->archive;
	c->report.clock_synced = ioca_clock_report_synced(&c->clock);
}

static void publish_status(struct core *c, int64_t now)
{
	if (!c->status_dirty || now - c->status_sent_ms < STATUS_MIN_INTERVAL_MS)
		return;
	update_report_ctx(c);
	char *status = ioca_report_status_online(&c->report);
	if (status) {
		ioca_mqtt_set_status(c->mqtt, status);
		free(status);
	}
	c->status_dirty = false;
	c->status_sent_ms = now;
}

static void publish_metrics(struct core *c, int64_t now)
{
	if (now < c->metrics_due_ms)
		return;
	c->metrics_due_ms = now + (int64_t)c->cfg.agent.metrics_interval_s * 1000;
	update_report_ctx(c);
	char *doc = ioca_report_metrics(&c->report);
	if (!doc)
		return;
	char topic[512];
	if (ioca_topic_agent(topic, sizeof topic, c->cfg.mqtt.topic_prefix, c->cfg.agent.id,
			     "metrics"))
		ioca_mqtt_publish_volatile(c->mqtt, topic, doc, strlen(doc));
	free(doc);
	ioca_mqtt_stats_reset_latency(c->mqtt);
}

static void notify_systemd(struct core *c, int64_t now)
{
	if (c->watchdog_interval_ms && now >= c->watchdog_due_ms) {
		sd_notify(0, "WATCHDOG=1");
		c->watchdog_due_ms = now + c->watchdog_interval_ms;
	}
	if (now >= c->sd_status_due_ms) {
		char line[192];
		update_report_ctx(c);
		ioca_report_status_line(&c->report, line, sizeof line);
		if (strcmp(line, c->sd_status) != 0) {
			sd_notifyf(0, "STATUS=%s", line);
			snprintf(c->sd_status, sizeof c->sd_status, "%s", line);
		}
		c->sd_status_due_ms = now + SD_STATUS_INTERVAL_MS;
	}
}

/* ---- remote commands ---------------------------------------------------- */

static char *remote_status_json(void *ctx)
{
	struct core *c = ctx;
	update_report_ctx(c);
	return ioca_report_status_online(&c->report);
}

static void remote_request_reload(void *ctx)
{
	struct core *c = ctx;
	c->reload_requested = true;
}

static int remote_restart_instance(void *ctx, const char *name)
{
	struct core *c = ctx;
	return ioca_supervisor_restart(c->sup, name);
}

/* The largest picture `instance` can have delivered on its snapshot topic (0: no limit known). */
static uint64_t snapshot_room(const struct core *c, const char *instance)
{
	char topic[512];
	if (!c->mqtt || !ioca_topic_for_blob(topic, sizeof topic, c->cfg.mqtt.topic_prefix,
					     c->cfg.agent.id, instance, IOCA_SNAPSHOT_SUBTOPIC))
		return 0;
	return ioca_mqtt_blob_room(c->mqtt, topic, SNAPSHOT_CONTENT_TYPE, 0);
}

/* Workers are told when the room for blobs changed: the broker's limit became known (an MQTT 5
 * CONNACK) or changed. The room of the empty topic changes exactly when the limit does. */
static void note_blob_room(struct core *c)
{
	size_t room = ioca_mqtt_blob_room(c->mqtt, "", SNAPSHOT_CONTENT_TYPE, 0);
	if (room == c->blob_room_seen || !c->sup)
		return;
	c->blob_room_seen = room;
	ioca_supervisor_blob_limit_changed(c->sup);
}

/* What a worker is told at its start (host->max_blob_bytes()). */
static uint64_t worker_max_blob_bytes(void *ctx, const char *instance)
{
	return snapshot_room(ctx, instance);
}

/* The picture answering the command goes to the snapshot topic and the reply topic: it must fit
 * both, under the broker's limit of this moment. */
static enum ioca_sup_snapshot remote_request_snapshot(void *ctx, const char *name,
						      uint64_t reply_room)
{
	struct core *c = ctx;
	uint64_t room = snapshot_room(c, name);
	if (reply_room && (!room || reply_room < room))
		room = reply_room;
	return ioca_supervisor_request_snapshot(c->sup, name, room);
}

/* ---- reload ------------------------------------------------------------- */

static bool mqtt_changed(const struct ioca_config *a, const struct ioca_config *b)
{
	const struct ioca_mqtt_config *x = &a->mqtt, *y = &b->mqtt;
#define SAME_STR(p, q) (((p) == NULL && (q) == NULL) || ((p) && (q) && strcmp((p), (q)) == 0))
	if (x->n_brokers != y->n_brokers || x->protocol != y->protocol ||
	    x->keepalive_s != y->keepalive_s || x->qos != y->qos ||
	    x->session_expiry_s != y->session_expiry_s ||
	    x->message_expiry_s != y->message_expiry_s || x->has_tls != y->has_tls ||
	    x->max_packet_size != y->max_packet_size || x->tls.insecure != y->tls.insecure ||
	    x->reconnect_min_s != y->reconnect_min_s || x->reconnect_max_s != y->reconnect_max_s ||
	    x->prefer_first != y->prefer_first || x->prefer_check_s != y->prefer_check_s ||
	    a->spool.inflight != b->spool.inflight)
		return true;
	if (!SAME_STR(x->username, y->username) || !SAME_STR(x->password, y->password) ||
	    !SAME_STR(x->topic_prefix, y->topic_prefix) ||
	    !SAME_STR(x->tls.ca_file, y->tls.ca_file) ||
	    !SAME_STR(x->tls.cert_file, y->tls.cert_file) ||
	    !SAME_STR(x->tls.key_file, y->tls.key_file) || !SAME_STR(a->agent.site, b->agent.site))
		return true;
	for (size_t i = 0; i < x->n_brokers; i++)
		if (!SAME_STR(x->brokers[i].url, y->brokers[i].url))
			return true;
#undef SAME_STR
	return false;
}

static struct ioca_mqtt *new_session(struct core *c, const struct ioca_config *cfg)
{
	char err[256] = "";
	char *will = ioca_report_status_offline(cfg, 0);
	struct ioca_mqtt *m = ioca_mqtt_new(cfg, c->queue, will, err, sizeof err);
	free(will);
	if (!m)
		ioca_error("mqtt: %s", err);
	else
		ioca_mqtt_set_rejected_cb(m, on_record_rejected, c);
	return m;
}

/* Keys that cannot change while running: the new config keeps the old values. */
static void keep_restart_only_keys(struct core *c, struct ioca_config *next)
{
	struct ioca_config *cur = &c->cfg;
	if (strcmp(cur->agent.id, next->agent.id) != 0) {
		ioca_warn("reload: agent.id change takes effect at the next restart");
		char *t = next->agent.id;
		next->agent.id = cur->agent.id;
		cur->agent.id = t;
	}
	if (strcmp(cur->agent.state_dir, next->agent.state_dir) != 0) {
		ioca_warn("reload: agent.state_dir change takes effect at the next restart");
		char *t = next->agent.state_dir;
		next->agent.state_dir = cur->agent.state_dir;
		cur->agent.state_dir = t;
	}
	if (cur->spool.max_bytes != next->spool.max_bytes ||
	    cur->spool.fsync != next->spool.fsync ||
	    cur->spool.fsync_interval_ms != next->spool.fsync_interval_ms ||
	    cur->spool.segment_bytes != next->spool.segment_bytes ||
	    cur->spool.max_age_s != next->spool.max_age_s ||
	    cur->spool.memory_buffer_bytes != next->spool.memory_buffer_bytes ||
	    cur->spool.drain_rate != next->spool.drain_rate ||
	    cur->spool.historical_after_s != next->spool.historical_after_s ||
	    cur->spool.order != next->spool.order)
		ioca_warn("reload: spool settings change takes effect at the next restart");
	if (cur->retention.enabled != next->retention.enabled ||
	    cur->retention.days != next->retention.days ||
	    cur->retention.max_bytes != next->retention.max_bytes)
		ioca_warn("reload: retention settings change takes effect at the next restart");
}

static bool reload(struct core *c)
{
	ioca_info("reload: reading %s", c->config_path);
	struct ioca_config next;
	if (load_config(c->config_path, &next) != IOCA_OK) {
		ioca_error("reload: the new configuration is invalid; keeping the running one");
		return false;
	}
	keep_restart_only_keys(c, &next);
	ioca_log_set_level(next.agent.log_level);
	if (mqtt_changed(&c->cfg, &next)) {
		struct ioca_mqtt *m = new_session(c, &next);
		if (!m) {
			ioca_error("reload: keeping the running configuration");
			ioca_config_free(&next);
			return false;
		}
		ioca_info("reload: MQTT settings changed, reconnecting");
		ioca_mqtt_free(c->mqtt);
		/* what the old session had in flight goes out again through the new one */
		ioca_queue_rewind(c->queue);
		c->mqtt = m;
		ioca_mqtt_start(c->mqtt);
	}
	ioca_supervisor_apply(c->sup, &next);
	ioca_config_free(&c->cfg);
	c->cfg = next;
	ioca_intake_set_config(&c->intake, &c->cfg);
	c->status_dirty = true;
	c->status_sent_ms = 0;
	struct ioca_remote *remote = ioca_remote_new(&c->cfg, &c->remote_actions);
	ioca_remote_take_over(remote, c->remote);
	c->remote = remote;
	c->report.remote = remote;
	ioca_remote_attach(c->remote, c->mqtt);
	ioca_info("reload: done, %zu instances", c->cfg.n_instances);
	return true;
}

/* ---- loop --------------------------------------------------------------- */

static void handle_signals(struct core *c)
{
	struct signalfd_siginfo si;
	while (read(c->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!c->stopping)
				ioca_info("stopping (signal %u)", si.ssi_signo);
			c->stopping = true;
			break;
		case SIGHUP:
			sd_notify(0, "RELOADING=1");
			reload(c);
			sd_notify(0, "READY=1");
			break;
		case SIGCHLD:
			ioca_supervisor_reap(c->sup);
			break;
		default:
			break;
		}
	}
}

static int min_timeout(int a, int64_t b)
{
	if (b < 0)
		b = 0;
	return b < a ? (int)b : a;
}

/* One poll() turn; returns after handling what came. */
static void loop_once(struct core *c, int max_wait_ms)
{
	static struct pollfd fds[MAX_POLL_FDS];
	int64_t now = ioca_now_mono_ms();
	size_t n = 0;
	fds[n++] = (struct pollfd){.fd = c->sig_fd, .events = POLLIN};
	int mfd = ioca_mqtt_fd(c->mqtt);
	size_t mqtt_idx = n;
	fds[n++] =
	    (struct pollfd){.fd = mfd, .events = mfd >= 0 ? ioca_mqtt_poll_events(c->mqtt) : 0};
	int cfd = ioca_mqtt_check_fd(c->mqtt);
	size_t check_idx = n;
	fds[n++] = (struct pollfd){.fd = cfd,
				   .events = cfd >= 0 ? ioca_mqtt_check_poll_events(c->mqtt) : 0};
	size_t first_worker = n;
	n += ioca_supervisor_pollfds(c->sup, fds + n, MAX_POLL_FDS - n);

	int timeout = max_wait_ms;
	timeout = min_timeout(timeout, ioca_mqtt_timeout_ms(c->mqtt, now));
	timeout = min_timeout(timeout, ioca_supervisor_timeout_ms(c->sup, now));
	timeout = min_timeout(timeout, ioca_remote_timeout_ms(c->remote, now));
	if (!c->stopping) {
		timeout = min_timeout(timeout, c->metrics_due_ms - now);
		if (c->watchdog_interval_ms)
			timeout = min_timeout(timeout, c->watchdog_due_ms - now);
		if (c->status_dirty)
			timeout =
			    min_timeout(timeout, c->status_sent_ms + STATUS_MIN_INTERVAL_MS - now);
	}

	int ready = poll(fds, n, timeout);
	if (ready < 0 && errno != EINTR)
		ioca_log(IOCA_LL_ERROR, "poll: %m");
	if (ready > 0) {
		if (fds[0].revents)
			handle_signals(c);
		if (fds[mqtt_idx].fd >= 0 && fds[mqtt_idx].revents)
			ioca_mqtt_on_poll(c->mqtt, fds[mqtt_idx].revents);
		if (fds[check_idx].fd >= 0 && fds[check_idx].revents)
			ioca_mqtt_on_check_poll(c->mqtt, fds[check_idx].revents);
		ioca_supervisor_on_poll(c->sup, fds + first_worker, n - first_worker);
	}
	now = ioca_now_mono_ms();
	ioca_supervisor_tick(c->sup, now);
	ioca_queue_tick(c->queue, now);
	if (c->archive)
		ioca_archive_tick(c->archive);
	if (ioca_clock_report_tick(&c->clock, now, &c->intake))
		c->status_dirty = true;
	ioca_mqtt_tick(c->mqtt, now);
	note_blob_room(c);
	ioca_remote_tick(c->remote, now, c->stopping);
	report_lost_drop_reports(c, now);
	if (!c->stopping) {
		publish_status(c, now);
		publish_metrics(c, now);
	}
	if (c->reload_requested && !c->stopping) {
		c->reload_requested = false;
		sd_notify(0, "RELOADING=1");
		bool applied = reload(c);
		sd_notify(0, "READY=1");
		ioca_remote_reload_done(c->remote, c->mqtt, applied);
	}
	notify_systemd(c, now);
}

static void shutdown_core(struct core *c)
{
	sd_notify(0, "STOPPING=1");
	int64_t start = ioca_now_mono_ms();
	ioca_supervisor_stop_all(c->sup, STOP_WORKERS_GRACE_MS);
	while (!ioca_supervisor_all_stopped(c->sup) &&
	       ioca_now_mono_ms() - start < STOP_WORKERS_GRACE_MS + 500)
		loop_once(c, 50);
	/* keep publishing what the workers left until the stop budget runs out */
	ioca_queue_flush(c->queue);
	char *offline = ioca_report_status_offline(&c->cfg, ioca_now_wall_ms());
	int64_t left = STOP_TOTAL_MS - (ioca_now_mono_ms() - start);
	ioca_mqtt_shutdown(c->mqtt, offline ? offline : "{}",
			   (int)(left > MQTT_SHUTDOWN_MS ? left : MQTT_SHUTDOWN_MS));
	free(offline);
	ioca_queue_flush(c->queue);
	ioca_info("stopped");
}

static void emit_started(struct core *c)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "version", IOCA_VERSION);
	cJSON *arr = cJSON_AddArrayToObject(d, "instances");
	for (size_t i = 0; i < c->cfg.n_instances; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(c->cfg.instances[i].name));
	ioca_intake_agent_event(&c->intake, "agent.started", IOCA_SEV_INFO, d);
}

int ioca_core_check(const char *config_path)
{
	struct ioca_config cfg;
	struct ioca_diag diag = {0}, warnings = {0};
	int rc = IOCA_EXIT_CONFIG;
	if (ioca_config_load(config_path, NULL, &cfg, &diag) == IOCA_OK) {
		if (ioca_preflight_check(config_path, &cfg, &diag, &warnings) == IOCA_OK)
			rc = IOCA_EXIT_OK;
		ioca_config_free(&cfg);
	}
	ioca_diag_print(&diag, stderr);
	ioca_diag_print(&warnings, stderr);
	ioca_diag_clear(&diag);
	ioca_diag_clear(&warnings);
	if (rc == IOCA_EXIT_OK)
		printf("configuration OK\n");
	return rc;
}

int ioca_core_run(const char *config_path)
{
	struct core core_state = {.sig_fd = -1, .lock_fd = -1};
	struct core *c = &core_state;
	int rc = IOCA_EXIT_CONFIG;
	char exe[PATH_MAX];

	ioca_log_init(IOCA_LL_INFO);
	c->config_path = strdup(config_path);
	if (!c->config_path || load_config(config_path, &c->cfg) != IOCA_OK) {
		free(c->config_path);
		return IOCA_EXIT_CONFIG;
	}
	ioca_log_set_level(c->cfg.agent.log_level);

	char why[PREFLIGHT_ERR_LEN];
	if (ioca_preflight_state_dir(c->cfg.agent.state_dir, why, sizeof why) != IOCA_OK ||
	    ioca_preflight_plugin_dir(c->cfg.agent.plugin_dir, why, sizeof why) != IOCA_OK) {
		ioca_error("agent: %s", why);
		goto out;
	}
	struct ioca_diag warnings = {0};
	ioca_preflight_secrets(config_path, &c->cfg, &warnings);
	for (size_t i = 0; i < warnings.count; i++)
		ioca_warn("%s", warnings.lines[i]);
	ioca_diag_clear(&warnings);
	c->lock_fd = lock_state_dir(c->cfg.agent.state_dir);
	if (c->lock_fd < 0)
		goto out;
	if (ioca_worker_program(exe, sizeof exe) != 0) {
		ioca_error("cannot find the agent's own executable: %m");
		rc = IOCA_EXIT_SOFTWARE;
		goto out;
	}
	c->sig_fd = block_signals();
	if (c->sig_fd < 0) {
		ioca_error("signalfd: %m");
		rc = IOCA_EXIT_SOFTWARE;
		goto out;
	}

	char spool_dir[PATH_MAX], err[256] = "";
	snprintf(spool_dir, sizeof spool_dir, "%s/spool", c->cfg.agent.state_dir);
	struct ioca_spool_callbacks scb = {.ctx = c,
					   .corrupt = on_spool_corrupt,
					   .dropped = on_spool_dropped,
					   .degraded = on_spool_degraded};
	struct ioca_queue *spool = ioca_spool_open(&c->cfg.spool, spool_dir, &scb, err, sizeof err);
	if (!spool) {
		ioca_error("spool %s: %s", spool_dir, err);
		goto out;
	}
	c->queue = ioca_tally_wrap(spool, c->cfg.spool.inflight);
	if (!c->queue) {
		ioca_queue_close(spool);
		rc = IOCA_EXIT_SOFTWARE;
		goto out;
	}
	ioca_intake_init(&c->intake, c->queue, &c->cfg);
	if (open_archive(c) != IOCA_OK) {
		rc = IOCA_EXIT_SOFTWARE;
		goto out;
	}
	ioca_clock_report_init(&c->clock, &c->intake);
	c->mqtt = new_session(c, &c->cfg);
	if (!c->mqtt)
		goto out;
	c->blob_room_seen = ioca_mqtt_blob_room(c->mqtt, "", SNAPSHOT_CONTENT_TYPE, 0);
	struct ioca_sup_callbacks cb = {.ctx = c,
					.on_message = on_message,
					.on_failure = on_failure,
					.on_state_change = on_state_change,
					.max_blob_bytes = worker_max_blob_bytes};
	c->sup = ioca_supervisor_new(exe, &cb);
	if (!c->sup) {
		rc = IOCA_EXIT_SOFTWARE;
		goto out;
	}

	int64_t now = ioca_now_mono_ms();
	c->report.started_wall_ms = ioca_now_wall_ms();
	c->report.started_mono_ms = now;
	c->metrics_due_ms = now + (int64_t)c->cfg.agent.metrics_interval_s * 1000;
	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		c->watchdog_interval_ms = (int64_t)(wd_usec / 2000);
	c->watchdog_due_ms = now;

	ioca_info("iocagent %s starting: agent %s, %zu instances, config %s", IOCA_VERSION,
		  c->cfg.agent.id, c->cfg.n_instances, config_path);
	emit_started(c);
	ioca_supervisor_apply(c->sup, &c->cfg);
	c->remote_actions =
	    (struct ioca_remote_actions){.ctx = c,
					 .status_json = remote_status_json,
					 .request_reload = remote_request_reload,
					 .restart_instance = remote_restart_instance,
					 .request_snapshot = remote_request_snapshot};
	c->remote = ioca_remote_new(&c->cfg, &c->remote_actions);
	c->report.remote = c->remote;
	ioca_remote_attach(c->remote, c->mqtt);
	ioca_mqtt_start(c->mqtt);
	/* the first status waits a moment so workers can report in */
	c->status_dirty = true;
	c->status_sent_ms = now;

	/* READY once every worker has reported in (or after a bound): the
	 * service is then up, and the MQTT connection is being attempted */
	while (!c->stopping && ioca_supervisor_running(c->sup) < c->cfg.n_instances &&
	       ioca_now_mono_ms() - now < READY_WAIT_MAX_MS)
		loop_once(c, 20);
	sd_notify(0, "READY=1");
	ioca_info("ready: %zu/%zu instances running", ioca_supervisor_running(c->sup),
		  c->cfg.n_instances);

	while (!c->stopping)
		loop_once(c, 1000);
	shutdown_core(c);
	rc = IOCA_EXIT_OK;
out:
	ioca_supervisor_free(c->sup);
	ioca_mqtt_free(c->mqtt);
	ioca_remote_free(c->remote);
	ioca_intake_free(&c->intake);
	ioca_archive_close(c->archive);
	ioca_queue_close(c->queue);
	free_drop_reports(c);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->cfg.agent.id)
		ioca_config_free(&c->cfg);
	free(c->config_path);
	return rc;
}
