/* SPDX-License-Identifier: MIT */
/*
 * test_gwmp.c - GWMP (Semtech UDP) codec against example datagrams, byte for
 * byte, plus the malformed inputs a gateway (or an attacker) can send.
 *
 * The examples follow Semtech's PROTOCOL.TXT (Lora-net/packet_forwarder;
 * §3 PUSH_DATA/PUSH_ACK, §4 rxpk/stat, §5 PULL_DATA/PULL_ACK/PULL_RESP/TX_ACK,
 * §6 txpk/txpk_ack), protocol version 2, gateway aa555a0000000101; they carry
 * the ChirpStack join-request and join-accept test vectors
 * (chirpstack/chirpstack lrwn/src/phy_payload.rs, AppKey 0102..0f10):
 *   1. PUSH_DATA (join-request + stat) and its PUSH_ACK;
 *   2. PULL_DATA and its PULL_ACK;
 *   3. PULL_RESP (the join-accept in RX1, tmst + 5 s) and its TX_ACK.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwmp/gwmp.h"
#include "gwmp/gwmp_flat.h"
#include "gwmp/gwmp_text.h"
#include "base/lb_err.h"

#define EUI 0xAA555A0000000101ULL
#define MAX_DGRAM 8192

/* Example 1 */
static const uint8_t push_hdr[GWMP_LEN_HDR_EUI] = {0x02, 0x5e, 0x1c, 0x00, 0xaa, 0x55,
						   0x5a, 0x00, 0x00, 0x00, 0x01, 0x01};
static const char push_json[] =
	"{\"rxpk\":[{\"tmst\":3512348611,\"time\":\"2024-05-14T09:12:47.318406Z\","
	"\"tmms\":1399713185318,\"chan\":0,\"rfch\":1,\"freq\":868.100000,\"stat\":1,"
	"\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"lsnr\":9.5,\"rssi\":-57,"
	"\"size\":23,\"data\":\"AAEBAQEBAQEBAgICAgICAgIDAwm5ezI=\"}],"
	"\"stat\":{\"time\":\"2024-05-14 09:12:47 GMT\",\"lati\":46.24000,\"long\":3.25230,"
	"\"alti\":145,\"rxnb\":2,\"rxok\":2,\"rxfw\":2,\"ackr\":100.0,\"dwnb\":0,\"txnb\":0}}";
static const uint8_t join_request[23] = {0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
					 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
					 0x02, 0x03, 0x03, 0x09, 0xb9, 0x7b, 0x32};

/* Example 2 */
static const uint8_t pull_data[GWMP_LEN_HDR_EUI] = {0x02, 0xa7, 0x03, 0x02, 0xaa, 0x55,
						    0x5a, 0x00, 0x00, 0x00, 0x01, 0x01};

/* Example 3 */
static const char pull_resp_json[] =
	"{\"txpk\":{\"imme\":false,\"tmst\":3517348611,\"freq\":868.1,\"rfch\":0,\"powe\":14,"
	"\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"ipol\":true,\"size\":17,"
	"\"ncrc\":true,\"data\":\"ICPPM1SJquMYPAvguqje5fM=\"}}";
static const uint8_t join_accept[17] = {0x20, 0x23, 0xcf, 0x33, 0x54, 0x89, 0xaa, 0xe3, 0x18,
					0x3c, 0x0b, 0xe0, 0xba, 0xa8, 0xde, 0xe5, 0xf3};
static const uint8_t tx_ack_ok[GWMP_LEN_HDR_EUI] = {0x02, 0x31, 0x9d, 0x05, 0xaa, 0x55,
						    0x5a, 0x00, 0x00, 0x00, 0x01, 0x01};
static const uint8_t too_late_json[] = {
	0x7b, 0x22, 0x74, 0x78, 0x70, 0x6b, 0x5f, 0x61, 0x63, 0x6b, 0x22, 0x3a, 0x7b, 0x22, 0x65,
	0x72, 0x72, 0x6f, 0x72, 0x22, 0x3a, 0x22, 0x54, 0x4f, 0x4f, 0x5f, 0x4c, 0x41, 0x54, 0x45,
	0x22, 0x7d, 0x7d};

/* Header + body + `extra` trailing bytes, as a datagram. */
static size_t dgram(uint8_t *out, const uint8_t hdr[GWMP_LEN_HDR_EUI], const char *json,
		    const char *extra, size_t extra_len)
{
	size_t n = strlen(json);

	memcpy(out, hdr, GWMP_LEN_HDR_EUI);
	memcpy(out + GWMP_LEN_HDR_EUI, json, n);
	memcpy(out + GWMP_LEN_HDR_EUI + n, extra, extra_len);
	return GWMP_LEN_HDR_EUI + n + extra_len;
}

static int parse_push_str(const char *json, struct gwmp_push *p)
{
	return gwmp_parse_push((const uint8_t *)json, strlen(json), p);
}

/* One rxpk object wrapped as a PUSH_DATA body; returns its rxpk_err. */
static int parse_one(const char *rxpk_obj, struct gwmp_push *p)
{
	char buf[MAX_DGRAM];

	snprintf(buf, sizeof(buf), "{\"rxpk\":[%s]}", rxpk_obj);
	ck_assert_int_eq(parse_push_str(buf, p), LB_OK);
	ck_assert_uint_eq(p->n_rxpk, 1);
	return p->rxpk_err[0];
}

#define RXPK_MIN "\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\""

/* ----------------------------------------------------------- Example 1 */

START_TEST(t_push_data_header_and_ack)
{
	uint8_t buf[MAX_DGRAM], ack[GWMP_LEN_HDR];
	static const uint8_t expect_ack[] = {0x02, 0x5e, 0x1c, 0x01};
	struct gwmp_header h;
	size_t n = dgram(buf, push_hdr, push_json, "", 0);

	ck_assert_uint_eq(strlen(push_json), 394);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_OK);
	ck_assert_uint_eq(h.version, 2);
	ck_assert_int_eq(h.type, GWMP_PUSH_DATA);
	ck_assert_uint_eq(h.token[0], 0x5e);
	ck_assert_uint_eq(h.token[1], 0x1c);
	ck_assert_uint_eq(h.gateway_eui, EUI);
	ck_assert_ptr_eq(h.json, buf + 12);
	ck_assert_uint_eq(h.json_len, 394);
	ck_assert_uint_eq(gwmp_build_ack(&h, ack), 4);
	ck_assert_mem_eq(ack, expect_ack, 4);
}
END_TEST

START_TEST(t_push_data_fields)
{
	struct gwmp_push p;
	const struct gwmp_rxpk *r = &p.rxpk[0];

	ck_assert_int_eq(parse_push_str(push_json, &p), LB_OK);
	ck_assert_uint_eq(p.n_rxpk, 1);
	ck_assert_uint_eq(p.n_rxpk_excess, 0);
	ck_assert_int_eq(p.rxpk_err[0], LB_OK);
	ck_assert_uint_eq(r->tmst, 3512348611u);
	ck_assert(r->has_time);
	ck_assert_int_eq(r->time_us, 1715677967318406LL);
	ck_assert(r->has_tmms);
	ck_assert_uint_eq(r->tmms, 1399713185318ULL);
	ck_assert_int_eq(r->chan, 0);
	ck_assert_int_eq(r->rfch, 1);
	ck_assert_uint_eq(r->freq_hz, 868100000u);
	ck_assert_int_eq(r->stat, 1);
	ck_assert_int_eq(r->modu, GWMP_MOD_LORA);
	ck_assert_uint_eq(r->sf, 7);
	ck_assert_uint_eq(r->bw_khz, 125);
	ck_assert_uint_eq(r->cr, 1);
	ck_assert(r->has_lsnr);
	ck_assert_float_eq(r->lsnr, 9.5f);
	ck_assert(r->has_rssi);
	ck_assert_int_eq(r->rssi, -57);
	ck_assert_uint_eq(r->size, 23);
	ck_assert_mem_eq(r->data, join_request, 23);

	ck_assert(p.has_stat);
	ck_assert(p.stat.has_time);
	ck_assert_str_eq(p.stat.time, "2024-05-14 09:12:47 GMT");
	ck_assert(p.stat.has_location);
	ck_assert_double_eq_tol(p.stat.lati, 46.24, 1e-9);
	ck_assert_double_eq_tol(p.stat.lon, 3.2523, 1e-9);
	ck_assert_int_eq(p.stat.alti, 145);
	ck_assert(p.stat.has_alti);
	ck_assert_uint_eq(p.stat.rxnb, 2);
	ck_assert_uint_eq(p.stat.rxok, 2);
	ck_assert_uint_eq(p.stat.rxfw, 2);
	ck_assert_double_eq(p.stat.ackr, 100.0);
	ck_assert_uint_eq(p.stat.dwnb, 0);
	ck_assert_uint_eq(p.stat.txnb, 0);
	ck_assert(!p.stat.has_temp);
}
END_TEST

/* The simulator's writer reproduces lora_pkt_fwd v4.0.1 output exactly. */
START_TEST(t_push_data_format_roundtrip)
{
	struct gwmp_push p;
	char json[MAX_DGRAM];
	uint8_t buf[MAX_DGRAM], expect[MAX_DGRAM];
	size_t n, expect_n = dgram(expect, push_hdr, push_json, "", 0);
	int len;

	ck_assert_int_eq(parse_push_str(push_json, &p), LB_OK);
	len = gwmp_format_push(p.rxpk, 1, &p.stat, json, sizeof(json));
	ck_assert_int_eq(len, 394);
	ck_assert_str_eq(json, push_json);
	ck_assert_int_eq(gwmp_build_up(2, push_hdr + 1, GWMP_PUSH_DATA, EUI, json, buf,
				       sizeof(buf), &n), LB_OK);
	ck_assert_uint_eq(n, expect_n);
	ck_assert_mem_eq(buf, expect, n);
	ck_assert_int_eq(gwmp_format_push(p.rxpk, 1, &p.stat, json, 394), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(gwmp_format_push(p.rxpk, 1, &p.stat, json, 395), 394);
	ck_assert_int_eq(gwmp_format_push(NULL, 0, NULL, json, sizeof(json)), LB_ERR_INVAL);
}
END_TEST

START_TEST(t_push_data_v1)
{
	uint8_t buf[MAX_DGRAM], hdr[GWMP_LEN_HDR_EUI], ack[GWMP_LEN_HDR];
	static const uint8_t expect_ack[] = {0x01, 0x5e, 0x1c, 0x01};
	struct gwmp_header h;
	struct gwmp_push p;
	size_t n;

	memcpy(hdr, push_hdr, sizeof(hdr));
	hdr[0] = 1;
	n = dgram(buf, hdr, push_json, "", 0);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_OK);
	ck_assert_uint_eq(h.version, 1);
	ck_assert_uint_eq(gwmp_build_ack(&h, ack), 4);
	ck_assert_mem_eq(ack, expect_ack, 4);
	ck_assert_int_eq(gwmp_parse_push(h.json, h.json_len, &p), LB_OK);
	ck_assert_int_eq(p.rxpk_err[0], LB_OK);
}
END_TEST

