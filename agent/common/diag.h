/*
 * Diagnostics: a list of "FILE:LINE: message" problems collected while
 * validating, so that all of them can be reported, not just the first.
 */
#ifndef IOCA_DIAG_H
#define IOCA_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct ioca_diag {
	char **lines;
	size_t count;
	size_t cap;
};

/* Add one problem. file may be NULL, line 0 means unknown. */
void ioca_diag_add(struct ioca_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ioca_diag_print(const struct ioca_diag *d, FILE *out);
void ioca_diag_clear(struct ioca_diag *d);

#endif
