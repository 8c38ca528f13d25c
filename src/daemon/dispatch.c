/* SPDX-License-Identifier: MIT */
/* dispatch.c - GWMP datagram handlers. See dispatch.h. */
#include "daemon/dispatch.h"

#include <string.h>

#include "events/event_json.h"
#include "gwmp/gwmp.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/netaddr.h"
#include "gwmp/rx.h"
#include "io/loop.h"
#include "lorawan/lorawan.h"

/* When the datagram arrived (the kernel's time, io/udp.h), else now. */
static int64_t arrival_wall(const struct udp_peer *from)
{
	return from->arrival_wall_us ? from->arrival_wall_us : loop_wall_us();
}

static int64_t arrival_mono(const struct udp_peer *from)
{
	return from->arrival_mono_us ? from->arrival_mono_us : loop_now_us();
}

static void drop_datagram(struct dispatch *d, int err, const struct udp_peer *from, uint64_t eui)
{
	char peer[64], id[17] = "-";

	stats_count_dgram_drop(d->stats, err);
	udp_peer_str(from, peer, sizeof(peer));
	if (eui)
		hex_format_eui(eui, id);
	LB_LOG_RL(LOG_LVL_WARN, "gwmp", "dropped datagram from %s (gateway %s): %s", peer, id,
		  lb_strerror(err));
}

static void send_ack(struct dispatch *d, const struct gwmp_header *h, const struct udp_peer *to)
{
	uint8_t ack[GWMP_LEN_HDR];
	size_t n = gwmp_build_ack(h, ack);
	int rc = udpout_send(&d->out, ack, n, to);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "gwmp", "ACK to gateway %016llx not sent: %s",
			  (unsigned long long)h->gateway_eui, lb_strerror(rc));
}

/* Gateway state lines are caused by the network (anyone can claim an EUI):
 * rate-limited like every such line, so a flood of made-up EUIs cannot
 * flood the log. */
void dispatch_on_offline(void *arg, struct gateway *gw)
{
	struct dispatch *d = arg;
	LB_LOG_RL(LOG_LVL_NOTICE, "gateway", "gateway %016llx offline (no datagram for %d "
		  "keepalive periods%s)", (unsigned long long)gw->eui, d->offline_after,
		  gw->restored ? ", not heard since the restart" : "");
	gwconn_offline(d->conn, gw->eui);
}

/* What an admission changed besides the gateway: an evicted gateway's
 * retained state is cleared, a move and a (re)appearance are said. */
static void on_admission(struct dispatch *d, const struct gwmp_header *h,
			 const struct udp_peer *from, const struct gateway_admission *adm)
{
	char peer[64], old[NETADDR_STRLEN];
	unsigned long long eui = h->gateway_eui;

	if (adm->evicted) {
		LB_LOG_RL(LOG_LVL_NOTICE, "gateway", "gateway table full: gateway %016llx "
			  "forgotten to make room for %016llx",
			  (unsigned long long)adm->evicted_eui, eui);
		gwconn_forgotten(d->conn, adm->evicted_eui);
	}
	if (!adm->rebound && !adm->came_online)
		return;
	udp_peer_str(from, peer, sizeof(peer));
	if (adm->rebound) {
		netaddr_format(&adm->old_addr, old, sizeof(old));
		LB_LOG_RL(LOG_LVL_NOTICE, "gateway", "gateway %016llx moved from %s to %s (the old "
			  "address was silent for %d s)", eui, old, peer, d->rebind_after_s);
	}
	if (adm->came_online) {
		LB_LOG_RL(LOG_LVL_NOTICE, "gateway", "gateway %016llx online from %s "
			  "(protocol v%u)", eui, peer, h->version);
		gwconn_online(d->conn, h->gateway_eui);
	}
}

static void publish_rx(struct dispatch *d, const struct lb_rx *rx)
{
	if (publish_gateway_up(d->pub, rx) == LB_OK)
		d->stats->gateway_events++;
}

/*
 * Might a configured device claim this frame? A data uplink whose DevAddr
 * some device has, a join-request whose DevEUI is an OTAA device's
 * (TS001-1.0.4 §4, §6.2.4). Such a frame goes on to de-duplication, and
 * uplink.c publishes it as a gateway `up` only if no device accepts it
 * (MIC failure); any other frame is no device's and is published now.
 */
