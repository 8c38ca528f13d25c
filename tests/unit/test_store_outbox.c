/* SPDX-License-Identifier: MIT */
/* test_store_outbox.c - the outbox of the store: events added, packed into
 * rows, paged and acknowledged in seq order, pages bounded above (staged
 * events excluded), the acknowledged mark inside a row (skipped after a
 * restart, counted out of the usage), rows split by size, the size
 * accounting a limit is checked against, staged rows invisible to other
 * connections until the commit, a kill -9 between batches, a row that does
 * not decode, the migrations from schema versions 1 and 5/6 (rows kept, in
 * order), argument checks. All databases live in one mkdtemp() directory
 * under /tmp, removed by an unchecked fixture. */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "rawdb.h"
#include "testutil.h"

#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define EUI_B UINT64_C(0x70b3d57ed0000002)
#define PAGE_MAX 64

static char base_dir[] = "/tmp/test_store_outbox.XXXXXX";

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

static void new_dir(char *out, size_t cap)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/t.XXXXXX", base_dir), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* Row seq of device eui: topic ".../<eui>/event/up", payload "{"n":<seq>}". */
static char topic_buf[128], payload_buf[64];

static struct store_outbox_row mk_row(uint64_t seq, uint64_t eui)
{
	struct store_outbox_row r = {.seq = seq, .dev_eui = eui, .qos = 1};

	snprintf(topic_buf, sizeof(topic_buf), "application/a/device/%016llx/event/up",
		 (unsigned long long)eui);
	r.len = (size_t)snprintf(payload_buf, sizeof(payload_buf), "{\"n\":%llu}",
				 (unsigned long long)seq);
	r.topic = topic_buf;
	r.payload = payload_buf;
	return r;
}

static void add(struct store *s, uint64_t seq, uint64_t eui)
{
	struct store_outbox_row r = mk_row(seq, eui);

	ck_assert_int_eq(store_outbox_add(s, &r), LB_OK);
}

static uint64_t row_bytes(uint64_t seq, uint64_t eui)
{
	struct store_outbox_row r = mk_row(seq, eui);

	return store_outbox_row_bytes(strlen(r.topic), r.len);
}

/* What a page delivered: seqs, and every row checked against mk_row(). */
struct page {
	uint64_t seq[PAGE_MAX];
	size_t n;
	int stop_after;           /* > 0: return LB_ERR_STATE after this many */
};

static int collect(void *arg, const struct store_outbox_row *row)
{
	struct page *p = arg;
	uint64_t eui = row->dev_eui;
	struct store_outbox_row want = mk_row(row->seq, eui);

	ck_assert_uint_lt(p->n, PAGE_MAX);
	ck_assert_str_eq(row->topic, want.topic);
	ck_assert_uint_eq(row->len, want.len);
	ck_assert_mem_eq(row->payload, want.payload, want.len);
	ck_assert_int_eq(row->qos, 1);
	ck_assert_int_gt(row->created_at, 1600000000);
	p->seq[p->n++] = row->seq;
	if (p->stop_after > 0 && (int)p->n == p->stop_after)
		return LB_ERR_STATE;
	return LB_OK;
}

static struct page page(struct store *s, uint64_t after, uint64_t upto, size_t limit)
{
	struct page p = {.n = 0};
	size_t n = 99;

	ck_assert_int_eq(store_outbox_page(s, after, upto, limit, collect, &p, &n), LB_OK);
	ck_assert_uint_eq(n, p.n);
	return p;
}

