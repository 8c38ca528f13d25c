/* SPDX-License-Identifier: MIT */
/* bridge.c - wiring and lifecycle of the daemon. See bridge.h. */
#include "daemon/bridge.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "config/config_diff.h"
#include "io/dynlib.h"
#include "io/loop.h"
#include "io/sdnotify.h"
#include "lbconfig.h"

#define STATE_ONLINE "online"
#define STATE_OFFLINE "offline"
#define STATS_JSON_MAX 8192

/* ------------------------------------------------------- the edges */

static int udp_out(void *arg, const void *buf, size_t len, const struct udp_peer *to)
{
	struct bridge *b = arg;
	return udp_send(&b->udp, buf, len, to);
}

/* GWMP ACKs: queued, sent per receive batch (udp_flush() in udp_drain()). */
static int udp_ack_out(void *arg, const void *buf, size_t len, const struct udp_peer *to)
{
	struct bridge *b = arg;
	return udp_queue(&b->udp, buf, len, to);
}

static int mqtt_out(void *arg, const char *topic, const void *payload, size_t len, int qos,
		    bool retain)
{
	struct bridge *b = arg;
	return mqtt_publish(&b->mqtt, topic, payload, len, qos, retain);
}

/* Events held for the group commit go through the outbox. */
static int hold_out(void *arg, uint64_t batch, uint64_t dev_eui, const char *topic,
		    const void *payload, size_t len, int qos, bool up)
{
	struct bridge *b = arg;
	return outbox_add(&b->outbox, batch, dev_eui, topic, payload, len, qos, up);
}

static size_t outbox_room(void *arg)
{
	struct bridge *b = arg;
	return mqtt_tracked_room(&b->mqtt);
}

static int outbox_send(void *arg, const char *topic, const void *payload, size_t len, int qos,
		       uint64_t token)
{
	struct bridge *b = arg;
	return mqtt_publish_tracked(&b->mqtt, topic, payload, len, qos, token);
}

static void on_mqtt_acked(void *arg, uint64_t token)
{
	struct bridge *b = arg;
	outbox_acked(&b->outbox, token);
}

static void on_mqtt_returned(void *arg, uint64_t token)
{
	struct bridge *b = arg;
	outbox_returned(&b->outbox, token);
}

/* Turning discovery off clears the configs a run with it on announced,
 * once: the store remembers that discovery was on (meta
 * HASS_DISCOVERY_META_KEY), the first start with it off sweeps the configs,
 * and the mark goes once that sweep is subscribed. An install that never
 * had discovery does not subscribe to every other program's configs. */
#define HASS_DISCOVERY_META_KEY "hass_discovery_on"

static void hass_mark_setup(struct bridge *b)
{
	int64_t was_on = 0;
	int rc = store_meta_get(&b->store, HASS_DISCOVERY_META_KEY, &was_on);

	if (rc != LB_OK && rc != LB_ERR_NOT_FOUND) {
		log_error("bridge", "cannot read whether Home Assistant discovery was on (%s): "
			  "configs of an earlier run are not cleared", lb_strerror(rc));
		return;
	}
	if (b->cfg.hass_discovery) {
		if (was_on != 1 && (rc = store_meta_put(&b->store, HASS_DISCOVERY_META_KEY, 1)) !=
					   LB_OK)
			log_error("bridge", "cannot remember that Home Assistant discovery is on "
				  "(%s): turning it off will not clear its configs", lb_strerror(rc));
		return;
	}
	if (was_on == 1) {
		log_info("bridge", "Home Assistant discovery was on: clearing its configs");
		hass_sweep_when_off(&b->hass, true);
		b->hass_mark_clear = true;
	}
}

/* The sweep of a start with discovery off is subscribed: forget the mark. */
static void hass_mark_done(struct bridge *b)
{
	if (!b->hass_mark_clear)
		return;
	int rc = store_meta_put(&b->store, HASS_DISCOVERY_META_KEY, 0);
	if (rc != LB_OK) {
		log_error("bridge", "cannot forget that Home Assistant discovery was on (%s): "
			  "the next start sweeps its configs again", lb_strerror(rc));
		return;
	}
	b->hass_mark_clear = false;
}

/* The Home Assistant sweep (hass.h): the broker sends the retained configs
 * and field topics at each subscription, the renewed ones of a reconnection
 * included, and again when a filter is subscribed anew (MQTT 3.1.1 §3.8.4),
 * as after a SIGHUP reload. QoS 0: a lost one comes again next time. */
static void hass_sweep_subscribe(struct bridge *b)
{
	char filter[PUBLISH_TOPIC_MAX];
	bool all = true;

	for (int i = 0; i < HASS_N_SWEEP; i++) {
		int rc = hass_sweep_filter(&b->hass, (enum hass_sweep)i, filter, sizeof(filter));
		if (rc == LB_ERR_STATE)
			continue;
		if (rc == LB_OK)
			rc = mqtt_subscribe(&b->mqtt, filter, 0);
		if (rc != LB_OK) {
			all = false;
			log_error("bridge", "cannot subscribe to Home Assistant sweep %d (%s): "
				  "retained topics of removed devices are not cleared; retried at the "
				  "next connection", i, lb_strerror(rc));
		}
	}
	b->hass_swept = all;
	if (all)
		hass_mark_done(b);
}

static void on_mqtt_connect(void *arg)
{
	struct bridge *b = arg;
	char filter[PUBLISH_TOPIC_MAX];

	/* Connected again during the shutdown's flush: the OFFLINE states it
	 * queued go out now; saying online, or a gateway's state from the
	 * table, after them would leave both wrong on the broker once we are
	 * gone. */
	if (b->stopping) {
		if (publish_bridge(&b->pub, "state", STATE_OFFLINE, strlen(STATE_OFFLINE), true) !=
		    LB_OK)
			log_warn("bridge", "bridge state offline not published on the reconnection "
				 "(the Last Will says it)");
		return;
	}

	/* mqtt re-subscribes on every CONNACK what was subscribed once. */
	if (!b->subscribed) {
		int rc = publish_command_filter(&b->pub, filter, sizeof(filter));
		if (rc == LB_OK)
			rc = mqtt_subscribe(&b->mqtt, filter, b->cfg.mqtt_qos);
		if (rc == LB_OK) {
			b->subscribed = true;
			log_info("bridge", "taking downlink commands on %s", filter);
		} else {
			log_error("bridge", "cannot subscribe to the command topic (%s): downlink "
				  "commands are not taken; retried at the next connection",
				  lb_strerror(rc));
		}
	}
	if (b->cfg.hass_discovery && !b->hass_subscribed) {
		int rc = hass_status_topic(&b->hass, filter, sizeof(filter));
		if (rc == LB_OK)
			rc = mqtt_subscribe(&b->mqtt, filter, b->cfg.mqtt_qos);
		if (rc == LB_OK) {
			b->hass_subscribed = true;
			log_info("bridge", "Home Assistant discovery on; its status on %s", filter);
		} else {
			log_error("bridge", "cannot subscribe to Home Assistant's status topic (%s): "
				  "configs are not announced again when it restarts; retried at the "
				  "next connection", lb_strerror(rc));
		}
	}
	if (!b->hass_swept)
		hass_sweep_subscribe(b);
	/* Retained so a dashboard that subscribes later sees the state; the
	 * Last Will replaces it with "offline" if we vanish. */
	int rc = publish_bridge(&b->pub, "state", STATE_ONLINE, strlen(STATE_ONLINE), true);
	if (rc != LB_OK)
		log_warn("bridge", "bridge state online not published: %s", lb_strerror(rc));
	/* A broker restarted without persistence forgot the gateways' too. */
	gwconn_republish(&b->gwconn);
}

/* Messages arrive only on the topics we subscribe to: Home Assistant's
 * status, its sweep's retained topics, and the command topic. */
static void on_mqtt_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct bridge *b = arg;
	if (hass_on_message(&b->hass, &b->devices, topic, payload, len))
		return;
	command_on_message(&b->commands, topic, payload, len);
}

static int mqtt_setup(struct bridge *b)
{
	static char will_topic[PUBLISH_TOPIC_MAX];
	const struct lb_config *c = &b->cfg;

	int rc = publish_bridge_topic(&b->pub, "state", will_topic, sizeof(will_topic));
	if (rc != LB_OK) {
		log_error("bridge", "bridge state topic cannot be built: %s", lb_strerror(rc));
		return rc;
	}
	struct mqtt_opts o = {
		.host = c->mqtt_host, .port = c->mqtt_port, .client_id = c->mqtt_client_id,
		.username = c->mqtt_username, .password = c->mqtt_password,
		.ca_file = c->mqtt_ca_file, .cert_file = c->mqtt_cert_file,
		.key_file = c->mqtt_key_file, .keepalive_s = c->mqtt_keepalive_s,
		.qos = c->mqtt_qos, .queue_limit = (size_t)c->mqtt_queue_limit,
		.will_topic = will_topic, .will_payload = STATE_OFFLINE, .will_retain = true,
		.will_qos = c->mqtt_qos, .on_connect = on_mqtt_connect,
		.on_message = on_mqtt_message, .on_acked = on_mqtt_acked,
		.on_returned = on_mqtt_returned, .arg = b,
	};
	return mqtt_init(&b->mqtt, &o);
}

