/* SPDX-License-Identifier: MIT */
/* ledger.c - rolling-window sums in fixed buckets; see ledger.h. */
#include "tables/ledger.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "base/lb_err.h"

static_assert(sizeof(struct ledger) == LEDGER_STRUCT_SIZE, "ledger.h states the size");
static_assert(LEDGER_MAX_BUCKETS <= 255, "n is stored in one byte");
static_assert(LEDGER_SLOTS < 64, "a slot's bit and the one above it fit in nonzero");

/* Latest time a ledger works with (~73 million years): keeps every
 * (epoch + n + 1) * bucket_ms product far from int64 overflow. */
#define TIME_MAX_MS (INT64_MAX / 4)

/* Blob header (ledger.h draws it). */
#define OFF_VERSION 0
#define OFF_N 1
#define OFF_BUCKET_MS 2
#define OFF_EPOCH 6
#define LEN_BUCKET_MS 4
#define LEN_EPOCH 8

static int64_t clamp_time(int64_t t)
{
	if (t < 0)
		return 0;
	return t > TIME_MAX_MS ? TIME_MAX_MS : t;
}

static bool geometry_ok(unsigned n, uint32_t bucket_ms)
{
	return n >= 1 && n <= LEDGER_MAX_BUCKETS && bucket_ms >= 1;
}

static bool ready(const struct ledger *l)
{
	return l && geometry_ok(l->n, l->bucket_ms) && l->head <= l->n;
}

static int64_t epoch_of(const struct ledger *l, int64_t t)
{
	return clamp_time(t) / (int64_t)l->bucket_ms;
}

/* The current bucket as seen at time t: never earlier than l->epoch. */
static int64_t effective_epoch(const struct ledger *l, int64_t t)
{
	int64_t e = epoch_of(l, t);
	return e > l->epoch ? e : l->epoch;
}

