/* SPDX-License-Identifier: MIT */
/* sim_fault.c - malformed datagrams, see sim_fault.h for the table. */
#include "sim_fault.h"

#include <string.h>

#include "gwmp/gwmp.h"

#define LEN_SHORT 3

/* One rxpk that is valid except for `size`/`data`. */
#define RXPK_HEAD                                                                         \
	"{\"rxpk\":[{\"tmst\":1000000,\"chan\":0,\"rfch\":1,\"freq\":868.100000,\"stat\":1," \
	"\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"lsnr\":7.0,\"rssi\":-60,"

static const char *const json_body[SIM_MALFORMED__COUNT] = {
	[SIM_MALFORMED_JSON] = "{\"rxpk\":[{\"tmst\":1,\"data\":}]}",
	[SIM_MALFORMED_BASE64] = RXPK_HEAD "\"size\":9,\"data\":\"!!not*base64\"}]}",
	/* "QUJDREVGR0hJSktM" is 12 bytes ("ABCDEFGHIJKL"), not 30. */
	[SIM_MALFORMED_SIZE] = RXPK_HEAD "\"size\":30,\"data\":\"QUJDREVGR0hJSktM\"}]}",
};

static const char *const names[SIM_MALFORMED__COUNT] = {
	[SIM_MALFORMED_SHORT] = "short",   [SIM_MALFORMED_VERSION] = "version",
	[SIM_MALFORMED_IDENT] = "ident",   [SIM_MALFORMED_JSON] = "json",
	[SIM_MALFORMED_BASE64] = "base64", [SIM_MALFORMED_SIZE] = "size",
};

const char *sim_malformed_name(enum sim_malformed_kind k)
{
	return (unsigned)k < SIM_MALFORMED__COUNT ? names[k] : "?";
}

/* 12-byte gateway header (Semtech PROTOCOL.TXT §3.2), written by hand so any
 * version and identifier byte can be forged. */
static void put_header(uint8_t *out, uint8_t version, const uint8_t token[2], uint8_t ident,
		       uint64_t eui)
{
	out[GWMP_OFF_VERSION] = version;
	out[GWMP_OFF_TOKEN] = token[0];
	out[GWMP_OFF_TOKEN + 1] = token[1];
	out[GWMP_OFF_IDENT] = ident;
	for (size_t i = 0; i < GWMP_LEN_EUI; i++)
		out[GWMP_OFF_EUI + i] = (uint8_t)(eui >> (56 - 8 * i));
}

size_t sim_malformed_build(enum sim_malformed_kind k, uint8_t version, const uint8_t token[2],
			   uint64_t gateway_eui, uint8_t *out, size_t cap)
{
	if (cap < SIM_MALFORMED_MAX_LEN)
		return 0;
	switch (k) {
	case SIM_MALFORMED_SHORT:
		out[GWMP_OFF_VERSION] = version;
		out[GWMP_OFF_TOKEN] = token[0];
		out[GWMP_OFF_TOKEN + 1] = token[1];
		return LEN_SHORT;
	case SIM_MALFORMED_VERSION:
		put_header(out, SIM_MALFORMED_BAD_VERSION, token, GWMP_PULL_DATA, gateway_eui);
		return GWMP_LEN_HDR_EUI;
	case SIM_MALFORMED_IDENT:
		put_header(out, version, token, SIM_MALFORMED_BAD_IDENT, gateway_eui);
		return GWMP_LEN_HDR_EUI;
	case SIM_MALFORMED_JSON:
	case SIM_MALFORMED_BASE64:
	case SIM_MALFORMED_SIZE: {
		size_t n = strlen(json_body[k]);
		put_header(out, version, token, GWMP_PUSH_DATA, gateway_eui);
		memcpy(out + GWMP_OFF_JSON_UP, json_body[k], n);
		return GWMP_OFF_JSON_UP + n;
	}
	default:
		return 0;
	}
}
