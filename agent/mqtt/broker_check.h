/*
 * One MQTT CONNECT/CONNACK check of a broker, driven from the core's poll
 * loop like the session itself: a short-lived libmosquitto client with its
 * own socket, a clean session and no will, that connects, waits for the
 * CONNACK (or a refusal, a closed socket, the timeout) and disconnects.
 * A broker that answers CONNACK with success is "up": it accepts the
 * credentials and TLS settings the session uses, which a bare TCP connect
 * would not show.
 *
 * What blocks: the host name is resolved inside mosquitto_connect_async(),
 * as for the session (brokers given as IP addresses never block).
 */
#ifndef IOCA_BROKER_CHECK_H
#define IOCA_BROKER_CHECK_H

#include <stdint.h>

struct mosquitto;
struct ioca_broker_check;

enum ioca_broker_check_state {
	IOCA_BROKER_CHECK_RUNNING,
	IOCA_BROKER_CHECK_UP,   /* CONNACK with success */
	IOCA_BROKER_CHECK_DOWN, /* refused, closed, unreachable or timed out */
};

/*
 * Start checking host:port with `mosq`, a client already set up with the
 * protocol, credentials and TLS (the check takes it over and destroys it).
 * Never NULL unless out of memory (then mosq is destroyed too); a connect
 * that fails at once gives a check that is already DOWN.
 */
struct ioca_broker_check *ioca_broker_check_start(struct mosquitto *mosq, const char *host,
						  int port, int keepalive_s, int timeout_ms,
						  int64_t now_mono_ms);

/* Socket to poll while running, -1 when there is none. */
int ioca_broker_check_fd(const struct ioca_broker_check *p);
/* poll() events wanted on it. */
short ioca_broker_check_poll_events(const struct ioca_broker_check *p);
/* Handle poll() results on that socket. */
void ioca_broker_check_on_poll(struct ioca_broker_check *p, short revents);
/* Timeout and libmosquitto's timers; returns the state. */
enum ioca_broker_check_state ioca_broker_check_tick(struct ioca_broker_check *p,
						    int64_t now_mono_ms);
/* Why the check is DOWN (empty otherwise). */
const char *ioca_broker_check_detail(const struct ioca_broker_check *p);

/* Disconnect (when connected) and release everything. NULL is fine. */
void ioca_broker_check_free(struct ioca_broker_check *p);

#endif
