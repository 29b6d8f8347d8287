/*
 * Unit tests of the configuration loader (agent/config.c and its parts):
 * every kind of problem is reported as the exact FILE:LINE: message, all
 * problems of a file are reported (not the first only), @include (with
 * wildcards) names the included file and line, instance options_text
 * survives the trip to a worker (config_read_string) with its types, and
 * the MQTT password never appears in any output.
 *
 * Plugin options are checked against the real test plugin cfgtest.so
 * (tests/unit/cfgtest_plugin.c) loaded from IOCA_PLUGIN_DIR.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libconfig.h>

#include "config.h"
#include "config_schema.h"
#include "diag.h"
#include "optcheck.h"
#include "opts.h"
#include "plugin_loader.h"

/* Lines 1 and 2 of most test files. */
#define BASE                                                                                       \
	"agent: { id = \"edge-1\"; };\n"                                                           \
	"mqtt: { brokers = [ \"mqtt://127.0.0.1:1883\" ]; };\n"

#define SECRET              "s3cr3t-Pa55w0rd"
#define NON_REGULAR_ALARM_S 10

static char tmpdir[] = "/tmp/ioca-test-config-XXXXXX";

static const char *plugin_dir(void)
{
	const char *d = getenv("IOCA_PLUGIN_DIR");
	assert_non_null(d);
	return d;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *tmp_path(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void print_diag(const struct ioca_diag *d)
{
	for (size_t i = 0; i < d->count; i++)
		fprintf(stderr, "  got: %s\n", d->lines[i]);
}

/* Load `text` as t.conf; it must fail with exactly the lines in want. */
static void expect_lines(const struct ioca_diag *d, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	bool same = d->count == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(d->lines[i], want[i]) == 0;
	if (!same) {
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " want: %s\n", want[i]);
		print_diag(d);
	}
	for (size_t i = 0; i < n && i < d->count; i++)
		assert_string_equal(d->lines[i], want[i]);
	assert_int_equal(d->count, n);
}

static void expect_errors(const char *text, const char *const *want)
{
	struct ioca_config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct ioca_diag d = {0};
	int rc = ioca_config_load_string("t.conf", text, plugin_dir(), &cfg, &d);
	expect_lines(&d, want);
	assert_int_equal(rc, IOCA_ERROR);
	ioca_diag_clear(&d);
}

#define EXPECT(text, ...)                                                                          \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__, NULL};                                   \
		expect_errors(text, want_);                                                        \
	} while (0)

static void load_ok(const char *text, struct ioca_config *cfg)
{
	struct ioca_diag d = {0};
	memset(cfg, 0, sizeof *cfg);
	int rc = ioca_config_load_string("t.conf", text, plugin_dir(), cfg, &d);
	if (rc != IOCA_OK || d.count)
		print_diag(&d);
	assert_int_equal(d.count, 0);
	assert_int_equal(rc, IOCA_OK);
	ioca_diag_clear(&d);
}

/* ---- syntax, sections, keys ------------------------------------------- */

static void test_syntax_error(void **state)
{
	(void)state;
	/* the reason, the line as written, a caret under the spot */
	EXPECT(BASE "spool: { max_bytes = ; };\n", "t.conf:3: syntax error: missing value\n"
						   "    spool: { max_bytes = ; };\n"
						   "                         ^");
	EXPECT(BASE "\n\nname = \"unterminated;\n", "t.conf:5: syntax error: unterminated string\n"
						    "    name = \"unterminated;\n"
						    "           ^");
	EXPECT(BASE "spool: {\n\tfsync = always; };\n",
	       "t.conf:4: syntax error: a string value needs double quotes\n"
	       "     fsync = always; };\n"
	       "             ^");
	/* no known cause: the line and its start */
	EXPECT(BASE "spool: { } foo bar\n", "t.conf:3: syntax error\n"
					    "    spool: { } foo bar\n"
					    "    ^");
}

static void test_unknown_key_suggests(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; };\n"
	       "mqtt: {\n"
	       "  brokers = [ \"mqtt://h\" ];\n"
	       "  keepalve = 30;\n"
	       "};\n",
	       "t.conf:4: mqtt: unknown option 'keepalve' (did you mean 'keepalive'?)");
	EXPECT(BASE "spool: {\n  inflght = 10;\n  zzzzzz = 1;\n};\n",
	       "t.conf:4: spool: unknown option 'inflght' (did you mean 'inflight'?)",
	       "t.conf:5: spool: unknown option 'zzzzzz'");
}

static void test_unknown_section(void **state)
{
	(void)state;
	EXPECT(BASE "spoo: { };\nmetrics = 5;\n",
	       "t.conf:3: top level: unknown option 'spoo' (did you mean 'spool'?)",
	       "t.conf:4: top level: unknown option 'metrics'");
}

static void test_missing_section(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; };\n",
	       "t.conf: missing required section 'mqtt' (mqtt: { ... };)");
	EXPECT("mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf: missing required section 'agent' (agent: { ... };)");
	EXPECT(BASE "spool = 5;\n", "t.conf:3: spool must be a group ({ ... })");
}

static void test_wrong_type(void **state)
{
	(void)state;
	EXPECT(BASE "spool: {\n  inflight = \"64\";\n  fsync = 1;\n  max_bytes = 1.5;\n};\n",
	       "t.conf:4: spool: option 'inflight' must be an integer",
	       "t.conf:5: spool: option 'fsync' must be a string",
	       "t.conf:6: spool: option 'max_bytes' must be an integer");
	EXPECT("agent: { id = \"edge-1\"; };\nmqtt: { brokers = \"mqtt://h\"; };\n",
	       "t.conf:2: mqtt: option 'brokers' must be an array of strings ([ ... ])");
}

static void test_out_of_range(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; metrics_interval = 0; };\n"
	       "mqtt: {\n  brokers = [ \"mqtt://h\" ];\n  qos = 3;\n  keepalive = 1;\n};\n"
	       "spool: { inflight = 0; };\n",
	       "t.conf:1: agent: option 'metrics_interval' = 0 is out of range (1 to 86400)",
	       "t.conf:4: mqtt: option 'qos' = 3 is out of range (0 to 2)",
	       "t.conf:5: mqtt: option 'keepalive' = 1 is out of range (5 to 65535)",
	       "t.conf:7: spool: option 'inflight' = 0 is out of range (1 to 65535)");
}

static void test_enum_values(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; log_level = \"verbose\"; };\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ]; protocol = \"v4\"; };\n"
	       "spool: { fsync = \"sometimes\"; };\n",
	       "t.conf:1: agent: option 'log_level' = \"verbose\" is not one of "
	       "error|warning|info|debug",
	       "t.conf:2: mqtt: option 'protocol' = \"v4\" is not one of v5|v311",
	       "t.conf:3: spool: option 'fsync' = \"sometimes\" is not one of "
	       "always|interval|never");
	EXPECT(BASE "spool: { order = \"lifo\"; };\n",
	       "t.conf:3: spool: option 'order' = \"lifo\" is not one of fifo|live_first");
}

static void test_missing_required_key(void **state)
{
	(void)state;
	EXPECT("agent: {\n  site = \"x\";\n};\nmqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:1: agent: missing required option 'id'");
	EXPECT("agent: { id = \"edge-1\"; };\nmqtt: {\n  brokers = [ ];\n};\n",
	       "t.conf:3: mqtt: option 'brokers' needs at least 1 element, has 0");
}

