/* SPDX-License-Identifier: MIT */
/*
 * devices.h - the device registry and LoRaWAN 1.0.x uplink session logic
 * (pure: no sockets, no clock, no logging; time is a parameter).
 *
 * Built from the configured devices (config.h struct lb_device_conf), deep
 * copied so the configuration can be freed. Each ABP device carries its raw
 * session keys and its uplink session state: the last accepted 32-bit
 * FCntUp. Prepared key state (OpenSSL contexts, 1.55 KB a device) is
 * kept only for the DEVICES_KEY_CACHE most recently used devices, in the
 * table's key cache (lorawan/lwkeycache.h), and rebuilt on demand for the
 * others: devices_keys() hands it out.
 * A configured fcnt_up is the next counter to accept (has_last_fcnt =
 * true, last_fcnt_up = fcnt_up - 1, when fcnt_up > 0).
 *
 * Lookups go through hash indexes built once per (re)load: DevEUI -> one
 * device; DevAddr -> every ABP device with that address (several may
 * legally share one; the MIC tells them apart). OTAA entries (no session
 * keys in the configuration) are found by DevEUI only; their JoinEUI and
 * AppKey are copied but no join is processed here.
 *
 * Uplink verification (TS001-1.0.4 §4.3.1.5, §4.4): for each candidate with the
 * frame's DevAddr, the 32-bit FCnt is rebuilt from the 16 bits on air
 * (lorawan_fcnt_full) and the MIC is checked with that counter; the
 * candidate whose MIC verifies wins. Verification does not change session
 * state; devices_accept_uplink() commits the counter once the caller has
 * decided to keep the frame. (The bridge's counts of frames, MIC failures,
 * replays and repeats are its own, daemon/stats.h: the table keeps none
 * per device.)
 *
 * Ownership: devices_init()/devices_reload() allocate; devices_free()
 * releases everything, rt.fa, rt.mac and rt.confirmed included (safe on a zeroed or
 * freed struct). struct lb_device pointers, the devices' strings, their
 * prof and otaa pointers (profiles and root keys are the table's) and
 * their rt.mac and rt.fa (a kept device's are copied into the fresh
 * table's slabs) are valid only until the next devices_reload() or
 * devices_free().
 */
#ifndef LB_DEVICES_H
#define LB_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "events/devinfo.h"
#include "tables/fairaccess.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/lwkeycache.h"
#include "mac/macstate.h"
#include "tables/devprofile.h"
#include "tables/fcntdown.h"
#include "tables/slab.h"
#include "tables/strpool.h"

/* Fields are ordered by alignment (pointers and 64-bit values, then 32-,
 * then 8-bit ones) so the struct has no holes: one is held per configured
 * device (README "Memory and start-up"). */
struct lb_device {
	/* Strings are the table's (interned in d->strings, tables/strpool.h):
	 * read-only, valid as long as the device. */
	const char *name;
	struct lb_devprofile *prof;      /* application, applicationId, codec, fair
					  * access, DevStatusReq period: shared by the
					  * devices that have the same (tables/devprofile.h,
					  * in d->profiles) */
	struct lb_tag *tags;             /* n_tags entries (owned), NULL if none; their
					  * strings interned like the others */
	const struct lb_otaa_root *otaa; /* OTAA: JoinEUI and AppKey (in d->roots);
					  * NULL for ABP */
	uint64_t dev_eui;
	int64_t last_seen_ms;            /* devices_set_seen(); 0 = never */