/* ----------------------------------------------------------- Example 2 */

START_TEST(t_pull_data_ack)
{
	static const uint8_t expect_ack[] = {0x02, 0xa7, 0x03, 0x04};
	uint8_t ack[GWMP_LEN_HDR], buf[64];
	struct gwmp_header h;
	size_t n;

	ck_assert_int_eq(gwmp_parse_header(pull_data, sizeof(pull_data), &h), LB_OK);
	ck_assert_int_eq(h.type, GWMP_PULL_DATA);
	ck_assert_uint_eq(h.gateway_eui, EUI);
	ck_assert_ptr_null(h.json);
	ck_assert_uint_eq(h.json_len, 0);
	ck_assert_uint_eq(gwmp_build_ack(&h, ack), 4);
	ck_assert_mem_eq(ack, expect_ack, 4);
	ck_assert_int_eq(gwmp_build_up(2, pull_data + 1, GWMP_PULL_DATA, EUI, NULL, buf,
				       sizeof(buf), &n), LB_OK);
	ck_assert_uint_eq(n, 12);
	ck_assert_mem_eq(buf, pull_data, 12);
	ck_assert_int_eq(gwmp_build_up(2, pull_data + 1, GWMP_PULL_DATA, EUI, NULL, buf, 11, &n),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(gwmp_build_up(3, pull_data + 1, GWMP_PULL_DATA, EUI, NULL, buf,
				       sizeof(buf), &n), LB_ERR_INVAL);
	ck_assert_int_eq(gwmp_build_up(2, pull_data + 1, GWMP_PULL_RESP, EUI, NULL, buf,
				       sizeof(buf), &n), LB_ERR_INVAL);
}
END_TEST

/* ----------------------------------------------------------- Example 3 */

static void join_accept_txpk(struct gwmp_txpk *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->has_tmst = true;
	tx->tmst = 3517348611u;
	tx->freq_hz = 868100000;
	tx->powe = 14;
	tx->modu = GWMP_MOD_LORA;
	tx->sf = 7;
	tx->bw_khz = 125;
	tx->cr = 1;
	tx->ipol = true;
	tx->ncrc = true;
	tx->size = sizeof(join_accept);
	memcpy(tx->data, join_accept, sizeof(join_accept));
}

START_TEST(t_pull_resp_build)
{
	static const uint8_t token[2] = {0x31, 0x9d};
	uint8_t buf[GWMP_MAX_PULL_RESP + 100];
	struct gwmp_txpk tx;
	size_t n;

	ck_assert_uint_eq(strlen(pull_resp_json), 186);
	join_accept_txpk(&tx);
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_OK);
	ck_assert_uint_eq(n, 4 + 186);
	ck_assert_uint_eq(buf[0], 0x02);
	ck_assert_uint_eq(buf[1], 0x31);
	ck_assert_uint_eq(buf[2], 0x9d);
	ck_assert_uint_eq(buf[3], 0x03);
	ck_assert_mem_eq(buf + 4, pull_resp_json, 186);
	/* exactly fitting, and one byte short */
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, 190, &n), LB_OK);
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, 189, &n), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(t_pull_resp_parse_roundtrip)
{
	struct gwmp_txpk tx, expect;

	join_accept_txpk(&expect);
	ck_assert_int_eq(gwmp_parse_pull_resp((const uint8_t *)pull_resp_json,
					      strlen(pull_resp_json), &tx), LB_OK);
	ck_assert(!tx.imme);
	ck_assert(tx.has_tmst);
	ck_assert_uint_eq(tx.tmst, expect.tmst);
	ck_assert(!tx.has_tmms);
	ck_assert_uint_eq(tx.freq_hz, expect.freq_hz);
	ck_assert_int_eq(tx.rfch, 0);
	ck_assert_int_eq(tx.powe, 14);
	ck_assert_int_eq(tx.modu, GWMP_MOD_LORA);
	ck_assert_uint_eq(tx.sf, 7);
	ck_assert_uint_eq(tx.bw_khz, 125);
	ck_assert_uint_eq(tx.cr, 1);
	ck_assert(tx.ipol);
	ck_assert(tx.ncrc);
	ck_assert_int_eq(tx.prea, 0);
	ck_assert_uint_eq(tx.size, 17);
	ck_assert_mem_eq(tx.data, join_accept, 17);
}
END_TEST

/* FSK downlink, class C (imme) with GPS time and preamble: build then parse. */
START_TEST(t_pull_resp_fsk_roundtrip)
{
	static const uint8_t token[2] = {0, 0};
	uint8_t buf[GWMP_MAX_PULL_RESP];
	struct gwmp_txpk tx = {0}, back;
	size_t n;

	tx.imme = true;
	tx.has_tmms = true;
	tx.tmms = 1399713185318ULL;
	tx.freq_hz = 868800000;
	tx.rfch = 1;
	tx.powe = 27;
	tx.modu = GWMP_MOD_FSK;
	tx.bitrate = 50000;
	tx.fdev = 25000;
	tx.prea = 5;
	tx.size = 3;
	memcpy(tx.data, "\xff\x00\x7f", 3);
	ck_assert_int_eq(gwmp_build_pull_resp(1, token, &tx, buf, sizeof(buf), &n), LB_OK);
	buf[n] = '\0';
	ck_assert_str_eq((char *)buf + 4,
			 "{\"txpk\":{\"imme\":true,\"tmms\":1399713185318,\"freq\":868.8,\"rfch\":1,"
			 "\"powe\":27,\"modu\":\"FSK\",\"datr\":50000,\"fdev\":25000,\"prea\":5,"
			 "\"size\":3,\"ncrc\":false,\"data\":\"/wB/\"}}");
	ck_assert_int_eq(gwmp_parse_pull_resp(buf + 4, n - 4, &back), LB_OK);
	ck_assert(back.imme && back.has_tmms && !back.has_tmst);
	ck_assert_uint_eq(back.tmms, tx.tmms);
	ck_assert_uint_eq(back.freq_hz, tx.freq_hz);
	ck_assert_int_eq(back.modu, GWMP_MOD_FSK);
	ck_assert_uint_eq(back.bitrate, 50000);
	ck_assert_uint_eq(back.fdev, 25000);
	ck_assert_int_eq(back.prea, 5);
	ck_assert_uint_eq(back.size, 3);
	ck_assert_mem_eq(back.data, tx.data, 3);
}
END_TEST

START_TEST(t_pull_resp_build_invalid)
{
	static const uint8_t token[2] = {1, 2};
	uint8_t buf[GWMP_MAX_PULL_RESP];
	struct gwmp_txpk tx;
	size_t n;

	join_accept_txpk(&tx);
	ck_assert_int_eq(gwmp_build_pull_resp(0, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	ck_assert_int_eq(gwmp_build_pull_resp(3, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	tx.has_tmst = false; /* no imme, tmst, tmms: unschedulable */
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	join_accept_txpk(&tx);
	tx.sf = 13;
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	join_accept_txpk(&tx);
	tx.cr = 0;
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	join_accept_txpk(&tx);
	tx.size = 256;
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	join_accept_txpk(&tx);
	tx.modu = GWMP_MOD_FSK; /* no bitrate/fdev */
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
	join_accept_txpk(&tx);
	tx.modu = GWMP_MOD_LRFHSS;
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_ERR_INVAL);
}
END_TEST

/* A maximal payload still fits the forwarder's 1000-byte buffer (lora_pkt_fwd.c). */
START_TEST(t_pull_resp_max_payload)
{
	static const uint8_t token[2] = {1, 2};
	uint8_t buf[2 * GWMP_MAX_PULL_RESP];
	struct gwmp_txpk tx, back;
	size_t n;

	join_accept_txpk(&tx);
	tx.size = GWMP_MAX_PHY;
	for (int i = 0; i < GWMP_MAX_PHY; i++)
		tx.data[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, sizeof(buf), &n), LB_OK);
	ck_assert_uint_le(n, GWMP_MAX_PULL_RESP);
	ck_assert_int_eq(gwmp_parse_pull_resp(buf + 4, n - 4, &back), LB_OK);
	ck_assert_mem_eq(back.data, tx.data, GWMP_MAX_PHY);
	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &tx, buf, n - 1, &n), LB_ERR_TOO_LARGE);
}
END_TEST

START_TEST(t_pull_resp_parse_errors)
{
	static const struct {
		const char *json;
		int err;
	} cases[] = {
		{"{}", LB_ERR_JSON},
		{"{\"txpk\":[]}", LB_ERR_JSON},
		{"{\"txpk\":{\"imme\":false,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_JSON}, /* neither imme:true nor tmst/tmms */
		{"{\"txpk\":{\"imme\":true,\"rfch\":0,\"modu\":\"LORA\",\"datr\":\"SF7BW125\","
		 "\"codr\":\"4/5\",\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_JSON}, /* no freq */
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_JSON}, /* LoRa without codr */
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"OFF\",\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_MALFORMED},
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"FSK\","
		 "\"datr\":50000,\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_JSON}, /* FSK without fdev */
		{"{\"txpk\":{\"imme\":\"yes\",\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"AA\"}}",
		 LB_ERR_JSON},
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"A!\"}}",
		 LB_ERR_BASE64},
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":2,\"data\":\"AA\"}}",
		 LB_ERR_SIZE_MISMATCH},
		/* padding is optional in txpk data (PROTOCOL.TXT §6) */
		{"{\"txpk\":{\"imme\":true,\"freq\":868.1,\"rfch\":0,\"modu\":\"LORA\","
		 "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"size\":1,\"data\":\"AA\"}}",
		 LB_OK},
	};
	struct gwmp_txpk tx;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = gwmp_parse_pull_resp((const uint8_t *)cases[i].json,
					       strlen(cases[i].json), &tx);

		ck_assert_msg(err == cases[i].err, "case %zu: got %s, want %s", i,
			      lb_errname(err), lb_errname(cases[i].err));
	}
}
END_TEST

