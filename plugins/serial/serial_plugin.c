/*
 * serial plugin: a line-oriented instrument on a tty (NMEA 0183 weather
 * sentences, key=value or CSV lines) read into ioca_sensorlib readings.
 *
 * The run loop owns the tty: open (termios from the options), read what
 * arrives into the line framer, parse each line, sample; when the tty fails
 * or disappears, fail every reading ("disconnected" / "open_failed") and
 * reopen with a doubling backoff; when nothing usable arrives for
 * silence_timeout, fail every reading ("no_data") once per silence_timeout.
 *
 * Invariant: run() never blocks longer than POLL_SLICE_MS without calling a
 * host function (should_stop / wait), so the agent sees it alive and stop()
 * takes effect within that slice.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvline.h"
#include "iocagent/plugin.h"
#include "kvline.h"
#include "linebuf.h"
#include "nmea.h"
#include "sensor.h"
#include "serial_config.h"
#include "serial_fields.h"
#include "tty.h"

#define POLL_SLICE_MS    200
#define READ_CHUNK_BYTES 4096
#define ERROR_TEXT_MAX   256
/* Repeated complaints (garbage lines, failed reopen) are logged at most this often. */
#define COMPLAIN_INTERVAL_MS 60000

#define REASON_OPEN_FAILED   "open_failed"
#define REASON_DISCONNECTED  "disconnected"
#define REASON_NO_DATA       "no_data"
#define REASON_STATUS_PREFIX "instrument_status:"
#define STATUS_TEXT_MAX      48

struct complaint {
	int64_t last_ms;
	unsigned long suppressed;
};

struct serial_state {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	struct ioca_serial_config cfg;
	struct ioca_serial_sink sink;
	struct ioca_linebuf lines;
	atomic_bool stopping;

	int fd;
	int64_t backoff_ms;
	int64_t next_open_ms;
	int64_t last_data_ms;    /* last line that gave samples, or when the tty opened */
	int64_t next_silence_ms; /* next no_data round while silent */
	int silent;
	uint64_t overlong_reported;
	struct complaint garbage_complaint;
	struct complaint open_complaint;
};

/* Log at most once per COMPLAIN_INTERVAL_MS per kind, saying how many were skipped. */
static void complain(struct serial_state *st, struct complaint *c, const char *what,
		     const char *detail)
{
	int64_t now = st->host->now_mono_ms();
	if (c->last_ms != 0 && now - c->last_ms < COMPLAIN_INTERVAL_MS) {
		c->suppressed++;
		return;
	}
	if (c->suppressed)
		st->host->log(st->inst, IOCA_LOG_WARNING,
			      "serial: %s: %s (%lu more since last report)", what, detail,
			      c->suppressed);
	else
		st->host->log(st->inst, IOCA_LOG_WARNING, "serial: %s: %s", what, detail);
	c->last_ms = now;
	c->suppressed = 0;
}

static void fail_all(struct serial_state *st, const char *reason)
{
	ioca_sensor_fail_group(st->sensor, 0, reason, st->host->now_mono_ms(),
			       st->host->now_wall_ms());
}

static void note_data(struct serial_state *st, int64_t now)
{
	st->last_data_ms = now;
	if (st->silent)
		st->host->log(st->inst, IOCA_LOG_INFO, "serial: %s sends data again",
			      st->cfg.tty.path);
	st->silent = 0;
}

static void garbage(struct serial_state *st, size_t len)
{
	char detail[64];
	st->host->stat_add(st->inst, "garbage_lines", 1);
	snprintf(detail, sizeof detail, "%zu bytes", len);
	complain(st, &st->garbage_complaint, "unparseable line", detail);
}

static int text_in(const char *text, size_t len, const char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], text, len) == 0)
			return 1;
	return 0;
}

/* Instrument status the line carries (status_key / status_column); reason filled for errors. */
static enum ioca_reading_status line_status(const struct serial_state *st, const char *line,
					    size_t len, char *reason, size_t cap)
{
	const struct ioca_serial_config *c = &st->cfg;
	const char *text = NULL;
	size_t tlen = 0;
	int found = -1;
	if (c->protocol == IOCA_SERIAL_KV && c->status_key)
		found = ioca_kv_find(line, len, c->status_key, &text, &tlen);
	else if (c->protocol == IOCA_SERIAL_CSV && c->status_column >= 0)
		found = ioca_csv_field(line, len, c->separator, (unsigned)c->status_column, &text,
				       &tlen);
	if (found != 0)
		return IOCA_READING_OK;
	if (text_in(text, tlen, c->calibrating_values, c->n_calibrating))
		return IOCA_READING_CALIBRATING;
	if (!text_in(text, tlen, c->error_values, c->n_error))
		return IOCA_READING_OK;
	snprintf(reason, cap, REASON_STATUS_PREFIX "%.*s",
		 (int)(tlen < STATUS_TEXT_MAX ? tlen : STATUS_TEXT_MAX), text);
	return IOCA_READING_ERROR;
}

