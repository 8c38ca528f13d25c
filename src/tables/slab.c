/* SPDX-License-Identifier: MIT */
/*
 * slab.c - objects of one size in blocks (slab.h). A released object holds
 * the pointer to the one released before it: the free list needs no memory
 * of its own. Objects are taken from the free list first, then from the
 * newest block, then from a new block.
 */
#include "tables/slab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
	for (size_t i = 0; i < s->n_blocks; i++)
		free(s->blocks[i]);
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
		memcpy(&s->free, p, sizeof(void *));
	} else {
		if ((!s->n_blocks || s->next == s->per_block) && !add_block(s))
			return NULL;
		p = (char *)s->blocks[s->n_blocks - 1] + s->next++ * s->size;
	}
	memset(p, 0, s->size);
	s->live++;
	return p;
}

void slab_release(struct slab *s, void *p)
{
	if (!p)
		return;
	memcpy(p, &s->free, sizeof(void *));
	s->free = p;
	s->live--;
}
