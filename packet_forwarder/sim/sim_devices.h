/*
 * sim_devices.h - the simulated ABP end-devices of lorabridge-sim: their
 * identities and session keys, the key file, the lorabridge `devices` list
 * they can be exported as, and the (encrypted, MIC'd) uplinks they send.
 *
 * Identities are derived deterministically from a seed, so two runs with the
 * same --seed and --devices describe the same devices and a bridge configured
 * once keeps working:
 *
 *   DevEUI  5a | seed (3 bytes) | index (4 bytes)        e.g. 5a00000100000002
 *   DevAddr 0x26000000 | (seed & 0x1f) << 20 | index     (NwkID 0x13, index < 2^20)
 *   keys    splitmix64 stream seeded by (seed, index)
 *
 * Key file (--keys / --write-keys), one device per line, '#' starts a comment:
 *
 *   <dev_eui:16 hex> <dev_addr:8 hex> <nwk_s_key:32 hex> <app_s_key:32 hex> [name]
 *
 * Uplink payloads are checkable text: "d<index> n<fcnt>", padded with '.' or
 * truncated to a fixed size when one is asked for.
 *
 * Ownership: struct sim_devices owns its array (sim_devices_free releases it
 * and the OpenSSL contexts of every device's keys). Nothing here does socket
 * I/O; the file functions take an open FILE * or a path.
 */
#ifndef LB_SIM_DEVICES_H
#define LB_SIM_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lorawan.h"
#include "lwcrypto.h"

#define SIM_DEV_EUI_PREFIX 0x5a00000000000000ULL
#define SIM_DEV_ADDR_PREFIX 0x26000000U
#define SIM_MAX_DEVICES (1U << 20)
#define SIM_NAME_LEN 32
/* MHDR 1 + FHDR 7 (no FOpts) + FPort 1 + MIC 4 = 13 bytes of overhead. */
#define SIM_MAX_PAYLOAD (LW_MAX_PHY - 13)
#define SIM_FCNT_ROLLOVER_START 65530U

struct sim_device {
	char name[SIM_NAME_LEN];
	uint64_t dev_eui;
	uint32_t dev_addr;
	uint8_t nwk_s_key[LW_KEY_LEN];
	uint8_t app_s_key[LW_KEY_LEN];
	struct lw_keys keys;        /* prepared by sim_devices_prepare() */
	uint32_t fcnt;              /* next FCntUp to send */
	uint64_t sent;              /* uplinks sent (fresh frames only) */
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
};

/* Fill ds with n devices derived from seed (keys not prepared yet).
 * Errors: LB_ERR_RANGE (n == 0 or n > SIM_MAX_DEVICES), LB_ERR_NOMEM. */
int sim_devices_derive(struct sim_devices *ds, size_t n, uint64_t seed);

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
 * `@include`. Errors: LB_ERR_IO. */
int sim_devices_write_conf(const struct sim_devices *ds, const char *application, FILE *f);

/* Prepare the OpenSSL key state of every device and set its FCntUp.
 * Errors: LB_ERR_CRYPTO, LB_ERR_NOMEM. */
int sim_devices_prepare(struct sim_devices *ds, uint32_t fcnt_start);

/* Release the array and the key state; ds is zeroed. Safe to call twice. */
void sim_devices_free(struct sim_devices *ds);

/* The text payload "d<dev_idx> n<fcnt>", padded with '.' or truncated to
 * `size` bytes (size < 0: natural length). Returns the length written, at
 * most cap (the text is truncated to cap). */
size_t sim_payload_text(size_t dev_idx, uint32_t fcnt, int size, uint8_t *out, size_t cap);

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
