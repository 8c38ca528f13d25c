/* SPDX-License-Identifier: MIT */
/*
 * bridge.h - the daemon: every module's state in one struct that only this
 * file and main.c see, the wiring that gives each handler its narrow
 * context, and the lifecycle around the one epoll loop.
 *
 *   gateway --UDP--> udp --> dispatch --> gateways (admit, rate limit, ACK)
 *                              |  \--> publish gateway/{id}/event/up|stats
 *                              v        TX_ACK --> txsched
 *                            dedup --(window closes)--> uplink --> devices
 *                                                         (MIC, FCnt, decrypt)
 *                              join-request --> otaa      --> event_json --> publish --> mqtt
 *                                                 \        up: outbox (committed with the FCnt,
 *                                                  \          deleted when the broker acks)
 *                                                  v
 *   MQTT command/down --> command --> store queue --> txsched --> PULL_RESP --> gateway
 *   uplink (up queued) --> hass --> discovery configs, field topics (publish)
 *   MQTT {prefix}/status "online" --> hass (configs again); SIGHUP --> hass_sync
 *   MQTT retained configs / field topics --> hass sweep (removed devices cleared)
 *   every device event --> integrations (queues) --> http (curl on the loop) --> webhooks,
 *                                                                              InfluxDB
 *   every event published --> web (history, /events) <-- httpd (MHD on the loop) <-- browsers
 *   POST /api/devices/{devEui}/queue --> web --> command (as the MQTT command topic)
 *
 * No handler sees this struct: each gets a context of pointers to what it
 * reads and changes (dispatch.h, uplink.h, otaa.h, txsched.h, command.h,
 * session.h, budget.h), and the I/O edges through two small interfaces
 * (struct udpout, struct publish_sink) that bridge.c points at the socket
 * and the MQTT client.
 *
 * Ownership: bridge_init() takes ownership of *cfg (moved in, the source is
 * zeroed); bridge_free() releases everything.
 */
#ifndef LB_BRIDGE_H
#define LB_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/classc.h"
#include "daemon/command.h"
#include "daemon/devevent.h"
#include "daemon/dispatch.h"
#include "daemon/durable.h"
#include "daemon/gwconn.h"
#include "daemon/hass.h"
#include "daemon/ids.h"
#include "daemon/intake.h"
#include "daemon/integrations.h"
#include "daemon/otaa.h"
#include "daemon/outbox.h"
#include "daemon/payload.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "daemon/uplink.h"
#include "daemon/web.h"
#include "io/http.h"
#include "io/loop.h"
#include "io/mqtt.h"
#include "io/udp.h"
#include "lorawan/region.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"

/* Datagrams read per wake-up of the UDP socket: the fairness budget. */
#define BRIDGE_UDP_BUDGET 64
/* Frames de-duplicated at once; beyond, the oldest is published early. */
#define BRIDGE_DEDUP_OPEN 1024
#define BRIDGE_SHUTDOWN_FLUSH_MS 5000
#define BRIDGE_STATUS_MS 5000
/* A sync in flight for state.sync_hang_ms (the WAL's, the state marker's
 * or a closing checkpoint pass): the disk hangs (store_sync.h); the
 * watchdog is no longer notified. The bound does not depend on the
 * watchdog's period: a short WatchdogSec must not restart a bridge whose
 * disk is only slow. */
/* A checkpoint's helper (store_ckpt.h) still at work after this many
 * times state.sync_hang_ms (60 s by default): said. A pass makes three
 * syncs (the daemon's -wal descriptor, then SQLite's of the WAL and of the
 * database file) and the copy between them: a disk allowed that long per
 * sync is slow beyond three of them. (A shorter state.sync_hang_ms also
 * lets test_disk_hang.sh see it in seconds.) */
#define BRIDGE_CKPT_SLOW_SYNCS 3
/* A stall that lasts (those two) is said at its bound, then again after
 * intervals that double from the bound up to this (struct bridge_stall). */
#define BRIDGE_STALL_REPEAT_MAX_MS 60000
/* Home Assistant re-announcement waiting for room in the MQTT queue: asked
 * again this often (hass_announce_more()); a few dozen loop wakes a second
 * while it lasts, a broker outage included. */
#define BRIDGE_HASS_PACE_MS 50
#define BRIDGE_TRIM_MS 60000       /* free heap pages returned (bridge.c heap_tick) */
#define BRIDGE_TRIM_BACKLOG 1000   /* ... and at once when this many messages waited */
#define BRIDGE_TRIM_DRAIN_MS 5000  /* ... at most once per this (a loaded bridge drains often) */
/* The web page's listener tried again (its port taken): 1 s, doubling to 30 s. */
#define BRIDGE_WEB_RETRY_MIN_MS 1000
#define BRIDGE_WEB_RETRY_MAX_MS 30000
#define BRIDGE_QUIET_RETRY_MS 1000 /* a part of a quiet release kept in use: tried again */
#define BRIDGE_INTAKE_STALL_MS 1000 /* intake.h: no acknowledgement this long, no pause */
#define BRIDGE_INTAKE_PAUSE_MS 1000 /* intake.h: the longest pause */
#define BRIDGE_INTAKE_RETRY_MS 100 /* a resume the loop refused: tried again */

