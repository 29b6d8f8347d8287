/*
 * Option table, check() and loading of the serial plugin's options (see
 * serial_config.h). The sensor keys (publish_interval, rules, ... and name,
 * unit, scale, ... of a field) come from ioca_sensorlib's fragments.
 *
 * Invariant: what ioca_serial_check() accepts loads without error except for
 * running out of memory.
 */
#include "serial_config.h"

#include <stdlib.h>
#include <string.h>

#include "nmea.h"

#define MS_PER_S             1000.0
#define DEFAULT_BAUD         9600
#define MIN_BAUD             300
#define MAX_BAUD             2000000
#define DEFAULT_MAX_LINE     512
#define MIN_MAX_LINE         16
#define MAX_MAX_LINE         65536
#define DEFAULT_SILENCE_S    10.0
#define MIN_SILENCE_S        0.1
#define MAX_SILENCE_S        86400.0
#define DEFAULT_REOPEN_MIN_S 1.0
#define DEFAULT_REOPEN_MAX_S 30.0
#define MIN_REOPEN_S         0.05
#define MAX_REOPEN_S         3600.0
#define MAX_FIELDS           256
#define MAX_STATUS_VALUES    32
#define MAX_CSV_COLUMN       (IOCA_CSV_MAX_COLUMNS - 1)
#define NO_COLUMN            (-1)

static const struct ioca_option field_options[] = {
    IOCA_SENSOR_READING_OPTIONS,
    {.key = "key",
     .type = IOCA_OPT_STRING,
     .help = "nmea/kv: key on the line (NMEA: pressure, air_temp, wind_speed, ...); "
	     "default: the reading name"},
    {.key = "column",
     .type = IOCA_OPT_INT,
     .def_int = NO_COLUMN,
     .min = NO_COLUMN,
     .max = MAX_CSV_COLUMN,
     .help = "csv: 0-based column holding the value (required for csv)"},
    {.key = NULL},
};

const struct ioca_option ioca_serial_options[] = {
    IOCA_SENSOR_INSTANCE_OPTIONS,
    {.key = "device",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED | IOCA_OPTF_PATH,
     .help = "tty of the instrument, e.g. /dev/ttyUSB0 or /dev/serial/by-id/..."},
    {.key = "baud",
     .type = IOCA_OPT_INT,
     .def_int = DEFAULT_BAUD,
     .min = MIN_BAUD,
     .max = MAX_BAUD,
     .help = "line speed, one of the standard rates 300, 600, 1200, 1800, 2400, 4800, 9600, "
	     "19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, "
	     "1500000, 2000000"},
    {.key = "parity",
     .type = IOCA_OPT_ENUM,
     .def_string = "none",
     .choices = "none|even|odd",
     .help = "parity bit"},
    {.key = "data_bits",
     .type = IOCA_OPT_INT,
     .def_int = 8,
     .min = 5,
     .max = 8,
     .help = "data bits per character"},
    {.key = "stop_bits",
     .type = IOCA_OPT_INT,
     .def_int = 1,
     .min = 1,
     .max = 2,
     .help = "stop bits"},
    {.key = "flow_control",
     .type = IOCA_OPT_ENUM,
     .def_string = "none",
     .choices = "none|rtscts|xonxoff",
     .help = "flow control"},
    {.key = "protocol",
     .type = IOCA_OPT_ENUM,
     .def_string = "nmea",
     .choices = "nmea|kv|csv",
     .help = "line format: NMEA 0183 (MDA, MWV), key=value pairs, or CSV with `fields` columns"},
    {.key = "nmea_require_checksum",
     .type = IOCA_OPT_BOOL,
     .def_bool = true,
     .help = "refuse NMEA sentences without a *hh checksum"},
    {.key = "csv_separator",
     .type = IOCA_OPT_STRING,
     .def_string = ",",
     .help = "csv: field separator (one character)"},
    {.key = "max_line",
     .type = IOCA_OPT_INT,
     .def_int = DEFAULT_MAX_LINE,
     .min = MIN_MAX_LINE,
     .max = MAX_MAX_LINE,
     .help = "longest line in bytes; longer lines are discarded and counted"},
    {.key = "silence_timeout",
     .type = IOCA_OPT_FLOAT,
     .def_float = DEFAULT_SILENCE_S,
     .min = MIN_SILENCE_S,
     .max = MAX_SILENCE_S,
     .help = "seconds without a usable line before every reading gets an error sample "
	     "(no_data), repeated at this period while the silence lasts"},
    {.key = "reopen_min",
     .type = IOCA_OPT_FLOAT,
     .def_float = DEFAULT_REOPEN_MIN_S,
     .min = MIN_REOPEN_S,
     .max = MAX_REOPEN_S,
     .help = "first delay in seconds before reopening a tty that failed or disappeared"},
    {.key = "reopen_max",
     .type = IOCA_OPT_FLOAT,
     .def_float = DEFAULT_REOPEN_MAX_S,
     .min = MIN_REOPEN_S,
     .max = MAX_REOPEN_S,
     .help = "longest reopen delay in seconds (the delay doubles after each failure)"},
    {.key = "status_key",
     .type = IOCA_OPT_STRING,
     .help = "kv: key whose value is the instrument status (see calibrating_values, "
	     "error_values)"},
    {.key = "status_column",
     .type = IOCA_OPT_INT,
     .def_int = NO_COLUMN,
     .min = NO_COLUMN,
     .max = MAX_CSV_COLUMN,
     .help = "csv: 0-based column holding the instrument status"},
    {.key = "calibrating_values",
     .type = IOCA_OPT_STRING_ARRAY,
     .max_count = MAX_STATUS_VALUES,
     .help = "status texts meaning the instrument is calibrating: the line's readings are "
	     "published as calibrating"},
    {.key = "error_values",
     .type = IOCA_OPT_STRING_ARRAY,
     .max_count = MAX_STATUS_VALUES,
     .help = "status texts meaning the instrument is in error: the line's readings fail "
	     "with instrument_status:<text>"},
    {.key = "fields",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = MAX_FIELDS,
     .children = field_options,
     .help = "readings taken from the lines: { name; key or column; unit; scale; ... }; "
	     "nmea/kv without fields publish every key they see"},
    {.key = NULL},
};