static void test_agent_id_pattern(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge 1\"; };\nmqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:1: agent: id 'edge 1' must be 1 to 64 characters of A-Z a-z 0-9 _ -");
	EXPECT("agent: { id = \"\"; };\nmqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:1: agent: id '' must be 1 to 64 characters of A-Z a-z 0-9 _ -");
	char id65[66];
	memset(id65, 'a', 65);
	id65[65] = '\0';
	char text[256], want[256];
	snprintf(text, sizeof text,
		 "agent: { id = \"%s\"; };\nmqtt: { brokers = [ \"mqtt://h\" ]; };\n", id65);
	snprintf(want, sizeof want,
		 "t.conf:1: agent: id '%s' must be 1 to 64 characters of A-Z a-z 0-9 _ -", id65);
	EXPECT(text, want);
	struct ioca_config cfg;
	load_ok("agent: { id = \"Dn_gianghia-01\"; };\nmqtt: { brokers = [ \"mqtt://h\" ]; };\n",
		&cfg);
	assert_string_equal(cfg.agent.id, "Dn_gianghia-01");
	ioca_config_free(&cfg);
}

/* Config strings must be UTF-8 (they go into every payload): refused, not repaired. */
static void test_invalid_utf8_refused(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; site = \"dak n\xf4ng\"; };\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:1: agent: option 'site' is not valid UTF-8");
	EXPECT("agent: { id = \"edge-1\"; };\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
	       "instances = ( { name = \"a\"; plugin = \"cfgtest\";\n"
	       "  label = \"25 \xb0"
	       "C\"; } );\n",
	       "t.conf:4: instance 'a': option 'label' is not valid UTF-8");
	struct ioca_config cfg;
	load_ok("agent: { id = \"edge-1\"; site = \"\xc4\x90\xe1\xba\xafk N\xc3\xb4ng\"; };\n"
		"mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
		&cfg);
	assert_string_equal(cfg.agent.site, "\xc4\x90\xe1\xba\xafk N\xc3\xb4ng");
	ioca_config_free(&cfg);
}

/* ---- mqtt --------------------------------------------------------------- */

static void test_broker_urls_invalid(void **state)
{
	(void)state;
	EXPECT(
	    "agent: { id = \"edge-1\"; };\nmqtt: {\n"
	    "  brokers = [ \"http://h:1\", \"mqtt://:1883\", \"mqtt://h:0\",\n"
	    "              \"mqtt://h:65536\", \"mqtt://h/x\", \"mqtts://[::1\", \"mqtt://h:\" ];\n"
	    "};\n",
	    "t.conf:3: mqtt: broker 'http://h:1' is not a valid URL: must start with mqtt:// "
	    "or mqtts://",
	    "t.conf:3: mqtt: broker 'mqtt://:1883' is not a valid URL: no host name",
	    "t.conf:3: mqtt: broker 'mqtt://h:0' is not a valid URL: port must be a number "
	    "from 1 to 65535",
	    "t.conf:4: mqtt: broker 'mqtt://h:65536' is not a valid URL: port must be a "
	    "number from 1 to 65535",
	    "t.conf:4: mqtt: broker 'mqtt://h/x' is not a valid URL: unexpected '/' in the "
	    "host name (only scheme://host[:port])",
	    "t.conf:4: mqtt: broker 'mqtts://[::1' is not a valid URL: missing ']' after the "
	    "IPv6 address",
	    "t.conf:4: mqtt: broker 'mqtt://h:' is not a valid URL: empty port");
}

