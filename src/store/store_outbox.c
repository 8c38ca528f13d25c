/* SPDX-License-Identifier: MIT */
/*
 * store_outbox.c - the outbox rows of the store: staging additions and
 * deletions (applied by store__apply() in store_write.c, so a failed batch
 * is replayed), reading them back a page at a time, and their size. See
 * store_outbox.h.
 */
#include "store/store_outbox.h"

#include <stdint.h>
#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

uint64_t store_outbox_row_bytes(size_t topic_len, size_t len)
{
	return (uint64_t)topic_len + len + STORE_OUTBOX_ROW_OVERHEAD;
}

static int check_row(const struct store_outbox_row *r, size_t *topic_len)
{
	if (r->seq == 0 || r->seq > INT64_MAX || r->qos < 0 || r->qos > 2 || !r->topic ||
	    !r->topic[0] || (!r->payload && r->len))
		return LB_ERR_INVAL;
	*topic_len = strnlen(r->topic, STORE_OUTBOX_TOPIC_MAX);
	if (*topic_len >= STORE_OUTBOX_TOPIC_MAX || r->len > STORE_OUTBOX_PAYLOAD_MAX)
		return LB_ERR_TOO_LARGE;
	return LB_OK;
}

int store_outbox_add(struct store *s, const struct store_outbox_row *row)
{
	/* The record's head: the row's numbers, then its topic. */
	union {
		struct store__outbox o;
		uint8_t bytes[sizeof(struct store__outbox) + STORE_OUTBOX_TOPIC_MAX];
	} head;
	size_t topic_len;
	int rc;

	if (!s || !row)
		return LB_ERR_INVAL;
	if ((rc = check_row(row, &topic_len)) != LB_OK)
		return rc;
	memset(&head.o, 0, sizeof(head.o));
	head.o.seq = row->seq;
	head.o.dev_eui = row->dev_eui;
	head.o.created_at = store__wall_s(s);
	head.o.topic_len = (uint32_t)topic_len;
	head.o.len = (uint32_t)row->len;
	head.o.qos = (uint32_t)row->qos;
	memcpy(head.bytes + sizeof(head.o), row->topic, topic_len);
	return store__stage2(s, OP_OUTBOX_ADD, head.bytes, sizeof(head.o) + topic_len,
			     row->payload, row->len);
}

/* Rows from the first that pass check_row(), at most STORE_MANY_ROWS. */
/* A valid row, its topic's length noted for add_group(). */
static bool row_ok(const void *row, size_t i, void *scratch)
{
	size_t *topic_len = scratch;

	return check_row(row, &topic_len[i]) == LB_OK;
}

/* n checked rows (a power of 2, at most STORE_MANY_ROWS) as one
 * record: its head, then per row its numbers, topic, payload and padding
 * (store_write.h). */
static int add_group(struct store *s, const void *group, size_t n, const void *scratch)
{
	const struct store_outbox_row *rows = group;
	const size_t *topic_len = scratch;
	static const uint8_t zeros[8];
	struct store__many h = {.n = (uint32_t)n};
	struct store__outbox o[STORE_MANY_ROWS];
	struct store__part parts[1 + 4 * STORE_MANY_ROWS];
	int64_t now = store__wall_s(s);
	size_t k = 0;

	parts[k++] = (struct store__part){&h, sizeof(h)};
	for (size_t i = 0; i < n; i++) {
		const struct store_outbox_row *r = &rows[i];
		size_t used = sizeof(o[i]) + topic_len[i] + r->len;
		memset(&o[i], 0, sizeof(o[i]));
		o[i].seq = r->seq;
		o[i].dev_eui = r->dev_eui;
		o[i].created_at = now;
		o[i].topic_len = (uint32_t)topic_len[i];
		o[i].len = (uint32_t)r->len;
		o[i].qos = (uint32_t)r->qos;
		parts[k++] = (struct store__part){&o[i], sizeof(o[i])};
		parts[k++] = (struct store__part){r->topic, topic_len[i]};
		parts[k++] = (struct store__part){r->payload, r->len};
		parts[k++] = (struct store__part){zeros,
			store__entry_size(sizeof(o[i]), topic_len[i] + r->len) - used};
	}
	return store__stagev(s, OP_OUTBOX_ADD_MANY, parts, k, n);
}