/* ---------------------------------------------------------------- TX_ACK */

START_TEST(t_tx_ack_success_no_json)
{
	struct gwmp_header h;
	struct gwmp_txack a;
	uint8_t ack[GWMP_LEN_HDR], buf[64];
	size_t n;

	ck_assert_int_eq(gwmp_parse_header(tx_ack_ok, sizeof(tx_ack_ok), &h), LB_OK);
	ck_assert_int_eq(h.type, GWMP_TX_ACK);
	ck_assert_uint_eq(h.token[0], 0x31);
	ck_assert_uint_eq(h.token[1], 0x9d);
	ck_assert_uint_eq(h.gateway_eui, EUI);
	ck_assert_ptr_null(h.json);
	ck_assert_uint_eq(gwmp_build_ack(&h, ack), 0); /* TX_ACK is not acked */
	ck_assert_int_eq(gwmp_parse_txack(h.json, h.json_len, &a), LB_OK);
	ck_assert_str_eq(a.error, "");
	ck_assert_str_eq(a.warn, "");
	ck_assert(!a.has_value);
	ck_assert_int_eq(gwmp_build_up(2, tx_ack_ok + 1, GWMP_TX_ACK, EUI, NULL, buf, sizeof(buf),
				       &n), LB_OK);
	ck_assert_uint_eq(n, 12);
	ck_assert_mem_eq(buf, tx_ack_ok, 12);
}
END_TEST

START_TEST(t_tx_ack_too_late)
{
	uint8_t buf[MAX_DGRAM], built[MAX_DGRAM];
	struct gwmp_header h;
	struct gwmp_txack a;
	size_t n = sizeof(tx_ack_ok) + sizeof(too_late_json), bn;

	memcpy(buf, tx_ack_ok, sizeof(tx_ack_ok));
	memcpy(buf + sizeof(tx_ack_ok), too_late_json, sizeof(too_late_json));
	ck_assert_int_eq(gwmp_build_up(2, tx_ack_ok + 1, GWMP_TX_ACK, EUI,
				       "{\"txpk_ack\":{\"error\":\"TOO_LATE\"}}", built,
				       sizeof(built), &bn), LB_OK);
	ck_assert_uint_eq(bn, n);
	ck_assert_mem_eq(built, buf, n);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_OK);
	ck_assert_uint_eq(h.json_len, sizeof(too_late_json));
	ck_assert_int_eq(gwmp_parse_txack(h.json, h.json_len, &a), LB_OK);
	ck_assert_str_eq(a.error, "TOO_LATE");
	ck_assert_str_eq(a.warn, "");
}
END_TEST

static void txack_str(const char *json, int want_err, struct gwmp_txack *a)
{
	ck_assert_int_eq(gwmp_parse_txack((const uint8_t *)json, strlen(json), a), want_err);
}

START_TEST(t_tx_ack_variants)
{
	struct gwmp_txack a;

	txack_str("{\"txpk_ack\":{\"error\":\"NONE\"}}", LB_OK, &a);
	ck_assert_str_eq(a.error, "");
	txack_str("{\"txpk_ack\":{\"error\":\"\"}}", LB_OK, &a);
	ck_assert_str_eq(a.error, "");
	txack_str("{\"txpk_ack\":{}}", LB_OK, &a);
	ck_assert_str_eq(a.error, "");
	txack_str("  \r\n", LB_OK, &a);
	ck_assert_str_eq(a.error, "");
	/* sx1302_hal: TX_POWER is a warning, value = dBm used */
	txack_str("{\"txpk_ack\":{\"warn\":\"TX_POWER\",\"value\":20}}", LB_OK, &a);
	ck_assert_str_eq(a.error, "");
	ck_assert_str_eq(a.warn, "TX_POWER");
	ck_assert(a.has_value);
	ck_assert_int_eq(a.value, 20);
	txack_str("{\"txpk_ack\":{\"warn\":\"TX_POWER\",\"value\":\"14\"}}", LB_OK, &a);
	ck_assert(a.has_value);
	ck_assert_int_eq(a.value, 14);
	txack_str("{\"txpk_ack\":{\"warn\":\"TX_FREQ\",\"value\":\"n/a\"}}", LB_OK, &a);
	ck_assert(!a.has_value);
	/* beyond int as text: no value, also where long is 32 bits (armhf),
	 * whose strtol would clamp it to INT_MAX */
	txack_str("{\"txpk_ack\":{\"warn\":\"TX_POWER\",\"value\":\"3000000000\"}}", LB_OK, &a);
	ck_assert(!a.has_value);
	txack_str("{\"txpk_ack\":{\"error\":\"COLLISION_PACKET_AND_A_VERY_LONG_SUFFIX\"}}",
		  LB_OK, &a);
	ck_assert_str_eq(a.error, "COLLISION_PACKET_AND_A_VERY_LON"); /* bounded copy */
	txack_str("{\"txpk_ack\":{\"error\":7}}", LB_ERR_JSON, &a);
	ck_assert_str_eq(a.error, "");
	txack_str("{\"txpk_ack\":\"TOO_LATE\"}", LB_ERR_JSON, &a);
	txack_str("{\"other\":{}}", LB_ERR_JSON, &a);
	txack_str("{\"txpk_ack\":{\"error\":\"TOO_LATE\"}", LB_ERR_JSON, &a);
	txack_str("{\"txpk_ack\":{\"value\":true}}", LB_ERR_JSON, &a);
}
END_TEST

/* ---------------------------------------------------------------- header errors */

START_TEST(t_header_short)
{
	uint8_t buf[GWMP_LEN_HDR_EUI];
	struct gwmp_header h;

	memcpy(buf, pull_data, sizeof(buf));
	ck_assert_int_eq(gwmp_parse_header(NULL, 0, &h), LB_ERR_TOO_SHORT);
	for (size_t n = 0; n < GWMP_LEN_HDR; n++)
		ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_TOO_SHORT);
	for (size_t n = GWMP_LEN_HDR; n < GWMP_LEN_HDR_EUI; n++)
		ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_TOO_SHORT);
	buf[GWMP_OFF_IDENT] = GWMP_TX_ACK;
	ck_assert_int_eq(gwmp_parse_header(buf, 11, &h), LB_ERR_TOO_SHORT);
	buf[GWMP_OFF_IDENT] = GWMP_PUSH_DATA;
	ck_assert_int_eq(gwmp_parse_header(buf, 11, &h), LB_ERR_TOO_SHORT);
}
END_TEST

START_TEST(t_header_version)
{
	static const uint8_t bad[] = {0x00, 0x03, 0x04, 0xff};
	uint8_t buf[GWMP_LEN_HDR_EUI];
	struct gwmp_header h;

	memcpy(buf, pull_data, sizeof(buf));
	for (size_t i = 0; i < sizeof(bad); i++) {
		buf[0] = bad[i];
		ck_assert_int_eq(gwmp_parse_header(buf, sizeof(buf), &h), LB_ERR_VERSION);
	}
}
END_TEST

START_TEST(t_header_unknown_type)
{
	/* server->gateway types, and identifiers the protocol does not define */
	static const uint8_t bad[] = {GWMP_PUSH_ACK, GWMP_PULL_RESP, GWMP_PULL_ACK, 0x06, 0x7f,
				      0xff};
	uint8_t buf[GWMP_LEN_HDR_EUI];
	struct gwmp_header h;

	memcpy(buf, pull_data, sizeof(buf));
	for (size_t i = 0; i < sizeof(bad); i++) {
		buf[GWMP_OFF_IDENT] = bad[i];
		ck_assert_int_eq(gwmp_parse_header(buf, sizeof(buf), &h), LB_ERR_UNKNOWN_TYPE);
		ck_assert_int_eq(gwmp_parse_header(buf, GWMP_LEN_HDR, &h), LB_ERR_UNKNOWN_TYPE);
	}
}
END_TEST

START_TEST(t_header_too_large)
{
	uint8_t *buf = calloc(1, GWMP_MAX_DATAGRAM + 1);
	struct gwmp_header h;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, push_hdr, sizeof(push_hdr));
	buf[12] = '{';
	memset(buf + 13, ' ', GWMP_MAX_DATAGRAM - 14);
	buf[GWMP_MAX_DATAGRAM - 1] = '}';
	ck_assert_int_eq(gwmp_parse_header(buf, GWMP_MAX_DATAGRAM, &h), LB_OK);
	ck_assert_uint_eq(h.json_len, GWMP_MAX_DATAGRAM - 12);
	ck_assert_int_eq(gwmp_parse_header(buf, GWMP_MAX_DATAGRAM + 1, &h), LB_ERR_TOO_LARGE);
	free(buf);
}
END_TEST

START_TEST(t_header_push_body)
{
	uint8_t buf[MAX_DGRAM];
	struct gwmp_header h;
	size_t n;

	n = dgram(buf, push_hdr, "", "", 0); /* PUSH_DATA must carry JSON */
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_JSON);
	n = dgram(buf, push_hdr, "[{\"rxpk\":[]}]", "", 0);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_JSON);
	n = dgram(buf, push_hdr, "{\"stat\":{}} x", "", 0);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_JSON);
	n = dgram(buf, push_hdr, "}", "", 0);
	ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_ERR_JSON);
	memcpy(buf, tx_ack_ok, 12);
	memcpy(buf + 12, "TOO_LATE", 8);
	ck_assert_int_eq(gwmp_parse_header(buf, 20, &h), LB_ERR_JSON);
}
END_TEST