static bool claimable(struct dispatch *d, const struct gwmp_rxpk *pk)
{
	struct lw_frame f;
	struct lb_device *dev;

	if (lorawan_parse(pk->data, pk->size, &f) != LB_OK)
		return false;
	if (f.mtype == LW_MTYPE_JOIN_REQUEST) {
		dev = devices_find_eui(d->devices, f.u.join_req.dev_eui);
		return dev && dev->activation == LB_ACT_OTAA;
	}
	if (!lorawan_is_data_up(f.mtype))
		return false;
	return devices_find_addr(d->devices, f.u.data.dev_addr, &dev, 1) > 0;
}

/* A CRC-good frame as a gateway `up` event, as mqtt.gateway_frames says. */
static void publish_frame(struct dispatch *d, const struct lb_rx *rx)
{
	if (d->gateway_frames == LB_GWF_ALL ||
	    (d->gateway_frames == LB_GWF_UNKNOWN && !claimable(d, &rx->rxpk)))
		publish_rx(d, rx);
}

static void publish_stat(struct dispatch *d, struct gateway *gw, const struct gwmp_stat *st)
{
	struct ev_duty_cycle dc[DC_MAX_SUBBANDS];
	char names[DC_MAX_SUBBANDS][DC_NAME_LEN];
	char json[DISPATCH_EVENT_MAX];
	size_t len;
	uint64_t eui = gw->eui;
	size_t n = budget_gateway_report(d->budget, eui, gw->delivered, dc, names, DC_MAX_SUBBANDS);
	int rc = event_json_gateway_stats_dc(eui, st, dc, n, json, sizeof(json), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "dispatch", "gateway stats event not built: %s",
			  lb_strerror(rc));
		return;
	}
	if (publish_gateway_event(d->pub, eui, "stats", json, len) == LB_OK)
		d->stats->gateway_events++;
}

/* Stat values outside their physical range are left out of the stats
 * event (gwmp_json.h): counted, and said rate-limited. */
static void stat_drops(struct dispatch *d, uint64_t eui, unsigned dropped)
{
	char keys[96];

	if (!dropped)
		return;
	d->stats->stat_fields_dropped += gwmp_stat_dropped_keys(dropped, keys, sizeof(keys));
	LB_LOG_RL(LOG_LVL_WARN, "gwmp", "gateway %016llx: stat values out of range left out: %s",
		  (unsigned long long)eui, keys);
}

/* One rxpk: visible as a gateway event whatever it holds, then offered to
 * de-duplication if its radio CRC is good (the rxpk `stat`
 * field, Semtech PROTOCOL.TXT §4). */
static void handle_rxpk(struct dispatch *d, struct gateway *gw, const struct gwmp_header *h,
			const struct gwmp_rxpk *pk, const struct udp_peer *from, int64_t now_ms)
{
	struct lb_rx rx = {.gateway_eui = h->gateway_eui, .uplink_id = d->next_uplink_id++,
			   .received_us = arrival_wall(from), .received_mono_us = arrival_mono(from),
			   .version = h->version};

	rx.rxpk = *pk;
	gw->rxpk_total++;
	if (pk->stat != 1) {
		gw->rxpk_bad++;
		d->stats->frame_drops[DROP_CRC]++;
		if (d->forward_crc_error && d->gateway_frames != LB_GWF_NONE)
			publish_rx(d, &rx);
		return;
	}
	gw->rxpk_ok++;
	d->stats->frames_received++;
	publish_frame(d, &rx);
	switch (dedup_add(d->dedup, &rx, now_ms, d->emit, d->emit_arg)) {
	case DEDUP_NEW:
		break;
	case DEDUP_MERGED:
		d->stats->dedup_hits++;
		break;
	case DEDUP_LATE:
		d->stats->frame_drops[DROP_LATE_DUPLICATE]++;
		log_debug("dedup", "late copy from gateway %016llx dropped",
			  (unsigned long long)h->gateway_eui);
		break;
	}
}

