/* SPDX-License-Identifier: MIT */
/*
 * store_dl.c - the per-device downlink queue of the store (table
 * `downlink`, ordered by seq). The writes themselves are applied by
 * store__apply() (store_write.c) so a failed batch can be replayed. See
 * store.h.
 */
#include "store/store_dl.h"

#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/* A row that does not fit the struct was edited by hand: reported as a
 * problem of the file (LB_ERR_IO), never copied past a buffer. */
static int read_downlink(sqlite3_stmt *st, struct store_downlink *d)
{
	int id_len = sqlite3_column_bytes(st, DC_ID);
	const unsigned char *id = sqlite3_column_text(st, DC_ID);
	int len = sqlite3_column_bytes(st, DC_DATA);

	memset(d, 0, sizeof(*d));
	if (!id || id_len <= 0 || id_len >= STORE_DL_ID_SIZE || len < 0 ||
	    len > STORE_DL_MAX_DATA) {
		log_error(TAG, "downlink row with an invalid id or payload size %d", len);
		return LB_ERR_IO;
	}
	memcpy(d->id, id, (size_t)id_len);
	d->dev_eui = (uint64_t)sqlite3_column_int64(st, DC_DEV_EUI);
	d->seq = (uint32_t)sqlite3_column_int64(st, DC_SEQ);
	d->fport = (uint8_t)sqlite3_column_int(st, DC_FPORT);
	d->confirmed = sqlite3_column_int(st, DC_CONFIRMED) != 0;
	d->len = (size_t)len;
	if (len)
		memcpy(d->data, sqlite3_column_blob(st, DC_DATA), (size_t)len);
	d->state = sqlite3_column_int(st, DC_STATE) ? STORE_DL_SENT : STORE_DL_QUEUED;
	d->has_fcnt_down = sqlite3_column_type(st, DC_FCNT_DOWN) != SQLITE_NULL;
	d->fcnt_down = (uint32_t)sqlite3_column_int64(st, DC_FCNT_DOWN);
	d->created_at = sqlite3_column_int64(st, DC_CREATED_AT);
	d->has_expires_at = sqlite3_column_type(st, DC_EXPIRES_AT) != SQLITE_NULL;
	d->expires_at_us = sqlite3_column_int64(st, DC_EXPIRES_AT);
	return LB_OK;
}

/* The set of devices that may have rows (store_types.h): kept a superset,
 * so a device with rows is always read. Out of memory, every device is. */
static void note_queued(struct store *s, uint64_t dev_eui)
{
	if (euiset_add(&s->dl_maybe, dev_eui) != LB_OK && !s->dl_all) {
		log_error(TAG, "out of memory for the set of devices with downlinks: "
			  "every uplink reads its queue from now on");
		s->dl_all = true;
	}
}

/* A read found no row for the device. It counts only when reads see every
 * staged write: after a failed replay they see the committed state alone,
 * where a staged push is missing. */
static void note_empty(struct store *s, uint64_t dev_eui)
{
	if (!s->broken)
		euiset_remove(&s->dl_maybe, dev_eui);
}

bool store_downlink_maybe(const struct store *s, uint64_t dev_eui)
{
	return !s || s->dl_all || euiset_has(&s->dl_maybe, dev_eui);
}

int store__dl_load_devices(struct store *s)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_DEVICES);
	int rc;

	if (!st)
		return LB_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		note_queued(s, (uint64_t)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return LB_OK;
	s->dl_all = true;
	return store__fail(s, rc, "devices with downlinks");
}

static int max_seq(struct store *s, uint64_t dev_eui, uint32_t *seq)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_MAXSEQ);
	int rc;

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint32_t)sqlite3_column_int64(st, 0);
		rc = LB_OK;
	} else {
		rc = store__fail(s, rc, "downlink queue position");
	}
	sqlite3_reset(st);
	return rc;
}

