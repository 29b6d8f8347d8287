/* Clocks and RFC 3339 formatting. */
#include "timeutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define RFC3339_YEAR_MIN    1970
#define RFC3339_YEAR_MAX    9999
#define OFFSET_HOURS_MAX    23
#define RFC3339_SECONDS_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ioca_now_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t ioca_now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

char *ioca_format_rfc3339(int64_t wall_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ms / 1000);
	int ms = (int)(wall_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		secs -= 1;
	}
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return buf;
}

/* n decimal digits at *p into *out; advances *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

int ioca_parse_rfc3339(const char *s, int64_t *wall_ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms = 0;
	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
	    digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') ||
	    digits(&p, 2, &sec))
		return -1;
	if (y < RFC3339_YEAR_MIN || y > RFC3339_YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (int scale = 100; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) ||
		    oh > OFFSET_HOURS_MAX || om > 59)
			return -1;
		offset_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	int64_t secs = (int64_t)timegm(&tm) - (int64_t)offset_min * 60;
	/* an offset can carry the instant out of the years accepted above */
	if (secs < 0 || secs > RFC3339_SECONDS_MAX)
		return -1;
	*wall_ms = secs * 1000 + ms;
	return 0;
}
