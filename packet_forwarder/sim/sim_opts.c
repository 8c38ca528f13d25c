/* SPDX-License-Identifier: MIT */
/* sim_opts.c - command line of lorabridge-sim, see sim_opts.h. */
#include "sim_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "sim_devices.h"

#define MAX_RATE 1e6
#define MAX_SECONDS 1e7
#define MAX_ACK_TIMEOUT_MS 60000
#define MAX_FPORT 223
#define MAX_JOIN_TIMEOUT_MS 600000
#define MAX_LINGER_MS 600000
#define MAX_RX2_DR 13               /* resolve_region(): a LoRa downlink DR of the region */
#define MAX_RX2_DR_125 5            /* DR0..DR5 (LoRa BW125) outside the grid regions */
#define MAX_SUB_BAND 8              /* US915/AU915 sub-bands 1..8 */
#define BW_125 125
#define MIN_SNR_DB (-20.0)          /* what sim_radio.h reports */
#define MAX_SNR_DB 13.5
#define SF_MAX_DWELL 10             /* AS923/AU915 UplinkDwellTime 1: DR2 (SF10) and up */

enum opt_id {
	OPT_SERVER = 256, OPT_GATEWAYS, OPT_GATEWAY_EUI, OPT_DEVICES, OPT_RATE, OPT_COUNT,
	OPT_DURATION, OPT_SEED, OPT_KEYS, OPT_WRITE_KEYS, OPT_EMIT_DEVICES, OPT_APPLICATION,
	OPT_EXPECT, OPT_FCNT_START, OPT_FCNT_ROLLOVER, OPT_PAYLOAD_SIZE, OPT_FPORT, OPT_SF,
	OPT_CONFIRMED, OPT_KEEPALIVE, OPT_STAT_INTERVAL, OPT_ACK_TIMEOUT, OPT_PROTOCOL,
	OPT_ALL_GATEWAYS, OPT_PRINT, OPT_QUIET, OPT_STRICT_ACKS, OPT_SHARED_DEVADDR,
	OPT_REPLAY, OPT_BAD_MIC, OPT_MALFORMED, OPT_OTAA, OPT_LORAWAN_VERSION,
	OPT_DEV_NONCE_START, OPT_JOIN_TIMEOUT, OPT_RX2_DR, OPT_EXPECT_DOWN, OPT_STRICT_DOWNLINKS,
	OPT_LINGER, OPT_TXACK_ERROR, OPT_PAYLOAD, OPT_REGION, OPT_UPLINK_DWELL,
	OPT_DOWNLINK_DWELL, OPT_ADR, OPT_IGNORE_ADR, OPT_BATTERY, OPT_SNR_SPREAD, OPT_CLASS_C,
	OPT_NO_ACK, OPT_PREBUILD, OPT_REJOIN_LOST, OPT_GATEWAY_SUB_BAND, OPT_HELP
};

