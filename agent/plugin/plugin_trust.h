/*
 * Whether a plugin file may be loaded at all, decided before dlopen() runs
 * any of its code (constructors run inside dlopen): like sshd's StrictModes,
 * the file and every directory above it must be owned by root, by the user
 * the agent runs as, or by the `iocagent` service user, and writable by no
 * one else (a sticky directory such as /tmp may be world-writable).
 */
#ifndef IOCA_PLUGIN_TRUST_H
#define IOCA_PLUGIN_TRUST_H

#include <stddef.h>

#define IOCA_SERVICE_USER "iocagent"

/* IOCA_OK, or IOCA_ERROR with the reason in err (names the path at fault). */
int ioca_plugin_trusted(const char *path, char *err, size_t errlen);

#endif