static void expect_seqs(const struct page *p, const uint64_t *want, size_t n)
{
	ck_assert_uint_eq(p->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(p->seq[i], want[i]);
}

/* created_at is int64 Unix seconds end to end: a row added with the clock
 * past 2^32 s (2106) pages out whole, not wrapped to 32 bits. */
static int64_t fake_wall;

static int64_t fake_wall_s(void)
{
	return fake_wall;
}

static int first_created_at(void *arg, const struct store_outbox_row *row)
{
	*(int64_t *)arg = row->created_at;
	return LB_OK;
}

START_TEST(test_created_at_past_2038)
{
	char dir[512];
	struct store s;
	int64_t got = 0;
	size_t n = 0;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_set_wall_clock(&s, fake_wall_s);
	fake_wall = INT64_C(4294967296) + 7;
	add(&s, 1, EUI_A);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_page(&s, 0, UINT64_MAX, 1, first_created_at, &got, &n),
			 LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(got, INT64_C(4294967296) + 7);
	store_close(&s);
}
END_TEST

/* ---- add, page, acknowledge --------------------------------------------- */

#define MANY_MAX 200

/* Rows first..first+n-1 as mk_row() makes them, each with its own buffers;
 * device A for odd seqs, B for even ones. */
struct many {
	struct store_outbox_row r[MANY_MAX];
	char topic[MANY_MAX][128];
	char payload[MANY_MAX][64];
};

static void mk_many(struct many *m, uint64_t first, size_t n)
{
	ck_assert_uint_le(n, MANY_MAX);
	for (size_t i = 0; i < n; i++) {
		struct store_outbox_row r = mk_row(first + i, (first + i) % 2 ? EUI_A : EUI_B);
		memcpy(m->topic[i], r.topic, strlen(r.topic) + 1);
		memcpy(m->payload[i], r.payload, r.len);
		r.topic = m->topic[i];
		r.payload = m->payload[i];
		m->r[i] = r;
	}
}

static void add_many(struct store *s, uint64_t first, size_t n)
{
	static struct many m;
	size_t staged = 0;

	mk_many(&m, first, n);
	ck_assert_int_eq(store_outbox_add_many(s, m.r, n, &staged), LB_OK);
	ck_assert_uint_eq(staged, n);
}

START_TEST(test_add_page_ack_in_order)
{
	char dir[512];
	struct store s;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	/* Two devices interleaved, one row for the ten. */
	add_many(&s, 1, 10);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT seq FROM outbox"), 10);

	struct page p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10);
	/* A page of 3 after 4; then bounded above. */
	p = page(&s, 4, UINT64_MAX, 3);
	expect_seqs(&p, (const uint64_t[]){5, 6, 7}, 3);
	p = page(&s, 7, 8, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){8}, 1);
	p = page(&s, 10, UINT64_MAX, PAGE_MAX);
	ck_assert_uint_eq(p.n, 0);
	p = page(&s, 0, UINT64_MAX, 0);
	ck_assert_uint_eq(p.n, 0);

	/* Rows of one event each after it; the mark inside the first row keeps
	 * it, the events below the mark are never read again. */
	add(&s, 11, EUI_A);
	add(&s, 12, EUI_B);
	ck_assert_int_eq(store_outbox_ack(&s, 3), LB_OK);
	ck_assert_int_eq(store_outbox_ack(&s, 3), LB_OK);   /* the same: nothing */
	p = page(&s, 0, UINT64_MAX, PAGE_MAX);             /* staged: seen */
	expect_seqs(&p, (const uint64_t[]){4, 5, 6, 7, 8, 9, 10, 11, 12}, 9);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 3);
	ck_assert_int_eq(rawdb_int(dir, "SELECT value FROM meta WHERE key = 'outbox_acked'"), 3);

	/* The callback stops the page with its error. */
	struct page stop = {.stop_after = 2};
	size_t n = 0;
	ck_assert_int_eq(store_outbox_page(&s, 0, UINT64_MAX, PAGE_MAX, collect, &stop, &n),
			 LB_ERR_STATE);
	ck_assert_uint_eq(stop.n, 2);
	ck_assert_int_eq(store_close(&s), LB_OK);

	/* Reopened: the same events above the mark, the same order; a mark
	 * past the first row deletes it, not the next. */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){4, 5, 6, 7, 8, 9, 10, 11, 12}, 9);
	ck_assert_int_eq(store_outbox_ack(&s, 11), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT group_concat(seq) FROM outbox"), 12);
	p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){12}, 1);
	store_close(&s);
}
END_TEST

