/*
 * Configuration loader: parses the file (config_source.c), checks every
 * section against its option table (config_schema.c, through optcheck.c,
 * the same validator plugins' options go through), adds the checks a table
 * cannot express, checks each instance against its plugin's table and
 * check() callback, and only then fills struct ioca_config.
 *
 * Invariant: validation never stops at the first problem; the result is
 * either a complete, valid struct ioca_config or IOCA_ERROR with every
 * problem in the diagnostics list as FILE:LINE: message. Secrets (the MQTT
 * password) are read but never copied into a message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "config_schema.h"
#include "config_source.h"
#include "iocagent/plugin.h"
#include "log.h"
#include "optcheck.h"
#include "opts.h"
#include "plugin_loader.h"
#include "url_mask.h"
#include "regular_file.h"

#define PASSWORD_MAX_BYTES    65535 /* MQTT binary data limit */
#define TOPIC_PREFIX_MAX_LEN  128
#define COMMAND_KEY_MIN_BYTES 16 /* HMAC-SHA256 keys shorter than this are guessable */
#define MESSAGE_MAX_LEN       1024
#define PLUGIN_ERROR_MAX_LEN  1024
#define WHAT_MAX_LEN          128
#define REASON_MAX_LEN        256
#define REGULAR_WHY_LEN       128
#define URL_SHOWN_MAX         512 /* a broker URL as printed, credentials masked */
#define PORT_MAX              65535
#define FNV64_OFFSET          0xcbf29ce484222325ULL
#define FNV64_PRIME           0x100000001b3ULL

/* A plugin opened for validation, once per plugin name. */
struct plugin_slot {
	char *name;
	struct ioca_loaded_plugin loaded;
	int ok;
	char error[PLUGIN_ERROR_MAX_LEN];
};

struct loader {
	const char *file; /* the top file, for settings without a file of their own */
	struct ioca_diag *diag;
	struct ioca_config *cfg;
	const char *plugin_dir;
	struct plugin_slot *plugins;
	size_t n_plugins;
	const char **instance_files; /* where each instance's name was written */
	int *instance_name_lines;
	int oom;
};

static const struct ioca_option no_options[] = {{.key = NULL}};

/* ---- small utilities -------------------------------------------------- */

static void report(struct loader *ld, const config_setting_t *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct loader *ld, const config_setting_t *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ioca_diag_vadd(ld->diag, ioca_setting_file(where, ld->file), ioca_setting_line(where), fmt,
		       ap);
	va_end(ap);
}

static char *dup_str(struct loader *ld, const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		ld->oom = 1;
	return d;
}

static config_setting_t *member(const config_setting_t *group, const char *key)
{
	if (!group || config_setting_type(group) != CONFIG_TYPE_GROUP)
		return NULL;
	return config_setting_get_member(group, key);
}

/* Typed reads that tolerate a wrong type (already reported by optcheck). */
static const char *get_string(const config_setting_t *group, const char *key)
{
	const config_setting_t *s = member(group, key);
	return s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
								 : NULL;
}

static int64_t get_int(const config_setting_t *group, const char *key, int64_t fallback)
{
	const config_setting_t *s = member(group, key);
	if (!s)
		return fallback;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		return config_setting_get_int(s);
	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return config_setting_get_int64(s);
	return fallback;
}

static double get_float(const config_setting_t *group, const char *key, double fallback)
{
	const config_setting_t *s = member(group, key);
	if (!s)
		return fallback;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		return config_setting_get_int(s);
	case CONFIG_TYPE_INT64:
		return (double)config_setting_get_int64(s);
	case CONFIG_TYPE_FLOAT:
		return config_setting_get_float(s);
	default:
		return fallback;
	}
}

static bool get_bool(const config_setting_t *group, const char *key, bool fallback)
{
	const config_setting_t *s = member(group, key);
	if (!s || config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fallback;
	return config_setting_get_bool(s) != 0;
}

/* [A-Za-z0-9_-]{1,64} */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IOCA_NAME_MAX_LEN)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Returns the number of problems added to ld->diag since `before`. */
static size_t problems_since(const struct loader *ld, size_t before)
{
	return ld->diag->count - before;
}

/* ---- agent ------------------------------------------------------------ */