	/* Downlink and join state, owned by the daemon (bridge, otaa, txsched);
	 * kept as a whole across a reload when the device's identity is
	 * unchanged. */
	struct lb_device_rt {
		struct fcntdown fcnt_down; /* NFCntDown and its reservation */
		int64_t mac_dc_retry_ms;     /* Unix ms: a frame of the network's MAC
					      * requests alone, refused by the duty
					      * cycle, is not tried before (txsched.c) */
		struct fa_packed *fa;        /* fair-access ledgers, packed (fairaccess.h),
					      * the table's (d->fa_slabs: devices_fa_resize,
					      * devices_fa_drop): taken by daemon/budget.c
					      * at the first uplink or downlink counted or
					      * from a stored ledger that is not idle; NULL
					      * is the empty device */
		struct fa_status fa_published; /* last retained state/airtime */
		int64_t fa_published_ms;     /* when fa_published was (monotonic ms) */
		struct macstate *mac;        /* network MAC requests (daemon/netmac.h), the
					      * table's (d->macs: devices_mac_new,
					      * devices_mac_drop): taken by netmac at the
					      * device's first uplink or downlink or from a
					      * stored row; NULL: nothing known */
		struct lb_confirmed *confirmed; /* the confirmed downlink awaiting the
					      * device's ACK, owned; NULL = none
					      * (devices_set_confirmed) */
		uint32_t joined_at;          /* Unix s (32 bits, as the MAC state's
					      * times: to 2106), 0 = ABP or never;
					      * a join before 1970 is 1
					      * (macstate_joined_s) */
		uint32_t rx2_freq;           /* Hz, 0 = not set (ABP: configuration) */
		uint32_t join_nonce;         /* last JoinNonce issued */
		uint16_t dev_nonce;          /* last DevNonce accepted */
		int8_t last_dr;              /* data rate of the last uplink, -1 unknown */
		uint8_t rx1_dr_offset : 4;   /* RX1DROffset: 0..7 */
		uint8_t rx_delay_s : 4;      /* RX1 delay; 0 = 1 s (RXTimingSetup: 0..15) */
		uint8_t retx_acks : 4;       /* ACKs sent again for the last FCnt's
					      * retransmissions (txsched.h) */
		uint8_t mac_hold_logged : 1; /* a frame of the network's MAC requests
					      * alone, refused for airtime held
					      * awaiting TX_ACKs, was logged: not
					      * again until one is sent or backs off
					      * (txsched.c mac_backoff) */
		uint8_t rx2_dr;              /* OTAA: RX2 as the join-accept set it */
		bool ack_due;                /* a confirmed uplink awaits our ACK */
		bool has_join_nonce;
		bool has_dev_nonce;
		bool fa_has_published;
		bool fa_unread;              /* a stored ledger may exist, not read yet
					      * (budget_defer_restore) */
		bool mac_unread;             /* the same for the MAC state (netmac.h) */
	} rt;

	uint32_t dev_addr;
	uint32_t key_hint;               /* internal: its slot in the key cache */
	uint32_t last_fcnt_up;           /* uplink session: last accepted 32-bit FCntUp */
	uint32_t addr_next;              /* internal: next device with the same DevAddr */

	uint8_t nwk_s_key[LW_KEY_LEN];   /* raw session keys (has_session); prepared */
	uint8_t app_s_key[LW_KEY_LEN];   /* ones from devices_keys() */
	uint8_t activation;              /* enum lb_activation */
	uint8_t dev_class;               /* enum lb_class: A, or C (classc.h) */
	uint8_t lorawan_version : 4;     /* minor of 1.0.x: 0..4 (join rules, LinkADRReq 0xF) */
	uint8_t regional_parameters : 4; /* enum region_rp (lorawan/region.h): its RX1 DR
					  * and downlink size limits */
	uint8_t n_tags;                  /* <= CONFIG_MAX_TAGS */
	bool has_session;                /* ABP: dev_addr and keys valid */
	bool adr;                        /* network-side ADR when the device asks (devices[].adr) */
	bool has_last_fcnt;              /* last_fcnt_up is valid */
	bool state_kept;                 /* devices_reload(): carried over from the old table */
};

/* A confirmed downlink sent and awaiting the device's ACK (TS001-1.0.4
 * §4.3.1.2): its queue item id and the NFCntDown it went with. One
 * allocation, only while one awaits. */
struct lb_confirmed {
	uint32_t fcnt;
	char id[];
};

/* An OTAA device's root keys, copied for the join handler (raw; no
 * contexts prepared). ABP devices have none: they are held apart so those
 * cost nothing. */
struct lb_otaa_root {
	uint64_t join_eui;
	uint8_t app_key[LW_KEY_LEN];
};

/* Packed ledgers are allocated fa_packed_alloc_size(len) bytes: 8, 24, 40,
 * .. (16 apart). Those up to DEVICES_FA_SLAB_MAX (118 bytes packed) lie in
 * one slab per size, without malloc's header (a device heard once: 24
 * bytes, was a 32-byte chunk); longer ones are malloc'd. */
#define DEVICES_FA_SLAB_MAX 120
#define DEVICES_FA_CLASSES ((DEVICES_FA_SLAB_MAX - 8) / 16 + 1)

struct devices {
	struct lb_device *dev;
	size_t n;
	struct lb_otaa_root *roots;      /* the OTAA devices' root keys, one array */
	size_t n_roots;
	uint32_t *eui_slots;             /* open addressing, linear probing */
	uint32_t *addr_slots;            /* head of each DevAddr's candidate chain */
	size_t mask;                     /* slots - 1 (a power of two >= 2n) */
	struct lwkeycache keys;          /* prepared session keys of recent devices */
	struct strpool strings;          /* the devices' strings, each stored once */
	struct devprofiles profiles;     /* the devices' profiles, each stored once */
	bool app_ids_done;               /* devices_app_ids() has run */
	struct slab macs;                /* the devices' MAC states (rt.mac), side by side;
					  * devices_reload() copies the kept ones into the
					  * fresh table's and frees these whole */
	struct slab fa_slabs[DEVICES_FA_CLASSES]; /* the packed ledgers (rt.fa) of each
					  * allocation size up to DEVICES_FA_SLAB_MAX; the
					  * same */
};

