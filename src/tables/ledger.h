/* SPDX-License-Identifier: MIT */
/*
 * ledger.h - a rolling-window sum in fixed-size time buckets (pure: no
 * allocation, no I/O, no clock; time is a parameter).
 *
 * A ledger answers "how much in the last W?" (airtime in µs, a count of
 * downlinks, ...) in constant memory: the window W = n buckets of
 * bucket_ms each, one uint32 sum per bucket, instead of one record per
 * event. Used per device by fairaccess.h (24 h) and per gateway sub-band by
 * dutycycle.h (1 h).
 *
 * Time: wall-clock Unix ms (int64, negative values taken as 0), so a
 * persisted ledger stays meaningful across restarts. The bucket of time t
 * is epoch(t) = floor(t / bucket_ms). The ring holds n + 1 buckets: the
 * current (partial) one and the n before it, so an amount added at t is
 * counted until the current bucket is epoch(t) + n + 1, i.e. for at least
 * W and less than W + bucket_ms. The window errs on the side of counting
 * too much, never too little: a budget checked against ledger_sum() holds
 * over every W-long interval.
 *
 * Clock steps: a time earlier than the current bucket (the wall clock
 * stepped back, e.g. a gateway without RTC booting before NTP) is taken as
 * the current bucket: a ledger never moves backwards and never loses an
 * amount. A step forward expires what fell out of the window. Buckets are
 * expired lazily by ledger_add() (O(n) worst case); ledger_sum() and the
 * other readers are const and simply ignore expired buckets.
 *
 * Sums per bucket saturate at UINT32_MAX (71 minutes in µs: more than any
 * legal transmitter can put in one bucket); totals are uint64.
 *
 * Persistence: ledger_encode() writes a compact versioned blob, all
 * integers little-endian (stored as an SQLite BLOB with the device):
 *
 *   offset  size  field
 *   ------  ----  ---------------------------------------------------
 *   0       1     version (LEDGER_BLOB_VERSION = 1)
 *   1       1     n, the window in buckets, 1..LEDGER_MAX_BUCKETS
 *   2       4     bucket_ms, >= 1
 *   6       8     epoch of the current bucket (int64)
 *   14      var   n + 1 bucket sums as LEB128 varints (1..5 bytes each,
 *                 canonical: no redundant 0x80 continuation), current
 *                 bucket first, then each older one
 *
 * so a blob is 14 + (n + 1) .. 14 + 5 (n + 1) bytes: at most
 * LEDGER_ENCODED_MAX = 319 bytes, 75 bytes for an idle ledger of 60
 * buckets. Decoding never trusts the blob: any inconsistency is an error,
 * never a crash or an out-of-bounds read.
 *
 * Packed form: ledger_pack() writes the sparse encoding a daemon keeps in
 * memory and in its store for each of many devices, sized by what the
 * ledger holds rather than by its window (a device heard a few times a day
 * has a few non-empty buckets, not 61):
 *
 *   size  field
 *   ----  ---------------------------------------------------------
 *   1     n, the window in buckets, 1..LEDGER_MAX_BUCKETS   } the geometry,
 *   var   bucket_ms as a LEB128 varint, >= 1                } left out when
 *                                                             the caller has it
 *   var   epoch of the current bucket, LEB128 (uint64)
 *   1     k, the non-empty buckets, 0..n + 1
 *   k x   age of the bucket (1 byte, 0 = the current one, 1..n the older
 *         ones; strictly increasing) and its sum (LEB128, never 0)
 *
 * so a 24-h ledger takes 6 bytes before its first use, 8 with nothing in
 * its window today (4 without its geometry), and each bucket holding a
 * frame's airtime in µs adds 4; at most
 * LEDGER_PACKED_MAX. Every varint is canonical, so a ledger has exactly
 * one packed form, and unpacking it gives back the sums, epoch and
 * geometry that ledger_encode() / ledger_decode() keep (only the ring's
 * rotation, which no reader sees, may differ). No version byte: the blob
 * that holds it has one (fairaccess.h).
 *
 * Non-empty buckets: the ledger keeps a bit per ring slot, set exactly
 * when the slot's sum is not 0, so the readers (ledger_sum,
 * ledger_next_expiry, ledger_pack) visit only the non-empty buckets of
 * the window, not all n + 1 (a device heard a few times a day has a few).
 *
 * Size: sizeof(struct ledger) = LEDGER_STRUCT_SIZE = 272 bytes (24 bytes
 * of header, 61 x 4 bytes of buckets, padded to the int64 alignment;
 * checked by a static assertion).
 */
