/* SPDX-License-Identifier: MIT */
/*
 * cayennelpp.c - Cayenne LPP decoder and encoder (see cayennelpp.h for the
 * contracts).
 *
 * A payload is a sequence of records, nothing before, between or after them
 * (myDevices "Cayenne Low Power Payload" documentation; the same framing in
 * chirpstack/chirpstack chirpstack/src/codec/cayenne_lpp.rs):
 *
 *    0         1         2 ..................... 2+size-1
 *   +---------+---------+---------------------------+
 *   | channel | type id | value: size bytes, big    |   repeated until len
 *   | (0-255) |         | endian, fields in order   |
 *   +---------+---------+---------------------------+
 *
 * Each field of a value is an integer of 1, 2 or 3 bytes (signed ones two's
 * complement); the JSON number is that integer divided by the field's
 * divisor. The types, ids, sizes, scales and JSON keys are ChirpStack's
 * (cayenne_lpp.rs after chirpstack/chirpstack PR #909, "added missing
 * cayenne-lpp parser", which took the extended types of the Electronic Cats
 * CayenneLPP library; ids and scales as in myDevices' table and IPSO Smart
 * Objects), in ChirpStack's order, which its encoder writes the types in:
 *
 *   id   key                size  field(s)                     raw / divisor
 *   0    digitalInput        1    u8                           / 1
 *   1    digitalOutput       1    u8                           / 1
 *   2    analogInput         2    i16                          / 100
 *   3    analogOutput        2    i16                          / 100
 *   100  genericSensor       4    u32                          / 1
 *   101  illuminanceSensor   2    u16 (lux)                    / 1
 *   102  presenceSensor      1    u8                           / 1
 *   103  temperatureSensor   2    i16 (0.1 degC)               / 10
 *   104  humiditySensor      1    u8 (0.5 %RH)                 / 2
 *   113  accelerometer       6    x, y, z: i16 (0.001 G)       / 1000
 *   115  barometer           2    u16 (0.1 hPa)                / 10
 *   116  voltage             2    u16 (0.01 V)                 / 100
 *   117  current             2    u16 (0.001 A)                / 1000
 *   118  frequency           4    u32 (Hz)                     / 1
 *   120  percentage          1    u8 (%)                       / 1
 *   121  altitude            2    i16 (m)                      / 1
 *   125  concentration       2    u16 (ppm)                    / 1
 *   128  power               2    u16 (W)                      / 1
 *   130  distance            4    u32 (0.001 m)                / 1000
 *   131  energy              4    u32 (0.001 kWh)              / 1000
 *   132  direction           2    u16 (deg)                    / 1
 *   133  unixtime            4    u32 (s since 1970)           / 1
 *   134  gyrometer           6    x, y, z: i16 (0.01 deg/s)    / 100
 *   135  colour              3    r, g, b: u8                  / 1
 *   136  gpsLocation         9    latitude, longitude: i24     / 10000
 *                                 (0.0001 deg), altitude: i24  / 100
 *                                 (0.01 m)
 *   142  switch              1    u8 (0 or 1)                  / 1
 *
 * Before ChirpStack decoded the extended types, lorabridge named eleven of
 * them "<quantity>Sensor" ("voltageSensor" ... "directionSensor") and 133
 * "unixTime". The encoder still accepts those old keys (old_key below), so
 * downlink objects written for earlier lorabridge versions keep encoding;
 * the decoder writes only ChirpStack's keys.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/lb_err.h"
#include "codec/cayennelpp.h"

#define LPP_MAX_FIELDS 3

/* One integer field: value = raw / divisor, printed as (raw * mul) with
 * `decimals` decimal places, which is the same number written exactly. */
struct lpp_field {
	const char *name;       /* member name, NULL for a single-field type */
	uint8_t bytes;
	bool is_signed;
	uint16_t divisor;
	uint8_t mul;
	uint8_t decimals;
};

