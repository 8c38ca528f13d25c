/* SPDX-License-Identifier: MIT */
/*
 * maccmd.c - LoRaWAN 1.0.x MAC commands (TS001-1.0.4 §5). See maccmd.h.
 *
 * Every command is described once, in the table `cmds` below: CID,
 * direction, payload length, name, and the list of its fields. Parsing,
 * building and JSON are three loops over that description, so the three can
 * never disagree about a bit position.
 *
 *   byte 0   1 .......................... len
 *  +-------+------------------------------+
 *  |  CID  | payload (little endian)      |   followed by the next CID
 *  +-------+------------------------------+
 *
 * A field is `bits` bits at `shift` inside the little-endian integer made of
 * payload bytes [pos, pos + nbytes). Example, LinkADRReq (down, 4 bytes):
 *
 *   byte    0                    1..2          3
 *         +---------+---------+------------+-----+------------+---------+
 *         | DR 7..4 | TXP 3..0| ChMask LE  | RFU | Cntl 6..4  | NbT 3..0|
 *         +---------+---------+------------+-----+------------+---------+
 *   dataRate = {pos 0, shift 4, bits 4}, chMask = {pos 1, 2 bytes, 16 bits}
 */
#include "lorawan/maccmd.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"

/* How a field is stored in struct maccmd and shown in JSON. */
enum ftype {
	FT_U8,     /* uint8_t */
	FT_U16,    /* uint16_t */
	FT_U32,    /* uint32_t */
	FT_BOOL,   /* bool, one bit */
	FT_S6,     /* int8_t from a signed 6-bit value (DevStatusAns margin) */
	FT_FREQ    /* uint32_t Hz from 24 bits in units of 100 Hz */
};

#define FREQ_UNIT_HZ 100u

struct field {
	const char *json;
	size_t off;        /* offset of the member in struct maccmd */
	enum ftype type;
	uint8_t pos;       /* first payload byte */
	uint8_t nbytes;    /* 1..4 */
	uint8_t shift;
	uint8_t bits;      /* 1..32 */
};

#define FLD(js, mem, ty, pos, nb, sh, bi) \
	{ js, offsetof(struct maccmd, u.mem), ty, pos, nb, sh, bi }
#define U8(js, mem, pos) FLD(js, mem, FT_U8, pos, 1, 0, 8)
#define BIT(js, mem, pos, sh) FLD(js, mem, FT_BOOL, pos, 1, sh, 1)
#define NIB(js, mem, pos, sh, bi) FLD(js, mem, FT_U8, pos, 1, sh, bi)
#define FREQ(js, mem, pos) FLD(js, mem, FT_FREQ, pos, 3, 0, 24)

