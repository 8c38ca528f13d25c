/* SPDX-License-Identifier: MIT */
/* jsonw.c - JSON written straight into a buffer. See jsonw.h. */
#include "base/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

/* 10^0 .. 10^9, each exact as a double. */
static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
#define FIXED_DECIMALS_MAX 6
#define SHORT_DECIMALS_MAX 9
/* Below 2^52 a double's integer part and fraction are exact. */
#define EXACT_MAX 4503599627370496.0

void jsonw_init(struct jsonw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->full = cap == 0;
}

int jsonw_finish(struct jsonw *w, size_t *len)
{
	*len = 0;
	if (w->full || w->len + 1 > w->cap) {
		if (w->cap > 0)
			w->buf[0] = '\0';
		return LB_ERR_TOO_LARGE;
	}
	w->buf[w->len] = '\0';
	*len = w->len;
	return LB_OK;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->full || n >= w->cap - w->len) {   /* room for the NUL kept */
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void put_c(struct jsonw *w, char c)
{
	put(w, &c, 1);
}

/* A comma before a key or an element unless it opens its container. */
static void sep(struct jsonw *w)
{
	if (w->len > 0 && !w->full) {
		char last = w->buf[w->len - 1];
		if (last != '{' && last != '[' && last != ':')
			put_c(w, ',');
	}
}

void jsonw_open(struct jsonw *w, char brace)
{
	sep(w);
	put_c(w, brace);
}

void jsonw_close(struct jsonw *w, char brace)
{
	put_c(w, brace);
}

/* n bytes that are known to fit (fits()). */
static void put_fit(struct jsonw *w, const char *s, size_t n)
{
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Room for n more bytes and the NUL; when not, the writer is full. */
static bool fits(struct jsonw *w, size_t n)
{
	if (w->full || n >= w->cap - w->len) {
		w->full = true;
		return false;
	}
	return true;
}

void jsonw_keyn(struct jsonw *w, const char *key, size_t n)
{
	sep(w);
	if (!fits(w, n + 3))
		return;
	put_fit(w, "\"", 1);
	put_fit(w, key, n);
	put_fit(w, "\":", 2);
}

/*
 * What json-c's json_escape_str() (JSON_C_TO_STRING_NOSLASHESCAPE) writes
 * for a byte, after a '\\': the letter of its short escape, 'u' for
 * \u00xx (the other control characters), 0 when the byte goes as is.
 */
static const char escape_tab[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"', ['\\'] = '\\',
};

/* The escape of byte c (escape_tab[c] != 0) into e: its length. */
static size_t escape_of(unsigned char c, char e[6])
{
	static const char hex[] = "0123456789abcdef";

	e[0] = '\\';
	e[1] = escape_tab[c];
	if (e[1] != 'u')
		return 2;
	memcpy(e + 2, "00", 2);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 0xf];
	return 6;
}

/* Eight bytes at a time: the bytes of word x below ' ', '"' or '\\', each
 * flagged by its high bit (the "has a zero byte" and "has a byte less than
 * n" tests of S. E. Anderson's Bit Twiddling Hacks). A borrow only starts
 * at a flagged byte, so the first flagged byte in memory is a true one;
 * those after it may not be. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static uint64_t word_escapes(uint64_t x)
{
	uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');

	return (((x - ONES * ' ') & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/* The first byte of s[0..n) that needs an escape, or n: byte by byte. */
static size_t clean_run_bytes(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !escape_tab[(unsigned char)s[i]])
		i++;
	return i;
}

/* Where in word x (the eight bytes at s + at) the first byte needing an
 * escape is, given that there is one: at + its index on a little-endian
 * machine (the first flagged byte is a true one), else at (the caller
 * looks byte by byte from there). */
static size_t first_escape(uint64_t x, size_t at)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return at + (size_t)__builtin_ctzll(word_escapes(x)) / 8;
#else
	(void)x;
	return at;
#endif
}

