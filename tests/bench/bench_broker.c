/* SPDX-License-Identifier: MIT */
/*
 * bench_broker.c - the broker's own QoS-1 publish limit: one MQTT 3.1.1
 * client on a plain socket (no libmosquitto: its per-message cost would be
 * measured too) that keeps `window` PUBLISH packets un-acknowledged, as the
 * bridge does (io/mqtt.h MQTT_TRACKED_WINDOW), and writes them in batches.
 * The payload is `size` bytes, about an `up` event's. Prints the rate at
 * which the broker acknowledged them; the subscriber's side is the caller's
 * (bench_e2e.sh counts what a QoS-1 subscriber received).
 *
 * BATCH (63 if not given) is the most PUBLISH packets one write() carries:
 * 1 writes each packet on its own, as libmosquitto does when a client
 * publishes outside its callbacks (one send per mosquitto_publish()).
 *
 * Usage: bench_broker HOST PORT COUNT SIZE WINDOW TOPIC [BATCH]
 *
 * Packets (MQTT 3.1.1 §3.1 CONNECT, §3.2 CONNACK, §3.3 PUBLISH, §3.4 PUBACK):
 *   PUBLISH QoS 1: 0x32 | remaining length (varint) | topic (u16 length +
 *                  bytes) | packet id (u16) | payload
 *   PUBACK:        0x40 0x02 | packet id (u16)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LEN_PUBACK 4
#define BATCH_MAX 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_varint(uint8_t *p, size_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v % 128;
		v /= 128;
		p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return n;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int connect_to(const char *host, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	static const uint8_t conn[] = {0x10, 22, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60,
				       0, 10, 'b', 'e', 'n', 'c', 'h', '-', 'p', 'u', 'b', '1'};
	uint8_t ack[4];
	if (write_all(fd, conn, sizeof(conn)) != 0 || read(fd, ack, 4) != 4 || ack[0] != 0x20 ||
	    ack[3] != 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: bench_broker HOST PORT COUNT SIZE WINDOW TOPIC [BATCH]\n");
		return 2;
	}
	long count = atol(argv[3]), size = atol(argv[4]), window = atol(argv[5]);
	long batch = argc == 8 ? atol(argv[7]) : BATCH_MAX - 1;
	const char *topic = argv[6];
	size_t tlen = strlen(topic);
	int fd = connect_to(argv[1], atoi(argv[2]));
	if (fd < 0 || count <= 0 || size < 0 || window <= 0 || tlen > 1024 || batch < 1 ||
	    batch >= BATCH_MAX) {
		fprintf(stderr, "bench_broker: cannot connect or bad arguments\n");
		return 1;
	}
	size_t rem = 2 + tlen + 2 + (size_t)size, one = 1 + 5 + rem;
	uint8_t *buf = malloc(one * BATCH_MAX), rbuf[4096];
	if (!buf)
		return 1;
	long sent = 0, acked = 0;
	size_t have = 0;
	double t0 = now_s();
	while (acked < count) {
		size_t n = 0;
		while (sent < count && sent - acked < window && n < one * (size_t)batch) {
			uint8_t *p = buf + n;
			uint16_t id = (uint16_t)(sent % 65535 + 1);
			size_t k = 0;
			p[k++] = 0x32;
			k += put_varint(p + k, rem);
			p[k++] = (uint8_t)(tlen >> 8);
			p[k++] = (uint8_t)tlen;
			memcpy(p + k, topic, tlen);
			k += tlen;
			p[k++] = (uint8_t)(id >> 8);
			p[k++] = (uint8_t)id;
			memset(p + k, 'x', (size_t)size);
			n += k + (size_t)size;
			sent++;
		}
		if (n > 0 && write_all(fd, buf, n) != 0)
			return 1;
		if (n > 0 && sent < count && sent - acked < window)
			continue;  /* a batch of `batch`: the next one before reading */
		ssize_t r = read(fd, rbuf + have, sizeof(rbuf) - have);
		if (r <= 0)
			return 1;
		have += (size_t)r;
		size_t i = 0;
		for (; have - i >= LEN_PUBACK; i += LEN_PUBACK) {
			if (rbuf[i] != 0x40 || rbuf[i + 1] != 2)
				return 1;
			acked++;
		}
		memmove(rbuf, rbuf + i, have - i);
		have -= i;
	}
	double el = now_s() - t0;
	static const uint8_t disc[] = {0xe0, 0};
	(void)write_all(fd, disc, sizeof(disc));
	close(fd);
	free(buf);
	printf("broker: %ld QoS-1 publishes of %ld bytes acknowledged in %.2f s = %.0f/s\n", count,
	       size, el, (double)count / el);
	return 0;
}
