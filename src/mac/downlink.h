/* SPDX-License-Identifier: MIT */
/*
 * downlink.h - class-A downlinks, the pure part: build the frame, plan the
 * receive windows, answer the network's MAC commands, keep track of the
 * PULL_RESPs that wait for a TX_ACK.
 *
 * References: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4.3.1 (FHDR),
 * §4.3.2 (FPort), §4.3.3-§4.4 (encryption, MIC), §5 (MAC commands), §3.3
 * (receive windows); RP002-1.0.4 "EU863-870 Receive Windows" and "US902-928
 * Receive Windows" (RX1/RX2 per region); Semtech PROTOCOL.TXT §6 (txpk),
 * §5.5 and §6 (TX_ACK).
 *
 * No I/O, no clock (times are parameters), no logging, no globals.
 * downlink.c: frame, MAC answers, TX_ACK table; dlplan.c: window planning.
 *
 * Ownership: every struct here is plain data with fixed buffers, embedded by
 * the caller; nothing is allocated, nothing needs freeing. Input pointers
 * (payloads, receptions) are only read during the call.
 *
 * A downlink's life, as the bridge drives it:
 *
 *   uplink receptions ──downlink_plan()──> gateway + [RX1, RX2] txpk
 *   queue item ──downlink_build()──> PHYPayload ──downlink_plan_set_payload()
 *   PULL_RESP(token, attempt[0]) ──downlink_pending_add()
 *   TX_ACK(token) ──downlink_pending_take()──downlink_txack_apply()──>
 *       SENT | RETRY (send attempt[e.attempt] under a new token, add again)
 *            | FAILED
 *   no TX_ACK within the timeout ──downlink_pending_expire()──> lost
 *   (a GWMP v1 gateway never sends TX_ACK: do not add, take it as sent)
 */
#ifndef LB_DOWNLINK_H
#define LB_DOWNLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "events/dlcmd.h"
#include "gwmp/gwmp.h"
#include "gwmp/rx.h"
#include "lorawan/region.h"

struct lw_keys;

/* ---- frame ---------------------------------------------------------------- */

/* One data downlink (TS001-1.0.4 §4.3.1). FCtrl downlink bits: ADR 0x80,
 * ACK 0x20, FPending 0x10; FOptsLen is fopts_len. */
struct downlink_frame {
	bool confirmed;              /* ConfirmedDataDown (MHDR 0xA0), else 0x60 */
	uint32_t dev_addr;
	uint32_t fcnt_down;          /* 32-bit NFCntDown: 16 LSB on air, all in B0/Ai */
	bool adr;                    /* the network controls the device's DR and TX
				      * power (TS001-1.0.4 §4.3.1.1): devices[].adr */
	bool ack;                    /* acknowledges a confirmed uplink */
	bool fpending;               /* more is queued for this device */
	const uint8_t *fopts;        /* MAC answers in clear, fopts_len 0..15 */
	uint8_t fopts_len;
	bool has_fport;              /* false: no FPort, no FRMPayload */
	uint8_t fport;               /* 0: MAC commands under NwkSKey; 1..224 data */
	const uint8_t *payload;      /* plaintext FRMPayload */
	size_t payload_len;
};

/*
 * Build, encrypt (AppSKey, or NwkSKey for FPort 0) and MIC (NwkSKey, B0 with
 * Dir = 1) the frame into out[0..cap), through lorawan_build_data().
 * Errors: LB_ERR_INVAL (NULL, fopts_len > 15, FPort 0 with FOpts, payload
 * without FPort, keys not ready), LB_ERR_RANGE (FPort 225..255, RFU),
 * LB_ERR_TOO_LARGE (frame > 255 or > cap), LB_ERR_CRYPTO.
 */
int downlink_build(const struct downlink_frame *p, struct lw_keys *keys, uint8_t *out,
		   size_t cap, size_t *len);

/* The length of the PHYPayload downlink_build() writes for p (MHDR, FHDR
 * with FOpts, FPort and FRMPayload when has_fport, MIC; TS001-1.0.4 §4),
 * without building it: enough to plan the frame's windows and airtime. */