static const struct option long_opts[] = {
	{"server", required_argument, NULL, OPT_SERVER},
	{"gateways", required_argument, NULL, OPT_GATEWAYS},
	{"gateway-eui", required_argument, NULL, OPT_GATEWAY_EUI},
	{"devices", required_argument, NULL, OPT_DEVICES},
	{"rate", required_argument, NULL, OPT_RATE},
	{"count", required_argument, NULL, OPT_COUNT},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"seed", required_argument, NULL, OPT_SEED},
	{"keys", required_argument, NULL, OPT_KEYS},
	{"write-keys", required_argument, NULL, OPT_WRITE_KEYS},
	{"emit-devices", required_argument, NULL, OPT_EMIT_DEVICES},
	{"application", required_argument, NULL, OPT_APPLICATION},
	{"expect", required_argument, NULL, OPT_EXPECT},
	{"fcnt-start", required_argument, NULL, OPT_FCNT_START},
	{"fcnt-rollover", no_argument, NULL, OPT_FCNT_ROLLOVER},
	{"payload-size", required_argument, NULL, OPT_PAYLOAD_SIZE},
	{"payload", required_argument, NULL, OPT_PAYLOAD},
	{"fport", required_argument, NULL, OPT_FPORT},
	{"sf", required_argument, NULL, OPT_SF},
	{"confirmed", no_argument, NULL, OPT_CONFIRMED},
	{"keepalive", required_argument, NULL, OPT_KEEPALIVE},
	{"stat-interval", required_argument, NULL, OPT_STAT_INTERVAL},
	{"ack-timeout", required_argument, NULL, OPT_ACK_TIMEOUT},
	{"protocol", required_argument, NULL, OPT_PROTOCOL},
	{"all-gateways", no_argument, NULL, OPT_ALL_GATEWAYS},
	{"print", no_argument, NULL, OPT_PRINT},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"strict-acks", no_argument, NULL, OPT_STRICT_ACKS},
	{"shared-devaddr", no_argument, NULL, OPT_SHARED_DEVADDR},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"bad-mic", required_argument, NULL, OPT_BAD_MIC},
	{"malformed", required_argument, NULL, OPT_MALFORMED},
	{"otaa", no_argument, NULL, OPT_OTAA},
	{"lorawan-version", required_argument, NULL, OPT_LORAWAN_VERSION},
	{"dev-nonce-start", required_argument, NULL, OPT_DEV_NONCE_START},
	{"join-timeout", required_argument, NULL, OPT_JOIN_TIMEOUT},
	{"rejoin-lost", required_argument, NULL, OPT_REJOIN_LOST},
	{"rx2-dr", required_argument, NULL, OPT_RX2_DR},
	{"expect-down", required_argument, NULL, OPT_EXPECT_DOWN},
	{"strict-downlinks", no_argument, NULL, OPT_STRICT_DOWNLINKS},
	{"linger", required_argument, NULL, OPT_LINGER},
	{"txack-error", required_argument, NULL, OPT_TXACK_ERROR},
	{"region", required_argument, NULL, OPT_REGION},
	{"gateway-sub-band", required_argument, NULL, OPT_GATEWAY_SUB_BAND},
	{"uplink-dwell", required_argument, NULL, OPT_UPLINK_DWELL},
	{"downlink-dwell", required_argument, NULL, OPT_DOWNLINK_DWELL},
	{"adr", no_argument, NULL, OPT_ADR},
	{"ignore-adr", no_argument, NULL, OPT_IGNORE_ADR},
	{"battery", required_argument, NULL, OPT_BATTERY},
	{"snr-spread", required_argument, NULL, OPT_SNR_SPREAD},
	{"class-c", no_argument, NULL, OPT_CLASS_C},
	{"no-ack", no_argument, NULL, OPT_NO_ACK},
	{"prebuild", no_argument, NULL, OPT_PREBUILD},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

