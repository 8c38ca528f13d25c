/* SPDX-License-Identifier: MIT */
/*
 * store_db.h - the SQLite side that every store module shares (internal to
 * store/): the SQL of each statement prepared at open with the column
 * positions of its rows, getting a statement ready for binding, and the one
 * place where SQLite result codes become lb_err codes.
 *
 * Errors: store__fail() and store__translate() map SQLite codes to the
 * lb_err codes listed at the top of store.h. Ownership: the prepared
 * statements belong to the struct store (store_open() prepares them,
 * store_close() finalises them).
 */
#ifndef LB_STORE_DB_H
#define LB_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store_types.h"

#define STORE_LOG_TAG "store"

/* Every statement the store runs after open, prepared once (store.c). */
enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SESSION_PUT,
	STMT_SESSION_PUT_2,           /* 2, 4 ... STORE_MANY_ROWS rows */
	STMT_SESSION_PUT_4,
	STMT_SESSION_PUT_8,
	STMT_SESSION_PUT_16,
	STMT_SESSION_PUT_32,
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
	STMT_DL_DEVICES,
	STMT_LEDGER_PUT,
	STMT_LEDGER_PUT_2,            /* 2, 4 ... STORE_MANY_ROWS rows */
	STMT_LEDGER_PUT_4,
	STMT_LEDGER_PUT_8,
	STMT_LEDGER_PUT_16,
	STMT_LEDGER_PUT_32,
	STMT_LEDGER_GET,
	STMT_META_PUT,
	STMT_META_GET,
	STMT_PURGE_SESSION,
	STMT_PURGE_NONCE,
	STMT_PURGE_DL,
	STMT_PURGE_LEDGER,
	STMT_GW_ONLINE_PUT,
	STMT_GW_ONLINE_DELETE,
	STMT_GW_ONLINE_ALL,
	STMT_OUTBOX_INSERT,
	STMT_OUTBOX_INSERT_2,         /* 2, 4 ... STORE_MANY_ROWS rows */
	STMT_OUTBOX_INSERT_4,
	STMT_OUTBOX_INSERT_8,
	STMT_OUTBOX_INSERT_16,
	STMT_OUTBOX_INSERT_32,
	STMT_OUTBOX_DELETE,
	STMT_OUTBOX_PAGE,
	STMT_OUTBOX_USAGE,
	STMT_MAC_PUT,
	STMT_MAC_GET,
	STMT_MAC_ALL,
	STMT_PURGE_MAC,
	STMT__COUNT
};

#define SESSION_COLS                                                                 \
	"dev_eui, activation, dev_addr, nwk_s_key, app_s_key, fcnt_up_last, nfcnt_down," \
	" rx1_dr_offset, rx2_dr, rx2_freq, rx_delay, join_nonce_last, dev_nonce_last,"  \
	" joined_at, updated_at"
/* Column (0-based) / parameter (1-based) positions of SESSION_COLS. */
enum { SC_DEV_EUI, SC_ACTIVATION, SC_DEV_ADDR, SC_NWK_S_KEY, SC_APP_S_KEY, SC_FCNT_UP_LAST,
       SC_NFCNT_DOWN, SC_RX1_DR_OFFSET, SC_RX2_DR, SC_RX2_FREQ, SC_RX_DELAY,
       SC_JOIN_NONCE_LAST, SC_DEV_NONCE_LAST, SC_JOINED_AT, SC_UPDATED_AT, SC__COUNT };

/* Columns of `downlink` as selected and inserted, (0-based) positions. */
#define DL_COLS \
	"id, dev_eui, seq, fport, confirmed, data, state, fcnt_down, created_at, expires_at"
enum { DC_ID, DC_DEV_EUI, DC_SEQ, DC_FPORT, DC_CONFIRMED, DC_DATA, DC_STATE, DC_FCNT_DOWN,
       DC_CREATED_AT, DC_EXPIRES_AT };

/* Columns of `mac_state`, (0-based) positions. */
#define MAC_COLS                                                                        \
	"dev_eui, session_at, dr, tx_power, nb_trans, ch_mask, unanswered, backoff_until," \
	" status_at, battery, margin, rx_done, updated_at"
enum { MC_DEV_EUI, MC_SESSION_AT, MC_DR, MC_TX_POWER, MC_NB_TRANS, MC_CH_MASK, MC_UNANSWERED,
       MC_BACKOFF_UNTIL, MC_STATUS_AT, MC_BATTERY, MC_MARGIN, MC_RX_DONE, MC_UPDATED_AT };

/* Columns of `outbox` as selected and inserted, (0-based) positions. */
#define OUTBOX_COLS "seq, dev_eui, qos, topic, payload, created_at"
enum { OC_SEQ, OC_DEV_EUI, OC_QOS, OC_TOPIC, OC_PAYLOAD, OC_CREATED_AT, OC__COUNT };

/* The SQL of every statement, indexed by enum store_stmt. */
extern const char *const store__sql[STMT__COUNT];

/* Statements writing several rows: `one` is the statement of one row and
 * those of 2, 4 ... STORE_MANY_ROWS rows follow it in enum store_stmt.
 * store__many_stmt() is the one for n rows, -1 when n is not such a power
 * of 2; store__group() the largest such n (or 1) that is at most k. */
int store__many_stmt(enum store_stmt one, uint32_t n);
size_t store__group(size_t k);

/* Prepare statement id (persistent). LB_OK or the translated error (logged).
 * store_open() prepares none: store__stmt() prepares each the first time it
 * is used, so a bridge holds only the statements it has run (the 33 of one
 * row take about 80 KB, those writing 2 ... STORE_MANY_ROWS rows about
 * 170 KB for the 15 of them: an idle bridge, or one whose batches stay
 * small, never holds most of them). */
int store__prepare(struct store *s, enum store_stmt id);

/* The statement, reset and unbound, ready for binding; a lazy one is
 * prepared first (NULL if that failed: only store__many_stmt()'s
 * statements are lazy, and their callers check). */
sqlite3_stmt *store__stmt(struct store *s, enum store_stmt id);

/* Translate an SQLite result code that is a failure here (never LB_OK,
 * even for an unexpected SQLITE_ROW/DONE); log what failed (I/O class
 * errors at error level, rate-limited; constraint errors at debug). */
int store__fail(struct store *s, int rc, const char *what);
int store__translate(int rc);

/* Bind failures (out of memory) are not checked one by one: an unbound
 * parameter is NULL, which a NOT NULL column refuses at step time, so the
 * error surfaces from sqlite3_step(). Parameters are 1-based. */
void store__bind_u64(sqlite3_stmt *st, int col, uint64_t v);

/* Unix seconds for the *_at columns: s->wall_s, or time(). */
int64_t store__wall_s(const struct store *s);

/* Fill s->dl_maybe with the devices that have downlink rows (at open, one
 * query). LB_OK, or an lb_err of the read (dl_all is then set). */
int store__dl_load_devices(struct store *s);

#endif