static int signals_setup(struct bridge *b)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	b->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (b->signal_fd < 0) {
		log_error("bridge", "signalfd: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

/* Signal handling happens in the loop: the descriptor only sets flags. */
static void on_signal(void *arg, int fd, uint32_t events)
{
	struct bridge *b = arg;
	struct signalfd_siginfo si;
	(void)events;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			b->reload = true;
		else
			b->stop = true;
	}
}

/* De-duplication groups the receptions of a frame by when they arrived
 * (dispatch.c gives dedup_add() the kernel's arrival time), so it is ticked
 * on that clock too: the UDP socket's read horizon (udp.h), the loop's time
 * when nothing waits, else the arrival of the newest datagram read (a
 * backlog read a budget at a time, a loop held by a slow disk, a pause of
 * intake.h). A group then closes only once every copy that arrived within
 * its window has been read, and a frame is remembered for its retention
 * from its own arrival. By the loop's clock a copy read a budget later than
 * its twin was dropped as late, or, more than the retention later, opened a
 * group of its own that the device layer refused as a retransmission.
 * Never goes back. Returns the next deadline on the loop's clock, -1 when
 * datagrams wait (reading them, or the pause's own deadline, brings the
 * loop back). */
static int64_t dedup_tick_bridge(struct bridge *b)
{
	bool empty;
	int64_t t = udp_read_horizon_us(&b->udp, &empty) / 1000;

	if (t > b->dedup_clock_ms)
		b->dedup_clock_ms = t;
	int64_t next = dedup_tick(&b->dedup, b->dedup_clock_ms, uplink_process, &b->uplink);
	return empty ? next : -1;
}

static void on_udp(void *arg, int fd, uint32_t events)
{
	struct bridge *b = arg;
	(void)fd;
	/* Paused (intake.h), the socket reports only an error: the read below
	 * clears it, else epoll would report it again at once. */
	(void)events;
	/* What this receive batch publishes leaves together (mqtt.h). */
	mqtt_batch_begin(&b->mqtt);
	/* A receive error was logged (rate-limited) and counted by udp; the
	 * loop comes back when the socket is readable again. A full budget:
	 * more datagrams wait (the store's upkeep waits for them). */
	int n = udp_drain(&b->udp, BRIDGE_UDP_BUDGET, dispatch_datagram, &b->dispatch);
	b->udp_busy = n >= BRIDGE_UDP_BUDGET;
	/* With a zero window, frames are published within this wake-up. The
	 * timers of the same pass take this tick's result instead of looking
	 * at the socket again (run_timers()). Not in the shutdown's flush:
	 * what it would process needs schedulers that no longer run
	 * (shutdown_flush()). */
	if (!b->stopping) {
		b->dedup_next = dedup_tick_bridge(b);
		b->dedup_ticked = true;
	}
	mqtt_batch_end(&b->mqtt);
}

static void on_mqtt_io(void *arg, int fd, uint32_t events)
{
	struct bridge *b = arg;
	(void)fd;
	mqtt_handle_io(&b->mqtt, events & (EPOLLIN | EPOLLHUP | EPOLLERR), events & EPOLLOUT);
}

/* libmosquitto replaces its socket on every reconnect: follow it. */
static void mqtt_sync_fd(struct bridge *b)
{
	int fd = mqtt_fd(&b->mqtt);
	bool ww = mqtt_want_write(&b->mqtt);

	if (fd != b->mqtt_fd) {
		/* libmosquitto closed the old socket before we see the change. */
		if (b->mqtt_fd >= 0)
			loop_forget(&b->loop, b->mqtt_fd, b);
		b->mqtt_fd = -1;
		int rc = fd >= 0 ? loop_add(&b->loop, fd, EPOLLIN | (ww ? EPOLLOUT : 0), on_mqtt_io, b)
				 : LB_OK;
		if (rc != LB_OK)
			log_error("bridge", "MQTT socket not watched (%s): retried", lb_strerror(rc));
		else if (fd >= 0) {
			b->mqtt_fd = fd;
			b->mqtt_fd_wants_write = ww;
		}
		return;
	}
	if (fd >= 0 && ww != b->mqtt_fd_wants_write) {
		if (loop_modify(&b->loop, fd, EPOLLIN | (ww ? EPOLLOUT : 0)) == LB_OK)
			b->mqtt_fd_wants_write = ww;
		else
			log_error("bridge", "MQTT socket events not changed: retried");
	}
}

/* The time of an event that has one in its facts (an `up`: the gateway's
 * reception time when it gave one; a `status`: its uplink's), else now. */
static int64_t event_time_us(const struct publish_facts *facts)
{
	if (facts && facts->up)
		return facts->up->time_us;
	if (facts && facts->status)
		return facts->status->time_us;
	return loop_wall_us();
}

/* The integrations and the web page see every device event; they only
 * queue it (or keep a little history) here. */
static void device_tap(void *arg, const char *application, uint64_t dev_eui, const char *event,
		       const char *json, size_t len, const struct publish_facts *facts)
{
	struct bridge *b = arg;
	if (b->http_ready)
		integrations_event(&b->integs, application, dev_eui, event, json, len,
				   event_time_us(facts), loop_wall_us());
	if (b->web_ready)
		web_device_event(&b->web, application, dev_eui, event, json, len, facts);
}

static void gateway_tap(void *arg, uint64_t gateway_eui, const char *event, const char *json,
			size_t len)
{
	struct bridge *b = arg;
	if (b->web_ready)
		web_gateway_event(&b->web, gateway_eui, event, json, len);
}

static void bridge_tap(void *arg, const char *event, const char *json, size_t len)
{
	struct bridge *b = arg;
	if (b->web_ready)
		web_bridge_event(&b->web, event, json, len);
}

static void taps_setup(struct bridge *b)
{
	if (!b->http_ready && !b->cfg.has_http)
		return;
	struct publish_tap tap = {.device_event = device_tap, .arg = b};
	if (b->cfg.has_http) {
		tap.gateway_event = gateway_tap;
		tap.bridge_event = bridge_tap;
	}
	publish_set_tap(&b->pub, &tap);
}

static int integ_post(void *arg, const struct http_request *rq, http_done_fn done, void *done_arg)
{
	struct bridge *b = arg;
	return http_post(&b->http, rq, done, done_arg);
}

/* An endpoint refused a device's event: the device's `log` event says so. */
static void integ_report(void *arg, const char *application, uint64_t dev_eui,
			 const char *description)
{
	struct bridge *b = arg;
	struct lb_device *dev = devices_find_eui(&b->devices, dev_eui);
	if (dev)
		devevent_log(&b->ev, dev, "ERROR", "INTEGRATION", description, 0);
	else
		devevent_log_unknown(&b->ev, application, NULL, dev_eui, "ERROR", "INTEGRATION",
				     description);
}

/* The descriptors the configuration may need at once: the web page's
 * clients, two sockets per integration connection while it connects
 * (Happy Eyeballs), and the daemon's own (UDP, MQTT, signalfd, SQLite, the
 * resolver's, ...: 64). The soft RLIMIT_NOFILE (1024 under systemd unless
 * LimitNOFILE= is set) is raised to the hard limit: the daemon uses epoll
 * only, never select(), so descriptors above 1023 are fine. */
static void fd_budget(const struct bridge *b)
{
	struct rlimit rl;
	uint64_t need = 64 + (b->cfg.has_http ? (uint64_t)b->cfg.http_max_clients : 0) +
			2 * (uint64_t)integrations_connections(b->cfg.integs, b->cfg.n_integs);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("bridge", "cannot read the descriptor limit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("bridge", "cannot raise the descriptor limit to %llu: %s",
				 (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		} else {
			log_debug("bridge", "descriptor limit raised from %llu to %llu",
				  (unsigned long long)was, (unsigned long long)rl.rlim_cur);
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && need > (uint64_t)rl.rlim_cur)
		log_warn("bridge", "up to %llu descriptors may be needed (http.max_clients + "
			 "2 x the integrations' connections + 64), above the limit %llu: raise "
			 "LimitNOFILE or lower them", (unsigned long long)need,
			 (unsigned long long)rl.rlim_cur);
}

static int integrations_setup(struct bridge *b)
{
	if (b->cfg.n_integs == 0)
		return LB_OK;
	int rc = http_init(&b->http, &b->loop,
			   integrations_connections(b->cfg.integs, b->cfg.n_integs));
	if (rc != LB_OK)
		return rc;
	b->http_ready = true;
	struct integrations_ctx ctx = {
		.transport = {.post = integ_post, .arg = b},
		.resolver_blocks = !http_async_dns(),
		.report = integ_report, .report_arg = b,
	};
	if ((rc = integrations_init(&b->integs, &ctx, b->cfg.integs, b->cfg.n_integs)) != LB_OK) {
		log_error("bridge", "integrations: %s", lb_strerror(rc));
		return rc;
	}
	return LB_OK;
}

/* ------------------------------------------------------- the wiring */

static int gateways_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct gateways_opts o = {
		.keepalive_s = c->udp_keepalive_s, .offline_after = c->udp_offline_after,
		.rebind_after_s = c->udp_rebind_after_s,
		.rate_limit_count = c->udp_rate_limit_count,
		.rate_limit_window_ms = c->udp_rate_limit_window_ms,
		.address_rate_limit_count = c->udp_address_rate_limit_count,
		.max_per_address = (size_t)c->udp_max_gateways_per_address,
		.allow = c->udp_allow, .n_allow = c->n_udp_allow, .max_gateways = 1024,
	};
	int rc = gateways_init(&b->gateways, &o);
	if (rc != LB_OK)
		log_error("bridge", "gateway table: %s", lb_strerror(rc));
	return rc;
}

/* Give the memory freed since the start (the configuration's parse tree
 * and device list, the store reads) back to the system: a large fleet leaves
 * tens of megabytes of free heap behind, and glibc returns only the top of
 * the heap by itself. */
static void release_heap(void)
{
	(void)malloc_trim(0);
}

static int tables_setup(struct bridge *b)
{
	int rc = devices_init(&b->devices, b->cfg.devices, b->cfg.n_devices);
	if (rc != LB_OK) {
		log_error("bridge", "device table: %s", lb_strerror(rc));
		return rc;
	}
	/* The table holds its own copy: the configuration's is not kept (a
	 * large fleet would hold every device twice). */
	config_free_devices(&b->cfg);
	log_notice("bridge", "%zu device(s) configured", devices_count(&b->devices));
	if ((rc = gateways_setup(b)) != LB_OK)
		return rc;
	rc = dedup_init(&b->dedup, b->cfg.dedup_window_ms, BRIDGE_DEDUP_OPEN);
	if (rc != LB_OK)
		log_error("bridge", "de-duplication table: %s", lb_strerror(rc));
	return rc;
}

/* The store found less than it had committed: say what that means. */
static void state_lost(const struct bridge *b, bool accepted)
{
	if (!accepted) {
		log_error("bridge", "refusing to start: the state in %s is older than what was "
			  "committed (see above), so frames already accepted would be accepted "
			  "again. Put the lost files back if you can; otherwise start once with "
			  "--accept-state-loss (README \"State directory\")", b->cfg.state_dir);
		return;
	}
	log_warn("bridge", "started with --accept-state-loss on lost state: an ABP device "
		 "accepts old frames again until its counter passes the lost value (set its "
		 "fcnt_up above that to prevent it); an OTAA device whose session was lost "
		 "must join again, and its DevNonces used before are not known");
}

static bool disk_hangs(struct bridge *b, int64_t now, bool reaped);
static void checkpoint_slow(struct bridge *b, int64_t now, bool reaped);

/* A sync of the store completed (store_sync.h: the WAL's, or the state
 * marker's), or a checkpoint's helper ended: the events of the batches
 * now durable are released by outbox_tick() in this loop pass. A failed
 * WAL sync stops the daemon (bridge_run()). The end of a hang or of a
 * slow checkpoint said is said now, when it is known. */
static void on_store_sync(void *arg, int fd, uint32_t events)
{
	struct bridge *b = arg;
	(void)fd;
	(void)events;

	(void)store_sync_reap(&b->store);   /* a failure is logged and kept */
	if (b->sync_hang.said)
		(void)disk_hangs(b, loop_now_ms(), true);
	if (b->ckpt_slow.said)
		checkpoint_slow(b, loop_now_ms(), true);
}

static int state_setup(struct bridge *b, const struct bridge_opts *o)
{
	unsigned flags = o->accept_state_loss ? STORE_ACCEPT_STATE_LOSS : 0;
	int rc = store_open_flags(&b->store, b->cfg.state_dir, b->cfg.state_commit_ms, flags);
	if (rc == LB_ERR_STATE_LOST) {
		state_lost(b, false);
		return rc;
	}
	if (rc != LB_OK) {
		log_error("bridge", "state directory %s unusable: %s", b->cfg.state_dir,
			  lb_strerror(rc));
		return rc;
	}
	b->store_open = true;
	if (store_generation(&b->store)->outcome == STORE_GEN_LOSS_ACCEPTED)
		state_lost(b, true);
	else if (o->accept_state_loss)
		log_notice("bridge", "--accept-state-loss: nothing was lost, no effect");
	durable_init(&b->durable, &b->store);
	/* The checkpoints and the generation's advances in loop passes of their
	 * own (durable_upkeep()), not in the commit's. */
	store_defer_upkeep(&b->store, true);
	/* The commit interval's syncs off the loop; without io_uring they
	 * wait on it (logged by the store). */
	int fd = store_sync_start(&b->store);
	if (fd >= 0 && (rc = loop_add(&b->loop, fd, EPOLLIN, on_store_sync, b)) != LB_OK) {
		log_error("bridge", "event loop set-up failed for the store's syncs: %s",
			  lb_strerror(rc));
		return rc;
	}
	/* The WAL's checkpoints in a helper process, this very program (with
	 * the ring: its end is polled through it). */
	if (fd >= 0)
		(void)store_checkpoint_helper(&b->store, "/proc/self/exe");
	return LB_OK;
}

static bool outbox_is_uplink(void *arg, const char *topic)
{
	struct bridge *b = arg;
	return publish_is_device_up(&b->pub, topic);
}

static int outbox_setup(struct bridge *b)
{
	struct outbox_ctx ctx = {
		.store = &b->store, .durable = &b->durable, .stats = &b->stats,
		.sink = {.room = outbox_room, .send = outbox_send, .arg = b},
		.is_uplink = outbox_is_uplink, .is_uplink_arg = b,
	};
	struct outbox_opts o = {
		.cache_limit = (size_t)b->cfg.mqtt_queue_limit,
		.limit_bytes = (uint64_t)b->cfg.mqtt_outbox_limit_mb * 1024 * 1024,
		.commit_ms = b->cfg.state_commit_ms,
	};
	int rc = outbox_init(&b->outbox, &ctx, &o);
	if (rc == LB_OK)
		b->outbox_ready = true;
	else
		log_error("bridge", "outbox: %s", lb_strerror(rc));
	return rc;
}

static int budget_setup(struct bridge *b)
{
	struct budget_ctx ctx = {
		.region = b->region, .devices = &b->devices, .store = &b->store,
		.durable = &b->durable, .pub = &b->pub, .ev = &b->ev, .stats = &b->stats,
		.commit_ms = b->cfg.state_commit_ms, .state_pct = b->cfg.mqtt_airtime_state_pct,
	};
	return budget_init(&b->budget, &ctx);
}

static int txsched_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct txsched_ctx ctx = {
		.devices = &b->devices, .region = b->region, .gateways = &b->gateways,
		.store = &b->store, .durable = &b->durable, .sessions = &b->sessions,
		.budget = &b->budget, .ev = &b->ev, .ids = &b->ids,
		.out = {.send = udp_out, .arg = b}, .netmac = &b->netmac,
	};
	struct txsched_opts o = {
		.delay_ms = c->downlink_delay_ms,
		.tx_ack_timeout_ms = (uint32_t)c->downlink_tx_ack_timeout_ms,
		.rx1_dr_offset = (uint8_t)c->downlink_rx1_dr_offset,
		.has_rx2_freq = c->has_downlink_rx2_frequency,
		.rx2_freq = (uint32_t)c->downlink_rx2_frequency,
		.has_rx2_dr = c->has_downlink_rx2_dr, .rx2_dr = (uint8_t)c->downlink_rx2_dr,
	};
	int rc = txsched_init(&b->tx, &ctx, &o);
	if (rc != LB_OK)
		log_error("bridge", "downlink scheduler: %s", lb_strerror(rc));
	return rc;
}