size_t downlink_frame_len(const struct downlink_frame *p);

/* ---- receive windows (dlplan.c) ------------------------------------------- */

#define DOWNLINK_MAX_ATTEMPTS 2
#define DOWNLINK_RECEIVE_DELAY1_S 1      /* RECEIVE_DELAY1 default, RP002-1.0.4 §2.3 */
#define DOWNLINK_JOIN_ACCEPT_DELAY1_S 5  /* RP002-1.0.4 §2.3; DELAY2 is one second more */
#define DOWNLINK_MAX_RX_DELAY_S 15       /* RxDelay / RXTimingSetupReq Del */
#define DOWNLINK_MARGIN_UNKNOWN (-1000.0) /* no lsnr, or not LoRa */

/* RXC: a class C device's continuous window on the RX2 frequency and DR
 * (TS001-1.0.4 §17), for downlinks sent at once rather than after an uplink. */
enum downlink_window { DOWNLINK_RX1 = 0, DOWNLINK_RX2 = 1, DOWNLINK_RXC = 2 };
#define DOWNLINK_WINDOWS 3

/* One way of sending the downlink: a complete txpk (class A: imme false,
 * tmst set) for one receive window. */
struct downlink_attempt {
	enum downlink_window window;
	uint8_t dr;                  /* region DR of the window */
	uint32_t delay_us;           /* after the uplink's tmst */
	uint16_t max_phy;            /* largest PHYPayload the DR carries: M + 5 */
	struct gwmp_txpk txpk;       /* size/data empty until a payload is set */
};

struct downlink_plan_in {
	const struct region *region;
	const struct lb_rx *rx;      /* receptions of the uplink (de-duplicated) */
	size_t n_rx;                 /* >= 1 */
	uint8_t rx1_dr_offset;       /* device's RX1DROffset (ignored for joins) */
	uint8_t rp;                  /* device's Regional Parameters, enum region_rp
				      * (0: RP002-1.0.4): RX1 DR and payload limits */
	uint8_t rx_delay_s;          /* device's RX1 delay, 0 = 1 s; RX2 = RX1 + 1 s */
	bool rx2_override;           /* use rx2_freq_hz/rx2_dr, else region_rx2() */
	uint32_t rx2_freq_hz;
	uint8_t rx2_dr;
	bool join_accept;            /* 5/6 s, RX1DROffset 0, region default RX2 */
	const uint8_t *phy;          /* optional: PHYPayload copied into each txpk */
	size_t phy_len;              /* its length (also without phy, for the DR check) */
};

struct downlink_plan {
	size_t rx_index;             /* the chosen reception in in->rx */
	uint64_t gateway_eui;
	uint8_t version;             /* its GWMP version (1: no TX_ACK will come) */
	double margin_db;            /* its link margin, DOWNLINK_MARGIN_UNKNOWN if none */
	int uplink_dr;               /* the uplink's DR, or a negative lb_err */
	size_t n_attempts;           /* 0..2, in order: RX1 then RX2 */
	struct downlink_attempt attempt[DOWNLINK_MAX_ATTEMPTS];
	int window_err[DOWNLINK_WINDOWS]; /* [enum downlink_window]: LB_OK if
					   * planned, else why it was left out */
};

/*
 * Demodulation floor of a LoRa SF in dB (SX1276/SX1301 datasheets, as in
 * LoRaWAN LinkCheckAns and ChirpStack): SF7 -7.5, SF8 -10, SF9 -12.5,
 * SF10 -15, SF11 -17.5, SF12 -20; SF6 -5 and SF5 -2.5 (SX126x).
 * Errors: LB_ERR_RANGE (other SF), LB_ERR_INVAL (NULL).
 */
int downlink_demod_floor_db(uint8_t sf, double *db);

/* Link margin of one reception: lsnr - floor(sf), or DOWNLINK_MARGIN_UNKNOWN
 * when it has no lsnr or is not LoRa. */
