/*
 * iocagent --test: run one instance and print what it emits on stdout, one
 * JSON line per message, in the envelope a subscriber would receive (built by
 * envelope.c, with "test":true last). Binary blobs are described, not dumped.
 *
 * When it ends: with --seconds N after N seconds; without, a plugin that
 * declares IOCA_PLUGIN_F_TEST_SAMPLE ends its run after a representative
 * sample (the camera: first camera.online plus one analysed second), any
 * other after its first message. seq counts from 1 in memory: the sequence
 * file in state_dir is neither read nor written.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock_source.h"
#include "envelope.h"
#include "log.h"
#include "probe.h"
#include "probe_run.h"
#include "timeutil.h"

#define FIRST_MESSAGE_LIMIT_S 10.0 /* without --seconds: wait this long for a message */
#define SAMPLE_LIMIT_S        60.0 /* without --seconds: longest a sample may take */
#define TOPIC_MAX             512

struct test_sink {
	const struct ioca_probe_target *t;
	struct ioca_envelope_ctx env;
	struct ioca_buf buf;
	uint64_t seq;
	uint64_t printed;
	bool stop_at_first;
};

static void print_line(const char *s, size_t len)
{
	fwrite(s, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static void print_event(struct test_sink *k, const struct ioca_sup_message *m)
{
	const struct ioca_frame_event *ev = m->event;
	struct ioca_envelope_event e = {
	    .seq = ++k->seq,
	    .time_ms = ev->time_ms,
	    .source = m->instance,
	    .plugin = m->plugin,
	    .type = ev->type,
	    .severity = ev->severity,
	    .data = ev->data,
	    .data_len = ev->data_len,
	};
	if (ioca_envelope_build(&k->buf, &k->env, &e) != IOCA_OK) {
		ioca_error("out of memory building the %s event", ev->type);
		return;
	}
	print_line(k->buf.p, k->buf.len);
	k->printed++;
}

/* {"v":1,"seq":..,"time":..,"agent":..,"source":..,"plugin":..,"topic":..,
 *  "blob":{"subtopic":..,"content_type":..,"bytes":N},"test":true} */
static void print_blob(struct test_sink *k, const struct ioca_sup_message *m)
{
	const struct ioca_frame_blob *b = m->blob;
	const struct ioca_config *cfg = &k->t->cfg;
	char topic[TOPIC_MAX], ts[IOCA_RFC3339_LEN];
	if (!ioca_topic_for_blob(topic, sizeof topic, cfg->mqtt.topic_prefix, cfg->agent.id,
				 m->instance, b->subtopic))
		topic[0] = '\0';
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "seq", (double)++k->seq);
	cJSON_AddStringToObject(o, "time", ioca_format_rfc3339(b->time_ms, ts, sizeof ts));
	cJSON_AddStringToObject(o, "agent", cfg->agent.id);
	if (cfg->agent.site)
		cJSON_AddStringToObject(o, "site", cfg->agent.site);
	cJSON_AddStringToObject(o, "source", m->instance);
	cJSON_AddStringToObject(o, "plugin", m->plugin);
	cJSON_AddStringToObject(o, "topic", topic);
	cJSON *d = cJSON_AddObjectToObject(o, "blob");
	cJSON_AddStringToObject(d, "subtopic", b->subtopic);
	cJSON_AddStringToObject(d, "content_type", b->content_type);
	cJSON_AddNumberToObject(d, "bytes", (double)b->len);
	cJSON_AddBoolToObject(o, "test", 1);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		ioca_error("out of memory describing a blob");
		return;
	}
	print_line(text, strlen(text));
	free(text);
	k->printed++;
}

static bool test_sink(void *ctx, const struct ioca_sup_message *m)
{
	struct test_sink *k = ctx;
	if (m->event)
		print_event(k, m);
	else if (m->blob)
		print_blob(k, m);
	return k->stop_at_first && k->printed > 0;
}

static int verdict(const struct ioca_probe_target *t, const struct ioca_probe_outcome *o,
		   uint64_t printed, double limit_s)
{
	bool failed = o->end == IOCA_PROBE_END_WORKER && o->exit_code != 0;
	if (failed) {
		ioca_probe_print_failure(t, o);
		return IOCA_PROBE_EXIT_FAILED;
	}
	if (printed == 0) {
		if (o->end == IOCA_PROBE_END_WORKER)
			fprintf(stderr, "iocagent: instance %s ended without emitting anything\n",
				t->inst->name);
		else
			fprintf(stderr, "iocagent: instance %s emitted nothing within %.3g s\n",
				t->inst->name, limit_s);
		return IOCA_PROBE_EXIT_NOTHING;
	}
	return IOCA_PROBE_EXIT_OK;
}

int ioca_probe_test(const struct ioca_probe_opts *o)
{
	struct ioca_probe_target t;
	int rc = ioca_probe_target_load(&t, o->config_path, o->instance);
	if (rc != IOCA_PROBE_EXIT_OK)
		return rc;
	ioca_log_set_level(t.cfg.agent.log_level);

	bool sample = o->seconds <= 0 && (t.features & IOCA_PLUGIN_F_TEST_SAMPLE);
	double limit_s = o->seconds > 0 ? o->seconds
			 : sample       ? SAMPLE_LIMIT_S
					: FIRST_MESSAGE_LIMIT_S;
	struct ioca_run_request req = {.mode = IOCA_RUN_TEST,
				       .flags = sample ? IOCA_RUN_F_SAMPLE : 0u};
	/* the envelope says what a subscriber would see: the kernel's clock state now */
	struct ioca_clock_source clock_storage;
	struct ioca_clock_sample clock;
	const struct ioca_clock_source *clock_src = ioca_clock_source_default(&clock_storage);
	clock_src->sample(clock_src, &clock);
	struct test_sink k = {
	    .t = &t,
	    .env = {.agent_id = t.cfg.agent.id,
		    .site = t.cfg.agent.site,
		    .test = true,
		    .clock_unsynced = !clock.synced},
	    .stop_at_first = o->seconds <= 0 && !sample,
	};
	struct ioca_probe_outcome out;
	if (ioca_probe_run(&t, &req, (int64_t)(limit_s * 1000.0), test_sink, &k, &out) != IOCA_OK)
		rc = IOCA_PROBE_EXIT_FAILED;
	else
		rc = verdict(&t, &out, k.printed, limit_s);
	ioca_buf_free(&k.buf);
	ioca_probe_target_free(&t);
	return rc;
}
