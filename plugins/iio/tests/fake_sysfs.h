/*
 * A fake sysfs tree in a temporary directory for the iio tests:
 *   <root>/bus/iio/devices/iio:device0/   (name "bme280": temp, humidityrelative,
 *                                          pressure, voltage0/1 with shared scale)
 *   <root>/class/hwmon/hwmon0/           (name "coretemp": temp1, temp2)
 *   <root>/class/hwmon/hwmon1/device/    (name "nct6775", old-style parent attrs)
 *
 * Invariant: the tree is removed by fake_sysfs_remove(); files are written
 * whole with their trailing newline, like the kernel shows them.
 */
#ifndef IOCA_IIO_FAKE_SYSFS_H
#define IOCA_IIO_FAKE_SYSFS_H

#include <stddef.h>

/* Create the tree; writes the root into `root` (cap bytes). Returns 0 or -1. */
int fake_sysfs_create(char *root, size_t cap);

/* Write `text` + "\n" into root/rel, creating parent directories. */
void fake_sysfs_write(const char *root, const char *rel, const char *text);

/* Remove root/rel (a file, FIFO or empty directory). */
void fake_sysfs_unlink(const char *root, const char *rel);

/* Replace root/rel by a directory (reading it fails with EISDIR). */
void fake_sysfs_make_dir(const char *root, const char *rel);

/* Replace root/rel by a FIFO with no writer. */
void fake_sysfs_make_fifo(const char *root, const char *rel);

void fake_sysfs_remove(const char *root);

#endif