static void on_line(void *ctx, const char *line, size_t len)
{
	struct serial_state *st = ctx;
	struct ioca_line_values vals;
	int64_t mono = st->host->now_mono_ms();
	int64_t wall = st->host->now_wall_ms();

	st->host->stat_add(st->inst, "lines", 1);
	switch (st->cfg.protocol) {
	case IOCA_SERIAL_NMEA: {
		enum ioca_nmea_result r =
		    ioca_nmea_parse(line, len, st->cfg.require_checksum, &vals);
		if (r == IOCA_NMEA_MALFORMED) {
			garbage(st, len);
			return;
		}
		if (r == IOCA_NMEA_CHECKSUM)
			st->host->stat_add(st->inst, "checksum_errors", 1);
		else if (r == IOCA_NMEA_UNSUPPORTED)
			st->host->stat_add(st->inst, "unsupported_sentences", 1);
		break;
	}
	case IOCA_SERIAL_KV:
		if (ioca_kv_parse(line, len, &vals) < 0) {
			garbage(st, len);
			return;
		}
		break;
	case IOCA_SERIAL_CSV:
		if (ioca_csv_parse(line, len, st->cfg.separator, st->cfg.csv_map, st->cfg.n_fields,
				   &vals) < 0) {
			garbage(st, len);
			return;
		}
		break;
	}
	char reason[sizeof REASON_STATUS_PREFIX + STATUS_TEXT_MAX];
	enum ioca_reading_status status = line_status(st, line, len, reason, sizeof reason);
	if (ioca_serial_sink_values(&st->sink, &vals, status, reason, mono, wall) > 0)
		note_data(st, mono);
}

static void close_tty(struct serial_state *st, const char *why)
{
	if (st->fd < 0)
		return;
	close(st->fd);
	st->fd = -1;
	int64_t now = st->host->now_mono_ms();
	st->host->log(st->inst, IOCA_LOG_WARNING, "serial: %s lost (%s); reopening in %lld ms",
		      st->cfg.tty.path, why, (long long)st->cfg.reopen_min_ms);
	st->host->stat_add(st->inst, "disconnects", 1);
	st->host->stat_set(st->inst, "connected", 0);
	st->backoff_ms = st->cfg.reopen_min_ms;
	st->next_open_ms = now + st->backoff_ms;
	fail_all(st, REASON_DISCONNECTED);
}

static void try_open(struct serial_state *st, int64_t now)
{
	char err[ERROR_TEXT_MAX];
	int fd = ioca_tty_open(&st->cfg.tty, err, sizeof err);
	if (fd < 0) {
		st->host->stat_add(st->inst, "open_failures", 1);
		complain(st, &st->open_complaint, "cannot open the tty", err);
		fail_all(st, REASON_OPEN_FAILED);
		st->next_open_ms = now + st->backoff_ms;
		st->backoff_ms *= 2;
		if (st->backoff_ms > st->cfg.reopen_max_ms)
			st->backoff_ms = st->cfg.reopen_max_ms;
		return;
	}
	st->fd = fd;
	st->open_complaint.last_ms = 0;
	st->open_complaint.suppressed = 0;
	st->backoff_ms = st->cfg.reopen_min_ms;
	ioca_linebuf_reset(&st->lines);
	st->last_data_ms = now;
	st->silent = 0;
	st->host->stat_add(st->inst, "opens", 1);
	st->host->stat_set(st->inst, "connected", 1);
	st->host->log(st->inst, IOCA_LOG_INFO, "serial: opened %s at %ld baud", st->cfg.tty.path,
		      st->cfg.tty.baud);
}

