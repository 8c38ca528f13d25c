/* SPDX-License-Identifier: MIT */
/*
 * store_types.h - the data of the durable store: its limits, the rows it
 * keeps (sessions, downlinks, ledger kinds), its statistics and the handle.
 * No functions; the contract of the store is at the top of store.h.
 */
#ifndef LB_STORE_TYPES_H
#define LB_STORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"     /* enum lb_activation */
#include "tables/euiset.h"

#define STORE_DB_NAME "lorabridge.db"
#define STORE_LOCK_NAME "lorabridge.lock"
#define STORE_GEN_NAME "lorabridge.gen"          /* the generation marker (store_gen.h) */
#define STORE_GEN_TMP_NAME "lorabridge.gen.tmp"  /* written, synced, renamed over it */
#define STORE_GEN_META_KEY "state_generation"    /* its copy in the meta table */
#define STORE_GEN_PERIOD_MS (10 * 60 * 1000)     /* advanced at least this often */
#define STORE_CHECKPOINT_FRAMES 4000             /* WAL frames before a checkpoint (16 MiB) */
#define STORE_CKPT_LINE_MAX 512  /* a checkpoint helper's result line, its error included */
#define STORE_SCHEMA_VERSION 12          /* PRAGMA user_version */
#define STORE_DEFAULT_COMMIT_MS 200
#define STORE_MAX_COMMIT_MS 60000
#define STORE_RETRY_MS 1000              /* store_tick() after a failed commit */
#define STORE_BUSY_TIMEOUT_MS 100        /* a CLI user holding a lock */
#define STORE_LOG_INITIAL (64 * 1024)
#define STORE_LOG_KEEP (4 * 1024 * 1024)    /* a larger log is shrunk after its batch */
#define STORE_LOG_MAX (16 * 1024 * 1024) /* staged bytes; beyond: LB_ERR_FULL */
/* Staged bytes that make a batch due at once (the help of state.commit_ms
 * in config_schema.c says 4 MiB). */
#define STORE_COMMIT_EARLY_BYTES STORE_LOG_KEEP

#define STORE_KEY_LEN 16
#define STORE_DL_ID_SIZE 64              /* id string incl. NUL */
#define STORE_DL_MAX_DATA 255            /* = LW_MAX_PHY: any FRMPayload fits */
#define STORE_META_KEY_SIZE 64           /* key string incl. NUL */
#define STORE_LEDGER_MAX (1024 * 1024)   /* bytes per ledger blob */
#define STORE_OUTBOX_TOPIC_MAX 512       /* topic bytes incl. NUL */
#define STORE_OUTBOX_PAYLOAD_MAX (256 * 1024)
#define STORE_OUTBOX_ROW_OVERHEAD 32     /* bytes counted per event beyond topic + payload */
#define STORE_OUTBOX_PACK_EVENTS 64      /* events packed into one outbox row, at most */
#define STORE_OUTBOX_PACK_BYTES (128 * 1024) /* encoded bytes of a row (one event may exceed) */
#define STORE_OUTBOX_ACKED_KEY "outbox_acked" /* meta: every event up to it acknowledged */
#define STORE_MANY_ROWS 32               /* rows written by one statement, at most */

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

/* One row of `pending_session` (schema v9; v12: current_*): the session
 * of a join (the join's counters: none accepted, the first downlink block
 * reserved), and what the device's current session was when the join made
 * it: after a restart, an FCntUp of that session accepted above
 * current_fcnt_up says the device was heard under it since the join
 * (daemon/session.h sessions_pending_note()). has_* false = SQL NULL. */
struct store_pending {
	struct store_session row;
	bool has_current;               /* current_joined_at noted (NULL: a row of schema 11
					 * or before, or no current session then) */
	uint32_t current_joined_at;     /* the current session's joined_at then, Unix s as a
					 * device holds it (macstate_joined_s()) */
	bool has_current_fcnt_up;       /* with has_current: it had accepted an uplink */
	uint32_t current_fcnt_up;       /* its last accepted FCntUp then */
};

#define STORE_SESSION_ID_LEN 32          /* SHA-256 of an ABP session's identity */
#define STORE_ABP_SEEN_MAX 256           /* sessions left kept per device (~140 bytes each) */

/* One row of `abp_seen` (schema v8): the highest counters an ABP session
 * (DevAddr, NwkSKey, AppSKey, identified by a digest: the keys are not
 * kept) ever had on a device, for when its keys come back, on that device
 * or any other (daemon/session.h). has_* false = SQL NULL. */
struct store_abp_seen {
	uint64_t dev_eui;
	uint8_t id[STORE_SESSION_ID_LEN];   /* lwcrypto_abp_session_id() */
	bool has_fcnt_up_last;
	uint32_t fcnt_up_last;          /* highest FCntUp accepted under it */
	uint32_t nfcnt_down;            /* highest NFCntDown ceiling reserved under it */
	int64_t updated_at;             /* Unix s; set by store_abp_seen_put */
};

#define STORE_MAC_CHMASK_WORDS 5         /* 16-bit ChMask words: 80 channels */