static int netmac_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct netmac_ctx ctx = {.devices = &b->devices, .region = b->region, .store = &b->store,
				 .durable = &b->durable, .sessions = &b->sessions, .ev = &b->ev,
				 .hass = &b->hass};
	struct netmac_opts o = {
		.margin_db = c->adr_installation_margin_db, .max_unanswered = c->adr_max_unanswered,
		.backoff_h = c->adr_backoff_h, .sub_band = c->downlink_sub_band,
		.rx1_dr_offset = (uint8_t)c->downlink_rx1_dr_offset,
		.rx2_freq = c->has_downlink_rx2_frequency ? (uint32_t)c->downlink_rx2_frequency : 0,
		.has_rx2_dr = c->has_downlink_rx2_dr, .rx2_dr = (uint8_t)c->downlink_rx2_dr,
		.rx_delay_s = (uint8_t)c->downlink_rx_delay_s,
	};
	netmac_cflist_channels(b->region, c->downlink_join_cflist, &o);
	return netmac_init(&b->netmac, &ctx, &o, c->state_commit_ms);
}

static int classc_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct classc_ctx ctx = {
		.devices = &b->devices, .region = b->region, .gateways = &b->gateways,
		.store = &b->store, .budget = &b->budget, .ev = &b->ev, .tx = &b->tx,
		.netmac = &b->netmac, .sessions = &b->sessions,
	};
	struct classc_opts o = {
		.ack_timeout_s = c->downlink_class_c_ack_timeout_s,
		.retries = c->downlink_class_c_retries, .delay_ms = c->downlink_delay_ms,
		.has_rx2_freq = c->has_downlink_rx2_frequency,
		.rx2_freq = (uint32_t)c->downlink_rx2_frequency,
		.has_rx2_dr = c->has_downlink_rx2_dr, .rx2_dr = (uint8_t)c->downlink_rx2_dr,
	};
	return classc_init(&b->classc, &ctx, &o);
}

static int otaa_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct otaa_ctx ctx = {
		.devices = &b->devices, .region = b->region, .store = &b->store,
		.durable = &b->durable, .sessions = &b->sessions, .tx = &b->tx, .ev = &b->ev,
		.ids = &b->ids,
		.stats = &b->stats, .netmac = &b->netmac,
	};
	struct otaa_opts o = {
		.net_id = c->net_id, .join_cflist = c->downlink_join_cflist,
		.sub_band = c->downlink_sub_band,
		.rx1_dr_offset = (uint8_t)c->downlink_rx1_dr_offset,
		.rx_delay_s = (uint8_t)c->downlink_rx_delay_s,
		.has_rx2_dr = c->has_downlink_rx2_dr, .rx2_dr = (uint8_t)c->downlink_rx2_dr,
	};
	return otaa_init(&b->otaa, &ctx, &o);
}

/* The handlers' contexts: each gets the few tables it reads and changes. */
static int handlers_setup(struct bridge *b)
{
	b->payloads = (struct payloads){
		.ev = &b->ev, .stats = &b->stats,
		.limits = {.timeout_ms = (unsigned)b->cfg.codec_timeout_ms,
			   .heap_max = (size_t)b->cfg.codec_memory_kb * 1024u},
	};
	int rc = payload_sync(&b->payloads, &b->devices);
	if (rc != LB_OK)
		return rc;
	b->uplink = (struct uplink){
		.devices = &b->devices, .region = b->region, .stats = &b->stats, .ids = &b->ids,
		.sessions = &b->sessions, .budget = &b->budget, .otaa = &b->otaa, .tx = &b->tx,
		.pub = &b->pub, .ev = &b->ev, .gateways = &b->gateways, .payloads = &b->payloads,
		.hass = &b->hass, .gateway_frames = b->cfg.mqtt_gateway_frames,
	};
	b->commands = (struct commands){
		.devices = &b->devices, .region = b->region, .store = &b->store, .pub = &b->pub,
		.ids = &b->ids, .ev = &b->ev, .stats = &b->stats, .payloads = &b->payloads,
		.queue_limit = b->cfg.downlink_queue_limit,
		.queued = classc_queued, .queued_arg = &b->classc,
	};
	b->dispatch.gateways = &b->gateways;
	b->dispatch.dedup = &b->dedup;
	b->dispatch.emit = uplink_process;
	b->dispatch.emit_arg = &b->uplink;
	b->dispatch.stats = &b->stats;
	b->dispatch.pub = &b->pub;
	b->dispatch.conn = &b->gwconn;
	b->dispatch.budget = &b->budget;
	b->dispatch.tx = &b->tx;
	b->dispatch.out = (struct udpout){.send = udp_ack_out, .arg = b};
	b->dispatch.devices = &b->devices;
	b->dispatch.gateway_frames = b->cfg.mqtt_gateway_frames;
	b->dispatch.forward_crc_error = b->cfg.udp_forward_crc_error;
	b->dispatch.offline_after = b->cfg.udp_offline_after;
	b->dispatch.rebind_after_s = b->cfg.udp_rebind_after_s;
	rc = uplink_check(&b->uplink);
	return rc == LB_OK ? dispatch_check(&b->dispatch) : rc;
}

