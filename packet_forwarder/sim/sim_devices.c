/* SPDX-License-Identifier: MIT */
/*
 * sim_devices.c - simulated ABP devices: derivation from a seed, key file,
 * lorabridge `devices` export, uplink construction. See sim_devices.h.
 */
#include "sim_devices.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"

#define KEYFILE_MAX_LINE 512
#define KEYFILE_MIN_FIELDS 4
#define KEYFILE_MAX_FIELDS 5
#define SEED_EUI_MASK 0xffffffULL   /* 3 bytes of seed in the DevEUI */
#define SEED_ADDR_MASK 0x1fU        /* 5 bits of seed in the DevAddr */
#define SEED_ADDR_SHIFT 20
#define SEED_JOIN_EUI_SHIFT 32
#define HEX_EUI_LEN 16
#define PAYLOAD_PAD '.'
#define FCTRL_ADR 0x80              /* TS001-1.0.4 §4.3.1, FCtrl bit 7 */

/* splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed deterministic
 * stream. Not cryptographic, on purpose: keys must be reproducible. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill_key(uint64_t *state, uint8_t key[LW_KEY_LEN])
{
	for (size_t half = 0; half < 2; half++) {
		uint64_t v = splitmix64(state);
		for (size_t i = 0; i < 8; i++)
			key[half * 8 + i] = (uint8_t)(v >> (56 - 8 * i));
	}
}

static void derive_one(struct sim_device *d, size_t idx, uint64_t seed)
{
	uint64_t state = seed * 0xd1b54a32d192ed03ULL ^ ((uint64_t)idx + 1) * 0x9e3779b97f4a7c15ULL;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "sim-%zu", idx);
	d->dev_eui = SIM_DEV_EUI_PREFIX | (seed & SEED_EUI_MASK) << 32 | (uint64_t)idx;
	d->dev_addr = SIM_DEV_ADDR_PREFIX | ((uint32_t)seed & SEED_ADDR_MASK) << SEED_ADDR_SHIFT |
		      (uint32_t)idx;
	fill_key(&state, d->nwk_s_key);
	fill_key(&state, d->app_s_key);
	fill_key(&state, d->app_key);   /* after the ABP keys, which stay as they were */
	d->join_eui = SIM_JOIN_EUI_PREFIX | (seed & SEED_EUI_MASK) << SEED_JOIN_EUI_SHIFT;
}

int sim_devices_derive(struct sim_devices *ds, size_t n, uint64_t seed)
{
	memset(ds, 0, sizeof(*ds));
	if (n == 0 || n > SIM_MAX_DEVICES)
		return LB_ERR_RANGE;
	ds->dev = calloc(n, sizeof(*ds->dev));
	if (!ds->dev)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		derive_one(&ds->dev[i], i, seed);
	ds->n = n;
	return LB_OK;
}

void sim_devices_make_otaa(struct sim_devices *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		ds->dev[i].otaa = true;
		ds->dev[i].dev_addr = 0;
	}
}

/* Split s in place on blanks into at most max fields; '#' ends the line. */
static size_t split_fields(char *s, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	char *hash = strchr(s, '#');

	if (hash)
		*hash = '\0';
	for (char *tok = strtok_r(s, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == max)
			return max + 1;
		fields[n++] = tok;
	}
	return n;
}

static int parse_abp_fields(char **f, struct sim_device *d)
{
	if (hex_parse_u64_eui(f[0], &d->dev_eui) != LB_OK || hex_parse_u32(f[1], &d->dev_addr) != LB_OK ||
	    hex_decode(f[2], d->nwk_s_key, LW_KEY_LEN) != LB_OK ||
	    hex_decode(f[3], d->app_s_key, LW_KEY_LEN) != LB_OK)
		return LB_ERR_MALFORMED;
	return LB_OK;
}

static int parse_otaa_fields(char **f, struct sim_device *d)
{
	if (hex_parse_u64_eui(f[0], &d->dev_eui) != LB_OK ||
	    hex_parse_u64_eui(f[1], &d->join_eui) != LB_OK ||
	    hex_decode(f[2], d->app_key, LW_KEY_LEN) != LB_OK)
		return LB_ERR_MALFORMED;
	d->otaa = true;
	return LB_OK;
}

