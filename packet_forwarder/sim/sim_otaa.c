/* SPDX-License-Identifier: MIT */
/* sim_otaa.c - the device side of OTAA, see sim_otaa.h. */
#include "sim_otaa.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/lb_err.h"

#define NONCE_REDRAWS 16
#define CFLIST_FREQS 5              /* CFList type 0: 5 channels after the defaults */
#define CFLIST_FREQ_LEN 3
#define CFLIST_OFF_TYPE 15
#define CFLIST_TYPE_FREQ 0
#define CFLIST_TYPE_CHMASK 1
#define CFLIST_OFF_CHMASK4_RFU 9    /* type 1: ChMask4's high byte (channels 72..79) */
#define CFLIST_OFF_RFU 10           /* type 1: bytes 10..14 RFU */
#define CFLIST_FREQ_UNIT_HZ 100

/* splitmix64, as in sim_devices.c: reproducible from a seed when wanted. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool nonce_used(const struct sim_device *d, uint16_t nonce)
{
	size_t n = d->n_joins < SIM_NONCE_MEMORY ? d->n_joins : SIM_NONCE_MEMORY;

	for (size_t i = 0; i < n; i++)
		if (d->used_nonces[i] == nonce)
			return true;
	return false;
}

uint16_t sim_otaa_next_nonce(struct sim_device *d, enum join_version v, uint64_t *rng)
{
	uint16_t nonce;

	if (v >= JOIN_V1_0_4) {
		nonce = d->dev_nonce_next++;
	} else {
		int guard = NONCE_REDRAWS;
		do
			nonce = (uint16_t)next_random(rng);
		while (nonce_used(d, nonce) && guard-- > 0);
	}
	d->used_nonces[d->n_joins % SIM_NONCE_MEMORY] = nonce;
	d->n_joins++;
	return nonce;
}

int sim_otaa_build_join(struct sim_device *d, size_t idx, uint16_t dev_nonce,
			struct sim_uplink *up)
{
	if (!d->otaa)
		return LB_ERR_STATE;
	memset(up, 0, sizeof(*up));
	up->dev_idx = idx;
	up->fcnt = dev_nonce;
	int rc = join_request_build(d->join_eui, d->dev_eui, dev_nonce, &d->app_key_k, up->phy);
	if (rc != LB_OK)
		return rc;
	up->phy_len = JOIN_LEN_REQUEST;
	return LB_OK;
}

__attribute__((format(printf, 3, 4)))
static int why_range(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return LB_ERR_RANGE;
}

/* CFList type 1 (RP002-1.0.4 §2.3.2; §2.5.4 US902-928, §2.8.4 AU915-928):
 * ChMask0..ChMask4, 5 RFU bytes, CFListType 1; only for devices of 1.0.3 and
 * later (Regional Parameters 1.0.2revB defines no CFList in these regions),
 * ChMask4's bits 8..15 and the RFU bytes zero, some channel on. */
static int check_cflist_chmask(const struct region *r, enum join_version v,
			       const struct join_accept_params *a, char *why, size_t cap)
{
	bool any = false;

	if (v < JOIN_V1_0_3)
		return why_range(why, cap, "a CFList for a LoRaWAN %s device, which %s gives none",
				 join_version_name(v), r->name);
	if (a->cflist[CFLIST_OFF_TYPE] != CFLIST_TYPE_CHMASK)
		return why_range(why, cap, "CFList type %u, %s uses type %u",
				 a->cflist[CFLIST_OFF_TYPE], r->name, CFLIST_TYPE_CHMASK);
	for (size_t i = 0; i < CFLIST_OFF_TYPE; i++) {
		bool rfu = i == CFLIST_OFF_CHMASK4_RFU || i >= CFLIST_OFF_RFU;
		if (rfu && a->cflist[i] != 0)
			return why_range(why, cap, "CFList byte %zu is RFU but 0x%02x", i,
					 a->cflist[i]);
		any = any || a->cflist[i] != 0;
	}
	if (!any)
		return why_range(why, cap, "CFList channel mask with no channel on");
	return LB_OK;
}

/* CFList type 0 (RP002-1.0.4 §2.3.1, region.h region_cflist_freq): channels
 * 3..7 in EU868, KR920, IN865 (§2.4.4, §2.11.4, §2.12.4), 2..6 in AS923
 * (§2.10.4), each inside the region's band. */
