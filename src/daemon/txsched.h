/* SPDX-License-Identifier: MIT */
/*
 * txsched.h - class-A downlink scheduling: what to send after an uplink,
 * when, through which gateway, and what the gateway answered.
 *
 * After an accepted uplink the device's receive windows open 1 s (RX1) and
 * 2 s (RX2) after the end of the frame (TS001-1.0.4 §3.3; rxpk.tmst marks
 * that end). The bridge waits downlink.delay_ms (default 100 ms) so an
 * application can still queue an answer for RX1, then decides (once, or
 * again every TXSCHED_DISK_POLL_MS while the downlink counter's reservation
 * waits for the disk):
 *
 *   queued item (oldest first, durable in the store)   FPort + payload
 *   confirmed uplink                                  ACK bit
 *   LinkCheckReq / DeviceTimeReq in the uplink        answers in FOpts
 *   the network's MAC requests (netmac.h)             FOpts, or FPort 0
 *                                                     when nothing else goes
 *
 * The frame goes to the gateway with the best link margin among those that
 * heard the uplink, as a PULL_RESP for RX1 (tmst + delay); its TX_ACK is
 * taken only from the address and port the PULL_RESP went to; a TX_ACK error
 * (TOO_LATE, COLLISION_PACKET, TX_FREQ, ...) moves it to RX2 (Semtech
 * PROTOCOL.TXT §5.5, §6). A GWMP v1 gateway sends no TX_ACK: its PULL_RESP
 * counts as sent.
 * Each attempt handed to a gateway holds its airtime on the gateway's
 * sub-band (budget.h budget_hold()) until its outcome, and counts as one
 * of the device's downlinks in its fair access while it awaits its TX_ACK
 * (txsched_in_flight()): TX_ACK OK charges both, a TX_ACK error or a send
 * failure neither, no TX_ACK the duty cycle alone (the gateway may have
 * transmitted it; RP002-1.0.4 "EU863-870").
 * A queue item's downlink the gateway programmed ends in a `txack` event
 * (its txInfo and the attempts); the bridge's own frames (the ACK of a
 * confirmed uplink, MAC answers) only count in stats.sent_own, as
 * ChirpStack sends txack only for a frame that carried a queue item. A
 * downlink every window refused ends in a `log` event
 * DOWNLINK_GATEWAY (level ERROR, context gatewayId and the error), as in
 * ChirpStack. A confirmed downlink then waits for the device's next
 * uplink: ACK bit set = `ack` event acknowledged true, not set = false, and
 * the item leaves the queue. A queue item whose expiresAt passed before it
 * could be sent is dropped with a `log` event EXPIRED.
 *
 * Join-accepts use the same path with JOIN_ACCEPT_DELAY1/2 (5 s / 6 s).
 *
 * Class C devices (classc.h) also get frames sent at once, through this
 * module's counters, TX_ACK table and events (txsched_launch_item()); its
 * hooks learn of each uplink and of each frame's end. While a frame of a
 * device awaits its TX_ACK, a decision sends no queue item to it (one
 * downlink at a time).
 *
 * Downlink counters are reserved ahead in the store (tables/fcntdown.h,
 * store/store.h COUNTER RULES) so no FCntDown is ever used twice, even
 * across kill -9.
 *
 * Context (borrowed): the registry, the region, the gateway table (downlink
 * routes), the store (queue), the group commit and sessions (counter
 * reservations), budgets (fair access, duty cycle), device events, ids and
 * the UDP sender. The scheduler owns its decision slots and the PULL_RESPs
 * awaiting their TX_ACK.
 */
#ifndef LB_TXSCHED_H
#define LB_TXSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/netmac.h"
#include "daemon/session.h"
#include "daemon/udpout.h"
#include "gwmp/gwmp.h"
#include "gwmp/rx.h"
#include "lorawan/lorawan.h"
#include "lorawan/region.h"
#include "mac/downlink.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"

#define TXSCHED_SLOTS 256            /* devices with a decision pending */
#define TXSCHED_RX 4                 /* receptions kept to choose the gateway */
#define TXSCHED_MAC_MAX 15           /* FOpts */
#define TXSCHED_EVENT_MAX 4096       /* a txack or ack event's JSON */
/* A join-accept, or a class-A downlink taken again after waiting for the
 * disk, goes to the gateway at least this long before its window opens, by
 * the bridge's clock: the packet forwarder's just-in-time queue wants it
 * some tens of ms ahead (Semtech's lora_pkt_fwd), and the backhaul takes
 * its share. */
