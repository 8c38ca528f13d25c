/* SPDX-License-Identifier: MIT */
/* sim_prebuild.c - build every datagram, then replay them, see sim_prebuild.h. */
#include "sim_prebuild.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/lb_err.h"
#include "base/log.h"

#define MOD "sim"
#define ACK_BUF 16                   /* a PUSH_ACK is GWMP_LEN_HDR bytes */
#define READ_ROUNDS (SIM_PB_BUDGET / SIM_PB_BATCH)
/* Room for the ACKs of a long stall of ours: the default receive buffer
 * holds a few hundred (best effort: the kernel caps it at rmem_max). */
#define ACK_RCVBUF (4 * 1024 * 1024)
#define INITIAL_DGRAMS 1024
#define INITIAL_BYTES (INITIAL_DGRAMS * 512)
#define US_PER_S 1e6

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void earliest(int64_t *next, int64_t t)
{
	if (t >= 0 && (*next < 0 || t < *next))
		*next = t;
}

/* Grow *p (of *cap elements of size sz) to hold need; doubling. */
static int grow(void **p, size_t *cap, size_t need, size_t sz, size_t initial)
{
	if (need <= *cap)
		return LB_OK;
	size_t c = *cap ? *cap : initial;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * sz);
	if (!q)
		return LB_ERR_NOMEM;
	*p = q;
	*cap = c;
	return LB_OK;
}

/* The capture hook: append the datagram to its gateway's lane. A new time
 * on air is a new transmission (sim_traffic gives each its own). */
static int capture(void *arg, const struct sim_gateway *gw, const uint8_t *dgram, size_t len,
		   uint16_t token, int64_t air_us)
{
	struct sim_prebuild *pb = arg;
	struct sim_pb_lane *lane = &pb->lanes[gw - pb->gws];

	if (len > UINT16_MAX || lane->n_bytes + len > UINT32_MAX)
		return LB_ERR_RANGE;
	if (air_us != pb->last_air_us) {
		if (grow((void **)&pb->uplink_sent, &pb->cap_uplinks, pb->n_uplinks + 1, 1,
			 INITIAL_DGRAMS) != LB_OK)
			return LB_ERR_NOMEM;
		pb->uplink_sent[pb->n_uplinks++] = 0;
		pb->last_air_us = air_us;
	}
	if (grow((void **)&lane->d, &lane->cap, lane->n + 1, sizeof(*lane->d), INITIAL_DGRAMS) !=
		    LB_OK ||
	    grow((void **)&lane->bytes, &lane->cap_bytes, lane->n_bytes + len, 1, INITIAL_BYTES) !=
		    LB_OK)
		return LB_ERR_NOMEM;
	lane->d[lane->n++] = (struct sim_pb_dgram){
		.off = (uint32_t)lane->n_bytes, .len = (uint16_t)len, .token = token,
		.uplink = (uint32_t)(pb->n_uplinks - 1), .due_us = air_us - pb->build_start_us,
		.sent_us = -1,
	};
	memcpy(lane->bytes + lane->n_bytes, dgram, len);
	lane->n_bytes += len;
	return LB_OK;
}

int sim_prebuild_init(struct sim_prebuild *pb, struct sim_gateway *gws, unsigned n_gws,
		      struct sim_stats *st, int64_t ack_timeout_us)
{
	const int rcvbuf = ACK_RCVBUF;