double downlink_rx_margin_db(const struct gwmp_rxpk *pk);

/*
 * The reception with the best link margin; ties (and unknown margins) go to
 * the higher RSSI, then to the first in the array. Errors: LB_ERR_INVAL
 * (NULL, n == 0).
 */
int downlink_best_rx(const struct lb_rx *rx, size_t n, size_t *index);

/*
 * Plan the class-A windows for an uplink: choose the gateway, then RX1
 * (tmst + delay, frequency and DR by region_rx1_rp() for the device's
 * revision in->rp) and RX2 (tmst + delay + 1 s, RX2 frequency/DR), each a
 * txpk with rfch 0, powe from
 * region_tx_power(), LoRa: datr from the DR, codr 4/5, ipol true, ncrc true;
 * FSK: bitrate, fdev = bitrate / 2, ipol false, ncrc false. tmst wraps
 * around 2^32. A window is left out (window_err says why) when its DR
 * cannot carry phy_len bytes (LB_ERR_TOO_LARGE), the RX1 rule does not apply
 * (region_rx1_rp() errors: unknown uplink DR, offset not allowed, channel not
 * in the grid), the DR is not a LoRa/FSK downlink DR (LB_ERR_NOT_FOUND) or
 * the frequency has no TX power (region_tx_power() errors).
 * Returns LB_OK with at least one attempt; LB_ERR_TOO_LARGE if no window
 * remains and one was left out for size, else the RX1 reason; LB_ERR_INVAL
 * (NULL, n_rx 0, phy_len > 255), LB_ERR_RANGE (rx_delay_s > 15).
 */
int downlink_plan(const struct downlink_plan_in *in, struct downlink_plan *out);

/*
 * The one attempt of a class C downlink (TS001-1.0.4 §17: the device listens
 * on the RX2 frequency and data rate whenever it is not transmitting or in
 * RX1): window DOWNLINK_RXC, txpk.imme true and no tmst (Semtech
 * PROTOCOL.TXT §6: "send packet immediately"), freq_hz/dr as the device's
 * RX2, modulation and power as downlink_plan(), phy copied in; the payload
 * limit that of the device's Regional Parameters revision rp.
 * Errors: LB_ERR_INVAL (NULL, len > 255), LB_ERR_NOT_FOUND (not a LoRa/FSK
 * downlink DR), LB_ERR_TOO_LARGE (the DR cannot carry len bytes),
 * region_tx_power()'s errors.
 */
int downlink_plan_class_c(const struct region *r, enum region_rp rp, uint32_t freq_hz,
			  uint8_t dr, const uint8_t *phy, size_t len, struct downlink_attempt *out);

/* Copy a PHYPayload into one attempt's txpk (size, data).
 * Errors: LB_ERR_INVAL (NULL), LB_ERR_TOO_LARGE (len > a->max_phy). */
int downlink_attempt_set_payload(struct downlink_attempt *a, const uint8_t *phy, size_t len);

/* Copy a PHYPayload into every attempt; attempts whose DR cannot carry it
 * are removed (window_err LB_ERR_TOO_LARGE). Returns LB_OK if one remains,
 * LB_ERR_TOO_LARGE if none, LB_ERR_INVAL for NULL. */
int downlink_plan_set_payload(struct downlink_plan *p, const uint8_t *phy, size_t len);

/* ---- MAC answers (TS001-1.0.4 §5) ----------------------------------------- */

#define DOWNLINK_LINK_CHECK_ANS_LEN 3    /* CID 0x02 | Margin | GwCnt */
#define DOWNLINK_DEVICE_TIME_ANS_LEN 6   /* CID 0x0D | seconds (4 LE) | fraction */

/*
 * GPS epoch (1980-01-06T00:00:00Z) = Unix time 315964800 s. GPS time does
 * not stop for leap seconds, UTC does: GPS - UTC = 18 s since 2017-01-01
 * (IERS Bulletin C; no leap second has been added since, and none may be
 * before the 2035 abolition: update this constant if one is). Earlier
 * instants are converted with today's offset too, which is fine for the
 * "now" this is used for.
 */
