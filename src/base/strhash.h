/* SPDX-License-Identifier: MIT */
/*
 * strhash.h - a 32-bit hash of a C string for in-memory hash tables
 * (FNV-1a, Fowler/Noll/Vo). Not for anything an attacker must not be able
 * to collide: the tables that use it compare the strings themselves.
 */
#ifndef LB_STRHASH_H
#define LB_STRHASH_H

#include <stdint.h>

static inline uint32_t strhash(const char *s)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

#endif
