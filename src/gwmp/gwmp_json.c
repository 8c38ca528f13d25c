/* SPDX-License-Identifier: MIT */
/*
 * gwmp_json.c - reading the JSON bodies of the Semtech UDP protocol (json-c):
 * PUSH_DATA rxpk/stat (Semtech PROTOCOL.TXT §4), TX_ACK txpk_ack (§6) and
 * PULL_RESP txpk (§6, simulator and tests). Writing is in gwmp_json_write.c.
 * A PUSH_DATA of the plain shape every forwarder sends is read without a
 * json-c tree (gwmp_flat.h), through the same field readers; any other is
 * read by json-c, so both give the same result.
 *
 * Error convention for one object: a field of the wrong JSON type or a
 * missing required field is LB_ERR_JSON; a value of the right type that
 * cannot be used (unknown datr, frequency out of range, ...) is
 * LB_ERR_MALFORMED; `data` problems are LB_ERR_BASE64, LB_ERR_TOO_LARGE and
 * LB_ERR_SIZE_MISMATCH. The `stat` object is informational and read leniently:
 * a field of the wrong type or outside its range is left out and flagged
 * (gwmp_stat.dropped).
 */
#include "gwmp/gwmp_json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "gwmp/gwmp_flat.h"
#include "gwmp/gwmp_text.h"
#include "base/jsonobj.h"
#include "base/lb_err.h"

#define JSON_MAX_DEPTH 16
/* Largest integer a double holds exactly; integral doubles beyond are refused. */
#define DOUBLE_INT_MAX 9007199254740992.0
#define FREQ_MAX_MHZ 4294.967295 /* what fits in uint32 Hz */
#define RSSI_ABS_MAX 1000.0
#define LSNR_ABS_MAX 100.0

static int parse_root(const uint8_t *json, size_t len, json_object **out)
{
	*out = NULL;
	if (len > GWMP_MAX_DATAGRAM)
		return LB_ERR_TOO_LARGE;
	return jsonobj_parse((const char *)json, len, JSON_MAX_DEPTH, out);
}

/*
 * The readers below see an object through `struct obj`: a json-c object,
 * or one rxpk object read by the fast path (gwmp_json_fast.c) into a flat
 * list of scalar members. Either way the same rules apply to the values
 * (types and conversions as json-c gives them), so both paths fill a
 * gwmp_rxpk identically.
 */
struct obj {
	json_object *jo;                  /* or NULL and: */
	const struct gwmp__flat *flat;
	struct gwmp_time_memo *memo;      /* rxpk `time`'s hour; NULL: none */
};

/* One member's value: jo for json-c (NULL for JSON null), else fv. */
struct val {
	json_object *jo;
	const struct gwmp__fval *fv;
};

static enum json_type v_type(const struct val *v)
{
	if (!v->fv)
		return json_object_get_type(v->jo);
	switch (v->fv->kind) {
	case GWMP__F_STRING:
		return json_type_string;
	case GWMP__F_INT:
		return json_type_int;
	case GWMP__F_DOUBLE:
		return json_type_double;
	default:
		return json_type_boolean;
	}
}

static bool v_is(const struct val *v, enum json_type t)
{
	return v_type(v) == t;
}

static double v_double(const struct val *v)
{
	if (!v->fv)
		return json_object_get_double(v->jo);
	return v->fv->kind == GWMP__F_INT ? (double)v->fv->i : v->fv->d;
}

static int64_t v_int64(const struct val *v)
{
	return v->fv ? v->fv->i : json_object_get_int64(v->jo);
}

static const char *v_str(const struct val *v)
{
	return v->fv ? v->fv->s : json_object_get_string(v->jo);
}

static size_t v_strlen(const struct val *v)
{
	return v->fv ? v->fv->len : (size_t)json_object_get_string_len(v->jo);
}

static bool v_bool(const struct val *v)
{
	return v->fv ? v->fv->b : json_object_get_boolean(v->jo);
}

/* json_object_object_get_ex(): true if the key is there (also as null). */
static inline bool obj_get(const struct obj *o, const char *key, struct val *v)
{
	v->jo = NULL;
	v->fv = NULL;
	if (o->jo)
		return json_object_object_get_ex(o->jo, key, &v->jo);
	v->fv = gwmp__flat_get(o->flat, key);
	return v->fv != NULL;
}

