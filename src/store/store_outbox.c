/* SPDX-License-Identifier: MIT */
/*
 * store_outbox.c - the outbox rows of the store: packing events into rows
 * and staging them, staging the acknowledged mark (both applied by
 * store__apply() in store_write.c, so a failed batch is replayed), reading
 * events back a page at a time, their size, and the migration of the
 * one-row-per-event outbox of schema v6. See store_outbox.h.
 */
#include "store/store_outbox.h"

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_ops.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/*
 * The body of an outbox row: its events end to end, in seq order, each a
 * head of EV_HEAD bytes, its topic with a NUL after it (so that a page hands
 * it on in place) and its payload. Integers little-endian, whatever the
 * machine (the file may move to another one).
 *
 *  0        8         16           24          26       30    31    32
 *  +--------+---------+------------+-----------+--------+-----+-----+---------------+---------+
 *  | seq    | dev_eui | created_at | topic_len | len    | qos | 0   | topic, NUL    | payload |
 *  | u64    | u64     | i64 Unix s | u16       | u32    | u8  | u8  | topic_len + 1 | len     |
 *  +--------+---------+------------+-----------+--------+-----+-----+---------------+---------+
 */
#define OFF_SEQ 0
#define OFF_DEV_EUI 8
#define OFF_CREATED_AT 16
#define OFF_TOPIC_LEN 24
#define OFF_LEN 26
#define OFF_QOS 30
#define OFF_RESERVED 31
#define EV_HEAD 32

_Static_assert(STORE_OUTBOX_TOPIC_MAX <= 0xffff && STORE_OUTBOX_PAYLOAD_MAX <= 0xffffffffu,
	       "topic_len and len fit their fields");

/* n (2, 4 or 8) bytes little-endian: the low n bytes of the value in
 * little-endian order, copied whole (a loop per byte cost more than the
 * rest of the encoding). */
static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	v = htole64(v);
	memcpy(p, &v, n);
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return le64toh(v);
}

/* An event's encoded size. */
static size_t ev_size(size_t topic_len, size_t len)
{
	return EV_HEAD + topic_len + 1 + len;
}

static void put_head(uint8_t *h, const struct store_outbox_row *r, size_t topic_len,
		     int64_t created_at)
{
	put_le(h + OFF_SEQ, r->seq, 8);
	put_le(h + OFF_DEV_EUI, r->dev_eui, 8);
	put_le(h + OFF_CREATED_AT, (uint64_t)created_at, 8);
	put_le(h + OFF_TOPIC_LEN, topic_len, 2);
	put_le(h + OFF_LEN, r->len, 4);
	h[OFF_QOS] = (uint8_t)r->qos;
	h[OFF_RESERVED] = 0;
}

/* The event at *off of a body of len bytes into r (topic and payload point
 * into the body), *topic_len its topic's length; *off moves past it.
 * LB_ERR_INVAL when it does not fit the body or breaks a limit. */
static int next_event(const uint8_t *body, size_t len, size_t *off,
		      struct store_outbox_row *r, size_t *topic_len)
{
	const uint8_t *h = body + *off;

	if (*off > len || len - *off < EV_HEAD)
		return LB_ERR_INVAL;
	size_t tl = (size_t)get_le(h + OFF_TOPIC_LEN, 2);
	size_t pl = (size_t)get_le(h + OFF_LEN, 4);
	r->seq = get_le(h + OFF_SEQ, 8);
	r->dev_eui = get_le(h + OFF_DEV_EUI, 8);
	r->created_at = (int64_t)get_le(h + OFF_CREATED_AT, 8);
	r->qos = h[OFF_QOS];
	if (r->seq == 0 || r->seq > INT64_MAX || r->qos > 2 || tl == 0 ||
	    tl >= STORE_OUTBOX_TOPIC_MAX || pl > STORE_OUTBOX_PAYLOAD_MAX ||
	    len - *off - EV_HEAD < tl + 1 + pl)
		return LB_ERR_INVAL;
	const char *topic = (const char *)h + EV_HEAD;
	if (topic[tl] != '\0' || memchr(topic, '\0', tl))
		return LB_ERR_INVAL;
	r->topic = topic;
	r->payload = topic + tl + 1;
	r->len = pl;
	*topic_len = tl;
	*off += ev_size(tl, pl);
	return LB_OK;
}

