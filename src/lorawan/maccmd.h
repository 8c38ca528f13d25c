/* SPDX-License-Identifier: MIT */
/*
 * maccmd.h - LoRaWAN 1.0.x MAC commands: parse, build, JSON (pure codec).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §5 (MAC commands,
 * Table 14) and §12 (class B commands); the 1.0.3 / 1.0.4 command set, payload
 * lengths as in brocaar/lorawan mac_commands.go.
 *
 * A command is CID(1) | payload(0..5); the payload length follows from the
 * CID *and* the direction (LinkADRAns is 1 byte up, LinkADRReq 4 bytes
 * down). Commands travel in FOpts (0..15 bytes) or, with FPort 0, as the
 * decrypted FRMPayload. An unknown CID (RFU, proprietary 0x80..0xFF) has no
 * known length, so parsing stops there (TS001-1.0.4 §5): the rest is reported, not
 * guessed at.
 *
 * No I/O, no clock, no logging, no globals. maccmd_parse() and
 * maccmd_build() work on caller-owned arrays and buffers; maccmd_json()
 * returns a new json-c array the caller owns (json_object_put()).
 */
#ifndef LB_MACCMD_H
#define LB_MACCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/lorawan.h"

struct json_object;

/* Longest payload of a known command (NewChannelReq, DeviceTimeAns). */
#define MACCMD_MAX_PAYLOAD 5
/* FOpts hold at most 15 bytes; an FPort-0 payload at most ~240. A command
 * is at least one byte, so this many entries always suffice for FOpts. */
#define MACCMD_MAX_FOPTS_CMDS 15

enum maccmd_cid {
	MACCMD_LINK_CHECK = 0x02,         /* up Req (0)   / down Ans (2) */
	MACCMD_LINK_ADR = 0x03,           /* up Ans (1)   / down Req (4) */
	MACCMD_DUTY_CYCLE = 0x04,         /* up Ans (0)   / down Req (1) */
	MACCMD_RX_PARAM_SETUP = 0x05,     /* up Ans (1)   / down Req (4) */
	MACCMD_DEV_STATUS = 0x06,         /* up Ans (2)   / down Req (0) */
	MACCMD_NEW_CHANNEL = 0x07,        /* up Ans (1)   / down Req (5) */
	MACCMD_RX_TIMING_SETUP = 0x08,    /* up Ans (0)   / down Req (1) */
	MACCMD_TX_PARAM_SETUP = 0x09,     /* up Ans (0)   / down Req (1) */
	MACCMD_DL_CHANNEL = 0x0A,         /* up Ans (1)   / down Req (4) */
	MACCMD_DEVICE_TIME = 0x0D,        /* up Req (0)   / down Ans (5) */
	MACCMD_PING_SLOT_INFO = 0x10,     /* up Req (1)   / down Ans (0) */
	MACCMD_PING_SLOT_CHANNEL = 0x11,  /* up Ans (1)   / down Req (4) */
	MACCMD_BEACON_TIMING = 0x12,      /* up Req (0)   / down Ans (3), deprecated */
	MACCMD_BEACON_FREQ = 0x13         /* up Ans (1)   / down Req (3) */
};

/* Decoded payload fields, one struct per command that has a payload.
 * Frequencies are in Hz (the wire carries units of 100 Hz); "ack"/"ok"
 * bits are bools; RFU bits are dropped on parse and sent as 0. */
struct maccmd_link_check_ans { uint8_t margin, gw_cnt; };
struct maccmd_link_adr_req {
	uint8_t data_rate, tx_power;
	uint16_t ch_mask;              /* bit i = channel i of the block */
	uint8_t ch_mask_cntl, nb_trans;
};
struct maccmd_link_adr_ans { bool power_ack, data_rate_ack, channel_mask_ack; };
struct maccmd_duty_cycle_req { uint8_t max_duty_cycle; };
struct maccmd_rx_param_setup_req { uint8_t rx1_dr_offset, rx2_data_rate; uint32_t frequency; };
struct maccmd_rx_param_setup_ans { bool rx1_dr_offset_ack, rx2_data_rate_ack, channel_ack; };
struct maccmd_dev_status_ans {
	uint8_t battery;               /* 0 external power, 1..254 level, 255 unknown */
	int8_t margin;                 /* dB, signed 6-bit: -32..31 */
};
struct maccmd_new_channel_req { uint8_t ch_index; uint32_t frequency; uint8_t min_dr, max_dr; };
struct maccmd_new_channel_ans { bool data_rate_range_ok, channel_frequency_ok; };
struct maccmd_rx_timing_setup_req { uint8_t delay; };  /* Del: 0 and 1 both mean 1 s */
struct maccmd_tx_param_setup_req { bool downlink_dwell_time, uplink_dwell_time; uint8_t max_eirp; };
struct maccmd_dl_channel_req { uint8_t ch_index; uint32_t frequency; };
struct maccmd_dl_channel_ans { bool uplink_frequency_exists, channel_frequency_ok; };
struct maccmd_device_time_ans {
	uint32_t seconds;              /* since the GPS epoch */
	uint8_t fraction;              /* units of 1/256 s */
};
struct maccmd_ping_slot_info_req { uint8_t periodicity; };
struct maccmd_ping_slot_channel_req { uint32_t frequency; uint8_t data_rate; };
struct maccmd_ping_slot_channel_ans { bool data_rate_ok, channel_frequency_ok; };
struct maccmd_beacon_timing_ans { uint16_t delay; uint8_t channel; };
struct maccmd_beacon_freq_req { uint32_t frequency; };
struct maccmd_beacon_freq_ans { bool beacon_frequency_ok; };

