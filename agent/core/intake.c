/*
 * Intake (see intake.h). The seq in the envelope is the queue's next seq, so
 * the number a subscriber sees is the one the spool persisted.
 */
#include "intake.h"

#include <stdlib.h>
#include <string.h>

#include "archive_feed.h"
#include "log.h"
#include "timeutil.h"

#define TOPIC_MAX 512

static struct ioca_ratelimit refuse_limit;

void ioca_intake_init(struct ioca_intake *in, struct ioca_queue *q, const struct ioca_config *cfg)
{
	memset(in, 0, sizeof *in);
	in->queue = q;
	ioca_intake_set_config(in, cfg);
}

void ioca_intake_set_config(struct ioca_intake *in, const struct ioca_config *cfg)
{
	in->cfg = cfg;
	in->env.agent_id = cfg->agent.id;
	in->env.site = cfg->agent.site;
}

void ioca_intake_free(struct ioca_intake *in)
{
	ioca_buf_free(&in->buf);
}

static bool push(struct ioca_intake *in, struct ioca_record *rec)
{
	if (ioca_queue_push(in->queue, rec) == IOCA_OK) {
		in->accepted++;
		return true;
	}
	in->refused++;
	ioca_log_limited(&refuse_limit, IOCA_LL_ERROR,
			 "queue refused a record for %s (%llu refused so far)", rec->topic,
			 (unsigned long long)in->refused);
	return false;
}

static void push_event(struct ioca_intake *in, const char *instance, const char *plugin, int qos,
		       const struct ioca_frame_event *ev)
{
	char topic[TOPIC_MAX];
	const struct ioca_config *cfg = in->cfg;
	if (!ioca_topic_for_type(topic, sizeof topic, cfg->mqtt.topic_prefix, cfg->agent.id,
				 instance, ev->type)) {
		ioca_error("topic too long for %s event %s", instance, ev->type);
		return;
	}
	struct ioca_envelope_event e = {
	    .seq = ioca_queue_next_seq(in->queue),
	    .time_ms = ev->time_ms,
	    .source = instance,
	    .plugin = plugin,
	    .type = ev->type,
	    .severity = ev->severity,
	    .data = ev->data,
	    .data_len = ev->data_len,
	};
	if (ioca_envelope_build(&in->buf, &in->env, &e) != IOCA_OK) {
		ioca_error("out of memory building the %s event of %s", ev->type, instance);
		return;
	}
	struct ioca_record rec = {
	    .seq = e.seq,
	    .kind = IOCA_RECORD_JSON,
	    .qos = (uint8_t)(qos >= 0 ? qos : cfg->mqtt.qos),
	    .retain = false,
	    .accepted_ms = ioca_now_wall_ms(),
	    .instance = instance,
	    .topic = topic,
	    .content_type = NULL,
	    .payload = in->buf.p,
	    .payload_len = in->buf.len,
	};
	if (push(in, &rec))
		ioca_archive_feed(in->archive, &in->env, &e);
}

void ioca_intake_worker_message(struct ioca_intake *in, const struct ioca_sup_message *m)
{
	if (m->event) {
		push_event(in, m->instance, m->plugin, m->qos, m->event);
		return;
	}
	if (!m->blob)
		return;
	char topic[TOPIC_MAX];
	const struct ioca_config *cfg = in->cfg;
	if (!ioca_topic_for_blob(topic, sizeof topic, cfg->mqtt.topic_prefix, cfg->agent.id,
				 m->instance, m->blob->subtopic))
		return;
	struct ioca_record rec = {
	    .seq = ioca_queue_next_seq(in->queue),
	    .kind = IOCA_RECORD_BLOB,
	    .qos = (uint8_t)(m->qos >= 0 ? m->qos : cfg->mqtt.qos),
	    .retain = m->snapshot_retain,
	    .accepted_ms = ioca_now_wall_ms(),
	    .instance = m->instance,
	    .topic = topic,
	    .content_type = m->blob->content_type,
	    .payload = m->blob->data,
	    .payload_len = m->blob->len,
	};
	push(in, &rec);
}

void ioca_intake_agent_event(struct ioca_intake *in, const char *type, enum ioca_severity sev,
			     cJSON *data)
{
	char *text = data ? cJSON_PrintUnformatted(data) : NULL;
	cJSON_Delete(data);
	struct ioca_frame_event ev = {
	    .time_ms = ioca_now_wall_ms(),
	    .severity = sev,
	    .data = text,
	    .data_len = text ? strlen(text) : 0,
	};
	snprintf(ev.type, sizeof ev.type, "%s", type);
	push_event(in, IOCA_AGENT_SOURCE, IOCA_AGENT_PLUGIN, -1, &ev);
	free(text);
}
