/* SPDX-License-Identifier: MIT */
/* store_abp.c - the `abp_seen` rows. See store_abp.h. */
#include "store/store_abp.h"

#include <inttypes.h>
#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

int store_abp_seen_put(struct store *s, const struct store_abp_seen *row)
{
	struct store_abp_seen r;

	if (!s || !row)
		return LB_ERR_INVAL;
	memset(&r, 0, sizeof(r));   /* no padding of the caller's into the redo log */
	r.dev_eui = row->dev_eui;
	memcpy(r.id, row->id, sizeof(r.id));
	r.has_fcnt_up_last = row->has_fcnt_up_last;
	r.fcnt_up_last = row->fcnt_up_last;
	r.nfcnt_down = row->nfcnt_down;
	r.updated_at = store__wall_s(s);
	return store__stage(s, OP_ABP_SEEN_PUT, &r, sizeof(r));
}

static int read_seen(sqlite3_stmt *st, struct store_abp_seen *r)
{
	memset(r, 0, sizeof(*r));
	r->dev_eui = (uint64_t)sqlite3_column_int64(st, AC_DEV_EUI);
	if ((size_t)sqlite3_column_bytes(st, AC_SESSION_ID) != STORE_SESSION_ID_LEN) {
		log_error(TAG, "ABP session seen of %016" PRIX64 ": session_id is not %d bytes",
			  r->dev_eui, STORE_SESSION_ID_LEN);
		return LB_ERR_IO;
	}
	memcpy(r->id, sqlite3_column_blob(st, AC_SESSION_ID), STORE_SESSION_ID_LEN);
	r->has_fcnt_up_last = sqlite3_column_type(st, AC_FCNT_UP_LAST) != SQLITE_NULL;
	r->fcnt_up_last = (uint32_t)sqlite3_column_int64(st, AC_FCNT_UP_LAST);
	r->nfcnt_down = (uint32_t)sqlite3_column_int64(st, AC_NFCNT_DOWN);
	r->updated_at = sqlite3_column_int64(st, AC_UPDATED_AT);
	return LB_OK;
}

int store_abp_seen_get(struct store *s, const uint8_t id[STORE_SESSION_ID_LEN],
		       struct store_abp_seen *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !id || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_ABP_SEEN_GET);
	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_blob(st, 1, id, STORE_SESSION_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)   /* one row always: count(*) says whether any */
		rc = sqlite3_column_int64(st, AC_UPDATED_AT + 1) == 0 ? LB_ERR_NOT_FOUND
								      : read_seen(st, out);
	else
		rc = store__fail(s, rc, "get ABP session seen");
	sqlite3_reset(st);
	return rc;
}

int store_abp_seen_count(struct store *s, uint64_t dev_eui, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !n)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_ABP_SEEN_COUNT);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (size_t)sqlite3_column_int64(st, 0);
		rc = LB_OK;
	} else {
		rc = store__fail(s, rc, "count ABP sessions seen");
	}
	sqlite3_reset(st);
	return rc;
}

int store_abp_seen_ids(struct store *s, store_abp_id_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_ABP_SEEN_IDS);
	if (!st)
		return LB_ERR_IO;
	while (ret == LB_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(st, 0) != STORE_SESSION_ID_LEN) {
			log_error(TAG, "ABP session seen: session_id is not %d bytes",
				  STORE_SESSION_ID_LEN);
			ret = LB_ERR_IO;
			break;
		}
		ret = cb(arg, sqlite3_column_blob(st, 0));
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "list ABP sessions seen");
	sqlite3_reset(st);
	return ret;
}
