/* SPDX-License-Identifier: MIT */
/* fcntdown.c - NFCntDown reserved ahead. See fcntdown.h. */
#include "tables/fcntdown.h"

void fcntdown_load(struct fcntdown *r, uint32_t persisted)
{
	r->next = persisted;
	r->ceiling = persisted;
	r->durable = persisted;
	r->batch = 0;
}

void fcntdown_start(struct fcntdown *r, uint32_t ceiling, uint64_t batch)
{
	r->next = 0;
	r->durable = 0;
	r->ceiling = ceiling;
	r->batch = batch;
}

unsigned fcntdown_reserve(struct fcntdown *r, uint64_t current_batch, uint64_t durable_below)
{
	unsigned f = 0;

	if (r->batch != 0 && r->batch < durable_below) {   /* its batch is on the disk */
		r->durable = r->ceiling;
		r->batch = 0;
	}
	/* Counter UINT32_MAX is never used: no ceiling above it can be stored. */
	if (r->next == UINT32_MAX)
		return FCNTDOWN_EXHAUSTED;
	if (fcntdown_reserve_due(r->next, r->ceiling)) {
		r->ceiling = fcntdown_reserve_ahead(r->next, FCNTDOWN_BLOCK);
		r->batch = current_batch;
		f |= FCNTDOWN_STAGE;
	}
	if (r->next >= r->durable)
		f |= FCNTDOWN_COMMIT;
	return f;
}

void fcntdown_used(struct fcntdown *r)
{
	if (r->next < UINT32_MAX)
		r->next++;
}

void fcntdown_unstage(struct fcntdown *r)
{
	if (r->batch != 0) {   /* back to what is known durable */
		r->ceiling = r->durable;
		r->batch = 0;
	}
}
