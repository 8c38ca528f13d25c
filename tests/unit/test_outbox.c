/* SPDX-License-Identifier: MIT */
/* test_outbox.c - the daemon's outbox against a real store (temp dir) and
 * the group commit, with a recording sink in place of MQTT: nothing is sent
 * before its batch commits; order over devices; acknowledgements move the
 * mark (every event up to it done), staged with the next batch, and after
 * a restart only the events above it go again; a returned
 * event goes again before anything newer; a small cache pages rows back from
 * the store without holding more; the size limit refuses and counts; the
 * rows of a run come first in the next; an event the sink refuses for good
 * is counted and deleted; a crash between the pieces of a split batch. */
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "daemon/durable.h"
#include "daemon/outbox.h"
#include "daemon/stats.h"
#include "io/loop.h"
#include "store/store.h"
#include "testutil.h"

#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define EUI_B UINT64_C(0x70b3d57ed0000002)
#define MAX_SENT 256

static char base_dir[] = "/tmp/test_outbox.XXXXXX";

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

/* The recording sink: what was sent, in order; room set by the test. */
struct rec {
	size_t room;
	uint64_t sent[MAX_SENT];
	char payload[MAX_SENT][32];
	size_t n;
	int refuse;                /* an error to return instead of sending, 0: none */
	struct outbox *o;
	bool ack_at_once;          /* QoS 0: acknowledged inside send */
};

static size_t rec_room(void *arg)
{
	struct rec *r = arg;
	return r->room;
}

static int rec_send(void *arg, const char *topic, const void *payload, size_t len, int qos,
		    uint64_t token)
{
	struct rec *r = arg;

	ck_assert_ptr_nonnull(strstr(topic, "/event/"));
	ck_assert_int_eq(qos, 1);
	if (r->refuse)
		return r->refuse;
	ck_assert_uint_lt(r->n, MAX_SENT);
	ck_assert_uint_lt(len, sizeof(r->payload[0]));
	memcpy(r->payload[r->n], payload, len);
	r->payload[r->n][len] = '\0';
	r->sent[r->n++] = token;
	r->room--;
	if (r->ack_at_once)
		outbox_acked(r->o, token);
	return LB_OK;
}

struct fix {
	char dir[512];
	struct store store;
	struct durable durable;
	struct stats stats;
	struct outbox o;
	struct rec rec;
	bool (*is_uplink)(void *arg, const char *topic);   /* NULL: every event */
};

static void open_outbox(struct fix *f, size_t cache, uint64_t limit)
{
	struct outbox_ctx ctx = {.store = &f->store, .durable = &f->durable, .stats = &f->stats,
				 .sink = {.room = rec_room, .send = rec_send, .arg = &f->rec},
				 .is_uplink = f->is_uplink};
	struct outbox_opts opts = {.cache_limit = cache, .limit_bytes = limit, .commit_ms = 50};

	durable_init(&f->durable, &f->store);
	ck_assert_int_eq(outbox_init(&f->o, &ctx, &opts), LB_OK);
	f->rec.o = &f->o;
}

static void setup(struct fix *f, size_t cache, uint64_t limit)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_int_eq(store_open(&f->store, f->dir, 50), LB_OK);
	open_outbox(f, cache, limit);
}

static void teardown(struct fix *f)
{
	outbox_free(&f->o);
	ck_assert_int_eq(store_close(&f->store), LB_OK);
}

/* An `up` event of eui whose payload names n. */
static int add(struct fix *f, uint64_t eui, int n)
{
	char topic[96], payload[32];
	int len = snprintf(payload, sizeof(payload), "{\"n\":%d}", n);

	snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/up",
		 (unsigned long long)eui);
	return outbox_add(&f->o, durable_batch(&f->durable), eui, topic, payload, (size_t)len, 1,
			  true);
}

static uint64_t rows_on_disk(struct fix *f)
{
	struct store_outbox_usage u;

	ck_assert_int_eq(store_outbox_usage(&f->store, &u), LB_OK);
	return u.rows;
}