static const struct field f_link_check_ans[] = {
	U8("margin", link_check_ans.margin, 0),
	U8("gwCnt", link_check_ans.gw_cnt, 1),
};
static const struct field f_link_adr_req[] = {
	NIB("dataRate", link_adr_req.data_rate, 0, 4, 4),
	NIB("txPower", link_adr_req.tx_power, 0, 0, 4),
	FLD("chMask", link_adr_req.ch_mask, FT_U16, 1, 2, 0, 16),
	NIB("chMaskCntl", link_adr_req.ch_mask_cntl, 3, 4, 3),
	NIB("nbTrans", link_adr_req.nb_trans, 3, 0, 4),
};
static const struct field f_link_adr_ans[] = {
	BIT("powerAck", link_adr_ans.power_ack, 0, 2),
	BIT("dataRateAck", link_adr_ans.data_rate_ack, 0, 1),
	BIT("channelMaskAck", link_adr_ans.channel_mask_ack, 0, 0),
};
static const struct field f_duty_cycle_req[] = {
	NIB("maxDutyCycle", duty_cycle_req.max_duty_cycle, 0, 0, 4),
};
static const struct field f_rx_param_setup_req[] = {
	NIB("rx1DrOffset", rx_param_setup_req.rx1_dr_offset, 0, 4, 3),
	NIB("rx2DataRate", rx_param_setup_req.rx2_data_rate, 0, 0, 4),
	FREQ("frequency", rx_param_setup_req.frequency, 1),
};
static const struct field f_rx_param_setup_ans[] = {
	BIT("rx1DrOffsetAck", rx_param_setup_ans.rx1_dr_offset_ack, 0, 2),
	BIT("rx2DataRateAck", rx_param_setup_ans.rx2_data_rate_ack, 0, 1),
	BIT("channelAck", rx_param_setup_ans.channel_ack, 0, 0),
};
static const struct field f_dev_status_ans[] = {
	U8("battery", dev_status_ans.battery, 0),
	FLD("margin", dev_status_ans.margin, FT_S6, 1, 1, 0, 6),
};
static const struct field f_new_channel_req[] = {
	U8("chIndex", new_channel_req.ch_index, 0),
	FREQ("frequency", new_channel_req.frequency, 1),
	NIB("minDr", new_channel_req.min_dr, 4, 0, 4),
	NIB("maxDr", new_channel_req.max_dr, 4, 4, 4),
};
static const struct field f_new_channel_ans[] = {
	BIT("dataRateRangeOk", new_channel_ans.data_rate_range_ok, 0, 1),
	BIT("channelFrequencyOk", new_channel_ans.channel_frequency_ok, 0, 0),
};
static const struct field f_rx_timing_setup_req[] = {
	NIB("delay", rx_timing_setup_req.delay, 0, 0, 4),
};
static const struct field f_tx_param_setup_req[] = {
	BIT("downlinkDwellTime", tx_param_setup_req.downlink_dwell_time, 0, 5),
	BIT("uplinkDwellTime", tx_param_setup_req.uplink_dwell_time, 0, 4),
	NIB("maxEirp", tx_param_setup_req.max_eirp, 0, 0, 4),
};
static const struct field f_dl_channel_req[] = {
	U8("chIndex", dl_channel_req.ch_index, 0),
	FREQ("frequency", dl_channel_req.frequency, 1),
};
static const struct field f_dl_channel_ans[] = {
	BIT("uplinkFrequencyExists", dl_channel_ans.uplink_frequency_exists, 0, 1),
	BIT("channelFrequencyOk", dl_channel_ans.channel_frequency_ok, 0, 0),
};
static const struct field f_device_time_ans[] = {
	FLD("seconds", device_time_ans.seconds, FT_U32, 0, 4, 0, 32),
	U8("fraction", device_time_ans.fraction, 4),
};
static const struct field f_ping_slot_info_req[] = {
	NIB("periodicity", ping_slot_info_req.periodicity, 0, 0, 3),
};
static const struct field f_ping_slot_channel_req[] = {
	FREQ("frequency", ping_slot_channel_req.frequency, 0),
	NIB("dataRate", ping_slot_channel_req.data_rate, 3, 0, 4),
};
static const struct field f_ping_slot_channel_ans[] = {
	BIT("dataRateOk", ping_slot_channel_ans.data_rate_ok, 0, 1),
	BIT("channelFrequencyOk", ping_slot_channel_ans.channel_frequency_ok, 0, 0),
};
static const struct field f_beacon_timing_ans[] = {
	FLD("delay", beacon_timing_ans.delay, FT_U16, 0, 2, 0, 16),
	U8("channel", beacon_timing_ans.channel, 2),
};
static const struct field f_beacon_freq_req[] = {
	FREQ("frequency", beacon_freq_req.frequency, 0),
};
static const struct field f_beacon_freq_ans[] = {
	BIT("beaconFrequencyOk", beacon_freq_ans.beacon_frequency_ok, 0, 0),
};

struct cmd_def {
	uint8_t cid;
	enum lw_dir dir;
	uint8_t len;
	const char *name;
	const struct field *fields;
	size_t n_fields;
};

#define UP LW_DIR_UP
#define DN LW_DIR_DOWN
#define NOF NULL, 0
#define FS(a) a, sizeof(a) / sizeof((a)[0])

