/*
 * UTF-8 at the edge: everything published is JSON, and JSON is UTF-8. Text
 * that plugins hand over (event data, reading names, units, errors) has its
 * invalid bytes replaced by U+FFFD, by the sensor plugins where text enters
 * and again by the worker and the core; configuration strings are refused
 * instead (the operator can fix them). A library of its own, free of the
 * plugin ABI, linked by the agent and by plugins.
 *
 * Invariant: the output is valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), NUL-terminated, never longer than the
 * buffer and never cut inside a character. Each maximal ill-formed subpart of
 * the input (Unicode 15, section 3.9, "U+FFFD substitution of maximal
 * subparts") becomes one U+FFFD. Valid input is copied unchanged.
 *
 * No dependency on the plugin ABI or on any library.
 */
#ifndef IOCA_UTF8_H
#define IOCA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length in bytes of U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define IOCA_UTF8_REPLACEMENT_LEN 3

/* Whether the `len` bytes at `s` are valid UTF-8. */
bool ioca_utf8_valid(const char *s, size_t len);

/*
 * Function: ioca_utf8_sanitize
 *
 * Copy `len` bytes of `src` into `dst` (capacity `cap` >= 1, always
 * NUL-terminated), replacing ill-formed sequences with U+FFFD and stopping
 * at the last whole character that fits.
 *
 * Return value: the number of bytes written, without the NUL.
 */
size_t ioca_utf8_sanitize(char *dst, size_t cap, const char *src, size_t len);

/* A malloc'ed sanitised copy of the C string `s` (NULL: out of memory). */
char *ioca_utf8_strdup(const char *s);

/* A malloc'ed sanitised, NUL-terminated copy of `len` bytes of `s` (which may
 * hold NUL bytes); its length in *out_len (may be NULL). NULL: out of memory. */
char *ioca_utf8_sanitize_alloc(const char *s, size_t len, size_t *out_len);

#endif
