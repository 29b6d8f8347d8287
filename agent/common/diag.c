/*
 * Diagnostics list: collects "FILE:LINE: message" lines so validation can
 * report every problem at once. Lines are owned by the list.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

void ioca_diag_add(struct ioca_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ioca_diag_vadd(d, file, line, fmt, ap);
	va_end(ap);
}

void ioca_diag_vadd(struct ioca_diag *d, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);

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
	char **lines = ioca_grow(d->lines, &d->cap, d->count + 1, sizeof *lines, 8);
	if (!lines) {
		free(text);
		return;
	}
	d->lines = lines;
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
