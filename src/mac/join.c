/* SPDX-License-Identifier: MIT */
/*
 * join.c - LoRaWAN 1.0.x OTAA, pure part: NetID/DevAddr, DevNonce rule,
 * join-request/join-accept codecs and the network side of a join.
 * See join.h; spec sections are those of the LoRaWAN L2 1.0.4 specification
 * (TS001-1.0.4).
 */
#include "mac/join.h"

#include <string.h>

#include "base/lb_err.h"
#include "lorawan/region.h"

/*
 * Join-request (TS001-1.0.4 §6.2.5), 23 bytes, clear:
 *
 *   0      1..8          9..16        17..18        19..22
 * +------+-------------+------------+-------------+-----+
 * | MHDR | JoinEUI LE  | DevEUI LE  | DevNonce LE | MIC |
 * +------+-------------+------------+-------------+-----+
 *
 * MIC = AES128-CMAC(AppKey, bytes 0..18)[0..3].
 */
#define MHDR_JOIN_REQUEST 0x00
#define OFF_JR_JOIN_EUI 1
#define OFF_JR_DEV_EUI 9
#define OFF_JR_DEV_NONCE 17
#define OFF_JR_MIC 19
#define LEN_JR_MSG OFF_JR_MIC

_Static_assert(JOIN_LEN_REQUEST == LW_LEN_JOIN_REQUEST, "join-request length");
_Static_assert(JOIN_LEN_CFLIST == REGION_CFLIST_LEN, "CFList length");

/*
 * Join-accept (TS001-1.0.4 §6.2.6), plaintext before encryption:
 *
 *   0      1..3        4..6     7..10       11          12        13..28     +4
 * +------+-----------+--------+-----------+-----------+---------+----------+-----+
 * | MHDR | JoinNonce | NetID  | DevAddr   | DLSettings| RxDelay | [CFList] | MIC |
 * |      | 24 LE     | 24 LE  | 32 LE     |           |         | 16       |     |
 * +------+-----------+--------+-----------+-----------+---------+----------+-----+
 *
 * DLSettings: bit 7 RFU (OptNeg in 1.1), bits 6..4 RX1DROffset, 3..0 RX2DR.
 * RxDelay: bits 3..0 Del, 7..4 RFU.
 * MIC = CMAC(AppKey, MHDR..CFList)[0..3]; then bytes 1..end (16 or 32) go
 * through AES128-ECB-Decrypt(AppKey) on the network side.
 */
#define MHDR_JOIN_ACCEPT 0x20
#define OFF_JA_JOIN_NONCE 1
#define OFF_JA_NET_ID 4
#define OFF_JA_DEV_ADDR 7
#define OFF_JA_DL_SETTINGS 11
#define OFF_JA_RX_DELAY 12
#define OFF_JA_CFLIST 13
#define OFF_JA_ENC 1          /* encryption starts after MHDR */
#define LEN_JA_FIXED 13       /* MHDR .. RxDelay */
#define DLS_RX1_OFFSET_SHIFT 4
#define DLS_RX1_OFFSET_MASK 0x07
#define DLS_RX2_DR_MASK 0x0F
#define RX_DELAY_MASK 0x0F

/*
 * NetID (TS002-1.1.0 §13): Type(3) | ID(21). DevAddr: type prefix of
 * type + 1 bits ('0', '10', ... '11111110') | NwkID | NwkAddr.
 */
#define NETID_BITS 24
#define NETID_TYPE_SHIFT 21
#define NETID_ID_MASK 0x1FFFFFu
#define NETID_TYPES 8
#define DEVADDR_BITS 32

/* NwkID width per NetID type; types 0..2 also have RFU bits above it. */
static const uint8_t nwk_id_bits_of_type[NETID_TYPES] = { 6, 6, 9, 11, 12, 13, 15, 17 };

/* --- little-endian helpers ---------------------------------------------- */

static void wr_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rd_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* --- NetID and DevAddr -------------------------------------------------- */