/* Groups of 32, 16 ... 2 rows, each one statement: 60 rows take four. */
static int add_one(struct store *s, const void *row)
{
	return store_outbox_add(s, row);
}

int store_outbox_add_many(struct store *s, const struct store_outbox_row *rows, size_t n,
			  size_t *staged)
{
	static const struct store__many_kind kind = {
		.size = sizeof(struct store_outbox_row), .ok = row_ok,
		.group = add_group, .one = add_one,
	};
	size_t topic_len[STORE_MANY_ROWS];

	return store__stage_many(s, &kind, rows, n, staged, topic_len);
}

int store_outbox_delete(struct store *s, uint64_t first, uint64_t last)
{
	struct store__outbox_range r = {.first = first, .last = last};

	if (!s || first == 0 || first > last || last > INT64_MAX)
		return LB_ERR_INVAL;
	return store__stage(s, OP_OUTBOX_DELETE, &r, sizeof(r));
}

/* A row that does not fit the limits was edited by hand: reported as a
 * problem of the file (LB_ERR_IO), never handed on. */
static int read_row(sqlite3_stmt *st, struct store_outbox_row *r)
{
	int topic_len, len;

	/* Text and blob first, then their sizes (SQLite's documented order). */
	memset(r, 0, sizeof(*r));
	r->topic = (const char *)sqlite3_column_text(st, OC_TOPIC);
	topic_len = sqlite3_column_bytes(st, OC_TOPIC);
	r->payload = sqlite3_column_blob(st, OC_PAYLOAD);
	len = sqlite3_column_bytes(st, OC_PAYLOAD);
	r->seq = (uint64_t)sqlite3_column_int64(st, OC_SEQ);
	r->dev_eui = (uint64_t)sqlite3_column_int64(st, OC_DEV_EUI);
	r->qos = sqlite3_column_int(st, OC_QOS);
	r->created_at = sqlite3_column_int64(st, OC_CREATED_AT);
	if (!r->topic || topic_len <= 0 || topic_len >= STORE_OUTBOX_TOPIC_MAX || len < 0 ||
	    len > STORE_OUTBOX_PAYLOAD_MAX || r->qos < 0 || r->qos > 2) {
		log_error(TAG, "outbox row %llu has an invalid topic, payload size (%d) or QoS",
			  (unsigned long long)r->seq, len);
		return LB_ERR_IO;
	}
	r->len = (size_t)len;
	return LB_OK;
}

int store_outbox_page(struct store *s, uint64_t after, uint64_t upto, size_t limit,
		      store_outbox_cb cb, void *arg, size_t *n)
{
	struct store_outbox_row r;
	sqlite3_stmt *st;
	size_t got = 0;
	uint64_t limit64 = limit;   /* compared as 64 bits: size_t may have 32 */
	int rc, ret = LB_OK;

	if (n)
		*n = 0;
	if (!s || !s->db || !cb || after > INT64_MAX || limit64 > INT64_MAX)
		return LB_ERR_INVAL;
	if (upto > INT64_MAX)
		upto = INT64_MAX;
	st = store__stmt(s, STMT_OUTBOX_PAGE);
	store__bind_u64(st, 0, after);
	store__bind_u64(st, 1, upto);
	store__bind_u64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_row(st, &r);
		if (ret == LB_OK)
			ret = cb(arg, &r);
		if (ret != LB_OK)
			break;
		got++;
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "read outbox");
	sqlite3_reset(st);
	if (n)
		*n = got;
	return ret;
}

int store_outbox_usage(struct store *s, struct store_outbox_usage *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_OUTBOX_USAGE);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->rows = (uint64_t)sqlite3_column_int64(st, 0);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 1) +
			     out->rows * STORE_OUTBOX_ROW_OVERHEAD;
		out->first_seq = (uint64_t)sqlite3_column_int64(st, 2);
		out->last_seq = (uint64_t)sqlite3_column_int64(st, 3);
		rc = LB_OK;
	} else {
		rc = store__fail(s, rc, "outbox usage");
	}
	sqlite3_reset(st);
	return rc;
}
