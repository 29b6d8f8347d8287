/*
 * The agent's configuration: loaded from a libconfig file, validated
 * completely (every problem reported as FILE:LINE: message, not just the
 * first), then turned into plain structs the rest of the core reads.
 * Nothing else in the core touches libconfig except opts.c / optcheck.c.
 */
#ifndef IOCA_CONFIG_H
#define IOCA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "retcode.h"
#include "spool.h"

/* <sysconfdir>/iocagent/iocagent.conf of the install prefix, set by the build. */
#ifndef IOCA_DEFAULT_CONFIG_PATH
#error "IOCA_DEFAULT_CONFIG_PATH must be defined by the build"
#endif

struct ioca_agent_config {
	char *id;   /* [A-Za-z0-9_-]{1,64} */
	char *site; /* may be NULL */
	char *plugin_dir;
	char *state_dir;
	int log_level;                  /* enum ioca_log_level */
	int metrics_interval_s;         /* default 60 */
	int64_t worker_memory_limit_mb; /* default per-instance RLIMIT_AS, 0 = none */
};

struct ioca_tls_config {
	char *ca_file;   /* NULL: system CAs */
	char *cert_file; /* client certificate (mutual TLS), may be NULL */
	char *key_file;
	bool insecure; /* skip server certificate verification */
};

struct ioca_broker {
	char *host;
	int port;
	bool tls;  /* mqtts:// */
	char *url; /* as written, for logs */
};

struct ioca_mqtt_config {
	struct ioca_broker *brokers;
	size_t n_brokers;
	int protocol;        /* 5 or 4 (v3.1.1) */
	char *username;      /* may be NULL */
	char *password;      /* read from password_file; may be NULL; never logged */
	char *password_file; /* its path (for the permission check), or NULL */
	bool has_tls;
	struct ioca_tls_config tls;
	int keepalive_s;
	int qos;
	char *topic_prefix;
	int64_t session_expiry_s;
	int64_t message_expiry_s; /* 0: none (v5 only) */
	int64_t max_packet_size;  /* largest PUBLISH the broker takes, 0: none known */
	int reconnect_min_s;
	int reconnect_max_s;
	bool prefer_first;  /* go back to brokers[0] once it answers again */
	int prefer_check_s; /* seconds between checks of brokers[0] while elsewhere */
};

/* The local archive (retention section). */
struct ioca_retention_config {
	bool enabled;
	int days;          /* messages older than this are pruned */
	int64_t max_bytes; /* disk use bound of the archive */
};

/* Remote commands (docs/commands.md): off unless some are enabled. */
#define IOCA_COMMAND_KEY_MAX_BYTES 128
struct ioca_commands_config {
	char **enabled; /* command names */
	size_t n_enabled;
	uint8_t key[IOCA_COMMAND_KEY_MAX_BYTES]; /* from key_file; never logged */
	size_t key_len;
	int64_t max_request_bytes;
	int64_t max_skew_s;
	int64_t replay_rate; /* messages/s of a replay that asks for no rate */
};

struct ioca_instance_config {
	char *name;
	char *plugin;
	int qos;                 /* 0..2; mqtt.qos filled in when not set */
	double max_rate;         /* emits per second, 0 = unlimited */
	int64_t memory_limit_mb; /* agent.worker_memory_limit_mb filled in when not set; 0 = none */
	int hang_timeout_s;
	bool snapshot_retain;
	char *options_text;   /* libconfig text of the instance group, defaults filled */
	uint64_t fingerprint; /* hash of everything above: changed => restart */
	int line;             /* where it is defined */
};

struct ioca_config {
	char *path;
	struct ioca_agent_config agent;
	struct ioca_mqtt_config mqtt;
	struct ioca_spool_config spool;
	struct ioca_commands_config commands;
	struct ioca_retention_config retention;
	struct ioca_instance_config *instances;
	size_t n_instances;
};

/*
 * Load and validate `path`. Plugins named by instances are looked up in
 * agent.plugin_dir (or `plugin_dir_override` when not NULL) and their option
 * tables applied. Every problem is added to `diag`.
 * Returns IOCA_OK with *out filled, or IOCA_ERROR (out untouched, diag not empty).
 */
int ioca_config_load(const char *path, const char *plugin_dir_override, struct ioca_config *out,
		     struct ioca_diag *diag);

/* Same, from text in memory (`name` is used in diagnostics). For tests and fuzzing. */
int ioca_config_load_string(const char *name, const char *text, const char *plugin_dir_override,
			    struct ioca_config *out, struct ioca_diag *diag);

void ioca_config_free(struct ioca_config *cfg);

/* The instance named `name`, or NULL. */
const struct ioca_instance_config *ioca_config_find_instance(const struct ioca_config *cfg,
							     const char *name);

#endif