/* A device's stored state: session, fair-access ledger, a confirmed
 * downlink awaiting its ACK. Each part logs its own failure. */
static int restore_device(struct bridge *b, struct lb_device *dev)
{
	int rc = budget_restore_device(&b->budget, dev);
	int rc2 = txsched_restore_device(&b->tx, dev);
	int rc3 = netmac_restore_device(&b->netmac, dev);
	return rc != LB_OK ? rc : rc2 != LB_OK ? rc2 : rc3;
}

/* At start-up: the session and a confirmed downlink now; the fair-access
 * ledger and the MAC state at the device's first use (a fleet's stored
 * ones are not all held in memory because they exist). */
static int restore_at_start(struct bridge *b, struct lb_device *dev)
{
	budget_defer_restore(&b->budget, dev);
	netmac_defer_restore(&b->netmac, dev);
	return txsched_restore_device(&b->tx, dev);
}

static int restore_all(struct bridge *b)
{
	/* One transaction for the reads of every device (several per device):
	 * with many devices, taking the lock for each read dominates. A
	 * failure only costs that. */
	bool held = store_read_many(&b->store) == LB_OK;
	int rc = sessions_restore(&b->sessions);
	if (rc != LB_OK)
		return rc;
	size_t failed = 0;
	for (size_t i = 0; i < b->devices.n; i++)
		failed += restore_at_start(b, &b->devices.dev[i]) != LB_OK;
	/* Nothing staged meanwhile: end the read transaction now (else the
	 * next group commit ends it with its rows). */
	if (held && !store_dirty(&b->store) && store_commit(&b->store) != LB_OK)
		log_warn("bridge", "start-up read transaction not ended cleanly (see above)");
	if (failed)
		log_error("bridge", "%zu device(s): budgets or queue state not read from the "
			  "state directory (see above); they start afresh", failed);
	return LB_OK;
}

/* The dwell times in force. AU915's downlinks are 500 kHz, outside the dwell
 * limit (RP002-1.0.4 §2.8.6): no word on a downlink dwell time there, whatever
 * region_dwell_time.downlink says (region_configure() ignores it). */
static void region_dwell_notice(const struct region *base, const struct region *r)
{
	char since[48] = "";
	char down[40] = "";

	if (!base->tx_param_setup)
		return;
	if (r->uplink_dwell && base->tx_param_setup_since)
		snprintf(since, sizeof(since), " (devices of LoRaWAN 1.0.%u and later)",
			 (unsigned)base->tx_param_setup_since);
	if (base->downlink_dwell_applies)
		snprintf(down, sizeof(down), ", downlink dwell time %s",
			 r->downlink_dwell ? "400 ms" : "none");
	log_notice("bridge", "region %s: uplink dwell time %s%s%s", base->name,
		   r->uplink_dwell ? "400 ms" : "none", since, down);
}

/* The region's tables with the configured AS923 / AU915 dwell time
 * (RP002-1.0.4 §2.10.6, §2.10.7, §2.8.6; in AU915 it applies per device, to
 * those of LoRaWAN 1.0.3 and later, region_device_uplink_dwell()), and what
 * the gateway must do that the bridge cannot: listen before talk. */
static int region_setup(struct bridge *b)
{
	const struct region *base = region_find(b->cfg.region);

	if (!base) {
		log_error("bridge", "unknown region '%s'", b->cfg.region);
		return LB_ERR_CONFIG;
	}
	bool up = base->tx_param_setup && b->cfg.region_uplink_dwell;
	bool down = base->downlink_dwell_applies && b->cfg.region_downlink_dwell;
	int rc = region_configure(base, up, down, &b->region_buf);
	if (rc != LB_OK) {
		log_error("bridge", "region %s: %s", base->name, lb_strerror(rc));
		return LB_ERR_CONFIG;
	}
	b->region = &b->region_buf;
	region_dwell_notice(base, &b->region_buf);
	if (base->lbt == REGION_LBT_REQUIRED)
		log_notice("bridge", "region %s requires listen before talk: the gateways must "
			   "do it (packet forwarder LBT configuration)", base->name);
	else if (base->lbt == REGION_LBT_BY_COUNTRY)
		log_notice("bridge", "region %s: where the country requires listen before talk "
			   "(Japan), the gateways must do it", base->name);
	return LB_OK;
}

/* What the web page shows of the bridge's own edges. */
static void web_snapshot(void *arg, struct web_snapshot *out)
{
	struct bridge *b = arg;
	struct mqtt_stats ms;

	mqtt_get_stats(&b->mqtt, &ms);
	out->mqtt_connected = mqtt_connected(&b->mqtt);
	out->mqtt_queue_depth = ms.queued;
	out->outbox_depth = outbox_pending(&b->outbox);
	out->pending_sessions = pending_count(&b->sessions.pending);
	out->n_integs = b->http_ready ? integrations_stats(&b->integs, out->integs, STATS_MAX_INTEGS)
				      : 0;
	(void)udp_poll_drops(&b->udp);   /* a failure is logged; the count stays */
	out->udp_kernel_drops = b->udp.kernel_drops;
	out->intake_pauses = b->intake.stats.pauses;
	out->intake_paused_ms = intake_paused_ms(&b->intake, loop_now_ms());
	out->dedup_forced_early = b->dedup.forced_early;
}

static int web_setup(struct bridge *b)
{
	if (!b->cfg.has_http)
		return LB_OK;
	struct web_ctx ctx = {
		.cfg = &b->cfg, .region = b->region->name, .loop = &b->loop,
		.devices = &b->devices, .gateways = &b->gateways, .budget = &b->budget,
		.stats = &b->stats, .store = &b->store, .commands = &b->commands,
		.snapshot = web_snapshot, .snapshot_arg = b,
	};
	int rc = web_init(&b->web, &ctx);
	if (rc != LB_OK) {
		log_error("bridge", "web server: %s", lb_strerror(rc));
		web_free(&b->web);
		return rc;
	}
	b->web_ready = true;
	b->web_retry_ms = -1;
	rc = web_listen(&b->web, false);
	if (rc == LB_OK)
		return LB_OK;
	/* A status page is no reason to stop the LoRaWAN service (systemd
	 * would restart the bridge for ever): it runs without the page. The
	 * library missing stays missing (dynlib.h): no retry. */
	if (rc == LB_ERR_NO_LIBRARY) {
		log_error("bridge", "web page: libmicrohttpd is missing (see above): the bridge "
			  "runs without the web page; install %s and restart it",
			  DYNLIB_MHD_PACKAGE);
		return LB_OK;
	}
	/* Otherwise (port in use ...) it tries again, backing off, said once. */
	log_error("bridge", "web page: cannot listen on %s port %u (see above): the bridge runs "
		  "without it and tries again every %d s at most", b->cfg.http_bind,
		  b->cfg.http_port, BRIDGE_WEB_RETRY_MAX_MS / 1000);
	b->web_backoff_ms = BRIDGE_WEB_RETRY_MIN_MS;
	b->web_retry_ms = loop_now_ms() + b->web_backoff_ms;
	return LB_OK;
}

/* The web page's listener, tried again while it cannot listen; the next
 * try (-1 none). */
static int64_t web_retry(struct bridge *b, int64_t now)
{
	if (b->web_retry_ms < 0 || now < b->web_retry_ms)
		return b->web_retry_ms;
	if (web_listen(&b->web, true) == LB_OK) {
		b->web_retry_ms = -1;
		return -1;
	}
	b->web_backoff_ms *= 2;
	if (b->web_backoff_ms > BRIDGE_WEB_RETRY_MAX_MS)
		b->web_backoff_ms = BRIDGE_WEB_RETRY_MAX_MS;
	b->web_retry_ms = now + b->web_backoff_ms;
	return b->web_retry_ms;
}

/* TLS may be used: mqtt.ca_file or an integration (crypto_setup()). */
static bool tls_possible(const struct lb_config *cfg)
{
	return cfg->mqtt_ca_file != NULL || cfg->n_integs > 0;
}

/*
 * The events' ids are SHA-1 UUIDs, computed at the first device event
 * (daemon/devevent.h): OpenSSL's first digest loads its default provider,
 * 1.3 MiB of libcrypto pages an idle bridge does not need. With TLS they
 * are computed here: OpenSSL then reads openssl.cnf, which can leave no
 * usable SHA-1 (FIPS defaults without a FIPS provider), and such a
 * configuration stops the start-up; TLS loads the provider anyway. Without
 * TLS, OpenSSL's built-in default provider is the only one (crypto_setup()).
 */
static int event_ids_setup(struct bridge *b)
{
	if (!tls_possible(&b->cfg))
		return LB_OK;
	int rc = devevent_ids(&b->ev);
	if (rc != LB_OK)
		log_error("bridge", "the events' default ids: %s", lb_strerror(rc));
	return rc;
}