/* Every event acknowledged and every row gone: the mark stays, and the
 * numbering must go on above it (an event at or below it would be
 * skipped): the store refuses such a seq. */
START_TEST(test_mark_outlives_rows)
{
	char dir[512];
	struct store s;
	struct store_outbox_usage u;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	add_many(&s, 1, 5);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_outbox_ack(&s, 6), LB_ERR_INVAL);   /* beyond the last */
	ck_assert_int_eq(store_outbox_ack(&s, 5), LB_OK);
	ck_assert_int_eq(store_outbox_ack(&s, 4), LB_ERR_INVAL);   /* below the mark */
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 0);
	store_close(&s);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 0);
	ck_assert_uint_eq(u.bytes, 0);
	ck_assert_uint_eq(u.last_seq, 0);
	ck_assert_uint_eq(u.acked, 5);
	struct store_outbox_row r = mk_row(5, EUI_A);
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_DUPLICATE);
	add(&s, 6, EUI_A);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	struct page p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){6}, 1);
	store_close(&s);
}
END_TEST

/* Large events: a row takes them while it stays within
 * STORE_OUTBOX_PACK_BYTES; one event larger than that has a row of its
 * own. Every event comes back whole, in order. */
static int check_big(void *arg, const struct store_outbox_row *row)
{
	uint64_t *next = arg;
	const uint8_t *p = row->payload;

	ck_assert_uint_eq(row->seq, *next);
	ck_assert_uint_eq(row->len, row->seq == 30 ? STORE_OUTBOX_PAYLOAD_MAX : 10000);
	ck_assert_uint_eq(p[0], (uint8_t)row->seq);
	ck_assert_uint_eq(p[row->len - 1], (uint8_t)row->seq);
	(*next)++;
	return LB_OK;
}

START_TEST(test_rows_split_by_size)
{
	static uint8_t payload[40][10000], big[STORE_OUTBOX_PAYLOAD_MAX];
	struct store_outbox_row r[40];
	char dir[512];
	struct store s;
	size_t staged = 0, n = 0;
	uint64_t next = 1;

	for (size_t i = 0; i < 40; i++) {
		uint8_t *p = i + 1 == 30 ? big : payload[i];
		r[i] = (struct store_outbox_row){.seq = i + 1, .dev_eui = EUI_A, .qos = 2,
						 .topic = "t/up", .payload = p,
						 .len = i + 1 == 30 ? sizeof(big) : 10000};
		memset(p, (int)(i + 1), r[i].len);
	}
	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_add_many(&s, r, 40, &staged), LB_OK);
	ck_assert_uint_eq(staged, 40);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	/* 13 events of 10,000 bytes (10,037 encoded) fit 128 KiB: rows of
	 * 1-13, 14-26, 27-29, 30 alone, 31-40. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 5);
	ck_assert_int_eq(rawdb_int(dir, "SELECT events FROM outbox WHERE seq = 30"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT max(length(body)) FROM outbox WHERE seq != 30"),
			 13 * (32 + 5 + 10000));
	ck_assert_int_eq(store_outbox_page(&s, 0, UINT64_MAX, 100, check_big, &next, &n), LB_OK);
	ck_assert_uint_eq(n, 40);
	store_close(&s);
}
END_TEST

/* A row that does not decode (edited by hand) is an error of the file,
 * never handed on. */
START_TEST(test_bad_row_refused)
{
	char dir[512];
	struct store s;
	struct page p = {.n = 0};
	size_t n = 9;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	add_many(&s, 1, 3);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	rawdb_exec(dir, "UPDATE outbox SET body = substr(body, 1, length(body) - 1)");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_page(&s, 0, UINT64_MAX, PAGE_MAX, collect, &p, &n),
			 LB_ERR_IO);
	ck_assert_uint_eq(n, 2);                  /* those before the bad one */
	store_close(&s);
}
END_TEST

