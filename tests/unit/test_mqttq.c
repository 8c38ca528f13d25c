/* SPDX-License-Identifier: MIT */
/* test_mqttq.c - the bounded MQTT publish queue: FIFO order, overflow drops
 * the oldest and counts it, put-back at the head, ownership. Memory
 * ownership is checked by ASan/LSan (every message must be freed exactly
 * once). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "io/mqttq.h"

/* Message whose topic and payload both carry the number n. */
static struct mqttq_msg *numbered(int n)
{
	char topic[32], payload[32];

	snprintf(topic, sizeof(topic), "t/%d", n);
	int len = snprintf(payload, sizeof(payload), "msg-%d", n);
	struct mqttq_msg *m = mqttq_msg_new(topic, payload, (size_t)len, n % 3, n % 2 == 0);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* Pop the head and check it is message n; frees it. */
static void expect_pop(struct mqttq *q, int n)
{
	char topic[32], payload[32];
	struct mqttq_msg *m = mqttq_pop(q);

	ck_assert_ptr_nonnull(m);
	snprintf(topic, sizeof(topic), "t/%d", n);
	int len = snprintf(payload, sizeof(payload), "msg-%d", n);
	ck_assert_str_eq(m->topic, topic);
	ck_assert_uint_eq(m->len, (size_t)len);
	ck_assert_mem_eq(m->payload, payload, (size_t)len);
	ck_assert_int_eq(m->qos, n % 3);
	ck_assert(m->retain == (n % 2 == 0));
	mqttq_msg_free(&m);
	ck_assert_ptr_null(m);
}

START_TEST(msg_new_copies_inputs)
{
	char topic[] = "application/1/device/0102/event/up";
	unsigned char payload[] = {0x00, 0x7b, 0x00, 0xff};
	struct mqttq_msg *m = mqttq_msg_new(topic, payload, sizeof(payload), 1, true);

	ck_assert_ptr_nonnull(m);
	topic[0] = 'X';
	payload[1] = 0;
	ck_assert_str_eq(m->topic, "application/1/device/0102/event/up");
	ck_assert_uint_eq(m->len, 4);
	ck_assert_mem_eq(m->payload, "\x00\x7b\x00\xff", 4);
	ck_assert_int_eq(m->qos, 1);
	ck_assert(m->retain);
	mqttq_msg_free(&m);
	mqttq_msg_free(&m); /* NULL-safe */
}
END_TEST

START_TEST(msg_new_empty_payload_and_bad_args)
{
	struct mqttq_msg *m = mqttq_msg_new("a/b", NULL, 0, 0, false);

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(m->payload);
	ck_assert_uint_eq(m->len, 0);
	ck_assert_str_eq(m->topic, "a/b");
	mqttq_msg_free(&m);

	ck_assert_ptr_null(mqttq_msg_new(NULL, "x", 1, 0, false));
	ck_assert_ptr_null(mqttq_msg_new("a", NULL, 3, 0, false));
}
END_TEST

START_TEST(init_rejects_zero_limit)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 0), LB_ERR_INVAL);
	ck_assert_ptr_null(mqttq_pop(&q));
	mqttq_free(&q);
}
END_TEST

START_TEST(fifo_order)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 8), LB_OK);
	ck_assert_ptr_null(mqttq_peek(&q));
	ck_assert_ptr_null(mqttq_pop(&q));
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(mqttq_push(&q, numbered(i)), 0);
	ck_assert_uint_eq(mqttq_len(&q), 5);
	ck_assert_str_eq(mqttq_peek(&q)->topic, "t/0");
	for (int i = 0; i < 5; i++)
		expect_pop(&q, i);
	ck_assert_uint_eq(mqttq_len(&q), 0);
	ck_assert_uint_eq(q.dropped, 0);
	mqttq_free(&q);
}
END_TEST

/* Interleave pushes and pops so head wraps around the ring many times. */
START_TEST(fifo_order_across_wraparound)
{
	struct mqttq q;
	int next_in = 0, next_out = 0;

	ck_assert_int_eq(mqttq_init(&q, 3), LB_OK);
	for (int round = 0; round < 20; round++) {
		ck_assert_uint_eq(mqttq_push(&q, numbered(next_in++)), 0);
		ck_assert_uint_eq(mqttq_push(&q, numbered(next_in++)), 0);
		expect_pop(&q, next_out++);
		expect_pop(&q, next_out++);
	}
	ck_assert_int_eq(next_in, 40);
	ck_assert_uint_eq(mqttq_len(&q), 0);
	mqttq_free(&q);
}
END_TEST

START_TEST(overflow_drops_oldest_and_counts)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 4), LB_OK);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(mqttq_push(&q, numbered(i)), 0);
	ck_assert(mqttq_full(&q));
	/* 6 more: messages 0..5 are dropped, 6..9 remain. */
	for (int i = 4; i < 10; i++)
		ck_assert_uint_eq(mqttq_push(&q, numbered(i)), 1);
	ck_assert_uint_eq(q.dropped, 6);
	ck_assert_uint_eq(mqttq_len(&q), 4);
	for (int i = 6; i < 10; i++)
		expect_pop(&q, i);
	ck_assert_ptr_null(mqttq_pop(&q));
	ck_assert_uint_eq(q.dropped, 6);
	mqttq_free(&q);
}
END_TEST