/* One command. `cid` and `dir` select the member of `u` that is valid
 * (commands without payload use none). `len` and `payload` are the raw
 * bytes after the CID, filled by maccmd_parse(), ignored by maccmd_build(). */
struct maccmd {
	uint8_t cid;
	enum lw_dir dir;
	uint8_t len;
	uint8_t payload[MACCMD_MAX_PAYLOAD];
	union {
		struct maccmd_link_check_ans link_check_ans;
		struct maccmd_link_adr_req link_adr_req;
		struct maccmd_link_adr_ans link_adr_ans;
		struct maccmd_duty_cycle_req duty_cycle_req;
		struct maccmd_rx_param_setup_req rx_param_setup_req;
		struct maccmd_rx_param_setup_ans rx_param_setup_ans;
		struct maccmd_dev_status_ans dev_status_ans;
		struct maccmd_new_channel_req new_channel_req;
		struct maccmd_new_channel_ans new_channel_ans;
		struct maccmd_rx_timing_setup_req rx_timing_setup_req;
		struct maccmd_tx_param_setup_req tx_param_setup_req;
		struct maccmd_dl_channel_req dl_channel_req;
		struct maccmd_dl_channel_ans dl_channel_ans;
		struct maccmd_device_time_ans device_time_ans;
		struct maccmd_ping_slot_info_req ping_slot_info_req;
		struct maccmd_ping_slot_channel_req ping_slot_channel_req;
		struct maccmd_ping_slot_channel_ans ping_slot_channel_ans;
		struct maccmd_beacon_timing_ans beacon_timing_ans;
		struct maccmd_beacon_freq_req beacon_freq_req;
		struct maccmd_beacon_freq_ans beacon_freq_ans;
	} u;
};

/* Name of a command ("LinkCheckReq", "DevStatusAns", ...) or NULL if the
 * CID is unknown in that direction. */
const char *maccmd_name(uint8_t cid, enum lw_dir dir);

/* Payload length after the CID, or -1 if the CID is unknown. */
int maccmd_payload_len(uint8_t cid, enum lw_dir dir);

/*
 * Parse the commands in buf[0..len) sent in direction `dir` into out[0..max).
 * *n receives the number of commands parsed; they are kept on every error.
 * Errors: LB_ERR_UNKNOWN_TYPE (unknown CID: parsing stopped at it),
 * LB_ERR_TOO_SHORT (the last command's payload is cut off),
 * LB_ERR_FULL (more than `max` commands; out holds the first max),
 * LB_ERR_INVAL (NULL arguments with len > 0, or a bad dir).
 * maccmd_consumed(out, *n) gives the offset where parsing stopped.
 */
int maccmd_parse(const uint8_t *buf, size_t len, enum lw_dir dir,
		 struct maccmd *out, size_t max, size_t *n);

/* Bytes the first n parsed commands occupy on the wire (CIDs included). */
size_t maccmd_consumed(const struct maccmd *cmds, size_t n);

/*
 * Append the wire form (CID | payload) of cmd to out[0..cap): the payload is
 * packed from the decoded fields in cmd->u (cmd->payload is ignored).
 * *len receives the bytes written. Errors: LB_ERR_UNKNOWN_TYPE, LB_ERR_RANGE
 * (a field does not fit its bits, a frequency not a multiple of 100 Hz or
 * above 1677.7215 MHz), LB_ERR_TOO_LARGE (cap too small; nothing written).
 */
int maccmd_build(const struct maccmd *cmd, uint8_t *out, size_t cap, size_t *len);

/* One command as a new JSON object, e.g. {"cid":"DevStatusAns","battery":115,
 * "margin":7}; field names are listed in maccmd.c. *out is NULL on error.
 * Errors: LB_ERR_UNKNOWN_TYPE, LB_ERR_NOMEM. */
int maccmd_to_json(const struct maccmd *cmd, struct json_object **out);

/*
 * Parse buf[0..len) and return a new JSON array of the commands. When parsing
 * stops early the array ends with {"error":"UNKNOWN_TYPE"|"TOO_SHORT",
 * "unparsed":"<hex of the remaining bytes>"} and that code is returned, with
 * *out still set: the caller may publish the array as is.
 * Errors: LB_ERR_UNKNOWN_TYPE, LB_ERR_TOO_SHORT (*out set), LB_ERR_NOMEM,
 * LB_ERR_INVAL (*out NULL).
 */
int maccmd_json(const uint8_t *buf, size_t len, enum lw_dir dir, struct json_object **out);

#endif