/* Rows staged in the open batch are read on this handle (so a page must be
 * bounded by the last committed seq) and invisible to others. */
START_TEST(test_staged_rows)
{
	char dir[512];
	struct store s;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	add(&s, 1, EUI_A);
	add(&s, 2, EUI_A);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	add(&s, 3, EUI_A);
	ck_assert(store_dirty(&s));
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 2);
	struct page p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){1, 2, 3}, 3);
	p = page(&s, 0, 2, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){1, 2}, 2);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 3);
	ck_assert_int_eq(rawdb_int(dir, "SELECT max(seq) FROM outbox"), 3);
	store_close(&s);
}
END_TEST

/* ---- several rows per statement ------------------------------------------ */

/* Every seq in first..last is read back once, in order, as written. */
static void expect_range(struct store *s, uint64_t first, uint64_t last)
{
	uint64_t next = first, after = first - 1;

	for (;;) {
		struct page p = page(s, after, UINT64_MAX, PAGE_MAX);
		for (size_t i = 0; i < p.n; i++)
			ck_assert_uint_eq(p.seq[i], next++);
		if (p.n < PAGE_MAX)
			break;
		after = p.seq[p.n - 1];
	}
	ck_assert_uint_eq(next, last + 1);
}

/* Batch sizes alone, around a row's STORE_OUTBOX_PACK_EVENTS (64): all
 * events staged in as few rows (each one write), committed, read back in
 * order. */
START_TEST(test_add_many_sizes)
{
	static const size_t sizes[] = {1, 2, 3, 63, 64, 65, 128, 129, 200};
	static struct many m;
	char dir[512];
	struct store s;
	uint64_t seq = 1, rows = 0;

	ck_assert_int_eq(STORE_OUTBOX_PACK_EVENTS, 64);
	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t staged = 999, want_rows = (sizes[k] + 63) / 64;
		mk_many(&m, seq, sizes[k]);
		ck_assert_int_eq(store_outbox_add_many(&s, m.r, sizes[k], &staged), LB_OK);
		ck_assert_uint_eq(staged, sizes[k]);
		ck_assert_uint_eq(s.n_ops, want_rows);
		expect_range(&s, seq, seq + sizes[k] - 1);     /* staged rows are read */
		ck_assert_int_eq(store_commit(&s), LB_OK);
		rows += want_rows;
		ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), (int64_t)rows);
		ck_assert_int_eq(rawdb_int(dir, "SELECT sum(events) FROM outbox"),
				 (int64_t)(seq + sizes[k] - 1));
		seq += sizes[k];
	}
	ck_assert_uint_eq(s.stats.rows_written, rows);
	ck_assert_int_eq(store_outbox_add_many(&s, m.r, 0, NULL), LB_OK);   /* none: nothing */
	ck_assert(!store_dirty(&s));
	store_close(&s);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	expect_range(&s, 1, seq - 1);
	store_close(&s);
}
END_TEST

/* A refused event stops the call there: the events before it are staged
 * (one row), none after it. Events at or below a seq the outbox had, or
 * not increasing, are refused, and the store goes on. */
