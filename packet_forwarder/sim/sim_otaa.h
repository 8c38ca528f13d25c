/* SPDX-License-Identifier: MIT */
/*
 * sim_otaa.h - the device side of over-the-air activation in lorabridge-sim
 * (pure: no I/O, no clock, no logging).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §6.2.5 (join-request,
 * DevNonce rules; LoRaWAN 1.0.3 §6.2.4 before 1.0.4), §6.2.6 (join-accept,
 * session keys); RP002-1.0.4 "EU863-870 Receive Windows".
 *
 * A simulated OTAA device goes UNJOINED -> JOINING (join-request sent) ->
 * ACTIVE (join-accept taken). The frames themselves come from join.h; this
 * module picks the DevNonce, checks what a join-accept asks of the device and
 * turns it into the device's new session.
 *
 * Ownership: everything works on the caller's struct sim_device; nothing is
 * allocated but the OpenSSL key state inside d->keys (freed with the devices).
 */
#ifndef LB_SIM_OTAA_H
#define LB_SIM_OTAA_H

#include <stddef.h>
#include <stdint.h>

#include "mac/join.h"
#include "lorawan/region.h"
#include "sim_devices.h"

/* Next DevNonce of d (TS001-1.0.4 §6.2.5): 1.0.4 counts up from
 * d->dev_nonce_next; older versions draw from the splitmix64 stream *rng a
 * value not among the device's last SIM_NONCE_MEMORY nonces. The nonce is
 * remembered as used. */
uint16_t sim_otaa_next_nonce(struct sim_device *d, enum join_version v, uint64_t *rng);

/* Build d's join-request with dev_nonce into up (dev_idx = idx, fcnt =
 * dev_nonce, no payload). Errors: LB_ERR_STATE (not OTAA), those of
 * join_request_build(). */
int sim_otaa_build_join(struct sim_device *d, size_t idx, uint16_t dev_nonce,
			struct sim_uplink *up);

/*
 * Check an authenticated join-accept as the bridge must build it:
 * a valid NetID with the DevAddr in its space, a JoinNonce the device has
 * not had before (1.0.4: greater than the last, TS001-1.0.4 §6.2.6 and
 * LoRaWAN TR001), an
 * RX1DROffset, RX2 DR and CFList valid in region r (CFList type 0:
 * frequencies 0 or inside the band; type 1 in US915/AU915: for a device of
 * version v 1.0.3 or later only, RFU bits clear, a channel on). Returns
 * LB_OK, or LB_ERR_RANGE with a
 * reason in why (cap bytes).
 */
int sim_otaa_check_accept(const struct region *r, const struct sim_device *d, enum join_version v,
			  const struct join_accept_params *a, char *why, size_t cap);

/*
 * Take the join-accept answering the join-request with dev_nonce: derive
 * NwkSKey/AppSKey (TS001-1.0.4 §6.2.6), set DevAddr, FCntUp 0, no FCntDown yet, the RX
 * settings of the accept, state ACTIVE. Errors: LB_ERR_CRYPTO, LB_ERR_NOMEM,
 * LB_ERR_RANGE (from lwcrypto_derive_session_keys); d unchanged then.
 */
int sim_otaa_apply_accept(struct sim_device *d, const struct join_accept_params *a,
			  uint16_t dev_nonce);

#endif
