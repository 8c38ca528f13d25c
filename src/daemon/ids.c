/* SPDX-License-Identifier: MIT */
/* ids.c - UUIDs for events and queue items. See ids.h. */
#include "daemon/ids.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base/lb_err.h"
#include "base/log.h"

int idgen_init(struct idgen *g)
{
	memset(g, 0, sizeof(*g));
	if (getrandom(g->seed, sizeof(g->seed), 0) == (ssize_t)sizeof(g->seed))
		return LB_OK;
	log_warn("ids", "getrandom failed (%s): generated ids are unique only within this run",
		 strerror(errno));
	return LB_ERR_IO;
}

void idgen_next(struct idgen *g, uint8_t out[16])
{
	uint64_t c = ++g->counter;

	memcpy(out, g->seed, 16);
	/* The counter goes in from the last byte, clear of the version and
	 * variant bits (bytes 6 and 8) that would otherwise mask it. */
	for (int i = 0; i < 7; i++)
		out[15 - i] ^= (uint8_t)(c >> (8 * i));
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

uint32_t idgen_next_u32(struct idgen *g)
{
	uint32_t seed;

	memcpy(&seed, g->seed + 12, sizeof(seed));
	return seed ^ (uint32_t)++g->counter;
}