static bool is_number(const struct val *v)
{
	return v_is(v, json_type_int) || v_is(v, json_type_double);
}

/* Field lookup shared by the getters below: with found == NULL the field is
 * required (absent -> LB_ERR_JSON), otherwise *found tells whether it is
 * there. JSON null counts as absent. Returns 1 when present, else the value
 * the getter returns. */
static inline int lookup(const struct obj *o, const char *key, bool *found, struct val *v)
{
	bool present = obj_get(o, key, v) && v_type(v) != json_type_null;

	if (found != NULL)
		*found = present;
	if (present)
		return 1;
	return found != NULL ? LB_OK : LB_ERR_JSON;
}

/* A finite number; LB_ERR_JSON for any other type. */
static inline int get_num(const struct obj *o, const char *key, bool *found, double *out)
{
	struct val v;
	int r = lookup(o, key, found, &v);

	if (r != 1)
		return r;
	if (!is_number(&v))
		return LB_ERR_JSON;
	*out = v_double(&v);
	return isfinite(*out) ? LB_OK : LB_ERR_JSON;
}

/* An integer in [min, max]. An integral double (e.g. 5.0) is accepted;
 * 5.5 is the wrong type (LB_ERR_JSON); out of range is LB_ERR_MALFORMED. */
static inline int get_int(const struct obj *o, const char *key, int64_t min, int64_t max, bool *found,
		   int64_t *out)
{
	struct val v;
	int64_t i;
	int r = lookup(o, key, found, &v);

	if (r != 1)
		return r;
	if (v_is(&v, json_type_int)) {
		i = v_int64(&v);
	} else if (v_is(&v, json_type_double)) {
		double d = v_double(&v);

		if (!(d > -DOUBLE_INT_MAX && d < DOUBLE_INT_MAX) || (double)(int64_t)d != d)
			return LB_ERR_JSON;
		i = (int64_t)d;
	} else {
		return LB_ERR_JSON;
	}
	if (i < min || i > max)
		return LB_ERR_MALFORMED;
	*out = i;
	return LB_OK;
}

static inline int get_str(const struct obj *o, const char *key, bool *found, const char **out)
{
	struct val v;
	int r = lookup(o, key, found, &v);

	if (r != 1)
		return r;
	if (!v_is(&v, json_type_string))
		return LB_ERR_JSON;
	*out = v_str(&v);
	return LB_OK;
}

static int get_bool(const struct obj *o, const char *key, bool *out)
{
	struct val v;
	bool found;

	if (lookup(o, key, &found, &v) != 1)
		return LB_OK;
	if (!v_is(&v, json_type_boolean))
		return LB_ERR_JSON;
	*out = v_bool(&v);
	return LB_OK;
}

/* `freq` in MHz with Hz precision (PROTOCOL.TXT §4, §6); rounded, not truncated. */
static int read_freq(const struct obj *o, uint32_t *hz)
{
	double mhz;
	int err = get_num(o, "freq", NULL, &mhz);

	if (err != LB_OK)
		return err;
	if (!(mhz > 0.0 && mhz <= FREQ_MAX_MHZ))
		return LB_ERR_MALFORMED;
	*hz = (uint32_t)(mhz * 1e6 + 0.5);
	return LB_OK;
}

/* `codr` "4/5".."4/8" -> 1..4; "2/3" and "1/2" are the aliases Semtech's
 * txpk parser accepts (lora_pkt_fwd.c); "OFF" -> 0 only where allowed (rxpk). */
static int parse_codr(const char *s, bool allow_off, uint8_t *cr)
{
	static const struct {
		const char *text;
		uint8_t cr;
	} codes[] = {{"4/5", 1}, {"4/6", 2}, {"2/3", 2}, {"4/7", 3}, {"4/8", 4}, {"1/2", 4}};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(s, codes[i].text) == 0) {
			*cr = codes[i].cr;
			return LB_OK;
		}
	}
	if (allow_off && strcmp(s, "OFF") == 0) {
		*cr = 0;
		return LB_OK;
	}
	return LB_ERR_MALFORMED;
}

