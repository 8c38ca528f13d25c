/* SPDX-License-Identifier: MIT */
/*
 * store_write.h - the writes the store stages (internal to store/): the
 * record of each kind of write as it is kept in the redo log, and
 * store__apply(), which runs a record against the database both when it is
 * staged and when a failed batch is replayed (store_batch.c).
 *
 * Errors: LB_OK or an lb_err code: LB_ERR_INVAL (a record of the wrong
 * size, an unknown kind), LB_ERR_NOT_FOUND (an update or delete that finds
 * no row) and the codes of store__fail() (store_db.h). Ownership: a record
 * is plain bytes read in place; nothing is kept.
 */
#ifndef LB_STORE_WRITE_H
#define LB_STORE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

/* Staged write kinds, recorded in the redo log and replayed in order. */
enum store_op {
	OP_PUT_SESSION = 1,   /* struct store_session */
	OP_ADD_NONCE,         /* struct store__nonce */
	OP_DL_PUSH,           /* struct store_downlink, seq assigned */
	OP_DL_UPDATE,         /* struct store__dl_update */
	OP_DL_DELETE,         /* struct store__dl_id */
	OP_DL_FLUSH,          /* uint64_t dev_eui */
	OP_LEDGER_PUT,        /* struct store__ledger + len bytes */
	OP_META_PUT,          /* struct store__meta */
	OP_PURGE,             /* uint64_t dev_eui */
	OP_GW_ONLINE,         /* struct store__gw_online */
	OP_OUTBOX_PACK,       /* struct store__pack + its body */
	OP_OUTBOX_ACK,        /* struct store__outbox_ack */
	OP_MAC_PUT,           /* struct store_mac */
	OP_PUT_SESSION_MANY,  /* struct store__many + n struct store_session */
	OP_LEDGER_PUT_MANY,   /* struct store__many + n (struct store__ledger + blob) */
	OP_PUT_FCNT,          /* struct store__fcnt */
	OP_PUT_FCNT_MANY,     /* struct store__many + n struct store__fcnt */
	OP_ABP_SEEN_PUT,      /* struct store_abp_seen (schema v8) */
	OP_PENDING_PUT,       /* struct store_pending (schema v9, v12) */
	OP_PENDING_DELETE,    /* uint64_t dev_eui */
	OP_PURGE_SEEN         /* uint64_t dev_eui: its abp_seen rows (schema v8) */
};

struct store__nonce {
	uint64_t dev_eui;
	uint16_t nonce;
};

struct store__dl_id {
	char id[STORE_DL_ID_SIZE];
};

struct store__dl_update {
	char id[STORE_DL_ID_SIZE];
	enum store_dl_state state;
	bool has_fcnt_down;
	uint32_t fcnt_down;
};

/* A device's counters alone (table session_fcnt). */
struct store__fcnt {
	uint64_t dev_eui;
	int64_t updated_at;
	uint32_t fcnt_up_last;
	uint32_t nfcnt_down;
	uint32_t has_fcnt_up_last;
	uint32_t pad;
};

struct store__ledger {
	uint64_t owner;
	uint32_t kind;
	uint32_t len;         /* bytes following this header */
};

struct store__meta {
	char key[STORE_META_KEY_SIZE];
	int64_t value;
};

struct store__gw_online {
	uint64_t gateway_eui;
	bool online;          /* false: remove the row */
	int64_t since;        /* Unix s */
};

/* One row of `outbox`: events first..last (n of them, counting `bytes`
 * against a limit: store_outbox_row_bytes() summed); their encoded body
 * (body_len bytes, the format is drawn in store_outbox.c) follows. */
struct store__pack {
	uint64_t first;
	uint64_t last;
	uint64_t bytes;
	uint32_t n;
	uint32_t body_len;
};

/* Rows written by one statement (the *_MANY ops), n a power of 2 from 2 to
 * STORE_MANY_ROWS: this head, then the n rows. Rows of variable size (a
 * ledger: struct store__ledger, blob) are each padded to a multiple of 8 bytes
 * (store__entry_size()) so that the next one is read in place. */
struct store__many {
	uint32_t n;
	uint32_t pad;
};

/* A row of head bytes and len more, padded to a multiple of 8 bytes. */
static inline size_t store__entry_size(size_t head, size_t len)
{
	return (head + len + 7u) & ~(size_t)7;
}

/* Every outbox event up to `upto` acknowledged: the mark is kept (meta
 * STORE_OUTBOX_ACKED_KEY) and the rows wholly at or below it deleted. */
struct store__outbox_ack {
	uint64_t upto;
};

/* Whether a pack's body (p->body_len bytes) holds exactly its p->n events,
 * seqs from p->first to p->last increasing, each within the limits
 * (store_outbox.c draws the format). */
bool store__outbox_body_ok(const struct store__pack *p, const void *body);

/* Run one write op (store_write.c); LB_OK or an lb_err code. */
int store__apply(struct store *s, enum store_op op, const void *payload, size_t len);

/* Copy a NUL-terminated string of at most size-1 characters; LB_ERR_INVAL
 * if empty, NULL or too long. */
int store__copy_str(char *dst, size_t size, const char *src);

#endif
