/* SPDX-License-Identifier: MIT */
/*
 * store.c - the connection, the schema and its migrations. Group commit
 * with a redo log is in store_batch.c, the statements in store_db.c, the
 * row operations in store_ops.c and store_dl.c. See store.h for the
 * contract.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_ckpt.h"
#include "store/store_db.h"
#include "store/store_sync.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/* The columns of a session row (`session`, `pending_session`). */
#define SESSION_ROW \
	" dev_eui INTEGER PRIMARY KEY," \
	" activation INTEGER NOT NULL CHECK (activation IN (0, 1))," \
	" dev_addr INTEGER NOT NULL," \
	" nwk_s_key BLOB NOT NULL CHECK (length(nwk_s_key) = 16)," \
	" app_s_key BLOB NOT NULL CHECK (length(app_s_key) = 16)," \
	" fcnt_up_last INTEGER,"               /* NULL: none accepted yet */ \
	" nfcnt_down INTEGER NOT NULL,"        /* reserved ceiling */ \
	" rx1_dr_offset INTEGER NOT NULL," \
	" rx2_dr INTEGER NOT NULL," \
	" rx2_freq INTEGER NOT NULL," \
	" rx_delay INTEGER NOT NULL," \
	" join_nonce_last INTEGER," \
	" dev_nonce_last INTEGER," \
	" joined_at INTEGER NOT NULL," \
	" updated_at INTEGER NOT NULL)"

/*
 * Schema v1. Typed columns, one row per thing, so the file can be read
 * with the sqlite3 CLI. EUIs are the 64-bit value as a signed INTEGER.
 * No foreign keys: a downlink may be queued and DevNonces recorded before
 * a device has a session; store_purge_flags() deletes by DevEUI everywhere.
 */
static const char SCHEMA_V1[] =
	"CREATE TABLE session (" SESSION_ROW ";"
	"CREATE TABLE dev_nonce ("
	" dev_eui INTEGER NOT NULL,"
	" dev_nonce INTEGER NOT NULL,"
	" PRIMARY KEY (dev_eui, dev_nonce)) WITHOUT ROWID;"
	"CREATE TABLE downlink ("
	" id TEXT PRIMARY KEY,"
	" dev_eui INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" fport INTEGER NOT NULL,"
	" confirmed INTEGER NOT NULL,"
	" data BLOB NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (0, 1)),"
	" fcnt_down INTEGER,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX downlink_dev_seq ON downlink (dev_eui, seq);"
	"CREATE TABLE ledger ("
	" owner INTEGER NOT NULL,"
	" kind INTEGER NOT NULL,"
	" blob BLOB NOT NULL,"
	" PRIMARY KEY (owner, kind)) WITHOUT ROWID;"
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * Schema v2: the gateways whose retained state was last published ONLINE,
 * so that after a restart those not heard again can be reported OFFLINE
 * (daemon/gwconn.h). since: Unix s of that ONLINE.
 */
static const char SCHEMA_V2[] =
	"CREATE TABLE gateway_online ("
	" gateway_eui INTEGER PRIMARY KEY,"
	" since INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * Schema v3: the outbox, events whose state is committed and that wait for
 * the broker's acknowledgement (store_outbox.h). seq is the order in which
 * they are published, over every device; a row is deleted once the broker
 * acknowledged it.
 */
static const char SCHEMA_V3[] =
	"CREATE TABLE outbox ("
	" seq INTEGER PRIMARY KEY,"             /* publication order, >= 1 */
	" dev_eui INTEGER NOT NULL,"
	" qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),"
	" topic TEXT NOT NULL,"
	" payload BLOB NOT NULL,"
	" created_at INTEGER NOT NULL);";

/*
 * Schema v4: a queue item's expiry (the downlink command's expiresAt), Unix
 * µs; NULL = none. Items queued before have none.
 */
static const char SCHEMA_V4[] =
	"ALTER TABLE downlink ADD COLUMN expires_at INTEGER;";

/*
 * Schema v5: the network's MAC state of each device (store_mac.h): its ADR
 * settings as last confirmed, the LinkADRReq tries left unanswered and the
 * back-off, its last DevStatusAns, the receive settings it confirmed.
 * ch_mask: 10 bytes, five 16-bit little-endian ChMask words.
 */