static int parse_modu(const char *s, enum gwmp_modulation *m)
{
	if (strcmp(s, "LORA") == 0)
		*m = GWMP_MOD_LORA;
	else if (strcmp(s, "FSK") == 0)
		*m = GWMP_MOD_FSK;
	else if (strcmp(s, "LR-FHSS") == 0)
		*m = GWMP_MOD_LRFHSS;
	else
		return LB_ERR_MALFORMED;
	return LB_OK;
}

/* `modu` + `datr`: LoRa datr is a string, FSK datr a number in bit/s. When
 * `modu` is absent the type of `datr` decides. LR-FHSS datr ("M0CW137") is
 * kept opaque: sf/bw stay 0. */
static int read_datr(const struct obj *o, enum gwmp_modulation *modu, uint8_t *sf, uint16_t *bw,
		     uint32_t *bitrate)
{
	struct val d;
	const char *s = NULL;   /* set when found (some compilers cannot tell) */
	bool found;
	int64_t bps;
	int err = get_str(o, "modu", &found, &s);

	if (err != LB_OK)
		return err;
	if (!obj_get(o, "datr", &d))
		return LB_ERR_JSON;
	if (found)
		err = parse_modu(s, modu);
	else
		*modu = v_is(&d, json_type_string) ? GWMP_MOD_LORA : GWMP_MOD_FSK;
	if (err != LB_OK)
		return err;
	if (*modu == GWMP_MOD_FSK) {
		err = get_int(o, "datr", 1, UINT32_MAX, NULL, &bps);
		if (err == LB_OK)
			*bitrate = (uint32_t)bps;
		return err;
	}
	if (!v_is(&d, json_type_string))
		return LB_ERR_JSON;
	if (*modu == GWMP_MOD_LRFHSS)
		return LB_OK;
	return gwmp_parse_datr(v_str(&d), sf, bw);
}

/* `size` + `data`: the PHYPayload, ≤ 255 bytes, size must match (PROTOCOL.TXT §4). */
static int read_payload(const struct obj *o, uint8_t *data, uint16_t *size)
{
	struct val v;
	int64_t n;
	size_t got;
	int err = get_int(o, "size", 0, INT32_MAX, NULL, &n);

	if (err != LB_OK)
		return err;
	if (n > GWMP_MAX_PHY)
		return LB_ERR_TOO_LARGE;
	if (!obj_get(o, "data", &v) || !v_is(&v, json_type_string))
		return LB_ERR_JSON;
	err = b64_decode(v_str(&v), v_strlen(&v), data,
			 GWMP_MAX_PHY, &got);
	if (err != LB_OK)
		return err;
	if (got != (size_t)n)
		return LB_ERR_SIZE_MISMATCH;
	*size = (uint16_t)n;
	return LB_OK;
}

/* tmst, time, tmms (PROTOCOL.TXT §4); all optional. */
static int rxpk_timing(const struct obj *o, struct gwmp_rxpk *rx)
{
	const char *s;
	bool found;
	int64_t tmst = 0, tmms = 0;
	int err = get_int(o, "tmst", 0, UINT32_MAX, &found, &tmst);

	if (err == LB_OK)
		err = get_str(o, "time", &rx->has_time, &s);
	if (err == LB_OK && rx->has_time)
		err = gwmp__time_parse_memo(s, &rx->time_us, o->memo);
	if (err == LB_OK)
		err = get_int(o, "tmms", 0, INT64_MAX, &rx->has_tmms, &tmms);
	rx->tmst = (uint32_t)tmst;
	rx->tmms = (uint64_t)tmms;
	return err;
}

static int rxpk_radio(const struct obj *o, struct gwmp_rxpk *rx)
{
	bool found;
	int64_t rfch = 0, stat = 0; /* absent stat: "no CRC information" */
	int err = read_freq(o, &rx->freq_hz);

	if (err == LB_OK)
		err = get_int(o, "rfch", 0, UINT8_MAX, &found, &rfch);
	if (err == LB_OK)
		err = get_int(o, "stat", -1, 1, &found, &stat);
	rx->rfch = (int)rfch;
	rx->stat = (int)stat;
	return err;
}

