/* SPDX-License-Identifier: MIT */
/*
 * store_ops.h - the rows of the store other than the downlink queue:
 * sessions, DevNonces, ledgers, named integers and the gateways reported
 * online, and purging a device.
 * Writes are staged into the open batch (store_batch.h); reads see staged
 * rows.
 *
 * Errors: the lb_err codes at the top of store.h, as listed with each call.
 * Ownership: rows passed in are copied; a row handed to a callback is valid
 * only during the call.
 */
#ifndef LB_STORE_OPS_H
#define LB_STORE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

typedef int (*store_session_cb)(void *arg, const struct store_session *row);

/* Sessions. get: LB_ERR_NOT_FOUND. put (staged): LB_ERR_RANGE for a field
 * outside its documented range. */
int store_load_sessions(struct store *s, store_session_cb cb, void *arg);
int store_get_session(struct store *s, uint64_t dev_eui, struct store_session *out);
int store_put_session(struct store *s, const struct store_session *row);
/* Put n sessions (staged) in order, in groups of 32, 16 ... 2 rows written
 * by one statement each (STORE_MANY_ROWS at most; a statement costs about as
 * much as a row), a last row alone. A group is staged whole or not at all:
 * *staged (may be NULL) gets how many rows from the first were staged; on
 * an error nothing after them was, and the row at that index (alone or
 * first of its group) is the one refused (LB_ERR_RANGE as put) or not
 * written. The same rows staged twice in one batch: the later one stays. */
int store_put_sessions(struct store *s, const struct store_session *rows, size_t n,
		       size_t *staged);

/* Put only the counters of n sessions (fcnt_up_last, nfcnt_down; the
 * other fields of the rows are not read), staged as store_put_sessions()
 * stages rows, into a narrow table of their own (session_fcnt, schema v7):
 * about half the cost of a whole row. Until the device's next whole row
 * (store_put_session(s), which deletes them), they are the device's
 * counters and updated_at when its session is read. For a device whose
 * session row holds everything else as it is now: the caller keeps track
 * (daemon/session.h). Errors as store_put_sessions() (never LB_ERR_RANGE). */
int store_put_fcnts(struct store *s, const struct store_session *rows, size_t n,
		    size_t *staged);

/* DevNonces. add (staged): LB_ERR_DUPLICATE if already used. */
int store_dev_nonce_used(struct store *s, uint64_t dev_eui, uint16_t nonce, bool *used);
int store_add_dev_nonce(struct store *s, uint64_t dev_eui, uint16_t nonce);

/* Opaque ledgers. put (staged) copies len bytes. get copies up to cap
 * bytes into blob and sets *len to the stored size: LB_ERR_TOO_LARGE when
 * cap is smaller (nothing copied), LB_ERR_NOT_FOUND. put: LB_ERR_TOO_LARGE
 * beyond STORE_LEDGER_MAX. */
int store_ledger_put(struct store *s, uint64_t owner, enum store_ledger_kind kind,
		     const void *blob, size_t len);
int store_ledger_get(struct store *s, uint64_t owner, enum store_ledger_kind kind, void *blob,
		     size_t cap, size_t *len);
/* Put n ledgers (staged; blobs copied) as store_put_sessions() puts sessions:
 * groups of up to STORE_MANY_ROWS per statement, *staged, the same errors
 * as store_ledger_put() for the row at that index. */
struct store_ledger_row {
	uint64_t owner;
	enum store_ledger_kind kind;
	const void *blob;
	size_t len;
};
int store_ledger_put_many(struct store *s, const struct store_ledger_row *rows, size_t n,
			  size_t *staged);

/* Named integers. Key: 1..STORE_META_KEY_SIZE-1 characters, not
 * STORE_GEN_META_KEY (the store's own: LB_ERR_INVAL). */
int store_meta_get(struct store *s, const char *key, int64_t *value);
int store_meta_put(struct store *s, const char *key, int64_t value);

/* Gateways whose retained state was last published ONLINE (table
 * gateway_online). set (staged) adds the EUI (online) or removes it; list
 * calls cb for each stored EUI (in the order of the signed INTEGER column),
 * a non-zero return stopping the walk and being returned. */
typedef int (*store_gateway_cb)(void *arg, uint64_t gateway_eui);
int store_gateway_online_set(struct store *s, uint64_t gateway_eui, bool online);
int store_gateway_online_list(struct store *s, store_gateway_cb cb, void *arg);

/* Pending sessions (schema v9, daemon/session.h): the session a join-accept
 * gave a device that still has its current one, a row as `session`'s, with
 * what that current session was then (schema v12: struct store_pending).
 * put/delete are staged; put: LB_ERR_RANGE as store_put_session() for the
 * session. load calls cb for every row in ascending DevAddr order (so that
 * the in-memory table, sorted by DevAddr, is built by appending:
 * tables/pending.h); a non-zero return stops it and is returned. get: the
 * device's row, LB_ERR_NOT_FOUND. Rows written before schema 12 read with
 * has_current false. */
typedef int (*store_pending_cb)(void *arg, const struct store_pending *row);
int store_put_pending(struct store *s, const struct store_pending *row);
int store_delete_pending(struct store *s, uint64_t dev_eui);
int store_load_pending(struct store *s, store_pending_cb cb, void *arg);
int store_get_pending(struct store *s, uint64_t dev_eui, struct store_pending *out);

/* Delete the device's session, pending session, DevNonces, downlinks,
 * device ledgers and MAC state, and commit at once (with anything staged
 * before). The counters of the sessions it left (store_abp.h) are kept:
 * its keys configured again, under any DevEUI, must not reuse them
 * (daemon/session.h: sessions_keep_purged(), called first, keeps its
 * current and pending sessions' too); with STORE_PURGE_FORGET_SEEN they
 * are deleted as well. LB_ERR_NOT_FOUND when nothing was deleted (the
 * staged batch is still committed). */
#define STORE_PURGE_FORGET_SEEN 1u
int store_purge_flags(struct store *s, uint64_t dev_eui, unsigned flags);

#endif