int join_netid_parse(uint32_t net_id, struct join_netid *out)
{
	uint8_t type, id_bits, tp_bits;
	uint32_t id;

	if (!out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (net_id >> NETID_BITS)
		return LB_ERR_RANGE;
	type = (uint8_t)(net_id >> NETID_TYPE_SHIFT);
	id = net_id & NETID_ID_MASK;
	id_bits = nwk_id_bits_of_type[type];
	/* Types 0..2 define only the low NwkID bits of the ID; the rest is RFU
	 * (zero). Like ChirpStack and TTN, mask them, but tell the caller. */
	out->rfu_set = type <= 2 && (id >> id_bits) != 0;
	tp_bits = (uint8_t)(type + 1);

	out->net_id = net_id;
	out->type = type;
	out->nwk_id = id & ((1u << id_bits) - 1);
	out->nwk_id_bits = id_bits;
	out->type_prefix_bits = tp_bits;
	out->prefix_bits = (uint8_t)(tp_bits + id_bits);
	out->nwk_addr_bits = (uint8_t)(DEVADDR_BITS - out->prefix_bits);
	out->max_nwk_addr = (1u << out->nwk_addr_bits) - 1;
	/* type prefix: `type` ones then a zero, left-aligned */
	out->prefix = (((1u << type) - 1) << 1) << (DEVADDR_BITS - tp_bits);
	out->prefix |= out->nwk_id << out->nwk_addr_bits;
	return LB_OK;
}

static bool netid_valid(const struct join_netid *nid)
{
	return nid && nid->prefix_bits >= 7 && nid->prefix_bits <= 25 &&
	       nid->nwk_addr_bits == DEVADDR_BITS - nid->prefix_bits;
}

int join_devaddr(const struct join_netid *nid, uint32_t nwk_addr, uint32_t *dev_addr)
{
	if (!netid_valid(nid) || !dev_addr)
		return LB_ERR_INVAL;
	if (nwk_addr > nid->max_nwk_addr)
		return LB_ERR_RANGE;
	*dev_addr = nid->prefix | nwk_addr;
	return LB_OK;
}

bool join_devaddr_in_netid(const struct join_netid *nid, uint32_t dev_addr)
{
	uint32_t mask;

	if (!netid_valid(nid))
		return false;
	mask = UINT32_MAX << nid->nwk_addr_bits;
	return (dev_addr & mask) == nid->prefix;
}

int join_devaddr_nwk_addr(const struct join_netid *nid, uint32_t dev_addr, uint32_t *nwk_addr)
{
	if (!netid_valid(nid) || !nwk_addr)
		return LB_ERR_INVAL;
	if (!join_devaddr_in_netid(nid, dev_addr))
		return LB_ERR_RANGE;
	*nwk_addr = dev_addr & nid->max_nwk_addr;
	return LB_OK;
}

/* --- version and DevNonce ----------------------------------------------- */

static const char *const version_names[] = {
	[JOIN_V1_0_0] = "1.0.0",
	[JOIN_V1_0_1] = "1.0.1",
	[JOIN_V1_0_2] = "1.0.2",
	[JOIN_V1_0_3] = "1.0.3",
	[JOIN_V1_0_4] = "1.0.4",
};

#define N_VERSIONS (sizeof(version_names) / sizeof(version_names[0]))

int join_version_parse(const char *s, enum join_version *out)
{
	if (!s || !out)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < N_VERSIONS; i++) {
		if (strcmp(s, version_names[i]) == 0) {
			*out = (enum join_version)i;
			return LB_OK;
		}
	}
	return LB_ERR_VERSION;
}

const char *join_version_name(enum join_version v)
{
	if ((unsigned)v >= N_VERSIONS)
		return "?";
	return version_names[v];
}

int join_check_dev_nonce(enum join_version v, uint16_t nonce, bool has_last, uint16_t last,
			 bool seen_before)
{
	if ((unsigned)v >= N_VERSIONS)
		return LB_ERR_INVAL;
	/* Every version: a DevNonce is never reused (LoRaWAN 1.0.3 §6.2.4,
	 * TS001-1.0.4 §6.2.5). */
	if (seen_before)
		return LB_ERR_REPLAY;
	/* TS001-1.0.4 §6.2.5: a counter; a join-request that does not increment it
	 * is ignored. */
	if (v == JOIN_V1_0_4 && has_last && nonce <= last)
		return LB_ERR_REPLAY;
	return LB_OK;
}

/* --- join-accept -------------------------------------------------------- */

unsigned join_rx1_delay_s(uint8_t rx_delay)
{
	unsigned del = rx_delay & RX_DELAY_MASK;

	return del == 0 ? 1 : del;
}