void sim_opts_usage(FILE *out)
{
	fputs("Usage: lorabridge-sim [OPTION]...\n"
	      "Behave like one or more Semtech UDP packet forwarders sending encrypted\n"
	      "uplinks of simulated ABP or OTAA devices to a LoRaWAN bridge, and check\n"
	      "every downlink (PULL_RESP) as the device would receive it.\n"
	      "\n"
	      "Traffic:\n"
	      "  --server HOST:PORT     bridge address (127.0.0.1:1700)\n"
	      "  --gateways N           simulated gateways (1)\n"
	      "  --gateway-eui EUI      EUI of the first gateway (AA555A0000000001), others +1\n"
	      "  --devices N            simulated devices (3)\n"
	      "  --rate R               uplinks per second over all devices, fractional ok (1)\n"
	      "  --count N              send N data uplinks, then exit (0: until SIGINT)\n"
	      "  --duration S           stop after S seconds (0: no limit)\n"
	      "  --all-gateways         every uplink is heard by every gateway (else round-robin)\n"
	      "  --protocol 1|2         GWMP version (2)\n"
	      "  --keepalive S          PULL_DATA period, 0 = none (10)\n"
	      "  --stat-interval S      stat report period, 0 = none (30)\n"
	      "  --ack-timeout MS       PUSH_ACK/PULL_ACK timeout (500)\n"
	      "  --prebuild             build every datagram of the --count uplinks first,\n"
	      "                         then send them at --rate with sendmmsg, a batch a\n"
	      "                         millisecond (a cheap load generator; ABP devices,\n"
	      "                         no stat reports, downlinks only acknowledged)\n"
	      "\n"
	      "Devices and frames:\n"
	      "  --seed N               derive device EUIs/addresses/keys from N (1)\n"
	      "  --keys FILE            load devices from a key file instead\n"
	      "  --write-keys FILE      write the key file and exit\n"
	      "  --emit-devices FILE    write a lorabridge `devices = (...)` list and exit\n"
	      "  --application NAME     application of the emitted devices (sim)\n"
	      "  --fcnt-start N         first frame counter (0)\n"
	      "  --fcnt-rollover        start counters at 65530 to cross 65535\n"
	      "  --payload-size N       pad/truncate the \"d<i> n<fcnt>\" payload to N bytes\n"
	      "  --payload KIND         text (\"d<i> n<fcnt>\") or cayennelpp: temperature\n"
	      "                         (ch 1), humidity (ch 2), battery voltage (ch 3) (text)\n"
	      "  --fport N              FPort 1..223 (1)\n"
	      "  --sf N                 spreading factor 7..12, 0 = per device (7)\n"
	      "  --region NAME          EU868, AS923-1..AS923-4 (AS923), KR920, IN865, US915\n"
	      "                         or AU915: the devices send on the region's default\n"
	      "                         channels (US915/AU915: the enabled ones of 0..71,\n"
	      "                         all at first) and listen where it prescribes RX1\n"
	      "                         and RX2 (EU868)\n"
	      "  --gateway-sub-band N   US915/AU915: the gateways hear sub-band N (1..8)\n"
	      "                         only, channels 8(N-1)..8(N-1)+7 and 63+N; an uplink\n"
	      "                         elsewhere is lost (unheard_uplinks) (2)\n"
	      "  --uplink-dwell 0|1     AS923/AU915 UplinkDwellTime: 1 keeps 125 kHz uplinks\n"
	      "                         at SF7..SF10 (1; AU915 devices before LoRaWAN 1.0.3:\n"
	      "                         0, and neither option, they have no TxParamSetupReq)\n"
	      "  --downlink-dwell 0|1   AS923 DownlinkDwellTime: the RX1 table and downlink\n"
	      "                         size limits the devices assume (0); no effect in\n"
	      "                         AU915 (500 kHz downlinks, no dwell limit)\n"
	      "  --confirmed            send ConfirmedDataUp\n"
	      "  --shared-devaddr       devices 0 and 1 share a DevAddr (different keys)\n"
	      "\n"
	      "OTAA (devices join first, then send data):\n"
	      "  --otaa                 derived devices are OTAA (JoinEUI, AppKey from --seed)\n"
	      "  --lorawan-version V    1.0.0 .. 1.0.4 (1.0.3); 1.0.4 DevNonces count up,\n"
	      "                         LinkADRReq DR / TX power 15 = keep (else refused)\n"
	      "  --dev-nonce-start N    first DevNonce of 1.0.4 devices (0)\n"
	      "  --join-timeout MS      retry a join without accept after MS ms (2000)\n"
	      "  --rejoin-lost N        after N uplinks of its session each OTAA device sends\n"
	      "                         a join-request once more, loses its join-accept\n"
	      "                         (checked, not taken) and goes on with its session\n"
	      "  --rx2-dr N             RX2 data rate before a join-accept / for ABP (the\n"
	      "                         region's: EU868, KR920 DR0; AS923, IN865 DR2;\n"
	      "                         US915, AU915 DR8)\n"
	      "\n"
	      "MAC commands (the devices apply and answer LinkADRReq, DevStatusReq,\n"
	      "RXParamSetupReq, RXTimingSetupReq and NewChannelReq):\n"
	      "  --adr                  set the ADR bit: the network may change DR and power\n"
	      "  --ignore-adr           drop every LinkADRReq unanswered and unapplied\n"
	      "  --battery N            DevStatusAns battery, 0 external power, 1..254 level,\n"
	      "                         255 unknown (200)\n"
	      "  --snr-spread MIN:MAX   device i of n has the SNR MIN + (MAX - MIN) i / (n - 1)\n"
	      "                         dB at full power (each TX power step 2 dB less);\n"
	      "                         default: the radio model's, about 9.5 dB\n"
	      "\n"
	      "Downlinks (every PULL_RESP is verified as the device would receive it):\n"
	      "  --expect-down FILE     append \"<dev_eui> <fcnt_down> <fport> <payload hex>\n"
	      "                         <ack 0|1> <rx1|rx2|rxc>\" per verified data downlink;\n"
	      "                         rxc lines end with the receive time (Unix us)\n"
	      "  --class-c              devices are class C: they also take downlinks sent\n"
	      "                         at once (imme) on RX2, at any time; emitted with\n"
	      "                         class = \"C\"\n"
	      "  --no-ack               never acknowledge confirmed downlinks\n"
	      "  --txack-error CODE:N   answer every N-th PULL_RESP with TX_ACK error CODE\n"
	      "                         (TOO_LATE, TOO_EARLY, COLLISION_PACKET, ...); the\n"
	      "                         device never sees it. Repeatable (4), protocol 2 only\n"
	      "  --linger MS            keep listening MS ms after the last uplink (0)\n"
	      "  --strict-downlinks     exit 4 if any downlink was bad\n"
	      "\n"
	      "Checks and output:\n"
	      "  --expect FILE          append \"<dev_eui> <fcnt> <payload hex>\" per uplink\n"
	      "  --print                print every uplink and downlink to stdout\n"
	      "  --strict-acks          exit 3 if any ACK was missing\n"
	      "  --quiet                no informational messages\n"
	      "\n"
	      "Fault injection (extra datagrams, not counted in sent_uplinks):\n"
	      "  --replay N             every N uplinks re-send an older frame (its FCnt and\n"
	      "                         payload, ADR bit flipped so it is no exact copy)\n"
	      "  --bad-mic N            every N uplinks send a frame with a wrong MIC\n"
	      "  --malformed N          every N datagrams send a malformed one\n"
	      "                         (short, version, ident, json, base64, size in turn)\n"
	      "\n"
	      "Exit status: 0 ok, 1 socket or setup error, 2 usage, 3 missing ACKs with\n"
	      "--strict-acks, 4 bad downlinks with --strict-downlinks. A summary line goes\n"
	      "to stderr at exit.\n",
	      out);
}