/* dev's MAC state (rt.mac), a zeroed one from d->macs if it had none;
 * NULL when out of memory. */
struct macstate *devices_mac_new(struct devices *d, struct lb_device *dev);
/* Give dev's MAC state back to d->macs; rt.mac becomes NULL. */
void devices_mac_drop(struct devices *d, struct lb_device *dev);

/* dev's packed ledgers (rt.fa) made len bytes long: the same allocation if
 * its size class holds len, else a new one (from d's slabs) with the old
 * one's first bytes (up to len; the rest zero) and the old one given back.
 * rt.fa->len is len from then on, as the size class follows it: nothing
 * else may write rt.fa->len (the allocation is given back to the slab
 * its len names; a mismatch aborts under ASan). NULL when out of memory
 * (rt.fa unchanged). The caller then writes the bytes. */
struct fa_packed *devices_fa_resize(struct devices *d, struct lb_device *dev, size_t len);
/* Give dev's packed ledgers back; rt.fa becomes NULL. */
void devices_fa_drop(struct devices *d, struct lb_device *dev);

/* Devices whose session keys stay prepared (the key cache's slots): a site
 * of up to this many active devices never re-keys (a re-key is about 4,100
 * instructions an uplink, README "What an uplink costs"), for 1.55 KB of
 * OpenSSL contexts a slot in use (1.6 MB for all 1,024; up to 2.2 KB and
 * 2.3 MB once MAC commands in FPort 0 payloads made the NwkSKeys' ECB
 * contexts too, lorawan/lwkeycache.h), which a quiet bridge gives back
 * (devices_release_keys). The slot array itself is about 100 bytes a slot,
 * touched only as slots fill. */
#define DEVICES_KEY_CACHE 1024

/* Outcome of devices_verify_uplink(). */
struct lb_uplink_match {
	struct lb_device *dev;           /* set for LB_OK, LB_ERR_DUPLICATE, LB_ERR_REPLAY */
	uint32_t fcnt;                   /* the 32-bit counter the MIC verified with */
	size_t n_candidates;             /* devices with the frame's DevAddr */
	bool fcnt_reset;                 /* REPLAY only: verified with the plain 16-bit value */
};

/* The default applicationId (UUIDv5 of the application's name,
 * events/devinfo.h) of every device that has none configured, computed once,
 * when the first event needs one, not at the build: it is a SHA-1, and
 * OpenSSL's first digest loads its default provider (1.3 MiB of libcrypto
 * pages an idle bridge does not need, README "Memory and start-up").
 * It is computed per profile (tables/devprofile.h); profiles of one
 * application in a row share one computation; the ids are interned like the
 * other strings. LB_OK (also when already done), or
 * LB_ERR_CRYPTO / LB_ERR_NOMEM (the devices not reached keep NULL; the
 * next call tries again). */
int devices_app_ids(struct devices *d);

/* Build the registry from n configured devices (conf may be NULL if n is
 * 0). Errors: LB_ERR_CONFIG (two devices with the same DevEUI),
 * LB_ERR_NOMEM. On error *d is zeroed. */
int devices_init(struct devices *d, const struct lb_device_conf *conf, size_t n);
void devices_free(struct devices *d);

/* A quiet bridge: free the key cache's prepared keys (lwkeycache_release);
 * the next devices_keys() of each device prepares them again. Results are
 * unchanged. Returns the number of key pairs freed. */
size_t devices_release_keys(struct devices *d);

/*
 * SIGHUP: rebuild from a new configuration. A device whose DevEUI,
 * activation, DevAddr and both session keys (OTAA: JoinEUI and AppKey)
 * are unchanged keeps its
 * session state and frame counter (a configured fcnt_up may still raise the
 * next accepted counter, never lower it); any other device starts fresh
 * from its configuration. On error the old registry stays intact.
 */
int devices_reload(struct devices *d, const struct lb_device_conf *conf, size_t n);

size_t devices_count(const struct devices *d);
struct lb_device *devices_find_eui(struct devices *d, uint64_t dev_eui);

/* Store up to max devices with this DevAddr in out; returns how many were
 * stored. */
size_t devices_find_addr(struct devices *d, uint32_t dev_addr, struct lb_device **out, size_t max);

