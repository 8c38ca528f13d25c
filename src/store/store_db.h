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
	STMT_OUTBOX_DELETE_ACKED,
	STMT_OUTBOX_PAGE,
	STMT_OUTBOX_USAGE,
	STMT_MAC_PUT,
	STMT_MAC_GET,
	STMT_MAC_ALL,
	STMT_PURGE_MAC,
	STMT_FCNT_PUT,
	STMT_FCNT_PUT_2,              /* 2, 4 ... STORE_MANY_ROWS rows */
	STMT_FCNT_PUT_4,
	STMT_FCNT_PUT_8,
	STMT_FCNT_PUT_16,
	STMT_FCNT_PUT_32,
	STMT_FCNT_DELETE,
	STMT_PURGE_FCNT,
	STMT_ABP_SEEN_PUT,
	STMT_ABP_SEEN_BOUND,
	STMT_ABP_SEEN_GET,
	STMT_ABP_SEEN_COUNT,
	STMT_ABP_SEEN_IDS,
	STMT_PURGE_ABP_SEEN,
	STMT_PENDING_PUT,
	STMT_PENDING_ALL,
	STMT_PENDING_DELETE,          /* also the purge's */
	STMT_PENDING_GET,
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

/* The columns of `pending_session`: a session's, then what the device's
 * current session was (schema v12), at these positions. */
#define PENDING_COLS SESSION_COLS ", current_joined_at, current_fcnt_up"
enum { PC_CURRENT_JOINED_AT = SC__COUNT, PC_CURRENT_FCNT_UP, PC__COUNT };

/* The same, selected with a device's counters row (session_fcnt, schema
 * v7) in place of the counters of its session row when it has one. */
#define SESSION_COLS_READ                                                               \
	"s.dev_eui, s.activation, s.dev_addr, s.nwk_s_key, s.app_s_key,"                  \
	" CASE WHEN c.dev_eui IS NULL THEN s.fcnt_up_last ELSE c.fcnt_up_last END,"       \
	" CASE WHEN c.dev_eui IS NULL THEN s.nfcnt_down ELSE c.nfcnt_down END,"           \
	" s.rx1_dr_offset, s.rx2_dr, s.rx2_freq, s.rx_delay, s.join_nonce_last,"          \
	" s.dev_nonce_last, s.joined_at,"                                                 \
	" CASE WHEN c.dev_eui IS NULL THEN s.updated_at ELSE c.updated_at END"            \
	" FROM session s LEFT JOIN session_fcnt c ON c.dev_eui = s.dev_eui"

/* Columns of `session_fcnt` as inserted, (0-based) positions. */
#define FCNT_COLS "dev_eui, fcnt_up_last, nfcnt_down, updated_at"
enum { FC_DEV_EUI, FC_FCNT_UP_LAST, FC_NFCNT_DOWN, FC_UPDATED_AT, FC__COUNT };

/* Columns of `abp_seen` as selected and inserted, (0-based) positions. */
#define ABP_SEEN_COLS "dev_eui, session_id, fcnt_up_last, nfcnt_down, updated_at"
enum { AC_DEV_EUI, AC_SESSION_ID, AC_FCNT_UP_LAST, AC_NFCNT_DOWN, AC_UPDATED_AT };

/* Columns of `downlink` as selected and inserted, (0-based) positions. */
#define DL_COLS \
	"id, dev_eui, seq, fport, confirmed, data, state, fcnt_down, created_at, expires_at"
enum { DC_ID, DC_DEV_EUI, DC_SEQ, DC_FPORT, DC_CONFIRMED, DC_DATA, DC_STATE, DC_FCNT_DOWN,
       DC_CREATED_AT, DC_EXPIRES_AT };

