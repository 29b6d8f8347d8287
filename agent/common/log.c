/*
 * Logging to stderr. Under systemd (JOURNAL_STREAM names our stderr) each
 * line starts with a "<N>" syslog priority so journald keeps the level;
 * otherwise lines carry a local timestamp and a level word. One write(2)
 * per line, so lines from the core and its workers never interleave.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

#define LOG_LINE_MAX         2048
#define RATELIMIT_DEFAULT_MS 60000

static int log_threshold = IOCA_LL_INFO;
static int log_to_journal;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* syslog priorities: err, warning, info, debug */
static const int level_priority[] = {3, 4, 6, 7};

static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	if (!js)
		return 0;
	unsigned long dev, ino;
	if (sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	struct stat st;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void ioca_log_init(int level)
{
	log_to_journal = stderr_is_journal();
	ioca_log_set_level(level);
}

void ioca_log_set_level(int level)
{
	if (level < IOCA_LL_ERROR)
		level = IOCA_LL_ERROR;
	if (level > IOCA_LL_DEBUG)
		level = IOCA_LL_DEBUG;
	log_threshold = level;
}

int ioca_log_level(void)
{
	return log_threshold;
}

int ioca_log_level_parse(const char *name)
{
	for (int i = 0; i <= IOCA_LL_DEBUG; i++)
		if (name && strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void ioca_vlog(int level, const char *fmt, va_list ap)
{
	if (level > log_threshold)
		return;
	if (level < IOCA_LL_ERROR)
		level = IOCA_LL_ERROR;
	char line[LOG_LINE_MAX];
	size_t n;
	if (log_to_journal) {
		n = (size_t)snprintf(line, sizeof line, "<%d>", level_priority[level]);
	} else {
		char ts[IOCA_RFC3339_LEN];
		ioca_format_rfc3339(ioca_now_wall_ms(), ts, sizeof ts);
		n = (size_t)snprintf(line, sizeof line, "%s %s[%d] %s: ", ts, "iocagent",
				     (int)getpid(), level_names[level]);
	}
	if (n < sizeof line) {
		int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
		if (m > 0)
			n += (size_t)m;
	}
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	/* strip trailing newlines the caller may have left, then end the line */
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void ioca_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ioca_vlog(level, fmt, ap);
	va_end(ap);
}

void ioca_log_limited(struct ioca_ratelimit *rl, int level, const char *fmt, ...)
{
	int64_t now = ioca_now_mono_ms();
	int64_t interval = rl->interval_ms > 0 ? rl->interval_ms : RATELIMIT_DEFAULT_MS;
	if (rl->active && now - rl->last_ms < interval) {
		rl->suppressed++;
		return;
	}
	char msg[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rl->suppressed)
		ioca_log(level, "%s (%llu similar messages suppressed)", msg,
			 (unsigned long long)rl->suppressed);
	else
		ioca_log(level, "%s", msg);
	rl->active = 1;
	rl->last_ms = now;
	rl->suppressed = 0;
}

void ioca_log_resolved(struct ioca_ratelimit *rl, int level, const char *fmt, ...)
{
	if (!rl->active)
		return;
	va_list ap;
	va_start(ap, fmt);
	ioca_vlog(level, fmt, ap);
	va_end(ap);
	rl->active = 0;
	rl->suppressed = 0;
}