START_TEST(test_add_many_refused)
{
	static struct many m;
	char dir[512];
	struct store s;
	size_t staged = 999;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	mk_many(&m, 1, 40);
	m.r[19].qos = 5;                                    /* seq 20 */
	ck_assert_int_eq(store_outbox_add_many(&s, m.r, 40, &staged), LB_ERR_INVAL);
	ck_assert_uint_eq(staged, 19);
	ck_assert_uint_eq(s.n_ops, 1);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	expect_range(&s, 1, 19);

	add(&s, 40, EUI_B);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	mk_many(&m, 20, 32);                                /* 20..51: below 40 */
	ck_assert_int_eq(store_outbox_add_many(&s, m.r, 32, &staged), LB_ERR_DUPLICATE);
	ck_assert_uint_eq(staged, 0);
	ck_assert(!store_dirty(&s));
	mk_many(&m, 41, 10);
	m.r[5].seq = 43;                                    /* 41 42 43 44 45 43 ... */
	ck_assert_int_eq(store_outbox_add_many(&s, m.r, 10, &staged), LB_ERR_INVAL);
	ck_assert_uint_eq(staged, 5);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT sum(events) FROM outbox"), 19 + 1 + 5);
	struct page p = page(&s, 18, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){19, 40, 41, 42, 43, 44, 45}, 7);
	ck_assert_int_eq(store_outbox_add_many(NULL, m.r, 1, &staged), LB_ERR_INVAL);
	ck_assert_int_eq(store_outbox_add_many(&s, NULL, 1, &staged), LB_ERR_INVAL);
	store_close(&s);
}
END_TEST

/* ---- limit accounting --------------------------------------------------- */

START_TEST(test_usage_accounting)
{
	char dir[512];
	struct store s;
	struct store_outbox_usage u;
	uint64_t want = 0;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 0);
	ck_assert_uint_eq(u.bytes, 0);
	ck_assert_uint_eq(u.first_seq, 0);
	ck_assert_uint_eq(u.last_seq, 0);

	for (uint64_t i = 1; i <= 20; i++)
		want += row_bytes(i, i % 2 ? EUI_A : EUI_B);
	add_many(&s, 1, 20);                          /* one row */
	/* Counted as staged, and the same figure after the commit. */
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 20);
	ck_assert_uint_eq(u.bytes, want);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.bytes, want);
	ck_assert_uint_eq(u.first_seq, 1);
	ck_assert_uint_eq(u.last_seq, 20);

	/* The formula: topic + payload + the per-row overhead. */
	ck_assert_uint_eq(store_outbox_row_bytes(10, 100), 110 + STORE_OUTBOX_ROW_OVERHEAD);
	/* A non-ASCII topic counts its bytes, not its characters. */
	struct store_outbox_row r = {.seq = 21, .dev_eui = EUI_B, .qos = 0, .payload = "",
				     .topic = "application/caf\xc3\xa9/up"};
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	want += store_outbox_row_bytes(strlen(r.topic), 0);

	/* A mark inside the row: its events below are counted out. */
	for (uint64_t i = 1; i <= 5; i++)
		want -= row_bytes(i, i % 2 ? EUI_A : EUI_B);
	ck_assert_int_eq(store_outbox_ack(&s, 5), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 16);
	ck_assert_uint_eq(u.bytes, want);
	ck_assert_uint_eq(u.first_seq, 6);
	ck_assert_uint_eq(u.last_seq, 21);
	store_close(&s);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 16);
	ck_assert_uint_eq(u.bytes, want);
	ck_assert_uint_eq(u.first_seq, 6);
	ck_assert_uint_eq(u.acked, 5);
	store_close(&s);
}
END_TEST

/* ---- a crash between batches -------------------------------------------- */

/* Batch 1 adds 1..10; batch 2 adds 11..20 and acknowledges 1..5, then
 * SIGKILL. */
static void crash_child(const char *dir)
{
	struct store s;

	if (store_open(&s, dir, 200) != LB_OK)
		_exit(2);
	for (uint64_t i = 1; i <= 10; i++) {
		struct store_outbox_row r = mk_row(i, EUI_A);
		if (store_outbox_add(&s, &r) != LB_OK)
			_exit(3);
	}
	if (store_commit(&s) != LB_OK)
		_exit(4);
	for (uint64_t i = 11; i <= 20; i++) {
		struct store_outbox_row r = mk_row(i, EUI_B);
		if (store_outbox_add(&s, &r) != LB_OK)
			_exit(5);
	}
	if (store_outbox_ack(&s, 5) != LB_OK)
		_exit(6);
	raise(SIGKILL);
	_exit(7);
}

