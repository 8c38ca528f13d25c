/* SPDX-License-Identifier: MIT */
/*
 * gwmp.c - binary framing of the Semtech UDP protocol (GWMP v1/v2).
 *
 * Header layouts are drawn in gwmp.h; the protocol is summarised in
 * Semtech PROTOCOL.TXT §3.2, §5.2, §5.4 (byte tables) and §3, §5 (packet
 * types). The JSON bodies are in gwmp_json.c
 * (reading) and gwmp_json_write.c (writing); the LoRa `datr` text and the
 * rxpk `time` text, which both need, are in gwmp_text.c. Pure code: no I/O,
 * no clock, no logging.
 */
#include "gwmp/gwmp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gwmp/gwmp_json_write.h"
#include "gwmp/gwmp_text.h"
#include "base/lb_err.h"

#define VERSION_MIN 1
#define VERSION_MAX 2

/* The JSON body starts with '{' and ends with '}' (PROTOCOL.TXT §3.2,
 * §5.4). */
static bool looks_like_object(const uint8_t *s, size_t n)
{
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

static uint64_t read_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void write_be64(uint8_t *p, uint64_t v)
{
	for (size_t i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Only the gateway->server types carry an EUI and are accepted here
 * (PROTOCOL.TXT §3, §5). */
static bool is_upstream_type(uint8_t ident)
{
	return ident == GWMP_PUSH_DATA || ident == GWMP_PULL_DATA || ident == GWMP_TX_ACK;
}

static int parse_body(const uint8_t *buf, size_t len, struct gwmp_header *out)
{
	const uint8_t *json = buf + GWMP_OFF_JSON_UP;
	size_t json_len = len - GWMP_OFF_JSON_UP;

	/* PULL_DATA has no body; anything after the EUI is ignored. */
	if (out->type == GWMP_PULL_DATA)
		return LB_OK;
	gwmp__trim(&json, &json_len);
	if (json_len == 0) {
		/* A TX_ACK without JSON is the v4.0.1 success form (PROTOCOL.TXT §5.5). */
		return out->type == GWMP_TX_ACK ? LB_OK : LB_ERR_JSON;
	}
	if (!looks_like_object(json, json_len))
		return LB_ERR_JSON;
	out->json = json;
	out->json_len = json_len;
	return LB_OK;
}

int gwmp_parse_header(const uint8_t *buf, size_t len, struct gwmp_header *out)
{
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < GWMP_LEN_HDR)
		return LB_ERR_TOO_SHORT;
	if (len > GWMP_MAX_DATAGRAM)
		return LB_ERR_TOO_LARGE;
	if (buf[GWMP_OFF_VERSION] < VERSION_MIN || buf[GWMP_OFF_VERSION] > VERSION_MAX)
		return LB_ERR_VERSION;
	if (!is_upstream_type(buf[GWMP_OFF_IDENT]))
		return LB_ERR_UNKNOWN_TYPE;
	if (len < GWMP_LEN_HDR_EUI)
		return LB_ERR_TOO_SHORT;

	out->version = buf[GWMP_OFF_VERSION];
	memcpy(out->token, buf + GWMP_OFF_TOKEN, GWMP_LEN_TOKEN);
	out->type = (enum gwmp_type)buf[GWMP_OFF_IDENT];
	out->gateway_eui = read_be64(buf + GWMP_OFF_EUI);
	return parse_body(buf, len, out);
}

size_t gwmp_build_ack(const struct gwmp_header *req, uint8_t out[GWMP_LEN_HDR])
{
	uint8_t ident;

	if (req->type == GWMP_PUSH_DATA)
		ident = GWMP_PUSH_ACK;
	else if (req->type == GWMP_PULL_DATA)
		ident = GWMP_PULL_ACK;
	else
		return 0; /* TX_ACK is not acknowledged (PROTOCOL.TXT §5.1) */
	out[GWMP_OFF_VERSION] = req->version;
	memcpy(out + GWMP_OFF_TOKEN, req->token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = ident;
	return GWMP_LEN_HDR;
}

int gwmp_build_pull_resp(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct gwmp_txpk *tx, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t limit = cap < GWMP_MAX_PULL_RESP ? cap : GWMP_MAX_PULL_RESP;
	size_t json_len;
	int err;

	*out_len = 0;
	if (version < VERSION_MIN || version > VERSION_MAX || tx == NULL || out == NULL)
		return LB_ERR_INVAL;
	if (limit <= GWMP_OFF_JSON_DOWN)
		return LB_ERR_TOO_LARGE;
	err = gwmp__txpk_json(tx, (char *)out + GWMP_OFF_JSON_DOWN,
			      limit - GWMP_OFF_JSON_DOWN, &json_len);
	if (err != LB_OK)
		return err;
	out[GWMP_OFF_VERSION] = version;
	memcpy(out + GWMP_OFF_TOKEN, token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = GWMP_PULL_RESP;
	*out_len = GWMP_OFF_JSON_DOWN + json_len;
	return LB_OK;
}

int gwmp_build_up(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN], enum gwmp_type type,
		  uint64_t gateway_eui, const char *json, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t json_len = json != NULL ? strlen(json) : 0;

	*out_len = 0;
	if (version < VERSION_MIN || version > VERSION_MAX || !is_upstream_type((uint8_t)type))
		return LB_ERR_INVAL;
	if (cap < GWMP_LEN_HDR_EUI || json_len > cap - GWMP_LEN_HDR_EUI)
		return LB_ERR_TOO_LARGE;
	out[GWMP_OFF_VERSION] = version;
	memcpy(out + GWMP_OFF_TOKEN, token, GWMP_LEN_TOKEN);
	out[GWMP_OFF_IDENT] = (uint8_t)type;
	write_be64(out + GWMP_OFF_EUI, gateway_eui);
	if (json_len > 0)
		memcpy(out + GWMP_OFF_JSON_UP, json, json_len);
	*out_len = GWMP_LEN_HDR_EUI + json_len;
	return LB_OK;
}

void gwmp_eui_str(uint64_t eui, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, eui);
}