static void defaults(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->host, SIM_DEFAULT_HOST);
	strcpy(o->port, SIM_DEFAULT_PORT);
	o->gateways = 1;
	o->gateway_eui = SIM_DEFAULT_GATEWAY_EUI;
	o->devices = 3;
	o->rate = 1.0;
	o->seed = 1;
	o->application = "sim";
	o->payload_size = -1;
	o->fport = 1;
	o->sf = 7;
	o->keepalive_s = 10.0;
	o->stat_interval_s = 30.0;
	o->ack_timeout_ms = 500;
	o->protocol = 2;
	o->lorawan_version = "1.0.3";
	o->join_timeout_ms = SIM_DEFAULT_JOIN_TIMEOUT_MS;
	o->region_name = "EU868";
	o->gateway_sub_band = SIM_DEFAULT_SUB_BAND;
	o->uplink_dwell = -1;
	o->downlink_dwell = -1;
	o->battery = SIM_MAC_DEFAULT_BATTERY;
}

int sim_opts_split_server(const char *s, char host[SIM_HOST_LEN], char port[SIM_PORT_LEN])
{
	const char *h = s, *p = NULL;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return LB_ERR_INVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		p = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strrchr(s, ':');
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		p = colon ? colon + 1 : NULL;
		if (colon && strchr(s, ':') != colon)
			return LB_ERR_INVAL;  /* bare IPv6 needs brackets */
	}
	if (hlen == 0 || hlen >= SIM_HOST_LEN)
		return LB_ERR_INVAL;
	if (p && (*p == '\0' || strlen(p) >= SIM_PORT_LEN || strspn(p, "0123456789") != strlen(p)))
		return LB_ERR_INVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, p ? p : SIM_DEFAULT_PORT);
	return LB_OK;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s == '\0' || *s == '-')
		return LB_ERR_INVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v > max)
		return LB_ERR_INVAL;
	*out = v;
	return LB_OK;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
		return LB_ERR_INVAL;
	*out = v;
	return LB_OK;
}

