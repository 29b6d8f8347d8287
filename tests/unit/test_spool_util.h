/*
 * Shared by the spool's unit tests: a fresh spool directory per
 * test, records whose payload says which seq they carry (so every delivered
 * record is checked byte for byte), callbacks that count what they were told.
 */
#ifndef IOCA_TEST_SPOOL_UTIL_H
#define IOCA_TEST_SPOOL_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "spool_format.h"
#include "timeutil.h"

#define TOPIC         "ioc/edge-01/sim-1/telemetry"
#define PAYLOAD_BYTES 200
#define BIG_MAX_BYTES (256LL * 1024 * 1024)

#define TR_MAX_INSTANCES 8

struct test_reports {
	uint64_t corrupt_calls;
	uint64_t corrupt_bytes;
	char last_corrupt_file[4096];
	uint64_t lost_records, lost_first_seq, lost_last_seq; /* summed / of the last */
	uint64_t dropped_calls;
	uint64_t dropped_records;
	uint64_t dropped_bytes;
	/* per instance, summed over the reports */
	char instances[TR_MAX_INSTANCES][64];
	uint64_t instance_dropped[TR_MAX_INSTANCES];
	size_t n_instances;
	int degraded_calls;
	bool degraded;
	char degraded_reason[256];
};

static inline void tr_corrupt(void *ctx, const struct ioca_spool_damage *d)
{
	struct test_reports *t = ctx;
	t->corrupt_calls++;
	t->corrupt_bytes += d->bytes_skipped;
	snprintf(t->last_corrupt_file, sizeof(t->last_corrupt_file), "%s", d->file);
	if (d->lost_records) {
		t->lost_records += d->lost_records;
		t->lost_first_seq = d->lost_first_seq;
		t->lost_last_seq = d->lost_last_seq;
	}
}

static inline void tr_dropped(void *ctx, uint64_t records, uint64_t bytes,
			      const struct ioca_spool_instance_drops *by, size_t n_by)
{
	struct test_reports *t = ctx;
	for (size_t i = 0; i < n_by; i++) {
		size_t k = 0;
		while (k < t->n_instances && strcmp(t->instances[k], by[i].instance) != 0)
			k++;
		if (k == t->n_instances) {
			if (k == TR_MAX_INSTANCES)
				continue;
			snprintf(t->instances[k], sizeof(t->instances[k]), "%s", by[i].instance);
			t->n_instances++;
		}
		t->instance_dropped[k] += by[i].records;
	}
	t->dropped_calls++;
	t->dropped_records += records;
	t->dropped_bytes += bytes;
}

/* Records of `instance` the reports said were dropped. */
static inline uint64_t tr_instance_dropped(const struct test_reports *t, const char *instance)
{
	for (size_t k = 0; k < t->n_instances; k++)
		if (strcmp(t->instances[k], instance) == 0)
			return t->instance_dropped[k];
	return 0;
}

static inline void tr_degraded(void *ctx, bool degraded, const char *reason)
{
	struct test_reports *t = ctx;
	t->degraded_calls++;
	t->degraded = degraded;
	snprintf(t->degraded_reason, sizeof(t->degraded_reason), "%s", reason);
}

static inline struct ioca_spool_callbacks tr_callbacks(struct test_reports *t)
{
	memset(t, 0, sizeof(*t));
	struct ioca_spool_callbacks cb = {
	    .ctx = t, .corrupt = tr_corrupt, .dropped = tr_dropped, .degraded = tr_degraded};
	return cb;
}

static inline struct ioca_spool_config test_config(enum ioca_fsync_mode mode)
{
	struct ioca_spool_config c = {
	    .max_bytes = BIG_MAX_BYTES,
	    .fsync = mode,
	    .fsync_interval_ms = 200,
	    .inflight = 64,
	    .memory_buffer_bytes = 1024 * 1024,
	    .segment_bytes = 0,
	};
	return c;
}

