/* SPDX-License-Identifier: MIT */
/*
 * sim_acks.h - tokens waiting for their PUSH_ACK / PULL_ACK (pure, no I/O).
 *
 * Every PUSH_DATA and PULL_DATA carries a random 2-byte token that the
 * server must echo (Semtech PROTOCOL.TXT §3, §5). One sim_acks per socket keeps the
 * outstanding tokens in send order in a ring; since every entry has the same
 * timeout, expiry only ever looks at the head. A short memory of expired
 * tokens tells a late ACK from a wrong one.
 *
 * Ownership: the struct is embedded by the caller; sim_acks_init() allocates
 * the ring and sim_acks_free() releases it.
 */
#ifndef LB_SIM_ACKS_H
#define LB_SIM_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_ACKS_EXPIRED_MEMORY 64

enum sim_ack_result {
	SIM_ACK_OK = 0,          /* matched an outstanding token */
	SIM_ACK_LATE = 1,        /* token of a datagram already counted missing */
	SIM_ACK_UNKNOWN = 2      /* never sent (or too long ago to remember) */
};

struct sim_ack_entry {
	uint16_t token;
	bool acked;
	int64_t deadline_us;
};

struct sim_acks {
	int64_t timeout_us;
	size_t cap;              /* ring size */
	size_t head;             /* oldest entry */
	size_t n;                /* entries in the ring, acked ones included */
	size_t outstanding;      /* entries not yet acked */
	struct sim_ack_entry *ring;
	uint16_t expired[SIM_ACKS_EXPIRED_MEMORY];
	size_t n_expired;        /* total ever expired; index = n_expired % MEMORY */
};

/* Room for `cap` outstanding tokens (cap < 65536: see the token sequence in
 * sim_gateway.c). Errors: LB_ERR_NOMEM, LB_ERR_RANGE. */
int sim_acks_init(struct sim_acks *a, size_t cap, int64_t timeout_us);
void sim_acks_free(struct sim_acks *a);

/* Token as the 16-bit value of its two wire bytes (byte 1 high). */
uint16_t sim_acks_token(const uint8_t tok[2]);

/* Record a sent token. Returns the number of entries that had to be given
 * up as missing to make room (0 unless `cap` are outstanding). */
size_t sim_acks_add(struct sim_acks *a, uint16_t token, int64_t now_us);

/* An ACK arrived: match it against the outstanding tokens (oldest first). */
enum sim_ack_result sim_acks_match(struct sim_acks *a, uint16_t token);

/* Drop entries whose deadline passed; returns how many were never acked. */
size_t sim_acks_expire(struct sim_acks *a, int64_t now_us);

/* Deadline of the oldest outstanding entry, or -1 if none. */
int64_t sim_acks_next_deadline(const struct sim_acks *a);

#endif
