/*
 * Modbus plugin options (declared once here: validation, defaults, docs) and
 * their translation into devices, registers and merged request blocks. See
 * modbus_config.h for the block invariant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modbus/modbus.h>

#include "modbus_config.h"

#define MS_PER_S                 1000.0
#define DEFAULT_PORT             502
#define DEFAULT_BAUD             9600
#define DEFAULT_TIMEOUT_MS       1000
#define MIN_TIMEOUT_MS           10
#define MAX_TIMEOUT_MS           10000
#define DEFAULT_POLL_S           1.0
#define MIN_POLL_S               0.05
#define MAX_POLL_S               86400.0
#define DEFAULT_RECONNECT_MAX_S  30.0
#define RECONNECT_MIN_MS         500
#define BLOCK_GAP_MAX_REGS       16
#define MAX_DEVICES              256
#define MAX_REGISTERS_PER_DEVICE 1024

static const struct ioca_option register_options[] = {
    IOCA_SENSOR_READING_OPTIONS,
    {.key = "function",
     .type = IOCA_OPT_ENUM,
     .help = "Modbus table the value is read from",
     .def_string = "holding",
     .choices = "holding|input|coil|discrete"},
    {.key = "address",
     .type = IOCA_OPT_INT,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "0-based register or bit address (protocol address, not 4xxxx numbering)",
     .min = 0,
     .max = 65535},
    {.key = "type",
     .type = IOCA_OPT_ENUM,
     .help = "value type (registers only; coils and discrete inputs read 0 or 1)",
     .def_string = "u16",
     .choices = "u16|s16|u32|s32|f32"},
    {.key = "word_order",
     .type = IOCA_OPT_ENUM,
     .help = "32-bit values: big = high word in the first register",
     .def_string = "big",
     .choices = "big|little"},
    {.key = "byte_order",
     .type = IOCA_OPT_ENUM,
     .help = "big = high byte first within each register (Modbus standard)",
     .def_string = "big",
     .choices = "big|little"},
    {.key = "poll_interval",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds between reads of this register (default: the device's)",
     .min = 0,
     .max = MAX_POLL_S},
    {.key = NULL},
};

static const struct ioca_option device_options[] = {
    {.key = "name",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "device name in logs"},
    {.key = "unit_id",
     .type = IOCA_OPT_INT,
     .help = "Modbus slave / unit id",
     .def_int = 1,
     .min = 0,
     .max = 255},
    {.key = "poll_interval",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds between polls of this device (default: the instance's)",
     .min = 0,
     .max = MAX_POLL_S},
    {.key = "timeout_ms",
     .type = IOCA_OPT_INT,
     .help = "response timeout of one request to this device (default: the instance's)",
     .min = 0,
     .max = MAX_TIMEOUT_MS},
    {.key = "calibration_function",
     .type = IOCA_OPT_ENUM,
     .help = "table of the calibration status register/bit",
     .def_string = "holding",
     .choices = "holding|input|coil|discrete"},
    {.key = "calibration_address",
     .type = IOCA_OPT_INT,
     .help = "address of the calibration status (-1: none); non-zero means calibrating",
     .def_int = -1,
     .min = -1,
     .max = 65535},
    {.key = "calibration_bit",
     .type = IOCA_OPT_INT,
     .help = "bit 0..15 of the calibration register to test (-1: the whole register)",
     .def_int = -1,
     .min = -1,
     .max = 15},
    {.key = "registers",
     .type = IOCA_OPT_GROUP_LIST,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "register map: { name; function; address; type; word_order; byte_order; scale; "
	     "offset; unit; valid_min; valid_max; poll_interval }",
     .min_count = 1,
     .max_count = MAX_REGISTERS_PER_DEVICE,
     .children = register_options},
    {.key = NULL},
};

const struct ioca_option ioca_mb_options[] = {
    IOCA_SENSOR_INSTANCE_OPTIONS,
    {.key = "host", .type = IOCA_OPT_STRING, .help = "Modbus TCP: server address"},
    {.key = "port",
     .type = IOCA_OPT_INT,
     .help = "Modbus TCP: server port",
     .def_int = DEFAULT_PORT,
     .min = 1,
     .max = 65535},
    {.key = "device",
     .type = IOCA_OPT_STRING,
     .help = "Modbus RTU: serial device, e.g. /dev/ttyUSB0"},
    {.key = "baud",
     .type = IOCA_OPT_INT,
     .help = "Modbus RTU: bits per second",
     .def_int = DEFAULT_BAUD,
     .min = 50,
     .max = 4000000},
    {.key = "parity",
     .type = IOCA_OPT_ENUM,
     .help = "Modbus RTU: parity",
     .def_string = "none",
     .choices = "none|even|odd"},
    {.key = "data_bits",
     .type = IOCA_OPT_INT,
     .help = "Modbus RTU: data bits",
     .def_int = 8,
     .min = 5,
     .max = 8},
    {.key = "stop_bits",
     .type = IOCA_OPT_INT,
     .help = "Modbus RTU: stop bits",
     .def_int = 1,
     .min = 1,
     .max = 2},
    {.key = "rs485",
     .type = IOCA_OPT_BOOL,
     .help = "Modbus RTU: switch the port to RS-485 mode (TIOCSRS485)",
     .def_bool = false},
    {.key = "timeout_ms",
     .type = IOCA_OPT_INT,
     .help = "response timeout of one request",
     .def_int = DEFAULT_TIMEOUT_MS,
     .min = MIN_TIMEOUT_MS,
     .max = MAX_TIMEOUT_MS},
    {.key = "poll_interval",
     .type = IOCA_OPT_FLOAT,
     .help = "default seconds between polls",
     .def_float = DEFAULT_POLL_S,
     .min = MIN_POLL_S,
     .max = MAX_POLL_S},
    {.key = "reconnect_max",
     .type = IOCA_OPT_FLOAT,
     .help = "longest wait in seconds between reconnection attempts (backoff doubles from 0.5 s)",
     .def_float = DEFAULT_RECONNECT_MAX_S,
     .min = 1,
     .max = 3600},
    {.key = "devices",
     .type = IOCA_OPT_GROUP_LIST,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "slave devices on this bus: { name; unit_id; poll_interval; timeout_ms; "
	     "calibration_*; registers }",
     .min_count = 1,
     .max_count = MAX_DEVICES,
     .children = device_options},
    {.key = NULL},
};

static enum ioca_mb_function function_from_name(const char *name)
{
	if (name && strcmp(name, "input") == 0)
		return IOCA_MB_INPUT;
	if (name && strcmp(name, "coil") == 0)
		return IOCA_MB_COIL;
	if (name && strcmp(name, "discrete") == 0)
		return IOCA_MB_DISCRETE;
	return IOCA_MB_HOLDING;
}

static bool is_bit_function(enum ioca_mb_function fn)
{
	return fn == IOCA_MB_COIL || fn == IOCA_MB_DISCRETE;
}

/* ---- check ---------------------------------------------------------------- */

