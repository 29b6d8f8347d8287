/*
 * The local archive against real SQLite files in a temporary folder: what
 * goes in comes back (same seq, id, fields) by time range and instance, in
 * pages; pruning by age and by size; damaged files set aside and rebuilt;
 * export as JSON lines and CSV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include <sqlite3.h>
#include "timeutil.h"

#define DAY_MS          (86400LL * 1000)
#define SYNC_TIMEOUT_MS 120000 /* generous: valgrind runs are slow */
#define BIG_MAX_BYTES   (1024LL * 1024 * 1024)
#define SMALL_MAX_BYTES (16LL * 1024 * 1024)
#define T0_MS           1795620600000LL /* 2026-11-25T15:30:00Z */

struct fixture {
	char dir[64];
	char path[128];
	int corrupt_calls;
	char aside[4096];
	char reason[256];
};

static void on_corrupt(void *ctx, const char *aside, const char *reason)
{
	struct fixture *f = ctx;
	f->corrupt_calls++;
	snprintf(f->aside, sizeof f->aside, "%s", aside);
	snprintf(f->reason, sizeof f->reason, "%s", reason);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/ioca-archive-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/%s", f->dir, IOCA_ARCHIVE_FILE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct ioca_archive *open_archive(struct fixture *f, int64_t max_age_ms, int64_t max_bytes)
{
	struct ioca_archive_settings s = {.max_age_ms = max_age_ms, .max_bytes = max_bytes};
	struct ioca_archive_callbacks cb = {.ctx = f, .corrupt = on_corrupt};
	char err[256] = "";
	struct ioca_archive *a = ioca_archive_open(f->path, &s, &cb, err, sizeof err);
	assert_non_null(a);
	return a;
}

/* Message n: telemetry of "sim-<n%2>" at time t, data naming n. */
static void add_msg(struct ioca_archive *a, uint64_t seq, int64_t t, const char *source,
		    const char *type, const char *data)
{
	char id[64];
	snprintf(id, sizeof id, "edge-01:%" PRIu64, seq);
	struct ioca_archive_msg m = {.seq = seq,
				     .time_ms = t,
				     .id = id,
				     .source = source,
				     .plugin = "sim",
				     .type = type,
				     .severity = 1,
				     .clock_synced = seq % 3 != 0,
				     .data = data,
				     .data_len = strlen(data)};
	assert_int_equal(ioca_archive_add(a, &m), IOCA_OK);
}

static void add_reading(struct ioca_archive *a, uint64_t seq, int64_t t, const char *source)
{
	char data[160];
	snprintf(data, sizeof data,
		 "{\"readings\":[{\"name\":\"pm25\",\"value\":%" PRIu64
		 ".5,\"unit\":\"ug/m3\",\"status\":\"ok\"},{\"name\":\"so2\",\"value\":null,"
		 "\"unit\":\"ug/m3\",\"status\":\"error\",\"error\":\"timeout\"}]}",
		 seq);
	add_msg(a, seq, t, source, "telemetry", data);
}

static size_t count_range(const char *path, int64_t from, int64_t to, const char *instance,
			  uint64_t *first_seq)
{
	struct ioca_archive_range r = {.from_ms = from, .to_ms = to, .instance = instance};
	char err[256] = "";
	struct ioca_archive_cursor *c = ioca_archive_cursor_open(path, &r, err, sizeof err);
	assert_non_null(c);
	struct ioca_archive_msg m;
	size_t n = 0;
	int rc;
	while ((rc = ioca_archive_cursor_next(c, &m)) == IOCA_OK) {
		if (n == 0 && first_seq)
			*first_seq = m.seq;
		n++;
	}
	assert_int_equal(rc, IOCA_AGAIN);
	ioca_archive_cursor_close(c);
	return n;
}

static void test_round_trip_in_time_order_across_pages(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	const size_t n = 1500; /* about three cursor pages */
	for (uint64_t seq = 1; seq <= n; seq++)
		add_reading(a, seq, T0_MS + (int64_t)seq * 1000, seq % 2 ? "sim-1" : "sim-2");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	struct ioca_archive_stats st;
	ioca_archive_stats(a, &st);
	assert_int_equal(st.written, n);
	assert_int_equal(st.dropped, 0);

	struct ioca_archive_range r = {.from_ms = T0_MS, .to_ms = T0_MS + DAY_MS};
	char err[256] = "";
	struct ioca_archive_cursor *c = ioca_archive_cursor_open(f->path, &r, err, sizeof err);
	assert_non_null(c);
	struct ioca_archive_msg m;
	uint64_t want = 1;
	while (ioca_archive_cursor_next(c, &m) == IOCA_OK) {
		char id[64];
		snprintf(id, sizeof id, "edge-01:%" PRIu64, want);
		assert_int_equal(m.seq, want);
		assert_string_equal(m.id, id);
		assert_int_equal(m.time_ms, T0_MS + (int64_t)want * 1000);
		assert_string_equal(m.source, want % 2 ? "sim-1" : "sim-2");
		assert_string_equal(m.plugin, "sim");
		assert_string_equal(m.type, "telemetry");
		assert_int_equal(m.clock_synced, want % 3 != 0);
		cJSON *d = cJSON_ParseWithLength(m.data, m.data_len);
		cJSON *v = cJSON_GetObjectItem(
		    cJSON_GetArrayItem(cJSON_GetObjectItem(d, "readings"), 0), "value");
		assert_true(cJSON_IsNumber(v));
		assert_true(v->valuedouble == (double)want + 0.5);
		cJSON_Delete(d);
		want++;
	}
	assert_int_equal(want, n + 1);
	ioca_archive_cursor_close(c);

	/* half-open range, instance filter */
	uint64_t first = 0;
	assert_int_equal(count_range(f->path, T0_MS + 100 * 1000, T0_MS + 200 * 1000, NULL, &first),
			 100);
	assert_int_equal(first, 100);
	assert_int_equal(count_range(f->path, T0_MS, T0_MS + DAY_MS, "sim-2", &first), n / 2);
	assert_int_equal(first, 2);
	assert_int_equal(count_range(f->path, T0_MS, T0_MS + DAY_MS, "nobody", NULL), 0);
	ioca_archive_close(a);
}

static void test_long_data_is_packed_and_comes_back_exactly(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	char data[8192];
	size_t off = (size_t)snprintf(data, sizeof data, "{\"readings\":[");
	for (int i = 0; i < 50; i++)
		off += (size_t)snprintf(data + off, sizeof data - off,
					"%s{\"name\":\"p%02d\",\"value\":%d.25,\"unit\":\"ug/m3\","
					"\"status\":\"ok\"}",
					i ? "," : "", i, i * 7);
	snprintf(data + off, sizeof data - off, "]}");
	add_msg(a, 1, T0_MS, "aq-1", "telemetry", data);
	add_msg(a, 2, T0_MS, "aq-1", "sim.tick", "{\"short\":true}");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);

	/* stored as a blob much smaller than the text; the short one as text */
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT typeof(data), length(data) FROM messages ORDER BY seq",
			       -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "blob");
	assert_true((size_t)sqlite3_column_int(st, 1) * 3 < strlen(data));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "text");
	sqlite3_finalize(st);

	struct ioca_archive_range r = {.from_ms = 0, .to_ms = T0_MS + 1};
	char err[256] = "";
	struct ioca_archive_cursor *c = ioca_archive_cursor_open(f->path, &r, err, sizeof err);
	struct ioca_archive_msg m;
	assert_int_equal(ioca_archive_cursor_next(c, &m), IOCA_OK);
	assert_int_equal(m.data_len, strlen(data));
	assert_string_equal(m.data, data);
	assert_int_equal(ioca_archive_cursor_next(c, &m), IOCA_OK);
	assert_string_equal(m.data, "{\"short\":true}");
	ioca_archive_cursor_close(c);

	/* a damaged blob is an error naming the message, not a crash */
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE messages SET data = substr(data, 1, 40) WHERE seq = 1", NULL,
			 NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	c = ioca_archive_cursor_open(f->path, &r, err, sizeof err);
	assert_int_equal(ioca_archive_cursor_next(c, &m), IOCA_ERROR);
	assert_non_null(strstr(ioca_archive_cursor_error(c), "seq 1: damaged data"));
	ioca_archive_cursor_close(c);
}

