/*
 * The agent's single MQTT session: libmosquitto driven from the core's poll
 * loop (mosquitto_socket + loop_read/loop_write/loop_misc, no library thread).
 *
 * Key invariant: libmosquitto never holds more than `spool.inflight` records.
 * Records are pulled from the queue only while connected and while the
 * in-flight table has room; each publish's message id maps to its queue seq,
 * and the record is acked in the queue on PUBACK/PUBCOMP (QoS 1/2) or once
 * libmosquitto has written it (QoS 0).
 *
 * Delivery across connection losses: libmosquitto keeps its QoS 1/2 messages
 * and resends them itself (with DUP) after the next CONNACK, whether or not the
 * broker kept the session, so those stay in the table and are not pulled
 * again. QoS 0 packets that were not written when the connection dropped are
 * discarded by libmosquitto on reconnect: their entries are removed and the
 * queue is rewound, and after a rewind records still tracked in the table are
 * skipped instead of being published twice. The exception are records sent
 * with an MQTT 5 topic alias, which means nothing on the next connection:
 * when one is left in flight, a fresh client sends the window again from the
 * queue (forget_aliases, reset_client).
 *
 * What blocks: libmosquitto resolves the broker host name with getaddrinfo()
 * inside mosquitto_connect_bind_async(), so a slow DNS server can stall the
 * loop for the resolver's timeout; TCP connect and the TLS handshake are
 * non-blocking. Brokers given as IP addresses never block.
 */
#include "mqtt_session.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker_check.h"
#include "log.h"
#include "mosq_io.h"
#include "timeutil.h"
#include "topic_alias.h"

#define INBOX_QOS         1 /* requests to the agent are delivered at least once */
#define JSON_CONTENT_TYPE "application/json"
/* Loop wake-up while a session is up (keepalive has 1 s resolution). */
#define MISC_INTERVAL_MS 1000
/* The system's CA certificates (Debian's ca-certificates), when no ca_file is given. */
#define IOCA_SYSTEM_CA_PATH "/etc/ssl/certs"
/* Give up on a connection attempt (TCP + TLS + CONNACK) after this long. */
#define CONNECT_TIMEOUT_MIN_MS 5000
#define CONNECT_TIMEOUT_MAX_MS 30000
/* At shutdown, wait at least this long for the offline status PUBACK. */
#define SHUTDOWN_STATUS_MIN_MS 500
/* Rate limit for repeated connection and refusal complaints. */
#define ERROR_LOG_INTERVAL_MS 60000
/* Slots for non-record publishes (status, metrics) in the mid table. */
#define EXTRA_SLOTS 32
/* PUBCOMP "packet identifier not found": the broker already owned the message. */
#define REASON_PACKET_ID_NOT_FOUND 0x92
#define REASON_FAILURE_MIN         0x80
#define SEQ_TEXT_LEN               24
/* A connection lost this soon after its CONNACK, with the same record still
 * the oldest unacknowledged one, counts against that record. */
#define SUSPECT_WINDOW_MS  5000
#define VARINT_MAX_BYTES   4
#define VARINT_DIGIT       128
#define PROP_ID_BYTES      1
#define PROP_STR_LEN_BYTES 2
#define PROP_INT32_BYTES   4
#define PACKET_ID_BYTES    2
#define TOPIC_LEN_BYTES    2
#define PROP_INT16_BYTES   2
/* Going back to the first broker: how long to wait for the acks of what is
 * in flight, and for the PUBACK of the offline status left behind. */
#define FAILBACK_DRAIN_MS 5000
#define FAILBACK_LEAVE_MS 2000
/* Client id of the check of the first broker: <agent.id> + this. */
#define CHECK_CLIENT_ID_SUFFIX "-check"

enum conn_state {
	ST_IDLE,       /* not started */
	ST_CONNECTING, /* TCP/TLS/CONNECT sent, waiting for CONNACK */
	ST_CONNECTED,
	ST_WAIT_RETRY, /* backing off */
	ST_STOPPED,
};

/* Going back to brokers[0] with mqtt.prefer_first (see failback_step). */
enum failback_phase {
	FB_IDLE,          /* on the first broker, or not preferring it */
	FB_WAITING,       /* on a later broker: the next check is due at fb_due_ms */
	FB_CHECKING,      /* a check of the first broker is running */
	FB_DRAINING,      /* the first answered: no new records, acks awaited until fb_due_ms */
	FB_LEAVING,       /* offline status published here, its PUBACK awaited until fb_due_ms */
	FB_DISCONNECTING, /* DISCONNECT sent; on_disconnect moves to the first */
};

enum slot_kind {
	SLOT_FREE = 0,
	SLOT_RECORD, /* a queue record: ack on completion */
	SLOT_OTHER,  /* status / metrics: nothing to ack */
};

/* One publish libmosquitto holds, keyed by message id (open addressing). */
struct slot {
	uint8_t kind;
	uint8_t qos;
	bool aliased; /* sent with a Topic Alias: valid on its connection only */
	uint16_t mid;
	uint64_t seq;
	int64_t accepted_ms;
};

struct broker {
	char *host;
	int port;
	bool tls;
	char *url;
};

struct ioca_mqtt {
	struct mosquitto *mosq;
	struct ioca_queue *queue;

	/* copied configuration (the config may be freed on reload) */
	struct broker *brokers;
	size_t n_brokers;
	int protocol;
	int keepalive_s;
	int64_t message_expiry_s;
	int reconnect_min_ms;
	int reconnect_max_ms;
	int window;
	uint32_t cfg_max_packet;    /* mqtt.max_packet_size, 0 = none */
	uint32_t server_max_packet; /* from the v5 CONNACK, 0 = none */
	/* what a new libmosquitto client is set up with (see reset_client) */
	char *client_id;
	char *username;
	char *password;
	char *ca_file, *cert_file, *key_file;
	bool tls;
	bool insecure;
	int64_t session_expiry_s;
	char *will_json;
	char *status_topic;
	char *status_json;
	/* At most one status publish is left to libmosquitto at a time; a newer
	 * status waits (status_dirty) and goes out when that one completes. */
	bool status_in_flight;
	bool status_dirty;
	uint16_t status_mid;

	enum conn_state state;
	size_t broker_idx;
	size_t round_failures; /* failed attempts since the last full round */
	int failures;          /* consecutive failed rounds, for backoff */
	int64_t attempt_ms;    /* mono time the current attempt started */
	int64_t retry_at_ms;
	bool disconnect_seen; /* on_disconnect ran for the current attempt */
	bool refused;         /* the broker refused the current attempt (CONNACK) */
	bool stopping;
	bool need_rewind;
	int64_t connected_ms; /* mono time of the last CONNACK */

	/* a record the broker seems to close the connection on */
	uint64_t suspect_seq;
	int suspect_drops;
	uint64_t poison_seq;    /* reject when next handed out (0: none) */
	uint64_t probe_until;   /* one record at a time until this seq is done (0: off) */
	size_t closed_on_bytes; /* smallest record the broker closed the connection on, 0: none */
	bool need_reset;        /* drop libmosquitto's copy of the in-flight window */

	ioca_mqtt_rejected_fn on_rejected;
	void *rejected_ctx;

	/* mid -> publish table */
	struct slot *slots;
	size_t cap; /* power of two */
	size_t n_records;
	size_t n_other;
	uint64_t max_tracked_seq;
	/* records' topic aliases on the current connection (MQTT 5) */
	struct ioca_topic_alias *aliases;

	/* completion of the publish currently inside mosquitto_publish() */
	bool in_publish;
	bool early_done;
	uint16_t early_mid;
	int early_reason;

	struct ioca_mqtt_stats st;
	double latency_sum_ms;
	char lib_error[128]; /* last error libmosquitto logged */

	unsigned short rng[3]; /* private jitter state (nrand48) */

	struct ioca_ratelimit rl_conn;
	struct ioca_ratelimit rl_refused;
	struct ioca_ratelimit rl_queue;

	/* inbox: one subscription, (re)made on every connect */
	char *sub_filter;
	ioca_mqtt_message_fn on_message;
	void *on_message_ctx;

	/* going back to brokers[0] (mqtt.prefer_first) */
	bool prefer_first;
	int64_t prefer_check_ms;
	char *check_client_id;
	struct ioca_broker_check *check;
	enum failback_phase fb_phase;
	int64_t fb_due_ms;
};

/* ---- small utilities --------------------------------------------------- */

static void set_error(struct ioca_mqtt *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct ioca_mqtt *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->st.last_error, sizeof(m->st.last_error), fmt, ap);
	va_end(ap);
}

static const struct broker *cur_broker(const struct ioca_mqtt *m)
{
	return &m->brokers[m->broker_idx];
}