/* Trailing NUL / whitespace from other forwarders is tolerated. */
START_TEST(t_header_trailing_nul_whitespace)
{
	static const char tails[][6] = {"\0", "\n", "\r\n", " \t\0\0", "\0\0\0\0\0"};
	static const size_t tail_len[] = {1, 1, 2, 4, 5};
	uint8_t buf[MAX_DGRAM];
	struct gwmp_header h;
	struct gwmp_push p;
	struct gwmp_txack a;

	for (size_t i = 0; i < sizeof(tail_len) / sizeof(tail_len[0]); i++) {
		size_t n = dgram(buf, push_hdr, push_json, tails[i], tail_len[i]);

		ck_assert_int_eq(gwmp_parse_header(buf, n, &h), LB_OK);
		ck_assert_uint_eq(h.json_len, 394);
		ck_assert_int_eq(gwmp_parse_push(h.json, h.json_len, &p), LB_OK);
		/* and when given the untrimmed body directly */
		ck_assert_int_eq(gwmp_parse_push(buf + 12, n - 12, &p), LB_OK);
		ck_assert_int_eq(p.rxpk_err[0], LB_OK);
	}
	memcpy(buf, tx_ack_ok, 12);
	memcpy(buf + 12, "\0\n", 2); /* TX_ACK success with padding only */
	ck_assert_int_eq(gwmp_parse_header(buf, 14, &h), LB_OK);
	ck_assert_ptr_null(h.json);
	ck_assert_int_eq(gwmp_parse_txack(buf + 12, 2, &a), LB_OK);
	ck_assert_str_eq(a.error, "");
}
END_TEST

/* ---------------------------------------------------------------- body errors */

START_TEST(t_push_bad_json)
{
	static const char *const bad[] = {
		"{\"rxpk\":[}",
		"{\"rxpk\":[{\"freq\":868.1,}]}",   /* trailing comma: strict parser */
		"{} x",
		"{}{}",
		"[{\"rxpk\":[]}]",
		"\"rxpk\"",
		"{\"rxpk\":{}}",                   /* rxpk must be an array */
		"{\"stat\":[]}",                   /* stat must be an object */
		"{\"rxpk\":[],\"stat\":\"x\"}",
		"{\"stat\":{\"time\":\"\xff\xfe\"}}", /* not UTF-8 */
		"",
		"   ",
	};
	struct gwmp_push p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_push_str(bad[i], &p) == LB_ERR_JSON, "case %zu", i);
	ck_assert_int_eq(gwmp_parse_push(NULL, 0, &p), LB_ERR_JSON);
	/* an embedded NUL does not end the document early */
	ck_assert_int_eq(gwmp_parse_push((const uint8_t *)"{}\0{}", 5, &p), LB_ERR_JSON);
}
END_TEST

/* One bad rxpk does not spoil its neighbours; each error has its reason. */
START_TEST(t_push_rxpk_errors)
{
	static const struct {
		const char *obj;
		int err;
	} cases[] = {
		{"{" RXPK_MIN "}", LB_OK},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"A*==\"}", LB_ERR_BASE64},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AAA=\"}",
		 LB_ERR_SIZE_MISMATCH},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":256,\"data\":\"\"}", LB_ERR_TOO_LARGE},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1}", LB_ERR_JSON},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"data\":\"AA==\"}", LB_ERR_JSON},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":\"1\",\"data\":\"AA==\"}",
		 LB_ERR_JSON},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1,\"data\":42}", LB_ERR_JSON},
		{"{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":-1,\"data\":\"\"}", LB_ERR_MALFORMED},
		{"{\"tmst\":\"abc\"," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"tmst\":1.5," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"tmst\":4294967296," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"freq\":868.1,\"datr\":\"SF13BW125\",\"size\":1,\"data\":\"AA==\"}",
		 LB_ERR_MALFORMED},
		{"{\"freq\":868.1,\"datr\":\"SF7BW126\",\"size\":1,\"data\":\"AA==\"}",
		 LB_ERR_MALFORMED},
		{"{\"freq\":868.1,\"modu\":\"LORA\",\"datr\":50000,\"size\":1,\"data\":\"AA==\"}",
		 LB_ERR_JSON},
		{"{\"freq\":868.1,\"size\":1,\"data\":\"AA==\"}", LB_ERR_JSON}, /* no datr */
		{"{\"freq\":-1,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\"}", LB_ERR_MALFORMED},
		{"{\"freq\":0,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\"}", LB_ERR_MALFORMED},
		{"{\"freq\":5000,\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\"}",
		 LB_ERR_MALFORMED},
		{"{\"freq\":\"868.1\",\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\"}",
		 LB_ERR_JSON},
		{"{\"datr\":\"SF7BW125\",\"size\":1,\"data\":\"AA==\"}", LB_ERR_JSON}, /* no freq */
		{"{\"codr\":\"4/9\"," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"codr\":5," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"modu\":\"GFSK\"," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"stat\":2," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"rssi\":\"-57\"," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"lsnr\":true," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"time\":5," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"time\":\"yesterday\"," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"tmms\":-5," RXPK_MIN "}", LB_ERR_MALFORMED},
		{"{\"rsig\":{}," RXPK_MIN "}", LB_ERR_JSON},
		{"{\"rsig\":[1]," RXPK_MIN "}", LB_ERR_JSON},
		{"7", LB_ERR_JSON},
		{"[]", LB_ERR_JSON},
		{"{" RXPK_MIN "}", LB_OK},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	char json[MAX_DGRAM];
	struct gwmp_push p;

	/* All of them in as few datagrams as GWMP_MAX_RXPK allows, neighbours mixed. */
	for (size_t first = 0; first < n; first += GWMP_MAX_RXPK) {
		size_t count = n - first < GWMP_MAX_RXPK ? n - first : GWMP_MAX_RXPK;
		size_t off = (size_t)snprintf(json, sizeof(json), "{\"rxpk\":[");

		for (size_t i = 0; i < count; i++)
			off += (size_t)snprintf(json + off, sizeof(json) - off, "%s%s",
						i ? "," : "", cases[first + i].obj);
		snprintf(json + off, sizeof(json) - off, "]}");
		ck_assert_int_eq(parse_push_str(json, &p), LB_OK);
		ck_assert_uint_eq(p.n_rxpk, count);
		for (size_t i = 0; i < count; i++)
			ck_assert_msg(p.rxpk_err[i] == cases[first + i].err,
				      "rxpk %zu: got %s, want %s", first + i,
				      lb_errname(p.rxpk_err[i]), lb_errname(cases[first + i].err));
	}
	ck_assert_uint_eq(p.rxpk[p.n_rxpk - 1].size, 1);
	ck_assert_uint_eq(p.rxpk[p.n_rxpk - 1].data[0], 0);
	ck_assert_uint_eq(p.rxpk[p.n_rxpk - 1].freq_hz, 868100000);
}
END_TEST

static void b64_of_n(size_t n, char *out)
{
	static const char quad[] = "AAAA"; /* 3 zero bytes */
	size_t q = (n + 2) / 3;

	out[0] = '\0';
	for (size_t i = 0; i < q; i++)
		strcat(out, quad);
	if (n % 3 == 1)
		strcpy(out + 4 * q - 2, "==");
	else if (n % 3 == 2)
		strcpy(out + 4 * q - 1, "=");
}

START_TEST(t_push_payload_limits)
{
	char data[400], obj[600];
	struct gwmp_push p;

	b64_of_n(255, data);
	snprintf(obj, sizeof(obj), "{\"freq\":868.1,\"datr\":\"SF12BW125\",\"size\":255,\"data\":\"%s\"}",
		 data);
	ck_assert_int_eq(parse_one(obj, &p), LB_OK);
	ck_assert_uint_eq(p.rxpk[0].size, 255);
	b64_of_n(256, data);
	snprintf(obj, sizeof(obj), "{\"freq\":868.1,\"datr\":\"SF12BW125\",\"size\":256,\"data\":\"%s\"}",
		 data);
	ck_assert_int_eq(parse_one(obj, &p), LB_ERR_TOO_LARGE);
	/* size claims 255 but data decodes to 256 bytes */
	snprintf(obj, sizeof(obj), "{\"freq\":868.1,\"datr\":\"SF12BW125\",\"size\":255,\"data\":\"%s\"}",
		 data);
	ck_assert_int_eq(parse_one(obj, &p), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(parse_one("{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":0,\"data\":\"\"}",
				   &p), LB_OK);
	ck_assert_uint_eq(p.rxpk[0].size, 0);
}
END_TEST

START_TEST(t_push_minimal_and_null)
{
	struct gwmp_push p;
	const struct gwmp_rxpk *r = &p.rxpk[0];

	ck_assert_int_eq(parse_one("{" RXPK_MIN "}", &p), LB_OK);
	ck_assert(!r->has_time && !r->has_tmms && !r->has_rssi && !r->has_lsnr);
	ck_assert_uint_eq(r->tmst, 0);
	ck_assert_int_eq(r->stat, 0);
	ck_assert_int_eq(r->modu, GWMP_MOD_LORA); /* inferred from a string datr */
	ck_assert_uint_eq(r->cr, 0);
	/* JSON null is treated as absent */
	ck_assert_int_eq(parse_one("{\"time\":null,\"rssi\":null,\"tmst\":null," RXPK_MIN "}", &p),
			 LB_OK);
	ck_assert(!r->has_time && !r->has_rssi);
	ck_assert(!p.has_stat);
}
END_TEST

START_TEST(t_push_codr_and_modu)
{
	static const struct {
		const char *codr;
		uint8_t cr;
	} codes[] = {{"4/5", 1}, {"4/6", 2}, {"4/7", 3}, {"4/8", 4}, {"OFF", 0}};
	char obj[256];
	struct gwmp_push p;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(obj, sizeof(obj), "{\"modu\":\"LORA\",\"codr\":\"%s\"," RXPK_MIN "}",
			 codes[i].codr);
		ck_assert_int_eq(parse_one(obj, &p), LB_OK);
		ck_assert_uint_eq(p.rxpk[0].cr, codes[i].cr);
	}
	ck_assert_int_eq(parse_one("{\"freq\":868.1,\"modu\":\"LORA\",\"datr\":\"SF12BW500\","
				   "\"size\":1,\"data\":\"AA==\"}", &p), LB_OK);
	ck_assert_uint_eq(p.rxpk[0].sf, 12);
	ck_assert_uint_eq(p.rxpk[0].bw_khz, 500);
	/* LR-FHSS: datr kept opaque */
	ck_assert_int_eq(parse_one("{\"freq\":868.1,\"modu\":\"LR-FHSS\",\"datr\":\"M0CW137\","
				   "\"codr\":\"2/3\",\"size\":1,\"data\":\"AA==\"}", &p), LB_OK);
	ck_assert_int_eq(p.rxpk[0].modu, GWMP_MOD_LRFHSS);
	ck_assert_uint_eq(p.rxpk[0].sf, 0);
}
END_TEST