/* The device configured for ABP with this DevAddr and these keys (served
 * or dropped: devices_drop_session()), NULL if none. The configuration
 * allows one at most (the same dev_addr and nwk_s_key twice is refused). */
struct lb_device *devices_find_abp(struct devices *d, uint32_t dev_addr,
				   const uint8_t nwk_s_key[LW_KEY_LEN],
				   const uint8_t app_s_key[LW_KEY_LEN]);

/*
 * Identify and check a parsed data uplink (lorawan_parse, MType 2 or 4):
 *   LB_OK             out->dev, out->fcnt: the MIC verifies with a counter
 *                     above the last accepted one (or the session is fresh);
 *   LB_ERR_NOT_FOUND  no device with that DevAddr;
 *   LB_ERR_MIC        no candidate's MIC verifies (out->n_candidates);
 *   LB_ERR_DUPLICATE  the MIC verifies with the last accepted counter: a
 *                     retransmission (NbTrans repeat), out->dev set;
 *   LB_ERR_REPLAY     the MIC verifies only with a counter below the last
 *                     accepted one, out->dev / out->fcnt set. Tried: the
 *                     value in the current 65536-block, (last & 0xffff0000)
 *                     | f16, or the block before if that is above last; and
 *                     the plain 16-bit value as a 32-bit counter. out->
 *                     fcnt_reset is true when the plain value verified: the
 *                     device restarted counting from 0 (an ABP device that
 *                     does not persist FCntUp). While the last counter is
 *                     below 65536 a replayed old frame looks the same.
 *   LB_ERR_INVAL      not a data uplink; LB_ERR_CRYPTO from lwcrypto.
 * A session at FCnt 0xFFFFFFFF cannot advance (the 32-bit counter would
 * wrap): such frames verify as DUPLICATE or REPLAY or not at all.
 */
int devices_verify_uplink(struct devices *d, const struct lw_frame *f, struct lb_uplink_match *out);

/* Commit an uplink verified LB_OK: last_fcnt_up = fcnt. A counter not
 * above the last accepted one is ignored. */
void devices_accept_uplink(struct lb_device *dev, uint32_t fcnt);

/*
 * Give dev a (new) session: an OTAA join, or a session restored from the
 * durable store. The raw keys are copied (prepared on demand by
 * devices_keys()), the DevAddr index is rebuilt (joins are rare:
 * O(devices)), the uplink counter restarts unless has_last is set. Returns
 * LB_OK (LB_ERR_INVAL for NULL arguments).
 */
int devices_set_session(struct devices *d, struct lb_device *dev, uint32_t dev_addr,
			const uint8_t nwk_s_key[LW_KEY_LEN], const uint8_t app_s_key[LW_KEY_LEN],
			bool has_last, uint32_t last_fcnt_up);

/* dev is not served any more: no session (devices_keys() says
 * LB_ERR_STATE), no uplink verifies for it (it stays in the DevAddr
 * index: O(1)). For an ABP device whose stored
 * counters could not be read (daemon/session.h): a reload takes it in
 * afresh (devices_reload() does not keep a device without its session). */
void devices_drop_session(struct devices *d, struct lb_device *dev);

/* Record when the device was last heard (any clock the caller chooses). */
void devices_set_seen(struct lb_device *dev, int64_t now_ms);

/* A confirmed downlink (queue item id, sent with NFCntDown fcnt) now awaits
 * the device's ACK: rt.confirmed holds a copy of the id and fcnt (one
 * allocation, replacing any before). Errors: LB_ERR_INVAL (NULL),
 * LB_ERR_NOMEM (nothing changed then). */
int devices_set_confirmed(struct lb_device *dev, const char *id, uint32_t fcnt);
/* No confirmed downlink awaits an ACK any more (rt.confirmed is freed). */
void devices_clear_confirmed(struct lb_device *dev);

/* The device's session keys, prepared (from the key cache, re-keying the
 * least recently used slot when they are not there). *out is valid until
 * the next devices_keys(), devices_verify_uplink(), devices_decrypt(),
 * devices_release_keys() or devices_free() on d: use it at once.
 * Errors: LB_ERR_STATE (no session keys), LB_ERR_CRYPTO. */
int devices_keys(struct devices *d, struct lb_device *dev, struct lw_keys **out);

/* Decrypt the FRMPayload of f (f->u.data.frm_len bytes into out; nothing
 * when there is no payload) with the FCnt it verified with: NwkSKey for
 * FPort 0, AppSKey otherwise (TS001-1.0.4 §4.3.3). Errors: LB_ERR_STATE (no session
 * keys), LB_ERR_CRYPTO. */
int devices_decrypt(struct devices *d, struct lb_device *dev, const struct lw_frame *f,
		    uint32_t fcnt, uint8_t *out);

#endif
