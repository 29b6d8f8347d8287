/*
 * Opening files the agent reads on its loop (config, @include, password,
 * TLS and plugin option files) without ever blocking: a FIFO, a device or a
 * directory named where a file is expected is refused, never opened for
 * reading in blocking mode (open() of a FIFO waits for a writer forever).
 */
#ifndef IOCA_REGULAR_FILE_H
#define IOCA_REGULAR_FILE_H

#include <stddef.h>

/* Open `path` read-only; O_NONBLOCK during open, then fstat: only a regular
 * file is accepted (the returned descriptor is blocking again, close-on-exec).
 * Returns the descriptor, or -1 with *why saying what is wrong
 * ("not a regular file (a FIFO)", or strerror). */
int ioca_open_regular(const char *path, char *why, size_t whylen);

/* Check that `path` is a readable regular file (opened and closed again). */
int ioca_regular_file_readable(const char *path, char *why, size_t whylen);

#endif