/* A stall said (bridge.c stall_due()): a disk that hangs for an hour is
 * said about 60 times, not at each turn of the loop's timer. */
struct bridge_stall {
	bool said;                   /* said since it began */
	int64_t since_ms;            /* when it began (loop clock) */
	int64_t next_ms;             /* its length when it is said again */
	int64_t every_ms;            /* the interval after that */
};

struct bridge {
	struct lb_config cfg;
	const struct region *region;    /* = &region_buf */
	struct region region_buf;       /* the configured region (AS923/AU915 dwell applied) */
	struct loop loop;
	struct udp udp;
	struct mqtt mqtt;
	struct store store;
	struct devices devices;
	struct gateways gateways;
	struct dedup dedup;
	struct stats stats;
	struct idgen ids;
	struct publisher pub;
	struct durable durable;
	struct outbox outbox;
	struct devevents ev;
	struct devevent_heads ev_heads;  /* ev's deviceInfo heads */
	struct sessions sessions;
	struct budget budget;
	struct txsched tx;
	struct netmac netmac;
	struct classc classc;
	struct otaa otaa;
	struct payloads payloads;
	struct uplink uplink;
	struct commands commands;
	struct dispatch dispatch;
	struct gwconn gwconn;
	struct hass hass;
	struct http http;            /* the integrations' requests (when any) */
	struct integrations integs;
	bool http_ready;
	struct web web;              /* the web page and API (http group) */
	bool web_ready;              /* web_init() done; listening or not */
	int64_t web_retry_ms;        /* when to try listening again, -1 not needed */
	int64_t web_backoff_ms;
	int signal_fd;
	int mqtt_fd;                 /* fd registered with the loop, -1 none */
	bool mqtt_fd_wants_write;
	bool stop;
	bool stopping;               /* in the shutdown's flush: a reconnection says offline,
				      * a read processes no uplink */
	bool reload;
	bool store_open;
	bool udp_busy;               /* the last UDP read filled its budget */
	int64_t dedup_clock_ms;      /* de-duplication's clock: the read horizon (dedup_tick_bridge()) */
	bool dedup_ticked;           /* on_udp() ticked it in this loop pass... */
	int64_t dedup_next;          /* ...and this was the next deadline */
	struct intake intake;        /* when the UDP socket is not read (intake.h) */
	bool outbox_ready;
	bool subscribed;             /* the command topic */
	bool hass_subscribed;        /* Home Assistant's status topic */
	bool hass_swept;             /* the sweep's filters subscribed (hass.h) */
	bool hass_mark_clear;        /* discovery-was-on mark to forget once swept */
	int64_t next_stats_ms;
	int64_t next_status_ms;      /* systemd STATUS= line */
	int64_t watchdog_ms;         /* WatchdogSec in ms, 0 = none */
	struct bridge_stall sync_hang;   /* disk_hangs() */
	struct bridge_stall ckpt_slow;   /* checkpoint_slow() */
	int64_t next_watchdog_ms;
	int64_t next_trim_ms;        /* heap_tick() */
	uint64_t trim_backlog;       /* most messages waiting since the last trim */
	int64_t next_drain_trim_ms;  /* heap_tick(): no trim for a drained backlog before */
	uint64_t quiet_seen;         /* quiet_tick(): frames and commands when last looked */
	int64_t quiet_since_ms;      /* ... and since when that count holds */
	bool quiet_released;         /* the caches were released since the last frame */
};

/* What the command line adds to the configuration. */
struct bridge_opts {
	bool accept_state_loss;      /* --accept-state-loss (store_gen.h) */
};

/* Build every module from cfg (moved in). Errors are logged; LB_OK or code:
 * LB_ERR_STATE_LOST when the state directory lost committed state and
 * o->accept_state_loss is not set. */
int bridge_init(struct bridge *b, struct lb_config *cfg, const struct bridge_opts *o);
/* Run until SIGTERM/SIGINT; then publish offline and flush (<= 5 s). */
int bridge_run(struct bridge *b);
/* Release everything. LB_ERR_IO when closing the store found a failed sync
 * (logged; the exit status says it), else LB_OK. */
int bridge_free(struct bridge *b);

/* Re-read the device list from the config file (SIGHUP). Gateways, MQTT and
 * sessions of unchanged devices are kept. */
int bridge_reload(struct bridge *b);

#endif
