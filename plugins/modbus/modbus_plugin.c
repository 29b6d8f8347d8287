/*
 * Modbus plugin: one instance per bus (Modbus TCP server or RTU line), several
 * slave devices on it, each polled by its register map; values go through
 * ioca_sensorlib (telemetry, rules, faults).
 *
 * Scheduling: every pass polls the due blocks of healthy devices first, then
 * probes each device whose last request timed out with a single request.
 * Invariant: requests on the bus are strictly serial, and a silent device
 * costs at most one timeout per pass, after the healthy devices were served,
 * so it never delays the others by more than its timeout.
 */
#include <string.h>

#include "iocagent/plugin.h"
#include "modbus_bus.h"
#include "modbus_config.h"
#include "modbus_decode.h"
#include "sensor.h"
#include "sensor_loop.h"

#define LONGEST_WAIT_MS 1000

struct mb_state {
	struct ioca_sensor_loop loop; /* first: see ioca_sensor_loop_plugin_run() */
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	struct ioca_mb_config cfg;
	struct ioca_mb_bus bus;
	bool started; /* blocks scheduled */
	uint16_t regs[MODBUS_MAX_READ_REGISTERS];
	uint8_t bits[MODBUS_MAX_READ_BITS];
};

static int64_t mb_poll(void *ctx, int64_t due_ms, int64_t now_ms);

static int mb_create(const struct ioca_host *host, struct ioca_instance *inst,
		     const struct ioca_opts *opts, void **state)
{
	struct mb_state *st =
	    ioca_sensor_loop_plugin_new(sizeof *st, host, inst, opts, mb_poll, LONGEST_WAIT_MS);
	const char *unmatched;

	if (!st)
		return IOCA_ERROR;
	st->host = host;
	st->inst = inst;
	st->sensor = st->loop.sensor;
	if (ioca_mb_config_load(&st->cfg, host, inst, opts, st->sensor) != IOCA_OK) {
		ioca_sensor_loop_plugin_free(st);
		return IOCA_ERROR;
	}
	unmatched = ioca_sensor_unmatched_rule(st->sensor);
	if (unmatched)
		host->log(inst, IOCA_LOG_WARNING, "modbus: a rule names unknown reading '%s'",
			  unmatched);
	ioca_mb_bus_init(&st->bus, &st->cfg, host, inst);
	*state = st;
	return IOCA_OK;
}

static void advance(struct ioca_mb_block *b, int64_t now)
{
	while (b->next_due_ms <= now)
		b->next_due_ms += b->poll_ms;
}

static void fail_block(struct mb_state *st, const struct ioca_mb_block *b, const char *err)
{
	int64_t mono = st->host->now_mono_ms();
	int64_t wall = st->host->now_wall_ms();

	for (unsigned i = 0; i < b->n_regs; i++)
		ioca_sensor_sample(st->sensor, st->cfg.registers[b->regs[i]].reading,
				   IOCA_READING_ERROR, 0, err, mono, wall);
}

/* Fail every block of device `d` that is due at `now` (no request sent). */
static void fail_due(struct mb_state *st, const struct ioca_mb_device *d, int64_t now,
		     const char *err)
{
	for (unsigned i = 0; i < d->n_blocks; i++) {
		struct ioca_mb_block *b = &st->cfg.blocks[d->first_block + i];

		if (b->next_due_ms > now)
			continue;
		advance(b, now);
		fail_block(st, b, err);
	}
}

static bool has_due(const struct mb_state *st, const struct ioca_mb_device *d, int64_t now)
{
	for (unsigned i = 0; i < d->n_blocks; i++)
		if (st->cfg.blocks[d->first_block + i].next_due_ms <= now)
			return true;
	return false;
}

static void count_request(struct mb_state *st, enum ioca_mb_result res)
{
	st->host->stat_add(st->inst, "requests", 1);
	if (res != IOCA_MB_OK)
		st->host->stat_add(st->inst, "request_errors", 1);
}

static enum ioca_mb_result read_calibration(struct mb_state *st, struct ioca_mb_device *d,
					    char *err, size_t errlen)
{
	enum ioca_mb_result res =
	    ioca_mb_bus_read(&st->bus, d->unit_id, d->cal_fn, d->cal_address, 1, d->timeout_ms,
			     st->regs, st->bits, err, errlen);

	count_request(st, res);
	if (res != IOCA_MB_OK)
		return res;
	if (d->cal_fn == IOCA_MB_COIL || d->cal_fn == IOCA_MB_DISCRETE)
		d->calibrating = st->bits[0] != 0;
	else if (d->cal_bit >= 0)
		d->calibrating = (st->regs[0] >> d->cal_bit) & 1u;
	else
		d->calibrating = st->regs[0] != 0;
	return res;
}

