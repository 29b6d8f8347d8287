/*
 * The `snapshot` remote command (see remote_snapshot.h).
 */
#include "remote_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_counts.h"
#include "log.h"

static cJSON *failure(const char *instance, const char *reason, char *err, size_t errlen,
		      const char *detail)
{
	snprintf(err, errlen, "%s", detail);
	cJSON *o = cJSON_CreateObject();
	if (instance)
		cJSON_AddStringToObject(o, "instance", instance);
	cJSON_AddStringToObject(o, "reason", reason);
	return o;
}

static void reply_error(struct ioca_mqtt *m, struct ioca_snapshot_wait *w, const char *reason,
			const char *detail)
{
	char err[160];
	cJSON *result = failure(w->instance, reason, err, sizeof err, detail);
	char *text = ioca_cmd_reply(&w->req, IOCA_CMD_FAILED, err, result);
	if (text && m)
		ioca_mqtt_publish_reply(m, w->topic, text, strlen(text), w->correlation,
					w->correlation_len);
	free(text);
}

static cJSON *ask_worker(struct ioca_snapshot_waits *sw, const struct ioca_cmd_request *req,
			 const struct ioca_snapshot_reply_to *to, ioca_snapshot_ask_fn ask,
			 void *ask_ctx, int64_t now_mono_ms, bool *waiting, char *err,
			 size_t errlen);

cJSON *ioca_snapshot_begin(struct ioca_snapshot_waits *sw, const struct ioca_cmd_request *req,
			   const struct ioca_snapshot_reply_to *to, ioca_snapshot_ask_fn ask,
			   void *ask_ctx, int64_t now_mono_ms, bool *waiting, char *err,
			   size_t errlen)
{
	*waiting = false;
	sw->n.requested++;
	cJSON *refusal = ask_worker(sw, req, to, ask, ask_ctx, now_mono_ms, waiting, err, errlen);
	if (refusal)
		sw->n.failed++;
	return refusal;
}

/* ioca_snapshot_begin() without the counting. */
static cJSON *ask_worker(struct ioca_snapshot_waits *sw, const struct ioca_cmd_request *req,
			 const struct ioca_snapshot_reply_to *to, ioca_snapshot_ask_fn ask,
			 void *ask_ctx, int64_t now_mono_ms, bool *waiting, char *err,
			 size_t errlen)
{
	const cJSON *inst = cJSON_GetObjectItemCaseSensitive(req->args, "instance");
	if (!cJSON_IsString(inst))
		return failure(NULL, "malformed", err, errlen,
			       "args.instance: the camera instance name required");
	const char *name = inst->valuestring;
	char detail[160];
	if (strlen(name) > IOCA_SNAPSHOT_INSTANCE_MAX) {
		snprintf(detail, sizeof detail, "no such instance");
		return failure(NULL, "no_instance", err, errlen, detail);
	}
	struct ioca_snapshot_wait *slot = NULL;
	for (size_t i = 0; i < IOCA_SNAPSHOT_WAITS_MAX; i++) {
		struct ioca_snapshot_wait *w = &sw->w[i];
		if (w->used && strcmp(w->instance, name) == 0) {
			snprintf(detail, sizeof detail,
				 "a snapshot of '%s' is already being taken (request %s)", name,
				 w->req.request_id);
			return failure(name, "busy", err, errlen, detail);
		}
		if (!w->used && !slot)
			slot = w;
	}
	if (!slot)
		return failure(name, "busy", err, errlen,
			       "too many snapshots are being taken; try again in a few seconds");
	switch (ask(ask_ctx, name, to)) {
	case IOCA_SUP_SNAPSHOT_SENT:
		break;
	case IOCA_SUP_SNAPSHOT_NO_INSTANCE:
		snprintf(detail, sizeof detail, "no instance '%s'", name);
		return failure(name, "no_instance", err, errlen, detail);
	case IOCA_SUP_SNAPSHOT_NOT_RUNNING:
		snprintf(detail, sizeof detail, "instance '%s' is not running", name);
		return failure(name, "not_running", err, errlen, detail);
	case IOCA_SUP_SNAPSHOT_NOT_SUPPORTED:
		snprintf(detail, sizeof detail, "instance '%s' takes no pictures on request", name);
		return failure(name, "not_supported", err, errlen, detail);
	}
	memset(slot, 0, sizeof *slot);
	slot->used = true;
	snprintf(slot->instance, sizeof slot->instance, "%s", name);
	slot->req = *req;
	slot->req.args = NULL;
	slot->req.args_text = NULL;
	snprintf(slot->topic, sizeof slot->topic, "%s", to->topic);
	if (to->correlation && to->correlation_len <= sizeof slot->correlation) {
		memcpy(slot->correlation, to->correlation, to->correlation_len);
		slot->correlation_len = to->correlation_len;
	}
	slot->deadline_ms = now_mono_ms + IOCA_SNAPSHOT_REPLY_TIMEOUT_MS;
	*waiting = true;
	return NULL;
}

