/* SPDX-License-Identifier: MIT */
/*
 * gwmp_flat.h - the fast reading of a PUSH_DATA body (Semtech PROTOCOL.TXT
 * §4) for gwmp_json.c: no json-c tree, no allocation. Internal to gwmp/.
 *
 * It reads only the plain shape every packet forwarder sends: one object
 * whose "rxpk" member is an array of flat objects, every other member a
 * scalar, strings of printable ASCII without escapes, numbers without
 * exponent, leading zero or "-0", no null, no repeated key, no "stat". Any
 * other text - valid or not - makes it answer GWMP__FLAT_SLOW and the
 * caller parses the datagram with json-c instead, so what is accepted and
 * what each value is never differ from json-c's reading (RFC 8259 numbers
 * and strings of that shape have one meaning).
 *
 * Values are exact: an integer of at most 18 digits is an int64, a decimal
 * of at most 15 significant digits is m / 10^k computed with one correctly
 * rounded division (what strtod() returns); longer ones are SLOW.
 */
#ifndef LB_GWMP_FLAT_H
#define LB_GWMP_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GWMP__FLAT_KEYS 32          /* members of one rxpk object */
#define GWMP__FLAT_ARENA 2048       /* its string values, NUL-terminated */

enum gwmp__fkind { GWMP__F_STRING, GWMP__F_INT, GWMP__F_DOUBLE, GWMP__F_BOOL };

struct gwmp__fval {
	enum gwmp__fkind kind;
	const char *s;                  /* GWMP__F_STRING: NUL-terminated, in the arena */
	size_t len;
	int64_t i;                      /* GWMP__F_INT */
	double d;                       /* GWMP__F_DOUBLE */
	bool b;                         /* GWMP__F_BOOL */
};

/* The rxpk keys of PROTOCOL.TXT §4 the readers look up, all four
 * characters long, have a slot each in a 16-entry table (a perfect hash of
 * the four bytes, gwmp_flat.c): they are found, and a repeat of one
 * detected, without walking the members. */
#define GWMP__FLAT_SLOTS 16

/* One flat object: its members in document order. */
struct gwmp__flat {
	size_t n;
	const char *key[GWMP__FLAT_KEYS];   /* into the datagram, not NUL-terminated */
	size_t klen[GWMP__FLAT_KEYS];
	struct gwmp__fval v[GWMP__FLAT_KEYS];
	uint8_t slot[GWMP__FLAT_SLOTS];     /* a known key's member: 1 + index in v, 0 absent */
	bool other;                         /* a member with a key of no slot */
	size_t used;
	char arena[GWMP__FLAT_ARENA];
};

/*
 * The slots: h(k) = (k * SLOT_MUL mod 2^32) >> 28 over the four bytes of k
 * as a little-endian number is one to one on the fourteen rxpk keys
 * (SLOT_MUL found by search); gwmp__slot_key[] says which key a slot holds.
 * Inline, so a reader asking for a literal key ("tmst") finds its slot
 * when it is compiled: a look-up is one load.
 */
#define GWMP__KEY4(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define GWMP__SLOT_MUL UINT32_C(0x6aabbdd1)
#define GWMP__SLOT_SHIFT 28

static const uint32_t gwmp__slot_key[GWMP__FLAT_SLOTS] = {
	GWMP__KEY4('t', 'i', 'm', 'e'), GWMP__KEY4('f', 'r', 'e', 'q'),
	GWMP__KEY4('t', 'm', 'm', 's'), GWMP__KEY4('r', 'f', 'c', 'h'),
	GWMP__KEY4('s', 'i', 'z', 'e'), GWMP__KEY4('s', 't', 'a', 't'),
	GWMP__KEY4('t', 'm', 's', 't'), 0,
	GWMP__KEY4('m', 'o', 'd', 'u'), 0,
	GWMP__KEY4('r', 's', 's', 'i'), GWMP__KEY4('c', 'h', 'a', 'n'),
	GWMP__KEY4('l', 's', 'n', 'r'), GWMP__KEY4('d', 'a', 't', 'r'),
	GWMP__KEY4('c', 'o', 'd', 'r'), GWMP__KEY4('d', 'a', 't', 'a'),
};

/* The slot of the four bytes k (a key of four bytes), or -1. */
static inline int gwmp__flat_slot4(const char *key)
{
	const unsigned char *k = (const unsigned char *)key;
	uint32_t u = GWMP__KEY4(k[0], k[1], k[2], k[3]);
	uint32_t h = (uint32_t)(u * GWMP__SLOT_MUL) >> GWMP__SLOT_SHIFT;

	return gwmp__slot_key[h] == u ? (int)h : -1;
}

/* The slot of a known rxpk key of n bytes, or -1 (any other key). */
static inline int gwmp__flat_slot(const char *key, size_t n)
{
	return n == 4 ? gwmp__flat_slot4(key) : -1;
}

/* The member named key (of no slot), or NULL: a walk of the members. */
const struct gwmp__fval *gwmp__flat_get_other(const struct gwmp__flat *f, const char *key);

/* The member named key, or NULL. */
static inline const struct gwmp__fval *gwmp__flat_get(const struct gwmp__flat *f,
						      const char *key)
{
	/* the readers ask for four-byte keys: no strlen() for those */
	if (key[0] && key[1] && key[2] && key[3] && !key[4]) {
		int slot = gwmp__flat_slot4(key);
		if (slot >= 0)
			return f->slot[slot] ? &f->v[f->slot[slot] - 1] : NULL;
	}
	return gwmp__flat_get_other(f, key);
}

enum gwmp__flat_rc { GWMP__FLAT_SLOW = -1, GWMP__FLAT_END = 0, GWMP__FLAT_OBJECT = 1 };

struct gwmp__scan {
	const char *p, *end;
	int state;
};

/* Start on json[0..len) (NUL and whitespace padding around the object is
 * ignored, as jsonobj.h does): GWMP__FLAT_OBJECT (ready), or SLOW. */
int gwmp__scan_begin(struct gwmp__scan *sc, const uint8_t *json, size_t len);

/* The next rxpk object into f (GWMP__FLAT_OBJECT), GWMP__FLAT_END once the
 * whole document has been read and is of the plain shape, or SLOW. */
int gwmp__scan_next(struct gwmp__scan *sc, struct gwmp__flat *f);

#endif
