/*
 * otaa.h - over-the-air activation in the daemon (LoRaWAN 1.0.x §6.2):
 * a join-request from a configured OTAA device becomes a new session and a
 * join-accept, with the rules that keep it safe across a crash:
 *
 *  - the DevNonce must not have been used by this device before (1.0.0 to
 *    1.0.3 random nonces, remembered in the store), and for devices marked
 *    lorawan_version = "1.0.4" it must be greater than the last one;
 *  - the JoinNonce comes from a counter that never repeats (persisted);
 *  - the DevAddr is allocated inside net_id's prefix, never two alike
 *    among live sessions;
 *  - the DevNonce, JoinNonce, allocator and the new session are committed
 *    to the store before the join-accept is sent (at JOIN_ACCEPT_DELAY1,
 *    5 s, in RX1; RX2 at 6 s if the gateway refuses RX1).
 * Rejections are `log` events with code "OTAA"; a `join` event reports a
 * success.
 */
#ifndef LB_OTAA_H
#define LB_OTAA_H

#include <stdint.h>

struct bridge;
struct dedup_group;
struct lw_frame;

/* Load the JoinNonce counter and DevAddr allocator from the store. */
int otaa_init(struct bridge *b);

/* Handle one de-duplicated join-request. */
void otaa_join(struct bridge *b, const struct lw_frame *f, const struct dedup_group *g);

#endif