int sim_devices_parse_line(const char *line, size_t index, struct sim_device *out, bool *empty)
{
	char buf[KEYFILE_MAX_LINE];
	char *f[KEYFILE_MAX_FIELDS];
	struct sim_device d;

	*empty = false;
	if (strlen(line) >= sizeof(buf))
		return LB_ERR_TOO_LARGE;
	strcpy(buf, line);
	size_t n = split_fields(buf, f, KEYFILE_MAX_FIELDS);
	if (n == 0) {
		*empty = true;
		return LB_OK;
	}
	memset(&d, 0, sizeof(d));
	bool otaa = n >= 2 && strlen(f[1]) == HEX_EUI_LEN;
	size_t n_keys = otaa ? KEYFILE_MIN_FIELDS - 1 : KEYFILE_MIN_FIELDS;
	if (n < n_keys || n > n_keys + 1)
		return LB_ERR_MALFORMED;
	int rc = otaa ? parse_otaa_fields(f, &d) : parse_abp_fields(f, &d);
	if (rc != LB_OK)
		return rc;
	if (n > n_keys) {
		if (strlen(f[n_keys]) >= sizeof(d.name))
			return LB_ERR_TOO_LARGE;
		strcpy(d.name, f[n_keys]);
	} else {
		snprintf(d.name, sizeof(d.name), "sim-%zu", index);
	}
	*out = d;
	return LB_OK;
}

static int append_device(struct sim_devices *ds, size_t *cap, const struct sim_device *d)
{
	if (ds->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct sim_device *p = realloc(ds->dev, ncap * sizeof(*p));
		if (!p)
			return LB_ERR_NOMEM;
		ds->dev = p;
		*cap = ncap;
	}
	ds->dev[ds->n++] = *d;
	return LB_OK;
}

static int load_lines(struct sim_devices *ds, FILE *f, int *bad_line)
{
	char line[KEYFILE_MAX_LINE];
	size_t cap = 0;
	int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		struct sim_device d;
		bool empty;
		lineno++;
		*bad_line = lineno;
		if (!strchr(line, '\n') && !feof(f))
			return LB_ERR_TOO_LARGE;
		int rc = sim_devices_parse_line(line, ds->n, &d, &empty);
		if (rc != LB_OK)
			return rc;
		if (empty)
			continue;
		if (ds->n == SIM_MAX_DEVICES)
			return LB_ERR_TOO_LARGE;
		rc = append_device(ds, &cap, &d);
		if (rc != LB_OK)
			return rc;
	}
	*bad_line = 0;
	if (ferror(f))
		return LB_ERR_IO;
	return ds->n ? LB_OK : LB_ERR_NOT_FOUND;
}

int sim_devices_load(struct sim_devices *ds, const char *path, int *bad_line)
{
	memset(ds, 0, sizeof(*ds));
	*bad_line = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return LB_ERR_IO;
	int rc = load_lines(ds, f, bad_line);
	fclose(f);
	if (rc != LB_OK)
		sim_devices_free(ds);
	return rc;
}

void sim_devices_truncate(struct sim_devices *ds, size_t n)
{
	if (n >= ds->n)
		return;
	for (size_t i = n; i < ds->n; i++) {
		lwcrypto_keys_free(&ds->dev[i].keys);
		lwcrypto_key_free(&ds->dev[i].app_key_k);
	}
	ds->n = n;
}

int sim_devices_share_devaddr(struct sim_devices *ds)
{
	if (ds->n < 2)
		return LB_ERR_RANGE;
	ds->dev[1].dev_addr = ds->dev[0].dev_addr;
	return LB_OK;
}

static void key_hex(const uint8_t key[LW_KEY_LEN], char out[2 * LW_KEY_LEN + 1])
{
	hex_encode(key, LW_KEY_LEN, out, 2 * LW_KEY_LEN + 1);
}