static bool is_permanent_publish_error(int rc)
{
	switch (rc) {
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
	case MOSQ_ERR_RETAIN_NOT_SUPPORTED:
	case MOSQ_ERR_NOT_SUPPORTED:
	case MOSQ_ERR_DUPLICATE_PROPERTY:
	case MOSQ_ERR_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/* Bytes of an MQTT variable byte integer. */
static size_t varint_bytes(size_t v)
{
	size_t n = 1;
	while (v >= VARINT_DIGIT && n < VARINT_MAX_BYTES) {
		v /= VARINT_DIGIT;
		n++;
	}
	return n;
}

/* Bytes of a v5 string property (identifier, length, text). */
static size_t prop_str_bytes(const char *text)
{
	return PROP_ID_BYTES + PROP_STR_LEN_BYTES + strlen(text);
}

/* The whole PUBLISH packet: fixed header, topic, packet id, properties, payload. */
static size_t publish_packet_bytes(const struct ioca_mqtt *m, const char *topic, size_t payload_len,
				   int qos, size_t props_len)
{
	size_t rl = TOPIC_LEN_BYTES + strlen(topic) + (qos > 0 ? PACKET_ID_BYTES : 0) + payload_len;
	if (m->protocol == MQTT_PROTOCOL_V5)
		rl += varint_bytes(props_len) + props_len;
	return 1 + varint_bytes(rl) + rl;
}

/* Property bytes record_props() adds to a record's PUBLISH. */
static size_t record_props_bytes(const struct ioca_mqtt *m, const struct ioca_record *r)
{
	if (m->protocol != MQTT_PROTOCOL_V5)
		return 0;
	size_t n = 0;
	const char *ct = r->kind == IOCA_RECORD_JSON ? JSON_CONTENT_TYPE : r->content_type;
	if (ct && ct[0])
		n += prop_str_bytes(ct);
	if (m->message_expiry_s > 0)
		n += PROP_ID_BYTES + PROP_INT32_BYTES;
	if (r->kind == IOCA_RECORD_BLOB) {
		char seq[SEQ_TEXT_LEN];
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
		n += prop_str_bytes("seq") + PROP_STR_LEN_BYTES + strlen(seq);
	}
	if (r->historical)
		n += prop_str_bytes("historical") + PROP_STR_LEN_BYTES + strlen("true");
	return n;
}

/* The maximum packet size in force: the smaller of configured and broker's. */
static uint32_t packet_limit(const struct ioca_mqtt *m)
{
	uint32_t a = m->cfg_max_packet, b = m->server_max_packet;
	if (a && b)
		return a < b ? a : b;
	return a ? a : b;
}

static size_t record_packet_bytes(const struct ioca_mqtt *m, const struct ioca_record *r)
{
	int qos = r->qos > 2 ? 2 : r->qos;
	return publish_packet_bytes(m, r->topic, r->payload_len, qos, record_props_bytes(m, r));
}

/* A record given up for good: counted, logged, handed to the owner, released. */
static void reject(struct ioca_mqtt *m, const struct ioca_record *r, const char *why)
{
	size_t size = record_packet_bytes(m, r);
	m->st.refused++;
	ioca_log_limited(&m->rl_refused, IOCA_LL_WARNING,
			 "mqtt: record %llu on %s (%zu bytes) rejected: %s (%llu rejected so far)",
			 (unsigned long long)r->seq, r->topic, size, why,
			 (unsigned long long)m->st.refused);
	if (m->on_rejected)
		m->on_rejected(m->rejected_ctx, r, size, packet_limit(m), why);
	ioca_queue_ack(m->queue, r->seq);
}

/* ---- mid table (linear probing, backward-shift deletion) ---------------- */

static size_t slot_home(const struct ioca_mqtt *m, uint16_t mid)
{
	return (size_t)mid & (m->cap - 1);
}

static struct slot *slot_find(struct ioca_mqtt *m, uint16_t mid)
{
	size_t i = slot_home(m, mid);
	for (size_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].kind == SLOT_FREE)
			return NULL;
		if (m->slots[i].mid == mid)
			return &m->slots[i];
	}
	return NULL;
}

static bool slot_insert(struct ioca_mqtt *m, const struct slot *s)
{
	if (m->n_records + m->n_other + 1 >= m->cap)
		return false;
	size_t i = slot_home(m, s->mid);
	while (m->slots[i].kind != SLOT_FREE)
		i = (i + 1) & (m->cap - 1);
	m->slots[i] = *s;
	if (s->kind == SLOT_RECORD) {
		m->n_records++;
		if (s->seq > m->max_tracked_seq)
			m->max_tracked_seq = s->seq;
	} else {
		m->n_other++;
	}
	return true;
}

static void slot_remove(struct ioca_mqtt *m, struct slot *s)
{
	size_t i = (size_t)(s - m->slots);
	if (s->kind == SLOT_RECORD)
		m->n_records--;
	else
		m->n_other--;
	m->slots[i].kind = SLOT_FREE;
	/* Shift later members of the probe run back so lookups stay correct. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (m->slots[j].kind == SLOT_FREE)
			return;
		size_t home = slot_home(m, m->slots[j].mid);
		bool between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
		if (between)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].kind = SLOT_FREE;
		i = j;
	}
}

static bool seq_tracked(const struct ioca_mqtt *m, uint64_t seq)
{
	if (seq > m->max_tracked_seq || m->n_records == 0)
		return false;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].kind == SLOT_RECORD && m->slots[i].seq == seq)
			return true;
	return false;
}

/* The connection is gone: unwritten QoS 0 packets are lost with it. */
static void forget_qos0(struct ioca_mqtt *m)
{
	bool again = true;
	while (again) {
		again = false;
		for (size_t i = 0; i < m->cap; i++) {
			struct slot *s = &m->slots[i];
			if (s->kind != SLOT_FREE && s->qos == 0) {
				if (s->kind == SLOT_RECORD)
					m->need_rewind = true;
				slot_remove(m, s);
				again = true; /* the shift may have moved an entry back over i */
				break;
			}
		}
	}
}

/* ---- completion --------------------------------------------------------- */

static void record_done(struct ioca_mqtt *m, uint64_t seq, int64_t accepted_ms, int reason)
{
	if (seq == m->suspect_seq) {
		m->suspect_seq = 0;
		m->suspect_drops = 0;
	}
	if (m->probe_until && seq >= m->probe_until)
		m->probe_until = 0;
	if (reason >= REASON_FAILURE_MIN && reason != REASON_PACKET_ID_NOT_FOUND) {
		m->st.refused++;
		ioca_log_limited(&m->rl_refused, IOCA_LL_WARNING,
				 "mqtt: broker refused record %llu: %s (dropped)",
				 (unsigned long long)seq, mosquitto_reason_string(reason));
	} else {
		m->st.delivered++;
		double lat = (double)(ioca_now_wall_ms() - accepted_ms);
		if (lat < 0)
			lat = 0;
		m->latency_sum_ms += lat;
		m->st.latency_samples++;
		if (lat > m->st.latency_ms_max)
			m->st.latency_ms_max = lat;
	}
	ioca_queue_ack(m->queue, seq);
}

static void publish_status(struct ioca_mqtt *m, const char *json);

static void on_publish_cb(struct mosquitto *mosq, void *obj, int mid, int reason,
			  const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	struct ioca_mqtt *m = obj;
	struct slot *s = slot_find(m, (uint16_t)mid);
	if (!s) {
		if (m->in_publish) {
			/* QoS 0 written before mosquitto_publish() returned its mid. */
			m->early_done = true;
			m->early_mid = (uint16_t)mid;
			m->early_reason = reason;
		}
		return;
	}
	struct slot copy = *s;
	slot_remove(m, s);
	if (copy.kind == SLOT_RECORD) {
		record_done(m, copy.seq, copy.accepted_ms, reason);
		return;
	}
	if (m->status_in_flight && copy.mid == m->status_mid) {
		m->status_in_flight = false;
		if (m->status_dirty && m->state == ST_CONNECTED && m->status_json)
			publish_status(m, m->status_json);
	}
}

static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	struct ioca_mqtt *m = obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		snprintf(m->lib_error, sizeof(m->lib_error), "%s", str);
}

/* ---- connection state machine ------------------------------------------- */

static int connect_timeout_ms(const struct ioca_mqtt *m)
{
	int ms = m->keepalive_s * 1000;
	if (ms < CONNECT_TIMEOUT_MIN_MS)
		ms = CONNECT_TIMEOUT_MIN_MS;
	if (ms > CONNECT_TIMEOUT_MAX_MS)
		ms = CONNECT_TIMEOUT_MAX_MS;
	return ms;
}

/* Exponential backoff with "equal jitter": a random delay in [d/2, d]. */
static int backoff_ms(struct ioca_mqtt *m)
{
	int64_t d = m->reconnect_min_ms;
	for (int i = 0; i < m->failures && d < m->reconnect_max_ms; i++)
		d *= 2;
	if (d > m->reconnect_max_ms)
		d = m->reconnect_max_ms;
	int64_t half = d / 2;
	return (int)(half + (half > 0 ? nrand48(m->rng) % (half + 1) : 0));
}