static enum ioca_serial_protocol protocol_of(const char *s)
{
	if (s && strcmp(s, "kv") == 0)
		return IOCA_SERIAL_KV;
	if (s && strcmp(s, "csv") == 0)
		return IOCA_SERIAL_CSV;
	return IOCA_SERIAL_NMEA;
}

static const char *field_key(const struct ioca_host *host, const struct ioca_opts *f)
{
	const char *key = host->opt_string(f, "key");
	return key ? key : host->opt_string(f, "name");
}

struct known_ctx {
	const struct ioca_host *host;
	const struct ioca_opts *opts;
	enum ioca_serial_protocol protocol;
};

/* Which readings rules may name: the fields, or without fields what the protocol can yield. */
static bool known_reading(void *ctx, const char *name)
{
	const struct known_ctx *k = ctx;
	if (k->host->opt_count(k->opts, "fields") > 0)
		return ioca_sensor_count_named(k->host, k->opts, "fields", NULL, name) > 0;
	return k->protocol == IOCA_SERIAL_KV || ioca_nmea_unit_of(name) != NULL;
}

static int check_fields(const struct ioca_host *host, const struct ioca_opts *opts,
			enum ioca_serial_protocol protocol, ioca_report_fn report, void *rctx)
{
	int problems = 0;
	size_t n = host->opt_count(opts, "fields");
	if (protocol == IOCA_SERIAL_CSV && n == 0) {
		report(rctx, opts, "protocol \"csv\" needs `fields` with a `column` each");
		problems++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ioca_opts *f = host->opt_group_at(opts, "fields", i);
		const char *name = host->opt_string(f, "name");
		problems += ioca_sensor_check_reading(host, f, report, rctx);
		int64_t column = host->opt_int(f, "column");
		if (protocol == IOCA_SERIAL_CSV && column == NO_COLUMN) {
			report(rctx, f, "field '%s': protocol \"csv\" needs `column`", name);
			problems++;
		}
		if (protocol != IOCA_SERIAL_CSV && column != NO_COLUMN) {
			report(rctx, f, "field '%s': `column` applies to protocol \"csv\" only",
			       name);
			problems++;
		}
		if (protocol == IOCA_SERIAL_CSV && host->opt_is_set(f, "key")) {
			report(rctx, f, "field '%s': `key` does not apply to protocol \"csv\"",
			       name);
			problems++;
		}
		if (protocol == IOCA_SERIAL_NMEA && !ioca_nmea_unit_of(field_key(host, f))) {
			report(rctx, f,
			       "field '%s': '%s' is not an NMEA key (pressure, air_temp, "
			       "water_temp, humidity, dew_point, wind_dir_true, wind_dir_magnetic, "
			       "wind_speed, wind_angle_relative, wind_speed_relative, "
			       "wind_angle_true, wind_speed_true)",
			       name, field_key(host, f));
			problems++;
		}
		for (size_t j = 0; j < i; j++) {
			const struct ioca_opts *g = host->opt_group_at(opts, "fields", j);
			if (name && strcmp(name, host->opt_string(g, "name")) == 0) {
				report(rctx, f, "field name '%s' used twice", name);
				problems++;
			}
		}
	}
	return problems;
}

