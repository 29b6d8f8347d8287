/*
 * The `replay` remote command. See remote_replay.h.
 */
#include "remote_replay.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "envelope.h"
#include "json_counts.h"
#include "log.h"
#include "retcode.h"
#include "timeutil.h"
#include "token_bucket.h"

#define REPLAY_BATCH    32 /* messages one loop turn may send at most */
#define TOPIC_MAX       512
#define PATH_MAX_LEN    4096
#define RETRY_MS        10 /* while the session cannot take more */
#define AGENT_SOURCE    "_agent"
#define REPLAYED_MEMBER ",\"replayed\":true}"

/* Where the completion goes and what it answers. */
struct completion {
	bool due;
	struct ioca_cmd_deferred cmd;
	uint64_t sent;
	char cancelled[32]; /* "" when the range was done */
	char error[256];    /* the archive failed while reading */
};

struct ioca_replay {
	const struct ioca_config *cfg;
	char archive_path[PATH_MAX_LEN];
	char agent_replay[TOPIC_MAX]; /* "<agent>/replay" */
	struct ioca_archive_cursor *cursor;
	struct ioca_token_bucket bucket;
	char *pending;                 /* payload read but not yet taken by the session */
	char pending_topic[TOPIC_MAX]; /* its topic */
	struct completion done;
	uint64_t sent_now; /* of the running replay */
	uint64_t started, sent, failed_publishes;
};

struct ioca_replay *ioca_replay_new(const struct ioca_config *cfg)
{
	struct ioca_replay *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->cfg = cfg;
	snprintf(p->archive_path, sizeof p->archive_path, "%s/%s", cfg->agent.state_dir,
		 IOCA_ARCHIVE_FILE);
	snprintf(p->agent_replay, sizeof p->agent_replay, "%s/replay", cfg->agent.id);
	return p;
}

static void stop_reading(struct ioca_replay *p)
{
	ioca_archive_cursor_close(p->cursor);
	p->cursor = NULL;
	free(p->pending);
	p->pending = NULL;
}

void ioca_replay_free(struct ioca_replay *p)
{
	if (!p)
		return;
	stop_reading(p);
	free(p);
}

bool ioca_replay_active(const struct ioca_replay *p)
{
	return p && p->cursor;
}

static bool instance_known(const struct ioca_config *cfg, const char *name)
{
	if (strcmp(name, AGENT_SOURCE) == 0)
		return true;
	for (size_t i = 0; i < cfg->n_instances; i++)
		if (strcmp(cfg->instances[i].name, name) == 0)
			return true;
	return false;
}

/* A non-negative integer member (Unix ms). */
static bool int_member(const cJSON *args, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740991.0 ||
	    v->valuedouble != floor(v->valuedouble))
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

/* Read and check the args into `r` and `rate`. */
static enum ioca_cmd_result read_args(const struct ioca_replay *p, const cJSON *args,
				      struct ioca_archive_range *r, double *rate, char *detail,
				      size_t len)
{
	if (!int_member(args, "from", &r->from_ms) || !int_member(args, "to", &r->to_ms)) {
		snprintf(detail, len, "args.from and args.to: Unix milliseconds required");
		return IOCA_CMD_BAD_ARGS;
	}
	if (r->from_ms >= r->to_ms) {
		snprintf(detail, len, "args.from must be before args.to");
		return IOCA_CMD_BAD_ARGS;
	}
	if (r->to_ms - r->from_ms > IOCA_REPLAY_MAX_SPAN_MS) {
		snprintf(detail, len, "the range is longer than 31 days");
		return IOCA_CMD_BAD_ARGS;
	}
	const cJSON *inst = cJSON_GetObjectItemCaseSensitive(args, "instance");
	r->instance = NULL;
	if (inst) {
		if (!cJSON_IsString(inst)) {
			snprintf(detail, len, "args.instance: an instance name required");
			return IOCA_CMD_BAD_ARGS;
		}
		if (!instance_known(p->cfg, inst->valuestring)) {
			snprintf(detail, len, "no instance '%.64s'", inst->valuestring);
			return IOCA_CMD_BAD_ARGS;
		}
		r->instance = inst->valuestring;
	}
	*rate = (double)p->cfg->commands.replay_rate;
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(args, "rate");
	if (rv) {
		if (!cJSON_IsNumber(rv) || !(rv->valuedouble > 0) ||
		    rv->valuedouble > IOCA_REPLAY_MAX_RATE) {
			snprintf(detail, len, "args.rate: messages/s, above 0 and at most %.0f",
				 IOCA_REPLAY_MAX_RATE);
			return IOCA_CMD_BAD_ARGS;
		}
		*rate = rv->valuedouble;
	}
	return IOCA_CMD_OK;
}