struct lpp_type {
	uint8_t id;
	const char *key;        /* ChirpStack's key, the one the decoder writes */
	const char *old_key;    /* lorabridge's earlier key, encoder only; or NULL */
	uint8_t nfields;
	struct lpp_field f[LPP_MAX_FIELDS];
};

#define F_U8     {NULL, 1, false, 1, 1, 0}
#define F_U(bytes, d, dec) {NULL, (bytes), false, (d), 1, (dec)}
#define F_I16(d, dec) {NULL, 2, true, (d), 1, (dec)}
#define XYZ(d, dec) {{"x", 2, true, (d), 1, (dec)}, {"y", 2, true, (d), 1, (dec)}, \
		     {"z", 2, true, (d), 1, (dec)}}

static const struct lpp_type lpp_types[] = {
	{0, "digitalInput", NULL, 1, {F_U8}},
	{1, "digitalOutput", NULL, 1, {F_U8}},
	{2, "analogInput", NULL, 1, {F_I16(100, 2)}},
	{3, "analogOutput", NULL, 1, {F_I16(100, 2)}},
	{100, "genericSensor", NULL, 1, {F_U(4, 1, 0)}},
	{101, "illuminanceSensor", NULL, 1, {{NULL, 2, false, 1, 1, 0}}},
	{102, "presenceSensor", NULL, 1, {F_U8}},
	{103, "temperatureSensor", NULL, 1, {F_I16(10, 1)}},
	{104, "humiditySensor", NULL, 1, {{NULL, 1, false, 2, 5, 1}}},
	{113, "accelerometer", NULL, 3, XYZ(1000, 3)},
	{115, "barometer", NULL, 1, {{NULL, 2, false, 10, 1, 1}}},
	{116, "voltage", "voltageSensor", 1, {F_U(2, 100, 2)}},
	{117, "current", "currentSensor", 1, {F_U(2, 1000, 3)}},
	{118, "frequency", "frequencySensor", 1, {F_U(4, 1, 0)}},
	{120, "percentage", "percentageSensor", 1, {F_U8}},
	{121, "altitude", "altitudeSensor", 1, {F_I16(1, 0)}},
	{125, "concentration", "concentrationSensor", 1, {F_U(2, 1, 0)}},
	{128, "power", "powerSensor", 1, {F_U(2, 1, 0)}},
	{130, "distance", "distanceSensor", 1, {F_U(4, 1000, 3)}},
	{131, "energy", "energySensor", 1, {F_U(4, 1000, 3)}},
	{132, "direction", "directionSensor", 1, {F_U(2, 1, 0)}},
	{133, "unixtime", "unixTime", 1, {F_U(4, 1, 0)}},
	{134, "gyrometer", NULL, 3, XYZ(100, 2)},
	{135, "colour", NULL, 3, {{"r", 1, false, 1, 1, 0}, {"g", 1, false, 1, 1, 0},
				  {"b", 1, false, 1, 1, 0}}},
	{136, "gpsLocation", NULL, 3, {{"latitude", 3, true, 10000, 1, 4},
					{"longitude", 3, true, 10000, 1, 4},
					{"altitude", 3, true, 100, 1, 2}}},
	{142, "switch", NULL, 1, {F_U8}},
};

static const struct lpp_type *type_find(uint8_t id)
{
	for (size_t i = 0; i < sizeof(lpp_types) / sizeof(lpp_types[0]); i++)
		if (lpp_types[i].id == id)
			return &lpp_types[i];
	return NULL;
}

static size_t type_size(const struct lpp_type *t)
{
	size_t n = 0;

	for (unsigned i = 0; i < t->nfields; i++)
		n += t->f[i].bytes;
	return n;
}

/* Big-endian integer of 1 to 4 bytes, sign-extended when is_signed. */
static int64_t read_be(const uint8_t *p, unsigned bytes, bool is_signed)
{
	uint64_t u = 0;

	for (unsigned i = 0; i < bytes; i++)
		u = u << 8 | p[i];
	if (is_signed && (u & (UINT64_C(1) << (8 * bytes - 1))))
		return (int64_t)u - (int64_t)(UINT64_C(1) << (8 * bytes));
	return (int64_t)u;
}