static inline char *make_dir(void)
{
	char tmpl[] = "/tmp/test_spool.XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		return NULL;
	char *path = malloc(strlen(d) + 8);
	sprintf(path, "%s/spool", d);
	return path;
}

static inline void remove_tree(const char *spool_dir)
{
	char cmd[4200];
	char *parent = strdup(spool_dir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", parent);
	free(parent);
}

/* The payload of seq: its number, then filler derived from it. */
static inline size_t payload_for(uint64_t seq, char *buf, size_t len)
{
	size_t end = len - 2; /* room for the closing quote and brace */
	int n = snprintf(buf, len, "{\"seq\":%" PRIu64 ",\"v\":\"", seq);
	for (size_t i = n > 0 && (size_t)n < end ? (size_t)n : end; i < end; i++)
		buf[i] = (char)('a' + (seq + i) % 26);
	buf[end] = '"';
	buf[end + 1] = '}';
	return len;
}

static inline int push_at(struct ioca_queue *q, uint64_t seq, int64_t accepted_ms)
{
	char payload[PAYLOAD_BYTES];
	size_t n = payload_for(seq, payload, sizeof(payload));
	struct ioca_record r = {
	    .seq = seq,
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .accepted_ms = accepted_ms,
	    .topic = TOPIC,
	    .payload = payload,
	    .payload_len = n,
	};
	return ioca_queue_push(q, &r);
}

/* Push one record of `instance` with the next seq. */
static inline int push_instance_at(struct ioca_queue *q, const char *instance, int64_t accepted_ms)
{
	uint64_t seq = ioca_queue_next_seq(q);
	char payload[PAYLOAD_BYTES];
	size_t n = payload_for(seq, payload, sizeof(payload));
	struct ioca_record r = {
	    .seq = seq,
	    .kind = IOCA_RECORD_JSON,
	    .qos = 1,
	    .accepted_ms = accepted_ms,
	    .instance = instance,
	    .topic = TOPIC,
	    .payload = payload,
	    .payload_len = n,
	};
	return ioca_queue_push(q, &r);
}

/* Push n records with the seqs the spool asks for; returns the first seq. */
static inline uint64_t push_n(struct ioca_queue *q, uint64_t n)
{
	uint64_t first = ioca_queue_next_seq(q);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seq = ioca_queue_next_seq(q);
		if (push_at(q, seq, 1700000000000LL + (int64_t)seq) != IOCA_OK)
			fprintf(stderr, "push %" PRIu64 " failed\n", seq);
	}
	return first;
}

/* True when r is exactly what push_at stored for its seq. */
static inline bool record_ok(const struct ioca_record *r)
{
	char payload[PAYLOAD_BYTES];
	size_t n = payload_for(r->seq, payload, sizeof(payload));
	return r->payload_len == n && memcmp(r->payload, payload, n) == 0 &&
	       strcmp(r->topic, TOPIC) == 0 && r->qos == 1 && r->kind == IOCA_RECORD_JSON &&
	       r->content_type == NULL;
}

/* Bytes one record of push_at takes on disk. */
static inline uint64_t record_disk_bytes(void)
{
	return IOCA_SPOOL_REC_HDR_BYTES + strlen(TOPIC) + PAYLOAD_BYTES;
}

/* Segment files in dir, sorted; returns how many (at most max). */
static inline int list_segments(const char *dir, char names[][64], int max)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t id;
		if (n < max && ioca_spool_segment_parse_name(de->d_name, &id))
			memcpy(names[n++], de->d_name, IOCA_SPOOL_SEG_NAME_LEN);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[64];
				memcpy(t, names[i], 64);
				memcpy(names[i], names[j], 64);
				memcpy(names[j], t, 64);
			}
	return n;
}

static inline int count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	size_t sl = strlen(suffix);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l >= sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static inline off_t file_size(const char *dir, const char *name)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static inline void tick_now(struct ioca_queue *q)
{
	ioca_queue_tick(q, ioca_now_mono_ms());
}

#endif
