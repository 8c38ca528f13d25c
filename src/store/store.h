/*
 * store.h - durable device state in SQLite (WAL), written in batches.
 *
 * What lives here (keyed by DevEUI; device definitions stay in the config
 * file): LoRaWAN sessions, the DevNonces each device used, the downlink
 * queue including confirmed downlinks awaiting their ACK, opaque ledgers
 * (per-device fair access, per-gateway duty cycle) and a few named
 * integers (meta, e.g. the DevAddr allocator). The database is
 * `<dir>/lorabridge.db`, readable with the sqlite3 CLI (EUIs are INTEGER,
 * signed 64-bit: `SELECT printf('%016X', dev_eui), ... FROM session`).
 *
 * This module is an I/O edge: it logs (tag "store") what failed and why,
 * and translates SQLite result codes here and nowhere else:
 *   LB_ERR_IO         disk full, I/O error, corrupt or foreign file, busy
 *   LB_ERR_DUPLICATE  primary key exists (DevNonce used, downlink id)
 *   LB_ERR_NOT_FOUND  no such row
 *   LB_ERR_VERSION    the database schema is newer than this program
 *   LB_ERR_STATE      the directory is locked by another lorabridge process
 *   LB_ERR_FULL       the staged batch exceeds STORE_LOG_MAX bytes
 *   LB_ERR_NOMEM, LB_ERR_INVAL, LB_ERR_RANGE, LB_ERR_TOO_LARGE (arguments)
 *
 * GROUP COMMIT. Writes (store_put_session, store_add_dev_nonce, the
 * downlink calls, store_ledger_put, store_meta_put) are *staged*: the first
 * one opens a transaction (BEGIN IMMEDIATE) and the batch stays open until
 * store_commit(), which costs one fsync of the WAL (synchronous=FULL: a
 * committed batch survives power loss). Reads on this handle see staged
 * rows; other connections see only committed ones. The daemon commits when
 * store_due_ms() passes (first staged write + commit_ms; store_tick() does
 * it) or at once before sending anything that depends on staged state (a
 * join-accept, a downlink whose counter is not durably reserved).
 * Batches are numbered: store_batch() is the number of the batch being
 * staged; store_committed(s, b) tells whether batch b is durable. An event
 * derived from staged state (an uplink event) is tagged with store_batch()
 * and published only once store_committed() says so.
 *
 * FAILURES NEVER LOSE A BATCH SILENTLY. Every successful staging call is
 * also recorded in an in-memory redo log (one growing buffer, reused; no
 * allocation per frame once warm). A failed COMMIT is rolled back, logged,
 * counted and returns LB_ERR_IO; the batch is then re-staged from the redo
 * log (same batch number) and committed again by the next store_commit()
 * (store_tick() retries after STORE_RETRY_MS). A staging call that fails
 * returns its error and is not recorded: the caller keeps its in-memory
 * state (it is the truth; the store is write-behind) and must not act on
 * the write (e.g. drop the uplink whose counter could not be staged).
 * If even the re-staging fails, reads see only committed rows until a
 * later staging call or commit manages to replay the batch.
 *
 * COUNTER RULES (what survives `kill -9` at any moment):
 *  - NFCntDown is reserved ahead, as routers reserve sequence numbers:
 *    session.nfcnt_down holds a ceiling; every counter below it may have
 *    been used, none at or above it. After a restart the daemon resumes at
 *    the persisted ceiling, so no downlink counter is ever reused even if
 *    the last batch was lost. tables/fcntdown.h implements it:
 *    the ceiling is raised FCNTDOWN_BLOCK (64) past the counter in
 *    use, already when fewer than FCNTDOWN_LOW (32) are left, so the
 *    new ceiling normally rides along with a regular batch; a frame is sent
 *    only with a counter below a *committed* ceiling (otherwise commit
 *    first: after a restart and every 64th frame at worst).
 *  - FCntUp cannot be reserved (the device chooses it): fcnt_up_last is
 *    staged when an uplink is accepted, and the uplink's event is published
 *    only after the batch holding it is committed. A crash loses at most
 *    unpublished frames (the device's retransmission is then accepted
 *    once), never accepts one twice.
 *  - A join: stage the DevNonce, the new session (keys, DevAddr, JoinNonce)
 *    and commit before the join-accept is sent, so no DevNonce or JoinNonce
 *    is accepted/issued twice and no joined session is lost.
 *
 * Clock: the store reads CLOCK_MONOTONIC itself (milliseconds, the same
 * clock as loop_now_ms()) when a batch opens; store_due_ms() and
 * store_tick()'s now_ms are on that clock. Wall-clock columns (updated_at,
 * created_at) are Unix seconds, set by the store.
 *
 * Callbacks (store_load_sessions, store_downlink_list) receive a row valid
 * only during the call; they must not call any store function. A non-zero
 * return stops the iteration and is returned. An I/O error in the middle of
 * an iteration returns LB_ERR_IO after some rows were delivered.
 *
 * Concurrency: one process owns the directory (flock on
 * `<dir>/lorabridge.lock`); a second store_open() fails with LB_ERR_STATE
 * (stop the daemon before `lorabridge --purge`). Not thread-safe: one loop.
 * An open batch holds SQLite's write lock for up to commit_ms; sqlite3 CLI
 * readers are never blocked (WAL). The commit's fsync runs on the caller's
 * thread: one fdatasync per batch, whatever its size.
 *
 * Ownership: store_open() allocates the connection, statements and redo
 * log; store_close() commits what is staged and releases everything (safe
 * on a zeroed or closed struct). Structs passed in are copied.
 */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"     /* enum lb_activation */