/* FSK: datr is a number in bit/s (PROTOCOL.TXT §4). */
START_TEST(t_push_fsk)
{
	static const char fsk[] =
		"{\"rxpk\":[{\"tmst\":1000,\"chan\":9,\"rfch\":1,\"freq\":868.800000,\"stat\":1,"
		"\"modu\":\"FSK\",\"datr\":50000,\"rssi\":-80,\"size\":3,\"data\":\"/wB/\"}]}";
	struct gwmp_push p;
	char out[MAX_DGRAM];
	const struct gwmp_rxpk *r = &p.rxpk[0];

	ck_assert_int_eq(parse_push_str(fsk, &p), LB_OK);
	ck_assert_int_eq(p.rxpk_err[0], LB_OK);
	ck_assert_int_eq(r->modu, GWMP_MOD_FSK);
	ck_assert_uint_eq(r->bitrate, 50000);
	ck_assert_uint_eq(r->sf, 0);
	ck_assert_uint_eq(r->freq_hz, 868800000);
	ck_assert_int_eq(r->chan, 9);
	ck_assert(!r->has_lsnr);
	ck_assert_mem_eq(r->data, "\xff\x00\x7f", 3);
	ck_assert_int_eq(gwmp_format_push(p.rxpk, 1, NULL, out, sizeof(out)), (int)strlen(fsk));
	ck_assert_str_eq(out, fsk);
	/* modu absent: a numeric datr means FSK */
	ck_assert_int_eq(parse_one("{\"freq\":868.8,\"datr\":50000,\"size\":0,\"data\":\"\"}", &p),
			 LB_OK);
	ck_assert_int_eq(r->modu, GWMP_MOD_FSK);
	ck_assert_uint_eq(r->bitrate, 50000);
	ck_assert_int_eq(parse_one("{\"freq\":868.8,\"modu\":\"FSK\",\"datr\":\"50000\","
				   "\"size\":0,\"data\":\"\"}", &p), LB_ERR_JSON);
	ck_assert_int_eq(parse_one("{\"freq\":868.8,\"modu\":\"FSK\",\"datr\":0,"
				   "\"size\":0,\"data\":\"\"}", &p), LB_ERR_MALFORMED);
}
END_TEST

/* Kerlink JSON v2: chan/rssi/lsnr from the first rsig entry when absent. */
START_TEST(t_push_rsig)
{
	struct gwmp_push p;
	const struct gwmp_rxpk *r = &p.rxpk[0];

	ck_assert_int_eq(parse_one("{\"jver\":2,\"brd\":0," RXPK_MIN ",\"rsig\":["
				   "{\"ant\":0,\"chan\":3,\"rssic\":-90,\"rssis\":-95,\"rssisd\":0,"
				   "\"lsnr\":7.5,\"etime\":\"AAAA\"},"
				   "{\"ant\":1,\"chan\":4,\"rssic\":-99,\"lsnr\":-2.0}]}", &p), LB_OK);
	ck_assert_int_eq(r->chan, 3);
	ck_assert(r->has_rssi);
	ck_assert_int_eq(r->rssi, -95);
	ck_assert(r->has_lsnr);
	ck_assert_float_eq(r->lsnr, 7.5f);
	/* only rssic */
	ck_assert_int_eq(parse_one("{" RXPK_MIN ",\"rsig\":[{\"chan\":1,\"rssic\":-101}]}", &p),
			 LB_OK);
	ck_assert_int_eq(r->chan, 1);
	ck_assert_int_eq(r->rssi, -101);
	ck_assert(!r->has_lsnr);
	/* top-level values win */
	ck_assert_int_eq(parse_one("{\"chan\":6,\"rssi\":-40,\"lsnr\":11.0," RXPK_MIN
				   ",\"rsig\":[{\"chan\":1,\"rssis\":-101,\"lsnr\":1.0}]}", &p),
			 LB_OK);
	ck_assert_int_eq(r->chan, 6);
	ck_assert_int_eq(r->rssi, -40);
	ck_assert_float_eq(r->lsnr, 11.0f);
	/* empty rsig is harmless; bad types inside are not */
	ck_assert_int_eq(parse_one("{" RXPK_MIN ",\"rsig\":[]}", &p), LB_OK);
	ck_assert(!r->has_rssi);
	ck_assert_int_eq(parse_one("{" RXPK_MIN ",\"rsig\":[{\"rssis\":\"x\"}]}", &p),
			 LB_ERR_JSON);
	ck_assert_int_eq(parse_one("{" RXPK_MIN ",\"rsig\":[{\"lsnr\":1e9}]}", &p),
			 LB_ERR_MALFORMED);
}
END_TEST

START_TEST(t_push_too_many_rxpk)
{
	char json[MAX_DGRAM * 2];
	size_t off, n = GWMP_MAX_RXPK + 8;
	struct gwmp_push p;

	off = (size_t)snprintf(json, sizeof(json), "{\"rxpk\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off,
					"%s{\"tmst\":%zu," RXPK_MIN "}", i ? "," : "", i);
	snprintf(json + off, sizeof(json) - off, "]}");
	ck_assert_int_eq(parse_push_str(json, &p), LB_OK);
	ck_assert_uint_eq(p.n_rxpk, GWMP_MAX_RXPK);
	ck_assert_uint_eq(p.n_rxpk_excess, 8);
	for (size_t i = 0; i < GWMP_MAX_RXPK; i++) {
		ck_assert_int_eq(p.rxpk_err[i], LB_OK);
		ck_assert_uint_eq(p.rxpk[i].tmst, i);
	}
}
END_TEST

START_TEST(t_push_stat_only)
{
	static const char sx1302[] =
		"{\"stat\":{\"time\":\"2024-05-14 09:12:47 UTC\",\"rxnb\":5,\"rxok\":4,\"rxfw\":4,"
		"\"ackr\":50.0,\"dwnb\":1,\"txnb\":1,\"temp\":41.5}}";
	struct gwmp_push p;
	char out[512];

	ck_assert_int_eq(parse_push_str(sx1302, &p), LB_OK);
	ck_assert_uint_eq(p.n_rxpk, 0);
	ck_assert(p.has_stat);
	ck_assert(!p.stat.has_location);
	ck_assert_uint_eq(p.stat.rxnb, 5);
	ck_assert_uint_eq(p.stat.rxok, 4);
	ck_assert_double_eq(p.stat.ackr, 50.0);
	ck_assert(p.stat.has_temp);
	ck_assert_double_eq(p.stat.temp, 41.5);
	ck_assert_int_eq(gwmp_format_push(NULL, 0, &p.stat, out, sizeof(out)),
			 (int)strlen(sx1302));
	ck_assert_str_eq(out, sx1302);
	ck_assert_uint_eq(p.stat.dropped, 0);
	/* stat is read leniently: wrong types are left out (numbers flagged) */
	ck_assert_int_eq(parse_push_str("{\"stat\":{\"time\":1,\"lati\":\"x\",\"long\":2,"
					"\"rxnb\":-1,\"ackr\":\"100\"}}", &p), LB_OK);
	ck_assert(p.has_stat && !p.stat.has_time && !p.stat.has_location);
	ck_assert_uint_eq(p.stat.rxnb, 0);
	ck_assert_uint_eq(p.stat.dropped, GWMP_STAT_BIT(GWMP_STAT_LATI) |
			  GWMP_STAT_BIT(GWMP_STAT_RXNB) | GWMP_STAT_BIT(GWMP_STAT_ACKR));
	ck_assert_int_eq(parse_push_str("{}", &p), LB_OK);
	ck_assert(!p.has_stat);
	ck_assert_uint_eq(p.n_rxpk, 0);
}
END_TEST

#define SB(f) GWMP_STAT_BIT(GWMP_STAT_##f)

/* stat values outside their physical range, or not finite numbers of
 * their type, are left out and flagged; the rest of the stat is kept.
 * Bounds are inclusive. */
