/*
 * libFuzzer target: the generic line path of the serial plugin. The input is
 * fed to the line framer (limit 80 bytes) and every line it delivers goes to
 * the key=value and CSV parsers (separators ',' and ';') and the status
 * lookups (ioca_kv_find, ioca_csv_field).
 *
 * Invariant checked: framed lines respect the limit and hold no CR/LF; parsed
 * values are finite or failed.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvline.h"
#include "kvline.h"
#include "linebuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINE_MAX 80

static void check_values(const struct ioca_line_values *v)
{
	if (v->count > IOCA_LINE_MAX_VALUES)
		abort();
	for (size_t i = 0; i < v->count; i++) {
		if (!v->v[i].error && !isfinite(v->v[i].value))
			abort();
		if (strlen(v->v[i].key) >= IOCA_LINE_KEY_MAX)
			abort();
	}
}

static void on_line(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	static const struct ioca_csv_column map[] = {
	    {0, "a"},
	    {1, "b"},
	    {7, "c"},
	    {200, "far"},
	};
	if (len > FUZZ_LINE_MAX || memchr(line, '\n', len) || memchr(line, '\r', len))
		abort();
	struct ioca_line_values v;
	int n = ioca_kv_parse(line, len, &v);
	if (n < 0 && v.count != 0)
		abort();
	check_values(&v);
	if (ioca_csv_parse(line, len, ',', map, 4, &v) >= 0 && v.count != 4)
		abort();
	check_values(&v);
	ioca_csv_parse(line, len, ';', map, 4, &v);
	check_values(&v);
	/* status lookups must stay inside the line */
	const char *text = NULL;
	size_t tlen = 0;
	if (ioca_kv_find(line, len, "ST", &text, &tlen) == 0 &&
	    (text < line || text + tlen > line + len))
		abort();
	if (ioca_csv_field(line, len, ',', 2, &text, &tlen) == 0 &&
	    (text < line || text + tlen > line + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioca_linebuf lb;
	if (ioca_linebuf_init(&lb, FUZZ_LINE_MAX) != 0)
		return 0;
	/* Feed in two parts so a line straddling calls is exercised. */
	size_t half = size / 2;
	ioca_linebuf_feed(&lb, (const char *)data, half, on_line, NULL);
	ioca_linebuf_feed(&lb, (const char *)data + half, size - half, on_line, NULL);
	/* Whole input as a single line too (the parsers take any bytes). */
	on_line(NULL, "", 0);
	struct ioca_line_values v;
	ioca_kv_parse((const char *)data, size, &v);
	check_values(&v);
	ioca_linebuf_free(&lb);
	return 0;
}