int store_downlink_push(struct store *s, const struct store_downlink *dl, uint32_t *seq)
{
	struct store_downlink row;
	uint32_t last = 0;
	int rc;

	if (!s || !dl)
		return LB_ERR_INVAL;
	row = *dl;
	if (store__copy_str(row.id, sizeof(row.id), dl->id) != LB_OK ||
	    (dl->state != STORE_DL_QUEUED && dl->state != STORE_DL_SENT))
		return LB_ERR_INVAL;
	if (dl->len > STORE_DL_MAX_DATA)
		return LB_ERR_TOO_LARGE;
	/* Open the batch first, so the position counts staged pushes; the
	 * assigned seq is recorded, a replay reproduces it exactly. */
	rc = store__begin(s);
	if (rc == LB_OK)
		rc = max_seq(s, dl->dev_eui, &last);
	if (rc != LB_OK)
		return rc;
	if (last == UINT32_MAX)
		return LB_ERR_FULL;
	row.seq = last + 1;
	row.created_at = store__wall_s(s);
	rc = store__stage(s, OP_DL_PUSH, &row, sizeof(row));
	if (rc == LB_OK)
		note_queued(s, row.dev_eui);
	if (rc == LB_OK && seq)
		*seq = row.seq;
	return rc;
}

int store_downlink_list(struct store *s, uint64_t dev_eui, store_downlink_cb cb, void *arg)
{
	struct store_downlink d;
	sqlite3_stmt *st;
	int rc, ret = LB_OK;
	size_t rows = 0;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_DL_LIST);
	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)dev_eui);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		ret = read_downlink(st, &d);
		if (ret == LB_OK)
			ret = cb(arg, &d);
		if (ret != LB_OK)
			break;
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "list downlinks");
	sqlite3_reset(st);
	if (ret == LB_OK && rows == 0)
		note_empty(s, dev_eui);
	return ret;
}

/* The first row of a lookup statement, bound by the caller. */
static int read_one(struct store *s, sqlite3_stmt *st, struct store_downlink *out,
		    const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		rc = read_downlink(st, out);
	else
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, what);
	sqlite3_reset(st);
	return rc;
}

int store_downlink_first(struct store *s, uint64_t dev_eui, struct store_downlink *out)
{
	sqlite3_stmt *st;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_DL_LIST);
	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)dev_eui);
	int rc = read_one(s, st, out, "first downlink");
	if (rc == LB_ERR_NOT_FOUND)
		note_empty(s, dev_eui);
	return rc;
}

int store_downlink_get(struct store *s, const char *id, struct store_downlink *out)
{
	struct store__dl_id key;
	sqlite3_stmt *st;

	if (!s || !s->db || !out || store__copy_str(key.id, sizeof(key.id), id) != LB_OK)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_DL_GET);
	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_text(st, 1, key.id, -1, SQLITE_STATIC);
	return read_one(s, st, out, "get downlink");
}

int store_downlink_update(struct store *s, const char *id, enum store_dl_state state,
			  bool has_fcnt_down, uint32_t fcnt_down)
{
	struct store__dl_update u;

	memset(&u, 0, sizeof(u));
	if (!s || store__copy_str(u.id, sizeof(u.id), id) != LB_OK ||
	    (state != STORE_DL_QUEUED && state != STORE_DL_SENT))
		return LB_ERR_INVAL;
	u.state = state;
	u.has_fcnt_down = has_fcnt_down;
	u.fcnt_down = has_fcnt_down ? fcnt_down : 0;
	return store__stage(s, OP_DL_UPDATE, &u, sizeof(u));
}

int store_downlink_delete(struct store *s, const char *id)
{
	struct store__dl_id d;

	memset(&d, 0, sizeof(d));
	if (!s || store__copy_str(d.id, sizeof(d.id), id) != LB_OK)
		return LB_ERR_INVAL;
	return store__stage(s, OP_DL_DELETE, &d, sizeof(d));
}

int store_downlink_flush(struct store *s, uint64_t dev_eui)
{
	if (!s)
		return LB_ERR_INVAL;
	return store__stage(s, OP_DL_FLUSH, &dev_eui, sizeof(dev_eui));
}

int store_downlink_count(struct store *s, uint64_t dev_eui, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !n)
		return LB_ERR_INVAL;
	/* dl_maybe holds every device with rows: outside it, none to count
	 * (the web page's snapshot asks this for every device). */
	if (!store_downlink_maybe(s, dev_eui)) {
		*n = 0;
		return LB_OK;
	}
	st = store__stmt(s, STMT_DL_COUNT);
	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (size_t)sqlite3_column_int64(st, 0);
		rc = LB_OK;
		if (*n == 0)
			note_empty(s, dev_eui);
	} else {
		rc = store__fail(s, rc, "count downlinks");
	}
	sqlite3_reset(st);
	return rc;
}