/* One row of `mac_state` (schema v5; v10: the receive-settings requests'
 * columns): what the network asked a device to do by MAC command and what
 * it answered (daemon/netmac.h). */
struct store_mac {
	uint64_t dev_eui;
	int64_t session_at;             /* joined_at of the session it belongs to (0: ABP) */
	uint8_t dr;                     /* uplink DR the device accepted last (LinkADRAns) */
	uint8_t tx_power;               /* TXPower index, 0 = max EIRP */
	uint8_t nb_trans;               /* 1..15 */
	uint16_t ch_mask[STORE_MAC_CHMASK_WORDS]; /* enabled uplink channels, bit i of word w =
					 * channel 16w + i */
	uint8_t unanswered;             /* LinkADRReq sent without an answer */
	int64_t backoff_until;          /* Unix s: no LinkADRReq before; 0 = none */
	bool has_status;                /* a DevStatusAns was received */
	int64_t status_at;              /* Unix s of it */
	uint8_t battery;                /* 0 external, 1..254, 255 unknown */
	int8_t margin;                  /* dB, -32..31 */
	uint32_t rx_done;               /* receive settings the device confirmed (netmac.h) */
	/* RXParamSetupReq and RXTimingSetupReq (schema v10): sent without an
	 * answer, the back-off, and what the last one asked (the device
	 * applies it at once and repeats the answer until a downlink,
	 * TS001-1.0.4 §5.4, §5.7: it may come after a restart). */
	uint8_t rx_param_unanswered;
	int64_t rx_param_backoff_until; /* Unix s; 0 = none */
	bool has_rx_param_ask;          /* the three below are set */
	uint8_t rx_param_ask_rx1_dr_offset;  /* 0..7 */
	uint8_t rx_param_ask_rx2_dr;    /* 0..15 */
	uint32_t rx_param_ask_rx2_freq; /* Hz, a multiple of 100 below 2^24 * 100 */
	uint8_t rx_timing_unanswered;
	int64_t rx_timing_backoff_until;/* Unix s; 0 = none */
	uint8_t rx_timing_ask_delay;    /* s, 1..15; 0 = none */
	int64_t updated_at;             /* Unix s; set by store_mac_put */
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
	bool has_expires_at;            /* not to be sent after expires_at_us */
	int64_t expires_at_us;          /* Unix µs */
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
	/* The WAL's syncs (store_sync.h). */
	uint64_t syncs;                 /* completed */
	uint64_t syncs_waited;          /* of them, done on the caller's thread */
	int64_t max_sync_wait_us;       /* the longest of those */
	int64_t max_sync_us;            /* the longest off it, from start to reap */
	uint64_t checkpoints_on_loop;   /* WAL checkpoints made at once (store_ckpt.h) */
};

/* How store_open() found the database against the generation marker. */
enum store_gen_outcome {
	STORE_GEN_CONTINUED = 0,        /* at least as new as the marker */
	STORE_GEN_STARTED,              /* no marker: first start, or adopted as it is */
	STORE_GEN_LOSS_ACCEPTED         /* older than the marker, opened all the same */
};

/* The state generation (store_gen.h). Generations are > 0; 0 is "none". */
struct store_gen {
	enum store_gen_outcome outcome;
	bool active;                    /* checked at open: advanced with commits */
	bool had_marker;                /* a marker file was there at open */
	bool marker_bad;                /* ...but it did not read as one */
	int64_t marker_at_open;         /* its generation */
	int64_t db_at_open;             /* the database's generation at open */
	int64_t committed;              /* last generation committed to the database */
	int64_t marked;                 /* last generation written to the marker */
	int64_t advanced_ms;            /* monotonic ms of the last advance */
	int64_t advance_frame;          /* WAL frames up to that advance's commit */
	/* The upkeep (store_gen.h, UPKEEP): what the commits left to do. */
	bool deferred;                  /* done by store_upkeep(), not by the commit */
	bool ckpt_due;                  /* the WAL is long: checkpoint it */
	bool adv_due;                   /* advance (with the next transaction) */
	/* The marker of the last advance (store_gen.h, UPKEEP): its steps. */
	enum store_mark_step {
		STORE_MARK_IDLE,
		STORE_MARK_DUE,         /* once a WAL sync covered mark_writes */
		STORE_MARK_FILE,        /* the written file's fsync in the ring */
		STORE_MARK_DIR          /* renamed: the directory's fsync in the ring */
	} mark_step;
	uint64_t mark_writes;           /* COMMITs up to the advance (store_sync's writes) */
	int64_t mark_gen;               /* the generation that marker names */
	int mark_fd;                    /* STORE_MARK_FILE: the file, else -1 */
};

struct store;
/* The result of an fsync for the marker (store_sync.h): 0 or an errno. */
typedef void (*store_sync_aux_fn)(struct store *s, int err);
/* The result of a poll in the ring (store_sync.h): its events, or -errno. */
typedef void (*store_sync_poll_fn)(struct store *s, int res);