void ioca_snapshot_on_blob(struct ioca_snapshot_waits *sw, struct ioca_mqtt *m,
			   const char *instance, const struct ioca_frame_blob *blob)
{
	if (strcmp(blob->subtopic, IOCA_SNAPSHOT_SUBTOPIC) != 0)
		return;
	for (size_t i = 0; i < IOCA_SNAPSHOT_WAITS_MAX; i++) {
		struct ioca_snapshot_wait *w = &sw->w[i];
		if (!w->used || strcmp(w->instance, instance) != 0)
			continue;
		w->used = false;
		int rc = m ? ioca_mqtt_publish_reply_blob(m, w->topic, blob->data, blob->len,
							  blob->content_type, w->correlation,
							  w->correlation_len)
			   : IOCA_AGAIN;
		if (rc == IOCA_OK) {
			sw->n.answered++;
			sw->n.bytes += blob->len;
			ioca_info("command snapshot (request %s): %zu bytes of %s sent",
				  w->req.request_id, blob->len, instance);
		} else if (rc == IOCA_ERROR) {
			sw->n.too_large++;
			char detail[160];
			snprintf(detail, sizeof detail,
				 "the picture (%zu bytes) is larger than the maximum packet size",
				 blob->len);
			reply_error(m, w, "too_large", detail);
		} else {
			sw->n.failed++;
			ioca_warn("command snapshot (request %s): not connected, picture not sent",
				  w->req.request_id);
		}
		return;
	}
}

void ioca_snapshot_tick(struct ioca_snapshot_waits *sw, struct ioca_mqtt *m, int64_t now_mono_ms)
{
	for (size_t i = 0; i < IOCA_SNAPSHOT_WAITS_MAX; i++) {
		struct ioca_snapshot_wait *w = &sw->w[i];
		if (!w->used || now_mono_ms < w->deadline_ms)
			continue;
		w->used = false;
		sw->n.timed_out++;
		sw->n.failed++;
		ioca_warn("command snapshot (request %s): no picture from %s within %d ms",
			  w->req.request_id, w->instance, IOCA_SNAPSHOT_REPLY_TIMEOUT_MS);
		char detail[160];
		snprintf(detail, sizeof detail, "no picture from '%s' within %d s", w->instance,
			 IOCA_SNAPSHOT_REPLY_TIMEOUT_MS / 1000);
		reply_error(m, w, "timeout", detail);
	}
}

int64_t ioca_snapshot_timeout_ms(const struct ioca_snapshot_waits *sw, int64_t now_mono_ms)
{
	int64_t best = INT32_MAX;
	for (size_t i = 0; i < IOCA_SNAPSHOT_WAITS_MAX; i++)
		if (sw->w[i].used && sw->w[i].deadline_ms - now_mono_ms < best)
			best = sw->w[i].deadline_ms - now_mono_ms;
	return best < 0 ? 0 : best;
}

void ioca_snapshot_metrics(const struct ioca_snapshot_waits *sw, cJSON *commands)
{
	cJSON *o = cJSON_AddObjectToObject(commands, "snapshot");
	size_t waiting = 0;
	for (size_t i = 0; i < IOCA_SNAPSHOT_WAITS_MAX; i++)
		waiting += sw->w[i].used;
	const struct ioca_snapshot_counts *n = &sw->n;
	IOCA_JSON_COUNTS(o, {"requested", (double)n->requested}, {"answered", (double)n->answered},
			 {"too_large", (double)n->too_large}, {"failed", (double)n->failed},
			 {"timed_out", (double)n->timed_out}, {"bytes", (double)n->bytes},
			 {"waiting", (double)waiting});
}