int sim_devices_write_keys(const struct sim_devices *ds, FILE *f)
{
	fprintf(f, "# lorabridge-sim keys: dev_eui dev_addr nwk_s_key app_s_key name (ABP)\n"
		   "#                      dev_eui join_eui app_key name (OTAA)\n");
	for (size_t i = 0; i < ds->n; i++) {
		const struct sim_device *d = &ds->dev[i];
		char eui[17], addr[9], nwk[33], app[33];
		hex_format_eui(d->dev_eui, eui);
		if (d->otaa) {
			char join_eui[17];
			hex_format_eui(d->join_eui, join_eui);
			key_hex(d->app_key, app);
			fprintf(f, "%s %s %s %s\n", eui, join_eui, app, d->name);
			continue;
		}
		hex_format_u32(d->dev_addr, addr);
		key_hex(d->nwk_s_key, nwk);
		key_hex(d->app_s_key, app);
		fprintf(f, "%s %s %s %s %s\n", eui, addr, nwk, app, d->name);
	}
	return ferror(f) ? LB_ERR_IO : LB_OK;
}

/* One OTAA entry of the devices list (the trailing "," is the caller's). */
static void write_conf_otaa(const struct sim_device *d, const char *application,
			    const char *version, FILE *f)
{
	char eui[17], join_eui[17], key[33];

	hex_format_eui(d->dev_eui, eui);
	hex_format_eui(d->join_eui, join_eui);
	key_hex(d->app_key, key);
	fprintf(f,
		"  { name = \"%s\"; application = \"%s\"; dev_eui = \"%s\"; join_eui = \"%s\";\n"
		"    app_key = \"%s\"; lorawan_version = \"%s\";%s }",
		d->name, application, eui, join_eui, key, version, d->class_c ? " class = \"C\";" : "");
}

int sim_devices_write_conf(const struct sim_devices *ds, const char *application, FILE *f)
{
	return sim_devices_write_conf_version(ds, application, "1.0.3", f);
}

int sim_devices_write_conf_version(const struct sim_devices *ds, const char *application,
				   const char *version, FILE *f)
{
	size_t n_otaa = 0;

	for (size_t i = 0; i < ds->n; i++)
		n_otaa += ds->dev[i].otaa;
	fprintf(f, "# lorabridge devices written by lorabridge-sim (%zu ABP, %zu OTAA devices).\n"
		   "# Use it from lorabridge.conf with:  @include \"<this file>\"\n"
		   "# For the packaged service, keep it in /etc/lorabridge (e.g.\n"
		   "# /etc/lorabridge/devices.conf, 0640 root:lorabridge: it holds keys);\n"
		   "# the unit's PrivateTmp=yes hides the system's /tmp from it.\n"
		   "devices = (\n",
		ds->n - n_otaa, n_otaa);
	for (size_t i = 0; i < ds->n; i++) {
		const struct sim_device *d = &ds->dev[i];
		char eui[17], addr[9], nwk[33], app[33];
		if (d->otaa) {
			write_conf_otaa(d, application, version, f);
			fprintf(f, "%s\n", i + 1 < ds->n ? "," : "");
			continue;
		}
		hex_format_eui(d->dev_eui, eui);
		hex_format_u32(d->dev_addr, addr);
		key_hex(d->nwk_s_key, nwk);
		key_hex(d->app_s_key, app);
		fprintf(f,
			"  { name = \"%s\"; application = \"%s\"; dev_eui = \"%s\"; dev_addr = \"%s\";\n"
			"    nwk_s_key = \"%s\"; app_s_key = \"%s\"; lorawan_version = \"%s\";%s }%s\n",
			d->name, application, eui, addr, nwk, app, version,
			d->class_c ? " class = \"C\";" : "", i + 1 < ds->n ? "," : "");
	}
	fprintf(f, ");\n");
	return ferror(f) ? LB_ERR_IO : LB_OK;
}

int sim_devices_prepare(struct sim_devices *ds, uint32_t fcnt_start)
{
	const struct sim_rx_params rx = {.rx1_delay_s = 1, .rx1_dr_offset = 0, .rx2_dr = 0};

	return sim_devices_prepare_rx(ds, fcnt_start, &rx, 0);
}

int sim_devices_prepare_rx(struct sim_devices *ds, uint32_t fcnt_start,
			   const struct sim_rx_params *rx, uint16_t dev_nonce_start)
{
	for (size_t i = 0; i < ds->n; i++) {
		struct sim_device *d = &ds->dev[i];
		int rc = d->otaa ? lwcrypto_key_init(&d->app_key_k, d->app_key)
				 : lwcrypto_keys_init(&d->keys, d->nwk_s_key, d->app_s_key);
		if (rc != LB_OK)
			return rc;
		d->fcnt = d->otaa ? 0 : fcnt_start;
		d->sent = 0;
		d->rx = *rx;
		d->state = d->otaa ? SIM_DEV_UNJOINED : SIM_DEV_ACTIVE;
		d->dev_nonce_next = dev_nonce_start;
	}
	return LB_OK;
}