static const char SCHEMA_V5[] =
	"CREATE TABLE mac_state ("
	" dev_eui INTEGER PRIMARY KEY,"
	" session_at INTEGER NOT NULL,"
	" dr INTEGER NOT NULL,"
	" tx_power INTEGER NOT NULL,"
	" nb_trans INTEGER NOT NULL,"
	" ch_mask BLOB NOT NULL CHECK (length(ch_mask) = 10),"
	" unanswered INTEGER NOT NULL,"
	" backoff_until INTEGER NOT NULL,"
	" status_at INTEGER,"                   /* NULL: no DevStatusAns yet */
	" battery INTEGER NOT NULL,"
	" margin INTEGER NOT NULL,"
	" rx_done INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * Schema v6: the outbox again, its rows kept, with the QoS check written as
 * a range. SQLite evaluates `qos IN (0, 1, 2)` by building a temporary
 * index of the list on every row inserted (an ephemeral b-tree opened,
 * filled and closed): half the cost of adding an event to the outbox. The
 * rows are copied in seq order; a CHECK cannot be changed in place.
 */
static const char SCHEMA_V6[] =
	"CREATE TABLE outbox_v6 ("
	" seq INTEGER PRIMARY KEY,"
	" dev_eui INTEGER NOT NULL,"
	" qos INTEGER NOT NULL CHECK (qos BETWEEN 0 AND 2),"
	" topic TEXT NOT NULL,"
	" payload BLOB NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"INSERT INTO outbox_v6 (seq, dev_eui, qos, topic, payload, created_at)"
	" SELECT seq, dev_eui, qos, topic, payload, created_at FROM outbox ORDER BY seq;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_v6 RENAME TO outbox;";

/*
 * Schema v7: the outbox packed, one row for the events of a batch (up to
 * STORE_OUTBOX_PACK_EVENTS; store_outbox.h): a row costs SQLite about what
 * an event did when each had its own, to insert and to delete. seq is the
 * last event's seq (the rows are read in that order, each row's events
 * after the last of the one before), first_seq its first's; events and
 * bytes are what the row counts against mqtt.outbox_limit_mb; body holds the
 * events (the format is drawn in store_outbox.c). The rows of v6 are packed
 * in seq order by store__outbox_migrate_v7(), between SCHEMA_V7 and
 * SCHEMA_V7_AFTER. The acknowledged mark lives in meta (outbox_acked).
 */
static const char SCHEMA_V7[] =
	/* Also v7: a device's counters written alone (store_ops.h,
	 * store_put_fcnts()): while this row exists, its counters (and
	 * updated_at) are the device's, not those of its session row. */
	"CREATE TABLE session_fcnt ("
	" dev_eui INTEGER PRIMARY KEY,"
	" fcnt_up_last INTEGER,"                /* NULL: none accepted yet */
	" nfcnt_down INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE TABLE outbox_v7 ("
	" seq INTEGER PRIMARY KEY,"             /* its last event's, >= 1 */
	" first_seq INTEGER NOT NULL,"
	" events INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" body BLOB NOT NULL);";
static const char SCHEMA_V7_AFTER[] =
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_v7 RENAME TO outbox;";

/*
 * Schema v8: the ABP sessions each device has had (store_abp.h), so that
 * a session whose keys come back after a rotation resumes its frame
 * counters instead of reusing them (TS001-1.0.4 §4.3.1.5). session_id is a
 * digest of DevAddr and keys (lwcrypto_abp_session_id()), never the keys;
 * seen orders a device's rows, the highest the most recently left; at
 * most STORE_ABP_SEEN_MAX rows per device are kept (16 by builds of schema
 * 10 and before; the bound is not in the schema).
 */
static const char SCHEMA_V8[] =
	"CREATE TABLE abp_seen ("
	" dev_eui INTEGER NOT NULL,"
	" session_id BLOB NOT NULL CHECK (length(session_id) = 32),"
	" fcnt_up_last INTEGER,"                /* NULL: none accepted yet */
	" nfcnt_down INTEGER NOT NULL,"         /* highest reserved ceiling */
	" seen INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (dev_eui, session_id)) WITHOUT ROWID;";