static void start_attempt(struct ioca_mqtt *m, int64_t now);
static void reset_client(struct ioca_mqtt *m);
static void failback_arm(struct ioca_mqtt *m, int64_t now);
static bool failback_on_disconnect(struct ioca_mqtt *m, int64_t now);

/*
 * An attempt failed or an established connection was lost. A lost connection
 * is retried on the same broker first; each failed attempt moves on to the
 * next broker, straight away while some broker of this round is untried, with
 * backoff once the whole list has failed.
 */
static void schedule_retry(struct ioca_mqtt *m, bool was_connected, int64_t now)
{
	if (m->stopping) {
		m->state = ST_STOPPED;
		return;
	}
	m->state = ST_WAIT_RETRY;
	if (was_connected) {
		m->round_failures = 0;
		m->failures = 0;
		m->st.reconnects++;
		m->retry_at_ms = now + backoff_ms(m);
		return;
	}
	m->broker_idx = (m->broker_idx + 1) % m->n_brokers;
	m->round_failures++;
	if (m->round_failures < m->n_brokers) {
		m->retry_at_ms = now;
		return;
	}
	m->round_failures = 0;
	m->retry_at_ms = now + backoff_ms(m);
	if (m->failures < INT_MAX / 2)
		m->failures++;
}

static void subscribe_inbox(struct ioca_mqtt *m);

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags,
			  const mosquitto_property *props)
{
	(void)mosq;
	struct ioca_mqtt *m = obj;
	const struct broker *b = cur_broker(m);
	if (rc != 0) {
		const char *why = m->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc)
								  : mosquitto_connack_string(rc);
		/* a broker that speaks only MQTT 3.1.1 answers a v5 CONNECT like this */
		const char *hint =
		    m->protocol == MQTT_PROTOCOL_V5 && rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION
			? " (the broker may not support MQTT 5: set protocol = \"v311\" "
			  "in mqtt)"
			: "";
		set_error(m, "%s refused the connection: %s", b->url, why);
		m->refused = true;
		ioca_log_limited(&m->rl_conn, IOCA_LL_ERROR, "mqtt: %s%s", m->st.last_error, hint);
		return; /* libmosquitto reports the disconnect next */
	}
	m->server_max_packet = 0;
	uint32_t max_packet = 0;
	if (props &&
	    mosquitto_property_read_int32(props, MQTT_PROP_MAXIMUM_PACKET_SIZE, &max_packet, false))
		m->server_max_packet = max_packet;
	/* Aliases are the connection's: none is known to this broker yet. */
	uint16_t alias_max = 0;
	if (m->protocol == MQTT_PROTOCOL_V5 && props)
		mosquitto_property_read_int16(props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM, &alias_max,
					      false);
	ioca_topic_alias_reset(m->aliases, alias_max);
	m->state = ST_CONNECTED;
	m->connected_ms = ioca_now_mono_ms();
	m->st.connected = true;
	m->st.connects++;
	m->st.broker = b->url;
	m->round_failures = 0;
	m->failures = 0;
	m->st.last_error[0] = '\0';
	ioca_log_resolved(&m->rl_conn, IOCA_LL_INFO, "mqtt: connection errors resolved");
	ioca_info("mqtt: connected to %s (session %s, %zu in flight to resend, maximum packet size "
		  "%u, %u topic aliases)",
		  b->url, (flags & 1) ? "present" : "new", m->n_records, packet_limit(m),
		  (unsigned)ioca_topic_alias_limit(m->aliases));
	if (m->status_json)
		publish_status(m, m->status_json);
	subscribe_inbox(m);
	failback_arm(m, m->connected_ms);
}

/* Say why a connection ended: libmosquitto's own words, the errno, or the
 * broker's MQTT 5 DISCONNECT reason code. */
static void describe_loss(const struct ioca_mqtt *m, int rc, int saved_errno, char *buf, size_t len)
{
	if (m->lib_error[0])
		snprintf(buf, len, "%s", m->lib_error);
	else if (rc == MOSQ_ERR_ERRNO)
		snprintf(buf, len, "%s", saved_errno ? strerror(saved_errno) : "socket error");
	else if (rc >= REASON_FAILURE_MIN)
		snprintf(buf, len, "broker sent DISCONNECT: %s (reason code 0x%02x)",
			 mosquitto_reason_string(rc), (unsigned)rc);
	else
		snprintf(buf, len, "%s (libmosquitto error %d)", mosquitto_strerror(rc), rc);
}

/* The oldest record in flight, or NULL. */
static const struct slot *oldest_record(const struct ioca_mqtt *m)
{
	const struct slot *best = NULL;
	for (size_t i = 0; i < m->cap; i++) {
		const struct slot *s = &m->slots[i];
		if (s->kind == SLOT_RECORD && (!best || s->seq < best->seq))
			best = s;
	}
	return best;
}

static uint64_t newest_record_seq(const struct ioca_mqtt *m)
{
	uint64_t seq = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].kind == SLOT_RECORD && m->slots[i].seq > seq)
			seq = m->slots[i].seq;
	return seq;
}

/*
 * A broker that will not take a packet (v3.1.1 has no way to say so) closes
 * the connection, and libmosquitto would send the same window again after
 * every reconnect. A loss right after the oldest record in flight was sent
 * makes it a suspect; the second such loss in a row starts probing: the
 * window is sent again from the queue one record at a time (reset_client
 * drops libmosquitto's copy), so a loss points at exactly one record. A
 * record alone in flight when the connection is closed right after it,
 * IOCA_MQTT_DROPS_BEFORE_REJECT times, is rejected.
 */
static void note_loss_after_publish(struct ioca_mqtt *m, int64_t now)
{
	const struct slot *s = oldest_record(m);
	if (!s)
		return;
	/* Only a connection that ends soon after it began counts: a broker
	 * restart or outage ends connections that have lasted. */
	if (now - m->connected_ms > SUSPECT_WINDOW_MS)
		return;
	if (s->seq == m->suspect_seq) {
		m->suspect_drops++;
	} else {
		m->suspect_seq = s->seq;
		m->suspect_drops = 1;
	}
	if (!m->probe_until) {
		if (m->suspect_drops < 2)
			return;
		m->probe_until = newest_record_seq(m);
		m->suspect_drops = 0;
		m->need_reset = true;
		ioca_warn("mqtt: the broker closed the connection right after a publish twice: "
			  "sending records %llu..%llu one at a time",
			  (unsigned long long)s->seq, (unsigned long long)m->probe_until);
		return;
	}
	if (m->suspect_drops < IOCA_MQTT_DROPS_BEFORE_REJECT)
		return;
	ioca_warn("mqtt: the broker closed the connection right after record %llu %d times: "
		  "rejecting it",
		  (unsigned long long)s->seq, m->suspect_drops);
	m->poison_seq = s->seq;
	m->suspect_seq = 0;
	m->suspect_drops = 0;
	m->need_reset = true;
}

/*
 * The connection is gone, and its topic aliases with it. libmosquitto would
 * send its QoS 1 copies again on the next connection as they were first
 * published, aliases included, which the broker there does not know (or
 * knows as other topics): when any of them carries one, a fresh client sends
 * the whole window again from the queue instead (reset_client), with the
 * aliases of the new connection.
 */
static void forget_aliases(struct ioca_mqtt *m)
{
	ioca_topic_alias_reset(m->aliases, 0);
	for (size_t i = 0; i < m->cap && !m->need_reset; i++)
		if (m->slots[i].kind == SLOT_RECORD && m->slots[i].aliased && m->slots[i].qos > 0)
			m->need_reset = true;
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc,
			     const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	int saved_errno = errno;
	struct ioca_mqtt *m = obj;
	bool was_connected = m->state == ST_CONNECTED;
	m->disconnect_seen = true;
	m->st.connected = false;
	int64_t now = ioca_now_mono_ms();
	if (was_connected && rc != 0)
		note_loss_after_publish(m, now);
	forget_aliases(m);
	forget_qos0(m);
	if (m->state == ST_STOPPED || m->state == ST_IDLE)
		return;
	if (rc != 0) {
		char detail[128];
		describe_loss(m, rc, saved_errno, detail, sizeof detail);
		if (was_connected) {
			set_error(m, "connection to %s lost: %s", cur_broker(m)->url, detail);
		} else if (!m->refused) {
			set_error(m, "connecting to %s failed: %s", cur_broker(m)->url, detail);
		}
		ioca_log_limited(&m->rl_conn, was_connected ? IOCA_LL_WARNING : IOCA_LL_ERROR,
				 "mqtt: %s", m->st.last_error);
	}
	m->lib_error[0] = '\0';
	if (failback_on_disconnect(m, now))
		return;
	schedule_retry(m, was_connected, now);
}

