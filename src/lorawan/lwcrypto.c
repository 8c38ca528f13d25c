/* SPDX-License-Identifier: MIT */
/*
 * lwcrypto.c - LoRaWAN 1.0.x cryptography on OpenSSL 3 libcrypto.
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4.4 (MIC),
 * §4.3.3 (FRMPayload), §6.2.5/§6.2.6 (join MICs, join-accept, session keys).
 *
 * A key carries up to three OpenSSL contexts, each made at its first use
 * (lwcrypto_key_init() only copies the raw key), so a key never asked for
 * one costs nothing: a session's frames use the CMAC of its NwkSKey and the
 * ECB of its AppSKey (1.0.x MICs use NwkSKey alone), two contexts a device
 * instead of four (with OpenSSL 3.0, about 0.65 KB of heap an ECB context
 * and 0.9 KB a CMAC one):
 *   - an AES-128-ECB encrypt context (padding off), fed whole blocks with
 *     EVP_EncryptUpdate() and never re-initialised: ECB keeps no state
 *     between calls once padding is off and input is block aligned;
 *   - an EVP_MAC "CMAC" context keyed with AES-128-CBC; each use starts with
 *     EVP_MAC_init(ctx, NULL, 0, NULL), which in OpenSSL 3 resets the chaining
 *     state but keeps the expanded key and subkeys (measured faster than
 *     EVP_MAC_CTX_dup() of a keyed template, and it allocates nothing);
 *   - an AES-128-ECB decrypt context: only the network side of a
 *     join-accept needs it (TS001-1.0.4 §6.2.6).
 * A re-key (lwcrypto_key_rekey) only notes the new raw key: each context
 * made takes it at its first use after that, so a pair re-keyed by the key
 * cache pays for two OpenSSL re-initialisations instead of four; each
 * costs thousands of instructions, most of them
 * provider parameter look-ups (key and IV length) inside
 * EVP_CipherInit_ex() and CMAC_Init() that no public call avoids.
 */
#include "lorawan/lwcrypto.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/lb_err.h"

/*
 * B0 (TS001-1.0.4 §4.4) and Ai (§4.3.3) share one layout; only byte 0 and
 * byte 15 differ.
 *
 *   0      1..4         5     6..9          10..13        14     15
 * +------+------------+-----+-------------+-------------+------+---------+
 * | tag  | 00 00 00 00| Dir | DevAddr LE  | FCnt32 LE   | 0x00 | len / i |
 * +------+------------+-----+-------------+-------------+------+---------+
 *   tag = 0x49 for B0 (byte 15 = len(msg)), 0x01 for Ai (byte 15 = i, from 1)
 */
#define OFF_BLK_TAG 0
#define OFF_BLK_DIR 5
#define OFF_BLK_DEVADDR 6
#define OFF_BLK_FCNT 10
#define OFF_BLK_LAST 15
#define BLK_TAG_B0 0x49
#define BLK_TAG_AI 0x01

/* Ai blocks encrypted per EVP call; the counter byte allows 255 blocks. */
#define CRYPT_CHUNK_BLOCKS 16
#define CRYPT_MAX_BLOCKS 255

/*
 * Session-key derivation block (TS001-1.0.4 §6.2.6), on-air (LE) byte order:
 *
 *   0      1..3        4..6      7..8        9..15
 * +------+-----------+---------+-----------+-----------+
 * | 0x01 | AppNonce  | NetID   | DevNonce  | 7 x 0x00  |   -> NwkSKey
 * | 0x02 |           |         |           |           |   -> AppSKey
 * +------+-----------+---------+-----------+-----------+
 */
#define OFF_SKEY_TAG 0
#define OFF_SKEY_APPNONCE 1
#define OFF_SKEY_NETID 4
#define OFF_SKEY_DEVNONCE 7
#define SKEY_TAG_NWK 0x01
#define SKEY_TAG_APP 0x02

#define LEN_CMAC 16
#define LEN_MIC 4
#define LEN_JA_SHORT 16   /* join-accept after MHDR without CFList */
#define LEN_JA_LONG 32    /* with CFList */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void fill_block(uint8_t blk[LW_BLOCK_LEN], uint8_t tag, int dir,
		       uint32_t dev_addr, uint32_t fcnt, uint8_t last)
{
	memset(blk, 0, LW_BLOCK_LEN);
	blk[OFF_BLK_TAG] = tag;
	blk[OFF_BLK_DIR] = dir ? 1 : 0;
	put_le32(blk + OFF_BLK_DEVADDR, dev_addr);
	put_le32(blk + OFF_BLK_FCNT, fcnt);
	blk[OFF_BLK_LAST] = last;
}

