/* SPDX-License-Identifier: MIT */
/*
 * sim_devices.h - the simulated end-devices of lorabridge-sim (ABP, or OTAA
 * with --otaa): their identities and keys, the key file, the lorabridge
 * `devices` list they can be exported as, the (encrypted, MIC'd) uplinks they
 * send and the state their downlinks are checked against (sim_dlcheck.h).
 *
 * Identities are derived deterministically from a seed, so two runs with the
 * same --seed and --devices describe the same devices and a bridge configured
 * once keeps working:
 *
 *   DevEUI  5a | seed (3 bytes) | index (4 bytes)        e.g. 5a00000100000002
 *   DevAddr 0x26000000 | (seed & 0x1f) << 20 | index     (NwkID 0x13, index < 2^20)
 *   keys    splitmix64 stream seeded by (seed, index): NwkSKey, AppSKey, AppKey
 *   JoinEUI 5b | seed (3 bytes) | 00000000                (OTAA, shared by all)
 *
 * An OTAA device has no DevAddr nor session keys until its join-accept
 * (sim_otaa.h) gives them; FCntUp then starts at 0.
 *
 * Key file (--keys / --write-keys), one device per line, '#' starts a comment:
 *
 *   <dev_eui:16 hex> <dev_addr:8 hex> <nwk_s_key:32 hex> <app_s_key:32 hex> [name]   ABP
 *   <dev_eui:16 hex> <join_eui:16 hex> <app_key:32 hex> [name]                      OTAA
 *
 * (the second field's length tells the two apart).
 *
 * Uplink payloads are checkable text: "d<index> n<fcnt>", padded with '.' or
 * truncated to a fixed size when one is asked for.
 *
 * Ownership: struct sim_devices owns its array (sim_devices_free releases it
 * and the OpenSSL contexts of every device's keys, AppKey included). Nothing here does socket
 * I/O; the file functions take an open FILE * or a path.
 */
#ifndef LB_SIM_DEVICES_H
#define LB_SIM_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "sim_mac.h"

#define SIM_DEV_EUI_PREFIX 0x5a00000000000000ULL
#define SIM_DEV_ADDR_PREFIX 0x26000000U
#define SIM_JOIN_EUI_PREFIX 0x5b00000000000000ULL
#define SIM_NONCE_MEMORY 8          /* 1.0.3 random DevNonces never drawn twice in a row */
#define SIM_MAX_DEVICES (1U << 20)
#define SIM_NAME_LEN 32
/* MHDR 1 + FHDR 7 (no FOpts) + FPort 1 + MIC 4 = 13 bytes of overhead. */
#define SIM_MAX_PAYLOAD (LW_MAX_PHY - 13)
#define SIM_FCNT_ROLLOVER_START 65530U

enum sim_dev_state {
	SIM_DEV_ACTIVE = 0,         /* ABP, or OTAA with a session: sends data */
	SIM_DEV_UNJOINED,           /* OTAA, no join-request sent yet */
	SIM_DEV_JOINING             /* OTAA, join-request sent, waiting for the accept */
};

/* One transmission of the device: what a class-A downlink answers
 * (TS001-1.0.4 §3.3); `last` below is the latest, the downlink check keeps
 * a few earlier ones (sim_dlcheck.h). The tmst each gateway stamped on it
 * is sim_gateway_tmst(gateway, mono_us). */
struct sim_last_tx {
	bool valid;
	bool join;                  /* a join-request */
	bool confirmed;             /* ConfirmedDataUp: the answer must carry ACK */
	bool answered;              /* a downlink for it was received (one at most) */
	bool acked;                 /* confirmed and a downlink with ACK came */
	uint16_t dev_nonce;         /* join: the DevNonce sent */
	uint32_t fcnt;              /* data: the FCntUp sent */
	int64_t mono_us;
	unsigned gw0;               /* the (first) gateway that heard it */
	bool all_gws;               /* every gateway heard it */
	uint32_t freq_hz;
	uint8_t sf;
	uint16_t bw_khz;            /* 125, or 500 (US915/AU915 channels 64..71) */
	bool grid;                  /* US915/AU915: ch is the uplink channel */
	uint8_t ch;                 /*   0..71 */
};

