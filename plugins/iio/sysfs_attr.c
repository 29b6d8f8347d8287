/*
 * sysfs attribute reader (see sysfs_attr.h).
 *
 * Invariant: one open and at most one read per attribute, the descriptor
 * always closed before returning; numbers must fill the whole text (no
 * trailing garbage, no inf/nan).
 */
#include "sysfs_attr.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int join(char *path, size_t cap, const char *dir, const char *attr)
{
	int n = snprintf(path, cap, "%s/%s", dir, attr);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int ioca_sysfs_exists(const char *dir, const char *attr)
{
	char path[IOCA_SYSFS_PATH_MAX];
	struct stat st;
	if (join(path, sizeof path, dir, attr) != 0)
		return 0;
	return stat(path, &st) == 0;
}

int ioca_sysfs_read_string(const char *dir, const char *attr, char *buf, size_t cap, char *reason,
			   size_t reason_cap)
{
	char path[IOCA_SYSFS_PATH_MAX];
	if (cap == 0 || join(path, sizeof path, dir, attr) != 0) {
		snprintf(reason, reason_cap, "path too long for %s", attr);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			snprintf(reason, reason_cap, "missing %s", attr);
		else
			snprintf(reason, reason_cap, "unreadable %s: %s", attr, strerror(errno));
		return -1;
	}
	ssize_t n;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0) {
		snprintf(reason, reason_cap, "unreadable %s: %s", attr, strerror(e));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		snprintf(reason, reason_cap, "empty %s", attr);
		return -1;
	}
	return 0;
}

int ioca_sysfs_read_number(const char *dir, const char *attr, double *out, char *reason,
			   size_t reason_cap)
{
	char text[IOCA_SYSFS_VALUE_MAX];
	if (ioca_sysfs_read_string(dir, attr, text, sizeof text, reason, reason_cap) != 0)
		return -1;
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	/* Only plain decimal forms: strtod alone would take "inf", "nan" and hex. */
	for (const char *q = p; *q; q++) {
		if (!strchr("0123456789+-.eE", *q)) {
			snprintf(reason, reason_cap, "not a number in %s", attr);
			return -1;
		}
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(p, &end);
	if (end == p || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		snprintf(reason, reason_cap, "not a number in %s", attr);
		return -1;
	}
	*out = v;
	return 0;
}
