/*
 * iocagent --snapshot: run a camera-like instance in IOCA_RUN_SNAPSHOT mode
 * and write the one picture it emits (IOCA_SNAPSHOT_SUBTOPIC, image/jpeg) to
 * the output file. With --overlay the plugin draws its analysis settings
 * onto the picture (for the camera: zones, masks, grid, foreground boxes).
 *
 * Invariant: the output file is written only when a whole picture arrived
 * (to FILE.tmp, then renamed), so a failed grab never leaves half a JPEG.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "probe_run.h"

#define SNAPSHOT_LIMIT_S 60.0 /* connect, a few seconds of analysis, encode */
#define PICTURE_TYPE     "image/jpeg"

struct snap_sink {
	const char *path;
	bool written;
	int write_errno;
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int save(const char *path, const uint8_t *data, size_t len)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	return rc;
}

static bool snap_sink(void *ctx, const struct ioca_sup_message *m)
{
	struct snap_sink *k = ctx;
	if (!m->blob || k->written || k->write_errno)
		return k->written || k->write_errno;
	const struct ioca_frame_blob *b = m->blob;
	if (strcmp(b->subtopic, IOCA_SNAPSHOT_SUBTOPIC) != 0 ||
	    strcmp(b->content_type, PICTURE_TYPE) != 0)
		return false;
	if (save(k->path, b->data, b->len) != 0) {
		k->write_errno = errno ? errno : EIO;
		return true;
	}
	k->written = true;
	fprintf(stderr, "iocagent: wrote %s (%zu bytes)\n", k->path, b->len);
	return true;
}

/* Refuse early when the picture could not be written anyway. */
static int output_writable(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int rc = access(dirname(copy), W_OK);
	free(copy);
	return rc;
}

int ioca_probe_snapshot(const struct ioca_probe_opts *o)
{
	if (output_writable(o->output) != 0) {
		fprintf(stderr, "iocagent: cannot write %s: %s\n", o->output, strerror(errno));
		return IOCA_PROBE_EXIT_CANTCREAT;
	}
	struct ioca_probe_target t;
	int rc = ioca_probe_target_load(&t, o->config_path, o->instance);
	if (rc != IOCA_PROBE_EXIT_OK)
		return rc;
	ioca_log_set_level(t.cfg.agent.log_level);
	if (!(t.features & IOCA_PLUGIN_F_SNAPSHOT)) {
		fprintf(stderr, "iocagent: instance %s (plugin %s) takes no pictures\n",
			t.inst->name, t.inst->plugin);
		ioca_probe_target_free(&t);
		return IOCA_PROBE_EXIT_USAGE;
	}
	struct ioca_run_request req = {.mode = IOCA_RUN_SNAPSHOT,
				       .flags = o->overlay ? IOCA_RUN_F_OVERLAY : 0u};
	struct snap_sink k = {.path = o->output};
	struct ioca_probe_outcome out;
	if (ioca_probe_run(&t, &req, (int64_t)(SNAPSHOT_LIMIT_S * 1000.0), snap_sink, &k, &out) !=
	    IOCA_OK) {
		rc = IOCA_PROBE_EXIT_FAILED;
	} else if (k.write_errno) {
		fprintf(stderr, "iocagent: cannot write %s: %s\n", o->output,
			strerror(k.write_errno));
		rc = IOCA_PROBE_EXIT_CANTCREAT;
	} else if (k.written) {
		rc = IOCA_PROBE_EXIT_OK;
	} else if (out.end == IOCA_PROBE_END_WORKER && out.exit_code != 0) {
		ioca_probe_print_failure(&t, &out);
		rc = IOCA_PROBE_EXIT_FAILED;
	} else {
		fprintf(stderr, "iocagent: instance %s produced no picture%s\n", t.inst->name,
			out.end == IOCA_PROBE_END_TIME ? " within the time limit" : "");
		rc = IOCA_PROBE_EXIT_NOTHING;
	}
	ioca_probe_target_free(&t);
	return rc;
}
