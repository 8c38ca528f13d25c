/* SPDX-License-Identifier: MIT */
/*
 * downlink.c - data-downlink frames, the network's MAC answers and the
 * TX_ACK table (see downlink.h; window planning is in dlplan.c).
 */
#include "mac/downlink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/netaddr.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/maccmd.h"

/* ---- frame ------------------------------------------------------------------
 *
 * Downlink FCtrl (TS001-1.0.4 §4.3.1, Table 7):
 *
 *   | bit 7 | bit 6 | bit 5 | bit 4    | bits 3..0 |
 *   | ADR   | RFU   | ACK   | FPending | FOptsLen  |
 */
#define FCTRL_ADR 0x80
#define FCTRL_ACK 0x20
#define FCTRL_FPENDING 0x10

/* TS001-1.0.4 §4.3.2: 1..223 application, 224 MAC-layer test protocol,
 * 225..255 RFU. */
#define FPORT_MAX 224

int downlink_build(const struct downlink_frame *p, struct lw_keys *keys, uint8_t *out,
		   size_t cap, size_t *len)
{
	struct lw_data_params d;

	if (p == NULL || keys == NULL || out == NULL || len == NULL)
		return LB_ERR_INVAL;
	if (p->has_fport && p->fport > FPORT_MAX)
		return LB_ERR_RANGE;
	memset(&d, 0, sizeof(d));
	d.mtype = p->confirmed ? LW_MTYPE_CONFIRMED_DOWN : LW_MTYPE_UNCONFIRMED_DOWN;
	d.dev_addr = p->dev_addr;
	d.fctrl_flags = (uint8_t)((p->adr ? FCTRL_ADR : 0) | (p->ack ? FCTRL_ACK : 0) |
				  (p->fpending ? FCTRL_FPENDING : 0));
	d.fcnt = p->fcnt_down;
	d.fopts = p->fopts;
	d.fopts_len = p->fopts_len;
	d.has_fport = p->has_fport;
	d.fport = p->fport;
	d.payload = p->payload;
	d.payload_len = p->payload_len;
	/* lorawan_build_data() takes Dir = 1 from the downlink MType (TS001-1.0.4
	 * §4.3.3, §4.4). */
	return lorawan_build_data(&d, keys, out, cap, len);
}

/* ---- MAC answers ------------------------------------------------------------
 *
 * LinkCheckAns (CID 0x02):  | 0x02 | Margin (dB, 0..254) | GwCnt |
 * DeviceTimeAns (CID 0x0D): | 0x0D | seconds since GPS epoch (4, LE) | fraction (1/256 s) |
 */
size_t downlink_frame_len(const struct downlink_frame *p)
{
	return LW_LEN_MHDR + LW_LEN_FHDR_MIN + p->fopts_len +
	       (p->has_fport ? 1 + p->payload_len : 0) + LW_LEN_MIC;
}

#define LINK_CHECK_MARGIN_MAX 254
#define LINK_CHECK_GW_MAX 255
#define US_PER_S 1000000
#define US_PER_MS 1000
#define FRACTION_STEPS 256

static size_t distinct_gateways(const struct lb_rx *rx, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && rx[j].gateway_eui != rx[i].gateway_eui)
			j++;
		if (j == i)
			count++;
	}
	return count;
}

static int build_answer(const struct maccmd *cmd, uint8_t *out, size_t want)
{
	size_t len = 0;
	int rc = maccmd_build(cmd, out, want, &len);

	if (rc != LB_OK)
		return rc;
	return len == want ? LB_OK : LB_ERR_INVAL;
}

int downlink_link_check_ans(const struct lb_rx *rx, size_t n,
			    uint8_t out[DOWNLINK_LINK_CHECK_ANS_LEN])
{
	struct maccmd cmd;
	double best = DOWNLINK_MARGIN_UNKNOWN;
	double margin;
	uint8_t margin_db;
	size_t gws;

	if (rx == NULL || n == 0 || out == NULL)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		margin = downlink_rx_margin_db(&rx[i].rxpk);
		if (margin > best)
			best = margin;
	}
	/* Rounded down: for values >= 0 the integer conversion truncates to the
	 * floor (and keeps libm out of a codec). */
	if (best <= 0)
		margin_db = 0;
	else if (best >= LINK_CHECK_MARGIN_MAX)
		margin_db = LINK_CHECK_MARGIN_MAX;
	else
		margin_db = (uint8_t)best;
	gws = distinct_gateways(rx, n);
	memset(&cmd, 0, sizeof(cmd));
	cmd.cid = MACCMD_LINK_CHECK;
	cmd.dir = LW_DIR_DOWN;
	cmd.u.link_check_ans.margin = margin_db;
	cmd.u.link_check_ans.gw_cnt = (uint8_t)(gws > LINK_CHECK_GW_MAX ? LINK_CHECK_GW_MAX : gws);
	return build_answer(&cmd, out, DOWNLINK_LINK_CHECK_ANS_LEN);
}

