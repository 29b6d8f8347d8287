/*
 * Modbus plugin configuration: the option table and its translation into the
 * bus / device / request-block structures the poller works on.
 *
 * Registers of one device that share a function and a poll interval and lie
 * close together are merged into one request block (at most 125 registers or
 * 2000 bits, gaps of up to BLOCK_GAP_MAX_REGS), so a device with 20 adjacent
 * registers costs one request per poll. Invariant: every register belongs to
 * exactly one block, and a block never spans two devices or two functions.
 */
#ifndef IOCA_MODBUS_CONFIG_H
#define IOCA_MODBUS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "iocagent/plugin.h"
#include "modbus_decode.h"
#include "sensor.h"

enum ioca_mb_function {
	IOCA_MB_HOLDING,
	IOCA_MB_INPUT,
	IOCA_MB_COIL,
	IOCA_MB_DISCRETE,
};

#define IOCA_MB_ERROR_MAX 64

struct ioca_mb_register {
	int reading; /* index in the ioca_sensor */
	enum ioca_mb_function fn;
	uint16_t address;
	enum ioca_mb_type type;
	enum ioca_mb_order word_order, byte_order;
	int64_t poll_ms;
};

struct ioca_mb_block {
	unsigned device;
	enum ioca_mb_function fn;
	uint16_t start;
	uint16_t count; /* registers or bits */
	int64_t poll_ms;
	int64_t next_due_ms;
	unsigned *regs; /* indices into config registers */
	unsigned n_regs;
};

struct ioca_mb_device {
	char *name;
	int unit_id;
	int timeout_ms;
	bool has_calibration;
	enum ioca_mb_function cal_fn;
	uint16_t cal_address;
	int cal_bit;                    /* -1: the register being non-zero means calibrating */
	unsigned first_block, n_blocks; /* this device's blocks in config blocks */
	bool calibrating;
	bool down; /* last request timed out: probe with one request per pass */
	char last_error[IOCA_MB_ERROR_MAX];
};

struct ioca_mb_config {
	bool tcp;
	const char *host;
	int port;
	const char *device;
	int baud;
	char parity; /* 'N', 'E', 'O' */
	int data_bits;
	int stop_bits;
	bool rs485;
	int timeout_ms;
	int64_t reconnect_min_ms, reconnect_max_ms;

	struct ioca_mb_device *devices;
	unsigned n_devices;
	struct ioca_mb_register *registers;
	unsigned n_registers;
	struct ioca_mb_block *blocks;
	unsigned n_blocks;
};

extern const struct ioca_option ioca_mb_options[];

/* check() of the descriptor. */
int ioca_mb_check(const struct ioca_host *host, const struct ioca_opts *opts, ioca_report_fn report,
		  void *report_ctx);

/* Build the configuration and register every reading with `sensor` (group =
 * device index). IOCA_OK or IOCA_ERROR (logged). */
int ioca_mb_config_load(struct ioca_mb_config *cfg, const struct ioca_host *host,
			struct ioca_instance *inst, const struct ioca_opts *opts,
			struct ioca_sensor *sensor);
void ioca_mb_config_free(struct ioca_mb_config *cfg);

#endif
