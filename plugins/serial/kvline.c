/*
 * key=value line parser (see kvline.h): tokenises on separators, splits each
 * token at its first '=' or ':', and reads the number with an optional unit
 * suffix.
 *
 * Invariant: bounded by len; no allocation, no state between calls.
 */
#include "kvline.h"

#include <string.h>

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r' || c == '\n';
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A unit suffix starts with a letter, '%', '/' or a UTF-8 byte ("degC", "ug/m3", "%RH", "µS"). */
static int is_unit_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%' || c == '/' ||
	       (unsigned char)c >= 0x80;
}

/* Length of the number part of a value, or 0 when the value is not a number with an optional unit.
 */
static size_t number_len(const char *v, size_t len)
{
	size_t n = ioca_line_number_prefix(v, len);
	if (n == 0 || n == len)
		return n;
	if (!is_unit_start(v[n]))
		return 0;
	/* "0x1F" is hexadecimal, not 0 in unit "x1F". */
	if ((v[n] == 'x' || v[n] == 'X') && v[n - 1] == '0' && (n == 1 || !is_digit(v[n - 2])))
		return 0;
	return n;
}

int ioca_kv_parse(const char *line, size_t len, struct ioca_line_values *vals)
{
	vals->count = 0;
	vals->truncated = 0;
	int found = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && is_sep(line[i]))
			i++;
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && !is_sep(line[i]))
			i++;
		const char *tok = line + start;
		size_t tok_len = i - start;
		size_t k = 0;
		while (k < tok_len && is_key_char(tok[k]))
			k++;
		if (k == 0 || k >= tok_len || (tok[k] != '=' && tok[k] != ':')) {
			vals->count = 0; /* a garbage line yields nothing, not a partial set */
			return -1;
		}
		const char *val = tok + k + 1;
		size_t val_len = tok_len - k - 1;
		double v = 0.0;
		size_t nlen = number_len(val, val_len);
		if (ioca_line_parse_number(val, nlen, &v) == 0)
			ioca_line_values_add(vals, tok, k, v, NULL, NULL);
		else
			ioca_line_values_add(vals, tok, k, 0.0, NULL, "parse");
		found++;
	}
	return found > 0 ? found : -1;
}

int ioca_kv_find(const char *line, size_t len, const char *key, const char **val, size_t *val_len)
{
	size_t klen = strlen(key);
	size_t i = 0;
	while (i < len) {
		while (i < len && is_sep(line[i]))
			i++;
		size_t start = i;
		while (i < len && !is_sep(line[i]))
			i++;
		size_t tok_len = i - start;
		const char *tok = line + start;
		if (tok_len > klen && memcmp(tok, key, klen) == 0 &&
		    (tok[klen] == '=' || tok[klen] == ':')) {
			*val = tok + klen + 1;
			*val_len = tok_len - klen - 1;
			return 0;
		}
	}
	return -1;
}