static bool known_reading(void *ctx, const char *name)
{
	const struct ioca_sensor_known_ctx *k = ctx;

	return ioca_sensor_count_named(k->host, k->opts, "devices", "registers", name) > 0;
}

static int check_register(const struct ioca_host *host, const struct ioca_opts *opts,
			  const struct ioca_opts *reg, ioca_report_fn report, void *report_ctx)
{
	int problems = ioca_sensor_check_reading(host, reg, report, report_ctx);
	const char *name = host->opt_string(reg, "name");
	enum ioca_mb_type type = IOCA_MB_U16;
	enum ioca_mb_function fn = function_from_name(host->opt_string(reg, "function"));

	ioca_mb_type_parse(host->opt_string(reg, "type"), &type);
	if (!is_bit_function(fn) &&
	    host->opt_int(reg, "address") + ioca_mb_type_words(type) - 1 > 65535) {
		report(report_ctx, reg, "register '%s' runs past address 65535", name);
		problems++;
	}
	if (name && ioca_sensor_count_named(host, opts, "devices", "registers", name) > 1) {
		report(report_ctx, reg, "reading name '%s' is used more than once", name);
		problems++;
	}
	return problems;
}

int ioca_mb_check(const struct ioca_host *host, const struct ioca_opts *opts, ioca_report_fn report,
		  void *report_ctx)
{
	struct ioca_sensor_known_ctx k = {host, opts};
	int problems = 0;
	bool tcp = host->opt_is_set(opts, "host");
	bool rtu = host->opt_is_set(opts, "device");
	size_t nd = host->opt_count(opts, "devices");

	if (tcp == rtu) {
		report(report_ctx, opts,
		       "set exactly one of 'host' (Modbus TCP) and 'device' (Modbus RTU)");
		problems++;
	}
	for (size_t d = 0; d < nd; d++) {
		const struct ioca_opts *dev = host->opt_group_at(opts, "devices", d);
		size_t nr = host->opt_count(dev, "registers");

		for (size_t r = 0; r < nr; r++)
			problems +=
			    check_register(host, opts, host->opt_group_at(dev, "registers", r),
					   report, report_ctx);
	}
	problems += ioca_sensor_check(host, opts, known_reading, &k, report, report_ctx);
	return problems;
}