static void start_attempt(struct ioca_mqtt *m, int64_t now)
{
	const struct broker *b = cur_broker(m);
	m->state = ST_CONNECTING;
	m->attempt_ms = now;
	m->disconnect_seen = false;
	m->refused = false;
	m->lib_error[0] = '\0';
	m->st.broker = b->url;
	ioca_debug("mqtt: connecting to %s", b->url);
	int rc = mosquitto_connect_bind_async(m->mosq, b->host, b->port, m->keepalive_s, NULL);
	if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_CONN_PENDING)
		return;
	const char *detail = rc == MOSQ_ERR_ERRNO ? strerror(errno)
			     : m->lib_error[0]    ? m->lib_error
						  : mosquitto_strerror(rc);
	set_error(m, "connecting to %s failed: %s", b->url, detail);
	m->lib_error[0] = '\0';
	ioca_log_limited(&m->rl_conn, IOCA_LL_ERROR, "mqtt: %s", m->st.last_error);
	forget_qos0(m);
	schedule_retry(m, false, now);
}

/* ---- publishing --------------------------------------------------------- */

static int do_publish(struct ioca_mqtt *m, int *mid, const char *topic, const void *payload,
		      size_t len, int qos, bool retain, mosquitto_property *props)
{
	if (len > INT_MAX)
		return MOSQ_ERR_PAYLOAD_SIZE;
	if (m->protocol == MQTT_PROTOCOL_V5)
		return mosquitto_publish_v5(m->mosq, mid, topic, (int)len, payload, qos, retain,
					    props);
	return mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos, retain);
}

static void track_other(struct ioca_mqtt *m, int mid, int qos)
{
	struct slot s = {.kind = SLOT_OTHER, .qos = (uint8_t)qos, .mid = (uint16_t)mid};
	if (!slot_insert(m, &s))
		ioca_debug("mqtt: publish table full, message %d untracked", mid);
}

/* Whether a publish with content type `ct` (its only property besides
 * `extra_props` bytes) fits the maximum packet size. */
static bool fits_typed(const struct ioca_mqtt *m, const char *topic, size_t len, int qos,
		       const char *ct, size_t extra_props)
{
	uint32_t limit = packet_limit(m);
	size_t props = m->protocol == MQTT_PROTOCOL_V5 ? prop_str_bytes(ct) + extra_props : 0;
	size_t size = publish_packet_bytes(m, topic, len, qos, props);
	return (!limit || size <= limit) && (!m->closed_on_bytes || size < m->closed_on_bytes);
}

/* Whether a JSON publish (content type only) fits the maximum packet size. */
static bool fits(const struct ioca_mqtt *m, const char *topic, size_t len, int qos)
{
	return fits_typed(m, topic, len, qos, JSON_CONTENT_TYPE, 0);
}

size_t ioca_mqtt_blob_room(const struct ioca_mqtt *m, const char *topic, const char *content_type,
			   size_t correlation_len)
{
	uint64_t limit = packet_limit(m);
	if (m->closed_on_bytes && (!limit || m->closed_on_bytes - 1 < limit))
		limit = m->closed_on_bytes - 1;
	if (!limit)
		return 0;
	/* the widest of everything a blob's PUBLISH may carry besides its bytes */
	size_t over = 1 + VARINT_MAX_BYTES + TOPIC_LEN_BYTES + strlen(topic) + PACKET_ID_BYTES;
	if (m->protocol == MQTT_PROTOCOL_V5) {
		size_t props = prop_str_bytes(content_type) + PROP_ID_BYTES + PROP_INT32_BYTES +
			       prop_str_bytes("seq") + PROP_STR_LEN_BYTES + SEQ_TEXT_LEN +
			       prop_str_bytes("historical") + PROP_STR_LEN_BYTES + strlen("true");
		if (correlation_len)
			props += PROP_ID_BYTES + PROP_STR_LEN_BYTES + correlation_len;
		over += VARINT_MAX_BYTES + props;
	}
	return limit > over ? (size_t)(limit - over) : 1;
}

static void publish_status(struct ioca_mqtt *m, const char *json)
{
	if (m->fb_phase >= FB_LEAVING && json != m->will_json) {
		/* leaving for the first broker: the online status goes out there */
		m->status_dirty = true;
		return;
	}
	if (m->status_in_flight) {
		m->status_dirty = true;
		return;
	}
	m->status_dirty = false;
	if (!fits(m, m->status_topic, strlen(json), 1)) {
		ioca_log_limited(
		    &m->rl_queue, IOCA_LL_WARNING,
		    "mqtt: status (%zu bytes) is larger than the maximum packet size %u: "
		    "not published",
		    strlen(json), packet_limit(m));
		return;
	}
	mosquitto_property *props = NULL;
	if (m->protocol == MQTT_PROTOCOL_V5)
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, JSON_CONTENT_TYPE);
	int mid = 0;
	int rc = do_publish(m, &mid, m->status_topic, json, strlen(json), 1, true, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS || (!is_permanent_publish_error(rc) && mid != 0)) {
		track_other(m, mid, 1);
		m->status_in_flight = true;
		m->status_mid = (uint16_t)mid;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		ioca_log_limited(&m->rl_conn, IOCA_LL_WARNING, "mqtt: publishing status failed: %s",
				 mosquitto_strerror(rc));
}

static mosquitto_property *record_props(const struct ioca_mqtt *m, const struct ioca_record *r)
{
	mosquitto_property *props = NULL;
	if (m->protocol != MQTT_PROTOCOL_V5)
		return NULL;
	const char *ct = r->kind == IOCA_RECORD_JSON ? JSON_CONTENT_TYPE : r->content_type;
	if (ct && ct[0])
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, ct);
	if (m->message_expiry_s > 0) {
		uint32_t exp =
		    m->message_expiry_s > UINT32_MAX ? UINT32_MAX : (uint32_t)m->message_expiry_s;
		mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, exp);
	}
	if (r->kind == IOCA_RECORD_BLOB) {
		char seq[SEQ_TEXT_LEN];
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
		mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "seq", seq);
	}
	if (r->historical)
		mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "historical",
						   "true");
	return props;
}

/*
 * The Topic Alias of a record's publish, added to its properties: records at
 * QoS 0 and 1 only (a fresh client after a loss sends QoS 2 messages again
 * with new packet ids, which the broker may still hold as unreleased), and
 * never one that would make the packet exceed the maximum packet size.
 */
static enum ioca_topic_alias_action record_alias(struct ioca_mqtt *m, const struct ioca_record *r,
						 int qos, mosquitto_property **props,
						 uint16_t *alias)
{
	if (qos > 1)
		return IOCA_TOPIC_ALIAS_NONE;
	enum ioca_topic_alias_action act = ioca_topic_alias_pick(m->aliases, r->topic, qos, alias);
	if (act == IOCA_TOPIC_ALIAS_NONE)
		return act;
	uint32_t limit = packet_limit(m);
	if (act == IOCA_TOPIC_ALIAS_SET && limit &&
	    publish_packet_bytes(m, r->topic, r->payload_len, qos,
				 record_props_bytes(m, r) + PROP_ID_BYTES + PROP_INT16_BYTES) >
		limit) {
		ioca_topic_alias_forget(m->aliases, *alias);
		return IOCA_TOPIC_ALIAS_NONE;
	}
	if (mosquitto_property_add_int16(props, MQTT_PROP_TOPIC_ALIAS, *alias) !=
	    MOSQ_ERR_SUCCESS) {
		if (act == IOCA_TOPIC_ALIAS_SET)
			ioca_topic_alias_forget(m->aliases, *alias);
		return IOCA_TOPIC_ALIAS_NONE;
	}
	return act;
}

/*
 * Hand one record to libmosquitto. Returns false when the pump must stop
 * (the connection failed under us or a transient error).
 */
