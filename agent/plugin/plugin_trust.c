/*
 * Plugin file trust check (see plugin_trust.h).
 *
 * Invariant: only lstat()/stat() of the file and its ancestors happen here;
 * nothing of the plugin is opened or mapped.
 */
#include "plugin_trust.h"

#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "retcode.h"

#define PWD_BUF_LEN 4096

static bool owner_trusted(uid_t uid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	struct passwd pw, *res = NULL;
	char buf[PWD_BUF_LEN];
	return getpwnam_r(IOCA_SERVICE_USER, &pw, buf, sizeof buf, &res) == 0 && res &&
	       res->pw_uid == uid;
}

static int check_one(const char *path, bool is_file, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot check %s: %m", path);
		return IOCA_ERROR;
	}
	if (is_file && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return IOCA_ERROR;
	}
	if (!owner_trusted(st.st_uid)) {
		snprintf(err, errlen,
			 "refusing plugin: %s is owned by uid %u, not by root, the agent's user "
			 "or " IOCA_SERVICE_USER,
			 path, (unsigned)st.st_uid);
		return IOCA_ERROR;
	}
	bool sticky_dir = !is_file && (st.st_mode & S_ISVTX);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir) {
		snprintf(err, errlen, "refusing plugin: %s is writable by %s (mode %04o)", path,
			 (st.st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

int ioca_plugin_trusted(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		snprintf(err, errlen, "cannot check %s: %m", path);
		return IOCA_ERROR;
	}
	if (check_one(real, true, err, errlen) != IOCA_OK)
		return IOCA_ERROR;
	/* every directory above it, up to / */
	for (char *slash = strrchr(real, '/'); slash; slash = strrchr(real, '/')) {
		if (slash == real) {
			return check_one("/", false, err, errlen);
		}
		*slash = '\0';
		if (check_one(real, false, err, errlen) != IOCA_OK)
			return IOCA_ERROR;
	}
	return IOCA_OK;
}