/*
 * Schema v9: a device's pending session (daemon/session.h): the session of
 * a join-accept sent to a device that has a session, kept beside the
 * current one until the device's first uplink under it (TS001-1.0.4 §6.2,
 * LoRaWAN 1.0.3 §6.2.4). The columns of `session` (the counters are those
 * of the join: none accepted, the first downlink block reserved).
 */
static const char SCHEMA_V9[] =
	"CREATE TABLE pending_session (" SESSION_ROW ";";

/*
 * Schema v10: the tries and back-off of RXParamSetupReq and RXTimingSetupReq
 * as of LinkADRReq (unanswered, backoff_until), and what the last one asked
 * (NULL: none): the device applies it when it receives it and repeats its
 * answer in every uplink until a downlink (TS001-1.0.4 §5.4, §5.7), so an
 * answer that comes after a restart confirms those values, not the
 * settings of the new run. rx_param_ask_freq in Hz.
 */
static const char SCHEMA_V10[] =
	"ALTER TABLE mac_state ADD COLUMN rx_param_unanswered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mac_state ADD COLUMN rx_param_backoff_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mac_state ADD COLUMN rx_param_ask_offset INTEGER;"
	"ALTER TABLE mac_state ADD COLUMN rx_param_ask_dr INTEGER;"
	"ALTER TABLE mac_state ADD COLUMN rx_param_ask_freq INTEGER;"
	"ALTER TABLE mac_state ADD COLUMN rx_timing_unanswered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mac_state ADD COLUMN rx_timing_backoff_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mac_state ADD COLUMN rx_timing_ask_delay INTEGER;";

/*
 * Schema v11: a session is the same whichever DevEUI had it (a DevEUI
 * corrected in the configuration, an entry moved to another DevEUI with
 * its DevAddr and keys): abp_seen is read by session_id across devices
 * (store_abp.h), through this index.
 */
static const char SCHEMA_V11[] =
	"CREATE INDEX abp_seen_session ON abp_seen (session_id);";

/*
 * Schema v12: what the device's current session was when its pending
 * session's join was made (struct store_pending): its joined_at and its last
 * accepted FCntUp (NULL: none). A class C device heard under its current
 * session after the join may be sent class C downlinks under it
 * (daemon/session.h); after a restart, its FCntUp above the one noted says
 * so. Rows written before have neither (NULL): those count from the start
 * that reads them, as before.
 */
static const char SCHEMA_V12[] =
	"ALTER TABLE pending_session ADD COLUMN current_joined_at INTEGER;"
	"ALTER TABLE pending_session ADD COLUMN current_fcnt_up INTEGER;";

/* migrations[i] takes the schema from version i to i + 1: its SQL, then
 * (if any) a step in C and more SQL. */
static const struct migration {
	const char *sql;
	int (*step)(sqlite3 *db);         /* an SQLite result code */
	const char *sql_after;
} migrations[STORE_SCHEMA_VERSION] = {
	{SCHEMA_V1, NULL, NULL}, {SCHEMA_V2, NULL, NULL}, {SCHEMA_V3, NULL, NULL},
	{SCHEMA_V4, NULL, NULL}, {SCHEMA_V5, NULL, NULL}, {SCHEMA_V6, NULL, NULL},
	{SCHEMA_V7, store__outbox_migrate_v7, SCHEMA_V7_AFTER},
	{SCHEMA_V8, NULL, NULL}, {SCHEMA_V9, NULL, NULL}, {SCHEMA_V10, NULL, NULL},
	{SCHEMA_V11, NULL, NULL}, {SCHEMA_V12, NULL, NULL},
};

/* One migration inside the caller's transaction. */
static int migrate_one(struct store *s, const struct migration *m, char **msg)
{
	int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, msg);

	if (rc == SQLITE_OK && m->step)
		rc = m->step(s->db);
	if (rc == SQLITE_OK && m->sql_after)
		rc = sqlite3_exec(s->db, m->sql_after, NULL, NULL, msg);
	return rc;
}