static int check_cflist(const struct region *r, enum join_version v,
			const struct join_accept_params *a, char *why, size_t cap)
{
	if (!a->has_cflist)
		return LB_OK;
	if (r->cflist_capable == REGION_CFLIST_CHMASK)
		return check_cflist_chmask(r, v, a, why, cap);
	if (a->cflist[CFLIST_OFF_TYPE] != CFLIST_TYPE_FREQ)
		return why_range(why, cap, "CFList type %u, %s uses type %u",
				 a->cflist[CFLIST_OFF_TYPE], r->name, CFLIST_TYPE_FREQ);
	for (size_t i = 0; i < CFLIST_FREQS; i++) {
		const uint8_t *p = a->cflist + i * CFLIST_FREQ_LEN;
		uint32_t f = (uint32_t)(p[0] | p[1] << 8 | p[2] << 16) * CFLIST_FREQ_UNIT_HZ;
		if (f != 0 && (f < r->min_hz || f > r->max_hz))
			return why_range(why, cap, "CFList channel %zu at %" PRIu32
					 " Hz is outside the %s band", i + r->n_default_channels, f,
					 r->name);
	}
	return LB_OK;
}

static int check_join_nonce(const struct sim_device *d, enum join_version v,
			    const struct join_accept_params *a, char *why, size_t cap)
{
	if (!d->has_join_nonce)
		return LB_OK;
	if (v >= JOIN_V1_0_4 && a->join_nonce <= d->join_nonce)
		return why_range(why, cap, "JoinNonce %" PRIu32 " not above the last (%" PRIu32 ")",
				 a->join_nonce, d->join_nonce);
	if (a->join_nonce == d->join_nonce)
		return why_range(why, cap, "JoinNonce %" PRIu32 " repeated (last %" PRIu32 ")",
				 a->join_nonce, d->join_nonce);
	return LB_OK;
}

int sim_otaa_check_accept(const struct region *r, const struct sim_device *d, enum join_version v,
			  const struct join_accept_params *a, char *why, size_t cap)
{
	struct join_netid nid;
	const struct region_dr *rx2;

	if (join_netid_parse(a->net_id, &nid) != LB_OK)
		return why_range(why, cap, "NetID %06" PRIx32 " is invalid (RFU bits set)", a->net_id);
	if (!join_devaddr_in_netid(&nid, a->dev_addr))
		return why_range(why, cap, "DevAddr %08" PRIx32 " is outside NetID %06" PRIx32,
				 a->dev_addr, a->net_id);
	int rc = check_join_nonce(d, v, a, why, cap);
	if (rc != LB_OK)
		return rc;
	if (a->rx1_dr_offset >= r->n_rx1_offsets)
		return why_range(why, cap, "RX1DROffset %u not allowed in %s (max %u)",
				 a->rx1_dr_offset, r->name, r->n_rx1_offsets - 1u);
	rx2 = region_dr_info(r, a->rx2_dr);
	if (!rx2 || !rx2->downlink)
		return why_range(why, cap, "RX2 DR%u is no downlink DR in %s", a->rx2_dr, r->name);
	return check_cflist(r, v, a, why, cap);
}

int sim_otaa_apply_accept(struct sim_device *d, const struct join_accept_params *a,
			  uint16_t dev_nonce)
{
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN];

	int rc = lwcrypto_derive_session_keys(&d->app_key_k, a->join_nonce, a->net_id, dev_nonce,
					      nwk, app);
	if (rc == LB_OK)
		rc = lwcrypto_keys_init(&d->keys, nwk, app);
	if (rc == LB_OK) {
		memcpy(d->nwk_s_key, nwk, LW_KEY_LEN);
		memcpy(d->app_s_key, app, LW_KEY_LEN);
		d->dev_addr = a->dev_addr;
		d->fcnt = 0;
		d->sent = 0;
		d->has_fcnt_down = false;
		d->fcnt_down = 0;
		d->ack_due = false;
		d->has_join_nonce = true;
		d->join_nonce = a->join_nonce;
		d->rx.rx1_delay_s = (uint8_t)join_rx1_delay_s(a->rx_delay);
		d->rx.rx1_dr_offset = a->rx1_dr_offset;
		d->rx.rx2_dr = a->rx2_dr;
		d->state = SIM_DEV_ACTIVE;
		d->join_timed_out = false;
	}
	memset(nwk, 0, sizeof(nwk));
	memset(app, 0, sizeof(app));
	return rc;
}