static void load_agent(struct loader *ld, const config_setting_t *agent)
{
	struct ioca_agent_config *a = &ld->cfg->agent;
	const char *id = get_string(agent, "id");
	if (id && !valid_name(id))
		report(ld, member(agent, "id"),
		       "agent: id '%s' must be 1 to %d characters of A-Z a-z 0-9 _ -", id,
		       IOCA_NAME_MAX_LEN);
	a->id = dup_str(ld, id);
	a->site = dup_str(ld, get_string(agent, "site"));

	const char *state_dir = get_string(agent, "state_dir");
	if (state_dir && !*state_dir)
		report(ld, member(agent, "state_dir"), "agent: state_dir must not be empty");
	a->state_dir = dup_str(ld, state_dir ? state_dir : IOCA_DEFAULT_STATE_DIR);

	const char *plugin_dir = get_string(agent, "plugin_dir");
	if (plugin_dir && !*plugin_dir)
		report(ld, member(agent, "plugin_dir"), "agent: plugin_dir must not be empty");
	a->plugin_dir = dup_str(ld, plugin_dir ? plugin_dir : IOCA_DEFAULT_PLUGIN_DIR);

	const char *level = get_string(agent, "log_level");
	a->log_level = level ? ioca_log_level_parse(level) : IOCA_LL_INFO;
	if (a->log_level < 0)
		a->log_level = IOCA_LL_INFO; /* the enum check reported it */
	a->metrics_interval_s =
	    (int)get_int(agent, "metrics_interval", IOCA_DEFAULT_METRICS_INTERVAL_S);
	a->worker_memory_limit_mb = get_int(agent, "worker_memory_limit_mb", 0);
}

/* ---- mqtt ------------------------------------------------------------- */

