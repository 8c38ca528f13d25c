/* SPDX-License-Identifier: MIT */
/*
 * slab.c - objects of one size in blocks (slab.h). A released object holds
 * the pointer to the one released before it: the free list needs no memory
 * of its own. Objects are taken from the free list first, then from the
 * newest block, then from a new block.
 *
 * Under AddressSanitizer every byte not handed out (a block's unused tail,
 * a released object, its free-list link included) is poisoned, as malloc's
 * own free memory is: a write after slab_release() is reported, and the
 * slab unpoisons an object before it reads the link or hands it out.
 */
#include "tables/slab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define SLAB_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SLAB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
/* A released (poisoned) object released again. */
#define SLAB_IS_FREE(s, p) ((p) == (s)->free || __asan_address_is_poisoned(p))
#else
#define SLAB_POISON(p, n) ((void)(p), (void)(n))
#define SLAB_UNPOISON(p, n) ((void)(p), (void)(n))
/* Without ASan only the cheap case: the object released last. */
#define SLAB_IS_FREE(s, p) ((p) == (s)->free)
#endif

void slab_init(struct slab *s, size_t size)
{
	size_t a = sizeof(void *);

	memset(s, 0, sizeof(*s));
	if (size < a)
		size = a;
	s->size = (size + a - 1) / a * a;
	s->per_block = s->size <= SLAB_BLOCK_BYTES ? SLAB_BLOCK_BYTES / s->size : 1;
}

void slab_free(struct slab *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_blocks; i++) {
		SLAB_UNPOISON(s->blocks[i], s->per_block * s->size);   /* malloc's again */
		free(s->blocks[i]);
	}
	free(s->blocks);
	memset(s, 0, sizeof(*s));
}

/* A new newest block. */
static bool add_block(struct slab *s)
{
	if (s->n_blocks == s->cap_blocks) {
		size_t cap = s->cap_blocks ? 2 * s->cap_blocks : 8;
		void **v = realloc(s->blocks, cap * sizeof(*v));
		if (!v)
			return false;
		s->blocks = v;
		s->cap_blocks = cap;
	}
	void *b = malloc(s->per_block * s->size);
	if (!b)
		return false;
	SLAB_POISON(b, s->per_block * s->size);
	s->blocks[s->n_blocks++] = b;
	s->next = 0;
	return true;
}

void *slab_alloc(struct slab *s)
{
	void *p;

	if (!s->size)
		return NULL;
	if (s->free) {
		p = s->free;
		SLAB_UNPOISON(p, s->size);
		memcpy(&s->free, p, sizeof(void *));
	} else {
		if ((!s->n_blocks || s->next == s->per_block) && !add_block(s))
			return NULL;
		p = (char *)s->blocks[s->n_blocks - 1] + s->next++ * s->size;
		SLAB_UNPOISON(p, s->size);
	}
	memset(p, 0, s->size);
	s->live++;
	return p;
}

void slab_release(struct slab *s, void *p)
{
	if (!p)
		return;
	/* Released twice: the free list would hand it out twice. A bug in
	 * the caller, never input: stop here rather than corrupt memory. */
	if (SLAB_IS_FREE(s, p) || s->live == 0)
		abort();
	memcpy(p, &s->free, sizeof(void *));
	SLAB_POISON(p, s->size);
	s->free = p;
	s->live--;
}

bool slab_owns(const struct slab *s, const void *p)
{
	size_t bytes = s->per_block * s->size;

	for (size_t i = 0; i < s->n_blocks; i++) {
		const char *b = s->blocks[i];
		if ((const char *)p >= b && (const char *)p < b + bytes)
			return ((size_t)((const char *)p - b) % s->size) == 0;
	}
	return false;
}
