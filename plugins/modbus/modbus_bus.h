/*
 * One Modbus bus (a TCP connection or an RTU serial line) as the poller sees
 * it: connect with exponential backoff, one request at a time with its own
 * response timeout, errors classified into short reasons.
 *
 * Invariant: at most one request is in flight on a bus, and a request never
 * blocks longer than its timeout (plus libmodbus' byte timeout on RTU). After
 * a TCP timeout the connection is reopened, so that a late answer can never
 * be taken for the answer to the next request (to another device).
 */
#ifndef IOCA_MODBUS_BUS_H
#define IOCA_MODBUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modbus/modbus.h>

#include "iocagent/plugin.h"
#include "modbus_config.h"

/* Outcome of one request. */
enum ioca_mb_result {
	IOCA_MB_OK,
	IOCA_MB_EXCEPTION,  /* the device answered with an exception: it is alive */
	IOCA_MB_PROTOCOL,   /* a garbled answer (CRC, bad data): the device is alive */
	IOCA_MB_TIMEOUT,    /* no answer within the timeout */
	IOCA_MB_CONNECTION, /* the bus itself failed; it will reconnect with backoff */
};

struct ioca_mb_bus {
	const struct ioca_mb_config *cfg;
	const struct ioca_host *host;
	struct ioca_instance *inst;
	modbus_t *ctx;
	bool connected;
	int64_t next_connect_ms; /* monotonic */
	int64_t backoff_ms;
	int timeout_ms; /* response timeout currently set on ctx */
	char conn_error[IOCA_MB_ERROR_MAX];
	unsigned long connects;
	bool quiet_reconnect; /* reopening after a TCP timeout: not worth an info line */
};

void ioca_mb_bus_init(struct ioca_mb_bus *bus, const struct ioca_mb_config *cfg,
		      const struct ioca_host *host, struct ioca_instance *inst);
void ioca_mb_bus_close(struct ioca_mb_bus *bus);

/* Connected, or connected now when the backoff allows it. */
bool ioca_mb_bus_ready(struct ioca_mb_bus *bus, int64_t now_mono_ms);

/*
 * Function: ioca_mb_bus_read
 *
 * Read `count` registers (holding/input, into regs) or bits (coil/discrete,
 * into bits) starting at `start` from unit `unit_id`.
 *
 * Return value: the outcome; for anything but IOCA_MB_OK a short reason is
 * written into err ("timeout", "crc", "exception:illegal_data_address", ...).
 */
enum ioca_mb_result ioca_mb_bus_read(struct ioca_mb_bus *bus, int unit_id, enum ioca_mb_function fn,
				     uint16_t start, uint16_t count, int timeout_ms, uint16_t *regs,
				     uint8_t *bits, char *err, size_t errlen);

#endif
