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

#include "json_counts.h"
#include "tally.h"
#include "timeutil.h"

static void add_time(cJSON *o, const char *key, int64_t wall_ms)
{
	char ts[IOCA_RFC3339_LEN];
	cJSON_AddStringToObject(o, key, ioca_format_rfc3339(wall_ms, ts, sizeof ts));
}

/* The queue's degraded flag, and while degraded its reason under reason_key
 * (the status and metrics documents name it differently). */
static void add_degraded(cJSON *o, const struct ioca_queue_stats *qs, const char *reason_key)
{
	cJSON_AddBoolToObject(o, "degraded", qs->degraded);
	if (qs->degraded)
		cJSON_AddStringToObject(o, reason_key, qs->degraded_reason);
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
	add_degraded(spool, &qs, "reason");
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

/* Seconds since oldest_ms, 0 when there is nothing (oldest_ms 0). */
static double age_s(int64_t now, int64_t oldest_ms)
{
	return oldest_ms ? (double)(now - oldest_ms) / 1000.0 : 0.0;
}

static void add_archive(cJSON *o, struct ioca_archive *a, int64_t now)
{
	if (!a)
		return;
	struct ioca_archive_stats as;
	ioca_archive_stats(a, &as);
	IOCA_JSON_COUNTS(cJSON_AddObjectToObject(o, "archive"), {"messages", as.rows},
			 {"disk_bytes", as.disk_bytes}, {"written", as.written},
			 {"dropped", as.dropped}, {"pruned_age", as.pruned_age},
			 {"pruned_size", as.pruned_size}, {"corrupt", as.corrupt},
			 {"pending", as.pending}, {"oldest_age_s", age_s(now, as.oldest_ms)},
			 {"writer_cpu_s", as.writer_cpu_s});
}

char *ioca_report_metrics(const struct ioca_report_ctx *r)
{
	cJSON *o = cJSON_CreateObject();
	int64_t now = ioca_now_wall_ms();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "agent", r->cfg->agent.id);
	add_time(o, "time", now);
	double uptime_s = (double)(ioca_now_mono_ms() - r->started_mono_ms) / 1000.0;
	uint64_t rss, hwm;
	ioca_report_memory(&rss, &hwm);
	IOCA_JSON_COUNTS(o, {"uptime_s", uptime_s}, {"rss_bytes", rss}, {"rss_peak_bytes", hwm},
			 {"cpu_s", cpu_seconds(RUSAGE_SELF)},
			 {"workers_cpu_s", cpu_seconds(RUSAGE_CHILDREN)});

	struct ioca_queue_stats qs;
	ioca_queue_stats(r->queue, &qs);
	cJSON *q = cJSON_AddObjectToObject(o, "queue");
	IOCA_JSON_COUNTS(
	    q, {"depth", qs.records}, {"bytes", qs.bytes}, {"disk_bytes", qs.disk_bytes},
	    {"in_flight", qs.in_flight}, {"accepted", r->accepted}, {"delivered", qs.acked},
	    {"dropped", qs.dropped_records + r->refused}, {"dropped_bytes", qs.dropped_bytes},
	    {"corrupt", qs.corrupt_records}, {"oldest_age_s", age_s(now, qs.oldest_ms)});
	add_degraded(q, &qs, "degraded_reason");

	struct ioca_mqtt_stats ms;
	ioca_mqtt_stats(r->mqtt, &ms);
	cJSON *m = cJSON_AddObjectToObject(o, "mqtt");
	cJSON_AddBoolToObject(m, "connected", ms.connected);
	if (ms.broker)
		cJSON_AddStringToObject(m, "broker", ms.broker);
	IOCA_JSON_COUNTS(m, {"connects", ms.connects}, {"reconnects", ms.reconnects},
			 {"failbacks", ms.failbacks}, {"published", ms.published},
			 {"delivered", ms.delivered}, {"refused", ms.refused},
			 {"max_packet_size", ms.max_packet_size}, {"in_flight", ms.in_flight},
			 {"latency_ms_avg", ms.latency_ms_avg},
			 {"latency_ms_max", ms.latency_ms_max});

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