START_TEST(limit_one)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 1), LB_OK);
	ck_assert_uint_eq(mqttq_push(&q, numbered(1)), 0);
	ck_assert_uint_eq(mqttq_push(&q, numbered(2)), 1);
	ck_assert_uint_eq(mqttq_push(&q, numbered(3)), 1);
	ck_assert_uint_eq(q.dropped, 2);
	expect_pop(&q, 3);
	ck_assert_uint_eq(mqttq_len(&q), 0);
	mqttq_free(&q);
}
END_TEST

START_TEST(push_front_restores_order)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 6), LB_OK);
	for (int i = 3; i < 6; i++)
		mqttq_push(&q, numbered(i));
	/* Give back 2, 1, 0 (reverse order) so the head reads 0, 1, 2. */
	for (int i = 2; i >= 0; i--)
		ck_assert_uint_eq(mqttq_push_front(&q, numbered(i)), 0);
	ck_assert_uint_eq(mqttq_len(&q), 6);
	for (int i = 0; i < 6; i++)
		expect_pop(&q, i);
	mqttq_free(&q);
}
END_TEST

START_TEST(push_front_on_full_drops_the_given_message)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 2), LB_OK);
	mqttq_push(&q, numbered(5));
	mqttq_push(&q, numbered(6));
	/* Message 4 is older than everything queued: it is the one dropped. */
	ck_assert_uint_eq(mqttq_push_front(&q, numbered(4)), 1);
	ck_assert_uint_eq(q.dropped, 1);
	expect_pop(&q, 5);
	expect_pop(&q, 6);
	mqttq_free(&q);
}
END_TEST

/* mqttq_free releases queued messages (LSan would report a leak). */
START_TEST(free_releases_queued_messages)
{
	struct mqttq q;

	ck_assert_int_eq(mqttq_init(&q, 16), LB_OK);
	for (int i = 0; i < 40; i++)
		mqttq_push(&q, numbered(i));
	ck_assert_uint_eq(mqttq_len(&q), 16);
	ck_assert_uint_eq(q.dropped, 24);
	mqttq_free(&q);
	ck_assert_ptr_null(q.ring);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_ptr_null(mqttq_pop(&q));
	mqttq_free(&q); /* idempotent on a freed queue */
}
END_TEST

/* A pooled message's block comes back to the pool when freed and is the
 * next one used; a message too large for a block is allocated alone; the
 * pool keeps at most MQTTQ_POOL_MAX blocks. (ASan checks nothing leaks.) */
START_TEST(pool_reuses_blocks)
{
	struct mqttq_pool pool = {.n = 0};
	static char big[MQTTQ_POOL_BLOCK];
	struct mqttq_msg *m = mqttq_msg_new_pooled(&pool, "a/b", "xyz", 3, 1, false);

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_eq(m->pool, &pool);
	void *block = m;
	mqttq_msg_free(&m);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(pool.n, 1);
	m = mqttq_msg_new_pooled(&pool, "c/d", "hello", 5, 0, true);
	ck_assert_ptr_eq(m, block);
	ck_assert_uint_eq(pool.n, 0);
	ck_assert_str_eq(m->topic, "c/d");
	ck_assert_mem_eq(m->payload, "hello", 5);
	ck_assert(m->retain);
	mqttq_msg_free(&m);

	memset(big, 'b', sizeof(big));
	m = mqttq_msg_new_pooled(&pool, "e", big, sizeof(big), 1, false);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(m->pool);
	mqttq_msg_free(&m);
	ck_assert_uint_eq(pool.n, 1);

	struct mqttq_msg *many[MQTTQ_POOL_MAX + 3];
	for (size_t i = 0; i < MQTTQ_POOL_MAX + 3; i++)
		many[i] = mqttq_msg_new_pooled(&pool, "t", "p", 1, 0, false);
	for (size_t i = 0; i < MQTTQ_POOL_MAX + 3; i++)
		mqttq_msg_free(&many[i]);
	ck_assert_uint_eq(pool.n, MQTTQ_POOL_MAX);
	mqttq_pool_free(&pool);
	ck_assert_uint_eq(pool.n, 0);
}
END_TEST

static Suite *mqttq_suite(void)
{
	Suite *s = suite_create("mqttq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, msg_new_copies_inputs);
	tcase_add_test(tc, msg_new_empty_payload_and_bad_args);
	tcase_add_test(tc, init_rejects_zero_limit);
	tcase_add_test(tc, fifo_order);
	tcase_add_test(tc, fifo_order_across_wraparound);
	tcase_add_test(tc, overflow_drops_oldest_and_counts);
	tcase_add_test(tc, limit_one);
	tcase_add_test(tc, push_front_restores_order);
	tcase_add_test(tc, push_front_on_full_drops_the_given_message);
	tcase_add_test(tc, free_releases_queued_messages);
	tcase_add_test(tc, pool_reuses_blocks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqttq_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
