/*
 * Status and metrics documents (see report.h). Built with cJSON: these are
 * produced at most once a second, never per event.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tally.h"
#include "timeutil.h"

static void add_time(cJSON *o, const char *key, int64_t wall_ms)
{
	char ts[IOCA_RFC3339_LEN];
	cJSON_AddStringToObject(o, key, ioca_format_rfc3339(wall_ms, ts, sizeof ts));
}

static char *finish(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static cJSON *status_base(const struct ioca_config *cfg, const char *state)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddStringToObject(o, "agent", cfg->agent.id);
	if (cfg->agent.site)
		cJSON_AddStringToObject(o, "site", cfg->agent.site);
	cJSON_AddStringToObject(o, "version", IOCA_VERSION);
	return o;
}

char *ioca_report_status_online(const struct ioca_report_ctx *r)
{
	cJSON *o = status_base(r->cfg, "online");
	add_time(o, "since", r->started_wall_ms);
	cJSON *arr = cJSON_AddArrayToObject(o, "instances");
	size_t n = ioca_supervisor_count(r->sup);
	for (size_t i = 0; i < n; i++) {
		struct ioca_sup_instance_info info;
		ioca_supervisor_info(r->sup, i, &info);
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "name", info.name);
		cJSON_AddStringToObject(it, "plugin", info.plugin);
		cJSON_AddStringToObject(it, "state", info.state);
		cJSON_AddNumberToObject(it, "restarts", info.restarts);
		cJSON_AddItemToArray(arr, it);
	}
	struct ioca_queue_stats qs;
	ioca_queue_stats(r->queue, &qs);
	cJSON *spool = cJSON_AddObjectToObject(o, "spool");
	cJSON_AddBoolToObject(spool, "degraded", qs.degraded);
	if (qs.degraded)
		cJSON_AddStringToObject(spool, "reason", qs.degraded_reason);
	cJSON_AddNumberToObject(spool, "backlog", (double)qs.records);
	cJSON_AddStringToObject(o, "clock", r->clock_synced ? "synced" : "unsynced");
	return finish(o);
}

char *ioca_report_status_offline(const struct ioca_config *cfg, int64_t since_wall_ms)
{
	cJSON *o = status_base(cfg, "offline");
	if (since_wall_ms)
		add_time(o, "since", since_wall_ms);
	cJSON_AddArrayToObject(o, "instances");
	return finish(o);
}

void ioca_report_memory(uint64_t *rss_bytes, uint64_t *hwm_bytes)
{
	*rss_bytes = *hwm_bytes = 0;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return;
	char line[256];
	unsigned long long kb;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss_bytes = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*hwm_bytes = kb * 1024;
	}
	fclose(f);
}

static double cpu_seconds(int who)
{
	struct rusage ru;
	if (getrusage(who, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void add_archive(cJSON *o, struct ioca_archive *a, int64_t now)
{
	if (!a)
		return;
	struct ioca_archive_stats as;
	ioca_archive_stats(a, &as);
	cJSON *j = cJSON_AddObjectToObject(o, "archive");
	cJSON_AddNumberToObject(j, "messages", (double)as.rows);
	cJSON_AddNumberToObject(j, "disk_bytes", (double)as.disk_bytes);
	cJSON_AddNumberToObject(j, "written", (double)as.written);
	cJSON_AddNumberToObject(j, "dropped", (double)as.dropped);
	cJSON_AddNumberToObject(j, "pruned_age", (double)as.pruned_age);
	cJSON_AddNumberToObject(j, "pruned_size", (double)as.pruned_size);
	cJSON_AddNumberToObject(j, "corrupt", (double)as.corrupt);
	cJSON_AddNumberToObject(j, "pending", (double)as.pending);
	cJSON_AddNumberToObject(j, "oldest_age_s",
				as.oldest_ms ? (double)(now - as.oldest_ms) / 1000.0 : 0.0);
	cJSON_AddNumberToObject(j, "writer_cpu_s", as.writer_cpu_s);
}

char *ioca_report_metrics(const struct ioca_report_ctx *r)
{
	cJSON *o = cJSON_CreateObject();
	int64_t now = ioca_now_wall_ms();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "agent", r->cfg->agent.id);
	add_time(o, "time", now);
	cJSON_AddNumberToObject(o, "uptime_s",
				(double)(ioca_now_mono_ms() - r->started_mono_ms) / 1000.0);
	uint64_t rss, hwm;
	ioca_report_memory(&rss, &hwm);
	cJSON_AddNumberToObject(o, "rss_bytes", (double)rss);
	cJSON_AddNumberToObject(o, "rss_peak_bytes", (double)hwm);
	cJSON_AddNumberToObject(o, "cpu_s", cpu_seconds(RUSAGE_SELF));
	cJSON_AddNumberToObject(o, "workers_cpu_s", cpu_seconds(RUSAGE_CHILDREN));

	struct ioca_queue_stats qs;
	ioca_queue_stats(r->queue, &qs);
	cJSON *q = cJSON_AddObjectToObject(o, "queue");
	cJSON_AddNumberToObject(q, "depth", (double)qs.records);
	cJSON_AddNumberToObject(q, "bytes", (double)qs.bytes);
	cJSON_AddNumberToObject(q, "disk_bytes", (double)qs.disk_bytes);
	cJSON_AddNumberToObject(q, "in_flight", (double)qs.in_flight);
	cJSON_AddNumberToObject(q, "accepted", (double)r->accepted);
	cJSON_AddNumberToObject(q, "delivered", (double)qs.acked);
	cJSON_AddNumberToObject(q, "dropped", (double)(qs.dropped_records + r->refused));
	cJSON_AddNumberToObject(q, "dropped_bytes", (double)qs.dropped_bytes);
	cJSON_AddNumberToObject(q, "corrupt", (double)qs.corrupt_records);
	cJSON_AddNumberToObject(q, "oldest_age_s",
				qs.oldest_ms ? (double)(now - qs.oldest_ms) / 1000.0 : 0.0);
	cJSON_AddBoolToObject(q, "degraded", qs.degraded);
	if (qs.degraded)
		cJSON_AddStringToObject(q, "degraded_reason", qs.degraded_reason);

	struct ioca_mqtt_stats ms;
	ioca_mqtt_stats(r->mqtt, &ms);
	cJSON *m = cJSON_AddObjectToObject(o, "mqtt");
	cJSON_AddBoolToObject(m, "connected", ms.connected);
	if (ms.broker)
		cJSON_AddStringToObject(m, "broker", ms.broker);
	cJSON_AddNumberToObject(m, "connects", (double)ms.connects);
	cJSON_AddNumberToObject(m, "reconnects", (double)ms.reconnects);
	cJSON_AddNumberToObject(m, "failbacks", (double)ms.failbacks);
	cJSON_AddNumberToObject(m, "published", (double)ms.published);
	cJSON_AddNumberToObject(m, "delivered", (double)ms.delivered);
	cJSON_AddNumberToObject(m, "refused", (double)ms.refused);
	cJSON_AddNumberToObject(m, "max_packet_size", (double)ms.max_packet_size);
	cJSON_AddNumberToObject(m, "in_flight", (double)ms.in_flight);
	cJSON_AddNumberToObject(m, "latency_ms_avg", ms.latency_ms_avg);
	cJSON_AddNumberToObject(m, "latency_ms_max", ms.latency_ms_max);

	ioca_remote_metrics(r->remote, o);
	add_archive(o, r->archive, now);

	cJSON *insts = cJSON_AddObjectToObject(o, "instances");
	size_t n = ioca_supervisor_count(r->sup);
	for (size_t i = 0; i < n; i++) {
		struct ioca_sup_instance_info info;
		ioca_supervisor_info(r->sup, i, &info);
		cJSON *it = cJSON_AddObjectToObject(insts, info.name);
		if (!it)
			continue;
		cJSON_AddStringToObject(it, "plugin", info.plugin);
		cJSON_AddStringToObject(it, "state", info.state);
		cJSON_AddNumberToObject(it, "pid", info.pid);
		cJSON_AddNumberToObject(it, "restarts", info.restarts);
		cJSON_AddNumberToObject(it, "events_in", (double)info.messages_in);
		cJSON_AddNumberToObject(it, "events_out",
					(double)ioca_tally_delivered(r->queue, info.name));
		cJSON_AddNumberToObject(it, "throttled_ms", (double)info.throttled_ms);
		cJSON *st = cJSON_AddObjectToObject(it, "stats");
		for (size_t k = 0; k < info.n_stats; k++)
			cJSON_AddNumberToObject(st, info.stat_names[k], info.stat_values[k]);
	}
	return finish(o);
}

void ioca_report_status_line(const struct ioca_report_ctx *r, char *buf, size_t len)
{
	struct ioca_queue_stats qs;
	ioca_queue_stats(r->queue, &qs);
	snprintf(buf, len, "%zu/%zu instances running, broker %s, backlog %llu%s",
		 ioca_supervisor_running(r->sup), ioca_supervisor_count(r->sup),
		 ioca_mqtt_connected(r->mqtt) ? "connected" : "disconnected",
		 (unsigned long long)qs.records, qs.degraded ? ", spool degraded" : "");
}
