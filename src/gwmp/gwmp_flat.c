/* SPDX-License-Identifier: MIT */
/* gwmp_flat.c - the fast reading of a plain PUSH_DATA body. See gwmp_flat.h. */
#include "gwmp/gwmp_flat.h"

#include <string.h>

enum { ST_DONE, ST_ARRAY_FIRST, ST_ARRAY_NEXT };

#define INT_DIGITS_MAX 18           /* below 2^63 */
#define DEC_DIGITS_MAX 15           /* below 2^53: m exact as a double */

/* 10^0 .. 10^15, each exact as a double. */
static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
				   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static bool is_pad(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Between tokens: mostly no whitespace at all, so one comparison first
 * (every whitespace byte is <= ' '). */
static inline void ws(struct gwmp__scan *sc)
{
	while (sc->p < sc->end && (unsigned char)*sc->p <= ' ' && is_ws(*sc->p))
		sc->p++;
}

static bool eat(struct gwmp__scan *sc, char c)
{
	if (sc->p < sc->end && *sc->p == c) {
		sc->p++;
		return true;
	}
	return false;
}

/* c, whitespace allowed before it: the direct match tried first (packet
 * forwarders put no whitespace between tokens). */
static inline bool eat_ws(struct gwmp__scan *sc, char c)
{
	if (eat(sc, c))
		return true;
	ws(sc);
	return eat(sc, c);
}

/* After a number or literal: the end, whitespace or a structural character. */
static inline bool delimited(const struct gwmp__scan *sc)
{
	if (sc->p == sc->end)
		return true;
	char c = *sc->p;
	return is_ws(c) || c == ',' || c == '}' || c == ']';
}

/* The bytes that end a plain string's run: its closing '"', and what makes
 * it not plain (control characters, '\\', DEL and non-ASCII). */
static const bool run_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x00 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x10 */
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x20 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x30 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x40 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* 0x50 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 0x60 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,   /* 0x70 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x80 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x90 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xa0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xb0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xc0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xd0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xe0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0xf0 */
};

/* The first run_stop byte in [p, end), or end: one table look-up per byte,
 * four to a loop turn (the strings of a PUSH_DATA are 3 to ~40 bytes). */
static const char *run_end(const char *p, const char *end)
{
#define STOP(i) run_stop[(unsigned char)p[i]]
	for (; end - p >= 4; p += 4) {
		if (STOP(0))
			return p;
		if (STOP(1))
			return p + 1;
		if (STOP(2))
			return p + 2;
		if (STOP(3))
			return p + 3;
	}
#undef STOP
	while (p < end && !run_stop[(unsigned char)*p])
		p++;
	return p;
}

/* A string of printable ASCII without escapes: its bytes (not copied). */
static inline bool plain_string(struct gwmp__scan *sc, const char **s, size_t *len)
{
	if (!eat(sc, '"'))
		return false;
	const char *start = sc->p, *p = run_end(start, sc->end);
	if (p == sc->end || *p != '"')
		return false;
	*s = start;
	*len = (size_t)(p - start);
	sc->p = p + 1;
	return true;
}

/* A key: the four plain bytes between quotes of every rxpk key checked at
 * once, any other through plain_string(). */
static inline bool key_string(struct gwmp__scan *sc, const char **s, size_t *len)
{
	const char *p = sc->p;

	if (sc->end - p >= 6 && p[0] == '"' && p[5] == '"' &&
	    !(run_stop[(unsigned char)p[1]] | run_stop[(unsigned char)p[2]] |
	      run_stop[(unsigned char)p[3]] | run_stop[(unsigned char)p[4]])) {
		*s = p + 1;
		*len = 4;
		sc->p = p + 6;
		return true;
	}
	return plain_string(sc, s, len);
}

static bool literal(struct gwmp__scan *sc, const char *word, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return false;
	sc->p += n;
	return delimited(sc);
}

/* The digits from p on, added to *m (*digits counted so far): the end of
 * them, or NULL when the count passes max (counted once, after the run:
 * unsigned v may wrap in a longer run, which is refused anyway). */
