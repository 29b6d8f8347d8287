/*
 * Preflight checks shared by start and -t (see preflight.h).
 *
 * Invariant: nothing here connects, reads the spool or changes anything but
 * creating state_dir (which start would create anyway); a probe file made to
 * prove state_dir writable is removed at once.
 */
#include "preflight.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt_session.h"
#include "plugin_trust.h"
#include "report.h"

#define STATE_DIR_MODE 0750
#define PWD_BUF_LEN    4096
#define MAX_GROUPS     256
#define ERR_LEN        512

static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, STATE_DIR_MODE) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, STATE_DIR_MODE) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Whether the user `pw` may create files in the directory `st` describes. */
static bool user_can_write(const struct passwd *pw, const struct stat *st)
{
	if (pw->pw_uid == 0)
		return true;
	if (st->st_uid == pw->pw_uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == st->st_gid)
			return (st->st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

int ioca_preflight_state_dir(const char *state_dir, char *err, size_t errlen)
{
	if (make_dirs(state_dir) != 0) {
		snprintf(err, errlen, "cannot create state_dir %s: %s", state_dir, strerror(errno));
		return IOCA_ERROR;
	}
	struct stat st;
	if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state_dir %s is not a directory", state_dir);
		return IOCA_ERROR;
	}
	char probe[PATH_MAX];
	snprintf(probe, sizeof probe, "%s/.iocagent-probe-XXXXXX", state_dir);
	int fd = mkstemp(probe);
	if (fd < 0) {
		snprintf(err, errlen, "state_dir %s is not writable: %s", state_dir,
			 strerror(errno));
		return IOCA_ERROR;
	}
	close(fd);
	unlink(probe);
	/* as root, the service user (who runs the agent under systemd) must write too */
	struct passwd pw, *res = NULL;
	char buf[PWD_BUF_LEN];
	if (geteuid() == 0 && getpwnam_r(IOCA_SERVICE_USER, &pw, buf, sizeof buf, &res) == 0 &&
	    res && !user_can_write(res, &st)) {
		snprintf(err, errlen,
			 "state_dir %s is not writable by the service user " IOCA_SERVICE_USER
			 " (owner uid %u, mode %04o)",
			 state_dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

int ioca_preflight_plugin_dir(const char *plugin_dir, char *err, size_t errlen)
{
	DIR *d = opendir(plugin_dir);
	if (!d) {
		snprintf(err, errlen, "cannot read plugin_dir %s: %s", plugin_dir, strerror(errno));
		return IOCA_ERROR;
	}
	closedir(d);
	return IOCA_OK;
}

static void warn_if_others_read(const char *path, const char *key, const char *file,
				struct ioca_diag *warnings)
{
	struct stat st;
	if (!file || stat(file, &st) != 0 || !(st.st_mode & S_IROTH))
		return;
	ioca_diag_add(warnings, path, 0,
		      "warning: %s '%s' holds a secret and is readable by others (mode %04o); "
		      "chmod o-r it",
		      key, file, (unsigned)(st.st_mode & 07777));
}

void ioca_preflight_secrets(const char *path, const struct ioca_config *cfg,
			    struct ioca_diag *warnings)
{
	warn_if_others_read(path, "mqtt.password_file", cfg->mqtt.password_file, warnings);
	warn_if_others_read(path, "mqtt.tls.key_file", cfg->mqtt.tls.key_file, warnings);
}

int ioca_preflight_check(const char *path, const struct ioca_config *cfg, struct ioca_diag *diag,
			 struct ioca_diag *warnings)
{
	char err[ERR_LEN] = "";
	int rc = IOCA_OK;
	if (ioca_preflight_state_dir(cfg->agent.state_dir, err, sizeof err) != IOCA_OK) {
		ioca_diag_add(diag, path, 0, "agent: %s", err);
		rc = IOCA_ERROR;
	}
	if (ioca_preflight_plugin_dir(cfg->agent.plugin_dir, err, sizeof err) != IOCA_OK) {
		ioca_diag_add(diag, path, 0, "agent: %s", err);
		rc = IOCA_ERROR;
	}
	ioca_preflight_secrets(path, cfg, warnings);
	/* the same client object start builds: will, credentials, TLS files */
	char *will = ioca_report_status_offline(cfg, 0);
	err[0] = '\0';
	struct ioca_mqtt *m = ioca_mqtt_new(cfg, NULL, will, err, sizeof err);
	free(will);
	if (!m) {
		ioca_diag_add(diag, path, 0, "%s", err);
		rc = IOCA_ERROR;
	}
	ioca_mqtt_free(m);
	return rc;
}