static void test_broker_urls_parsed(void **state)
{
	(void)state;
	struct ioca_config cfg;
	load_ok("agent: { id = \"edge-1\"; };\n"
		"mqtt: { brokers = [ \"mqtt://a.example\", \"mqtt://[::1]:1884\" ]; };\n",
		&cfg);
	assert_int_equal(cfg.mqtt.n_brokers, 2);
	assert_string_equal(cfg.mqtt.brokers[0].host, "a.example");
	assert_int_equal(cfg.mqtt.brokers[0].port, IOCA_DEFAULT_MQTT_PORT);
	assert_false(cfg.mqtt.brokers[0].tls);
	assert_string_equal(cfg.mqtt.brokers[0].url, "mqtt://a.example");
	assert_string_equal(cfg.mqtt.brokers[1].host, "::1");
	assert_int_equal(cfg.mqtt.brokers[1].port, 1884);
	ioca_config_free(&cfg);
	load_ok("agent: { id = \"edge-1\"; };\n"
		"mqtt: { brokers = [ \"mqtts://b:9000\", \"mqtts://c\" ]; };\n",
		&cfg);
	assert_int_equal(cfg.mqtt.n_brokers, 2);
	assert_string_equal(cfg.mqtt.brokers[0].host, "b");
	assert_int_equal(cfg.mqtt.brokers[0].port, 9000);
	assert_true(cfg.mqtt.brokers[0].tls);
	assert_string_equal(cfg.mqtt.brokers[1].host, "c");
	assert_int_equal(cfg.mqtt.brokers[1].port, IOCA_DEFAULT_MQTTS_PORT);
	assert_true(cfg.mqtt.brokers[1].tls);
	ioca_config_free(&cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	struct ioca_config cfg;
	struct ioca_diag d = {0};
	assert_int_equal(ioca_config_load_string("t.conf", BASE, NULL, &cfg, &d), IOCA_OK);
	assert_int_equal(d.count, 0);
	assert_string_equal(cfg.path, "t.conf");
	assert_string_equal(cfg.agent.id, "edge-1");
	assert_null(cfg.agent.site);
	assert_string_equal(cfg.agent.plugin_dir, IOCA_DEFAULT_PLUGIN_DIR);
	assert_string_equal(cfg.agent.state_dir, IOCA_DEFAULT_STATE_DIR);
	assert_int_equal(cfg.agent.log_level, IOCA_LOG_INFO);
	assert_int_equal(cfg.agent.metrics_interval_s, 60);
	assert_int_equal(cfg.agent.worker_memory_limit_mb, 0);
	assert_int_equal(cfg.mqtt.protocol, 5);
	assert_null(cfg.mqtt.username);
	assert_null(cfg.mqtt.password);
	assert_false(cfg.mqtt.has_tls);
	assert_int_equal(cfg.mqtt.keepalive_s, 30);
	assert_int_equal(cfg.mqtt.qos, 1);
	assert_string_equal(cfg.mqtt.topic_prefix, "ioc");
	assert_int_equal(cfg.mqtt.session_expiry_s, 86400);
	assert_int_equal(cfg.mqtt.message_expiry_s, 0);
	assert_int_equal(cfg.mqtt.max_packet_size, 0);
	assert_int_equal(cfg.mqtt.reconnect_min_s, 1);
	assert_int_equal(cfg.mqtt.reconnect_max_s, 60);
	assert_int_equal(cfg.spool.max_bytes, 1073741824);
	assert_int_equal(cfg.spool.max_age_s, 0);
	assert_int_equal(cfg.spool.fsync, IOCA_FSYNC_INTERVAL);
	assert_int_equal(cfg.spool.fsync_interval_ms, 200);
	assert_int_equal(cfg.spool.inflight, 64);
	assert_int_equal(cfg.spool.memory_buffer_bytes, 8 * 1024 * 1024);
	assert_int_equal(cfg.spool.segment_bytes, 16 * 1024 * 1024);
	assert_int_equal(cfg.spool.order, IOCA_SPOOL_ORDER_FIFO);
	assert_int_equal(cfg.n_instances, 0);
	ioca_config_free(&cfg);
	ioca_diag_clear(&d);
}

static void test_explicit_values(void **state)
{
	(void)state;
	struct ioca_config cfg;
	load_ok("agent: { id = \"edge-1\"; site = \"daknong/gianghia\"; state_dir = \"/srv/st\";\n"
		"         plugin_dir = \"/opt/p\"; log_level = \"debug\"; metrics_interval = 5;\n"
		"         worker_memory_limit_mb = 512; };\n"
		"mqtt: { brokers = [ \"mqtt://h\" ]; protocol = \"v311\"; username = \"u\";\n"
		"        keepalive = 10; qos = 2; topic_prefix = \"ioc/vn\"; session_expiry = 0;\n"
		"        message_expiry = 3600; reconnect_min = 2; reconnect_max = 30;\n"
		"        max_packet_size = 2048; };\n"
		"spool: { max_bytes = 10737418240; max_age = 604800; fsync = \"always\";\n"
		"         fsync_interval_ms = 50; inflight = 8; memory_buffer_bytes = 0;\n"
		"         segment_bytes = 1048576; order = \"live_first\"; };\n",
		&cfg);
	assert_string_equal(cfg.agent.site, "daknong/gianghia");
	assert_string_equal(cfg.agent.state_dir, "/srv/st");
	assert_string_equal(cfg.agent.plugin_dir, plugin_dir()); /* the override wins */
	assert_int_equal(cfg.agent.log_level, IOCA_LOG_DEBUG);
	assert_int_equal(cfg.agent.metrics_interval_s, 5);
	assert_int_equal(cfg.agent.worker_memory_limit_mb, 512);
	assert_int_equal(cfg.mqtt.protocol, 4);
	assert_string_equal(cfg.mqtt.username, "u");
	assert_int_equal(cfg.mqtt.keepalive_s, 10);
	assert_int_equal(cfg.mqtt.qos, 2);
	assert_string_equal(cfg.mqtt.topic_prefix, "ioc/vn");
	assert_int_equal(cfg.mqtt.session_expiry_s, 0);
	assert_int_equal(cfg.mqtt.message_expiry_s, 3600);
	assert_int_equal(cfg.mqtt.max_packet_size, 2048);
	assert_int_equal(cfg.mqtt.reconnect_min_s, 2);
	assert_int_equal(cfg.mqtt.reconnect_max_s, 30);
	/* beyond 32 bits without the L suffix: not truncated */
	assert_true(cfg.spool.max_bytes == 10737418240LL);
	assert_int_equal(cfg.spool.max_age_s, 604800);
	assert_int_equal(cfg.spool.fsync, IOCA_FSYNC_ALWAYS);
	assert_int_equal(cfg.spool.fsync_interval_ms, 50);
	assert_int_equal(cfg.spool.inflight, 8);
	assert_int_equal(cfg.spool.memory_buffer_bytes, 0);
	assert_int_equal(cfg.spool.segment_bytes, 1048576);
	assert_int_equal(cfg.spool.order, IOCA_SPOOL_ORDER_LIVE_FIRST);
	ioca_config_free(&cfg);

	load_ok(BASE "spool: { fsync = \"never\"; };\n", &cfg);
	assert_int_equal(cfg.spool.fsync, IOCA_FSYNC_NEVER);
	ioca_config_free(&cfg);

	/* plugin_dir from the file when there is no override */
	struct ioca_diag d = {0};
	assert_int_equal(
	    ioca_config_load_string("t.conf",
				    "agent: { id = \"a\"; plugin_dir = \"/opt/p\"; };\n"
				    "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
				    NULL, &cfg, &d),
	    IOCA_OK);
	assert_string_equal(cfg.agent.plugin_dir, "/opt/p");
	ioca_config_free(&cfg);
	ioca_diag_clear(&d);
}

static void test_large_integers(void **state)
{
	(void)state;
	/* 3000000000 would wrap to a negative 32-bit value in libconfig 1.5 */
	EXPECT(BASE "spool: { memory_buffer_bytes = 3000000000; max_bytes = -5000000000; };\n",
	       "t.conf:3: spool: option 'memory_buffer_bytes' = 3000000000 is out of range (0 to "
	       "1073741824)",
	       "t.conf:3: spool: option 'max_bytes' = -5000000000 is out of range (1048576 to "
	       "1099511627776)");
	EXPECT(BASE "spool: {\n  max_bytes = 99999999999999999999;\n"
		    "  max_age = -123456789012345678901234567890123456789;\n};\n",
	       "t.conf:4: integer 99999999999999999999 does not fit 64 bits",
	       "t.conf:5: integer -12345678901234567890123456789012... does not fit 64 bits");
	struct ioca_config cfg;
	load_ok(BASE "spool: { inflight = 000000000000000000000000000000000000012; };\n", &cfg);
	assert_int_equal(cfg.spool.inflight, 12);
	ioca_config_free(&cfg);
}

static void test_mqtt_cross_checks(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"edge-1\"; };\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ];\n"
	       "  topic_prefix = \"ioc/+/x\";\n"
	       "  reconnect_min = 10; reconnect_max = 5; };\n"
	       "spool: { max_bytes = 2097152;\n  segment_bytes = 4194304; };\n",
	       "t.conf:3: mqtt: topic_prefix must be 1 to 128 characters without '+', '#', "
	       "control characters, empty levels, a leading '$' or a leading or trailing '/'",
	       "t.conf:4: mqtt: reconnect_min (10) must not exceed reconnect_max (5)",
	       "t.conf:6: spool: segment_bytes (4194304) must not exceed max_bytes (2097152)");
	EXPECT(BASE "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:3: duplicate setting name\n"
	       "    mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
	       "    ^");
}

/* What start (or every publish) would refuse, -t refuses too. */
static void test_mqtt_start_refusals(void **state)
{
	(void)state;
	static const char prefix_error[] =
	    "mqtt: topic_prefix must be 1 to 128 characters without '+', '#', control "
	    "characters, empty levels, a leading '$' or a leading or trailing '/'";
	static const char *const prefixes[] = {"$SYS", "$share/x", "ioc\tx", "ioc\x01", "a\x7f"};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		char text[256], want[256];
		snprintf(text, sizeof text,
			 "agent: { id = \"edge-1\"; };\n"
			 "mqtt: { brokers = [ \"mqtt://h\" ];\n  topic_prefix = \"%s\"; };\n",
			 prefixes[i]);
		snprintf(want, sizeof want, "t.conf:3: %s", prefix_error);
		EXPECT(text, want);
	}
	EXPECT("agent: { id = \"edge-1\"; };\n"
	       "mqtt: { brokers = [ \"mqtts://a:8883\",\n  \"mqtt://b:1883\" ]; };\n",
	       "t.conf:3: mqtt: broker 'mqtt://b:1883' mixes mqtt:// and mqtts:// with "
	       "'mqtts://a:8883'; all brokers must use the same scheme");
	struct ioca_config cfg;
	load_ok("agent: { id = \"edge-1\"; };\n"
		"mqtt: { brokers = [ \"mqtts://a\", \"mqtts://b:8884\" ];\n"
		"  topic_prefix = \"ioc/s\xc3\xb3"
		"c-tr\xc4\x83ng\"; };\n",
		&cfg);
	ioca_config_free(&cfg);
}

/* A missing path option (IOCA_OPTF_PATH) is a warning, not an error: the
 * configuration loads (the warning line itself is checked by test_cli.py). */
static void test_path_option_exists(void **state)
{
	(void)state;
	struct ioca_config cfg;
	load_ok("agent: { id = \"edge-1\"; };\n"
		"mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
		"instances = ( { name = \"a\"; plugin = \"cfgtest\";\n"
		"  device = \"/dev/ttyIOCA-missing\"; } );\n",
		&cfg);
	ioca_config_free(&cfg);
	load_ok("agent: { id = \"edge-1\"; };\n"
		"mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
		"instances = ( { name = \"a\"; plugin = \"cfgtest\"; device = \"/dev/null\"; },\n"
		"  { name = \"b\"; plugin = \"cfgtest\"; device = \"/tmp\"; } );\n",
		&cfg);
	ioca_config_free(&cfg);
}

static void test_paths(void **state)
{
	(void)state;
	EXPECT("agent: {\n  id = \"edge-1\";\n  state_dir = \"\";\n  plugin_dir = \"\";\n};\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:3: agent: state_dir must not be empty",
	       "t.conf:4: agent: plugin_dir must not be empty");
	EXPECT("agent: { id = \"edge-1\"; state_dir = 5; };\n"
	       "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
	       "t.conf:1: agent: option 'state_dir' must be a string");
}