/* Ring index of the bucket `age` buckets before slot[head]. */
static unsigned slot_at(const struct ledger *l, unsigned age)
{
	unsigned slots = (unsigned)l->n + 1;
	return (l->head + slots - age % slots) % slots;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static uint64_t bit(unsigned i)
{
	return (uint64_t)1 << i;
}

/* The bits of ring slots lo..hi (lo <= hi <= n). */
static uint64_t bits_between(unsigned lo, unsigned hi)
{
	return (bit(hi + 1) - 1) & ~(bit(lo) - 1);
}

/* Every write to a slot goes through here: its bit follows its sum. */
static void set_slot(struct ledger *l, unsigned i, uint32_t v)
{
	l->slot[i] = v;
	if (v)
		l->nonzero |= bit(i);
	else
		l->nonzero &= ~bit(i);
}

/* The bits of the ring slots of ages 0..last (last <= n): head down to 0,
 * then from n down, wrapping. */
static uint64_t window_bits(const struct ledger *l, unsigned last)
{
	unsigned h = l->head;

	if (last <= h)
		return bits_between(h - last, h);
	return bits_between(0, h) | bits_between(h + l->n + 1 - last, l->n);
}

/* The non-empty slots among ages 0 .. n - shift (shift <= n). */
static uint64_t live_bits(const struct ledger *l, int64_t shift)
{
	return l->nonzero & window_bits(l, (unsigned)(l->n - shift));
}

/* Move the current bucket forward to epoch e, zeroing the buckets passed. */
static void advance(struct ledger *l, int64_t e)
{
	unsigned slots = (unsigned)l->n + 1;

	if (e <= l->epoch)
		return;
	if (e - l->epoch >= (int64_t)slots) {
		memset(l->slot, 0, sizeof(l->slot));
		l->nonzero = 0;
		l->head = 0;
	} else {
		for (int64_t k = l->epoch; k < e; k++) {
			l->head = (uint8_t)((l->head + 1u) % slots);
			set_slot(l, l->head, 0);
		}
	}
	l->epoch = e;
}

int ledger_init(struct ledger *l, unsigned n, uint32_t bucket_ms)
{
	if (!l)
		return LB_ERR_INVAL;
	memset(l, 0, sizeof(*l));
	if (!geometry_ok(n, bucket_ms))
		return LB_ERR_INVAL;
	l->n = (uint8_t)n;
	l->bucket_ms = bucket_ms;
	return LB_OK;
}

uint64_t ledger_window_ms(const struct ledger *l)
{
	return ready(l) ? (uint64_t)l->n * l->bucket_ms : 0;
}

int ledger_add(struct ledger *l, int64_t now_ms, uint32_t amount)
{
	if (!ready(l))
		return LB_ERR_INVAL;
	advance(l, epoch_of(l, now_ms));
	set_slot(l, l->head, sat_add(l->slot[l->head], amount));
	return LB_OK;
}

uint64_t ledger_sum(const struct ledger *l, int64_t now_ms)
{
	uint64_t sum = 0;
	int64_t shift;

	if (!ready(l))
		return 0;
	shift = effective_epoch(l, now_ms) - l->epoch;
	if (shift > l->n)
		return 0;
	/* The non-empty buckets of ages 0 .. n - shift only: a device heard
	 * a few times a day has a few of the 61. */
	for (uint64_t b = live_bits(l, shift); b; b &= b - 1)
		sum += l->slot[__builtin_ctzll(b)];
	return sum;
}

bool ledger_idle(const struct ledger *l, int64_t now_ms)
{
	if (!l || l->bucket_ms == 0)
		return true;
	return l->epoch <= epoch_of(l, now_ms) && ledger_sum(l, now_ms) == 0;
}

int64_t ledger_next_expiry(const struct ledger *l, int64_t now_ms)
{
	int64_t shift;

	if (!ready(l))
		return -1;
	shift = effective_epoch(l, now_ms) - l->epoch;
	if (shift > l->n)
		return -1;
	/* The oldest live non-empty bucket leaves first: the lowest slot
	 * above head (ages head + 1 .. n back), else the lowest up to head. */
	uint64_t live = live_bits(l, shift);
	uint64_t older = live & ~bits_between(0, l->head);
	if (live == 0)
		return -1;
	unsigned i = (unsigned)__builtin_ctzll(older ? older : live);
	int64_t age = older ? l->head + l->n + 1 - i : l->head - i;
	return (l->epoch - age + l->n + 1) * (int64_t)l->bucket_ms;
}

/* Add to the bucket of epoch e (<= l->epoch) if it is still in the ring. */
static void add_at_epoch(struct ledger *l, int64_t e, uint32_t amount)
{
	int64_t age = l->epoch - e;
	unsigned i;

	if (age > l->n)
		return;
	if (age < 0)
		age = 0;
	i = slot_at(l, (unsigned)age);
	set_slot(l, i, sat_add(l->slot[i], amount));
}

int ledger_resample(struct ledger *l, unsigned n, uint32_t bucket_ms, int64_t now_ms)
{
	struct ledger old, fresh;
	int64_t now = clamp_time(now_ms);

	if (!ready(l) || !geometry_ok(n, bucket_ms))
		return LB_ERR_INVAL;
	if (l->n == n && l->bucket_ms == bucket_ms)
		return LB_OK;
	old = *l;
	advance(&old, epoch_of(&old, now));
	ledger_init(&fresh, n, bucket_ms);
	fresh.epoch = epoch_of(&fresh, now);
	for (unsigned age = 0; age <= old.n; age++) {
		uint32_t v = old.slot[slot_at(&old, age)];
		int64_t end;

		if (v == 0)
			continue;
		end = (old.epoch - (int64_t)age + 1) * (int64_t)old.bucket_ms - 1;
		add_at_epoch(&fresh, epoch_of(&fresh, end < now ? end : now), v);
	}
	*l = fresh;
	return LB_OK;
}

/* ---- blob ---------------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* LEB128: 7 bits per byte, least significant first, bit 7 = more. */
static size_t varint_len(uint32_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t varint64_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Bytes consumed, or 0 if truncated, above max or not canonical. */
static size_t varint64_get(const uint8_t *p, size_t avail, uint64_t max, uint64_t *v)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < avail && i < LEDGER_VARINT64_MAX; i++) {
		if (i == LEDGER_VARINT64_MAX - 1 && p[i] > 1)
			return 0;   /* bits beyond the 64th */
		acc |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (p[i] & 0x80)
			continue;
		if (acc > max || (i > 0 && p[i] == 0))
			return 0;
		*v = acc;
		return i + 1;
	}
	return 0;
}

