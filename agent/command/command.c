/*
 * Remote command requests: parsing, authorisation and replies. See command.h.
 */
#include "command.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#define MAC_BYTES   32
#define MAC_HEX_LEN (2 * MAC_BYTES)
/* Integers above this lose precision as JSON numbers (IEEE double). */
#define MAX_EXACT_JSON_INT 9007199254740991.0

static const char *const result_names[IOCA_CMD_RESULT_COUNT] = {
    [IOCA_CMD_OK] = "ok",
    [IOCA_CMD_MALFORMED] = "malformed",
    [IOCA_CMD_TOO_LARGE] = "too_large",
    [IOCA_CMD_UNKNOWN] = "unknown_command",
    [IOCA_CMD_DISABLED] = "disabled",
    [IOCA_CMD_UNAUTHORIZED] = "unauthorized",
    [IOCA_CMD_EXPIRED] = "expired",
    [IOCA_CMD_REPLAYED] = "replayed",
    [IOCA_CMD_FAILED] = "failed",
    [IOCA_CMD_BAD_ARGS] = "bad_args",
    [IOCA_CMD_BUSY] = "busy",
    [IOCA_CMD_ARCHIVE_UNAVAILABLE] = "archive_unavailable",
};

static const char *const kind_names[IOCA_CMD_KIND_COUNT] = {
    [IOCA_CMD_STATUS] = "status",   [IOCA_CMD_PING] = "ping",         [IOCA_CMD_RELOAD] = "reload",
    [IOCA_CMD_RESTART] = "restart", [IOCA_CMD_SNAPSHOT] = "snapshot", [IOCA_CMD_REPLAY] = "replay",
};

const char *ioca_cmd_result_name(enum ioca_cmd_result r)
{
	return (unsigned)r < IOCA_CMD_RESULT_COUNT ? result_names[r] : "error";
}

int ioca_cmd_kind_of(const char *name)
{
	for (int k = 0; k < IOCA_CMD_KIND_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *ioca_cmd_kind_name(enum ioca_cmd_kind k)
{
	return (unsigned)k < IOCA_CMD_KIND_COUNT ? kind_names[k] : NULL;
}

/* Printable ASCII without spaces, quotes or backslashes: safe in logs and topics. */
static bool plain_token(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= max || s[n] <= ' ' || s[n] > '~' || s[n] == '"' || s[n] == '\\')
			return false;
	return n > 0;
}

static bool parse_hex_mac(const char *hex, uint8_t mac[MAC_BYTES])
{
	if (strlen(hex) != MAC_HEX_LEN)
		return false;
	for (size_t i = 0; i < MAC_BYTES; i++) {
		unsigned v = 0;
		for (size_t j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return false;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
	}
	return true;
}

/* A topic for replies: no wildcards, no NUL, not a $ topic, printable. */
static bool reply_topic_ok(const char *t)
{
	if (!t[0] || t[0] == '$' || strlen(t) > IOCA_CMD_REPLY_TO_MAX)
		return false;
	for (const char *p = t; *p; p++)
		if (*p == '+' || *p == '#' || (unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	return true;
}

enum ioca_cmd_result ioca_cmd_parse(const char *name, const void *payload, size_t len,
				    size_t max_request_bytes, struct ioca_cmd_request *out,
				    char *detail, size_t detail_len)
{
	memset(out, 0, sizeof *out);
	out->kind = IOCA_CMD_KIND_COUNT; /* none until the name is known */
	detail[0] = '\0';
	if (len > max_request_bytes) {
		snprintf(detail, detail_len, "request of %zu bytes, at most %zu", len,
			 max_request_bytes);
		return IOCA_CMD_TOO_LARGE;
	}
	if (name)
		snprintf(out->name, sizeof out->name, "%s", name);

	/* The id and the reply topic first: even a refusal is answered. */
	cJSON *j = payload && len ? cJSON_ParseWithLength(payload, len) : NULL;
	enum ioca_cmd_result res = IOCA_CMD_MALFORMED;
	if (!cJSON_IsObject(j)) {
		snprintf(detail, detail_len, "request is not a JSON object");
		goto done;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "request_id");
	if (!cJSON_IsString(id) || !plain_token(id->valuestring, IOCA_CMD_REQUEST_ID_MAX)) {
		snprintf(detail, detail_len, "request_id: 1..%d printable characters required",
			 IOCA_CMD_REQUEST_ID_MAX);
		goto done;
	}
	snprintf(out->request_id, sizeof out->request_id, "%s", id->valuestring);
	const cJSON *reply = cJSON_GetObjectItemCaseSensitive(j, "reply_to");
	if (reply) {
		if (!cJSON_IsString(reply) || !reply_topic_ok(reply->valuestring)) {
			snprintf(detail, detail_len, "reply_to: not a usable topic");
			goto done;
		}
		snprintf(out->reply_to, sizeof out->reply_to, "%s", reply->valuestring);
	}

	int kind = name ? ioca_cmd_kind_of(name) : -1;
	if (kind < 0) {
		snprintf(detail, detail_len, "no such command");
		res = IOCA_CMD_UNKNOWN;
		goto done;
	}
	out->kind = (enum ioca_cmd_kind)kind;

	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0 ||
	    t->valuedouble > MAX_EXACT_JSON_INT || t->valuedouble != floor(t->valuedouble)) {
		snprintf(detail, detail_len, "time: Unix milliseconds required");
		goto done;
	}
	out->time_ms = (int64_t)t->valuedouble;

	const cJSON *mac = cJSON_GetObjectItemCaseSensitive(j, "hmac");
	if (mac) {
		if (!cJSON_IsString(mac) || !parse_hex_mac(mac->valuestring, out->mac)) {
			snprintf(detail, detail_len, "hmac: %d hex digits required", MAC_HEX_LEN);
			goto done;
		}
		out->has_mac = true;
	}

	cJSON *args = cJSON_DetachItemFromObjectCaseSensitive(j, "args");
	if (!args)
		args = cJSON_CreateObject();
	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		snprintf(detail, detail_len, "args: an object required");
		goto done;
	}
	out->args = args;
	out->args_text = cJSON_PrintUnformatted(args);
	if (!out->args_text) {
		snprintf(detail, detail_len, "out of memory");
		goto done;
	}
	res = IOCA_CMD_OK;
done:
	cJSON_Delete(j);
	return res;
}

void ioca_cmd_request_free(struct ioca_cmd_request *r)
{
	cJSON_Delete(r->args);
	free(r->args_text);
	r->args = NULL;
	r->args_text = NULL;
}

void ioca_cmd_defer(struct ioca_cmd_deferred *d, const struct ioca_cmd_request *req,
		    const char *topic, const void *correlation, size_t correlation_len)
{
	d->req = *req;
	d->req.args = NULL;
	d->req.args_text = NULL;
	snprintf(d->topic, sizeof d->topic, "%s", topic);
	d->correlation_len = 0;
	if (correlation && correlation_len <= sizeof d->correlation) {
		memcpy(d->correlation, correlation, correlation_len);
		d->correlation_len = correlation_len;
	}
}

void ioca_cmd_guard_init(struct ioca_cmd_guard *g)
{
	memset(g, 0, sizeof *g);
	g->max_skew_ms = IOCA_CMD_DEFAULT_MAX_SKEW_MS;
}

bool ioca_cmd_guard_set_key(struct ioca_cmd_guard *g, const uint8_t *key, size_t len)
{
	if (len == 0 || len > sizeof g->key)
		return false;
	memcpy(g->key, key, len);
	g->key_len = len;
	return true;
}

void ioca_cmd_sign(const uint8_t *key, size_t key_len, const char *name, const char *request_id,
		   int64_t time_ms, const char *args_text, uint8_t mac[32])
{
	char head[IOCA_CMD_NAME_MAX + IOCA_CMD_REQUEST_ID_MAX + 48];
	int n = snprintf(head, sizeof head, "%s\n%s\n%" PRId64 "\n", name, request_id, time_ms);
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	size_t out_len = 0;
	memset(mac, 0, MAC_BYTES);
	if (ctx && EVP_MAC_init(ctx, key, key_len, params) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)(n > 0 ? n : 0)) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)args_text, strlen(args_text)) == 1)
		EVP_MAC_final(ctx, mac, &out_len, MAC_BYTES);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
}

