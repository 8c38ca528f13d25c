/* SPDX-License-Identifier: MIT */
/* mqttq.c - bounded FIFO of outgoing MQTT messages. See mqttq.h. */
#include "io/mqttq.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

struct mqttq_msg *mqttq_msg_new_pooled(struct mqttq_pool *pool, const char *topic,
				       const void *payload, size_t len, int qos, bool retain)
{
	if (!topic || (len > 0 && !payload))
		return NULL;
	size_t tlen = strlen(topic) + 1;
	if (len > SIZE_MAX - sizeof(struct mqttq_msg) - tlen)
		return NULL;

	/* Layout of the one block: [struct][payload bytes][topic NUL]. */
	size_t need = sizeof(struct mqttq_msg) + len + tlen;
	struct mqttq_msg *msg;
	if (pool && need <= MQTTQ_POOL_BLOCK) {
		msg = pool->n > 0 ? pool->block[--pool->n] : malloc(MQTTQ_POOL_BLOCK);
	} else {
		msg = malloc(need);
		pool = NULL;
	}
	if (!msg)
		return NULL;
	unsigned char *tail = (unsigned char *)(msg + 1);
	msg->pool = pool;
	msg->payload = len > 0 ? tail : NULL;
	if (len > 0)
		memcpy(tail, payload, len);
	msg->topic = (char *)tail + len;
	memcpy(msg->topic, topic, tlen);
	msg->len = len;
	msg->qos = qos;
	msg->retain = retain;
	return msg;
}

struct mqttq_msg *mqttq_msg_new(const char *topic, const void *payload, size_t len,
				int qos, bool retain)
{
	return mqttq_msg_new_pooled(NULL, topic, payload, len, qos, retain);
}

void mqttq_msg_free(struct mqttq_msg **msg)
{
	if (!msg || !*msg)
		return;
	struct mqttq_pool *pool = (*msg)->pool;
	if (pool && pool->n < MQTTQ_POOL_MAX)
		pool->block[pool->n++] = *msg;
	else
		free(*msg);
	*msg = NULL;
}

void mqttq_pool_free(struct mqttq_pool *pool)
{
	while (pool->n > 0)
		free(pool->block[--pool->n]);
}

int mqttq_init(struct mqttq *q, size_t limit)
{
	memset(q, 0, sizeof(*q));
	if (limit == 0)
		return LB_ERR_INVAL;
	q->ring = calloc(limit, sizeof(*q->ring));
	if (!q->ring)
		return LB_ERR_NOMEM;
	q->limit = limit;
	return LB_OK;
}

void mqttq_free(struct mqttq *q)
{
	struct mqttq_msg *msg;

	while ((msg = mqttq_pop(q)) != NULL)
		mqttq_msg_free(&msg);
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

static size_t slot(const struct mqttq *q, size_t i)
{
	return (q->head + i) % q->limit;
}

size_t mqttq_push(struct mqttq *q, struct mqttq_msg *msg)
{
	size_t dropped = 0;

	if (q->count == q->limit) {
		struct mqttq_msg *old = mqttq_pop(q);
		mqttq_msg_free(&old);
		q->dropped++;
		dropped = 1;
	}
	q->ring[slot(q, q->count)] = msg;
	q->count++;
	return dropped;
}

size_t mqttq_push_front(struct mqttq *q, struct mqttq_msg *msg)
{
	if (q->count == q->limit) {
		mqttq_msg_free(&msg);
		q->dropped++;
		return 1;
	}
	q->head = (q->head + q->limit - 1) % q->limit;
	q->ring[q->head] = msg;
	q->count++;
	return 0;
}

const struct mqttq_msg *mqttq_peek(const struct mqttq *q)
{
	return q->count > 0 ? q->ring[q->head] : NULL;
}

struct mqttq_msg *mqttq_pop(struct mqttq *q)
{
	if (q->count == 0)
		return NULL;
	struct mqttq_msg *msg = q->ring[q->head];
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->limit;
	q->count--;
	return msg;
}

size_t mqttq_len(const struct mqttq *q)
{
	return q->count;
}

bool mqttq_full(const struct mqttq *q)
{
	return q->count == q->limit;
}