/* ---- opening --------------------------------------------------------- */

/* A failed system call on the state directory: permissions and a
 * read-only file system stay until an operator acts (LB_ERR_UNUSABLE: the
 * unit does not restart on that), anything else may pass (LB_ERR_IO). */
static int fs_error(int e)
{
	return e == EACCES || e == EPERM || e == EROFS ? LB_ERR_UNUSABLE : LB_ERR_IO;
}

/* The same for SQLite's last error on s->db, after rc (an lb_err) from an
 * open step: a file SQLite cannot write, a corrupt or foreign file. A file
 * SQLite cannot open (SQLITE_CANTOPEN) is unusable only for the errno of
 * fs_error (EACCES, EPERM, EROFS); out of descriptors or memory, an I/O
 * error or a missing directory may pass and are LB_ERR_IO. */
static int sqlite_error(struct store *s, const char *path, int rc)
{
	int primary = s->db ? (sqlite3_extended_errcode(s->db) & 0xff) : SQLITE_OK;

	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
		log_error(TAG, "%s is corrupt or not a lorabridge database: move it away to start "
			  "with empty state, or restore a backup", path);
		return LB_ERR_UNUSABLE;
	}
	if (primary == SQLITE_CANTOPEN) {
		int e = sqlite3_system_errno(s->db);

		if (fs_error(e) != LB_ERR_UNUSABLE) {
			log_error(TAG, "%s: cannot open the database (%s): retried on restart",
				  path, e ? strerror(e) : "no system error");
			return LB_ERR_IO;
		}
	}
	if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM) {
		log_error(TAG, "%s: the database or its directory cannot be written: check the "
			  "owner and mode of the state directory and its files", path);
		return LB_ERR_UNUSABLE;
	}
	return rc;
}

/* mkdir -p with mode for the components created. */
static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return LB_ERR_INVAL;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST) {
			int e = errno;
			log_error(TAG, "cannot create state directory %s: %s", path, strerror(e));
			return fs_error(e);
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return LB_OK;
}

/* One process per state directory: the daemon holds the state in memory
 * and would overwrite what another writer changed. */
static int lock_dir(struct store *s, const char *dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, STORE_LOCK_NAME) >= sizeof(path))
		return LB_ERR_INVAL;
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		int e = errno;
		log_error(TAG, "cannot open %s: %s", path, strerror(e));
		return fs_error(e);
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		log_error(TAG, "%s: %s", path,
			  e == EWOULDBLOCK ? "state directory in use by another lorabridge process"
					   : strerror(e));
		return e == EWOULDBLOCK ? LB_ERR_STATE : LB_ERR_IO;
	}
	return LB_OK;
}

/* Create the database file ourselves so it is not world-readable (it holds
 * session keys); SQLite gives -wal and -shm the same mode. */
static int create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = errno;
		log_error(TAG, "cannot open %s: %s", path, strerror(e));
		return fs_error(e);
	}
	close(fd);
	return LB_OK;
}

/* Run a statement that returns at most one row and read column 0 as text
 * (into out) or integer (into *iv). */
static int pragma(struct store *s, const char *sql, char *out, size_t cap, int64_t *iv)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (out)
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		if (iv)
			*iv = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		int err = store__translate(rc);
		log_error(TAG, "%s: %s", sql, sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return err == LB_OK ? LB_ERR_IO : err;
	}
	sqlite3_finalize(st);
	return LB_OK;
}