static void handle_push_data(struct dispatch *d, struct gateway *gw, const struct gwmp_header *h,
			     const struct udp_peer *from, int64_t now_ms)
{
	struct gwmp_push *push = &d->push;

	gw->push_data++;
	gateway_set_push_addr(gw, &from->addr, from->len);
	/* Only a well-formed PUSH_DATA is acknowledged: a gateway sending bad
	 * JSON then sees it in its own `ackr` statistic. One bad rxpk inside
	 * valid JSON does not make the datagram malformed. */
	int rc = gwmp_parse_push_memo(h->json, h->json_len, push, &d->time_memo);
	if (rc != LB_OK) {
		drop_datagram(d, rc, from, h->gateway_eui);
		return;
	}
	send_ack(d, h, from);
	for (size_t i = 0; i < push->n_rxpk; i++) {
		if (push->rxpk_err[i] != LB_OK) {
			drop_datagram(d, push->rxpk_err[i], from, h->gateway_eui);
			continue;
		}
		handle_rxpk(d, gw, h, &push->rxpk[i], from, now_ms);
	}
	for (size_t i = 0; i < push->n_rxpk_excess; i++)
		stats_count_dgram_drop(d->stats, LB_ERR_TOO_LARGE);
	if (push->has_stat) {
		stat_drops(d, h->gateway_eui, push->stat.dropped);
		gw->stats_received++;
		gw->stat_rxfw += push->stat.rxfw;  /* each report counts its interval */
		gw->last_stat = push->stat;
		gateway_take_position(gw, &push->stat);
		publish_stat(d, gw, &push->stat);
	}
}

static void handle_pull_data(struct dispatch *d, struct gateway *gw, const struct gwmp_header *h,
			     const struct udp_peer *from)
{
	send_ack(d, h, from);
	gw->pull_data++;
	gateway_set_downlink_addr(gw, &from->addr, from->len, h->version);
}

static void handle_tx_ack(struct dispatch *d, struct gateway *gw, const struct gwmp_header *h,
			  const struct udp_peer *from)
{
	struct gwmp_txack ack;

	gw->tx_ack++;
	int rc = gwmp_parse_txack(h->json, h->json_len, &ack);
	if (rc != LB_OK) {
		drop_datagram(d, rc, from, h->gateway_eui);
		return;
	}
	if (ack.error[0] == '\0')
		gw->tx_ok++;     /* no error (or "NONE"): the frame was emitted */
	rc = txsched_tx_ack(d->tx, h->gateway_eui, h->token, from, &ack);
	if (rc != LB_OK)
		stats_count_dgram_drop(d->stats, rc);
}

void dispatch_datagram(void *arg, const uint8_t *buf, size_t len, bool truncated,
		       const struct udp_peer *from)
{
	struct dispatch *d = arg;
	struct gwmp_header h;
	struct gateway *gw;
	struct gateway_admission adm = {0};
	struct netaddr src;
	int64_t now_us = arrival_mono(from), now_ms = now_us / 1000;

	if (truncated) {
		drop_datagram(d, LB_ERR_TOO_LARGE, from, 0);
		return;
	}
	int rc = gwmp_parse_header(buf, len, &h);
	if (rc != LB_OK) {
		drop_datagram(d, rc, from, 0);
		return;
	}
	rc = netaddr_from_sockaddr((const struct sockaddr *)&from->addr, from->len, &src);
	if (rc == LB_OK)
		rc = gateways_admit(d->gateways, h.gateway_eui, &src, now_us, &gw, &adm);
	on_admission(d, &h, from, &adm);   /* an eviction counts even if refused */
	if (rc != LB_OK) {
		drop_datagram(d, rc, from, h.gateway_eui);
		return;
	}
	d->stats->datagrams[h.type]++;
	switch (h.type) {
	case GWMP_PUSH_DATA:
		handle_push_data(d, gw, &h, from, now_ms);
		break;
	case GWMP_PULL_DATA:
		handle_pull_data(d, gw, &h, from);
		break;
	case GWMP_TX_ACK:
		handle_tx_ack(d, gw, &h, from);
		break;
	default: /* gwmp_parse_header admits only the three above */
		drop_datagram(d, LB_ERR_UNKNOWN_TYPE, from, h.gateway_eui);
		break;
	}
}

int dispatch_check(const struct dispatch *d)
{
	const struct {
		const void *p;
		const char *name;
	} m[] = {
		{d->gateways, "gateways"}, {d->dedup, "dedup"}, {d->stats, "stats"},
		{d->pub, "pub"}, {d->conn, "conn"}, {d->budget, "budget"}, {d->tx, "tx"},
	};
	if (d->gateway_frames == LB_GWF_UNKNOWN && !d->devices) {
		log_error("dispatch", "context member devices not set (gateway_frames = unknown)");
		return LB_ERR_INVAL;
	}
	if (!d->emit || !d->out.send) {
		log_error("dispatch", "context member %s not set", d->emit ? "out.send" : "emit");
		return LB_ERR_INVAL;
	}
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!m[i].p) {
			log_error("dispatch", "context member %s not set", m[i].name);
			return LB_ERR_INVAL;
		}
	}
	return LB_OK;
}
