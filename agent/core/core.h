/*
 * The core's life: load the configuration, open the spool, start the MQTT
 * session and the workers, run the poll loop until SIGTERM/SIGINT, reload on
 * SIGHUP, and stop gracefully.
 */
#ifndef IOCA_CORE_H
#define IOCA_CORE_H

/* Exit codes (sysexits). */
#define IOCA_EXIT_OK       0
#define IOCA_EXIT_USAGE    64
#define IOCA_EXIT_SOFTWARE 70
#define IOCA_EXIT_CONFIG   78

/* -t: load and validate the configuration and run start's set-up (state_dir,
 * MQTT client with TLS) without connecting; prints "configuration OK" or one
 * "FILE:LINE: message" per problem on stderr. Returns the exit code. */
int ioca_core_check(const char *config_path);

/* Run the agent with the configuration at `config_path`; returns the exit code. */
int ioca_core_run(const char *config_path);

#endif
