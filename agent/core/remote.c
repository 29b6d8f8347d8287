/*
 * Remote commands in the core: routing, execution, replies. See remote.h.
 */
#include "remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "json_counts.h"
#include "log.h"
#include "remote_replay.h"
#include "remote_snapshot.h"
#include "retcode.h"
#include "timeutil.h"

#define TOPIC_MAX               512
#define LAST_SEEN_MAX           256 /* instances whose last message time status shows */
#define REFUSAL_LOG_INTERVAL_MS 60000
#define SNAPSHOT_CONTENT_TYPE   "image/jpeg" /* what cameras answer the command with */

struct last_seen {
	char name[IOCA_CMD_NAME_MAX * 2 + 1];
	int64_t wall_ms;
};

/* A reload reply waits for the reload. */
struct pending_reply {
	bool waiting;
	struct ioca_cmd_deferred cmd;
};

struct ioca_remote {
	struct ioca_cmd_guard guard;
	struct ioca_remote_actions actions;
	size_t max_request_bytes;
	char prefix[TOPIC_MAX]; /* "<prefix>/<agent>/cmd/" */
	char filter[TOPIC_MAX];
	struct ioca_mqtt *mqtt;
	struct last_seen seen[LAST_SEEN_MAX];
	size_t n_seen;
	struct pending_reply reload;
	struct ioca_snapshot_waits snapshots;
	uint64_t received, executed;
	uint64_t refused[IOCA_CMD_RESULT_COUNT];
	struct ioca_ratelimit refusal_log;
	struct ioca_replay *replay; /* NULL: replay not enabled */
};

struct ioca_remote *ioca_remote_new(const struct ioca_config *cfg,
				    const struct ioca_remote_actions *actions)
{
	const struct ioca_commands_config *cc = &cfg->commands;
	if (cc->n_enabled == 0)
		return NULL;
	struct ioca_remote *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	ioca_cmd_guard_init(&r->guard);
	ioca_cmd_guard_set_key(&r->guard, cc->key, cc->key_len);
	r->guard.max_skew_ms = cc->max_skew_s * 1000;
	for (size_t i = 0; i < cc->n_enabled; i++) {
		int k = ioca_cmd_kind_of(cc->enabled[i]);
		if (k >= 0)
			r->guard.enabled[k] = true;
	}
	if (r->guard.enabled[IOCA_CMD_REPLAY] && !(r->replay = ioca_replay_new(cfg))) {
		free(r);
		return NULL;
	}
	r->actions = *actions;
	r->max_request_bytes = (size_t)cc->max_request_bytes;
	r->refusal_log.interval_ms = REFUSAL_LOG_INTERVAL_MS;
	int n = snprintf(r->prefix, sizeof r->prefix, "%s/%s/cmd/", cfg->mqtt.topic_prefix,
			 cfg->agent.id);
	if (n < 0 || (size_t)n + sizeof "+" > sizeof r->filter) {
		free(r); /* prefix and id are bounded by the configuration checks */
		return NULL;
	}
	memcpy(r->filter, r->prefix, (size_t)n);
	memcpy(r->filter + n, "+", sizeof "+");
	return r;
}

void ioca_remote_free(struct ioca_remote *r)
{
	if (!r)
		return;
	ioca_replay_free(r->replay);
	explicit_bzero(&r->guard, sizeof r->guard);
	free(r);
}

void ioca_remote_note_message(struct ioca_remote *r, const char *instance, int64_t wall_ms)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_seen; i++) {
		if (strcmp(r->seen[i].name, instance) == 0) {
			r->seen[i].wall_ms = wall_ms;
			return;
		}
	}
	if (r->n_seen == LAST_SEEN_MAX || strlen(instance) >= sizeof r->seen[0].name)
		return;
	snprintf(r->seen[r->n_seen].name, sizeof r->seen[0].name, "%s", instance);
	r->seen[r->n_seen++].wall_ms = wall_ms;
}

static int64_t last_seen(const struct ioca_remote *r, const char *name)
{
	for (size_t i = 0; i < r->n_seen; i++)
		if (strcmp(r->seen[i].name, name) == 0)
			return r->seen[i].wall_ms;
	return 0;
}

/* The status document with each instance's last message time. */
static cJSON *status_result(struct ioca_remote *r)
{
	char *text = r->actions.status_json ? r->actions.status_json(r->actions.ctx) : NULL;
	cJSON *doc = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!doc)
		return NULL;
	cJSON *instances = cJSON_GetObjectItemCaseSensitive(doc, "instances");
	cJSON *it;
	cJSON_ArrayForEach(it, instances)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		int64_t t = cJSON_IsString(name) ? last_seen(r, name->valuestring) : 0;
		char ts[40];
		if (t)
			cJSON_AddStringToObject(it, "last_message",
						ioca_format_rfc3339(t, ts, sizeof ts));
		else
			cJSON_AddNullToObject(it, "last_message");
	}
	return doc;
}

