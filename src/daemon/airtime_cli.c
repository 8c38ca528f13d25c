/* SPDX-License-Identifier: MIT */
/*
 * airtime_cli.c - `lorabridge airtime`: command-line front end of airtime.h.
 * Hand-rolled option parsing (no getopt) so the function keeps no global
 * state and can be called repeatedly from the unit tests.
 */
#include "daemon/airtime_cli.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cli_args.h"
#include "lorawan/airtime.h"
#include "base/lb_err.h"


struct cli_opts {
	bool fsk;
	bool help;
	bool have_sf, have_size, have_preamble;
	unsigned long sf, bw_khz, cr, preamble, size, bitrate;
	bool no_crc, implicit_header;
	enum airtime_ldro ldro;
};

static const char usage_text[] =
	"usage: lorabridge airtime --sf SF [--bw 125|250|500] --size BYTES [--cr 4/5..4/8]\n"
	"                          [--preamble SYMBOLS] [--no-crc] [--implicit-header]\n"
	"                          [--ldro auto|on|off]\n"
	"       lorabridge airtime --fsk [--bitrate BPS] --size BYTES [--preamble BYTES] [--no-crc]\n"
	"Prints the time on air of one frame in milliseconds. --size is the PHYPayload\n"
	"length (MHDR + MACPayload + MIC). Defaults: --bw 125, --cr 4/5, --preamble 8\n"
	"(LoRa) or 5 (FSK), --bitrate 50000, CRC on, explicit header, LDRO auto.\n";

#define USAGE_ERROR(...) cli_usage_error("airtime", usage_text, __VA_ARGS__)

/* "4/5".."4/8", or the index form "1".."4". */
static bool parse_cr(const char *s, unsigned long *cr)
{
	if (s != NULL && strncmp(s, "4/", 2) == 0) {
		unsigned long den;
		if (!cli_parse_ulong(s + 2, 5, 8, &den))
			return false;
		*cr = den - 4;
		return true;
	}
	return cli_parse_ulong(s, 1, 4, cr);
}

static bool parse_ldro(const char *s, enum airtime_ldro *ldro)
{
	if (strcmp(s, "auto") == 0)
		*ldro = AIRTIME_LDRO_AUTO;
	else if (strcmp(s, "on") == 0)
		*ldro = AIRTIME_LDRO_ON;
	else if (strcmp(s, "off") == 0)
		*ldro = AIRTIME_LDRO_OFF;
	else
		return false;
	return true;
}

/* Flags without a value. Returns true if `name` was one. */
static bool parse_flag(const char *name, struct cli_opts *o)
{
	if (strcmp(name, "--no-crc") == 0)
		o->no_crc = true;
	else if (strcmp(name, "--implicit-header") == 0)
		o->implicit_header = true;
	else if (strcmp(name, "--fsk") == 0)
		o->fsk = true;
	else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		o->help = true;
	else
		return false;
	return true;
}

/* Options with a value. Returns LB_OK, LB_ERR_NOT_FOUND for an unknown
 * option name, LB_ERR_RANGE for a bad value. */
static int parse_valued(const char *name, const char *val, struct cli_opts *o)
{
	bool ok;
	if (strcmp(name, "--sf") == 0)
		ok = o->have_sf = cli_parse_ulong(val, 5, 12, &o->sf);
	else if (strcmp(name, "--bw") == 0)
		ok = cli_parse_ulong(val, 125, 500, &o->bw_khz) &&
		     (o->bw_khz == 125 || o->bw_khz == 250 || o->bw_khz == 500);
	else if (strcmp(name, "--size") == 0)
		ok = o->have_size = cli_parse_ulong(val, 0, AIRTIME_MAX_PAYLOAD, &o->size);
	else if (strcmp(name, "--cr") == 0)
		ok = parse_cr(val, &o->cr);
	else if (strcmp(name, "--preamble") == 0)
		ok = o->have_preamble = cli_parse_ulong(val, 1, UINT16_MAX, &o->preamble);
	else if (strcmp(name, "--bitrate") == 0)
		ok = cli_parse_ulong(val, 1, 1000000, &o->bitrate);
	else if (strcmp(name, "--ldro") == 0)
		ok = parse_ldro(val, &o->ldro);
	else
		return LB_ERR_NOT_FOUND;
	return ok ? LB_OK : LB_ERR_RANGE;
}

/* Returns 0 to continue, or an exit status. */
static int parse_args(int argc, char **argv, struct cli_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (parse_flag(arg, o))
			continue;
		if (strncmp(arg, "--", 2) != 0)
			return USAGE_ERROR("unexpected argument '%s'", arg);

		char name[32];
		const char *val;
		const char *eq = strchr(arg, '=');
		if (eq != NULL) {
			size_t n = (size_t)(eq - arg);
			if (n >= sizeof(name))
				return USAGE_ERROR("unknown option '%s'", arg);
			memcpy(name, arg, n);
			name[n] = '\0';
			val = eq + 1;
		} else {
			if (strlen(arg) >= sizeof(name))
				return USAGE_ERROR("unknown option '%s'", arg);
			strcpy(name, arg);
			val = i + 1 < argc ? argv[++i] : NULL;
		}
		int err = val != NULL ? parse_valued(name, val, o) : LB_OK;
		int rc = cli_option_result("airtime", usage_text, name, val, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int check_required(const struct cli_opts *o)
{
	if (!o->have_size)
		return USAGE_ERROR("%s is required", "--size");
	if (!o->fsk && !o->have_sf)
		return USAGE_ERROR("%s is required for LoRa", "--sf");
	return 0;
}

static int compute(const struct cli_opts *o, uint64_t *us)
{
	if (o->fsk) {
		struct airtime_fsk f = {
			.payload_len = (uint16_t)o->size,
			.bitrate = (uint32_t)o->bitrate,
			.preamble_bytes = AIRTIME_FSK_DEFAULT_PREAMBLE,
			.sync_bytes = AIRTIME_FSK_DEFAULT_SYNC,
			.crc = !o->no_crc,
		};
		if (o->have_preamble) {
			if (o->preamble > UINT8_MAX)
				return LB_ERR_RANGE;
			f.preamble_bytes = (uint8_t)o->preamble;
		}
		return airtime_fsk_us(&f, us);
	}
	struct airtime_lora l = {
		.sf = (uint8_t)o->sf,
		.bw_hz = (uint32_t)o->bw_khz * 1000u,
		.cr = (uint8_t)o->cr,
		.preamble = (uint16_t)o->preamble,
		.payload_len = (uint16_t)o->size,
		.crc = !o->no_crc,
		.implicit_header = o->implicit_header,
		.ldro = o->ldro,
	};
	return airtime_lora_us(&l, us);
}

int airtime_cli_main(int argc, char **argv)
{
	struct cli_opts o = {
		.bw_khz = 125,
		.cr = 1,
		.preamble = AIRTIME_DEFAULT_PREAMBLE,
		.bitrate = AIRTIME_FSK_DEFAULT_BITRATE,
		.ldro = AIRTIME_LDRO_AUTO,
	};
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	rc = check_required(&o);
	if (rc != 0)
		return rc;

	uint64_t us;
	int err = compute(&o, &us);
	if (err != LB_OK)
		return USAGE_ERROR("invalid parameters: %s", lb_strerror(err));
	printf("%" PRIu64 ".%03" PRIu64 "\n", us / 1000, us % 1000);
	return fflush(stdout) == 0 ? 0 : 1;
}