/* Parse an unsigned value of at most max into *out (any unsigned type). */
#define GET_U(max, out)                                            \
	do {                                                       \
		uint64_t v_;                                       \
		if (parse_u64(optarg, (max), &v_) != LB_OK)        \
			return LB_ERR_INVAL;                       \
		*(out) = v_;                                       \
	} while (0)

static int set_flag(bool *flag)
{
	*flag = true;
	return LB_OK;
}

static int set_path(const char **dst, const char *arg)
{
	*dst = arg;
	return *arg ? LB_OK : LB_ERR_INVAL;
}

/* Options taking numbers; 0 is refused where it makes no sense. */
static int apply_number(struct sim_opts *o, int id, const char *optarg)
{
	switch (id) {
	case OPT_GATEWAYS:
		GET_U(SIM_MAX_GATEWAYS, &o->gateways);
		return o->gateways ? LB_OK : LB_ERR_INVAL;
	case OPT_DEVICES:
		GET_U(SIM_MAX_DEVICES, &o->devices);
		o->devices_given = true;
		return o->devices ? LB_OK : LB_ERR_INVAL;
	case OPT_RATE:
		return parse_double(optarg, 1e-6, MAX_RATE, &o->rate);
	case OPT_COUNT:
		GET_U(UINT64_MAX, &o->count);
		return LB_OK;
	case OPT_DURATION:
		return parse_double(optarg, 0, MAX_SECONDS, &o->duration_s);
	case OPT_SEED:
		GET_U(UINT64_MAX, &o->seed);
		return LB_OK;
	case OPT_FCNT_START:
		GET_U(UINT32_MAX, &o->fcnt_start);
		return LB_OK;
	case OPT_PAYLOAD_SIZE:
		GET_U(SIM_MAX_PAYLOAD, &o->payload_size);
		return LB_OK;
	case OPT_PAYLOAD:
		if (!strcmp(optarg, "text"))
			o->payload_lpp = false;
		else if (!strcmp(optarg, "cayennelpp"))
			o->payload_lpp = true;
		else
			return LB_ERR_INVAL;
		return LB_OK;
	case OPT_FPORT:
		GET_U(MAX_FPORT, &o->fport);
		return o->fport ? LB_OK : LB_ERR_INVAL;
	case OPT_SF:
		GET_U(12, &o->sf);
		return o->sf == 0 || o->sf >= 7 ? LB_OK : LB_ERR_INVAL;
	case OPT_KEEPALIVE:
		return parse_double(optarg, 0, MAX_SECONDS, &o->keepalive_s);
	case OPT_STAT_INTERVAL:
		return parse_double(optarg, 0, MAX_SECONDS, &o->stat_interval_s);
	case OPT_ACK_TIMEOUT:
		GET_U(MAX_ACK_TIMEOUT_MS, &o->ack_timeout_ms);
		return o->ack_timeout_ms ? LB_OK : LB_ERR_INVAL;
	case OPT_PROTOCOL:
		GET_U(2, &o->protocol);
		return o->protocol ? LB_OK : LB_ERR_INVAL;
	case OPT_REPLAY:
		GET_U(UINT32_MAX, &o->replay_every);
		return LB_OK;
	case OPT_BAD_MIC:
		GET_U(UINT32_MAX, &o->bad_mic_every);
		return LB_OK;
	case OPT_MALFORMED:
		GET_U(UINT32_MAX, &o->malformed_every);
		return LB_OK;
	case OPT_DEV_NONCE_START:
		GET_U(UINT16_MAX, &o->dev_nonce_start);
		return LB_OK;
	case OPT_JOIN_TIMEOUT:
		GET_U(MAX_JOIN_TIMEOUT_MS, &o->join_timeout_ms);
		return o->join_timeout_ms ? LB_OK : LB_ERR_INVAL;
	case OPT_REJOIN_LOST:
		GET_U(UINT32_MAX, &o->rejoin_lost);
		return LB_OK;
	case OPT_RX2_DR:
		GET_U(MAX_RX2_DR, &o->rx2_dr);
		o->rx2_dr_given = true;
		return LB_OK;
	case OPT_GATEWAY_SUB_BAND:
		GET_U(MAX_SUB_BAND, &o->gateway_sub_band);
		o->gateway_sub_band_given = true;
		return o->gateway_sub_band ? LB_OK : LB_ERR_INVAL;
	case OPT_UPLINK_DWELL:
		GET_U(1, &o->uplink_dwell);
		return LB_OK;
	case OPT_DOWNLINK_DWELL:
		GET_U(1, &o->downlink_dwell);
		return LB_OK;
	case OPT_LINGER:
		GET_U(MAX_LINGER_MS, &o->linger_ms);
		return LB_OK;
	case OPT_BATTERY:
		GET_U(UINT8_MAX, &o->battery);
		return LB_OK;
	default:
		return LB_ERR_INVAL;
	}
}

