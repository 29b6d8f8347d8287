/*
 * Driving libmosquitto from the agent's poll loop (see mosq_io.h).
 */
#include "mosq_io.h"

#include <poll.h>

short ioca_mosq_poll_events(struct mosquitto *mosq)
{
	short ev = POLLIN;
	if (mosquitto_want_write(mosq))
		ev |= POLLOUT;
	return ev;
}

int ioca_mosq_on_poll(struct mosquitto *mosq, short revents)
{
	int rc = MOSQ_ERR_SUCCESS;
	if (revents & (POLLIN | POLLERR | POLLHUP))
		rc = mosquitto_loop_read(mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT) && mosquitto_socket(mosq) >= 0)
		rc = mosquitto_loop_write(mosq, 1);
	return rc;
}

bool ioca_mosq_connection_lost(struct mosquitto *mosq, int rc)
{
	return rc != MOSQ_ERR_SUCCESS && (mosquitto_socket(mosq) < 0 || rc == MOSQ_ERR_NO_CONN);
}