#define TXSCHED_LEAD_MS 250
/* A decision whose downlink counter waits for its sync (the device's first
 * downlink since the start, or a burst faster than the group commit) is
 * taken again this often until the counter is on the disk, or until its
 * windows have passed. */
#define TXSCHED_DISK_POLL_MS 5

/* A decision waiting for its moment (uplink + delay_ms). */
struct txsched_slot {
	uint64_t dev_eui;
	struct lb_rx rx[TXSCHED_RX];
	size_t n_rx;
	uint8_t mac[TXSCHED_MAC_MAX];    /* MAC answers for FOpts */
	size_t mac_len;
	bool mac_wanted;                 /* netmac: the uplink needs a downlink */
	int64_t heard_ms;                /* the uplink's first copy (monotonic) */
	bool waited;                     /* decided again: waited for the disk */
};

struct txsched_stats {
	uint64_t scheduled;              /* decisions taken */
	uint64_t sent;                   /* downlinks the gateway programmed */
	uint64_t sent_rx2;               /* of `sent`: in class A's RX2 */
	uint64_t sent_own;               /* of `sent`: no queue item (ACK, MAC): no txack */
	uint64_t failed;                 /* every window refused, or timed out */
	uint64_t no_route;               /* no gateway with a downlink address */
	uint64_t dropped_slots;          /* decisions dropped: table full */
};

/* The downlink settings of the configuration. */
struct txsched_opts {
	int delay_ms;                    /* downlink.delay_ms */
	uint32_t tx_ack_timeout_ms;
	uint8_t rx1_dr_offset;           /* configured; netmac_windows() for ABP */
	bool has_rx2_freq, has_rx2_dr;   /* else the region's defaults */
	uint32_t rx2_freq;
	uint8_t rx2_dr;
};

/* What another scheduler (classc.h: class C) learns from this one. Both
 * callbacks may be NULL; arg is passed back. */
struct txsched_hooks {
	void *arg;
	/* An accepted data uplink of dev, before a confirmed downlink awaiting
	 * its ACK is settled with it: true = the hook keeps it waiting (not
	 * settled by this uplink), false = settle as usual. */
	bool (*uplink)(void *arg, struct lb_device *dev, const struct lw_frame *f,
		       const struct lb_rx *rx, size_t n_rx);
	/* A retransmission of dev's last uplink, acknowledged again: its
	 * receive windows open as after any uplink (nothing is settled: it
	 * is the frame already taken). */
	void (*retransmission)(void *arg, struct lb_device *dev, const struct lb_rx *rx,
			       size_t n_rx);
	/* A data downlink of dev left: sent (the gateway programmed it) or
	 * failed (every window refused, or no TX_ACK). */
	void (*done)(void *arg, struct lb_device *dev, const struct downlink_pending_entry *e,
		     bool sent);
};

/* When a slot's decision is due: the decisions waiting form a binary
 * min-heap of these, earliest (then first planned) at the root, so a tick
 * looks at what is due and no further, and finding a device's decision
 * walks the decisions waiting, not the table. */
struct txsched_due {
	int64_t due_ms;                  /* monotonic */
	uint64_t seq;                    /* order planned, among equal due_ms */
	uint64_t dev_eui;
	uint16_t slot;                   /* index in txsched.slot */
};

struct txsched_ctx {
	struct devices *devices;
	const struct region *region;
	struct gateways *gateways;
	struct store *store;
	struct durable *durable;
	struct sessions *sessions;
	struct budget *budget;
	struct devevents *ev;
	struct idgen *ids;
	struct udpout out;
	struct netmac *netmac;           /* network MAC requests; NULL = none */
};

struct txsched {
	struct txsched_ctx c;    /* borrowed, as given to txsched_init() */
	struct txsched_opts opts;
	/* TXSCHED_SLOTS of them, allocated apart (calloc) so that the pages of
	 * slots never used stay untouched: 384 KiB that a bridge without
	 * downlinks does not hold (README "Memory and start-up"). */
	struct txsched_slot *slot;
	struct txsched_due due[TXSCHED_SLOTS];   /* heap: the slots in use */
	size_t n_due;
	uint16_t free_slot[TXSCHED_SLOTS];       /* stack of the unused slots, */
	size_t n_free;                           /* lowest index on top */
	uint64_t due_seq;
	struct downlink_pending pending; /* PULL_RESPs awaiting their TX_ACK */
	uint32_t token_seq;
	struct txsched_stats stats;
	struct txsched_hooks hooks;
};

/* Errors: LB_ERR_NOMEM (nothing to free then). */
int txsched_init(struct txsched *t, const struct txsched_ctx *ctx, const struct txsched_opts *o);
/* Frees the slots and the TX_ACK table; safe on a zeroed or already freed
 * struct. */