/* "MIN:MAX" in dB, MIN <= MAX, within the SNR an rxpk can report. */
static int set_snr_spread(struct sim_opts *o, const char *arg)
{
	char min_s[32];
	const char *colon = strchr(arg, ':');

	if (!colon || (size_t)(colon - arg) >= sizeof(min_s))
		return LB_ERR_INVAL;
	memcpy(min_s, arg, (size_t)(colon - arg));
	min_s[colon - arg] = '\0';
	if (parse_double(min_s, MIN_SNR_DB, MAX_SNR_DB, &o->snr_min_db) != LB_OK ||
	    parse_double(colon + 1, MIN_SNR_DB, MAX_SNR_DB, &o->snr_max_db) != LB_OK ||
	    o->snr_min_db > o->snr_max_db)
		return LB_ERR_INVAL;
	o->snr_spread = true;
	return LB_OK;
}

/* TX_ACK error codes of Semtech PROTOCOL.TXT §6 (and sx1302_hal PROTOCOL.md). */
static const char *const txack_codes[] = {
	"TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "COLLISION_BEACON", "TX_FREQ",
	"TX_POWER", "GPS_UNLOCKED", NULL,
};

static bool txack_code_known(const char *code, size_t len)
{
	for (size_t i = 0; txack_codes[i]; i++)
		if (strlen(txack_codes[i]) == len && strncmp(txack_codes[i], code, len) == 0)
			return true;
	return false;
}

/* "CODE:N", N >= 1. */
static int add_txack_rule(struct sim_opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	uint64_t every;

	if (!colon || o->n_txack_rules == SIM_MAX_TXACK_RULES ||
	    !txack_code_known(arg, (size_t)(colon - arg)) ||
	    parse_u64(colon + 1, UINT32_MAX, &every) != LB_OK || every == 0)
		return LB_ERR_INVAL;
	struct sim_txack_rule *r = &o->txack_rules[o->n_txack_rules++];
	memcpy(r->code, arg, (size_t)(colon - arg));
	r->code[colon - arg] = '\0';
	r->every = (unsigned)every;
	return LB_OK;
}

static int set_version(struct sim_opts *o, const char *arg)
{
	static const char *const versions[] = {"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", NULL};

	for (size_t i = 0; versions[i]; i++) {
		if (strcmp(arg, versions[i]) == 0) {
			o->lorawan_version = versions[i];
			return LB_OK;
		}
	}
	return LB_ERR_INVAL;
}

static int apply(struct sim_opts *o, int id, const char *optarg)
{
	switch (id) {
	case OPT_SERVER:
		return sim_opts_split_server(optarg, o->host, o->port);
	case OPT_GATEWAY_EUI:
		return hex_parse_u64_eui(optarg, &o->gateway_eui) == LB_OK ? LB_OK : LB_ERR_INVAL;
	case OPT_KEYS: return set_path(&o->keys_path, optarg);
	case OPT_WRITE_KEYS: return set_path(&o->write_keys_path, optarg);
	case OPT_EMIT_DEVICES: return set_path(&o->emit_devices_path, optarg);
	case OPT_APPLICATION: return set_path(&o->application, optarg);
	case OPT_EXPECT: return set_path(&o->expect_path, optarg);
	case OPT_FCNT_ROLLOVER: return set_flag(&o->fcnt_rollover);
	case OPT_CONFIRMED: return set_flag(&o->confirmed);
	case OPT_ALL_GATEWAYS: return set_flag(&o->all_gateways);
	case OPT_PRINT: return set_flag(&o->print);
	case OPT_QUIET: return set_flag(&o->quiet);
	case OPT_STRICT_ACKS: return set_flag(&o->strict_acks);
	case OPT_SHARED_DEVADDR: return set_flag(&o->shared_devaddr);
	case OPT_OTAA: return set_flag(&o->otaa);
	case OPT_LORAWAN_VERSION: return set_version(o, optarg);
	case OPT_EXPECT_DOWN: return set_path(&o->expect_down_path, optarg);
	case OPT_STRICT_DOWNLINKS: return set_flag(&o->strict_downlinks);
	case OPT_TXACK_ERROR: return add_txack_rule(o, optarg);
	case OPT_REGION: return set_path(&o->region_name, optarg);
	case OPT_ADR: return set_flag(&o->adr);
	case OPT_IGNORE_ADR: return set_flag(&o->ignore_adr);
	case OPT_SNR_SPREAD: return set_snr_spread(o, optarg);
	case OPT_CLASS_C: return set_flag(&o->class_c);
	case OPT_NO_ACK: return set_flag(&o->no_ack);
	case OPT_PREBUILD: return set_flag(&o->prebuild);
	default: return apply_number(o, id, optarg);
	}
}