int downlink_device_time_ans(int64_t gps_time_us, uint8_t out[DOWNLINK_DEVICE_TIME_ANS_LEN])
{
	struct maccmd cmd;

	if (out == NULL)
		return LB_ERR_INVAL;
	if (gps_time_us < 0)
		return LB_ERR_RANGE;
	memset(&cmd, 0, sizeof(cmd));
	cmd.cid = MACCMD_DEVICE_TIME;
	cmd.dir = LW_DIR_DOWN;
	/* The 32-bit field wraps like the GPS second counter it carries
	 * (TS001-1.0.4 §5.9). */
	cmd.u.device_time_ans.seconds = (uint32_t)((uint64_t)gps_time_us / US_PER_S);
	cmd.u.device_time_ans.fraction =
		(uint8_t)((uint64_t)gps_time_us % US_PER_S * FRACTION_STEPS / US_PER_S);
	return build_answer(&cmd, out, DOWNLINK_DEVICE_TIME_ANS_LEN);
}

static int64_t unix_to_gps_us(int64_t unix_us)
{
	return unix_us - (int64_t)(DOWNLINK_GPS_EPOCH_UNIX_S - DOWNLINK_GPS_LEAP_S) * US_PER_S;
}

int64_t downlink_gps_time_us(const struct gwmp_rxpk *pk, int64_t fallback_unix_us)
{
	/* A forged tmms must not overflow the µs conversion. */
	if (pk != NULL && pk->has_tmms && pk->tmms <= (uint64_t)INT64_MAX / US_PER_MS)
		return (int64_t)pk->tmms * US_PER_MS;
	if (pk != NULL && pk->has_time)
		return unix_to_gps_us(pk->time_us);
	return unix_to_gps_us(fallback_unix_us);
}

/* ---- TX_ACK table ---------------------------------------------------------- */

void downlink_pending_init(struct downlink_pending *t, uint32_t timeout_ms)
{
	if (t == NULL)
		return;
	memset(t, 0, sizeof(*t));
	t->timeout_ms = timeout_ms ? timeout_ms : DOWNLINK_TXACK_TIMEOUT_MS;
}

void downlink_pending_free(struct downlink_pending *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	t->slot = NULL;
	t->n = 0;
}

/* Slot index of a pending token, or -1. The walk stops once it has seen
 * the n used slots (add() takes the lowest free one, so they are mostly
 * first). */
static int find(const struct downlink_pending *t, const uint8_t token[GWMP_LEN_TOKEN])
{
	size_t seen = 0;

	for (int i = 0; i < DOWNLINK_PENDING_MAX && seen < t->n; i++) {
		const struct downlink_pending_slot *s = &t->slot[i];
		if (!s->used)
			continue;
		seen++;
		if (memcmp(s->token, token, GWMP_LEN_TOKEN) == 0)
			return i;
	}
	return -1;
}

/* The earliest deadline again, after the slot holding it left. */
static void recompute_next(struct downlink_pending *t)
{
	size_t seen = 0;

	for (size_t i = 0; i < DOWNLINK_PENDING_MAX && seen < t->n; i++) {
		const struct downlink_pending_slot *s = &t->slot[i];
		if (!s->used)
			continue;
		if (seen++ == 0 || s->deadline_ms < t->next_ms)
			t->next_ms = s->deadline_ms;
	}
}

/* Slot s leaves the table. */
static void release(struct downlink_pending *t, struct downlink_pending_slot *s)
{
	s->used = false;
	t->n--;
	if (t->n > 0 && s->deadline_ms <= t->next_ms)
		recompute_next(t);
}

int downlink_pending_add(struct downlink_pending *t, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct downlink_pending_entry *e, int64_t now_ms)
{
	if (t == NULL || token == NULL || e == NULL)
		return LB_ERR_INVAL;
	if (find(t, token) >= 0)
		return LB_ERR_DUPLICATE;
	if (t->slot == NULL && !(t->slot = calloc(DOWNLINK_PENDING_MAX, sizeof(*t->slot))))
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < DOWNLINK_PENDING_MAX; i++) {
		struct downlink_pending_slot *s = &t->slot[i];
		if (s->used)
			continue;
		s->used = true;
		memcpy(s->token, token, GWMP_LEN_TOKEN);
		s->deadline_ms = now_ms + t->timeout_ms;
		s->e = *e;
		if (t->n++ == 0 || s->deadline_ms < t->next_ms)
			t->next_ms = s->deadline_ms;
		return LB_OK;
	}
	return LB_ERR_FULL;
}