/* Parse mqtt://host[:port] / mqtts://host[:port]; host may be [IPv6]. */
static int parse_broker(const char *url, struct ioca_broker *b, char *why, size_t whylen)
{
	static const char plain[] = "mqtt://", secure[] = "mqtts://";
	const char *rest;
	if (strncmp(url, plain, sizeof plain - 1) == 0) {
		b->tls = false;
		b->port = IOCA_DEFAULT_MQTT_PORT;
		rest = url + sizeof plain - 1;
	} else if (strncmp(url, secure, sizeof secure - 1) == 0) {
		b->tls = true;
		b->port = IOCA_DEFAULT_MQTTS_PORT;
		rest = url + sizeof secure - 1;
	} else {
		snprintf(why, whylen, "must start with mqtt:// or mqtts://");
		return IOCA_ERROR;
	}
	if (strchr(rest, '@')) {
		snprintf(why, whylen,
			 "credentials in the URL are not accepted (use mqtt.username and "
			 "mqtt.password_file)");
		return IOCA_ERROR;
	}
	const char *host = rest, *host_end;
	if (*rest == '[') {
		host = rest + 1;
		host_end = strchr(host, ']');
		if (!host_end) {
			snprintf(why, whylen, "missing ']' after the IPv6 address");
			return IOCA_ERROR;
		}
		rest = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":");
		rest = host_end;
	}
	if (host_end == host) {
		snprintf(why, whylen, "no host name");
		return IOCA_ERROR;
	}
	for (const char *p = host; p < host_end; p++) {
		if (*p == '/' || *p == '@' || *p == '?' || *p == '#' || *p == '[' || *p == ']' ||
		    (unsigned char)*p <= ' ') {
			snprintf(why, whylen,
				 "unexpected '%c' in the host name (only scheme://host[:port])",
				 *p > ' ' ? *p : '?');
			return IOCA_ERROR;
		}
	}
	if (*rest == ':') {
		const char *p = rest + 1;
		long port = 0;
		if (!*p) {
			snprintf(why, whylen, "empty port");
			return IOCA_ERROR;
		}
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || port > PORT_MAX) {
				snprintf(why, whylen, "port must be a number from 1 to %d",
					 PORT_MAX);
				return IOCA_ERROR;
			}
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > PORT_MAX) {
			snprintf(why, whylen, "port must be a number from 1 to %d", PORT_MAX);
			return IOCA_ERROR;
		}
		b->port = (int)port;
	} else if (*rest) {
		char shown[REASON_MAX_LEN / 2];
		ioca_url_mask(rest, shown, sizeof shown);
		snprintf(why, whylen, "unexpected '%s' after the host (no paths)", shown);
		return IOCA_ERROR;
	}
	b->host = strndup(host, (size_t)(host_end - host));
	b->url = strdup(url);
	if (!b->host || !b->url) {
		free(b->host);
		free(b->url);
		b->host = b->url = NULL;
		snprintf(why, whylen, "out of memory");
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

static void load_brokers(struct loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *list = member(mqtt, "brokers");
	if (!list || !(config_setting_is_array(list) || config_setting_is_list(list)))
		return;
	int n = config_setting_length(list);
	if (n <= 0)
		return;
	struct ioca_mqtt_config *m = &ld->cfg->mqtt;
	m->brokers = calloc((size_t)n, sizeof *m->brokers);
	if (!m->brokers) {
		ld->oom = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			continue; /* reported by optcheck */
		const char *url = config_setting_get_string(e);
		char why[REASON_MAX_LEN], shown[URL_SHOWN_MAX];
		if (parse_broker(url, &m->brokers[m->n_brokers], why, sizeof why) != IOCA_OK) {
			ioca_url_mask(url, shown, sizeof shown);
			report(ld, e, "mqtt: broker '%s' is not a valid URL: %s", shown, why);
			continue;
		}
		/* one client, one TLS setting: the list cannot mix schemes */
		if (m->n_brokers && m->brokers[m->n_brokers].tls != m->brokers[0].tls)
			report(ld, e,
			       "mqtt: broker '%s' mixes mqtt:// and mqtts:// with '%s'; all "
			       "brokers must use the same scheme",
			       url, m->brokers[0].url);
		m->n_brokers++;
	}
}

/*
 * Read the password (one line; trailing CR/LF removed). Problems name the
 * file, never its content.
 */
static void load_password(struct loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *s = member(mqtt, "password_file");
	const char *path = get_string(mqtt, "password_file");
	if (!path)
		return;
	if (!get_string(mqtt, "username"))
		report(ld, s, "mqtt: password_file needs a username");
	ld->cfg->mqtt.password_file = dup_str(ld, path);
	char why[REGULAR_WHY_LEN];
	int fd = ioca_open_regular(path, why, sizeof why);
	if (fd < 0)
		return; /* optcheck reported that it is unreadable */
	char *buf = calloc(1, PASSWORD_MAX_BYTES + 2);
	if (!buf) {
		close(fd);
		ld->oom = 1;
		return;
	}
	size_t len = 0;
	int failed = 0;
	while (len < PASSWORD_MAX_BYTES + 1) {
		ssize_t n = read(fd, buf + len, PASSWORD_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			failed = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (failed)
		report(ld, s, "mqtt: cannot read password_file '%s': %s", path, strerror(failed));
	else if (len > PASSWORD_MAX_BYTES)
		report(ld, s, "mqtt: password_file '%s' is longer than %d bytes", path,
		       PASSWORD_MAX_BYTES);
	else if (len == 0)
		report(ld, s, "mqtt: password_file '%s' is empty", path);
	else if (memchr(buf, '\0', len) || memchr(buf, '\n', len))
		report(ld, s, "mqtt: password_file '%s' must hold one line of text", path);
	else {
		buf[len] = '\0';
		ld->cfg->mqtt.password = strdup(buf);
		if (!ld->cfg->mqtt.password)
			ld->oom = 1;
	}
	explicit_bzero(buf, PASSWORD_MAX_BYTES + 2);
	free(buf);
}

static void load_tls(struct loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *tls = member(mqtt, "tls");
	if (!tls || config_setting_type(tls) != CONFIG_TYPE_GROUP)
		return;
	struct ioca_tls_config *t = &ld->cfg->mqtt.tls;
	ld->cfg->mqtt.has_tls = true;
	t->ca_file = dup_str(ld, get_string(tls, "ca_file"));
	t->cert_file = dup_str(ld, get_string(tls, "cert_file"));
	t->key_file = dup_str(ld, get_string(tls, "key_file"));
	t->insecure = get_bool(tls, "insecure", false);
	if (!t->cert_file != !t->key_file)
		report(ld, member(tls, t->cert_file ? "cert_file" : "key_file"),
		       "mqtt, 'tls': cert_file and key_file must be given together");
}

/* A prefix every publish can use: brokers refuse topics starting with '$'
 * ($SYS is theirs) and control characters are no part of a topic. */
static bool valid_topic_prefix(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > TOPIC_PREFIX_MAX_LEN || p[0] == '/' || p[n - 1] == '/' || p[0] == '$')
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < ' ' || *c == '\x7f')
			return false;
	return !strpbrk(p, "+#") && !strstr(p, "//");
}

static void load_mqtt(struct loader *ld, const config_setting_t *mqtt)
{
	struct ioca_mqtt_config *m = &ld->cfg->mqtt;
	load_brokers(ld, mqtt);
	const char *protocol = get_string(mqtt, "protocol");
	m->protocol = protocol && strcmp(protocol, "v311") == 0 ? 4 : 5;
	m->username = dup_str(ld, get_string(mqtt, "username"));
	load_password(ld, mqtt);
	load_tls(ld, mqtt);
	m->keepalive_s = (int)get_int(mqtt, "keepalive", 30);
	m->qos = (int)get_int(mqtt, "qos", 1);
	if (m->qos < 0 || m->qos > 2)
		m->qos = 1; /* reported by optcheck; keeps instance defaults sane */
	const char *prefix = get_string(mqtt, "topic_prefix");
	if (prefix && !valid_topic_prefix(prefix))
		report(ld, member(mqtt, "topic_prefix"),
		       "mqtt: topic_prefix must be 1 to %d characters without '+', '#', control "
		       "characters, empty levels, a leading '$' or a leading or trailing '/'",
		       TOPIC_PREFIX_MAX_LEN);
	m->topic_prefix = dup_str(ld, prefix ? prefix : "ioc");
	m->session_expiry_s = get_int(mqtt, "session_expiry", 0);
	m->message_expiry_s = get_int(mqtt, "message_expiry", 0);
	m->max_packet_size = get_int(mqtt, "max_packet_size", 0);
	m->reconnect_min_s = (int)get_int(mqtt, "reconnect_min", 1);
	m->reconnect_max_s = (int)get_int(mqtt, "reconnect_max", 60);
	if (m->reconnect_min_s > m->reconnect_max_s)
		report(ld, member(mqtt, "reconnect_min"),
		       "mqtt: reconnect_min (%d) must not exceed reconnect_max (%d)",
		       m->reconnect_min_s, m->reconnect_max_s);
	m->prefer_first = get_bool(mqtt, "prefer_first", false);
	m->prefer_check_s = (int)get_int(mqtt, "prefer_check", IOCA_DEFAULT_PREFER_CHECK_S);
}

/* ---- spool ------------------------------------------------------------ */

/* The HMAC key: the file's bytes without a trailing newline. Problems name
 * the file, never its content. */
static void load_command_key(struct loader *ld, const config_setting_t *commands)
{
	struct ioca_commands_config *cc = &ld->cfg->commands;
	const config_setting_t *s = member(commands, "key_file");
	const char *path = get_string(commands, "key_file");
	if (!path) {
		if (cc->n_enabled)
			report(ld, member(commands, "enabled"),
			       "commands: enabled commands need a key_file to check requests with");
		return;
	}
	FILE *f = fopen(path, "rbe");
	if (!f)
		return; /* optcheck reported that it is unreadable */
	uint8_t buf[IOCA_COMMAND_KEY_MAX_BYTES + 2];
	size_t len = fread(buf, 1, sizeof buf, f);
	bool failed = ferror(f) != 0;
	fclose(f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (failed)
		report(ld, s, "commands: cannot read key_file '%s'", path);
	else if (len < COMMAND_KEY_MIN_BYTES || len > IOCA_COMMAND_KEY_MAX_BYTES)
		report(ld, s, "commands: key_file '%s' must hold %d..%d bytes", path,
		       COMMAND_KEY_MIN_BYTES, IOCA_COMMAND_KEY_MAX_BYTES);
	else {
		memcpy(cc->key, buf, len);
		cc->key_len = len;
	}
	explicit_bzero(buf, sizeof buf);
}

static void load_commands(struct loader *ld, const config_setting_t *commands)
{
	struct ioca_commands_config *cc = &ld->cfg->commands;
	cc->max_request_bytes = get_int(commands, "max_request_bytes", 4096);
	cc->max_skew_s = get_int(commands, "max_skew", 60);
	cc->replay_rate = get_int(commands, "replay_rate", 100);
	const config_setting_t *list = member(commands, "enabled");
	int n = list && config_setting_is_array(list) ? config_setting_length(list) : 0;
	cc->enabled = n > 0 ? calloc((size_t)n, sizeof *cc->enabled) : NULL;
	if (n > 0 && !cc->enabled) {
		ld->oom = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *name = config_setting_get_string(e);
		if (!name)
			continue; /* optcheck reported the type */
		int kind = ioca_cmd_kind_of(name);
		if (kind < 0)
			report(ld, e,
			       "commands: unknown command '%s' (known: status, ping, reload, "
			       "restart, snapshot, replay)",
			       name);
		else
			cc->enabled[cc->n_enabled++] = dup_str(ld, name);
	}
	load_command_key(ld, commands);
}

static void load_spool(struct loader *ld, const config_setting_t *spool)
{
	struct ioca_spool_config *sp = &ld->cfg->spool;
	sp->max_bytes = get_int(spool, "max_bytes", 0);
	sp->max_age_s = get_int(spool, "max_age", 0);
	const char *fsync = get_string(spool, "fsync");
	sp->fsync = IOCA_FSYNC_INTERVAL;
	if (fsync && strcmp(fsync, "always") == 0)
		sp->fsync = IOCA_FSYNC_ALWAYS;
	else if (fsync && strcmp(fsync, "never") == 0)
		sp->fsync = IOCA_FSYNC_NEVER;
	sp->fsync_interval_ms = (int)get_int(spool, "fsync_interval_ms", 0);
	sp->inflight = (int)get_int(spool, "inflight", 0);
	sp->memory_buffer_bytes = get_int(spool, "memory_buffer_bytes", 0);
	sp->segment_bytes = get_int(spool, "segment_bytes", 0);
	sp->drain_rate = (double)get_int(spool, "drain_rate", 0);
	sp->historical_after_s = (int)get_int(spool, "historical_after", 0);
	const char *order = get_string(spool, "order");
	sp->order = order && strcmp(order, "live_first") == 0 ? IOCA_SPOOL_ORDER_LIVE_FIRST
							      : IOCA_SPOOL_ORDER_FIFO;
	if (sp->segment_bytes > sp->max_bytes && sp->max_bytes > 0)
		report(ld, member(spool, "segment_bytes"),
		       "spool: segment_bytes (%lld) must not exceed max_bytes (%lld)",
		       (long long)sp->segment_bytes, (long long)sp->max_bytes);
}

/* ---- plugins ---------------------------------------------------------- */

static struct plugin_slot *get_plugin(struct loader *ld, const char *name)
{
	for (size_t i = 0; i < ld->n_plugins; i++)
		if (strcmp(ld->plugins[i].name, name) == 0)
			return &ld->plugins[i];
	struct plugin_slot *slots = realloc(ld->plugins, (ld->n_plugins + 1) * sizeof *slots);
	if (!slots) {
		ld->oom = 1;
		return NULL;
	}
	ld->plugins = slots;
	struct plugin_slot *p = &slots[ld->n_plugins];
	memset(p, 0, sizeof *p);
	p->name = strdup(name);
	if (!p->name) {
		ld->oom = 1;
		return NULL;
	}
	ld->n_plugins++;
	p->ok = ioca_plugin_open(ld->plugin_dir, name, &p->loaded, p->error, sizeof p->error) ==
		IOCA_OK;
	return p;
}

static void close_plugins(struct loader *ld)
{
	for (size_t i = 0; i < ld->n_plugins; i++) {
		if (ld->plugins[i].ok)
			ioca_plugin_close(&ld->plugins[i].loaded);
		free(ld->plugins[i].name);
	}
	free(ld->plugins);
	ld->plugins = NULL;
	ld->n_plugins = 0;
}

struct check_ctx {
	struct loader *ld;
	const config_setting_t *instance;
	const char *what;
	int count;
};

static void check_report(void *ctx, const struct ioca_opts *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check_report(void *ctx, const struct ioca_opts *where, const char *fmt, ...)
{
	struct check_ctx *c = ctx;
	char msg[MESSAGE_MAX_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const config_setting_t *s = where ? ioca_opts_setting(where) : c->instance;
	report(c->ld, s, "%s: %s", c->what, msg);
	c->count++;
}

static int run_plugin_check(struct loader *ld, const struct ioca_plugin *desc,
			    const config_setting_t *inst, const char *what)
{
	struct ioca_host host;
	memset(&host, 0, sizeof host);
	host.abi_major = IOCA_PLUGIN_ABI_MAJOR;
	host.abi_minor = IOCA_PLUGIN_ABI_MINOR;
	ioca_opts_fill_host(&host);
	struct check_ctx ctx = {.ld = ld, .instance = inst, .what = what, .count = 0};
	int n = desc->check(&host, ioca_opts_from_setting(inst), check_report, &ctx);
	if (n > 0 && ctx.count == 0)
		report(ld, inst, "%s: plugin '%s' rejected the options", what, desc->name);
	return n;
}

/* ---- instances -------------------------------------------------------- */

/* libconfig text of a group's members, as the worker will parse it back. */
static int copy_setting(struct loader *ld, config_setting_t *dst_parent,
			const config_setting_t *src, const char *what)
{
	/* defaults are filled in again by the worker: only what was written travels,
	 * so that opt_is_set() can tell the two apart there too */
	if (ioca_setting_is_default(src))
		return IOCA_OK;
	int type = config_setting_type(src);
	const char *name = config_setting_is_group(dst_parent) ? config_setting_name(src) : NULL;
	config_setting_t *d = config_setting_add(dst_parent, name, type);
	if (!d) {
		ld->oom = 1;
		return IOCA_ERROR;
	}
	switch (type) {
	case CONFIG_TYPE_INT:
		config_setting_set_int(d, config_setting_get_int(src));
		config_setting_set_format(d, config_setting_get_format(src));
		return IOCA_OK;
	case CONFIG_TYPE_INT64:
		config_setting_set_int64(d, config_setting_get_int64(src));
		config_setting_set_format(d, config_setting_get_format(src));
		return IOCA_OK;
	case CONFIG_TYPE_FLOAT: {
		double v = config_setting_get_float(src);
		if (!isfinite(v)) {
			report(ld, src, "%s: number out of range", what);
			return IOCA_ERROR;
		}
		config_setting_set_float(d, v);
		return IOCA_OK;
	}
	case CONFIG_TYPE_STRING:
		config_setting_set_string(d, config_setting_get_string(src));
		return IOCA_OK;
	case CONFIG_TYPE_BOOL:
		config_setting_set_bool(d, config_setting_get_bool(src));
		return IOCA_OK;
	default: {
		int n = config_setting_length(src);
		int rc = IOCA_OK;
		for (int i = 0; i < n; i++)
			if (copy_setting(ld, d, config_setting_get_elem(src, (unsigned)i), what) !=
			    IOCA_OK)
				rc = IOCA_ERROR;
		return rc;
	}
	}
}

static char *serialise_group(struct loader *ld, const config_setting_t *group, const char *what)
{
	config_t out;
	config_init(&out);
	int rc = IOCA_OK;
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++)
		if (copy_setting(ld, config_root_setting(&out),
				 config_setting_get_elem(group, (unsigned)i), what) != IOCA_OK)
			rc = IOCA_ERROR;
	char *text = NULL;
	size_t len = 0;
	if (rc == IOCA_OK) {
		FILE *f = open_memstream(&text, &len);
		if (f) {
			config_write(&out, f);
			fclose(f);
		} else {
			ld->oom = 1;
		}
	}
	config_destroy(&out);
	return text;
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = FNV64_OFFSET;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV64_PRIME;
	}
	return h;
}

/* The instance core table with the defaults that depend on other sections. */
static void instance_table(const struct ioca_config *cfg, struct ioca_option *table, size_t cap)
{
	size_t i = 0;
	for (; i + 1 < cap && ioca_schema_instance[i].key; i++) {
		table[i] = ioca_schema_instance[i];
		if (strcmp(table[i].key, "qos") == 0)
			table[i].def_int = cfg->mqtt.qos;
		else if (strcmp(table[i].key, "memory_limit_mb") == 0)
			table[i].def_int = cfg->agent.worker_memory_limit_mb;
	}
	memset(&table[i], 0, sizeof table[i]);
}

static bool is_core_key(const char *key)
{
	for (const struct ioca_option *o = ioca_schema_instance; o->key; o++)
		if (strcmp(o->key, key) == 0)
			return true;
	return false;
}

#define INSTANCE_CORE_KEYS_MAX 16

static void check_name(struct loader *ld, const config_setting_t *inst, size_t index,
		       const char *what)
{
	const config_setting_t *s = member(inst, "name");
	const char *name = get_string(inst, "name");
	if (!name)
		return;
	if (!valid_name(name)) {
		report(ld, s, "%s: name must be 1 to %d characters of A-Z a-z 0-9 _ -", what,
		       IOCA_NAME_MAX_LEN);
		return;
	}
	if (strcmp(name, IOCA_AGENT_INSTANCE_NAME) == 0) {
		report(ld, s, "%s: the name '%s' is reserved for the agent's own events", what,
		       IOCA_AGENT_INSTANCE_NAME);
		return;
	}
	const char *file = ioca_setting_file(s, ld->file);
	int line = ioca_setting_line(s);
	for (size_t i = 0; i < index; i++) {
		const char *other = ld->cfg->instances[i].name;
		if (!other || strcmp(other, name) != 0)
			continue;
		if (strcmp(ld->instance_files[i], file) == 0)
			report(ld, s, "%s: duplicate instance name (first defined at line %d)",
			       what, ld->instance_name_lines[i]);
		else
			report(ld, s, "%s: duplicate instance name (first defined at %s:%d)", what,
			       ld->instance_files[i], ld->instance_name_lines[i]);
		return;
	}
	ld->cfg->instances[index].name = dup_str(ld, name);
	ld->instance_files[index] = file;
	ld->instance_name_lines[index] = line;
}

static void load_instance(struct loader *ld, config_setting_t *inst, size_t index)
{
	char what[WHAT_MAX_LEN];
	const char *name = get_string(inst, "name");
	if (name)
		snprintf(what, sizeof what, "instance '%.64s'", name);
	else
		snprintf(what, sizeof what, "instances element %zu", index + 1);
	size_t before = ld->diag->count;

	/* Before pass 1 fills in defaults: a plugin's memory limit applies only when unset. */
	bool memory_set = member(inst, "memory_limit_mb") != NULL;

	/* Pass 1: the core keys; everything else is left to the plugin's table. */
	struct ioca_option core[INSTANCE_CORE_KEYS_MAX];
	instance_table(ld->cfg, core, INSTANCE_CORE_KEYS_MAX);
	int n = config_setting_length(inst);
	const char **others = calloc((size_t)n + 1, sizeof *others);
	if (!others) {
		ld->oom = 1;
		return;
	}
	size_t n_others = 0;
	for (int i = 0; i < n; i++) {
		const char *key = config_setting_name(config_setting_get_elem(inst, (unsigned)i));
		if (key && !is_core_key(key))
			others[n_others++] = key;
	}
	ioca_optcheck_group(inst, core, others, what, ld->file, ld->diag);
	free(others);
	check_name(ld, inst, index, what);

	/* Pass 2: the plugin's own options, then its cross-field check. */
	const char *plugin = get_string(inst, "plugin");
	int64_t memory_default = ld->cfg->agent.worker_memory_limit_mb;
	if (plugin) {
		struct plugin_slot *p = get_plugin(ld, plugin);
		if (p && !p->ok) {
			report(ld, member(inst, "plugin"), "%s: %s", what, p->error);
		} else if (p) {
			const struct ioca_plugin *desc = p->loaded.desc;
			if (memory_default == 0)
				memory_default = ioca_plugin_default_memory_limit_mb(desc);
			ioca_optcheck_group(inst, desc->options ? desc->options : no_options,
					    ioca_instance_core_keys, what, ld->file, ld->diag);
			if (desc->check && problems_since(ld, before) == 0)
				run_plugin_check(ld, desc, inst, what);
		}
	}

	struct ioca_instance_config *ic = &ld->cfg->instances[index];
	ic->plugin = dup_str(ld, plugin);
	ic->qos = (int)get_int(inst, "qos", ld->cfg->mqtt.qos);
	ic->max_rate = get_float(inst, "max_rate", IOCA_DEFAULT_MAX_RATE);
	ic->memory_limit_mb = memory_set ? get_int(inst, "memory_limit_mb", 0) : memory_default;
	ic->hang_timeout_s = (int)get_int(inst, "hang_timeout", IOCA_DEFAULT_HANG_TIMEOUT_S);
	ic->snapshot_retain = get_bool(inst, "snapshot_retain", false);
	ic->line = ioca_setting_line(inst);
	if (problems_since(ld, before) == 0) {
		ic->options_text = serialise_group(ld, inst, what);
		if (ic->options_text)
			ic->fingerprint = fnv1a64(ic->options_text);
	}
}

static void load_instances(struct loader *ld, config_setting_t *root)
{
	config_setting_t *list = member(root, "instances");
	if (!list)
		return;
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		report(ld, list,
		       "top level: 'instances' must be a list of groups (( { ... }, ... ))");
		return;
	}
	int n = config_setting_length(list);
	if (n <= 0)
		return;
	struct ioca_config *cfg = ld->cfg;
	cfg->instances = calloc((size_t)n, sizeof *cfg->instances);
	ld->instance_files = calloc((size_t)n, sizeof *ld->instance_files);
	ld->instance_name_lines = calloc((size_t)n, sizeof *ld->instance_name_lines);
	if (!cfg->instances || !ld->instance_files || !ld->instance_name_lines) {
		ld->oom = 1;
		return;
	}
	cfg->n_instances = (size_t)n;
	for (int i = 0; i < n; i++) {
		config_setting_t *inst = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(inst) != CONFIG_TYPE_GROUP) {
			report(ld, inst, "instances: element %d must be a group ({ ... })", i + 1);
			continue;
		}
		load_instance(ld, inst, (size_t)i);
	}
}

