/* SPDX-License-Identifier: MIT */
/* sim_acks.c - outstanding ACK tokens, see sim_acks.h. */
#include "sim_acks.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define TOKEN_SPACE 65536

int sim_acks_init(struct sim_acks *a, size_t cap, int64_t timeout_us)
{
	memset(a, 0, sizeof(*a));
	if (cap == 0 || cap >= TOKEN_SPACE)
		return LB_ERR_RANGE;
	a->ring = calloc(cap, sizeof(*a->ring));
	if (!a->ring)
		return LB_ERR_NOMEM;
	a->cap = cap;
	a->timeout_us = timeout_us;
	return LB_OK;
}

void sim_acks_free(struct sim_acks *a)
{
	free(a->ring);
	memset(a, 0, sizeof(*a));
}

uint16_t sim_acks_token(const uint8_t tok[2])
{
	return (uint16_t)(tok[0] << 8 | tok[1]);
}

static struct sim_ack_entry *at(struct sim_acks *a, size_t i)
{
	return &a->ring[(a->head + i) % a->cap];
}

static void remember_expired(struct sim_acks *a, uint16_t token)
{
	a->expired[a->n_expired % SIM_ACKS_EXPIRED_MEMORY] = token;
	a->n_expired++;
}

/* Pop the head; returns true if it was never acked (a missing ACK). */
static bool pop_head(struct sim_acks *a)
{
	struct sim_ack_entry *e = at(a, 0);
	bool missing = !e->acked;

	if (missing) {
		remember_expired(a, e->token);
		a->outstanding--;
	}
	a->head = (a->head + 1) % a->cap;
	a->n--;
	return missing;
}

size_t sim_acks_add(struct sim_acks *a, uint16_t token, int64_t now_us)
{
	size_t missing = 0;

	while (a->n == a->cap)
		missing += pop_head(a);
	struct sim_ack_entry *e = at(a, a->n);
	e->token = token;
	e->acked = false;
	e->deadline_us = now_us + a->timeout_us;
	a->n++;
	a->outstanding++;
	return missing;
}

static bool recently_expired(const struct sim_acks *a, uint16_t token)
{
	size_t n = a->n_expired < SIM_ACKS_EXPIRED_MEMORY ? a->n_expired : SIM_ACKS_EXPIRED_MEMORY;

	for (size_t i = 0; i < n; i++)
		if (a->expired[i] == token)
			return true;
	return false;
}

enum sim_ack_result sim_acks_match(struct sim_acks *a, uint16_t token)
{
	for (size_t i = 0; i < a->n; i++) {
		struct sim_ack_entry *e = at(a, i);
		if (e->acked || e->token != token)
			continue;
		e->acked = true;
		a->outstanding--;
		/* Acked entries at the head free their slot at once. */
		while (a->n > 0 && at(a, 0)->acked)
			pop_head(a);
		return SIM_ACK_OK;
	}
	return recently_expired(a, token) ? SIM_ACK_LATE : SIM_ACK_UNKNOWN;
}

size_t sim_acks_expire(struct sim_acks *a, int64_t now_us)
{
	size_t missing = 0;

	while (a->n > 0 && (at(a, 0)->acked || at(a, 0)->deadline_us <= now_us))
		missing += pop_head(a);
	return missing;
}

int64_t sim_acks_next_deadline(const struct sim_acks *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct sim_ack_entry *e = &a->ring[(a->head + i) % a->cap];
		if (!e->acked)
			return e->deadline_us;
	}
	return -1;
}
