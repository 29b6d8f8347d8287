/*
 * Reading one sysfs attribute (a small text file) as a string or a number,
 * with a reason an operator can act on when it fails.
 *
 * Invariant: a read never blocks on an odd file (FIFOs are opened
 * non-blocking) and every failure fills `reason` with the attribute's name and
 * what went wrong: "missing in_temp_raw", "unreadable in_temp_raw: Is a
 * directory", "empty in_temp_raw", "not a number in in_temp_raw".
 *
 * No dependency on the plugin ABI: return codes are 0 and -1.
 */
#ifndef IOCA_IIO_SYSFS_ATTR_H
#define IOCA_IIO_SYSFS_ATTR_H

#include <stddef.h>

/* Longest path built from a sysfs root, device directory and attribute. */
#define IOCA_SYSFS_PATH_MAX 1024
/* Room for a failure reason. */
#define IOCA_SYSFS_REASON_MAX 192
/* Longest attribute text read (sysfs values are short). */
#define IOCA_SYSFS_VALUE_MAX 128

/*
 * Read `dir`/`attr` into buf (NUL-terminated, trailing whitespace removed).
 * Return value: 0, or -1 with `reason` filled.
 */
int ioca_sysfs_read_string(const char *dir, const char *attr, char *buf, size_t cap, char *reason,
			   size_t reason_cap);

/*
 * Read `dir`/`attr` as a decimal number (integer or fixed point, as sysfs
 * writes them). Return value: 0 and *out set, or -1 with `reason` filled.
 */
int ioca_sysfs_read_number(const char *dir, const char *attr, double *out, char *reason,
			   size_t reason_cap);

/* Whether `dir`/`attr` exists (any file type). */
int ioca_sysfs_exists(const char *dir, const char *attr);

#endif
