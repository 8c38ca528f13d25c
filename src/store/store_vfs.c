/* SPDX-License-Identifier: MIT */
/*
 * store_vfs.c - the VFS that gathers the WAL's writes. See store_vfs.h.
 *
 * Every file is opened by the default VFS into the space after our own
 * struct (szOsFile is ours plus its); WAL files get the buffering methods,
 * all others methods that only pass each call on.
 */
#include "store/store_vfs.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include <sqlite3.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store_db.h"

#define TAG STORE_LOG_TAG

/*
 * A WAL frame header (SQLite "Database File Format" §4.1), big-endian:
 *
 *   0         4                 8       16       24
 *   +---------+-----------------+-------+--------+
 *   | page no | db size after   | salt  | chksum |
 *   |         | commit, else 0  |       |        |
 *   +---------+-----------------+-------+--------+
 *
 * The file starts with a header of its own of LEN_WAL_HDR bytes.
 */
#define LEN_WAL_HDR 32
#define LEN_FRAME_HDR 24
#define OFF_FRAME_COMMIT 4

struct vfile {
	sqlite3_file base;      /* our methods */
	sqlite3_file *real;     /* the default VFS's file, after this struct */
	uint8_t *buf;           /* STORE_VFS_WAL_BUF mapped bytes, or NULL */
	sqlite3_int64 buf_off;  /* file offset of buf[0] */
	size_t buf_len;
	bool commit_next;       /* the next write is a commit frame's page */
};

_Static_assert(STORE_VFS_WAL_BUF < 0x1ffff, "one write of the Unix VFS");

static sqlite3_vfs vfs;
static sqlite3_vfs *parent;
/* Counts for store_vfs_stats(); the store runs on one thread. */
static struct store_vfs_stats stats;

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct vfile *)f)->real;
}

/* ---- the WAL's buffer ---------------------------------------------------- */

static int flush(struct vfile *v)
{
	if (v->buf_len == 0)
		return SQLITE_OK;
	size_t len = v->buf_len;
	v->buf_len = 0;
	stats.wal_writes_out++;
	return v->real->pMethods->xWrite(v->real, v->buf, (int)len, v->buf_off);
}

static void unmap(struct vfile *v)
{
	if (v->buf)
		munmap(v->buf, STORE_VFS_WAL_BUF);
	v->buf = NULL;
}

/* The buffer, mapped now if it is not; NULL if it cannot be (then the
 * writes go through unbuffered). */
static uint8_t *buffer(struct vfile *v)
{
	if (v->buf)
		return v->buf;
	void *p = mmap(NULL, STORE_VFS_WAL_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	v->buf = p == MAP_FAILED ? NULL : p;
	return v->buf;
}

static bool is_commit_header(const void *data, int amt, sqlite3_int64 off)
{
	const uint8_t *h = data;

	return amt == LEN_FRAME_HDR && off >= LEN_WAL_HDR &&
	       (h[OFF_FRAME_COMMIT] | h[OFF_FRAME_COMMIT + 1] | h[OFF_FRAME_COMMIT + 2] |
		h[OFF_FRAME_COMMIT + 3]) != 0;
}

static int wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
	struct vfile *v = (struct vfile *)f;
	bool commit = v->commit_next;
	int rc = SQLITE_OK;

	stats.wal_writes++;
	v->commit_next = is_commit_header(data, amt, off);
	/* Not the continuation of what is gathered: that goes first. */
	if (v->buf_len > 0 && (off != v->buf_off + (sqlite3_int64)v->buf_len ||
			       v->buf_len + (size_t)amt > STORE_VFS_WAL_BUF))
		rc = flush(v);
	if (rc != SQLITE_OK)
		return rc;
	if ((size_t)amt > STORE_VFS_WAL_BUF || !buffer(v)) {
		stats.wal_writes_out++;
		return v->real->pMethods->xWrite(v->real, data, amt, off);
	}
	if (v->buf_len == 0)
		v->buf_off = off;
	memcpy(v->buf + v->buf_len, data, (size_t)amt);
	v->buf_len += (size_t)amt;
	/* A committed transaction is in the file before SQLite publishes it
	 * in the wal-index, even without a sync. */
	return commit ? flush(v) : SQLITE_OK;
}