bool store__outbox_body_ok(const struct store__pack *p, const void *body)
{
	struct store_outbox_row r;
	size_t off = 0, tl;
	uint64_t prev = 0, bytes = 0;
	uint32_t n = 0;

	while (off < p->body_len) {
		if (next_event(body, p->body_len, &off, &r, &tl) != LB_OK || r.seq <= prev ||
		    (n == 0 && r.seq != p->first))
			return false;
		prev = r.seq;
		bytes += store_outbox_row_bytes(tl, r.len);
		n++;
	}
	return n > 0 && n == p->n && prev == p->last && bytes == p->bytes;
}

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

/* ---- adding ----------------------------------------------------------------- */

/* rows[0..n) (checked, increasing, after every seq the outbox had) as one
 * row: the record is the pack's head, then per event its head, its topic
 * with the NUL and its payload. */
static int stage_pack(struct store *s, const struct store_outbox_row *rows, size_t n,
		      const size_t *topic_len)
{
	uint8_t head[STORE_OUTBOX_PACK_EVENTS][EV_HEAD];
	struct store__part parts[1 + 3 * STORE_OUTBOX_PACK_EVENTS];
	struct store__pack p = {.first = rows[0].seq, .last = rows[n - 1].seq,
				.n = (uint32_t)n};
	int64_t now = store__wall_s(s);
	size_t k = 0, body = 0;

	parts[k++] = (struct store__part){&p, sizeof(p)};
	for (size_t i = 0; i < n; i++) {
		const struct store_outbox_row *r = &rows[i];
		put_head(head[i], r, topic_len[i], now);
		parts[k++] = (struct store__part){head[i], EV_HEAD};
		parts[k++] = (struct store__part){r->topic, topic_len[i] + 1};
		parts[k++] = (struct store__part){r->payload, r->len};
		body += ev_size(topic_len[i], r->len);
		p.bytes += store_outbox_row_bytes(topic_len[i], r->len);
	}
	p.body_len = (uint32_t)body;
	int rc = store__stagev(s, OP_OUTBOX_PACK, parts, k, 1);
	if (rc == LB_OK)
		s->outbox_last = p.last;
	return rc;
}

/* How many rows from the first go into the next pack (at least one when the
 * first is valid), their topics' lengths noted; *err: the error of the row
 * after them, if that is why the pack ends there. */
static size_t gather(const struct store *s, const struct store_outbox_row *rows, size_t n,
		     size_t *topic_len, int *err)
{
	uint64_t prev = s->outbox_last;
	size_t k = 0, bytes = 0;

	*err = LB_OK;
	for (; k < n && k < STORE_OUTBOX_PACK_EVENTS; k++) {
		const struct store_outbox_row *r = &rows[k];
		if ((*err = check_row(r, &topic_len[k])) == LB_OK && r->seq <= prev)
			*err = prev == s->outbox_last ? LB_ERR_DUPLICATE : LB_ERR_INVAL;
		if (*err != LB_OK)
			break;
		size_t size = ev_size(topic_len[k], r->len);
		if (k > 0 && bytes + size > STORE_OUTBOX_PACK_BYTES)
			break;
		bytes += size;
		prev = r->seq;
	}
	return k;
}

int store_outbox_add_many(struct store *s, const struct store_outbox_row *rows, size_t n,
			  size_t *staged)
{
	size_t topic_len[STORE_OUTBOX_PACK_EVENTS];
	size_t done = 0;
	int rc = LB_OK;

	if (staged)
		*staged = 0;
	if (!s || (!rows && n))
		return LB_ERR_INVAL;
	while (rc == LB_OK && done < n) {
		int err;
		size_t k = gather(s, rows + done, n - done, topic_len, &err);
		if (k > 0 && (rc = stage_pack(s, rows + done, k, topic_len)) == LB_OK)
			done += k;
		if (rc == LB_OK)
			rc = err;
	}
	if (staged)
		*staged = done;
	return rc;
}

int store_outbox_add(struct store *s, const struct store_outbox_row *row)
{
	return store_outbox_add_many(s, row, 1, NULL);
}

int store_outbox_ack(struct store *s, uint64_t upto)
{
	struct store__outbox_ack a = {.upto = upto};

	if (!s || upto < s->outbox_acked || upto > s->outbox_last)
		return LB_ERR_INVAL;
	if (upto == s->outbox_acked)
		return LB_OK;
	int rc = store__stage(s, OP_OUTBOX_ACK, &a, sizeof(a));
	if (rc == LB_OK)
		s->outbox_acked = upto;
	return rc;
}

/* ---- reading ------------------------------------------------------------------ */

/* A row that does not decode was edited by hand: reported as a problem of
 * the file (LB_ERR_IO), never handed on. */