/* ---- the whole file ---------------------------------------------------- */

/* A section: checked against its table when present; `required` ones must be. */
static void load_retention(struct loader *ld, const config_setting_t *retention)
{
	struct ioca_retention_config *r = &ld->cfg->retention;
	r->enabled = get_bool(retention, "enabled", true);
	r->days = (int)get_int(retention, "days", 0);
	r->max_bytes = get_int(retention, "max_bytes", 0);
}

static config_setting_t *check_section(struct loader *ld, config_setting_t *root, const char *name,
				       const struct ioca_option *table, bool required)
{
	config_setting_t *s = member(root, name);
	if (!s && required) {
		report(ld, root, "missing required section '%s' (%s: { ... };)", name, name);
		return NULL;
	}
	if (!s)
		s = config_setting_add(root, name, CONFIG_TYPE_GROUP); /* to receive defaults */
	if (!s) {
		ld->oom = 1;
		return NULL;
	}
	ioca_optcheck_group(s, table, NULL, name, ld->file, ld->diag);
	return config_setting_type(s) == CONFIG_TYPE_GROUP ? s : NULL;
}

static void validate(struct loader *ld, config_t *lc, const char *plugin_dir_override)
{
	config_setting_t *root = config_root_setting(lc);
	ioca_optcheck_group(root, no_options, ioca_schema_sections, "top level", ld->file,
			    ld->diag);

	config_setting_t *agent = check_section(ld, root, "agent", ioca_schema_agent, true);
	if (agent)
		load_agent(ld, agent);
	config_setting_t *mqtt = check_section(ld, root, "mqtt", ioca_schema_mqtt, true);
	if (mqtt)
		load_mqtt(ld, mqtt);
	else
		ld->cfg->mqtt.qos = 1;
	config_setting_t *spool = check_section(ld, root, "spool", ioca_schema_spool, false);
	if (spool)
		load_spool(ld, spool);
	config_setting_t *commands =
	    check_section(ld, root, "commands", ioca_schema_commands, false);
	if (commands)
		load_commands(ld, commands);
	config_setting_t *retention =
	    check_section(ld, root, "retention", ioca_schema_retention, false);
	if (retention)
		load_retention(ld, retention);

	if (plugin_dir_override) {
		free(ld->cfg->agent.plugin_dir);
		ld->cfg->agent.plugin_dir = dup_str(ld, plugin_dir_override);
	}
	ld->plugin_dir =
	    ld->cfg->agent.plugin_dir
		? ld->cfg->agent.plugin_dir
		: (plugin_dir_override ? plugin_dir_override : IOCA_DEFAULT_PLUGIN_DIR);
	load_instances(ld, root);
}

