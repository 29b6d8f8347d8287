/*
 * The core's configuration keys as option tables: name, type, default,
 * range and one line of help each. conf/iocagent.conf documents the same
 * keys with the same defaults; keep the two in step.
 */
#include "config_schema.h"

#ifndef IOCA_DEFAULT_PLUGIN_DIR
#error "IOCA_DEFAULT_PLUGIN_DIR must be defined by the build"
#endif

#define KIB (1024LL)
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)
#define TIB (1024LL * GIB)

#define SECONDS_PER_DAY 86400
#define UINT32_LIMIT 4294967295.0  /* MQTT 5 expiry intervals are 32-bit */
#define MQTT_PACKET_MAX_BYTES 268435460.0 /* remaining length 268435455 + 5 header bytes */
#define MEMORY_LIMIT_MAX_MB 1048576 /* 1 TiB */
#define METRICS_INTERVAL_MAX_S SECONDS_PER_DAY
#define KEEPALIVE_MIN_S 5           /* libmosquitto refuses less */
#define KEEPALIVE_MAX_S 65535
#define RECONNECT_MAX_S 3600
#define FSYNC_INTERVAL_MAX_MS 60000
#define INFLIGHT_MAX 65535          /* MQTT packet identifiers */
#define MAX_RATE_LIMIT 1e9
#define HANG_TIMEOUT_MIN_S 3
#define HANG_TIMEOUT_MAX_S 3600
#define BROKERS_MAX 16
#define COMMANDS_MAX 16
#define REQUEST_BYTES_MAX (64 * 1024)

#define RETENTION_DAYS_DEFAULT 60 /* Circular 10/2021/TT-BTNMT art. 39: at least 60 days */
#define RETENTION_DAYS_MAX 3650

const char *const ioca_schema_sections[] = {"agent", "mqtt", "spool", "commands", "retention",
					    "instances", NULL};