static void test_same_seq_twice_is_kept_once(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	add_reading(a, 7, T0_MS, "sim-1");
	add_reading(a, 7, T0_MS, "sim-1");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);
	assert_int_equal(count_range(f->path, 0, T0_MS + 1, NULL, NULL), 1);
}

static void test_prunes_by_age(void **state)
{
	struct fixture *f = *state;
	int64_t now = ioca_now_wall_ms();
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	for (uint64_t seq = 1; seq <= 100; seq++)
		add_reading(a, seq, now - (seq <= 40 ? 10 : 0) * DAY_MS, "sim-1");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);
	assert_int_equal(count_range(f->path, 0, now + DAY_MS, NULL, NULL), 100);

	/* reopened with a 5-day retention: pruned right after opening */
	a = open_archive(f, 5 * DAY_MS, BIG_MAX_BYTES);
	add_reading(a, 101, now, "sim-1");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	struct ioca_archive_stats st;
	ioca_archive_stats(a, &st);
	assert_int_equal(st.pruned_age, 40);
	assert_int_equal(st.rows, 61);
	ioca_archive_close(a);
	uint64_t first = 0;
	assert_int_equal(count_range(f->path, 0, now + DAY_MS, NULL, &first), 61);
	assert_int_equal(first, 41);
}

