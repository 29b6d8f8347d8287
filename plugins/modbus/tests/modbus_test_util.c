/*
 * Helpers of the Modbus plugin tests (see modbus_test_util.h). The server is
 * a real process talking real Modbus; it is stopped by its PID.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "modbus_test_util.h"

#define LINE_LEN 256
#define PATH_LEN 1024

extern char **environ;

int64_t mb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mb_server *mb_server_start(const char *mode, int port)
{
	struct mb_server *s = calloc(1, sizeof *s);
	int to_child[2], from_child[2];
	posix_spawn_file_actions_t fa;
	char port_text[16];
	char line[LINE_LEN];
	char *argv[] = {(char *)MODBUS_SERVER, (char *)mode, port_text, NULL};

	if (!s || pipe(to_child) != 0 || pipe(from_child) != 0)
		return NULL;
	snprintf(port_text, sizeof port_text, "%d", port);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to_child[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, from_child[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, to_child[1]);
	posix_spawn_file_actions_addclose(&fa, from_child[0]);
	if (posix_spawn(&s->pid, MODBUS_SERVER, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		free(s);
		return NULL;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(to_child[0]);
	close(from_child[1]);
	s->in = fdopen(to_child[1], "w");
	s->out = fdopen(from_child[0], "r");
	if (!s->in || !s->out || !fgets(line, sizeof line, s->out)) {
		mb_server_free(s);
		return NULL;
	}
	if (sscanf(line, "READY tcp %d", &s->port) != 1 &&
	    sscanf(line, "READY rtu %127s", s->tty) != 1) {
		mb_server_free(s);
		return NULL;
	}
	return s;
}

const char *mb_server_cmd(struct mb_server *s, const char *fmt, ...)
{
	static char line[LINE_LEN];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(s->in, fmt, ap);
	va_end(ap);
	fputc('\n', s->in);
	fflush(s->in);
	if (!fgets(line, sizeof line, s->out))
		fail_msg("modbus server gave no answer");
	line[strcspn(line, "\n")] = '\0';
	return line;
}

void mb_server_kill(struct mb_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	if (s->in)
		fclose(s->in);
	if (s->out)
		fclose(s->out);
	s->in = NULL;
	s->out = NULL;
}

void mb_server_free(struct mb_server *s)
{
	if (!s)
		return;
	mb_server_kill(s);
	free(s);
}

struct ioca_harness *mb_plugin_start(const char *options)
{
	char so[PATH_LEN];
	char err[2048] = "";
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_harness *h;

	snprintf(so, sizeof so, "%s/modbus.so", dir ? dir : ".");
	h = ioca_harness_new(so, options, err, sizeof err);
	if (!h)
		fail_msg("modbus options refused: %s", err);
	if (ioca_harness_start(h) != IOCA_OK)
		fail_msg("modbus create() failed");
	return h;
}

bool mb_reading(const struct ioca_harness_record *r, const char *name, char *status,
		size_t status_len, double *value, char *error, size_t error_len)
{
	cJSON *j = cJSON_Parse(r->json);
	cJSON *item;
	bool found = false;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(j, "readings"))
	{
		cJSON *n = cJSON_GetObjectItem(item, "name");
		cJSON *v = cJSON_GetObjectItem(item, "value");
		cJSON *e = cJSON_GetObjectItem(item, "error");

		if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0)
			continue;
		snprintf(status, status_len, "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(item, "status")));
		*value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		snprintf(error, error_len, "%s", cJSON_IsString(e) ? e->valuestring : "");
		found = true;
		break;
	}
	cJSON_Delete(j);
	return found;
}

long mb_wait_reading(struct ioca_harness *h, const char *name, size_t skip, int64_t timeout_ms)
{
	int64_t deadline = mb_now_ms() + timeout_ms;

	for (size_t i = skip;; i++) {
		const struct ioca_harness_record *r;
		char st[32], err[128];
		double v;
		int64_t left = deadline - mb_now_ms();

		if (left <= 0)
			return -1;
		r = ioca_harness_wait_for_nth(h, "telemetry", i, left);
		if (!r)
			return -1;
		if (mb_reading(r, name, st, sizeof st, &v, err, sizeof err))
			return (long)i;
	}
}