static bool seen_before(const struct ioca_cmd_guard *g, const char *id, int64_t oldest_ms)
{
	for (size_t i = 0; i < IOCA_CMD_SEEN_IDS; i++)
		if (g->seen[i].id[0] && g->seen[i].time_ms >= oldest_ms &&
		    strcmp(g->seen[i].id, id) == 0)
			return true;
	return false;
}

enum ioca_cmd_result ioca_cmd_authorize(struct ioca_cmd_guard *g, const struct ioca_cmd_request *r,
					int64_t now_ms)
{
	if ((unsigned)r->kind >= IOCA_CMD_KIND_COUNT || !g->enabled[r->kind])
		return IOCA_CMD_DISABLED;
	if (!r->has_mac || g->key_len == 0 || !r->args_text)
		return IOCA_CMD_UNAUTHORIZED;
	uint8_t expect[MAC_BYTES];
	ioca_cmd_sign(g->key, g->key_len, r->name, r->request_id, r->time_ms, r->args_text, expect);
	if (CRYPTO_memcmp(expect, r->mac, MAC_BYTES) != 0)
		return IOCA_CMD_UNAUTHORIZED;
	if (r->time_ms < now_ms - g->max_skew_ms || r->time_ms > now_ms + g->max_skew_ms)
		return IOCA_CMD_EXPIRED;
	/* An id older than the window is refused as expired anyway, so the
	 * memory only needs to cover one window. */
	if (seen_before(g, r->request_id, now_ms - 2 * g->max_skew_ms))
		return IOCA_CMD_REPLAYED;
	snprintf(g->seen[g->seen_next].id, sizeof g->seen[0].id, "%s", r->request_id);
	g->seen[g->seen_next].time_ms = now_ms;
	g->seen_next = (g->seen_next + 1) % IOCA_CMD_SEEN_IDS;
	return IOCA_CMD_OK;
}

char *ioca_cmd_reply(const struct ioca_cmd_request *r, enum ioca_cmd_result res, const char *detail,
		     cJSON *result)
{
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(result);
		return NULL;
	}
	if (r->request_id[0])
		cJSON_AddStringToObject(o, "request_id", r->request_id);
	if (r->name[0])
		cJSON_AddStringToObject(o, "command", r->name);
	cJSON_AddBoolToObject(o, "ok", res == IOCA_CMD_OK);
	if (res != IOCA_CMD_OK)
		cJSON_AddStringToObject(o, "error", ioca_cmd_result_name(res));
	if (detail && detail[0])
		cJSON_AddStringToObject(o, "detail", detail);
	if (result)
		cJSON_AddItemToObject(o, "result", result);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}