/* Payload lengths, without the CID (TS001-1.0.4 §5, §12). */
static const struct cmd_def cmds[] = {
	{MACCMD_LINK_CHECK, UP, 0, "LinkCheckReq", NOF},
	{MACCMD_LINK_CHECK, DN, 2, "LinkCheckAns", FS(f_link_check_ans)},
	{MACCMD_LINK_ADR, UP, 1, "LinkADRAns", FS(f_link_adr_ans)},
	{MACCMD_LINK_ADR, DN, 4, "LinkADRReq", FS(f_link_adr_req)},
	{MACCMD_DUTY_CYCLE, UP, 0, "DutyCycleAns", NOF},
	{MACCMD_DUTY_CYCLE, DN, 1, "DutyCycleReq", FS(f_duty_cycle_req)},
	{MACCMD_RX_PARAM_SETUP, UP, 1, "RXParamSetupAns", FS(f_rx_param_setup_ans)},
	{MACCMD_RX_PARAM_SETUP, DN, 4, "RXParamSetupReq", FS(f_rx_param_setup_req)},
	{MACCMD_DEV_STATUS, UP, 2, "DevStatusAns", FS(f_dev_status_ans)},
	{MACCMD_DEV_STATUS, DN, 0, "DevStatusReq", NOF},
	{MACCMD_NEW_CHANNEL, UP, 1, "NewChannelAns", FS(f_new_channel_ans)},
	{MACCMD_NEW_CHANNEL, DN, 5, "NewChannelReq", FS(f_new_channel_req)},
	{MACCMD_RX_TIMING_SETUP, UP, 0, "RXTimingSetupAns", NOF},
	{MACCMD_RX_TIMING_SETUP, DN, 1, "RXTimingSetupReq", FS(f_rx_timing_setup_req)},
	{MACCMD_TX_PARAM_SETUP, UP, 0, "TXParamSetupAns", NOF},
	{MACCMD_TX_PARAM_SETUP, DN, 1, "TXParamSetupReq", FS(f_tx_param_setup_req)},
	{MACCMD_DL_CHANNEL, UP, 1, "DlChannelAns", FS(f_dl_channel_ans)},
	{MACCMD_DL_CHANNEL, DN, 4, "DlChannelReq", FS(f_dl_channel_req)},
	{MACCMD_DEVICE_TIME, UP, 0, "DeviceTimeReq", NOF},
	{MACCMD_DEVICE_TIME, DN, 5, "DeviceTimeAns", FS(f_device_time_ans)},
	{MACCMD_PING_SLOT_INFO, UP, 1, "PingSlotInfoReq", FS(f_ping_slot_info_req)},
	{MACCMD_PING_SLOT_INFO, DN, 0, "PingSlotInfoAns", NOF},
	{MACCMD_PING_SLOT_CHANNEL, UP, 1, "PingSlotChannelAns", FS(f_ping_slot_channel_ans)},
	{MACCMD_PING_SLOT_CHANNEL, DN, 4, "PingSlotChannelReq", FS(f_ping_slot_channel_req)},
	{MACCMD_BEACON_TIMING, UP, 0, "BeaconTimingReq", NOF},
	{MACCMD_BEACON_TIMING, DN, 3, "BeaconTimingAns", FS(f_beacon_timing_ans)},
	{MACCMD_BEACON_FREQ, UP, 1, "BeaconFreqAns", FS(f_beacon_freq_ans)},
	{MACCMD_BEACON_FREQ, DN, 3, "BeaconFreqReq", FS(f_beacon_freq_req)},
};

static const struct cmd_def *cmd_lookup(uint8_t cid, enum lw_dir dir)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].cid == cid && cmds[i].dir == dir)
			return &cmds[i];
	return NULL;
}

const char *maccmd_name(uint8_t cid, enum lw_dir dir)
{
	const struct cmd_def *d = cmd_lookup(cid, dir);
	return d ? d->name : NULL;
}

int maccmd_payload_len(uint8_t cid, enum lw_dir dir)
{
	const struct cmd_def *d = cmd_lookup(cid, dir);
	return d ? d->len : -1;
}

/* --- field access ------------------------------------------------------- */

static uint64_t field_mask(const struct field *f)
{
	return (UINT64_C(1) << f->bits) - 1;
}

/* The raw bits of field f from a payload. */
static uint32_t bits_get(const struct field *f, const uint8_t *payload)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < f->nbytes; i++)
		v |= (uint64_t)payload[f->pos + i] << (8 * i);
	return (uint32_t)((v >> f->shift) & field_mask(f));
}