/* Receive windows of the device's session (ABP defaults or join-accept). */
struct sim_rx_params {
	uint8_t rx1_delay_s;        /* RECEIVE_DELAY1, 1..15 */
	uint8_t rx1_dr_offset;
	uint8_t rx2_dr;
	uint32_t rx2_freq_hz;       /* 0: the region's (RXParamSetupReq sets it) */
};

struct sim_device {
	char name[SIM_NAME_LEN];
	uint64_t dev_eui;
	uint32_t dev_addr;          /* OTAA: 0 until joined */
	uint8_t nwk_s_key[LW_KEY_LEN];
	uint8_t app_s_key[LW_KEY_LEN];
	struct lw_keys keys;        /* prepared by sim_devices_prepare() / the join */
	uint32_t fcnt;              /* next FCntUp to send */
	uint64_t sent;              /* uplinks sent in this session (fresh frames only) */
	/* OTAA */
	bool otaa;
	uint64_t join_eui;
	uint8_t app_key[LW_KEY_LEN];
	struct lw_key app_key_k;    /* prepared by sim_devices_prepare() */
	enum sim_dev_state state;
	bool join_timed_out;        /* JOINING: retry at the next slot */
	int64_t join_deadline_us;   /* JOINING: monotonic */
	uint16_t dev_nonce_next;    /* 1.0.4: the counter */
	uint16_t used_nonces[SIM_NONCE_MEMORY];
	uint32_t n_joins;           /* join-requests sent */
	bool rejoin_lost_sent;      /* --rejoin-lost: its lost join was sent */
	bool accept_lost;           /* the join-accept now due is dropped unapplied */
	bool has_join_nonce;
	uint32_t join_nonce;        /* of the last accepted join-accept */
	/* downlinks */
	bool class_c;               /* --class-c: listens all the time on RX2 (TS001-1.0.4 §17) */
	struct sim_rx_params rx;
	bool has_fcnt_down;
	uint32_t fcnt_down;         /* last accepted FCntDown of the session */
	bool ack_due;               /* confirmed downlink received: ACK in the next uplink */
	struct sim_mac_dev mac;     /* DR, TX power, channels, MAC answers (sim_mac.h) */
	struct sim_last_tx last;
};

struct sim_devices {
	struct sim_device *dev;
	size_t n;
};

/* One uplink as built: what went on air and the plaintext it carries. */
struct sim_uplink {
	size_t dev_idx;
	uint32_t fcnt;
	uint8_t fport;
	size_t payload_len;
	uint8_t payload[SIM_MAX_PAYLOAD];
	size_t phy_len;
	uint8_t phy[LW_MAX_PHY];
};

/* Parameters shared by every uplink of a run. payload_size < 0: natural length. */
struct sim_uplink_conf {
	uint8_t fport;              /* 1..223 */
	bool confirmed;
	int payload_size;           /* -1 or 0..SIM_MAX_PAYLOAD */
	bool lpp;                   /* sim_payload_lpp() instead of the text */
	uint8_t fctrl;              /* extra FCtrl bits of this uplink (ACK 0x20, ADR 0x80) */
	const uint8_t *fopts;       /* MAC answers (sim_mac.h), fopts_len <= 15 */
	uint8_t fopts_len;
};

/* Fill ds with n devices derived from seed (keys not prepared yet). Every
 * device also gets its JoinEUI and AppKey, used once it is made OTAA.
 * Errors: LB_ERR_RANGE (n == 0 or n > SIM_MAX_DEVICES), LB_ERR_NOMEM. */
int sim_devices_derive(struct sim_devices *ds, size_t n, uint64_t seed);

/* --otaa: make every device OTAA (DevAddr 0 until it joins). */
void sim_devices_make_otaa(struct sim_devices *ds);

/* Parse one key-file line. *empty is set for blank and comment-only lines
 * (out untouched). Errors: LB_ERR_MALFORMED (wrong field count or hex),
 * LB_ERR_TOO_LARGE (name longer than SIM_NAME_LEN - 1). Without a name
 * field the device is named "sim-<index>". */
int sim_devices_parse_line(const char *line, size_t index, struct sim_device *out, bool *empty);

/* Load a key file. On error *bad_line is the 1-based line (0 for I/O or an
 * empty file). Errors: LB_ERR_IO, LB_ERR_MALFORMED, LB_ERR_TOO_LARGE,
 * LB_ERR_NOT_FOUND (no device in the file), LB_ERR_NOMEM. */
