/*
 * Options of the serial plugin: the option table, the cross-field check and
 * loading them into a struct the run loop uses.
 *
 * Invariant: after ioca_serial_config_load() succeeds every configured field
 * is registered as a reading of the sensor object (group 0) and
 * fields[i].reading is its index; the config borrows option strings, which
 * the host keeps valid until destroy().
 */
#ifndef IOCA_SERIAL_CONFIG_H
#define IOCA_SERIAL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "csvline.h"
#include "iocagent/plugin.h"
#include "sensor.h"
#include "tty.h"

enum ioca_serial_protocol { IOCA_SERIAL_NMEA, IOCA_SERIAL_KV, IOCA_SERIAL_CSV };

struct ioca_serial_field {
	const char *key;  /* NMEA key, kv key, or (csv) the name given to the column */
	const char *name; /* reading name */
	int reading;      /* index in the sensor object */
};

struct ioca_serial_config {
	struct ioca_tty_config tty;
	enum ioca_serial_protocol protocol;
	int require_checksum;
	char separator;
	size_t max_line;
	int64_t silence_ms;
	int64_t reopen_min_ms;
	int64_t reopen_max_ms;
	struct ioca_serial_field *fields;
	size_t n_fields;
	struct ioca_csv_column *csv_map; /* n_fields entries, csv only */

	/* Instrument status carried on the line (kv key or csv column). */
	const char *status_key; /* kv; NULL: none */
	int status_column;      /* csv; -1: none */
	const char **calibrating_values;
	size_t n_calibrating;
	const char **error_values;
	size_t n_error;
};

extern const struct ioca_option ioca_serial_options[];

/* check() callback of the plugin. */
int ioca_serial_check(const struct ioca_host *host, const struct ioca_opts *opts,
		      ioca_report_fn report, void *report_ctx);

/* Read the options and register the configured fields. IOCA_OK or IOCA_ERROR (logged). */
int ioca_serial_config_load(struct ioca_serial_config *cfg, const struct ioca_host *host,
			    struct ioca_instance *inst, const struct ioca_opts *opts,
			    struct ioca_sensor *sensor);

void ioca_serial_config_free(struct ioca_serial_config *cfg);

#endif
