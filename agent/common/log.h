/*
 * Logging. To stderr: with "<N>" syslog priority prefixes when stderr is the
 * journal (JOURNAL_STREAM set and matching), readable timestamped lines
 * otherwise. Repeated complaints are rate-limited with struct ioca_ratelimit.
 */
#ifndef IOCA_LOG_H
#define IOCA_LOG_H

#include <stdarg.h>
#include <stdint.h>

/* Levels as in the config (and enum ioca_log_level of plugin.h). */
#define IOCA_LL_ERROR   0
#define IOCA_LL_WARNING 1
#define IOCA_LL_INFO    2
#define IOCA_LL_DEBUG   3

/* Decide the output format from the environment; set the level. */
void ioca_log_init(int level);
void ioca_log_set_level(int level);
int ioca_log_level(void);
/* Parse "error|warning|info|debug"; -1 when unknown. */
int ioca_log_level_parse(const char *name);

void ioca_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ioca_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define ioca_error(...) ioca_log(IOCA_LL_ERROR, __VA_ARGS__)
#define ioca_warn(...)  ioca_log(IOCA_LL_WARNING, __VA_ARGS__)
#define ioca_info(...)  ioca_log(IOCA_LL_INFO, __VA_ARGS__)
#define ioca_debug(...) ioca_log(IOCA_LL_DEBUG, __VA_ARGS__)

/*
 * Rate limit for one kind of complaint: the first is logged, then at most one
 * per interval with the number suppressed meanwhile. Zero-initialise, set
 * interval_ms (0 means 60 s).
 */
struct ioca_ratelimit {
	int64_t interval_ms;
	int64_t last_ms;
	uint64_t suppressed;
	int active;
};

void ioca_log_limited(struct ioca_ratelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The condition is over: log `fmt` once (if a complaint was logged) and reset. */
void ioca_log_resolved(struct ioca_ratelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