static int configure(struct store *s, const char *path)
{
	char mode[32] = "";
	char check[256] = "";
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* The first statement reads the header: a foreign or truncated file
	 * fails here with "file is not a database". */
	rc = pragma(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL);
	if (rc != LB_OK) {
		log_error(TAG, "%s is unusable; move it away to start with empty state", path);
		return rc;
	}
	s->sync.wal_mode = strcmp(mode, "wal") == 0;
	if (!s->sync.wal_mode)
		log_warn(TAG, "%s: journal mode is %s, not wal", path, mode);
	/* FULL while the store opens: each commit syncs the WAL, so a
	 * committed batch survives power loss; once open, NORMAL, and the store
	 * makes the commits' syncs itself (sync_by_store()). journal_size_limit
	 * keeps the WAL file small after a checkpoint (SD cards). secure_delete (on in Debian's build) zeroes
	 * every deleted row: the file holds the live session keys anyway, so it
	 * protects nothing the file mode does not, at the price of a memset per
	 * outbox row acknowledged. */
	if ((rc = pragma(s, "PRAGMA synchronous = FULL", NULL, 0, NULL)) != LB_OK ||
	    (rc = pragma(s, "PRAGMA foreign_keys = ON", NULL, 0, NULL)) != LB_OK ||
	    (rc = pragma(s, "PRAGMA journal_size_limit = 4194304", NULL, 0, NULL)) != LB_OK ||
	    (rc = pragma(s, "PRAGMA secure_delete = OFF", NULL, 0, NULL)) != LB_OK)
		return rc;
	rc = pragma(s, "PRAGMA quick_check", check, sizeof(check), NULL);
	if (rc == LB_OK && strcmp(check, "ok") != 0) {
		log_error(TAG, "%s is corrupt (%s); move it away to start with empty state, "
			  "or restore a backup", path, check);
		rc = LB_ERR_UNUSABLE;
	}
	return rc;
}

static int migrate(struct store *s, const char *path)
{
	int64_t version = 0;
	char sql[64];
	char *msg = NULL;
	int rc = pragma(s, "PRAGMA user_version", NULL, 0, &version);

	if (rc != LB_OK)
		return rc;
	if (version > STORE_SCHEMA_VERSION || version < 0) {
		log_error(TAG, "%s: state schema version %lld is newer than this lorabridge (%d): "
			  "refusing to open it; install the newer lorabridge again (a downgrade "
			  "cannot read its state), or move the state directory away to start "
			  "with empty state", path, (long long)version, STORE_SCHEMA_VERSION);
		return LB_ERR_UNUSABLE;
	}
	for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)(v + 1));
		rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = migrate_one(s, &migrations[v], &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			log_error(TAG, "%s: migration to schema %lld failed: %s", path,
				  (long long)(v + 1), msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			if (!sqlite3_get_autocommit(s->db))
				sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return store__translate(rc) == LB_OK ? LB_ERR_IO : store__translate(rc);
		}
	}
	/* One line for all the steps (a first start runs every one of them). */
	if (version == 0)
		log_info(TAG, "%s: created state schema %d", path, STORE_SCHEMA_VERSION);
	else if (version < STORE_SCHEMA_VERSION)
		log_info(TAG, "%s: upgraded state schema %lld to %d", path, (long long)version,
			 STORE_SCHEMA_VERSION);
	return LB_OK;
}

/* The statements' table, empty: each is prepared at its first use. */
static int stmt_table(struct store *s)
{
	s->stmt = calloc(STMT__COUNT, sizeof(*s->stmt));
	return s->stmt ? LB_OK : LB_ERR_NOMEM;
}

/* sqlite3_close() checkpoints the WAL and deletes it (with the syncs of
 * NORMAL: the WAL before, the database file after). After a failed sync it
 * must not touch either (store_sync.h, FAILURE IS FINAL): the WAL stays,
 * and the next start recovers from it. */
static void keep_wal_after_failure(struct store *s)
{
	if (!s->db || !s->sync.failed)
		return;
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK)
		log_error(TAG, "close: the WAL may be checkpointed after a failed sync: %s",
			  sqlite3_errmsg(s->db));
}

/* Release everything without committing. */
static void release(struct store *s)
{
	if (s->stmt) {
		for (int i = 0; i < STMT__COUNT; i++)
			sqlite3_finalize(s->stmt[i]);
		free(s->stmt);
	}
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store__ckpt_close(s);
	store__sync_drain(s);
	keep_wal_after_failure(s);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_error(TAG, "close: %s", sqlite3_errmsg(s->db));
	store__sync_close(s);   /* the ring and the WAL's descriptor */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->log);
	euiset_free(&s->dl_maybe);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->dir_fd = -1;
	s->sync.wal_fd = -1;
	s->due_ms = -1;
	store__ckpt_init(s);
}

