/*
 * Diagnostics list: collects "FILE:LINE: message" lines so validation can
 * report every problem at once. Lines are owned by the list.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ioca_diag_add(struct ioca_diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	char *text = NULL;
	int n;
	if (file && line > 0)
		n = asprintf(&text, "%s:%d: %s", file, line, msg);
	else if (file)
		n = asprintf(&text, "%s: %s", file, msg);
	else
		n = asprintf(&text, "%s", msg);
	if (n < 0)
		return;
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **lines = realloc(d->lines, cap * sizeof *lines);
		if (!lines) {
			free(text);
			return;
		}
		d->lines = lines;
		d->cap = cap;
	}
	d->lines[d->count++] = text;
}

void ioca_diag_print(const struct ioca_diag *d, FILE *out)
{
	for (size_t i = 0; i < d->count; i++)
		fprintf(out, "%s\n", d->lines[i]);
}

void ioca_diag_clear(struct ioca_diag *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->lines[i]);
	free(d->lines);
	memset(d, 0, sizeof *d);
}
