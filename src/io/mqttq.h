/* SPDX-License-Identifier: MIT */
/*
 * mqttq.h - the bounded FIFO of outgoing MQTT messages (pure: no I/O, no
 * clock, no logging).
 *
 * The MQTT module parks here every publish that cannot be handed to
 * libmosquitto yet: while the broker is unreachable, and while the window of
 * un-acknowledged messages inside libmosquitto is full. The queue holds at
 * most `limit` messages. Pushing onto a full queue drops the OLDEST message
 * (the head) and counts it in `dropped`: recent data is worth more than old
 * data, and the count makes the loss visible instead of silent.
 *
 * Ownership:
 *   - mqttq_msg_new() allocates one block (struct + topic + payload); the
 *     caller owns it until it is pushed, and frees it with mqttq_msg_free().
 *   - mqttq_push()/mqttq_push_front() take ownership of the message in every
 *     case (also when it or another message is dropped); the caller must not
 *     touch it afterwards.
 *   - mqttq_pop() hands ownership of the head back to the caller.
 *   - mqttq_free() frees every message still queued and the ring itself.
 *   - A message made from a pool (mqttq_msg_new_pooled()) goes back to it
 *     when freed: the pool must outlive its messages (mqttq_pool_free()
 *     last). In steady state no message is allocated: the pool keeps up to
 *     MQTTQ_POOL_MAX blocks of MQTTQ_POOL_BLOCK bytes; a larger message is
 *     allocated on its own.
 */
#ifndef LB_MQTTQ_H
#define LB_MQTTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqttq_pool;

struct mqttq_msg {
	struct mqttq_pool *pool;  /* where the block goes back; NULL: freed */
	char *topic;        /* NUL-terminated, points into the same block */
	void *payload;      /* `len` bytes, same block; NULL when len == 0 */
	size_t len;
	int qos;            /* 0..2 */
	bool retain;
};

struct mqttq {
	struct mqttq_msg **ring;  /* `limit` slots */
	size_t limit;
	size_t head;              /* index of the oldest message */
	size_t count;
	uint64_t dropped;         /* messages dropped because the queue was full */
};

#define MQTTQ_POOL_BLOCK 2048    /* an `up` event with its topic fits */
#define MQTTQ_POOL_MAX 64         /* 128 KiB at most */

struct mqttq_pool {
	void *block[MQTTQ_POOL_MAX];  /* free blocks of MQTTQ_POOL_BLOCK bytes */
	size_t n;
};

/* Frees the blocks the pool keeps; the pool stays usable, and messages
 * made from it still out come back to it when freed (at mqtt_destroy() they
 * must be freed before). */
void mqttq_pool_free(struct mqttq_pool *pool);

/* As mqttq_msg_new(), the block taken from pool when it fits one. */
struct mqttq_msg *mqttq_msg_new_pooled(struct mqttq_pool *pool, const char *topic,
				       const void *payload, size_t len, int qos, bool retain);

/* One allocation holding the message, a copy of `topic` and of `payload`.
 * Returns NULL on allocation failure or when topic is NULL or payload is
 * NULL with len > 0. */
struct mqttq_msg *mqttq_msg_new(const char *topic, const void *payload, size_t len,
				int qos, bool retain);
/* Frees *msg (or gives its block back to its pool) and sets it to NULL;
 * NULL-safe. */
void mqttq_msg_free(struct mqttq_msg **msg);

/* limit >= 1. Errors: LB_ERR_INVAL (limit 0), LB_ERR_NOMEM. */
int mqttq_init(struct mqttq *q, size_t limit);
/* Frees every queued message and the ring; the struct is zeroed. */
void mqttq_free(struct mqttq *q);

/*
 * Append at the tail. When the queue is full the oldest message is freed
 * and counted in q->dropped first. Returns the number of messages dropped
 * by this call (0 or 1). msg must not be NULL.
 */
size_t mqttq_push(struct mqttq *q, struct mqttq_msg *msg);

/*
 * Put a message back at the head (it is older than everything queued: used
 * to give back messages that were handed to the library but never sent).
 * When the queue is full, msg itself is the oldest and is the one dropped
 * and counted. Returns the number dropped (0 or 1).
 */
size_t mqttq_push_front(struct mqttq *q, struct mqttq_msg *msg);

/* Oldest message, still owned by the queue; NULL when empty. */
const struct mqttq_msg *mqttq_peek(const struct mqttq *q);
/* Remove and return the oldest message (caller owns it); NULL when empty. */
struct mqttq_msg *mqttq_pop(struct mqttq *q);

size_t mqttq_len(const struct mqttq *q);
bool mqttq_full(const struct mqttq *q);

#endif
