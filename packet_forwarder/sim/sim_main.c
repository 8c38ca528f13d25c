/* SPDX-License-Identifier: MIT */
/*
 * sim_main.c - lorabridge-sim: one or more simulated Semtech packet
 * forwarders sending encrypted uplinks of simulated ABP or OTAA devices and
 * checking the downlinks they get back.
 *
 * Read in this order: sim_opts (command line), sim_devices (who sends
 * what), sim_radio (rxpk metadata), sim_gateway (sockets, ACK checks,
 * keepalive, stat, TX_ACK), sim_acks (token bookkeeping), sim_traffic
 * (schedule, joins and fault injection), sim_otaa (the device side of a
 * join), sim_downlink (receive windows, opening a downlink), sim_dlcheck
 * (what each PULL_RESP does to a device), sim_fault (malformed datagrams),
 * sim_stats, and sim_prebuild (--prebuild: the traffic built first on a
 * virtual clock, then replayed with sendmmsg).
 *
 * This file only sets things up and schedules: one epoll loop over every
 * gateway socket and a signalfd; each module's tick() reports its next
 * deadline. Single-threaded, nothing blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "sim_devices.h"
#include "sim_dlcheck.h"
#include "sim_gateway.h"
#include "sim_opts.h"
#include "sim_prebuild.h"
#include "sim_stats.h"
#include "sim_traffic.h"

#define MOD "sim"
#define EXIT_SETUP 1
#define EXIT_USAGE 2
#define EXIT_MISSING_ACKS 3
#define EXIT_BAD_DOWNLINKS 4
#define MAX_EVENTS 64
#define EV_SIGNAL UINT64_MAX
#define US_PER_S 1000000.0

struct sim {
	struct sim_opts o;
	struct sim_devices devs;
	struct sim_gateway *gws;
	unsigned n_gws;
	struct sim_stats st;
	struct sim_traffic traffic;
	struct sim_dlcheck dl;
	bool dl_ready;
	struct sim_prebuild pb;      /* --prebuild */
	bool pb_ready;
	FILE *expect;
	FILE *expect_down;
	int epfd;
	int sigfd;
	int signals;                 /* SIGINT/SIGTERM received */
	bool lingering;
	int64_t linger_deadline_us;
	bool draining;
	int64_t drain_deadline_us;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int load_devices(struct sim *s)
{
	const struct sim_opts *o = &s->o;
	int rc, line;

	if (o->keys_path) {
		rc = sim_devices_load(&s->devs, o->keys_path, &line);
		if (rc == LB_ERR_IO)
			log_error(MOD, "%s: %s", o->keys_path, strerror(errno));
		else if (rc != LB_OK && line > 0)
			log_error(MOD, "%s:%d: %s", o->keys_path, line, lb_strerror(rc));
		else if (rc != LB_OK)
			log_error(MOD, "%s: %s", o->keys_path, lb_strerror(rc));
		if (rc != LB_OK)
			return rc;
		if (o->devices_given)
			sim_devices_truncate(&s->devs, o->devices);
	} else if ((rc = sim_devices_derive(&s->devs, o->devices, o->seed)) != LB_OK) {
		log_error(MOD, "cannot create %zu devices: %s", o->devices, lb_strerror(rc));
		return rc;
	} else if (o->otaa) {
		sim_devices_make_otaa(&s->devs);
	}
	for (size_t i = 0; i < s->devs.n; i++)
		s->devs.dev[i].class_c = o->class_c;
	if (o->shared_devaddr && (rc = sim_devices_share_devaddr(&s->devs)) != LB_OK) {
		log_error(MOD, "--shared-devaddr needs at least 2 devices");
		return rc;
	}
	return LB_OK;
}

typedef int (*writer_fn)(const struct sim *s, FILE *f);

static int write_keys(const struct sim *s, FILE *f)
{
	return sim_devices_write_keys(&s->devs, f);
}

static int write_conf(const struct sim *s, FILE *f)
{
	return sim_devices_write_conf_version(&s->devs, s->o.application, s->o.lorawan_version, f);
}

/* The files hold keys: created 0600 whatever the umask (the owner then
 * gives the service's group read access, as the header says); an existing
 * file keeps its mode. */