#define STORE_DB_NAME "lorabridge.db"
#define STORE_LOCK_NAME "lorabridge.lock"
#define STORE_SCHEMA_VERSION 1           /* PRAGMA user_version */
#define STORE_DEFAULT_COMMIT_MS 200
#define STORE_MAX_COMMIT_MS 60000
#define STORE_RETRY_MS 1000              /* store_tick() after a failed commit */
#define STORE_BUSY_TIMEOUT_MS 100        /* a CLI user holding a lock */
#define STORE_LOG_INITIAL (64 * 1024)
#define STORE_LOG_MAX (16 * 1024 * 1024) /* staged bytes; beyond: LB_ERR_FULL */

#define STORE_KEY_LEN 16
#define STORE_DL_ID_SIZE 64              /* id string incl. NUL */
#define STORE_DL_MAX_DATA 255            /* = LW_MAX_PHY: any FRMPayload fits */
#define STORE_META_KEY_SIZE 64           /* key string incl. NUL */
#define STORE_LEDGER_MAX (1024 * 1024)   /* bytes per ledger blob */


/* One row of `session`. has_* false = SQL NULL. */
struct store_session {
	uint64_t dev_eui;
	enum lb_activation activation;
	uint32_t dev_addr;
	uint8_t nwk_s_key[STORE_KEY_LEN];
	uint8_t app_s_key[STORE_KEY_LEN];
	bool has_fcnt_up_last;
	uint32_t fcnt_up_last;          /* last accepted 32-bit FCntUp */
	uint32_t nfcnt_down;            /* reserved ceiling (see COUNTER RULES) */
	uint8_t rx1_dr_offset;          /* 0..7 */
	uint8_t rx2_dr;                 /* 0..15 */
	uint32_t rx2_freq;              /* Hz */
	uint8_t rx_delay;               /* s, 0..15 (0 means 1) */
	bool has_join_nonce_last;
	uint32_t join_nonce_last;       /* 24-bit JoinNonce/AppNonce last issued */
	bool has_dev_nonce_last;
	uint16_t dev_nonce_last;        /* of the join that made this session */
	int64_t joined_at;              /* Unix s, 0 for ABP */
	int64_t updated_at;             /* Unix s; set by store_put_session */
};

enum store_dl_state {
	STORE_DL_QUEUED = 0,
	STORE_DL_SENT = 1               /* confirmed: sent, awaiting the ACK */
};

/* One row of `downlink`. */
struct store_downlink {
	char id[STORE_DL_ID_SIZE];      /* unique, non-empty */
	uint64_t dev_eui;
	uint32_t seq;                   /* queue order; assigned by push */
	uint8_t fport;
	bool confirmed;
	enum store_dl_state state;
	bool has_fcnt_down;
	uint32_t fcnt_down;             /* the NFCntDown it was sent with */
	int64_t created_at;             /* Unix s; set by push */
	size_t len;
	uint8_t data[STORE_DL_MAX_DATA]; /* FRMPayload, plaintext */
};

/* Ledger kinds below STORE_LEDGER_GATEWAY_BASE are owned by a device
 * (owner = DevEUI) and purged with it; the others by a gateway. */
enum store_ledger_kind {
	STORE_LEDGER_FAIR_ACCESS = 1,            /* per device */
	STORE_LEDGER_GATEWAY_BASE = 0x100,
	STORE_LEDGER_DUTY_CYCLE = 0x100          /* per gateway */
};

struct store_stats {
	uint64_t commits;               /* batches committed */
	uint64_t rows_written;          /* staged writes committed */
	uint64_t failures;              /* failed commits and staging writes */
	uint64_t replays;               /* batches re-staged after a failure */
	int64_t last_commit_us;         /* duration of the last commit */
	int64_t max_commit_us;
};

struct sqlite3;
struct sqlite3_stmt;

