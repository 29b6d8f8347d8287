/*
 * UTF-8 sanitising of text that instruments and commands hand to a sensor
 * plugin (reading names, units, error texts), so that what the plugin emits
 * is always valid JSON text.
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

#endif