START_TEST(t_push_stat_ranges)
{
	struct gwmp_push p;
	char keys[96];

	ck_assert_int_eq(parse_push_str(
		"{\"stat\":{\"time\":\"2024-05-14 09:12:47 GMT\",\"lati\":1e300,\"long\":3.25,"
		"\"alti\":145,\"rxnb\":-1,\"rxok\":2,\"rxfw\":2.5,\"ackr\":100.5,"
		"\"dwnb\":4294967296,\"txnb\":\"7\","
		"\"temp\":123456789012345678901234567890123456789012345678}}", &p), LB_OK);
	ck_assert(p.has_stat && p.stat.has_time);
	ck_assert(!p.stat.has_location);
	ck_assert_int_eq(p.stat.alti, 145);
	ck_assert_uint_eq(p.stat.rxok, 2);
	ck_assert_uint_eq(p.stat.rxnb, 0);
	ck_assert_uint_eq(p.stat.dwnb, 0);
	ck_assert_double_eq(p.stat.ackr, 0);
	ck_assert(!p.stat.has_temp);
	ck_assert_uint_eq(p.stat.dropped, SB(LATI) | SB(RXNB) | SB(RXFW) | SB(ACKR) | SB(DWNB) |
			  SB(TXNB) | SB(TEMP));
	ck_assert_uint_eq(gwmp_stat_dropped_keys(p.stat.dropped, keys, sizeof(keys)), 7);
	ck_assert_str_eq(keys, "lati,rxnb,rxfw,ackr,dwnb,txnb,temp");
	ck_assert_uint_eq(gwmp_stat_dropped_keys(p.stat.dropped, keys, 8), 7);
	ck_assert_str_eq(keys, "lati,rx");
	ck_assert_uint_eq(gwmp_stat_dropped_keys(0, keys, sizeof(keys)), 0);
	ck_assert_str_eq(keys, "");

	/* The bounds themselves. */
	ck_assert_int_eq(parse_push_str(
		"{\"stat\":{\"lati\":-90,\"long\":180,\"alti\":-1000,\"rxnb\":0,"
		"\"rxok\":4294967295,\"rxfw\":7.0,\"ackr\":0,\"temp\":-100}}", &p), LB_OK);
	ck_assert_uint_eq(p.stat.dropped, 0);
	ck_assert(p.stat.has_location && p.stat.has_temp);
	ck_assert_double_eq(p.stat.lati, -90);
	ck_assert_double_eq(p.stat.lon, 180);
	ck_assert_int_eq(p.stat.alti, -1000);
	ck_assert_uint_eq(p.stat.rxok, 4294967295u);
	ck_assert_uint_eq(p.stat.rxfw, 7);
	ck_assert_double_eq(p.stat.temp, -100);
	ck_assert_int_eq(parse_push_str(
		"{\"stat\":{\"lati\":90,\"long\":-180,\"alti\":100000,\"ackr\":100,"
		"\"temp\":200}}", &p), LB_OK);
	ck_assert_uint_eq(p.stat.dropped, 0);
	ck_assert_int_eq(p.stat.alti, 100000);
	ck_assert_double_eq(p.stat.ackr, 100);
	/* Just outside them; a value too large for a double is not finite. */
	ck_assert_int_eq(parse_push_str(
		"{\"stat\":{\"lati\":90.0001,\"long\":-180.5,\"alti\":100001,\"ackr\":-0.1,"
		"\"temp\":200.1}}", &p), LB_OK);
	ck_assert_uint_eq(p.stat.dropped, SB(LATI) | SB(LONG) | SB(ALTI) | SB(ACKR) | SB(TEMP));
	ck_assert_int_eq(parse_push_str("{\"stat\":{\"alti\":-1000.5,\"temp\":1e400,"
					"\"long\":-1e400}}", &p), LB_OK);
	ck_assert_uint_eq(p.stat.dropped, SB(ALTI) | SB(TEMP) | SB(LONG));
	ck_assert_int_eq(p.stat.alti, 0);
	ck_assert(!p.stat.has_alti);
	/* null is absent, not dropped. */
	ck_assert_int_eq(parse_push_str("{\"stat\":{\"lati\":null,\"temp\":null,\"rxnb\":null}}",
					&p), LB_OK);
	ck_assert_uint_eq(p.stat.dropped, 0);
	ck_assert(!p.stat.has_temp);
	ck_assert(!p.stat.has_alti);
}
END_TEST

/* gwmp__time_format, the rxpk `time` the bridge writes: int64 µs to
 * RFC 3339 with 6 fraction digits, past 2^31 s (a 32-bit time_t's end,
 * 2038) and 2^32 s (2106) as before; out of 0..9999 refused. */
START_TEST(t_time_format)
{
	static const struct {
		long long us;
		const char *text;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000000Z"},
		{1715677967318406LL, "2024-05-14T09:12:47.318406Z"},
		{2147483647999999LL, "2038-01-19T03:14:07.999999Z"},
		{2147483648000000LL, "2038-01-19T03:14:08.000000Z"},
		{2214129600250000LL, "2040-02-29T12:00:00.250000Z"},
		{4294967296000001LL, "2106-02-07T06:28:16.000001Z"},
		{253402300799999999LL, "9999-12-31T23:59:59.999999Z"},
	};
	char out[GWMP_TIME_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(gwmp__time_format(cases[i].us, out, sizeof(out)) == LB_OK, "case %zu", i);
		ck_assert_str_eq(out, cases[i].text);
	}
	ck_assert_int_eq(gwmp__time_format(-1, out, sizeof(out)), LB_ERR_INVAL);
	ck_assert_int_eq(gwmp__time_format(253402300800000000LL, out, sizeof(out)), LB_ERR_INVAL);
	ck_assert_int_eq(gwmp__time_format(2147483648000000LL, out, sizeof(out) - 1),
			 LB_ERR_TOO_LARGE);
}
END_TEST

/* rxpk `time`: RFC 3339 variants seen from forwarders. */
START_TEST(t_push_time_formats)
{
	static const struct {
		const char *time;
		int err;
		long long us;
	} cases[] = {
		{"2024-05-14T09:12:47.318406Z", LB_OK, 1715677967318406LL},
		{"2024-05-14T09:12:47Z", LB_OK, 1715677967000000LL},
		{"2024-05-14T09:12:47.3Z", LB_OK, 1715677967300000LL},
		{"2024-05-14T09:12:47.318406789Z", LB_OK, 1715677967318406LL},
		{"2024-05-14T11:12:47.318406+02:00", LB_OK, 1715677967318406LL},
		{"2024-05-14T08:12:47.318406-01:00", LB_OK, 1715677967318406LL},
		{"2024-02-29T00:00:00Z", LB_OK, 1709164800000000LL},
		{"1970-01-01T00:00:00Z", LB_OK, 0},
		/* past 2^31 s (a 32-bit time_t's end, as on armhf) */
		{"2038-01-19T03:14:08Z", LB_OK, 2147483648000000LL},
		{"2040-02-29T12:00:00.25Z", LB_OK, 2214129600250000LL},
		{"2024-05-14T09:12:47.318406", LB_ERR_MALFORMED, 0},
		{"2024-05-14T09:12:47.Z", LB_ERR_MALFORMED, 0},
		{"2023-02-29T00:00:00Z", LB_ERR_MALFORMED, 0},
		{"2024-13-01T00:00:00Z", LB_ERR_MALFORMED, 0},
		{"2024-05-14T24:00:00Z", LB_ERR_MALFORMED, 0},
		{"2024-05-14T09:12:60Z", LB_ERR_MALFORMED, 0},
		{"1969-12-31T23:59:59Z", LB_ERR_MALFORMED, 0},
		{"2024-05-14T09:12:47Zjunk", LB_ERR_MALFORMED, 0},
		{"2024-5-14T09:12:47Z", LB_ERR_MALFORMED, 0},
		{"", LB_ERR_MALFORMED, 0},
	};
	char obj[256];
	struct gwmp_push p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(obj, sizeof(obj), "{\"time\":\"%s\"," RXPK_MIN "}", cases[i].time);
		ck_assert_msg(parse_one(obj, &p) == cases[i].err, "case %zu", i);
		if (cases[i].err == LB_OK)
			ck_assert_int_eq(p.rxpk[0].time_us, cases[i].us);
	}
}
END_TEST

