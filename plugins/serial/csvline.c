/*
 * CSV line parser with a column map (see csvline.h): one pass records where
 * each field starts and ends, then each mapped column is read as a number.
 *
 * Invariant: bounded by len; no allocation; a quoted field is stored without
 * its quotes, so a quoted number parses like a bare one.
 */
#include "csvline.h"

#include <string.h>

struct span {
	size_t start;
	size_t len;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split into spans; returns the column count or -1 for an unterminated quote. */
static int split(const char *line, size_t len, char sep, struct span *spans)
{
	size_t col = 0;
	size_t i = 0;
	for (;;) {
		size_t start = i;
		size_t end;
		while (i < len && is_blank(line[i]))
			i++;
		if (i < len && line[i] == '"') {
			size_t qstart = ++i;
			for (;;) {
				if (i >= len)
					return -1;
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						i += 2;
						continue;
					}
					break;
				}
				i++;
			}
			start = qstart;
			end = i++;
			while (i < len && line[i] != sep)
				i++;
		} else {
			while (i < len && line[i] != sep)
				i++;
			end = i;
		}
		if (col < IOCA_CSV_MAX_COLUMNS) {
			spans[col].start = start;
			spans[col].len = end - start;
		}
		col++;
		if (i >= len)
			break;
		i++; /* skip the separator */
	}
	return (int)(col < IOCA_CSV_MAX_COLUMNS ? col : IOCA_CSV_MAX_COLUMNS);
}

/* Span of a column without the blanks around it. */
static void trimmed(const char *line, const struct span *sp, const char **p, size_t *flen)
{
	const char *q = line + sp->start;
	size_t n = sp->len;
	while (n > 0 && is_blank(*q)) {
		q++;
		n--;
	}
	while (n > 0 && is_blank(q[n - 1]))
		n--;
	*p = q;
	*flen = n;
}

static size_t strip_eol(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	return len;
}

int ioca_csv_field(const char *line, size_t len, char sep, unsigned column, const char **field,
		   size_t *field_len)
{
	struct span spans[IOCA_CSV_MAX_COLUMNS];
	int n = split(line, strip_eol(line, len), sep, spans);
	if (n < 0 || column >= (unsigned)n)
		return -1;
	trimmed(line, &spans[column], field, field_len);
	return 0;
}

int ioca_csv_parse(const char *line, size_t len, char sep, const struct ioca_csv_column *map,
		   size_t ncols, struct ioca_line_values *vals)
{
	vals->count = 0;
	vals->truncated = 0;
	len = strip_eol(line, len);
	struct span spans[IOCA_CSV_MAX_COLUMNS];
	int n = split(line, len, sep, spans);
	if (n < 0)
		return -1;
	for (size_t m = 0; m < ncols; m++) {
		const char *key = map[m].key;
		if (map[m].column >= (unsigned)n) {
			ioca_line_values_add(vals, key, strlen(key), 0.0, NULL, "missing_column");
			continue;
		}
		const char *p;
		size_t flen;
		trimmed(line, &spans[map[m].column], &p, &flen);
		double v = 0.0;
		if (ioca_line_parse_number(p, flen, &v) == 0)
			ioca_line_values_add(vals, key, strlen(key), v, NULL, NULL);
		else
			ioca_line_values_add(vals, key, strlen(key), 0.0, NULL, "parse");
	}
	return n;
}
