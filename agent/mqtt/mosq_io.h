/*
 * The non-blocking use of libmosquitto shared by the session and the broker
 * check: the agent's poll loop owns the socket (mosquitto_socket), and calls
 * loop_read / loop_write when poll says so; no library thread.
 */
#ifndef IOCA_MOSQ_IO_H
#define IOCA_MOSQ_IO_H

#include <mosquitto.h>
#include <stdbool.h>

/* What to poll the client's socket for: POLLIN, and POLLOUT while
 * libmosquitto has bytes to write. */
short ioca_mosq_poll_events(struct mosquitto *mosq);

/* Read and then write as `revents` (from poll) allow. Returns the first
 * libmosquitto error, MOSQ_ERR_SUCCESS when there was none. */
int ioca_mosq_on_poll(struct mosquitto *mosq, short revents);

/* Whether `rc` of a loop call means the connection is gone (no socket any
 * more, or not connected), which libmosquitto does not always report through
 * its disconnect callback. */
bool ioca_mosq_connection_lost(struct mosquitto *mosq, int rc);

#endif
