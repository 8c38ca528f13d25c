/* SPDX-License-Identifier: MIT */
/*
 * sim_traffic.h - what the simulated devices send and when: the uplink
 * schedule (--rate, --count, --duration), the choice of device and
 * gateway(s), the --expect / --print records and the injected faults
 * (--replay, --bad-mic, --malformed).
 *
 * Slot k (0-based) is due at start + k / rate, an absolute schedule that
 * does not drift; it belongs to device k mod D and is heard by gateway
 * k mod G, or by every gateway with --all-gateways (one rxpk each, with that
 * gateway's own tmst/RSSI/SNR). A late wake-up catches up, at most
 * SIM_TRAFFIC_BUDGET slots per tick so ACKs keep being read.
 *
 * Every transmission (data, join-request, injected replay or bad MIC) gets
 * its own time on air, strictly after the previous one's: the tick's time,
 * or 1 us after the last transmission when a catch-up burst sends several in
 * one tick. The tmst each gateway stamps on it is sim_gateway_tmst() of that
 * time, so no two frames heard by one gateway share a tmst (a concentrator
 * stamps each reception with its own counter value, Semtech PROTOCOL.TXT
 * §4 "tmst"), and the downlink check computes the same tmst from it.
 *
 * What the device does with its slot: an ABP or joined device sends a data
 * uplink (counted by --count, with ACK set if a confirmed downlink came
 * since its last one); an OTAA device without a session sends a
 * join-request, or stays silent while it waits for the accept (until
 * --join-timeout, after which it retries with a new DevNonce). Every
 * transmission is reported to the downlink check (sim_dlcheck_on_tx).
 *
 * A replay is the frame the device of the current uplink sent two counters
 * ago (strictly below the last one the bridge accepted), rebuilt by
 * sim_devices_build_replay(); a device that has sent fewer than two frames
 * defers the replay to the next uplink. A bad-MIC frame carries the device's
 * next, unused counter, which the genuine frame then still gets.
 *
 * Ownership: the caller owns every pointer given to sim_traffic_init and
 * keeps them alive while the traffic runs.
 */
#ifndef LB_SIM_TRAFFIC_H
#define LB_SIM_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_devices.h"
#include "sim_dlcheck.h"
#include "sim_gateway.h"
#include "sim_opts.h"
#include "sim_stats.h"

#define SIM_TRAFFIC_BUDGET 256

struct sim_traffic {
	const struct sim_opts *o;
	struct sim_devices *devs;
	struct sim_gateway *gws;
	unsigned n_gws;
	struct sim_stats *st;
	struct sim_dlcheck *dl;
	FILE *expect;                /* may be NULL */
	FILE *print;                 /* may be NULL */
	struct sim_uplink_conf up_conf;
	int64_t start_us;
	int64_t end_us;              /* -1: no --duration */
	uint64_t k;                  /* slots scheduled so far */
	uint64_t n_data;             /* data uplinks (what --count counts) */
	int64_t last_air_us;         /* time on air of the last transmission, -1: none */
	int64_t wall_start_us;       /* -1: rxpk `time` read from the clock; else the
				      * Unix us of start_us (a virtual clock) */
	bool finished;
	bool replay_due;             /* --replay: waiting for a device with 2 frames */
	uint64_t next_malformed_at;  /* datagram count at which to inject */
	unsigned malformed_kind;
};

/* Start the schedule at now_us. */
void sim_traffic_init(struct sim_traffic *t, const struct sim_opts *o, struct sim_devices *devs,
		      struct sim_gateway *gws, unsigned n_gws, struct sim_stats *st,
		      struct sim_dlcheck *dl, FILE *expect, FILE *print, int64_t now_us);

/* Send what is due. *next_us gets the next deadline (unchanged when
 * finished). Errors: LB_ERR_IO (fatal socket error), codec errors. */
int sim_traffic_tick(struct sim_traffic *t, int64_t now_us, int64_t *next_us);

/* Run on a virtual clock (--prebuild builds every frame at its due time,
 * long before it is sent): each rxpk's `time` is then the Unix time of
 * now_us as of the start, not the clock's when it is built. */
void sim_traffic_use_virtual_clock(struct sim_traffic *t);

/* Stop scheduling (signal). */
void sim_traffic_finish(struct sim_traffic *t);

#endif
