/*
 * Helpers of the camera plugin tests; see camera_test_util.h.
 * Invariant: every process started here is tracked by PID and killed by PID.
 */
#include "camera_test_util.h"

#include "broker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

extern char **environ;

static const char *env_or(const char *k, const char *def)
{
	const char *v = getenv(k);
	return v && *v ? v : def;
}

void ct_tmpdir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/camtest.XXXXXX");
	assert_non_null(mkdtemp(out));
}

void ct_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[CT_PATH_MAX * 2];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

void ct_make_clip(const char *dir, const char *kind, const char *name, const char *args, char *path,
		  size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	char cmd[CT_PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "sh '%s/tests/tools/make_clip.sh' %s '%s' %s",
		 env_or("IOCA_SOURCE_DIR", "."), kind, path, args ? args : "");
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("clip generation failed: %s", cmd);
}

#define MAX_CHILDREN 64
static pid_t children[MAX_CHILDREN];

static void remember(pid_t pid)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
}

static void forget(pid_t pid)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == pid)
			children[i] = 0;
	}
}

int ct_reap(void **state)
{
	(void)state;
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] > 0)
			ct_signal(children[i], SIGKILL);
	}
	return 0;
}

pid_t ct_spawn_ready(char *const argv[], char *line, size_t len, int timeout_ms)
{
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t pid = 0;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == 0)
		remember(pid);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		fail_msg("cannot start %s: %s", argv[0], strerror(rc));
	}
	size_t used = 0;
	line[0] = '\0';
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	while (used + 1 < len) {
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		char c;
		if (read(fds[0], &c, 1) != 1)
			break;
		if (c == '\n')
			break;
		line[used++] = c;
		line[used] = '\0';
	}
	close(fds[0]);
	return pid;
}

pid_t ct_rtsp_start(const char *clip, int port, const char *extra, char *url, size_t len)
{
	char script[CT_PATH_MAX], portbuf[16], drop[32] = "0";
	snprintf(script, sizeof script, "%s/tests/tools/rtsp_server.py",
		 env_or("IOCA_SOURCE_DIR", "."));
	snprintf(portbuf, sizeof portbuf, "%d", port);
	if (extra)
		snprintf(drop, sizeof drop, "%s", extra);
	char *argv[] = {
	    "/usr/bin/python3", script, "--clip",        (char *)clip, "--port", portbuf,
	    "--drop-every",     drop,   "--min-seconds", "600",        NULL};
	char line[CT_PATH_MAX];
	/* A restart may find the port still held for a moment: retry briefly. */
	for (int attempt = 0; attempt < 10; attempt++) {
		pid_t pid = ct_spawn_ready(argv, line, sizeof line, 20000);
		if (strncmp(line, "READY ", 6) == 0) {
			snprintf(url, len, "%s", line + 6);
			return pid;
		}
		ct_signal(pid, SIGKILL);
		usleep(300 * 1000);
	}
	fail_msg("RTSP server did not start");
	return -1;
}

void ct_signal(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		forget(pid);
	}
}

int ct_free_port(void)
{
	int port = ioca_free_port();
	assert_true(port > 0);
	return port;
}

struct ioca_harness *ct_harness(const char *options)
{
	char so[CT_PATH_MAX], err[2048] = "";
	snprintf(so, sizeof so, "%s/camera.so", env_or("IOCA_PLUGIN_DIR", "plugins"));
	struct ioca_harness *h = ioca_harness_new(so, options, err, sizeof err);
	if (!h)
		fail_msg("harness: %s", err);
	if (getenv("IOCA_TEST_VERBOSE"))
		ioca_harness_echo_logs(h, 1);
	return h;
}

static cJSON *parse(const struct ioca_harness_record *r)
{
	assert_non_null(r);
	cJSON *j = cJSON_Parse(r->json ? r->json : "{}");
	assert_non_null(j);
	return j;
}

double ct_num(const struct ioca_harness_record *r, const char *key)
{
	cJSON *j = parse(r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : NAN;
	cJSON_Delete(j);
	return d;
}

const char *ct_str(const struct ioca_harness_record *r, const char *key)
{
	static char buf[1024];
	cJSON *j = parse(r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	snprintf(buf, sizeof buf, "%s", cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(j);
	return buf;
}

double ct_num_at(const struct ioca_harness_record *r, const char *key, size_t i)
{
	cJSON *j = parse(r);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
	const cJSON *v = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, (int)i) : NULL;
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	cJSON_Delete(j);
	return d;
}

bool ct_has_zone(const struct ioca_harness_record *r, const char *zone)
{
	cJSON *j = parse(r);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "zones");
	bool found = false;
	const cJSON *v;
	cJSON_ArrayForEach(v, a)
	{
		if (cJSON_IsString(v) && strcmp(v->valuestring, zone) == 0)
			found = true;
	}
	cJSON_Delete(j);
	return found;
}

size_t ct_zone_count(const struct ioca_harness_record *r)
{
	cJSON *j = parse(r);
	size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "zones"));
	cJSON_Delete(j);
	return n;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 0;
}

int ct_count_fds(void)
{
	return count_dir("/proc/self/fd") - 1; /* the listing's own descriptor */
}

int ct_count_threads(void)
{
	return count_dir("/proc/self/task");
}

size_t ct_count(struct ioca_harness *h, const char *type)
{
	return ioca_harness_count(h, type);
}