/* The WAL checkpoint in a helper process (store_ckpt.h). */
struct store_ckpt {
	const char *exe;                /* the helper's program; NULL: at once */
	pid_t pid;                      /* the helper running; 0: none */
	int wal_fd;                     /* the -wal, never synced here (store_ckpt.h) */
	uint64_t restarts;              /* the store's wal_restarts when the pass began */
	int fd;                         /* the pipe of its result; -1: none */
	int pidfd;                      /* its pidfd, polled in the ring; -1: none */
	bool running;                   /* its result not yet in */
	bool closing;                   /* a closing pass: no batch opens */
	int64_t since_us;               /* started then (monotonic) */
	int64_t retry_ms;               /* no helper before (monotonic ms) */
	int passes;                     /* passes since the WAL last started over */
	int failures;                   /* helpers failed in a row */
	bool close_next;                /* the next pass is a closing one */
	bool at_once;                   /* the next checkpoint at once (one failed) */
	uint64_t spawned, closings;     /* statistics: helpers, closing passes, */
	uint64_t waits;                 /* ...transactions that waited for one */
	char buf[STORE_CKPT_LINE_MAX];  /* its line "RC N_LOG N_DONE [ERROR]" */
	/* The result, to the generation (store_gen.c): SQLite's result code
	 * (-1: no result, the helper failed), the WAL's frames, those copied. */
	void (*done)(struct store *s, int rc, int n_log, int n_done);
};

/* What the store's own syncs cover (store_sync.h). Batch numbers are
 * those of struct store's batch. */
struct store_sync {
	bool wal_mode;                  /* else SQLite syncs its journal (FULL) */
	int wal_fd;                     /* -1 when not in WAL mode */
	struct io_uring *ring;          /* NULL: syncs are done at once */
	uint64_t writes;                /* COMMITs that wrote to the WAL */
	uint64_t synced_writes;         /* of them, covered by a completed sync */
	uint64_t durable;               /* batches below it are on the disk (and
					 * below hold) */
	uint64_t synced;                /* batches below it are on the disk */
	uint64_t hold;                  /* batches from it on wait for a marker
					 * (store_gen.h); UINT64_MAX: none */
	bool in_flight;                 /* a sync submitted to the ring */
	bool ring_broken;               /* a submission failed: syncs at once */
	uint64_t flight_seq;            /* ...its user_data (one per submission) */
	uint64_t flight_writes;         /* ...covers writes up to this */
	uint64_t flight_batch;          /* ...and batches below this */
	int64_t flight_since_us;        /* ...submitted then (monotonic) */
	bool failed;                    /* a sync failed: nothing more is durable */
	bool aux_in_flight;             /* an fsync for the marker (store_gen.h) */
	uint64_t aux_seq;               /* ...its number (in its user_data) */
	int aux_fd;                     /* ...its descriptor */
	int64_t aux_since_us;           /* ...submitted then (monotonic) */
	store_sync_aux_fn aux_done;     /* ...its caller's */
	bool poll_in_flight;            /* a poll in the ring (store_ckpt.h) */
	uint64_t poll_seq;              /* ...its number (in its user_data) */
	store_sync_poll_fn poll_done_fn;  /* ...its caller's */
	void (*reaped)(struct store *s); /* after store_sync_reap()'s completions */
};

struct sqlite3;
struct sqlite3_stmt;

/* Fields are internal except stats and gen (read-only). */
struct store {
	struct sqlite3 *db;
	struct sqlite3_stmt **stmt;     /* prepared once at open */
	int lock_fd;
	int dir_fd;                     /* the state directory (the marker's renames) */
	int64_t wal_frames;             /* frames in the WAL after the last commit */
	uint64_t wal_restarts;          /* commits that started the WAL over */
	struct store_gen gen;
	struct store_sync sync;
	struct store_ckpt ckpt;
	int commit_ms;
	bool in_txn;                    /* BEGIN IMMEDIATE issued */
	bool broken;                    /* batch rolled back: replay the log */
	bool retrying;                  /* a commit failed: due_ms is its retry, kept
					 * until a commit succeeds */
	int64_t failing_since_us;       /* monotonic: the first failed commit of a spell, 0 none */
	uint64_t failing_commits;       /* failed commits in that spell */
	int fail_errno;                 /* the last OS error of an SQLite I/O-class failure
					 * (store__fail) since the commit began, 0 none */
	uint64_t batch;                 /* number of the batch being staged */
	bool ahead;                     /* part of this batch committed ahead */
	int64_t due_ms;                 /* -1 when nothing is staged */
	uint8_t *log;                   /* redo log of the staged batch */
	size_t log_len, log_cap;
	size_t n_ops;
	/* The outbox (store_outbox.h): the highest seq staged or on disk, and
	 * the acknowledged mark as last staged (every seq up to it is done). */
	uint64_t outbox_last, outbox_acked;
	struct store_stats stats;
	int64_t (*wall_s)(void);        /* Unix s for the *_at columns; NULL: time() */
	/* Devices that may have downlink rows (store_downlink_maybe): a
	 * superset, added to by every push, a device leaving it only when a
	 * read of its queue saw none; all of them when dl_all. */
	struct euiset dl_maybe;
	bool dl_all;
};

#endif
