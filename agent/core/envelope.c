/*
 * Envelope and topic encoding (see envelope.h). Hot path: one event costs a
 * few appends into a reused buffer, no JSON tree.
 */
#include "envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "grow.h"
#include "timeutil.h"

#define BUF_MIN_CAP 512

int ioca_buf_reserve(struct ioca_buf *b, size_t extra)
{
	char *p = ioca_grow(b->p, &b->cap, b->len + extra + 1, 1, BUF_MIN_CAP);
	if (!p)
		return IOCA_ERROR;
	b->p = p;
	return IOCA_OK;
}

int ioca_buf_append(struct ioca_buf *b, const char *s, size_t n)
{
	if (ioca_buf_reserve(b, n) != IOCA_OK)
		return IOCA_ERROR;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return IOCA_OK;
}

int ioca_buf_puts(struct ioca_buf *b, const char *s)
{
	return ioca_buf_append(b, s, strlen(s));
}

int ioca_buf_json_string(struct ioca_buf *b, const char *s)
{
	size_t n = strlen(s);
	/* worst case every byte becomes \u00XX */
	if (ioca_buf_reserve(b, n * 6 + 2) != IOCA_OK)
		return IOCA_ERROR;
	char *o = b->p + b->len;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20) {
			static const char hex[] = "0123456789abcdef";
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		} else {
			*o++ = (char)ch;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
	return IOCA_OK;
}

void ioca_buf_reset(struct ioca_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void ioca_buf_free(struct ioca_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

int ioca_envelope_build(struct ioca_buf *b, const struct ioca_envelope_ctx *ctx,
			const struct ioca_envelope_event *ev)
{
	char num[96], ts[IOCA_RFC3339_LEN];
	const char *sev = ioca_severity_name(ev->severity);
	if (!sev)
		return IOCA_ERROR;
	ioca_buf_reset(b);
	int rc = ioca_buf_puts(b, "{\"v\":1,\"id\":");
	/* the agent id is [A-Za-z0-9_-]: no escaping needed inside the id string */
	snprintf(num, sizeof num, ":%" PRIu64 "\",\"seq\":%" PRIu64 ",\"time\":\"", ev->seq,
		 ev->seq);
	rc |= ioca_buf_puts(b, "\"");
	rc |= ioca_buf_puts(b, ctx->agent_id);
	rc |= ioca_buf_puts(b, num);
	rc |= ioca_buf_puts(b, ioca_format_rfc3339(ev->time_ms, ts, sizeof ts));
	rc |= ioca_buf_puts(b, "\",\"agent\":");
	rc |= ioca_buf_json_string(b, ctx->agent_id);
	if (ctx->site) {
		rc |= ioca_buf_puts(b, ",\"site\":");
		rc |= ioca_buf_json_string(b, ctx->site);
	}
	rc |= ioca_buf_puts(b, ",\"source\":");
	rc |= ioca_buf_json_string(b, ev->source);
	rc |= ioca_buf_puts(b, ",\"plugin\":");
	rc |= ioca_buf_json_string(b, ev->plugin);
	rc |= ioca_buf_puts(b, ",\"type\":");
	rc |= ioca_buf_json_string(b, ev->type);
	rc |= ioca_buf_puts(b, ",\"severity\":\"");
	rc |= ioca_buf_puts(b, sev);
	rc |= ioca_buf_puts(b, ctx->clock_unsynced ? "\",\"clock\":\"unsynced\",\"data\":"
						   : "\",\"clock\":\"synced\",\"data\":");
	if (ev->data && ev->data_len)
		rc |= ioca_buf_append(b, ev->data, ev->data_len);
	else
		rc |= ioca_buf_puts(b, "{}");
	rc |= ioca_buf_puts(b, ctx->test ? ",\"test\":true}" : "}");
	return rc ? IOCA_ERROR : IOCA_OK;
}

size_t ioca_topic_for_type(char *buf, size_t len, const char *prefix, const char *agent,
			   const char *instance, const char *type)
{
	int n;
	if (strcmp(type, "telemetry") == 0)
		n = snprintf(buf, len, "%s/%s/%s/telemetry", prefix, agent, instance);
	else
		n = snprintf(buf, len, "%s/%s/%s/event/%s", prefix, agent, instance, type);
	if (n < 0 || (size_t)n >= len)
		return 0;
	if (strcmp(type, "telemetry") != 0) {
		for (char *p = buf + (size_t)n - strlen(type); *p; p++)
			if (*p == '.')
				*p = '/';
	}
	return (size_t)n;
}

size_t ioca_topic_for_blob(char *buf, size_t len, const char *prefix, const char *agent,
			   const char *instance, const char *subtopic)
{
	int n = snprintf(buf, len, "%s/%s/%s/%s", prefix, agent, instance, subtopic);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

size_t ioca_topic_agent(char *buf, size_t len, const char *prefix, const char *agent,
			const char *leaf)
{
	int n = snprintf(buf, len, "%s/%s/%s", prefix, agent, leaf);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}
