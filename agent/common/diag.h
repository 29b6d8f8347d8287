/*
 * Diagnostics: a list of "FILE:LINE: message" problems collected while
 * validating, so that all of them can be reported, not just the first.
 */
#ifndef IOCA_DIAG_H
#define IOCA_DIAG_H

#include <stdarg.h>
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
/* The same with the arguments of a variadic caller. */
void ioca_diag_vadd(struct ioca_diag *d, const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
void ioca_diag_print(const struct ioca_diag *d, FILE *out);
void ioca_diag_clear(struct ioca_diag *d);

#endif