enum ioca_cmd_result ioca_replay_start(struct ioca_replay *p, const struct ioca_cmd_request *req,
				       const char *topic, const void *correlation,
				       size_t correlation_len, cJSON **result, char *detail,
				       size_t detail_len)
{
	*result = NULL;
	struct ioca_archive_range range;
	double rate = 0;
	enum ioca_cmd_result res = read_args(p, req->args, &range, &rate, detail, detail_len);
	if (res != IOCA_CMD_OK)
		return res;
	if (p->cursor || p->done.due) {
		snprintf(detail, detail_len, "a replay is already running (request %s)",
			 p->done.cmd.req.request_id);
		return IOCA_CMD_BUSY;
	}
	if (!p->cfg->retention.enabled) {
		snprintf(detail, detail_len, "the archive is disabled (retention.enabled)");
		return IOCA_CMD_ARCHIVE_UNAVAILABLE;
	}
	char err[256] = "";
	long long matched = ioca_archive_count(p->archive_path, &range, err, sizeof err);
	if (matched >= 0)
		p->cursor = ioca_archive_cursor_open(p->archive_path, &range, err, sizeof err);
	if (matched < 0 || !p->cursor) {
		snprintf(detail, detail_len, "%s", err);
		return IOCA_CMD_ARCHIVE_UNAVAILABLE;
	}
	struct completion *d = &p->done;
	memset(d, 0, sizeof *d);
	ioca_cmd_defer(&d->cmd, req, topic, correlation, correlation_len);
	ioca_token_bucket_init(&p->bucket, rate, ioca_now_mono_ms());
	p->bucket.tokens = 1; /* paced from the first message, no burst */
	p->sent_now = 0;
	p->started++;

	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "accepted", true);
	cJSON_AddNumberToObject(o, "matched", (double)matched);
	cJSON_AddNumberToObject(o, "rate", rate);
	char prefix[TOPIC_MAX * 2 + 4];
	snprintf(prefix, sizeof prefix, "%s/%s/#", p->cfg->mqtt.topic_prefix, p->agent_replay);
	cJSON_AddStringToObject(o, "topic", prefix);
	*result = o;
	ioca_info("replay %s: %lld messages from %lld to %lld at %.1f/s", req->request_id, matched,
		  (long long)range.from_ms, (long long)range.to_ms, rate);
	return IOCA_CMD_OK;
}

/* The completion, once the session is connected. */
static void send_completion(struct ioca_replay *p, struct ioca_mqtt *m)
{
	struct completion *d = &p->done;
	if (!d->due || !m || !ioca_mqtt_connected(m))
		return;
	d->due = false;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "done", true);
	cJSON_AddNumberToObject(o, "sent", (double)d->sent);
	if (d->cancelled[0])
		cJSON_AddStringToObject(o, "cancelled", d->cancelled);
	if (d->error[0])
		cJSON_AddStringToObject(o, "error", d->error);
	char *text = ioca_cmd_reply(&d->cmd.req, IOCA_CMD_OK, NULL, o);
	if (text)
		ioca_mqtt_publish_reply(m, d->cmd.topic, text, strlen(text), d->cmd.correlation,
					d->cmd.correlation_len);
	free(text);
	ioca_info("replay %s: %llu sent%s%s", d->cmd.req.request_id, (unsigned long long)d->sent,
		  d->cancelled[0] ? ", cancelled by " : "", d->cancelled);
}

