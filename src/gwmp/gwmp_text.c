/* SPDX-License-Identifier: MIT */
/*
 * gwmp_text.c - the text forms shared by the GWMP framing and JSON code:
 * the padding some forwarders put around a JSON body,
 * the LoRa `datr` string and the rxpk `time` string (Semtech
 * PROTOCOL.TXT §4). Pure code: no
 * I/O, no clock, no logging.
 */
#include "gwmp/gwmp_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/lb_err.h"

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

/* LoRa data rate "SF{5..12}BW{125,250,500}" (PROTOCOL.TXT §4, datr); nothing else. */
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
	for (; *allowed != '\0'; allowed++) {
		if (**p == *allowed) {
			(*p)++;
			return true;
		}
	}
	return false;
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

/* The date and hour as one number, never 0 (the memo's "none"). */
static uint32_t hour_key(int y, int mo, int d, int h)
{
	return (((uint32_t)y * 16 + (uint32_t)mo) * 32 + (uint32_t)d) * 32 + (uint32_t)h;
}

/* timegm() of the hour's start; the minutes and seconds (each in range:
 * no leap second before the hour's end) added to it. */
static int64_t hour_start(int y, int mo, int d, int h, struct gwmp_time_memo *memo)
{
	uint32_t key = hour_key(y, mo, d, h);

	if (memo && memo->hour == key)
		return memo->hour_s;
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	int64_t t = (int64_t)timegm(&tm);
	if (memo) {
		memo->hour = key;
		memo->hour_s = t;
	}
	return t;
}

/* The two digits at s as 0..99, or -1; s[1] is read only when s[0] is a
 * digit (never past a NUL). */
static int two_digits(const char *s)
{
	unsigned a = (unsigned)((unsigned char)s[0] - '0'), b;

	if (a > 9)
		return -1;
	b = (unsigned)((unsigned char)s[1] - '0');
	return b > 9 ? -1 : (int)(a * 10 + b);
}

/* "YYYY-MM-DDTHH:MM:SS" at *p, each byte checked at its place (a byte is
 * read only once those before it matched); advances *p past it. */
static bool take_date_time(const char **p, int *y, int *mo, int *d, int *h, int *mi, int *sec)
{
	const char *s = *p;
	int hi, lo;

	if ((hi = two_digits(s)) < 0 || (lo = two_digits(s + 2)) < 0 || s[4] != '-' ||
	    (*mo = two_digits(s + 5)) < 0 || s[7] != '-' || (*d = two_digits(s + 8)) < 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || (*h = two_digits(s + 11)) < 0 ||
	    s[13] != ':' || (*mi = two_digits(s + 14)) < 0 || s[16] != ':' ||
	    (*sec = two_digits(s + 17)) < 0)
		return false;
	*y = hi * 100 + lo;
	*p = s + 19;
	return true;
}

int gwmp__time_parse_memo(const char *s, int64_t *us, struct gwmp_time_memo *memo)
{
	int64_t frac = 0, offset = 0, t;
	int y, mo, d, h, mi, sec;

	if (!take_date_time(&s, &y, &mo, &d, &h, &mi, &sec) || !take_fraction(&s, &frac) ||
	    !take_zone(&s, &offset) || *s != '\0')
		return LB_ERR_MALFORMED;
	if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return LB_ERR_MALFORMED;
	t = hour_start(y, mo, d, h, memo) + mi * 60 + sec - offset;
	if (t < 0 || t > TIME_MAX_S)
		return LB_ERR_MALFORMED;
	*us = t * US_PER_S + frac;
	return LB_OK;
}

int gwmp__time_parse(const char *s, int64_t *us)
{
	return gwmp__time_parse_memo(s, us, NULL);
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