int ioca_serial_check(const struct ioca_host *host, const struct ioca_opts *opts,
		      ioca_report_fn report, void *report_ctx)
{
	int problems = 0;
	enum ioca_serial_protocol protocol = protocol_of(host->opt_string(opts, "protocol"));
	int64_t baud = host->opt_int(opts, "baud");
	if (!ioca_tty_baud_supported((long)baud)) {
		report(report_ctx, opts, "baud %lld is not a standard rate", (long long)baud);
		problems++;
	}
	const char *sep = host->opt_string(opts, "csv_separator");
	if (!sep || strlen(sep) != 1 || sep[0] == '"' || sep[0] == '\r' || sep[0] == '\n') {
		report(report_ctx, opts,
		       "csv_separator must be one character other than '\"', CR, LF");
		problems++;
	}
	if (host->opt_float(opts, "reopen_min") > host->opt_float(opts, "reopen_max")) {
		report(report_ctx, opts, "reopen_min must not exceed reopen_max");
		problems++;
	}
	problems += check_fields(host, opts, protocol, report, report_ctx);
	bool has_key = host->opt_string(opts, "status_key") != NULL;
	bool has_column = host->opt_int(opts, "status_column") != NO_COLUMN;
	if (has_key && protocol != IOCA_SERIAL_KV) {
		report(report_ctx, opts, "status_key applies to protocol \"kv\" only");
		problems++;
	}
	if (has_column && protocol != IOCA_SERIAL_CSV) {
		report(report_ctx, opts, "status_column applies to protocol \"csv\" only");
		problems++;
	}
	size_t n_values =
	    host->opt_count(opts, "calibrating_values") + host->opt_count(opts, "error_values");
	if ((has_key || has_column) && n_values == 0) {
		report(report_ctx, opts,
		       "a status key or column needs calibrating_values and/or "
		       "error_values");
		problems++;
	}
	if (!has_key && !has_column && n_values > 0) {
		report(report_ctx, opts,
		       "calibrating_values / error_values need status_key (kv) or "
		       "status_column (csv)");
		problems++;
	}
	struct known_ctx k = {host, opts, protocol};
	problems += ioca_sensor_check(host, opts, known_reading, &k, report, report_ctx);
	return problems;
}