static int rxpk_coding(const struct obj *o, struct gwmp_rxpk *rx)
{
	const char *s;
	bool found;
	int err = read_datr(o, &rx->modu, &rx->sf, &rx->bw_khz, &rx->bitrate);

	if (err != LB_OK || rx->modu != GWMP_MOD_LORA)
		return err;
	err = get_str(o, "codr", &found, &s);
	if (err == LB_OK && found)
		err = parse_codr(s, true, &rx->cr);
	return err;
}

static int round_int(double d)
{
	return d < 0 ? (int)(d - 0.5) : (int)(d + 0.5);
}

/* Signal fields of one object (top level or an rsig entry). Only fills
 * what the rxpk does not have yet, so the top level takes precedence. */
static int signal_fields(const struct obj *o, const char *rssi_key, struct gwmp_rxpk *rx,
			 bool *has_chan)
{
	bool found;
	int64_t chan;
	double d;
	int err = get_int(o, "chan", 0, UINT8_MAX, &found, &chan);

	if (err != LB_OK)
		return err;
	if (found && !*has_chan) {
		rx->chan = (int)chan;
		*has_chan = true;
	}
	if ((err = get_num(o, rssi_key, &found, &d)) != LB_OK)
		return err;
	if (found && !rx->has_rssi) {
		if (d < -RSSI_ABS_MAX || d > RSSI_ABS_MAX)
			return LB_ERR_MALFORMED;
		rx->rssi = round_int(d);
		rx->has_rssi = true;
	}
	if ((err = get_num(o, "lsnr", &found, &d)) != LB_OK)
		return err;
	if (found && !rx->has_lsnr) {
		if (d < -LSNR_ABS_MAX || d > LSNR_ABS_MAX)
			return LB_ERR_MALFORMED;
		rx->lsnr = (float)d;
		rx->has_lsnr = true;
	}
	return LB_OK;
}

/* chan/rssi/lsnr, falling back on the first `rsig` entry (Kerlink JSON v2,
 * as chirpstack-gateway-bridge and lorawan-stack read it): its rssis (signal
 * RSSI), else rssic (channel RSSI). */
static int rxpk_signal(const struct obj *o, struct gwmp_rxpk *rx)
{
	json_object *rsig, *first;
	bool has_chan = false;
	int err = signal_fields(o, "rssi", rx, &has_chan);

	/* the fast path reads only scalar members: an rsig goes to json-c */
	if (err != LB_OK || !o->jo || !json_object_object_get_ex(o->jo, "rsig", &rsig))
		return err;
	if (!json_object_is_type(rsig, json_type_array))
		return LB_ERR_JSON;
	if (json_object_array_length(rsig) == 0)
		return LB_OK;
	first = json_object_array_get_idx(rsig, 0);
	if (!json_object_is_type(first, json_type_object))
		return LB_ERR_JSON;
	struct obj f = {.jo = first};
	err = signal_fields(&f, "rssis", rx, &has_chan);
	if (err == LB_OK)
		err = signal_fields(&f, "rssic", rx, &has_chan);
	return err;
}

static int rxpk_parse(const struct obj *o, struct gwmp_rxpk *rx)
{
	int err;

	memset(rx, 0, sizeof(*rx));
	if (o->jo && !json_object_is_type(o->jo, json_type_object))
		return LB_ERR_JSON;
	if ((err = rxpk_timing(o, rx)) != LB_OK || (err = rxpk_radio(o, rx)) != LB_OK ||
	    (err = rxpk_coding(o, rx)) != LB_OK || (err = rxpk_signal(o, rx)) != LB_OK)
		return err;
	return read_payload(o, rx->data, &rx->size);
}

/* What a `stat` number must be (gwmp_json.h), indexed by enum gwmp_stat_field. */
static const struct stat_rule {
	const char *key;
	double min, max;
	bool whole;                  /* a counter: whole, read with get_int */
} stat_rules[GWMP_STAT__COUNT] = {
	[GWMP_STAT_LATI] = {"lati", -GWMP_STAT_LATI_MAX, GWMP_STAT_LATI_MAX, false},
	[GWMP_STAT_LONG] = {"long", -GWMP_STAT_LONG_MAX, GWMP_STAT_LONG_MAX, false},
	[GWMP_STAT_ALTI] = {"alti", GWMP_STAT_ALTI_MIN, GWMP_STAT_ALTI_MAX, false},
	[GWMP_STAT_RXNB] = {"rxnb", 0, UINT32_MAX, true},
	[GWMP_STAT_RXOK] = {"rxok", 0, UINT32_MAX, true},
	[GWMP_STAT_RXFW] = {"rxfw", 0, UINT32_MAX, true},
	[GWMP_STAT_ACKR] = {"ackr", 0, GWMP_STAT_ACKR_MAX, false},
	[GWMP_STAT_DWNB] = {"dwnb", 0, UINT32_MAX, true},
	[GWMP_STAT_TXNB] = {"txnb", 0, UINT32_MAX, true},
	[GWMP_STAT_TEMP] = {"temp", GWMP_STAT_TEMP_MIN, GWMP_STAT_TEMP_MAX, false},
};

