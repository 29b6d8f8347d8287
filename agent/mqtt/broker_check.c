/*
 * A one-shot CONNECT/CONNACK check of a broker (see broker_check.h): the same
 * non-blocking use of libmosquitto as the session (mosquitto_socket +
 * loop_read/loop_write/loop_misc), with a client of its own.
 */
#include "broker_check.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mosq_io.h"

#define CHECK_DETAIL_LEN 160

struct ioca_broker_check {
	struct mosquitto *mosq;
	enum ioca_broker_check_state state;
	int64_t deadline_ms;
	char lib_error[128]; /* last error libmosquitto logged */
	char detail[CHECK_DETAIL_LEN];
};

static void set_down(struct ioca_broker_check *p, const char *why)
{
	if (p->state != IOCA_BROKER_CHECK_RUNNING)
		return;
	p->state = IOCA_BROKER_CHECK_DOWN;
	snprintf(p->detail, sizeof p->detail, "%s", p->lib_error[0] ? p->lib_error : why);
}

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags,
			  const mosquitto_property *props)
{
	(void)mosq;
	(void)flags;
	(void)props;
	struct ioca_broker_check *p = obj;
	if (p->state != IOCA_BROKER_CHECK_RUNNING)
		return;
	if (rc == 0) {
		p->state = IOCA_BROKER_CHECK_UP;
		return;
	}
	p->state = IOCA_BROKER_CHECK_DOWN;
	snprintf(p->detail, sizeof p->detail, "refused the connection: %s",
		 mosquitto_reason_string(rc));
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc,
			     const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	struct ioca_broker_check *p = obj;
	set_down(p, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	struct ioca_broker_check *p = obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		snprintf(p->lib_error, sizeof p->lib_error, "%s", str);
}

struct ioca_broker_check *ioca_broker_check_start(struct mosquitto *mosq, const char *host,
						  int port, int keepalive_s, int timeout_ms,
						  int64_t now_mono_ms)
{
	struct ioca_broker_check *p = calloc(1, sizeof(*p));
	if (!p) {
		mosquitto_destroy(mosq);
		return NULL;
	}
	p->mosq = mosq;
	p->state = IOCA_BROKER_CHECK_RUNNING;
	p->deadline_ms = now_mono_ms + timeout_ms;
	mosquitto_user_data_set(mosq, p);
	mosquitto_connect_v5_callback_set(mosq, on_connect_cb);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect_cb);
	mosquitto_log_callback_set(mosq, on_log_cb);
	int rc = mosquitto_connect_bind_async(mosq, host, port, keepalive_s, NULL);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_PENDING)
		set_down(p, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	return p;
}

int ioca_broker_check_fd(const struct ioca_broker_check *p)
{
	if (!p || p->state != IOCA_BROKER_CHECK_RUNNING)
		return -1;
	return mosquitto_socket(p->mosq);
}

short ioca_broker_check_poll_events(const struct ioca_broker_check *p)
{
	return ioca_mosq_poll_events(p->mosq);
}

/* libmosquitto failed without reporting a disconnect. */
static void check_rc(struct ioca_broker_check *p, int rc)
{
	if (ioca_mosq_connection_lost(p->mosq, rc))
		set_down(p, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

void ioca_broker_check_on_poll(struct ioca_broker_check *p, short revents)
{
	if (!p || p->state != IOCA_BROKER_CHECK_RUNNING)
		return;
	int rc = ioca_mosq_on_poll(p->mosq, revents);
	if (p->state == IOCA_BROKER_CHECK_RUNNING)
		check_rc(p, rc);
}

enum ioca_broker_check_state ioca_broker_check_tick(struct ioca_broker_check *p,
						    int64_t now_mono_ms)
{
	if (p->state != IOCA_BROKER_CHECK_RUNNING)
		return p->state;
	if (now_mono_ms >= p->deadline_ms) {
		p->lib_error[0] = '\0';
		set_down(p, "no CONNACK in time");
		return p->state;
	}
	check_rc(p, mosquitto_loop_misc(p->mosq));
	return p->state;
}

const char *ioca_broker_check_detail(const struct ioca_broker_check *p)
{
	return p->detail;
}

void ioca_broker_check_free(struct ioca_broker_check *p)
{
	if (!p)
		return;
	/* A normal DISCONNECT, so the broker does not log a lost client. */
	if (p->state == IOCA_BROKER_CHECK_UP && mosquitto_socket(p->mosq) >= 0)
		mosquitto_disconnect(p->mosq);
	mosquitto_destroy(p->mosq);
	free(p);
}
