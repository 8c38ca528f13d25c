/* SPDX-License-Identifier: MIT */
/*
 * lorawan.c - LoRaWAN 1.0.x PHYPayload codec (pure: no I/O, no logging).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4.1-§4.2 (PHYPayload,
 * MHDR), §4.3.1 (FHDR), §4.3.1.5 (frame counter), §4.3.2 (FPort), §6.2.5
 * (join-request), §6.2.6 (join-accept).
 */
#include "lorawan/lorawan.h"

#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lwcrypto.h"

/*
 * PHYPayload (TS001-1.0.4 §4.1); the MIC is always the last 4 bytes:
 *
 *   0        1 .. len-5              len-4 .. len-1
 * +--------+-----------------------+----------------+
 * | MHDR   | MACPayload / join body | MIC            |
 * +--------+-----------------------+----------------+
 *
 * MHDR: bits 7..5 MType, 4..2 RFU, 1..0 Major (0 = LoRaWAN R1).
 */
#define OFF_MHDR 0
#define MHDR_MTYPE_SHIFT 5
#define MHDR_MAJOR_MASK 0x03
#define LEN_MIN_ANY (LW_LEN_MHDR + LW_LEN_MIC)   /* RFU / proprietary */

/*
 * Data frame (TS001-1.0.4 §4.3):
 *
 *   0      1..4        5       6..7      8 .. 8+n-1    8+n      8+n+1 .. len-5   len-4..
 * +------+-----------+-------+---------+-------------+--------+----------------+-----+
 * | MHDR | DevAddr LE| FCtrl | FCnt LE | FOpts (n)   | [FPort | [FRMPayload]]  | MIC |
 * +------+-----------+-------+---------+-------------+--------+----------------+-----+
 *   n = FCtrl & 0x0F; FPort exists iff bytes remain between FOpts and MIC.
 *
 * FCtrl: bit 7 ADR, 6 ADRACKReq (up) / RFU (down), 5 ACK,
 *        4 ClassB (up) / FPending (down), 3..0 FOptsLen.
 */
#define OFF_DEVADDR 1
#define OFF_FCTRL 5
#define OFF_FCNT 6
#define OFF_FOPTS 8
#define FCTRL_ADR 0x80
#define FCTRL_ADR_ACK_REQ 0x40
#define FCTRL_ACK 0x20
#define FCTRL_FPENDING 0x10
#define FCTRL_FOPTS_LEN_MASK 0x0F
#define LEN_FPORT 1

/*
 * Join-request (TS001-1.0.4 §6.2.5), 23 bytes:
 *
 *   0      1..8          9..16        17..18        19..22
 * +------+-------------+------------+-------------+-----+
 * | MHDR | JoinEUI LE  | DevEUI LE  | DevNonce LE | MIC |
 * +------+-------------+------------+-------------+-----+
 */
#define OFF_JR_JOIN_EUI 1
#define OFF_JR_DEV_EUI 9
#define OFF_JR_DEV_NONCE 17

/*
 * Join-accept (TS001-1.0.4 §6.2.6), kept encrypted here: MHDR(1) | 16 or 32 bytes of
 * AES-ECB ciphertext whose plaintext ends with the MIC.
 */
#define LEN_JOIN_ACCEPT 17
#define LEN_JOIN_ACCEPT_CFLIST 33

static uint16_t rd_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd_le64(const uint8_t *p)
{
	return (uint64_t)rd_le32(p) | ((uint64_t)rd_le32(p + 4) << 32);
}

static void wr_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr_le32(uint8_t *p, uint32_t v)
{
	wr_le16(p, (uint16_t)v);
	wr_le16(p + 2, (uint16_t)(v >> 16));
}

bool lorawan_is_data_up(enum lw_mtype t)
{
	return t == LW_MTYPE_UNCONFIRMED_UP || t == LW_MTYPE_CONFIRMED_UP;
}

bool lorawan_is_data_down(enum lw_mtype t)
{
	return t == LW_MTYPE_UNCONFIRMED_DOWN || t == LW_MTYPE_CONFIRMED_DOWN;
}

