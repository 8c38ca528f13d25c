/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - JSON text written straight into a caller's buffer: no tree, no
 * allocation, no printf per number (pure: no I/O, no logging, no globals).
 * The output is byte for byte what json-c prints for the same tree with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE (no spaces, '/'
 * as is, the escapes of json-c's json_escape_str(): \" \\ \b \f \n \r \t
 * and \u00xx in lowercase hex for the other control characters), so the
 * events it writes read the same as those built with json-c trees.
 *
 * Use: jsonw_init() over a buffer, then open/key/value calls in document
 * order (a comma goes in before a key or an array element automatically),
 * then jsonw_finish(). A write beyond the buffer sets `full` and writes
 * nothing more: the caller checks once, at jsonw_finish() (sticky error).
 *
 * The number formatters are usable alone; each writes into out (at least
 * JSONW_NUM_MAX bytes; the sign of fmt_fixed/fmt_short comes on top) and returns
 * the length written (no NUL), or 0 when it cannot print the value exactly
 * as its printf equivalent would (the caller then falls back on printf).
 */
#ifndef LB_JSONW_H
#define LB_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Longest text of any formatter below, without the NUL. */
#define JSONW_NUM_MAX 32

struct jsonw {
	char *buf;
	size_t cap;           /* bytes of buf, the NUL included */
	size_t len;
	bool full;            /* a write did not fit */
};

void jsonw_init(struct jsonw *w, char *buf, size_t cap);

/* LB_OK and *len, the text NUL-terminated; LB_ERR_TOO_LARGE when it did
 * not fit (buf[0] = '\0' then, when cap > 0). */
int jsonw_finish(struct jsonw *w, size_t *len);

void jsonw_open(struct jsonw *w, char brace);     /* '{' or '[' (a comma first if needed) */
void jsonw_close(struct jsonw *w, char brace);    /* '}' or ']' */
/* A key and its ':'. key: a string literal needing no escape, written
 * with its quotes and colon as one literal (one copy); jsonw_keyn() writes
 * n bytes of a key needing no escape; jsonw_key_esc() escapes any other. */
#define jsonw_key(w, key) jsonw_keyq((w), "\"" key "\":", sizeof(key) + 2)
static inline void jsonw_keyq(struct jsonw *w, const char *quoted, size_t n);
void jsonw_keyn(struct jsonw *w, const char *key, size_t n);
void jsonw_key_esc(struct jsonw *w, const char *key);
/* Values (a comma first when they are an array element). */
void jsonw_str(struct jsonw *w, const char *s);             /* NULL: "" */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);  /* n bytes, escaped */
/* n bytes that need no escape by the caller's own alphabet (hex, base64,
 * digits, RFC 3339 times, UUIDs, fixed names: no control character, '"' or
 * '\\'), written between quotes unscanned. Anything else: jsonw_strn(). */
void jsonw_strn_plain(struct jsonw *w, const char *s, size_t n);
void jsonw_raw(struct jsonw *w, const char *s, size_t n);   /* as is: caller's valid JSON */
/* A member whose value needs no escape (as jsonw_strn_plain()): its key
 * a literal as jsonw_key() takes it, key and value written with one room
 * check and one comma test. jsonw_member_plainq() takes the key already
 * quoted, with its colon, and its length (jsonw_keyq()). */
#define jsonw_member_plain(w, key, s, n) \
	jsonw_member_plainq((w), "\"" key "\":", sizeof(key) + 2, (s), (n))
static inline void jsonw_member_plainq(struct jsonw *w, const char *quoted, size_t qn,
				       const char *s, size_t n);
/* The same for an integer (as jsonw_i64()), inline: the key's copy is a
 * few moves and the digits go straight into the buffer. */
#define jsonw_member_i64(w, key, v) jsonw_member_i64q((w), "\"" key "\":", sizeof(key) + 2, (v))
static inline void jsonw_member_i64q(struct jsonw *w, const char *quoted, size_t qn, int64_t v);
void jsonw_i64(struct jsonw *w, int64_t v);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, bool v);
/* printf("%.*f", decimals, v); v finite. */
void jsonw_fixed(struct jsonw *w, double v, int decimals);
/* The shortest text that reads back as v (as a float when is_float), an
 * integral value without ".0" or exponent: event_json's number rule. */
void jsonw_number(struct jsonw *w, double v, bool is_float);

/*
 * The text serde_json gives the finite f64 v (ChirpStack's JSON: Rust's ryu,
 * format_finite): the shortest digits that read back as v, in fixed notation
 * for 1e-5 <= |v| < 1e16 with a whole number ending ".0" ("21.0", "0.00005"),
 * else as d[.ddd]e[-]x ("1e16", "1.5e-6", "5e-324"; no '+', no leading zero
 * in the exponent); zero "0.0" ("-0.0"). is_float: v is an f32 (read back as
 * a float; fixed for 1e-6 <= |v| < 1e13, as ryu's format32). At most
 * JSONW_NUM_MAX bytes; 0 when v is not finite. It tries printf precisions in
 * turn: not for a hot path (jsonw_serde_f32() is quick for the usual f32).
 */
