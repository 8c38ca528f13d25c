/*
 * bridge.h - the daemon's context: every module's state in one struct that
 * is passed explicitly (no hidden globals), and the lifecycle around the one
 * epoll loop.
 *
 *   gateway --UDP--> udp --> dispatch --> gateways (admit, rate limit, ACK)
 *                              |  \--> publish gateway/{id}/event/up|stats
 *                              v        TX_ACK --> txsched
 *                            dedup --(window closes)--> uplink --> devices
 *                                                         (MIC, FCnt, decrypt)
 *                              join-request --> otaa      --> event_json --> publish --> mqtt
 *                                                 \           (held until the store commits)
 *                                                  v
 *   MQTT command/down --> command --> store queue --> txsched --> PULL_RESP --> gateway
 *
 * Ownership: bridge_init() takes ownership of *cfg (moved in, the source is
 * zeroed); bridge_free() releases everything.
 */
#ifndef LB_BRIDGE_H
#define LB_BRIDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"
#include "mac/join.h"
#include "io/loop.h"
#include "io/mqtt.h"
#include "daemon/publish.h"
#include "lorawan/region.h"
#include "daemon/stats.h"
#include "store/store.h"
#include "daemon/txsched.h"
#include "io/udp.h"

/* Datagrams read per wake-up of the UDP socket: the fairness budget. */
#define BRIDGE_UDP_BUDGET 64
#define BRIDGE_EVENT_MAX 16384
/* Frames de-duplicated at once; beyond, the oldest is published early. */
#define BRIDGE_DEDUP_OPEN 1024
#define BRIDGE_SHUTDOWN_FLUSH_MS 5000
#define BRIDGE_STATUS_MS 5000
/* How often retained state/airtime is refreshed as budget windows slide. */
#define BRIDGE_BUDGET_SCAN_MS 60000

struct bridge {
	struct lb_config cfg;
	const struct region *region;
	struct loop loop;
	struct udp udp;
	struct gateways gateways;
	struct devices devices;
	struct dedup dedup;
	struct mqtt mqtt;
	struct publisher pub;
	struct stats stats;
	struct store store;
	struct txsched tx;
	struct join_netid netid;
	uint32_t join_nonce_next;    /* JoinNonce counter (persisted in meta) */
	uint32_t nwk_addr_next;      /* DevAddr allocator (persisted in meta) */
	uint32_t *dirty;             /* devices to stage before the next commit */
	size_t n_dirty, dirty_cap;
	int64_t dirty_since_ms;
	int signal_fd;
	int mqtt_fd;                 /* fd registered with the loop, -1 none */
	bool mqtt_fd_wants_write;
	bool stop;
	bool reload;
	bool store_open;
	bool subscribed;             /* the command topic */
	uint32_t next_uplink_id;
	uint8_t id_seed[16];         /* random, for deduplicationId UUIDs */
	uint64_t id_counter;
	int64_t next_stats_ms;
	int64_t next_status_ms;      /* systemd STATUS= line */
	int64_t next_budget_ms;      /* budget_tick() */
	int64_t watchdog_ms;         /* WatchdogSec in ms, 0 = none */
	int64_t next_watchdog_ms;
	char event[BRIDGE_EVENT_MAX]; /* JSON scratch buffer, one event at a time */
};

/* Build every module from cfg (moved in). Errors are logged; LB_OK or code. */
int bridge_init(struct bridge *b, struct lb_config *cfg);
/* Run until SIGTERM/SIGINT; then publish offline and flush (<= 5 s). */
int bridge_run(struct bridge *b);
void bridge_free(struct bridge *b);

/* Re-read the device list from the config file (SIGHUP). Gateways, MQTT and
 * sessions of unchanged devices are kept. */
int bridge_reload(struct bridge *b);

/* Next deduplicationId (UUID v4 layout from seed + counter). */
void bridge_next_id(struct bridge *b, uint8_t out[16]);

#endif
