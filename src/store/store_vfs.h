/* SPDX-License-Identifier: MIT */
/*
 * store_vfs.h - a SQLite VFS over the default one that gathers the writes
 * to the write-ahead log into larger ones (internal to store/).
 *
 * SQLite writes each WAL frame as two pwrite()s, its 24-byte header and its
 * page (SQLite's "Database File Format" §4.1, "WAL File Format"): a batch of
 * a thousand pages is two thousand system calls. This VFS keeps the WAL's
 * consecutive writes in a buffer of STORE_VFS_WAL_BUF bytes and hands them
 * on as one write when
 *   - the buffer is full, or the next write does not continue it;
 *   - the WAL is synced (xSync: every commit, the store runs synchronous =
 *     FULL), read, truncated, asked its size, sent a file control or
 *     closed;
 *   - a commit frame's page is written (its header's "database size after
 *     commit" is not zero), so the frames of a committed transaction reach
 *     the file before SQLite publishes them to other connections in the
 *     wal-index, whatever the synchronous setting.
 * So every write is in the file before SQLite could rely on it: SQLite's
 * rules for a crash (only what was synced counts, a torn or missing frame
 * ends the log) are unchanged, and other connections never see a frame
 * that is not in the file. Only the WAL is buffered: the database file,
 * its journal and the shared-memory index go straight to the default VFS.
 * The buffer is mapped at the first write after a sync and unmapped at the
 * sync, so an idle store holds none of it.
 *
 * Errors: store_vfs_register() returns LB_OK, or LB_ERR_IO when SQLite has
 * no default VFS or refuses the registration (logged). A failed hand-on
 * returns SQLITE_IOERR_WRITE to SQLite, which rolls the transaction back as
 * for any write error; a failed mapping writes through, unbuffered.
 * Ownership: the VFS is registered once per process and never removed.
 */
#ifndef LB_STORE_VFS_H
#define LB_STORE_VFS_H

#include <stdint.h>

#define STORE_VFS_NAME "lorabridge-wal"
/* Bytes gathered, at most, per write: the Unix VFS takes below 128 KiB a
 * call (its seekAndWriteFd() masks the length with 0x1ffff). */
#define STORE_VFS_WAL_BUF (120 * 1024)

/* Register the VFS (not as the default); later calls do nothing. */
int store_vfs_register(void);

/* Writes SQLite asked of WAL files and writes handed on to the default
 * VFS, since the start of the process (for tests and benches). */
struct store_vfs_stats {
	uint64_t wal_writes;
	uint64_t wal_writes_out;
};
void store_vfs_stats(struct store_vfs_stats *out);

#endif