static int wal_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
	int rc = flush((struct vfile *)f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xRead(real_of(f), data, amt, off);
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush((struct vfile *)f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct vfile *v = (struct vfile *)f;
	int rc = flush(v);

	unmap(v);
	return rc != SQLITE_OK ? rc : v->real->pMethods->xSync(v->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush((struct vfile *)f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = flush((struct vfile *)f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int wal_close(sqlite3_file *f)
{
	struct vfile *v = (struct vfile *)f;
	int rc = flush(v);

	unmap(v);
	if (rc != SQLITE_OK)
		log_error(TAG, "a WAL write failed at close (SQLite error %d)", rc);
	return v->real->pMethods->xClose(v->real);
}

/* ---- passed on as they are ------------------------------------------------ */

static int pass_close(sqlite3_file *f)
{
	return real_of(f)->pMethods->xClose(real_of(f));
}

static int pass_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
	return real_of(f)->pMethods->xRead(real_of(f), data, amt, off);
}

static int pass_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
	return real_of(f)->pMethods->xWrite(real_of(f), data, amt, off);
}

static int pass_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int pass_sync(sqlite3_file *f, int flags)
{
	return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int pass_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int pass_lock(sqlite3_file *f, int lock)
{
	return real_of(f)->pMethods->xLock(real_of(f), lock);
}

static int pass_unlock(sqlite3_file *f, int lock)
{
	return real_of(f)->pMethods->xUnlock(real_of(f), lock);
}

static int pass_check_reserved(sqlite3_file *f, int *out)
{
	return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int pass_file_control(sqlite3_file *f, int op, void *arg)
{
	return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int pass_sector_size(sqlite3_file *f)
{
	return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int pass_device_characteristics(sqlite3_file *f)
{
	return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int pass_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
	return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}

static int pass_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void pass_shm_barrier(sqlite3_file *f)
{
	real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int pass_shm_unmap(sqlite3_file *f, int del)
{
	return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static int pass_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
	return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}

static int pass_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

/* Methods of version 3 (shared memory, memory mapping), as the real
 * file's (open_file() checks). */
static const sqlite3_io_methods pass_methods = {
	.iVersion = 3,
	.xClose = pass_close,
	.xRead = pass_read,
	.xWrite = pass_write,
	.xTruncate = pass_truncate,
	.xSync = pass_sync,
	.xFileSize = pass_file_size,
	.xLock = pass_lock,
	.xUnlock = pass_unlock,
	.xCheckReservedLock = pass_check_reserved,
	.xFileControl = pass_file_control,
	.xSectorSize = pass_sector_size,
	.xDeviceCharacteristics = pass_device_characteristics,
	.xShmMap = pass_shm_map,
	.xShmLock = pass_shm_lock,
	.xShmBarrier = pass_shm_barrier,
	.xShmUnmap = pass_shm_unmap,
	.xFetch = pass_fetch,
	.xUnfetch = pass_unfetch,
};

static const sqlite3_io_methods wal_methods = {
	.iVersion = 3,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = pass_lock,
	.xUnlock = pass_unlock,
	.xCheckReservedLock = pass_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = pass_sector_size,
	.xDeviceCharacteristics = pass_device_characteristics,
	.xShmMap = pass_shm_map,
	.xShmLock = pass_shm_lock,
	.xShmBarrier = pass_shm_barrier,
	.xShmUnmap = pass_shm_unmap,
	.xFetch = pass_fetch,
	.xUnfetch = pass_unfetch,
};

/* ---- the VFS -------------------------------------------------------------- */

static int open_file(sqlite3_vfs *self, const char *name, sqlite3_file *f, int flags,
		     int *out_flags)
{
	struct vfile *v = (struct vfile *)f;

	(void)self;
	memset(v, 0, sizeof(*v));
	v->real = (sqlite3_file *)(v + 1);
	int rc = parent->xOpen(parent, name, v->real, flags, out_flags);
	/* A failed open may still have set methods: SQLite then closes it. */
	if (!v->real->pMethods)
		return rc;
	/* Ours are of version 3 and pass each call on: the real file's must
	 * be too (the Unix VFS's are). */
	if (v->real->pMethods->iVersion < 3) {
		log_error(TAG, "%s: the default VFS's files are of version %d, not 3", name,
			  v->real->pMethods->iVersion);
		v->real->pMethods->xClose(v->real);
		return SQLITE_CANTOPEN;
	}
	v->base.pMethods = (flags & SQLITE_OPEN_WAL) ? &wal_methods : &pass_methods;
	return rc;
}

static int vfs_delete(sqlite3_vfs *self, const char *name, int sync_dir)
{
	(void)self;
	return parent->xDelete(parent, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *self, const char *name, int flags, int *out)
{
	(void)self;
	return parent->xAccess(parent, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *self, const char *name, int n, char *out)
{
	(void)self;
	return parent->xFullPathname(parent, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *self, const char *name)
{
	(void)self;
	return parent->xDlOpen(parent, name);
}

static void vfs_dl_error(sqlite3_vfs *self, int n, char *msg)
{
	(void)self;
	parent->xDlError(parent, n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *self, void *lib, const char *sym))(void)
{
	(void)self;
	return parent->xDlSym(parent, lib, sym);
}

static void vfs_dl_close(sqlite3_vfs *self, void *lib)
{
	(void)self;
	parent->xDlClose(parent, lib);
}

static int vfs_randomness(sqlite3_vfs *self, int n, char *out)
{
	(void)self;
	return parent->xRandomness(parent, n, out);
}

static int vfs_sleep(sqlite3_vfs *self, int us)
{
	(void)self;
	return parent->xSleep(parent, us);
}

static int vfs_current_time(sqlite3_vfs *self, double *out)
{
	(void)self;
	return parent->xCurrentTime(parent, out);
}

static int vfs_last_error(sqlite3_vfs *self, int n, char *out)
{
	(void)self;
	return parent->xGetLastError(parent, n, out);
}

static int vfs_current_time_int64(sqlite3_vfs *self, sqlite3_int64 *out)
{
	(void)self;
	return parent->xCurrentTimeInt64(parent, out);
}

int store_vfs_register(void)
{
	if (parent)
		return LB_OK;
	sqlite3_vfs *p = sqlite3_vfs_find(NULL);
	if (!p || p->iVersion < 2) {
		log_error(TAG, "SQLite has no default VFS of version 2 or later to build on");
		return LB_ERR_IO;
	}
	vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct vfile) + p->szOsFile,
		.mxPathname = p->mxPathname,
		.zName = STORE_VFS_NAME,
		.xOpen = open_file,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = vfs_dl_open,
		.xDlError = vfs_dl_error,
		.xDlSym = vfs_dl_sym,
		.xDlClose = vfs_dl_close,
		.xRandomness = vfs_randomness,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_last_error,
		.xCurrentTimeInt64 = vfs_current_time_int64,
	};
	parent = p;
	int rc = sqlite3_vfs_register(&vfs, 0);
	if (rc != SQLITE_OK) {
		parent = NULL;
		log_error(TAG, "cannot register the SQLite VFS %s: %s", STORE_VFS_NAME,
			  sqlite3_errstr(rc));
		return LB_ERR_IO;
	}
	return LB_OK;
}

void store_vfs_stats(struct store_vfs_stats *out)
{
	*out = stats;
}
