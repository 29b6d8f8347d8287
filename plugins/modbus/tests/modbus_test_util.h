/*
 * Helpers of the Modbus plugin tests: start the libmodbus test server
 * (tests/tools/modbus_server.c) as a child process, script it over its stdin,
 * run the modbus plugin under the in-process harness, and read readings out of
 * recorded telemetry.
 */
#ifndef IOCA_MODBUS_TEST_UTIL_H
#define IOCA_MODBUS_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "plugin_harness.h"

struct mb_server {
	pid_t pid;
	FILE *in;      /* commands */
	FILE *out;     /* answers */
	int port;      /* tcp */
	char tty[128]; /* rtu */
};

/* Start "tcp" (port 0: any free port) or "rtu"; NULL on failure. */
struct mb_server *mb_server_start(const char *mode, int port);
/* Send one command line; returns the answer line (static buffer). */
const char *mb_server_cmd(struct mb_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Kill by PID and reap (the server may then be started again on the same port). */
void mb_server_kill(struct mb_server *s);
void mb_server_free(struct mb_server *s);

/* Harness running the modbus plugin with `options`; fails the test on error. */
struct ioca_harness *mb_plugin_start(const char *options);

/*
 * Find reading `name` in telemetry record r. Returns true when present;
 * fills status ("ok"/...), value (NaN for null) and error ("" if none).
 */
bool mb_reading(const struct ioca_harness_record *r, const char *name, char *status,
		size_t status_len, double *value, char *error, size_t error_len);

/*
 * Wait until a telemetry record (after the first `skip` ones) contains
 * reading `name`; returns its index among telemetry records or -1.
 */
long mb_wait_reading(struct ioca_harness *h, const char *name, size_t skip, int64_t timeout_ms);

/* Monotonic milliseconds. */
int64_t mb_now_ms(void);

#endif