static void publish(struct ioca_mqtt *m, const char *topic, const char *text,
		    const void *correlation, size_t correlation_len)
{
	if (text && m)
		ioca_mqtt_publish_reply(m, topic, text, strlen(text), correlation, correlation_len);
}

/* Where the reply to `msg` goes. */
static void reply_topic(const struct ioca_remote *r, const struct ioca_mqtt_message *msg,
			const struct ioca_cmd_request *req, const char *name, char *out, size_t len)
{
	if (msg->response_topic && msg->response_topic[0])
		snprintf(out, len, "%s", msg->response_topic);
	else if (req->reply_to[0])
		snprintf(out, len, "%s", req->reply_to);
	else
		snprintf(out, len, "%s%s/reply", r->prefix, name);
}

/* Run an authorised request. Returns the result object (NULL: none), or sets
 * *deferred when the reply waits (reload), or fills err. */
static cJSON *execute(struct ioca_remote *r, const struct ioca_cmd_request *req, bool *deferred,
		      char *err, size_t errlen)
{
	*deferred = false;
	switch (req->kind) {
	case IOCA_CMD_PING: {
		cJSON *o = cJSON_CreateObject();
		char ts[40];
		cJSON_AddStringToObject(o, "time",
					ioca_format_rfc3339(ioca_now_wall_ms(), ts, sizeof ts));
		return o;
	}
	case IOCA_CMD_STATUS: {
		cJSON *o = status_result(r);
		if (!o)
			snprintf(err, errlen, "status not available");
		return o;
	}
	case IOCA_CMD_RELOAD:
		if (r->reload.waiting) {
			snprintf(err, errlen, "a reload is already waiting");
			return NULL;
		}
		*deferred = true;
		r->actions.request_reload(r->actions.ctx);
		return NULL;
	case IOCA_CMD_RESTART: {
		const cJSON *inst = cJSON_GetObjectItemCaseSensitive(req->args, "instance");
		if (!cJSON_IsString(inst)) {
			snprintf(err, errlen, "args.instance: the instance name required");
			return NULL;
		}
		if (r->actions.restart_instance(r->actions.ctx, inst->valuestring) != IOCA_OK) {
			snprintf(err, errlen, "no instance '%s'", inst->valuestring);
			return NULL;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "instance", inst->valuestring);
		return o;
	}
	case IOCA_CMD_SNAPSHOT:
	case IOCA_CMD_REPLAY:
	case IOCA_CMD_KIND_COUNT:
		break;
	}
	snprintf(err, errlen, "not available");
	return NULL;
}

static enum ioca_sup_snapshot ask_snapshot(void *ctx, const char *name,
					   const struct ioca_snapshot_reply_to *to)
{
	struct ioca_remote *r = ctx;
	if (!r->actions.request_snapshot)
		return IOCA_SUP_SNAPSHOT_NOT_SUPPORTED;
	uint64_t room = r->mqtt ? ioca_mqtt_blob_room(r->mqtt, to->topic, SNAPSHOT_CONTENT_TYPE,
						      to->correlation_len)
				: 0;
	return r->actions.request_snapshot(r->actions.ctx, name, room);
}

static cJSON *begin_snapshot(struct ioca_remote *r, const struct ioca_mqtt_message *msg,
			     const struct ioca_cmd_request *req, const char *topic, bool *waits,
			     char *err, size_t errlen)
{
	struct ioca_snapshot_reply_to to = {topic, msg->correlation, msg->correlation_len};
	return ioca_snapshot_begin(&r->snapshots, req, &to, ask_snapshot, r, ioca_now_mono_ms(),
				   waits, err, errlen);
}

static void on_request(void *ctx, const struct ioca_mqtt_message *msg)
{
	struct ioca_remote *r = ctx;
	size_t plen = strlen(r->prefix);
	if (strncmp(msg->topic, r->prefix, plen) != 0 || strchr(msg->topic + plen, '/'))
		return; /* our own replies, or not a command topic */
	const char *name = msg->topic + plen;
	r->received++;

	struct ioca_cmd_request req;
	char detail[192];
	enum ioca_cmd_result res = ioca_cmd_parse(
	    name, msg->payload, msg->len, r->max_request_bytes, &req, detail, sizeof detail);
	if (res == IOCA_CMD_OK)
		res = ioca_cmd_authorize(&r->guard, &req, ioca_now_wall_ms());
	char topic[TOPIC_MAX];
	reply_topic(r, msg, &req, name, topic, sizeof topic);

	cJSON *result = NULL;
	bool deferred = false, picture_waits = false;
	if (res == IOCA_CMD_OK) {
		detail[0] = '\0';
		if (req.kind == IOCA_CMD_REPLAY)
			res =
			    ioca_replay_start(r->replay, &req, topic, msg->correlation,
					      msg->correlation_len, &result, detail, sizeof detail);
		else if (req.kind == IOCA_CMD_SNAPSHOT)
			result = begin_snapshot(r, msg, &req, topic, &picture_waits, detail,
						sizeof detail);
		else
			result = execute(r, &req, &deferred, detail, sizeof detail);
		if (detail[0] && res == IOCA_CMD_OK)
			res = IOCA_CMD_FAILED;
		if (res == IOCA_CMD_OK)
			r->executed++;
		ioca_info("command %s (request %s) %s", req.name, req.request_id,
			  detail[0] ? detail : "executed");
	}
	if (res != IOCA_CMD_OK) {
		r->refused[res]++;
		ioca_log_limited(&r->refusal_log, IOCA_LL_WARNING, "command on %s refused: %s%s%s",
				 msg->topic, ioca_cmd_result_name(res), detail[0] ? ": " : "",
				 detail);
	}
	if (deferred) {
		r->reload.waiting = true;
		ioca_cmd_defer(&r->reload.cmd, &req, topic, msg->correlation, msg->correlation_len);
	} else if (!picture_waits) {
		char *text = ioca_cmd_reply(&req, res, detail, result);
		publish(r->mqtt, topic, text, msg->correlation, msg->correlation_len);
		free(text);
	}
	ioca_cmd_request_free(&req);
}