static void bits_put(const struct field *f, uint8_t *payload, uint32_t raw)
{
	uint64_t v = ((uint64_t)raw & field_mask(f)) << f->shift;

	for (unsigned i = 0; i < f->nbytes; i++)
		payload[f->pos + i] |= (uint8_t)(v >> (8 * i));
}

/* Store the raw bits of f into its decoded member. */
static void field_store(const struct field *f, struct maccmd *cmd, uint32_t raw)
{
	char *p = (char *)cmd + f->off;
	uint8_t u8 = (uint8_t)raw;
	uint16_t u16 = (uint16_t)raw;
	uint32_t u32 = raw;
	bool b = raw != 0;
	int8_t s8;

	switch (f->type) {
	case FT_U8:
		memcpy(p, &u8, sizeof(u8));
		break;
	case FT_U16:
		memcpy(p, &u16, sizeof(u16));
		break;
	case FT_FREQ:
		u32 = raw * FREQ_UNIT_HZ;
		/* fall through */
	case FT_U32:
		memcpy(p, &u32, sizeof(u32));
		break;
	case FT_BOOL:
		memcpy(p, &b, sizeof(b));
		break;
	case FT_S6:
		s8 = (int8_t)(raw >= 32 ? (int)raw - 64 : (int)raw);
		memcpy(p, &s8, sizeof(s8));
		break;
	}
}

/* The decoded member of f as a signed value (for JSON and building). */
static int64_t field_value(const struct field *f, const struct maccmd *cmd)
{
	const char *p = (const char *)cmd + f->off;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	bool b;
	int8_t s8;

	switch (f->type) {
	case FT_U8:
		memcpy(&u8, p, sizeof(u8));
		return u8;
	case FT_U16:
		memcpy(&u16, p, sizeof(u16));
		return u16;
	case FT_U32:
	case FT_FREQ:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	case FT_BOOL:
		memcpy(&b, p, sizeof(b));
		return b;
	case FT_S6:
		memcpy(&s8, p, sizeof(s8));
		return s8;
	}
	return 0;
}

/* Decoded value -> raw bits, or LB_ERR_RANGE if it cannot be sent. */
static int field_raw(const struct field *f, int64_t v, uint32_t *raw)
{
	if (f->type == FT_S6) {
		if (v < -32 || v > 31)
			return LB_ERR_RANGE;
		*raw = (uint32_t)(v & 0x3f);
		return LB_OK;
	}
	if (f->type == FT_FREQ) {
		if (v % FREQ_UNIT_HZ != 0)
			return LB_ERR_RANGE;
		v /= FREQ_UNIT_HZ;
	}
	if (v < 0 || (uint64_t)v > field_mask(f))
		return LB_ERR_RANGE;
	*raw = (uint32_t)v;
	return LB_OK;
}

/* --- parse / build ------------------------------------------------------ */

/* Parse the command at buf[0..len) (len > 0) into *cmd. */
static int parse_one(const uint8_t *buf, size_t len, enum lw_dir dir, struct maccmd *cmd)
{
	const struct cmd_def *d = cmd_lookup(buf[0], dir);

	if (!d)
		return LB_ERR_UNKNOWN_TYPE;
	if (len - 1 < d->len)
		return LB_ERR_TOO_SHORT;
	memset(cmd, 0, sizeof(*cmd));
	cmd->cid = d->cid;
	cmd->dir = dir;
	cmd->len = d->len;
	memcpy(cmd->payload, buf + 1, d->len);
	for (size_t i = 0; i < d->n_fields; i++)
		field_store(&d->fields[i], cmd, bits_get(&d->fields[i], cmd->payload));
	return LB_OK;
}

int maccmd_parse(const uint8_t *buf, size_t len, enum lw_dir dir,
		 struct maccmd *out, size_t max, size_t *n)
{
	size_t off = 0;
	int rc;

	if (!n)
		return LB_ERR_INVAL;
	*n = 0;
	if ((len > 0 && (!buf || (!out && max > 0))) || (dir != LW_DIR_UP && dir != LW_DIR_DOWN))
		return LB_ERR_INVAL;
	while (off < len) {
		if (*n == max)
			return LB_ERR_FULL;
		rc = parse_one(buf + off, len - off, dir, &out[*n]);
		if (rc != LB_OK)
			return rc;
		off += 1u + out[*n].len;
		(*n)++;
	}
	return LB_OK;
}

