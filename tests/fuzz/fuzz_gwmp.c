/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gwmp.c - libFuzzer target for the GWMP codec (gwmp.h).
 *
 * Input: one UDP datagram as a gateway (or anyone) could send it. Gateway
 * datagrams go through gwmp_parse_header and then gwmp_parse_push or
 * gwmp_parse_txack; PULL_RESP datagrams (what the gateway simulator parses)
 * go through gwmp_parse_pull_resp. Beyond "does not crash", every rxpk and
 * txpk that parses must survive a write/parse round trip unchanged, so the
 * writers and readers are checked against each other.
 *
 * Build with libFuzzer:  clang -fsanitize=fuzzer,address,undefined ...
 * or with gcc and tests/fuzz/fuzz_main.c (corpus replay + mutations).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwmp/gwmp.h"
#include "base/lb_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,     \
				__LINE__, #cond);                                  \
			abort();                                                   \
		}                                                                  \
	} while (0)

#define BODY_BUF 4096

static void rxpk_roundtrip(const struct gwmp_rxpk *rx)
{
	static char json[BODY_BUF];
	static struct gwmp_push back;
	const struct gwmp_rxpk *b = &back.rxpk[0];
	int n = gwmp_format_push(rx, 1, NULL, json, sizeof(json));

	if (rx->modu == GWMP_MOD_LRFHSS) {
		FUZZ_CHECK(n == LB_ERR_INVAL); /* datr is kept opaque, cannot be written */
		return;
	}
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(gwmp_parse_push((const uint8_t *)json, (size_t)n, &back) == LB_OK);
	FUZZ_CHECK(back.n_rxpk == 1 && back.rxpk_err[0] == LB_OK);
	FUZZ_CHECK(b->tmst == rx->tmst && b->has_time == rx->has_time &&
		   b->time_us == rx->time_us && b->has_tmms == rx->has_tmms &&
		   b->tmms == rx->tmms);
	FUZZ_CHECK(b->freq_hz == rx->freq_hz && b->chan == rx->chan && b->rfch == rx->rfch &&
		   b->stat == rx->stat);
	FUZZ_CHECK(b->modu == rx->modu && b->sf == rx->sf && b->bw_khz == rx->bw_khz &&
		   b->bitrate == rx->bitrate && b->cr == rx->cr);
	FUZZ_CHECK(b->has_rssi == rx->has_rssi && b->rssi == rx->rssi);
	FUZZ_CHECK(b->has_lsnr == (rx->has_lsnr && rx->modu == GWMP_MOD_LORA));
	FUZZ_CHECK(b->size == rx->size && memcmp(b->data, rx->data, rx->size) == 0);
}

static void check_push(const struct gwmp_header *h)
{
	static struct gwmp_push push;

	if (gwmp_parse_push(h->json, h->json_len, &push) != LB_OK)
		return;
	FUZZ_CHECK(push.n_rxpk <= GWMP_MAX_RXPK);
	for (size_t i = 0; i < push.n_rxpk; i++) {
		if (push.rxpk_err[i] == LB_OK)
			rxpk_roundtrip(&push.rxpk[i]);
	}
}

static void check_txack(const struct gwmp_header *h)
{
	struct gwmp_txack ack;

	if (gwmp_parse_txack(h->json, h->json_len, &ack) != LB_OK)
		return;
	FUZZ_CHECK(memchr(ack.error, '\0', sizeof(ack.error)) != NULL);
	FUZZ_CHECK(memchr(ack.warn, '\0', sizeof(ack.warn)) != NULL);
	FUZZ_CHECK(strcmp(ack.error, "NONE") != 0);
}

/* PULL_RESP: parse, rebuild, parse again: the txpk must come back equal. */
static void check_pull_resp(const uint8_t *data, size_t size)
{
	static uint8_t buf[GWMP_MAX_PULL_RESP];
	struct gwmp_txpk tx, back;
	size_t n;

	if (gwmp_parse_pull_resp(data + GWMP_OFF_JSON_DOWN, size - GWMP_OFF_JSON_DOWN, &tx) !=
	    LB_OK)
		return;
	if (gwmp_build_pull_resp(2, data + GWMP_OFF_TOKEN, &tx, buf, sizeof(buf), &n) != LB_OK)
		return; /* e.g. too large for the 1000-byte forwarder buffer */
	FUZZ_CHECK(n <= GWMP_MAX_PULL_RESP && buf[GWMP_OFF_IDENT] == GWMP_PULL_RESP);
	FUZZ_CHECK(gwmp_parse_pull_resp(buf + GWMP_OFF_JSON_DOWN, n - GWMP_OFF_JSON_DOWN,
					&back) == LB_OK);
	FUZZ_CHECK(back.imme == tx.imme && back.has_tmst == tx.has_tmst &&
		   back.tmst == tx.tmst && back.has_tmms == tx.has_tmms && back.tmms == tx.tmms);
	FUZZ_CHECK(back.freq_hz == tx.freq_hz && back.rfch == tx.rfch && back.powe == tx.powe);
	FUZZ_CHECK(back.modu == tx.modu && back.sf == tx.sf && back.bw_khz == tx.bw_khz &&
		   back.cr == tx.cr && back.bitrate == tx.bitrate && back.fdev == tx.fdev);
	FUZZ_CHECK(back.ipol == (tx.ipol && tx.modu == GWMP_MOD_LORA) && back.ncrc == tx.ncrc &&
		   back.prea == tx.prea);
	FUZZ_CHECK(back.size == tx.size && memcmp(back.data, tx.data, tx.size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gwmp_header h;
	uint8_t ack[GWMP_LEN_HDR];

	if (size >= GWMP_LEN_HDR && data[GWMP_OFF_IDENT] == GWMP_PULL_RESP) {
		check_pull_resp(data, size);
		return 0;
	}
	if (gwmp_parse_header(data, size, &h) != LB_OK)
		return 0;
	FUZZ_CHECK(h.json == NULL || (h.json >= data && h.json + h.json_len <= data + size));
	if (gwmp_build_ack(&h, ack) == GWMP_LEN_HDR)
		FUZZ_CHECK(ack[GWMP_OFF_VERSION] == data[GWMP_OFF_VERSION] &&
			   memcmp(ack + GWMP_OFF_TOKEN, data + GWMP_OFF_TOKEN, 2) == 0);
	if (h.type == GWMP_PUSH_DATA)
		check_push(&h);
	else if (h.type == GWMP_TX_ACK)
		check_txack(&h);
	return 0;
}