#define DOWNLINK_GPS_EPOCH_UNIX_S 315964800
#define DOWNLINK_GPS_LEAP_S 18

/*
 * LinkCheckAns for a LinkCheckReq received through rx[0..n): Margin = best
 * lsnr - demodulation floor of the uplink's SF, rounded down, clamped
 * 0..254 (0 if no reception is LoRa with an lsnr); GwCnt = distinct
 * gateways, clamped to 255. out = 02 | Margin | GwCnt.
 * Errors: LB_ERR_INVAL (NULL, n == 0).
 */
int downlink_link_check_ans(const struct lb_rx *rx, size_t n,
			    uint8_t out[DOWNLINK_LINK_CHECK_ANS_LEN]);

/*
 * DeviceTimeAns for an uplink received at gps_time_us (µs since the GPS
 * epoch): out = 0D | seconds mod 2^32 (LE) | fraction in 1/256 s, rounded
 * down. Errors: LB_ERR_RANGE (negative time), LB_ERR_INVAL (NULL).
 */
int downlink_device_time_ans(int64_t gps_time_us, uint8_t out[DOWNLINK_DEVICE_TIME_ANS_LEN]);

/*
 * GPS time (µs since the GPS epoch) at which an uplink was received: the
 * gateway's tmms if it sent one, else its `time`, else fallback_unix_us
 * (the bridge's arrival time), Unix times converted as
 * GPS = Unix - DOWNLINK_GPS_EPOCH_UNIX_S + DOWNLINK_GPS_LEAP_S. pk may be
 * NULL (fallback used).
 */
int64_t downlink_gps_time_us(const struct gwmp_rxpk *pk, int64_t fallback_unix_us);

/* ---- TX_ACK bookkeeping (Semtech PROTOCOL.TXT §5.5) ------------------------ */

#define DOWNLINK_PENDING_MAX 128
#define DOWNLINK_TXACK_TIMEOUT_MS 3000   /* no TX_ACK by then: datagram lost */
#define DOWNLINK_STATUS_LEN 32

/* What the bridge remembers about a PULL_RESP in flight. */
struct downlink_pending_entry {
	uint64_t gateway_eui;        /* gateway the PULL_RESP went to */
	struct sockaddr_storage dest; /* and its address: the TX_ACK must come from there */
	socklen_t dest_len;          /* 0 = not recorded (no address check) */
	uint64_t dev_eui;
	uint32_t fcnt_down;
	uint64_t ref;                /* caller's handle (queue item) */
	bool confirmed;
	char id[DLCMD_MAX_ID + 1];   /* downlink id for the events */
	struct downlink_plan plan;   /* every attempt, with the PHYPayload */
	uint8_t attempt;             /* index in plan.attempt now in flight */
	/* Outcome per attempt so far: "" not tried (or waiting), "OK", or the
	 * TX_ACK error ("TOO_LATE", ...), as sent by the gateway. */
	char status[DOWNLINK_MAX_ATTEMPTS][DOWNLINK_STATUS_LEN];
};

typedef void (*downlink_expire_cb)(const uint8_t token[GWMP_LEN_TOKEN],
				   struct downlink_pending_entry *e, void *arg);

struct downlink_pending_slot {
	bool used;
	uint8_t token[GWMP_LEN_TOKEN];
	int64_t deadline_ms;
	struct downlink_pending_entry e;
};

/* Table of DOWNLINK_PENDING_MAX slots keyed by the PULL_RESP token; embed
 * it, call _init(), and _free() at the end. The slots (about 136 KiB) are
 * allocated at the first add: a bridge that never sends a downlink holds
 * none. Its earliest deadline is kept up to date, so a tick with nothing due
 * and an empty table cost no walk over the slots (the loop asks at every
 * pass). */