static int load_fields(struct ioca_serial_config *cfg, const struct ioca_host *host,
		       struct ioca_instance *inst, const struct ioca_opts *opts,
		       struct ioca_sensor *sensor)
{
	size_t n = host->opt_count(opts, "fields");
	if (n == 0)
		return IOCA_OK;
	cfg->fields = calloc(n, sizeof *cfg->fields);
	cfg->csv_map = calloc(n, sizeof *cfg->csv_map);
	if (!cfg->fields || !cfg->csv_map) {
		host->log(inst, IOCA_LOG_ERROR, "serial: out of memory");
		return IOCA_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ioca_opts *f = host->opt_group_at(opts, "fields", i);
		struct ioca_serial_field *fld = &cfg->fields[i];
		fld->name = host->opt_string(f, "name");
		fld->key = cfg->protocol == IOCA_SERIAL_CSV ? fld->name : field_key(host, f);
		/* A field without a unit of its own gets the one NMEA defines for its key. */
		const char *unit = host->opt_string(f, "unit");
		if (!unit && cfg->protocol == IOCA_SERIAL_NMEA)
			unit = ioca_nmea_unit_of(fld->key);
		fld->reading = ioca_sensor_add_reading(sensor, fld->name, unit, 0);
		if (fld->reading < 0) {
			host->log(inst, IOCA_LOG_ERROR, "serial: cannot register reading '%s'",
				  fld->name);
			return IOCA_ERROR;
		}
		ioca_sensor_set_conditioning_opts(sensor, fld->reading, f);
		cfg->csv_map[i].column = (unsigned)host->opt_int(f, "column");
		cfg->csv_map[i].key = fld->key;
		cfg->n_fields++;
	}
	return IOCA_OK;
}

static int load_strings(const struct ioca_host *host, const struct ioca_opts *opts, const char *key,
			const char ***out, size_t *count)
{
	size_t n = host->opt_count(opts, key);
	*count = 0;
	if (n == 0)
		return IOCA_OK;
	*out = calloc(n, sizeof **out);
	if (!*out)
		return IOCA_ERROR;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = host->opt_string_at(opts, key, i);
	*count = n;
	return IOCA_OK;
}

int ioca_serial_config_load(struct ioca_serial_config *cfg, const struct ioca_host *host,
			    struct ioca_instance *inst, const struct ioca_opts *opts,
			    struct ioca_sensor *sensor)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->tty.path = host->opt_string(opts, "device");
	cfg->tty.baud = (long)host->opt_int(opts, "baud");
	cfg->tty.data_bits = (int)host->opt_int(opts, "data_bits");
	cfg->tty.stop_bits = (int)host->opt_int(opts, "stop_bits");
	if (ioca_tty_parse_parity(host->opt_string(opts, "parity"), &cfg->tty.parity) != 0 ||
	    ioca_tty_parse_flow(host->opt_string(opts, "flow_control"), &cfg->tty.flow) != 0) {
		host->log(inst, IOCA_LOG_ERROR, "serial: bad parity or flow_control");
		return IOCA_ERROR;
	}
	cfg->protocol = protocol_of(host->opt_string(opts, "protocol"));
	cfg->require_checksum = host->opt_bool(opts, "nmea_require_checksum");
	const char *sep = host->opt_string(opts, "csv_separator");
	cfg->separator = sep && sep[0] ? sep[0] : ',';
	cfg->max_line = (size_t)host->opt_int(opts, "max_line");
	cfg->silence_ms = (int64_t)(host->opt_float(opts, "silence_timeout") * MS_PER_S);
	cfg->reopen_min_ms = (int64_t)(host->opt_float(opts, "reopen_min") * MS_PER_S);
	cfg->reopen_max_ms = (int64_t)(host->opt_float(opts, "reopen_max") * MS_PER_S);
	cfg->status_key = host->opt_string(opts, "status_key");
	cfg->status_column = (int)host->opt_int(opts, "status_column");
	if (load_strings(host, opts, "calibrating_values", &cfg->calibrating_values,
			 &cfg->n_calibrating) != IOCA_OK ||
	    load_strings(host, opts, "error_values", &cfg->error_values, &cfg->n_error) !=
		IOCA_OK) {
		host->log(inst, IOCA_LOG_ERROR, "serial: out of memory");
		ioca_serial_config_free(cfg);
		return IOCA_ERROR;
	}
	if (load_fields(cfg, host, inst, opts, sensor) != IOCA_OK) {
		ioca_serial_config_free(cfg);
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

void ioca_serial_config_free(struct ioca_serial_config *cfg)
{
	free(cfg->calibrating_values);
	free(cfg->error_values);
	cfg->calibrating_values = NULL;
	cfg->error_values = NULL;
	free(cfg->fields);
	free(cfg->csv_map);
	cfg->fields = NULL;
	cfg->csv_map = NULL;
	cfg->n_fields = 0;
}