static bool diag_contains(const struct ioca_diag *d, const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	ioca_diag_print(d, f);
	fclose(f);
	bool found = buf && strstr(buf, needle);
	free(buf);
	return found;
}

static void test_password_file(void **state)
{
	(void)state;
	char *pw = tmp_path("mqtt.pass");
	char *pw_crlf = tmp_path("mqtt-crlf.pass");
	char *pw_empty = tmp_path("empty.pass");
	write_file(pw, SECRET "\n");
	write_file(pw_crlf, SECRET "\r\n");
	write_file(pw_empty, "\n");
	char text[1024];

	struct ioca_config cfg;
	snprintf(
	    text, sizeof text,
	    "agent: { id = \"edge-1\"; };\n"
	    "mqtt: { brokers = [ \"mqtt://h\" ]; username = \"u\"; password_file = \"%s\"; };\n",
	    pw);
	load_ok(text, &cfg);
	assert_string_equal(cfg.mqtt.password, SECRET);
	ioca_config_free(&cfg);
	snprintf(
	    text, sizeof text,
	    "agent: { id = \"edge-1\"; };\n"
	    "mqtt: { brokers = [ \"mqtt://h\" ]; username = \"u\"; password_file = \"%s\"; };\n",
	    pw_crlf);
	load_ok(text, &cfg);
	assert_string_equal(cfg.mqtt.password, SECRET);
	ioca_config_free(&cfg);

	/* errors elsewhere and a missing username: the secret appears nowhere */
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ];\n"
		 "  password_file = \"%s\";\n  qos = 9; };\n",
		 pw);
	struct ioca_diag d = {0};
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(ioca_config_load_string("t.conf", text, NULL, &cfg, &d), IOCA_ERROR);
	const char *want[] = {"t.conf:4: mqtt: option 'qos' = 9 is out of range (0 to 2)",
			      "t.conf:3: mqtt: password_file needs a username", NULL};
	expect_lines(&d, want);
	assert_false(diag_contains(&d, SECRET));
	ioca_diag_clear(&d);

	char want_empty[512], want_missing[512];
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ]; username = \"u\";\n"
		 "  password_file = \"%s\"; };\n",
		 pw_empty);
	snprintf(want_empty, sizeof want_empty, "t.conf:3: mqtt: password_file '%s' is empty",
		 pw_empty);
	EXPECT(text, want_empty);
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ]; username = \"u\";\n"
		 "  password_file = \"%s/none.pass\"; };\n",
		 tmpdir);
	snprintf(want_missing, sizeof want_missing,
		 "t.conf:3: mqtt: option 'password_file': cannot read file '%s/none.pass': No such "
		 "file or directory",
		 tmpdir);
	EXPECT(text, want_missing);
	unlink(pw);
	unlink(pw_crlf);
	unlink(pw_empty);
	free(pw);
	free(pw_crlf);
	free(pw_empty);
}

static void test_commands(void **state)
{
	(void)state;
	char *key = tmp_path("cmd.key");
	char *short_key = tmp_path("short.key");
	write_file(key, "0123456789abcdef0123456789abcdef\n");
	write_file(short_key, "abc\n");
	char text[1024];
	char want[512];
	struct ioca_config cfg;

	load_ok(BASE, &cfg);
	assert_int_equal(cfg.commands.n_enabled, 0); /* off by default */
	ioca_config_free(&cfg);

	snprintf(text, sizeof text,
		 BASE "commands: { enabled = [ \"status\", \"restart\" ]; key_file = \"%s\"; "
		      "max_skew = 30; };\n",
		 key);
	load_ok(text, &cfg);
	assert_int_equal(cfg.commands.n_enabled, 2);
	assert_string_equal(cfg.commands.enabled[1], "restart");
	assert_int_equal(cfg.commands.key_len, 32); /* the newline is not part of the key */
	assert_memory_equal(cfg.commands.key, "0123456789abcdef0123456789abcdef", 32);
	assert_int_equal(cfg.commands.max_skew_s, 30);
	assert_int_equal(cfg.commands.max_request_bytes, 4096);
	assert_int_equal(cfg.commands.replay_rate, 100);
	ioca_config_free(&cfg);

	snprintf(text, sizeof text,
		 BASE "commands: { enabled = [ \"replay\" ]; key_file = \"%s\"; "
		      "replay_rate = 250; };\n",
		 key);
	load_ok(text, &cfg);
	assert_int_equal(cfg.commands.n_enabled, 1);
	assert_string_equal(cfg.commands.enabled[0], "replay");
	assert_int_equal(cfg.commands.replay_rate, 250);
	ioca_config_free(&cfg);

	EXPECT(BASE "commands: { enabled = [ \"status\" ]; };\n",
	       "t.conf:3: commands: enabled commands need a key_file to check requests with");
	snprintf(text, sizeof text,
		 BASE "commands: { enabled = [ \"reboot\" ]; key_file = \"%s\"; };\n", key);
	EXPECT(text, "t.conf:3: commands: unknown command 'reboot' (known: status, ping, reload, "
		     "restart, snapshot, replay)");
	snprintf(text, sizeof text,
		 BASE "commands: { enabled = [ \"snapshot\" ]; key_file = \"%s\"; };\n", key);
	load_ok(text, &cfg);
	assert_int_equal(cfg.commands.n_enabled, 1);
	assert_string_equal(cfg.commands.enabled[0], "snapshot");
	ioca_config_free(&cfg);
	snprintf(text, sizeof text,
		 BASE "commands: { enabled = [ \"ping\" ]; key_file = \"%s\"; };\n", short_key);
	snprintf(want, sizeof want, "t.conf:3: commands: key_file '%s' must hold 16..128 bytes",
		 short_key);
	EXPECT(text, want);
	free(key);
	free(short_key);
}

static void test_tls(void **state)
{
	(void)state;
	char *ca = tmp_path("ca.pem"), *cert = tmp_path("client.pem"),
	     *key = tmp_path("client.key");
	write_file(ca, "ca\n");
	write_file(cert, "cert\n");
	write_file(key, "key\n");
	char text[1024];
	struct ioca_config cfg;
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtts://h\" ];\n"
		 "  tls: { ca_file = \"%s\"; cert_file = \"%s\"; key_file = \"%s\"; insecure = "
		 "true; };\n"
		 "};\n",
		 ca, cert, key);
	load_ok(text, &cfg);
	assert_true(cfg.mqtt.has_tls);
	assert_string_equal(cfg.mqtt.tls.ca_file, ca);
	assert_string_equal(cfg.mqtt.tls.cert_file, cert);
	assert_string_equal(cfg.mqtt.tls.key_file, key);
	assert_true(cfg.mqtt.tls.insecure);
	ioca_config_free(&cfg);

	char want1[512];
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtts://h\" ];\n"
		 "  tls: {\n    ca_file = \"%s/none.pem\";\n    cert_file = \"%s\";\n"
		 "    insecur = true;\n  };\n};\n",
		 tmpdir, cert);
	snprintf(want1, sizeof want1,
		 "t.conf:4: mqtt, 'tls': option 'ca_file': cannot read file '%s/none.pem': No such "
		 "file or directory",
		 tmpdir);
	EXPECT(text, want1,
	       "t.conf:6: mqtt, 'tls': unknown option 'insecur' (did you mean 'insecure'?)",
	       "t.conf:5: mqtt, 'tls': cert_file and key_file must be given together");
	unlink(ca);
	unlink(cert);
	unlink(key);
	free(ca);
	free(cert);
	free(key);
}

/* ---- instances ---------------------------------------------------------- */

