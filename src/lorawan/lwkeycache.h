/* SPDX-License-Identifier: MIT */
/*
 * lwkeycache.h - a bounded cache of prepared LoRaWAN session keys (pure:
 * no I/O, no clock; allocation only in lwkeycache_init and when a slot's
 * OpenSSL contexts are first used, lwcrypto.h).
 *
 * Prepared key state is large in OpenSSL 3: 0.65 KB of heap an ECB
 * context, 0.9 KB a CMAC one, and a session uses two (its NwkSKey's CMAC,
 * its AppSKey's ECB), 1.55 KB a device; 2.2 KB once its NwkSKey also
 * decrypted a FPort 0 payload (MAC commands), a context its slot then keeps
 * for the keys re-keyed into it. A fleet of 100,000 devices would spend
 * 155 MB or more on it. The device
 * table keeps only the raw 16-byte keys and asks this cache for prepared
 * ones: the cap most recently used pairs stay prepared, and a pair not in
 * the cache takes the slot of the least recently used one, whose contexts
 * are re-keyed (lwcrypto_key_rekey: no allocation; tests/bench/bench_crypto
 * prints what a re-key costs).
 *
 * A slot is found again through a hint the owner keeps (one uint32 a
 * device), and is only taken as a hit when it holds exactly the raw keys
 * asked for: a stale hint (the slot was reused, the device got new keys,
 * the table was rebuilt) is a miss, never a wrong key. Results are the
 * same as with keys prepared once per device; only the time differs.
 *
 * Ownership: lwkeycache_init() allocates, lwkeycache_free() releases (safe
 * on a zeroed or freed cache) and wipes the keys. A pointer returned by
 * lwkeycache_get() is valid until the next lwkeycache_get(),
 * lwkeycache_release() or lwkeycache_free() on the same cache: use it at
 * once, never keep it.
 * Not thread-safe (one loop thread).
 */
#ifndef LB_LWKEYCACHE_H
#define LB_LWKEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lorawan/lwcrypto.h"

#define LWKEYCACHE_NONE UINT32_MAX    /* a hint that points nowhere */

struct lwkeycache_slot {
	struct lw_keys keys;          /* prepared; keys.*.raw say whose they are */
	uint32_t prev, next;          /* LRU list: head = most recently used */
};

struct lwkeycache {
	struct lwkeycache_slot *slot;
	uint32_t cap;                 /* slots allocated */
	uint32_t used;                /* slots holding keys (filled in order) */
	uint32_t head, tail;          /* most / least recently used */
	uint64_t hits, rekeys;        /* lookups served as they were / re-keyed */
};

/* A cache of cap slots (1..2^24). Errors: LB_ERR_INVAL, LB_ERR_NOMEM (then
 * *c is zeroed). */
int lwkeycache_init(struct lwkeycache *c, uint32_t cap);
void lwkeycache_free(struct lwkeycache *c);

/* Free every slot's OpenSSL contexts (1.55 to 2.2 KB a pair used for
 * uplinks) and wipe the keys, keeping
 * the slot array: the cache is empty, as after lwkeycache_init(), and every
 * hint is stale (a miss that prepares the keys again). For a quiet bridge.
 * Returns the number of key pairs freed. */
size_t lwkeycache_release(struct lwkeycache *c);

/*
 * Prepared keys holding nwk and app. *hint is the caller's slot hint
 * (LWKEYCACHE_NONE at first) and is updated. On a miss the least recently
 * used slot is re-keyed: no OpenSSL call (lwcrypto_key_rekey), so an
 * OpenSSL failure is that of the key's first use after it, and the next
 * use tries again. Errors: LB_ERR_INVAL.
 */
int lwkeycache_get(struct lwkeycache *c, uint32_t *hint, const uint8_t nwk[LW_KEY_LEN],
		   const uint8_t app[LW_KEY_LEN], struct lw_keys **out);

#endif
