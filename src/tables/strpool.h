/* SPDX-License-Identifier: MIT */
/*
 * strpool.h - interned, immutable strings in one arena (pure: no I/O).
 *
 * The device table holds a few strings a device (name, application, its
 * events' applicationId, tags, codec script path); most repeat across a
 * fleet (every device of an application has the same application name and
 * id, often the same tags). One malloc each costs at least 32 bytes and the
 * repeats cost as much again; here each distinct string is stored once,
 * packed in chunks of STRPOOL_CHUNK bytes, and found again by a hash set.
 *
 * Ownership: strpool_init() allocates (nothing until the first string);
 * strings returned by strpool_intern() stay valid and unchanged until
 * strpool_free() (safe on a zeroed or freed pool), which releases all.
 * Strings are never removed one by one.
 */
#ifndef LB_STRPOOL_H
#define LB_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

#define STRPOOL_CHUNK 65536

struct strpool_chunk;

struct strpool {
	struct strpool_chunk *chunks;    /* newest first */
	const char **set;                /* open addressing, linear probing; NULL = free */
	size_t set_mask;                 /* set slots - 1 (a power of two), 0 = no set yet */
	size_t n;                        /* distinct strings in the set */
	size_t bytes;                    /* arena bytes allocated */
};

void strpool_init(struct strpool *p);
void strpool_free(struct strpool *p);

/* The pool's copy of s (NULL for NULL s): the same pointer for equal
 * strings (since the last strpool_seal()). NULL with a non-NULL s means out
 * of memory. */
const char *strpool_intern(struct strpool *p, const char *s);

/* Drop the hash set (8 bytes a distinct string, twice over) once every
 * string is in: the strings stay. A later strpool_intern() still works but
 * no longer finds the strings interned before, so it may store one again. */
void strpool_seal(struct strpool *p);

#endif
