/* SPDX-License-Identifier: MIT */
/*
 * mqtt_client_test.c - drives src/io/mqtt.c with a small epoll loop of its own
 * against a real mosquitto broker; orchestrated by test_mqtt_client.sh.
 *
 * Modes (first argument):
 *   freeport  print a free TCP port on 127.0.0.1 and exit
 *   publish   publish --count numbered messages ("0", "1", ...) to --topic
 *             at --rate per second, wait until all are acknowledged, then
 *             disconnect cleanly. Exit 0 when everything was acknowledged,
 *             3 on --timeout. With --burst N, N messages at a time (one
 *             every N/rate s), each burst inside mqtt_batch_begin()/
 *             mqtt_batch_end(); prints "BATCH bursts=B corked=C
 *             left_corked=L max_ack_ms=M data_segs=S segs_bound=X
 *             unbatched=U" (L: bursts after whose end the socket was still
 *             corked, read with getsockopt; M: the longest time from a burst's end until its
 *             last message was acknowledged; S: data segments the
 *             connection sent, TCP_INFO, -1 after a reconnect; X: what the
 *             module's batches allow for the writes made in them, mqtt_stats
 *             batch_segs_bound; U: messages handed to libmosquitto
 *             outside any batch, mqtt_stats unbatched; all counted from
 *             the first CONNACK).
 *             --no-batch: the same bursts without batches, for comparison.
 *             --nodelay: Nagle's algorithm off (TCP_NODELAY at every
 *             CONNACK), so that only the batches' cork joins messages into
 *             segments: without it Nagle joins some too, more or fewer
 *             with the timing, and hides a cork that does not work.
 *   overflow  publish --count messages at once, before any connection
 *             exists, print "QUEUED queued=Q dropped=D", then as publish.
 *   idle      stay connected until SIGTERM; with --status-topic publish a
 *             retained "online" on every CONNACK and "offline" before the
 *             clean DISCONNECT at SIGTERM.
 *   tracked   as publish, with tracked publishes (token = number + 1) sent
 *             in order whenever mqtt_tracked_room() allows, a returned one
 *             sent again before anything newer; wait until every token was
 *             acknowledged, print "TRACKED acked=A returned=R twice=T".
 *
 * Lines on stdout: "CONNECTED n", "LOST inflight=I first=F last=L queued=Q"
 * (the in-flight window at the moment the connection dropped, read from
 * the module's private fields: this is a white-box test), "QUEUED ...",
 * "STATS published=P acked=A queued=Q dropped=D reconnects=R wakeups=W".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/mqtt.h"

struct app {
	struct mqtt m;
	const char *topic, *status_topic;
	int count, rate, qos, timeout_s;
	int next_seq;
	/* --burst: messages per batch, and what the batches did */
	int burst, bursts, left_corked;
	bool no_batch;
	bool nodelay;                    /* --nodelay: TCP_NODELAY on the socket */
	long long ack_wait_for;          /* acknowledged count that ends a burst, -1 none */
	int64_t burst_end_ms, max_ack_ms;
	long long segs_first;            /* data segments at the first CONNACK, -1 unknown */
	uint64_t bound_first;            /* batch_segs_bound then */
	uint64_t unbatched_first;        /* unbatched then */
	unsigned long connects, wakeups;
	bool was_connected;
	/* tracked mode: per message 0 waiting, 1 in flight, 2 acknowledged */
	unsigned char *state;
	int lowest;                  /* lowest not acknowledged */
	int acked, returned, twice;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(void *arg)
{
	struct app *a = arg;

	printf("CONNECTED %lu\n", ++a->connects);
	if (a->nodelay) {
		int on = 1;
		if (setsockopt(mqtt_fd(&a->m), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
			fprintf(stderr, "TCP_NODELAY: %s\n", strerror(errno));
			exit(2);
		}
	}
	if (a->connects == 1) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		struct mqtt_stats st;
		mqtt_get_stats(&a->m, &st);
		a->bound_first = st.batch_segs_bound;
		a->unbatched_first = st.unbatched;
		if (getsockopt(mqtt_fd(&a->m), IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
			a->segs_first = ti.tcpi_data_segs_out;
	}
	if (a->status_topic)
		mqtt_publish(&a->m, a->status_topic, "online", 6, 1, true);
}

static void publish_seq(struct app *a)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", a->next_seq++);

	if (mqtt_publish(&a->m, a->topic, buf, (size_t)len, a->qos, false) != LB_OK) {
		fprintf(stderr, "mqtt_publish failed\n");
		exit(2);
	}
}

static bool socket_corked(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, &len) == 0 && on;
}

