/* bridge.c - wiring and lifecycle of the daemon. See bridge.h. */
#include "daemon/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/budget.h"
#include "daemon/command.h"
#include "daemon/dispatch.h"
#include "daemon/otaa.h"
#include "daemon/session.h"
#include "io/sdnotify.h"
#include "events/event_json.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "daemon/uplink.h"

#define STATE_ONLINE "online"
#define STATE_OFFLINE "offline"

static void on_mqtt_connect(void *arg)
{
	struct bridge *b = arg;
	char filter[PUBLISH_TOPIC_MAX];

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
	/* Retained so a dashboard that subscribes later sees the state; the
	 * Last Will replaces it with "offline" if we vanish. */
	publish_bridge(&b->pub, "state", STATE_ONLINE, strlen(STATE_ONLINE), true);
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
		.on_message = command_on_message, .arg = b,
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

static void on_udp(void *arg, int fd, uint32_t events)
{
	struct bridge *b = arg;
	(void)fd;
	(void)events;
	udp_drain(&b->udp, BRIDGE_UDP_BUDGET, dispatch_datagram, b);
	/* With a zero window, frames are published within this wake-up. */
	dedup_tick(&b->dedup, loop_now_ms(), uplink_process, b);
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
		if (fd >= 0 && loop_add(&b->loop, fd, EPOLLIN | (ww ? EPOLLOUT : 0), on_mqtt_io, b) == LB_OK) {
			b->mqtt_fd = fd;
			b->mqtt_fd_wants_write = ww;
		}
		return;
	}
	if (fd >= 0 && ww != b->mqtt_fd_wants_write) {
		loop_modify(&b->loop, fd, EPOLLIN | (ww ? EPOLLOUT : 0));
		b->mqtt_fd_wants_write = ww;
	}
}

static int devices_setup(struct bridge *b)
{
	int rc = devices_init(&b->devices, b->cfg.devices, b->cfg.n_devices);
	if (rc != LB_OK)
		log_error("bridge", "device table: %s", lb_strerror(rc));
	else
		log_notice("bridge", "%zu device(s) configured", b->cfg.n_devices);
	return rc;
}

static int gateways_setup(struct bridge *b)
{
	const struct lb_config *c = &b->cfg;
	struct gateways_opts o = {
		.keepalive_s = c->udp_keepalive_s, .offline_after = c->udp_offline_after,
		.rate_limit_count = c->udp_rate_limit_count,
		.rate_limit_window_ms = c->udp_rate_limit_window_ms,
		.allow = c->udp_allow, .n_allow = c->n_udp_allow, .max_gateways = 1024,
	};
	return gateways_init(&b->gateways, &o);
}

/* The durable state: sessions, downlink queue, join counters. */
static int state_setup(struct bridge *b)
{
	int rc = store_open(&b->store, b->cfg.state_dir, b->cfg.state_commit_ms);
	if (rc != LB_OK) {
		log_error("bridge", "state directory %s unusable: %s", b->cfg.state_dir,
			  lb_strerror(rc));
		return rc;
	}
	b->store_open = true;
	if ((rc = session_restore(b)) != LB_OK)
		return rc;
	return otaa_init(b);
}

static int modules_setup(struct bridge *b)
{
	int rc;

	b->region = region_find(b->cfg.region);
	if (!b->region) {
		log_error("bridge", "unknown region '%s'", b->cfg.region);
		return LB_ERR_CONFIG;
	}
	if ((rc = publish_init(&b->pub, &b->cfg, &b->mqtt)) != LB_OK)
		return rc;
	if ((rc = devices_setup(b)) != LB_OK)
		return rc;
	if ((rc = gateways_setup(b)) != LB_OK)
		return rc;
	if ((rc = dedup_init(&b->dedup, b->cfg.dedup_window_ms, BRIDGE_DEDUP_OPEN)) != LB_OK)
		return rc;
	if ((rc = state_setup(b)) != LB_OK)
		return rc;
	txsched_init(&b->tx, (uint32_t)b->cfg.downlink_tx_ack_timeout_ms);
	return mqtt_setup(b);
}

int bridge_init(struct bridge *b, struct lb_config *cfg)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	b->signal_fd = -1;
	b->mqtt_fd = -1;
	b->udp.fd = -1;
	b->stats.started_ms = loop_now_ms();
	if (getrandom(b->id_seed, sizeof(b->id_seed), 0) != (ssize_t)sizeof(b->id_seed))
		log_warn("bridge", "getrandom failed; deduplication ids are less unique");
	if ((rc = loop_init(&b->loop)) != LB_OK || (rc = signals_setup(b)) != LB_OK ||
	    (rc = modules_setup(b)) != LB_OK)
		return rc;
	rc = udp_open(&b->udp, b->cfg.udp_bind, b->cfg.udp_port, b->cfg.udp_rcvbuf);
	if (rc != LB_OK)
		return rc;
	if ((rc = loop_add(&b->loop, b->udp.fd, EPOLLIN, on_udp, b)) != LB_OK ||
	    (rc = loop_add(&b->loop, b->signal_fd, EPOLLIN, on_signal, b)) != LB_OK)
		return rc;
	b->next_stats_ms = loop_now_ms() + (int64_t)b->cfg.mqtt_stats_interval_s * 1000;
	return LB_OK;
}