static bool publish_record(struct ioca_mqtt *m, const struct ioca_record *r)
{
	int qos = r->qos > 2 ? 2 : r->qos;
	mosquitto_property *props = record_props(m, r);
	uint16_t alias = 0;
	enum ioca_topic_alias_action aliasing = record_alias(m, r, qos, &props, &alias);
	const char *topic = aliasing == IOCA_TOPIC_ALIAS_USE ? "" : r->topic;
	int mid = 0;
	m->in_publish = true;
	m->early_done = false;
	int rc = do_publish(m, &mid, topic, r->payload, r->payload_len, qos, r->retain, props);
	m->in_publish = false;
	mosquitto_property_free_all(&props);

	if (rc == MOSQ_ERR_SUCCESS ||
	    (qos > 0 && mid != 0 && !is_permanent_publish_error(rc) && rc != MOSQ_ERR_NOMEM)) {
		/* Accepted; for QoS 1/2 also when the write failed after queueing:
		 * libmosquitto keeps the message and resends it after reconnecting. */
		m->st.published++;
		if (m->early_done && m->early_mid == (uint16_t)mid) {
			record_done(m, r->seq, r->accepted_ms, m->early_reason);
			return rc == MOSQ_ERR_SUCCESS;
		}
		struct slot s = {.kind = SLOT_RECORD,
				 .qos = (uint8_t)qos,
				 .aliased = aliasing != IOCA_TOPIC_ALIAS_NONE,
				 .mid = (uint16_t)mid,
				 .seq = r->seq,
				 .accepted_ms = r->accepted_ms};
		if (!slot_insert(m, &s)) {
			/* Cannot happen: the window is smaller than the table. */
			ioca_error("mqtt: publish table full");
		}
		return rc == MOSQ_ERR_SUCCESS;
	}
	if (aliasing == IOCA_TOPIC_ALIAS_SET)
		ioca_topic_alias_forget(m->aliases, alias); /* the broker never saw it */
	if (is_permanent_publish_error(rc)) {
		reject(m, r, mosquitto_strerror(rc));
		return true;
	}
	/* Not sent (QoS 0 without a connection, out of memory): retry later. */
	m->need_rewind = true;
	ioca_log_limited(&m->rl_queue, IOCA_LL_WARNING, "mqtt: publish failed, will retry: %s",
			 mosquitto_strerror(rc));
	return false;
}

/* Pull records from the queue while connected and the window has room. */
static void pump(struct ioca_mqtt *m)
{
	if (m->state != ST_CONNECTED || m->stopping || m->fb_phase >= FB_DRAINING)
		return;
	if (m->need_rewind) {
		m->need_rewind = false;
		ioca_queue_rewind(m->queue);
	}
	size_t window = m->probe_until ? 1 : (size_t)m->window;
	while (m->state == ST_CONNECTED && m->n_records < window) {
		struct ioca_record r;
		if (ioca_queue_next(m->queue, &r) != IOCA_OK)
			return;
		if (seq_tracked(m, r.seq))
			continue; /* handed out again by a rewind; libmosquitto still has it */
		if (r.seq == m->poison_seq) {
			m->poison_seq = 0;
			if (m->probe_until && r.seq >= m->probe_until)
				m->probe_until = 0;
			size_t size = record_packet_bytes(m, &r);
			if (!m->closed_on_bytes || size < m->closed_on_bytes)
				m->closed_on_bytes = size;
			reject(m, &r, "the broker closed the connection each time it was sent");
			continue;
		}
		uint32_t limit = packet_limit(m);
		size_t size = record_packet_bytes(m, &r);
		if (limit && size > limit) {
			reject(m, &r, "larger than the maximum packet size");
			continue;
		}
		if (m->closed_on_bytes && size >= m->closed_on_bytes) {
			reject(m, &r,
			       "not smaller than a record the broker closed the connection on");
			continue;
		}
		if (!publish_record(m, &r))
			return;
	}
}

/* ---- going back to the first broker -------------------------------------- */

static int setup_tls(struct ioca_mqtt *m, struct mosquitto *mosq, char *err, size_t errlen);

static void failback_cancel(struct ioca_mqtt *m)
{
	ioca_broker_check_free(m->check);
	m->check = NULL;
	m->fb_phase = FB_IDLE;
}

/* Connected: with prefer_first on a later broker, check the first one every
 * prefer_check seconds. */
static void failback_arm(struct ioca_mqtt *m, int64_t now)
{
	failback_cancel(m);
	if (!m->prefer_first || m->broker_idx == 0)
		return;
	m->fb_phase = FB_WAITING;
	m->fb_due_ms = now + m->prefer_check_ms;
	ioca_info("mqtt: %s is not the first broker: checking %s every %lld s", cur_broker(m)->url,
		  m->brokers[0].url, (long long)(m->prefer_check_ms / 1000));
}

/* A client for the check: the session's protocol, credentials and TLS, a
 * clean session, no will, and a client id of its own (so the session the
 * first broker keeps for the agent is left alone). */
static struct mosquitto *new_check_client(struct ioca_mqtt *m, char *err, size_t errlen)
{
	struct mosquitto *mosq = mosquitto_new(m->check_client_id, true, NULL);
	if (!mosq) {
		snprintf(err, errlen, "cannot create a client: %s", strerror(errno));
		return NULL;
	}
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, m->protocol);
	int rc = mosquitto_username_pw_set(mosq, m->username, m->password);
	if (rc) {
		snprintf(err, errlen, "cannot set the credentials: %s", mosquitto_strerror(rc));
		mosquitto_destroy(mosq);
		return NULL;
	}
	if (m->tls && setup_tls(m, mosq, err, errlen) != IOCA_OK) {
		mosquitto_destroy(mosq);
		return NULL;
	}
	return mosq;
}

static void start_check(struct ioca_mqtt *m, int64_t now)
{
	char err[256] = "";
	m->fb_due_ms = now + m->prefer_check_ms;
	struct mosquitto *mosq = new_check_client(m, err, sizeof err);
	if (!mosq) {
		ioca_log_limited(&m->rl_conn, IOCA_LL_WARNING, "mqtt: checking %s: %s",
				 m->brokers[0].url, err);
		return;
	}
	const struct broker *b = &m->brokers[0];
	m->check = ioca_broker_check_start(mosq, b->host, b->port, m->keepalive_s,
					   connect_timeout_ms(m), now);
	if (m->check)
		m->fb_phase = FB_CHECKING;
}

/* Leave the current broker cleanly: the offline status there (its retained
 * online status would otherwise outlive the session), then DISCONNECT. */
static void failback_leave(struct ioca_mqtt *m, int64_t now)
{
	if (m->n_records)
		ioca_warn("mqtt: %zu publishes still unacknowledged by %s after %d ms: they go "
			  "out again to %s",
			  m->n_records, cur_broker(m)->url, FAILBACK_DRAIN_MS, m->brokers[0].url);
	m->fb_phase = FB_LEAVING;
	m->fb_due_ms = now + FAILBACK_LEAVE_MS;
	m->status_in_flight = false; /* the last word here goes out regardless */
	publish_status(m, m->will_json);
}

/*
 * The steps of going back, from the loop (never blocking): check the first
 * broker; when it answers, stop pulling records, wait (bounded) for the acks
 * of those in flight, leave the current broker, and connect to the first.
 * Records still unacknowledged then are sent again from the queue there
 * (at least once: duplicates possible, never a loss).
 */
static void failback_step(struct ioca_mqtt *m, int64_t now)
{
	if (m->state != ST_CONNECTED || m->stopping)
		return;
	switch (m->fb_phase) {
	case FB_WAITING:
		if (now >= m->fb_due_ms)
			start_check(m, now);
		return;
	case FB_CHECKING: {
		enum ioca_broker_check_state cs = ioca_broker_check_tick(m->check, now);
		if (cs == IOCA_BROKER_CHECK_RUNNING)
			return;
		if (cs == IOCA_BROKER_CHECK_DOWN)
			ioca_debug("mqtt: %s still unavailable: %s", m->brokers[0].url,
				   ioca_broker_check_detail(m->check));
		ioca_broker_check_free(m->check);
		m->check = NULL;
		if (cs == IOCA_BROKER_CHECK_DOWN) {
			m->fb_phase = FB_WAITING;
			m->fb_due_ms = now + m->prefer_check_ms;
			return;
		}
		ioca_info("mqtt: %s accepts connections again: moving back to it from %s (%zu "
			  "publishes in flight)",
			  m->brokers[0].url, cur_broker(m)->url, m->n_records);
		m->fb_phase = FB_DRAINING;
		m->fb_due_ms = now + FAILBACK_DRAIN_MS;
	}
		/* fall through */
	case FB_DRAINING:
		if (m->n_records && now < m->fb_due_ms)
			return;
		failback_leave(m, now);
		/* fall through */
	case FB_LEAVING:
		if (m->status_in_flight && now < m->fb_due_ms)
			return;
		m->fb_phase = FB_DISCONNECTING;
		m->st.failbacks++;
		if (mosquitto_disconnect(m->mosq) != MOSQ_ERR_SUCCESS)
			on_disconnect_cb(m->mosq, m, MOSQ_ERR_NO_CONN, NULL);
		return;
	default:
		return;
	}
}

/*
 * The connection ended. While going back (the first broker answered), go
 * there at once, with a fresh client when anything was left in flight:
 * libmosquitto would otherwise resend its copies (the offline status among
 * them) to the first broker; the queue is rewound instead. Returns whether
 * it took over from schedule_retry().
 */
static bool failback_on_disconnect(struct ioca_mqtt *m, int64_t now)
{
	bool going_back = m->fb_phase >= FB_DRAINING && !m->stopping;
	failback_cancel(m);
	if (!going_back)
		return false;
	if (m->n_records || m->n_other)
		m->need_reset = true;
	m->state = ST_WAIT_RETRY;
	m->broker_idx = 0;
	m->round_failures = 0;
	m->failures = 0;
	m->retry_at_ms = now;
	return true;
}

