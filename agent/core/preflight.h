/*
 * Preflight: everything start sets up before anything runs, as one piece of
 * code that both start and `-t` call, so that `-t` cannot pass what start
 * refuses. It creates state_dir and proves it writable (by the service user
 * too when the agent runs as root and that user exists), checks plugin_dir,
 * warns about secret files others can read, and builds the MQTT
 * client with its will and TLS settings (CA, certificate, key) without
 * connecting.
 */
#ifndef IOCA_PREFLIGHT_H
#define IOCA_PREFLIGHT_H

#include <stddef.h>

#include "config.h"
#include "diag.h"

/* Create state_dir (0750, parents too) and check that files can be created
 * in it. IOCA_OK, or IOCA_ERROR with the reason in err. */
int ioca_preflight_state_dir(const char *state_dir, char *err, size_t errlen);

/* plugin_dir must be a readable directory. IOCA_OK, or IOCA_ERROR with err. */
int ioca_preflight_plugin_dir(const char *plugin_dir, char *err, size_t errlen);

/* Warnings (never errors): secret files (mqtt.password_file, mqtt.tls.key_file)
 * that other users can read. */
void ioca_preflight_secrets(const char *path, const struct ioca_config *cfg,
			    struct ioca_diag *warnings);

/* All of start's set-up for `cfg` loaded from `path`, without connecting or
 * touching the spool; every problem goes to diag as "path: message", every
 * warning to warnings. */
int ioca_preflight_check(const char *path, const struct ioca_config *cfg, struct ioca_diag *diag,
			 struct ioca_diag *warnings);

#endif