struct downlink_pending {
	uint32_t timeout_ms;
	size_t n;                    /* slots used */
	int64_t next_ms;             /* earliest deadline of those, when n > 0 */
	struct downlink_pending_slot *slot; /* DOWNLINK_PENDING_MAX, or NULL: none yet */
};

/* Empty table; timeout_ms 0 means DOWNLINK_TXACK_TIMEOUT_MS. */
void downlink_pending_init(struct downlink_pending *t, uint32_t timeout_ms);
/* Frees the slots (entries left are dropped); the table is empty and
 * usable again. Safe on NULL and on a freed table. */
void downlink_pending_free(struct downlink_pending *t);

/* Remember e under token until now_ms + timeout. Errors: LB_ERR_INVAL
 * (NULL), LB_ERR_DUPLICATE (token already pending: pick another),
 * LB_ERR_FULL, LB_ERR_NOMEM (the slots could not be allocated). */
int downlink_pending_add(struct downlink_pending *t, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct downlink_pending_entry *e, int64_t now_ms);

/* True if token is pending (to pick a free token before sending). */
bool downlink_pending_has(const struct downlink_pending *t, const uint8_t token[GWMP_LEN_TOKEN]);

/* True if a PULL_RESP for device dev_eui is pending (false for NULL t). */
bool downlink_pending_has_device(const struct downlink_pending *t, uint64_t dev_eui);

/* How many PULL_RESPs for device dev_eui are pending (0 for NULL t). */
size_t downlink_pending_count_device(const struct downlink_pending *t, uint64_t dev_eui);

/*
 * Remove and return the entry of a TX_ACK's token. The TX_ACK must come from
 * the gateway the PULL_RESP went to: a token from another gateway is
 * LB_ERR_NOT_FOUND, and (when the entry has a dest) one from another
 * address or port than the PULL_RESP's destination is
 * LB_ERR_ADDRESS_MISMATCH; both leave the entry in place (the real answer
 * may still come). A gateway answers on the socket it receives PULL_RESP on
 * (Semtech PROTOCOL.TXT §5.5, lora_pkt_fwd's downstream socket). out may
 * be NULL. Errors: LB_ERR_INVAL (NULL t/token), LB_ERR_NOT_FOUND,
 * LB_ERR_ADDRESS_MISMATCH.
 */
int downlink_pending_take(struct downlink_pending *t, uint64_t gateway_eui,
			  const uint8_t token[GWMP_LEN_TOKEN], const struct sockaddr *from,
			  socklen_t from_len, struct downlink_pending_entry *out);

/* Remove every entry whose deadline is <= now_ms, calling cb (if not NULL)
 * for each after its removal (cb may add entries). Returns the count. */
size_t downlink_pending_expire(struct downlink_pending *t, int64_t now_ms, downlink_expire_cb cb,
			       void *arg);

/* Earliest deadline, for the loop's timer. LB_ERR_NOT_FOUND when empty. */
int downlink_pending_next_deadline(const struct downlink_pending *t, int64_t *deadline_ms);

/* Success: no JSON, error "" or "NONE"; a `warn` (sx1302_hal TX_POWER) is
 * still a success. NULL counts as no JSON. */
bool downlink_txack_ok(const struct gwmp_txack *ack);

/* Errors after which the next window may still work: TOO_LATE, TOO_EARLY,
 * COLLISION_PACKET, COLLISION_BEACON, TX_FREQ, TX_POWER, GPS_UNLOCKED. */
bool downlink_txack_retryable(const char *error);

enum downlink_txack_action {
	DOWNLINK_TXACK_SENT = 0,     /* the gateway programmed the transmission */
	DOWNLINK_TXACK_RETRY,        /* send e->plan.attempt[e->attempt] now */
	DOWNLINK_TXACK_FAILED        /* no window left, or a final error */
};

/* Record the TX_ACK of the attempt in flight in e->status and decide; on
 * RETRY e->attempt has moved to the next attempt. NULL ack = success. */
enum downlink_txack_action downlink_txack_apply(struct downlink_pending_entry *e,
						const struct gwmp_txack *ack);

#endif