static const char *digit_run(const char *p, const char *end, uint64_t *m, int *digits, int max)
{
	const char *start = p;
	uint64_t v = *m;

	for (; p < end && (unsigned char)(*p - '0') < 10; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p - start > max - *digits)
		return NULL;
	*m = v;
	*digits += (int)(p - start);
	return p;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?, without "-0" (see gwmp_flat.h). The
 * fraction's limit counts the integer digits too: m stays below 2^53. */
static inline bool number(struct gwmp__scan *sc, struct gwmp__fval *v)
{
	bool neg = eat(sc, '-');
	uint64_t m = 0;
	int digits = 0, frac = 0;

	if (sc->p == sc->end || !is_digit(*sc->p))
		return false;
	if (*sc->p == '0' && (neg || (sc->p + 1 < sc->end && is_digit(sc->p[1]))))
		return false;
	if (!(sc->p = digit_run(sc->p, sc->end, &m, &digits, INT_DIGITS_MAX)))
		return false;
	if (eat(sc, '.')) {
		int before = digits;
		if (sc->p == sc->end || !is_digit(*sc->p))
			return false;
		if (!(sc->p = digit_run(sc->p, sc->end, &m, &digits, DEC_DIGITS_MAX)))
			return false;
		frac = digits - before;
	}
	if (!delimited(sc))
		return false;          /* an exponent, or anything else */
	if (frac == 0) {
		v->kind = GWMP__F_INT;
		v->i = neg ? -(int64_t)m : (int64_t)m;
		return true;
	}
	/* m and 10^frac exact: one correctly rounded division, strtod()'s value */
	v->kind = GWMP__F_DOUBLE;
	v->d = (double)m / pow10_tab[frac];
	if (neg)
		v->d = -v->d;
	return true;
}

/* A scalar value; a string is copied into f's arena when f is given. */
static inline bool scalar(struct gwmp__scan *sc, struct gwmp__fval *v, struct gwmp__flat *f)
{
	if (sc->p == sc->end)
		return false;
	switch (*sc->p) {
	case '"': {
		const char *s;
		size_t len;
		if (!plain_string(sc, &s, &len))
			return false;
		v->kind = GWMP__F_STRING;
		v->len = len;
		if (!f)
			return true;
		if (GWMP__FLAT_ARENA - f->used < len + 1)
			return false;
		char *dst = f->arena + f->used;
		memcpy(dst, s, len);
		dst[len] = '\0';
		f->used += len + 1;
		v->s = dst;
		return true;
	}
	case 't':
		v->kind = GWMP__F_BOOL;
		v->b = true;
		return literal(sc, "true", 4);
	case 'f':
		v->kind = GWMP__F_BOOL;
		v->b = false;
		return literal(sc, "false", 5);
	default:
		return number(sc, v);
	}
}

/* A key of no slot already among the members (a known key's repeat is
 * seen in its slot). */
static bool repeated(const struct gwmp__flat *f, const char *key, size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->klen[i] == len && memcmp(f->key[i], key, len) == 0)
			return true;
	return false;
}

/* Key k of kl bytes for member f->n: its slot (-1: none) once it is known
 * to be no repeat, else -2. */
static int new_key(struct gwmp__flat *f, const char *k, size_t kl)
{
	int slot = gwmp__flat_slot(k, kl);

	if (slot >= 0)
		return f->slot[slot] ? -2 : slot;
	if (f->other && repeated(f, k, kl))
		return -2;
	f->other = true;
	return -1;
}