/* ---- load ------------------------------------------------------------------ */

static int64_t seconds_to_ms(double s)
{
	return (int64_t)(s * MS_PER_S + 0.5);
}

static int load_register(struct ioca_mb_config *cfg, const struct ioca_host *host,
			 const struct ioca_opts *g, int64_t device_poll_ms,
			 struct ioca_sensor *sensor, unsigned device)
{
	struct ioca_mb_register *r = &cfg->registers[cfg->n_registers];

	memset(r, 0, sizeof *r);
	r->reading = ioca_sensor_add_reading_opts(sensor, g, device);
	if (r->reading < 0)
		return IOCA_ERROR;
	r->fn = function_from_name(host->opt_string(g, "function"));
	r->address = (uint16_t)host->opt_int(g, "address");
	if (ioca_mb_type_parse(host->opt_string(g, "type"), &r->type) != IOCA_OK ||
	    ioca_mb_order_parse(host->opt_string(g, "word_order"), &r->word_order) != IOCA_OK ||
	    ioca_mb_order_parse(host->opt_string(g, "byte_order"), &r->byte_order) != IOCA_OK)
		return IOCA_ERROR;
	if (is_bit_function(r->fn))
		r->type = IOCA_MB_U16;
	r->poll_ms = host->opt_float(g, "poll_interval") > 0
			 ? seconds_to_ms(host->opt_float(g, "poll_interval"))
			 : device_poll_ms;
	cfg->n_registers++;
	return IOCA_OK;
}

static unsigned reg_span(const struct ioca_mb_register *r)
{
	return is_bit_function(r->fn) ? 1 : ioca_mb_type_words(r->type);
}

static int cmp_register(const void *a, const void *b, void *base)
{
	const struct ioca_mb_register *regs = base;
	const struct ioca_mb_register *x = &regs[*(const unsigned *)a];
	const struct ioca_mb_register *y = &regs[*(const unsigned *)b];

	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	if (x->poll_ms != y->poll_ms)
		return x->poll_ms < y->poll_ms ? -1 : 1;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return 0;
}

/* Merge the registers order[0..n) of one device (sorted) into blocks. */
static int build_blocks(struct ioca_mb_config *cfg, unsigned device, unsigned *order, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		const struct ioca_mb_register *first = &cfg->registers[order[i]];
		unsigned max_span =
		    is_bit_function(first->fn) ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;
		unsigned end = (unsigned)first->address + reg_span(first);
		unsigned j = i + 1;
		struct ioca_mb_block *b = &cfg->blocks[cfg->n_blocks];

		for (; j < n; j++) {
			const struct ioca_mb_register *r = &cfg->registers[order[j]];
			unsigned r_end = (unsigned)r->address + reg_span(r);

			if (r->fn != first->fn || r->poll_ms != first->poll_ms)
				break;
			if (r->address > end + BLOCK_GAP_MAX_REGS)
				break;
			if ((r_end > end ? r_end : end) - first->address > max_span)
				break;
			if (r_end > end)
				end = r_end;
		}
		memset(b, 0, sizeof *b);
		b->device = device;
		b->fn = first->fn;
		b->start = first->address;
		b->count = (uint16_t)(end - first->address);
		b->poll_ms = first->poll_ms;
		b->n_regs = j - i;
		b->regs = malloc(b->n_regs * sizeof *b->regs);
		if (!b->regs)
			return IOCA_ERROR;
		memcpy(b->regs, &order[i], b->n_regs * sizeof *b->regs);
		cfg->n_blocks++;
		i = j;
	}
	return IOCA_OK;
}

static int load_device(struct ioca_mb_config *cfg, const struct ioca_host *host,
		       const struct ioca_opts *opts, const struct ioca_opts *g,
		       struct ioca_sensor *sensor, unsigned index)
{
	struct ioca_mb_device *d = &cfg->devices[index];
	int64_t poll_ms = host->opt_float(g, "poll_interval") > 0
			      ? seconds_to_ms(host->opt_float(g, "poll_interval"))
			      : seconds_to_ms(host->opt_float(opts, "poll_interval"));
	size_t nr = host->opt_count(g, "registers");
	unsigned first = cfg->n_registers;
	unsigned *order;
	int rc;