START_TEST(test_crash_between_batches)
{
	char dir[512];
	struct store s;
	struct store_outbox_usage u;
	int status = 0;
	pid_t pid;

	new_dir(dir, sizeof(dir));
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		crash_child(dir);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child status %d (exit %d)", status, WEXITSTATUS(status));

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
	ck_assert_uint_eq(u.rows, 10);                 /* batch 1 whole, batch 2 absent */
	ck_assert_uint_eq(u.first_seq, 1);
	ck_assert_uint_eq(u.last_seq, 10);
	struct page p = page(&s, 0, UINT64_MAX, PAGE_MAX);
	expect_seqs(&p, (const uint64_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10);
	/* The next run numbers on from the last committed row. */
	add(&s, u.last_seq + 1, EUI_B);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
}
END_TEST

/* ---- schema ------------------------------------------------------------- */

START_TEST(test_migration_from_v1)
{
	char dir[512];
	struct store s;
	struct store_session row, got;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	memset(&row, 0, sizeof(row));
	row.dev_eui = EUI_A;
	row.dev_addr = 0x26011f2a;
	row.nfcnt_down = 64;
	row.has_fcnt_up_last = true;
	row.fcnt_up_last = 77;
	ck_assert_int_eq(store_put_session(&s, &row), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	/* Back to what version 1 wrote: no tables of later versions. */
	rawdb_exec(dir, "DROP TABLE outbox; DROP TABLE gateway_online; DROP TABLE mac_state;"
		      " DROP TABLE session_fcnt; DROP TABLE abp_seen; DROP TABLE pending_session;"
		      " ALTER TABLE downlink DROP COLUMN expires_at; PRAGMA user_version = 1;");
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"),
			 0);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_ge(STORE_SCHEMA_VERSION, 2);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 77);
	add(&s, 1, EUI_A);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 1);
	store_close(&s);
}
END_TEST

/* Seqs 1..80 but every 8th, as mk_row() makes them, in an outbox of the
 * given schema's form. */
static void old_outbox(const char *dir, int version)
{
	char sql[2048];

	snprintf(sql, sizeof(sql),
		 "DROP TABLE outbox; DROP TABLE session_fcnt; DROP TABLE abp_seen;"
		 " DROP TABLE pending_session;" RAWDB_MAC_STATE_V9
		 "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, dev_eui INTEGER NOT NULL,"
		 " qos INTEGER NOT NULL CHECK (%s), topic TEXT NOT NULL,"
		 " payload BLOB NOT NULL, created_at INTEGER NOT NULL);"
		 "WITH RECURSIVE c(x, eui) AS (SELECT 1, 0x70b3d57ed0000001 UNION ALL"
		 " SELECT x + 1, CASE WHEN x %% 2 THEN 0x70b3d57ed0000002"
		 " ELSE 0x70b3d57ed0000001 END FROM c WHERE x < 80)"
		 " INSERT INTO outbox SELECT x, eui, 1,"
		 " printf('application/a/device/%%016x/event/up', eui),"
		 " CAST(printf('{\"n\":%%d}', x) AS BLOB), 1700000000 + x FROM c WHERE x %% 8 != 0;"
		 "PRAGMA user_version = %d;",
		 version == 5 ? "qos IN (0, 1, 2)" : "qos BETWEEN 0 AND 2", version);
	rawdb_exec(dir, sql);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 70);
}

/* The outbox of schemas 5 and 6 (one row per event, rows acknowledged out
 * of order leaving gaps) is packed by the migration to v7: every row of
 * the last run is there, read back in order as written, rows of 64 events,
 * new events follow them. */