/* One `stat` number: true when usable (*out set); false when absent, or
 * when present but unusable (its bit then set in st->dropped). */
static bool stat_field(const struct obj *o, enum gwmp_stat_field f, struct gwmp_stat *st,
		       double *out)
{
	const struct stat_rule *r = &stat_rules[f];
	bool found;
	int err;

	if (r->whole) {
		int64_t i = 0;
		err = get_int(o, r->key, (int64_t)r->min, (int64_t)r->max, &found, &i);
		*out = (double)i;
	} else {
		err = get_num(o, r->key, &found, out);  /* non-finite: LB_ERR_JSON */
		if (err == LB_OK && found && !(*out >= r->min && *out <= r->max))
			err = LB_ERR_RANGE;
	}
	if (err == LB_OK && found)
		return true;
	*out = 0;
	if (err != LB_OK)
		st->dropped |= GWMP_STAT_BIT(f);
	return false;
}

unsigned gwmp_stat_dropped_keys(unsigned dropped, char *out, size_t cap)
{
	unsigned n = 0;
	size_t len = 0;

	if (cap)
		out[0] = '\0';
	for (int f = 0; f < GWMP_STAT__COUNT; f++) {
		if (!(dropped & GWMP_STAT_BIT(f)))
			continue;
		if (cap && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s%s", n ? "," : "",
						stat_rules[f].key);
		n++;
	}
	return n;
}

static void stat_parse(const struct obj *o, struct gwmp_stat *st)
{
	double v[GWMP_STAT__COUNT];
	bool ok[GWMP_STAT__COUNT];
	const char *s;
	bool found;

	if (get_str(o, "time", &found, &s) == LB_OK && found && strlen(s) < sizeof(st->time)) {
		memcpy(st->time, s, strlen(s) + 1);
		st->has_time = true;
	}
	for (int f = 0; f < GWMP_STAT__COUNT; f++)
		ok[f] = stat_field(o, (enum gwmp_stat_field)f, st, &v[f]);
	st->has_location = ok[GWMP_STAT_LATI] && ok[GWMP_STAT_LONG];
	if (st->has_location) {
		st->lati = v[GWMP_STAT_LATI];
		st->lon = v[GWMP_STAT_LONG];
	}
	st->has_alti = ok[GWMP_STAT_ALTI];
	st->alti = (int)v[GWMP_STAT_ALTI];
	st->rxnb = (uint32_t)v[GWMP_STAT_RXNB];
	st->rxok = (uint32_t)v[GWMP_STAT_RXOK];
	st->rxfw = (uint32_t)v[GWMP_STAT_RXFW];
	st->dwnb = (uint32_t)v[GWMP_STAT_DWNB];
	st->txnb = (uint32_t)v[GWMP_STAT_TXNB];
	st->ackr = v[GWMP_STAT_ACKR];
	st->has_temp = ok[GWMP_STAT_TEMP];
	st->temp = v[GWMP_STAT_TEMP];
}

/* The plain datagrams every forwarder sends, without a json-c tree
 * (gwmp_flat.h): true when done, false when json-c must read it. The
 * rxpk entries written before a false are overwritten by that reading. */
static bool parse_push_flat(const uint8_t *json, size_t len, struct gwmp_push *out,
			    struct gwmp_time_memo *memo)
{
	struct gwmp__scan sc;
	struct gwmp__flat f;
	struct obj o = {.flat = &f, .memo = memo};
	size_t n = 0;
	int rc;

