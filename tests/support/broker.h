/*
 * A real mosquitto broker for tests, started on free loopback ports with a
 * generated config in its own temporary directory.
 *
 * Listeners: plain always; with `tls`, a TLS listener (server certificate for
 * 127.0.0.1/localhost signed by a test CA) and a mutual-TLS listener that
 * requires a client certificate from that CA. Certificates are made with the
 * openssl command line: ca.crt, server.crt/key, client.crt/key, and an
 * unrelated wrongca.crt for "wrong CA" cases. The process is stopped, killed,
 * paused and restarted by PID; its log file can be read for assertions.
 *
 *     struct ioca_test_broker *b = ioca_broker_start(&(struct ioca_broker_opts){ .tls = true });
 *     ... connect to 127.0.0.1:b->port / b->tls_port / b->mtls_port ...
 *     ioca_broker_free(b);   // stops it and removes the directory
 */
#ifndef IOCA_TEST_BROKER_H
#define IOCA_TEST_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

#define IOCA_BROKER_PATH_LEN 512
#define IOCA_BROKER_DIR_LEN  256

struct ioca_broker_opts {
	bool tls;          /* add the TLS and mutual-TLS listeners */
	bool persistence;  /* keep sessions/retained messages across restarts */
	bool verbose;      /* log every packet (log_type all) */
	const char *extra; /* extra config lines appended verbatim, may be NULL */
};

struct ioca_test_broker {
	pid_t pid;     /* 0 while not running */
	int port;      /* plain listener */
	int tls_port;  /* TLS, any client (0 without tls) */
	int mtls_port; /* TLS, client certificate required (0 without tls) */
	char dir[IOCA_BROKER_DIR_LEN];
	char conf_path[IOCA_BROKER_PATH_LEN];
	char log_path[IOCA_BROKER_PATH_LEN];
	char ca_file[IOCA_BROKER_PATH_LEN];
	char wrong_ca_file[IOCA_BROKER_PATH_LEN];
	char client_cert[IOCA_BROKER_PATH_LEN];
	char client_key[IOCA_BROKER_PATH_LEN];
};

/* Start a broker and wait until it accepts connections. NULL on failure
 * (the reason is printed on stderr). */
struct ioca_test_broker *ioca_broker_start(const struct ioca_broker_opts *opts);
/* SIGTERM and reap. 0 on success. */
int ioca_broker_stop(struct ioca_test_broker *b);
/* SIGKILL and reap. */
void ioca_broker_kill(struct ioca_test_broker *b);
/* SIGSTOP / SIGCONT. */
void ioca_broker_pause(struct ioca_test_broker *b);
void ioca_broker_resume(struct ioca_test_broker *b);
/* Start it again with the same config and ports (after stop/kill). 0 on success. */
int ioca_broker_restart(struct ioca_test_broker *b);
/* The whole log file (malloc'd, NUL-terminated; "" when empty). */
char *ioca_broker_read_log(const struct ioca_test_broker *b);
/* Stop if running, remove the directory, free. */
void ioca_broker_free(struct ioca_test_broker *b);

/* A loopback TCP port nobody listens on right now. */
int ioca_free_port(void);
/* Wait until 127.0.0.1:port accepts a TCP connection. 0 when it does. */
int ioca_wait_port(int port, int timeout_ms);

#endif