void bridge_next_id(struct bridge *b, uint8_t out[16])
{
	uint64_t c = ++b->id_counter;
	memcpy(out, b->id_seed, 16);
	/* The counter goes in from the last byte, clear of the version and
	 * variant bits (bytes 6 and 8) that would otherwise mask it. */
	for (int i = 0; i < 7; i++)
		out[15 - i] ^= (uint8_t)(c >> (8 * i));
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

static void on_gateway_offline(void *arg, struct gateway *gw)
{
	struct bridge *b = arg;
	log_notice("gateway", "gateway %016llx offline (no datagram for %d keepalive periods)",
		   (unsigned long long)gw->eui, b->cfg.udp_offline_after);
	dispatch_publish_gateway_state(b, gw->eui, false);
}

static void publish_stats(struct bridge *b, int64_t now_ms)
{
	struct mqtt_stats ms;
	struct stats_extra x = {.now_ms = now_ms};
	size_t len;

	mqtt_get_stats(&b->mqtt, &ms);
	x.gateways_known = gateways_count(&b->gateways);
	x.gateways_online = gateways_count_online(&b->gateways);
	x.devices = b->cfg.n_devices;
	x.udp_kernel_drops = b->udp.kernel_drops;
	x.downlinks_sent = b->tx.stats.sent;
	x.downlinks_failed = b->tx.stats.failed;
	x.downlinks_rx2 = b->tx.stats.retried_rx2;
	x.store_commits = b->store.stats.commits;
	x.store_failures = b->store.stats.failures;
	x.mqtt_queue_depth = ms.queued;
	x.mqtt_published = ms.published;
	x.mqtt_dropped = ms.dropped_overflow;
	x.mqtt_reconnects = ms.reconnects;
	if (stats_json(&b->stats, &x, b->event, sizeof(b->event), &len) == LB_OK)
		publish_bridge(&b->pub, "stats", b->event, len, false);
}

static int64_t earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static bool batch_committed(void *arg, uint64_t batch)
{
	struct bridge *b = arg;
	return store_committed(&b->store, batch);
}

/* systemd: a one-line STATUS every few seconds and the watchdog ping, both
 * from the loop so a stuck loop stops the pings. */
static int64_t service_tick(struct bridge *b, int64_t now)
{
	if (b->watchdog_ms > 0 && now >= b->next_watchdog_ms) {
		sdnotify_watchdog();
		b->next_watchdog_ms = now + b->watchdog_ms / 2;
	}
	if (now >= b->next_status_ms) {
		size_t online = gateways_count_online(&b->gateways);
		if (online == 0)
			sdnotify_status("waiting for gateways on UDP %s:%u; MQTT %s",
					b->cfg.udp_bind, b->udp.port,
					mqtt_connected(&b->mqtt) ? "connected" : "not connected");
		else
			sdnotify_status("%zu gateway(s) online, %llu uplink(s) published; MQTT %s",
					online, (unsigned long long)b->stats.uplinks_published,
					mqtt_connected(&b->mqtt) ? "connected" : "not connected");
		b->next_status_ms = now + BRIDGE_STATUS_MS;
	}
	int64_t next = b->next_status_ms;
	if (b->watchdog_ms > 0 && b->next_watchdog_ms < next)
		next = b->next_watchdog_ms;
	return next;
}

/* Every module's timers: run what is due, return the next deadline. */
static int64_t run_timers(struct bridge *b)
{
	int64_t now = loop_now_ms();
	int64_t next = dedup_tick(&b->dedup, now, uplink_process, b);

	next = earliest(next, gateways_tick(&b->gateways, now, on_gateway_offline, b));
	next = earliest(next, txsched_tick(b, now));
	next = earliest(next, budget_tick(b, now));
	next = earliest(next, session_tick(b, now));
	b->stats.uplinks_published += publish_release(&b->pub, batch_committed, b);
	next = earliest(next, mqtt_tick(&b->mqtt, now));
	if (b->cfg.mqtt_stats_interval_s > 0 && now >= b->next_stats_ms) {
		publish_stats(b, now);
		b->next_stats_ms = now + (int64_t)b->cfg.mqtt_stats_interval_s * 1000;
	}
	if (b->cfg.mqtt_stats_interval_s > 0)
		next = earliest(next, b->next_stats_ms);
	return earliest(next, service_tick(b, now));
}

int bridge_reload(struct bridge *b)
{
	struct lb_config fresh;
	struct config_report rep = {0};

	log_notice("bridge", "SIGHUP: reloading devices from %s", b->cfg.path);
	int rc = config_load(b->cfg.path, &fresh, &rep);
	for (size_t i = 0; i < rep.n; i++)
		LB_LOG(rep.items[i].is_error ? LOG_LVL_ERROR : LOG_LVL_WARN, "config", "%s:%d: %s",
		       rep.items[i].file, rep.items[i].line, rep.items[i].message);
	config_report_free(&rep);
	if (rc != LB_OK) {
		log_error("bridge", "reload failed (%s): keeping the current device list",
			  lb_strerror(rc));
		return rc;
	}
	/* The dirty list indexes the old table: make its changes durable. */
	if (session_commit(b) != LB_OK)
		log_warn("bridge", "state not committed before the reload; retried later");
	rc = devices_reload(&b->devices, fresh.devices, fresh.n_devices);
	if (rc != LB_OK) {
		log_error("bridge", "device table reload failed (%s): keeping the current one",
			  lb_strerror(rc));
		config_free(&fresh);
		return rc;
	}
	/* Re-list what is still unstaged (a failed flush) under the new table;
	 * a device new to the table gets its stored state back. */
	session_reset_dirty(b);
	for (size_t i = 0; i < b->devices.n; i++) {
		struct lb_device *dev = &b->devices.dev[i];
		if (!dev->state_kept)
			session_restore_device(b, dev);
		if (dev->rt.dirty) {
			dev->rt.dirty = false;
			session_touch(b, dev);
		}
	}
	/* Only the device list is taken over; other settings need a restart. */
	struct lb_device_conf *tmp = b->cfg.devices;
	size_t ntmp = b->cfg.n_devices;
	b->cfg.devices = fresh.devices;
	b->cfg.n_devices = fresh.n_devices;
	fresh.devices = tmp;
	fresh.n_devices = ntmp;
	config_free(&fresh);
	log_notice("bridge", "reloaded: %zu device(s)", b->cfg.n_devices);
	return LB_OK;
}

/* SIGTERM/SIGINT: say offline (a clean DISCONNECT suppresses the Will),
 * then give queued events up to 5 s to reach the broker. */
static void shutdown_flush(struct bridge *b)
{
	int64_t until = loop_now_ms() + BRIDGE_SHUTDOWN_FLUSH_MS;

	log_notice("bridge", "shutting down: flushing %zu queued message(s)", mqtt_pending(&b->mqtt));
	dedup_tick(&b->dedup, INT64_MAX / 2, uplink_process, b);
	if (session_commit(b) != LB_OK)
		log_error("bridge", "state not committed at shutdown: %zu held event(s) dropped",
			  b->pub.n_held);
	b->stats.uplinks_published += publish_release(&b->pub, batch_committed, b);
	if (b->pub.n_held)
		log_error("bridge", "%zu held up event(s) dropped at shutdown (state not durable)",
			  b->pub.n_held);
	publish_bridge(&b->pub, "state", STATE_OFFLINE, strlen(STATE_OFFLINE), true);
	while (mqtt_connected(&b->mqtt) && mqtt_pending(&b->mqtt) > 0 && loop_now_ms() < until) {
		int64_t next = earliest(mqtt_tick(&b->mqtt, loop_now_ms()), until);
		mqtt_sync_fd(b);
		loop_run_once(&b->loop, earliest(next, loop_now_ms() + 50));
	}
	size_t left = mqtt_pending(&b->mqtt);
	if (left)
		log_warn("bridge", "%zu message(s) not delivered at shutdown", left);
	mqtt_disconnect(&b->mqtt);
}

int bridge_run(struct bridge *b)
{
	log_notice("bridge", "running: UDP %s:%u, MQTT %s:%u, region %s, dedup window %d ms",
		   b->cfg.udp_bind, b->udp.port, b->cfg.mqtt_host, b->cfg.mqtt_port, b->cfg.region,
		   b->cfg.dedup_window_ms);
	int status = LB_OK;

	b->watchdog_ms = sdnotify_watchdog_interval_ms();
	sdnotify_ready();
	log_notice("bridge", "waiting for packet forwarders on UDP %s:%u", b->cfg.udp_bind,
		   b->udp.port);
	while (!b->stop) {
		int64_t next = run_timers(b);
		mqtt_sync_fd(b);
		if (loop_run_once(&b->loop, next) < 0) {
			log_error("bridge", "event loop failed: shutting down");
			status = LB_ERR_IO;
			break;
		}
		if (b->reload) {
			b->reload = false;
			sdnotify_reloading();
			bridge_reload(b);
			sdnotify_ready();
		}
	}
	sdnotify_stopping();
	shutdown_flush(b);
	return status;
}

void bridge_free(struct bridge *b)
{
	if (b->mqtt_fd >= 0)
		loop_remove(&b->loop, b->mqtt_fd);
	mqtt_destroy(&b->mqtt);
	udp_close(&b->udp);
	if (b->signal_fd >= 0)
		close(b->signal_fd);
	loop_close(&b->loop);
	dedup_free(&b->dedup);
	devices_free(&b->devices);
	gateways_free(&b->gateways);
	if (b->store_open)
		store_close(&b->store);
	free(b->dirty);
	b->dirty = NULL;
	b->store_open = false;
	publish_free(&b->pub);
	config_free(&b->cfg);
}