static void expect_sent(const struct rec *r, size_t from, const int *n, size_t count)
{
	char want[32];

	ck_assert_uint_eq(r->n, from + count);
	for (size_t i = 0; i < count; i++) {
		snprintf(want, sizeof(want), "{\"n\":%d}", n[i]);
		ck_assert_str_eq(r->payload[from + i], want);
	}
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_sent_after_commit_in_order)
{
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 100;
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(add(&f, i % 2 ? EUI_A : EUI_B, i), LB_OK);
	ck_assert_int_eq(outbox_tick(&f.o, 0), -1);
	ck_assert_uint_eq(f.rec.n, 0);                /* the batch is not committed */
	ck_assert_uint_eq(outbox_pending(&f.o), 5);
	ck_assert_uint_eq(outbox_backlog(&f.o), 0);   /* none waits for the broker yet */
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 5);       /* in the batch of their state */
	ck_assert_int_eq(add(&f, EUI_A, 6), LB_OK);   /* held for the next batch */
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(outbox_backlog(&f.o), 5);
	ck_assert_uint_eq(outbox_residue(&f.o), 0);   /* none waited before this batch */
	ck_assert_uint_eq(outbox_pending(&f.o), 6);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(outbox_backlog(&f.o), 6);
	ck_assert_uint_eq(outbox_residue(&f.o), 5);   /* the first batch still waited */
	outbox_tick(&f.o, 0);                         /* nothing released: it stays */
	ck_assert_uint_eq(outbox_residue(&f.o), 5);
	expect_sent(&f.rec, 0, (const int[]){1, 2, 3, 4, 5, 6}, 6);

	/* Acknowledged out of order: the mark moves to 1 (2 is in flight)
	 * with the next commit, not before; 3 waits for 2. */
	outbox_acked(&f.o, f.rec.sent[2]);
	outbox_acked(&f.o, f.rec.sent[0]);
	outbox_acked(&f.o, f.rec.sent[0]);            /* twice: ignored */
	ck_assert_uint_eq(outbox_pending(&f.o), 4);
	ck_assert_uint_eq(outbox_backlog(&f.o), 4);
	ck_assert_uint_eq(f.stats.uplinks_published, 2);
	ck_assert_uint_eq(rows_on_disk(&f), 6);
	ck_assert(!store_dirty(&f.store));
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 5);
	for (size_t i = 0; i < 6; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);
	ck_assert_uint_eq(outbox_backlog(&f.o), 0);
	ck_assert_uint_eq(outbox_bytes(&f.o), 0);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 0);
	ck_assert_uint_eq(f.o.stats.acked, 6);
	teardown(&f);
}
END_TEST

/* A batch of 70 events is staged as two rows (64 and 6 events): every
 * event reaches the disk with its batch and is sent once, in order; a
 * batch whose staging fails (the limit of the redo log is not the point
 * here: a duplicate seq, as if the disk held it already) keeps the events
 * held and unsent. */
START_TEST(test_many_staged_in_groups)
{
	int want[70];
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 100;
	for (int i = 1; i <= 70; i++) {
		ck_assert_int_eq(add(&f, i % 2 ? EUI_A : EUI_B, i), LB_OK);
		want[i - 1] = i;
	}
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 70);
	ck_assert_uint_eq(f.store.stats.rows_written, 2);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, want, 70);

	/* Seq 71 exists already (put there behind the outbox's back): the
	 * group of 71..74 is refused whole, nothing of it is sent. */
	struct store_outbox_row r = {.seq = 71, .dev_eui = EUI_A, .qos = 1, .topic = "t",
				     .payload = "x", .len = 1};
	ck_assert_int_eq(store_outbox_add(&f.store, &r), LB_OK);
	ck_assert_int_eq(store_commit(&f.store), LB_OK);
	for (int i = 71; i <= 74; i++)
		ck_assert_int_eq(add(&f, EUI_B, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_ERR_DUPLICATE);
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(f.rec.n, 70);
	ck_assert_uint_eq(outbox_pending(&f.o), 70 + 4);
	ck_assert_uint_eq(outbox_backlog(&f.o), 70);  /* the four are still held */
	teardown(&f);
}
END_TEST

/* The blocks of acknowledged events are kept for the next ones (at most
 * OUTBOX_POOL_MAX), with the next events' own contents; an event larger
 * than a block has its own allocation and never enters the pool. */