static int accept_params_check(const struct join_accept_params *p)
{
	if (p->join_nonce > JOIN_MAX_NONCE || p->net_id > JOIN_MAX_NONCE)
		return LB_ERR_RANGE;
	if (p->rx1_dr_offset > JOIN_MAX_RX1_DR_OFFSET || p->rx2_dr > JOIN_MAX_RX2_DR ||
	    p->rx_delay > JOIN_MAX_RX_DELAY)
		return LB_ERR_RANGE;
	return LB_OK;
}

/* Plaintext MHDR .. CFList into buf; returns its length (without MIC). */
static size_t accept_plaintext(const struct join_accept_params *p, uint8_t *buf)
{
	buf[0] = MHDR_JOIN_ACCEPT;
	wr_le(buf + OFF_JA_JOIN_NONCE, p->join_nonce, 3);
	wr_le(buf + OFF_JA_NET_ID, p->net_id, 3);
	wr_le(buf + OFF_JA_DEV_ADDR, p->dev_addr, 4);
	buf[OFF_JA_DL_SETTINGS] = (uint8_t)(p->rx1_dr_offset << DLS_RX1_OFFSET_SHIFT | p->rx2_dr);
	buf[OFF_JA_RX_DELAY] = p->rx_delay;
	if (!p->has_cflist)
		return LEN_JA_FIXED;
	memcpy(buf + OFF_JA_CFLIST, p->cflist, JOIN_LEN_CFLIST);
	return LEN_JA_FIXED + JOIN_LEN_CFLIST;
}

int join_cflist_chmask(const struct region *r, enum join_version v,
		       const uint16_t mask[REGION_CHMASK_WORDS], uint8_t out[JOIN_LEN_CFLIST])
{
	if (!r || !mask || !out || (unsigned)v >= N_VERSIONS)
		return LB_ERR_INVAL;
	if (r->cflist_capable != REGION_CFLIST_CHMASK)
		return LB_ERR_INVAL;
	if (v < JOIN_V1_0_3)
		return LB_ERR_VERSION;
	return region_cflist_chmask(r, mask, out);
}

int join_accept_build(const struct join_accept_params *p, struct lw_key *app_key,
		      uint8_t out[JOIN_LEN_ACCEPT_CFLIST], size_t *len)
{
	uint8_t plain[JOIN_LEN_ACCEPT_CFLIST];
	size_t n;
	int rc;

	if (!p || !app_key || !app_key->ready || !out || !len)
		return LB_ERR_INVAL;
	rc = accept_params_check(p);
	if (rc != LB_OK)
		return rc;
	n = accept_plaintext(p, plain);
	rc = lwcrypto_join_mic(app_key, plain, n, plain + n);
	if (rc == LB_OK) {
		n += LW_LEN_MIC;
		out[0] = plain[0];
		rc = lwcrypto_join_accept_encrypt(app_key, plain + OFF_JA_ENC, n - OFF_JA_ENC,
						  out + OFF_JA_ENC);
	}
	wipe(plain, sizeof(plain));
	if (rc != LB_OK) {
		wipe(out, JOIN_LEN_ACCEPT_CFLIST);
		return rc;
	}
	*len = n;
	return LB_OK;
}

static void accept_fields(const uint8_t *plain, size_t n, struct join_accept_params *out)
{
	uint8_t dls = plain[OFF_JA_DL_SETTINGS];

	out->join_nonce = (uint32_t)rd_le(plain + OFF_JA_JOIN_NONCE, 3);
	out->net_id = (uint32_t)rd_le(plain + OFF_JA_NET_ID, 3);
	out->dev_addr = (uint32_t)rd_le(plain + OFF_JA_DEV_ADDR, 4);
	out->rx1_dr_offset = (uint8_t)((dls >> DLS_RX1_OFFSET_SHIFT) & DLS_RX1_OFFSET_MASK);
	out->rx2_dr = dls & DLS_RX2_DR_MASK;
	out->rx_delay = plain[OFF_JA_RX_DELAY] & RX_DELAY_MASK;
	out->has_cflist = n == JOIN_LEN_ACCEPT_CFLIST;
	if (out->has_cflist)
		memcpy(out->cflist, plain + OFF_JA_CFLIST, JOIN_LEN_CFLIST);
}

int join_accept_open(const uint8_t *phy, size_t len, struct lw_key *app_key,
		     struct join_accept_params *out)
{
	struct lw_frame f;
	uint8_t plain[JOIN_LEN_ACCEPT_CFLIST];
	uint8_t mic[LW_LEN_MIC];
	size_t msg_len;
	int rc;

