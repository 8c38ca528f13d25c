/* SPDX-License-Identifier: MIT */
/*
 * store_outbox.h - the outbox of the store (table `outbox`): events whose
 * state is committed and that have not yet been acknowledged by the MQTT
 * broker. A row is added in the same batch as the state it reports (an
 * uplink's FCnt), so after a crash every committed uplink still has its
 * event; it is deleted, again in a batch, once the broker acknowledged it.
 *
 * Rows are numbered by the caller (seq >= 1, increasing in the order the
 * events are to be published, over every device) and read back in that
 * order, a page at a time, so a long outage never needs them all in memory.
 * Writes are staged into the open batch (store_batch.h); reads see staged
 * rows, which is why a page is bounded above by the caller (the last seq it
 * knows to be committed).
 *
 * Size: store_outbox_row_bytes() is what a row counts against a limit: its
 * topic and payload bytes plus STORE_OUTBOX_ROW_OVERHEAD. The store does not
 * enforce a limit; store_outbox_usage() gives the figures to start from.
 *
 * Errors: the lb_err codes at the top of store.h: LB_ERR_INVAL (seq 0 or
 * above INT64_MAX, QoS outside 0..2, empty topic, a range with first >
 * last), LB_ERR_TOO_LARGE (topic or payload beyond STORE_OUTBOX_TOPIC_MAX /
 * STORE_OUTBOX_PAYLOAD_MAX), LB_ERR_DUPLICATE (seq exists), LB_ERR_IO.
 * Ownership: rows passed in are copied; a row handed to a callback (its
 * topic and payload) is valid only during the call.
 */
#ifndef LB_STORE_OUTBOX_H
#define LB_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

/* One row of `outbox`. */
struct store_outbox_row {
	uint64_t seq;                   /* >= 1, unique, publication order */
	uint64_t dev_eui;               /* whose event it is */
	int qos;                        /* 0..2 */
	int64_t created_at;             /* Unix s; set by add */
	const char *topic;              /* NUL-terminated */
	const void *payload;            /* len bytes */
	size_t len;
};

/* What the outbox holds: rows, their bytes (store_outbox_row_bytes()
 * summed), the lowest and highest seq (0 and 0 when empty). */
struct store_outbox_usage {
	uint64_t rows;
	uint64_t bytes;
	uint64_t first_seq;
	uint64_t last_seq;
};

typedef int (*store_outbox_cb)(void *arg, const struct store_outbox_row *row);

/* The bytes one row counts for: topic_len + len + STORE_OUTBOX_ROW_OVERHEAD. */
uint64_t store_outbox_row_bytes(size_t topic_len, size_t len);

/* Stage a row (created_at is set here). */
int store_outbox_add(struct store *s, const struct store_outbox_row *row);

/* Stage n rows in order, in groups of 32, 16, 8, 4 or 2 rows
 * (STORE_MANY_ROWS at most) inserted by one statement each (a
 * statement costs about as much as a row: 60 rows take four), a last row
 * alone. Each group is staged whole or not at all: *staged (may be NULL)
 * gets how many rows from the first were staged; on an error nothing after
 * them was, and the row at that index (alone or first of its group) is the
 * one refused or not written. Errors as store_outbox_add(). */
int store_outbox_add_many(struct store *s, const struct store_outbox_row *rows, size_t n,
			  size_t *staged);

/* Stage the deletion of rows first..last (inclusive; rows that are not
 * there are skipped). */
int store_outbox_delete(struct store *s, uint64_t first, uint64_t last);

/* Rows with after < seq <= upto, in seq order, at most limit of them, to cb.
 * *n (may be NULL) gets how many were delivered. A non-zero return of cb
 * stops the page and is returned. */
int store_outbox_page(struct store *s, uint64_t after, uint64_t upto, size_t limit,
		      store_outbox_cb cb, void *arg, size_t *n);

/* Counts of every row, staged ones included. */
int store_outbox_usage(struct store *s, struct store_outbox_usage *out);

#endif