/* One burst of messages in one batch (unless --no-batch, for comparison);
 * the socket must be uncorked after. */
static void publish_burst(struct app *a)
{
	if (!a->no_batch)
		mqtt_batch_begin(&a->m);
	for (int i = 0; i < a->burst && a->next_seq < a->count; i++)
		publish_seq(a);
	if (!a->no_batch)
		mqtt_batch_end(&a->m);
	a->bursts++;
	if (socket_corked(mqtt_fd(&a->m)))
		a->left_corked++;
	if (a->ack_wait_for < 0 && mqtt_connected(&a->m)) {
		a->ack_wait_for = a->next_seq;
		a->burst_end_ms = now_ms();
	}
}

/* The burst being timed was acknowledged: note how long that took. */
static void note_burst_acked(struct app *a)
{
	struct mqtt_stats st;

	if (a->ack_wait_for < 0)
		return;
	mqtt_get_stats(&a->m, &st);
	if ((long long)st.acked < a->ack_wait_for)
		return;
	int64_t took = now_ms() - a->burst_end_ms;
	if (took > a->max_ack_ms)
		a->max_ack_ms = took;
	a->ack_wait_for = -1;
}

static void print_batch(struct app *a)
{
	struct mqtt_stats st;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	long long segs = -1;

	mqtt_get_stats(&a->m, &st);
	if (st.reconnects == 0 && a->segs_first >= 0 &&
	    getsockopt(mqtt_fd(&a->m), IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		segs = (long long)ti.tcpi_data_segs_out - a->segs_first;
	printf("BATCH bursts=%d corked=%llu left_corked=%d max_ack_ms=%lld data_segs=%lld"
	       " segs_bound=%llu unbatched=%llu\n",
	       a->bursts, (unsigned long long)st.batches_corked, a->left_corked,
	       (long long)a->max_ack_ms, segs,
	       (unsigned long long)(st.batch_segs_bound - a->bound_first),
	       (unsigned long long)(st.unbatched - a->unbatched_first));
}

static void on_acked(void *arg, uint64_t token)
{
	struct app *a = arg;
	int i = (int)token - 1;

	if (a->state[i] == 2)
		a->twice++;
	else
		a->acked++;
	a->state[i] = 2;
	while (a->lowest < a->count && a->state[a->lowest] == 2)
		a->lowest++;
}

static void on_returned(void *arg, uint64_t token)
{
	struct app *a = arg;
	int i = (int)token - 1;

	a->returned++;
	if (a->state[i] == 1)
		a->state[i] = 0;
}

/* Send what is due (rate) and waiting, in order, while there is room. */
static void feed_tracked(struct app *a, int due)
{
	char buf[16];

	for (int i = a->lowest; i < due && mqtt_tracked_room(&a->m) > 0; i++) {
		if (a->state[i] != 0)
			continue;
		int len = snprintf(buf, sizeof(buf), "%d", i);
		a->state[i] = 1;
		int rc = mqtt_publish_tracked(&a->m, a->topic, buf, (size_t)len, a->qos,
					      (uint64_t)i + 1);
		if (rc == LB_ERR_INVAL) {
			fprintf(stderr, "mqtt_publish_tracked refused %d\n", i);
			exit(2);
		}
		if (rc != LB_OK) {
			if (a->state[i] == 1)
				a->state[i] = 0;
			return;
		}
	}
}

static void print_stats(struct app *a)
{
	struct mqtt_stats st;

	mqtt_get_stats(&a->m, &st);
	printf("STATS published=%llu acked=%llu queued=%llu dropped=%llu reconnects=%llu wakeups=%lu\n",
	       (unsigned long long)st.published, (unsigned long long)st.acked,
	       (unsigned long long)st.queued, (unsigned long long)st.dropped_overflow,
	       (unsigned long long)st.reconnects, a->wakeups);
}

static void report_loss(struct app *a)
{
	const struct mqtt *m = &a->m;
	const struct mqttq_msg *f = m->n_inflight ? m->inflight[0].msg : NULL;
	const struct mqttq_msg *l = m->n_inflight ? m->inflight[m->n_inflight - 1].msg : NULL;

	printf("LOST inflight=%zu first=%.*s last=%.*s queued=%zu\n", m->n_inflight,
	       f ? (int)f->len : 1, f ? (const char *)f->payload : "-", l ? (int)l->len : 1,
	       l ? (const char *)l->payload : "-", mqttq_len(&m->queue));
}

/*
 * One loop iteration, the way the daemon's loop integrates the module:
 * tick, follow the socket, wait, dispatch. `app_deadline` < 0: none.
 */
static void iterate(struct app *a, int ep, int *reg_fd, uint32_t *reg_ev, int64_t app_deadline)
{
	int64_t deadline = mqtt_tick(&a->m, now_ms());
	if (app_deadline >= 0 && app_deadline < deadline)
		deadline = app_deadline;

	int fd = mqtt_fd(&a->m);
	uint32_t want = EPOLLIN | (mqtt_want_write(&a->m) ? EPOLLOUT : 0);
	if (fd != *reg_fd) {
		/* The old socket is closed already: the kernel dropped it. */
		*reg_fd = fd;
		*reg_ev = 0;
		if (fd >= 0) {
			struct epoll_event ev = {.events = want, .data.fd = fd};
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
				perror("epoll_ctl ADD");
				exit(2);
			}
			*reg_ev = want;
		}
	} else if (fd >= 0 && want != *reg_ev) {
		struct epoll_event ev = {.events = want, .data.fd = fd};
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		*reg_ev = want;
	}

	int64_t wait = deadline - now_ms();
	if (wait < 0)
		wait = 0;
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, (int)wait);
	a->wakeups++;
	if (n == 1) {
		uint32_t e = ev.events;
		mqtt_handle_io(&a->m, e & (EPOLLIN | EPOLLERR | EPOLLHUP),
			       e & (EPOLLOUT | EPOLLERR | EPOLLHUP));
	}
	bool c = mqtt_connected(&a->m);
	if (a->was_connected && !c && !stop_requested)
		report_loss(a);
	a->was_connected = c;
}