static void test_prunes_oldest_by_size(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	/* random letters: deflate cannot shrink them below 6 bits a byte */
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char big[4097];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof big - 1; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = alphabet[x % 64];
	}
	char data[4200];
	snprintf(data, sizeof data, "{\"blob\":\"%s\"}", big);
	const uint64_t n = 8000; /* about 24 MiB packed */
	int64_t now = ioca_now_wall_ms();
	for (uint64_t seq = 1; seq <= n; seq++) {
		add_msg(a, seq, now - (int64_t)(n - seq) * 1000, "sim-1", "sim.tick", data);
		if (seq % 1000 == 0) /* stay below the hand-off bound */
			assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	}
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);

	a = open_archive(f, 3650 * DAY_MS, SMALL_MAX_BYTES);
	add_msg(a, n + 1, now, "sim-1", "sim.tick", data);
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	struct ioca_archive_stats st;
	ioca_archive_stats(a, &st);
	assert_true(st.pruned_size > 0);
	assert_true(st.disk_bytes <= (uint64_t)SMALL_MAX_BYTES);
	ioca_archive_close(a);
	uint64_t first = 0;
	size_t left = count_range(f->path, 0, now + 1, NULL, &first);
	assert_int_equal(left, n + 1 - st.pruned_size);
	assert_int_equal(first, st.pruned_size + 1); /* the oldest went first */
}

static void damage(const char *path, off_t at, size_t len)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	char junk[4096];
	memset(junk, 0xA5, sizeof junk);
	while (len) {
		size_t n = len < sizeof junk ? len : sizeof junk;
		assert_int_equal(pwrite(fd, junk, n, at), (ssize_t)n);
		at += (off_t)n;
		len -= n;
	}
	close(fd);
}

static void check_rebuilt(struct fixture *f)
{
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	add_reading(a, 1000, T0_MS, "sim-1");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_tick(a); /* the report reaches the owner here */
	assert_int_equal(f->corrupt_calls, 1);
	assert_true(strstr(f->aside, ".corrupt") != NULL);
	struct stat st;
	assert_int_equal(stat(f->aside, &st), 0);
	struct ioca_archive_stats as;
	ioca_archive_stats(a, &as);
	assert_int_equal(as.corrupt, 1);
	ioca_archive_close(a);
	uint64_t first = 0;
	assert_int_equal(count_range(f->path, 0, T0_MS + 1, NULL, &first), 1);
	assert_int_equal(first, 1000);
}

static void fill(struct fixture *f, uint64_t n)
{
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	for (uint64_t seq = 1; seq <= n; seq++)
		add_reading(a, seq, T0_MS - (int64_t)seq, "sim-1");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);
}

static void test_hand_off_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	static char data[65536];
	memset(data, ' ', sizeof data - 1);
	data[0] = '{';
	data[sizeof data - 2] = '}';
	/* 64 MiB offered at once: the list stops at its bound, the rest is counted */
	int refused = 0;
	for (uint64_t seq = 1; seq <= 1024; seq++) {
		char id[32];
		snprintf(id, sizeof id, "e:%" PRIu64, seq);
		struct ioca_archive_msg m = {.seq = seq,
					     .time_ms = T0_MS,
					     .id = id,
					     .source = "s",
					     .plugin = "p",
					     .type = "t",
					     .data = data,
					     .data_len = sizeof data - 1};
		refused += ioca_archive_add(a, &m) != IOCA_OK;
	}
	assert_true(refused > 0);
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	struct ioca_archive_stats st;
	ioca_archive_stats(a, &st);
	assert_int_equal(st.added, 1024);
	assert_int_equal(st.dropped, (uint64_t)refused);
	assert_int_equal(st.written, 1024 - (uint64_t)refused);
	ioca_archive_close(a);
}

