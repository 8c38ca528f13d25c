/* SPDX-License-Identifier: MIT */
/*
 * gateway.h - the table of gateways speaking GWMP to us (pure: no sockets,
 * no clock, no logging; time is a parameter).
 *
 * The Semtech UDP protocol has no authentication (Semtech PROTOCOL.TXT §2:
 * a datagram carries a gateway EUI and nothing that proves it), so anyone
 * who can send a datagram can claim any EUI. The table limits what such a
 * claim can do:
 *
 * BINDING. A gateway EUI is bound to the IP address (not the port: a packet
 * forwarder's upstream and downstream sockets have different ports, and
 * both change when it restarts) it was first heard from. A datagram
 * claiming the EUI from another address is refused with
 * LB_ERR_ADDRESS_MISMATCH, until the bound address has been silent for
 * rebind_after_s: then the EUI moves to the new address (a gateway that
 * really moved, DHCP or NAT, recovers by itself) and the move is reported
 * in gateway_admission.rebound. "Heard" counts every datagram from the
 * bound address, even one its own rate limit refuses.
 *
 * ALLOW-LIST. If configured, an EUI not on it is refused (LB_ERR_DENIED);
 * an EUI listed only with networks ("EUI@NETWORK/PREFIX") is refused from
 * outside them (LB_ERR_ADDRESS_MISMATCH). Binding applies inside the
 * networks as well.
 *
 * RATE LIMITS. A datagram from the gateway's bound address counts only
 * against that gateway's limit: at most rate_limit_count datagrams within
 * any window of rate_limit_window_ms. Precisely: a datagram arriving at t
 * (µs) is refused if `count` admitted datagrams arrived in (t - window, t],
 * i.e. the count-th previous admitted one is younger than the window. With
 * count 10 and window 10 ms: 10 datagrams within 10 ms pass, the 11th is
 * refused unless it arrives >= 10 000 µs after the first. Refused
 * datagrams do not occupy the window (like The Things Stack's UDP limiter,
 * 10 messages per 10 ms by default). Every other datagram (a new EUI, an
 * EUI bound elsewhere) first passes its source address's limit
 * (address_rate_limit_count per rate_limit_window_ms, addrlimit.h), before
 * anything else is looked at. A flood from elsewhere therefore never costs
 * a bound gateway a frame. One source address group (netaddr_group(): an
 * IPv4 address, or an IPv6 /64) may speak for at most max_per_address
 * gateways (bound to addresses in it); beyond, LB_ERR_FULL. Binding itself
 * is to the full address.
 *
 * EVICTION. The table is bounded (max_gateways, e.g. 1024). When it is
 * full, a new gateway evicts the gateway least recently heard among those
 * that never delivered a valid uplink (gateways_mark_valid(): the caller
 * decides what is valid), else the least recently heard among those that
 * did but are offline. A gateway that delivered a valid uplink and is
 * online is never evicted: if every gateway is such, LB_ERR_FULL. The
 * evicted EUI is reported in gateway_admission.evicted.
 *
 * TOMBSTONES. Eviction does not end a binding: the evicted EUI's bound
 * address is kept as a tombstone until that address has been silent for
 * rebind_after_s (last heard + rebind_after_s; none if that is past), so
 * filling the table is no way to take an EUI. Until then a datagram
 * claiming the EUI from another address is LB_ERR_ADDRESS_MISMATCH; one
 * from the tombstone's address is admitted as a new gateway (the tombstone
 * is cleared). There are max_gateways tombstones, and one address group
 * (netaddr_group(): an IPv4 address, an IPv6 /64) holds at most
 * max_per_address of them (if that is set). When there is no room the
 * oldest is forgotten: its group's oldest if the group is at its share,
 * else the oldest of all (counted in tombs_forgotten). Forgetting one only
 * lets its EUI be bound as if its address had been silent long enough; an
 * attacker needs about as many address groups as it takes to fill the
 * table to push out a tombstone that is not its own.
 *
 * LIVENESS. A gateway is online from its first datagram and goes offline
 * after offline_after x keepalive_s seconds without any admitted datagram
 * (PULL_DATA is sent every keepalive_interval: Semtech PROTOCOL.TXT §5.1,
 * lora_pkt_fwd's global_conf.json). gateways_admit() reports offline ->
 * online through came_online (once, so the caller publishes ONLINE once);
 * gateways_tick() reports online -> offline through a callback (once).
 * gateways_restore() recreates, after a restart, a gateway that was
 * reported online before it: online, not bound, `restored` until it is
 * heard (then came_online is reported, as for a new one) or times out
 * (reported by gateways_tick() like any other). Restored gateways count in
 * gateways_count() but not in gateways_count_online().
 *
 * Clocks: now_us (admit) and now_ms (tick, restore, mark_valid) must come
 * from the same monotonic clock (now_us = now_ms * 1000 is fine).
 *
 * Ownership: gateways_init() allocates the table (and copies the
 * allow-list), gateways_free() releases it. struct gateway pointers stay
 * valid until gateways_free(), but a slot is reused when its gateway is
 * evicted: do not keep a pointer across admissions of other gateways (keep
 * the EUI and call gateways_find()).
 */