static int write_file(const struct sim *s, const char *path, writer_fn fn)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		log_error(MOD, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return LB_ERR_IO;
	}
	int rc = fn(s, f);
	if (fclose(f) != 0 || rc != LB_OK) {
		log_error(MOD, "%s: write failed", path);
		return LB_ERR_IO;
	}
	log_info(MOD, "wrote %zu devices to %s", s->devs.n, path);
	return LB_OK;
}

static int resolve(const struct sim_opts *o, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res;

	int rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc != 0) {
		log_error(MOD, "%s:%s: %s", o->host, o->port, gai_strerror(rc));
		return LB_ERR_IO;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return LB_OK;
}

static int epoll_add(struct sim *s, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error(MOD, "epoll_ctl: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

static int open_gateways(struct sim *s, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = resolve(&s->o, &ss, &len);

	if (rc != LB_OK)
		return rc;
	s->gws = calloc(s->o.gateways, sizeof(*s->gws));
	if (!s->gws)
		return LB_ERR_NOMEM;
	for (unsigned i = 0; i < s->o.gateways; i++) {
		struct sim_gateway_conf c = {
			.idx = i,
			.eui = s->o.gateway_eui + i,
			.version = s->o.protocol,
			.keepalive_us = (int64_t)(s->o.keepalive_s * US_PER_S),
			/* --prebuild: no stat, whose ACKs would mix with the replay's */
			.stat_interval_us = s->o.prebuild ? 0
							  : (int64_t)(s->o.stat_interval_s * US_PER_S),
			.ack_timeout_us = (int64_t)s->o.ack_timeout_ms * 1000,
			.seed = s->o.seed,
		};
		rc = sim_gateway_open(&s->gws[i], &c, (struct sockaddr *)&ss, len, &s->st, now);
		if (rc != LB_OK)
			return rc;
		s->n_gws = i + 1;
		s->gws[i].on_downlink = sim_dlcheck_on_downlink;
		s->gws[i].downlink_arg = &s->dl;
		/* --prebuild reads the PUSH_ACKs in its tick (sim_prebuild.h). */
		if (!s->o.prebuild && (rc = epoll_add(s, s->gws[i].fd_up, 2 * (uint64_t)i)) != LB_OK)
			return rc;
		if ((rc = epoll_add(s, s->gws[i].fd_down, 2 * (uint64_t)i + 1)) != LB_OK)
			return rc;
	}
	return LB_OK;
}

/* SIGINT/SIGTERM arrive through a signalfd: the loop sees them as input. */
static int open_signals(struct sim *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error(MOD, "signalfd: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return epoll_add(s, s->sigfd, EV_SIGNAL);
}

/* Line-buffered append, so a test can read the file while the sim runs. */
static int open_append(const char *path, FILE **f)
{
	if (!path)
		return LB_OK;
	*f = fopen(path, "a");
	if (!*f) {
		log_error(MOD, "%s: %s", path, strerror(errno));
		return LB_ERR_IO;
	}
	setvbuf(*f, NULL, _IOLBF, 0);
	return LB_OK;
}

static int open_expect(struct sim *s)
{
	int rc = open_append(s->o.expect_path, &s->expect);

	return rc == LB_OK ? open_append(s->o.expect_down_path, &s->expect_down) : rc;
}

/* 1.0.3 DevNonces are random for real: a second run against a bridge that
 * remembers used nonces must not repeat the first run's. */
static uint64_t nonce_seed(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
}

static int open_dlcheck(struct sim *s)
{
	int rc = sim_dlcheck_init(&s->dl, &s->o, &s->devs, s->gws, s->n_gws, &s->st,
				  s->expect_down, s->o.print ? stdout : NULL, nonce_seed());

	if (rc != LB_OK) {
		log_error(MOD, "downlink check: %s", lb_strerror(rc));
		return rc;
	}
	s->dl_ready = true;
	return LB_OK;
}

static void on_signal(struct sim *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		s->signals++;
	sim_traffic_finish(&s->traffic);
	if (s->pb_ready)
		sim_prebuild_finish(&s->pb, mono_us());
}

static int handle_events(struct sim *s, const struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		if (tag == EV_SIGNAL) {
			on_signal(s);
			continue;
		}
		struct sim_gateway *gw = &s->gws[tag / 2];
		int rc = sim_gateway_read(gw, tag % 2 ? gw->fd_down : gw->fd_up, mono_us());
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

static size_t outstanding(const struct sim *s)
{
	size_t n = 0;

	for (unsigned i = 0; i < s->n_gws; i++)
		n += sim_gateway_outstanding(&s->gws[i]);
	return s->pb_ready ? n + sim_prebuild_outstanding(&s->pb) : n;
}

/* Once the traffic is over, listen --linger more ms for downlinks. */
static void start_lingering(struct sim *s, int64_t now)
{
	s->lingering = true;
	s->linger_deadline_us = now + (int64_t)s->o.linger_ms * 1000;
}

/* Then stop keepalives and wait for the last ACKs. */
static void start_draining(struct sim *s, int64_t now)
{
	s->draining = true;
	s->drain_deadline_us = now + (int64_t)s->o.ack_timeout_ms * 1000;
	for (unsigned i = 0; i < s->n_gws; i++)
		sim_gateway_stop(&s->gws[i]);
}

static int tick_gateways(struct sim *s, int64_t now, int64_t *next)
{
	for (unsigned i = 0; i < s->n_gws; i++) {
		int rc = sim_gateway_tick(&s->gws[i], now, next);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

/* Traffic first, so the gateways see the ACK deadlines it just created. */
static int tick_all(struct sim *s, int64_t now, int64_t *next)
{
	int rc = s->pb_ready ? sim_prebuild_tick(&s->pb, now, next)
			     : sim_traffic_tick(&s->traffic, now, next);

	if (rc != LB_OK)
		return rc;
	sim_dlcheck_tick(&s->dl, now, next);
	bool finished = s->pb_ready ? s->pb.finished : s->traffic.finished;
	if (finished && !s->lingering)
		start_lingering(s, now);
	if (s->lingering && !s->draining) {
		if (now >= s->linger_deadline_us || s->signals > 0)
			start_draining(s, now);
		else if (*next < 0 || *next > s->linger_deadline_us)
			*next = s->linger_deadline_us;
	}
	return tick_gateways(s, now, next);
}

static int run(struct sim *s)
{
	struct epoll_event ev[MAX_EVENTS];

	for (;;) {
		int64_t now = mono_us(), next = -1;
		int rc = tick_all(s, now, &next);
		if (rc != LB_OK)
			return rc;
		if (s->signals > 1)
			return LB_OK;  /* second signal: leave without waiting */
		if (s->draining && (outstanding(s) == 0 || now >= s->drain_deadline_us))
			return LB_OK;
		if (s->draining && (next < 0 || next > s->drain_deadline_us))
			next = s->drain_deadline_us;
		int timeout = next < 0 ? -1 : next <= now ? 0 : (int)((next - now + 999) / 1000);
		int n = epoll_wait(s->epfd, ev, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			log_error(MOD, "epoll_wait: %s", strerror(errno));
			return LB_ERR_IO;
		}
		if (n > 0 && (rc = handle_events(s, ev, n)) != LB_OK)
			return rc;
	}
}

/* --prebuild: every datagram built now; the devices' downlinks are only
 * acknowledged (TX_ACK), not checked, since the frames are already made. */
static int prebuild(struct sim *s, int64_t now)
{
	int rc = sim_prebuild_init(&s->pb, s->gws, s->n_gws, &s->st,
				   (int64_t)s->o.ack_timeout_ms * 1000);

	if (rc != LB_OK)
		return rc;
	s->pb_ready = true;
	for (unsigned i = 0; i < s->n_gws; i++)
		s->gws[i].on_downlink = NULL;
	rc = sim_prebuild_build(&s->pb, &s->traffic, now);
	if (rc != LB_OK)
		log_error(MOD, "--prebuild: %s", lb_strerror(rc));
	return rc;
}

static int setup(struct sim *s)
{
	int64_t now = mono_us();
	int rc;
	uint32_t fcnt0 = s->o.fcnt_rollover ? SIM_FCNT_ROLLOVER_START : s->o.fcnt_start;

	const struct sim_rx_params rx = {.rx1_delay_s = 1, .rx1_dr_offset = 0, .rx2_dr = s->o.rx2_dr};

	if ((rc = sim_devices_prepare_rx(&s->devs, fcnt0, &rx, s->o.dev_nonce_start)) != LB_OK) {
		log_error(MOD, "device keys: %s", lb_strerror(rc));
		return rc;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		log_error(MOD, "epoll_create1: %s", strerror(errno));
		return LB_ERR_IO;
	}
	if ((rc = open_signals(s)) != LB_OK || (rc = open_expect(s)) != LB_OK ||
	    (rc = open_gateways(s, now)) != LB_OK || (rc = open_dlcheck(s)) != LB_OK)
		return rc;
	if (s->o.print)
		setvbuf(stdout, NULL, _IOLBF, 0);  /* a test may read it live */
	if (s->o.prebuild) {
		sim_traffic_init(&s->traffic, &s->o, &s->devs, s->gws, s->n_gws, &s->st, &s->dl,
				 s->expect, NULL, now);
		if ((rc = prebuild(s, now)) != LB_OK)
			return rc;
		now = mono_us();
	}
	/* Like the forwarder, announce the downlink route before any uplink. */
	int64_t unused = -1;
	if ((rc = tick_gateways(s, now, &unused)) != LB_OK)
		return rc;
	if (s->pb_ready)
		sim_prebuild_start(&s->pb, now);
	else
		sim_traffic_init(&s->traffic, &s->o, &s->devs, s->gws, s->n_gws, &s->st, &s->dl,
				 s->expect, s->o.print ? stdout : NULL, now);
	log_info(MOD, "%u gateway(s), %zu device(s)%s, %g uplink/s -> %s:%s (protocol %u)",
		 s->n_gws, s->devs.n, s->o.otaa ? " (OTAA)" : "", s->o.rate, s->o.host, s->o.port,
		 s->o.protocol);
	return LB_OK;
}

static void teardown(struct sim *s)
{
	for (unsigned i = 0; i < s->n_gws; i++)
		sim_gateway_close(&s->gws[i]);
	free(s->gws);
	if (s->dl_ready)
		sim_dlcheck_free(&s->dl);
	if (s->pb_ready)
		sim_prebuild_free(&s->pb);
	if (s->expect)
		fclose(s->expect);
	if (s->expect_down)
		fclose(s->expect_down);
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->epfd >= 0)
		close(s->epfd);
	sim_devices_free(&s->devs);
}

/* --write-keys / --emit-devices: write the requested files and stop. */
static int write_outputs(const struct sim *s)
{
	int rc = LB_OK;

	if (s->o.write_keys_path)
		rc = write_file(s, s->o.write_keys_path, write_keys);
	if (rc == LB_OK && s->o.emit_devices_path)
		rc = write_file(s, s->o.emit_devices_path, write_conf);
	return rc;
}

int main(int argc, char **argv)
{
	struct sim s = {.epfd = -1, .sigfd = -1};

	int rc = sim_opts_parse(&s.o, argc, argv);
	if (rc == 1)
		return 0;
	if (rc != LB_OK)
		return EXIT_USAGE;
	log_open(s.o.quiet ? LOG_LVL_WARN : LOG_LVL_INFO, false);
	if (load_devices(&s) != LB_OK) {
		teardown(&s);
		return EXIT_SETUP;
	}
	if (s.o.write_keys_path || s.o.emit_devices_path) {
		rc = write_outputs(&s);
		teardown(&s);
		return rc == LB_OK ? 0 : EXIT_SETUP;
	}
	rc = setup(&s);
	if (rc == LB_OK)
		rc = run(&s);
	if (s.dl_ready)
		sim_dlcheck_finish(&s.dl);
	if (s.pb_ready)
		sim_prebuild_close(&s.pb);
	sim_stats_print(&s.st, stderr);
	if (s.pb_ready)
		sim_prebuild_report(&s.pb, s.o.rate, stderr);
	teardown(&s);
	if (rc != LB_OK)
		return EXIT_SETUP;
	if (s.o.strict_acks && s.st.missing_acks)
		return EXIT_MISSING_ACKS;
	return s.o.strict_downlinks && s.st.downlinks_bad ? EXIT_BAD_DOWNLINKS : 0;
}
