/*
 * Helpers of struct ioca_line_values: bounded append and strict number
 * parsing, used by every line parser so they all accept the same numbers.
 *
 * Invariant: ioca_line_parse_number never reads beyond s[len - 1] and never
 * yields a non-finite value.
 */
#include "line_values.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text accepted (digits, sign, point, exponent). */
#define NUMBER_TEXT_MAX 63

void ioca_line_values_add(struct ioca_line_values *vals, const char *key, size_t key_len,
			  double value, const char *unit, const char *error)
{
	if (vals->count >= IOCA_LINE_MAX_VALUES) {
		vals->truncated = 1;
		return;
	}
	struct ioca_line_value *v = &vals->v[vals->count++];
	if (key_len > IOCA_LINE_KEY_MAX - 1)
		key_len = IOCA_LINE_KEY_MAX - 1;
	memcpy(v->key, key, key_len);
	v->key[key_len] = '\0';
	v->value = error ? 0.0 : value;
	v->unit = unit;
	v->error = error;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t ioca_line_number_prefix(const char *s, size_t len)
{
	size_t i = 0;
	size_t digits = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && is_digit(s[i])) {
		i++;
		digits++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i])) {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	/* An exponent counts only when digits follow: "2.5e" is 2.5 in unit "e". */
	size_t j = i;
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < len && is_digit(s[j])) {
			while (j < len && is_digit(s[j]))
				j++;
			i = j;
		}
	}
	return i;
}

int ioca_line_parse_number(const char *s, size_t len, double *out)
{
	/* Shape first: strtod alone would take hex, "inf", "nan" and locale forms. */
	if (len == 0 || len > NUMBER_TEXT_MAX || ioca_line_number_prefix(s, len) != len)
		return -1;
	char text[NUMBER_TEXT_MAX + 1];
	memcpy(text, s, len);
	text[len] = '\0';
	char *end = NULL;
	double v = strtod(text, &end);
	if (end != text + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}
