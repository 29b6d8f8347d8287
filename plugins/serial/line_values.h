/*
 * Values parsed out of one instrument line, shared by the serial line parsers
 * (NMEA 0183, key=value, CSV).
 *
 * Invariant: a value either carries a finite number (error == NULL) or a
 * static reason string (error != NULL) and then `value` is meaningless.
 * Keys and units point to static strings or into `key_buf`; nothing here
 * owns heap memory, so a struct ioca_line_values can live on the stack.
 */
#ifndef IOCA_SERIAL_LINE_VALUES_H
#define IOCA_SERIAL_LINE_VALUES_H

#include <stddef.h>

/* Most values one line may yield; further ones are dropped and flagged. */
#define IOCA_LINE_MAX_VALUES 32
/* Longest key kept from a key=value line, including the NUL. */
#define IOCA_LINE_KEY_MAX 48

struct ioca_line_value {
	char key[IOCA_LINE_KEY_MAX];
	double value;
	const char *unit;  /* static, or NULL when the line does not say */
	const char *error; /* NULL: value valid; else a static reason */
};

struct ioca_line_values {
	size_t count;
	int truncated; /* more values than IOCA_LINE_MAX_VALUES were on the line */
	struct ioca_line_value v[IOCA_LINE_MAX_VALUES];
};

/* Append a value (error == NULL) or a failed value (error != NULL); keys longer
 * than IOCA_LINE_KEY_MAX - 1 are cut. Sets `truncated` when full. */
void ioca_line_values_add(struct ioca_line_values *vals, const char *key, size_t key_len,
			  double value, const char *unit, const char *error);

/*
 * Length of the decimal number at the start of s[0..len): optional sign,
 * digits with an optional '.', and an exponent when digits follow its 'e'
 * ("2.5e" is 3 long). Return value: the length, 0 when s starts with none.
 */
size_t ioca_line_number_prefix(const char *s, size_t len);

/*
 * Parse a decimal number held in s[0..len) (not NUL-terminated): optional
 * sign, digits with an optional '.', optional exponent. Hex, inf, nan and
 * anything longer than 63 characters are refused.
 *
 * Return value: 0 and *out set, or -1.
 */
int ioca_line_parse_number(const char *s, size_t len, double *out);

#endif