void txsched_free(struct txsched *t);

/* A quiet bridge: with no decision pending, the pages of the slots go back
 * to the system (MADV_DONTNEED: zeros, as after txsched_init(); all
 * TXSCHED_SLOTS in use at once touch about 380 KiB of them) and the free
 * slots are taken in index order again; with no PULL_RESP awaiting its
 * TX_ACK, the TX_ACK table (136 KiB, every page read by a lookup) is freed,
 * to be allocated again at the next PULL_RESP. Otherwise nothing changes.
 * True when both were released (or were not held), false when a part was
 * kept because it is in use: try again later. *table_freed says whether a
 * TX_ACK table was freed now. */
bool txsched_release(struct txsched *t, bool *table_freed);

/* A confirmed downlink sent before a restart still waits for the ACK of
 * the device's next uplink: find it in the store. LB_OK or the store's
 * error (logged). */
int txsched_restore_device(struct txsched *t, struct lb_device *dev);

/* A confirmed uplink of dev heard again with its last accepted FCnt (the
 * frame's MIC checked: devices_verify_uplink()'s LB_ERR_DUPLICATE): the
 * device did not receive our ACK and retransmits it with the same FCnt
 * (TS001-1.0.4 §4.3.1.2: a confirmed frame is answered with ACK set; The
 * Things Stack also answers each copy). Its ACK, and the answers to the device's
 * own requests in mac (LinkCheckReq, DeviceTimeReq), are planned again as
 * after txsched_after_uplink(); the network's answers to our requests were
 * taken with the first copy and are not read again. At most
 * TXSCHED_RETX_ACKS times per FCnt, so that a replayed frame costs a bounded
 * number of downlinks (each also within the duty cycle and the fair access);
 * beyond, logged. An unconfirmed frame: nothing. A confirmed downlink is
 * neither settled nor retried by it. Called after
 * txsched_retransmission_wanted(), which told class C. */
#define TXSCHED_RETX_ACKS 7
/* A copy of dev's last uplink heard again (rx): class C's hook holds its
 * frames off the copy's receive windows (hooks.retransmission). Returns
 * whether txsched_after_retransmission() would acknowledge it again (false
 * for an unconfirmed copy, and beyond the limit, logged): asked first, so
 * a copy beyond costs no decryption. */
bool txsched_retransmission_wanted(struct txsched *t, struct lb_device *dev,
				   const struct lw_frame *f, const struct lb_rx *rx, size_t n_rx);
void txsched_after_retransmission(struct txsched *t, struct lb_device *dev,
				  const struct lw_frame *f, const uint8_t *mac, size_t mac_len,
				  const struct lb_rx *rx, size_t n_rx, int64_t heard_ms);

/* After an accepted data uplink of dev: settle a confirmed downlink that
 * waited for this uplink's ACK bit (its `ack` event carries the uplink's
 * deduplicationId, dedup_id), note what must be answered, and plan a
 * decision at now + delay_ms. heard_ms: when the uplink's first copy
 * arrived (monotonic ms, dedup_group.first_ms), from which its receive
 * windows are counted. */
void txsched_after_uplink(struct txsched *t, struct lb_device *dev, const struct lw_frame *f,
			  const uint8_t *mac, size_t mac_len, const struct lb_rx *rx, size_t n_rx,
			  int64_t heard_ms, const uint8_t dedup_id[16]);

/* A join-accept that cannot be sent because its windows passed before the
 * join's state was on the disk (otaa.h): counted as failed, logged, and a
 * `log` event OTAA (level ERROR) with desc. */
void txsched_join_missed(struct txsched *t, struct lb_device *dev, const char *desc,
			 uint64_t gateway_eui);

/* Send a join-accept (already built and encrypted) in RX1, RX2 as fallback,
 * for a join-request whose first copy arrived at heard_ms (monotonic ms,
 * dedup_group.first_ms). A window less than TXSCHED_LEAD_MS away is
 * left out: the gateway would refuse it (TOO_LATE), and a GWMP v1 gateway
 * would not even say so. LB_OK, LB_ERR_TIMEOUT (both windows passed:
 * counted as failed, logged and reported as a `log` event), LB_ERR_FULL
 * (duty cycle; reported as a `log` event) or the planner's error. */
int txsched_join_accept(struct txsched *t, struct lb_device *dev, const uint8_t *phy, size_t len,
			const struct lb_rx *rx, size_t n_rx, int64_t heard_ms);

/* The receptions of an uplink with the best link margins, up to
 * TXSCHED_RX of them, copied into out (downlink_plan() picks among them):
 * what a join-accept held for the disk keeps. Returns how many. */