void ioca_remote_attach(struct ioca_remote *r, struct ioca_mqtt *m)
{
	if (!m)
		return;
	if (!r) {
		ioca_mqtt_subscribe(m, NULL, NULL, NULL);
		return;
	}
	r->mqtt = m;
	ioca_mqtt_subscribe(m, r->filter, on_request, r);
}

void ioca_remote_reload_done(struct ioca_remote *r, struct ioca_mqtt *m, bool applied)
{
	if (!r || !r->reload.waiting)
		return;
	struct ioca_cmd_deferred *p = &r->reload.cmd;
	r->reload.waiting = false;
	cJSON *result = cJSON_CreateObject();
	cJSON_AddBoolToObject(result, "applied", applied);
	char *text = ioca_cmd_reply(
	    &p->req, applied ? IOCA_CMD_OK : IOCA_CMD_FAILED,
	    applied ? NULL : "the new configuration is invalid; the running one stays", result);
	publish(m, p->topic, text, p->correlation, p->correlation_len);
	free(text);
}

void ioca_remote_take_over(struct ioca_remote *r, struct ioca_remote *old)
{
	if (!old)
		return;
	if (r) {
		memcpy(r->seen, old->seen, sizeof r->seen);
		r->n_seen = old->n_seen;
		r->reload = old->reload;
		ioca_replay_cancel(old->replay, NULL, "reload");
		ioca_replay_take_over(r->replay, old->replay);
		r->snapshots = old->snapshots;
		r->received = old->received;
		r->executed = old->executed;
		memcpy(r->refused, old->refused, sizeof r->refused);
		/* ids seen stay refused across a reload with the same key */
		if (r->guard.key_len == old->guard.key_len &&
		    memcmp(r->guard.key, old->guard.key, r->guard.key_len) == 0) {
			memcpy(r->guard.seen, old->guard.seen, sizeof r->guard.seen);
			r->guard.seen_next = old->guard.seen_next;
		}
	}
	ioca_remote_free(old);
}

void ioca_remote_metrics(const struct ioca_remote *r, cJSON *metrics)
{
	if (!r)
		return;
	cJSON *o = cJSON_AddObjectToObject(metrics, "commands");
	IOCA_JSON_COUNTS(o, {"received", r->received}, {"executed", r->executed});
	ioca_replay_metrics(r->replay, o);
	ioca_snapshot_metrics(&r->snapshots, o);
	cJSON *ref = cJSON_AddObjectToObject(o, "refused");
	for (int i = 1; i < IOCA_CMD_RESULT_COUNT; i++)
		cJSON_AddNumberToObject(ref, ioca_cmd_result_name((enum ioca_cmd_result)i),
					(double)r->refused[i]);
}

void ioca_remote_note_blob(struct ioca_remote *r, const char *instance,
			   const struct ioca_frame_blob *blob)
{
	if (r)
		ioca_snapshot_on_blob(&r->snapshots, r->mqtt, instance, blob);
}

void ioca_remote_tick(struct ioca_remote *r, int64_t now_mono_ms, bool stopping)
{
	if (!r)
		return;
	if (stopping)
		ioca_replay_cancel(r->replay, r->mqtt, "stop");
	ioca_replay_tick(r->replay, r->mqtt, now_mono_ms);
	ioca_snapshot_tick(&r->snapshots, r->mqtt, now_mono_ms);
}

int ioca_remote_timeout_ms(const struct ioca_remote *r, int64_t now_mono_ms)
{
	if (!r)
		return INT32_MAX;
	int a = ioca_replay_timeout_ms(r->replay, now_mono_ms);
	int64_t b = ioca_snapshot_timeout_ms(&r->snapshots, now_mono_ms);
	return b < a ? (int)b : a;
}