void sim_devices_free(struct sim_devices *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		lwcrypto_keys_free(&ds->dev[i].keys);
		lwcrypto_key_free(&ds->dev[i].app_key_k);
	}
	free(ds->dev);
	memset(ds, 0, sizeof(*ds));
}

size_t sim_payload_text(size_t dev_idx, uint32_t fcnt, int size, uint8_t *out, size_t cap)
{
	char text[48];
	int n = snprintf(text, sizeof(text), "d%zu n%" PRIu32, dev_idx, fcnt);
	size_t want = size < 0 ? (size_t)n : (size_t)size;

	if (want > cap)
		want = cap;
	for (size_t i = 0; i < want; i++)
		out[i] = i < (size_t)n ? (uint8_t)text[i] : PAYLOAD_PAD;
	return want;
}

size_t sim_payload_lpp(size_t dev_idx, uint32_t fcnt, uint8_t *out, size_t cap)
{
	unsigned t = 200u + (unsigned)((7u * dev_idx + 3u * fcnt) % 100u);
	unsigned h = 80u + (unsigned)((dev_idx + fcnt) % 40u);
	unsigned v = 330u - (unsigned)(fcnt % 30u);
	const uint8_t rec[SIM_LPP_LEN] = {
		1, 103, (uint8_t)(t >> 8), (uint8_t)t,      /* temperature, 0.1 degC */
		2, 104, (uint8_t)h,                         /* humidity, 0.5 %RH */
		3, 116, (uint8_t)(v >> 8), (uint8_t)v,      /* voltage, 0.01 V */
	};

	if (cap < SIM_LPP_LEN)
		return 0;
	memcpy(out, rec, SIM_LPP_LEN);
	return SIM_LPP_LEN;
}

static int build_frame(struct sim_devices *ds, size_t idx, uint32_t fcnt, uint8_t fctrl,
		       const struct sim_uplink_conf *c, struct sim_uplink *up)
{
	if (idx >= ds->n)
		return LB_ERR_INVAL;
	struct sim_device *d = &ds->dev[idx];
	struct lw_data_params p = {
		.mtype = c->confirmed ? LW_MTYPE_CONFIRMED_UP : LW_MTYPE_UNCONFIRMED_UP,
		.dev_addr = d->dev_addr,
		.fctrl_flags = (uint8_t)(fctrl | c->fctrl),
		.fcnt = fcnt,
		.has_fport = true,
		.fport = c->fport,
		.fopts = c->fopts_len ? c->fopts : NULL,
		.fopts_len = c->fopts_len,
	};

	up->dev_idx = idx;
	up->fcnt = fcnt;
	up->fport = c->fport;
	if (c->lpp)
		up->payload_len = sim_payload_lpp(idx, fcnt, up->payload, sizeof(up->payload));
	else
		up->payload_len = sim_payload_text(idx, fcnt, c->payload_size, up->payload,
						   sizeof(up->payload));
	p.payload = up->payload;
	p.payload_len = up->payload_len;
	return lorawan_build_data(&p, &d->keys, up->phy, sizeof(up->phy), &up->phy_len);
}

int sim_devices_build_uplink(struct sim_devices *ds, size_t idx, const struct sim_uplink_conf *c,
			     struct sim_uplink *up)
{
	if (idx >= ds->n)
		return LB_ERR_INVAL;
	return build_frame(ds, idx, ds->dev[idx].fcnt, 0, c, up);
}

int sim_devices_build_replay(struct sim_devices *ds, size_t idx, uint32_t fcnt,
			     const struct sim_uplink_conf *c, struct sim_uplink *up)
{
	return build_frame(ds, idx, fcnt, FCTRL_ADR, c, up);
}

void sim_uplink_corrupt_mic(struct sim_uplink *up)
{
	if (up->phy_len >= LW_LEN_MIC)
		up->phy[up->phy_len - 1] ^= 0xff;
}