/* v / 10^decimals written exactly, trailing zeros dropped, at least one
 * decimal: 272,1 -> "27.2"; 100,0 -> "100.0"; -879094,4 -> "-87.9094". */
static void format_fixed(int64_t v, unsigned decimals, char *s, size_t cap)
{
	uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
	uint64_t pow = 1;
	int n;

	for (unsigned i = 0; i < decimals; i++)
		pow *= 10;
	n = snprintf(s, cap, "%s%llu.", v < 0 ? "-" : "", (unsigned long long)(u / pow));
	if (u % pow == 0) {
		snprintf(s + n, cap - (size_t)n, "0");
		return;
	}
	n += snprintf(s + n, cap - (size_t)n, "%0*llu", (int)decimals,
		      (unsigned long long)(u % pow));
	while (s[n - 1] == '0')
		s[--n] = '\0';
}

static json_object *field_value(const struct lpp_field *f, const uint8_t *p)
{
	int64_t raw = read_be(p, f->bytes, f->is_signed);
	char text[32];

	format_fixed(raw * f->mul, f->decimals, text, sizeof(text));
	return json_object_new_double_s((double)raw / (double)f->divisor, text);
}

/* Adds v as obj[key], consuming v either way. */
static int add_member(json_object *obj, const char *key, json_object *v)
{
	if (!v)
		return LB_ERR_NOMEM;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return LB_ERR_NOMEM;
	}
	return LB_OK;
}

static json_object *record_value(const struct lpp_type *t, const uint8_t *p)
{
	json_object *obj;

	if (t->nfields == 1)
		return field_value(&t->f[0], p);
	obj = json_object_new_object();
	for (unsigned i = 0; obj && i < t->nfields; i++) {
		if (add_member(obj, t->f[i].name, field_value(&t->f[i], p)) != LB_OK) {
			json_object_put(obj);
			return NULL;
		}
		p += t->f[i].bytes;
	}
	return obj;
}

/* root[t->key], created empty on first use; NULL when out of memory. */
static json_object *type_group(json_object *root, const struct lpp_type *t)
{
	json_object *g;

	if (json_object_object_get_ex(root, t->key, &g))
		return g;
	g = json_object_new_object();
	return add_member(root, t->key, g) == LB_OK ? g : NULL;
}

static int add_record(json_object *root, const struct lpp_type *t, uint8_t channel,
		      const uint8_t *p)
{
	json_object *g = type_group(root, t);
	char key[4];

	if (!g)
		return LB_ERR_NOMEM;
	snprintf(key, sizeof(key), "%u", (unsigned)channel);
	return add_member(g, key, record_value(t, p));
}

static int decode_records(const uint8_t *buf, size_t len, json_object *root)
{
	size_t pos = 0;

	while (pos < len) {
		const struct lpp_type *t;
		size_t size;
		int rc;

		if (len - pos < 2)
			return LB_ERR_MALFORMED;
		t = type_find(buf[pos + 1]);
		if (!t)
			return LB_ERR_MALFORMED;
		size = type_size(t);
		if (len - pos - 2 < size)
			return LB_ERR_MALFORMED;
		rc = add_record(root, t, buf[pos], buf + pos + 2);
		if (rc != LB_OK)
			return rc;
		pos += 2 + size;
	}
	return LB_OK;
}

int cayennelpp_decode(const uint8_t *buf, size_t len, json_object **out)
{
	json_object *root;
	int rc;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if (!buf && len > 0)
		return LB_ERR_INVAL;
	root = json_object_new_object();
	if (!root)
		return LB_ERR_NOMEM;
	rc = decode_records(buf, len, root);
	if (rc != LB_OK) {
		json_object_put(root);
		return rc;
	}
	*out = root;
	return LB_OK;
}

