/*
 * Option tables of the core's own configuration sections (agent, mqtt,
 * mqtt.tls, spool, retention) and of the core keys of every instance, in the same
 * struct ioca_option form plugins use, so one validator (optcheck.c) checks
 * everything and every error reads the same.
 *
 * Invariant: these tables are the single source of the core keys, their
 * types, ranges and defaults; config.c only adds checks a table cannot
 * express (URL syntax, identifier patterns, cross-field rules).
 */
#ifndef IOCA_CONFIG_SCHEMA_H
#define IOCA_CONFIG_SCHEMA_H

#include "iocagent/plugin.h"

/* Defaults that readers of struct ioca_config may want to name. The state
 * directory (<localstatedir>/lib/iocagent) follows the install prefix and is
 * set by the build, like the plugin directory. */
#ifndef IOCA_DEFAULT_STATE_DIR
#error "IOCA_DEFAULT_STATE_DIR must be defined by the build"
#endif
#define IOCA_DEFAULT_METRICS_INTERVAL_S 60
#define IOCA_DEFAULT_MQTT_PORT          1883
#define IOCA_DEFAULT_MQTTS_PORT         8883
#define IOCA_DEFAULT_MAX_RATE           1000.0
#define IOCA_DEFAULT_HANG_TIMEOUT_S     30
#define IOCA_DEFAULT_PREFER_CHECK_S     60

/* Longest agent.id and instance name ([A-Za-z0-9_-]). */
#define IOCA_NAME_MAX_LEN 64
/* Instance name reserved for the agent's own events. */
#define IOCA_AGENT_INSTANCE_NAME "_agent"

extern const struct ioca_option ioca_schema_agent[];
extern const struct ioca_option ioca_schema_mqtt[];
extern const struct ioca_option ioca_schema_tls[];
extern const struct ioca_option ioca_schema_spool[];
extern const struct ioca_option ioca_schema_commands[];
extern const struct ioca_option ioca_schema_retention[];

/*
 * Core keys of an instance group. The defaults of `qos` and
 * `memory_limit_mb` come from mqtt.qos and agent.worker_memory_limit_mb;
 * config.c patches them into a copy of this table.
 */
extern const struct ioca_option ioca_schema_instance[];

/* Names of the top-level sections, NULL-terminated. */
extern const char *const ioca_schema_sections[];

#endif