static int bad_row(uint64_t seq)
{
	log_error(TAG, "outbox row after event %llu does not decode (an invalid topic, "
		  "payload size, QoS or order)", (unsigned long long)seq);
	return LB_ERR_IO;
}

struct walk {
	uint64_t rows_after;            /* rows whose last seq is above it */
	uint64_t after, upto;           /* events after < seq <= upto */
	size_t limit, got;
	store_outbox_cb cb;
	void *arg;
	uint64_t last;                  /* the last seq decoded */
	bool done;                      /* beyond upto, or limit reached */
};

/* Hand on the events of one row's body that the walk wants. */
static int walk_body(struct walk *w, const uint8_t *body, size_t len)
{
	struct store_outbox_row r;
	size_t off = 0, tl;

	while (off < len && !w->done) {
		if (next_event(body, len, &off, &r, &tl) != LB_OK || r.seq <= w->last)
			return bad_row(w->last);
		w->last = r.seq;
		if (r.seq <= w->after)
			continue;
		if (r.seq > w->upto) {
			w->done = true;
			break;
		}
		int rc = w->cb(w->arg, &r);
		if (rc != LB_OK)
			return rc;
		w->done = ++w->got == w->limit;
	}
	return LB_OK;
}

static int walk(struct store *s, struct walk *w)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = LB_OK;

	if (w->limit == 0 || w->after >= w->upto)
		return LB_OK;
	st = store__stmt(s, STMT_OUTBOX_PAGE);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, w->rows_after);
	store__bind_u64(st, 1, w->upto);
	while (!w->done && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The blob first, then its size (SQLite's documented order). */
		const uint8_t *body = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		if ((ret = walk_body(w, body, len > 0 ? (size_t)len : 0)) != LB_OK)
			break;
	}
	if (ret == LB_OK && !w->done && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "read outbox");
	sqlite3_reset(st);
	return ret;
}

int store_outbox_page(struct store *s, uint64_t after, uint64_t upto, size_t limit,
		      store_outbox_cb cb, void *arg, size_t *n)
{
	struct walk w = {.after = after, .upto = upto > INT64_MAX ? INT64_MAX : upto,
			 .limit = limit, .cb = cb, .arg = arg};

	if (n)
		*n = 0;
	if (!s || !s->db || !cb || after > INT64_MAX)
		return LB_ERR_INVAL;
	if (w.after < s->outbox_acked)   /* done already */
		w.after = s->outbox_acked;
	w.rows_after = w.after;
	int rc = walk(s, &w);
	if (n)
		*n = w.got;
	return rc;
}

/* ---- usage ---------------------------------------------------------------------- */

/* The events of the row holding the mark that are at or below it. */
struct below {
	uint64_t rows, bytes;
};

static int count_below(void *arg, const struct store_outbox_row *r)
{
	struct below *b = arg;

	b->rows++;
	b->bytes += store_outbox_row_bytes(strlen(r->topic), r->len);
	return LB_OK;
}

static int first_above(void *arg, const struct store_outbox_row *r)
{
	*(uint64_t *)arg = r->seq;
	return LB_OK;
}

/* The sums of SQL count the whole row that holds the mark: less its events
 * at or below the mark, and the first seq is its first one above. */
static int correct_usage(struct store *s, struct store_outbox_usage *u)
{
	uint64_t acked = s->outbox_acked;
	struct below b = {0, 0};
	struct walk w = {.rows_after = acked, .after = 0, .upto = acked, .limit = SIZE_MAX,
			 .cb = count_below, .arg = &b};
	int rc = walk(s, &w);

	if (rc != LB_OK)
		return rc;
	u->rows -= b.rows;
	u->bytes -= b.bytes;
	u->first_seq = 0;
	return u->rows == 0 ? LB_OK
			    : store_outbox_page(s, acked, INT64_MAX, 1, first_above,
						&u->first_seq, NULL);
}

int store_outbox_usage(struct store *s, struct store_outbox_usage *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->acked = s->outbox_acked;
	st = store__stmt(s, STMT_OUTBOX_USAGE);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, s->outbox_acked);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->rows = (uint64_t)sqlite3_column_int64(st, 0);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 1);
		out->first_seq = (uint64_t)sqlite3_column_int64(st, 2);
		out->last_seq = (uint64_t)sqlite3_column_int64(st, 3);
		rc = LB_OK;
	} else {
		rc = store__fail(s, rc, "outbox usage");
	}
	sqlite3_reset(st);
	if (rc == LB_OK && out->rows > 0 && out->first_seq <= s->outbox_acked)
		rc = correct_usage(s, out);
	return rc;
}