/* ---- public API --------------------------------------------------------- */

static bool lib_initialised;

static int key_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	(void)rwflag;
	(void)userdata;
	/* Encrypted client keys are not supported: never prompt on a terminal. */
	if (size > 0)
		buf[0] = '\0';
	return 0;
}

static int setup_tls(struct ioca_mqtt *m, struct mosquitto *mosq, char *err, size_t errlen)
{
	int rc;
	if (!m->ca_file) {
		rc = mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc) {
			snprintf(err, errlen, "mqtt.tls: cannot use the system CA certificates: %s",
				 mosquitto_strerror(rc));
			return IOCA_ERROR;
		}
	}
	if ((m->cert_file == NULL) != (m->key_file == NULL)) {
		snprintf(err, errlen, "mqtt.tls: cert_file and key_file must be given together");
		return IOCA_ERROR;
	}
	/* libmosquitto 2.0.11 refuses a NULL cafile and capath: name the system's */
	rc = mosquitto_tls_set(mosq, m->ca_file, m->ca_file ? NULL : IOCA_SYSTEM_CA_PATH,
			       m->cert_file, m->key_file, key_password_cb);
	if (rc) {
		snprintf(
		    err, errlen, "mqtt.tls: cannot use ca_file %s / cert_file %s / key_file %s: %s",
		    m->ca_file ? m->ca_file : "(system)", m->cert_file ? m->cert_file : "(none)",
		    m->key_file ? m->key_file : "(none)",
		    rc == MOSQ_ERR_INVAL ? "file missing or unreadable" : mosquitto_strerror(rc));
		return IOCA_ERROR;
	}
	if (m->insecure) {
		/* No chain and no host name verification. */
		mosquitto_tls_opts_set(mosq, 0, NULL, NULL);
		mosquitto_tls_insecure_set(mosq, true);
	} else {
		mosquitto_tls_opts_set(mosq, 1, NULL, NULL);
		mosquitto_tls_insecure_set(mosq, false);
	}
	return IOCA_OK;
}

/*
 * v5 CONNECT properties for an asynchronous connect: libmosquitto 2.0 only
 * takes them through mosquitto_connect_bind_v5(), which stores them before
 * validating its other arguments and reuses them for every later connect.
 * An invalid port makes it store the properties and return without
 * connecting.
 */
static int set_connect_properties(struct ioca_mqtt *m, int64_t session_expiry_s)
{
	mosquitto_property *props = NULL;
	uint32_t exp = session_expiry_s > UINT32_MAX ? UINT32_MAX : (uint32_t)session_expiry_s;
	int rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, exp);
	if (rc)
		return rc;
	rc = mosquitto_connect_bind_v5(m->mosq, "localhost", -1, m->keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? MOSQ_ERR_SUCCESS : rc;
}

/* strdup that keeps NULL; false when out of memory. */
static bool dup_opt(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

static int copy_config(struct ioca_mqtt *m, const struct ioca_config *cfg,
		       const char *offline_will_json, char *err, size_t errlen)
{
	const struct ioca_mqtt_config *c = &cfg->mqtt;
	if (c->n_brokers == 0) {
		snprintf(err, errlen, "mqtt: no brokers configured");
		return IOCA_ERROR;
	}
	m->brokers = calloc(c->n_brokers, sizeof(*m->brokers));
	if (!m->brokers)
		goto nomem;
	m->n_brokers = c->n_brokers;
	for (size_t i = 0; i < c->n_brokers; i++) {
		const struct ioca_broker *b = &c->brokers[i];
		if (b->tls != c->brokers[0].tls) {
			snprintf(err, errlen,
				 "mqtt.brokers: %s and %s: mixing mqtt:// and mqtts:// brokers is "
				 "not supported",
				 c->brokers[0].url, b->url);
			return IOCA_ERROR;
		}
		m->brokers[i].host = strdup(b->host);
		m->brokers[i].url = strdup(b->url ? b->url : b->host);
		m->brokers[i].port = b->port;
		m->brokers[i].tls = b->tls;
		if (!m->brokers[i].host || !m->brokers[i].url)
			goto nomem;
	}
	m->protocol = c->protocol == 4 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5;
	m->keepalive_s = c->keepalive_s > 0 ? c->keepalive_s : 30;
	m->message_expiry_s = c->message_expiry_s;
	m->cfg_max_packet = c->max_packet_size > 0 && c->max_packet_size <= UINT32_MAX
				? (uint32_t)c->max_packet_size
				: 0;
	m->reconnect_min_ms = (c->reconnect_min_s > 0 ? c->reconnect_min_s : 1) * 1000;
	m->reconnect_max_ms = (c->reconnect_max_s > 0 ? c->reconnect_max_s : 60) * 1000;
	if (m->reconnect_max_ms < m->reconnect_min_ms)
		m->reconnect_max_ms = m->reconnect_min_ms;
	m->window = cfg->spool.inflight > 0 ? cfg->spool.inflight : 1;
	m->tls = c->brokers[0].tls;
	m->insecure = c->tls.insecure;
	m->session_expiry_s = c->session_expiry_s;
	m->prefer_first = c->prefer_first && c->n_brokers > 1;
	m->prefer_check_ms = (int64_t)(c->prefer_check_s > 0 ? c->prefer_check_s : 1) * 1000;
	size_t idlen = strlen(cfg->agent.id) + sizeof(CHECK_CLIENT_ID_SUFFIX);
	m->check_client_id = malloc(idlen);
	if (!m->check_client_id)
		goto nomem;
	snprintf(m->check_client_id, idlen, "%s%s", cfg->agent.id, CHECK_CLIENT_ID_SUFFIX);
	if (!dup_opt(&m->client_id, cfg->agent.id) || !dup_opt(&m->username, c->username) ||
	    !dup_opt(&m->password, c->password) || !dup_opt(&m->ca_file, c->tls.ca_file) ||
	    !dup_opt(&m->cert_file, c->tls.cert_file) || !dup_opt(&m->key_file, c->tls.key_file) ||
	    !dup_opt(&m->will_json,
		     offline_will_json ? offline_will_json : "{\"v\":1,\"state\":\"offline\"}"))
		goto nomem;
	const char *prefix = c->topic_prefix ? c->topic_prefix : "ioc";
	size_t tlen = strlen(prefix) + strlen(cfg->agent.id) + sizeof("//status");
	m->status_topic = malloc(tlen);
	if (!m->status_topic)
		goto nomem;
	snprintf(m->status_topic, tlen, "%s/%s/status", prefix, cfg->agent.id);
	return IOCA_OK;
nomem:
	snprintf(err, errlen, "mqtt: out of memory");
	return IOCA_ERROR;
}

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props);

/* A new libmosquitto client with everything copy_config() kept. */
static int setup_mosquitto(struct ioca_mqtt *m, char *err, size_t errlen)
{
	/* clean_session false: the broker keeps the session across reconnects. */
	m->mosq = mosquitto_new(m->client_id, false, m);
	if (!m->mosq) {
		snprintf(err, errlen, "mqtt: cannot create the client: %s", strerror(errno));
		return IOCA_ERROR;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, m->protocol);
	mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM,
			     m->window > UINT16_MAX ? UINT16_MAX : m->window);
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect_cb);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect_cb);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish_cb);
	mosquitto_log_callback_set(m->mosq, on_log_cb);
	mosquitto_message_v5_callback_set(m->mosq, on_message_cb);

	int rc = mosquitto_username_pw_set(m->mosq, m->username, m->password);
	if (rc) {
		snprintf(err, errlen, "mqtt: cannot set the credentials: %s",
			 mosquitto_strerror(rc));
		return IOCA_ERROR;
	}
	if (m->tls && setup_tls(m, m->mosq, err, errlen) != IOCA_OK)
		return IOCA_ERROR;

	mosquitto_property *wprops = NULL;
	if (m->protocol == MQTT_PROTOCOL_V5)
		mosquitto_property_add_string(&wprops, MQTT_PROP_CONTENT_TYPE, JSON_CONTENT_TYPE);
	const char *will = m->will_json;
	rc = mosquitto_will_set_v5(m->mosq, m->status_topic, (int)strlen(will), will, 1, true,
				   wprops);
	if (rc) {
		mosquitto_property_free_all(&wprops);
		snprintf(err, errlen, "mqtt: cannot set the will on %s: %s", m->status_topic,
			 mosquitto_strerror(rc));
		return IOCA_ERROR;
	}
	if (m->protocol == MQTT_PROTOCOL_V5) {
		rc = set_connect_properties(m, m->session_expiry_s);
		if (rc) {
			snprintf(err, errlen, "mqtt: cannot set the session expiry: %s",
				 mosquitto_strerror(rc));
			return IOCA_ERROR;
		}
	}
	return IOCA_OK;
}