START_TEST(test_blocks_reused)
{
	static char big[OUTBOX_POOL_BLOCK + 1];
	struct fix f;

	setup(&f, 200, 1 << 22);
	f.rec.room = 200;
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, (const int[]){1, 2, 3, 4, 5}, 5);
	ck_assert_uint_eq(f.o.n_pool, 0);
	for (size_t i = 0; i < 5; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(f.o.n_pool, 5);

	for (int i = 6; i <= 8; i++)
		ck_assert_int_eq(add(&f, EUI_B, i), LB_OK);
	ck_assert_uint_eq(f.o.n_pool, 2);              /* taken from the pool */
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 5, (const int[]){6, 7, 8}, 3);
	for (size_t i = 5; i < 8; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(f.o.n_pool, 5);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);

	/* Never more than OUTBOX_POOL_MAX kept. */
	size_t from = f.rec.n;
	for (int i = 0; i < OUTBOX_POOL_MAX + 10; i++)
		ck_assert_int_eq(add(&f, EUI_A, 100 + i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(f.rec.n, from + OUTBOX_POOL_MAX + 10);
	for (size_t i = from; i < f.rec.n; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(f.o.n_pool, OUTBOX_POOL_MAX);
	/* Too large for a block: its own allocation (held, freed by teardown). */
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(outbox_add(&f.o, durable_batch(&f.durable), EUI_B,
				    "application/a/device/b/event/up", big, sizeof(big) - 1, 1, true),
			 LB_OK);
	ck_assert_uint_eq(f.o.n_pool, OUTBOX_POOL_MAX);
	teardown(&f);
}
END_TEST

/* The group commit of durable_tick() does not wait for its sync: the
 * batch's events leave only once the sync completed (store_sync.h). Without
 * io_uring (qemu-user) the commit syncs at once and they leave at once. */
START_TEST(test_released_when_synced)
{
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 100;
	int fd = store_sync_start(&f.store);
	ck_assert_int_eq(add(&f, EUI_A, 1), LB_OK);
	int64_t due = durable_tick(&f.durable, loop_now_ms());
	ck_assert_int_gt(due, 0);
	uint64_t b = durable_batch(&f.durable);
	ck_assert_uint_eq(rows_on_disk(&f), 0);
	ck_assert_int_eq(durable_tick(&f.durable, due + 1), -1);
	ck_assert_uint_eq(durable_batch(&f.durable), b + 1);
	ck_assert_uint_eq(rows_on_disk(&f), 1);
	outbox_tick(&f.o, 0);
	if (fd < 0) {
		expect_sent(&f.rec, 0, (const int[]){1}, 1);
		teardown(&f);
		return;
	}
	ck_assert_uint_eq(f.rec.n, 0);   /* committed, not yet synced */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(store_sync_reap(&f.store), LB_OK);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, (const int[]){1}, 1);
	teardown(&f);
}
END_TEST

/* Deletions ride along with the next commit of the state; alone they are
 * due OUTBOX_DELETE_DELAY_MS after the first, or at once when
 * OUTBOX_DELETE_ROWS wait. */
START_TEST(test_deletions_are_due)
{
	struct fix f;

	setup(&f, 2000, 1 << 22);
	f.rec.room = 100;
	ck_assert_int_eq(add(&f, EUI_A, 1), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	ck_assert_int_eq(durable_tick(&f.durable, loop_now_ms()), -1);
	int64_t t0 = loop_now_ms();
	outbox_acked(&f.o, f.rec.sent[0]);
	int64_t due = durable_tick(&f.durable, loop_now_ms());
	ck_assert_int_ge(due, t0 + OUTBOX_DELETE_DELAY_MS);
	ck_assert_uint_eq(rows_on_disk(&f), 1);
	/* A new event's commit takes the deletion along. */
	ck_assert_int_eq(add(&f, EUI_A, 2), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 1);
	ck_assert_int_eq(durable_tick(&f.durable, loop_now_ms()), -1);

	/* A backlog draining: OUTBOX_DELETE_ROWS acknowledged rows are due now. */
	for (int i = 3; i < 3 + OUTBOX_DELETE_ROWS; i++)
		ck_assert_int_eq(add(&f, EUI_B, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	for (int round = 0; f.o.stats.acked < 1 + OUTBOX_DELETE_ROWS && round < 100; round++) {
		f.rec.n = 0;
		f.rec.room = 50;
		outbox_tick(&f.o, round);
		durable_tick(&f.durable, loop_now_ms());      /* not due yet */
		ck_assert_uint_eq(rows_on_disk(&f), 1 + OUTBOX_DELETE_ROWS);
		for (size_t i = 0; i < f.rec.n; i++)
			outbox_acked(&f.o, f.rec.sent[i]);
	}
	/* Events 2 .. 1001 acknowledged since the last commit, 1002 not. */
	ck_assert_uint_eq(f.o.stats.acked, 1 + OUTBOX_DELETE_ROWS);
	ck_assert_uint_eq(rows_on_disk(&f), 1 + OUTBOX_DELETE_ROWS);
	durable_tick(&f.durable, loop_now_ms());
	ck_assert_uint_eq(rows_on_disk(&f), 1);
	teardown(&f);
}
END_TEST

/* A full group of events is staged as soon as it is there (the rows are
 * those a staging at the commit makes: 64 events and 6), and nothing of
 * it is sent before the batch commits. */
START_TEST(test_full_group_staged_early)
{
	int want[70];
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 100;
	for (int i = 1; i < STORE_OUTBOX_PACK_EVENTS; i++) {
		ck_assert_int_eq(add(&f, i % 2 ? EUI_A : EUI_B, i), LB_OK);
		want[i - 1] = i;
	}
	ck_assert(!store_dirty(&f.store));
	for (int i = STORE_OUTBOX_PACK_EVENTS; i <= 70; i++) {
		ck_assert_int_eq(add(&f, i % 2 ? EUI_A : EUI_B, i), LB_OK);
		want[i - 1] = i;
	}
	ck_assert(store_dirty(&f.store));
	ck_assert_uint_eq(f.store.n_ops, 1);          /* one packed row so far */
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(f.rec.n, 0);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(f.store.stats.rows_written, 2);
	ck_assert_uint_eq(rows_on_disk(&f), 70);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, want, 70);
	teardown(&f);
}
END_TEST

/* While new events wait for their commit, OUTBOX_DELETE_ROWS acknowledged
 * events do not make a commit due at once: the mark goes with the new
 * events' commit, state.commit_ms after the first of them. */
START_TEST(test_mark_rides_with_new_events)
{
	struct fix f;

	setup(&f, 2000, 1 << 22);
	for (int i = 1; i <= OUTBOX_DELETE_ROWS; i++)
		ck_assert_int_eq(add(&f, EUI_B, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	for (int round = 0; f.o.stats.acked < OUTBOX_DELETE_ROWS && round < 100; round++) {
		f.rec.n = 0;
		f.rec.room = 50;
		outbox_tick(&f.o, round);
		for (size_t i = 0; i < f.rec.n; i++)
			outbox_acked(&f.o, f.rec.sent[i]);
	}
	ck_assert_uint_eq(f.o.stats.acked, OUTBOX_DELETE_ROWS);
	int64_t t0 = loop_now_ms();
	ck_assert_int_eq(add(&f, EUI_A, 0), LB_OK);
	int64_t due = durable_tick(&f.durable, t0);
	ck_assert_int_ge(due, t0 + 50);                /* the fixture's commit_ms */
	ck_assert_int_le(due, loop_now_ms() + 50);
	ck_assert_uint_eq(rows_on_disk(&f), OUTBOX_DELETE_ROWS);
	ck_assert_int_eq(durable_tick(&f.durable, due), -1);
	ck_assert_uint_eq(rows_on_disk(&f), 1);
	teardown(&f);
}
END_TEST

/* The mark after a restart without a last commit (a crash): events
 * acknowledged in order up to one still in flight are not sent again;
 * that one and those acknowledged after it are (duplicates, as QoS 1
 * allows), in order, then the new ones. */
START_TEST(test_mark_after_restart)
{
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 100;
	for (int i = 1; i <= 10; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);   /* one row */
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, (const int[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10);
	for (size_t i = 0; i < 10; i++)
		if (i != 4)                           /* 5 stays in flight */
			outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(f.o.acked_staged, 4);
	ck_assert_uint_eq(rows_on_disk(&f), 6);
	outbox_free(&f.o);                            /* no commit on the way out */

	memset(&f.rec, 0, sizeof(f.rec));
	open_outbox(&f, 100, 1 << 20);
	ck_assert_uint_eq(outbox_pending(&f.o), 6);
	/* What counts against the limit: those six, not the row's first four. */
	char topic[96];
	snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/up",
		 (unsigned long long)EUI_A);
	ck_assert_uint_eq(outbox_bytes(&f.o), 5 * store_outbox_row_bytes(strlen(topic), 7) +
					      store_outbox_row_bytes(strlen(topic), 8));
	ck_assert_int_eq(add(&f, EUI_B, 11), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	f.rec.room = 100;
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, (const int[]){5, 6, 7, 8, 9, 10, 11}, 7);
	for (size_t i = 0; i < f.rec.n; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_returned_goes_first)
{
	struct fix f;

	setup(&f, 100, 1 << 20);
	f.rec.room = 3;
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 0, (const int[]){1, 2, 3}, 3);
	outbox_acked(&f.o, f.rec.sent[0]);
	outbox_returned(&f.o, f.rec.sent[2]);         /* a QoS 0 cut: 2 and 3 unwritten */
	outbox_returned(&f.o, f.rec.sent[1]);
	outbox_returned(&f.o, f.rec.sent[0]);         /* acknowledged already: ignored */
	f.rec.room = 10;
	outbox_tick(&f.o, 0);
	expect_sent(&f.rec, 3, (const int[]){2, 3, 4, 5}, 4);
	teardown(&f);
}
END_TEST

/* A cache of 4: the rest waits on disk and is read back in order, and
 * memory never holds more than 4. */
START_TEST(test_small_cache_pages_in)
{
	struct fix f;
	int want[40];

	setup(&f, 4, 1 << 20);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(add(&f, i % 3 ? EUI_A : EUI_B, i), LB_OK);
		want[i] = i;
		if (i % 7 == 6)
			ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	}
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	ck_assert_uint_le(f.o.count, 4);
	ck_assert_uint_eq(f.rec.n, 0);                /* not connected */
	ck_assert_uint_eq(outbox_backlog(&f.o), 40);  /* on disk beyond the cache too */
	for (int round = 0; f.rec.n < 40 && round < 200; round++) {
		f.rec.room = 3;
		size_t before = f.rec.n;
		outbox_tick(&f.o, round);
		ck_assert_uint_le(f.o.count, 4);
		for (size_t i = before; i < f.rec.n; i++)
			outbox_acked(&f.o, f.rec.sent[i]);
	}
	expect_sent(&f.rec, 0, want, 40);
	ck_assert_uint_ge(f.o.stats.paged_in, 30);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_limit_refuses_and_counts)
{
	struct fix f;
	char topic[96];
	int n = 0;

	snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/up",
		 (unsigned long long)EUI_A);
	uint64_t one = store_outbox_row_bytes(strlen(topic), strlen("{\"n\":0}"));
	setup(&f, 100, 3 * one);
	f.rec.room = 0;
	while (add(&f, EUI_A, n) == LB_OK)
		n++;
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(add(&f, EUI_A, 9), LB_ERR_FULL);
	ck_assert_uint_eq(f.o.stats.dropped_overflow, 2);
	ck_assert_uint_eq(outbox_bytes(&f.o), 3 * one);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	f.rec.room = 1;
	outbox_tick(&f.o, 0);
	outbox_acked(&f.o, f.rec.sent[0]);            /* room for one again */
	ck_assert_int_eq(add(&f, EUI_A, 3), LB_OK);
	ck_assert_int_eq(add(&f, EUI_A, 4), LB_ERR_FULL);
	ck_assert_uint_eq(f.o.stats.dropped_overflow, 3);
	/* Beyond the store's own limits: refused, not counted as overflow. */
	static char big[STORE_OUTBOX_PAYLOAD_MAX + 1];
	ck_assert_int_eq(outbox_add(&f.o, 1, EUI_A, topic, big, sizeof(big), 1, true),
			 LB_ERR_TOO_LARGE);
	teardown(&f);
}
END_TEST

/* The rows a run leaves are sent first by the next, before new events. */
START_TEST(test_next_run_sends_old_rows_first)
{
	struct fix f;

	setup(&f, 2, 1 << 20);
	f.rec.room = 1;
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(add(&f, i % 2 ? EUI_A : EUI_B, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	outbox_acked(&f.o, f.rec.sent[0]);            /* 1 delivered */
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	f.rec.room = 1;
	outbox_tick(&f.o, 0);                         /* 2 in flight at the "stop" */
	expect_sent(&f.rec, 0, (const int[]){1, 2}, 2);
	outbox_free(&f.o);

	memset(&f.rec, 0, sizeof(f.rec));
	open_outbox(&f, 2, 1 << 20);
	ck_assert_uint_eq(outbox_pending(&f.o), 4);
	ck_assert_uint_eq(outbox_backlog(&f.o), 4);   /* the last run's: committed */
	ck_assert_int_eq(add(&f, EUI_A, 6), LB_OK);
	ck_assert_int_eq(add(&f, EUI_B, 7), LB_OK);
	ck_assert_uint_eq(outbox_backlog(&f.o), 4);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	for (int round = 0; f.rec.n < 6 && round < 50; round++) {
		f.rec.room = 1;
		size_t before = f.rec.n;
		outbox_tick(&f.o, round);
		for (size_t i = before; i < f.rec.n; i++)
			outbox_acked(&f.o, f.rec.sent[i]);
	}
	expect_sent(&f.rec, 0, (const int[]){2, 3, 4, 5, 6, 7}, 6);
	teardown(&f);
}
END_TEST

/* QoS 0: acknowledged inside the send; the feed keeps going. */
START_TEST(test_acked_inside_send)
{
	struct fix f;

	setup(&f, 8, 1 << 20);
	f.rec.room = 100;
	f.rec.ack_at_once = true;
	for (int i = 1; i <= 20; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	for (int round = 0; f.rec.n < 20 && round < 20; round++)
		outbox_tick(&f.o, round);
	ck_assert_uint_eq(f.rec.n, 20);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);
	ck_assert_uint_eq(f.o.count, 0);
	teardown(&f);
}
END_TEST

static bool topic_is_up(void *arg, const char *topic)
{
	size_t n = strlen(topic);
	(void)arg;
	return n >= 9 && !strcmp(topic + n - 9, "/event/up");
}

/* What a stop would keep and lose: events of a committed batch are on the
 * disk even before they are released to the cache; events added since are
 * not. */
START_TEST(test_unwritten)
{
	struct fix f;

	setup(&f, 8, 1 << 20);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_uint_eq(outbox_unwritten(&f.o), 3);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(outbox_unwritten(&f.o), 0);         /* committed, not yet released */
	ck_assert_uint_eq(outbox_pending(&f.o), 3);
	for (int i = 3; i < 5; i++)
		ck_assert_int_eq(add(&f, EUI_A, i), LB_OK);
	ck_assert_uint_eq(outbox_unwritten(&f.o), 2);
	ck_assert_uint_eq(outbox_pending(&f.o), 5);
	teardown(&f);
}
END_TEST

/* uplinks_published counts acknowledged `up` events only: `ack` and
 * `txack` events go through the outbox too. */
START_TEST(test_only_up_counted)
{
	static const char *const events[] = {"up", "ack", "txack", "up"};
	struct fix f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(f.dir));
	ck_assert_int_eq(store_open(&f.store, f.dir, 50), LB_OK);
	f.is_uplink = topic_is_up;
	open_outbox(&f, 8, 1 << 20);
	f.rec.room = 100;
	for (size_t i = 0; i < 4; i++) {
		char topic[96];
		snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/%s",
			 (unsigned long long)EUI_A, events[i]);
		/* Told by the caller: the topic is not asked (it says "up" for
		 * the last, an `ack` by the caller's word). */
		ck_assert_int_eq(outbox_add(&f.o, durable_batch(&f.durable), EUI_A, topic, "{}", 2, 1,
					    i == 0),
				 LB_OK);
	}
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(f.rec.n, 4);
	for (size_t i = 0; i < 4; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(f.o.stats.acked, 4);
	ck_assert_uint_eq(f.stats.uplinks_published, 1);
	/* Read back from the disk after a restart, the kind is not known: told
	 * by the topic (the two "up" topics). */
	f.rec.n = 0;
	for (size_t i = 0; i < 4; i++) {
		char topic[96];
		snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/%s",
			 (unsigned long long)EUI_A, events[i]);
		ck_assert_int_eq(outbox_add(&f.o, durable_batch(&f.durable), EUI_A, topic, "{}", 2, 1,
					    false),
				 LB_OK);
	}
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	outbox_free(&f.o);
	f.stats.uplinks_published = 0;
	open_outbox(&f, 8, 1 << 20);
	f.rec.room = 100;
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(f.rec.n, 4);
	for (size_t i = 0; i < 4; i++)
		outbox_acked(&f.o, f.rec.sent[i]);
	ck_assert_uint_eq(f.stats.uplinks_published, 2);
	teardown(&f);
}
END_TEST

START_TEST(test_refused_for_good)
{
	struct fix f;

	setup(&f, 8, 1 << 20);
	f.rec.room = 100;
	ck_assert_int_eq(add(&f, EUI_A, 1), LB_OK);
	ck_assert_int_eq(add(&f, EUI_A, 2), LB_OK);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	f.rec.refuse = LB_ERR_STATE;                  /* try later */
	outbox_tick(&f.o, 0);
	ck_assert_uint_eq(outbox_pending(&f.o), 2);
	f.rec.refuse = LB_ERR_INVAL;                  /* never */
	outbox_tick(&f.o, 1);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);
	ck_assert_uint_eq(f.stats.frame_drops[DROP_PUBLISH], 2);
	ck_assert_uint_eq(f.stats.uplinks_published, 0);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_eq(rows_on_disk(&f), 0);
	teardown(&f);
}
END_TEST

/* The outbox must be the group commit's first part (durable.h). */
START_TEST(test_outbox_first_part)
{
	struct fix f;
	struct outbox o2;
	struct outbox_ctx ctx = {.store = NULL, .durable = NULL, .stats = NULL,
				 .sink = {.room = rec_room, .send = rec_send, .arg = NULL}};
	struct outbox_opts opts = {.cache_limit = 4, .limit_bytes = 1 << 20, .commit_ms = 50};

	setup(&f, 4, 1 << 20);
	ctx.store = &f.store;
	ctx.durable = &f.durable;
	ctx.stats = &f.stats;
	ck_assert_int_eq(outbox_init(&o2, &ctx, &opts), LB_ERR_STATE);
	teardown(&f);
}
END_TEST

/* A batch whose every write was committed ahead ends with an empty commit:
 * its number moves on all the same, and its events go. */
START_TEST(test_ahead_then_empty_end)
{
	struct fix f;

	setup(&f, 8, 1 << 20);
	f.rec.room = 8;
	uint64_t batch = durable_batch(&f.durable);
	ck_assert_int_eq(add(&f, EUI_A, 1), LB_OK);
	ck_assert_int_eq(durable_stage(&f.durable), LB_OK);
	ck_assert_int_eq(store_commit_ahead(&f.store), LB_OK);
	ck_assert(!durable_committed(&f.durable, batch));
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert(durable_committed(&f.durable, batch));
	outbox_tick(&f.o, loop_now_ms());
	expect_sent(&f.rec, 0, (const int[]){1}, 1);
	teardown(&f);
}
END_TEST

/* A batch larger than the store's redo log (STORE_LOG_MAX): committed in
 * pieces, all of it, as one batch (its events released together). */
#define BIG_LEN (60 * 1024)
#define BIG_N ((STORE_LOG_MAX / BIG_LEN) * 3 / 2)

static void add_big(struct fix *f, int n)
{
	static char payload[BIG_LEN];
	char topic[96];

	memset(payload, 'x', sizeof(payload));
	snprintf(topic, sizeof(topic), "application/a/device/%016llx/event/up",
		 (unsigned long long)EUI_A);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(outbox_add(&f->o, durable_batch(&f->durable), EUI_A, topic, payload,
					    sizeof(payload), 1, true), LB_OK);
}

START_TEST(test_batch_larger_than_redo_log)
{
	struct fix f;

	setup(&f, 4, 64u << 20);
	uint64_t batch = durable_batch(&f.durable);
	add_big(&f, BIG_N);
	ck_assert_int_eq(durable_commit(&f.durable), LB_OK);
	ck_assert_uint_ge(f.durable.split, 1);
	ck_assert_uint_eq(rows_on_disk(&f), BIG_N);
	ck_assert(durable_committed(&f.durable, batch));
	ck_assert_uint_eq(durable_batch(&f.durable), batch + 1);
	teardown(&f);
}
END_TEST

/* A part added after the outbox that fails: what was committed ahead is
 * the outbox's rows only (what a crash between the pieces would leave),
 * and no event of the batch is released. */
static int fail_io(void *arg)
{
	(void)arg;
	return LB_ERR_IO;
}

static int64_t due_never(void *arg)
{
	(void)arg;
	return -1;
}

START_TEST(test_split_commits_events_first)
{
	struct fix f;
	char path[600];
	sqlite3 *db;
	sqlite3_stmt *st;

	setup(&f, 4, 64u << 20);
	ck_assert_int_eq(durable_add(&f.durable, fail_io, due_never, NULL), LB_OK);
	uint64_t batch = durable_batch(&f.durable);
	add_big(&f, BIG_N);
	f.rec.room = 4;
	ck_assert_int_eq(durable_commit(&f.durable), LB_ERR_IO);
	ck_assert_uint_ge(f.durable.split, 1);
	ck_assert(!durable_committed(&f.durable, batch));
	outbox_tick(&f.o, loop_now_ms());
	ck_assert_uint_eq(f.rec.n, 0);
	/* Another connection sees what is durable now. */
	snprintf(path, sizeof(path), "%s/lorabridge.db", f.dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT sum(events) FROM outbox", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t durable_rows = sqlite3_column_int64(st, 0);
	ck_assert_int_gt(durable_rows, 0);
	ck_assert_int_lt(durable_rows, BIG_N);
	sqlite3_finalize(st);
	sqlite3_close(db);
	teardown(&f);
}
END_TEST

/* A crash between the pieces of a split batch (a part after the outbox
 * fails, then kill -9): the events of the pieces committed ahead are
 * durable and published at the next start, in order, from the first; the
 * rest of the batch is gone with its state. */
static void split_crash_child(const char *dir)
{
	struct fix f;

	memset(&f, 0, sizeof(f));
	if (store_open(&f.store, dir, 50) != LB_OK)
		_exit(2);
	open_outbox(&f, 4, 64u << 20);
	if (durable_add(&f.durable, fail_io, due_never, NULL) != LB_OK)
		_exit(3);
	add_big(&f, BIG_N);
	if (durable_commit(&f.durable) != LB_ERR_IO || f.durable.split < 1)
		_exit(4);
	raise(SIGKILL);
	_exit(5);
}

static int64_t big_sent;

static int big_send(void *arg, const char *topic, const void *payload, size_t len, int qos,
		    uint64_t token)
{
	(void)arg;
	(void)topic;
	(void)payload;
	(void)qos;
	ck_assert_uint_eq(len, BIG_LEN);
	ck_assert_uint_eq(token, (uint64_t)++big_sent);   /* in order, from the first */
	return LB_OK;
}

START_TEST(test_crash_between_pieces)
{
	struct fix f;
	int status = 0;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(f.dir));
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		split_crash_child(f.dir);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child status %d (exit %d)", status, WEXITSTATUS(status));

	ck_assert_int_eq(store_open(&f.store, f.dir, 50), LB_OK);
	open_outbox(&f, 4, 64u << 20);
	uint64_t durable_events = outbox_pending(&f.o);
	ck_assert_uint_gt(durable_events, 0);
	ck_assert_uint_lt(durable_events, BIG_N);
	f.o.ctx.sink.send = big_send;
	f.rec.room = 1000;
	big_sent = 0;
	for (int round = 0; big_sent < (int64_t)durable_events && round < 1000; round++) {
		int64_t before = big_sent;
		outbox_tick(&f.o, round);
		for (int64_t seq = before + 1; seq <= big_sent; seq++)
			outbox_acked(&f.o, (uint64_t)seq);
	}
	ck_assert_int_eq(big_sent, (int64_t)durable_events);
	ck_assert_uint_eq(outbox_pending(&f.o), 0);
	teardown(&f);
}
END_TEST

static Suite *outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sent_after_commit_in_order);
	tcase_add_test(tc, test_blocks_reused);
	tcase_add_test(tc, test_many_staged_in_groups);
	tcase_add_test(tc, test_deletions_are_due);
	tcase_add_test(tc, test_released_when_synced);
	tcase_add_test(tc, test_full_group_staged_early);
	tcase_add_test(tc, test_mark_rides_with_new_events);
	tcase_add_test(tc, test_returned_goes_first);
	tcase_add_test(tc, test_small_cache_pages_in);
	tcase_add_test(tc, test_limit_refuses_and_counts);
	tcase_add_test(tc, test_next_run_sends_old_rows_first);
	tcase_add_test(tc, test_acked_inside_send);
	tcase_add_test(tc, test_refused_for_good);
	tcase_add_test(tc, test_only_up_counted);
	tcase_add_test(tc, test_unwritten);
	tcase_add_test(tc, test_batch_larger_than_redo_log);
	tcase_add_test(tc, test_outbox_first_part);
	tcase_add_test(tc, test_ahead_then_empty_end);
	tcase_add_test(tc, test_split_commits_events_first);
	tcase_add_test(tc, test_crash_between_pieces);
	tcase_add_test(tc, test_mark_after_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;
	return testutil_run(outbox_suite());
}