const struct ioca_option ioca_schema_agent[] = {
	{.key = "id", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_REQUIRED,
	 .help = "agent identifier, [A-Za-z0-9_-]{1,64}: MQTT client id and topic segment"},
	{.key = "site", .type = IOCA_OPT_STRING,
	 .help = "site name copied into every payload (optional)"},
	{.key = "plugin_dir", .type = IOCA_OPT_STRING, .def_string = IOCA_DEFAULT_PLUGIN_DIR,
	 .help = "folder holding the plugin shared objects (<name>.so)"},
	{.key = "state_dir", .type = IOCA_OPT_STRING, .def_string = IOCA_DEFAULT_STATE_DIR,
	 .help = "folder of the spool and the sequence counter"},
	{.key = "log_level", .type = IOCA_OPT_ENUM, .def_string = "info",
	 .choices = "error|warning|info|debug", .help = "least severe log level written"},
	{.key = "metrics_interval", .type = IOCA_OPT_INT,
	 .def_int = IOCA_DEFAULT_METRICS_INTERVAL_S, .min = 1, .max = METRICS_INTERVAL_MAX_S,
	 .help = "seconds between agent self-metrics messages"},
	{.key = "worker_memory_limit_mb", .type = IOCA_OPT_INT, .def_int = 0, .min = 0,
	 .max = MEMORY_LIMIT_MAX_MB,
	 .help = "default address-space limit of each worker in MiB, 0 = none"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_tls[] = {
	{.key = "ca_file", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_FILE,
	 .help = "CA certificate(s) to verify the broker with (default: system CAs)"},
	{.key = "cert_file", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_FILE,
	 .help = "client certificate for mutual TLS (needs key_file)"},
	{.key = "key_file", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_FILE,
	 .help = "private key of the client certificate"},
	{.key = "insecure", .type = IOCA_OPT_BOOL, .def_bool = false,
	 .help = "skip verification of the broker's certificate (testing only)"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_mqtt[] = {
	{.key = "brokers", .type = IOCA_OPT_STRING_ARRAY, .flags = IOCA_OPTF_REQUIRED,
	 .min_count = 1, .max_count = BROKERS_MAX,
	 .help = "mqtt://host[:port] or mqtts://host[:port] (all the same scheme), tried in order"},
	{.key = "protocol", .type = IOCA_OPT_ENUM, .def_string = "v5", .choices = "v5|v311",
	 .help = "MQTT protocol version"},
	{.key = "username", .type = IOCA_OPT_STRING, .help = "user name (optional)"},
	{.key = "password_file", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_FILE,
	 .help = "file holding the password (one line; needs username)"},
	{.key = "tls", .type = IOCA_OPT_GROUP, .children = ioca_schema_tls,
	 .help = "TLS settings for mqtts:// brokers"},
	{.key = "keepalive", .type = IOCA_OPT_INT, .def_int = 30, .min = KEEPALIVE_MIN_S,
	 .max = KEEPALIVE_MAX_S, .help = "MQTT keepalive in seconds"},
	{.key = "qos", .type = IOCA_OPT_INT, .def_int = 1, .min = 0, .max = 2,
	 .help = "default QoS of events and telemetry"},
	{.key = "topic_prefix", .type = IOCA_OPT_STRING, .def_string = "ioc",
	 .help = "first topic level(s) of everything published (not starting with $)"},
	{.key = "session_expiry", .type = IOCA_OPT_INT, .def_int = SECONDS_PER_DAY, .min = 0,
	 .max = UINT32_LIMIT, .help = "seconds the broker keeps the session (MQTT 5)"},
	{.key = "message_expiry", .type = IOCA_OPT_INT, .def_int = 0, .min = 0,
	 .max = UINT32_LIMIT, .help = "message expiry interval in seconds, 0 = none (MQTT 5)"},
	{.key = "max_packet_size", .type = IOCA_OPT_INT, .def_int = 0, .min = 0,
	 .max = MQTT_PACKET_MAX_BYTES,
	 .help = "largest packet the broker takes in bytes, 0 = no limit known (MQTT 5 learns the "
		 "broker's own)"},
	{.key = "reconnect_min", .type = IOCA_OPT_INT, .def_int = 1, .min = 1,
	 .max = RECONNECT_MAX_S, .help = "first reconnect delay in seconds"},
	{.key = "reconnect_max", .type = IOCA_OPT_INT, .def_int = 60, .min = 1,
	 .max = RECONNECT_MAX_S, .help = "longest reconnect delay in seconds"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_spool[] = {
	{.key = "max_bytes", .type = IOCA_OPT_INT, .def_int = GIB, .min = (double)MIB,
	 .max = (double)TIB, .help = "spool size cap; the oldest undelivered data is dropped beyond"},
	{.key = "max_age", .type = IOCA_OPT_INT, .def_int = 0, .min = 0,
	 .max = 3650.0 * SECONDS_PER_DAY,
	 .help = "seconds after which undelivered data is dropped, 0 = no age bound"},
	{.key = "fsync", .type = IOCA_OPT_ENUM, .def_string = "interval",
	 .choices = "always|interval|never", .help = "when spool writes are flushed to disk"},
	{.key = "fsync_interval_ms", .type = IOCA_OPT_INT, .def_int = 200, .min = 1,
	 .max = FSYNC_INTERVAL_MAX_MS, .help = "flush period with fsync = \"interval\""},
	{.key = "inflight", .type = IOCA_OPT_INT, .def_int = 64, .min = 1, .max = INFLIGHT_MAX,
	 .help = "unacknowledged publishes in flight"},
	{.key = "memory_buffer_bytes", .type = IOCA_OPT_INT, .def_int = 8 * MIB, .min = 0,
	 .max = (double)GIB, .help = "bytes held in memory while the disk refuses writes"},
	{.key = "segment_bytes", .type = IOCA_OPT_INT, .def_int = 16 * MIB, .min = (double)(64 * KIB),
	 .max = (double)GIB, .help = "size at which a spool segment file is closed"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_retention[] = {
	{.key = "enabled", .type = IOCA_OPT_BOOL, .def_bool = true,
	 .help = "keep events and telemetry in the local archive (state_dir/archive.db)"},
	{.key = "days", .type = IOCA_OPT_INT, .def_int = RETENTION_DAYS_DEFAULT, .min = 1,
	 .max = RETENTION_DAYS_MAX, .help = "days archived messages are kept (by their time)"},
	{.key = "max_bytes", .type = IOCA_OPT_INT, .def_int = GIB, .min = (double)(16 * MIB),
	 .max = (double)TIB, .help = "archive disk use bound; the oldest messages are pruned beyond"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_commands[] = {
	{.key = "enabled", .type = IOCA_OPT_STRING_ARRAY, .min_count = 0,
	 .max_count = COMMANDS_MAX,
	 .help = "commands answered on <prefix>/<agent>/cmd/<name>: status, ping, reload, restart"},
	{.key = "key_file", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_FILE,
	 .help = "file holding the HMAC-SHA256 key requests are signed with (16..128 bytes)"},
	{.key = "max_request_bytes", .type = IOCA_OPT_INT, .def_int = 4096, .min = 256,
	 .max = REQUEST_BYTES_MAX, .help = "largest request payload accepted"},
	{.key = "max_skew", .type = IOCA_OPT_INT, .def_int = 60, .min = 1, .max = 3600,
	 .help = "seconds a request's time may differ from the agent's clock"},
	{.key = NULL},
};

const struct ioca_option ioca_schema_instance[] = {
	{.key = "name", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_REQUIRED,
	 .help = "instance name, [A-Za-z0-9_-]{1,64}, unique; topic segment"},
	{.key = "plugin", .type = IOCA_OPT_STRING, .flags = IOCA_OPTF_REQUIRED,
	 .help = "plugin that runs the instance"},
	{.key = "qos", .type = IOCA_OPT_INT, .def_int = 1, .min = 0, .max = 2,
	 .help = "QoS of what the instance emits (default mqtt.qos)"},
	{.key = "max_rate", .type = IOCA_OPT_FLOAT, .def_float = IOCA_DEFAULT_MAX_RATE, .min = 0,
	 .max = MAX_RATE_LIMIT, .help = "emits per second before back-pressure, 0 = unlimited"},
	{.key = "memory_limit_mb", .type = IOCA_OPT_INT, .def_int = 0, .min = 0,
	 .max = MEMORY_LIMIT_MAX_MB,
	 .help = "worker address-space limit in MiB (default agent.worker_memory_limit_mb), 0 = none"},
	{.key = "hang_timeout", .type = IOCA_OPT_INT, .def_int = IOCA_DEFAULT_HANG_TIMEOUT_S,
	 .min = HANG_TIMEOUT_MIN_S, .max = HANG_TIMEOUT_MAX_S,
	 .help = "seconds without a sign of life before the worker counts as hung"},
	{.key = "snapshot_retain", .type = IOCA_OPT_BOOL, .def_bool = false,
	 .help = "publish snapshots retained"},
	{.key = NULL},
};