/* The first byte of s[0..n) that needs an escape, or n: eight bytes at a
 * time, the last (partial) eight read as the last eight bytes of s, then
 * byte by byte from the word that holds it. */
static size_t clean_run(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t x = 0;

	if (n < sizeof(x))
		return clean_run_bytes(s, n);
	for (; n - i >= sizeof(x); i += sizeof(x)) {
		memcpy(&x, s + i, sizeof(x));
		if (word_escapes(x) != 0)
			break;
	}
	if (n - i < sizeof(x)) {
		if (i == n)
			return n;
		/* the last eight bytes; those before the old i are clean, so
		 * a first flag here is at the old i or after */
		i = n - sizeof(x);
		memcpy(&x, s + i, sizeof(x));
		if (word_escapes(x) == 0)
			return n;
	}
	i = first_escape(x, i);   /* x, at i, holds one; none before i */
	return i + clean_run_bytes(s + i, n - i);
}

/* s[0..n) between quotes: the runs that need no escape copied whole. */
static void escaped(struct jsonw *w, const char *s, size_t n)
{
	size_t i = clean_run(s, n);

	if (i == n) {                       /* mostly: nothing to escape */
		if (fits(w, n + 2)) {
			put_fit(w, "\"", 1);
			put_fit(w, s, n);
			put_fit(w, "\"", 1);
		}
		return;
	}
	put_c(w, '"');
	put(w, s, i);
	while (i < n) {
		char e[6];
		put(w, e, escape_of((unsigned char)s[i], e));
		size_t start = ++i;
		i += clean_run(s + i, n - i);
		put(w, s + start, i - start);
	}
	put_c(w, '"');
}

void jsonw_key_esc(struct jsonw *w, const char *key)
{
	sep(w);
	escaped(w, key, strlen(key));
	put_c(w, ':');
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	escaped(w, s, n);
}

void jsonw_strn_plain(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	if (fits(w, n + 2)) {
		put_fit(w, "\"", 1);
		put_fit(w, s, n);
		put_fit(w, "\"", 1);
	}
}

void jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s ? s : "", s ? strlen(s) : 0);
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	put(w, s, n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

/* --- numbers ------------------------------------------------------------- */

/* "00" .. "99": two digits per division. */
const char jsonw__digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t jsonw_fmt_u64(char *out, uint64_t v)
{
	size_t n = jsonw__ndigits(v);

	jsonw__digits(out + n, v);
	return n;
}

size_t jsonw_fmt_i64(char *out, int64_t v)
{
	if (v >= 0)
		return jsonw_fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + jsonw_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

/* m / 10^d as text with exactly d decimals (m >= 0). */
static size_t fmt_scaled(char *out, uint64_t m, int d)
{
	uint64_t p = (uint64_t)pow10_tab[d];
	size_t n = jsonw_fmt_u64(out, m / p);

	if (d > 0) {
		out[n++] = '.';
		jsonw_fmt_pad(out + n, (unsigned)(m % p), d);
		n += (size_t)d;
	}
	return n;
}

/*
 * round(x) for x = |v| * 10^d, computed with one rounding (10^d is exact):
 * |x - exact| <= |x| * 2^-53. Where the exact value may lie on the other
 * side of a half than x, printf's correct rounding is not known here:
 * false, and the caller falls back on printf.
 */
static bool scaled_round(double x, uint64_t *m)
{
	if (!(x < EXACT_MAX))
		return false;
	double fl = floor(x), frac = x - fl;
	if (fabs(frac - 0.5) <= x * 0x1p-51 + 0x1p-60)
		return false;
	*m = (uint64_t)fl + (frac > 0.5);
	return true;
}

size_t jsonw_fmt_fixed(char *out, double v, int decimals)
{
	uint64_t m;
	size_t n = 0;

	if (!isfinite(v) || decimals < 0 || decimals > FIXED_DECIMALS_MAX)
		return 0;
	double a = fabs(v);
	if (!scaled_round(a * pow10_tab[decimals], &m))
		return 0;
	if (signbit(v))
		out[n++] = '-';    /* printf keeps the sign of -0.0 and of what rounds to 0 */
	return n + fmt_scaled(out + n, m, decimals);
}

/* Reads (double)m / 10^d back as a? The division is correctly rounded (m
 * and 10^d exact), as strtod reads the text of m / 10^d. */
static bool reads_back(uint64_t m, int d, double a, bool is_float)
{
	double back = (double)m / pow10_tab[d];

	return is_float ? (float)back == (float)a : back == a;
}

/*
 * x = a * 10^d near a half, where printf's rounding to d decimals is not
 * known (scaled_round()): if neither neighbour floor(x), floor(x) + 1 reads
 * back as a, no text with d decimals does, whichever way printf rounds, and
 * the search goes on with d + 1 (true). Below 2^40 the half is within 2^-11
 * of x, so floor(x) is the exact value's lower neighbour. Else false.
 */
static bool tie_passes(double x, int d, double a, bool is_float)
{
	if (!(x < 0x1p40))
		return false;
	uint64_t fl = (uint64_t)floor(x);
	return !reads_back(fl, d, a, is_float) && !reads_back(fl + 1, d, a, is_float);
}

size_t jsonw_fmt_short(char *out, double v, bool is_float)
{
	double a = fabs(v);
	size_t n = 0;

	if (!isfinite(v) || a < 1e-4 || a >= 1e9 || a == floor(a))
		return 0;
	/* A float that is not one: "%g" may then read back with fewer digits. */
	if (is_float && (double)(float)v != v)
		return 0;
	if (signbit(v))
		out[n++] = '-';
	for (int d = 1; d <= SHORT_DECIMALS_MAX; d++) {
		uint64_t m;
		double x = a * pow10_tab[d];
		if (!scaled_round(x, &m)) {
			/* 46.245 at 2 decimals: a half, but neither 46.24 nor 46.25 */
			if (tie_passes(x, d, a, is_float))
				continue;
			return 0;
		}
		if (!reads_back(m, d, a, is_float))
			continue;
		size_t k = fmt_scaled(out + n, m, d);
		while (out[n + k - 1] == '0')             /* %g drops trailing zeros */
			k--;
		if (out[n + k - 1] == '.')
			k--;
		return n + k;
	}
	return 0;
}

/* serde's fixed notation (ryu's format64) reaches 10^16 (exclusive) and
 * down to 10^-5; for an f32 (format32), 10^13 and 10^-6. */
#define SERDE_FIXED_KK_MAX 16
#define SERDE_FIXED_KK_MIN (-4)
#define SERDE_F32_KK_MAX 13
#define SERDE_F32_KK_MIN (-5)

static size_t serde_digits(char *out, const char *digits, size_t n, int kk, int kk_max,
			   int kk_min)
{
	int k = kk - (int)n;                /* value = digits * 10^k */
	size_t len = 0;

	if (k >= 0 && kk <= kk_max) {                        /* 1234e7 -> 12340000000.0 */
		memcpy(out, digits, n);
		memset(out + n, '0', (size_t)k);
		len = (size_t)kk;
		memcpy(out + len, ".0", 2);
		return len + 2;
	}
	if (kk > 0 && kk <= kk_max) {                        /* 1234e-2 -> 12.34 */
		memcpy(out, digits, (size_t)kk);
		out[kk] = '.';
		memcpy(out + kk + 1, digits + kk, n - (size_t)kk);
		return n + 1;
	}
	if (kk >= kk_min && kk <= 0) {                       /* 1234e-6 -> 0.001234 */
		memcpy(out, "0.", 2);
		memset(out + 2, '0', (size_t)-kk);
		len = 2 + (size_t)-kk;
		memcpy(out + len, digits, n);
		return len + n;
	}
	out[len++] = digits[0];                              /* 1234e30 -> 1.234e33 */
	if (n > 1) {
		out[len++] = '.';
		memcpy(out + len, digits + 1, n - 1);
		len += n - 1;
	}
	out[len++] = 'e';
	return len + jsonw_fmt_i64(out + len, kk - 1);
}

size_t jsonw_fmt_serde_digits(char *out, const char *digits, size_t n, int kk)
{
	return serde_digits(out, digits, n, kk, SERDE_FIXED_KK_MAX, SERDE_FIXED_KK_MIN);
}

size_t jsonw_fmt_serde(char *out, double v, bool is_float)
{
	char e[40], digits[20];
	size_t n = 0, nd = 0;
	double a = fabs(v);

	if (!isfinite(v) || (is_float && !isfinite((float)v)))
		return 0;
	if (is_float)
		a = (float)a;
	if (signbit(v))
		out[n++] = '-';
	if (a == 0) {
		memcpy(out + n, "0.0", 3);
		return n + 3;
	}
	for (int prec = 0; prec <= 16; prec++) {   /* "%.16e": 17 digits always read back */
		snprintf(e, sizeof(e), "%.*e", prec, a);
		double back = strtod(e, NULL);
		if (is_float ? (float)back == (float)a : back == a)
			break;
	}
	const char *p = e;
	for (; *p != 'e'; p++)                     /* d[.ddd]e[+-]xx */
		if (*p != '.')
			digits[nd++] = *p;
	int x = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (is_float)
		return n + serde_digits(out + n, digits, nd, x + 1, SERDE_F32_KK_MAX,
					SERDE_F32_KK_MIN);
	return n + jsonw_fmt_serde_digits(out + n, digits, nd, x + 1);
}

void jsonw_serde(struct jsonw *w, double v)
{
	char s[JSONW_NUM_MAX];
	size_t n = jsonw_fmt_serde(s, v, false);

	if (n == 0) {
		w->full = true;  /* no text for it: the event is not written */
		return;
	}
	sep(w);
	put(w, s, n);
}

void jsonw_serde_f32(struct jsonw *w, float v)
{
	char s[JSONW_NUM_MAX];
	double d = v;
	size_t n;

	/* below 2^24 an f32's whole value is its own shortest text */
	if (d > -0x1p24 && d < 0x1p24 && d != 0 && d == (double)(long long)d) {
		n = jsonw_fmt_i64(s, (int64_t)d);
		memcpy(s + n, ".0", 2);
		n += 2;
	} else if ((n = jsonw_fmt_short(s, d, true)) == 0 &&
		   (n = jsonw_fmt_serde(s, d, true)) == 0) {
		w->full = true;  /* not finite: no JSON for it */
		return;
	}
	sep(w);
	put(w, s, n);
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	char s[JSONW_NUM_MAX];
	sep(w);
	put(w, s, jsonw_fmt_i64(s, v));
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	char s[JSONW_NUM_MAX];
	sep(w);
	put(w, s, jsonw_fmt_u64(s, v));
}

void jsonw_fixed(struct jsonw *w, double v, int decimals)
{
	char s[400];   /* "%.6f" of DBL_MAX: 316 */
	size_t n = jsonw_fmt_fixed(s, v, decimals);

	if (n == 0) {
		int k = snprintf(s, sizeof(s), "%.*f", decimals, v);
		n = k > 0 && (size_t)k < sizeof(s) ? (size_t)k : 0;
		if (n == 0) {
			w->full = true;  /* no text for it: the event is not written */
			return;
		}
	}
	sep(w);
	put(w, s, n);
}

void jsonw_number(struct jsonw *w, double v, bool is_float)
{
	char s[JSONW_NUM_MAX];
	size_t n;

	if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		n = 0;
		if (v == 0 && signbit(v))
			s[n++] = '-';          /* "%.0f" of -0.0 */
		n += jsonw_fmt_i64(s + n, (int64_t)v);
	} else if ((n = jsonw_fmt_short(s, v, is_float)) == 0) {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(s, sizeof(s), "%.*g", prec, v);
			double back = strtod(s, NULL);
			if (is_float ? (float)back == (float)v : back == v)
				break;
		}
		n = strlen(s);
	}
	sep(w);
	put(w, s, n);
}