static int load(const char *name, const char *text, const char *plugin_dir_override,
		struct ioca_config *out, struct ioca_diag *diag)
{
	size_t before = diag->count;
	config_t lc;
	config_init(&lc);
	struct ioca_config_files files = {0};
	int rc = text ? ioca_config_parse_string(&lc, name, text, &files, diag)
		      : ioca_config_parse_file(&lc, name, &files, diag);
	if (rc != IOCA_OK) {
		config_destroy(&lc);
		ioca_config_files_free(&files);
		return IOCA_ERROR;
	}

	struct ioca_config *cfg = calloc(1, sizeof *cfg);
	struct loader ld = {.file = name, .diag = diag, .cfg = cfg};
	if (cfg) {
		cfg->path = dup_str(&ld, name);
		validate(&ld, &lc, plugin_dir_override);
	} else {
		ld.oom = 1;
	}
	if (ld.oom)
		ioca_diag_add(diag, name, 0, "out of memory loading the configuration");
	close_plugins(&ld);
	free(ld.instance_files);
	free(ld.instance_name_lines);
	config_destroy(&lc);
	ioca_config_files_free(&files);

	if (diag->count > before || !cfg) {
		if (cfg) {
			ioca_config_free(cfg);
			free(cfg);
		}
		return IOCA_ERROR;
	}
	*out = *cfg;
	free(cfg);
	return IOCA_OK;
}

