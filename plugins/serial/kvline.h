/*
 * Parser of generic `key=value` instrument lines, e.g.
 *     T=23.4 RH=61.2 P=1008.9hPa
 *     pm25=35.2;pm10=48.0
 *
 * Pairs are separated by spaces, tabs, ',' or ';'; `:` is accepted in place
 * of `=`. A value may carry a unit suffix starting with a letter, '%', '/' or
 * a non-ASCII byte ("ug/m3", "%RH", "degC"), which is ignored (units come from
 * the configuration); hexadecimal ("0x10"), "nan" and "inf" are not numbers. Keys are
 * [A-Za-z0-9_.-]+.
 *
 * Invariant: every well-formed key yields exactly one value, valid or failed
 * ("parse" when its value is not a number), so a reading never silently
 * vanishes from a line that names it.
 */
#ifndef IOCA_SERIAL_KVLINE_H
#define IOCA_SERIAL_KVLINE_H

#include <stddef.h>

#include "line_values.h"

/*
 * Parse `line` (len bytes, need not be NUL-terminated; trailing CR/LF ignored).
 * `vals` is reset first.
 *
 * Return value: number of keys found (>= 1), or -1 when the line holds no
 * key=value pair at all or a token that is not one (garbage); vals is then
 * empty.
 */
int ioca_kv_parse(const char *line, size_t len, struct ioca_line_values *vals);

/*
 * Text of the value of `key` on the line (for a status key such as "ST=CAL").
 * Return value: 0 with *val / *val_len pointing into `line`, or -1 when the
 * key is absent.
 */
int ioca_kv_find(const char *line, size_t len, const char *key, const char **val, size_t *val_len);

#endif