#ifndef LB_GATEWAY_H
#define LB_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/netaddr.h"
#include "config/config_types.h"
#include "gwmp/gwmp.h"
#include "tables/addrlimit.h"

#define GATEWAY_RL_MAX 64            /* largest rate_limit_count */
#define GATEWAY_DEFAULT_MAX 1024
#define GATEWAY_POSITION_TEXT_MAX 160 /* struct gateway position_text */

struct gateway {
	uint64_t eui;
	uint8_t version;                 /* GWMP version of its last PULL_DATA (0 = none yet) */
	bool bound;                      /* addr is set (false only while restored) */
	struct netaddr addr;             /* the IP address the EUI is bound to */
	int64_t last_heard_ms;           /* last datagram from addr, admitted or not */
	struct sockaddr_storage push_addr;   /* source of the last PUSH_DATA */
	socklen_t push_addr_len;         /* 0 = none yet */
	struct sockaddr_storage down_addr;   /* downlink route: source of the last PULL_DATA */
	socklen_t down_addr_len;
	bool has_downlink_addr;
	int64_t first_seen_ms;
	int64_t last_seen_ms;            /* last admitted datagram of any type */
	int64_t last_push_ms;            /* 0 = never */
	int64_t last_pull_ms;
	bool delivered;                  /* a valid uplink came through it (mark_valid) */
	int64_t last_valid_ms;           /* when the last one did */
	bool online;
	bool restored;                   /* restored after a restart, not heard since */
	int64_t offline_since_ms;        /* when it went offline (valid if !online) */

	/* Counters (datagrams and rxpk objects), kept by the caller except
	 * where noted. */
	uint64_t datagrams;              /* admitted (gateways_admit) */
	uint64_t push_data, pull_data, tx_ack;
	uint64_t tx_ok;                  /* TX_ACKs without an error: frames emitted */
	uint64_t stat_rxfw;              /* sum of its `stat` reports' rxfw */
	uint64_t rxpk_total, rxpk_ok, rxpk_bad;
	uint64_t dropped_rate_limit;     /* refused by its rate limit (gateways_admit) */
	uint64_t dropped_address;        /* its EUI claimed from another address (admit) */
	uint64_t stats_received;
	bool has_stat;
	struct gwmp_stat last_stat;

	/* Its position (gateway_take_position()): from the last `stat` that
	 * carried one; a later `stat` without one (no GPS fix) keeps it. */
	bool has_position;
	bool has_altitude;
	double lati, lon;                /* degrees */
	int alti;                        /* metres, if has_altitude */
	/* The caller's cache of the position's JSON text (the daemon's:
	 * event_json_location()), valid while position_text_len > 0;
	 * gateway_take_position() empties it when the position changes. */
	char position_text[GATEWAY_POSITION_TEXT_MAX];
	size_t position_text_len;

	/* internal */
	int64_t rl_times_us[GATEWAY_RL_MAX]; /* ring of admitted arrival times */
	uint32_t rl_next;                /* next ring slot to overwrite */
	uint32_t rl_filled;
	uint32_t hnext;                  /* hash chain / free list, slot index */
	bool in_use;
};

/* The binding of an evicted gateway (see TOMBSTONES). */
struct gateway_tomb {
	uint64_t eui;
	struct netaddr addr;             /* the address it was bound to */
	int64_t until_ms;                /* live while now < until_ms; 0 = empty */
	uint64_t seq;                    /* order of eviction (oldest = lowest) */
};

struct gateways_opts {
	int keepalive_s;                 /* expected PULL_DATA period, > 0 */
	int offline_after;               /* periods without a datagram; 0 = never offline */
	int rebind_after_s;              /* silence of the bound address before another
					  * may take the EUI; 0 = at once (no binding) */
	int rate_limit_count;            /* per gateway; 0 = no rate limit; 1..GATEWAY_RL_MAX */
	int rate_limit_window_ms;        /* 0 = no rate limits at all */
	int address_rate_limit_count;    /* per source address (addrlimit.h); 0 = none */
	size_t max_per_address;          /* gateways bound to one address group; 0 = no
					  * limit */
	const struct lb_gw_allow *allow; /* allow-list (copied), NULL = all */
	size_t n_allow;
	size_t max_gateways;             /* 0 = GATEWAY_DEFAULT_MAX */
};

