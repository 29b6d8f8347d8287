/*
 * UTF-8 at the edge: everything published is JSON, and JSON is UTF-8. Text
 * that plugins hand over (event data, reading names, units, errors) has its
 * invalid bytes replaced by U+FFFD; configuration strings are refused
 * instead (the operator can fix them).
 *
 * Valid means RFC 3629: shortest form only, no UTF-16 surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef IOCA_UTF8_H
#define IOCA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..len) is valid UTF-8 (a NUL byte is a valid code point). */
bool ioca_utf8_valid(const char *s, size_t len);

/* A malloc'd copy of s[0..len) with every invalid sequence replaced by
 * U+FFFD (one per maximal invalid subpart, as Unicode recommends), NUL-
 * terminated; its length in *out_len (may be NULL). NULL when out of memory. */
char *ioca_utf8_sanitize(const char *s, size_t len, size_t *out_len);

#endif