/* Read what is there; returns 0, or -1 after closing a tty that failed. */
static int read_tty(struct serial_state *st)
{
	char buf[READ_CHUNK_BYTES];
	ssize_t n = read(st->fd, buf, sizeof buf);
	if (n > 0) {
		st->host->stat_add(st->inst, "bytes", (double)n);
		ioca_linebuf_feed(&st->lines, buf, (size_t)n, on_line, st);
		if (st->lines.overlong != st->overlong_reported) {
			st->host->stat_add(st->inst, "lines_overlong",
					   (double)(st->lines.overlong - st->overlong_reported));
			st->overlong_reported = st->lines.overlong;
		}
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* 0 bytes after POLLIN is a hang-up; an error is a vanished or broken device. */
	close_tty(st, n == 0 ? "hang-up" : strerror(errno));
	return -1;
}

static void check_silence(struct serial_state *st, int64_t now)
{
	if (now - st->last_data_ms < st->cfg.silence_ms)
		return;
	if (!st->silent) {
		st->silent = 1;
		st->next_silence_ms = now;
		st->host->stat_add(st->inst, "silences", 1);
		st->host->log(st->inst, IOCA_LOG_WARNING,
			      "serial: no usable data from %s for %.1f s", st->cfg.tty.path,
			      (double)(now - st->last_data_ms) / 1000.0);
	}
	if (now < st->next_silence_ms)
		return;
	fail_all(st, REASON_NO_DATA);
	st->next_silence_ms = now + st->cfg.silence_ms;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* One pass with the tty open: wait for input at most `limit_ms`, read, check silence. */
static void pass_open(struct serial_state *st, int64_t limit_ms)
{
	int64_t now = st->host->now_mono_ms();
	int64_t silence_at =
	    st->silent ? st->next_silence_ms : st->last_data_ms + st->cfg.silence_ms;
	int64_t timeout = min64(limit_ms, silence_at - now);
	if (timeout < 0)
		timeout = 0;
	struct pollfd p = {.fd = st->fd, .events = POLLIN};
	int r = poll(&p, 1, (int)timeout);
	if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
		if (p.revents & POLLNVAL) {
			close_tty(st, "invalid descriptor");
			return;
		}
		if (read_tty(st) != 0)
			return;
	}
	check_silence(st, st->host->now_mono_ms());
}

static int serial_run(void *state)
{
	struct serial_state *st = state;
	const struct ioca_host *host = st->host;
	int64_t publish_in = POLL_SLICE_MS;

	st->next_open_ms = host->now_mono_ms();
	while (!atomic_load(&st->stopping) && !host->should_stop(st->inst)) {
		int64_t now = host->now_mono_ms();
		int64_t limit = min64(POLL_SLICE_MS, publish_in);
		if (st->fd < 0 && now >= st->next_open_ms)
			try_open(st, now);
		if (st->fd >= 0) {
			pass_open(st, limit);
		} else {
			int64_t sleep_ms = min64(limit, st->next_open_ms - now);
			if (sleep_ms > 0 && host->wait(st->inst, sleep_ms))
				break;
		}
		publish_in = ioca_sensor_flush(st->sensor, host->now_mono_ms());
	}
	ioca_sensor_flush_all(st->sensor, host->now_mono_ms());
	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	return IOCA_OK;
}

static void serial_stop(void *state)
{
	struct serial_state *st = state;
	atomic_store(&st->stopping, true);
}

static void serial_destroy(void *state)
{
	struct serial_state *st = state;
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	ioca_linebuf_free(&st->lines);
	ioca_serial_config_free(&st->cfg);
	ioca_sensor_free(st->sensor);
	free(st);
}

static int serial_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct serial_state *st = calloc(1, sizeof *st);
	if (!st) {
		host->log(inst, IOCA_LOG_ERROR, "serial: out of memory");
		return IOCA_ERROR;
	}
	st->host = host;
	st->inst = inst;
	st->fd = -1;
	atomic_init(&st->stopping, false);
	st->sensor = ioca_sensor_new(host, inst, opts);
	if (!st->sensor ||
	    ioca_serial_config_load(&st->cfg, host, inst, opts, st->sensor) != IOCA_OK)
		goto fail;
	if (ioca_linebuf_init(&st->lines, st->cfg.max_line) != 0) {
		host->log(inst, IOCA_LOG_ERROR, "serial: out of memory");
		goto fail;
	}
	st->backoff_ms = st->cfg.reopen_min_ms;
	st->sink.host = host;
	st->sink.inst = inst;
	st->sink.sensor = st->sensor;
	st->sink.cfg = &st->cfg;
	if (st->cfg.n_fields > 0) {
		const char *unmatched = ioca_sensor_unmatched_rule(st->sensor);
		if (unmatched)
			host->log(inst, IOCA_LOG_WARNING,
				  "serial: a rule names unknown reading '%s'", unmatched);
	}
	*state = st;
	return IOCA_OK;
fail:
	serial_destroy(st);
	return IOCA_ERROR;
}

IOCA_PLUGIN_DESCRIPTOR(
	.name = "serial", .version = "1.0.0",
	.description = "Serial line instruments (NMEA 0183 MDA/MWV, key=value, CSV) on a tty",
	.options = ioca_serial_options, .check = ioca_serial_check, .create = serial_create,
	.run = serial_run, .stop = serial_stop, .destroy = serial_destroy);