struct gateways {
	struct gateway *gw;              /* max slots */
	size_t max;
	size_t count;                    /* slots in use */
	size_t n_online;                 /* restored ones included */
	size_t n_restored;
	uint32_t *buckets;               /* hash index: slot index, GATEWAYS_NIL = empty */
	unsigned bucket_bits;
	uint32_t free_head;
	uint32_t fresh;                  /* slots fresh..max-1 never used (all zero) */
	struct gateway_tomb *tombs;      /* max slots, see TOMBSTONES */
	uint64_t tomb_seq;
	struct lb_gw_allow *allow;       /* sorted by EUI, NULL = all allowed */
	size_t n_allow;
	struct addrlimit addrs;          /* per source address limit */
	int64_t offline_timeout_ms;      /* 0 = never */
	int64_t rebind_after_ms;
	size_t max_per_address;
	int rl_count;
	int64_t rl_window_us;            /* 0 = off */
	int64_t next_deadline_ms;        /* cached earliest offline deadline, -1 none */
	/* table counters */
	uint64_t denied;                 /* refused by the allow-list */
	uint64_t address_mismatch;       /* EUI claimed from an address it is not bound to */
	uint64_t address_limited;        /* refused by the per-address limit */
	uint64_t refused_full;
	uint64_t evicted;
	uint64_t tombs_forgotten;        /* live tombstones overwritten for lack of room */
	uint64_t rebound;                /* EUIs moved to a new address */
};

/* What an admission changed besides the gateway itself. */
struct gateway_admission {
	bool came_online;                /* new, back from offline, or first heard after a
					  * restart: publish ONLINE */
	bool rebound;                    /* the EUI moved here from old_addr */
	struct netaddr old_addr;
	bool evicted;                    /* a gateway was evicted to make room */
	uint64_t evicted_eui;
};

/* Errors: LB_ERR_INVAL / LB_ERR_RANGE (bad options), LB_ERR_NOMEM. */
int gateways_init(struct gateways *t, const struct gateways_opts *o);
void gateways_free(struct gateways *t);

/*
 * Admit one datagram claiming `eui` from address `from`, arriving at now_us.
 * On LB_OK *out is the gateway (created if new), its liveness refreshed.
 * Errors: LB_ERR_RATE_LIMIT (the gateway's own limit: counted in its
 * dropped_rate_limit, *out set so the caller may attribute the drop; or
 * the source address's limit: *out NULL), LB_ERR_DENIED (not on the
 * allow-list), LB_ERR_ADDRESS_MISMATCH (bound to another address that is
 * not yet silent for rebind_after_s, evicted from another address that is
 * not (TOMBSTONES), or pinned to networks `from` is not in), LB_ERR_FULL
 * (table full of gateways that cannot be evicted, or from's address group
 * already speaks for max_per_address gateways). On error the
 * gateway's liveness is not refreshed. res (may be NULL) tells what else
 * happened; res->evicted may be set whatever the result.
 */
int gateways_admit(struct gateways *t, uint64_t eui, const struct netaddr *from, int64_t now_us,
		   struct gateway **out, struct gateway_admission *res);

/* Look up without admitting; NULL if unknown. */
struct gateway *gateways_find(struct gateways *t, uint64_t eui);

/* A valid uplink came through gateway eui at now_ms (nothing if unknown):
 * it is protected from eviction while online. */
void gateways_mark_valid(struct gateways *t, uint64_t eui, int64_t now_ms);

/* After a restart: eui was reported online before it (see LIVENESS).
 * LB_OK (also if already known), LB_ERR_FULL. */
int gateways_restore(struct gateways *t, uint64_t eui, int64_t now_ms);

/* Record the source of a PUSH_DATA / PULL_DATA just admitted by
 * gateways_admit() (last_push_ms / last_pull_ms = last_seen_ms). A len of 0
 * or above sizeof(struct sockaddr_storage) is ignored. PULL_DATA makes the
 * address the downlink route (PULL_RESP target) and records its version. */
void gateway_set_push_addr(struct gateway *g, const struct sockaddr_storage *addr, socklen_t len);
void gateway_set_downlink_addr(struct gateway *g, const struct sockaddr_storage *addr,
			       socklen_t len, uint8_t version);

/* Keep st's location (PROTOCOL.TXT §4: lati, long, alti, sent with a GPS
 * fix) as g's position, when st has one (gwmp_stat.has_location, finite);
 * altitude unless st dropped it (the stats event's rule); position_text
 * emptied. Otherwise the position (and its text) stays as it was, as
 * ChirpStack keeps a gateway's stored location until a report gives a new
 * one. */
void gateway_take_position(struct gateway *g, const struct gwmp_stat *st);

/*
 * Mark gateways offline whose last datagram is offline_timeout old
 * (last_seen + timeout <= now_ms), calling on_offline once for each (may be
 * NULL; it must not admit gateways; g->restored tells a gateway restored
 * and never heard since). Returns the next deadline (monotonic ms) or -1 if
 * no gateway is online or timeouts are off. Cheap when nothing is due
 * (cached deadline).
 */
int64_t gateways_tick(struct gateways *t, int64_t now_ms,
		      void (*on_offline)(void *arg, struct gateway *g), void *arg);

/* Call fn for every known gateway (online or not), in slot order. fn must
 * not admit or evict gateways. */
void gateways_foreach(struct gateways *t, void (*fn)(void *arg, struct gateway *g), void *arg);

size_t gateways_count(const struct gateways *t);
/* Online and heard since the start (restored ones not included). */
size_t gateways_count_online(const struct gateways *t);

#endif
