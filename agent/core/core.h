/*
 * The core's life: load the configuration, open the spool, start the MQTT
 * session and the workers, run the poll loop until SIGTERM/SIGINT, reload on
 * SIGHUP, and stop gracefully.
 */
#ifndef IOCA_CORE_H
#define IOCA_CORE_H

/* Exit codes (sysexits). */
#define IOCA_EXIT_OK 0
#define IOCA_EXIT_USAGE 64
#define IOCA_EXIT_SOFTWARE 70
#define IOCA_EXIT_CONFIG 78

/* Run the agent with the configuration at `config_path`; returns the exit code. */
int ioca_core_run(const char *config_path);

#endif