static void test_instance_core_keys(void **state)
{
	(void)state;
	struct ioca_config cfg;
	load_ok(
	    "agent: { id = \"edge-1\"; worker_memory_limit_mb = 256; };\n"
	    "mqtt: { brokers = [ \"mqtt://h\" ]; qos = 2; };\n"
	    "instances = (\n"
	    "  { name = \"a\"; plugin = \"cfgtest\"; },\n"
	    "  { name = \"b\"; plugin = \"cfgtest\"; qos = 0; max_rate = 0; memory_limit_mb = 64;\n"
	    "    hang_timeout = 10; snapshot_retain = true; }\n"
	    ");\n",
	    &cfg);
	assert_int_equal(cfg.n_instances, 2);
	const struct ioca_instance_config *a = ioca_config_find_instance(&cfg, "a");
	const struct ioca_instance_config *b = ioca_config_find_instance(&cfg, "b");
	assert_ptr_equal(a, &cfg.instances[0]);
	assert_ptr_equal(b, &cfg.instances[1]);
	assert_null(ioca_config_find_instance(&cfg, "c"));
	assert_string_equal(a->plugin, "cfgtest");
	assert_int_equal(a->qos, 2);
	assert_true(a->max_rate == 1000.0);
	assert_int_equal(a->memory_limit_mb, 256);
	assert_int_equal(a->hang_timeout_s, 30);
	assert_false(a->snapshot_retain);
	assert_int_equal(a->line, 4);
	assert_int_equal(b->qos, 0);
	assert_true(b->max_rate == 0.0);
	assert_int_equal(b->memory_limit_mb, 64);
	assert_int_equal(b->hang_timeout_s, 10);
	assert_true(b->snapshot_retain);
	assert_int_equal(b->line, 5);
	assert_non_null(a->options_text);
	assert_true(a->fingerprint != b->fingerprint);
	ioca_config_free(&cfg);
}

static void test_instance_duplicate(void **state)
{
	(void)state;
	EXPECT(BASE "instances = (\n"
		    "  { name = \"cam-1\"; plugin = \"cfgtest\"; },\n"
		    "  { name = \"cam-2\"; plugin = \"cfgtest\"; },\n"
		    "  { name = \"cam-1\"; plugin = \"cfgtest\"; }\n"
		    ");\n",
	       "t.conf:6: instance 'cam-1': duplicate instance name (first defined at line 4)");
}

static void test_instance_names(void **state)
{
	(void)state;
	EXPECT(BASE "instances = (\n"
		    "  { name = \"_agent\"; plugin = \"cfgtest\"; },\n"
		    "  { name = \"a b\"; plugin = \"cfgtest\"; },\n"
		    "  { plugin = \"cfgtest\"; },\n"
		    "  { name = \"x\"; },\n"
		    "  \"y\",\n"
		    "  { name = 7; plugin = \"cfgtest\"; }\n"
		    ");\n",
	       "t.conf:4: instance '_agent': the name '_agent' is reserved for the agent's own "
	       "events",
	       "t.conf:5: instance 'a b': name must be 1 to 64 characters of A-Z a-z 0-9 _ -",
	       "t.conf:6: instances element 3: missing required option 'name'",
	       "t.conf:7: instance 'x': missing required option 'plugin'",
	       "t.conf:8: instances: element 5 must be a group ({ ... })",
	       "t.conf:9: instances element 6: option 'name' must be a string");
	EXPECT(BASE "instances = { name = \"a\"; };\n",
	       "t.conf:3: top level: 'instances' must be a list of groups (( { ... }, ... ))");
}

static void test_unknown_plugin(void **state)
{
	(void)state;
	struct ioca_config cfg;
	struct ioca_diag d = {0};
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(ioca_config_load_string("t.conf",
						 BASE
						 "instances = (\n"
						 "  { name = \"x\";\n    plugin = \"nosuch\"; },\n"
						 "  { name = \"y\"; plugin = \"../cfgtest\"; }\n"
						 ");\n",
						 plugin_dir(), &cfg, &d),
			 IOCA_ERROR);
	if (d.count != 2)
		print_diag(&d);
	assert_int_equal(d.count, 2);
	char prefix[1024];
	snprintf(prefix, sizeof prefix,
		 "t.conf:5: instance 'x': unknown plugin 'nosuch' (plugins in %s: ", plugin_dir());
	assert_memory_equal(d.lines[0], prefix, strlen(prefix));
	/* the list names the plugins found, cfgtest among them */
	assert_non_null(strstr(d.lines[0] + strlen(prefix), "cfgtest"));
	assert_int_equal(d.lines[0][strlen(d.lines[0]) - 1], ')');
	snprintf(
	    prefix, sizeof prefix,
	    "t.conf:6: instance 'y': unknown plugin '../cfgtest' (plugins in %s: ", plugin_dir());
	assert_memory_equal(d.lines[1], prefix, strlen(prefix));
	ioca_diag_clear(&d);

	/* a folder without plugins */
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(
	    ioca_config_load_string("t.conf",
				    BASE "instances = ( { name = \"x\"; plugin = \"sim\"; } );\n",
				    tmpdir, &cfg, &d),
	    IOCA_ERROR);
	char want[512];
	snprintf(want, sizeof want,
		 "t.conf:3: instance 'x': unknown plugin 'sim' (plugins in %s: none)", tmpdir);
	const char *w[] = {want, NULL};
	expect_lines(&d, w);
	ioca_diag_clear(&d);
}

static void test_plugin_options(void **state)
{
	(void)state;
	EXPECT(BASE "instances = ( {\n"                                               /* 3 */
		    "  name = \"p\"; plugin = \"cfgtest\";\n"                         /* 4 */
		    "  cuont = 3;\n"                                                  /* 5 */
		    "  count = 500;\n"                                                /* 6 */
		    "  ratio = \"high\";\n"                                           /* 7 */
		    "  mode = \"medium\";\n"                                          /* 8 */
		    "  weights = [ 1.0, 20.0 ];\n"                                    /* 9 */
		    "  limits = { lo = 1.0; };\n"                                     /* 10 */
		    "  zones = ( { name = \"z\"; polygon = [ 0.0, 0.0, 1.0 ]; } );\n" /* 11 */
		    "  hang_timout = 5;\n"                                            /* 12 */
		    "  hang_timeout = 1;\n"                                           /* 13 */
		    "  enabled = 1;\n"                                                /* 14 */
		    "  tags = [ 1 ];\n"                                               /* 15 */
		    "} );\n",
	       "t.conf:13: instance 'p': option 'hang_timeout' = 1 is out of range (3 to 3600)",
	       "t.conf:5: instance 'p': unknown option 'cuont' (did you mean 'count'?)",
	       "t.conf:6: instance 'p': option 'count' = 500 is out of range (1 to 100)",
	       "t.conf:7: instance 'p': option 'ratio' must be a number",
	       "t.conf:8: instance 'p': option 'mode' = \"medium\" is not one of fast|slow",
	       "t.conf:9: instance 'p': option 'weights' element 2 = 20 is out of range (0 to 10)",
	       "t.conf:10: instance 'p', 'limits': unknown option 'lo' (did you mean 'low'?)",
	       "t.conf:11: instance 'p', 'zones' element 1 ('z'): option 'polygon' needs at least "
	       "6 elements, has 3",
	       "t.conf:11: instance 'p', 'zones' element 1 ('z'): option 'polygon' needs a "
	       "multiple of 2 elements, has 3",
	       "t.conf:12: instance 'p': unknown option 'hang_timout' (did you mean "
	       "'hang_timeout'?)",
	       "t.conf:14: instance 'p': option 'enabled' must be a boolean (true or false)",
	       "t.conf:15: instance 'p': option 'tags' element 1 must be a string");
	EXPECT(BASE "instances = ( {\n"
		    "  name = \"p\"; plugin = \"cfgtest\";\n"
		    "  zones = ( { polygon = [ 0.0, 0.0, 1.0, 0.0, 1.0, 1.0 ]; } );\n"
		    "} );\n",
	       "t.conf:5: instance 'p', 'zones' element 1: missing required option 'name'");
}

