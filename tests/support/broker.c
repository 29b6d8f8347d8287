/*
 * Test broker: a real mosquitto on free loopback ports (see broker.h).
 * Everything it needs (config, certificates, persistence file, log) lives in
 * one temporary directory that ioca_broker_free() removes. The broker is a
 * child process started with posix_spawn, so this is safe in threaded tests.
 */
#include "broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS      10000
#define EPHEMERAL_LOW_DEFAULT 32768
#define FREE_PORT_SPAN        12000
#define FREE_PORT_TRIES       200
#define STOP_TIMEOUT_MS       5000
#define POLL_STEP_MS          20
#define CERT_DAYS             "2"

extern char **environ;

/* Brokers still running, killed at exit (a failed assertion skips the test's cleanup). */
#define MAX_LIVE_BROKERS 64
static struct ioca_test_broker *live[MAX_LIVE_BROKERS];
static bool atexit_installed;

static void kill_leftovers(void)
{
	for (size_t i = 0; i < MAX_LIVE_BROKERS; i++)
		if (live[i])
			ioca_broker_free(live[i]);
}

static void track(struct ioca_test_broker *b, bool add)
{
	if (add && !atexit_installed) {
		atexit(kill_leftovers);
		atexit_installed = true;
	}
	for (size_t i = 0; i < MAX_LIVE_BROKERS; i++) {
		if (add && live[i] == NULL) {
			live[i] = b;
			return;
		}
		if (!add && live[i] == b) {
			live[i] = NULL;
			return;
		}
	}
}

static const char *mosquitto_binary(void)
{
	if (access("/usr/sbin/mosquitto", X_OK) == 0)
		return "/usr/sbin/mosquitto";
	return "mosquitto";
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int bind_probe(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int got = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		got = ntohs(a.sin_port);
	close(fd);
	return got;
}

/* Below the kernel's ephemeral range: a server stopped and started again on
 * the same port must not find it taken by a client connection meanwhile. */
int ioca_free_port(void)
{
	int low = EPHEMERAL_LOW_DEFAULT, high;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		if (fscanf(f, "%d %d", &low, &high) != 2)
			low = EPHEMERAL_LOW_DEFAULT;
		fclose(f);
	}
	int first = low - FREE_PORT_SPAN > 1024 ? low - FREE_PORT_SPAN : 1024;
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	for (int i = 0; i < FREE_PORT_TRIES && first < low; i++) {
		int port = first + (int)(rand_r(&seed) % (unsigned)(low - first));
		if (bind_probe(port) == port)
			return port;
	}
	return bind_probe(0);
}

int ioca_wait_port(int port, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += POLL_STEP_MS) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc == 0)
			return 0;
		sleep_ms(POLL_STEP_MS);
	}
	return -1;
}

/* Run `/bin/sh -c cmd` in `dir`, output to dir/openssl.log. 0 on exit status 0. */
static int run_shell(const char *dir, const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "cd '%s' && { %s ; } >>openssl.log 2>&1", dir, cmd);
	char *argv[] = {"/bin/sh", "-c", full, NULL};
	pid_t pid;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
		return -1;
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int make_certs(struct ioca_test_broker *b)
{
	static const char *const script =
	    "K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
	    "printf 'basicConstraints=CA:FALSE\\nsubjectAltName=IP:127.0.0.1,DNS:localhost\\n' "
	    ">server.ext && "
	    "printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' >client.ext && "
	    "openssl req -x509 $K -keyout ca.key -out ca.crt -days " CERT_DAYS
	    " -subj /CN=ioca-test-ca && "
	    "openssl req -x509 $K -keyout wrongca.key -out wrongca.crt -days " CERT_DAYS
	    " -subj /CN=ioca-wrong-ca && "
	    "openssl req $K -keyout server.key -out server.csr -subj /CN=localhost && "
	    "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "server.crt "
	    "-days " CERT_DAYS " -extfile server.ext && "
	    "openssl req $K -keyout client.key -out client.csr -subj /CN=ioca-test-client && "
	    "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
	    "client.crt "
	    "-days " CERT_DAYS " -extfile client.ext && "
	    "chmod 644 *.key";
	if (run_shell(b->dir, script) != 0) {
		fprintf(stderr,
			"broker: making certificates with openssl failed, see %s/openssl.log\n",
			b->dir);
		return -1;
	}
	snprintf(b->ca_file, sizeof(b->ca_file), "%s/ca.crt", b->dir);
	snprintf(b->wrong_ca_file, sizeof(b->wrong_ca_file), "%s/wrongca.crt", b->dir);
	snprintf(b->client_cert, sizeof(b->client_cert), "%s/client.crt", b->dir);
	snprintf(b->client_key, sizeof(b->client_key), "%s/client.key", b->dir);
	return 0;
}