/*
 * --region with its dwell settings. The default-channel regions (RP002-1.0.4:
 * EU868 §2.4.2, AS923 §2.10.2, KR920 §2.11.2, IN865 §2.12.2) and the grid
 * regions US915 (§2.5.2) and AU915 (§2.8.2), whose devices start with all
 * 72 channels on and hear of the gateways' sub-band from the join-accept's
 * CFList or a LinkADRReq (sim_mac.h). AS923 and AU915 devices start with
 * UplinkDwellTime 1 and DownlinkDwellTime 0 unless told otherwise, as
 * lorabridge's region_dwell_time does (RP002-1.0.4 §2.3, §2.8.2), except
 * AU915 devices of LoRaWAN 1.0.0 .. 1.0.2: Regional Parameters 1.0.2revB
 * gives them no TxParamSetupReq and no dwell limit (region.h
 * region_device_uplink_dwell()).
 */
static int resolve_region(struct sim_opts *o)
{
	const struct region *r = region_find(o->region_name);

	if (!r || (r->n_default_channels == 0 && r->rx1_freq != REGION_RX1_CHANNEL_MOD8)) {
		fprintf(stderr, "lorabridge-sim: --region %s: not one of EU868, AS923, AS923-1.."
			"AS923-4, KR920, IN865, US915, AU915\n", o->region_name);
		return LB_ERR_INVAL;
	}
	bool grid = r->rx1_freq == REGION_RX1_CHANNEL_MOD8;
	if (!grid && o->gateway_sub_band_given) {
		fprintf(stderr, "lorabridge-sim: --gateway-sub-band is for US915 and AU915\n");
		return LB_ERR_INVAL;
	}
	if (!r->tx_param_setup && (o->uplink_dwell >= 0 || o->downlink_dwell >= 0)) {
		fprintf(stderr, "lorabridge-sim: --uplink-dwell/--downlink-dwell are for AS923 "
			"and AU915\n");
		return LB_ERR_INVAL;
	}
	unsigned minor = (unsigned)(o->lorawan_version[4] - '0');   /* "1.0.x", set_version() */
	bool tx_param = r->tx_param_setup && minor >= r->tx_param_setup_since;
	if (!tx_param && r->tx_param_setup && (o->uplink_dwell >= 0 || o->downlink_dwell >= 0)) {
		fprintf(stderr, "lorabridge-sim: --uplink-dwell/--downlink-dwell: %s devices of "
			"LoRaWAN %s have no TxParamSetupReq\n", r->name, o->lorawan_version);
		return LB_ERR_INVAL;
	}
	bool up = tx_param && o->uplink_dwell != 0;
	bool down = tx_param && o->downlink_dwell == 1;
	if (region_configure(r, up, down, &o->region) != LB_OK) {
		fprintf(stderr, "lorabridge-sim: --region %s: dwell settings refused\n", r->name);
		return LB_ERR_INVAL;
	}
	if (up && o->sf > SF_MAX_DWELL) {
		fprintf(stderr, "lorabridge-sim: --sf %u breaks the 400 ms uplink dwell time of %s "
			"(SF7..SF10, or --uplink-dwell 0)\n", o->sf, r->name);
		return LB_ERR_INVAL;
	}
	if (o->sf && region_dr_lora(&o->region, o->sf, BW_125, true) < 0) {
		fprintf(stderr, "lorabridge-sim: --sf %u: no 125 kHz uplink DR of %s has it\n",
			o->sf, r->name);
		return LB_ERR_INVAL;
	}
	if (!o->rx2_dr_given) {
		uint32_t unused;
		(void)region_rx2(&o->region, &unused, &o->rx2_dr);
		return LB_OK;
	}
	/* Elsewhere DR0..DR5 as before; US915/AU915: DR8..DR13 (§2.5.3, §2.8.3). */
	const struct region_dr *d = region_dr_info(&o->region, o->rx2_dr);
	bool ok = grid ? d && d->mod == REGION_MOD_LORA && d->downlink :
		  o->rx2_dr <= MAX_RX2_DR_125;
	if (!ok) {
		fprintf(stderr, "lorabridge-sim: --rx2-dr %u: not a LoRa downlink DR of %s%s\n",
			o->rx2_dr, r->name, grid ? "" : " (DR0..DR5)");
		return LB_ERR_INVAL;
	}
	return LB_OK;
}