static void finish(struct ioca_replay *p, const char *cancelled, const char *error)
{
	stop_reading(p);
	p->done.due = true;
	p->done.sent = p->sent_now;
	snprintf(p->done.cancelled, sizeof p->done.cancelled, "%s", cancelled ? cancelled : "");
	snprintf(p->done.error, sizeof p->done.error, "%s", error ? error : "");
}

/* Read the next message into p->pending. IOCA_AGAIN at the end. */
static int read_next(struct ioca_replay *p)
{
	struct ioca_archive_msg msg;
	int rc = ioca_archive_cursor_next(p->cursor, &msg);
	if (rc != IOCA_OK)
		return rc;
	char *text = ioca_archive_msg_json(&msg);
	size_t n = text ? strlen(text) : 0;
	char *payload = n ? malloc(n + sizeof REPLAYED_MEMBER) : NULL;
	if (payload) {
		memcpy(payload, text, n - 1); /* without the closing brace */
		memcpy(payload + n - 1, REPLAYED_MEMBER, sizeof REPLAYED_MEMBER);
	}
	free(text);
	if (!payload)
		return IOCA_ERROR;
	if (!ioca_topic_for_type(p->pending_topic, sizeof p->pending_topic,
				 p->cfg->mqtt.topic_prefix, p->agent_replay, msg.source,
				 msg.type)) {
		free(payload);
		return IOCA_OK; /* cannot be named: it was never published either */
	}
	p->pending = payload;
	return IOCA_OK;
}

void ioca_replay_tick(struct ioca_replay *p, struct ioca_mqtt *m, int64_t now_mono_ms)
{
	if (!p)
		return;
	if (p->cursor && m) {
		ioca_token_bucket_refill(&p->bucket, now_mono_ms);
		for (int i = 0; i < REPLAY_BATCH && ioca_token_bucket_ready(&p->bucket); i++) {
			if (!p->pending) {
				int rc = read_next(p);
				if (rc == IOCA_AGAIN) {
					finish(p, NULL, NULL);
					break;
				}
				if (rc != IOCA_OK) {
					const char *e = ioca_archive_cursor_error(p->cursor);
					finish(p, NULL, e && e[0] ? e : "out of memory");
					break;
				}
				if (!p->pending)
					continue;
			}
			int rc = ioca_mqtt_publish_qos1(m, p->pending_topic, p->pending,
							strlen(p->pending));
			if (rc == IOCA_AGAIN)
				break; /* not connected or the window is full: the same one later */
			if (rc == IOCA_OK) {
				ioca_token_bucket_take(&p->bucket);
				p->sent_now++;
				p->sent++;
			} else {
				p->failed_publishes++;
			}
			free(p->pending);
			p->pending = NULL;
		}
	}
	send_completion(p, m);
}

int ioca_replay_timeout_ms(const struct ioca_replay *p, int64_t now_mono_ms)
{
	(void)now_mono_ms;
	if (!p || (!p->cursor && !p->done.due))
		return INT32_MAX;
	if (!p->cursor)
		return RETRY_MS;
	double w = ioca_token_bucket_wait_ms(&p->bucket);
	if (w < 1)
		return p->pending ? RETRY_MS : 1;
	return w > 1000 ? 1000 : (int)ceil(w);
}

void ioca_replay_cancel(struct ioca_replay *p, struct ioca_mqtt *m, const char *why)
{
	if (!p || !p->cursor)
		return;
	finish(p, why, NULL);
	send_completion(p, m);
}

void ioca_replay_take_over(struct ioca_replay *p, const struct ioca_replay *old)
{
	if (!p || !old)
		return;
	p->started = old->started;
	p->sent = old->sent;
	p->failed_publishes = old->failed_publishes;
	p->done = old->done;
}

void ioca_replay_metrics(const struct ioca_replay *p, cJSON *commands)
{
	if (!p)
		return;
	cJSON *o = cJSON_AddObjectToObject(commands, "replay");
	IOCA_JSON_COUNTS(o, {"started", p->started}, {"sent", p->sent},
			 {"failed", p->failed_publishes});
	cJSON_AddBoolToObject(o, "active", p->cursor != NULL);
}
