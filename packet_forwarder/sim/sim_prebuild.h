/* SPDX-License-Identifier: MIT */
/*
 * sim_prebuild.h - --prebuild: every PUSH_DATA of the run is built first,
 * then replayed at --rate with sendmmsg(2), so that sending an uplink costs
 * the simulator a small fraction of what receiving it costs the bridge (a
 * load generator for benchmarks; a live run encrypts, computes the MIC and
 * writes the JSON of each frame as it sends it).
 *
 * Building: sim_traffic runs on a virtual clock, each tick at the due time
 * of the next slot (start + k / rate), and the gateways' capture hook
 * (sim_gateway.h) takes each framed PUSH_DATA instead of the socket. So the
 * frames are those of a live run with the same options: keys, FCnts,
 * payloads, channels, RSSI/SNR, and the tmst and `time` of the schedule as
 * planned from the moment the build starts (the replay starts when the build
 * ends, so both are earlier than the real sending by the build's duration).
 * Only the tokens are shifted by one: a live run sends its first PULL_DATA
 * before the first uplink, --prebuild after the build. Each gateway gets a
 * lane: its datagrams in sending order, each with its time on air (which
 * names its transmission: every transmission has its own, sim_traffic.h)
 * and its token.
 *
 * Replaying: a datagram is due at the replay's start plus its offset in the
 * schedule. sim_prebuild_tick() sends, per gateway, what is due with
 * sendmmsg() in batches of up to SIM_PB_BATCH (at most SIM_PB_BUDGET a
 * tick, so ACKs keep being read), and asks to be called at the next due
 * time but not before SIM_PB_TICK_US: a batch a millisecond, never a wake-up
 * per datagram. A full socket buffer (EAGAIN, ENOBUFS) leaves the rest for
 * the next tick (the schedule lags; the report shows the rate reached);
 * ECONNREFUSED (an earlier datagram's ICMP port unreachable) drops the
 * datagram, counted in send_errors and refused as in a live run.
 *
 * The upstream sockets are read in the tick too, not on every datagram
 * that arrives: PUSH_ACKs wait in the socket buffer (SO_RCVBUF raised) and
 * are taken with recvmmsg(), so the simulator wakes up about once a
 * millisecond whatever the rate; once everything is sent, the tick comes
 * back every SIM_PB_TICK_US while ACKs are outstanding.
 *
 * ACKs: the server answers the PUSH_DATA of one socket in the order it got
 * them (Semtech PROTOCOL.TXT §3: PUSH_ACK echoes the token), so a PUSH_ACK is
 * matched from the lane's oldest unanswered datagram forward; the ones it
 * passes are missing (they or their ACKs were lost). An ACK later than
 * --ack-timeout counts as missing and late, as in a live run; one that
 * matches nothing ahead is late if its token is among the last
 * SIM_PB_SKIPPED_MEMORY passed over, else a bad token. What is still
 * unanswered when the run ends (sim_prebuild_close) is missing.
 *
 * Counted in struct sim_stats as a live run does, but when sent, not when
 * built: sent_uplinks (transmissions with at least one datagram sent),
 * push_data, push_ack, missing_acks, late_acks, bad_tokens, bad_acks,
 * send_errors, refused. --expect lists every uplink built.
 *
 * Ownership: sim_prebuild_init() allocates the lanes and sets the capture
 * hooks of the caller's gateways (which must outlive it);
 * sim_prebuild_free() releases the lanes.
 */
#ifndef LB_SIM_PREBUILD_H
#define LB_SIM_PREBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "sim_gateway.h"
#include "sim_stats.h"
#include "sim_traffic.h"

#define SIM_PB_BATCH 64              /* datagrams per sendmmsg / recvmmsg */
#define SIM_PB_BUDGET 1024           /* datagrams per lane per tick */
#define SIM_PB_TICK_US 1000          /* at least this between two ticks that send */
#define SIM_PB_SKIPPED_MEMORY 64