/* Clean shutdown as the daemon does it: offline, drain <= 5 s, DISCONNECT. */
static void shutdown_cleanly(struct app *a, int ep, int *reg_fd, uint32_t *reg_ev)
{
	if (a->status_topic)
		mqtt_publish(&a->m, a->status_topic, "offline", 7, 1, true);
	int64_t until = now_ms() + 5000;
	while (mqtt_pending(&a->m) > 0 && now_ms() < until)
		iterate(a, ep, reg_fd, reg_ev, until);
	mqtt_disconnect(&a->m);
	until = now_ms() + 1000;
	while (mqtt_fd(&a->m) >= 0 && now_ms() < until)
		iterate(a, ep, reg_fd, reg_ev, until);
}

static int run(struct app *a, bool overflow)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int reg_fd = -1;
	uint32_t reg_ev = 0;
	int64_t start = now_ms();
	int64_t end = a->timeout_s > 0 ? start + (int64_t)a->timeout_s * 1000 : -1;
	int rc = 0;

	/* Bursts are timed from the first CONNACK: each one then goes out in
	 * its own batch rather than all together after the connection. */
	while (a->burst > 0 && !mqtt_connected(&a->m) && !stop_requested && (end < 0 || now_ms() < end))
		iterate(a, ep, &reg_fd, &reg_ev, end);
	start = now_ms();
	if (overflow) {
		while (a->next_seq < a->count)
			publish_seq(a);
		struct mqtt_stats st;
		mqtt_get_stats(&a->m, &st);
		printf("QUEUED queued=%llu dropped=%llu\n", (unsigned long long)st.queued,
		       (unsigned long long)st.dropped_overflow);
	}
	for (;;) {
		int64_t now = now_ms();
		if (stop_requested)
			break;
		if (end >= 0 && now >= end) {
			rc = 3;
			break;
		}
		int64_t next_pub = -1;
		if (a->state) {
			int due = (int)((now - start) * a->rate / 1000) + 1;
			feed_tracked(a, due < a->count ? due : a->count);
			if (a->acked == a->count && mqtt_pending(&a->m) == 0)
				break;
			next_pub = due < a->count ? start + (int64_t)due * 1000 / a->rate : end;
		} else if (a->count > 0 && a->next_seq < a->count) {
			if (now >= start + (int64_t)a->next_seq * 1000 / a->rate) {
				if (a->burst > 0)
					publish_burst(a);
				else
					publish_seq(a);
			}
			next_pub = start + (int64_t)a->next_seq * 1000 / a->rate;
		} else if (a->count > 0 && mqtt_pending(&a->m) == 0) {
			break;
		}
		iterate(a, ep, &reg_fd, &reg_ev, next_pub >= 0 ? next_pub : end);
		note_burst_acked(a);
	}
	if (a->burst > 0)
		print_batch(a);
	if (rc == 0)
		shutdown_cleanly(a, ep, &reg_fd, &reg_ev);
	if (a->state)
		printf("TRACKED acked=%d returned=%d twice=%d\n", a->acked, a->returned, a->twice);
	print_stats(a);
	close(ep);
	return rc;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) != 0)
		return 2;
	printf("%d\n", ntohs(sa.sin_port));
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", 1, NULL, 'p'},     {"id", 1, NULL, 'i'},     {"user", 1, NULL, 'u'},
		{"pass", 1, NULL, 'P'},     {"topic", 1, NULL, 't'},  {"count", 1, NULL, 'n'},
		{"rate", 1, NULL, 'r'},     {"qos", 1, NULL, 'q'},    {"queue-limit", 1, NULL, 'L'},
		{"timeout", 1, NULL, 'T'},  {"will-topic", 1, NULL, 'w'},
		{"will-payload", 1, NULL, 'W'}, {"status-topic", 1, NULL, 's'},
		{"ca", 1, NULL, 'C'},       {"cert", 1, NULL, 'E'},   {"key", 1, NULL, 'K'},
		{"burst", 1, NULL, 'b'},    {"no-batch", 0, NULL, 'N'},
		{"nodelay", 0, NULL, 'D'},  {"debug", 0, NULL, 'd'},  {NULL, 0, NULL, 0}};
	struct mqtt_opts o = {.host = "127.0.0.1", .port = 1883, .client_id = "lbtest",
			      .keepalive_s = 10, .qos = 1, .queue_limit = 10000, .will_qos = 1};
	struct app a = {.topic = "test/seq", .rate = 100, .qos = 1, .timeout_s = 50,
			.ack_wait_for = -1, .segs_first = -1};
	int opt;

	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	if (strcmp(mode, "freeport") == 0)
		return free_port();
	log_open(LOG_LVL_INFO, false);
	while ((opt = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': o.port = atoi(optarg); break;
		case 'i': o.client_id = optarg; break;
		case 'u': o.username = optarg; break;
		case 'P': o.password = optarg; break;
		case 't': a.topic = optarg; break;
		case 'n': a.count = atoi(optarg); break;
		case 'r': a.rate = atoi(optarg); break;
		case 'q': a.qos = atoi(optarg); break;
		case 'L': o.queue_limit = (size_t)atol(optarg); break;
		case 'T': a.timeout_s = atoi(optarg); break;
		case 'w': o.will_topic = optarg; break;
		case 'W': o.will_payload = optarg; o.will_retain = true; break;
		case 's': a.status_topic = optarg; break;
		case 'C': o.ca_file = optarg; break;
		case 'E': o.cert_file = optarg; break;
		case 'K': o.key_file = optarg; break;
		case 'b': a.burst = atoi(optarg); break;
		case 'N': a.no_batch = true; break;
		case 'D': a.nodelay = true; break;
		case 'd': log_open(LOG_LVL_DEBUG, false); break;
		default: return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	o.on_connect = on_connect;
	o.on_acked = on_acked;
	o.on_returned = on_returned;
	o.arg = &a;
	if (mqtt_init(&a.m, &o) != LB_OK)
		return 2;
	int rc;
	if (strcmp(mode, "publish") == 0 || strcmp(mode, "overflow") == 0) {
		if (a.count <= 0 || a.rate <= 0)
			return 2;
		rc = run(&a, mode[0] == 'o');
	} else if (strcmp(mode, "tracked") == 0) {
		if (a.count <= 0 || a.rate <= 0 || !(a.state = calloc((size_t)a.count, 1)))
			return 2;
		rc = run(&a, false);
		free(a.state);
	} else if (strcmp(mode, "idle") == 0) {
		a.count = 0;
		a.timeout_s = 0;
		rc = run(&a, false);
	} else {
		rc = 2;
	}
	mqtt_destroy(&a.m);
	return rc;
}