size_t txsched_best_rx(const struct lb_rx *rx, size_t n, struct lb_rx out[TXSCHED_RX]);

/* A TX_ACK from a gateway (dispatch), received from `from`. LB_OK (also
 * for a TX_ACK that matches nothing: late, or a duplicate), or
 * LB_ERR_ADDRESS_MISMATCH: its token is pending for that gateway but the
 * PULL_RESP went to another address or port (ignored and logged; the caller
 * counts the drop). */
int txsched_tx_ack(struct txsched *t, uint64_t gateway_eui, const uint8_t token[GWMP_LEN_TOKEN],
		   const struct udp_peer *from, const struct gwmp_txack *ack);

/* ---- for the class C scheduler (classc.h), which shares this one's
 * counters, TX_ACK table and events ---- */

void txsched_set_hooks(struct txsched *t, const struct txsched_hooks *h);

/* A class-A decision is pending for the device, or one of its PULL_RESPs
 * awaits a TX_ACK: no other downlink may start now. */
bool txsched_busy(const struct txsched *t, uint64_t dev_eui);

/* How many downlinks of the device await their TX_ACK (join-accepts, class
 * A and C frames): what budget_downlink_allowed() counts as sent. */
size_t txsched_in_flight(const struct txsched *t, uint64_t dev_eui);

/* The sizes a DOWNLINK_PAYLOAD_SIZE refusal reports, as ChirpStack's
 * context: item_size (the item's FRMPayload bytes) and max_payload_size
 * (the largest FRMPayload any of the device's windows carries; < 0:
 * unknown, left out). */
struct txsched_sizes {
	size_t item_size;
	int max_payload_size;
};

/* Drop queue item id of dev: a `log` event (level ERROR, code, "queue item
 * ID dropped: why", context queueItemId and ChirpStack's queue_item_id, and
 * the sizes when given) and out of the store (a failure to delete is
 * logged). sizes may be NULL. */
void txsched_drop_item(struct txsched *t, struct lb_device *dev, const char *id, const char *code,
		       const char *why, const struct txsched_sizes *sizes);

/* Reserve the device's next FCntDown (durably, store.h COUNTER RULES);
 * fcntdown_used() consumes it once the frame goes. A reservation that must
 * reach the disk first (a device's first downlink since the start, then
 * every FCNTDOWN_BLOCK-th) is staged, and committed at the next
 * durable_tick() with every other of the loop pass, without waiting for its
 * sync (durable_commit_soon()): LB_ERR_AGAIN until the sync has completed
 * (nothing used; ask again, every TXSCHED_DISK_POLL_MS). LB_OK,
 * LB_ERR_AGAIN, LB_ERR_RANGE (exhausted: a `log` event F_CNT_DOWN),
 * LB_ERR_IO (staging failed, or the last commit did: durable_failing();
 * logged where it failed). */
int txsched_reserve_fcnt(struct txsched *t, struct lb_device *dev, uint32_t *fcnt);

/* Send e (a queue item's frame, plan and attempt filled in, e->id its
 * queue item id) as this scheduler sends its own: TX_ACK, txack / log
 * events, the item marked sent or deleted, the hooks' done(). */
void txsched_launch_item(struct txsched *t, struct downlink_pending_entry *e);

/* Settle the confirmed downlink dev waits for: `ack` event acknowledged or
 * not, the item removed. dedup_id: the uplink's, or NULL (none: the nil
 * UUID). Nothing if none waits. */
void txsched_settle_confirmed(struct txsched *t, struct lb_device *dev, bool acked,
			      const uint8_t dedup_id[16]);

/* Run decisions that are due and expire unanswered PULL_RESPs; returns the
 * next deadline (monotonic ms) or -1. */
int64_t txsched_tick(struct txsched *t, int64_t now_ms);

/* At shutdown: the PULL_RESPs still awaiting their TX_ACK (a queue item
 * whose TX_ACK never comes stays queued and is sent again at the next
 * start), and the expiry of unanswered ones alone, no decision taken;
 * txsched_expire() returns the next expiry (monotonic ms) or -1. */
size_t txsched_awaiting(const struct txsched *t);
int64_t txsched_expire(struct txsched *t, int64_t now_ms);

/* The shutdown's flush is over: every PULL_RESP still awaiting its TX_ACK
 * is settled as a timeout settles it for the duty cycle (its airtime
 * charged to its gateway, budget_charge_gateway(): it may have been
 * transmitted), without events; returns how many. Before the last commit,
 * so that the stored ledgers keep them. */
size_t txsched_stop(struct txsched *t);

#endif