static void decode_block(struct mb_state *st, const struct ioca_mb_block *b, bool calibrating)
{
	int64_t mono = st->host->now_mono_ms();
	int64_t wall = st->host->now_wall_ms();

	for (unsigned i = 0; i < b->n_regs; i++) {
		const struct ioca_mb_register *r = &st->cfg.registers[b->regs[i]];
		unsigned off = (unsigned)(r->address - b->start);
		double raw;

		if (b->fn == IOCA_MB_COIL || b->fn == IOCA_MB_DISCRETE) {
			raw = st->bits[off] ? 1.0 : 0.0;
		} else if (ioca_mb_decode(&st->regs[off], b->count - off, r->type, r->word_order,
					  r->byte_order, &raw) != IOCA_OK) {
			ioca_sensor_sample(st->sensor, r->reading, IOCA_READING_ERROR, 0, "decode",
					   mono, wall);
			continue;
		}
		ioca_sensor_sample_raw(st->sensor, r->reading, calibrating, raw, mono, wall);
	}
}

/* Outcomes after which the rest of the device's due blocks are failed unsent. */
static bool gives_up_device(enum ioca_mb_result res)
{
	return res == IOCA_MB_TIMEOUT || res == IOCA_MB_CONNECTION;
}

static void note_device(struct mb_state *st, struct ioca_mb_device *d, enum ioca_mb_result res,
			const char *err)
{
	bool was_down = d->down;

	d->down = res == IOCA_MB_TIMEOUT;
	if (d->down && !was_down)
		st->host->log(st->inst, IOCA_LOG_WARNING,
			      "modbus: device '%s' (unit %d) does not answer: %s", d->name,
			      d->unit_id, err);
	else if (!d->down && was_down && res != IOCA_MB_CONNECTION)
		st->host->log(st->inst, IOCA_LOG_INFO,
			      "modbus: device '%s' (unit %d) answers again", d->name, d->unit_id);
}

static void poll_device(struct mb_state *st, struct ioca_mb_device *d, int64_t now)
{
	char err[IOCA_MB_ERROR_MAX];
	enum ioca_mb_result res;

	if (!has_due(st, d, now))
		return;
	if (!ioca_mb_bus_ready(&st->bus, now)) {
		fail_due(st, d, now, st->bus.conn_error);
		return;
	}
	if (d->has_calibration) {
		res = read_calibration(st, d, err, sizeof err);
		if (gives_up_device(res)) {
			note_device(st, d, res, err);
			fail_due(st, d, now, err);
			return;
		}
		if (res != IOCA_MB_OK)
			st->host->log(st->inst, IOCA_LOG_DEBUG,
				      "modbus: calibration status of '%s' unreadable: %s", d->name,
				      err);
		note_device(st, d, res, err);
	}
	for (unsigned i = 0; i < d->n_blocks; i++) {
		struct ioca_mb_block *b = &st->cfg.blocks[d->first_block + i];

		if (b->next_due_ms > now)
			continue;
		if (st->host->should_stop(st->inst))
			return;
		advance(b, now);
		res = ioca_mb_bus_read(&st->bus, d->unit_id, b->fn, b->start, b->count,
				       d->timeout_ms, st->regs, st->bits, err, sizeof err);
		count_request(st, res);
		note_device(st, d, res, err);
		if (res == IOCA_MB_OK) {
			decode_block(st, b, d->calibrating);
			continue;
		}
		fail_block(st, b, err);
		if (gives_up_device(res)) {
			fail_due(st, d, now, err);
			return;
		}
	}
}

static int64_t next_due(const struct mb_state *st)
{
	int64_t next = INT64_MAX;

	for (unsigned i = 0; i < st->cfg.n_blocks; i++)
		if (st->cfg.blocks[i].next_due_ms < next)
			next = st->cfg.blocks[i].next_due_ms;
	return next;
}

/* One pass over the devices (ioca_sensor_poll_fn): healthy ones first, then those that are down. */
static int64_t mb_poll(void *ctx, int64_t due_ms, int64_t now_ms)
{
	struct mb_state *st = ctx;

	(void)due_ms;
	if (!st->started) {
		/* every block is due at the first pass */
		for (unsigned i = 0; i < st->cfg.n_blocks; i++)
			st->cfg.blocks[i].next_due_ms = now_ms;
		st->started = true;
	}
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned d = 0; d < st->cfg.n_devices; d++)
			if (st->cfg.devices[d].down == (pass == 1))
				poll_device(st, &st->cfg.devices[d], now_ms);
	st->host->stat_set(st->inst, "connected", st->bus.connected ? 1 : 0);
	return next_due(st);
}

static void mb_destroy(void *state)
{
	struct mb_state *st = state;

	if (!st)
		return;
	ioca_mb_bus_close(&st->bus);
	ioca_mb_config_free(&st->cfg);
	ioca_sensor_loop_plugin_free(st);
}

IOCA_PLUGIN_DESCRIPTOR(.name = "modbus", .version = "1.0.0",
		       .description =
			   "Modbus RTU/TCP sensors: register maps of several devices per bus",
		       .options = ioca_mb_options, .check = ioca_mb_check, .create = mb_create,
		       .run = ioca_sensor_loop_plugin_run, .stop = ioca_sensor_loop_plugin_stop,
		       .destroy = mb_destroy);
