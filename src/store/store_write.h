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
	OP_OUTBOX_ADD,        /* struct store__outbox + topic_len + len bytes */
	OP_OUTBOX_DELETE,     /* struct store__outbox_range */
	OP_MAC_PUT,           /* struct store_mac */
	OP_OUTBOX_ADD_MANY,   /* struct store__many + its rows */
	OP_PUT_SESSION_MANY,  /* struct store__many + n struct store_session */
	OP_LEDGER_PUT_MANY    /* struct store__many + n (struct store__ledger + blob) */
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

/* An outbox row; the topic (topic_len bytes, no NUL) and the payload (len
 * bytes) follow it. */
struct store__outbox {
	uint64_t seq;
	uint64_t dev_eui;
	int64_t created_at;
	uint32_t topic_len;
	uint32_t len;
	uint32_t qos;
	uint32_t pad;
};

/* Rows written by one statement (the *_MANY ops), n a power of 2 from 2 to
 * STORE_MANY_ROWS: this head, then the n rows. Rows of variable size (an
 * outbox row: struct store__outbox, topic, payload; a ledger: struct
 * store__ledger, blob) are each padded to a multiple of 8 bytes
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

/* Outbox rows first..last (inclusive) to delete. */
struct store__outbox_range {
	uint64_t first;
	uint64_t last;
};

/* Run one write op (store_write.c); LB_OK or an lb_err code. */
int store__apply(struct store *s, enum store_op op, const void *payload, size_t len);

/* Copy a NUL-terminated string of at most size-1 characters; LB_ERR_INVAL
 * if empty, NULL or too long. */
int store__copy_str(char *dst, size_t size, const char *src);

#endif