static void test_plugin_check_callback(void **state)
{
	(void)state;
	EXPECT(BASE "instances = ( {\n"
		    "  name = \"p\"; plugin = \"cfgtest\";\n"
		    "  limits = {\n    low = 5.0; high = 1.0; };\n"
		    "  token = \"t\";\n"
		    "} );\n",
	       "t.conf:5: instance 'p': limits: low (5) must be below high (1)",
	       "t.conf:3: instance 'p': a token needs mode = \"slow\"");
	/* not run while the types are wrong */
	EXPECT(BASE "instances = ( {\n"
		    "  name = \"p\"; plugin = \"cfgtest\";\n"
		    "  limits = { low = 5.0; high = \"1\"; };\n"
		    "} );\n",
	       "t.conf:5: instance 'p', 'limits': option 'high' must be a number");
	/* a number that cannot travel to the worker */
	EXPECT(BASE "instances = ( {\n"
		    "  name = \"p\"; plugin = \"cfgtest\";\n"
		    "  limits = { high = 1e999; };\n"
		    "} );\n",
	       "t.conf:5: instance 'p': number out of range");
}

static void test_all_problems_reported(void **state)
{
	(void)state;
	EXPECT("agent: { id = \"bad id\"; };\n"
	       "mqtt: { brokers = [ \"tcp://h\" ]; qos = 9; };\n"
	       "spool: { fsync = \"often\"; };\n"
	       "instances = ( { name = \"x\"; plugin = \"cfgtest\"; count = 0; } );\n",
	       "t.conf:1: agent: id 'bad id' must be 1 to 64 characters of A-Z a-z 0-9 _ -",
	       "t.conf:2: mqtt: option 'qos' = 9 is out of range (0 to 2)",
	       "t.conf:2: mqtt: broker 'tcp://h' is not a valid URL: must start with mqtt:// or "
	       "mqtts://",
	       "t.conf:3: spool: option 'fsync' = \"often\" is not one of always|interval|never",
	       "t.conf:4: instance 'x': option 'count' = 0 is out of range (1 to 100)");
}

/* The core keys plugins' checks accept (optcheck.c) are the schema's keys. */
static void test_core_keys_match_schema(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct ioca_option *o = ioca_schema_instance; o->key; o++, n++) {
		assert_non_null(ioca_instance_core_keys[n]);
		assert_string_equal(ioca_instance_core_keys[n], o->key);
	}
	assert_null(ioca_instance_core_keys[n]);
}

/* ---- options_text ------------------------------------------------------- */

static const config_setting_t *must(const config_setting_t *g, const char *key, int type)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	if (!s)
		fprintf(stderr, "missing %s\n", key);
	assert_non_null(s);
	assert_int_equal(config_setting_type(s), type);
	return s;
}

#define ROUNDTRIP_LABEL "q\"uote \\ back \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \t tab"

static void test_options_text_roundtrip(void **state)
{
	(void)state;
	static const char text[] =
	    BASE "instances = (\n"
		 "  { name = \"rt\"; plugin = \"cfgtest\";\n"
		 "    big = 12345678901234L;\n"
		 "    count = 7;\n"
		 "    ratio = 1.0;\n"
		 "    label = \"q\\\"uote \\\\ back \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \\t tab\";\n"
		 "    weights = [ 1.0, 2.5 ];\n"
		 "    tags = [ \"a\", \"b\\\"c\" ];\n"
		 "    limits = { low = 1.0; high = 2.0; };\n"
		 "    zones = ( { name = \"z1\"; polygon = [ 0.0, 0.0, 1.0, 0.0, 1.0, 1.0 ]; },\n"
		 "              { name = \"z2\"; polygon = [ 0.1, 0.1, 0.9, 0.1, 0.5, 0.9 ]; } );\n"
		 "  },\n"
		 "  { name = \"other\"; plugin = \"cfgtest\"; }\n"
		 ");\n";
	struct ioca_config cfg;
	load_ok(text, &cfg);
	const struct ioca_instance_config *ic = ioca_config_find_instance(&cfg, "rt");
	assert_non_null(ic);

	/* what the worker does: parse the text, use the root as the options */
	config_t back;
	config_init(&back);
	if (!config_read_string(&back, ic->options_text))
		fprintf(stderr, "options_text:\n%s\nline %d: %s\n", ic->options_text,
			config_error_line(&back), config_error_text(&back));
	const config_setting_t *root = config_root_setting(&back);
	assert_string_equal(config_setting_get_string(must(root, "name", CONFIG_TYPE_STRING)),
			    "rt");
	assert_string_equal(config_setting_get_string(must(root, "plugin", CONFIG_TYPE_STRING)),
			    "cfgtest");
	assert_true(config_setting_get_int64(must(root, "big", CONFIG_TYPE_INT64)) ==
		    12345678901234LL);
	assert_int_equal(config_setting_get_int(must(root, "count", CONFIG_TYPE_INT)), 7);
	assert_true(config_setting_get_float(must(root, "ratio", CONFIG_TYPE_FLOAT)) == 1.0);
	assert_string_equal(config_setting_get_string(must(root, "label", CONFIG_TYPE_STRING)),
			    ROUNDTRIP_LABEL);
	const config_setting_t *w = must(root, "weights", CONFIG_TYPE_ARRAY);
	assert_int_equal(config_setting_length(w), 2);
	assert_int_equal(config_setting_type(config_setting_get_elem(w, 0)), CONFIG_TYPE_FLOAT);
	assert_true(config_setting_get_float_elem(w, 1) == 2.5);
	const config_setting_t *tags = must(root, "tags", CONFIG_TYPE_ARRAY);
	assert_string_equal(config_setting_get_string_elem(tags, 1), "b\"c");
	const config_setting_t *limits = must(root, "limits", CONFIG_TYPE_GROUP);
	assert_true(config_setting_get_float(must(limits, "high", CONFIG_TYPE_FLOAT)) == 2.0);
	const config_setting_t *zones = must(root, "zones", CONFIG_TYPE_LIST);
	assert_int_equal(config_setting_length(zones), 2);
	const config_setting_t *z2 = config_setting_get_elem(zones, 1);
	assert_int_equal(config_setting_type(z2), CONFIG_TYPE_GROUP);
	assert_string_equal(config_setting_get_string(must(z2, "name", CONFIG_TYPE_STRING)), "z2");
	assert_true(config_setting_get_float_elem(must(z2, "polygon", CONFIG_TYPE_ARRAY), 5) ==
		    0.9);

	/* only what was written travels: defaults (plugin options and core keys) do not */
	assert_null(config_setting_get_member(root, "enabled"));
	assert_null(config_setting_get_member(root, "mode"));
	assert_null(config_setting_get_member(root, "qos"));
	assert_null(config_setting_get_member(root, "max_rate"));

	/* the writing-back check below compares the text as sent */
	char *again = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&again, &len);
	config_write(&back, f);
	fclose(f);
	assert_string_equal(again, ic->options_text);
	free(again);

	/* the worker fills the plugin's defaults in again, marked as defaults */
	struct ioca_loaded_plugin p;
	char err[256];
	assert_int_equal(ioca_plugin_open(plugin_dir(), "cfgtest", &p, err, sizeof err), IOCA_OK);
	struct ioca_diag diag = {0};
	assert_int_equal(ioca_optcheck_group(config_root_setting(&back), p.desc->options,
					     ioca_instance_core_keys, "options", "options", &diag),
			 0);
	assert_true(config_setting_get_bool(must(root, "enabled", CONFIG_TYPE_BOOL)));
	assert_string_equal(config_setting_get_string(must(root, "mode", CONFIG_TYPE_STRING)),
			    "fast");
	assert_null(config_setting_get_member(root, "token")); /* optional, not set */

	/* through the plugin accessors, as create() will read them */
	const struct ioca_opts *opts = ioca_opts_from_setting(root);
	assert_true(ioca_opts_is_set(opts, "count"));
	assert_false(ioca_opts_is_set(opts, "mode"));
	assert_false(ioca_opts_is_set(opts, "token"));
	assert_true(ioca_opts_int(opts, "big") == 12345678901234LL);
	assert_true(ioca_opts_float(opts, "ratio") == 1.0);
	assert_int_equal(ioca_opts_count(opts, "zones"), 2);
	assert_string_equal(ioca_opts_string(ioca_opts_group_at(opts, "zones", 0), "name"), "z1");

	config_destroy(&back);
	ioca_plugin_close(&p);

	/* the fingerprint follows the options, and only them */
	uint64_t fp_rt = ic->fingerprint;
	uint64_t fp_other = ioca_config_find_instance(&cfg, "other")->fingerprint;
	ioca_config_free(&cfg);
	load_ok(text, &cfg);
	assert_true(ioca_config_find_instance(&cfg, "rt")->fingerprint == fp_rt);
	ioca_config_free(&cfg);
	char *changed = strdup(text);
	char *pos = strstr(changed, "count = 7");
	assert_non_null(pos);
	pos[8] = '8';
	load_ok(changed, &cfg);
	assert_true(ioca_config_find_instance(&cfg, "rt")->fingerprint != fp_rt);
	assert_true(ioca_config_find_instance(&cfg, "other")->fingerprint == fp_other);
	ioca_config_free(&cfg);
	free(changed);
}

