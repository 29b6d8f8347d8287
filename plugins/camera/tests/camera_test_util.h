/*
 * Shared helpers of the camera plugin tests: temporary folders, clips made by
 * tests/tools/make_clip.sh, the RTSP test server started and killed by PID,
 * harness set-up, JSON field access, and descriptor/thread counts of this
 * process. Every helper fails the running cmocka test on error.
 */
#ifndef CAMERA_TEST_UTIL_H
#define CAMERA_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plugin_harness.h"

#define CT_PATH_MAX 512

/* A fresh temporary folder (removed by ct_rmdir). */
void ct_tmpdir(char *out, size_t len);
void ct_rmdir(const char *dir);

/* Make a clip with make_clip.sh: `args` are extra arguments ("-a 30 -b 60"). */
void ct_make_clip(const char *dir, const char *kind, const char *name, const char *args, char *path,
		  size_t len);

/* Start the RTSP server on `port` (0: any); fills url. Returns its PID. */
pid_t ct_rtsp_start(const char *clip, int port, const char *extra, char *url, size_t len);
/* Send `sig` to pid and reap it (SIGKILL and SIGTERM wait; SIGSTOP/SIGCONT do not). */
void ct_signal(pid_t pid, int sig);

/* Start `argv` with stdout to a pipe; the first line read within timeout_ms goes to line. */
pid_t ct_spawn_ready(char *const argv[], char *line, size_t len, int timeout_ms);

/* Kill (SIGKILL) and reap every process started by these helpers that is still alive.
 * Usable as a cmocka teardown; returns 0. */
int ct_reap(void **state);

/* A free TCP port on 127.0.0.1. */
int ct_free_port(void);

/* Harness for camera.so with `options` (libconfig text). */
struct ioca_harness *ct_harness(const char *options);

/* Number field of a record's JSON data, NAN when absent. */
double ct_num(const struct ioca_harness_record *r, const char *key);
/* String field, "" when absent (valid until the next call). */
const char *ct_str(const struct ioca_harness_record *r, const char *key);
/* Whether the record's "zones" array contains `zone`, and its length. */
bool ct_has_zone(const struct ioca_harness_record *r, const char *zone);
size_t ct_zone_count(const struct ioca_harness_record *r);
/* Element i of a number array field. */
double ct_num_at(const struct ioca_harness_record *r, const char *key, size_t i);

/* Open descriptors and threads of this process. */
int ct_count_fds(void);
int ct_count_threads(void);

/* Records of `type` emitted so far. */
size_t ct_count(struct ioca_harness *h, const char *type);

#endif
