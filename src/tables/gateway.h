/*
 * gateway.h - the table of gateways speaking GWMP to us (pure: no sockets,
 * no clock, no logging; time is a parameter).
 *
 * A gateway is created by its first admitted datagram and found by EUI
 * through a hash index. The table is bounded (opts.max_gateways, e.g. 1024)
 * because EUIs on plain UDP are trivially spoofed: when it is full, the
 * gateway that has been offline longest is evicted; if none is offline the
 * datagram is refused with LB_ERR_FULL. An allow-list (if configured) is
 * checked before anything is created.
 *
 * Liveness: a gateway is online from its first datagram and goes offline
 * after offline_after x keepalive_s seconds without any admitted datagram
 * (PULL_DATA is sent every keepalive_interval: Semtech PROTOCOL.TXT §5.1,
 * lora_pkt_fwd's global_conf.json).
 * gateways_admit() reports the offline -> online transition through
 * *came_online (once, so the caller publishes state ONLINE once);
 * gateways_tick() reports online -> offline through a callback (once).
 *
 * Rate limit (per gateway): at most rate_limit_count datagrams are admitted
 * within any window of rate_limit_window_ms. Precisely: a datagram arriving
 * at t (µs) is refused if `count` admitted datagrams arrived in
 * (t - window, t], i.e. the count-th previous admitted one is younger than
 * the window. With count 10 and window 10 ms: 10 datagrams within 10 ms
 * pass, the 11th is refused unless it arrives >= 10 000 µs after the
 * first. Refused datagrams do not occupy the window (like The Things
 * Stack's UDP limiter, 10 messages per 10 ms by default).
 *
 * Clocks: now_us (admit) and now_ms (tick) must come from the same
 * monotonic clock (now_us = now_ms * 1000 is fine).
 *
 * Ownership: gateways_init() allocates the table, gateways_free() releases
 * it. struct gateway pointers stay valid until gateways_free(), but a slot
 * is reused when its gateway is evicted: do not keep a pointer across
 * admissions of other gateways (keep the EUI and call gateways_find()).
 */
#ifndef LB_GATEWAY_H
#define LB_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gwmp/gwmp.h"

#define GATEWAY_RL_MAX 64            /* largest rate_limit_count */
#define GATEWAY_DEFAULT_MAX 1024

struct gateway {
	uint64_t eui;
	uint8_t version;                 /* GWMP version of its last PULL_DATA (0 = none yet) */
	struct sockaddr_storage push_addr;   /* source of the last PUSH_DATA */
	socklen_t push_addr_len;         /* 0 = none yet */
	struct sockaddr_storage down_addr;   /* downlink route: source of the last PULL_DATA */
	socklen_t down_addr_len;
	bool has_downlink_addr;
	int64_t first_seen_ms;
	int64_t last_seen_ms;            /* last admitted datagram of any type */
	int64_t last_push_ms;            /* 0 = never */
	int64_t last_pull_ms;
	bool online;
	int64_t offline_since_ms;        /* when it went offline (valid if !online) */

	/* Counters (datagrams and rxpk objects), kept by the caller except
	 * where noted. */
	uint64_t datagrams;              /* admitted (gateways_admit) */
	uint64_t push_data, pull_data, tx_ack;
	uint64_t rxpk_total, rxpk_ok, rxpk_bad;
	uint64_t dropped_rate_limit;     /* refused by the rate limit (gateways_admit) */
	uint64_t stats_received;
	bool has_stat;
	struct gwmp_stat last_stat;

	/* internal */
	int64_t rl_times_us[GATEWAY_RL_MAX]; /* ring of admitted arrival times */
	uint32_t rl_next;                /* next ring slot to overwrite */
	uint32_t rl_filled;
	uint32_t hnext;                  /* hash chain / free list, slot index */
	bool in_use;
};

struct gateways_opts {
	int keepalive_s;                 /* expected PULL_DATA period, > 0 */
	int offline_after;               /* periods without a datagram; 0 = never offline */
	int rate_limit_count;            /* 0 = no rate limit; 1..GATEWAY_RL_MAX */
	int rate_limit_window_ms;        /* 0 = no rate limit */
	const uint64_t *allow;           /* allow-list of EUIs (copied), NULL = all */
	size_t n_allow;
	size_t max_gateways;             /* 0 = GATEWAY_DEFAULT_MAX */
};

struct gateways {
	struct gateway *gw;              /* max slots */
	size_t max;
	size_t count;                    /* slots in use */
	size_t n_online;
	uint32_t *buckets;               /* hash index: slot index, GATEWAYS_NIL = empty */
	unsigned bucket_bits;
	uint32_t free_head;
	uint64_t *allow;                 /* sorted copy, NULL = all allowed */
	size_t n_allow;
	int64_t offline_timeout_ms;      /* 0 = never */
	int rl_count;
	int64_t rl_window_us;            /* 0 = off */
	int64_t next_deadline_ms;        /* cached earliest offline deadline, -1 none */
	/* table counters */
	uint64_t denied;                 /* refused by the allow-list */
	uint64_t refused_full;
	uint64_t evicted;
};

/* Errors: LB_ERR_INVAL / LB_ERR_RANGE (bad options), LB_ERR_NOMEM. */
int gateways_init(struct gateways *t, const struct gateways_opts *o);
void gateways_free(struct gateways *t);

/*
 * Admit one datagram from `eui` arriving at now_us. On LB_OK *out is the
 * gateway (created if new), its last_seen/datagrams updated, and
 * *came_online (may be NULL) is true if it was new or offline until now.
 * Errors: LB_ERR_DENIED (not on the allow-list), LB_ERR_FULL (table full,
 * nothing evictable), LB_ERR_RATE_LIMIT (counted in dropped_rate_limit;
 * *out is still set so the caller may attribute the drop). On error the
 * gateway's liveness is not refreshed.
 */
int gateways_admit(struct gateways *t, uint64_t eui, int64_t now_us, struct gateway **out,
		   bool *came_online);

/* Look up without admitting; NULL if unknown. */
struct gateway *gateways_find(struct gateways *t, uint64_t eui);

/* Record the source of a PUSH_DATA / PULL_DATA just admitted by
 * gateways_admit() (last_push_ms / last_pull_ms = last_seen_ms). A len of 0
 * or above sizeof(struct sockaddr_storage) is ignored. PULL_DATA makes the
 * address the downlink route (PULL_RESP target) and records its version. */
void gateway_set_push_addr(struct gateway *g, const struct sockaddr_storage *addr, socklen_t len);
void gateway_set_downlink_addr(struct gateway *g, const struct sockaddr_storage *addr,
			       socklen_t len, uint8_t version);

/*
 * Mark gateways offline whose last datagram is offline_timeout old
 * (last_seen + timeout <= now_ms), calling on_offline once for each (may be
 * NULL; it must not admit gateways). Returns the next deadline (monotonic
 * ms) or -1 if no gateway is online or timeouts are off. Cheap when nothing
 * is due (cached deadline).
 */
int64_t gateways_tick(struct gateways *t, int64_t now_ms,
		      void (*on_offline)(void *arg, struct gateway *g), void *arg);

/* Call fn for every known gateway (online or not), in slot order. fn must
 * not admit or evict gateways. */
void gateways_foreach(struct gateways *t, void (*fn)(void *arg, struct gateway *g), void *arg);

size_t gateways_count(const struct gateways *t);
size_t gateways_count_online(const struct gateways *t);

#endif
