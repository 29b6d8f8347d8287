/*
 * Modbus bus connection and requests through libmodbus (see modbus_bus.h).
 * After a failed request the input is flushed (RTU, TCP protocol errors) or
 * the TCP connection reopened (TCP timeouts) so that a late answer cannot be
 * taken for the answer to the next request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <modbus/modbus-rtu.h>

#include "modbus_bus.h"

#define US_PER_MS     1000
#define MS_PER_S      1000
#define PORT_TEXT_MAX 8

void ioca_mb_bus_init(struct ioca_mb_bus *bus, const struct ioca_mb_config *cfg,
		      const struct ioca_host *host, struct ioca_instance *inst)
{
	memset(bus, 0, sizeof *bus);
	bus->cfg = cfg;
	bus->host = host;
	bus->inst = inst;
	bus->backoff_ms = cfg->reconnect_min_ms;
	snprintf(bus->conn_error, sizeof bus->conn_error, "not_connected");
}

void ioca_mb_bus_close(struct ioca_mb_bus *bus)
{
	if (bus->ctx) {
		modbus_close(bus->ctx);
		modbus_free(bus->ctx);
	}
	bus->ctx = NULL;
	bus->connected = false;
}

static void schedule_reconnect(struct ioca_mb_bus *bus, int64_t now_mono_ms)
{
	bus->next_connect_ms = now_mono_ms + bus->backoff_ms;
	bus->backoff_ms *= 2;
	if (bus->backoff_ms > bus->cfg->reconnect_max_ms)
		bus->backoff_ms = bus->cfg->reconnect_max_ms;
}

static void set_timeout(struct ioca_mb_bus *bus, int timeout_ms)
{
	if (bus->timeout_ms == timeout_ms)
		return;
	modbus_set_response_timeout(bus->ctx, (uint32_t)(timeout_ms / MS_PER_S),
				    (uint32_t)(timeout_ms % MS_PER_S) * US_PER_MS);
	bus->timeout_ms = timeout_ms;
}

static modbus_t *new_context(const struct ioca_mb_config *cfg)
{
	char port[PORT_TEXT_MAX];

	if (cfg->tcp) {
		snprintf(port, sizeof port, "%d", cfg->port);
		return modbus_new_tcp_pi(cfg->host, port);
	}
	return modbus_new_rtu(cfg->device, cfg->baud, cfg->parity, cfg->data_bits, cfg->stop_bits);
}

bool ioca_mb_bus_ready(struct ioca_mb_bus *bus, int64_t now_mono_ms)
{
	const struct ioca_mb_config *cfg = bus->cfg;

	if (bus->connected)
		return true;
	if (now_mono_ms < bus->next_connect_ms)
		return false;
	bus->ctx = new_context(cfg);
	if (!bus->ctx) {
		snprintf(bus->conn_error, sizeof bus->conn_error, "connect_failed");
		schedule_reconnect(bus, now_mono_ms);
		return false;
	}
	bus->timeout_ms = 0;
	set_timeout(bus, cfg->timeout_ms);
	if (modbus_connect(bus->ctx) != 0) {
		int e = errno;

		snprintf(bus->conn_error, sizeof bus->conn_error, "connect_failed");
		bus->host->log(bus->inst, IOCA_LOG_WARNING, "modbus: cannot connect to %s: %s",
			       cfg->tcp ? cfg->host : cfg->device, modbus_strerror(e));
		ioca_mb_bus_close(bus);
		schedule_reconnect(bus, now_mono_ms);
		return false;
	}
	if (!cfg->tcp && cfg->rs485 && modbus_rtu_set_serial_mode(bus->ctx, MODBUS_RTU_RS485) != 0)
		bus->host->log(bus->inst, IOCA_LOG_WARNING,
			       "modbus: cannot set RS-485 mode on %s: %s", cfg->device,
			       modbus_strerror(errno));
	bus->connected = true;
	bus->connects++;
	bus->host->stat_add(bus->inst, "connects", 1);
	bus->host->log(bus->inst, bus->quiet_reconnect ? IOCA_LOG_DEBUG : IOCA_LOG_INFO,
		       "modbus: connected to %s", cfg->tcp ? cfg->host : cfg->device);
	bus->quiet_reconnect = false;
	return true;
}

static const char *exception_name(int e)
{
	switch (e) {
	case EMBXILFUN:
		return "exception:illegal_function";
	case EMBXILADD:
		return "exception:illegal_data_address";
	case EMBXILVAL:
		return "exception:illegal_data_value";
	case EMBXSFAIL:
		return "exception:server_failure";
	case EMBXACK:
		return "exception:acknowledge";
	case EMBXSBUSY:
		return "exception:server_busy";
	case EMBXNACK:
		return "exception:negative_acknowledge";
	case EMBXMEMPAR:
		return "exception:memory_parity";
	case EMBXGPATH:
		return "exception:gateway_path";
	case EMBXGTAR:
		return "exception:gateway_target";
	default:
		return NULL;
	}
}

static enum ioca_mb_result classify(int e, char *err, size_t errlen)
{
	const char *exc = exception_name(e);

	if (exc) {
		snprintf(err, errlen, "%s", exc);
		return IOCA_MB_EXCEPTION;
	}
	switch (e) {
	case EMBBADCRC:
		snprintf(err, errlen, "crc");
		return IOCA_MB_PROTOCOL;
	case EMBBADDATA:
	case EMBBADEXC:
	case EMBUNKEXC:
	case EMBMDATA:
	case EMBBADSLAVE:
		snprintf(err, errlen, "bad_response");
		return IOCA_MB_PROTOCOL;
	case ETIMEDOUT:
		snprintf(err, errlen, "timeout");
		return IOCA_MB_TIMEOUT;
	default:
		snprintf(err, errlen, "connection");
		return IOCA_MB_CONNECTION;
	}
}

enum ioca_mb_result ioca_mb_bus_read(struct ioca_mb_bus *bus, int unit_id, enum ioca_mb_function fn,
				     uint16_t start, uint16_t count, int timeout_ms, uint16_t *regs,
				     uint8_t *bits, char *err, size_t errlen)
{
	enum ioca_mb_result res;
	int rc = -1;
	int e;

	if (!bus->connected) {
		snprintf(err, errlen, "%s", bus->conn_error);
		return IOCA_MB_CONNECTION;
	}
	set_timeout(bus, timeout_ms);
	modbus_set_slave(bus->ctx, unit_id);
	switch (fn) {
	case IOCA_MB_HOLDING:
		rc = modbus_read_registers(bus->ctx, start, count, regs);
		break;
	case IOCA_MB_INPUT:
		rc = modbus_read_input_registers(bus->ctx, start, count, regs);
		break;
	case IOCA_MB_COIL:
		rc = modbus_read_bits(bus->ctx, start, count, bits);
		break;
	case IOCA_MB_DISCRETE:
		rc = modbus_read_input_bits(bus->ctx, start, count, bits);
		break;
	}
	if (rc == (int)count) {
		bus->backoff_ms = bus->cfg->reconnect_min_ms;
		return IOCA_MB_OK;
	}
	e = rc < 0 ? errno : EMBBADDATA;
	res = classify(e, err, errlen);
	if (res == IOCA_MB_CONNECTION) {
		bus->host->log(bus->inst, IOCA_LOG_WARNING, "modbus: bus failed: %s; reconnecting",
			       modbus_strerror(e));
		snprintf(bus->conn_error, sizeof bus->conn_error, "disconnected");
		ioca_mb_bus_close(bus);
		schedule_reconnect(bus, bus->host->now_mono_ms());
		return res;
	}
	if (res == IOCA_MB_TIMEOUT && bus->cfg->tcp) {
		/* The answer may still come: a fresh connection cannot receive it. */
		ioca_mb_bus_close(bus);
		bus->next_connect_ms = 0;
		bus->quiet_reconnect = true;
		return res;
	}
	modbus_flush(bus->ctx);
	return res;
}