int ioca_config_load(const char *path, const char *plugin_dir_override, struct ioca_config *out,
		     struct ioca_diag *diag)
{
	return load(path, NULL, plugin_dir_override, out, diag);
}

int ioca_config_load_string(const char *name, const char *text, const char *plugin_dir_override,
			    struct ioca_config *out, struct ioca_diag *diag)
{
	return load(name, text ? text : "", plugin_dir_override, out, diag);
}

void ioca_config_free(struct ioca_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->agent.id);
	free(cfg->agent.site);
	free(cfg->agent.plugin_dir);
	free(cfg->agent.state_dir);
	for (size_t i = 0; i < cfg->mqtt.n_brokers; i++) {
		free(cfg->mqtt.brokers[i].host);
		free(cfg->mqtt.brokers[i].url);
	}
	free(cfg->mqtt.brokers);
	free(cfg->mqtt.username);
	if (cfg->mqtt.password) {
		explicit_bzero(cfg->mqtt.password, strlen(cfg->mqtt.password));
		free(cfg->mqtt.password);
	}
	free(cfg->mqtt.password_file);
	free(cfg->mqtt.tls.ca_file);
	free(cfg->mqtt.tls.cert_file);
	free(cfg->mqtt.tls.key_file);
	free(cfg->mqtt.topic_prefix);
	for (size_t i = 0; i < cfg->commands.n_enabled; i++)
		free(cfg->commands.enabled[i]);
	free(cfg->commands.enabled);
	explicit_bzero(cfg->commands.key, sizeof cfg->commands.key);
	for (size_t i = 0; i < cfg->n_instances; i++) {
		free(cfg->instances[i].name);
		free(cfg->instances[i].plugin);
		free(cfg->instances[i].options_text);
	}
	free(cfg->instances);
	memset(cfg, 0, sizeof *cfg);
}

const struct ioca_instance_config *ioca_config_find_instance(const struct ioca_config *cfg,
							     const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n_instances; i++)
		if (cfg->instances[i].name && strcmp(cfg->instances[i].name, name) == 0)
			return &cfg->instances[i];
	return NULL;
}