static void test_damaged_pages_are_set_aside_and_rebuilt(void **state)
{
	struct fixture *f = *state;
	fill(f, 3000);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	damage(f->path, st.st_size / 2, 16384); /* b-tree pages in the middle */
	check_rebuilt(f);
}

static void test_not_a_database_is_set_aside_and_rebuilt(void **state)
{
	struct fixture *f = *state;
	fill(f, 10);
	damage(f->path, 0, 4096); /* the header */
	check_rebuilt(f);
}

static char *export_text(struct fixture *f, enum ioca_export_format fmt, const char *instance,
			 long *n)
{
	char *buf = NULL, err[256] = "";
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct ioca_archive_range r = {
	    .from_ms = T0_MS, .to_ms = T0_MS + DAY_MS, .instance = instance};
	*n = ioca_archive_export(f->path, &r, fmt, out, err, sizeof err);
	fclose(out);
	return buf;
}

static void test_export_jsonl_and_csv(void **state)
{
	struct fixture *f = *state;
	struct ioca_archive *a = open_archive(f, 3650 * DAY_MS, BIG_MAX_BYTES);
	add_reading(a, 1, T0_MS + 1, "sim-1");
	add_msg(a, 2, T0_MS + 2, "_agent", "agent.started", "{\"version\":\"1\"}");
	add_reading(a, 3, T0_MS + 3, "sim,2");
	assert_int_equal(ioca_archive_sync(a, SYNC_TIMEOUT_MS), IOCA_OK);
	ioca_archive_close(a);

	long n = 0;
	char *jsonl = export_text(f, IOCA_EXPORT_JSONL, NULL, &n);
	assert_int_equal(n, 3);
	char *save = NULL, *line = strtok_r(jsonl, "\n", &save);
	cJSON *j = cJSON_Parse(line);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "edge-01:1");
	assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(j, "agent")->valuestring, "edge-01");
	assert_string_equal(cJSON_GetObjectItem(j, "time")->valuestring,
			    "2026-11-25T15:30:00.001Z");
	assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "warning");
	assert_string_equal(cJSON_GetObjectItem(j, "clock")->valuestring, "synced");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "readings")));
	cJSON_Delete(j);
	j = cJSON_Parse(strtok_r(NULL, "\n", &save));
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "agent.started");
	cJSON_Delete(j);
	j = cJSON_Parse(strtok_r(NULL, "\n", &save));
	assert_string_equal(cJSON_GetObjectItem(j, "clock")->valuestring, "unsynced");
	cJSON_Delete(j);
	assert_null(strtok_r(NULL, "\n", &save));
	free(jsonl);

	char *csv = export_text(f, IOCA_EXPORT_CSV, NULL, &n);
	assert_string_equal(csv, "time,source,parameter,value,unit,status,id\n"
				 "2026-11-25T15:30:00.001Z,sim-1,pm25,1.5,ug/m3,ok,edge-01:1\n"
				 "2026-11-25T15:30:00.001Z,sim-1,so2,,ug/m3,error,edge-01:1\n"
				 "2026-11-25T15:30:00.003Z,\"sim,2\",pm25,3.5,ug/m3,ok,edge-01:3\n"
				 "2026-11-25T15:30:00.003Z,\"sim,2\",so2,,ug/m3,error,edge-01:3\n");
	free(csv);

	csv = export_text(f, IOCA_EXPORT_CSV, "sim-1", &n);
	assert_int_equal(n, 1);
	free(csv);
}

static void test_export_of_a_missing_archive_fails_clearly(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct ioca_archive_range r = {.from_ms = 0, .to_ms = 1};
	assert_int_equal(
	    ioca_archive_export(f->path, &r, IOCA_EXPORT_JSONL, stdout, err, sizeof err), -1);
	assert_true(strstr(err, IOCA_ARCHIVE_FILE) != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_in_time_order_across_pages, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_same_seq_twice_is_kept_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_data_is_packed_and_comes_back_exactly, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_prunes_by_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prunes_oldest_by_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hand_off_is_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_pages_are_set_aside_and_rebuilt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_database_is_set_aside_and_rebuilt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_export_jsonl_and_csv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_of_a_missing_archive_fails_clearly, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
