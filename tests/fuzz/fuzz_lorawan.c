/* SPDX-License-Identifier: MIT */
/*
 * fuzz_lorawan.c - libFuzzer target for the LoRaWAN PHYPayload codec.
 *
 * Parses the input as a PHYPayload. Data frames then go through the whole
 * uplink path with fixed keys: counter reconstruction, MIC, FRMPayload
 * decryption; join frames through their MIC / join-accept decryption.
 * Invariants checked (abort on violation, so the fuzzer reports them):
 *   - every pointer the parser returns lies inside the input;
 *   - rebuilding a parsed data frame from its decrypted fields reproduces
 *     the input byte for byte, except the MIC, which then verifies.
 *
 * Seeds: tests/fuzz/corpus/lorawan/ (published LoRaWAN test vectors of
 * anthonykirby/lora-packet __tests__, chirpstack/chirpstack
 * lrwn/src/phy_payload.rs and TheThingsNetwork/lorawan-stack pkg/crypto, plus
 * edge cases).
 */
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"

/* Session keys of the chirpstack lrwn/src/phy_payload.rs confirmed-uplink
 * vector; its join vectors' AppKey. */
static const uint8_t nwk_raw[LW_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t app_raw[LW_KEY_LEN] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

/* Key state is prepared once per process, as the daemon does per device. */
struct fuzz_state {
	struct lw_keys keys;
	struct lw_key app_key;
	bool ready;
};

static struct fuzz_state *state(void)
{
	static struct fuzz_state st;

	if (!st.ready) {
		if (lwcrypto_keys_init(&st.keys, nwk_raw, app_raw) != LB_OK ||
		    lwcrypto_key_init(&st.app_key, nwk_raw) != LB_OK)
			abort();
		st.ready = true;
	}
	return &st;
}

static void check_inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	if (n == 0)
		return;
	if (!p || p < base || p + n > base + len)
		abort();
}

/* Rebuild from the decrypted fields: same bytes, a MIC that verifies. */
static void rebuild(const struct lw_frame *f, const uint8_t *plain, uint32_t fcnt)
{
	struct fuzz_state *st = state();
	const struct lw_data *d = &f->u.data;
	struct lw_data_params p = {
		.mtype = f->mtype, .dev_addr = d->dev_addr, .fctrl_flags = d->fctrl & 0xF0,
		.fcnt = fcnt, .fopts = d->fopts, .fopts_len = d->fopts_len,
		.has_fport = d->has_fport, .fport = d->fport,
		.payload = plain, .payload_len = d->frm_len,
	};
	uint8_t out[LW_MAX_PHY], mic[LW_LEN_MIC];
	size_t n = 0;
	int dir = lorawan_is_data_up(f->mtype) ? LW_DIR_UP : LW_DIR_DOWN;

	if ((f->mhdr & 0x1C) != 0)
		return;  /* MHDR RFU bits are not reproduced by the builder */
	if (lorawan_build_data(&p, &st->keys, out, sizeof(out), &n) != LB_OK)
		abort();
	if (n != f->phy_len || memcmp(out, f->phy, f->msg_len) != 0)
		abort();
	if (lwcrypto_data_mic(&st->keys.nwk_s_key, dir, d->dev_addr, fcnt, out, f->msg_len,
			      mic) != LB_OK || !lwcrypto_mic_equal(mic, out + f->msg_len))
		abort();
}

static void data_frame(const struct lw_frame *f)
{
	struct fuzz_state *st = state();
	const struct lw_data *d = &f->u.data;
	int dir = lorawan_is_data_up(f->mtype) ? LW_DIR_UP : LW_DIR_DOWN;
	uint32_t fcnt = lorawan_fcnt_full(0xFFFF, true, d->fcnt16);
	uint8_t mic[LW_LEN_MIC], plain[LW_MAX_PHY];
	struct lw_key *k;

	check_inside(d->fopts, d->fopts_len, f->phy, f->msg_len);
	check_inside(d->frm_payload, d->frm_len, f->phy, f->msg_len);
	if (lwcrypto_data_mic(&st->keys.nwk_s_key, dir, d->dev_addr, fcnt, f->phy, f->msg_len,
			      mic) != LB_OK)
		abort();
	(void)lwcrypto_mic_equal(mic, f->mic);
	k = d->has_fport && d->fport == 0 ? &st->keys.nwk_s_key : &st->keys.app_s_key;
	if (lwcrypto_payload_crypt(k, dir, d->dev_addr, fcnt, d->frm_payload, d->frm_len,
				   plain) != LB_OK)
		abort();
	rebuild(f, plain, fcnt);
}

static void join_frame(const struct lw_frame *f)
{
	struct fuzz_state *st = state();
	uint8_t mic[LW_LEN_MIC], plain[32], back[32];
	size_t body = f->phy_len - LW_LEN_MHDR;

	if (f->mtype == LW_MTYPE_JOIN_REQUEST) {
		if (lwcrypto_join_mic(&st->app_key, f->phy, f->msg_len, mic) != LB_OK)
			abort();
		(void)lwcrypto_mic_equal(mic, f->mic);
		return;
	}
	if (lwcrypto_join_accept_decrypt(&st->app_key, f->phy + 1, body, plain) != LB_OK ||
	    lwcrypto_join_accept_encrypt(&st->app_key, plain, body, back) != LB_OK ||
	    memcmp(back, f->phy + 1, body) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_frame f;

	if (lorawan_parse(data, size, &f) != LB_OK)
		return 0;
	if (f.phy != data || f.phy_len != size || f.msg_len + LW_LEN_MIC != size)
		abort();
	(void)lorawan_mtype_name(f.mtype);
	if (lorawan_is_data_up(f.mtype) || lorawan_is_data_down(f.mtype))
		data_frame(&f);
	else if (f.mtype == LW_MTYPE_JOIN_REQUEST || f.mtype == LW_MTYPE_JOIN_ACCEPT)
		join_frame(&f);
	return 0;
}