/* ---- @include ----------------------------------------------------------- */

/* The folder's name holds a wildcard character too: it must match only itself. */
static void test_include_glob(void **state)
{
	(void)state;
	char *dir = tmp_path("inc[x]");
	char *confd = tmp_path("inc[x]/conf.d");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(confd, 0700), 0);
	char *main_path = tmp_path("inc[x]/main.conf");
	char *a = tmp_path("inc[x]/conf.d/10-a.conf");
	char *b = tmp_path("inc[x]/conf.d/20-b.conf");
	char *ignored = tmp_path("inc[x]/conf.d/notes.txt");
	write_file(main_path, "agent: { id = \"edge-1\"; };\n"
			      "mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
			      "instances = (\n"
			      "  { name = \"first\"; plugin = \"cfgtest\"; }\n"
			      "@include \"conf.d/*.conf\"\n"
			      ");\n"
			      "spool: { inflight = 0; };\n");
	write_file(a, ", { name = \"second\"; plugin = \"cfgtest\";\n"
		      "    count = 1000; }\n");
	write_file(b, "# a comment\n"
		      ", { name = \"first\"; plugin = \"cfgtest\"; }\n");
	write_file(ignored, "this is not libconfig\n");
	char *subdir = tmp_path("inc[x]/conf.d/folder.conf");
	assert_int_equal(mkdir(subdir, 0700), 0); /* a matching folder is skipped */

	struct ioca_config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct ioca_diag d = {0};
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_ERROR);
	char w1[512], w2[512], w3[512];
	snprintf(w1, sizeof w1, "%s:7: spool: option 'inflight' = 0 is out of range (1 to 65535)",
		 main_path);
	snprintf(w2, sizeof w2,
		 "%s:2: instance 'second': option 'count' = 1000 is out of range (1 to 100)", a);
	snprintf(w3, sizeof w3,
		 "%s:2: instance 'first': duplicate instance name (first defined at %s:4)", b,
		 main_path);
	const char *want[] = {w1, w2, w3, NULL};
	expect_lines(&d, want);
	ioca_diag_clear(&d);

	/* fixed, it loads with the instances in file order */
	write_file(main_path, "agent: { id = \"edge-1\"; };\n"
			      "mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
			      "instances = (\n"
			      "  { name = \"first\"; plugin = \"cfgtest\"; }\n"
			      "@include \"conf.d/*.conf\"\n"
			      ");\n");
	write_file(a, ", { name = \"second\"; plugin = \"cfgtest\";\n"
		      "    count = 10; }\n");
	write_file(b, "# a comment\n"
		      ", { name = \"third\"; plugin = \"cfgtest\"; }\n");
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_OK);
	assert_int_equal(cfg.n_instances, 3);
	assert_string_equal(cfg.instances[0].name, "first");
	assert_string_equal(cfg.instances[1].name, "second");
	assert_string_equal(cfg.instances[2].name, "third");
	assert_int_equal(cfg.instances[1].line, 1);
	assert_int_equal(cfg.instances[2].line, 2);
	ioca_config_free(&cfg);

	/* a syntax error inside an included file names that file and line */
	write_file(b, "# a comment\n, { name = ; plugin = \"cfgtest\"; }\n");
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_ERROR);
	snprintf(w1, sizeof w1,
		 "%s:2: syntax error: missing value\n    , { name = ; plugin = \"cfgtest\"; }\n"
		 "               ^",
		 b);
	const char *want_syntax[] = {w1, NULL};
	expect_lines(&d, want_syntax);
	ioca_diag_clear(&d);

	unlink(a);
	unlink(b);
	unlink(ignored);
	/* no match includes nothing */
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_OK);
	assert_int_equal(cfg.n_instances, 1);
	ioca_config_free(&cfg);
	unlink(main_path);
	rmdir(subdir);
	free(subdir);
	rmdir(confd);
	rmdir(dir);
	free(dir);
	free(confd);
	free(main_path);
	free(a);
	free(b);
	free(ignored);
}

/* A FIFO (or any non-regular file) where a file is expected is refused at
 * once: open() of a FIFO without a writer would block the core forever. */
static void test_non_regular_files(void **state)
{
	(void)state;
	char *fifo = tmp_path("fifo.conf");
	char *main_path = tmp_path("with-fifo.conf");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(NON_REGULAR_ALARM_S); /* a blocking open ends the test, not the run */
	struct ioca_config cfg;
	struct ioca_diag d = {0};

	/* the config itself */
	assert_int_equal(ioca_config_load(fifo, plugin_dir(), &cfg, &d), IOCA_ERROR);
	assert_int_equal(d.count, 1);
	assert_non_null(strstr(d.lines[0], "not a regular file (a FIFO)"));
	assert_non_null(strstr(d.lines[0], fifo));
	ioca_diag_clear(&d);

	/* an @include, with the line that names it */
	char text[2048];
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
		 "@include \"%s\"\n",
		 fifo);
	write_file(main_path, text);
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_ERROR);
	assert_int_equal(d.count, 1);
	assert_non_null(strstr(d.lines[0], "with-fifo.conf:3: "));
	assert_non_null(strstr(d.lines[0], "not a regular file (a FIFO)"));
	ioca_diag_clear(&d);

	/* a file option of the core and of a plugin */
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ]; username = \"u\";\n"
		 "  password_file = \"%s\"; };\n"
		 "instances = ( { name = \"a\"; plugin = \"cfgtest\"; cert = \"%s\"; } );\n",
		 fifo, tmpdir);
	write_file(main_path, text);
	assert_int_equal(ioca_config_load(main_path, plugin_dir(), &cfg, &d), IOCA_ERROR);
	print_diag(&d);
	assert_int_equal(d.count, 2);
	assert_non_null(strstr(d.lines[0], "with-fifo.conf:3: "));
	assert_non_null(strstr(d.lines[0], "not a regular file (a FIFO)"));
	assert_non_null(strstr(d.lines[1], "with-fifo.conf:4: "));
	assert_non_null(strstr(d.lines[1], "not a regular file (a directory)"));
	ioca_diag_clear(&d);
	alarm(0);
	unlink(fifo);
	unlink(main_path);
	free(fifo);
	free(main_path);
}