/* The directory itself, for the marker's renames and their fsync. */
static int open_dir(struct store *s, const char *dir)
{
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		int e = errno;
		log_error(TAG, "cannot open state directory %s: %s", dir, strerror(e));
		return fs_error(e);
	}
	return LB_OK;
}

/* From here on the store syncs the WAL after a commit itself
 * (store_sync.h): NORMAL is FULL without that sync. */
static int sync_by_store(struct store *s, const char *path)
{
	int rc;

	if (!s->sync.wal_mode)
		return LB_OK;
	if ((rc = store__sync_open(s, path)) != LB_OK)
		return rc;
	return pragma(s, "PRAGMA synchronous = NORMAL", NULL, 0, NULL);
}

static int open_steps(struct store *s, const char *dir, const char *path)
{
	int rc;

	if ((rc = mkdir_p(dir, 0750)) != LB_OK || (rc = lock_dir(s, dir)) != LB_OK ||
	    (rc = open_dir(s, dir)) != LB_OK || (rc = create_private(path)) != LB_OK)
		return rc;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error(TAG, "cannot open %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return sqlite_error(s, path, store__translate(rc) == LB_OK ? LB_ERR_IO :
					     store__translate(rc));
	}
	if ((rc = configure(s, path)) != LB_OK)
		return rc == LB_ERR_UNUSABLE ? rc : sqlite_error(s, path, rc);
	if ((rc = migrate(s, path)) != LB_OK ||
	    (rc = stmt_table(s)) != LB_OK || (rc = store__dl_load_devices(s)) != LB_OK ||
	    (rc = store__outbox_open(s)) != LB_OK || (rc = sync_by_store(s, path)) != LB_OK)
		return rc;
	s->log = malloc(STORE_LOG_INITIAL);
	if (!s->log)
		return LB_ERR_NOMEM;
	s->log_cap = STORE_LOG_INITIAL;
	return LB_OK;
}

int store_open(struct store *s, const char *dir, int commit_ms)
{
	return store_open_flags(s, dir, commit_ms, 0);
}

void store_set_wall_clock(struct store *s, int64_t (*now_s)(void))
{
	s->wall_s = now_s;
}

int store_open_flags(struct store *s, const char *dir, int commit_ms, unsigned flags)
{
	char path[PATH_MAX];
	int rc;

	if (!s)
		return LB_ERR_INVAL;
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->dir_fd = -1;
	s->sync.wal_fd = -1;
	s->sync.hold = UINT64_MAX;   /* no batch held (store_sync.h) */
	store__ckpt_init(s);
	s->due_ms = -1;
	if (!dir || !dir[0] || commit_ms < 0 || commit_ms > STORE_MAX_COMMIT_MS ||
	    (flags & ~STORE_ACCEPT_STATE_LOSS))
		return LB_ERR_INVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME) >= sizeof(path))
		return LB_ERR_INVAL;
	rc = open_steps(s, dir, path);
	if (rc == LB_OK)
		rc = store__gen_open(s, path, flags);
	if (rc != LB_OK) {
		release(s);
		return rc;
	}
	s->commit_ms = commit_ms;
	s->batch = 1;
	s->sync.durable = s->sync.synced = 1;   /* nothing before batch 1 waits for a sync */
	log_info(TAG, "opened %s (commit every %d ms)", path, commit_ms);
	return LB_OK;
}

int store_close(struct store *s)
{
	int rc = LB_OK;

	if (!s || !s->db)   /* zeroed, failed to open or closed */
		return LB_OK;
	store__ckpt_close(s);   /* its result first: a failed sync counts */
	if (s->n_ops > 0) {
		rc = store_commit(s);
		if (rc != LB_OK)
			log_error(TAG, "close: %zu staged writes lost: %s", s->n_ops,
				  lb_strerror(rc));
	}
	if (rc == LB_OK)
		store__gen_close(s);
	store__sync_drain(s);
	if (rc == LB_OK && s->sync.failed)
		rc = LB_ERR_IO;
	release(s);
	return rc;
}