/* One flat object, its '{' already read. */
static bool flat_object(struct gwmp__scan *sc, struct gwmp__flat *f)
{
	f->n = 0;
	f->used = 0;
	f->other = false;
	memset(f->slot, 0, sizeof(f->slot));
	ws(sc);
	if (eat(sc, '}'))
		return true;
	for (;;) {
		const char *k;
		size_t kl;
		int slot;
		ws(sc);
		if (f->n == GWMP__FLAT_KEYS || !key_string(sc, &k, &kl) ||
		    (slot = new_key(f, k, kl)) == -2)
			return false;
		if (!eat_ws(sc, ':'))
			return false;
		ws(sc);
		if (!scalar(sc, &f->v[f->n], f))
			return false;
		f->key[f->n] = k;
		f->klen[f->n] = kl;
		f->n++;
		if (slot >= 0)
			f->slot[slot] = (uint8_t)f->n;
		if (eat_ws(sc, '}'))
			return true;
		if (!eat(sc, ','))
			return false;
	}
}

/* The end of the document: nothing may follow the top-level '}'. */
static int finish(struct gwmp__scan *sc)
{
	ws(sc);
	if (sc->p != sc->end)
		return GWMP__FLAT_SLOW;
	sc->state = ST_DONE;
	return GWMP__FLAT_END;
}

/* Top-level members from here: GWMP__FLAT_OBJECT once inside "rxpk":[,
 * GWMP__FLAT_END at the end of the document, or SLOW. after_value: a
 * member was just read, a ',' or the '}' comes next. */
static int top(struct gwmp__scan *sc, bool after_value, bool seen_rxpk)
{
	for (;;) {
		if (after_value) {
			ws(sc);
			if (eat(sc, '}'))
				return finish(sc);
			if (!eat(sc, ','))
				return GWMP__FLAT_SLOW;
		}
		after_value = true;
		const char *k;
		size_t kl;
		struct gwmp__fval v;
		ws(sc);
		if (!plain_string(sc, &k, &kl))
			return GWMP__FLAT_SLOW;
		ws(sc);
		if (!eat(sc, ':'))
			return GWMP__FLAT_SLOW;
		ws(sc);
		if (kl == 4 && memcmp(k, "stat", 4) == 0)
			return GWMP__FLAT_SLOW;
		if (kl == 4 && memcmp(k, "rxpk", 4) == 0) {
			if (seen_rxpk || !eat(sc, '['))
				return GWMP__FLAT_SLOW;
			sc->state = ST_ARRAY_FIRST;
			return GWMP__FLAT_OBJECT;
		}
		if (!scalar(sc, &v, NULL))
			return GWMP__FLAT_SLOW;
	}
}

int gwmp__scan_begin(struct gwmp__scan *sc, const uint8_t *json, size_t len)
{
	const char *p = (const char *)json, *end = p + len;

	if (!json)
		return GWMP__FLAT_SLOW;
	while (p < end && is_pad(*p))
		p++;
	while (end > p && is_pad(end[-1]))
		end--;
	sc->p = p;
	sc->end = end;
	if (!eat(sc, '{'))
		return GWMP__FLAT_SLOW;
	ws(sc);
	int rc = eat(sc, '}') ? finish(sc) : top(sc, false, false);
	return rc == GWMP__FLAT_SLOW ? GWMP__FLAT_SLOW : GWMP__FLAT_OBJECT;
}

int gwmp__scan_next(struct gwmp__scan *sc, struct gwmp__flat *f)
{
	if (sc->state == ST_DONE)
		return GWMP__FLAT_END;
	ws(sc);
	if (eat(sc, ']')) {
		int rc = top(sc, true, true);
		return rc == GWMP__FLAT_END ? rc : GWMP__FLAT_SLOW;
	}
	if (sc->state == ST_ARRAY_NEXT) {
		if (!eat(sc, ','))
			return GWMP__FLAT_SLOW;
		ws(sc);
	}
	if (!eat(sc, '{') || !flat_object(sc, f))
		return GWMP__FLAT_SLOW;
	sc->state = ST_ARRAY_NEXT;
	return GWMP__FLAT_OBJECT;
}

const struct gwmp__fval *gwmp__flat_get_other(const struct gwmp__flat *f, const char *key)
{
	size_t len = strlen(key);

	if (!f->other || len == 0)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (f->klen[i] == len && memcmp(f->key[i], key, len) == 0)
			return &f->v[i];
	return NULL;
}
