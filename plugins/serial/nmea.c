/*
 * NMEA 0183 parser: framing ($...*hh), checksum, field split, and the MDA and
 * MWV decoders. See nmea.h for the keys and units.
 *
 * Invariant: every access to the line is bounded by its length; the parser
 * keeps no state between calls and allocates nothing.
 */
#include "nmea.h"

#include <string.h>

/* An NMEA address is a 2-letter talker plus a 3-letter sentence type. */
#define NMEA_ADDRESS_LEN 5
#define NMEA_TYPE_OFFSET 2
/* More fields than any sentence decoded here (MDA has 20 after the address). */
#define NMEA_MAX_FIELDS 40

/* Unit conversions to what nmea.h promises. */
#define HPA_PER_BAR  1000.0
#define HPA_PER_INHG 33.8638866667
#define MPS_PER_KNOT (1852.0 / 3600.0)
#define MPS_PER_KMH  (1.0 / 3.6)
#define MPS_PER_MPH  0.44704

struct field {
	const char *p;
	size_t len;
};

struct sentence {
	struct field f[NMEA_MAX_FIELDS];
	size_t count;
};

static const char *const MDA_KEYS[] = {
    "pressure",  "air_temp",      "water_temp",        "humidity",
    "dew_point", "wind_dir_true", "wind_dir_magnetic", "wind_speed",
};
static const char *const MWV_KEYS[] = {
    "wind_angle_relative",
    "wind_speed_relative",
    "wind_angle_true",
    "wind_speed_true",
};

struct key_unit {
	const char *key;
	const char *unit;
};

static const struct key_unit KEY_UNITS[] = {
    {"pressure", "hPa"},
    {"air_temp", "degC"},
    {"water_temp", "degC"},
    {"humidity", "%RH"},
    {"dew_point", "degC"},
    {"wind_dir_true", "deg"},
    {"wind_dir_magnetic", "deg"},
    {"wind_speed", "m/s"},
    {"wind_angle_relative", "deg"},
    {"wind_speed_relative", "m/s"},
    {"wind_angle_true", "deg"},
    {"wind_speed_true", "m/s"},
};

const char *ioca_nmea_unit_of(const char *key)
{
	for (size_t i = 0; i < sizeof KEY_UNITS / sizeof KEY_UNITS[0]; i++)
		if (strcmp(KEY_UNITS[i].key, key) == 0)
			return KEY_UNITS[i].unit;
	return NULL;
}

unsigned ioca_nmea_checksum(const char *body, size_t len)
{
	unsigned sum = 0;
	for (size_t i = 0; i < len; i++)
		sum ^= (unsigned char)body[i];
	return sum;
}

const char *ioca_nmea_result_name(enum ioca_nmea_result r)
{
	switch (r) {
	case IOCA_NMEA_OK:
		return "ok";
	case IOCA_NMEA_CHECKSUM:
		return "checksum";
	case IOCA_NMEA_UNSUPPORTED:
		return "unsupported";
	case IOCA_NMEA_MALFORMED:
		return "malformed";
	}
	return "?";
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void add_key(struct ioca_line_values *vals, const char *key, double v, const char *unit,
		    const char *error)
{
	ioca_line_values_add(vals, key, strlen(key), v, unit, error);
}

static void fail_keys(struct ioca_line_values *vals, const char *const *keys, size_t n,
		      const char *reason)
{
	for (size_t i = 0; i < n; i++)
		add_key(vals, keys[i], 0.0, NULL, reason);
}

static int field_is(const struct sentence *s, size_t i, char c)
{
	return i < s->count && s->f[i].len == 1 && s->f[i].p[0] == c;
}

/* 1: number read; 0: field absent or empty; -1: present but not a number. */
static int field_number(const struct sentence *s, size_t i, double *out)
{
	if (i >= s->count || s->f[i].len == 0)
		return 0;
	return ioca_line_parse_number(s->f[i].p, s->f[i].len, out) == 0 ? 1 : -1;
}

/* A value field followed by a unit letter field; adds key when present. */
static void value_with_unit(const struct sentence *s, struct ioca_line_values *vals, size_t i,
			    char unit_letter, const char *key, double factor, const char *unit)
{
	double v = 0.0;
	int r = field_number(s, i, &v);
	if (r == 0)
		return;
	if (r < 0) {
		add_key(vals, key, 0.0, NULL, "parse");
		return;
	}
	if (!field_is(s, i + 1, unit_letter)) {
		add_key(vals, key, 0.0, NULL, "unit");
		return;
	}
	add_key(vals, key, v * factor, unit, NULL);
}

/* Two alternative representations of one quantity: take the preferred one when present. */
static void value_preferred(const struct sentence *s, struct ioca_line_values *vals, size_t pref_i,
			    char pref_unit, double pref_factor, size_t alt_i, char alt_unit,
			    double alt_factor, const char *key, const char *unit)
{
	if (pref_i < s->count && s->f[pref_i].len > 0)
		value_with_unit(s, vals, pref_i, pref_unit, key, pref_factor, unit);
	else
		value_with_unit(s, vals, alt_i, alt_unit, key, alt_factor, unit);
}

/*
 * $--MDA,inHg,I,bar,B,airC,C,waterC,C,rh,abs,dewC,C,dirT,T,dirM,M,kn,N,mps,M
 * Field numbers below count the address as field 0.
 */
static void decode_mda(const struct sentence *s, struct ioca_line_values *vals)
{
	value_preferred(s, vals, 3, 'B', HPA_PER_BAR, 1, 'I', HPA_PER_INHG, "pressure", "hPa");
	value_with_unit(s, vals, 5, 'C', "air_temp", 1.0, "degC");
	value_with_unit(s, vals, 7, 'C', "water_temp", 1.0, "degC");
	double rh = 0.0;
	int r = field_number(s, 9, &rh);
	if (r > 0)
		add_key(vals, "humidity", rh, "%RH", NULL);
	else if (r < 0)
		add_key(vals, "humidity", 0.0, NULL, "parse");
	value_with_unit(s, vals, 11, 'C', "dew_point", 1.0, "degC");
	value_with_unit(s, vals, 13, 'T', "wind_dir_true", 1.0, "deg");
	value_with_unit(s, vals, 15, 'M', "wind_dir_magnetic", 1.0, "deg");
	value_preferred(s, vals, 19, 'M', 1.0, 17, 'N', MPS_PER_KNOT, "wind_speed", "m/s");
}

static double mwv_speed_factor(char unit)
{
	switch (unit) {
	case 'M':
		return 1.0;
	case 'N':
		return MPS_PER_KNOT;
	case 'K':
		return MPS_PER_KMH;
	case 'S':
		return MPS_PER_MPH;
	default:
		return -1.0;
	}
}

/* $--MWV,angle,R|T,speed,K|M|N|S,A|V */
static void decode_mwv(const struct sentence *s, struct ioca_line_values *vals)
{
	int rel = field_is(s, 2, 'R');
	if (!rel && !field_is(s, 2, 'T')) {
		fail_keys(vals, MWV_KEYS, sizeof MWV_KEYS / sizeof MWV_KEYS[0], "parse");
		return;
	}
	const char *angle_key = rel ? "wind_angle_relative" : "wind_angle_true";
	const char *speed_key = rel ? "wind_speed_relative" : "wind_speed_true";
	if (field_is(s, 5, 'V')) {
		add_key(vals, angle_key, 0.0, NULL, "invalid");
		add_key(vals, speed_key, 0.0, NULL, "invalid");
		return;
	}
	double angle = 0.0;
	int r = field_number(s, 1, &angle);
	if (r > 0 && angle >= 0.0 && angle <= 360.0)
		add_key(vals, angle_key, angle, "deg", NULL);
	else if (r != 0)
		add_key(vals, angle_key, 0.0, NULL, r < 0 ? "parse" : "range");
	double speed = 0.0;
	r = field_number(s, 3, &speed);
	if (r == 0)
		return;
	double factor = (4 < s->count && s->f[4].len == 1) ? mwv_speed_factor(s->f[4].p[0]) : -1.0;
	if (r < 0)
		add_key(vals, speed_key, 0.0, NULL, "parse");
	else if (factor < 0.0)
		add_key(vals, speed_key, 0.0, NULL, "unit");
	else
		add_key(vals, speed_key, speed * factor, "m/s", NULL);
}

static void split_fields(const char *body, size_t len, struct sentence *s)
{
	s->count = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && body[i] != ',')
			continue;
		if (s->count < NMEA_MAX_FIELDS) {
			s->f[s->count].p = body + start;
			s->f[s->count].len = i - start;
			s->count++;
		}
		start = i + 1;
	}
}

