/*
 * txsched.h - class-A downlink scheduling: what to send after an uplink,
 * when, through which gateway, and what the gateway answered.
 *
 * After an accepted uplink the device's receive windows open 1 s (RX1) and
 * 2 s (RX2) after the end of the frame (lorawan-1.0.md §12; rxpk.tmst marks
 * that end). The bridge waits downlink.delay_ms (default 100 ms) so an
 * application can still queue an answer for RX1, then decides once:
 *
 *   queued item (oldest first, durable in the store)   FPort + payload
 *   confirmed uplink                                  ACK bit
 *   LinkCheckReq / DeviceTimeReq in the uplink        answers in FOpts
 *
 * The frame goes to the gateway with the best link margin among those that
 * heard the uplink, as a PULL_RESP for RX1 (tmst + delay); a TX_ACK error
 * (TOO_LATE, COLLISION_PACKET, TX_FREQ, ...) moves it to RX2 (semtech-udp.md
 * §6). A GWMP v1 gateway sends no TX_ACK: its PULL_RESP counts as sent.
 * Each downlink ends in a `txack` event listing its attempts; a confirmed
 * downlink then waits for the device's next uplink: ACK bit set = `ack`
 * event acknowledged true, not set = false, and the item leaves the queue.
 *
 * Join-accepts use the same path with JOIN_ACCEPT_DELAY1/2 (5 s / 6 s).
 *
 * Downlink counters are reserved ahead in the store (store.h, COUNTER
 * RULES) so no FCntDown is ever used twice, even across kill -9.
 */
#ifndef LB_TXSCHED_H
#define LB_TXSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mac/downlink.h"
#include "gwmp/gwmp.h"
#include "gwmp/rx.h"

#define TXSCHED_SLOTS 256            /* devices with a decision pending */
#define TXSCHED_RX 4                 /* receptions kept to choose the gateway */
#define TXSCHED_MAC_MAX 15           /* FOpts */

struct bridge;
struct lb_device;
struct lw_frame;

/* A decision waiting for its moment (uplink + delay_ms). */
struct txsched_slot {
	bool used;
	uint64_t dev_eui;
	int64_t due_ms;
	struct lb_rx rx[TXSCHED_RX];
	size_t n_rx;
	uint8_t mac[TXSCHED_MAC_MAX];    /* MAC answers for FOpts */
	size_t mac_len;
};

struct txsched_stats {
	uint64_t scheduled;              /* decisions taken */
	uint64_t sent;                   /* downlinks the gateway programmed */
	uint64_t retried_rx2;
	uint64_t failed;                 /* every window refused, or timed out */
	uint64_t no_route;               /* no gateway with a downlink address */
	uint64_t dropped_slots;          /* decisions dropped: table full */
};

struct txsched {
	struct txsched_slot slot[TXSCHED_SLOTS];
	struct downlink_pending pending; /* PULL_RESPs awaiting their TX_ACK */
	uint32_t token_seq;
	struct txsched_stats stats;
};

void txsched_init(struct txsched *t, uint32_t tx_ack_timeout_ms);

/* After an accepted data uplink of dev: settle a confirmed downlink that
 * waited for this uplink's ACK bit, note what must be answered, and plan a
 * decision at now + downlink.delay_ms. */
void txsched_after_uplink(struct bridge *b, struct lb_device *dev, const struct lw_frame *f,
			  const uint8_t *mac, size_t mac_len, const struct lb_rx *rx, size_t n_rx);

/* Send a join-accept (already built and encrypted) in RX1, RX2 as fallback. */
int txsched_join_accept(struct bridge *b, struct lb_device *dev, const uint8_t *phy, size_t len,
			const struct lb_rx *rx, size_t n_rx);

/* A TX_ACK from a gateway (dispatch). */
void txsched_tx_ack(struct bridge *b, uint64_t gateway_eui, const uint8_t token[GWMP_LEN_TOKEN],
		    const struct gwmp_txack *ack);

/* Run decisions that are due and expire unanswered PULL_RESPs; returns the
 * next deadline (monotonic ms) or -1. */
int64_t txsched_tick(struct bridge *b, int64_t now_ms);

#endif