struct sim_pb_dgram {
	uint32_t off;                /* in the lane's bytes */
	uint16_t len;
	uint16_t token;
	uint32_t uplink;             /* which transmission (0, 1, ...) */
	int64_t due_us;              /* offset from the start of the schedule */
	int64_t sent_us;             /* -1: not sent (yet, or dropped) */
};

struct sim_pb_lane {
	uint8_t *bytes;
	size_t n_bytes, cap_bytes;
	struct sim_pb_dgram *d;
	size_t n, cap;
	size_t next;                 /* the next to send */
	size_t acked_to;             /* the oldest not yet answered nor given up */
	size_t outstanding;          /* sent, not yet answered nor given up */
	uint16_t skipped[SIM_PB_SKIPPED_MEMORY];
	size_t n_skipped;            /* total; index = n_skipped % MEMORY */
};

struct sim_prebuild {
	struct sim_gateway *gws;
	unsigned n_gws;
	struct sim_stats *st;
	struct sim_pb_lane *lanes;   /* one per gateway */
	int64_t ack_timeout_us;
	uint8_t *uplink_sent;        /* per transmission: a datagram of it left */
	size_t n_uplinks, cap_uplinks;
	int64_t build_start_us;      /* virtual clock origin */
	int64_t last_air_us;         /* of the last captured datagram, -1: none */
	int64_t build_us;            /* how long the build took */
	int64_t start_us;            /* replay start, -1: not started */
	int64_t end_us;              /* when the last datagram was sent, -1: not yet */
	bool finished;               /* all sent (or stopped) */
	struct rusage ru_start, ru_end;
};

/* Prepare lanes for the n_gws gateways and set their capture hooks. Errors:
 * LB_ERR_NOMEM. */
int sim_prebuild_init(struct sim_prebuild *pb, struct sim_gateway *gws, unsigned n_gws,
		      struct sim_stats *st, int64_t ack_timeout_us);
void sim_prebuild_free(struct sim_prebuild *pb);

/* Run the traffic t (set up with sim_traffic_init(..., now_us), with a
 * --count) on the virtual clock until it is finished, capturing every
 * datagram; then unset the capture hooks. Errors: those of
 * sim_traffic_tick and LB_ERR_NOMEM. */
int sim_prebuild_build(struct sim_prebuild *pb, struct sim_traffic *t, int64_t now_us);

/* Start the replay's schedule at now_us. */
void sim_prebuild_start(struct sim_prebuild *pb, int64_t now_us);

/* Read the PUSH_ACKs waiting, then send what is due; *next_us gets the next
 * deadline (unchanged when finished and nothing is outstanding). The
 * caller does not poll the upstream sockets. Errors: LB_ERR_IO (fatal
 * socket error). */
int sim_prebuild_tick(struct sim_prebuild *pb, int64_t now_us, int64_t *next_us);

/* Stop sending (signal). */
void sim_prebuild_finish(struct sim_prebuild *pb, int64_t now_us);

/* Read and match the PUSH_ACKs waiting on gateway g's upstream socket.
 * Errors: LB_ERR_IO. */
int sim_prebuild_read(struct sim_prebuild *pb, unsigned g, int64_t now_us);

/* Match one PUSH_ACK token on lane g, received at now_us (pure: the part of
 * sim_prebuild_read that tests call directly). */
void sim_prebuild_ack(struct sim_prebuild *pb, unsigned g, uint16_t token, int64_t now_us);

/* Datagrams sent and not yet answered nor given up. */
size_t sim_prebuild_outstanding(const struct sim_prebuild *pb);

/* The run is over: whatever is unanswered is missing. */
void sim_prebuild_close(struct sim_prebuild *pb);

/* "sim: prebuild: ..." line: what was built, the rate reached, the
 * simulator's CPU time per uplink while sending. */
void sim_prebuild_report(const struct sim_prebuild *pb, double rate, FILE *out);

#endif