static int modules_setup(struct bridge *b, const struct bridge_opts *o)
{
	int rc;

	fd_budget(b);
	if ((rc = region_setup(b)) != LB_OK)
		return rc;
	(void)idgen_init(&b->ids); /* a failure is logged; ids stay unique in this run */
	struct publish_sink sink = {.publish = mqtt_out, .hold = hold_out, .arg = b};
	if ((rc = publish_init(&b->pub, &b->cfg, &sink)) != LB_OK ||
	    (rc = integrations_setup(b)) != LB_OK)
		return rc;
	taps_setup(b);
	/* a failure is logged; events then carry an empty regionConfigId */
	(void)devevent_init(&b->ev, &b->pub, &b->stats, b->region->name);
	devevent_use_heads(&b->ev, &b->ev_heads);
	devevent_use_devices(&b->ev, &b->devices);
	struct hass_opts ho = {
		.discovery = b->cfg.hass_discovery, .prefix = b->cfg.hass_prefix,
		.publish_fields = b->cfg.mqtt_publish_fields, .sw_version = PACKAGE_VERSION,
	};
	if ((rc = hass_init(&b->hass, &b->pub, &ho)) != LB_OK)
		return rc;
	if ((rc = tables_setup(b)) != LB_OK || (rc = event_ids_setup(b)) != LB_OK ||
	    (rc = state_setup(b, o)) != LB_OK)
		return rc;
	hass_mark_setup(b);
	/* The outbox is the first part of the group commit: a batch committed
	 * in pieces never has a counter durable before the event it reports
	 * (durable.h). */
	if ((rc = outbox_setup(b)) != LB_OK)
		return rc;
	rc = sessions_init(&b->sessions, &b->devices, &b->store, &b->durable,
			   b->cfg.state_commit_ms);
	if (rc != LB_OK || (rc = budget_setup(b)) != LB_OK)
		return rc;
	if ((rc = netmac_setup(b)) != LB_OK || (rc = txsched_setup(b)) != LB_OK)
		return rc;
	if ((rc = classc_setup(b)) != LB_OK || (rc = otaa_setup(b)) != LB_OK)
		return rc;
	struct gwconn_ctx gc = {.gateways = &b->gateways, .pub = &b->pub, .store = &b->store,
				.durable = &b->durable, .commit_ms = b->cfg.state_commit_ms};
	if ((rc = gwconn_init(&b->gwconn, &gc)) != LB_OK)
		return rc;
	if ((rc = handlers_setup(b)) != LB_OK || (rc = restore_all(b)) != LB_OK ||
	    (rc = mqtt_setup(b)) != LB_OK || (rc = web_setup(b)) != LB_OK)
		return rc;
	/* After the MQTT set-up: a gateway that does not fit is said OFFLINE. A
	 * failure is logged and leaves the retained states as they are. */
	(void)gwconn_restore(&b->gwconn, loop_now_ms());
	store_release_cache(&b->store);   /* the pages restore_all() read */
	release_heap();
	return LB_OK;
}

/*
 * OpenSSL 3 at its first use reads its configuration file (openssl.cnf: OIDs,
 * providers, the TLS policy), which loads every error string, and registers
 * every legacy algorithm name for look-ups by name: about 0.5 MiB of
 * libcrypto pages and heap in every bridge. Only TLS uses them: libmosquitto
 * with mqtt.ca_file and libcurl for the integrations ask for them at their
 * own set-up, and get them, as before, when either is configured. Without
 * TLS the bridge's own algorithms (AES-128, CMAC, SHA-1, SHA-256, from the
 * default provider under their own names) need none of it: OpenSSL is
 * initialised without them, before anything else uses it (the first
 * initialisation decides; later requests cannot change it).
 */
static int crypto_setup(const struct lb_config *cfg)
{
	const uint64_t lean = OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
			      OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS;

	if (tls_possible(cfg))
		return LB_OK;
	if (OPENSSL_init_crypto(lean, NULL) != 1) {
		log_error("bridge", "OpenSSL initialisation failed");
		return LB_ERR_CRYPTO;
	}
	return LB_OK;
}

int bridge_init(struct bridge *b, struct lb_config *cfg, const struct bridge_opts *o)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	b->signal_fd = -1;
	b->mqtt_fd = -1;
	b->udp.fd = -1;
	b->loop.epfd = -1;   /* bridge_free() after a failure before loop_init() */
	b->stats.started_ms = loop_now_ms();
	if ((rc = crypto_setup(&b->cfg)) != LB_OK || (rc = loop_init(&b->loop)) != LB_OK ||
	    (rc = signals_setup(b)) != LB_OK || (rc = modules_setup(b, o)) != LB_OK)
		return rc;
	rc = udp_open(&b->udp, b->cfg.udp_bind, b->cfg.udp_port, b->cfg.udp_rcvbuf);
	if (rc != LB_OK)
		return rc;
	if ((rc = loop_add(&b->loop, b->udp.fd, EPOLLIN, on_udp, b)) != LB_OK ||
	    (rc = loop_add(&b->loop, b->signal_fd, EPOLLIN, on_signal, b)) != LB_OK) {
		log_error("bridge", "event loop set-up failed: %s", lb_strerror(rc));
		return rc;
	}
	int64_t now = loop_now_ms();
	b->next_stats_ms = now + (int64_t)b->cfg.mqtt_stats_interval_s * 1000;
	b->next_trim_ms = now + BRIDGE_TRIM_MS;
	b->quiet_since_ms = now;   /* quiet_tick(): quiet from the start */
	uint64_t cache = (uint64_t)b->cfg.mqtt_queue_limit;
	intake_init(&b->intake, &(struct intake_opts){.high = cache, .low = cache / 2,
						      .stall_ms = BRIDGE_INTAKE_STALL_MS,
						      .max_pause_ms = BRIDGE_INTAKE_PAUSE_MS});
	return LB_OK;
}

/* ------------------------------------------------------- the loop */

static void publish_stats(struct bridge *b, int64_t now_ms)
{
	struct mqtt_stats ms;
	struct stats_extra x = {.now_ms = now_ms};
	char json[STATS_JSON_MAX];
	size_t len;

	mqtt_get_stats(&b->mqtt, &ms);
	x.gateways_known = gateways_count(&b->gateways);
	x.gateways_online = gateways_count_online(&b->gateways);
	x.devices = devices_count(&b->devices);
	(void)udp_poll_drops(&b->udp);   /* a failure is logged; the count stays */
	x.udp_kernel_drops = b->udp.kernel_drops;
	x.intake_pauses = b->intake.stats.pauses;
	x.intake_paused_ms = intake_paused_ms(&b->intake, now_ms);
	x.dedup_forced_early = b->dedup.forced_early;
	x.downlinks_sent = b->tx.stats.sent;
	x.downlinks_failed = b->tx.stats.failed;
	x.downlinks_rx2 = b->tx.stats.sent_rx2;
	x.downlinks_own = b->tx.stats.sent_own;
	x.store_commits = b->store.stats.commits;
	x.store_failures = b->store.stats.failures;
	x.store_syncs = b->store.stats.syncs;
	x.store_syncs_on_loop = b->store.stats.syncs_waited;
	x.store_sync_max_us = b->store.stats.max_sync_us;
	x.store_sync_on_loop_max_us = b->store.stats.max_sync_wait_us;
	x.store_ckpt_passes = b->store.ckpt.spawned;
	x.store_ckpt_on_loop = b->store.stats.checkpoints_on_loop;
	x.store_ckpt_waits = b->store.ckpt.waits;
	struct stats_integ integs[STATS_MAX_INTEGS];
	x.integs = integs;
	x.n_integs = integrations_stats(&b->integs, integs, STATS_MAX_INTEGS);
	x.mqtt_queue_depth = ms.queued;
	x.mqtt_published = ms.published;
	x.mqtt_dropped = ms.dropped_overflow;
	x.outbox_depth = outbox_pending(&b->outbox);
	x.pending_sessions = pending_count(&b->sessions.pending);
	x.outbox_bytes = outbox_bytes(&b->outbox);
	x.outbox_dropped = b->outbox.stats.dropped_overflow;
	x.mqtt_reconnects = ms.reconnects;
	int rc = stats_json(&b->stats, &x, json, sizeof(json), &len);
	if (rc == LB_OK)
		rc = publish_bridge(&b->pub, "stats", json, len, false);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "bridge", "stats event not published: %s", lb_strerror(rc));
}

/* systemd notifications are best effort (no NOTIFY_SOCKET: nothing to
 * do); a failure to send one is said, rate-limited. */
static void notified(int rc, const char *what)
{
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "bridge", "systemd notification %s not sent: %s", what,
			  lb_strerror(rc));
}

/* A duration in seconds with one decimal ("0.8", "20.0"): bounds under a
 * second are not said as 0 s. */