const char *lorawan_mtype_name(enum lw_mtype t)
{
	/* ChirpStack v4 spellings (lrwn MType Display). */
	switch (t) {
	case LW_MTYPE_JOIN_REQUEST: return "JoinRequest";
	case LW_MTYPE_JOIN_ACCEPT: return "JoinAccept";
	case LW_MTYPE_UNCONFIRMED_UP: return "UnconfirmedDataUp";
	case LW_MTYPE_UNCONFIRMED_DOWN: return "UnconfirmedDataDown";
	case LW_MTYPE_CONFIRMED_UP: return "ConfirmedDataUp";
	case LW_MTYPE_CONFIRMED_DOWN: return "ConfirmedDataDown";
	case LW_MTYPE_RFU: return "RFU";
	case LW_MTYPE_PROPRIETARY: return "Proprietary";
	}
	return "RFU";
}

/* --- parsing ------------------------------------------------------------ */

static int parse_data(const uint8_t *phy, size_t msg_len, struct lw_frame *f)
{
	struct lw_data *d = &f->u.data;
	bool up = lorawan_is_data_up(f->mtype);
	size_t pos;

	if (msg_len + LW_LEN_MIC < LW_MIN_DATA_FRAME)
		return LB_ERR_TOO_SHORT;
	d->dev_addr = rd_le32(phy + OFF_DEVADDR);
	d->fctrl = phy[OFF_FCTRL];
	d->adr = d->fctrl & FCTRL_ADR;
	d->adr_ack_req = up && (d->fctrl & FCTRL_ADR_ACK_REQ);
	d->ack = d->fctrl & FCTRL_ACK;
	d->fpending = d->fctrl & FCTRL_FPENDING;
	d->fcnt16 = rd_le16(phy + OFF_FCNT);
	d->fopts_len = d->fctrl & FCTRL_FOPTS_LEN_MASK;
	if (OFF_FOPTS + (size_t)d->fopts_len > msg_len)
		return LB_ERR_MALFORMED;
	d->fopts = d->fopts_len ? phy + OFF_FOPTS : NULL;
	pos = OFF_FOPTS + d->fopts_len;
	if (pos == msg_len)
		return LB_OK;  /* no FPort, no FRMPayload */
	d->has_fport = true;
	d->fport = phy[pos];
	/* TS001-1.0.4 §4.3.1.6: MAC commands never in FOpts and FRMPayload at once. */
	if (d->fport == 0 && d->fopts_len != 0)
		return LB_ERR_MALFORMED;
	pos += LEN_FPORT;
	d->frm_len = msg_len - pos;
	d->frm_payload = d->frm_len ? phy + pos : NULL;
	return LB_OK;
}

static int parse_join_request(const uint8_t *phy, size_t len, struct lw_frame *f)
{
	struct lw_join_request *j = &f->u.join_req;

	if (len < LW_LEN_JOIN_REQUEST)
		return LB_ERR_TOO_SHORT;
	if (len != LW_LEN_JOIN_REQUEST)
		return LB_ERR_MALFORMED;
	j->join_eui = rd_le64(phy + OFF_JR_JOIN_EUI);
	j->dev_eui = rd_le64(phy + OFF_JR_DEV_EUI);
	j->dev_nonce = rd_le16(phy + OFF_JR_DEV_NONCE);
	return LB_OK;
}

static int check_join_accept(size_t len)
{
	if (len < LEN_JOIN_ACCEPT)
		return LB_ERR_TOO_SHORT;
	if (len != LEN_JOIN_ACCEPT && len != LEN_JOIN_ACCEPT_CFLIST)
		return LB_ERR_MALFORMED;
	return LB_OK;
}