/*
 * Forget what libmosquitto holds (it would resend a rejected record first
 * after every reconnect): a new client, an empty publish table, and the
 * queue rewound so every record not yet acknowledged goes out again (at
 * least once). Only called between connections, never from a callback.
 */
static void reset_client(struct ioca_mqtt *m)
{
	char err[256] = "";
	m->need_reset = false;
	struct mosquitto *old = m->mosq;
	m->mosq = NULL;
	if (setup_mosquitto(m, err, sizeof err) != IOCA_OK) {
		/* e.g. a TLS file removed since the start: keep the old client,
		 * which sends its window again; the loss counting goes on */
		ioca_error("mqtt: cannot set up a new client: %s", err);
		if (m->mosq)
			mosquitto_destroy(m->mosq);
		m->mosq = old;
		return;
	}
	mosquitto_destroy(old);
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->n_records = 0;
	m->n_other = 0;
	m->max_tracked_seq = 0;
	m->status_in_flight = false;
	m->status_dirty = true;
	m->need_rewind = true;
}

struct ioca_mqtt *ioca_mqtt_new(const struct ioca_config *cfg, struct ioca_queue *queue,
				const char *offline_will_json, char *err, size_t errlen)
{
	if (!lib_initialised) {
		mosquitto_lib_init();
		lib_initialised = true;
	}
	struct ioca_mqtt *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "mqtt: out of memory");
		return NULL;
	}
	m->queue = queue;
	uint64_t seed = (uint64_t)ioca_now_wall_ms() ^ ((uint64_t)getpid() << 16);
	m->rng[0] = (unsigned short)seed;
	m->rng[1] = (unsigned short)(seed >> 16);
	m->rng[2] = (unsigned short)(seed >> 32);
	m->rl_conn.interval_ms = ERROR_LOG_INTERVAL_MS;
	m->rl_refused.interval_ms = ERROR_LOG_INTERVAL_MS;
	m->rl_queue.interval_ms = ERROR_LOG_INTERVAL_MS;
	if (copy_config(m, cfg, offline_will_json, err, errlen) != IOCA_OK)
		goto fail;
	size_t need = (size_t)m->window + EXTRA_SLOTS;
	m->cap = 16;
	while (m->cap < 2 * need)
		m->cap *= 2;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	m->aliases = ioca_topic_alias_new();
	if (!m->slots || !m->aliases) {
		snprintf(err, errlen, "mqtt: out of memory");
		goto fail;
	}
	if (setup_mosquitto(m, err, errlen) != IOCA_OK)
		goto fail;
	m->st.broker = m->brokers[0].url;
	return m;
fail:
	ioca_mqtt_free(m);
	return NULL;
}

void ioca_mqtt_set_rejected_cb(struct ioca_mqtt *m, ioca_mqtt_rejected_fn fn, void *ctx)
{
	m->on_rejected = fn;
	m->rejected_ctx = ctx;
}

void ioca_mqtt_start(struct ioca_mqtt *m)
{
	if (m->state != ST_IDLE)
		return;
	start_attempt(m, ioca_now_mono_ms());
}

int ioca_mqtt_fd(const struct ioca_mqtt *m)
{
	if (m->state != ST_CONNECTING && m->state != ST_CONNECTED)
		return -1;
	return mosquitto_socket(m->mosq);
}

short ioca_mqtt_poll_events(const struct ioca_mqtt *m)
{
	return ioca_mosq_poll_events(m->mosq);
}

/* libmosquitto failed without reporting a disconnect: treat it as one. */
static void check_dead(struct ioca_mqtt *m, int rc)
{
	if (m->disconnect_seen || (m->state != ST_CONNECTING && m->state != ST_CONNECTED))
		return;
	if (ioca_mosq_connection_lost(m->mosq, rc))
		on_disconnect_cb(m->mosq, m, rc, NULL);
}

void ioca_mqtt_on_poll(struct ioca_mqtt *m, short revents)
{
	if (m->state != ST_CONNECTING && m->state != ST_CONNECTED)
		return;
	int rc = ioca_mosq_on_poll(m->mosq, revents);
	check_dead(m, rc);
	pump(m);
	failback_step(m, ioca_now_mono_ms());
}

void ioca_mqtt_tick(struct ioca_mqtt *m, int64_t now_mono_ms)
{
	switch (m->state) {
	case ST_WAIT_RETRY:
		if (m->need_reset)
			reset_client(m);
		if (now_mono_ms >= m->retry_at_ms)
			start_attempt(m, now_mono_ms);
		break;
	case ST_CONNECTING:
		if (now_mono_ms - m->attempt_ms >= connect_timeout_ms(m)) {
			set_error(m, "connecting to %s failed: timed out", cur_broker(m)->url);
			ioca_log_limited(&m->rl_conn, IOCA_LL_ERROR, "mqtt: %s", m->st.last_error);
			forget_qos0(m);
			schedule_retry(m, false, now_mono_ms);
			/* The next attempt's connect closes the stale socket. */
			break;
		}
		check_dead(m, mosquitto_loop_misc(m->mosq));
		break;
	case ST_CONNECTED:
		check_dead(m, mosquitto_loop_misc(m->mosq));
		pump(m);
		failback_step(m, now_mono_ms);
		break;
	default:
		break;
	}
}

int ioca_mqtt_timeout_ms(const struct ioca_mqtt *m, int64_t now_mono_ms)
{
	switch (m->state) {
	case ST_WAIT_RETRY: {
		int64_t d = m->retry_at_ms - now_mono_ms;
		if (d < 0)
			return 0;
		return d > MISC_INTERVAL_MS ? MISC_INTERVAL_MS : (int)d;
	}
	case ST_CONNECTED: {
		/* The queue holds a backlog record back for pacing: come back
		 * for it then, not at the next unrelated event. */
		size_t window = m->probe_until ? 1 : (size_t)m->window;
		int wait = ioca_queue_wait_ms(m->queue, now_mono_ms);
		if (wait >= 0 && !m->stopping && m->n_records < window && wait < MISC_INTERVAL_MS)
			return wait;
		return MISC_INTERVAL_MS;
	}
	default:
		return MISC_INTERVAL_MS;
	}
}

void ioca_mqtt_set_status(struct ioca_mqtt *m, const char *status_json)
{
	char *copy = strdup(status_json);
	if (!copy)
		return;
	free(m->status_json);
	m->status_json = copy;
	if (m->state == ST_CONNECTED)
		publish_status(m, m->status_json);
}

void ioca_mqtt_publish_volatile(struct ioca_mqtt *m, const char *topic, const void *payload,
				size_t len)
{
	if (m->state != ST_CONNECTED)
		return;
	if (m->n_other >= EXTRA_SLOTS)
		return; /* the connection is not keeping up: skip this one */
	if (!fits(m, topic, len, 0)) {
		ioca_log_limited(
		    &m->rl_queue, IOCA_LL_WARNING,
		    "mqtt: %s (%zu bytes) is larger than the maximum packet size %u: skipped",
		    topic, len, packet_limit(m));
		return;
	}
	mosquitto_property *props = NULL;
	if (m->protocol == MQTT_PROTOCOL_V5)
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, JSON_CONTENT_TYPE);
	int mid = 0;
	m->in_publish = true;
	m->early_done = false;
	int rc = do_publish(m, &mid, topic, payload, len, 0, false, props);
	m->in_publish = false;
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS && !(m->early_done && m->early_mid == (uint16_t)mid))
		track_other(m, mid, 0);
}

int ioca_mqtt_check_fd(const struct ioca_mqtt *m)
{
	return m->state == ST_CONNECTED ? ioca_broker_check_fd(m->check) : -1;
}

short ioca_mqtt_check_poll_events(const struct ioca_mqtt *m)
{
	return m->check ? ioca_broker_check_poll_events(m->check) : 0;
}

void ioca_mqtt_on_check_poll(struct ioca_mqtt *m, short revents)
{
	if (!m->check)
		return;
	ioca_broker_check_on_poll(m->check, revents);
	failback_step(m, ioca_now_mono_ms());
}

int ioca_mqtt_publish_qos1(struct ioca_mqtt *m, const char *topic, const void *payload, size_t len)
{
	if (m->state != ST_CONNECTED || m->n_other >= EXTRA_SLOTS / 2)
		return IOCA_AGAIN;
	if (!fits(m, topic, len, 1))
		return IOCA_ERROR;
	mosquitto_property *props = NULL;
	if (m->protocol == MQTT_PROTOCOL_V5)
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, JSON_CONTENT_TYPE);
	int mid = 0;
	int rc = do_publish(m, &mid, topic, payload, len, 1, false, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS || (!is_permanent_publish_error(rc) && mid != 0)) {
		track_other(m, mid, 1);
		return IOCA_OK;
	}
	return is_permanent_publish_error(rc) ? IOCA_ERROR : IOCA_AGAIN;
}