static int write_config(struct ioca_test_broker *b, const struct ioca_broker_opts *o)
{
	FILE *f = fopen(b->conf_path, "w");
	if (!f)
		return -1;
	fprintf(f, "per_listener_settings false\n");
	fprintf(f, "allow_anonymous true\n");
	fprintf(f, "log_dest file %s\n", b->log_path);
	fprintf(f, "log_timestamp true\n");
	if (o->verbose) {
		fprintf(f, "log_type all\n");
	} else {
		fprintf(
		    f, "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n");
	}
	fprintf(f, "connection_messages true\n");
	fprintf(f, "max_queued_messages 0\n");
	if (geteuid() == 0)
		fprintf(f, "user root\n");
	if (o->persistence) {
		fprintf(f, "persistence true\n");
		fprintf(f, "persistence_location %s/\n", b->dir);
		fprintf(f, "autosave_interval 1\n");
	} else {
		fprintf(f, "persistence false\n");
	}
	fprintf(f, "listener %d 127.0.0.1\n", b->port);
	if (o->tls) {
		fprintf(f, "listener %d 127.0.0.1\n", b->tls_port);
		fprintf(f, "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n",
			b->dir, b->dir, b->dir);
		fprintf(f, "listener %d 127.0.0.1\n", b->mtls_port);
		fprintf(f, "cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n",
			b->dir, b->dir, b->dir);
		fprintf(f, "require_certificate true\n");
	}
	if (o->extra)
		fprintf(f, "%s\n", o->extra);
	return fclose(f) == 0 ? 0 : -1;
}

static int spawn_broker(struct ioca_test_broker *b)
{
	char out[IOCA_BROKER_PATH_LEN + 16];
	snprintf(out, sizeof(out), "%s/stderr.log", b->dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	char *argv[] = {(char *)mosquitto_binary(), "-c", b->conf_path, NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "broker: cannot start mosquitto: %s\n", strerror(rc));
		return -1;
	}
	b->pid = pid;
	int ports[] = {b->port, b->tls_port, b->mtls_port};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		if (ports[i] == 0)
			continue;
		if (ioca_wait_port(ports[i], START_TIMEOUT_MS) != 0 ||
		    waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			char *log = ioca_broker_read_log(b);
			fprintf(stderr, "broker: mosquitto did not come up on port %d; log:\n%s\n",
				ports[i], log ? log : "");
			free(log);
			ioca_broker_kill(b);
			return -1;
		}
	}
	return 0;
}

struct ioca_test_broker *ioca_broker_start(const struct ioca_broker_opts *opts)
{
	static const struct ioca_broker_opts defaults;
	const struct ioca_broker_opts *o = opts ? opts : &defaults;
	struct ioca_test_broker *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(b->dir, sizeof(b->dir), "%s/ioca-broker-XXXXXX", tmp);
	if (!mkdtemp(b->dir)) {
		fprintf(stderr, "broker: mkdtemp: %s\n", strerror(errno));
		free(b);
		return NULL;
	}
	chmod(b->dir, 0755);
	snprintf(b->conf_path, sizeof(b->conf_path), "%s/mosquitto.conf", b->dir);
	snprintf(b->log_path, sizeof(b->log_path), "%s/mosquitto.log", b->dir);
	b->port = ioca_free_port();
	if (o->tls) {
		do {
			b->tls_port = ioca_free_port();
		} while (b->tls_port == b->port);
		do {
			b->mtls_port = ioca_free_port();
		} while (b->mtls_port == b->port || b->mtls_port == b->tls_port);
		if (make_certs(b) != 0)
			goto fail;
	}
	if (b->port <= 0 || write_config(b, o) != 0 || spawn_broker(b) != 0)
		goto fail;
	track(b, true);
	return b;
fail:
	ioca_broker_free(b);
	return NULL;
}

static int reap(struct ioca_test_broker *b, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += POLL_STEP_MS) {
		pid_t r = waitpid(b->pid, NULL, WNOHANG);
		if (r == b->pid || (r < 0 && errno == ECHILD)) {
			b->pid = 0;
			return 0;
		}
		sleep_ms(POLL_STEP_MS);
	}
	return -1;
}

int ioca_broker_stop(struct ioca_test_broker *b)
{
	if (!b || b->pid <= 0)
		return 0;
	kill(b->pid, SIGCONT);
	kill(b->pid, SIGTERM);
	if (reap(b, STOP_TIMEOUT_MS) == 0)
		return 0;
	ioca_broker_kill(b);
	return -1;
}

void ioca_broker_kill(struct ioca_test_broker *b)
{
	if (!b || b->pid <= 0)
		return;
	kill(b->pid, SIGKILL);
	reap(b, STOP_TIMEOUT_MS);
	b->pid = 0;
}

void ioca_broker_pause(struct ioca_test_broker *b)
{
	if (b && b->pid > 0)
		kill(b->pid, SIGSTOP);
}

void ioca_broker_resume(struct ioca_test_broker *b)
{
	if (b && b->pid > 0)
		kill(b->pid, SIGCONT);
}

int ioca_broker_restart(struct ioca_test_broker *b)
{
	if (b->pid > 0)
		return -1;
	return spawn_broker(b);
}

char *ioca_broker_read_log(const struct ioca_test_broker *b)
{
	FILE *f = fopen(b->log_path, "r");
	if (!f)
		return strdup("");
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (cap - len - 1 == 0) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

void ioca_broker_free(struct ioca_test_broker *b)
{
	if (!b)
		return;
	track(b, false);
	ioca_broker_stop(b);
	if (b->dir[0] && getenv("IOCA_KEEP_BROKER_DIR") == NULL) {
		char cmd[IOCA_BROKER_PATH_LEN + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
		char *argv[] = {"/bin/sh", "-c", cmd, NULL};
		pid_t pid;
		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0)
			waitpid(pid, NULL, 0);
	}
	free(b);
}