bool downlink_pending_has(const struct downlink_pending *t, const uint8_t token[GWMP_LEN_TOKEN])
{
	return t != NULL && token != NULL && find(t, token) >= 0;
}

bool downlink_pending_has_device(const struct downlink_pending *t, uint64_t dev_eui)
{
	size_t seen = 0;

	for (size_t i = 0; t != NULL && i < DOWNLINK_PENDING_MAX && seen < t->n; i++) {
		const struct downlink_pending_slot *s = &t->slot[i];
		if (!s->used)
			continue;
		seen++;
		if (s->e.dev_eui == dev_eui)
			return true;
	}
	return false;
}

size_t downlink_pending_count_device(const struct downlink_pending *t, uint64_t dev_eui)
{
	size_t seen = 0, n = 0;

	for (size_t i = 0; t != NULL && i < DOWNLINK_PENDING_MAX && seen < t->n; i++) {
		const struct downlink_pending_slot *s = &t->slot[i];
		if (!s->used)
			continue;
		seen++;
		n += s->e.dev_eui == dev_eui;
	}
	return n;
}

int downlink_pending_take(struct downlink_pending *t, uint64_t gateway_eui,
			  const uint8_t token[GWMP_LEN_TOKEN], const struct sockaddr *from,
			  socklen_t from_len, struct downlink_pending_entry *out)
{
	struct downlink_pending_slot *s;
	int i;

	if (t == NULL || token == NULL)
		return LB_ERR_INVAL;
	i = find(t, token);
	if (i < 0 || t->slot[i].e.gateway_eui != gateway_eui)
		return LB_ERR_NOT_FOUND;
	s = &t->slot[i];
	if (s->e.dest_len != 0 &&
	    !netaddr_same_endpoint((const struct sockaddr *)&s->e.dest, s->e.dest_len, from,
				   from_len))
		return LB_ERR_ADDRESS_MISMATCH;
	if (out != NULL)
		*out = s->e;
	release(t, s);
	return LB_OK;
}

size_t downlink_pending_expire(struct downlink_pending *t, int64_t now_ms, downlink_expire_cb cb,
			       void *arg)
{
	struct downlink_pending_slot gone;
	size_t count = 0;

	/* Nothing due: no walk (the loop asks at every pass). */
	if (t == NULL || t->n == 0 || t->next_ms > now_ms)
		return 0;
	for (size_t i = 0; i < DOWNLINK_PENDING_MAX; i++) {
		struct downlink_pending_slot *s = &t->slot[i];
		if (!s->used || s->deadline_ms > now_ms)
			continue;
		/* Free the slot first: the callback may add (reuse it). */
		gone = *s;
		release(t, s);
		count++;
		if (cb != NULL)
			cb(gone.token, &gone.e, arg);
	}
	return count;
}

int downlink_pending_next_deadline(const struct downlink_pending *t, int64_t *deadline_ms)
{
	if (t == NULL || deadline_ms == NULL)
		return LB_ERR_INVAL;
	if (t->n == 0)
		return LB_ERR_NOT_FOUND;
	*deadline_ms = t->next_ms;
	return LB_OK;
}

/* ---- TX_ACK classification (Semtech PROTOCOL.TXT §5.5, §6) ----------------- */

static const char *const retryable[] = {
	"TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "COLLISION_BEACON",
	"TX_FREQ", "TX_POWER", "GPS_UNLOCKED",
};

bool downlink_txack_ok(const struct gwmp_txack *ack)
{
	return ack == NULL || ack->error[0] == '\0' || strcmp(ack->error, "NONE") == 0;
}

bool downlink_txack_retryable(const char *error)
{
	if (error == NULL)
		return false;
	for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
		if (strcmp(error, retryable[i]) == 0)
			return true;
	}
	return false;
}

static void set_status(struct downlink_pending_entry *e, const char *s)
{
	if (e->attempt >= DOWNLINK_MAX_ATTEMPTS)
		return;
	/* Bounded copy, always NUL-terminated (a gateway's string is untrusted). */
	snprintf(e->status[e->attempt], DOWNLINK_STATUS_LEN, "%s", s);
}

enum downlink_txack_action downlink_txack_apply(struct downlink_pending_entry *e,
						const struct gwmp_txack *ack)
{
	if (e == NULL)
		return DOWNLINK_TXACK_FAILED;
	if (downlink_txack_ok(ack)) {
		set_status(e, "OK");
		return DOWNLINK_TXACK_SENT;
	}
	set_status(e, ack->error);
	if (!downlink_txack_retryable(ack->error) || (size_t)e->attempt + 1 >= e->plan.n_attempts)
		return DOWNLINK_TXACK_FAILED;
	e->attempt++;
	return DOWNLINK_TXACK_RETRY;
}
