/*
 * gwmp.c - binary framing of the Semtech UDP protocol (GWMP v1/v2).
 *
 * Header layouts are drawn in gwmp.h; the protocol is summarised in
 * Semtech PROTOCOL.TXT §3 and §5; also the LoRa `datr` text and the
 * rxpk `time` text, which both JSON readers and writers need. The JSON bodies
 * are in gwmp_json.c (reading) and gwmp_json_write.c (writing). Pure code:
 * no I/O, no clock, no logging.
 */
#include "gwmp/gwmp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gwmp/gwmp_int.h"
#include "base/lb_err.h"

#define VERSION_MIN 1
#define VERSION_MAX 2

static bool is_json_pad(uint8_t c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void gwmp__trim(const uint8_t **p, size_t *len)
{
	const uint8_t *s = *p;
	size_t n = *len;

	while (n > 0 && is_json_pad(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_json_pad(s[n - 1]))
		n--;
	*p = s;
	*len = n;
}

/* PROTOCOL.TXT §3.2, §5.4: the JSON body starts with '{' and ends with '}'. */
static bool looks_like_object(const uint8_t *s, size_t n)
{
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

static uint64_t read_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void write_be64(uint8_t *p, uint64_t v)
{
	for (size_t i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Only the gateway->server types carry an EUI and are accepted here
 * (PROTOCOL.TXT §3.2, §5.2, §5.5). */
static bool is_upstream_type(uint8_t ident)
{
	return ident == GWMP_PUSH_DATA || ident == GWMP_PULL_DATA || ident == GWMP_TX_ACK;
}

static int parse_body(const uint8_t *buf, size_t len, struct gwmp_header *out)
{
	const uint8_t *json = buf + GWMP_OFF_JSON_UP;
	size_t json_len = len - GWMP_OFF_JSON_UP;

	/* PULL_DATA has no body; anything after the EUI is ignored. */
	if (out->type == GWMP_PULL_DATA)
		return LB_OK;
	gwmp__trim(&json, &json_len);
	if (json_len == 0) {
		/* A TX_ACK without JSON is success (PROTOCOL.TXT §5.5). */
		return out->type == GWMP_TX_ACK ? LB_OK : LB_ERR_JSON;
	}
	if (!looks_like_object(json, json_len))
		return LB_ERR_JSON;
	out->json = json;
	out->json_len = json_len;
	return LB_OK;
}

int gwmp_parse_header(const uint8_t *buf, size_t len, struct gwmp_header *out)
{
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < GWMP_LEN_HDR)
		return LB_ERR_TOO_SHORT;
	if (len > GWMP_MAX_DATAGRAM)
		return LB_ERR_TOO_LARGE;
	if (buf[GWMP_OFF_VERSION] < VERSION_MIN || buf[GWMP_OFF_VERSION] > VERSION_MAX)
		return LB_ERR_VERSION;
	if (!is_upstream_type(buf[GWMP_OFF_IDENT]))
		return LB_ERR_UNKNOWN_TYPE;
	if (len < GWMP_LEN_HDR_EUI)
		return LB_ERR_TOO_SHORT;

	out->version = buf[GWMP_OFF_VERSION];
	memcpy(out->token, buf + GWMP_OFF_TOKEN, GWMP_LEN_TOKEN);
	out->type = (enum gwmp_type)buf[GWMP_OFF_IDENT];
	out->gateway_eui = read_be64(buf + GWMP_OFF_EUI);
	return parse_body(buf, len, out);
}

size_t gwmp_build_ack(const struct gwmp_header *req, uint8_t out[GWMP_LEN_HDR])
{
	uint8_t ident;

	if (req->type == GWMP_PUSH_DATA)
		ident = GWMP_PUSH_ACK;
	else if (req->type == GWMP_PULL_DATA)
		ident = GWMP_PULL_ACK;
	else
		return 0; /* TX_ACK is not acknowledged (PROTOCOL.TXT §5.1) */
	out[GWMP_OFF_VERSION] = req->version;
	memcpy(out + GWMP_OFF_TOKEN, req->token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = ident;
	return GWMP_LEN_HDR;
}

int gwmp_build_pull_resp(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct gwmp_txpk *tx, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t limit = cap < GWMP_MAX_PULL_RESP ? cap : GWMP_MAX_PULL_RESP;
	size_t json_len;
	int err;

	*out_len = 0;
	if (version < VERSION_MIN || version > VERSION_MAX || tx == NULL || out == NULL)
		return LB_ERR_INVAL;
	if (limit <= GWMP_OFF_JSON_DOWN)
		return LB_ERR_TOO_LARGE;
	err = gwmp__txpk_json(tx, (char *)out + GWMP_OFF_JSON_DOWN,
			      limit - GWMP_OFF_JSON_DOWN, &json_len);
	if (err != LB_OK)
		return err;
	out[GWMP_OFF_VERSION] = version;
	memcpy(out + GWMP_OFF_TOKEN, token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = GWMP_PULL_RESP;
	*out_len = GWMP_OFF_JSON_DOWN + json_len;
	return LB_OK;
}

int gwmp_build_up(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN], enum gwmp_type type,
		  uint64_t gateway_eui, const char *json, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t json_len = json != NULL ? strlen(json) : 0;

	*out_len = 0;
	if (version < VERSION_MIN || version > VERSION_MAX || !is_upstream_type((uint8_t)type))
		return LB_ERR_INVAL;
	if (cap < GWMP_LEN_HDR_EUI || json_len > cap - GWMP_LEN_HDR_EUI)
		return LB_ERR_TOO_LARGE;
	out[GWMP_OFF_VERSION] = version;
	memcpy(out + GWMP_OFF_TOKEN, token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = (uint8_t)type;
	write_be64(out + GWMP_OFF_EUI, gateway_eui);
	if (json_len > 0)
		memcpy(out + GWMP_OFF_JSON_UP, json, json_len);
	*out_len = GWMP_LEN_HDR_EUI + json_len;
	return LB_OK;
}

void gwmp_eui_str(uint64_t eui, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, eui);
}

/* Parse an unsigned decimal of 1..3 digits at *p; advances *p. */
static bool parse_small_uint(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	while (n < 3 && s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0)
		return false;
	*p = s + n;
	*out = v;
	return true;
}

/* LoRa data rate "SF{5..12}BW{125,250,500}" (PROTOCOL.TXT §4 datr); nothing else. */
int gwmp_parse_datr(const char *s, uint8_t *sf, uint16_t *bw_khz)
{
	unsigned v_sf, v_bw;

	if (s == NULL || strncmp(s, "SF", 2) != 0)
		return LB_ERR_MALFORMED;
	s += 2;
	if (!parse_small_uint(&s, &v_sf) || strncmp(s, "BW", 2) != 0)
		return LB_ERR_MALFORMED;
	s += 2;
	if (!parse_small_uint(&s, &v_bw) || *s != '\0')
		return LB_ERR_MALFORMED;
	if (v_sf < 5 || v_sf > 12)
		return LB_ERR_MALFORMED;
	if (v_bw != 125 && v_bw != 250 && v_bw != 500)
		return LB_ERR_MALFORMED;
	*sf = (uint8_t)v_sf;
	*bw_khz = (uint16_t)v_bw;
	return LB_OK;
}

/* ------------------------------------------------------------ rxpk `time` */

#define US_PER_S 1000000LL
#define FRAC_DIGITS 6
#define YEAR_MIN 1970
#define YEAR_MAX 9999
#define TIME_MAX_S 253402300799LL /* 9999-12-31T23:59:59Z */

/* Exactly n decimal digits at *p; advances *p only on success. */
static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool take_char(const char **p, const char *allowed)
{
	if (**p == '\0' || strchr(allowed, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* ".528002" -> 528002 µs; digits beyond the sixth are dropped. */
static bool take_fraction(const char **p, int64_t *us)
{
	int64_t v = 0;
	int n = 0;

	if (**p != '.')
		return true;
	(*p)++;
	while (**p >= '0' && **p <= '9') {
		if (n < FRAC_DIGITS) {
			v = v * 10 + (**p - '0');
			n++;
		}
		(*p)++;
	}
	if (n == 0)
		return false;
	for (; n < FRAC_DIGITS; n++)
		v *= 10;
	*us = v;
	return true;
}

/* 'Z' or ±hh:mm; *offset_s is what to subtract to get UTC. */
static bool take_zone(const char **p, int64_t *offset_s)
{
	int sign, hh, mm;

	if (take_char(p, "Zz")) {
		*offset_s = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &hh) || !take_char(p, ":") || !take_digits(p, 2, &mm) ||
	    hh > 23 || mm > 59)
		return false;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return true;
}

int gwmp__time_parse(const char *s, int64_t *us)
{
	struct tm tm = {0};
	int64_t frac = 0, offset = 0, t;
	int y, mo, d, h, mi, sec;

	if (!take_digits(&s, 4, &y) || !take_char(&s, "-") || !take_digits(&s, 2, &mo) ||
	    !take_char(&s, "-") || !take_digits(&s, 2, &d) || !take_char(&s, "Tt ") ||
	    !take_digits(&s, 2, &h) || !take_char(&s, ":") || !take_digits(&s, 2, &mi) ||
	    !take_char(&s, ":") || !take_digits(&s, 2, &sec) || !take_fraction(&s, &frac) ||
	    !take_zone(&s, &offset) || *s != '\0')
		return LB_ERR_MALFORMED;
	if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return LB_ERR_MALFORMED;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - offset;
	if (t < 0 || t > TIME_MAX_S)
		return LB_ERR_MALFORMED;
	*us = t * US_PER_S + frac;
	return LB_OK;
}

int gwmp__time_format(int64_t us, char *out, size_t cap)
{
	struct tm tm;
	time_t t;
	int n;

	if (us < 0 || us / US_PER_S > TIME_MAX_S)
		return LB_ERR_INVAL;
	if (cap < GWMP_TIME_LEN + 1)
		return LB_ERR_TOO_LARGE;
	t = (time_t)(us / US_PER_S);
	if (gmtime_r(&t, &tm) == NULL)
		return LB_ERR_INVAL;
	n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (int)(us % US_PER_S));
	return n == GWMP_TIME_LEN ? LB_OK : LB_ERR_INVAL;
}