static int address_ok(const char *body, size_t len)
{
	size_t n = 0;
	while (n < len && body[n] != ',')
		n++;
	if (n != NMEA_ADDRESS_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = body[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int type_is(const char *body, const char *type)
{
	return memcmp(body + NMEA_TYPE_OFFSET, type, NMEA_ADDRESS_LEN - NMEA_TYPE_OFFSET) == 0;
}

/* Failed values for the keys of the sentence type named by a (suspect) address. */
static void fail_by_type(const char *body, size_t len, struct ioca_line_values *vals,
			 const char *reason)
{
	if (!address_ok(body, len))
		return;
	if (type_is(body, "MDA"))
		fail_keys(vals, MDA_KEYS, sizeof MDA_KEYS / sizeof MDA_KEYS[0], reason);
	else if (type_is(body, "MWV"))
		fail_keys(vals, MWV_KEYS, sizeof MWV_KEYS / sizeof MWV_KEYS[0], reason);
}

static int printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

enum ioca_nmea_result ioca_nmea_parse(const char *line, size_t len, int require_checksum,
				      struct ioca_line_values *vals)
{
	vals->count = 0;
	vals->truncated = 0;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len < 1 + NMEA_ADDRESS_LEN || (line[0] != '$' && line[0] != '!'))
		return IOCA_NMEA_MALFORMED;
	const char *body = line + 1;
	const char *star = memchr(body, '*', len - 1);
	size_t body_len = star ? (size_t)(star - body) : len - 1;

	if (star) {
		size_t tail = len - 1 - body_len - 1;
		int hi = tail == 2 ? hex_value(star[1]) : -1;
		int lo = tail == 2 ? hex_value(star[2]) : -1;
		if (hi < 0 || lo < 0 ||
		    (unsigned)(hi * 16 + lo) != ioca_nmea_checksum(body, body_len)) {
			fail_by_type(body, body_len, vals, "checksum");
			return IOCA_NMEA_CHECKSUM;
		}
	} else if (require_checksum) {
		fail_by_type(body, body_len, vals, "checksum");
		return IOCA_NMEA_CHECKSUM;
	}
	if (!printable(body, body_len))
		return IOCA_NMEA_MALFORMED;
	if (body[0] == 'P')
		return IOCA_NMEA_UNSUPPORTED; /* proprietary sentence */
	if (!address_ok(body, body_len))
		return IOCA_NMEA_MALFORMED;

	struct sentence s;
	split_fields(body, body_len, &s);
	if (type_is(body, "MDA"))
		decode_mda(&s, vals);
	else if (type_is(body, "MWV"))
		decode_mwv(&s, vals);
	else
		return IOCA_NMEA_UNSUPPORTED;
	return IOCA_NMEA_OK;
}