	if (!out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (!phy || !app_key || !app_key->ready)
		return LB_ERR_INVAL;
	rc = lorawan_parse(phy, len, &f);
	if (rc != LB_OK)
		return rc;
	if (f.mtype != LW_MTYPE_JOIN_ACCEPT)
		return LB_ERR_MALFORMED;
	/* lorawan_parse() guarantees len is 17 or 33 for a join-accept. */
	plain[0] = phy[0];
	rc = lwcrypto_join_accept_decrypt(app_key, phy + OFF_JA_ENC, len - OFF_JA_ENC,
					  plain + OFF_JA_ENC);
	msg_len = len - LW_LEN_MIC;
	if (rc == LB_OK)
		rc = lwcrypto_join_mic(app_key, plain, msg_len, mic);
	if (rc == LB_OK && !lwcrypto_mic_equal(mic, plain + msg_len))
		rc = LB_ERR_MIC;
	if (rc == LB_OK)
		accept_fields(plain, len, out);
	wipe(plain, sizeof(plain));
	return rc;
}

/* --- join-request ------------------------------------------------------- */

int join_request_build(uint64_t join_eui, uint64_t dev_eui, uint16_t dev_nonce,
		       struct lw_key *app_key, uint8_t out[JOIN_LEN_REQUEST])
{
	int rc;

	if (!app_key || !app_key->ready || !out)
		return LB_ERR_INVAL;
	out[0] = MHDR_JOIN_REQUEST;
	wr_le(out + OFF_JR_JOIN_EUI, join_eui, 8);
	wr_le(out + OFF_JR_DEV_EUI, dev_eui, 8);
	wr_le(out + OFF_JR_DEV_NONCE, dev_nonce, 2);
	rc = lwcrypto_join_mic(app_key, out, LEN_JR_MSG, out + OFF_JR_MIC);
	if (rc != LB_OK)
		memset(out, 0, JOIN_LEN_REQUEST);
	return rc;
}

/* --- network side ------------------------------------------------------- */

int join_request_verify(const struct lw_frame *req, struct lw_key *app_key, uint64_t join_eui)
{
	uint8_t mic[LW_LEN_MIC];

	if (!req || !app_key || !app_key->ready || req->mtype != LW_MTYPE_JOIN_REQUEST ||
	    !req->phy || req->phy_len != JOIN_LEN_REQUEST || req->msg_len != LEN_JR_MSG)
		return LB_ERR_INVAL;
	if (req->u.join_req.join_eui != join_eui)
		return LB_ERR_DENIED;
	int rc = lwcrypto_join_mic(app_key, req->phy, req->msg_len, mic);
	if (rc != LB_OK)
		return rc;
	return lwcrypto_mic_equal(mic, req->mic) ? LB_OK : LB_ERR_MIC;
}

/* Identity and integrity of a join-request, before anything is built. */
static int request_check(const struct lw_frame *req, struct lw_key *app_key,
			 const struct join_policy *pol)
{
	const struct lw_join_request *jr = &req->u.join_req;

	if (req->mtype != LW_MTYPE_JOIN_REQUEST)
		return LB_ERR_INVAL;
	if (jr->dev_eui != pol->dev_eui)
		return LB_ERR_NOT_FOUND;
	int rc = join_request_verify(req, app_key, pol->join_eui);
	if (rc != LB_OK)
		return rc;
	return join_check_dev_nonce(pol->version, jr->dev_nonce, pol->has_last_dev_nonce,
				    pol->last_dev_nonce, pol->dev_nonce_seen);
}

int join_process(const struct lw_frame *req, struct lw_key *app_key,
		 const struct join_policy *pol, struct join_outcome *out)
{
	const struct join_accept_params *ja;
	int rc;

	if (!out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (!req || !app_key || !app_key->ready || !pol)
		return LB_ERR_INVAL;
	rc = request_check(req, app_key, pol);
	if (rc != LB_OK)
		return rc;
	ja = &pol->accept;
	rc = join_accept_build(ja, app_key, out->phy, &out->phy_len);
	if (rc == LB_OK)
		rc = lwcrypto_derive_session_keys(app_key, ja->join_nonce, ja->net_id,
						  req->u.join_req.dev_nonce, out->nwk_s_key,
						  out->app_s_key);
	if (rc != LB_OK) {
		wipe(out, sizeof(*out));
		return rc;
	}
	out->dev_nonce = req->u.join_req.dev_nonce;
	out->join_nonce = ja->join_nonce;
	out->dev_addr = ja->dev_addr;
	return LB_OK;
}