size_t maccmd_consumed(const struct maccmd *cmds_in, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += 1u + cmds_in[i].len;
	return total;
}

int maccmd_build(const struct maccmd *cmd, uint8_t *out, size_t cap, size_t *len)
{
	const struct cmd_def *d;
	uint8_t payload[MACCMD_MAX_PAYLOAD] = {0};
	uint32_t raw;
	int rc;

	if (!cmd || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	*len = 0;
	d = cmd_lookup(cmd->cid, cmd->dir);
	if (!d)
		return LB_ERR_UNKNOWN_TYPE;
	for (size_t i = 0; i < d->n_fields; i++) {
		rc = field_raw(&d->fields[i], field_value(&d->fields[i], cmd), &raw);
		if (rc != LB_OK)
			return rc;
		bits_put(&d->fields[i], payload, raw);
	}
	if (cap < 1u + d->len)
		return LB_ERR_TOO_LARGE;
	out[0] = d->cid;
	memcpy(out + 1, payload, d->len);
	*len = 1u + d->len;
	return LB_OK;
}

/* --- JSON --------------------------------------------------------------- */

/* Add v under a literal key (not copied, never repeated); on any failure
 * free v and remember LB_ERR_NOMEM. */
static void jadd(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	if (!v || json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_CONSTANT_KEY |
							      JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
		json_object_put(v);
		*err = LB_ERR_NOMEM;
	}
}

int maccmd_to_json(const struct maccmd *cmd, struct json_object **out)
{
	const struct cmd_def *d;
	struct json_object *o;
	int err = LB_OK;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if (!cmd)
		return LB_ERR_INVAL;
	d = cmd_lookup(cmd->cid, cmd->dir);
	if (!d)
		return LB_ERR_UNKNOWN_TYPE;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	jadd(o, "cid", json_object_new_string(d->name), &err);
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct field *f = &d->fields[i];
		int64_t v = field_value(f, cmd);

		jadd(o, f->json, f->type == FT_BOOL ? json_object_new_boolean(v != 0)
						    : json_object_new_int64(v), &err);
	}
	if (err != LB_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return LB_OK;
}

/* {"error":"<NAME>","unparsed":"<hex>"} closing an array cut short. */
static struct json_object *stop_json(int why, const uint8_t *rest, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char hex[2 * LW_MAX_PHY + 1];
	struct json_object *o = json_object_new_object();
	int err = LB_OK;

	if (!o)
		return NULL;
	if (n > LW_MAX_PHY)
		n = LW_MAX_PHY;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = hexd[rest[i] >> 4];
		hex[2 * i + 1] = hexd[rest[i] & 0x0f];
	}
	hex[2 * n] = '\0';
	jadd(o, "error", json_object_new_string(lb_errname(why)), &err);
	jadd(o, "unparsed", json_object_new_string(hex), &err);
	if (err != LB_OK) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int array_push(struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return LB_ERR_NOMEM;
	}
	return LB_OK;
}

int maccmd_json(const uint8_t *buf, size_t len, enum lw_dir dir, struct json_object **out)
{
	struct json_object *arr, *o;
	struct maccmd cmd;
	size_t off = 0;
	int rc = LB_OK;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if ((len > 0 && !buf) || (dir != LW_DIR_UP && dir != LW_DIR_DOWN))
		return LB_ERR_INVAL;
	arr = json_object_new_array();
	if (!arr)
		return LB_ERR_NOMEM;
	while (off < len) {
		rc = parse_one(buf + off, len - off, dir, &cmd);
		if (rc != LB_OK)
			break;
		if (maccmd_to_json(&cmd, &o) != LB_OK || array_push(arr, o) != LB_OK) {
			json_object_put(arr);
			return LB_ERR_NOMEM;
		}
		off += 1u + cmd.len;
	}
	if (rc != LB_OK && array_push(arr, stop_json(rc, buf + off, len - off)) != LB_OK) {
		json_object_put(arr);
		return LB_ERR_NOMEM;
	}
	*out = arr;
	return rc;
}