	memset(pb, 0, sizeof(*pb));
	pb->lanes = calloc(n_gws, sizeof(*pb->lanes));
	if (!pb->lanes)
		return LB_ERR_NOMEM;
	pb->gws = gws;
	pb->n_gws = n_gws;
	pb->st = st;
	pb->ack_timeout_us = ack_timeout_us;
	pb->last_air_us = -1;
	pb->start_us = pb->end_us = -1;
	for (unsigned g = 0; g < n_gws; g++) {
		gws[g].capture = capture;
		gws[g].capture_arg = pb;
		/* Best effort; a smaller buffer only risks missing ACKs. */
		(void)setsockopt(gws[g].fd_up, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	return LB_OK;
}

void sim_prebuild_free(struct sim_prebuild *pb)
{
	for (unsigned g = 0; pb->lanes && g < pb->n_gws; g++) {
		free(pb->lanes[g].bytes);
		free(pb->lanes[g].d);
	}
	free(pb->lanes);
	free(pb->uplink_sent);
	memset(pb, 0, sizeof(*pb));
}

static void detach(struct sim_prebuild *pb)
{
	for (unsigned g = 0; g < pb->n_gws; g++) {
		pb->gws[g].capture = NULL;
		pb->gws[g].capture_arg = NULL;
	}
}

int sim_prebuild_build(struct sim_prebuild *pb, struct sim_traffic *t, int64_t now_us)
{
	int64_t now = now_us;
	int rc = LB_OK;

	pb->build_start_us = now_us;
	sim_traffic_use_virtual_clock(t);
	while (!t->finished) {
		int64_t next = -1;
		if ((rc = sim_traffic_tick(t, now, &next)) != LB_OK)
			break;
		if (t->finished)
			break;
		if (next < 0) {
			rc = LB_ERR_INVAL;  /* no --count: it would never end */
			break;
		}
		now = next;
	}
	detach(pb);
	/* Counted again when sent. */
	pb->st->sent_uplinks = 0;
	pb->build_us = mono_us() - now_us;
	return rc;
}

void sim_prebuild_start(struct sim_prebuild *pb, int64_t now_us)
{
	pb->start_us = now_us;
	getrusage(RUSAGE_SELF, &pb->ru_start);
}

void sim_prebuild_finish(struct sim_prebuild *pb, int64_t now_us)
{
	if (pb->finished)
		return;
	pb->finished = true;
	pb->end_us = now_us;
	getrusage(RUSAGE_SELF, &pb->ru_end);
}

/* Fill msg/iov with the lane's due datagrams from `next`, at most max. */
static unsigned fill_batch(const struct sim_prebuild *pb, struct sim_pb_lane *lane, int64_t now_us,
			   size_t max, struct mmsghdr *msg, struct iovec *iov)
{
	unsigned k = 0;

	for (size_t i = lane->next; i < lane->n && k < SIM_PB_BATCH && k < max; i++, k++) {
		const struct sim_pb_dgram *d = &lane->d[i];
		if (pb->start_us + d->due_us > now_us)
			break;
		iov[k] = (struct iovec){.iov_base = lane->bytes + d->off, .iov_len = d->len};
		msg[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
	}
	return k;
}

static void mark_sent(struct sim_prebuild *pb, struct sim_pb_lane *lane, size_t n, int64_t now_us)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_pb_dgram *d = &lane->d[lane->next + i];
		d->sent_us = now_us;
		if (!pb->uplink_sent[d->uplink]) {
			pb->uplink_sent[d->uplink] = 1;
			pb->st->sent_uplinks++;
		}
	}
	lane->next += n;
	lane->outstanding += n;
	pb->st->push_data += n;
}

/* Send lane g's due datagrams, within the budget; *next_us: when to come
 * back. Returns LB_OK or LB_ERR_IO. */
static int send_lane(struct sim_prebuild *pb, unsigned g, int64_t now_us, int64_t *next_us)
{
	struct sim_pb_lane *lane = &pb->lanes[g];
	struct mmsghdr msg[SIM_PB_BATCH];
	struct iovec iov[SIM_PB_BATCH];
	size_t budget = SIM_PB_BUDGET;

	while (budget > 0) {
		unsigned k = fill_batch(pb, lane, now_us, budget, msg, iov);
		if (k == 0)
			break;
		int r = sendmmsg(pb->gws[g].fd_up, msg, k, 0);
		if (r >= 0) {
			mark_sent(pb, lane, (size_t)r, now_us);
			budget -= (size_t)r;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			earliest(next_us, now_us + SIM_PB_TICK_US);  /* the rest later */
			return LB_OK;
		}
		if (errno == ECONNREFUSED) {
			/* An earlier datagram was lost, and this one is not sent. */
			pb->st->refused++;
			pb->st->send_errors++;
			lane->next++;
			budget--;
			continue;
		}
		if (errno == EINTR)
			continue;
		log_error(MOD, "gateway %u: sendmmsg: %s", g, strerror(errno));
		return LB_ERR_IO;
	}
	if (lane->next < lane->n) {
		int64_t due = pb->start_us + lane->d[lane->next].due_us;
		if (due <= now_us)
			earliest(next_us, now_us);  /* over budget: after reading */
		else
			earliest(next_us, due > now_us + SIM_PB_TICK_US ? due : now_us + SIM_PB_TICK_US);
	}
	return LB_OK;
}

int sim_prebuild_tick(struct sim_prebuild *pb, int64_t now_us, int64_t *next_us)
{
	bool more = false;
	int rc;

	if (pb->start_us < 0)
		return LB_OK;
	for (unsigned g = 0; g < pb->n_gws; g++)
		if ((rc = sim_prebuild_read(pb, g, now_us)) != LB_OK)
			return rc;
	for (unsigned g = 0; g < pb->n_gws && !pb->finished; g++) {
		if ((rc = send_lane(pb, g, now_us, next_us)) != LB_OK)
			return rc;
		more = more || pb->lanes[g].next < pb->lanes[g].n;
	}
	if (!pb->finished && !more)
		sim_prebuild_finish(pb, now_us);
	if (pb->finished && sim_prebuild_outstanding(pb) > 0)
		earliest(next_us, now_us + SIM_PB_TICK_US);  /* read the last ACKs */
	return LB_OK;
}

/* Give up on lane datagrams [acked_to, end): missing. */
static void give_up(struct sim_prebuild *pb, struct sim_pb_lane *lane, size_t end)
{
	for (size_t i = lane->acked_to; i < end; i++) {
		const struct sim_pb_dgram *d = &lane->d[i];
		if (d->sent_us < 0)
			continue;  /* never sent: no ACK to miss */
		pb->st->missing_acks++;
		lane->outstanding--;
		lane->skipped[lane->n_skipped++ % SIM_PB_SKIPPED_MEMORY] = d->token;
	}
	lane->acked_to = end;
}

static bool recently_skipped(const struct sim_pb_lane *lane, uint16_t token)
{
	size_t n = lane->n_skipped < SIM_PB_SKIPPED_MEMORY ? lane->n_skipped : SIM_PB_SKIPPED_MEMORY;

	for (size_t i = 0; i < n; i++)
		if (lane->skipped[i] == token)
			return true;
	return false;
}

void sim_prebuild_ack(struct sim_prebuild *pb, unsigned g, uint16_t token, int64_t now_us)
{
	struct sim_pb_lane *lane = &pb->lanes[g];

	for (size_t i = lane->acked_to; i < lane->next; i++) {
		const struct sim_pb_dgram *d = &lane->d[i];
		if (d->sent_us < 0 || d->token != token)
			continue;
		give_up(pb, lane, i);
		lane->acked_to = i + 1;
		lane->outstanding--;
		if (now_us - d->sent_us > pb->ack_timeout_us) {
			pb->st->missing_acks++;
			pb->st->late_acks++;
		} else {
			pb->st->push_ack++;
		}
		return;
	}
	if (recently_skipped(lane, token))
		pb->st->late_acks++;
	else
		pb->st->bad_tokens++;
}

/* One datagram on the upstream socket: a PUSH_ACK of our version, or bad. */
static void on_datagram(struct sim_prebuild *pb, unsigned g, const uint8_t *buf, size_t len,
			bool truncated, int64_t now_us)
{
	if (truncated || len < GWMP_LEN_HDR || buf[GWMP_OFF_VERSION] != pb->gws[g].c.version ||
	    buf[GWMP_OFF_IDENT] != GWMP_PUSH_ACK) {
		pb->st->bad_acks++;
		return;
	}
	sim_prebuild_ack(pb, g, sim_acks_token(buf + GWMP_OFF_TOKEN), now_us);
}

int sim_prebuild_read(struct sim_prebuild *pb, unsigned g, int64_t now_us)
{
	struct mmsghdr msg[SIM_PB_BATCH];
	struct iovec iov[SIM_PB_BATCH];
	uint8_t buf[SIM_PB_BATCH][ACK_BUF];

	for (int round = 0; round < READ_ROUNDS; round++) {
		for (unsigned i = 0; i < SIM_PB_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
			msg[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int r = recvmmsg(pb->gws[g].fd_up, msg, SIM_PB_BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return LB_OK;
			if (errno == ECONNREFUSED) {
				pb->st->refused++;  /* an earlier datagram is lost */
				continue;
			}
			if (errno == EINTR)
				continue;
			log_error(MOD, "gateway %u: recvmmsg: %s", g, strerror(errno));
			return LB_ERR_IO;
		}
		for (int i = 0; i < r; i++)
			on_datagram(pb, g, buf[i], msg[i].msg_len,
				    (msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, now_us);
		if (r < SIM_PB_BATCH)
			return LB_OK;
	}
	return LB_OK;  /* more waiting: epoll reports the socket again */
}

size_t sim_prebuild_outstanding(const struct sim_prebuild *pb)
{
	size_t n = 0;

	for (unsigned g = 0; g < pb->n_gws; g++)
		n += pb->lanes[g].outstanding;
	return n;
}

void sim_prebuild_close(struct sim_prebuild *pb)
{
	for (unsigned g = 0; g < pb->n_gws; g++)
		give_up(pb, &pb->lanes[g], pb->lanes[g].next);
}

static double tv_us(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) * US_PER_S + (double)(b->tv_usec - a->tv_usec);
}

void sim_prebuild_report(const struct sim_prebuild *pb, double rate, FILE *out)
{
	size_t dgrams = 0, bytes = 0;
	uint64_t sent = pb->st->sent_uplinks;
	double n = sent ? (double)sent : 1.0;
	double el = pb->end_us > pb->start_us ? (double)(pb->end_us - pb->start_us) / US_PER_S : 0;

	for (unsigned g = 0; g < pb->n_gws; g++) {
		dgrams += pb->lanes[g].n;
		bytes += pb->lanes[g].n_bytes;
	}
	fprintf(out,
		"sim: prebuild: built %zu uplinks (%zu datagrams, %zu bytes) in %.2f s; sent %" PRIu64
		" in %.3f s = %.0f uplinks/s (asked %g/s); cpu while sending: user %.2f us, "
		"system %.2f us per uplink\n",
		pb->n_uplinks, dgrams, bytes, (double)pb->build_us / US_PER_S, sent, el,
		el > 0 ? (double)sent / el : 0.0, rate,
		pb->finished ? tv_us(&pb->ru_start.ru_utime, &pb->ru_end.ru_utime) / n : 0.0,
		pb->finished ? tv_us(&pb->ru_start.ru_stime, &pb->ru_end.ru_stime) / n : 0.0);
}