static void test_include_forms(void **state)
{
	(void)state;
	char *main_path = tmp_path("forms.conf");
	char *part = tmp_path("part.conf");
	char *loop = tmp_path("loop.conf");
	char text[2048];
	write_file(part, "spool: { inflight = 5; };\n");

	/* absolute path, a directive inside a comment, text after the directive */
	snprintf(text, sizeof text,
		 "agent: { id = \"edge-1\"; };\n"
		 "/*\n"
		 "@include \"does-not-exist.conf\"\n"
		 "*/\n"
		 "  @include \"%s\" # trailing comment\n"
		 "mqtt: { brokers = [ \"mqtt://h\" ]; };\n",
		 part);
	write_file(main_path, text);
	struct ioca_config cfg;
	struct ioca_diag d = {0};
	assert_int_equal(ioca_config_load(main_path, NULL, &cfg, &d), IOCA_OK);
	assert_int_equal(cfg.spool.inflight, 5);
	ioca_config_free(&cfg);

	/* a missing file */
	write_file(main_path, "agent: { id = \"edge-1\"; };\n"
			      "mqtt: { brokers = [ \"mqtt://h\" ]; };\n"
			      "@include \"missing.conf\"\n");
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(ioca_config_load(main_path, NULL, &cfg, &d), IOCA_ERROR);
	char w[512];
	snprintf(w, sizeof w, "%s:3: cannot include '%s/missing.conf': No such file or directory",
		 main_path, tmpdir);
	const char *want[] = {w, NULL};
	expect_lines(&d, want);
	ioca_diag_clear(&d);

	/* an include loop ends at the depth limit */
	write_file(loop, "@include \"loop.conf\"\n");
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(ioca_config_load(loop, NULL, &cfg, &d), IOCA_ERROR);
	snprintf(w, sizeof w, "%s:1: @include \"loop.conf\": includes nested more than 10 deep",
		 loop);
	expect_lines(&d, want);
	ioca_diag_clear(&d);

	/* the top file itself missing */
	memset(&cfg, 0, sizeof cfg);
	snprintf(w, sizeof w,
		 "%s/nope.conf: cannot read the configuration: No such file or directory", tmpdir);
	char *nope = tmp_path("nope.conf");
	assert_int_equal(ioca_config_load(nope, NULL, &cfg, &d), IOCA_ERROR);
	expect_lines(&d, want);
	ioca_diag_clear(&d);
	free(nope);

	unlink(main_path);
	unlink(part);
	unlink(loop);
	free(main_path);
	free(part);
	free(loop);
}

/* ---- the shipped files --------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(f);
	fclose(out);
	return buf;
}

static char *replace_all(char *text, const char *from, const char *to)
{
	char *pos;
	while ((pos = strstr(text, from))) {
		char *out = NULL;
		assert_true(asprintf(&out, "%.*s%s%s", (int)(pos - text), text, to,
				     pos + strlen(from)) > 0);
		free(text);
		text = out;
	}
	return text;
}

static void test_shipped_iocagent_conf(void **state)
{
	(void)state;
	const char *src = getenv("IOCA_SOURCE_DIR");
	assert_non_null(src);
	char *path = NULL;
	assert_true(asprintf(&path, "%s/conf/iocagent.conf", src) > 0);
	struct ioca_config cfg;
	struct ioca_diag d = {0};
	int rc = ioca_config_load(path, plugin_dir(), &cfg, &d);
	print_diag(&d);
	assert_int_equal(rc, IOCA_OK);
	assert_string_equal(cfg.agent.state_dir, IOCA_DEFAULT_STATE_DIR);
	assert_int_equal(cfg.mqtt.n_brokers, 1);
	assert_int_equal(cfg.n_instances, 0);
	ioca_config_free(&cfg);
	free(path);
}

/* Every plugin = "X" in text has X.so in the plugin folder. */
static bool plugins_built(const char *text)
{
	static const char key[] = "plugin = \"";
	for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
		const char *name = p + strlen(key);
		const char *end = strchr(name, '"');
		assert_non_null(end);
		char *so = NULL;
		assert_true(asprintf(&so, "%s/%.*s.so", plugin_dir(), (int)(end - name), name) > 0);
		bool ok = access(so, R_OK) == 0;
		if (!ok)
			fprintf(stderr, "%s not built: demo.conf not checked\n", so);
		free(so);
		if (!ok)
			return false;
	}
	return true;
}

static void test_shipped_demo_conf(void **state)
{
	(void)state;
	const char *src = getenv("IOCA_SOURCE_DIR");
	assert_non_null(src);
	char *path = NULL;
	assert_true(asprintf(&path, "%s/conf/demo.conf", src) > 0);
	char *text = read_all(path);
	text = replace_all(text, "@BROKER_PORT@", "18830");
	text = replace_all(text, "@STATE_DIR@", tmpdir);
	text = replace_all(text, "@PLUGIN_DIR@", plugin_dir());
	text = replace_all(text, "@CAMERA_URL@", "rtsp://127.0.0.1:8554/demo");
	if (!plugins_built(text)) {
		free(text);
		free(path);
		skip();
	}
	struct ioca_config cfg;
	struct ioca_diag d = {0};
	int rc = ioca_config_load_string(path, text, NULL, &cfg, &d);
	print_diag(&d);
	assert_int_equal(rc, IOCA_OK);
	assert_int_equal(cfg.mqtt.brokers[0].port, 18830);
	assert_string_equal(cfg.agent.state_dir, tmpdir);
	assert_string_equal(cfg.agent.plugin_dir, plugin_dir());
	/* the demo's telemetry and event emitters */
	const struct ioca_instance_config *t = ioca_config_find_instance(&cfg, "sim-telemetry");
	const struct ioca_instance_config *e = ioca_config_find_instance(&cfg, "sim-events");
	assert_non_null(t);
	assert_non_null(e);
	assert_string_equal(t->plugin, "sim");
	assert_string_equal(e->plugin, "sim");
	assert_non_null(strstr(e->options_text, "kind = \"event\";"));
	ioca_config_free(&cfg);
	free(text);
	free(path);
}

/*
 * Keep every plugin mapped for the whole run. The loader dlclose()s plugins
 * after validation; unmapping camera.so also unloads the FFmpeg libraries,
 * whose one-time allocations are then reachable from nowhere and reported
 * by LeakSanitizer although nothing leaks in the agent.
 */
static void pin_plugins(void)
{
	DIR *d = opendir(plugin_dir());
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		char *so = NULL;
		if (asprintf(&so, "%s/%s", plugin_dir(), e->d_name) < 0)
			continue;
		dlopen(so, RTLD_NOW | RTLD_NODELETE);
		free(so);
	}
	closedir(d);
}

static int setup(void **state)
{
	(void)state;
	pin_plugins();
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes what failed tests left behind too. */
static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_unknown_key_suggests),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_missing_section),
	    cmocka_unit_test(test_wrong_type),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_enum_values),
	    cmocka_unit_test(test_missing_required_key),
	    cmocka_unit_test(test_agent_id_pattern),
	    cmocka_unit_test(test_broker_urls_invalid),
	    cmocka_unit_test(test_broker_urls_parsed),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_explicit_values),
	    cmocka_unit_test(test_large_integers),
	    cmocka_unit_test(test_mqtt_cross_checks),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_instance_core_keys),
	    cmocka_unit_test(test_instance_duplicate),
	    cmocka_unit_test(test_instance_names),
	    cmocka_unit_test(test_unknown_plugin),
	    cmocka_unit_test(test_plugin_options),
	    cmocka_unit_test(test_plugin_check_callback),
	    cmocka_unit_test(test_all_problems_reported),
	    cmocka_unit_test(test_core_keys_match_schema),
	    cmocka_unit_test(test_options_text_roundtrip),
	    cmocka_unit_test(test_include_glob),
	    cmocka_unit_test(test_include_forms),
	    cmocka_unit_test(test_non_regular_files),
	    cmocka_unit_test(test_invalid_utf8_refused),
	    cmocka_unit_test(test_mqtt_start_refusals),
	    cmocka_unit_test(test_path_option_exists),
	    cmocka_unit_test(test_shipped_iocagent_conf),
	    cmocka_unit_test(test_shipped_demo_conf),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