	d->name = strdup(host->opt_string(g, "name"));
	if (!d->name)
		return IOCA_ERROR;
	d->unit_id = (int)host->opt_int(g, "unit_id");
	d->timeout_ms = host->opt_int(g, "timeout_ms") > 0 ? (int)host->opt_int(g, "timeout_ms")
							   : cfg->timeout_ms;
	d->has_calibration = host->opt_int(g, "calibration_address") >= 0;
	d->cal_fn = function_from_name(host->opt_string(g, "calibration_function"));
	d->cal_address =
	    (uint16_t)(d->has_calibration ? host->opt_int(g, "calibration_address") : 0);
	d->cal_bit = (int)host->opt_int(g, "calibration_bit");
	for (size_t r = 0; r < nr; r++)
		if (load_register(cfg, host, host->opt_group_at(g, "registers", r), poll_ms, sensor,
				  index) != IOCA_OK)
			return IOCA_ERROR;
	/* `registers` is required, so nr >= 1; never ask malloc for 0 bytes (may give NULL). */
	order = malloc((nr ? nr : 1) * sizeof *order);
	if (!order)
		return IOCA_ERROR;
	for (unsigned i = 0; i < nr; i++)
		order[i] = first + i;
	qsort_r(order, nr, sizeof *order, cmp_register, cfg->registers);
	d->first_block = cfg->n_blocks;
	rc = build_blocks(cfg, index, order, (unsigned)nr);
	d->n_blocks = cfg->n_blocks - d->first_block;
	free(order);
	return rc;
}

static char parity_from_name(const char *name)
{
	if (name && strcmp(name, "even") == 0)
		return 'E';
	if (name && strcmp(name, "odd") == 0)
		return 'O';
	return 'N';
}

int ioca_mb_config_load(struct ioca_mb_config *cfg, const struct ioca_host *host,
			struct ioca_instance *inst, const struct ioca_opts *opts,
			struct ioca_sensor *sensor)
{
	size_t nd = host->opt_count(opts, "devices");
	size_t total = 0;

	memset(cfg, 0, sizeof *cfg);
	cfg->tcp = host->opt_is_set(opts, "host");
	cfg->host = host->opt_string(opts, "host");
	cfg->port = (int)host->opt_int(opts, "port");
	cfg->device = host->opt_string(opts, "device");
	cfg->baud = (int)host->opt_int(opts, "baud");
	cfg->parity = parity_from_name(host->opt_string(opts, "parity"));
	cfg->data_bits = (int)host->opt_int(opts, "data_bits");
	cfg->stop_bits = (int)host->opt_int(opts, "stop_bits");
	cfg->rs485 = host->opt_bool(opts, "rs485");
	cfg->timeout_ms = (int)host->opt_int(opts, "timeout_ms");
	cfg->reconnect_min_ms = RECONNECT_MIN_MS;
	cfg->reconnect_max_ms = seconds_to_ms(host->opt_float(opts, "reconnect_max"));
	if (!cfg->tcp && !cfg->device) {
		host->log(inst, IOCA_LOG_ERROR, "modbus: neither 'host' nor 'device' is set");
		return IOCA_ERROR;
	}
	for (size_t d = 0; d < nd; d++)
		total += host->opt_count(host->opt_group_at(opts, "devices", d), "registers");
	cfg->devices = calloc(nd ? nd : 1, sizeof *cfg->devices);
	cfg->registers = calloc(total ? total : 1, sizeof *cfg->registers);
	cfg->blocks = calloc(total ? total : 1, sizeof *cfg->blocks);
	if (!cfg->devices || !cfg->registers || !cfg->blocks)
		goto fail;
	cfg->n_devices = (unsigned)nd;
	for (size_t d = 0; d < nd; d++)
		if (load_device(cfg, host, opts, host->opt_group_at(opts, "devices", d), sensor,
				(unsigned)d) != IOCA_OK)
			goto fail;
	return IOCA_OK;
fail:
	host->log(inst, IOCA_LOG_ERROR,
		  "modbus: cannot load the register map (duplicate reading or out of memory)");
	ioca_mb_config_free(cfg);
	return IOCA_ERROR;
}

void ioca_mb_config_free(struct ioca_mb_config *cfg)
{
	if (cfg->devices)
		for (unsigned d = 0; d < cfg->n_devices; d++)
			free(cfg->devices[d].name);
	if (cfg->blocks)
		for (unsigned b = 0; b < cfg->n_blocks; b++)
			free(cfg->blocks[b].regs);
	free(cfg->devices);
	free(cfg->registers);
	free(cfg->blocks);
	memset(cfg, 0, sizeof *cfg);
}
