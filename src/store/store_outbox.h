/* SPDX-License-Identifier: MIT */
/*
 * store_outbox.h - the outbox of the store (table `outbox`): events whose
 * state is committed and that have not yet been acknowledged by the MQTT
 * broker. Events are added in the same batch as the state they report (an
 * uplink's FCnt), so after a crash every committed uplink still has its
 * event; acknowledgements are recorded, again in a batch, as a mark.
 *
 * Events are numbered by the caller (seq >= 1, increasing in the order they
 * are to be published, over every device) and read back in that order, a
 * page at a time, so a long outage never needs them all in memory. Writes
 * are staged into the open batch (store_batch.h); reads see staged events,
 * which is why a page is bounded above by the caller (the last seq it knows
 * to be committed).
 *
 * Packed rows: the events of one call to store_outbox_add_many() are
 * written as few rows as their size allows (up to STORE_OUTBOX_PACK_EVENTS
 * events and STORE_OUTBOX_PACK_BYTES bytes a row; a larger event alone),
 * each row keyed by its last event's seq. A row costs SQLite about what an
 * event cost when each had its own, so a batch of 60 events costs one
 * insert instead of 60, and one deletion instead of 60 later.
 *
 * Acknowledgements: store_outbox_ack(upto) says that every event up to
 * upto is done (acknowledged, or refused for good): the mark is kept in the
 * meta table (STORE_OUTBOX_ACKED_KEY) and the rows wholly at or below it
 * are deleted, in the same batch. Pages and usage skip the events at or
 * below the mark, so the part of a row already acknowledged is never
 * delivered again after a restart.
 *
 * Size: store_outbox_row_bytes() is what an event counts against a limit:
 * its topic and payload bytes plus STORE_OUTBOX_ROW_OVERHEAD. The store
 * does not enforce a limit; store_outbox_usage() gives the figures to start
 * from.
 *
 * Errors: the lb_err codes at the top of store.h: LB_ERR_INVAL (seq 0 or
 * above INT64_MAX, seqs of one call not increasing, QoS outside 0..2, empty
 * topic, a mark below the last one or above the last seq), LB_ERR_TOO_LARGE
 * (topic or payload beyond STORE_OUTBOX_TOPIC_MAX /
 * STORE_OUTBOX_PAYLOAD_MAX), LB_ERR_DUPLICATE (a seq at or below one the
 * outbox already had), LB_ERR_IO (also: a row that does not decode, edited
 * by hand). Ownership: events passed in are copied; an event handed to a
 * callback (its topic and payload) is valid only during the call.
 */
#ifndef LB_STORE_OUTBOX_H
#define LB_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

/* One event of `outbox`. */
struct store_outbox_row {
	uint64_t seq;                   /* >= 1, unique, publication order */
	uint64_t dev_eui;               /* whose event it is */
	int qos;                        /* 0..2 */
	int64_t created_at;             /* Unix s; set by add */
	const char *topic;              /* NUL-terminated */
	const void *payload;            /* len bytes */
	size_t len;
};

/* What the outbox holds after the mark: events, their bytes
 * (store_outbox_row_bytes() summed), the lowest and highest seq (0 and 0
 * when empty), and the mark (0: none yet). */
struct store_outbox_usage {
	uint64_t rows;
	uint64_t bytes;
	uint64_t first_seq;
	uint64_t last_seq;
	uint64_t acked;
};

typedef int (*store_outbox_cb)(void *arg, const struct store_outbox_row *row);

/* The bytes one event counts for: topic_len + len + STORE_OUTBOX_ROW_OVERHEAD. */
uint64_t store_outbox_row_bytes(size_t topic_len, size_t len);

/* Stage one event (created_at is set here), a row of its own. */
int store_outbox_add(struct store *s, const struct store_outbox_row *row);

/* Stage n events in increasing seq order, packed into rows (see above);
 * each row is staged whole or not at all. *staged (may be NULL) gets how
 * many events from the first were staged; on an error nothing after them
 * was, and the event at that index is the one refused or not written (a
 * row that does not fit the redo log: LB_ERR_FULL, store_batch.h). Errors
 * as store_outbox_add(). */
int store_outbox_add_many(struct store *s, const struct store_outbox_row *rows, size_t n,
			  size_t *staged);

/* Stage the mark: every event with seq <= upto is done; rows holding only
 * such events are deleted. A mark equal to the last one stages nothing. */
int store_outbox_ack(struct store *s, uint64_t upto);

/* Events with after < seq <= upto and above the mark, in seq order, at
 * most limit of them, to cb. *n (may be NULL) gets how many were
 * delivered. A non-zero return of cb stops the page and is returned. */
int store_outbox_page(struct store *s, uint64_t after, uint64_t upto, size_t limit,
		      store_outbox_cb cb, void *arg, size_t *n);

/* Counts of every event above the mark, staged ones included. */
int store_outbox_usage(struct store *s, struct store_outbox_usage *out);

#endif