/* --- encoder --------------------------------------------------------------
 *
 * The decoder's table read the other way: each number times its field's
 * divisor, rounded to the nearest integer, written big endian in the field's
 * bytes. ChirpStack's encoder (cayenne_lpp.rs to_vec()) truncates instead
 * (Rust `as`) and saturates what does not fit; rounding gives the same bytes
 * for every value it has a test vector of, and what does not fit is refused.
 */

#define LPP_CHANNELS 256

static int enc_fail(char *why, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const struct lpp_type *type_by_key(const char *key)
{
	for (size_t i = 0; i < sizeof(lpp_types) / sizeof(lpp_types[0]); i++)
		if (strcmp(lpp_types[i].key, key) == 0 ||
		    (lpp_types[i].old_key && strcmp(lpp_types[i].old_key, key) == 0))
			return &lpp_types[i];
	return NULL;
}

/* A channel key: the decimal number 0..255 the decoder writes ("3"). */
static bool channel_of(const char *key, unsigned *ch)
{
	size_t n = strlen(key);
	unsigned v = 0;

	if (n == 0 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (key[i] < '0' || key[i] > '9')
			return false;
		v = v * 10 + (unsigned)(key[i] - '0');
	}
	*ch = v;
	return v < LPP_CHANNELS;
}

/* One field of v into p (f->bytes bytes). */
static int put_field(const struct lpp_field *f, json_object *v, uint8_t *p, const char *key,
		     unsigned ch, char *why, size_t cap)
{
	const char *m = f->name ? f->name : "";
	const char *dot = f->name ? "." : "";

	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return enc_fail(why, cap, LB_ERR_MALFORMED, "%s.%u%s%s is not a number", key, ch,
				dot, m);
	double x = json_object_get_double(v) * f->divisor;
	int64_t lo = f->is_signed ? -(INT64_C(1) << (8 * f->bytes - 1)) : 0;
	int64_t hi = f->is_signed ? (INT64_C(1) << (8 * f->bytes - 1)) - 1
				  : (INT64_C(1) << (8 * f->bytes)) - 1;
	if (!isfinite(x) || x < (double)lo - 0.5 || x >= (double)hi + 0.5)
		return enc_fail(why, cap, LB_ERR_RANGE, "%s.%u%s%s = %s does not fit the type",
				key, ch, dot, m, json_object_to_json_string(v));
	int64_t raw = (int64_t)llround(x);
	if (raw < lo || raw > hi)
		return enc_fail(why, cap, LB_ERR_RANGE, "%s.%u%s%s = %s does not fit the type",
				key, ch, dot, m, json_object_to_json_string(v));
	uint64_t u = (uint64_t)raw;
	for (unsigned i = 0; i < f->bytes; i++)
		p[i] = (uint8_t)(u >> (8 * (f->bytes - 1 - i)));
	return LB_OK;
}

/* The value of one channel (a number, or an object of the type's members). */
static int put_value(const struct lpp_type *t, json_object *v, uint8_t *p, unsigned ch,
		     char *why, size_t cap)
{
	if (t->nfields == 1)
		return put_field(&t->f[0], v, p, t->key, ch, why, cap);
	if (!json_object_is_type(v, json_type_object))
		return enc_fail(why, cap, LB_ERR_MALFORMED, "%s.%u is not an object", t->key, ch);
	json_object_object_foreach(v, name, mv) {
		(void)mv;
		unsigned i = 0;
		while (i < t->nfields && strcmp(t->f[i].name, name) != 0)
			i++;
		if (i == t->nfields)
			return enc_fail(why, cap, LB_ERR_MALFORMED, "%s.%u has no member '%s'",
					t->key, ch, name);
	}
	for (unsigned i = 0; i < t->nfields; i++) {
		json_object *fv = NULL;
		if (!json_object_object_get_ex(v, t->f[i].name, &fv))
			return enc_fail(why, cap, LB_ERR_MALFORMED, "%s.%u lacks '%s'", t->key, ch,
					t->f[i].name);
		int rc = put_field(&t->f[i], fv, p, t->key, ch, why, cap);
		if (rc != LB_OK)
			return rc;
		p += t->f[i].bytes;
	}
	return LB_OK;
}

/* Every record of type t in obj, channels ascending, at out + *pos. */
static int put_type(const struct lpp_type *t, json_object *group, uint8_t *out, size_t cap,
		    size_t *pos, char *why, size_t why_cap)
{
	json_object *by_ch[LPP_CHANNELS] = {0};
	size_t size = type_size(t);

	if (!json_object_is_type(group, json_type_object))
		return enc_fail(why, why_cap, LB_ERR_MALFORMED, "%s is not an object of channels",
				t->key);
	json_object_object_foreach(group, key, v) {
		unsigned ch;
		if (!channel_of(key, &ch))
			return enc_fail(why, why_cap, LB_ERR_MALFORMED,
					"%s: '%s' is not a channel 0..255", t->key, key);
		if (by_ch[ch])
			return enc_fail(why, why_cap, LB_ERR_MALFORMED,
					"%s: channel %u given twice", t->key, ch);
		if (!v)
			return enc_fail(why, why_cap, LB_ERR_MALFORMED, "%s.%u is null", t->key,
					ch);
		by_ch[ch] = v;
	}
	for (unsigned ch = 0; ch < LPP_CHANNELS; ch++) {
		if (!by_ch[ch])
			continue;
		if (cap - *pos < 2 + size)
			return enc_fail(why, why_cap, LB_ERR_TOO_LARGE,
					"the records need more than %zu bytes", cap);
		out[*pos] = (uint8_t)ch;
		out[*pos + 1] = t->id;
		int rc = put_value(t, by_ch[ch], out + *pos + 2, ch, why, why_cap);
		if (rc != LB_OK)
			return rc;
		*pos += 2 + size;
	}
	return LB_OK;
}

/* Whether obj has type t, under its key or its old key, and its channels
 * object in *group; both keys at once is refused, as one type given twice. */
static int type_group_in(json_object *obj, const struct lpp_type *t, bool *has,
			 json_object **group, char *why, size_t why_cap)
{
	json_object *old = NULL;
	bool has_new = json_object_object_get_ex(obj, t->key, group);
	bool has_old = t->old_key && json_object_object_get_ex(obj, t->old_key, &old);

	if (has_new && has_old)
		return enc_fail(why, why_cap, LB_ERR_MALFORMED,
				"'%s' and '%s' are the same type; give one", t->key, t->old_key);
	if (has_old)
		*group = old;
	*has = has_new || has_old;
	return LB_OK;
}

int cayennelpp_encode(json_object *obj, uint8_t *out, size_t cap, size_t *len, char *why,
		      size_t why_cap)
{
	size_t pos = 0;

	if (why && why_cap > 0)
		why[0] = '\0';
	if (!obj || !len || (!out && cap > 0))
		return enc_fail(why, why_cap, LB_ERR_INVAL, "cayennelpp_encode: NULL argument");
	if (!json_object_is_type(obj, json_type_object))
		return enc_fail(why, why_cap, LB_ERR_INVAL, "the object is not a JSON object");
	json_object_object_foreach(obj, key, v) {
		(void)v;
		if (!type_by_key(key))
			return enc_fail(why, why_cap, LB_ERR_MALFORMED,
					"'%s' is not a Cayenne LPP type", key);
	}
	for (size_t i = 0; i < sizeof(lpp_types) / sizeof(lpp_types[0]); i++) {
		json_object *group = NULL;
		bool has = false;
		int rc = type_group_in(obj, &lpp_types[i], &has, &group, why, why_cap);
		if (rc != LB_OK)
			return rc;
		if (!has)
			continue;
		rc = put_type(&lpp_types[i], group, out, cap, &pos, why, why_cap);
		if (rc != LB_OK)
			return rc;
	}
	*len = pos;
	return LB_OK;
}
