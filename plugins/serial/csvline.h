/*
 * Parser of CSV instrument lines with a column map: the map names which
 * 0-based column holds which reading, e.g. columns 2 -> "pm25", 3 -> "pm10"
 * for "2026-11-25T10:00:00,ST01,35.2,48.0".
 *
 * Fields are split on one separator character; a field may be enclosed in
 * double quotes (the separator is then literal, "" is a quote). Spaces around
 * a number are ignored.
 *
 * Invariant: each map entry yields exactly one value: the number, or a failed
 * value ("missing_column" when the line is too short, "parse" when the field
 * is not a number).
 */
#ifndef IOCA_SERIAL_CSVLINE_H
#define IOCA_SERIAL_CSVLINE_H

#include <stddef.h>

#include "line_values.h"

/* Most columns looked at in one line; later ones count as absent. */
#define IOCA_CSV_MAX_COLUMNS 128

struct ioca_csv_column {
	unsigned column; /* 0-based column index */
	const char *key; /* name given to the value */
};

/*
 * Parse `line` (len bytes, need not be NUL-terminated; trailing CR/LF ignored)
 * with separator `sep` and the `ncols` entries of `map`. `vals` is reset first.
 *
 * Return value: the number of columns on the line, or -1 when the line is
 * malformed (an unterminated quote).
 */
int ioca_csv_parse(const char *line, size_t len, char sep, const struct ioca_csv_column *map,
		   size_t ncols, struct ioca_line_values *vals);

/*
 * Text of column `column` (quotes and surrounding blanks removed), e.g. an
 * instrument status column. Return value: 0 with *field / *field_len
 * pointing into `line`, or -1 when the line is malformed or too short.
 */
int ioca_csv_field(const char *line, size_t len, char sep, unsigned column, const char **field,
		   size_t *field_len);

#endif
