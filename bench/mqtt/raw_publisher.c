/*
 * Baseline for the MQTT throughput benchmark: a plain libmosquitto publisher
 * that sends N messages of a fixed size at QoS 1 with at most W unacknowledged
 * at a time (the agent's spool.inflight), driven by its own poll loop the way
 * the agent drives its session. It prints one line of figures:
 *
 *   raw_publisher messages=N bytes=S window=W seconds=T rate=R cpu_s=C
 *
 * where T runs from the CONNACK to the last PUBACK and C is the process's
 * user+system CPU time over the same span (getrusage).
 */
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define DEFAULT_MESSAGES    100000
#define DEFAULT_SIZE        200
#define DEFAULT_WINDOW      64
#define DEFAULT_KEEPALIVE_S 30
#define CONNECT_TIMEOUT_MS  10000
#define POLL_MS             1000

struct bench {
	long total, sent, acked, inflight;
	bool connected, failed;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *p)
{
	(void)mosq;
	(void)flags;
	(void)p;
	struct bench *b = obj;
	if (rc == 0)
		b->connected = true;
	else
		b->failed = true;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int rc,
		       const mosquitto_property *p)
{
	(void)mosq;
	(void)mid;
	(void)rc;
	(void)p;
	struct bench *b = obj;
	b->acked++;
	b->inflight--;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *p)
{
	(void)mosq;
	(void)p;
	if (rc != 0)
		((struct bench *)obj)->failed = true;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: raw_publisher [-h host] [-p port] [-n messages] [-s bytes] [-w window] "
		"[-t topic] [-V 5|4]\n");
	exit(64);
}

static int service(struct mosquitto *mosq)
{
	struct pollfd p = {.fd = mosquitto_socket(mosq), .events = POLLIN};
	if (p.fd < 0)
		return -1;
	if (mosquitto_want_write(mosq))
		p.events |= POLLOUT;
	if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR)
		return -1;
	if (p.revents & (POLLIN | POLLERR | POLLHUP))
		mosquitto_loop_read(mosq, 1);
	if ((p.revents & POLLOUT) && mosquitto_socket(mosq) >= 0)
		mosquitto_loop_write(mosq, 1);
	mosquitto_loop_misc(mosq);
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *topic = "bench/raw";
	int port = 1883, size = DEFAULT_SIZE, window = DEFAULT_WINDOW, proto = 5;
	struct bench b = {.total = DEFAULT_MESSAGES};
	int c;
	while ((c = getopt(argc, argv, "h:p:n:s:w:t:V:")) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			b.total = atol(optarg);
			break;
		case 's':
			size = atoi(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 't':
			topic = optarg;
			break;
		case 'V':
			proto = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (b.total <= 0 || size < 0 || window <= 0 || (proto != 5 && proto != 4))
		usage();

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new("raw-publisher", true, &b);
	if (!mosq)
		return 1;
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     proto == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, window);
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_publish_v5_callback_set(mosq, on_publish);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
	char *payload = malloc((size_t)size + 1);
	if (!payload)
		return 1;
	memset(payload, 'x', (size_t)size);

	if (mosquitto_connect_async(mosq, host, port, DEFAULT_KEEPALIVE_S) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "raw_publisher: cannot connect to %s:%d\n", host, port);
		return 1;
	}
	double deadline = mono_s() + CONNECT_TIMEOUT_MS / 1000.0;
	while (!b.connected && !b.failed && mono_s() < deadline)
		service(mosq);
	if (!b.connected) {
		fprintf(stderr, "raw_publisher: no CONNACK from %s:%d\n", host, port);
		return 1;
	}

	double t0 = mono_s(), c0 = cpu_s();
	while (b.acked < b.total && !b.failed) {
		while (b.sent < b.total && b.inflight < window) {
			int rc =
			    mosquitto_publish_v5(mosq, NULL, topic, size, payload, 1, false, NULL);
			if (rc != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "raw_publisher: publish: %s\n",
					mosquitto_strerror(rc));
				return 1;
			}
			b.sent++;
			b.inflight++;
		}
		if (service(mosq) != 0)
			break;
	}
	double secs = mono_s() - t0, cpu = cpu_s() - c0;
	if (b.acked < b.total) {
		fprintf(stderr, "raw_publisher: connection lost after %ld acks\n", b.acked);
		return 1;
	}
	printf("raw_publisher messages=%ld bytes=%d window=%d seconds=%.3f rate=%.0f cpu_s=%.3f\n",
	       b.total, size, window, secs, (double)b.total / secs, cpu);
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	free(payload);
	return 0;
}
