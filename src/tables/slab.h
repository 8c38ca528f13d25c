/* SPDX-License-Identifier: MIT */
/*
 * slab.h - a pool of objects of one size, carved from blocks (pure: no
 * I/O).
 *
 * Many small objects of one size, one per heard device (its MAC state,
 * tables/devices.h), each from malloc() would cost the allocator's header
 * and rounding on every one (8 bytes of a 120-byte state, 16 of a 112-byte
 * one on glibc); here they lie side by side in blocks of SLAB_BLOCK_BYTES,
 * and a released object is kept on a free list for the next slab_alloc().
 *
 * Ownership: slab_init() allocates nothing; slab_alloc() hands out an
 * object, zeroed, that stays where it is until slab_release() or
 * slab_free() (safe on a zeroed or freed slab), which releases every
 * block. A released object's memory is reused by the slab, never given back
 * before slab_free().
 *
 * Misuse: releasing an object twice abort()s (a caller's bug; detected for
 * the object released last in every build, for any released object under
 * AddressSanitizer, which also reports a read or write of a released
 * object: the slab poisons what it does not hand out).
 */
#ifndef LB_SLAB_H
#define LB_SLAB_H

#include <stdbool.h>
#include <stddef.h>

/* Built with AddressSanitizer (GCC's macro, clang's feature test): the
 * slab poisons what it does not hand out, and its users may afford
 * O(blocks) checks (slab_owns). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif

/* Bytes a block holds (objects of size s: SLAB_BLOCK_BYTES / s of them):
 * 16 KiB, far below glibc's mmap threshold, so blocks come from the heap. */
#define SLAB_BLOCK_BYTES 16384

struct slab {
	size_t size;                     /* object size, a multiple of a pointer's */
	size_t per_block;                /* objects a block holds */
	void **blocks;                   /* n_blocks blocks, allocated in order */
	size_t n_blocks;
	size_t cap_blocks;
	size_t next;                     /* objects handed out of the newest block */
	void *free;                      /* released objects, each holding the next */
	size_t live;                     /* objects handed out and not released */
};

/* A slab of objects of size bytes (1 .. SLAB_BLOCK_BYTES; rounded up to
 * a pointer's alignment). */
void slab_init(struct slab *s, size_t size);
void slab_free(struct slab *s);

/* A zeroed object; NULL when out of memory. */
void *slab_alloc(struct slab *s);

/* Give back an object slab_alloc() handed out (NULL: nothing); abort()s
 * if it was released already (see Misuse above). */
void slab_release(struct slab *s, void *p);

/* p is the start of an object of one of s's blocks (handed out or not):
 * O(blocks), for checks. */
bool slab_owns(const struct slab *s, const void *p);

#endif
