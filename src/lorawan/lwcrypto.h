/* SPDX-License-Identifier: MIT */
/*
 * lwcrypto.h - LoRaWAN 1.0.x cryptography on OpenSSL libcrypto (pure).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4.3.3, §4.4,
 * §6.2.5, §6.2.6.
 * Never hand-written crypto: AES-128 comes from EVP_aes_128_ecb(), CMAC from
 * EVP_MAC "CMAC". A key's OpenSSL contexts are made at their first use and
 * reused for every frame after, so the hot path allocates only at a key's
 * first frame and costs well under a microsecond per frame; a context a
 * key is never used for (the AppSKey's CMAC, the NwkSKey's ECB while no
 * MAC commands travel in FRMPayload) is never made.
 *
 * Ownership: struct lw_key is embedded by the caller (device table); the
 * OpenSSL contexts inside it are allocated at their first use (an OpenSSL
 * failure then is that call's LB_ERR_CRYPTO, and the next call tries
 * again) and lwcrypto_key_free() releases them (safe on a zeroed or freed
 * key) and wipes the raw key. lwcrypto_key_init() needs a zeroed, freed or ready key
 * (never uninitialised memory); on a ready key it re-keys without leaking.
 * Functions taking a key return LB_ERR_INVAL if it is not ready.
 *
 * A struct lw_key is not thread-safe (its contexts carry per-call state);
 * lorabridge uses it from the one loop thread only.
 */
#ifndef LB_LWCRYPTO_H
#define LB_LWCRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_KEY_LEN 16
#define LW_BLOCK_LEN 16

struct evp_cipher_ctx_st;
struct evp_mac_ctx_st;

/* One AES-128 key with its ECB-encrypt and CMAC contexts (NULL until
 * first used). */
struct lw_key {
	uint8_t raw[LW_KEY_LEN];
	struct evp_cipher_ctx_st *ecb;   /* AES-128-ECB, encrypt direction, lazily NULL */
	struct evp_cipher_ctx_st *ecb_dec;  /* AES-128-ECB, decrypt (join-accept), lazily NULL */
	struct evp_mac_ctx_st *cmac;     /* CMAC keyed with raw, reset per use, lazily NULL */
	bool ecb_stale, cmac_stale;      /* re-keyed: the context takes raw at its next use */
	bool ready;
};

/* A 1.0.x session: NwkSKey (MIC, FPort 0) and AppSKey (FPort > 0). */
struct lw_keys {
	struct lw_key nwk_s_key;
	struct lw_key app_s_key;
};

/* Take raw as the key (no OpenSSL call: contexts come at first use).
 * Errors: LB_ERR_INVAL. */
int lwcrypto_key_init(struct lw_key *k, const uint8_t raw[LW_KEY_LEN]);
/* Give a key new raw bytes. A ready key keeps the contexts it made; each
 * is re-keyed at its first use after this (key schedule or CMAC subkeys
 * computed then, no allocation; a context not made yet is allocated then),
 * so a context a key never uses costs nothing, and an OpenSSL failure then
 * is that call's LB_ERR_CRYPTO. The
 * decrypt context is dropped. Any other key is initialised as by
 * lwcrypto_key_init(). Errors: LB_ERR_INVAL. */
int lwcrypto_key_rekey(struct lw_key *k, const uint8_t raw[LW_KEY_LEN]);
void lwcrypto_key_free(struct lw_key *k);
int lwcrypto_keys_init(struct lw_keys *ks, const uint8_t nwk[LW_KEY_LEN],
		       const uint8_t app[LW_KEY_LEN]);
void lwcrypto_keys_free(struct lw_keys *ks);

/* AES-128-CMAC(key, data) truncated to 4 bytes (the B0 block of
 * TS001-1.0.4 §4.4 is the caller's job
 * here; see lwcrypto_data_mic). */
int lwcrypto_cmac4(struct lw_key *k, const uint8_t *data, size_t len, uint8_t mic[4]);

/* Data-frame MIC: CMAC(NwkSKey, B0 | msg)[0..3], TS001-1.0.4 §4.4. dir is LW_DIR_UP (0)
 * or LW_DIR_DOWN (1); msg_len <= 255 (LB_ERR_TOO_LARGE beyond). */
int lwcrypto_data_mic(struct lw_key *nwk_s_key, int dir, uint32_t dev_addr, uint32_t fcnt,
		      const uint8_t *msg, size_t msg_len, uint8_t mic[4]);

/* FRMPayload en/decryption (the same operation), TS001-1.0.4 §4.3.3. in and out may alias
 * (exactly, or not at all). len <= 255 * 16 (LB_ERR_TOO_LARGE beyond). */
int lwcrypto_payload_crypt(struct lw_key *k, int dir, uint32_t dev_addr, uint32_t fcnt,
			   const uint8_t *in, size_t len, uint8_t *out);

/* Join-request / join-accept MIC with AppKey over msg (TS001-1.0.4 §6.2.5,
 * §6.2.6). */
int lwcrypto_join_mic(struct lw_key *app_key, const uint8_t *msg, size_t len, uint8_t mic[4]);

/* Join-accept encryption (network side: AES-ECB *decrypt*) and decryption
 * (device side: AES-ECB encrypt) of the 16 or 32 bytes after MHDR (TS001-1.0.4 §6.2.6);
 * any other len is LB_ERR_INVAL. in and out may alias. */
int lwcrypto_join_accept_encrypt(struct lw_key *app_key, const uint8_t *in, size_t len, uint8_t *out);
int lwcrypto_join_accept_decrypt(struct lw_key *app_key, const uint8_t *in, size_t len, uint8_t *out);

/* Session keys, TS001-1.0.4 §6.2.6: AppNonce/JoinNonce, NetID as 24-bit values, DevNonce.
 * LB_ERR_RANGE if app_nonce or net_id does not fit in 24 bits. */
int lwcrypto_derive_session_keys(struct lw_key *app_key, uint32_t app_nonce, uint32_t net_id,
				 uint16_t dev_nonce, uint8_t nwk_s_key[LW_KEY_LEN],
				 uint8_t app_s_key[LW_KEY_LEN]);

/* The identity of an ABP session (DevAddr, NwkSKey, AppSKey), for
 * remembering its frame counters without keeping its keys
 * (daemon/session.h): SHA-256 (EVP) of the label "lorabridge ABP session
 * v1" with its NUL, DevAddr as on the air (4 bytes little-endian,
 * TS001-1.0.4 §4.3.1), NwkSKey, AppSKey. Errors: LB_ERR_INVAL (NULL),
 * LB_ERR_CRYPTO. */
#define LW_SESSION_ID_LEN 32
int lwcrypto_abp_session_id(uint32_t dev_addr, const uint8_t nwk_s_key[LW_KEY_LEN],
			    const uint8_t app_s_key[LW_KEY_LEN], uint8_t id[LW_SESSION_ID_LEN]);

/* Constant-time 4-byte MIC comparison. */
bool lwcrypto_mic_equal(const uint8_t a[4], const uint8_t b[4]);

#endif