#ifndef LB_LEDGER_H
#define LB_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_MAX_BUCKETS 60                /* window buckets; the ring has one more */
#define LEDGER_SLOTS (LEDGER_MAX_BUCKETS + 1)
#define LEDGER_BLOB_VERSION 1
#define LEDGER_HEADER_LEN 14
#define LEDGER_VARINT_MAX 5                  /* LEB128 bytes of a uint32 */
#define LEDGER_ENCODED_MAX (LEDGER_HEADER_LEN + LEDGER_VARINT_MAX * LEDGER_SLOTS)
#define LEDGER_STRUCT_SIZE 272
#define LEDGER_VARINT64_MAX 10               /* LEB128 bytes of a uint64 */
#define LEDGER_GEOMETRY_MAX (1 + LEDGER_VARINT_MAX)
#define LEDGER_PACKED_MAX (LEDGER_GEOMETRY_MAX + LEDGER_VARINT64_MAX + 1 + \
			   (1 + LEDGER_VARINT_MAX) * LEDGER_SLOTS)

struct ledger {
	int64_t epoch;                   /* bucket index of slot[head] */
	uint32_t bucket_ms;              /* 0 = not initialised */
	uint8_t n;                       /* window in buckets */
	uint8_t head;                    /* ring index of the current bucket */
	uint16_t reserved;
	uint64_t nonzero;                /* bit i set iff slot[i] != 0 */
	uint32_t slot[LEDGER_SLOTS];     /* ring of n + 1 bucket sums */
};

/*
 * Empty ledger of n buckets (1..LEDGER_MAX_BUCKETS) of bucket_ms (>= 1)
 * each. Errors: LB_ERR_INVAL (and *l is zeroed).
 */
int ledger_init(struct ledger *l, unsigned n, uint32_t bucket_ms);

/* The window in ms (n * bucket_ms); 0 for an uninitialised ledger. */
uint64_t ledger_window_ms(const struct ledger *l);

/*
 * Add `amount` at time now_ms, expiring the buckets that left the window.
 * Errors: LB_ERR_INVAL (l NULL or not initialised).
 */
int ledger_add(struct ledger *l, int64_t now_ms, uint32_t amount);

/* Total within the window at now_ms; 0 for NULL or uninitialised. */
uint64_t ledger_sum(const struct ledger *l, int64_t now_ms);

/* True when l behaves as an empty ledger from now_ms on: nothing within the
 * window, and its current bucket not ahead of now_ms's (after a clock step
 * back a ledger keeps counting from its own bucket). True for NULL or
 * uninitialised. */
bool ledger_idle(const struct ledger *l, int64_t now_ms);

/*
 * The next time (Unix ms, > now_ms) at which ledger_sum() decreases
 * because a non-empty bucket leaves the window, or -1 if the ledger holds
 * nothing (or is NULL / uninitialised). Lets a caller refresh a displayed
 * budget as the window slides without polling.
 */
int64_t ledger_next_expiry(const struct ledger *l, int64_t now_ms);

/*
 * Re-bucket the ledger to n buckets of bucket_ms (a changed window after a
 * configuration change or from a stored blob). Each old bucket is moved,
 * whole, into the new bucket of its last millisecond (clamped to now_ms),
 * so nothing is counted for less time than before; buckets that end
 * before the new window are dropped. Same geometry: no change.
 * Errors: LB_ERR_INVAL (bad geometry, or l not initialised; l unchanged).
 */
int ledger_resample(struct ledger *l, unsigned n, uint32_t bucket_ms, int64_t now_ms);