START_TEST(test_migration_old_outbox_rows)
{
	for (int version = 5; version <= 6; version++) {
		char dir[512];
		struct store s;
		struct store_outbox_usage u;
		uint64_t after = 0, want = 1;
		size_t total = 0;

		new_dir(dir, sizeof(dir));
		ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
		ck_assert_int_eq(store_close(&s), LB_OK);
		old_outbox(dir, version);

		ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
		ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
		ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 2);   /* 64 + 6 */
		ck_assert_int_eq(store_outbox_usage(&s, &u), LB_OK);
		ck_assert_uint_eq(u.rows, 70);
		ck_assert_uint_eq(u.first_seq, 1);
		ck_assert_uint_eq(u.last_seq, 79);
		add(&s, 81, EUI_A);
		ck_assert_int_eq(store_commit(&s), LB_OK);
		for (;;) {
			struct page p = page(&s, after, UINT64_MAX, PAGE_MAX);
			for (size_t i = 0; i < p.n; i++, want++, total++) {
				if (want % 8 == 0)
					want++;
				ck_assert_uint_eq(p.seq[i], want);
			}
			if (p.n < PAGE_MAX)
				break;
			after = p.seq[p.n - 1];
		}
		ck_assert_uint_eq(total, 71);
		ck_assert_uint_eq(want, 82);
		ck_assert_int_eq(store_close(&s), LB_OK);
	}
}
END_TEST

/* ---- arguments ---------------------------------------------------------- */

START_TEST(test_arguments)
{
	char dir[512], long_topic[STORE_OUTBOX_TOPIC_MAX + 8];
	struct store s;
	struct store_outbox_row r;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	r = mk_row(0, EUI_A);
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_INVAL);
	r = mk_row((uint64_t)INT64_MAX + 1, EUI_A);
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_INVAL);
	r = mk_row(1, EUI_A);
	r.qos = 3;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_INVAL);
	r = mk_row(1, EUI_A);
	r.topic = "";
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_INVAL);
	r = mk_row(1, EUI_A);
	r.payload = NULL;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_INVAL);
	memset(long_topic, 't', sizeof(long_topic) - 1);
	long_topic[sizeof(long_topic) - 1] = '\0';
	r = mk_row(1, EUI_A);
	r.topic = long_topic;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_TOO_LARGE);
	r = mk_row(1, EUI_A);
	r.len = STORE_OUTBOX_PAYLOAD_MAX + 1;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_TOO_LARGE);
	ck_assert(!store_dirty(&s));                  /* nothing was staged */

	add(&s, 1, EUI_A);
	r = mk_row(1, EUI_B);
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_ERR_DUPLICATE);
	ck_assert_int_eq(store_outbox_ack(&s, 2), LB_ERR_INVAL);       /* beyond the last */
	ck_assert_int_eq(store_outbox_ack(NULL, 1), LB_ERR_INVAL);
	ck_assert_int_eq(store_meta_put(&s, STORE_OUTBOX_ACKED_KEY, 1), LB_ERR_INVAL);
	ck_assert_int_eq(store_outbox_page(&s, 0, 1, 1, NULL, NULL, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_outbox_usage(&s, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 1);
	store_close(&s);
}
END_TEST

static Suite *outbox_suite(void)
{
	Suite *s = suite_create("store_outbox");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_add_page_ack_in_order);
	tcase_add_test(tc, test_mark_outlives_rows);
	tcase_add_test(tc, test_rows_split_by_size);
	tcase_add_test(tc, test_bad_row_refused);
	tcase_add_test(tc, test_staged_rows);
	tcase_add_test(tc, test_add_many_sizes);
	tcase_add_test(tc, test_add_many_refused);
	tcase_add_test(tc, test_usage_accounting);
	tcase_add_test(tc, test_crash_between_batches);
	tcase_add_test(tc, test_migration_from_v1);
	tcase_add_test(tc, test_migration_old_outbox_rows);
	tcase_add_test(tc, test_arguments);
	tcase_add_test(tc, test_created_at_past_2038);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(outbox_suite());
}