static const char *secs(char *buf, size_t n, int64_t ms)
{
	snprintf(buf, n, "%lld.%lld", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
	return buf;
}

/* Whether a stall that has lasted ms (at least its bound) at now is said
 * at this look: at the bound, then after intervals that double from the
 * bound up to BRIDGE_STALL_REPEAT_MAX_MS. A stall that began after the
 * one said (its start later by more than half the bound: the one said
 * lasted at least the bound) is another, said at once. */
static bool stall_due(struct bridge_stall *st, int64_t now, int64_t ms, int64_t bound)
{
	int64_t since = now - ms;

	if (!st->said || since > st->since_ms + bound / 2) {
		st->said = true;
		st->since_ms = since;
		st->every_ms = bound < BRIDGE_STALL_REPEAT_MAX_MS ? bound : BRIDGE_STALL_REPEAT_MAX_MS;
		st->next_ms = ms + st->every_ms;
		return true;
	}
	if (ms < st->next_ms)
		return false;
	st->every_ms *= 2;
	if (st->every_ms > BRIDGE_STALL_REPEAT_MAX_MS)
		st->every_ms = BRIDGE_STALL_REPEAT_MAX_MS;
	st->next_ms = ms + st->every_ms;
	return true;
}

/* Whether the stall said in st is over at now, and for how long it lasted
 * then (-1: it goes on, or none was said); it is then no longer said. ms
 * is how long the one in flight now has been (0: none), bound its bound.
 * It is over when none that old is in flight, or when the one in flight
 * began since (later by more than half the bound, as in stall_due()).
 * Its end: now when the look comes with its completion (reaped: it ended
 * now, even if one that began since is in flight), else the start of the
 * one in flight if that one is past its bound (it ended by then), else
 * now (it ended by now). */
static int64_t stall_over(struct bridge_stall *st, int64_t now, int64_t ms, int64_t bound,
			  bool reaped)
{
	bool over = ms < bound || now - ms > st->since_ms + bound / 2;

	if (!st->said || !over)
		return -1;
	st->said = false;
	return (ms >= bound && !reaped ? now - ms : now) - st->since_ms;
}

/* systemd: a one-line STATUS every few seconds and the watchdog ping, both
 * from the loop so a stuck loop stops the pings. */
/* A disk that hangs in a sync off the loop (in flight for
 * state.sync_hang_ms) holds every event back but not the loop, which would
 * go on notifying the watchdog: it stops, so that systemd restarts the
 * bridge as it did when the sync held the loop. Without a watchdog it is
 * said all the same. Its end (no sync that old in flight, or one that
 * began since) is said once: when the completion is reaped
 * (on_store_sync(), reaped: it ended now, even if a sync that began since,
 * a state marker's or the WAL's, is in flight), else at the next look (it
 * ended by the time the one in flight began, or by now). */
static bool disk_hangs(struct bridge *b, int64_t now, bool reaped)
{
	struct bridge_stall *st = &b->sync_hang;
	int64_t ms = store_sync_stalled_ms(&b->store), bound = b->cfg.state_sync_hang_ms;
	bool hangs = ms >= bound;
	int64_t took = stall_over(st, now, ms, bound, reaped);
	char s[32];

	if (took >= 0)
		log_notice("bridge", "the sync in the state directory completed after %s s",
			   secs(s, sizeof(s), took));
	if (!hangs)
		return false;
	if (stall_due(st, now, ms, bound))
		log_error("bridge", "a sync in the state directory (the WAL's, the state marker's or "
			  "a closing checkpoint's) has not completed for %s s: the disk hangs; events "
			  "wait%s", secs(s, sizeof(s), ms),
			  b->watchdog_ms > 0 ? ", and the watchdog is no longer notified" : "");
	return true;
}

/* An open checkpoint pass holds nothing back, but the WAL grows while it
 * runs: one that takes minutes is said (a disk far slower than the
 * commits, or a helper stopped by someone), after BRIDGE_CKPT_SLOW_SYNCS
 * times state.sync_hang_ms, with stall_due()'s back-off, and its end
 * once, as disk_hangs() says a hang's (reaped: the look comes with a
 * completion of the store's ring, the helper's end among them).
 * It is not killed: a lost result is followed by a checkpoint on the loop
 * (store_ckpt.h, FAILURES), which on that disk would hold the loop for as
 * long; a disk that hangs hangs the WAL's syncs too (disk_hangs()). */
static void checkpoint_slow(struct bridge *b, int64_t now, bool reaped)
{
	struct bridge_stall *st = &b->ckpt_slow;
	int64_t ms = store_checkpoint_running_ms(&b->store);
	int64_t bound = (int64_t)b->cfg.state_sync_hang_ms * BRIDGE_CKPT_SLOW_SYNCS;
	int64_t took = stall_over(st, now, ms, bound, reaped);
	char s[32];

	if (took >= 0)
		log_notice("bridge", "the WAL checkpoint's helper process ended after %s s",
			   secs(s, sizeof(s), took));
	if (ms >= bound && stall_due(st, now, ms, bound))
		log_warn("bridge", "the WAL checkpoint's helper process has run for %s s: the WAL "
			 "grows meanwhile", secs(s, sizeof(s), ms));
}

static int64_t service_tick(struct bridge *b, int64_t now)
{
	if (b->watchdog_ms > 0 && now >= b->next_watchdog_ms) {
		if (!disk_hangs(b, now, false))
			notified(sdnotify_watchdog(), "WATCHDOG");
		b->next_watchdog_ms = now + b->watchdog_ms / 2;
	}
	if (now >= b->next_status_ms) {
		checkpoint_slow(b, now, false);
		if (b->watchdog_ms <= 0)   /* (else said by the watchdog's turn) */
			(void)disk_hangs(b, now, false);
		size_t online = gateways_count_online(&b->gateways);
		const char *mq = mqtt_connected(&b->mqtt) ? "connected" : "not connected";
		const char *disk = store_commits_failing(&b->store) ? "; STATE DISK FAILING" : "";
		int rc;
		if (online == 0)
			rc = sdnotify_status("waiting for gateways on UDP %s:%u; MQTT %s%s",
					     b->cfg.udp_bind, b->udp.port, mq, disk);
		else
			rc = sdnotify_status("%zu gateway(s) online, %llu uplink(s) published; MQTT "
					     "%s%s", online,
					     (unsigned long long)b->stats.uplinks_published, mq, disk);
		notified(rc, "STATUS");
		b->next_status_ms = now + BRIDGE_STATUS_MS;
	}
	int64_t next = b->next_status_ms;
	if (b->watchdog_ms > 0 && b->next_watchdog_ms < next)
		next = b->next_watchdog_ms;
	return next;
}

/* What only traffic needs, released once the bridge has been quiet (no
 * frame, no downlink command) for quiet_release_ms with nothing waiting in
 * the MQTT queue, the outbox or the store's batch: the pages of SQLite's
 * cache and the redo log that the commits grew, the OpenSSL contexts of
 * the key cache, the pages of the de-duplication and downlink slots and of
 * the receive buffers a burst touched, the TX_ACK table, the message blocks
 * pooled for reuse; then the heap's free pages. After one uplink
 * from each of 1,000 devices that is about 4 MiB the bridge kept
 * (README "Memory and start-up"); the first frames after it pay for
 * preparing their device's keys again and for reading pages back. A
 * steady trickle, never quiet that long, keeps everything. False when a
 * part was kept because it is in use (a downlink decision pending, a
 * PULL_RESP awaiting its TX_ACK, a store batch open): the caller tries
 * again later. Each release that
 * got everything is logged with the counts of what it freed. */
static bool release_quiet(struct bridge *b, int64_t quiet_ms)
{
	bool all = true, table = false;

	dedup_release(&b->dedup);
	udp_release_bufs(&b->udp);
	size_t keys = devices_release_keys(&b->devices);
	if (!txsched_release(&b->tx, &table))
		all = false;
	size_t blocks = outbox_release_pool(&b->outbox) + mqtt_release_pool(&b->mqtt);
	if (b->store_open && !store_release_idle(&b->store))
		all = false;
	release_heap();
	if (!all) {
		log_debug("bridge", "quiet for %lld ms: caches released; the downlink slots, the "
			  "TX_ACK table or the store's batch kept in use (looked at again in %d ms)",
			  (long long)quiet_ms, BRIDGE_QUIET_RETRY_MS);
		return false;
	}
	b->stats.quiet_releases++;
	/* At most one line per quiet spell, but a sparse site has a spell
	 * between most frames: debug, not to write a line per uplink. */
	log_debug("bridge", "quiet for %lld ms: released %zu prepared key pair(s), "
		  "%s, %zu pooled message block(s), the receive buffers', de-duplication and "
		  "downlink slots' pages, the store's cache and redo log, the heap's free pages",
		  (long long)quiet_ms, keys, table ? "the TX_ACK table" : "no TX_ACK table",
		  blocks);
	return true;
}

/* Runs before heap_tick()'s own trim: a release trims the heap and puts
 * that trim off, so one pass never trims twice. */
static int64_t quiet_tick(struct bridge *b, int64_t now, uint64_t waiting)
{
	uint64_t seen = b->stats.frames_received + b->stats.commands;

	if (b->cfg.quiet_release_ms <= 0)
		return -1;
	if (seen != b->quiet_seen) {
		b->quiet_seen = seen;
		b->quiet_since_ms = now;
		b->quiet_released = false;
	}
	if (b->quiet_released)
		return -1;
	int64_t due = b->quiet_since_ms + b->cfg.quiet_release_ms;
	if (now < due)
		return due;
	if (waiting != 0 || (b->store_open && store_dirty(&b->store)))
		return now + BRIDGE_STATUS_MS;   /* looked at again as they drain */
	b->quiet_released = release_quiet(b, now - b->quiet_since_ms);
	b->trim_backlog = 0;
	b->next_trim_ms = now + BRIDGE_TRIM_MS;
	b->next_drain_trim_ms = now + BRIDGE_TRIM_DRAIN_MS;
	return b->quiet_released ? -1 : now + BRIDGE_QUIET_RETRY_MS;
}

/* glibc's free() returns only the top of the heap: after a burst, the pages
 * of blocks freed below it (messages of the MQTT queue and the outbox, JSON
 * being written, among the ledgers and MAC state allocated meanwhile) stay
 * with the process. Once a minute malloc_trim() gives back every whole free
 * page, for about 150 us of the loop (memory still in use is for the quiet
 * release, quiet_tick()). A backlog that drained (at least
 * BRIDGE_TRIM_BACKLOG messages waiting in the MQTT queue and the outbox
 * together, now none) gives them back at once: after one uplink from each
 * of 100,000 devices on a busy machine, the messages that waited held up to
 * 7 MiB of such pages (README "Memory and start-up"); at most once per
 * BRIDGE_TRIM_DRAIN_MS, as a loaded bridge drains its backlog at every
 * commit. */
static int64_t heap_tick(struct bridge *b, int64_t now)
{
	struct mqtt_stats ms;

	mqtt_get_stats(&b->mqtt, &ms);
	uint64_t waiting = ms.queued + outbox_pending(&b->outbox);
	int64_t quiet_next = quiet_tick(b, now, waiting);
	if (waiting > b->trim_backlog)
		b->trim_backlog = waiting;
	bool drained = waiting == 0 && b->trim_backlog >= BRIDGE_TRIM_BACKLOG;
	if (now >= b->next_trim_ms || (drained && now >= b->next_drain_trim_ms)) {
		release_heap();
		/* a backlog still waiting is given back when it drains */
		b->trim_backlog = waiting;
		b->next_trim_ms = now + BRIDGE_TRIM_MS;
		b->next_drain_trim_ms = now + BRIDGE_TRIM_DRAIN_MS;
		drained = false;
	}
	int64_t next = drained ? loop_earliest(b->next_trim_ms, b->next_drain_trim_ms)
			       : b->next_trim_ms;
	return loop_earliest(next, quiet_next);
}

/* Back-pressure (intake.h): the UDP socket leaves the loop while the
 * broker is behind an overloaded bridge. */
static int64_t intake_tick_bridge(struct bridge *b, int64_t now)
{
	struct intake_view v = {.idle_us = b->loop.idle_us, .connected = mqtt_connected(&b->mqtt),
				.backlog = outbox_backlog(&b->outbox),
				.residue = outbox_residue(&b->outbox),
				.acked = b->outbox.stats.acked};
	bool changed;
	int64_t next = intake_tick(&b->intake, now, &v, &changed);
	if (!changed)
		return next;
	bool pausing = intake_paused(&b->intake);
	if (intake_apply(&b->intake, &b->loop, b->udp.fd, now) != LB_OK)
		/* logged and undone; a resume refused is tried again */
		return pausing ? next : now + BRIDGE_INTAKE_RETRY_MS;
	/* not reading: nothing for the store's upkeep to wait for */
	if (pausing)
		b->udp_busy = false;
	return next;
}

/* The tick of de-duplication for the timers: the one on_udp() made in
 * this pass if it did (a read horizon taken a moment earlier is an earlier
 * one, which is always safe: a group closes a moment later at most, and a
 * datagram that came since wakes the loop at once), else a fresh one. */
static int64_t dedup_tick_timers(struct bridge *b)
{
	if (!b->dedup_ticked)
		return dedup_tick_bridge(b);
	b->dedup_ticked = false;
	return b->dedup_next;
}

/* Home Assistant's re-announcement, as the MQTT queue has room: half the
 * queue at most, the rest left to the events. */
static int64_t hass_tick_bridge(struct bridge *b, int64_t now)
{
	size_t half = (size_t)b->cfg.mqtt_queue_limit / 2, pending = mqtt_pending(&b->mqtt);

	if (half == 0)
		half = 1;
	/* Not while the broker is away: a device's turn (up to 69 configs)
	 * would go into the queue at once, pushing out what waits there. */
	if (!mqtt_connected(&b->mqtt))
		return b->hass.announce_next != SIZE_MAX ? now + BRIDGE_STATUS_MS : -1;
	if (!hass_announce_more(&b->hass, pending < half ? half - pending : 0))
		return -1;
	return now + BRIDGE_HASS_PACE_MS;
}

/* Every module's timers: run what is due, return the next deadline. */
static int64_t run_timers(struct bridge *b)
{
	int64_t now = loop_now_ms();
	int64_t next = dedup_tick_timers(b);

	next = loop_earliest(next, gateways_tick(&b->gateways, now, dispatch_on_offline, &b->dispatch));
	/* Before the scheduler: a join synced in this pass goes out now. */
	next = loop_earliest(next, otaa_tick(&b->otaa, now));
	next = loop_earliest(next, txsched_tick(&b->tx, now));
	next = loop_earliest(next, classc_tick(&b->classc, now));
	next = loop_earliest(next, budget_tick(&b->budget, now));
	next = loop_earliest(next, durable_tick(&b->durable, now));
	next = loop_earliest(next, durable_upkeep(&b->durable, now, b->udp_busy));
	next = loop_earliest(next, outbox_tick(&b->outbox, now));
	next = loop_earliest(next, mqtt_tick(&b->mqtt, now));
	if (b->http_ready) {
		next = loop_earliest(next, integrations_tick(&b->integs, now));
		next = loop_earliest(next, http_tick(&b->http, now));
	}
	if (b->web_ready) {
		next = loop_earliest(next, web_retry(b, now));
		web_mqtt_state(&b->web, mqtt_connected(&b->mqtt));
		next = loop_earliest(next, web_tick(&b->web, now));
	}
	if (b->cfg.mqtt_stats_interval_s > 0 && now >= b->next_stats_ms) {
		publish_stats(b, now);
		b->next_stats_ms = now + (int64_t)b->cfg.mqtt_stats_interval_s * 1000;
	}
	if (b->cfg.mqtt_stats_interval_s > 0)
		next = loop_earliest(next, b->next_stats_ms);
	next = loop_earliest(next, heap_tick(b, now));
	next = loop_earliest(next, intake_tick_bridge(b, now));
	next = loop_earliest(next, hass_tick_bridge(b, now));
	next = loop_earliest(next, service_tick(b, now));
	/* The counts of rate-limited lines of a flood that stopped (log.h):
	 * last, so that a line the timers above suppressed for the first time
	 * has its due time in this pass's wake-up. */
	return loop_earliest(next, log_ratelimit_tick(now));
}

static int load_fresh(const char *path, struct lb_config *fresh)
{
	struct config_report rep = {0};

	int rc = config_load(path, fresh, &rep);
	for (size_t i = 0; i < rep.n; i++)
		LB_LOG(rep.items[i].is_error ? LOG_LVL_ERROR : LOG_LVL_WARN, "config", "%s:%d: %s",
		       rep.items[i].file, rep.items[i].line, rep.items[i].message);
	config_report_free(&rep);
	if (rc != LB_OK)
		log_error("bridge", "reload failed (%s): keeping the current device list",
			  lb_strerror(rc));
	return rc;
}

/* A SIGHUP takes over the devices and applications only: the other
 * settings changed in the file are named (never their values: secrets). */
static void restart_changes(const struct bridge *b, const struct lb_config *fresh)
{
	char paths[512];
	size_t n = config_restart_changes(&b->cfg, fresh, paths, sizeof(paths));

	if (n)
		log_warn("bridge", "SIGHUP: %zu changed setting(s) need a restart to take effect: %s",
			 n, paths);
}

int bridge_reload(struct bridge *b)
{
	struct lb_config fresh;

	log_notice("bridge", "SIGHUP: reloading devices from %s", b->cfg.path);
	int rc = load_fresh(b->cfg.path, &fresh);
	if (rc != LB_OK)
		return rc;
	/* The lists of changed devices index the old table: make them durable
	 * first. If that fails, every device is staged again afterwards. */
	bool restage = durable_flush(&b->durable) != LB_OK;
	if (restage)
		log_warn("bridge", "state not committed before the reload: every device is "
			 "staged again with the next batch");
	rc = devices_reload(&b->devices, fresh.devices, fresh.n_devices);
	if (rc != LB_OK) {
		log_error("bridge", "device table reload failed (%s): keeping the current one",
			  lb_strerror(rc));
		config_free(&fresh);
		return rc;
	}
	if (b->web_ready)
		(void)web_reload_files(&b->web);  /* failures logged; the old files stay */
	sessions_forget(&b->sessions); /* and sets aside pending sessions of devices gone or ABP */
	budget_forget(&b->budget);
	netmac_forget(&b->netmac);
	/* Scripts changed on disk are compiled again (out of memory, the old
	 * tables stay and the devices are pointed into them; a compile out of
	 * memory keeps that script's old version: payload.h). */
	(void)payload_sync(&b->payloads, &b->devices);
	/* Entities of devices that left are cleared; failures are logged. */
	(void)hass_sync(&b->hass, &b->devices);
	/* ... and those removed before their first uplink of this run: the
	 * broker sends the retained topics again. */
	hass_sweep_subscribe(b);
	/* The devices new to the table get their stored state back: the
	 * sessions at once (a session may be another DevEUI's: session.h);
	 * failures are logged, the ABP devices concerned not served. */
	int rs = sessions_restore_new(&b->sessions);
	for (size_t i = 0; i < b->devices.n; i++) {
		struct lb_device *dev = &b->devices.dev[i];
		if (!dev->state_kept) {
			int rd = restore_device(b, dev);
			if (rs != LB_OK || rd != LB_OK)
				log_error("bridge", "device %s: stored state not fully read (see "
					  "above): what was not read starts afresh", dev->name);
		}
		if (restage) {
			sessions_touch(&b->sessions, dev);
			budget_touch(&b->budget, dev);
			netmac_touch(&b->netmac, dev);
		}
	}
	(void)classc_sync(&b->classc); /* a failure keeps the old list and is logged */
	restart_changes(b, &fresh);
	/* Only the device list is taken over (into the table, as at the start:
	 * the configuration's copy is freed with fresh); other settings need a
	 * restart. */
	struct lb_app_conf *apps = b->cfg.apps;
	size_t napps = b->cfg.n_apps;
	b->cfg.apps = fresh.apps;
	b->cfg.n_apps = fresh.n_apps;
	fresh.apps = apps;
	fresh.n_apps = napps;
	config_free(&fresh);
	release_heap();
	log_notice("bridge", "reloaded: %zu device(s)", devices_count(&b->devices));
	return LB_OK;
}

/* Anything left to deliver: the FIFO, in flight, the outbox. */
static bool undelivered(struct bridge *b)
{
	return mqtt_pending(&b->mqtt) > 0 || outbox_pending(&b->outbox) > 0;
}

/* SIGTERM/SIGINT: commit what is staged (the outbox rows with it), say
 * offline (a clean DISCONNECT suppresses the Will), give queued events and
 * the outbox up to 5 s to reach the broker, and the gateways as long for
 * the TX_ACKs of what was just sent, then commit the deletions of what the
 * broker acknowledged: what is left is published at the next start,
 * nothing twice. */
/* Still something to hand over at shutdown: MQTT messages while the broker
 * is there, integration events (webhooks, InfluxDB) while their servers
 * answer, and the TX_ACKs of PULL_RESPs just sent (a queue item whose
 * TX_ACK is not taken stays queued: the device would get it again after
 * the restart); all within the same deadline. */
static bool flushing(struct bridge *b)
{
	if (mqtt_connected(&b->mqtt) && undelivered(b))
		return true;
	if (txsched_awaiting(&b->tx) > 0)
		return true;
	return b->http_ready && integrations_pending(&b->integs) > 0;
}

/* The shutdown's first step: the uplinks heard so far processed, none
 * after (no scheduler runs to answer it), the gateways read for their
 * TX_ACKs. Returns the de-duplication's group count from which the frames
 * left unprocessed are counted (shutdown_flush()). */
static uint64_t frames_stop(struct bridge *b)
{
	b->stopping = true;
	/* Every open group closed (each opened by the read horizon at the
	 * latest), the memory of frames seen kept: a late copy that comes
	 * during the flush is known as one, not taken for a new uplink. */
	dedup_tick(&b->dedup, b->dedup_clock_ms + b->cfg.dedup_window_ms, uplink_process,
		   &b->uplink);
	/* Not even the oldest group the de-duplication forces out when all
	 * its slots are open is processed from here (dropped, and counted). */
	b->dispatch.emit = NULL;
	/* Back-pressure may have taken the gateways' socket out of the loop
	 * (intake.h); intake_apply() logs a refusal. */
	if (intake_resume(&b->intake, &b->loop, b->udp.fd, loop_now_ms()) != LB_OK)
		log_warn("bridge", "the gateways' socket not read during the shutdown: the TX_ACKs "
			 "awaited time out, their queue items are sent again after the restart");
	/* (a group the close left open, one without a kernel timestamp later
	 * than the read horizon, counts as not processed too) */
	return b->dedup.groups - dedup_open_count(&b->dedup);
}

static void shutdown_flush(struct bridge *b)
{
	int64_t until = loop_now_ms() + BRIDGE_SHUTDOWN_FLUSH_MS;
	uint64_t groups_at = frames_stop(b);
	uint64_t forced_at = b->dedup.forced_early;

	if (durable_flush(&b->durable) != LB_OK)
		log_error("bridge", "state not committed at shutdown: retried once more at close; "
			  "if that fails too, the uplinks accepted since the last commit are lost "
			  "with their counters (a retransmission is accepted)");
	/* The joins that waited for a sync this commit waited for get their
	 * join-accepts and `join` events now (published at once, so the flush
	 * below delivers them). */
	(void)otaa_tick(&b->otaa, loop_now_ms());
	log_notice("bridge", "shutting down: flushing %zu queued message(s) and %llu outbox "
		   "event(s), awaiting %zu TX_ACK(s)", mqtt_pending(&b->mqtt),
		   (unsigned long long)outbox_pending(&b->outbox), txsched_awaiting(&b->tx));
	size_t gws = gwconn_stop(&b->gwconn);
	if (gws)
		log_notice("bridge", "%zu gateway(s) reported OFFLINE", gws);
	if (publish_bridge(&b->pub, "state", STATE_OFFLINE, strlen(STATE_OFFLINE), true) != LB_OK)
		log_warn("bridge", "bridge state offline not published (the Last Will says it)");
	while (flushing(b) && loop_now_ms() < until) {
		int64_t now = loop_now_ms();
		/* A TX_ACK that comes meanwhile asks for the commit of its queue
		 * item's sent mark; its txack waits in the outbox for it. */
		int64_t next = loop_earliest(durable_tick(&b->durable, now), until);
		next = loop_earliest(next, txsched_expire(&b->tx, now));
		next = loop_earliest(next, outbox_tick(&b->outbox, now));
		next = loop_earliest(next, mqtt_tick(&b->mqtt, now));
		if (b->http_ready) {
			next = loop_earliest(next, integrations_tick(&b->integs, now));
			next = loop_earliest(next, http_tick(&b->http, now));
		}
		mqtt_sync_fd(b);
		if (loop_run_once(&b->loop, loop_earliest(next, loop_now_ms() + 50)) < 0)
			break;
	}
	size_t left = mqtt_pending(&b->mqtt) - mqtt_tracked_pending(&b->mqtt);
	if (left)
		log_warn("bridge", "%zu message(s) not delivered at shutdown", left);
	/* The gateways are still read during the flush (the TX_ACKs come that
	 * way), and dispatch acknowledges every PUSH_DATA. The frames heard
	 * then are not processed: that would commit frame counters, DevNonces
	 * and sessions whose ACKs and join-accepts no scheduler is left to
	 * send. Said, not dropped silently (frames of other networks
	 * included: they are not looked at), with those of them a full
	 * de-duplication table forced out (dedupForcedEarly) if any: no group
	 * closes during the flush (dedup is not ticked), so more frames than
	 * the table holds open fill it. */
	uint64_t unheard = b->dedup.groups - groups_at;
	uint64_t forced = b->dedup.forced_early - forced_at;
	char forced_s[96] = "";
	if (forced)
		snprintf(forced_s, sizeof(forced_s), ", %llu of them forced out of the full "
			 "de-duplication table", (unsigned long long)forced);
	if (unheard)
		log_warn("bridge", "%llu frame(s) heard during the shutdown's flush not processed "
			 "(acknowledged to their gateways)%s", (unsigned long long)unheard, forced_s);
	/* The gateways' OFFLINE reached the broker: nothing to correct at the
	 * next start. Otherwise the next start says it. */
	if (gws && !left && mqtt_connected(&b->mqtt)) {
		gwconn_stopped(&b->gwconn);
		if (durable_flush(&b->durable) != LB_OK)
			log_warn("bridge", "gateway states not committed: the next start "
				 "reports the gateways OFFLINE again");
	}
	if (mqtt_disconnect(&b->mqtt) != LB_OK)
		log_warn("bridge", "MQTT disconnect not clean: the broker publishes the Last Will");
	/* The TX_ACKs that did not come within the flush: charged to the
	 * gateways' duty cycle as a timeout is (txsched.h), stored below. */
	size_t unacked = txsched_stop(&b->tx);
	if (unacked)
		log_warn("bridge", "%zu downlink(s) without a TX_ACK at shutdown: their airtime is "
			 "charged to their gateways' duty cycle", unacked);
	if (durable_flush(&b->durable) != LB_OK)
		log_error("bridge", "deletions of acknowledged outbox events not committed: those "
			  "are published again at the next start; the duty-cycle charges of the "
			  "downlinks without a TX_ACK are lost");
	/* Events still held for a commit that never succeeded (the state
	 * directory failing, a full disk) were never written: they end here. */
	uint64_t lost = outbox_unwritten(&b->outbox);
	uint64_t kept = outbox_pending(&b->outbox) - lost;
	if (kept > 0)
		log_notice("bridge", "%llu event(s) kept in the outbox for the next start",
			   (unsigned long long)kept);
	if (lost > 0)
		log_error("bridge", "%llu event(s) lost: never written to the state directory, "
			  "whose commits failed (see above)", (unsigned long long)lost);
}

/* FAILURE IS FINAL (store_sync.h): a restart reads the state back from
 * the disk; the uplinks of the batches not synced are in the outbox there
 * if the disk kept them. */
static bool disk_failed(struct bridge *b)
{
	if (!store_sync_failed(&b->store))
		return false;
	log_error("bridge", "the state directory's disk failed a sync: shutting down (exit "
		  "status 3)");
	return true;
}

int bridge_run(struct bridge *b)
{
	log_notice("bridge", "running: UDP %s:%u, MQTT %s:%u, region %s, dedup window %d ms",
		   b->cfg.udp_bind, b->udp.port, b->cfg.mqtt_host, b->cfg.mqtt_port, b->cfg.region,
		   b->cfg.dedup_window_ms);
	int status = LB_OK;

	b->watchdog_ms = sdnotify_watchdog_interval_ms();
	notified(sdnotify_ready(), "READY");
	log_notice("bridge", "waiting for packet forwarders on UDP %s:%u", b->cfg.udp_bind,
		   b->udp.port);
	while (!b->stop) {
		/* What the timers publish leaves together, before the loop
		 * waits (mqtt.h, "Batches"). */
		mqtt_batch_begin(&b->mqtt);
		int64_t next = run_timers(b);
		mqtt_batch_end(&b->mqtt);
		mqtt_sync_fd(b);
		if (disk_failed(b)) {   /* a sync at once, in the timers */
			status = LB_ERR_IO;
			break;
		}
		if (loop_run_once(&b->loop, next) < 0) {
			log_error("bridge", "event loop failed: shutting down");
			status = LB_ERR_IO;
			break;
		}
		if (disk_failed(b)) {   /* a sync off the loop, reaped */
			status = LB_ERR_IO;
			break;
		}
		if (b->reload) {
			b->reload = false;
			b->dedup_ticked = false;   /* the reload may change the groups */
			notified(sdnotify_reloading(), "RELOADING");
			(void)bridge_reload(b); /* a failure keeps the old list and is logged */
			notified(sdnotify_ready(), "READY");
		}
	}
	notified(sdnotify_stopping(), "STOPPING");
	shutdown_flush(b);
	/* Its last commit waited for the sync in flight: a failure found at
	 * the end is one too. */
	if (store_sync_failed(&b->store) && status == LB_OK) {
		log_error("bridge", "the state directory's disk failed a sync during the shutdown");
		status = LB_ERR_IO;
	}
	return status;
}

int bridge_free(struct bridge *b)
{
	int status = LB_OK;

	if (b->mqtt_fd >= 0 && loop_remove(&b->loop, b->mqtt_fd) != LB_OK)
		log_warn("bridge", "MQTT socket not removed from the loop (closing anyway)");
	/* The web server first: its streams read the tables freed below. */
	if (b->web_ready)
		web_free(&b->web);
	b->web_ready = false;
	mqtt_destroy(&b->mqtt);
	/* Requests are cancelled first (no callbacks), then what they carried
	 * is freed and counted as not delivered. */
	if (b->http_ready)
		http_free(&b->http);
	integrations_free(&b->integs);
	udp_close(&b->udp);
	if (b->signal_fd >= 0)
		close(b->signal_fd);
	loop_close(&b->loop);
	dedup_free(&b->dedup);
	sessions_free(&b->sessions);
	netmac_free(&b->netmac);
	otaa_free(&b->otaa);
	txsched_free(&b->tx);
	budget_free(&b->budget);
	classc_free(&b->classc);
	commands_free(&b->commands);
	if (b->outbox_ready)
		outbox_free(&b->outbox);
	payload_free(&b->payloads);
	devices_free(&b->devices);
	gwconn_free(&b->gwconn);
	gateways_free(&b->gateways);
	hass_free(&b->hass);
	if (b->store_open && store_close(&b->store) != LB_OK) {
		log_error("bridge", "state not committed at close (see above)");
		status = LB_ERR_IO;
	}
	b->store_open = false;
	publish_free(&b->pub);
	config_free(&b->cfg);
	return status;
}
