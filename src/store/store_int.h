/*
 * store_int.h - internals shared by store.c (connection, schema, batches,
 * redo log) and store_ops.c (the row operations). Not a public API.
 */
#ifndef LB_STORE_INT_H
#define LB_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

#define STORE_LOG_TAG "store"

/* Every statement the store runs after open, prepared once (store.c). */
enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SESSION_PUT,
	STMT_SESSION_GET,
	STMT_SESSION_ALL,
	STMT_NONCE_USED,
	STMT_NONCE_ADD,
	STMT_DL_MAXSEQ,
	STMT_DL_INSERT,
	STMT_DL_LIST,
	STMT_DL_GET,
	STMT_DL_UPDATE,
	STMT_DL_DELETE,
	STMT_DL_FLUSH,
	STMT_DL_COUNT,
	STMT_LEDGER_PUT,
	STMT_LEDGER_GET,
	STMT_META_PUT,
	STMT_META_GET,
	STMT_PURGE_SESSION,
	STMT_PURGE_NONCE,
	STMT_PURGE_DL,
	STMT_PURGE_LEDGER,
	STMT__COUNT
};

/* Columns of `downlink` as selected and inserted, (0-based) positions. */
#define DL_COLS "id, dev_eui, seq, fport, confirmed, data, state, fcnt_down, created_at"
enum { DC_ID, DC_DEV_EUI, DC_SEQ, DC_FPORT, DC_CONFIRMED, DC_DATA, DC_STATE, DC_FCNT_DOWN,
       DC_CREATED_AT };

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
	OP_PURGE              /* uint64_t dev_eui */
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

/* CLOCK_MONOTONIC in microseconds. */
int64_t store__mono_us(void);

/* The statement, reset and unbound, ready for binding. */
sqlite3_stmt *store__stmt(struct store *s, enum store_stmt id);

/* Translate an SQLite result code that is a failure here (never LB_OK,
 * even for an unexpected SQLITE_ROW/DONE); log what failed (I/O class
 * errors at error level, rate-limited; constraint errors at debug). */
int store__fail(struct store *s, int rc, const char *what);
int store__translate(int rc);

/* Run one write op (store_ops.c); LB_OK or an lb_err code. */
int store__apply(struct store *s, enum store_op op, const void *payload, size_t len);

/* Open the batch (replaying the redo log after a failure) so that reads
 * which prepare a write see every staged row. */
int store__begin(struct store *s);

/* Stage a write: open the batch if needed, record it in the redo log and
 * apply it from there (the record is dropped again if that fails). The
 * payload is head followed by tail (tail may be NULL with tail_len 0). */
int store__stage2(struct store *s, enum store_op op, const void *head, size_t head_len,
		  const void *tail, size_t tail_len);
int store__stage(struct store *s, enum store_op op, const void *payload, size_t len);

/* Copy a NUL-terminated string of at most size-1 characters; LB_ERR_INVAL
 * if empty, NULL or too long. */
int store__copy_str(char *dst, size_t size, const char *src);

#endif