size_t jsonw_fmt_serde(char *out, double v, bool is_float);
/* The f64 text from n decimal digits (the first not '0') and the decimal
 * exponent kk: the value is 0.d1d2..dn * 10^kk (sign not included). */
size_t jsonw_fmt_serde_digits(char *out, const char *digits, size_t n, int kk);
/* jsonw_fmt_serde() as a value; a non-finite v sets `full` (no JSON for it). */
void jsonw_serde(struct jsonw *w, double v);
/* The same for an f32, without printf for a whole number below 2^24 (its
 * digits and ".0") or one jsonw_fmt_short() takes (a gateway's SNR). */
void jsonw_serde_f32(struct jsonw *w, float v);

/* Decimal digits of v (as "%" PRIu64 / PRId64). */
size_t jsonw_fmt_u64(char *out, uint64_t v);
size_t jsonw_fmt_i64(char *out, int64_t v);
/* v zero-padded to `width` digits (as "%0*u"); v < 10^width. Inline:
 * with a constant width the loop unrolls (a time's fraction, decimals). */
static inline void jsonw_fmt_pad(char *out, unsigned v, int width);
/* As "%.*f" for decimals 0..6 and |v| < 2^53 / 10^decimals; else 0. */
size_t jsonw_fmt_fixed(char *out, double v, int decimals);
/* As the shortest "%.*g" (precision 1..17) that reads back as v (as a
 * float when is_float), for non-integral v with 1e-4 <= |v| < 1e9 reached
 * with at most 9 decimals (a GPS coordinate's 5, 46.245 too); else 0. */
size_t jsonw_fmt_short(char *out, double v, bool is_float);

/* "key": as is (n >= 3), a comma first unless it opens its object. Inline:
 * at a jsonw_key() the length is a constant, so the copy is a few moves. */
static inline void jsonw_keyq(struct jsonw *w, const char *quoted, size_t n)
{
	char last = w->len > 0 ? w->buf[w->len - 1] : '{';
	size_t comma = last != '{' && last != '[' && last != ':';

	if (w->full || comma + n >= w->cap - w->len) {   /* room for the NUL kept */
		w->full = true;
		return;
	}
	w->buf[w->len] = ',';       /* overwritten by the key when no comma */
	w->len += comma;
	memcpy(w->buf + w->len, quoted, n);
	w->len += n;
}

/* "00" .. "99" (jsonw.c). */
extern const char jsonw__digit_pairs[201];

/* The decimal digits of v: 1 to 20. */
static inline size_t jsonw__ndigits(uint64_t v)
{
	size_t n = 1;

	for (uint64_t p = 10; v >= p; p *= 10)
		if (++n == 20)
			break;
	return n;
}

/* The n digits of v (jsonw__ndigits()) ending at end: two per division. */
static inline void jsonw__digits(char *end, uint64_t v)
{
	while (v >= 100) {
		end -= 2;
		memcpy(end, jsonw__digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(end - 2, jsonw__digit_pairs + 2 * v, 2);
	else
		end[-1] = (char)('0' + v);
}

/* Inline, as jsonw_keyq(): a literal key, or a value of constant length,
 * is copied with a few moves. */
static inline void jsonw_member_plainq(struct jsonw *w, const char *quoted, size_t qn,
				       const char *s, size_t n)
{
	char last = w->len > 0 ? w->buf[w->len - 1] : '{';
	size_t comma = last != '{' && last != '[' && last != ':';

	if (w->full || comma + qn + n + 2 >= w->cap - w->len) {   /* room for the NUL kept */
		w->full = true;
		return;
	}
	char *p = w->buf + w->len;
	*p = ',';                   /* overwritten by the key when no comma */
	p += comma;
	memcpy(p, quoted, qn);
	p += qn;
	*p++ = '"';
	memcpy(p, s, n);
	p += n;
	*p++ = '"';
	w->len = (size_t)(p - w->buf);
}

static inline void jsonw_fmt_pad(char *out, unsigned v, int width)
{
	int i = width;

	for (; i >= 2; i -= 2) {
		memcpy(out + i - 2, jsonw__digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (i == 1)
		out[0] = (char)('0' + v % 10);
}

static inline void jsonw_member_i64q(struct jsonw *w, const char *quoted, size_t qn, int64_t v)
{
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t sign = v < 0, n = sign + jsonw__ndigits(u);

	jsonw_keyq(w, quoted, qn);
	if (w->full || n >= w->cap - w->len) {   /* room for the NUL kept */
		w->full = true;
		return;
	}
	w->buf[w->len] = '-';       /* overwritten by the first digit when not negative */
	w->len += n;
	jsonw__digits(w->buf + w->len, u);
}

#endif
