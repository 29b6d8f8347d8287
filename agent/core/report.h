/*
 * The agent's reports about itself: the retained status document (and its
 * offline form, which is also the MQTT will) and the periodic metrics.
 */
#ifndef IOCA_REPORT_H
#define IOCA_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "config.h"
#include "mqtt_session.h"
#include "queue.h"
#include "remote.h"
#include "supervisor.h"

struct ioca_report_ctx {
	const struct ioca_config *cfg;
	struct ioca_supervisor *sup;
	struct ioca_queue *queue;
	struct ioca_mqtt *mqtt;
	int64_t started_wall_ms;
	int64_t started_mono_ms;
	uint64_t accepted;                /* records accepted by the intake */
	uint64_t refused;                 /* records the queue could keep nowhere */
	const struct ioca_remote *remote; /* NULL: no remote commands */
	struct ioca_archive *archive;     /* NULL: retention disabled */
	bool clock_synced;                /* the kernel's NTP state at the last sample */
};

/* {"v":1,"state":"online",...} malloc'd. */
char *ioca_report_status_online(const struct ioca_report_ctx *r);
/* {"v":1,"state":"offline",...} malloc'd. since_wall_ms: when it went offline (0: unknown, the
 * will). */
char *ioca_report_status_offline(const struct ioca_config *cfg, int64_t since_wall_ms);
/* The metrics document, malloc'd. */
char *ioca_report_metrics(const struct ioca_report_ctx *r);
/* One line for systemd's STATUS=. */
void ioca_report_status_line(const struct ioca_report_ctx *r, char *buf, size_t len);

/* Resident set size and its high-water mark of this process, in bytes. */
void ioca_report_memory(uint64_t *rss_bytes, uint64_t *hwm_bytes);

#endif
