/* SPDX-License-Identifier: MIT */
/*
 * sim_opts.h - command line of lorabridge-sim (getopt_long).
 *
 * sim_opts_parse() only validates and fills the struct; it opens no file
 * and prints nothing but the reason for a rejection (to stderr).
 * Ownership: string fields point into argv.
 */
#ifndef LB_SIM_OPTS_H
#define LB_SIM_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lorawan/region.h"
#include "sim_mac.h"

#define SIM_DEFAULT_HOST "127.0.0.1"
#define SIM_DEFAULT_PORT "1700"
#define SIM_DEFAULT_GATEWAY_EUI 0xaa555a0000000001ULL
#define SIM_MAX_GATEWAYS 1024
#define SIM_HOST_LEN 256
#define SIM_PORT_LEN 8
#define SIM_MAX_TXACK_RULES 4
#define SIM_TXACK_CODE_LEN 24
#define SIM_DEFAULT_JOIN_TIMEOUT_MS 2000
#define SIM_DEFAULT_SUB_BAND 2          /* --gateway-sub-band: TTN's FSB 2 */

/* --txack-error CODE:N: answer every N-th PULL_RESP with TX_ACK error CODE. */
struct sim_txack_rule {
	char code[SIM_TXACK_CODE_LEN];  /* TOO_LATE, TOO_EARLY, COLLISION_PACKET, ... */
	unsigned every;                 /* >= 1 */
};

struct sim_opts {
	char host[SIM_HOST_LEN];
	char port[SIM_PORT_LEN];
	unsigned gateways;              /* 1 */
	uint64_t gateway_eui;           /* of the first gateway; the others follow */
	size_t devices;                 /* 3 */
	bool devices_given;
	double rate;                    /* uplinks/s over all devices (1) */
	uint64_t count;                 /* data uplinks (not joins), then exit; 0 = no limit */
	double duration_s;              /* 0 = no limit */
	uint64_t seed;                  /* 1 */
	const char *keys_path;
	const char *write_keys_path;
	const char *emit_devices_path;
	const char *application;        /* "sim" */
	const char *expect_path;
	uint32_t fcnt_start;            /* 0 */
	bool fcnt_rollover;             /* start at SIM_FCNT_ROLLOVER_START */
	int payload_size;               /* -1 = natural */
	bool payload_lpp;               /* --payload cayennelpp */
	uint8_t fport;                  /* 1 */
	uint8_t sf;                     /* 7; 0 = per device */
	/* --region: the devices' default channels, data rates and RX windows */
	const char *region_name;        /* "EU868" */
	int uplink_dwell;               /* AS923/AU915 --uplink-dwell 0|1, -1 = default (1;
					 * AU915 before LoRaWAN 1.0.3: 0) */
	int downlink_dwell;             /* AS923/AU915 --downlink-dwell 0|1, -1 = default (0) */
	struct region region;           /* region_name, dwell settings applied */
	unsigned gateway_sub_band;      /* US915/AU915: what the gateways hear (2) */
	bool gateway_sub_band_given;
	bool confirmed;
	double keepalive_s;             /* 10; 0 = no PULL_DATA */
	double stat_interval_s;         /* 30; 0 = no stat */
	int ack_timeout_ms;             /* 500 */
	uint8_t protocol;               /* 2 */
	bool all_gateways;
	bool prebuild;                  /* build every datagram, then replay (sim_prebuild.h) */
	bool print;
	bool quiet;
	bool strict_acks;
	bool shared_devaddr;
	unsigned replay_every;          /* 0 = off */
	unsigned bad_mic_every;
	unsigned malformed_every;
	/* OTAA and downlinks */
	bool otaa;                      /* derived devices join over the air */
	const char *lorawan_version;    /* "1.0.3"; 1.0.4: DevNonce is a counter */
	uint16_t dev_nonce_start;       /* first DevNonce of 1.0.4 devices (0) */
	int join_timeout_ms;            /* wall clock before a join is retried (2000) */
	unsigned rejoin_lost;           /* --rejoin-lost N: after N uplinks of its session an
					 * OTAA device joins again, loses the join-accept
					 * and goes on with its session (0 = never) */
	uint8_t rx2_dr;                 /* RX2 DR before a join-accept / of ABP devices */
	bool rx2_dr_given;              /* else the region's default RX2 DR */
	const char *expect_down_path;
	bool strict_downlinks;
	int linger_ms;                  /* keep listening after the last uplink (0) */
	bool class_c;                   /* devices listen all the time (class C) */
	bool no_ack;                    /* confirmed downlinks are never acknowledged */
	struct sim_txack_rule txack_rules[SIM_MAX_TXACK_RULES];
	size_t n_txack_rules;
	/* MAC commands (sim_mac.h) */
	bool adr;                       /* --adr: ADR bit set */
	bool ignore_adr;                /* --ignore-adr */
	uint8_t battery;                /* --battery (SIM_MAC_DEFAULT_BATTERY) */
	bool snr_spread;                /* --snr-spread MIN:MAX given */
	double snr_min_db, snr_max_db;
};

/* Parse argv. Returns LB_OK, 1 if --help was asked (usage printed to
 * stdout), or LB_ERR_INVAL (reason printed to stderr). */
int sim_opts_parse(struct sim_opts *o, int argc, char **argv);

void sim_opts_usage(FILE *out);

/* Split "HOST:PORT", "[V6]:PORT" or "HOST" (default port). Returns LB_OK or
 * LB_ERR_INVAL. */
int sim_opts_split_server(const char *s, char host[SIM_HOST_LEN], char port[SIM_PORT_LEN]);

#endif
