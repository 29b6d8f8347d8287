/*
 * libFuzzer target: Modbus reply handling. A real libmodbus context (TCP or
 * RTU framing) is put on one end of a socketpair; the input's first bytes pick
 * framing, function, count and unit, the rest is what the "device" answers
 * on the other end before hanging up. The reply goes through libmodbus'
 * parsing (MBAP header or RTU CRC, exception frames, lengths), then
 * ioca_mb_bus_read's classification and recovery, then the value decoder.
 *
 * Invariant checked: a request either succeeds with `count` values that
 * decode, or fails with a reason; nothing is left open.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus-rtu.h>
#include <modbus/modbus-tcp.h>

#include "modbus_bus.h"
#include "modbus_decode.h"

#define HEADER_LEN 3
#define COUNT_MAX  16
#define TIMEOUT_MS 100
#define TYPE_COUNT 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet_log(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
{
	(void)inst;
	(void)level;
	(void)fmt;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void no_stat(struct ioca_instance *inst, const char *name, double delta)
{
	(void)inst;
	(void)name;
	(void)delta;
}

/* The host functions the bus uses (log, clock, statistics); the rest is unused here. */
static const struct ioca_host HOST = {
    .log = quiet_log,
    .stat_add = no_stat,
    .now_mono_ms = mono_ms,
};

static void decode_all(const uint16_t *regs, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		for (int t = 0; t < TYPE_COUNT; t++) {
			double v;

			if (ioca_mb_decode(regs + i, count - i, (enum ioca_mb_type)t, IOCA_MB_BIG,
					   IOCA_MB_LITTLE, &v) == IOCA_OK &&
			    t != IOCA_MB_F32 && !isfinite(v))
				abort(); /* integers always decode to finite values */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioca_mb_config cfg;
	struct ioca_mb_bus bus;
	uint16_t regs[COUNT_MAX];
	uint8_t bits[COUNT_MAX];
	char err[IOCA_MB_ERROR_MAX] = "";
	enum ioca_mb_function fn;
	enum ioca_mb_result res;
	unsigned count;
	int sv[2];

	if (size < HEADER_LEN)
		return 0;
	memset(&cfg, 0, sizeof cfg);
	cfg.tcp = (data[0] & 1) == 0;
	cfg.host = "127.0.0.1";
	cfg.port = MODBUS_TCP_DEFAULT_PORT;
	cfg.device = "/dev/null";
	cfg.baud = 9600;
	cfg.parity = 'N';
	cfg.data_bits = 8;
	cfg.stop_bits = 1;
	cfg.timeout_ms = TIMEOUT_MS;
	cfg.reconnect_min_ms = 500;
	cfg.reconnect_max_ms = 1000;
	fn = (enum ioca_mb_function)(data[0] >> 1 & 3);
	count = 1 + data[1] % COUNT_MAX;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	if (size > HEADER_LEN &&
	    write(sv[1], data + HEADER_LEN, size - HEADER_LEN) != (ssize_t)(size - HEADER_LEN))
		abort();
	shutdown(sv[1], SHUT_WR);

	ioca_mb_bus_init(&bus, &cfg, &HOST, NULL);
	bus.ctx = cfg.tcp ? modbus_new_tcp(cfg.host, cfg.port)
			  : modbus_new_rtu(cfg.device, cfg.baud, cfg.parity, cfg.data_bits,
					   cfg.stop_bits);
	if (!bus.ctx)
		abort();
	modbus_set_socket(bus.ctx, sv[0]);
	bus.connected = true;
	res = ioca_mb_bus_read(&bus, data[2] % 248, fn, 0, (uint16_t)count, TIMEOUT_MS, regs, bits,
			       err, sizeof err);
	if (res == IOCA_MB_OK) {
		if (fn == IOCA_MB_HOLDING || fn == IOCA_MB_INPUT)
			decode_all(regs, count);
	} else if (err[0] == '\0') {
		abort();
	}
	ioca_mb_bus_close(&bus); /* closes sv[0] unless the bus did already */
	close(sv[1]);
	return 0;
}