/* Fields are internal except stats (read-only). */
struct store {
	struct sqlite3 *db;
	struct sqlite3_stmt **stmt;     /* prepared once at open */
	int lock_fd;
	int commit_ms;
	bool in_txn;                    /* BEGIN IMMEDIATE issued */
	bool broken;                    /* batch rolled back: replay the log */
	uint64_t batch;                 /* number of the batch being staged */
	int64_t due_ms;                 /* -1 when nothing is staged */
	uint8_t *log;                   /* redo log of the staged batch */
	size_t log_len, log_cap;
	size_t n_ops;
	struct store_stats stats;
};

typedef int (*store_session_cb)(void *arg, const struct store_session *row);
typedef int (*store_downlink_cb)(void *arg, const struct store_downlink *row);

/* Open (creating dir with mode 0750 and the database with 0600 if
 * missing), check integrity, migrate the schema, prepare statements.
 * commit_ms: 0..STORE_MAX_COMMIT_MS (0 = due at once). On error *s is
 * left closed: LB_ERR_IO (with the reason logged: corrupt, not a
 * database, permission...), LB_ERR_VERSION (schema newer than
 * STORE_SCHEMA_VERSION), LB_ERR_STATE (locked), LB_ERR_INVAL. */
int store_open(struct store *s, const char *dir, int commit_ms);

/* Commit what is staged, close. Returns that commit's result (the batch is
 * lost on error, and logged). */
int store_close(struct store *s);

/* Batches. */
int store_commit(struct store *s);
bool store_dirty(const struct store *s);
int64_t store_due_ms(const struct store *s);
/* Commit when due; returns the next deadline (store_due_ms()). */
int64_t store_tick(struct store *s, int64_t now_ms);
uint64_t store_batch(const struct store *s);
bool store_committed(const struct store *s, uint64_t batch);

/* Sessions. get: LB_ERR_NOT_FOUND. put (staged): LB_ERR_RANGE for a field
 * outside its documented range. */
int store_load_sessions(struct store *s, store_session_cb cb, void *arg);
int store_get_session(struct store *s, uint64_t dev_eui, struct store_session *out);
int store_put_session(struct store *s, const struct store_session *row);

/* DevNonces. add (staged): LB_ERR_DUPLICATE if already used. */
int store_dev_nonce_used(struct store *s, uint64_t dev_eui, uint16_t nonce, bool *used);
int store_add_dev_nonce(struct store *s, uint64_t dev_eui, uint16_t nonce);

/*
 * Downlink queue, per device in seq order. push (staged) assigns seq =
 * max + 1 of the device (written to *seq if not NULL), created_at, and
 * takes state/fcnt from dl: LB_ERR_DUPLICATE (id exists), LB_ERR_INVAL
 * (empty or unterminated id), LB_ERR_TOO_LARGE (len). update and delete
 * (staged): LB_ERR_NOT_FOUND. first: the head of the queue. flush (staged)
 * deletes every downlink of the device (e.g. on a new join).
 */
int store_downlink_push(struct store *s, const struct store_downlink *dl, uint32_t *seq);
int store_downlink_list(struct store *s, uint64_t dev_eui, store_downlink_cb cb, void *arg);
int store_downlink_first(struct store *s, uint64_t dev_eui, struct store_downlink *out);
int store_downlink_get(struct store *s, const char *id, struct store_downlink *out);
int store_downlink_update(struct store *s, const char *id, enum store_dl_state state,
			  bool has_fcnt_down, uint32_t fcnt_down);
int store_downlink_delete(struct store *s, const char *id);
int store_downlink_flush(struct store *s, uint64_t dev_eui);
int store_downlink_count(struct store *s, uint64_t dev_eui, size_t *n);

/* Opaque ledgers. put (staged) copies len bytes. get copies up to cap
 * bytes into blob and sets *len to the stored size: LB_ERR_TOO_LARGE when
 * cap is smaller (nothing copied), LB_ERR_NOT_FOUND. put: LB_ERR_TOO_LARGE
 * beyond STORE_LEDGER_MAX. */
int store_ledger_put(struct store *s, uint64_t owner, enum store_ledger_kind kind,
		     const void *blob, size_t len);
int store_ledger_get(struct store *s, uint64_t owner, enum store_ledger_kind kind, void *blob,
		     size_t cap, size_t *len);

/* Named integers. Key: 1..STORE_META_KEY_SIZE-1 characters. */
int store_meta_get(struct store *s, const char *key, int64_t *value);
int store_meta_put(struct store *s, const char *key, int64_t value);

/* Delete the device's session, DevNonces, downlinks and device ledgers,
 * and commit at once (with anything staged before). LB_ERR_NOT_FOUND when
 * nothing was stored for it (the staged batch is still committed). */
int store_purge(struct store *s, uint64_t dev_eui);


#endif
