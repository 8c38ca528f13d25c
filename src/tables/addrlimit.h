/* SPDX-License-Identifier: MIT */
/*
 * addrlimit.h - a rate limit per source IP address (pure: no sockets, no
 * clock, no logging; time is a parameter).
 *
 * The gateway table (gateway.h) asks it about every datagram that does not
 * come from the address its gateway EUI is bound to: a new EUI, or an EUI
 * claimed from elsewhere. A flood from one address then costs that address
 * its own budget and nothing else, and a gateway speaking from its bound
 * address never touches this table (it has its own limit, per EUI).
 *
 * Each address gets a bucket of `count` datagrams refilled at `count` per
 * `window_ms`: `count` datagrams may arrive back to back, then one per
 * window / count. It is kept as one theoretical arrival time per address
 * (the Generic Cell Rate Algorithm of ITU-T I.371, the virtual scheduling
 * form): a datagram at t passes if TAT - t <= window - window / count, and
 * then moves TAT to max(TAT, t) + window / count. Refused datagrams do not
 * move it.
 *
 * An address here is a source address's group (netaddr_group()): an IPv4
 * address, or an IPv6 /64, whose 2^64 addresses one host may use in turn.
 *
 * The table is bounded (max addresses): an address not seen is added,
 * evicting the least recently seen one. An evicted address that comes back
 * starts with a full bucket, so eviction only ever helps the address
 * evicted; an attacker cycling through many addresses escapes its own
 * limit, never makes anyone else's stricter.
 *
 * Ownership: addrlimit_init() allocates the table, addrlimit_free()
 * releases it (safe on a zeroed or freed struct). Nothing is allocated
 * after init.
 */
#ifndef LB_ADDRLIMIT_H
#define LB_ADDRLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/netaddr.h"

#define ADDRLIMIT_DEFAULT_MAX 1024

struct addrlimit_entry {
	struct netaddr addr;
	int64_t tat_us;                  /* theoretical arrival time (GCRA) */
	uint32_t hnext;                  /* hash chain, or free list */
	uint32_t newer, older;           /* recency list */
};

struct addrlimit {
	struct addrlimit_entry *e;       /* max slots; NULL when the limit is off */
	size_t max, count;
	uint32_t *buckets;
	unsigned bucket_bits;
	uint32_t free_head;
	uint32_t newest, oldest;         /* recency list ends */
	int64_t interval_us;             /* window / count */
	int64_t tolerance_us;            /* window - interval */
	/* counters */
	uint64_t refused;
	uint64_t evicted;
};

/*
 * count datagrams per window_ms per address, max addresses remembered (0 =
 * ADDRLIMIT_DEFAULT_MAX). count 0 or window_ms 0 turns the limit off: every
 * datagram passes and nothing is allocated. Errors: LB_ERR_INVAL (NULL),
 * LB_ERR_RANGE (negative values), LB_ERR_NOMEM.
 */
int addrlimit_init(struct addrlimit *t, size_t max, int count, int window_ms);
void addrlimit_free(struct addrlimit *t);

/* One datagram from `from` at now_us: true if it passes (and is counted
 * against from's group), false if the group is over its limit (counted in
 * `refused`). */
bool addrlimit_admit(struct addrlimit *t, const struct netaddr *from, int64_t now_us);

/* How long until `from` would pass again (µs; 0: it would pass now),
 * e.g. for an HTTP Retry-After. Changes nothing. */
int64_t addrlimit_wait_us(const struct addrlimit *t, const struct netaddr *from, int64_t now_us);

size_t addrlimit_count(const struct addrlimit *t);

#endif