	if (gwmp__scan_begin(&sc, json, len) != GWMP__FLAT_OBJECT)
		return false;
	while ((rc = gwmp__scan_next(&sc, &f)) == GWMP__FLAT_OBJECT) {
		if (n < GWMP_MAX_RXPK)
			out->rxpk_err[n] = rxpk_parse(&o, &out->rxpk[n]);
		n++;
	}
	if (rc != GWMP__FLAT_END)
		return false;
	out->n_rxpk = n < GWMP_MAX_RXPK ? n : GWMP_MAX_RXPK;
	out->n_rxpk_excess = n - out->n_rxpk;
	return true;
}

int gwmp_parse_push(const uint8_t *json, size_t len, struct gwmp_push *out)
{
	return gwmp_parse_push_memo(json, len, out, NULL);
}

int gwmp_parse_push_memo(const uint8_t *json, size_t len, struct gwmp_push *out,
			 struct gwmp_time_memo *memo)
{
	json_object *root, *rxpk = NULL, *stat = NULL;
	size_t n;
	int err;

	/* Not the whole 10 KiB: each rxpk is cleared as it is parsed, the
	 * stat when present; entries beyond n_rxpk are never read. */
	out->n_rxpk = out->n_rxpk_excess = 0;
	out->has_stat = false;
	memset(&out->stat, 0, sizeof(out->stat));
	if (len <= GWMP_MAX_DATAGRAM && parse_push_flat(json, len, out, memo))
		return LB_OK;
	if ((err = parse_root(json, len, &root)) != LB_OK)
		return err;
	if ((json_object_object_get_ex(root, "rxpk", &rxpk) &&
	     !json_object_is_type(rxpk, json_type_array)) ||
	    (json_object_object_get_ex(root, "stat", &stat) &&
	     !json_object_is_type(stat, json_type_object))) {
		json_object_put(root);
		return LB_ERR_JSON;
	}
	n = rxpk != NULL ? json_object_array_length(rxpk) : 0;
	out->n_rxpk = n < GWMP_MAX_RXPK ? n : GWMP_MAX_RXPK;
	out->n_rxpk_excess = n - out->n_rxpk;
	for (size_t i = 0; i < out->n_rxpk; i++) {
		struct obj o = {.jo = json_object_array_get_idx(rxpk, i), .memo = memo};
		/* a non-object element (null too) is this rxpk's LB_ERR_JSON */
		if (!o.jo) {
			memset(&out->rxpk[i], 0, sizeof(out->rxpk[i]));
			out->rxpk_err[i] = LB_ERR_JSON;
			continue;
		}
		out->rxpk_err[i] = rxpk_parse(&o, &out->rxpk[i]);
	}
	if (stat != NULL) {
		struct obj o = {.jo = stat};
		out->has_stat = true;
		stat_parse(&o, &out->stat);
	}
	json_object_put(root);
	return LB_OK;
}