/* --prebuild builds every frame before the run: what depends on the
 * network's answers (joins, ACK bits, MAC answers, checked downlinks), on a
 * live clock (--duration) or on per-frame output cannot be built ahead. */
static const char *prebuild_conflict(const struct sim_opts *o)
{
	if (o->otaa)
		return "--otaa";
	if (o->confirmed)
		return "--confirmed";
	if (o->class_c)
		return "--class-c";
	if (o->adr)
		return "--adr";
	if (o->print)
		return "--print";
	if (o->expect_down_path || o->strict_downlinks || o->n_txack_rules)
		return "--expect-down, --strict-downlinks or --txack-error";
	if (o->replay_every || o->bad_mic_every || o->malformed_every)
		return "--replay, --bad-mic or --malformed";
	if (o->duration_s > 0)
		return "--duration";
	return NULL;
}

static int check_prebuild(const struct sim_opts *o)
{
	const char *conflict = prebuild_conflict(o);

	if (conflict) {
		fprintf(stderr, "lorabridge-sim: --prebuild does not go with %s\n", conflict);
		return LB_ERR_INVAL;
	}
	if (o->count == 0) {
		fprintf(stderr, "lorabridge-sim: --prebuild needs --count N\n");
		return LB_ERR_INVAL;
	}
	return LB_OK;
}

/* The name of option id, looked up in long_opts[] (whose order need not
 * be the enum's). */
static const char *opt_name(int id)
{
	for (const struct option *p = long_opts; p->name; p++) {
		if (p->val == id)
			return p->name;
	}
	return "?";
}

int sim_opts_parse(struct sim_opts *o, int argc, char **argv)
{
	int id;

	defaults(o);
	optind = 1;
	while ((id = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (id == OPT_HELP) {
			sim_opts_usage(stdout);
			return 1;
		}
		if (id == '?')
			return LB_ERR_INVAL;  /* getopt printed why */
		if (apply(o, id, optarg) != LB_OK) {
			fprintf(stderr, "lorabridge-sim: invalid value for --%s: '%s'\n",
				opt_name(id), optarg ? optarg : "");
			return LB_ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lorabridge-sim: unexpected argument '%s'\n", argv[optind]);
		return LB_ERR_INVAL;
	}
	if (o->n_txack_rules && o->protocol == 1) {
		fprintf(stderr, "lorabridge-sim: --txack-error needs protocol 2 (v1 has no TX_ACK)\n");
		return LB_ERR_INVAL;
	}
	if (o->otaa && o->shared_devaddr) {
		fprintf(stderr, "lorabridge-sim: --shared-devaddr is for ABP devices\n");
		return LB_ERR_INVAL;
	}
	if (o->shared_devaddr && !o->keys_path && o->devices < 2) {
		fprintf(stderr, "lorabridge-sim: --shared-devaddr needs at least 2 devices\n");
		return LB_ERR_INVAL;
	}
	if (o->prebuild && check_prebuild(o) != LB_OK)
		return LB_ERR_INVAL;
	return resolve_region(o);
}