static size_t varint_put(uint8_t *p, uint32_t v)
{
	return varint64_put(p, v);
}

/* Bytes consumed, or 0 if truncated, longer than a uint32 or not canonical
 * (a canonical one of at most UINT32_MAX is at most LEDGER_VARINT_MAX
 * bytes). */
static size_t varint_get(const uint8_t *p, size_t avail, uint32_t *v)
{
	uint64_t w;
	size_t n = varint64_get(p, avail, UINT32_MAX, &w);

	if (n)
		*v = (uint32_t)w;
	return n;
}

/* The buckets from the current one back, each as a varint, at out. */
static size_t put_slots(const struct ledger *l, uint8_t *out)
{
	unsigned i = l->head;
	size_t pos = 0;

	for (unsigned age = 0; age <= l->n; age++) {
		pos += varint_put(out + pos, l->slot[i]);
		i = i ? i - 1 : l->n;   /* slot_at(l, age + 1) without a division */
	}
	return pos;
}

/* A buffer that holds the longest blob of this window is written in one
 * pass; only a smaller one is measured first. */
int ledger_encode(const struct ledger *l, uint8_t *out, size_t cap, size_t *len)
{
	size_t need = LEDGER_HEADER_LEN;

	if (!ready(l) || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	if (cap < LEDGER_HEADER_LEN + LEDGER_VARINT_MAX * ((size_t)l->n + 1)) {
		for (unsigned age = 0; age <= l->n; age++)
			need += varint_len(l->slot[slot_at(l, age)]);
		*len = need;
		if (cap < need)
			return LB_ERR_TOO_LARGE;
	}
	out[OFF_VERSION] = LEDGER_BLOB_VERSION;
	out[OFF_N] = l->n;
	put_le(out + OFF_BUCKET_MS, l->bucket_ms, LEN_BUCKET_MS);
	put_le(out + OFF_EPOCH, (uint64_t)l->epoch, LEN_EPOCH);
	*len = LEDGER_HEADER_LEN + put_slots(l, out + LEDGER_HEADER_LEN);
	return LB_OK;
}

static int decode_header(struct ledger *l, const uint8_t *in, size_t len)
{
	int64_t epoch;

	if (len < LEDGER_HEADER_LEN)
		return LB_ERR_MALFORMED;
	if (in[OFF_VERSION] != LEDGER_BLOB_VERSION)
		return LB_ERR_VERSION;
	if (ledger_init(l, in[OFF_N], (uint32_t)get_le(in + OFF_BUCKET_MS, LEN_BUCKET_MS)) != LB_OK)
		return LB_ERR_MALFORMED;
	epoch = (int64_t)get_le(in + OFF_EPOCH, LEN_EPOCH);
	if (epoch < 0 || epoch > TIME_MAX_MS / (int64_t)l->bucket_ms)
		return LB_ERR_MALFORMED;
	l->epoch = epoch;
	return LB_OK;
}

int ledger_decode(struct ledger *l, const uint8_t *in, size_t len, size_t *used)
{
	size_t pos = LEDGER_HEADER_LEN;
	int err;

	if (!l || (!in && len > 0))
		return LB_ERR_INVAL;
	err = decode_header(l, in, len);
	if (err != LB_OK) {
		memset(l, 0, sizeof(*l));
		return err;
	}
	/* Stored current bucket first; head stays 0 so age a is slot n+1-a. */
	for (unsigned age = 0; age <= l->n; age++) {
		uint32_t v;
		size_t k = varint_get(in + pos, len - pos, &v);
		if (k == 0) {
			memset(l, 0, sizeof(*l));
			return LB_ERR_MALFORMED;
		}
		set_slot(l, slot_at(l, age), v);
		pos += k;
	}
	if (used)
		*used = pos;
	return LB_OK;
}

/* ---- packed form ---------------------------------------------------------- */

bool ledger_same_geometry(const struct ledger *a, const struct ledger *b)
{
	return a && b && a->n == b->n && a->bucket_ms == b->bucket_ms;
}

/* The (age, sum) pairs of the ring's slots hi down to lo (one run, the
 * ages following on from *age) at out + pos; returns the new pos. Only
 * the non-empty slots are visited, highest first. */
static size_t put_run(const struct ledger *l, unsigned hi, unsigned lo, unsigned *age,
		      uint8_t *out, size_t pos, unsigned *k)
{
	unsigned n = *k;   /* a local: out may alias it for the compiler */

	for (uint64_t b = l->nonzero & bits_between(lo, hi); b;) {
		unsigned i = 63u - (unsigned)__builtin_clzll(b);
		out[pos++] = (uint8_t)(*age + hi - i);
		pos += varint_put(out + pos, l->slot[i]);
		n++;
		b &= ~bit(i);
	}
	*age += hi - lo + 1;
	*k = n;
	return pos;
}

/* The pairs of the non-empty buckets, from the current one back: the
 * ring's two runs, head down to 0, then n down to head + 1. */
static size_t put_pairs(const struct ledger *l, uint8_t *out, unsigned *k)
{
	unsigned age = 0;
	size_t pos;

	*k = 0;
	pos = put_run(l, l->head, 0, &age, out, 0, k);
	if (l->head < l->n)
		pos = put_run(l, l->n, (unsigned)l->head + 1, &age, out, pos, k);
	return pos;
}

/* A buffer of LEDGER_PACKED_MAX is written in place; a smaller one
 * through a copy. */
int ledger_pack(const struct ledger *l, bool with_geometry, uint8_t *out, size_t cap,
		size_t *len)
{
	uint8_t buf[LEDGER_PACKED_MAX];
	uint8_t *w = cap >= LEDGER_PACKED_MAX ? out : buf;
	size_t pos = 0, at_k;
	unsigned k;

	if (!ready(l) || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	if (with_geometry) {
		w[pos++] = l->n;
		pos += varint64_put(w + pos, l->bucket_ms);
	}
	pos += varint64_put(w + pos, (uint64_t)l->epoch);
	at_k = pos++;
	pos += put_pairs(l, w + pos, &k);
	w[at_k] = (uint8_t)k;
	*len = pos;
	if (cap < pos)
		return LB_ERR_TOO_LARGE;
	if (w != out)
		memcpy(out, buf, pos);
	return LB_OK;
}

/* Read as pairs (ledger_sparse_read(): one reader, one set of checks),
 * then each pair into its slot: head stays 0, age a is slot
 * (n + 1 - a) % (n + 1). */
int ledger_unpack(struct ledger *l, const struct ledger *geometry, const uint8_t *in, size_t len,
		  size_t *used)
{
	struct ledger_sparse s, g;

	if (!l || (!in && len > 0) || (geometry && !ready(geometry)))
		return LB_ERR_INVAL;
	if (geometry) {   /* copied first: geometry and l may alias */
		g.n = geometry->n;
		g.bucket_ms = geometry->bucket_ms;
	}
	if (ledger_sparse_read(&s, geometry ? &g : NULL, in, len, used) != LB_OK) {
		memset(l, 0, sizeof(*l));
		return LB_ERR_MALFORMED;
	}
	ledger_init(l, s.n, s.bucket_ms);
	l->epoch = s.epoch;
	for (unsigned j = 0; j < s.k; j++)
		set_slot(l, slot_at(l, s.age[j]), s.sum[j]);
	return LB_OK;
}

/* ---- packed form, read as pairs -------------------------------------------- */

static int64_t sparse_epoch_of(const struct ledger_sparse *s, int64_t t)
{
	return clamp_time(t) / (int64_t)s->bucket_ms;
}

/* n and bucket_ms from the blob or the caller's geometry, then the epoch. */
static size_t sparse_head(struct ledger_sparse *s, const struct ledger_sparse *geometry,
			  const uint8_t *in, size_t len)
{
	size_t pos = 0, k;
	uint64_t v;

	if (geometry) {
		s->n = geometry->n;
		s->bucket_ms = geometry->bucket_ms;
	} else {
		if (len < 1)
			return 0;
		k = varint64_get(in + 1, len - 1, UINT32_MAX, &v);
		if (k == 0 || !geometry_ok(in[0], (uint32_t)v))
			return 0;
		s->n = in[0];
		s->bucket_ms = (uint32_t)v;
		pos = 1 + k;
	}
	k = varint64_get(in + pos, len - pos, (uint64_t)(TIME_MAX_MS / (int64_t)s->bucket_ms), &v);
	if (k == 0)
		return 0;
	s->epoch = (int64_t)v;
	return pos + k;
}

/* The k (age, sum) pairs: ages strictly increasing and at most n, sums
 * never 0; bytes consumed or 0. */
static size_t sparse_pairs(struct ledger_sparse *s, const uint8_t *in, size_t len)
{
	size_t pos = 1;
	int last = -1;

	if (len < 1 || in[0] > s->n + 1u)
		return 0;
	s->k = in[0];
	for (unsigned j = 0; j < s->k; j++) {
		if (pos >= len || in[pos] > s->n || (int)in[pos] <= last)
			return 0;
		last = in[pos++];
		size_t k = varint_get(in + pos, len - pos, &s->sum[j]);
		if (k == 0 || s->sum[j] == 0)
			return 0;
		s->age[j] = (uint8_t)last;
		pos += k;
	}
	return pos;
}

int ledger_sparse_read(struct ledger_sparse *s, const struct ledger_sparse *geometry,
		       const uint8_t *in, size_t len, size_t *used)
{
	size_t head, body;

	if (!s || (!in && len > 0) ||
	    (geometry && !geometry_ok(geometry->n, geometry->bucket_ms)))
		return LB_ERR_INVAL;
	head = sparse_head(s, geometry, in, len);
	body = head ? sparse_pairs(s, in + head, len - head) : 0;
	if (body == 0) {
		s->bucket_ms = 0;
		s->n = 0;
		s->k = 0;
		return LB_ERR_MALFORMED;
	}
	if (used)
		*used = head + body;
	return LB_OK;
}

/* As ledger_sum(): the pairs of ages 0 .. n - shift. */
uint64_t ledger_sparse_sum(const struct ledger_sparse *s, int64_t now_ms)
{
	uint64_t sum = 0;
	int64_t e, shift;

	if (!s || !geometry_ok(s->n, s->bucket_ms))
		return 0;
	e = sparse_epoch_of(s, now_ms);
	shift = e > s->epoch ? e - s->epoch : 0;
	if (shift > s->n)
		return 0;
	for (unsigned j = 0; j < s->k && s->age[j] <= s->n - shift; j++)
		sum += s->sum[j];
	return sum;
}

/* As ledger_add(): moving on to a later bucket ages every pair by as
 * many buckets and drops those beyond n (advance() clears their slots);
 * the amount goes into the pair of age 0. */
void ledger_sparse_add(struct ledger_sparse *s, int64_t now_ms, uint32_t amount)
{
	int64_t e = sparse_epoch_of(s, now_ms);

	if (e > s->epoch) {
		int64_t shift = e - s->epoch;
		unsigned kept = 0;
		while (kept < s->k && s->age[kept] + shift <= s->n) {
			s->age[kept] = (uint8_t)(s->age[kept] + shift);
			kept++;
		}
		s->k = (uint8_t)kept;
		s->epoch = e;
	}
	if (s->k > 0 && s->age[0] == 0) {
		s->sum[0] = sat_add(s->sum[0], amount);
		return;
	}
	if (amount == 0)
		return;
	memmove(s->age + 1, s->age, s->k);
	memmove(s->sum + 1, s->sum, s->k * sizeof(s->sum[0]));
	s->age[0] = 0;
	s->sum[0] = amount;
	s->k++;
}

/* ledger_pack()'s layout, from the pairs. */
int ledger_sparse_write(const struct ledger_sparse *s, bool with_geometry, uint8_t *out,
			size_t cap, size_t *len)
{
	uint8_t buf[LEDGER_PACKED_MAX];
	uint8_t *w = cap >= LEDGER_PACKED_MAX ? out : buf;
	size_t pos = 0;

	if (!s || !geometry_ok(s->n, s->bucket_ms) || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	if (with_geometry) {
		w[pos++] = s->n;
		pos += varint64_put(w + pos, s->bucket_ms);
	}
	pos += varint64_put(w + pos, (uint64_t)s->epoch);
	w[pos++] = s->k;
	for (unsigned j = 0; j < s->k; j++) {
		w[pos++] = s->age[j];
		pos += varint_put(w + pos, s->sum[j]);
	}
	*len = pos;
	if (cap < pos)
		return LB_ERR_TOO_LARGE;
	if (w != out)
		memcpy(out, buf, pos);
	return LB_OK;
}