int lorawan_parse(const uint8_t *phy, size_t len, struct lw_frame *out)
{
	if (!out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (!phy && len)
		return LB_ERR_INVAL;
	if (len > LW_MAX_PHY)
		return LB_ERR_TOO_LARGE;
	if (len < LW_LEN_MHDR)
		return LB_ERR_TOO_SHORT;
	out->mhdr = phy[OFF_MHDR];
	out->mtype = (enum lw_mtype)(out->mhdr >> MHDR_MTYPE_SHIFT);
	out->major = out->mhdr & MHDR_MAJOR_MASK;
	if (out->major != 0)
		return LB_ERR_VERSION;
	if (len < LEN_MIN_ANY)
		return LB_ERR_TOO_SHORT;
	out->phy = phy;
	out->phy_len = len;
	out->msg_len = len - LW_LEN_MIC;
	/* For a join-accept these 4 bytes are still ciphertext (TS001-1.0.4 §6.2.6). */
	memcpy(out->mic, phy + out->msg_len, LW_LEN_MIC);

	switch (out->mtype) {
	case LW_MTYPE_JOIN_REQUEST:
		return parse_join_request(phy, len, out);
	case LW_MTYPE_JOIN_ACCEPT:
		return check_join_accept(len);
	case LW_MTYPE_UNCONFIRMED_UP:
	case LW_MTYPE_UNCONFIRMED_DOWN:
	case LW_MTYPE_CONFIRMED_UP:
	case LW_MTYPE_CONFIRMED_DOWN:
		return parse_data(phy, out->msg_len, out);
	case LW_MTYPE_RFU:
	case LW_MTYPE_PROPRIETARY:
		return LB_OK;  /* no defined body: MHDR | payload | MIC split only */
	}
	return LB_ERR_UNKNOWN_TYPE;
}

/* --- frame counter (TS001-1.0.4 §4.3.1.5) -------------------------------- */

uint32_t lorawan_fcnt_full(uint32_t last, bool has_last, uint16_t f16)
{
	uint32_t next;

	/* 1.0.4 NbTrans repetitions legitimately repeat the last counter. */
	if (has_last && f16 == (uint16_t)last)
		return last;
	next = has_last ? last + 1 : 0;
	/* Unsigned 16-bit difference: 0xFFFF -> 0x0000 carries into bit 16. */
	return next + (uint16_t)(f16 - (uint16_t)next);
}

/* --- building ----------------------------------------------------------- */

static int check_build_params(const struct lw_data_params *p)
{
	if (!lorawan_is_data_up(p->mtype) && !lorawan_is_data_down(p->mtype))
		return LB_ERR_INVAL;
	if (p->fctrl_flags & FCTRL_FOPTS_LEN_MASK)
		return LB_ERR_INVAL;  /* FOptsLen comes from fopts_len */
	if (p->fopts_len > LW_MAX_FOPTS || (p->fopts_len && !p->fopts))
		return LB_ERR_INVAL;
	if (p->payload_len && (!p->payload || !p->has_fport))
		return LB_ERR_INVAL;
	if (p->has_fport && p->fport == 0 && p->fopts_len)
		return LB_ERR_INVAL;  /* TS001-1.0.4 §4.3.1.6 */
	return LB_OK;
}

int lorawan_build_data(const struct lw_data_params *p, struct lw_keys *keys,
		       uint8_t *out, size_t cap, size_t *out_len)
{
	int dir;
	size_t msg_len;
	size_t pos;
	struct lw_key *enc_key;
	int rc;

	if (!p || !keys || !out || !out_len)
		return LB_ERR_INVAL;
	rc = check_build_params(p);
	if (rc != LB_OK)
		return rc;
	if (p->payload_len > LW_MAX_PHY)
		return LB_ERR_TOO_LARGE;
	msg_len = OFF_FOPTS + p->fopts_len + (p->has_fport ? LEN_FPORT + p->payload_len : 0);
	if (msg_len + LW_LEN_MIC > LW_MAX_PHY || msg_len + LW_LEN_MIC > cap)
		return LB_ERR_TOO_LARGE;

	dir = lorawan_is_data_up(p->mtype) ? LW_DIR_UP : LW_DIR_DOWN;
	out[OFF_MHDR] = (uint8_t)(p->mtype << MHDR_MTYPE_SHIFT);
	wr_le32(out + OFF_DEVADDR, p->dev_addr);
	out[OFF_FCTRL] = (uint8_t)(p->fctrl_flags | p->fopts_len);
	wr_le16(out + OFF_FCNT, (uint16_t)p->fcnt);
	if (p->fopts_len)
		memcpy(out + OFF_FOPTS, p->fopts, p->fopts_len);
	pos = OFF_FOPTS + p->fopts_len;
	if (p->has_fport) {
		out[pos++] = p->fport;
		/* TS001-1.0.4 §4.3.3: FPort 0 carries MAC commands under NwkSKey. */
		enc_key = p->fport == 0 ? &keys->nwk_s_key : &keys->app_s_key;
		rc = lwcrypto_payload_crypt(enc_key, dir, p->dev_addr, p->fcnt, p->payload,
					    p->payload_len, out + pos);
		if (rc != LB_OK)
			return rc;
	}
	rc = lwcrypto_data_mic(&keys->nwk_s_key, dir, p->dev_addr, p->fcnt, out, msg_len,
			       out + msg_len);
	if (rc != LB_OK)
		return rc;
	*out_len = msg_len + LW_LEN_MIC;
	return LB_OK;
}