/* Numbers: integral doubles accepted for integers, rssi rounded. */
START_TEST(t_push_numbers)
{
	struct gwmp_push p;
	const struct gwmp_rxpk *r = &p.rxpk[0];

	ck_assert_int_eq(parse_one("{\"tmst\":4294967295,\"chan\":2.0,\"rssi\":-57.6,"
				   "\"lsnr\":-7.25,\"freq\":923.3,\"datr\":\"SF10BW125\","
				   "\"size\":1.0,\"data\":\"AA==\"}", &p), LB_OK);
	ck_assert_uint_eq(r->tmst, 4294967295u);
	ck_assert_int_eq(r->chan, 2);
	ck_assert_int_eq(r->rssi, -58);
	ck_assert_float_eq(r->lsnr, -7.25f);
	ck_assert_uint_eq(r->freq_hz, 923300000);
	ck_assert_int_eq(parse_one("{\"freq\":868,\"datr\":\"SF7BW125\",\"size\":0,\"data\":\"\"}",
				   &p), LB_OK);
	ck_assert_uint_eq(r->freq_hz, 868000000);
	ck_assert_int_eq(parse_one("{\"tmst\":1e400," RXPK_MIN "}", &p), LB_ERR_JSON);
	ck_assert_int_eq(parse_one("{\"tmst\":99999999999999999999999," RXPK_MIN "}", &p),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(parse_one("{\"tmst\":-1," RXPK_MIN "}", &p), LB_ERR_MALFORMED);
}
END_TEST

START_TEST(t_parse_datr)
{
	static const struct {
		const char *s;
		int err;
		uint8_t sf;
		uint16_t bw;
	} cases[] = {
		{"SF7BW125", LB_OK, 7, 125},   {"SF12BW125", LB_OK, 12, 125},
		{"SF9BW500", LB_OK, 9, 500},   {"SF5BW250", LB_OK, 5, 250},
		{"SF4BW125", LB_ERR_MALFORMED, 0, 0},  {"SF13BW125", LB_ERR_MALFORMED, 0, 0},
		{"SF7BW62", LB_ERR_MALFORMED, 0, 0},   {"SF7BW125 ", LB_ERR_MALFORMED, 0, 0},
		{"sf7bw125", LB_ERR_MALFORMED, 0, 0},  {"SFBW125", LB_ERR_MALFORMED, 0, 0},
		{"SF7BW", LB_ERR_MALFORMED, 0, 0},     {"SF7", LB_ERR_MALFORMED, 0, 0},
		{"", LB_ERR_MALFORMED, 0, 0},          {"SF0007BW125", LB_ERR_MALFORMED, 0, 0},
		{"SF7BW1250", LB_ERR_MALFORMED, 0, 0}, {"M0CW137", LB_ERR_MALFORMED, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t sf = 0;
		uint16_t bw = 0;

		ck_assert_msg(gwmp_parse_datr(cases[i].s, &sf, &bw) == cases[i].err, "%s",
			      cases[i].s);
		ck_assert_uint_eq(sf, cases[i].sf);
		ck_assert_uint_eq(bw, cases[i].bw);
	}
	ck_assert_int_eq(gwmp_parse_datr(NULL, NULL, NULL), LB_ERR_MALFORMED);
}
END_TEST

START_TEST(t_eui_str)
{
	char s[17];

	gwmp_eui_str(EUI, s);
	ck_assert_str_eq(s, "aa555a0000000101");
	gwmp_eui_str(0, s);
	ck_assert_str_eq(s, "0000000000000000");
	gwmp_eui_str(UINT64_MAX, s);
	ck_assert_str_eq(s, "ffffffffffffffff");
}
END_TEST

/* The writer refuses what it could not print faithfully. */
START_TEST(t_format_push_invalid)
{
	struct gwmp_rxpk r = {0};
	char out[1024];

	r.modu = GWMP_MOD_LORA;
	r.sf = 7;
	r.bw_khz = 125;
	r.freq_hz = 868100000;
	ck_assert_int_gt(gwmp_format_push(&r, 1, NULL, out, sizeof(out)), 0);
	r.cr = 5;
	ck_assert_int_eq(gwmp_format_push(&r, 1, NULL, out, sizeof(out)), LB_ERR_INVAL);
	r.cr = 1;
	r.size = 256;
	ck_assert_int_eq(gwmp_format_push(&r, 1, NULL, out, sizeof(out)), LB_ERR_INVAL);
	r.size = 0;
	r.has_time = true;
	r.time_us = -1;
	ck_assert_int_eq(gwmp_format_push(&r, 1, NULL, out, sizeof(out)), LB_ERR_INVAL);
	r.has_time = false;
	r.modu = GWMP_MOD_LRFHSS;
	ck_assert_int_eq(gwmp_format_push(&r, 1, NULL, out, sizeof(out)), LB_ERR_INVAL);
}
END_TEST

/* --- the fast reading of plain datagrams (gwmp_flat.h) against json-c ---- */

/* Candidate values per rxpk key: right, wrong and borderline ones. */
static const struct {
	const char *key;
	const char *vals[9];
} pool[] = {
	{"tmst", {"3512348611", "0", "-1", "4294967296", "1.5", "3.0", "\"x\"", "true", NULL}},
	{"time", {"\"2013-03-31T16:21:17.528002Z\"", "\"2013-03-31T16:21:17Z\"", "\"bad\"", "5",
		  NULL}},
	{"tmms", {"1234567", "12.0", "-3", "false", NULL}},
	{"chan", {"2", "300", "1.5", "\"2\"", "0", NULL}},
	{"rfch", {"0", "1", "256", "1.0", NULL}},
	{"freq", {"868.1", "868.100000", "866.349812", "0", "-1", "5000.5", "868", "\"868.1\"",
		  NULL}},
	{"stat", {"1", "-1", "0", "2", "1.0", NULL}},
	{"modu", {"\"LORA\"", "\"FSK\"", "\"LR-FHSS\"", "\"lora\"", "1", NULL}},
	{"datr", {"\"SF7BW125\"", "\"SF12BW500\"", "\"SF13BW125\"", "50000", "50000.0", "1.5",
		  "\"M0CW137\"", NULL}},
	{"codr", {"\"4/5\"", "\"4/8\"", "\"OFF\"", "\"2/3\"", "\"5/5\"", "45", NULL}},
	{"rssi", {"-35", "-35.4", "-35.5", "-1001", "0", "\"x\"", "999.49", NULL}},
	{"lsnr", {"5.1", "-7.25", "100.5", "10", "0.125", "-100", "9.999999999", NULL}},
	{"size", {"23", "22", "256", "0", "23.0", "4", NULL}},
	{"data", {"\"AAEBAQEBAQEBAgICAgICAgIDAwm5ezI=\"", "\"\"", "\"!!\"", "\"AQIDBA==\"", "7",
		  NULL}},
	{"foo", {"1", "\"bar\"", "true", "123456789012345678", "0.000001", NULL}},
	/* keys of no slot (gwmp_flat.c), four bytes long or not, as the sx1302
	 * forwarder adds them */
	{"aesk", {"0", "\"x\"", NULL}},
	{"brd", {"0", "1", NULL}},
	{"foff", {"-125", "\"abcdefghijklmnopq\"", NULL}},
	{"jver", {"2", NULL}},
	{"ftime", {"\"0123456789\"", "\"\"", NULL}},
};
#define N_POOL (sizeof(pool) / sizeof(pool[0]))

static uint64_t xs = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 7;
	xs ^= xs << 17;
	return xs;
}

/* Mostly nothing; now and then whitespace of RFC 8259 §2 between tokens. */
static const char *ws_or_none(void)
{
	static const char *const ws[] = {" ", "\t", "\r\n", "  \n\t"};
	return rnd() % 8 ? "" : ws[rnd() % 4];
}

/* A random rxpk object of pool members in a random order, whitespace here
 * and there between tokens. */
static size_t random_rxpk(char *out, size_t cap)
{
	size_t order[N_POOL], n = 0, len = 0;

	for (size_t i = 0; i < N_POOL; i++)
		order[i] = i;
	for (size_t i = N_POOL - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	len += (size_t)snprintf(out + len, cap - len, "{");
	for (size_t k = 0; k < N_POOL; k++) {
		size_t i = order[k], nv = 0;
		if (rnd() % 10 < 2)
			continue;
		while (pool[i].vals[nv])
			nv++;
		/* the first value is the usual one: mostly that */
		size_t v = rnd() % 3 ? 0 : rnd() % nv;
		len += (size_t)snprintf(out + len, cap - len, "%s%s\"%s\"%s:%s%s%s", n++ ? "," : "",
					ws_or_none(), pool[i].key, ws_or_none(), ws_or_none(),
					pool[i].vals[v], ws_or_none());
	}
	len += (size_t)snprintf(out + len, cap - len, "%s}", ws_or_none());
	return len;
}

/* D (plain, read by the fast path) against D with a top-level null member
 * first (read by json-c): the same result, field for field. */
START_TEST(t_push_flat_as_json_c)
{
	static struct gwmp_push a, b;
	char d[8192], e[8300];

	for (int round = 0; round < 5000; round++) {
		size_t n = 1 + rnd() % 3, len = 0;
		len += (size_t)snprintf(d, sizeof(d), "%s{\"rxpk\":[", rnd() % 4 ? "" : " \n");
		for (size_t i = 0; i < n; i++) {
			if (i && rnd() % 2)
				d[len++] = ' ';      /* whitespace between tokens */
			if (i)
				d[len++] = ',';
			len += random_rxpk(d + len, sizeof(d) - len);
		}
		len += (size_t)snprintf(d + len, sizeof(d) - len, "]%s}%s",
					rnd() % 2 ? ",\"x\":1" : "", rnd() % 4 ? "" : "\n");
		snprintf(e, sizeof(e), "{\"zz\":null,%s", strchr(d, '{') + 1);

		/* the fast path reads all of D */
		struct gwmp__scan sc;
		static struct gwmp__flat f;
		int rc;
		ck_assert_int_eq(gwmp__scan_begin(&sc, (const uint8_t *)d, len), GWMP__FLAT_OBJECT);
		while ((rc = gwmp__scan_next(&sc, &f)) == GWMP__FLAT_OBJECT)
			;
		ck_assert_msg(rc == GWMP__FLAT_END, "not plain: %s", d);

		memset(&a, 0x5a, sizeof(a));
		memset(&b, 0x5a, sizeof(b));
		int ra = gwmp_parse_push((const uint8_t *)d, len, &a);
		int rb = gwmp_parse_push((const uint8_t *)e, strlen(e), &b);
		ck_assert_int_eq(ra, rb);
		ck_assert_uint_eq(a.n_rxpk, b.n_rxpk);
		ck_assert_uint_eq(a.n_rxpk_excess, b.n_rxpk_excess);
		ck_assert_int_eq(a.has_stat, b.has_stat);
		for (size_t i = 0; i < a.n_rxpk; i++) {
			ck_assert_msg(a.rxpk_err[i] == b.rxpk_err[i], "rxpk %zu of %s: %d vs %d", i,
				      d, a.rxpk_err[i], b.rxpk_err[i]);
			ck_assert_msg(memcmp(&a.rxpk[i], &b.rxpk[i], sizeof(a.rxpk[i])) == 0,
				      "rxpk %zu of %s differs", i, d);
		}
	}
}
END_TEST

/* What the fast path leaves to json-c: escapes, non-ASCII, exponents,
 * leading zeros, "-0", null, nesting, repeated keys, a stat, junk after
 * the object. */
START_TEST(t_push_flat_declines)
{
	static const char *const slow[] = {
		"{\"rxpk\":[{\"time\":\"a\\\"b\"}]}", "{\"rxpk\":[{\"time\":\"\xc3\xa9\"}]}",
		"{\"rxpk\":[{\"tmst\":1e3}]}", "{\"rxpk\":[{\"tmst\":01}]}",
		"{\"rxpk\":[{\"lsnr\":-0.5}]}", "{\"rxpk\":[{\"tmst\":null}]}",
		"{\"rxpk\":[{\"rsig\":[]}]}", "{\"rxpk\":[{\"a\":1,\"a\":2}]}",
		"{\"rxpk\":[],\"stat\":{}}", "{\"rxpk\":[]} x", "{\"rxpk\":[],\"rxpk\":[]}",
		"{\"rxpk\":[1]}", "{\"rxpk\":{}}", "[]", "{\"rxpk\":[{}],}", "{\"rxpk\":[{\"x\":tru}]}",
		"{\"rxpk\":[{\"x\":1234567890123456789}]}", "{\"rxpk\":[{\"x\":1.2345678901234567}]}",
		"{\"rxpk\":[{\"x\":1234567890123456.5}]}",       /* 17 digits, a fraction */
		"{\"rxpk\":[{\"x\":123456789012345678.123}]}",   /* would overflow m */
		"{\"rxpk\":[{\"x\":1234567890123456}]}x",
		"{\"rxpk\":[{\"tmst\":1,\"aesk\":2,\"tmst\":2}]}",
		"{\"rxpk\":[{\"aesk\":1,\"tmst\":2,\"aesk\":2}]}",
		"{\"rxpk\":[{\"ftime\":1,\"brd\":2,\"ftime\":2}]}",
	};
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		struct gwmp__scan sc;
		static struct gwmp__flat f;
		int rc = gwmp__scan_begin(&sc, (const uint8_t *)slow[i], strlen(slow[i]));
		while (rc == GWMP__FLAT_OBJECT)
			rc = gwmp__scan_next(&sc, &f);
		ck_assert_msg(rc == GWMP__FLAT_SLOW, "read fast: %s", slow[i]);
	}
}
END_TEST

/* The key slots: the fourteen rxpk keys each have their own; no other key
 * (every four lowercase letters, and other lengths) has one. */
START_TEST(t_flat_slots)
{
	static const char *const known[] = {"tmst", "time", "tmms", "chan", "rfch",
					    "freq", "stat", "modu", "datr", "codr",
					    "rssi", "lsnr", "size", "data"};
	const size_t n_known = sizeof(known) / sizeof(known[0]);
	bool used[GWMP__FLAT_SLOTS] = {false};
	char k[5] = {0};

	for (size_t i = 0; i < n_known; i++) {
		int slot = gwmp__flat_slot(known[i], 4);
		ck_assert_msg(slot >= 0 && slot < GWMP__FLAT_SLOTS && !used[slot], "%s", known[i]);
		used[slot] = true;
	}
	for (k[0] = 'a'; k[0] <= 'z'; k[0]++)
		for (k[1] = 'a'; k[1] <= 'z'; k[1]++)
			for (k[2] = 'a'; k[2] <= 'z'; k[2]++)
				for (k[3] = 'a'; k[3] <= 'z'; k[3]++) {
					bool is_known = false;
					for (size_t i = 0; i < n_known; i++)
						is_known |= strcmp(k, known[i]) == 0;
					ck_assert_int_eq(gwmp__flat_slot(k, 4) >= 0, is_known);
				}
	ck_assert_int_eq(gwmp__flat_slot("tms", 3), -1);
	ck_assert_int_eq(gwmp__flat_slot("tmstt", 5), -1);
	ck_assert_int_eq(gwmp__flat_slot("", 0), -1);
}
END_TEST

/* A string member of every length 0..24 with each of the 256 bytes at each
 * place: read fast, and as written, when the byte is printable ASCII other
 * than '"' and '\\'; left to json-c otherwise (the run scan's table and its
 * four-byte loop against the rule). */
START_TEST(t_push_flat_strings)
{
	char d[128], want[32];

	for (size_t len = 0; len <= 24; len++) {
		for (size_t at = 0; at <= len; at++) {
			for (int b = 0; b < 256; b++) {
				memset(want, 'a' + (int)(len % 26), len);
				if (at < len)
					want[at] = (char)b;
				int k = snprintf(d, sizeof(d), "{\"rxpk\":[{\"foff\":\"");
				memcpy(d + k, want, len);
				memcpy(d + k + len, "\"}]}", 5);
				size_t n = (size_t)k + len + 4;
				unsigned char c = at < len ? (unsigned char)b : 'a';
				bool plain = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
				struct gwmp__scan sc;
				static struct gwmp__flat f;
				ck_assert_int_eq(gwmp__scan_begin(&sc, (const uint8_t *)d, n),
						 GWMP__FLAT_OBJECT);
				int rc = gwmp__scan_next(&sc, &f);
				if (!plain) {
					while (rc == GWMP__FLAT_OBJECT)
						rc = gwmp__scan_next(&sc, &f);
					ck_assert_msg(rc == GWMP__FLAT_SLOW, "len %zu at %zu byte %#x",
						      len, at, c);
					continue;
				}
				ck_assert_int_eq(rc, GWMP__FLAT_OBJECT);
				const struct gwmp__fval *v = gwmp__flat_get(&f, "foff");
				ck_assert_ptr_nonnull(v);
				ck_assert_uint_eq(v->len, len);
				ck_assert_int_eq(memcmp(v->s, want, len), 0);
				ck_assert_int_eq(gwmp__scan_next(&sc, &f), GWMP__FLAT_END);
			}
		}
	}
}
END_TEST

/* rxpk `time` against timegm() over the whole range, every 97th day at a
 * changing time of day, leap days and offsets. */
START_TEST(t_time_parse_as_timegm)
{
	for (int64_t day = 0; day <= 2932896; day += 97) {
		time_t t = (time_t)(day * 86400 + (day * 7919) % 86400);
		struct tm tm;
		char s[64];
		int64_t us = -1;
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.25Z", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		ck_assert_int_eq(gwmp__time_parse(s, &us), LB_OK);
		ck_assert_msg(us == (int64_t)timegm(&tm) * 1000000 + 250000, "%s", s);
	}
	static const struct {
		const char *s;
		int64_t us;
	} cases[] = {
		{"2000-02-29T00:00:00Z", 951782400000000LL},
		{"2024-02-29T23:59:59+01:30", 1709251199000000LL - 5400000000LL},
		{"1970-01-01T00:30:00+00:30", 0},
		{"9999-12-31T23:59:59.999999Z", 253402300799999999LL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t us = -1;
		ck_assert_int_eq(gwmp__time_parse(cases[i].s, &us), LB_OK);
		ck_assert_msg(us == cases[i].us, "%s: %lld", cases[i].s, (long long)us);
	}
	int64_t us;
	ck_assert_int_eq(gwmp__time_parse("1900-02-29T00:00:00Z", &us), LB_ERR_MALFORMED);
	ck_assert_int_eq(gwmp__time_parse("1970-01-01T00:00:00+00:01", &us), LB_ERR_MALFORMED);
	ck_assert_int_eq(gwmp__time_parse("2023-02-29T00:00:00Z", &us), LB_ERR_MALFORMED);
}
END_TEST

/* Through a memo: every second of two hours across a day's end, then the
 * same hour again after others, an offset moving a time into the next
 * hour, and a refused time: each as gwmp__time_parse() reads it, and a
 * time in the memo's hour leaves the memo as it was. */
START_TEST(t_time_parse_memo)
{
	struct gwmp_time_memo memo = {0};
	static const char *const again[] = {
		"2026-12-05T23:10:00Z", "2026-12-06T00:59:59.5Z", "2026-12-05T23:00:00+01:00",
		"2026-12-06T00:30:00-00:30", "2026-12-05T23:59:60Z", "2024-02-29T23:15:00Z",
		"2026-12-05T23:10:00Z",
	};
	for (int i = 0; i < 2 * 3600; i += 7) {
		char s[64];
		int h = 23 + i / 3600, d = 5 + h / 24;
		snprintf(s, sizeof(s), "2026-12-%02dT%02d:%02d:%02d.%dZ", d, h % 24, i / 60 % 60,
			 i % 60, i % 10);
		int64_t a = -1, b = -2;
		ck_assert_int_eq(gwmp__time_parse(s, &a), LB_OK);
		struct gwmp_time_memo before = memo;
		ck_assert_int_eq(gwmp__time_parse_memo(s, &b, &memo), LB_OK);
		ck_assert_msg(a == b, "%s: %lld, memo %lld", s, (long long)a, (long long)b);
		if (i > 0 && (i - 7) / 3600 == i / 3600)   /* the hour of the one before */
			ck_assert(before.hour == memo.hour && before.hour_s == memo.hour_s);
	}
	/* every prefix of a time, and each of its bytes replaced, is refused
	 * (each read stops at the first byte out of place) */
	const char *full = "2024-05-14T09:12:47Z";
	for (size_t n = 0; n < strlen(full); n++) {
		char cut[32];
		int64_t us;
		memcpy(cut, full, n);
		cut[n] = '\0';
		ck_assert_int_eq(gwmp__time_parse_memo(cut, &us, &memo), LB_ERR_MALFORMED);
		snprintf(cut, sizeof(cut), "%s", full);
		cut[n] = 'x';
		ck_assert_int_eq(gwmp__time_parse_memo(cut, &us, &memo), LB_ERR_MALFORMED);
	}
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		int64_t a = -1, b = -2;
		int ra = gwmp__time_parse(again[i], &a), rb = gwmp__time_parse_memo(again[i], &b, &memo);
		ck_assert_int_eq(ra, rb);
		if (ra == LB_OK)
			ck_assert_msg(a == b, "%s: %lld, memo %lld", again[i], (long long)a, (long long)b);
	}
}
END_TEST

static Suite *gwmp_suite(void)
{
	Suite *s = suite_create("gwmp");
	TCase *ex = tcase_create("examples");
	TCase *hdr = tcase_create("header");
	TCase *body = tcase_create("body");

	tcase_set_timeout(body, 60);   /* the differential test, sanitizers, a busy machine */
	tcase_add_test(ex, t_push_data_header_and_ack);
	tcase_add_test(ex, t_push_data_fields);
	tcase_add_test(ex, t_push_data_format_roundtrip);
	tcase_add_test(ex, t_push_data_v1);
	tcase_add_test(ex, t_pull_data_ack);
	tcase_add_test(ex, t_pull_resp_build);
	tcase_add_test(ex, t_pull_resp_parse_roundtrip);
	tcase_add_test(ex, t_pull_resp_fsk_roundtrip);
	tcase_add_test(ex, t_pull_resp_build_invalid);
	tcase_add_test(ex, t_pull_resp_max_payload);
	tcase_add_test(ex, t_pull_resp_parse_errors);
	tcase_add_test(ex, t_tx_ack_success_no_json);
	tcase_add_test(ex, t_tx_ack_too_late);
	tcase_add_test(ex, t_tx_ack_variants);
	suite_add_tcase(s, ex);

	tcase_add_test(hdr, t_header_short);
	tcase_add_test(hdr, t_header_version);
	tcase_add_test(hdr, t_header_unknown_type);
	tcase_add_test(hdr, t_header_too_large);
	tcase_add_test(hdr, t_header_push_body);
	tcase_add_test(hdr, t_header_trailing_nul_whitespace);
	tcase_add_test(hdr, t_parse_datr);
	tcase_add_test(hdr, t_eui_str);
	suite_add_tcase(s, hdr);

	tcase_add_test(body, t_push_bad_json);
	tcase_add_test(body, t_push_flat_as_json_c);
	tcase_add_test(body, t_push_flat_declines);
	tcase_add_test(body, t_flat_slots);
	tcase_add_test(body, t_push_flat_strings);
	tcase_add_test(body, t_time_parse_as_timegm);
	tcase_add_test(body, t_push_rxpk_errors);
	tcase_add_test(body, t_push_payload_limits);
	tcase_add_test(body, t_push_minimal_and_null);
	tcase_add_test(body, t_push_codr_and_modu);
	tcase_add_test(body, t_push_fsk);
	tcase_add_test(body, t_push_rsig);
	tcase_add_test(body, t_push_too_many_rxpk);
	tcase_add_test(body, t_push_stat_only);
	tcase_add_test(body, t_push_stat_ranges);
	tcase_add_test(body, t_push_time_formats);
	tcase_add_test(body, t_time_format);
	tcase_add_test(body, t_time_parse_memo);
	tcase_add_test(body, t_push_numbers);
	tcase_add_test(body, t_format_push_invalid);
	suite_add_tcase(s, body);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gwmp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