bool ioca_mqtt_connected(const struct ioca_mqtt *m)
{
	return m->state == ST_CONNECTED;
}

/* Run libmosquitto on its socket until `done` or the deadline. */
static void run_until(struct ioca_mqtt *m, int64_t deadline, bool (*done)(const struct ioca_mqtt *))
{
	for (;;) {
		if (done(m) || m->state != ST_CONNECTED)
			return;
		int64_t now = ioca_now_mono_ms();
		if (now >= deadline)
			return;
		int fd = mosquitto_socket(m->mosq);
		if (fd < 0)
			return;
		struct pollfd p = {.fd = fd, .events = ioca_mqtt_poll_events(m)};
		int wait = (int)(deadline - now);
		if (wait > MISC_INTERVAL_MS)
			wait = MISC_INTERVAL_MS;
		int n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0)
			ioca_mqtt_on_poll(m, p.revents);
		check_dead(m, mosquitto_loop_misc(m->mosq));
	}
}

static bool no_records_in_flight(const struct ioca_mqtt *m)
{
	return m->n_records == 0;
}

static bool nothing_in_flight(const struct ioca_mqtt *m)
{
	return m->n_records == 0 && m->n_other == 0;
}

static bool nothing_to_write(const struct ioca_mqtt *m)
{
	return !mosquitto_want_write(m->mosq);
}

void ioca_mqtt_shutdown(struct ioca_mqtt *m, const char *offline_status_json, int timeout_ms)
{
	int64_t start = ioca_now_mono_ms();
	int64_t deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
	m->stopping = true;
	failback_cancel(m);
	if (m->state == ST_CONNECTED) {
		run_until(m, deadline, no_records_in_flight);
		if (m->n_records)
			ioca_warn("mqtt: stopping with %zu publishes unacknowledged", m->n_records);
		if (offline_status_json) {
			free(m->status_json);
			m->status_json = strdup(offline_status_json);
			m->status_in_flight = false; /* the last word goes out regardless */
			publish_status(m, offline_status_json);
			int64_t status_deadline = deadline;
			if (status_deadline < ioca_now_mono_ms() + SHUTDOWN_STATUS_MIN_MS)
				status_deadline = ioca_now_mono_ms() + SHUTDOWN_STATUS_MIN_MS;
			run_until(m, status_deadline, nothing_in_flight);
		}
		if (m->state == ST_CONNECTED) {
			/* Normal disconnect: the broker discards the will. */
			mosquitto_disconnect(m->mosq);
			run_until(m, ioca_now_mono_ms() + SHUTDOWN_STATUS_MIN_MS, nothing_to_write);
		}
	}
	m->state = ST_STOPPED;
	m->st.connected = false;
}

void ioca_mqtt_stats(struct ioca_mqtt *m, struct ioca_mqtt_stats *out)
{
	*out = m->st;
	out->connected = m->state == ST_CONNECTED;
	out->max_packet_size = packet_limit(m);
	out->in_flight = m->n_records;
	out->latency_ms_avg =
	    m->st.latency_samples ? m->latency_sum_ms / (double)m->st.latency_samples : 0;
}

void ioca_mqtt_stats_reset_latency(struct ioca_mqtt *m)
{
	m->latency_sum_ms = 0;
	m->st.latency_samples = 0;
	m->st.latency_ms_max = 0;
	m->st.latency_ms_avg = 0;
}

void ioca_mqtt_free(struct ioca_mqtt *m)
{
	if (!m)
		return;
	ioca_broker_check_free(m->check);
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	for (size_t i = 0; i < m->n_brokers; i++) {
		free(m->brokers[i].host);
		free(m->brokers[i].url);
	}
	free(m->brokers);
	free(m->slots);
	ioca_topic_alias_free(m->aliases);
	free(m->status_topic);
	free(m->status_json);
	free(m->sub_filter);
	free(m->client_id);
	free(m->check_client_id);
	free(m->username);
	if (m->password)
		explicit_bzero(m->password, strlen(m->password));
	free(m->password);
	free(m->ca_file);
	free(m->cert_file);
	free(m->key_file);
	free(m->will_json);
	free(m);
}

/* ---- inbox: requests to the agent and replies ---------------------------- */

static void subscribe_inbox(struct ioca_mqtt *m)
{
	if (!m->sub_filter || m->state != ST_CONNECTED)
		return;
	int rc = m->protocol == MQTT_PROTOCOL_V5
		     ? mosquitto_subscribe_v5(m->mosq, NULL, m->sub_filter, INBOX_QOS, 0, NULL)
		     : mosquitto_subscribe(m->mosq, NULL, m->sub_filter, INBOX_QOS);
	if (rc != MOSQ_ERR_SUCCESS)
		ioca_log_limited(&m->rl_conn, IOCA_LL_WARNING, "mqtt: cannot subscribe to %s: %s",
				 m->sub_filter, mosquitto_strerror(rc));
}

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props)
{
	(void)mosq;
	struct ioca_mqtt *m = obj;
	if (!m->on_message || !msg->topic || msg->payloadlen < 0)
		return;
	struct ioca_mqtt_message in = {
	    .topic = msg->topic,
	    .payload = msg->payload,
	    .len = (size_t)msg->payloadlen,
	};
	char *response_topic = NULL;
	void *correlation = NULL;
	uint16_t correlation_len = 0;
	if (props) {
		mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response_topic,
					       false);
		mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation,
					       &correlation_len, false);
	}
	in.response_topic = response_topic;
	in.correlation = correlation;
	in.correlation_len = correlation_len;
	m->on_message(m->on_message_ctx, &in);
	free(response_topic);
	free(correlation);
}

int ioca_mqtt_subscribe(struct ioca_mqtt *m, const char *filter, ioca_mqtt_message_fn fn, void *ctx)
{
	char *copy = filter ? strdup(filter) : NULL;
	if (filter && !copy)
		return IOCA_ERROR;
	/* the session persists on the broker: drop a subscription no longer wanted */
	if (m->sub_filter && (!filter || strcmp(filter, m->sub_filter) != 0) &&
	    m->state == ST_CONNECTED)
		mosquitto_unsubscribe(m->mosq, NULL, m->sub_filter);
	free(m->sub_filter);
	m->sub_filter = copy;
	m->on_message = fn;
	m->on_message_ctx = ctx;
	subscribe_inbox(m);
	return IOCA_OK;
}

/* A reply outside the spool: IOCA_OK, IOCA_AGAIN (not connected, no slot, or
 * the publish failed), IOCA_ERROR (larger than the maximum packet size). */
static int publish_reply(struct ioca_mqtt *m, const char *topic, const void *payload, size_t len,
			 const char *content_type, const void *correlation, size_t correlation_len,
			 int qos)
{
	if (m->state != ST_CONNECTED || m->n_other >= EXTRA_SLOTS)
		return IOCA_AGAIN;
	size_t corr_props =
	    correlation_len ? PROP_ID_BYTES + PROP_STR_LEN_BYTES + correlation_len : 0;
	if (!fits_typed(m, topic, len, qos, content_type, corr_props))
		return IOCA_ERROR;
	mosquitto_property *props = NULL;
	if (m->protocol == MQTT_PROTOCOL_V5) {
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, content_type);
		if (correlation && correlation_len && correlation_len <= UINT16_MAX)
			mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
						      correlation, (uint16_t)correlation_len);
	}
	int mid = 0;
	m->in_publish = true;
	m->early_done = false;
	int rc = do_publish(m, &mid, topic, payload, len, qos, false, props);
	m->in_publish = false;
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		ioca_log_limited(&m->rl_conn, IOCA_LL_WARNING, "mqtt: reply on %s failed: %s",
				 topic, mosquitto_strerror(rc));
		return IOCA_AGAIN;
	}
	if (!(m->early_done && m->early_mid == (uint16_t)mid))
		track_other(m, mid, qos);
	return IOCA_OK;
}

void ioca_mqtt_publish_reply(struct ioca_mqtt *m, const char *topic, const void *payload,
			     size_t len, const void *correlation, size_t correlation_len)
{
	if (publish_reply(m, topic, payload, len, JSON_CONTENT_TYPE, correlation, correlation_len,
			  0) == IOCA_ERROR)
		ioca_log_limited(
		    &m->rl_queue, IOCA_LL_WARNING,
		    "mqtt: reply on %s (%zu bytes) is larger than the maximum packet size: "
		    "not sent",
		    topic, len);
}

int ioca_mqtt_publish_reply_blob(struct ioca_mqtt *m, const char *topic, const void *payload,
				 size_t len, const char *content_type, const void *correlation,
				 size_t correlation_len)
{
	return publish_reply(m, topic, payload, len, content_type, correlation, correlation_len, 1);
}