int store__outbox_open(struct store *s)
{
	struct store_outbox_usage u;
	int64_t acked = 0;
	int rc = store_meta_get(s, STORE_OUTBOX_ACKED_KEY, &acked);

	if (rc == LB_ERR_NOT_FOUND)
		acked = 0;
	else if (rc != LB_OK)
		return rc;
	if (acked < 0) {
		log_error(TAG, "meta %s is negative (%lld): edited by hand",
			  STORE_OUTBOX_ACKED_KEY, (long long)acked);
		return LB_ERR_IO;
	}
	s->outbox_acked = (uint64_t)acked;
	if ((rc = store_outbox_usage(s, &u)) != LB_OK)
		return rc;
	s->outbox_last = u.last_seq > u.acked ? u.last_seq : u.acked;
	return LB_OK;
}

/* ---- schema v6 to v7 --------------------------------------------------------- */

/* Events of v6 gathered into the body of the next v7 row. */
struct repack {
	uint8_t *buf;
	size_t len, cap;
	struct store__pack p;
};

static int repack_flush(sqlite3_stmt *ins, struct repack *k)
{
	int rc;

	if (k->p.n == 0)
		return SQLITE_OK;
	sqlite3_bind_int64(ins, 1, (sqlite3_int64)k->p.last);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)k->p.first);
	sqlite3_bind_int64(ins, 3, k->p.n);
	sqlite3_bind_int64(ins, 4, (sqlite3_int64)k->p.bytes);
	sqlite3_bind_blob(ins, 5, k->buf, (int)k->len, SQLITE_STATIC);
	rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	memset(&k->p, 0, sizeof(k->p));
	k->len = 0;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One v6 row appended to the pack (flushed first when it would not fit). */
static int repack_row(sqlite3_stmt *ins, struct repack *k, sqlite3_stmt *sel)
{
	struct store_outbox_row r = {
		.seq = (uint64_t)sqlite3_column_int64(sel, 0),
		.dev_eui = (uint64_t)sqlite3_column_int64(sel, 1),
		.qos = sqlite3_column_int(sel, 2),
		.topic = (const char *)sqlite3_column_text(sel, 3),
		.payload = sqlite3_column_blob(sel, 4),
	};
	size_t tl;
	int rc;

	r.len = (size_t)sqlite3_column_bytes(sel, 4);
	if (check_row(&r, &tl) != LB_OK || tl != (size_t)sqlite3_column_bytes(sel, 3)) {
		log_error(TAG, "outbox row %llu of schema v6 has an invalid topic, payload size "
			  "or QoS", (unsigned long long)r.seq);
		return SQLITE_CORRUPT;
	}
	size_t size = ev_size(tl, r.len);
	if (k->p.n == STORE_OUTBOX_PACK_EVENTS || (k->p.n > 0 &&
						   k->len + size > STORE_OUTBOX_PACK_BYTES))
		if ((rc = repack_flush(ins, k)) != SQLITE_OK)
			return rc;
	if (k->len + size > k->cap) {
		size_t cap = k->len + size + STORE_OUTBOX_PACK_BYTES;
		uint8_t *b = realloc(k->buf, cap);
		if (!b)
			return SQLITE_NOMEM;
		k->buf = b;
		k->cap = cap;
	}
	put_head(k->buf + k->len, &r, tl, sqlite3_column_int64(sel, 5));
	memcpy(k->buf + k->len + EV_HEAD, r.topic, tl + 1);
	if (r.len)
		memcpy(k->buf + k->len + EV_HEAD + tl + 1, r.payload, r.len);
	k->len += size;
	if (k->p.n++ == 0)
		k->p.first = r.seq;
	k->p.last = r.seq;
	k->p.bytes += store_outbox_row_bytes(tl, r.len);
	return SQLITE_OK;
}

int store__outbox_migrate_v7(sqlite3 *db)
{
	struct repack k;
	sqlite3_stmt *sel = NULL, *ins = NULL;
	int rc;

	memset(&k, 0, sizeof(k));
	rc = sqlite3_prepare_v2(db, "SELECT seq, dev_eui, qos, topic, payload, created_at"
				" FROM outbox ORDER BY seq", -1, &sel, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO outbox_v7 (" OUTBOX_COLS ")"
					" VALUES (?,?,?,?,?)", -1, &ins, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW)
		rc = repack_row(ins, &k, sel);
	if (rc == SQLITE_DONE)
		rc = repack_flush(ins, &k);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	free(k.buf);
	return rc;
}
