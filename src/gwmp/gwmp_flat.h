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

/* The slot of a known rxpk key of n bytes, or -1 (any other key). */
int gwmp__flat_slot(const char *key, size_t n);

/* The member named key, or NULL. */
const struct gwmp__fval *gwmp__flat_get(const struct gwmp__flat *f, const char *key);

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
