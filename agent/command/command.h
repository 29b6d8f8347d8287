/*
 * Remote commands from the IOC: parsing and authorising a request that
 * arrived on <prefix>/<agent>/cmd/<name>, and building the reply. Free of
 * MQTT: the session hands over the topic's last segment and the payload, the
 * core executes what this module let through and publishes the reply.
 *
 * A request is a JSON object (docs/commands.md):
 *   {"request_id": "r-1", "time": 1764650000123, "args": {...},
 *    "hmac": "<hex HMAC-SHA256>", "reply_to": "..."}
 * `time` is Unix milliseconds; `reply_to` is for MQTT 3.1.1 (MQTT 5 uses the
 * Response Topic and Correlation Data properties). The HMAC, keyed with the
 * contents of commands.key_file, covers
 *   name "\n" request_id "\n" time "\n" args
 * with args as the compact JSON text the agent re-encodes (cJSON, members in
 * the order sent; "{}" when absent).
 *
 * Invariant: nothing is executed unless ioca_cmd_authorize() returned
 * IOCA_CMD_OK; every refusal has a reason for the reply and a counter.
 */
#ifndef IOCA_COMMAND_H
#define IOCA_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define IOCA_CMD_NAME_MAX                  32
#define IOCA_CMD_REQUEST_ID_MAX            64
#define IOCA_CMD_REPLY_TO_MAX              256
#define IOCA_CMD_TOPIC_MAX                 512
#define IOCA_CMD_KEY_MAX                   128
#define IOCA_CMD_DEFAULT_MAX_REQUEST_BYTES 4096
#define IOCA_CMD_DEFAULT_MAX_SKEW_MS       60000
/* Request ids remembered to refuse a second use within the time window. */
#define IOCA_CMD_SEEN_IDS 1024

/* Why a request was not executed (IOCA_CMD_OK: it may be). */
enum ioca_cmd_result {
	IOCA_CMD_OK = 0,
	IOCA_CMD_MALFORMED,           /* not a JSON object, missing or ill-typed fields */
	IOCA_CMD_TOO_LARGE,           /* payload above max_request_bytes */
	IOCA_CMD_UNKNOWN,             /* no such command */
	IOCA_CMD_DISABLED,            /* known, not enabled in the configuration */
	IOCA_CMD_UNAUTHORIZED,        /* HMAC missing or wrong */
	IOCA_CMD_EXPIRED,             /* time outside now ± max skew */
	IOCA_CMD_REPLAYED,            /* request id already used */
	IOCA_CMD_FAILED,              /* authorised, but could not be done (detail says why) */
	IOCA_CMD_BAD_ARGS,            /* authorised, but the arguments are invalid */
	IOCA_CMD_BUSY,                /* authorised, but the same work is already running */
	IOCA_CMD_ARCHIVE_UNAVAILABLE, /* authorised, but the local archive cannot be read */
	IOCA_CMD_RESULT_COUNT
};

/* Short machine-readable name of a result ("ok", "malformed", ...). */
const char *ioca_cmd_result_name(enum ioca_cmd_result r);

/* The commands an agent knows. */
enum ioca_cmd_kind {
	IOCA_CMD_STATUS,
	IOCA_CMD_PING,
	IOCA_CMD_RELOAD,
	IOCA_CMD_RESTART,
	IOCA_CMD_SNAPSHOT,
	IOCA_CMD_REPLAY,
	IOCA_CMD_KIND_COUNT
};

/* The kind named `name`, or -1. */
int ioca_cmd_kind_of(const char *name);
const char *ioca_cmd_kind_name(enum ioca_cmd_kind k);

struct ioca_cmd_request {
	enum ioca_cmd_kind kind;
	char name[IOCA_CMD_NAME_MAX + 1];
	char request_id[IOCA_CMD_REQUEST_ID_MAX + 1];
	char reply_to[IOCA_CMD_REPLY_TO_MAX + 1]; /* empty: none given */
	int64_t time_ms;
	cJSON *args;     /* owned; an object (empty when absent) */
	char *args_text; /* owned; the compact text the HMAC covers */
	uint8_t mac[32];
	bool has_mac;
};

/*
 * Parse `len` bytes of `payload` for command `name`. On anything but
 * IOCA_CMD_OK, `detail` says what (for the reply), and `out` holds at most the
 * request id, if one could be read (so the reply can name it).
 * ioca_cmd_request_free() is safe on `out` in every case.
 */
enum ioca_cmd_result ioca_cmd_parse(const char *name, const void *payload, size_t len,
				    size_t max_request_bytes, struct ioca_cmd_request *out,
				    char *detail, size_t detail_len);
void ioca_cmd_request_free(struct ioca_cmd_request *r);

/* A request answered later (after a reload, at the end of a replay): the
 * request without its args, and where the reply goes. */
struct ioca_cmd_deferred {
	struct ioca_cmd_request req; /* args not kept */
	char topic[IOCA_CMD_TOPIC_MAX];
	uint8_t correlation[IOCA_CMD_REQUEST_ID_MAX * 4]; /* MQTT 5 correlation data */
	size_t correlation_len; /* 0: none (or longer than fits, then not echoed) */
};

/* Keep `req` (not its args) and the reply's topic and correlation data in `d`. */
void ioca_cmd_defer(struct ioca_cmd_deferred *d, const struct ioca_cmd_request *req,
		    const char *topic, const void *correlation, size_t correlation_len);

/* What the configuration allows, and the replay memory. */
struct ioca_cmd_guard {
	bool enabled[IOCA_CMD_KIND_COUNT];
	uint8_t key[IOCA_CMD_KEY_MAX];
	size_t key_len;
	int64_t max_skew_ms;
	struct {
		char id[IOCA_CMD_REQUEST_ID_MAX + 1];
		int64_t time_ms;
	} seen[IOCA_CMD_SEEN_IDS];
	size_t seen_next;
};

/* Start with nothing enabled and the default skew; key from ioca_cmd_guard_set_key(). */
void ioca_cmd_guard_init(struct ioca_cmd_guard *g);
/* Use `len` key bytes (at most IOCA_CMD_KEY_MAX). Returns false when empty or too long. */
bool ioca_cmd_guard_set_key(struct ioca_cmd_guard *g, const uint8_t *key, size_t len);

/*
 * May `r` run at wall time `now_ms`? Checks, in this order: enabled, HMAC,
 * time window, request id not seen. Only an authorised request's id is
 * remembered, so an attacker cannot burn the ids of legitimate requests.
 */
enum ioca_cmd_result ioca_cmd_authorize(struct ioca_cmd_guard *g, const struct ioca_cmd_request *r,
					int64_t now_ms);

/* HMAC-SHA256 of the covered text of a request, into mac[32]. For clients and tests. */
void ioca_cmd_sign(const uint8_t *key, size_t key_len, const char *name, const char *request_id,
		   int64_t time_ms, const char *args_text, uint8_t mac[32]);

/*
 * The reply: {"request_id":..,"command":..,"ok":bool,"error":..,"detail":..,"result":{..}}.
 * `result` (may be NULL) is taken over. malloc'd text, NULL when out of memory.
 */
char *ioca_cmd_reply(const struct ioca_cmd_request *r, enum ioca_cmd_result res, const char *detail,
		     cJSON *result);

#endif