int sim_devices_load(struct sim_devices *ds, const char *path, int *bad_line);

/* Keep only the first n devices (no-op if n >= ds->n). */
void sim_devices_truncate(struct sim_devices *ds, size_t n);

/* Give device 1 the DevAddr of device 0 (--shared-devaddr): two devices,
 * different keys, one address. Errors: LB_ERR_RANGE with fewer than two. */
int sim_devices_share_devaddr(struct sim_devices *ds);

/* Write the key file format above. Errors: LB_ERR_IO. */
int sim_devices_write_keys(const struct sim_devices *ds, FILE *f);

/* Write a libconfig `devices = ( ... );` list that lorabridge.conf can
 * `@include`: ABP keys, or join_eui/app_key for OTAA devices, the
 * lorawan_version of both (`version`, e.g. "1.0.3": the one the simulated
 * devices follow, --lorawan-version; sim_devices_write_conf says "1.0.3"),
 * `class = "C"` for class C ones. Errors: LB_ERR_IO. */
int sim_devices_write_conf(const struct sim_devices *ds, const char *application, FILE *f);
int sim_devices_write_conf_version(const struct sim_devices *ds, const char *application,
				   const char *version, FILE *f);

/* Prepare the OpenSSL key state of every device (session keys of ABP
 * devices, AppKey of OTAA ones), set FCntUp of ABP devices, the receive
 * windows to `rx` (sim_devices_prepare: RX1 1 s, offset 0, RX2 DR0) and
 * OTAA devices to UNJOINED with DevNonce counter `dev_nonce_start`.
 * Errors: LB_ERR_CRYPTO, LB_ERR_NOMEM. */
int sim_devices_prepare(struct sim_devices *ds, uint32_t fcnt_start);
int sim_devices_prepare_rx(struct sim_devices *ds, uint32_t fcnt_start,
			   const struct sim_rx_params *rx, uint16_t dev_nonce_start);

/* Release the array and the key state; ds is zeroed. Safe to call twice. */
void sim_devices_free(struct sim_devices *ds);

/* The text payload "d<dev_idx> n<fcnt>", padded with '.' or truncated to
 * `size` bytes (size < 0: natural length). Returns the length written, at
 * most cap (the text is truncated to cap). */
size_t sim_payload_text(size_t dev_idx, uint32_t fcnt, int size, uint8_t *out, size_t cap);

/* A Cayenne LPP reading of device dev_idx at fcnt (SIM_LPP_LEN bytes in
 * out, cap >= SIM_LPP_LEN): channel 1 temperature 20.0 + ((7 dev_idx + 3
 * fcnt) mod 100) / 10 degC, channel 2 humidity 40 + ((dev_idx + fcnt) mod
 * 40) / 2 %RH, channel 3 voltage 3.30 - (fcnt mod 30) / 100 V (type 116).
 * Returns the length, 0 when cap is too small. */
#define SIM_LPP_LEN 11
size_t sim_payload_lpp(size_t dev_idx, uint32_t fcnt, uint8_t *out, size_t cap);

/* Build the next uplink of device `idx` at its current FCntUp (which is not
 * advanced: the caller does that once the frame is sent).
 * Errors: LB_ERR_INVAL (idx), those of lorawan_build_data(). */
int sim_devices_build_uplink(struct sim_devices *ds, size_t idx, const struct sim_uplink_conf *c,
			     struct sim_uplink *up);

/* Rebuild the frame device `idx` sent at the earlier counter `fcnt` (same
 * payload) with FCtrl.ADR set: a valid MIC on a used counter, which only
 * the bridge's counter check can refuse. The flipped bit keeps it from being
 * byte-identical to the original, which content-based de-duplication would
 * rightly absorb as a late copy (dedup.h remembers copies for >= 2 s).
 * Errors: as sim_devices_build_uplink(). */
int sim_devices_build_replay(struct sim_devices *ds, size_t idx, uint32_t fcnt,
			     const struct sim_uplink_conf *c, struct sim_uplink *up);

/* Spoil the MIC of a built frame (fault injection): flip every bit of the
 * last byte so the frame stays well-formed but fails verification. */
void sim_uplink_corrupt_mic(struct sim_uplink *up);

#endif
