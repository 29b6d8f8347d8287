/*
 * NMEA 0183 sentence parser for weather instruments: checksum verification
 * and decoding of MDA (meteorological composite) and MWV (wind speed and
 * angle) into named values in SI-friendly units.
 *
 * Invariant: values are produced only from a sentence whose checksum was
 * verified (or, with require_checksum off, that carries none); a sentence
 * with a wrong checksum yields only failed values ("checksum") for the keys
 * its type can carry, so the caller can mark those readings as errors.
 *
 * Keys and units (after conversion):
 *   MDA: pressure hPa, air_temp degC, water_temp degC, humidity %RH,
 *        dew_point degC, wind_dir_true deg, wind_dir_magnetic deg, wind_speed m/s
 *   MWV: wind_angle_relative / wind_angle_true deg,
 *        wind_speed_relative / wind_speed_true m/s (reference R / T)
 */
#ifndef IOCA_SERIAL_NMEA_H
#define IOCA_SERIAL_NMEA_H

#include <stddef.h>

#include "line_values.h"

enum ioca_nmea_result {
	IOCA_NMEA_OK = 0,      /* decoded; vals holds the fields present */
	IOCA_NMEA_CHECKSUM,    /* checksum wrong or missing; vals holds failed keys */
	IOCA_NMEA_UNSUPPORTED, /* well-formed, checksum good, sentence type not decoded */
	IOCA_NMEA_MALFORMED,   /* not an NMEA sentence at all */
};

/*
 * Parse one line (without CR/LF; trailing CR/LF and spaces are tolerated).
 * `line` need not be NUL-terminated. With require_checksum == 0 a sentence
 * without "*hh" is accepted; a present but wrong checksum is always refused.
 * `vals` is reset first.
 */
enum ioca_nmea_result ioca_nmea_parse(const char *line, size_t len, int require_checksum,
				      struct ioca_line_values *vals);

/* XOR of the bytes between '$' (exclusive) and '*' (exclusive): the NMEA checksum. */
unsigned ioca_nmea_checksum(const char *body, size_t len);

/* Unit of a key this parser produces ("hPa", "degC", ...), or NULL for any other key. */
const char *ioca_nmea_unit_of(const char *key);

/* Short name of a result for logs and statistics ("ok", "checksum", ...). */
const char *ioca_nmea_result_name(enum ioca_nmea_result r);

#endif
