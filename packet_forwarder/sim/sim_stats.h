/* SPDX-License-Identifier: MIT */
/*
 * sim_stats.h - run totals of lorabridge-sim, printed as one summary line.
 *
 * The first fields of the line are a stable interface for the integration
 * tests and benchmarks (they match `name=value` pairs); new counters are
 * only ever appended.
 */
#ifndef LB_SIM_STATS_H
#define LB_SIM_STATS_H

#include <stdint.h>
#include <stdio.h>

struct sim_stats {
	uint64_t sent_uplinks;      /* fresh frames (one per device uplink, whatever the gateways) */
	uint64_t push_data;         /* PUSH_DATA datagrams sent (rxpk and stat) */
	uint64_t push_ack;          /* PUSH_ACK matching an outstanding token */
	uint64_t pull_data;
	uint64_t pull_ack;
	uint64_t missing_acks;      /* PUSH_DATA/PULL_DATA not acked within the timeout */
	uint64_t bad_tokens;        /* ACK whose token was never sent (or long forgotten) */
	uint64_t injected_replays;
	uint64_t injected_bad_mic;
	uint64_t injected_malformed;
	/* appended fields */
	uint64_t late_acks;         /* ACK for a datagram already counted missing */
	uint64_t bad_acks;          /* wrong version, wrong identifier for the socket, short */
	uint64_t malformed_acks;    /* ACKs to injected malformed datagrams */
	uint64_t pull_resp;         /* PULL_RESP received */
	uint64_t pull_resp_bad;     /* PULL_RESP whose JSON did not parse */
	uint64_t stat_sent;         /* PUSH_DATA carrying a stat object */
	uint64_t send_errors;       /* non-fatal send failures (EAGAIN, ECONNREFUSED) */
	/* OTAA and downlinks (sim_dlcheck.h) */
	uint64_t joins_sent;        /* join-requests sent, retries included */
	uint64_t joins_ok;          /* join-accepts taken */
	uint64_t join_retries;      /* join-requests after a device's first */
	uint64_t downlinks_ok;      /* PULL_RESP verified (join-accepts included) */
	uint64_t downlinks_bad;     /* PULL_RESP the device would not take (reason printed) */
	uint64_t downlinks_rx1;     /* of downlinks_ok, in RX1 */
	uint64_t downlinks_rx2;     /* of downlinks_ok, in RX2 */
	uint64_t downlinks_rxc;     /* of downlinks_ok, class C (sent at once, on RX2) */
	uint64_t acks_sent;         /* uplinks with ACK set after a confirmed downlink */
	uint64_t acks_received;     /* downlinks with ACK answering a confirmed uplink */
	uint64_t txack_sent;        /* TX_ACK datagrams (protocol 2) */
	uint64_t txack_errors_injected; /* of them, --txack-error refusals */
	uint64_t downlinks_late;    /* refused TOO_LATE: tmst past on arrival */
	uint64_t acks_missing;      /* confirmed uplinks whose answer had no ACK / never came */
	/* MAC commands the devices received (sim_mac.h) */
	uint64_t mac_link_adr_applied;  /* LinkADRReq blocks applied */
	uint64_t mac_link_adr_refused;  /* answered with a status bit clear */
	uint64_t mac_link_adr_ignored;  /* --ignore-adr */
	uint64_t mac_dev_status;        /* DevStatusReq answered */
	uint64_t mac_rx_param;          /* RXParamSetupReq received */
	uint64_t mac_rx_timing;
	uint64_t mac_new_channel;
	/* appended: datagrams lost because nothing listened */
	uint64_t refused;               /* ICMP port unreachable reported by recv (ECONNREFUSED) */
	/* appended: --rejoin-lost */
	uint64_t joins_lost;            /* join-accepts verified and dropped unapplied */
	/* appended: US915/AU915 (--gateway-sub-band) */
	uint64_t unheard_uplinks;       /* data uplinks on a channel no gateway listens to */
	uint64_t unheard_joins;         /* join-requests likewise */
	uint64_t joins_cflist;          /* of joins_ok, join-accepts with a CFList */
	/* appended: LoRaWAN 1.0.4 LinkADRReq */
	uint64_t mac_link_adr_keep;     /* of applied, DataRate and TXPower 15 (keep) */
	/* appended: class-A downlinks for an earlier transmission (sim_dlcheck.h) */
	uint64_t downlinks_overtaken;   /* of downlinks_ok, answering an uplink the device's
					 * next one (its --rate pacing) had overtaken */
};

/* "sim: sent_uplinks=... push_data=... ..." and a newline. */
void sim_stats_print(const struct sim_stats *s, FILE *out);

#endif