/*
 * Serialise to out[0..cap). *len gets the blob length (layout above). A
 * cap of LEDGER_HEADER_LEN + LEDGER_VARINT_MAX (n + 1) or more (the longest
 * blob of the window, LEDGER_ENCODED_MAX always) is written in one pass;
 * a smaller one is measured first. Errors: LB_ERR_INVAL (NULL, not initialised), LB_ERR_TOO_LARGE (cap too
 * small; *len still gets the length needed).
 */
int ledger_encode(const struct ledger *l, uint8_t *out, size_t cap, size_t *len);

/*
 * Parse a blob from in[0..len) into *l. Trailing bytes are allowed (a
 * ledger is usually one field of a larger blob): *used (if not NULL) gets
 * the bytes consumed. On error *l is zeroed.
 * Errors: LB_ERR_INVAL (NULL), LB_ERR_VERSION (unknown version byte),
 * LB_ERR_MALFORMED (truncated, n or bucket_ms out of range, an epoch
 * whose times overflow int64, a varint overflowing uint32 or not
 * canonical).
 */
int ledger_decode(struct ledger *l, const uint8_t *in, size_t len, size_t *used);

/*
 * Write the packed form (above) to out[0..cap); with_geometry false leaves
 * out n and bucket_ms (the reader passes a ledger that has them). *len
 * gets its length. LEDGER_PACKED_MAX always suffices.
 * Errors: LB_ERR_INVAL (NULL, not initialised), LB_ERR_TOO_LARGE (cap too
 * small; nothing useful in out).
 */
int ledger_pack(const struct ledger *l, bool with_geometry, uint8_t *out, size_t cap,
		size_t *len);

/*
 * Parse a packed ledger from in[0..len) into *l; geometry NULL reads n and
 * bucket_ms from the blob, else takes them from *geometry (a ledger packed
 * without them). Trailing bytes are allowed: *used (if not NULL) gets the
 * bytes consumed. On error *l is zeroed.
 * Errors: LB_ERR_INVAL (NULL, geometry not initialised), LB_ERR_MALFORMED
 * (truncated, geometry out of range, an epoch whose times overflow int64,
 * k above n + 1, ages not increasing or above n, a sum of 0, a varint not
 * canonical or too large).
 */
int ledger_unpack(struct ledger *l, const struct ledger *geometry, const uint8_t *in, size_t len,
		  size_t *used);

/* True when a and b have the same window (n and bucket_ms). */
bool ledger_same_geometry(const struct ledger *a, const struct ledger *b);

/*
 * A packed ledger read as its (age, sum) pairs, not into a ring: what
 * ledger_sum() and ledger_add() need of a ledger that is kept packed,
 * at a cost that follows its k pairs (no ring to clear and rebuild).
 * ledger_sparse_read() accepts exactly what ledger_unpack() accepts (same
 * errors; geometry NULL reads n and bucket_ms from the blob, else takes
 * them from *geometry); ledger_sparse_sum() and ledger_sparse_add() give
 * what ledger_sum() and ledger_add() give on the unpacked ledger; and
 * ledger_sparse_write() writes the bytes ledger_pack() would write for it.
 */
struct ledger_sparse {
	int64_t epoch;                   /* bucket index of age 0 */
	uint32_t bucket_ms;
	uint8_t n;                       /* window in buckets */
	uint8_t k;                       /* pairs held */
	uint8_t age[LEDGER_SLOTS];       /* strictly increasing, <= n */
	uint32_t sum[LEDGER_SLOTS];      /* never 0 */
};

int ledger_sparse_read(struct ledger_sparse *s, const struct ledger_sparse *geometry,
		       const uint8_t *in, size_t len, size_t *used);
uint64_t ledger_sparse_sum(const struct ledger_sparse *s, int64_t now_ms);
void ledger_sparse_add(struct ledger_sparse *s, int64_t now_ms, uint32_t amount);
int ledger_sparse_write(const struct ledger_sparse *s, bool with_geometry, uint8_t *out,
			size_t cap, size_t *len);

#endif
