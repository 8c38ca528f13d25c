/* SPDX-License-Identifier: MIT */
/*
 * ids.h - the identifiers the bridge generates: deduplicationId and queue
 * item ids, as RFC 4122 version-4 UUIDs that never repeat within a run, and
 * the 32-bit downlinkId.
 *
 * A random seed (getrandom) is mixed with a 64-bit counter placed clear of
 * the version and variant bits, so ids are unique without a system call
 * per id. The generator owns its seed and counter; nothing to free.
 */
#ifndef LB_IDS_H
#define LB_IDS_H

#include <stdint.h>

#define IDS_UUID_STR 37                  /* 36 characters and the NUL */

struct idgen {
	uint8_t seed[16];
	uint64_t counter;
};

/* Seed from the kernel's random source. LB_OK, or LB_ERR_IO (logged): the
 * generator then still works, with ids unique only within this run. */
int idgen_init(struct idgen *g);

/* Next UUID, 16 bytes in RFC 4122 byte order. */
void idgen_next(struct idgen *g, uint8_t out[16]);

/* Next 32-bit id (a txack's downlinkId, gw.proto uint32): the same
 * counter, so it does not repeat within a run before 2^32 ids. */
uint32_t idgen_next_u32(struct idgen *g);

#endif