static void copy_bounded(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* PROTOCOL.TXT §6, sx1302_hal PROTOCOL.md: error/warn strings, value as
 * number or numeric string. */
static int txack_fields(const struct obj *ack, struct gwmp_txack *out)
{
	struct val v;
	const char *s;
	bool found;
	int64_t num;
	int err = get_str(ack, "error", &found, &s);

	if (err != LB_OK)
		return err;
	if (found && strcmp(s, "NONE") != 0)
		copy_bounded(out->error, sizeof(out->error), s);
	if ((err = get_str(ack, "warn", &found, &s)) != LB_OK)
		return err;
	if (found)
		copy_bounded(out->warn, sizeof(out->warn), s);
	if (!obj_get(ack, "value", &v))
		return LB_OK;
	if (v_is(&v, json_type_string)) {
		char *end;
		/* long long: strtol would clamp at INT_MAX where long is 32 bits */
		long long l = strtoll(v_str(&v), &end, 10);

		out->has_value = end != v_str(&v) && *end == '\0' &&
				 l >= INT_MIN && l <= INT_MAX;
		out->value = out->has_value ? (int)l : 0;
		return LB_OK;
	}
	err = get_int(ack, "value", INT_MIN, INT_MAX, &found, &num);
	out->has_value = err == LB_OK && found;
	out->value = out->has_value ? (int)num : 0;
	return err;
}

int gwmp_parse_txack(const uint8_t *json, size_t len, struct gwmp_txack *out)
{
	json_object *root, *ack;
	int err;

	memset(out, 0, sizeof(*out));
	if (json != NULL)
		gwmp__trim(&json, &len);
	if (json == NULL || len == 0)
		return LB_OK; /* v4.0.1 success: no JSON at all */
	if ((err = parse_root(json, len, &root)) != LB_OK)
		return err;
	if (!json_object_object_get_ex(root, "txpk_ack", &ack) ||
	    !json_object_is_type(ack, json_type_object))
		err = LB_ERR_JSON;
	else
		err = txack_fields(&(struct obj){.jo = ack}, out);
	json_object_put(root);
	if (err != LB_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/* imme/tmst/tmms: one of imme:true, tmst, tmms is required (lora_pkt_fwd.c
 * v4.0.1 thread_down). */
static int txpk_timing(const struct obj *o, struct gwmp_txpk *tx)
{
	int64_t tmst = 0, tmms = 0;
	int err = get_bool(o, "imme", &tx->imme);

	if (err == LB_OK)
		err = get_int(o, "tmst", 0, UINT32_MAX, &tx->has_tmst, &tmst);
	if (err == LB_OK)
		err = get_int(o, "tmms", 0, INT64_MAX, &tx->has_tmms, &tmms);
	tx->tmst = (uint32_t)tmst;
	tx->tmms = (uint64_t)tmms;
	if (err == LB_OK && !tx->imme && !tx->has_tmst && !tx->has_tmms)
		err = LB_ERR_JSON;
	return err;
}

static int txpk_radio(const struct obj *o, struct gwmp_txpk *tx)
{
	const char *s;
	bool found;
	int64_t rfch = 0, powe = 0, fdev = 0; /* absent powe: 0 dBm requested (lora_pkt_fwd.c) */
	int err = read_freq(o, &tx->freq_hz);

	if (err == LB_OK)
		err = get_int(o, "rfch", 0, UINT8_MAX, NULL, &rfch);
	if (err == LB_OK)
		err = get_int(o, "powe", -128, 127, &found, &powe);
	tx->rfch = (int)rfch;
	tx->powe = (int)powe;
	if (err == LB_OK)
		err = get_str(o, "modu", NULL, &s); /* required in a txpk */
	if (err != LB_OK || (err = read_datr(o, &tx->modu, &tx->sf, &tx->bw_khz,
					     &tx->bitrate)) != LB_OK)
		return err;
	if (tx->modu == GWMP_MOD_LRFHSS)
		return LB_ERR_MALFORMED; /* not a txpk modulation in PROTOCOL.TXT §6 */
	if (tx->modu == GWMP_MOD_FSK) {
		err = get_int(o, "fdev", 1, UINT32_MAX, NULL, &fdev);
		tx->fdev = (uint32_t)fdev;
		return err;
	}
	if ((err = get_str(o, "codr", NULL, &s)) != LB_OK)
		return err;
	return parse_codr(s, false, &tx->cr);
}

static int txpk_parse(const struct obj *o, struct gwmp_txpk *tx)
{
	bool found;
	int64_t prea = 0; /* 0: forwarder default */
	int err;

	if ((err = txpk_timing(o, tx)) != LB_OK || (err = txpk_radio(o, tx)) != LB_OK ||
	    (err = get_bool(o, "ipol", &tx->ipol)) != LB_OK ||
	    (err = get_bool(o, "ncrc", &tx->ncrc)) != LB_OK ||
	    (err = get_int(o, "prea", 0, UINT16_MAX, &found, &prea)) != LB_OK)
		return err;
	tx->prea = (int)prea;
	return read_payload(o, tx->data, &tx->size);
}

int gwmp_parse_pull_resp(const uint8_t *json, size_t len, struct gwmp_txpk *out)
{
	json_object *root, *txpk;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = parse_root(json, len, &root)) != LB_OK)
		return err;
	if (!json_object_object_get_ex(root, "txpk", &txpk) ||
	    !json_object_is_type(txpk, json_type_object))
		err = LB_ERR_JSON;
	else
		err = txpk_parse(&(struct obj){.jo = txpk}, out);
	json_object_put(root);
	if (err != LB_OK)
		memset(out, 0, sizeof(*out));
	return err;
}