/* Columns of `mac_state`, (0-based) positions. */
#define MAC_COLS                                                                        \
	"dev_eui, session_at, dr, tx_power, nb_trans, ch_mask, unanswered, backoff_until," \
	" status_at, battery, margin, rx_done, updated_at,"                             \
	" rx_param_unanswered, rx_param_backoff_until, rx_param_ask_offset,"            \
	" rx_param_ask_dr, rx_param_ask_freq, rx_timing_unanswered,"                    \
	" rx_timing_backoff_until, rx_timing_ask_delay"
enum { MC_DEV_EUI, MC_SESSION_AT, MC_DR, MC_TX_POWER, MC_NB_TRANS, MC_CH_MASK, MC_UNANSWERED,
       MC_BACKOFF_UNTIL, MC_STATUS_AT, MC_BATTERY, MC_MARGIN, MC_RX_DONE, MC_UPDATED_AT,
       MC_RXP_UNANSWERED, MC_RXP_BACKOFF_UNTIL, MC_RXP_ASK_OFFSET, MC_RXP_ASK_DR,
       MC_RXP_ASK_FREQ, MC_RXT_UNANSWERED, MC_RXT_BACKOFF_UNTIL, MC_RXT_ASK_DELAY };

/* Columns of `outbox` (schema v7: one row per pack of events) as inserted,
 * (0-based) positions. */
#define OUTBOX_COLS "seq, first_seq, events, bytes, body"
enum { OC_SEQ, OC_FIRST_SEQ, OC_EVENTS, OC_BYTES, OC_BODY, OC__COUNT };

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
 * is used, so a bridge holds only the statements it has run (those of one
 * row take about 80 KB, the 15 writing 2 ... STORE_MANY_ROWS rows about
 * 170 KB: an idle bridge, or one whose batches stay small, never holds most
 * of them). */
int store__prepare(struct store *s, enum store_stmt id);

/* The statement, reset and unbound, ready for binding; prepared first if
 * it was not yet. NULL if that failed (store__prepare() logged why): every
 * caller checks and returns LB_ERR_IO, never hands NULL to SQLite. */
sqlite3_stmt *store__stmt(struct store *s, enum store_stmt id);

/* Translate an SQLite result code that is a failure here (never LB_OK,
 * even for an unexpected SQLITE_ROW/DONE); log what failed (I/O class
 * errors at error level, rate-limited; constraint errors at debug). */
int store__fail(struct store *s, int rc, const char *what);
/* The system's errno behind an I/O-class error rc (an SQLite result code:
 * SQLITE_IOERR_*, SQLITE_FULL): as SQLite kept it, else the WAL's or the
 * database's last one (a commit's write fails in the WAL, and SQLite's own
 * record of it is only made on some paths); 0 for another error or none
 * known. SQLite never clears these: the value is the last OS error, which
 * may be an earlier failure's, and is worded so ("last OS error: ..."). */
int store__sys_errno(struct store *s, int rc);
/* CLOCK_MONOTONIC in microseconds (the store's clock: store.h, "Clock"). */
int64_t store__mono_us(void);
int store__translate(int rc);

/* Bind failures (out of memory) are not checked one by one: an unbound
 * parameter is NULL, which a NOT NULL column refuses at step time, so the
 * error surfaces from sqlite3_step(). Parameters are 1-based. */
void store__bind_u64(sqlite3_stmt *st, int col, uint64_t v);

/* Unix seconds for the *_at columns: s->wall_s, or time(). */
int64_t store__wall_s(const struct store *s);

/* Outbox (store_outbox.c): the mark and the highest seq, read at open;
 * the step of the migration to schema v7 that packs the rows of v6 (its
 * table `outbox`) into `outbox_v7`. LB_OK or the translated error. */
int store__outbox_open(struct store *s);
int store__outbox_migrate_v7(struct sqlite3 *db);

/* Fill s->dl_maybe with the devices that have downlink rows (at open, one
 * query). LB_OK, or an lb_err of the read (dl_all is then set). */
int store__dl_load_devices(struct store *s);

#endif