static bool key_usable(const struct lw_key *k)
{
	return k && k->ready;
}

/* --- key state ---------------------------------------------------------- */

static EVP_CIPHER_CTX *ecb_new(const uint8_t raw[LW_KEY_LEN], bool encrypt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (!c)
		return NULL;
	if (EVP_CipherInit_ex(c, EVP_aes_128_ecb(), NULL, raw, NULL, encrypt ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

static EVP_MAC_CTX *cmac_new(const uint8_t raw[LW_KEY_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *c;
	OSSL_PARAM params[2];

	if (!mac)
		return NULL;
	c = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);  /* the context holds its own reference */
	if (!c)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
						     (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(c, raw, LW_KEY_LEN, params) != 1) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return c;
}

int lwcrypto_key_init(struct lw_key *k, const uint8_t raw[LW_KEY_LEN])
{
	if (!k || !raw)
		return LB_ERR_INVAL;
	lwcrypto_key_free(k);  /* re-keying a ready key must not leak */
	memcpy(k->raw, raw, LW_KEY_LEN);
	k->ready = true;  /* its contexts are made at their first use */
	return LB_OK;
}

int lwcrypto_key_rekey(struct lw_key *k, const uint8_t raw[LW_KEY_LEN])
{
	if (!k || !raw)
		return LB_ERR_INVAL;
	if (!key_usable(k))
		return lwcrypto_key_init(k, raw);
	memcpy(k->raw, raw, LW_KEY_LEN);
	EVP_CIPHER_CTX_free(k->ecb_dec);
	k->ecb_dec = NULL;
	/* The contexts made are keyed at their next use (ecb_keyed, cmac2);
	 * one not made yet is made with the new key. */
	k->ecb_stale = k->ecb != NULL;
	k->cmac_stale = k->cmac != NULL;
	return LB_OK;
}

void lwcrypto_key_free(struct lw_key *k)
{
	if (!k)
		return;
	EVP_CIPHER_CTX_free(k->ecb);
	EVP_CIPHER_CTX_free(k->ecb_dec);
	EVP_MAC_CTX_free(k->cmac);
	k->ecb = NULL;
	k->ecb_dec = NULL;
	k->cmac = NULL;
	k->ecb_stale = k->cmac_stale = false;
	k->ready = false;
	OPENSSL_cleanse(k->raw, sizeof(k->raw));
}

int lwcrypto_keys_init(struct lw_keys *ks, const uint8_t nwk[LW_KEY_LEN],
		       const uint8_t app[LW_KEY_LEN])
{
	int rc;

	if (!ks)
		return LB_ERR_INVAL;
	rc = lwcrypto_key_init(&ks->nwk_s_key, nwk);
	if (rc == LB_OK)
		rc = lwcrypto_key_init(&ks->app_s_key, app);
	if (rc != LB_OK)
		lwcrypto_keys_free(ks);
	return rc;
}

void lwcrypto_keys_free(struct lw_keys *ks)
{
	if (!ks)
		return;
	lwcrypto_key_free(&ks->nwk_s_key);
	lwcrypto_key_free(&ks->app_s_key);
}

/* --- primitives --------------------------------------------------------- */

/* AES-128-ECB over whole blocks with a prepared context. */
static int ecb_blocks(EVP_CIPHER_CTX *c, const uint8_t *in, size_t len, uint8_t *out)
{
	int outl = 0;

	if (len % LW_BLOCK_LEN != 0 || len > (size_t)INT_MAX)
		return LB_ERR_INVAL;
	if (EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1 || (size_t)outl != len)
		return LB_ERR_CRYPTO;
	return LB_OK;
}

/* AES-128-ECB encryption with the key's own context, made at the first
 * use (a failure is this call's, and the next call tries again), or given
 * the raw key first if it was re-keyed: a NULL cipher keeps the context's
 * algorithm and only sets the key. Padding stays off as ecb_new() set it
 * (and plays no part anyway: whole blocks, encrypt direction, no Final). */
static int ecb_keyed(struct lw_key *k, const uint8_t *in, size_t len, uint8_t *out)
{
	if (!k->ecb) {
		k->ecb = ecb_new(k->raw, true);
		if (!k->ecb)
			return LB_ERR_CRYPTO;
		k->ecb_stale = false;
	} else if (k->ecb_stale) {
		if (EVP_CipherInit_ex(k->ecb, NULL, NULL, k->raw, NULL, 1) != 1)
			return LB_ERR_CRYPTO;
		k->ecb_stale = false;
	}
	return ecb_blocks(k->ecb, in, len, out);
}

/* CMAC over up to two pieces (B0 and msg), truncated to the 4-byte MIC.
 * The context is made keyed at the first use (as ecb_keyed); EVP_MAC_init
 * with the key (after a re-key) computes the subkeys and leaves the
 * context ready for data, as the reset without one does. */
static int cmac2(struct lw_key *k, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen, uint8_t mic[LEN_MIC])
{
	uint8_t full[LEN_CMAC];
	size_t outl = 0;

	if (!k->cmac) {
		k->cmac = cmac_new(k->raw);
		if (!k->cmac)
			return LB_ERR_CRYPTO;
		k->cmac_stale = false;
	} else if (k->cmac_stale) {
		if (EVP_MAC_init(k->cmac, k->raw, LW_KEY_LEN, NULL) != 1)
			return LB_ERR_CRYPTO;
		k->cmac_stale = false;
	} else if (EVP_MAC_init(k->cmac, NULL, 0, NULL) != 1) {
		return LB_ERR_CRYPTO;
	}
	if (alen && EVP_MAC_update(k->cmac, a, alen) != 1)
		return LB_ERR_CRYPTO;
	if (blen && EVP_MAC_update(k->cmac, b, blen) != 1)
		return LB_ERR_CRYPTO;
	if (EVP_MAC_final(k->cmac, full, &outl, sizeof(full)) != 1 || outl != LEN_CMAC)
		return LB_ERR_CRYPTO;
	memcpy(mic, full, LEN_MIC);
	return LB_OK;
}

int lwcrypto_cmac4(struct lw_key *k, const uint8_t *data, size_t len, uint8_t mic[4])
{
	if (!key_usable(k) || !mic || (!data && len))
		return LB_ERR_INVAL;
	return cmac2(k, data, len, NULL, 0, mic);
}

/* --- data frames (TS001-1.0.4 §4.3.3, §4.4) ------------------------------ */

int lwcrypto_data_mic(struct lw_key *nwk_s_key, int dir, uint32_t dev_addr, uint32_t fcnt,
		      const uint8_t *msg, size_t msg_len, uint8_t mic[4])
{
	uint8_t b0[LW_BLOCK_LEN];

	if (!key_usable(nwk_s_key) || !mic || (!msg && msg_len))
		return LB_ERR_INVAL;
	/* B0 carries len(msg) in one byte; a PHYPayload is at most 255 bytes. */
	if (msg_len > UINT8_MAX)
		return LB_ERR_TOO_LARGE;
	fill_block(b0, BLK_TAG_B0, dir, dev_addr, fcnt, (uint8_t)msg_len);
	return cmac2(nwk_s_key, b0, sizeof(b0), msg, msg_len, mic);
}

/* XOR one chunk of at most CRYPT_CHUNK_BLOCKS blocks, counters from first_i. */
static int crypt_chunk(struct lw_key *k, int dir, uint32_t dev_addr, uint32_t fcnt,
		       unsigned first_i, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t s[CRYPT_CHUNK_BLOCKS * LW_BLOCK_LEN];
	size_t nblk = (len + LW_BLOCK_LEN - 1) / LW_BLOCK_LEN;
	size_t j;
	int rc;

	for (j = 0; j < nblk; j++)
		fill_block(s + j * LW_BLOCK_LEN, BLK_TAG_AI, dir, dev_addr, fcnt,
			   (uint8_t)(first_i + j));
	rc = ecb_keyed(k, s, nblk * LW_BLOCK_LEN, s);
	if (rc != LB_OK)
		return rc;
	for (j = 0; j < len; j++)
		out[j] = in[j] ^ s[j];
	return LB_OK;
}

int lwcrypto_payload_crypt(struct lw_key *k, int dir, uint32_t dev_addr, uint32_t fcnt,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	const size_t chunk = (size_t)CRYPT_CHUNK_BLOCKS * LW_BLOCK_LEN;
	unsigned i = 1;  /* TS001-1.0.4 §4.3.3: the block counter starts at 1 */
	size_t done = 0;

	if (!key_usable(k) || ((!in || !out) && len))
		return LB_ERR_INVAL;
	if (len > (size_t)CRYPT_MAX_BLOCKS * LW_BLOCK_LEN)
		return LB_ERR_TOO_LARGE;
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;
		int rc = crypt_chunk(k, dir, dev_addr, fcnt, i, in + done, n, out + done);

		if (rc != LB_OK)
			return rc;
		done += n;
		i += CRYPT_CHUNK_BLOCKS;
	}
	return LB_OK;
}

/* --- join procedure (TS001-1.0.4 §6.2.5, §6.2.6) ------------------------- */

int lwcrypto_join_mic(struct lw_key *app_key, const uint8_t *msg, size_t len, uint8_t mic[4])
{
	return lwcrypto_cmac4(app_key, msg, len, mic);
}

static bool ja_len_ok(size_t len)
{
	return len == LEN_JA_SHORT || len == LEN_JA_LONG;
}

int lwcrypto_join_accept_encrypt(struct lw_key *app_key, const uint8_t *in, size_t len,
				 uint8_t *out)
{
	if (!key_usable(app_key) || !in || !out || !ja_len_ok(len))
		return LB_ERR_INVAL;
	/* TS001-1.0.4 §6.2.6: the network side "encrypts" with the AES decrypt direction. */
	if (!app_key->ecb_dec) {
		app_key->ecb_dec = ecb_new(app_key->raw, false);
		if (!app_key->ecb_dec)
			return LB_ERR_CRYPTO;
	}
	return ecb_blocks(app_key->ecb_dec, in, len, out);
}

int lwcrypto_join_accept_decrypt(struct lw_key *app_key, const uint8_t *in, size_t len,
				 uint8_t *out)
{
	if (!key_usable(app_key) || !in || !out || !ja_len_ok(len))
		return LB_ERR_INVAL;
	return ecb_keyed(app_key, in, len, out);
}

int lwcrypto_derive_session_keys(struct lw_key *app_key, uint32_t app_nonce, uint32_t net_id,
				 uint16_t dev_nonce, uint8_t nwk_s_key[LW_KEY_LEN],
				 uint8_t app_s_key[LW_KEY_LEN])
{
	uint8_t blk[2 * LW_BLOCK_LEN];
	uint8_t out[2 * LW_BLOCK_LEN];
	int rc;

	if (!key_usable(app_key) || !nwk_s_key || !app_s_key)
		return LB_ERR_INVAL;
	if (app_nonce > 0xFFFFFF || net_id > 0xFFFFFF)
		return LB_ERR_RANGE;
	memset(blk, 0, sizeof(blk));
	put_le24(blk + OFF_SKEY_APPNONCE, app_nonce);
	put_le24(blk + OFF_SKEY_NETID, net_id);
	put_le16(blk + OFF_SKEY_DEVNONCE, dev_nonce);
	memcpy(blk + LW_BLOCK_LEN, blk, LW_BLOCK_LEN);
	blk[OFF_SKEY_TAG] = SKEY_TAG_NWK;
	blk[LW_BLOCK_LEN + OFF_SKEY_TAG] = SKEY_TAG_APP;
	rc = ecb_keyed(app_key, blk, sizeof(blk), out);
	if (rc == LB_OK) {
		memcpy(nwk_s_key, out, LW_KEY_LEN);
		memcpy(app_s_key, out + LW_BLOCK_LEN, LW_KEY_LEN);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

/* Domain separation: the digest of these bytes is used for nothing else. */
static const char ABP_SESSION_LABEL[] = "lorabridge ABP session v1";

int lwcrypto_abp_session_id(uint32_t dev_addr, const uint8_t nwk_s_key[LW_KEY_LEN],
			    const uint8_t app_s_key[LW_KEY_LEN], uint8_t id[LW_SESSION_ID_LEN])
{
	uint8_t addr[4];
	unsigned int len = 0;
	int ok;

	if (!nwk_s_key || !app_s_key || !id)
		return LB_ERR_INVAL;
	put_le32(addr, dev_addr);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, ABP_SESSION_LABEL, sizeof(ABP_SESSION_LABEL)) == 1 &&
	     EVP_DigestUpdate(md, addr, sizeof(addr)) == 1 &&
	     EVP_DigestUpdate(md, nwk_s_key, LW_KEY_LEN) == 1 &&
	     EVP_DigestUpdate(md, app_s_key, LW_KEY_LEN) == 1 &&
	     EVP_DigestFinal_ex(md, id, &len) == 1 && len == LW_SESSION_ID_LEN;
	EVP_MD_CTX_free(md);
	return ok ? LB_OK : LB_ERR_CRYPTO;
}

bool lwcrypto_mic_equal(const uint8_t a[4], const uint8_t b[4])
{
	return CRYPTO_memcmp(a, b, LEN_MIC) == 0;
}
